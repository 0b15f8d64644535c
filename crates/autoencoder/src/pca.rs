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
//!
//! Wider rows (a 64×64 RGB image is `d = 12,288`: a 1.2 GB covariance and an
//! eigendecomposition of hours) go through [`Pca::fit_randomized`], which never forms a
//! `d × d` matrix: randomised subspace iteration on the covariance (Halko, Martinsson &
//! Tropp, 2011, algorithms 4.3–4.4 and 5.1). With `l = k + p` directions (`p`, the
//! oversampling) it starts from a Gaussian `d × l` matrix, orthonormalised to `Q`, and
//! `q` times replaces `Q` by an orthonormal basis of `Σ Q = Xcᵀ(Xc Q)/(n − 1)` (one pass
//! over the data each, in the same fixed row blocks, never storing `Xc Q`); a last pass gives
//! the Rayleigh quotient `T = QᵀΣQ` (`l × l`), whose eigendecomposition `T = U Λ Uᵀ` gives
//! the components `(Q U)ᵀ` and their variances `Λ`. Time `O(n·d·l·(2q + 1))`, memory
//! `O(d·l)` per thread plus one block of rows — nothing grows with `d²` or with `n`.
//! [`Pca::fit_baseline`] chooses between the two by [`EXACT_MAX_DIM`], and skips a fit
//! that would pass [`BASELINE_MAX_WORK`] or [`BASELINE_MAX_BYTES`]
//! ([`Pca::baseline_plan`]).

use faer::linalg::matmul::matmul;

use crate::kernels::clear_upper_registers;
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

/// The widest rows [`Pca::fit_baseline`] fits exactly (the full covariance, 8 MiB per
/// thread at this width, and its eigendecomposition, about 10⁹·10 operations); wider
/// rows go through [`Pca::fit_randomized`]. MNIST's 784 values are fitted exactly.
pub const EXACT_MAX_DIM: usize = 1024;

/// The most multiply-adds [`Pca::fit_baseline`] spends on a randomised fit, about
/// 6.9·10¹⁰ (measured at 5·10⁹ a second on two cores: about 14 s; 2,000 64×64 RGB images
/// with a 32-value code take 1.6·10¹⁰, 4 s); a larger one is skipped with a note. (The
/// exact fit, at `d ≤` [`EXACT_MAX_DIM`], costs at most `n·d²/2 + 10·d³`.)
pub const BASELINE_MAX_WORK: u64 = 1 << 36;

/// The most bytes of working memory [`Pca::fit_baseline`] spends on a randomised fit
/// (256 MiB); a larger one is skipped with a note.
pub const BASELINE_MAX_BYTES: u64 = 256 << 20;

/// Values of one row block of the randomised fit: `2²⁰` (8 MiB of f64), between 16 and
/// 4,096 rows.
fn randomized_block_rows(d: usize) -> usize {
    ((1usize << 20) / d.max(1)).clamp(16, 4096)
}

/// The settings of [`Pca::fit_randomized`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Randomized {
    /// Directions beyond `k` in the subspace (`p`; the subspace has `l = k + p`, at most
    /// `d`). Default 10, as scikit-learn's `randomized_svd`.
    pub oversampling: usize,
    /// Passes of subspace iteration (`q`), each reading the data once. Default 7, as
    /// scikit-learn's `randomized_svd` for few components. Measured on MNIST (PCA-32 and
    /// PCA-64 of the 60,000 training images): the residual variance is within 6·10⁻⁵ and
    /// 2·10⁻⁴ of the exact one with 7 passes, 1.4·10⁻³ and 3·10⁻³ with 4, 2–3 % with 2.
    pub power_iterations: usize,
    /// The seed of the Gaussian start. Default 0.
    pub seed: u64,
}

impl Default for Randomized {
    fn default() -> Self {
        Randomized { oversampling: 10, power_iterations: 7, seed: 0 }
    }
}

/// How [`Pca::fit_baseline`] fits (or would fit) the components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The full covariance and its eigendecomposition ([`Pca::fit_with_threads`]).
    Exact,
    /// Randomised subspace iteration ([`Pca::fit_randomized`]) with these settings.
    Randomized(Randomized),
}

impl Method {
    /// How [`Pca::fit_baseline`] fits rows of `cols` values: exactly up to
    /// [`EXACT_MAX_DIM`], else randomised with the default settings.
    pub fn for_width(cols: usize) -> Method {
        if cols <= EXACT_MAX_DIM {
            Method::Exact
        } else {
            Method::Randomized(Randomized::default())
        }
    }

    /// Passes over the rows a fit by this method makes when they are read a part at a
    /// time: the mean's, then the covariance's (exact), or one per power iteration and
    /// one for the projected covariance (randomised).
    pub fn passes(&self) -> usize {
        match self {
            Method::Exact => 2,
            Method::Randomized(o) => 2 + o.power_iterations,
        }
    }
}

/// What a baseline fit will cost, decided from the sizes alone before anything is
/// allocated ([`Pca::baseline_plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaselinePlan {
    /// Rows (`n`).
    pub rows: usize,
    /// Values per row (`d`).
    pub cols: usize,
    /// Components (`k`).
    pub k: usize,
    /// The method.
    pub method: Method,
    /// Multiply-adds, approximately (saturating).
    pub work: u64,
    /// An upper bound on the working memory in bytes, besides the data and the result
    /// (saturating).
    pub bytes: u64,
}

impl BaselinePlan {
    /// Why [`Pca::fit_baseline`] skips this fit (a randomised fit above
    /// [`BASELINE_MAX_WORK`] or [`BASELINE_MAX_BYTES`]), one sentence; `None` when it fits.
    pub fn skip_reason(&self) -> Option<String> {
        let BaselinePlan { rows, cols, k, .. } = *self;
        if self.method == Method::Exact {
            None
        } else if self.work > BASELINE_MAX_WORK {
            Some(format!(
                "PCA-{k} on {rows} rows of {cols} values would take about {:.1e} multiply-adds, more than the {:.1e} allowed",
                self.work as f64, BASELINE_MAX_WORK as f64
            ))
        } else if self.bytes > BASELINE_MAX_BYTES {
            Some(format!(
                "PCA-{k} on rows of {cols} values would need {} MiB of memory, more than the {} MiB allowed",
                self.bytes.div_ceil(1 << 20),
                BASELINE_MAX_BYTES >> 20
            ))
        } else {
            None
        }
    }
}

