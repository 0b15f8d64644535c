//! A model's anomaly detector, kept in its file's `threshold` metadata: how a row's
//! reconstruction error becomes a score (`ScoreKind`), the rule that picks the
//! threshold (`ThresholdRule`), the fitted `Detector`, and the scoring passes over a
//! model (`scores`, `feature_scales`, `lowest_scoring`). The crate's public face for
//! these is `anomaly`, which re-exports them beside the metrics.

use std::str::FromStr;

use super::autoencoder::{Autoencoder, INFERENCE_SLICE};
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::kernels::Threads;
use crate::select;

/// How a row's reconstruction error becomes one number. With `e = x − x̂` in the
/// model's normalised units and `d` features:
/// - `mse`: `(1/d) Σⱼ eⱼ²` (the default);
/// - `mae`: `(1/d) Σⱼ |eⱼ|`;
/// - `root`: `(1/d) Σⱼ √|eⱼ|` — it grows with how many features are off more than with
///   how far the worst one is, so one wild feature counts for less than several
///   moderately wrong ones (the tabular preset's score);
/// - `standardized`: `(1/d) Σⱼ (eⱼ/σⱼ)²`, with `σⱼ` the standard deviation of feature
///   `j`'s error on the training rows — so a feature the model always reconstructs
///   badly does not drown the others;
/// - `elbo`: a variational model's negative ELBO, `−E_q[log p(x|z)] + KL(q(z|x) ‖ p(z))`
///   ([`Autoencoder::negative_elbo_rows`], [`ELBO_SAMPLES`] draws per row from seed 0
///   at the row's global index, [`Dataset::first_row`] + its place), the default for
///   variational models.
///
/// Every score of a row depends on that row (and its global index) alone: a file
/// scored whole, in shards (each with its `first_row`) or a row at a time gives the
/// same scores bit for bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    /// Mean squared error of the row.
    #[default]
    Mse,
    /// Mean absolute error of the row.
    Mae,
    /// Mean of the square roots of the row's absolute errors.
    Root,
    /// Mean squared error per feature, each scaled by its training spread.
    Standardized,
    /// A variational model's negative ELBO (nats per row).
    Elbo,
}

impl ScoreKind {
    /// The score used when none is asked for: the model's own
    /// ([`ModelConfig::score`](super::ModelConfig::score)), else `elbo` for a variational model and `mse`
    /// for the others.
    pub fn default_for(model: &Autoencoder) -> ScoreKind {
        if let Some(kind) = model.config().score {
            kind
        } else if model.config().variational {
            ScoreKind::Elbo
        } else {
            ScoreKind::Mse
        }
    }

    /// The score a model computes when none is asked for: its detector's, else
    /// [`default_for`](Self::default_for) the model.
    pub fn of(model: &Autoencoder) -> ScoreKind {
        model.detector.as_ref().map_or_else(|| ScoreKind::default_for(model), |d| d.score)
    }
}

/// Posterior draws per row for the `elbo` score (from a fixed seed, so scores repeat).
pub const ELBO_SAMPLES: usize = 16;

impl std::fmt::Display for ScoreKind {
    /// The name used in flags and files: `mse`, `mae`, `root`, `standardized`, `elbo`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScoreKind::Mse => "mse",
            ScoreKind::Mae => "mae",
            ScoreKind::Root => "root",
            ScoreKind::Standardized => "standardized",
            ScoreKind::Elbo => "elbo",
        })
    }
}

impl FromStr for ScoreKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mse" => Ok(ScoreKind::Mse),
            "mae" => Ok(ScoreKind::Mae),
            "root" => Ok(ScoreKind::Root),
            "standardized" | "standardised" | "zscore" => Ok(ScoreKind::Standardized),
            "elbo" => Ok(ScoreKind::Elbo),
            _ => Err(Error::config(
                "score",
                format!(
                    "unknown score {s:?}; expected mse, mae, root, standardized or elbo (variational models)"
                ),
            )),
        }
    }
}

/// How the threshold is chosen from the training rows' scores.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "value")]
pub enum ThresholdRule {
    /// The fraction of training rows expected to be outliers: the threshold is the
    /// `(1 − c)` quantile of their scores (PyOD's `contamination`).
    Contamination(f64),
    /// The `p`-th percentile of the training scores.
    Percentile(f64),
    /// `mean + k·std` of the training scores.
    Sigma(f64),
    /// A fixed score.
    Value(f64),
}

impl std::fmt::Display for ThresholdRule {
    /// As the flag takes it: `contamination=0.05`, `percentile=99`, `sigma=3`, `value=0.12`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ThresholdRule::Contamination(v) => write!(f, "contamination={v}"),
            ThresholdRule::Percentile(v) => write!(f, "percentile={v}"),
            ThresholdRule::Sigma(v) => write!(f, "sigma={v}"),
            ThresholdRule::Value(v) => write!(f, "value={v}"),
        }
    }
}

impl FromStr for ThresholdRule {
    type Err = Error;
    /// `contamination=0.05`, `percentile=99`, `sigma=3`, `value=0.12`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |m: String| Error::config("threshold", m);
        let (k, v) = s.split_once('=').ok_or_else(|| {
            bad(format!("{s:?}: expected contamination=C, percentile=P, sigma=K or value=V"))
        })?;
        let v: f64 = v.trim().parse().map_err(|_| bad(format!("{v:?} in {s:?} is not a number")))?;
        let rule = match k.trim().to_ascii_lowercase().as_str() {
            "contamination" => ThresholdRule::Contamination(v),
            "percentile" => ThresholdRule::Percentile(v),
            "sigma" => ThresholdRule::Sigma(v),
            "value" => ThresholdRule::Value(v),
            other => {
                return Err(bad(format!(
                    "unknown rule {other:?}; expected contamination, percentile, sigma or value"
                )))
            }
        };
        rule.check()?;
        Ok(rule)
    }
}

impl ThresholdRule {
    /// Check the rule's number.
    pub fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::config("threshold", m.to_string()));
        match *self {
            ThresholdRule::Contamination(c) if !(c > 0.0 && c <= 0.5) => {
                bad("contamination must be in (0, 0.5]")
            }
            ThresholdRule::Percentile(p) if !(0.0..=100.0).contains(&p) => {
                bad("percentile must be in [0, 100]")
            }
            ThresholdRule::Sigma(k) if !k.is_finite() => bad("sigma must be a finite number"),
            ThresholdRule::Value(v) if !(v.is_finite() && v >= 0.0) => {
                bad("value must be a finite number ≥ 0 (scores are never negative)")
            }
            _ => Ok(()),
        }
    }
}

/// A fitted detector: the score, its per-feature scales (for `standardized`), the
/// rule and the threshold it gave. Saved in the model file's `threshold` metadata.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detector {
    /// The score.
    pub score: ScoreKind,
    /// `1/σⱼ` per feature for `standardized` (empty otherwise).
    pub feature_scale: Vec<f32>,
    /// The rule.
    pub rule: ThresholdRule,
    /// The fitted threshold: rows scoring above it are outliers.
    pub threshold: f64,
    /// The training rows' scores, summarised: what outlier probabilities are scaled by
    /// ([`Detector::probabilities`]). Absent in files written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_scores: Option<ScoreSummary>,
}

/// The minimum, maximum, mean and (population) standard deviation of the training
/// rows' scores, and the share of them above the threshold.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScoreSummary {
    /// The lowest training score.
    pub min: f64,
    /// The highest training score.
    pub max: f64,
    /// Their mean.
    pub mean: f64,
    /// Their standard deviation (population: divided by n).
    pub std: f64,
    /// The share of training rows the threshold flags (scoring above it).
    pub flagged: f64,
}

