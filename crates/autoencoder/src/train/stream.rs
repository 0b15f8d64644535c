//! Streamed training: the fit loop, the trimmed second pass and the model's completion
//! over data read a chunk at a time ([`ChunkedRows`]), shuffled a window of rows at a
//! time, in bounded memory.
//!
//! An epoch visits the training rows' pieces (chunks, cut to at most a window) in an
//! order drawn from the seed, a window at a time: the pieces of a window are read in
//! file order, their rows shuffled with the seed's row stream, and batches taken from
//! the windows one after the other (a batch may span two). When one window holds every
//! training row, the epoch is [`fit`](super::fit)'s, and so is every other step: the
//! normaliser ([`Moments`]), the validation rows (the last `validation_split`), the
//! trimmed rows, the threshold and the codec (exact order statistics by
//! [`select`](super::select)) — streamed training then writes the bytes in-memory
//! training writes.

use std::borrow::Cow;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::ops::Range;

use super::fit::{run, Feed, MemoryFeed, Rows};
use super::history::History;
use super::micro::Peers;
use super::observer::Observer;
use super::shard::{Layout, ValidationRows, WindowExchange};
use super::{FitOptions, TrainConfig};
use crate::codec::Codec;
use crate::data::chunks::ChunkedRows;
use crate::data::dataset::Dataset;
use crate::data::normalize::Moments;
use crate::error::{Error, Result};
use crate::kernels::Threads;
use crate::model::detector::{self, Detector, ScoreKind, ThresholdRule};
use crate::model::Autoencoder;
use crate::random::{self, Stream};
use crate::select;

/// Memory besides the window that streamed training reserves: the program, the model,
/// its optimizer and workspace, the scoring passes' batches, the reader's buffers, and
/// the order statistics' histograms and collected values.
const RESERVE: u64 = 128 << 20;

/// The rows of a window of streamed training on `data` within `budget` bytes: what is
/// left of the budget after 128 MiB (the program, the model and the passes' buffers)
/// and three copies of the largest part of a chunk read at a time
/// ([`ChunkedRows::largest_part`]: a whole chunk, or 8 MiB of an NPY file's rows; the
/// reader's arrays, the rows decoded from them, and a part being scored), in rows of
/// `data`'s width and their place in the window's order (8 bytes). An error, naming
/// the budget, when fewer than `batch` rows are left.
pub fn window_rows(data: &ChunkedRows, budget: u64, batch: usize) -> Result<usize> {
    let chunk = data.largest_part() as u64 * data.cols() as u64 * 4;
    let row = data.cols() as u64 * 4 + 8;
    let left = budget.saturating_sub(RESERVE).saturating_sub(chunk.saturating_mul(3));
    let rows = usize::try_from(left / row).unwrap_or(usize::MAX);
    if rows < batch.max(1) {
        return Err(Error::config(
            "memory_budget",
            format!(
                "{} cannot hold a window of {batch} rows besides three reads of {} rows of {} values ({} each) and {} for the model and the passes' buffers; give a larger budget, or write the data in smaller row groups",
                super::human_bytes(budget),
                data.largest_part(),
                data.cols(),
                super::human_bytes(chunk),
                super::human_bytes(RESERVE)
            ),
        ));
    }
    Ok(rows)
}

/// A sequence of rows of a [`ChunkedRows`], read chunk by chunk: every row, or those a
/// mask keeps (in order).
struct RowSet<'a> {
    data: &'a ChunkedRows,
    /// One bit per global row: kept or not; `None` keeps every row.
    mask: Option<Vec<u64>>,
    /// Each chunk's first row's index in the set.
    starts: Vec<u64>,
    len: u64,
    source: String,
}

/// Rows `range` (indices in the set) of one chunk.
#[derive(Debug, Clone)]
struct Piece {
    chunk: usize,
    range: Range<u64>,
}

impl<'a> RowSet<'a> {
    fn new(data: &'a ChunkedRows, mask: Option<Vec<u64>>, source: String) -> Self {
        let mut starts = Vec::with_capacity(data.chunks());
        let mut len = 0u64;
        for c in 0..data.chunks() {
            starts.push(len);
            let r = data.chunk_range(c);
            len += match &mask {
                None => r.end - r.start,
                Some(m) => r.clone().filter(|&g| bit(m, g)).count() as u64,
            };
        }
        RowSet { data, mask, starts, len, source }
    }

    fn chunk_set_range(&self, c: usize) -> Range<u64> {
        let end = self.starts.get(c + 1).copied().unwrap_or(self.len);
        self.starts[c]..end
    }

    /// The pieces of rows `range`, in order, each within one chunk and at most `max` rows.
    fn pieces(&self, range: Range<u64>, max: usize) -> Vec<Piece> {
        let mut out = Vec::new();
        for c in 0..self.data.chunks() {
            let r = self.chunk_set_range(c);
            let (a, b) = (r.start.max(range.start), r.end.min(range.end));
            let mut at = a;
            while at < b {
                let end = at.saturating_add(max.max(1) as u64).min(b);
                out.push(Piece { chunk: c, range: at..end });
                at = end;
            }
        }
        out
    }

    /// Append the rows of chunk `c` that lie in `range` (set indices) to `out`: every row
    /// read straight into `out` where the file allows ([`ChunkedRows::read_rows_into`]),
    /// and part of a chunk read alone; rows a mask keeps filtered from those read.
    fn append(&self, c: usize, range: Range<u64>, out: &mut Vec<f32>) -> Result<()> {
        let set = self.chunk_set_range(c);
        if range.is_empty() {
            return Ok(());
        }
        let first = self.data.chunk_range(c).start;
        let (a, b) = (range.start - set.start, range.end - set.start);
        let Some(m) = &self.mask else {
            return self.data.read_rows_into(first + a..first + b, out);
        };
        // The global rows of the chunk's kept rows `a..b`.
        let (start, end) = if range == set {
            (first, self.data.chunk_range(c).end)
        } else {
            let mut kept = self.data.chunk_range(c).filter(|&g| bit(m, g)).skip(a as usize);
            let start = kept.next().expect("the range is within the chunk's kept rows");
            let last = match b - a {
                1 => start,
                k => kept.nth(k as usize - 2).expect("the range is within the chunk's kept rows"),
            };
            (start, last + 1)
        };
        let d = if range == set { self.data.read(c)? } else { self.data.read_rows(start..end)? };
        for i in (0..d.rows()).filter(|&i| bit(m, start + i as u64)) {
            out.extend_from_slice(d.row(i));
        }
        Ok(())
    }

    /// Call `f` with the rows `range`, in order, a part of a chunk at a time (of an NPY
    /// file's, 8 MiB of values: [`ChunkedRows::part_rows`]).
    fn each(&self, range: Range<u64>, f: &mut dyn FnMut(&[f32]) -> Result<()>) -> Result<()> {
        let mut rows = Vec::new();
        for p in self.pieces(range, usize::MAX) {
            let step = self.data.part_rows(p.chunk).max(1) as u64;
            let mut at = p.range.start;
            while at < p.range.end {
                let end = at.saturating_add(step).min(p.range.end);
                rows.clear();
                self.append(p.chunk, at..end, &mut rows)?;
                f(&rows)?;
                at = end;
            }
        }
        Ok(())
    }
}

fn bit(mask: &[u64], g: u64) -> bool {
    mask[(g / 64) as usize] >> (g % 64) & 1 == 1
}

/// A batch being filled: rows copied into a dataset of `batch` rows.
struct Batch {
    rows: Dataset,
    ids: Vec<usize>,
    n: usize,
}

impl Batch {
    fn new(batch: usize, cols: usize) -> Result<Self> {
        Ok(Batch {
            rows: Dataset::new(vec![0.0; batch * cols], batch, cols, "a batch")?,
            ids: (0..batch).collect(),
            n: 0,
        })
    }

    /// Add `row`; true when the batch is full.
    fn push(&mut self, row: &[f32]) -> bool {
        let c = row.len();
        self.rows.as_mut_slice()[self.n * c..(self.n + 1) * c].copy_from_slice(row);
        self.n += 1;
        self.n == self.ids.len()
    }

