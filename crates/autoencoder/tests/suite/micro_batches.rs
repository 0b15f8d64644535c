//! Micro-batch training: the same seed gives the same bits with one process and with
//! several sharing each batch (processes simulated by threads that exchange through
//! [`Peers`]), at any thread count; the micro-batch gradient is the batch's gradient.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use autoencoder::train::{fit_with, FitOptions};
use autoencoder::{
    Activation, Arch, Autoencoder, Dataset, Downsample, Loss, ModelConfig, NoObserver, Peers, Threads,
    TrainConfig,
};

use crate::common::randn;

/// A barrier that gives up: a process that panicked never arrives, and the others then
/// fail after a minute instead of waiting for ever (a failing test, not a hung one).
struct Gate {
    /// Arrived so far, and the generation (how many times every process arrived).
    state: Mutex<(usize, u64)>,
    all_in: Condvar,
    size: usize,
}

impl Gate {
    fn new(size: usize) -> Gate {
        Gate { state: Mutex::new((0, 0)), all_in: Condvar::new(), size }
    }

    fn wait(&self) {
        let mut s = self.state.lock().unwrap();
        let generation = s.1;
        s.0 += 1;
        if s.0 == self.size {
            *s = (0, generation + 1);
            self.all_in.notify_all();
            return;
        }
        let limit = Duration::from_secs(60);
        let (_s, waited) = self.all_in.wait_timeout_while(s, limit, |s| s.1 == generation).unwrap();
        assert!(!waited.timed_out(), "a process did not reach the exchange within a minute: did it fail?");
    }
}

/// Processes as threads: each all-gather publishes this process's values, waits for
/// every other, reads them all in rank order, and waits again before the slots are
/// reused.
struct ThreadPeers {
    rank: usize,
    size: usize,
    shared: Arc<(Mutex<Vec<Vec<f64>>>, Gate)>,
    /// The all-to-all exchanges the group has made, and the `f64` values its
    /// all-gathers gave each process (counted by process 0).
    exchanges: Arc<std::sync::atomic::AtomicUsize>,
    gathered_f64: Arc<std::sync::atomic::AtomicUsize>,
}

