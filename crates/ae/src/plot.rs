//! Loss-curve plots: train/validation loss per epoch (plus an optional baseline) rendered to PNG.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

/// Width of the rendered loss-curve image, in pixels.
pub const LOSS_CURVE_WIDTH: u32 = 800;
/// Height of the rendered loss-curve image, in pixels.
pub const LOSS_CURVE_HEIGHT: u32 = 500;

/// Above this many epochs the per-epoch point markers are omitted (they would merge into a smear).
const MAX_MARKED_EPOCHS: usize = 100;

const FONT: &str = "sans-serif";
const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const VAL_COLOR: RGBColor = RGBColor(230, 110, 0);
const BASELINE_COLOR: RGBColor = RGBColor(128, 128, 128);
const AXIS_COLOR: RGBColor = RGBColor(60, 60, 60);
const TEXT_COLOR: RGBColor = RGBColor(30, 30, 30);

static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the embedded DejaVu Sans as plotters' `sans-serif` font (once per process).
pub(crate) fn ensure_font() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err("embedded font DejaVuSans.ttf could not be loaded".to_string())
    }
}

/// A loss curve to plot: one value per epoch (epoch 1 first).
#[derive(Debug, Clone, Copy)]
pub struct LossCurve<'a> {
    /// Title drawn above the chart; empty for none.
    pub title: &'a str,
    /// Name of the loss, shown in the y-axis label, e.g. `"BCE"` gives "loss (BCE)".
    pub loss_name: &'a str,
    /// Training loss per epoch. Non-finite values are skipped (the line is broken there).
    pub train: &'a [f64],
    /// Validation loss per epoch; must have the same length as `train` when present.
    pub val: Option<&'a [f64]>,
    /// A reference level, e.g. `("PCA-64", 0.28)`: drawn as a grey dashed horizontal line and
    /// listed in the legend. Ignored when the value is not finite.
    pub baseline: Option<(&'a str, f64)>,
}

/// Renders `c` as an 800×500 RGB PNG and returns its bytes.
///
/// The x axis is "epoch" (1..=n, integer ticks), the y axis "loss (<loss_name>)", with a small
/// margin around the finite values (a flat curve gets a padded range). A legend above the chart
/// names the series, so it never covers the lines.
///
/// Errors (one line) if `train` is empty, `val` has a different length than `train`, or the
/// values are too large to plot.
pub fn render_loss_curve(c: &LossCurve) -> Result<Vec<u8>, String> {
    let n = c.train.len();
    if n == 0 {
        return Err("loss curve has no epochs (the train series is empty)".to_string());
    }
    if let Some(val) = c.val {
        if val.len() != n {
            return Err(format!("loss curve: validation series has {} values but train has {n}", val.len()));
        }
    }
    ensure_font()?;

    let baseline = c.baseline.filter(|(_, v)| v.is_finite());
    let finite = c
        .train
        .iter()
        .chain(c.val.unwrap_or(&[]))
        .chain(baseline.as_ref().map(|(_, v)| v))
        .copied()
        .filter(|v| v.is_finite());
    let (y_lo, y_hi) = y_range(finite)?;

    let (w, h) = (LOSS_CURVE_WIDTH, LOSS_CURVE_HEIGHT);
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    draw_loss_curve(&mut buf, (w, h), c, baseline, (y_lo, y_hi))
        .map_err(|e| format!("cannot draw loss curve: {e}"))?;
    crate::png::encode_png(&buf, w, h, image::ExtendedColorType::Rgb8)
}

/// Renders `c` (see [`render_loss_curve`]) and writes the PNG atomically to `path`.
///
/// Errors are one line and name `path`.
pub fn write_loss_curve(path: &Path, c: &LossCurve) -> Result<(), String> {
    let bytes = render_loss_curve(c).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::png::write_file(path, &bytes, "loss curve")
}

/// The y range to show for the given finite values: min..max plus an 8% margin each side; a
/// flat (or empty) set gets a range padded by 5% of its magnitude (or ±0.05 around 0).
fn y_range(values: impl Iterator<Item = f64>) -> Result<(f64, f64), String> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo > hi { (0.0, 1.0) } else { (lo, hi) };
    // Halves first so that the span cannot overflow.
    let half_span = hi / 2.0 - lo / 2.0;
    let mag = lo.abs().max(hi.abs());
    let (lo, hi) = if half_span <= mag * 1e-9 {
        let pad = if mag > 0.0 { mag * 0.05 } else { 0.05 };
        (lo - pad, hi + pad)
    } else {
        let pad = half_span * 0.16;
        (lo - pad, hi + pad)
    };
    if lo.is_finite() && hi.is_finite() && lo < hi {
        Ok((lo, hi))
    } else {
        Err("loss values are too large to plot".to_string())
    }
}

