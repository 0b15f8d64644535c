//! Training: the settings, the fit loop and its workspace, the per-epoch history,
//! early stopping, and the observer through which a caller follows progress.

mod checkpoint;
mod code_penalty;
mod finish;
mod fit;
mod history;
mod iw;
pub mod kl;
mod micro;
mod noise;
mod observer;
mod row_split;
mod shard;
mod stream;

pub use crate::budget::{human_bytes, MemoryBudget};
pub use checkpoint::{
    load_checkpoint, save_checkpoint, Checkpoint, DataFingerprint, PartFingerprint, Resume, ResumeState,
    WordPosition, CHECKPOINT_FORMAT,
};
pub use code_penalty::{CodePenalties, Codes, Sparsity};
pub use finish::{finish, fit_codec};
pub use fit::{fit, fit_with, loss_and_gradient, loss_and_gradient_with, FitOptions, Trainer};
pub use history::{EpochRecord, History, StopReason, TrainingSummary};
pub use micro::Peers;
pub use noise::Corruption;
pub use observer::{Control, NoObserver, Observer, TrainStart};
pub use shard::{
    all_ready, any_of, rows_among, shard_rows, validation_part, value_range_of_all, ValidationRows,
};
pub(crate) use shard::{finish as finish_sharded, SharedPeers};
pub(crate) use stream::fit_streamed_in;
pub use stream::{fit_streamed, fit_streamed_sharded, window_rows};

use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::optim::OptimizerConfig;

/// Stop when the monitored loss (validation if there is a validation set, else
/// training) has not improved by more than `min_delta` for `patience` epochs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping. Default 5.
    pub patience: usize,
    /// The smallest decrease that counts as an improvement. Default 0.
    pub min_delta: f64,
    /// Put back the weights of the best epoch when stopping (or at the end). Default true.
    pub restore_best: bool,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping { patience: 5, min_delta: 0.0, restore_best: true }
    }
}

/// The largest epoch limit accepted (a guard against typos and hostile files).
pub const MAX_EPOCHS: usize = 1_000_000;

/// The most samples per row [`TrainConfig::iw_train`] accepts (the decoder's batch is
/// `batch_size · iw_train` rows).
pub const MAX_IW_SAMPLES: usize = 5000;

/// How to train: loss, optimizer, batches, epochs, validation, stopping, penalties.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// The reconstruction loss. Default `mse`.
    pub loss: Loss,
    /// The optimizer and its settings. Default Adam with Keras' defaults.
    pub optimizer: OptimizerConfig,
    /// Rows per gradient step. Default 128.
    pub batch_size: usize,
    /// The epoch limit. Default 10.
    pub epochs: usize,
    /// Fraction of the rows held out for validation, taken from the end as Keras'
    /// `validation_split` does (used when no validation set is given). Default 0.
    pub validation_split: f64,
    /// Reshuffle the training rows every epoch (seeded). Default true.
    pub shuffle: bool,
    /// The seed for initialisation, shuffling and noise. Default 0.
    pub seed: u64,
    /// Early stopping; `None` trains to the epoch limit.
    pub early_stopping: Option<EarlyStopping>,
    /// Stop when the training loss changes by less than this fraction of itself
    /// between two epochs (converged). `None` disables it.
    pub tolerance: Option<f64>,
    /// L1 weight penalty `l1·Σ|w|` added to the loss (weights, not biases). Default 0.
    pub l1: f64,
    /// L2 weight penalty `l2·Σw²` added to the loss (weights, not biases). Default 0.
    pub l2: f64,
    /// Rescale the gradient when its global L2 norm exceeds this. Default none.
    pub clip_norm: Option<f64>,
    /// The learning-rate schedule. Default constant.
    pub lr_schedule: crate::optim::Schedule,
    /// Corrupt the training inputs (denoising autoencoder; the clean rows stay the
    /// target, and validation uses clean inputs). Default none.
    pub noise: Option<Corruption>,
    /// L1 penalty on the code's activations (sparse autoencoder). Default 0.
    pub code_l1: f64,
    /// KL sparsity penalty on a sigmoid code's mean activations. Default none.
    pub sparsity: Option<Sparsity>,
    /// Contractive penalty weight on the encoder's Jacobian norm. Default 0.
    pub contractive: f64,
    /// Variational models: the weight β of the KL term (β-VAE). Default 1.
    pub beta: f64,
    /// Variational models: raise the KL weight linearly from 0 to β over this many
    /// epochs (KL warm-up). Default 0 (β from the start).
    pub kl_warmup: usize,
    /// Variational models with a Bernoulli decoder: train on the importance-weighted
    /// bound of this many samples per row (IWAE; Burda et al. 2016) instead of the ELBO.
    /// The encoder runs once per row, the decoder `iw_train` times. Default 1 (the
    /// ELBO, with its analytic KL term).
    #[serde(skip_serializing_if = "is_one")]
    pub iw_train: usize,
    /// Re-binarise the training rows each time they are used: each value `x ∈ [0, 1]`
    /// becomes 1 with probability `x` (dynamically binarised MNIST). Default false.
    pub binarize: bool,
    /// Robust fitting for anomaly detection: train once on every row, rank the rows by
    /// their anomaly score ([`crate::ModelConfig::score`]), then train again, from the
    /// same initial weights, on the `1 − trim` fraction that scored lowest. Rows that
    /// the first model cannot reconstruct (likely the anomalies the training data
    /// holds) no longer shape the second. Default 0 (one pass on every row).
    #[serde(skip_serializing_if = "is_default")]
    pub trim: f64,
    /// Small tables: when the epoch limit would allow fewer than this many gradient
    /// steps, raise it to `⌈min_steps / b⌉` epochs (`b` batches per epoch), and early
    /// stopping's patience in the same proportion. A table of 60 rows in batches of 64
    /// (one batch per epoch) may then run `min_steps` epochs; a learning-rate schedule
    /// spans the raised limit. Default 0 (the limit as given).
    #[serde(skip_serializing_if = "is_default")]
    pub min_steps: usize,
    /// Split each batch into micro-batches of this many rows whose gradients sum in one
    /// fixed tree: the same seed then gives the same bits whether one process or
    /// several ([`FitOptions::peers`], `mpirun … ae train`) compute them. The noise of
    /// each micro-batch is drawn from the seed, the step and its index; the loss is
    /// the batch's mean as before. Models with batch norm and the code penalties
    /// (which couple a batch's rows) are refused. Default 0 (whole batches).
    #[serde(skip_serializing_if = "is_default")]
    pub micro_batch: usize,
}

