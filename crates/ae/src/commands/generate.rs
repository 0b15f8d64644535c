//! `ae generate`, `ae interpolate` and `ae traverse`: decodings of codes drawn from the
//! prior, along the straight latent path between two inputs, and along each code
//! dimension in turn. Image models write PNG grids; others CSV/NPY. Samples, and the
//! codes of a walk (`LatentWalk`), are made and written a part at a time
//! (`pictures::write_decodings`); what is made whole is refused, before any work,
//! beyond the memory budget.

use std::path::PathBuf;

use autoencoder::data::builtin::Split;
use autoencoder::{file, Error, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::pictures::write_decodings;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// The model file (variational; or any model with code statistics, sampled per dimension).
    pub model: PathBuf,
    /// How many samples: .npy, .csv and .parquet are written a part at a time, so memory holds one part however many; a PNG grid or an .npz is made whole, and refused beyond what a grid or the memory budget holds.
    #[arg(short = 'n', long, default_value_t = 64)]
    pub count: usize,
    /// Where to write: .png (a grid), .csv, .npy, .parquet or .npz.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The seed of the draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Images per row of the grid.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub per_row: usize,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

#[derive(Args, Debug)]
pub struct InterpolateArgs {
    /// The model, then two files (one row or image each), or one source and --rows.
    #[command(flatten)]
    pub input: ModelData,
    /// With one data source: the two rows to go between (0-based).
    #[arg(long, value_delimiter = ',', default_values_t = [0usize, 1], value_name = "I,J")]
    pub rows: Vec<usize>,
    /// Decodings along the path, both ends included: .npy, .csv and .parquet are written a part at a time; a PNG strip or an .npz is made whole, and refused beyond what a grid or the memory budget holds.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub steps: usize,
    /// Where to write: .png (a strip), .csv, .npy, .parquet or .npz.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

#[derive(Args, Debug)]
pub struct TraverseArgs {
    /// The model file.
    pub model: PathBuf,
    /// Code dimensions to sweep (the first N), one grid row each [default: all, at most 16].
    #[arg(long, value_name = "N")]
    pub dims: Option<usize>,
    /// Values per dimension (--dims × --steps decodings, written as --steps says of interpolate).
    #[arg(long, default_value_t = 9, value_name = "N")]
    pub steps: usize,
    /// Variational models: sweep each dimension over [−R, R] (prior standard deviations).
    #[arg(long, default_value_t = 3.0, value_name = "R")]
    pub range: f32,
    /// Where to write: .png (a grid), .csv, .npy, .parquet or .npz.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

pub fn run_generate(a: GenerateArgs) -> Result<()> {
    let _held = autoencoder::run_files::RunFiles::new()
        .input("the model", &a.model)
        .output("-o", &a.output)
        .check()?;
    let model = file::load(&a.model)?;
    if a.count == 0 {
        return Err(Error::config("count", "must be at least 1"));
    }
    let mut sampler = model.prior_sampler(a.seed)?;
    write_decodings(&a.output, &model, a.count, a.per_row, &a.threads.threads(), |n| sampler.draw(n))?;
    let from =
        if model.config().variational { "the prior N(0, I)" } else { "the training codes' histograms" };
    eprintln!("wrote {} samples from {from} to {}", a.count, a.output.display());
    Ok(())
}

pub fn run_interpolate(a: InterpolateArgs) -> Result<()> {
    let _held = a.input.run_files().output("-o", &a.output).check()?;
    let model = file::load(&a.input.model)?;
    let threads = a.threads.threads();
    let (xa, xb) = if a.input.files.len() == 2 {
        let one = |p: &PathBuf| -> Result<Vec<f32>> {
            let m = ModelData {
                model: a.input.model.clone(),
                files: vec![p.clone()],
                data: a.input.data.clone(),
            };
            Ok(m.load_for(&model, Split::Test)?.values_of(0..1).into_owned())
        };
        (one(&a.input.files[0])?, one(&a.input.files[1])?)
    } else {
        let data = a.input.load_for(&model, Split::Test)?;
        let [i, j] = a.rows[..] else {
            return Err(Error::config("rows", "give two row numbers, e.g. --rows 0,7"));
        };
        for r in [i, j] {
            if r >= data.rows() {
                return Err(Error::config(
                    "rows",
                    format!("row {r} is past the {} rows of {}", data.rows(), data.source),
                ));
            }
        }
        (data.values_of(i..i + 1).into_owned(), data.values_of(j..j + 1).into_owned())
    };
    let walk = model.interpolation(&xa, &xb, a.steps, &threads)?;
    write_walk(&a.output, &model, &walk, a.steps, &threads)?;
    eprintln!("wrote {} decodings along the latent path to {}", a.steps, a.output.display());
    Ok(())
}

pub fn run_traverse(a: TraverseArgs) -> Result<()> {
    let _held = autoencoder::run_files::RunFiles::new()
        .input("the model", &a.model)
        .output("-o", &a.output)
        .check()?;
    let model = file::load(&a.model)?;
    let k = model.code_dim();
    let dims = a.dims.unwrap_or(k.min(16));
    let walk = model.traversal(dims, a.steps, a.range)?;
    write_walk(&a.output, &model, &walk, a.steps, &a.threads.threads())?;
    eprintln!("wrote a traversal of {dims} code dimensions × {} values to {}", a.steps, a.output.display());
    Ok(())
}

/// The decodings of `walk`'s codes to `path`, `per_row` images a row of a grid, a part
/// at a time where the format allows ([`write_decodings`]).
fn write_walk(
    path: &std::path::Path,
    model: &autoencoder::Autoencoder,
    walk: &autoencoder::model::LatentWalk,
    per_row: usize,
    threads: &autoencoder::Threads,
) -> Result<()> {
    let mut next = 0;
    write_decodings(path, model, walk.rows(), per_row, threads, |n| {
        let z = walk.codes(next..next + n);
        next += n;
        z
    })
}
