//! Penalties on the code `h = E(x)` (sparse and contractive autoencoders), added to the
//! training loss. For a batch of `n` rows and a code of `k` units:
//!
//! * **L1 activity** (`code_l1 = λ`): `λ/n · Σₙ Σⱼ |hₙⱼ|` (Keras' `activity_regularizer`).
//! * **KL sparsity** (`sparsity = {target ρ, weight β}`, sigmoid codes): with the batch's
//!   mean activation `ρ̂ⱼ = Σₙ hₙⱼ / n`,
//!   `β · Σⱼ [ρ·ln(ρ/ρ̂ⱼ) + (1 − ρ)·ln((1 − ρ)/(1 − ρ̂ⱼ))]`, whose gradient is
//!   `∂/∂hₙⱼ = β/n · (−ρ/ρ̂ⱼ + (1 − ρ)/(1 − ρ̂ⱼ))`.
//! * **Contractive** (`contractive = λ`): `λ/n · Σₙ ‖J_E(xₙ)‖²_F`, the squared Frobenius
//!   norm of the encoder's Jacobian. It is exact and cheap for a one-layer encoder with a
//!   sigmoid code, `h = σ(Wx + b)`: `J = diag(h(1 − h))·W`, so
//!   `‖J‖²_F = Σⱼ (hⱼ(1 − hⱼ))²·‖Wⱼ‖²` (`Wⱼ` the j-th row of `W`). Its gradient has a part
//!   through `h`, `∂/∂hₙⱼ = λ/n · ‖Wⱼ‖² · 2hₙⱼ(1 − hₙⱼ)(1 − 2hₙⱼ)` (which the layer's
//!   backward pass multiplies by `h(1 − h)`), and a direct part
//!   `∂/∂Wⱼ = λ/n · Σₙ 2(hₙⱼ(1 − hₙⱼ))²·Wⱼ`. Deeper or non-sigmoid encoders are refused
//!   (their Jacobian norm needs a pass per code unit; not supported).
//!
//! The reconstruction loss is a mean over the `n·d` values, so these penalties, per row,
//! weigh like Keras' regularisers do.

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::model::Autoencoder;

/// The KL sparsity penalty's target mean activation `ρ` and weight `β`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sparsity {
    /// The target mean activation ρ, in (0, 1), e.g. 0.05.
    pub target: f64,
    /// The weight β > 0.
    pub weight: f64,
}

impl std::str::FromStr for Sparsity {
    type Err = Error;
    /// `RHO:BETA`, e.g. `0.05:3` (the ranges are checked with the training settings).
    fn from_str(s: &str) -> Result<Sparsity> {
        let bad = || Error::config("sparsity", format!("{s:?}: expected RHO:BETA, e.g. 0.05:3"));
        let (rho, beta) = s.split_once(':').ok_or_else(bad)?;
        let target = rho.trim().parse().map_err(|_| bad())?;
        let weight = beta.trim().parse().map_err(|_| bad())?;
        Ok(Sparsity { target, weight })
    }
}

/// The codes a penalty is taken over: `rows × k` values `h`, and the rows the penalties
/// are a mean over (`rows` for a whole batch; the batch's for a micro-batch of it, whose
/// shares then add to the batch's). For a micro-batch, `batch_mean` is the whole batch's
/// mean activation `ρ̂` (the micro-batches' code sums over the batch's rows): the KL
/// sparsity gradient uses it, and its value, a term of the batch, is left to
/// [`CodePenalties::sparsity_value`].
#[derive(Debug, Clone, Copy)]
pub struct Codes<'a> {
    /// The codes, row-major.
    pub h: &'a [f32],
    /// Rows in `h`.
    pub rows: usize,
    /// Rows the penalties are a mean over.
    pub mean: usize,
    /// Code units per row.
    pub k: usize,
    /// The batch's mean activation, when `h` is a micro-batch of it.
    pub batch_mean: Option<&'a [f64]>,
}

/// Mean activations are clamped to `[EPS, 1 − EPS]` inside the KL penalty's logarithms.
const EPS: f64 = 1e-6;

