//! Training on rows shared out among processes ([`FitOptions::shard_of`]): each process
//! holds one contiguous range of the rows, each step's micro-batches get their rows from
//! the processes that hold them (an all-to-all), and what is fitted on every row — the
//! normaliser, the data's fingerprint, the codec and the detector — is computed from
//! exchanged parts, with the bits of one process holding every row. Each process
//! receives the rows of the validation batches it measures (an all-to-all), of the
//! held-out rows or of a validation set shared out as the rows are
//! ([`ValidationRows::Shared`]; none when each holds its [`validation_part`]).
//!
//! What each process sends, with `P` processes, `n` rows of `d` values and a batch of
//! `B` rows: per step, the rows of its micro-batches that others hold (about
//! `B·d·(P − 1)/P` values in all); once, its validation batches' rows that others hold
//! (about `v·d·(P − 1)/P` values of `v` held-out rows, in all), the edge rows of the
//! normaliser's blocks (at most two partial blocks of [`MOMENTS_BLOCK`] rows per
//! process) and the blocks' statistics, the rows the fingerprint hashes (at most
//! 16 MiB), and after training, for the codec's and the detector's selections, the
//! blocks of counts its values made a pass (which blocks, then their counts, as `f32`
//! halves, and their segment's totals), the few values left to sort, and the sums
//! passed on in rank order ([`PeerParts`]); for the `standardized` score, its rows'
//! error sums (a few blocks per power of two); with `trim`, the same for the selection
//! of the rows kept after the first pass (no scores).
//!
//! [`FitOptions::shard_of`]: super::FitOptions::shard_of

use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use super::checkpoint::{DataFingerprint, PartFingerprint};
use super::fit::{
    check_loss_targets, fits_normalizer, run, trimmed, trimmed_source, Feed, FitOptions, MemoryFeed, Rows,
};
use super::history::History;
use super::micro::{owned, Peers};
use super::observer::Observer;
use super::TrainConfig;
use crate::codec::Codec;
use crate::data::dataset::{split_rows, Dataset, ValueRange};
use crate::data::normalize::{Moments, NormalizeKind, Normalizer, BLOCK_STATS, MOMENTS_BLOCK};
use crate::error::{Error, Result};
use crate::kernels::Threads;
use crate::model::detector::{scores, trim_keep, Detector, ErrorSums, ScoreKind, ThresholdRule};
use crate::model::Autoencoder;
use crate::select::{self, Parts};

/// The rows process `rank` of `size` holds when `total` rows are shared out evenly in
/// rank order: `⌊rank·total/size⌋..⌊(rank + 1)·total/size⌋`. Any contiguous ranges in
/// rank order give the same bits; this is the split the `ae` command reads.
pub fn shard_rows(total: usize, rank: usize, size: usize) -> Range<usize> {
    let at = |r: usize| (r as u128 * total as u128 / size.max(1) as u128) as usize;
    at(rank)..at(rank + 1)
}

/// The validation set of a fit whose training rows are shared out among processes
/// ([`ValidParams::fit_sharded`](crate::ValidParams::fit_sharded),
/// [`fit_streamed_sharded`](super::fit_streamed_sharded)).
#[derive(Debug, Clone, Copy)]
pub enum ValidationRows<'a> {
    /// Every process holds every validation row.
    Whole(&'a Dataset),
    /// Each process holds rows `rows.first_row..` of `total` validation rows, those that
    /// follow the previous rank's, as the training rows are held. Each receives the rows of
    /// the validation batches it measures from the processes that hold them; when each
    /// holds its [`validation_part`], none is sent.
    Shared {
        /// This process's validation rows.
        rows: &'a Dataset,
        /// The validation rows of all the processes together.
        total: usize,
    },
}

impl<'a> ValidationRows<'a> {
    /// This process's validation rows.
    pub fn rows(&self) -> &'a Dataset {
        match *self {
            ValidationRows::Whole(rows) | ValidationRows::Shared { rows, .. } => rows,
        }
    }
}

/// The validation rows process `rank` of `size` measures of `total`, when training
/// takes batches of `batch_size` from `training_rows` rows: a contiguous share of the
/// batches (of `batch_size.min(training_rows)` rows). Processes that each hold theirs
/// ([`ValidationRows::Shared`]) send no validation row. (A trimmed run's second pass
/// takes its batches from the rows kept; if those are fewer than `batch_size`, its
/// shares differ, and the rows that differ are sent.)
pub fn validation_part(
    total: usize,
    training_rows: usize,
    batch_size: usize,
    rank: usize,
    size: usize,
) -> Range<usize> {
    super::fit::validation_share(total, batch_size.min(training_rows), rank, size)
}

/// Every process's `mine`, in rank order (an all-gather of one value each).
pub(crate) fn one_each(peers: &mut dyn Peers, mine: f64) -> Result<Vec<f64>> {
    let size = peers.size();
    let mut all = vec![0.0f64; size];
    peers.all_gather_f64(&[mine], &vec![1; size], &mut all)?;
    Ok(all)
}

/// Whether every process is ready to fit: an all-gather of one flag each, which a
/// front whose processes check their own inputs (their rows, a checkpoint to read)
/// makes before the fit's first exchange, `ready` saying whether this one's passed. A
/// process that cannot start then stops the others too, where they would wait for it
/// in an exchange it never makes. `Err` names the first process that is not ready
/// (with its own error, that process raises that instead).
pub fn all_ready(peers: &mut dyn Peers, ready: bool) -> Result<()> {
    match one_each(peers, if ready { 0.0 } else { 1.0 })?.iter().position(|&f| f != 0.0) {
        Some(p) => Err(Error::config(
            "peers",
            format!("process {p} could not start the fit (its error is raised there), so none does"),
        )),
        None => Ok(()),
    }
}

/// Whether any process's `flag` is set (an all-gather of one flag each): for a choice
/// each process makes from what it sees, which must be the same on every process, such
/// as streaming rows that are over one process's memory budget (machines differ in
/// memory, and a budget may be given to one process alone).
pub fn any_of(peers: &mut dyn Peers, flag: bool) -> Result<bool> {
    Ok(one_each(peers, if flag { 1.0 } else { 0.0 })?.iter().any(|&f| f != 0.0))
}

/// Where this process's `rows` start among every process's, which follow each other in
/// rank order, and how many there are in all (an all-gather of one number): the
/// `first_row` and `total` of [`ValidParams::fit_sharded`](crate::ValidParams::fit_sharded)
/// for processes that each hold rows of their own (a front's partitions, rather than
/// [`shard_rows`] of one file).
pub fn rows_among(peers: &mut dyn Peers, rows: usize) -> Result<(usize, usize)> {
    let rank = peers.rank();
    // (Counts are exact in f64 up to 2⁵³ rows.)
    let counts: Vec<usize> = one_each(peers, rows as f64)?.iter().map(|&n| n as usize).collect();
    Ok((counts[..rank].iter().sum(), counts.iter().sum()))
}

