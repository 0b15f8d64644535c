//! Reconstruction metrics (MSE, per-row SSE, MAE, binary cross-entropy, PSNR), accumulated
//! in f64 and streamed over batches, plus per-row errors for anomaly scoring.
//!
//! For `n` rows of `d` values, targets `x` and reconstructions `x̂`, with
//! `sse = Σᵢⱼ (xᵢⱼ − x̂ᵢⱼ)²` summed in f64:
//!
//! * `mse = sse / (n·d)`
//! * `sse_per_row = sse / n` (Hinton & Salakhutdinov 2006's "average squared error per image")
//! * `mae = Σᵢⱼ abs(xᵢⱼ − x̂ᵢⱼ) / (n·d)`
//! * `bce = −Σᵢⱼ [xᵢⱼ·ln p̂ᵢⱼ + (1 − xᵢⱼ)·ln(1 − p̂ᵢⱼ)] / (n·d)` with `p̂ = clip(x̂, ε, 1 − ε)`,
//!   `ε = 1e-7` (Keras' formula), reported only when every target `x` lies in `[0, 1]`
//! * `psnr = 10·log10(R² / mse)` dB for data range `R` (1 for pixels in `[0, 1]`)
//!
//! These match a float64 numpy reference computed on the same f32 arrays.

use crate::error::{Error, Result};

/// The clipping constant of the binary cross-entropy: predictions are clipped to
/// `[BCE_EPSILON, 1 − BCE_EPSILON]` before taking logarithms, as Keras does.
pub const BCE_EPSILON: f64 = 1e-7;

/// Reconstruction quality of `rows` rows of `d` values (see the module docs for formulas).
///
/// With no rows every error is NaN (and `bce` is `None`); a perfect reconstruction has
/// `psnr = +∞`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReconstructionMetrics {
    /// Number of rows `n` seen.
    pub rows: usize,
    /// Mean squared error per element, `sse / (n·d)`.
    pub mse: f64,
    /// Squared error summed over a row, averaged over rows, `sse / n`: Hinton &
    /// Salakhutdinov (2006)'s "average squared error per image".
    pub sse_per_row: f64,
    /// Mean absolute error per element, `Σ abs(x − x̂) / (n·d)`.
    pub mae: f64,
    /// Mean binary cross-entropy per element,
    /// `−Σ[x·ln p̂ + (1 − x)·ln(1 − p̂)] / (n·d)` with `p̂ = clip(x̂, 1e-7, 1 − 1e-7)`;
    /// `None` unless every target `x` lies in `[0, 1]`.
    pub bce: Option<f64>,
    /// Peak signal-to-noise ratio in dB, `10·log10(R² / mse)` for data range `R`.
    pub psnr: f64,
}

/// Streaming accumulator of [`ReconstructionMetrics`]: feed row-major batches with
/// [`add`](Self::add), read the totals with [`finish`](Self::finish). Sums are kept in
/// f64 (per row first, then over rows), so batching does not change the result beyond
/// f64 rounding.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsAccumulator {
    cols: usize,
    range: f64,
    rows: usize,
    sse: f64,
    sae: f64,
    bce_sum: f64,
    targets_in_unit_interval: bool,
}

impl MetricsAccumulator {
    /// An empty accumulator for rows of `cols` values and data range `R = 1`
    /// (pixels in `[0, 1]`).
    pub fn new(cols: usize) -> Self {
        MetricsAccumulator {
            cols,
            range: 1.0,
            rows: 0,
            sse: 0.0,
            sae: 0.0,
            bce_sum: 0.0,
            targets_in_unit_interval: true,
        }
    }

    /// An empty accumulator for rows of `cols` values and data range `range` (the `R` of
    /// `psnr = 10·log10(R² / mse)`, e.g. 255 for 8-bit pixels). `range` must be finite and
    /// positive.
    pub fn new_with_range(cols: usize, range: f64) -> Result<Self> {
        MetricsAccumulator::new(cols).with_range(range)
    }

    /// The same accumulator with data range `range` for the PSNR (finite, positive).
    pub fn with_range(mut self, range: f64) -> Result<Self> {
        if !(range.is_finite() && range > 0.0) {
            return Err(Error::config(
                "range",
                format!("the PSNR data range must be finite and > 0, got {range}"),
            ));
        }
        self.range = range;
        Ok(self)
    }

    /// Values per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The PSNR data range `R`.
    pub fn range(&self) -> f64 {
        self.range
    }