impl ScoreSummary {
    /// The summary of `scores` (mean and variance in two passes, f64) against `threshold`.
    pub fn of(scores: &[f64], threshold: f64) -> ScoreSummary {
        let n = scores.len().max(1) as f64;
        let (min, max) =
            scores.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &s| (a.min(s), b.max(s)));
        let mean = scores.iter().sum::<f64>() / n;
        let std = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
        let flagged = scores.iter().filter(|&&s| s > threshold || s.is_nan()).count() as f64 / n;
        ScoreSummary { min, max, mean, std, flagged }
    }
}

/// How a score becomes the probability that its row is an outlier (PyOD's
/// `predict_proba` methods), from the training scores' [`ScoreSummary`]:
/// - `linear`: `(s − min)/(max − min)`;
/// - `unify`: `erf((s − μ)/(σ√2))` (Kriegel et al., "Interpreting and unifying outlier
///   scores", 2011);
///
/// each clipped to [0, 1] (0 when the training scores have no spread).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probability {
    /// Min–max scaling of the training scores.
    Linear,
    /// The Gaussian scaling of the training scores' mean and deviation.
    Unify,
}

impl FromStr for Probability {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "linear" => Ok(Probability::Linear),
            "unify" => Ok(Probability::Unify),
            _ => Err(Error::config("proba", format!("unknown method {s:?}; expected linear or unify"))),
        }
    }
}

impl std::fmt::Display for Probability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Probability::Linear => "linear",
            Probability::Unify => "unify",
        })
    }
}

/// Call `f(x, x̂)` for every row of `data` with both in the model's normalised units,
/// reconstructing in batches.
fn for_each_reconstruction(
    model: &Autoencoder,
    data: &Dataset,
    threads: &Threads,
    mut f: impl FnMut(&[f32], &[f32]),
) {
    let d = model.input_dim();
    for slice in data.slices(0..data.rows(), INFERENCE_SLICE) {
        let mut x = slice.into_owned();
        model.normalizer().apply_in_place(&mut x);
        let y = model.run_layers(0..model.layers().len(), &x, x.len() / d, threads);
        x.chunks_exact(d).zip(y.chunks_exact(d)).for_each(|(xr, yr)| f(xr, yr));
    }
}

/// Per-row reconstruction errors of `data` as scores of `kind` (`feature_scale` is
/// used by `standardized`), computed in batches.
pub fn scores(
    model: &Autoencoder,
    data: &Dataset,
    kind: ScoreKind,
    feature_scale: &[f32],
    threads: &Threads,
) -> Result<Vec<f64>> {
    let d = model.input_dim();
    // Σⱼ of the row's error terms (the reconstruction scores), or the ELBO's own pass.
    let Some(term) = checked_term(model, data, kind, feature_scale)? else {
        return model.negative_elbo_rows(data.as_slice(), ELBO_SAMPLES, 0, data.first_row, threads);
    };
    let mut out = Vec::with_capacity(data.rows());
    for_each_reconstruction(model, data, threads, |xr, yr| {
        let sum: f64 = (0..d).map(|j| term(xr[j], yr[j], feature_scale.get(j).copied().unwrap_or(1.0))).sum();
        out.push(sum / d as f64)
    });
    Ok(out)
}

/// Each feature's mean over the rows of `data` of the score's term (`mse`: the mean
/// squared error of the feature, in normalised units) — where a model reconstructs
/// worst. `feature_scale` as for [`scores`]; `elbo` is not a sum over features and is
/// refused.
pub fn feature_errors(
    model: &Autoencoder,
    data: &Dataset,
    kind: ScoreKind,
    feature_scale: &[f32],
    threads: &Threads,
) -> Result<Vec<f64>> {
    let Some(term) = checked_term(model, data, kind, feature_scale)? else {
        return Err(Error::Data(
            "the elbo score is not a sum over features; ask for mse, mae, root or standardized".into(),
        ));
    };
    let d = model.input_dim();
    let mut sum = vec![0.0f64; d];
    for_each_reconstruction(model, data, threads, |xr, yr| {
        for (j, s) in sum.iter_mut().enumerate() {
            *s += term(xr[j], yr[j], feature_scale.get(j).copied().unwrap_or(1.0));
        }
    });
    let n = data.rows().max(1) as f64;
    Ok(sum.into_iter().map(|s| s / n).collect())
}

/// A per-feature term: `(xⱼ, x̂ⱼ, kⱼ)` → its share of the score, before the mean.
type Term = fn(f32, f32, f32) -> f64;

/// [`error_term`] of `kind` after the checks both [`scores`] and [`feature_errors`]
/// make: the data fits the model, and `standardized` has one scale per feature.
fn checked_term(
    model: &Autoencoder,
    data: &Dataset,
    kind: ScoreKind,
    feature_scale: &[f32],
) -> Result<Option<Term>> {
    model.check_data(data)?;
    let d = model.input_dim();
    if kind == ScoreKind::Standardized && feature_scale.len() != d {
        return Err(Error::Data(format!(
            "standardized scores need {d} feature scales (fitted on training rows), found {}",
            feature_scale.len()
        )));
    }
    Ok(error_term(kind))
}

/// The term feature `j` adds to a reconstruction score (before the mean over the `d`
/// features), from `xⱼ`, `x̂ⱼ` in normalised units and the feature's scale `kⱼ` (used by
/// `standardized` alone); `None` for `elbo`, which is not a sum over features. The one
/// definition [`scores`] sums and [`explain_rows`] ranks.
fn error_term(kind: ScoreKind) -> Option<Term> {
    Some(match kind {
        ScoreKind::Mse => |a, b, _| ((a - b) as f64).powi(2),
        ScoreKind::Mae => |a, b, _| ((a - b) as f64).abs(),
        ScoreKind::Root => |a, b, _| ((a - b) as f64).abs().sqrt(),
        ScoreKind::Standardized => |a, b, k| (((a - b) * k) as f64).powi(2),
        ScoreKind::Elbo => return None,
    })
}

/// Per-row anomaly scores of a model, as `ae score` gives them ([`score_rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The score computed.
    pub kind: ScoreKind,
    /// One score per row; higher is more anomalous.
    pub scores: Vec<f64>,
    /// With the model's detector, when `kind` is its score: the threshold and each
    /// row's flag (1: above it, an outlier).
    pub flags: Option<(f64, Vec<u8>)>,
}

/// Score `data`'s rows with `kind`, by default the detector's score when the model has
/// one, else [`ScoreKind::default_for`] the model. `standardized` needs the feature
/// scales a detector fitted with it keeps. Rows are flagged when the detector's score
/// is the one computed.
pub fn score_rows(
    model: &Autoencoder,
    data: &Dataset,
    kind: Option<ScoreKind>,
    threads: &Threads,
) -> Result<Scored> {
    let detector = model.detector.as_ref();
    let (kind, scale) = resolve_score(model, kind)?;
    let scores = scores(model, data, kind, scale, threads)?;
    let flags = detector.filter(|d| d.score == kind).map(|d| (d.threshold, d.labels(&scores)));
    Ok(Scored { kind, scores, flags })
}

/// [`score_rows`] of rows `range` of table files read a part at a time
/// ([`ChunkedRows::parts`](crate::data::chunks::ChunkedRows::parts)): memory holds one
/// part and the scores, so files larger than memory are scored. The same bits as
/// [`score_rows`] of those rows read whole with `first_row` at `range.start`: each
/// part is scored at its rows' own indices (which an `elbo` score's samples are drawn
/// at).
pub fn score_chunked(
    model: &Autoencoder,
    data: &crate::data::chunks::ChunkedRows,
    range: std::ops::Range<u64>,
    kind: Option<ScoreKind>,
    threads: &Threads,
) -> Result<Scored> {
    let mut all = Vec::with_capacity(usize::try_from(range.end.saturating_sub(range.start)).unwrap_or(0));
    let mut flags: Option<(f64, Vec<u8>)> = None;
    let kind = score_parts(model, data, range, 0, kind, threads, |_, scored| {
        all.extend(scored.scores);
        if let Some((threshold, part)) = scored.flags {
            flags.get_or_insert_with(|| (threshold, Vec::new())).1.extend(part);
        }
        Ok(())
    })?;
    // No part (an empty range): the detector's flags of no row.
    let detector = model.detector.as_ref().filter(|d| d.score == kind);
    let flags = flags.or_else(|| detector.map(|d| (d.threshold, Vec::new())));
    Ok(Scored { kind, scores: all, flags })
}

