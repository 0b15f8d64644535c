//! The fit loop and its workspace: seeded shuffling, fused forward/loss/backward,
//! clipping, the optimizer step, validation, early stopping. Nothing allocates once
//! the workspace is built.

use std::ops::Range;
use std::time::Instant;

use super::checkpoint::{save_checkpoint, DataFingerprint, Resume, ResumeState, WordPosition};
use super::code_penalty::{CodePenalties, Codes};
use super::history::{EpochRecord, History, StopReason, TrainingSummary};
use super::micro::Peers;
use super::observer::{Control, Observer, TrainStart};
use super::row_split;
use super::shard::RowExchange;
use super::TrainConfig;
use crate::data::dataset::Dataset;
use crate::data::normalize::Normalizer;
use crate::error::{Error, Result};
use crate::kernels::{elementwise, matmul, Shared, Threads, Transpose};
use crate::layers::{Backward, Ctx, Layer, LayerKind};
use crate::loss::Loss;
use crate::model::Autoencoder;
use crate::optim::{GradTransform, Optimizer, TensorSlot};
use crate::random::{self, Stream};

/// Rows of a dataset used for one role (training or validation), without copying.
#[derive(Clone, Copy)]
pub(super) struct Rows<'a> {
    pub(super) data: &'a Dataset,
    pub(super) range: (usize, usize),
    /// Whether the gather may read the rows from their bytes ([`Rows::bytes`]).
    by_bytes: bool,
}

impl<'a> Rows<'a> {
    /// Rows `range` of `data`, held for the epochs.
    pub(super) fn new(data: &'a Dataset, range: (usize, usize)) -> Rows<'a> {
        Rows { data, range, by_bytes: true }
    }
    /// Rows of a buffer refilled for every batch: gathered from their values, as making
    /// their bytes would take a pass (and an allocation) a step.
    pub(super) fn refilled(data: &'a Dataset, range: (usize, usize)) -> Rows<'a> {
        Rows { data, range, by_bytes: false }
    }
    fn len(&self) -> usize {
        self.range.1 - self.range.0
    }
    pub(super) fn row(&self, i: usize) -> &'a [f32] {
        self.data.row(self.range.0 + i)
    }
    fn values(&self) -> &'a [f32] {
        let c = self.data.cols();
        &self.data.as_slice()[self.range.0 * c..self.range.1 * c]
    }
    /// The rows' values at a byte each ([`Dataset::bytes`]) when they are bytes and
    /// gathering them pays: the rows are held for the epochs ([`Rows::new`]), the data
    /// set is larger than a core's L2 (4 MiB of values, below which its rows stay in
    /// cache and the copy is as fast), and the values with their bytes fit the machine's
    /// memory budget (so that a set near the limit is not pushed past it).
    fn bytes(&self) -> Option<&'a [u8]> {
        let values = (self.data.rows() * self.data.cols()) as u64;
        if !self.by_bytes || values < GATHER_BYTES_MIN || values * 5 > machine_budget() {
            return None;
        }
        let c = self.data.cols();
        self.data.bytes().map(|b| &b[self.range.0 * c..self.range.1 * c])
    }
}

/// The fewest values a data set gathered from its bytes holds (4 MiB of f32).
const GATHER_BYTES_MIN: u64 = 1 << 20;

/// [`super::MemoryBudget::of_machine`]`(1)` in bytes, read once.
fn machine_budget() -> u64 {
    static BYTES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| super::MemoryBudget::of_machine(1).bytes())
}

/// Where the fit loop's rows come from: the training rows an epoch visits in batches,
/// or the validation rows it measures in order. In memory ([`MemoryFeed`]) or streamed
/// a window at a time (`super::stream`).
pub(super) trait Feed {
    /// The rows there are.
    fn len(&self) -> usize;
    /// Where they came from.
    fn source(&self) -> &str;
    /// Every row once, in batches of `batch` (the last may be smaller), shuffled with
    /// `shuffle` when given: `step` gets each batch's rows and their indices.
    fn epoch(
        &mut self,
        batch: usize,
        shuffle: Option<&mut random::ChaCha8Rng>,
        step: &mut dyn FnMut(&Rows<'_>, &[usize]) -> Result<()>,
    ) -> Result<()>;
    /// The rows `rows` (a range of the feed's, starting at a multiple of `batch`), in
    /// order, in batches of `batch`: `f` gets each batch's rows and their range.
    fn in_order(
        &mut self,
        batch: usize,
        rows: Range<usize>,
        f: &mut dyn FnMut(&Rows<'_>, Range<usize>) -> Result<()>,
    ) -> Result<()>;
    /// The row order an epoch left, which a checkpoint keeps; `None` when the feed has
    /// none to keep.
    fn order(&mut self) -> Option<&mut [usize]>;
}

/// The validation rows process `rank` of `size` measures of `rows` in batches of `batch`:
/// an even, contiguous share of the batches ([`owned`](super::micro::owned)), as rows.
pub(super) fn validation_share(rows: usize, batch: usize, rank: usize, size: usize) -> Range<usize> {
    let b = super::micro::owned(rows.div_ceil(batch.max(1)), rank, size);
    (b.start * batch).min(rows)..(b.end * batch).min(rows)
}

/// Rows in memory, and the order the last epoch visited them in.
pub(super) struct MemoryFeed<'a> {
    pub(super) rows: Rows<'a>,
    order: Vec<usize>,
    /// The rows of the feed: `rows`, or more when it holds a part of them.
    len: usize,
    /// The feed's row that `rows` starts at, when it holds a part of them.
    first: usize,
}

impl<'a> MemoryFeed<'a> {
    pub(super) fn new(rows: Rows<'a>) -> Self {
        MemoryFeed { rows, order: (0..rows.len()).collect(), len: rows.len(), first: 0 }
    }

    /// The `n` training rows of processes that share them out: `rows` are this one's
    /// (the steps exchange the others, `super::shard`), the order is over all `n`.
    pub(super) fn sharded(rows: Rows<'a>, n: usize) -> Self {
        MemoryFeed { rows, order: (0..n).collect(), len: n, first: 0 }
    }

    /// The `n` validation rows of processes that share their batches out: `rows` are
    /// rows `first..` of them, those this process measures ([`validation_share`]); it is
    /// asked for no others, and never for an epoch.
    pub(super) fn part(rows: Rows<'a>, n: usize, first: usize) -> Self {
        MemoryFeed { rows, order: Vec::new(), len: n, first }
    }
}

impl Feed for MemoryFeed<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn source(&self) -> &str {
        &self.rows.data.source
    }

    fn epoch(
        &mut self,
        batch: usize,
        shuffle: Option<&mut random::ChaCha8Rng>,
        step: &mut dyn FnMut(&Rows<'_>, &[usize]) -> Result<()>,
    ) -> Result<()> {
        debug_assert_eq!(self.order.len(), self.len, "a part of the rows has no epoch");
        if let Some(r) = shuffle {
            random::shuffle(r, &mut self.order);
        }
        for chunk in self.order.chunks(batch) {
            step(&self.rows, chunk)?;
        }
        Ok(())
    }

    fn in_order(
        &mut self,
        batch: usize,
        rows: Range<usize>,
        f: &mut dyn FnMut(&Rows<'_>, Range<usize>) -> Result<()>,
    ) -> Result<()> {
        let held = self.first..self.first + self.rows.len();
        if rows.start < held.start || rows.end > held.end {
            return Err(Error::Data(format!(
                "{}: rows {rows:?} asked of a part holding rows {held:?}",
                self.rows.data.source
            )));
        }
        for start in rows.clone().step_by(batch) {
            f(&self.rows, start - held.start..(start + batch).min(rows.end) - held.start)?;
        }
        Ok(())
    }

    fn order(&mut self) -> Option<&mut [usize]> {
        Some(&mut self.order)
    }
}

/// Buffers for one batch of up to `batch` rows: the input, every layer's output and
/// scratch, two gradient buffers that alternate between layers, the parameter
/// gradients, and copies of the parameters for early stopping and divergence.
struct Workspace {
    batch: usize,
    /// The rows the loss of the current pass is a mean over: its own, or the whole
    /// batch's when it runs one micro-batch of it.
    mean: usize,
    input: Vec<f32>,
    /// The clean rows when the inputs are corrupted (empty otherwise).
    target: Vec<f32>,
    /// Per-code-unit working values of the code penalties (the code size).
    code_scratch: Vec<f64>,
    /// The whole batch's mean code activation while this workspace runs a micro-batch
    /// of it with the sparsity penalty (empty otherwise).
    batch_mean: Vec<f64>,
    acts: Vec<Vec<f32>>,
    scratch: Vec<Vec<f32>>,
    grad_a: Vec<f32>,
    grad_b: Vec<f32>,
    grads: Vec<f32>,
    /// Training on the importance-weighted bound: where the rows are replicated.
    iw: Option<Replicas>,
    /// The replicated `(μ, log σ²)` in front of the sampling layer (`batch·k × 2·code`).
    rep: Vec<f32>,
    /// The copies' log weights, then their normalised weights (`batch·k`).
    log_w: Vec<f64>,
    /// The row-split step's buffers, made by its first step.
    split: Option<super::row_split::Split>,
    /// The loss of each unit of rows of the last pass ([`row_split::unit_count`]).
    unit_loss: Vec<f64>,
}

/// The importance-weighted bound's replication: from the sampling layer `at` on, every
/// row is `k` rows (one per sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Replicas {
    at: usize,
    k: usize,
}

impl Workspace {
    /// The values [`Workspace::new`]'s batch-sized buffers hold (saturating): the input
    /// (and the clean target), each layer's outputs and scratch, and the two gradient
    /// buffers, the rows replicated where the importance-weighted bound replicates them.
    fn values(layers: &[Box<dyn Layer>], batch: usize, noisy: bool, iw: Option<Replicas>) -> u64 {
        let d = layers[0].input_width();
        let max_w = layers.iter().map(|l| l.output_width()).chain([d]).max().unwrap_or(d) as u64;
        let copies = |i: usize| iw.filter(|r| i >= r.at).map_or(1, |r| r.k) as u64;
        let most = iw.map_or(1, |r| r.k) as u64;
        let rows = batch as u64;
        let per_row = layers
            .iter()
            .enumerate()
            .map(|(i, l)| copies(i).saturating_mul((l.output_width() + l.scratch_width()) as u64))
            .fold((1 + u64::from(noisy)) * d as u64, u64::saturating_add)
            .saturating_add(most.saturating_mul(2 * max_w))
            .saturating_add(iw.map_or(0, |r| (r.k * layers[r.at].input_width()) as u64));
        rows.saturating_mul(per_row)
    }

    fn new(
        layers: &[Box<dyn Layer>],
        batch: usize,
        params: usize,
        noisy: bool,
        iw: Option<Replicas>,
    ) -> Self {
        let d = layers[0].input_width();
        let max_w = layers.iter().map(|l| l.output_width()).chain([d]).max().unwrap_or(d);
        let copies = |i: usize| iw.filter(|r| i >= r.at).map_or(1, |r| r.k);
        let most = iw.map_or(1, |r| r.k);
        let rep = iw.map_or(0, |r| batch * r.k * layers[r.at].input_width());
        Workspace {
            batch,
            mean: batch,
            input: vec![0.0; batch * d],
            target: if noisy { vec![0.0; batch * d] } else { Vec::new() },
            code_scratch: vec![0.0; max_w],
            batch_mean: Vec::new(),
            acts: layers
                .iter()
                .enumerate()
                .map(|(i, l)| vec![0.0; batch * copies(i) * l.output_width()])
                .collect(),
            scratch: layers
                .iter()
                .enumerate()
                .map(|(i, l)| vec![0.0; batch * copies(i) * l.scratch_width()])
                .collect(),
            grad_a: vec![0.0; batch * most * max_w],
            grad_b: vec![0.0; batch * most * max_w],
            grads: vec![0.0; params],
            iw,
            rep: vec![0.0; rep],
            log_w: vec![0.0; iw.map_or(0, |r| batch * r.k)],
            split: None,
            unit_loss: vec![0.0; row_split::unit_count(batch)],
        }
    }

