//! `ae reconstruct`: rows in, reconstructions out (CSV/NPY), or for images a PNG of
//! originals above their reconstructions.

use std::path::PathBuf;

use autoencoder::data::builtin::Split;
use autoencoder::{file, Error, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::output::{print_csv, write_array};
use crate::pictures::{reconstruct, write_comparison};

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
            write_array(p, &y, d, Some(&header), data.ids.as_ref())?;
            eprintln!("wrote {} reconstructed rows to {}", data.rows(), p.display());
        }
        None => print_csv(&y, d, &header, data.ids.as_ref())?,
    }
    Ok(())
}
