//! `ae train`: resolve the configuration (defaults, then `--config FILE.toml`, then
//! flags), load the data, train with a progress display, save the model, the loss
//! curve and (for images) a reconstruction grid.

use std::path::{Path, PathBuf};

use autoencoder::anomaly::{ScoreKind, ThresholdRule};
use autoencoder::data::builtin::Split;
use autoencoder::data::ValueRange;
use autoencoder::optim::Schedule;
use autoencoder::train::{
    human_bytes, load_checkpoint, Corruption, EpochRecord, MemoryBudget, Sparsity, StopReason,
};
use autoencoder::{
    file, Activation, Arch, Autoencoder, Dataset, Downsample, Error, Init, Loss, ModelConfig, NormalizeKind,
    OptimizerKind, Params, Result, Settings,
};
use clap::Args;

use crate::args::{widths, DataArgs, ThreadArgs, Widths};
use crate::files::sibling;
use crate::pictures::{write_comparison, write_loss_curve};
use crate::training::{train, train_sharded, train_streamed, Outcome};
use autoencoder::run_files::RunFiles;

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
    /// VAE with a Bernoulli decoder (--loss bce, sigmoid output): train on the importance-weighted bound of K samples per row (IWAE, Burda et al. 2016) instead of the ELBO; the decoder runs K times per row [default: 1, the ELBO].
    #[arg(long, value_name = "K")]
    pub iw_train: Option<usize>,
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
    /// Start from a trained model's weights instead of new ones (a warm start: fine-tune it on other data, or with other training settings such as --iw-train): the architecture and the normaliser are the model's, the training settings come from the flags as in a new run, and the optimizer starts afresh.
    #[arg(long, value_name = "MODEL", conflicts_with = "resume")]
    pub from: Option<PathBuf>,

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
    /// Split each batch into micro-batches of this many rows whose gradients sum in one fixed tree: the same seed gives the same bits on one process and under `mpirun -n N` (where it defaults to 32) [default: 0, whole batches].
    #[arg(long, value_name = "ROWS")]
    pub micro_batch: Option<usize>,

    /// Stream the training rows from their files instead of reading them into memory: a window of rows at a time (a Parquet file by its row groups, an Arrow file or stream by its record batches, NPY and CSV files by ranges of rows, other files a file at a time), shuffled within the window; the model is the in-memory one when a window holds every row. Chosen without this flag when the data is larger than --memory-budget.
    #[arg(long)]
    pub stream: bool,

    /// Under mpirun, each rank reads and holds only its share of the training rows (table files: CSV, NPY, Parquet, Arrow, or folders and globs of them; a Parquet file's row groups and an NPY file's ranges of rows are read only by the ranks whose rows they hold) and fetches each step's rows from the ranks that hold them; of a --validation table, only the rows of the validation batches it measures. The model is the bytes the ranks write without it. The defaults are chosen from the values of every rank's rows. With --stream (or when a rank's share is more than --memory-budget), each rank reads only its share of every window, and its budget holds its share of a window as many times as large as there are ranks: the model is the bytes of one process streaming in those windows.
    #[arg(long)]
    pub shard: bool,
    /// The memory the training rows may take in memory; larger data is streamed, in windows that fit it: 512M, 4G, 1.5G [default: half the machine's memory; under mpirun, each rank its share of that, and with --shard its share of each window]. Under mpirun, every rank streams if any rank chooses to.
    #[arg(long, value_name = "SIZE", value_parser = |v: &str| v.parse::<MemoryBudget>())]
    pub memory_budget: Option<MemoryBudget>,

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