    /// The rows layer `i` runs on when the batch has `n` rows.
    fn rows_at(&self, i: usize, n: usize) -> usize {
        match self.iw {
            Some(r) if i >= r.at => n * r.k,
            _ => n,
        }
    }

    /// Normalised rows into `input`.
    fn gather(
        &mut self,
        rows: &Rows<'_>,
        indices: impl Iterator<Item = usize> + Clone,
        norm: &Normalizer,
    ) -> usize {
        normalised_rows(rows, indices, norm, &mut self.input)
    }

    /// Normalised rows into `input` from `values` (`n` rows, row-major, in order).
    fn gather_values(&mut self, values: &[f32], n: usize, norm: &Normalizer) -> usize {
        norm.apply(values, &mut self.input[..values.len()]);
        n
    }

    /// Forward through every layer for `n` rows. With `logits`, the last layer stops
    /// before its activation (a loss fused with it applies it).
    fn forward(
        &mut self,
        layers: &[Box<dyn Layer>],
        offsets: &[Range<usize>],
        params: &[f32],
        n: usize,
        logits: bool,
        ctx: Ctx<'_>,
    ) {
        let last = layers.len() - 1;
        for (i, layer) in layers.iter().enumerate() {
            let iw = self.iw.filter(|r| r.at == i);
            if let Some(r) = iw {
                super::iw::replicate(&self.acts[i - 1], n, layer.input_width(), r.k, &mut self.rep);
            }
            let rows = self.rows_at(i, n);
            let (before, after) = self.acts.split_at_mut(i);
            let x: &[f32] = match (i, iw) {
                (_, Some(_)) => &self.rep,
                (0, None) => &self.input,
                _ => &before[i - 1],
            };
            let x = &x[..rows * layer.input_width()];
            let p = &params[offsets[i].clone()];
            if i == last && logits {
                let done = layer.forward_preactivation(p, x, rows, &mut after[0], &mut self.scratch[i], ctx);
                debug_assert!(done, "{} cannot stop before its activation", layer.kind());
            } else {
                layer.forward(p, x, rows, &mut after[0], &mut self.scratch[i], ctx);
            }
        }
    }

    /// The loss of the last forward pass against the target (`target` when the inputs
    /// were corrupted, else `input`), with the gradient at the output (or at the logits
    /// when `fused`) into `grad_a`.
    fn loss(
        &mut self,
        loss: Loss,
        (n, d): (usize, usize),
        fused: bool,
        (grad, noisy): (bool, bool),
        threads: &Threads,
    ) -> f64 {
        let last = self.acts.len() - 1;
        let target = if noisy { &self.target[..n * d] } else { &self.input[..n * d] };
        let out = &self.acts[last][..n * d];
        // 1/nd as the loss's own mean computes it (the same bits), over the mean's rows.
        let scale = 1.0 / (self.mean * d).max(1) as f32;
        // Unit by unit of rows, blocks of units on the threads, the units' sums then
        // added in order: the row-split step's sum, with the same bits.
        let units = row_split::unit_count(n);
        let blocks = threads.blocks_for(n, d).min(units);
        let grads = grad.then(|| Shared::new(&mut self.grad_a[..n * d]));
        let sums = Shared::new(&mut self.unit_loss[..units]);
        threads.for_each_index(blocks, |b| {
            let (us, rows) = row_split::block(b, blocks, n);
            let v = rows.start * d..rows.end * d;
            // SAFETY: block `b`'s units and their rows only.
            let (sums, g) = unsafe { (sums.get(us.clone()), grads.as_ref().map(|g| g.get(v.clone()))) };
            row_split::block_losses(
                loss,
                fused,
                (&us, &rows, n, d),
                (&out[v.clone()], &target[v]),
                g,
                scale,
                sums,
            );
        });
        let mut total = 0.0;
        for &v in &self.unit_loss[..units] {
            total += v;
        }
        total
    }
}

impl Workspace {
    /// A training pass's noise for the `n` rows in `input`, in this order from `rng`:
    /// re-binarisation, the input corruption (the clean rows kept in `target`), then
    /// each noise-taking layer's draw into its scratch.
    fn draw_noise(
        &mut self,
        model: &Autoencoder,
        config: &TrainConfig,
        noise_layers: &[usize],
        n: usize,
        rng: &mut random::ChaCha8Rng,
    ) {
        let d = model.input_dim();
        if config.binarize {
            random::binarize(&mut self.input[..n * d], rng);
        }
        if let Some(c) = &config.noise {
            self.target[..n * d].copy_from_slice(&self.input[..n * d]);
            c.apply(&mut self.input[..n * d], rng);
        }
        for &i in noise_layers {
            let l = &model.layers()[i];
            let rows = self.rows_at(i, n);
            l.draw_noise(&mut self.scratch[i][..rows * l.scratch_width()], rng);
        }
    }
}

/// What a forward pass over a batch needs besides the workspace.
#[derive(Clone, Copy)]
struct Pass<'a> {
    model: &'a Autoencoder,
    offsets: &'a [Range<usize>],
    /// Rows in the batch.
    n: usize,
    /// The rows the loss is a mean over: `n`, or the whole batch's for a micro-batch.
    mean: usize,
    /// The loss is fused with the output activation (the last layer stops at its logits).
    fused: bool,
    ctx: Ctx<'a>,
}

impl Workspace {
    /// The sequence every loss evaluation runs: forward through every layer, the
    /// reconstruction loss's sum against the target (its gradient into `grad_a` when
    /// `grad`; the clean rows are the target when `noisy`), and, for a variational
    /// model whose sampling layer is `sample`, the KL term's sum (unweighted). The
    /// callers scale both. Training on the importance-weighted bound, the sum is
    /// `−Σ_rows L_K` with the KL weight `beta`, and there is no separate KL term.
    fn forward_loss(
        &mut self,
        p: Pass<'_>,
        loss: Loss,
        (grad, noisy): (bool, bool),
        sample: Option<usize>,
        beta: f64,
    ) -> (f64, Option<f64>) {
        let (model, d) = (p.model, p.model.input_dim());
        self.mean = p.mean;
        self.forward(model.layers(), p.offsets, model.params(), p.n, p.fused, p.ctx);
        if let Some(r) = self.iw {
            // The importance-weighted bound holds the latent terms: no separate KL.
            debug_assert!(p.fused, "the bound is computed from the decoder's logits");
            let shape = super::iw::Shape { n: p.n, k: r.k, d, code: model.code_dim(), mean: p.mean };
            let nk = p.n * r.k;
            let x = if noisy { &self.target[..p.n * d] } else { &self.input[..p.n * d] };
            let g = if grad { Some(&mut self.grad_a[..nk * d]) } else { None };
            let sum = super::iw::objective(
                shape,
                x,
                &self.acts[self.acts.len() - 1][..nk * d],
                &self.rep,
                &self.acts[r.at],
                &self.scratch[r.at],
                beta,
                &mut self.log_w,
                g,
            );
            return (sum, None);
        }
        let sum = self.loss(loss, (p.n, d), p.fused, (grad, noisy), p.ctx.threads);
        let kl = sample.map(|s| row_split::kl_units(&self.acts[s - 1], p.n, model.code_dim()));
        (sum, kl)
    }
}

impl Workspace {
    /// Each dense layer's three products over a whole batch (`X·Wᵀ`, `δ·W`, `δᵀ·X`), once
    /// on each of the pool's threads, for the whole-batch step: faer keeps a packing
    /// buffer per thread, grown on first use, and the blocks of a split product go to
    /// whichever thread takes them, so a thread could first meet a shape in a later step
    /// and allocate then (`tests/no_alloc.rs` counted 4 allocations in 4 steps of model B
    /// at 2 threads without this). A block of a product packs no more than the whole
    /// product. The threads take turns with one set of buffers: the gradient buffers as
    /// the inputs, the parameter gradient (cleared after) and two batch-sized buffers as
    /// the outputs; the values do not matter. Conv layers' products are not warmed here
    /// (their steps after the first allocate nothing: tested).
    fn warm_whole_batch(&mut self, model: &Autoencoder, offsets: &[Range<usize>], threads: &Threads) {
        let batch = self.batch;
        let dense: Vec<(&dyn Layer, &Range<usize>)> = model
            .layers()
            .iter()
            .zip(offsets)
            .map(|(l, at)| (l.as_ref(), at))
            .filter(|(l, _)| row_split::dense(*l))
            .collect();
        let Some(widest) = dense.iter().map(|(l, _)| l.input_width().max(l.output_width())).max() else {
            return;
        };
        let (x, dz) = (&self.grad_a[..], &self.grad_b[..]);
        let outputs = std::sync::Mutex::new((
            vec![0.0f32; batch * widest],
            vec![0.0f32; batch * widest],
            &mut self.grads,
        ));
        threads.on_every_thread(|| {
            let mut turn = outputs.lock().unwrap_or_else(|e| e.into_inner());
            let (y, dx, grads) = &mut *turn;
            let one = Threads::new(1);
            for &(l, at) in &dense {
                let (inp, out) = (l.input_width(), l.output_width());
                let w = &model.params()[at.start..at.start + out * inp];
                let (x, dz) = (&x[..batch * inp], &dz[..batch * out]);
                matmul(
                    &mut y[..batch * out],
                    batch,
                    out,
                    inp,
                    x,
                    Transpose::No,
                    w,
                    Transpose::Yes,
                    false,
                    &one,
                );
                matmul(
                    &mut dx[..batch * inp],
                    batch,
                    inp,
                    out,
                    dz,
                    Transpose::No,
                    w,
                    Transpose::No,
                    false,
                    &one,
                );
                let gw = &mut grads[at.start..at.start + out * inp];
                matmul(gw, out, inp, batch, dz, Transpose::Yes, x, Transpose::No, false, &one);
            }
        });
        self.grads.fill(0.0);
    }

    /// The rows' pass split by rows over `threads` ([`row_split::rows_pass`]: each
    /// block's rows gathered first when `gather` is given, every layer's `δ` when
    /// `grad`); the first makes its buffers and runs every product shape on each thread
    /// ([`row_split::warm`]).
    fn split_rows(
        &mut self,
        plan: &row_split::Plan<'_>,
        gather: Option<row_split::Gather<'_>>,
        n: usize,
        grad: bool,
        threads: &Threads,
    ) -> (f64, Option<f64>) {
        let batch = self.batch;
        let split = self.split.get_or_insert_with(|| {
            row_split::warm(plan.layers, batch, threads);
            row_split::Split::new(plan.layers, batch, threads.count())
        });
        let io = (&mut self.input[..], &self.target[..]);
        row_split::rows_pass(plan, split, io, gather, &mut self.acts, &mut self.scratch, grad, n, threads)
    }

