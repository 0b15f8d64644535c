//! How good a representation is as features for something else: the accuracy of a
//! k-nearest-neighbour classifier and of a multinomial logistic regression trained on
//! one labelled part and measured on another, and how well k-means clusters of it
//! agree with the labels (adjusted Rand index, normalised mutual information).
//!
//! The same probes judge a model's codes, PCA's codes of the same width and the raw
//! inputs, so that a representation is compared with the obvious alternatives. Every
//! probe is deterministic (k-means is seeded).
//!
//! ```
//! use autoencoder::probe::{adjusted_rand_index, knn_accuracy, Features, Metric};
//! use autoencoder::Threads;
//!
//! // Two well-separated classes on a line.
//! let train = Features::new(&[0.0, 0.1, 0.2, 5.0, 5.1, 5.2], 1, &[0, 0, 0, 1, 1, 1])?;
//! let test = Features::new(&[0.05, 5.05], 1, &[0, 1])?;
//! assert_eq!(knn_accuracy(&train, &test, 3, Metric::Euclidean, &Threads::new(1))?, 1.0);
//! assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
//! # Ok::<(), autoencoder::Error>(())
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::kernels::matmul::{matmul, Transpose};
use crate::kernels::Threads;
use crate::random::{self, Stream};

/// Labelled rows: `labels.len()` rows of `dim` values each, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Features<'a> {
    x: &'a [f32],
    dim: usize,
    labels: &'a [i64],
}

impl<'a> Features<'a> {
    /// Rows `x` (`labels.len() × dim`) with their labels. Refuses a length that does
    /// not match, no rows, a width of 0 and non-finite values.
    pub fn new(x: &'a [f32], dim: usize, labels: &'a [i64]) -> Result<Self> {
        if dim == 0 || labels.is_empty() {
            return Err(Error::Data(format!(
                "a probe needs at least one row and one feature, got {} rows of {dim}",
                labels.len()
            )));
        }
        if x.len() != labels.len() * dim {
            return Err(Error::Data(format!(
                "a probe's rows hold {} values; {} labelled rows of {dim} need {}",
                x.len(),
                labels.len(),
                labels.len() * dim
            )));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data(format!(
                "a probe's row {} holds {} at column {}; expected finite numbers",
                i / dim + 1,
                x[i],
                i % dim + 1
            )));
        }
        Ok(Features { x, dim, labels })
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.dim..(i + 1) * self.dim]
    }
}

/// The distance of the nearest-neighbour probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// ‖a − b‖₂.
    Euclidean,
    /// 1 − a·b / (‖a‖ ‖b‖) (a zero row is at distance 1 from every row).
    Cosine,
}

/// Rows at a time in the blocked distance computation (a block's products take
/// `BLOCK × train rows` values).
const BLOCK: usize = 256;

