//! Nearest-neighbour upsampling by a whole factor (channels-last images): each pixel
//! becomes a `factor × factor` block; the gradient of a pixel is the sum over its block.

use super::{Backward, Ctx, Layer, LayerKind, ParamSpec};
use crate::kernels::conv;
use crate::random::ChaCha8Rng;

/// `Upsample(scale_factor = factor, mode = "nearest")` of `channels × height × width`
/// channels-last images.
#[derive(Debug, Clone, PartialEq)]
pub struct Upsample {
    channels: usize,
    height: usize,
    width: usize,
    factor: usize,
}

impl Upsample {
    /// Upsampling of `channels × height × width` images by `factor` (≥ 1).
    pub fn new(channels: usize, height: usize, width: usize, factor: usize) -> Self {
        Upsample { channels, height, width, factor: factor.max(1) }
    }
}

impl Layer for Upsample {
    fn kind(&self) -> LayerKind {
        LayerKind::Upsample
    }
    fn input_width(&self) -> usize {
        self.channels * self.height * self.width
    }
    fn output_width(&self) -> usize {
        self.input_width() * self.factor * self.factor
    }
    fn param_specs(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    fn init(&self, _params: &mut [f32], _rng: &mut ChaCha8Rng) {}
    fn forward(&self, _p: &[f32], x: &[f32], rows: usize, y: &mut [f32], _s: &mut [f32], _ctx: Ctx<'_>) {
        conv::upsample(x, rows, self.channels, self.height, self.width, self.factor, y);
    }
    fn backward(&self, pass: Backward<'_>) {
        let Backward { rows, dy, dx, .. } = pass;
        if let Some(dx) = dx {
            conv::upsample_backward(dy, rows, self.channels, self.height, self.width, self.factor, dx);
        }
    }
    fn describe(&self) -> String {
        let (c, h, w, f) = (self.channels, self.height, self.width, self.factor);
        format!("upsample {c}×{h}×{w}→{c}×{}×{} nearest", h * f, w * f)
    }
}
