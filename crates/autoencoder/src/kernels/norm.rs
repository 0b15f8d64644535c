//! Batch normalisation's loops over an `m × c` matrix (`m` = rows × pixels of a
//! channels-last map, `c` channels): the per-channel moments, the normalise-and-scale
//! pass, and the backward pass. Sums run in f64, in a fixed order.

use super::{simd, Threads};

/// Channels per block of accumulators (kept on the stack: no allocation).
const BLOCK: usize = 64;
/// Rows summed in f32 before the partial sums are folded into f64.
const FOLD: usize = 256;

/// The partial sums a batch-normalisation pass over `m` rows of `c` channels keeps:
/// `parts` values per channel for each block of 256 rows (`FOLD`).
pub fn partials_len(m: usize, c: usize, parts: usize) -> usize {
    m.div_ceil(FOLD) * c * parts
}

/// Per block of [`FOLD`] rows of two `m × c` matrices, f32 partial sums over its rows in
/// order, into `partials` (`parts · c` values per block): `row(a_row, b_row, sums)`
/// adds one row to its block's sums. Blocks on `threads` side by side; each block's
/// sums do not depend on the thread count, and [`fold`] then adds them up in block order.
#[inline(always)]
fn block_sums(
    a: &[f32],
    b: &[f32],
    c: usize,
    parts: usize,
    partials: &mut [f32],
    threads: &Threads,
    row: impl Fn(&[f32], &[f32], &mut [f32]) + Send + Sync + Copy,
) {
    let rows = a.len() / c;
    let partials = &mut partials[..partials_len(rows, c, parts)];
    let folds = rows.div_ceil(FOLD);
    let per = folds.div_ceil(threads.blocks_for(folds, FOLD * c));
    threads.for_each_rows_by(per, parts * c, partials, None, |folds, out, _| {
        simd(
            #[inline(always)]
            || {
                for (fb, sums) in folds.zip(out.chunks_exact_mut(parts * c)) {
                    sums.fill(0.0);
                    for r in fb * FOLD..((fb + 1) * FOLD).min(rows) {
                        row(&a[r * c..(r + 1) * c], &b[r * c..(r + 1) * c], sums);
                    }
                }
            },
        )
    });
}

/// `out[j] = g(Σ_blocks partials[block, part, j])` for every channel `j`, the sums in
/// f64 in block order (a stack block of [`BLOCK`] channels at a time: no allocation).
fn fold(partials: &[f32], c: usize, parts: usize, part: usize, out: &mut [f32], g: impl Fn(f64) -> f32) {
    for j0 in (0..c).step_by(BLOCK) {
        let w = BLOCK.min(c - j0);
        let mut acc = [0.0f64; BLOCK];
        for block in partials.chunks_exact(parts * c) {
            let p = &block[part * c + j0..part * c + j0 + w];
            for (s, &p) in acc[..w].iter_mut().zip(p) {
                *s += p as f64;
            }
        }
        for j in 0..w {
            out[j0 + j] = g(acc[j]);
        }
    }
}

/// The mean and the biased variance of each column of the `m × c` matrix `x`: f32 sums
/// over blocks of 256 rows (blocks on `threads` side by side, into `partials`, of
/// [`partials_len`]`(m, c, 1)` values at least), added in f64 in block order: the same
/// bits at any thread count.
pub fn channel_moments(
    x: &[f32],
    c: usize,
    mean: &mut [f32],
    var: &mut [f32],
    partials: &mut [f32],
    threads: &Threads,
) {
    let rows = x.len() / c;
    let m = rows.max(1) as f64;
    let partials = &mut partials[..partials_len(rows, c, 1)];
    block_sums(
        x,
        x,
        c,
        1,
        partials,
        threads,
        #[inline(always)]
        |x, _, s| s.iter_mut().zip(x).for_each(|(s, &v)| *s += v),
    );
    fold(partials, c, 1, 0, mean, |s| (s / m) as f32);
    // Two passes: Σ (x − μ)² is exact where E[x²] − μ² would cancel.
    let mean = &*mean;
    block_sums(
        x,
        x,
        c,
        1,
        partials,
        threads,
        #[inline(always)]
        |x, _, s| s.iter_mut().zip(x).zip(mean).for_each(|((s, &v), &mu)| *s += (v - mu) * (v - mu)),
    );
    fold(partials, c, 1, 0, var, |s| (s / m) as f32);
}