/// Score rows `range` of table files a part at a time, handing each part and its
/// [`Scored`] to `each` in order, and return the score computed: a pass over files
/// larger than memory that holds one part of them, for a caller that writes each
/// part's results as they come ([`score_chunked`] keeps them all). The part's
/// [`Dataset::first_row`] is its first row's index in the files plus `offset` (the
/// files' first row's index in a larger table, as `ae score --row-offset` gives it):
/// each row is scored at that index, so the parts' scores are the bits of
/// [`score_rows`] of the rows read whole with `first_row` at `offset + range.start`.
/// The first error, of a read, a check or `each`, ends the pass.
pub fn score_parts<F>(
    model: &Autoencoder,
    data: &crate::data::chunks::ChunkedRows,
    range: std::ops::Range<u64>,
    offset: u64,
    kind: Option<ScoreKind>,
    threads: &Threads,
    mut each: F,
) -> Result<ScoreKind>
where
    F: FnMut(&Dataset, Scored) -> Result<()>,
{
    let (kind, scale) = resolve_score(model, kind)?;
    model.check_width(data.cols(), &data.source)?;
    let detector = model.detector.as_ref().filter(|d| d.score == kind);
    data.for_each_part(range, offset, |part| {
        model.check_data(&part)?;
        let scores = scores(model, &part, kind, scale, threads)?;
        let flags = detector.map(|d| (d.threshold, d.labels(&scores)));
        each(&part, Scored { kind, scores, flags })
    })?;
    Ok(kind)
}

/// The score to compute (`kind`, else [`ScoreKind::of`] the model) and its feature
/// scales (a detector's, for `standardized`; an error without them). Every front that
/// scores or exports a score resolves it here.
pub fn resolve_score(model: &Autoencoder, kind: Option<ScoreKind>) -> Result<(ScoreKind, &[f32])> {
    let detector = model.detector.as_ref();
    let kind = kind.unwrap_or_else(|| ScoreKind::of(model));
    let scale: &[f32] = match detector {
        Some(d) if d.score == kind => &d.feature_scale,
        _ if kind == ScoreKind::Standardized => {
            return Err(Error::Data(
                "standardized scores need the feature scales fitted at training: train with --score standardized --threshold …".into(),
            ))
        }
        _ => &[],
    };
    Ok((kind, scale))
}

/// Whether scores of `kind` can be explained ([`explain_rows`]): a reconstruction score
/// can, `elbo` (not a sum over features) cannot. A front that explains rows a part at a
/// time asks before it reads any.
pub fn check_explainable(kind: ScoreKind) -> Result<()> {
    explained_term(kind).map(|_| ())
}

/// The term of feature `j` in a score of `kind`, as [`error_term`] gives it, or the
/// error that `kind` is not a sum over features.
fn explained_term(kind: ScoreKind) -> Result<Term> {
    error_term(kind).ok_or_else(|| {
        Error::config(
            "explain",
            "the elbo score is not a sum over features; explain a reconstruction score (score = mse, mae, root or standardized)",
        )
    })
}

/// Why each row scores as it does: the `k` features whose terms add most to its
/// reconstruction score ([`explain_rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The score explained.
    pub kind: ScoreKind,
    /// Features per row: `min(k, d)`.
    pub k: usize,
    /// Row-major `rows × k`: the features (0-based, in the data's feature order), the
    /// largest contribution first; ties go to the lower index.
    pub features: Vec<usize>,
    /// Row-major `rows × k`: each feature's term of the row's score. A score is the sum
    /// of its row's `d` terms: `eⱼ²/d` (`mse`), `|eⱼ|/d` (`mae`), `√|eⱼ|/d` (`root`),
    /// `(eⱼ/σⱼ)²/d` (`standardized`), with `e = x − x̂` in normalised units; so these
    /// are the row's largest shares of its score, and a planted error shows first.
    pub contributions: Vec<f64>,
}

/// The `k` features that contribute most to each row's score of `kind` (resolved as
/// [`score_rows`] resolves it). Only the reconstruction scores are sums over features:
/// `elbo` is refused with a message naming the ones that are.
pub fn explain_rows(
    model: &Autoencoder,
    data: &Dataset,
    kind: Option<ScoreKind>,
    k: usize,
    threads: &Threads,
) -> Result<Explanation> {
    let (kind, scale) = resolve_score(model, kind)?;
    model.check_data(data)?;
    let d = model.input_dim();
    let term = explained_term(kind)?;
    let k = k.min(d);
    let mut features = Vec::with_capacity(data.rows() * k);
    let mut contributions = Vec::with_capacity(data.rows() * k);
    let mut terms = vec![0.0f64; d];
    let mut order: Vec<usize> = (0..d).collect();
    for_each_reconstruction(model, data, threads, |xr, yr| {
        for j in 0..d {
            terms[j] = term(xr[j], yr[j], scale.get(j).copied().unwrap_or(1.0)) / d as f64;
        }
        order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
        // The k largest first; ties to the lower index.
        let by = |a: &usize, b: &usize| terms[*b].total_cmp(&terms[*a]).then(a.cmp(b));
        if k < d {
            order.select_nth_unstable_by(k, by);
        }
        order[..k].sort_by(by);
        features.extend_from_slice(&order[..k]);
        contributions.extend(order[..k].iter().map(|&j| terms[j]));
    });
    Ok(Explanation { kind, k, features, contributions })
}

/// `1/σⱼ` of each feature's reconstruction error over `data` (1 where σⱼ is 0).
pub fn feature_scales(model: &Autoencoder, data: &Dataset, threads: &Threads) -> Result<Vec<f32>> {
    let mut sums = ErrorSums::new(model.input_dim());
    sums.add(model, data, threads)?;
    Ok(sums.scales())
}

/// What [`feature_scales`] are fitted from: each feature's sum of reconstruction errors
/// `Σᵢ eᵢⱼ` and of their squares `Σᵢ eᵢⱼ²` over consecutive rows, and which rows.
///
/// The sums are added in one fixed binary tree over the rows' indices (pairwise
/// summation): the sum of an aligned block of `2ᵏ` rows (starting at a multiple of
/// `2ᵏ`) is its left half's plus its right half's, a row is a block of one, and the sum
/// over rows `0..n` is that of the aligned blocks of `n`'s binary expansion, added
/// from the last: the last two first, then each block before to that sum. Sums kept for any cut of the rows into consecutive ranges — chunks
/// read in turn, or processes each holding its own rows, at once — hold the aligned
/// blocks within their ranges, and [`join`](Self::join) completes the tree from them:
/// the bits of the rows summed whole, whatever the cut. Then
/// `σⱼ² = Σeᵢⱼ²/n − (Σeᵢⱼ/n)²`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSums {
    d: usize,
    /// The index of the first row summed, and of the row after the last.
    first: u64,
    next: u64,
    /// The blocks not yet added to another, in row order: (first row, log₂ of rows).
    blocks: Vec<(u64, u32)>,
    /// Each block's `2d` sums: `Σe` of every feature, then `Σe²`.
    values: Vec<f64>,
}

impl ErrorSums {
    /// The sums of no rows of `d` features, to be given rows from row 0.
    pub fn new(d: usize) -> ErrorSums {
        ErrorSums::starting_at(d, 0)
    }

    /// The sums of no rows of `d` features, to be given rows from row `first` (its index
    /// among all the rows): a part of the rows, to [`join`](Self::join) with the others.
    pub fn starting_at(d: usize, first: u64) -> ErrorSums {
        ErrorSums { d, first, next: first, blocks: Vec::new(), values: Vec::new() }
    }