/// The range of the values of every process's rows, `mine` this one's (an all-gather of
/// three numbers): what the defaults are chosen from
/// ([`Settings::for_data_in`](crate::Settings::for_data_in)), the same on every process.
pub fn value_range_of_all(peers: &mut dyn Peers, mine: ValueRange) -> Result<ValueRange> {
    let size = peers.size();
    let mut all = vec![0.0f64; 3 * size];
    let nan = if mine.nan { 1.0 } else { 0.0 };
    peers.all_gather_f64(&[f64::from(mine.lo), f64::from(mine.hi), nan], &vec![3; size], &mut all)?;
    Ok(all.chunks_exact(3).fold(ValueRange::EMPTY, |r, p| {
        r.merge(ValueRange { lo: p[0] as f32, hi: p[1] as f32, nan: p[2] != 0.0 })
    }))
}

/// Every process's range of rows, in rank order: process `r` holds
/// `starts[r]..starts[r + 1]`, and together they hold `0..total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    starts: Vec<usize>,
}

impl Layout {
    /// The layout the processes agree on: each says where its rows start, how many it
    /// holds and their width (an all-gather); an error on every process unless the
    /// ranges follow each other in rank order from row 0 and cover exactly `total` rows
    /// of one width (rows of another width would cut every exchange wrongly).
    fn exchange(
        peers: &mut dyn Peers,
        first: usize,
        rows: usize,
        cols: usize,
        total: usize,
    ) -> Result<Layout> {
        let size = peers.size();
        let mut all = vec![0.0f64; 3 * size];
        peers.all_gather_f64(&[first as f64, rows as f64, cols as f64], &vec![3; size], &mut all)?;
        let mut starts = Vec::with_capacity(size + 1);
        let mut at = 0usize;
        for (r, part) in all.chunks_exact(3).enumerate() {
            let (f, n, c) = (part[0] as usize, part[1] as usize, part[2] as usize);
            if c != all[2] as usize {
                return Err(Error::config(
                    "shard",
                    format!(
                        "process {r} holds rows of {c} values, but process 0's have {}: every process's rows have the same columns",
                        all[2]
                    ),
                ));
            }
            if f != at {
                return Err(Error::config(
                    "shard",
                    format!(
                        "process {r} holds rows from row {f}, but the processes before it end at row {at}: each process holds the rows that follow the previous one's"
                    ),
                ));
            }
            starts.push(f);
            at += n;
        }
        if at != total {
            return Err(Error::config(
                "shard",
                format!("the processes hold {at} rows together, but the data has {total}"),
            ));
        }
        starts.push(at);
        Ok(Layout { starts })
    }

    /// The layout of processes each holding `data`, rows `data.first_row..` of `total`,
    /// all of `data`'s width ([`Layout::exchange`]).
    pub(super) fn of(peers: &mut dyn Peers, data: &Dataset, total: usize) -> Result<Layout> {
        let first = usize::try_from(data.first_row)
            .map_err(|_| Error::config("shard_of", format!("the rows start at row {}", data.first_row)))?;
        Layout::exchange(peers, first, data.rows(), data.cols(), total)
    }

    /// `total` rows shared out evenly among `size` processes in rank order
    /// ([`shard_rows`]): a layout every process knows without an exchange.
    pub(super) fn even(total: usize, size: usize) -> Layout {
        let mut starts: Vec<usize> = (0..size.max(1)).map(|r| shard_rows(total, r, size).start).collect();
        starts.push(total);
        Layout { starts }
    }

    /// All the rows.
    pub(super) fn total(&self) -> usize {
        self.starts[self.starts.len() - 1]
    }

    /// The rows process `r` holds.
    pub(super) fn range(&self, r: usize) -> Range<usize> {
        self.starts[r]..self.starts[r + 1]
    }

    /// The training rows process `r` holds: those of its range before `n_train`.
    fn training(&self, r: usize, n_train: usize) -> Range<usize> {
        let g = self.range(r);
        g.start.min(n_train)..g.end.min(n_train)
    }

    /// The process that holds row `i` (`i < total`).
    fn owner(&self, i: usize) -> usize {
        self.starts[1..].partition_point(|&s| s <= i)
    }

    fn size(&self) -> usize {
        self.starts.len() - 1
    }
}

/// Rows `want` (global indices, increasing) to every process, in order: each sends
/// those it holds (an all-gather). `local` holds this process's range.
fn gather_rows(
    peers: &mut dyn Peers,
    layout: &Layout,
    local: &Dataset,
    want: impl Iterator<Item = usize>,
) -> Result<Vec<f32>> {
    let d = local.cols();
    let mine = layout.range(peers.rank());
    let (mut send, mut counts) = (Vec::new(), vec![0usize; layout.size()]);
    for i in want {
        let r = layout.owner(i);
        counts[r] += d;
        if r == peers.rank() {
            send.extend_from_slice(local.row(i - mine.start));
        }
    }
    let mut all = vec![0.0f32; counts.iter().sum()];
    peers.all_gather_f32(&send, &counts, &mut all)?;
    Ok(all)
}

/// Rows `part(q)` (global indices) to each process `q`, in order: each process sends
/// those it holds (an all-to-all), and returns its own part's. `local` holds this
/// process's range.
fn rows_to_each(
    peers: &mut dyn Peers,
    layout: &Layout,
    local: &Dataset,
    part: impl Fn(usize) -> Range<usize>,
) -> Result<Vec<f32>> {
    let (d, rank, size) = (local.cols(), peers.rank(), layout.size());
    let mine = layout.range(rank);
    let (mut send, mut send_counts, mut recv_counts) =
        (Vec::new(), Vec::with_capacity(size), Vec::with_capacity(size));
    for q in 0..size {
        let rows = common(&part(q), &mine);
        if !rows.is_empty() {
            send.extend_from_slice(
                &local.as_slice()[(rows.start - mine.start) * d..(rows.end - mine.start) * d],
            );
        }
        send_counts.push(rows.len() * d);
        recv_counts.push(common(&part(rank), &layout.range(q)).len() * d);
    }
    let mut all = vec![0.0f32; recv_counts.iter().sum()];
    // A process sends rows of its range and receives its part's.
    let most = (0..size).map(|q| part(q).len().max(layout.range(q).len())).max().unwrap_or(0) * d;
    peers.all_to_all_f32(&send, &send_counts, &mut all, &recv_counts, most)?;
    Ok(all)
}