impl ThreadPeers {
    fn group(size: usize) -> Vec<ThreadPeers> {
        let shared = Arc::new((Mutex::new(vec![Vec::new(); size]), Gate::new(size)));
        let exchanges = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let gathered_f64 = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        (0..size)
            .map(|rank| ThreadPeers {
                rank,
                size,
                shared: shared.clone(),
                exchanges: exchanges.clone(),
                gathered_f64: gathered_f64.clone(),
            })
            .collect()
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
        if self.rank == 0 {
            self.gathered_f64.fetch_add(all.len(), std::sync::atomic::Ordering::Relaxed);
        }
        self.gather(mine, counts, all, |v| v, |v| v);
        Ok(())
    }
    fn all_to_all_f32(
        &mut self,
        send: &[f32],
        send_counts: &[usize],
        recv: &mut [f32],
        recv_counts: &[usize],
        most: usize,
    ) -> autoencoder::Result<()> {
        if self.rank == 0 {
            self.exchanges.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        // The bound a transport would split the exchange by holds for this process, and
        // every process passes the same.
        assert!(
            send.len() <= most && recv.len() <= most,
            "process {} sends {} and receives {} values, over the bound {most}",
            self.rank,
            send.len(),
            recv.len()
        );
        // Everyone publishes its bound, counts and values; each reads the part cut for it.
        let mut v: Vec<f64> = vec![most as f64];
        v.extend(send_counts.iter().map(|&c| c as f64));
        v.extend(send.iter().map(|&x| f64::from(x)));
        let (slots, barrier) = &*self.shared;
        slots.lock().unwrap()[self.rank] = v;
        barrier.wait();
        {
            let slots = slots.lock().unwrap();
            let mut at = 0;
            for (p, &c) in recv_counts.iter().enumerate() {
                assert_eq!(slots[p][0], most as f64, "processes {p} and {} pass other bounds", self.rank);
                let counts: Vec<usize> = slots[p][1..=self.size].iter().map(|&x| x as usize).collect();
                assert_eq!(
                    counts[self.rank], c,
                    "process {p} cut {} values for {}",
                    counts[self.rank], self.rank
                );
                let from = 1 + self.size + counts[..self.rank].iter().sum::<usize>();
                recv[at..at + c].iter_mut().zip(&slots[p][from..from + c]).for_each(|(a, &v)| *a = v as f32);
                at += c;
            }
        }
        barrier.wait();
        Ok(())
    }
}

/// What `size` simulated processes returned, in rank order, and what their group
/// exchanged (counted by process 0).
struct Ran<T> {
    results: Vec<T>,
    /// The all-to-all exchanges made.
    exchanges: usize,
    /// The `f64` values the all-gathers gave each process.
    gathered_f64: usize,
}

/// `f(peers)` run by `size` simulated processes at once, each a thread with its
/// [`ThreadPeers`].
fn in_processes<T: Send>(size: usize, f: impl Fn(ThreadPeers) -> T + Sync) -> Ran<T> {
    let group = ThreadPeers::group(size);
    let (exchanges, gathered) = (group[0].exchanges.clone(), group[0].gathered_f64.clone());
    let f = &f;
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = group.into_iter().map(|p| s.spawn(move || f(p))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let load = |a: &std::sync::atomic::AtomicUsize| a.load(std::sync::atomic::Ordering::Relaxed);
    Ran { results, exchanges: load(&exchanges), gathered_f64: load(&gathered) }
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
    trained(model, data, t, processes, threads).into_iter().map(|(params, _)| params).collect()
}

/// [`train`]: every process's final parameters and its validation losses' bits.
fn trained(
    model: &ModelConfig,
    data: &Dataset,
    t: &TrainConfig,
    processes: usize,
    threads: usize,
) -> Vec<(Vec<f32>, Vec<u64>)> {
    let run = |peers: Option<Box<dyn Peers>>| {
        let mut m = Autoencoder::new(model.clone(), t.seed).unwrap();
        let options = FitOptions { peers, ..FitOptions::default() };
        let h = fit_with(&mut m, data, None, t, &Threads::new(threads), &mut NoObserver, options).unwrap();
        (m.params().to_vec(), h.epochs.iter().filter_map(|e| e.val_loss).map(f64::to_bits).collect())
    };
    if processes == 0 {
        return vec![run(None)];
    }
    in_processes(processes, |p| run(Some(Box::new(p)))).results
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn unit_rows(rows: usize, d: usize, seed: u64) -> Dataset {
    let x: Vec<f32> = randn(rows * d, seed, 1.5).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    Dataset::new(x, rows, d, "unit rows").unwrap()
}

/// Dense with dropout and input noise, a variational model (binarised inputs), the same
/// trained on the importance-weighted bound, the variational model validated on a split
/// (the processes share its batches and the code samples drawn for them), the dense
/// model trimmed (both passes shared), and a conv model, with batch norm and without: one process, and 1, 2,
/// 3 and 5 processes (5 > the 4 micro-batches of a batch), at 1 and 2 threads, end
/// with the same bits and validation losses; another seed gives others.
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
    let trimmed = TrainConfig { trim: 0.2, ..base.clone() };
    // 54 training rows, and 36 validated in batches of 32 and 4.
    let validated = TrainConfig { validation_split: 0.4, ..binarized.clone() };
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
    let conv_bn = ModelConfig { batch_norm: true, activation: Activation::Relu, ..conv.clone() };
    let contractive = ModelConfig {
        layers: vec![4],
        dropout: 0.0,
        code_activation: Some(Activation::Sigmoid),
        ..dense.clone()
    };
    let penalised = TrainConfig {
        code_l1: 0.01,
        contractive: 0.1,
        sparsity: Some(autoencoder::train::Sparsity { target: 0.1, weight: 0.5 }),
        ..base.clone()
    };
    for (what, model, t) in [
        ("conv with batch norm", &conv_bn, &base),
        ("the code penalties: L1, contractive, sparsity", &contractive, &penalised),
        ("dense with dropout and noise", &dense, &noisy),
        ("variational, binarised", &vae, &binarized),
        ("importance-weighted", &vae, &iw),
        ("variational, validated", &vae, &validated),
        ("trimmed (both passes shared)", &dense, &trimmed),
        ("conv", &conv, &base),
    ] {
        let (want, losses) = trained(model, &data, t, 0, 1).remove(0);
        assert_eq!(losses.len(), if t.validation_split > 0.0 { 2 } else { 0 }, "{what}");
        for (processes, threads) in [(1, 1), (2, 1), (3, 2), (5, 1), (0, 2), (0, 3)] {
            for (rank, (got, l)) in trained(model, &data, t, processes, threads).iter().enumerate() {
                assert!(
                    same_bits(&want, got) && l == &losses,
                    "{what}: {processes} processes × {threads} threads, rank {rank}"
                );
            }
        }
        let other = train(model, &data, &TrainConfig { seed: 12, ..t.clone() }, 2, 1);
        assert!(!same_bits(&want, &other[0]), "{what}: another seed");
    }
}

/// An observer that stops training after epoch `at`, where it is `here`.
struct StopAt {
    at: usize,
    here: bool,
}

impl autoencoder::Observer for StopAt {
    fn on_epoch_end(&mut self, r: &autoencoder::train::EpochRecord) -> autoencoder::train::Control {
        match self.here && r.epoch >= self.at {
            true => autoencoder::train::Control::Stop,
            false => autoencoder::train::Control::Continue,
        }
    }
}

/// An observer that stops training on one process alone (a callback there, or Ctrl-C
/// reaching the processes at different moments) stops every process after the same
/// epoch: the model and history of one process stopped there, and the exchanges after
/// it (validation, the codec and detector fitted across the processes) still match.
#[test]
fn one_process_asking_to_stop_stops_them_all() {
    use autoencoder::anomaly::ThresholdRule;
    use autoencoder::train::{shard_rows, StopReason};
    use autoencoder::{DataShape, Params};

    let data = unit_rows(300, 8, 4);
    let model = ModelConfig { input_dim: 8, layers: vec![6, 3], ..ModelConfig::default() };
    let t = TrainConfig {
        epochs: 6,
        batch_size: 32,
        micro_batch: 8,
        validation_split: 0.2,
        ..TrainConfig::default()
    };
    let params = || {
        let p = Params { model: model.clone(), training: t.clone() }.check(&DataShape::table(8)).unwrap();
        p.threads(Threads::new(1)).threshold(ThresholdRule::Contamination(0.05))
    };
    let bytes = |f: &autoencoder::Fitted| autoencoder::file::to_bytes(&f.model).unwrap();
    let one = params().fit_shared(&data, None, &mut StopAt { at: 2, here: true }, None).unwrap();
    assert_eq!(one.history.epochs.len(), 2);
    assert_eq!(one.history.stop_reason, StopReason::Interrupted);
    for stopping in 0..3 {
        let got = in_processes(3, |p| {
            let rank = p.rank;
            let r = shard_rows(300, rank, 3);
            let mut mine = data.select_rows(&r.clone().collect::<Vec<_>>());
            mine.first_row = r.start as u64;
            let mut observer = StopAt { at: 2, here: rank == stopping };
            params().fit_sharded(&mine, 300, None, &mut observer, Box::new(p)).unwrap()
        });
        for (rank, f) in got.results.iter().enumerate() {
            assert!(bytes(f) == bytes(&one), "process {stopping} stopped; process {rank} has other bytes");
            assert_eq!(f.history.stop_reason, StopReason::Interrupted, "process {rank}");
        }
    }
}

/// One micro-batch of the whole batch is the whole-batch step, bit for bit (without
/// noise, whose draws differ); four micro-batches sum to the same gradient up to the
/// order of the additions, so training ends close to it.
#[test]
fn micro_batches_compute_the_batch_gradient() {
    let data = unit_rows(128, 16, 4);
    let dense = ModelConfig { input_dim: 16, layers: vec![12, 4], ..ModelConfig::default() };
    let whole = TrainConfig { epochs: 3, batch_size: 32, seed: 2, ..TrainConfig::default() };
    // The L1 and contractive code penalties are means over the batch too: each
    // micro-batch adds its rows' share.
    let contractive =
        ModelConfig { layers: vec![4], code_activation: Some(Activation::Sigmoid), ..dense.clone() };
    let penalised = TrainConfig { code_l1: 0.01, contractive: 0.1, ..whole.clone() };
    // The KL sparsity penalty is over the batch's mean activation, which the
    // micro-batches' code sums give first.
    let sparse = TrainConfig {
        sparsity: Some(autoencoder::train::Sparsity { target: 0.05, weight: 1.0 }),
        ..penalised.clone()
    };
    for (what, model, whole) in [
        ("plain", &dense, &whole),
        ("code penalties", &contractive, &penalised),
        ("sparsity", &contractive, &sparse),
    ] {
        let a = train(model, &data, whole, 0, 1).remove(0);
        let one = train(model, &data, &TrainConfig { micro_batch: 32, ..whole.clone() }, 0, 1).remove(0);
        assert!(same_bits(&a, &one), "{what}: one micro-batch per batch");
        let four = train(model, &data, &TrainConfig { micro_batch: 8, ..whole.clone() }, 0, 1).remove(0);
        assert!(!same_bits(&a, &four), "{what}");
        let worst = a.iter().zip(&four).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{what}: four micro-batches moved a weight by {worst}");
    }
    // Without the penalties' shares, the micro-batches would train another model.
    let plain = train(&contractive, &data, &TrainConfig { micro_batch: 8, ..whole.clone() }, 0, 1).remove(0);
    let penalised = train(&contractive, &data, &TrainConfig { micro_batch: 8, ..penalised }, 0, 1).remove(0);
    let sparse = train(&contractive, &data, &TrainConfig { micro_batch: 8, ..sparse }, 0, 1).remove(0);
    for (what, got) in [("L1 and contractive", &penalised), ("sparsity", &sparse)] {
        let moved = plain.iter().zip(got).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(moved > 1e-3, "{what}: the penalties moved the weights by {moved} only");
    }
    let moved = penalised.iter().zip(&sparse).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "sparsity moved the weights by {moved} only");
}

/// Batch norm in micro-batches: each micro-batch normalises by its own statistics, and
/// the running statistics are the whole batch's. After one step, the first batch norm
/// layer (whose input, after one convolution of each row, is the same however the batch
/// is cut) holds the running statistics of whole-batch training, to f32 rounding: 0.9 of
/// the initial ones plus 0.1 of the batch's mean and unbiased variance.
#[test]
fn batch_norm_keeps_the_whole_batch_running_statistics() {
    let data = unit_rows(32, 16, 6);
    let bn = ModelConfig {
        input_dim: 16,
        arch: Arch::Conv,
        channels: vec![3],
        layers: vec![4],
        batch_norm: true,
        image_shape: Some(autoencoder::ImageShape { channels: 1, height: 4, width: 4 }),
        ..ModelConfig::default()
    };
    let running = |micro: usize| {
        let t =
            TrainConfig { epochs: 1, batch_size: 32, micro_batch: micro, seed: 2, ..TrainConfig::default() };
        let mut m = Autoencoder::new(bn.clone(), 0).unwrap();
        autoencoder::fit(&mut m, &data, None, &t, &Threads::new(1), &mut NoObserver).unwrap();
        let i = (0..m.layers().len()).find(|&i| m.layers()[i].has_state()).expect("a batch norm layer");
        let p = &m.params()[m.layer_params(i)];
        let c = p.len() / 4;
        (p[2 * c..3 * c].to_vec(), p[3 * c..].to_vec())
    };
    let (want_mean, want_var) = running(0);
    assert!(want_mean.iter().any(|&v| v.abs() > 1e-3), "the batch moved the running mean: {want_mean:?}");
    for micro in [8, 5] {
        let (mean, var) = running(micro);
        for (got, want) in mean.iter().zip(&want_mean).chain(var.iter().zip(&want_var)) {
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "micro-batches of {micro}: {got} against {want}"
            );
        }
    }
}