    /// The units' pass after [`Workspace::split_rows`] with `grad`: the parameter
    /// gradients into `grads` and, with `update`, the optimizer's update
    /// ([`row_split::units_pass`]).
    fn split_units(
        &mut self,
        layers: &[Box<dyn Layer>],
        offsets: &[Range<usize>],
        update: Option<row_split::Update<'_>>,
        n: usize,
        threads: &Threads,
    ) {
        let split = self.split.as_mut().expect("a rows' pass first");
        row_split::units_pass(
            layers,
            offsets,
            split,
            &self.input,
            &self.acts,
            &mut self.grads,
            update,
            n,
            threads,
        )
    }
}

/// Rows `indices` of `rows`, normalised, into `out` one after another; returns how
/// many. Rows of a shuffled batch lie far apart in memory: the row two ahead is asked
/// for while this one is copied, so that its cache misses overlap the copy. Rows whose
/// values are bytes are read from those ([`Rows::bytes`]): the same bits, a quarter of
/// the memory read.
pub(super) fn normalised_rows(
    rows: &Rows<'_>,
    indices: impl Iterator<Item = usize> + Clone,
    norm: &Normalizer,
    out: &mut [f32],
) -> usize {
    let d = rows.data.cols();
    let mut n = 0;
    let mut ahead = indices.clone().skip(2);
    let out = out.chunks_exact_mut(d);
    if let Some(bytes) = rows.bytes() {
        for (i, o) in indices.zip(out) {
            if let Some(next) = ahead.next() {
                prefetch(&bytes[next * d..(next + 1) * d]);
            }
            elementwise::bytes_to_values(&bytes[i * d..(i + 1) * d], o);
            norm.apply_in_place(o);
            n += 1;
        }
        return n;
    }
    for (i, o) in indices.zip(out) {
        if let Some(next) = ahead.next() {
            prefetch(rows.row(next));
        }
        norm.apply(rows.row(i), o);
        n += 1;
    }
    n
}

/// Hint the CPU to load `row` into cache, a 64-byte line at a time (a no-op off x86-64).
#[inline]
fn prefetch<T>(row: &[T]) {
    #[cfg(target_arch = "x86_64")]
    for at in (0..std::mem::size_of_val(row)).step_by(64) {
        // SAFETY: prefetching is a hint that never faults; the pointer is in bounds.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                row.as_ptr().cast::<i8>().add(at),
            )
        };
    }
}

/// Train `model` on `train`, validating on `validation` (or on the last
/// `validation_split` of `train` when `validation` is `None`), following `config`.
///
/// The first call fits the model's normaliser on the training rows (when the config
/// asks for one). Returns the per-epoch history; the model ends with the weights of
/// the last epoch, or of the best one when early stopping restores them. A NaN or
/// infinite loss stops training with [`Error::Diverged`] and puts back the weights
/// of the last completed epoch.
pub fn fit(
    model: &mut Autoencoder,
    train: &Dataset,
    validation: Option<&Dataset>,
    config: &TrainConfig,
    threads: &Threads,
    observer: &mut dyn Observer,
) -> Result<History> {
    fit_with(model, train, validation, config, threads, observer, FitOptions::default())
}

/// Checkpointing and resuming for [`fit_with`].
#[derive(Debug, Default)]
pub struct FitOptions {
    /// Where to write checkpoints (atomically): every `checkpoint_every` epochs and
    /// when the observer stops training (Ctrl-C).
    pub checkpoint: Option<std::path::PathBuf>,
    /// Epochs between checkpoints; 0 writes one only when interrupted.
    pub checkpoint_every: usize,
    /// Continue from a checkpoint: `model` must be the checkpoint's model and
    /// `config` its `state.config`; the run then ends exactly as the uninterrupted
    /// one would (same seed, same threads, same data). Other data is refused: the
    /// checkpoint's [`DataFingerprint`] (row counts, width, a SHA-256 of the rows) must
    /// match the data given (a checkpoint written before fingerprints existed is only
    /// checked for its row counts).
    pub resume: Option<Resume>,
    /// Data-parallel training: the processes that share each batch's micro-batches
    /// ([`TrainConfig::micro_batch`] must be set). Every process calls `fit_with` with
    /// the same model, data and configuration; each computes its share of every batch
    /// and all end with the same weights, the same bits as one process without peers.
    /// The validation loss is shared too: each process measures an even share of the
    /// validation batches, and the batches' sums are gathered and added in order.
    pub peers: Option<Box<dyn Peers>>,
    /// Rows shared out among the `peers`: the data given to `fit_with` is rows
    /// `train.first_row..` of this many rows, and the other processes hold the rest,
    /// each the rows that follow the previous rank's ([`shard_rows`](super::shard_rows)
    /// gives an even split). A validation split holds out the last rows of them all;
    /// the normaliser, the validation loss, the checkpoints' fingerprint and every step
    /// have the bits of one process holding every row (see `ValidParams::fit_sharded`
    /// for the codec and detector). Needs `peers`. With `trim`, the rows kept after the
    /// first pass are chosen across the processes (`select::lowest_in_parts`: counts,
    /// not scores, are exchanged), so that every process keeps the rows one keeps.
    pub shard_of: Option<usize>,
    /// With `shard_of`, the validation rows shared out too: the `validation` set given
    /// to `fit_with` is rows `validation.first_row..` of this many, and the other
    /// processes hold the rest, each those that follow the previous rank's. Each process
    /// receives the rows of the validation batches it measures (none are sent when each
    /// holds its [`validation_part`](super::validation_part)), and the checkpoints'
    /// fingerprint hashes rows gathered from all. Without it, each holds the set whole.
    pub validation_shard_of: Option<usize>,
}

impl std::fmt::Debug for dyn Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Peers(rank {} of {})", self.rank(), self.size())
    }
}

/// [`fit`] with checkpoints and resuming.
///
/// With [`TrainConfig::trim`], two passes: the first starts from the initial weights
/// the seed gives (`Autoencoder::new(config, seed)`, rebuilt rather than copied so that
/// a resumed run repeats it exactly) and has no checkpoints; the second trains `model`
/// on the rows the first reconstructs best, and is the one checkpointed and resumed.
/// When the observer stops the first pass, `model` becomes the first pass's model and
/// its history is returned (there is no checkpoint to resume from).
pub fn fit_with(
    model: &mut Autoencoder,
    train: &Dataset,
    validation: Option<&Dataset>,
    config: &TrainConfig,
    threads: &Threads,
    observer: &mut dyn Observer,
    mut options: FitOptions,
) -> Result<History> {
    config.check()?;
    let shard = match options.shard_of {
        Some(total) => Some(super::shard::check(train, total, validation, config, &mut options)?),
        None if options.validation_shard_of.is_some() => {
            return Err(Error::config(
                "validation_shard_of",
                "the validation rows are shared out only with the training rows (`shard_of`)",
            ))
        }
        None => None,
    };
    // Checkpoints record the data's fingerprint, and a resumed run compares it first,
    // before the width check or a first `trim` pass: other data is refused naming the
    // checkpoint and what differs. (Rows shared out take it on every process, whether or
    // not this one writes checkpoints: its exchange is one all the processes make.)
    let fingerprint = if let (Some((layout, v)), Some(peers)) = (&shard, options.peers.as_deref_mut()) {
        Some(super::shard::fingerprint(peers, layout, train, v.as_ref())?)
    } else if options.checkpoint.is_none() && options.resume.is_none() {
        None
    } else {
        Some(DataFingerprint::of(train, validation))
    };
    if let (Some(ck), Some(now)) = (&options.resume, &fingerprint) {
        if let Some(diff) = ck.state.fingerprint.as_ref().and_then(|then| then.difference(now)) {
            return Err(Error::format(
                &ck.path,
                format!("this checkpoint was made on other data ({diff}); resume it with the data it was trained on"),
            ));
        }
    }
    model.check_training_data(train)?;
    if let Some((layout, validation)) = shard {
        return super::shard::fit(
            model,
            train,
            validation,
            config,
            threads,
            observer,
            options,
            fingerprint,
            layout,
        );
    }
    if config.trim == 0.0 {
        return fit_pass(model, train, validation, config, threads, observer, options, fingerprint, (1, 1));
    }
    let resumed = options.resume.is_some();
    // With peers, both passes share each batch's micro-batches: one handle each.
    let shared = options.peers.take().map(super::SharedPeers::new);
    options.peers = shared.as_ref().map(super::SharedPeers::handle);
    let mut second = Some((options, fingerprint));
    trimmed(
        model,
        config,
        resumed,
        |first| {
            let kept = crate::model::detector::lowest_scoring(first, train, config.trim, threads)?;
            let mut rows = train.select_rows(&kept);
            rows.source = trimmed_source(&train.source, kept.len(), train.rows());
            Ok(rows)
        },
        |m, rows, c, pass| match rows {
            None => {
                let options = FitOptions {
                    peers: shared.as_ref().map(super::SharedPeers::handle),
                    ..FitOptions::default()
                };
                fit_pass(m, train, validation, c, threads, observer, options, None, pass)
            }
            Some(rows) => {
                let (options, fingerprint) = second.take().expect("one second pass");
                fit_pass(m, &rows, validation, c, threads, observer, options, fingerprint, pass)
            }
        },
    )
}

/// `trim`'s two passes, as every way of holding the rows runs them (in memory,
/// streamed, shared out): `pass(first, None, config, (1, 2))` trains a model from the
/// seed's weights with `trim` 0 (rebuilt rather than copied, so that a resumed run
/// repeats it); a first pass stopped by the observer is the result unless `resumed`
/// (it has no checkpoint); else `keep(&first)` gives the rows it reconstructs best and
/// `pass(model, Some(rows), config, (2, 2))` trains `model` on them.
pub(super) fn trimmed<R>(
    model: &mut Autoencoder,
    config: &TrainConfig,
    resumed: bool,
    keep: impl FnOnce(&Autoencoder) -> Result<R>,
    mut pass: impl FnMut(&mut Autoencoder, Option<R>, &TrainConfig, (usize, usize)) -> Result<History>,
) -> Result<History> {
    let mut first = Autoencoder::new(model.config().clone(), config.seed)?;
    let one_pass = TrainConfig { trim: 0.0, ..config.clone() };
    let history = pass(&mut first, None, &one_pass, (1, 2))?;
    if history.stop_reason == StopReason::Interrupted && !resumed {
        *model = first;
        return Ok(history);
    }
    let rows = keep(&first)?;
    drop(first);
    pass(model, Some(rows), config, (2, 2))
}

/// The source named for the `kept` of `rows` rows of `source` a trimmed second pass
/// trains on.
pub(super) fn trimmed_source(
    source: &str,
    kept: impl std::fmt::Display,
    rows: impl std::fmt::Display,
) -> String {
    format!("{source} (the {kept} of {rows} rows the first pass reconstructed best)")
}

