//! `ae evaluate`: reconstruction metrics of a model on data, beside PCA with the
//! same code size fitted on the training rows.

use std::path::PathBuf;

use autoencoder::baseline::{self, RepresentationProbes};
use autoencoder::data::builtin::Split;
use autoencoder::data::chunks::ChunkedRows;
use autoencoder::evaluation::Evaluation;
use autoencoder::metrics::ReconstructionMetrics;
use autoencoder::pca::Method;
use autoencoder::rate_distortion::{self as rd, RdPoint};
use autoencoder::{file, Autoencoder, Dataset, Error, Result, Threads};
use clap::Args;

use crate::args::{DataArgs, ModelData, ThreadArgs};
use crate::progress::Work;
use crate::rd_plot;
use crate::rows::{Rows, StreamArgs};

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub input: ModelData,
    /// Fit the PCA baseline on this file instead, read with the same data flags
    /// (default: the named dataset's training split, or the evaluated rows themselves).
    /// A table over --memory-budget (or with --stream) is fitted a part at a time, in
    /// two passes, to the same numbers.
    #[arg(long, value_name = "FILE")]
    pub pca_fit: Option<PathBuf>,
    /// Skip the PCA baseline.
    #[arg(long)]
    pub no_pca: bool,
    /// Time the model's pass over the data this many times and report the median
    /// (`inference_seconds`, `rows_per_second`).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: usize,
    /// Also measure rate and distortion: for each of --bits, the bytes per image of
    /// `ae compress` (one image per file, all framing counted) and the PSNR, beside PCA
    /// with the same quantiser and JPEG at qualities of about the same size.
    #[arg(long)]
    pub rate_distortion: bool,
    /// Bits per code dimension to measure with --rate-distortion.
    #[arg(long, value_delimiter = ',', default_values_t = [2u32, 3, 4, 5, 6, 8], value_name = "B1,B2,…")]
    pub bits: Vec<u32>,
    /// JPEG qualities to measure with --rate-distortion.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_QUALITIES, value_name = "Q1,Q2,…")]
    pub jpeg_qualities: Vec<u8>,
    /// Where to draw the rate-distortion plot [default: beside the model, MODEL.rd.png].
    #[arg(long, value_name = "FILE.png")]
    pub rd_plot: Option<PathBuf>,
    /// Binarise the evaluated rows once first (each value x becomes 1 with probability x),
    /// with this seed: the binarised-MNIST test set.
    #[arg(long, value_name = "SEED")]
    pub binarize: Option<u64>,
    /// Variational models: importance samples per row for the negative log-likelihood
    /// (0 skips it).
    #[arg(long, default_value_t = 1000, value_name = "K")]
    pub iw_samples: usize,
    /// Representation probes on labelled data: the accuracy of 5-nearest-neighbour
    /// classifiers (Euclidean, cosine) and of a logistic regression trained on the
    /// training rows' codes and measured on the evaluated rows, and k-means agreement
    /// with the labels (ARI, NMI) — beside PCA's codes of the same width and the raw
    /// rows. The training rows: a named dataset's training split, or --probe-train.
    #[arg(long)]
    pub probe: bool,
    /// With --probe: the labelled training rows, and a labels file when they are
    /// separate (read with the same data flags, e.g. --label-column).
    #[arg(long, value_name = "FILE", num_args = 1..=2)]
    pub probe_train: Vec<PathBuf>,
    #[command(flatten)]
    pub stream: StreamArgs,
    #[command(flatten)]
    pub threads: ThreadArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// JPEG qualities measured by default: every step where sizes change noticeably.
pub const DEFAULT_QUALITIES: [u8; 19] =
    [1, 2, 3, 5, 8, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 85, 90, 95, 100];

/// The three curves of a rate-distortion measurement.
#[derive(serde::Serialize)]
pub struct RateDistortion {
    pub autoencoder: Vec<RdPoint>,
    pub pca: Vec<RdPoint>,
    pub jpeg: Vec<RdPoint>,
    /// The plot, when it could be written (its failure is a warning: the numbers stand).
    pub plot: Option<PathBuf>,
}

