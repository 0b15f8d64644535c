//! The model's configuration: the architecture as the user states it. It is validated
//! once, before any work, and stored in the model file as JSON.

use super::detector::ScoreKind;
use crate::activation::Activation;
use crate::data::dataset::{Dataset, ImageShape};
use crate::data::normalize::NormalizeKind;
use crate::error::{Error, Result};
use crate::layers::Init;

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
    pub score: Option<ScoreKind>,
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

impl std::fmt::Display for Arch {
    /// `dense` or `conv`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arch::Dense => "dense",
            Arch::Conv => "conv",
        })
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

impl std::fmt::Display for Downsample {
    /// `stride` or `pool`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Downsample::Stride => "stride",
            Downsample::Pool => "pool",
        })
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

impl ModelConfig {
    /// The model of the tabular anomaly preset for `d` features
    /// ([`crate::anomaly::tabular_defaults`], which says why): z-scored features; an
    /// encoder `d → d → ⌈d/2⌉ → ⌈d/4⌉ → c` with the code `c = ⌈√d⌉` (no layer narrower
    /// than the code), mirrored; tanh hidden units, linear code and output; dropout 0.2
    /// after the hidden layers; rows scored by `root`.
    pub fn tabular(d: usize) -> ModelConfig {
        let code = ((d as f64).sqrt().ceil() as usize).max(1);
        let width = |f: usize| d.div_ceil(f).max(code);
        ModelConfig {
            input_dim: d,
            layers: vec![width(1), width(2), width(4), code],
            activation: Activation::Tanh,
            code_activation: Some(Activation::Linear),
            output_activation: Activation::Linear,
            normalize: NormalizeKind::ZScore,
            dropout: 0.2,
            score: Some(ScoreKind::Root),
            ..ModelConfig::default()
        }
    }

    /// The defaults for `data`: what `ae train FILE` builds when no setting is given.
    ///
    /// - Images (`data.image_shape` is set): [`ModelConfig::default`] — a 64-wide code,
    ///   relu, a sigmoid output, no normalisation (pixels are in [0, 1]).
    /// - Tables: the tabular preset's architecture ([`crate::anomaly::tabular_defaults`]
    ///   without its dropout and score): `d → d → ⌈d/2⌉ → ⌈d/4⌉ → ⌈√d⌉` with tanh and a
    ///   linear code, so the code is narrower than the row (a 64-wide code on 5 columns
    ///   learns the identity); and when any value lies outside [0, 1], z-scores fitted on
    ///   the training rows with a linear output, which can reconstruct them (a sigmoid
    ///   output on raw values cannot go below 0 or above 1).
    pub fn for_data(data: &Dataset) -> ModelConfig {
        ModelConfig::for_data_in(data, data.value_range())
    }

    /// [`for_data`](Self::for_data) where `range` is the range of all the rows, of
    /// which `data` is a part (rows read a chunk at a time, or shared out among
    /// processes): the defaults the whole rows would choose.
    pub fn for_data_in(data: &Dataset, range: crate::data::ValueRange) -> ModelConfig {
        if data.image_shape.is_some() {
            return ModelConfig::default();
        }
        let tabular = ModelConfig::tabular(data.cols());
        let unit = range.is_unit();
        let (normalize, output_activation) = if unit {
            (NormalizeKind::None, ModelConfig::default().output_activation)
        } else {
            (NormalizeKind::ZScore, Activation::Linear)
        };
        ModelConfig {
            input_dim: 0,
            layers: tabular.layers,
            activation: tabular.activation,
            code_activation: tabular.code_activation,
            output_activation,
            normalize,
            ..ModelConfig::default()
        }
    }

