//! The one call that trains a complete model: [`Params`] (the settings, in the TOML
//! file's shape) checked once against the data's shape into [`ValidParams`], whose
//! [`fit`](ValidParams::fit) trains and finishes the model into [`Fitted`]. The
//! command, the Python package and every later front drive this.
//!
//! ```
//! use autoencoder::{data::synthetic, Params, Threads};
//!
//! let data = synthetic::generate(256, 0);
//! let mut params = Params::for_data(&data);
//! params.model.layers = vec![16];
//! params.training.epochs = 1;
//! let fitted = params.check(&data.shape())?.threads(Threads::new(1)).fit(&data)?;
//! assert_eq!(fitted.history.epochs.len(), 1);
//! assert!(fitted.model.codec.is_some()); // ready for `compress`
//! # Ok::<(), autoencoder::Error>(())
//! ```

use std::path::PathBuf;

use crate::anomaly::ThresholdRule;
use crate::data::dataset::{DataShape, Dataset};
use crate::error::{Error, Result};
use crate::kernels::Threads;
use crate::model::{Autoencoder, ModelConfig, Plan};
use crate::train::{self, Checkpoint, FitOptions, History, NoObserver, Observer, TrainConfig};

/// Everything that defines a training run: the architecture and how to train it. This
/// is the TOML file's shape (`[model]` and `[training]` tables, every key optional) and
/// what a model file records.
///
/// `model.input_dim` and `model.image_shape` may be left out (0 and `None`): [`check`]
/// takes them from the data; given, they must agree with it.
///
/// [`check`]: Params::check
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// The architecture.
    pub model: ModelConfig,
    /// How to train.
    pub training: TrainConfig,
}

impl Params {
    /// The defaults for `data`, what `ae train FILE` chooses when no setting is given:
    /// [`ModelConfig::for_data`] and [`TrainConfig::for_data`] (for images today's
    /// defaults; for tables a code narrower than the row, z-scores and a linear output
    /// when values leave [0, 1], and at least 2000 gradient steps).
    pub fn for_data(data: &Dataset) -> Params {
        Params { model: ModelConfig::for_data(data), training: TrainConfig::for_data(data) }
    }

    /// The settings (model and training keys) whose values differ from these to `b`,
    /// with both values (`null` for a key these leave out).
    pub fn differences(&self, b: &Params) -> Vec<(String, serde_json::Value, serde_json::Value)> {
        let a = self;
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

    /// [`differences`](Self::differences) to `b` as lines `key: HAVE A, WANT B` (`have`
    /// names these settings' holder, "the model's"; `want` the other side).
    pub(crate) fn difference_lines(&self, b: &Params, have: &str, want: &str) -> Vec<String> {
        self.differences(b)
            .into_iter()
            .map(|(key, had, value)| format!("{key}: {have} {had}, {want} {value}"))
            .collect()
    }

    /// Check every setting once, for rows of `shape`, and plan the layers: the
    /// input width and image shape come from `shape` (a width given in `model` that
    /// differs is an error naming `input_dim`). Errors name the setting.
    pub fn check(self, shape: &DataShape) -> Result<ValidParams> {
        let Params { mut model, training } = self;
        if model.input_dim != 0 && model.input_dim != shape.cols {
            return Err(Error::config(
                "input_dim",
                format!("the settings say {}, but the rows have {} values", model.input_dim, shape.cols),
            ));
        }
        model.input_dim = shape.cols;
        if model.image_shape.is_none() {
            model.image_shape = shape.image_shape;
        }
        training.check()?;
        let plan = model.check()?;
        Ok(ValidParams {
            model,
            plan,
            training,
            threads: Threads::default(),
            threshold: None,
            checkpoint: None,
            resume: None,
            start: None,
        })
    }
}

/// Settings checked for one data shape, with the options of a run: threads, an anomaly
/// threshold rule, checkpoints and resuming. Made by [`Params::check`].
#[derive(Clone)]
pub struct ValidParams {
    model: ModelConfig,
    plan: Plan,
    training: TrainConfig,
    threads: Threads,
    threshold: Option<ThresholdRule>,
    checkpoint: Option<(PathBuf, usize)>,
    resume: Option<Box<Checkpoint>>,
    start: Option<Box<Autoencoder>>,
}

impl std::fmt::Debug for ValidParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidParams")
            .field("model", &self.model)
            .field("training", &self.training)
            .field("threads", &self.threads.count())
            .field("threshold", &self.threshold)
            .field("checkpoint", &self.checkpoint)
            .field("resume", &self.resume.as_ref().map(|c| c.resume.path.clone()))
            .field("start_from", &self.start.is_some())
            .finish()
    }
}

