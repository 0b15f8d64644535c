//! The matrix product every layer uses: `C ← A·B` or `C ← C + A·B`, with either
//! operand read transposed through strides (no transposed copies), over faer's
//! matrix multiply (its AVX-512/AVX2 kernels, `gemm` below them for other shapes) on
//! one thread per block of rows (or, for a few-row product, of columns).
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
/// On more than one thread a product of 4 Mi multiply-adds or more is split into blocks
/// of `C`'s rows (64 rows or more when there are enough, never one), or of `C`'s columns
/// when it has fewer than 128 rows (whole tiles of faer's kernel) or more columns than
/// rows (whole vectors), each block a one-thread product, never over the sum along `k`:
/// the result has the one-thread bits at any thread count (tested).
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
    let (a, b) = (Operand { at: a, rs: a_rs, cs: a_cs }, Operand { at: b, rs: b_rs, cs: b_cs });
    if let Some(parts) = depth_parts(m, n, k, threads) {
        return split_depth(&mut c[..m * n], m, n, k, a, b, accumulate, parts, threads);
    }
    // Blocks of C side by side, each a one-thread product with the whole product's bits
    // (`row_blocks_have_the_bits_of_the_whole_product`, and the split tests): blocks of
    // rows, or for a few-row product (a weight gradient `δᵀ·P`) or one wider than tall
    // (a wide layer's `X·Wᵀ` or `δ·W`) blocks of columns, each reading only its columns
    // of B; one block, on the calling thread, when the product is not split.
    let (rows_per, cols) = match column_blocks(m, n, k, threads) {
        Some(cols) => (m, cols),
        None => (row_blocks(m, n, k, threads), Columns::whole(n)),
    };
    let out = Out(c.as_mut_ptr());
    threads.for_each_index(m.div_ceil(rows_per) * cols.blocks, |i| {
        let (r, j) = (i / cols.blocks, i % cols.blocks);
        let rows = r * rows_per..((r + 1) * rows_per).min(m);
        let cols = cols.range(j, n);
        // SAFETY: C's block starts at `c[rows.start · n + cols.start]` and is read at
        // C's strides (n, 1), inside `c` (the assertions above). The blocks are disjoint,
        // so no two tasks write the same value of `c`, which is borrowed mutably for the
        // whole pass.
        let c = unsafe {
            faer::MatMut::<f32>::from_raw_parts_mut(
                out.at(rows.start * n + cols.start),
                rows.len(),
                cols.len(),
                n as isize,
                1,
            )
        };
        let (a, b) = (a.view(rows, 0..k), b.view(0..k, cols));
        product(c, a, b, accumulate);
    });
}

/// An operand as `matmul` reads it: its values and its row and column strides (both
/// positive).
#[derive(Clone, Copy)]
struct Operand<'a> {
    at: &'a [f32],
    rs: isize,
    cs: isize,
}

impl<'a> Operand<'a> {
    /// The block of rows `rows` and columns `cols`, for faer. Panics if the block does
    /// not lie inside the values.
    fn view(&self, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>) -> faer::MatRef<'a, f32> {
        let (rs, cs) = (self.rs as usize, self.cs as usize);
        let start = rows.start * rs + cols.start * cs;
        if !rows.is_empty() && !cols.is_empty() {
            let last = (rows.end - 1) * rs + (cols.end - 1) * cs;
            assert!(last < self.at.len(), "matmul: block {rows:?}×{cols:?} outside {} values", self.at.len());
        }
        // SAFETY: every value of the block, `start + i·rs + j·cs` for i < rows.len() and
        // j < cols.len(), is at most `last`, inside `at` (checked above); an empty block
        // reads nothing.
        unsafe {
            faer::MatRef::from_raw_parts(
                self.at.as_ptr().wrapping_add(start),
                rows.len(),
                cols.len(),
                self.rs,
                self.cs,
            )
        }
    }
}

/// The depth (`k`) of the chunks in which faer's kernels sum a product, on both AVX2 and
/// AVX-512 (`private-gemm-x86`'s `kc = min(depth, 512)`): each chunk's products are
/// summed in registers from zero, then added to `C` (or written, for the first chunk of
/// a product that does not accumulate), chunk after chunk.
const DEPTH_CHUNK: usize = 512;

