//! The compiled core of the Python package (`autoencoder._core`): numpy arrays in, the
//! library's one call ([`Settings`] → [`Params`](autoencoder::Params) → `fit`) and a
//! model's inference out, with the GIL released while the library works. The Python
//! layer (`python/autoencoder/`) builds the scikit-learn and PyOD interfaces on it;
//! conversions of dataframes and the checks of array shapes live there.
//!
//! Errors become Python exceptions with the library's message: a missing file
//! `FileNotFoundError`, other I/O `OSError`, divergence `RuntimeError`, Ctrl-C
//! `KeyboardInterrupt`, everything else (settings, data, formats) `ValueError`.

mod files;
mod peers;
mod rows;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use autoencoder::anomaly::{self, ScoreKind, ThresholdRule};
use autoencoder::baseline;
use autoencoder::data::buffer;
use autoencoder::data::columns::Missing;
use autoencoder::data::open::LoadOptions;
use autoencoder::probe::{Features, Logistic, Metric};
use autoencoder::run_files::RunFiles;
use autoencoder::train::{Control, EpochRecord};
use autoencoder::{file, Autoencoder, Dataset, Error, ImageShape, Observer, Settings, Threads};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use files::{Categories, TableFiles};
use rows::{rows, Rows};

/// The library's error as the Python exception a user expects.
pub(crate) fn to_py(e: Error) -> PyErr {
    let message = e.to_string();
    match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(message)
        }
        Error::Io { .. } => PyOSError::new_err(message),
        Error::Diverged { .. } => PyRuntimeError::new_err(message),
        Error::Cancelled { .. } => PyKeyboardInterrupt::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// The pool for a `threads` argument: a whole number from 0 (every core) to
/// [`autoencoder::MAX_THREADS`], or a `ValueError` naming it. (Taken as `i64`: pyo3's
/// `usize` raised `OverflowError` for a negative count; a float or text is pyo3's
/// `TypeError` naming the argument.)
fn threads(n: i64) -> PyResult<Threads> {
    match usize::try_from(n) {
        Ok(n) if n <= autoencoder::MAX_THREADS => Ok(Threads::new(n)),
        _ => Err(PyValueError::new_err(format!(
            "threads must be a whole number from 0 (every core) to {}, got {n}",
            autoencoder::MAX_THREADS
        ))),
    }
}

/// `v` as a `rows × cols` numpy array.
pub(crate) fn array2(py: Python<'_>, v: Vec<f32>, cols: usize) -> PyResult<Bound<'_, PyArray2<f32>>> {
    let n = v.len().checked_div(cols).unwrap_or(0);
    v.into_pyarray(py).reshape([n, cols])
}

/// Reports training to Python: `callback(epoch, logs)` after each epoch (returning
/// `False` stops training with a complete model; raising aborts it), and Ctrl-C
/// checked between gradient steps (at most every 20 ms) on Python's main thread.
struct PyObserver {
    callback: Option<Py<PyAny>>,
    error: Option<PyErr>,
    check_signals: bool,
    last_check: Instant,
}

impl Observer for PyObserver {
    fn cancelled(&mut self) -> bool {
        if self.error.is_some() {
            return true;
        }
        if !self.check_signals || self.last_check.elapsed() < Duration::from_millis(20) {
            return false;
        }
        self.last_check = Instant::now();
        Python::attach(|py| match py.check_signals() {
            Ok(()) => false,
            Err(e) => {
                self.error = Some(e);
                true
            }
        })
    }

    fn on_epoch_end(&mut self, r: &EpochRecord) -> Control {
        let Some(callback) = &self.callback else { return Control::Continue };
        Python::attach(|py| {
            let logs = PyDict::new(py);
            let filled = (|| -> PyResult<Py<PyAny>> {
                logs.set_item("loss", r.train_loss)?;
                if let Some(v) = r.val_loss {
                    logs.set_item("val_loss", v)?;
                }
                logs.set_item("seconds", r.seconds)?;
                logs.set_item("rows_per_second", r.rows_per_second)?;
                logs.set_item("lr", r.lr)?;
                callback.call1(py, (r.epoch, logs))
            })();
            match filled {
                Ok(v) if v.bind(py).is(pyo3::types::PyBool::new(py, false)) => Control::Stop,
                Ok(_) => Control::Continue,
                Err(e) => {
                    self.error = Some(e);
                    Control::Stop
                }
            }
        })
    }
}

/// Whether this is Python's main thread (the only one that sees Ctrl-C).
fn on_main_thread(py: Python<'_>) -> PyResult<bool> {
    let threading = py.import("threading")?;
    let main = threading.call_method0("main_thread")?;
    let current = threading.call_method0("current_thread")?;
    Ok(main.is(&current))
}

/// The settings' names, as `ae train`'s flags (with `_`), in its order.
#[pyfunction]
fn setting_names() -> Vec<&'static str> {
    Settings::NAMES.to_vec()
}

/// The memory budget of one process on this machine (half its memory,
/// [`autoencoder::train::MemoryBudget::of_machine`]), as bytes and as `ae` writes it.
#[pyfunction]
fn machine_memory_budget() -> (u64, String) {
    let budget = autoencoder::train::MemoryBudget::of_machine(1);
    (budget.bytes(), budget.to_string())
}

/// The bytes of a memory budget written as `ae --memory-budget` takes it ("2G",
/// "512M", a number of bytes), or a `ValueError` naming `memory_budget`.
#[pyfunction]
fn memory_budget_bytes(text: &str) -> PyResult<u64> {
    text.parse::<autoencoder::train::MemoryBudget>().map(|b| b.bytes()).map_err(to_py)
}

/// `bytes` as `ae` writes a size ("1.5 GiB").
#[pyfunction]
fn human_bytes(bytes: u64) -> String {
    autoencoder::train::human_bytes(bytes)
}

/// The settings a run on `x` would train with, as JSON text of the model file's
/// configuration (`{"model": …, "training": …}`): `settings` (JSON text of a
/// `name → value` object) over the defaults chosen for the data, as `ae train` does.
#[pyfunction]
#[pyo3(signature = (x, settings, image_shape=None))]
fn resolve(x: Rows<'_>, settings: &str, image_shape: Option<(usize, usize, usize)>) -> PyResult<String> {
    let data = dataset(&x, image_shape, "X")?;
    let chosen = parse_settings(settings)?.for_data(&data).map_err(to_py)?;
    serde_json::to_string(&chosen.params).map_err(|e| PyValueError::new_err(e.to_string()))
}

fn parse_settings(text: &str) -> PyResult<Settings> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| PyValueError::new_err(format!("settings: {e}")))?;
    let map = v.as_object().ok_or_else(|| PyValueError::new_err("settings must be a JSON object"))?;
    Settings::from_map(map.iter().map(|(k, v)| (k.as_str(), v))).map_err(to_py)
}

fn dataset(x: &Rows<'_>, image_shape: Option<(usize, usize, usize)>, name: &str) -> PyResult<Dataset> {
    let [n, d] = [x.shape()[0], x.shape()[1]];
    let data = Dataset::new(buffer::copied(rows(x, name)?), n, d, name).map_err(to_py)?;
    shaped(data, image_shape).map_err(to_py)
}

/// `data` as images of `image_shape` (`(channels, height, width)`), when given.
fn shaped(data: Dataset, image_shape: Option<(usize, usize, usize)>) -> autoencoder::Result<Dataset> {
    match image_shape {
        Some((channels, height, width)) => data.with_image_shape(ImageShape { channels, height, width }),
        None => Ok(data),
    }
}

/// A fit's own inputs, `prepared` (checked before any exchange), agreed among `peers`:
/// every process learns whether all are ready ([`all_ready`](autoencoder::train::all_ready)),
/// so that none waits on one that stopped. This process's own error first, then an
/// exception the peers' transport raised, then which process could not start.
fn agreed<T>(py: Python<'_>, peers: Option<&mut peers::PyPeers>, prepared: PyResult<T>) -> PyResult<T> {
    let Some(p) = peers else { return prepared };
    let ok = prepared.is_ok();
    let ready = py.detach(|| autoencoder::train::all_ready(p, ok));
    if let Some(e) = taken(&p.raised()) {
        return Err(e);
    }
    let prepared = prepared?;
    ready.map_err(to_py)?;
    Ok(prepared)
}

