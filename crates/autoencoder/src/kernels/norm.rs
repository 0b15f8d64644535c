//! Batch normalisation's loops over an `m × c` matrix (`m` = rows × pixels of a
//! channels-last map, `c` channels): the per-channel moments, the normalise-and-scale
//! pass, and the backward pass. Sums run in f64, in a fixed order.

/// Channels per block of the f64 accumulators (kept on the stack: no allocation).
const BLOCK: usize = 64;

/// The mean and the biased variance of each column of the `m × c` matrix `x`.
pub fn channel_moments(x: &[f32], c: usize, mean: &mut [f32], var: &mut [f32]) {
    let m = (x.len() / c).max(1) as f64;
    for j0 in (0..c).step_by(BLOCK) {
        let w = BLOCK.min(c - j0);
        let (mut s, mut s2) = ([0.0f64; BLOCK], [0.0f64; BLOCK]);
        for row in x.chunks_exact(c) {
            for (acc, &v) in s[..w].iter_mut().zip(&row[j0..j0 + w]) {
                *acc += v as f64;
            }
        }
        s[..w].iter_mut().for_each(|v| *v /= m);
        // Two passes: Σ (x − μ)² is exact where E[x²] − μ² would cancel.
        for row in x.chunks_exact(c) {
            for ((acc, &v), &mu) in s2[..w].iter_mut().zip(&row[j0..j0 + w]).zip(&s[..w]) {
                let d = v as f64 - mu;
                *acc += d * d;
            }
        }
        for j in 0..w {
            mean[j0 + j] = s[j] as f32;
            var[j0 + j] = (s2[j] / m) as f32;
        }
    }
}

/// `x̂ = (x − mean)·inv_std` into `xhat` and `z = γ·x̂ + β` into `z`, per column.
pub fn normalize_affine(
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    xhat: &mut [f32],
    z: &mut [f32],
) {
    let c = mean.len();
    for ((xr, hr), zr) in x.chunks_exact(c).zip(xhat.chunks_exact_mut(c)).zip(z.chunks_exact_mut(c)) {
        for j in 0..c {
            let h = (xr[j] - mean[j]) * inv_std[j];
            hr[j] = h;
            zr[j] = gamma[j] * h + beta[j];
        }
    }
}

/// `inv_std = 1/√(var + eps)`.
pub fn inverse_std(var: &[f32], eps: f32, inv_std: &mut [f32]) {
    inv_std.iter_mut().zip(var).for_each(|(s, &v)| *s = 1.0 / (v + eps).sqrt());
}

/// Fold a batch's statistics (over `m` values per channel) into running averages, as
/// PyTorch does: `r ← (1 − momentum)·r + momentum·s`, the variance made unbiased
/// (`·m/(m − 1)`) first.
pub fn update_running(rmean: &mut [f32], rvar: &mut [f32], mean: &[f32], var: &[f32], m: f32, momentum: f32) {
    let unbiased = if m > 1.0 { m / (m - 1.0) } else { 1.0 };
    for (r, &v) in rmean.iter_mut().zip(mean) {
        *r = (1.0 - momentum) * *r + momentum * v;
    }
    for (r, &v) in rvar.iter_mut().zip(var) {
        *r = (1.0 - momentum) * *r + momentum * v * unbiased;
    }
}

/// The backward pass from `dz = ∂L/∂z`: `∂L/∂γ = Σ dz·x̂`, `∂L/∂β = Σ dz`, and, when
/// asked, `∂L/∂x`. With batch statistics (`training`), the mean and variance depend on
/// `x` too: `∂L/∂x = γ·inv_std·(dz − mean(dz) − x̂·mean(dz·x̂))`; with fixed (running)
/// statistics, `∂L/∂x = γ·inv_std·dz`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    dz: &[f32],
    xhat: &[f32],
    gamma: &[f32],
    inv_std: &[f32],
    training: bool,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    mut dx: Option<&mut [f32]>,
) {
    let c = gamma.len();
    let m = (dz.len() / c).max(1) as f64;
    for j0 in (0..c).step_by(BLOCK) {
        let w = BLOCK.min(c - j0);
        let (mut sg, mut sb) = ([0.0f64; BLOCK], [0.0f64; BLOCK]);
        for (dr, hr) in dz.chunks_exact(c).zip(xhat.chunks_exact(c)) {
            for j in 0..w {
                sb[j] += dr[j0 + j] as f64;
                sg[j] += dr[j0 + j] as f64 * hr[j0 + j] as f64;
            }
        }
        for j in 0..w {
            dgamma[j0 + j] = sg[j] as f32;
            dbeta[j0 + j] = sb[j] as f32;
        }
        if let Some(dx) = dx.as_deref_mut() {
            let (mb, mg) = (sb.map(|v| (v / m) as f32), sg.map(|v| (v / m) as f32));
            for ((xr, dr), hr) in dx.chunks_exact_mut(c).zip(dz.chunks_exact(c)).zip(xhat.chunks_exact(c)) {
                for j in 0..w {
                    let i = j0 + j;
                    let k = gamma[i] * inv_std[i];
                    xr[i] = if training { k * (dr[i] - mb[j] - hr[i] * mg[j]) } else { k * dr[i] };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_and_normalisation_by_hand() {
        // Two channels over three rows: [1, 10], [2, 20], [3, 60].
        let x = [1.0, 10.0, 2.0, 20.0, 3.0, 60.0];
        let (mut mean, mut var) = ([0.0; 2], [0.0; 2]);
        channel_moments(&x, 2, &mut mean, &mut var);
        assert_eq!(mean, [2.0, 30.0]);
        assert!((var[0] - 2.0 / 3.0).abs() < 1e-6 && (var[1] - 1400.0 / 3.0).abs() < 1e-3);
        let inv = [1.0 / var[0].sqrt(), 1.0 / var[1].sqrt()];
        let (mut h, mut z) = ([0.0; 6], [0.0; 6]);
        normalize_affine(&x, &mean, &inv, &[2.0, 1.0], &[0.5, 0.0], &mut h, &mut z);
        assert!((h[0] + 1.2247449).abs() < 1e-5 && h[2].abs() < 1e-7, "{h:?}");
        assert!((z[0] - (2.0 * h[0] + 0.5)).abs() < 1e-6);
    }
}
