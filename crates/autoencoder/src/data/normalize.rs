//! Feature normalisers (none, min-max, z-score) and the fill of missing values: fitted
//! on the training rows only, stored in the model file, applied to every row the model
//! sees and inverted on output.

use std::str::FromStr;

use crate::error::{Error, Result};

/// Which normaliser to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalizeKind {
    /// Use the values as they are (IDX images are already scaled to [0, 1]).
    #[default]
    None,
    /// Per feature, `x′ = (x − min)/(max − min)` into [0, 1].
    #[serde(rename = "minmax")]
    MinMax,
    /// Per feature, `x′ = (x − mean)/std` (population std).
    #[serde(rename = "zscore")]
    ZScore,
}

impl std::fmt::Display for NormalizeKind {
    /// The name used in flags and files: `none`, `minmax`, `zscore`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NormalizeKind::None => "none",
            NormalizeKind::MinMax => "minmax",
            NormalizeKind::ZScore => "zscore",
        })
    }
}

impl FromStr for NormalizeKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "none" | "off" => Ok(NormalizeKind::None),
            "minmax" => Ok(NormalizeKind::MinMax),
            "zscore" | "standard" | "standardize" => Ok(NormalizeKind::ZScore),
            _ => Err(Error::config(
                "normalize",
                format!("unknown normaliser {s:?}; expected none, minmax or zscore"),
            )),
        }
    }
}

/// A fitted normaliser: `x′ = (x − offset)·scale` per feature, and back with
/// `x = x′/scale + offset`. Constant features get `scale = 1`, so they map to 0
/// instead of dividing by zero.
///
/// With a `fill` (a model trained with missing values, [`Missing::Mean`]), a missing
/// value (NaN) of feature `j` is first replaced by `fill[j]`, the mean of the feature's
/// values in the training rows: `x′ = (fill − offset)·scale`, which is 0 under z-score.
///
/// [`Missing::Mean`]: crate::data::columns::Missing::Mean
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Normalizer {
    /// What was fitted.
    pub kind: NormalizeKind,
    /// Per-feature offset (min or mean); empty for `None`.
    pub offset: Vec<f32>,
    /// Per-feature scale (1/(max−min) or 1/std); empty for `None`.
    pub scale: Vec<f32>,
    /// Per-feature value put in place of a missing one (NaN): the mean of the feature's
    /// values in the training rows; empty when the model takes no missing values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fill: Vec<f32>,
}

impl Normalizer {
    /// The identity.
    pub fn none() -> Self {
        Normalizer { kind: NormalizeKind::None, offset: Vec::new(), scale: Vec::new(), fill: Vec::new() }
    }

    /// Fit `kind` on `rows × cols` training values (statistics in f64, by [`Moments`]).
    pub fn fit(kind: NormalizeKind, data: &[f32], cols: usize) -> Self {
        let mut m = Moments::new(cols);
        m.push(data);
        m.normalizer(kind)
    }

    /// [`fit`](Self::fit) on training values where NaN marks a missing value: the
    /// statistics leave missing values out, and `fill` is each feature's mean over its
    /// values (f64, rounded once to f32). `names` (the features' names, when known)
    /// and `source` name a feature with no value in the training rows, which is an error.
    pub fn fit_with_fill(
        kind: NormalizeKind,
        data: &[f32],
        cols: usize,
        names: Option<&[String]>,
        source: &str,
    ) -> Result<Self> {
        let mut m = Moments::new(cols);
        m.push(data);
        m.normalizer_with_fill(kind, names, source)
    }

    /// Whether missing values (NaN) are filled: a model trained with missing values.
    pub fn fills_missing(&self) -> bool {
        !self.fill.is_empty()
    }