/// How many parts [`split_depth`] cuts a product's depth into, or `None` to split it by
/// rows or columns. A product is split by depth on more than one thread when it has few
/// rows, a depth of two chunks ([`DEPTH_CHUNK`]) or more, at least as deep as it is wide,
/// and [`SPLIT_MIN_WORK`] multiply-adds or more: a convolution's weight gradient `δᵀ·P`,
/// `out × patch` summed over every image's every position (64 × 288 over 6,272 in the
/// conv model C's second layer, 32 × 9 over 25,088 in its first). Split by columns, such
/// a product has too few tiles to share evenly (288 columns are three of 96, two for
/// one thread and one for the other); split by rows, each thread would pack all of `P`.
/// One part per thread, each at least a chunk deep. Only where faer's kernels sum in
/// [`DEPTH_CHUNK`]s ([`column_tile`] is known).
fn depth_parts(m: usize, n: usize, k: usize, threads: &Threads) -> Option<usize> {
    let t = threads.count();
    let few_rows = (2..2 * SPLIT_MIN_ROWS).contains(&m);
    if t < 2
        || !few_rows
        || n < 2
        || k < 2 * DEPTH_CHUNK
        || k < n
        || m.saturating_mul(n).saturating_mul(k) < SPLIT_MIN_WORK
    {
        return None;
    }
    column_tile()?;
    Some(t.min(k / DEPTH_CHUNK))
}

thread_local! {
    /// The chunks' partial products of [`split_depth`] on this thread, kept between calls
    /// so that a training step does not allocate them (grown by the first product that
    /// needs more).
    static DEPTH_PARTIALS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `C = A·B` (or `C += A·B`) with the depth cut into `parts` ranges of whole
/// [`DEPTH_CHUNK`]s, one per task, with the bits of the one-thread product: the first
/// range is one product into `C` itself (faer sums its chunks into `C` one after
/// another), every chunk of the others a product of its own into a partial, and then
/// the partials are added to `C` in the chunks' order, as faer would have added them.
/// The ranges hold about equal depths (the last chunk may be short).
#[allow(clippy::too_many_arguments)]
fn split_depth(
    c: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    a: Operand<'_>,
    b: Operand<'_>,
    accumulate: bool,
    parts: usize,
    threads: &Threads,
) {
    let chunks = k.div_ceil(DEPTH_CHUNK);
    // Part i holds chunks bound(i) .. bound(i + 1): about i·k/parts deep.
    let bound =
        |i: usize| if i == parts { chunks } else { (2 * i * k / parts + DEPTH_CHUNK) / (2 * DEPTH_CHUNK) };
    let first = bound(1);
    let later = chunks - first;
    let len = m * n;
    // Chunk j's depth range.
    let range = |j: usize| j * DEPTH_CHUNK..((j + 1) * DEPTH_CHUNK).min(k);
    let mut run = |partials: &mut [f32]| {
        let (whole, parts_out) = (Out(c.as_mut_ptr()), Out(partials.as_mut_ptr()));
        threads.for_each_index(parts, |i| {
            if i == 0 {
                let depth = first * DEPTH_CHUNK;
                // SAFETY: task 0 alone writes C, which is borrowed mutably for the pass.
                let c = unsafe { faer::MatMut::<f32>::from_raw_parts_mut(whole.at(0), m, n, n as isize, 1) };
                product(c, a.view(0..m, 0..depth), b.view(0..depth, 0..n), accumulate);
                return;
            }
            for j in bound(i)..bound(i + 1) {
                let d = range(j);
                // SAFETY: partial j − first is values (j − first)·m·n .. of `partials`,
                // written by this task alone.
                let p = unsafe {
                    faer::MatMut::<f32>::from_raw_parts_mut(
                        parts_out.at((j - first) * len),
                        m,
                        n,
                        n as isize,
                        1,
                    )
                };
                product(p, a.view(0..m, d.clone()), b.view(d, 0..n), false);
            }
        });
        // C += each later chunk's partial, in the chunks' order.
        threads.for_each_rows(n, c, None, |rows, c, _| {
            let span = rows.start * n..rows.end * n;
            for p in partials[..later * len].chunks_exact(len) {
                super::elementwise::add(c, &p[span.clone()]);
            }
        });
    };
    DEPTH_PARTIALS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut partials) => {
            if partials.len() < later * len {
                partials.resize(later * len, 0.0);
            }
            run(&mut partials[..later * len])
        }
        Err(_) => run(&mut vec![0.0; later * len]),
    });
}

