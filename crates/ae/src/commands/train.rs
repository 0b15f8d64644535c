//! `ae train`: resolve the configuration (defaults, then `--config FILE.toml`, then
//! flags), load the data, train with a progress display, save the model, the loss
//! curve and (for images) a reconstruction grid.

use std::path::{Path, PathBuf};

use autoencoder::anomaly::{ScoreKind, ThresholdRule};
use autoencoder::data::builtin::Split;
use autoencoder::data::open;
use autoencoder::optim::Schedule;
use autoencoder::train::{load_checkpoint, Corruption, EpochRecord, Sparsity, StopReason};
use autoencoder::{
    file, Activation, Arch, Autoencoder, Dataset, Downsample, Error, Init, Loss, ModelConfig, NormalizeKind,
    OptimizerConfig, OptimizerKind, Params, Result, TrainConfig,
};
use clap::Args;

use crate::args::{widths, DataArgs, ThreadArgs, Widths};
use crate::files::{sibling, RunFiles};
use crate::pictures::{write_comparison, write_loss_curve};
use crate::training::{train, Outcome};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Data file (CSV, NPY/NPZ, IDX[.gz], MATLAB .mat) and, optionally, a labels file.
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// A separate validation file (instead of --validation-split).
    #[arg(long, value_name = "FILE")]
    pub validation: Option<PathBuf>,
    /// A TOML file with [model] and [training] tables; flags override it.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,

    /// Encoder widths down to the code, e.g. 512,256,32; the decoder mirrors them [default: 64 for images; d,d/2,d/4,√d for tables].
    #[arg(long, value_name = "W1,W2,…", value_parser = widths("layers"))]
    pub layers: Option<Widths>,
    /// The architecture: dense, or conv (convolutional blocks, then the dense layers of
    /// --layers from the flattened map; the decoder mirrors them) [default: dense].
    #[arg(long, value_name = "dense|conv")]
    pub arch: Option<Arch>,
    /// Conv: each block's channels, e.g. 32,64 (each block halves height and width).
    #[arg(long, value_name = "C1,C2,…", value_parser = widths("channels"))]
    pub channels: Option<Widths>,
    /// Conv: the kernel side [default: 3].
    #[arg(long, value_name = "K")]
    pub kernel_size: Option<usize>,
    /// Conv: how blocks halve the size: stride (stride-2 convolutions) or pool (2×2 max
    /// pooling; the decoder upsamples) [default: stride].
    #[arg(long, value_name = "stride|pool")]
    pub downsample: Option<Downsample>,
    /// Conv: batch normalisation after every convolution but the output's.
    #[arg(long)]
    pub batch_norm: bool,
    /// Decoder hidden widths from the code up, if not the mirror image.
    #[arg(long, value_name = "W1,W2,…", value_parser = widths("decoder_layers"))]
    pub decoder_layers: Option<Widths>,
    /// Hidden activation: relu, leaky_relu, elu, gelu, tanh, sigmoid, softplus, linear [default: relu for images, tanh for tables].
    #[arg(long, value_name = "NAME")]
    pub activation: Option<Activation>,
    /// The code layer's activation [default: the hidden activation].
    #[arg(long, value_name = "NAME")]
    pub code_activation: Option<Activation>,
    /// A variational autoencoder (VAE): the encoder outputs μ and log σ², the code is the sample z = μ + σ·ε, and the KL term joins the loss.
    #[arg(long)]
    pub variational: bool,
    /// VAE: the weight β of the KL term [default: 1].
    #[arg(long, value_name = "BETA", allow_negative_numbers = true)]
    pub beta: Option<f64>,
    /// VAE: raise the KL weight from 0 to β over this many epochs [default: 0].
    #[arg(long, value_name = "EPOCHS")]
    pub kl_warmup: Option<usize>,
    /// Start from a preset instead of the defaults (flags still override): `tabular`, the
    /// anomaly-detection defaults for tables (z-scores, d→d→d/2→d/4→√d tanh, dropout 0.2,
    /// MSE, --min-steps 2000, early stopping on 10 % of the rows, --trim 0.5, the root score).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<Preset>,
    /// Tied weights: each decoder layer uses the transpose of its mirror encoder layer's weight.
    #[arg(long)]
    pub tied: bool,
    /// Dropout probability after every hidden layer (not the code or the output), in training only [default: 0].
    #[arg(long, value_name = "P")]
    pub dropout: Option<f64>,
    /// Re-binarise the training rows at every use (each value x becomes 1 with probability x), as for binarised MNIST.
    #[arg(long)]
    pub binarize: bool,
    /// Output activation [default: sigmoid; linear for tables with values outside [0, 1]].
    #[arg(long, value_name = "NAME")]
    pub output_activation: Option<Activation>,
    /// Weight initialisation: glorot_uniform, glorot_normal, he_uniform, he_normal [default: glorot_uniform].
    #[arg(long, value_name = "NAME")]
    pub init: Option<Init>,
    /// Normalise features (fitted on the training rows): none, minmax, zscore [default: none; zscore for tables with values outside [0, 1]].
    #[arg(long, value_name = "KIND")]
    pub normalize: Option<NormalizeKind>,

    /// Loss: mse, bce, mae [default: mse].
    #[arg(long, value_name = "NAME")]
    pub loss: Option<Loss>,
    /// Optimizer: sgd, adam, adamw, rmsprop [default: adam].
    #[arg(long, value_name = "NAME")]
    pub optimizer: Option<OptimizerKind>,
    /// Learning rate [default: 0.001; sgd 0.01].
    #[arg(long, value_name = "LR", allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Momentum for sgd and rmsprop [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    pub momentum: Option<f64>,
    /// Nesterov momentum (sgd).
    #[arg(long)]
    pub nesterov: bool,
    /// AdamW's decoupled weight decay [default: 0.004].
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Adam's β₁ [default: 0.9].
    #[arg(long, allow_negative_numbers = true)]
    pub beta1: Option<f64>,
    /// Adam's β₂ [default: 0.999].
    #[arg(long, allow_negative_numbers = true)]
    pub beta2: Option<f64>,
    /// ε of Adam and RMSprop [default: 1e-7].
    #[arg(long, allow_negative_numbers = true)]
    pub eps: Option<f64>,
    /// RMSprop's ρ [default: 0.9].
    #[arg(long, allow_negative_numbers = true)]
    pub rho: Option<f64>,
    /// L1 weight penalty [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    pub l1: Option<f64>,
    /// L2 weight penalty [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    pub l2: Option<f64>,
    /// Learning-rate schedule: constant, step:EVERY:GAMMA, cosine[:MIN], plateau[:PATIENCE:FACTOR[:MIN]].
    #[arg(long, value_name = "SCHEDULE")]
    pub lr_schedule: Option<Schedule>,
    /// Clip the gradient to this global L2 norm.
    #[arg(long, value_name = "NORM", allow_negative_numbers = true)]
    pub clip_norm: Option<f64>,
    /// Denoising: corrupt the training inputs (the clean rows stay the target): gaussian:SIGMA[:clip], mask:FRACTION or salt_pepper:FRACTION.
    #[arg(long, value_name = "KIND:AMOUNT")]
    pub noise: Option<Corruption>,
    /// Sparse autoencoder: L1 penalty on the code's activations [default: 0].
    #[arg(long, value_name = "LAMBDA", allow_negative_numbers = true)]
    pub code_l1: Option<f64>,
    /// Sparse autoencoder: KL penalty pulling a sigmoid code's mean activations to RHO, weighted by BETA.
    #[arg(long, value_name = "RHO:BETA")]
    pub sparsity: Option<Sparsity>,
    /// Contractive autoencoder: weight of the encoder's squared Jacobian norm (one-layer sigmoid encoders) [default: 0].
    #[arg(long, value_name = "LAMBDA", allow_negative_numbers = true)]
    pub contractive: Option<f64>,

    /// Rows per gradient step [default: 128].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// The epoch limit [default: 10].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Hold out the last fraction of the rows for validation, as Keras does [default: 0].
    #[arg(long, value_name = "FRACTION", allow_negative_numbers = true)]
    pub validation_split: Option<f64>,
    /// Keep the row order (no reshuffling each epoch).
    #[arg(long)]
    pub no_shuffle: bool,
    /// Stop early when the validation loss has not improved for this many epochs.
    #[arg(long, value_name = "EPOCHS")]
    pub patience: Option<usize>,
    /// The smallest decrease that counts as an improvement for --patience [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    pub min_delta: Option<f64>,
    /// With --patience: keep the last weights instead of restoring the best epoch's.
    #[arg(long)]
    pub no_restore_best: bool,
    /// Stop when the training loss changes by less than this fraction between epochs.
    #[arg(long, allow_negative_numbers = true)]
    pub tolerance: Option<f64>,
    /// Seed for initialisation and shuffling [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub threads: ThreadArgs,

    /// Write a resumable checkpoint every N epochs (and always on Ctrl-C). With --trim, checkpoints are of the second pass: Ctrl-C in the first pass saves the first pass's model.
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<usize>,
    /// The checkpoint file [default: the model's name with .ckpt].
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Continue a run from its checkpoint (give the same data; the configuration comes from the checkpoint).
    #[arg(long, value_name = "CKPT")]
    pub resume: Option<PathBuf>,

    /// Fit an anomaly threshold on the training rows and keep it in the model:
    /// contamination=0.05, percentile=99, sigma=3 or value=0.12.
    #[arg(long, value_name = "RULE")]
    pub threshold: Option<ThresholdRule>,
    /// The model's anomaly score, kept in the model file (the threshold's, --trim's, and `ae score`'s default): mse, mae, root (mean √|error|), standardized, or elbo [default: elbo for a variational model, root with --preset tabular, else mse].
    #[arg(long, value_name = "KIND")]
    pub score: Option<ScoreKind>,
    /// Robust fitting: train, then train again from the same initial weights on the rows the first pass reconstructed best, leaving out this fraction (0–0.9) [default: 0; 0.5 with --preset tabular].
    #[arg(long, value_name = "FRACTION")]
    pub trim: Option<f64>,
    /// Small tables: raise the epoch limit (and the early-stopping patience in proportion) so that each pass can take at least this many gradient steps [default: 0; 2000 with --preset tabular].
    #[arg(long, value_name = "STEPS")]
    pub min_steps: Option<usize>,

    /// The model file to write.
    #[arg(short, long, default_value = "model.safetensors", value_name = "FILE")]
    pub output: PathBuf,
    /// Print one JSON object with the results on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not write the loss-curve and reconstruction PNGs.
    #[arg(long)]
    pub no_plots: bool,
}

