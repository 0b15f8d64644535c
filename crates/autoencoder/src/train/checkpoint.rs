//! Resumable training state: the model, the optimizer's moments, the shuffling
//! generator's position, early stopping's memory and the history, in one safetensors
//! file written atomically (temporary file, fsync, rename).

use std::collections::BTreeMap;
use std::path::Path;

use super::history::EpochRecord;
use super::TrainConfig;
use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::file;
use crate::model::Autoencoder;

/// The `format` metadata value of a checkpoint.
pub const CHECKPOINT_FORMAT: &str = "autoencoder-checkpoint/1";

/// Checkpoints larger than this are refused before reading.
pub const MAX_CHECKPOINT_BYTES: u64 = 4 << 30;

/// Where training stood after a completed epoch: everything besides the tensors
/// that a resumed run needs to continue exactly as the uninterrupted one would.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResumeState {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimizer steps taken (Adam's `t`).
    pub optimizer_steps: u64,
    /// The shuffling generator's position (ChaCha8 word position, decimal).
    pub shuffle_position: String,
    /// The input-corruption generator's position (ChaCha8 word position, decimal;
    /// `0` when there is no corruption).
    #[serde(default)]
    pub noise_position: String,
    /// The best monitored loss so far (early stopping), if any epoch ran.
    pub best: Option<f64>,
    /// The epoch that reached it.
    pub best_epoch: usize,
    /// Epochs since the best one.
    pub since_best: usize,
    /// The records of the completed epochs.
    pub history: Vec<EpochRecord>,
    /// The training configuration (a resumed run uses it unchanged).
    pub config: TrainConfig,
    /// The thread count (the same count reproduces the same bits).
    pub threads: usize,
    /// Where the training rows came from, and the training and validation row counts.
    pub data: String,
    /// Training and validation rows.
    pub rows: (usize, usize),
    /// Reduce-on-plateau's memory (the default when the schedule is another).
    #[serde(default)]
    pub plateau: crate::optim::PlateauState,
}

/// A loaded checkpoint: the model to keep training, and how to resume.
#[derive(Debug)]
pub struct Checkpoint {
    /// The model with the weights of the last completed epoch.
    pub model: Autoencoder,
    /// What [`super::FitOptions::resume`] takes.
    pub resume: Resume,
}

/// The training state besides the model's weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Resume {
    /// Counters, generator position, early stopping, history, configuration.
    pub state: ResumeState,
    /// The optimizer's state vectors (Adam's `m` and `v`, …), possibly empty.
    pub optimizer: (Vec<f32>, Vec<f32>),
    /// The best epoch's weights, kept for early stopping's restore (else empty).
    pub best_params: Vec<f32>,
    /// The training rows' order after the last epoch (each epoch reshuffles it).
    pub order: Vec<u32>,
}

/// Write a checkpoint to `path` atomically.
pub fn save_checkpoint(
    path: &Path,
    model: &Autoencoder,
    state: &ResumeState,
    optimizer: (&[f32], &[f32]),
    best_params: &[f32],
    order: &[u32],
) -> Result<()> {
    let mut meta: BTreeMap<String, String> = file::model_metadata(model)?;
    meta.insert("format".into(), CHECKPOINT_FORMAT.into());
    meta.insert(
        "state".into(),
        serde_json::to_string(state)
            .map_err(|e| Error::Data(format!("could not serialise the checkpoint: {e}")))?,
    );
    let mut tensors = file::model_tensors(model);
    for (name, v) in
        [("optimizer.state1", optimizer.0), ("optimizer.state2", optimizer.1), ("best.params", best_params)]
    {
        if !v.is_empty() {
            tensors.push((name.to_string(), vec![v.len()], v));
        }
    }
    let mut u32_tensors = file::model_u32_tensors(model);
    u32_tensors.push(("shuffle.order".to_string(), vec![order.len()], order));
    write_atomic(path, &file::encode_with(&meta, &tensors, &u32_tensors)?)
}

/// Read a checkpoint written by [`save_checkpoint`].
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint> {
    let bytes = file::read_limited(path, MAX_CHECKPOINT_BYTES, "checkpoint")?;
    let (model, meta, st) = file::decode_model(&bytes, path, CHECKPOINT_FORMAT)?;
    let state: ResumeState = meta
        .get("state")
        .ok_or_else(|| Error::format(path, "the metadata has no `state` entry"))
        .and_then(|s| {
            serde_json::from_str(s)
                .map_err(|e| Error::format(path, format!("the `state` metadata is invalid: {e}")))
        })?;
    // The resumed run uses this configuration unchanged: refuse a bad one here, naming the file.
    state.config.check().map_err(|e| {
        Error::format(path, format!("the checkpoint's training configuration is invalid: {e}"))
    })?;
    state.shuffle_position.parse::<u128>().map_err(|_| {
        Error::format(path, format!("shuffle_position {:?} is not a whole number", state.shuffle_position))
    })?;
    if !state.noise_position.is_empty() {
        state.noise_position.parse::<u128>().map_err(|_| {
            Error::format(path, format!("noise_position {:?} is not a whole number", state.noise_position))
        })?;
    }
    let n = model.param_count();
    let read = |name: &str| -> Result<Vec<f32>> {
        match st.tensor(name) {
            Err(_) => Ok(Vec::new()),
            Ok(_) => {
                let mut v = vec![0.0; n];
                file::read_tensor(&st, name, &[n], &mut v, path)?;
                Ok(v)
            }
        }
    };
    let optimizer = (read("optimizer.state1")?, read("optimizer.state2")?);
    let best_params = read("best.params")?;
    let order = file::read_u32(&st, "shuffle.order", path)?;
    if order.len() != state.rows.0 || order.iter().any(|&i| i as usize >= state.rows.0) {
        return Err(Error::format(path, format!("`shuffle.order` is not an order of {} rows", state.rows.0)));
    }
    Ok(Checkpoint { model, resume: Resume { state, optimizer, best_params, order } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;

    fn state(config: TrainConfig) -> ResumeState {
        ResumeState {
            epochs_done: 1,
            optimizer_steps: 1,
            shuffle_position: "0".into(),
            noise_position: "0".into(),
            best: None,
            best_epoch: 0,
            since_best: 0,
            history: Vec::new(),
            config,
            threads: 1,
            data: "test".into(),
            rows: (3, 0),
            plateau: Default::default(),
        }
    }

    /// A checkpoint whose stored training configuration is invalid is refused by the loader,
    /// with the file named (found with the malformed-file corpus: the error came later,
    /// without the file's name).
    #[test]
    fn invalid_stored_configuration_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.ckpt");
        let model =
            Autoencoder::new(ModelConfig { input_dim: 4, layers: vec![2], ..Default::default() }, 1).unwrap();
        let good = state(TrainConfig::default());
        save_checkpoint(&path, &model, &good, (&[], &[]), &[], &[2, 0, 1]).unwrap();
        assert_eq!(load_checkpoint(&path).unwrap().resume.state, good);
        let bad = state(TrainConfig { batch_size: 0, ..TrainConfig::default() });
        save_checkpoint(&path, &model, &bad, (&[], &[]), &[], &[2, 0, 1]).unwrap();
        let e = load_checkpoint(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: ", path.display())) && e.contains("batch_size"), "{e}");
    }
}
