//! `ae serve`: an HTTP server over a model file. `POST /v1/score`, `/v1/encode` and
//! `/v1/reconstruct` take rows as JSON, CSV or NPY (answered in the same type) and run
//! them through the library, requests that arrive together in one forward pass
//! ([`batch`]); `GET /v1/model` (the model card), `/health`, `/metrics` (Prometheus)
//! and `/openapi.json` describe it.
//!
//! Limits keep a hostile client from hurting the others: a body size, rows per request,
//! a time per request (reading the body included), concurrent requests (past it, 503),
//! open connections, and the time to send a request's headers (a slow-loris client is
//! disconnected). Every refusal is a 4xx (or 503) with a JSON `{"error": …}` naming the
//! problem. `SIGTERM` or Ctrl-C stops accepting and lets the requests in flight finish
//! (up to `--drain`); `SIGHUP`, or a changed file with `--watch`, loads the model again
//! and swaps it in whole: a request runs on the old model or the new one, never a mix,
//! and a file that does not load leaves the old model serving.

mod batch;
mod body;
mod metrics;
mod openapi;
mod stall;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use autoencoder::anomaly::ScoreKind;
use autoencoder::train::{human_bytes, MemoryBudget};
use autoencoder::{file, Autoencoder, Error, Result, Threads};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use batch::{Batcher, Op};
use body::Media;

/// What `ae serve`'s flags set.
#[derive(Debug, Clone)]
pub struct Settings {
    pub model: PathBuf,
    pub host: String,
    pub port: u16,
    pub max_body: usize,
    pub max_rows: usize,
    pub timeout: Duration,
    pub header_timeout: Duration,
    /// `--max-concurrency`, when given ([`concurrency`] chooses otherwise).
    pub max_concurrency: Option<usize>,
    pub memory_budget: MemoryBudget,
    pub max_connections: usize,
    pub batch_wait: Duration,
    pub batch_rows: usize,
    pub threads: usize,
    pub watch: bool,
    pub drain: Duration,
}

/// A response takes at most this many times `--max-body-mb`'s bytes.
const RESPONSE_BODIES: usize = 2;

/// The most memory one request holds, in bodies of `--max-body-mb`: while it is read,
/// its body and its values (a text body's densest rows, `0,0,…`, are 2 bytes a value
/// read into 4: twice the body); while computed, its values, their copy in a batched
/// pass and its results (at most as many bytes as its response may take, twice the
/// body); while written out, its results and their text.
pub const REQUEST_HOLDS: u64 = 6;

/// The requests computed at once when `--max-concurrency` is not given, unless fewer
/// fit the memory budget.
pub const DEFAULT_CONCURRENCY: usize = 64;

/// The passes that may run at once: one per operation ([`Op::ALL`]), each from its
/// batcher.
pub const PASSES: u64 = Op::ALL.len() as u64;

/// The model's copies the budget keeps room for, each counted at its file's length (its
/// parameters and tables are held as they are stored): the model serving and, while a
/// reload reads the next, that file's bytes and the model made from them.
pub const MODEL_COPIES: u64 = 3;

/// What the server holds beside the requests for a model whose file takes `file` bytes
/// and whose passes `pass` each ([`Autoencoder::inference_bytes`]): [`MODEL_COPIES`]
/// copies and [`PASSES`] passes.
pub fn model_holds(file: u64, pass: u64) -> u64 {
    MODEL_COPIES.saturating_mul(file).saturating_add(PASSES.saturating_mul(pass))
}

/// The most rows one pass takes: a batch is closed once it holds `batch_rows` rows,
/// and the request that closes it holds at most `max_rows`.
pub fn pass_rows(batch_rows: usize, max_rows: usize) -> usize {
    batch_rows.saturating_sub(1).saturating_add(max_rows)
}