/// A z-scored 5-3 model of `d` features and its training: 2 epochs of batches of
/// `batch` rows in micro-batches of `micro`, a validation split of 0.2, Gaussian input
/// noise, seed `seed`.
fn noisy_dense(d: usize, batch: usize, micro: usize, seed: u64) -> (ModelConfig, TrainConfig) {
    let training = TrainConfig {
        epochs: 2,
        batch_size: batch,
        micro_batch: micro,
        validation_split: 0.2,
        seed,
        noise: Some(autoencoder::train::Corruption::Gaussian { sigma: 0.1, clip: false }),
        ..TrainConfig::default()
    };
    let dense = ModelConfig {
        input_dim: d,
        layers: vec![5, 3],
        normalize: autoencoder::NormalizeKind::ZScore,
        ..ModelConfig::default()
    };
    (dense, training)
}

/// Rows shared out among processes, none holding them all (`fit_sharded`), give the
/// model file that processes holding every row give (`fit_shared`), byte for byte: the
/// z-score normaliser over blocks split between processes and blocks one holds whole,
/// the validation split's rows, every step's rows, the codec, the detector and the
/// checkpoint's fingerprint; with even, uneven and empty shares, a dense model with
/// input noise, a variational one (whose ELBO score draws at each row's global index),
/// a trimmed one (its second pass on the rows the first scores lowest, each process
/// holding its own of them), and one trimmed and thresholded by the standardized score
/// (its feature scales from each process's error sums of its rows, joined).
#[test]
fn rows_shared_out_give_the_bytes_of_every_row_everywhere() {
    use autoencoder::anomaly::ThresholdRule;
    use autoencoder::train::shard_rows;
    use autoencoder::{DataShape, Params};

    // 6,000 rows: the 4,800 training rows span two of the normaliser's blocks of 4,096.
    let (n, d) = (6000, 6);
    let values: Vec<f32> =
        randn(n * d, 21, 1.0).iter().enumerate().map(|(i, v)| v * (1 + i % d) as f32 + 3.0).collect();
    let data = Dataset::new(values, n, d, "rows").unwrap();
    let (dense, training) = noisy_dense(d, 512, 64, 5);
    let vae = ModelConfig { variational: true, ..dense.clone() };
    let standardized =
        ModelConfig { score: Some(autoencoder::anomaly::ScoreKind::Standardized), ..dense.clone() };
    let dir = tempfile::tempdir().unwrap();
    for (what, model, t) in [
        ("dense with noise", &dense, training.clone()),
        ("variational", &vae, TrainConfig { noise: None, ..training.clone() }),
        ("trimmed", &dense, TrainConfig { trim: 0.3, ..training.clone() }),
        ("standardized, trimmed", &standardized, TrainConfig { trim: 0.3, ..training.clone() }),
    ] {
        // Checkpoints after epoch 1, each process its own (`None`: one process).
        let ckpt = |rank: Option<usize>| dir.path().join(format!("{what}-{rank:?}.ckpt"));
        let params = |rank: Option<usize>| {
            let p = Params { model: model.clone(), training: t.clone() }.check(&DataShape::table(d)).unwrap();
            let p = p
                .threads(Threads::new(1 + rank.unwrap_or(0) % 2))
                .threshold(ThresholdRule::Contamination(0.05));
            // Only the first process writes checkpoints, as `ae` does under mpirun.
            if rank.is_some_and(|r| r > 0) {
                p
            } else {
                p.checkpoint(ckpt(rank), 1)
            }
        };
        let fingerprint =
            |rank| autoencoder::train::load_checkpoint(&ckpt(rank)).unwrap().resume.state.fingerprint;
        let bytes = |f: autoencoder::Fitted| autoencoder::file::to_bytes(&f.model).unwrap();
        let want = bytes(params(None).fit_shared(&data, None, &mut NoObserver, None).unwrap());
        assert!(fingerprint(None).is_some());
        let even = |p: usize| (0..p).map(|r| shard_rows(n, r, p).len()).collect::<Vec<_>>();
        // (The last two processes of the last shares hold only held-out rows.)
        for sizes in [even(2), even(3), vec![1, 4100, 1899], vec![0, 4096, 1904], vec![4800, 600, 600]] {
            let got = in_processes(sizes.len(), |p| {
                let rank = p.rank;
                let first: usize = sizes[..rank].iter().sum();
                let idx: Vec<usize> = (first..first + sizes[rank]).collect();
                let mut mine = data.select_rows(&idx);
                mine.first_row = first as u64;
                bytes(params(Some(rank)).fit_sharded(&mine, n, None, &mut NoObserver, Box::new(p)).unwrap())
            })
            .results;
            for (rank, g) in got.iter().enumerate() {
                assert!(g == &want, "{what}: shares {sizes:?}, process {rank}");
            }
            assert_eq!(fingerprint(Some(0)), fingerprint(None), "{what}: shares {sizes:?}");
        }
    }
}

