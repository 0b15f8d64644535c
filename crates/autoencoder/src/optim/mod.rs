//! Optimizers: the configuration (serde, with Keras' defaults) and the state that
//! steps the model's one parameter buffer, tensor by tensor in one fused pass each.

mod adam;
mod rmsprop;
pub mod schedule;
mod sgd;

pub use schedule::{PlateauState, Schedule};

use std::str::FromStr;

use crate::error::{Error, Result};
pub use crate::kernels::update::GradTransform;
use crate::kernels::update::WeightStore;

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Stochastic gradient descent, optionally with (Nesterov) momentum.
    Sgd,
    /// Adam (Kingma & Ba 2015).
    #[default]
    Adam,
    /// Adam with decoupled weight decay (Loshchilov & Hutter 2019).
    #[serde(rename = "adamw")]
    AdamW,
    /// RMSprop (Hinton's lecture 6e), optionally with momentum.
    #[serde(rename = "rmsprop")]
    RmsProp,
}

impl OptimizerKind {
    /// The name used in flags and files.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
            OptimizerKind::RmsProp => "rmsprop",
        }
    }
}

impl std::fmt::Display for OptimizerKind {
    /// [`OptimizerKind::name`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OptimizerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sgd" => Ok(OptimizerKind::Sgd),
            "adam" => Ok(OptimizerKind::Adam),
            "adamw" | "adam_w" => Ok(OptimizerKind::AdamW),
            "rmsprop" | "rms_prop" => Ok(OptimizerKind::RmsProp),
            _ => Err(Error::config(
                "optimizer",
                format!("unknown optimizer {s:?}; expected sgd, adam, adamw or rmsprop"),
            )),
        }
    }
}

/// An optimizer's settings. Fields a rule does not use are ignored. Defaults follow
/// Keras: Adam/AdamW `lr = 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-7`, AdamW
/// `weight_decay = 0.004`; RMSprop `lr = 1e-3, ρ = 0.9, ε = 1e-7`; SGD `lr = 0.01`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// The update rule.
    pub kind: OptimizerKind,
    /// Learning rate η.
    pub lr: f64,
    /// Momentum μ (SGD, RMSprop). Default 0.
    pub momentum: f64,
    /// Nesterov momentum (SGD). Default false.
    pub nesterov: bool,
    /// Adam's β₁. Default 0.9.
    pub beta1: f64,
    /// Adam's β₂. Default 0.999.
    pub beta2: f64,
    /// ε in the denominator. Default 1e-7.
    pub eps: f64,
    /// RMSprop's decay ρ. Default 0.9.
    pub rho: f64,
    /// AdamW's decoupled weight decay λ (`w ← w − η·λ·w` each step, weights only).
    pub weight_decay: f64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::new(OptimizerKind::Adam)
    }
}

impl OptimizerConfig {
    /// The defaults of `kind`.
    pub fn new(kind: OptimizerKind) -> Self {
        OptimizerConfig {
            kind,
            lr: if kind == OptimizerKind::Sgd { 0.01 } else { 1e-3 },
            momentum: 0.0,
            nesterov: false,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-7,
            rho: 0.9,
            weight_decay: if kind == OptimizerKind::AdamW { 0.004 } else { 0.0 },
        }
    }

    /// Check every field once, before any work.
    pub fn check(&self) -> Result<()> {
        let positive = |v: f64, f: &str| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::config(f, format!("{v} must be a positive number")))
            }
        };
        let unit = |v: f64, f: &str| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::config(f, format!("{v} must be in [0, 1)")))
            }
        };
        positive(self.lr, "learning rate (lr)")?;
        positive(self.eps, "eps")?;
        // The update divides by √v + ε in f32 (Adam through `math::recip`), where a
        // smaller ε is 0 or subnormal: a parameter whose gradients were all 0 would step
        // by 0/0.
        if (self.eps as f32) < f32::MIN_POSITIVE {
            return Err(Error::config(
                "eps",
                format!("{} must be at least 1.2e-38 (it is used as a float32)", self.eps),
            ));
        }
        unit(self.momentum, "momentum")?;
        unit(self.beta1, "beta1")?;
        unit(self.beta2, "beta2")?;
        unit(self.rho, "rho")?;
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::config("weight_decay", format!("{} must be ≥ 0", self.weight_decay)));
        }
        if self.nesterov && self.momentum == 0.0 {
            return Err(Error::config(
                "nesterov",
                "Nesterov momentum needs a momentum above 0, e.g. momentum = 0.9",
            ));
        }
        Ok(())
    }
}

