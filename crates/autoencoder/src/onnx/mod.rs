//! ONNX export: a trained model's inference graph — the normaliser, every layer, the
//! output activation and the anomaly score — as one ONNX file that ONNX Runtime (Java,
//! C#, C++, the browser) runs without this library.
//!
//! The graph takes the rows `ae encode` and `ae score` take (`batch × d` floats, raw
//! units, images flattened as the model reads them) and gives, by [`Part`]:
//! - `code`: the codes `z = E(norm(x))` (a variational model's mean code μ);
//! - `reconstruction`: `norm⁻¹(D(z))`, in raw units;
//! - `score`: the row's anomaly score, the mean over the `d` features of the score's
//!   term of `e = norm(x) − D(z)`: `e²` (`mse`), `|e|` (`mae`), `√|e|` (`root`) or
//!   `(e·kⱼ)²` (`standardized`, with the detector's `kⱼ = 1/σⱼ`).
//!
//! The batch dimension is dynamic (`batch`). Opset [`OPSET`], IR version
//! [`IR_VERSION`]. Dropout is left out (it is the identity at inference); batch
//! normalisation uses its running statistics; convolutional maps are NCHW inside the
//! graph and flattened as the library flattens them (channels-last between the
//! convolutional and dense parts). A missing value (NaN) is filled as the model fills
//! it, when it was trained with `--missing mean`. The model's detector (score kind and
//! threshold) and architecture are in the file's metadata.
//!
//! The `elbo` score is not exported: it averages random posterior draws, which an ONNX
//! graph cannot repeat bit for bit; a variational model exports a reconstruction score
//! (`--score mse`, …) instead. The library computes scores in f64 and the graph in f32:
//! they agree to about 1e-6 relative, not bit for bit.
//!
//! ```
//! use autoencoder::onnx::{export, ExportOptions, Part};
//! use autoencoder::{Autoencoder, ModelConfig};
//!
//! let mut cfg = ModelConfig::default();
//! cfg.input_dim = 4;
//! cfg.layers = vec![3, 2];
//! let model = Autoencoder::new(cfg, 7).unwrap();
//! let out = export(&model, &ExportOptions { part: Part::All, score: None }).unwrap();
//! assert_eq!(out.outputs, ["code", "reconstruction", "score"]);
//! assert!(out.bytes.len() > 100);
//! ```

pub mod proto;

use std::str::FromStr;

use crate::anomaly::ScoreKind;
use crate::error::{Error, Result};
use crate::kernels::conv::Layout;
use crate::layers::Activation;
use crate::model::LayerPlan;
use crate::Autoencoder;
use proto::{Attr, Dim, Message};

/// The ONNX operator set the graph uses.
pub const OPSET: i64 = 17;
/// The ONNX IR version of the file (8 goes with opset 17).
pub const IR_VERSION: i64 = 8;

/// Which part of the model the graph holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Part {
    /// Rows → `code`.
    Encoder,
    /// `code` → `reconstruction`.
    Decoder,
    /// Rows → `reconstruction`.
    Reconstruct,
    /// Rows → `score`.
    Score,
    /// Rows → `code`, `reconstruction` and `score` (when the model has a score the
    /// graph can compute).
    #[default]
    All,
}

impl FromStr for Part {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "encoder" | "encode" => Part::Encoder,
            "decoder" | "decode" => Part::Decoder,
            "reconstruct" | "reconstruction" => Part::Reconstruct,
            "score" => Part::Score,
            "all" => Part::All,
            _ => {
                return Err(Error::config(
                    "part",
                    format!("unknown part {s:?}; expected encoder, decoder, reconstruct, score or all"),
                ))
            }
        })
    }
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportOptions {
    /// The part.
    pub part: Part,
    /// The score in the graph; by default [`ScoreKind::of`] the model.
    pub score: Option<ScoreKind>,
}

/// An exported graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// The ONNX file's bytes.
    pub bytes: Vec<u8>,
    /// The graph's outputs, in order.
    pub outputs: Vec<&'static str>,
    /// The score the `score` output computes, when there is one.
    pub score: Option<ScoreKind>,
    /// Why the default graph has no `score` output (a variational model scored by its
    /// ELBO), for the caller to tell the user.
    pub no_score: Option<String>,
}