    fn take(&mut self) -> (Rows<'_>, &[usize]) {
        let n = std::mem::take(&mut self.n);
        (Rows::refilled(&self.rows, (0, self.ids.len())), &self.ids[..n])
    }
}

/// Rows `range` of a [`RowSet`] fed to the fit loop a window at a time.
struct StreamFeed<'s, 'a> {
    set: &'s RowSet<'a>,
    range: Range<u64>,
    window_rows: usize,
    cols: usize,
    pieces: Vec<Piece>,
    /// The order of the pieces, drawn from the seed's `Windows` stream.
    piece_rng: random::ChaCha8Rng,
    /// The window's rows, and whether they are every row (one window, read once).
    window: Vec<f32>,
    resident: bool,
    /// The window's row order; with one window, kept from epoch to epoch as in memory.
    order: Vec<usize>,
    batch: Option<Batch>,
    /// With rows shared out among processes: the peers, and the exchange of each
    /// window's rows (the window holds this process's share).
    share: Option<(Box<dyn Peers>, WindowExchange)>,
}

impl<'s, 'a> StreamFeed<'s, 'a> {
    fn new(set: &'s RowSet<'a>, range: Range<u64>, window_rows: usize, seed: u64) -> Self {
        StreamFeed {
            set,
            pieces: set.pieces(range.clone(), window_rows),
            range,
            window_rows,
            cols: set.data.cols(),
            piece_rng: random::rng(seed, Stream::Windows),
            window: Vec::new(),
            resident: false,
            order: Vec::new(),
            batch: None,
            share: None,
        }
    }

    /// Read rows `held` (positions in the window's rows) of the window of `pieces` into
    /// the window's buffer.
    fn read_share(&mut self, pieces: &[usize], held: Range<usize>) -> Result<()> {
        self.window.clear();
        let mut at = 0usize;
        for &i in pieces {
            let p = &self.pieces[i];
            let len = (p.range.end - p.range.start) as usize;
            let (a, b) = (held.start.max(at), held.end.min(at + len));
            if a < b {
                let from = p.range.start + (a - at) as u64;
                self.set.append(p.chunk, from..from + (b - a) as u64, &mut self.window)?;
            }
            at += len;
        }
        Ok(())
    }

    /// [`Feed::epoch`] on rows shared out among processes: each process reads its share
    /// of every window, every process draws the same batches from the window's order,
    /// and each batch's rows are exchanged so that each process has those of its
    /// micro-batches (in their slots of the batch; the other slots are not read).
    fn epoch_shared(
        &mut self,
        batch: usize,
        mut shuffle: Option<&mut random::ChaCha8Rng>,
        step: &mut dyn FnMut(&Rows<'_>, &[usize]) -> Result<()>,
    ) -> Result<()> {
        self.batch(batch)?;
        let windows = self.windows(shuffle.is_some());
        let single = windows.len() == 1;
        let total = self.len();
        let (rank, size) = self.share.as_ref().map(|(p, _)| (p.rank(), p.size())).expect("a feed with peers");
        let need = (self.window_rows.min(total).div_ceil(size) + 1) * self.cols;
        if self.window.capacity() < need {
            self.window.reserve_exact(need - self.window.len());
        }
        // The rows of the batches before the one being taken.
        let mut done = 0usize;
        for w in windows {
            if !(single && self.resident) {
                let rows: usize =
                    w.iter().map(|&i| (self.pieces[i].range.end - self.pieces[i].range.start) as usize).sum();
                let (_, exchange) = self.share.as_mut().expect("a feed with peers");
                let held = exchange.window(rows, rank);
                self.read_share(&w, held)?;
                self.resident = single;
                self.order.clear();
                self.order.extend(0..rows);
            }
            if let Some(r) = shuffle.as_deref_mut() {
                random::shuffle(r, &mut self.order);
            }
            let (peers, exchange) = self.share.as_mut().expect("a feed with peers");
            let b = self.batch.as_mut().expect("made above");
            for &i in &self.order {
                let n = batch.min(total - done);
                if exchange.take(i) == n {
                    exchange.exchange(&mut **peers, &self.window, b.rows.as_mut_slice(), n)?;
                    b.n = n;
                    let (rows, ids) = b.take();
                    step(&rows, ids)?;
                    done += n;
                }
            }
            // The rows the batch took from this window, before the next is read.
            if exchange.pending() {
                exchange.exchange(
                    &mut **peers,
                    &self.window,
                    b.rows.as_mut_slice(),
                    batch.min(total - done),
                )?;
            }
        }
        Ok(())
    }

    fn batch(&mut self, batch: usize) -> Result<&mut Batch> {
        if self.batch.as_ref().is_none_or(|b| b.ids.len() != batch) {
            self.batch = Some(Batch::new(batch, self.cols)?);
        }
        Ok(self.batch.as_mut().expect("just made"))
    }

    /// The windows of an epoch: every piece, in windows of at most `window_rows` rows;
    /// with more than one, and `shuffle`, the pieces in an order drawn from the seed.
    fn windows(&mut self, shuffle: bool) -> Vec<Vec<usize>> {
        let single = self.len() <= self.window_rows;
        let mut ids: Vec<usize> = (0..self.pieces.len()).collect();
        if !single && shuffle {
            random::shuffle(&mut self.piece_rng, &mut ids);
        }
        let mut out: Vec<Vec<usize>> = Vec::new();
        let mut rows = usize::MAX;
        for i in ids {
            let n = (self.pieces[i].range.end - self.pieces[i].range.start) as usize;
            if rows.saturating_add(n) > self.window_rows {
                out.push(Vec::new());
                rows = 0;
            }
            out.last_mut().expect("pushed").push(i);
            rows += n;
        }
        // Each window's pieces are read in file order.
        out.iter_mut().for_each(|w| w.sort_unstable());
        out
    }
}

impl Feed for StreamFeed<'_, '_> {
    fn len(&self) -> usize {
        (self.range.end - self.range.start) as usize
    }

    fn source(&self) -> &str {
        &self.set.source
    }

