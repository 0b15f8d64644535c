//! Microseconds per `Trainer::step` of a dense model on synthetic rows, batches of 128 in
//! a shuffled order, inside the pool with its workers kept awake as `fit` runs them:
//! five runs of `STEPS` steps (default 2,000) after one another, each printed.
//!
//! `cargo run --release -p autoencoder --example step_time -- THREADS ROWS LAYERS`, e.g.
//! `-- 2 54000 64` for model A at two threads on rows that do not fit in the cache.
//! Run it in turn on two builds (a `git worktree` of the older, with this file copied
//! in) to compare them: bench/results-zen5-2026-12-03.md's section 2 did so.

use autoencoder::data::synthetic;
use autoencoder::kernels::Threads;
use autoencoder::random::{self, Stream};
use autoencoder::train::Trainer;
use autoencoder::{Autoencoder, Loss, ModelConfig, TrainConfig};
use std::time::Instant;

const BATCH: usize = 128;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: step_time THREADS ROWS LAYERS (e.g. 2 54000 64, or 1 4096 512,256,32)";
    let [threads, rows, layers] = &args[..] else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let parsed = (|| -> Option<(usize, usize, Vec<usize>)> {
        let layers = layers.split(',').map(|v| v.parse().ok()).collect::<Option<Vec<usize>>>()?;
        Some((threads.parse().ok()?, rows.parse().ok()?, layers))
    })();
    let Some((threads, rows, layers)) = parsed.filter(|(_, rows, _)| *rows >= BATCH) else {
        eprintln!("{usage}; ROWS at least {BATCH}");
        std::process::exit(2);
    };
    let steps: usize = std::env::var("STEPS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let data = synthetic::generate(rows, 0);
    let threads = Threads::new(threads);
    let config = ModelConfig { input_dim: 784, layers, ..ModelConfig::default() };
    let mut model = Autoencoder::new(config, 0).expect("a valid model");
    let cfg = TrainConfig { loss: Loss::Bce, ..TrainConfig::default() };
    let mut trainer = Trainer::new(&model, &cfg, BATCH).expect("a valid trainer");
    let mut order: Vec<usize> = (0..rows).collect();
    random::shuffle(&mut random::rng(0, Stream::Shuffle), &mut order);
    threads.install(|| {
        let _awake = threads.keep_awake();
        let mut at = 0;
        for run in 0..5 {
            let start = Instant::now();
            for _ in 0..steps {
                if at + BATCH > rows {
                    at = 0;
                }
                std::hint::black_box(trainer.step(&mut model, &data, &order[at..at + BATCH], &threads));
                at += BATCH;
            }
            println!("run {run}: {:.1} µs/step", start.elapsed().as_secs_f64() * 1e6 / steps as f64);
        }
    });
}
