//! Dynamic batching: requests for one operation that arrive together share one forward
//! pass. A batcher task per operation takes the first waiting request, every other one
//! already queued, and — only while more requests of that operation are still being
//! read — those that arrive within `--batch-wait`; runs the pass on a blocking thread
//! with the model of that moment; and hands each request its rows' results. A request
//! that has stopped waiting (its `--timeout` passed, or its client left) before its pass
//! begins is not computed.
//!
//! Batching changes no bit: the library gives a row the same values in any batch of two
//! or more rows (and runs a lone row beside a copy of itself), so a request's results
//! equal `ae score`'s on the same rows. A variational model's ELBO score draws its
//! samples from each row's index, so under it every request is scored on its own, its
//! rows numbered from 0, as `ae score` numbers a file's.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use autoencoder::anomaly::{self, ScoreKind};
use autoencoder::{Autoencoder, Dataset};
use tokio::sync::{mpsc, oneshot};

use super::body::Output;
use super::{Core, Failure, Loaded};

/// The three operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Score,
    Encode,
    Reconstruct,
}

impl Op {
    pub const ALL: [Op; 3] = [Op::Score, Op::Encode, Op::Reconstruct];

    /// The endpoint's path.
    pub fn path(self) -> &'static str {
        match self {
            Op::Score => "/v1/score",
            Op::Encode => "/v1/encode",
            Op::Reconstruct => "/v1/reconstruct",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Score => "score",
            Op::Encode => "encode",
            Op::Reconstruct => "reconstruct",
        }
    }
}

/// One request's rows and where its answer goes.
pub struct Job {
    pub data: Dataset,
    /// The model the rows were read for (its width, its missing-value rule and
    /// categorical encodings made the values).
    pub read_for: Arc<Loaded>,
    pub reply: oneshot::Sender<Result<Output, Failure>>,
}

/// The handle the request handlers use.
pub struct Batcher {
    tx: mpsc::Sender<Job>,
    /// Requests of this operation being read (their rows not yet queued).
    reading: Arc<AtomicUsize>,
}

/// Counts a request as being read until dropped.
pub struct Reading(Arc<AtomicUsize>);

impl Drop for Reading {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Batcher {
    /// Start the batcher of `op`: at most `max_rows` rows a pass, waiting at most `wait`.
    pub fn spawn(op: Op, core: Arc<Core>, queue: usize, max_rows: usize, wait: Duration) -> Batcher {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let reading = Arc::new(AtomicUsize::new(0));
        tokio::spawn(run(op, core, rx, Arc::clone(&reading), max_rows, wait));
        Batcher { tx, reading }
    }

    /// Mark a request as being read.
    pub fn reading(&self) -> Reading {
        self.reading.fetch_add(1, Ordering::SeqCst);
        Reading(Arc::clone(&self.reading))
    }

    /// Queue a request's rows (it stops counting as being read once queued) and wait
    /// for its answer.
    pub async fn submit(
        &self,
        data: Dataset,
        read_for: Arc<Loaded>,
        reading: Reading,
    ) -> Result<Output, Failure> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { data, read_for, reply })
            .await
            .map_err(|_| Failure::new(503, "the server is stopping"))?;
        drop(reading);
        answer.await.map_err(|_| Failure::new(500, "the computation ended without an answer"))?
    }
}

