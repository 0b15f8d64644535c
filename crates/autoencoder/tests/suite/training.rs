//! Training end to end on generated data: learning happens, runs are reproducible,
//! stopping rules and divergence behave as documented, and models round-trip.

use autoencoder::data::synthetic;
use autoencoder::train::{loss_and_gradient, Control, EpochRecord, Observer, StopReason};
use autoencoder::{
    file, fit, Activation, Autoencoder, Dataset, EarlyStopping, Error, Loss, ModelConfig, NoObserver,
    NormalizeKind, OptimizerConfig, OptimizerKind, Threads, TrainConfig,
};

fn shapes(rows: usize) -> Dataset {
    synthetic::generate(rows, 7)
}

fn small_model(d: usize, seed: u64) -> Autoencoder {
    Autoencoder::new(ModelConfig { input_dim: d, layers: vec![32, 8], ..ModelConfig::default() }, seed)
        .unwrap()
}

#[test]
fn training_lowers_the_loss_and_beats_the_initial_model() {
    let data = shapes(600);
    let mut m = small_model(data.cols(), 0);
    let t = Threads::new(1);
    let before = m.evaluate(&data, &t).unwrap().mse;
    let cfg = TrainConfig { loss: Loss::Bce, epochs: 5, batch_size: 32, ..TrainConfig::default() };
    let h = fit(&mut m, &data, None, &cfg, &t, &mut NoObserver).unwrap();
    let losses: Vec<f64> = h.epochs.iter().map(|e| e.train_loss).collect();
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
    let after = m.evaluate(&data, &t).unwrap().mse;
    assert!(after < 0.6 * before, "mse {before} → {after}");
}

#[test]
fn same_seed_and_threads_give_bit_identical_models() {
    let data = shapes(300);
    for threads in [1, 2] {
        let t = Threads::new(threads);
        let run = |seed| {
            let mut m = small_model(data.cols(), seed);
            let cfg = TrainConfig {
                epochs: 2,
                batch_size: 50,
                validation_split: 0.2,
                seed,
                ..TrainConfig::default()
            };
            fit(&mut m, &data, None, &cfg, &t, &mut NoObserver).unwrap();
            file::to_bytes(&m).unwrap()
        };
        assert_eq!(run(3), run(3), "threads {threads}");
        assert_ne!(run(3), run(4));
    }
}

#[test]
fn one_and_two_threads_agree_closely() {
    let data = shapes(200);
    let cfg = TrainConfig { epochs: 1, batch_size: 40, ..TrainConfig::default() };
    let params = |n| {
        let mut m = small_model(data.cols(), 1);
        fit(&mut m, &data, None, &cfg, &Threads::new(n), &mut NoObserver).unwrap();
        m.params().to_vec()
    };
    let (a, b) = (params(1), params(2));
    let max = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(max < 1e-4, "{max}");
}

/// Validation loss rises after epoch 2 when we feed a validation set unlike the
/// training rows and a learning rate that overfits; early stopping then restores the
/// best epoch's weights.
#[test]
fn early_stopping_restores_the_best_weights() {
    let train = shapes(64);
    let val = synthetic::generate(64, 99);
    struct Keep(Vec<(usize, f64)>);
    impl Observer for Keep {
        fn on_epoch_end(&mut self, r: &EpochRecord) -> Control {
            self.0.push((r.epoch, r.val_loss.unwrap()));
            Control::Continue
        }
    }
    let mut m = Autoencoder::new(
        ModelConfig { input_dim: train.cols(), layers: vec![256, 64], ..ModelConfig::default() },
        0,
    )
    .unwrap();
    let mut opt = OptimizerConfig::new(OptimizerKind::Adam);
    opt.lr = 3e-3;
    let cfg = TrainConfig {
        loss: Loss::Bce,
        optimizer: opt,
        epochs: 200,
        batch_size: 8,
        early_stopping: Some(EarlyStopping { patience: 3, min_delta: 0.0, restore_best: true }),
        ..TrainConfig::default()
    };
    let mut keep = Keep(Vec::new());
    let h = fit(&mut m, &train, Some(&val), &cfg, &Threads::new(1), &mut keep).unwrap();
    assert_eq!(h.stop_reason, StopReason::EarlyStopping);
    let best = keep.0.iter().cloned().fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
    assert_eq!(h.weights_epoch, best.0);
    assert_eq!(h.epochs.len(), best.0 + 3);
    // The model now holds the best epoch's weights: its validation loss is the best one.
    let (now, _) = loss_and_gradient(&m, val.as_slice(), Loss::Bce, &Threads::new(1)).unwrap();
    assert!((now - best.1).abs() < 1e-6, "{now} vs {}", best.1);
}