/// How many requests to compute at once within `budget`, less what the model holds,
/// [`model_holds`] of a file of `file` bytes and passes of at most `pass` bytes each
/// beside their rows and results ([`Autoencoder::inference_bytes`]): `asked`, or by
/// default [`DEFAULT_CONCURRENCY`] or as many as fit at [`REQUEST_HOLDS`] bodies of
/// `max_body` bytes each (the second of the pair says it was lowered). An error, naming
/// the flags, when the model alone takes the budget, when more requests are asked for
/// than fit, or when not one does.
pub fn concurrency(
    asked: Option<usize>,
    max_body: usize,
    budget: MemoryBudget,
    file: u64,
    pass: u64,
) -> Result<(usize, bool)> {
    let model = model_holds(file, pass);
    let Some(left) = budget.bytes().checked_sub(model).filter(|&left| left > 0) else {
        return Err(Error::config(
            "memory_budget",
            format!(
                "the model may hold {} at once beside the requests ({MODEL_COPIES} copies of its file of {}: the model serving, and while a reload reads the next, its file and the model made from it; and {PASSES} passes (score, encode, reconstruct: one at a time each) of {} each beside their rows: the layers' buffers and a slice of rows, --threads and --batch-rows + --max-rows decide), as much as the memory budget of {budget} or more; give a larger --memory-budget, or fewer --threads or rows",
                human_bytes(model),
                human_bytes(file),
                human_bytes(pass)
            ),
        ));
    };
    let each = REQUEST_HOLDS * max_body as u64;
    let fit = left / each;
    let (mb, held) = (max_body >> 20, human_bytes(each));
    let room =
        format!("the memory budget of {budget} less {} for the model and its passes", human_bytes(model));
    if fit == 0 {
        return Err(Error::config(
            "max_body_mb",
            format!("a request with a body of {mb} MiB may hold {held} (its body, its values, its results and their text), more than {room}; lower --max-body-mb"),
        ));
    }
    match asked {
        Some(n) if n as u64 > fit => Err(Error::config(
            "max_concurrency",
            format!(
                "{n} requests with bodies of up to {mb} MiB (--max-body-mb) may hold {} at once ({held} each: the body, its values, its results and their text), more than {room}; at most {fit} fit, or lower --max-body-mb",
                human_bytes(each * n as u64)
            ),
        )),
        Some(n) => Ok((n, false)),
        None => Ok(((fit as usize).min(DEFAULT_CONCURRENCY), fit < DEFAULT_CONCURRENCY as u64)),
    }
}

/// A refusal: an HTTP status and what was wrong.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u16,
    pub message: String,
}

/// The most bytes of an error message answered: a message that repeats a request's
/// text (a field a reader quotes) is cut, since an error answer is held outside the
/// requests' memory limit until its client reads it.
const MAX_MESSAGE: usize = 1024;

impl Failure {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_MESSAGE {
            let mut end = MAX_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str("… (cut)");
        }
        Failure { status, message }
    }

    fn response(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body =
            serde_json::to_vec(&serde_json::json!({ "error": self.message })).expect("JSON of a string");
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// A loaded model and where it came from.
pub struct Loaded {
    pub model: Autoencoder,
    /// The file's length, and the bytes of a pass of the model beside its rows.
    file: u64,
    pass: u64,
    sha256: String,
    loaded_at: u64,
    generation: u64,
    /// The file's length, modification time and inode when it was read (for `--watch`).
    stamp: Option<Stamp>,
}

type Stamp = (u64, Option<SystemTime>, u64);

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.len(), m.modified().ok(), ino))
}

/// The parts the batchers share with the handlers: the model of the moment, the
/// compute threads and the counters.
pub struct Core {
    path: PathBuf,
    model: RwLock<Arc<Loaded>>,
    /// Held while a reload runs (SIGHUP and `--watch` may ask at once), with the stamp
    /// of the last file that failed to load.
    reloading: std::sync::Mutex<Option<Stamp>>,
    pub threads: Threads,
    /// The most rows a pass takes.
    pass_rows: usize,
    /// The bytes the memory budget leaves beside the requests (those computed at once,
    /// [`REQUEST_HOLDS`] bodies each): the model, its passes and a reload's copies must
    /// fit them, or the reload is refused.
    room: u64,
    pub metrics: metrics::Metrics,
}

