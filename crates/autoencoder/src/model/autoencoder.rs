//! The autoencoder: an encoder stack and a decoder stack of layers over one flat
//! parameter buffer, with its fitted normaliser; encode, decode and reconstruct in
//! batches of any number of rows.

use std::ops::Range;

use super::config::ModelConfig;
use super::summary::TrainingSummary;
use crate::data::dataset::Dataset;
use crate::data::normalize::Normalizer;
use crate::error::{Error, Result};
use crate::kernels::Threads;
use crate::layers::{Ctx, Layer, LayerKind, ParamSpec};
use crate::metrics::{MetricsAccumulator, ReconstructionMetrics};
use crate::optim::TensorSlot;
use crate::random::{self, Stream};

/// Rows per inference batch: large enough for efficient products, small enough that
/// the activations stay in cache-friendly sizes and memory stays bounded.
pub const INFERENCE_BATCH: usize = 1024;

/// The most floats the buffers of one inference batch hold (256 MiB).
const INFERENCE_FLOATS: usize = 1 << 26;

/// Rows of raw input normalised at once by a pass over many rows (and, for a row's
/// score, reconstructed at once): 8 inference batches.
pub(crate) const INFERENCE_SLICE: usize = 8 * INFERENCE_BATCH;

/// Rows per inference batch of each of `parts` parts whose rows take `per_row` floats
/// of buffers: [`INFERENCE_BATCH`], fewer when rows are wide (conv maps and their
/// patches), so that the buffers of all parts stay near [`INFERENCE_FLOATS`].
fn inference_batch(parts: usize, per_row: usize) -> usize {
    INFERENCE_BATCH.min(INFERENCE_FLOATS / parts.max(1) / per_row.max(1))
}

/// A named parameter tensor and where it lies in the parameter buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// `encoder.0.weight`, `decoder.1.bias`, …
    pub name: String,
    /// Row-major shape.
    pub shape: Vec<usize>,
    /// Offset in [`Autoencoder::params`].
    pub offset: usize,
    /// Whether weight penalties apply.
    pub decays: bool,
}

/// A tied pair of weights in the parameter buffer: the encoder's `rows × cols` matrix at
/// `encoder` and the decoder's `cols × rows` matrix at `decoder`, its transpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TiedPair {
    /// Offset of the encoder weight (`rows × cols`).
    pub encoder: usize,
    /// Offset of the decoder weight (`cols × rows`).
    pub decoder: usize,
    /// The encoder weight's rows (its layer's outputs).
    pub rows: usize,
    /// The encoder weight's columns (its layer's inputs).
    pub cols: usize,
}

impl TiedPair {
    /// Make the decoder copy the exact transpose of the encoder weight in `buf`.
    pub fn copy_transpose(&self, buf: &mut [f32]) {
        for r in 0..self.rows {
            for c in 0..self.cols {
                buf[self.decoder + c * self.rows + r] = buf[self.encoder + r * self.cols + c];
            }
        }
    }

    /// The gradient of the shared matrix, `g_enc + g_decᵀ`, into both places of `grads`
    /// (the decoder's transposed), so that both copies take the same update.
    pub fn combine_gradients(&self, grads: &mut [f32]) {
        for r in 0..self.rows {
            for c in 0..self.cols {
                let e = self.encoder + r * self.cols + c;
                grads[e] += grads[self.decoder + c * self.rows + r];
            }
        }
        self.copy_transpose(grads);
    }

    /// The decoder copy's range in the parameter buffer.
    pub fn decoder_range(&self) -> std::ops::Range<usize> {
        self.decoder..self.decoder + self.rows * self.cols
    }
}

/// A dense autoencoder `x̂ = D(E(x))`.
///
/// Inputs are raw rows: [`encode`](Self::encode) and [`reconstruct`](Self::reconstruct)
/// apply the fitted normaliser first, and [`decode`](Self::decode) and
/// [`reconstruct`](Self::reconstruct) invert it on the way out.
pub struct Autoencoder {
    config: ModelConfig,
    layers: Vec<Box<dyn Layer>>,
    encoder_len: usize,
    offsets: Vec<usize>,
    params: Vec<f32>,
    normalizer: Normalizer,
    /// What training recorded (epochs, losses, seed), saved in the model file.
    pub training: Option<TrainingSummary>,
    /// The anomaly detector fitted on the training rows, when there is one (saved
    /// as the model file's `threshold`).
    pub detector: Option<super::detector::Detector>,
    /// The code quantiser and entropy model for compression, fitted on the training
    /// rows' codes (saved as the model file's `codec` and `codec.histogram`).
    pub codec: Option<crate::codec::Codec>,
    /// The one-hot encodings of the training table's categorical columns, whose
    /// features follow the numeric ones (saved as the model file's `categorical`): a
    /// table the model reads later is encoded with them.
    pub categories: Vec<crate::data::columns::Categorical>,
}

