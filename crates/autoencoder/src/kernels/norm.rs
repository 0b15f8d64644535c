//! Batch normalisation's loops over an `m × c` matrix (`m` = rows × pixels of a
//! channels-last map, `c` channels): the per-channel moments, the normalise-and-scale
//! pass, and the backward pass. Sums run in f64, in a fixed order.

use super::simd;

/// Channels per block of accumulators (kept on the stack: no allocation).
const BLOCK: usize = 64;
/// Rows summed in f32 before the partial sums are folded into f64.
const FOLD: usize = 256;

/// `acc[j] += Σ_rows f(a[r, j0 + j], b[r, j0 + j])` over the `w` columns from `j0` of two
/// `m × c` matrices: f32 lanes across the columns (so it vectorises), folded into f64
/// every [`FOLD`] rows, always in the same order.
#[inline(always)]
fn column_block_sums(
    a: &[f32],
    b: &[f32],
    c: usize,
    j0: usize,
    w: usize,
    acc: &mut [f64; BLOCK],
    f: impl Fn(f32, f32, usize) -> f32 + Copy,
) {
    let rows = a.len() / c;
    let mut r0 = 0;
    while r0 < rows {
        let r1 = (r0 + FOLD).min(rows);
        let mut part = [0.0f32; BLOCK];
        for r in r0..r1 {
            let (ar, br) = (&a[r * c + j0..r * c + j0 + w], &b[r * c + j0..r * c + j0 + w]);
            for (j, ((p, &x), &y)) in part[..w].iter_mut().zip(ar).zip(br).enumerate() {
                *p += f(x, y, j);
            }
        }
        for (s, &p) in acc[..w].iter_mut().zip(&part[..w]) {
            *s += p as f64;
        }
        r0 = r1;
    }
}

/// `Σ dz` and `Σ dz·x̂` per column in one pass, as [`column_block_sums`] does.
#[inline(always)]
fn column_block_sums2(
    dz: &[f32],
    xhat: &[f32],
    c: usize,
    j0: usize,
    w: usize,
    sum: &mut [f64; BLOCK],
    dot: &mut [f64; BLOCK],
) {
    let rows = dz.len() / c;
    let mut r0 = 0;
    while r0 < rows {
        let r1 = (r0 + FOLD).min(rows);
        let (mut ps, mut pd) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
        for r in r0..r1 {
            let (dr, hr) = (&dz[r * c + j0..r * c + j0 + w], &xhat[r * c + j0..r * c + j0 + w]);
            for (((s, p), &d), &h) in ps[..w].iter_mut().zip(pd[..w].iter_mut()).zip(dr).zip(hr) {
                *s += d;
                *p += d * h;
            }
        }
        for j in 0..w {
            sum[j] += ps[j] as f64;
            dot[j] += pd[j] as f64;
        }
        r0 = r1;
    }
}

/// The mean and the biased variance of each column of the `m × c` matrix `x`.
pub fn channel_moments(x: &[f32], c: usize, mean: &mut [f32], var: &mut [f32]) {
    let m = (x.len() / c).max(1) as f64;
    simd(
        #[inline(always)]
        || {
            for j0 in (0..c).step_by(BLOCK) {
                let w = BLOCK.min(c - j0);
                let mut s = [0.0f64; BLOCK];
                column_block_sums(x, x, c, j0, w, &mut s, |v, _, _| v);
                let mut mu = [0.0f32; BLOCK];
                for j in 0..w {
                    mu[j] = (s[j] / m) as f32;
                }
                // Two passes: Σ (x − μ)² is exact where E[x²] − μ² would cancel.
                let mut s2 = [0.0f64; BLOCK];
                column_block_sums(x, x, c, j0, w, &mut s2, |v, _, j| (v - mu[j]) * (v - mu[j]));
                for j in 0..w {
                    mean[j0 + j] = mu[j];
                    var[j0 + j] = (s2[j] / m) as f32;
                }
            }
        },
    )
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
    simd(
        #[inline(always)]
        || {
            for ((xr, hr), zr) in x.chunks_exact(c).zip(xhat.chunks_exact_mut(c)).zip(z.chunks_exact_mut(c)) {
                let it = xr.iter().zip(hr.iter_mut()).zip(zr.iter_mut());
                for ((((&v, h), z), (&mu, &is)), (&g, &b)) in
                    it.zip(mean.iter().zip(inv_std)).zip(gamma.iter().zip(beta))
                {
                    let n = (v - mu) * is;
                    *h = n;
                    *z = g * n + b;
                }
            }
        },
    )
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
    dx: Option<&mut [f32]>,
) {
    let c = gamma.len();
    let m = (dz.len() / c).max(1) as f64;
    simd(
        #[inline(always)]
        || {
            for j0 in (0..c).step_by(BLOCK) {
                let w = BLOCK.min(c - j0);
                let (mut sb, mut sg) = ([0.0f64; BLOCK], [0.0f64; BLOCK]);
                column_block_sums2(dz, xhat, c, j0, w, &mut sb, &mut sg);
                for j in 0..w {
                    dgamma[j0 + j] = sg[j] as f32;
                    dbeta[j0 + j] = sb[j] as f32;
                }
            }
            let Some(dx) = dx else { return };
            // Per channel: k = γ·inv_std, and (training) the two means.
            for j0 in (0..c).step_by(BLOCK) {
                let w = BLOCK.min(c - j0);
                let (mut k, mut mb, mut mg) = ([0.0f32; BLOCK], [0.0f32; BLOCK], [0.0f32; BLOCK]);
                for j in 0..w {
                    k[j] = gamma[j0 + j] * inv_std[j0 + j];
                    if training {
                        mb[j] = (dbeta[j0 + j] as f64 / m) as f32;
                        mg[j] = (dgamma[j0 + j] as f64 / m) as f32;
                    }
                }
                for ((xr, dr), hr) in dx.chunks_exact_mut(c).zip(dz.chunks_exact(c)).zip(xhat.chunks_exact(c))
                {
                    let (xr, dr, hr) = (&mut xr[j0..j0 + w], &dr[j0..j0 + w], &hr[j0..j0 + w]);
                    for (((x, (&d, &h)), &k), (&mb, &mg)) in
                        xr.iter_mut().zip(dr.iter().zip(hr)).zip(&k[..w]).zip(mb[..w].iter().zip(&mg[..w]))
                    {
                        *x = k * (d - mb - h * mg);
                    }
                }
            }
        },
    )
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
