//! RMSprop in Keras' formulation (ε inside the square root), optionally with momentum.

use super::{slot_slices, GradTransform, Optimizer, TensorSlot};
use crate::kernels::update;

pub(super) fn step(
    opt: &mut Optimizer,
    params: &mut [f32],
    grads: &[f32],
    slots: &[TensorSlot],
    gt: GradTransform,
    lr: f64,
) {
    let c = &opt.config;
    let (rho, eps, momentum) = (c.rho as f32, c.eps as f32, c.momentum as f32);
    for s in slots {
        let (w, g) = slot_slices(s, params, grads);
        let r = s.offset..s.offset + s.len;
        let mom: &mut [f32] = if momentum > 0.0 { &mut opt.state2[r.clone()] } else { &mut [] };
        update::rmsprop(w, g, &mut opt.state1[r], mom, lr as f32, rho, eps, momentum, gt, s.decays);
    }
}
