//! `ae denoise`: rows in, the model's reconstructions of them out (a denoising model
//! removes the corruption it was trained on). With `--add-noise`, the rows are first
//! corrupted here (seeded) and the PSNR of the noisy and the denoised rows against the
//! clean ones is reported. Table files larger than the memory budget (or with
//! `--stream`) are read a part at a time, with the bits of the rows read whole: the
//! noise is drawn from one stream through the parts in order, `--clip`'s range is the
//! whole data's, and the PSNR sums run over the rows in order.

use std::path::{Path, PathBuf};

use autoencoder::random::{self, Stream};
use autoencoder::train::Corruption;
use autoencoder::{file, metrics::MetricsAccumulator, Error, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::rows::{Rows, StreamArgs};

#[derive(Args, Debug)]
pub struct DenoiseArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Where to write: .csv, .npy, .npz, .parquet (not .npz when the rows are read a part at a time), or .png for a grid of the first rows (clean, noisy, denoised with --add-noise).
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
    pub stream: StreamArgs,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// The pass over the rows: each part corrupted (when asked), denoised and measured,
/// and the first `keep` rows of each kind kept for the PNG grid.
struct Denoiser<'a> {
    model: &'a autoencoder::Autoencoder,
    threads: autoencoder::Threads,
    noise: Option<(Corruption, random::ChaCha8Rng)>,
    /// `--clip`'s range: the clean data's.
    clip: Option<(f32, f32)>,
    /// The PSNR sums of the noisy and the denoised rows against the clean ones.
    noisy_psnr: MetricsAccumulator,
    denoised_psnr: MetricsAccumulator,
    /// The grid's first rows: clean, noisy, denoised.
    keep: usize,
    firsts: [Vec<f32>; 3],
}

impl Denoiser<'_> {
    /// The denoised rows of `clean` (raw values, `d` a row), the next part of the rows.
    fn part(&mut self, clean: &[f32]) -> Result<Vec<f32>> {
        let noisy = self.noise.as_mut().map(|(c, rng)| {
            let mut x = clean.to_vec();
            c.apply(&mut x, rng);
            if let Some((lo, hi)) = self.clip {
                x.iter_mut().for_each(|v| *v = v.clamp(lo, hi));
            }
            x
        });
        let input = noisy.as_deref().unwrap_or(clean);
        let denoised = self.model.reconstruct(input, &self.threads)?;
        if let Some(x) = &noisy {
            self.noisy_psnr.add(clean, x)?;
            self.denoised_psnr.add(clean, &denoised)?;
        }
        let room = self.keep.saturating_sub(self.firsts[0].len());
        if room > 0 {
            let n = room.min(clean.len());
            self.firsts[0].extend_from_slice(&clean[..n]);
            if let Some(x) = &noisy {
                self.firsts[1].extend_from_slice(&x[..n]);
            }
            self.firsts[2].extend_from_slice(&denoised[..n]);
        }
        Ok(denoised)
    }
}

pub fn run(a: DenoiseArgs) -> Result<()> {
    let _held = a.input.run_files().outputs("-o", a.output.as_deref()).check()?;
    let model = file::load(&a.input.model)?;
    let rows = Rows::open(&a.input, &a.stream, &model, 0, "denoising")?;
    let d = model.input_dim();
    let png = a.output.as_ref().filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")));
    let shape = match png {
        Some(_) => Some(rows.image_shape().or(model.config().image_shape).ok_or_else(|| {
            Error::Data(format!("{}: a PNG needs image rows; write .csv or .npy instead", rows.source()))
        })?),
        None => None,
    };
    let n = a.grid.clamp(1, usize::try_from(rows.count()).unwrap_or(usize::MAX).max(1));
    let clip = match (&a.add_noise, a.clip) {
        (Some(_), true) => {
            let r = rows.value_range()?;
            Some((r.lo, r.hi))
        }
        _ => None,
    };
    let mut pass = Denoiser {
        model: &model,
        threads: a.threads.threads(),
        noise: a.add_noise.map(|c| (c, random::rng(a.seed, Stream::Sample))),
        clip,
        noisy_psnr: MetricsAccumulator::new(d),
        denoised_psnr: MetricsAccumulator::new(d),
        keep: if png.is_some() { n * d } else { 0 },
        firsts: Default::default(),
    };
    match (&a.output, png) {
        (Some(p), None) => {
            let header =
                rows.feature_names().map_or_else(|| crate::output::row_header(d), <[String]>::to_vec);
            rows.write_mapped(&model, p, d, &header, a.stream.budget(), |x| pass.part(x))?;
        }
        _ => rows.for_each(&model, |part| pass.part(part.as_slice()).map(drop))?,
    }
    if let (Some(p), Some(shape)) = (png, shape) {
        let lines: Vec<&[f32]> = pass.firsts.iter().filter(|v| !v.is_empty()).map(Vec::as_slice).collect();
        let g = crate::grid::GridImage { channels: shape.channels, height: shape.height, width: shape.width };
        let scale = if shape.height <= 32 { 3 } else { 1 };
        let bytes = crate::grid::render_grid(&lines, g, scale, 2).map_err(Error::Data)?;
        crate::grid::write_png(p, &bytes).map_err(Error::Data)?;
    }
    let psnr =
        pass.noise.is_some().then(|| (pass.noisy_psnr.finish().psnr, pass.denoised_psnr.finish().psnr));
    let report = DenoiseReport {
        rows: rows.count() as usize,
        noise: a.add_noise.map(|c| c.to_string()),
        psnr_noisy: psnr.map(|r| r.0),
        psnr_denoised: psnr.map(|r| r.1),
        psnr_gain: psnr.map(|r| r.1 - r.0),
        output: a.output.clone(),
    };
    // With the rows on standard output (`-o -`), the report goes to standard error.
    let said = match a.json {
        true => Some(serde_json::to_string_pretty(&report).unwrap_or_default()),
        false => report.text(),
    };
    match (said, a.output.as_deref() == Some(Path::new("-"))) {
        (Some(text), false) => println!("{text}"),
        (Some(text), true) => eprintln!("{text}"),
        (None, _) => {}
    }
    if let Some(p) = a.output.as_ref().filter(|p| p.as_os_str() != "-") {
        eprintln!("wrote {} denoised rows to {}", rows.count(), p.display());
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