/// The exception the peers' transport raised, taken.
fn taken(raised: &std::sync::Mutex<Option<PyErr>>) -> Option<PyErr> {
    raised.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// A fit's outcome in Python: an exception the peers' transport raised (`raised`), else
/// one the callback raised (`observer`), else the library's `result` as the model, its
/// history (JSON text) and `rest`.
fn outcome<T>(
    raised: Option<Arc<std::sync::Mutex<Option<PyErr>>>>,
    observer: &mut PyObserver,
    result: autoencoder::Result<(autoencoder::Fitted, T)>,
) -> PyResult<(Model, String, T)> {
    if let Some(e) = raised.as_deref().and_then(taken) {
        return Err(e);
    }
    if let Some(e) = observer.error.take() {
        return Err(e);
    }
    let (fitted, rest) = result.map_err(to_py)?;
    let history = serde_json::to_string(&fitted.history).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((Model { inner: Arc::new(fitted.model) }, history, rest))
}

/// The validation rows of a fit, as [`dataset`] reads them, with the rule `missing`
/// for a NaN ([`Dataset::apply_missing`]).
fn validation_rows(
    v: Option<&Rows<'_>>,
    image_shape: Option<(usize, usize, usize)>,
    missing: Missing,
) -> PyResult<Option<Dataset>> {
    let Some(v) = v else { return Ok(None) };
    let mut v = dataset(v, image_shape, "the validation rows")?;
    v.apply_missing(missing).map_err(to_py)?;
    Ok(Some(v))
}

/// The estimator's `missing` (`error`, `drop` or `mean`) as the library's rule.
fn missing_rule(missing: &str) -> PyResult<Missing> {
    missing.parse::<Missing>().map_err(to_py)
}

/// What every fit checks of its own inputs before it reads any data: the settings, the
/// checkpoint it resumes (read), the checkpoint it writes (writable), the thread count
/// and the threshold rule.
struct RunInputs {
    settings: Settings,
    resume: Option<autoencoder::train::Checkpoint>,
    pool: Threads,
    rule: Option<ThresholdRule>,
}

impl RunInputs {
    /// `settings` (JSON text), the checkpoint at `checkpoint` read when `resume`, and
    /// checked writable when this process `writes` it, and not one of the files the run
    /// `reads` (each named by the argument that gives it) — as `ae train` checks its own.
    #[allow(clippy::too_many_arguments)]
    fn check(
        py: Python<'_>,
        settings: &str,
        checkpoint: Option<&Path>,
        resume: bool,
        writes: bool,
        threads: i64,
        threshold: Option<&str>,
        reads: &[(&str, &[PathBuf])],
    ) -> PyResult<RunInputs> {
        let settings = parse_settings(settings)?;
        let resume = match (checkpoint, resume) {
            (None, true) => {
                return Err(PyValueError::new_err(
                    "resume needs the checkpoint to resume from: give checkpoint=PATH",
                ))
            }
            (Some(path), true) => {
                Some(py.detach(|| autoencoder::train::load_checkpoint(path)).map_err(to_py)?)
            }
            _ => None,
        };
        if let Some(path) = checkpoint.filter(|_| writes) {
            // A checkpoint that would replace the data, or cannot be written, fails
            // now, not after the first epochs.
            let files = reads.iter().fold(RunFiles::new(), |f, (what, paths)| f.inputs(what, paths));
            let files = files.output("checkpoint", path);
            files.distinct().map_err(|e| PyValueError::new_err(e.to_string()))?;
            autoencoder::atomic::check_writable(path).map_err(to_py)?;
        }
        let pool = self::threads(threads)?;
        let rule = threshold.map(|t| t.parse::<ThresholdRule>()).transpose().map_err(to_py)?;
        Ok(RunInputs { settings, resume, pool, rule })
    }

    /// The run's valid parameters: the settings `chosen` for the data (in a warm start
    /// from `start`, its architecture with the settings' training), checked for rows of
    /// `shape`, with the threads, the threshold rule, `checkpoint` (its path and every
    /// how many epochs) and the run to resume; `shared` (processes fitting together)
    /// takes micro-batches of [`TrainConfig::SHARED_MICRO_BATCH`](autoencoder::TrainConfig::SHARED_MICRO_BATCH)
    /// rows unless the settings give a size. Also what the data chose that no setting
    /// did.
    fn valid_params(
        self,
        chosen: autoencoder::Chosen,
        start: Option<&Autoencoder>,
        shape: &autoencoder::DataShape,
        checkpoint: Option<(PathBuf, usize)>,
        shared: bool,
    ) -> autoencoder::Result<(autoencoder::ValidParams, Vec<String>)> {
        let (mut params, from_data) = match start {
            // The data chose nothing of the model's architecture.
            Some(m) => (self.settings.over_model(m.config(), chosen.params.training)?, Vec::new()),
            None => (chosen.params, chosen.from_data),
        };
        if shared && params.training.micro_batch == 0 {
            params.training.micro_batch = autoencoder::TrainConfig::SHARED_MICRO_BATCH;
        }
        let mut valid = params.check(shape)?.threads(self.pool);
        if let Some(m) = start {
            valid = valid.start_from(m.clone())?;
        }
        if let Some(rule) = self.rule {
            valid = valid.threshold(rule);
        }
        if let Some((path, every)) = checkpoint {
            valid = valid.checkpoint(path, every);
        }
        if let Some(ck) = self.resume {
            valid = valid.resume(ck)?;
        }
        Ok((valid, from_data))
    }
}

/// Train a model on the rows of `x` (C-contiguous float32), as `ae train` would with
/// the same settings, seed and threads (the same model bytes when `source` is the name
/// `ae train` records: the data file's path). `missing` says what a NaN is, as
/// `ae train --missing`: `error`, `drop` (the row is left out of training, as is a
/// validation row) or `mean` (a missing value, which the model fills with the feature's
/// training mean). With `start`, a warm start from that model's weights (`ae train
/// --from`): its architecture, the settings' training ([`Settings::over_model`]).
/// Returns the model, the history (JSON text), what the data chose that no setting
/// did, and how many of this process's rows `drop` left out.
///
/// With `peers` (see [`peers`]), this process is one of several that each hold rows of
/// their own, in rank order, and fit one model together
/// ([`ValidParams::fit_sharded`](autoencoder::ValidParams::fit_sharded)): the defaults
/// are chosen from every process's values, micro-batches of
/// [`TrainConfig::SHARED_MICRO_BATCH`](autoencoder::TrainConfig::SHARED_MICRO_BATCH) rows
/// are used unless the settings give a size, `validation` is the whole validation set on
/// every process (with `shared_validation`, this process's part of it, in rank order as
/// the rows are: [`ValidationRows::Shared`](autoencoder::train::ValidationRows::Shared)),
/// and every process returns the model one process given every row returns, bit for bit.
///
/// With `checkpoint`, a resumable checkpoint is written there (atomically) every
/// `checkpoint_every` epochs and when a callback stops training (with `peers`, by the
/// process of rank 0 alone). With `resume`, training continues the run that
/// checkpoint holds ([`ValidParams::resume`](autoencoder::ValidParams::resume)): the
/// settings and the data must be its own, the thread and process counts may differ,
/// and the model is the uninterrupted run's, bit for bit.
#[pyfunction]
#[pyo3(signature = (x, settings, *, threads=0, threshold=None, validation=None, image_shape=None, callback=None, checkpoint=None, checkpoint_every=0, resume=false, source="X", missing="error", start=None, peers=None, shared_validation=false, categories=None, reads=Vec::new()))]
#[allow(clippy::too_many_arguments)]
fn fit(
    py: Python<'_>,
    x: Rows<'_>,
    settings: &str,
    threads: i64,
    threshold: Option<&str>,
    validation: Option<Rows<'_>>,
    image_shape: Option<(usize, usize, usize)>,
    callback: Option<Py<PyAny>>,
    checkpoint: Option<PathBuf>,
    checkpoint_every: usize,
    resume: bool,
    source: &str,
    missing: &str,
    start: Option<PyRef<'_, Model>>,
    peers: Option<Bound<'_, PyAny>>,
    shared_validation: bool,
    categories: Option<PyRef<'_, Categories>>,
    reads: Vec<(String, Vec<PathBuf>)>,
) -> PyResult<(Model, String, Vec<String>, usize)> {
    let mut peers = peers.map(|p| peers::PyPeers::new(&p)).transpose()?;
    let raised = peers.as_ref().map(|p| p.raised());
    // One process writes the checkpoints; every process reads one to resume.
    let writes = peers.as_ref().is_none_or(|p| autoencoder::train::Peers::rank(p) == 0);
    // This process's own inputs, checked; with peers, every process learns whether all
    // passed before the first exchange (none waits on one that stopped here).
    let prepared = (|| {
        if shared_validation && (peers.is_none() || validation.is_none()) {
            return Err(PyValueError::new_err(
                "shared_validation says that each of several processes holds its part of validation_data: give peers and validation_data",
            ));
        }
        let reads: Vec<_> = reads.iter().map(|(what, paths)| (what.as_str(), paths.as_slice())).collect();
        let run = RunInputs::check(
            py,
            settings,
            checkpoint.as_deref(),
            resume,
            writes,
            threads,
            threshold,
            &reads,
        )?;
        let missing = missing_rule(missing)?;
        let mut data = dataset(&x, image_shape, source)?;
        // The one-hot encodings of the rows' categorical columns, which the model keeps.
        data.categories = categories.map_or_else(Vec::new, |c| c.0.clone());
        data.apply_missing(missing).map_err(to_py)?;
        let validation = validation_rows(validation.as_ref(), image_shape, missing)?;
        Ok((run, data, validation))
    })();
    let (run, mut data, mut validation) = agreed(py, peers.as_mut(), prepared)?;
    let dropped = data.dropped_rows;
    let start = start.map(|m| Arc::clone(&m.inner));
    let mut observer =
        PyObserver { callback, error: None, check_signals: on_main_thread(py)?, last_check: Instant::now() };
    let mut validation_total = 0;
    let result = py.detach(|| {
        // Shared out, this process's rows follow the earlier processes', and the
        // defaults are those of every process's values.
        let (chosen, total) = match peers.as_mut() {
            Some(p) => {
                let (first, total) = autoencoder::train::rows_among(p, data.rows())?;
                data.first_row = first as u64;
                if let Some(v) = validation.as_mut().filter(|_| shared_validation) {
                    let (first, total) = autoencoder::train::rows_among(p, v.rows())?;
                    v.first_row = first as u64;
                    validation_total = total;
                }
                let range = autoencoder::train::value_range_of_all(p, data.value_range())?;
                (run.settings.for_data_in(&data, range)?, total)
            }
            None => (run.settings.for_data(&data)?, data.rows()),
        };
        let checkpoint = checkpoint.filter(|_| writes).map(|path| (path, checkpoint_every));
        let (valid, from_data) =
            run.valid_params(chosen, start.as_deref(), &data.shape(), checkpoint, peers.is_some())?;
        let fitted = match peers {
            Some(p) => {
                use autoencoder::train::ValidationRows;
                let validation = validation.as_ref().map(|rows| match shared_validation {
                    true => ValidationRows::Shared { rows, total: validation_total },
                    false => ValidationRows::Whole(rows),
                });
                valid.fit_sharded(&data, total, validation, &mut observer, Box::new(p))?
            }
            None => valid.fit_with(&data, validation.as_ref(), &mut observer)?,
        };
        Ok::<_, Error>((fitted, from_data))
    });
    let (model, history, from_data) = outcome(raised, &mut observer, result)?;
    Ok((model, history, from_data, dropped))
}

/// `(rows, feature names, source)` of [`read_files`].
type ReadFiles<'py> = (Bound<'py, PyArray2<f32>>, Option<Vec<String>>, String);

