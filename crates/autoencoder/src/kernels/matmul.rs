//! The matrix product every layer uses: `C ← A·B` or `C ← C + A·B`, with either
//! operand read transposed through strides (no transposed copies), over faer's
//! matrix multiply (its AVX-512/AVX2 kernels, `gemm` below them for other shapes).
//!
//! Why faer's entry point rather than the `gemm` crate's directly: `gemm::gemm`
//! allocates its packing buffers on every call (two allocations per product, eight
//! per training step of the classic model), while faer packs into a thread-local
//! buffer, so a training step allocates nothing; and faer's kernels were faster at
//! our shapes (deep model, one thread: 1.75 s against 1.96 s per epoch; two threads:
//! 1.12 s against 1.36 s; measured in one session on the 2-core machine).

use super::Threads;

/// Whether an operand is read as stored or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transpose {
    /// Use the stored row-major matrix as is.
    No,
    /// Read the stored row-major matrix as its transpose.
    Yes,
}

/// `C[m×n] = A[m×k]·B[k×n]` (or `C += A·B` when `accumulate`), all row-major.
///
/// With `ta = Yes`, `a` holds the `k×m` matrix and `A` is its transpose; with
/// `tb = Yes`, `b` holds `n×k` and `B` is its transpose. So a dense layer's forward
/// pass `Y = X·Wᵀ` is `matmul(y, x, No, w, Yes, ..)` with `W` stored `out×in`.
///
/// For a fixed thread count the result is bit-for-bit reproducible: the work is split
/// over blocks of `C`, never over the sum along `k` (tested through training).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    c: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    ta: Transpose,
    b: &[f32],
    tb: Transpose,
    accumulate: bool,
    threads: &Threads,
) {
    assert!(c.len() >= m * n, "matmul: C holds {} values, needs {m}×{n}", c.len());
    assert!(a.len() >= m * k, "matmul: A holds {} values, needs {m}×{k}", a.len());
    assert!(b.len() >= k * n, "matmul: B holds {} values, needs {k}×{n}", b.len());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    // Row and column strides of each operand as it is read.
    let (a_rs, a_cs) = match ta {
        Transpose::No => (k as isize, 1),
        Transpose::Yes => (1, m as isize),
    };
    let (b_rs, b_cs) = match tb {
        Transpose::No => (n as isize, 1),
        Transpose::Yes => (1, k as isize),
    };
    // SAFETY: the assertions above guarantee every index formed from these dimensions
    // and strides lies inside the three slices, and `c` is borrowed mutably so it
    // cannot alias `a` or `b`.
    let (a, b, c) = unsafe {
        (
            faer::MatRef::<f32>::from_raw_parts(a.as_ptr(), m, k, a_rs, a_cs),
            faer::MatRef::<f32>::from_raw_parts(b.as_ptr(), k, n, b_rs, b_cs),
            faer::MatMut::<f32>::from_raw_parts_mut(c.as_mut_ptr(), m, n, n as isize, 1),
        )
    };
    let accum = if accumulate { faer::Accum::Add } else { faer::Accum::Replace };
    faer::linalg::matmul::matmul(c, accum, a, b, 1.0f32, threads.faer_par());
}

/// Clears the upper halves of the vector registers (`vzeroupper`) on this thread.
///
/// faer's AVX-512 matrix kernels return with them dirty, and the SSE code that then runs
/// on the same thread (everything compiled for baseline x86-64, such as the metrics'
/// loop and its calls to `ln`) pays a penalty on every instruction until they are
/// cleared: measured, the reconstruction metrics after [`crate::pca::Pca::reconstruct`] on
/// 10,000 × 784 values took 3.57 s, and 0.44 s with this call. The PCA and the probes call it
/// after faer's products; the training step does not (measured: a `vzeroupper` after
/// every product slowed model B's epoch from 3.4 s to 4.4 s). A no-op without AVX.
#[inline]
pub fn clear_upper_registers() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: AVX is present, so `vzeroupper` is; it only zeroes bits 128 and up of
        // the vector registers, where this (non-AVX) code keeps no values.
        unsafe { std::arch::x86_64::_mm256_zeroupper() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], ta: Transpose, b: &[f32], tb: Transpose) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    let av = if ta == Transpose::No { a[i * k + p] } else { a[p * m + i] };
                    let bv = if tb == Transpose::No { b[p * n + j] } else { b[j * k + p] };
                    s += av as f64 * bv as f64;
                }
                c[i * n + j] = s as f32;
            }
        }
        c
    }

    #[test]
    fn all_transpose_combinations_match_the_naive_product() {
        let (m, n, k) = (7, 5, 9);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 5.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0).collect();
        for threads in [Threads::new(1), Threads::new(2)] {
            for ta in [Transpose::No, Transpose::Yes] {
                for tb in [Transpose::No, Transpose::Yes] {
                    let want = naive(m, n, k, &a, ta, &b, tb);
                    let mut c = vec![1.0; m * n];
                    threads.install(|| matmul(&mut c, m, n, k, &a, ta, &b, tb, false, &threads));
                    for (x, y) in c.iter().zip(&want) {
                        assert!((x - y).abs() < 1e-4, "{ta:?} {tb:?}: {x} vs {y}");
                    }
                    let mut c2 = vec![1.0; m * n];
                    matmul(&mut c2, m, n, k, &a, ta, &b, tb, true, &threads);
                    for (x, y) in c2.iter().zip(&want) {
                        assert!((x - (y + 1.0)).abs() < 1e-4);
                    }
                }
            }
        }
    }
}