fn rate_distortion(
    a: &EvaluateArgs,
    model: &Autoencoder,
    fit_rows: &Dataset,
    data: &Dataset,
    threads: &Threads,
) -> Result<RateDistortion> {
    let fitted;
    let model = if model.codec.is_none() {
        if !autoencoder::codec::Codec::supports(model.code_dim()) {
            return Err(Error::format(
                &a.input.model,
                format!(
                    "--rate-distortion needs the model to compress, and it cannot: {}",
                    autoencoder::codec::Codec::unsupported_reason(model.code_dim())
                ),
            ));
        }
        // A model saved before `ae train` kept code statistics: fit them as it does.
        eprintln!("note: the model has no code statistics; fitting them on {}", fit_rows.source);
        let mut m = file::load(&a.input.model)?;
        autoencoder::train::fit_codec(&mut m, fit_rows.as_slice(), threads)?;
        fitted = m;
        &fitted
    } else {
        model
    };
    let mut bar = Work::new("rate–distortion: autoencoder");
    let ae = rd::autoencoder(model, data, &a.bits, threads, &mut |d, t| bar.step(d, t))?;
    drop(bar);
    let mut bar = Work::new("rate–distortion: PCA");
    let pca = rd::pca(fit_rows, data, model.code_dim(), &a.bits, threads, &mut |d, t| bar.step(d, t));
    drop(bar);
    // The PCA curve is a comparison: when it cannot be had (too wide to fit within the
    // bounds), the other curves still stand.
    let pca = pca.unwrap_or_else(|e| {
        eprintln!("note: the rate-distortion table leaves out PCA: {e}");
        Vec::new()
    });
    let jpeg = match data.image_shape.or(model.config().image_shape) {
        Some(shape) if shape.channels == 1 || shape.channels == 3 => {
            let mut bar = Work::new("rate–distortion: JPEG");
            rd::jpeg(data, shape, &a.jpeg_qualities, threads, &mut |d, t| bar.step(d, t))?
        }
        _ => Vec::new(),
    };
    let plot = rd_plot_path(a);
    let curves = [
        rd_plot::Curve { name: "autoencoder".into(), color: rd_plot::COLORS[0], points: &ae },
        rd_plot::Curve {
            name: format!("PCA-{} (same quantiser)", model.code_dim()),
            color: rd_plot::COLORS[1],
            points: &pca,
        },
        rd_plot::Curve { name: "JPEG".into(), color: rd_plot::COLORS[2], points: &jpeg },
    ];
    let title = format!("rate-distortion on {} ({} images)", data.source, data.rows());
    let plot = match rd_plot::write(&plot, &title, &curves) {
        Ok(()) => Some(plot),
        Err(e) => {
            eprintln!("warning: the rate-distortion plot was not written: {e}");
            None
        }
    };
    Ok(RateDistortion { autoencoder: ae, pca, jpeg, plot })
}

fn rate_distortion_text(r: &RateDistortion, o: &mut String) {
    use std::fmt::Write as _;
    let _ = writeln!(o);
    let _ =
        writeln!(o, "rate-distortion (bytes per image: one image per file, header and checksum included)");
    let _ = writeln!(
        o,
        "{:>5} {:>10} {:>8}   {:>10} {:>8}   {:>8} {:>10} {:>8}   {:>16}",
        "bits",
        "ae bytes",
        "ae dB",
        "PCA bytes",
        "PCA dB",
        "JPEG q",
        "JPEG bytes",
        "JPEG dB",
        "JPEG for same dB"
    );
    for (i, p) in r.autoencoder.iter().enumerate() {
        let q = r.pca.get(i);
        let j = rd::matching_jpeg(&r.jpeg, p.bytes_per_image);
        let same = r
            .jpeg
            .iter()
            .filter(|q| q.psnr >= p.psnr)
            .min_by(|a, b| a.bytes_per_image.total_cmp(&b.bytes_per_image))
            .map_or("—".to_string(), |q| {
                format!("{:.1} (q {})", q.bytes_per_image, q.quality.unwrap_or(0))
            });
        let _ = writeln!(
            o,
            "{:>5} {:>10.1} {:>8.2}   {:>10} {:>8}   {:>8} {:>10} {:>8}   {:>16}",
            p.bits.unwrap_or(0),
            p.bytes_per_image,
            p.psnr,
            q.map_or("—".into(), |q| format!("{:.1}", q.bytes_per_image)),
            q.map_or("—".into(), |q| format!("{:.2}", q.psnr)),
            j.and_then(|j| j.quality).map_or("—".into(), |v| v.to_string()),
            j.map_or("—".into(), |j| format!("{:.1}", j.bytes_per_image)),
            j.map_or("—".into(), |j| format!("{:.2}", j.psnr)),
            same,
        );
    }
    if let Some(small) = r.jpeg.iter().min_by(|a, b| a.bytes_per_image.total_cmp(&b.bytes_per_image)) {
        let _ = writeln!(
            o,
            "JPEG's smallest files (quality {}) take {:.1} bytes per image; the JPEG column is the best JPEG no larger than the autoencoder's file, else that smallest one",
            small.quality.unwrap_or(0),
            small.bytes_per_image
        );
    }
    if let Some(p) = &r.plot {
        let _ = writeln!(o, "plot: {}", p.display());
    }
}

