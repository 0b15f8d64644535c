//! Rows a second through the library's whole training call (`Params::check(..).fit`, as
//! `ae train` makes it) and through a bare loop of `Trainer::step` on the same rows, at
//! one thread or more: `bench/compare` times `ae train`, and this tells whether a
//! difference lies in the command or in the library
//! (bench/results-threads-2026-12-07.md, section 3).
//!
//! `cargo run --release -p autoencoder --example fit_vs_step -- THREADS [IDX]`: model A
//! (784 → 64 → 784, batch 128, Adam, BCE, a tenth of the rows held out for validation,
//! 3 epochs, seed 1) on the images of an IDX file (e.g. Fashion-MNIST's
//! `train-images-idx3-ubyte.gz`), or on 60,000 synthetic rows. Three rounds, each with a
//! new thread pool; each prints the epochs' rows a second (`History`) and the best of
//! three passes of the step loop over the training rows.

use std::path::Path;
use std::time::Instant;

use autoencoder::data::{idx, synthetic};
use autoencoder::random::{self, Stream};
use autoencoder::train::Trainer;
use autoencoder::{Autoencoder, Loss, ModelConfig, Params, Threads, TrainConfig};

const SEED: u64 = 1;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(threads) = args.first().and_then(|t| t.parse::<usize>().ok()) else {
        eprintln!("usage: fit_vs_step THREADS [IDX]");
        std::process::exit(2);
    };
    let data = match args.get(1) {
        Some(path) => idx::load(Path::new(path), None).unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        }),
        None => synthetic::generate(60_000, 0),
    };
    let model = ModelConfig { input_dim: data.cols(), layers: vec![64], ..ModelConfig::default() };
    let training = TrainConfig {
        loss: Loss::Bce,
        epochs: 3,
        seed: SEED,
        batch_size: 128,
        validation_split: 0.1,
        ..TrainConfig::default()
    };
    let params = Params { model: model.clone(), training: training.clone() };
    let held_out = training.held_out(&data).expect("rows to hold out");
    let mut order: Vec<usize> = (0..held_out.start).collect();
    random::shuffle(&mut random::rng(SEED, Stream::Shuffle), &mut order);
    for round in 0..3 {
        let pool = Threads::new(threads);
        let fitted =
            params.clone().check(&data.shape()).expect("valid settings").threads(pool.clone()).fit(&data);
        let epochs: Vec<u64> = fitted
            .expect("training")
            .history
            .epochs
            .iter()
            .map(|e| (e.rows_per_second / 1e3) as u64)
            .collect();
        let mut model = Autoencoder::new(model.clone(), SEED).expect("a valid model");
        let mut trainer = Trainer::new(&model, &training, 128).expect("a valid trainer");
        let best = pool.install(|| {
            let _awake = pool.keep_awake();
            (0..3)
                .map(|_| {
                    let start = Instant::now();
                    for batch in order.chunks(128) {
                        std::hint::black_box(trainer.step(&mut model, &data, batch, &pool));
                    }
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        });
        println!(
            "round {round}, {threads} thread(s): fit {epochs:?} k rows/s an epoch; step loop {:.0} k rows/s",
            order.len() as f64 / best / 1e3
        );
    }
}
