//! Likelihoods of a variational autoencoder — with a Bernoulli decoder (sigmoid output),
//! or else a unit-variance Gaussian one in the model's normalised units ([`Likelihood`])
//! —: the ELBO's two parts and the importance-sampled estimate of `−log p(x)` (Burda et
//! al., 2016), in nats per row; and samples from the prior.
//!
//! For a row `x` (normalised, values in `[0, 1]`), the encoder gives `q(z|x) =
//! N(μ, diag σ²)`; for `K` draws `zₛ = μ + σ ⊙ εₛ`,
//!
//! `log wₛ = log p(x|zₛ) + log p(zₛ) − log q(zₛ|x)`,
//! `log p(x|z) = Σᵢ [xᵢ·lᵢ − softplus(lᵢ)]` (`l` the decoder's logits),
//! `log p(z) = Σⱼ −½(zⱼ² + ln 2π)`, `log q(z|x) = Σⱼ −½(εⱼ² + ln 2π + log σⱼ²)`,
//!
//! and `−log p(x) ≈ −(logsumexpₛ log wₛ − ln K)`, an upper bound that tightens as `K`
//! grows (`K = 1` gives the negative ELBO).

use super::Autoencoder;
use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::layers::{sample::sigma, Ctx};
use crate::random::{self, Stream};
use crate::Threads;

/// The negative ELBO's parts, in nats per row (one sample each).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ElboParts {
    /// `−log p(x|z)`, the reconstruction term.
    pub reconstruction: f64,
    /// `KL(q(z|x) ‖ p(z))`.
    pub kl: f64,
}

impl ElboParts {
    /// The negative ELBO, `reconstruction + kl`.
    pub fn negative_elbo(&self) -> f64 {
        self.reconstruction + self.kl
    }
}

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_7;

fn check_variational(model: &Autoencoder) -> Result<()> {
    if !model.config().variational {
        return Err(Error::Data("the model is not variational (train it with variational = true)".into()));
    }
    Ok(())
}

/// The decoder's likelihood `p(x|z)`, from the model's output: a sigmoid output is a
/// Bernoulli decoder, `log p(x|z) = Σᵢ [xᵢ·lᵢ − softplus(lᵢ)]` over its logits `l`; any
/// other is read as a unit-variance Gaussian around the reconstruction `x̂`, in the
/// model's normalised units, `log p(x|z) = −½‖x − x̂‖² − (d/2)·ln 2π` (the likelihood of
/// the MSE loss such a model is trained with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Likelihood {
    /// Values in `[0, 1]`, a sigmoid output.
    Bernoulli,
    /// Any other output, unit variance.
    Gaussian,
}

impl Likelihood {
    /// The likelihood of `model`'s decoder.
    pub fn of(model: &Autoencoder) -> Likelihood {
        match model.layers()[model.layers().len() - 1].activation() {
            Activation::Sigmoid => Likelihood::Bernoulli,
            _ => Likelihood::Gaussian,
        }
    }

    /// `bernoulli` or `gaussian`.
    pub fn name(self) -> &'static str {
        match self {
            Likelihood::Bernoulli => "bernoulli",
            Likelihood::Gaussian => "gaussian",
        }
    }

    /// What `log_p` reads for codes `z` (`rows × k`): the decoder's logits, or its
    /// reconstructions.
    fn outputs(self, model: &Autoencoder, z: &[f32], rows: usize, threads: &Threads) -> Vec<f32> {
        match self {
            Likelihood::Bernoulli => model.decoder_logits(z, rows, threads),
            Likelihood::Gaussian => {
                model.run_layers(model.encoder_len()..model.layers().len(), z, rows, threads)
            }
        }
    }

    /// `log p(x|z)` of the normalised row `x`, from the decoder's outputs `y` for `z`.
    fn log_p(self, x: &[f32], y: &[f32]) -> f64 {
        match self {
            Likelihood::Bernoulli => log_bernoulli(x, y),
            Likelihood::Gaussian => {
                let sq: f64 = x.iter().zip(y).map(|(&a, &b)| f64::from(a - b).powi(2)).sum();
                -0.5 * sq - x.len() as f64 * HALF_LN_2PI
            }
        }
    }
}

