//! `ae denoise`: rows in, the model's reconstructions of them out (a denoising model
//! removes the corruption it was trained on). With `--add-noise`, the rows are first
//! corrupted here (seeded) and the PSNR of the noisy and the denoised rows against the
//! clean ones is reported.

use std::path::PathBuf;

use autoencoder::data::builtin::Split;
use autoencoder::random::{self, Stream};
use autoencoder::train::Corruption;
use autoencoder::{file, metrics, Error, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::output::write_array;

#[derive(Args, Debug)]
pub struct DenoiseArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Where to write: .csv, .npy, .npz, or .png for a grid (clean, noisy, denoised rows with --add-noise).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Corrupt the rows first (gaussian:SIGMA[:clip], mask:FRACTION, salt_pepper:FRACTION) and report
    /// the PSNR of the noisy and the denoised rows against the clean ones.
    #[arg(long, value_name = "KIND:AMOUNT")]
    pub add_noise: Option<Corruption>,
    /// With --add-noise: clip the noisy rows to the clean data's range (e.g. [0, 1] for images).
    #[arg(long)]
    pub clip: bool,
    /// The seed of --add-noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Images per row of the PNG grid.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub grid: usize,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

pub fn run(a: DenoiseArgs) -> Result<()> {
    let _held = a.input.run_files().outputs("-o", a.output.as_deref()).check()?;
    let model = file::load(&a.input.model)?;
    let data = a.input.load_for(&model, Split::Test)?;
    let threads = a.threads.threads();
    let d = data.cols();
    let clean = data.as_slice();
    let noisy = match &a.add_noise {
        Some(c) => {
            let mut x = clean.to_vec();
            c.apply(&mut x, &mut random::rng(a.seed, Stream::Sample));
            if a.clip {
                let (lo, hi) = data.min_max();
                x.iter_mut().for_each(|v| *v = v.clamp(lo, hi));
            }
            Some(x)
        }
        None => None,
    };
    let input = noisy.as_deref().unwrap_or(clean);
    let denoised = model.reconstruct(input, &threads)?;
    let report = noisy.as_ref().map(|x| -> Result<(f64, f64)> {
        let before = metrics::reconstruction_metrics(clean, x, d)?.psnr;
        let after = metrics::reconstruction_metrics(clean, &denoised, d)?.psnr;
        Ok((before, after))
    });
    let report = report.transpose()?;
    if let Some(p) = &a.output {
        if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
            let shape = data.image_shape.or(model.config().image_shape).ok_or_else(|| {
                Error::Data(format!("{}: a PNG needs image rows; write .csv or .npy instead", data.source))
            })?;
            let n = a.grid.clamp(1, data.rows());
            let mut lines: Vec<&[f32]> = vec![&clean[..n * d]];
            if let Some(x) = &noisy {
                lines.push(&x[..n * d]);
            }
            lines.push(&denoised[..n * d]);
            let g =
                crate::grid::GridImage { channels: shape.channels, height: shape.height, width: shape.width };
            let scale = if shape.height <= 32 { 3 } else { 1 };
            let png = crate::grid::render_grid(&lines, g, scale, 2).map_err(Error::Data)?;
            crate::grid::write_png(p, &png).map_err(Error::Data)?;
        } else {
            let header: Vec<String> = (1..=d).map(|i| format!("x{i}")).collect();
            write_array(p, &denoised, d, Some(&header), None)?;
        }
    }
    let report = DenoiseReport {
        rows: data.rows(),
        noise: a.add_noise.map(|c| c.to_string()),
        psnr_noisy: report.map(|r| r.0),
        psnr_denoised: report.map(|r| r.1),
        psnr_gain: report.map(|r| r.1 - r.0),
        output: a.output.clone(),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else if let Some(text) = report.text() {
        println!("{text}");
    }
    if let Some(p) = &a.output {
        eprintln!("wrote {} denoised rows to {}", data.rows(), p.display());
    }
    Ok(())
}

/// What `ae denoise` reports: one JSON object with `--json`, else (with --add-noise)
/// one line.
#[derive(serde::Serialize)]
struct DenoiseReport {
    rows: usize,
    /// The corruption added, as the flag takes it.
    noise: Option<String>,
    psnr_noisy: Option<f64>,
    psnr_denoised: Option<f64>,
    psnr_gain: Option<f64>,
    output: Option<PathBuf>,
}

impl DenoiseReport {
    /// `N rows: PSNR noisy … dB, denoised … dB (gain … dB)`, when noise was added.
    fn text(&self) -> Option<String> {
        let (before, after, gain) = (self.psnr_noisy?, self.psnr_denoised?, self.psnr_gain?);
        Some(format!(
            "{} rows: PSNR noisy {before:.2} dB, denoised {after:.2} dB (gain {gain:+.2} dB)",
            self.rows
        ))
    }
}