    fn epoch(
        &mut self,
        batch: usize,
        mut shuffle: Option<&mut random::ChaCha8Rng>,
        step: &mut dyn FnMut(&Rows<'_>, &[usize]) -> Result<()>,
    ) -> Result<()> {
        if self.share.is_some() {
            return self.epoch_shared(batch, shuffle, step);
        }
        self.batch(batch)?;
        let windows = self.windows(shuffle.is_some());
        let single = windows.len() == 1;
        let cols = self.cols;
        // The window's buffer, allocated once at its size (grown by doubling, it could
        // take up to twice the budget).
        let need = self.window_rows.min(self.len()) * cols;
        if self.window.capacity() < need {
            self.window.reserve_exact(need - self.window.len());
        }
        for w in windows {
            if !(single && self.resident) {
                self.window.clear();
                for &i in &w {
                    let p = self.pieces[i].clone();
                    self.set.append(p.chunk, p.range, &mut self.window)?;
                }
                self.resident = single;
                self.order.clear();
                self.order.extend(0..self.window.len() / cols.max(1));
            }
            if let Some(r) = shuffle.as_deref_mut() {
                random::shuffle(r, &mut self.order);
            }
            let b = self.batch.as_mut().expect("made above");
            for &i in &self.order {
                if b.push(&self.window[i * cols..(i + 1) * cols]) {
                    let (rows, ids) = b.take();
                    step(&rows, ids)?;
                }
            }
        }
        let b = self.batch.as_mut().expect("made above");
        if b.n > 0 {
            let (rows, ids) = b.take();
            step(&rows, ids)?;
        }
        Ok(())
    }

    fn in_order(
        &mut self,
        batch: usize,
        rows: Range<usize>,
        f: &mut dyn FnMut(&Rows<'_>, Range<usize>) -> Result<()>,
    ) -> Result<()> {
        self.batch(batch)?;
        let (set, first) = (self.set, self.range.start);
        let b = self.batch.as_mut().expect("made above");
        let cols = self.cols;
        set.each(first + rows.start as u64..first + rows.end as u64, &mut |rows| {
            for row in rows.chunks_exact(cols) {
                if b.push(row) {
                    let (rows, ids) = b.take();
                    f(&rows, 0..ids.len())?;
                }
            }
            Ok(())
        })?;
        if b.n > 0 {
            let (rows, ids) = b.take();
            f(&rows, 0..ids.len())?;
        }
        Ok(())
    }

    fn order(&mut self) -> Option<&mut [usize]> {
        None
    }
}

/// [`fit_with`](super::fit_with) on rows read a chunk at a time, in windows of at most
/// `window_rows` rows ([`window_rows`]), then the model completed as
/// [`finish`](super::finish) completes it (the codec; with `threshold`, the detector).
/// With a `validation` set it validates on it (held in memory); else on the last
/// `validation_split` of the rows. Checkpoints are not written.
///
/// The same seed and threads give the same bits; when `window_rows` holds every
/// training row, they are the bits of [`fit_with`](super::fit_with) and
/// [`finish`](super::finish) on the rows read whole. Memory: the window, one chunk, and
/// the model (with `trim`, one bit per row besides).
///
/// With `peers` (and [`TrainConfig::micro_batch`] > 0), every process streams every
/// row, in the same windows, and computes its share of each batch's micro-batches, as
/// [`FitOptions::peers`](super::FitOptions::peers) shares them in memory: every process
/// ends with the bits of one process without peers. With `trim`, both passes are
/// shared; the completion runs in each process. Each process reads and measures only
/// an even share of the held-out validation batches, whose sums are gathered and added
/// in order ([`FitOptions::peers`](super::FitOptions::peers)).
#[allow(clippy::too_many_arguments)]
pub fn fit_streamed(
    model: &mut Autoencoder,
    data: &ChunkedRows,
    validation: Option<&Dataset>,
    config: &TrainConfig,
    threshold: Option<ThresholdRule>,
    window_rows: usize,
    threads: &Threads,
    observer: &mut dyn Observer,
    peers: Option<Box<dyn Peers>>,
) -> Result<History> {
    let args = (validation.map(ValidationRows::Whole), config, threshold, window_rows);
    fit_streamed_in(model, data, args, threads, observer, peers.map(|p| (p, false)))
}

/// [`fit_streamed`] with the rows shared out among `peers`: every process takes the same
/// windows, but reads only its share of each (an even split of the window's rows, in
/// rank order) and of the training rows the normaliser is fitted on; each batch's rows
/// reach the processes whose micro-batches take them (an all-to-all). `window_rows` is
/// the window of all the processes together, so each holds about
/// `window_rows / peers.size()` rows of it. Every process ends with the bits of one
/// process streaming the same windows alone ([`fit_streamed`] without peers).
///
/// The passes after training are shared too. With `trim`, each process scores (and
/// spills) an even share of the rows after the first pass (and sums the standardized
/// score's errors), the rows kept are chosen across the processes, and each process's
/// bits of the mask of kept rows are gathered, so every process keeps the same rows.
/// The codec's codes and a `threshold`'s scores are computed and spilled by each process
/// for an even share of the rows, and the codec and detector fitted across the
/// processes ([`Parts`](crate::select::Parts)): every process ends with the bits of
/// one. So is the validation loss, as with [`fit_streamed`]'s peers; a `validation` set
/// is held whole by each process, or shared out as the rows are
/// ([`ValidationRows::Shared`]), each process then receiving the rows of the validation
/// batches it measures (none sent when each holds its
/// [`validation_part`](super::validation_part)).
#[allow(clippy::too_many_arguments)]
pub fn fit_streamed_sharded(
    model: &mut Autoencoder,
    data: &ChunkedRows,
    validation: Option<ValidationRows<'_>>,
    config: &TrainConfig,
    threshold: Option<ThresholdRule>,
    window_rows: usize,
    threads: &Threads,
    observer: &mut dyn Observer,
    peers: Box<dyn Peers>,
) -> Result<History> {
    let args = (validation, config, threshold, window_rows);
    fit_streamed_in(model, data, args, threads, observer, Some((peers, true)))
}

/// [`fit_streamed`] and [`fit_streamed_sharded`]: `peers`, and whether they share the
/// rows out.
pub(crate) fn fit_streamed_in(
    model: &mut Autoencoder,
    data: &ChunkedRows,
    (validation, config, threshold, window_rows): (
        Option<ValidationRows<'_>>,
        &TrainConfig,
        Option<ThresholdRule>,
        usize,
    ),
    threads: &Threads,
    observer: &mut dyn Observer,
    peers: Option<(Box<dyn Peers>, bool)>,
) -> Result<History> {
    let (peers, shard) = match peers {
        Some((p, shard)) => (Some(p), shard),
        None => (None, false),
    };
    config.check()?;
    if window_rows == 0 {
        return Err(Error::config("memory_budget", "a window of 0 rows holds nothing"));
    }
    if peers.is_some() && config.micro_batch == 0 {
        return Err(super::micro::without_micro_batches());
    }
    model.check_width(data.cols(), &data.source)?;
    let all = RowSet::new(data, None, data.source.clone());
    // With peers, the passes share each batch's micro-batches, one handle each; shared
    // out, the passes after them share the rows they score and encode.
    let shared = peers.map(super::SharedPeers::new);
    let helpers = || shared.as_ref().filter(|_| shard).map(super::SharedPeers::handle);
    let history = if config.trim == 0.0 {
        let peers = shared.as_ref().map(super::SharedPeers::handle);
        fit_pass(model, &all, validation, config, window_rows, threads, observer, (1, 1), peers, shard)?
    } else {
        super::fit::trimmed(
            model,
            config,
            false,
            |first| {
                let (mask, kept) = lowest_scoring(first, data, config.trim, threads, helpers())?;
                Ok(RowSet::new(data, Some(mask), super::fit::trimmed_source(&data.source, kept, data.rows())))
            },
            |m, rows, c, pass| {
                let peers = shared.as_ref().map(super::SharedPeers::handle);
                fit_pass(
                    m,
                    rows.as_ref().unwrap_or(&all),
                    validation,
                    c,
                    window_rows,
                    threads,
                    observer,
                    pass,
                    peers,
                    shard,
                )
            },
        )?
    };
    finish(model, data, threshold, threads, helpers())?;
    Ok(history)
}

/// One pass of streamed training: split, fit the normaliser, check the targets, run
/// (with `peers`, each process its share of every batch's micro-batches; with `shard`
/// too, each reads its share of every window and of the normaliser's rows).
#[allow(clippy::too_many_arguments)]
fn fit_pass(
    model: &mut Autoencoder,
    set: &RowSet<'_>,
    validation: Option<ValidationRows<'_>>,
    config: &TrainConfig,
    window_rows: usize,
    threads: &Threads,
    observer: &mut dyn Observer,
    pass: (usize, usize),
    peers: Option<Box<dyn Peers>>,
    shard: bool,
) -> Result<History> {
    let n = set.len;
    let n_train = match validation {
        Some(v) => {
            model.check_training_data(v.rows())?;
            n
        }
        None => split(n, config.validation_split)?,
    };
    if n_train == 0 {
        return Err(Error::Data(format!("{}: no training rows", set.source)));
    }
    // Shared out, the feed exchanges rows with one handle and the steps sum with another.
    let (peers, mut feed_peers) = match peers {
        Some(p) if shard => {
            let shared = super::SharedPeers::new(p);
            (Some(shared.handle()), Some(shared.handle()))
        }
        p => (p, None),
    };
    // Shared out, each process reads an even share of the rows for the passes below.
    let mine = match &feed_peers {
        Some(p) => {
            let r = super::shard_rows(usize::try_from(n).unwrap_or(usize::MAX), p.rank(), p.size());
            r.start as u64..r.end as u64
        }
        None => 0..n,
    };
    let (missing, cols) = (set.data.nan_is_missing(), set.data.cols());
    if super::fit::fits_normalizer(model, missing) {
        let mut m = match feed_peers.as_deref_mut() {
            Some(p) => {
                let layout = Layout::even(n as usize, p.size());
                let mut each = |r: Range<usize>, f: &mut dyn FnMut(&[f32]) -> Result<()>| {
                    set.each(r.start as u64..r.end as u64, f)
                };
                super::shard::moments_of_all(p, &layout, n_train as usize, cols, &mut each)?
            }
            None => {
                let mut m = Moments::new(cols);
                set.each(0..n_train, &mut |rows| {
                    m.push(rows);
                    Ok(())
                })?;
                m
            }
        };
        let kind = model.config().normalize;
        model.set_normalizer(m.fitted(kind, missing, set.data.feature_names(), &set.source)?)?;
    }
    if config.checks_targets() {
        let (norm, d) = (model.normalizer(), model.input_dim());
        let mut buf = Vec::new();
        set.each(mine, &mut |rows| {
            buf.resize(rows.len(), 0.0);
            norm.apply(rows, &mut buf);
            config.check_targets(&buf, d, &format!("{} (after normalising)", set.source))
        })?;
    }
    // A validation set is held in memory: whole, or shared out as the rows are, each
    // process receiving the rows of the validation batches it measures, numbered among
    // them.
    let (measured, numbered) = match (validation, feed_peers.as_deref_mut()) {
        (Some(ValidationRows::Shared { rows, total }), Some(p)) => {
            let layout = super::shard::validation_layout(p, rows, total)?;
            let batch = config.batch_size.min(n_train as usize);
            let (m, first) = super::shard::measured_rows(p, &layout, rows, 0..total, batch)?;
            (Some(m), Some((total, first)))
        }
        (Some(ValidationRows::Shared { .. }), None) => {
            return Err(Error::config(
                "validation",
                "a validation set is shared out only among processes that share the rows out",
            ))
        }
        (Some(ValidationRows::Whole(v)), _) => (Some(Cow::Borrowed(v)), None),
        (None, _) => (None, None),
    };
    let mut train = StreamFeed::new(set, 0..n_train, window_rows, config.seed);
    if let Some(p) = feed_peers {
        let batch = config.batch_size.min(n_train as usize);
        let size = p.size();
        train.share = Some((p, WindowExchange::new(size, cols, config.micro_batch, batch)));
    }
    threads.install(|| {
        // A validation set is held in memory; else the last rows are streamed in order.
        let mut memory = measured.as_deref().map(|v| {
            let rows = Rows::new(v, (0, v.rows()));
            match numbered {
                Some((n, first)) => MemoryFeed::part(rows, n, first),
                None => MemoryFeed::new(rows),
            }
        });
        let mut held_out = (validation.is_none() && n_train < n)
            .then(|| StreamFeed::new(set, n_train..n, window_rows, config.seed));
        let val = match (&mut memory, &mut held_out) {
            (Some(m), _) => Some(m as &mut dyn Feed),
            (None, Some(h)) => Some(h as &mut dyn Feed),
            (None, None) => None,
        };
        let options = FitOptions { peers, ..FitOptions::default() };
        run(model, &mut train, val, config, threads, observer, options, None, pass, None)
    })
}

/// The training rows of `n` when the last `fraction` are held out, as
/// [`Dataset::split_validation`] splits.
fn split(n: u64, fraction: f64) -> Result<u64> {
    let n = usize::try_from(n)
        .map_err(|_| Error::Data(format!("{n} rows are more than this machine can count")))?;
    Ok(crate::data::dataset::split_rows(n, fraction)?.0.end as u64)
}

/// The feature scales of score `kind` fitted on every row of `data` (empty but for
/// `standardized`): the errors' sums added a part of a chunk at a time
/// ([`ChunkedRows::parts`]), in order, so the bits of [`detector::feature_scales`] on the
/// rows whole. With `helpers`, each process sums its share of every part (an even split)
/// from its first row, and the parts are gathered
/// and joined in order, as [`ErrorSums::join`](detector::ErrorSums::join) allows.
fn streamed_scales(
    model: &Autoencoder,
    data: &ChunkedRows,
    kind: ScoreKind,
    threads: &Threads,
    mut helpers: Option<&mut dyn Peers>,
) -> Result<Vec<f32>> {
    if kind != ScoreKind::Standardized {
        return Ok(Vec::new());
    }
    let d = model.input_dim();
    let mut sums = detector::ErrorSums::new(d);
    for (c, part) in data.parts(0..data.rows()) {
        let Some(peers) = helpers.as_deref_mut() else {
            let rows = data.read_part(c, part)?;
            sums.add(model, &rows, threads)?;
            continue;
        };
        let share = share_of(&part, peers.rank(), peers.size());
        let mut mine = detector::ErrorSums::starting_at(d, share.start);
        mine.add(model, &data.read_rows(share)?, threads)?;
        super::shard::join_gathered(peers, &mine, &mut sums)?;
    }
    Ok(sums.scales())
}

/// The peers of `helpers`, lent to one pass.
fn lend(helpers: &mut Option<Box<dyn Peers>>) -> Option<&mut dyn Peers> {
    helpers.as_mut().map(|p| &mut **p as &mut dyn Peers)
}

/// Process `rank`'s share of rows `part` (global indices) among `size`: an even split in
/// rank order ([`shard_rows`](super::shard_rows)).
fn share_of(part: &Range<u64>, rank: usize, size: usize) -> Range<u64> {
    let s = super::shard_rows((part.end - part.start) as usize, rank, size);
    part.start + s.start as u64..part.start + s.end as u64
}

/// `put` with `f` of rows `rows` of `data` (global indices), a part of a chunk at a
/// time ([`ChunkedRows::parts`]), in order.
fn each_chunk<T>(
    data: &ChunkedRows,
    rows: Range<u64>,
    f: &mut dyn FnMut(&Dataset) -> Result<Vec<T>>,
    put: &mut dyn FnMut(&[T]) -> Result<()>,
) -> Result<()> {
    for (c, part) in data.parts(rows) {
        put(&f(&data.read_part(c, part)?)?)?;
    }
    Ok(())
}

/// Values of a pass kept on disk (a temporary file, removed when dropped), so that the
/// passes after the first read them back instead of computing them again.
struct Spill {
    file: std::fs::File,
    values: u64,
}

impl Spill {
    fn new() -> Result<Self> {
        let file =
            tempfile::tempfile().map_err(|e| Error::Data(format!("cannot make a temporary file: {e}")))?;
        Ok(Spill { file, values: 0 })
    }

    /// Fill the spill from `make`, which calls its argument with the values in order.
    fn fill<T: Word>(
        &mut self,
        make: impl FnOnce(&mut dyn FnMut(&[T]) -> Result<()>) -> Result<()>,
    ) -> Result<()> {
        let io = |e: std::io::Error| Error::Data(format!("cannot write a temporary file: {e}"));
        let mut w = BufWriter::with_capacity(1 << 20, &self.file);
        let mut values = 0u64;
        let mut bytes = Vec::new();
        make(&mut |vs: &[T]| {
            bytes.clear();
            vs.iter().for_each(|v| v.put(&mut bytes));
            values += vs.len() as u64;
            w.write_all(&bytes).map_err(io)
        })?;
        w.flush().map_err(io)?;
        drop(w);
        self.values = values;
        Ok(())
    }

    /// Call `f` with the values, in order, a block of whole rows of `width` at a time.
    fn read<T: Word>(&self, width: usize, f: &mut dyn FnMut(&[T]) -> Result<()>) -> Result<()> {
        let io = |e: std::io::Error| Error::Data(format!("cannot read a temporary file: {e}"));
        let mut file = &self.file;
        file.rewind().map_err(io)?;
        let mut r = BufReader::with_capacity(1 << 20, file);
        let mut left = self.values;
        let block = 8192usize.div_ceil(width.max(1)) * width.max(1);
        let mut bytes = vec![0u8; block * T::SIZE];
        let mut vals = Vec::with_capacity(block);
        while left > 0 {
            let n = left.min(block as u64) as usize;
            r.read_exact(&mut bytes[..n * T::SIZE]).map_err(io)?;
            vals.clear();
            vals.extend(bytes[..n * T::SIZE].chunks_exact(T::SIZE).map(T::get));
            f(&vals)?;
            left -= n as u64;
        }
        Ok(())
    }
}

/// A value a [`Spill`] keeps, little-endian.
trait Word: Copy {
    const SIZE: usize;
    fn put(&self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
}

impl Word for f64 {
    const SIZE: usize = 8;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        f64::from_le_bytes(b.try_into().expect("8 bytes"))
    }
}

impl Word for f32 {
    const SIZE: usize = 4;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(b: &[u8]) -> Self {
        f32::from_le_bytes(b.try_into().expect("4 bytes"))
    }
}

/// The scores of `kind` (with `scales`, [`streamed_scales`]) of rows `rows` of `data`,
/// in order, into a spill.
fn spill_scores(
    model: &Autoencoder,
    data: &ChunkedRows,
    rows: Range<u64>,
    (kind, scales): (ScoreKind, &[f32]),
    threads: &Threads,
) -> Result<Spill> {
    let mut spill = Spill::new()?;
    spill.fill::<f64>(|put| {
        let mut score = |d: &Dataset| detector::scores(model, d, kind, scales, threads);
        each_chunk(data, rows, &mut score, put)
    })?;
    Ok(spill)
}

/// The rows [`detector::lowest_scoring`] keeps, as a mask over the rows of `data`, and
/// how many: the `⌈(1 − trim)·n⌉` lowest scores, ties to the earlier row. With
/// `helpers`, each process scores and spills only an even share of the rows, the rows
/// kept are chosen across the processes ([`select::lowest_in_parts`]) and the shares'
/// masks gathered: every process ends with the mask of one.
fn lowest_scoring(
    model: &Autoencoder,
    data: &ChunkedRows,
    trim: f64,
    threads: &Threads,
    mut helpers: Option<Box<dyn Peers>>,
) -> Result<(Vec<u64>, u64)> {
    let kind = ScoreKind::default_for(model);
    let n = data.rows();
    let keep = detector::trim_keep(n as usize, trim) as u64;
    let words = n.div_ceil(64) as usize;
    if keep >= n {
        return Ok((vec![u64::MAX; words], n));
    }
    let mut mask = vec![0u64; words];
    if keep == 0 {
        return Ok((mask, 0));
    }
    let scales = streamed_scales(model, data, kind, threads, lend(&mut helpers))?;
    let mine = mine_of(0..n, helpers.as_deref());
    let spill = spill_scores(model, data, mine.clone(), (kind, &scales), threads)?;
    let read = |f: &mut dyn FnMut(f64)| {
        spill.read::<f64>(1, &mut |s| {
            s.iter().for_each(|&v| f(v));
            Ok(())
        })
    };
    let (mut whole, mut peers) = (select::Whole, lend(&mut helpers).map(super::shard::PeerParts));
    select::lowest_in_parts(keep, read, parts_of(&mut whole, &mut peers), |i| {
        let g = mine.start + i;
        mask[(g / 64) as usize] |= 1 << (g % 64);
    })?;
    if let Some(p) = lend(&mut helpers) {
        join_masks(p, &mut mask, n)?;
    }
    Ok((mask, keep))
}

/// Every process's bits of `mask` (of `n` rows; each process's only within its share,
/// [`mine_of`]) in every process's: each sends the words its share spans, as 32-bit
/// halves (exact in `f64`), and every process ORs them in.
fn join_masks(peers: &mut dyn Peers, mask: &mut [u64], n: u64) -> Result<()> {
    let size = peers.size();
    let span = |q: usize| {
        let r = share_of(&(0..n), q, size);
        if r.is_empty() {
            0..0
        } else {
            (r.start / 64) as usize..((r.end - 1) / 64 + 1) as usize
        }
    };
    let mine: Vec<f64> =
        mask[span(peers.rank())].iter().flat_map(|&w| [(w & 0xffff_ffff) as f64, (w >> 32) as f64]).collect();
    let counts: Vec<usize> = (0..size).map(|q| 2 * span(q).len()).collect();
    let mut all = vec![0.0f64; counts.iter().sum()];
    peers.all_gather_f64(&mine, &counts, &mut all)?;
    let mut from = all.chunks_exact(2);
    for q in 0..size {
        for (w, half) in mask[span(q)].iter_mut().zip(from.by_ref()) {
            *w |= half[0] as u64 | (half[1] as u64) << 32;
        }
    }
    Ok(())
}

/// [`finish`](super::finish) on streamed rows: the codec from the codes of the first
/// `training.rows.0` rows, and with `threshold` the detector on every row's score. With
/// `helpers`, each process encodes and scores an even share of the rows and spills only
/// those, and the fits run across the processes ([`PeerParts`](super::shard::PeerParts)):
/// every process fits the bits of one.
fn finish(
    model: &mut Autoencoder,
    data: &ChunkedRows,
    threshold: Option<ThresholdRule>,
    threads: &Threads,
    mut helpers: Option<Box<dyn Peers>>,
) -> Result<()> {
    let k = model.code_dim();
    if Codec::supports(k) {
        let train_rows = model.training.as_ref().map_or(data.rows(), |t| t.rows.0 as u64).min(data.rows());
        model.codec = Some(fit_codec(model, data, train_rows, threads, lend(&mut helpers))?);
    }
    if let Some(rule) = threshold {
        let kind = ScoreKind::default_for(model);
        let scales = streamed_scales(model, data, kind, threads, lend(&mut helpers))?;
        let mine = mine_of(0..data.rows(), helpers.as_deref());
        let spill = spill_scores(model, data, mine, (kind, &scales), threads)?;
        let read = |f: &mut dyn FnMut(&[f64]) -> Result<()>| spill.read::<f64>(1, f);
        let (mut whole, mut peers) = (select::Whole, lend(&mut helpers).map(super::shard::PeerParts));
        let parts = parts_of(&mut whole, &mut peers);
        model.detector = Some(Detector::fit_passes_in_parts(model, kind, scales, rule, read, parts)?);
    }
    Ok(())
}

/// The [`Parts`](select::Parts) of the values of the passes after training: those of the
/// processes sharing them, or the one process's.
fn parts_of<'p>(
    whole: &'p mut select::Whole,
    peers: &'p mut Option<super::shard::PeerParts<'_>>,
) -> &'p mut dyn select::Parts {
    match peers {
        Some(p) => p,
        None => whole,
    }
}

/// This process's even share of `rows` among `helpers` (all of them without).
fn mine_of(rows: Range<u64>, helpers: Option<&dyn Peers>) -> Range<u64> {
    match helpers {
        Some(p) => share_of(&rows, p.rank(), p.size()),
        None => rows,
    }
}

/// [`Codec::fit`] on the codes of rows `0..rows` of `data` (with `helpers`, each process
/// encoding and spilling an even share of them, the fit run across the processes).
fn fit_codec(
    model: &Autoencoder,
    data: &ChunkedRows,
    rows: u64,
    threads: &Threads,
    helpers: Option<&mut dyn Peers>,
) -> Result<Codec> {
    let k = model.code_dim();
    if rows == 0 {
        return Err(Error::Data(format!("codec: {}: no training rows to fit it on", data.source)));
    }
    let mine = mine_of(0..rows, helpers.as_deref());
    let mut spill = Spill::new()?;
    let mut done = mine.start * k as u64;
    spill.fill::<f32>(|put| {
        let mut encode = |d: &Dataset| model.encode(d.as_slice(), threads);
        each_chunk(data, mine, &mut encode, &mut |codes| {
            Codec::check_finite(codes, done)?;
            done += codes.len() as u64;
            put(codes)
        })
    })?;
    let read = |f: &mut dyn FnMut(&[f32]) -> Result<()>| spill.read::<f32>(k, f);
    let (mut whole, mut peers) = (select::Whole, helpers.map(super::shard::PeerParts));
    super::finish::codec_in_parts(k, rows, read, parts_of(&mut whole, &mut peers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::normalize::NormalizeKind;
    use crate::data::open::LoadOptions;
    use crate::data::{npy, shards};
    use crate::train::{finish as finish_in_memory, fit_with, NoObserver};
    use crate::ModelConfig;
    use std::path::{Path, PathBuf};

    /// `rows` rows of 5 correlated features from a seeded generator, every 40th row
    /// shifted far off (an anomaly), written as NPY shards of `per` rows into `dir`.
    fn shards_of(dir: &Path, rows: usize, per: usize) -> PathBuf {
        let mut rng = random::rng(7, Stream::Sample);
        let mut x = Vec::with_capacity(rows * 5);
        for i in 0..rows {
            let (a, b) = (random::normal(&mut rng), random::normal(&mut rng));
            let shift = if i % 40 == 17 { 6.0 } else { 0.0 };
            for v in [a, b, a + b, a - 0.5 * b + shift, 3.0 + 2.0 * a] {
                x.push((v + 0.1 * random::normal(&mut rng)) as f32);
            }
        }
        for (k, part) in x.chunks(per * 5).enumerate() {
            npy::write(&dir.join(format!("part-{k:03}.npy")), part, part.len() / 5, 5).unwrap();
        }
        dir.to_path_buf()
    }

    fn in_memory(
        data: &Dataset,
        model: &ModelConfig,
        training: &TrainConfig,
        rule: Option<ThresholdRule>,
    ) -> Autoencoder {
        let threads = Threads::new(1);
        let mut m = Autoencoder::new(model.clone(), training.seed).unwrap();
        fit_with(&mut m, data, None, training, &threads, &mut NoObserver, FitOptions::default()).unwrap();
        finish_in_memory(&mut m, data, rule, &threads).unwrap();
        m
    }

    /// The same model file, each part compared first for a short message.
    fn same_model(a: &Autoencoder, b: &Autoencoder) {
        assert_eq!(a.normalizer(), b.normalizer());
        assert_eq!(a.training, b.training);
        assert!(a.params() == b.params(), "the weights differ");
        assert_eq!(a.detector, b.detector);
        assert_eq!(a.codec.as_ref().map(|c| (&c.lo, &c.hi)), b.codec.as_ref().map(|c| (&c.lo, &c.hi)));
        assert!(a.codec == b.codec, "the codecs' histograms differ");
        assert!(crate::file::to_bytes(a).unwrap() == crate::file::to_bytes(b).unwrap(), "the files differ");
    }

    fn streamed(
        data: &ChunkedRows,
        model: &ModelConfig,
        training: &TrainConfig,
        rule: Option<ThresholdRule>,
        window: usize,
    ) -> Autoencoder {
        let threads = Threads::new(1);
        let mut m = Autoencoder::new(model.clone(), training.seed).unwrap();
        fit_streamed(&mut m, data, None, training, rule, window, &threads, &mut NoObserver, None).unwrap();
        m
    }

    /// With a window that holds every row, streamed training writes the bytes of
    /// in-memory training and completion: the tabular preset (a validation split, two
    /// passes with the trimmed rows, early stopping, the detector's quantile, the codec)
    /// a denoising model with min-max features and a sigma threshold, and the same
    /// trimmed and thresholded by the standardized score, on 7 shards of uneven size
    /// (NPY files, read 204 rows at a time in tests: 64 chunks).
    #[test]
    fn one_window_gives_the_bytes_of_training_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = shards_of(dir.path(), 12000, 1700);
        let opts = LoadOptions::default();
        let whole = shards::load(std::slice::from_ref(&path), &opts).unwrap();
        let chunked = ChunkedRows::open(std::slice::from_ref(&path), &opts).unwrap();
        assert_eq!(
            (chunked.rows(), chunked.chunks(), chunked.source.as_str()),
            (12000, 64, whole.source.as_str())
        );
        let (model, mut training) = crate::anomaly::tabular_defaults(5);
        training.epochs = 3;
        training.min_steps = 40;
        let rule = Some(ThresholdRule::Contamination(0.05));
        let a = in_memory(&whole, &model, &training, rule);
        let b = streamed(&chunked, &model, &training, rule, 12000);
        assert!(a.detector.is_some() && a.codec.is_some());
        same_model(&a, &b);

        let model = ModelConfig {
            input_dim: 5,
            layers: vec![4, 2],
            normalize: NormalizeKind::MinMax,
            ..ModelConfig::default()
        };
        let training = TrainConfig {
            epochs: 2,
            batch_size: 48,
            validation_split: 0.2,
            noise: Some(crate::train::Corruption::Gaussian { sigma: 0.1, clip: false }),
            seed: 5,
            ..TrainConfig::default()
        };
        let rule = Some(ThresholdRule::Sigma(2.0));
        let a = in_memory(&whole, &model, &training, rule);
        let b = streamed(&chunked, &model, &training, rule, 50000);
        same_model(&a, &b);

        // The standardized score, for the trimmed pass and the threshold: its feature
        // scales from error sums added a chunk at a time.
        let model = ModelConfig { score: Some(ScoreKind::Standardized), ..model };
        let training = TrainConfig { trim: 0.2, ..training };
        let a = in_memory(&whole, &model, &training, rule);
        let b = streamed(&chunked, &model, &training, rule, 50000);
        assert_eq!(a.detector.as_ref().map(|d| d.feature_scale.len()), Some(5));
        same_model(&a, &b);
    }

    /// A range of rows read from the chunks that hold it is that range of the whole
    /// data, at its place (`first_row`); a range past the end is an error.
    #[test]
    fn read_rows_gives_a_range_of_the_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = shards_of(dir.path(), 1200, 100);
        let opts = LoadOptions::default();
        let whole = shards::load(std::slice::from_ref(&path), &opts).unwrap();
        let chunked = ChunkedRows::open(std::slice::from_ref(&path), &opts).unwrap();
        assert!(chunked.chunks() > 4);
        for r in [0..0, 0..1200, 5..7, 199..611, 1100..1200] {
            let d = chunked.read_rows(r.start as u64..r.end as u64).unwrap();
            assert_eq!((d.rows(), d.first_row), (r.len(), r.start as u64));
            assert_eq!(d.as_slice(), whole.rows_in(r.clone()));
        }
        let e = chunked.read_rows(1100..1201).unwrap_err().to_string();
        assert!(e.contains("1100..1201") && e.contains("1200 rows"), "{e}");
    }

    /// CSV files are read in chunks of rows too (about 1,024 values in tests): each
    /// chunk, and any range of rows, is that part of the same values read whole, and
    /// streamed training over them writes the model of training on the NPY files.
    #[test]
    fn csv_files_are_read_in_chunks_of_rows() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("npy")).unwrap();
        let npys = shards_of(&dir.path().join("npy"), 1200, 500);
        let opts = LoadOptions::default();
        let whole = shards::load(std::slice::from_ref(&npys), &opts).unwrap();
        let folder = dir.path().join("csv");
        std::fs::create_dir(&folder).unwrap();
        let names: Vec<String> = (0..5).map(|j| format!("x{j}")).collect();
        for (k, part) in whole.as_slice().chunks(500 * 5).enumerate() {
            let p = folder.join(format!("part-{k}.csv"));
            crate::data::csv::write(&p, part, part.len() / 5, 5, Some(&names), None).unwrap();
        }
        let chunked = ChunkedRows::open(std::slice::from_ref(&folder), &opts).unwrap();
        // 500 + 500 + 200 rows, a mark every 204 rows: 3 + 3 + 1 chunks.
        assert_eq!((chunked.rows(), chunked.chunks()), (1200, 7));
        assert_eq!(chunked.feature_names(), Some(&names[..]));
        let mut all = Vec::new();
        for i in 0..chunked.chunks() {
            let d = chunked.read(i).unwrap();
            assert_eq!(d.first_row, chunked.chunk_range(i).start);
            all.extend_from_slice(d.as_slice());
        }
        assert_eq!(all, whole.as_slice());
        for r in [0..1, 0..1200, 203..205, 199..611, 1100..1200] {
            let d = chunked.read_rows(r.start as u64..r.end as u64).unwrap();
            assert_eq!(d.as_slice(), whole.rows_in(r.clone()));
        }
        let (model, mut training) = crate::anomaly::tabular_defaults(5);
        (training.epochs, training.min_steps) = (2, 100);
        let rule = Some(ThresholdRule::Contamination(0.05));
        let npy = ChunkedRows::open(std::slice::from_ref(&npys), &opts).unwrap();
        let (a, b) =
            (streamed(&npy, &model, &training, rule, 300), streamed(&chunked, &model, &training, rule, 300));
        // (The same but for the files' names.)
        assert_eq!((a.normalizer(), &a.detector), (b.normalizer(), &b.detector));
        assert!(a.params() == b.params(), "the weights differ");
    }

    /// CSV shards with a categorical column whose values differ between the shards (one
    /// shard has a value no other has, and empty fields): every chunk is one-hot
    /// encoded with the sorted union of the values, so the chunks, any range of rows and
    /// their encodings are those of the shards read whole, and streamed training in one
    /// window trains the in-memory model bit for bit. Values fixed beforehand (a
    /// model's) are kept, and a union over the most a column may have is refused.
    #[test]
    fn categorical_columns_are_encoded_with_every_chunks_values() {
        use crate::data::columns::{Categorical, ColumnRef, Columns};
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("csv");
        std::fs::create_dir(&folder).unwrap();
        let colors = [&["red", "blue"][..], &["green", "", "red"], &["blue", "violet", "red", "green"]];
        for (k, values) in colors.iter().enumerate() {
            let mut text = String::from("x0,color,x1\n");
            for i in 0..1200 {
                let (a, b) = ((i * 7 + k * 3) % 11, (i * 5 + k) % 13);
                text += &format!("{a}.5,{},{b}.25\n", values[i % values.len()]);
            }
            std::fs::write(folder.join(format!("part-{k}.csv")), text).unwrap();
        }
        let columns = Columns { categorical: vec![ColumnRef::Name("color".into())], ..Columns::default() };
        let opts = LoadOptions { columns, ..LoadOptions::default() };
        let whole = shards::load(std::slice::from_ref(&folder), &opts).unwrap();
        assert_eq!(whole.categories[0].values, ["blue", "green", "red", "violet"]);
        let chunked = ChunkedRows::open(std::slice::from_ref(&folder), &opts).unwrap();
        assert!(chunked.chunks() >= 6, "{} chunks", chunked.chunks());
        assert_eq!((chunked.rows(), chunked.cols()), (3600, 6));
        assert_eq!(chunked.categories(), &whole.categories[..]);
        assert_eq!(chunked.feature_names(), whole.feature_names.as_deref());
        let mut all = Vec::new();
        for i in 0..chunked.chunks() {
            let d = chunked.read(i).unwrap();
            assert_eq!(d.categories, whole.categories);
            all.extend_from_slice(d.as_slice());
        }
        assert_eq!(all, whole.as_slice());
        for r in [0..3600, 1..2, 1000..2500, 3599..3600] {
            let d = chunked.read_rows(r.start as u64..r.end as u64).unwrap();
            assert_eq!((d.as_slice(), &d.categories), (whole.rows_in(r), &whole.categories));
        }
        let (model, mut training) = crate::anomaly::tabular_defaults(6);
        (training.epochs, training.min_steps) = (2, 20);
        let rule = Some(ThresholdRule::Contamination(0.05));
        same_model(
            &in_memory(&whole, &model, &training, rule),
            &streamed(&chunked, &model, &training, rule, 3600),
        );

        // A model's values stand: a value it lacks sets no feature.
        let fixed = Categorical { column: "color".into(), values: vec!["red".into(), "violet".into()] };
        let later = LoadOptions {
            columns: Columns::default().with_categories(std::slice::from_ref(&fixed)),
            ..opts.clone()
        };
        let chunked = ChunkedRows::open(std::slice::from_ref(&folder), &later).unwrap();
        assert_eq!((chunked.cols(), chunked.categories()), (4, &[fixed][..]));
        assert_eq!(
            chunked.read_rows(0..3600).unwrap().as_slice(),
            shards::load(&[folder], &later).unwrap().as_slice()
        );

        // More values in all than a column may have, though no chunk has that many.
        let many = dir.path().join("many");
        std::fs::create_dir(&many).unwrap();
        for k in 0..2 {
            let rows: String = (0..2100).map(|i| format!("1,v{k}-{i}\n")).collect();
            std::fs::write(many.join(format!("part-{k}.csv")), format!("x,color\n{rows}")).unwrap();
        }
        let e = ChunkedRows::open(&[many], &opts).unwrap_err().to_string();
        assert!(e.contains("\"color\" has more than 4096 distinct values"), "{e}");
    }

    /// `--missing drop` on NPY shards with NaN in scattered rows, and in every row of a
    /// whole chunk: the chunks give the rows kept, numbered in order (the empty chunk
    /// passed over), any range of them and the count left out are those of the shards
    /// read whole and dropped, and streamed training in one window trains the in-memory
    /// model bit for bit. Data with no row left is refused.
    #[test]
    fn missing_drop_reads_the_rows_kept() {
        use crate::data::columns::{Columns, Missing};
        let dir = tempfile::tempdir().unwrap();
        let clean = shards_of(dir.path(), 1000, 1000);
        let mut x = shards::load(std::slice::from_ref(&clean), &LoadOptions::default()).unwrap().into_vec();
        for (i, row) in x.chunks_mut(5).enumerate() {
            // Rows 500..704 are the second file's first chunk (204 rows in tests).
            if i % 7 == 3 || (500..704).contains(&i) {
                row[i % 5] = f32::NAN;
                // A dropped row's values are not in the range of the rows kept.
                row[(i + 1) % 5] = 1e6;
            }
        }
        let folder = dir.path().join("gaps");
        std::fs::create_dir(&folder).unwrap();
        for (k, part) in x.chunks(500 * 5).enumerate() {
            npy::write(&folder.join(format!("part-{k}.npy")), part, 500, 5).unwrap();
        }
        let drop = LoadOptions {
            columns: Columns { missing: Missing::Drop, ..Columns::default() },
            ..LoadOptions::default()
        };
        let whole = crate::data::open::load_paths(std::slice::from_ref(&folder), &drop).unwrap();
        let chunked = ChunkedRows::open(std::slice::from_ref(&folder), &drop).unwrap();
        assert_eq!(
            (chunked.rows(), chunked.dropped_rows()),
            (whole.rows() as u64, whole.dropped_rows as u64)
        );
        assert!(whole.dropped_rows > 204 && chunked.chunks() == 5, "{} chunks", chunked.chunks());
        let mut all = Vec::new();
        for i in 0..chunked.chunks() {
            let d = chunked.read(i).unwrap();
            assert_eq!(d.first_row, chunked.chunk_range(i).start);
            assert!(!d.nan_is_missing);
            all.extend_from_slice(d.as_slice());
        }
        assert!(all == whole.as_slice(), "the rows kept differ");
        // The range kept by the pass at opening is the kept rows'.
        let range = chunked.value_range().unwrap();
        assert_eq!(range, whole.value_range());
        assert!(range.hi < 1e6 && !range.nan, "{range:?}");
        let n = whole.rows();
        for r in [0..n, 0..1, 170..420, n - 1..n] {
            let d = chunked.read_rows(r.start as u64..r.end as u64).unwrap();
            assert!(d.as_slice() == whole.rows_in(r.clone()), "rows {r:?} differ");
        }
        let (model, mut training) = crate::anomaly::tabular_defaults(5);
        (training.epochs, training.min_steps) = (2, 20);
        let rule = Some(ThresholdRule::Contamination(0.05));
        same_model(
            &in_memory(&whole, &model, &training, rule),
            &streamed(&chunked, &model, &training, rule, n),
        );

        let empty = dir.path().join("empty.npy");
        npy::write(&empty, &[f32::NAN; 10], 2, 5).unwrap();
        let e = ChunkedRows::open(&[empty], &drop).unwrap_err().to_string();
        assert!(e.contains("every one of the 2 rows has a missing value"), "{e}");
    }

    /// Under `--missing drop`, the parts a pass reads (whole chunks with rows left out,
    /// pieces of the NPY chunks without: a test build's are a few rows) carry the ids
    /// the rows read whole and dropped carry: each row's index among every row of the
    /// files. Without a row left out, neither has ids.
    #[test]
    fn parts_of_rows_kept_carry_their_index_among_every_row() {
        use crate::data::columns::{Columns, Missing};
        use crate::data::RowIds;
        let dir = tempfile::tempdir().unwrap();
        let clean = shards_of(dir.path(), 1000, 1000);
        let drop = LoadOptions {
            columns: Columns { missing: Missing::Drop, ..Columns::default() },
            ..LoadOptions::default()
        };
        let ids_of_parts = |chunked: &ChunkedRows| {
            let mut ids: Option<RowIds> = None;
            let mut pieces = 0;
            chunked
                .for_each_part(0..chunked.rows(), 0, |part| {
                    pieces += 1;
                    match (&mut ids, part.ids) {
                        (Some(all), Some(v)) => assert!(all.append(&v)),
                        (None, v) if pieces == 1 => ids = v,
                        (all, v) => assert!(all.is_none() && v.is_none(), "some parts have ids, some not"),
                    }
                    Ok(())
                })
                .unwrap();
            (ids, pieces)
        };
        let whole = crate::data::open::load_paths(std::slice::from_ref(&clean), &drop).unwrap();
        let chunked = ChunkedRows::open(std::slice::from_ref(&clean), &drop).unwrap();
        assert_eq!((whole.ids.as_ref(), ids_of_parts(&chunked).0), (None, None));

        let mut x = shards::load(std::slice::from_ref(&clean), &LoadOptions::default()).unwrap().into_vec();
        // Rows left out in the second file's first chunk (rows 500..704) only.
        for i in [510, 511, 600, 703] {
            x[i * 5 + 2] = f32::NAN;
        }
        let folder = dir.path().join("gaps");
        std::fs::create_dir(&folder).unwrap();
        for (k, part) in x.chunks(500 * 5).enumerate() {
            npy::write(&folder.join(format!("part-{k}.npy")), part, 500, 5).unwrap();
        }
        let whole = crate::data::open::load_paths(std::slice::from_ref(&folder), &drop).unwrap();
        let chunked = ChunkedRows::open(std::slice::from_ref(&folder), &drop).unwrap();
        let (ids, pieces) = ids_of_parts(&chunked);
        assert!(pieces > chunked.chunks(), "{pieces} parts: the clean chunks are read in pieces");
        assert_eq!(ids, whole.ids);
        let Some(RowIds::Int(v)) = &ids else { panic!("{ids:?}") };
        assert_eq!((v.len(), v[509], v[510], v[995]), (996, 509, 512, 999));
        // A part that is not a whole chunk, in the chunk with rows left out (kept rows
        // 498..698), and one in a chunk without.
        for (i, rows) in [(3, 600..650), (1, 250..300)] {
            assert!(chunked.chunk_range(i).contains(&rows.start));
            let part = chunked.read_part(i, rows.clone()).unwrap();
            assert_eq!(part.ids, Some(RowIds::Int(v[rows.start as usize..rows.end as usize].to_vec())));
        }
    }

    /// Smaller windows: the same seed gives the same bits, another seed other bits, and
    /// the model learns the data about as well as in memory (the validation loss
    /// within 25 %); the normaliser is fitted on the same rows in one pass, bit for bit.
    #[test]
    fn windows_train_reproducibly_with_the_same_normaliser() {
        let dir = tempfile::tempdir().unwrap();
        let path = shards_of(dir.path(), 1200, 100);
        let opts = LoadOptions::default();
        let whole = shards::load(std::slice::from_ref(&path), &opts).unwrap();
        let chunked = ChunkedRows::open(std::slice::from_ref(&path), &opts).unwrap();
        let (model, mut training) = crate::anomaly::tabular_defaults(5);
        training.epochs = 6;
        training.min_steps = 0;
        training.trim = 0.0;
        let a = streamed(&chunked, &model, &training, None, 250);
        let b = streamed(&chunked, &model, &training, None, 250);
        assert_eq!(a.params(), b.params());
        let c = streamed(&chunked, &model, &TrainConfig { seed: 1, ..training.clone() }, None, 250);
        assert_ne!(a.params(), c.params());
        let m = in_memory(&whole, &model, &training, None);
        assert_ne!(a.params(), m.params());
        assert_eq!(a.normalizer(), m.normalizer());
        let (va, vm) = (a.training.as_ref().unwrap(), m.training.as_ref().unwrap());
        assert_eq!(va.rows, vm.rows);
        let (la, lm) = (
            va.val_loss.iter().copied().fold(f64::MAX, f64::min),
            vm.val_loss.iter().copied().fold(f64::MAX, f64::min),
        );
        assert!(la < 1.25 * lm && lm < 1.25 * la, "streamed {la}, in memory {lm}");
    }

    /// A budget is cut into a window after the reserve and three of the largest parts
    /// read at a time: for NPY files, parts of a chunk (1,024 bytes of values in tests);
    /// for a CSV file, whole chunks. One too small for a batch is refused, naming it.
    #[test]
    fn the_window_is_what_the_budget_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let path = shards_of(dir.path(), 300, 100);
        let chunked = ChunkedRows::open(&[path], &LoadOptions::default()).unwrap();
        assert_eq!((chunked.largest_chunk(), chunked.largest_part()), (100, 1024 / 20));
        let (part, row) = (51 * 5 * 4, 5 * 4 + 8);
        assert_eq!(window_rows(&chunked, RESERVE + 3 * part + 1000 * row, 64).unwrap(), 1000);
        let e = window_rows(&chunked, RESERVE, 64).unwrap_err().to_string();
        assert!(e.contains("memory_budget") && e.contains("128.0 MiB cannot hold"), "{e}");
        // A CSV file's chunks (about 4,096 bytes of values in tests) are read whole.
        let csv = dir.path().join("rows.csv");
        let text: String = (0..300).map(|i| format!("{i},1,2,3,4\n")).collect();
        std::fs::write(&csv, format!("a,b,c,d,e\n{text}")).unwrap();
        let chunked = ChunkedRows::open(&[csv], &LoadOptions::default()).unwrap();
        let whole = chunked.largest_chunk();
        assert!(whole > 51 && chunked.largest_part() == whole, "{whole}");
        let chunk = whole as u64 * 5 * 4;
        assert_eq!(window_rows(&chunked, RESERVE + 3 * chunk + 1000 * row, 64).unwrap(), 1000);
    }

    /// The passes over the data read an NPY chunk in parts of 8 MiB of values (1,024
    /// bytes in tests), each within one chunk; a CSV file's chunks whole.
    #[test]
    fn passes_read_npy_chunks_in_parts() {
        let dir = tempfile::tempdir().unwrap();
        let chunked = ChunkedRows::open(&[shards_of(dir.path(), 300, 100)], &LoadOptions::default()).unwrap();
        let parts = chunked.parts(30..260);
        let want: Vec<(usize, Range<u64>)> =
            vec![(0, 30..81), (0, 81..100), (1, 100..151), (1, 151..200), (2, 200..251), (2, 251..260)];
        assert_eq!(parts, want);
        // Rows read by parts are the rows read whole.
        let mut by_parts = Vec::new();
        for (_, p) in &parts {
            by_parts.extend_from_slice(chunked.read_rows(p.clone()).unwrap().as_slice());
        }
        assert_eq!(by_parts, chunked.read_rows(30..260).unwrap().as_slice());
    }
}