impl Autoencoder {
    /// `(μ, log σ²)` of normalised rows `x`: `rows × 2k`.
    fn posterior(&self, x: &[f32], rows: usize, threads: &Threads) -> Vec<f32> {
        self.run_layers(0..self.encoder_len() - 1, x, rows, threads)
    }

    /// The decoder's logits (before the output sigmoid) for codes `z`: `rows × d`.
    fn decoder_logits(&self, z: &[f32], rows: usize, threads: &Threads) -> Vec<f32> {
        if rows == 1 {
            // As `run_layers` does: a lone row beside a copy of itself gets the values
            // it gets in any batch (faer's one-row product rounds differently).
            let mut out = self.decoder_logits(&z.repeat(2), 2, threads);
            out.truncate(self.input_dim());
            return out;
        }
        let last = self.layers().len() - 1;
        let h = if last > self.encoder_len() {
            self.run_layers(self.encoder_len()..last, z, rows, threads)
        } else {
            z.to_vec()
        };
        let d = self.input_dim();
        let mut out = vec![0.0f32; rows * d];
        let mut scratch = vec![0.0f32; rows * self.layers()[last].scratch_width()];
        let p = &self.params()[self.layer_params(last)];
        threads.install(|| {
            self.layers()[last].forward_preactivation(
                p,
                &h,
                rows,
                &mut out,
                &mut scratch,
                Ctx::infer(threads),
            );
        });
        out
    }

    /// The negative ELBO's two parts on raw rows `x`, averaged over rows, with one
    /// posterior sample per row drawn from `seed` ([`ElboSums`] over one part).
    pub fn elbo(&self, x: &[f32], seed: u64, threads: &Threads) -> Result<ElboParts> {
        let mut sums = ElboSums::new(self, seed)?;
        sums.add(self, x, threads);
        Ok(sums.parts())
    }

    /// The negative ELBO of each raw row of `x`, in nats (an anomaly score): the exact
    /// `KL(q(z|x) ‖ p(z))` plus `−log p(x|z)` averaged over `samples` posterior draws
    /// from `seed`. A sigmoid output is a Bernoulli decoder; any other output is read as a
    /// unit-variance Gaussian, `−log p(x|z) = ½‖x − x̂‖² + (d/2)·ln 2π`, in the model's
    /// normalised units.
    ///
    /// `first_row` is the global index of `x`'s first row (0 for a whole file; a shard's
    /// offset). Row `g`'s draws are the `samples·k` standard normals at word position
    /// `4·g·samples·k` of the seed's sampling stream (each normal takes two 64-bit words),
    /// so a row's score does not depend on which rows are scored with it: any split of a
    /// file, each part scored with its offset, gives the whole file's scores bit for bit.
    pub fn negative_elbo_rows(
        &self,
        x: &[f32],
        samples: usize,
        seed: u64,
        first_row: u64,
        threads: &Threads,
    ) -> Result<Vec<f64>> {
        check_variational(self)?;
        let samples = samples.max(1);
        let (d, k) = (self.input_dim(), self.code_dim());
        let rows = x.len() / d.max(1);
        let likelihood = Likelihood::of(self);
        let mut rng = random::rng(seed, Stream::Sample);
        let chunk = elbo_chunk(samples, d);
        let mut out = Vec::with_capacity(rows);
        for start in (0..rows).step_by(chunk) {
            let n = chunk.min(rows - start);
            // Words per row: those of `samples·k` normals.
            let global = u128::from(first_row) + start as u128;
            rng.set_word_pos(global * (samples * k) as u128 * random::NORMAL_WORDS);
            let mut xs = x[start * d..(start + n) * d].to_vec();
            self.normalizer().apply_in_place(&mut xs);
            let post = self.posterior(&xs, n, threads);
            let z = draw_codes(&post, n, samples, k, &mut rng);
            let y = likelihood.outputs(self, &z, n * samples, threads);
            for r in 0..n {
                let xr = &xs[r * d..(r + 1) * d];
                let kl = crate::kernels::gaussian::kl_sum(&post[r * 2 * k..(r + 1) * 2 * k], 1, k);
                let mut rec = 0.0;
                for s in 0..samples {
                    let yr = &y[(r * samples + s) * d..(r * samples + s + 1) * d];
                    rec -= likelihood.log_p(xr, yr);
                }
                out.push(rec / samples as f64 + kl);
            }
        }
        Ok(out)
    }

