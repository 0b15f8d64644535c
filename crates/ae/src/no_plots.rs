//! Without the `plots` feature: the plotting modules' types, and writers that answer with
//! an error naming the feature (`ae train` and `ae evaluate` turn it into a warning; `ae
//! plot-latent` and `ae demo` fail with it).

// The types mirror the real ones so that callers build unchanged; their fields go unread.
#![allow(dead_code)]

/// What every writer answers.
const MISSING: &str = "plots need the `plots` feature of autoencoder-cli (built without it)";

fn missing(path: &std::path::Path) -> Result<(), String> {
    Err(format!("{}: {MISSING}", path.display()))
}

pub mod plot {
    use std::path::Path;

    /// See the `plots` build's `plot::LossCurve`.
    #[derive(Debug, Clone, Copy)]
    pub struct LossCurve<'a> {
        pub title: &'a str,
        pub loss_name: &'a str,
        pub train: &'a [f64],
        pub val: Option<&'a [f64]>,
        pub baseline: Option<(&'a str, f64)>,
    }

    pub fn write_loss_curve(path: &Path, _c: &LossCurve) -> Result<(), String> {
        super::missing(path)
    }
}

pub mod scatter {
    use std::path::Path;

    /// See the `plots` build's `scatter::Scatter`.
    pub struct Scatter<'a> {
        pub title: &'a str,
        pub axes: (&'a str, &'a str),
        pub points: &'a [(f64, f64)],
        pub labels: Option<&'a [i64]>,
    }

    pub fn write(path: &Path, _s: &Scatter) -> Result<(), String> {
        super::missing(path)
    }
}

pub mod rd_plot {
    use std::path::Path;

    use autoencoder::rate_distortion::RdPoint;

    /// A colour, as plotters' `RGBColor`.
    #[derive(Debug, Clone, Copy)]
    pub struct RGBColor(pub u8, pub u8, pub u8);

    /// See the `plots` build's `rd_plot::Curve`.
    pub struct Curve<'a> {
        pub name: String,
        pub color: RGBColor,
        pub points: &'a [RdPoint],
    }

    pub const COLORS: [RGBColor; 3] =
        [RGBColor(31, 119, 180), RGBColor(128, 128, 128), RGBColor(214, 39, 40)];

    pub fn write(path: &Path, _title: &str, _curves: &[Curve]) -> Result<(), String> {
        super::missing(path)
    }
}

pub mod detector_plot {
    use std::path::Path;

    use autoencoder::anomaly::{CurvePoint, Histogram};

    pub fn write_roc(path: &Path, _points: &[CurvePoint], _auc: f64) -> Result<(), String> {
        super::missing(path)
    }

    pub fn write_pr(path: &Path, _points: &[CurvePoint], _ap: f64, _base_rate: f64) -> Result<(), String> {
        super::missing(path)
    }

    pub fn write_histogram(
        path: &Path,
        _h: &Histogram,
        _score: &str,
        _threshold: Option<f64>,
    ) -> Result<(), String> {
        super::missing(path)
    }
}