/// The rows of the validation batches this process measures ([`validation_share`] of
/// `rows` in batches of `batch`) of `rows` (global indices of rows shared out as `layout`
/// says, `local` this process's), and where the first of them is among `rows`: received
/// from the processes that hold them (an all-to-all), or `local` itself when every
/// process holds just its share (every process finds the same, so none exchanges).
///
/// [`validation_share`]: super::fit::validation_share
pub(super) fn measured_rows<'a>(
    peers: &mut dyn Peers,
    layout: &Layout,
    local: &'a Dataset,
    rows: Range<usize>,
    batch: usize,
) -> Result<(Cow<'a, Dataset>, usize)> {
    let (rank, size) = (peers.rank(), peers.size());
    let part = |r: usize| {
        let s = super::fit::validation_share(rows.len(), batch, r, size);
        rows.start + s.start..rows.start + s.end
    };
    let mine = part(rank);
    let first = mine.start - rows.start;
    if (0..size).all(|r| layout.range(r) == part(r)) {
        return Ok((Cow::Borrowed(local), first));
    }
    let values = rows_to_each(peers, layout, local, part)?;
    let mut v = Dataset::new(values, mine.len(), local.cols(), local.source.clone())?;
    v.nan_is_missing = local.nan_is_missing;
    v.feature_names.clone_from(&local.feature_names);
    v.first_row = mine.start as u64;
    Ok((Cow::Owned(v), first))
}

/// The rows both `a` and `b` hold (empty when none).
fn common(a: &Range<usize>, b: &Range<usize>) -> Range<usize> {
    let start = a.start.max(b.start);
    start..a.end.min(b.end).max(start)
}

/// The rows of `l` (the training rows a process holds) in whole blocks of the
/// normaliser's statistics (blocks of [`MOMENTS_BLOCK`] rows counted from row 0, the
/// last ending at `n_train`), and the rows before and after them.
fn blocks_of(l: Range<usize>, n_train: usize) -> (Range<usize>, Range<usize>, Range<usize>) {
    if l.is_empty() {
        return (0..0, l.clone(), l);
    }
    let b = MOMENTS_BLOCK;
    let first = l.start.div_ceil(b);
    let end = if l.end == n_train { n_train.div_ceil(b) } else { l.end / b };
    if first >= end {
        return (0..0, l.clone(), l.end..l.end);
    }
    (first..end, l.start..first * b, (end * b).min(n_train)..l.end)
}

/// The normaliser of `kind` fitted on training rows `0..n_train` shared out as `layout`
/// says (`local`: this process's rows), with missing values' fill when `fill`: the bits
/// of [`Normalizer::fit`] (or `fit_with_fill`) on all of them ([`moments_of_all`]).
fn fit_normalizer(
    peers: &mut dyn Peers,
    layout: &Layout,
    n_train: usize,
    local: &Dataset,
    kind: NormalizeKind,
    fill: bool,
) -> Result<Normalizer> {
    let first = layout.range(peers.rank()).start;
    // (A range may be empty at `n_train`, before this process's rows.)
    let mut each = |r: Range<usize>, f: &mut dyn FnMut(&[f32]) -> Result<()>| {
        f(local.rows_in(r.start.saturating_sub(first)..r.end.saturating_sub(first)))
    };
    let mut moments = moments_of_all(peers, layout, n_train, local.cols(), &mut each)?;
    moments.fitted(kind, fill, local.feature_names.as_deref(), &local.source)
}

/// A reader of the rows a process holds: `each(range, f)` calls `f` with rows `range`
/// (global indices within the process's range), in order, in pieces of whole rows.
pub(super) type EachRows<'a> =
    dyn FnMut(Range<usize>, &mut dyn FnMut(&[f32]) -> Result<()>) -> Result<()> + 'a;

/// The [`Moments`] of training rows `0..n_train` of `d` values, shared out as `layout`
/// says (`each` reads this process's): the bits of one process given every row. Each
/// process computes the statistics of the blocks it holds whole; the rows of the blocks
/// split between processes are gathered, and every process merges the blocks in order.
pub(super) fn moments_of_all(
    peers: &mut dyn Peers,
    layout: &Layout,
    n_train: usize,
    d: usize,
    each: &mut EachRows<'_>,
) -> Result<Moments> {
    let me = peers.rank();
    let parts: Vec<_> = (0..layout.size()).map(|r| blocks_of(layout.training(r, n_train), n_train)).collect();
    // The rows of split blocks, every process's in rank order: all of them in row order.
    let (whole, head, tail) = parts[me].clone();
    let mut edges_mine = Vec::with_capacity((head.len() + tail.len()) * d);
    for r in [head, tail] {
        each(r, &mut |rows| {
            edges_mine.extend_from_slice(rows);
            Ok(())
        })?;
    }
    let counts: Vec<usize> = parts.iter().map(|(_, h, t)| (h.len() + t.len()) * d).collect();
    let mut edges = vec![0.0f32; counts.iter().sum()];
    peers.all_gather_f32(&edges_mine, &counts, &mut edges)?;
    // The statistics of the blocks it holds whole, read in pieces of any size: a
    // block's rows are gathered when a piece does not hold them all.
    let mut moments = Moments::new(d);
    let mut stats_mine = Vec::with_capacity(whole.len() * BLOCK_STATS * d);
    if d > 0 && !whole.is_empty() {
        let full = MOMENTS_BLOCK * d;
        let mut block = Vec::new();
        let rows = whole.start * MOMENTS_BLOCK..(whole.end * MOMENTS_BLOCK).min(n_train);
        each(rows, &mut |mut rows| {
            while !rows.is_empty() {
                if block.is_empty() && rows.len() >= full {
                    moments.block_stats(&rows[..full], &mut stats_mine);
                    rows = &rows[full..];
                    continue;
                }
                let take = (full - block.len()).min(rows.len());
                block.extend_from_slice(&rows[..take]);
                rows = &rows[take..];
                if block.len() == full {
                    moments.block_stats(&block, &mut stats_mine);
                    block.clear();
                }
            }
            Ok(())
        })?;
        // The last block, cut short at `n_train`.
        if !block.is_empty() {
            moments.block_stats(&block, &mut stats_mine);
        }
    }
    let counts: Vec<usize> = parts.iter().map(|(w, _, _)| w.len() * BLOCK_STATS * d).collect();
    let mut stats = vec![0.0f64; counts.iter().sum()];
    peers.all_gather_f64(&stats_mine, &counts, &mut stats)?;
    // Every block in order: a whole one's statistics as its process computed them, a
    // split one's from its gathered rows.
    let mut whole_blocks = parts.iter().flat_map(|(w, _, _)| w.clone()).peekable();
    let block = |k: usize| k * MOMENTS_BLOCK..((k + 1) * MOMENTS_BLOCK).min(n_train);
    let (mut at_stats, mut at_edges, mut scratch) = (0, 0, Vec::with_capacity(BLOCK_STATS * d));
    for k in 0..n_train.div_ceil(MOMENTS_BLOCK) {
        if whole_blocks.next_if_eq(&k).is_some() {
            moments.merge_stats(&stats[at_stats..at_stats + BLOCK_STATS * d]);
            at_stats += BLOCK_STATS * d;
        } else {
            let values = block(k).len() * d;
            scratch.clear();
            moments.block_stats(&edges[at_edges..at_edges + values], &mut scratch);
            moments.merge_stats(&scratch);
            at_edges += values;
        }
    }
    Ok(moments)
}