/// The accuracy on `test` of the `k`-nearest-neighbour classifier of `train`: each
/// test row takes the label most common among its `k` nearest training rows (a tie
/// between labels goes to the smallest label, a tie in distance to the earlier
/// training row), as scikit-learn's `KNeighborsClassifier` with uniform weights.
///
/// Distances come from one matrix product per block of test rows: `‖t‖² − 2 t·r + ‖r‖²`
/// (Euclidean, ranked without the constant `‖t‖²`) or `−t̂·r̂` of unit rows (cosine).
pub fn knn_accuracy(
    train: &Features,
    test: &Features,
    k: usize,
    metric: Metric,
    threads: &Threads,
) -> Result<f64> {
    if train.dim != test.dim {
        return Err(Error::Data(format!(
            "the probe's training rows have {} features and its test rows {}",
            train.dim, test.dim
        )));
    }
    if k == 0 || k > train.rows() {
        return Err(Error::config(
            "k",
            format!("must be between 1 and the {} training rows, got {k}", train.rows()),
        ));
    }
    let d = train.dim;
    let unit = |f: &Features| -> Vec<f32> {
        let mut out = f.x.to_vec();
        for row in out.chunks_exact_mut(d) {
            let norm = row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
            if norm > 0.0 {
                row.iter_mut().for_each(|v| *v = (*v as f64 / norm) as f32);
            }
        }
        out
    };
    // Euclidean distances read the rows as they are; cosine ones unit copies.
    let (r, t): (Cow<[f32]>, Cow<[f32]>) = match metric {
        Metric::Euclidean => (Cow::Borrowed(train.x), Cow::Borrowed(test.x)),
        Metric::Cosine => (Cow::Owned(unit(train)), Cow::Owned(unit(test))),
    };
    // ‖r‖² of each training row (Euclidean only).
    let r_sq: Vec<f32> = match metric {
        Metric::Euclidean => r.chunks_exact(d).map(|row| row.iter().map(|v| v * v).sum()).collect(),
        Metric::Cosine => vec![0.0; train.rows()],
    };
    let n = train.rows();
    let mut dots = vec![0.0f32; BLOCK.min(test.rows()) * n];
    let mut correct = 0usize;
    let mut nearest: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    let mut votes: BTreeMap<i64, usize> = BTreeMap::new();
    for start in (0..test.rows()).step_by(BLOCK) {
        let rows = BLOCK.min(test.rows() - start);
        let block = &t[start * d..(start + rows) * d];
        matmul(&mut dots[..rows * n], rows, n, d, block, Transpose::No, &r, Transpose::Yes, false, threads);
        crate::kernels::clear_upper_registers();
        for i in 0..rows {
            nearest.clear();
            for (j, &dot) in dots[i * n..(i + 1) * n].iter().enumerate() {
                let dist = match metric {
                    Metric::Euclidean => r_sq[j] - 2.0 * dot,
                    Metric::Cosine => -dot,
                };
                // Keep the k smallest, earlier rows first among equals.
                if nearest.len() < k || dist < nearest[k - 1].0 {
                    let at = nearest.partition_point(|&(v, _)| v <= dist);
                    nearest.insert(at, (dist, j));
                    nearest.truncate(k);
                }
            }
            votes.clear();
            for &(_, j) in &nearest {
                *votes.entry(train.labels[j]).or_default() += 1;
            }
            // BTreeMap iterates labels in order: the first with the most votes wins.
            let best =
                votes.iter().fold((0usize, 0i64), |acc, (&l, &c)| if c > acc.0 { (c, l) } else { acc });
            correct += usize::from(best.1 == test.labels[start + i]);
        }
    }
    Ok(correct as f64 / test.rows() as f64)
}

/// Settings of the logistic-regression probe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Logistic {
    /// The inverse of the L2 penalty's strength, as scikit-learn's `C`: the fit
    /// minimises `C · Σᵢ −log pᵢ(yᵢ) + ½‖W‖²` (the intercepts are not penalised).
    pub c: f64,
    /// The most L-BFGS iterations.
    pub max_iter: usize,
    /// Stop when the gradient's largest entry is below this, relative to the number
    /// of rows (the objective's scale).
    pub tol: f64,
}

impl Default for Logistic {
    fn default() -> Self {
        Logistic { c: 1.0, max_iter: 1000, tol: 1e-6 }
    }
}

/// Rows at a time in the logistic objective's products.
const LOGISTIC_BLOCK: usize = 2048;

