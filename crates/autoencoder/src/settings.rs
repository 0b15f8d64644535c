//! The settings of a training run as a front takes them (`ae train`'s flags, the
//! Python package's keywords): each one optional, laid over a starting point — the
//! defaults chosen from the data, a preset, or a configuration — into [`Params`].
//!
//! Every front resolves its settings here, so that the same settings give the same
//! [`Params`] (and so the same model bytes) whichever front was used.
//!
//! ```
//! use autoencoder::{data::synthetic, Settings};
//!
//! let data = synthetic::generate(64, 0);
//! let mut s = Settings::default();
//! s.set("layers", &serde_json::json!([8]))?;
//! s.set("epochs", &serde_json::json!(3))?;
//! let chosen = s.for_data(&data)?;
//! assert_eq!(chosen.params.model.layers, vec![8]);
//! assert_eq!(chosen.params.training.epochs, 3);
//! # Ok::<(), autoencoder::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::activation::Activation;
use crate::anomaly::{tabular_defaults, ScoreKind};
use crate::data::{Dataset, NormalizeKind};
use crate::error::{Error, Result};
use crate::layers::Init;
use crate::loss::Loss;
use crate::model::{parse_widths, Arch, Downsample, ModelConfig};
use crate::optim::{OptimizerConfig, OptimizerKind, Schedule};
use crate::params::Params;
use crate::train::{Corruption, Sparsity, TrainConfig};

/// A starting point other than the defaults chosen from the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The anomaly-detection defaults for tables ([`tabular_defaults`]).
    Tabular,
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Preset::Tabular => "tabular",
        })
    }
}

impl FromStr for Preset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tabular" => Ok(Preset::Tabular),
            _ => Err(Error::config("preset", format!("unknown preset {s:?}; expected tabular"))),
        }
    }
}

/// How one setting's value is read from a front's value ([`Settings::set`]).
trait SettingValue: Sized {
    fn read(name: &str, v: &Value) -> Result<Self>;
}

fn expected(name: &str, what: &str, v: &Value) -> Error {
    Error::config(name, format!("expected {what}, got {v}"))
}

impl SettingValue for f64 {
    fn read(name: &str, v: &Value) -> Result<Self> {
        v.as_f64().ok_or_else(|| expected(name, "a number", v))
    }
}

/// "a whole number ≥ 0", with the largest when `v` is a whole number past it (JSON
/// reads one past 2⁶⁴ − 1 as a float, `1.8446744073709552e19`).
fn whole_number(name: &str, v: &Value, most: u64) -> Error {
    let past = match v.as_u64() {
        Some(n) => n > most,
        None => v.as_f64().is_some_and(|f| f.fract() == 0.0 && f >= most as f64),
    };
    let what = if past { format!("a whole number from 0 to {most}") } else { "a whole number ≥ 0".into() };
    expected(name, &what, v)
}

impl SettingValue for usize {
    fn read(name: &str, v: &Value) -> Result<Self> {
        v.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| whole_number(name, v, usize::MAX as u64))
    }
}

impl SettingValue for u64 {
    fn read(name: &str, v: &Value) -> Result<Self> {
        v.as_u64().ok_or_else(|| whole_number(name, v, u64::MAX))
    }
}

impl SettingValue for bool {
    fn read(name: &str, v: &Value) -> Result<Self> {
        v.as_bool().ok_or_else(|| expected(name, "true or false", v))
    }
}

/// A list of widths: `[512, 256]`, `"512,256"` or one number.
impl SettingValue for Vec<usize> {
    fn read(name: &str, v: &Value) -> Result<Self> {
        match v {
            Value::String(s) => parse_widths(s, name),
            Value::Number(_) => Ok(vec![usize::read(name, v)?]),
            Value::Array(items) => items.iter().map(|i| usize::read(name, i)).collect(),
            _ => Err(expected(name, "a list of widths such as [512, 256]", v)),
        }
    }
}

