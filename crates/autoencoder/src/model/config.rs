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
    /// `dense` (default) or `conv`: convolutional blocks before the dense layers, which
    /// then start from the flattened map, and mirrored transposed blocks after them.
    #[serde(skip_serializing_if = "Arch::is_dense")]
    pub arch: Arch,
    /// The convolutional blocks' channels, first block first (`[32, 64]`); each block
    /// halves the image's height and width. Conv models only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<usize>,
    /// The convolutions' kernel side (padding `(k − 1)/2`). Default 3.
    #[serde(skip_serializing_if = "is_default_kernel")]
    pub kernel_size: usize,
    /// How a block halves the size: a stride-2 convolution (default; the decoder uses
    /// stride-2 transposed convolutions), or a stride-1 convolution then 2×2 max
    /// pooling (the decoder upsamples, then convolves).
    #[serde(skip_serializing_if = "Downsample::is_stride")]
    pub downsample: Downsample,
    /// Conv: batch normalisation (`BatchNorm2d`) after every convolution but the
    /// output's, before its activation. Default false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub batch_norm: bool,
    /// The anomaly score this model is meant for: the default of `ae score` and of a
    /// threshold, and the score that ranks rows for [`crate::TrainConfig::trim`]. `None`: `elbo` for variational models, else `mse`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<crate::anomaly::ScoreKind>,
}

/// The family of encoder and decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// Dense layers only.
    #[default]
    Dense,
    /// Convolutional blocks around a dense code.
    Conv,
}

impl Arch {
    fn is_dense(&self) -> bool {
        *self == Arch::Dense
    }
}

impl std::str::FromStr for Arch {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dense" => Ok(Arch::Dense),
            "conv" => Ok(Arch::Conv),
            _ => Err(Error::config("arch", format!("{s:?} is not an architecture; use dense or conv"))),
        }
    }
}

/// How a convolutional block halves the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Downsample {
    /// Stride-2 convolutions (and stride-2 transposed convolutions back).
    #[default]
    Stride,
    /// Stride-1 convolutions and 2×2 max pooling (nearest upsampling back).
    Pool,
}

impl Downsample {
    fn is_stride(&self) -> bool {
        *self == Downsample::Stride
    }
}

impl std::str::FromStr for Downsample {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "stride" => Ok(Downsample::Stride),
            "pool" => Ok(Downsample::Pool),
            _ => Err(Error::config("downsample", format!("{s:?} is not a choice; use stride or pool"))),
        }
    }
}

fn is_default_kernel(k: &usize) -> bool {
    *k == 3
}

/// The most channels a convolutional block may have.
pub const MAX_CHANNELS: usize = 4096;
/// The largest kernel side.
pub const MAX_KERNEL: usize = 15;

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
            arch: Arch::Dense,
            channels: Vec::new(),
            kernel_size: 3,
            downsample: Downsample::Stride,
            batch_norm: false,
            score: None,
        }
    }
}

/// The largest width a layer may have (a guard against typos like `--layers 6400000`).
pub const MAX_WIDTH: usize = 1 << 20;

/// The most parameters a model may have (2³⁰ floats, 4 GiB).
pub const MAX_PARAMS: usize = 1 << 30;

impl ModelConfig {
    /// The anomaly score fits the model: `elbo` needs a variational model. (Part of
    /// [`ModelConfig::check`]; on its own, it can run before the input width is known.)
    pub fn check_score(&self) -> Result<()> {
        if self.score == Some(crate::anomaly::ScoreKind::Elbo) && !self.variational {
            return Err(Error::config(
                "score",
                "elbo is the score of variational models; use mse, mae, root or standardized",
            ));
        }
        Ok(())
    }

    /// Check every field once; the messages name the field.
    pub fn check(&self) -> Result<()> {
        if self.input_dim == 0 {
            return Err(Error::config(
                "input_dim",
                "the input width is 0; it is taken from the data when training",
            ));
        }
        self.check_score()?;
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
        if self.arch == Arch::Conv {
            if self.channels.is_empty() {
                return Err(Error::config(
                    "channels",
                    "a conv model needs its blocks' channels, e.g. --channels 32,64",
                ));
            }
            if let Some(c) = self.channels.iter().find(|&&c| c == 0 || c > MAX_CHANNELS) {
                return Err(Error::config(
                    "channels",
                    format!("{c} channels; each block has 1 to {MAX_CHANNELS}"),
                ));
            }
            if self.kernel_size == 0 || self.kernel_size > MAX_KERNEL {
                return Err(Error::config(
                    "kernel_size",
                    format!("{} must be between 1 and {MAX_KERNEL}", self.kernel_size),
                ));
            }
            if self.decoder_layers.is_some() || self.tied {
                return Err(Error::config(
                    "arch",
                    "a conv model's decoder mirrors its encoder: decoder_layers and tied are for dense models",
                ));
            }
        } else if !self.channels.is_empty() || self.batch_norm {
            let field = if self.batch_norm { "batch_norm" } else { "channels" };
            return Err(Error::config(field, format!("{field} is for conv models; add --arch conv")));
        }
        let plan = self.plan()?;
        if let Some((i, w)) = plan
            .layers
            .iter()
            .map(super::plan::LayerPlan::output_width)
            .enumerate()
            .find(|&(_, w)| w > MAX_WIDTH * 16)
        {
            return Err(Error::config(
                "channels",
                format!("layer {} would output {w} values per row (more than {}); use fewer channels or smaller images", i + 1, MAX_WIDTH * 16),
            ));
        }
        match plan.param_count() {
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

    /// The number of parameters, `None` when it overflows or the shapes do not fit.
    pub fn param_count(&self) -> Option<usize> {
        if self.layers.is_empty() {
            return Some(0);
        }
        self.plan().ok()?.param_count()
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

    /// The widths as `784-512-256-32-256-512-784`; a conv model's as
    /// `1×28×28-c32-c64-32-c64-c32-1×28×28` (`cN`: a block of `N` channels).
    pub fn describe(&self) -> String {
        let dense = || self.widths().iter().map(|w| w.to_string()).collect::<Vec<_>>().join("-");
        match (self.arch, self.image_shape) {
            (Arch::Conv, Some(s)) => {
                let image = format!("{}×{}×{}", s.channels, s.height, s.width);
                let blocks: Vec<String> = self.channels.iter().map(|c| format!("c{c}")).collect();
                let mut parts = vec![image.clone()];
                parts.extend(blocks.iter().cloned());
                parts.extend(self.layers.iter().map(|w| w.to_string()));
                parts.extend(self.decoder_widths().iter().map(|w| w.to_string()));
                parts.extend(blocks.iter().rev().cloned());
                parts.push(image);
                parts.join("-")
            }
            _ => dense(),
        }
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