/// A starting point other than the defaults (`--preset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// The anomaly-detection defaults for tables ([`autoencoder::anomaly::tabular_defaults`]).
    Tabular,
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Preset::Tabular => "tabular",
        })
    }
}

/// Defaults, then the TOML file, then the flags that were given.
pub fn resolve_config(a: &TrainArgs) -> Result<Params> {
    resolve_config_over(a, Params::default())
}

/// [`resolve_config`] starting from `base` instead of the defaults (a preset); a TOML
/// file replaces the base.
pub fn resolve_config_over(a: &TrainArgs, base: Params) -> Result<Params> {
    let mut c = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            toml::from_str::<Params>(&text).map_err(|e| {
                Error::format(
                    p,
                    format!("not a valid training configuration: {}", e.to_string().replace('\n', " ")),
                )
            })?
        }
        None => base,
    };
    let m = &mut c.model;
    if let Some(Widths(l)) = &a.layers {
        m.layers = l.clone();
    }
    if let Some(Widths(l)) = &a.decoder_layers {
        m.decoder_layers = Some(l.clone());
    }
    if let Some(v) = a.activation {
        m.activation = v;
    }
    if let Some(v) = a.arch {
        m.arch = v;
    }
    if let Some(Widths(c)) = &a.channels {
        m.channels = c.clone();
    }
    if let Some(k) = a.kernel_size {
        m.kernel_size = k;
    }
    if let Some(v) = a.downsample {
        m.downsample = v;
    }
    if a.batch_norm {
        m.batch_norm = true;
    }
    if a.variational {
        m.variational = true;
    }
    if let Some(p) = a.dropout {
        m.dropout = p;
    }
    if a.tied {
        m.tied = true;
    }
    if a.code_activation.is_some() {
        m.code_activation = a.code_activation;
    }
    if let Some(v) = a.output_activation {
        m.output_activation = v;
    }
    if let Some(v) = a.init {
        m.init = v;
    }
    if let Some(v) = a.normalize {
        m.normalize = v;
    }
    if a.score.is_some() {
        m.score = a.score;
    }
    let t = &mut c.training;
    if let Some(v) = a.loss {
        t.loss = v;
    }
    if let Some(kind) = a.optimizer {
        if kind != t.optimizer.kind {
            t.optimizer = OptimizerConfig::new(kind);
        }
    }
    let o = &mut t.optimizer;
    for (dst, src) in [
        (&mut o.lr, a.lr),
        (&mut o.momentum, a.momentum),
        (&mut o.weight_decay, a.weight_decay),
        (&mut o.beta1, a.beta1),
        (&mut o.beta2, a.beta2),
        (&mut o.eps, a.eps),
        (&mut o.rho, a.rho),
        (&mut t.l1, a.l1),
        (&mut t.l2, a.l2),
    ] {
        if let Some(v) = src {
            *dst = v;
        }
    }
    if a.nesterov {
        o.nesterov = true;
    }
    if a.clip_norm.is_some() {
        t.clip_norm = a.clip_norm;
    }
    if a.noise.is_some() {
        t.noise = a.noise;
    }
    if let Some(v) = a.code_l1 {
        t.code_l1 = v;
    }
    if let Some(v) = a.beta {
        t.beta = v;
    }
    if let Some(v) = a.kl_warmup {
        t.kl_warmup = v;
    }
    if let Some(v) = a.trim {
        t.trim = v;
    }
    if let Some(v) = a.min_steps {
        t.min_steps = v;
    }
    if a.binarize {
        t.binarize = true;
    }
    if let Some(v) = a.contractive {
        t.contractive = v;
    }
    if a.sparsity.is_some() {
        t.sparsity = a.sparsity;
    }
    if let Some(v) = a.lr_schedule {
        t.lr_schedule = v;
    }
    if let Some(v) = a.batch_size {
        t.batch_size = v;
    }
    if let Some(v) = a.epochs {
        t.epochs = v;
    }
    if let Some(v) = a.validation_split {
        t.validation_split = v;
    }
    if a.no_shuffle {
        t.shuffle = false;
    }
    if a.patience.is_some() || a.min_delta.is_some() || a.no_restore_best {
        let mut es = t.early_stopping.clone().unwrap_or_default();
        if let Some(p) = a.patience {
            es.patience = p;
        }
        if let Some(d) = a.min_delta {
            es.min_delta = d;
        }
        if a.no_restore_best {
            es.restore_best = false;
        }
        t.early_stopping = Some(es);
    }
    if a.tolerance.is_some() {
        t.tolerance = a.tolerance;
    }
    if let Some(s) = a.seed {
        t.seed = s;
    }
    // Name the file when a setting from it is invalid.
    let named = |e: Error| match &a.config {
        Some(p) => Error::format(p, e.to_string()),
        None => e,
    };
    t.check().map_err(named)?;
    c.model.check_score().map_err(named)?;
    c.model.check_widths().map_err(named)?;
    Ok(c)
}

