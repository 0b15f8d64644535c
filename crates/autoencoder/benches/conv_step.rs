//! One training step (batch 128, Adam, BCE, one thread) of the convolutional models C
//! (`--arch conv --channels 32,64 --layers 32 --batch-norm`) and C0 (without batch
//! norm) on 28×28 images, and each layer's forward + backward on its own, to see where
//! a step's time goes; and im2col and col2im on the geometries of C's layers.
//!
//! `cargo bench -p autoencoder --bench conv_step`; `AE_BENCH_THREADS=2 cargo bench …` runs
//! the same on two threads (the group names say the count).

use autoencoder::data::synthetic;
use autoencoder::kernels::conv::{self, Geometry, Layout};
use autoencoder::layers::{Backward, Ctx};
use autoencoder::random::{self, Stream};
use autoencoder::train::Trainer;
use autoencoder::{Arch, Autoencoder, ImageShape, Loss, ModelConfig, Threads, TrainConfig};
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

const BATCH: usize = 128;

fn bench(c: &mut Criterion) {
    let data = synthetic::generate(4096, 0);
    let count = std::env::var("AE_BENCH_THREADS").ok().and_then(|t| t.parse().ok()).unwrap_or(1);
    let threads = Threads::new(count);
    for (name, batch_norm) in [("C", true), ("C0", false)] {
        let config = ModelConfig {
            input_dim: 784,
            arch: Arch::Conv,
            channels: vec![32, 64],
            layers: vec![32],
            batch_norm,
            image_shape: Some(ImageShape { channels: 1, height: 28, width: 28 }),
            ..ModelConfig::default()
        };
        let mut model = Autoencoder::new(config, 0).unwrap();
        let cfg = TrainConfig { loss: Loss::Bce, ..TrainConfig::default() };
        let mut trainer = Trainer::new(&model, &cfg, BATCH).unwrap();
        let order: Vec<usize> = (0..4096).map(|i| (i * 7919) % 4096).collect();
        let mut at = 0;
        let mut g = c.benchmark_group(format!("model_{name}_t{count}"));
        g.sample_size(20);
        g.bench_function("train_step", |b| {
            b.iter_custom(|iters| {
                in_pool(&threads, iters, || {
                    let rows = &order[at..at + BATCH];
                    at = (at + BATCH) % (4096 - BATCH);
                    std::hint::black_box(trainer.step(&mut model, &data, rows, &threads));
                })
            })
        });
        // Each layer alone: forward then backward (with ∂L/∂x but for the first layer).
        let ctx = Ctx::train(&threads);
        let mut rng = random::rng(0, Stream::Noise);
        for (i, layer) in model.layers().iter().enumerate() {
            let p = &model.params()[model.layer_params(i)];
            let x = vec![0.5f32; BATCH * layer.input_width()];
            let mut y = vec![0.0f32; BATCH * layer.output_width()];
            let mut s = vec![0.0f32; BATCH * layer.scratch_width()];
            let mut gr = vec![0.0f32; p.len()];
            let mut dy = vec![0.01f32; BATCH * layer.output_width()];
            let mut dx = vec![0.0f32; BATCH * layer.input_width()];
            g.bench_function(format!("layer_{i}_{}", layer.kind()), |b| {
                b.iter_custom(|iters| {
                    in_pool(&threads, iters, || {
                        if layer.takes_noise() {
                            layer.draw_noise(&mut s, &mut rng);
                        }
                        layer.forward(p, &x, BATCH, &mut y, &mut s, ctx);
                        let dx = if i > 0 { Some(&mut dx[..]) } else { None };
                        layer.backward(Backward {
                            params: p,
                            grads: &mut gr,
                            x: &x,
                            y: &y,
                            scratch: &mut s,
                            rows: BATCH,
                            dy: &mut dy,
                            dx,
                            dy_is_preactivation: false,
                            ctx,
                        });
                    })
                })
            });
        }
        g.finish();
    }
    // The data movement of C's convolutions on their own: the first layer's 1-channel
    // 28×28 input (channels-first) and the 32-channel 14×14 images between the layers.
    let mut g = c.benchmark_group(format!("conv_kernels_t{count}"));
    g.sample_size(30);
    for (name, geometry) in [
        ("1x28x28", Geometry::new(1, 28, 28, Layout::ChannelsFirst, 3, 2, 1).unwrap()),
        ("32x14x14", Geometry::new(32, 14, 14, Layout::ChannelsLast, 3, 2, 1).unwrap()),
    ] {
        let images = vec![0.5f32; BATCH * geometry.image_len()];
        let mut cols = vec![0.0f32; BATCH * geometry.positions() * geometry.patch_len()];
        let mut back = vec![0.0f32; images.len()];
        g.bench_function(format!("im2col_{name}"), |b| {
            b.iter_custom(|iters| {
                in_pool(&threads, iters, || conv::im2col(&geometry, &images, BATCH, &mut cols, &threads))
            })
        });
        g.bench_function(format!("col2im_{name}"), |b| {
            b.iter_custom(|iters| {
                in_pool(&threads, iters, || conv::col2im(&geometry, &cols, BATCH, &mut back, &threads))
            })
        });
    }
    g.finish();
}

/// `iters` runs of `f` inside the pool with the other workers polling for blocks, as
/// `fit` runs its steps (from outside the pool each run would also pay for waking a
/// worker and putting the caller to sleep): their time.
fn in_pool(threads: &Threads, iters: u64, mut f: impl FnMut() + Send) -> Duration {
    threads.install(|| {
        let _awake = threads.keep_awake();
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed()
    })
}

criterion_group!(benches, bench);
criterion_main!(benches);
