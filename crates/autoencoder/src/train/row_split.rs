//! The row-split training step: a batch's rows cut into blocks, one per thread, each
//! gathered, run forward, through the loss and back to every layer's `δ` on its own; then
//! each thread computes the parameter gradients of a block of every layer's output units
//! and, when it can, applies the optimizer's update to those parameters at once.
//!
//! Every matrix product keeps the bits it has over the whole batch (a block of two or
//! more of a product's rows has the whole product's bits: `kernels::matmul`'s test), the
//! bias gradients add the rows in the same order, and the loss sums over fixed units of
//! rows in order ([`unit`]) on one thread as on many; the optimizer's rules are element
//! by element. So the step gives one thread's bits at any thread count, while the
//! element-wise passes (bias and activation, the loss, the activation gradients, the
//! noise layers), the products and the update all run side by side. Two joins per step:
//! the rows' pass (with the gather, unless the inputs are corrupted first) and the
//! units' pass (with the update, unless it needs the whole gradient first: clipping by
//! the global norm, tied weights). Validation batches take the rows' forward pass and
//! the loss's units alone.

use std::ops::Range;
use std::time::Instant;

use super::fit::Rows;
use crate::data::normalize::Normalizer;
use crate::kernels::update::WeightStore;
use crate::kernels::{matmul, matmul_transposed_rows, Shared, Threads, Transpose};
use crate::layers::{Backward, Ctx, Layer};
use crate::loss::Loss;
use crate::model::Autoencoder;
use crate::optim::{Rule, TensorSlot};

/// Rows per unit of a pass's loss sum (and the granularity of the row blocks).
const UNIT_ROWS: usize = 16;

/// The number of units of a pass over `n` rows: 16 rows each, the last with the rest. A
/// last unit of one row joins the one before it, so that no block of a split pass is a
/// single row (a product over one row takes another path, with other bits).
pub(super) fn unit_count(n: usize) -> usize {
    if n > UNIT_ROWS && n % UNIT_ROWS == 1 {
        n / UNIT_ROWS
    } else {
        n.div_ceil(UNIT_ROWS)
    }
}

/// The rows of unit `u` of a pass over `n` rows.
pub(super) fn unit(u: usize, n: usize) -> Range<usize> {
    let start = u * UNIT_ROWS;
    start..if u + 1 == unit_count(n) { n } else { start + UNIT_ROWS }
}

/// Block `b` of `blocks` of a pass over `n` rows: whole units, as even as they come
/// (empty when there are fewer units than blocks). Returns the units and the rows.
pub(super) fn block(b: usize, blocks: usize, n: usize) -> (Range<usize>, Range<usize>) {
    let c = unit_count(n);
    let units = (b * c / blocks)..((b + 1) * c / blocks);
    if units.is_empty() {
        return (units, 0..0);
    }
    let rows = unit(units.start, n).start..unit(units.end - 1, n).end;
    (units, rows)
}

/// Block `b` of `blocks` of a layer's `out` output units: whole pairs (the last block
/// takes an odd one), so that no block is a single unit unless the layer has one.
fn unit_block(b: usize, blocks: usize, out: usize) -> Range<usize> {
    let pairs = out / 2;
    let start = 2 * (b * pairs / blocks);
    let end = if b + 1 == blocks { out } else { 2 * ((b + 1) * pairs / blocks) };
    start..end
}

/// Parameters of a layer above which [`units_pass`] writes its new weights through the
/// cache even on more than one thread (256 KiB of values).
const STREAM_MAX: usize = 1 << 16;

/// How [`units_pass`] writes a layer's new weights (`params` values) on `blocks`
/// threads, when small layers are to be streamed (`small`, chosen by [`StoreChoice`]).
/// Every block's rows pass has just read every weight of the layer, so with more than
/// one block a small layer's weights are in the other cores' caches, and streamed
/// stores skip taking each line back from them ([`WeightStore::Streamed`]), but the
/// next step's rows pass then reads them from memory. A large layer's weights have
/// mostly left those caches by then; model B (401,920 and 131,328 values in its widest
/// layers) gained nothing from streaming them.
fn weight_store(blocks: usize, params: usize, small: WeightStore) -> WeightStore {
    if blocks > 1 && params <= STREAM_MAX {
        small
    } else {
        WeightStore::Cached
    }
}

