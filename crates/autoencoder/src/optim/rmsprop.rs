//! RMSprop in Keras' formulation (ε inside the square root), optionally with momentum.

use super::{OptimizerConfig, RuleKind};

/// The rule at learning rate `lr` (`v` is the optimizer's first state; the momentum
/// buffer its second, kept only with momentum).
pub(super) fn rule(c: &OptimizerConfig, lr: f64) -> RuleKind {
    RuleKind::RmsProp { lr: lr as f32, rho: c.rho as f32, eps: c.eps as f32, momentum: c.momentum as f32 }
}