/// A validation set shared out among processes (`ValidationRows::Shared`), none holding
/// it whole, gives the model file (and the checkpoint's fingerprint) of one process
/// holding it, in memory and streamed: with each process holding its
/// `validation_part` (then no validation row is sent: the all-to-all exchanges are
/// those of a set held whole by each), with uneven and empty shares, for a dense model
/// with noise, a variational one (its validation loss samples codes, the generator
/// moved past the others' rows), and a trimmed one keeping fewer rows than a batch (its
/// second pass's batches, and so its shares, differ from the first's).
#[test]
fn a_validation_set_shared_out_gives_the_bytes_of_one_held_whole() {
    use autoencoder::data::chunks::ChunkedRows;
    use autoencoder::data::open::LoadOptions;
    use autoencoder::train::{shard_rows, validation_part, ValidationRows};
    use autoencoder::{DataShape, Params};

    let (n, m, d, size) = (1200, 700, 6, 3);
    let values: Vec<f32> =
        randn((n + m) * d, 25, 1.0).iter().enumerate().map(|(i, v)| v * (1 + i % d) as f32 + 3.0).collect();
    let data = Dataset::new(values[..n * d].to_vec(), n, d, "rows").unwrap();
    let val = Dataset::new(values[n * d..].to_vec(), m, d, "validation").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.npy");
    autoencoder::data::npy::write(&path, &values[..n * d], n, d).unwrap();
    let chunked = ChunkedRows::open(&[path], &LoadOptions::default()).unwrap();
    let (dense, training) = noisy_dense(d, 256, 32, 9);
    let vae = ModelConfig { variational: true, ..dense.clone() };
    let bytes = |f: autoencoder::Fitted| autoencoder::file::to_bytes(&f.model).unwrap();
    let part = |r: usize| validation_part(m, n, 256, r, size);
    // Each process's validation rows; `None`: every process holds them whole.
    let aligned: Vec<usize> = (0..size).map(|r| part(r).len()).collect();
    assert!(aligned.iter().all(|&k| k > 0 && k < m), "{aligned:?}");
    let shares = [None, Some(aligned), Some(vec![0, 350, 350]), Some(vec![m, 0, 0])];
    for (what, model, t) in [
        ("dense with noise", &dense, training.clone()),
        ("variational", &vae, TrainConfig { noise: None, ..training.clone() }),
        // 240 rows kept, fewer than a batch.
        ("trimmed", &dense, TrainConfig { trim: 0.8, ..training.clone() }),
    ] {
        let ckpt = |rank: Option<usize>| dir.path().join(format!("{what}-{rank:?}.ckpt"));
        // In memory, the first process writes checkpoints (streamed training writes none).
        let params = |rank: Option<usize>, streamed: bool| {
            let p = Params { model: model.clone(), training: t.clone() }.check(&DataShape::table(d)).unwrap();
            let p = p.threads(Threads::new(1 + rank.unwrap_or(0) % 2));
            if streamed || rank.is_some_and(|r| r > 0) {
                p
            } else {
                p.checkpoint(ckpt(rank), 1)
            }
        };
        let fingerprint =
            |rank| autoencoder::train::load_checkpoint(&ckpt(rank)).unwrap().resume.state.fingerprint;
        let want = bytes(params(None, false).fit_shared(&data, Some(&val), &mut NoObserver, None).unwrap());
        let want_streamed =
            bytes(params(None, true).fit_streamed(&chunked, Some(&val), 500, &mut NoObserver).unwrap());
        let mut exchanges = Vec::new();
        for sizes in &shares {
            for streamed in [false, true] {
                let ran = in_processes(size, |p| {
                    let rank = p.rank;
                    let mine = |set: &Dataset, r: std::ops::Range<usize>| {
                        let mut rows = set.select_rows(&r.clone().collect::<Vec<_>>());
                        rows.first_row = r.start as u64;
                        rows
                    };
                    let vmine = sizes.as_ref().map(|k| {
                        let first: usize = k[..rank].iter().sum();
                        mine(&val, first..first + k[rank])
                    });
                    let validation = Some(match &vmine {
                        Some(rows) => ValidationRows::Shared { rows, total: m },
                        None => ValidationRows::Whole(&val),
                    });
                    let (params, p) = (params(Some(rank), streamed), Box::new(p));
                    let fitted = if streamed {
                        params.fit_streamed_sharded(&chunked, validation, 500, &mut NoObserver, p)
                    } else {
                        let rows = mine(&data, shard_rows(n, rank, size));
                        params.fit_sharded(&rows, n, validation, &mut NoObserver, p)
                    };
                    bytes(fitted.unwrap())
                });
                let got = ran.results;
                let w = if streamed { &want_streamed } else { &want };
                for (rank, g) in got.iter().enumerate() {
                    assert!(
                        g == w,
                        "{what}: validation shares {sizes:?}, streamed {streamed}: process {rank}"
                    );
                }
                if !streamed {
                    assert_eq!(
                        fingerprint(Some(0)),
                        fingerprint(None),
                        "{what}: validation shares {sizes:?}"
                    );
                }
                exchanges.push(ran.exchanges);
            }
        }
        // Held as their parts, the exchanges of a set held whole; other shares, one more
        // a pass. Trimmed, the second pass's batches are smaller, so its parts differ
        // from those held, and the parts are exchanged once.
        let (parts_more, others_more) = if t.trim > 0.0 { (1, 2) } else { (0, 1) };
        for (i, more) in [(1, parts_more), (2, others_more), (3, others_more)] {
            for s in 0..2 {
                assert_eq!(exchanges[2 * i + s], exchanges[s] + more, "{what}: {exchanges:?}");
            }
        }
    }
    // Shares that do not add up to the set are refused on every process, naming it, in
    // memory and streamed.
    for streamed in [false, true] {
        let errors = in_processes(2, |p| {
            let (rows, vrows) = ([0..600, 600..n][p.rank].clone(), [0..300, 300..650][p.rank].clone());
            let mut mine = data.select_rows(&rows.clone().collect::<Vec<_>>());
            mine.first_row = rows.start as u64;
            let mut vmine = val.select_rows(&vrows.clone().collect::<Vec<_>>());
            vmine.first_row = vrows.start as u64;
            let validation = Some(ValidationRows::Shared { rows: &vmine, total: m });
            let params = Params { model: dense.clone(), training: training.clone() }
                .check(&DataShape::table(d))
                .unwrap();
            let fitted = if streamed {
                params.fit_streamed_sharded(&chunked, validation, 500, &mut NoObserver, Box::new(p))
            } else {
                params.fit_sharded(&mine, n, validation, &mut NoObserver, Box::new(p))
            };
            fitted.unwrap_err().to_string()
        })
        .results;
        for e in errors {
            assert!(
                e.contains("validation set") && e.contains("hold 650 rows together, but the data has 700"),
                "streamed {streamed}: {e}"
            );
        }
    }
}