impl Core {
    /// The model serving now.
    pub fn current(&self) -> Arc<Loaded> {
        Arc::clone(&self.model.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Read the model file at `path` (at most [`file::MAX_MODEL_BYTES`]), with what a
    /// pass of it over `pass_rows` rows on `threads` holds.
    fn read(path: &std::path::Path, generation: u64, pass_rows: usize, threads: &Threads) -> Result<Loaded> {
        let before = stamp(path);
        let bytes = file::read_model_bytes(path)?;
        let model = file::from_bytes(&bytes, path)?;
        let sha256 = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let loaded_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let pass = model.inference_bytes(pass_rows, threads);
        Ok(Loaded { model, file: bytes.len() as u64, pass, sha256, loaded_at, generation, stamp: before })
    }

    /// Load the file again, when it is not the file loaded (its length, modification
    /// time or inode differ), and swap it in whole; on failure the old model stays.
    /// `retry`: try a file that failed to load before (SIGHUP does; `--watch` waits for
    /// it to change again). `Ok(None)`: nothing to do.
    ///
    /// While the next model is read and swapped in, the server holds the model serving,
    /// the next file's bytes and the model made from them, and each operation's pass
    /// of either model: `old + 2·next` file lengths and [`PASSES`] of the larger pass.
    /// A file whose length alone passes [`room`](Core::room) is refused unread; a model
    /// whose passes then would, once read.
    fn reload(&self, retry: bool) -> std::result::Result<Option<u64>, String> {
        let mut failed = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let now = stamp(&self.path);
        let current = self.current();
        if now == current.stamp || (!retry && now.is_some() && now == *failed) {
            return Ok(None);
        }
        let next = current.generation + 1;
        let need = |file: u64, pass: u64| {
            current.file.saturating_add(file.saturating_mul(2)).saturating_add(PASSES.saturating_mul(pass))
        };
        let refuse = |need: u64| {
            format!(
                "{}: while it is read and swapped in, the server would hold {} for the models and their passes (the model serving, this file and the model made from it, {PASSES} passes), more than the {} the memory budget leaves beside the requests; restart ae serve to serve it (a larger --memory-budget, or a lower --max-concurrency or --max-body-mb, leave more)",
                self.path.display(),
                human_bytes(need),
                human_bytes(self.room)
            )
        };
        let read = match now {
            Some((len, ..)) if need(len, current.pass) > self.room => Err(refuse(need(len, current.pass))),
            _ => Core::read(&self.path, next, self.pass_rows, &self.threads).map_err(|e| e.to_string()),
        }
        .and_then(|loaded| {
            let need = need(loaded.file, loaded.pass.max(current.pass));
            if need > self.room {
                return Err(refuse(need));
            }
            Ok(loaded)
        });
        match read {
            Ok(loaded) => {
                *self.model.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
                self.metrics.reload("ok");
                *failed = None;
                Ok(Some(next))
            }
            Err(e) => {
                self.metrics.reload("error");
                *failed = now;
                Err(e)
            }
        }
    }
}

/// The handlers' state.
struct App {
    core: Arc<Core>,
    settings: Settings,
    limiter: Arc<Semaphore>,
    /// Requests computed at once ([`concurrency`]).
    max_concurrency: usize,
    batchers: Vec<(Op, Batcher)>,
}

impl App {
    fn batcher(&self, op: Op) -> &Batcher {
        &self.batchers.iter().find(|(o, _)| *o == op).expect("a batcher per operation").1
    }
}

/// Serve until SIGTERM or Ctrl-C. Prints `listening on http://ADDR` on stderr once the
/// socket is bound.
pub fn run(settings: Settings) -> Result<()> {
    let threads = Threads::new(settings.threads);
    let pass_rows = pass_rows(settings.batch_rows, settings.max_rows);
    let loaded = Core::read(&settings.model, 1, pass_rows, &threads)?;
    let budget = settings.memory_budget;
    let (max_concurrency, lowered) =
        concurrency(settings.max_concurrency, settings.max_body, budget, loaded.file, loaded.pass)?;
    let note = lowered.then(|| {
        format!(
            "note: computing at most {max_concurrency} requests at once (--max-concurrency): {DEFAULT_CONCURRENCY} with bodies of {} MiB would pass the memory budget of {budget} less {} for the model and its passes",
            settings.max_body >> 20,
            human_bytes(model_holds(loaded.file, loaded.pass))
        )
    });
    let room =
        budget.bytes().saturating_sub(max_concurrency as u64 * REQUEST_HOLDS * settings.max_body as u64);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        // Parsing bodies and the forward passes: bounded, as the requests are.
        .max_blocking_threads(max_concurrency.clamp(1, 64) + 4)
        .enable_all()
        .build()
        .map_err(|e| Error::Data(format!("cannot start the server's runtime: {e}")))?;
    let core = Core {
        path: settings.model.clone(),
        model: RwLock::new(Arc::new(loaded)),
        reloading: std::sync::Mutex::new(None),
        threads,
        pass_rows,
        room,
        metrics: metrics::Metrics::default(),
    };
    rt.block_on(serve(settings, core, max_concurrency, note))
}

async fn serve(settings: Settings, core: Core, max_concurrency: usize, note: Option<String>) -> Result<()> {
    let describe = core.current().model.config().describe();
    let core = Arc::new(core);
    let batchers = Op::ALL
        .iter()
        .map(|&op| {
            let b = Batcher::spawn(
                op,
                Arc::clone(&core),
                max_concurrency,
                settings.batch_rows,
                settings.batch_wait,
            );
            (op, b)
        })
        .collect();
    let app = Arc::new(App {
        core: Arc::clone(&core),
        limiter: Arc::new(Semaphore::new(max_concurrency)),
        max_concurrency,
        settings: settings.clone(),
        batchers,
    });
    let router = Router::new()
        .route(Op::Score.path(), post(compute_at))
        .route(Op::Encode.path(), post(compute_at))
        .route(Op::Reconstruct.path(), post(compute_at))
        .route("/v1/model", get(model_card))
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi_json))
        .route("/", get(card_page))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(Arc::clone(&app));