/// The rows of `files`, read whole as `ae train` reads them: `(rows, feature names,
/// source)`, the source being the name the model file records, a missing value NaN,
/// and the categorical columns one-hot encoded with `categories` when given (a fit's,
/// for its validation rows), else with the values the rows hold.
#[pyfunction]
#[pyo3(signature = (files, categories=None))]
fn read_files<'py>(
    py: Python<'py>,
    files: PyRef<'_, TableFiles>,
    categories: Option<PyRef<'_, Categories>>,
) -> PyResult<ReadFiles<'py>> {
    // A missing value is NaN, which the caller refuses or fills.
    let mut opts = files.for_fit(Missing::Mean);
    if let Some(c) = &categories {
        opts.columns = opts.columns.with_categories(&c.0);
    }
    let data = files.read(py, &opts)?;
    let (cols, names, source) = (data.cols(), data.feature_names.clone(), data.source.clone());
    Ok((array2(py, data.into_vec(), cols)?, names, source))
}

/// What [`fit_files`] returns beside the model: the history (JSON text), what the data
/// chose, the feature names, the width, this process's rows (`(start, end)`: every row
/// unless shared out), when the rows were streamed their count and the window's, and
/// how many rows `missing="drop"` left out of the files.
type FilesFit =
    (Model, String, Vec<String>, Option<Vec<String>>, usize, (u64, u64), Option<(u64, usize)>, u64);