/// The settings a resumed run was asked for that differ from its checkpoint's, as
/// "name: the checkpoint's value, asked value": a resumed run takes its configuration
/// from the checkpoint, and silently ignoring a different one would train something
/// else than asked. Flags that repeat the checkpoint's values are fine.
fn resume_conflicts(a: &TrainArgs, checkpoint: &Params) -> Result<Vec<String>> {
    let mut conflicts = Vec::new();
    if let Some(p) = a.preset {
        conflicts.push(format!("preset: the checkpoint's settings, asked {p}"));
    }
    let mut asked = resolve_config_over(a, checkpoint.clone())?;
    // Filled in from the data when training started, never asked for.
    asked.model.input_dim = checkpoint.model.input_dim;
    asked.model.image_shape = checkpoint.model.image_shape;
    for (key, old, value) in differences(checkpoint, &asked) {
        conflicts.push(format!("{key}: the checkpoint's {old}, asked {value}"));
    }
    Ok(conflicts)
}

/// The settings (model and training keys) whose values differ from `a` to `b`, with
/// both values.
fn differences(a: &Params, b: &Params) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or_default();
    let pairs = [
        (json(serde_json::to_value(&a.model)), json(serde_json::to_value(&b.model))),
        (json(serde_json::to_value(&a.training)), json(serde_json::to_value(&b.training))),
    ];
    let mut out = Vec::new();
    for (had, want) in pairs {
        let (Some(had), Some(want)) = (had.as_object(), want.as_object()) else { continue };
        for (key, value) in want {
            let old = had.get(key).unwrap_or(&serde_json::Value::Null);
            if old != value {
                out.push((key.clone(), old.clone(), value.clone()));
            }
        }
    }
    out
}

