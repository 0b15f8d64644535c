//! The element-wise passes of a variational code and of dropout: the reparameterised
//! sample `z = μ + σ ⊙ ε` and its gradient, the Gaussian KL term and its gradient, and the
//! masked product of dropout. Rows hold `(μ, log σ²)` as `2k` values.

use super::simd;

/// `log σ²` is clamped to `[−LOGVAR_LIMIT, LOGVAR_LIMIT]` inside the exponential so that
/// a wild encoder output cannot overflow (the gradient through the clamp is kept as is).
pub const LOGVAR_LIMIT: f32 = 30.0;

/// `σ = exp(½·log σ²)`, clamped.
#[inline]
pub fn sigma(logvar: f32) -> f32 {
    (0.5 * logvar.clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)).exp()
}

/// `z = μ + σ ⊙ ε` for `rows` rows of `(μ, log σ²)` in `x` and `ε` in `eps` (`k` per row).
pub fn reparameterize(x: &[f32], eps: &[f32], z: &mut [f32], rows: usize, k: usize) {
    simd(
        #[inline(always)]
        || {
            for r in 0..rows {
                let (mu, lv) = x[r * 2 * k..(r + 1) * 2 * k].split_at(k);
                let e = &eps[r * k..(r + 1) * k];
                for (j, out) in z[r * k..(r + 1) * k].iter_mut().enumerate() {
                    *out = mu[j] + sigma(lv[j]) * e[j];
                }
            }
        },
    )
}

/// The input gradient of [`reparameterize`]: `∂L/∂μ = ∂L/∂z`, `∂L/∂log σ² = ∂L/∂z ⊙ ε ⊙ ½σ`.
pub fn reparameterize_backward(x: &[f32], eps: &[f32], dz: &[f32], dx: &mut [f32], rows: usize, k: usize) {
    simd(
        #[inline(always)]
        || {
            for r in 0..rows {
                let lv = &x[r * 2 * k + k..(r + 1) * 2 * k];
                let e = &eps[r * k..(r + 1) * k];
                let g = &dz[r * k..(r + 1) * k];
                let (dmu, dlv) = dx[r * 2 * k..(r + 1) * 2 * k].split_at_mut(k);
                for j in 0..k {
                    dmu[j] = g[j];
                    dlv[j] = g[j] * e[j] * 0.5 * sigma(lv[j]);
                }
            }
        },
    )
}

/// `Σ_rows ½ Σⱼ (μⱼ² + σⱼ² − 1 − log σⱼ²)` for `n` rows of `(μ, log σ²)`, in f64.
pub fn kl_sum(x: &[f32], n: usize, k: usize) -> f64 {
    let mut total = 0.0;
    for row in x[..n * 2 * k].chunks_exact(2 * k) {
        let (mu, lv) = row.split_at(k);
        for j in 0..k {
            let s = f64::from(sigma(lv[j]));
            total += 0.5 * (f64::from(mu[j]).powi(2) + s * s - 1.0 - 2.0 * s.ln());
        }
    }
    total
}

/// Add `scale · ∂KL/∂(μ, log σ²) = scale · (μ, ½(σ² − 1))` to `dx` (`n × 2k`).
pub fn add_kl_gradient(x: &[f32], n: usize, k: usize, scale: f32, dx: &mut [f32]) {
    simd(
        #[inline(always)]
        || {
            for (row, drow) in x[..n * 2 * k].chunks_exact(2 * k).zip(dx.chunks_exact_mut(2 * k)) {
                let (mu, lv) = row.split_at(k);
                let (dmu, dlv) = drow.split_at_mut(k);
                for j in 0..k {
                    let s = sigma(lv[j]);
                    dmu[j] += scale * mu[j];
                    dlv[j] += scale * 0.5 * (s * s - 1.0);
                }
            }
        },
    )
}

/// `out = a ⊙ b` over the first `out.len()` values (dropout's mask, forward and backward).
pub fn multiply(a: &[f32], b: &[f32], out: &mut [f32]) {
    simd(
        #[inline(always)]
        || {
            for ((o, &x), &m) in out.iter_mut().zip(a).zip(b) {
                *o = x * m;
            }
        },
    )
}