    let addr = format!("{}:{}", settings.host, settings.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| Error::Data(format!("cannot listen on {addr}: {e}")))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| Error::Data(e.to_string()))?;
    eprintln!("serving {} ({describe}) on http://{local}", settings.model.display());
    if let Some(note) = &note {
        eprintln!("{note}");
    }

    spawn_reloads(Arc::clone(&core), settings.watch);
    let connections = Arc::new(Semaphore::new(settings.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&connections).acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut stop => break,
        };
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then accept again.
                    eprintln!("warning: accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let svc = hyper_util::service::TowerToHyperService::new(router.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(settings.header_timeout)
            .serve_connection(stall::Stall::new(TokioIo::new(stream), settings.timeout), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    let open = graceful.count();
    eprintln!(
        "stopping: no new connections; waiting for {open} open connection(s) to finish (at most {:?})",
        settings.drain
    );
    if tokio::time::timeout(settings.drain, graceful.shutdown()).await.is_err() {
        eprintln!("warning: connections still open after {:?}; stopping anyway", settings.drain);
    }
    eprintln!("stopped");
    Ok(())
}

/// Resolves at SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// SIGHUP reloads the model; with `watch`, so does a change of the file (checked twice a
/// second; a file that does not load is tried again only once it changes again). The
/// file that is loaded already is not read again.
fn spawn_reloads(core: Arc<Core>, watch: bool) {
    let reload = |core: Arc<Core>, why: &'static str, retry: bool| async move {
        let c = Arc::clone(&core);
        match tokio::task::spawn_blocking(move || c.reload(retry)).await {
            Ok(Ok(Some(g))) => eprintln!("reloaded {} ({why}): generation {g}", core.path.display()),
            Ok(Ok(None)) if retry => eprintln!("{} is the file loaded already ({why})", core.path.display()),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                eprintln!("warning: reloading ({why}) failed, the previous model keeps serving: {e}")
            }
            Err(e) => eprintln!("warning: reloading ({why}) failed: {e}"),
        }
    };
    #[cfg(unix)]
    {
        let core = Arc::clone(&core);
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
            while hup.recv().await.is_some() {
                reload(Arc::clone(&core), "SIGHUP", true).await;
            }
        });
    }
    if watch {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if stamp(&core.path).is_some() {
                    reload(Arc::clone(&core), "the file changed", false).await;
                }
            }
        });
    }
}

