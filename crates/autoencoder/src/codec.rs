//! The code quantiser and its entropy model: codes `z` become `bits`-bit symbols per
//! dimension (uniform bins over a range fitted on training codes), and symbols become bytes
//! with a range coder (the `constriction` crate) under a per-dimension categorical model
//! learnt from the same training codes. The range coder (`Codec::encode`,
//! `Codec::decode`) needs the `compress` feature; the quantiser does not.
//!
//! For code dimension `j` with fitted range `[loⱼ, hiⱼ]` and `L = 2^bits` levels, the bin
//! width is `Δⱼ = (hiⱼ − loⱼ) / L` and
//!
//! * symbol:          `q = clamp(⌊(z − loⱼ) / Δⱼ⌋, 0, L − 1)`
//! * reconstruction:  `ẑ = loⱼ + (q + ½)·Δⱼ` (the bin's centre)
//!
//! so `|z − ẑ| ≤ Δⱼ/2` inside the range. The range is the 0.1 % and 99.9 % quantiles of
//! the training codes (values outside are clamped to the end bins).
//!
//! The entropy model is a histogram of the training codes at the finest resolution,
//! `2^MAX_BITS` bins per dimension; the bins of any coarser `bits` are unions of fine bins
//! (`q = f >> (MAX_BITS − bits)`), so one histogram serves every rate. Its counts `c_q`
//! (of `N` training codes) become fixed-point probabilities out of `2^24`, computed in
//! integers so that every platform builds the same model:
//! `p_q = 1 + ⌊(2^24 − L)·(2c_q + 1) / (2N + L)⌋`, the remainder going to the most
//! frequent symbol. Every symbol keeps a non-zero probability, so codes never seen in
//! training still encode (at a cost of up to 24 bits).

#[cfg(feature = "compress")]
use constriction::stream::model::DefaultContiguousCategoricalEntropyModel;
#[cfg(feature = "compress")]
use constriction::stream::queue::{DefaultRangeDecoder, DefaultRangeEncoder};
#[cfg(feature = "compress")]
use constriction::stream::{Decode, Encode};

use crate::error::{Error, Result};

/// The finest quantisation the histogram supports, and so the largest `bits`.
pub const MAX_BITS: u32 = 10;

/// Fine histogram bins per dimension, `2^MAX_BITS`.
pub const FINE_BINS: usize = 1 << MAX_BITS;

/// The widest code a codec is fitted for: 4,096 dimensions, a histogram of
/// `4096 × FINE_BINS × 4` bytes = 16 MiB. The histogram grows with the code width
/// (`--layers …,300000` would need 1.2 GB and make a model file no reader accepts), so
/// a wider code gets no codec: such a model trains, reconstructs and scores, but
/// cannot be compressed ([`Codec::supports`]).
pub const MAX_DIMS: usize = 4096;

/// The quantile of the training codes taken as each dimension's lower end (and `1 − q`
/// as its upper end).
pub const RANGE_QUANTILE: f64 = 0.001;

/// Fixed-point precision of the entropy model's probabilities (constriction's default).
const PRECISION: u32 = 24;

/// A fitted code quantiser and entropy model (saved in the model file).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Codec {
    /// Lower end of each dimension's range.
    pub lo: Vec<f32>,
    /// Upper end of each dimension's range (`> lo`).
    pub hi: Vec<f32>,
    /// Training codes per fine bin, `dims × FINE_BINS` row-major (kept in the model file's
    /// `codec.histogram` tensor, not in this JSON).
    #[serde(skip)]
    pub histogram: Vec<u32>,
}

/// The entropy models of one rate, one per code dimension.
#[cfg(feature = "compress")]
type Models = Vec<DefaultContiguousCategoricalEntropyModel>;

impl Codec {
    /// Whether a code of `dims` dimensions gets a codec: `1 ≤ dims ≤` [`MAX_DIMS`].
    pub fn supports(dims: usize) -> bool {
        (1..=MAX_DIMS).contains(&dims)
    }

    /// The bytes of the histogram of a `dims`-dimensional code, `dims × FINE_BINS × 4`
    /// (`None` on overflow).
    pub fn histogram_bytes(dims: usize) -> Option<u64> {
        (dims as u64).checked_mul(FINE_BINS as u64 * 4)
    }