#[test]
fn tolerance_stops_a_converged_run() {
    let data = shapes(100);
    let mut m = small_model(data.cols(), 0);
    let cfg = TrainConfig { epochs: 100, tolerance: Some(0.5), ..TrainConfig::default() };
    let h = fit(&mut m, &data, None, &cfg, &Threads::new(1), &mut NoObserver).unwrap();
    assert_eq!(h.stop_reason, StopReason::Converged);
    assert!(h.epochs.len() < 100);
}

#[test]
fn a_diverging_run_stops_with_advice_and_keeps_the_last_good_weights() {
    let data = shapes(200);
    let mut m = Autoencoder::new(
        ModelConfig {
            input_dim: data.cols(),
            layers: vec![64],
            activation: Activation::Linear,
            output_activation: Activation::Linear,
            ..ModelConfig::default()
        },
        0,
    )
    .unwrap();
    let mut opt = OptimizerConfig::new(OptimizerKind::Sgd);
    opt.lr = 1e4;
    let start = m.params().to_vec();
    let cfg = TrainConfig { optimizer: opt, epochs: 3, batch_size: 10, ..TrainConfig::default() };
    let e = fit(&mut m, &data, None, &cfg, &Threads::new(1), &mut NoObserver).unwrap_err();
    assert!(matches!(e, Error::Diverged { epoch: 1, .. }), "{e}");
    assert!(e.to_string().contains("lower learning rate"), "{e}");
    assert_eq!(m.params(), &start[..], "the weights of the last good epoch (here: the initial ones)");
}

/// A step that leaves non-finite weights as an epoch's last (here the only one) is
/// seen at the epoch's end, before any later pass computes on them: the run diverged,
/// and the weights are the last good ones.
#[test]
fn weights_made_non_finite_by_an_epochs_last_step_are_divergence() {
    let data = shapes(20);
    let mut m = small_model(data.cols(), 0);
    let mut opt = OptimizerConfig::new(OptimizerKind::Sgd);
    opt.lr = 1e300;
    let start = m.params().to_vec();
    let cfg = TrainConfig { optimizer: opt, epochs: 1, batch_size: 20, ..TrainConfig::default() };
    let e = fit(&mut m, &data, None, &cfg, &Threads::new(1), &mut NoObserver).unwrap_err();
    assert!(matches!(e, Error::Diverged { epoch: 1, batch: 1, .. }), "{e}");
    assert_eq!(m.params(), &start[..]);
}

/// An observer that cancels after `at` gradient steps (counting every step it sees).
struct CancelAfter {
    at: usize,
    steps: usize,
    epochs_ended: usize,
}

impl Observer for CancelAfter {
    fn on_batch_end(&mut self, _epoch: usize, _batch: usize, _loss: f64) {
        self.steps += 1;
    }
    fn on_epoch_end(&mut self, _r: &EpochRecord) -> Control {
        self.epochs_ended += 1;
        Control::Continue
    }
    fn cancelled(&mut self) -> bool {
        self.steps >= self.at
    }
}

