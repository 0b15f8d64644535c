//! The reparameterised Gaussian sample of a variational autoencoder: from the encoder's
//! `2k` outputs `(μ, log σ²)` to the code `z = μ + σ ⊙ ε`, `σ = exp(½·log σ²)`.
//!
//! The noise `ε ~ N(0, I)` is not drawn here: the caller puts it in the layer's scratch
//! buffer (`k` values per row) before the forward pass (the trainer draws it from the
//! seed's `Noise` stream). A zero scratch gives `z = μ`, the deterministic code that
//! `encode` and `reconstruct` use. Backward: `∂L/∂μ = ∂L/∂z`,
//! `∂L/∂log σ² = ∂L/∂z ⊙ ε ⊙ ½σ`. The KL term of the ELBO is the trainer's (it adds its
//! gradient to this layer's input gradient).
//!
//! ```
//! use autoencoder::layers::{Ctx, Layer, Sample};
//! use autoencoder::kernels::Threads;
//!
//! let s = Sample::new(2);
//! let x = [1.0, -1.0, 0.0, 2.0f32.ln() * 2.0]; // μ = (1, −1), log σ² = (0, 2·ln 2): σ = (1, 2)
//! let mut eps = [0.5, 0.25];
//! let mut z = [0.0; 2];
//! let threads = Threads::new(1);
//! s.forward(&[], &x, 1, &mut z, &mut eps, Ctx::infer(&threads));
//! assert!((z[0] - 1.5).abs() < 1e-6 && (z[1] - -0.5).abs() < 1e-6);
//! ```

use super::{Backward, Ctx, Layer, LayerKind, ParamSpec};
use crate::kernels::gaussian;
pub use crate::kernels::gaussian::{sigma, LOGVAR_LIMIT};
use crate::random::ChaCha8Rng;

/// The sampling layer: input `2k` (μ then log σ²), output `k`, no parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    k: usize,
}

impl Sample {
    /// A sample of `k` dimensions.
    pub fn new(k: usize) -> Self {
        Sample { k }
    }
}

impl Layer for Sample {
    fn kind(&self) -> LayerKind {
        LayerKind::Sample
    }
    fn input_width(&self) -> usize {
        2 * self.k
    }
    fn output_width(&self) -> usize {
        self.k
    }
    fn param_specs(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    fn scratch_width(&self) -> usize {
        self.k
    }
    fn takes_noise(&self) -> bool {
        true
    }
    fn splits_by_rows(&self) -> bool {
        true
    }
    fn draw_noise(&self, noise: &mut [f32], rng: &mut ChaCha8Rng) {
        for v in noise.iter_mut() {
            *v = crate::random::normal(rng) as f32;
        }
    }
    fn skip_noise(&self, values: usize, rng: &mut ChaCha8Rng) {
        crate::random::skip_normals(rng, values);
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
        gaussian::reparameterize(x, scratch, y, rows, self.k);
    }
    fn backward(&self, pass: Backward<'_>) {
        let Backward { x, scratch, rows, dy, dx, .. } = pass;
        let Some(dx) = dx else { return };
        gaussian::reparameterize_backward(x, scratch, dy, dx, rows, self.k);
    }
    fn describe(&self) -> String {
        format!("sample {}→{} (z = μ + σ·ε)", 2 * self.k, self.k)
    }
}
