//! What `ae evaluate` measures of a model on rows — the reconstruction metrics, the
//! code's mean activation and mean encoder Jacobian norm, a variational model's ELBO and
//! likelihood, the PCA baseline — over rows given whole or a part at a time.
//!
//! Every measure is a sum taken row by row in order (each row's random draws the next
//! of one stream), so any split of the rows into parts gives the bits of the rows given
//! whole: a file larger than memory is evaluated a part at a time with the numbers of
//! the file read whole.

use crate::baseline::{FittedPca, PcaResult};
use crate::error::Result;
use crate::kernels::Threads;
use crate::metrics::{MetricsAccumulator, ReconstructionMetrics};
use crate::model::{Autoencoder, ElboParts, ElboSums, Likelihood, NllSums};

/// Rows whose codes [`Evaluation::add`] computes at once.
const CODE_CHUNK_ROWS: usize = 4096;

/// The measures, accumulated a part at a time ([`add`](Self::add)).
#[derive(Debug, Clone)]
pub struct Evaluation<'m> {
    model: &'m Autoencoder,
    metrics: MetricsAccumulator,
    code_sum: f64,
    code_values: u64,
    /// The sum of the rows' Jacobian norms, `None` where they are not exact.
    jacobian: Option<f64>,
    elbo: Option<ElboSums>,
    nll: Option<NllSums>,
    nll_seconds: f64,
    pca: Option<FittedPca>,
}

/// What an [`Evaluation`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measures {
    /// The model's reconstruction metrics, in its normalised units.
    pub metrics: ReconstructionMetrics,
    /// The mean of every code value ([`Autoencoder::encode`]).
    pub code_mean_activation: f64,
    /// The mean encoder Jacobian norm `‖∂E(x)/∂x‖_F` over rows, where it is exact
    /// ([`Autoencoder::jacobian_norms`]).
    pub jacobian_norm: Option<f64>,
    /// A variational model's negative ELBO parts, one posterior sample per row.
    pub elbo: Option<ElboParts>,
    /// The decoder's likelihood those parts and `nll` are of (a variational model's).
    pub likelihood: Option<Likelihood>,
    /// A variational model's importance-sampled `−log p(x)`, when asked for.
    pub nll: Option<f64>,
    /// Seconds spent on `nll`.
    pub nll_seconds: f64,
    /// The PCA baseline's metrics on the same rows, when one was given.
    pub pca: Option<PcaResult>,
}

