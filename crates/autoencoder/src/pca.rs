//! Principal component analysis: the linear baseline every autoencoder is compared with
//! (fit, encode to codes, decode, reconstruct), computed in f64 with `faer`.
//!
//! For `n` rows `xᵢ ∈ ℝᵈ` with column mean `μ = Σᵢ xᵢ / n`, the sample covariance is
//! `Σ = (X − 1μᵀ)ᵀ(X − 1μᵀ) / (n − 1)`. Its eigendecomposition `Σ = V Λ Vᵀ`, eigenvalues
//! sorted `λ₁ ≥ λ₂ ≥ … ≥ λ_d`, gives the principal axes: the top `k` eigenvectors are the
//! rows of the `k × d` component matrix `W`, so that
//!
//! * code:            `z = W (x − μ)`            ([`Pca::transform`])
//! * reconstruction:  `x̂ = μ + Wᵀ z`             ([`Pca::inverse_transform`], [`Pca::reconstruct`])
//!
//! and `x̂` is the best rank-`k` affine reconstruction in squared error (Eckart–Young).
//!
//! The covariance `XᵀX` is accumulated block by block (a few thousand rows at a time,
//! centred and widened to f64, lower triangle only), so fitting never holds an f64 copy of
//! the data; it costs `O(n·d²/2 + d³)` time and `O(d² + block·d)` memory per thread, which
//! suits `d` up to a few thousand (Fashion-MNIST: `d = 784`).

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};

use crate::error::{Error, Result};

/// A fitted PCA: mean `μ` (length `d`), components `W` (`k × d`, row-major, orthonormal
/// rows), and the variance `λⱼ` the data has along each component.
///
/// Each component's sign is fixed so that its entry of largest magnitude is positive
/// (the first such entry on ties), as scikit-learn's `svd_flip` does, so a fit is
/// reproducible.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    mean: Vec<f64>,
    components: Vec<f64>,
    explained_variance: Vec<f64>,
    total_variance: f64,
    k: usize,
    d: usize,
}

/// Rows per covariance block: about 4 M values (32 MB of f64), at least 64 and at most
/// 8192 rows. It depends on `d` only, never on the thread count, so results do too.
fn rows_per_block(d: usize) -> usize {
    ((1usize << 22) / d.max(1)).clamp(64, 8192)
}

impl Pca {
    /// Fits `k` components to `rows × cols` row-major `data`, using every available core
    /// (see [`Pca::fit_with_threads`]).
    pub fn fit(data: &[f32], rows: usize, cols: usize, k: usize) -> Result<Pca> {
        Pca::fit_with_threads(data, rows, cols, k, 0)
    }

    /// Fits `k` components to `rows × cols` row-major `data` with `threads` worker threads
    /// (0: as many as the machine has).
    ///
    /// Steps, all in f64: the column mean `μ`; `C = Σ_b X_bᵀX_b` over row blocks `X_b` of
    /// centred rows (a fixed partition summed in block order, so the result is bit-identical
    /// whatever `threads` is; threads only compute blocks concurrently); `Σ = C / (n − 1)`
    /// (`/ 1` when `n = 1`); the self-adjoint eigendecomposition of `Σ`; the `k` eigenvectors
    /// of largest eigenvalue, sign-fixed.
    ///
    /// Errors: `k` outside `1..=min(rows, cols)` (`Error::Config` on `code size`), a buffer
    /// whose length is not `rows·cols`, non-finite values, or an eigensolver that does not
    /// converge (`Error::Data`).
    pub fn fit_with_threads(data: &[f32], rows: usize, cols: usize, k: usize, threads: usize) -> Result<Pca> {
        Pca::fit_blocked(data, rows, cols, k, threads, rows_per_block(cols))
    }