/// Multiply-adds below which a product runs on one thread.
const SPLIT_MIN_WORK: usize = 1 << 22;
/// Rows a block of a split product holds at least when the product has the rows.
const SPLIT_MIN_ROWS: usize = 64;

/// The rows per block when `matmul` splits a product's `m` rows over `threads` (each
/// block a one-thread product), or `m` for one product on the calling thread (one
/// thread, under [`SPLIT_MIN_WORK`], or fewer than 4 rows). Blocks hold
/// [`SPLIT_MIN_ROWS`] rows or more when there are enough (a convolution's `m` = images ×
/// pixels, a batch's rows), two or more otherwise (a convolution's weight gradient, one
/// row per output channel), never one: a one-row product takes faer's matrix–vector
/// path, with other bits.
///
/// Why not faer's own split: measured on the conv model C, its parallel products kept
/// both threads on barriers and packing, and allocated on every call (about 450 times
/// per step of the no-allocation test's conv model at 2 threads), where blocks of
/// one-thread products reuse each thread's packing buffer.
fn row_blocks(m: usize, n: usize, k: usize, threads: &Threads) -> usize {
    let t = threads.count();
    if t < 2 || m < 4 || m.saturating_mul(n).saturating_mul(k) < SPLIT_MIN_WORK {
        return m;
    }
    let blocks = if m >= 2 * SPLIT_MIN_ROWS { t.min(m / SPLIT_MIN_ROWS) } else { t.min(m / 2) };
    let mut per = m.div_ceil(blocks);
    while m % per == 1 {
        per += 1;
    }
    per
}

/// `C`'s values, written by the blocks of a split product, each to its own block.
struct Out(*mut f32);

// SAFETY: used only inside one split product, whose tasks write disjoint blocks.
unsafe impl Sync for Out {}

impl Out {
    /// Value `at` of `C`.
    fn at(&self, at: usize) -> *mut f32 {
        self.0.wrapping_add(at)
    }
}

/// How many of `C`'s columns faer's f32 kernel computes as one tile, on this CPU: it
/// computes a row-major `C` as its transpose, so `C`'s columns are its kernel's rows,
/// 96 to a tile with AVX-512 and 24 with AVX2 (`private-gemm-x86`), six and three
/// vectors. A block of columns that starts on a tile boundary runs every value through
/// the kernel the whole product would, with the same sums along `k` (in chunks of 512
/// whatever the shape), so it has the whole product's bits (tested on an AVX2 machine,
/// on an AVX-512 one, and in CI under an emulated AVX2-only CPU). A block that starts
/// on a vector boundary inside a tile sums each value along `k` the same way too, and
/// has the same bits: the few-row split keeps to whole tiles, the split of a wide
/// product ([`column_blocks`]) to whole vectors, and both are tested.
/// `None` where faer takes another path.
fn column_tile() -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Some(96);
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Some(24);
        }
    }
    None
}

/// How `matmul` cuts a product's `n` columns: into groups of `step` columns (the last
/// group holds what is left), shared as evenly as they come among `blocks` blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Columns {
    step: usize,
    blocks: usize,
}

impl Columns {
    /// One block of all `n` columns.
    fn whole(n: usize) -> Columns {
        Columns { step: n.max(1), blocks: 1 }
    }

    /// Block `j`'s columns of `n`: groups `⌊j·g/blocks⌋ .. ⌊(j+1)·g/blocks⌋` of the `g`.
    fn range(&self, j: usize, n: usize) -> std::ops::Range<usize> {
        let groups = n.div_ceil(self.step);
        let (first, end) = (j * groups / self.blocks, (j + 1) * groups / self.blocks);
        first * self.step..(end * self.step).min(n)
    }
}