    /// The features summed.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// Add the errors of `model`'s reconstructions of the rows of `data`, in order (the
    /// rows after those already added).
    pub fn add(&mut self, model: &Autoencoder, data: &Dataset, threads: &Threads) -> Result<()> {
        model.check_data(data)?;
        let d = model.input_dim();
        if self.d != d {
            return Err(Error::config(
                "score",
                format!("error sums of {} features cannot take rows of {d}", self.d),
            ));
        }
        for_each_reconstruction(model, data, threads, |xr, yr| {
            self.push_row(xr.iter().zip(yr).map(|(&x, &y)| (x - y) as f64))
        });
        Ok(())
    }

    /// Add one row's `d` errors as a block of one, then complete the blocks it ends.
    fn push_row(&mut self, errors: impl Iterator<Item = f64>) {
        let at = self.values.len();
        self.values.extend(errors);
        debug_assert_eq!(self.values.len(), at + self.d);
        self.values.extend_from_within(at..);
        self.values[at + self.d..].iter_mut().for_each(|e| *e *= *e);
        self.blocks.push((self.next, 0));
        self.next += 1;
        self.merge();
    }

    /// Add the last block to the one before while the two are the halves of one
    /// aligned block.
    fn merge(&mut self) {
        let w = 2 * self.d;
        while let [.., (a, k), (b, l)] = self.blocks[..] {
            if k != l || a % (2u64 << k) != 0 || a + (1u64 << k) != b {
                break;
            }
            let n = self.blocks.len();
            let (left, right) = self.values[(n - 2) * w..].split_at_mut(w);
            left.iter_mut().zip(&*right).for_each(|(l, r)| *l += r);
            self.values.truncate((n - 1) * w);
            self.blocks.pop();
            self.blocks[n - 2].1 += 1;
        }
    }

    /// Take in `later`, the sums of the rows that follow these (it starts where these
    /// end): the sums of both ranges, with the bits of their rows added here in order.
    pub fn join(&mut self, later: ErrorSums) -> Result<()> {
        if later.d != self.d || later.first != self.next {
            return Err(Error::Data(format!(
                "error sums of rows {}..{} ({} features) do not follow those of rows {}..{} ({} features)",
                later.first, later.next, later.d, self.first, self.next, self.d
            )));
        }
        let w = 2 * self.d;
        for (i, &block) in later.blocks.iter().enumerate() {
            self.values.extend_from_slice(&later.values[i * w..(i + 1) * w]);
            self.blocks.push(block);
            self.merge();
        }
        self.next = later.next;
        Ok(())
    }

    /// The sums over all the rows given: the blocks added from the last.
    fn totals(&self) -> Vec<f64> {
        let w = 2 * self.d;
        let mut acc = vec![0.0f64; w];
        if w == 0 {
            return acc;
        }
        if let Some(last) = self.values.rchunks_exact(w).next() {
            acc.copy_from_slice(last);
            for block in self.values.rchunks_exact(w).skip(1) {
                acc.iter_mut().zip(block).for_each(|(a, b)| *a += b);
            }
        }
        acc
    }

    /// `1/σⱼ` of each feature (1 where σⱼ is 0): the `standardized` score's scales.
    pub fn scales(&self) -> Vec<f32> {
        let n = (self.next - self.first).max(1) as f64;
        let totals = self.totals();
        let (sum, squares) = totals.split_at(self.d);
        sum.iter()
            .zip(squares)
            .map(|(a, b)| {
                let var = (b / n - (a / n).powi(2)).max(0.0);
                if var > 1e-24 {
                    (1.0 / var.sqrt()) as f32
                } else {
                    1.0
                }
            })
            .collect()
    }

    /// The sums as numbers, to send to another process: the first row and the one after
    /// the last, then each block's first row, its `log₂` of rows and its `2d` sums.
    pub fn to_values(&self) -> Vec<f64> {
        let w = 2 * self.d;
        let mut out = Vec::with_capacity(2 + self.blocks.len() * (w + 2));
        out.extend([self.first as f64, self.next as f64]);
        for (i, &(start, k)) in self.blocks.iter().enumerate() {
            out.extend([start as f64, f64::from(k)]);
            out.extend_from_slice(&self.values[i * w..(i + 1) * w]);
        }
        out
    }

    /// The sums [`to_values`](Self::to_values) gave, for `d` features; an error unless
    /// they are such sums (aligned blocks that follow each other from the first row to
    /// the last).
    pub fn from_values(d: usize, values: &[f64]) -> Result<ErrorSums> {
        let bad = |why: &str| {
            Error::Data(format!("{} numbers are not error sums of {d} features: {why}", values.len()))
        };
        let w = 2 * d;
        if values.len() < 2 || !(values.len() - 2).is_multiple_of(w + 2) {
            return Err(bad("not two row indices and whole blocks"));
        }
        let (head, rest) = values.split_at(2);
        let index = |v: f64| (v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53)).then_some(v as u64);
        let (first, next) = index(head[0]).zip(index(head[1])).ok_or_else(|| bad("rows are not indices"))?;
        let mut sums = ErrorSums::starting_at(d, first);
        for block in rest.chunks_exact(w + 2) {
            let start = index(block[0]).ok_or_else(|| bad("a block's first row is not an index"))?;
            let k = index(block[1])
                .filter(|&k| k < 53)
                .ok_or_else(|| bad("a block's size is not a power of two"))?;
            let end = start + (1u64 << k);
            if start != sums.next || !start.is_multiple_of(1u64 << k) || end > next {
                return Err(bad("the blocks are not aligned and consecutive"));
            }
            sums.blocks.push((start, k as u32));
            sums.values.extend_from_slice(&block[2..]);
            sums.next = end;
            sums.merge();
        }
        if sums.next != next {
            return Err(bad("the blocks do not cover the rows"));
        }
        Ok(sums)
    }
}

/// Scores of `kind` for the rows of `data`, with the feature scales of `standardized`
/// fitted on those same rows (empty for the other kinds): the scales, then the scores.
fn scores_fitted_on(
    model: &Autoencoder,
    data: &Dataset,
    kind: ScoreKind,
    threads: &Threads,
) -> Result<(Vec<f32>, Vec<f64>)> {
    let feature_scale =
        if kind == ScoreKind::Standardized { feature_scales(model, data, threads)? } else { Vec::new() };
    let s = scores(model, data, kind, &feature_scale, threads)?;
    Ok((feature_scale, s))
}

/// The indices, in order, of the `⌈(1 − trim)·n⌉` rows of `data` with the lowest
/// scores of the model's own kind ([`ScoreKind::default_for`]); ties go to the earlier
/// row. The row selection of [`TrainConfig::trim`](crate::TrainConfig::trim).
pub fn lowest_scoring(
    model: &Autoencoder,
    data: &Dataset,
    trim: f64,
    threads: &Threads,
) -> Result<Vec<usize>> {
    let (_, s) = scores_fitted_on(model, data, ScoreKind::default_for(model), threads)?;
    lowest_of(&s, trim)
}

/// The indices, in order, of the `⌈(1 − trim)·n⌉` lowest of the `n` scores `s`; ties go
/// to the earlier row ([`lowest_scoring`] on scores already computed). By radix
/// selection ([`select::lowest_in_parts`]): a few passes over the scores, no sort.
pub(crate) fn lowest_of(s: &[f64], trim: f64) -> Result<Vec<usize>> {
    let keep = trim_keep(s.len(), trim).min(s.len());
    if keep == s.len() {
        return Ok((0..keep).collect());
    }
    let mut kept = Vec::with_capacity(keep);
    let pass = |f: &mut dyn FnMut(f64)| {
        s.iter().for_each(|&v| f(v));
        Ok(())
    };
    select::lowest_in_parts(keep as u64, pass, &mut select::Whole, |i| kept.push(i as usize))?;
    Ok(kept)
}