/// [`fit`] on the rows of `files` (see [`read_files`]), as `ae train` trains on them:
/// read whole, or streamed a window at a time
/// ([`ValidParams::fit_streamed`](autoencoder::ValidParams::fit_streamed)) with
/// `stream`, or without it (`None`) when their rows take more than `memory_budget`
/// (half the machine's memory unless given: [`MemoryBudget`](autoencoder::train::MemoryBudget)),
/// in windows that fit the budget ([`window_rows`](autoencoder::train::window_rows)).
/// The model is `ae train`'s on the same files with the same settings, threads,
/// `--stream`, `--memory-budget`, `--missing` and `--categorical`, bit for bit.
/// Streamed, the defaults the data chooses are chosen from the first chunk's shape and
/// every chunk's range of values, as `ae train` chooses them.
///
/// The validation rows are `validation` (an array) or `validation_files`, read as
/// `ae train --validation` reads its file: with the rule `missing`, and the categorical
/// columns encoded with the training rows' values.
///
/// With `peers`, this process is one of several that fit on the same files, each
/// reading only its share of the rows, as `mpirun ae train --shard` (the bytes of one
/// process, with micro-batches of
/// [`TrainConfig::SHARED_MICRO_BATCH`](autoencoder::TrainConfig::SHARED_MICRO_BATCH)
/// rows unless the settings give a size): an even, contiguous range of them
/// ([`shard_rows`](autoencoder::train::shard_rows)), or streamed its share of every
/// window ([`ValidParams::fit_streamed_sharded`](autoencoder::ValidParams::fit_streamed_sharded)),
/// when its share is over its budget (by default the machine's half shared by every
/// process, as if all ran on this machine).
#[pyfunction]
#[pyo3(signature = (files, settings, *, threads=0, threshold=None, validation=None, validation_files=None, image_shape=None, callback=None, checkpoint=None, checkpoint_every=0, resume=false, missing="error", start=None, stream=None, memory_budget=None, peers=None))]
#[allow(clippy::too_many_arguments)]
fn fit_files(
    py: Python<'_>,
    files: PyRef<'_, TableFiles>,
    settings: &str,
    threads: i64,
    threshold: Option<&str>,
    validation: Option<Rows<'_>>,
    validation_files: Option<PyRef<'_, TableFiles>>,
    image_shape: Option<(usize, usize, usize)>,
    callback: Option<Py<PyAny>>,
    checkpoint: Option<PathBuf>,
    checkpoint_every: usize,
    resume: bool,
    missing: &str,
    start: Option<PyRef<'_, Model>>,
    stream: Option<bool>,
    memory_budget: Option<&str>,
    peers: Option<Bound<'_, PyAny>>,
) -> PyResult<FilesFit> {
    use autoencoder::data::chunks::ChunkedRows;
    use autoencoder::data::columns::Categorical;
    use autoencoder::data::open::load_tables;
    use autoencoder::train::{MemoryBudget, Peers, ValidationRows};
    let mut peers = peers.map(|p| peers::PyPeers::new(&p)).transpose()?;
    let raised = peers.as_ref().map(|p| p.raised());
    let (rank, size) = peers.as_ref().map_or((0, 1), |p| (p.rank(), p.size()));
    let (files, validation_files): (&TableFiles, _) = (&files, validation_files.as_deref());
    let paths = &files.paths;
    // The validation files, read with the training rows' categorical values.
    let validation_of =
        |missing: Missing, categories: &[Categorical]| -> autoencoder::Result<Option<Dataset>> {
            let Some(v) = validation_files else { return Ok(None) };
            let mut opts = v.for_fit(missing);
            opts.columns = opts.columns.with_categories(categories);
            Ok(Some(shaped(load_tables(&v.paths, &opts)?, image_shape)?))
        };
    // This process's own inputs, checked; with peers, every process learns whether all
    // passed before the first exchange.
    let prepared = (|| {
        let mut reads = vec![("X", paths.as_slice())];
        reads.extend(validation_files.map(|v| ("validation_data", v.paths.as_slice())));
        let run = RunInputs::check(
            py,
            settings,
            checkpoint.as_deref(),
            resume,
            rank == 0,
            threads,
            threshold,
            &reads,
        )?;
        let missing = missing_rule(missing)?;
        let budget = match memory_budget {
            Some(b) => b.parse::<MemoryBudget>().map_err(to_py)?,
            None => MemoryBudget::of_machine(size),
        };
        let mut validation = validation_rows(validation.as_ref(), image_shape, missing)?;
        let opts = files.for_fit(missing);
        let streams = match stream {
            Some(s) => s,
            None => budget.exceeded_by(paths, size).map_err(to_py)?,
        };
        // Shared out or streamed, the rows are read a chunk at a time, and the
        // validation files with their categorical values (read whole, they are read
        // once the rows are).
        let rows = match peers.is_some() || streams {
            true => Some(py.detach(|| ChunkedRows::open(paths, &opts)).map_err(to_py)?),
            false => None,
        };
        if let (Some(rows), None) = (&rows, &validation) {
            validation = py.detach(|| validation_of(missing, rows.categories())).map_err(to_py)?;
        }
        Ok::<_, PyErr>((run, budget, validation, opts, streams, rows))
    })();
    let (run, budget, validation, opts, mut streams, rows) = agreed(py, peers.as_mut(), prepared)?;
    if let Some(p) = peers.as_mut() {
        // Every process streams, or none: each decides from its own budget, and
        // machines differ in memory.
        streams = py.detach(|| autoencoder::train::any_of(p, streams)).map_err(to_py)?;
    }
    let start = start.map(|m| Arc::clone(&m.inner));
    let mut observer =
        PyObserver { callback, error: None, check_signals: on_main_thread(py)?, last_check: Instant::now() };
    let checkpoint = checkpoint.filter(|_| rank == 0).map(|path| (path, checkpoint_every));
    let shared = peers.is_some();
    let result = py.detach(|| {
        let Some(rows) = rows else {
            // One process, the rows read whole.
            let data = shaped(load_tables(paths, &opts)?, image_shape)?;
            let validation = match validation {
                Some(v) => Some(v),
                None => validation_of(opts.columns.missing, &data.categories)?,
            };
            let chosen = run.settings.for_data(&data)?;
            let (valid, from_data) =
                run.valid_params(chosen, start.as_deref(), &data.shape(), checkpoint, false)?;
            let fitted = valid.fit_with(&data, validation.as_ref(), &mut observer)?;
            let mine = (0, data.rows() as u64);
            let dropped = data.dropped_rows as u64;
            return Ok::<_, Error>((
                fitted,
                (from_data, data.feature_names.clone(), data.cols(), mine, None, dropped),
            ));
        };
        let validation = validation.as_ref().map(ValidationRows::Whole);
        let names = rows.feature_names().map(<[String]>::to_vec);
        let dropped = rows.dropped_rows();
        if !streams {
            // Shared out: this process's range of the rows, the defaults chosen from the
            // values of every process's.
            let mut p = peers.expect("rows are read a chunk at a time in memory only with peers");
            let r = autoencoder::train::shard_rows(rows.rows() as usize, rank, size);
            let data = shaped(rows.read_rows(r.start as u64..r.end as u64)?, image_shape)?;
            let range = autoencoder::train::value_range_of_all(&mut p, data.value_range())?;
            let chosen = run.settings.for_data_in(&data, range)?;
            let (valid, from_data) =
                run.valid_params(chosen, start.as_deref(), &data.shape(), checkpoint, true)?;
            let total = rows.rows() as usize;
            let fitted = valid.fit_sharded(&data, total, validation, &mut observer, Box::new(p))?;
            let mine = (r.start as u64, r.end as u64);
            return Ok((fitted, (from_data, names, rows.cols(), mine, None, dropped)));
        }
        // Streamed: the first chunk stands for the rows (their shape, and unless every
        // chunk's range of values is needed, the range).
        let first = shaped(rows.read(0)?, image_shape)?;
        let range = run.settings.range_of_chunks(&rows)?.unwrap_or_else(|| first.value_range());
        let chosen = run.settings.for_data_in(&first, range)?;
        let (valid, from_data) =
            run.valid_params(chosen, start.as_deref(), &first.shape(), checkpoint, shared)?;
        drop(first);
        // Shared out, each process's budget holds its share of the window.
        let window = autoencoder::train::window_rows(&rows, budget.bytes(), valid.training().batch_size)?
            .saturating_mul(size);
        let fitted = match peers {
            Some(p) => valid.fit_streamed_sharded(&rows, validation, window, &mut observer, Box::new(p))?,
            None => valid.fit_streamed(&rows, validation.map(|v| v.rows()), window, &mut observer)?,
        };
        let r = autoencoder::train::shard_rows(rows.rows() as usize, rank, size);
        let mine = (r.start as u64, r.end as u64);
        Ok((fitted, (from_data, names, rows.cols(), mine, Some((rows.rows(), window)), dropped)))
    });
    let (model, history, (from_data, names, width, mine, streamed, dropped)) =
        outcome(raised, &mut observer, result)?;
    Ok((model, history, from_data, names, width, mine, streamed, dropped))
}

/// `(kind, scores, flags)` of [`Model::score`].
type ScoreResult<'py> = (String, Bound<'py, PyArray1<f64>>, Option<Bound<'py, PyArray1<u8>>>);
type ExplainResult<'py> = (String, Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<f64>>);

/// A trained model: what a `.safetensors` model file holds, with its inference.
#[pyclass(module = "autoencoder._core", frozen)]
struct Model {
    inner: Arc<Autoencoder>,
}

impl Model {
    /// `rows` rows of the input width that `make` decodes on the pool for `threads`,
    /// without the GIL; refused before any work, naming `what`, when the rows and their
    /// codes would pass the machine's memory budget (the result is one array).
    fn decodings<'py>(
        &self,
        py: Python<'py>,
        what: &str,
        rows: usize,
        threads: i64,
        make: impl FnOnce(&Autoencoder, &Threads) -> autoencoder::Result<Vec<f32>> + Send,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (d, k) = (self.inner.input_dim(), self.inner.code_dim());
        autoencoder::train::MemoryBudget::of_machine(1).check_held(what, rows, d + k).map_err(to_py)?;
        let pool = self::threads(threads)?;
        let model = Arc::clone(&self.inner);
        let out = py.detach(|| make(&model, &pool)).map_err(to_py)?;
        array2(py, out, d)
    }

    /// Run `f` on the rows of `x` (width `width`) without the GIL.
    fn map_rows<'py>(
        &self,
        py: Python<'py>,
        (x, what): (Rows<'_>, &str),
        width: usize,
        out_width: usize,
        threads: i64,
        f: fn(&Autoencoder, &[f32], &Threads) -> autoencoder::Result<Vec<f32>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        check_width(&x, width)?;
        // The result is one array: refused, not a failed allocation, past half the memory.
        autoencoder::train::MemoryBudget::of_machine(1)
            .check_held("the result", x.shape()[0], out_width)
            .map_err(|e| {
                PyValueError::new_err(format!("{e} (half the machine's memory); pass fewer rows at a time"))
            })?;
        let pool = self::threads(threads)?;
        let slice = rows(&x, what)?;
        self.check_values(slice, width, what)?;
        let model = Arc::clone(&self.inner);
        let out = py.detach(|| f(&model, slice, &pool)).map_err(to_py)?;
        array2(py, out, out_width)
    }
}