/// The outcome of [`Pca::fit_baseline`].
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// Fitted, and how.
    Fitted {
        /// The fit.
        pca: Pca,
        /// How it was computed.
        method: Method,
    },
    /// Not fitted because it would pass a bound; the reason, one sentence for a note.
    Skipped(String),
}

/// The outcome of [`project`].
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    /// `rows × k` coordinates, row-major.
    Coordinates(Vec<f32>),
    /// Not fitted because it would pass a bound ([`Pca::fit_baseline`]); the reason.
    Skipped(String),
}

/// `rows × cols` data on its first `k` principal components (a scatter plot's axes),
/// fitted with the bounds of the baseline ([`Pca::fit_baseline`]: exact for narrow rows,
/// randomised for wide ones): each row's coordinates, or why the fit is skipped.
///
/// Errors as [`Pca::fit_with_threads`].
pub fn project(data: &[f32], rows: usize, cols: usize, k: usize, threads: usize) -> Result<Projection> {
    let pca = match Pca::fit_baseline(data, rows, cols, k, threads)? {
        Baseline::Fitted { pca, .. } => pca,
        Baseline::Skipped(why) => return Ok(Projection::Skipped(why)),
    };
    let mut out = vec![0.0f32; rows * pca.k()];
    pca.transform(data, rows, &mut out)?;
    Ok(Projection::Coordinates(out))
}

impl Pca {
    /// The PCA baseline beside an autoencoder: the exact fit when rows have at most
    /// [`EXACT_MAX_DIM`] values (so the numbers stay those of [`Pca::fit_with_threads`]),
    /// else the randomised one with its default settings, unless that would take more
    /// than [`BASELINE_MAX_WORK`] multiply-adds or [`BASELINE_MAX_BYTES`] of memory: then
    /// [`Baseline::Skipped`], with the reason, before anything is allocated.
    ///
    /// Errors as [`Pca::fit_with_threads`].
    pub fn fit_baseline(
        data: &[f32],
        rows: usize,
        cols: usize,
        k: usize,
        threads: usize,
    ) -> Result<Baseline> {
        check_input(data, rows, cols, k)?;
        let plan = Pca::baseline_plan(rows, cols, k, threads);
        if let Some(why) = plan.skip_reason() {
            return Ok(Baseline::Skipped(why));
        }
        let pca = match plan.method {
            Method::Exact => Pca::fit_with_threads(data, rows, cols, k, threads)?,
            Method::Randomized(o) => Pca::fit_randomized(data, rows, cols, k, threads, o)?,
        };
        Ok(Baseline::Fitted { pca, method: plan.method })
    }

    /// How [`Pca::fit_baseline`] fits `k` components of `rows × cols` data with `threads`
    /// threads (0: every core), and its cost: the method, the multiply-adds, and a bound
    /// on the working memory. The randomised method's memory is
    /// `8·(t·(b·d + b·l + d·l + l²) + 3·d·l + 2·l²) + 4·t·b·d` bytes for `t` threads,
    /// `l = k + p` and blocks of `b ≤ max(16, 2²⁰/d)` rows (the last term: rows waiting
    /// for their block): linear in `d`, independent of `n`, never `d²`.
    pub fn baseline_plan(rows: usize, cols: usize, k: usize, threads: usize) -> BaselinePlan {
        let (n, d) = (rows as u64, cols as u64);
        let mul = |a: u64, b: u64| a.saturating_mul(b);
        let Method::Randomized(o) = Method::for_width(cols) else {
            let t = resolve_threads(threads).clamp(1, rows.div_ceil(rows_per_block(cols)).max(1)) as u64;
            let work = mul(n, d * d / 2).saturating_add(10 * d * d * d);
            let block = rows_per_block(cols).min(rows.max(1)) as u64;
            // The f64 matrices and blocks, and at most one waiting f32 block per thread.
            let bytes = 8 * (mul(t + 3, d * d) + mul(t, block * d)) + 4 * mul(t, block * d);
            return BaselinePlan { rows, cols, k, method: Method::Exact, work, bytes };
        };
        let l = k.saturating_add(o.oversampling).min(cols) as u64;
        let q = o.power_iterations as u64;
        let work = mul(mul(n, d), mul(l, 2 * q + 1)).saturating_add(mul(mul(n, l), mul(l, q + 1)));
        let b = randomized_block_rows(cols).min(rows.max(1)) as u64;
        let t = resolve_threads(threads).clamp(1, rows.div_ceil(b as usize).max(1)) as u64;
        let per_thread =
            mul(b, d).saturating_add(mul(b, l)).saturating_add(mul(d, l)).saturating_add(mul(l, l));
        let shared = mul(3 * d, l).saturating_add(mul(2 * l, l));
        // And at most one waiting f32 block per thread.
        let bytes = mul(8, mul(t, per_thread).saturating_add(shared)).saturating_add(mul(4 * t, mul(b, d)));
        BaselinePlan { rows, cols, k, method: Method::Randomized(o), work, bytes }
    }

    /// Fits `k` components to `rows × cols` row-major `data` by randomised subspace
    /// iteration on the covariance (see the module's documentation), with `threads`
    /// threads (0: every core; the result does not depend on it: fixed row blocks summed
    /// in block order) and `options`. The components are orthonormal and sign-fixed as
    /// [`Pca::fit_with_threads`]'s; they and their variances approach the exact ones as the
    /// spectral gap `λ_k / λ_{l+1}` and `q` grow (error about `(λ_{l+1}/λ_k)^q` in the
    /// subspace). The total variance is exact.
    ///
    /// Errors as [`Pca::fit_with_threads`].
    pub fn fit_randomized(
        data: &[f32],
        rows: usize,
        cols: usize,
        k: usize,
        threads: usize,
        options: Randomized,
    ) -> Result<Pca> {
        Pca::fit_randomized_blocked(data, rows, cols, k, threads, options, randomized_block_rows(cols))
    }