    /// [`Pca::fit_with_threads`] with an explicit covariance block height.
    fn fit_blocked(
        data: &[f32],
        rows: usize,
        cols: usize,
        k: usize,
        threads: usize,
        block_rows: usize,
    ) -> Result<Pca> {
        let expected = rows.checked_mul(cols).ok_or_else(|| {
            Error::Data(format!("PCA: {rows} rows × {cols} columns overflows the address space"))
        })?;
        if data.len() != expected {
            return Err(Error::Data(format!(
                "PCA: the buffer holds {} values, expected {rows} rows × {cols} columns = {expected}",
                data.len()
            )));
        }
        if k == 0 || k > rows.min(cols) {
            return Err(Error::config(
                "code size",
                format!(
                    "PCA needs 1 ≤ k ≤ min(rows, columns) = min({rows}, {cols}) = {}, got {k}",
                    rows.min(cols)
                ),
            ));
        }
        let d = cols;
        let mean = column_mean(data, rows, d)?;
        let threads = match threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            t => t,
        };
        let scatter = scatter_matrix(data, rows, d, &mean, threads, block_rows);

        let denom = rows.saturating_sub(1).max(1) as f64;
        let cov = Mat::<f64>::from_fn(d, d, |i, j| if i >= j { scatter[(i, j)] / denom } else { 0.0 });
        drop(scatter);
        let total_variance: f64 = (0..d).map(|i| cov[(i, i)]).sum();
        let eig = cov.self_adjoint_eigen(Side::Lower).map_err(|e| {
            Error::Data(format!("PCA: the eigendecomposition of the covariance failed: {e:?}"))
        })?;
        let u = eig.U();
        let s = eig.S().column_vector();

