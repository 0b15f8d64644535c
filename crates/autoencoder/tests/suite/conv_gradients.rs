//! The convolutional layers (convolution, transposed convolution, max pooling,
//! upsampling) and whole convolutional models, checked against central finite
//! differences computed in f64.

#![allow(clippy::needless_range_loop)] // perturbing element i of several buffers

use crate::common::{check_against_finite_differences, check_layer, check_layer_in_mode, randn};
use autoencoder::kernels::conv::{Geometry, Layout};
use autoencoder::kernels::Threads;
use autoencoder::layers::{Activation, Conv2d, ConvTranspose2d, MaxPool2d, Upsample};
use autoencoder::train::loss_and_gradient;
use autoencoder::{Arch, Autoencoder, Downsample, Loss, ModelConfig, TrainConfig};

#[test]
fn convolution_gradients_for_layouts_strides_padding_and_activations() {
    let cases = [
        // (channels, h, w, layout, kernel, stride, padding, out channels, activation)
        (1, 7, 7, Layout::ChannelsLast, 3, 2, 1, 3, Activation::Tanh),
        (2, 6, 5, Layout::ChannelsFirst, 3, 2, 1, 3, Activation::Sigmoid),
        (3, 5, 5, Layout::ChannelsLast, 3, 1, 1, 2, Activation::Elu),
        (2, 8, 8, Layout::ChannelsLast, 4, 2, 1, 2, Activation::Gelu),
        (2, 5, 4, Layout::ChannelsFirst, 2, 1, 0, 2, Activation::Linear),
    ];
    for (c, h, w, layout, k, s, p, o, act) in cases {
        let g = Geometry::new(c, h, w, layout, k, s, p).unwrap();
        let layer = Conv2d::new(g, o, act);
        let what = format!("conv {c}×{h}×{w} {layout:?} k{k} s{s} p{p} {act}");
        check_layer(&layer, 2, false, 1e-2, &what);
        check_layer(&layer, 2, true, 1e-2, &format!("{what} (pre-activation)"));
    }
}

#[test]
fn transposed_convolution_gradients_including_output_padding() {
    let cases = [
        // The output image; its grid is the input: 4 → 7 (output padding 0), 4 → 8 (1).
        (1, 7, 7, Layout::ChannelsFirst, 3, 2, 1, 3, Activation::Sigmoid),
        (2, 8, 8, Layout::ChannelsLast, 3, 2, 1, 3, Activation::Tanh),
        (3, 6, 5, Layout::ChannelsFirst, 3, 2, 1, 2, Activation::Softplus),
        (2, 5, 5, Layout::ChannelsLast, 3, 1, 1, 2, Activation::Elu),
        (2, 8, 8, Layout::ChannelsFirst, 4, 2, 1, 2, Activation::Linear),
    ];
    for (c, h, w, layout, k, s, p, i, act) in cases {
        let g = Geometry::new(c, h, w, layout, k, s, p).unwrap();
        let layer = ConvTranspose2d::new(g, i, act);
        let what = format!("conv_t →{c}×{h}×{w} {layout:?} k{k} s{s} p{p} {act}");
        check_layer(&layer, 2, false, 1e-2, &what);
        check_layer(&layer, 2, true, 1e-2, &format!("{what} (pre-activation)"));
    }
}

#[test]
fn pooling_and_upsampling_gradients() {
    // Random values are distinct, so a 1e-3 step never changes which one is the maximum.
    check_layer(&MaxPool2d::new(3, 4, 6, 2).unwrap(), 2, false, 1e-3, "max pool 4×6");
    check_layer(&MaxPool2d::new(2, 5, 5, 2).unwrap(), 2, false, 1e-3, "max pool 5×5 (edge dropped)");
    check_layer(&Upsample::new(3, 2, 3, 2), 2, false, 1e-2, "upsample 2×3");
}