/// How many values faer's f32 kernel holds in a vector register on this CPU: 16 with
/// AVX-512, 8 with AVX2 (a sixth and a third of [`column_tile`]); `None` where faer takes
/// another path.
fn column_lanes() -> Option<usize> {
    column_tile().map(|tile| if tile == 96 { 16 } else { 8 })
}

/// How `matmul` splits a product's `n` columns over `threads`, or `None` to split it by
/// rows ([`row_blocks`]). Only a product with [`SPLIT_MIN_WORK`] or more multiply-adds,
/// and two rows or more, is split by columns:
///
/// - **Few rows** (fewer than 2 × [`SPLIT_MIN_ROWS`]), in whole tiles ([`column_tile`]):
///   a weight gradient `δᵀ·P`, with a row per output unit and a column per input value.
///   Split by rows, each thread would pack all of `B` (`P`, `rows·positions × patch`)
///   for its few rows; split by columns, each packs only its columns, and `A` (`δᵀ`, the
///   smaller) is read by all. Measured on the conv model C (its two weight gradients of
///   64 × 288 over 6,272 patch rows): a step at 2 threads went from 22.1–23.0 ms to
///   20.8–21.1 ms (medians of 11 rounds, 4 runs interleaved), and `perf` had counted
///   19 % more CPU at 2 threads than at 1, most of it faer packing `B` once per block.
/// - **More columns than rows**, in whole vectors ([`column_lanes`]), two or more to a
///   block: a wide dense layer's `X·Wᵀ` or `δ·W` over a batch. `B` (the weights, `k×n`)
///   is then larger than `A` (the batch, `m×k`), and split by rows each thread would
///   read and pack all of it for its share of the rows; split by columns each packs its
///   share of `B` and reads all of `A`. Measured on a Xeon with AVX-512 at 2 threads
///   (`train_step`'s products of a step of model B, 784-512-256-32-256-512-784, over
///   128 rows; two runs, each interleaved with a run split by rows): 2,576 and 2,683 µs
///   against 2,799 and 2,848 µs, where one thread takes 5,105–5,285 µs.
///
/// Each block's columns are computed as the whole product computes them (the same sums
/// along `k`, in [`DEPTH_CHUNK`]s), so a block has the whole product's bits wherever it
/// starts (tested at tile and at vector boundaries, on AVX-512 and on AVX2).
fn column_blocks(m: usize, n: usize, k: usize, threads: &Threads) -> Option<Columns> {
    let t = threads.count();
    // (A one-row product takes faer's matrix–vector path, as in `row_blocks`.)
    if t < 2 || m < 2 || m.saturating_mul(n).saturating_mul(k) < SPLIT_MIN_WORK {
        return None;
    }
    let (step, most) = if m < 2 * SPLIT_MIN_ROWS {
        let tile = column_tile()?;
        (tile, n.div_ceil(tile))
    } else if n > m {
        // Two vectors or more to a block: none is a single column.
        let lanes = column_lanes()?;
        (lanes, n.div_ceil(lanes) / 2)
    } else {
        return None;
    };
    let blocks = t.min(most);
    (blocks >= 2).then_some(Columns { step, blocks })
}

/// Rows `rows` of `C = Aᵀ·B` (or `C += …` when `accumulate`) into `c` (`rows.len() × n`),
/// with `a` holding the `k×m` matrix `A` and `b` the `k×n` matrix `B`, both row-major:
/// a dense layer's weight gradient `∂W = δᵀ·x` for a range of its output units, which
/// threads compute side by side, each calling this on its own thread. Each row has the
/// bits it has in the whole product (tested), so the split does not change the result.
#[allow(clippy::too_many_arguments)]
pub fn matmul_transposed_rows(
    c: &mut [f32],
    rows: std::ops::Range<usize>,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    accumulate: bool,
) {
    assert!(rows.start <= rows.end && rows.end <= m, "matmul: rows {rows:?} of {m}");
    assert!(a.len() >= m * k, "matmul: A holds {} values, needs {k}×{m}", a.len());
    let r = rows.len();
    if r == 0 {
        return;
    }
    assert!(c.len() >= r * n, "matmul: C holds {} values, needs {r}×{n}", c.len());
    assert!(b.len() >= k * n, "matmul: B holds {} values, needs {k}×{n}", b.len());
    if n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..r * n].fill(0.0);
        }
        return;
    }
    // Aᵀ's rows `rows` are A's columns `rows`: A is stored k×m, so Aᵀ is read at
    // strides (1, m).
    let a = Operand { at: a, rs: 1, cs: m as isize }.view(rows, 0..k);
    let b = Operand { at: b, rs: n as isize, cs: 1 }.view(0..k, 0..n);
    // SAFETY: C's view, r × n at strides (n, 1), is inside `c` (the assertion above),
    // which is borrowed mutably so it aliases neither operand.
    let c = unsafe { faer::MatMut::<f32>::from_raw_parts_mut(c.as_mut_ptr(), r, n, n as isize, 1) };
    product(c, a, b, accumulate);
}

