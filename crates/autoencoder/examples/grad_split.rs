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

use std::sync::Mutex;
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
    let times: Vec<Mutex<Vec<u64>>> = (0..modes.len()).map(|_| Mutex::new(Vec::new())).collect();
    threads.install(|| {
        let _awake = threads.keep_awake();
        for round in 0..ROUNDS {
            for (mi, &(_, cut)) in modes.iter().enumerate() {
                let v = (round % 7) as f32 * 0.01;
                threads.for_each_index(2, |b| {
                    // SAFETY: rows b*64..(b+1)*64 of X and δ₁ are this task's.
                    let (xb, db) = unsafe {
                        (
                            std::slice::from_raw_parts_mut(xs.at(b * 64 * inputs), 64 * inputs),
                            std::slice::from_raw_parts_mut(ds.at(b * 64 * units), 64 * units),
                        )
                    };
                    for (i, e) in xb.iter_mut().enumerate() {
                        *e = v + (i % 13) as f32 * 0.1;
                    }
                    for (i, e) in db.iter_mut().enumerate() {
                        *e = v - (i % 5) as f32 * 0.2;
                    }
                });
                let spent: Vec<Mutex<u64>> = (0..2).map(|_| Mutex::new(0)).collect();
                threads.for_each_index(2, |b| {
                    // SAFETY: X and δ₁ are only read in this pass; each task writes its own part of C.
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
                    *spent[b].lock().unwrap() = t.elapsed().as_nanos() as u64;
                });
                let slow = spent.iter().map(|s| *s.lock().unwrap()).max().unwrap();
                if round >= ROUNDS / 10 {
                    times[mi].lock().unwrap().push(slow);
                }
            }
        }
    });
    for ((name, _), t) in modes.iter().zip(&times) {
        let mut t = t.lock().unwrap().clone();
        t.sort_unstable();
        println!(
            "{units}x{inputs} {name:24} slower thread's product: median {:.1} µs, p25 {:.1}, p75 {:.1}",
            t[t.len() / 2] as f64 / 1e3,
            t[t.len() / 4] as f64 / 1e3,
            t[3 * t.len() / 4] as f64 / 1e3
        );
    }
    // One thread, the whole product, for reference (data written on this thread).
    let mut t1 = Vec::new();
    for round in 0..ROUNDS {
        let v = (round % 7) as f32 * 0.01;
        for (i, e) in x.iter_mut().enumerate() {
            *e = v + (i % 13) as f32 * 0.1;
        }
        for (i, e) in d.iter_mut().enumerate() {
            *e = v - (i % 5) as f32 * 0.2;
        }
        let t = Instant::now();
        matmul_transposed_rows(&mut g, 0..units, units, inputs, ROWS, &d, &x, false);
        if round >= ROUNDS / 10 {
            t1.push(t.elapsed().as_nanos() as u64);
        }
    }
    t1.sort_unstable();
    println!("one thread, whole product: median {:.1} µs", t1[t1.len() / 2] as f64 / 1e3);
}