/// Steps at the start of training that the [`StoreChoice`] does not time (pages
/// faulted in, caches filled).
const WARM_STEPS: usize = 16;
/// Steps the [`StoreChoice`] times with each way of storing.
const TRIAL_STEPS: usize = 16;

/// Which way of storing small layers' weights ([`weight_store`]) a row-split step
/// uses, chosen by timing: which is faster depends on the machine. Model A at two
/// threads: on Zen 4, streaming made the step 7 % faster (551 → 512 µs, medians of 8
/// interleaved runs); on Zen 5, where the products take half the time, storing through
/// the cache made it 10–14 % faster (about 250 → 220 µs), the next step's products no
/// longer reading the weights from memory. So the first steps after [`WARM_STEPS`]
/// alternate the two, each timed from its units' pass to the next step's (its update
/// and the rows' pass that reads what it stored), and after [`TRIAL_STEPS`] pairs the
/// way that was faster in the median pair stays for the rest of training. The two
/// give the same bits
/// (`streamed_weights_have_the_bits_of_cached_ones`), so only the speed depends on the
/// choice.
#[derive(Debug, Clone)]
pub(super) struct StoreChoice {
    /// Steps so far, until the choice is made.
    steps: usize,
    /// When the last step's units' pass started.
    last: Option<Instant>,
    /// Each trial pair's streamed step's time less its cached step's, in nanoseconds.
    gains: [i128; TRIAL_STEPS],
    chosen: Option<WeightStore>,
}

impl StoreChoice {
    /// A choice still to make, or `Cached` at once when no layer of `param_lens` would
    /// be streamed on `blocks` threads.
    pub(super) fn new(param_lens: impl IntoIterator<Item = usize>, blocks: usize) -> Self {
        let any = param_lens
            .into_iter()
            .any(|p| p > 0 && weight_store(blocks, p, WeightStore::Streamed) == WeightStore::Streamed);
        StoreChoice {
            steps: 0,
            last: None,
            gains: [0; TRIAL_STEPS],
            chosen: (!any).then_some(WeightStore::Cached),
        }
    }

    /// The way of storing for a step's units' pass starting at `now`: streamed in the
    /// warm-up steps and the trial's even steps, cached in its odd ones.
    pub(super) fn next(&mut self, now: Instant) -> WeightStore {
        if let Some(chosen) = self.chosen {
            return chosen;
        }
        let trial = self.steps.checked_sub(WARM_STEPS);
        if let (Some(t @ 1..), Some(then)) = (trial, self.last) {
            // Trial step `t − 1` ended now.
            let took = now.saturating_duration_since(then).as_nanos() as i128;
            let gain = &mut self.gains[(t - 1) / 2];
            *gain += if (t - 1) % 2 == 0 { took } else { -took };
        }
        if trial == Some(2 * TRIAL_STEPS) {
            // Each pair's two steps ran one after the other: a drift of the machine's
            // speed hits both, and the median of the pairs' differences ignores a
            // step that something else interrupted.
            let g = &mut self.gains;
            g.sort_unstable();
            let cached = g[TRIAL_STEPS / 2] + g[(TRIAL_STEPS - 1) / 2] > 0;
            let chosen = if cached { WeightStore::Cached } else { WeightStore::Streamed };
            self.chosen = Some(chosen);
            return chosen;
        }
        self.steps += 1;
        self.last = Some(now);
        match trial {
            Some(t) if t % 2 == 1 => WeightStore::Cached,
            _ => WeightStore::Streamed,
        }
    }
}

/// One unit's loss: the sum over its values (the gradient, scaled, into `grad`).
pub(super) fn unit_loss(
    loss: Loss,
    fused: bool,
    out: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
    scale: f32,
) -> f64 {
    if fused {
        loss.evaluate_logits_scaled(out, target, grad, scale)
    } else {
        loss.evaluate_scaled(out, target, grad, scale)
    }
}

