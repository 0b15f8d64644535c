//! `ae reconstruct`: rows in, reconstructions out (CSV/NPY), or for images a PNG of
//! originals above their reconstructions.

use std::path::{Path, PathBuf};

use autoencoder::data::builtin::Split;
use autoencoder::{compressed, file, Autoencoder, Dataset, Error, ImageShape, Result, Threads};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::output::{print_csv, write_array};

#[derive(Args, Debug)]
pub struct ReconstructArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Where to write: .csv, .npy, .npz, or .png for a grid of originals above reconstructions.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Images in the PNG grid.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub grid: usize,
    /// Quantise the codes to this many bits per dimension first, as `ae compress` does
    /// (the result equals `ae compress` then `ae decompress`).
    #[arg(long, value_name = "B")]
    pub bits: Option<u32>,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

/// Originals above reconstructions for the first `n` rows of `data`, as a PNG.
pub fn write_comparison(
    path: &Path,
    model: &Autoencoder,
    data: &Dataset,
    shape: ImageShape,
    n: usize,
    bits: Option<u32>,
    threads: &Threads,
) -> Result<()> {
    let n = n.min(data.rows());
    if n == 0 {
        return Err(Error::Data(format!("{}: no rows to draw", data.source)));
    }
    let x = &data.as_slice()[..n * data.cols()];
    let y = reconstruct(model, x, bits, threads)?;
    let per_row = if n <= 16 { n.div_ceil(n.div_ceil(16)) } else { 16 };
    let g = crate::grid::GridImage { channels: shape.channels, height: shape.height, width: shape.width };
    let scale = if shape.height <= 32 { 3 } else { 1 };
    let png = crate::grid::render_comparison(x, &y, n, per_row, g, scale).map_err(Error::Data)?;
    crate::grid::write_png(path, &png).map_err(Error::Data)
}

/// Reconstructions, through codes quantised to `bits` when given.
fn reconstruct(model: &Autoencoder, x: &[f32], bits: Option<u32>, threads: &Threads) -> Result<Vec<f32>> {
    match bits {
        Some(b) => compressed::reconstruct(model, x, b, threads),
        None => model.reconstruct(x, threads),
    }
}

pub fn run(a: ReconstructArgs) -> Result<()> {
    let _held = a.input.run_files().outputs("-o", a.output.as_deref()).check()?;
    let model = file::load(&a.input.model)?;
    let data = a.input.load_for(&model, Split::Test)?;
    model.check_data(&data)?;
    let threads = a.threads.threads();
    let is_png = a.output.as_ref().and_then(|p| p.extension()).is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if is_png {
        let p = a.output.as_ref().expect("checked above");
        let shape = data.image_shape.or(model.config().image_shape).ok_or_else(|| {
            Error::Data(format!(
                "{}: a PNG grid needs image rows, but neither the data nor the model has an image shape; write .csv or .npy instead",
                data.source
            ))
        })?;
        write_comparison(p, &model, &data, shape, a.grid, a.bits, &threads)?;
        eprintln!(
            "wrote {} originals above their reconstructions to {}",
            a.grid.min(data.rows()),
            p.display()
        );
        return Ok(());
    }
    let y = reconstruct(&model, data.as_slice(), a.bits, &threads)?;
    let d = model.input_dim();
    let header =
        data.feature_names.clone().unwrap_or_else(|| (1..=d).map(|i| format!("x{i}")).collect::<Vec<_>>());
    match &a.output {
        Some(p) => {
            write_array(p, &y, d, Some(&header))?;
            eprintln!("wrote {} reconstructed rows to {}", data.rows(), p.display());
        }
        None => print_csv(&y, d, &header),
    }
    Ok(())
}