/// With no preset and no configuration file: the defaults chosen from the data
/// ([`ModelConfig::for_data`]), then the flags; says what the data chose that no flag
/// did.
///
/// A run that sets how values are handled (`--normalize`, `--output-activation`,
/// `--loss`) keeps the plain defaults for the other two: they go together; a run that
/// gives `--epochs` keeps that limit (no `min_steps` from the data).
fn with_data_defaults(a: &TrainArgs, data: &Dataset) -> Result<Params> {
    // Data the run cannot train on is refused before anything is chosen for it.
    data.check_finite()?;
    let plain = resolve_config_over(a, Params::default())?;
    let mut model = ModelConfig::for_data(data);
    if a.normalize.is_some() || a.output_activation.is_some() || a.loss.is_some() {
        model.normalize = plain.model.normalize;
        model.output_activation = plain.model.output_activation;
    }
    let mut training = TrainConfig::for_data(data);
    if a.epochs.is_some() {
        // An epoch limit asked for is the limit, not raised by the table's min_steps.
        training.min_steps = plain.training.min_steps;
    }
    let chosen = resolve_config_over(a, Params { model, training })?;
    if chosen.model.normalize == autoencoder::NormalizeKind::None {
        chosen.training.loss.check_targets(data.as_slice(), data.cols(), &data.source)?;
    }
    let choices: Vec<String> = differences(&plain, &chosen)
        .into_iter()
        .map(|(key, _, value)| match value {
            serde_json::Value::String(s) => format!("{key} {s}"),
            other => format!("{key} {other}"),
        })
        .collect();
    if !choices.is_empty() && !a.quiet {
        let (lo, hi) = data
            .as_slice()
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        eprintln!(
            "note: {} is a table of {} columns with values from {lo} to {hi}; chose {} (flags choose otherwise)",
            data.source,
            data.cols(),
            choices.join(", ")
        );
    }
    Ok(chosen)
}