    /// Why a model with a code of `dims` dimensions has no codec, for messages: one
    /// sentence naming the limit (for any `dims` above [`MAX_DIMS`]).
    pub fn unsupported_reason(dims: usize) -> String {
        format!(
            "its code has {dims} dimensions, more than the {MAX_DIMS} a codec is fitted for \
             (its histogram would take {} MiB), so no code statistics were kept",
            Codec::histogram_bytes(dims).map_or(u64::MAX, |b| b.div_ceil(1 << 20))
        )
    }

    /// Fit ranges and the histogram to `codes` (`rows × dims`, row-major, finite).
    /// Codes wider than [`MAX_DIMS`] are refused (see [`Codec::supports`]).
    pub fn fit(codes: &[f32], dims: usize) -> Result<Codec> {
        if dims > MAX_DIMS {
            return Err(Error::Data(format!("codec: {}", Codec::unsupported_reason(dims))));
        }
        if dims == 0 || codes.is_empty() || !codes.len().is_multiple_of(dims) {
            return Err(Error::Data(format!(
                "codec: {} code values are not a whole, non-zero number of rows of {dims}",
                codes.len()
            )));
        }
        Codec::check_finite(codes, 0)?;
        let rows = codes.len() / dims;
        let (r_lo, r_hi) = Codec::end_ranks(rows);
        let mut ends = Vec::with_capacity(dims);
        let mut column = Vec::with_capacity(rows);
        for j in 0..dims {
            column.clear();
            column.extend(codes.iter().skip(j).step_by(dims).copied());
            // The two order statistics, by selection (no sort): the one of rank `r_hi`
            // is the least of those after rank `r_lo` with `r_hi − r_lo − 1` before it.
            let (_, &mut lo, above) = column.select_nth_unstable_by(r_lo, f32::total_cmp);
            let hi = if r_hi > r_lo {
                *above.select_nth_unstable_by(r_hi - r_lo - 1, f32::total_cmp).1
            } else {
                lo
            };
            ends.push((lo, hi));
        }
        let mut codec = Codec::with_ends(&ends);
        codec.count(codes);
        Ok(codec)
    }

    /// Codes a codec is fitted on are finite: an error naming the first that is not (its
    /// index counted from `before`).
    pub(crate) fn check_finite(codes: &[f32], before: u64) -> Result<()> {
        match codes.iter().position(|v| !v.is_finite()) {
            Some(i) => Err(Error::Data(format!(
                "codec: code value {} is {} (the model produces non-finite codes)",
                before + i as u64,
                codes[i]
            ))),
            None => Ok(()),
        }
    }

    /// The ranks (from 0, in ascending order) of a dimension's lower and upper ends
    /// among `rows ≥ 1` code values: its `RANGE_QUANTILE` and `1 − RANGE_QUANTILE`
    /// quantiles, rounded to the nearest rank.
    pub(crate) fn end_ranks(rows: usize) -> (usize, usize) {
        let at = |q: f64| ((q * (rows - 1) as f64).round() as usize).min(rows - 1);
        (at(RANGE_QUANTILE), at(1.0 - RANGE_QUANTILE))
    }

    /// A codec with these per-dimension ends (a (nearly) constant dimension gets a small
    /// range around its value) and an empty histogram, for [`Codec::count`].
    pub(crate) fn with_ends(ends: &[(f32, f32)]) -> Codec {
        let (mut lo, mut hi) = (Vec::with_capacity(ends.len()), Vec::with_capacity(ends.len()));
        for &(mut a, mut b) in ends {
            if b <= a {
                let pad = a.abs().max(1.0) * 1e-3;
                a -= pad;
                b += pad;
            }
            lo.push(a);
            hi.push(b);
        }
        Codec { lo, hi, histogram: vec![0; ends.len() * FINE_BINS] }
    }

    /// Add `codes` (whole rows) to the histogram.
    pub(crate) fn count(&mut self, codes: &[f32]) {
        let dims = self.dims();
        for row in codes.chunks_exact(dims) {
            for (j, &z) in row.iter().enumerate() {
                let f = self.symbol(j, z, MAX_BITS) as usize;
                self.histogram[j * FINE_BINS + f] = self.histogram[j * FINE_BINS + f].saturating_add(1);
            }
        }
    }

    /// The code size.
    pub fn dims(&self) -> usize {
        self.lo.len()
    }

