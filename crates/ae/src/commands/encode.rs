//! `ae encode`: rows in, codes out (CSV or NPY by extension; CSV on stdout without `-o`).
//! Table files larger than the memory budget (or with `--stream`) are read a part at a
//! time: memory holds one part of the rows and every row's code.

use std::path::PathBuf;

use autoencoder::data::RowIds;
use autoencoder::{file, Error, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::output::{code_header, print_csv, write_array};
use crate::rows::{Rows, StreamArgs};

#[derive(Args, Debug)]
pub struct EncodeArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Where to write the codes: .csv, .npy or .npz (CSV on stdout when absent).
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
    // Every row's code, reserved at once where memory allows (else grown as they come).
    let mut codes: Vec<f32> = Vec::new();
    let _ = codes.try_reserve_exact(usize::try_from(rows.count()).unwrap_or(0).saturating_mul(k));
    let mut ids: Option<RowIds> = None;
    let mut count = 0usize;
    rows.for_each(&model, |part| {
        codes.extend(model.encode(part.as_slice(), &threads)?);
        let same = match (count, ids.as_mut(), &part.ids) {
            (0, _, _) => {
                ids = part.ids.clone();
                true
            }
            (_, Some(all), Some(v)) => all.append(v),
            (_, None, None) => true,
            _ => false,
        };
        if !same {
            return Err(Error::Data(format!("{}: the id column changes kind part way", rows.source())));
        }
        count += part.rows();
        Ok(())
    })?;
    match &a.output {
        Some(p) => {
            write_array(p, &codes, k, Some(&code_header(k)), ids.as_ref())?;
            eprintln!("wrote {count} codes of {k} values to {}", p.display());
        }
        None => print_csv(&codes, k, &code_header(k), ids.as_ref())?,
    }
    Ok(())
}
