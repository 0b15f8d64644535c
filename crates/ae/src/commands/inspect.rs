//! `ae inspect`: what a model file holds: architecture, parameters, normaliser, training.

use std::path::PathBuf;

use autoencoder::{file, Result};
use clap::Args;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The model file.
    pub model: PathBuf,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: InspectArgs) -> Result<()> {
    let model = file::load(&a.model)?;
    let cfg = model.config();
    if a.json {
        let tensors: Vec<_> =
            model.tensors().iter().map(|t| serde_json::json!({ "name": t.name, "shape": t.shape })).collect();
        let j = serde_json::json!({
            "model": a.model,
            "format": file::FORMAT,
            "architecture": cfg.describe(),
            "parameters": model.param_count(),
            "config": cfg,
            "layers": model.layers().iter().map(|l| l.describe()).collect::<Vec<_>>(),
            "tensors": tensors,
            "normalizer": model.normalizer().kind,
            "training": model.training,
            "threshold": model.detector.as_ref().map(|d| serde_json::json!({"score": d.score, "rule": d.rule, "threshold": d.threshold})),
        });
        println!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
        return Ok(());
    }
    println!("model        {}", a.model.display());
    println!("format       {}", file::FORMAT);
    println!("architecture {} ({} parameters)", cfg.describe(), model.param_count());
    if let Some(s) = cfg.image_shape {
        println!("images       {}×{}×{} (channels × height × width)", s.channels, s.height, s.width);
    }
    println!("layers");
    for (i, l) in model.layers().iter().enumerate() {
        let part = if i < model.encoder_len() { "encoder" } else { "decoder" };
        println!("  {part:<8} {:<54} {:>8} parameters", l.describe(), l.param_len());
    }
    println!("normaliser   {:?}", model.normalizer().kind);
    if let Some(k) = cfg.score {
        println!("score        {k:?} (the model's anomaly score)");
    }
    if let Some(d) = &model.detector {
        println!("threshold    {:?} score > {} ({:?})", d.score, d.threshold, d.rule);
    }
    match &model.training {
        Some(t) => {
            println!(
                "training     {} epochs ({:?}), weights from epoch {}, seed {}, {} thread(s)",
                t.epochs_run, t.stop_reason, t.weights_epoch, t.seed, t.threads
            );
            println!("  data       {} ({} training rows, {} validation rows)", t.data, t.rows.0, t.rows.1);
            if let Some(l) = t.train_loss.last() {
                println!("  last loss  {l:.5}");
            }
            if let Some(l) = t.val_loss.last() {
                println!("  last val   {l:.5}");
            }
            for k in ["loss", "batch_size", "optimizer", "trim", "min_steps"] {
                if let Some(v) = t.config.get(k) {
                    println!("  {k:<10} {v}");
                }
            }
        }
        None => println!("training     (none recorded)"),
    }
    Ok(())
}