/// The model as an ONNX graph (see the module's documentation).
pub fn export(model: &Autoencoder, options: &ExportOptions) -> Result<Exported> {
    let (kind, feature_scale) = crate::anomaly::resolve_score(model, options.score)?;
    let feature_scale = feature_scale.to_vec();
    let elbo = "the elbo score averages random posterior draws, which an ONNX graph cannot repeat; \
                export a reconstruction score instead (--score mse, mae, root or standardized)";
    let (want_score, no_score) = match (options.part, kind) {
        (Part::Score, ScoreKind::Elbo) => return Err(Error::config("score", elbo)),
        (Part::All, ScoreKind::Elbo) => (false, Some(elbo.to_string())),
        (Part::Score | Part::All, _) => (true, None),
        _ => (false, None),
    };
    let plan = model.config().plan()?;
    let mut g = Graph::new(model);
    let d = model.input_dim();
    let k = model.code_dim();
    let batch = Dim::Param("batch");
    let mut outputs: Vec<&'static str> = Vec::new();
    let enc = 0..model.encoder_len();
    let dec = model.encoder_len()..plan.layers.len();
    let input = if options.part == Part::Decoder {
        g.inputs.push(proto::value_info("code", &[batch, Dim::Value(k)]));
        let recon_n = g.layers(&plan.layers, dec.clone(), Value::flat("code", k))?;
        let recon_n = g.flat(recon_n);
        g.denormalise(&recon_n, "reconstruction");
        outputs.push("reconstruction");
        None
    } else {
        g.inputs.push(proto::value_info("x", &[batch, Dim::Value(d)]));
        Some(g.normalise("x"))
    };
    if let Some(xn) = input {
        let code = g.layers(&plan.layers, enc, Value::flat(&xn, d))?;
        let code_name = g.flat(code.clone());
        if matches!(options.part, Part::Encoder | Part::All) {
            g.op_to("Identity", &[&code_name], "code", &[]);
            outputs.push("code");
        }
        if options.part != Part::Encoder {
            let recon_n = g.layers(&plan.layers, dec, code)?;
            let recon_n = g.flat(recon_n);
            if matches!(options.part, Part::Reconstruct | Part::All) {
                g.denormalise(&recon_n, "reconstruction");
                outputs.push("reconstruction");
            }
            if want_score {
                g.score(kind, &xn, &recon_n, &feature_scale);
                outputs.push("score");
            }
        }
    }
    for &o in &outputs {
        let width = match o {
            "code" => k,
            "reconstruction" => d,
            _ => 0,
        };
        let dims: Vec<Dim<'_>> = if o == "score" { vec![batch] } else { vec![batch, Dim::Value(width)] };
        g.outputs.push(proto::value_info(o, &dims));
    }
    let score = want_score.then_some(kind);
    Ok(Exported { bytes: g.finish(model, score), outputs, score, no_score })
}

/// A value flowing through the graph: rows of `width` values, or NCHW maps that the
/// library would hold flat in `layout`.
#[derive(Debug, Clone)]
enum Value {
    Flat { name: String, width: usize },
    Map { name: String, c: usize, h: usize, w: usize, layout: Layout },
}

impl Value {
    fn flat(name: &str, width: usize) -> Value {
        Value::Flat { name: name.to_string(), width }
    }
}

/// The graph being built: nodes, initialisers (the weights and constants), inputs and
/// outputs.
struct Graph<'m> {
    model: &'m Autoencoder,
    nodes: Vec<Message>,
    initializers: Vec<Message>,
    inputs: Vec<Message>,
    outputs: Vec<Message>,
    /// The file's tensor names by their offset in the parameter buffer.
    names: std::collections::HashMap<usize, String>,
    /// The normaliser's offset and scale constants, once added (shared by `norm(x)` and
    /// its inverse).
    norm: Option<(String, String)>,
    next: usize,
}

impl<'m> Graph<'m> {
    fn new(model: &'m Autoencoder) -> Self {
        let names = model.tensors().into_iter().map(|t| (t.offset, t.name)).collect();
        Graph {
            model,
            nodes: Vec::new(),
            initializers: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            names,
            norm: None,
            next: 0,
        }
    }

