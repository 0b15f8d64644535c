//! `ae compress` and `ae decompress`: rows (a dataset, data files or images) to a
//! compressed file of quantised, range-coded codes, and back to images or arrays.

use std::path::{Path, PathBuf};

use autoencoder::atomic::write_atomic;
use autoencoder::data::builtin::Split;
use autoencoder::{compressed, file, Autoencoder, Error, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::pictures::write_rows;

/// Bits per code dimension when `--bits` is not given.
pub const DEFAULT_BITS: u32 = 6;

#[derive(Args, Debug)]
pub struct CompressArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// The compressed file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Bits per code dimension (1 to 10): fewer bits, smaller files, coarser codes.
    #[arg(long, default_value_t = DEFAULT_BITS, value_name = "B")]
    pub bits: u32,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

#[derive(Args, Debug)]
pub struct DecompressArgs {
    /// The model file that compressed it.
    pub model: PathBuf,
    /// The compressed file (written by `ae compress`).
    pub input: PathBuf,
    /// Where to write: .png (one image, or a grid of them), .csv, .npy or .npz.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Images per row of a PNG grid.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub per_row: usize,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

pub fn run_compress(a: CompressArgs) -> Result<()> {
    let _held = a.input.run_files().output("the compressed file (-o)", &a.output).check()?;
    let model = file::load(&a.input.model)?;
    need_codec(&model, &a.input.model)?;
    let data = a.input.load_for(&model, Split::Test)?;
    let threads = a.threads.threads();
    let bytes = compressed::compress(&model, data.as_slice(), a.bits, &threads)?;
    write_atomic(&a.output, &bytes)?;
    let raw = data.rows() * data.cols();
    eprintln!(
        "compressed {} rows of {} values to {} ({} bytes, {:.1} bytes per row, {} bits per code value)",
        data.rows(),
        data.cols(),
        a.output.display(),
        bytes.len(),
        bytes.len() as f64 / data.rows().max(1) as f64,
        a.bits
    );
    if raw > 0 {
        eprintln!("  ({:.1}× smaller than the rows as 8-bit values)", raw as f64 / bytes.len() as f64);
    }
    Ok(())
}

/// The model has code statistics, or an error naming its file that says why not: a code
/// wider than [`autoencoder::codec::MAX_DIMS`] gets none, a model from an
/// older `ae` has none.
fn need_codec(model: &Autoencoder, path: &Path) -> Result<()> {
    use autoencoder::codec::{Codec, MAX_DIMS};
    if model.codec.is_none() && !Codec::supports(model.code_dim()) {
        return Err(Error::format(
            path,
            format!(
                "this model cannot compress: {}; train one whose code (the last of --layers) has at most {MAX_DIMS}",
                Codec::unsupported_reason(model.code_dim())
            ),
        ));
    }
    compressed::codec(model).map(|_| ()).map_err(|e| Error::format(path, e.to_string()))
}

pub fn run_decompress(a: DecompressArgs) -> Result<()> {
    let _held = autoencoder::run_files::RunFiles::new()
        .input("the model", &a.model)
        .input("the compressed file", &a.input)
        .output("the rows (-o)", &a.output)
        .check()?;
    let model = file::load(&a.model)?;
    need_codec(&model, &a.model)?;
    let bytes = file_bytes(&a.input)?;
    let threads = a.threads.threads();
    let (rows, header) = compressed::decompress(&model, &bytes, &a.input, &threads)?;
    write_rows(&a.output, &model, &rows, a.per_row)?;
    eprintln!(
        "decompressed {} rows ({} bits per code value) to {}",
        header.rows,
        header.bits,
        a.output.display()
    );
    Ok(())
}

/// A compressed file's bytes, refusing sizes no compressed file this version writes has.
fn file_bytes(path: &Path) -> Result<Vec<u8>> {
    file::read_limited(path, compressed::MAX_VALUES * 4, "compressed file")
}
