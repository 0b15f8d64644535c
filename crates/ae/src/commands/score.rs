//! `ae score` and `ae detect`: an anomaly score per row (reconstruction error), the
//! 0/1 outlier flags from the threshold stored in the model, and — when labels are
//! known — ROC-AUC, average precision, precision@n and the confusion counts.

use std::io::Write;
use std::path::{Path, PathBuf};

use autoencoder::anomaly::{self, Confusion, Detector, Probability, ScoreKind, ThresholdRule};
use autoencoder::data::columnar::{Column, ParquetRows};
use autoencoder::data::RowIds;
use autoencoder::{atomic, file, Dataset, Error, Result};
use clap::Args;

use crate::args::{ModelData, ThreadArgs};
use crate::detector_plot;
use crate::rows::{Rows, StreamArgs};

#[derive(Args, Debug)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Known 0/1 outlier labels, one per row (CSV or NPY), to report ROC-AUC and friends.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// The score: mse, mae, root (mean √|error|), standardized, or elbo (variational models) [default: the model's detector's, else elbo for a variational model and mse otherwise].
    #[arg(long, value_name = "KIND")]
    pub score: Option<ScoreKind>,
    /// Write `id,score[,outlier]` rows here (CSV, or Parquet for a name ending in .parquet; `-` is standard output) [default: standard output, the summary then on standard error; with --json, only the summary].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The global index of the data's first row, when it is one shard of a larger file scored by separate processes: the `id`s start there, and the elbo score's samples are drawn at each row's global index, so the shards' rows equal the whole file's bit for bit.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=MAX_ROW_OFFSET))]
    pub row_offset: u64,
    /// Add to each row the K features that contribute most to its score, with their shares of it (`feature_1,contribution_1,…`, features named by the data's header, else their 0-based index): what makes a row anomalous. The reconstruction scores (mse, mae, root, standardized) are sums of one term per feature; elbo is not.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub explain: Option<u64>,
    /// Add each row's probability of being an outlier (a `probability` column), scaled by the model's training scores as PyOD's predict_proba: linear (min–max) or unify (the erf of their z-score). Needs a model trained with --threshold.
    #[arg(long, value_name = "METHOD")]
    pub proba: Option<Probability>,
    /// Write pictures of the detector into this folder (made when missing): `histogram.png`, the scores with the model's threshold, and with 0/1 labels `roc.png` and `pr.png`, the ROC and precision-recall curves.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    #[command(flatten)]
    pub stream: StreamArgs,
    #[command(flatten)]
    pub threads: ThreadArgs,
    /// Print one JSON object with the summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The files `--plots` writes in its folder: the ROC and precision-recall curves (with
/// labels) and the score histogram.
const PLOTS: [&str; 3] = ["roc.png", "pr.png", "histogram.png"];

