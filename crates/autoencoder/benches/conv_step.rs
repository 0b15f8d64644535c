//! One training step (batch 128, Adam, BCE, one thread) of the convolutional models C
//! (`--arch conv --channels 32,64 --layers 32 --batch-norm`) and C0 (without batch
//! norm) on 28×28 images, and each layer's forward + backward on its own, to see where
//! a step's time goes.
//!
//! `cargo bench -p autoencoder --bench conv_step`; `AE_BENCH_THREADS=2 cargo bench …` runs
//! the same on two threads (the group names say the count).

use autoencoder::data::synthetic;
use autoencoder::layers::{Backward, Ctx};
use autoencoder::random::{self, Stream};
use autoencoder::train::Trainer;
use autoencoder::{Arch, Autoencoder, ImageShape, Loss, ModelConfig, Threads, TrainConfig};
use criterion::{criterion_group, criterion_main, Criterion};

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
            b.iter(|| {
                let rows = &order[at..at + BATCH];
                at = (at + BATCH) % (4096 - BATCH);
                trainer.step(&mut model, &data, rows, &threads)
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
                b.iter(|| {
                    threads.install(|| {
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
