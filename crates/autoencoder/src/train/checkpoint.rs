//! Resumable training state: the model, the optimizer's moments, the shuffling
//! generator's position, early stopping's memory and the history, in one safetensors
//! file written atomically (temporary file, fsync, rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::history::EpochRecord;
use super::TrainConfig;
use crate::atomic::write_atomic;
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::file;
use crate::model::Autoencoder;
use crate::optim::{Optimizer, OptimizerKind};

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
    /// The shuffling generator's position.
    pub shuffle_position: WordPosition,
    /// The input-corruption generator's position (0 when there is no corruption).
    #[serde(default)]
    pub noise_position: WordPosition,
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
    /// The thread count of the run that wrote it (a record only: the steps' bits do not
    /// depend on it, so a resumed run may use another).
    pub threads: usize,
    /// Where the training rows came from, and the training and validation row counts.
    pub data: String,
    /// Training and validation rows.
    pub rows: (usize, usize),
    /// Reduce-on-plateau's memory (the default when the schedule is another).
    #[serde(default)]
    pub plateau: crate::optim::PlateauState,
    /// What the data given to training looked like, so that a resumed run refuses other
    /// data. Checkpoints written before it existed have none, and resume without this
    /// check (the row counts are still compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<DataFingerprint>,
}

/// A random generator's position: ChaCha8's word position, a 128-bit count, kept in
/// the checkpoint's JSON as a decimal string (JSON numbers hold 53 bits exactly); an
/// empty string, written by early checkpoints without input corruption, is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WordPosition(pub u128);

impl serde::Serialize for WordPosition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for WordPosition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() {
            return Ok(WordPosition(0));
        }
        text.parse().map(WordPosition).map_err(|_| {
            serde::de::Error::custom(format!(
                "a generator position {text:?} is not a whole number below 2^128"
            ))
        })
    }
}

/// A fingerprint of the data a run trains on: the training rows as given (before a
/// `validation_split` or `trim` takes rows from them) and the separate validation set,
/// if any. Each part is its row count, its width and a SHA-256 of its values
/// (little-endian f32): of every row when the part holds at most
/// [`DataFingerprint::FULL_HASH_BYTES`] or [`DataFingerprint::SAMPLE_ROWS`] rows, else
/// of `SAMPLE_ROWS` evenly spaced rows, the first and the last among them. Computing it
/// reads at most about 16 MiB, or 1025 rows, per part.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataFingerprint {
    /// The training rows.
    pub train: PartFingerprint,
    /// The validation set given apart from the training rows (`None` without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<PartFingerprint>,
}

/// One dataset's part of a [`DataFingerprint`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartFingerprint {
    /// Rows.
    pub rows: usize,
    /// Values per row.
    pub width: usize,
    /// SHA-256 of the hashed rows' values, in hexadecimal.
    pub sha256: String,
}

impl DataFingerprint {
    /// A part holding at most this many bytes of values is hashed whole.
    pub const FULL_HASH_BYTES: usize = 16 << 20;
    /// Rows hashed from a larger part, evenly spaced from the first to the last.
    pub const SAMPLE_ROWS: usize = 1025;

    /// The fingerprint of training on `train`, validating on `validation`.
    pub fn of(train: &Dataset, validation: Option<&Dataset>) -> Self {
        DataFingerprint { train: PartFingerprint::of(train), validation: validation.map(PartFingerprint::of) }
    }

    /// What differs between the data this fingerprint was taken of and `other`, in
    /// words (rows, width or content, of the training or validation data); `None` when
    /// nothing does.
    pub fn difference(&self, other: &DataFingerprint) -> Option<String> {
        if let Some(d) = self.train.difference(&other.train) {
            return Some(format!("training data: {d}"));
        }
        match (&self.validation, &other.validation) {
            (None, None) => None,
            (Some(_), None) => Some("it was made with a separate validation set, this run has none".into()),
            (None, Some(_)) => Some("it was made without a separate validation set, this run has one".into()),
            (Some(a), Some(b)) => a.difference(b).map(|d| format!("validation data: {d}")),
        }
    }
}

impl PartFingerprint {
    /// The fingerprint of `data`'s rows.
    pub fn of(data: &Dataset) -> Self {
        let (rows, width) = (data.rows(), data.cols());
        Self::of_hashed(rows, width, Self::hashed_rows(rows, width).map(|i| data.values_of(i..i + 1)))
    }

