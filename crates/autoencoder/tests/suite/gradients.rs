//! Every layer, activation and loss, and whole models, checked against central
//! finite differences of the loss computed in f64.

#![allow(clippy::needless_range_loop)] // perturbing element i of several buffers

use autoencoder::kernels::Threads;

use crate::common::{assert_close, check_against_finite_differences, check_layer, randn};
use autoencoder::layers::{Activation, Dense};
use autoencoder::train::loss_and_gradient;
use autoencoder::{Autoencoder, Loss, ModelConfig};

/// L = Σ c ⊙ dense(x): ∂L/∂y = c exactly, so the check isolates the layer.
#[test]
fn dense_layer_gradients_for_every_activation() {
    for act in Activation::ALL {
        check_layer(&Dense::new(5, 4, act), 3, false, 1e-2, &format!("dense {act}"));
    }
}

#[test]
fn loss_gradients_match_finite_differences() {
    let n = 24;
    let t: Vec<f32> = randn(n, 4, 1.0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    // Outputs in (0, 1) away from the targets so MAE is differentiable everywhere here.
    let y0: Vec<f32> = t
        .iter()
        .enumerate()
        .map(|(i, &v)| (v + if i % 2 == 0 { 0.2 } else { -0.2 }).clamp(0.05, 0.95))
        .collect();
    for loss in [Loss::Mse, Loss::Mae, Loss::Bce /* probability form */] {
        let mut g = vec![0.0; n];
        loss.evaluate(&y0, &t, Some(&mut g));
        let h = 1e-3f32;
        for i in 0..n {
            let mut y = y0.clone();
            y[i] += h;
            let up = loss.evaluate(&y, &t, None) / n as f64;
            y[i] -= 2.0 * h;
            let down = loss.evaluate(&y, &t, None) / n as f64;
            assert_close(g[i] as f64, (up - down) / (2.0 * h as f64), &format!("{loss} element {i}"));
        }
    }
    // BCE fused with a sigmoid: the gradient is taken at the logits z.
    let z0 = randn(n, 5, 2.0);
    let mut g = vec![0.0; n];
    Loss::Bce.evaluate_logits(&z0, &t, Some(&mut g));
    let h = 1e-2f32;
    for i in 0..n {
        let mut z = z0.clone();
        z[i] += h;
        let up = Loss::Bce.evaluate_logits(&z, &t, None) / n as f64;
        z[i] -= 2.0 * h;
        let down = Loss::Bce.evaluate_logits(&z, &t, None) / n as f64;
        assert_close(g[i] as f64, (up - down) / (2.0 * h as f64), &format!("fused bce logit {i}"));
    }
}

/// The fused pass works in blocks of 1024 with a product trick for the logarithm:
/// its value and gradient match a plain f64 computation at sizes around the blocks.
#[test]
fn fused_bce_matches_f64_reference_at_block_sizes() {
    for n in [1, 1023, 1024, 1025, 5000] {
        let z = randn(n, 21, 4.0);
        let t: Vec<f32> = randn(n, 22, 1.0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
        let mut g = vec![0.0; n];
        let got = Loss::Bce.evaluate_logits(&z, &t, Some(&mut g));
        let mut want = 0.0f64;
        for i in 0..n {
            let (zi, ti) = (z[i] as f64, t[i] as f64);
            want += zi.max(0.0) - zi * ti + (1.0 + (-zi.abs()).exp()).ln();
            let gi = (1.0 / (1.0 + (-zi).exp()) - ti) / n as f64;
            assert!((g[i] as f64 - gi).abs() < 1e-6 / n as f64 + 1e-7 * gi.abs(), "n {n} grad {i}");
        }
        assert!((got - want).abs() < 1e-5 * want, "n {n}: {got} vs {want}");
    }
}

/// Whole models: every parameter of a deep autoencoder, for each loss, against
/// finite differences of the model's own loss.
#[test]
fn whole_model_gradients() {
    let threads = Threads::new(1);
    let cases = [
        (Activation::Relu, Activation::Sigmoid, Loss::Bce),
        (Activation::Tanh, Activation::Linear, Loss::Mse),
        (Activation::Gelu, Activation::Sigmoid, Loss::Mse),
        (Activation::Elu, Activation::Softplus, Loss::Mae),
        (Activation::LeakyRelu, Activation::Tanh, Loss::Mse),
    ];
    for (hidden, output, loss) in cases {
        let cfg = ModelConfig {
            input_dim: 6,
            layers: vec![5, 3],
            activation: hidden,
            output_activation: output,
            ..ModelConfig::default()
        };
        let mut model = Autoencoder::new(cfg, 11).unwrap();
        let x: Vec<f32> = randn(4 * 6, 12, 1.0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
        let (_, grads) = loss_and_gradient(&model, &x, loss, &threads).unwrap();
        let h = 5e-3f32;
        for i in 0..model.param_count() {
            let keep = model.params()[i];
            model.params_mut()[i] = keep + h;
            let (up, _) = loss_and_gradient(&model, &x, loss, &threads).unwrap();
            model.params_mut()[i] = keep - h;
            let (down, _) = loss_and_gradient(&model, &x, loss, &threads).unwrap();
            model.params_mut()[i] = keep;
            let numeric = (up - down) / (2.0 * h as f64);
            if loss == Loss::Mae && (grads[i] as f64 - numeric).abs() > 1e-3 {
                // MAE has kinks where an output crosses its target; skip those points.
                continue;
            }
            assert_close(grads[i] as f64, numeric, &format!("{hidden}/{output}/{loss} param {i}"));
        }
    }
}

/// The code penalties (L1 on the code, KL sparsity, contractive) through whole models:
/// every parameter against finite differences of the penalised loss. The penalties are
/// weighted so that they dominate the reconstruction loss's share of the gradient.
#[test]
fn code_penalty_gradients() {
    use autoencoder::train::{loss_and_gradient_with, Sparsity};
    use autoencoder::TrainConfig;
    let threads = Threads::new(1);
    let sigmoid_code = |layers: Vec<usize>| ModelConfig {
        input_dim: 6,
        layers,
        activation: Activation::Tanh,
        code_activation: Some(Activation::Sigmoid),
        output_activation: Activation::Sigmoid,
        ..ModelConfig::default()
    };
    let cases = [
        ("code_l1", sigmoid_code(vec![5, 3]), TrainConfig { code_l1: 0.3, ..TrainConfig::default() }),
        (
            "sparsity",
            sigmoid_code(vec![5, 3]),
            TrainConfig { sparsity: Some(Sparsity { target: 0.05, weight: 0.5 }), ..TrainConfig::default() },
        ),
        ("contractive", sigmoid_code(vec![4]), TrainConfig { contractive: 0.7, ..TrainConfig::default() }),
        (
            "all three",
            sigmoid_code(vec![4]),
            TrainConfig {
                loss: Loss::Bce,
                code_l1: 0.1,
                sparsity: Some(Sparsity { target: 0.1, weight: 0.2 }),
                contractive: 0.4,
                ..TrainConfig::default()
            },
        ),
    ];
    for (name, cfg, train) in cases {
        let mut model = Autoencoder::new(cfg, 5).unwrap();
        let x: Vec<f32> = randn(4 * 6, 13, 1.0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
        let (with, grads) = loss_and_gradient_with(&model, &x, &train, &threads).unwrap();
        let (without, _) = loss_and_gradient(&model, &x, train.loss, &threads).unwrap();
        assert!(with > without + 1e-3, "{name}: the penalty adds nothing ({with} vs {without})");
        check_against_finite_differences(&mut model, &x, &train, &grads, name);
    }
    // What the engine cannot compute exactly is refused, naming the setting.
    let deep = Autoencoder::new(sigmoid_code(vec![5, 3]), 1).unwrap();
    let x = vec![0.5f32; 6];
    let contractive = TrainConfig { contractive: 0.1, ..TrainConfig::default() };
    let e = loss_and_gradient_with(&deep, &x, &contractive, &threads).unwrap_err().to_string();
    assert!(e.contains("contractive") && e.contains("one-layer"), "{e}");
    let relu =
        Autoencoder::new(ModelConfig { input_dim: 6, layers: vec![3], ..ModelConfig::default() }, 1).unwrap();
    let sparse =
        TrainConfig { sparsity: Some(Sparsity { target: 0.05, weight: 1.0 }), ..TrainConfig::default() };
    let e = loss_and_gradient_with(&relu, &x, &sparse, &threads).unwrap_err().to_string();
    assert!(e.contains("sparsity") && e.contains("sigmoid"), "{e}");
}

/// A variational model: the reparameterised sample (a fixed noise draw from the seed) and
/// the KL term, with β = 1 and β = 4, every parameter against finite differences of the
/// negative ELBO.
#[test]
fn variational_gradients_with_a_fixed_noise_draw() {
    use autoencoder::train::loss_and_gradient_with;
    use autoencoder::TrainConfig;
    let threads = Threads::new(1);
    for (beta, loss) in [(1.0, Loss::Bce), (4.0, Loss::Mse)] {
        let cfg = ModelConfig {
            input_dim: 6,
            layers: vec![5, 2],
            activation: Activation::Tanh,
            output_activation: Activation::Sigmoid,
            variational: true,
            ..ModelConfig::default()
        };
        let mut model = Autoencoder::new(cfg, 21).unwrap();
        assert_eq!(model.code_dim(), 2);
        assert_eq!(model.layers()[model.encoder_len() - 1].kind().name(), "sample");
        let x: Vec<f32> = randn(4 * 6, 22, 1.0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
        let train = TrainConfig { loss, beta, seed: 3, ..TrainConfig::default() };
        let (value, grads) = loss_and_gradient_with(&model, &x, &train, &threads).unwrap();
        let other_draw = TrainConfig { seed: 4, ..train.clone() };
        let (value2, _) = loss_and_gradient_with(&model, &x, &other_draw, &threads).unwrap();
        assert_ne!(value, value2, "the sample must depend on the noise draw");
        check_against_finite_differences(&mut model, &x, &train, &grads, &format!("β {beta} {loss}"));
    }
}

/// Dropout with a fixed mask (drawn from the seed), in a deep model, and together with a
/// variational code: every parameter against finite differences; inference is the
/// identity (the same outputs as without dropout).
#[test]
fn dropout_gradients_with_a_fixed_mask() {
    use autoencoder::train::loss_and_gradient_with;
    use autoencoder::TrainConfig;
    let threads = Threads::new(1);
    for variational in [false, true] {
        let cfg = ModelConfig {
            input_dim: 6,
            layers: vec![5, 4, 2],
            activation: Activation::Tanh,
            output_activation: Activation::Sigmoid,
            variational,
            dropout: 0.4,
            ..ModelConfig::default()
        };
        let mut model = Autoencoder::new(cfg.clone(), 8).unwrap();
        let kinds: Vec<&str> = model.layers().iter().map(|l| l.kind().name()).collect();
        assert_eq!(kinds.iter().filter(|&&k| k == "dropout").count(), 4, "{kinds:?}");
        let x: Vec<f32> = randn(4 * 6, 9, 1.0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
        let train = TrainConfig { loss: Loss::Bce, seed: 5, ..TrainConfig::default() };
        let (_, grads) = loss_and_gradient_with(&model, &x, &train, &threads).unwrap();
        check_against_finite_differences(
            &mut model,
            &x,
            &train,
            &grads,
            &format!("dropout, variational {variational}"),
        );
        // Inference: the same as the model without dropout layers and the same weights.
        let plain = ModelConfig { dropout: 0.0, ..cfg };
        let mut twin = Autoencoder::new(plain, 8).unwrap();
        twin.params_mut().copy_from_slice(model.params());
        assert_eq!(model.reconstruct(&x, &threads).unwrap(), twin.reconstruct(&x, &threads).unwrap());
    }
}

/// Tied weights: the gradient of each shared matrix (both copies moved together) against
/// finite differences, and a training step keeps the decoder copy the exact transpose.
#[test]
fn tied_weight_gradients_and_the_tie_survives_training() {
    use autoencoder::train::loss_and_gradient_with;
    use autoencoder::{fit, NoObserver, TrainConfig};
    let threads = Threads::new(1);
    let cfg = ModelConfig {
        input_dim: 6,
        layers: vec![5, 3],
        activation: Activation::Tanh,
        output_activation: Activation::Sigmoid,
        tied: true,
        dropout: 0.2,
        ..ModelConfig::default()
    };
    let mut model = Autoencoder::new(cfg, 31).unwrap();
    let ties = model.tied_weights();
    assert_eq!(ties.len(), 2);
    let x: Vec<f32> = randn(4 * 6, 32, 1.0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    let train = TrainConfig { loss: Loss::Bce, seed: 1, ..TrainConfig::default() };
    let (_, grads) = loss_and_gradient_with(&model, &x, &train, &threads).unwrap();
    let h = 2e-3f32;
    for t in &ties {
        for r in 0..t.rows {
            for c in 0..t.cols {
                let (e, d) = (t.encoder + r * t.cols + c, t.decoder + c * t.rows + r);
                assert_eq!(grads[e], grads[d], "both copies carry the shared gradient");
                let keep = model.params()[e];
                model.params_mut()[e] = keep + h;
                model.params_mut()[d] = keep + h;
                let (up, _) = loss_and_gradient_with(&model, &x, &train, &threads).unwrap();
                model.params_mut()[e] = keep - h;
                model.params_mut()[d] = keep - h;
                let (down, _) = loss_and_gradient_with(&model, &x, &train, &threads).unwrap();
                model.params_mut()[e] = keep;
                model.params_mut()[d] = keep;
                let numeric = (up - down) / (2.0 * h as f64);
                assert_close(grads[e] as f64, numeric, &format!("tied ({r}, {c}) of {t:?}"));
            }
        }
    }
    let data = autoencoder::Dataset::new(x.repeat(8), 32, 6, "x").unwrap();
    let cfg = TrainConfig { epochs: 3, batch_size: 8, l2: 1e-3, clip_norm: Some(0.5), ..train };
    fit(&mut model, &data, None, &cfg, &threads, &mut NoObserver).unwrap();
    for t in &ties {
        for r in 0..t.rows {
            for c in 0..t.cols {
                assert_eq!(
                    model.params()[t.encoder + r * t.cols + c],
                    model.params()[t.decoder + c * t.rows + r]
                );
            }
        }
    }
}

/// Training on the importance-weighted bound (`iw_train = K`): the value equals the
/// bound computed here from the layers' own passes in f64 with the same noise draw, and
/// every parameter's gradient matches finite differences of it — for K = 3 and 5, with
/// β = 1 and with a warm-up weight β = 0.3.
#[test]
fn importance_weighted_bound_value_and_gradients() {
    use autoencoder::layers::Ctx;
    use autoencoder::random::{self, Stream};
    use autoencoder::train::loss_and_gradient_with;
    use autoencoder::TrainConfig;
    let threads = Threads::new(1);
    let cfg = ModelConfig {
        input_dim: 6,
        layers: vec![5, 2],
        activation: Activation::Tanh,
        output_activation: Activation::Sigmoid,
        variational: true,
        ..ModelConfig::default()
    };
    let (n, d) = (4, 6);
    let x: Vec<f32> = randn(n * d, 31, 1.0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    for (k, beta) in [(3, 1.0), (5, 0.3)] {
        let mut model = Autoencoder::new(cfg.clone(), 30).unwrap();
        let train = TrainConfig { loss: Loss::Bce, beta, iw_train: k, seed: 7, ..TrainConfig::default() };
        let (value, grads) = loss_and_gradient_with(&model, &x, &train, &threads).unwrap();

        // The bound by hand: the layers' passes up to (μ, log σ²), the noise drawn as the
        // trainer draws it, the decoder's logits, then log-mean-exp in f64.
        let layers = model.layers();
        let at = model.encoder_len() - 1;
        assert_eq!(layers[at].kind().name(), "sample");
        let run = |range: std::ops::Range<usize>, mut h: Vec<f32>, rows: usize, logits: bool| {
            for i in range {
                let l = &layers[i];
                let mut y = vec![0.0; rows * l.output_width()];
                let mut scratch = vec![0.0; rows * l.scratch_width()];
                let p = &model.params()[model.layer_params(i)];
                if logits && i == layers.len() - 1 {
                    assert!(l.forward_preactivation(p, &h, rows, &mut y, &mut scratch, Ctx::infer(&threads)));
                } else {
                    l.forward(p, &h, rows, &mut y, &mut scratch, Ctx::infer(&threads));
                }
                h = y;
            }
            h
        };
        let post = run(0..at, x.clone(), n, false);
        let code = model.code_dim();
        let mut eps = vec![0.0f32; n * k * code];
        layers[at].draw_noise(&mut eps, &mut random::rng(7, Stream::Noise));
        let mut z = vec![0.0f32; n * k * code];
        for (j, zj) in z.chunks_exact_mut(code).enumerate() {
            let (mu, lv) = post[(j / k) * 2 * code..(j / k + 1) * 2 * code].split_at(code);
            for c in 0..code {
                zj[c] = mu[c] + (0.5 * lv[c]).exp() * eps[j * code + c];
            }
        }
        let logits = run(at + 1..layers.len(), z.clone(), n * k, true);
        let mut want = 0.0f64;
        for r in 0..n {
            let lw: Vec<f64> = (0..k)
                .map(|s| {
                    let j = r * k + s;
                    let mut lw = 0.0;
                    for i in 0..d {
                        let (l, t) = (logits[j * d + i] as f64, x[r * d + i] as f64);
                        lw += t * l - (1.0 + l.exp()).ln();
                    }
                    let lv = &post[r * 2 * code + code..(r + 1) * 2 * code];
                    for c in 0..code {
                        let (zc, ec) = (z[j * code + c] as f64, eps[j * code + c] as f64);
                        lw += beta * (0.5 * (ec * ec - zc * zc) + 0.5 * lv[c] as f64);
                    }
                    lw
                })
                .collect();
            let m = lw.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            want -= m + (lw.iter().map(|v| (v - m).exp()).sum::<f64>() / k as f64).ln();
        }
        want /= (n * d) as f64;
        assert!((value - want).abs() < 1e-6 * want.abs().max(1.0), "K {k}: {value} vs {want}");

        // The bound tightens the one-sample ELBO's estimate on average: with K copies the
        // value differs from K = 1's (the same model, another objective).
        let elbo = TrainConfig { iw_train: 1, ..train.clone() };
        let (one, _) = loss_and_gradient_with(&model, &x, &elbo, &threads).unwrap();
        assert_ne!(value, one);
        check_against_finite_differences(&mut model, &x, &train, &grads, &format!("IWAE K {k} β {beta}"));
    }
}

/// The bound needs a variational model with a Bernoulli decoder: other models and
/// losses are refused with errors that name the setting.
#[test]
fn importance_weighted_bound_refuses_models_it_does_not_fit() {
    use autoencoder::train::loss_and_gradient_with;
    use autoencoder::TrainConfig;
    let threads = Threads::new(1);
    let vae = ModelConfig {
        input_dim: 6,
        layers: vec![5, 2],
        output_activation: Activation::Sigmoid,
        variational: true,
        ..ModelConfig::default()
    };
    let x = vec![0.5f32; 12];
    let iw = TrainConfig { loss: Loss::Bce, iw_train: 4, ..TrainConfig::default() };
    let plain = Autoencoder::new(ModelConfig { variational: false, ..vae.clone() }, 0).unwrap();
    let e = loss_and_gradient_with(&plain, &x, &iw, &threads).unwrap_err().to_string();
    assert!(e.contains("iw_train") && e.contains("variational"), "{e}");
    let model = Autoencoder::new(vae, 0).unwrap();
    let mse = TrainConfig { loss: Loss::Mse, ..iw.clone() };
    let e = loss_and_gradient_with(&model, &x, &mse, &threads).unwrap_err().to_string();
    assert!(e.contains("iw_train") && e.contains("bce"), "{e}");
    for bad in [0, 5001] {
        let e = TrainConfig { iw_train: bad, ..iw.clone() }.check().unwrap_err().to_string();
        assert!(e.contains("iw_train"), "{e}");
    }
    let e = TrainConfig { iw_train: 5000, batch_size: 1000, ..iw }.check().unwrap_err().to_string();
    assert!(e.contains("iw_train") && e.contains("batch_size"), "{e}");
}