/// The loss of each unit `units` of a pass over `n` rows of `d` values into `sums`, its
/// gradient (scaled) into `grad`: `out`, `target` and `grad` hold the block of rows `rows`
/// that the units cover. The losses of a whole-batch step and of the row split's blocks.
#[allow(clippy::too_many_arguments)]
pub(super) fn block_losses(
    loss: Loss,
    fused: bool,
    (units, rows, n, d): (&Range<usize>, &Range<usize>, usize, usize),
    (out, target): (&[f32], &[f32]),
    mut grad: Option<&mut [f32]>,
    scale: f32,
    sums: &mut [f64],
) {
    for (u, sum) in units.clone().zip(sums) {
        let r = unit(u, n);
        let local = (r.start - rows.start) * d..(r.end - rows.start) * d;
        let gu = grad.as_deref_mut().map(|g| &mut g[local.clone()]);
        *sum = unit_loss(loss, fused, &out[local.clone()], &target[local], gu, scale);
    }
}

/// The KL term's sum over `n` rows of `(μ, log σ²)`, unit by unit in order (the same
/// bits on one thread as on many).
pub(super) fn kl_units(x: &[f32], n: usize, k: usize) -> f64 {
    (0..unit_count(n))
        .map(|u| {
            let r = unit(u, n);
            super::kl::kl_sum(&x[r.start * 2 * k..r.end * 2 * k], r.len(), k)
        })
        .sum()
}

/// Whether `layer` is dense: it has parameters, `out × (in + 1)` of them (a weight row and
/// a bias per unit, the weights first).
pub(super) fn dense(layer: &dyn Layer) -> bool {
    let p = layer.param_len();
    p > 0 && p == layer.output_width() * (layer.input_width() + 1)
}

/// Whether the row-split step can train `layers`: every layer splits by rows, and every
/// layer with parameters is dense.
pub(super) fn fits(layers: &[Box<dyn Layer>]) -> bool {
    layers.iter().all(|l| l.splits_by_rows() && (l.param_len() == 0 || dense(l.as_ref())))
}

/// Whether the row split is the faster way to share a step of `layers` over threads, at
/// batches of `batch` rows: when the weights are no more than the activations their
/// products read, `Σ out·(in + 1) ≤ batch · Σ (in + out)` over the dense layers
/// ([`dense`]; the others have no parameters where the row split fits). Split by rows,
/// every thread reads every weight matrix for its share of the rows (faer packs it for
/// the forward product `X·Wᵀ`, and again for the backward `δ·W`); the whole-batch step
/// instead splits a product wider than its batch by columns ([`matmul`]'s wide split),
/// each thread reading all of the product's input (`X`, or `δ`) and its share of the
/// weights. So the row split wins while the weights
/// are the smaller. Measured on a Xeon with AVX-512 at 2 threads (`train_step` with
/// `AE_BENCH_ROWS=54000`, two interleaved runs each): model A (784-64-784, weights
/// 0.47 of what its products read over 128 rows) 342/338 µs a step split by rows
/// against 363/355 µs whole-batch; model B (784-512-256-32-256-512-784, 1.8 times
/// them) 3,471/3,377 µs against 3,267/3,204 µs. Both give the same bits.
pub(super) fn favoured(layers: &[Box<dyn Layer>], batch: usize) -> bool {
    let (params, widths) = layers
        .iter()
        .filter(|l| dense(l.as_ref()))
        .fold((0usize, 0usize), |(p, w), l| (p + l.param_len(), w + l.input_width() + l.output_width()));
    params <= batch.saturating_mul(widths)
}

/// The row-split step's own buffers: each layer's `δ` (`∂L/∂z` of every row, kept for
/// the units' pass), the units' losses, and each pass's views of the workspace.
pub(super) struct Split {
    deltas: Vec<Vec<f32>>,
    unit_loss: Vec<f64>,
    unit_kl: Vec<f64>,
    /// Per layer: its output, its scratch, its `δ` (refreshed each step; no allocation).
    views: Vec<[Shared<f32>; 3]>,
    one: Threads,
    /// How the units' pass stores small layers' new weights.
    pub(super) store: StoreChoice,
}

// SAFETY: the views are raw pointers into the workspace, only used during a pass.
unsafe impl Send for Split {}