/// Integer epoch ticks: 1..=n when n <= 10, else multiples of a 1-2-5 step giving at most 10.
fn epoch_ticks(n: usize) -> Vec<f64> {
    let mut step = 1usize;
    let mut decade = 1usize;
    'search: while n / step > 10 {
        for m in [2usize, 5, 10] {
            step = m.saturating_mul(decade);
            if n / step <= 10 {
                break 'search;
            }
        }
        decade = decade.saturating_mul(10);
    }
    (1..=n / step).map(|i| (i * step) as f64).collect()
}

/// The x axis: epochs as f64 over `lo..hi`, with explicit (integer) tick positions.
struct EpochAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for EpochAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - self.lo) / (self.hi - self.lo);
        let px = limit.0 as f64 + t * (limit.1 - limit.0) as f64;
        px.round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Formats y tick labels with just enough decimals for the tick spacing of the range `span`.
fn y_formatter(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let step = (hi - lo) / 8.0;
    let mag = lo.abs().max(hi.abs());
    let scientific = mag >= 1e5 || step < 1e-4;
    let decimals = if step > 0.0 { (-step.log10()).ceil().clamp(0.0, 6.0) as usize } else { 2 };
    move |v: &f64| {
        if scientific {
            format!("{v:.2e}")
        } else {
            let s = format!("{v:.decimals$}");
            // Avoid "-0.000".
            if s.starts_with('-') && s[1..].chars().all(|ch| ch == '0' || ch == '.') {
                s[1..].to_string()
            } else {
                s
            }
        }
    }
}

