//! `ae inspect`: what a model file holds: architecture, parameters, normaliser, training.

use std::path::PathBuf;

use autoencoder::anomaly::{ScoreKind, ScoreSummary, ThresholdRule};
use autoencoder::data::columns::Categorical;
use autoencoder::model::TrainingSummary;
use autoencoder::{file, ModelConfig, NormalizeKind, Result};
use clap::Args;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The model file.
    pub model: PathBuf,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What `ae inspect` reports: one JSON object with `--json`, else aligned lines.
#[derive(serde::Serialize)]
struct InspectReport<'a> {
    model: &'a std::path::Path,
    format: &'a str,
    architecture: String,
    parameters: usize,
    config: &'a ModelConfig,
    layers: Vec<String>,
    tensors: Vec<Tensor>,
    normalizer: NormalizeKind,
    training: Option<&'a TrainingSummary>,
    threshold: Option<Threshold>,
    /// Each feature's fill for a missing value (a model trained with `--missing mean`).
    #[serde(skip_serializing_if = "Option::is_none")]
    missing_fill: Option<&'a [f32]>,
    /// The one-hot encodings of categorical columns.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    categorical: &'a [Categorical],
    /// Each layer's part (encoder or decoder), description and parameter count.
    #[serde(skip)]
    layer_rows: Vec<(&'static str, String, usize)>,
}

#[derive(serde::Serialize)]
struct Tensor {
    name: String,
    shape: Vec<usize>,
}

#[derive(serde::Serialize)]
struct Threshold {
    score: ScoreKind,
    rule: ThresholdRule,
    threshold: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    training_scores: Option<ScoreSummary>,
}

impl InspectReport<'_> {
    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let cfg = self.config;
        let _ = writeln!(o, "model        {}", self.model.display());
        let _ = writeln!(o, "format       {}", self.format);
        let _ = writeln!(o, "architecture {} ({} parameters)", self.architecture, self.parameters);
        if let Some(s) = cfg.image_shape {
            let _ = writeln!(
                o,
                "images       {}×{}×{} (channels × height × width)",
                s.channels, s.height, s.width
            );
        }
        let _ = writeln!(o, "layers");
        for (part, describe, params) in &self.layer_rows {
            let _ = writeln!(o, "  {part:<8} {describe:<54} {params:>8} parameters");
        }
        let _ = writeln!(o, "normaliser   {}", self.normalizer);
        if let Some(f) = self.missing_fill {
            let _ =
                writeln!(o, "missing      filled with each feature's training mean ({} features)", f.len());
        }
        for c in self.categorical {
            let shown: Vec<&str> = c.values.iter().take(8).map(String::as_str).collect();
            let more = if c.values.len() > 8 { ", …" } else { "" };
            let _ = writeln!(
                o,
                "categorical  {} → {} one-hot features ({}{more})",
                c.column,
                c.values.len(),
                shown.join(", ")
            );
        }
        if let Some(k) = cfg.score {
            let _ = writeln!(o, "score        {k} (the model's anomaly score)");
        }
        if let Some(d) = &self.threshold {
            let _ = writeln!(o, "threshold    {} score > {} ({})", d.score, d.threshold, d.rule);
            if let Some(t) = &d.training_scores {
                let _ = writeln!(
                    o,
                    "  flags      {:.2}% of the training rows (their scores: {:.6} to {:.6}, mean {:.6}, std {:.6})",
                    100.0 * t.flagged,
                    t.min,
                    t.max,
                    t.mean,
                    t.std
                );
            }
        }
        match self.training {
            Some(t) => {
                let _ = writeln!(
                    o,
                    "training     {} epochs ({}), weights from epoch {}, seed {}",
                    t.epochs_run, t.stop_reason, t.weights_epoch, t.seed
                );
                let _ = writeln!(
                    o,
                    "  data       {} ({} training rows, {} validation rows)",
                    t.data, t.rows.0, t.rows.1
                );
                if let Some(l) = t.train_loss.last() {
                    let _ = writeln!(o, "  last loss  {l:.5}");
                }
                if let Some(l) = t.val_loss.last() {
                    let _ = writeln!(o, "  last val   {l:.5}");
                }
                for k in ["loss", "batch_size", "optimizer", "trim", "min_steps"] {
                    if let Some(v) = t.config.get(k) {
                        let _ = writeln!(o, "  {k:<10} {}", setting(v));
                    }
                }
            }
            None => {
                let _ = writeln!(o, "training     (none recorded)");
            }
        }
        o
    }
}

/// A recorded setting as the flag would take it: a name without JSON's quotes; the
/// optimizer by its kind and learning rate.
fn setting(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => match (m.get("kind"), m.get("lr")) {
            (Some(serde_json::Value::String(k)), Some(lr)) => format!("{k} (lr {lr})"),
            _ => v.to_string(),
        },
        other => other.to_string(),
    }
}

pub fn run(a: InspectArgs) -> Result<()> {
    let model = file::load(&a.model)?;
    let cfg = model.config();
    let report = InspectReport {
        model: &a.model,
        format: file::FORMAT,
        architecture: cfg.describe(),
        parameters: model.param_count(),
        config: cfg,
        layers: model.layers().iter().map(|l| l.describe()).collect(),
        tensors: model.tensors().into_iter().map(|t| Tensor { name: t.name, shape: t.shape }).collect(),
        normalizer: model.normalizer().kind,
        training: model.training.as_ref(),
        threshold: model.detector.as_ref().map(|d| Threshold {
            score: d.score,
            rule: d.rule,
            threshold: d.threshold,
            training_scores: d.training_scores,
        }),
        missing_fill: model.normalizer().fills_missing().then_some(&model.normalizer().fill[..]),
        categorical: &model.categories,
        layer_rows: model
            .layers()
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let part = if i < model.encoder_len() { "encoder" } else { "decoder" };
                (part, l.describe(), l.param_len())
            })
            .collect(),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print!("{}", report.text());
    }
    Ok(())
}