/// What `Model.evaluate` fits the PCA baseline on.
enum PcaFit<'a> {
    /// Rows in memory.
    Rows(&'a Dataset),
    /// Table files read a part at a time in two passes ([`baseline::fit_pca_parts`]),
    /// with these options, binarised from this seed (in each pass alike).
    Files(&'a TableFiles, &'a LoadOptions, Option<u64>),
}

/// The evaluation `Model.evaluate` makes, as `ae evaluate` makes it, with the PCA
/// baseline fitted on `fit` when given (a fit the baseline's bounds skip leaves it out).
fn evaluation<'m>(
    model: &'m Autoencoder,
    iw_samples: usize,
    fit: Option<PcaFit<'_>>,
    pool: &Threads,
) -> autoencoder::Result<autoencoder::evaluation::Evaluation<'m>> {
    let mut e = autoencoder::evaluation::Evaluation::new(model, iw_samples)?;
    let fitted = match fit {
        None => return Ok(e),
        Some(PcaFit::Rows(fit)) => baseline::fit_pca_on(model, fit, 0..fit.rows(), pool)?,
        Some(PcaFit::Files(files, opts, binarize)) => {
            let data = autoencoder::data::chunks::ChunkedRows::open(&files.paths, opts)?;
            model.check_width(data.cols(), &data.source)?;
            baseline::fit_pca_parts(model, &data.source, pool, |each| {
                let mut rng = binarize.map(autoencoder::random::binarizing);
                data.for_each_part(0..data.rows(), 0, |mut part| {
                    model.check_data(&part)?;
                    if let Some(rng) = &mut rng {
                        part.binarize(rng)?;
                    }
                    each(part.as_slice())
                })
            })?
        }
    };
    if let Ok(p) = fitted {
        e = e.with_pca(p);
    }
    Ok(e)
}

/// The rows `Model.evaluate` fits PCA on, named `source`, checked to be `width` wide.
fn pca_rows(fit: Option<Rows<'_>>, width: usize, source: &str) -> PyResult<Option<Dataset>> {
    fit.map(|f| check_width(&f, width).and_then(|()| dataset(&f, None, source))).transpose()
}

/// `m` as the JSON `ae evaluate --json` writes it, without what only the command knows
/// (the model's path, the timings).
fn measures_json(m: &autoencoder::evaluation::Measures, iw_samples: usize) -> String {
    let metrics = |r: &autoencoder::metrics::ReconstructionMetrics| serde_json::json!({"mse": r.mse, "sse_per_row": r.sse_per_row, "mae": r.mae, "bce": r.bce, "psnr": r.psnr});
    let mut o = metrics(&m.metrics);
    o["rows"] = m.metrics.rows.into();
    o["code_mean_activation"] = m.code_mean_activation.into();
    o["jacobian_norm"] = m.jacobian_norm.into();
    if let Some(elbo) = m.elbo {
        o["vae"] = serde_json::json!({
            "decoder": m.likelihood.map_or("bernoulli", |l| l.name()),
            "negative_elbo": elbo.negative_elbo(),
            "reconstruction": elbo.reconstruction,
            "kl": elbo.kl,
            "nll": m.nll,
            "iw_samples": iw_samples,
        });
    }
    if let Some(p) = &m.pca {
        let mut q = metrics(&p.metrics);
        q["k"] = p.k.into();
        q["fitted_on"] = p.fitted_on.clone().into();
        q["method"] = match p.method {
            autoencoder::pca::Method::Exact => "exact",
            autoencoder::pca::Method::Randomized(_) => "randomized",
        }
        .into();
        o["pca"] = q;
    }
    o.to_string()
}

impl Model {
    /// Refuse a value of `values` (rows of `width`, named `what`) that is not a finite
    /// number, naming its row and column, as `ae` refuses it; NaN passes in the rows
    /// (`X`, `a`, `b`) of a model that fills missing values, never in codes (`Z`).
    fn check_values(&self, values: &[f32], width: usize, what: &str) -> PyResult<()> {
        let missing = what != "Z" && self.inner.normalizer().fills_missing();
        autoencoder::data::dataset::check_finite_after(values, width, None, what, missing, 0).map_err(to_py)
    }
}

fn check_width(x: &Rows<'_>, width: usize) -> PyResult<()> {
    let d = x.shape()[1];
    if d != width {
        return Err(PyValueError::new_err(format!("X has {d} features, but the model expects {width}")));
    }
    Ok(())
}