impl Split {
    pub(super) fn new(layers: &[Box<dyn Layer>], batch: usize, blocks: usize) -> Self {
        let units = unit_count(batch);
        Split {
            deltas: layers.iter().map(|l| vec![0.0; batch * l.output_width()]).collect(),
            unit_loss: vec![0.0; units],
            unit_kl: vec![0.0; units],
            views: Vec::with_capacity(layers.len()),
            one: Threads::new(1),
            store: StoreChoice::new(layers.iter().map(|l| l.param_len()), blocks),
        }
    }
}

/// Every product shape a split step of up to `batch` rows on `threads` runs, once on
/// each of the pool's threads: faer keeps a packing buffer per thread, grown on first
/// use, and a thread that first computes a block in a later step would allocate then.
/// After this, the steps allocate nothing on any thread.
pub(super) fn warm(layers: &[Box<dyn Layer>], batch: usize, threads: &Threads) {
    let blocks = threads.count();
    let rows = (0..blocks).map(|b| block(b, blocks, batch).1.len()).max().unwrap_or(0);
    threads.on_every_thread(|| {
        let one = Threads::new(1);
        for l in layers.iter().filter(|l| l.param_len() > 0) {
            let (inp, out) = (l.input_width(), l.output_width());
            let units = (0..blocks).map(|b| unit_block(b, blocks, out).len()).max().unwrap_or(0);
            let x = vec![0.0f32; batch * inp];
            let dz = vec![0.0f32; batch * out];
            let w = vec![0.0f32; out * inp];
            let (mut y, mut dx, mut gw) =
                (vec![0.0f32; rows * out], vec![0.0f32; rows * inp], vec![0.0f32; units * inp]);
            matmul(&mut y, rows, out, inp, &x, Transpose::No, &w, Transpose::Yes, false, &one);
            matmul(&mut dx, rows, inp, out, &dz, Transpose::No, &w, Transpose::No, false, &one);
            matmul_transposed_rows(&mut gw, 0..units, out, inp, batch, &dz, &x, false);
        }
    });
}

/// What one split step needs to know about the model and its settings.
pub(super) struct Plan<'a> {
    pub(super) layers: &'a [Box<dyn Layer>],
    pub(super) offsets: &'a [Range<usize>],
    pub(super) params: &'a [f32],
    pub(super) loss: Loss,
    pub(super) fused: bool,
    /// The target is `target` (corrupted inputs), not `input`.
    pub(super) noisy: bool,
    /// A variational model's sampling layer and the KL gradient's scale.
    pub(super) kl: Option<(usize, f32)>,
    pub(super) code: usize,
}

impl<'a> Plan<'a> {
    /// A pass of `model` (its layers' parameter ranges `offsets`) on `loss`, fused with
    /// the output activation when `fused`: on the inputs, without a KL term.
    pub(super) fn of(model: &'a Autoencoder, offsets: &'a [Range<usize>], loss: Loss, fused: bool) -> Self {
        Plan {
            layers: model.layers(),
            offsets,
            params: model.params(),
            loss,
            fused,
            noisy: false,
            kl: None,
            code: model.code_dim(),
        }
    }
}

/// The rows of a batch, for a rows' pass to gather block by block.
#[derive(Clone, Copy)]
pub(super) struct Gather<'a> {
    pub(super) rows: &'a Rows<'a>,
    pub(super) indices: &'a [usize],
    pub(super) norm: &'a Normalizer,
}

impl Gather<'_> {
    /// Rows `r` of the batch, normalised, into `out` (`r.len() × d`).
    fn rows_into(&self, r: Range<usize>, out: &mut [f32]) {
        super::fit::normalised_rows(self.rows, self.indices[r].iter().copied(), self.norm, out);
    }
}

/// Gather the batch's rows, normalised, into `input` (`indices.len() × d`), block by
/// block on `threads`: for a step that corrupts its inputs before the rows' pass.
pub(super) fn gather(g: Gather<'_>, input: &mut [f32], threads: &Threads) {
    let n = g.indices.len();
    let d = g.rows.data.cols();
    let blocks = threads.count();
    let input = Shared::new(&mut input[..n * d]);
    threads.for_each_block(blocks, |b| {
        let (_, r) = block(b, blocks, n);
        // SAFETY: block `b`'s rows only.
        g.rows_into(r.clone(), unsafe { input.get(r.start * d..r.end * d) });
    });
}