/// The reconstruction metrics as reported (the row count is the report's).
#[derive(serde::Serialize)]
struct Metrics {
    mse: f64,
    sse_per_row: f64,
    mae: f64,
    bce: Option<f64>,
    psnr: f64,
}

impl Metrics {
    fn of(m: &ReconstructionMetrics) -> Metrics {
        Metrics { mse: m.mse, sse_per_row: m.sse_per_row, mae: m.mae, bce: m.bce, psnr: m.psnr }
    }
}

/// A variational model's ELBO parts and importance-sampled negative log-likelihood.
#[derive(serde::Serialize)]
struct Vae {
    /// The decoder's likelihood: `bernoulli` (a sigmoid output) or `gaussian` (unit
    /// variance, in the model's normalised units).
    decoder: &'static str,
    negative_elbo: f64,
    reconstruction: f64,
    kl: f64,
    nll: Option<f64>,
    iw_samples: usize,
    nll_seconds: f64,
}

/// The PCA baseline beside the model.
#[derive(serde::Serialize)]
struct Pca {
    k: usize,
    fitted_on: String,
    fit_seconds: f64,
    method: &'static str,
    #[serde(flatten)]
    metrics: Metrics,
    /// How a randomised fit was made, as words after the fit's time.
    #[serde(skip)]
    how: String,
}

/// What `ae evaluate` reports: one JSON object with `--json`, else a table.
#[derive(serde::Serialize)]
struct EvaluateReport {
    model: PathBuf,
    architecture: String,
    data: String,
    rows: usize,
    #[serde(flatten)]
    metrics: Metrics,
    inference_seconds: f64,
    inference_rows_per_second: f64,
    code_mean_activation: f64,
    jacobian_norm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vae: Option<Vae>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pca: Option<Pca>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_distortion: Option<RateDistortion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    probes: Option<Probes>,
    #[serde(skip)]
    parameters: usize,
    #[serde(skip)]
    cols: usize,
    /// The normaliser the metrics are measured after, unless it is the identity.
    #[serde(skip)]
    normalizer: Option<autoencoder::NormalizeKind>,
}

impl EvaluateReport {
    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "model  {} ({}, {} parameters)",
            self.model.display(),
            self.architecture,
            self.parameters
        );
        let _ = writeln!(o, "data   {} ({} rows × {})", self.data, self.rows, self.cols);
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<14} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "", "MSE", "SSE/row", "MAE", "BCE", "PSNR dB"
        );
        let mut line = |name: &str, m: &Metrics| {
            let bce = m.bce.map_or("—".to_string(), |b| format!("{b:.4}"));
            let _ = writeln!(
                o,
                "{:<14} {:>10.5} {:>10.3} {:>10.5} {:>10} {:>10.2}",
                name, m.mse, m.sse_per_row, m.mae, bce, m.psnr
            );
        };
        line("autoencoder", &self.metrics);
        if let Some(p) = &self.pca {
            line(&format!("PCA-{}", p.k), &p.metrics);
            let _ = writeln!(o);
            let _ = writeln!(o, "PCA fitted on {} in {:.2}s{}", p.fitted_on, p.fit_seconds, p.how);
        }
        let _ = writeln!(
            o,
            "encode + decode of {} rows: {:.1} ms ({:.0} rows/s)",
            self.rows,
            self.inference_seconds * 1e3,
            self.inference_rows_per_second
        );
        if let Some(kind) = self.normalizer {
            let _ = writeln!(o, "metrics are in the model's normalised units ({kind})");
        }
        if let Some(v) = &self.vae {
            let decoder = match v.decoder {
                "gaussian" => " (Gaussian decoder of unit variance, in normalised units)",
                _ => "",
            };
            let _ = writeln!(
                o,
                "VAE{decoder}: negative ELBO {:.2} nats = reconstruction {:.2} + KL {:.2}",
                v.negative_elbo, v.reconstruction, v.kl
            );
            if let Some(nll) = v.nll {
                let _ = writeln!(
                    o,
                    "     −log p(x) ≈ {nll:.2} nats (importance sampling, K = {}, {:.0}s)",
                    v.iw_samples, v.nll_seconds
                );
            }
        }
        let code_mean = self.code_mean_activation;
        let _ = match self.jacobian_norm {
            Some(j) => {
                writeln!(o, "code: mean activation {code_mean:.4}; mean encoder Jacobian norm ‖J‖_F {j:.4}")
            }
            None => writeln!(o, "code: mean activation {code_mean:.4}"),
        };
        if let Some(r) = &self.rate_distortion {
            rate_distortion_text(r, &mut o);
        }
        if let Some(p) = &self.probes {
            probes_text(p, &mut o);
        }
        o
    }
}

