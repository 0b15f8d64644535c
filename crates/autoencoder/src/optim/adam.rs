//! Adam and AdamW in Keras' formulation (ε added to √v; bias corrections folded into
//! the step size α = η·√(1−β₂ᵗ)/(1−β₁ᵗ)).

use super::{slot_slices, GradTransform, Optimizer, OptimizerKind, TensorSlot};
use crate::kernels::{update, Threads};

/// Parameters per chunk of a threaded update (its four arrays: 128 KiB).
const CHUNK: usize = 8192;

pub(super) fn step(
    opt: &mut Optimizer,
    params: &mut [f32],
    grads: &[f32],
    slots: &[TensorSlot],
    gt: GradTransform,
    lr: f64,
    threads: &Threads,
) {
    let c = &opt.config;
    let t = opt.steps as i32;
    let alpha = lr * (1.0 - c.beta2.powi(t)).sqrt() / (1.0 - c.beta1.powi(t));
    let decoupled = if c.kind == OptimizerKind::AdamW { (lr * c.weight_decay) as f32 } else { 0.0 };
    let (b1, b2, eps) = (c.beta1 as f32, c.beta2 as f32, c.eps as f32);
    for s in slots {
        let (w, g) = slot_slices(s, params, grads);
        let r = s.offset..s.offset + s.len;
        // Element by element: split by parameter ranges over the threads, the same bits.
        threads.for_each_chunk4(
            (w, g, &mut opt.state1[r.clone()], &mut opt.state2[r]),
            CHUNK,
            |w, g, m, v| update::adam(w, g, m, v, alpha as f32, b1, b2, eps, decoupled, gt, s.decays),
        );
    }
}
