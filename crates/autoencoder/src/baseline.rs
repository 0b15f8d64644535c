//! The PCA baseline beside a model: PCA with the model's code size, fitted on training
//! rows and scored on other rows, both in the model's normalised space, with the
//! reconstruction metrics of [`crate::metrics`] — the linear model every autoencoder is
//! compared with (`ae evaluate`, the loss curve's dashed line, `ae demo`).

use std::borrow::Cow;
use std::ops::Range;

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::kernels::Threads;
use crate::loss::Loss;
use crate::metrics::{MetricsAccumulator, ReconstructionMetrics};
use crate::model::Autoencoder;
use crate::pca::{Baseline, Method, Pca};

/// The baseline's metrics and where it was fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct PcaResult {
    /// Reconstruction metrics on the scored rows.
    pub metrics: ReconstructionMetrics,
    /// Components: the model's code size, or fewer when there are fewer rows or columns.
    pub k: usize,
    /// Where the fitting rows came from.
    pub fitted_on: String,
    /// Seconds the fit took.
    pub seconds: f64,
    /// Exact, or randomised for rows wider than [`crate::pca::EXACT_MAX_DIM`].
    pub method: Method,
}

impl PcaResult {
    /// The value of `loss` among the metrics (`None` for BCE when a target lies outside
    /// `[0, 1]`).
    pub fn loss(&self, loss: Loss) -> Option<f64> {
        match loss {
            Loss::Bce => self.metrics.bce,
            Loss::Mae => Some(self.metrics.mae),
            Loss::Mse => Some(self.metrics.mse),
        }
    }
}

/// A PCA baseline, or why there is none ([`Pca::fit_baseline`] skips fits that would
/// pass its time or memory bound).
#[derive(Debug, Clone, PartialEq)]
pub enum PcaBaseline {
    /// Fitted and scored.
    Fitted(PcaResult),
    /// Skipped, and why (one sentence, for a note).
    Skipped(String),
}

/// PCA-k (`k`, the model's code size) fitted on `fit` (row-major values of the model's
/// input width, and where they came from), scored on `eval`, both in the model's
/// normalised space (normalised a chunk at a time: no copy of either set is made when
/// the normaliser is the identity); or the reason it is skipped, decided from the sizes
/// before the rows are normalised or anything is fitted ([`Pca::baseline_plan`]): exact
/// up to [`crate::pca::EXACT_MAX_DIM`] values per row, randomised above, bounded in time
/// and memory.
pub fn pca(model: &Autoencoder, fit: (&[f32], &str), eval: &[f32], threads: &Threads) -> Result<PcaBaseline> {
    match fit_pca(model, fit, threads)? {
        Err(why) => Ok(PcaBaseline::Skipped(why)),
        Ok(mut p) => {
            p.add(eval)?;
            Ok(PcaBaseline::Fitted(p.result()))
        }
    }
}

/// The PCA baseline fitted, measuring rows given a part at a time ([`add`](Self::add)):
/// any split of the rows gives the metrics of [`pca`] on the rows whole, bit for bit.
#[derive(Debug, Clone)]
pub struct FittedPca {
    pca: Pca,
    normalizer: crate::Normalizer,
    k: usize,
    fitted_on: String,
    seconds: f64,
    method: Method,
    metrics: MetricsAccumulator,
}

/// PCA-k fitted on `fit` as [`pca`] fits it, to measure rows a part at a time; or the
/// reason it is skipped.
pub fn fit_pca(
    model: &Autoencoder,
    fit: (&[f32], &str),
    threads: &Threads,
) -> Result<std::result::Result<FittedPca, String>> {
    let k = model.code_dim();
    let d = model.input_dim();
    let norm = model.normalizer();
    let fit_n = fit.0.len() / d.max(1);
    let k_eff = k.min(fit_n).min(d);
    if let Some(why) = Pca::baseline_plan(fit_n, d, k_eff, threads.count()).skip_reason() {
        return Ok(Err(why));
    }
    let t = std::time::Instant::now();
    let fit_x = normalized(norm, fit.0);
    let (pca, method) = match Pca::fit_baseline(&fit_x, fit_n, d, k_eff, threads.count())? {
        Baseline::Fitted { pca, method } => (pca, method),
        Baseline::Skipped(why) => return Ok(Err(why)),
    };
    Ok(Ok(FittedPca::new(model, pca, fit.1, t, method)))
}