/// The representation probes and the rows they used.
#[derive(serde::Serialize)]
struct Probes {
    train: String,
    train_rows: usize,
    #[serde(flatten)]
    results: RepresentationProbes,
}

fn probes_text(p: &Probes, o: &mut String) {
    use std::fmt::Write as _;
    let _ = writeln!(
        o,
        "\nprobes: trained on {} ({} rows), measured on the evaluated rows; kNN k = 5, logistic L2 (C = 1), k-means k = classes",
        p.train, p.train_rows
    );
    let _ = writeln!(
        o,
        "{:<14} {:>6} {:>9} {:>9} {:>9} {:>7} {:>7}",
        "representation", "width", "kNN eucl", "kNN cos", "logistic", "ARI", "NMI"
    );
    let row = |o: &mut String, name: &str, w: usize, s: &autoencoder::probe::ProbeScores| {
        let _ = writeln!(
            o,
            "{name:<14} {w:>6} {:>9.4} {:>9.4} {:>9.4} {:>7.4} {:>7.4}",
            s.knn_euclidean, s.knn_cosine, s.logistic, s.kmeans_ari, s.kmeans_nmi
        );
    };
    let r = &p.results;
    row(o, "codes", r.width, &r.codes);
    match &r.pca {
        Ok(s) => row(o, &format!("PCA-{}", r.width), r.width, s),
        Err(why) => {
            let _ = writeln!(o, "PCA-{:<10} skipped: {why}", r.width);
        }
    }
    row(o, "raw", r.raw_width, &r.raw);
}

/// The rows `--pca-fit` names, read with the evaluated rows' data flags.
// One value per run: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum PcaFitRows {
    /// Read whole.
    Whole(Dataset),
    /// A table over the memory budget (or with --stream), read a part at a time.
    Parts(ChunkedRows),
}

/// The rows `--pca-fit` names, read with the evaluated rows' data flags (beside a named
/// dataset too): whole, or a table over the memory budget (or with --stream) a part at
/// a time, for PCA to be fitted on in two passes.
fn pca_fit_rows(
    a: &EvaluateArgs,
    model: &autoencoder::Autoencoder,
    p: &std::path::Path,
    seed: u64,
) -> Result<PcaFitRows> {
    let budget = a.stream.memory_budget.unwrap_or_else(|| autoencoder::train::MemoryBudget::of_machine(1));
    let paths = [p.to_path_buf()];
    let flags = DataArgs { dataset: None, split: None, ..a.input.reading(model) };
    if flags.table_files(&paths).is_some() && (a.stream.stream || budget.exceeded_by(&paths, 1)?) {
        let rows = ChunkedRows::open(&paths, &flags.load_options())?;
        if rows.dropped_rows() > 0 {
            eprintln!(
                "left out {} row(s) of {} with a missing value; {} kept",
                rows.dropped_rows(),
                rows.source,
                rows.rows()
            );
        }
        return Ok(PcaFitRows::Parts(rows));
    }
    Ok(PcaFitRows::Whole(flags.load_shaped(&paths, seed, Split::Train, model.config().image_shape)?))
}

/// The PCA fitting rows (`cols` values a row, from `source`) are as wide as the
/// evaluated rows.
fn check_fit_width(model: &Autoencoder, cols: usize, source: &str) -> Result<()> {
    if cols != model.input_dim() {
        return Err(Error::Data(format!(
            "{source}: the PCA fitting rows have {cols} values, the evaluated rows {}",
            model.input_dim()
        )));
    }
    Ok(())
}

/// Where `--rate-distortion` draws its plot.
fn rd_plot_path(a: &EvaluateArgs) -> PathBuf {
    a.rd_plot.clone().unwrap_or_else(|| crate::files::sibling(&a.input.model, "rd.png"))
}

