//! The latent-space scatter plot: points coloured by label, a legend of the labels
//! at the right, rendered to PNG.

use std::path::Path;

use plotters::prelude::*;

const FONT: &str = "sans-serif";
/// Matplotlib's tab10 palette, the colours people read labels by.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// What to draw.
pub struct Scatter<'a> {
    /// The title above the chart.
    pub title: &'a str,
    /// Axis names.
    pub axes: (&'a str, &'a str),
    /// The points.
    pub points: &'a [(f64, f64)],
    /// One label per point, or none (one colour).
    pub labels: Option<&'a [i64]>,
}

/// Render the scatter to PNG bytes (900×720).
pub fn render(s: &Scatter) -> Result<Vec<u8>, String> {
    crate::plot::ensure_font()?;
    if s.points.is_empty() {
        return Err("nothing to plot: no points".into());
    }
    let finite: Vec<&(f64, f64)> = s.points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
    let range = |f: fn(&(f64, f64)) -> f64| {
        let (lo, hi) = finite
            .iter()
            .map(|p| f(p))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let pad = ((hi - lo) * 0.05).max(1e-6);
        (lo - pad)..(hi + pad)
    };
    let (xr, yr) = (range(|p| p.0), range(|p| p.1));
    let mut classes: Vec<i64> = s.labels.map(|l| l.to_vec()).unwrap_or_default();
    classes.sort_unstable();
    classes.dedup();
    let (w, h) = (900u32, 720u32);
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let root = root.titled(s.title, (FONT, 22))?;
            let (chart_area, legend_area) = root.split_horizontally(w - 110);
            let mut chart = ChartBuilder::on(&chart_area)
                .margin(12)
                .x_label_area_size(44)
                .y_label_area_size(64)
                .build_cartesian_2d(xr.clone(), yr.clone())?;
            chart
                .configure_mesh()
                .x_desc(s.axes.0)
                .y_desc(s.axes.1)
                .axis_desc_style((FONT, 16))
                .label_style((FONT, 13))
                .bold_line_style(RGBColor(230, 230, 230))
                .max_light_lines(0)
                .draw()?;
            let color_of = |i: usize| -> RGBColor {
                match s.labels {
                    Some(l) => {
                        let k = classes.binary_search(&l[i]).unwrap_or(0);
                        PALETTE[k % PALETTE.len()]
                    }
                    None => PALETTE[0],
                }
            };
            chart.draw_series(
                s.points
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.0.is_finite() && p.1.is_finite())
                    .map(|(i, &p)| Circle::new(p, 2, color_of(i).mix(0.55).filled())),
            )?;
            for (k, c) in classes.iter().take(20).enumerate() {
                let y = 40 + 26 * k as i32;
                legend_area.draw(&Circle::new((14, y), 6, PALETTE[k % PALETTE.len()].filled()))?;
                legend_area.draw(&Text::new(format!("{c}"), (28, y - 8), (FONT, 16)))?;
            }
            root.present()?;
            Ok(())
        };
        draw().map_err(|e| format!("cannot draw the scatter plot: {e}"))?;
    }
    crate::png::encode_png(&buf, w, h, image::ExtendedColorType::Rgb8)
}

/// Render and write atomically; errors name the path.
pub fn write(path: &Path, s: &Scatter) -> Result<(), String> {
    let bytes = render(s).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::png::write_file(path, &bytes, "scatter plot")
}
