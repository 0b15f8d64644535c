//! How long one core takes to read 400 KB (a value a cache line) that another core has
//! just written, against reading what it wrote itself: the cost of the data a split
//! training step hands between its threads (the row-split step's `δ` and inputs, and
//! the weights each thread's block of units updates; about 400 KB each way a step for
//! model A). `cargo run --release -p autoencoder --example cross_core`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// 400 KB of f32.
const VALUES: usize = 100_000;
/// One value a 64-byte line.
const STRIDE: usize = 16;
const REPS: usize = 4000;

/// The buffer both threads use, taking turns (`turn`: even, the writer's; odd, the reader's).
struct Shared(*mut f32);
// SAFETY: the two threads take turns through `turn` (acquire/release); only one touches
// the buffer at a time.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn main() {
    let buf: &'static mut [f32] = Box::leak(vec![0f32; VALUES].into_boxed_slice());
    let at = Arc::new(Shared(buf.as_mut_ptr()));
    for round in 0..3 {
        for other in [false, true] {
            let turn = Arc::new(AtomicUsize::new(0));
            let (at2, turn2) = (Arc::clone(&at), Arc::clone(&turn));
            let reader = std::thread::spawn(move || {
                let (mut ns, mut sum) = (0u128, 0f32);
                for r in 0..REPS {
                    while turn2.load(Ordering::Acquire) != 2 * r + 1 {
                        std::hint::spin_loop();
                    }
                    if other {
                        let t = Instant::now();
                        // SAFETY: the reader's turn.
                        let b = unsafe { std::slice::from_raw_parts(at2.0, VALUES) };
                        sum += b.iter().step_by(STRIDE).sum::<f32>();
                        ns += t.elapsed().as_nanos();
                    }
                    turn2.store(2 * r + 2, Ordering::Release);
                }
                (ns, sum)
            });
            let (mut ns, mut sum) = (0u128, 0f32);
            for r in 0..REPS {
                while turn.load(Ordering::Acquire) != 2 * r {
                    std::hint::spin_loop();
                }
                // SAFETY: the writer's turn.
                let b = unsafe { std::slice::from_raw_parts_mut(at.0, VALUES) };
                for (i, v) in b.iter_mut().enumerate().step_by(STRIDE) {
                    *v = (r + i) as f32;
                }
                if !other {
                    let t = Instant::now();
                    sum += b.iter().step_by(STRIDE).sum::<f32>();
                    ns += t.elapsed().as_nanos();
                }
                turn.store(2 * r + 1, Ordering::Release);
            }
            let (their_ns, their_sum) = reader.join().expect("the reader");
            let (ns, sum) = if other { (their_ns, their_sum) } else { (ns, sum) };
            let who = if other { "the other core" } else { "this core" };
            println!(
                "round {round}: 400 KB written by {who}, read in {:.1} µs (checksum {sum})",
                ns as f64 / REPS as f64 / 1000.0
            );
        }
    }
}