        // Eigenvalues come in nondecreasing order: take the last k, largest first.
        let mut components = vec![0.0f64; k * d];
        let mut explained_variance = Vec::with_capacity(k);
        for c in 0..k {
            let col = d - 1 - c;
            explained_variance.push(s[col].max(0.0));
            let row = &mut components[c * d..(c + 1) * d];
            for (j, r) in row.iter_mut().enumerate() {
                *r = u[(j, col)];
            }
            flip_sign(row);
        }
        Ok(Pca { mean, components, explained_variance, total_variance, k, d })
    }

    /// A PCA from stored parts (e.g. loaded from a file): `mean` of length `d`,
    /// `components` `k × d` row-major, `explained_variance` of length `k`, and the total
    /// variance `Σⱼ Σⱼⱼ` used by [`Pca::explained_variance_ratio`]. Checks the shapes and
    /// finiteness only; orthonormality is the caller's promise.
    pub fn from_parts(
        mean: Vec<f64>,
        components: Vec<f64>,
        explained_variance: Vec<f64>,
        total_variance: f64,
    ) -> Result<Pca> {
        let d = mean.len();
        let k = explained_variance.len();
        if d == 0 || k == 0 || k > d || components.len() != k * d {
            return Err(Error::Data(format!(
                "PCA parts: mean of {d} values, {k} variances and {} component values do not form \
                 k × d components with 1 ≤ k ≤ d",
                components.len()
            )));
        }
        let all_finite = mean.iter().chain(&components).chain(&explained_variance).all(|v| v.is_finite());
        if !all_finite || !total_variance.is_finite() {
            return Err(Error::Data("PCA parts contain non-finite values".into()));
        }
        Ok(Pca { mean, components, explained_variance, total_variance, k, d })
    }

    /// Number of components `k` (the code size).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Input dimension `d`.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// Components `W`, `k × d` row-major; row `c` is the unit eigenvector of the `c`-th
    /// largest covariance eigenvalue.
    pub fn components(&self) -> &[f64] {
        &self.components
    }

    /// Column mean `μ` of the training data (length `d`).
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Variance along each component, `λ₁ ≥ … ≥ λ_k` (sample variance, divisor `n − 1`,
    /// as scikit-learn's `explained_variance_`).
    pub fn explained_variance(&self) -> &[f64] {
        &self.explained_variance
    }

    /// Total variance of the training data, `tr Σ = Σⱼ λⱼ` over all `d` eigenvalues.
    pub fn total_variance(&self) -> f64 {
        self.total_variance
    }

    /// Fraction of the total variance along each component, `λⱼ / tr Σ` (all zeros when
    /// the data has no variance).
    pub fn explained_variance_ratio(&self) -> Vec<f64> {
        let total = self.total_variance;
        self.explained_variance.iter().map(|&l| if total > 0.0 { l / total } else { 0.0 }).collect()
    }

    /// Codes `z = W (x − μ)` of `rows` row-major inputs `x` (`rows × d`) into `out`
    /// (`rows × k`).
    pub fn transform(&self, x: &[f32], rows: usize, out: &mut [f32]) -> Result<()> {
        self.check_len("transform input", x.len(), rows, self.d)?;
        self.check_len("transform output", out.len(), rows, self.k)?;
        let (d, k) = (self.d, self.k);
        let block = rows_per_block(d).min(rows.max(1));
        let mut xc = vec![0.0f64; block * d];
        let mut z = Mat::<f64>::zeros(block, k);
        for start in (0..rows).step_by(block) {
            let b = block.min(rows - start);
            center_rows(&x[start * d..(start + b) * d], &self.mean, &mut xc[..b * d]);
            let xb = MatRef::from_row_major_slice(&xc[..b * d], b, d);
            let mut zb = z.as_mut().subrows_mut(0, b);
            matmul(zb.as_mut(), Accum::Replace, xb, self.w().transpose(), 1.0, Par::Seq);
            write_rows(zb.as_ref(), &mut out[start * k..(start + b) * k]);
        }
        Ok(())
    }

    /// Reconstructions `x̂ = μ + Wᵀ z` of `rows` row-major codes `z` (`rows × k`) into
    /// `out` (`rows × d`).
    pub fn inverse_transform(&self, z: &[f32], rows: usize, out: &mut [f32]) -> Result<()> {
        self.check_len("inverse_transform input", z.len(), rows, self.k)?;
        self.check_len("inverse_transform output", out.len(), rows, self.d)?;
        let (d, k) = (self.d, self.k);
        let block = rows_per_block(d).min(rows.max(1));
        let mut zc = vec![0.0f64; block * k];
        let mut xh = Mat::<f64>::zeros(block, d);
        for start in (0..rows).step_by(block) {
            let b = block.min(rows - start);
            for (dst, &src) in zc.iter_mut().zip(&z[start * k..(start + b) * k]) {
                *dst = f64::from(src);
            }
            self.decode_block(
                &zc[..b * k],
                b,
                xh.as_mut().subrows_mut(0, b),
                &mut out[start * d..(start + b) * d],
            );
        }
        Ok(())
    }

    /// Projection onto the principal subspace, `x̂ = μ + WᵀW (x − μ)`, of `rows` row-major
    /// inputs (`rows × d`) into `out` (`rows × d`); the codes stay in f64.
    pub fn reconstruct(&self, x: &[f32], rows: usize, out: &mut [f32]) -> Result<()> {
        self.check_len("reconstruct input", x.len(), rows, self.d)?;
        self.check_len("reconstruct output", out.len(), rows, self.d)?;
        let (d, k) = (self.d, self.k);
        let block = rows_per_block(d).min(rows.max(1));
        let mut xc = vec![0.0f64; block * d];
        let mut z = vec![0.0f64; block * k];
        let mut xh = Mat::<f64>::zeros(block, d);
        for start in (0..rows).step_by(block) {
            let b = block.min(rows - start);
            center_rows(&x[start * d..(start + b) * d], &self.mean, &mut xc[..b * d]);
            let xb = MatRef::from_row_major_slice(&xc[..b * d], b, d);
            let zb = MatMut::from_row_major_slice_mut(&mut z[..b * k], b, k);
            matmul(zb, Accum::Replace, xb, self.w().transpose(), 1.0, Par::Seq);
            self.decode_block(
                &z[..b * k],
                b,
                xh.as_mut().subrows_mut(0, b),
                &mut out[start * d..(start + b) * d],
            );
        }
        Ok(())
    }

    /// `W` as a `k × d` matrix view.
    fn w(&self) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice(&self.components, self.k, self.d)
    }

    /// `out = μ + z W` for `b` f64 codes, using `xh` (`b × d`) as scratch.
    fn decode_block(&self, z: &[f64], b: usize, mut xh: MatMut<'_, f64>, out: &mut [f32]) {
        let zb = MatRef::from_row_major_slice(z, b, self.k);
        matmul(xh.as_mut(), Accum::Replace, zb, self.w(), 1.0, Par::Seq);
        for (r, row) in out.chunks_exact_mut(self.d).enumerate() {
            for (j, o) in row.iter_mut().enumerate() {
                *o = (xh[(r, j)] + self.mean[j]) as f32;
            }
        }
    }

    fn check_len(&self, what: &str, len: usize, rows: usize, width: usize) -> Result<()> {
        match rows.checked_mul(width) {
            Some(n) if n == len => Ok(()),
            _ => Err(Error::Data(format!(
                "PCA {what}: {len} values, expected {rows} rows × {width} = {}",
                rows.saturating_mul(width)
            ))),
        }
    }
}