/// The flags as the library's [`Settings`] (every setting optional).
pub fn settings(a: &TrainArgs) -> Settings {
    let widths = |w: &Option<Widths>| w.as_ref().map(|Widths(l)| l.clone());
    let mut s = Settings::default();
    s.layers = widths(&a.layers);
    s.arch = a.arch;
    s.channels = widths(&a.channels);
    s.kernel_size = a.kernel_size;
    s.downsample = a.downsample;
    s.batch_norm = a.batch_norm;
    s.decoder_layers = widths(&a.decoder_layers);
    s.activation = a.activation;
    s.code_activation = a.code_activation;
    s.variational = a.variational;
    s.beta = a.beta;
    s.kl_warmup = a.kl_warmup;
    s.iw_train = a.iw_train;
    s.preset = a.preset.map(|Preset::Tabular| autoencoder::Preset::Tabular);
    s.tied = a.tied;
    s.dropout = a.dropout;
    s.binarize = a.binarize;
    s.output_activation = a.output_activation;
    s.init = a.init;
    s.normalize = a.normalize;
    s.loss = a.loss;
    s.optimizer = a.optimizer;
    s.lr = a.lr;
    s.momentum = a.momentum;
    s.nesterov = a.nesterov;
    s.weight_decay = a.weight_decay;
    s.beta1 = a.beta1;
    s.beta2 = a.beta2;
    s.eps = a.eps;
    s.rho = a.rho;
    s.l1 = a.l1;
    s.l2 = a.l2;
    s.lr_schedule = a.lr_schedule;
    s.clip_norm = a.clip_norm;
    s.noise = a.noise;
    s.code_l1 = a.code_l1;
    s.sparsity = a.sparsity;
    s.contractive = a.contractive;
    s.batch_size = a.batch_size;
    s.epochs = a.epochs;
    s.validation_split = a.validation_split;
    s.no_shuffle = a.no_shuffle;
    s.patience = a.patience;
    s.min_delta = a.min_delta;
    s.no_restore_best = a.no_restore_best;
    s.tolerance = a.tolerance;
    s.seed = a.seed;
    s.score = a.score;
    s.trim = a.trim;
    s.min_steps = a.min_steps;
    s.micro_batch = a.micro_batch;
    s
}

/// Defaults, then the TOML file, then the flags that were given; and whether the file
/// has a `[model]` table.
pub fn resolve_config(a: &TrainArgs) -> Result<(Params, bool)> {
    resolve_config_over(a, Params::default())
}

/// [`resolve_config`] starting from `base` instead of the defaults (a preset); a TOML
/// file replaces `base`. The file is read once. An invalid setting from the file names
/// the file.
pub fn resolve_config_over(a: &TrainArgs, base: Params) -> Result<(Params, bool)> {
    let (base, sets_model) = match &a.config {
        Some(p) => {
            // A configuration is a few lines: read no further than 1 MiB (`/dev/zero`).
            let bytes = autoencoder::file::read_limited(p, 1 << 20, "training configuration")?;
            let text = String::from_utf8(bytes)
                .map_err(|e| Error::format(p, format!("not UTF-8 text ({e}); a configuration is TOML")))?;
            let params = toml::from_str::<Params>(&text).map_err(|e| {
                Error::format(
                    p,
                    format!("not a valid training configuration: {}", e.to_string().replace('\n', " ")),
                )
            })?;
            // Valid as settings, so a valid table.
            let sets_model = toml::from_str::<toml::Table>(&text).is_ok_and(|t| t.contains_key("model"));
            (params, sets_model)
        }
        None => (base, false),
    };
    let params = settings(a).over(base).map_err(|e| match &a.config {
        Some(p) => Error::format(p, e.to_string()),
        None => e,
    })?;
    Ok((params, sets_model))
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
    let (mut asked, _) = resolve_config_over(a, checkpoint.clone())?;
    // Filled in from the data when training started, never asked for.
    asked.model.input_dim = checkpoint.model.input_dim;
    asked.model.image_shape = checkpoint.model.image_shape;
    for (key, old, value) in checkpoint.differences(&asked) {
        conflicts.push(format!("{key}: the checkpoint's {old}, asked {value}"));
    }
    Ok(conflicts)
}

/// With no configuration file: the library's choice for the data (a preset's defaults,
/// or the defaults chosen from the data) under the flags; says what the data chose
/// that no flag did. `range`: the range of all the rows' values, of which `data` may be
/// a part (`None`: it chooses nothing, and `data`'s stands for it).
fn with_data_defaults(a: &TrainArgs, data: &Dataset, range: Option<ValueRange>) -> Result<Params> {
    let chosen = settings(a).for_data_in(data, range.unwrap_or_else(|| data.value_range()))?;
    if !chosen.from_data.is_empty() && !a.quiet {
        let values = match range {
            Some(r) => format!(" with values from {} to {}", r.lo, r.hi),
            None => String::new(),
        };
        eprintln!(
            "note: {} is a table of {} columns{values}; chose {} (flags choose otherwise)",
            data.source,
            data.cols(),
            chosen.from_data.join(", ")
        );
    }
    Ok(chosen.params)
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
    if let Some(m) = &a.from {
        files = files.input("the model to start from (--from)", m);
    }
    files
}

