//! Batch normalisation of channels-last maps, then an activation:
//! `y = f(γ·(x − μ)/√(σ² + ε) + β)` per channel, with the batch's statistics in
//! training and the running averages at inference (PyTorch's `BatchNorm2d`, momentum
//! 0.1, ε = 1e-5).
//!
//! The pass's [`Ctx::training`] chooses the mode. After each optimizer step the trainer
//! calls [`update_state`](Layer::update_state) (the layer [has state](Layer::has_state)),
//! which folds the batch's mean and unbiased variance into the running statistics.
//!
//! In micro-batch training each micro-batch normalises by its own statistics ("ghost"
//! batch norm, as each process of PyTorch's DDP does by default), and the running
//! statistics are still the whole batch's: each micro-batch's sums
//! ([`state_sums`](Layer::state_sums)) add in the tree of the gradients, on every process
//! alike, and [`update_state_from_sums`](Layer::update_state_from_sums) folds them.
//!
//! The running statistics live in the parameter buffer as `running_mean` and
//! `running_var` (as in PyTorch's `state_dict`), so checkpoints and the model file carry
//! them; their gradient is 0 when the optimizer steps, so no optimizer moves them.

use super::{Activation, Backward, Ctx, Layer, LayerKind, ParamSpec};
use crate::kernels::{elementwise, norm};
use crate::random::ChaCha8Rng;

/// ε added to the variance.
pub const EPS: f32 = 1e-5;
/// The running statistics' update weight.
pub const MOMENTUM: f32 = 0.1;

/// Batch normalisation of `channels` channels over `positions` pixels per row.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm2d {
    channels: usize,
    positions: usize,
    activation: Activation,
    zeros: Vec<f32>,
}

// Scratch layout: [m, mean (C), inv_std (C), var (C)], then z (rows·P·C) when the
// activation's derivative needs it, then the sums' per-block partials
// (`norm::partials_len`, which a row's share of `partials_per_row` covers). x̂ is not
// kept: the backward pass computes it again from x, with the forward pass's bits.
const COUNT: usize = 0;
const HEADER: usize = 1;

impl BatchNorm2d {
    /// Normalise `channels` channels of maps of `positions` pixels, then apply `activation`.
    pub fn new(channels: usize, positions: usize, activation: Activation) -> Self {
        BatchNorm2d { channels, positions, activation, zeros: vec![0.0; channels] }
    }

    fn header(&self) -> usize {
        HEADER + 3 * self.channels
    }
    /// Room per row for the sums' partials: `norm::partials_len(rows·P, C, 2)` ≤
    /// `rows · partials_len(P, C, 2)`, since ⌈rows·P/F⌉ ≤ rows·⌈P/F⌉.
    fn partials_per_row(&self) -> usize {
        norm::partials_len(self.positions, self.channels, 2)
    }
    /// The scratch after the header: z (when kept), then the partials.
    fn body<'a>(&self, rest: &'a mut [f32], n: usize) -> (&'a mut [f32], &'a mut [f32]) {
        rest.split_at_mut(if self.keeps_preactivation() { n } else { 0 })
    }
    /// The activation the normalisation's pass applies itself (ReLU's derivative is
    /// then taken from `z`, computed again in the backward pass), if it is one of those.
    fn fused_output(&self) -> Option<norm::Output> {
        match self.activation {
            Activation::Linear => Some(norm::Output::Linear),
            Activation::Relu => Some(norm::Output::Relu),
            _ => None,
        }
    }
    fn keeps_preactivation(&self) -> bool {
        self.activation.needs_preactivation()
    }
    /// (γ, β, running mean, running var).
    fn split<'a>(&self, p: &'a [f32]) -> (&'a [f32], &'a [f32], &'a [f32], &'a [f32]) {
        let c = self.channels;
        (&p[..c], &p[c..2 * c], &p[2 * c..3 * c], &p[3 * c..4 * c])
    }
}

impl Layer for BatchNorm2d {
    fn kind(&self) -> LayerKind {
        LayerKind::BatchNorm2d
    }
    fn input_width(&self) -> usize {
        self.channels * self.positions
    }
    fn output_width(&self) -> usize {
        self.input_width()
    }
    fn param_specs(&self) -> Vec<ParamSpec> {
        let c = vec![self.channels];
        vec![
            ParamSpec { name: "weight", shape: c.clone(), decays: false },
            ParamSpec { name: "bias", shape: c.clone(), decays: false },
            ParamSpec { name: "running_mean", shape: c.clone(), decays: false },
            ParamSpec { name: "running_var", shape: c, decays: false },
        ]
    }
    /// `z` when needed and room for the sums' partials per row, plus the batch
    /// statistics' header, which a single row's share must be able to hold.
    fn scratch_width(&self) -> usize {
        let per_row = if self.keeps_preactivation() { self.input_width() } else { 0 };
        per_row + self.partials_per_row() + self.header()
    }
    fn has_state(&self) -> bool {
        true
    }
    fn activation(&self) -> Activation {
        self.activation
    }
    fn init(&self, params: &mut [f32], _rng: &mut ChaCha8Rng) {
        let c = self.channels;
        params[..c].fill(1.0);
        params[c..3 * c].fill(0.0);
        params[3 * c..4 * c].fill(1.0);
    }

