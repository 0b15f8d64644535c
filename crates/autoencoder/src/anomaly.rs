//! Anomaly detection by reconstruction error: a score per row, a threshold fitted on
//! the training rows and kept in the model file (both defined with the model, in
//! `model/detector.rs`, and re-exported here), the tabular preset, and the metrics that
//! judge a detector against known labels (ROC-AUC, average precision, precision@n,
//! confusion).

use crate::error::{Error, Result};
pub use crate::model::detector::{
    check_explainable, explain_rows, feature_errors, feature_scales, lowest_scoring, resolve_score,
    score_chunked, score_parts, score_rows, scores, threshold, Detector, ErrorSums, Explanation, Probability,
    ScoreKind, ScoreSummary, Scored, ThresholdRule, ELBO_SAMPLES,
};
use crate::model::ModelConfig;
use crate::train::TrainConfig;

/// The defaults for tabular anomaly detection, the same for every dataset: z-scored
/// features; an encoder of four layers, `d → d → ⌈d/2⌉ → ⌈d/4⌉ → c` with the code
/// `c = ⌈√d⌉` (no layer narrower than the code), mirrored, tanh hidden units, linear
/// code and output, dropout 0.2 after the hidden layers; MSE loss; Adam (lr 1e-3),
/// batch 64; up to 100 epochs, and at least 2,000 gradient steps
/// ([`crate::TrainConfig::min_steps`]), with early stopping (patience 10, best weights
/// restored) on the last 10 % of the training rows; trained twice
/// ([`crate::TrainConfig::trim`] = 0.5: the second pass on the half of the rows the
/// first reconstructs best); rows scored by `root`, `(1/d) Σⱼ √|eⱼ|`.
///
/// Each choice was measured with `bench/anomaly` (mean ROC-AUC over PyOD's eleven
/// datasets, 10 splits each): the two-layer `d/2 → d/4` model of one pass scored 0.753
/// with MSE; trimming 40 % raised it to 0.771, the MAE score to 0.781, a deeper encoder
/// with a `d/8` code to 0.796, the `√d` code with 2,000 steps to 0.799, the `root`
/// score to 0.800 and trimming half the rows to 0.805 (the README has the table, the
/// other seeds and the seven ODDS files not used to choose).
pub fn tabular_defaults(d: usize) -> (ModelConfig, TrainConfig) {
    (ModelConfig::tabular(d), TrainConfig::tabular())
}

/// Check that labels are 0/1 outlier flags; `source` names them in the message.
pub fn check_binary_labels(labels: &[i64], source: &str) -> Result<()> {
    match labels.iter().position(|&l| l != 0 && l != 1) {
        None => Ok(()),
        Some(i) => Err(Error::Data(format!(
            "{source}: row {} has label {}; anomaly labels must be 0 (normal) or 1 (outlier)",
            i + 1,
            labels[i]
        ))),
    }
}

/// Scores and their 0/1 labels ranked once, for every measure and curve of them: sorting
/// is what they cost (a million rows in a fraction of a second, ten million in about
/// one), so a front that reports several sorts once. Each measure is the bits of its
/// free function ([`roc_auc`], [`average_precision`], [`precision_at_n`], [`roc_curve`],
/// [`pr_curve`]), which ranks the rows for itself.
///
/// The rows are sorted by `(score, row)`, scores compared by [`f64::total_cmp`], in 16
/// bytes a row: rows of equal scores in row order, as a stable sort leaves them.
#[derive(Debug, Clone)]
pub struct Ranked<'a> {
    /// `(score, row)`, ascending.
    order: Vec<(f64, usize)>,
    labels: &'a [i64],
    /// Rows labelled 1.
    positives: usize,
}

impl<'a> Ranked<'a> {
    /// Rank `scores` (one per label).
    pub fn new(scores: &[f64], labels: &'a [i64]) -> Ranked<'a> {
        let mut order: Vec<(f64, usize)> = scores.iter().copied().zip(0..).collect();
        order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let positives = labels.iter().filter(|&&l| l == 1).count();
        Ranked { order, labels, positives }
    }

    /// The rows from the highest score down, as a stable sort by descending score
    /// leaves them: runs of the same score (by [`f64::total_cmp`]) from the highest,
    /// each in row order.
    fn descending(&self) -> impl Iterator<Item = (f64, usize)> + '_ {
        let mut end = self.order.len();
        std::iter::from_fn(move || {
            let top = self.order[..end].last()?.0;
            let start =
                self.order[..end].iter().rposition(|p| p.0.total_cmp(&top).is_ne()).map_or(0, |i| i + 1);
            let run = &self.order[start..end];
            end = start;
            Some(run.iter().copied())
        })
        .flatten()
    }

