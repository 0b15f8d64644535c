//! Fused element-wise passes: bias + activation, activation backward, bias gradients,
//! the losses with their gradients, and small vector helpers. One pass over memory each.

use super::{math, simd, Threads};
use crate::activation::{Activation, LEAKY_RELU_SLOPE};

/// `y[r, c] = f(y[r, c] + bias[c])` in place over a `rows × bias.len()` matrix; when
/// `pre` is given it receives `z = y + bias` as well. Blocks of rows run on `threads`
/// side by side (each value is computed on its own: the same bits at any count).
pub fn bias_activation(
    y: &mut [f32],
    bias: &[f32],
    act: Activation,
    pre: Option<&mut [f32]>,
    threads: &Threads,
) {
    debug_assert!(!bias.is_empty() && y.len().is_multiple_of(bias.len()));
    threads.for_each_rows(bias.len(), y, pre, |_, y, pre| bias_activation_block(y, bias, act, pre));
}

/// [`bias_activation`] on the calling thread.
fn bias_activation_block(y: &mut [f32], bias: &[f32], act: Activation, pre: Option<&mut [f32]>) {
    // One monomorphised loop per activation, so each vectorises on its own.
    match act {
        Activation::Linear => bias_map(y, bias, pre, |z| z),
        Activation::Relu => bias_map(y, bias, pre, |z| z.max(0.0)),
        Activation::LeakyRelu => bias_map(y, bias, pre, |z| activate(Activation::LeakyRelu, z)),
        Activation::Elu => bias_map(y, bias, pre, |z| activate(Activation::Elu, z)),
        Activation::Gelu => bias_map(y, bias, pre, |z| activate(Activation::Gelu, z)),
        Activation::Tanh => bias_map(y, bias, pre, math::tanh),
        Activation::Sigmoid => bias_map(y, bias, pre, math::sigmoid),
        Activation::Softplus => bias_map(y, bias, pre, |z| activate(Activation::Softplus, z)),
    }
}

#[inline(always)]
fn bias_map(y: &mut [f32], bias: &[f32], pre: Option<&mut [f32]>, f: impl Fn(f32) -> f32 + Copy) {
    let cols = bias.len();
    simd(
        #[inline(always)]
        || match pre {
            Some(pre) => {
                for (yr, pr) in y.chunks_exact_mut(cols).zip(pre.chunks_exact_mut(cols)) {
                    for ((v, p), &b) in yr.iter_mut().zip(pr.iter_mut()).zip(bias) {
                        let z = *v + b;
                        *p = z;
                        *v = f(z);
                    }
                }
            }
            None => {
                for yr in y.chunks_exact_mut(cols) {
                    yr.iter_mut().zip(bias).for_each(|(v, &b)| *v = f(*v + b));
                }
            }
        },
    )
}

#[inline(always)]
fn activate(act: Activation, z: f32) -> f32 {
    match act {
        Activation::Linear => z,
        Activation::Relu => z.max(0.0),
        Activation::LeakyRelu => {
            if z > 0.0 {
                z
            } else {
                LEAKY_RELU_SLOPE * z
            }
        }
        Activation::Elu => {
            let n = math::exp(z.min(0.0)) - 1.0;
            if z > 0.0 {
                z
            } else {
                n
            }
        }
        Activation::Gelu => 0.5 * z * (1.0 + math::erf(z * std::f32::consts::FRAC_1_SQRT_2)),
        Activation::Tanh => math::tanh(z),
        Activation::Sigmoid => math::sigmoid(z),
        Activation::Softplus => z.max(0.0) + math::log1p_exp_neg_abs(z),
    }
}

/// The index of the first value of `v` outside [0, 1] (NaN included), if any: the check
/// of BCE's targets and of binarising's probabilities.
pub fn first_outside_unit(v: &[f32]) -> Option<usize> {
    v.iter().position(|x| !(0.0..=1.0).contains(x))
}

/// `out[i] = math::byte_value(codes[i])`: rows held at a byte a value (`data::bytes`)
/// back to their values, vectorised.
pub fn bytes_to_values(codes: &[u8], out: &mut [f32]) {
    simd(
        #[inline(always)]
        || out.iter_mut().zip(codes).for_each(|(o, &k)| *o = math::byte_value(k)),
    )
}