/// The values written as text on the command line (`relu`, `gaussian:0.1`, `cosine`).
macro_rules! parsed_setting {
    ($($t:ty),*) => {$(
        impl SettingValue for $t {
            fn read(name: &str, v: &Value) -> Result<Self> {
                let s = v.as_str().ok_or_else(|| expected(name, "a string", v))?;
                // The parser's message, under this setting's name.
                s.parse::<$t>().map_err(|e| match e {
                    Error::Config { message, .. } => Error::config(name, message),
                    e => Error::config(name, e.to_string()),
                })
            }
        }
    )*};
}

parsed_setting!(
    Activation,
    Arch,
    Downsample,
    Init,
    NormalizeKind,
    Loss,
    OptimizerKind,
    Schedule,
    Corruption,
    Sparsity,
    ScoreKind,
    Preset
);

macro_rules! settings {
    ($( $(#[$doc:meta])* $name:ident : $kind:ident $(< $t:ty >)? ),* $(,)?) => {
        /// Every setting of `ae train`, each one optional (`None`, or `false` for a
        /// switch, leaves the starting point's value). The names are the flags' (with
        /// `_` for `-`) and the Python package's keywords.
        #[derive(Debug, Clone, Default, PartialEq)]
        #[non_exhaustive]
        pub struct Settings {
            $( $(#[$doc])* pub $name: settings!(@ty $kind $(< $t >)?), )*
        }

        impl Settings {
            /// The settings' names, in the order `ae train --help` lists them.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// Set the setting `name` from a front's value: a number, a switch (`true`),
            /// a name or text as on the command line (`"relu"`, `"gaussian:0.1"`), or a
            /// list of widths. `null` leaves it unset. An unknown name or a value of the
            /// wrong kind is an error naming the setting.
            pub fn set(&mut self, name: &str, value: &Value) -> Result<()> {
                match name {
                    $( stringify!($name) => settings!(@set self.$name, $kind, name, value), )*
                    _ => Err(Error::config(name, "no such setting")),
                }
            }
        }
    };
    (@ty Flag) => { bool };
    (@ty Opt<$t:ty>) => { Option<$t> };
    (@set $field:expr, Flag, $name:expr, $v:expr) => {{
        $field = if $v.is_null() { false } else { bool::read($name, $v)? };
        Ok(())
    }};
    (@set $field:expr, Opt, $name:expr, $v:expr) => {{
        $field = if $v.is_null() { None } else { Some(SettingValue::read($name, $v)?) };
        Ok(())
    }};
}

settings! {
    /// Hidden widths of the encoder (the last is the code).
    layers: Opt<Vec<usize>>,
    /// `dense` or `conv`.
    arch: Opt<Arch>,
    /// Conv: channels per encoder stage.
    channels: Opt<Vec<usize>>,
    /// Conv: the kernel's side.
    kernel_size: Opt<usize>,
    /// Conv: `stride` or `pool`.
    downsample: Opt<Downsample>,
    /// Conv: batch norm after every hidden convolution.
    batch_norm: Flag,
    /// The decoder's widths when not the encoder's mirror.
    decoder_layers: Opt<Vec<usize>>,
    /// The hidden activation.
    activation: Opt<Activation>,
    /// The code layer's activation.
    code_activation: Opt<Activation>,
    /// A variational autoencoder.
    variational: Flag,
    /// VAE: the KL weight β.
    beta: Opt<f64>,
    /// VAE: epochs over which the KL weight rises to β.
    kl_warmup: Opt<usize>,
    /// VAE: train on the importance-weighted bound of this many samples (IWAE).
    iw_train: Opt<usize>,
    /// A starting point instead of the data's defaults.
    preset: Opt<Preset>,
    /// Tied weights.
    tied: Flag,
    /// Dropout after every hidden layer.
    dropout: Opt<f64>,
    /// Re-binarise the training rows at every use.
    binarize: Flag,
    /// The output activation.
    output_activation: Opt<Activation>,
    /// Weight initialisation.
    init: Opt<Init>,
    /// Feature normalisation.
    normalize: Opt<NormalizeKind>,
    /// The reconstruction loss.
    loss: Opt<Loss>,
    /// The optimizer (its other settings start from this kind's defaults).
    optimizer: Opt<OptimizerKind>,
    /// The learning rate.
    lr: Opt<f64>,
    /// Momentum (sgd, rmsprop).
    momentum: Opt<f64>,
    /// Nesterov momentum (sgd).
    nesterov: Flag,
    /// AdamW's decoupled weight decay.
    weight_decay: Opt<f64>,
    /// Adam's β₁.
    beta1: Opt<f64>,
    /// Adam's β₂.
    beta2: Opt<f64>,
    /// ε of Adam and RMSprop.
    eps: Opt<f64>,
    /// RMSprop's ρ.
    rho: Opt<f64>,
    /// L1 weight penalty.
    l1: Opt<f64>,
    /// L2 weight penalty.
    l2: Opt<f64>,
    /// The learning-rate schedule.
    lr_schedule: Opt<Schedule>,
    /// Clip the gradient to this global L2 norm.
    clip_norm: Opt<f64>,
    /// Denoising: how the training inputs are corrupted.
    noise: Opt<Corruption>,
    /// Sparse: L1 penalty on the code.
    code_l1: Opt<f64>,
    /// Sparse: KL penalty towards a mean activation.
    sparsity: Opt<Sparsity>,
    /// Contractive: the Jacobian penalty's weight.
    contractive: Opt<f64>,
    /// Rows per gradient step.
    batch_size: Opt<usize>,
    /// The epoch limit.
    epochs: Opt<usize>,
    /// The last fraction of the rows held out for validation.
    validation_split: Opt<f64>,
    /// Keep the row order.
    no_shuffle: Flag,
    /// Early stopping's patience in epochs.
    patience: Opt<usize>,
    /// Early stopping's smallest improvement.
    min_delta: Opt<f64>,
    /// Early stopping keeps the last weights, not the best.
    no_restore_best: Flag,
    /// Stop when the training loss changes by less than this fraction.
    tolerance: Opt<f64>,
    /// Seed of initialisation and shuffling.
    seed: Opt<u64>,
    /// The model's anomaly score.
    score: Opt<ScoreKind>,
    /// Robust fitting: the fraction of worst rows left out of a second pass.
    trim: Opt<f64>,
    /// Small tables: at least this many gradient steps per pass.
    min_steps: Opt<usize>,
    /// Micro-batches of this many rows, summed in a fixed tree (data-parallel training).
    micro_batch: Opt<usize>,
}

/// The settings of a run, resolved for its data ([`Settings::for_data`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// The settings to check and train with.
    pub params: Params,
    /// What the data chose that no setting did, as `"normalize \"zscore\""` (empty
    /// with a preset).
    pub from_data: Vec<String>,
}

impl Settings {
    /// Settings from a front's `name → value` map ([`set`](Self::set) for each).
    pub fn from_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a Value)>) -> Result<Settings> {
        let mut s = Settings::default();
        for (name, value) in pairs {
            s.set(name, value)?;
        }
        Ok(s)
    }

    /// These settings laid over `base` (a configuration, a preset's or the data's
    /// defaults), then the training settings, the score and the widths checked. An
    /// `optimizer` other than `base`'s starts from that optimizer's defaults.
    pub fn over(&self, base: Params) -> Result<Params> {
        let mut c = base;
        let m = &mut c.model;
        set(&mut m.layers, &self.layers);
        if let Some(l) = &self.decoder_layers {
            m.decoder_layers = Some(l.clone());
        }
        set(&mut m.activation, &self.activation);
        set(&mut m.arch, &self.arch);
        set(&mut m.channels, &self.channels);
        set(&mut m.kernel_size, &self.kernel_size);
        set(&mut m.downsample, &self.downsample);
        m.batch_norm |= self.batch_norm;
        m.variational |= self.variational;
        set(&mut m.dropout, &self.dropout);
        m.tied |= self.tied;
        if self.code_activation.is_some() {
            m.code_activation = self.code_activation;
        }
        set(&mut m.output_activation, &self.output_activation);
        set(&mut m.init, &self.init);
        set(&mut m.normalize, &self.normalize);
        if self.score.is_some() {
            m.score = self.score;
        }
        let t = &mut c.training;
        set(&mut t.loss, &self.loss);
        if let Some(kind) = self.optimizer {
            if kind != t.optimizer.kind {
                t.optimizer = OptimizerConfig::new(kind);
            }
        }
        let o = &mut t.optimizer;
        for (dst, src) in [
            (&mut o.lr, self.lr),
            (&mut o.momentum, self.momentum),
            (&mut o.weight_decay, self.weight_decay),
            (&mut o.beta1, self.beta1),
            (&mut o.beta2, self.beta2),
            (&mut o.eps, self.eps),
            (&mut o.rho, self.rho),
            (&mut t.l1, self.l1),
            (&mut t.l2, self.l2),
        ] {
            set(dst, &src);
        }
        o.nesterov |= self.nesterov;
        if self.clip_norm.is_some() {
            t.clip_norm = self.clip_norm;
        }
        if self.noise.is_some() {
            t.noise = self.noise;
        }
        set(&mut t.code_l1, &self.code_l1);
        set(&mut t.beta, &self.beta);
        set(&mut t.kl_warmup, &self.kl_warmup);
        set(&mut t.iw_train, &self.iw_train);
        set(&mut t.trim, &self.trim);
        set(&mut t.min_steps, &self.min_steps);
        set(&mut t.micro_batch, &self.micro_batch);
        t.binarize |= self.binarize;
        set(&mut t.contractive, &self.contractive);
        if self.sparsity.is_some() {
            t.sparsity = self.sparsity;
        }
        set(&mut t.lr_schedule, &self.lr_schedule);
        set(&mut t.batch_size, &self.batch_size);
        set(&mut t.epochs, &self.epochs);
        set(&mut t.validation_split, &self.validation_split);
        if self.no_shuffle {
            t.shuffle = false;
        }
        if self.patience.is_some() || self.min_delta.is_some() || self.no_restore_best {
            let mut es = t.early_stopping.clone().unwrap_or_default();
            set(&mut es.patience, &self.patience);
            set(&mut es.min_delta, &self.min_delta);
            if self.no_restore_best {
                es.restore_best = false;
            }
            t.early_stopping = Some(es);
        }
        if self.tolerance.is_some() {
            t.tolerance = self.tolerance;
        }
        set(&mut t.seed, &self.seed);
        c.training.check()?;
        c.model.check_score()?;
        c.model.check_widths()?;
        Ok(c)
    }

    /// A warm start's settings ([`ValidParams::start_from`](crate::ValidParams::start_from)):
    /// the architecture of the model to start from, `model`, and these settings laid
    /// over `training` (a configuration's, or what [`for_data`](Self::for_data) chose).
    /// A setting of the architecture that differs from the model's is an error naming
    /// `from` and each such key, as `layers: the model's [8], asked [12]` (training
    /// something else than asked would be silent); one that repeats it is fine.
    pub fn over_model(&self, model: &ModelConfig, training: TrainConfig) -> Result<Params> {
        let base = Params { model: model.clone(), training };
        let asked = self.over(base.clone())?;
        let conflicts = Params { model: model.clone(), training: asked.training.clone() }.difference_lines(
            &asked,
            "the model's",
            "asked",
        );
        if !conflicts.is_empty() {
            return Err(Error::config(
                "from",
                format!(
                    "the architecture is the model's to start from, and these settings differ from it: {}; leave them out",
                    conflicts.join("; ")
                ),
            ));
        }
        Ok(Params { model: model.clone(), training: asked.training })
    }

    /// The settings of a run on `data` with no configuration file: with a preset, its
    /// defaults ([`tabular_defaults`]) then these settings; else the defaults chosen
    /// from the data ([`ModelConfig::for_data`], [`TrainConfig::for_data`]) then these
    /// settings. This is what `ae train FILE [flags]` trains.
    ///
    /// Settings of how values are handled (`normalize`, `output_activation`, `loss`)
    /// go together: giving one keeps the plain defaults of the other two. An `epochs`
    /// given is the limit (the data's `min_steps` does not raise it). Data that cannot
    /// be trained on (non-finite values; values the loss refuses) is refused here.
    pub fn for_data(&self, data: &Dataset) -> Result<Chosen> {
        self.for_data_in(data, data.value_range())
    }

    /// Whether what [`for_data_in`](Self::for_data_in) chooses for a table depends on
    /// its values' range: no preset, and none of `normalize`, `output_activation` and
    /// `loss` given.
    pub fn chooses_by_range(&self) -> bool {
        self.preset.is_none()
            && self.normalize.is_none()
            && self.output_activation.is_none()
            && self.loss.is_none()
    }

    /// The range of the values of rows read a chunk at a time that
    /// [`for_data_in`](Self::for_data_in) must see: every chunk's, by a pass over them,
    /// when what these settings choose depends on it
    /// ([`chooses_by_range`](Self::chooses_by_range)); `None` when the first chunk's
    /// may stand for it. `ae train --stream` and the Python package's streamed fit
    /// choose their defaults so.
    pub fn range_of_chunks(
        &self,
        rows: &crate::data::chunks::ChunkedRows,
    ) -> Result<Option<crate::data::ValueRange>> {
        match self.chooses_by_range() {
            true => rows.value_range().map(Some),
            false => Ok(None),
        }
    }

    /// [`for_data`](Self::for_data) where `range` is the range of all the rows, of
    /// which `data` is a part (rows read a chunk at a time, or shared out among
    /// processes): the settings the whole rows would choose
    /// ([`ModelConfig::for_data_in`]). `data` alone is checked.
    pub fn for_data_in(&self, data: &Dataset, range: crate::data::ValueRange) -> Result<Chosen> {
        data.check_finite()?;
        if let Some(Preset::Tabular) = self.preset {
            let (model, training) = tabular_defaults(data.cols());
            return Ok(Chosen { params: self.over(Params { model, training })?, from_data: Vec::new() });
        }
        let plain = self.over(Params::default())?;
        let mut model = ModelConfig::for_data_in(data, range);
        if !self.chooses_by_range() {
            model.normalize = plain.model.normalize;
            model.output_activation = plain.model.output_activation;
        }
        let mut training = TrainConfig::for_data(data);
        if self.epochs.is_some() {
            training.min_steps = plain.training.min_steps;
        }
        let params = self.over(Params { model, training })?;
        // (Values known to be bytes are in [0, 1].)
        if params.model.normalize == NormalizeKind::None && !data.known_bytes() {
            params.training.check_targets(data.as_slice(), data.cols(), &data.source)?;
        }
        let from_data = plain
            .differences(&params)
            .into_iter()
            .map(|(key, _, value)| match value {
                Value::String(s) => format!("{key} {s}"),
                other => format!("{key} {other}"),
            })
            .collect();
        Ok(Chosen { params, from_data })
    }
}

fn set<T: Clone>(dst: &mut T, src: &Option<T>) {
    if let Some(v) = src {
        *dst = v.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic;
    use serde_json::json;

    #[test]
    fn values_are_read_as_the_command_line_writes_them() {
        let mut s = Settings::default();
        s.set("layers", &json!("64,8")).unwrap();
        s.set("activation", &json!("gelu")).unwrap();
        s.set("noise", &json!("gaussian:0.1")).unwrap();
        s.set("no_shuffle", &json!(true)).unwrap();
        s.set("lr", &json!(0.01)).unwrap();
        s.set("seed", &json!(7)).unwrap();
        assert_eq!(s.layers, Some(vec![64, 8]));
        assert_eq!(s.activation, Some(Activation::Gelu));
        assert_eq!(s.noise, Some("gaussian:0.1".parse().unwrap()));
        let p = s.over(Params::default()).unwrap();
        assert!(!p.training.shuffle);
        assert_eq!(p.training.optimizer.lr, 0.01);
        assert_eq!(p.training.seed, 7);
        s.set("layers", &json!([32])).unwrap();
        assert_eq!(s.layers, Some(vec![32]));
        s.set("layers", &Value::Null).unwrap();
        assert_eq!(s.layers, None);
    }

    /// A warm start keeps the model's architecture and takes the training settings;
    /// an architecture setting that repeats the model's is fine, one that differs is
    /// refused naming each key.
    #[test]
    fn over_model_takes_the_training_settings_and_refuses_another_architecture() {
        let model =
            ModelConfig { input_dim: 10, layers: vec![6, 3], variational: true, ..ModelConfig::default() };
        let mut s = Settings::default();
        s.set("iw_train", &json!(5)).unwrap();
        s.set("layers", &json!("6,3")).unwrap();
        s.set("variational", &json!(true)).unwrap();
        let p = s.over_model(&model, TrainConfig::default()).unwrap();
        assert_eq!(p.model, model);
        assert_eq!(p.training.iw_train, 5);
        s.set("layers", &json!("8")).unwrap();
        s.set("activation", &json!("gelu")).unwrap();
        let e = s.over_model(&model, TrainConfig::default()).unwrap_err().to_string();
        assert!(e.starts_with("invalid from: the architecture is the model's"), "{e}");
        assert!(e.contains("layers: the model's [6,3], asked [8]"), "{e}");
        assert!(e.contains("activation: the model's \"relu\", asked \"gelu\""), "{e}");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let mut s = Settings::default();
        let e = |s: &mut Settings, n: &str, v: Value| s.set(n, &v).unwrap_err().to_string();
        assert_eq!(e(&mut s, "layerz", json!([8])), "invalid layerz: no such setting");
        assert_eq!(e(&mut s, "epochs", json!(-1)), "invalid epochs: expected a whole number ≥ 0, got -1");
        assert_eq!(e(&mut s, "epochs", json!(2.5)), "invalid epochs: expected a whole number ≥ 0, got 2.5");
        // 2⁶⁴, which JSON reads as a float.
        assert_eq!(
            e(&mut s, "seed", json!(18446744073709551616.0)),
            "invalid seed: expected a whole number from 0 to 18446744073709551615, got 1.8446744073709552e+19"
        );
        assert_eq!(e(&mut s, "tied", json!("yes")), "invalid tied: expected true or false, got \"yes\"");
        assert!(e(&mut s, "code_activation", json!("relux")).starts_with("invalid code_activation: "));
        assert!(e(&mut s, "noise", json!("blur:3")).starts_with("invalid noise"));
        assert!(e(&mut s, "preset", json!("images")).contains("expected tabular"));
        s.set("lr", &json!(-1.0)).unwrap();
        assert!(s.over(Params::default()).unwrap_err().to_string().contains("lr"));
    }

    /// The range of all the rows chooses z-scores for a part in [0, 1] whose whole is not,
    /// exactly when `chooses_by_range` says the range matters (no preset, none of
    /// normalize, output_activation and loss given).
    #[test]
    fn the_range_of_every_row_chooses_when_no_setting_does() {
        let part = Dataset::new(vec![0.0, 0.5, 1.0, 0.25], 2, 2, "part").unwrap();
        let whole = crate::data::ValueRange { lo: -3.0, hi: 4.0, nan: false };
        for (key, value) in [
            ("epochs", json!(3)),
            ("normalize", json!("minmax")),
            ("output_activation", json!("linear")),
            ("loss", json!("mse")),
            ("preset", json!("tabular")),
        ] {
            let mut s = Settings::default();
            s.set(key, &json!(value)).unwrap();
            let (a, b) = (s.for_data(&part).unwrap(), s.for_data_in(&part, whole).unwrap());
            assert_eq!(a.params != b.params, s.chooses_by_range(), "{key}");
            if s.chooses_by_range() {
                assert_eq!(b.params.model.normalize, NormalizeKind::ZScore);
            }
        }
    }

    #[test]
    fn every_setting_has_a_name_that_set_takes() {
        let mut s = Settings::default();
        for n in Settings::NAMES {
            // null is accepted by every setting and leaves it unset.
            s.set(n, &Value::Null).unwrap();
        }
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn a_preset_starts_from_its_defaults_and_the_data_from_its_own() {
        let data = synthetic::generate(64, 0);
        let mut s = Settings::default();
        s.set("preset", &json!("tabular")).unwrap();
        let c = s.for_data(&data).unwrap();
        let (m, t) = tabular_defaults(data.cols());
        assert_eq!(c.params, Params { model: m, training: t });
        let plain = Settings::default().for_data(&data).unwrap();
        assert_eq!(plain.params, Params::for_data(&data));
    }
}
