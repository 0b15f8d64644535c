//! Finite-difference helpers shared by the gradient test files.

#![allow(dead_code)] // each test file uses its own subset
#![allow(clippy::needless_range_loop)] // perturbing element i of several buffers

use autoencoder::kernels::Threads;
use autoencoder::layers::{Backward, Ctx, Layer, LayerKind};
use autoencoder::random::{self, Stream};

/// `n` values from N(0, scale²), seeded.
pub fn randn(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut r = random::rng(seed, Stream::Noise);
    (0..n).map(|_| random::normal(&mut r) as f32 * scale).collect()
}

/// Analytic and numeric derivatives agree to 2 % (relative) plus a small absolute slack.
pub fn assert_close(analytic: f64, numeric: f64, what: &str) {
    let tol = 2e-2 * numeric.abs().max(analytic.abs()) + 2e-4;
    assert!((analytic - numeric).abs() <= tol, "{what}: analytic {analytic:.6e} vs numeric {numeric:.6e}");
}

/// L = Σ c ⊙ layer(x), so ∂L/∂y = c exactly: every parameter and input gradient of
/// `layer` against central differences. With `preactivation`, the layer's
/// `forward_preactivation` and backward from `∂L/∂z` are checked instead.
pub fn check_layer(layer: &dyn Layer, rows: usize, preactivation: bool, h: f32, what: &str) {
    check_layer_in_mode(layer, rows, preactivation, true, h, what)
}

/// [`check_layer`] with the layer in training (`true`) or inference mode, for layers
/// whose passes differ (batch norm).
pub fn check_layer_in_mode(
    layer: &dyn Layer,
    rows: usize,
    preactivation: bool,
    training: bool,
    h: f32,
    what: &str,
) {
    let mode = |s: &mut [f32]| {
        if layer.takes_noise() {
            if training {
                layer.draw_noise(s, &mut random::rng(0, Stream::Noise));
            } else {
                layer.inference_noise(s);
            }
        }
    };
    let threads = Threads::new(1);
    let ctx = Ctx { threads: &threads, training };
    let (inp, out) = (layer.input_width(), layer.output_width());
    let mut params = randn(layer.param_len(), 1, 0.4);
    if layer.kind() == LayerKind::BatchNorm2d {
        // γ, β, running mean, running variance: the variance must be positive.
        let c = params.len() / 4;
        params[3 * c..].iter_mut().for_each(|v| *v = 0.5 + v.abs());
    }
    let x = randn(rows * inp, 2, 1.0);
    let c = randn(rows * out, 3, 1.0);
    let value = |p: &[f32], x: &[f32]| {
        let mut y = vec![0.0; rows * out];
        let mut s = vec![0.0; rows * layer.scratch_width()];
        mode(&mut s);
        if preactivation {
            assert!(layer.forward_preactivation(p, x, rows, &mut y, &mut s, ctx));
        } else {
            layer.forward(p, x, rows, &mut y, &mut s, ctx);
        }
        y.iter().zip(&c).map(|(&a, &b)| a as f64 * b as f64).sum::<f64>()
    };
    let mut y = vec![0.0; rows * out];
    let mut scratch = vec![0.0; rows * layer.scratch_width()];
    mode(&mut scratch);
    if preactivation {
        // The backward pass needs the patches that forward keeps; a fused loss runs forward_preactivation.
        layer.forward_preactivation(&params, &x, rows, &mut y, &mut scratch, ctx);
    } else {
        layer.forward(&params, &x, rows, &mut y, &mut scratch, ctx);
    }
    let mut grads = vec![0.0; params.len()];
    let mut dy = c.clone();
    let mut dx = vec![f32::NAN; rows * inp];
    layer.backward(Backward {
        params: &params,
        grads: &mut grads,
        x: &x,
        y: &y,
        scratch: &mut scratch,
        rows,
        dy: &mut dy,
        dx: Some(&mut dx),
        dy_is_preactivation: preactivation,
        ctx,
    });
    // Batch norm's running statistics are buffers, not trained: their gradient is 0 by
    // design, though in inference mode the output depends on them.
    let trained = if layer.kind() == LayerKind::BatchNorm2d { params.len() / 2 } else { params.len() };
    assert!(grads[trained..].iter().all(|&g| g == 0.0), "{what}: buffers get no gradient");
    // ∂value/∂v[i] by central differences.
    let numeric = |v: &mut [f32], i: usize, value: &dyn Fn(&[f32]) -> f64| {
        let keep = v[i];
        v[i] = keep + h;
        let up = value(v);
        v[i] = keep - h;
        let down = value(v);
        v[i] = keep;
        (up - down) / (2.0 * h as f64)
    };
    let mut ps = params.clone();
    for i in 0..trained {
        let d = numeric(&mut ps, i, &|p| value(p, &x));
        assert_close(grads[i] as f64, d, &format!("{what} param {i}"));
    }
    let mut xs = x.clone();
    for i in 0..xs.len() {
        let d = numeric(&mut xs, i, &|xv| value(&params, xv));
        assert_close(dx[i] as f64, d, &format!("{what} input {i}"));
    }
}

/// Every parameter's gradient in `grads` against central differences of the loss of
/// `train` (penalties and the KL term included; a variational sample's noise is the
/// fixed draw of `train.seed`).
pub fn check_against_finite_differences(
    model: &mut autoencoder::Autoencoder,
    x: &[f32],
    train: &autoencoder::TrainConfig,
    grads: &[f32],
    what: &str,
) {
    use autoencoder::train::loss_and_gradient_with;
    let threads = Threads::new(1);
    let h = 2e-3f32;
    for i in 0..model.param_count() {
        let keep = model.params()[i];
        model.params_mut()[i] = keep + h;
        let (up, _) = loss_and_gradient_with(model, x, train, &threads).unwrap();
        model.params_mut()[i] = keep - h;
        let (down, _) = loss_and_gradient_with(model, x, train, &threads).unwrap();
        model.params_mut()[i] = keep;
        let numeric = (up - down) / (2.0 * h as f64);
        assert_close(grads[i] as f64, numeric, &format!("{what} param {i}"));
    }
}
