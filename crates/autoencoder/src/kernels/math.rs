//! Branch-free f32 transcendentals (exp, ln, tanh, erf) and a reciprocal that vectorise
//! when inlined into a [`super::simd`] loop; accurate to a few ulp (Cephes' polynomials).

#![allow(clippy::excessive_precision)] // Cephes' coefficients, kept as published.

/// `eˣ`, relative error ≤ 2 ulp on [-87, 88]; inputs outside are clamped there
/// (so `exp(-1000)` is `e⁻⁸⁷ ≈ 1.6e-38`, not 0, and nothing overflows).
///
/// The reduction and the polynomial are fused multiply-adds: one rounding each, by
/// definition the same on AVX2, AVX-512 and in software, so the bits do not depend on
/// the instruction set. Separate products and sums took 26 vector instructions an
/// element to these 17; on a Xeon's two vector ports that made the BCE pass at the
/// logits 27 % faster (60 → 44 µs for a batch of 128 × 784).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    // Adding 1.5·2²³ rounds x·log₂e to the nearest integer n, which then sits in the
    // low mantissa bits of `k`: n and 2ⁿ come out with float and integer adds only
    // (no float→int conversion, which vectorises poorly).
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let k = x.mul_add(LOG2E, MAGIC);
    let n = k - MAGIC;
    let r = n.mul_add(-C2, n.mul_add(-C1, x));
    let z = r * r;
    let p = 1.987_569_1e-4f32
        .mul_add(r, 1.398_2e-3)
        .mul_add(r, 8.333_452e-3)
        .mul_add(r, 4.166_579_6e-2)
        .mul_add(r, 1.666_666_5e-1)
        .mul_add(r, 5.000_000_1e-1);
    let y = p.mul_add(z, r) + 1.0;
    let scale = f32::from_bits(k.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23);
    y * scale
}

/// Natural logarithm for `x > 0` (normal numbers), relative error ≤ 2 ulp. Zero and
/// subnormal inputs give a large negative number instead of −∞; callers clamp first.
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let x = x.max(f32::MIN_POSITIVE);
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000); // in [0.5, 1)
    let small = m < SQRT_HALF;
    let e = (if small { e - 1 } else { e }) as f32;
    let t = if small { m + m - 1.0 } else { m - 1.0 };
    let z = t * t;
    let mut y = ((((((((7.037_683_6e-2 * t - 1.151_461e-1) * t + 1.167_699_9e-1) * t - 1.242_014_1e-1)
        * t
        + 1.424_932_3e-1)
        * t
        - 1.666_805_8e-1)
        * t
        + 2.000_071_4e-1)
        * t
        - 2.499_999_4e-1)
        * t
        + 3.333_333_1e-1)
        * t
        * z;
    y += e * -2.121_944_4e-4;
    y += -0.5 * z;
    t + y + e * 0.693_359_4
}

/// `1/d` for a positive normal `d` below 2¹²⁵, without the divider: Newton's iteration
/// `y ← y + y·(1 − d·y)` three times, in fused multiply-adds, from a seed read off `d`'s
/// bits (`0x7EF311C7 − bits(d)`, within 5.1 % of `1/d`). The relative error squares
/// each time (5.1 % → 2.6e-3 → 6.5e-6 → 4.2e-11), so the result is within an ulp of
/// `1/d`, though not always the correctly rounded one.
///
/// The same bits on every instruction set, as the other kernels: a fused multiply-add
/// is one rounding by definition, on AVX2, AVX-512 and in software. What it buys: a
/// vector division waits on the divider, which on Intel cores takes 10 cycles for 16
/// lanes (Xeon, AVX-512, Adam: the divider bound model A's update), where these seven
/// instructions take 3.5 on the two vector ports and run beside it.
#[inline(always)]
pub fn recip(d: f32) -> f32 {
    let mut y = f32::from_bits(0x7EF3_11C7u32.wrapping_sub(d.to_bits()));
    for _ in 0..3 {
        y = y.mul_add((-d).mul_add(y, 1.0), y);
    }
    y
}

/// The value byte `k` stands for: `k/255` rounded to the nearest f32, as the loaders
/// compute it (`k as f32 / 255.0`, or in f64 and then rounded: the same bits for every
/// `k`). Computed without the divider: `q = k·(1/255)` is within an ulp, and one step of
/// Newton's correction `q + (k − 255·q)·(1/255)`, in fused multiply-adds, lands on the
/// correctly rounded quotient for each of the 256 bytes (`data::bytes`'s tests check all).
#[inline(always)]
pub fn byte_value(k: u8) -> f32 {
    const INV_255: f32 = 1.0 / 255.0;
    let k = f32::from(k);
    let q = k * INV_255;
    (-q).mul_add(255.0, k).mul_add(INV_255, q)
}

/// The logistic sigmoid `σ(x) = 1 / (1 + e⁻ˣ)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `ln(1 + e⁻|x|)`, the smooth part of softplus and of the logistic losses.
#[inline(always)]
pub fn log1p_exp_neg_abs(x: f32) -> f32 {
    let e = exp(-x.abs());
    // ln(1+e) with e in (0, 1], accurate for tiny e too: with u = 1 + e rounded,
    // ln(u)·e/(u − 1) cancels the rounding of u (Goldberg's trick); when u rounds to
    // 1, ln(1+e) = e to working precision.
    let u = 1.0 + e;
    let d = u - 1.0;
    if d == 0.0 {
        e
    } else {
        ln(u) * (e / d)
    }
}

