//! Micro-batch training: the same seed gives the same bits with one process and with
//! several sharing each batch (processes simulated by threads that exchange through
//! [`Peers`]), at any thread count; the micro-batch gradient is the batch's gradient.

use std::sync::{Arc, Barrier, Mutex};

use autoencoder::train::{fit_with, FitOptions};
use autoencoder::{
    Activation, Arch, Autoencoder, Dataset, Downsample, Loss, ModelConfig, NoObserver, Peers, Threads,
    TrainConfig,
};

use crate::common::randn;

/// Processes as threads: each all-gather publishes this process's values, waits for
/// every other, reads them all in rank order, and waits again before the slots are
/// reused.
struct ThreadPeers {
    rank: usize,
    size: usize,
    shared: Arc<(Mutex<Vec<Vec<f64>>>, Barrier)>,
}

impl ThreadPeers {
    fn group(size: usize) -> Vec<ThreadPeers> {
        let shared = Arc::new((Mutex::new(vec![Vec::new(); size]), Barrier::new(size)));
        (0..size).map(|rank| ThreadPeers { rank, size, shared: shared.clone() }).collect()
    }

    fn gather<T: Copy>(
        &self,
        mine: &[T],
        counts: &[usize],
        all: &mut [T],
        to: fn(T) -> f64,
        from: fn(f64) -> T,
    ) {
        let (slots, barrier) = &*self.shared;
        slots.lock().unwrap()[self.rank] = mine.iter().map(|&v| to(v)).collect();
        barrier.wait();
        {
            let slots = slots.lock().unwrap();
            let mut at = 0;
            for (r, &c) in counts.iter().enumerate() {
                assert_eq!(slots[r].len(), c, "process {r} sent {} values, {c} expected", slots[r].len());
                all[at..at + c].iter_mut().zip(&slots[r]).for_each(|(a, &v)| *a = from(v));
                at += c;
            }
        }
        barrier.wait();
    }
}

impl Peers for ThreadPeers {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_gather_f32(&mut self, mine: &[f32], counts: &[usize], all: &mut [f32]) -> autoencoder::Result<()> {
        // f32 → f64 → f32 is exact.
        self.gather(mine, counts, all, f64::from, |v| v as f32);
        Ok(())
    }
    fn all_gather_f64(&mut self, mine: &[f64], counts: &[usize], all: &mut [f64]) -> autoencoder::Result<()> {
        self.gather(mine, counts, all, |v| v, |v| v);
        Ok(())
    }
    fn all_to_all_f32(
        &mut self,
        send: &[f32],
        send_counts: &[usize],
        recv: &mut [f32],
        recv_counts: &[usize],
    ) -> autoencoder::Result<()> {
        // Everyone publishes its counts and values; each reads the part cut for it.
        let mut v: Vec<f64> = send_counts.iter().map(|&c| c as f64).collect();
        v.extend(send.iter().map(|&x| f64::from(x)));
        let (slots, barrier) = &*self.shared;
        slots.lock().unwrap()[self.rank] = v;
        barrier.wait();
        {
            let slots = slots.lock().unwrap();
            let mut at = 0;
            for (p, &c) in recv_counts.iter().enumerate() {
                let counts: Vec<usize> = slots[p][..self.size].iter().map(|&x| x as usize).collect();
                assert_eq!(
                    counts[self.rank], c,
                    "process {p} cut {} values for {}",
                    counts[self.rank], self.rank
                );
                let from = self.size + counts[..self.rank].iter().sum::<usize>();
                recv[at..at + c].iter_mut().zip(&slots[p][from..from + c]).for_each(|(a, &v)| *a = v as f32);
                at += c;
            }
        }
        barrier.wait();
        Ok(())
    }
}