    /// Check the invariants (after reading a file): equal lengths, finite `lo < hi`, a
    /// histogram of `dims × FINE_BINS`.
    pub fn check(&self, code_dim: usize) -> Result<()> {
        let bad = |m: String| Err(Error::Data(format!("codec: {m}")));
        if self.lo.len() != code_dim || self.hi.len() != code_dim {
            return bad(format!(
                "{} lower and {} upper ends for a code of {code_dim}",
                self.lo.len(),
                self.hi.len()
            ));
        }
        if self.histogram.len() != code_dim * FINE_BINS {
            return bad(format!(
                "the histogram has {} counts, expected {code_dim} × {FINE_BINS}",
                self.histogram.len()
            ));
        }
        for (j, (&a, &b)) in self.lo.iter().zip(&self.hi).enumerate() {
            if !(a.is_finite() && b.is_finite() && a < b) {
                return bad(format!("dimension {j} has the range [{a}, {b}]"));
            }
        }
        Ok(())
    }

    fn check_bits(bits: u32) -> Result<()> {
        if !(1..=MAX_BITS).contains(&bits) {
            return Err(Error::config(
                "bits",
                format!("{bits}: expected 1 to {MAX_BITS} bits per dimension"),
            ));
        }
        Ok(())
    }

    /// The `bits`-bit symbol of value `z` in dimension `j`.
    fn symbol(&self, j: usize, z: f32, bits: u32) -> u32 {
        let (lo, hi) = (f64::from(self.lo[j]), f64::from(self.hi[j]));
        let levels = (1u32 << bits) as f64;
        let t = ((f64::from(z) - lo) / (hi - lo) * levels).floor();
        // NaN and values below the range go to 0; above it, to the last level.
        if t >= levels - 1.0 {
            (1 << bits) - 1
        } else if t >= 0.0 {
            t as u32
        } else {
            0
        }
    }

    /// Symbols of `codes` (`rows × dims`) at `bits` bits per dimension.
    pub fn quantize(&self, codes: &[f32], bits: u32) -> Result<Vec<u32>> {
        Codec::check_bits(bits)?;
        self.check_len(codes.len(), "codes")?;
        let d = self.dims();
        Ok(codes.iter().enumerate().map(|(i, &z)| self.symbol(i % d, z, bits)).collect())
    }