    /// The floats a chunk of [`negative_elbo_rows`](Self::negative_elbo_rows) over at
    /// most `rows` rows with `samples` draws holds besides the layers' buffers, for
    /// layers at most `widest` values wide with at most `scratch` values of scratch a
    /// row: its rows normalised and their posteriors, and for each draw its code, the
    /// decoder's last hidden layer, its outputs and their scratch; and the chunk's rows.
    pub(crate) fn elbo_pass_floats(
        &self,
        rows: usize,
        samples: usize,
        widest: usize,
        scratch: usize,
    ) -> (u64, usize) {
        let (d, k) = (self.input_dim(), self.code_dim());
        let samples = samples.max(1);
        let n = elbo_chunk(samples, d).min(rows);
        let per_row = (d + 2 * k) as u64 + samples as u64 * (k + 2 * widest + scratch) as u64;
        (n as u64 * per_row, n)
    }

    /// The importance-sampled negative log-likelihood `−log p(x)` of raw rows `x` with
    /// `samples` draws per row (from `seed`), averaged over rows, in nats.
    pub fn importance_nll(&self, x: &[f32], samples: usize, seed: u64, threads: &Threads) -> Result<f64> {
        self.importance_nll_with(x, samples, seed, threads, &mut |_, _| {})
    }

    /// [`importance_nll`](Self::importance_nll), calling `progress(rows_done, rows)`
    /// after each chunk of rows (chunks of about 8 M decoder outputs: with 1000 samples
    /// of 784 values, 10 rows), so that a caller can show how far it has come — on
    /// MNIST's test set this takes minutes. The result does not depend on it.
    pub fn importance_nll_with(
        &self,
        x: &[f32],
        samples: usize,
        seed: u64,
        threads: &Threads,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<f64> {
        let mut sums = NllSums::new(self, samples, seed)?;
        let rows = x.len() / self.input_dim().max(1);
        sums.add(self, x, threads, &mut |done| progress(done, rows));
        Ok(sums.nll())
    }

    /// `n` codes drawn from the prior: `N(0, I)` for a variational model; for others, each
    /// dimension from the histogram of the training codes (`codec`), independently.
    /// [`Autoencoder::prior_sampler`]'s first `n` draws.
    pub fn sample_prior(&self, n: usize, seed: u64) -> Result<Vec<f32>> {
        Ok(self.prior_sampler(seed)?.draw(n))
    }

    /// Codes drawn from the prior ([`Autoencoder::sample_prior`]) a part at a time, from
    /// one stream of `seed`: parts of any sizes give the codes drawn at once, so that
    /// many samples need not be held together. Errors for a model that is neither
    /// variational nor has code statistics.
    pub fn prior_sampler(&self, seed: u64) -> Result<PriorSampler<'_>> {
        let k = self.code_dim();
        let rng = random::rng(seed, Stream::Sample);
        if self.config().variational {
            return Ok(PriorSampler { k, rng, histograms: None });
        }
        let codec = self.codec.as_ref().ok_or_else(|| {
            Error::Data(
                "the model is not variational and has no code statistics to sample from; train it with variational = true"
                    .into(),
            )
        })?;
        let bins = crate::codec::FINE_BINS;
        let totals: Vec<u64> = (0..k)
            .map(|j| codec.histogram[j * bins..(j + 1) * bins].iter().map(|&c| u64::from(c)).sum())
            .collect();
        Ok(PriorSampler { k, rng, histograms: Some((codec, totals)) })
    }
}