pub fn run(mut a: TrainArgs) -> Result<()> {
    // Under mpirun, each rank trains its share of every batch; rank 0 alone checks and
    // writes the outputs and reports.
    let job = crate::mpi_job::Job::detect()?;
    let lead = job.as_ref().is_none_or(|j| j.rank() == 0);
    // Every rank reads the data: standard input (or a pipe) reaches one of them alone,
    // and the others would wait on it.
    if job.as_ref().is_some_and(|j| j.size() > 1) {
        let stream = a.files.iter().chain(&a.validation).find(|p| autoencoder::data::open::is_stream(p));
        if let Some(p) = stream {
            return Err(Error::config(
                "data",
                format!(
                    "{}: under mpirun every rank reads the data, and standard input or a pipe reaches one rank alone; give a file",
                    p.display()
                ),
            ));
        }
    }
    a.quiet |= !lead;
    // Flags and files checked before any work.
    let anomaly_rule = a.threshold;
    let checkpoint_path = a.checkpoint.clone().unwrap_or_else(|| sibling(&a.output, "ckpt"));
    let _held = if lead { Some(run_files(&a, &checkpoint_path).check()?) } else { None };
    let resume = match &a.resume {
        Some(p) => Some(load_checkpoint(p)?),
        None => None,
    };
    let (cfg, config_sets_model) = match &resume {
        Some(ck) => {
            // Another thread count resumes to the same bits: the steps do not depend on it.
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
            (cfg, false)
        }
        None => resolve_config(&a)?,
    };
    let seed = cfg.training.seed;
    // Data larger than the memory budget (or with --stream) is streamed; with --shard,
    // each rank holds its rows.
    let shard_among = match (&job, a.shard) {
        (None, true) => return Err(Error::config(
            "shard",
            "--shard shares the rows out among the ranks of an mpirun job; run under mpirun, or leave it out",
        )),
        (Some(j), true) => Some(j.size()),
        _ => None,
    };
    // Under mpirun every rank streams every row (each computes its micro-batches), each
    // within its share of the machine's memory; with --shard, each rank its share of
    // every window, when its share of the rows is more than its budget (or --stream).
    let streamed = streaming(
        &a,
        job.as_ref().map_or(1, |j| j.local_size()),
        shard_among,
        job.as_ref().and_then(|j| j.peers()),
    )?;
    let shard = match (shard_among, &streamed) {
        (Some(_), None) => Some(shard_source(&a)?),
        _ => None,
    };
    let choosing = resume.is_none() && a.config.is_none();
    // Streamed, the first chunk stands for the rows (its shape; the range of every
    // chunk's values, when the defaults depend on it, by a pass over them); shared out,
    // each rank reads its rows alone, and the ranks' ranges make the range of all.
    let (mut data, range) = match (&streamed, &shard, &job) {
        (Some(s), _, _) => {
            let range = if choosing { settings(&a).range_of_chunks(&s.rows)? } else { None };
            (s.rows.read(0)?, range)
        }
        (None, Some(rows), Some(j)) => {
            let r = autoencoder::train::shard_rows(rows.rows() as usize, j.rank(), j.size());
            let data = rows.read_rows(r.start as u64..r.end as u64)?;
            let range = match (choosing, j.peers()) {
                (false, _) => None,
                (true, Some(mut peers)) => {
                    Some(autoencoder::train::value_range_of_all(&mut *peers, data.value_range())?)
                }
                (true, None) => Some(data.value_range()),
            };
            (data, range)
        }
        _ => {
            let data = a.data.load(&a.files, seed, Split::Train)?;
            let range = choosing.then(|| data.value_range());
            (data, range)
        }
    };
    // A configuration file, or a checkpoint, is the starting point; else the library
    // chooses one for the data (or the preset's).
    let mut cfg = if choosing { with_data_defaults(&a, &data, range)? } else { cfg };
    // A warm start trains the model's architecture (and keeps its normaliser); the
    // flags and a configuration file give the training settings only.
    let start = match &a.from {
        Some(p) => {
            let model = file::load(p)?;
            if let Some(c) = a.config.as_ref().filter(|_| config_sets_model) {
                return Err(Error::format(
                    c,
                    format!(
                        "has a [model] table, but the architecture is {}'s (--from); leave it out",
                        p.display()
                    ),
                ));
            }
            cfg = settings(&a)
                .over_model(model.config(), cfg.training)
                .map_err(|e| Error::format(p, e.to_string()))?;
            Some(model)
        }
        None => None,
    };
    if job.is_some() && resume.is_none() && cfg.training.micro_batch == 0 {
        // The micro-batch size, not the rank count, fixes the bits: any -n gives these.
        cfg.training.micro_batch = autoencoder::TrainConfig::SHARED_MICRO_BATCH;
    }
    if resume.is_none() && start.is_none() && !a.quiet {
        let with_width = ModelConfig { input_dim: data.cols(), ..cfg.model.clone() };
        for w in with_width.warnings() {
            eprintln!("warning: {}", crate::flags::in_flags(&w, "train"));
        }
    }
    // The validation file is read as the training data is (its columns' roles, its
    // rule for missing values), its categorical columns with the training rows' values;
    // with --shard, each rank reads the rows of the validation batches it measures.
    let validation = match (&a.validation, shard_among.zip(job.as_ref())) {
        (Some(p), among) => {
            let mut args = a.data.clone();
            args.dataset = None;
            args.categories = data.categories.clone();
            // Shared out, the training rows are read a chunk at a time, streamed or not.
            let rows = streamed.as_ref().map(|s| &s.rows).or(shard.as_ref());
            let part = among
                .zip(rows)
                .map(|((size, j), rows)| (j.rank(), size, rows.rows() as usize, cfg.training.batch_size));
            Some(read_validation(&args, p, seed, part, a.quiet)?)
        }
        (None, _) => None,
    };
    let threads = a.threads.threads();
    let trimmed = cfg.training.trim > 0.0;
    let mut valid = cfg.check(&data.shape())?.threads(threads.clone());
    if lead {
        valid = valid.checkpoint(checkpoint_path, a.checkpoint_every.unwrap_or(0));
    }
    if let Some(rule) = anomaly_rule {
        valid = valid.threshold(rule);
    }
    if let Some(ck) = resume {
        valid = valid.resume(ck)?;
    }
    if let (Some(model), Some(p)) = (start, &a.from) {
        valid = valid.start_from(model).map_err(|e| Error::format(p, e.to_string()))?;
    }
    // Trained and finished: the code statistics `ae compress` needs, and the detector
    // of --threshold.
    let Outcome { fitted, val_rows, pass } = match &streamed {
        Some(s) => {
            // Shared out, each rank's budget holds its share of the window.
            let window =
                autoencoder::train::window_rows(&s.rows, s.budget.bytes(), valid.training().batch_size)?
                    .saturating_mul(s.among.unwrap_or(1));
            if !a.quiet {
                eprintln!("{}", s.describe(window));
            }
            // The first chunk's rows are not kept beside the window.
            data = Dataset::new(Vec::new(), 0, 0, s.rows.source.clone())?;
            train_streamed(
                &s.rows,
                validation.as_ref().map(Validation::rows),
                &valid,
                window,
                a.quiet,
                job.as_ref().and_then(|j| j.peers()),
                s.among.is_some(),
            )?
        }
        None => match (&shard, job.as_ref().and_then(|j| j.peers())) {
            (Some(rows), Some(peers)) => {
                let validation = validation.as_ref().map(Validation::rows);
                train_sharded(&data, rows.rows() as usize, validation, &valid, a.quiet, peers)?
            }
            (_, peers) => train(&data, validation.as_ref().map(|v| v.rows().rows()), &valid, a.quiet, peers)?,
        },
    };
    if !lead {
        return Ok(());
    }
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
        // (Streamed rows are not at hand for a PCA of them.)
        let baseline = if streamed.is_some() || shard.is_some() {
            None
        } else {
            pca_line(&model, &data, validation.as_ref().map(|v| v.rows().rows()), &threads, a.quiet)
        };
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
        detector: model.detector.clone(),
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

/// Why training rows stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamWhy {
    /// --stream.
    Asked,
    /// This rank's rows (or share of them) are over its budget.
    OverBudget,
    /// Another rank chose to (its --stream, or its budget): every rank streams alike.
    AnotherRank,
}