/// Per-feature affine map over rows, in place: `v[r, c] = (v[r, c] − offset[c])·scale[c]`
/// (a normaliser), with `offset.len()` features per row.
pub fn shift_scale_in_place(v: &mut [f32], offset: &[f32], scale: &[f32]) {
    let cols = offset.len();
    simd(
        #[inline(always)]
        || {
            for row in v.chunks_exact_mut(cols) {
                for ((x, &o), &k) in row.iter_mut().zip(offset).zip(scale) {
                    *x = (*x - o) * k;
                }
            }
        },
    )
}

/// The inverse of [`shift_scale_in_place`]: `v[r, c] = v[r, c]/scale[c] + offset[c]`.
pub fn unshift_unscale(v: &mut [f32], offset: &[f32], scale: &[f32]) {
    let cols = offset.len();
    simd(
        #[inline(always)]
        || {
            for row in v.chunks_exact_mut(cols) {
                for ((x, &o), &k) in row.iter_mut().zip(offset).zip(scale) {
                    *x = *x / k + o;
                }
            }
        },
    )
}

/// Apply `f` element-wise: `out = f(z)` (no bias), blocks on `threads` side by side.
/// Used by tests and by layers that activate without a bias.
pub fn activation(z: &[f32], out: &mut [f32], act: Activation, threads: &Threads) {
    let out = &mut out[..z.len()];
    threads.for_each_rows(1, out, None, |r, out, _| activation_block(&z[r], out, act));
}

/// [`activation`] on the calling thread.
fn activation_block(z: &[f32], out: &mut [f32], act: Activation) {
    simd(
        #[inline(always)]
        || out.iter_mut().zip(z).for_each(|(o, &v)| *o = activate(act, v)),
    )
}

/// `dy ← dy ⊙ f′(z)` in place, from the outputs `y` (and `z` for GELU), blocks on
/// `threads` side by side.
pub fn activation_backward(
    dy: &mut [f32],
    y: &[f32],
    pre: Option<&[f32]>,
    act: Activation,
    threads: &Threads,
) {
    debug_assert_eq!(dy.len(), y.len());
    if act == Activation::Linear {
        return;
    }
    threads.for_each_rows(1, dy, None, |r, dy, _| {
        activation_backward_block(dy, &y[r.clone()], pre.map(|p| &p[r]), act)
    });
}

/// [`activation_backward`] on the calling thread.
fn activation_backward_block(dy: &mut [f32], y: &[f32], pre: Option<&[f32]>, act: Activation) {
    simd(
        #[inline(always)]
        || match act {
            Activation::Linear => {}
            Activation::Relu => dy.iter_mut().zip(y).for_each(|(d, &y)| *d = if y > 0.0 { *d } else { 0.0 }),
            Activation::LeakyRelu => {
                dy.iter_mut().zip(y).for_each(|(d, &y)| *d = if y > 0.0 { *d } else { *d * LEAKY_RELU_SLOPE })
            }
            Activation::Elu => {
                dy.iter_mut().zip(y).for_each(|(d, &y)| *d = if y > 0.0 { *d } else { *d * (y + 1.0) })
            }
            Activation::Tanh => dy.iter_mut().zip(y).for_each(|(d, &y)| *d *= 1.0 - y * y),
            Activation::Sigmoid => dy.iter_mut().zip(y).for_each(|(d, &y)| *d *= y * (1.0 - y)),
            Activation::Softplus => dy.iter_mut().zip(y).for_each(|(d, &y)| *d *= 1.0 - math::exp(-y)),
            Activation::Gelu => {
                let z = pre.expect("GELU backward needs the pre-activations");
                const INV_SQRT_2PI: f32 = 0.398_942_3;
                dy.iter_mut().zip(z).for_each(|(d, &z)| {
                    let cdf = 0.5 * (1.0 + math::erf(z * std::f32::consts::FRAC_1_SQRT_2));
                    let pdf = INV_SQRT_2PI * math::exp(-0.5 * z * z);
                    *d *= cdf + z * pdf;
                })
            }
        },
    )
}

