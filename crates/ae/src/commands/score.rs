//! `ae score` and `ae detect`: an anomaly score per row (reconstruction error), the
//! 0/1 outlier flags from the threshold stored in the model, and — when labels are
//! known — ROC-AUC, average precision, precision@n and the confusion counts.

use std::io::Write;
use std::path::{Path, PathBuf};

use autoencoder::anomaly::{self, Confusion, Detector, ScoreKind};
use autoencoder::data::builtin::Split;
use autoencoder::data::open::load_labels;
use autoencoder::{atomic, file, Error, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};

#[derive(Args, Debug)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Known 0/1 outlier labels, one per row (CSV or NPY), to report ROC-AUC and friends.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// The score: mse, mae, root (mean √|error|), standardized, or elbo (variational models) [default: the model's detector's, else elbo for a variational model and mse otherwise].
    #[arg(long, value_name = "KIND")]
    pub score: Option<String>,
    /// Write `id,score[,outlier]` rows here (CSV).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub threads: ThreadArgs,
    /// Print one JSON object with the summary on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run_score(a: ScoreArgs) -> Result<()> {
    run(a, false)
}

pub fn run_detect(a: ScoreArgs) -> Result<()> {
    run(a, true)
}

fn run(a: ScoreArgs, detect: bool) -> Result<()> {
    let mut files = a.input.run_files().outputs("the scores (-o)", a.output.as_deref());
    if let Some(l) = &a.labels {
        files = files.input("the labels (--labels)", l);
    }
    let _held = files.check()?;
    let model = file::load(&a.input.model)?;
    let mut data = a.input.load_for(&model, Split::Test)?;
    model.check_data(&data)?;
    if let Some(p) = &a.labels {
        let labels = load_labels(p)?;
        if labels.len() != data.rows() {
            return Err(Error::format(
                p,
                format!("{} labels for {} rows in {}", labels.len(), data.rows(), data.source),
            ));
        }
        anomaly::check_binary_labels(&labels, &p.display().to_string())?;
        data = data.with_labels(labels)?;
    } else if let Some(l) = &data.labels {
        anomaly::check_binary_labels(l, &data.source)?;
    }
    let threads = a.threads.threads();
    let detector: Option<&Detector> = model.detector.as_ref();
    if detect && detector.is_none() {
        return Err(Error::Data(format!(
            "{}: the model has no threshold; train it with --threshold contamination=0.05 (or percentile=, sigma=, value=)",
            a.input.model.display()
        )));
    }
    let kind: ScoreKind = match (&a.score, detector) {
        (Some(s), _) => s.parse()?,
        (None, Some(d)) => d.score,
        (None, None) => ScoreKind::default_for(&model),
    };
    let scale: &[f32] = match detector {
        Some(d) if d.score == kind => &d.feature_scale,
        _ if kind == ScoreKind::Standardized => {
            return Err(Error::Data(
                "standardized scores need the feature scales fitted at training: train with --score standardized --threshold …".into(),
            ))
        }
        _ => &[],
    };
    let scores = anomaly::scores(&model, &data, kind, scale, &threads)?;
    let flags = detector.filter(|d| d.score == kind).map(|d| d.labels(&scores));
    if let Some(p) = &a.output {
        write_scores(p, &scores, flags.as_deref())?;
    }
    let mut summary = serde_json::json!({
        "model": a.input.model,
        "data": data.source,
        "rows": data.rows(),
        "score": kind,
        "output": a.output,
    });
    if let (Some(d), Some(f)) = (detector, &flags) {
        summary["threshold"] = serde_json::json!(d.threshold);
        summary["rule"] = serde_json::to_value(d.rule).unwrap_or_default();
        summary["outliers"] = serde_json::json!(f.iter().filter(|&&v| v == 1).count());
    }
    if let Some(labels) = &data.labels {
        summary["roc_auc"] = serde_json::json!(anomaly::roc_auc(&scores, labels));
        summary["average_precision"] = serde_json::json!(anomaly::average_precision(&scores, labels));
        summary["precision_at_n"] = serde_json::json!(anomaly::precision_at_n(&scores, labels, None));
        if let Some(f) = &flags {
            summary["confusion"] = serde_json::to_value(Confusion::new(f, labels)).unwrap_or_default();
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
    } else {
        for (k, v) in summary.as_object().into_iter().flatten() {
            if !v.is_null() {
                println!("{k:<18} {v}");
            }
        }
    }
    Ok(())
}

fn write_scores(path: &Path, scores: &[f64], flags: Option<&[u8]>) -> Result<()> {
    atomic::write_atomic_with(path, |w: &mut dyn Write| {
        match flags {
            Some(_) => writeln!(w, "id,score,outlier")?,
            None => writeln!(w, "id,score")?,
        }
        for (i, s) in scores.iter().enumerate() {
            match flags {
                Some(f) => writeln!(w, "{i},{s},{}", f[i])?,
                None => writeln!(w, "{i},{s}")?,
            }
        }
        Ok(())
    })
}