/// Training rows streamed from their files, within a memory budget.
struct Streamed {
    rows: autoencoder::data::chunks::ChunkedRows,
    budget: MemoryBudget,
    /// Why the rows stream.
    why: StreamWhy,
    /// With --shard: the ranks that share each window out.
    among: Option<usize>,
}

impl Streamed {
    /// The line that says streaming was chosen, and its windows.
    fn describe(&self, window: usize) -> String {
        let why = match self.why {
            StreamWhy::Asked => String::new(),
            StreamWhy::OverBudget => {
                let each = if self.among.is_some() { "each rank's share is " } else { "" };
                format!(", {each}more than the memory budget of {} (--memory-budget)", self.budget)
            }
            StreamWhy::AnotherRank => {
                ", as another rank chose to (its --stream or --memory-budget)".to_string()
            }
        };
        let share = match self.among {
            Some(p) => format!(", each rank reading its {} (--shard)", window.div_ceil(p)),
            None => String::new(),
        };
        format!(
            "streaming {} rows of {} values from {} ({} as f32{why}): shuffled in windows of {window} rows{share}",
            self.rows.rows(),
            self.rows.cols(),
            self.rows.source,
            human_bytes(self.rows.bytes())
        )
    }
}

/// Whether to stream the training rows: with --stream, or when table files hold more
/// than the memory budget (estimated from their footers or sizes; with --shard among
/// `among` ranks, a rank's share of them) on any of the ranks `peers` joins. Named datasets, images and standard input
/// are read into memory (--stream with them is an error). Of two plain files, the second
/// is a labels file, which training does not use.
fn streaming(
    a: &TrainArgs,
    local_ranks: usize,
    among: Option<usize>,
    peers: Option<Box<dyn autoencoder::Peers>>,
) -> Result<Option<Streamed>> {
    let budget = a.memory_budget.unwrap_or_else(|| MemoryBudget::of_machine(local_ranks));
    if among.is_some() && table_files(a).is_none() {
        return Err(shard_needs_tables());
    }
    let Some(paths) = table_files(a) else {
        if a.stream {
            return Err(a.data.cannot_stream(&a.files));
        }
        return Ok(None);
    };
    let why = match a.stream {
        true => Some(StreamWhy::Asked),
        false => budget.exceeded_by(paths, among.unwrap_or(1))?.then_some(StreamWhy::OverBudget),
    };
    // Every rank streams, or none: machines differ in memory, and each rank decides
    // from its own budget.
    let why = match peers {
        Some(mut p) => match (why, autoencoder::train::any_of(&mut *p, why.is_some())?) {
            (None, true) => Some(StreamWhy::AnotherRank),
            (why, _) => why,
        },
        None => why,
    };
    let Some(why) = why else { return Ok(None) };
    let rows = open_chunked(a, paths)?;
    Ok(Some(Streamed { rows, budget, why, among }))
}