/// Column mean in f64; rejects non-finite values.
fn column_mean(data: &[f32], rows: usize, d: usize) -> Result<Vec<f64>> {
    let mut sum = vec![0.0f64; d];
    for (r, row) in data.chunks_exact(d).enumerate() {
        for (j, (s, &v)) in sum.iter_mut().zip(row).enumerate() {
            if !v.is_finite() {
                return Err(Error::Data(format!("PCA: row {r}, column {j} is {v}; PCA needs finite values")));
            }
            *s += f64::from(v);
        }
    }
    let n = rows as f64;
    Ok(sum.into_iter().map(|s| s / n).collect())
}

/// `out = x − μ` row by row, widened to f64 (row-major).
fn center_rows(x: &[f32], mean: &[f64], out: &mut [f64]) {
    for (src, dst) in x.chunks_exact(mean.len()).zip(out.chunks_exact_mut(mean.len())) {
        for ((o, &v), &m) in dst.iter_mut().zip(src).zip(mean) {
            *o = f64::from(v) - m;
        }
    }
}

/// Copies a `b × w` matrix into a row-major f32 buffer.
fn write_rows(m: MatRef<'_, f64>, out: &mut [f32]) {
    for (r, row) in out.chunks_exact_mut(m.ncols()).enumerate() {
        for (j, o) in row.iter_mut().enumerate() {
            *o = m[(r, j)] as f32;
        }
    }
}

/// Negates `v` when its first entry of largest magnitude is negative.
fn flip_sign(v: &mut [f64]) {
    let mut best = 0usize;
    for (j, x) in v.iter().enumerate() {
        if x.abs() > v[best].abs() {
            best = j;
        }
    }
    if v.get(best).is_some_and(|&x| x < 0.0) {
        v.iter_mut().for_each(|x| *x = -*x);
    }
}

/// Scratch of one worker: a centred block and its partial scatter matrix.
struct Worker {
    block: Vec<f64>,
    partial: Mat<f64>,
}

impl Worker {
    /// `partial = X_bᵀX_b` (lower triangle) for the centred rows of block `b`.
    fn run(&mut self, data: &[f32], rows: usize, d: usize, mean: &[f64], b: usize, block_rows: usize) {
        let start = b * block_rows;
        let n = block_rows.min(rows - start);
        let buf = &mut self.block[..n * d];
        center_rows(&data[start * d..(start + n) * d], mean, buf);
        let xb = MatRef::from_row_major_slice(buf, n, d);
        triangular::matmul(
            self.partial.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            xb.transpose(),
            BlockStructure::Rectangular,
            xb,
            BlockStructure::Rectangular,
            1.0,
            Par::Seq,
        );
    }
}

