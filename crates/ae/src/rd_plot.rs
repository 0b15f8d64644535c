//! The rate–distortion plot: PSNR against bytes per image (log scale) for the
//! autoencoder codec, PCA with the same quantiser and JPEG, rendered to PNG.

use std::path::Path;

use autoencoder::rate_distortion::RdPoint;
use plotters::prelude::*;

const FONT: &str = "sans-serif";

/// One curve: its name, colour and points.
pub struct Curve<'a> {
    pub name: String,
    pub color: RGBColor,
    pub points: &'a [RdPoint],
}

/// The colours of the autoencoder, PCA and JPEG curves.
pub const COLORS: [RGBColor; 3] = [RGBColor(31, 119, 180), RGBColor(128, 128, 128), RGBColor(214, 39, 40)];

/// Render the curves to PNG bytes (900×600).
pub fn render(title: &str, curves: &[Curve]) -> Result<Vec<u8>, String> {
    crate::plot::ensure_font()?;
    let all: Vec<&RdPoint> = curves
        .iter()
        .flat_map(|c| c.points.iter())
        .filter(|p| p.bytes_per_image > 0.0 && p.psnr.is_finite())
        .collect();
    if all.is_empty() {
        return Err("nothing to plot: no finite points".into());
    }
    let fold = |f: fn(&RdPoint) -> f64| {
        all.iter().map(|p| f(p)).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)))
    };
    let (b0, b1) = fold(|p| p.bytes_per_image);
    let (p0, p1) = fold(|p| p.psnr);
    // The x axis is log10(bytes), labelled in bytes: even spacing, labels everywhere.
    let xr = (b0 / 1.3).log10()..(b1 * 1.3).log10();
    let yr = (p0 - 1.0).floor()..(p1 + 1.0).ceil();
    let (w, h) = (900u32, 600u32);
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, (FONT, 20))
                .margin(16)
                .x_label_area_size(46)
                .y_label_area_size(60)
                .build_cartesian_2d(xr.clone(), yr.clone())?;
            chart
                .configure_mesh()
                .x_desc("bytes per image (whole file, log scale)")
                .x_labels(10)
                .x_label_formatter(&|v| format!("{:.0}", 10f64.powf(*v)))
                .y_desc("PSNR (dB)")
                .axis_desc_style((FONT, 16))
                .label_style((FONT, 13))
                .bold_line_style(RGBColor(230, 230, 230))
                .light_line_style(RGBColor(245, 245, 245))
                .draw()?;
            for c in curves {
                let mut pts: Vec<(f64, f64)> = c
                    .points
                    .iter()
                    .filter(|p| p.bytes_per_image > 0.0 && p.psnr.is_finite())
                    .map(|p| (p.bytes_per_image.log10(), p.psnr))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let color = c.color;
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                    .label(c.name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(200, 200, 200))
                .label_font((FONT, 15))
                .draw()?;
            root.present()?;
            Ok(())
        };
        draw().map_err(|e| format!("cannot draw the rate-distortion plot: {e}"))?;
    }
    crate::png::encode_png(&buf, w, h, image::ExtendedColorType::Rgb8)
}

/// Render and write atomically; errors name the path.
pub fn write(path: &Path, title: &str, curves: &[Curve]) -> Result<(), String> {
    let bytes = render(title, curves).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::png::write_file(path, &bytes, "rate-distortion plot")
}
