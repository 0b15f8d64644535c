//! A training step allocates nothing once the first step has run: a counting global
//! allocator watches steps of the classic and the deep model, for every optimizer.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use autoencoder::data::synthetic;
use autoencoder::train::Trainer;
use autoencoder::{Autoencoder, Loss, ModelConfig, OptimizerConfig, OptimizerKind, Threads, TrainConfig};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn training_steps_after_the_first_allocate_nothing() {
    let data = synthetic::generate(600, 0);
    let threads = Threads::new(1);
    let order: Vec<usize> = (0..600).rev().collect();
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
        let mut trainer = Trainer::new(&model, &cfg, 128).unwrap();
        trainer.step(&mut model, &data, &order[..128], &threads);
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let mut loss = 0.0;
        for chunk in order[128..].chunks(128) {
            loss = trainer.step(&mut model, &data, chunk, &threads);
        }
        let during = ALLOCATIONS.load(Ordering::SeqCst) - before;
        assert!(loss.is_finite());
        assert_eq!(during, 0, "{layers:?} {kind:?}: {during} allocations in 4 steps");
    }
}
