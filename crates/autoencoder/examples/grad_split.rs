//! A dense layer's weight gradient `∂W = δᵀ·X` (model A's first layer by default: 64
//! units × 784 inputs over a batch of 128 rows) on two threads, split by units as the
//! row-split step's units' pass does (each thread half the units × every input: each
//! packs all of `X`, half of it written by the other core) against split by inputs (each
//! thread every unit × its inputs, at the middle and at the tile boundary of faer's
//! AVX-512 kernel nearest it: each packs only its columns of `X`). Each round the two
//! threads first write their own 64 rows of `X` and `δ`, as the rows' pass does; the time
//! is the slower thread's product (medians of rounds), beside the whole product on one
//! thread. Measured for the results of 2026-12-07 (the split by inputs gained in the
//! product but not in the step, and is not in the library).
//! `cargo run --release -p autoencoder --example grad_split [UNITS INPUTS]`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use autoencoder::kernels::matmul_transposed_rows;
use autoencoder::Threads;

const ROWS: usize = 128;
const ROUNDS: usize = 4000;

struct Buf(*mut f32);
// SAFETY: each task touches its own rows (writing) or only reads (the product), the
// passes separated by the pool's join.
unsafe impl Send for Buf {}
unsafe impl Sync for Buf {}

impl Buf {
    fn at(&self, i: usize) -> *mut f32 {
        self.0.wrapping_add(i)
    }
}

/// The values of round `round`: `x` and `d` as the rows' pass would leave them.
fn fill(x: &mut [f32], d: &mut [f32], round: usize) {
    let v = (round % 7) as f32 * 0.01;
    for (i, e) in x.iter_mut().enumerate() {
        *e = v + (i % 13) as f32 * 0.1;
    }
    for (i, e) in d.iter_mut().enumerate() {
        *e = v - (i % 5) as f32 * 0.2;
    }
}

/// The median and quartiles of `t` (nanoseconds), in µs.
fn quartiles(mut t: Vec<u64>) -> [f64; 3] {
    t.sort_unstable();
    [t.len() / 2, t.len() / 4, 3 * t.len() / 4].map(|i| t[i] as f64 / 1e3)
}

/// `C[:, cols] = Aᵀ·B[:, cols]` on this thread, `A` k×m, `B` k×n, `C` m×n, all row-major.
fn columns(c: *mut f32, cols: std::ops::Range<usize>, a: &[f32], b: &[f32], (m, n): (usize, usize)) {
    let k = ROWS;
    let w = cols.len();
    // SAFETY: in bounds of the buffers (k×m, k×n, m×n); C's columns are this task's.
    unsafe {
        let a = faer::MatRef::<f32>::from_raw_parts(a.as_ptr(), m, k, 1, m as isize);
        let b = faer::MatRef::<f32>::from_raw_parts(b.as_ptr().add(cols.start), k, w, n as isize, 1);
        let c = faer::MatMut::<f32>::from_raw_parts_mut(c.add(cols.start), m, w, n as isize, 1);
        faer::linalg::matmul::matmul(c, faer::Accum::Replace, a, b, 1.0f32, faer::Par::Seq);
    }
}

fn main() {
    let args: Vec<usize> =
        std::env::args().skip(1).map(|a| a.parse().expect("UNITS and INPUTS are whole numbers")).collect();
    let (units, inputs) = (args.first().copied().unwrap_or(64), args.get(1).copied().unwrap_or(784));
    let near = |c: usize| ((c as f64 / 96.0).round() as usize * 96).clamp(96, inputs - 1);
    let half = units / 2;
    let threads = Threads::new(2);
    let mut x = vec![0f32; ROWS * inputs];
    let mut d = vec![0f32; ROWS * units];
    let mut g = vec![0f32; units * inputs];
    let (xs, ds, gs) = (Buf(x.as_mut_ptr()), Buf(d.as_mut_ptr()), Buf(g.as_mut_ptr()));
    let modes: Vec<(String, usize)> = vec![
        (format!("units {half}/{}", units - half), 0),
        (format!("inputs at {}", inputs / 2), inputs / 2),
        (format!("inputs at {} (tile)", near(inputs / 2)), near(inputs / 2)),
    ];
    let mut times: Vec<Vec<u64>> = vec![Vec::new(); modes.len()];
    threads.install(|| {
        let _awake = threads.keep_awake();
        for round in 0..ROUNDS {
            for (mi, &(_, cut)) in modes.iter().enumerate() {
                threads.for_each_index(2, |b| {
                    // SAFETY: rows b*64..(b+1)*64 of X and δ are this task's.
                    let (xb, db) = unsafe {
                        (
                            std::slice::from_raw_parts_mut(xs.at(b * 64 * inputs), 64 * inputs),
                            std::slice::from_raw_parts_mut(ds.at(b * 64 * units), 64 * units),
                        )
                    };
                    fill(xb, db, round);
                });
                let spent = [AtomicU64::new(0), AtomicU64::new(0)];
                threads.for_each_index(2, |b| {
                    // SAFETY: X and δ are only read in this pass; each task writes its own part of C.
                    let (xr, dr) = unsafe {
                        (
                            std::slice::from_raw_parts(xs.at(0), ROWS * inputs),
                            std::slice::from_raw_parts(ds.at(0), ROWS * units),
                        )
                    };
                    let t = Instant::now();
                    if cut == 0 {
                        let mine = if b == 0 { 0..half } else { half..units };
                        // SAFETY: this task's units' rows of C.
                        let c = unsafe {
                            std::slice::from_raw_parts_mut(gs.at(mine.start * inputs), mine.len() * inputs)
                        };
                        matmul_transposed_rows(c, mine, units, inputs, ROWS, dr, xr, false);
                    } else {
                        let cols = if b == 0 { 0..cut } else { cut..inputs };
                        columns(gs.at(0), cols, dr, xr, (units, inputs));
                    }
                    spent[b].store(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                });
                if round >= ROUNDS / 10 {
                    times[mi].push(spent.iter().map(|s| s.load(Ordering::Relaxed)).max().unwrap());
                }
            }
        }
    });
    for ((name, _), t) in modes.iter().zip(times) {
        let [median, p25, p75] = quartiles(t);
        println!("{units}x{inputs} {name:24} slower thread's product: median {median:.1} µs, p25 {p25:.1}, p75 {p75:.1}");
    }
    // One thread, the whole product, for reference (data written on this thread).
    let mut t1 = Vec::new();
    for round in 0..ROUNDS {
        fill(&mut x, &mut d, round);
        let t = Instant::now();
        matmul_transposed_rows(&mut g, 0..units, units, inputs, ROWS, &d, &x, false);
        if round >= ROUNDS / 10 {
            t1.push(t.elapsed().as_nanos() as u64);
        }
    }
    println!("one thread, whole product: median {:.1} µs", quartiles(t1)[0]);
}