/// The objective of [`Logistic`] and its gradient at `theta` (`classes × (dim + 1)`:
/// each class's weights, then its intercept), in f64: per block of rows, the logits
/// `Z = X·Wᵀ + b` and the gradient `Gᵂ += (P − Y)ᵀ·X` are two matrix products.
fn logistic_objective(
    f: &Features,
    y: &[usize],
    classes: usize,
    c: f64,
    theta: &[f64],
    grad: &mut [f64],
) -> f64 {
    use faer::linalg::matmul::matmul as gemm;
    use faer::{Accum, Mat, MatRef, Par};
    let d = f.dim;
    let w = d + 1;
    // W as a classes × d view of theta (row stride d + 1: each row's intercept after it).
    // SAFETY: theta holds classes × (d + 1) values, so every (k, j < d) lies inside it.
    let wmat = unsafe { MatRef::<f64>::from_raw_parts(theta.as_ptr(), classes, d, w as isize, 1) };
    let mut gw = Mat::<f64>::zeros(classes, d);
    let mut gb = vec![0.0f64; classes];
    let block = LOGISTIC_BLOCK.min(f.rows());
    let mut xb = vec![0.0f64; block * d];
    let mut z = Mat::<f64>::zeros(block, classes);
    let mut loss = 0.0;
    for start in (0..f.rows()).step_by(LOGISTIC_BLOCK) {
        let m = LOGISTIC_BLOCK.min(f.rows() - start);
        xb[..m * d].iter_mut().zip(&f.x[start * d..(start + m) * d]).for_each(|(a, &b)| *a = b as f64);
        let xm = MatRef::from_row_major_slice(&xb[..m * d], m, d);
        gemm(z.as_mut().subrows_mut(0, m), Accum::Replace, xm, wmat.transpose(), 1.0, Par::Seq);
        crate::kernels::clear_upper_registers();
        for i in 0..m {
            let yi = y[start + i];
            let mut max = f64::NEG_INFINITY;
            for k in 0..classes {
                z[(i, k)] += theta[k * w + d];
                max = max.max(z[(i, k)]);
            }
            let sum: f64 = (0..classes).map(|k| (z[(i, k)] - max).exp()).sum();
            let log_sum = max + sum.ln();
            loss += log_sum - z[(i, yi)];
            for (k, gbk) in gb.iter_mut().enumerate() {
                // p − y, kept in Z for the gradient's product.
                let r = (z[(i, k)] - log_sum).exp() - f64::from(u8::from(k == yi));
                z[(i, k)] = r;
                *gbk += r;
            }
        }
        gemm(gw.as_mut(), Accum::Add, z.as_ref().subrows(0, m).transpose(), xm, 1.0, Par::Seq);
        crate::kernels::clear_upper_registers();
    }
    let mut penalty = 0.0;
    for k in 0..classes {
        for j in 0..d {
            let t = theta[k * w + j];
            penalty += t * t;
            grad[k * w + j] = c * gw[(k, j)] + t;
        }
        grad[k * w + d] = c * gb[k];
    }
    c * loss + 0.5 * penalty
}

/// A multinomial logistic regression fitted on `train` by L-BFGS ([`Logistic`]),
/// then its accuracy on `test` (a test label never seen in training counts as wrong).
pub fn logistic_accuracy(train: &Features, test: &Features, settings: Logistic) -> Result<f64> {
    if train.dim != test.dim {
        return Err(Error::Data(format!(
            "the probe's training rows have {} features and its test rows {}",
            train.dim, test.dim
        )));
    }
    if !(settings.c.is_finite() && settings.c > 0.0) {
        return Err(Error::config("C", format!("must be a finite number > 0, got {}", settings.c)));
    }
    let classes: Vec<i64> = {
        let mut c = train.labels.to_vec();
        c.sort_unstable();
        c.dedup();
        c
    };
    if classes.len() < 2 {
        return Err(Error::Data("the logistic probe needs at least two classes in its training rows".into()));
    }
    let y: Vec<usize> = train.labels.iter().map(|l| classes.binary_search(l).unwrap_or(0)).collect();
    let w = train.dim + 1;
    let mut theta = vec![0.0f64; classes.len() * w];
    lbfgs(
        &mut theta,
        settings,
        |t, g| logistic_objective(train, &y, classes.len(), settings.c, t, g),
        train.rows(),
    );
    let mut correct = 0usize;
    for i in 0..test.rows() {
        let x = test.row(i);
        let (mut best, mut best_z) = (0usize, f64::NEG_INFINITY);
        for k in 0..classes.len() {
            let t = &theta[k * w..(k + 1) * w];
            let z = t[train.dim] + x.iter().zip(t).map(|(a, b)| *a as f64 * b).sum::<f64>();
            if z > best_z {
                (best, best_z) = (k, z);
            }
        }
        correct += usize::from(classes[best] == test.labels[i]);
    }
    Ok(correct as f64 / test.rows() as f64)
}