    /// Rows accumulated so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Add a batch: `x` (targets) and `xhat` (reconstructions), row-major, the same
    /// length, a multiple of `cols`. Nothing is added when the shapes are wrong.
    pub fn add(&mut self, x: &[f32], xhat: &[f32]) -> Result<()> {
        let rows = check_shapes(x, xhat, self.cols)?;
        let cols = self.cols;
        for r in 0..rows {
            let xr = &x[r * cols..(r + 1) * cols];
            let hr = &xhat[r * cols..(r + 1) * cols];
            let (mut sse, mut sae, mut bce) = (0.0f64, 0.0f64, 0.0f64);
            for (&a, &b) in xr.iter().zip(hr) {
                let (a, b) = (f64::from(a), f64::from(b));
                let diff = a - b;
                sse += diff * diff;
                sae += diff.abs();
                // Cross-entropy is reported only when every target is in [0, 1]: after
                // the first that is not, its logarithms are not computed.
                if self.targets_in_unit_interval && (0.0..=1.0).contains(&a) {
                    let p = b.clamp(BCE_EPSILON, 1.0 - BCE_EPSILON);
                    bce -= a * p.ln() + (1.0 - a) * (1.0 - p).ln();
                } else {
                    self.targets_in_unit_interval = false;
                }
            }
            self.sse += sse;
            self.sae += sae;
            self.bce_sum += bce;
        }
        self.rows += rows;
        Ok(())
    }

    /// Combine with another accumulator over other rows (e.g. from another thread).
    /// Both must have the same `cols` and `range`.
    pub fn merge(&mut self, other: &MetricsAccumulator) -> Result<()> {
        if other.cols != self.cols || other.range != self.range {
            return Err(Error::Data(format!(
                "cannot merge metrics of {} columns (range {}) into metrics of {} columns (range {})",
                other.cols, other.range, self.cols, self.range
            )));
        }
        self.rows += other.rows;
        self.sse += other.sse;
        self.sae += other.sae;
        self.bce_sum += other.bce_sum;
        self.targets_in_unit_interval &= other.targets_in_unit_interval;
        Ok(())
    }

    /// The metrics of every row added so far (formulas in the module docs).
    pub fn finish(&self) -> ReconstructionMetrics {
        let n = self.rows as f64;
        let elements = n * self.cols as f64;
        let mse = self.sse / elements;
        let bce = (self.rows > 0 && self.targets_in_unit_interval).then(|| self.bce_sum / elements);
        ReconstructionMetrics {
            rows: self.rows,
            mse,
            sse_per_row: self.sse / n,
            mae: self.sae / elements,
            bce,
            psnr: 10.0 * (self.range * self.range / mse).log10(),
        }
    }
}

/// The metrics of one pair of row-major arrays with `cols` values per row and data range
/// `R = 1` (see [`MetricsAccumulator`]).
pub fn reconstruction_metrics(x: &[f32], xhat: &[f32], cols: usize) -> Result<ReconstructionMetrics> {
    let mut acc = MetricsAccumulator::new(cols);
    acc.add(x, xhat)?;
    Ok(acc.finish())
}

/// Per-row mean squared error, `out[i] = Σⱼ (xᵢⱼ − x̂ᵢⱼ)² / d` (summed in f64), for anomaly
/// scoring. `out` must hold exactly one value per row.
pub fn row_errors(x: &[f32], xhat: &[f32], cols: usize, out: &mut [f32]) -> Result<()> {
    let rows = check_shapes(x, xhat, cols)?;
    if out.len() != rows {
        return Err(Error::Data(format!("row_errors: output holds {} values for {rows} rows", out.len())));
    }
    for (r, o) in out.iter_mut().enumerate() {
        let xr = &x[r * cols..(r + 1) * cols];
        let hr = &xhat[r * cols..(r + 1) * cols];
        let sse: f64 = xr
            .iter()
            .zip(hr)
            .map(|(&a, &b)| {
                let diff = f64::from(a) - f64::from(b);
                diff * diff
            })
            .sum();
        *o = (sse / cols as f64) as f32;
    }
    Ok(())
}