impl Clone for Autoencoder {
    /// A copy with its own parameters. The layers hold only their shapes (every
    /// parameter lives in the one buffer), so the copy's are built again from the
    /// configuration's plan, which already built them once.
    fn clone(&self) -> Self {
        let plan = self.config.plan().expect("a built model's configuration plans again");
        Autoencoder {
            config: self.config.clone(),
            layers: plan.layers.iter().map(|l| l.build(self.config.init)).collect(),
            encoder_len: self.encoder_len,
            offsets: self.offsets.clone(),
            params: self.params.clone(),
            normalizer: self.normalizer.clone(),
            training: self.training.clone(),
            detector: self.detector.clone(),
            codec: self.codec.clone(),
            categories: self.categories.clone(),
        }
    }
}

impl std::fmt::Debug for Autoencoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Autoencoder")
            .field("architecture", &self.config.describe())
            .field("params", &self.params.len())
            .finish()
    }
}

impl Autoencoder {
    /// Build the layers of `config` and draw the initial weights from `seed`.
    pub fn new(config: ModelConfig, seed: u64) -> Result<Self> {
        let plan = config.check()?;
        Ok(Autoencoder::initialised(config, &plan, seed))
    }

    /// [`new`](Self::new) for a configuration already checked into `plan`.
    pub(crate) fn initialised(config: ModelConfig, plan: &super::plan::Plan, seed: u64) -> Self {
        let mut model = Autoencoder::from_plan(config, plan);
        let mut rng = random::rng(seed, Stream::Init);
        for (i, layer) in model.layers.iter().enumerate() {
            let r = model.offsets[i]..model.offsets[i + 1];
            layer.init(&mut model.params[r], &mut rng);
        }
        for t in model.tied_weights() {
            t.copy_transpose(&mut model.params);
        }
        model
    }

    /// The tied weight pairs of a model with `tied` set (empty otherwise): each decoder
    /// weight and the encoder weight it is the transpose of.
    pub fn tied_weights(&self) -> Vec<TiedPair> {
        if !self.config.tied {
            return Vec::new();
        }
        let dense: Vec<usize> =
            (0..self.layers.len()).filter(|&i| self.layers[i].kind() == LayerKind::Dense).collect();
        let m = dense.len() / 2;
        (0..m)
            .map(|j| {
                let (e, d) = (dense[m - 1 - j], dense[m + j]);
                let (rows, cols) = (self.layers[e].output_width(), self.layers[e].input_width());
                TiedPair { encoder: self.offsets[e], decoder: self.offsets[d], rows, cols }
            })
            .collect()
    }

    /// Build the layers of `config` with all parameters zero (a loader fills them).
    pub(crate) fn build(config: ModelConfig) -> Result<Self> {
        let plan = config.check()?;
        Ok(Autoencoder::from_plan(config, &plan))
    }