/// The largest `--row-offset`: 2⁶², so that every id fits a 64-bit integer.
const MAX_ROW_OFFSET: u64 = autoencoder::data::dataset::MAX_FIRST_ROW;

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
    let plot_files = a.plots.as_ref().map(|dir| PLOTS.map(|name| dir.join(name)));
    for (p, what) in
        plot_files.iter().flatten().zip(["the ROC plot", "the precision-recall plot", "the score histogram"])
    {
        files = files.output(format!("{what} (--plots)"), p);
    }
    if let Some(dir) = &a.plots {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let _held = files.check()?;
    if let Some(out) = a.output.as_deref().filter(|o| o.as_os_str() != "-") {
        // CSV, or Parquet by name: an NPY name would get CSV text.
        autoencoder::data::rows_writer::check_csv_name(out, ".csv or .parquet", &["npy", "npz"])?;
    }
    let model = file::load(&a.input.model)?;
    let detector: Option<&Detector> = model.detector.as_ref();
    if detect && detector.is_none() {
        return Err(Error::Data(format!(
            "{}: the model has no threshold; train it with --threshold contamination=0.05 (or percentile=, sigma=, value=)",
            a.input.model.display()
        )));
    }
    // What no data can make right is refused before any is read: a score asked for that
    // cannot be explained first (an elbo is not, whether or not the model has one).
    if let (Some(_), Some(asked)) = (a.explain, a.score) {
        anomaly::check_explainable(asked)?;
    }
    let (kind, _) = anomaly::resolve_score(&model, a.score)?;
    if a.explain.is_some() {
        anomaly::check_explainable(kind)?;
    }
    check_proba(a.proba, detector, kind)?;
    let rows = Rows::open(&a.input, &a.stream, &model, a.row_offset, "scoring")?;
    let known = match &a.labels {
        Some(p) => Some(rows.labels_from(p, true)?),
        None => None,
    };
    // A labels file beside streamed data is read as the rows would have read it (read
    // whole, the data holds it).
    let beside = match (&known, rows.labels_file()) {
        (None, Some(p)) => Some(rows.labels_from(p, false)?),
        _ => None,
    };
    let threads = a.threads.threads();
    // The rows go to standard output with `-o -`, or without -o unless only the JSON
    // summary is asked for; the summary then goes to standard error.
    let rows_out = match &a.output {
        Some(p) => Some(p.as_path()),
        None if !a.json => Some(Path::new("-")),
        None => None,
    };
    let layout = Layout {
        flags: detector.is_some_and(|d| d.score == kind),
        proba: a.proba.is_some(),
        explain: a.explain.map(|k| (k as usize).min(model.input_dim())),
    };
    let mut pass = Pass::new(rows.count(), layout.flags);
    let mut score = |mut sink: Option<&mut Sink>| {
        rows.score(&model, kind, &threads, |part, scored| {
            let explained = match a.explain {
                Some(k) => Some(anomaly::explain_rows(&model, part, Some(kind), k as usize, &threads)?),
                None => None,
            };
            let proba = match (a.proba, detector) {
                (Some(method), Some(d)) => Some(d.probabilities(&scored.scores, method)?),
                _ => None,
            };
            let flags = scored.flags.map(|(_, f)| f);
            if let Some(sink) = sink.as_deref_mut() {
                let why = explained.as_ref().map(|e| Why::new(e, part.feature_names.as_deref()));
                let extra = Extra { flags: flags.as_deref(), proba: proba.as_deref(), why: why.as_ref() };
                sink.write(&part.row_ids(), &scored.scores, &extra)?;
            }
            pass.add(part, scored.scores, flags);
            Ok(())
        })
    };
    match rows_out {
        Some(p) => atomic::write_atomic_try(p, |out| {
            let mut sink = Sink::new(p, out, &layout)?;
            score(Some(&mut sink))?;
            sink.finish()
        })?,
        None => score(None)?,
    }
    let Pass { scores, flags, labels: read_labels, .. } = pass;
    // A label column (or a labels file beside the data) is left out of the features
    // whatever it holds; only 0/1 labels judge the scores (class labels, text mapped to
    // classes, are just left out).
    let read_labels = beside.or(read_labels);
    let mut labels_unused = None;
    let labels = match (known, read_labels) {
        (Some(l), _) => Some(l),
        (None, Some(l)) => match anomaly::check_binary_labels(&l, rows.source()) {
            Ok(()) => Some(l),
            Err(why) => {
                labels_unused =
                    Some(format!("{why}; the label column is left out, and the scores are not judged"));
                None
            }
        },
        (None, None) => None,
    };
    let flags = layout.flags.then_some(flags);
    let summary_to_stderr = rows_out.is_some_and(|p| p.as_os_str() == "-");
    let flagged = match (detector, &flags) {
        (Some(d), Some(f)) => Some(Flagged {
            threshold: d.threshold,
            rule: d.rule,
            outliers: f.iter().filter(|&&v| v == 1).count(),
        }),
        _ => None,
    };
    // The rows ranked once by score, for every measure and curve of the labels.
    let ranked = labels.as_ref().map(|labels| anomaly::Ranked::new(&scores, labels));
    let judged = ranked.as_ref().zip(labels.as_ref()).map(|(r, labels)| Judged {
        roc_auc: r.roc_auc(),
        average_precision: r.average_precision(),
        precision_at_n: r.precision_at_n(None),
        confusion: flags.as_ref().map(|f| Confusion::new(f, labels)),
    });
    if let Some([roc, pr, hist]) = &plot_files {
        let threshold = detector.filter(|d| d.score == kind).map(|d| d.threshold);
        if let Some(h) = anomaly::histogram(&scores, 60) {
            detector_plot::write_histogram(hist, &h, &kind.to_string(), threshold).map_err(Error::Data)?;
        }
        if let (Some(r), Some(j), Some(labels)) = (&ranked, &judged, &labels) {
            if let (Some(points), Some(auc)) = (r.roc_curve(), j.roc_auc) {
                detector_plot::write_roc(roc, &points, auc).map_err(Error::Data)?;
            }
            if let (Some(points), Some(ap)) = (r.pr_curve(), j.average_precision) {
                let rate = labels.iter().filter(|&&l| l == 1).count() as f64 / labels.len().max(1) as f64;
                detector_plot::write_pr(pr, &points, ap, rate).map_err(Error::Data)?;
            }
        }
    }
    drop(ranked);
    let report = ScoreReport {
        model: a.input.model.clone(),
        data: rows.source().to_string(),
        rows: scores.len(),
        score: kind,
        output: a.output.clone(),
        flagged,
        judged,
        labels_unused,
    };
    let text = if a.json {
        format!("{}\n", serde_json::to_string_pretty(&report).unwrap_or_default())
    } else {
        report.text()
    };
    if summary_to_stderr {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    Ok(())
}

/// `--proba` needs the model's detector, and scales its kind of score only.
fn check_proba(proba: Option<Probability>, detector: Option<&Detector>, kind: ScoreKind) -> Result<()> {
    match (proba, detector) {
        (None, _) => Ok(()),
        (Some(_), Some(d)) if d.score == kind => Ok(()),
        (Some(_), Some(d)) => Err(Error::config(
            "proba",
            format!("the probabilities scale the detector's {} scores, not {kind} scores", d.score),
        )),
        (Some(_), None) => Err(Error::config(
            "proba",
            "outlier probabilities need a model with a detector: train it with --threshold contamination=0.05 (or percentile=, sigma=, value=)",
        )),
    }
}

/// What the summary needs of every row, kept as the parts are scored: 8 bytes a row for
/// the score, 1 for its flag and 8 for a label, reserved at once for every row.
struct Pass {
    rows: usize,
    scores: Vec<f64>,
    flags: Vec<u8>,
    /// The data's own labels (a label column), when every part has them.
    labels: Option<Vec<i64>>,
}

impl Pass {
    fn new(rows: u64, flags: bool) -> Pass {
        let rows = usize::try_from(rows).unwrap_or(usize::MAX);
        let flags = if flags { Vec::with_capacity(rows) } else { Vec::new() };
        Pass { rows, scores: Vec::with_capacity(rows), flags, labels: None }
    }

    fn add(&mut self, part: &Dataset, scores: Vec<f64>, flags: Option<Vec<u8>>) {
        self.labels = match (self.scores.is_empty(), self.labels.take(), &part.labels) {
            (true, _, Some(l)) => {
                let mut all = Vec::with_capacity(self.rows);
                all.extend_from_slice(l);
                Some(all)
            }
            (false, Some(mut all), Some(l)) => {
                all.extend_from_slice(l);
                Some(all)
            }
            _ => None,
        };
        self.scores.extend(scores);
        self.flags.extend(flags.unwrap_or_default());
    }
}

/// What `ae score` and `ae detect` report: one JSON object with `--json`, else a
/// `name value` line per known value.
#[derive(serde::Serialize)]
struct ScoreReport {
    model: PathBuf,
    data: String,
    rows: usize,
    score: ScoreKind,
    output: Option<PathBuf>,
    /// With the model's detector.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    flagged: Option<Flagged>,
    /// With known labels.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    judged: Option<Judged>,
    /// Why the label column's labels do not judge the scores (they are not 0/1).
    #[serde(skip_serializing_if = "Option::is_none")]
    labels_unused: Option<String>,
}

/// The outliers the model's threshold flags.
#[derive(serde::Serialize)]
struct Flagged {
    threshold: f64,
    rule: ThresholdRule,
    outliers: usize,
}

/// The scores judged against known labels.
#[derive(serde::Serialize)]
struct Judged {
    roc_auc: Option<f64>,
    average_precision: Option<f64>,
    precision_at_n: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confusion: Option<Confusion>,
}

impl ScoreReport {
    /// One `name value` line per known value, in the library's words.
    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let mut line = |k: &str, v: &dyn std::fmt::Display| {
            let _ = writeln!(out, "{k:<18} {v}");
        };
        line("model", &self.model.display());
        line("data", &self.data);
        line("rows", &self.rows);
        line("score", &self.score);
        if let Some(o) = &self.output {
            line("output", &o.display());
        }
        if let Some(f) = &self.flagged {
            line("threshold", &format!("{} ({})", f.threshold, f.rule));
            line("outliers", &f.outliers);
        }
        if let Some(why) = &self.labels_unused {
            line("labels", why);
        }
        if let Some(j) = &self.judged {
            for (k, v) in [
                ("roc_auc", j.roc_auc),
                ("average_precision", j.average_precision),
                ("precision_at_n", j.precision_at_n),
            ] {
                if let Some(v) = v {
                    line(k, &v);
                }
            }
            if let Some(c) = &j.confusion {
                line(
                    "confusion",
                    &format!(
                        "{} true positives, {} false positives, {} true negatives, {} false negatives",
                        c.true_positives, c.false_positives, c.true_negatives, c.false_negatives
                    ),
                );
            }
        }
        out
    }
}