/// Each step's exchange of rows: the rows of the micro-batches this process computes,
/// from the processes that hold them. Its buffers are made once; a step allocates
/// nothing.
pub(super) struct RowExchange {
    layout: Layout,
    d: usize,
    send: Vec<f32>,
    recv: Vec<f32>,
    send_counts: Vec<usize>,
    recv_counts: Vec<usize>,
    at: Vec<usize>,
    /// The rows of this process's micro-batches, in the batch's order (not normalised).
    rows: Vec<f32>,
}

impl RowExchange {
    /// The exchange for batches of up to `batch` rows of `d` values.
    pub(super) fn new(layout: Layout, d: usize, batch: usize) -> Self {
        let size = layout.size();
        RowExchange {
            layout,
            d,
            send: Vec::with_capacity(batch * d),
            recv: Vec::with_capacity(batch * d),
            send_counts: vec![0; size],
            recv_counts: vec![0; size],
            at: vec![0; size],
            rows: Vec::with_capacity(batch * d),
        }
    }

    /// The rows of the micro-batches of `micro` rows that process `rank` of `size` takes
    /// in the batch `indices` (see [`owned`]), as positions in `indices`.
    fn part(n: usize, micro: usize, rank: usize, size: usize) -> Range<usize> {
        let o = owned(n.div_ceil(micro), rank, size);
        (o.start * micro).min(n)..(o.end * micro).min(n)
    }

    /// Exchange the rows of the batch `indices` (global indices) so that this process
    /// has those of its micro-batches: returns them (row-major, in order) and the
    /// position in `indices` of the first. `local` holds this process's training rows.
    pub(super) fn exchange(
        &mut self,
        peers: &mut dyn Peers,
        local: &Rows<'_>,
        indices: &[usize],
        micro: usize,
    ) -> Result<(&[f32], usize)> {
        let (me, size, d) = (peers.rank(), peers.size(), self.d);
        let n = indices.len();
        let mine = self.layout.range(me);
        self.send.clear();
        for q in 0..size {
            let before = self.send.len();
            for &i in &indices[Self::part(n, micro, q, size)] {
                if mine.contains(&i) {
                    self.send.extend_from_slice(local.row(i - mine.start));
                }
            }
            self.send_counts[q] = self.send.len() - before;
        }
        let wanted = Self::part(n, micro, me, size);
        self.recv_counts.iter_mut().for_each(|c| *c = 0);
        for &i in &indices[wanted.clone()] {
            self.recv_counts[self.layout.owner(i)] += d;
        }
        let total = self.recv_counts.iter().sum();
        self.recv.resize(total, 0.0);
        // No process sends or receives more than the batch.
        peers.all_to_all_f32(&self.send, &self.send_counts, &mut self.recv, &self.recv_counts, n * d)?;
        // Each process's rows came in the batch's order: take the next of the holder's.
        let mut at = 0;
        for (a, &c) in self.at.iter_mut().zip(&self.recv_counts) {
            *a = at;
            at += c;
        }
        self.rows.clear();
        for &i in &indices[wanted.clone()] {
            let p = self.layout.owner(i);
            self.rows.extend_from_slice(&self.recv[self.at[p]..self.at[p] + d]);
            self.at[p] += d;
        }
        Ok((&self.rows, wanted.start))
    }
}

/// The exchange of streamed windows' rows among processes that each hold an even share
/// of every window ([`Layout::even`] over its rows): every process draws the same batches
/// from the window's order, and each batch's rows reach the processes whose micro-batches
/// take them. A batch may span windows: the rows it takes from a window are exchanged
/// before the next window is read, so a process holds one window's share at a time.
/// Its buffers are made once; a step allocates nothing.
pub(super) struct WindowExchange {
    layout: Layout,
    d: usize,
    micro: usize,
    /// The window positions of the batch's slots taken since the last exchange, and the
    /// slot of the first of them.
    slots: Vec<usize>,
    first: usize,
    send: Vec<f32>,
    recv: Vec<f32>,
    send_counts: Vec<usize>,
    recv_counts: Vec<usize>,
    at: Vec<usize>,
}

impl WindowExchange {
    /// The exchange among `size` processes for batches of up to `batch` rows of `d`
    /// values, in micro-batches of `micro` rows.
    pub(super) fn new(size: usize, d: usize, micro: usize, batch: usize) -> Self {
        WindowExchange {
            layout: Layout::even(0, size),
            d,
            micro,
            slots: Vec::with_capacity(batch),
            first: 0,
            send: Vec::with_capacity(batch * d),
            recv: Vec::with_capacity(batch * d),
            send_counts: vec![0; size],
            recv_counts: vec![0; size],
            at: vec![0; size],
        }
    }

    /// A window of `rows` rows: the positions process `rank` holds (and reads).
    pub(super) fn window(&mut self, rows: usize, rank: usize) -> Range<usize> {
        self.layout = Layout::even(rows, self.layout.size());
        self.layout.range(rank)
    }

    /// The batch's next slot takes the window's row at `position`; returns the slots
    /// taken so far.
    pub(super) fn take(&mut self, position: usize) -> usize {
        self.slots.push(position);
        self.first + self.slots.len()
    }

    /// Whether slots were taken since the last exchange.
    pub(super) fn pending(&self) -> bool {
        !self.slots.is_empty()
    }

    /// The slots taken since the last exchange of a batch of `n` rows to the processes
    /// whose micro-batches take them: this process sends the rows it holds (`held`, the
    /// window's rows [`window`](Self::window) gave it) and writes those it receives into
    /// their slots of `batch` (rows of `d` values); the other slots are left as they are.
    /// When the batch is complete (`n` slots), the next slot taken is a new batch's first.
    pub(super) fn exchange(
        &mut self,
        peers: &mut dyn Peers,
        held: &[f32],
        batch: &mut [f32],
        n: usize,
    ) -> Result<()> {
        let (me, size, d) = (peers.rank(), peers.size(), self.d);
        let taken = self.first..self.first + self.slots.len();
        let mine = self.layout.range(me);
        let part = |q: usize| {
            let p = RowExchange::part(n, self.micro, q, size);
            p.start.max(taken.start)..p.end.min(taken.end)
        };
        self.send.clear();
        for q in 0..size {
            let before = self.send.len();
            for s in part(q) {
                let i = self.slots[s - taken.start];
                if mine.contains(&i) {
                    self.send.extend_from_slice(&held[(i - mine.start) * d..(i - mine.start + 1) * d]);
                }
            }
            self.send_counts[q] = self.send.len() - before;
        }
        let wanted = part(me);
        self.recv_counts.iter_mut().for_each(|c| *c = 0);
        for s in wanted.clone() {
            self.recv_counts[self.layout.owner(self.slots[s - taken.start])] += d;
        }
        self.recv.resize(self.recv_counts.iter().sum(), 0.0);
        // No process sends or receives more than the slots taken.
        let most = taken.len() * d;
        peers.all_to_all_f32(&self.send, &self.send_counts, &mut self.recv, &self.recv_counts, most)?;
        // Each process's rows came in the slots' order: take the next of the holder's.
        let mut at = 0;
        for (a, &c) in self.at.iter_mut().zip(&self.recv_counts) {
            *a = at;
            at += c;
        }
        for s in wanted {
            let p = self.layout.owner(self.slots[s - taken.start]);
            batch[s * d..(s + 1) * d].copy_from_slice(&self.recv[self.at[p]..self.at[p] + d]);
            self.at[p] += d;
        }
        self.first = if taken.end == n { 0 } else { taken.end };
        self.slots.clear();
        Ok(())
    }
}