/// The table files `paths` opened to be read a chunk at a time, saying (unless quiet)
/// how many rows `--missing drop` left out, as loading them whole says.
fn open_chunked(a: &TrainArgs, paths: &[PathBuf]) -> Result<autoencoder::data::chunks::ChunkedRows> {
    let rows = autoencoder::data::chunks::ChunkedRows::open(paths, &a.data.load_options())?;
    if rows.dropped_rows() > 0 && !a.quiet {
        eprintln!("left out {} row(s) with a missing value; {} kept", rows.dropped_rows(), rows.rows());
    }
    Ok(rows)
}

/// The table files the training rows are read from a chunk at a time
/// ([`DataArgs::table_files`](crate::args::DataArgs::table_files)).
fn table_files(a: &TrainArgs) -> Option<&[PathBuf]> {
    a.data.table_files(&a.files)
}

/// The rows `--shard` shares out among the ranks: table files, read a chunk at a time.
fn shard_source(a: &TrainArgs) -> Result<autoencoder::data::chunks::ChunkedRows> {
    let paths = table_files(a).ok_or_else(shard_needs_tables)?;
    open_chunked(a, paths)
}

/// The `--validation` rows this rank holds: the file whole, or with `--shard` only
/// the rows of the validation batches it measures, when the file is a table read a
/// chunk at a time.
enum Validation {
    Whole(Dataset),
    Part { rows: Dataset, total: usize },
}

impl Validation {
    /// As the library takes a validation set on rows shared out.
    fn rows(&self) -> autoencoder::train::ValidationRows<'_> {
        match self {
            Validation::Whole(rows) => autoencoder::train::ValidationRows::Whole(rows),
            Validation::Part { rows, total } => {
                autoencoder::train::ValidationRows::Shared { rows, total: *total }
            }
        }
    }
}

