//! The transposed 2-D convolution (the adjoint of [`Conv2d`](super::Conv2d)'s linear
//! map, which upsamples): one matrix product to patches, then col2im's scatter-add.
//!
//! Its geometry is that of the convolution it inverts: the *output* image, with the
//! input's pixels as the grid of kernel positions. So `out = (in − 1)·stride −
//! 2·padding + kernel + output_padding`, where PyTorch's `output_padding` (`< stride`)
//! picks one of the `stride` output sizes that the convolution maps to `in`; that is how
//! 7 → 14 → 28 and 4 → 7 both come back.
//!
//! ```
//! use autoencoder::kernels::conv::{Geometry, Layout};
//! use autoencoder::layers::ConvTranspose2d;
//!
//! // 7×7 → 14×14: kernel 3, stride 2, padding 1 (and so output padding 1).
//! let out = Geometry::new(8, 14, 14, Layout::ChannelsLast, 3, 2, 1).unwrap();
//! assert_eq!((out.out_height, out.out_width), (7, 7));
//! let up = autoencoder::layers::ConvTranspose2d::new(out, 16, autoencoder::layers::Activation::Relu);
//! use autoencoder::layers::Layer;
//! assert_eq!((up.input_width(), up.output_width()), (16 * 7 * 7, 8 * 14 * 14));
//! ```

use super::{Activation, Backward, Ctx, Init, Layer, LayerKind, ParamSpec};
use crate::kernels::conv::{self, Geometry};
use crate::kernels::{matmul, Transpose};
use crate::random::ChaCha8Rng;

/// A transposed convolution from `in_channels` (channels-last, on the grid of
/// `geometry`) to the image of `geometry` (in its layout).
///
/// The weight is stored `in × kernel × kernel × out` (PyTorch's
/// `ConvTranspose2d.weight`, `in × out × kH × kW`, with `permute(0, 2, 3, 1)`), then the
/// bias (`out`). Forward: `C = x·W` (`(rows·grid) × kernel²·out` patches), `Z =
/// col2im(C) + b`, `y = f(Z)`. Backward, with `δ = ∂L/∂Z` and `D = im2col(δ)`:
/// `∂L/∂W = xᵀ·D`, `∂L/∂b = Σ δ` per channel, `∂L/∂x = D·Wᵀ`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvTranspose2d {
    geometry: Geometry,
    in_channels: usize,
    activation: Activation,
    init: Init,
}

impl ConvTranspose2d {
    /// A transposed convolution from `in_channels` on `geometry`'s grid to `geometry`'s
    /// image, with Glorot-uniform weights.
    pub fn new(geometry: Geometry, in_channels: usize, activation: Activation) -> Self {
        ConvTranspose2d { geometry, in_channels, activation, init: Init::GlorotUniform }
    }

    /// Use another initialisation scheme.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// The output geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    fn weight_len(&self) -> usize {
        self.in_channels * self.geometry.patch_len()
    }
    fn cells(&self, rows: usize) -> usize {
        rows * self.geometry.positions()
    }
    fn keeps_preactivation(&self) -> bool {
        self.activation.needs_preactivation()
    }
    fn plane(&self) -> usize {
        self.geometry.height * self.geometry.width
    }

    /// `Z = col2im(x·W) + b`, with the patches in `cols`.
    fn forward_linear(
        &self,
        params: &[f32],
        x: &[f32],
        rows: usize,
        z: &mut [f32],
        cols: &mut [f32],
        ctx: Ctx<'_>,
    ) {
        let g = &self.geometry;
        let (m, k) = (self.cells(rows), g.patch_len());
        let cols = &mut cols[..m * k];
        let w = &params[..self.weight_len()];
        matmul(cols, m, k, self.in_channels, x, Transpose::No, w, Transpose::No, false, ctx.threads);
        conv::col2im(g, cols, rows, z, ctx.threads);
    }
}