/// How many of `rows` rows a trimmed second pass keeps: `⌈(1 − trim)·rows⌉`.
pub(crate) fn trim_keep(rows: usize, trim: f64) -> usize {
    ((rows as f64) * (1.0 - trim)).ceil() as usize
}

impl Detector {
    /// Fit on the training rows: scores of `kind`, then the threshold by `rule`.
    pub fn fit(
        model: &Autoencoder,
        train: &Dataset,
        kind: ScoreKind,
        rule: ThresholdRule,
        threads: &Threads,
    ) -> Result<Self> {
        rule.check()?;
        let (feature_scale, s) = scores_fitted_on(model, train, kind, threads)?;
        let t = threshold(&s, rule);
        Detector::with_threshold(model, kind, feature_scale, rule, t, ScoreSummary::of(&s, t))
    }

    /// [`Detector::fit`] on scores too many to hold: `pass` calls its argument with the
    /// training rows' scores of `kind` (not `standardized`, whose feature scales need the
    /// rows), a slice at a time, in row order, and the same each time it is called (up to
    /// five passes). The bits of [`Detector::fit`] on the same scores.
    pub fn fit_passes(
        model: &Autoencoder,
        kind: ScoreKind,
        rule: ThresholdRule,
        pass: impl FnMut(&mut dyn FnMut(&[f64]) -> Result<()>) -> Result<()>,
    ) -> Result<Self> {
        Detector::fit_passes_scaled(model, kind, Vec::new(), rule, pass)
    }

    /// [`Detector::fit_passes`] for any score: `feature_scale` is the `standardized`
    /// score's ([`ErrorSums::scales`] of the training rows; empty for the other
    /// scores), with which `pass` computed the scores.
    pub fn fit_passes_scaled(
        model: &Autoencoder,
        kind: ScoreKind,
        feature_scale: Vec<f32>,
        rule: ThresholdRule,
        pass: impl FnMut(&mut dyn FnMut(&[f64]) -> Result<()>) -> Result<()>,
    ) -> Result<Self> {
        Detector::fit_passes_in_parts(model, kind, feature_scale, rule, pass, &mut select::Whole)
    }

    /// [`Detector::fit_passes_scaled`] on scores held in `parts` by several processes,
    /// `pass` visiting this process's (its rows', the parts in rank order making the
    /// training rows' scores in order): the sums run through the processes in rank
    /// order ([`Parts::fold`](select::Parts::fold)), a quantile is selected across them
    /// ([`select::select_in_parts`]), and every process gets the bits of one process
    /// fitting on every score. No process holds any but its own scores.
    pub fn fit_passes_in_parts(
        model: &Autoencoder,
        kind: ScoreKind,
        feature_scale: Vec<f32>,
        rule: ThresholdRule,
        mut pass: impl FnMut(&mut dyn FnMut(&[f64]) -> Result<()>) -> Result<()>,
        parts: &mut dyn select::Parts,
    ) -> Result<Self> {
        rule.check()?;
        if (kind == ScoreKind::Standardized) == feature_scale.is_empty() {
            return Err(Error::config(
                "score",
                "the standardized score, and only it, is fitted with feature scales (ErrorSums::scales of the rows)",
            ));
        }
        // As `ScoreSummary::of` and `threshold` compute them, one pass for each sum: the
        // count, the finite count, the sum, the least and the greatest score (the counts
        // exact as f64 below 2⁵³).
        let mut first = [0.0, 0.0, -0.0f64, f64::INFINITY, f64::NEG_INFINITY];
        parts.fold(&mut first, &mut |st| {
            pass(&mut |s| {
                for &v in s {
                    st[0] += 1.0;
                    st[1] += f64::from(u8::from(v.is_finite()));
                    st[2] += v;
                    (st[3], st[4]) = (st[3].min(v), st[4].max(v));
                }
                Ok(())
            })
        })?;
        let [n, finite, sum, min, max] = first;
        let count = n.max(1.0);
        let mean = sum / count;
        let mut squares = [-0.0f64];
        parts.fold(&mut squares, &mut |st| {
            pass(&mut |s| {
                s.iter().for_each(|v| st[0] += (v - mean).powi(2));
                Ok(())
            })
        })?;
        let std = (squares[0] / count).sqrt();
        let mut quantile = |q: f64| -> Result<f64> {
            if finite == 0.0 {
                return Ok(f64::INFINITY);
            }
            let (pos, lo, hi) = quantile_ranks(q, finite as usize);
            let wanted =
                [select::Rank { channel: 0, rank: lo as u64 }, select::Rank { channel: 0, rank: hi as u64 }];
            let got = select::select_in_parts(
                &wanted,
                |f| {
                    pass(&mut |s| {
                        s.iter().filter(|v| v.is_finite()).for_each(|&v| f(0, v));
                        Ok(())
                    })
                },
                parts,
            )?;
            Ok(interpolate(got[0].value, got[1].value, pos, lo))
        };
        let t = match rule {
            ThresholdRule::Contamination(c) => quantile(1.0 - c)?,
            ThresholdRule::Percentile(p) => quantile(p / 100.0)?,
            ThresholdRule::Sigma(k) => mean + k * std,
            ThresholdRule::Value(v) => v,
        };
        let mut flagged = [0.0f64];
        parts.fold(&mut flagged, &mut |st| {
            pass(&mut |s| {
                st[0] += s.iter().filter(|&&v| v > t || v.is_nan()).count() as f64;
                Ok(())
            })
        })?;
        let summary = ScoreSummary { min, max, mean, std, flagged: flagged[0] / count };
        Detector::with_threshold(model, kind, feature_scale, rule, t, summary)
    }

    /// The detector with threshold `t`, refused when a model file could not hold it.
    fn with_threshold(
        model: &Autoencoder,
        kind: ScoreKind,
        feature_scale: Vec<f32>,
        rule: ThresholdRule,
        t: f64,
        summary: ScoreSummary,
    ) -> Result<Self> {
        // A model file must be readable again: refuse here what `check` refuses on load.
        if !(t.is_finite() && t >= 0.0) {
            return Err(Error::config(
                "threshold",
                format!(
                    "the rule gives the threshold {t} on the training scores; a threshold must be a finite number ≥ 0{}",
                    if t.is_finite() { " (choose a larger sigma)" } else { " (are the scores finite?)" }
                ),
            ));
        }
        let detector =
            Detector { score: kind, feature_scale, rule, threshold: t, training_scores: Some(summary) };
        detector.check(model)?;
        Ok(detector)
    }

    /// Each score's probability of being an outlier's, by `method` (see
    /// [`Probability`]); scores of this detector's kind. Refused for a detector without
    /// its training scores' summary (a file written before it was kept).
    pub fn probabilities(&self, scores: &[f64], method: Probability) -> Result<Vec<f64>> {
        let t = self.training_scores.ok_or_else(|| {
            Error::Data("the model's detector does not keep its training scores' summary (an older file); train it again for probabilities".into())
        })?;
        let p = |s: f64| -> f64 {
            if s.is_nan() {
                // As `labels` flags it: certainly an outlier.
                return 1.0;
            }
            let v = match method {
                Probability::Linear if t.max > t.min => (s - t.min) / (t.max - t.min),
                Probability::Unify if t.std > 0.0 => {
                    libm::erf((s - t.mean) / (t.std * std::f64::consts::SQRT_2))
                }
                _ => 0.0,
            };
            v.clamp(0.0, 1.0)
        };
        Ok(scores.iter().map(|&s| p(s)).collect())
    }