#[test]
fn cancelling_stops_within_the_batch_and_keeps_the_last_checkpoint() {
    let data = shapes(200);
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let mut p = autoencoder::Params::for_data(&data);
    p.model.layers = vec![16];
    p.training.epochs = 5;
    p.training.batch_size = 20; // 10 steps per epoch
    let valid = p.check(&data.shape()).unwrap().threads(Threads::new(1)).checkpoint(&ckpt, 1);
    // Cancelled at the 13th step: epoch 2, batch 3; epoch 1's checkpoint stays.
    let mut obs = CancelAfter { at: 13, steps: 0, epochs_ended: 0 };
    let e = valid.fit_with(&data, None, &mut obs).unwrap_err();
    assert!(matches!(e, Error::Cancelled { epoch: 2, batch: 3 }), "{e}");
    assert_eq!(e.to_string(), "training was cancelled at epoch 2, batch 3");
    assert_eq!((obs.steps, obs.epochs_ended), (13, 1), "no step after the cancel");
    let kept = autoencoder::train::load_checkpoint(&ckpt).unwrap();
    assert_eq!(kept.resume.state.epochs_done, 1);
}

#[test]
fn bce_on_data_outside_the_unit_interval_is_refused_unless_normalised() {
    let rows = 50;
    let data = Dataset::new((0..rows * 4).map(|i| (i % 7) as f32).collect(), rows, 4, "wide.csv").unwrap();
    let cfg = TrainConfig { loss: Loss::Bce, epochs: 1, ..TrainConfig::default() };
    let mut m =
        Autoencoder::new(ModelConfig { input_dim: 4, layers: vec![2], ..ModelConfig::default() }, 0).unwrap();
    let e = fit(&mut m, &data, None, &cfg, &Threads::new(1), &mut NoObserver).unwrap_err().to_string();
    assert!(e.contains("wide.csv") && e.contains("[0, 1]") && e.contains("loss = mse"), "{e}");
    let mut m = Autoencoder::new(
        ModelConfig {
            input_dim: 4,
            layers: vec![2],
            normalize: NormalizeKind::MinMax,
            ..ModelConfig::default()
        },
        0,
    )
    .unwrap();
    fit(&mut m, &data, None, &cfg, &Threads::new(1), &mut NoObserver).unwrap();
    // Outputs come back in the data's units.
    let y = m.reconstruct(data.as_slice(), &Threads::new(1)).unwrap();
    assert!(y.iter().all(|&v| (-0.01..=6.01).contains(&v)));
}

#[test]
fn a_saved_model_reproduces_the_same_outputs() {
    let data = shapes(120);
    let mut m = small_model(data.cols(), 5);
    let t = Threads::new(1);
    fit(&mut m, &data, None, &TrainConfig { epochs: 1, ..TrainConfig::default() }, &t, &mut NoObserver)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.safetensors");
    file::save(&m, &p).unwrap();
    let back = file::load(&p).unwrap();
    assert_eq!(back.reconstruct(data.as_slice(), &t).unwrap(), m.reconstruct(data.as_slice(), &t).unwrap());
    assert_eq!(back.training, m.training);
    // Encode then decode equals reconstruct.
    let z = m.encode(data.as_slice(), &t).unwrap();
    assert_eq!(m.decode(&z, &t).unwrap(), m.reconstruct(data.as_slice(), &t).unwrap());
}

#[test]
fn a_clone_is_the_same_model_and_trains_on_its_own() {
    let data = shapes(200);
    let t = Threads::new(1);
    let cfg = TrainConfig { epochs: 1, batch_size: 50, ..TrainConfig::default() };
    let mut m = small_model(data.cols(), 1);
    fit(&mut m, &data, None, &cfg, &t, &mut NoObserver).unwrap();
    let bytes = file::to_bytes(&m).unwrap();
    let mut copy = m.clone();
    assert_eq!(file::to_bytes(&copy).unwrap(), bytes);
    assert_eq!(copy.encode(data.as_slice(), &t).unwrap(), m.encode(data.as_slice(), &t).unwrap());
    fit(&mut copy, &data, None, &cfg, &t, &mut NoObserver).unwrap();
    assert_ne!(file::to_bytes(&copy).unwrap(), bytes, "the copy trained");
    assert_eq!(file::to_bytes(&m).unwrap(), bytes, "the original did not change");
}