    /// Check the stored values, as a file holds them: as many offsets as scales, every
    /// offset finite, every scale a normal positive number (finite, > 0, not subnormal,
    /// so that `1/scale` is finite too). A min-max scale is `1/(max − min)` and a z-score
    /// scale `1/std`, so a scale of 0 or below stands for a range or a standard deviation
    /// that no data has. [`Normalizer::fit`] always passes; the message names the
    /// feature's index (from 0).
    pub fn check(&self) -> Result<()> {
        if let Some(j) = self.fill.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data(format!(
                "the normaliser's fill at feature index {j} is {}; expected a finite number",
                self.fill[j]
            )));
        }
        if self.kind == NormalizeKind::None {
            return Ok(());
        }
        if self.offset.len() != self.scale.len() {
            return Err(Error::Data(format!(
                "the normaliser has {} offsets and {} scales; expected one of each per feature",
                self.offset.len(),
                self.scale.len()
            )));
        }
        let (offset, scale) = match self.kind {
            NormalizeKind::ZScore => ("mean", "scale 1/std"),
            _ => ("minimum", "scale 1/(max − min)"),
        };
        for (j, (&o, &s)) in self.offset.iter().zip(&self.scale).enumerate() {
            if !o.is_finite() {
                return Err(Error::Data(format!(
                    "the normaliser's {offset} at feature index {j} is {o}; expected a finite number"
                )));
            }
            if !(s.is_normal() && s > 0.0) {
                return Err(Error::Data(format!(
                    "the normaliser's {scale} at feature index {j} is {s}; expected a finite number > 0"
                )));
            }
        }
        Ok(())
    }

    /// Whether this normaliser changes nothing (no scaling, no fill).
    pub fn is_identity(&self) -> bool {
        self.kind == NormalizeKind::None && self.fill.is_empty()
    }

    /// Check the normaliser fits rows of `cols` values.
    pub fn check_width(&self, cols: usize) -> Result<()> {
        if !self.fill.is_empty() && self.fill.len() != cols {
            return Err(Error::Data(format!(
                "the normaliser's fill has {} values, the data has {cols} features",
                self.fill.len()
            )));
        }
        if self.kind != NormalizeKind::None && (self.offset.len() != cols || self.scale.len() != cols) {
            return Err(Error::Data(format!(
                "the normaliser was fitted on {} features, the data has {cols}",
                self.offset.len()
            )));
        }
        Ok(())
    }

    /// `dst = normalise(src)` for whole rows (`src.len()` a multiple of the width).
    pub fn apply(&self, src: &[f32], dst: &mut [f32]) {
        dst.copy_from_slice(src);
        self.apply_in_place(dst);
    }

    /// Normalise rows in place (missing values filled first, when the normaliser fills).
    pub fn apply_in_place(&self, v: &mut [f32]) {
        if !self.fill.is_empty() {
            for row in v.chunks_exact_mut(self.fill.len()) {
                row.iter_mut().zip(&self.fill).filter(|(x, _)| x.is_nan()).for_each(|(x, &f)| *x = f);
            }
        }
        if self.kind == NormalizeKind::None {
            return;
        }
        crate::kernels::elementwise::shift_scale_in_place(v, &self.offset, &self.scale);
    }

    /// Undo the normalisation in place (a filled value stays the fill).
    pub fn invert_in_place(&self, v: &mut [f32]) {
        if self.kind == NormalizeKind::None {
            return;
        }
        crate::kernels::elementwise::unshift_unscale(v, &self.offset, &self.scale);
    }
}

/// Rows in a block of [`Moments`]: the statistics of one block are computed in two
/// passes over it, and the blocks are merged in order.
pub const MOMENTS_BLOCK: usize = 4096;

/// Each feature's count, mean, sum of squared deviations (f64) and range over rows
/// given in order, in one pass over them: the statistics a [`Normalizer`] is fitted
/// from, whether the rows are all in memory or streamed chunk by chunk.
///
/// The rows are taken in blocks of [`MOMENTS_BLOCK`], counted from the first row given:
/// a block's mean `m_b = Σx/n_b` and `M2_b = Σ(x − m_b)²` are exact two-pass sums over
/// its values (NaN left out), and the blocks are merged in order by Chan et al.'s rule
/// `δ = m_b − m`, `m ← m + δ·n_b/(n + n_b)`, `M2 ← M2 + M2_b + δ²·n·n_b/(n + n_b)`. The
/// result depends only on the sequence of rows, not on how it is cut into the slices
/// given to [`Moments::push`]: a file read in row groups fits the same bits as the file
/// read whole. (Up to one block, this is the plain two-pass mean and variance.)
#[derive(Debug, Clone)]
pub struct Moments {
    cols: usize,
    /// The rows of the block being filled.
    block: Vec<f32>,
    count: Vec<u64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
    lo: Vec<f32>,
    hi: Vec<f32>,
    /// Scratch: the block's per-feature sums (then means), counts and squared deviations.
    sum_b: Vec<f64>,
    count_b: Vec<u64>,
    m2_b: Vec<f64>,
    lo_b: Vec<f32>,
    hi_b: Vec<f32>,
    /// Scratch: a block's statistics as [`Moments::block_stats`] gives them.
    stats_b: Vec<f64>,
}

