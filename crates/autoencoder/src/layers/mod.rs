//! Layers: the `Layer` trait every building block implements, and one file per layer.
//!
//! Internal: public (and `#[doc(hidden)]`) only for the tests and the benches; not part
//! of the library's promised API, and it may change in any release. [`Init`] is the
//! crate root's `autoencoder::Init`, [`Activation`] its `autoencoder::Activation`.

pub mod batch_norm2d;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod dense;
pub mod dropout;
pub mod init;
pub mod max_pool2d;
pub mod sample;
pub mod upsample;

pub use crate::activation::Activation;
pub use batch_norm2d::BatchNorm2d;
pub use conv2d::Conv2d;
pub use conv_transpose2d::ConvTranspose2d;
pub use dense::Dense;
pub use dropout::Dropout;
pub use init::Init;
pub use max_pool2d::MaxPool2d;
pub use sample::Sample;
pub use upsample::Upsample;

use crate::kernels::Threads;
use crate::random::ChaCha8Rng;
use std::ops::Range;

/// Turn `dz`, holding `∂L/∂y`, into `∂L/∂z` in place, `z` being the pre-activation
/// (from `y`, or from `pre` when the activation's derivative needs `z`) — unless it
/// already is `∂L/∂z` (`fused`: a loss fused with the activation). Every layer with an
/// activation starts its backward pass here.
pub(crate) fn activation_gradient(
    act: Activation,
    dz: &mut [f32],
    y: &[f32],
    pre: Option<&[f32]>,
    fused: bool,
    threads: &Threads,
) {
    if !fused {
        crate::kernels::elementwise::activation_backward(dz, &y[..dz.len()], pre, act, threads);
    }
}

/// One parameter tensor of a layer, as it is named in the model file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    /// `weight` or `bias` (the suffix after `encoder.0.`).
    pub name: &'static str,
    /// Row-major shape, e.g. `[out, in]` for a dense weight.
    pub shape: Vec<usize>,
    /// Whether weight penalties (L1/L2, AdamW's decay) apply to it.
    pub decays: bool,
}

impl ParamSpec {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True for a tensor without values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a pass needs besides its buffers: the threads, and whether it is a training
/// pass (batch norm normalises with the batch's statistics, and the trainer then folds
/// them into the running ones) or an inference pass (the running statistics).
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The thread setting for matrix products.
    pub threads: &'a Threads,
    /// A training pass (true) or an inference pass.
    pub training: bool,
}

impl<'a> Ctx<'a> {
    /// A training pass.
    pub fn train(threads: &'a Threads) -> Self {
        Ctx { threads, training: true }
    }
    /// An inference pass (also validation).
    pub fn infer(threads: &'a Threads) -> Self {
        Ctx { threads, training: false }
    }
}

/// The buffers of one layer's backward pass for a batch of `rows` rows.
#[derive(Debug)]
pub struct Backward<'a> {
    /// The layer's parameters.
    pub params: &'a [f32],
    /// Its parameter gradients, overwritten.
    pub grads: &'a mut [f32],
    /// The forward pass's input.
    pub x: &'a [f32],
    /// The forward pass's output.
    pub y: &'a [f32],
    /// What the forward pass kept (`scratch_width` per row).
    pub scratch: &'a mut [f32],
    /// Rows in the batch.
    pub rows: usize,
    /// `∂L/∂y` (the layer may overwrite it).
    pub dy: &'a mut [f32],
    /// Where to write `∂L/∂x`, when the caller needs it (not for the first layer).
    pub dx: Option<&'a mut [f32]>,
    /// `dy` already is `∂L/∂z` before the activation (a loss fused with the output
    /// activation).
    pub dy_is_preactivation: bool,
    /// Threads and the pass's mode.
    pub ctx: Ctx<'a>,
}

/// Which layer a [`Layer`] is: what callers match on (the trainer finds a variational
/// model's sampling layer, tied weights pair the dense layers), and its name in
/// `ae inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// [`Dense`].
    Dense,
    /// [`Conv2d`].
    Conv2d,
    /// [`ConvTranspose2d`].
    ConvTranspose2d,
    /// [`MaxPool2d`].
    MaxPool2d,
    /// [`Upsample`].
    Upsample,
    /// [`BatchNorm2d`].
    BatchNorm2d,
    /// [`Sample`], a variational model's code.
    Sample,
    /// [`Dropout`].
    Dropout,
}

impl LayerKind {
    /// The short name: `dense`, `conv2d`, `conv_transpose2d`, `max_pool2d`, `upsample`,
    /// `batch_norm2d`, `sample`, `dropout`.
    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Dense => "dense",
            LayerKind::Conv2d => "conv2d",
            LayerKind::ConvTranspose2d => "conv_transpose2d",
            LayerKind::MaxPool2d => "max_pool2d",
            LayerKind::Upsample => "upsample",
            LayerKind::BatchNorm2d => "batch_norm2d",
            LayerKind::Sample => "sample",
            LayerKind::Dropout => "dropout",
        }
    }
}