/// The validation file `path` read per `args`: whole, or with `part` (this rank, the
/// ranks, the training rows and the batch size of a run whose rows are shared out) the
/// rank's [`validation_part`](autoencoder::train::validation_part) of a table file.
fn read_validation(
    args: &DataArgs,
    path: &PathBuf,
    seed: u64,
    part: Option<(usize, usize, usize, usize)>,
    quiet: bool,
) -> Result<Validation> {
    use autoencoder::data::open::{are_images, is_stream};
    let paths = std::slice::from_ref(path);
    let table = !is_stream(path) && !are_images(paths);
    match part.filter(|_| table) {
        Some((rank, size, training_rows, batch)) => {
            let file = autoencoder::data::chunks::ChunkedRows::open(paths, &args.load_options())?;
            if file.dropped_rows() > 0 && !quiet {
                eprintln!(
                    "left out {} validation row(s) with a missing value; {} kept",
                    file.dropped_rows(),
                    file.rows()
                );
            }
            let total = file.rows() as usize;
            let r = autoencoder::train::validation_part(total, training_rows, batch, rank, size);
            Ok(Validation::Part { rows: file.read_rows(r.start as u64..r.end as u64)?, total })
        }
        None => Ok(Validation::Whole(args.load(paths, seed, Split::Train)?)),
    }
}