#[test]
fn data_of_another_width_is_refused() {
    let m = small_model(784, 0);
    let other = Dataset::new(vec![0.5; 30], 3, 10, "narrow.csv").unwrap();
    let e = m.check_data(&other).unwrap_err().to_string();
    assert!(e.contains("narrow.csv") && e.contains("10") && e.contains("784"), "{e}");
}

/// A run stopped after epoch 3 (as Ctrl-C does), saved to a checkpoint and resumed,
/// ends with the same model file, byte for byte, as the uninterrupted run — with
/// shuffling, validation and early stopping's memory in play, and with denoising's
/// input corruption (whose generator position the checkpoint keeps).
#[test]
fn a_resumed_run_ends_byte_identical_to_the_uninterrupted_one() {
    use autoencoder::train::Corruption;
    for noise in [
        None,
        Some(Corruption::Mask { fraction: 0.2 }),
        Some(Corruption::Gaussian { sigma: 0.3, clip: true }),
    ] {
        resumed_equals_whole(noise, small_model);
    }
    // A conv model with batch norm: its running statistics travel in the checkpoint too.
    resumed_equals_whole(None, |d, seed| {
        let cfg = ModelConfig {
            input_dim: d,
            arch: autoencoder::Arch::Conv,
            channels: vec![4, 8],
            batch_norm: true,
            layers: vec![8],
            image_shape: Some(autoencoder::ImageShape { channels: 1, height: 28, width: 28 }),
            ..ModelConfig::default()
        };
        Autoencoder::new(cfg, seed).unwrap()
    });
}

fn resumed_equals_whole(noise: Option<autoencoder::train::Corruption>, model: fn(usize, u64) -> Autoencoder) {
    use autoencoder::train::{fit_with, load_checkpoint, FitOptions};
    let data = shapes(400);
    let cfg = TrainConfig {
        noise,
        loss: Loss::Bce,
        epochs: 6,
        batch_size: 32,
        validation_split: 0.2,
        early_stopping: Some(EarlyStopping { patience: 10, min_delta: 0.0, restore_best: true }),
        lr_schedule: "plateau:1:0.5".parse().unwrap(),
        seed: 9,
        ..TrainConfig::default()
    };
    let t = Threads::new(1);
    let mut whole = model(data.cols(), 9);
    fit(&mut whole, &data, None, &cfg, &t, &mut NoObserver).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let mut first = model(data.cols(), 9);
    let options = FitOptions {
        checkpoint: Some(ckpt.clone()),
        checkpoint_every: 2,
        resume: None,
        ..FitOptions::default()
    };
    let h = fit_with(&mut first, &data, None, &cfg, &t, &mut Watch::stopping_at(1, 3), options).unwrap();
    assert_eq!((h.epochs.len(), h.stop_reason), (3, StopReason::Interrupted));

    let ck = load_checkpoint(&ckpt).unwrap();
    assert_eq!(ck.resume.state.epochs_done, 3);
    let mut resumed = ck.model;
    let config = ck.resume.state.config.clone();
    let options = FitOptions {
        checkpoint: Some(ckpt),
        checkpoint_every: 2,
        resume: Some(ck.resume),
        ..FitOptions::default()
    };
    let h = fit_with(&mut resumed, &data, None, &config, &t, &mut NoObserver, options).unwrap();
    assert_eq!(h.epochs.len(), 6);
    assert_eq!(file::to_bytes(&resumed).unwrap(), file::to_bytes(&whole).unwrap());
}

