//! Pictures of a detector: the ROC and precision–recall curves against known labels,
//! and the histogram of the scores with the threshold line, rendered to PNG. The
//! curves and the histogram are the library's (`anomaly::roc_curve`, `pr_curve`,
//! `histogram`); this draws them.

use std::path::Path;

use autoencoder::anomaly::{CurvePoint, Histogram};
use plotters::prelude::*;

const FONT: &str = "sans-serif";
const BLUE: RGBColor = RGBColor(31, 119, 180);
const RED: RGBColor = RGBColor(214, 39, 40);
const GREY: RGBColor = RGBColor(160, 160, 160);
const SIZE: (u32, u32) = (700, 560);

/// A curve in the unit square: `points` joined in order, `chance` a dashed reference
/// line, the axes named.
struct UnitCurve<'a> {
    title: String,
    axes: (&'a str, &'a str),
    points: Vec<(f64, f64)>,
    chance: [(f64, f64); 2],
}

fn render_unit(c: &UnitCurve) -> Result<Vec<u8>, String> {
    crate::plot::ensure_font()?;
    let (w, h) = SIZE;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(&c.title, (FONT, 20))
                .margin(16)
                .x_label_area_size(46)
                .y_label_area_size(56)
                .build_cartesian_2d(0.0..1.0f64, 0.0..1.02f64)?;
            chart
                .configure_mesh()
                .x_desc(c.axes.0)
                .y_desc(c.axes.1)
                .axis_desc_style((FONT, 16))
                .label_style((FONT, 13))
                .bold_line_style(RGBColor(230, 230, 230))
                .light_line_style(RGBColor(245, 245, 245))
                .draw()?;
            chart.draw_series(DashedLineSeries::new(c.chance, 6, 4, GREY.stroke_width(1)))?;
            chart.draw_series(LineSeries::new(c.points.clone(), BLUE.stroke_width(2)))?;
            root.present()?;
            Ok(())
        };
        draw().map_err(|e| format!("cannot draw the plot: {e}"))?;
    }
    crate::png::encode_png(&buf, w, h, image::ExtendedColorType::Rgb8)
}

/// The ROC curve (false-positive rate → true-positive rate), its area in the title.
pub fn write_roc(path: &Path, points: &[CurvePoint], auc: f64) -> Result<(), String> {
    let c = UnitCurve {
        title: format!("ROC curve (area {auc:.4})"),
        axes: ("false-positive rate", "true-positive rate"),
        points: points.iter().map(|p| (p.x, p.y)).collect(),
        chance: [(0.0, 0.0), (1.0, 1.0)],
    };
    let bytes = render_unit(&c).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::png::write_file(path, &bytes, "the ROC plot")
}

/// The precision–recall curve, from recall 0 at the first point's precision; the
/// outliers' share (a random ranking's precision) dashed.
pub fn write_pr(path: &Path, points: &[CurvePoint], ap: f64, base_rate: f64) -> Result<(), String> {
    let mut xy: Vec<(f64, f64)> = points.first().map(|p| (0.0, p.y)).into_iter().collect();
    xy.extend(points.iter().map(|p| (p.x, p.y)));
    let c = UnitCurve {
        title: format!("precision–recall (average precision {ap:.4})"),
        axes: ("recall", "precision"),
        points: xy,
        chance: [(0.0, base_rate), (1.0, base_rate)],
    };
    let bytes = render_unit(&c).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::png::write_file(path, &bytes, "the precision-recall plot")
}

/// The scores' histogram; the threshold, when there is one, as a red vertical line.
pub fn write_histogram(
    path: &Path,
    h: &Histogram,
    score: &str,
    threshold: Option<f64>,
) -> Result<(), String> {
    let bytes = render_histogram(h, score, threshold).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::png::write_file(path, &bytes, "the score histogram")
}

fn render_histogram(h: &Histogram, score: &str, threshold: Option<f64>) -> Result<Vec<u8>, String> {
    crate::plot::ensure_font()?;
    let (w, ht) = SIZE;
    let lo = h.edges[0].min(threshold.unwrap_or(f64::INFINITY));
    let hi = h.edges[h.edges.len() - 1].max(threshold.unwrap_or(f64::NEG_INFINITY));
    let pad = (hi - lo).abs().max(1e-12) * 0.02;
    let top = h.counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.08;
    let mut buf = vec![0u8; (w * ht * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, ht)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let title = match threshold {
                Some(t) => format!("{score} scores, threshold {t:.4}"),
                None => format!("{score} scores"),
            };
            let mut chart = ChartBuilder::on(&root)
                .caption(title, (FONT, 20))
                .margin(16)
                .x_label_area_size(46)
                .y_label_area_size(60)
                .build_cartesian_2d(lo - pad..hi + pad, 0.0..top)?;
            chart
                .configure_mesh()
                .x_desc("score")
                .y_desc("rows")
                .y_label_formatter(&|v| format!("{v:.0}"))
                .axis_desc_style((FONT, 16))
                .label_style((FONT, 13))
                .bold_line_style(RGBColor(230, 230, 230))
                .light_line_style(RGBColor(245, 245, 245))
                .draw()?;
            chart.draw_series(h.counts.iter().enumerate().map(|(i, &n)| {
                Rectangle::new([(h.edges[i], 0.0), (h.edges[i + 1], n as f64)], BLUE.filled())
            }))?;
            if let Some(t) = threshold {
                chart.draw_series(LineSeries::new([(t, 0.0), (t, top)], RED.stroke_width(2)))?;
            }
            root.present()?;
            Ok(())
        };
        draw().map_err(|e| format!("cannot draw the histogram: {e}"))?;
    }
    crate::png::encode_png(&buf, w, ht, image::ExtendedColorType::Rgb8)
}