/// The rows' pass of a step over `n` rows: each block of rows gathered into `input`
/// first when `gather` is given (otherwise `input` holds them, their noise drawn), then
/// every layer's output, the loss's units and, when `grad`, every layer's `δ`. Returns
/// the summed loss and the summed KL term (unweighted). Without `grad` (validation), an
/// inference pass: the same sums, with the same bits, as the one-thread pass.
#[allow(clippy::too_many_arguments)]
pub(super) fn rows_pass(
    plan: &Plan<'_>,
    split: &mut Split,
    (input, target): (&mut [f32], &[f32]),
    gather: Option<Gather<'_>>,
    acts: &mut [Vec<f32>],
    scratch: &mut [Vec<f32>],
    grad: bool,
    n: usize,
    threads: &Threads,
) -> (f64, Option<f64>) {
    let layers = plan.layers;
    let last = layers.len() - 1;
    let d = layers[0].input_width();
    let blocks = threads.count();
    split.views.clear();
    for ((a, s), dl) in acts.iter_mut().zip(scratch.iter_mut()).zip(split.deltas.iter_mut()) {
        split.views.push([Shared::new(a), Shared::new(s), Shared::new(dl)]);
    }
    let (views, one) = (&split.views, &split.one);
    let losses = Shared::new(&mut split.unit_loss);
    let kls = Shared::new(&mut split.unit_kl);
    let inputs = Shared::new(&mut input[..n * d]);
    let scale = 1.0 / (n * d).max(1) as f32;
    threads.for_each_block(blocks, |b| {
        let (units, r) = block(b, blocks, n);
        if r.is_empty() {
            return;
        }
        let ctx = Ctx { threads: one, training: grad };
        let rows = r.len();
        // SAFETY: this task's rows `r` of the inputs only.
        let input = unsafe { inputs.get(r.start * d..r.end * d) };
        if let Some(g) = &gather {
            g.rows_into(r.clone(), input);
        }
        let input = &*input;
        let target = if plan.noisy { &target[r.start * d..r.end * d] } else { input };
        // SAFETY (every `get` below): this task's rows `r` (its units `units`) only.
        let view = |i: usize, which: usize, width: usize| unsafe {
            views[i][which].get(r.start * width..r.end * width)
        };
        for (i, layer) in layers.iter().enumerate() {
            let x: &[f32] = if i == 0 { input } else { view(i - 1, 0, layer.input_width()) };
            let y = view(i, 0, layer.output_width());
            let s = view(i, 1, layer.scratch_width());
            let p = &plan.params[plan.offsets[i].clone()];
            if i == last && plan.fused {
                layer.forward_preactivation(p, x, rows, y, s, ctx);
            } else {
                layer.forward(p, x, rows, y, s, ctx);
            }
        }
        let out = view(last, 0, d);
        let g = grad.then(|| view(last, 2, d));
        // SAFETY: this block's units only.
        let sums = unsafe { losses.get(units.clone()) };
        block_losses(plan.loss, plan.fused, (&units, &r, n, d), (out, target), g, scale, sums);
        if let Some((s, _)) = plan.kl {
            let mu = view(s - 1, 0, 2 * plan.code);
            for u in units.clone() {
                let ur = unit(u, n);
                let local = (ur.start - r.start) * 2 * plan.code..(ur.end - r.start) * 2 * plan.code;
                // SAFETY: unit `u` is this task's.
                unsafe { kls.get(u..u + 1)[0] = super::kl::kl_sum(&mu[local], ur.len(), plan.code) };
            }
        }
        if !grad {
            return;
        }
        for i in (0..layers.len()).rev() {
            let layer = &layers[i];
            let x: &[f32] = if i == 0 { input } else { view(i - 1, 0, layer.input_width()) };
            let dx = (i > 0).then(|| view(i - 1, 2, layer.input_width()));
            layer.backward_rows(Backward {
                params: &plan.params[plan.offsets[i].clone()],
                grads: &mut [],
                x,
                y: view(i, 0, layer.output_width()),
                scratch: view(i, 1, layer.scratch_width()),
                rows,
                dy: view(i, 2, layer.output_width()),
                dx,
                dy_is_preactivation: plan.fused && i == last,
                ctx,
            });
            if let Some((s, kl_scale)) = plan.kl.filter(|&(s, _)| s == i) {
                // The KL term's gradient joins the sampling layer's input gradient.
                let mu = view(s - 1, 0, 2 * plan.code);
                super::kl::add_kl_gradient(mu, rows, plan.code, kl_scale, view(s - 1, 2, 2 * plan.code));
            }
        }
    });
    let c = unit_count(n);
    let sum = split.unit_loss[..c].iter().sum();
    let kl = plan.kl.map(|_| split.unit_kl[..c].iter().sum());
    (sum, kl)
}

