//! Training with a progress display, shared by `ae train` and `ae demo`: the TOML
//! file's shape, building (or resuming) a model, fitting it, and the rows its
//! reconstruction grid shows.

use std::path::PathBuf;

use autoencoder::train::{fit_with, Checkpoint, FitOptions, History};
use autoencoder::{Autoencoder, Dataset, Error, ModelConfig, Result, TrainConfig};

use crate::progress::Progress;

/// The TOML file `--config` reads; both tables are optional and every field has a default.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// The architecture.
    pub model: ModelConfig,
    /// How to train.
    pub training: TrainConfig,
}

/// What training produced.
pub struct Outcome {
    pub model: Autoencoder,
    pub history: History,
    /// The rows of the reconstruction grid: the first validation rows, or the first
    /// training rows when nothing was held out.
    pub val_rows: Option<Dataset>,
    /// The pass the model comes from, of how many (`(1, 2)`: a trimmed run stopped in
    /// its first pass).
    pub pass: (usize, usize),
}

/// Where checkpoints go, how often, and the one to resume from.
pub struct Checkpointing {
    pub path: PathBuf,
    pub every: usize,
    pub resume: Option<Checkpoint>,
}

/// Build (or take from the checkpoint) and train a model on `data` per `cfg`.
pub fn train(
    data: &Dataset,
    validation: Option<&Dataset>,
    cfg: FileConfig,
    threads: &autoencoder::Threads,
    quiet: bool,
    checkpointing: Option<Checkpointing>,
) -> Result<Outcome> {
    let FileConfig { mut model, training } = cfg;
    if model.input_dim != 0 && model.input_dim != data.cols() {
        return Err(Error::Data(format!(
            "{}: rows have {} values, but the configuration says input_dim = {}",
            data.source,
            data.cols(),
            model.input_dim
        )));
    }
    model.input_dim = data.cols();
    if model.image_shape.is_none() {
        model.image_shape = data.image_shape;
    }
    let mut options = FitOptions::default();
    let mut ae = match checkpointing {
        Some(Checkpointing { path, every, resume }) => {
            options.checkpoint = Some(path);
            options.checkpoint_every = every;
            match resume {
                Some(ck) => {
                    options.resume = Some(ck.resume);
                    ck.model
                }
                None => Autoencoder::new(model, training.seed)?,
            }
        }
        None => Autoencoder::new(model, training.seed)?,
    };
    let mut progress = Progress::new(quiet, training.loss.name(), training.batch_size);
    let history = fit_with(&mut ae, data, validation, &training, threads, &mut progress, options)?;
    let val_rows = match validation {
        Some(v) => Some(v.slice_rows(0, v.rows().min(16))),
        None if training.validation_split > 0.0 => {
            let held_out = training.held_out(data)?;
            Some(data.slice_rows(held_out.start, held_out.end.min(held_out.start + 16)))
        }
        // No held-out rows: the grid shows the first training rows.
        None => Some(data.slice_rows(0, data.rows().min(16))),
    };
    let pass = progress.pass();
    Ok(Outcome { model: ae, history, val_rows, pass })
}