/// `POST` to a compute endpoint: the operation its path names ([`Op::path`]).
async fn compute_at(
    State(app): State<Arc<App>>,
    uri: axum::http::Uri,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // Only `Op::path`s are routed here.
    match Op::ALL.into_iter().find(|op| op.path() == uri.path()) {
        Some(op) => compute(app, op, q, headers, body).await,
        None => not_found(uri).await,
    }
}

/// A compute request: admitted under the concurrency limit, its body read (bounded in
/// size and, with the rest, in time), parsed on a blocking thread, batched, answered; it
/// leaves the limit once its response is written (`stall`).
/// The endpoints take no query parameters: one (say `?kind=elbo`) is refused rather than
/// ignored, as the body's unknown fields are, so that no one reads scores of another
/// kind than they asked for.
async fn compute(app: Arc<App>, op: Op, query: Option<String>, headers: HeaderMap, body: Body) -> Response {
    let start = Instant::now();
    let s = &app.settings;
    let result = match query.filter(|q| !q.is_empty()) {
        // Refused before a permit is taken: a query asks for nothing this server does.
        Some(q) => {
            let shown: String = q.chars().take(80).collect();
            let path = op.path();
            Err(Failure::new(
                400,
                format!("{path} takes no query parameters, got \"?{shown}\"; send the rows in the body (see GET /openapi.json)"),
            ))
        }
        None => match Arc::clone(&app.limiter).try_acquire_owned() {
            Err(_) => Err(Failure::new(
                503,
                format!("busy: {} requests are running (--max-concurrency); try again", app.max_concurrency),
            )),
            Ok(permit) => match tokio::time::timeout(s.timeout, answer(&app, op, &headers, body)).await {
                Ok(r) => r.map(|answer| (answer, permit)),
                Err(_) => Err(Failure::new(
                    408,
                    format!("the request took longer than {:?} (--timeout)", s.timeout),
                )),
            },
        },
    };
    let (response, status, rows) = match result {
        // The response keeps the permit until it is written (`stall`).
        Ok(((media, bytes, rows), permit)) => {
            let held = Body::new(stall::Held::new(bytes, permit));
            let r = ([(header::CONTENT_TYPE, media.content_type())], held).into_response();
            (r, 200, rows)
        }
        Err(f) => (f.response(), f.status, 0),
    };
    app.core.metrics.request(op.path(), status, rows, start.elapsed());
    response
}