/// The explanations as columns: `feature_i` (the feature's name) and `contribution_i`
/// for each of the K places.
struct Why {
    names: Vec<(String, String)>,
    features: Vec<RowIds>,
    contributions: Vec<Vec<f64>>,
}

impl Why {
    fn new(e: &anomaly::Explanation, feature_names: Option<&[String]>) -> Why {
        let name = |j: usize| feature_names.and_then(|n| n.get(j).cloned()).unwrap_or_else(|| j.to_string());
        let rows = e.features.len() / e.k.max(1);
        Why {
            names: (1..=e.k).map(|i| (format!("feature_{i}"), format!("contribution_{i}"))).collect(),
            features: (0..e.k)
                .map(|i| RowIds::Text((0..rows).map(|r| name(e.features[r * e.k + i])).collect()))
                .collect(),
            contributions: (0..e.k)
                .map(|i| (0..rows).map(|r| e.contributions[r * e.k + i]).collect())
                .collect(),
        }
    }
}

/// The columns after `id,score`: the flags, the probabilities, the explanations.
struct Extra<'a> {
    flags: Option<&'a [u8]>,
    proba: Option<&'a [f64]>,
    why: Option<&'a Why>,
}

/// The columns after `id,score`, the same in every part's rows: the flags (with the
/// detector's score), the probabilities (`--proba`), and the `K` explanations
/// (`--explain K`, at most the model's width).
struct Layout {
    flags: bool,
    proba: bool,
    explain: Option<usize>,
}