/// `dst[c] = Σ_r src[r, c]` over a `rows × dst.len()` matrix (the bias gradient), blocks
/// of columns on `threads` side by side ([`column_sums_of`]: the same bits at any count).
pub fn column_sums(src: &[f32], dst: &mut [f32], threads: &Threads) {
    let cols = dst.len();
    let per = cols.div_ceil(threads.blocks_for(cols, src.len() / cols.max(1)));
    threads.for_each_rows_by(per, 1, dst, None, |r, d, _| column_sums_of(src, cols, r, d));
}

/// `dst[c − cols.start] = Σ_r src[r, c]` for the columns `cols` of a `rows × width`
/// matrix: [`column_sums`] of a block of columns, with the same bits (the rows are added
/// in the same order), so that threads can sum blocks of a bias gradient side by side.
///
/// The sums are kept in registers, 64 columns (then 16) at a time, over all the rows:
/// summed in place in `dst`, each row's add waited on the store of the row before
/// (measured: a convolution's bias gradient, 25,088 rows × 32 channels, was 29 % of its
/// layer's time at two threads).
pub fn column_sums_of(src: &[f32], width: usize, cols: std::ops::Range<usize>, dst: &mut [f32]) {
    let dst = &mut dst[..cols.len()];
    simd(
        #[inline(always)]
        || {
            let (mut at, mut rest) = (cols.start, &mut dst[..]);
            while rest.len() >= 64 {
                let (block, tail) = rest.split_at_mut(64);
                sums_of_block::<64>(src, width, at, block);
                (at, rest) = (at + 64, tail);
            }
            while rest.len() >= 16 {
                let (block, tail) = rest.split_at_mut(16);
                sums_of_block::<16>(src, width, at, block);
                (at, rest) = (at + 16, tail);
            }
            rest.fill(0.0);
            for row in src.chunks_exact(width) {
                rest.iter_mut().zip(&row[at..]).for_each(|(d, &s)| *d += s);
            }
        },
    )
}

/// `dst[l] = Σ_r src[r, at + l]` for `W` columns, summed from 0 in the rows' order in
/// `W` accumulators that the compiler keeps in registers.
#[inline(always)]
fn sums_of_block<const W: usize>(src: &[f32], width: usize, at: usize, dst: &mut [f32]) {
    let mut acc = [0.0f32; W];
    for row in src.chunks_exact(width) {
        let row: &[f32; W] = row[at..at + W].try_into().expect("W columns");
        for l in 0..W {
            acc[l] += row[l];
        }
    }
    dst.copy_from_slice(&acc);
}

const LANES: usize = 16;

/// `Σ f(aᵢ, bᵢ)` with 16 independent f32 accumulators over fixed-size chunks (so it
/// vectorises, and sums in the same order every time), folded into f64 per 4096
/// elements to keep the rounding error small.
#[inline(always)]
fn sum2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Copy) -> f64 {
    let mut total = 0.0f64;
    for (ac, bc) in a.chunks(4096).zip(b.chunks(4096)) {
        let mut acc = [0.0f32; LANES];
        let (a16, ar) = ac.as_chunks::<LANES>();
        let (b16, br) = bc.as_chunks::<LANES>();
        for (x, y) in a16.iter().zip(b16) {
            for l in 0..LANES {
                acc[l] += f(x[l], y[l]);
            }
        }
        let mut part: f64 = acc.iter().map(|&v| v as f64).sum();
        for (&x, &y) in ar.iter().zip(br) {
            part += f(x, y) as f64;
        }
        total += part;
    }
    total
}

/// Sum of `v²` (squared norm), accumulated as `sum2` does.
pub fn sum_squares(v: &[f32]) -> f64 {
    simd(
        #[inline(always)]
        || sum2(v, v, |x, _| x * x),
    )
}

/// Sum of `v`.
pub fn sum(v: &[f32]) -> f64 {
    simd(
        #[inline(always)]
        || sum2(v, v, |x, _| x),
    )
}