/// One pass of training: split, fit the normaliser, check the targets, run.
#[allow(clippy::too_many_arguments)]
fn fit_pass(
    model: &mut Autoencoder,
    train: &Dataset,
    validation: Option<&Dataset>,
    config: &TrainConfig,
    threads: &Threads,
    observer: &mut dyn Observer,
    options: FitOptions,
    fingerprint: Option<DataFingerprint>,
    pass: (usize, usize),
) -> Result<History> {
    let (train_rows, val_rows) = match validation {
        Some(v) => {
            model.check_training_data(v)?;
            (Rows::new(train, (0, train.rows())), Some(Rows::new(v, (0, v.rows()))))
        }
        None if config.validation_split > 0.0 => {
            let (t, v) = train.split_validation(config.validation_split)?;
            (Rows::new(train, (t.start, t.end)), Some(Rows::new(train, (v.start, v.end))))
        }
        None => (Rows::new(train, (0, train.rows())), None),
    };
    if train_rows.len() == 0 {
        return Err(Error::Data(format!("{}: no training rows", train.source)));
    }
    let d = model.input_dim();
    let kind = model.config().normalize;
    if fits_normalizer(model, train.nan_is_missing) {
        let fitted = if train.nan_is_missing {
            Normalizer::fit_with_fill(
                kind,
                train_rows.values(),
                d,
                train.feature_names.as_deref(),
                &train.source,
            )?
        } else {
            Normalizer::fit(kind, train_rows.values(), d)
        };
        model.set_normalizer(fitted)?;
    }
    check_loss_targets(model, config, &train_rows)?;
    if let Some(v) = &val_rows {
        check_loss_targets(model, config, v)?;
    }

    threads.install(|| {
        let mut train = MemoryFeed::new(train_rows);
        let mut val = val_rows.map(MemoryFeed::new);
        let val = val.as_mut().map(|v| v as &mut dyn Feed);
        run(model, &mut train, val, config, threads, observer, options, fingerprint, pass, None)
    })
}

/// Whether training fits `model`'s normaliser on the training rows: it has none yet,
/// and its configuration asks for one or the rows have missing values (`missing`) to fill.
pub(super) fn fits_normalizer(model: &Autoencoder, missing: bool) -> bool {
    model.normalizer().is_identity()
        && (model.config().normalize != crate::data::normalize::NormalizeKind::None || missing)
}

/// BCE and binarize need normalised targets in [0, 1]; checked chunk by chunk.
pub(super) fn check_loss_targets(model: &Autoencoder, config: &TrainConfig, rows: &Rows<'_>) -> Result<()> {
    if !config.checks_targets() {
        return Ok(());
    }
    let d = model.input_dim();
    let norm = model.normalizer();
    if norm.is_identity() {
        if rows.data.known_bytes() {
            // Every value is k/255 for a byte k: in [0, 1].
            return Ok(());
        }
        return config.check_targets(rows.values(), d, &rows.data.source).map_err(|e| shift_rows(e, rows));
    }
    let mut buf = vec![0.0f32; 1024 * d];
    for start in (0..rows.len()).step_by(1024) {
        let n = 1024.min(rows.len() - start);
        let vals = &rows.values()[start * d..(start + n) * d];
        norm.apply(vals, &mut buf[..n * d]);
        config.check_targets(&buf[..n * d], d, &format!("{} (after normalising)", rows.data.source))?;
    }
    Ok(())
}

fn shift_rows(e: Error, rows: &Rows<'_>) -> Error {
    if rows.range.0 == 0 {
        return e;
    }
    Error::Data(format!("{e} (row numbers counted from row {} of the file)", rows.range.0 + 1))
}

/// One training step at a time: the workspace, the optimizer state and the fixed
/// facts about the model, built once. [`fit`] drives it; benchmarks and custom
/// loops can call [`Trainer::step`] directly. After the first step, a step performs
/// no heap allocation (with one thread; tested with a counting allocator).
pub struct Trainer {
    ws: Workspace,
    opt: Optimizer,
    offsets: Vec<Range<usize>>,
    slots: Vec<TensorSlot>,
    decaying: Vec<TensorSlot>,
    fused: bool,
    config: TrainConfig,
    /// The schedule's factor on the learning rate for the current epoch.
    lr_scale: f64,
    /// The generator of the input corruption (the seed's `Noise` stream).
    noise_rng: random::ChaCha8Rng,
    /// Penalties on the code (sparse, contractive).
    code: CodePenalties,
    /// The index of a variational model's sampling layer.
    sample_layer: Option<usize>,
    /// The layers that take noise (sampling, dropout).
    noise_layers: Vec<usize>,
    /// The layers whose state a training step updates (batch norm).
    state_layers: Vec<usize>,
    /// Tied weights: decoder copies updated with the shared gradient.
    ties: Vec<crate::model::TiedPair>,
    /// The KL weight of the current epoch (β, or less during warm-up).
    kl_weight: f64,
    /// Micro-batch gradients ([`TrainConfig::micro_batch`]); `None` for whole batches.
    micro: Option<Micro>,
    /// On more than one thread, whole batches take the row-split step (`row_split`): every
    /// layer splits by rows, no code penalty or importance weighting couples them, and
    /// the weights are no more than the activations the products read over a batch
    /// (`row_split::favoured`).
    row_split: bool,
    /// Whether the whole-batch step has run each dense layer's products on every thread
    /// of the pool ([`Workspace::warm_whole_batch`]).
    warmed: bool,
}

/// A trainer's micro-batch state: the micro-batch size, the tree sum of the partial
/// gradients, and the processes sharing the micro-batches (`None`: this one computes
/// them all, with the same bits).
struct Micro {
    rows: usize,
    tree: super::micro::TreeSum,
    peers: Option<Box<dyn Peers>>,
    /// With rows shared out among the peers, each step's exchange of them.
    exchange: Option<RowExchange>,
    /// On more than one thread, a workspace per thread taking micro-batches and the
    /// share of the loss of the micro-batch it last computed (made by the first step).
    lanes: Vec<(Workspace, f64)>,
    /// With the sparsity penalty: each micro-batch's code sums (`m × k`), the processes'
    /// gathered, their counts, and the batch's mean activation (`k`).
    code_sums: Vec<f64>,
    gathered: Vec<f64>,
    counts: Vec<usize>,
    batch_mean: Vec<f64>,
}

impl Trainer {
    /// State for training `model` per `config` in batches of up to `batch` rows.
    pub fn new(model: &Autoencoder, config: &TrainConfig, batch: usize) -> Result<Self> {
        config.check()?;
        let code = config.code_penalties();
        code.check(Some(model))?;
        let ties = model.tied_weights();
        let n_layers = model.layers().len();
        let slots = model.slots();
        let iw = replicas(model, config)?;
        // Refused before anything is allocated: a batch whose buffers pass half the
        // machine's memory would end the process on a failed allocation.
        let values = Workspace::values(model.layers(), batch.max(1), config.noise.is_some(), iw);
        let budget = super::MemoryBudget::of_machine(1);
        if values.saturating_mul(4) > budget.bytes() {
            return Err(Error::config(
                "batch_size",
                format!(
                    "a batch of {batch} rows through {} takes {} of activations and gradients, more than the memory budget of {budget} (half the machine's memory); choose a smaller batch size",
                    model.config().describe_short(),
                    super::human_bytes(values.saturating_mul(4))
                ),
            ));
        }
        let micro = match config.micro_batch {
            0 => None,
            // Every setting trains: batch norm normalises each micro-batch by its own
            // statistics and keeps the batch's running ones (`Layer::state_sums`); the
            // code penalties take the batch's mean activation and each micro-batch's
            // share of their means.
            rows => Some(Micro {
                rows,
                tree: super::micro::TreeSum::new(model.param_count()),
                peers: None,
                exchange: None,
                lanes: Vec::new(),
                code_sums: Vec::new(),
                gathered: Vec::new(),
                counts: Vec::new(),
                batch_mean: Vec::new(),
            }),
        };
        Ok(Trainer {
            ws: Workspace::new(model.layers(), batch.max(1), model.param_count(), config.noise.is_some(), iw),
            opt: Optimizer::new(config.optimizer.clone(), model.param_count())?,
            offsets: (0..n_layers).map(|i| model.layer_params(i)).collect(),
            // A tied decoder copy is the same parameter as its encoder weight: its penalty
            // counts once.
            decaying: slots
                .iter()
                .copied()
                .filter(|s| s.decays && !ties.iter().any(|t| t.decoder == s.offset))
                .collect(),
            slots,
            fused: config.loss.fuses_with(model.layers()[n_layers - 1].activation()),
            config: config.clone(),
            lr_scale: 1.0,
            noise_rng: random::rng(config.seed, Stream::Noise),
            code,
            sample_layer: model.layers().iter().position(|l| l.kind() == LayerKind::Sample),
            noise_layers: (0..n_layers).filter(|&i| model.layers()[i].takes_noise()).collect(),
            state_layers: (0..n_layers).filter(|&i| model.layers()[i].has_state()).collect(),
            ties,
            kl_weight: config.beta,
            row_split: micro.is_none()
                && iw.is_none()
                && !config.code_penalties().active()
                && row_split::fits(model.layers())
                && row_split::favoured(model.layers(), batch),
            warmed: false,
            micro,
        })
    }

    /// Share the micro-batches with `peers` (each process computes its own and the
    /// partial gradients meet in the fixed tree): every process must call the steps
    /// with the same batches. The trainer must use micro-batches.
    pub(super) fn set_peers(&mut self, peers: Box<dyn Peers>) -> Result<()> {
        match &mut self.micro {
            Some(m) => {
                m.peers = Some(peers);
                Ok(())
            }
            None => Err(super::micro::without_micro_batches()),
        }
    }

    /// Whether training stops after this epoch: `control`, or with peers, whether any
    /// process's observer asks to stop (an all-gather of one flag each). Every process
    /// then stops after the same epoch, whichever asked (a callback on one process, or
    /// a signal that reached the processes at different moments), and they go on making
    /// the same exchanges.
    fn any_stops(&mut self, control: Control) -> Result<Control> {
        let Some(peers) = self.micro.as_mut().and_then(|m| m.peers.as_deref_mut()) else {
            return Ok(control);
        };
        let all = super::shard::one_each(peers, if control == Control::Stop { 1.0 } else { 0.0 })?;
        Ok(if all.contains(&1.0) { Control::Stop } else { Control::Continue })
    }

    /// The optimizer and its state.
    pub fn optimizer(&self) -> &Optimizer {
        &self.opt
    }

    pub(crate) fn optimizer_mut(&mut self) -> &mut Optimizer {
        &mut self.opt
    }

    /// One gradient step on rows `indices` of `data` (normalised with the model's
    /// normaliser; the target is the clean row): forward, loss, backward, clipping,
    /// the optimizer update. Returns the batch's mean loss, penalties included. A
    /// non-finite loss returns it without updating the weights.
    pub fn step(
        &mut self,
        model: &mut Autoencoder,
        data: &Dataset,
        indices: &[usize],
        threads: &Threads,
    ) -> f64 {
        let rows = Rows::new(data, (0, data.rows()));
        // Only the exchange with peers can fail, and `new` makes a trainer without them.
        threads.install(|| self.step_inner(model, &rows, indices, threads)).unwrap_or(f64::NAN)
    }

    pub(super) fn step_inner(
        &mut self,
        model: &mut Autoencoder,
        rows: &Rows<'_>,
        indices: &[usize],
        threads: &Threads,
    ) -> Result<f64> {
        if self.micro.is_some() {
            return self.step_micro(model, rows, indices, threads);
        }
        if self.row_split && threads.count() > 1 {
            return Ok(self.step_rows(model, rows, indices, threads));
        }
        if threads.count() > 1 && !self.warmed {
            self.ws.warm_whole_batch(model, &self.offsets, threads);
            self.warmed = true;
        }
        let ctx = Ctx::train(threads);
        let d = model.input_dim();
        let ws = &mut self.ws;
        // Each row normalised on its own: blocks of rows on the threads, the same bits.
        let gather = row_split::Gather { rows, indices, norm: model.normalizer() };
        row_split::gather(gather, &mut ws.input, threads);
        let n = indices.len();
        let noise = self.config.noise;
        ws.draw_noise(model, &self.config, &self.noise_layers, n, &mut self.noise_rng);
        let pass = Pass { model, offsets: &self.offsets, n, mean: n, fused: self.fused, ctx };
        let flags = (true, noise.is_some());
        let (sum, kl_sum) = ws.forward_loss(pass, self.config.loss, flags, self.sample_layer, self.kl_weight);
        let mut loss = sum / (n * d) as f64;
        let kl = kl_sum.and(self.sample_layer).map(|s| (s, (self.kl_weight / (n * d) as f64) as f32));
        if let (Some((_, scale)), Some(k)) = (kl, kl_sum) {
            loss += f64::from(scale) * k;
        }
        let code = self.code.active().then_some(&self.code);
        if let Some(c) = code {
            loss += code_penalty_value(model, ws, n, c);
        }
        let (l1, l2) = (self.config.l1, self.config.l2);
        if l1 > 0.0 || l2 > 0.0 {
            loss += penalty(model.params(), &self.decaying, l1, l2);
        }
        if !loss.is_finite() {
            return Ok(loss);
        }
        backward(model, &self.offsets, ws, n, self.fused, code, kl, self.kl_weight, ctx);
        self.update(model, threads);
        Ok(loss)
    }