/// Shares that do not follow each other, or do not add up to the rows, are refused on
/// every process with a message saying so.
#[test]
fn shares_that_do_not_tile_the_rows_are_refused() {
    use autoencoder::anomaly::ThresholdRule;
    use autoencoder::{DataShape, Params};

    let (n, d) = (100, 4);
    let data = Dataset::new(randn(n * d, 2, 1.0), n, d, "rows").unwrap();
    let model = ModelConfig { input_dim: d, layers: vec![3], ..ModelConfig::default() };
    let training = TrainConfig { epochs: 1, batch_size: 32, micro_batch: 8, ..TrainConfig::default() };
    // Each process's (first row, rows), the rows in all: the error wanted.
    type Case<'a> = (&'a [(usize, usize)], usize, &'a str);
    let cases: [Case<'_>; 3] = [
        (&[(0, 50), (60, 40)], n, "process 1 holds rows from row 60"),
        (&[(0, 50), (50, 40)], n, "hold 90 rows together, but the data has 100"),
        (&[(0, 100)], 120, "hold 100 rows together, but the data has 120"),
    ];
    for (shares, total, want) in cases {
        let errors = in_processes(shares.len(), |p| {
            let (first, rows) = shares[p.rank];
            let idx: Vec<usize> = (first..first + rows).collect();
            let mut mine = data.select_rows(&idx);
            mine.first_row = first as u64;
            let params = Params { model: model.clone(), training: training.clone() }
                .check(&DataShape::table(d))
                .unwrap()
                .threshold(ThresholdRule::Contamination(0.1));
            params.fit_sharded(&mine, total, None, &mut NoObserver, Box::new(p)).unwrap_err().to_string()
        })
        .results;
        for e in errors {
            assert!(e.contains(want), "{shares:?} of {total}: {e}");
        }
    }
}