    /// [`Pca::fit_randomized`] with an explicit block height: the passes of a streamed
    /// fit ([`MeanPass`], [`SubspaceIteration`]) over the rows whole, so that both give
    /// the same bits.
    fn fit_randomized_blocked(
        data: &[f32],
        rows: usize,
        cols: usize,
        k: usize,
        threads: usize,
        options: Randomized,
        block_rows: usize,
    ) -> Result<Pca> {
        check_input(data, rows, cols, k)?;
        let mut mean = MeanPass::new(cols);
        mean.add(data)?;
        let mut fit = mean.subspace_blocked(k, threads, options, block_rows)?;
        loop {
            fit.add(data)?;
            if !fit.next_pass()? {
                return fit.finish();
            }
        }
    }

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

    /// [`Pca::fit_with_threads`] with an explicit covariance block height: the two passes
    /// of a streamed fit ([`MeanPass`], [`CovariancePass`]) over the rows whole, so that
    /// both give the same bits.
    fn fit_blocked(
        data: &[f32],
        rows: usize,
        cols: usize,
        k: usize,
        threads: usize,
        block_rows: usize,
    ) -> Result<Pca> {
        check_input(data, rows, cols, k)?;
        let mut mean = MeanPass::new(cols);
        mean.add(data)?;
        let mut scatter = mean.covariance_blocked(threads, block_rows)?;
        scatter.add(data)?;
        scatter.finish(k)
    }

    /// The fit from the column mean of `rows` rows and their scatter matrix `C` (lower
    /// triangle): `Σ = C / (n − 1)` and its `k` leading eigenvectors, sign-fixed.
    fn from_scatter(mean: Vec<f64>, scatter: Mat<f64>, rows: usize, k: usize) -> Result<Pca> {
        let d = mean.len();
        let denom = rows.saturating_sub(1).max(1) as f64;
        let cov = Mat::<f64>::from_fn(d, d, |i, j| if i >= j { scatter[(i, j)] / denom } else { 0.0 });
        drop(scatter);
        let total_variance: f64 = (0..d).map(|i| cov[(i, i)]).sum();
        if !total_variance.is_finite() {
            return Err(Error::Data(
                "PCA: the covariance is not finite (the covariance pass was given rows other than the mean pass's)"
                    .into(),
            ));
        }
        let eig = cov.self_adjoint_eigen(Side::Lower).map_err(|e| {
            Error::Data(format!("PCA: the eigendecomposition of the covariance failed: {e:?}"))
        })?;
        clear_upper_registers();
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
            clear_upper_registers();
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
            clear_upper_registers();
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
        clear_upper_registers();
        write_rows_plus(xh.as_ref(), Some(&self.mean), out);
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

/// The buffer holds `rows × cols` values and `1 ≤ k ≤ min(rows, cols)`.
fn check_input(data: &[f32], rows: usize, cols: usize, k: usize) -> Result<()> {
    let expected = rows.checked_mul(cols).ok_or_else(|| {
        Error::Data(format!("PCA: {rows} rows × {cols} columns overflows the address space"))
    })?;
    if data.len() != expected {
        return Err(Error::Data(format!(
            "PCA: the buffer holds {} values, expected {rows} rows × {cols} columns = {expected}",
            data.len()
        )));
    }
    check_k(k, rows, cols)
}

/// `threads`, with 0 meaning every core.
fn resolve_threads(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        t => t,
    }
}

/// The passes of a randomised fit ([`Pca::fit_randomized`]) over rows given a part at a
/// time, after their [`MeanPass`] ([`MeanPass::subspace`] makes it): `q` passes (the
/// power iterations) that each replace the `d × l` basis `Q` by an orthonormal basis of
/// `Z = Σ_b X_bᵀ(X_b Q)` (`= (n − 1) Σ Q`), then one more for `T = Σ_b (X_b Q)ᵀ(X_b Q)`
/// (`= (n − 1) QᵀΣQ`) and the sum of squares `Σ_b ‖X_b‖²`, whose eigendecomposition
/// [`finish`](Self::finish) turns into the fit. Call [`add`](Self::add) with every row
/// of the mean pass, in the same order, then [`next_pass`](Self::next_pass), until it
/// says that no pass follows.
///
/// Each pass sums over the fit's fixed blocks `X_b` of centred rows in block order
/// (threads compute blocks concurrently), so any split of the rows into parts, and any
/// thread count, gives the bits of [`Pca::fit_randomized`] on the rows whole. Nothing of
/// size `n` is kept: memory is [`Pca::baseline_plan`]'s bound and at most one block per
/// thread of waiting rows (f32).
pub struct SubspaceIteration {
    mean: Vec<f64>,
    k: usize,
    power_iterations: usize,
    /// Passes ended.
    done: usize,
    q: Mat<f64>,
    blocks: Blocks,
    sums: SubspaceSums,
}

/// What one pass of a [`SubspaceIteration`] sums, and its threads' scratch.
struct SubspaceSums {
    workers: Vec<SubspaceWorker>,
    z: Mat<f64>,
    t: Mat<f64>,
    sum_squares: f64,
}

/// Scratch of one thread of a [`SubspaceIteration`].
struct SubspaceWorker {
    block: Vec<f64>,
    y: Mat<f64>,
    z: Mat<f64>,
    t: Mat<f64>,
    sum_squares: f64,
}

impl SubspaceIteration {
    /// Passes over the rows this fit makes after the mean pass (`q + 1`).
    pub fn passes(&self) -> usize {
        self.power_iterations + 1
    }

    /// Adds the next rows of the current pass (a whole number of rows, at most as many
    /// in all as the mean pass had).
    pub fn add(&mut self, part: &[f32]) -> Result<()> {
        let with_z = self.done < self.power_iterations;
        let (sums, mean, q) = (&mut self.sums, &self.mean[..], self.q.as_ref());
        self.blocks.add(part, "subspace", |wave| sums.wave(wave, mean, q, with_z))
    }

