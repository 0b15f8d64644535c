//! `ae decode`: codes in (CSV or NPY with the model's code width), rows out.

use std::path::PathBuf;

use autoencoder::data::open::{load_paths, LoadOptions};
use autoencoder::{file, Error, Result};
use clap::Args;

use crate::args::ThreadArgs;
use crate::output::{print_csv, write_array};

#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// The model file.
    pub model: PathBuf,
    /// A CSV or NPY file of codes, one row each (as `ae encode` writes them).
    pub codes: PathBuf,
    /// Where to write the rows: .csv, .npy or .npz (CSV on stdout when absent).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

pub fn run(a: DecodeArgs) -> Result<()> {
    let _held = autoencoder::run_files::RunFiles::new()
        .input("the model", &a.model)
        .input("the codes file", &a.codes)
        .outputs("the rows (-o)", a.output.as_deref())
        .check()?;
    let model = file::load(&a.model)?;
    let codes = load_paths(std::slice::from_ref(&a.codes), &LoadOptions::default())?;
    if codes.cols() != model.code_dim() {
        return Err(Error::Data(format!(
            "{}: codes have {} values per row, the model's code has {}",
            a.codes.display(),
            codes.cols(),
            model.code_dim()
        )));
    }
    codes.check_finite()?;
    let rows = model.decode(codes.as_slice(), &a.threads.threads())?;
    let d = model.input_dim();
    let header = crate::output::row_header(d);
    match &a.output {
        Some(p) => {
            write_array(p, &rows, d, Some(&header), None)?;
            eprintln!("wrote {} rows of {d} values to {}", codes.rows(), p.display());
        }
        None => print_csv(&rows, d, &header, None)?,
    }
    Ok(())
}