    fn forward(
        &self,
        params: &[f32],
        x: &[f32],
        rows: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        ctx: Ctx<'_>,
    ) {
        let (c, n) = (self.channels, rows * self.input_width());
        let (gamma, beta, rmean, rvar) = self.split(params);
        let (head, rest) = scratch.split_at_mut(self.header());
        let (pre, partials) = self.body(rest, n);
        let (training, threads) = (ctx.training, ctx.threads);
        head[COUNT] = (rows * self.positions) as f32;
        let (stats, var) = head[HEADER..].split_at_mut(2 * c);
        let (mean, inv_std) = stats.split_at_mut(c);
        if training {
            norm::channel_moments(&x[..n], c, mean, var, partials, threads);
        } else {
            mean.copy_from_slice(rmean);
            var.copy_from_slice(rvar);
        }
        norm::inverse_std(var, EPS, inv_std);
        let (x, y) = (&x[..n], &mut y[..n]);
        if let Some(output) = self.fused_output() {
            norm::normalize_affine(x, mean, inv_std, gamma, beta, output, y, threads);
        } else if self.keeps_preactivation() {
            let z = &mut pre[..n];
            norm::normalize_affine(x, mean, inv_std, gamma, beta, norm::Output::Affine, z, threads);
            elementwise::activation(z, y, self.activation, threads);
        } else {
            norm::normalize_affine(x, mean, inv_std, gamma, beta, norm::Output::Affine, y, threads);
            elementwise::bias_activation(y, &self.zeros, self.activation, None, threads);
        }
    }

    fn backward(&self, pass: Backward<'_>) {
        let Backward { params, grads, x, y, scratch, rows, dy, dx, dy_is_preactivation, ctx } = pass;
        let (c, n) = (self.channels, rows * self.input_width());
        let (head, rest) = scratch.split_at_mut(self.header());
        let (pre, partials) = self.body(rest, n);
        let dz = &mut dy[..n];
        // ReLU's derivative is taken inside the pass below, from z; the others' first.
        let relu = self.activation == Activation::Relu && !dy_is_preactivation;
        if self.fused_output().is_none() {
            let pre = self.keeps_preactivation().then_some(&*pre);
            super::activation_gradient(self.activation, dz, y, pre, dy_is_preactivation, ctx.threads);
        }
        let (gamma, beta, _, _) = self.split(params);
        let (stats, _) = head[HEADER..].split_at(2 * c);
        let (mean, inv_std) = stats.split_at(c);
        let (dgamma, rest) = grads.split_at_mut(c);
        let (dbeta, buffers) = rest.split_at_mut(c);
        buffers.fill(0.0);
        let fwd = norm::Normalised { x: &x[..n], mean, inv_std, gamma, beta };
        norm::batch_norm_backward(dz, fwd, relu, ctx.training, dgamma, dbeta, dx, partials, ctx.threads);
    }

    fn update_state(&self, params: &mut [f32], scratch: &[f32]) {
        let c = self.channels;
        let mean = &scratch[HEADER..HEADER + c];
        let var = &scratch[HEADER + 2 * c..HEADER + 3 * c];
        let (rmean, rvar) = params[2 * c..4 * c].split_at_mut(c);
        norm::update_running(rmean, rvar, mean, var, scratch[COUNT], MOMENTUM);
    }

    /// Per channel, from the micro-batch's `m` values (rows × positions) of mean `μⱼ` and
    /// biased variance `σⱼ²`, shifted by the running mean `s` before the step (so that
    /// the sums do not cancel): `aⱼ = m·(μⱼ − s)` and `bⱼ = m·(σⱼ² + (μⱼ − s)²)`, the sums
    /// of `x − s` and of `(x − s)²`.
    fn state_sums(&self, params: &[f32], scratch: &[f32], grads: &mut [f32]) {
        let c = self.channels;
        let m = scratch[COUNT];
        let mean = &scratch[HEADER..HEADER + c];
        let var = &scratch[HEADER + 2 * c..HEADER + 3 * c];
        let shift = &params[2 * c..3 * c];
        let (a, b) = grads[2 * c..4 * c].split_at_mut(c);
        for j in 0..c {
            let dm = mean[j] - shift[j];
            a[j] = m * dm;
            b[j] = m * (var[j] + dm * dm);
        }
    }

    /// The batch's `M = rows·positions` values have mean `μ = s + A/M` and biased
    /// variance `σ² = B/M − (A/M)²` (in f64, at least 0), folded into the running
    /// statistics as [`update_state`](Layer::update_state) folds a whole batch's.
    fn update_state_from_sums(&self, params: &mut [f32], grads: &mut [f32], rows: usize) {
        let c = self.channels;
        let m = (rows * self.positions) as f64;
        let (a, b) = grads[2 * c..4 * c].split_at_mut(c);
        let shift = &params[2 * c..3 * c];
        for j in 0..c {
            let (da, db) = (f64::from(a[j]) / m, f64::from(b[j]) / m);
            a[j] = (f64::from(shift[j]) + da) as f32;
            b[j] = (db - da * da).max(0.0) as f32;
        }
        let (rmean, rvar) = params[2 * c..4 * c].split_at_mut(c);
        norm::update_running(rmean, rvar, a, b, m as f32, MOMENTUM);
        a.fill(0.0);
        b.fill(0.0);
    }

    fn describe(&self) -> String {
        format!("batch_norm2d {} channels {} (γ, β, running stats)", self.channels, self.activation)
    }
}