/// Where a tensor lies in the parameter buffer, and whether penalties apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorSlot {
    /// Offset of the first value.
    pub offset: usize,
    /// Number of values.
    pub len: usize,
    /// Whether L1/L2 and AdamW's decay apply (weights yes, biases no).
    pub decays: bool,
}

/// An optimizer with its state (moments, velocities), sized once for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    config: OptimizerConfig,
    /// Steps taken so far (Adam's `t`).
    pub steps: u64,
    /// First state vector: Adam's `m`, SGD's velocity, RMSprop's `v`.
    pub state1: Vec<f32>,
    /// Second state vector: Adam's `v`, RMSprop's momentum buffer.
    pub state2: Vec<f32>,
}

impl Optimizer {
    /// State for `params` values, zero-initialised.
    pub fn new(config: OptimizerConfig, params: usize) -> Result<Self> {
        config.check()?;
        let (n1, n2) = match config.kind {
            OptimizerKind::Sgd => (if config.momentum > 0.0 { params } else { 0 }, 0),
            OptimizerKind::Adam | OptimizerKind::AdamW => (params, params),
            OptimizerKind::RmsProp => (params, if config.momentum > 0.0 { params } else { 0 }),
        };
        Ok(Optimizer { config, steps: 0, state1: vec![0.0; n1], state2: vec![0.0; n2] })
    }

    /// The settings.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// One update of every tensor: `params ← update(params, grads)`, with the
    /// gradient first transformed by `gt` (clipping scale, L1/L2) and the learning
    /// rate multiplied by `lr_scale` (a schedule's factor; 1 for none).
    pub fn step(
        &mut self,
        params: &mut [f32],
        grads: &[f32],
        slots: &[TensorSlot],
        gt: GradTransform,
        lr_scale: f64,
    ) {
        self.step_with(params, grads, slots, gt, lr_scale, &crate::kernels::Threads::default());
    }

    /// [`Optimizer::step`] with `threads`: the update is element by element, so it is
    /// split by parameter ranges over them, in one pass over every tensor (pieces of
    /// 8,192 values, each tensor's from its start, shared out among the threads in
    /// order): the same bits at any thread count.
    pub fn step_with(
        &mut self,
        params: &mut [f32],
        grads: &[f32],
        slots: &[TensorSlot],
        gt: GradTransform,
        lr_scale: f64,
        threads: &crate::kernels::Threads,
    ) {
        let rule = self.begin_step(gt, lr_scale);
        let pieces: usize = slots.iter().map(|s| s.len.div_ceil(PIECE)).sum();
        let blocks = threads.count().min(pieces);
        // Tensors in order, apart and inside the buffers: then no two blocks touch a value.
        let apart = slots.windows(2).all(|w| w[0].offset + w[0].len <= w[1].offset)
            && slots.last().is_none_or(|s| s.offset + s.len <= params.len().min(grads.len()));
        if blocks < 2 || !apart {
            for s in slots {
                let r = s.offset..s.offset + s.len;
                let (w, g) = slot_slices(s, params, grads);
                let (s1, s2) = self.state_of(r);
                rule.apply(w, g, s1, s2, s.decays, WeightStore::Cached);
            }
            return;
        }
        use crate::kernels::Shared;
        let (w, s1, s2) = (Shared::new(params), Shared::new(&mut self.state1), Shared::new(&mut self.state2));
        threads.for_each_index(blocks, |b| {
            let mine = b * pieces / blocks..(b + 1) * pieces / blocks;
            // Pieces `first..first + count` are slot `s`'s.
            let mut first = 0;
            for s in slots {
                let count = s.len.div_ceil(PIECE);
                let (lo, hi) = (mine.start.max(first), mine.end.min(first + count));
                if lo < hi {
                    let end = s.offset + s.len;
                    let r = s.offset + (lo - first) * PIECE..(s.offset + (hi - first) * PIECE).min(end);
                    // SAFETY: the tensors lie apart (checked above) and the blocks' pieces
                    // do not overlap, so range `r` of the parameters and of the state is
                    // this task's alone; the buffers outlive the pass.
                    let (w, m, v) = unsafe { (w.get(r.clone()), s1.part(r.clone()), s2.part(r.clone())) };
                    rule.apply(w, &grads[r], m, v, s.decays, WeightStore::Cached);
                }
                first += count;
            }
        });
    }

