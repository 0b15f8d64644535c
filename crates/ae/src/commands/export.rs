//! `ae export`: a model as an ONNX graph (the library's `onnx` module), for ONNX Runtime
//! and the serving stacks that read ONNX.

use std::path::PathBuf;

use autoencoder::anomaly::ScoreKind;
use autoencoder::onnx::{self, ExportOptions, Part};
use autoencoder::{atomic, file, Result};
use clap::Args;

use autoencoder::run_files::RunFiles;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model file.
    pub model: PathBuf,
    /// The format: onnx.
    #[arg(long, default_value = "onnx", value_parser = ["onnx"])]
    pub format: String,
    /// What the graph computes: encoder (rows → code), decoder (code → reconstruction),
    /// reconstruct, score, or all (code, reconstruction and score).
    #[arg(long, default_value = "all", value_name = "PART")]
    pub part: Part,
    /// The score in the graph: mse, mae, root or standardized (default: the model's
    /// detector's, else its default; elbo cannot be exported).
    #[arg(long, value_name = "KIND")]
    pub score: Option<ScoreKind>,
    /// Where to write the graph (.onnx).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(a: ExportArgs) -> Result<()> {
    let _held = RunFiles::new().input("the model", &a.model).output("the graph (-o)", &a.output).check()?;
    let model = file::load(&a.model)?;
    let out = onnx::export(&model, &ExportOptions { part: a.part, score: a.score })?;
    atomic::write_atomic(&a.output, &out.bytes)?;
    let score = out.score.map(|k| format!(" (score: {k})")).unwrap_or_default();
    eprintln!(
        "wrote {} (ONNX opset {}, outputs {}{score}, {} bytes)",
        a.output.display(),
        onnx::OPSET,
        out.outputs.join(", "),
        out.bytes.len()
    );
    if let Some(why) = out.no_score {
        eprintln!("note: no score output: {why}");
    }
    Ok(())
}
