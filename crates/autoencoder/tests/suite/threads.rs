//! Threads: the same seed gives the same model file, byte for byte, at 1, 2, 3 and 4
//! threads — whole batches split by rows (dense with dropout and input noise, a fused
//! and an unfused output, weight penalties, a variational model, every update rule, with
//! and without clipping) and the models that keep the products split over blocks (conv
//! with batch norm, dense layers with more weights than a batch has activations).

use autoencoder::optim::{OptimizerConfig, OptimizerKind};
use autoencoder::train::Corruption;
use autoencoder::{
    file, fit, Activation, Arch, Autoencoder, Dataset, Downsample, Loss, ModelConfig, NoObserver, Threads,
    TrainConfig,
};

use crate::common::randn;

fn unit_rows(rows: usize, d: usize, seed: u64) -> Dataset {
    let x: Vec<f32> = randn(rows * d, seed, 1.5).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    Dataset::new(x, rows, d, "unit rows").unwrap()
}

fn trained(model: &ModelConfig, data: &Dataset, t: &TrainConfig, threads: usize) -> Vec<u8> {
    let mut m = Autoencoder::new(model.clone(), t.seed).unwrap();
    fit(&mut m, data, None, t, &Threads::new(threads), &mut NoObserver).unwrap();
    file::to_bytes(&m).unwrap()
}

#[test]
fn every_thread_count_writes_the_same_model_bytes() {
    // 150 rows, a fifth validated: batches of 49, 49 and 22 rows, the middle one's last
    // unit of rows 17 long (49 = 16 + 16 + 17).
    let data = unit_rows(150, 24, 5);
    let base = TrainConfig {
        epochs: 2,
        batch_size: 49,
        validation_split: 0.2,
        seed: 21,
        loss: Loss::Bce,
        ..TrainConfig::default()
    };
    let dense = ModelConfig {
        input_dim: 24,
        layers: vec![20, 6],
        dropout: 0.2,
        output_activation: Activation::Sigmoid,
        ..ModelConfig::default()
    };
    let noisy = TrainConfig {
        noise: Some(Corruption::Gaussian { sigma: 0.2, clip: true }),
        l2: 1e-4,
        ..base.clone()
    };
    let linear = ModelConfig {
        dropout: 0.0,
        output_activation: Activation::Linear,
        activation: Activation::Tanh,
        ..dense.clone()
    };
    let mse = TrainConfig { loss: Loss::Mse, l1: 1e-5, ..base.clone() };
    let vae = ModelConfig { dropout: 0.0, variational: true, ..dense.clone() };
    let binarized = TrainConfig { binarize: true, ..base.clone() };
    // The other update rules, which the row-split step applies block by block as the
    // units' gradients come, and clipping, which needs the whole gradient first.
    let rule = |kind: OptimizerKind, lr: f64, momentum: f64| OptimizerConfig {
        lr,
        momentum,
        nesterov: kind == OptimizerKind::Sgd,
        weight_decay: 0.05,
        ..OptimizerConfig::new(kind)
    };
    let nesterov = TrainConfig { optimizer: rule(OptimizerKind::Sgd, 0.1, 0.9), l2: 1e-3, ..base.clone() };
    let rmsprop = TrainConfig { optimizer: rule(OptimizerKind::RmsProp, 1e-3, 0.5), ..base.clone() };
    let adamw = TrainConfig { optimizer: rule(OptimizerKind::AdamW, 1e-3, 0.0), l1: 1e-4, ..base.clone() };
    let clipped = TrainConfig { clip_norm: Some(0.05), ..adamw.clone() };
    let conv = ModelConfig {
        input_dim: 16,
        arch: Arch::Conv,
        channels: vec![3],
        layers: vec![4],
        activation: Activation::Relu,
        output_activation: Activation::Sigmoid,
        downsample: Downsample::Stride,
        batch_norm: true,
        image_shape: Some(autoencoder::ImageShape { channels: 1, height: 4, width: 4 }),
        ..ModelConfig::default()
    };
    let images = unit_rows(150, 16, 6);
    // Big enough that the element-wise passes and batch norm's sums split over the
    // threads (64 rows × 8×8 pixels × 16 channels = 65,536 values in the first layer),
    // and that the second layer's weight gradient (32 × 144 over 64 rows × 4×4 pixels,
    // 4.7 M multiply-adds) is split by columns.
    let big_conv = ModelConfig {
        input_dim: 256,
        channels: vec![16, 32],
        image_shape: Some(autoencoder::ImageShape { channels: 1, height: 16, width: 16 }),
        ..conv.clone()
    };
    let big_images = unit_rows(100, 256, 7);
    let big_batches = TrainConfig { batch_size: 64, epochs: 1, ..base.clone() };
    // Wider than its batches (240,700 parameters against 128 × 1,400 activations read by
    // the products): the whole-batch step rather than the row split, its products of 128
    // rows by 300 or 400 columns split by columns, and the last batch's 112 rows by tiles.
    let wide = ModelConfig { input_dim: 400, layers: vec![300], ..dense.clone() };
    let wide_rows = unit_rows(300, 400, 8);
    let wide_batches = TrainConfig { batch_size: 128, epochs: 1, ..base.clone() };
    for (what, model, t, data) in [
        ("dense with dropout, noise and l2", &dense, &noisy, &data),
        ("tanh with a linear output, mse and l1", &linear, &mse, &data),
        ("variational, binarised", &vae, &binarized, &data),
        ("sgd with nesterov momentum and l2", &linear, &nesterov, &data),
        ("rmsprop with momentum", &linear, &rmsprop, &data),
        ("adamw with l1", &linear, &adamw, &data),
        ("adamw clipped by the global norm", &linear, &clipped, &data),
        ("conv with batch norm", &conv, &base, &images),
        ("conv with batch norm, split passes", &big_conv, &big_batches, &big_images),
        ("dense wider than its batches", &wide, &wide_batches, &wide_rows),
    ] {
        let want = trained(model, data, t, 1);
        for threads in [2, 3, 4] {
            assert!(want == trained(model, data, t, threads), "{what}: {threads} threads");
        }
        let other = trained(model, data, &TrainConfig { seed: 22, ..t.clone() }, 2);
        assert!(want != other, "{what}: another seed");
    }
}