    /// A whole-batch step split by rows over `threads` (`row_split`): the same bits as
    /// [`Trainer::step_inner`]'s one-thread step. Unless a rule needs the whole gradient
    /// first (clipping by its norm, tied weights, a layer's state), the units' pass
    /// applies the optimizer's update as it goes.
    fn step_rows(
        &mut self,
        model: &mut Autoencoder,
        rows: &Rows<'_>,
        indices: &[usize],
        threads: &Threads,
    ) -> f64 {
        let d = model.input_dim();
        let n = indices.len();
        let ws = &mut self.ws;
        let gather = row_split::Gather { rows, indices, norm: model.normalizer() };
        // Corrupted inputs are drawn from one stream over the whole batch: the rows are
        // gathered before, not in the rows' pass.
        let early = self.config.noise.is_some() || self.config.binarize;
        if early {
            row_split::gather(gather, &mut ws.input, threads);
        }
        ws.draw_noise(model, &self.config, &self.noise_layers, n, &mut self.noise_rng);
        ws.mean = n;
        let kl = self.sample_layer.map(|s| (s, (self.kl_weight / (n * d) as f64) as f32));
        let plan = row_split::Plan {
            noisy: self.config.noise.is_some(),
            kl,
            ..row_split::Plan::of(model, &self.offsets, self.config.loss, self.fused)
        };
        let (sum, kl_sum) = ws.split_rows(&plan, (!early).then_some(gather), n, true, threads);
        let mut loss = sum / (n * d) as f64;
        if let (Some((_, scale)), Some(k)) = (kl, kl_sum) {
            loss += f64::from(scale) * k;
        }
        let (l1, l2) = (self.config.l1, self.config.l2);
        if l1 > 0.0 || l2 > 0.0 {
            loss += penalty(model.params(), &self.decaying, l1, l2);
        }
        let fused_update = loss.is_finite()
            && self.config.clip_norm.is_none()
            && self.ties.is_empty()
            && self.state_layers.is_empty();
        if fused_update {
            let gt = GradTransform { grad_scale: 1.0, l1: l1 as f32, l2: l2 as f32 };
            let rule = self.opt.begin_step(gt, self.lr_scale);
            let (layers, params) = model.layers_and_params_mut();
            let state = self.opt.state_of(0..params.len());
            let update = row_split::Update { rule, params, state, slots: &self.slots };
            ws.split_units(layers, &self.offsets, Some(update), n, threads);
        } else {
            ws.split_units(model.layers(), &self.offsets, None, n, threads);
            if loss.is_finite() {
                self.update(model, threads);
            }
        }
        loss
    }

    /// A step on micro-batches of [`TrainConfig::micro_batch`] rows: this process's
    /// micro-batches forward and backward, each with its own noise (drawn from the seed,
    /// the step and the micro-batch's index, so that it does not depend on which process
    /// or thread computes it) and its share of the batch's mean; their gradients and
    /// losses sum in the fixed tree, with the other processes' when there are any. On
    /// more than one thread the threads take the micro-batches, each in a workspace of
    /// its own, in waves of one per thread whose gradients enter the tree in index order;
    /// a micro-batch's gradient has the same bits on one thread as with its products
    /// split, so the step has the same bits at any thread count.
    fn step_micro(
        &mut self,
        model: &mut Autoencoder,
        rows: &Rows<'_>,
        indices: &[usize],
        threads: &Threads,
    ) -> Result<f64> {
        let d = model.input_dim();
        let n = indices.len();
        let Micro { rows: micro_rows, tree, peers, exchange, lanes, code_sums, gathered, counts, batch_mean } =
            self.micro.as_mut().expect("a micro-batch trainer");
        let micro_rows = *micro_rows;
        let m = n.div_ceil(micro_rows);
        let (rank, size) = peers.as_ref().map_or((0, 1), |p| (p.rank(), p.size()));
        // Rows shared out among the processes: this one's micro-batches' rows, fetched.
        let fetched = match (exchange.as_mut(), peers.as_deref_mut()) {
            (Some(x), Some(p)) => Some(x.exchange(p, rows, indices, micro_rows)?),
            _ => None,
        };
        let kl = self.sample_layer.map(|s| (s, (self.kl_weight / (n * d) as f64) as f32));
        let job = MicroJob {
            model,
            offsets: &self.offsets,
            config: &self.config,
            noise_layers: &self.noise_layers,
            sample_layer: self.sample_layer,
            kl,
            kl_weight: self.kl_weight,
            fused: self.fused,
            step: self.opt.steps,
            rows,
            indices,
            fetched,
            micro_rows,
            state_layers: &self.state_layers,
            code: self.code.active().then_some(&self.code),
            batch_mean: &[],
        };
        // With the sparsity penalty, the batch's mean code activation first: every
        // micro-batch's code sums, through the encoder alone, gathered from the processes
        // and added in micro-batch order (so the same bits at any process count).
        let owned = super::micro::owned(m, rank, size);
        if self.config.sparsity.is_some() {
            let k = model.code_dim();
            code_sums.resize(m * k, 0.0);
            for j in owned.clone() {
                job.code_sums(&mut self.ws, j, &mut code_sums[j * k..(j + 1) * k], Ctx::train(threads));
            }
            if let Some(p) = peers.as_deref_mut() {
                gathered.resize(m * k, 0.0);
                counts.clear();
                counts.extend((0..size).map(|r| super::micro::owned(m, r, size).len() * k));
                p.all_gather_f64(&code_sums[owned.start * k..owned.end * k], counts, gathered)?;
                code_sums.copy_from_slice(gathered);
            }
            batch_mean.clear();
            batch_mean.resize(k, 0.0);
            for sums in code_sums.chunks_exact(k) {
                for (t, &v) in batch_mean.iter_mut().zip(sums) {
                    *t += v;
                }
            }
            super::code_penalty::finish_mean(batch_mean, n);
        }
        let job = MicroJob { batch_mean, ..job };
        tree.clear();
        let count = threads.count().min(owned.len());
        if count > 1 {
            let (layers, one) = (model.layers(), Threads::new(1));
            if lanes.is_empty() {
                // The first step: one micro-batch forward and backward on every thread of
                // the pool (in a workspace dropped after), so that each thread's product
                // buffers have every shape before the lanes land on it: later steps
                // allocate nothing, whichever thread takes which lane.
                let (params, noisy, iw) = (model.param_count(), job.config.noise.is_some(), self.ws.iw);
                threads.on_every_thread(|| {
                    let mut ws = Workspace::new(layers, micro_rows, params, noisy, iw);
                    job.run(&mut ws, owned.start, Ctx::train(&one));
                });
            }
            while lanes.len() < count {
                let ws = Workspace::new(
                    layers,
                    micro_rows,
                    model.param_count(),
                    job.config.noise.is_some(),
                    self.ws.iw,
                );
                lanes.push((ws, 0.0));
            }
            for wave in owned.clone().step_by(count) {
                let js = wave..(wave + count).min(owned.end);
                threads.for_each_mut(&mut lanes[..js.len()], |t, (ws, share)| {
                    *share = job.run(ws, js.start + t, Ctx::train(&one));
                });
                for (t, (ws, share)) in lanes[..js.len()].iter().enumerate() {
                    tree.push(js.start + t, &ws.grads, *share);
                }
            }
        } else {
            for j in owned {
                let share = job.run(&mut self.ws, j, Ctx::train(threads));
                tree.push(j, &self.ws.grads, share);
            }
        }
        let mut loss = tree.finish(m, peers.as_deref_mut(), &mut self.ws.grads)?;
        if self.config.sparsity.is_some() {
            // The sparsity penalty is a term of the batch, added once.
            loss += self.code.sparsity_value(job.batch_mean);
        }
        let (l1, l2) = (self.config.l1, self.config.l2);
        if l1 > 0.0 || l2 > 0.0 {
            loss += penalty(model.params(), &self.decaying, l1, l2);
        }
        if loss.is_finite() {
            // The state from the whole batch's sums, which leave the gradient.
            let (layers, params) = model.layers_and_params_mut();
            for &i in &self.state_layers {
                let r = self.offsets[i].clone();
                layers[i].update_state_from_sums(&mut params[r.clone()], &mut self.ws.grads[r], n);
            }
            self.update(model, threads);
        }
        Ok(loss)
    }

    /// The update from the gradient in the workspace: tied copies combined, the norm
    /// clipped, the optimizer's step, the layers' state.
    fn update(&mut self, model: &mut Autoencoder, threads: &Threads) {
        let ws = &mut self.ws;
        let (l1, l2) = (self.config.l1, self.config.l2);
        for t in &self.ties {
            t.combine_gradients(&mut ws.grads);
        }
        let grad_scale = match self.config.clip_norm {
            Some(c) => {
                // A tied matrix counts once in the norm.
                let copies: f64 =
                    self.ties.iter().map(|t| elementwise::sum_squares(&ws.grads[t.decoder_range()])).sum();
                let norm = (elementwise::sum_squares(&ws.grads) - copies).max(0.0).sqrt();
                if norm > c {
                    (c / norm) as f32
                } else {
                    1.0
                }
            }
            None => 1.0,
        };
        let gt = GradTransform { grad_scale, l1: l1 as f32, l2: l2 as f32 };
        self.opt.step_with(model.params_mut(), &ws.grads, &self.slots, gt, self.lr_scale, threads);
        // (Micro-batches updated the state from their sums before the step.)
        if self.micro.is_none() {
            for &i in &self.state_layers {
                model.update_layer_state(i, &ws.scratch[i]);
            }
        }
    }