/// `C ← A·B` or `C += A·B` through faer on the calling thread, the views already checked.
fn product(c: faer::MatMut<'_, f32>, a: faer::MatRef<'_, f32>, b: faer::MatRef<'_, f32>, accumulate: bool) {
    let accum = if accumulate { faer::Accum::Add } else { faer::Accum::Replace };
    faer::linalg::matmul::matmul(c, accum, a, b, 1.0f32, faer::Par::Seq);
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

    /// The row-split training step relies on this: a block of two or more of C's rows
    /// computed on its own (the same `k`, the same `n`) has the bits of the same rows of
    /// the whole product, for each operand layout the layers use, at the shapes of the
    /// benchmark models and at odd ones. (A block of one row takes faer's matrix–vector
    /// path, whose bits differ: the splits never make one.)
    #[test]
    fn row_blocks_have_the_bits_of_the_whole_product() {
        let one = Threads::new(1);
        for (m, n, k) in [
            (128, 64, 784),
            (128, 784, 64),
            (64, 784, 128),
            (512, 784, 128),
            (37, 19, 301),
            (256, 32, 128),
            (20, 5, 9),
            (128, 16, 16),
        ] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 333.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 104729 % 977) as f32 - 488.0) / 411.0).collect();
            for (ta, tb) in [(Transpose::No, Transpose::Yes), (Transpose::No, Transpose::No)] {
                let mut whole = vec![0.0; m * n];
                matmul(&mut whole, m, n, k, &a, ta, &b, tb, false, &one);
                for cut in [2, 3, 4, 5, 7, 8, 16, m / 2, m / 3 + 1, m - 2, m - 3] {
                    let mut part = vec![0.0; m * n];
                    let (top, bottom) = part.split_at_mut(cut * n);
                    matmul(top, cut, n, k, &a[..cut * k], ta, &b, tb, false, &one);
                    matmul(bottom, m - cut, n, k, &a[cut * k..], ta, &b, tb, false, &one);
                    let same = whole.iter().zip(&part).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{m}x{n}x{k} {ta:?} {tb:?} cut at {cut}");
                }
            }
            // δᵀ·x with its rows (the output's rows) split: A is read transposed.
            let mut whole = vec![0.0; m * n];
            matmul(&mut whole, m, n, k, &a, Transpose::Yes, &b, Transpose::No, false, &one);
            for cut in [2, 3, 8, m / 2, m - 2] {
                let mut part = vec![0.0; m * n];
                let (top, bottom) = part.split_at_mut(cut * n);
                // Rows `cut..` of Aᵀ are columns `cut..` of the stored k×m matrix.
                matmul_transposed_rows(top, 0..cut, m, n, k, &a, &b, false);
                matmul_transposed_rows(bottom, cut..m, m, n, k, &a, &b, false);
                let same = whole.iter().zip(&part).all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{m}x{n}x{k} transposed A cut at {cut}");
            }
        }
    }

    /// A product big enough to be split over the threads has the one-thread bits, for
    /// every operand layout: by rows (`row_blocks`), where row counts that would leave a
    /// one-row block take longer blocks instead; by columns (`column_blocks`: few rows,
    /// in blocks of whole tiles; wider than tall, of whole vectors), with a last block
    /// holding the tail; and by depth (`depth_parts`, few rows and a long sum), with a
    /// short last chunk or none.
    #[test]
    fn products_split_over_threads_have_the_one_thread_bits() {
        #[derive(Debug, PartialEq, Clone, Copy)]
        enum Split {
            Rows,
            Columns,
            Depth,
        }
        let split_of = |m: usize, n: usize, k: usize, t: &Threads| {
            if depth_parts(m, n, k, t).is_some() {
                Split::Depth
            } else if column_blocks(m, n, k, t).is_some() {
                Split::Columns
            } else {
                Split::Rows
            }
        };
        for (m, n, k, split) in [
            (600, 40, 200, Split::Rows),
            (1025, 64, 72, Split::Rows),
            (129, 128, 300, Split::Rows),
            (64, 288, 700, Split::Columns),
            (7, 300, 2100, Split::Depth),
            (32, 3136, 128, Split::Columns),
            (100, 50, 1000, Split::Columns),
            (100, 250, 1000, Split::Columns),
            (2, 1000, 3000, Split::Depth),
            (16, 9, 30000, Split::Depth),
            (64, 288, 6272, Split::Depth),
            (32, 9, 16400, Split::Depth),
            (40, 600, 1100, Split::Depth),
            (128, 784, 64, Split::Columns),
            (130, 401, 90, Split::Columns),
            (300, 301, 50, Split::Columns),
        ] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 333.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 104729 % 977) as f32 - 488.0) / 411.0).collect();
            for threads in [2, 3, 4] {
                let threads = Threads::new(threads);
                // Few rows and enough work: split by depth when the sum is long (two
                // chunks or more, and deeper than wide), else by columns when there are
                // two tiles (50 columns are two tiles of 24 with AVX2, one of 96 with
                // AVX-512). Many rows: by columns when wider than tall.
                if let Some(tile) = column_tile() {
                    let expected = match split {
                        Split::Columns if m < 2 * SPLIT_MIN_ROWS && n < 2 * tile => Split::Rows,
                        other => other,
                    };
                    assert_eq!(split_of(m, n, k, &threads), expected, "{m}x{n}x{k}");
                }
                if let Some(parts) = depth_parts(m, n, k, &threads) {
                    assert!(
                        parts >= 2 && parts <= threads.count() && k >= parts * DEPTH_CHUNK,
                        "{m}x{n}x{k}"
                    );
                } else if let Some(cols) = column_blocks(m, n, k, &threads) {
                    let step = if m < 2 * SPLIT_MIN_ROWS { column_tile() } else { column_lanes() };
                    assert_eq!(Some(cols.step), step, "{m}x{n}x{k}");
                    assert!(cols.blocks >= 2 && cols.blocks <= threads.count(), "{m}x{n}x{k}: {cols:?}");
                    let mut next = 0;
                    for j in 0..cols.blocks {
                        let r = cols.range(j, n);
                        assert!(
                            r.start == next && r.start % cols.step == 0 && r.len() >= 2,
                            "{m}x{n}x{k}: {r:?}"
                        );
                        next = r.end;
                    }
                    assert_eq!(next, n, "{m}x{n}x{k}: {cols:?}");
                } else {
                    let per = row_blocks(m, n, k, &threads);
                    assert!(per < m && m % per != 1, "{m}x{n}x{k}: {per} rows per block");
                }
                for accumulate in [false, true] {
                    for ta in [Transpose::No, Transpose::Yes] {
                        for tb in [Transpose::No, Transpose::Yes] {
                            let (mut one, mut split) = (vec![0.5; m * n], vec![0.5; m * n]);
                            matmul(&mut one, m, n, k, &a, ta, &b, tb, accumulate, &Threads::new(1));
                            threads.install(|| {
                                matmul(&mut split, m, n, k, &a, ta, &b, tb, accumulate, &threads)
                            });
                            let same = one.iter().zip(&split).all(|(x, y)| x.to_bits() == y.to_bits());
                            let t = threads.count();
                            assert!(same, "{m}x{n}x{k} {ta:?} {tb:?} accumulate {accumulate} on {t} threads");
                        }
                    }
                }
            }
        }
        let two = Threads::new(2);
        assert_eq!(row_blocks(129, 128, 300, &Threads::new(1)), 129, "one thread");
        assert_eq!(row_blocks(100, 1000, 1000, &two), 50, "few rows: blocks of two or more");
        assert_eq!(row_blocks(3, 5000, 5000, &two), 3, "under 4 rows: one product");
        assert_eq!(row_blocks(1000, 64, 64, &two), 1000, "little work: one product");
        if let (Some(tile), Some(lanes)) = (column_tile(), column_lanes()) {
            let tiles = Some(Columns { step: tile, blocks: 2 });
            assert_eq!(column_blocks(64, 288, 700, &two), tiles, "two blocks of whole tiles");
            assert_eq!(column_blocks(64, 288, 700, &Threads::new(1)), None, "one thread");
            let vectors = Some(Columns { step: lanes, blocks: 2 });
            assert_eq!(column_blocks(128, 288, 700, &two), vectors, "wider than tall: whole vectors");
            assert_eq!(column_blocks(300, 288, 700, &two), None, "enough rows, taller than wide: by rows");
            let many = column_blocks(128, 129, 1 << 16, &Threads::new(16)).unwrap();
            assert_eq!(many.blocks, 129usize.div_ceil(lanes) / 2, "two vectors or more a block");
            assert_eq!(column_blocks(64, tile, 5000, &two), None, "one tile");
            assert_eq!(column_blocks(64, 288, 64, &two), None, "little work");
            assert_eq!(column_blocks(1, 3000, 3000, &two), None, "one row");
            assert_eq!(depth_parts(64, 288, 6272, &two), Some(2), "a weight gradient of conv model C");
            assert_eq!(
                depth_parts(64, 288, 6272, &Threads::new(16)),
                Some(12),
                "a part a chunk deep or more"
            );
            assert_eq!(depth_parts(64, 288, 6272, &Threads::new(1)), None, "one thread");
            assert_eq!(depth_parts(64, 288, 1000, &two), None, "under two chunks");
            assert_eq!(depth_parts(64, 3000, 2000, &two), None, "wider than deep");
            assert_eq!(depth_parts(128, 288, 6272, &two), None, "enough rows: split by rows");
            assert_eq!(depth_parts(1, 288, 6272, &two), None, "one row");
            assert_eq!(depth_parts(8, 9, 25088, &two), None, "little work");
        }
    }

    /// The split of a wide product by columns (`column_blocks`' second case) has the
    /// one-thread bits at the shapes of a dense layer's forward `X·Wᵀ` and backward `δ·W`
    /// over a batch, with blocks that start inside faer's tiles: small enough to run in
    /// CI under the emulated AVX2 CPU too, where the test above is left out.
    #[test]
    fn wide_products_split_by_columns_have_the_one_thread_bits() {
        let mut inside = 0;
        for (m, n, k) in [(128, 784, 64), (144, 200, 150)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 333.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 104729 % 977) as f32 - 488.0) / 411.0).collect();
            for t in [2, 3] {
                let threads = Threads::new(t);
                let Some(cols) = column_blocks(m, n, k, &threads) else {
                    assert!(column_lanes().is_none(), "{m}x{n}x{k}: not split by columns");
                    continue;
                };
                let tile = column_tile().unwrap_or(1);
                inside += (0..cols.blocks).filter(|&j| cols.range(j, n).start % tile != 0).count();
                for (tb, accumulate) in
                    [(Transpose::Yes, false), (Transpose::No, false), (Transpose::Yes, true)]
                {
                    let (mut one, mut split) = (vec![0.5; m * n], vec![0.5; m * n]);
                    matmul(&mut one, m, n, k, &a, Transpose::No, &b, tb, accumulate, &Threads::new(1));
                    threads.install(|| {
                        matmul(&mut split, m, n, k, &a, Transpose::No, &b, tb, accumulate, &threads)
                    });
                    let same = one.iter().zip(&split).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{m}x{n}x{k} {tb:?} accumulate {accumulate} on {t} threads");
                }
            }
        }
        assert!(column_lanes().is_none() || inside > 0, "no block started inside a tile");
    }
}
