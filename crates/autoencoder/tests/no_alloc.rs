//! A training step allocates nothing once the first step has run: a counting global
//! allocator watches steps of the classic and the deep model, for every optimizer.
//! At one thread a step runs wholly on the calling thread, so only that thread's
//! allocations are counted (the test harness starting other tests' threads meanwhile
//! used to be counted too).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use autoencoder::data::synthetic;
use autoencoder::train::Trainer;
use autoencoder::{Autoencoder, Loss, ModelConfig, OptimizerConfig, OptimizerKind, Threads, TrainConfig};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the threads whose steps are being watched.
    static WATCHED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count() {
    if WATCHED.try_with(|w| w.get()).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Five steps over 600 synthetic images at one thread, batches of 128 (the last 88): the
/// last loss, and the allocations the four steps after the first made.
fn allocations_after_the_first_step(model: &mut Autoencoder, cfg: &TrainConfig) -> (f64, usize) {
    let data = synthetic::generate(600, 0);
    let threads = Threads::new(1);
    let order: Vec<usize> = (0..600).rev().collect();
    let mut trainer = Trainer::new(model, cfg, 128).unwrap();
    trainer.step(model, &data, &order[..128], &threads);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    WATCHED.with(|w| w.set(true));
    let mut loss = 0.0;
    for chunk in order[128..].chunks(128) {
        loss = trainer.step(model, &data, chunk, &threads);
    }
    WATCHED.with(|w| w.set(false));
    (loss, ALLOCATIONS.load(Ordering::SeqCst) - before)
}

/// The counter is global: the tests in this file take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn training_steps_after_the_first_allocate_nothing() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (layers, kind, clip, l2) in [
        (vec![64], OptimizerKind::Adam, None, 0.0),
        (vec![512, 256, 32], OptimizerKind::Adam, Some(1.0), 1e-4),
        (vec![64], OptimizerKind::Sgd, None, 0.0),
        (vec![64], OptimizerKind::RmsProp, None, 1e-4),
        (vec![64], OptimizerKind::AdamW, Some(0.5), 0.0),
    ] {
        let mut model = Autoencoder::new(
            ModelConfig { input_dim: 784, layers: layers.clone(), ..ModelConfig::default() },
            0,
        )
        .unwrap();
        let mut optimizer = OptimizerConfig::new(kind);
        optimizer.momentum = if kind == OptimizerKind::Sgd { 0.9 } else { 0.0 };
        let cfg = TrainConfig { loss: Loss::Bce, optimizer, clip_norm: clip, l2, ..TrainConfig::default() };
        let (loss, during) = allocations_after_the_first_step(&mut model, &cfg);
        assert!(loss.is_finite());
        assert_eq!(during, 0, "{layers:?} {kind:?}: {during} allocations in 4 steps");
    }
}

/// The same for every training option added on top: input noise, dynamic binarisation,
/// dropout, tied weights, a variational code (also trained on the importance-weighted
/// bound), and the code penalties.
#[test]
fn the_family_options_allocate_nothing_either() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use autoencoder::train::{Corruption, Sparsity};
    use autoencoder::Activation;
    let sigmoid_code = ModelConfig {
        input_dim: 784,
        layers: vec![32],
        code_activation: Some(Activation::Sigmoid),
        ..ModelConfig::default()
    };
    let deep = ModelConfig { input_dim: 784, layers: vec![128, 16], ..ModelConfig::default() };
    let base = TrainConfig { loss: Loss::Bce, ..TrainConfig::default() };
    let cases = [
        (
            "noise",
            deep.clone(),
            TrainConfig { noise: Some(Corruption::Gaussian { sigma: 0.3, clip: true }), ..base.clone() },
        ),
        (
            "binarize + dropout",
            ModelConfig { dropout: 0.2, ..deep.clone() },
            TrainConfig { binarize: true, ..base.clone() },
        ),
        (
            "tied",
            ModelConfig { tied: true, ..deep.clone() },
            TrainConfig { clip_norm: Some(1.0), l2: 1e-4, ..base.clone() },
        ),
        ("variational", ModelConfig { variational: true, ..deep.clone() }, base.clone()),
        (
            "importance-weighted",
            ModelConfig { variational: true, output_activation: Activation::Sigmoid, ..deep },
            TrainConfig { iw_train: 5, binarize: true, ..base.clone() },
        ),
        (
            "penalties",
            sigmoid_code,
            TrainConfig {
                code_l1: 1e-3,
                sparsity: Some(Sparsity { target: 0.05, weight: 0.5 }),
                contractive: 1e-3,
                ..base
            },
        ),
    ];
    for (name, model_cfg, cfg) in cases {
        let mut model = Autoencoder::new(model_cfg, 0).unwrap();
        let (loss, during) = allocations_after_the_first_step(&mut model, &cfg);
        assert!(loss.is_finite(), "{name}");
        assert_eq!(during, 0, "{name}: {during} allocations in 4 steps");
    }
}