/// Hyperbolic tangent: a polynomial near zero (relative accuracy kept), and
/// `1 − 2/(e²ˣ + 1)` elsewhere.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let small = ((((-5.704_988_7e-3 * z + 2.063_908_9e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
        - 3.333_328_2e-1)
        * z
        * x
        + x;
    let large = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
    let large = if x < 0.0 { -large } else { large };
    if a < 0.625 {
        small
    } else {
        large
    }
}

/// The error function, absolute error ≤ 2e-7: its Taylor series for |x| < 0.5 (where
/// the rational form would cancel), Abramowitz & Stegun 7.1.26 elsewhere.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let p = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_8) * t - 0.284_496_74) * t + 0.254_829_6) * t;
    let far = 1.0 - p * exp(-a * a);
    let far = if x < 0.0 { -far } else { far };
    // 2/√π · (x − x³/3 + x⁵/10 − x⁷/42 + x⁹/216 − x¹¹/1320)
    let z = x * x;
    let near = std::f32::consts::FRAC_2_SQRT_PI
        * x
        * (1.0 + z * (-1.0 / 3.0 + z * (0.1 + z * (-1.0 / 42.0 + z * (1.0 / 216.0 + z * (-1.0 / 1320.0))))));
    if a < 0.5 {
        near
    } else {
        far
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f32, b: f64) -> f64 {
        ((a as f64 - b) / b.abs().max(1e-30)).abs()
    }

    #[test]
    fn exp_and_ln_are_accurate_across_the_range() {
        let mut x = -87.0f32;
        while x < 88.0 {
            assert!(rel(exp(x), (x as f64).exp()) < 3e-7, "exp({x})");
            x += 0.0137;
        }
        let mut x = 1e-37f32;
        while x < 1e37 {
            let want = (x as f64).ln();
            assert!((ln(x) as f64 - want).abs() < 3e-7 * want.abs().max(1.0), "ln({x})");
            x *= 1.37;
        }
        assert_eq!(ln(1.0), 0.0);
    }

    /// Within an ulp of `1/d` for every mantissa of one binade (the seed's error
    /// depends on the mantissa only) and across the exponents Adam's `√v + ε` takes.
    #[test]
    fn recip_is_within_an_ulp() {
        let ulps = |d: f32| {
            let (got, want) = (recip(d), 1.0 / d);
            (got.to_bits() as i64 - want.to_bits() as i64).abs()
        };
        let mut worst = 0;
        for mantissa in 0..1u32 << 23 {
            worst = worst.max(ulps(f32::from_bits((127 << 23) | mantissa)));
        }
        assert!(worst <= 1, "{worst} ulps in [1, 2)");
        let mut d = 1e-8f32;
        while d < 1e20 {
            assert!(ulps(d) <= 1, "recip({d}) = {}, 1/d = {}", recip(d), 1.0 / d);
            d *= 1.0137;
        }
        // Mostly the correctly rounded value: a wrong last bit would show in most.
        let exact = (0..1u32 << 16).filter(|m| ulps(f32::from_bits((127 << 23) | (m << 7))) == 0).count();
        assert!(exact > 60_000, "{exact} of 65,536 correctly rounded");
    }

    #[test]
    fn tanh_erf_sigmoid_match_std() {
        let mut x = -12.0f32;
        while x < 12.0 {
            let xd = x as f64;
            assert!((tanh(x) as f64 - xd.tanh()).abs() < 2e-7 + 2e-7 * xd.tanh().abs(), "tanh({x})");
            let erf_ref = libm_erf(xd);
            assert!((erf(x) as f64 - erf_ref).abs() < 3e-7, "erf({x})");
            assert!((sigmoid(x) as f64 - 1.0 / (1.0 + (-xd).exp())).abs() < 2e-7, "sigmoid({x})");
            let lp = (1.0 + (-xd.abs()).exp()).ln();
            assert!((log1p_exp_neg_abs(x) as f64 - lp).abs() < 2e-7 * lp.max(1e-30) + 1e-9, "log1p({x})");
            x += 0.01;
        }
        assert!(rel(tanh(1e-3), 1e-3f64.tanh()) < 1e-6);
    }

    // erf by its Taylor series / continued fraction in f64, good to 1e-12 here.
    fn libm_erf(x: f64) -> f64 {
        if x.abs() > 6.0 {
            return x.signum();
        }
        // erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1)), summed in f64 for |x| ≤ 6 with
        // enough terms; for large |x| use erfc's continued fraction.
        if x.abs() < 3.0 {
            let mut sum = 0.0;
            let mut term = x;
            let mut n = 0.0;
            while term.abs() > 1e-17 {
                sum += term / (2.0 * n + 1.0);
                n += 1.0;
                term *= -x * x / n;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            let a = x.abs();
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = (k as f64 / 2.0) / (a + f);
            }
            let erfc = (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + f);
            x.signum() * (1.0 - erfc)
        }
    }
}