/// Values per feature in a block's statistics ([`Moments::block_stats`]).
pub(crate) const BLOCK_STATS: usize = 5;

impl Moments {
    /// No rows yet, of `cols` features.
    pub fn new(cols: usize) -> Self {
        Moments {
            cols,
            block: Vec::with_capacity(MOMENTS_BLOCK * cols),
            count: vec![0; cols],
            mean: vec![0.0; cols],
            m2: vec![0.0; cols],
            lo: vec![f32::INFINITY; cols],
            hi: vec![f32::NEG_INFINITY; cols],
            sum_b: vec![0.0; cols],
            count_b: vec![0; cols],
            m2_b: vec![0.0; cols],
            lo_b: vec![f32::INFINITY; cols],
            hi_b: vec![f32::NEG_INFINITY; cols],
            stats_b: Vec::with_capacity(BLOCK_STATS * cols),
        }
    }

    /// Take the next rows (row-major, a whole number of rows).
    pub fn push(&mut self, mut rows: &[f32]) {
        let c = self.cols;
        if c == 0 {
            return;
        }
        while !rows.is_empty() {
            let take = (MOMENTS_BLOCK * c - self.block.len()).min(rows.len());
            self.block.extend_from_slice(&rows[..take]);
            rows = &rows[take..];
            if self.block.len() == MOMENTS_BLOCK * c {
                self.merge_block();
            }
        }
    }

    fn merge_block(&mut self) {
        let c = self.cols;
        if self.block.is_empty() || c == 0 {
            return;
        }
        let (mut block, mut stats) = (std::mem::take(&mut self.block), std::mem::take(&mut self.stats_b));
        stats.clear();
        self.block_stats(&block, &mut stats);
        block.clear();
        self.block = block;
        self.merge_stats(&stats);
        self.stats_b = stats;
    }

    /// The statistics of one block of whole rows (at most [`MOMENTS_BLOCK`]) appended to
    /// `out`: [`BLOCK_STATS`] values per feature — count, mean, sum of squared
    /// deviations, least and greatest value (`f64`, each exact) — what
    /// [`Moments::merge_stats`] merges. Processes that hold different blocks of the
    /// rows exchange these, and merging them in block order gives the bits of one
    /// process given every row.
    pub(crate) fn block_stats(&mut self, block: &[f32], out: &mut Vec<f64>) {
        let c = self.cols;
        if c == 0 {
            return;
        }
        self.sum_b.iter_mut().for_each(|s| *s = 0.0);
        self.count_b.iter_mut().for_each(|n| *n = 0);
        self.lo_b.iter_mut().for_each(|l| *l = f32::INFINITY);
        self.hi_b.iter_mut().for_each(|h| *h = f32::NEG_INFINITY);
        for row in block.chunks_exact(c) {
            for (j, &v) in row.iter().enumerate() {
                if !v.is_nan() {
                    self.sum_b[j] += v as f64;
                    self.count_b[j] += 1;
                    self.lo_b[j] = self.lo_b[j].min(v);
                    self.hi_b[j] = self.hi_b[j].max(v);
                }
            }
        }
        // The block's means into `sum_b`, then its squared deviations into `m2_b`, each
        // feature's sums in row order.
        for (s, &nb) in self.sum_b.iter_mut().zip(&self.count_b) {
            *s /= nb.max(1) as f64;
        }
        self.m2_b.iter_mut().for_each(|q| *q = 0.0);
        for row in block.chunks_exact(c) {
            for ((q, &v), &mb) in self.m2_b.iter_mut().zip(row).zip(&self.sum_b) {
                if !v.is_nan() {
                    *q += (v as f64 - mb).powi(2);
                }
            }
        }
        for j in 0..c {
            let (lo, hi) = (f64::from(self.lo_b[j]), f64::from(self.hi_b[j]));
            out.extend_from_slice(&[self.count_b[j] as f64, self.sum_b[j], self.m2_b[j], lo, hi]);
        }
    }