impl TrainConfig {
    /// The micro-batch size fronts give a run on several processes that sets none
    /// (`mpirun … ae train`, the Python package's `fit(…, peers=…)`): 8 micro-batches in
    /// a batch of 256, so that up to 8 processes share each batch, large enough for the
    /// products to run at speed. The size, not the process count, fixes the bits.
    pub const SHARED_MICRO_BATCH: usize = 32;
}

/// Settings left at their default are not written, so a run that does not use them
/// records the same configuration as before they existed.
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            loss: Loss::Mse,
            optimizer: OptimizerConfig::default(),
            batch_size: 128,
            epochs: 10,
            validation_split: 0.0,
            shuffle: true,
            seed: 0,
            early_stopping: None,
            tolerance: None,
            l1: 0.0,
            l2: 0.0,
            clip_norm: None,
            lr_schedule: crate::optim::Schedule::Constant,
            noise: None,
            code_l1: 0.0,
            sparsity: None,
            contractive: 0.0,
            beta: 1.0,
            kl_warmup: 0,
            iw_train: 1,
            binarize: false,
            trim: 0.0,
            min_steps: 0,
            micro_batch: 0,
        }
    }
}

impl TrainConfig {
    /// Check that the (normalised) training rows suit this training: BCE needs every
    /// value in [0, 1] ([`Loss::check_targets`]), and so does `binarize`, which draws
    /// each value as the probability of a 1. `where_` names the data for the message.
    pub fn check_targets(&self, data: &[f32], cols: usize, where_: &str) -> crate::Result<()> {
        self.loss.check_targets(data, cols, where_)?;
        if self.binarize && self.loss != Loss::Bce {
            crate::loss::check_unit_interval(
                data,
                cols,
                where_,
                "binarize (each value the probability of a 1)",
                "min-max normalise the data (normalize = minmax), or leave binarize off",
            )?;
        }
        Ok(())
    }

    /// Whether [`check_targets`](Self::check_targets) checks anything.
    pub fn checks_targets(&self) -> bool {
        self.loss == Loss::Bce || self.binarize
    }

    /// The training of the tabular anomaly preset
    /// ([`crate::anomaly::tabular_defaults`], which says why; the same for every width):
    /// MSE loss, Adam (lr 1e-3), batch 64; up to 100 epochs and at least 2,000
    /// gradient steps, early stopping (patience 10, best weights restored) on the last
    /// 10 % of the training rows; trained twice, the second pass on the half of the rows
    /// the first reconstructs best (`trim` = 0.5).
    pub fn tabular() -> TrainConfig {
        TrainConfig {
            loss: Loss::Mse,
            batch_size: 64,
            epochs: 100,
            min_steps: 2000,
            validation_split: 0.1,
            early_stopping: Some(EarlyStopping { patience: 10, min_delta: 0.0, restore_best: true }),
            trim: 0.5,
            ..TrainConfig::default()
        }
    }

    /// The training defaults for `data`, beside [`crate::ModelConfig::for_data`]:
    /// [`TrainConfig::default`] for images; for tables also `min_steps = 2000` (the
    /// tabular preset's), so that a table of a few hundred rows gets a few thousand
    /// gradient steps rather than the forty that ten epochs of four batches would give.
    pub fn for_data(data: &crate::Dataset) -> TrainConfig {
        if data.image_shape.is_some() {
            TrainConfig::default()
        } else {
            TrainConfig { min_steps: TrainConfig::tabular().min_steps, ..TrainConfig::default() }
        }
    }