    /// The bin centres of `symbols` (`rows × dims`) at `bits` bits per dimension.
    pub fn dequantize(&self, symbols: &[u32], bits: u32) -> Result<Vec<f32>> {
        Codec::check_bits(bits)?;
        self.check_len(symbols.len(), "symbols")?;
        let d = self.dims();
        let levels = (1u32 << bits) as f64;
        symbols
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                if q >= 1 << bits {
                    return Err(Error::Data(format!("codec: symbol {q} is not below 2^{bits}")));
                }
                let (lo, hi) = (f64::from(self.lo[i % d]), f64::from(self.hi[i % d]));
                Ok((lo + (f64::from(q) + 0.5) * (hi - lo) / levels) as f32)
            })
            .collect()
    }

    /// `codes` quantised and back: what a decoder sees after compression.
    pub fn round_trip(&self, codes: &[f32], bits: u32) -> Result<Vec<f32>> {
        self.dequantize(&self.quantize(codes, bits)?, bits)
    }

    fn check_len(&self, len: usize, what: &str) -> Result<()> {
        if !len.is_multiple_of(self.dims().max(1)) {
            return Err(Error::Data(format!(
                "codec: {len} {what} are not a whole number of rows of {}",
                self.dims()
            )));
        }
        Ok(())
    }

    /// The fixed-point probabilities (summing to `2^24`) of dimension `j` at `bits`.
    pub fn probabilities(&self, j: usize, bits: u32) -> Vec<u32> {
        let levels = 1usize << bits;
        let per = FINE_BINS / levels;
        let fine = &self.histogram[j * FINE_BINS..(j + 1) * FINE_BINS];
        let counts: Vec<u64> =
            fine.chunks_exact(per).map(|c| c.iter().map(|&v| u64::from(v)).sum()).collect();
        let n: u64 = counts.iter().sum();
        let total = 1u64 << PRECISION;
        let spread = total - levels as u64;
        let denominator = 2 * n + levels as u64;
        let mut p: Vec<u64> = counts.iter().map(|&c| 1 + spread * (2 * c + 1) / denominator).collect();
        let assigned: u64 = p.iter().sum();
        // Σ⌊·⌋ ≤ spread, so the remainder is non-negative; the first most frequent symbol takes it.
        let top =
            counts.iter().enumerate().max_by_key(|&(i, &c)| (c, std::cmp::Reverse(i))).map_or(0, |t| t.0);
        p[top] += total - assigned;
        p.into_iter().map(|v| v as u32).collect()
    }

    #[cfg(feature = "compress")]
    fn models(&self, bits: u32) -> Result<Models> {
        (0..self.dims())
            .map(|j| {
                DefaultContiguousCategoricalEntropyModel::from_nonzero_fixed_point_probabilities(
                    self.probabilities(j, bits),
                    false,
                )
                .map_err(|()| Error::Data(format!("codec: invalid probabilities for dimension {j}")))
            })
            .collect()
    }

    /// Range-code `symbols` (`rows × dims`, each below `2^bits`): the coder's 32-bit words
    /// as little-endian bytes. (Feature `compress`.)
    #[cfg(feature = "compress")]
    pub fn encode(&self, symbols: &[u32], bits: u32) -> Result<Vec<u8>> {
        Codec::check_bits(bits)?;
        self.check_len(symbols.len(), "symbols")?;
        let models = self.models(bits)?;
        let mut encoder = DefaultRangeEncoder::new();
        for (i, &q) in symbols.iter().enumerate() {
            encoder
                .encode_symbol(q as usize, &models[i % models.len()])
                .map_err(|e| Error::Data(format!("codec: symbol {q} could not be encoded: {e:?}")))?;
        }
        let words = encoder.into_compressed().map_err(|e| Error::Data(format!("codec: {e:?}")))?;
        Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect())
    }

    /// Decode `rows` rows of symbols at `bits` from bytes written by [`encode`](Self::encode).
    /// (Feature `compress`.)
    #[cfg(feature = "compress")]
    pub fn decode(&self, bytes: &[u8], rows: usize, bits: u32) -> Result<Vec<u32>> {
        Codec::check_bits(bits)?;
        if !bytes.len().is_multiple_of(4) {
            return Err(Error::Data(format!(
                "codec: {} payload bytes are not a whole number of 32-bit words",
                bytes.len()
            )));
        }
        let models = self.models(bits)?;
        let words: Vec<u32> =
            bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let mut decoder = DefaultRangeDecoder::from_compressed(words)
            .map_err(|e| Error::Data(format!("codec: the payload is invalid ({e:?})")))?;
        let n = rows.checked_mul(self.dims()).ok_or_else(|| Error::Data("codec: too many rows".into()))?;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let q = decoder
                .decode_symbol(&models[i % models.len()])
                .map_err(|e| Error::Data(format!("codec: the payload is invalid ({e:?})")))?;
            out.push(q as u32);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(rows: usize, dims: usize) -> Vec<f32> {
        let mut rng = crate::random::rng(5, crate::random::Stream::Sample);
        (0..rows * dims).map(|i| crate::random::normal(&mut rng) as f32 * (1.0 + (i % dims) as f32)).collect()
    }

    #[test]
    fn quantisation_error_is_at_most_half_a_bin_inside_the_range() {
        let z = codes(2000, 3);
        let c = Codec::fit(&z, 3).unwrap();
        for bits in [1, 3, 8, MAX_BITS] {
            let back = c.round_trip(&z, bits).unwrap();
            for (i, (&a, &b)) in z.iter().zip(&back).enumerate() {
                let j = i % 3;
                let step = (c.hi[j] - c.lo[j]) / (1u32 << bits) as f32;
                if a >= c.lo[j] && a <= c.hi[j] {
                    // Half a bin, plus the f32 rounding of the centre.
                    assert!(
                        (a - b).abs() <= step * 0.5 + 2.0 * f32::EPSILON * a.abs().max(1.0),
                        "bits {bits}: {a} → {b}, step {step}"
                    );
                } else {
                    assert!(b > c.lo[j] && b < c.hi[j]);
                }
            }
        }
    }

    #[test]
    fn symbols_nest_across_rates() {
        let z = codes(500, 2);
        let c = Codec::fit(&z, 2).unwrap();
        let fine = c.quantize(&z, MAX_BITS).unwrap();
        for bits in 1..MAX_BITS {
            let coarse = c.quantize(&z, bits).unwrap();
            let nested = fine.iter().zip(&coarse).filter(|(&f, &q)| f >> (MAX_BITS - bits) == q).count();
            // Exact arithmetic nests them; floating point may move a value on a boundary.
            assert!(nested + 2 >= z.len(), "bits {bits}: {nested} of {}", z.len());
        }
    }

    #[test]
    fn probabilities_are_positive_and_sum_to_the_precision() {
        let z = codes(3000, 2);
        let c = Codec::fit(&z, 2).unwrap();
        for bits in 1..=MAX_BITS {
            for j in 0..2 {
                let p = c.probabilities(j, bits);
                assert_eq!(p.len(), 1 << bits);
                assert!(p.iter().all(|&v| v > 0));
                assert_eq!(p.iter().map(|&v| u64::from(v)).sum::<u64>(), 1 << PRECISION);
            }
        }
    }

    #[test]
    #[cfg(feature = "compress")]
    fn range_coding_round_trips_and_costs_about_the_entropy() {
        let z = codes(4000, 4);
        let c = Codec::fit(&z, 4).unwrap();
        for bits in [1, 4, 6, MAX_BITS] {
            let q = c.quantize(&z, bits).unwrap();
            let bytes = c.encode(&q, bits).unwrap();
            assert_eq!(c.decode(&bytes, 4000, bits).unwrap(), q);
            // The empirical entropy of the symbols under the model is a lower bound; the
            // coder stays within 1 % + a few words of it.
            let mut ideal = 0.0f64;
            for (i, &s) in q.iter().enumerate() {
                let p = c.probabilities(i % 4, bits)[s as usize];
                ideal -= (f64::from(p) / f64::from(1u32 << PRECISION)).log2();
            }
            let got = bytes.len() as f64 * 8.0;
            assert!(got <= ideal * 1.01 + 96.0, "bits {bits}: {got} bits for an ideal {ideal:.0}");
            assert!(got >= ideal - 64.0);
        }
    }

    #[test]
    #[cfg(feature = "compress")]
    fn unseen_and_out_of_range_codes_still_encode() {
        let z = codes(200, 2);
        let c = Codec::fit(&z, 2).unwrap();
        let odd = [1e6f32, -1e6, f32::MAX, 0.0];
        let q = c.quantize(&odd, 5).unwrap();
        assert_eq!(q, [31, 0, 31, c.symbol(1, 0.0, 5)]);
        let bytes = c.encode(&q, 5).unwrap();
        assert_eq!(c.decode(&bytes, 2, 5).unwrap(), q);
    }

    /// The histogram is proportionate: a code up to `MAX_DIMS` gets one of at most
    /// 16 MiB; a wider one is refused before anything is allocated, with a short message
    /// naming the limit.
    #[test]
    fn wide_codes_get_no_codec() {
        assert!(Codec::supports(1) && Codec::supports(MAX_DIMS));
        assert!(!Codec::supports(0) && !Codec::supports(MAX_DIMS + 1));
        assert_eq!(Codec::histogram_bytes(MAX_DIMS), Some(16 << 20));
        assert_eq!(Codec::histogram_bytes(usize::MAX), None);
        // Not a whole row of codes: refused for the width, before the length is looked at.
        let e = Codec::fit(&[0.0; 4], MAX_DIMS + 1).unwrap_err().to_string();
        assert!(e.contains(&MAX_DIMS.to_string()) && e.contains("4097 dimensions"), "{e}");
        assert!(e.len() < 200, "{e}");
        let e = Codec::fit(&[0.0; 4], usize::MAX).unwrap_err().to_string();
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(Codec::fit(&[], 3).is_err());
        assert!(Codec::fit(&[1.0, 2.0], 3).is_err());
        assert!(Codec::fit(&[1.0, f32::NAN, 2.0], 1).is_err());
        let c = Codec::fit(&codes(100, 2), 2).unwrap();
        assert!(c.quantize(&[0.0, 1.0], 0).is_err());
        assert!(c.quantize(&[0.0, 1.0], MAX_BITS + 1).is_err());
        assert!(c.dequantize(&[4, 0], 2).is_err());
        #[cfg(feature = "compress")]
        assert!(c.decode(&[1, 2, 3], 1, 4).is_err());
        // Constant dimensions get a small range rather than an empty one.
        let k = Codec::fit(&[2.0; 10], 1).unwrap();
        assert!(k.lo[0] < 2.0 && k.hi[0] > 2.0);
        k.check(1).unwrap();
    }
}