/// A trained model, complete (normaliser, codec statistics, and the detector when a
/// threshold rule was given), and how its training went.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The model, ready to save ([`crate::file::save`]), compress and score.
    pub model: Autoencoder,
    /// The per-epoch losses and why training stopped.
    pub history: History,
}

impl ValidParams {
    /// The checked architecture, with the data's width and image shape.
    pub fn model(&self) -> &ModelConfig {
        &self.model
    }

    /// The checked training settings.
    pub fn training(&self) -> &TrainConfig {
        &self.training
    }

    /// The settings as [`Params`] again (with the width and shape filled in).
    pub fn params(&self) -> Params {
        Params { model: self.model.clone(), training: self.training.clone() }
    }

    /// Train with `threads` (default: [`Threads::default`]). The same seed and thread
    /// count give the same bits.
    pub fn threads(mut self, threads: Threads) -> Self {
        self.threads = threads;
        self
    }

    /// Fit an anomaly detector with `rule` on the training data after training (kept in
    /// the model, as [`Autoencoder::detector`]).
    pub fn threshold(mut self, rule: ThresholdRule) -> Self {
        self.threshold = Some(rule);
        self
    }

    /// Write a resumable checkpoint to `path` every `every` epochs (0: only when the
    /// observer stops training).
    pub fn checkpoint(mut self, path: impl Into<PathBuf>, every: usize) -> Self {
        self.checkpoint = Some((path.into(), every));
        self
    }

    /// Continue the run `checkpoint` holds; its settings must be these (made from
    /// `checkpoint.model.config()` and `checkpoint.resume.state.config`), else an error
    /// naming `resume` and each setting that differs, as `epochs: the checkpoint's 10,
    /// these 20`. The run ends exactly as the uninterrupted one would (same data,
    /// same threads).
    pub fn resume(mut self, checkpoint: Checkpoint) -> Result<Self> {
        if self.start.is_some() {
            return Err(Error::config("from", "a resumed run starts from its checkpoint, not from a model"));
        }
        if *checkpoint.model.config() != self.model || checkpoint.resume.state.config != self.training {
            let had = Params {
                model: checkpoint.model.config().clone(),
                training: checkpoint.resume.state.config.clone(),
            };
            let list = had.difference_lines(&self.params(), "the checkpoint's", "these");
            return Err(Error::config(
                "resume",
                format!(
                    "{} was made with other settings than these ({}); resume it with its own",
                    checkpoint.resume.path.display(),
                    list.join("; ")
                ),
            ));
        }
        self.resume = Some(Box::new(checkpoint));
        Ok(self)
    }

    /// Start from `model`'s weights (and its fitted normaliser) instead of the seed's
    /// initial weights: a warm start, to fine-tune a trained model on other data or
    /// with other training settings (another loss weighting, learning rate, or
    /// `iw_train`). The architecture is the model's: `model.config()` must equal these
    /// settings' model (with the data's width), else an error naming `from` and the
    /// keys that differ. The optimizer starts afresh (Adam's moments at zero, step 1,
    /// the schedule from its start); the seed still draws the shuffles and the noise.
    /// The model's codec and detector described the old weights: they are dropped, and
    /// [`fit`](Self::fit) fits them again. Not with [`resume`](Self::resume) (an error
    /// naming `from`).
    pub fn start_from(mut self, mut model: Autoencoder) -> Result<Self> {
        if self.resume.is_some() {
            return Err(Error::config("from", "a resumed run starts from its checkpoint, not from a model"));
        }
        let had = Params { model: model.config().clone(), training: self.training.clone() };
        let list = had.difference_lines(&self.params(), "the model's", "these");
        if !list.is_empty() {
            return Err(Error::config(
                "from",
                format!("the model to start from has another architecture ({})", list.join("; ")),
            ));
        }
        model.codec = None;
        model.detector = None;
        self.start = Some(Box::new(model));
        Ok(self)
    }