/// Values held in parts by the processes of `peers` ([`Parts`]): counts added by a
/// reduce-scatter (each process adds its segment of every process's counts, sent as two
/// 24-bit halves, exact in `f32`) and the segments' totals gathered, `2·c` values a
/// process whatever their number; values gathered bit for bit; a fold passed from each
/// process to the next by an all-gather from it.
pub(crate) struct PeerParts<'a>(pub(crate) &'a mut dyn Peers);

impl Parts for PeerParts<'_> {
    fn sum_counts(&mut self, counts: &mut [u64]) -> Result<()> {
        let peers = &mut *self.0;
        let (rank, size, len) = (peers.rank(), peers.size(), counts.len());
        let segment = |q: usize| q * len / size..(q + 1) * len / size;
        let mut send = Vec::with_capacity(2 * len);
        for &c in counts.iter() {
            // (Counts of 2⁴⁸ and more do not occur: that many values are not held.)
            let c = c.min((1 << 48) - 1);
            send.extend([(c & 0xff_ffff) as f32, (c >> 24) as f32]);
        }
        let send_counts: Vec<usize> = (0..size).map(|q| 2 * segment(q).len()).collect();
        let mine = segment(rank);
        let recv_counts = vec![2 * mine.len(); size];
        let mut recv = vec![0.0f32; 2 * mine.len() * size];
        // A process sends every count and receives a segment from each.
        let most = 2 * size * len.div_ceil(size);
        peers.all_to_all_f32(&send, &send_counts, &mut recv, &recv_counts, most)?;
        let mut totals = vec![0.0f64; mine.len()];
        for from in recv.chunks_exact(2 * mine.len().max(1)).take(size) {
            for (t, half) in totals.iter_mut().zip(from.chunks_exact(2)) {
                *t += half[0] as f64 + half[1] as f64 * (1u64 << 24) as f64;
            }
        }
        let mut all = vec![0.0f64; len];
        let counts_of: Vec<usize> = (0..size).map(|q| segment(q).len()).collect();
        peers.all_gather_f64(&totals, &counts_of, &mut all)?;
        counts.iter_mut().zip(&all).for_each(|(c, &t)| *c = t as u64);
        Ok(())
    }

    fn gather(&mut self, values: &mut Vec<f64>) -> Result<()> {
        let peers = &mut *self.0;
        let size = peers.size();
        let mut lengths = vec![0.0f64; size];
        peers.all_gather_f64(&[values.len() as f64], &vec![1; size], &mut lengths)?;
        let counts: Vec<usize> = lengths.iter().map(|&l| l as usize).collect();
        let mut all = vec![0.0f64; counts.iter().sum()];
        peers.all_gather_f64(values, &counts, &mut all)?;
        *values = all;
        Ok(())
    }

    fn fold(&mut self, state: &mut [f64], f: &mut dyn FnMut(&mut [f64]) -> Result<()>) -> Result<()> {
        let peers = &mut *self.0;
        let (rank, size) = (peers.rank(), peers.size());
        let mut counts = vec![0; size];
        for r in 0..size {
            if r == rank {
                f(state)?;
            }
            // Every process takes the state the process of this turn left.
            counts.iter_mut().enumerate().for_each(|(q, c)| *c = if q == r { state.len() } else { 0 });
            let mine = if r == rank { state.to_vec() } else { Vec::new() };
            peers.all_gather_f64(&mine, &counts, state)?;
        }
        Ok(())
    }
}

/// [`finish`](super::finish) on rows shared out as `layout` says (`local`: this
/// process's rows, rows `local.first_row..` of `total`): the codec from every training
/// row's code and the detector from every row's score, each process computing its own
/// rows' and the fits run across the processes ([`PeerParts`]), with the bits of
/// `finish` on all the rows in one process: no process holds another's codes or scores.
pub(crate) fn finish(
    model: &mut Autoencoder,
    local: &Dataset,
    total: usize,
    threshold: Option<ThresholdRule>,
    threads: &Threads,
    peers: &mut dyn Peers,
) -> Result<()> {
    let layout = Layout::of(peers, local, total)?;
    if Codec::supports(model.code_dim()) {
        let n_train = model.training.as_ref().map_or(layout.total(), |t| t.rows.0).min(layout.total());
        let k = model.code_dim();
        // A process's training rows are its first ones.
        let here = layout.training(peers.rank(), n_train).len();
        let codes = model.encode(local.rows_in(0..here), threads)?;
        let first = layout.training(peers.rank(), n_train).start;
        Codec::check_finite(&codes, (first * k) as u64)?;
        let parts = &mut PeerParts(&mut *peers);
        model.codec = Some(super::finish::codec_in_parts(k, n_train as u64, |f| f(&codes), parts)?);
    }
    if let Some(rule) = threshold {
        let kind = ScoreKind::default_for(model);
        rule.check()?;
        let scales = scales_of_all(peers, &layout, model, local, kind, threads)?;
        let mine = scores(model, local, kind, &scales, threads)?;
        let parts = &mut PeerParts(&mut *peers);
        model.detector = Some(Detector::fit_passes_in_parts(model, kind, scales, rule, |f| f(&mine), parts)?);
    }
    Ok(())
}

/// A validation set given to a fit on rows shared out: held whole by each process
/// (`layout` `None`), or shared out as `layout` says (`rows` this process's).
#[derive(Clone)]
pub(super) struct Validation<'a> {
    rows: &'a Dataset,
    layout: Option<Layout>,
}

/// The layout of `train` (rows `train.first_row..` of `total`) among `options.peers`,
/// once the settings are checked for training on shared-out rows, and the `validation`
/// set's (shared out when [`FitOptions::validation_shard_of`] gives its total).
pub(super) fn check<'a>(
    train: &Dataset,
    total: usize,
    validation: Option<&'a Dataset>,
    config: &TrainConfig,
    options: &mut FitOptions,
) -> Result<(Layout, Option<Validation<'a>>)> {
    let Some(peers) = options.peers.as_deref_mut() else {
        return Err(Error::config(
            "shard_of",
            "rows shared out among processes need the peers that hold the rest",
        ));
    };
    if config.micro_batch == 0 {
        return Err(super::micro::without_micro_batches());
    }
    let layout = Layout::of(peers, train, total)?;
    let validation = match (validation, options.validation_shard_of) {
        (Some(rows), Some(n)) => Some(Validation { rows, layout: Some(validation_layout(peers, rows, n)?) }),
        (Some(rows), None) => Some(Validation { rows, layout: None }),
        (None, Some(_)) => {
            return Err(Error::config(
                "validation_shard_of",
                "the validation rows are shared out, but no validation set is given",
            ))
        }
        (None, None) => None,
    };
    Ok((layout, validation))
}