    /// Check a detector against the model it belongs to, as a model file holds it: the
    /// rule's number is valid, the score fits the model (`elbo` needs a variational
    /// model), the threshold is finite and ≥ 0 (every score is ≥ 0: a mean of squares,
    /// absolute values or square roots, or a negative ELBO, which is a KL term plus a
    /// Bernoulli or Gaussian negative log-likelihood), and `standardized` has one
    /// finite scale > 0 per feature.
    pub fn check(&self, model: &Autoencoder) -> Result<()> {
        self.rule.check()?;
        if self.score == ScoreKind::Elbo && !model.config().variational {
            return Err(Error::Data(
                "the elbo score is for variational models; this model is not one".into(),
            ));
        }
        if !(self.threshold.is_finite() && self.threshold >= 0.0) {
            return Err(Error::Data(format!(
                "the threshold is {}; expected a finite number ≥ 0 (scores are never negative)",
                self.threshold
            )));
        }
        if self.score == ScoreKind::Standardized {
            let d = model.input_dim();
            if self.feature_scale.len() != d {
                return Err(Error::Data(format!(
                    "the standardized score has {} feature scales; the model has {d} features",
                    self.feature_scale.len()
                )));
            }
            if let Some(j) = self.feature_scale.iter().position(|&k| !(k.is_finite() && k > 0.0)) {
                return Err(Error::Data(format!(
                    "the standardized score's scale at feature index {j} is {}; expected a finite number > 0",
                    self.feature_scale[j]
                )));
            }
        }
        if let Some(t) = &self.training_scores {
            let finite = [t.min, t.max, t.mean, t.std].iter().all(|v| v.is_finite());
            if !(finite && t.min <= t.max && t.std >= 0.0 && (0.0..=1.0).contains(&t.flagged)) {
                return Err(Error::Data(format!(
                    "the training scores' summary {t:?} is impossible: finite numbers, min ≤ max, std ≥ 0, a share in [0, 1] expected"
                )));
            }
        }
        Ok(())
    }

    /// Scores of `data` with this detector's score.
    pub fn scores(&self, model: &Autoencoder, data: &Dataset, threads: &Threads) -> Result<Vec<f64>> {
        scores(model, data, self.score, &self.feature_scale, threads)
    }

    /// 1 for rows scoring above the threshold, else 0. A score that is not a number (a
    /// row so far outside the training range that its reconstruction overflowed) flags
    /// its row: nothing about it is normal.
    pub fn labels(&self, scores: &[f64]) -> Vec<u8> {
        scores.iter().map(|&s| u8::from(s > self.threshold || s.is_nan())).collect()
    }
}

/// The position `q·(n − 1)` of quantile `q` among `n ≥ 1` sorted values, and the ranks
/// below and above it.
fn quantile_ranks(q: f64, n: usize) -> (f64, usize, usize) {
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    (pos, pos.floor() as usize, pos.ceil() as usize)
}

/// The linear interpolation between the values at ranks `lo` and `lo + 1` (or `lo`).
fn interpolate(at_lo: f64, at_hi: f64, pos: f64, lo: usize) -> f64 {
    at_lo + (at_hi - at_lo) * (pos - lo as f64)
}