impl std::fmt::Display for LayerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A differentiable map from `rows × input_width` to `rows × output_width`, with its
/// parameters held outside (in the model's one parameter buffer) so that optimizers,
/// checkpoints and the model file see all of them as one flat array.
///
/// Buffers are the caller's: `forward` writes `y` and the layer's scratch (values it
/// keeps for the backward pass, `scratch_width()` per row); `backward` receives the
/// gradient with respect to `y` in [`Backward::dy`] (which it may overwrite), writes its
/// parameter gradients into `grads` (overwriting) and, when asked, the gradient with
/// respect to `x` into `dx`. No pass allocates.
pub trait Layer: Send + Sync + std::fmt::Debug {
    /// Which layer this is.
    fn kind(&self) -> LayerKind;
    /// Values per input row.
    fn input_width(&self) -> usize;
    /// Values per output row.
    fn output_width(&self) -> usize;
    /// The parameter tensors, in the order they lie in the parameter buffer.
    fn param_specs(&self) -> Vec<ParamSpec>;
    /// Total parameter count.
    fn param_len(&self) -> usize {
        self.param_specs().iter().map(ParamSpec::len).sum()
    }
    /// Floats per row the layer keeps between forward and backward.
    fn scratch_width(&self) -> usize {
        0
    }
    /// True for a layer whose scratch carries noise *in*: the caller fills it before the
    /// forward pass, with [`draw_noise`](Self::draw_noise) for training and
    /// [`inference_noise`](Self::inference_noise) for the deterministic pass ([`Sample`],
    /// [`Dropout`]).
    fn takes_noise(&self) -> bool {
        false
    }
    /// Draw a training pass's noise (`rows × scratch_width` values) from `rng`.
    fn draw_noise(&self, _noise: &mut [f32], _rng: &mut ChaCha8Rng) {}
    /// Move `rng` to where [`draw_noise`](Self::draw_noise) of `values` values leaves it,
    /// without drawing them (a process skipping the rows another one draws for).
    fn skip_noise(&self, _values: usize, _rng: &mut ChaCha8Rng) {}
    /// The noise of the deterministic (inference) pass: zeros unless the layer says otherwise.
    fn inference_noise(&self, noise: &mut [f32]) {
        noise.fill(0.0);
    }
    /// True for a layer with non-trainable state that training passes update (batch
    /// norm's running statistics): the trainer calls
    /// [`update_state`](Self::update_state) after each optimizer step.
    fn has_state(&self) -> bool {
        false
    }
    /// After an optimizer step, fold what the training pass left in `scratch` into the
    /// layer's non-trainable state in `params` (batch norm's running statistics).
    fn update_state(&self, _params: &mut [f32], _scratch: &[f32]) {}
    /// In micro-batch training, where each micro-batch's training pass normalises by its
    /// own statistics and the state is updated once a step from the whole batch's: this
    /// pass's share of that update, as values that add over the micro-batches (in the
    /// tree that sums their gradients), written into the state's part of `grads` (the
    /// layer's gradient, whose state part no gradient uses), from what the pass left in
    /// `scratch` and the state in `params` before the step.
    fn state_sums(&self, _params: &[f32], _scratch: &[f32], _grads: &mut [f32]) {}
    /// After a micro-batch step: fold the sums of every micro-batch (the state's part of
    /// the summed `grads`, over a batch of `rows` rows) into the state in `params`, and
    /// zero them, so that no optimizer moves the state.
    fn update_state_from_sums(&self, _params: &mut [f32], _grads: &mut [f32], _rows: usize) {}
    /// The activation applied last (so a loss can fuse with it); `Linear` if none.
    fn activation(&self) -> Activation {
        Activation::Linear
    }
    /// Fill `params` with initial values.
    fn init(&self, params: &mut [f32], rng: &mut ChaCha8Rng);
    /// `y = layer(x)` for `rows` rows.
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &self,
        params: &[f32],
        x: &[f32],
        rows: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        ctx: Ctx<'_>,
    );
    /// Forward without the final activation, writing the pre-activation `z` into
    /// `z` (for a loss fused with the activation, which applies it itself); `scratch`
    /// is as in [`forward`](Self::forward). Returns
    /// false, doing nothing, for layers that cannot.
    fn forward_preactivation(
        &self,
        _params: &[f32],
        _x: &[f32],
        _rows: usize,
        _z: &mut [f32],
        _scratch: &mut [f32],
        _ctx: Ctx<'_>,
    ) -> bool {
        false
    }
    /// Gradients of one batch, from `pass.dy = ∂L/∂y` ([`Backward`]).
    fn backward(&self, pass: Backward<'_>);
    /// True for a layer whose forward pass and whose `∂L/∂x` treat each row on its own,
    /// and whose parameters (if any) are a weight matrix with one row per output unit
    /// followed by one bias per unit, as [`Dense`]'s: the row-split training step then
    /// runs blocks of rows on threads side by side ([`backward_rows`](Self::backward_rows))
    /// and the parameter gradients by blocks of output units
    /// ([`unit_gradients`](Self::unit_gradients)), with the bits of the whole batch.
    fn splits_by_rows(&self) -> bool {
        false
    }
    /// The row-by-row part of [`backward`](Self::backward) for the rows in `pass`:
    /// `pass.dy` becomes `∂L/∂z` (the gradient before the activation, in place) and
    /// `pass.dx` receives `∂L/∂x`; `pass.grads` is not touched. For a layer without
    /// parameters, `backward` itself (the default).
    fn backward_rows(&self, pass: Backward<'_>) {
        self.backward(pass)
    }
    /// The parameter gradients of output units `units` from `dz = ∂L/∂z` (after
    /// [`backward_rows`](Self::backward_rows)) and the input `x` of all `rows` rows:
    /// `gw` (the units' rows of the weight gradient, `units.len() × input_width`) and
    /// `gb` (their bias gradient). Only called when [`splits_by_rows`](Self::splits_by_rows)
    /// and the layer has parameters.
    #[allow(clippy::too_many_arguments)]
    fn unit_gradients(
        &self,
        _x: &[f32],
        _dz: &[f32],
        _rows: usize,
        _units: Range<usize>,
        _gw: &mut [f32],
        _gb: &mut [f32],
        _ctx: Ctx<'_>,
    ) {
        unreachable!("{} does not split its gradients by output units", self.kind())
    }
    /// One line for `ae inspect`: `dense 784→64 relu`.
    fn describe(&self) -> String;
}