    /// The rows, in order, whose values a part of `rows` rows of `width` values hashes.
    pub(crate) fn hashed_rows(rows: usize, width: usize) -> impl Iterator<Item = usize> {
        let n = DataFingerprint::SAMPLE_ROWS;
        let whole =
            rows <= n || rows.saturating_mul(width).saturating_mul(4) <= DataFingerprint::FULL_HASH_BYTES;
        // Else row i·(rows − 1)/(n − 1) for i in 0..n: the first, the last, and evenly between.
        let count = if whole { rows } else { n };
        (0..count).map(
            move |i| if whole { i } else { ((i as u128 * (rows - 1) as u128) / (n - 1) as u128) as usize },
        )
    }

    /// The fingerprint of a part of `rows` rows of `width` values from the values of
    /// its [`hashed_rows`](Self::hashed_rows), in order.
    pub(crate) fn of_hashed(
        rows: usize,
        width: usize,
        hashed: impl Iterator<Item = impl AsRef<[f32]>>,
    ) -> Self {
        let mut h = Sha256::new();
        h.update((rows as u64).to_le_bytes());
        h.update((width as u64).to_le_bytes());
        let mut bytes = Vec::with_capacity(width * 4);
        for row in hashed {
            bytes.clear();
            row.as_ref().iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
            h.update(&bytes);
        }
        PartFingerprint { rows, width, sha256: format!("{:x}", h.finalize()) }
    }

    /// What differs from `other` (the data of this run), in words.
    fn difference(&self, other: &PartFingerprint) -> Option<String> {
        if self.rows != other.rows {
            Some(format!("it was made with {} rows, this data has {}", self.rows, other.rows))
        } else if self.width != other.width {
            Some(format!("it was made with {} values per row, this data has {}", self.width, other.width))
        } else if self.sha256 != other.sha256 {
            Some(format!("the same shape ({} rows of {}) but other values", self.rows, self.width))
        } else {
            None
        }
    }
}