    /// [`roc_auc`].
    pub fn roc_auc(&self) -> Option<f64> {
        let (n1, n0) = (self.positives, self.labels.len() - self.positives);
        if n0 == 0 || n1 == 0 {
            return None;
        }
        // Average ranks over ties.
        let order = &self.order;
        let mut rank_sum_pos = 0.0;
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && order[j + 1].0 == order[i].0 {
                j += 1;
            }
            let avg_rank = (i + j) as f64 / 2.0 + 1.0;
            for &(_, k) in &order[i..=j] {
                if self.labels[k] == 1 {
                    rank_sum_pos += avg_rank;
                }
            }
            i = j + 1;
        }
        let u = rank_sum_pos - (n1 * (n1 + 1)) as f64 / 2.0;
        Some(u / (n0 as f64 * n1 as f64))
    }

    /// [`average_precision`].
    pub fn average_precision(&self) -> Option<f64> {
        let n1 = self.positives;
        if n1 == 0 {
            return None;
        }
        let (mut ap, mut prev_recall) = (0.0, 0.0);
        for (tp, seen, _) in self.sweep() {
            let recall = tp as f64 / n1 as f64;
            ap += (recall - prev_recall) * (tp as f64 / seen as f64);
            prev_recall = recall;
        }
        Some(ap)
    }

    /// (true positives, rows flagged, threshold) at each distinct score, highest first,
    /// as they come (a curve collects them; a measure needs no room for them).
    fn sweep(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        let (mut tp, mut seen) = (0usize, 0usize);
        let mut rows = self.descending().peekable();
        std::iter::from_fn(move || {
            let (score, k) = rows.next()?;
            tp += usize::from(self.labels[k] == 1);
            seen += 1;
            while let Some((_, k)) = rows.next_if(|(s, _)| *s == score) {
                tp += usize::from(self.labels[k] == 1);
                seen += 1;
            }
            Some((tp, seen, score))
        })
    }

    /// [`roc_curve`].
    pub fn roc_curve(&self) -> Option<Vec<CurvePoint>> {
        let (n1, n0) = (self.positives, self.labels.len() - self.positives);
        if n0 == 0 || n1 == 0 {
            return None;
        }
        let mut out = vec![CurvePoint { threshold: f64::INFINITY, x: 0.0, y: 0.0 }];
        out.extend(self.sweep().map(|(tp, seen, t)| CurvePoint {
            threshold: t,
            x: (seen - tp) as f64 / n0 as f64,
            y: tp as f64 / n1 as f64,
        }));
        Some(out)
    }

    /// [`pr_curve`].
    pub fn pr_curve(&self) -> Option<Vec<CurvePoint>> {
        let n1 = self.positives;
        if n1 == 0 {
            return None;
        }
        Some(
            self.sweep()
                .map(|(tp, seen, t)| CurvePoint {
                    threshold: t,
                    x: tp as f64 / n1 as f64,
                    y: tp as f64 / seen as f64,
                })
                .collect(),
        )
    }

    /// [`precision_at_n`].
    pub fn precision_at_n(&self, n: Option<usize>) -> Option<f64> {
        let n = n.unwrap_or(self.positives);
        if n == 0 {
            return None;
        }
        let hits = self.descending().take(n).filter(|&(_, k)| self.labels[k] == 1).count();
        Some(hits as f64 / n.min(self.order.len()).max(1) as f64)
    }
}

/// Area under the ROC curve: the probability that a random outlier scores above a
/// random inlier, ties counting one half (the Mann–Whitney U statistic over n₀·n₁).
pub fn roc_auc(scores: &[f64], labels: &[i64]) -> Option<f64> {
    Ranked::new(scores, labels).roc_auc()
}

