//! Layers: the `Layer` trait every building block implements, and one file per layer.

pub mod activation;
pub mod batch_norm2d;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod dense;
pub mod dropout;
pub mod init;
pub mod max_pool2d;
pub mod sample;
pub mod upsample;

pub use activation::Activation;
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
) {
    if !fused {
        crate::kernels::elementwise::activation_backward(dz, &y[..dz.len()], pre, act);
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

/// What a pass needs besides its buffers.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The thread setting for matrix products.
    pub threads: &'a Threads,
}

/// A differentiable map from `rows × input_width` to `rows × output_width`, with its
/// parameters held outside (in the model's one parameter buffer) so that optimizers,
/// checkpoints and the model file see all of them as one flat array.
///
/// Buffers are the caller's: `forward` writes `y` and the layer's scratch (values it
/// keeps for the backward pass, `scratch_width()` per row); `backward` receives the
/// gradient with respect to `y` in `dy` (which it may overwrite), writes its parameter
/// gradients into `grads` (overwriting) and, when asked, the gradient with respect to
/// `x` into `dx`. No pass allocates.
pub trait Layer: Send + Sync + std::fmt::Debug {
    /// A short name: `dense`.
    fn kind(&self) -> &'static str;
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
    /// The noise of the deterministic (inference) pass: zeros unless the layer says otherwise.
    fn inference_noise(&self, noise: &mut [f32]) {
        noise.fill(0.0);
    }
    /// After an optimizer step, fold what the training pass left in `scratch` into the
    /// layer's non-trainable state in `params` (batch norm's running statistics). The
    /// trainer calls it for the layers that [take noise](Self::takes_noise), the ones
    /// whose training pass differs from inference.
    fn update_state(&self, _params: &mut [f32], _scratch: &[f32]) {}
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
    /// Gradients from `dy = ∂L/∂y`. When `dy_is_preactivation` is set, `dy` already is
    /// `∂L/∂z` before the activation (a loss fused with the output activation).
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        params: &[f32],
        grads: &mut [f32],
        x: &[f32],
        y: &[f32],
        scratch: &mut [f32],
        rows: usize,
        dy: &mut [f32],
        dx: Option<&mut [f32]>,
        dy_is_preactivation: bool,
        ctx: Ctx<'_>,
    );
    /// One line for `ae inspect`: `dense 784→64 relu`.
    fn describe(&self) -> String;
}
