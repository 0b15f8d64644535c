//! `ae report`: the model card page (the `report` module) as one self-contained HTML
//! file, from a model and optionally data to show it on.

use std::path::PathBuf;

use autoencoder::data::builtin::Split;
use autoencoder::{atomic, file, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::report::{page, Evidence};

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Where to write the page (.html).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub threads: ThreadArgs,
}

pub fn run(a: ReportArgs) -> Result<()> {
    let _held = a.input.run_files().output("the page (-o)", &a.output).check()?;
    let model = file::load(&a.input.model)?;
    let has_data = !a.input.files.is_empty() || a.input.data.dataset.is_some();
    let evidence = if has_data {
        let data = a.input.load_for(&model, Split::Test)?;
        let name =
            a.input.files.first().map_or_else(|| "the dataset".to_string(), |p| p.display().to_string());
        Some(Evidence::of(&model, &data, &name, &a.threads.threads())?)
    } else {
        None
    };
    let name = a.input.model.file_name().map_or_else(|| "model".into(), |n| n.to_string_lossy().to_string());
    let html = page(&model, &name, evidence.as_ref(), false);
    atomic::write_atomic(&a.output, html.as_bytes())?;
    eprintln!("wrote {} ({} bytes)", a.output.display(), html.len());
    Ok(())
}