/// Codes drawn from a model's prior a part at a time ([`Autoencoder::prior_sampler`]).
pub struct PriorSampler<'m> {
    k: usize,
    rng: random::ChaCha8Rng,
    /// A model that is not variational: its codec and each dimension's count of codes.
    histograms: Option<(&'m crate::codec::Codec, Vec<u64>)>,
}

impl PriorSampler<'_> {
    /// The next `n` codes (`n × k` values), row by row: a variational model's `N(0, I)`
    /// draws; or, for each dimension, a bin of the training codes' histogram drawn in
    /// proportion to its count, then a point drawn uniformly within it.
    pub fn draw(&mut self, n: usize) -> Vec<f32> {
        let rng = &mut self.rng;
        let Some((codec, totals)) = &self.histograms else {
            return (0..n * self.k).map(|_| random::normal(rng) as f32).collect();
        };
        let bins = crate::codec::FINE_BINS;
        let mut out = Vec::with_capacity(n * self.k);
        for _ in 0..n {
            for (j, &total) in totals.iter().enumerate() {
                let hist = &codec.histogram[j * bins..(j + 1) * bins];
                let mut t = (random::uniform_f64(rng) * total.max(1) as f64) as u64;
                let mut b = 0;
                while b + 1 < bins && t >= u64::from(hist[b]) {
                    t -= u64::from(hist[b]);
                    b += 1;
                }
                let (lo, hi) = (f64::from(codec.lo[j]), f64::from(codec.hi[j]));
                let u = random::uniform_f64(rng);
                out.push((lo + (b as f64 + u) * (hi - lo) / bins as f64) as f32);
            }
        }
        out
    }
}

/// `samples` codes `z = μ + σ·ε` per row of the posterior `post` (`n × 2k`), drawn row by
/// row, sample by sample, dimension by dimension: `n·samples × k` values.
/// The negative ELBO's two parts summed over rows given a part at a time, each row's
/// posterior sample the next from one stream of `seed`: any split of the rows into parts
/// gives the bits of the rows given whole, since the sums are taken row by row in order.
#[derive(Debug, Clone)]
pub struct ElboSums {
    likelihood: Likelihood,
    rng: random::ChaCha8Rng,
    reconstruction: f64,
    kl: f64,
    rows: u64,
}

impl ElboSums {
    /// No rows yet; `model` must be a variational model ([`Likelihood::of`] it is its
    /// decoder's).
    pub fn new(model: &Autoencoder, seed: u64) -> Result<ElboSums> {
        check_variational(model)?;
        Ok(ElboSums {
            likelihood: Likelihood::of(model),
            rng: random::rng(seed, Stream::Sample),
            reconstruction: 0.0,
            kl: 0.0,
            rows: 0,
        })
    }

    /// Add the raw rows `x` (the next rows after those added so far).
    pub fn add(&mut self, model: &Autoencoder, x: &[f32], threads: &Threads) {
        let mut xn = x.to_vec();
        model.normalizer().apply_in_place(&mut xn);
        self.add_normalized(model, &xn, threads);
    }