    /// Train on `data` (validating on the last `training.validation_split` of it) and
    /// finish the model ([`train::finish`]). See [`fit_with`](Self::fit_with).
    pub fn fit(&self, data: &Dataset) -> Result<Fitted> {
        self.fit_with(data, None, &mut NoObserver)
    }

    /// Train on `data`, validating on `validation` when given (else on the last
    /// `training.validation_split` of `data`), reporting to `observer`; then finish the
    /// model: its codec from the training rows' codes, and with a threshold rule its
    /// detector fitted on `data`.
    ///
    /// The initial weights come from `training.seed` (or the checkpoint resumed, or the
    /// model of [`start_from`](Self::start_from)). The
    /// result is bit-identical for the same settings, data and thread count, and equals
    /// what `ae train` writes with the same settings.
    pub fn fit_with(
        &self,
        data: &Dataset,
        validation: Option<&Dataset>,
        observer: &mut dyn Observer,
    ) -> Result<Fitted> {
        self.fit_shared(data, validation, observer, None)
    }

    /// [`fit_with`](Self::fit_with) as one of several processes that share each batch
    /// (data-parallel training; [`TrainConfig::micro_batch`] must be set): every
    /// process calls it with the same settings and data, computes its share of each
    /// batch's micro-batches, and returns the same model, bit for bit the one a single
    /// process returns with `peers` = `None`. One process writes it (and the
    /// checkpoints: give the others settings without [`checkpoint`](Self::checkpoint)).
    pub fn fit_shared(
        &self,
        data: &Dataset,
        validation: Option<&Dataset>,
        observer: &mut dyn Observer,
        peers: Option<Box<dyn train::Peers>>,
    ) -> Result<Fitted> {
        let mut options = self.options(peers);
        let mut model = self.first_model(&mut options);
        let history =
            train::fit_with(&mut model, data, validation, &self.training, &self.threads, observer, options)?;
        train::finish(&mut model, data, self.threshold, &self.threads)?;
        model.categories = data.categories.clone();
        Ok(Fitted { model, history })
    }

    /// [`fit_shared`](Self::fit_shared) on rows shared out among the processes, none
    /// holding them all: `rows` holds rows `rows.first_row..` of `total` rows, and each
    /// process the rows that follow the previous rank's ([`train::shard_rows`] gives an
    /// even split). Each step's micro-batches fetch their rows from the processes that
    /// hold them; the validation split (the last rows of all of them), the normaliser,
    /// the checkpoints' fingerprint, the codec (from every training row's code) and the
    /// detector (from every row's score) come from exchanged parts: the codes and scores
    /// stay with their process, and the fits run across the processes
    /// ([`Parts`](crate::select::Parts)). Every process returns the model `fit_shared`
    /// returns when each holds every row, bit for bit.
    ///
    /// Besides its rows, each process holds the rows of the validation batches it
    /// measures (an even share of them, sent by the processes that hold them), and its
    /// rows' codes and scores. A `validation` set is held whole by each
    /// ([`ValidationRows::Whole`](train::ValidationRows::Whole)) or shared out as the rows
    /// are ([`ValidationRows::Shared`](train::ValidationRows::Shared); no row is sent when
    /// each holds its [`validation_part`](train::validation_part)). With
    /// `trim`, the rows kept after the first pass are chosen across the processes from
    /// counts of its rows' scores ([`select::lowest_in_parts`](crate::select::lowest_in_parts)),
    /// so that every process keeps its own of the rows one process keeps. The
    /// `standardized` score's feature scales come from each process's sums of its rows'
    /// errors, gathered and joined in one fixed tree ([`ErrorSums`](crate::anomaly::ErrorSums)).
    pub fn fit_sharded(
        &self,
        rows: &Dataset,
        total: usize,
        validation: Option<train::ValidationRows<'_>>,
        observer: &mut dyn Observer,
        peers: Box<dyn train::Peers>,
    ) -> Result<Fitted> {
        let mut shared = train::SharedPeers::new(peers);
        let mut options = self.options(Some(shared.handle()));
        options.shard_of = Some(total);
        if let Some(train::ValidationRows::Shared { total, .. }) = validation {
            options.validation_shard_of = Some(total);
        }
        let mut model = self.first_model(&mut options);
        let validation = validation.map(|v| v.rows());
        let history =
            train::fit_with(&mut model, rows, validation, &self.training, &self.threads, observer, options)?;
        train::finish_sharded(&mut model, rows, total, self.threshold, &self.threads, &mut shared)?;
        model.categories = rows.categories.clone();
        Ok(Fitted { model, history })
    }