    /// The layers of `plan` (which `config` was checked into), all parameters zero.
    fn from_plan(config: ModelConfig, plan: &super::plan::Plan) -> Self {
        let layers: Vec<Box<dyn Layer>> = plan.layers.iter().map(|l| l.build(config.init)).collect();
        let encoder_len = plan.encoder_len;
        let mut offsets = vec![0];
        for l in &layers {
            let last = *offsets.last().unwrap_or(&0);
            offsets.push(last + l.param_len());
        }
        let total = *offsets.last().unwrap_or(&0);
        Autoencoder {
            config,
            layers,
            encoder_len,
            offsets,
            params: vec![0.0; total],
            normalizer: Normalizer::none(),
            training: None,
            detector: None,
            codec: None,
            categories: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }
    /// The layers, encoder first.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }
    /// How many of [`layers`](Self::layers) form the encoder.
    pub fn encoder_len(&self) -> usize {
        self.encoder_len
    }
    /// Values per input row.
    pub fn input_dim(&self) -> usize {
        self.config.input_dim
    }
    /// The code size.
    pub fn code_dim(&self) -> usize {
        self.config.code_dim()
    }
    /// All parameters, layer after layer, each layer's tensors in its `param_specs` order.
    pub fn params(&self) -> &[f32] {
        &self.params
    }
    /// All parameters, mutable.
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }
    /// The layers beside all parameters, mutable: for a pass that reads the layers'
    /// shapes while it updates the parameters.
    pub(crate) fn layers_and_params_mut(&mut self) -> (&[Box<dyn Layer>], &mut [f32]) {
        (&self.layers, &mut self.params)
    }
    /// After an optimizer step: let layer `i` update its state (running statistics)
    /// from the `scratch` of its training pass.
    pub(crate) fn update_layer_state(&mut self, i: usize, scratch: &[f32]) {
        let r = self.offsets[i]..self.offsets[i + 1];
        self.layers[i].update_state(&mut self.params[r], scratch);
    }
    /// The parameter range of layer `i`.
    pub fn layer_params(&self, i: usize) -> Range<usize> {
        self.offsets[i]..self.offsets[i + 1]
    }
    /// The fitted normaliser.
    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }
    /// Replace the normaliser (its width must match the input).
    pub fn set_normalizer(&mut self, n: Normalizer) -> Result<()> {
        n.check_width(self.input_dim())?;
        self.normalizer = n;
        Ok(())
    }

    /// Every parameter tensor with its file name: `encoder.{i}.{weight,bias}` for the
    /// `i`-th encoder layer, `decoder.{j}.…` for the decoder's.
    pub fn tensors(&self) -> Vec<TensorInfo> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let (part, idx) =
                if i < self.encoder_len { ("encoder", i) } else { ("decoder", i - self.encoder_len) };
            let mut off = self.offsets[i];
            for ParamSpec { name, shape, decays } in layer.param_specs() {
                let len: usize = shape.iter().product();
                out.push(TensorInfo { name: format!("{part}.{idx}.{name}"), shape, offset: off, decays });
                off += len;
            }
        }
        out
    }

    /// The tensors as optimizer slots.
    pub(crate) fn slots(&self) -> Vec<TensorSlot> {
        self.tensors()
            .iter()
            .map(|t| TensorSlot { offset: t.offset, len: t.shape.iter().product(), decays: t.decays })
            .collect()
    }

    /// Check that `data` has the model's width and finite values (NaN, a missing value,
    /// is let through when the model fills missing values: see [`Normalizer::fill`]).
    pub fn check_data(&self, data: &Dataset) -> Result<()> {
        self.check_width(data.cols(), &data.source)?;
        data.check_values(self.normalizer.fills_missing())
    }

    /// Rows of `cols` values from `source` fit the model's input, or an error naming
    /// both widths.
    pub fn check_width(&self, cols: usize, source: &str) -> Result<()> {
        if cols != self.input_dim() {
            return Err(Error::Data(format!(
                "{source}: rows have {cols} values, but the model was trained on rows of {} (architecture {})",
                self.input_dim(),
                self.config.describe()
            )));
        }
        Ok(())
    }

    /// [`check_data`](Self::check_data) for rows to train on: NaN is also let through
    /// when the data says it is a missing value ([`Dataset::nan_is_missing`]), as
    /// training fits the fill.
    pub fn check_training_data(&self, data: &Dataset) -> Result<()> {
        if data.nan_is_missing {
            if data.cols() != self.input_dim() {
                return self.check_data(data);
            }
            return data.check_values(true);
        }
        self.check_data(data)
    }

    /// Run layers `range` on `rows` rows of `input` (already normalised), in batches
    /// of [`INFERENCE_BATCH`], returning `rows × width` values. On more than one
    /// thread the rows are split into one contiguous part per thread, each run in its
    /// own batches with one-thread products: a row's outputs do not depend on the other
    /// rows of its batch (see below), so the result has the same bits at any thread
    /// count, and the buffers' memory budget is shared between the threads.
    pub(crate) fn run_layers(
        &self,
        range: Range<usize>,
        input: &[f32],
        rows: usize,
        threads: &Threads,
    ) -> Vec<f32> {
        let in_w = self.layers[range.start].input_width();
        let out_w = self.layers[range.end - 1].output_width();
        let max_w = self.layers[range.clone()].iter().map(|l| l.output_width()).max().unwrap_or(0).max(in_w);
        let max_s = self.layers[range.clone()].iter().map(|l| l.scratch_width()).max().unwrap_or(0);
        let parts = threads.count().min(rows.div_ceil(2)).max(1);
        let part = rows.div_ceil(parts).max(1);
        let per_row = 2 * max_w + max_s;
        let b = inference_batch(parts, per_row).clamp(1, part);
        let mut out = vec![0.0f32; rows * out_w];
        let shape = (in_w, out_w, max_w, max_s, b);
        threads.install(|| {
            if parts == 1 {
                self.run_part(range, input, &mut out, shape, Ctx::infer(threads));
            } else {
                let one = Threads::new(1);
                threads.for_each_chunk_pair(
                    &mut out,
                    part * out_w,
                    &input[..rows * in_w],
                    part * in_w,
                    |o, x| self.run_part(range.clone(), x, o, shape, Ctx::infer(&one)),
                );
            }
        });
        out
    }

    /// [`Autoencoder::run_layers`] on one part of the rows, in batches of `b`.
    fn run_part(
        &self,
        range: Range<usize>,
        input: &[f32],
        out: &mut [f32],
        (in_w, out_w, max_w, max_s, b): (usize, usize, usize, usize, usize),
        ctx: Ctx<'_>,
    ) {
        let rows = out.len() / out_w.max(1);
        // Room for two rows: a batch of one is run as two (below).
        let cap = b.max(2);
        let mut a = vec![0.0f32; cap * max_w];
        let mut c = vec![0.0f32; cap * max_w];
        let mut scratch = vec![0.0f32; cap * max_s];
        for start in (0..rows).step_by(b) {
            let mut n = b.min(rows - start);
            a[..n * in_w].copy_from_slice(&input[start * in_w..(start + n) * in_w]);
            if n == 1 {
                // faer multiplies a one-row matrix by another method (a matrix–vector
                // product) whose rounding differs from its matrix product's; any
                // two or more rows give each row the same values. So a lone row (a
                // row scored alone, or the last of a file) is run beside a copy of
                // itself, and its outputs are those it gets in any batch.
                a.copy_within(..in_w, in_w);
                n = 2;
            }
            for i in range.clone() {
                let l = &self.layers[i];
                if l.takes_noise() {
                    // No noise at inference: a variational code is its mean μ, dropout the identity.
                    l.inference_noise(&mut scratch[..n * l.scratch_width()]);
                }
                l.forward(
                    &self.params[self.layer_params(i)],
                    &a[..n * l.input_width()],
                    n,
                    &mut c,
                    &mut scratch,
                    ctx,
                );
                std::mem::swap(&mut a, &mut c);
            }
            let kept = n.min(rows - start);
            out[start * out_w..(start + kept) * out_w].copy_from_slice(&a[..kept * out_w]);
        }
    }

    fn normalized(&self, x: &[f32]) -> Vec<f32> {
        let mut v = x.to_vec();
        self.normalizer.apply_in_place(&mut v);
        v
    }

    /// Layers `range` on raw rows `x` (normalised here), a chunk of rows at a time, so
    /// that no normalised copy of the whole input is made.
    fn run_raw(&self, range: Range<usize>, x: &[f32], rows: usize, threads: &Threads) -> Vec<f32> {
        let d = self.input_dim();
        if self.normalizer.is_identity() {
            return self.run_layers(range, x, rows, threads);
        }
        let out_w = self.layers[range.end - 1].output_width();
        let mut out = Vec::with_capacity(rows * out_w);
        let chunk = INFERENCE_SLICE;
        for start in (0..rows).step_by(chunk) {
            let n = chunk.min(rows - start);
            let xs = self.normalized(&x[start * d..(start + n) * d]);
            out.extend(self.run_layers(range.clone(), &xs, n, threads));
        }
        out
    }

    /// The most bytes one inference pass of this model over at most `rows` rows on
    /// `threads` allocates besides the rows it is given and the results it returns:
    /// [`encode`](Self::encode), [`reconstruct`](Self::reconstruct),
    /// [`decode`](Self::decode), or the rows' anomaly scores
    /// ([`crate::anomaly::score_rows`], the ELBO's too). It is `4·(L + S)` bytes for the
    /// layers' buffers `L` — a batch of up to [`INFERENCE_BATCH`] rows a thread, each
    /// row two of the widest layer's rows and its scratch, about 256 MiB at most in all
    /// — and a slice `S` of up to 8,192 rows normalised and run, two rows of the widest
    /// layer each (for the ELBO score, a chunk of about 8 M decoder outputs and what they
    /// are drawn from, when more); neither grows past `rows = usize::MAX`'s. A front
    /// that bounds its memory (`ae serve --memory-budget`) counts it once for each pass
    /// it may run at once.
    ///
    /// ```
    /// use autoencoder::{Autoencoder, ModelConfig, Threads};
    /// let config = ModelConfig { input_dim: 784, layers: vec![64], ..ModelConfig::default() };
    /// let model = Autoencoder::new(config, 0).unwrap();
    /// let (one, two) = (Threads::new(1), Threads::new(2));
    /// // Any number of rows: 1,024 rows of 2 × 784 floats a thread, 2 × 8,192 rows of 784.
    /// let most = model.inference_bytes(usize::MAX, &one);
    /// assert_eq!(most, 4 * (1024 * 2 * 784 + 2 * 8192 * 784));
    /// assert_eq!(model.inference_bytes(usize::MAX, &two) - most, 4 * 1024 * 2 * 784);
    /// // 100 rows: a batch of 100 rows, a slice of 100.
    /// assert_eq!(model.inference_bytes(100, &one), 4 * (100 * 2 * 784 + 2 * 100 * 784));
    /// ```
    pub fn inference_bytes(&self, rows: usize, threads: &Threads) -> u64 {
        let widest = self.layers.iter().map(|l| l.input_width().max(l.output_width())).max().unwrap_or(0);
        let scratch = self.layers.iter().map(|l| l.scratch_width()).max().unwrap_or(0);
        let (elbo, run) = if self.config.variational {
            let samples = crate::model::detector::ELBO_SAMPLES;
            let (floats, chunk) = self.elbo_pass_floats(rows, samples, widest, scratch);
            // Its decoder runs `samples` rows a row of the chunk.
            (floats, rows.max(chunk.saturating_mul(samples)))
        } else {
            (0, rows)
        };
        let layers = Self::layer_buffer_floats(run, threads.count(), 2 * widest + scratch);
        let slice = 2 * (rows.min(INFERENCE_SLICE) * widest) as u64;
        4 * (layers + slice.max(elbo))
    }

    /// The most floats the buffers of [`run_layers`](Self::run_layers) hold on at most
    /// `rows` rows with `threads` threads and `per_row` floats a row: the largest over
    /// the parts it may cut the rows into of `parts × max(2, rows a batch) × per_row`.
    fn layer_buffer_floats(rows: usize, threads: usize, per_row: usize) -> u64 {
        let most_parts = threads.min(rows.div_ceil(2)).max(1);
        (1..=most_parts)
            .map(|parts| {
                let b = inference_batch(parts, per_row).min(rows.div_ceil(parts)).max(2);
                (parts * b) as u64 * per_row as u64
            })
            .max()
            .unwrap_or(0)
    }

    fn check_len(&self, x: &[f32], width: usize, what: &str) -> Result<usize> {
        if width == 0 || !x.len().is_multiple_of(width) {
            return Err(Error::Data(format!(
                "{what}: {} values is not a whole number of rows of {width}",
                x.len()
            )));
        }
        Ok(x.len() / width)
    }

    /// How a table this model reads later is read: its missing values filled (a model
    /// trained with `--missing mean` fills every row it sees; otherwise a missing value
    /// is an error) and its categorical columns encoded with the training values.
    pub fn reading_columns(&self) -> crate::data::columns::Columns {
        let missing = if self.normalizer.fills_missing() {
            crate::data::columns::Missing::Mean
        } else {
            crate::data::columns::Missing::Error
        };
        crate::data::columns::Columns { missing, ..Default::default() }.with_categories(&self.categories)
    }

    /// Codes `z = E(x)` for raw rows `x` (`rows × input_dim` → `rows × code_dim`).
    pub fn encode(&self, x: &[f32], threads: &Threads) -> Result<Vec<f32>> {
        let rows = self.check_len(x, self.input_dim(), "encode")?;
        Ok(self.run_raw(0..self.encoder_len, x, rows, threads))
    }

    /// Raw-space outputs `D(z)` for codes `z` (`rows × code_dim` → `rows × input_dim`).
    pub fn decode(&self, z: &[f32], threads: &Threads) -> Result<Vec<f32>> {
        let rows = self.check_len(z, self.code_dim(), "decode")?;
        let mut y = self.run_layers(self.encoder_len..self.layers.len(), z, rows, threads);
        self.normalizer.invert_in_place(&mut y);
        Ok(y)
    }

    /// Reconstructions `D(E(x))` of raw rows, in raw units.
    pub fn reconstruct(&self, x: &[f32], threads: &Threads) -> Result<Vec<f32>> {
        let mut y = self.reconstruct_normalized(x, threads)?;
        self.normalizer.invert_in_place(&mut y);
        Ok(y)
    }

    /// Reconstructions in the normalised space the model was trained in.
    pub fn reconstruct_normalized(&self, x: &[f32], threads: &Threads) -> Result<Vec<f32>> {
        let rows = self.check_len(x, self.input_dim(), "reconstruct")?;
        Ok(self.run_raw(0..self.layers.len(), x, rows, threads))
    }

    /// Reconstruction metrics on `data`, in the normalised space the loss saw (the
    /// same as raw units when the normaliser is `none`), computed in chunks.
    pub fn evaluate(&self, data: &Dataset, threads: &Threads) -> Result<ReconstructionMetrics> {
        self.check_data(data)?;
        let mut acc = MetricsAccumulator::new(self.input_dim());
        self.measure(data.as_slice(), &mut acc, threads)?;
        Ok(acc.finish())
    }

    /// Add the reconstruction metrics of raw rows `x` (normalised) to `acc`, a chunk
    /// of rows at a time: any split of the rows into calls gives the same sums.
    pub(crate) fn measure(&self, x: &[f32], acc: &mut MetricsAccumulator, threads: &Threads) -> Result<()> {
        let d = self.input_dim();
        let rows = x.len() / d.max(1);
        for start in (0..rows).step_by(8 * INFERENCE_BATCH) {
            let end = (start + 8 * INFERENCE_BATCH).min(rows);
            let x = self.normalized(&x[start * d..end * d]);
            let y = self.run_layers(0..self.layers.len(), &x, end - start, threads);
            acc.add(&x, &y)?;
        }
        Ok(())
    }

    /// The Frobenius norm of the encoder's Jacobian `‖∂E(x)/∂x‖_F` at each raw row of `x`
    /// (with respect to the normalised input), exact for a one-layer encoder
    /// `h = f(Wx + b)`: `‖J‖²_F = Σⱼ f′(zⱼ)²·‖Wⱼ‖²`, with `f′` computed from `h`. Deeper
    /// encoders and a GELU code are refused.
    pub fn jacobian_norms(&self, x: &[f32], threads: &Threads) -> Result<Vec<f64>> {
        self.jacobian_norms_of_codes(&self.encode(x, threads)?)
    }

    /// [`jacobian_norms`](Self::jacobian_norms) from the codes `h = E(x)` already computed.
    pub fn jacobian_norms_of_codes(&self, h: &[f32]) -> Result<Vec<f64>> {
        let code = self.layers[self.encoder_len - 1].activation();
        if self.encoder_len != 1 || code == crate::activation::Activation::Gelu {
            return Err(Error::Data(format!(
                "the encoder's Jacobian norm is computed for one-layer encoders without GELU; this encoder has {} layer(s) and a {} code",
                self.encoder_len,
                code.name()
            )));
        }
        let (k, d) = (self.code_dim(), self.input_dim());
        let w = &self.params[self.offsets[0]..self.offsets[0] + k * d];
        let norms: Vec<f64> =
            w.chunks_exact(d).map(|r| r.iter().map(|&v| f64::from(v) * f64::from(v)).sum()).collect();
        Ok(h.chunks_exact(k)
            .map(|row| {
                row.iter()
                    .zip(&norms)
                    .map(|(&y, &n)| {
                        let g = code.derivative_from_output(y).unwrap_or(0.0) as f64;
                        g * g * n
                    })
                    .sum::<f64>()
                    .sqrt()
            })
            .collect())
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> usize {
        self.params.len()
    }
}
