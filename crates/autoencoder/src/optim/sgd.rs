//! Stochastic gradient descent with optional classic or Nesterov momentum.

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
    let (momentum, nesterov) = (c.momentum as f32, c.nesterov);
    for s in slots {
        let (w, g) = slot_slices(s, params, grads);
        let vel: &mut [f32] =
            if momentum > 0.0 { &mut opt.state1[s.offset..s.offset + s.len] } else { &mut [] };
        update::sgd(w, g, vel, lr as f32, momentum, nesterov, gt, s.decays);
    }
}