    /// The fit's options: the checkpoints asked for, the peers given.
    fn options(&self, peers: Option<Box<dyn train::Peers>>) -> FitOptions {
        let mut options = FitOptions { peers, ..FitOptions::default() };
        if let Some((path, every)) = &self.checkpoint {
            options.checkpoint = Some(path.clone());
            options.checkpoint_every = *every;
        }
        options
    }

    /// The model training starts from: the checkpoint's (its state into `options`),
    /// the warm start's, or the seed's.
    fn first_model(&self, options: &mut FitOptions) -> Autoencoder {
        match (&self.resume, &self.start) {
            (Some(ck), _) => {
                options.resume = Some(ck.resume.clone());
                ck.model.clone()
            }
            (None, Some(start)) => (**start).clone(),
            (None, None) => self.initial_model(),
        }
    }
}

impl ValidParams {
    /// The seed's initial weights for these settings.
    fn initial_model(&self) -> Autoencoder {
        Autoencoder::initialised(self.model.clone(), &self.plan, self.training.seed)
    }

    /// [`fit_with`](Self::fit_with) on rows read a chunk at a time
    /// ([`ChunkedRows`](crate::data::chunks::ChunkedRows)), shuffled in windows of at
    /// most `window_rows` rows ([`train::window_rows`] of a memory budget): training
    /// and completion by [`train::fit_streamed`]. The same seed and threads give the
    /// same bits; with a window that holds every training row, those of
    /// [`fit_with`](Self::fit_with) on the rows read whole. No checkpoint is written,
    /// and a checkpoint is not resumed (an error naming `resume` or `checkpoint_every`).
    pub fn fit_streamed(
        &self,
        data: &crate::data::chunks::ChunkedRows,
        validation: Option<&Dataset>,
        window_rows: usize,
        observer: &mut dyn Observer,
    ) -> Result<Fitted> {
        self.fit_streamed_shared(data, validation, window_rows, observer, None)
    }

    /// [`fit_streamed`](Self::fit_streamed) as one of the processes `peers` joins, as
    /// [`fit_shared`](Self::fit_shared) is [`fit_with`](Self::fit_with)'s: every process
    /// streams every row in the same windows and computes its share of each batch's
    /// micro-batches (`micro_batch` > 0), and every process returns the model one
    /// process without peers returns, bit for bit. Each process holds a window of its
    /// own.
    pub fn fit_streamed_shared(
        &self,
        data: &crate::data::chunks::ChunkedRows,
        validation: Option<&Dataset>,
        window_rows: usize,
        observer: &mut dyn Observer,
        peers: Option<Box<dyn train::Peers>>,
    ) -> Result<Fitted> {
        let validation = validation.map(train::ValidationRows::Whole);
        self.fit_streamed_in(data, validation, window_rows, observer, peers.map(|p| (p, false)))
    }

