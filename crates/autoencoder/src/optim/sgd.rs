//! Stochastic gradient descent with optional classic or Nesterov momentum.

use super::{OptimizerConfig, RuleKind};

/// The rule at learning rate `lr` (the velocity is the optimizer's first state, kept
/// only with momentum).
pub(super) fn rule(c: &OptimizerConfig, lr: f64) -> RuleKind {
    RuleKind::Sgd { lr: lr as f32, momentum: c.momentum as f32, nesterov: c.nesterov }
}