/// Where the `id,score[,outlier]…` rows go, a part's rows at a time (the ids: the data's
/// id column, else each row's global index): Parquet when the path ends in `.parquet`,
/// else CSV, its header written first.
enum Sink<'w> {
    Csv { path: PathBuf, out: csv::Writer<&'w mut (dyn Write + Send)> },
    Parquet(ParquetRows<&'w mut (dyn Write + Send)>),
}

impl<'w> Sink<'w> {
    fn new(path: &Path, out: &'w mut (dyn Write + Send), layout: &Layout) -> Result<Sink<'w>> {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet")) {
            return Ok(Sink::Parquet(ParquetRows::new(path, out)));
        }
        // The csv crate quotes a text id that holds a comma, a quote or a line break.
        let mut out = csv::WriterBuilder::new().from_writer(out);
        let path = match path.as_os_str() == "-" {
            true => PathBuf::from("<stdout>"),
            false => path.to_path_buf(),
        };
        let mut header = vec!["id".to_string(), "score".to_string()];
        header.extend(layout.flags.then(|| "outlier".to_string()));
        header.extend(layout.proba.then(|| "probability".to_string()));
        for i in 1..=layout.explain.unwrap_or(0) {
            header.extend([format!("feature_{i}"), format!("contribution_{i}")]);
        }
        out.write_record(&header).map_err(|e| Error::io(&path, e.into()))?;
        Ok(Sink::Csv { path, out })
    }

    /// One part's rows.
    fn write(&mut self, ids: &RowIds, scores: &[f64], extra: &Extra) -> Result<()> {
        let Extra { flags, proba, why } = *extra;
        match self {
            Sink::Parquet(out) => {
                let mut columns = vec![("id", Column::Ids(ids)), ("score", Column::Float64(scores))];
                if let Some(f) = flags {
                    columns.push(("outlier", Column::Flags(f)));
                }
                if let Some(p) = proba {
                    columns.push(("probability", Column::Float64(p)));
                }
                if let Some(w) = why {
                    for (i, (f, c)) in w.names.iter().enumerate() {
                        columns.push((f.as_str(), Column::Ids(&w.features[i])));
                        columns.push((c.as_str(), Column::Float64(&w.contributions[i])));
                    }
                }
                out.write(&columns)
            }
            Sink::Csv { path, out } => {
                let mut rows = || -> csv::Result<()> {
                    for (i, s) in scores.iter().enumerate() {
                        out.write_field(ids.text(i).as_bytes())?;
                        out.write_field(s.to_string())?;
                        if let Some(f) = flags {
                            out.write_field(f[i].to_string())?;
                        }
                        if let Some(p) = proba {
                            out.write_field(p[i].to_string())?;
                        }
                        if let Some(w) = why {
                            for (f, c) in w.features.iter().zip(&w.contributions) {
                                out.write_field(f.text(i).as_bytes())?;
                                out.write_field(c[i].to_string())?;
                            }
                        }
                        out.write_record(None::<&[u8]>)?;
                    }
                    Ok(())
                };
                rows().map_err(|e| Error::io(&*path, e.into()))
            }
        }
    }

    /// The end of the rows: a Parquet file's footer, the CSV writer's buffer.
    fn finish(self) -> Result<()> {
        match self {
            Sink::Parquet(out) => out.finish(),
            Sink::Csv { path, mut out } => out.flush().map_err(|e| Error::io(path, e)),
        }
    }
}