/// What [`normalize_affine`] writes of `z = γ·x̂ + β`: `z` itself, or an activation
/// fused with it (the bits of `elementwise::bias_activation` with a zero bias applied to
/// `z` afterwards, in one pass over memory fewer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `z`.
    Affine,
    /// `z + 0` (the identity, as a zero bias adds it).
    Linear,
    /// `max(z + 0, 0)`.
    Relu,
}

/// `x̂ = (x − mean)·inv_std` and `z = γ·x̂ + β` per column, written as `output` says into
/// `z` (`x̂` is not kept: the backward pass computes it again from `x`, with the same
/// bits); blocks of rows on `threads` side by side.
#[allow(clippy::too_many_arguments)]
pub fn normalize_affine(
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    output: Output,
    z: &mut [f32],
    threads: &Threads,
) {
    match output {
        Output::Affine => normalize_affine_with(x, mean, inv_std, gamma, beta, z, threads, |z| z),
        Output::Linear => normalize_affine_with(x, mean, inv_std, gamma, beta, z, threads, |z| z + 0.0),
        Output::Relu => {
            normalize_affine_with(x, mean, inv_std, gamma, beta, z, threads, |z| (z + 0.0).max(0.0))
        }
    }
}

/// [`normalize_affine`] writing `f(z)`: one monomorphised loop per output.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn normalize_affine_with(
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    out: &mut [f32],
    threads: &Threads,
    f: impl Fn(f32) -> f32 + Copy + Send + Sync,
) {
    let c = mean.len();
    threads.for_each_rows(c, &mut out[..x.len()], None, |rows, out, _| {
        let x = &x[rows.start * c..rows.end * c];
        simd(
            #[inline(always)]
            || {
                for (xr, zr) in x.chunks_exact(c).zip(out.chunks_exact_mut(c)) {
                    for ((&v, z), ((&mu, &is), (&g, &b))) in
                        xr.iter().zip(zr.iter_mut()).zip(mean.iter().zip(inv_std).zip(gamma.iter().zip(beta)))
                    {
                        *z = f(g * ((v - mu) * is) + b);
                    }
                }
            },
        )
    });
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

/// What [`batch_norm_backward`] needs of the forward pass: its input `x`, the
/// statistics it normalised with, and γ and β (`inv_std = 1/√(var + ε)`).
#[derive(Debug, Clone, Copy)]
pub struct Normalised<'a> {
    /// The forward pass's input, `m × c`.
    pub x: &'a [f32],
    /// The mean it was normalised with, per channel.
    pub mean: &'a [f32],
    /// `1/√(var + ε)` per channel.
    pub inv_std: &'a [f32],
    /// The scale γ per channel.
    pub gamma: &'a [f32],
    /// The shift β per channel.
    pub beta: &'a [f32],
}