/// [`fit_pca`] on rows read a part at a time, named `source`: `pass` hands every part of
/// the rows, in the same order each time, to the function it is given. It is called
/// once for the column mean ([`crate::pca::MeanPass`]), then, as [`Pca::baseline_plan`]
/// chooses from the sizes, once more for the exact fit ([`crate::pca::CovariancePass`])
/// or once per pass of the randomised one, for rows wider than
/// [`crate::pca::EXACT_MAX_DIM`] ([`crate::pca::SubspaceIteration`]: 9 in all with the
/// default settings; [`Method::passes`]). Memory holds one part and the fit's buffers
/// (the `d × d` covariance, or the randomised fit's `O(d·l)`), never the rows. The same
/// bits as [`fit_pca`] on the rows whole, and skipped for the same reasons, after the
/// mean pass has counted the rows.
pub fn fit_pca_parts(
    model: &Autoencoder,
    source: &str,
    threads: &Threads,
    mut pass: impl FnMut(&mut dyn FnMut(&[f32]) -> Result<()>) -> Result<()>,
) -> Result<std::result::Result<FittedPca, String>> {
    let d = model.input_dim();
    let t = std::time::Instant::now();
    let norm = model.normalizer();
    let mut mean = crate::pca::MeanPass::new(d);
    pass(&mut |part| mean.add(&normalized(norm, part)))?;
    let k = model.code_dim().min(mean.rows()).min(d);
    let plan = Pca::baseline_plan(mean.rows(), d, k, threads.count());
    if let Some(why) = plan.skip_reason() {
        return Ok(Err(why));
    }
    let pca = match plan.method {
        Method::Exact => {
            let mut covariance = mean.covariance(threads.count())?;
            pass(&mut |part| covariance.add(&normalized(norm, part)))?;
            covariance.finish(k)?
        }
        Method::Randomized(options) => {
            let mut fit = mean.subspace(k, threads.count(), options)?;
            loop {
                pass(&mut |part| fit.add(&normalized(norm, part)))?;
                if !fit.next_pass()? {
                    break fit.finish()?;
                }
            }
        }
    };
    Ok(Ok(FittedPca::new(model, pca, source, t, plan.method)))
}

/// [`fit_pca`] on the rows `rows` of `data` (named by its source), read a slice at a
/// time through [`fit_pca_parts`]: the same bits, skipped for the same reasons, and
/// memory holds a slice of the rows in the normaliser's space, never a copy of them all
/// (rows held as bytes, [`Dataset::from_bytes`], are decoded a slice at a time).
pub fn fit_pca_on(
    model: &Autoencoder,
    data: &Dataset,
    rows: Range<usize>,
    threads: &Threads,
) -> Result<std::result::Result<FittedPca, String>> {
    fit_pca_parts(model, &data.source, threads, |each| {
        data.slices(rows.clone(), slice_rows(data.cols())).try_for_each(|slice| each(&slice))
    })
}

/// Rows a slice of the passes over many rows: about 4 M values (4,096 rows of MNIST),
/// so that wide rows stay within memory.
fn slice_rows(cols: usize) -> usize {
    ((1usize << 22) / cols.max(1)).clamp(1, 4096)
}

/// `rows` in the normaliser's space (borrowed when it is the identity).
fn normalized<'a>(norm: &crate::Normalizer, rows: &'a [f32]) -> Cow<'a, [f32]> {
    if norm.is_identity() {
        return Cow::Borrowed(rows);
    }
    let mut v = rows.to_vec();
    norm.apply_in_place(&mut v);
    Cow::Owned(v)
}

impl FittedPca {
    fn new(
        model: &Autoencoder,
        pca: Pca,
        source: &str,
        start: std::time::Instant,
        method: Method,
    ) -> FittedPca {
        FittedPca {
            k: pca.k(),
            pca,
            normalizer: model.normalizer().clone(),
            fitted_on: source.to_string(),
            seconds: start.elapsed().as_secs_f64(),
            method,
            metrics: MetricsAccumulator::new(model.input_dim()),
        }
    }

    /// Measure the reconstructions of the raw rows `eval` (the next after those added).
    pub fn add(&mut self, eval: &[f32]) -> Result<()> {
        let d = self.metrics.cols();
        let chunk = slice_rows(d);
        let rows = eval.len() / d.max(1);
        for start in (0..rows).step_by(chunk) {
            let n = chunk.min(rows - start);
            let mut x = eval[start * d..(start + n) * d].to_vec();
            self.normalizer.apply_in_place(&mut x);
            let mut y = vec![0.0; n * d];
            self.pca.reconstruct(&x, n, &mut y)?;
            self.metrics.add(&x, &y)?;
        }
        Ok(())
    }