/// The least and the greatest of `values` that are not NaN (`+∞` and `−∞` when there are
/// none), and whether any is NaN. Each of 16 lanes keeps its own bounds (a
/// comparison passes NaN over), which vectorises; one running bound would wait on the
/// last. A zero bound may be either zero.
pub fn bounds(values: &[f32]) -> (f32, f32, bool) {
    simd(
        #[inline(always)]
        || {
            let (chunks, rest) = values.as_chunks::<LANES>();
            let (mut lo, mut hi) = ([f32::INFINITY; LANES], [f32::NEG_INFINITY; LANES]);
            let mut nan = [0u32; LANES];
            let mut take = |l: usize, v: f32| {
                lo[l] = if v < lo[l] { v } else { lo[l] };
                hi[l] = if v > hi[l] { v } else { hi[l] };
                nan[l] |= u32::from(v.is_nan());
            };
            for c in chunks.iter().map(|c| &c[..]).chain([rest]) {
                for (l, &v) in c.iter().enumerate() {
                    take(l, v);
                }
            }
            let lo = lo.iter().fold(f32::INFINITY, |a, &b| a.min(b));
            let hi = hi.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            (lo, hi, nan.iter().any(|&n| n != 0))
        },
    )
}

/// Sum of `|v|`.
pub fn sum_abs(v: &[f32]) -> f64 {
    simd(
        #[inline(always)]
        || sum2(v, v, |x, _| x.abs()),
    )
}

/// `a ← a + b`, element by element (the same bits on every instruction set: one
/// addition per element).
pub fn add(a: &mut [f32], b: &[f32]) {
    debug_assert_eq!(a.len(), b.len());
    simd(
        #[inline(always)]
        || a.iter_mut().zip(b).for_each(|(x, &y)| *x += y),
    )
}

/// `v ← s·v`.
pub fn scale(v: &mut [f32], s: f32) {
    simd(
        #[inline(always)]
        || v.iter_mut().for_each(|x| *x *= s),
    )
}

/// Binary cross-entropy from logits, fused with the sigmoid output:
/// `ℓ = max(z, 0) − z·t + ln(1 + e^−|z|)` (stable for any `z`), and, when `grad` is
/// given, `∂ℓ/∂z · scale = (σ(z) − t)·scale` written there. Returns `Σ ℓ`.
pub fn bce_with_logits(z: &[f32], t: &[f32], grad: Option<&mut [f32]>, scale: f32) -> f64 {
    debug_assert!(z.len() == t.len());
    simd(
        #[inline(always)]
        || match grad {
            Some(g) => bce_logits_pass::<true>(z, t, g, scale),
            None => bce_logits_pass::<false>(z, t, &mut [], scale),
        },
    )
}

/// One pass for the loss and (when `GRAD`) its gradient, with one exponential per
/// element: `y = σ(z)`, and the soft part `ln(1 + e^−|z|) = −ln σ(|z|) = −ln max(y, 1 − y)`.
/// The logarithm is taken once per block of up to 64 elements of a lane, of the product of their
/// `max(y, 1 − y)` (each in [0.5, 1], so 64 of them stay above 2⁻⁶⁴): `Σ ln mᵢ = ln Π mᵢ`.
/// The maxima are selects (`y > 0.5`), one instruction each, as is [`max0`]: with
/// [`math::exp`]'s fused multiply-adds they took the pass from 60 to 44 µs for a batch
/// of 128 × 784 on a Xeon with AVX-512, whose two vector ports this pass keeps busy.
/// Where σ rounds to 1 the soft term (below 6e-8) counts as 0.
#[inline(always)]
fn bce_logits_pass<const GRAD: bool>(z: &[f32], t: &[f32], g: &mut [f32], scale: f32) -> f64 {
    const BLOCK: usize = 64 * LANES;
    let mut total = 0.0f64;
    let n = z.len();
    // Blocks of 64 lanes' chunks, the last one shorter; what is left after the last
    // whole chunk runs one element at a time.
    let full = n / LANES * LANES;
    let mut start = 0;
    while start < full {
        let end = (start + BLOCK).min(full);
        let mut acc = [0.0f32; LANES];
        let mut prod = [1.0f32; LANES];
        let (zb, _) = z[start..end].as_chunks::<LANES>();
        let (tb, _) = t[start..end].as_chunks::<LANES>();
        if GRAD {
            let (gb, _) = g[start..end].as_chunks_mut::<LANES>();
            for ((zc, tc), gc) in zb.iter().zip(tb).zip(gb.iter_mut()) {
                for l in 0..LANES {
                    let y = math::sigmoid(zc[l]);
                    acc[l] += max0(zc[l]) - zc[l] * tc[l];
                    prod[l] *= if y > 0.5 { y } else { 1.0 - y };
                    gc[l] = (y - tc[l]) * scale;
                }
            }
        } else {
            for (zc, tc) in zb.iter().zip(tb) {
                for l in 0..LANES {
                    let y = math::sigmoid(zc[l]);
                    acc[l] += max0(zc[l]) - zc[l] * tc[l];
                    prod[l] *= if y > 0.5 { y } else { 1.0 - y };
                }
            }
        }
        // The logarithms in a loop of their own, which vectorises: taken in the sum's
        // loop they were scalar, and kept `prod` in memory through the block's loop
        // (Zen 4, AVX-512: 73 → 60 µs for a batch of 128 × 784; the same bits).
        let mut ln_prod = [0.0f32; LANES];
        for l in 0..LANES {
            ln_prod[l] = math::ln(prod[l]);
        }
        for l in 0..LANES {
            total += acc[l] as f64 - ln_prod[l] as f64;
        }
        start = end;
    }
    for i in full..n {
        let y = math::sigmoid(z[i]);
        let kept = if y > 0.5 { y } else { 1.0 - y };
        total += (max0(z[i]) - z[i] * t[i] - math::ln(kept)) as f64;
        if GRAD {
            g[i] = (y - t[i]) * scale;
        }
    }
    total
}

