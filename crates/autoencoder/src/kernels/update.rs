//! Optimizer updates, each one fused pass per tensor: the gradient's scaling (global
//! norm clipping), the L1/L2 penalty gradient and the update rule together; the new
//! weights written through the cache or streamed past it ([`WeightStore`]).

use super::{math, simd};

/// How an update writes the new weights. The values are the same bits either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightStore {
    /// Ordinary stores, through this core's cache.
    Cached,
    /// Whole cache lines with non-temporal stores (`movntps`), which take no ownership
    /// of the line first, then a store fence. For weights that other cores have just
    /// read, as every thread of the row split reads every weight in its forward and
    /// backward passes: an ordinary store must first take each line from the other
    /// core's cache (a coherence round trip per line, which stalls the stores), where a
    /// streamed line only drops the other copies. Measured on Zen 4 (2 vCPUs, Adam,
    /// 50,600 weights a thread that the other thread had just read): 49 µs a thread
    /// cached, 18 µs streamed; the next reads of every weight took 21 µs against 23–26
    /// µs (from memory instead of the other core). Off x86-64 the same as `Cached`.
    Streamed,
}

/// `body(w, g, s1, s2)` over the four arrays (an optimizer state may be empty when the
/// rule does not use it, and `body` must not read it then), writing `w` as `store`
/// says: with `Streamed`, the aligned whole cache lines of `w` are computed one line at
/// a time into a local copy and streamed out; the unaligned head and tail are stored
/// as usual. `body` is element by element, so the bits do not depend on the cut.
#[inline(always)]
fn by_lines(
    store: WeightStore,
    w: &mut [f32],
    g: &[f32],
    s1: &mut [f32],
    s2: &mut [f32],
    mut body: impl FnMut(&mut [f32], &[f32], &mut [f32], &mut [f32]),
) {
    const LINE: usize = 16;
    let n = w.len();
    if store == WeightStore::Cached || !cfg!(target_arch = "x86_64") || n < 2 * LINE {
        body(w, g, s1, s2);
        return;
    }
    let part = state_part;
    let head = w.as_ptr().align_offset(64).min(n);
    let lines = (n - head) / LINE;
    let tail = head + lines * LINE;
    body(&mut w[..head], &g[..head], part(s1, 0..head), part(s2, 0..head));
    for l in 0..lines {
        let r = head + l * LINE..head + (l + 1) * LINE;
        let mut line = [0.0f32; LINE];
        line.copy_from_slice(&w[r.clone()]);
        body(&mut line, &g[r.clone()], part(s1, r.clone()), part(s2, r.clone()));
        stream_line(&mut w[r], &line);
    }
    body(&mut w[tail..], &g[tail..], part(s1, tail..n), part(s2, tail..n));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a store fence has no operands; SSE is part of x86-64. It orders the
    // streamed stores before whatever the thread does next (the join that publishes
    // the weights to the other threads).
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

/// Range `r` of an optimizer's state, or the empty state of a rule that keeps none.
pub(crate) fn state_part(s: &mut [f32], r: std::ops::Range<usize>) -> &mut [f32] {
    if s.is_empty() {
        s
    } else {
        &mut s[r]
    }
}

/// `dst ← src`, one 64-byte-aligned cache line, with non-temporal stores.
#[inline(always)]
fn stream_line(dst: &mut [f32], src: &[f32; 16]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_ps, _mm_stream_ps};
        assert!(dst.len() == 16 && dst.as_ptr().align_offset(64) == 0);
        for q in 0..4 {
            // SAFETY: `dst` holds 16 values from a 64-byte boundary, so each quarter is
            // in bounds and 16-byte aligned as `movntps` needs; `src` holds 16 values.
            unsafe { _mm_stream_ps(dst.as_mut_ptr().add(4 * q), _mm_loadu_ps(src.as_ptr().add(4 * q))) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    dst.copy_from_slice(src);
}

/// What every update does to the raw gradient first:
/// `g ← g·grad_scale + 2·l2·w + l1·sign(w)`, the penalty terms only on tensors that
/// decay (weights, not biases).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradTransform {
    /// Factor from clipping by global norm (1 when not clipping).
    pub grad_scale: f32,
    /// L1 coefficient: the loss gains `l1·Σ|w|`.
    pub l1: f32,
    /// L2 coefficient: the loss gains `l2·Σw²` (Keras' `regularizers.L2`).
    pub l2: f32,
}

impl GradTransform {
    /// No clipping, no penalties.
    pub const IDENTITY: GradTransform = GradTransform { grad_scale: 1.0, l1: 0.0, l2: 0.0 };

    #[inline(always)]
    fn apply(&self, g: f32, w: f32, decays: bool) -> f32 {
        let g = g * self.grad_scale;
        if decays {
            let sign = if w > 0.0 {
                1.0
            } else if w < 0.0 {
                -1.0
            } else {
                0.0
            };
            g + 2.0 * self.l2 * w + self.l1 * sign
        } else {
            g
        }
    }
}

/// SGD with optional (Nesterov) momentum, Keras' form:
/// `v ← μv − η·g`, then `w ← w + v` (classic) or `w ← w + μv − η·g` (Nesterov).
/// With `μ = 0` this is `w ← w − η·g` and `velocity` is not touched.
#[allow(clippy::too_many_arguments)]
pub fn sgd(
    w: &mut [f32],
    g: &[f32],
    velocity: &mut [f32],
    lr: f32,
    momentum: f32,
    nesterov: bool,
    gt: GradTransform,
    decays: bool,
    store: WeightStore,
) {
    simd(
        #[inline(always)]
        move || {
            // Scalars bound here, not read through the closure's captures: a loop that
            // rereads them from memory beside its stores does not vectorise.
            let (gt, lr, momentum, nesterov, decays) = (gt, lr, momentum, nesterov, decays);
            let velocity = if momentum == 0.0 { &mut [][..] } else { velocity };
            by_lines(store, w, g, velocity, &mut [], |w, g, velocity, _| {
                if momentum == 0.0 {
                    w.iter_mut().zip(g).for_each(|(w, &g)| *w -= lr * gt.apply(g, *w, decays));
                } else {
                    // Read once, written once (see `adam`).
                    for ((w, &g), v) in w.iter_mut().zip(g).zip(velocity.iter_mut()) {
                        let g = gt.apply(g, *w, decays);
                        let vi = momentum * *v - lr * g;
                        *w += if nesterov { momentum * vi - lr * g } else { vi };
                        *v = vi;
                    }
                }
            });
        },
    )
}

/// Adam in Keras' form (ε added to √v, bias corrections folded into the step size):
/// `m ← m + (1−β₁)(g − m)`, `v ← v + (1−β₂)(g² − v)`,
/// `w ← w − α·m/(√v + ε)` with `α = η·√(1−β₂ᵗ)/(1−β₁ᵗ)`; the caller passes `α`. The
/// division is a multiplication by [`math::recip`]`(√v + ε)` (within an ulp), which
/// leaves the divider to the square root.
/// AdamW first decays the weights: `w ← w − η·λ·w` (`decoupled = η·λ`, 0 for Adam).
#[allow(clippy::too_many_arguments)]
pub fn adam(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    alpha: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    decoupled: f32,
    gt: GradTransform,
    decays: bool,
    store: WeightStore,
) {
    let (c1, c2) = (1.0 - beta1, 1.0 - beta2);
    let decoupled = if decays { decoupled } else { 0.0 };
    // Terms that are zero are left out of the loop, not added: `x + 0·w` is `x` for
    // any finite `w` (the same bits), and the penalties' sign and products cost more
    // than the rest of the update's arithmetic on a Xeon's two vector ports.
    let penalised = decays && (gt.l1 != 0.0 || gt.l2 != 0.0);
    let rule = AdamRule { gt, alpha, c1, c2, eps, decoupled };
    match (penalised, decoupled != 0.0) {
        (false, false) => adam_loop::<false, false>(w, g, m, v, rule, store),
        (false, true) => adam_loop::<false, true>(w, g, m, v, rule, store),
        (true, false) => adam_loop::<true, false>(w, g, m, v, rule, store),
        (true, true) => adam_loop::<true, true>(w, g, m, v, rule, store),
    }
}

/// Adam's scalars, as [`adam`] passes them to its loop.
#[derive(Clone, Copy)]
struct AdamRule {
    gt: GradTransform,
    alpha: f32,
    c1: f32,
    c2: f32,
    eps: f32,
    decoupled: f32,
}

/// [`adam`]'s loop, with the L1/L2 penalties (`PENALISED`) and AdamW's decay
/// (`DECOUPLED`) in or out.
fn adam_loop<const PENALISED: bool, const DECOUPLED: bool>(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    rule: AdamRule,
    store: WeightStore,
) {
    simd(
        #[inline(always)]
        move || {
            // Scalars bound here, not read through the closure's captures: a loop that
            // rereads them from memory beside its stores does not vectorise (measured:
            // scalar `vsqrtss`/`vdivss`, 28 % of model A's step on an AVX2 machine).
            let AdamRule { gt, alpha, c1, c2, eps, decoupled } = rule;
            // Each value read once into a local and written once: storing `w` and `m`
            // and loading them back made the loop wait on store-to-load forwarding
            // (measured on Zen 4 with AVX-512: 105 µs for model A's 101,200 parameters,
            // against 30 µs this way; the same operations, the same bits).
            by_lines(store, w, g, m, v, |w, g, m, v| {
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    let (mut wi, mut mi, mut vi) = (*w, *m, *v);
                    let g = gt.apply(g, wi, PENALISED);
                    if DECOUPLED {
                        wi -= decoupled * wi;
                    }
                    mi += (g - mi) * c1;
                    vi += (g * g - vi) * c2;
                    wi -= alpha * mi * math::recip(vi.sqrt() + eps);
                    (*w, *m, *v) = (wi, mi, vi);
                }
            });
        },
    )
}