/// The backward pass from `dy`, the gradient at the output: `dz = ∂L/∂z` is `dy`, or with
/// `relu` (the output was [`Output::Relu`]) `dy` where `z > 0` and 0 elsewhere, `z` and
/// `x̂` computed again from `x` as the forward pass computed them. Then `∂L/∂γ = Σ dz·x̂`,
/// `∂L/∂β = Σ dz`, and, when asked, `∂L/∂x`. With batch statistics (`training`), the
/// mean and variance depend on `x` too: `∂L/∂x = γ·inv_std·(dz − mean(dz) −
/// x̂·mean(dz·x̂))`; with fixed (running) statistics, `∂L/∂x = γ·inv_std·dz`. The sums run
/// as [`channel_moments`]' do (into `partials`, of [`partials_len`]`(m, c, 2)` values at
/// least), the rows of `∂L/∂x` in blocks on `threads`: the same bits at any count.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    dy: &[f32],
    fwd: Normalised<'_>,
    relu: bool,
    training: bool,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    dx: Option<&mut [f32]>,
    partials: &mut [f32],
    threads: &Threads,
) {
    let Normalised { x, mean, inv_std, gamma, beta } = fwd;
    let c = gamma.len();
    let rows = dy.len() / c;
    let m = rows.max(1) as f64;
    let partials = &mut partials[..partials_len(rows, c, 2)];
    block_sums(
        dy,
        x,
        c,
        2,
        partials,
        threads,
        #[inline(always)]
        |dy, x, s| {
            // Every slice exactly `c` long, so that the loop has no bounds checks and
            // vectorises.
            let (sum, dot) = s.split_at_mut(c);
            let (dot, dy, x) = (&mut dot[..c], &dy[..c], &x[..c]);
            let (mean, inv_std, gamma, beta) = (&mean[..c], &inv_std[..c], &gamma[..c], &beta[..c]);
            for j in 0..c {
                let h = (x[j] - mean[j]) * inv_std[j];
                let d = masked(dy[j], gamma[j] * h + beta[j], relu);
                sum[j] += d;
                dot[j] += d * h;
            }
        },
    );
    fold(partials, c, 2, 0, dbeta, |s| s as f32);
    fold(partials, c, 2, 1, dgamma, |s| s as f32);
    let Some(dx) = dx else { return };
    let (dgamma, dbeta) = (&*dgamma, &*dbeta);
    threads.for_each_rows(c, &mut dx[..rows * c], None, |r, dx, _| {
        let (dy, x) = (&dy[r.start * c..r.end * c], &x[r.start * c..r.end * c]);
        simd(
            #[inline(always)]
            || {
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
                    let per_channel = (mean[j0..j0 + w].iter().zip(&inv_std[j0..j0 + w]))
                        .zip(gamma[j0..j0 + w].iter().zip(&beta[j0..j0 + w]));
                    for ((xr, dr), vr) in
                        dx.chunks_exact_mut(c).zip(dy.chunks_exact(c)).zip(x.chunks_exact(c))
                    {
                        let (xr, dr, vr) = (&mut xr[j0..j0 + w], &dr[j0..j0 + w], &vr[j0..j0 + w]);
                        for ((((out, (&d, &v)), &k), (&mb, &mg)), ((&mu, &is), (&g, &b))) in xr
                            .iter_mut()
                            .zip(dr.iter().zip(vr))
                            .zip(&k[..w])
                            .zip(mb[..w].iter().zip(&mg[..w]))
                            .zip(per_channel.clone())
                        {
                            let h = (v - mu) * is;
                            let d = masked(d, g * h + b, relu);
                            *out = k * (d - mb - h * mg);
                        }
                    }
                }
            },
        )
    });
}

