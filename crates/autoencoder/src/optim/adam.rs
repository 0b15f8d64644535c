//! Adam and AdamW in Keras' formulation (ε added to √v; bias corrections folded into
//! the step size α = η·√(1−β₂ᵗ)/(1−β₁ᵗ)).

use super::{OptimizerConfig, OptimizerKind, RuleKind};

/// Step `t`'s rule at learning rate `lr`: α = η·√(1−β₂ᵗ)/(1−β₁ᵗ), and AdamW's decay η·λ.
pub(super) fn rule(c: &OptimizerConfig, t: u64, lr: f64) -> RuleKind {
    let t = t as i32;
    let alpha = lr * (1.0 - c.beta2.powi(t)).sqrt() / (1.0 - c.beta1.powi(t));
    let decoupled = if c.kind == OptimizerKind::AdamW { (lr * c.weight_decay) as f32 } else { 0.0 };
    RuleKind::Adam {
        alpha: alpha as f32,
        beta1: c.beta1 as f32,
        beta2: c.beta2 as f32,
        eps: c.eps as f32,
        decoupled,
    }
}