    /// Advice about settings that are valid but unlikely to train well, one sentence
    /// each, for the caller to show (the library prints nothing; empty when there is
    /// none). Today: z-scored data (values on both sides of 0, a third of them beyond
    /// ±1) with an output activation whose range cannot hold them — `sigmoid` (0, 1),
    /// `relu` and `softplus` (≥ 0), `tanh` (−1, 1), `elu` (> −1), `gelu` (≥ −0.17); a
    /// `linear` or `leaky_relu` output can.
    ///
    /// None of this is refused: such a model is well defined, trains (to a loss floor)
    /// and scores, and [`ModelConfig::check`] also runs on every model file read, so
    /// refusing would make existing files unreadable.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let code = self.layers.last().copied().unwrap_or(0);
        if self.input_dim > 0 && self.arch == Arch::Dense && code >= self.input_dim && !self.variational {
            out.push(format!(
                "the code ({code} values) is not narrower than a row ({} values): the model can learn to copy its input; give narrower layers, e.g. layers = [{}]",
                self.input_dim,
                (self.input_dim / 2).max(1)
            ));
        }
        if self.normalize == NormalizeKind::ZScore {
            let act = self.output_activation;
            let unreachable = match act {
                Activation::Sigmoid => Some("below 0 and above 1"),
                Activation::Relu | Activation::Softplus => Some("below 0"),
                Activation::Tanh => Some("below −1 and above 1"),
                Activation::Elu => Some("below −1"),
                Activation::Gelu => Some("below −0.17"),
                Activation::Linear | Activation::LeakyRelu => None,
            };
            if let Some(values) = unreachable {
                let article = if act.name().starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
                out.push(format!(
                    "z-scored data has values {values} that {article} {act} output cannot reconstruct; \
                     use a linear output (output_activation = linear)"
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod warning_tests {
    use super::*;

    /// Z-scored data with an output that cannot go below 0 (or beyond ±1) is warned
    /// about, naming the activation and the fix; a linear output, or min-max data, is not.
    #[test]
    fn zscore_with_a_bounded_output_is_warned_about() {
        let cfg = |normalize, output_activation| ModelConfig {
            input_dim: 4,
            layers: vec![2],
            normalize,
            output_activation,
            ..ModelConfig::default()
        };
        let w = cfg(NormalizeKind::ZScore, Activation::Sigmoid).warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("z-scored data has values below 0"), "{w:?}");
        assert!(w[0].contains("a sigmoid output") && w[0].contains("output_activation = linear"), "{w:?}");
        let bounded =
            [Activation::Relu, Activation::Softplus, Activation::Tanh, Activation::Elu, Activation::Gelu];
        for act in bounded {
            let w = cfg(NormalizeKind::ZScore, act).warnings();
            assert!(w.len() == 1 && w[0].contains(&format!(" {act} output")), "{act}: {w:?}");
        }
        assert!(cfg(NormalizeKind::ZScore, Activation::Elu).warnings()[0].contains("an elu output"));
        for act in [Activation::Linear, Activation::LeakyRelu] {
            assert!(cfg(NormalizeKind::ZScore, act).warnings().is_empty(), "{act}");
        }
        for act in Activation::ALL {
            assert!(cfg(NormalizeKind::MinMax, act).warnings().is_empty(), "{act}");
            assert!(cfg(NormalizeKind::None, act).warnings().is_empty(), "{act}");
        }
        // A code as wide as the rows can learn to copy them.
        let wide = ModelConfig { layers: vec![4], ..cfg(NormalizeKind::None, Activation::Sigmoid) };
        let w = wide.warnings();
        assert!(
            w.len() == 1 && w[0].starts_with("the code (4 values) is not narrower than a row (4 values)"),
            "{w:?}"
        );
        let unknown_width = ModelConfig { input_dim: 0, ..wide };
        assert!(unknown_width.warnings().is_empty());
        // Warned about, not refused.
        assert!(cfg(NormalizeKind::ZScore, Activation::Sigmoid).check().is_ok());
    }
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

/// Model files larger than this are refused before reading (1 GiB = 268M parameters);
/// [`ModelConfig::check`] refuses a model whose file could pass it.
pub const MAX_MODEL_BYTES: u64 = 1 << 30;

pub use crate::data::dataset::MAX_WIDTH;

/// The widest layer `layers` and `decoder_layers` may list: 65,536 units (a guard
/// against typos like `--layers 300000`, whose model no file could hold).
pub const MAX_LAYER_WIDTH: usize = 1 << 16;

/// The most entries `layers`, `decoder_layers` and `channels` may each list (so a
/// configuration, and every message about it, stays small).
pub const MAX_LAYERS: usize = 64;

/// The most parameters a model may have: as many f32 values as the largest model file
/// holds, 2²⁸ (1 GiB, [`MAX_MODEL_BYTES`]). [`ModelConfig::check`] bounds
/// the whole file, which is tighter.
pub const MAX_PARAMS: usize = (MAX_MODEL_BYTES / 4) as usize;

/// What [`ModelConfig::file_bytes_bound`] allows for the metadata that the widths do not
/// size (the configuration and the training summary's JSON): 4 MiB.
pub const METADATA_ALLOWANCE: u64 = 4 << 20;

/// The most bytes one number of the metadata takes as JSON (an f32's shortest text,
/// `-1.1754944e-38`, and its comma).
const JSON_BYTES_PER_VALUE: u64 = 16;

/// The most characters of [`ModelConfig::describe`] quoted in a message.
const DESCRIBE_IN_MESSAGES: usize = 120;

impl ModelConfig {
    /// The anomaly score fits the model: `elbo` needs a variational model. (Part of
    /// [`ModelConfig::check`]; on its own, it can run before the input width is known.)
    pub fn check_score(&self) -> Result<()> {
        if self.score == Some(ScoreKind::Elbo) && !self.variational {
            return Err(Error::config(
                "score",
                "elbo is the score of variational models; use mse, mae, root or standardized",
            ));
        }
        Ok(())
    }

    /// Check every field once; the messages name the field. Returns the plan of the
    /// layers (computed once, here), which [`crate::Autoencoder`] builds from.
    pub fn check(&self) -> Result<super::plan::Plan> {
        if self.input_dim == 0 {
            return Err(Error::config(
                "input_dim",
                "the input width is 0; it is taken from the data when training",
            ));
        }
        self.check_score()?;
        self.check_widths()?;
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
                    "a conv model needs its blocks' channels, e.g. channels = [32, 64]",
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
            return Err(Error::config(field, format!("{field} is for conv models; add arch = conv")));
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
        // The file this model would be saved to must be one the reader accepts.
        let limit = MAX_MODEL_BYTES;
        match (plan.param_count(), self.file_bytes_bound_of(&plan)) {
            (Some(_), Some(b)) if b <= limit => {}
            (Some(p), b) => {
                return Err(Error::config(
                    "layers",
                    format!(
                        "{} has {p} parameters: its model file would take {}, more than the {} MiB a model file may have; choose smaller widths",
                        self.describe_short(),
                        b.map_or_else(|| "over 2^64 bytes".into(), |b| format!("{} MiB", b.div_ceil(1 << 20))),
                        limit >> 20
                    ),
                ))
            }
            (None, _) => {
                return Err(Error::config(
                    "layers",
                    format!(
                        "{} needs more parameters than can be counted ({MAX_PARAMS} at most); choose smaller widths",
                        self.describe_short()
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
        Ok(plan)
    }

    /// The part of [`check`](Self::check) that needs no input width, so it can run before
    /// the data are read: `layers` is not empty; `layers`, `decoder_layers` and `channels`
    /// list at most [`MAX_LAYERS`] entries; every width is 1 to [`MAX_LAYER_WIDTH`]. The
    /// messages name the field and never repeat the list.
    pub fn check_widths(&self) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::config(
                "layers",
                "at least one width (the code size) is needed, e.g. layers = [64]",
            ));
        }
        let decoder = self.decoder_layers.as_deref().unwrap_or(&[]);
        for (what, n, unit) in [
            ("layers", self.layers.len(), "encoder layers"),
            ("decoder_layers", decoder.len(), "decoder layers"),
            ("channels", self.channels.len(), "convolutional blocks"),
        ] {
            if n > MAX_LAYERS {
                return Err(Error::config(
                    what,
                    format!("{n} entries: expected at most {MAX_LAYERS} {unit}"),
                ));
            }
        }
        for (what, widths) in [("layers", &self.layers[..]), ("decoder_layers", decoder)] {
            if let Some((i, w)) = widths.iter().enumerate().find(|&(_, &w)| w == 0 || w > MAX_LAYER_WIDTH) {
                return Err(Error::config(
                    what,
                    format!("width {w} (entry {}) must be between 1 and {MAX_LAYER_WIDTH}", i + 1),
                ));
            }
        }
        Ok(())
    }

    /// An upper bound on the bytes of the model file this configuration is saved to:
    /// the parameters (4 bytes each), the codec's histogram when the code gets one
    /// ([`crate::codec::Codec::supports`]), the metadata that grows with the widths
    /// (normaliser, threshold and codec ranges, as JSON) and [`METADATA_ALLOWANCE`] for
    /// the rest. `None` on overflow or when the shapes do not fit. [`check`](Self::check)
    /// refuses a configuration whose bound passes [`MAX_MODEL_BYTES`].
    pub fn file_bytes_bound(&self) -> Option<u64> {
        self.file_bytes_bound_of(&self.plan().ok()?)
    }

    fn file_bytes_bound_of(&self, plan: &super::plan::Plan) -> Option<u64> {
        let params = u64::try_from(plan.param_count()?).ok()?.checked_mul(4)?;
        let k = self.code_dim();
        let histogram =
            if crate::codec::Codec::supports(k) { crate::codec::Codec::histogram_bytes(k)? } else { 0 };
        // Normaliser offset and scale, the threshold's feature scales (d each); the
        // codec's lower and upper ends (k each).
        let values = (self.input_dim as u64).checked_mul(3)?.checked_add((k as u64).checked_mul(2)?)?;
        let metadata = values.checked_mul(JSON_BYTES_PER_VALUE)?.checked_add(METADATA_ALLOWANCE)?;
        params.checked_add(histogram)?.checked_add(metadata)
    }

    /// [`describe`](Self::describe) for messages: cut to a few dozen characters.
    pub(crate) fn describe_short(&self) -> String {
        let d = self.describe();
        match d.char_indices().nth(DESCRIBE_IN_MESSAGES) {
            Some((i, _)) => format!("{}…", &d[..i]),
            None => d,
        }
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
/// setting in errors (`layers`, `decoder_layers`). An empty entry (`3,,2`, a trailing
/// comma, an empty list) is an error, not skipped.
pub fn parse_widths(s: &str, field: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, p)| {
            if p.is_empty() {
                return Err(Error::config(
                    field,
                    format!(
                        "entry {} of {s:?} is empty; give widths separated by single commas, e.g. 512,256,32",
                        i + 1
                    ),
                ));
            }
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
        let huge = ModelConfig { input_dim: 784, layers: vec![1 << 16, 1 << 16], ..ModelConfig::default() };
        let e = huge.check().unwrap_err().to_string();
        assert!(e.contains("layers") && e.contains("parameters") && e.contains("MiB"), "{e}");
        let ok = ModelConfig { input_dim: 784, layers: vec![512, 256, 32], ..ModelConfig::default() };
        assert!(ok.check().is_ok());
    }

    /// Widths above the limit (`--layers 300000` on five columns, which used to write a
    /// 1.25 GB model no reader accepts) and lists longer than `MAX_LAYERS` are refused by
    /// `check_widths`, which needs no data, with a short message naming the field.
    #[test]
    fn too_wide_and_too_many_layers_are_refused_without_data() {
        let cfg = |layers: Vec<usize>| ModelConfig { layers, ..ModelConfig::default() };
        for w in [300_000, 1_000_000, usize::MAX, MAX_LAYER_WIDTH + 1, 0] {
            let c = ModelConfig { input_dim: 5, ..cfg(vec![w]) };
            for e in [c.check_widths().unwrap_err(), c.check().unwrap_err()] {
                let e = e.to_string();
                assert!(e.starts_with("invalid layers:") && e.contains(&w.to_string()), "{e}");
                assert!(e.contains(&MAX_LAYER_WIDTH.to_string()) && e.len() < 120, "{e}");
            }
        }
        cfg(vec![MAX_LAYER_WIDTH]).check_widths().unwrap();
        let e = cfg(vec![8; 100_000]).check_widths().unwrap_err().to_string();
        assert!(e.starts_with("invalid layers:") && e.contains("100000") && e.len() < 120, "{e}");
        cfg(vec![8; MAX_LAYERS]).check_widths().unwrap();
        let dec = ModelConfig { decoder_layers: Some(vec![4; MAX_LAYERS + 1]), ..cfg(vec![4]) };
        assert!(dec.check_widths().unwrap_err().to_string().starts_with("invalid decoder_layers:"));
        let dec = ModelConfig { decoder_layers: Some(vec![4, 1 << 20]), ..cfg(vec![4]) };
        assert!(dec.check_widths().unwrap_err().to_string().contains("entry 2"));
        let conv = ModelConfig { channels: vec![2; 1000], ..cfg(vec![4]) };
        assert!(conv.check_widths().unwrap_err().to_string().starts_with("invalid channels:"));
    }

    /// The check bounds the whole file a model writes (parameters, codec histogram,
    /// metadata) by what `file::load` reads, so every model that trains can be read back;
    /// the bound counts the histogram only for codes that get a codec.
    #[test]
    fn the_model_file_is_bounded_by_what_the_reader_accepts() {
        let limit = MAX_MODEL_BYTES;
        let c = |input_dim, layers: Vec<usize>| ModelConfig { input_dim, layers, ..ModelConfig::default() };
        // 5 → 4096 → 5: 45 061 parameters, a 16 MiB histogram, 4 MiB of metadata allowance.
        let small = c(5, vec![4096]);
        let b = small.file_bytes_bound().unwrap();
        assert_eq!(b, 45_061 * 4 + (16 << 20) + (3 * 5 + 2 * 4096) * 16 + METADATA_ALLOWANCE);
        // One unit wider: no codec, so no histogram.
        let wide = c(5, vec![4097]);
        assert!(wide.file_bytes_bound().unwrap() < b);
        // About 2^27 parameters pass (0.5 GiB); twice as many do not.
        let near = c(1024, vec![1 << 16]);
        assert!(near.file_bytes_bound().unwrap() <= limit);
        near.check().unwrap();
        let over = c(2048, vec![1 << 16]);
        assert!(over.file_bytes_bound().unwrap() > limit);
        let e = over.check().unwrap_err().to_string();
        assert!(e.starts_with("invalid layers:") && e.contains("1024 MiB"), "{e}");
        // A huge input width is refused by the bound, with a short message.
        let e = c(1 << 40, vec![4]).check().unwrap_err().to_string();
        assert!(e.len() < 300, "{e}");
    }

    #[test]
    fn width_lists_parse_and_name_their_field() {
        assert_eq!(parse_widths("512, 256,32", "layers").unwrap(), vec![512, 256, 32]);
        let e = parse_widths("3,x", "decoder_layers").unwrap_err().to_string();
        assert!(e.contains("decoder_layers"), "{e}");
    }

    /// "3,,2" was read as [3, 2] and "64," as [64]: an empty entry is refused, naming the
    /// field, the entry and the text.
    #[test]
    fn empty_width_entries_are_refused() {
        for (text, entry) in [("3,,2", 2), ("64,", 2), (",8", 1), ("", 1), ("4, ,2", 2)] {
            let e = parse_widths(text, "layers").unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "invalid layers: entry {entry} of {text:?} is empty; give widths separated by single commas, e.g. 512,256,32"
                )
            );
        }
        assert_eq!(parse_widths(" 3 , 2 ", "channels").unwrap(), vec![3, 2]);
    }
}