/// Average precision: `Σₖ (Rₖ − Rₖ₋₁)·Pₖ` over the distinct score thresholds from the
/// highest down (scikit-learn's `average_precision_score`).
pub fn average_precision(scores: &[f64], labels: &[i64]) -> Option<f64> {
    Ranked::new(scores, labels).average_precision()
}

/// One point of a curve over the distinct score thresholds, from the highest score
/// down: the rows scoring at or above `threshold` are flagged.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CurvePoint {
    /// The lowest score flagged.
    pub threshold: f64,
    /// ROC: the false-positive rate; precision–recall: the recall.
    pub x: f64,
    /// ROC: the true-positive rate; precision–recall: the precision.
    pub y: f64,
}

/// The ROC curve: `(fpr, tpr)` at every distinct threshold, from `(0, 0)` (nothing
/// flagged; threshold +∞) to `(1, 1)`. The trapezoids under it sum to [`roc_auc`] (ties
/// are one diagonal step). `None` without both classes.
pub fn roc_curve(scores: &[f64], labels: &[i64]) -> Option<Vec<CurvePoint>> {
    Ranked::new(scores, labels).roc_curve()
}

/// The precision–recall curve: `(recall, precision)` at every distinct threshold, the
/// highest first. The steps `Σ (Rₖ − Rₖ₋₁)·Pₖ` under it are [`average_precision`].
/// `None` without outliers.
pub fn pr_curve(scores: &[f64], labels: &[i64]) -> Option<Vec<CurvePoint>> {
    Ranked::new(scores, labels).pr_curve()
}

/// A histogram of scores: `counts[i]` scores in `[edges[i], edges[i+1])` (the last bin
/// closed), over the finite scores' range in `bins` equal bins.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Histogram {
    /// `bins + 1` bin edges, increasing.
    pub edges: Vec<f64>,
    /// Scores per bin.
    pub counts: Vec<usize>,
}

/// The histogram of the finite `scores` in `bins` equal bins over their range (one
/// bin of width 1 around a constant score); `None` without a finite score or bin.
pub fn histogram(scores: &[f64], bins: usize) -> Option<Histogram> {
    let finite = scores.iter().copied().filter(|s| s.is_finite());
    let (lo, hi) = finite.clone().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), s| (a.min(s), b.max(s)));
    if bins == 0 || lo > hi {
        return None;
    }
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
    let width = (hi - lo) / bins as f64;
    let edges = (0..=bins).map(|i| if i == bins { hi } else { lo + width * i as f64 }).collect();
    let mut counts = vec![0usize; bins];
    for s in finite {
        counts[(((s - lo) / width) as usize).min(bins - 1)] += 1;
    }
    Some(Histogram { edges, counts })
}

/// Precision among the `n` highest-scoring rows (`n` = the number of outliers when
/// `None`, PyOD's precision@n); of rows of the same score, the first rows count first.
pub fn precision_at_n(scores: &[f64], labels: &[i64], n: Option<usize>) -> Option<f64> {
    Ranked::new(scores, labels).precision_at_n(n)
}

/// Counts of a 0/1 prediction against 0/1 labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Confusion {
    /// Outliers flagged.
    pub true_positives: usize,
    /// Inliers flagged.
    pub false_positives: usize,
    /// Inliers passed.
    pub true_negatives: usize,
    /// Outliers missed.
    pub false_negatives: usize,
}