/// Rows of another width on one process (a partition with a column less) are refused
/// on every process, naming it, before any exchange of rows is cut by the wrong width.
#[test]
fn rows_of_another_width_are_refused() {
    use autoencoder::{DataShape, Params};

    let widths = [4, 3];
    let errors = in_processes(2, |p| {
        let d = widths[p.rank];
        let mut mine = Dataset::new(randn(50 * d, 3, 1.0), 50, d, "rows").unwrap();
        mine.first_row = 50 * p.rank as u64;
        let model = ModelConfig { input_dim: d, layers: vec![2], ..ModelConfig::default() };
        let training = TrainConfig { epochs: 1, batch_size: 32, micro_batch: 8, ..TrainConfig::default() };
        let params = Params { model, training }.check(&DataShape::table(d)).unwrap();
        params.fit_sharded(&mine, 100, None, &mut NoObserver, Box::new(p)).unwrap_err().to_string()
    })
    .results;
    for e in errors {
        assert!(e.contains("process 1 holds rows of 3 values, but process 0's have 4"), "{e}");
    }
}

/// The model files of `processes` simulated processes streaming `data` together in
/// windows of `window` rows (each process `params` of its thread count: 1 or 2), each
/// streaming every row or, with `shard`, its share of every window; and the all-to-all
/// exchanges they made and the `f64` values their all-gathers gave each.
fn streamed_by_processes(
    params: &(dyn Fn(usize) -> autoencoder::ValidParams + Sync),
    data: &autoencoder::data::chunks::ChunkedRows,
    window: usize,
    processes: usize,
    shard: bool,
) -> (Vec<Vec<u8>>, usize, usize) {
    let ran = in_processes(processes, |p| {
        let params = params(1 + p.rank % 2);
        let fitted = if shard {
            params.fit_streamed_sharded(data, None, window, &mut NoObserver, Box::new(p))
        } else {
            params.fit_streamed_shared(data, None, window, &mut NoObserver, Some(Box::new(p)))
        };
        autoencoder::file::to_bytes(&fitted.unwrap().model).unwrap()
    });
    (ran.results, ran.exchanges, ran.gathered_f64)
}