#[pymethods]
impl Model {
    /// Read a model file (as `ae` writes it).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
        let model = py.detach(|| file::load(&path)).map_err(to_py)?;
        Ok(Model { inner: Arc::new(model) })
    }

    /// A model from the bytes of a model file.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Model> {
        let model = file::from_bytes(data, Path::new("<bytes>")).map_err(to_py)?;
        Ok(Model { inner: Arc::new(model) })
    }

    /// The bytes of the model file (`ae`'s format).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = file::to_bytes(&self.inner).map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Write the model file to `path` atomically (a temporary file, then a rename).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let model = Arc::clone(&self.inner);
        py.detach(|| file::save(&model, &path)).map_err(to_py)
    }

    /// Codes of the rows of `x`, as `ae encode` gives them.
    #[pyo3(signature = (x, threads=0))]
    fn encode<'py>(&self, py: Python<'py>, x: Rows<'_>, threads: i64) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (d, k) = (self.inner.input_dim(), self.inner.code_dim());
        self.map_rows(py, (x, "X"), d, k, threads, |m, x, t| m.encode(x, t))
    }

    /// Rows decoded from codes `z`, as `ae decode` gives them.
    #[pyo3(signature = (z, threads=0))]
    fn decode<'py>(&self, py: Python<'py>, z: Rows<'_>, threads: i64) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (d, k) = (self.inner.input_dim(), self.inner.code_dim());
        self.map_rows(py, (z, "Z"), k, d, threads, |m, z, t| m.decode(z, t))
    }

    /// `n` rows decoded from codes drawn from the prior with `seed`, as `ae generate -n N
    /// --seed SEED` writes them: a variational model's `N(0, I)`, another's training
    /// codes' histograms ([`Autoencoder::prior_sampler`]). Refused before any draw when
    /// the rows would pass the machine's memory budget.
    #[pyo3(signature = (n, seed=0, threads=0))]
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        seed: u64,
        threads: i64,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        self.decodings(py, "n_samples", n, threads, move |m, pool| {
            m.decode(&m.prior_sampler(seed)?.draw(n), pool)
        })
    }

    /// `steps` decodings of the codes evenly spaced on the straight line from row `a`'s
    /// code to row `b`'s, both ends included ([`Autoencoder::interpolate`]), as `ae
    /// interpolate` writes them. Refused before any work when the rows would pass the
    /// machine's memory budget.
    #[pyo3(signature = (a, b, steps, threads=0))]
    fn interpolate<'py>(
        &self,
        py: Python<'py>,
        a: PyReadonlyArray1<'_, f32>,
        b: PyReadonlyArray1<'_, f32>,
        steps: usize,
        threads: i64,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (a, b) = (a.as_slice()?.to_vec(), b.as_slice()?.to_vec());
        let d = self.inner.input_dim();
        for (row, what) in [(&a, "a"), (&b, "b")] {
            self.check_values(row, d, what)?;
        }
        self.decodings(py, "steps", steps, threads, move |m, pool| m.interpolate(&a, &b, steps, pool))
    }

    /// The decodings of a sweep of each of the first `dims` code dimensions over `steps`
    /// values, the others at the centre ([`Autoencoder::traverse`]), as `ae traverse`
    /// writes them. Refused before any work when the rows would pass the machine's
    /// memory budget.
    #[pyo3(signature = (dims, steps, range, threads=0))]
    fn traverse<'py>(
        &self,
        py: Python<'py>,
        dims: usize,
        steps: usize,
        range: f32,
        threads: i64,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        // The walk's settings checked before its size is.
        let rows = self.inner.traversal(dims, steps, range).map_err(to_py)?.rows();
        self.decodings(py, "steps", rows, threads, move |m, pool| m.traverse(dims, steps, range, pool))
    }

    /// Reconstructions of the rows of `x`, as `ae reconstruct` gives them.
    #[pyo3(signature = (x, threads=0))]
    fn reconstruct<'py>(
        &self,
        py: Python<'py>,
        x: Rows<'_>,
        threads: i64,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let d = self.inner.input_dim();
        self.map_rows(py, (x, "X"), d, d, threads, |m, x, t| m.reconstruct(x, t))
    }

    /// Anomaly scores of the rows of `x`, as `ae score` gives them: `(kind, scores,
    /// flags)`, the flags (uint8, 1 above the detector's threshold) when the model has
    /// a detector of that score, else `None`. `kind`: mse, mae, root, standardized or
    /// elbo (default: the detector's, else the model's). `row_offset`: the global index
    /// of `x`'s first row when `x` is one part of a larger dataset (a Spark or Ray
    /// partition), as `ae score --row-offset`: the elbo score's samples are drawn at each
    /// row's global index, so the parts' scores equal the whole's bit for bit. With
    /// `drop_missing`, the rows holding a NaN are left out first
    /// ([`Dataset::drop_missing`]), as a fit with `missing="drop"` left them out: the
    /// scores are then those of the rows it trained on.
    #[pyo3(signature = (x, kind=None, threads=0, row_offset=0, drop_missing=false))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        x: Rows<'_>,
        kind: Option<&str>,
        threads: i64,
        row_offset: i64,
        drop_missing: bool,
    ) -> PyResult<ScoreResult<'py>> {
        let row_offset = u64::try_from(row_offset)
            .ok()
            .filter(|&r| r <= autoencoder::data::dataset::MAX_FIRST_ROW)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "row_offset is {row_offset}; expected a row index from 0 to 2**62 (every id a 64-bit integer)"
                ))
            })?;
        check_width(&x, self.inner.input_dim())?;
        let kind = kind.map(str::parse::<ScoreKind>).transpose().map_err(to_py)?;
        let pool = self::threads(threads)?;
        let mut data = dataset(&x, None, "X")?;
        data.first_row = row_offset;
        if drop_missing {
            data.apply_missing(Missing::Drop).map_err(to_py)?;
        }
        let model = Arc::clone(&self.inner);
        let scored = py.detach(|| anomaly::score_rows(&model, &data, kind, &pool)).map_err(to_py)?;
        let flags = scored.flags.map(|(_, f)| f.into_pyarray(py));
        Ok((scored.kind.to_string(), scored.scores.into_pyarray(py), flags))
    }

    /// The rows of `files` read whole as this model reads a table (`ae reconstruct`
    /// reads it): its categorical columns encoded with its training values, a missing
    /// value NaN (which the model fills, or refuses).
    fn read_files<'py>(
        &self,
        py: Python<'py>,
        files: PyRef<'_, TableFiles>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let data = files.read(py, &files.for_model(&self.inner))?;
        let cols = data.cols();
        array2(py, data.into_vec(), cols)
    }

    /// [`score`](Self::score) of the rows of `files`, read a part at a time as this
    /// model reads a table ([`Model::read_files`]; [`anomaly::score_chunked`]): rows
    /// `rows` (`(start, end)`, by default every row), each scored at its index in the
    /// files. The bits of scoring those rows read whole. With `drop_missing`, the rows
    /// with a missing value are left out first, as a fit with `missing="drop"` left
    /// them out (its rows are then those it trained on).
    #[pyo3(signature = (files, kind=None, threads=0, rows=None, drop_missing=false))]
    fn score_files<'py>(
        &self,
        py: Python<'py>,
        files: PyRef<'_, TableFiles>,
        kind: Option<&str>,
        threads: i64,
        rows: Option<(u64, u64)>,
        drop_missing: bool,
    ) -> PyResult<ScoreResult<'py>> {
        let kind = kind.map(str::parse::<ScoreKind>).transpose().map_err(to_py)?;
        let pool = self::threads(threads)?;
        let (files, mut opts): (&TableFiles, _) = (&files, files.for_model(&self.inner));
        if drop_missing {
            opts.columns.missing = Missing::Drop;
        }
        let model = Arc::clone(&self.inner);
        let scored = py
            .detach(|| {
                let data = autoencoder::data::chunks::ChunkedRows::open(&files.paths, &opts)?;
                let (start, end) = rows.unwrap_or((0, data.rows()));
                if start > end || end > data.rows() {
                    return Err(Error::config(
                        "rows",
                        format!(
                            "rows {start}..{end} are not rows of {}, which has {}",
                            data.source,
                            data.rows()
                        ),
                    ));
                }
                anomaly::score_chunked(&model, &data, start..end, kind, &pool)
            })
            .map_err(to_py)?;
        let flags = scored.flags.map(|(_, f)| f.into_pyarray(py));
        Ok((scored.kind.to_string(), scored.scores.into_pyarray(py), flags))
    }

    /// [`encode`](Self::encode) of every row of `files`, read a part at a time as this
    /// model reads a table ([`Model::read_files`]; `ChunkedRows::for_each_part`):
    /// memory holds one part and the codes, as `ae encode --stream`. The codes of the
    /// rows read whole.
    #[pyo3(signature = (files, threads=0))]
    fn encode_files<'py>(
        &self,
        py: Python<'py>,
        files: PyRef<'_, TableFiles>,
        threads: i64,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let pool = self::threads(threads)?;
        let (files, opts): (&TableFiles, _) = (&files, files.for_model(&self.inner));
        let model = Arc::clone(&self.inner);
        let codes = py
            .detach(|| {
                let data = autoencoder::data::chunks::ChunkedRows::open(&files.paths, &opts)?;
                model.check_width(data.cols(), &data.source)?;
                let mut codes = Vec::new();
                data.for_each_part(0..data.rows(), 0, |part| {
                    model.check_data(&part)?;
                    codes.extend(model.encode(part.as_slice(), &pool)?);
                    Ok(())
                })?;
                Ok(codes)
            })
            .map_err(to_py)?;
        array2(py, codes, self.inner.code_dim())
    }

    /// What `ae evaluate --json` reports of the rows of `x` (its numbers; not the
    /// timings), as JSON: the reconstruction metrics in the model's normalised units, the
    /// code's mean activation and mean Jacobian norm, a variational model's ELBO and,
    /// with `iw_samples` > 0, its importance-sampled likelihood, and the PCA baseline fitted on `pca_fit` (whose rows are named
    /// `pca_source`) when given ([`autoencoder::evaluation::Evaluation`]).
    /// With `pca_on_rows`, PCA is fitted on the rows of `x` themselves (as `ae evaluate`
    /// fits it on the rows it evaluates). With `binarize`, the rows are binarised first
    /// from that seed (each value `v` becomes 1 with probability `v`), as `ae evaluate
    /// --binarize` does. `pca_files`, instead of `pca_fit`: PCA is fitted on those table
    /// files, read a part at a time in two passes (the bits of their rows read whole).
    #[pyo3(signature = (x, iw_samples=1000, threads=0, pca_fit=None, pca_source="pca_fit", pca_on_rows=false, binarize=None, pca_files=None))]
    #[allow(clippy::too_many_arguments)] // the keywords of the estimator's `evaluate`
    fn evaluate(
        &self,
        py: Python<'_>,
        x: Rows<'_>,
        iw_samples: usize,
        threads: i64,
        pca_fit: Option<Rows<'_>>,
        pca_source: &str,
        pca_on_rows: bool,
        binarize: Option<u64>,
        pca_files: Option<PyRef<'_, TableFiles>>,
    ) -> PyResult<String> {
        check_width(&x, self.inner.input_dim())?;
        let pool = self::threads(threads)?;
        let mut data = dataset(&x, None, "X")?;
        self.inner.check_data(&data).map_err(to_py)?;
        if let Some(seed) = binarize {
            data.binarize(&mut autoencoder::random::binarizing(seed)).map_err(to_py)?;
        }
        let fit = pca_rows(pca_fit, self.inner.input_dim(), pca_source)?;
        let fit_files = pca_files.as_deref().map(|f| (f, f.for_model(&self.inner)));
        let model = Arc::clone(&self.inner);
        let measured = py
            .detach(|| {
                let fit = match (pca_on_rows, &fit, &fit_files) {
                    (true, _, _) => Some(PcaFit::Rows(&data)),
                    (false, Some(fit), _) => Some(PcaFit::Rows(fit)),
                    (false, None, Some((files, opts))) => Some(PcaFit::Files(files, opts, None)),
                    (false, None, None) => None,
                };
                let mut e = evaluation(&model, iw_samples, fit, &pool)?;
                e.add(data.as_slice(), &pool, &mut |_| {})?;
                Ok(e.finish())
            })
            .map_err(to_py)?;
        Ok(measures_json(&measured, iw_samples))
    }

    /// [`evaluate`](Self::evaluate) of every row of `files`, read a part at a time as
    /// this model reads a table: the numbers of the rows read whole, as `ae evaluate
    /// --stream` (`binarize`'s draws run on across the parts). PCA is fitted on
    /// `pca_fit` or `pca_files` as [`evaluate`](Self::evaluate) fits it, or with
    /// `pca_on_rows` on the rows of `files` themselves, in more passes over their
    /// parts (binarised alike), as `ae evaluate --stream` fits it.
    #[pyo3(signature = (files, iw_samples=1000, threads=0, pca_fit=None, pca_source="pca_fit", binarize=None, pca_files=None, pca_on_rows=false))]
    #[allow(clippy::too_many_arguments)] // the keywords of the estimator's `evaluate`
    fn evaluate_files(
        &self,
        py: Python<'_>,
        files: PyRef<'_, TableFiles>,
        iw_samples: usize,
        threads: i64,
        pca_fit: Option<Rows<'_>>,
        pca_source: &str,
        binarize: Option<u64>,
        pca_files: Option<PyRef<'_, TableFiles>>,
        pca_on_rows: bool,
    ) -> PyResult<String> {
        let pool = self::threads(threads)?;
        let fit = pca_rows(pca_fit, self.inner.input_dim(), pca_source)?;
        let (files, opts): (&TableFiles, _) = (&files, files.for_model(&self.inner));
        let fit_files = pca_files.as_deref().map(|f| (f, f.for_model(&self.inner)));
        let model = Arc::clone(&self.inner);
        let measured = py
            .detach(|| {
                let data = autoencoder::data::chunks::ChunkedRows::open(&files.paths, &opts)?;
                model.check_width(data.cols(), &data.source)?;
                let fit = match (pca_on_rows, &fit, &fit_files) {
                    (true, _, _) => Some(PcaFit::Files(files, &opts, binarize)),
                    (false, Some(fit), _) => Some(PcaFit::Rows(fit)),
                    (false, None, Some((files, opts))) => Some(PcaFit::Files(files, opts, None)),
                    (false, None, None) => None,
                };
                let mut e = evaluation(&model, iw_samples, fit, &pool)?;
                let mut rng = binarize.map(autoencoder::random::binarizing);
                data.for_each_part(0..data.rows(), 0, |mut part| {
                    model.check_data(&part)?;
                    if let Some(rng) = &mut rng {
                        part.binarize(rng)?;
                    }
                    e.add(part.as_slice(), &pool, &mut |_| {})
                })?;
                Ok(e.finish())
            })
            .map_err(to_py)?;
        Ok(measures_json(&measured, iw_samples))
    }

    /// Each score's probability of being an outlier's (`ae score --proba`): `method`
    /// `linear` scales by the training scores' minimum and maximum, `unify` is the erf
    /// of their z-score, both clipped to [0, 1] (PyOD's `predict_proba` methods). Needs
    /// a detector (a model trained with a threshold), whose kind the scores are.
    #[pyo3(signature = (scores, method="linear"))]
    fn outlier_probability<'py>(
        &self,
        py: Python<'py>,
        scores: PyReadonlyArray1<'_, f64>,
        method: &str,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let method = method.parse::<anomaly::Probability>().map_err(to_py)?;
        let detector = self.inner.detector.as_ref().ok_or_else(|| {
            PyValueError::new_err("outlier probabilities need a model with a detector (fit it with a threshold or contamination)")
        })?;
        let scores = scores.as_slice().map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(detector.probabilities(scores, method).map_err(to_py)?.into_pyarray(py))
    }

    /// The model as ONNX bytes, as `ae export --part PART [--score KIND]` writes them:
    /// `part` encoder, decoder, reconstruct, score or all (outputs `code`,
    /// `reconstruction`, `score`); `kind` the score in the graph (default: the
    /// detector's). Raises `ValueError` for an unknown part, or an elbo score.
    #[pyo3(signature = (part="all", kind=None))]
    fn to_onnx<'py>(&self, py: Python<'py>, part: &str, kind: Option<&str>) -> PyResult<Bound<'py, PyBytes>> {
        let part = part.parse::<autoencoder::onnx::Part>().map_err(to_py)?;
        let score = kind.map(str::parse::<ScoreKind>).transpose().map_err(to_py)?;
        let out = autoencoder::onnx::export(&self.inner, &autoencoder::onnx::ExportOptions { part, score })
            .map_err(to_py)?;
        Ok(PyBytes::new(py, &out.bytes))
    }

    /// Why each row of `x` scores as it does, as `ae score --explain k`: `(kind,
    /// features, contributions)`, both `(n, min(k, d))`, the features (int64, 0-based)
    /// whose terms add most to the row's score, largest first, and those terms. `kind`
    /// as in `score` (a reconstruction score: mse, mae, root or standardized).
    #[pyo3(signature = (x, k, kind=None, threads=0))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        x: Rows<'_>,
        k: usize,
        kind: Option<&str>,
        threads: i64,
    ) -> PyResult<ExplainResult<'py>> {
        check_width(&x, self.inner.input_dim())?;
        if k == 0 {
            return Err(PyValueError::new_err("k is 0; expected at least one feature per row"));
        }
        let kind = kind.map(str::parse::<ScoreKind>).transpose().map_err(to_py)?;
        let pool = self::threads(threads)?;
        let data = dataset(&x, None, "X")?;
        let model = Arc::clone(&self.inner);
        let e = py.detach(|| anomaly::explain_rows(&model, &data, kind, k, &pool)).map_err(to_py)?;
        let rows = data.rows();
        let features: Vec<i64> = e.features.iter().map(|&j| j as i64).collect();
        Ok((
            e.kind.to_string(),
            features.into_pyarray(py).reshape([rows, e.k])?,
            e.contributions.into_pyarray(py).reshape([rows, e.k])?,
        ))
    }

    /// The width of a row.
    #[getter]
    fn input_dim(&self) -> usize {
        self.inner.input_dim()
    }

    /// The width of a code.
    #[getter]
    fn code_dim(&self) -> usize {
        self.inner.code_dim()
    }

    /// `(channels, height, width)` for image models, else `None`.
    #[getter]
    fn image_shape(&self) -> Option<(usize, usize, usize)> {
        self.inner.config().image_shape.map(|s| (s.channels, s.height, s.width))
    }

    /// Whether the model fills missing values (NaN) with its training means (trained
    /// with `missing="mean"`).
    #[getter]
    fn fills_missing(&self) -> bool {
        self.inner.normalizer().fills_missing()
    }

    /// The columns the model one-hot encodes (`ae train --categorical`), by name (or
    /// 0-based index, as text, for a file without a header).
    #[getter]
    fn categorical_columns(&self) -> Vec<String> {
        self.inner.categories.iter().map(|c| c.column.clone()).collect()
    }

    /// The model's one-hot encodings, which the tables it reads are encoded with.
    #[getter]
    fn categories(&self) -> Categories {
        Categories::of(&self.inner)
    }

    /// The detector's threshold (`None` without a detector).
    #[getter]
    fn threshold(&self) -> Option<f64> {
        self.inner.detector.as_ref().map(|d| d.threshold)
    }

    /// The score the model's detector uses, else the model's default score.
    #[getter]
    fn score_kind(&self) -> String {
        ScoreKind::of(&self.inner).to_string()
    }

    /// The architecture in one line, as `ae inspect` shows it.
    fn describe(&self) -> String {
        self.inner.config().describe()
    }

    /// The trainable parameters' count.
    #[getter]
    fn parameters(&self) -> usize {
        self.inner.param_count()
    }

    /// The model's architecture as JSON text (the configuration's `[model]` table).
    fn config_json(&self) -> PyResult<String> {
        serde_json::to_string(self.inner.config()).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// Pickling: the model file's bytes.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let py = slf.py();
        let from_bytes = py.get_type::<Model>().getattr("from_bytes")?;
        Ok((from_bytes, (slf.get().to_bytes(py)?,)))
    }

    fn __repr__(&self) -> String {
        format!("<autoencoder model: {}>", self.inner.config().describe())
    }
}