    /// [`add`](Self::add) of rows already normalised.
    pub(crate) fn add_normalized(&mut self, model: &Autoencoder, xn: &[f32], threads: &Threads) {
        let (d, k) = (model.input_dim(), model.code_dim());
        let rows = xn.len() / d.max(1);
        for start in (0..rows).step_by(4096) {
            let n = 4096.min(rows - start);
            let xs = &xn[start * d..(start + n) * d];
            let post = model.posterior(xs, n, threads);
            let z = draw_codes(&post, n, 1, k, &mut self.rng);
            let y = self.likelihood.outputs(model, &z, n, threads);
            for r in 0..n {
                self.kl += crate::kernels::gaussian::kl_sum(&post[r * 2 * k..(r + 1) * 2 * k], 1, k);
                self.reconstruction -= self.likelihood.log_p(&xs[r * d..(r + 1) * d], &y[r * d..(r + 1) * d]);
            }
        }
        self.rows += rows as u64;
    }

    /// The parts averaged over the rows added (0 before any).
    pub fn parts(&self) -> ElboParts {
        let n = self.rows.max(1) as f64;
        ElboParts { reconstruction: self.reconstruction / n, kl: self.kl / n }
    }
}

/// The importance-sampled `−log p(x)` summed over rows given a part at a time, each
/// row's `K` draws the next from one stream of `seed`: any split of the rows gives the
/// bits of the rows given whole.
#[derive(Debug, Clone)]
pub struct NllSums {
    likelihood: Likelihood,
    rng: random::ChaCha8Rng,
    samples: usize,
    total: f64,
    rows: u64,
}

impl NllSums {
    /// No rows yet, `samples` (`K ≥ 1`) draws per row; `model` must be a variational
    /// model ([`Likelihood::of`] it is its decoder's).
    pub fn new(model: &Autoencoder, samples: usize, seed: u64) -> Result<NllSums> {
        check_variational(model)?;
        if samples == 0 {
            return Err(Error::config("iw_samples", "must be at least 1"));
        }
        // One row's samples are held at once (their codes, decodings and log weights):
        // refused, not a failed allocation, past half the machine's memory.
        let per_sample = 4 * (model.code_dim() + model.input_dim()) as u64 + 8;
        let bytes = (samples as u64).saturating_mul(per_sample);
        let budget = crate::budget::MemoryBudget::of_machine(1);
        if bytes > budget.bytes() {
            return Err(Error::config(
                "iw_samples",
                format!(
                    "{samples} samples of one row take {} (their codes, decodings and weights), more than the memory budget of {budget} (half the machine's memory); use fewer (the papers use 1,000 to 5,000)",
                    crate::budget::human_bytes(bytes)
                ),
            ));
        }
        Ok(NllSums {
            likelihood: Likelihood::of(model),
            rng: random::rng(seed, Stream::Sample),
            samples,
            total: 0.0,
            rows: 0,
        })
    }

    /// Add the raw rows `x`, calling `progress(rows)` with the rows of `x` done after
    /// each chunk (about 8 M decoder outputs: with 1000 samples of 784 values, 10 rows).
    pub fn add(
        &mut self,
        model: &Autoencoder,
        x: &[f32],
        threads: &Threads,
        progress: &mut dyn FnMut(usize),
    ) {
        let mut xn = x.to_vec();
        model.normalizer().apply_in_place(&mut xn);
        self.add_normalized(model, &xn, threads, progress);
    }