/// `max(z, 0)` in one instruction (`maxps`). Rust's `f32::max` returns the other operand
/// when one is NaN, which costs a compare and a blend per element; a NaN `z` gives 0
/// here, but its loss term `z·t` is NaN all the same.
#[inline(always)]
fn max0(z: f32) -> f32 {
    if z > 0.0 {
        z
    } else {
        0.0
    }
}

/// Binary cross-entropy on probabilities `y` (for outputs that are not a sigmoid),
/// clipped to `[1e-7, 1 − 1e-7]` as Keras does; `grad = ∂ℓ/∂y · scale`.
pub fn bce_probabilities(y: &[f32], t: &[f32], grad: Option<&mut [f32]>, scale: f32) -> f64 {
    const EPS: f32 = 1e-7;
    simd(
        #[inline(always)]
        || {
            if let Some(grad) = grad {
                grad.iter_mut().zip(y).zip(t).for_each(|((g, &y), &t)| {
                    let p = y.clamp(EPS, 1.0 - EPS);
                    let inside = y > EPS && y < 1.0 - EPS;
                    let d = (p - t) / (p * (1.0 - p)) * scale;
                    *g = if inside { d } else { 0.0 };
                });
            }
            sum2(y, t, |y, t| {
                let p = y.clamp(EPS, 1.0 - EPS);
                -(t * math::ln(p) + (1.0 - t) * math::ln(1.0 - p))
            })
        },
    )
}

/// Squared error `Σ (y − t)²`, and `grad = 2(y − t)·scale`.
pub fn squared_error(y: &[f32], t: &[f32], grad: Option<&mut [f32]>, scale: f32) -> f64 {
    simd(
        #[inline(always)]
        || {
            if let Some(grad) = grad {
                let s2 = 2.0 * scale;
                grad.iter_mut().zip(y).zip(t).for_each(|((g, &y), &t)| *g = (y - t) * s2);
            }
            sum2(y, t, |y, t| (y - t) * (y - t))
        },
    )
}

