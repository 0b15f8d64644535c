//! The dense (fully connected) layer `y = f(x·Wᵀ + b)`, bias and activation fused.
//!
//! ```
//! use autoencoder::layers::{Activation, Ctx, Dense, Layer};
//! use autoencoder::kernels::Threads;
//!
//! // W = [[1, 2], [3, 4]] (out × in), b = [0.5, -20]; x = [1, 1].
//! let layer = Dense::new(2, 2, Activation::Relu);
//! let params = [1.0, 2.0, 3.0, 4.0, 0.5, -20.0];
//! let mut y = [0.0; 2];
//! let threads = Threads::new(1);
//! layer.forward(&params, &[1.0, 1.0], 1, &mut y, &mut [], Ctx::infer(&threads));
//! assert_eq!(y, [3.5, 0.0]); // relu(1+2+0.5), relu(3+4-20)
//! ```

use super::{Activation, Backward, Ctx, Init, Layer, LayerKind, ParamSpec};
use crate::kernels::{elementwise, matmul, matmul_transposed_rows, Threads, Transpose};
use crate::random::ChaCha8Rng;
use std::ops::Range;

/// A dense layer with `W` stored `out × in` (row-major, as PyTorch's `nn.Linear`),
/// then the bias `b` (`out`). Forward: `z = x·Wᵀ + b`, `y = f(z)`. Backward, with
/// `δ = ∂L/∂z = ∂L/∂y ⊙ f′(z)`: `∂L/∂W = δᵀ·x`, `∂L/∂b = Σ_rows δ`, `∂L/∂x = δ·W`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    inputs: usize,
    outputs: usize,
    activation: Activation,
    init: Init,
    keep_preactivation: bool,
}

impl Dense {
    /// A layer from `inputs` to `outputs` values with Glorot-uniform weights.
    pub fn new(inputs: usize, outputs: usize, activation: Activation) -> Self {
        Dense {
            inputs,
            outputs,
            activation,
            init: Init::GlorotUniform,
            keep_preactivation: activation.needs_preactivation(),
        }
    }

    /// Use another initialisation scheme.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Keep `z` in the scratch buffer even when the activation's derivative does not
    /// need it (a loss fused with a sigmoid output reads it).
    pub fn keep_preactivation(mut self, keep: bool) -> Self {
        self.keep_preactivation = keep || self.activation.needs_preactivation();
        self
    }

    /// `δ = ∂L/∂y ⊙ f′(z)` in place of `dy`'s `rows` rows (unchanged when `dy` already is
    /// the pre-activation's gradient).
    fn delta<'a>(
        &self,
        dy: &'a mut [f32],
        y: &[f32],
        scratch: &[f32],
        rows: usize,
        fused: bool,
        threads: &Threads,
    ) -> &'a mut [f32] {
        let n = rows * self.outputs;
        let dz = &mut dy[..n];
        let pre = self.keep_preactivation.then(|| &scratch[..n]);
        super::activation_gradient(self.activation, dz, y, pre, fused, threads);
        dz
    }

    /// `∂L/∂x (rows × in) = δ (rows × out) · W (out × in)`.
    fn input_gradient(&self, params: &[f32], dz: &[f32], rows: usize, dx: &mut [f32], ctx: Ctx<'_>) {
        let w = &params[..self.inputs * self.outputs];
        let (i, o) = (self.inputs, self.outputs);
        matmul(dx, rows, i, o, dz, Transpose::No, w, Transpose::No, false, ctx.threads);
    }
}

impl Layer for Dense {
    fn kind(&self) -> LayerKind {
        LayerKind::Dense
    }
    fn input_width(&self) -> usize {
        self.inputs
    }
    fn output_width(&self) -> usize {
        self.outputs
    }
    fn param_specs(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec { name: "weight", shape: vec![self.outputs, self.inputs], decays: true },
            ParamSpec { name: "bias", shape: vec![self.outputs], decays: false },
        ]
    }
    fn scratch_width(&self) -> usize {
        if self.keep_preactivation {
            self.outputs
        } else {
            0
        }
    }
    fn activation(&self) -> Activation {
        self.activation
    }

    fn init(&self, params: &mut [f32], rng: &mut ChaCha8Rng) {
        let (w, b) = params.split_at_mut(self.inputs * self.outputs);
        self.init.fill(w, self.inputs, self.outputs, rng);
        b.fill(0.0);
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
        let (w, b) = params.split_at(self.inputs * self.outputs);
        let y = &mut y[..rows * self.outputs];
        matmul(y, rows, self.outputs, self.inputs, x, Transpose::No, w, Transpose::Yes, false, ctx.threads);
        let pre = if self.keep_preactivation { Some(&mut scratch[..rows * self.outputs]) } else { None };
        elementwise::bias_activation(y, b, self.activation, pre, ctx.threads);
    }

    fn forward_preactivation(
        &self,
        params: &[f32],
        x: &[f32],
        rows: usize,
        z: &mut [f32],
        _scratch: &mut [f32],
        ctx: Ctx<'_>,
    ) -> bool {
        let (w, b) = params.split_at(self.inputs * self.outputs);
        let z = &mut z[..rows * self.outputs];
        matmul(z, rows, self.outputs, self.inputs, x, Transpose::No, w, Transpose::Yes, false, ctx.threads);
        elementwise::bias_activation(z, b, Activation::Linear, None, ctx.threads);
        true
    }

    fn splits_by_rows(&self) -> bool {
        true
    }

    fn backward_rows(&self, pass: Backward<'_>) {
        let Backward { params, y, scratch, rows, dy, dx, dy_is_preactivation, ctx, .. } = pass;
        let dz = self.delta(dy, y, scratch, rows, dy_is_preactivation, ctx.threads);
        if let Some(dx) = dx {
            self.input_gradient(params, dz, rows, dx, ctx);
        }
    }

    fn unit_gradients(
        &self,
        x: &[f32],
        dz: &[f32],
        rows: usize,
        units: Range<usize>,
        gw: &mut [f32],
        gb: &mut [f32],
        _ctx: Ctx<'_>,
    ) {
        // On the calling thread (the row-split step runs one block of units per thread).
        // ∂L/∂W's rows `units` = (δᵀ·x)'s rows `units`; ∂L/∂b's = δ's column sums there.
        let (dz, x) = (&dz[..rows * self.outputs], &x[..rows * self.inputs]);
        matmul_transposed_rows(gw, units.clone(), self.outputs, self.inputs, rows, dz, x, false);
        elementwise::column_sums_of(dz, self.outputs, units, gb);
    }

    fn backward(&self, pass: Backward<'_>) {
        let Backward { params, grads, x, y, scratch, rows, dy, dx, dy_is_preactivation, ctx } = pass;
        let dz = self.delta(dy, y, scratch, rows, dy_is_preactivation, ctx.threads);
        let (gw, gb) = grads.split_at_mut(self.inputs * self.outputs);
        // ∂L/∂W (out × in) = δᵀ (out × rows) · x (rows × in)
        matmul(gw, self.outputs, self.inputs, rows, dz, Transpose::Yes, x, Transpose::No, false, ctx.threads);
        elementwise::column_sums(dz, gb, ctx.threads);
        if let Some(dx) = dx {
            self.input_gradient(params, dz, rows, dx, ctx);
        }
    }

    fn describe(&self) -> String {
        format!("dense {}→{} {}", self.inputs, self.outputs, self.activation)
    }
}