/// Denoising: the noise changes the training (same seed, other weights), the validation
/// loss is measured on clean inputs, and a model trained with masking noise repairs
/// masked inputs better than one trained without.
#[test]
fn denoising_training_repairs_corrupted_inputs() {
    use autoencoder::train::Corruption;
    let data = shapes(600);
    let test = shapes(200);
    let t = Threads::new(1);
    let base = TrainConfig { loss: Loss::Bce, epochs: 8, batch_size: 32, seed: 2, ..TrainConfig::default() };
    let noisy_cfg = TrainConfig { noise: Some(Corruption::Mask { fraction: 0.4 }), ..base.clone() };
    let mut plain = small_model(data.cols(), 2);
    fit(&mut plain, &data, None, &base, &t, &mut NoObserver).unwrap();
    let mut dae = small_model(data.cols(), 2);
    fit(&mut dae, &data, None, &noisy_cfg, &t, &mut NoObserver).unwrap();
    assert_ne!(plain.params(), dae.params());
    let mut masked = test.as_slice().to_vec();
    Corruption::Mask { fraction: 0.4 }
        .apply(&mut masked, &mut autoencoder::random::rng(77, autoencoder::random::Stream::Sample));
    let err = |m: &Autoencoder| {
        let y = m.reconstruct(&masked, &t).unwrap();
        autoencoder::metrics::reconstruction_metrics(test.as_slice(), &y, test.cols()).unwrap().mse
    };
    let (e_plain, e_dae) = (err(&plain), err(&dae));
    assert!(e_dae < e_plain, "denoising {e_dae} vs plain {e_plain}");
}

#[test]
fn the_schedule_sets_each_epochs_learning_rate() {
    let data = shapes(100);
    let mut m = small_model(data.cols(), 0);
    let cfg = TrainConfig { epochs: 5, lr_schedule: "cosine".parse().unwrap(), ..TrainConfig::default() };
    let h = fit(&mut m, &data, None, &cfg, &Threads::new(1), &mut NoObserver).unwrap();
    let lrs: Vec<f64> = h.epochs.iter().map(|e| e.lr).collect();
    // 1e-3 · (1 + cos(π·k/4))/2 for k = 0..4
    let want = [1e-3, 8.535_533_905_932_737e-4, 5e-4, 1.464_466_094_067_262_4e-4, 0.0];
    for (a, b) in lrs.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{lrs:?}");
    }
}

#[test]
fn absurd_epoch_counts_are_refused_not_allocated() {
    let data = shapes(10);
    let mut m = small_model(data.cols(), 0);
    let cfg = TrainConfig { epochs: 4_000_000_000_000, ..TrainConfig::default() };
    let e = fit(&mut m, &data, None, &cfg, &Threads::new(1), &mut NoObserver).unwrap_err().to_string();
    assert!(e.contains("epochs"), "{e}");
}

/// 300 shape images with every 20th row replaced by a white image (15 outliers).
fn shapes_with_noise_rows() -> (Dataset, Vec<usize>) {
    let data = shapes(300);
    let d = data.cols();
    let planted: Vec<usize> = (0..300).step_by(20).collect();
    let mut v = data.as_slice().to_vec();
    for &r in &planted {
        v[r * d..(r + 1) * d].fill(1.0);
    }
    (Dataset::new(v, 300, d, "shapes with white rows").unwrap(), planted)
}

fn trimming_config() -> TrainConfig {
    TrainConfig {
        epochs: 4,
        batch_size: 32,
        validation_split: 0.2,
        trim: 0.1,
        seed: 5,
        // Raises pass 1's 4 epochs (8 batches) to 5 and pass 2's (7 batches) to 6.
        min_steps: 40,
        ..TrainConfig::default()
    }
}

/// A test observer: keeps every pass's start, and stops at epoch `e` of pass `p` when
/// `stop` is `Some((p, e))`.
#[derive(Default)]
struct Watch {
    starts: Vec<autoencoder::train::TrainStart>,
    stop: Option<(usize, usize)>,
}

