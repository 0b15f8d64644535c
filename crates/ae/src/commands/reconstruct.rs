//! `ae reconstruct`: rows in, reconstructions out (CSV/NPY), or for images a PNG of
//! originals above their reconstructions. Table files larger than the memory budget
//! (or with `--stream`) are read a part at a time, each part's reconstructions written
//! as they come: memory holds one part.

use std::path::{Path, PathBuf};

use autoencoder::data::builtin::Split;
use autoencoder::{file, Error, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::pictures::{reconstruct, write_comparison};
use crate::rows::{Rows, StreamArgs};

#[derive(Args, Debug)]
pub struct ReconstructArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Where to write: .csv, .npy, .npz, .parquet, or .png for a grid of originals above reconstructions (not .npz or .png when the rows are read a part at a time).
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
    pub stream: StreamArgs,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

pub fn run(a: ReconstructArgs) -> Result<()> {
    let _held = a.input.run_files().outputs("-o", a.output.as_deref()).check()?;
    let model = file::load(&a.input.model)?;
    let threads = a.threads.threads();
    let is_png = a.output.as_ref().and_then(|p| p.extension()).is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if is_png {
        if a.stream.stream {
            return Err(Error::config(
                "stream",
                "a PNG grid shows a few images, read whole; write .csv, .npy or .parquet to reconstruct rows a part at a time",
            ));
        }
        let data = a.input.load_for(&model, Split::Test)?;
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
    let rows = Rows::open(&a.input, &a.stream, &model, 0, "reconstructing")?;
    let d = model.input_dim();
    let header = rows.feature_names().map_or_else(|| crate::output::row_header(d), <[String]>::to_vec);
    let path = a.output.as_deref().unwrap_or(Path::new("-"));
    let count = rows.write_mapped(&model, path, d, &header, a.stream.budget(), |x| {
        reconstruct(&model, x, a.bits, &threads)
    })?;
    if let Some(p) = &a.output {
        eprintln!("wrote {count} reconstructed rows to {}", p.display());
    }
    Ok(())
}