async fn answer(
    app: &App,
    op: Op,
    headers: &HeaderMap,
    body: Body,
) -> std::result::Result<(Media, Vec<u8>, usize), Failure> {
    let s = &app.settings;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let (media, columnar) = Media::of_request(content_type)?;
    let csv = if media == Media::Csv { body::csv_options(content_type)? } else { Default::default() };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > s.max_body as u64) {
        return Err(too_large(s.max_body));
    }
    let reading = app.batcher(op).reading();
    let bytes = match http_body_util::Limited::new(body, s.max_body).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large(s.max_body)),
        Err(e) => return Err(Failure::new(400, format!("could not read the request body: {e}"))),
    };
    let loaded = app.core.current();
    let read_for = Arc::clone(&loaded);
    let out_width = match op {
        Op::Score => 1,
        Op::Encode => loaded.model.code_dim(),
        Op::Reconstruct => loaded.model.input_dim(),
    };
    let max_rows = s.max_rows;
    let data = tokio::task::spawn_blocking(move || {
        body::rows(&bytes, media, columnar, csv, &loaded.model, max_rows)
    })
    .await
    .map_err(|e| Failure::new(500, format!("reading the body failed: {e}")))??;
    let rows = data.rows();
    // A response takes at most twice the bytes a body may, however its values are
    // written: narrow rows through a wide code would otherwise make one far larger than
    // the body, and the memory of the requests in flight with it (`REQUEST_HOLDS`).
    let per_value = body::most_bytes_per_value(media, op == Op::Score);
    let most = RESPONSE_BODIES * s.max_body;
    let worst = rows.saturating_mul(out_width).saturating_mul(per_value);
    if worst > most {
        return Err(Failure::new(
            413,
            format!(
                "the response would hold {rows} rows of {out_width} values, up to {worst} bytes as {}, more than the {most} bytes a response may take (twice --max-body-mb); send at most {} rows",
                media.content_type(),
                most / (out_width * per_value).max(1)
            ),
        ));
    }
    let out = app.batcher(op).submit(data, read_for, reading).await?;
    // Written out on a blocking thread, under the request's permit: a response's text is
    // up to twice a body's bytes.
    let bytes = tokio::task::spawn_blocking(move || body::render(&out, media))
        .await
        .map_err(|e| Failure::new(500, format!("writing the response failed: {e}")))?;
    Ok((media, bytes, rows))
}

fn too_large(max: usize) -> Failure {
    Failure::new(413, format!("the body is larger than {max} bytes (--max-body-mb)"))
}

async fn model_card(State(app): State<Arc<App>>) -> Response {
    let start = Instant::now();
    let l = app.core.current();
    let m = &l.model;
    let score = ScoreKind::of(m);
    let card = serde_json::json!({
        "path": app.core.path.display().to_string(),
        "sha256": l.sha256,
        "loaded_at": l.loaded_at,
        "generation": l.generation,
        "architecture": m.config().describe(),
        "input_dim": m.input_dim(),
        "code_dim": m.code_dim(),
        "parameters": m.param_count(),
        "variational": m.config().variational,
        "image_shape": m.config().image_shape.map(|s| [s.channels, s.height, s.width]),
        "normalizer": m.normalizer().kind.to_string(),
        "fills_missing": m.normalizer().fills_missing(),
        "score": score.to_string(),
        "detector": m.detector.as_ref().map(|d| serde_json::json!({
            "score": d.score.to_string(),
            "rule": d.rule.to_string(),
            "threshold": d.threshold,
            "training_scores": d.training_scores,
        })),
        "training": m.training,
        "config": m.config(),
    });
    app.core.metrics.request("/v1/model", 200, 0, start.elapsed());
    axum::Json(card).into_response()
}