impl Watch {
    fn stopping_at(pass: usize, epoch: usize) -> Self {
        Watch { starts: Vec::new(), stop: Some((pass, epoch)) }
    }
}

impl Observer for Watch {
    fn on_train_start(&mut self, info: &autoencoder::train::TrainStart) {
        self.starts.push(info.clone());
    }
    fn on_epoch_end(&mut self, r: &EpochRecord) -> Control {
        let pass = self.starts.last().map_or(1, |s| s.pass.0);
        if self.stop == Some((pass, r.epoch)) {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// `min_steps` raises the epoch limit of a pass to `⌈min_steps / batches⌉` and the
/// patience in proportion; checkpoints and the summary keep the configuration asked for.
#[test]
fn min_steps_lengthens_the_passes_over_small_tables() {
    let cfg = TrainConfig {
        early_stopping: Some(EarlyStopping { patience: 2, ..Default::default() }),
        ..trimming_config()
    };
    let run = cfg.for_rows(216); // 7 batches of 32: ⌈40/7⌉ = 6 epochs, patience ⌊2·6/4⌋ = 3
    assert_eq!((run.epochs, run.early_stopping.unwrap().patience), (6, 3));
    let run = cfg.for_rows(1000); // 32 batches: 2 epochs would do, the limit of 4 stays
    assert_eq!((run.epochs, run.early_stopping.unwrap().patience), (4, 2));
    assert_eq!(TrainConfig { min_steps: 0, ..cfg.clone() }.for_rows(10), TrainConfig { min_steps: 0, ..cfg });

    let (data, _) = shapes_with_noise_rows();
    let mut watch = Watch::default();
    let mut m = small_model(data.cols(), 5);
    let h = fit(&mut m, &data, None, &trimming_config(), &Threads::new(1), &mut watch).unwrap();
    let limits: Vec<usize> = watch.starts.iter().map(|s| s.epochs).collect();
    assert_eq!(limits, vec![5, 6], "240 rows are 8 batches, 216 are 7");
    assert_eq!((h.epochs.len(), h.stop_reason), (6, StopReason::EpochLimit));
    let summary = m.training.as_ref().unwrap();
    assert_eq!(
        (summary.config["epochs"].as_u64(), summary.config["min_steps"].as_u64()),
        (Some(4), Some(40))
    );
}

/// `trim`: the second pass is exactly "train on every row, keep the rows that model
/// reconstructs best, train again from the same initial weights" done by hand; the
/// planted noise rows are the ones left out; the observer hears of both passes.
#[test]
fn trimming_refits_on_the_rows_the_first_pass_reconstructs_best() {
    let (data, planted) = shapes_with_noise_rows();
    let t = Threads::new(1);
    let cfg = trimming_config();
    let mut watch = Watch::default();
    let mut trimmed = small_model(data.cols(), 5);
    fit(&mut trimmed, &data, None, &cfg, &t, &mut watch).unwrap();
    // 300 rows: pass 1 trains on 240 and validates on 60; pass 2 keeps 270, 216 + 54.
    let passes: Vec<_> = watch.starts.iter().map(|s| (s.pass, s.train_rows)).collect();
    assert_eq!(passes, vec![((1, 2), 240), ((2, 2), 216)]);
    assert_eq!(trimmed.training.as_ref().unwrap().rows, (216, 54));

    let one_pass = TrainConfig { trim: 0.0, ..cfg };
    let mut first = small_model(data.cols(), 5);
    fit(&mut first, &data, None, &one_pass, &t, &mut NoObserver).unwrap();
    let kept = autoencoder::anomaly::lowest_scoring(&first, &data, 0.1, &t).unwrap();
    assert_eq!(kept.len(), 270);
    assert!(kept.windows(2).all(|w| w[0] < w[1]), "kept rows stay in their order");
    assert!(planted.iter().all(|r| !kept.contains(r)), "a white row was kept");
    let mut second = small_model(data.cols(), 5);
    fit(&mut second, &data.select_rows(&kept), None, &one_pass, &t, &mut NoObserver).unwrap();
    assert_eq!(trimmed.params(), second.params());
    assert_ne!(first.params(), second.params());
}

/// Interrupted in its second pass and resumed, a trimmed run repeats the first pass and
/// ends byte-identical to the uninterrupted run.
#[test]
fn a_resumed_trimmed_run_ends_byte_identical_to_the_uninterrupted_one() {
    use autoencoder::train::{fit_with, load_checkpoint, FitOptions};
    let (data, _) = shapes_with_noise_rows();
    let t = Threads::new(1);
    let cfg = trimming_config();
    let mut whole = small_model(data.cols(), 5);
    fit(&mut whole, &data, None, &cfg, &t, &mut NoObserver).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let mut first = small_model(data.cols(), 5);
    let options = FitOptions {
        checkpoint: Some(ckpt.clone()),
        checkpoint_every: 1,
        resume: None,
        ..FitOptions::default()
    };
    let h = fit_with(&mut first, &data, None, &cfg, &t, &mut Watch::stopping_at(2, 2), options).unwrap();
    assert_eq!((h.epochs.len(), h.stop_reason), (2, StopReason::Interrupted));
    let ck = load_checkpoint(&ckpt).unwrap();
    assert_eq!(ck.resume.state.config.trim, 0.1);
    let mut resumed = ck.model;
    let config = ck.resume.state.config.clone();
    let options = FitOptions {
        checkpoint: Some(ckpt),
        checkpoint_every: 1,
        resume: Some(ck.resume),
        ..FitOptions::default()
    };
    fit_with(&mut resumed, &data, None, &config, &t, &mut NoObserver, options).unwrap();
    assert_eq!(file::to_bytes(&resumed).unwrap(), file::to_bytes(&whole).unwrap());
}

#[test]
fn trim_and_score_settings_are_checked() {
    let data = shapes(50);
    let t = Threads::new(1);
    for trim in [-0.1, 0.95, f64::NAN] {
        let cfg = TrainConfig { trim, ..TrainConfig::default() };
        let e = fit(&mut small_model(data.cols(), 0), &data, None, &cfg, &t, &mut NoObserver).unwrap_err();
        assert!(e.to_string().contains("trim"), "{e}");
    }
    let cfg = TrainConfig { min_steps: 2_000_000, ..TrainConfig::default() };
    let e = fit(&mut small_model(data.cols(), 0), &data, None, &cfg, &t, &mut NoObserver).unwrap_err();
    assert!(e.to_string().contains("min_steps"), "{e}");
    let cfg = ModelConfig {
        input_dim: 4,
        score: Some(autoencoder::anomaly::ScoreKind::Elbo),
        ..ModelConfig::default()
    };
    let e = Autoencoder::new(cfg, 0).unwrap_err();
    assert!(e.to_string().contains("score") && e.to_string().contains("variational"), "{e}");
}

/// Stopped in its first pass, a trimmed run ends with the first pass's model (trained on
/// every row) and its history; there is no second pass.
#[test]
fn a_trimmed_run_stopped_in_its_first_pass_keeps_that_pass() {
    let (data, _) = shapes_with_noise_rows();
    let t = Threads::new(1);
    let mut obs = Watch::stopping_at(1, 2);
    let mut m = small_model(data.cols(), 5);
    let h = fit(&mut m, &data, None, &trimming_config(), &t, &mut obs).unwrap();
    assert_eq!((h.epochs.len(), h.stop_reason), (2, StopReason::Interrupted));
    assert_eq!(obs.starts.iter().map(|s| s.pass).collect::<Vec<_>>(), vec![(1, 2)]);
    assert_eq!(m.training.as_ref().unwrap().rows, (240, 60));
}
