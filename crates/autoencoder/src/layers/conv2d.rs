//! The 2-D convolution `y = f(conv(x, W) + b)` as one matrix product over im2col's
//! patches, bias and activation fused; its output is channels-last.
//!
//! ```
//! use autoencoder::kernels::conv::{Geometry, Layout};
//! use autoencoder::kernels::Threads;
//! use autoencoder::layers::{Activation, Conv2d, Ctx, Layer};
//!
//! // One 3×3 image, a 2×2 kernel of ones, stride 1, no padding: each output is a 2×2 sum.
//! let g = Geometry::new(1, 3, 3, Layout::ChannelsLast, 2, 1, 0).unwrap();
//! let conv = Conv2d::new(g, 1, Activation::Linear);
//! let params = [1.0, 1.0, 1.0, 1.0, 0.5]; // weight (1×2×2×1), bias
//! let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
//! let mut y = [0.0; 4];
//! let mut scratch = vec![0.0; conv.scratch_width()];
//! let threads = Threads::new(1);
//! conv.forward(&params, &x, 1, &mut y, &mut scratch, Ctx::infer(&threads));
//! assert_eq!(y, [12.5, 16.5, 24.5, 28.5]);
//! ```

use super::{Activation, Backward, Ctx, Init, Layer, LayerKind, ParamSpec};
use crate::kernels::conv::{self, Geometry};
use crate::kernels::{elementwise, matmul, Transpose};
use crate::random::ChaCha8Rng;

/// A convolution from `geometry.channels` to `out_channels` channels.
///
/// The weight is stored `out × kernel × kernel × in` (PyTorch's `Conv2d.weight`, which is
/// `out × in × kH × kW`, is this with `permute(0, 3, 1, 2)`), then the bias (`out`).
/// With `P` the `(rows·positions) × kernel²·in` patch matrix of the input, forward is
/// `Z = P·Wᵀ + b` (channels-last output), `y = f(Z)`. Backward, with `δ = ∂L/∂Z`:
/// `∂L/∂W = δᵀ·P`, `∂L/∂b = Σ δ` per channel, `∂L/∂x = col2im(δ·W)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2d {
    geometry: Geometry,
    out_channels: usize,
    activation: Activation,
    init: Init,
}

impl Conv2d {
    /// A convolution over images of `geometry` (its layout is the input's) to
    /// `out_channels` channels, with Glorot-uniform weights.
    pub fn new(geometry: Geometry, out_channels: usize, activation: Activation) -> Self {
        Conv2d { geometry, out_channels, activation, init: Init::GlorotUniform }
    }

    /// Use another initialisation scheme.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// The input geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    fn weight_len(&self) -> usize {
        self.out_channels * self.geometry.patch_len()
    }
    fn patches(&self, rows: usize) -> usize {
        rows * self.geometry.positions()
    }
    fn keeps_preactivation(&self) -> bool {
        self.activation.needs_preactivation()
    }
}

impl Layer for Conv2d {
    fn kind(&self) -> LayerKind {
        LayerKind::Conv2d
    }
    fn input_width(&self) -> usize {
        self.geometry.image_len()
    }
    fn output_width(&self) -> usize {
        self.geometry.positions() * self.out_channels
    }
    fn param_specs(&self) -> Vec<ParamSpec> {
        let g = &self.geometry;
        vec![
            ParamSpec {
                name: "weight",
                shape: vec![self.out_channels, g.kernel, g.kernel, g.channels],
                decays: true,
            },
            ParamSpec { name: "bias", shape: vec![self.out_channels], decays: false },
        ]
    }
    /// The patch matrix (kept for `∂L/∂W`, then reused for `∂L/∂P`), and `Z` when the
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
        self.init.fill(w, field * self.geometry.channels, field * self.out_channels, rng);
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
        let (cols, pre) = scratch.split_at_mut(self.patches(rows) * self.geometry.patch_len());
        self.forward_linear(params, x, rows, &mut y[..n], cols, ctx);
        let pre = if self.keeps_preactivation() { Some(&mut pre[..n]) } else { None };
        elementwise::bias_activation(
            &mut y[..n],
            &params[self.weight_len()..],
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
        elementwise::bias_activation(
            &mut z[..n],
            &params[self.weight_len()..],
            Activation::Linear,
            None,
            ctx.threads,
        );
        true
    }

    fn backward(&self, pass: Backward<'_>) {
        let Backward { params, grads, y, scratch, rows, dy, dx, dy_is_preactivation, ctx, .. } = pass;
        let g = &self.geometry;
        let (m, k, o) = (self.patches(rows), g.patch_len(), self.out_channels);
        let n = rows * self.output_width();
        let (cols, pre) = scratch.split_at_mut(m * k);
        let dz = &mut dy[..n];
        let pre = self.keeps_preactivation().then(|| &pre[..n]);
        super::activation_gradient(self.activation, dz, y, pre, dy_is_preactivation, ctx.threads);
        let (gw, gb) = grads.split_at_mut(self.weight_len());
        // ∂L/∂W (out × patch) = δᵀ (out × m) · P (m × patch)
        matmul(gw, o, k, m, dz, Transpose::Yes, &cols[..m * k], Transpose::No, false, ctx.threads);
        elementwise::column_sums(dz, gb, ctx.threads);
        if let Some(dx) = dx {
            // ∂L/∂P (m × patch) = δ (m × out) · W (out × patch), over the patches, then back to pixels.
            let dcols = &mut cols[..m * k];
            matmul(
                dcols,
                m,
                k,
                o,
                dz,
                Transpose::No,
                &params[..self.weight_len()],
                Transpose::No,
                false,
                ctx.threads,
            );
            conv::col2im(g, dcols, rows, dx, ctx.threads);
        }
    }

    fn describe(&self) -> String {
        let g = &self.geometry;
        format!(
            "conv2d {}×{}×{}→{}×{}×{} k{} s{} p{} {}",
            g.channels,
            g.height,
            g.width,
            self.out_channels,
            g.out_height,
            g.out_width,
            g.kernel,
            g.stride,
            g.padding,
            self.activation
        )
    }
}

impl Conv2d {
    /// `Z = P·Wᵀ` (no bias) with the patches written to `cols`.
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
        let (m, k) = (self.patches(rows), g.patch_len());
        let cols = &mut cols[..m * k];
        conv::im2col(g, x, rows, cols, ctx.threads);
        let w = &params[..self.weight_len()];
        matmul(z, m, self.out_channels, k, cols, Transpose::No, w, Transpose::Yes, false, ctx.threads);
    }
}