    /// [`add`](Self::add) of rows already normalised.
    pub(crate) fn add_normalized(
        &mut self,
        model: &Autoencoder,
        xn: &[f32],
        threads: &Threads,
        progress: &mut dyn FnMut(usize),
    ) {
        let (samples, rng, likelihood) = (self.samples, &mut self.rng, self.likelihood);
        let (d, k) = (model.input_dim(), model.code_dim());
        let rows = xn.len() / d.max(1);
        // Rows per chunk so that one chunk's decoder outputs stay near 8 M values.
        let chunk = ((8usize << 20) / (samples * d).max(1)).max(1);
        for start in (0..rows).step_by(chunk) {
            let n = chunk.min(rows - start);
            let xs = &xn[start * d..(start + n) * d];
            let post = model.posterior(xs, n, threads);
            let mut z = vec![0.0f32; n * samples * k];
            let mut log_w = vec![0.0f64; n * samples];
            for r in 0..n {
                let (mu, lv) = post[r * 2 * k..(r + 1) * 2 * k].split_at(k);
                for s in 0..samples {
                    let mut lw = 0.0;
                    for j in 0..k {
                        let e = random::normal(rng) as f32;
                        let zj = mu[j] + sigma(lv[j]) * e;
                        z[(r * samples + s) * k + j] = zj;
                        let lvj = 2.0 * f64::from(sigma(lv[j])).ln();
                        // log p(z) − log q(z|x); the ln 2π terms of the two cancel.
                        lw += -0.5 * f64::from(zj) * f64::from(zj)
                            + 0.5 * f64::from(e) * f64::from(e)
                            + 0.5 * lvj;
                    }
                    log_w[r * samples + s] = lw;
                }
            }
            let y = likelihood.outputs(model, &z, n * samples, threads);
            for r in 0..n {
                let xr = &xs[r * d..(r + 1) * d];
                let mut m = f64::NEG_INFINITY;
                for s in 0..samples {
                    let i = r * samples + s;
                    log_w[i] += likelihood.log_p(xr, &y[i * d..(i + 1) * d]);
                    m = m.max(log_w[i]);
                }
                let sum: f64 = log_w[r * samples..(r + 1) * samples].iter().map(|&v| (v - m).exp()).sum();
                self.total -= m + sum.ln() - (samples as f64).ln();
            }
            progress(start + n);
        }
        self.rows += rows as u64;
    }

    /// `−log p(x)` averaged over the rows added, in nats (0 before any).
    pub fn nll(&self) -> f64 {
        self.total / self.rows.max(1) as f64
    }
}

fn draw_codes(post: &[f32], n: usize, samples: usize, k: usize, rng: &mut random::ChaCha8Rng) -> Vec<f32> {
    let mut z = Vec::with_capacity(n * samples * k);
    for r in 0..n {
        let (mu, lv) = post[r * 2 * k..(r + 1) * 2 * k].split_at(k);
        for _ in 0..samples {
            z.extend(mu.iter().zip(lv).map(|(&m, &l)| m + sigma(l) * random::normal(rng) as f32));
        }
    }
    z
}

/// Rows of a chunk of [`Autoencoder::negative_elbo_rows`] with `samples` draws of `d`
/// outputs each: about 8 M decoder outputs, at least one row.
fn elbo_chunk(samples: usize, d: usize) -> usize {
    ((8usize << 20) / (samples * d).max(1)).max(1)
}

