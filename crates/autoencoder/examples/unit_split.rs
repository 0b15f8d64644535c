//! Model A's step (784 → 64 → 784, batch 128, ReLU, sigmoid outputs with BCE, Adam)
//! split by units rather than by rows: the alternative to the row-split step
//! (`train::row_split`) that this measures, and that was not taken
//! (bench/results-threads-2026-12-07.md).
//!
//! Each of two parts owns half the code layer's units (32 of 64) and about half the
//! outputs (384 and 400: whole tiles of faer's kernel), gathers every row of the batch
//! itself and computes its share of every product. Between the cores cross only the
//! code layer's values and the other part's partial `δ₁` (16 KB each a step), where the
//! row split hands over about 500 KB (each block's `δ` and inputs, and the weights the
//! other block updated). `δ₁ = δ₂·W₂` is summed as two fixed halves of the outputs, so
//! one and two threads give the same bits (checked below), but not the whole-batch
//! step's (faer sums a product's depth in chunks of 512).
//!
//! `cargo run --release -p autoencoder --example unit_split` times the whole step at one
//! thread, the split step at one thread and at two, interleaved, on random bytes.

use std::time::Instant;

use autoencoder::kernels::elementwise::{bce_with_logits, bias_activation, bytes_to_values, column_sums_of};
use autoencoder::kernels::update::{adam, GradTransform, WeightStore};
use autoencoder::kernels::Threads;
use autoencoder::Activation;
use faer::{Accum, MatMut, MatRef, Par};

/// Inputs (and outputs), code units, rows a batch, rows of the data set.
const D: usize = 784;
const H: usize = 64;
const N: usize = 128;
const ROWS: usize = 54_000;
/// Where the outputs are cut into the two parts' halves (4 tiles of 96).
const CUT: usize = 384;
const WARM: usize = 50;
const STEPS: usize = 400;
const ROUNDS: usize = 7;

/// A buffer the parts share. Between two joins, each part writes only its own units'
/// or outputs' values and reads only what no part writes in that pass.
struct Buf(*mut f32, usize);
// SAFETY: see the type's comment: no value is written by one part while another part
// reads or writes it, and the joins order the passes.
unsafe impl Sync for Buf {}
unsafe impl Send for Buf {}

impl Buf {
    fn of(v: &mut [f32]) -> Buf {
        Buf(v.as_mut_ptr(), v.len())
    }
    /// `r × c` values from `at`, at strides `rs`, `cs` (inside the buffer: asserted).
    fn view(&self, at: usize, r: usize, c: usize, rs: usize, cs: usize) -> MatRef<'_, f32> {
        assert!(at + (r - 1) * rs + (c - 1) * cs < self.1);
        // SAFETY: inside the buffer (above); see `Buf`.
        unsafe { MatRef::from_raw_parts(self.0.add(at), r, c, rs as isize, cs as isize) }
    }
    #[allow(clippy::mut_from_ref)]
    fn view_mut(&self, at: usize, r: usize, c: usize, rs: usize) -> MatMut<'_, f32> {
        assert!(at + (r - 1) * rs + c <= self.1);
        // SAFETY: inside the buffer (above); see `Buf`.
        unsafe { MatMut::from_raw_parts_mut(self.0.add(at), r, c, rs as isize, 1) }
    }
    #[allow(clippy::mut_from_ref)]
    fn slice(&self, r: std::ops::Range<usize>) -> &mut [f32] {
        assert!(r.end <= self.1);
        // SAFETY: inside the buffer (above); see `Buf`.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(r.start), r.len()) }
    }
}

fn product(c: MatMut<'_, f32>, a: MatRef<'_, f32>, b: MatRef<'_, f32>) {
    faer::linalg::matmul::matmul(c, Accum::Replace, a, b, 1.0f32, Par::Seq);
}