/// Formats a value with 4 significant digits (for the legend).
fn format_sig(v: f64) -> String {
    let mag = v.abs();
    if mag != 0.0 && !(1e-3..1e5).contains(&mag) {
        format!("{v:.3e}")
    } else {
        let decimals = if mag == 0.0 { 0 } else { (3 - mag.log10().floor() as i32).max(0) as usize };
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// Splits a series into runs of consecutive finite values, as (epoch, value) points.
fn finite_runs(values: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let mut runs = Vec::new();
    let mut cur = Vec::new();
    for (i, &v) in values.iter().enumerate() {
        if v.is_finite() {
            cur.push(((i + 1) as f64, v));
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs
}

/// A legend entry: its label, colour, and whether its sample is dashed (the baseline) and has a
/// point marker.
struct LegendEntry {
    label: String,
    color: RGBColor,
    dashed: bool,
    marker: bool,
}

type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

fn draw_loss_curve(
    buf: &mut [u8],
    (w, h): (u32, u32),
    c: &LossCurve,
    baseline: Option<(&str, f64)>,
    (y_lo, y_hi): (f64, f64),
) -> DrawResult<()> {
    let n = c.train.len();
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let body = if c.title.is_empty() {
        root.margin(12, 0, 0, 0)
    } else {
        root.titled(c.title, (FONT, 22).into_font().color(&TEXT_COLOR))?
    };
    let (legend_area, chart_area) = body.split_vertically(34);

    let x_range = EpochAxis { lo: 0.5, hi: n as f64 + 0.5, ticks: epoch_ticks(n) };
    let mut chart = ChartBuilder::on(&chart_area)
        .margin_left(12)
        .margin_right(28)
        .margin_top(4)
        .margin_bottom(10)
        .x_label_area_size(48)
        .y_label_area_size(78)
        .build_cartesian_2d(x_range, y_lo..y_hi)?;

    let y_label = if c.loss_name.is_empty() { "loss".to_string() } else { format!("loss ({})", c.loss_name) };
    let y_fmt = y_formatter(y_lo, y_hi);
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_label)
        .axis_desc_style((FONT, 17).into_font().color(&TEXT_COLOR))
        .label_style((FONT, 14).into_font().color(&TEXT_COLOR))
        .axis_style(AXIS_COLOR)
        .bold_line_style(RGBColor(225, 225, 225))
        .max_light_lines(0)
        .y_labels(8)
        .x_label_formatter(&|v| format!("{}", v.round() as i64))
        .y_label_formatter(&y_fmt)
        .draw()?;

    let mut legend = Vec::new();
    if let Some((label, value)) = baseline {
        chart.draw_series(DashedLineSeries::new(
            [(0.5, value), (n as f64 + 0.5, value)],
            9,
            6,
            BASELINE_COLOR.stroke_width(2),
        ))?;
        let label = if label.is_empty() { "baseline" } else { label };
        legend.push(LegendEntry {
            label: format!("{label} ({})", format_sig(value)),
            color: BASELINE_COLOR,
            dashed: true,
            marker: false,
        });
    }
    let mut series = vec![("train", c.train, TRAIN_COLOR)];
    if let Some(val) = c.val {
        series.push(("validation", val, VAL_COLOR));
    }
    // Validation is drawn after train so it stays visible where they overlap.
    let marker = n <= MAX_MARKED_EPOCHS;
    for (label, values, color) in series {
        for run in finite_runs(values) {
            chart.draw_series(LineSeries::new(run.iter().copied(), color.stroke_width(2)))?;
            if marker {
                chart.draw_series(run.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
            }
        }
        legend.push(LegendEntry { label: label.to_string(), color, dashed: false, marker });
    }
    // Legend order: train, validation, baseline.
    legend.rotate_left(usize::from(baseline.is_some()));
    draw_legend(&legend_area, &legend)?;

    root.present()?;
    Ok(())
}

/// Draws the legend entries in one centred row: a short line sample (with a marker, or dashed)
/// followed by the label.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[LegendEntry],
) -> DrawResult<()>
where
    DB::ErrorType: 'static,
{
    const SAMPLE: i32 = 28;
    const GAP_AFTER_SAMPLE: i32 = 8;
    const GAP_BETWEEN: i32 = 28;
    let font = (FONT, 15).into_font().color(&TEXT_COLOR);
    let mut widths = Vec::with_capacity(entries.len());
    for e in entries {
        widths.push(area.estimate_text_size(&e.label, &font)?.0 as i32);
    }
    let total: i32 = widths.iter().map(|tw| SAMPLE + GAP_AFTER_SAMPLE + tw).sum::<i32>()
        + GAP_BETWEEN * (entries.len() as i32 - 1).max(0);
    let (aw, ah) = area.dim_in_pixel();
    let mut x = ((aw as i32 - total) / 2).max(4);
    let y = ah as i32 / 2;
    for (e, tw) in entries.iter().zip(widths) {
        let style = e.color.stroke_width(2);
        if e.dashed {
            area.draw(&PathElement::new(vec![(x, y), (x + 10, y)], style))?;
            area.draw(&PathElement::new(vec![(x + 17, y), (x + SAMPLE, y)], style))?;
        } else {
            area.draw(&PathElement::new(vec![(x, y), (x + SAMPLE, y)], style))?;
        }
        if e.marker {
            area.draw(&Circle::new((x + SAMPLE / 2, y), 3, e.color.filled()))?;
        }
        let tx = x + SAMPLE + GAP_AFTER_SAMPLE;
        area.draw(&Text::new(
            e.label.clone(),
            (tx, y),
            font.clone().pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            )),
        ))?;
        x = tx + tw + GAP_BETWEEN;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    fn curve<'a>(train: &'a [f64], val: Option<&'a [f64]>) -> LossCurve<'a> {
        LossCurve { title: "test", loss_name: "BCE", train, val, baseline: None }
    }

    fn check_png(bytes: &[u8]) -> image::RgbImage {
        assert!(bytes.starts_with(PNG_SIGNATURE));
        let img = image::load_from_memory(bytes).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (LOSS_CURVE_WIDTH, LOSS_CURVE_HEIGHT));
        // White background in the corners.
        assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(LOSS_CURVE_WIDTH - 1, LOSS_CURVE_HEIGHT - 1).0, [255, 255, 255]);
        img
    }

    fn count_color(img: &image::RgbImage, c: RGBColor) -> usize {
        img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count()
    }

    #[test]
    fn one_epoch() {
        let img = check_png(&render_loss_curve(&curve(&[0.3], None)).unwrap());
        assert!(count_color(&img, TRAIN_COLOR) > 0, "the single point is drawn");
    }

    #[test]
    fn ten_epochs_with_validation_and_baseline() {
        let train: Vec<f64> = (0..10).map(|i| 0.30 - 0.003 * i as f64).collect();
        let val: Vec<f64> = (0..10).map(|i| 0.29 - 0.0015 * i as f64).collect();
        let c = LossCurve {
            title: "MNIST autoencoder",
            loss_name: "BCE",
            train: &train,
            val: Some(&val),
            baseline: Some(("PCA-64", 0.286)),
        };
        let img = check_png(&render_loss_curve(&c).unwrap());
        assert!(count_color(&img, TRAIN_COLOR) > 100);
        assert!(count_color(&img, VAL_COLOR) > 100);
        assert!(count_color(&img, BASELINE_COLOR) > 100);
    }

    #[test]
    fn non_finite_values_are_skipped() {
        let train = [0.5, f64::NAN, 0.4, f64::INFINITY, 0.35, f64::NEG_INFINITY];
        let val = [f64::NAN; 6];
        check_png(&render_loss_curve(&curve(&train, Some(&val))).unwrap());
        // Everything non-finite, and a non-finite baseline.
        let c = LossCurve { baseline: Some(("b", f64::NAN)), ..curve(&[f64::NAN, f64::NAN], None) };
        check_png(&render_loss_curve(&c).unwrap());
    }

    #[test]
    fn flat_and_extreme_values() {
        check_png(&render_loss_curve(&curve(&[0.28; 7], Some(&[0.28; 7]))).unwrap());
        check_png(&render_loss_curve(&curve(&[0.0; 3], None)).unwrap());
        check_png(&render_loss_curve(&curve(&[1e-12, 2e-12], None)).unwrap());
        check_png(&render_loss_curve(&curve(&[-5.0, 1e6, 3.0], None)).unwrap());
        check_png(&render_loss_curve(&curve(&[1e300, -1e300], None)).unwrap());
        let e = render_loss_curve(&curve(&[f64::MAX, f64::MIN], None)).unwrap_err();
        assert!(e.contains("too large"), "{e}");
    }

    #[test]
    fn many_epochs_and_empty_labels() {
        let train: Vec<f64> = (0..1234).map(|i| 1.0 / (1.0 + i as f64)).collect();
        let c = LossCurve { title: "", loss_name: "", train: &train, val: None, baseline: Some(("", 0.01)) };
        check_png(&render_loss_curve(&c).unwrap());
    }

    #[test]
    fn invalid_input_errors() {
        let e = render_loss_curve(&curve(&[], None)).unwrap_err();
        assert!(e.contains("no epochs"), "{e}");
        let e = render_loss_curve(&curve(&[0.1, 0.2], Some(&[0.1]))).unwrap_err();
        assert!(e.contains("validation") && e.contains('1') && e.contains('2'), "{e}");
    }

    #[test]
    fn legend_numbers() {
        assert_eq!(format_sig(0.286), "0.286");
        assert_eq!(format_sig(0.28), "0.28");
        assert_eq!(format_sig(12.0), "12");
        assert_eq!(format_sig(0.0), "0");
        assert_eq!(format_sig(1.23456), "1.235");
        assert_eq!(format_sig(2e-5), "2.000e-5");
    }

    #[test]
    fn epoch_ticks_are_integers_and_few() {
        assert_eq!(epoch_ticks(1), vec![1.0]);
        assert_eq!(epoch_ticks(10), (1..=10).map(f64::from).collect::<Vec<_>>());
        assert_eq!(epoch_ticks(11), vec![2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(epoch_ticks(100), (1..=10).map(|i| f64::from(i * 10)).collect::<Vec<_>>());
        for n in [1, 7, 23, 99, 101, 777, 12345, 1_000_000] {
            let t = epoch_ticks(n);
            assert!(!t.is_empty() && t.len() <= 10, "{n}: {t:?}");
            assert!(t.iter().all(|&v| v >= 1.0 && v <= n as f64 && v.fract() == 0.0));
        }
    }

    #[test]
    fn y_range_pads() {
        let (lo, hi) = y_range([0.27, 0.30].into_iter()).unwrap();
        assert!(lo < 0.27 && lo > 0.26 && hi > 0.30 && hi < 0.31);
        let (lo, hi) = y_range([0.28, 0.28].into_iter()).unwrap();
        assert!(lo < 0.28 && hi > 0.28);
        assert_eq!(y_range(std::iter::empty()).unwrap(), (-0.08, 1.08));
    }

    #[test]
    fn write_loss_curve_atomically_and_names_path_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("loss.png");
        write_loss_curve(&p, &curve(&[0.3, 0.2], None)).unwrap();
        check_png(&std::fs::read(&p).unwrap());
        let e = write_loss_curve(&p, &curve(&[], None)).unwrap_err();
        assert!(e.contains("loss.png"), "{e}");
        let bad = dir.path().join("nope").join("loss.png");
        let e = write_loss_curve(&bad, &curve(&[0.3], None)).unwrap_err();
        assert!(e.contains("nope"), "{e}");
    }
}