    /// Merge the next block's statistics ([`Moments::block_stats`]) into the totals, by
    /// Chan et al.'s rule. Only between whole blocks: no rows may be waiting.
    pub(crate) fn merge_stats(&mut self, stats: &[f64]) {
        debug_assert!(self.block.is_empty() && stats.len() == BLOCK_STATS * self.cols);
        for (j, s) in stats.chunks_exact(BLOCK_STATS).enumerate() {
            let (nb, mb, m2b) = (s[0] as u64, s[1], s[2]);
            if nb == 0 {
                continue;
            }
            self.lo[j] = self.lo[j].min(s[3] as f32);
            self.hi[j] = self.hi[j].max(s[4] as f32);
            let n = self.count[j];
            if n == 0 {
                self.mean[j] = mb;
                self.m2[j] = m2b;
            } else {
                let total = (n + nb) as f64;
                let delta = mb - self.mean[j];
                self.mean[j] += delta * (nb as f64 / total);
                self.m2[j] += m2b + delta * delta * (n as f64 * nb as f64 / total);
            }
            self.count[j] = n + nb;
        }
    }

    /// Each feature's mean (over its values that are not NaN) and how many there were.
    pub fn means(&mut self) -> (Vec<f64>, Vec<u64>) {
        self.merge_block();
        (self.mean.clone(), self.count.clone())
    }

    /// The normaliser of `kind` these rows give.
    pub fn normalizer(&mut self, kind: NormalizeKind) -> Normalizer {
        self.merge_block();
        match kind {
            NormalizeKind::None => Normalizer::none(),
            NormalizeKind::MinMax => {
                let (mut lo, mut hi) = (self.lo.clone(), self.hi.clone());
                // A feature with no value (every one missing) has no range.
                lo.iter_mut().zip(hi.iter_mut()).filter(|(l, _)| l.is_infinite()).for_each(|(l, h)| {
                    *l = 0.0;
                    *h = 0.0;
                });
                let scale = lo
                    .iter()
                    .zip(&hi)
                    .map(|(&l, &h)| if h > l { usable_scale(1.0 / (h - l)) } else { 1.0 })
                    .collect();
                Normalizer { kind, offset: lo, scale, fill: Vec::new() }
            }
            NormalizeKind::ZScore => {
                let scale = self
                    .m2
                    .iter()
                    .zip(&self.count)
                    .map(|(q, &n)| {
                        let sd = (q / n.max(1) as f64).sqrt();
                        if sd > 1e-12 {
                            usable_scale((1.0 / sd) as f32)
                        } else {
                            1.0
                        }
                    })
                    .collect();
                Normalizer {
                    kind,
                    offset: self.mean.iter().map(|&m| m as f32).collect(),
                    scale,
                    fill: Vec::new(),
                }
            }
        }
    }

    /// [`Moments::normalizer_with_fill`] when NaN marks a missing value (`missing`), else
    /// [`Moments::normalizer`].
    pub(crate) fn fitted(
        &mut self,
        kind: NormalizeKind,
        missing: bool,
        names: Option<&[String]>,
        source: &str,
    ) -> Result<Normalizer> {
        if missing {
            self.normalizer_with_fill(kind, names, source)
        } else {
            Ok(self.normalizer(kind))
        }
    }

    /// [`Moments::normalizer`] with each feature's mean as the fill of missing values
    /// (see [`Normalizer::fit_with_fill`]).
    pub fn normalizer_with_fill(
        &mut self,
        kind: NormalizeKind,
        names: Option<&[String]>,
        source: &str,
    ) -> Result<Normalizer> {
        let mut n = self.normalizer(kind);
        if let Some(j) = self.count.iter().position(|&c| c == 0) {
            let name = names.and_then(|n| n.get(j)).map(|n| format!(" (\"{n}\")")).unwrap_or_default();
            return Err(Error::Data(format!(
                "{source}: feature {}{name} has no value in the training rows (every one is missing); leave the column out",
                j + 1
            )));
        }
        n.fill = self.mean.iter().map(|&m| m as f32).collect();
        Ok(n)
    }
}