/// RMSprop in Keras' form: `v ← ρv + (1−ρ)g²`, `Δ = η·g/√(v + ε)`, then
/// `w ← w − Δ`, or with momentum `μ`: `u ← μu + Δ`, `w ← w − u`.
#[allow(clippy::too_many_arguments)]
pub fn rmsprop(
    w: &mut [f32],
    g: &[f32],
    v: &mut [f32],
    mom: &mut [f32],
    lr: f32,
    rho: f32,
    eps: f32,
    momentum: f32,
    gt: GradTransform,
    decays: bool,
    store: WeightStore,
) {
    simd(
        #[inline(always)]
        move || {
            let (gt, lr, rho, eps, momentum, decays) = (gt, lr, rho, eps, momentum, decays);
            let mom = if momentum == 0.0 { &mut [][..] } else { mom };
            by_lines(store, w, g, v, mom, |w, g, v, mom| {
                if momentum == 0.0 {
                    // Read once, written once (see `adam`).
                    for ((w, &g), v) in w.iter_mut().zip(g).zip(v.iter_mut()) {
                        let g = gt.apply(g, *w, decays);
                        let vi = rho * *v + (1.0 - rho) * g * g;
                        *w -= lr * g / (vi + eps).sqrt();
                        *v = vi;
                    }
                } else {
                    for (((w, &g), v), u) in w.iter_mut().zip(g).zip(v.iter_mut()).zip(mom.iter_mut()) {
                        let g = gt.apply(g, *w, decays);
                        let vi = rho * *v + (1.0 - rho) * g * g;
                        let ui = momentum * *u + lr * g / (vi + eps).sqrt();
                        *w -= ui;
                        (*v, *u) = (vi, ui);
                    }
                }
            });
        },
    )
}
