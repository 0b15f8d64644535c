//! How long a pass of two blocks takes on a 2-thread pool, with the other worker asleep
//! (after a gap of idleness) or kept awake by `Threads::keep_awake`, and how often the
//! other worker, not the caller, ran the second block:
//! `cargo run --release -p autoencoder --example join_latency`.

use autoencoder::kernels::Threads;
use std::time::Instant;
/// Busy for `us` microseconds.
fn spin(us: u128) {
    let s = Instant::now();
    while s.elapsed().as_nanos() < us * 1000 {
        std::hint::spin_loop();
    }
}
fn main() {
    let th = Threads::new(2);
    for round in 0..3 {
        for (work, gap, awake) in [
            (20u128, 0u128, false),
            (20, 50, false),
            (20, 500, false),
            (100, 100, false),
            (20, 0, true),
            (20, 50, true),
            (20, 500, true),
            (100, 100, true),
        ] {
            let mut tot = 0.0;
            let mut stolen = 0usize;
            th.install(|| {
                let _g = awake.then(|| th.keep_awake());
                for _ in 0..2000 {
                    let s = Instant::now();
                    let me = std::thread::current().id();
                    let other = std::sync::atomic::AtomicBool::new(false);
                    th.for_each_index(2, |i| {
                        if i == 1 && std::thread::current().id() != me {
                            other.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        spin(work);
                    });
                    tot += s.elapsed().as_secs_f64();
                    if other.load(std::sync::atomic::Ordering::Relaxed) {
                        stolen += 1;
                    }
                    spin(gap);
                }
            });
            println!("round {round} awake {awake} work {work}us gap {gap}us: join {:.1} us (ideal {work}), other thread ran block 1 in {:.0}%", tot / 2000.0 * 1e6, stolen as f64 / 20.0);
        }
    }
}