/// A fitted scale that [`Normalizer::check`] accepts: `1/range` overflows to infinity
/// for a range below about 3·10⁻³⁹ (treated as a constant feature, scale 1) and is 0 or
/// subnormal for a range above about 8·10³⁷ (raised to the smallest normal number).
/// Every other scale is kept bit for bit.
fn usable_scale(s: f32) -> f32 {
    if s.is_infinite() || s.is_nan() {
        1.0
    } else {
        s.max(f32::MIN_POSITIVE)
    }
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minmax_maps_the_training_range_to_unit_and_inverts() {
        let data = [0.0, 10.0, 5.0, 10.0, 10.0, 10.0]; // column 2 constant
        let n = Normalizer::fit(NormalizeKind::MinMax, &data, 2);
        let mut out = [0.0; 6];
        n.apply(&data, &mut out);
        assert_eq!(out, [0.0, 0.0, 0.5, 0.0, 1.0, 0.0]);
        n.invert_in_place(&mut out);
        assert_eq!(out, data);
    }

    /// Stored scales of 0, below 0, NaN or infinity (as an edited model file may hold)
    /// are refused naming the feature; what `fit` gives, even for extreme ranges, passes.
    #[test]
    fn check_refuses_impossible_scales_and_fit_never_makes_one() {
        for kind in [NormalizeKind::MinMax, NormalizeKind::ZScore] {
            let good = Normalizer { kind, offset: vec![0.0, 1.0], scale: vec![1.0, 2.0], fill: vec![] };
            assert!(good.check().is_ok());
            for bad in [0.0, -1.0, f32::NAN, f32::INFINITY, 1e-40] {
                let n = Normalizer { kind, offset: vec![0.0, 1.0], scale: vec![1.0, bad], fill: vec![] };
                let e = n.check().unwrap_err().to_string();
                assert!(e.contains("feature index 1"), "{e}");
            }
            let n = Normalizer { kind, offset: vec![f32::NAN, 1.0], scale: vec![1.0, 2.0], fill: vec![] };
            assert!(n.check().unwrap_err().to_string().contains("feature index 0"));
            let n = Normalizer { kind, offset: vec![0.0], scale: vec![1.0, 2.0], fill: vec![] };
            assert!(n.check().is_err());
            // Ranges too small or too large for 1/range in f32.
            let data = [0.0, -3e38, 1e-45, 3e38];
            assert!(Normalizer::fit(kind, &data, 2).check().is_ok());
        }
    }

    /// The statistics leave missing values (NaN) out; the fill is the mean of the values
    /// present, put in place of a missing one before scaling; a feature with no value
    /// is named.
    #[test]
    fn missing_values_are_left_out_of_the_statistics_and_filled_with_the_mean() {
        let nan = f32::NAN;
        let data = [1.0, 10.0, nan, 20.0, 4.0, nan, 7.0, 60.0];
        let z = Normalizer::fit_with_fill(NormalizeKind::ZScore, &data, 2, None, "t").unwrap();
        assert_eq!(z.fill, vec![4.0, 30.0]);
        assert_eq!(z.offset, z.fill);
        // Population std of (1, 4, 7) is √6; of (10, 20, 60) it is √(1400/3).
        assert_eq!(z.scale, vec![(1.0 / 6f64.sqrt()) as f32, (1.0 / (1400.0f64 / 3.0).sqrt()) as f32]);
        let mut v = [nan, nan, 7.0, 60.0];
        z.apply_in_place(&mut v);
        assert_eq!(&v[..2], &[0.0, 0.0]);
        assert_eq!(&v[2..], &[(3.0 * z.scale[0]), (30.0 * z.scale[1])]);
        let m = Normalizer::fit_with_fill(NormalizeKind::MinMax, &data, 2, None, "t").unwrap();
        assert_eq!((m.offset.clone(), m.fill.clone()), (vec![1.0, 10.0], vec![4.0, 30.0]));
        let plain = Normalizer::fit_with_fill(NormalizeKind::None, &data, 2, None, "t").unwrap();
        assert!(!plain.is_identity());
        let mut v = [nan, 5.0];
        plain.apply_in_place(&mut v);
        assert_eq!(v, [4.0, 5.0]);
        // Without missing values, the fitted statistics are those of `fit`.
        let full = [1.0, 2.0, 3.0, 5.0];
        let f = Normalizer::fit_with_fill(NormalizeKind::ZScore, &full, 2, None, "t").unwrap();
        assert_eq!((f.offset.clone(), f.scale.clone()), {
            let g = Normalizer::fit(NormalizeKind::ZScore, &full, 2);
            (g.offset, g.scale)
        });
        let names = ["a".to_string(), "b".to_string()];
        let e = Normalizer::fit_with_fill(NormalizeKind::ZScore, &[1.0, nan], 2, Some(&names), "t.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv: feature 2 (\"b\") has no value"), "{e}");
        let bad = Normalizer { fill: vec![nan, 0.0], ..f };
        assert!(bad.check().unwrap_err().to_string().contains("fill at feature index 0"));
    }

    /// One pass over rows cut into slices of any size fits the bits of the rows given
    /// whole; up to one block, the plain two-pass mean and variance; over many blocks,
    /// as close to them as their f32 rounding shows (values far off 0: an offset of 10⁶).
    #[test]
    fn moments_do_not_depend_on_how_the_rows_are_cut() {
        let rows = 3 * MOMENTS_BLOCK + 123;
        let mut x = 0x853c_49e6_748f_ea9b_u64;
        let data: Vec<f32> = (0..rows * 3)
            .map(|i| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let u = (x >> 40) as f32 / 16_777_216.0;
                match i % 3 {
                    0 => 1e6 + u,
                    1 if i % 7 == 0 => f32::NAN,
                    _ => u * 10.0 - 5.0,
                }
            })
            .collect();
        let fit = |cuts: &[usize]| {
            let mut m = Moments::new(3);
            let mut at = 0;
            for &c in cuts.iter().chain([&rows]) {
                m.push(&data[at * 3..c * 3]);
                at = c;
            }
            m.normalizer_with_fill(NormalizeKind::ZScore, None, "x").unwrap()
        };
        let whole = fit(&[]);
        assert_eq!(fit(&[1, 2, 4095, 4097, 9000, 12000]), whole);
        assert_eq!(Normalizer::fit_with_fill(NormalizeKind::ZScore, &data, 3, None, "x").unwrap(), whole);
        // The plain two-pass statistics, in f64.
        for j in 0..3 {
            let v: Vec<f64> =
                data.iter().skip(j).step_by(3).filter(|v| !v.is_nan()).map(|&v| v as f64).collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            // The mean rounded to f32, to within one step of f32 there.
            let step = (mean as f32).abs().max(1.0) * f32::EPSILON;
            assert!((whole.offset[j] - mean as f32).abs() <= step, "{j}");
            assert!(((1.0 / whole.scale[j] as f64) - sd).abs() <= 1e-6 * sd, "{j}");
            assert_eq!(whole.fill[j], whole.offset[j]);
            // Up to one block, the two-pass statistics themselves.
            let block = &data[..MOMENTS_BLOCK * 3];
            let one = Normalizer::fit(NormalizeKind::ZScore, block, 3);
            let v: Vec<f64> =
                block.iter().skip(j).step_by(3).filter(|v| !v.is_nan()).map(|&v| v as f64).collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            assert_eq!((one.offset[j], one.scale[j]), (mean as f32, (1.0 / sd) as f32), "{j}");
        }
    }

    #[test]
    fn zscore_gives_zero_mean_unit_variance() {
        let data = [1.0, 2.0, 3.0, 4.0];
        let n = Normalizer::fit(NormalizeKind::ZScore, &data, 1);
        let mut v = data;
        n.apply_in_place(&mut v);
        let mean: f32 = v.iter().sum::<f32>() / 4.0;
        let var: f32 = v.iter().map(|x| x * x).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5);
    }
}