/// Minimise `f` (which returns the value and fills the gradient) from `x` by L-BFGS
/// with ten pairs of history and a backtracking (Armijo) line search.
fn lbfgs(x: &mut [f64], s: Logistic, mut f: impl FnMut(&[f64], &mut [f64]) -> f64, rows: usize) {
    const M: usize = 10;
    let n = x.len();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let mut g = vec![0.0; n];
    let mut fx = f(x, &mut g);
    let (mut ss, mut ys, mut rhos): (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<f64>) = (vec![], vec![], vec![]);
    let mut trial = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let tol = s.tol * rows.max(1) as f64 * s.c;
    for _ in 0..s.max_iter {
        if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) <= tol {
            break;
        }
        // The two-loop recursion: direction = −H·g.
        let mut q = g.clone();
        let mut alphas = vec![0.0; ss.len()];
        for i in (0..ss.len()).rev() {
            alphas[i] = rhos[i] * dot(&ss[i], &q);
            q.iter_mut().zip(&ys[i]).for_each(|(qj, yj)| *qj -= alphas[i] * yj);
        }
        let gamma = match (ss.last(), ys.last()) {
            (Some(sl), Some(yl)) => dot(sl, yl) / dot(yl, yl),
            _ => 1.0 / g.iter().map(|v| v.abs()).fold(1.0, f64::max),
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for i in 0..ss.len() {
            let beta = rhos[i] * dot(&ys[i], &q);
            q.iter_mut().zip(&ss[i]).for_each(|(qj, sj)| *qj += sj * (alphas[i] - beta));
        }
        let dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let slope = dot(&g, &dir);
        if slope >= 0.0 {
            // Not a descent direction: restart from the gradient.
            ss.clear();
            ys.clear();
            rhos.clear();
            continue;
        }
        let mut step = 1.0;
        let mut f_new;
        loop {
            trial.iter_mut().zip(x.iter().zip(&dir)).for_each(|(t, (xi, di))| *t = xi + step * di);
            f_new = f(&trial, &mut g_new);
            if f_new <= fx + 1e-4 * step * slope || step < 1e-20 {
                break;
            }
            step *= 0.5;
        }
        let sv: Vec<f64> = trial.iter().zip(x.iter()).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&sv, &yv);
        x.copy_from_slice(&trial);
        g.copy_from_slice(&g_new);
        let improvement = fx - f_new;
        fx = f_new;
        if sy > 1e-12 {
            if ss.len() == M {
                ss.remove(0);
                ys.remove(0);
                rhos.remove(0);
            }
            ss.push(sv);
            ys.push(yv);
            rhos.push(1.0 / sy);
        }
        if improvement.abs() <= 1e-12 * fx.abs().max(1.0) {
            break;
        }
    }
}

