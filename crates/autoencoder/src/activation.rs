//! The element-wise activation functions (`Activation`: names, parsing, the derivative
//! table), shared by the kernels that apply them and the layers that hold them.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// An element-wise activation `y = f(z)`. Its derivative is computed from the output
/// `y` wherever that is possible, so layers keep `z` only for GELU.
///
/// | name | f(z) | f′ in terms of y (or z) |
/// |---|---|---|
/// | `linear` | z | 1 |
/// | `relu` | max(z, 0) | 1 if y > 0 else 0 |
/// | `leaky_relu` | z if z > 0 else 0.01·z | 1 if y > 0 else 0.01 |
/// | `elu` | z if z > 0 else eᶻ − 1 | 1 if y > 0 else y + 1 |
/// | `gelu` | z·Φ(z) = ½z(1 + erf(z/√2)) | Φ(z) + z·φ(z) |
/// | `tanh` | tanh z | 1 − y² |
/// | `sigmoid` | 1/(1 + e⁻ᶻ) | y(1 − y) |
/// | `softplus` | ln(1 + eᶻ) | 1 − e⁻ʸ (= σ(z)) |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Identity.
    Linear,
    /// Rectified linear unit.
    Relu,
    /// Leaky ReLU with negative slope 0.01 (PyTorch's default).
    LeakyRelu,
    /// Exponential linear unit with α = 1.
    Elu,
    /// Gaussian error linear unit, the exact (erf) form.
    Gelu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// Softplus.
    Softplus,
}

/// The negative slope of [`Activation::LeakyRelu`].
pub const LEAKY_RELU_SLOPE: f32 = 0.01;

impl Activation {
    /// Every activation, in the order the docs list them.
    pub const ALL: [Activation; 8] = [
        Activation::Linear,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Elu,
        Activation::Gelu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Softplus,
    ];

    /// `f′(z)` computed from the output `y = f(z)`; `None` for GELU, whose derivative
    /// needs `z`.
    pub fn derivative_from_output(self, y: f32) -> Option<f32> {
        Some(match self {
            Activation::Linear => 1.0,
            Activation::Relu => f32::from(y > 0.0),
            Activation::LeakyRelu => {
                if y > 0.0 {
                    1.0
                } else {
                    LEAKY_RELU_SLOPE
                }
            }
            Activation::Elu => {
                if y > 0.0 {
                    1.0
                } else {
                    y + 1.0
                }
            }
            Activation::Gelu => return None,
            Activation::Tanh => 1.0 - y * y,
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Softplus => 1.0 - (-y).exp(),
        })
    }

    /// The name used in flags, TOML and the model file.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Elu => "elu",
            Activation::Gelu => "gelu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softplus => "softplus",
        }
    }

    /// Whether the backward pass needs the pre-activation `z` (not just `y`).
    pub fn needs_preactivation(self) -> bool {
        matches!(self, Activation::Gelu)
    }

    /// The output range, used to check targets against a loss (e.g. BCE needs [0, 1]).
    pub fn range(self) -> (f32, f32) {
        match self {
            Activation::Sigmoid => (0.0, 1.0),
            Activation::Tanh => (-1.0, 1.0),
            Activation::Relu | Activation::Softplus => (0.0, f32::INFINITY),
            Activation::Elu => (-1.0, f32::INFINITY),
            Activation::Gelu => (-0.17, f32::INFINITY),
            Activation::Linear | Activation::LeakyRelu => (f32::NEG_INFINITY, f32::INFINITY),
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        let norm = match norm.as_str() {
            "leakyrelu" => "leaky_relu",
            "identity" | "none" => "linear",
            other => other,
        }
        .to_string();
        Activation::ALL.iter().copied().find(|a| a.name() == norm).ok_or_else(|| {
            let names: Vec<_> = Activation::ALL.iter().map(|a| a.name()).collect();
            Error::config(
                "activation",
                format!("unknown activation {s:?}; expected one of {}", names.join(", ")),
            )
        })
    }
}
