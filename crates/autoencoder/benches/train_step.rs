//! One training step (batch 128, Adam, BCE, one thread or `AE_BENCH_THREADS`) of the classic model A
//! (784→64→784) and the deep model B (784-512-256-32-256-512-784), beside their
//! "gemm floor": the same matrix products in the same order and nothing else.
//!
//! `cargo bench -p autoencoder --bench train_step`; the ratio step/floor is what
//! the engine adds around the products. On a shared machine, whose speed drifts
//! between criterion's two measurements, `AE_BENCH_INTERLEAVED=1` measures the two
//! in turn instead (21 rounds of 200 steps and 200 floors) and prints the medians and
//! the median of the rounds' ratios. `AE_BENCH_MODEL=A` (or `B`) measures one model alone.

use autoencoder::data::synthetic;
use autoencoder::kernels::{matmul, Threads, Transpose};
use autoencoder::train::Trainer;
use autoencoder::{Autoencoder, Loss, ModelConfig, TrainConfig};
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Instant;

const BATCH: usize = 128;

/// The products of one step of a dense stack with `widths` (input first): forward
/// `Y = X·Wᵀ` per layer; backward `∂W = δᵀ·X` per layer and `∂X = δ·W` for all but the first.
fn floor_step(widths: &[usize], bufs: &mut Floor, threads: &Threads) {
    let layers = widths.len() - 1;
    for i in 0..layers {
        let (inp, out) = (widths[i], widths[i + 1]);
        let (x, y) = (&bufs.acts[i], &mut bufs.out[i]);
        matmul(y, BATCH, out, inp, x, Transpose::No, &bufs.w[i], Transpose::Yes, false, threads);
    }
    for i in (0..layers).rev() {
        let (inp, out) = (widths[i], widths[i + 1]);
        matmul(
            &mut bufs.gw[i],
            out,
            inp,
            BATCH,
            &bufs.delta[i],
            Transpose::Yes,
            &bufs.acts[i],
            Transpose::No,
            false,
            threads,
        );
        if i > 0 {
            matmul(
                &mut bufs.dx,
                BATCH,
                inp,
                out,
                &bufs.delta[i],
                Transpose::No,
                &bufs.w[i],
                Transpose::No,
                false,
                threads,
            );
        }
    }
}

struct Floor {
    w: Vec<Vec<f32>>,
    gw: Vec<Vec<f32>>,
    acts: Vec<Vec<f32>>,
    out: Vec<Vec<f32>>,
    delta: Vec<Vec<f32>>,
    dx: Vec<f32>,
}

fn floor_buffers(widths: &[usize]) -> Floor {
    let pairs: Vec<(usize, usize)> = widths.windows(2).map(|w| (w[0], w[1])).collect();
    let max = *widths.iter().max().unwrap();
    Floor {
        w: pairs.iter().map(|&(i, o)| vec![0.01; i * o]).collect(),
        gw: pairs.iter().map(|&(i, o)| vec![0.0; i * o]).collect(),
        acts: pairs.iter().map(|&(i, _)| vec![0.5; BATCH * i]).collect(),
        out: pairs.iter().map(|&(_, o)| vec![0.0; BATCH * o]).collect(),
        delta: pairs.iter().map(|&(_, o)| vec![0.01; BATCH * o]).collect(),
        dx: vec![0.0; BATCH * max],
    }
}

fn bench(c: &mut Criterion) {
    // AE_BENCH_ROWS=54000 gathers from a data set the size of Fashion-MNIST's training
    // split (169 MB, from memory) rather than 4,096 rows (13 MB, from the last-level cache).
    let n_rows: usize =
        std::env::var("AE_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(4096).max(2 * BATCH);
    let mut data = synthetic::generate(n_rows, 0);
    // AE_BENCH_BYTES=1 rounds each value to a step of 1/255, as 8-bit pixels hold them
    // (MNIST, Fashion-MNIST): the step then gathers its rows from their bytes.
    if std::env::var_os("AE_BENCH_BYTES").is_some() {
        data.as_mut_slice().iter_mut().for_each(|v| *v = (*v * 255.0).round() / 255.0);
        assert!(data.bytes().is_some());
    }
    // AE_BENCH_THREADS=2 measures the same step on two threads (the products split
    // over blocks of C, the element-wise passes over fixed row chunks).
    let count = std::env::var("AE_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let threads = Threads::new(count);
    // AE_BENCH_MODEL=A (or B) measures one model alone (for a profiler's record).
    let only = std::env::var("AE_BENCH_MODEL").ok();
    for (name, layers) in [("A", vec![64]), ("B", vec![512, 256, 32])] {
        if only.as_deref().is_some_and(|m| m != name) {
            continue;
        }
        let config = ModelConfig { input_dim: 784, layers: layers.clone(), ..ModelConfig::default() };
        let widths = config.widths();
        let mut model = Autoencoder::new(config, 0).unwrap();
        let cfg = TrainConfig { loss: Loss::Bce, ..TrainConfig::default() };
        let mut trainer = Trainer::new(&model, &cfg, BATCH).unwrap();
        let order: Vec<usize> = (0..n_rows).map(|i| (i * 7919) % n_rows).collect();
        let mut at = 0;
        // `n` steps, or `n` floors, back to back, timed.
        let mut steps = |n: u64| {
            let start = Instant::now();
            for _ in 0..n {
                let rows = &order[at..at + BATCH];
                at = (at + BATCH) % (n_rows - BATCH);
                std::hint::black_box(trainer.step(&mut model, &data, rows, &threads));
            }
            start.elapsed()
        };
        let mut bufs = floor_buffers(&widths);
        let mut floors = |n: u64| {
            let start = Instant::now();
            for _ in 0..n {
                floor_step(&widths, &mut bufs, &threads);
            }
            start.elapsed()
        };
        // Both run inside the pool with the other workers polling for blocks, as `fit`
        // runs its epochs (a step called from outside it would also pay for waking a
        // worker and putting the caller to sleep).
        if std::env::var_os("AE_BENCH_INTERLEAVED").is_some() {
            let (mut step_us, mut floor_us, mut ratios) = (vec![], vec![], vec![]);
            threads.install(|| {
                let _awake = threads.keep_awake();
                // Round 0 warms up.
                for round in 0..22 {
                    let step = steps(200).as_secs_f64() / 200.0 * 1e6;
                    let floor = floors(200).as_secs_f64() / 200.0 * 1e6;
                    if round > 0 {
                        step_us.push(step);
                        floor_us.push(floor);
                        ratios.push(step / floor);
                    }
                }
            });
            for v in [&mut step_us, &mut floor_us, &mut ratios] {
                v.sort_by(f64::total_cmp);
            }
            let (mid, last) = (ratios.len() / 2, ratios.len() - 1);
            println!(
                "model_{name}_t{count}: step {:.1} µs, floor {:.1} µs, ratio {:.3} (median of 21 interleaved rounds; ratios {:.3}–{:.3})",
                step_us[mid], floor_us[mid], ratios[mid], ratios[0], ratios[last]
            );
            continue;
        }
        let mut g = c.benchmark_group(format!("model_{name}_t{count}"));
        g.sample_size(30);
        g.bench_function("train_step", |b| {
            b.iter_custom(|iters| {
                threads.install(|| {
                    let _awake = threads.keep_awake();
                    steps(iters)
                })
            })
        });
        g.bench_function("gemm_floor", |b| {
            b.iter_custom(|iters| {
                threads.install(|| {
                    let _awake = threads.keep_awake();
                    floors(iters)
                })
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
