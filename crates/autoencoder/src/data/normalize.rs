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

    /// Fit `kind` on `rows × cols` training values (statistics in f64).
    pub fn fit(kind: NormalizeKind, data: &[f32], cols: usize) -> Self {
        match kind {
            NormalizeKind::None => Normalizer::none(),
            NormalizeKind::MinMax => {
                let mut lo = vec![f32::INFINITY; cols];
                let mut hi = vec![f32::NEG_INFINITY; cols];
                for row in data.chunks_exact(cols) {
                    for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                        *l = l.min(v);
                        *h = h.max(v);
                    }
                }
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
                let (mean, count) = means(data, cols);
                let mut var = vec![0.0f64; cols];
                for row in data.chunks_exact(cols) {
                    var.iter_mut()
                        .zip(row)
                        .zip(&mean)
                        .filter(|((_, v), _)| !v.is_nan())
                        .for_each(|((q, &v), m)| *q += (v as f64 - m).powi(2));
                }
                let scale = var
                    .iter()
                    .zip(&count)
                    .map(|(q, &n)| {
                        let sd = (q / n.max(1) as f64).sqrt();
                        if sd > 1e-12 {
                            usable_scale((1.0 / sd) as f32)
                        } else {
                            1.0
                        }
                    })
                    .collect();
                Normalizer { kind, offset: mean.iter().map(|&m| m as f32).collect(), scale, fill: Vec::new() }
            }
        }
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
        let mut n = Normalizer::fit(kind, data, cols);
        let (mean, count) = means(data, cols);
        if let Some(j) = count.iter().position(|&c| c == 0) {
            let name = names.and_then(|n| n.get(j)).map(|n| format!(" (\"{n}\")")).unwrap_or_default();
            return Err(Error::Data(format!(
                "{source}: feature {}{name} has no value in the training rows (every one is missing); leave the column out",
                j + 1
            )));
        }
        n.fill = mean.iter().map(|&m| m as f32).collect();
        Ok(n)
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

/// Each feature's mean over its values that are not NaN (f64), and how many there were.
fn means(data: &[f32], cols: usize) -> (Vec<f64>, Vec<usize>) {
    let mut sum = vec![0.0f64; cols];
    let mut count = vec![0usize; cols];
    for row in data.chunks_exact(cols.max(1)) {
        for ((s, n), &v) in sum.iter_mut().zip(count.iter_mut()).zip(row) {
            if !v.is_nan() {
                *s += v as f64;
                *n += 1;
            }
        }
    }
    (sum.iter().zip(&count).map(|(s, &n)| s / n.max(1) as f64).collect(), count)
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
