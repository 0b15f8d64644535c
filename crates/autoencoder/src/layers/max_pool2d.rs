//! Max pooling over `size × size` windows with stride `size` (channels-last images):
//! each output is its window's largest value, and the gradient flows to that value only.

use super::{Backward, Ctx, Layer, LayerKind, ParamSpec};
use crate::kernels::conv::{self, Geometry, Layout};
use crate::random::ChaCha8Rng;

/// `MaxPool2d(size)` over `channels × height × width` channels-last images; a partial
/// window at the bottom or right edge is dropped, as in PyTorch.
#[derive(Debug, Clone, PartialEq)]
pub struct MaxPool2d {
    geometry: Geometry,
}

impl MaxPool2d {
    /// Pooling of `size × size` windows, or `None` when the image is smaller than one window.
    pub fn new(channels: usize, height: usize, width: usize, size: usize) -> Option<Self> {
        Some(MaxPool2d {
            geometry: Geometry::new(channels, height, width, Layout::ChannelsLast, size, size, 0)?,
        })
    }

    /// The input geometry (its grid is the output's size).
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }
}

impl Layer for MaxPool2d {
    fn kind(&self) -> LayerKind {
        LayerKind::MaxPool2d
    }
    fn input_width(&self) -> usize {
        self.geometry.image_len()
    }
    fn output_width(&self) -> usize {
        self.geometry.positions() * self.geometry.channels
    }
    fn param_specs(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    /// Where each maximum was, for the backward pass.
    fn scratch_width(&self) -> usize {
        self.output_width()
    }
    fn init(&self, _params: &mut [f32], _rng: &mut ChaCha8Rng) {}
    fn forward(&self, _p: &[f32], x: &[f32], rows: usize, y: &mut [f32], scratch: &mut [f32], _ctx: Ctx<'_>) {
        conv::max_pool(&self.geometry, x, rows, y, scratch);
    }
    fn backward(&self, pass: Backward<'_>) {
        let Backward { scratch, rows, dy, dx, .. } = pass;
        if let Some(dx) = dx {
            conv::max_pool_backward(&self.geometry, dy, scratch, rows, dx);
        }
    }
    fn describe(&self) -> String {
        let g = &self.geometry;
        format!(
            "max_pool2d {}×{}×{}→{}×{}×{} size {}",
            g.channels, g.height, g.width, g.channels, g.out_height, g.out_width, g.kernel
        )
    }
}