/// The scatter matrix `C = (X − 1μᵀ)ᵀ(X − 1μᵀ)`, lower triangle only (the upper part is
/// unspecified), summed over fixed row blocks in block order.
fn scatter_matrix(
    data: &[f32],
    rows: usize,
    d: usize,
    mean: &[f64],
    threads: usize,
    block_rows: usize,
) -> Mat<f64> {
    let block_rows = block_rows.clamp(1, rows);
    let blocks = rows.div_ceil(block_rows);
    let threads = threads.clamp(1, blocks);
    let mut workers: Vec<Worker> = (0..threads)
        .map(|_| Worker { block: vec![0.0; block_rows * d], partial: Mat::zeros(d, d) })
        .collect();
    let mut total = Mat::<f64>::zeros(d, d);
    let block_ids: Vec<usize> = (0..blocks).collect();
    for wave in block_ids.chunks(threads) {
        if let ([b], [w]) = (wave, &mut workers[..1]) {
            w.run(data, rows, d, mean, *b, block_rows);
        } else {
            std::thread::scope(|s| {
                for (w, &b) in workers.iter_mut().zip(wave) {
                    s.spawn(move || w.run(data, rows, d, mean, b, block_rows));
                }
            });
        }
        for w in workers.iter().take(wave.len()) {
            for j in 0..d {
                for i in j..d {
                    total[(i, j)] += w.partial[(i, j)];
                }
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `rows × d` data made of `r` latent factors, `x = z A + offset + noise`.
    fn planted(rows: usize, d: usize, r: usize, noise: f64, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a: Vec<f64> = (0..r * d).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
        let offset: Vec<f64> = (0..d).map(|_| rng.random::<f64>() * 10.0).collect();
        let mut x = Vec::with_capacity(rows * d);
        for _ in 0..rows {
            let z: Vec<f64> = (0..r).map(|_| rng.random::<f64>() * 4.0 - 2.0).collect();
            for j in 0..d {
                let v: f64 = (0..r).map(|f| z[f] * a[f * d + j]).sum::<f64>() + offset[j];
                x.push((v + noise * (rng.random::<f64>() - 0.5)) as f32);
            }
        }
        x
    }

    #[test]
    fn planted_rank_3_is_recovered() {
        let (n, d) = (500, 20);
        let x = planted(n, d, 3, 1e-4, 1);
        let pca = Pca::fit(&x, n, d, 3).unwrap();
        let ratio: f64 = pca.explained_variance_ratio().iter().sum();
        assert!((ratio - 1.0).abs() < 1e-6, "ratio sum {ratio}");
        let mut xh = vec![0.0f32; n * d];
        pca.reconstruct(&x, n, &mut xh).unwrap();
        let m = crate::metrics::reconstruction_metrics(&x, &xh, d).unwrap();
        assert!(m.mse < 1e-8, "mse {}", m.mse);
        // transform followed by inverse_transform equals reconstruct (up to f32 codes).
        let mut z = vec![0.0f32; n * 3];
        pca.transform(&x, n, &mut z).unwrap();
        let mut xh2 = vec![0.0f32; n * d];
        pca.inverse_transform(&z, n, &mut xh2).unwrap();
        let diff = xh.iter().zip(&xh2).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(diff < 1e-4, "{diff}");
        // The codes' sample variances are the explained variances.
        for c in 0..3 {
            let col: Vec<f64> = (0..n).map(|i| f64::from(z[i * 3 + c])).collect();
            let mean = col.iter().sum::<f64>() / n as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let ev = pca.explained_variance()[c];
            assert!((var - ev).abs() < 1e-4 * ev, "component {c}: {var} vs {ev}");
            assert!(mean.abs() < 1e-4, "code mean {mean}");
        }
    }

    #[test]
    fn components_are_orthonormal_and_sorted() {
        let (n, d, k) = (300, 20, 12);
        let x = planted(n, d, d, 0.0, 2);
        let pca = Pca::fit(&x, n, d, k).unwrap();
        let w = pca.components();
        for a in 0..k {
            for b in 0..k {
                let dot: f64 = (0..d).map(|j| w[a * d + j] * w[b * d + j]).sum();
                let expected = if a == b { 1.0 } else { 0.0 };
                assert!((dot - expected).abs() < 1e-12, "W Wᵀ[{a},{b}] = {dot}");
            }
            let row = &w[a * d..(a + 1) * d];
            let big = row.iter().copied().fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
            assert!(big > 0.0, "sign convention: largest |entry| positive");
        }
        let ev = pca.explained_variance();
        assert!(ev.windows(2).all(|p| p[0] >= p[1]), "{ev:?}");
        assert_eq!((pca.k(), pca.dim(), pca.mean().len()), (k, d, d));
    }

    /// Points (1 + t, 2 + 2t) for t = −2..=2 lie on y = 2x shifted: mean (1, 2), first
    /// axis (1, 2)/√5 (positive: its largest entry 2/√5 > 0), variance along it
    /// Σ t²·5 / (n − 1) = 10·5/4 = 12.5, second variance 0; codes t·√5.
    #[test]
    fn hand_checked_line() {
        let x: Vec<f32> = (-2..=2).flat_map(|t| [1.0 + t as f32, 2.0 + 2.0 * t as f32]).collect();
        let pca = Pca::fit(&x, 5, 2, 2).unwrap();
        let s5 = 5f64.sqrt();
        let w = pca.components();
        assert!((w[0] - 1.0 / s5).abs() < 1e-12 && (w[1] - 2.0 / s5).abs() < 1e-12, "{w:?}");
        assert!((pca.mean()[0] - 1.0).abs() < 1e-15 && (pca.mean()[1] - 2.0).abs() < 1e-15);
        assert!((pca.explained_variance()[0] - 12.5).abs() < 1e-12);
        assert!(pca.explained_variance()[1].abs() < 1e-12);
        let ratio = pca.explained_variance_ratio();
        assert!((ratio[0] - 1.0).abs() < 1e-12 && ratio[1].abs() < 1e-12);
        let one = Pca::fit(&x, 5, 2, 1).unwrap();
        let mut z = [0.0f32; 5];
        one.transform(&x, 5, &mut z).unwrap();
        for (t, zi) in (-2..=2).zip(z) {
            assert!((f64::from(zi) - t as f64 * s5).abs() < 1e-6, "{z:?}");
        }
    }

    #[test]
    fn result_does_not_depend_on_threads() {
        let (n, d) = (103, 9);
        let x = planted(n, d, 4, 0.1, 3);
        let one = Pca::fit_blocked(&x, n, d, 4, 1, 10).unwrap();
        let three = Pca::fit_blocked(&x, n, d, 4, 3, 10).unwrap();
        assert_eq!(one, three);
        // A different block size changes rounding only.
        let whole = Pca::fit_blocked(&x, n, d, 4, 1, n).unwrap();
        for (a, b) in one.components().iter().zip(whole.components()) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 7.0];
        assert!(matches!(Pca::fit(&x, 3, 2, 0), Err(Error::Config { .. })));
        assert!(matches!(Pca::fit(&x, 3, 2, 3), Err(Error::Config { .. })));
        assert!(matches!(Pca::fit(&x, 2, 2, 1), Err(Error::Data(_))));
        assert!(Pca::fit(&[], 0, 0, 1).is_err());
        assert!(Pca::fit(&[1.0, f32::NAN], 1, 2, 1).is_err());
        let pca = Pca::fit(&x, 3, 2, 1).unwrap();
        assert!(pca.transform(&x, 3, &mut [0.0; 2]).is_err());
        assert!(pca.transform(&x[..4], 3, &mut [0.0; 3]).is_err());
        assert!(pca.inverse_transform(&[0.0; 3], 3, &mut [0.0; 5]).is_err());
        assert!(pca.reconstruct(&x, 3, &mut [0.0; 5]).is_err());
        assert!(pca.transform(&[], 0, &mut []).is_ok());
        // One row: no variance, ratio 0 rather than NaN.
        let single = Pca::fit(&[1.0, 2.0], 1, 2, 1).unwrap();
        assert_eq!(single.explained_variance_ratio(), vec![0.0]);
        let rebuilt = Pca::from_parts(
            pca.mean().to_vec(),
            pca.components().to_vec(),
            pca.explained_variance().to_vec(),
            pca.total_variance(),
        )
        .unwrap();
        assert_eq!(rebuilt, pca);
        assert!(Pca::from_parts(vec![0.0; 2], vec![0.0; 3], vec![1.0], 1.0).is_err());
    }

    /// Reads a gzip-compressed IDX file of unsigned bytes: returns (dims, bytes).
    fn read_idx_gz(path: &std::path::Path) -> std::io::Result<(Vec<usize>, Vec<u8>)> {
        use std::io::Read;
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_end(&mut raw)?;
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        if raw.len() < 4 || raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08 {
            return Err(bad("not an IDX file of unsigned bytes"));
        }
        let ndim = usize::from(raw[3]);
        let header = 4 + 4 * ndim;
        if raw.len() < header {
            return Err(bad("truncated IDX header"));
        }
        let dims: Vec<usize> = (0..ndim)
            .map(|i| u32::from_be_bytes(raw[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
            .collect();
        if raw.len() - header != dims.iter().product::<usize>() {
            return Err(bad("IDX payload does not match its dimensions"));
        }
        Ok((dims, raw.split_off(header)))
    }

    fn fashion_images(name: &str) -> Option<(usize, Vec<f32>)> {
        let path = std::path::Path::new("/usr/share/datasets/fashion-mnist").join(name);
        if !path.exists() {
            println!("skipping: {} is absent", path.display());
            return None;
        }
        let (dims, bytes) = read_idx_gz(&path).unwrap();
        assert_eq!(&dims[1..], &[28, 28]);
        Some((dims[0], bytes.into_iter().map(|b| f32::from(b) / 255.0).collect()))
    }

    /// scikit-learn's PCA(64) fitted on the 60,000 training images (/255) reconstructs the
    /// 10,000 test images with an average squared error per image of 8.13 (PCA(32): 11.87).
    #[test]
    fn fashion_mnist_pca64_matches_sklearn() {
        let Some((n, train)) = fashion_images("train-images-idx3-ubyte.gz") else { return };
        let Some((m, test)) = fashion_images("t10k-images-idx3-ubyte.gz") else { return };
        assert_eq!((n, m), (60_000, 10_000));
        let started = std::time::Instant::now();
        let pca = Pca::fit(&train, n, 784, 64).unwrap();
        println!("PCA-64 fit on 60000×784: {:.3} s", started.elapsed().as_secs_f64());
        let mut xh = vec![0.0f32; test.len()];
        pca.reconstruct(&test, m, &mut xh).unwrap();
        let metrics = crate::metrics::reconstruction_metrics(&test, &xh, 784).unwrap();
        println!("PCA-64 test: {metrics:?}");
        assert!((metrics.sse_per_row - 8.13).abs() < 0.05, "{}", metrics.sse_per_row);
        // PCA-32 is PCA-64's first 32 components (sklearn: 11.87).
        let pca32 = Pca::from_parts(
            pca.mean().to_vec(),
            pca.components()[..32 * 784].to_vec(),
            pca.explained_variance()[..32].to_vec(),
            pca.total_variance(),
        )
        .unwrap();
        pca32.reconstruct(&test, m, &mut xh).unwrap();
        let metrics32 = crate::metrics::reconstruction_metrics(&test, &xh, 784).unwrap();
        println!("PCA-32 test: {metrics32:?}");
        assert!((metrics32.sse_per_row - 11.87).abs() < 0.05, "{}", metrics32.sse_per_row);
    }
}