/// k-means of `x` (`rows × dim`) into `k` clusters: k-means++ seeding from `seed`, then
/// Lloyd's iterations until no row changes cluster (at most 300). Returns each row's
/// cluster.
pub fn kmeans(x: &[f32], dim: usize, k: usize, seed: u64) -> Result<Vec<usize>> {
    let rows = x.len().checked_div(dim).unwrap_or(0);
    if k == 0 || k > rows {
        return Err(Error::config("k", format!("must be between 1 and the {rows} rows, got {k}")));
    }
    let row = |i: usize| &x[i * dim..(i + 1) * dim];
    let dist2 = |a: &[f32], b: &[f64]| a.iter().zip(b).map(|(p, q)| (*p as f64 - q).powi(2)).sum::<f64>();
    let mut rng = random::rng(seed, Stream::Sample);
    let mut centres: Vec<Vec<f64>> = Vec::with_capacity(k);
    centres.push(row(random::below(&mut rng, rows)).iter().map(|&v| v as f64).collect());
    let mut closest: Vec<f64> = (0..rows).map(|i| dist2(row(i), &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = closest.iter().sum();
        let pick = if total > 0.0 {
            let mut u = random::uniform_f64(&mut rng) * total;
            closest.iter().position(|&d| {
                u -= d;
                u < 0.0
            })
        } else {
            None
        };
        let i = pick.unwrap_or_else(|| random::below(&mut rng, rows));
        let c: Vec<f64> = row(i).iter().map(|&v| v as f64).collect();
        closest.iter_mut().enumerate().for_each(|(j, d)| *d = d.min(dist2(row(j), &c)));
        centres.push(c);
    }
    let mut assign = vec![usize::MAX; rows];
    for _ in 0..300 {
        let mut changed = false;
        for (i, a) in assign.iter_mut().enumerate() {
            let best = (0..k)
                .map(|c| (dist2(row(i), &centres[c]), c))
                .fold((f64::INFINITY, 0), |m, v| if v.0 < m.0 { v } else { m })
                .1;
            changed |= *a != best;
            *a = best;
        }
        if !changed {
            break;
        }
        let mut sums = vec![vec![0.0f64; dim]; k];
        let mut counts = vec![0usize; k];
        for (i, &a) in assign.iter().enumerate() {
            counts[a] += 1;
            sums[a].iter_mut().zip(row(i)).for_each(|(s, &v)| *s += v as f64);
        }
        for c in 0..k {
            // An empty cluster keeps its centre.
            if counts[c] > 0 {
                centres[c] = sums[c].iter().map(|s| s / counts[c] as f64).collect();
            }
        }
    }
    Ok(assign)
}

/// The contingency table of two labelings of the same rows: the count of each pair of
/// labels, and of each label of either.
struct Contingency<A, B> {
    cells: BTreeMap<(A, B), f64>,
    a: BTreeMap<A, f64>,
    b: BTreeMap<B, f64>,
}

impl<A: Ord + Copy, B: Ord + Copy> Contingency<A, B> {
    fn new(a: &[A], b: &[B]) -> Self {
        let mut t = Contingency { cells: BTreeMap::new(), a: BTreeMap::new(), b: BTreeMap::new() };
        for (&x, &y) in a.iter().zip(b) {
            *t.cells.entry((x, y)).or_default() += 1.0;
            *t.a.entry(x).or_default() += 1.0;
            *t.b.entry(y).or_default() += 1.0;
        }
        t
    }
}

/// The adjusted Rand index of two labelings (1: the same partition; about 0 for
/// independent ones), as scikit-learn's `adjusted_rand_score`:
/// `(Σᵢⱼ C(nᵢⱼ,2) − E) / (½(Σᵢ C(aᵢ,2) + Σⱼ C(bⱼ,2)) − E)` with
/// `E = Σᵢ C(aᵢ,2) Σⱼ C(bⱼ,2) / C(n,2)`.
pub fn adjusted_rand_index<A: Ord + Copy, B: Ord + Copy>(a: &[A], b: &[B]) -> f64 {
    let pairs = |v: f64| v * (v - 1.0) / 2.0;
    let t = Contingency::new(a, b);
    let n = a.len() as f64;
    let index: f64 = t.cells.values().map(|&v| pairs(v)).sum();
    let (sa, sb): (f64, f64) = (t.a.values().map(|&v| pairs(v)).sum(), t.b.values().map(|&v| pairs(v)).sum());
    let expected = if n > 1.0 { sa * sb / pairs(n) } else { 0.0 };
    let max = 0.5 * (sa + sb);
    if max == expected {
        // Both labelings put every row in one cluster, or each in its own.
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// The normalised mutual information of two labelings, `I(a; b) / ½(H(a) + H(b))`
/// (natural logarithms; 1 when both are a single cluster), as scikit-learn's
/// `normalized_mutual_info_score` with its default arithmetic mean.
pub fn normalized_mutual_info<A: Ord + Copy, B: Ord + Copy>(a: &[A], b: &[B]) -> f64 {
    let n = a.len() as f64;
    fn entropy<'a>(counts: impl Iterator<Item = &'a f64>, n: f64) -> f64 {
        -counts.map(|&c| (c / n) * (c / n).ln()).sum::<f64>()
    }
    let t = Contingency::new(a, b);
    if t.a.len() == 1 && t.b.len() == 1 {
        return 1.0;
    }
    let (ha, hb) = (entropy(t.a.values(), n), entropy(t.b.values(), n));
    let mi: f64 = t.cells.iter().map(|(&(x, y), &c)| (c / n) * (c * n / (t.a[&x] * t.b[&y])).ln()).sum();
    let mean = 0.5 * (ha + hb);
    if mean <= 0.0 {
        return 0.0;
    }
    (mi / mean).clamp(0.0, 1.0)
}

/// Every probe of one representation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ProbeScores {
    /// Test accuracy of the 5-nearest-neighbour classifier, Euclidean.
    pub knn_euclidean: f64,
    /// Test accuracy of the 5-nearest-neighbour classifier, cosine.
    pub knn_cosine: f64,
    /// Test accuracy of the logistic regression ([`Logistic::default`]).
    pub logistic: f64,
    /// Adjusted Rand index of k-means clusters of the test rows (k = the number of
    /// classes) against their labels.
    pub kmeans_ari: f64,
    /// Normalised mutual information of those clusters and the labels.
    pub kmeans_nmi: f64,
}

/// All the probes of one representation: the classifiers trained on `train` and
/// measured on `test`; k-means (seeded) on the test rows with as many clusters as
/// their labels have classes.
pub fn probe(train: &Features, test: &Features, seed: u64, threads: &Threads) -> Result<ProbeScores> {
    let classes = {
        let mut c = test.labels.to_vec();
        c.sort_unstable();
        c.dedup();
        c.len()
    };
    let clusters = kmeans(test.x, test.dim, classes, seed)?;
    Ok(ProbeScores {
        knn_euclidean: knn_accuracy(train, test, 5.min(train.rows()), Metric::Euclidean, threads)?,
        knn_cosine: knn_accuracy(train, test, 5.min(train.rows()), Metric::Cosine, threads)?,
        logistic: logistic_accuracy(train, test, Logistic::default())?,
        kmeans_ari: adjusted_rand_index(test.labels, &clusters),
        kmeans_nmi: normalized_mutual_info(test.labels, &clusters),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_and_nmi_of_known_cases() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[5, 5, 7, 7]), 1.0);
        assert_eq!(normalized_mutual_info(&[0, 0, 1, 1], &[5, 5, 7, 7]), 1.0);
        // Independent labelings: ARI is negative here, NMI 0.
        assert!(adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]) < 0.0);
        assert!(normalized_mutual_info(&[0, 0, 1, 1], &[0, 1, 0, 1]).abs() < 1e-12);
    }

    #[test]
    fn the_objective_gradient_matches_finite_differences() {
        let x = [0.3f32, -1.2, 0.8, 0.1, -0.5, 2.0, 1.1, 0.4, -0.9, -0.2, 0.6, 1.5];
        let labels = [0i64, 2, 1, 2, 0, 1];
        let f = Features::new(&x, 2, &labels).unwrap();
        let y: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
        let theta: Vec<f64> = (0..9).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut g = vec![0.0; 9];
        logistic_objective(&f, &y, 3, 0.7, &theta, &mut g);
        let mut scratch = vec![0.0; 9];
        for i in 0..9 {
            let (mut p, mut m) = (theta.clone(), theta.clone());
            p[i] += 1e-6;
            m[i] -= 1e-6;
            let fd = (logistic_objective(&f, &y, 3, 0.7, &p, &mut scratch)
                - logistic_objective(&f, &y, 3, 0.7, &m, &mut scratch))
                / 2e-6;
            assert!((fd - g[i]).abs() < 1e-6, "θ{i}: {fd} against {}", g[i]);
        }
    }

    #[test]
    fn kmeans_finds_separated_clusters_and_is_seeded() {
        let x: Vec<f32> = (0..60)
            .map(|i| if i < 30 { (i % 5) as f32 * 0.01 } else { 10.0 + (i % 5) as f32 * 0.01 })
            .collect();
        let labels: Vec<i64> = (0..60).map(|i| i64::from(i >= 30)).collect();
        let a = kmeans(&x, 1, 2, 3).unwrap();
        assert_eq!(adjusted_rand_index(&labels, &a), 1.0);
        assert_eq!(a, kmeans(&x, 1, 2, 3).unwrap());
    }

    #[test]
    fn bad_input_is_refused_with_its_reason() {
        assert!(Features::new(&[1.0, 2.0, 3.0], 2, &[0, 1]).unwrap_err().to_string().contains("need 4"));
        assert!(Features::new(&[1.0, f32::NAN], 1, &[0, 1]).unwrap_err().to_string().contains("row 2"));
        let f = Features::new(&[1.0, 2.0], 1, &[0, 1]).unwrap();
        assert!(knn_accuracy(&f, &f, 3, Metric::Euclidean, &Threads::new(1)).is_err());
        let one = Features::new(&[1.0, 2.0], 1, &[0, 0]).unwrap();
        assert!(logistic_accuracy(&one, &one, Logistic::default())
            .unwrap_err()
            .to_string()
            .contains("two classes"));
    }
}