/// The threshold `rule` gives on `scores`. Quantiles interpolate linearly between
/// order statistics (numpy's default), as PyOD's `percentile` does.
pub fn threshold(scores: &[f64], rule: ThresholdRule) -> f64 {
    let quantile = |q: f64| {
        let mut s: Vec<f64> = scores.iter().copied().filter(|v| v.is_finite()).collect();
        if s.is_empty() {
            return f64::INFINITY;
        }
        let (pos, lo, hi) = quantile_ranks(q, s.len());
        // The two order statistics, by selection (no sort); `hi` is `lo` or `lo + 1`.
        let (_, &mut at_lo, above) = s.select_nth_unstable_by(lo, f64::total_cmp);
        let at_hi =
            if hi > lo { above.iter().copied().min_by(f64::total_cmp).unwrap_or(at_lo) } else { at_lo };
        interpolate(at_lo, at_hi, pos, lo)
    };
    match rule {
        ThresholdRule::Contamination(c) => quantile(1.0 - c),
        ThresholdRule::Percentile(p) => quantile(p / 100.0),
        ThresholdRule::Sigma(k) => {
            let n = scores.len().max(1) as f64;
            let mean = scores.iter().sum::<f64>() / n;
            let sd = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
            mean + k * sd
        }
        ThresholdRule::Value(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::{Arch, ModelConfig};
    use crate::{Activation, ImageShape};

    /// Rows of 64 values in `[0, 1)` from a seeded congruential generator.
    fn rows(n: usize) -> Dataset {
        let mut s = 0x2545_f491_4f6c_dd1d_u64;
        let x = (0..n * 64)
            .map(|_| {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (s >> 40) as f32 / 16_777_216.0
            })
            .collect();
        Dataset::new(x, n, 64, "rows").unwrap()
    }

    /// Rows of shards read a part at a time score as the rows read whole, a range of
    /// them as those rows with `first_row` at its start: with `elbo`, whose samples
    /// are drawn at each row's index, and with the detector's flags.
    #[test]
    fn rows_scored_a_part_at_a_time_score_as_the_rows_whole() {
        let dir = std::env::temp_dir().join(format!("ae-score-chunked-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = rows(300);
        for (i, (a, b)) in [(0, 120), (120, 121), (121, 300)].into_iter().enumerate() {
            let part = data.slice_rows(a, b);
            crate::data::npy::write(&dir.join(format!("p{i}.npy")), part.as_slice(), b - a, 64).unwrap();
        }
        let chunked = crate::data::chunks::ChunkedRows::open(
            std::slice::from_ref(&dir),
            &crate::data::open::LoadOptions::default(),
        )
        .unwrap();
        let threads = Threads::new(2);
        let vae =
            ModelConfig { input_dim: 64, layers: vec![8, 2], variational: true, ..ModelConfig::default() };
        let mut dense =
            Autoencoder::new(ModelConfig { input_dim: 64, layers: vec![8], ..ModelConfig::default() }, 3)
                .unwrap();
        let rule = ThresholdRule::Contamination(0.1);
        dense.detector = Some(Detector::fit(&dense, &data, ScoreKind::Mse, rule, &threads).unwrap());
        for model in [dense, Autoencoder::new(vae, 5).unwrap()] {
            let whole = score_rows(&model, &data, None, &threads).unwrap();
            assert_eq!(score_chunked(&model, &chunked, 0..300, None, &threads).unwrap(), whole);
            let mut tail = data.slice_rows(100, 250);
            tail.first_row = 100;
            let part = score_chunked(&model, &chunked, 100..250, None, &threads).unwrap();
            assert_eq!(part, score_rows(&model, &tail, None, &threads).unwrap());
            assert_eq!(part.scores, whole.scores[100..250]);
            // Handed over a part at a time, at an offset (the files one shard of a larger
            // table): each chunk's rows, in order, scored at their index plus the offset.
            let mut shifted = data.clone();
            shifted.first_row = 1_000_000;
            let at_offset = score_rows(&model, &shifted, None, &threads).unwrap();
            let mut seen = Vec::new();
            let mut joined = Vec::new();
            let kind = score_parts(&model, &chunked, 0..300, 1_000_000, None, &threads, |part, scored| {
                seen.push((part.first_row, part.rows()));
                assert_eq!(
                    scored.flags.as_ref().map(|(t, f)| (*t, f.len())),
                    at_offset.flags.as_ref().map(|(t, _)| (*t, part.rows()))
                );
                joined.extend(scored.scores);
                Ok(())
            })
            .unwrap();
            assert_eq!((kind, joined), (at_offset.kind, at_offset.scores.clone()));
            // The parts follow each other, none across a file's end (a test build's NPY
            // parts are a few rows).
            let starts: Vec<u64> = seen.iter().map(|&(at, _)| at).collect();
            let ends: Vec<u64> = seen.iter().map(|&(at, n)| at + n as u64).collect();
            assert_eq!((starts[0], ends[ends.len() - 1]), (1_000_000, 1_000_300));
            assert_eq!(starts[1..], ends[..ends.len() - 1]);
            assert!(starts.contains(&1_000_120) && starts.contains(&1_000_121), "{seen:?}");
            if model.config().variational {
                assert_ne!(
                    at_offset.scores, whole.scores,
                    "the elbo's samples are drawn at each row's index"
                );
            }
            // An error of the caller's ends the pass.
            let mut calls = 0;
            let e = score_parts(&model, &chunked, 0..300, 0, None, &threads, |_, _| {
                calls += 1;
                Err(Error::Data("stop".into()))
            });
            assert!(e.is_err() && calls == 1);
        }
        let narrow =
            Autoencoder::new(ModelConfig { input_dim: 3, layers: vec![2], ..ModelConfig::default() }, 1)
                .unwrap();
        let e = score_chunked(&narrow, &chunked, 0..300, None, &threads).unwrap_err().to_string();
        assert!(e.contains("rows have 64 values"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Error sums of the rows cut into consecutive parts, each summed on its own from
    /// its first row (and sent as numbers), joined in order, give the bits of the sums
    /// over the rows whole, and so the same feature scales; sums of another width, parts
    /// that do not follow each other and numbers that are not sums are refused.
    #[test]
    fn error_sums_of_parts_joined_are_the_sums_of_the_whole() {
        let model =
            Autoencoder::new(ModelConfig { input_dim: 64, layers: vec![8], ..ModelConfig::default() }, 3)
                .unwrap();
        let threads = Threads::new(1);
        let data = rows(700);
        let whole = feature_scales(&model, &data, &threads).unwrap();
        for cuts in
            [vec![0, 700], vec![0, 1, 300, 699, 700], vec![0, 0, 350, 700], vec![0, 3, 5, 6, 511, 513, 700]]
        {
            let mut joined = ErrorSums::new(64);
            for w in cuts.windows(2) {
                let part = data.select_rows(&(w[0]..w[1]).collect::<Vec<_>>());
                let mut sums = ErrorSums::starting_at(64, w[0] as u64);
                sums.add(&model, &part, &threads).unwrap();
                joined.join(ErrorSums::from_values(64, &sums.to_values()).unwrap()).unwrap();
            }
            let scales = joined.scales();
            assert!(scales.iter().zip(&whole).all(|(a, b)| a.to_bits() == b.to_bits()), "cuts {cuts:?}");
        }
        assert!(ErrorSums::new(3).add(&model, &data, &threads).is_err());
        let mut first = ErrorSums::new(64);
        first.add(&model, &data.select_rows(&[0, 1]), &threads).unwrap();
        assert!(first.clone().join(ErrorSums::starting_at(64, 3)).is_err(), "a gap");
        assert!(first.clone().join(ErrorSums::starting_at(3, 2)).is_err(), "another width");
        assert!(ErrorSums::from_values(3, &[0.0; 6]).is_err());
        // A block of two rows that starts at an odd row is not one of the tree's.
        let mut odd = vec![1.0, 3.0, 1.0, 1.0];
        odd.extend([0.0; 6]);
        assert!(ErrorSums::from_values(3, &odd).is_err());
        assert_eq!(ErrorSums::from_values(64, &first.to_values()).unwrap(), first);
    }

    /// The sums follow the tree, by hand: rows `1e16, 1, −1e16, 1, 1` of one feature sum
    /// to `((1e16 + 1) + (−1e16 + 1)) + 1 = 1` (each inner sum rounds to `±1e16`), where
    /// adding them in order gives 2; their squares' sums likewise.
    #[test]
    fn error_sums_add_in_the_tree_over_the_rows() {
        let e = [1e16, 1.0, -1e16, 1.0, 1.0];
        let tree = ((e[0] + e[1]) + (e[2] + e[3])) + e[4];
        let in_order = e.iter().fold(0.0, |a, b| a + b);
        assert_eq!((tree, in_order), (1.0, 2.0));
        for cut in 0..=5 {
            let mut a = ErrorSums::new(1);
            let mut b = ErrorSums::starting_at(1, cut as u64);
            e[..cut].iter().for_each(|&v| a.push_row([v].into_iter()));
            e[cut..].iter().for_each(|&v| b.push_row([v].into_iter()));
            a.join(b).unwrap();
            let t = a.totals();
            assert_eq!(t[0], tree, "cut at {cut}");
            let sq: Vec<f64> = e.iter().map(|v| v * v).collect();
            assert_eq!(t[1], ((sq[0] + sq[1]) + (sq[2] + sq[3])) + sq[4], "cut at {cut}");
        }
        // n = 6 = 4 + 2: the block of four plus the block of two.
        let mut six = ErrorSums::new(1);
        (1..=6).for_each(|v| six.push_row([f64::from(v) * 0.1].into_iter()));
        let v: Vec<f64> = (1..=6).map(|v| f64::from(v) * 0.1).collect();
        assert_eq!(six.totals()[0], ((v[0] + v[1]) + (v[2] + v[3])) + (v[4] + v[5]));
    }

    /// The probabilities against hand-computed values: min–max scaling and the erf of
    /// the training scores' z-score, clipped; the summary is kept by `fit`.
    #[test]
    fn outlier_probabilities_scale_by_the_training_scores() {
        let t = ScoreSummary::of(&[1.0, 2.0, 3.0, 6.0], 2.5);
        assert_eq!((t.min, t.max, t.mean, t.flagged), (1.0, 6.0, 3.0, 0.5));
        assert_eq!(t.std, (14.0f64 / 4.0).sqrt());
        let d = Detector {
            score: ScoreKind::Mse,
            feature_scale: Vec::new(),
            rule: ThresholdRule::Contamination(0.5),
            threshold: 2.5,
            training_scores: Some(t),
        };
        let s = [0.0, 1.0, 3.5, 6.0, 9.0];
        assert_eq!(d.probabilities(&s, Probability::Linear).unwrap(), vec![0.0, 0.0, 0.5, 1.0, 1.0]);
        let u = d.probabilities(&s, Probability::Unify).unwrap();
        // erf(0.5/(√3.5·√2)) (Python's math.erf: 0.21073197386571874); below the mean, 0.
        assert_eq!((u[0], u[1]), (0.0, 0.0));
        assert!((u[2] - 0.210_731_973_865_718_74).abs() < 1e-15 && u[4] < 1.0 && u[4] > 0.99, "{u:?}");
        // A score that is not a number (an overflow) is an outlier's, with probability 1;
        // one equal to the threshold is not flagged, one above it is.
        assert_eq!(d.labels(&[2.5, f64::NAN, 2.6, f64::INFINITY, 0.0]), [0, 1, 1, 1, 0]);
        assert_eq!(d.probabilities(&[f64::NAN], Probability::Unify).unwrap(), [1.0]);
        assert_eq!(d.probabilities(&[f64::NAN], Probability::Linear).unwrap(), [1.0]);
        let old = Detector { training_scores: None, ..d };
        assert!(old
            .probabilities(&s, Probability::Linear)
            .unwrap_err()
            .to_string()
            .contains("train it again"));
        assert_eq!("Unify".parse::<Probability>().unwrap(), Probability::Unify);
        assert!("sigmoid".parse::<Probability>().is_err());
        // `fit` keeps the summary of the scores the threshold was fitted on.
        let model =
            Autoencoder::new(ModelConfig { input_dim: 64, layers: vec![8, 2], ..ModelConfig::default() }, 1)
                .unwrap();
        let data = rows(50);
        let threads = Threads::new(1);
        let fitted =
            Detector::fit(&model, &data, ScoreKind::Mae, ThresholdRule::Contamination(0.1), &threads)
                .unwrap();
        let s = scores(&model, &data, ScoreKind::Mae, &[], &threads).unwrap();
        assert_eq!(fitted.training_scores, Some(ScoreSummary::of(&s, fitted.threshold)));
        assert_eq!(fitted.training_scores.unwrap().flagged, 0.1);
    }

    /// Fitted from passes over scores given a slice at a time, every rule gives the
    /// threshold and the summary of the scores held whole (with ties); scores that are
    /// not finite are refused, as they are whole.
    #[test]
    fn a_detector_fitted_in_passes_is_the_one_fitted_whole() {
        let model =
            Autoencoder::new(ModelConfig { input_dim: 64, layers: vec![8, 2], ..ModelConfig::default() }, 1)
                .unwrap();
        let mut s: Vec<f64> = (0..5000).map(|i| ((i * 7919) % 1013) as f64 / 97.0).collect();
        let rules = [
            ThresholdRule::Contamination(0.1),
            ThresholdRule::Contamination(0.0137),
            ThresholdRule::Percentile(50.0),
            ThresholdRule::Sigma(1.5),
            ThresholdRule::Value(3.0),
        ];
        let passes = |s: &[f64], rule| {
            Detector::fit_passes(&model, ScoreKind::Mse, rule, |f| s.chunks(7).try_for_each(&mut *f))
        };
        for rule in rules {
            let d = passes(&s, rule).unwrap();
            let t = threshold(&s, rule);
            assert_eq!(d.threshold.to_bits(), t.to_bits(), "{rule:?}");
            assert_eq!(d.training_scores, Some(ScoreSummary::of(&s, t)), "{rule:?}");
        }
        // Scores that are not finite make an impossible summary, refused as whole.
        s[10] = f64::INFINITY;
        s[20] = f64::NAN;
        for rule in rules {
            assert!(passes(&s, rule).is_err());
            assert!(ScoreSummary::of(&s, threshold(&s, rule)).mean.is_nan());
        }
    }

    /// Each row's contributions are its score's largest terms, in order: all `d` of them
    /// add up to the score; a value planted far off in one feature is that row's first.
    #[test]
    fn explanations_are_the_largest_terms_of_the_score() {
        let model =
            Autoencoder::new(ModelConfig { input_dim: 64, layers: vec![16, 4], ..ModelConfig::default() }, 3)
                .unwrap();
        let mut data = rows(40);
        data.as_mut_slice()[7 * 64 + 17] = 50.0;
        let threads = Threads::new(1);
        for kind in [ScoreKind::Mse, ScoreKind::Mae, ScoreKind::Root] {
            let all = explain_rows(&model, &data, Some(kind), 100, &threads).unwrap();
            assert_eq!((all.kind, all.k), (kind, 64));
            let s = scores(&model, &data, kind, &[], &threads).unwrap();
            for (r, score) in s.iter().enumerate() {
                let c = &all.contributions[r * 64..(r + 1) * 64];
                let total: f64 = c.iter().sum();
                assert!((total - score).abs() <= 1e-12 * score.abs(), "{kind} row {r}: {total} vs {score}");
                assert!(c.windows(2).all(|w| w[0] >= w[1]), "{kind} row {r}: not in order");
                let mut f = all.features[r * 64..(r + 1) * 64].to_vec();
                f.sort();
                assert_eq!(f, (0..64).collect::<Vec<_>>());
            }
            let top = explain_rows(&model, &data, Some(kind), 3, &threads).unwrap();
            assert_eq!(top.features.len(), 40 * 3);
            assert_eq!(top.features[7 * 3], 17, "{kind}");
            assert_eq!(
                &top.contributions[..],
                &all.contributions.chunks(64).flat_map(|c| c[..3].to_vec()).collect::<Vec<_>>()[..]
            );
        }
        let vae =
            ModelConfig { input_dim: 64, layers: vec![8, 2], variational: true, ..ModelConfig::default() };
        let vae = Autoencoder::new(vae, 0).unwrap();
        let e = explain_rows(&vae, &data, None, 3, &threads).unwrap_err().to_string();
        assert!(e.contains("elbo score is not a sum over features"), "{e}");
        assert!(explain_rows(&vae, &data, Some(ScoreKind::Mse), 3, &threads).is_ok());
        // Per feature over the rows: the same terms, so their mean over features is the
        // mean score, and the planted feature's error stands out.
        for kind in [ScoreKind::Mse, ScoreKind::Mae] {
            let fe = feature_errors(&model, &data, kind, &[], &threads).unwrap();
            let mean_score = scores(&model, &data, kind, &[], &threads).unwrap().iter().sum::<f64>() / 40.0;
            let mean_fe = fe.iter().sum::<f64>() / 64.0;
            assert!((mean_fe - mean_score).abs() <= 1e-12 * mean_score, "{kind}: {mean_fe} vs {mean_score}");
            let worst = (0..64).max_by(|&a, &b| fe[a].total_cmp(&fe[b])).unwrap();
            assert_eq!(worst, 17, "{kind}");
        }
        assert!(feature_errors(&vae, &data, ScoreKind::Elbo, &[], &threads).is_err());
        let e = feature_errors(&model, &data, ScoreKind::Standardized, &[], &threads).unwrap_err();
        assert!(e.to_string().contains("need 64 feature scales"), "{e}");
    }

    /// Every score kind of dense, convolutional and variational models: the rows of any
    /// split of a file, each part scored with its `first_row` (as `slice_rows` sets it),
    /// get the whole file's scores bit for bit, including parts of one row. The file has
    /// one row more than an inference batch, so its last batch is a lone row too.
    #[test]
    fn scores_do_not_depend_on_how_the_rows_are_split() {
        let image = ImageShape { channels: 1, height: 8, width: 8 };
        let models = [
            ("dense", ModelConfig { input_dim: 64, layers: vec![24, 5], ..ModelConfig::default() }),
            (
                "conv",
                ModelConfig {
                    input_dim: 64,
                    arch: Arch::Conv,
                    channels: vec![3],
                    layers: vec![4],
                    batch_norm: true,
                    image_shape: Some(image),
                    ..ModelConfig::default()
                },
            ),
            (
                "bernoulli vae",
                ModelConfig {
                    input_dim: 64,
                    layers: vec![16, 3],
                    variational: true,
                    output_activation: Activation::Sigmoid,
                    ..ModelConfig::default()
                },
            ),
            (
                "gaussian vae",
                ModelConfig {
                    input_dim: 64,
                    layers: vec![16, 3],
                    variational: true,
                    output_activation: Activation::Linear,
                    ..ModelConfig::default()
                },
            ),
        ];
        use crate::model::autoencoder::INFERENCE_BATCH;
        let n = INFERENCE_BATCH + 1;
        let data = rows(n);
        let cuts = [0, 1, 2, 3, 700, INFERENCE_BATCH, n];
        for (name, cfg) in models {
            let model = Autoencoder::new(cfg, 3).unwrap();
            let kinds: &[ScoreKind] = if model.config().variational {
                &[ScoreKind::Elbo, ScoreKind::Mse]
            } else {
                &[ScoreKind::Mse, ScoreKind::Root]
            };
            for &kind in kinds {
                for t in [1, 2] {
                    let threads = Threads::new(t);
                    let whole = scores(&model, &data, kind, &[], &threads).unwrap();
                    let mut parts = Vec::new();
                    for w in cuts.windows(2) {
                        let part = data.slice_rows(w[0], w[1]);
                        assert_eq!(part.first_row, w[0] as u64);
                        parts.extend(scores(&model, &part, kind, &[], &threads).unwrap());
                    }
                    let differ = whole.iter().zip(&parts).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
                    assert_eq!(differ, 0, "{name}, {kind}, {t} threads: {differ} of {n} rows' scores differ");
                }
            }
            if model.config().variational {
                // The offset is what keeps them equal: a part scored as if it began
                // the file draws other samples.
                let threads = Threads::new(1);
                let whole = scores(&model, &data, ScoreKind::Elbo, &[], &threads).unwrap();
                let mut part = data.slice_rows(700, 710);
                part.first_row = 0;
                let moved = scores(&model, &part, ScoreKind::Elbo, &[], &threads).unwrap();
                assert!(moved.iter().zip(&whole[700..]).all(|(a, b)| a != b), "{name}");
            }
        }
    }
}