    /// [`add`](Self::add) the rows `rows` of `data`, a slice at a time (rows held as
    /// bytes are decoded a slice at a time).
    pub fn add_rows(&mut self, data: &Dataset, rows: Range<usize>) -> Result<()> {
        data.slices(rows, slice_rows(data.cols())).try_for_each(|slice| self.add(&slice))
    }

    /// The metrics of the rows added, and the fit.
    pub fn result(&self) -> PcaResult {
        PcaResult {
            metrics: self.metrics.finish(),
            k: self.k,
            fitted_on: self.fitted_on.clone(),
            seconds: self.seconds,
            method: self.method,
        }
    }
}

/// [`pca`] fitted on `fit_rows` and scored on `data`; a skipped baseline is an error.
pub fn pca_fitted(
    model: &Autoencoder,
    fit_rows: &Dataset,
    data: &Dataset,
    threads: &Threads,
) -> Result<PcaResult> {
    match fit_pca_on(model, fit_rows, 0..fit_rows.rows(), threads)? {
        Ok(mut p) => {
            p.add_rows(data, 0..data.rows())?;
            Ok(p.result())
        }
        Err(why) => Err(Error::Data(format!("no PCA baseline: {why}"))),
    }
}

/// The baseline of a training run, for its loss curve: [`pca`] fitted on the training
/// part of `data` (the rows before the model's `validation_split`,
/// [`Dataset::split_validation`]; all of them with a separate `validation` set) and
/// scored on what the loss was validated on (`validation`, the held-out rows, or the
/// training rows when nothing was held out). The loss to compare with is the model's
/// (`PcaResult::loss`). The rows are read a slice at a time ([`fit_pca_on`]). Errors
/// when the model has no training summary.
pub fn pca_of_training(
    model: &Autoencoder,
    data: &Dataset,
    validation: Option<&Dataset>,
    threads: &Threads,
) -> Result<PcaBaseline> {
    let t = model
        .training
        .as_ref()
        .ok_or_else(|| Error::Data("the model has no training summary to split its rows by".into()))?;
    let split = t.config.get("validation_split").and_then(|v| v.as_f64()).unwrap_or(0.0);
    let (fit, (eval, eval_rows)) = match validation {
        Some(v) => (0..data.rows(), (v, 0..v.rows())),
        None => {
            let (train, held_out) = data.split_validation(split)?;
            let eval = if held_out.is_empty() { train.clone() } else { held_out };
            (train, (data, eval))
        }
    };
    Ok(match fit_pca_on(model, data, fit, threads)? {
        Ok(mut p) => {
            p.add_rows(eval, eval_rows)?;
            PcaBaseline::Fitted(p.result())
        }
        Err(why) => PcaBaseline::Skipped(why),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{fit, NoObserver, TrainConfig};
    use crate::ModelConfig;

    fn model(data: &Dataset, split: f64) -> (Autoencoder, Threads) {
        let config = ModelConfig { input_dim: data.cols(), layers: vec![4], ..ModelConfig::default() };
        let mut m = Autoencoder::new(config, 0).unwrap();
        let training = TrainConfig { epochs: 1, validation_split: split, ..TrainConfig::default() };
        let threads = Threads::new(1);
        fit(&mut m, data, None, &training, &threads, &mut NoObserver).unwrap();
        (m, threads)
    }

    #[test]
    fn the_training_baseline_fits_the_training_part_and_scores_the_held_out_rows() {
        let data = crate::data::synthetic::generate(40, 0);
        let (m, threads) = model(&data, 0.25);
        let got = pca_of_training(&m, &data, None, &threads).unwrap();
        let want = pca(&m, (data.rows_in(0..30), &data.source), data.rows_in(30..40), &threads).unwrap();
        let (PcaBaseline::Fitted(got), PcaBaseline::Fitted(want)) = (got, want) else { panic!("skipped") };
        assert_eq!((got.k, got.metrics), (4, want.metrics));
        assert_eq!(got.loss(Loss::Mse), Some(got.metrics.mse));
        // Nothing held out: fitted and scored on every row.
        let (m, threads) = model(&data, 0.0);
        let all = pca_fitted(&m, &data, &data, &threads).unwrap();
        let PcaBaseline::Fitted(p) = pca_of_training(&m, &data, None, &threads).unwrap() else { panic!() };
        assert_eq!(p.metrics, all.metrics);
    }

    /// Rows held as bytes: the loss plot's baseline is fitted and scored a slice at a
    /// time (9,000 training rows in slices of 4,096), to the bits of the baseline of the
    /// same values whole, and the bytes are never decoded.
    #[test]
    fn the_training_baseline_of_rows_held_as_bytes_reads_them_a_slice_at_a_time() {
        let (rows, cols) = (10_000, 128);
        let (bytes, values) = Dataset::bytes_and_values(rows, cols);
        let (m, threads) = model(&values, 0.1);
        let PcaBaseline::Fitted(got) = pca_of_training(&m, &bytes, None, &threads).unwrap() else {
            panic!("skipped")
        };
        assert!(!bytes.values_decoded(), "the baseline decoded every row");
        let want = pca(&m, (values.rows_in(0..9000), "values"), values.rows_in(9000..rows), &threads);
        let PcaBaseline::Fitted(want) = want.unwrap() else { panic!("skipped") };
        assert_eq!((got.k, got.metrics, got.method), (want.k, want.metrics, want.method));
        assert_eq!(got.fitted_on, "bytes");
    }

    #[test]
    fn a_fit_on_parts_is_the_fit_on_the_rows_whole() {
        let data = crate::data::synthetic::generate(9000, 3);
        let d = data.cols();
        for normalize in
            [crate::data::normalize::NormalizeKind::None, crate::data::normalize::NormalizeKind::ZScore]
        {
            let config = ModelConfig { input_dim: d, layers: vec![4], normalize, ..ModelConfig::default() };
            let mut m = Autoencoder::new(config, 0).unwrap();
            let training = TrainConfig { epochs: 1, ..TrainConfig::default() };
            let threads = Threads::new(2);
            fit(&mut m, &data, None, &training, &threads, &mut NoObserver).unwrap();
            let Ok(mut whole) = fit_pca(&m, (data.as_slice(), "rows"), &threads).unwrap() else {
                panic!("skipped")
            };
            whole.add(data.as_slice()).unwrap();
            // Cuts inside and across the covariance blocks of 8,192 rows.
            let cuts = [0, 1, 4000, 8191, 8193, 9000];
            let mut passes = 0;
            let parts = fit_pca_parts(&m, "rows", &threads, |each| {
                passes += 1;
                cuts.windows(2).try_for_each(|w| each(data.rows_in(w[0]..w[1])))
            });
            let Ok(mut parts) = parts.unwrap() else { panic!("skipped") };
            parts.add(data.as_slice()).unwrap();
            let (want, got) = (whole.result(), parts.result());
            assert_eq!(
                (passes, got.k, got.metrics, got.method),
                (2, 4, want.metrics, want.method),
                "{normalize}"
            );
            assert_eq!(parts.pca, whole.pca);
        }
        // Wide rows: the randomised fit, in nine passes over the parts, to the bits of
        // the fit in memory (blocks of 953 rows of 1,100 values).
        let (n, d) = (2000, 1100);
        let mut x: Vec<f32> = vec![0.0; n * d];
        let mut rng = crate::random::rng(7, crate::random::Stream::Sample);
        for (i, v) in x.iter_mut().enumerate() {
            *v = crate::random::normal(&mut rng) as f32 * (1.0 + (i % d) as f32 / 64.0);
        }
        let wide = Dataset::new(x, n, d, "wide").unwrap();
        let config = ModelConfig { input_dim: d, layers: vec![6], ..ModelConfig::default() };
        let m = Autoencoder::new(config, 0).unwrap();
        let threads = Threads::new(2);
        let Ok(whole) = fit_pca(&m, (wide.as_slice(), "wide"), &threads).unwrap() else { panic!("skipped") };
        let cuts = [0, 1, 952, 954, 1907, 2000];
        let mut passes = 0;
        let parts = fit_pca_parts(&m, "wide", &threads, |each| {
            passes += 1;
            cuts.windows(2).try_for_each(|w| each(wide.rows_in(w[0]..w[1])))
        });
        let Ok(parts) = parts.unwrap() else { panic!("skipped") };
        assert!(matches!(whole.method, Method::Randomized(_)), "{:?}", whole.method);
        assert_eq!((passes, parts.method), (whole.method.passes(), whole.method));
        assert_eq!(passes, 9);
        assert_eq!(parts.pca, whole.pca);
        // Skipped for the fit in memory's reasons, after the mean pass has counted the rows.
        let m = Autoencoder::new(
            ModelConfig { input_dim: 1 << 20, layers: vec![6], ..ModelConfig::default() },
            0,
        )
        .unwrap();
        let row = vec![0.5f32; 1 << 20];
        let mut passes = 0;
        let why = fit_pca_parts(&m, "widest", &threads, |each| {
            passes += 1;
            each(&row)?;
            each(&row)
        })
        .unwrap()
        .unwrap_err();
        assert!(why.contains("MiB of memory") && passes == 1, "{why} after {passes} passes");
    }

    #[test]
    fn a_model_without_training_has_no_training_baseline() {
        let data = crate::data::synthetic::generate(8, 0);
        let config = ModelConfig { input_dim: data.cols(), layers: vec![4], ..ModelConfig::default() };
        let m = Autoencoder::new(config, 0).unwrap();
        assert!(pca_of_training(&m, &data, None, &Threads::new(1)).is_err());
    }
}

/// The probes ([`crate::probe::probe`]) of three representations of the same labelled
/// rows, so that a model's codes are judged beside the obvious alternatives.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RepresentationProbes {
    /// The model's codes ([`Autoencoder::encode`]; a variational model's mean).
    pub codes: crate::probe::ProbeScores,
    /// PCA's codes of the same width, fitted on the training rows in the model's
    /// normalised space (`None` when the fit is skipped, with the reason).
    pub pca: std::result::Result<crate::probe::ProbeScores, String>,
    /// The raw rows.
    pub raw: crate::probe::ProbeScores,
    /// The codes' width (PCA's components).
    pub width: usize,
    /// The raw rows' width.
    pub raw_width: usize,
}

/// Probe the model's codes, PCA-k codes and the raw rows: classifiers trained on
/// `train` and measured on `test`, k-means on `test` (seeded with `seed`). Both sets
/// need labels.
pub fn probe_representations(
    model: &Autoencoder,
    train: &Dataset,
    test: &Dataset,
    seed: u64,
    threads: &Threads,
) -> Result<RepresentationProbes> {
    use crate::probe::{probe, Features};
    model.check_data(train)?;
    model.check_data(test)?;
    let labels = |d: &Dataset| -> Result<Vec<i64>> {
        d.labels.clone().ok_or_else(|| {
            Error::Data(format!(
                "{}: the probes need labels, and these rows have none (named datasets have them; give --label-column for a CSV)",
                d.source
            ))
        })
    };
    let (ya, yb) = (labels(train)?, labels(test)?);
    let (d, k) = (model.input_dim(), model.code_dim());
    let za = model.encode(train.as_slice(), threads)?;
    let zb = model.encode(test.as_slice(), threads)?;
    let codes = probe(&Features::new(&za, k, &ya)?, &Features::new(&zb, k, &yb)?, seed, threads)?;
    drop((za, zb));
    let norm = model.normalizer();
    let (mut xa, mut xb) = (train.as_slice().to_vec(), test.as_slice().to_vec());
    norm.apply_in_place(&mut xa);
    norm.apply_in_place(&mut xb);
    let k_eff = k.min(train.rows()).min(d);
    let pca = match Pca::fit_baseline(&xa, train.rows(), d, k_eff, threads.count())? {
        Baseline::Fitted { pca, .. } => {
            let (mut pa, mut pb) = (vec![0.0f32; train.rows() * k_eff], vec![0.0f32; test.rows() * k_eff]);
            pca.transform(&xa, train.rows(), &mut pa)?;
            pca.transform(&xb, test.rows(), &mut pb)?;
            Ok(probe(&Features::new(&pa, k_eff, &ya)?, &Features::new(&pb, k_eff, &yb)?, seed, threads)?)
        }
        Baseline::Skipped(why) => Err(why),
    };
    drop((xa, xb));
    let raw = probe(
        &Features::new(train.as_slice(), d, &ya)?,
        &Features::new(test.as_slice(), d, &yb)?,
        seed,
        threads,
    )?;
    Ok(RepresentationProbes { codes, pca, raw, width: k, raw_width: d })
}
