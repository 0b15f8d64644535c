//! The importance-weighted bound (IWAE; Burda, Grosse & Salakhutdinov 2016) as a
//! variational model's training objective: its value, and its gradient at the decoder's
//! logits and at the sampling layer's input.
//!
//! For a row `x`, the encoder runs once and gives `q(z|x) = N(μ, diag σ²)`; `K` codes
//! `zₛ = μ + σ ⊙ εₛ` go through the decoder (the trainer replicates the row's `(μ, log σ²)`
//! `K` times in front of the sampling layer), and
//!
//! `log wₛ = log p(x|zₛ) + β·(log p(zₛ) − log q(zₛ|x))`,
//! `log p(x|z) = Σᵢ [xᵢ·lᵢ − softplus(lᵢ)]`, `log p(z) − log q(z|x) = Σⱼ ½(εⱼ² − zⱼ² + log σⱼ²)`,
//! `L_K(x) = logsumexpₛ log wₛ − ln K`.
//!
//! `K = 1` is the ELBO with a one-sample KL term; the trainer keeps the analytic KL for
//! it. With `β = 1`, `L_K` is the bound of Burda et al., which tightens towards
//! `log p(x)` as `K` grows; `β` is the KL weight of the current epoch (so warm-up works
//! as for the ELBO). The loss minimised is `−Σ_rows L_K / (n·d)` (per value, as the
//! reconstruction losses are), and its gradient, with the normalised weights
//! `w̃ₛ = softmaxₛ(log wₛ)` held fixed, is `−Σₛ w̃ₛ ∇ log wₛ / (n·d)`:
//!
//! - at the logits of copy `s`: `w̃ₛ·(σ(l) − x) / (n·d)`;
//! - at `zₛ` (from `β·log p(z)`): `w̃ₛ·β·zₛ / (n·d)`, which the sampling layer's
//!   backward pass would carry to `(μ, log σ²)` as `(g, g ⊙ εₛ ⊙ ½σ)`; with `ε` fixed,
//!   `log q(zₛ|x)` depends on `log σ²` alone: `∂/∂ log σ² = −½`, so the copy's input
//!   gradient gains `w̃ₛ·β·(zₛ, ½σεₛzₛ − ½) / (n·d)` — added here directly;
//! - the `K` copies' input gradients are summed into the row's (the encoder ran once).

use crate::kernels::elementwise;
use crate::kernels::gaussian::sigma;

/// Each of `n` rows of `width` values of `src` copied `k` times, in order, into `dst`
/// (`n·k` rows).
pub(crate) fn replicate(src: &[f32], n: usize, width: usize, k: usize, dst: &mut [f32]) {
    for (r, row) in src[..n * width].chunks_exact(width).enumerate() {
        for s in 0..k {
            let at = (r * k + s) * width;
            dst[at..at + width].copy_from_slice(row);
        }
    }
}

/// The sum of each group of `k` consecutive rows of `buf` (`n·k` rows of `width`), into
/// the first `n` rows, in place (rows summed in order, so the result does not depend
/// on anything but the values).
pub(crate) fn sum_replicas(buf: &mut [f32], n: usize, width: usize, k: usize) {
    for r in 0..n {
        // Row r's copies start at r·k ≥ r: the sum may overwrite row r once read.
        let first = r * k * width;
        if r > 0 {
            buf.copy_within(first..first + width, r * width);
        }
        for s in 1..k {
            let from = (r * k + s) * width;
            for j in 0..width {
                buf[r * width + j] += buf[from + j];
            }
        }
    }
}

/// The sizes of one evaluation of the bound.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Rows (each with `k` copies).
    pub n: usize,
    /// Samples per row.
    pub k: usize,
    /// Values per row.
    pub d: usize,
    /// Code dimensions.
    pub code: usize,
    /// The rows the loss is a mean over: `n`, or the whole batch's when these rows are
    /// a micro-batch of it.
    pub mean: usize,
}