/// A loaded checkpoint: the model to keep training, and how to resume.
#[derive(Debug, Clone)]
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
    /// The checkpoint file this was read from (named in errors about resuming).
    pub path: PathBuf,
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
    let n = model.param_count();
    // Which state vectors the optimizer keeps, and which of them is a second moment
    // (a mean of squares: never negative, and a negative one turns the update into NaN).
    let opt = &state.config.optimizer;
    let shape = Optimizer::new(opt.clone(), 1).map_err(|e| {
        Error::format(path, format!("the checkpoint's training configuration is invalid: {e}"))
    })?;
    let second_moment = match opt.kind {
        OptimizerKind::Adam | OptimizerKind::AdamW => [None, Some("Adam's second moment v")],
        OptimizerKind::RmsProp => [Some("RMSprop's mean square"), None],
        OptimizerKind::Sgd => [None, None],
    };
    let read = |name: &str, non_negative: Option<&str>| -> Result<Vec<f32>> {
        match st.tensor(name) {
            Err(_) => Ok(Vec::new()),
            Ok(_) => {
                let mut v = vec![0.0; n];
                file::read_tensor_checked(&st, name, &[n], &mut v, path, non_negative)?;
                Ok(v)
            }
        }
    };
    let optimizer =
        (read("optimizer.state1", second_moment[0])?, read("optimizer.state2", second_moment[1])?);
    for (name, v, want) in [
        ("optimizer.state1", &optimizer.0, shape.state1.len()),
        ("optimizer.state2", &optimizer.1, shape.state2.len()),
    ] {
        if v.len() != want * n {
            return Err(Error::format(
                path,
                format!(
                    "tensor `{name}` has {} values; the checkpoint's optimizer ({:?}) keeps {}",
                    v.len(),
                    opt.kind,
                    want * n
                ),
            ));
        }
    }
    let best_params = read("best.params", None)?;
    if !best_params.is_empty() {
        for t in model.tensors() {
            let len = t.shape.iter().product::<usize>();
            let part = &best_params[t.offset..t.offset + len];
            if let (Some(rule), Some(i)) = (file::variance_rule(&t.name), part.iter().position(|&v| v < 0.0))
            {
                return Err(Error::format(
                    path,
                    format!(
                        "tensor `best.params` holds {} at index {} (in `{}`); {rule} is never negative",
                        part[i],
                        t.offset + i,
                        t.name
                    ),
                ));
            }
        }
    }
    let order = file::read_u32(&st, "shuffle.order", path)?;
    if order.len() != state.rows.0 || order.iter().any(|&i| i as usize >= state.rows.0) {
        return Err(Error::format(path, format!("`shuffle.order` is not an order of {} rows", state.rows.0)));
    }
    Ok(Checkpoint {
        model,
        resume: Resume { state, optimizer, best_params, order, path: path.to_path_buf() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;

    fn state(config: TrainConfig) -> ResumeState {
        ResumeState {
            epochs_done: 1,
            optimizer_steps: 1,
            shuffle_position: WordPosition(0),
            noise_position: WordPosition(0),
            best: None,
            best_epoch: 0,
            since_best: 0,
            history: Vec::new(),
            config,
            threads: 1,
            data: "test".into(),
            rows: (3, 0),
            plateau: Default::default(),
            fingerprint: None,
        }
    }

    /// Optimizer state is checked on load: it has the optimizer's vectors, a first moment must be finite, a second moment
    /// (Adam's `v`, RMSprop's mean square) finite and ≥ 0 (a `v` of −1 resumed into NaN
    /// weights); the message names the file, the tensor and the index.
    #[test]
    fn impossible_optimizer_state_is_refused() {
        use crate::optim::{OptimizerConfig, OptimizerKind};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opt.ckpt");
        let model =
            Autoencoder::new(ModelConfig { input_dim: 4, layers: vec![2], ..Default::default() }, 1).unwrap();
        let n = model.param_count();
        let with = |kind| {
            state(TrainConfig {
                optimizer: OptimizerConfig { kind, ..Default::default() },
                ..Default::default()
            })
        };
        let good = vec![0.5f32; n];
        let mut negative = good.clone();
        negative[3] = -1.0;
        let mut nan = good.clone();
        nan[2] = f32::NAN;
        let load = |s: &ResumeState, a: &[f32], b: &[f32]| {
            save_checkpoint(&path, &model, s, (a, b), &[], &[2, 0, 1]).unwrap();
            load_checkpoint(&path).map(|_| ()).map_err(|e| e.to_string())
        };
        let adam = with(OptimizerKind::Adam);
        assert_eq!(load(&adam, &negative, &good), Ok(()), "a first moment may be negative");
        let e = load(&adam, &good, &negative).unwrap_err();
        assert_eq!(
            e,
            format!(
                "{}: tensor `optimizer.state2` holds -1 at index 3; Adam's second moment v is never negative",
                path.display()
            )
        );
        let e = load(&adam, &nan, &good).unwrap_err();
        assert_eq!(e, format!("{}: tensor `optimizer.state1` holds NaN at index 2", path.display()));
        let rms = with(OptimizerKind::RmsProp);
        assert_eq!(load(&rms, &good, &[]), Ok(()));
        assert!(load(&rms, &negative, &[]).unwrap_err().contains("RMSprop's mean square"));
        // State the optimizer does not keep (or lacks) is refused naming the file.
        let e = load(&rms, &good, &good).unwrap_err();
        assert!(e.starts_with(&format!("{}: ", path.display())) && e.contains("optimizer.state2"), "{e}");
        let e = load(&adam, &good, &[]).unwrap_err();
        assert!(e.starts_with(&format!("{}: ", path.display())) && e.contains("optimizer.state2"), "{e}");
        // Weights and early stopping's best weights must be finite too.
        let e = load(&adam, &good, &good).and_then(|()| {
            save_checkpoint(&path, &model, &adam, (&good, &good), &nan, &[2, 0, 1]).unwrap();
            load_checkpoint(&path).map(|_| ()).map_err(|e| e.to_string())
        });
        assert!(e.unwrap_err().contains("tensor `best.params` holds NaN at index 2"));
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
        let moments = vec![0.0; model.param_count()];
        save_checkpoint(&path, &model, &good, (&moments, &moments), &[], &[2, 0, 1]).unwrap();
        assert_eq!(load_checkpoint(&path).unwrap().resume.state, good);
        let bad = state(TrainConfig { batch_size: 0, ..TrainConfig::default() });
        save_checkpoint(&path, &model, &bad, (&[], &[]), &[], &[2, 0, 1]).unwrap();
        let e = load_checkpoint(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: ", path.display())) && e.contains("batch_size"), "{e}");
    }
}