impl Layer for ConvTranspose2d {
    fn kind(&self) -> LayerKind {
        LayerKind::ConvTranspose2d
    }
    fn input_width(&self) -> usize {
        self.geometry.positions() * self.in_channels
    }
    fn output_width(&self) -> usize {
        self.geometry.image_len()
    }
    fn param_specs(&self) -> Vec<ParamSpec> {
        let g = &self.geometry;
        vec![
            ParamSpec {
                name: "weight",
                shape: vec![self.in_channels, g.kernel, g.kernel, g.channels],
                decays: true,
            },
            ParamSpec { name: "bias", shape: vec![g.channels], decays: false },
        ]
    }
    /// The patch matrix (forward's `x·W`, then backward's `im2col(δ)`), and `Z` when the
    /// activation's derivative needs it.
    fn scratch_width(&self) -> usize {
        let pre = if self.keeps_preactivation() { self.output_width() } else { 0 };
        self.geometry.positions() * self.geometry.patch_len() + pre
    }
    fn activation(&self) -> Activation {
        self.activation
    }

    fn init(&self, params: &mut [f32], rng: &mut ChaCha8Rng) {
        let (w, b) = params.split_at_mut(self.weight_len());
        let field = self.geometry.kernel * self.geometry.kernel;
        // PyTorch's and Keras' fans for a transposed convolution: the weight's dim 1 × field in, dim 0 × field out.
        self.init.fill(w, field * self.geometry.channels, field * self.in_channels, rng);
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
        let n = rows * self.output_width();
        let (cols, pre) = scratch.split_at_mut(self.cells(rows) * self.geometry.patch_len());
        self.forward_linear(params, x, rows, &mut y[..n], cols, ctx);
        let pre = if self.keeps_preactivation() { Some(&mut pre[..n]) } else { None };
        let b = &params[self.weight_len()..];
        conv::channel_bias_activation(
            &mut y[..n],
            b,
            self.geometry.layout,
            self.plane(),
            self.activation,
            pre,
            ctx.threads,
        );
    }

    fn forward_preactivation(
        &self,
        params: &[f32],
        x: &[f32],
        rows: usize,
        z: &mut [f32],
        scratch: &mut [f32],
        ctx: Ctx<'_>,
    ) -> bool {
        let n = rows * self.output_width();
        self.forward_linear(params, x, rows, &mut z[..n], scratch, ctx);
        let b = &params[self.weight_len()..];
        conv::channel_bias_activation(
            &mut z[..n],
            b,
            self.geometry.layout,
            self.plane(),
            Activation::Linear,
            None,
            ctx.threads,
        );
        true
    }

    fn backward(&self, pass: Backward<'_>) {
        let Backward { params, grads, x, y, scratch, rows, dy, dx, dy_is_preactivation, ctx } = pass;
        let g = &self.geometry;
        let (m, k, c) = (self.cells(rows), g.patch_len(), self.in_channels);
        let n = rows * self.output_width();
        let (cols, pre) = scratch.split_at_mut(m * k);
        let dz = &mut dy[..n];
        let pre = self.keeps_preactivation().then(|| &pre[..n]);
        super::activation_gradient(self.activation, dz, y, pre, dy_is_preactivation, ctx.threads);
        let (gw, gb) = grads.split_at_mut(self.weight_len());
        conv::channel_sums(dz, gb, g.layout, self.plane(), ctx.threads);
        let d = &mut cols[..m * k];
        conv::im2col(g, dz, rows, d, ctx.threads);
        // ∂L/∂W (in × patch) = xᵀ (in × m) · D (m × patch)
        matmul(gw, c, k, m, &x[..m * c], Transpose::Yes, d, Transpose::No, false, ctx.threads);
        if let Some(dx) = dx {
            // ∂L/∂x (m × in) = D (m × patch) · Wᵀ (patch × in)
            let w = &params[..self.weight_len()];
            matmul(dx, m, c, k, d, Transpose::No, w, Transpose::Yes, false, ctx.threads);
        }
    }

    fn describe(&self) -> String {
        let g = &self.geometry;
        format!(
            "conv_transpose2d {}×{}×{}→{}×{}×{} k{} s{} p{} {}",
            self.in_channels,
            g.out_height,
            g.out_width,
            g.channels,
            g.height,
            g.width,
            g.kernel,
            g.stride,
            g.padding,
            self.activation
        )
    }
}