/// `∂L/∂z` from the gradient at the output `d`: with `relu`, `d` where `z > 0` and 0
/// elsewhere (ReLU's derivative, as `elementwise::activation_backward` takes it from the
/// output `max(z + 0, 0) > 0`), else `d`.
#[inline(always)]
fn masked(d: f32, z: f32, relu: bool) -> f32 {
    if !relu || z > 0.0 {
        d
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_and_normalisation_by_hand() {
        // Two channels over three rows: [1, 10], [2, 20], [3, 60].
        let x = [1.0, 10.0, 2.0, 20.0, 3.0, 60.0];
        let (mut mean, mut var, mut partials) = ([0.0; 2], [0.0; 2], [0.0; 2]);
        let one = Threads::new(1);
        channel_moments(&x, 2, &mut mean, &mut var, &mut partials, &one);
        assert_eq!(mean, [2.0, 30.0]);
        assert!((var[0] - 2.0 / 3.0).abs() < 1e-6 && (var[1] - 1400.0 / 3.0).abs() < 1e-3);
        let inv = [1.0 / var[0].sqrt(), 1.0 / var[1].sqrt()];
        let (mut h, mut z) = ([0.0; 6], [0.0; 6]);
        normalize_affine(&x, &mean, &inv, &[1.0, 1.0], &[0.0, 0.0], Output::Affine, &mut h, &one);
        assert!((h[0] + 1.2247449).abs() < 1e-5 && h[2].abs() < 1e-7, "{h:?}");
        normalize_affine(&x, &mean, &inv, &[2.0, 1.0], &[0.5, 0.0], Output::Affine, &mut z, &one);
        assert!((z[0] - (2.0 * h[0] + 0.5)).abs() < 1e-6);
        // ReLU: 2·(−1.22) + 0.5 < 0 becomes 0; the second row's channel 0 is 0.5.
        normalize_affine(&x, &mean, &inv, &[2.0, 1.0], &[0.5, 0.0], Output::Relu, &mut z, &one);
        assert_eq!((z[0], z[2]), (0.0, 0.5));
    }

    /// Values that do not sum exactly in f32, so that another order would show.
    fn values(n: usize, salt: u32) -> Vec<f32> {
        (0..n as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) ^ salt) % 10_007) as f32 / 977.0 - 4.9)
            .collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|v| v.to_bits()).collect()
    }

    /// The training backward pass from `dy` over `fwd`: the bits of ∂L/∂γ, ∂L/∂β, ∂L/∂x.
    fn backward_bits(
        dy: &[f32],
        fwd: Normalised<'_>,
        relu: bool,
        partials: &mut [f32],
        t: &Threads,
    ) -> [Vec<u32>; 3] {
        let c = fwd.gamma.len();
        let (mut dg, mut db, mut dx) = (vec![0.0; c], vec![0.0; c], vec![0.0; dy.len()]);
        batch_norm_backward(dy, fwd, relu, true, &mut dg, &mut db, Some(&mut dx), partials, t);
        [bits(&dg), bits(&db), bits(&dx)]
    }

    /// Split over threads (blocks of rows of 256-row sums, blocks of rows of the
    /// element-wise passes), every output has the one-thread bits; with one thread, the
    /// moments are the two-pass f64 sums to f32 accuracy.
    #[test]
    fn every_pass_has_the_same_bits_on_more_threads() {
        let (m, c) = (5_000, 24);
        let (x, dz) = (values(m * c, 1), values(m * c, 7));
        let (gamma, beta): (Vec<f32>, Vec<f32>) =
            (0..c).map(|j| 0.5 + j as f32 / 10.0).map(|g| (g, g - 1.0)).unzip();
        let run = |threads: &Threads| {
            let (mut mean, mut var, mut inv) = (vec![0.0; c], vec![0.0; c], vec![0.0; c]);
            let mut partials = vec![0.0; partials_len(m, c, 2)];
            channel_moments(&x, c, &mut mean, &mut var, &mut partials, threads);
            inverse_std(&var, 1e-5, &mut inv);
            let (mut z, mut y) = (vec![0.0; m * c], vec![0.0; m * c]);
            normalize_affine(&x, &mean, &inv, &gamma, &beta, Output::Affine, &mut z, threads);
            normalize_affine(&x, &mean, &inv, &gamma, &beta, Output::Relu, &mut y, threads);
            let fwd = Normalised { x: &x, mean: &mean, inv_std: &inv, gamma: &gamma, beta: &beta };
            let mut backward = |relu| backward_bits(&dz, fwd, relu, &mut partials, threads);
            let (plain, relu) = (backward(false), backward(true));
            (mean, var, z, y, plain, relu)
        };
        let one = run(&Threads::new(1));
        for n in [2, 3, 4] {
            assert!(Threads::new(n).blocks_for(m.div_ceil(FOLD), FOLD * c) > 1);
            assert_eq!(run(&Threads::new(n)), one, "{n} threads");
        }
        for j in 0..c {
            let col = || x.iter().skip(j).step_by(c).map(|&v| v as f64);
            let mu = col().sum::<f64>() / m as f64;
            let var = col().map(|v| (v - mu) * (v - mu)).sum::<f64>() / m as f64;
            assert!((one.0[j] as f64 - mu).abs() < 1e-5 && (one.1[j] as f64 / var - 1.0).abs() < 1e-5, "{j}");
            let db = dz.iter().skip(j).step_by(c).map(|&v| v as f64).sum::<f64>();
            let got = f32::from_bits(one.4[1][j]) as f64;
            assert!((got - db).abs() < 1e-2, "{j}: {got} vs {db}");
        }
    }

    /// The passes with ReLU fused have the bits of the plain passes followed by the
    /// separate ReLU passes (`bias_activation` with a zero bias forward; backward, `dy`
    /// masked where the output is not positive): so a model's bytes do not change.
    #[test]
    fn relu_fused_into_the_passes_has_the_bits_of_the_separate_passes() {
        use crate::activation::Activation;
        use crate::kernels::elementwise;
        let (m, c) = (700, 19);
        // Values with exact zeros, negative zeros and ties at z = 0 among them.
        let mut x = values(m * c, 3);
        x.iter_mut().step_by(7).for_each(|v| *v = 0.0);
        x.iter_mut().skip(3).step_by(11).for_each(|v| *v = -0.0);
        let dy = values(m * c, 9);
        let (gamma, beta): (Vec<f32>, Vec<f32>) = (0..c)
            .map(|j| (j as f32 - 9.0) / 4.0)
            .map(|g| (g, if g == 0.0 { 0.0 } else { -g / 3.0 }))
            .unzip();
        for threads in [Threads::new(1), Threads::new(3)] {
            let (mut mean, mut var, mut inv) = (vec![0.0; c], vec![0.0; c], vec![0.0; c]);
            let mut partials = vec![0.0; partials_len(m, c, 2)];
            channel_moments(&x, c, &mut mean, &mut var, &mut partials, &threads);
            inverse_std(&var, 1e-5, &mut inv);
            let (mut fused, mut apart) = (vec![0.0; m * c], vec![0.0; m * c]);
            normalize_affine(&x, &mean, &inv, &gamma, &beta, Output::Relu, &mut fused, &threads);
            normalize_affine(&x, &mean, &inv, &gamma, &beta, Output::Affine, &mut apart, &threads);
            let mut linear = apart.clone();
            elementwise::bias_activation(&mut apart, &vec![0.0; c], Activation::Relu, None, &threads);
            assert_eq!(bits(&fused), bits(&apart));
            assert!(fused.contains(&0.0) && fused.iter().any(|&v| v > 0.0));
            let mut fused_linear = vec![0.0; m * c];
            normalize_affine(&x, &mean, &inv, &gamma, &beta, Output::Linear, &mut fused_linear, &threads);
            elementwise::bias_activation(&mut linear, &vec![0.0; c], Activation::Linear, None, &threads);
            assert_eq!(bits(&fused_linear), bits(&linear));
            let fwd = Normalised { x: &x, mean: &mean, inv_std: &inv, gamma: &gamma, beta: &beta };
            let mut run = |dy: &[f32], relu| backward_bits(dy, fwd, relu, &mut partials, &threads);
            let mut masked = dy.clone();
            elementwise::activation_backward(&mut masked, &apart, None, Activation::Relu, &threads);
            assert_eq!(run(&dy, true), run(&masked, false));
            assert_ne!(run(&dy, true), run(&dy, false), "some outputs are not positive");
        }
    }
}