/// The layout of a validation set shared out (`rows` this process's, of `total`): an
/// error naming the validation set unless the processes' rows tile it.
pub(super) fn validation_layout(peers: &mut dyn Peers, rows: &Dataset, total: usize) -> Result<Layout> {
    Layout::of(peers, rows, total).map_err(|e| match e {
        Error::Config { message, .. } => {
            Error::config("validation", format!("the validation set: {message}"))
        }
        e => e,
    })
}

/// [`DataFingerprint::of`] the rows of all processes (`train` this one's, and
/// `validation`'s): the rows it hashes are gathered, at most 16 MiB of each.
pub(super) fn fingerprint(
    peers: &mut dyn Peers,
    layout: &Layout,
    train: &Dataset,
    validation: Option<&Validation<'_>>,
) -> Result<DataFingerprint> {
    let of_all = |peers: &mut dyn Peers, layout: &Layout, rows: &Dataset| {
        let (total, d) = (layout.total(), rows.cols());
        let hashed = gather_rows(peers, layout, rows, PartFingerprint::hashed_rows(total, d))?;
        Ok::<_, Error>(PartFingerprint::of_hashed(total, d, hashed.chunks_exact(d.max(1))))
    };
    Ok(DataFingerprint {
        train: of_all(peers, layout, train)?,
        validation: match validation {
            Some(Validation { rows, layout: Some(l) }) => Some(of_all(peers, l, rows)?),
            Some(Validation { rows, layout: None }) => Some(PartFingerprint::of(rows)),
            None => None,
        },
    })
}

/// `fit_with`'s passes on rows shared out as `layout` says (`train` this process's).
/// With [`TrainConfig::trim`], as in one process: a first pass from the seed's weights,
/// without checkpoints; then each process scores its own rows under it and keeps those
/// among the lowest-scoring of all ([`select::lowest_in_parts`]: one process's choice,
/// found from counts, not gathered scores), numbered among all those kept; then the
/// second pass on those rows, the one checkpointed.
#[allow(clippy::too_many_arguments)]
pub(super) fn fit(
    model: &mut Autoencoder,
    train: &Dataset,
    validation: Option<Validation<'_>>,
    config: &TrainConfig,
    threads: &Threads,
    observer: &mut dyn Observer,
    mut options: FitOptions,
    fingerprint: Option<DataFingerprint>,
    layout: Layout,
) -> Result<History> {
    if config.trim == 0.0 {
        return fit_pass(
            model,
            train,
            validation.as_ref(),
            config,
            threads,
            observer,
            options,
            fingerprint,
            layout,
            (1, 1),
        );
    }
    let shared = SharedPeers::new(options.peers.take().expect("checked by `check`"));
    let resumed = options.resume.is_some();
    options.peers = Some(shared.handle());
    let mut second = Some((options, fingerprint));
    trimmed(
        model,
        config,
        resumed,
        |first| {
            // Each process scores its own rows and keeps those among the lowest of all,
            // found across the processes: its own, numbered among all those kept.
            let (mut peers, kind) = (shared.clone(), ScoreKind::default_for(first));
            let scales = scales_of_all(&mut peers, &layout, first, train, kind, threads)?;
            let mine = scores(first, train, kind, &scales, threads)?;
            let keep = trim_keep(layout.total(), config.trim);
            let mut local = Vec::new();
            let pass = |f: &mut dyn FnMut(f64)| {
                mine.iter().for_each(|&v| f(v));
                Ok(())
            };
            let before = select::lowest_in_parts(keep as u64, pass, &mut PeerParts(&mut peers), |i| {
                local.push(i as usize)
            })?;
            let mut rows = train.select_rows(&local);
            rows.first_row = before;
            rows.source = trimmed_source(&train.source, keep, layout.total());
            let kept_layout = Layout::of(&mut peers, &rows, keep)?;
            Ok((rows, kept_layout))
        },
        |m, rows, c, pass| match rows {
            None => {
                let options = FitOptions { peers: Some(shared.handle()), ..FitOptions::default() };
                fit_pass(
                    m,
                    train,
                    validation.as_ref(),
                    c,
                    threads,
                    observer,
                    options,
                    None,
                    layout.clone(),
                    pass,
                )
            }
            Some((rows, kept_layout)) => {
                let (options, fingerprint) = second.take().expect("one second pass");
                fit_pass(
                    m,
                    &rows,
                    validation.as_ref(),
                    c,
                    threads,
                    observer,
                    options,
                    fingerprint,
                    kept_layout,
                    pass,
                )
            }
        },
    )
}

/// The feature scales of score `kind` fitted on every process's rows (`local` this
/// one's; empty but for `standardized`): each process sums its own rows' errors at once
/// ([`ErrorSums::starting_at`] its first row), the parts are gathered (each holds
/// at most two blocks per power of two in its rows: about `2·log₂(n)·(2d + 2)`
/// numbers), and every process joins them in rank order: the bits of
/// [`feature_scales`](crate::anomaly::feature_scales) on the rows whole.
fn scales_of_all(
    peers: &mut dyn Peers,
    layout: &Layout,
    model: &Autoencoder,
    local: &Dataset,
    kind: ScoreKind,
    threads: &Threads,
) -> Result<Vec<f32>> {
    if kind != ScoreKind::Standardized {
        return Ok(Vec::new());
    }
    let d = model.input_dim();
    let mut sums = ErrorSums::starting_at(d, layout.range(peers.rank()).start as u64);
    sums.add(model, local, threads)?;
    let mut whole = ErrorSums::new(d);
    join_gathered(peers, &sums, &mut whole)?;
    Ok(whole.scales())
}

/// Every process's error sums `mine` (of rows that follow each other in rank order),
/// gathered and joined onto `into` (of the rows before them) in rank order.
pub(super) fn join_gathered(peers: &mut dyn Peers, mine: &ErrorSums, into: &mut ErrorSums) -> Result<()> {
    let (mine, size, d) = (mine.to_values(), peers.size(), into.dim());
    let mut lens = vec![0.0f64; size];
    peers.all_gather_f64(&[mine.len() as f64], &vec![1; size], &mut lens)?;
    let counts: Vec<usize> = lens.iter().map(|&n| n as usize).collect();
    let mut all = vec![0.0f64; counts.iter().sum()];
    peers.all_gather_f64(&mine, &counts, &mut all)?;
    let mut at = 0;
    for n in counts {
        into.join(ErrorSums::from_values(d, &all[at..at + n])?)?;
        at += n;
    }
    Ok(())
}