/// The code penalties of a training configuration.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CodePenalties {
    /// L1 on the code's activations.
    pub l1: f64,
    /// KL sparsity.
    pub sparsity: Option<Sparsity>,
    /// Contractive weight λ.
    pub contractive: f64,
}

impl CodePenalties {
    /// True when any penalty is on.
    pub fn active(&self) -> bool {
        self.l1 > 0.0 || self.sparsity.is_some() || self.contractive > 0.0
    }

    /// Check the settings (names the field) and that `model` supports them.
    pub fn check(&self, model: Option<&Autoencoder>) -> Result<()> {
        if !(self.l1.is_finite() && self.l1 >= 0.0) {
            return Err(Error::config("code_l1", format!("{} must be ≥ 0", self.l1)));
        }
        if !(self.contractive.is_finite() && self.contractive >= 0.0) {
            return Err(Error::config("contractive", format!("{} must be ≥ 0", self.contractive)));
        }
        if let Some(s) = self.sparsity {
            if !(s.target > 0.0 && s.target < 1.0) {
                return Err(Error::config("sparsity", format!("target {} must be in (0, 1)", s.target)));
            }
            if !(s.weight.is_finite() && s.weight > 0.0) {
                return Err(Error::config("sparsity", format!("weight {} must be > 0", s.weight)));
            }
        }
        let Some(m) = model else { return Ok(()) };
        let code = m.layers()[m.encoder_len() - 1].activation();
        if self.sparsity.is_some() && code != Activation::Sigmoid {
            return Err(Error::config(
                "sparsity",
                format!("the KL sparsity penalty needs a sigmoid code (mean activations in (0, 1)); this code is {}; add code_activation = sigmoid", code.name()),
            ));
        }
        if self.contractive > 0.0 && (m.encoder_len() != 1 || code != Activation::Sigmoid) {
            return Err(Error::config(
                "contractive",
                format!(
                    "the contractive penalty is computed exactly for a one-layer encoder with a sigmoid code; this encoder has {} layer(s) and a {} code",
                    m.encoder_len(),
                    code.name()
                ),
            ));
        }
        Ok(())
    }

    /// The penalty for `codes`, with the first encoder layer's weights `w` (`k × d`,
    /// used by the contractive penalty). `scratch` holds at least `k` values (the
    /// caller's, so a training step allocates nothing).
    pub fn value(&self, codes: Codes<'_>, w: &[f32], scratch: &mut [f64]) -> f64 {
        let Codes { h, rows: n, mean, k, batch_mean } = codes;
        let scratch = &mut scratch[..k];
        let inv_n = 1.0 / mean as f64;
        let mut p = 0.0;
        if self.l1 > 0.0 {
            p += self.l1 * inv_n * h.iter().map(|&v| f64::from(v).abs()).sum::<f64>();
        }
        if self.sparsity.is_some() && batch_mean.is_none() {
            mean_activations(h, n, scratch);
            p += self.sparsity_value(scratch);
        }
        if self.contractive > 0.0 {
            row_norms(w, scratch);
            let norms = &*scratch;
            let mut sum = 0.0;
            for row in h.chunks_exact(k) {
                for (j, &v) in row.iter().enumerate() {
                    let g = f64::from(v) * (1.0 - f64::from(v));
                    sum += g * g * norms[j];
                }
            }
            p += self.contractive * inv_n * sum;
        }
        p
    }

    /// The KL sparsity penalty of a batch whose mean activation is `rho_hat` (0 without
    /// the penalty): `β · Σⱼ KL(ρ ‖ ρ̂ⱼ)`.
    pub fn sparsity_value(&self, rho_hat: &[f64]) -> f64 {
        let Some(s) = self.sparsity else { return 0.0 };
        let rho = s.target;
        s.weight
            * rho_hat
                .iter()
                .map(|&r| rho * (rho / r).ln() + (1.0 - rho) * ((1.0 - rho) / (1.0 - r)).ln())
                .sum::<f64>()
    }