/// The model card page (`ae report`'s, without data) with a box that sends rows here.
async fn card_page(State(app): State<Arc<App>>) -> Response {
    let l = app.core.current();
    let name = app.core.path.file_name().map_or_else(|| "model".into(), |n| n.to_string_lossy().to_string());
    let html = crate::report::page(&l.model, &name, None, true);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

async fn health(State(app): State<Arc<App>>) -> Response {
    let g = app.core.current().generation;
    axum::Json(serde_json::json!({ "status": "ok", "generation": g })).into_response()
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    let text = app.core.metrics.render(app.core.current().generation);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn openapi_json(State(app): State<Arc<App>>) -> Response {
    axum::Json(openapi::document(&app.core.current().model, &app.settings)).into_response()
}

async fn not_found(uri: axum::http::Uri) -> Response {
    Failure::new(404, format!("no endpoint {}; see GET /openapi.json", uri.path())).response()
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    Failure::new(405, format!("{} {} is not served; see GET /openapi.json", method, uri.path())).response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The requests at once fit the budget, less the model's copies and passes, at
    /// `REQUEST_HOLDS` bodies each: by default 64 or fewer, and a count asked for beyond
    /// that, a body too large for one request, or a model that takes the whole budget,
    /// are refused naming the flag.
    #[test]
    fn requests_at_once_fit_the_memory_budget_less_the_model() {
        let mib = 1 << 20;
        let budget = |b: u64| MemoryBudget::new(b).unwrap();
        // 64 requests of 1 MiB bodies hold up to 384 MiB; three passes of 10 MiB, 30.
        assert_eq!(concurrency(None, mib, budget(384 * mib as u64), 0, 0).unwrap(), (64, false));
        assert_eq!(
            concurrency(None, mib, budget(414 * mib as u64), 0, 10 * mib as u64).unwrap(),
            (64, false)
        );
        assert_eq!(
            concurrency(None, mib, budget(414 * mib as u64 - 1), 0, 10 * mib as u64).unwrap(),
            (63, true)
        );
        assert_eq!(concurrency(None, 64 * mib, budget(12 << 30), 0, 0).unwrap(), (32, true));
        assert_eq!(concurrency(Some(32), 64 * mib, budget(12 << 30), 0, 0).unwrap(), (32, false));
        let e = concurrency(Some(33), 64 * mib, budget(12 << 30), 0, 0).unwrap_err().to_string();
        assert!(
            e.contains("max_concurrency") && e.contains("33 requests with bodies of up to 64 MiB"),
            "{e}"
        );
        assert!(e.contains("12.4 GiB at once (384.0 MiB each") && e.contains("at most 32 fit"), "{e}");
        let e = concurrency(Some(32), 64 * mib, budget(12 << 30), 0, mib as u64).unwrap_err().to_string();
        assert!(e.contains("less 3.0 MiB for the model and its passes; at most 31 fit"), "{e}");
        // A file of 2 MiB, three times, and three passes of 10 MiB: 36 MiB.
        assert_eq!(model_holds(2 * mib as u64, 10 * mib as u64), 36 * mib as u64);
        assert_eq!(
            concurrency(None, mib, budget(420 * mib as u64), 2 * mib as u64, 10 * mib as u64).unwrap(),
            (64, false)
        );
        assert_eq!(
            concurrency(None, mib, budget(420 * mib as u64 - 1), 2 * mib as u64, 10 * mib as u64).unwrap(),
            (63, true)
        );
        let e = concurrency(None, mib, budget(36 * mib as u64), 2 * mib as u64, 10 * mib as u64)
            .unwrap_err()
            .to_string();
        assert!(e.contains("36.0 MiB at once") && e.contains("3 copies of its file of 2.0 MiB"), "{e}");
        let e = concurrency(None, mib, budget(30 * mib as u64), 0, 10 * mib as u64).unwrap_err().to_string();
        assert!(
            e.contains("memory_budget") && e.contains("3 passes") && e.contains("30.0 MiB at once"),
            "{e}"
        );
        let e =
            concurrency(None, mib, budget(36 * mib as u64 - 1), 0, 10 * mib as u64).unwrap_err().to_string();
        assert!(e.contains("max_body_mb") && e.contains("less 30.0 MiB for the model and its passes"), "{e}");
        let e = concurrency(None, 64 * mib, budget(100 * mib as u64), 0, 0).unwrap_err().to_string();
        assert!(e.contains("max_body_mb") && e.contains("lower --max-body-mb"), "{e}");
    }
}