/// Train `model` on `data` with `processes` (0: one process without peers), each with
/// `threads` threads; every process's final parameters.
fn train(
    model: &ModelConfig,
    data: &Dataset,
    t: &TrainConfig,
    processes: usize,
    threads: usize,
) -> Vec<Vec<f32>> {
    let run = |peers: Option<Box<dyn Peers>>| {
        let mut m = Autoencoder::new(model.clone(), t.seed).unwrap();
        let options = FitOptions { peers, ..FitOptions::default() };
        fit_with(&mut m, data, None, t, &Threads::new(threads), &mut NoObserver, options).unwrap();
        m.params().to_vec()
    };
    if processes == 0 {
        return vec![run(None)];
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = ThreadPeers::group(processes)
            .into_iter()
            .map(|p| s.spawn(move || run(Some(Box::new(p)))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn unit_rows(rows: usize, d: usize, seed: u64) -> Dataset {
    let x: Vec<f32> = randn(rows * d, seed, 1.5).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    Dataset::new(x, rows, d, "unit rows").unwrap()
}

/// Dense with dropout and input noise, a variational model (binarised inputs), the same
/// trained on the importance-weighted bound, and a conv model: one process, and 1, 2,
/// 3 and 5 processes (5 > the 4 micro-batches of a batch), at 1 and 2 threads, end
/// with the same bits; another seed gives others.
#[test]
fn every_process_count_gives_the_same_bits() {
    let data = unit_rows(90, 16, 3); // 3 batches of 32, 32 and 26 rows
    let base = TrainConfig {
        epochs: 2,
        batch_size: 32,
        micro_batch: 8,
        seed: 11,
        loss: Loss::Bce,
        ..TrainConfig::default()
    };
    let dense = ModelConfig {
        input_dim: 16,
        layers: vec![12, 4],
        dropout: 0.2,
        output_activation: Activation::Sigmoid,
        ..ModelConfig::default()
    };
    let noisy = TrainConfig {
        noise: Some(autoencoder::train::Corruption::Gaussian { sigma: 0.2, clip: true }),
        ..base.clone()
    };
    let vae = ModelConfig { dropout: 0.0, variational: true, ..dense.clone() };
    let binarized = TrainConfig { binarize: true, ..base.clone() };
    let iw = TrainConfig { iw_train: 3, ..base.clone() };
    let conv = ModelConfig {
        input_dim: 16,
        arch: Arch::Conv,
        channels: vec![3],
        layers: vec![4],
        activation: Activation::Tanh,
        output_activation: Activation::Sigmoid,
        downsample: Downsample::Stride,
        image_shape: Some(autoencoder::ImageShape { channels: 1, height: 4, width: 4 }),
        ..ModelConfig::default()
    };
    for (what, model, t) in [
        ("dense with dropout and noise", &dense, &noisy),
        ("variational, binarised", &vae, &binarized),
        ("importance-weighted", &vae, &iw),
        ("conv", &conv, &base),
    ] {
        let want = train(model, &data, t, 0, 1).remove(0);
        for (processes, threads) in [(1, 1), (2, 1), (3, 2), (5, 1), (0, 2), (0, 3)] {
            for (rank, got) in train(model, &data, t, processes, threads).iter().enumerate() {
                assert!(
                    same_bits(&want, got),
                    "{what}: {processes} processes × {threads} threads, rank {rank}"
                );
            }
        }
        let other = train(model, &data, &TrainConfig { seed: 12, ..t.clone() }, 2, 1);
        assert!(!same_bits(&want, &other[0]), "{what}: another seed");
    }
}

/// One micro-batch of the whole batch is the whole-batch step, bit for bit (without
/// noise, whose draws differ); four micro-batches sum to the same gradient up to the
/// order of the additions, so training ends close to it.
#[test]
fn micro_batches_compute_the_batch_gradient() {
    let data = unit_rows(128, 16, 4);
    let model = ModelConfig { input_dim: 16, layers: vec![12, 4], ..ModelConfig::default() };
    let whole = TrainConfig { epochs: 3, batch_size: 32, seed: 2, ..TrainConfig::default() };
    let a = train(&model, &data, &whole, 0, 1).remove(0);
    let one = train(&model, &data, &TrainConfig { micro_batch: 32, ..whole.clone() }, 0, 1).remove(0);
    assert!(same_bits(&a, &one), "one micro-batch per batch");
    let four = train(&model, &data, &TrainConfig { micro_batch: 8, ..whole.clone() }, 0, 1).remove(0);
    assert!(!same_bits(&a, &four));
    let worst = a.iter().zip(&four).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "four micro-batches moved a weight by {worst}");
}

/// What couples a batch's rows is refused, naming the setting.
#[test]
fn batch_norm_and_code_penalties_are_refused() {
    let data = unit_rows(40, 16, 5);
    let t = TrainConfig { micro_batch: 8, ..TrainConfig::default() };
    let bn = ModelConfig {
        input_dim: 16,
        arch: Arch::Conv,
        channels: vec![3],
        layers: vec![4],
        batch_norm: true,
        image_shape: Some(autoencoder::ImageShape { channels: 1, height: 4, width: 4 }),
        ..ModelConfig::default()
    };
    let dense = ModelConfig { input_dim: 16, layers: vec![8, 4], ..ModelConfig::default() };
    for (model, t, word) in [
        (&bn, t.clone(), "batch norm"),
        (&dense, TrainConfig { code_l1: 0.1, ..t.clone() }, "code penalties"),
    ] {
        let mut m = Autoencoder::new(model.clone(), 0).unwrap();
        let e = autoencoder::fit(&mut m, &data, None, &t, &Threads::new(1), &mut NoObserver)
            .unwrap_err()
            .to_string();
        assert!(e.contains("micro_batch") && e.contains(word), "{e}");
    }
}