/// Streamed training shared by processes gives, on every process, the bytes of one
/// process streaming alone, whether each process streams every row or only its share of
/// every window (`fit_streamed_sharded`, which also exchanges every step's rows): in
/// windows that hold every row, in windows of about a third of them, in windows smaller
/// than a batch (a batch spans two or three), with noise, with `trim` (both passes
/// shared) and with the standardized score's threshold, exchanging every step's
/// gradient; without micro-batches it is refused.
#[test]
fn streamed_rows_shared_by_processes_give_the_bytes_of_one() {
    use autoencoder::anomaly::{ScoreKind, ThresholdRule};
    use autoencoder::data::chunks::ChunkedRows;
    use autoencoder::data::open::LoadOptions;
    use autoencoder::{DataShape, Params};

    // Five NPY files of uneven size: five chunks, 3,000 rows of 6 values.
    let (n, d) = (3000, 6);
    let values: Vec<f32> =
        randn(n * d, 23, 1.0).iter().enumerate().map(|(i, v)| v * (1 + i % d) as f32 + 3.0).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut at = 0;
    for (f, rows) in [700, 300, 1100, 400, 500].into_iter().enumerate() {
        let path = dir.path().join(format!("part-{f}.npy"));
        autoencoder::data::npy::write(&path, &values[at * d..(at + rows) * d], rows, d).unwrap();
        at += rows;
    }
    let data = ChunkedRows::open(&[dir.path().to_path_buf()], &LoadOptions::default()).unwrap();
    assert_eq!((data.rows(), data.chunks()), (n as u64, 5));
    let (dense, training) = noisy_dense(d, 256, 32, 7);
    let standardized = ModelConfig { score: Some(ScoreKind::Standardized), ..dense.clone() };
    let bytes = |f: autoencoder::Fitted| autoencoder::file::to_bytes(&f.model).unwrap();
    // The shared passes' steps: 2 epochs of 10 batches (2,400 training rows), and with
    // `trim` 2 more of 7 (1,680 of the 2,100 rows a trim of 0.3 keeps).
    let trimmed = TrainConfig { trim: 0.3, ..training.clone() };
    for (what, model, t, window, steps) in [
        ("one window", &dense, training.clone(), n, 20),
        ("windows of 800 rows", &dense, training.clone(), 800, 20),
        ("windows of 150 rows", &dense, training.clone(), 150, 20),
        ("trimmed, windows of 800 rows", &dense, trimmed.clone(), 800, 34),
        ("standardized, trimmed", &standardized, trimmed, 1000, 34),
    ] {
        let params = |threads: usize| {
            Params { model: model.clone(), training: t.clone() }
                .check(&DataShape::table(d))
                .unwrap()
                .threads(Threads::new(threads))
                .threshold(ThresholdRule::Contamination(0.05))
        };
        let want = bytes(params(1).fit_streamed(&data, None, window, &mut NoObserver).unwrap());
        for (processes, shard) in [(2, false), (3, false), (2, true), (3, true)] {
            let (got, made, gathered) = streamed_by_processes(&params, &data, window, processes, shard);
            let how = if shard { "rows shared out" } else { "every row streamed" };
            for (rank, g) in got.iter().enumerate() {
                assert!(g == &want, "{what}: {processes} processes, {how}: process {rank}");
            }
            // At least one exchange of gradients a step, and shared out one of rows.
            let least = steps * (1 + shard as usize);
            assert!(made >= least, "{what}: {processes} processes, {how}: {made} exchanges in {steps} steps");
            // Shared out, the passes after training run across the processes: the
            // selections of `trim`'s rows and of the detector's threshold add their
            // counts (65,536 a pass), more values than rows, and with `trim` the mask
            // of kept rows is gathered; streaming every row, each process fits alone.
            assert_eq!(
                gathered >= n,
                shard,
                "{what}: {processes} processes, {how}: {gathered} values gathered"
            );
        }
    }
    // Each process would compute every batch whole: refused, naming the setting.
    let whole = Params { model: dense.clone(), training: TrainConfig { micro_batch: 0, ..training.clone() } }
        .check(&DataShape::table(d))
        .unwrap();
    let p = ThreadPeers::group(1).remove(0);
    let err = whole.fit_streamed_shared(&data, None, n, &mut NoObserver, Some(Box::new(p))).unwrap_err();
    assert!(err.to_string().contains("micro_batch"), "{err}");
}