#[test]
fn batch_norm_gradients_with_batch_and_running_statistics() {
    use autoencoder::layers::BatchNorm2d;
    // ReLU's derivative is taken inside the normalisation's backward pass.
    for act in [Activation::Linear, Activation::Relu, Activation::Tanh, Activation::Gelu] {
        let bn = BatchNorm2d::new(3, 4, act);
        // Training: the batch's mean and variance depend on every input.
        check_layer_in_mode(&bn, 3, false, true, 1e-2, &format!("batch norm {act} (training)"));
        // Inference: the running statistics (here the initial 0 and 1) are constants.
        check_layer_in_mode(&bn, 3, false, false, 1e-2, &format!("batch norm {act} (inference)"));
    }
}

fn conv_model(
    c: usize,
    h: usize,
    w: usize,
    channels: &[usize],
    out: Activation,
    down: Downsample,
) -> ModelConfig {
    ModelConfig {
        input_dim: c * h * w,
        arch: Arch::Conv,
        channels: channels.to_vec(),
        layers: vec![4],
        activation: Activation::Tanh,
        output_activation: out,
        downsample: down,
        image_shape: Some(autoencoder::ImageShape { channels: c, height: h, width: w }),
        ..ModelConfig::default()
    }
}

/// Whole convolutional models, every parameter against the model's own loss: strided
/// (with output padding, RGB in channels-first rows) and pooled, each loss's path.
#[test]
fn whole_conv_model_gradients() {
    let threads = Threads::new(1);
    let cases = [
        (conv_model(1, 7, 7, &[2, 3], Activation::Sigmoid, Downsample::Stride), Loss::Bce),
        (conv_model(3, 6, 5, &[2], Activation::Linear, Downsample::Stride), Loss::Mse),
        (conv_model(2, 4, 4, &[2, 2], Activation::Sigmoid, Downsample::Pool), Loss::Mse),
        (
            ModelConfig {
                batch_norm: true,
                ..conv_model(1, 6, 6, &[3, 2], Activation::Sigmoid, Downsample::Stride)
            },
            Loss::Bce,
        ),
    ];
    for (cfg, loss) in cases {
        let what = cfg.describe();
        let d = cfg.input_dim;
        let mut model = Autoencoder::new(cfg, 5).unwrap();
        let x: Vec<f32> = randn(3 * d, 6, 1.0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
        let (_, grads) = loss_and_gradient(&model, &x, loss, &threads).unwrap();
        let train = TrainConfig { loss, ..TrainConfig::default() };
        check_against_finite_differences(&mut model, &x, &train, &grads, &format!("{what} {loss}"));
    }
}

/// Batch norm in a trained model: the running statistics move during training, and at
/// inference a row's output no longer depends on the other rows of its batch.
#[test]
fn batch_norm_running_statistics_are_learned_and_used_at_inference() {
    use autoencoder::{fit, Dataset, NoObserver, TrainConfig};
    let threads = Threads::new(1);
    let cfg = ModelConfig {
        batch_norm: true,
        ..conv_model(1, 8, 8, &[4], Activation::Sigmoid, Downsample::Stride)
    };
    let mut model = Autoencoder::new(cfg, 1).unwrap();
    let rows = 40;
    let x: Vec<f32> = randn(rows * 64, 9, 1.0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    let data = Dataset::new(x.clone(), rows, 64, "test").unwrap();
    let stats = |m: &Autoencoder| {
        let t = m.tensors();
        let rm = t.iter().find(|t| t.name == "encoder.1.running_mean").expect("a running mean");
        m.params()[rm.offset..rm.offset + 4].to_vec()
    };
    assert_eq!(stats(&model), vec![0.0; 4]);
    let train = TrainConfig { epochs: 2, batch_size: 8, ..TrainConfig::default() };
    fit(&mut model, &data, None, &train, &threads, &mut NoObserver).unwrap();
    assert!(stats(&model).iter().all(|&v| v != 0.0), "running means moved: {:?}", stats(&model));
    let together = model.reconstruct(&x, &threads).unwrap();
    let alone = model.reconstruct(&x[..64], &threads).unwrap();
    // (Equal up to the products' rounding, which depends on the row count; batch
    // statistics would move every value by far more.)
    for (a, b) in together[..64].iter().zip(&alone) {
        assert!((a - b).abs() < 1e-5, "inference does not depend on the batch: {a} vs {b}");
    }
}