/// `Σᵢ [xᵢ·lᵢ − softplus(lᵢ)]`, computed stably.
fn log_bernoulli(x: &[f32], logits: &[f32]) -> f64 {
    x.iter()
        .zip(logits)
        .map(|(&xi, &li)| {
            let l = f64::from(li);
            let softplus = l.max(0.0) + (-l.abs()).exp().ln_1p();
            f64::from(xi) * l - softplus
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ModelConfig;

    fn vae() -> Autoencoder {
        let cfg =
            ModelConfig { input_dim: 6, layers: vec![4, 2], variational: true, ..ModelConfig::default() };
        Autoencoder::new(cfg, 1).unwrap()
    }

    #[test]
    fn one_sample_estimates_the_elbo_and_more_samples_tighten_the_bound() {
        let m = vae();
        let t = Threads::new(1);
        let x: Vec<f32> = (0..6 * 50).map(|i| f32::from((i * 7 + i / 5) % 3 == 0)).collect();
        let parts = m.elbo(&x, 0, &t).unwrap();
        assert!(parts.kl > 0.0 && parts.reconstruction > 0.0, "{parts:?}");
        let k1 = m.importance_nll(&x, 1, 0, &t).unwrap();
        let k100 = m.importance_nll(&x, 100, 0, &t).unwrap();
        // Progress is reported after each chunk, up to every row, and changes nothing.
        let mut seen = Vec::new();
        let with = m.importance_nll_with(&x, 100, 0, &t, &mut |done, rows| seen.push((done, rows))).unwrap();
        assert_eq!(with.to_bits(), k100.to_bits());
        let rows = x.len() / m.input_dim();
        assert_eq!(seen.last(), Some(&(rows, rows)));
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
        // Same seed, K = 1: a single-sample negative ELBO, close to the ELBO's average.
        assert!((k1 - parts.negative_elbo()).abs() < 0.2 * parts.negative_elbo(), "{k1} vs {parts:?}");
        assert!(k100 <= k1 + 1e-9, "{k100} > {k1}");
        // The bound lies above −log of the best possible Bernoulli fit, 0.
        assert!(k100 > 0.0);
    }

    /// With a decoder that ignores the code and an encoder whose posterior is the prior,
    /// every importance weight is `p(x)`: the estimate is exact.
    #[test]
    fn importance_sampling_is_exact_when_the_decoder_ignores_the_code() {
        let cfg = ModelConfig { input_dim: 3, layers: vec![1], variational: true, ..ModelConfig::default() };
        let mut m = Autoencoder::new(cfg, 2).unwrap();
        let enc = m.layer_params(0);
        m.params_mut()[enc].fill(0.0); // μ = 0, log σ² = 0
        let r = m.layer_params(2);
        // Decoder: zero weights, biases (0.5, −1, 2).
        let p = &mut m.params_mut()[r];
        p[..3].fill(0.0);
        p[3..].copy_from_slice(&[0.5, -1.0, 2.0]);
        let x = [1.0f32, 0.0, 1.0];
        let want: f64 = [(0.5f64, 1.0f64), (-1.0, 0.0), (2.0, 1.0)]
            .iter()
            .map(|&(l, xi)| -(xi * l - (1.0 + l.exp()).ln()))
            .sum();
        let t = Threads::new(1);
        let got = m.importance_nll(&x, 50, 3, &t).unwrap();
        assert!((got - want).abs() < 1e-6 * want, "{got} vs {want}");
    }

    #[test]
    fn prior_samples_and_refusals() {
        let m = vae();
        let z = m.sample_prior(1000, 0).unwrap();
        let mean = z.iter().map(|&v| f64::from(v)).sum::<f64>() / z.len() as f64;
        assert!(mean.abs() < 0.1);
        let plain =
            Autoencoder::new(ModelConfig { input_dim: 6, layers: vec![2], ..ModelConfig::default() }, 0)
                .unwrap();
        assert!(plain.sample_prior(2, 0).is_err());
        assert!(plain.prior_sampler(0).is_err());
        // More importance samples than memory holds: refused before any is drawn.
        let e = NllSums::new(&m, 1 << 50, 0).err().unwrap().to_string();
        assert!(e.contains("iw_samples") && e.contains("more than the memory budget"), "{e}");
        assert!(NllSums::new(&m, 5000, 0).is_ok());
        // Drawn a part at a time, the codes drawn at once: N(0, I), and each dimension
        // from the histogram of the training codes.
        let mut with_codec = plain.clone();
        let codes: Vec<f32> = (0..400).map(|i| ((i * 37) % 101) as f32 / 10.0 - (i % 2) as f32).collect();
        with_codec.codec = Some(crate::codec::Codec::fit(&codes, 2).unwrap());
        for model in [&m, &with_codec] {
            let whole = model.sample_prior(1000, 3).unwrap();
            let mut sampler = model.prior_sampler(3).unwrap();
            let parts: Vec<f32> = [1, 0, 499, 500].iter().flat_map(|&n| sampler.draw(n)).collect();
            assert_eq!(parts, whole);
            assert_ne!(model.sample_prior(1000, 4).unwrap(), whole);
        }
        let t = Threads::new(1);
        assert!(plain.importance_nll(&[0.0; 6], 10, 0, &t).unwrap_err().to_string().contains("variational"));
    }
}