async fn run(
    op: Op,
    core: Arc<Core>,
    mut rx: mpsc::Receiver<Job>,
    reading: Arc<AtomicUsize>,
    max_rows: usize,
    wait: Duration,
) {
    while let Some(first) = rx.recv().await {
        let mut rows = first.data.rows();
        let mut jobs = vec![first];
        let deadline = tokio::time::Instant::now() + wait;
        while rows < max_rows {
            match rx.try_recv() {
                Ok(job) => {
                    rows += job.data.rows();
                    jobs.push(job);
                    continue;
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            if wait.is_zero() || reading.load(Ordering::SeqCst) == 0 {
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(job)) => {
                    rows += job.data.rows();
                    jobs.push(job);
                }
                _ => break,
            }
        }
        let jobs = waiting(op, &core, jobs);
        if jobs.is_empty() {
            continue;
        }
        let loaded = core.current();
        core.metrics.batch(op.name(), jobs.len());
        let core = Arc::clone(&core);
        // The pass runs on a blocking thread; this task waits for it, so one pass of an
        // operation runs at a time.
        let _ = tokio::task::spawn_blocking(move || answer(op, &core, &loaded, jobs)).await;
    }
}

/// The jobs whose requests still wait for their answer. A request that passed
/// `--timeout` (answered 408), or whose client closed its connection, has dropped its
/// end of the reply while its rows waited in the queue or for the pass before; its rows
/// are not computed (under load, computing them would only delay the requests that are
/// still waiting), and it counts in `ae_abandoned_requests_total`.
fn waiting(op: Op, core: &Core, jobs: Vec<Job>) -> Vec<Job> {
    let before = jobs.len();
    let jobs: Vec<Job> = jobs.into_iter().filter(|j| !j.reply.is_closed()).collect();
    core.metrics.abandoned(op.name(), before - jobs.len());
    jobs
}

/// Compute the batch and answer every request in it.
fn answer(op: Op, core: &Core, loaded: &Loaded, jobs: Vec<Job>) {
    let threads = &core.threads;
    let model = &loaded.model;
    let d = model.input_dim();
    // Rows read for a model that reads rows otherwise — another width, or other rules
    // for missing values and categories, which made the values — are not this one's.
    let reads_alike = |other: &Autoencoder| {
        other.input_dim() == d
            && other.normalizer().fills_missing() == model.normalizer().fills_missing()
            && other.categories == model.categories
    };
    let (jobs, stale): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| {
        j.data.cols() == d
            && (std::ptr::eq(Arc::as_ptr(&j.read_for), loaded) || reads_alike(&j.read_for.model))
    });
    for j in stale {
        let why = if j.data.cols() == d {
            String::from("reads rows otherwise (missing values or categories)")
        } else {
            format!("it now takes rows of {d} values, not {}", j.data.cols())
        };
        let _ = j.reply.send(Err(Failure::new(
            409,
            format!("the model was reloaded while the request waited and {why}; send it again"),
        )));
    }
    if jobs.is_empty() {
        return;
    }
    // The score `score_rows` computes when none is asked for.
    let elbo = op == Op::Score && ScoreKind::of(model) == ScoreKind::Elbo;
    if elbo || jobs.len() == 1 {
        for j in jobs {
            // Each request's own pass: one whose time ran out during the passes before
            // it is left out as the batcher leaves it out ([`waiting`]).
            let Some(j) = waiting(op, core, vec![j]).pop() else { continue };
            let out = compute(op, loaded, &j.data, threads);
            let _ = j.reply.send(out);
        }
        return;
    }
    let counts: Vec<usize> = jobs.iter().map(|j| j.data.rows()).collect();
    let mut values = Vec::with_capacity(counts.iter().sum::<usize>() * d);
    for j in &jobs {
        values.extend_from_slice(j.data.as_slice());
    }
    let total = values.len() / d;
    let whole = Dataset::new(values, total, d, "batch").map(|mut data| {
        data.nan_is_missing = jobs.iter().any(|j| j.data.nan_is_missing);
        data
    });
    let out = whole
        .map_err(|e| Failure::new(500, e.to_string()))
        .and_then(|data| compute(op, loaded, &data, threads));
    match out {
        Err(f) => {
            for j in jobs {
                let _ = j.reply.send(Err(f.clone()));
            }
        }
        Ok(out) => {
            let mut start = 0;
            for (j, n) in jobs.into_iter().zip(counts) {
                let _ = j.reply.send(Ok(slice(&out, start, n)));
                start += n;
            }
        }
    }
}

/// The operation on one dataset.
fn compute(
    op: Op,
    loaded: &Loaded,
    data: &Dataset,
    threads: &autoencoder::Threads,
) -> Result<Output, Failure> {
    let model = &loaded.model;
    let bad = |e: autoencoder::Error| Failure::new(400, e.to_string());
    Ok(match op {
        Op::Score => {
            let s = anomaly::score_rows(model, data, None, threads).map_err(bad)?;
            let (threshold, flags) = match s.flags {
                Some((t, f)) => (Some(t), Some(f)),
                None => (None, None),
            };
            Output::Scores { kind: s.kind.to_string(), scores: s.scores, flags, threshold }
        }
        Op::Encode => Output::Codes {
            values: model.encode(data.as_slice(), threads).map_err(bad)?,
            width: model.code_dim(),
        },
        Op::Reconstruct => Output::Reconstructions {
            values: model.reconstruct(data.as_slice(), threads).map_err(bad)?,
            width: model.input_dim(),
        },
    })
}

/// Rows `start..start + n` of a batch's output.
fn slice(out: &Output, start: usize, n: usize) -> Output {
    match out {
        Output::Scores { kind, scores, flags, threshold } => Output::Scores {
            kind: kind.clone(),
            scores: scores[start..start + n].to_vec(),
            flags: flags.as_ref().map(|f| f[start..start + n].to_vec()),
            threshold: *threshold,
        },
        Output::Codes { values, width } => {
            Output::Codes { values: values[start * width..(start + n) * width].to_vec(), width: *width }
        }
        Output::Reconstructions { values, width } => Output::Reconstructions {
            values: values[start * width..(start + n) * width].to_vec(),
            width: *width,
        },
    }
}