/// `--shard` given data that is not table files.
fn shard_needs_tables() -> Error {
    Error::config(
        "shard",
        "--shard reads each rank's rows from table files (CSV, NPY, Parquet, Arrow, or folders and globs of them); named datasets, images and standard input are read whole",
    )
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
    /// The detector of --threshold: its rule, threshold, and the training scores' summary
    /// (with the share of training rows the threshold flags).
    #[serde(skip_serializing_if = "Option::is_none")]
    detector: Option<autoencoder::anomaly::Detector>,
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
        let flagged = match &self.detector {
            Some(d) => match d.training_scores {
                Some(t) => format!(
                    "; the {} threshold {:.6} ({}) flags {:.2}% of the training rows",
                    d.score,
                    d.threshold,
                    d.rule,
                    100.0 * t.flagged
                ),
                None => String::new(),
            },
            None => String::new(),
        };
        format!(
            "trained {} ({} parameters) for {} epochs in {:.1}s ({}{}){flagged}; wrote {}",
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Command, FromArgMatches};

    /// The flags of `ae train` that are run options or data options, not settings of
    /// the model or its training.
    const NOT_SETTINGS: &[&str] = &[
        "dataset",
        "shard",
        "split",
        "data_dir",
        "cache_dir",
        "mirror",
        "offline",
        "label_column",
        "id_column",
        "columns",
        "ignore_columns",
        "missing",
        "categorical",
        "categories",
        "header",
        "delimiter",
        "decimal",
        "thousands",
        "npz_array",
        "skip_bad",
        "image_size",
        "image_channels",
        "validation",
        "config",
        "threads",
        "checkpoint_every",
        "checkpoint",
        "resume",
        "from",
        "threshold",
        "stream",
        "memory_budget",
        "output",
        "json",
        "quiet",
        "no_plots",
    ];

    fn command() -> Command {
        <TrainArgs as clap::Args>::augment_args(Command::new("train").no_binary_name(true))
    }

    fn args(line: &[&str]) -> TrainArgs {
        let m = command().try_get_matches_from(line).unwrap();
        TrainArgs::from_arg_matches(&m).unwrap()
    }

    /// Table files over the memory budget are streamed; with `--shard`, when a rank's
    /// share of them is over it (the budget is each rank's).
    #[test]
    fn a_rank_streams_when_its_share_is_over_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        // 1,000 rows of 10 values: 40,128 bytes on disk, NPY's header included.
        autoencoder::data::npy::write(&path, &[0.5f32; 10_000], 1000, 10).unwrap();
        let a = args(&[path.to_str().unwrap(), "--memory-budget", "15000"]);
        let streams = |among: Option<usize>| streaming(&a, 1, among, None).unwrap().map(|s| s.among);
        assert_eq!(streams(None), Some(None));
        assert_eq!(streams(Some(2)), Some(Some(2)));
        assert_eq!(streams(Some(3)), None);
        // --stream streams whatever the size; --shard needs table files.
        let a = args(&[path.to_str().unwrap(), "--stream"]);
        assert_eq!(streaming(&a, 1, Some(3), None).unwrap().map(|s| s.among), Some(Some(3)));
        let a = args(&["--dataset", "mnist"]);
        let e = streaming(&a, 1, Some(2), None).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("--shard reads each rank's rows from table files"), "{e}");
    }

    /// Every setting is a flag of `ae train` and every other flag is listed here, so
    /// that the Python package's keywords are the command's flags.
    #[test]
    fn every_setting_is_a_flag_and_every_flag_a_setting_or_an_option() {
        let cmd = command();
        let flags: Vec<String> =
            cmd.get_arguments().filter_map(|a| a.get_long()).map(|l| l.replace('-', "_")).collect();
        for n in Settings::NAMES {
            assert!(flags.iter().any(|f| f == n), "the setting {n} is no flag of ae train");
        }
        for f in &flags {
            assert!(
                Settings::NAMES.contains(&f.as_str()) || NOT_SETTINGS.contains(&f.as_str()),
                "the flag --{f} is neither a setting nor listed as an option"
            );
        }
    }

    /// Each flag sets the same setting as its name does through the library
    /// (`Settings::set`, what the Python package calls).
    #[test]
    fn each_flag_maps_to_its_setting() {
        let sample = |name: &str| match name {
            "layers" | "channels" | "decoder_layers" => "8,4",
            "arch" => "conv",
            "downsample" => "pool",
            "activation" | "code_activation" | "output_activation" => "gelu",
            "preset" => "tabular",
            "init" => "he_normal",
            "normalize" => "minmax",
            "loss" => "mae",
            "optimizer" => "sgd",
            "lr_schedule" => "cosine",
            "noise" => "gaussian:0.1",
            "sparsity" => "0.05:1",
            "score" => "mae",
            "kernel_size" | "kl_warmup" | "iw_train" | "batch_size" | "epochs" | "patience" | "seed"
            | "min_steps" | "micro_batch" => "3",
            _ => "0.25",
        };
        let switches =
            ["batch_norm", "variational", "tied", "binarize", "nesterov", "no_shuffle", "no_restore_best"];
        for name in Settings::NAMES {
            let flag = format!("--{}", name.replace('_', "-"));
            let (line, value) = if switches.contains(name) {
                (vec![flag], serde_json::Value::Bool(true))
            } else {
                let v = sample(name);
                let json = match v.parse::<u64>() {
                    Ok(n) => serde_json::json!(n),
                    Err(_) => v.parse::<f64>().map_or(serde_json::json!(v), |x| serde_json::json!(x)),
                };
                (vec![flag, v.to_string()], json)
            };
            let refs: Vec<&str> = line.iter().map(String::as_str).collect();
            let from_flags = settings(&args(&refs));
            let mut from_name = Settings::default();
            from_name.set(name, &value).unwrap();
            assert_eq!(from_flags, from_name, "--{name}");
            assert_ne!(from_name, Settings::default(), "{name} changed nothing");
        }
    }

    /// With `--shard`, a rank reads only its part of a validation table: the rows of the
    /// validation batches it measures, numbered from their place in the file; read
    /// whole otherwise (and from standard input, which has no rows to pick).
    #[test]
    fn a_rank_reads_its_part_of_the_validation_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.npy");
        let values: Vec<f32> = (0..700 * 3).map(|i| i as f32).collect();
        autoencoder::data::npy::write(&path, &values, 700, 3).unwrap();
        let data = args(&["x.npy"]).data;
        for rank in 0..3 {
            // Batches of 256 rows (of 1,200 training rows): parts of 256, 256 and 188 rows.
            let v = read_validation(&data, &path, 0, Some((rank, 3, 1200, 256)), true).unwrap();
            let Validation::Part { rows, total } = v else { panic!("rank {rank}: read whole") };
            let want = autoencoder::train::validation_part(700, 1200, 256, rank, 3);
            assert_eq!((total, rows.rows(), rows.first_row), (700, want.len(), want.start as u64));
            assert_eq!(rows.row(0)[0], (want.start * 3) as f32, "rank {rank}");
        }
        assert_eq!(autoencoder::train::validation_part(700, 1200, 256, 2, 3), 512..700);
        let whole = read_validation(&data, &path, 0, None, true).unwrap();
        assert!(matches!(whole, Validation::Whole(ref v) if v.rows() == 700));
    }
}
