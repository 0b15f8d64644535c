//! `ae encode`: rows in, codes out (CSV or NPY by extension; CSV on stdout without `-o`).
//! Table files larger than the memory budget (or with `--stream`) are read a part at a
//! time, each part's codes written as they come: memory holds one part.

use std::path::{Path, PathBuf};

use autoencoder::{file, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::output::code_header;
use crate::rows::{Rows, StreamArgs};

#[derive(Args, Debug)]
pub struct EncodeArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Where to write the codes: .csv, .npy, .npz or .parquet (CSV on stdout when absent; not .npz when the rows are read a part at a time).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub stream: StreamArgs,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

pub fn run(a: EncodeArgs) -> Result<()> {
    let _held = a.input.run_files().outputs("the codes (-o)", a.output.as_deref()).check()?;
    let model = file::load(&a.input.model)?;
    let rows = Rows::open(&a.input, &a.stream, &model, 0, "encoding")?;
    let threads = a.threads.threads();
    let k = model.code_dim();
    let path = a.output.as_deref().unwrap_or(Path::new("-"));
    let count = rows
        .write_mapped(&model, path, k, &code_header(k), a.stream.budget(), |x| model.encode(x, &threads))?;
    if let Some(p) = &a.output {
        eprintln!("wrote {count} codes of {k} values to {}", p.display());
    }
    Ok(())
}