    /// [`fit_streamed`](Self::fit_streamed) with the rows shared out among the processes
    /// `peers` joins ([`train::fit_streamed_sharded`]): every process takes the same
    /// windows of `window_rows` rows but reads only its share of each, and the batches'
    /// rows are exchanged. Every process returns the model one process streaming the same
    /// windows alone returns, bit for bit, while holding about `window_rows /
    /// peers.size()` rows.
    pub fn fit_streamed_sharded(
        &self,
        data: &crate::data::chunks::ChunkedRows,
        validation: Option<train::ValidationRows<'_>>,
        window_rows: usize,
        observer: &mut dyn Observer,
        peers: Box<dyn train::Peers>,
    ) -> Result<Fitted> {
        self.fit_streamed_in(data, validation, window_rows, observer, Some((peers, true)))
    }

    /// The streamed fits: `peers`, and whether they share the rows out.
    fn fit_streamed_in(
        &self,
        data: &crate::data::chunks::ChunkedRows,
        validation: Option<train::ValidationRows<'_>>,
        window_rows: usize,
        observer: &mut dyn Observer,
        peers: Option<(Box<dyn train::Peers>, bool)>,
    ) -> Result<Fitted> {
        if self.resume.is_some() {
            return Err(Error::config(
                "resume",
                "streamed training does not resume checkpoints; train in memory",
            ));
        }
        if self.checkpoint.as_ref().is_some_and(|(_, every)| *every > 0) {
            return Err(Error::config(
                "checkpoint_every",
                "streamed training writes no checkpoints; train in memory for checkpoints",
            ));
        }
        let mut model = match &self.start {
            Some(start) => (**start).clone(),
            None => self.initial_model(),
        };
        let args = (validation, &self.training, self.threshold, window_rows);
        let history = train::fit_streamed_in(&mut model, data, args, &self.threads, observer, peers)?;
        model.categories = data.categories().to_vec();
        Ok(Fitted { model, history })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic;
    use crate::train::fit;

    fn small() -> (Dataset, Params) {
        let data = synthetic::generate(96, 3);
        let mut p = Params::default();
        p.model.layers = vec![8];
        p.training.epochs = 2;
        p.training.validation_split = 0.25;
        (data, p)
    }

    /// `check → fit` gives the model `Autoencoder::new` + `fit` + `finish` give, bit
    /// for bit: the same initial weights, training and completion.
    #[test]
    fn fit_is_new_then_fit_then_finish() {
        let (data, p) = small();
        let threads = Threads::new(1);
        let rule = ThresholdRule::Contamination(0.1);
        let fitted = p.clone().check(&data.shape()).unwrap().threads(threads.clone()).threshold(rule);
        let fitted = fitted.fit(&data).unwrap();
        let config = ModelConfig { input_dim: data.cols(), image_shape: data.image_shape, ..p.model };
        let mut model = Autoencoder::new(config, p.training.seed).unwrap();
        let history = fit(&mut model, &data, None, &p.training, &threads, &mut NoObserver).unwrap();
        train::finish(&mut model, &data, Some(rule), &threads).unwrap();
        assert_eq!(fitted.model.params(), model.params());
        assert_eq!(fitted.model.codec, model.codec);
        assert!(model.detector.is_some());
        assert_eq!(fitted.model.detector, model.detector);
        assert_eq!(fitted.history.epochs.len(), history.epochs.len());
        assert_eq!(fitted.model.config().image_shape, data.image_shape);
    }

    #[test]
    fn check_takes_the_width_from_the_data_and_refuses_another() {
        let (data, mut p) = small();
        let valid = p.clone().check(&data.shape()).unwrap();
        assert_eq!(valid.model().input_dim, data.cols());
        assert_eq!(valid.params().model.input_dim, data.cols());
        p.model.input_dim = 5;
        let e = p.clone().check(&data.shape()).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("invalid input_dim: the settings say 5, but the rows have {} values", data.cols())
        );
        p.model.input_dim = 0;
        p.training.batch_size = 0;
        let e = p.check(&data.shape()).unwrap_err().to_string();
        assert!(e.starts_with("invalid batch_size"), "{e}");
    }