/// Convolutional models: strided (also with batch norm and dropout) and pooled.
#[test]
fn conv_training_steps_allocate_nothing() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use autoencoder::{Arch, Downsample, ImageShape};
    let conv = ModelConfig {
        input_dim: 784,
        arch: Arch::Conv,
        channels: vec![8, 16],
        layers: vec![16],
        image_shape: Some(ImageShape { channels: 1, height: 28, width: 28 }),
        ..ModelConfig::default()
    };
    let base = TrainConfig { loss: Loss::Bce, ..TrainConfig::default() };
    for (name, model_cfg) in [
        ("strided", conv.clone()),
        ("batch norm + dropout", ModelConfig { batch_norm: true, dropout: 0.1, ..conv.clone() }),
        ("pooled", ModelConfig { downsample: Downsample::Pool, ..conv }),
    ] {
        let mut model = Autoencoder::new(model_cfg, 0).unwrap();
        let (loss, during) = allocations_after_the_first_step(&mut model, &base);
        assert!(loss.is_finite(), "{name}");
        assert_eq!(during, 0, "{name}: {during} allocations in 4 steps");
    }
}

/// On 2 and 4 threads, steps after the first allocate nothing on any thread: the
/// row-split step of dense models (blocks of rows gathered and run, then blocks of output
/// units, each block's parameters updated as their gradients come, or the update after
/// them when clipping), micro-batches taken by the threads (dense, conv with batch norm, and
/// with the code penalties, whose sparsity term first sums the micro-batches' codes), and
/// the whole-batch step of a conv model with batch norm and of the deep dense model (its
/// weights more than a batch's activations; every pass split inside it; products in
/// blocks of rows, or of columns or depth ranges for the few-row weight gradients and
/// the products wider than the batch, each a one-thread product that reuses its
/// thread's packing buffer, the depth ranges' partials in a buffer kept by the calling
/// thread). The steps run inside the pool with the other workers kept awake (polling
/// for blocks), as `fit` runs them.
#[test]
fn steps_on_several_threads_allocate_nothing() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data = synthetic::generate(600, 0);
    let order: Vec<usize> = (0..600).rev().collect();
    for count in [2, 4] {
        let threads = Threads::new(count);
        let conv = ModelConfig {
            input_dim: 784,
            arch: autoencoder::Arch::Conv,
            channels: vec![8, 16],
            layers: vec![16],
            batch_norm: true,
            image_shape: Some(autoencoder::ImageShape { channels: 1, height: 28, width: 28 }),
            ..ModelConfig::default()
        };
        let dense = |layers: Vec<usize>, dropout| ModelConfig {
            input_dim: 784,
            layers,
            dropout,
            ..ModelConfig::default()
        };
        // Clipping updates after the units' pass; without it the units' pass updates as
        // it goes; with micro-batches the threads take them, a workspace each.
        let clipped = TrainConfig { loss: Loss::Bce, clip_norm: Some(1.0), ..TrainConfig::default() };
        let fused = TrainConfig { clip_norm: None, ..clipped.clone() };
        let micro = TrainConfig { micro_batch: 32, ..fused.clone() };
        // Micro-batches with batch norm's sums, and with the code penalties (the
        // sparsity penalty's code sums first).
        let sparse = TrainConfig {
            sparsity: Some(autoencoder::train::Sparsity { target: 0.05, weight: 1.0 }),
            code_l1: 0.01,
            ..micro.clone()
        };
        let sigmoid_code =
            ModelConfig { code_activation: Some(autoencoder::Activation::Sigmoid), ..dense(vec![64], 0.0) };
        for (config, cfg) in [
            (conv.clone(), &micro),
            (sigmoid_code, &sparse),
            (dense(vec![64], 0.0), &clipped),
            (dense(vec![64], 0.0), &fused),
            (dense(vec![64], 0.0), &micro),
            (dense(vec![512, 256, 32], 0.2), &clipped),
            (dense(vec![512, 256, 32], 0.2), &fused),
            (dense(vec![512, 256, 32], 0.2), &micro),
            (conv, &clipped),
        ] {
            let layers = (config.arch, config.layers.clone(), cfg.clip_norm, cfg.micro_batch);
            let mut model = Autoencoder::new(config, 0).unwrap();
            let mut trainer = Trainer::new(&model, cfg, 128).unwrap();
            // Every thread of the pool is watched, and no other (the test harness's
            // threads, which report other tests, used to be counted too).
            threads.on_every_thread(|| WATCHED.with(|w| w.set(true)));
            let (during, loss) = threads.install(|| {
                let _awake = threads.keep_awake();
                trainer.step(&mut model, &data, &order[..128], &threads);
                let before = ALLOCATIONS.load(Ordering::SeqCst);
                let mut loss = 0.0;
                for chunk in order[128..].chunks(128) {
                    loss = trainer.step(&mut model, &data, chunk, &threads);
                }
                (ALLOCATIONS.load(Ordering::SeqCst) - before, loss)
            });
            threads.on_every_thread(|| WATCHED.with(|w| w.set(false)));
            assert!(loss.is_finite());
            assert_eq!(during, 0, "{layers:?} on {count} threads: {during} allocations in 4 steps");
        }
    }
}