    /// Count a step and resolve its [`Rule`]: the update of every tensor in this step,
    /// with the gradient first transformed by `gt` and the learning rate multiplied by
    /// `lr_scale`. [`Optimizer::step_with`] is this and [`Rule::apply`] on every tensor.
    pub(crate) fn begin_step(&mut self, gt: GradTransform, lr_scale: f64) -> Rule {
        self.steps += 1;
        let lr = self.config.lr * lr_scale;
        let kind = match self.config.kind {
            OptimizerKind::Sgd => sgd::rule(&self.config, lr),
            OptimizerKind::Adam | OptimizerKind::AdamW => adam::rule(&self.config, self.steps, lr),
            OptimizerKind::RmsProp => rmsprop::rule(&self.config, lr),
        };
        Rule { kind, gt }
    }

    /// The state of the parameters `r`: [`state1`](Self::state1) and
    /// [`state2`](Self::state2) there, each empty when the optimizer keeps none.
    pub(crate) fn state_of(&mut self, r: std::ops::Range<usize>) -> (&mut [f32], &mut [f32]) {
        use crate::kernels::update::state_part;
        (state_part(&mut self.state1, r.clone()), state_part(&mut self.state2, r))
    }
}

/// One step's update rule, its scalars resolved ([`Optimizer::begin_step`]): Adam's
/// bias-corrected step size, the learning rate of this epoch, the gradient's transform.
/// Every rule is element by element, so applying it to a tensor in parts, in any order
/// and on any thread, gives the bits of one pass over the whole: a caller that computes
/// a tensor's gradient in parts may update each part as soon as its gradient is ready.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rule {
    kind: RuleKind,
    gt: GradTransform,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RuleKind {
    Sgd { lr: f32, momentum: f32, nesterov: bool },
    Adam { alpha: f32, beta1: f32, beta2: f32, eps: f32, decoupled: f32 },
    RmsProp { lr: f32, rho: f32, eps: f32, momentum: f32 },
}

impl Rule {
    /// Update the parameters `w` from their gradients `g` and their state `s1`, `s2`
    /// (the optimizer's [`state_of`](Optimizer::state_of) the same range); `decays`:
    /// whether they belong to a tensor that penalties and AdamW's decay apply to.
    pub(crate) fn apply(
        &self,
        w: &mut [f32],
        g: &[f32],
        s1: &mut [f32],
        s2: &mut [f32],
        decays: bool,
        store: WeightStore,
    ) {
        use crate::kernels::update;
        let gt = self.gt;
        match self.kind {
            RuleKind::Sgd { lr, momentum, nesterov } => {
                update::sgd(w, g, s1, lr, momentum, nesterov, gt, decays, store)
            }
            RuleKind::Adam { alpha, beta1, beta2, eps, decoupled } => {
                update::adam(w, g, s1, s2, alpha, beta1, beta2, eps, decoupled, gt, decays, store)
            }
            RuleKind::RmsProp { lr, rho, eps, momentum } => {
                update::rmsprop(w, g, s1, s2, lr, rho, eps, momentum, gt, decays, store)
            }
        }
    }
}

/// Values per piece of a threaded update (the piece's four arrays: 128 KiB).
const PIECE: usize = 8192;

/// Split the buffers of one tensor out of the whole-model buffers.
#[inline]
pub(crate) fn slot_slices<'a>(
    slot: &TensorSlot,
    params: &'a mut [f32],
    grads: &'a [f32],
) -> (&'a mut [f32], &'a [f32]) {
    let r = slot.offset..slot.offset + slot.len;
    (&mut params[r.clone()], &grads[r])
}

#[cfg(test)]
mod tests;