    /// Add `∂penalty/∂h` to `dh` (`rows × k`); `scratch` holds at least `k` values.
    pub fn add_code_gradient(&self, codes: Codes<'_>, w: &[f32], dh: &mut [f32], scratch: &mut [f64]) {
        let Codes { h, rows: n, mean, k, batch_mean } = codes;
        let scratch = &mut scratch[..k];
        let inv_n = 1.0 / mean as f64;
        if self.l1 > 0.0 {
            let g = (self.l1 * inv_n) as f32;
            for (d, &v) in dh.iter_mut().zip(h) {
                *d += g * v.signum() * f32::from(v != 0.0);
            }
        }
        if let Some(s) = self.sparsity {
            let rho = s.target;
            match batch_mean {
                Some(m) => scratch.copy_from_slice(m),
                None => mean_activations(h, n, scratch),
            }
            for r in scratch.iter_mut() {
                *r = s.weight * inv_n * (-rho / *r + (1.0 - rho) / (1.0 - *r));
            }
            for row in dh.chunks_exact_mut(k) {
                for (d, &g) in row.iter_mut().zip(scratch.iter()) {
                    *d += g as f32;
                }
            }
        }
        if self.contractive > 0.0 {
            row_norms(w, scratch);
            let norms = &*scratch;
            let c = 2.0 * self.contractive * inv_n;
            for (row, drow) in h.chunks_exact(k).zip(dh.chunks_exact_mut(k)) {
                for j in 0..k {
                    let v = f64::from(row[j]);
                    drow[j] += (c * norms[j] * v * (1.0 - v) * (1.0 - 2.0 * v)) as f32;
                }
            }
        }
    }

    /// Add the contractive penalty's direct gradient with respect to the first encoder
    /// layer's weights `w` (`k × d`) into `gw`; `scratch` holds at least `k` values.
    pub fn add_weight_gradient(&self, codes: Codes<'_>, w: &[f32], gw: &mut [f32], scratch: &mut [f64]) {
        if self.contractive <= 0.0 {
            return;
        }
        let Codes { h, mean, k, .. } = codes;
        let d = w.len() / k.max(1);
        let a = &mut scratch[..k];
        a.fill(0.0);
        for row in h.chunks_exact(k) {
            for (aj, &v) in a.iter_mut().zip(row) {
                let g = f64::from(v) * (1.0 - f64::from(v));
                *aj += g * g;
            }
        }
        let c = 2.0 * self.contractive / mean as f64;
        for j in 0..k {
            let s = (c * a[j]) as f32;
            for (g, &wv) in gw[j * d..(j + 1) * d].iter_mut().zip(&w[j * d..(j + 1) * d]) {
                *g += s * wv;
            }
        }
    }
}

/// `ρ̂ⱼ`, the mean of each of the `m.len()` code units over the `n` rows of `h`, clamped
/// to `[EPS, 1 − EPS]`, into `m`.
pub fn mean_activations(h: &[f32], n: usize, m: &mut [f64]) {
    code_sums(h, m);
    finish_mean(m, n);
}

/// The sum of each of the `sums.len()` code units over the rows of `h`, in f64, row by
/// row in order.
pub fn code_sums(h: &[f32], sums: &mut [f64]) {
    sums.fill(0.0);
    for row in h.chunks_exact(sums.len()) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
}

/// Sums of `n` rows' codes made their mean activations `ρ̂`, clamped to
/// `[EPS, 1 − EPS]`, in place.
pub fn finish_mean(sums: &mut [f64], n: usize) {
    for s in sums.iter_mut() {
        *s = (*s / n.max(1) as f64).clamp(EPS, 1.0 - EPS);
    }
}

/// `‖Wⱼ‖²` for each of the `norms.len()` rows of `w`, into `norms`.
fn row_norms(w: &[f32], norms: &mut [f64]) {
    let d = w.len() / norms.len().max(1);
    for (j, n) in norms.iter_mut().enumerate() {
        *n = w[j * d..(j + 1) * d].iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    }
}
