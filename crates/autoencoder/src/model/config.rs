//! The model's configuration: the architecture as the user states it. It is validated
//! once, before any work, and stored in the model file as JSON.

use crate::data::dataset::ImageShape;
use crate::data::normalize::NormalizeKind;
use crate::error::{Error, Result};
use crate::layers::{Activation, Init};

/// A dense autoencoder: `input → layers[0] → … → layers[last] (the code)` for the
/// encoder, and `code → decoder_layers… → input` for the decoder, which by default
/// mirrors the encoder (`layers = [512, 256, 32]` gives 784-512-256-32-256-512-784).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Values per input row; 0 means "take it from the data" (set before building).
    pub input_dim: usize,
    /// Encoder widths from the first hidden layer down to the code. Default `[64]`.
    pub layers: Vec<usize>,
    /// Decoder hidden widths from the code up (the output layer, of width
    /// `input_dim`, is added). `None` mirrors the encoder.
    pub decoder_layers: Option<Vec<usize>>,
    /// Hidden activation. Default `relu`.
    pub activation: Activation,
    /// The code layer's activation; `None` uses `activation`.
    pub code_activation: Option<Activation>,
    /// The output activation. Default `sigmoid`.
    pub output_activation: Activation,
    /// Weight initialisation. Default `glorot_uniform`.
    pub init: Init,
    /// The normaliser fitted on the training rows. Default `none`.
    pub normalize: NormalizeKind,
    /// The image shape of a row, when the data are images (for grids and conv models).
    pub image_shape: Option<ImageShape>,
    /// A variational autoencoder: the last encoder layer outputs `(μ, log σ²)` (`2k`
    /// values, linear) and the code is the sample `z = μ + σ·ε` (`k` values). Default false.
    pub variational: bool,
    /// Dropout probability after every hidden layer of the encoder and decoder (not the
    /// code, not the output), during training only. Default 0.
    pub dropout: f64,
    /// Tied weights: each decoder layer's weight is the transpose of its mirror encoder
    /// layer's (kept as an exact transposed copy in the file, updated with the summed
    /// gradient of both uses, so any reader sees an ordinary model). Needs the mirrored
    /// decoder; not for variational models. Default false.
    pub tied: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            input_dim: 0,
            layers: vec![64],
            decoder_layers: None,
            activation: Activation::Relu,
            code_activation: None,
            output_activation: Activation::Sigmoid,
            init: Init::GlorotUniform,
            normalize: NormalizeKind::None,
            image_shape: None,
            variational: false,
            dropout: 0.0,
            tied: false,
        }
    }
}

/// The largest width a layer may have (a guard against typos like `--layers 6400000`).
pub const MAX_WIDTH: usize = 1 << 20;

/// The most parameters a model may have (2³⁰ floats, 4 GiB).
pub const MAX_PARAMS: usize = 1 << 30;