    /// A conv model on rows that are not images is refused by `check`, before any
    /// training, naming the problem.
    #[test]
    fn check_plans_the_layers_for_the_shape() {
        let mut p = Params::default();
        p.model.arch = crate::model::Arch::Conv;
        p.model.channels = vec![4];
        let e = p.clone().check(&DataShape::table(784)).unwrap_err().to_string();
        assert!(e.contains("images"), "{e}");
        let shape = DataShape {
            cols: 784,
            image_shape: Some(crate::ImageShape { channels: 1, height: 28, width: 28 }),
        };
        p.check(&shape).unwrap();
    }

    /// A checkpoint is resumed only with its own settings.
    #[test]
    fn resume_needs_the_checkpoints_settings() {
        let (data, p) = small();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.ckpt");
        let valid = p.clone().check(&data.shape()).unwrap().threads(Threads::new(1)).checkpoint(&path, 1);
        let whole = valid.fit(&data).unwrap();
        let ck = train::load_checkpoint(&path).unwrap();
        let mut other = p.clone();
        other.training.epochs = 3;
        let e = other.check(&data.shape()).unwrap().resume(ck).unwrap_err().to_string();
        assert!(e.starts_with("invalid resume:") && e.contains("run.ckpt"), "{e}");
        // It names the setting that differs, and nothing else.
        let epochs = format!("(epochs: the checkpoint's {}, these 3)", p.training.epochs);
        assert!(e.contains(&epochs), "{e}");
        // With its own settings it resumes (here after the last epoch: nothing is left).
        let ck = train::load_checkpoint(&path).unwrap();
        let again = p.check(&data.shape()).unwrap().threads(Threads::new(1)).resume(ck).unwrap();
        let resumed = again.fit(&data).unwrap();
        assert_eq!(resumed.model.params(), whole.model.params());
    }

    /// A warm start trains the given model's weights with the new settings: the same
    /// bits as `fit` on a copy of it then `finish`, and not those of the seed's weights.
    #[test]
    fn start_from_trains_the_models_weights() {
        let (data, p) = small();
        let threads = Threads::new(1);
        let first =
            p.clone().check(&data.shape()).unwrap().threads(threads.clone()).fit(&data).unwrap().model;
        let mut then = p.clone();
        then.training.batch_size = 8;
        then.training.epochs = 1;
        let warm = then.clone().check(&data.shape()).unwrap().threads(threads.clone());
        let warm = warm.start_from(first.clone()).unwrap().fit(&data).unwrap();
        let mut by_hand = first.clone();
        fit(&mut by_hand, &data, None, &then.training, &threads, &mut NoObserver).unwrap();
        train::finish(&mut by_hand, &data, None, &threads).unwrap();
        assert_eq!(warm.model.params(), by_hand.params());
        assert_eq!(warm.model.codec, by_hand.codec);
        assert_ne!(warm.model.params(), first.params());
        let cold = then.check(&data.shape()).unwrap().threads(threads).fit(&data).unwrap();
        assert_ne!(warm.model.params(), cold.model.params());
    }

    /// Another architecture, or a resume beside it, is refused naming `from`.
    #[test]
    fn start_from_needs_the_same_architecture() {
        let (data, p) = small();
        let threads = Threads::new(1);
        let first = p.clone().check(&data.shape()).unwrap().threads(threads).fit(&data).unwrap().model;
        let mut wider = p.clone();
        wider.model.layers = vec![12];
        let e = wider.check(&data.shape()).unwrap().start_from(first.clone()).unwrap_err().to_string();
        assert_eq!(e, "invalid from: the model to start from has another architecture (layers: the model's [8], these [12])");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.ckpt");
        p.clone().check(&data.shape()).unwrap().checkpoint(&path, 1).fit(&data).unwrap();
        let ck = train::load_checkpoint(&path).unwrap();
        let e =
            p.check(&data.shape()).unwrap().start_from(first).unwrap().resume(ck).unwrap_err().to_string();
        assert!(e.starts_with("invalid from:"), "{e}");
    }
}