pub fn run(a: EvaluateArgs) -> Result<()> {
    let mut files = a.input.run_files();
    if let Some(p) = &a.pca_fit {
        files = files.input("the PCA rows (--pca-fit)", p);
    }
    if a.rate_distortion {
        files = files.output("the rate-distortion plot (--rd-plot)", &rd_plot_path(&a));
    }
    for p in &a.probe_train {
        files = files.input("the probes' training rows (--probe-train)", p);
    }
    let _held = files.check()?;
    let model = file::load(&a.input.model)?;
    let threads = a.threads.threads();
    let seed = model.training.as_ref().map_or(0, |t| t.seed);
    // A named dataset is evaluated on its test split unless --split says otherwise;
    // table files over the memory budget (or with --stream) are read a part at a time.
    let mut rows = Rows::open(&a.input, &a.stream, &model, 0, "evaluating")?;
    let mut binarize = a.binarize.map(autoencoder::random::binarizing);
    if let (Rows::Whole(data), Some(rng)) = (&mut rows, &mut binarize) {
        // Binarised once, for every measure below (the same draws as part by part).
        data.binarize(rng)?;
        binarize = None;
    }
    let whole = match &rows {
        Rows::Whole(data) => Some(data),
        Rows::Parts { .. } => None,
    };
    if whole.is_none() && (a.rate_distortion || a.probe) {
        let flag = if a.rate_distortion { "--rate-distortion" } else { "--probe" };
        return Err(Error::config(
            flag.trim_start_matches('-'),
            format!(
                "reads the evaluated rows whole, and {} is read a part at a time (over --memory-budget, or --stream): give a larger --memory-budget, or fewer rows",
                rows.source()
            ),
        ));
    }
    // PCA is fitted on the training split, as the model was trained on it.
    let mut fit_parts = None;
    let fit_rows = if a.no_pca && !a.rate_distortion {
        None
    } else {
        match (&a.pca_fit, a.input.data.named()) {
            // Read with the data flags of the evaluated rows (--label-column …).
            (Some(p), _) => match pca_fit_rows(&a, &model, p, seed)? {
                PcaFitRows::Whole(rows) => Some(rows),
                PcaFitRows::Parts(rows) => {
                    fit_parts = Some(rows);
                    None
                }
            },
            (None, Some(_)) if a.input.data.split_or(Split::Test) != Split::Train => {
                let train = DataArgs { split: Some(Split::Train), ..a.input.data.clone() };
                Some(train.load(&[], seed, Split::Train)?)
            }
            _ => None,
        }
    };
    if let (Some(parts), true) = (&fit_parts, a.rate_distortion) {
        return Err(Error::config(
            "rate-distortion",
            format!(
                "reads the --pca-fit rows whole, and {} is read a part at a time (over --memory-budget, or --stream): give a larger --memory-budget, or fewer rows",
                parts.source
            ),
        ));
    }
    let fit_rows = fit_rows.as_ref().or(whole);
    let pca = if a.no_pca {
        None
    } else {
        let fitted = match (&fit_parts, fit_rows) {
            // Each in two passes over the parts, to the bits of the rows read whole.
            (Some(parts), _) => {
                check_fit_width(&model, parts.cols(), &parts.source)?;
                baseline::fit_pca_parts(&model, &parts.source, &threads, |each| {
                    parts.for_each_part(0..parts.rows(), 0, |part| {
                        model.check_data(&part)?;
                        each(part.as_slice())
                    })
                })?
            }
            (None, Some(fit_rows)) => {
                check_fit_width(&model, fit_rows.cols(), &fit_rows.source)?;
                baseline::fit_pca_on(&model, fit_rows, 0..fit_rows.rows(), &threads)?
            }
            (None, None) => {
                // The evaluated rows, binarised as they are evaluated.
                eprintln!(
                    "fitting PCA on the evaluated rows: {} more passes over {} (--pca-fit FILE fits it on other rows, --no-pca skips it)",
                    autoencoder::pca::Method::for_width(model.input_dim()).passes(),
                    rows.source()
                );
                baseline::fit_pca_parts(&model, rows.source(), &threads, |each| {
                    let mut binarize = a.binarize.map(autoencoder::random::binarizing);
                    rows.for_each(&model, |part| match &mut binarize {
                        Some(rng) => each(&part.binarized(rng)?),
                        None => each(part.as_slice()),
                    })
                })?
            }
        };
        match fitted {
            Ok(p) => Some(p),
            Err(why) => {
                eprintln!("note: no PCA baseline: {why}");
                None
            }
        }
    };
    let mut evaluation = Evaluation::new(&model, a.iw_samples)?;
    if let Some(p) = pca {
        evaluation = evaluation.with_pca(p);
    }
    let total = rows.count() as usize;
    let mut bar = (model.config().variational && a.iw_samples > 0)
        .then(|| Work::new(&format!("log-likelihood, {} samples per row", a.iw_samples)));
    let mut inference_seconds = 0.0;
    rows.for_each(&model, |part| {
        let binarized;
        let mut x = part.as_slice();
        if let Some(rng) = &mut binarize {
            binarized = part.binarized(rng)?;
            x = &binarized;
        }
        let before = evaluation.rows() as usize;
        evaluation.add(x, &threads, &mut |done| {
            if let Some(bar) = &mut bar {
                bar.step(before + done, total)
            }
        })?;
        // Inference speed: encode then decode every row, as a user's `predict` would,
        // a chunk of rows at a time (the codes of a whole part could be far larger than
        // the part); the median of --repeat passes over each part.
        let chunk = 8 * autoencoder::model::INFERENCE_BATCH * model.input_dim().max(1);
        let mut times: Vec<f64> = (0..a.repeat.max(1))
            .map(|_| {
                let t = std::time::Instant::now();
                for rows in x.chunks(chunk) {
                    let z = model.encode(rows, &threads);
                    let y = z.and_then(|z| model.decode(&z, &threads));
                    std::hint::black_box(y.map(|y| y.len()).unwrap_or(0));
                }
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        inference_seconds += times[times.len() / 2];
        Ok(())
    })?;
    drop(bar);
    let measures = evaluation.finish();
    let rd = match (a.rate_distortion, whole, fit_rows) {
        (true, Some(data), Some(fit_rows)) => Some(rate_distortion(&a, &model, fit_rows, data, &threads)?),
        _ => None,
    };
    let probes = match (a.probe, whole) {
        (true, Some(data)) => {
            let train = match (a.probe_train.is_empty(), a.input.data.named()) {
                (false, _) => DataArgs { dataset: None, split: None, ..a.input.data.clone() }.load(
                    &a.probe_train,
                    seed,
                    Split::Train,
                )?,
                (true, Some(_)) => DataArgs { split: Some(Split::Train), ..a.input.data.clone() }.load(
                    &[],
                    seed,
                    Split::Train,
                )?,
                (true, None) => return Err(Error::config(
                    "probe",
                    "needs labelled training rows: a named dataset's training split, or --probe-train FILE",
                )),
            };
            let results = baseline::probe_representations(&model, &train, data, seed, &threads)?;
            Some(Probes { train: train.source.clone(), train_rows: train.rows(), results })
        }
        _ => None,
    };
    let evaluated = evaluation.rows() as usize;
    let inference_rows_per_second = evaluated as f64 / inference_seconds.max(1e-12);
    let report = EvaluateReport {
        model: a.input.model.clone(),
        architecture: model.config().describe(),
        data: rows.source().to_string(),
        rows: evaluated,
        metrics: Metrics::of(&measures.metrics),
        inference_seconds,
        inference_rows_per_second,
        code_mean_activation: measures.code_mean_activation,
        jacobian_norm: measures.jacobian_norm,
        vae: measures.elbo.map(|parts| Vae {
            decoder: measures.likelihood.map_or("bernoulli", |l| l.name()),
            negative_elbo: parts.negative_elbo(),
            reconstruction: parts.reconstruction,
            kl: parts.kl,
            nll: measures.nll,
            iw_samples: a.iw_samples,
            nll_seconds: measures.nll_seconds,
        }),
        pca: measures.pca.map(|p| Pca {
            k: p.k,
            fitted_on: p.fitted_on,
            fit_seconds: p.seconds,
            method: match p.method {
                Method::Exact => "exact",
                Method::Randomized(_) => "randomized",
            },
            metrics: Metrics::of(&p.metrics),
            how: match p.method {
                Method::Exact => String::new(),
                Method::Randomized(o) => format!(
                    " (randomised: {} extra directions, {} passes)",
                    o.oversampling, o.power_iterations
                ),
            },
        }),
        rate_distortion: rd,
        probes,
        parameters: model.param_count(),
        cols: model.input_dim(),
        normalizer: (!model.normalizer().is_identity()).then_some(model.normalizer().kind),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print!("{}", report.text());
    }
    Ok(())
}