impl ModelConfig {
    /// Check every field once; the messages name the field.
    pub fn check(&self) -> Result<()> {
        if self.input_dim == 0 {
            return Err(Error::config(
                "input_dim",
                "the input width is 0; it is taken from the data when training",
            ));
        }
        if self.layers.is_empty() {
            return Err(Error::config(
                "layers",
                "at least one width (the code size) is needed, e.g. --layers 64",
            ));
        }
        let dec = self.decoder_widths();
        for (what, widths) in [("layers", &self.layers), ("decoder_layers", &dec)] {
            if let Some(w) = widths.iter().find(|&&w| w == 0 || w > MAX_WIDTH) {
                return Err(Error::config(what, format!("width {w} must be between 1 and {MAX_WIDTH}")));
            }
        }
        match self.param_count() {
            Some(p) if p <= MAX_PARAMS => {}
            _ => {
                return Err(Error::config(
                    "layers",
                    format!(
                        "{} needs more than {MAX_PARAMS} parameters (4 GiB); choose smaller widths",
                        self.describe()
                    ),
                ))
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config("dropout", format!("{} must be in [0, 1)", self.dropout)));
        }
        if self.tied
            && (self.variational
                || self.decoder_layers.as_ref().is_some_and(|d| *d != self.decoder_widths_mirrored()))
        {
            return Err(Error::config(
                "tied",
                "tied weights need the decoder to mirror the encoder (no decoder_layers of its own) and a model that is not variational",
            ));
        }
        if self.variational && self.code_activation.is_some_and(|a| a != Activation::Linear) {
            return Err(Error::config(
                "code_activation",
                "a variational model's code is the sample z = μ + σ·ε (no activation); leave code_activation unset",
            ));
        }
        if let Some(s) = self.image_shape {
            if s.len() != self.input_dim {
                return Err(Error::config(
                    "image_shape",
                    format!(
                        "{}×{}×{} = {} values, but rows have {}",
                        s.channels,
                        s.height,
                        s.width,
                        s.len(),
                        self.input_dim
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The code size (the last encoder width).
    pub fn code_dim(&self) -> usize {
        self.layers.last().copied().unwrap_or(0)
    }

    /// The decoder's hidden widths, from the code up, excluding the output layer.
    pub fn decoder_widths(&self) -> Vec<usize> {
        match &self.decoder_layers {
            Some(d) => d.clone(),
            None => self.layers.iter().rev().skip(1).copied().collect(),
        }
    }

    /// The `(inputs, outputs)` of each dense layer, encoder first; a variational model's
    /// last encoder layer has `2k` outputs (μ and log σ²).
    pub fn dense_shapes(&self) -> Vec<(usize, usize)> {
        let w = self.widths();
        let code_layer = self.layers.len() - 1;
        w.windows(2)
            .enumerate()
            .map(|(i, p)| if self.variational && i == code_layer { (p[0], 2 * p[1]) } else { (p[0], p[1]) })
            .collect()
    }

    /// The number of parameters, `None` when it overflows.
    pub fn param_count(&self) -> Option<usize> {
        if self.layers.is_empty() {
            return Some(0);
        }
        self.dense_shapes()
            .iter()
            .try_fold(0usize, |acc, &(i, o)| i.checked_mul(o)?.checked_add(o)?.checked_add(acc))
    }

    fn decoder_widths_mirrored(&self) -> Vec<usize> {
        self.layers.iter().rev().skip(1).copied().collect()
    }

    /// Every layer width from input to output: `[784, 64, 784]`.
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.input_dim];
        w.extend(&self.layers);
        w.extend(self.decoder_widths());
        w.push(self.input_dim);
        w
    }

    /// The widths as `784-512-256-32-256-512-784`.
    pub fn describe(&self) -> String {
        self.widths().iter().map(|w| w.to_string()).collect::<Vec<_>>().join("-")
    }
}

/// Parse a width list such as `512,256,32` (spaces allowed); `field` names the
/// setting in errors (`layers`, `decoder_layers`).
pub fn parse_widths(s: &str, field: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<usize>()
                .map_err(|_| Error::config(field, format!("{p:?} in {s:?} is not a whole number")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_models_are_refused_before_any_allocation() {
        let huge = ModelConfig { input_dim: 784, layers: vec![1 << 20], ..ModelConfig::default() };
        let e = huge.check().unwrap_err().to_string();
        assert!(e.contains("layers") && e.contains("parameters"), "{e}");
        let ok = ModelConfig { input_dim: 784, layers: vec![512, 256, 32], ..ModelConfig::default() };
        assert!(ok.check().is_ok());
    }

    #[test]
    fn width_lists_parse_and_name_their_field() {
        assert_eq!(parse_widths("512, 256,32", "layers").unwrap(), vec![512, 256, 32]);
        let e = parse_widths("3,x", "decoder_layers").unwrap_err().to_string();
        assert!(e.contains("decoder_layers"), "{e}");
    }
}