/// The optimizer's update, applied by the units' pass to the parameters whose gradients
/// each task has just computed (so that they are still in its core's cache, and the
/// step needs no pass of its own for the update).
pub(super) struct Update<'a> {
    pub(super) rule: Rule,
    /// The model's parameters.
    pub(super) params: &'a mut [f32],
    /// The optimizer's two state vectors (each empty, or as long as `params`).
    pub(super) state: (&'a mut [f32], &'a mut [f32]),
    /// The model's tensors: which ranges decay.
    pub(super) slots: &'a [TensorSlot],
}

/// The units' pass after a rows' pass with `grad` over the same `n` rows: each task, a
/// block of every layer's output units, their weight rows' and biases' gradients into
/// `grads` and, with `update`, the optimizer's update of those parameters.
#[allow(clippy::too_many_arguments)]
pub(super) fn units_pass(
    layers: &[Box<dyn Layer>],
    offsets: &[Range<usize>],
    split: &mut Split,
    input: &[f32],
    acts: &[Vec<f32>],
    grads: &mut [f32],
    update: Option<Update<'_>>,
    n: usize,
    threads: &Threads,
) {
    let d = layers[0].input_width();
    let blocks = threads.count();
    let small = update.as_ref().map(|_| split.store.next(Instant::now()));
    let one = &split.one;
    let deltas = &split.deltas;
    let all = Shared::new(grads);
    let update = update.zip(small).map(|(u, small)| {
        let (s1, s2) = u.state;
        (u.rule, Shared::new(u.params), Shared::new(s1), Shared::new(s2), u.slots, small)
    });
    threads.for_each_block(blocks, |b| {
        let ctx = Ctx::train(one);
        for (i, layer) in layers.iter().enumerate() {
            if offsets[i].is_empty() {
                continue;
            }
            let (inp, out) = (layer.input_width(), layer.output_width());
            let units = unit_block(b, blocks, out);
            if units.is_empty() {
                continue;
            }
            let x: &[f32] = if i == 0 { &input[..n * d] } else { &acts[i - 1][..n * inp] };
            let off = offsets[i].start;
            let bias = off + out * inp;
            let (w_range, b_range) =
                (off + units.start * inp..off + units.end * inp, bias + units.start..bias + units.end);
            // SAFETY: the weight rows and biases of this task's units only.
            let (gw, gb) = unsafe { (all.get(w_range.clone()), all.get(b_range.clone())) };
            layer.unit_gradients(x, &deltas[i][..n * out], n, units, gw, gb, ctx);
            if let Some((rule, params, s1, s2, slots, small)) = &update {
                let store = weight_store(blocks, offsets[i].len(), *small);
                for (r, g) in [(w_range.clone(), &*gw), (b_range.clone(), &*gb)] {
                    let decays =
                        slots.iter().any(|s| s.decays && (s.offset..s.offset + s.len).contains(&r.start));
                    // SAFETY: the parameters and state of this task's units only.
                    let (w, m, v) =
                        unsafe { (params.get(r.clone()), s1.part(r.clone()), s2.part(r.clone())) };
                    rule.apply(w, g, m, v, decays, store);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The store choice times both ways in turn after the warm steps, then keeps the
    /// one faster in the median pair (one slow step of the faster way does not flip it);
    /// with nothing to stream it is `Cached` from the first step.
    #[test]
    fn the_store_choice_keeps_the_faster_way_after_timing_both() {
        use WeightStore::{Cached, Streamed};
        for (streamed_us, cached_us, faster) in [(100, 150, Streamed), (150, 100, Cached)] {
            let mut choice = StoreChoice::new([1000, 0], 2);
            let mut now = Instant::now();
            let mut ways = Vec::new();
            for step in 0..WARM_STEPS + 2 * TRIAL_STEPS {
                let way = choice.next(now);
                ways.push(way);
                let us = if way == Cached { cached_us } else { streamed_us };
                // The first trial step of the faster way is slow, as a step interrupted.
                let us = if step == WARM_STEPS + (faster == Cached) as usize { 10 * us } else { us };
                now += Duration::from_micros(us);
            }
            assert!(ways[..WARM_STEPS].iter().all(|&w| w == Streamed), "{ways:?}");
            let trial = &ways[WARM_STEPS..];
            assert!(trial.iter().step_by(2).all(|&w| w == Streamed), "{ways:?}");
            assert!(trial.iter().skip(1).step_by(2).all(|&w| w == Cached), "{ways:?}");
            for _ in 0..5 {
                now += Duration::from_micros(1000);
                assert_eq!(choice.next(now), faster);
            }
        }
        for (lens, blocks) in [(vec![STREAM_MAX + 1, 0], 2), (vec![1000], 1)] {
            let mut choice = StoreChoice::new(lens, blocks);
            assert_eq!(choice.next(Instant::now()), Cached);
        }
    }

    /// Units cover the rows in order without a one-row unit; blocks are whole units and
    /// cover the rows for any block count; unit blocks cover a layer's units without a
    /// one-unit block (unless the layer has one unit).
    #[test]
    fn units_and_blocks_cover_the_rows_without_single_rows() {
        for n in 1..200 {
            let c = unit_count(n);
            let mut next = 0;
            for u in 0..c {
                let r = unit(u, n);
                assert_eq!(r.start, next, "n {n} unit {u}");
                assert!(r.len() >= 2 || n == 1, "n {n} unit {u}: {r:?}");
                next = r.end;
            }
            assert_eq!(next, n);
            for blocks in 1..6 {
                let mut next = 0;
                for b in 0..blocks {
                    let (_, r) = block(b, blocks, n);
                    if r.is_empty() {
                        continue;
                    }
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, n, "n {n} blocks {blocks}");
            }
        }
        for out in 1..40 {
            for blocks in 1..6 {
                let mut next = 0;
                for b in 0..blocks {
                    let r = unit_block(b, blocks, out);
                    if r.is_empty() {
                        continue;
                    }
                    assert_eq!(r.start, next);
                    assert!(r.len() >= 2 || out == 1, "out {out}: {r:?}");
                    next = r.end;
                }
                assert_eq!(next, out);
            }
        }
    }

    /// The row split is chosen while a model's weights are no more than the activations
    /// its products read: model A at batches of 128, not model B, which is at 256.
    #[test]
    fn the_row_split_is_favoured_while_the_weights_are_the_smaller() {
        let model = |input_dim: usize, layers: Vec<usize>, dropout: f64| {
            let config = crate::ModelConfig { input_dim, layers, dropout, ..crate::ModelConfig::default() };
            Autoencoder::new(config, 0).unwrap()
        };
        let (a, b) = (model(784, vec![64], 0.0), model(784, vec![512, 256, 32], 0.0));
        // A: 101,200 parameters against 1,696 activations a row (784 + 64, 64 + 784);
        // B: 1,083,696 against 4,704 a row.
        assert_eq!((a.param_count(), b.param_count()), (101_200, 1_083_696));
        assert!(favoured(a.layers(), 128) && favoured(a.layers(), 60));
        assert!(!favoured(a.layers(), 59), "59 × 1,696 = 100,064 activations");
        // Layers without parameters (dropout) read no weights, and do not count:
        // 205,856 parameters against 2,112 activations a row either way.
        let (plain, dropped) = (model(784, vec![128, 16], 0.0), model(784, vec![128, 16], 0.2));
        assert!(dropped.layers().len() > plain.layers().len());
        for dropout in [&plain, &dropped] {
            assert!(!favoured(dropout.layers(), 97) && favoured(dropout.layers(), 98));
        }
        assert!(!favoured(b.layers(), 128) && !favoured(b.layers(), 230));
        assert!(favoured(b.layers(), 231) && favoured(b.layers(), 512));
    }
}