/// One pass of training (`pass`: its number, of how many) on rows shared out as
/// `layout` says (`train` this process's): the rows of its validation batches received, the
/// normaliser fitted across processes, and every step's rows exchanged.
#[allow(clippy::too_many_arguments)]
fn fit_pass(
    model: &mut Autoencoder,
    train: &Dataset,
    validation: Option<&Validation<'_>>,
    config: &TrainConfig,
    threads: &Threads,
    observer: &mut dyn Observer,
    mut options: FitOptions,
    fingerprint: Option<DataFingerprint>,
    layout: Layout,
    pass: (usize, usize),
) -> Result<History> {
    let peers = options.peers.as_deref_mut().expect("checked by `check`");
    let (total, d) = (layout.total(), model.input_dim());
    let held_out = match validation {
        Some(v) => {
            model.check_training_data(v.rows)?;
            total..total
        }
        None => split_rows(total, config.validation_split)?.1,
    };
    let n_train = held_out.start;
    if n_train == 0 {
        return Err(Error::Data(format!("{}: no training rows", train.source)));
    }
    // This process's training rows: those of its range before the held-out ones.
    let train_rows = Rows::new(train, (0, layout.training(peers.rank(), n_train).len()));
    // Each process measures a share of the validation batches (the trainer's batches: of
    // at most `n_train` rows): of a validation set held whole, its own; of the held-out
    // rows or a validation set shared out, it receives those rows, numbered among them.
    let batch = config.batch_size.min(n_train);
    let (measured, numbered) = match validation {
        Some(&Validation { rows, layout: None }) => (Some(Cow::Borrowed(rows)), None),
        Some(&Validation { rows, layout: Some(ref l) }) => {
            let (m, first) = measured_rows(peers, l, rows, 0..l.total(), batch)?;
            (Some(m), Some((l.total(), first)))
        }
        None if held_out.is_empty() => (None, None),
        None => {
            let (m, first) = measured_rows(peers, &layout, train, held_out.clone(), batch)?;
            (Some(m), Some((held_out.len(), first)))
        }
    };
    let val_rows = measured.as_deref().map(|v| Rows::new(v, (0, v.rows())));
    if fits_normalizer(model, train.nan_is_missing) {
        let (kind, missing) = (model.config().normalize, train.nan_is_missing);
        let fitted = fit_normalizer(peers, &layout, n_train, train, kind, missing)?;
        model.set_normalizer(fitted)?;
    }
    check_loss_targets(model, config, &train_rows)?;
    if let Some(v) = &val_rows {
        check_loss_targets(model, config, v)?;
    }
    let exchange = RowExchange::new(layout, d, config.batch_size.min(n_train));
    threads.install(|| {
        let mut train = MemoryFeed::sharded(train_rows, n_train);
        let mut val = match (val_rows, numbered) {
            (Some(v), Some((n, first))) => Some(MemoryFeed::part(v, n, first)),
            (v, _) => v.map(MemoryFeed::new),
        };
        let val = val.as_mut().map(|v| v as &mut dyn Feed);
        run(model, &mut train, val, config, threads, observer, options, fingerprint, pass, Some(exchange))
    })
}

/// One [`Peers`] used by several owners in turn: training holds one handle and the
/// finishing passes another. The exchanges never overlap (each owner's calls end
/// before the next owner's begin), so the lock is never contended.
#[derive(Clone)]
pub(crate) struct SharedPeers(Arc<Mutex<Box<dyn Peers>>>);

impl SharedPeers {
    pub(crate) fn new(peers: Box<dyn Peers>) -> Self {
        SharedPeers(Arc::new(Mutex::new(peers)))
    }

    /// One more owner's handle, as the fit's options take peers.
    pub(crate) fn handle(&self) -> Box<dyn Peers> {
        Box::new(self.clone())
    }

    fn with<T>(&self, f: impl FnOnce(&mut dyn Peers) -> T) -> T {
        let mut p = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut **p)
    }
}