    /// The KL weight in `epoch` (1-based): `β·min(1, epoch / kl_warmup)`.
    pub fn kl_weight(&self, epoch: usize) -> f64 {
        if self.kl_warmup == 0 {
            self.beta
        } else {
            self.beta * (epoch as f64 / self.kl_warmup as f64).min(1.0)
        }
    }

    /// The penalties on the code this configuration asks for.
    pub fn code_penalties(&self) -> CodePenalties {
        CodePenalties { l1: self.code_l1, sparsity: self.sparsity, contractive: self.contractive }
    }

    /// The rows of `data` this configuration holds out for validation when no separate
    /// validation set is given, as [`fit`] does: the last `validation_split` of them
    /// ([`Dataset::split_validation`](crate::Dataset::split_validation)); an empty range
    /// at the end when nothing is held out.
    pub fn held_out(&self, data: &crate::Dataset) -> Result<std::ops::Range<usize>> {
        Ok(data.split_validation(self.validation_split)?.1)
    }

    /// The configuration a pass over `rows` training rows runs with: with
    /// [`TrainConfig::min_steps`], the epoch limit `E` becomes
    /// `E′ = max(E, ⌈min_steps / ⌈rows / batch_size⌉⌉)` (at most [`MAX_EPOCHS`]) and the
    /// patience `p` becomes `⌊p·E′/E⌋`; otherwise it is unchanged.
    pub fn for_rows(&self, rows: usize) -> TrainConfig {
        let mut c = self.clone();
        if self.min_steps == 0 || rows == 0 || self.epochs == 0 || self.batch_size == 0 {
            return c;
        }
        let batches = rows.div_ceil(self.batch_size);
        let epochs = self.epochs.max(self.min_steps.div_ceil(batches)).min(MAX_EPOCHS);
        if let Some(es) = c.early_stopping.as_mut() {
            es.patience = es.patience.saturating_mul(epochs) / self.epochs;
        }
        c.epochs = epochs;
        c
    }

    /// Check every field once; the messages name the field.
    pub fn check(&self) -> Result<()> {
        self.optimizer.check()?;
        if !(0.0..=0.9).contains(&self.trim) {
            return Err(Error::config(
                "trim",
                format!(
                    "{} must be between 0 and 0.9 (the fraction of rows left out of the second pass)",
                    self.trim
                ),
            ));
        }
        if self.min_steps > MAX_EPOCHS {
            return Err(Error::config(
                "min_steps",
                format!("{} must be at most {MAX_EPOCHS}", self.min_steps),
            ));
        }
        if self.batch_size == 0 || self.batch_size > 1 << 20 {
            return Err(Error::config(
                "batch_size",
                format!("{} must be between 1 and {}", self.batch_size, 1 << 20),
            ));
        }
        if self.epochs == 0 || self.epochs > MAX_EPOCHS {
            return Err(Error::config(
                "epochs",
                format!("{} must be between 1 and {MAX_EPOCHS}", self.epochs),
            ));
        }
        if !(0.0..1.0).contains(&self.validation_split) {
            return Err(Error::config(
                "validation_split",
                format!("{} must be in [0, 1)", self.validation_split),
            ));
        }
        for (f, v) in [("l1", self.l1), ("l2", self.l2)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(f, format!("{v} must be ≥ 0")));
            }
        }
        if let Some(c) = self.clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return Err(Error::config("clip_norm", format!("{c} must be > 0")));
            }
        }
        if let Some(t) = self.tolerance {
            if !(t.is_finite() && t >= 0.0) {
                return Err(Error::config("tolerance", format!("{t} must be ≥ 0")));
            }
        }
        self.lr_schedule.check()?;
        if let Some(n) = &self.noise {
            n.check()?;
        }
        self.code_penalties().check(None)?;
        if self.iw_train == 0 || self.iw_train > MAX_IW_SAMPLES {
            return Err(Error::config(
                "iw_train",
                format!("{} must be between 1 and {MAX_IW_SAMPLES} (samples per row)", self.iw_train),
            ));
        }
        if self.iw_train.saturating_mul(self.batch_size) > 1 << 20 {
            return Err(Error::config(
                "iw_train",
                format!(
                    "{} samples for each of {} rows per batch is more than {} decoder rows per step; lower batch_size or iw_train",
                    self.iw_train,
                    self.batch_size,
                    1 << 20
                ),
            ));
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(Error::config("beta", format!("{} must be ≥ 0", self.beta)));
        }
        if let Some(es) = &self.early_stopping {
            if es.patience == 0 {
                return Err(Error::config("patience", "must be at least 1"));
            }
            if !(es.min_delta.is_finite() && es.min_delta >= 0.0) {
                return Err(Error::config("min_delta", format!("{} must be ≥ 0", es.min_delta)));
            }
        }
        Ok(())
    }
}