    fn fresh(&mut self, stem: &str) -> String {
        self.next += 1;
        format!("{stem}_{}", self.next)
    }

    /// A node whose one output gets a fresh name, returned.
    fn op(&mut self, op: &str, inputs: &[&str], attrs: &[(&str, Attr<'_>)]) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.op_to(op, inputs, &out, attrs);
        out
    }

    fn op_to(&mut self, op: &str, inputs: &[&str], output: &str, attrs: &[(&str, Attr<'_>)]) {
        let name = format!("{op}_{}", self.nodes.len());
        self.nodes.push(proto::node(op, inputs, &[output], &name, attrs));
    }

    fn constant(&mut self, stem: &str, dims: &[usize], values: &[f32]) -> String {
        let name = self.fresh(stem);
        self.initializers.push(proto::tensor_f32(&name, dims, values));
        name
    }

    fn ints(&mut self, values: &[i64]) -> String {
        let name = self.fresh("shape");
        self.initializers.push(proto::tensor_i64(&name, &[values.len()], values));
        name
    }

    /// A parameter tensor of the model at `offset`, `len` values, with `dims`, named
    /// as in the model file.
    fn weight(&mut self, offset: usize, len: usize, dims: &[usize], values: Option<Vec<f32>>) -> String {
        let name = self.names.get(&offset).cloned().unwrap_or_else(|| format!("param_{offset}"));
        let values = values.unwrap_or_else(|| self.model.params()[offset..offset + len].to_vec());
        self.initializers.push(proto::tensor_f32(&name, dims, &values));
        name
    }

    /// The normaliser's offset and scale as constants, added once.
    fn norm_constants(&mut self) -> (String, String) {
        if self.norm.is_none() {
            // The model outlives the graph: its normaliser is read, not copied.
            let model = self.model;
            let (n, d) = (model.normalizer(), model.input_dim());
            let o = self.constant("norm_offset", &[d], &n.offset);
            let k = self.constant("norm_scale", &[d], &n.scale);
            self.norm = Some((o, k));
        }
        self.norm.clone().expect("set above")
    }

    /// `norm(x)`: the fill of missing values, then `(x − offset)·scale`.
    fn normalise(&mut self, x: &str) -> String {
        let model = self.model;
        let (n, d) = (model.normalizer(), model.input_dim());
        let mut cur = x.to_string();
        if n.fills_missing() {
            let nan = self.op("IsNaN", &[&cur], &[]);
            let fill = self.constant("fill", &[d], &n.fill);
            cur = self.op("Where", &[&nan, &fill, &cur], &[]);
        }
        if !n.is_identity() {
            let (offset, scale) = self.norm_constants();
            let shifted = self.op("Sub", &[&cur, &offset], &[]);
            cur = self.op("Mul", &[&shifted, &scale], &[]);
        }
        cur
    }

    /// `x = x′/scale + offset` into `output`.
    fn denormalise(&mut self, y: &str, output: &str) {
        if self.model.normalizer().is_identity() {
            self.op_to("Identity", &[y], output, &[]);
            return;
        }
        let (offset, scale) = self.norm_constants();
        let unscaled = self.op("Div", &[y, &scale], &[]);
        self.op_to("Add", &[&unscaled, &offset], output, &[]);
    }

    /// The score: the mean over features of the score's term of `xn − yn`.
    fn score(&mut self, kind: ScoreKind, xn: &str, yn: &str, feature_scale: &[f32]) {
        let e = self.op("Sub", &[xn, yn], &[]);
        let term = match kind {
            ScoreKind::Mse => self.op("Mul", &[&e, &e], &[]),
            ScoreKind::Mae => self.op("Abs", &[&e], &[]),
            ScoreKind::Root => {
                let a = self.op("Abs", &[&e], &[]);
                self.op("Sqrt", &[&a], &[])
            }
            ScoreKind::Standardized => {
                let k = self.constant("feature_scale", &[feature_scale.len()], feature_scale);
                let s = self.op("Mul", &[&e, &k], &[]);
                self.op("Mul", &[&s, &s], &[])
            }
            ScoreKind::Elbo => unreachable!("refused by export"),
        };
        self.op_to(
            "ReduceMean",
            &[&term],
            "score",
            &[("axes", Attr::Ints(vec![1])), ("keepdims", Attr::Int(0))],
        );
    }

    /// Rows of a value, as the library holds them flat.
    fn flat(&mut self, v: Value) -> String {
        match v {
            Value::Flat { name, .. } => name,
            Value::Map { name, c, h, w, layout } => {
                let nchw = match layout {
                    Layout::ChannelsFirst => name,
                    Layout::ChannelsLast => {
                        self.op("Transpose", &[&name], &[("perm", Attr::Ints(vec![0, 2, 3, 1]))])
                    }
                };
                let shape = self.ints(&[0, (c * h * w) as i64]);
                self.op("Reshape", &[&nchw, &shape], &[])
            }
        }
    }

    /// An NCHW map of `c × h × w` from a value; flat rows are read in `layout`.
    fn map(&mut self, v: Value, c: usize, h: usize, w: usize, layout: Layout) -> Result<String> {
        match v {
            Value::Map { name, c: c2, h: h2, w: w2, .. } if (c2, h2, w2) == (c, h, w) => Ok(name),
            Value::Map { c: c2, h: h2, w: w2, .. } => {
                Err(Error::Data(format!("ONNX export: a {c2}×{h2}×{w2} map where a layer takes {c}×{h}×{w}")))
            }
            Value::Flat { width, .. } if width != c * h * w => Err(Error::Data(format!(
                "ONNX export: rows of {width} values where a layer takes {c}×{h}×{w} maps"
            ))),
            Value::Flat { name, .. } => Ok(match layout {
                Layout::ChannelsFirst => {
                    let shape = self.ints(&[0, c as i64, h as i64, w as i64]);
                    self.op("Reshape", &[&name, &shape], &[])
                }
                Layout::ChannelsLast => {
                    let shape = self.ints(&[0, h as i64, w as i64, c as i64]);
                    let nhwc = self.op("Reshape", &[&name, &shape], &[]);
                    self.op("Transpose", &[&nhwc], &[("perm", Attr::Ints(vec![0, 3, 1, 2]))])
                }
            }),
        }
    }

    fn activation(&mut self, x: String, a: Activation) -> String {
        match a {
            Activation::Linear => x,
            Activation::Relu => self.op("Relu", &[&x], &[]),
            Activation::LeakyRelu => {
                self.op("LeakyRelu", &[&x], &[("alpha", Attr::Float(crate::activation::LEAKY_RELU_SLOPE))])
            }
            Activation::Elu => self.op("Elu", &[&x], &[("alpha", Attr::Float(1.0))]),
            Activation::Tanh => self.op("Tanh", &[&x], &[]),
            Activation::Sigmoid => self.op("Sigmoid", &[&x], &[]),
            Activation::Softplus => self.op("Softplus", &[&x], &[]),
            Activation::Gelu => {
                // x·½(1 + erf(x/√2)): opset 17 has no Gelu operator.
                let root2 = self.constant("sqrt2", &[], &[std::f32::consts::SQRT_2]);
                let one = self.constant("one", &[], &[1.0]);
                let half = self.constant("half", &[], &[0.5]);
                let scaled = self.op("Div", &[&x, &root2], &[]);
                let erf = self.op("Erf", &[&scaled], &[]);
                let plus = self.op("Add", &[&erf, &one], &[]);
                let prod = self.op("Mul", &[&x, &plus], &[]);
                self.op("Mul", &[&prod, &half], &[])
            }
        }
    }

    /// The layers `range` of the plan on `v`.
    fn layers(&mut self, plan: &[LayerPlan], range: std::ops::Range<usize>, mut v: Value) -> Result<Value> {
        for i in range {
            let p = self.model.layer_params(i);
            let at = p.start;
            v = match plan[i] {
                LayerPlan::Dense { inputs, outputs, activation } => {
                    let x = self.flat(v);
                    let w = self.weight(at, inputs * outputs, &[outputs, inputs], None);
                    let b = self.weight(at + inputs * outputs, outputs, &[outputs], None);
                    let y = self.op("Gemm", &[&x, &w, &b], &[("transB", Attr::Int(1))]);
                    Value::flat(&self.activation(y, activation), outputs)
                }
                LayerPlan::Conv { geometry: g, out_channels, activation } => {
                    let x = self.map(v, g.channels, g.height, g.width, g.layout)?;
                    let (kk, cin) = (g.kernel, g.channels);
                    // out × k × k × in → out × in × k × k (ONNX's OIHW).
                    let src = &self.model.params()[at..at + out_channels * kk * kk * cin];
                    let w = permute_0312(src, out_channels, kk, kk, cin);
                    let w = self.weight(at, w.len(), &[out_channels, cin, kk, kk], Some(w));
                    let b =
                        self.weight(at + out_channels * kk * kk * cin, out_channels, &[out_channels], None);
                    let y = self.op("Conv", &[&x, &w, &b], &conv_attrs(kk, g.stride, g.padding, None));
                    let y = self.activation(y, activation);
                    Value::Map {
                        name: y,
                        c: out_channels,
                        h: g.out_height,
                        w: g.out_width,
                        layout: Layout::ChannelsLast,
                    }
                }
                LayerPlan::ConvTranspose { geometry: g, in_channels, activation } => {
                    let x = self.map(v, in_channels, g.out_height, g.out_width, Layout::ChannelsLast)?;
                    let (kk, cout) = (g.kernel, g.channels);
                    // in × k × k × out → in × out × k × k (ONNX's ConvTranspose weight).
                    let src = &self.model.params()[at..at + in_channels * kk * kk * cout];
                    let w = permute_0312(src, in_channels, kk, kk, cout);
                    let w = self.weight(at, w.len(), &[in_channels, cout, kk, kk], Some(w));
                    let b = self.weight(at + in_channels * kk * kk * cout, cout, &[cout], None);
                    // The output size the grid maps back to, beyond what the stride gives.
                    let reach = |grid: usize| (grid - 1) * g.stride + kk - 2 * g.padding;
                    let pad_out =
                        [(g.height - reach(g.out_height)) as i64, (g.width - reach(g.out_width)) as i64];
                    let attrs = conv_attrs(kk, g.stride, g.padding, Some(pad_out));
                    let y = self.op("ConvTranspose", &[&x, &w, &b], &attrs);
                    let y = self.activation(y, activation);
                    Value::Map { name: y, c: cout, h: g.height, w: g.width, layout: g.layout }
                }
                LayerPlan::MaxPool { channels, height, width } => {
                    let layout = map_layout(&v);
                    let x = self.map(v, channels, height, width, layout)?;
                    let attrs =
                        [("kernel_shape", Attr::Ints(vec![2, 2])), ("strides", Attr::Ints(vec![2, 2]))];
                    let y = self.op("MaxPool", &[&x], &attrs);
                    Value::Map { name: y, c: channels, h: height / 2, w: width / 2, layout }
                }
                LayerPlan::Upsample { channels, height, width } => {
                    let layout = map_layout(&v);
                    let x = self.map(v, channels, height, width, layout)?;
                    let scales = self.constant("scales", &[4], &[1.0, 1.0, 2.0, 2.0]);
                    let attrs = [
                        ("mode", Attr::Str("nearest")),
                        ("coordinate_transformation_mode", Attr::Str("asymmetric")),
                        ("nearest_mode", Attr::Str("floor")),
                    ];
                    let y = self.op("Resize", &[&x, "", &scales], &attrs);
                    Value::Map { name: y, c: channels, h: height * 2, w: width * 2, layout }
                }
                LayerPlan::BatchNorm { channels, activation, .. } => {
                    let Value::Map { name, c, h, w, layout } = v else {
                        return Err(Error::Data(
                            "ONNX export: batch normalisation of rows that are not a map".into(),
                        ));
                    };
                    if c != channels {
                        return Err(Error::Data(format!(
                            "ONNX export: batch normalisation of {channels} channels on a {c}-channel map"
                        )));
                    }
                    let [gamma, beta, mean, var] =
                        [0, 1, 2, 3].map(|j| self.weight(at + j * channels, channels, &[channels], None));
                    let y = self.op(
                        "BatchNormalization",
                        &[&name, &gamma, &beta, &mean, &var],
                        &[("epsilon", Attr::Float(crate::layers::batch_norm2d::EPS))],
                    );
                    Value::Map { name: self.activation(y, activation), c, h, w, layout }
                }
                LayerPlan::Sample { code } => {
                    // Of (μ, log σ²) the code is μ, as at inference in the library.
                    let x = self.flat(v);
                    let [starts, ends, axes] = [0i64, code as i64, 1].map(|n| self.ints(&[n]));
                    Value::flat(&self.op("Slice", &[&x, &starts, &ends, &axes], &[]), code)
                }
                LayerPlan::Dropout { .. } => v,
            };
        }
        Ok(v)
    }

    fn finish(self, model: &Autoencoder, score: Option<ScoreKind>) -> Vec<u8> {
        let mut graph = Message::new();
        for n in &self.nodes {
            graph.message(1, n);
        }
        graph.string(2, "autoencoder");
        for t in &self.initializers {
            graph.message(5, t);
        }
        graph.string(10, &format!("{} ({})", model.config().describe(), env!("CARGO_PKG_NAME")));
        for i in &self.inputs {
            graph.message(11, i);
        }
        for o in &self.outputs {
            graph.message(12, o);
        }
        let mut opset = Message::new();
        opset.string(1, "").int(2, OPSET);
        let mut m = Message::new();
        m.int(1, IR_VERSION)
            .string(2, "autoencoder")
            .string(3, env!("CARGO_PKG_VERSION"))
            .message(7, &graph)
            .message(8, &opset);
        let mut meta = vec![("architecture", model.config().describe())];
        if let Some(kind) = score {
            meta.push(("score", kind.to_string()));
        }
        if let Some(det) = model.detector.as_ref().filter(|d| Some(d.score) == score) {
            meta.push(("threshold", format!("{:?}", det.threshold)));
            meta.push(("threshold_rule", det.rule.to_string()));
        }
        for (key, value) in meta {
            let mut e = Message::new();
            e.string(1, key).string(2, &value);
            m.message(14, &e);
        }
        m.into_bytes()
    }
}

/// The layout the library holds a map in (channels-last between layers).
fn map_layout(v: &Value) -> Layout {
    match v {
        Value::Map { layout, .. } => *layout,
        Value::Flat { .. } => Layout::ChannelsLast,
    }
}

/// The attributes of a square convolution (and of a transposed one, with its output
/// padding).
fn conv_attrs(
    k: usize,
    stride: usize,
    pad: usize,
    output_padding: Option<[i64; 2]>,
) -> Vec<(&'static str, Attr<'static>)> {
    let (k, s, p) = (k as i64, stride as i64, pad as i64);
    let mut a = vec![
        ("kernel_shape", Attr::Ints(vec![k, k])),
        ("strides", Attr::Ints(vec![s, s])),
        ("pads", Attr::Ints(vec![p, p, p, p])),
    ];
    if let Some(op) = output_padding {
        a.push(("output_padding", Attr::Ints(op.to_vec())));
    }
    a
}

/// `a × b × c × d` values permuted to `a × d × b × c`.
fn permute_0312(src: &[f32], a: usize, b: usize, c: usize, d: usize) -> Vec<f32> {
    let mut out = vec![0.0; src.len()];
    for i in 0..a {
        for j in 0..b {
            for k in 0..c {
                for l in 0..d {
                    out[((i * d + l) * b + j) * c + k] = src[((i * b + j) * c + k) * d + l];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_moves_the_last_axis_second() {
        // 1 × 2 × 1 × 3: [[a0 a1 a2], [b0 b1 b2]] → 1 × 3 × 2 × 1: a0 b0 a1 b1 a2 b2.
        let src = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0];
        assert_eq!(permute_0312(&src, 1, 2, 1, 3), [0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
    }

    #[test]
    fn parts_parse_and_an_unknown_one_is_named() {
        assert_eq!("encoder".parse::<Part>().unwrap(), Part::Encoder);
        assert_eq!("Score".parse::<Part>().unwrap(), Part::Score);
        let e = "middle".parse::<Part>().unwrap_err().to_string();
        assert!(e.contains("\"middle\"") && e.contains("encoder, decoder"), "{e}");
    }
}