/// A parameter tensor with its gradient and Adam's moments.
struct Tensor {
    w: Vec<f32>,
    g: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Tensor {
    fn new(w: Vec<f32>) -> Tensor {
        let n = w.len();
        Tensor { w, g: vec![0.0; n], m: vec![0.0; n], v: vec![0.0; n] }
    }
}

/// The shared views of a tensor.
struct Param {
    w: Buf,
    g: Buf,
    m: Buf,
    v: Buf,
}

impl Param {
    fn of(t: &mut Tensor) -> Param {
        Param { w: Buf::of(&mut t.w), g: Buf::of(&mut t.g), m: Buf::of(&mut t.m), v: Buf::of(&mut t.v) }
    }
    /// Adam (Keras' form, lr 0.001) on values `r` at step `t`.
    fn update(&self, r: std::ops::Range<usize>, t: i32) {
        let alpha = 1e-3 * (1.0 - 0.999f32.powi(t)).sqrt() / (1.0 - 0.9f32.powi(t));
        let (w, g, m, v) =
            (self.w.slice(r.clone()), self.g.slice(r.clone()), self.m.slice(r.clone()), self.v.slice(r));
        adam(w, g, m, v, alpha, 0.9, 0.999, 1e-7, 0.0, GradTransform::IDENTITY, true, WeightStore::Cached);
    }
}

/// `steps` steps on `threads` in `parts` parts; returns the mean µs a timed step and the
/// decoder's weights at the end.
fn train(threads: &Threads, parts: usize, data: &[u8], order: &[usize]) -> (f64, Vec<f32>) {
    let mut state = 999u64;
    let mut init =
        |n: usize| Tensor::new((0..n).map(|_| (xorshift(&mut state) % 2000) as f32 * 5e-5 - 0.05).collect());
    let (mut w1, mut b1, mut w2, mut b2) =
        (init(H * D), Tensor::new(vec![0.0; H]), init(D * H), Tensor::new(vec![0.0; D]));
    let (mut h1, mut d1, mut z2, mut d2) =
        (vec![0.0; N * H], vec![0.0; N * H], vec![0.0; N * D], vec![0.0; N * D]);
    let mut xs: Vec<Vec<f32>> = (0..parts).map(|_| vec![0.0; N * D]).collect();
    let mut partials: Vec<Vec<f32>> = (0..parts).map(|_| vec![0.0; N * H]).collect();
    let (pw1, pb1, pw2, pb2) =
        (Param::of(&mut w1), Param::of(&mut b1), Param::of(&mut w2), Param::of(&mut b2));
    let (h1, d1, z2, d2) = (Buf::of(&mut h1), Buf::of(&mut d1), Buf::of(&mut z2), Buf::of(&mut d2));
    let xs: Vec<Buf> = xs.iter_mut().map(|x| Buf::of(x)).collect();
    let ps: Vec<Buf> = partials.iter_mut().map(|p| Buf::of(p)).collect();
    let one = Threads::new(1);
    let units = |p: usize| (p * H / parts)..((p + 1) * H / parts);
    let outs = |p: usize| match (parts, p) {
        (1, _) => 0..D,
        (_, 0) => 0..CUT,
        _ => CUT..D,
    };
    let took = threads.install(|| {
        let _awake = threads.keep_awake();
        let mut start = Instant::now();
        for step in 0..WARM + STEPS {
            if step == WARM {
                start = Instant::now();
            }
            let rows = &order[(step * N) % (ROWS - N)..][..N];
            let t = step as i32;
            // The last step's code layer (its units' δ₁, gradient and update), then this
            // step's gather and its units of the code layer.
            threads.for_each_index(parts, |p| {
                let (u, x) = (units(p), &xs[p]);
                if step > 0 {
                    let (d, h) = (d1.slice(0..N * H), h1.slice(0..N * H));
                    for r in 0..N {
                        for j in u.clone() {
                            let s = ps.iter().fold(0.0, |s, q| s + q.slice(r * H + j..r * H + j + 1)[0]);
                            d[r * H + j] = if h[r * H + j] > 0.0 { s } else { 0.0 };
                        }
                    }
                    product(
                        pw1.g.view_mut(u.start * D, u.len(), D, D),
                        d1.view(u.start, u.len(), N, 1, H),
                        x.view(0, N, D, D, 1),
                    );
                    column_sums_of(d, H, u.clone(), pb1.g.slice(u.clone()));
                    pw1.update(u.start * D..u.end * D, t);
                    pb1.update(u.clone(), t);
                }
                let xv = x.slice(0..N * D);
                for (i, &r) in rows.iter().enumerate() {
                    bytes_to_values(&data[r * D..(r + 1) * D], &mut xv[i * D..(i + 1) * D]);
                }
                product(
                    h1.view_mut(u.start, N, u.len(), H),
                    x.view(0, N, D, D, 1),
                    pw1.w.view(u.start * D, D, u.len(), 1, D),
                );
                let (h, b) = (h1.slice(0..N * H), pb1.w.slice(0..H));
                for r in 0..N {
                    bias_activation(
                        &mut h[r * H + u.start..r * H + u.end],
                        &b[u.clone()],
                        Activation::Relu,
                        None,
                        &one,
                    );
                }
            });
            // This step's outputs: the loss, the decoder's gradient and update, and each
            // part's partial δ₁ (with the weights before the update).
            threads.for_each_index(parts, |p| {
                let (o, x) = (outs(p), xs[p].slice(0..N * D));
                product(
                    z2.view_mut(o.start, N, o.len(), D),
                    h1.view(0, N, H, H, 1),
                    pw2.w.view(o.start * H, H, o.len(), 1, H),
                );
                let (z, g, b) = (z2.slice(0..N * D), d2.slice(0..N * D), pb2.w.slice(0..D));
                for r in 0..N {
                    let row = r * D + o.start..r * D + o.end;
                    bias_activation(&mut z[row.clone()], &b[o.clone()], Activation::Linear, None, &one);
                    bce_with_logits(&z[row.clone()], &x[row.clone()], Some(&mut g[row]), 1.0 / N as f32);
                }
                product(
                    pw2.g.view_mut(o.start * H, o.len(), H, H),
                    d2.view(o.start, o.len(), N, 1, D),
                    h1.view(0, N, H, H, 1),
                );
                column_sums_of(g, D, o.clone(), pb2.g.slice(o.clone()));
                product(
                    ps[p].view_mut(0, N, H, H),
                    d2.view(o.start, N, o.len(), D, 1),
                    pw2.w.view(o.start * H, o.len(), H, H, 1),
                );
                pw2.update(o.start * H..o.end * H, t + 1);
                pb2.update(o.clone(), t + 1);
            });
        }
        start.elapsed().as_secs_f64() / STEPS as f64 * 1e6
    });
    (took, w2.w)
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn main() {
    let mut s = 12345u64;
    let data: Vec<u8> = (0..ROWS * D).map(|_| xorshift(&mut s) as u8).collect();
    let order: Vec<usize> = (0..ROWS).map(|_| (xorshift(&mut s) % ROWS as u64) as usize).collect();
    // (threads, parts): the whole step, the split step on one thread, on two.
    let configs = [(1, 1), (1, 2), (2, 2)];
    let pools: Vec<Threads> = configs.iter().map(|&(t, _)| Threads::new(t)).collect();
    let mut times = vec![vec![]; configs.len()];
    let mut weights = vec![vec![]; configs.len()];
    for _ in 0..ROUNDS {
        for (i, &(_, parts)) in configs.iter().enumerate() {
            let (us, w) = train(&pools[i], parts, &data, &order);
            times[i].push(us);
            weights[i] = w;
        }
    }
    for (i, &(t, parts)) in configs.iter().enumerate() {
        let v = &mut times[i];
        v.sort_by(f64::total_cmp);
        println!(
            "{t} thread(s), {parts} part(s): {:.1} µs a step (median of {ROUNDS} rounds; {:.1}–{:.1})",
            v[ROUNDS / 2],
            v[0],
            v[ROUNDS - 1]
        );
    }
    println!("the split's weights at one and two threads are the same bits: {}", weights[1] == weights[2]);
    println!("the split's weights are the whole step's bits: {}", weights[0] == weights[1]);
}
