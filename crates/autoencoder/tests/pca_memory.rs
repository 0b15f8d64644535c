//! The randomised PCA baseline never builds a `d × d` matrix: its peak allocation on a
//! 20 × 5,000 matrix, measured with a counting allocator, stays within
//! `Pca::baseline_plan`'s bound, linear in `d` (one block of rows and a few `d × (k + p)`
//! matrices), under 2.5 % of the 200 MB a `d × d` covariance in f64 would take. (One
//! test in this file: the allocator counts every thread of the process.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use autoencoder::pca::{Baseline, Method, Pca};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(now, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn randomized_baseline_peak_memory_is_linear_in_d() {
    let (n, d, k) = (20usize, 5000usize, 4usize);
    // Three planted factors plus a little deterministic noise.
    let x: Vec<f32> = (0..n * d)
        .map(|i| {
            let (r, c) = (i / d, i % d);
            let f = |a: usize| ((c * (a + 3) + a) % 17) as f32 / 17.0 - 0.5;
            (r as f32 * 0.3).sin() * f(0)
                + (r as f32 * 0.7).cos() * f(1)
                + (r % 3) as f32 * f(2)
                + ((i * 2654435761) % 1000) as f32 * 1e-6
        })
        .collect();
    let plan = Pca::baseline_plan(n, d, k, 1);
    assert!(matches!(plan.method, Method::Randomized(_)), "{plan:?}");
    // A first fit lets faer's matrix kernels reserve their per-thread packing buffer
    // (private-gemm-x86 reserves 600 MiB of address space per thread on first use,
    // whatever the sizes, and touches little of it); the second is measured.
    Pca::fit_baseline(&x, n, d, k, 1).unwrap();
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let fitted = Pca::fit_baseline(&x, n, d, k, 1).unwrap();
    let peak = (PEAK.load(Ordering::SeqCst) - before) as u64;
    let Baseline::Fitted { pca, method } = fitted else { panic!("skipped") };
    assert!(matches!(method, Method::Randomized(_)));
    assert_eq!(pca.components().len(), k * d);
    // The plan's working set, plus the mean and the result (k + 1 rows of d f64), plus a
    // little for faer's scratch.
    let result = 8 * (k as u64 + 2) * d as u64;
    let covariance = 8 * (d * d) as u64;
    println!("peak {peak} bytes; plan {} bytes; a covariance would take {covariance}", plan.bytes);
    assert!(peak <= plan.bytes + result + (1 << 20), "peak {peak} > plan {} + {result}", plan.bytes);
    assert!(peak * 40 < covariance, "peak {peak}");
}
