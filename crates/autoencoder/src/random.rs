//! Seeded random streams whose values never change with a dependency's version:
//! ChaCha8 words turned into numbers by our own (documented) formulas.
//!
//! Internal: public (and `#[doc(hidden)]`) only for the `ae` command, the tests and the
//! benches; not part of the library's promised API, and it may change in any release.

use rand::{RngCore, SeedableRng};
pub use rand_chacha::ChaCha8Rng;

/// Named streams derived from one seed, so that adding a use of randomness in one
/// place never shifts the numbers drawn in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Weight initialisation.
    Init = 0,
    /// The order of the rows in each epoch.
    Shuffle = 1,
    /// Input corruption, dropout and other noise during training.
    Noise = 2,
    /// Sampling at inference (generation, importance sampling).
    Sample = 3,
    /// The order in which streamed training visits its windows' pieces.
    Windows = 4,
}

/// The generator for `stream` of `seed`.
pub fn rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream as u64);
    r
}

/// The generator for `stream` of `seed` at place `(step, part)`: an independent
/// generator per place, keyed by all four (so that any process can draw part `part` of
/// step `step` without drawing the parts before it).
pub fn rng_at(seed: u64, stream: Stream, step: u64, part: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&step.to_le_bytes());
    key[16..24].copy_from_slice(&part.to_le_bytes());
    key[24..].copy_from_slice(b"ae/place");
    let mut r = ChaCha8Rng::from_seed(key);
    r.set_stream(stream as u64);
    r
}

/// Uniform in `[0, 1)` with 24 random bits: `(u32 >> 8)·2⁻²⁴`.
#[inline]
pub fn uniform(r: &mut ChaCha8Rng) -> f32 {
    (r.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// The stream a fixed binarisation of rows draws from (`ae evaluate --binarize SEED`,
/// Python's `evaluate(binarize=SEED)`): [`binarize`] the rows in order from it, whole or
/// a part at a time, for the same values.
pub fn binarizing(seed: u64) -> ChaCha8Rng {
    rng(seed, Stream::Sample)
}

/// Binarise `values` in place, as for binarised MNIST: each value `x` becomes 1 with
/// probability `x` (`uniform < x`), else 0, one draw per value in order. Training's
/// `binarize` (every use of a row) and `ae evaluate --binarize` (once) both draw here.
#[inline]
pub fn binarize(values: &mut [f32], r: &mut ChaCha8Rng) {
    for v in values {
        *v = f32::from(uniform(r) < *v);
    }
}

/// Uniform in `[0, 1)` with 53 random bits.
#[inline]
pub fn uniform_f64(r: &mut ChaCha8Rng) -> f64 {
    (r.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// The generator's 32-bit words one [`normal`] takes: two [`uniform_f64`] of one u64
/// (two words) each.
pub const NORMAL_WORDS: u128 = 4;

/// Move `r` past `n` draws of [`normal`] without making them: where drawing them would
/// leave it (a process skipping the rows another one draws for).
pub fn skip_normals(r: &mut ChaCha8Rng, n: usize) {
    r.set_word_pos(r.get_word_pos() + n as u128 * NORMAL_WORDS);
}

/// Move `r` past `n` draws of [`uniform`] (one word each) without making them.
pub fn skip_uniforms(r: &mut ChaCha8Rng, n: usize) {
    r.set_word_pos(r.get_word_pos() + n as u128);
}

/// Standard normal by the Box–Muller transform (one value per call; the pair's second
/// value is discarded so the stream position depends only on the number of draws).
#[inline]
pub fn normal(r: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - uniform_f64(r); // (0, 1]
    let u2 = uniform_f64(r);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Uniform integer in `0..n` (Lemire's multiply-shift with rejection, unbiased).
#[inline]
pub fn below(r: &mut ChaCha8Rng, n: usize) -> usize {
    debug_assert!(n > 0 && n <= u32::MAX as usize);
    let n = n as u64;
    let threshold = (u32::MAX as u64 + 1 - n) % n;
    loop {
        let m = r.next_u32() as u64 * n;
        if (m & 0xffff_ffff) >= threshold {
            return (m >> 32) as usize;
        }
    }
}

/// Fisher–Yates shuffle of `v` using [`below`].
pub fn shuffle<T>(r: &mut ChaCha8Rng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = below(r, i + 1);
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binarize_draws_one_uniform_per_value() {
        let mut v = vec![0.0, 1.0, 0.5, 0.25, 0.75];
        let (mut a, mut b) = (rng(3, Stream::Sample), rng(3, Stream::Sample));
        binarize(&mut v, &mut a);
        let want: Vec<f32> =
            [0.0, 1.0, 0.5, 0.25, 0.75].iter().map(|&x| f32::from(uniform(&mut b) < x)).collect();
        assert_eq!(v, want);
        assert_eq!((v[0], v[1]), (0.0, 1.0));
    }

    #[test]
    fn skipping_draws_leaves_the_generator_where_drawing_them_does() {
        // Odd counts and starts, so that draws straddle the generator's blocks.
        for (start, n) in [(0, 1), (3, 7), (61, 129), (5, 1000)] {
            let (mut drawn, mut skipped) = (rng(9, Stream::Noise), rng(9, Stream::Noise));
            for _ in 0..start {
                drawn.next_u32();
                skipped.next_u32();
            }
            for _ in 0..n {
                normal(&mut drawn);
            }
            skip_normals(&mut skipped, n);
            assert_eq!(normal(&mut drawn), normal(&mut skipped), "{n} normals after {start} words");
            for _ in 0..n {
                uniform(&mut drawn);
            }
            skip_uniforms(&mut skipped, n);
            assert_eq!(uniform(&mut drawn), uniform(&mut skipped), "{n} uniforms after {start} words");
        }
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u32> = (0..4).map(|_| rng(7, Stream::Init).next_u32()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(rng(7, Stream::Init).next_u32(), rng(7, Stream::Shuffle).next_u32());
    }

    #[test]
    fn normal_has_unit_moments_and_shuffle_permutes() {
        let mut r = rng(1, Stream::Noise);
        let xs: Vec<f64> = (0..200_000).map(|_| normal(&mut r)).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02, "{mean} {var}");
        let mut v: Vec<usize> = (0..100).collect();
        shuffle(&mut r, &mut v);
        let mut s = v.clone();
        s.sort();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
        assert_ne!(v, s);
    }
}