    /// The mean loss over the rows of `feed` (no update), in order, in batches of the
    /// workspace's size.
    ///
    /// With peers, each process measures an even, contiguous share of the batches
    /// ([`owned`](super::micro::owned)) and moves the noise generator past the draws of
    /// the others' batches (a variational model samples its code here): the batches'
    /// sums are gathered and added in order, so every process gets the bits of one
    /// process measuring them all, and its generator ends where that one's does.
    pub(super) fn mean_loss(
        &mut self,
        model: &Autoencoder,
        feed: &mut dyn Feed,
        ctx: Ctx<'_>,
    ) -> Result<f64> {
        // (A variational model's validation loss is the single-sample negative ELBO, or
        // with `iw_train` the bound it trains on, each with the epoch's KL weight.)
        let d = model.input_dim();
        let (rows, batch) = (feed.len(), self.ws.batch);
        let batches = rows.div_ceil(batch);
        let mut peers = self.micro.as_mut().and_then(|m| m.peers.take());
        let (rank, size) = peers.as_ref().map_or((0, 1), |p| (p.rank(), p.size()));
        let mine = validation_share(rows, batch, rank, size);
        let mut sums = Vec::with_capacity(mine.len().div_ceil(batch));
        self.skip_noise(model, mine.start);
        let measured = feed.in_order(batch, mine.clone(), &mut |b, range| {
            sums.push(self.batch_loss_sum(model, b, range, ctx));
            Ok(())
        });
        self.skip_noise(model, rows - mine.end);
        let gathered = match (measured, peers.as_deref_mut()) {
            (Err(e), _) => Err(e),
            (Ok(()), None) => Ok(sums),
            (Ok(()), Some(p)) => {
                let counts: Vec<usize> =
                    (0..size).map(|r| validation_share(rows, batch, r, size).len().div_ceil(batch)).collect();
                let mut all = vec![0.0; batches];
                p.all_gather_f64(&sums, &counts, &mut all).map(|()| all)
            }
        };
        if let (Some(m), Some(p)) = (self.micro.as_mut(), peers) {
            m.peers = Some(p);
        }
        let sum = gathered?.iter().fold(0.0, |s, b| s + b);
        let mut loss = sum / (rows * d) as f64;
        if self.config.l1 > 0.0 || self.config.l2 > 0.0 {
            loss += penalty(model.params(), &self.decaying, self.config.l1, self.config.l2);
        }
        Ok(loss)
    }

    /// Move the noise generator past the draws [`batch_loss_sum`](Self::batch_loss_sum)
    /// makes for `rows` rows (a variational model's code samples) without making them.
    fn skip_noise(&mut self, model: &Autoencoder, rows: usize) {
        if let Some(i) = self.sample_layer.filter(|_| rows > 0) {
            let l = &model.layers()[i];
            l.skip_noise(self.ws.rows_at(i, rows) * l.scratch_width(), &mut self.noise_rng);
        }
    }

    /// The summed loss of rows `range` of `rows` (a batch; no update).
    fn batch_loss_sum(
        &mut self,
        model: &Autoencoder,
        rows: &Rows<'_>,
        range: Range<usize>,
        ctx: Ctx<'_>,
    ) -> f64 {
        let ws = &mut self.ws;
        let n = ws.gather(rows, range, model.normalizer());
        for &i in &self.noise_layers {
            // Validation: dropout off; a variational code still sampled (the ELBO).
            let l = &model.layers()[i];
            let rows = ws.rows_at(i, n);
            let noise = &mut ws.scratch[i][..rows * l.scratch_width()];
            if Some(i) == self.sample_layer {
                l.draw_noise(noise, &mut self.noise_rng);
            } else {
                l.inference_noise(noise);
            }
        }
        let (recon, kl) = if self.row_split && ctx.threads.count() > 1 {
            // Split by rows as the steps are: the same sums, with the same bits.
            let plan = row_split::Plan {
                kl: self.sample_layer.map(|s| (s, 0.0)),
                ..row_split::Plan::of(model, &self.offsets, self.config.loss, self.fused)
            };
            ws.mean = n;
            ws.split_rows(&plan, None, n, false, ctx.threads)
        } else {
            let pass = Pass { model, offsets: &self.offsets, n, mean: n, fused: self.fused, ctx };
            ws.forward_loss(pass, self.config.loss, (false, false), self.sample_layer, self.kl_weight)
        };
        let mut sum = recon;
        if let Some(k) = kl {
            sum += self.kl_weight * k;
        }
        sum
    }
}

/// What every micro-batch of a step needs, shared by the threads that take them.
struct MicroJob<'a> {
    model: &'a Autoencoder,
    offsets: &'a [Range<usize>],
    config: &'a TrainConfig,
    noise_layers: &'a [usize],
    sample_layer: Option<usize>,
    kl: Option<(usize, f32)>,
    kl_weight: f64,
    fused: bool,
    /// The optimizer's step count: with the micro-batch's index, its noise stream.
    step: u64,
    rows: &'a Rows<'a>,
    indices: &'a [usize],
    /// The step's rows fetched from the processes that hold them, and the index of the
    /// first micro-batch they start at (rows shared out among processes).
    fetched: Option<(&'a [f32], usize)>,
    micro_rows: usize,
    /// The layers with state (batch norm), whose sums each micro-batch adds.
    state_layers: &'a [usize],
    /// The code penalties, when on.
    code: Option<&'a CodePenalties>,
    /// With the sparsity penalty, the batch's mean code activation (else empty).
    batch_mean: &'a [f64],
}

impl MicroJob<'_> {
    /// Micro-batch `j`'s rows gathered into `ws` and its noise drawn (from the seed, the
    /// step and `j`: the same draws each time); returns its row count.
    fn prepare(&self, ws: &mut Workspace, j: usize) -> usize {
        let (model, d, n) = (self.model, self.model.input_dim(), self.indices.len());
        let part = &self.indices[j * self.micro_rows..((j + 1) * self.micro_rows).min(n)];
        let nj = match self.fetched {
            Some((values, first)) => {
                let at = (j * self.micro_rows - first) * d;
                ws.gather_values(&values[at..at + part.len() * d], part.len(), model.normalizer())
            }
            None => ws.gather(self.rows, part.iter().copied(), model.normalizer()),
        };
        let mut rng = random::rng_at(self.config.seed, Stream::Noise, self.step, j as u64);
        ws.draw_noise(model, self.config, self.noise_layers, nj, &mut rng);
        nj
    }

    /// Micro-batch `j`'s code sums (`code_penalty::code_sums`), through the encoder
    /// alone, into `sums` (the code size).
    fn code_sums(&self, ws: &mut Workspace, j: usize, sums: &mut [f64], ctx: Ctx<'_>) {
        let model = self.model;
        let (enc, k) = (model.encoder_len(), model.code_dim());
        let nj = self.prepare(ws, j);
        ws.forward(&model.layers()[..enc], self.offsets, model.params(), nj, false, ctx);
        super::code_penalty::code_sums(&ws.acts[enc - 1][..nj * k], sums);
    }

    /// Micro-batch `j` forward and backward in `ws` (its gradient in `ws.grads`); returns
    /// its share of the batch's loss.
    fn run(&self, ws: &mut Workspace, j: usize, ctx: Ctx<'_>) -> f64 {
        let (model, d, n) = (self.model, self.model.input_dim(), self.indices.len());
        let nj = self.prepare(ws, j);
        ws.batch_mean.clear();
        ws.batch_mean.extend_from_slice(self.batch_mean);
        let pass = Pass { model, offsets: self.offsets, n: nj, mean: n, fused: self.fused, ctx };
        let flags = (true, self.config.noise.is_some());
        let (sum, kl_sum) = ws.forward_loss(pass, self.config.loss, flags, self.sample_layer, self.kl_weight);
        let mut share = sum / (n * d) as f64;
        if let (Some((_, scale)), Some(k)) = (self.kl, kl_sum) {
            share += f64::from(scale) * k;
        }
        // The L1 and contractive penalties: a mean over the batch, this micro-batch's share.
        if let Some(c) = self.code {
            share += code_penalty_value(model, ws, nj, c);
        }
        if share.is_finite() {
            backward(model, self.offsets, ws, nj, self.fused, self.code, self.kl, self.kl_weight, ctx);
            for &i in self.state_layers {
                let r = self.offsets[i].clone();
                model.layers()[i].state_sums(&model.params()[r.clone()], &ws.scratch[i], &mut ws.grads[r]);
            }
        }
        share
    }
}

/// Early stopping's memory: the best monitored loss, the epoch that reached it, the
/// epochs since, and (when the best weights are to be put back) a copy of them.
struct Best {
    loss: f64,
    epoch: usize,
    since: usize,
    /// The best epoch's weights; empty unless early stopping restores them.
    params: Vec<f32>,
    /// The smallest decrease that counts as an improvement.
    min_delta: f64,
    /// Epochs without improvement before stopping; `None` without early stopping.
    patience: Option<usize>,
}

impl Best {
    fn new(config: &TrainConfig, params: &[f32]) -> Self {
        let es = config.early_stopping.as_ref();
        Best {
            loss: f64::INFINITY,
            epoch: 0,
            since: 0,
            params: if es.is_some_and(|e| e.restore_best) { params.to_vec() } else { Vec::new() },
            min_delta: es.map_or(0.0, |e| e.min_delta),
            patience: es.map(|e| e.patience),
        }
    }

    /// Record epoch `epoch`'s monitored loss and weights; true when early stopping's
    /// patience has run out.
    fn observe(&mut self, epoch: usize, monitored: f64, params: &[f32]) -> bool {
        if monitored < self.loss - self.min_delta {
            self.loss = monitored;
            self.epoch = epoch;
            self.since = 0;
            if !self.params.is_empty() {
                self.params.copy_from_slice(params);
            }
        } else {
            self.since += 1;
        }
        self.patience.is_some_and(|p| self.since >= p)
    }

    /// Put the best epoch's weights back into `model` when they are kept and another
    /// epoch was last; returns the epoch whose weights the model ends with.
    fn restore_into(&self, model: &mut Autoencoder, epochs_run: usize) -> usize {
        if !self.params.is_empty() && self.epoch > 0 && self.epoch != epochs_run {
            model.params_mut().copy_from_slice(&self.params);
            self.epoch
        } else {
            epochs_run
        }
    }
}

/// Everything an epoch changes besides the weights: what a checkpoint saves and
/// [`Resume::restore`] puts back.
struct EpochState {
    trainer: Trainer,
    shuffle_rng: random::ChaCha8Rng,
    best: Best,
    records: Vec<EpochRecord>,
    plateau: crate::optim::PlateauState,
}

