//! An inference pass allocates no more than `Autoencoder::inference_bytes` besides the
//! rows it is given and the results it returns, however many rows: encode, reconstruct
//! and the anomaly scores (the ELBO's too) of a dense model with a normaliser, a conv
//! model with batch norm and a variational model, at 1, 2 and 3 threads, on enough rows
//! for several slices, measured with a counting allocator. (One test in this file: the
//! allocator counts every thread of the process.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use autoencoder::anomaly::{score_rows, ScoreKind};
use autoencoder::{
    fit, Activation, Arch, Autoencoder, Dataset, ImageShape, ModelConfig, NoObserver, NormalizeKind, Threads,
    TrainConfig,
};

/// Counts every allocation but private-gemm-x86's packing buffer: a thread's first
/// product reserves it, whatever the sizes, once for the thread's life (twice the L3
/// that the CPU reports, in 4,096-byte aligned pages, of which a product touches its
/// packed blocks), so that which pool thread multiplies first would decide the peak.
/// Nothing of ours asks for 4,096-byte alignment in an inference pass.
struct Counting;

const PAGES: usize = 4096;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && layout.align() < PAGES {
            let now = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        if layout.align() < PAGES {
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Beside the bound: the thread pool's and the checks' bookkeeping (none was seen).
const SLACK: usize = 64 << 10;

/// `rows × cols` values in `[0, 1]`, varied by row and column.
fn rows(rows: usize, cols: usize) -> Dataset {
    let x = (0..rows * cols).map(|i| ((i * 7919 + i / cols * 31) % 256) as f32 / 255.0).collect();
    Dataset::new(x, rows, cols, "rows").unwrap()
}

/// The bytes `pass` allocates beyond what it returns (`kept(&result)` bytes), at its peak.
fn extra<T>(pass: impl Fn() -> T, kept: impl Fn(&T) -> usize) -> usize {
    // The first run lets faer's kernels reserve their per-thread buffers, once.
    drop(pass());
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let result = pass();
    let peak = PEAK.load(Ordering::SeqCst) - before;
    peak.saturating_sub(kept(&result))
}

#[test]
fn an_inference_pass_allocates_at_most_its_bound() {
    let image = ImageShape { channels: 1, height: 16, width: 16 };
    let models = [
        (
            "dense, z-scored",
            ModelConfig {
                input_dim: 96,
                layers: vec![48, 8],
                normalize: NormalizeKind::ZScore,
                ..ModelConfig::default()
            },
            20_000,
        ),
        (
            "conv, batch norm",
            ModelConfig {
                input_dim: 256,
                arch: Arch::Conv,
                channels: vec![4],
                layers: vec![8],
                batch_norm: true,
                image_shape: Some(image),
                ..ModelConfig::default()
            },
            3_000,
        ),
        (
            "variational",
            ModelConfig {
                input_dim: 64,
                layers: vec![32, 4],
                variational: true,
                output_activation: Activation::Sigmoid,
                ..ModelConfig::default()
            },
            9_000,
        ),
    ];
    for (name, config, many) in models {
        let d = config.input_dim;
        let mut model = Autoencoder::new(config, 1).unwrap();
        let training = TrainConfig { epochs: 1, ..TrainConfig::default() };
        fit(&mut model, &rows(256, d), None, &training, &Threads::new(1), &mut NoObserver).unwrap();
        let f32s = |v: &Vec<f32>| v.capacity() * 4;
        // Fewer rows than a batch, and more than a slice.
        for (n, t) in [(300, 1), (300, 3), (many, 1), (many, 2), (many, 3)] {
            let data = rows(n, d);
            let threads = Threads::new(t);
            let bound = model.inference_bytes(n, &threads) as usize;
            let encode = extra(|| model.encode(data.as_slice(), &threads).unwrap(), f32s);
            let reconstruct = extra(|| model.reconstruct(data.as_slice(), &threads).unwrap(), f32s);
            let score = extra(
                || score_rows(&model, &data, None, &threads).unwrap(),
                |s| s.scores.capacity() * 8 + s.flags.as_ref().map_or(0, |(_, f)| f.capacity()),
            );
            let mut passes = vec![("encode", encode), ("reconstruct", reconstruct), ("score", score)];
            if model.config().variational {
                let elbo = extra(
                    || score_rows(&model, &data, Some(ScoreKind::Elbo), &threads).unwrap(),
                    |s| s.scores.capacity() * 8,
                );
                passes.push(("elbo score", elbo));
            }
            for (pass, bytes) in passes {
                println!("{name}, {n} rows, {t} threads, {pass}: {bytes} bytes of a bound of {bound}");
                assert!(
                    bytes <= bound + SLACK,
                    "{name}, {n} rows, {t} threads: {pass} allocated {bytes} bytes > {bound}"
                );
            }
        }
    }
}