    /// Ends the current pass, once it has been given every row of the mean pass: `true`
    /// when another pass over the rows follows, `false` after the last one
    /// ([`finish`](Self::finish) then gives the fit).
    pub fn next_pass(&mut self) -> Result<bool> {
        let with_z = self.done < self.power_iterations;
        let (sums, mean, q) = (&mut self.sums, &self.mean[..], self.q.as_ref());
        self.blocks.end("subspace", |wave| sums.wave(wave, mean, q, with_z))?;
        if !self.sums.sum_squares.is_finite() {
            return Err(Error::Data(
                "PCA: the projected covariance is not finite (a pass was given rows other than the mean pass's)"
                    .into(),
            ));
        }
        self.done += 1;
        if !with_z {
            return Ok(false);
        }
        self.q = self.sums.z.qr().compute_thin_Q();
        clear_upper_registers();
        self.sums.z.fill(0.0);
        self.sums.t.fill(0.0);
        self.sums.sum_squares = 0.0;
        Ok(true)
    }

    /// The fit of the `k` components, after the last pass.
    pub fn finish(self) -> Result<Pca> {
        if self.done != self.passes() {
            return Err(Error::Data(format!(
                "PCA: the randomised fit has made {} of its {} passes",
                self.done,
                self.passes()
            )));
        }
        let (d, k, rows) = (self.mean.len(), self.k, self.blocks.rows);
        let l = self.q.ncols();
        let denom = rows.saturating_sub(1).max(1) as f64;
        let total_variance = self.sums.sum_squares / denom;
        let eig = self.sums.t.self_adjoint_eigen(Side::Lower).map_err(|e| {
            Error::Data(format!("PCA: the eigendecomposition of the projected covariance failed: {e:?}"))
        })?;
        drop(self.sums);
        let mut axes = Mat::<f64>::zeros(d, l);
        matmul(axes.as_mut(), Accum::Replace, self.q.as_ref(), eig.U(), 1.0, Par::Seq);
        clear_upper_registers();
        let s = eig.S().column_vector();
        let mut components = vec![0.0f64; k * d];
        let mut explained_variance = Vec::with_capacity(k);
        for c in 0..k {
            let col = l - 1 - c;
            explained_variance.push((s[col] / denom).max(0.0));
            let row = &mut components[c * d..(c + 1) * d];
            for (j, r) in row.iter_mut().enumerate() {
                *r = axes[(j, col)];
            }
            flip_sign(row);
        }
        Ok(Pca { mean: self.mean, components, explained_variance, total_variance, k, d })
    }
}

impl SubspaceSums {
    /// Adds one wave of blocks (one a thread), computed concurrently, in block order.
    fn wave(&mut self, wave: &[&[f32]], mean: &[f64], q: MatRef<'_, f64>, with_z: bool) {
        in_parallel(&mut self.workers, wave, |w, b| w.run(b, mean, q, with_z));
        for w in self.workers.iter().take(wave.len()) {
            if with_z {
                add_into(self.z.as_mut(), w.z.as_ref());
            }
            add_into(self.t.as_mut(), w.t.as_ref());
            self.sum_squares += w.sum_squares;
        }
    }
}

impl SubspaceWorker {
    /// `Y_b = X_b Q`, `T_b = Y_bᵀY_b`, `‖X_b‖²` and (`with_z`) `Z_b = X_bᵀY_b` for the
    /// centred rows `rows` of one block.
    fn run(&mut self, rows: &[f32], mean: &[f64], q: MatRef<'_, f64>, with_z: bool) {
        let d = mean.len();
        let n = rows.len() / d;
        let buf = &mut self.block[..n * d];
        center_rows(rows, mean, buf);
        self.sum_squares = buf.iter().map(|v| v * v).sum();
        let xb = MatRef::from_row_major_slice(buf, n, d);
        let mut yb = self.y.as_mut().subrows_mut(0, n);
        matmul(yb.as_mut(), Accum::Replace, xb, q, 1.0, Par::Seq);
        matmul(self.t.as_mut(), Accum::Replace, yb.as_ref().transpose(), yb.as_ref(), 1.0, Par::Seq);
        clear_upper_registers();
        if with_z {
            matmul(self.z.as_mut(), Accum::Replace, xb.transpose(), yb.as_ref(), 1.0, Par::Seq);
            clear_upper_registers();
        }
    }
}

/// `total += part`, element by element (column by column).
fn add_into(mut total: MatMut<'_, f64>, part: MatRef<'_, f64>) {
    for j in 0..total.ncols() {
        for i in 0..total.nrows() {
            total[(i, j)] += part[(i, j)];
        }
    }
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
    write_rows_plus(m, None, out);
}

/// `out[r·w + j] = m[(r, j)] + add[j]` (`add` absent: `+ 0`, not computed) as f32, for a
/// `b × w` matrix `m`, row-major `out`. A column-major `m` is read in tiles of 32
/// columns, so that reads and writes go a cache line at a time (row by row, a 784-wide
/// block read one value per cache line: 13 % of a training run with the PCA line).
fn write_rows_plus(m: MatRef<'_, f64>, add: Option<&[f64]>, out: &mut [f32]) {
    const TILE: usize = 32;
    let (b, w) = (m.nrows(), m.ncols());
    let columns: Option<Vec<&[f64]>> =
        (0..w).map(|j| m.col(j).try_as_col_major().map(|c| c.as_slice())).collect();
    let Some(columns) = columns else {
        for (r, row) in out.chunks_exact_mut(w).enumerate() {
            for (j, o) in row.iter_mut().enumerate() {
                *o = add.map_or(m[(r, j)], |a| m[(r, j)] + a[j]) as f32;
            }
        }
        return;
    };
    for j0 in (0..w).step_by(TILE) {
        let j1 = (j0 + TILE).min(w);
        let tile = &columns[j0..j1];
        for (r, row) in out.chunks_exact_mut(w).take(b).enumerate() {
            let dst = &mut row[j0..j1];
            match add {
                Some(a) => {
                    for ((o, c), &m) in dst.iter_mut().zip(tile).zip(&a[j0..j1]) {
                        *o = (c[r] + m) as f32;
                    }
                }
                None => {
                    for (o, c) in dst.iter_mut().zip(tile) {
                        *o = c[r] as f32;
                    }
                }
            }
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

/// The first pass of an exact fit over rows given a part at a time ([`Pca::fit`] makes
/// it over the rows whole): the column mean `μ = Σᵢ xᵢ / n`, summed in f64 row by row in
/// order, so any split of the rows gives the same bits. Rejects non-finite values.
#[derive(Debug, Clone)]
pub struct MeanPass {
    sum: Vec<f64>,
    rows: usize,
}

impl MeanPass {
    /// A pass over rows of `cols` values.
    pub fn new(cols: usize) -> MeanPass {
        MeanPass { sum: vec![0.0; cols], rows: 0 }
    }

    /// Adds the next rows (`part`, row-major: a whole number of rows).
    pub fn add(&mut self, part: &[f32]) -> Result<()> {
        let d = self.sum.len();
        check_rows(part, d)?;
        for row in part.chunks_exact(d) {
            for (j, (s, &v)) in self.sum.iter_mut().zip(row).enumerate() {
                if !v.is_finite() {
                    return Err(Error::Data(format!(
                        "PCA: row {}, column {j} is {v}; PCA needs finite values",
                        self.rows
                    )));
                }
                *s += f64::from(v);
            }
            self.rows += 1;
        }
        Ok(())
    }

    /// Rows added.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The mean, and the second pass over the same rows with `threads` threads (0: every
    /// core; the result does not depend on it). Errors when no row was added.
    pub fn covariance(self, threads: usize) -> Result<CovariancePass> {
        let block_rows = rows_per_block(self.sum.len());
        self.covariance_blocked(threads, block_rows)
    }

    fn covariance_blocked(self, threads: usize, block_rows: usize) -> Result<CovariancePass> {
        let (mean, blocks) = self.into_blocks(threads, block_rows)?;
        let d = mean.len();
        let workers = (0..blocks.wave)
            .map(|_| Worker { block: vec![0.0; blocks.block_rows * d], partial: Mat::zeros(d, d) })
            .collect();
        Ok(CovariancePass { mean, blocks, workers, total: Mat::zeros(d, d) })
    }

    /// The mean, and the passes of a randomised fit of `k` components
    /// (`1 ≤ k ≤ min(rows, cols)`) over the same rows, with `threads` threads (0: every
    /// core; the result does not depend on it) and `options`: the fit
    /// [`Pca::fit_randomized`] makes of the rows whole. Errors when no row was added.
    pub fn subspace(self, k: usize, threads: usize, options: Randomized) -> Result<SubspaceIteration> {
        let block_rows = randomized_block_rows(self.sum.len());
        self.subspace_blocked(k, threads, options, block_rows)
    }

    fn subspace_blocked(
        self,
        k: usize,
        threads: usize,
        options: Randomized,
        block_rows: usize,
    ) -> Result<SubspaceIteration> {
        check_k(k, self.rows, self.sum.len())?;
        let (mean, blocks) = self.into_blocks(threads, block_rows)?;
        let d = mean.len();
        let l = k.saturating_add(options.oversampling).min(d);
        let mut rng = crate::random::rng(options.seed, crate::random::Stream::Sample);
        let start = Mat::<f64>::from_fn(d, l, |_, _| crate::random::normal(&mut rng));
        let q = start.qr().compute_thin_Q();
        clear_upper_registers();
        drop(start);
        let workers = (0..blocks.wave)
            .map(|_| SubspaceWorker {
                block: vec![0.0; blocks.block_rows * d],
                y: Mat::zeros(blocks.block_rows, l),
                z: Mat::zeros(d, l),
                t: Mat::zeros(l, l),
                sum_squares: 0.0,
            })
            .collect();
        let sums = SubspaceSums { workers, z: Mat::zeros(d, l), t: Mat::zeros(l, l), sum_squares: 0.0 };
        Ok(SubspaceIteration {
            mean,
            k,
            power_iterations: options.power_iterations,
            done: 0,
            q,
            blocks,
            sums,
        })
    }

    /// The column mean, and the blocks of `block_rows` rows (at most the rows) that the
    /// next passes cut the same rows into, in waves of one block a thread.
    fn into_blocks(self, threads: usize, block_rows: usize) -> Result<(Vec<f64>, Blocks)> {
        let (d, rows) = (self.sum.len(), self.rows);
        if rows == 0 || d == 0 {
            return Err(Error::Data(format!("PCA needs at least one row and one column, got {rows} × {d}")));
        }
        let n = rows as f64;
        let mean: Vec<f64> = self.sum.into_iter().map(|s| s / n).collect();
        let block_rows = block_rows.clamp(1, rows);
        let wave = resolve_threads(threads).clamp(1, rows.div_ceil(block_rows));
        Ok((mean, Blocks { d, block_rows, wave, rows, seen: 0, pending: Vec::new() }))
    }
}

/// Rows given a part at a time, cut into the fixed blocks of `block_rows` rows that the
/// rows whole make, and handed on in waves of up to `wave` blocks (one a thread), in
/// block order: whatever the parts, the same blocks in the same order. Rows that do not
/// close a wave wait (f32, at most one wave). One pass after another, each over the
/// `rows` rows of the mean pass.
struct Blocks {
    d: usize,
    block_rows: usize,
    wave: usize,
    rows: usize,
    /// Rows given in this pass.
    seen: usize,
    pending: Vec<f32>,
}

impl Blocks {
    /// Adds the next rows of the `pass` pass, handing each wave they close to `run`.
    fn add(&mut self, part: &[f32], pass: &str, mut run: impl FnMut(&[&[f32]])) -> Result<()> {
        check_rows(part, self.d)?;
        let n = part.len() / self.d;
        if self.seen + n > self.rows {
            return Err(Error::Data(format!(
                "PCA: the {pass} pass was given more rows than the mean pass's {}",
                self.rows
            )));
        }
        self.seen += n;
        let block = self.block_rows * self.d;
        let wave = self.wave * block;
        let mut part = part;
        while !part.is_empty() {
            if self.pending.is_empty() && part.len() >= block {
                // Whole blocks straight from the part; the rest waits.
                let whole = part.len() / block * block;
                self.waves(&part[..whole], &mut run);
                part = &part[whole..];
                continue;
            }
            let take = (wave - self.pending.len()).min(part.len());
            self.pending.extend_from_slice(&part[..take]);
            part = &part[take..];
            if self.pending.len() == wave {
                self.flush(&mut run);
            }
        }
        Ok(())
    }

    /// Ends the `pass` pass, once it has been given every row, handing the waiting rows
    /// to `run`; the next pass starts from the first row.
    fn end(&mut self, pass: &str, mut run: impl FnMut(&[&[f32]])) -> Result<()> {
        if self.seen != self.rows {
            return Err(Error::Data(format!(
                "PCA: the {pass} pass was given {} rows, the mean pass {}",
                self.seen, self.rows
            )));
        }
        self.flush(&mut run);
        self.seen = 0;
        Ok(())
    }

    /// Hands the waiting rows on; the buffer is kept for the next rows.
    fn flush(&mut self, run: &mut impl FnMut(&[&[f32]])) {
        let pending = std::mem::take(&mut self.pending);
        self.waves(&pending, run);
        self.pending = pending;
        self.pending.clear();
    }

    /// The blocks of `data` (whole blocks but the last), a wave at a time.
    fn waves(&self, data: &[f32], run: &mut impl FnMut(&[&[f32]])) {
        let blocks: Vec<&[f32]> = data.chunks(self.block_rows * self.d).collect();
        for wave in blocks.chunks(self.wave) {
            run(wave);
        }
    }
}

/// `run(worker, block)` for each block of `wave` with a worker of its own, concurrently
/// (on this thread when there is one block).
fn in_parallel<W: Send>(workers: &mut [W], wave: &[&[f32]], run: impl Fn(&mut W, &[f32]) + Sync) {
    if let ([b], [w, ..]) = (wave, &mut workers[..]) {
        run(w, b);
    } else {
        let run = &run;
        std::thread::scope(|s| {
            for (w, &b) in workers.iter_mut().zip(wave) {
                s.spawn(move || run(w, b));
            }
        });
    }
}

/// The second pass of an exact fit ([`MeanPass::covariance`]), over the same rows in the
/// same order, given a part at a time: the scatter matrix `C = Σ_b X_bᵀX_b` of the
/// centred rows (lower triangle), over fixed blocks `X_b` of about 2²² values (64 to 8,192 rows)
/// summed in block order, whatever the parts and the threads (threads compute blocks
/// concurrently); then [`finish`](Self::finish) gives the fit. Rows that do not close a
/// block wait in a buffer of at most one block per thread (f32), so memory stays
/// `O(t·(d² + block·d))` however many rows there are.
pub struct CovariancePass {
    mean: Vec<f64>,
    blocks: Blocks,
    workers: Vec<Worker>,
    total: Mat<f64>,
}

impl CovariancePass {
    /// The column mean of the first pass.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Adds the next rows (a whole number of rows, at most as many in all as the mean
    /// pass had).
    pub fn add(&mut self, part: &[f32]) -> Result<()> {
        let (workers, total, mean) = (&mut self.workers, &mut self.total, &self.mean[..]);
        self.blocks.add(part, "covariance", |wave| Worker::wave(workers, total, wave, mean))
    }

    /// The fit of `k` components (`1 ≤ k ≤ min(rows, cols)`), once every row of the mean
    /// pass has been added again.
    pub fn finish(mut self, k: usize) -> Result<Pca> {
        let (workers, total, mean) = (&mut self.workers, &mut self.total, &self.mean[..]);
        self.blocks.end("covariance", |wave| Worker::wave(workers, total, wave, mean))?;
        check_k(k, self.blocks.rows, self.mean.len())?;
        Pca::from_scatter(self.mean, self.total, self.blocks.rows, k)
    }
}

/// `1 ≤ k ≤ min(rows, cols)`.
fn check_k(k: usize, rows: usize, cols: usize) -> Result<()> {
    if k == 0 || k > rows.min(cols) {
        return Err(Error::config(
            "code size",
            format!(
                "PCA needs 1 ≤ k ≤ min(rows, columns) = min({rows}, {cols}) = {}, got {k}",
                rows.min(cols)
            ),
        ));
    }
    Ok(())
}

/// `part` holds a whole number of rows of `d` values.
fn check_rows(part: &[f32], d: usize) -> Result<()> {
    if d == 0 || !part.len().is_multiple_of(d) {
        return Err(Error::Data(format!("PCA: {} values are not a whole number of rows of {d}", part.len())));
    }
    Ok(())
}

/// Scratch of one worker: a centred block and its partial scatter matrix.
struct Worker {
    block: Vec<f64>,
    partial: Mat<f64>,
}

impl Worker {
    /// One wave of blocks (one a worker), computed concurrently, added to `total` in
    /// block order.
    fn wave(workers: &mut [Worker], total: &mut Mat<f64>, wave: &[&[f32]], mean: &[f64]) {
        in_parallel(workers, wave, |w, b| w.run(b, mean));
        let d = mean.len();
        for w in workers.iter().take(wave.len()) {
            for j in 0..d {
                for i in j..d {
                    total[(i, j)] += w.partial[(i, j)];
                }
            }
        }
    }

    /// `partial = X_bᵀX_b` (lower triangle) for the centred rows `rows` of one block.
    fn run(&mut self, rows: &[f32], mean: &[f64]) {
        let d = mean.len();
        let n = rows.len() / d;
        let buf = &mut self.block[..n * d];
        center_rows(rows, mean, buf);
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
        clear_upper_registers();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_gives_the_fitted_coordinates() {
        let (n, d) = (50, 5);
        let x: Vec<f32> = (0..n * d).map(|i| ((i * 37 % 101) as f32) / 101.0).collect();
        let Projection::Coordinates(p) = project(&x, n, d, 2, 1).unwrap() else { panic!("skipped") };
        let mut want = vec![0.0; n * 2];
        Pca::fit_with_threads(&x, n, d, 2, 1).unwrap().transform(&x, n, &mut want).unwrap();
        assert_eq!(p, want);
        assert!(project(&x, n, d, 0, 1).is_err());
    }
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
    fn any_split_of_the_passes_gives_the_fit_of_the_rows_whole() {
        let (n, d, block) = (103, 9, 10);
        let x = planted(n, d, 4, 0.1, 5);
        let whole = Pca::fit_blocked(&x, n, d, 4, 1, block).unwrap();
        // Splits inside and across blocks, part sizes above a wave, single rows.
        for (threads, cuts) in
            [(1, vec![1, 2, 57]), (2, vec![9, 10, 11, 45]), (3, vec![31, 62, 93]), (2, vec![])]
        {
            let parts = |x: &[f32]| {
                let mut bounds = vec![0];
                bounds.extend(&cuts);
                bounds.push(n);
                bounds.windows(2).map(|w| x[w[0] * d..w[1] * d].to_vec()).collect::<Vec<_>>()
            };
            let mut mean = MeanPass::new(d);
            for p in parts(&x) {
                mean.add(&p).unwrap();
            }
            let mut cov = mean.covariance_blocked(threads, block).unwrap();
            for p in parts(&x) {
                cov.add(&p).unwrap();
            }
            assert_eq!(cov.finish(4).unwrap(), whole, "threads {threads}, cuts {cuts:?}");
        }
        // The public block size, through the public passes.
        let mut mean = MeanPass::new(d);
        mean.add(&x).unwrap();
        let mut cov = mean.covariance(2).unwrap();
        cov.add(&x[..50 * d]).unwrap();
        cov.add(&x[50 * d..]).unwrap();
        assert_eq!(cov.finish(4).unwrap(), Pca::fit_with_threads(&x, n, d, 4, 1).unwrap());

        // Passes over different rows are refused.
        let pass = || {
            let mut mean = MeanPass::new(d);
            mean.add(&x[..20 * d]).unwrap();
            mean.covariance(1).unwrap()
        };
        let mut more = pass();
        let e = more.add(&x[..21 * d]).unwrap_err().to_string();
        assert!(e.contains("more rows than the mean pass's 20"), "{e}");
        let mut fewer = pass();
        fewer.add(&x[..19 * d]).unwrap();
        let e = fewer.finish(2).unwrap_err().to_string();
        assert!(e.contains("given 19 rows, the mean pass 20"), "{e}");
        let mut nan = pass();
        let mut y = x[..20 * d].to_vec();
        y[7] = f32::NAN;
        nan.add(&y).unwrap();
        let e = nan.finish(2).unwrap_err().to_string();
        assert!(e.contains("not finite"), "{e}");
        assert!(pass().finish(21).is_err());
        let mut mean = MeanPass::new(d);
        assert!(mean.add(&x[..d + 1]).is_err());
        mean.add(&x[..d]).unwrap();
        let e = mean.add(&y[..d]).unwrap_err().to_string();
        assert!(e.contains("row 1, column 7 is NaN"), "{e}");
        assert!(MeanPass::new(d).covariance(1).is_err());
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

    /// Relative difference.
    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(1e-300)
    }

    /// The squared reconstruction error per row of `pca` on `x`.
    fn sse(pca: &Pca, x: &[f32], n: usize, d: usize) -> f64 {
        let mut xh = vec![0.0f32; n * d];
        pca.reconstruct(x, n, &mut xh).unwrap();
        crate::metrics::reconstruction_metrics(x, &xh, d).unwrap().sse_per_row
    }

    /// With a clear spectral gap (five planted factors over noise), the randomised fit
    /// gives the exact one's variances, total variance, components (up to 1e-6) and
    /// reconstruction error to 1e-4 relative, whatever the thread count and the blocks.
    #[test]
    fn randomized_matches_exact_with_a_spectral_gap() {
        let (n, d, k) = (400, 60, 5);
        let x = planted(n, d, k, 0.2, 7);
        let exact = Pca::fit(&x, n, d, k).unwrap();
        let o = Randomized::default();
        let fast = Pca::fit_randomized(&x, n, d, k, 1, o).unwrap();
        for (a, b) in fast.explained_variance().iter().zip(exact.explained_variance()) {
            assert!(rel(*a, *b) < 1e-4, "{a} vs {b}");
        }
        assert!(rel(fast.total_variance(), exact.total_variance()) < 1e-12);
        for (a, b) in fast.components().iter().zip(exact.components()) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        let (e, f) = (sse(&exact, &x, n, d), sse(&fast, &x, n, d));
        assert!(rel(f, e) < 1e-4, "{f} vs {e}");
        assert!(e > 0.01, "the noise leaves an error to compare: {e}");
        // Fixed blocks summed in order: the thread count changes nothing.
        let one = Pca::fit_randomized_blocked(&x, n, d, k, 1, o, 37).unwrap();
        let three = Pca::fit_randomized_blocked(&x, n, d, k, 3, o, 37).unwrap();
        assert_eq!(one, three);
        for (a, b) in one.explained_variance().iter().zip(exact.explained_variance()) {
            assert!(rel(*a, *b) < 1e-4, "{a} vs {b}");
        }
        // k = d (l capped at d) is the exact subspace.
        let all = Pca::fit_randomized(&x, n, d, d, 1, o).unwrap();
        assert!(rel(all.explained_variance().iter().sum(), exact.total_variance()) < 1e-9);
    }

    /// The randomised fit's passes over rows given a part at a time give the bits of the
    /// fit of the rows whole (any parts, any threads), and refuse passes over other rows.
    #[test]
    fn any_split_of_the_randomised_passes_gives_the_fit_of_the_rows_whole() {
        let (n, d, k, block) = (103, 9, 3, 10);
        let x = planted(n, d, 4, 0.1, 5);
        let o = Randomized { oversampling: 2, power_iterations: 3, seed: 9 };
        let whole = Pca::fit_randomized_blocked(&x, n, d, k, 1, o, block).unwrap();
        let parts_of = |cuts: &[usize]| {
            let mut bounds = vec![0];
            bounds.extend(cuts);
            bounds.push(n);
            bounds.windows(2).map(|w| x[w[0] * d..w[1] * d].to_vec()).collect::<Vec<_>>()
        };
        for (threads, cuts) in
            [(1, vec![1, 2, 57]), (2, vec![9, 10, 11, 45]), (3, vec![31, 62, 93]), (2, vec![])]
        {
            let parts = parts_of(&cuts);
            let mut mean = MeanPass::new(d);
            parts.iter().try_for_each(|p| mean.add(p)).unwrap();
            let mut fit = mean.subspace_blocked(k, threads, o, block).unwrap();
            assert_eq!(fit.passes(), 4);
            let mut passes = 0;
            loop {
                parts.iter().try_for_each(|p| fit.add(p)).unwrap();
                passes += 1;
                if !fit.next_pass().unwrap() {
                    break;
                }
            }
            assert_eq!(passes, 4);
            assert_eq!(fit.finish().unwrap(), whole, "threads {threads}, cuts {cuts:?}");
        }
        // The public block size and settings, through the public passes.
        let mut mean = MeanPass::new(d);
        mean.add(&x).unwrap();
        let mut fit = mean.subspace(k, 2, Randomized::default()).unwrap();
        loop {
            fit.add(&x[..50 * d]).unwrap();
            fit.add(&x[50 * d..]).unwrap();
            if !fit.next_pass().unwrap() {
                break;
            }
        }
        assert_eq!(
            fit.finish().unwrap(),
            Pca::fit_randomized(&x, n, d, k, 1, Randomized::default()).unwrap()
        );

        // Passes over other rows, too few passes and a bad k are refused.
        let pass = || {
            let mut mean = MeanPass::new(d);
            mean.add(&x[..20 * d]).unwrap();
            mean.subspace(2, 1, o).unwrap()
        };
        let e = pass().add(&x[..21 * d]).unwrap_err().to_string();
        assert!(e.contains("subspace pass was given more rows than the mean pass's 20"), "{e}");
        let mut fewer = pass();
        fewer.add(&x[..19 * d]).unwrap();
        let e = fewer.next_pass().unwrap_err().to_string();
        assert!(e.contains("given 19 rows, the mean pass 20"), "{e}");
        let mut nan = pass();
        let mut y = x[..20 * d].to_vec();
        y[7] = f32::NAN;
        nan.add(&y).unwrap();
        let e = nan.next_pass().unwrap_err().to_string();
        assert!(e.contains("not finite"), "{e}");
        let mut early = pass();
        early.add(&x[..20 * d]).unwrap();
        assert!(early.next_pass().unwrap());
        let e = early.finish().unwrap_err().to_string();
        assert!(e.contains("made 1 of its 4 passes"), "{e}");
        let mut mean = MeanPass::new(d);
        mean.add(&x[..20 * d]).unwrap();
        assert!(matches!(mean.clone().subspace(21, 1, o), Err(Error::Config { .. })));
        assert!(matches!(mean.subspace(0, 1, o), Err(Error::Config { .. })));
        assert!(MeanPass::new(d).subspace(1, 1, o).is_err());
    }

    /// The baseline is exact up to `EXACT_MAX_DIM` (MNIST's 784 values give the numbers of
    /// `fit_with_threads`), randomised above it with a working set linear in `d` and free
    /// of `n` (never `d²`), and skipped, before any allocation, above the work bound.
    #[test]
    fn the_baseline_chooses_its_method_from_the_sizes() {
        let p = Pca::baseline_plan(60_000, 784, 32, 2);
        assert_eq!(p.method, Method::Exact);
        assert!(p.skip_reason().is_none());
        let (n, d, k) = (20, 5000, 4);
        let p = Pca::baseline_plan(n, d, k, 1);
        let l = (k + Randomized::default().oversampling) as u64;
        assert!(matches!(p.method, Method::Randomized(_)), "{p:?}");
        // One block of all 20 rows (and its f32 rows waiting for it), Q, Z, the start and
        // their l×l companions: linear in d, under 2 % of the 200 MB a d×d covariance takes.
        let (n64, d64) = (n as u64, d as u64);
        assert!(p.bytes <= 8 * (n64 * d64 + n64 * l + 4 * d64 * l + 3 * l * l) + 4 * n64 * d64, "{p:?}");
        assert!(p.bytes < 8 * d64 * d64 / 50, "{p:?}");
        // Many rows: the block stays at 2^20 values, so memory does not grow with n.
        let big = Pca::baseline_plan(10_000_000, d, k, 1);
        assert!(big.bytes <= 8 * ((1 << 20) + 4096 * l + 4 * d64 * l + 3 * l * l) + 4 * (1 << 20), "{big:?}");
        let x = planted(n, d, 3, 0.01, 4);
        match Pca::fit_baseline(&x, n, d, k, 1).unwrap() {
            Baseline::Fitted { pca, method } => {
                assert!(matches!(method, Method::Randomized(_)));
                assert_eq!((pca.k(), pca.dim()), (k, d));
            }
            Baseline::Skipped(why) => panic!("{why}"),
        }
        // 64×64 RGB images, code 32: randomised within the bounds up to ~18,000 rows.
        let rgb = Pca::baseline_plan(2_000, 12_288, 32, 2);
        assert!(rgb.skip_reason().is_none(), "{rgb:?}");
        let many = Pca::baseline_plan(200_000, 12_288, 32, 2);
        let why = many.skip_reason().unwrap();
        assert!(why.contains("PCA-32") && why.contains("multiply-adds") && why.len() < 200, "{why}");
        let (n, d, k) = (1500, 3000, 1500);
        let x = vec![0.5f32; n * d];
        assert!(matches!(Pca::fit_baseline(&x, n, d, k, 1).unwrap(), Baseline::Skipped(_)));
        let wide = Pca::baseline_plan(100, 1 << 20, 4, 1);
        assert!(wide.skip_reason().unwrap().contains("MiB"), "{wide:?}");
        // Bad input is an error before any choice.
        assert!(Pca::fit_baseline(&x, n, d, 0, 1).is_err());
        assert!(Pca::fit_baseline(&x[1..], n, d, 4, 1).is_err());
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