/// Checks that `x` and `xhat` have the same length, a multiple of `cols > 0`; returns the
/// number of rows.
fn check_shapes(x: &[f32], xhat: &[f32], cols: usize) -> Result<usize> {
    if cols == 0 {
        return Err(Error::Data(
            "reconstruction metrics need rows of at least one value, got 0 columns".into(),
        ));
    }
    if x.len() != xhat.len() {
        return Err(Error::Data(format!(
            "targets hold {} values but reconstructions hold {}",
            x.len(),
            xhat.len()
        )));
    }
    // (`usize::is_multiple_of` would need Rust 1.87; the workspace supports 1.85.)
    let rows = x.len() / cols;
    if rows * cols != x.len() {
        return Err(Error::Data(format!("{} values are not a whole number of rows of {cols}", x.len())));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    /// x = [[0, 1], [0.5, 0.25]], x̂ = [[0.5, 1], [0.25, 0.75]]
    /// differences: −0.5, 0, 0.25, −0.5
    /// sse = 0.25 + 0 + 0.0625 + 0.25 = 0.5625
    /// mse = 0.5625 / 4 = 0.140625; sse_per_row = 0.5625 / 2 = 0.28125
    /// mae = (0.5 + 0 + 0.25 + 0.5) / 4 = 0.3125
    /// psnr = 10·log10(1 / 0.140625) = 8.519374645...
    /// bce terms (natural log):
    ///   x=0,   p=0.5:      −ln 0.5                     = 0.693147180559945
    ///   x=1,   p=1−1e-7:   −ln(1 − 1e-7)               = 1.00000005e-7
    ///   x=0.5, p=0.25:     −(0.5 ln 0.25 + 0.5 ln 0.75) = 0.693147180559945 + 0.143841036225890
    ///                                                  = 0.836988216785835
    ///   x=0.25,p=0.75:     −(0.25 ln 0.75 + 0.75 ln 0.25)= 0.071920518112945 + 1.039720770839918
    ///                                                  = 1.111641288952863
    ///   sum = 2.641776686298649 + 1.0e-7 = 2.641776786298649 → bce = sum / 4 = 0.660444196574662
    #[test]
    fn hand_computed_2x2() {
        let x = [0.0f32, 1.0, 0.5, 0.25];
        let xhat = [0.5f32, 1.0, 0.25, 0.75];
        let m = reconstruction_metrics(&x, &xhat, 2).unwrap();
        assert_eq!(m.rows, 2);
        assert!(close(m.mse, 0.140625, 1e-15));
        assert!(close(m.sse_per_row, 0.28125, 1e-15));
        assert!(close(m.mae, 0.3125, 1e-15));
        assert!(close(m.psnr, 8.519374645445623, 1e-12), "{}", m.psnr);
        let bce = m.bce.unwrap();
        assert!(close(bce, 0.660444196574662, 1e-13), "{bce}");
    }

    #[test]
    fn streaming_matches_one_shot_and_merge() {
        let x: Vec<f32> = (0..60).map(|i| ((i * 7) % 11) as f32 / 10.0).collect();
        let xhat: Vec<f32> = (0..60).map(|i| ((i * 3) % 13) as f32 / 12.0).collect();
        let whole = reconstruction_metrics(&x, &xhat, 5).unwrap();
        let mut acc = MetricsAccumulator::new(5);
        acc.add(&x[..15], &xhat[..15]).unwrap();
        acc.add(&x[15..], &xhat[15..]).unwrap();
        let streamed = acc.finish();
        assert_eq!(streamed.rows, 12);
        assert!(close(streamed.mse, whole.mse, 1e-14));
        assert!(close(streamed.bce.unwrap(), whole.bce.unwrap(), 1e-14));
        let mut a = MetricsAccumulator::new(5);
        a.add(&x[..30], &xhat[..30]).unwrap();
        let mut b = MetricsAccumulator::new(5);
        b.add(&x[30..], &xhat[30..]).unwrap();
        a.merge(&b).unwrap();
        assert!(close(a.finish().sse_per_row, whole.sse_per_row, 1e-14));
        assert!(a.merge(&MetricsAccumulator::new(4)).is_err());
    }

    /// x = [2, −1], x̂ = [1, −1] with R = 255: mse = 1/2,
    /// psnr = 10·log10(255² · 2) = 51.14110356...; targets outside [0, 1] → no BCE.
    #[test]
    fn range_and_bce_only_for_unit_targets() {
        let mut acc = MetricsAccumulator::new_with_range(2, 255.0).unwrap();
        acc.add(&[2.0, -1.0], &[1.0, -1.0]).unwrap();
        let m = acc.finish();
        assert_eq!(m.bce, None);
        assert!(close(m.mse, 0.5, 1e-15));
        assert!(close(m.psnr, 10.0 * (255.0f64 * 255.0 * 2.0).log10(), 1e-14));
        assert!(close(m.psnr, 51.141103565, 1e-10));
        assert!(MetricsAccumulator::new_with_range(2, 0.0).is_err());
        assert!(MetricsAccumulator::new(2).with_range(f64::NAN).is_err());
    }

    /// rows [0, 1] vs [1, 1] → (1 + 0)/2 = 0.5; [0.5, 0.5] vs [0, 0] → (0.25+0.25)/2 = 0.25
    #[test]
    fn per_row_errors() {
        let mut out = [0.0f32; 2];
        row_errors(&[0.0, 1.0, 0.5, 0.5], &[1.0, 1.0, 0.0, 0.0], 2, &mut out).unwrap();
        assert_eq!(out, [0.5, 0.25]);
        assert!(row_errors(&[0.0, 1.0], &[1.0, 1.0], 2, &mut [0.0; 2]).is_err());
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        let mut acc = MetricsAccumulator::new(3);
        assert!(acc.add(&[0.0; 4], &[0.0; 4]).is_err());
        assert!(acc.add(&[0.0; 3], &[0.0; 6]).is_err());
        assert_eq!(acc.rows(), 0);
        assert!(reconstruction_metrics(&[0.0; 2], &[0.0; 2], 0).is_err());
        let empty = MetricsAccumulator::new(3).finish();
        assert_eq!(empty.rows, 0);
        assert!(empty.mse.is_nan());
        assert_eq!(empty.bce, None);
        let perfect = reconstruction_metrics(&[0.5; 3], &[0.5; 3], 3).unwrap();
        assert_eq!(perfect.mse, 0.0);
        assert_eq!(perfect.psnr, f64::INFINITY);
    }

    #[test]
    fn serde_round_trip() {
        let m = reconstruction_metrics(&[0.0, 1.0], &[0.5, 0.5], 2).unwrap();
        let s = serde_json::to_string(&m).unwrap();
        let back: ReconstructionMetrics = serde_json::from_str(&s).unwrap();
        assert_eq!(m, back);
    }
}
