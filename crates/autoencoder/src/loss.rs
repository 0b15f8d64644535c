//! Reconstruction losses (MSE, binary cross-entropy fused with a sigmoid output, MAE):
//! their values, their gradients, and the checks a target must pass.

use std::str::FromStr;

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::kernels::elementwise;

/// A reconstruction loss, averaged over every element of the batch (Keras' and
/// PyTorch's `reduction="mean"`): for `n` rows of `d` values,
/// - `mse`: `L = (1/nd) Σ (ŷ − y)²`;
/// - `bce`: `L = −(1/nd) Σ [y·ln ŷ + (1 − y)·ln(1 − ŷ)]`; with a sigmoid output it is
///   computed from the logits `z` as `max(z,0) − z·y + ln(1 + e^−|z|)`, which never
///   overflows, and its gradient is `∂L/∂z = (σ(z) − y)/nd` in one pass;
/// - `mae`: `L = (1/nd) Σ |ŷ − y|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean squared error.
    #[default]
    Mse,
    /// Binary cross-entropy; targets must lie in [0, 1].
    Bce,
    /// Mean absolute error.
    Mae,
}

impl Loss {
    /// Every loss.
    pub const ALL: [Loss; 3] = [Loss::Mse, Loss::Bce, Loss::Mae];

    /// The name used in flags and files.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Bce => "bce",
            Loss::Mae => "mae",
        }
    }

    /// Whether this loss takes its gradient straight at the logits of `output`.
    pub fn fuses_with(self, output: Activation) -> bool {
        self == Loss::Bce && output == Activation::Sigmoid
    }

    /// Check that targets suit the loss: BCE needs every value in [0, 1].
    /// `where_` names the data for the message (a file, `fashion-mnist:train`).
    pub fn check_targets(self, data: &[f32], cols: usize, where_: &str) -> Result<()> {
        if self != Loss::Bce {
            return Ok(());
        }
        check_unit_interval(
            data,
            cols,
            where_,
            "binary cross-entropy",
            "use loss = mse, or min-max normalise the data (normalize = minmax)",
        )
    }

    /// The summed loss `Σ ℓ` over a batch of outputs `y` (not yet divided by `nd`)
    /// and, when `grad` is given, `∂L/∂ŷ` written there with the `1/nd` mean folded
    /// in. BCE here works on probabilities (clipped as Keras does); a sigmoid output
    /// trained with BCE goes through [`Loss::evaluate_logits`] instead.
    pub fn evaluate(self, y: &[f32], target: &[f32], grad: Option<&mut [f32]>) -> f64 {
        self.evaluate_scaled(y, target, grad, 1.0 / y.len().max(1) as f32)
    }

    /// [`Loss::evaluate`] with the gradient scaled by `scale` in place of `1/nd` (a
    /// micro-batch's share of a larger batch's mean).
    pub(crate) fn evaluate_scaled(
        self,
        y: &[f32],
        target: &[f32],
        grad: Option<&mut [f32]>,
        scale: f32,
    ) -> f64 {
        match self {
            Loss::Bce => elementwise::bce_probabilities(y, target, grad, scale),
            Loss::Mse => elementwise::squared_error(y, target, grad, scale),
            Loss::Mae => elementwise::absolute_error(y, target, grad, scale),
        }
    }

    /// BCE fused with the sigmoid output, from the logits `z`: `Σ ℓ` and, when `grad`
    /// is given, `∂L/∂z = (σ(z) − y)/nd`, in one pass that never overflows.
    pub fn evaluate_logits(self, z: &[f32], target: &[f32], grad: Option<&mut [f32]>) -> f64 {
        self.evaluate_logits_scaled(z, target, grad, 1.0 / z.len().max(1) as f32)
    }

    /// [`Loss::evaluate_logits`] with the gradient scaled by `scale` in place of `1/nd`.
    pub(crate) fn evaluate_logits_scaled(
        self,
        z: &[f32],
        target: &[f32],
        grad: Option<&mut [f32]>,
        scale: f32,
    ) -> f64 {
        debug_assert_eq!(self, Loss::Bce);
        elementwise::bce_with_logits(z, target, grad, scale)
    }
}

/// Refuse a value of `data` (rows of `cols`, from `where_`) outside [0, 1], naming its
/// row and column, the data's span, what `needs` them and the `advice`.
pub(crate) fn check_unit_interval(
    data: &[f32],
    cols: usize,
    where_: &str,
    needs: &str,
    advice: &str,
) -> Result<()> {
    if let Some(i) = elementwise::first_outside_unit(data) {
        let (lo, hi) =
            data.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        return Err(Error::Data(format!(
            "{where_}: {needs} needs values in [0, 1], but row {} column {} is {} (the data spans {lo} to {hi}); {advice}",
            i / cols.max(1) + 1,
            i % cols.max(1) + 1,
            data[i]
        )));
    }
    Ok(())
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "mse" | "mean_squared_error" | "l2" => Ok(Loss::Mse),
            "bce" | "binary_crossentropy" | "binary_cross_entropy" | "cross_entropy" => Ok(Loss::Bce),
            "mae" | "mean_absolute_error" | "l1" => Ok(Loss::Mae),
            _ => Err(Error::config("loss", format!("unknown loss {s:?}; expected mse, bce or mae"))),
        }
    }
}