/// `−Σ_rows L_K(x)` (nats, summed over the `n` rows), with `β` = `beta`.
///
/// `x` holds the `n` rows (`n × d`, values in `[0, 1]`), `logits` the decoder's logits of
/// the `n·k` copies, `post` the copies' `(μ, log σ²)` (`n·k × 2·code`), `z` and `eps`
/// their codes and noise (`n·k × code`). `log_w` (`n·k`) receives the normalised weights
/// `w̃`. With `grad`, the logits' gradient `w̃ₛ·(σ(l) − x)/(n·d)` is written there.
#[allow(clippy::too_many_arguments)]
pub(crate) fn objective(
    shape: Shape,
    x: &[f32],
    logits: &[f32],
    post: &[f32],
    z: &[f32],
    eps: &[f32],
    beta: f64,
    log_w: &mut [f64],
    mut grad: Option<&mut [f32]>,
) -> f64 {
    let Shape { n, k, d, code, mean } = shape;
    let scale = 1.0 / (mean * d).max(1) as f32;
    let mut total = 0.0;
    for r in 0..n {
        let xr = &x[r * d..(r + 1) * d];
        let mut m = f64::NEG_INFINITY;
        for s in 0..k {
            let j = r * k + s;
            let l = &logits[j * d..(j + 1) * d];
            let g = grad.as_deref_mut().map(|g| &mut g[j * d..(j + 1) * d]);
            // bce_with_logits sums softplus(l) − x·l = −log p(x|z).
            let mut lw = -elementwise::bce_with_logits(l, xr, g, scale);
            let lv = &post[j * 2 * code + code..(j + 1) * 2 * code];
            let (zj, ej) = (&z[j * code..(j + 1) * code], &eps[j * code..(j + 1) * code]);
            let mut latent = 0.0;
            for c in 0..code {
                let (zc, ec) = (f64::from(zj[c]), f64::from(ej[c]));
                latent += 0.5 * (ec * ec - zc * zc) + f64::from(sigma(lv[c])).ln();
            }
            lw += beta * latent;
            log_w[j] = lw;
            m = m.max(lw);
        }
        let w = &mut log_w[r * k..(r + 1) * k];
        let mut sum = 0.0;
        for v in w.iter_mut() {
            *v = (*v - m).exp();
            sum += *v;
        }
        for v in w.iter_mut() {
            *v /= sum;
        }
        total -= m + sum.ln() - (k as f64).ln();
        if let Some(g) = grad.as_deref_mut() {
            for (s, &ws) in w.iter().enumerate() {
                let j = r * k + s;
                g[j * d..(j + 1) * d].iter_mut().for_each(|v| *v *= ws as f32);
            }
        }
    }
    total
}

/// Add the latent terms' gradient `w̃·β·(z, ½σεz − ½)/(n·d)` to `dx`, the copies' input
/// gradient at the sampling layer (`n·k × 2·code`), with the weights that
/// [`objective`] left in `weights`.
pub(crate) fn add_latent_gradient(
    shape: Shape,
    post: &[f32],
    z: &[f32],
    eps: &[f32],
    weights: &[f64],
    beta: f64,
    dx: &mut [f32],
) {
    let Shape { n, k, d, code, mean } = shape;
    let scale = beta / (mean * d).max(1) as f64;
    for j in 0..n * k {
        let g = (weights[j] * scale) as f32;
        let lv = &post[j * 2 * code + code..(j + 1) * 2 * code];
        let (zj, ej) = (&z[j * code..(j + 1) * code], &eps[j * code..(j + 1) * code]);
        let (dmu, dlv) = dx[j * 2 * code..(j + 1) * 2 * code].split_at_mut(code);
        for c in 0..code {
            dmu[c] += g * zj[c];
            dlv[c] += g * (0.5 * sigma(lv[c]) * ej[c] * zj[c] - 0.5);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_are_copied_and_summed_in_place() {
        let src = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 rows of 2
        let mut rep = vec![0.0; 3 * 3 * 2];
        replicate(&src, 3, 2, 3, &mut rep);
        assert_eq!(&rep[..6], &[1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
        assert_eq!(&rep[12..], &[5.0, 6.0, 5.0, 6.0, 5.0, 6.0]);
        // Make the copies differ, then sum: row r gets the sum of its three copies.
        for (i, v) in rep.iter_mut().enumerate() {
            *v += i as f32;
        }
        let want: Vec<f32> = (0..3)
            .flat_map(|r| (0..2).map(move |c| (0..3).map(|s| rep_value(r, s, c)).sum::<f32>()))
            .collect();
        sum_replicas(&mut rep, 3, 2, 3);
        assert_eq!(&rep[..6], &want[..]);
        fn rep_value(r: usize, s: usize, c: usize) -> f32 {
            let src = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
            src[r * 2 + c] + ((r * 3 + s) * 2 + c) as f32
        }
    }

    /// Two copies, one of them far likelier: the bound is log-mean-exp of the log
    /// weights, and the weights are the softmax.
    #[test]
    fn the_bound_is_the_log_mean_of_the_weights() {
        let shape = Shape { n: 1, k: 2, d: 1, code: 1, mean: 1 };
        let x = [1.0f32];
        let logits = [2.0f32, -1.0];
        let post = [0.0f32, 0.0, 0.0, 0.0]; // μ = 0, log σ² = 0 for both copies
        let eps = [0.5f32, -1.0];
        let z = eps; // z = μ + σε with σ = 1
        let mut w = [0.0f64; 2];
        let got = objective(shape, &x, &logits, &post, &z, &eps, 1.0, &mut w, None);
        // With z = ε and σ = 1 the latent terms cancel: log w = log σ(l) = −softplus(−l).
        let lw: Vec<f64> = logits.iter().map(|&l| -(1.0 + (-f64::from(l)).exp()).ln()).collect();
        let want = -((lw[0].exp() + lw[1].exp()) / 2.0).ln();
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        let w0 = lw[0].exp() / (lw[0].exp() + lw[1].exp());
        // −log p(x|z) is summed in f32 (bce_with_logits), so the weights carry f32 error.
        assert!((w[0] - w0).abs() < 1e-6 && (w[0] + w[1] - 1.0).abs() < 1e-12, "{w:?}");
    }
}