/// Rows shared out while streamed, the normaliser's statistics come from each process's
/// whole blocks of 4,096 rows, read in chunks that do not align with them, and from the
/// rows of the blocks split between processes: with 20,000 rows in four files of uneven
/// size, and a min-max and a z-score normaliser, every process writes the bytes of one
/// process streaming alone.
#[test]
fn streamed_shares_fit_the_normaliser_of_one_process() {
    use autoencoder::data::chunks::ChunkedRows;
    use autoencoder::data::open::LoadOptions;
    use autoencoder::{DataShape, NormalizeKind, Params};

    let d = 3;
    let dir = tempfile::tempdir().unwrap();
    for (f, rows) in [5000, 7001, 3333, 4666].into_iter().enumerate() {
        let values: Vec<f32> = randn(rows * d, 40 + f as u64, 2.0).iter().map(|v| v + f as f32).collect();
        let path = dir.path().join(format!("part-{f}.npy"));
        autoencoder::data::npy::write(&path, &values, rows, d).unwrap();
    }
    let data = ChunkedRows::open(&[dir.path().to_path_buf()], &LoadOptions::default()).unwrap();
    assert_eq!(data.rows(), 20000);
    for normalize in [NormalizeKind::ZScore, NormalizeKind::MinMax] {
        let params = |threads: usize| {
            let model = ModelConfig { input_dim: d, layers: vec![2], normalize, ..ModelConfig::default() };
            let training = TrainConfig {
                epochs: 1,
                batch_size: 512,
                micro_batch: 64,
                validation_split: 0.1,
                ..TrainConfig::default()
            };
            Params { model, training }.check(&DataShape::table(d)).unwrap().threads(Threads::new(threads))
        };
        let one = params(1).fit_streamed(&data, None, 6000, &mut NoObserver).unwrap().model;
        let want = autoencoder::file::to_bytes(&one).unwrap();
        for processes in [2, 3] {
            let (got, _, _) = streamed_by_processes(&params, &data, 6000, processes, true);
            for (rank, g) in got.iter().enumerate() {
                assert!(g == &want, "{normalize:?}: {processes} processes: process {rank}");
            }
        }
    }
}

/// Processes holding rows of their own (3, none and 5) learn where theirs start among
/// all and how many there are: what a front passes `fit_sharded` for partitions.
#[test]
fn each_process_learns_where_its_rows_start() {
    let held = [3, 0, 5];
    let ran = in_processes(3, |mut p| {
        let mine = held[p.rank()];
        autoencoder::train::rows_among(&mut p, mine).unwrap()
    });
    assert_eq!(ran.results, [(0, 8), (3, 8), (3, 8)]);
}

/// A process that is not ready stops every process, and the others' error names it.
#[test]
fn a_process_not_ready_stops_them_all() {
    let ran = in_processes(3, |mut p| {
        let ready = p.rank() != 1;
        autoencoder::train::all_ready(&mut p, ready).map_err(|e| e.to_string())
    });
    for (rank, r) in ran.results.iter().enumerate() {
        let e = r.as_ref().unwrap_err();
        assert!(e.contains("process 1 could not start the fit"), "process {rank}: {e}");
    }
    let ran = in_processes(2, |mut p| autoencoder::train::all_ready(&mut p, true).is_ok());
    assert_eq!(ran.results, [true, true]);
}

/// Every process learns whether any process's flag is set, whichever it is.
#[test]
fn every_process_learns_whether_any_flag_is_set() {
    for set in [None, Some(0), Some(2)] {
        let ran = in_processes(3, |mut p| {
            let mine = Some(p.rank()) == set;
            autoencoder::train::any_of(&mut p, mine).unwrap()
        });
        assert_eq!(ran.results, [set.is_some(); 3], "flag set on {set:?}");
    }
}