/// Labelled rows for a probe: the float32 rows of `x` and the labels `y`.
fn features<'a>(x: &'a Rows<'_>, y: &'a PyReadonlyArray1<'_, i64>, what: &str) -> PyResult<Features<'a>> {
    let labels = y
        .as_slice()
        .map_err(|_| PyValueError::new_err(format!("{what}: labels must be a contiguous int64 array")))?;
    Features::new(rows(x, what)?, x.shape()[1], labels).map_err(to_py)
}

/// Every probe of one representation (`autoencoder.probe.probe`): kNN (k = 5,
/// Euclidean and cosine) and logistic-regression accuracy on the test rows, and k-means
/// agreement (ARI, NMI) with the test labels. Returns a dict.
#[pyfunction]
#[pyo3(signature = (x_train, y_train, x_test, y_test, seed=0, threads=0))]
fn probe<'py>(
    py: Python<'py>,
    x_train: Rows<'_>,
    y_train: PyReadonlyArray1<'_, i64>,
    x_test: Rows<'_>,
    y_test: PyReadonlyArray1<'_, i64>,
    seed: u64,
    threads: i64,
) -> PyResult<Bound<'py, PyDict>> {
    let pool = self::threads(threads)?;
    let (train, test) = (features(&x_train, &y_train, "X_train")?, features(&x_test, &y_test, "X_test")?);
    let s = py.detach(|| autoencoder::probe::probe(&train, &test, seed, &pool)).map_err(to_py)?;
    let out = PyDict::new(py);
    out.set_item("knn_euclidean", s.knn_euclidean)?;
    out.set_item("knn_cosine", s.knn_cosine)?;
    out.set_item("logistic", s.logistic)?;
    out.set_item("kmeans_ari", s.kmeans_ari)?;
    out.set_item("kmeans_nmi", s.kmeans_nmi)?;
    Ok(out)
}