/// Absolute error `Σ |y − t|`, and `grad = sign(y − t)·scale` (0 where `y = t`).
pub fn absolute_error(y: &[f32], t: &[f32], grad: Option<&mut [f32]>, scale: f32) -> f64 {
    simd(
        #[inline(always)]
        || {
            if let Some(grad) = grad {
                grad.iter_mut().zip(y).zip(t).for_each(|((g, &y), &t)| {
                    let d = y - t;
                    *g = if d > 0.0 {
                        scale
                    } else if d < 0.0 {
                        -scale
                    } else {
                        0.0
                    };
                });
            }
            sum2(y, t, |y, t| (y - t).abs())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bias_activation_with_and_without_pre_agree() {
        let x: Vec<f32> = (0..24).map(|i| (i as f32 - 11.0) / 3.0).collect();
        let bias = [0.1, -0.2, 0.3, 0.0, 0.5, -0.5];
        for act in Activation::ALL {
            let mut a = x.clone();
            bias_activation(&mut a, &bias, act, None, &Threads::new(1));
            let mut b = x.clone();
            let mut pre = vec![0.0; 24];
            bias_activation(&mut b, &bias, act, Some(&mut pre), &Threads::new(1));
            assert_eq!(a, b, "{act}");
            for (i, &p) in pre.iter().enumerate() {
                assert_eq!(p, x[i] + bias[i % 6]);
            }
        }
    }

    #[test]
    fn column_sums_add_rows() {
        let src = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut dst = [9.0; 3];
        column_sums(&src, &mut dst, &Threads::new(1));
        assert_eq!(dst, [5.0, 7.0, 9.0]);
    }

    /// Every width (blocks of 64, of 16, and the rest) and every block of columns sums
    /// each column's rows in their order from 0: the bits of the plain loop.
    #[test]
    fn column_sums_have_the_bits_of_the_rows_added_in_order() {
        let rows = 37;
        for width in [1, 5, 16, 17, 32, 63, 64, 81, 150] {
            let src: Vec<f32> = (0..rows * width)
                .map(|i| ((i * 7919) % 1013) as f32 * 10f32.powi((i % 7) as i32 - 3) - 40.0)
                .collect();
            let mut want = vec![0.0f32; width];
            for row in src.chunks_exact(width) {
                want.iter_mut().zip(row).for_each(|(w, &v)| *w += v);
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let mut got = vec![f32::NAN; width];
            column_sums(&src, &mut got, &Threads::new(1));
            assert_eq!(bits(&got), bits(&want), "width {width}");
            for cols in [0..width, width / 3..width, 1.min(width)..width.min(70)] {
                let mut part = vec![f32::NAN; cols.len()];
                column_sums_of(&src, width, cols.clone(), &mut part);
                assert_eq!(bits(&part), bits(&want[cols.clone()]), "width {width}, columns {cols:?}");
            }
        }
    }

    #[test]
    fn bce_from_logits_matches_the_probability_form_where_both_are_exact() {
        // z = 0.5, t = 0.25: σ(z) = 0.622459; ℓ = −(0.25·ln σ + 0.75·ln(1−σ)) = 0.849077 (by hand).
        let z = [0.5f32];
        let y = [math::sigmoid(0.5)];
        let t = [0.25f32];
        let mut g = [0.0f32];
        let l = bce_with_logits(&z, &t, Some(&mut g), 1.0);
        assert!((l - 0.849_077).abs() < 1e-5, "{l}");
        assert!((g[0] - (0.622_459 - 0.25)).abs() < 1e-5);
        let lp = bce_probabilities(&y, &t, None, 1.0);
        assert!((lp - l).abs() < 1e-5);
        // Far in the tail the logit form stays finite and exact: z = 40, t = 0 → ℓ = 40.
        let l = bce_with_logits(&[40.0], &[0.0], None, 1.0);
        assert!((l - 40.0).abs() < 1e-4, "{l}");
    }

    /// Split over threads, bias + activation (with and without `z`), the activation, its
    /// backward pass and the bias gradient give the one-thread bits.
    #[test]
    fn split_passes_have_the_one_thread_bits() {
        let (rows, cols) = (1_500, 40);
        let x: Vec<f32> = (0..rows * cols).map(|i| ((i * 7_919 % 1_009) as f32 - 504.0) / 97.0).collect();
        let bias: Vec<f32> = (0..cols).map(|j| j as f32 / 13.0 - 1.0).collect();
        let run = |threads: &Threads| {
            let mut out = Vec::new();
            for act in Activation::ALL {
                let (mut y, mut pre) = (x.clone(), vec![0.0; x.len()]);
                bias_activation(&mut y, &bias, act, Some(&mut pre), threads);
                let mut y2 = x.clone();
                bias_activation(&mut y2, &bias, act, None, threads);
                let mut a = vec![0.0; x.len()];
                activation(&x, &mut a, act, threads);
                let mut dy = x.clone();
                activation_backward(&mut dy, &y, Some(&pre), act, threads);
                let mut g = vec![0.0; cols];
                column_sums(&dy, &mut g, threads);
                out.push((y, y2, pre, a, dy, g));
            }
            out
        };
        let one = run(&Threads::new(1));
        for n in [2, 3] {
            assert!(Threads::new(n).blocks_for(rows, cols) > 1 && Threads::new(n).blocks_for(cols, rows) > 1);
            assert!(run(&Threads::new(n)) == one, "{n} threads");
        }
    }
}