impl Resume {
    /// Continue where the checkpoint stopped: the optimizer's state and steps, both
    /// generators' positions, the row order, early stopping's memory, the history and
    /// the schedule's plateau. Refuses a checkpoint made with other row counts, or whose
    /// optimizer state or order does not fit.
    fn restore(
        self,
        run: &mut EpochState,
        order: &mut [usize],
        rows: (usize, usize),
        source: &str,
    ) -> Result<()> {
        let s = self.state;
        if s.rows != rows {
            return Err(Error::format(&self.path, format!(
                "the checkpoint was made with {} training and {} validation rows ({}), this data gives {} and {} ({source})",
                s.rows.0, s.rows.1, s.data, rows.0, rows.1
            )));
        }
        let opt = run.trainer.optimizer_mut();
        if self.optimizer.0.len() != opt.state1.len() || self.optimizer.1.len() != opt.state2.len() {
            return Err(Error::Data("the checkpoint's optimizer state does not fit this optimizer".into()));
        }
        if self.order.len() != order.len() {
            return Err(Error::Data("the checkpoint's row order does not fit this data".into()));
        }
        opt.state1.copy_from_slice(&self.optimizer.0);
        opt.state2.copy_from_slice(&self.optimizer.1);
        opt.steps = s.optimizer_steps;
        run.shuffle_rng.set_word_pos(s.shuffle_position.0);
        run.trainer.noise_rng.set_word_pos(s.noise_position.0);
        let best = &mut run.best;
        if !best.params.is_empty() && self.best_params.len() == best.params.len() {
            best.params.copy_from_slice(&self.best_params);
        }
        best.loss = s.best.unwrap_or(f64::INFINITY);
        best.epoch = s.best_epoch;
        best.since = s.since_best;
        run.records = s.history;
        run.plateau = s.plateau;
        order.iter_mut().zip(&self.order).for_each(|(o, &i)| *o = i as usize);
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    model: &mut Autoencoder,
    train: &mut dyn Feed,
    mut val: Option<&mut dyn Feed>,
    config: &TrainConfig,
    threads: &Threads,
    observer: &mut dyn Observer,
    options: FitOptions,
    fingerprint: Option<DataFingerprint>,
    pass: (usize, usize),
    exchange: Option<RowExchange>,
) -> Result<History> {
    // Validation passes are inference passes (batch norm's running statistics).
    let ctx = Ctx::infer(threads);
    let n_train = train.len();
    let n_val = val.as_ref().map_or(0, |v| v.len());
    let source = train.source().to_string();
    // Checkpoints and the summary keep the configuration asked for; the run uses its
    // epoch limit and patience raised for `min_steps` (the same on resuming).
    let asked = config;
    let for_rows = config.for_rows(n_train);
    let config = &for_rows;
    let batch = config.batch_size.min(n_train);
    let mut trainer = Trainer::new(model, config, batch)?;
    if let Some(p) = options.peers {
        trainer.set_peers(p)?;
    }
    if let (Some(x), Some(m)) = (exchange, trainer.micro.as_mut()) {
        m.exchange = Some(x);
    }
    let mut run = EpochState {
        trainer,
        shuffle_rng: random::rng(config.seed, Stream::Shuffle),
        best: Best::new(config, model.params()),
        records: Vec::with_capacity(config.epochs.min(1024)),
        plateau: Default::default(),
    };
    if let Some(ck) = options.resume {
        let order =
            train.order().ok_or_else(|| Error::config("resume", "streamed training is not resumed"))?;
        ck.restore(&mut run, order, (n_train, n_val), &source)?;
    }
    let first_epoch = run.records.len() + 1;
    let mut good_params = model.params().to_vec();
    let batches = n_train.div_ceil(batch);
    observer.on_train_start(&TrainStart {
        epochs: config.epochs,
        first_epoch,
        batches_per_epoch: batches,
        train_rows: n_train,
        val_rows: n_val,
        pass,
    });

    let mut stop = StopReason::EpochLimit;
    // Steps and validation passes join the threads many times a second.
    let _awake = threads.keep_awake();
    for epoch in first_epoch..=config.epochs {
        let t0 = Instant::now();
        let trainer = &mut run.trainer;
        trainer.lr_scale = config.lr_schedule.factor(epoch, config.epochs, run.plateau.factor);
        trainer.kl_weight = config.kl_weight(epoch);
        // Each epoch reshuffles the previous order (a checkpoint keeps both the order
        // and the generator's position).
        let shuffle = config.shuffle.then_some(&mut run.shuffle_rng);
        let mut loss_sum = 0.0f64;
        let mut b = 0;
        train.epoch(batch, shuffle, &mut |rows, chunk| {
            let batch_loss = trainer.step_inner(model, rows, chunk, threads)?;
            if !batch_loss.is_finite() {
                model.params_mut().copy_from_slice(&good_params);
                return Err(Error::Diverged { epoch, batch: b + 1, loss: batch_loss });
            }
            loss_sum += batch_loss * chunk.len() as f64;
            observer.on_batch_end(epoch, b + 1, loss_sum / ((b * batch + chunk.len()) as f64));
            if observer.cancelled() {
                return Err(Error::Cancelled { epoch, batch: b + 1 });
            }
            b += 1;
            Ok(())
        })?;
        let train_seconds = t0.elapsed().as_secs_f64();
        let train_loss = loss_sum / n_train as f64;
        let val_loss = match val.as_deref_mut() {
            Some(v) => Some(trainer.mean_loss(model, v, ctx)?),
            None => None,
        };
        if let Some(v) = val_loss {
            if !v.is_finite() {
                model.params_mut().copy_from_slice(&good_params);
                return Err(Error::Diverged { epoch, batch: batches, loss: v });
            }
        }
        // The epoch's last step may leave weights that no loss has seen yet: non-finite,
        // the next loss would be NaN (and a model's codes, its codec's histogram).
        if !model.params().iter().fold(true, |finite, v| finite & v.is_finite()) {
            model.params_mut().copy_from_slice(&good_params);
            return Err(Error::Diverged { epoch, batch: batches, loss: f64::NAN });
        }
        good_params.copy_from_slice(model.params());
        let seconds = t0.elapsed().as_secs_f64();
        let record = EpochRecord {
            epoch,
            train_loss,
            val_loss,
            seconds,
            rows_per_second: n_train as f64 / train_seconds.max(1e-9),
            lr: config.optimizer.lr * trainer.lr_scale,
        };
        let control = run.trainer.any_stops(observer.on_epoch_end(&record))?;
        let prev_train = run.records.last().map(|r| r.train_loss);
        run.records.push(record);

        let monitored = val_loss.unwrap_or(train_loss);
        run.plateau.update(&config.lr_schedule, monitored);
        if run.best.observe(epoch, monitored, model.params()) {
            stop = StopReason::EarlyStopping;
        } else if let (Some(tol), Some(prev)) = (config.tolerance, prev_train) {
            if (prev - train_loss).abs() <= tol * prev.abs() {
                stop = StopReason::Converged;
            }
        }
        if stop == StopReason::EpochLimit && control == Control::Stop {
            stop = StopReason::Interrupted;
        }
        let finished = stop != StopReason::EpochLimit || epoch == config.epochs;
        if let Some(path) = &options.checkpoint {
            let due = options.checkpoint_every > 0 && epoch % options.checkpoint_every == 0;
            if (due && !finished) || stop == StopReason::Interrupted {
                let opt = run.trainer.optimizer();
                let best = &run.best;
                let state = ResumeState {
                    epochs_done: epoch,
                    optimizer_steps: opt.steps,
                    shuffle_position: WordPosition(run.shuffle_rng.get_word_pos()),
                    noise_position: WordPosition(run.trainer.noise_rng.get_word_pos()),
                    best: best.loss.is_finite().then_some(best.loss),
                    best_epoch: best.epoch,
                    since_best: best.since,
                    history: run.records.clone(),
                    config: asked.clone(),
                    threads: threads.count(),
                    data: source.clone(),
                    rows: (n_train, n_val),
                    plateau: run.plateau,
                    fingerprint: fingerprint.clone(),
                };
                let order = train
                    .order()
                    .ok_or_else(|| Error::config("checkpoint", "streamed training writes no checkpoints"))?;
                let order32: Vec<u32> = order.iter().map(|&i| i as u32).collect();
                save_checkpoint(path, model, &state, (&opt.state1, &opt.state2), &best.params, &order32)?;
            }
        }
        if finished {
            break;
        }
    }

    let epochs_run = run.records.len();
    let weights_epoch = run.best.restore_into(model, epochs_run);
    let history = History { epochs: run.records, stop_reason: stop, weights_epoch };
    model.training = Some(TrainingSummary {
        epochs_run,
        weights_epoch,
        train_loss: history.epochs.iter().map(|e| e.train_loss).collect(),
        val_loss: history.epochs.iter().filter_map(|e| e.val_loss).collect(),
        stop_reason: stop,
        seed: config.seed,
        config: serde_json::to_value(asked).unwrap_or(serde_json::Value::Null),
        data: source,
        rows: (n_train, n_val),
    });
    Ok(history)
}

/// Where and how often the rows are replicated to train `model` on the importance-
/// weighted bound of `config.iw_train` samples (`None` for the ELBO and for models that
/// are not variational); an error when the model cannot be trained on it.
fn replicas(model: &Autoencoder, config: &TrainConfig) -> Result<Option<Replicas>> {
    if config.iw_train <= 1 {
        return Ok(None);
    }
    let at = model.layers().iter().position(|l| l.kind() == LayerKind::Sample).ok_or_else(|| {
        Error::config(
            "iw_train",
            "the importance-weighted bound trains variational models (variational = true)",
        )
    })?;
    let out = model.layers()[model.layers().len() - 1].activation();
    if !config.loss.fuses_with(out) {
        return Err(Error::config(
            "iw_train",
            format!(
                "the importance-weighted bound needs a Bernoulli decoder: loss bce with a sigmoid output (not {} with {})",
                config.loss,
                out.name()
            ),
        ));
    }
    Ok(Some(Replicas { at, k: config.iw_train }))
}

/// `l1·Σ|w| + l2·Σw²` over the tensors that decay.
fn penalty(params: &[f32], decaying: &[TensorSlot], l1: f64, l2: f64) -> f64 {
    let mut p = 0.0;
    for s in decaying {
        let w = &params[s.offset..s.offset + s.len];
        if l1 > 0.0 {
            p += l1 * elementwise::sum_abs(w);
        }
        if l2 > 0.0 {
            p += l2 * elementwise::sum_squares(w);
        }
    }
    p
}

/// Backward through every layer, from `ws.grad_a` holding `∂L/∂output` (or the
/// logits' gradient when `fused`) down to the first layer's parameter gradients.
#[allow(clippy::too_many_arguments)]
fn backward(
    model: &Autoencoder,
    offsets: &[Range<usize>],
    ws: &mut Workspace,
    n: usize,
    fused: bool,
    code: Option<&CodePenalties>,
    kl: Option<(usize, f32)>,
    beta: f64,
    ctx: Ctx<'_>,
) {
    let layers = model.layers();
    let params = model.params();
    let code_layer = model.encoder_len() - 1;
    let k = model.code_dim();
    let w0 = first_weights(model);
    for i in (0..layers.len()).rev() {
        let layer = &layers[i];
        if let (Some(c), true) = (code, i == code_layer) {
            // ∂L/∂h arrives in grad_a: add the code penalties' share before the code layer.
            let batch_mean = (!ws.batch_mean.is_empty()).then_some(&ws.batch_mean[..]);
            let codes = Codes { h: &ws.acts[i][..n * k], rows: n, mean: ws.mean, k, batch_mean };
            c.add_code_gradient(codes, w0, &mut ws.grad_a[..n * k], &mut ws.code_scratch);
        }
        let rows = ws.rows_at(i, n);
        let iw = ws.iw.filter(|r| r.at == i);
        let x: &[f32] = match (i, iw) {
            (_, Some(_)) => &ws.rep,
            (0, None) => &ws.input,
            _ => &ws.acts[i - 1],
        };
        let x = &x[..rows * layer.input_width()];
        let dx = if i > 0 { Some(&mut ws.grad_b[..rows * layer.input_width()]) } else { None };
        layer.backward(Backward {
            params: &params[offsets[i].clone()],
            grads: &mut ws.grads[offsets[i].clone()],
            x,
            y: &ws.acts[i],
            scratch: &mut ws.scratch[i],
            rows,
            dy: &mut ws.grad_a[..rows * layer.output_width()],
            dx,
            dy_is_preactivation: fused && i == layers.len() - 1,
            ctx,
        });
        if let (Some(c), 0) = (code, i) {
            let gw = &mut ws.grads[offsets[0].start..offsets[0].start + w0.len()];
            let codes =
                Codes { h: &ws.acts[code_layer][..n * k], rows: n, mean: ws.mean, k, batch_mean: None };
            c.add_weight_gradient(codes, w0, gw, &mut ws.code_scratch);
        }
        if let Some((s, scale)) = kl.filter(|&(s, _)| s == i) {
            // The KL term's gradient joins the sampling layer's input gradient.
            super::kl::add_kl_gradient(&ws.acts[s - 1], n, k, scale, &mut ws.grad_b[..n * 2 * k]);
        }
        if let Some(r) = iw {
            // The bound's latent terms join the copies' input gradient; the copies'
            // gradients then sum into their row's (the encoder ran once per row).
            let shape = super::iw::Shape { n, k: r.k, d: model.input_dim(), code: k, mean: ws.mean };
            let dx = &mut ws.grad_b[..rows * 2 * k];
            super::iw::add_latent_gradient(shape, &ws.rep, &ws.acts[i], &ws.scratch[i], &ws.log_w, beta, dx);
            super::iw::sum_replicas(dx, n, 2 * k, r.k);
        }
        std::mem::swap(&mut ws.grad_a, &mut ws.grad_b);
    }
}

/// The first encoder layer's weight matrix (`out × in`, first in its parameters).
fn first_weights(model: &Autoencoder) -> &[f32] {
    let l = &model.layers()[0];
    let len = l.input_width() * l.output_width();
    let r = model.layer_params(0);
    &model.params()[r.start..(r.start + len).min(r.end)]
}

/// The code penalties of the last forward pass, over its `n` rows: a mean over the
/// rows of its batch (`ws.mean`). A micro-batch's leaves out the sparsity penalty's
/// value, a term of the batch (`ws.batch_mean` set).
fn code_penalty_value(model: &Autoencoder, ws: &mut Workspace, n: usize, c: &CodePenalties) -> f64 {
    let k = model.code_dim();
    let batch_mean = (!ws.batch_mean.is_empty()).then_some(&ws.batch_mean[..]);
    let codes =
        Codes { h: &ws.acts[model.encoder_len() - 1][..n * k], rows: n, mean: ws.mean, k, batch_mean };
    c.value(codes, first_weights(model), &mut ws.code_scratch)
}

/// The mean loss of `model` on `rows` normalised rows `x` (the target is `x`), and
/// its gradient with respect to every parameter, in the parameter buffer's layout.
/// What one training step computes before the optimizer; for gradient checks and
/// diagnostics.
pub fn loss_and_gradient(
    model: &Autoencoder,
    x: &[f32],
    loss: crate::loss::Loss,
    threads: &Threads,
) -> Result<(f64, Vec<f32>)> {
    loss_and_gradient_with(model, x, &TrainConfig { loss, ..TrainConfig::default() }, threads)
}

/// [`loss_and_gradient`] with the loss and the code penalties (`code_l1`, `sparsity`,
/// `contractive`) of `config`; no noise, no weight penalties.
pub fn loss_and_gradient_with(
    model: &Autoencoder,
    x: &[f32],
    config: &TrainConfig,
    threads: &Threads,
) -> Result<(f64, Vec<f32>)> {
    let loss = config.loss;
    let code = config.code_penalties();
    code.check(Some(model))?;
    let code = code.active().then_some(code);
    let d = model.input_dim();
    if d == 0 || !x.len().is_multiple_of(d) || x.is_empty() {
        return Err(Error::Data(format!("{} values is not a whole number of rows of {d}", x.len())));
    }
    let n = x.len() / d;
    let ctx = Ctx::train(threads);
    let layers = model.layers();
    let offsets: Vec<Range<usize>> = (0..layers.len()).map(|i| model.layer_params(i)).collect();
    let fused = loss.fuses_with(layers[layers.len() - 1].activation());
    let iw = replicas(model, config)?;
    let mut ws = Workspace::new(layers, n, model.param_count(), false, iw);
    ws.input.copy_from_slice(x);
    // Noise-taking layers (a variational sample, dropout) use a fixed draw from the seed.
    let sample = layers.iter().position(|l| l.kind() == LayerKind::Sample);
    let mut rng = random::rng(config.seed, Stream::Noise);
    for (i, l) in layers.iter().enumerate() {
        if l.takes_noise() {
            let rows = ws.rows_at(i, n);
            l.draw_noise(&mut ws.scratch[i][..rows * l.scratch_width()], &mut rng);
        }
    }
    threads.install(|| {
        let pass = Pass { model, offsets: &offsets, n, mean: n, fused, ctx };
        let (sum, kl_sum) = ws.forward_loss(pass, loss, (true, false), sample, config.beta);
        let penalty = code.as_ref().map_or(0.0, |c| code_penalty_value(model, &mut ws, n, c));
        let kl = kl_sum.and(sample).map(|s| (s, (config.beta / (n * d) as f64) as f32));
        let kl_value = match (kl, kl_sum) {
            (Some((_, scale)), Some(k)) => f64::from(scale) * k,
            _ => 0.0,
        };
        backward(model, &offsets, &mut ws, n, fused, code.as_ref(), kl, config.beta, ctx);
        for t in model.tied_weights() {
            t.combine_gradients(&mut ws.grads);
        }
        Ok((sum / (n * d) as f64 + penalty + kl_value, ws.grads))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;
    use crate::train::micro::tests::Table;
    use rand::RngCore;

    /// Rows whose values are bytes (k/255) are gathered from their bytes, normalised
    /// after, with the bits of the values gathered as they are; a set below the gather's
    /// floor, or not of bytes, or a buffer refilled every batch, from its values.
    #[test]
    fn rows_of_bytes_are_gathered_from_them_with_the_same_bits() {
        let (rows, cols) = (1400, 784); // 1,097,600 values: above the 2^20 floor
        let mut rng = random::rng(3, random::Stream::Noise);
        let values: Vec<f32> = (0..rows * cols).map(|_| f32::from(rng.next_u32() as u8) / 255.0).collect();
        let data = Dataset::new(values.clone(), rows, cols, "bytes").unwrap();
        let indices = [1099, 0, 7, 700, 7, 3];
        for kind in [
            crate::data::NormalizeKind::None,
            crate::data::NormalizeKind::ZScore,
            crate::data::NormalizeKind::MinMax,
        ] {
            let norm = Normalizer::fit(kind, &values, cols);
            for range in [(0, rows), (200, 1300)] {
                let held = Rows::new(&data, range);
                assert!(held.bytes().is_some(), "{range:?}");
                let mut out = vec![f32::NAN; indices.len() * cols];
                assert_eq!(normalised_rows(&held, indices.iter().copied(), &norm, &mut out), 6);
                for (&i, got) in indices.iter().zip(out.chunks(cols)) {
                    let mut want = data.row(range.0 + i).to_vec();
                    norm.apply_in_place(&mut want);
                    assert_eq!(
                        got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        "{kind:?} row {i}"
                    );
                }
            }
        }
        // Not bytes (one value off the steps), or too few values: from the values.
        let mut off = values.clone();
        off[5] = 0.3;
        let off = Dataset::new(off, rows, cols, "off").unwrap();
        assert!(Rows::new(&off, (0, rows)).bytes().is_none());
        assert!(Rows::refilled(&data, (0, rows)).bytes().is_none());
        let small = Dataset::new(values[..100 * cols].to_vec(), 100, cols, "small").unwrap();
        assert!(small.bytes().is_some() && Rows::new(&small, (0, 100)).bytes().is_none());
    }

    /// `Workspace::values` counts the values of `Workspace::new`'s batch-sized buffers
    /// (dense, with noise, a VAE trained on the importance-weighted bound, a conv model),
    /// and a batch whose buffers pass the memory budget is refused before they are made.
    #[test]
    fn the_workspace_is_counted_and_a_batch_beyond_memory_is_refused() {
        let dense = ModelConfig { input_dim: 12, layers: vec![7, 3], ..ModelConfig::default() };
        let vae = ModelConfig { variational: true, ..dense.clone() };
        let conv = ModelConfig {
            input_dim: 64,
            arch: crate::model::Arch::Conv,
            image_shape: Some(crate::ImageShape { channels: 1, height: 8, width: 8 }),
            channels: vec![2],
            layers: vec![4],
            batch_norm: true,
            ..ModelConfig::default()
        };
        let cases =
            [(dense.clone(), None, false), (dense, None, true), (vae, Some(3), false), (conv, None, false)];
        for (config, k, noisy) in cases {
            let model = Autoencoder::new(config.clone(), 0).unwrap();
            let iw = k.map(|k| Replicas {
                at: model.layers().iter().position(|l| l.kind() == LayerKind::Sample).unwrap(),
                k,
            });
            let ws = Workspace::new(model.layers(), 5, model.param_count(), noisy, iw);
            let made = ws.input.len()
                + ws.target.len()
                + ws.acts.iter().chain(&ws.scratch).map(Vec::len).sum::<usize>()
                + ws.grad_a.len()
                + ws.grad_b.len()
                + ws.rep.len();
            assert_eq!(Workspace::values(model.layers(), 5, noisy, iw), made as u64, "{config:?}");
        }
        let model =
            Autoencoder::new(ModelConfig { input_dim: 8, layers: vec![16_000], ..ModelConfig::default() }, 0)
                .unwrap();
        let e = Trainer::new(&model, &TrainConfig::default(), 1 << 30).err().unwrap().to_string();
        assert!(
            e.contains("a batch of 1073741824 rows through 8-16000-8 takes") && e.contains("memory budget"),
            "{e}"
        );
        assert!(Trainer::new(&model, &TrainConfig::default(), 64).is_ok());
    }

    /// Processes sharing a variational model's validation loss each measure a share of
    /// its batches, the shares tiling the rows in order (some empty when there are more
    /// processes than batches): each process holds only its share's rows, and is asked
    /// for no others. Every process gets the loss bits of one process measuring every
    /// batch, its noise generator left where that one's is.
    #[test]
    fn processes_share_the_validation_batches_with_the_bits_of_one() {
        // 70 rows in batches of 16: five batches, the last of 6 rows.
        let (n, d, batch) = (70, 6, 16);
        let values: Vec<f32> = (0..n * d).map(|i| (i * 37 % 101) as f32 / 101.0).collect();
        let data = Dataset::new(values, n, d, "rows").unwrap();
        let config =
            ModelConfig { input_dim: d, layers: vec![5, 2], variational: true, ..ModelConfig::default() };
        let model = Autoencoder::new(config, 3).unwrap();
        let training = TrainConfig { micro_batch: 4, batch_size: batch, seed: 5, ..TrainConfig::default() };
        let threads = Threads::new(1);
        // The loss's bits and the generator's next word, of a process holding `rows`.
        let measure = |peers: Option<Table>, rows: Range<usize>| {
            let mut t = Trainer::new(&model, &training, batch).unwrap();
            if let Some(p) = peers {
                t.set_peers(Box::new(p)).unwrap();
            }
            let held = Rows::new(&data, (rows.start, rows.end));
            let mut feed = MemoryFeed::part(held, n, rows.start);
            let loss = t.mean_loss(&model, &mut feed, Ctx::infer(&threads)).unwrap();
            (loss.to_bits(), t.noise_rng.next_u32())
        };
        let want = measure(None, 0..n);
        for size in [2, 3, 7] {
            let shares: Vec<Range<usize>> = (0..size).map(|r| validation_share(n, batch, r, size)).collect();
            let mut at = 0;
            for (rank, s) in shares.iter().enumerate() {
                let even = batch * 5usize.div_ceil(size);
                assert!(s.start == at && s.start % batch == 0 && s.len() <= even, "{size}: {rank}: {s:?}");
                at = s.end;
            }
            assert_eq!(at, n, "{size} processes");
            let got: Vec<_> = std::thread::scope(|s| {
                let handles: Vec<_> = Table::group(size)
                    .into_iter()
                    .zip(&shares)
                    .map(|(p, rows)| s.spawn(|| measure(Some(p), rows.clone())))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for (rank, g) in got.into_iter().enumerate() {
                assert_eq!(g, want, "{size} processes: process {rank}");
            }
        }
    }
}
