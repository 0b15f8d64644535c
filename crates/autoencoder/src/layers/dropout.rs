//! Dropout: during training each value is kept with probability `1 − p` and scaled by
//! `1/(1 − p)` (inverted dropout), so inference is the identity.
//!
//! The mask `m` (values `0` or `1/(1 − p)`) is not drawn here: the trainer fills the
//! layer's scratch with [`Layer::draw_noise`] before a training pass; inference fills it
//! with ones. Forward `y = x ⊙ m`; backward `∂L/∂x = ∂L/∂y ⊙ m`.

use super::{Backward, Ctx, Layer, LayerKind, ParamSpec};
use crate::kernels::gaussian;
use crate::random::{self, ChaCha8Rng};

/// Dropout of probability `p` over `width` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropout {
    width: usize,
    p: f32,
}

impl Dropout {
    /// Drop each of `width` values with probability `p` (in `[0, 1)`).
    pub fn new(width: usize, p: f32) -> Self {
        Dropout { width, p }
    }
}

impl Layer for Dropout {
    fn kind(&self) -> LayerKind {
        LayerKind::Dropout
    }
    fn input_width(&self) -> usize {
        self.width
    }
    fn output_width(&self) -> usize {
        self.width
    }
    fn param_specs(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    fn scratch_width(&self) -> usize {
        self.width
    }
    fn takes_noise(&self) -> bool {
        true
    }
    fn splits_by_rows(&self) -> bool {
        true
    }
    fn draw_noise(&self, noise: &mut [f32], rng: &mut ChaCha8Rng) {
        let keep = 1.0 / (1.0 - self.p);
        for m in noise.iter_mut() {
            *m = if random::uniform(rng) < self.p { 0.0 } else { keep };
        }
    }
    fn inference_noise(&self, noise: &mut [f32]) {
        noise.fill(1.0);
    }
    fn skip_noise(&self, values: usize, rng: &mut ChaCha8Rng) {
        random::skip_uniforms(rng, values);
    }
    fn init(&self, _params: &mut [f32], _rng: &mut ChaCha8Rng) {}
    fn forward(
        &self,
        _params: &[f32],
        x: &[f32],
        rows: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        _ctx: Ctx<'_>,
    ) {
        let n = rows * self.width;
        gaussian::multiply(&x[..n], &scratch[..n], &mut y[..n]);
    }
    fn backward(&self, pass: Backward<'_>) {
        let Backward { scratch, rows, dy, dx, .. } = pass;
        let Some(dx) = dx else { return };
        let n = rows * self.width;
        gaussian::multiply(&dy[..n], &scratch[..n], &mut dx[..n]);
    }
    fn describe(&self) -> String {
        format!("dropout {} p={}", self.width, self.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{rng, Stream};

    #[test]
    fn the_mask_keeps_the_expected_value() {
        let d = Dropout::new(10_000, 0.3);
        let mut m = vec![0.0f32; 10_000];
        d.draw_noise(&mut m, &mut rng(0, Stream::Noise));
        let dropped = m.iter().filter(|&&v| v == 0.0).count() as f64 / 1e4;
        let mean = m.iter().map(|&v| f64::from(v)).sum::<f64>() / 1e4;
        assert!((dropped - 0.3).abs() < 0.02 && (mean - 1.0).abs() < 0.03, "{dropped} {mean}");
        let mut ones = vec![0.0f32; 4];
        d.inference_noise(&mut ones);
        assert_eq!(ones, [1.0; 4]);
    }

    #[test]
    fn skipping_noise_leaves_the_generator_where_drawing_it_does() {
        let layers: [&dyn Layer; 2] = [&Dropout::new(7, 0.4), &crate::layers::Sample::new(7)];
        for l in layers {
            for n in [1, 7, 133] {
                let (mut drawn, mut skipped) = (rng(4, Stream::Noise), rng(4, Stream::Noise));
                l.draw_noise(&mut vec![0.0; n], &mut drawn);
                l.skip_noise(n, &mut skipped);
                assert_eq!(drawn.get_word_pos(), skipped.get_word_pos(), "{} after {n}", l.describe());
            }
        }
    }
}