impl Confusion {
    /// Count `predicted` against `labels`.
    pub fn new(predicted: &[u8], labels: &[i64]) -> Self {
        let mut c = Confusion::default();
        for (&p, &l) in predicted.iter().zip(labels) {
            match (p, l) {
                (1, 1) => c.true_positives += 1,
                (1, _) => c.false_positives += 1,
                (_, 1) => c.false_negatives += 1,
                _ => c.true_negatives += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The measures as each computed them, sorting row indices for itself, before
    /// [`Ranked`]: the oracle of `ranked_measures_are_the_bits_of_each_sorting_for_itself`.
    mod before {
        use super::CurvePoint;

        /// Area under the ROC curve: the probability that a random outlier scores above a
        /// random inlier, ties counting one half (the Mann–Whitney U statistic over n₀·n₁).
        pub(super) fn roc_auc(scores: &[f64], labels: &[i64]) -> Option<f64> {
            let n1 = labels.iter().filter(|&&l| l == 1).count();
            let n0 = labels.len() - n1;
            if n0 == 0 || n1 == 0 {
                return None;
            }
            let mut idx: Vec<usize> = (0..scores.len()).collect();
            idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
            // Average ranks over ties.
            let mut rank_sum_pos = 0.0;
            let mut i = 0;
            while i < idx.len() {
                let mut j = i;
                while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
                    j += 1;
                }
                let avg_rank = (i + j) as f64 / 2.0 + 1.0;
                for &k in &idx[i..=j] {
                    if labels[k] == 1 {
                        rank_sum_pos += avg_rank;
                    }
                }
                i = j + 1;
            }
            let u = rank_sum_pos - (n1 * (n1 + 1)) as f64 / 2.0;
            Some(u / (n0 as f64 * n1 as f64))
        }

        /// Average precision: `Σₖ (Rₖ − Rₖ₋₁)·Pₖ` over the distinct score thresholds from the
        /// highest down (scikit-learn's `average_precision_score`).
        pub(super) fn average_precision(scores: &[f64], labels: &[i64]) -> Option<f64> {
            let n1 = labels.iter().filter(|&&l| l == 1).count();
            if n1 == 0 {
                return None;
            }
            let (mut ap, mut prev_recall) = (0.0, 0.0);
            for (tp, seen, _) in sweep(scores, labels) {
                let recall = tp as f64 / n1 as f64;
                ap += (recall - prev_recall) * (tp as f64 / seen as f64);
                prev_recall = recall;
            }
            Some(ap)
        }

        /// (true positives, rows flagged, threshold) at each distinct score, highest first.
        fn sweep(scores: &[f64], labels: &[i64]) -> Vec<(usize, usize, f64)> {
            let mut idx: Vec<usize> = (0..scores.len()).collect();
            idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
            let (mut tp, mut seen, mut out) = (0usize, 0usize, Vec::new());
            let mut i = 0;
            while i < idx.len() {
                let mut j = i;
                while j < idx.len() && scores[idx[j]] == scores[idx[i]] {
                    tp += usize::from(labels[idx[j]] == 1);
                    seen += 1;
                    j += 1;
                }
                out.push((tp, seen, scores[idx[i]]));
                i = j;
            }
            out
        }

        /// The ROC curve: `(fpr, tpr)` at every distinct threshold, from `(0, 0)` (nothing
        /// flagged; threshold +∞) to `(1, 1)`. The trapezoids under it sum to [`roc_auc`] (ties
        /// are one diagonal step). `None` without both classes.
        pub(super) fn roc_curve(scores: &[f64], labels: &[i64]) -> Option<Vec<CurvePoint>> {
            let n1 = labels.iter().filter(|&&l| l == 1).count();
            let n0 = labels.len() - n1;
            if n0 == 0 || n1 == 0 {
                return None;
            }
            let mut out = vec![CurvePoint { threshold: f64::INFINITY, x: 0.0, y: 0.0 }];
            out.extend(sweep(scores, labels).into_iter().map(|(tp, seen, t)| CurvePoint {
                threshold: t,
                x: (seen - tp) as f64 / n0 as f64,
                y: tp as f64 / n1 as f64,
            }));
            Some(out)
        }

        /// The precision–recall curve: `(recall, precision)` at every distinct threshold, the
        /// highest first. The steps `Σ (Rₖ − Rₖ₋₁)·Pₖ` under it are [`average_precision`].
        /// `None` without outliers.
        pub(super) fn pr_curve(scores: &[f64], labels: &[i64]) -> Option<Vec<CurvePoint>> {
            let n1 = labels.iter().filter(|&&l| l == 1).count();
            if n1 == 0 {
                return None;
            }
            Some(
                sweep(scores, labels)
                    .into_iter()
                    .map(|(tp, seen, t)| CurvePoint {
                        threshold: t,
                        x: tp as f64 / n1 as f64,
                        y: tp as f64 / seen as f64,
                    })
                    .collect(),
            )
        }

        /// Precision@n as it was computed before [`Ranked`].
        pub(super) fn precision_at_n(scores: &[f64], labels: &[i64], n: Option<usize>) -> Option<f64> {
            let n = n.unwrap_or_else(|| labels.iter().filter(|&&l| l == 1).count());
            if n == 0 {
                return None;
            }
            let mut idx: Vec<usize> = (0..scores.len()).collect();
            idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
            let hits = idx.iter().take(n).filter(|&&i| labels[i] == 1).count();
            Some(hits as f64 / n.min(idx.len()).max(1) as f64)
        }
    }

    /// The measures of one ranking are the bits of the functions as they were, each
    /// sorting row indices stably for itself: roc-auc, average precision, precision@n
    /// (rows of the same score taken in row order at the cut) and both curves, on scores
    /// with many ties, both zeros and NaNs of both signs, with every label pattern.
    #[test]
    fn ranked_measures_are_the_bits_of_each_sorting_for_itself() {
        let mut s = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let bits = |v: Option<f64>| v.map(f64::to_bits);
        let curve = |c: Option<Vec<CurvePoint>>| {
            c.map(|c| c.iter().map(|p| [p.threshold, p.x, p.y].map(f64::to_bits)).collect::<Vec<_>>())
        };
        for case in 0..300 {
            let n = 1 + (next() % 200) as usize;
            let levels = 1 + next() % 12;
            // Half the cases with NaN scores, on which the old sweep never ended.
            let nan = case % 2 == 1;
            let scores: Vec<f64> = (0..n)
                .map(|_| match next() % 16 {
                    0 if nan => f64::NAN,
                    1 if nan => -f64::NAN,
                    2 => -0.0,
                    3 => 0.0,
                    _ => (next() % levels) as f64 * 0.25 - 1.0,
                })
                .collect();
            let rate = next() % 4;
            let labels: Vec<i64> = (0..n).map(|_| i64::from(next() % 4 < rate)).collect();
            let ranked = Ranked::new(&scores, &labels);
            assert_eq!(bits(ranked.roc_auc()), bits(before::roc_auc(&scores, &labels)), "case {case}");
            if nan {
                // Each NaN is a threshold of its own, and the curves still end where every
                // row is flagged.
                let nans = scores.iter().filter(|s| s.is_nan()).count();
                let distinct: std::collections::BTreeSet<u64> =
                    scores.iter().filter(|s| !s.is_nan()).map(|s| (s + 0.0).to_bits()).collect();
                if let Some(roc) = ranked.roc_curve() {
                    assert_eq!(roc.len(), 1 + nans + distinct.len(), "case {case}");
                    assert_eq!((roc[roc.len() - 1].x, roc[roc.len() - 1].y), (1.0, 1.0));
                }
                if let Some(pr) = ranked.pr_curve() {
                    assert_eq!(pr[pr.len() - 1].x, 1.0);
                }
            } else {
                assert_eq!(
                    bits(ranked.average_precision()),
                    bits(before::average_precision(&scores, &labels)),
                    "case {case}"
                );
                assert_eq!(
                    curve(ranked.roc_curve()),
                    curve(before::roc_curve(&scores, &labels)),
                    "case {case}"
                );
                assert_eq!(
                    curve(ranked.pr_curve()),
                    curve(before::pr_curve(&scores, &labels)),
                    "case {case}"
                );
            }
            for k in [None, Some(1), Some(n / 2 + 1), Some(n), Some(n + 3)] {
                assert_eq!(
                    bits(ranked.precision_at_n(k)),
                    bits(before::precision_at_n(&scores, &labels, k)),
                    "case {case}, n {k:?}"
                );
            }
        }
    }

    /// The trapezoids under the ROC curve are the ROC-AUC; the steps under the
    /// precision–recall curve are the average precision; ties make one point; the
    /// histogram holds every finite score once.
    #[test]
    fn curves_and_histogram_agree_with_the_metrics() {
        let scores = [0.9, 0.8, 0.8, 0.5, 0.4, 0.4, 0.4, 0.1, 0.05, 0.7];
        let labels = [1, 0, 1, 0, 1, 0, 0, 0, 0, 1];
        let roc = roc_curve(&scores, &labels).unwrap();
        assert_eq!(roc.len(), 8); // (0, 0) and 7 distinct scores
        assert_eq!((roc[0].x, roc[0].y, roc.last().unwrap().x, roc.last().unwrap().y), (0.0, 0.0, 1.0, 1.0));
        let area: f64 = roc.windows(2).map(|w| (w[1].x - w[0].x) * (w[1].y + w[0].y) / 2.0).sum();
        assert!((area - roc_auc(&scores, &labels).unwrap()).abs() < 1e-12, "{area}");
        let pr = pr_curve(&scores, &labels).unwrap();
        let mut prev = 0.0;
        let ap: f64 = pr
            .iter()
            .map(|p| {
                let a = (p.x - prev) * p.y;
                prev = p.x;
                a
            })
            .sum();
        assert!((ap - average_precision(&scores, &labels).unwrap()).abs() < 1e-12);
        assert_eq!((pr[0].threshold, pr[0].x, pr[0].y), (0.9, 0.25, 1.0));
        assert!(roc_curve(&scores, &[0; 10]).is_none() && pr_curve(&scores, &[0; 10]).is_none());
        let h = histogram(&[0.0, 1.0, 0.5, 0.25, f64::INFINITY], 4).unwrap();
        assert_eq!((h.edges.clone(), h.counts.clone()), (vec![0.0, 0.25, 0.5, 0.75, 1.0], vec![1, 1, 1, 1]));
        assert_eq!(histogram(&[2.0, 2.0], 3).unwrap().counts, vec![0, 2, 0]);
        assert!(histogram(&[f64::NAN], 3).is_none());
    }
    use crate::data::dataset::Dataset;
    use crate::kernels::Threads;
    use crate::model::Autoencoder;

    /// A detector must hold a threshold that some score can exceed: negative values are
    /// refused as rules, as fitted thresholds and as stored ones.
    #[test]
    fn thresholds_below_zero_are_refused() {
        assert!("value=-1".parse::<ThresholdRule>().is_err());
        assert!("value=0.5".parse::<ThresholdRule>().is_ok());
        let config = crate::ModelConfig { input_dim: 3, layers: vec![2], ..crate::ModelConfig::default() };
        let model = Autoencoder::new(config, 7).unwrap();
        let data = Dataset::new(vec![0.1, 0.4, 0.9, 0.5, 0.2, 0.7, 0.0, 0.0, 1.0], 3, 3, "rows").unwrap();
        let threads = Threads::new(1);
        let e = Detector::fit(&model, &data, ScoreKind::Mse, ThresholdRule::Sigma(-100.0), &threads)
            .unwrap_err()
            .to_string();
        assert!(e.contains("threshold") && e.contains("larger sigma"), "{e}");
        let mut d =
            Detector::fit(&model, &data, ScoreKind::Mse, ThresholdRule::Sigma(2.0), &threads).unwrap();
        assert!(d.check(&model).is_ok());
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            d.threshold = bad;
            assert!(d.check(&model).unwrap_err().to_string().contains("threshold"), "{bad}");
        }
        d.threshold = 0.1;
        d.score = ScoreKind::Standardized;
        assert!(d.check(&model).is_err(), "standardized needs one scale per feature");
        d.feature_scale = vec![1.0, 0.0, 1.0];
        assert!(d.check(&model).unwrap_err().to_string().contains("feature index 1"));
    }

    #[test]
    fn reconstruction_scores_are_row_means_of_their_error_terms() {
        let config = crate::ModelConfig { input_dim: 3, layers: vec![2], ..crate::ModelConfig::default() };
        let model = Autoencoder::new(config, 7).unwrap();
        let x = vec![0.1f32, -0.4, 0.9, 1.5, 0.2, -0.7, -2.0, 0.0, 3.0];
        let data = Dataset::new(x.clone(), 3, 3, "three rows").unwrap();
        let threads = Threads::new(1);
        let y = model.reconstruct_normalized(&x, &threads).unwrap();
        type Term = fn(f64) -> f64;
        let terms: [(ScoreKind, Term); 3] =
            [(ScoreKind::Mse, |e| e * e), (ScoreKind::Mae, f64::abs), (ScoreKind::Root, |e| e.abs().sqrt())];
        for (kind, term) in terms {
            let got = scores(&model, &data, kind, &[], &threads).unwrap();
            let want: Vec<f64> = x
                .chunks(3)
                .zip(y.chunks(3))
                .map(|(a, b)| a.iter().zip(b).map(|(u, v)| term(f64::from(u - v))).sum::<f64>() / 3.0)
                .collect();
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-12 * w.max(1.0), "{kind:?}: {got:?} against {want:?}");
            }
        }
        assert_eq!("root".parse::<ScoreKind>().unwrap(), ScoreKind::Root);
        assert_eq!(serde_json::to_string(&ScoreKind::Root).unwrap(), "\"root\"");
    }

    #[test]
    fn the_tabular_code_is_the_root_of_the_width_and_the_narrowest_layer() {
        for (d, layers) in [
            (6, vec![6, 3, 3, 3]),
            (9, vec![9, 5, 3, 3]),
            (33, vec![33, 17, 9, 6]),
            (274, vec![274, 137, 69, 17]),
        ] {
            let (model, training) = tabular_defaults(d);
            assert_eq!(model.layers, layers, "d = {d}");
            assert_eq!((model.score, training.min_steps, training.trim), (Some(ScoreKind::Root), 2000, 0.5));
        }
    }

    #[test]
    fn roc_auc_and_average_precision_match_hand_computed_values() {
        // scores 0.1 0.4 0.35 0.8, labels 0 0 1 1 (scikit-learn's docstring example):
        // ROC-AUC 0.75, average precision 0.8333.
        let s = [0.1, 0.4, 0.35, 0.8];
        let l = [0, 0, 1, 1];
        assert!((roc_auc(&s, &l).unwrap() - 0.75).abs() < 1e-12);
        assert!((average_precision(&s, &l).unwrap() - 0.833_333_333_333_333_4).abs() < 1e-12);
        assert_eq!(precision_at_n(&s, &l, None), Some(0.5));
        // Ties count one half.
        assert_eq!(roc_auc(&[1.0, 1.0], &[0, 1]), Some(0.5));
        assert_eq!(roc_auc(&[1.0, 2.0], &[1, 1]), None);
    }

    #[test]
    fn thresholds_follow_their_rules() {
        let s: Vec<f64> = (1..=100).map(|v| v as f64).collect();
        // numpy.percentile(1..100, 95) = 95.05
        assert!((threshold(&s, ThresholdRule::Contamination(0.05)) - 95.05).abs() < 1e-9);
        assert!((threshold(&s, ThresholdRule::Percentile(50.0)) - 50.5).abs() < 1e-9);
        let sd = (s.iter().map(|v| (v - 50.5f64).powi(2)).sum::<f64>() / 100.0).sqrt();
        assert!((threshold(&s, ThresholdRule::Sigma(2.0)) - (50.5 + 2.0 * sd)).abs() < 1e-9);
        assert_eq!(threshold(&s, ThresholdRule::Value(3.0)), 3.0);
        assert_eq!("percentile=99".parse::<ThresholdRule>().unwrap(), ThresholdRule::Percentile(99.0));
        assert!("contamination=0.7".parse::<ThresholdRule>().is_err());
        assert!("contamination=0".parse::<ThresholdRule>().is_err());
        // PyOD's range, (0, 0.5]: half the rows flagged at most.
        assert_eq!("contamination=0.5".parse::<ThresholdRule>().unwrap(), ThresholdRule::Contamination(0.5));
        assert!((threshold(&s, ThresholdRule::Contamination(0.5)) - 50.5).abs() < 1e-9);
        assert!("median=3".parse::<ThresholdRule>().unwrap_err().to_string().contains("unknown rule"));
    }

    #[test]
    fn labels_other_than_zero_and_one_are_refused() {
        let e = check_binary_labels(&[0, 1, 2], "y.csv").unwrap_err().to_string();
        assert!(e.contains("y.csv") && e.contains("row 3") && e.contains("0 (normal) or 1"), "{e}");
    }

    #[test]
    fn confusion_counts() {
        let c = Confusion::new(&[1, 1, 0, 0], &[1, 0, 1, 0]);
        assert_eq!((c.true_positives, c.false_positives, c.false_negatives, c.true_negatives), (1, 1, 1, 1));
    }
}
