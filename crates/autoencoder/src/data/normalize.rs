//! Feature normalisers (none, min-max, z-score): fitted on the training rows only,
//! stored in the model file, applied to every row the model sees and inverted on output.

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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Normalizer {
    /// What was fitted.
    pub kind: NormalizeKind,
    /// Per-feature offset (min or mean); empty for `None`.
    pub offset: Vec<f32>,
    /// Per-feature scale (1/(max−min) or 1/std); empty for `None`.
    pub scale: Vec<f32>,
}

impl Normalizer {
    /// The identity.
    pub fn none() -> Self {
        Normalizer { kind: NormalizeKind::None, offset: Vec::new(), scale: Vec::new() }
    }

    /// Fit `kind` on `rows × cols` training values (statistics in f64).
    pub fn fit(kind: NormalizeKind, data: &[f32], cols: usize) -> Self {
        let rows = data.len() / cols.max(1);
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
                let scale = lo
                    .iter()
                    .zip(&hi)
                    .map(|(&l, &h)| if h > l { usable_scale(1.0 / (h - l)) } else { 1.0 })
                    .collect();
                Normalizer { kind, offset: lo, scale }
            }
            NormalizeKind::ZScore => {
                let mut sum = vec![0.0f64; cols];
                for row in data.chunks_exact(cols) {
                    sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
                }
                let mean: Vec<f64> = sum.iter().map(|s| s / rows.max(1) as f64).collect();
                let mut var = vec![0.0f64; cols];
                for row in data.chunks_exact(cols) {
                    var.iter_mut().zip(row).zip(&mean).for_each(|((q, &v), m)| *q += (v as f64 - m).powi(2));
                }
                let scale = var
                    .iter()
                    .map(|q| {
                        let sd = (q / rows.max(1) as f64).sqrt();
                        if sd > 1e-12 {
                            usable_scale((1.0 / sd) as f32)
                        } else {
                            1.0
                        }
                    })
                    .collect();
                Normalizer { kind, offset: mean.iter().map(|&m| m as f32).collect(), scale }
            }
        }
    }

    /// Check the stored values, as a file holds them: as many offsets as scales, every
    /// offset finite, every scale a normal positive number (finite, > 0, not subnormal,
    /// so that `1/scale` is finite too). A min-max scale is `1/(max − min)` and a z-score
    /// scale `1/std`, so a scale of 0 or below stands for a range or a standard deviation
    /// that no data has. [`Normalizer::fit`] always passes; the message names the
    /// feature's index (from 0).
    pub fn check(&self) -> Result<()> {
        if self.is_identity() {
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

    /// Whether this normaliser changes nothing.
    pub fn is_identity(&self) -> bool {
        self.kind == NormalizeKind::None
    }

    /// Check the normaliser fits rows of `cols` values.
    pub fn check_width(&self, cols: usize) -> Result<()> {
        if !self.is_identity() && (self.offset.len() != cols || self.scale.len() != cols) {
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

    /// Normalise rows in place.
    pub fn apply_in_place(&self, v: &mut [f32]) {
        if self.is_identity() {
            return;
        }
        crate::kernels::elementwise::shift_scale_in_place(v, &self.offset, &self.scale);
    }

    /// Undo the normalisation in place.
    pub fn invert_in_place(&self, v: &mut [f32]) {
        if self.is_identity() {
            return;
        }
        crate::kernels::elementwise::unshift_unscale(v, &self.offset, &self.scale);
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
            let good = Normalizer { kind, offset: vec![0.0, 1.0], scale: vec![1.0, 2.0] };
            assert!(good.check().is_ok());
            for bad in [0.0, -1.0, f32::NAN, f32::INFINITY, 1e-40] {
                let n = Normalizer { kind, offset: vec![0.0, 1.0], scale: vec![1.0, bad] };
                let e = n.check().unwrap_err().to_string();
                assert!(e.contains("feature index 1"), "{e}");
            }
            let n = Normalizer { kind, offset: vec![f32::NAN, 1.0], scale: vec![1.0, 2.0] };
            assert!(n.check().unwrap_err().to_string().contains("feature index 0"));
            let n = Normalizer { kind, offset: vec![0.0], scale: vec![1.0, 2.0] };
            assert!(n.check().is_err());
            // Ranges too small or too large for 1/range in f32.
            let data = [0.0, -3e38, 1e-45, 3e38];
            assert!(Normalizer::fit(kind, &data, 2).check().is_ok());
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