/// The kNN probe's test accuracy (`metric`: euclidean or cosine).
#[pyfunction]
#[pyo3(signature = (x_train, y_train, x_test, y_test, k=5, metric="euclidean", threads=0))]
#[allow(clippy::too_many_arguments)]
fn knn_accuracy(
    py: Python<'_>,
    x_train: Rows<'_>,
    y_train: PyReadonlyArray1<'_, i64>,
    x_test: Rows<'_>,
    y_test: PyReadonlyArray1<'_, i64>,
    k: usize,
    metric: &str,
    threads: i64,
) -> PyResult<f64> {
    let metric = match metric {
        "euclidean" => Metric::Euclidean,
        "cosine" => Metric::Cosine,
        m => return Err(PyValueError::new_err(format!("metric must be 'euclidean' or 'cosine', got {m:?}"))),
    };
    let pool = self::threads(threads)?;
    let (train, test) = (features(&x_train, &y_train, "X_train")?, features(&x_test, &y_test, "X_test")?);
    py.detach(|| autoencoder::probe::knn_accuracy(&train, &test, k, metric, &pool)).map_err(to_py)
}

/// The logistic-regression probe's test accuracy (L2 penalty with scikit-learn's `C`).
#[pyfunction]
#[pyo3(signature = (x_train, y_train, x_test, y_test, c=1.0, max_iter=1000))]
fn logistic_accuracy(
    py: Python<'_>,
    x_train: Rows<'_>,
    y_train: PyReadonlyArray1<'_, i64>,
    x_test: Rows<'_>,
    y_test: PyReadonlyArray1<'_, i64>,
    c: f64,
    max_iter: usize,
) -> PyResult<f64> {
    let (train, test) = (features(&x_train, &y_train, "X_train")?, features(&x_test, &y_test, "X_test")?);
    let settings = Logistic { c, max_iter, ..Logistic::default() };
    py.detach(|| autoencoder::probe::logistic_accuracy(&train, &test, settings)).map_err(to_py)
}

/// Seeded k-means++ then Lloyd: each row's cluster.
#[pyfunction]
#[pyo3(signature = (x, k, seed=0))]
fn kmeans<'py>(py: Python<'py>, x: Rows<'_>, k: usize, seed: u64) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let d = x.shape()[1];
    let slice = rows(&x, "X")?;
    let clusters = py.detach(|| autoencoder::probe::kmeans(slice, d, k, seed)).map_err(to_py)?;
    Ok(clusters.into_iter().map(|c| c as i64).collect::<Vec<_>>().into_pyarray(py))
}

fn labels<'a>(y: &'a PyReadonlyArray1<'_, i64>) -> PyResult<&'a [i64]> {
    y.as_slice().map_err(|_| PyValueError::new_err("labels must be a contiguous int64 array"))
}

/// The adjusted Rand index of two labelings.
#[pyfunction]
fn adjusted_rand_index(a: PyReadonlyArray1<'_, i64>, b: PyReadonlyArray1<'_, i64>) -> PyResult<f64> {
    same_length(&a, &b)?;
    Ok(autoencoder::probe::adjusted_rand_index(labels(&a)?, labels(&b)?))
}

/// The normalised mutual information of two labelings (arithmetic mean).
#[pyfunction]
fn normalized_mutual_info(a: PyReadonlyArray1<'_, i64>, b: PyReadonlyArray1<'_, i64>) -> PyResult<f64> {
    same_length(&a, &b)?;
    Ok(autoencoder::probe::normalized_mutual_info(labels(&a)?, labels(&b)?))
}

fn same_length(a: &PyReadonlyArray1<'_, i64>, b: &PyReadonlyArray1<'_, i64>) -> PyResult<()> {
    if a.len() != b.len() || a.len() == 0 {
        return Err(PyValueError::new_err(format!(
            "two labelings of the same rows are needed, got {} and {} labels",
            a.len(),
            b.len()
        )));
    }
    Ok(())
}

/// Each of `texts` (row-major, `cols` a row; `None` where the caller fills the value
/// in) read as `ae` reads a field of a CSV file
/// ([`autoencoder::data::csv::parse_text`]): rounded once to float32, a missing
/// value's text NaN; else a `ValueError` naming `what`, the row and the column.
#[pyfunction]
#[pyo3(signature = (texts, cols, what="X"))]
fn numbers_from_text<'py>(
    py: Python<'py>,
    texts: Vec<Option<String>>,
    cols: usize,
    what: &str,
) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let opts = autoencoder::data::csv::CsvOptions::default();
    let cols = cols.max(1);
    let values = texts
        .iter()
        .enumerate()
        .map(|(i, text)| match text {
            None => Ok(f32::NAN),
            Some(t) => autoencoder::data::csv::parse_text(t, &opts).map_err(|why| {
                PyValueError::new_err(format!("{what}: row {}, column {}: {why}", i / cols + 1, i % cols + 1))
            }),
        })
        .collect::<PyResult<Vec<f32>>>()?;
    Ok(PyArray1::from_vec(py, values))
}

/// The compiled core of the `autoencoder` package.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<TableFiles>()?;
    m.add_class::<Categories>()?;
    m.add_function(wrap_pyfunction!(files::read_arrow_ipc, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(numbers_from_text, m)?)?;
    m.add_function(wrap_pyfunction!(machine_memory_budget, m)?)?;
    m.add_function(wrap_pyfunction!(memory_budget_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(human_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(fit_files, m)?)?;
    m.add_function(wrap_pyfunction!(read_files, m)?)?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add_function(wrap_pyfunction!(setting_names, m)?)?;
    for f in [
        wrap_pyfunction!(probe, m)?,
        wrap_pyfunction!(knn_accuracy, m)?,
        wrap_pyfunction!(logistic_accuracy, m)?,
        wrap_pyfunction!(kmeans, m)?,
        wrap_pyfunction!(adjusted_rand_index, m)?,
        wrap_pyfunction!(normalized_mutual_info, m)?,
    ] {
        m.add_function(f)?;
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