impl Peers for SharedPeers {
    fn rank(&self) -> usize {
        self.with(|p| p.rank())
    }
    fn size(&self) -> usize {
        self.with(|p| p.size())
    }
    fn all_gather_f32(&mut self, mine: &[f32], counts: &[usize], all: &mut [f32]) -> Result<()> {
        self.with(|p| p.all_gather_f32(mine, counts, all))
    }
    fn all_gather_f64(&mut self, mine: &[f64], counts: &[usize], all: &mut [f64]) -> Result<()> {
        self.with(|p| p.all_gather_f64(mine, counts, all))
    }
    fn all_to_all_f32(
        &mut self,
        send: &[f32],
        send_counts: &[usize],
        recv: &mut [f32],
        recv_counts: &[usize],
        most: usize,
    ) -> Result<()> {
        self.with(|p| p.all_to_all_f32(send, send_counts, recv, recv_counts, most))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `f(rank, parts)` run by `size` simulated processes at once (threads exchanging
    /// through a [`Table`](crate::train::micro::tests::Table)), their results in rank
    /// order.
    fn in_processes<T: Send>(size: usize, f: impl Fn(usize, &mut PeerParts<'_>) -> T + Sync) -> Vec<T> {
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = crate::train::micro::tests::Table::group(size)
                .into_iter()
                .enumerate()
                .map(|(r, mut p)| s.spawn(move || f(r, &mut PeerParts(&mut p))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    /// Values held in parts by processes give, on every process, the order statistics,
    /// the added counts and the fold in rank order of one process holding every value,
    /// bit for bit: with uneven and empty parts, more equal values than a selection
    /// collects at once (a third pass), and counts past 2²⁴ (sent in two halves).
    #[test]
    fn values_in_parts_give_the_results_of_one_process() {
        use crate::select::{select, select_in_parts, Rank};
        // 1,300,000 values, seven in eight of them equal: one 16-bit range of keys holds
        // more than a selection collects.
        let n = 1_300_000;
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let values: Vec<f64> = (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 8 == 0 {
                    (x >> 11) as f64 / (1u64 << 53) as f64 * 1e3 - 7.0
                } else {
                    2.5
                }
            })
            .collect();
        // A second channel, every third value negated, for the searches' counts and keys
        // exchanged together.
        let wanted: Vec<Rank> = [0, 1000, n / 2, n - 2, n - 1]
            .map(|r| Rank { channel: 0, rank: r as u64 })
            .into_iter()
            .chain([0, 7, n / 6, n / 3].map(|r| Rank { channel: 1, rank: r as u64 }))
            .collect();
        let visit_all = |vs: &[f64], first: usize, f: &mut dyn FnMut(usize, f64)| {
            for (i, &v) in vs.iter().enumerate() {
                f(0, v);
                if (first + i).is_multiple_of(3) {
                    f(1, -v);
                }
            }
        };
        let want = select(&wanted, |f| {
            visit_all(&values, 0, f);
            Ok(())
        })
        .unwrap();
        let want_sum = values.iter().fold(-0.0f64, |s, v| s + v);
        for cuts in [vec![0, n / 2, n], vec![0, 0, 1000, n - 5, n]] {
            let size = cuts.len() - 1;
            let got = in_processes(size, |r, parts| {
                let (mine, first) = (&values[cuts[r]..cuts[r + 1]], cuts[r]);
                let visit = |f: &mut dyn FnMut(usize, f64)| {
                    visit_all(mine, first, f);
                    Ok(())
                };
                let selected = select_in_parts(&wanted, visit, parts).unwrap();
                let mut sum = [-0.0f64];
                let mut add = |st: &mut [f64]| {
                    mine.iter().for_each(|v| st[0] += v);
                    Ok(())
                };
                parts.fold(&mut sum, &mut add).unwrap();
                let mut counts = vec![r as u64 * (1 << 30) + 3, 1, 0];
                parts.sum_counts(&mut counts).unwrap();
                (selected, sum[0].to_bits(), counts)
            });
            let total = (0..size as u64).map(|r| r * (1 << 30) + 3).sum::<u64>();
            for (r, (selected, sum, counts)) in got.into_iter().enumerate() {
                assert_eq!(selected, want, "{size} processes: process {r}");
                assert_eq!(sum, want_sum.to_bits(), "{size} processes: process {r}");
                assert_eq!(counts, [total, size as u64, 0], "{size} processes: process {r}");
            }
        }
    }

    /// The lowest values of every process's, chosen in parts, are on every process its
    /// own of those a sort of all the values keeps (ties to the earlier row, across the
    /// parts' ends), numbered after the earlier processes' kept rows: with uneven and
    /// empty parts, ties at the cut spread over several processes, no ties, and every
    /// value kept or one. One process holding them all ([`lowest_of`]) keeps the same.
    ///
    /// [`lowest_of`]: crate::model::detector::lowest_of
    #[test]
    fn the_lowest_values_chosen_in_parts_are_those_chosen_whole() {
        use crate::model::detector::lowest_of;
        let sorted = |s: &[f64], trim: f64| {
            let mut idx: Vec<usize> = (0..s.len()).collect();
            idx.sort_by(|&a, &b| s[a].total_cmp(&s[b]).then(a.cmp(&b)));
            idx.truncate(trim_keep(s.len(), trim));
            idx.sort_unstable();
            idx
        };
        let n = 4000;
        // A fifth of the values equal (3.0), spread through every part; NaN and -0.0.
        let tied: Vec<f64> = (0..n)
            .map(|i| match i % 5 {
                0 => 3.0,
                _ if i == 17 => f64::NAN,
                _ if i == 18 => -0.0,
                _ => ((i * 7919 % 1013) as f64 / 101.0).powi(3) - 4.0,
            })
            .collect();
        let distinct: Vec<f64> = (0..n).map(|i| ((i * 7919 % 4001) as f64).sqrt()).collect();
        for values in [&tied, &distinct] {
            for trim in [0.0, 0.3, 0.75, 0.8, 0.999, 1.0] {
                let want = sorted(values, trim);
                assert_eq!(lowest_of(values, trim).unwrap(), want, "trim {trim}: one process");
                let keep = trim_keep(n, trim) as u64;
                for cuts in [vec![0, n], vec![0, 0, 1234, 1235, n], vec![0, 999, 2001, 2001, 3999, n]] {
                    let size = cuts.len() - 1;
                    let got = in_processes(size, |r, parts| {
                        let mine = &values[cuts[r]..cuts[r + 1]];
                        let pass = |f: &mut dyn FnMut(f64)| {
                            mine.iter().for_each(|&v| f(v));
                            Ok(())
                        };
                        let mut kept = Vec::new();
                        let before =
                            select::lowest_in_parts(keep, pass, parts, |i| kept.push(i as usize)).unwrap();
                        (kept, before)
                    });
                    for (r, (kept, before)) in got.into_iter().enumerate() {
                        let a = want.partition_point(|&i| i < cuts[r]);
                        let b = want.partition_point(|&i| i < cuts[r + 1]);
                        let local: Vec<usize> = want[a..b].iter().map(|&i| i - cuts[r]).collect();
                        let at = format!("trim {trim}, cuts {cuts:?}: process {r}");
                        assert_eq!(before, a as u64, "{at}");
                        assert!(kept == local, "{at}: {} kept, {} wanted", kept.len(), local.len());
                    }
                }
            }
        }
    }

    /// A detector fitted on scores held in parts, uneven and empty, is on every process
    /// the one fitted on every score, bit for bit (its `Debug` form, which writes each
    /// number so that it reads back to the same bits), by every rule: the quantile
    /// rules' selection, the sigma rule's mean and deviation (sums in sequence), the
    /// summary's least, greatest and flagged share.
    #[test]
    fn a_detector_fitted_in_parts_is_the_one_fitted_whole() {
        let model = Autoencoder::new(
            crate::ModelConfig { input_dim: 4, layers: vec![3, 2], ..crate::ModelConfig::default() },
            1,
        )
        .unwrap();
        let n = 5000;
        let scores: Vec<f64> =
            (0..n).map(|i| ((i * 7919 % 1009) as f64 / 97.0).powf(1.7) + 1e-3 * i as f64).collect();
        for rule in [
            ThresholdRule::Contamination(0.05),
            ThresholdRule::Percentile(90.0),
            ThresholdRule::Sigma(2.0),
            ThresholdRule::Value(3.0),
        ] {
            let whole = Detector::fit_passes(&model, ScoreKind::Mse, rule, |f| {
                scores.chunks(333).try_for_each(&mut *f)
            });
            let want = format!("{:?}", whole.unwrap());
            let cuts = [0, 0, 1234, 1235, n];
            let got = in_processes(4, |r, parts| {
                let mine = &scores[cuts[r]..cuts[r + 1]];
                let pass = |f: &mut dyn FnMut(&[f64]) -> Result<()>| mine.chunks(100).try_for_each(&mut *f);
                let fitted =
                    Detector::fit_passes_in_parts(&model, ScoreKind::Mse, Vec::new(), rule, pass, parts);
                format!("{:?}", fitted.unwrap())
            });
            for (r, g) in got.iter().enumerate() {
                assert_eq!(g, &want, "{rule:?}: process {r}");
            }
        }
    }

    #[test]
    fn shard_rows_cover_every_row_once_in_order() {
        for (total, size) in [(10, 3), (3, 5), (0, 2), (9000, 4)] {
            let mut at = 0;
            for r in 0..size {
                let s = shard_rows(total, r, size);
                assert_eq!(s.start, at);
                at = s.end;
            }
            assert_eq!(at, total);
        }
    }

    #[test]
    fn blocks_of_cut_a_range_into_whole_blocks_and_edges() {
        let b = MOMENTS_BLOCK;
        // Inside one block: all edge.
        assert_eq!(blocks_of(10..20, 3 * b), (0..0, 10..20, 20..20));
        // From a block's start to the end of the training rows (a partial last block).
        assert_eq!(blocks_of(b..2 * b + 7, 2 * b + 7), (1..3, b..b, 2 * b + 7..2 * b + 7));
        // Across two block boundaries.
        assert_eq!(blocks_of(5..2 * b + 3, 4 * b), (1..2, 5..b, 2 * b..2 * b + 3));
        assert_eq!(blocks_of(7..7, b), (0..0, 7..7, 7..7));
    }
}
