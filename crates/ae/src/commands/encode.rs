//! `ae encode`: rows in, codes out (CSV or NPY by extension; CSV on stdout without `-o`).

use std::path::PathBuf;

use autoencoder::data::builtin::Split;
use autoencoder::{file, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::output::{code_header, print_csv, write_array};

#[derive(Args, Debug)]
pub struct EncodeArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Where to write the codes: .csv, .npy or .npz (CSV on stdout when absent).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

pub fn run(a: EncodeArgs) -> Result<()> {
    let _held = a.input.run_files().outputs("the codes (-o)", a.output.as_deref()).check()?;
    let model = file::load(&a.input.model)?;
    let data = a.input.load_for(&model, Split::Test)?;
    model.check_data(&data)?;
    let codes = model.encode(data.as_slice(), &a.threads.threads())?;
    let k = model.code_dim();
    match &a.output {
        Some(p) => {
            write_array(p, &codes, k, Some(&code_header(k)), data.ids.as_ref())?;
            eprintln!("wrote {} codes of {k} values to {}", data.rows(), p.display());
        }
        None => print_csv(&codes, k, &code_header(k), data.ids.as_ref())?,
    }
    Ok(())
}