impl<'m> Evaluation<'m> {
    /// No rows yet. A variational model's ELBO is measured, and with `iw_samples` > 0
    /// its importance-sampled likelihood (`K = iw_samples`), both under its decoder's
    /// [`Likelihood`], their draws from seed 0, as the `elbo` score draws.
    pub fn new(model: &'m Autoencoder, iw_samples: usize) -> Result<Evaluation<'m>> {
        Evaluation::with_seed(model, iw_samples, 0)
    }

    /// [`new`](Self::new), the draws from `seed`.
    pub fn with_seed(model: &'m Autoencoder, iw_samples: usize, seed: u64) -> Result<Evaluation<'m>> {
        let variational = model.config().variational;
        Ok(Evaluation {
            model,
            metrics: MetricsAccumulator::new(model.input_dim()),
            code_sum: 0.0,
            code_values: 0,
            jacobian: Some(0.0),
            elbo: if variational { Some(ElboSums::new(model, seed)?) } else { None },
            nll: if variational && iw_samples > 0 {
                Some(NllSums::new(model, iw_samples, seed)?)
            } else {
                None
            },
            nll_seconds: 0.0,
            pca: None,
        })
    }

    /// Also measure `pca`, the baseline fitted beforehand, on the same rows.
    pub fn with_pca(mut self, pca: FittedPca) -> Self {
        self.pca = Some(pca);
        self
    }

    /// Add the raw rows `x` (of the model's width; the next after those added so far),
    /// calling `progress(rows)` with the rows of `x` done while the likelihood, the slow
    /// measure, is sampled.
    pub fn add(&mut self, x: &[f32], threads: &Threads, progress: &mut dyn FnMut(usize)) -> Result<()> {
        let model = self.model;
        model.measure(x, &mut self.metrics, threads)?;
        // The codes a chunk of rows at a time (the sums run over them in order, so the
        // same bits): all of them at once could be far larger than the rows (a wide code).
        let d = model.input_dim().max(1);
        let rows = x.len() / d;
        for start in (0..rows).step_by(CODE_CHUNK_ROWS) {
            let end = (start + CODE_CHUNK_ROWS).min(rows);
            let codes = model.encode(&x[start * d..end * d], threads)?;
            self.code_sum = codes.iter().fold(self.code_sum, |s, &v| s + f64::from(v));
            self.code_values += codes.len() as u64;
            if let Some(sum) = self.jacobian {
                self.jacobian =
                    model.jacobian_norms_of_codes(&codes).ok().map(|v| v.iter().fold(sum, |s, &n| s + n));
            }
        }
        if let Some(elbo) = &mut self.elbo {
            elbo.add(model, x, threads);
        }
        if let Some(nll) = &mut self.nll {
            let t = std::time::Instant::now();
            nll.add(model, x, threads, progress);
            self.nll_seconds += t.elapsed().as_secs_f64();
        }
        if let Some(pca) = &mut self.pca {
            pca.add(x)?;
        }
        Ok(())
    }

    /// Rows added so far.
    pub fn rows(&self) -> u64 {
        self.metrics.rows() as u64
    }

    /// The measures of the rows added.
    pub fn finish(&self) -> Measures {
        let rows = self.rows().max(1) as f64;
        Measures {
            metrics: self.metrics.finish(),
            code_mean_activation: self.code_sum / self.code_values.max(1) as f64,
            jacobian_norm: self.jacobian.map(|s| s / rows),
            elbo: self.elbo.as_ref().map(ElboSums::parts),
            likelihood: self.elbo.is_some().then(|| Likelihood::of(self.model)),
            nll: self.nll.as_ref().map(NllSums::nll),
            nll_seconds: self.nll_seconds,
            pca: self.pca.as_ref().map(FittedPca::result),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::{fit_pca, pca, PcaBaseline};
    use crate::{Activation, ModelConfig};

    /// `rows` rows of 6 values in [0, 1], from a seeded generator.
    fn rows(rows: usize) -> Vec<f32> {
        let mut s = 0x9e37_79b9_7f4a_7c15_u64;
        (0..rows * 6)
            .map(|_| {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (s >> 40) as f32 / 16_777_216.0
            })
            .collect()
    }

    /// The measures of `x` split at `cuts` (row indices), with PCA fitted on `fit`.
    fn measured(model: &Autoencoder, x: &[f32], cuts: &[usize], fit: &[f32]) -> (Measures, Vec<usize>) {
        let threads = Threads::new(2);
        let fitted = fit_pca(model, (fit, "fit"), &threads).unwrap().unwrap();
        let mut e = Evaluation::with_seed(model, 3, 11).unwrap().with_pca(fitted);
        let mut seen = Vec::new();
        let mut at = 0;
        for &end in cuts.iter().chain([&(x.len() / 6)]) {
            e.add(&x[at * 6..end * 6], &threads, &mut |done| seen.push(at + done)).unwrap();
            at = end;
        }
        assert_eq!(e.rows(), (x.len() / 6) as u64);
        let mut m = e.finish();
        m.nll_seconds = 0.0;
        m.pca.as_mut().unwrap().seconds = 0.0;
        (m, seen)
    }

    #[test]
    fn any_split_of_the_rows_gives_the_measures_of_the_rows_whole() {
        let x = rows(5000);
        let fit = &x[..600 * 6];
        for (variational, output) in
            [(true, Activation::Sigmoid), (true, Activation::Linear), (false, Activation::Sigmoid)]
        {
            let config = ModelConfig {
                input_dim: 6,
                layers: vec![4, 2],
                variational,
                output_activation: output,
                ..ModelConfig::default()
            };
            let model = Autoencoder::new(config, 3).unwrap();
            let (whole, seen) = measured(&model, &x, &[], fit);
            // The ELBO's blocks of 4,096 rows, the likelihood's chunks, the metrics'
            // chunks of 8,192 rows and PCA's of 4,096 all cut differently.
            for cuts in [&[1, 4097][..], &[2500], &[4095, 4096, 4999]] {
                assert_eq!(measured(&model, &x, cuts, fit).0, whole, "{cuts:?}");
            }
            // The measures of the functions that take the rows whole.
            let threads = Threads::new(1);
            assert_eq!(
                whole.metrics,
                model.evaluate(&crate::Dataset::new(x.clone(), 5000, 6, "x").unwrap(), &threads).unwrap()
            );
            let PcaBaseline::Fitted(p) = pca(&model, (fit, "fit"), &x, &threads).unwrap() else { panic!() };
            assert_eq!(whole.pca.unwrap().metrics, p.metrics);
            if variational {
                let likelihood =
                    if output == Activation::Sigmoid { Likelihood::Bernoulli } else { Likelihood::Gaussian };
                assert_eq!(whole.likelihood, Some(likelihood));
                assert_eq!(whole.elbo, Some(model.elbo(&x, 11, &threads).unwrap()));
                // The same draws as the elbo score's one sample per row (row g's at word
                // 4·g·k of the stream): the mean score is the negative ELBO.
                let scores = model.negative_elbo_rows(&x, 1, 11, 0, &threads).unwrap();
                let mean = scores.iter().sum::<f64>() / 5000.0;
                let elbo = whole.elbo.unwrap().negative_elbo();
                assert!((mean - elbo).abs() < 1e-9 * elbo.abs(), "{mean} against {elbo}");
                assert_eq!(whole.nll, Some(model.importance_nll(&x, 3, 11, &threads).unwrap()));
                assert!(whole.nll.unwrap() <= whole.elbo.unwrap().negative_elbo() + 0.5);
                assert_eq!(seen.last(), Some(&5000), "the likelihood's progress reaches every row");
                assert!(whole.jacobian_norm.is_none(), "a two-layer encoder's norm is not exact");
            } else {
                assert!(whole.elbo.is_none() && whole.nll.is_none() && seen.is_empty());
            }
            let codes = model.encode(&x, &threads).unwrap();
            let mean = codes.iter().map(|&v| f64::from(v)).sum::<f64>() / codes.len() as f64;
            assert_eq!(whole.code_mean_activation, mean);
        }
    }

    #[test]
    fn a_one_layer_encoders_jacobian_norm_is_the_mean_over_rows() {
        let x = rows(300);
        let config = ModelConfig { input_dim: 6, layers: vec![3], ..ModelConfig::default() };
        let model = Autoencoder::new(config, 5).unwrap();
        let threads = Threads::new(1);
        let norms = model.jacobian_norms(&x, &threads).unwrap();
        let mut e = Evaluation::new(&model, 0).unwrap();
        e.add(&x[..100 * 6], &threads, &mut |_| {}).unwrap();
        e.add(&x[100 * 6..], &threads, &mut |_| {}).unwrap();
        assert_eq!(e.finish().jacobian_norm, Some(norms.iter().sum::<f64>() / 300.0));
        assert!(e.finish().pca.is_none());
    }
}