/// The files `ae train` reads and writes, checked before any work.
fn run_files(a: &TrainArgs, checkpoint: &Path) -> RunFiles {
    let mut files = RunFiles::new()
        .output("the model (-o)", &a.output)
        .output("the checkpoint (--checkpoint)", checkpoint)
        .inputs("the data file", &a.files);
    if !a.no_plots {
        files = files
            .output("the loss curve", &sibling(&a.output, "loss.png"))
            .output("the reconstruction grid", &sibling(&a.output, "recon.png"));
    }
    if let Some(v) = &a.validation {
        files = files.input("the validation file (--validation)", v);
    }
    if let Some(c) = &a.config {
        files = files.input("the configuration (--config)", c);
    }
    if let Some(r) = &a.resume {
        // A resumed run goes on writing the checkpoint it resumed from.
        let (out, input) = ("the checkpoint (--checkpoint)", "the checkpoint it resumes (--resume)");
        files = files.input(input, r).allow_same(out, input);
    }
    files
}

pub fn run(a: TrainArgs) -> Result<()> {
    // Flags and files checked before any work.
    let anomaly_rule = a.threshold;
    let checkpoint_path = a.checkpoint.clone().unwrap_or_else(|| sibling(&a.output, "ckpt"));
    let _held = run_files(&a, &checkpoint_path).check()?;
    let resume = match &a.resume {
        Some(p) => Some(load_checkpoint(p)?),
        None => None,
    };
    let cfg = match &resume {
        Some(ck) => {
            let threads = a.threads.threads().count();
            if ck.resume.state.threads != threads && !a.quiet {
                eprintln!(
                    "note: the checkpoint was made with {} thread(s), this run uses {threads}: the result will not be bit-identical to an uninterrupted run",
                    ck.resume.state.threads
                );
            }
            let cfg = Params { model: ck.model.config().clone(), training: ck.resume.state.config.clone() };
            let conflicts = resume_conflicts(&a, &cfg)?;
            if !conflicts.is_empty() {
                return Err(Error::config(
                    "resume",
                    format!(
                        "a resumed run goes on with its checkpoint's settings, and these differ: {}; resume without them, or start a new run",
                        conflicts.join("; ")
                    ),
                ));
            }
            cfg
        }
        None => resolve_config(&a)?,
    };
    let seed = cfg.training.seed;
    let data = a.data.load(&a.files, seed, Split::Train)?;
    let cfg = match a.preset {
        None if resume.is_none() && a.config.is_none() => with_data_defaults(&a, &data)?,
        None => cfg,
        Some(Preset::Tabular) if resume.is_none() => {
            let (model, training) = autoencoder::anomaly::tabular_defaults(data.cols());
            resolve_config_over(&a, Params { model, training })?
        }
        Some(Preset::Tabular) => cfg,
    };
    if resume.is_none() && !a.quiet {
        let with_width = ModelConfig { input_dim: data.cols(), ..cfg.model.clone() };
        for w in with_width.warnings() {
            eprintln!("warning: {}", crate::flags::in_flags(&w, "train"));
        }
    }
    let validation = match &a.validation {
        Some(p) => Some(open::load_paths(std::slice::from_ref(p), &Default::default())?),
        None => None,
    };
    let threads = a.threads.threads();
    let trimmed = cfg.training.trim > 0.0;
    let mut valid = cfg
        .check(&data.shape())?
        .threads(threads.clone())
        .checkpoint(checkpoint_path, a.checkpoint_every.unwrap_or(0));
    if let Some(rule) = anomaly_rule {
        valid = valid.threshold(rule);
    }
    if let Some(ck) = resume {
        valid = valid.resume(ck)?;
    }
    // Trained and finished: the code statistics `ae compress` needs, and the detector
    // of --threshold.
    let Outcome { fitted, val_rows, pass } = train(&data, validation.as_ref(), &valid, a.quiet)?;
    let autoencoder::Fitted { model, history } = fitted;
    // A code wider than `codec::MAX_DIMS` gets none (its histogram would outweigh the
    // model); `ae compress` then says why it cannot compress.
    if model.codec.is_none() && !a.quiet {
        eprintln!(
            "note: the model cannot compress (`ae compress`): {}",
            autoencoder::codec::Codec::unsupported_reason(model.code_dim())
        );
    }
    file::save(&model, &a.output)?;
    let mut written = vec![a.output.display().to_string()];
    let mut loss_png = None;
    let mut grid_png = None;
    // The model is written: a picture that cannot be written is a warning, not a failure
    // that would make a script think there is no model.
    let warn = |what: &str, e: Error| eprintln!("warning: the model was written, but not {what}: {e}");
    if !a.no_plots {
        let p = sibling(&a.output, "loss.png");
        let baseline = pca_line(&model, &data, validation.as_ref(), &threads, a.quiet);
        match write_loss_curve(&p, &model, &history, baseline) {
            Ok(()) => {
                written.push(p.display().to_string());
                loss_png = Some(p);
            }
            Err(e) => warn("the loss curve", e),
        }
        if let (Some(shape), Some(rows)) = (model.config().image_shape, val_rows.as_ref()) {
            let p = sibling(&a.output, "recon.png");
            match write_comparison(&p, &model, rows, shape, 16, None, &threads) {
                Ok(()) => {
                    written.push(p.display().to_string());
                    grid_png = Some(p);
                }
                Err(e) => warn("the reconstruction grid", e),
            }
        }
    }
    let last = history.last();
    let report = TrainReport {
        model: a.output.clone(),
        architecture: model.config().describe(),
        parameters: model.param_count(),
        epochs_run: history.epochs.len(),
        weights_epoch: history.weights_epoch,
        stop_reason: history.stop_reason,
        train_loss: last.map(|r| r.train_loss),
        val_loss: last.and_then(|r| r.val_loss),
        best_val_loss: history.epochs.iter().filter_map(|r| r.val_loss).reduce(f64::min),
        seconds: history.seconds(),
        seconds_per_epoch: history.median_epoch_seconds(),
        rows_per_second: median(history.epochs.iter().map(|r| r.rows_per_second).collect()),
        threads: threads.count(),
        seed,
        loss_curve: loss_png,
        reconstructions: grid_png,
        pass: match (trimmed, pass) {
            (true, (1, _)) => ", the first pass: stopped before the second",
            (true, _) => ", the second pass",
            (false, _) => "",
        },
        written,
        history: history.epochs,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else if !a.quiet {
        eprintln!("{}", report.text());
    }
    Ok(())
}

/// What `ae train` reports: one JSON object on stdout with `--json`, else one line on
/// stderr.
#[derive(serde::Serialize)]
struct TrainReport {
    model: PathBuf,
    architecture: String,
    parameters: usize,
    epochs_run: usize,
    weights_epoch: usize,
    stop_reason: StopReason,
    train_loss: Option<f64>,
    val_loss: Option<f64>,
    best_val_loss: Option<f64>,
    seconds: f64,
    seconds_per_epoch: f64,
    rows_per_second: f64,
    threads: usize,
    seed: u64,
    loss_curve: Option<PathBuf>,
    reconstructions: Option<PathBuf>,
    history: Vec<EpochRecord>,
    /// Which pass of a trimmed run the model is from, as words after the stop reason.
    #[serde(skip)]
    pass: &'static str,
    /// The files written, the model first.
    #[serde(skip)]
    written: Vec<String>,
}

impl TrainReport {
    /// `trained … for 10 epochs in 1.2s (reached the epoch limit); wrote …`.
    fn text(&self) -> String {
        format!(
            "trained {} ({} parameters) for {} epochs in {:.1}s ({}{}); wrote {}",
            self.architecture,
            self.parameters,
            self.epochs_run,
            self.seconds,
            self.stop_reason,
            self.pass,
            self.written.join(", ")
        )
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

/// PCA with the model's code size, fitted on the training rows, scored with the
/// training loss on the validation rows (or the training rows): the dashed line on
/// the loss curve (`baseline::pca_of_training`). `None` when it cannot be computed (the
/// plot goes without it), or is skipped for its size (rows too wide and too many), which
/// is noted on stderr unless `quiet`.
fn pca_line(
    model: &Autoencoder,
    data: &Dataset,
    validation: Option<&Dataset>,
    threads: &autoencoder::Threads,
    quiet: bool,
) -> Option<(String, f64)> {
    let loss: autoencoder::Loss = model.training.as_ref()?.config.get("loss")?.as_str()?.parse().ok()?;
    let p = match autoencoder::baseline::pca_of_training(model, data, validation, threads).ok()? {
        autoencoder::baseline::PcaBaseline::Fitted(p) => p,
        autoencoder::baseline::PcaBaseline::Skipped(why) => {
            if !quiet {
                eprintln!("note: the loss plot has no PCA line: {why}");
            }
            return None;
        }
    };
    Some((format!("PCA-{}", p.k), p.loss(loss)?))
}
