//! Micro-batch gradients: a batch split into micro-batches of a fixed size whose partial
//! gradients sum in one fixed tree, so that the same seed gives the same bits whether one
//! process computes every micro-batch or several processes ([`Peers`]) share them.
//!
//! The tree over the micro-batches `0..M` of a batch: node `(a, l)` covers the leaves
//! `[a, a + 2ˡ) ∩ [0, M)` (`a` a multiple of `2ˡ`); its value is its left child's plus
//! its right child's, or its left child's alone when the right one is empty. Process
//! `r` of `P` owns the leaves `[⌊rM/P⌋, ⌊(r+1)M/P⌋)` and sums them into the largest
//! aligned nodes that fit in its range (at most `2·log₂M` of them, one when `P` is a
//! power of two dividing `M`); every process gathers every process's nodes, in rank
//! order, and completes the same tree. Each addition is the same `f32` addition in
//! the same place of the tree whatever `P` is, so the sum's bits do not depend on `P`.

use crate::error::Result;

/// The other processes of a data-parallel training job, and how values reach them.
///
/// The library sends nothing itself: a front implements this over its transport (the
/// `ae` command over MPI; any other, such as mpi4py, works the same way). Every
/// process calls the methods in the same order with the same `counts`.
pub trait Peers: Send {
    /// This process's index, `0..size()`.
    fn rank(&self) -> usize;
    /// The number of processes.
    fn size(&self) -> usize;
    /// Every process's `mine` (`counts[r]` values from process `r`) into `all`, in rank
    /// order: an all-gather with known counts.
    fn all_gather_f32(&mut self, mine: &[f32], counts: &[usize], all: &mut [f32]) -> Result<()>;
    /// [`Peers::all_gather_f32`] for `f64` values.
    fn all_gather_f64(&mut self, mine: &[f64], counts: &[usize], all: &mut [f64]) -> Result<()>;
}

/// The leaves process `rank` of `size` owns among `m` micro-batches.
pub(super) fn owned(m: usize, rank: usize, size: usize) -> std::ops::Range<usize> {
    (rank * m / size)..((rank + 1) * m / size)
}

/// The tree's nodes that cover `range` of `m` leaves as a process sums them: the
/// largest aligned node starting at each point that ends inside the range, as
/// `(start, level)`, in order (the nodes [`TreeSum::push`] leaves).
pub(super) fn cover(range: std::ops::Range<usize>, out: &mut Vec<(usize, u32)>) {
    out.clear();
    let mut a = range.start;
    while a < range.end {
        let mut l = 0u32;
        // Only whole nodes: a node reaching past the range is left to the tree.
        while a.is_multiple_of(1 << (l + 1)) && a + (1 << (l + 1)) <= range.end {
            l += 1;
        }
        out.push((a, l));
        a += 1 << l;
    }
}

/// A node's value: a gradient and the loss share that goes with it.
struct Node {
    start: usize,
    level: u32,
    grads: Vec<f32>,
    loss: f64,
}

/// The buffers of the tree sum for micro-batch gradients of `len` values: the nodes a
/// process holds while it sums its leaves, and the gathered nodes of every process.
/// Allocated once; no step allocates after the first batch of the largest size.
pub(super) struct TreeSum {
    len: usize,
    /// The nodes summed so far (a binary counter over the leaves).
    stack: Vec<Node>,
    /// Spare buffers for nodes.
    spare: Vec<Vec<f32>>,
    /// Scratch for the cover of each process.
    cover: Vec<(usize, u32)>,
    /// Gathered nodes (every process's, in rank order) and their place.
    gathered: Vec<f32>,
    gathered_loss: Vec<f64>,
    index: Vec<(usize, u32)>,
    mine: Vec<f32>,
    mine_loss: Vec<f64>,
    counts: Vec<usize>,
    counts_loss: Vec<usize>,
    /// One buffer per tree level for completing the tree.
    levels: Vec<Vec<f32>>,
}

impl TreeSum {
    pub(super) fn new(len: usize) -> Self {
        TreeSum {
            len,
            stack: Vec::new(),
            spare: Vec::new(),
            cover: Vec::new(),
            gathered: Vec::new(),
            gathered_loss: Vec::new(),
            index: Vec::new(),
            mine: Vec::new(),
            mine_loss: Vec::new(),
            counts: Vec::new(),
            counts_loss: Vec::new(),
            levels: Vec::new(),
        }
    }

    /// Start a batch.
    pub(super) fn clear(&mut self) {
        while let Some(n) = self.stack.pop() {
            self.spare.push(n.grads);
        }
    }

    /// Add leaf `j` (a process's micro-batches come in order, from the first it owns):
    /// its gradient and loss share. Merges it with the nodes before it as far as the
    /// tree allows.
    pub(super) fn push(&mut self, j: usize, grads: &[f32], loss: f64) {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(grads);
        self.stack.push(Node { start: j, level: 0, grads: buf, loss });
        // Merge (a, l) and (a + 2ˡ, l) into (a, l + 1) while a is aligned to 2ˡ⁺¹.
        while self.stack.len() >= 2 {
            let top = &self.stack[self.stack.len() - 1];
            let below = &self.stack[self.stack.len() - 2];
            let l = below.level;
            if top.level != l
                || !below.start.is_multiple_of(1 << (l + 1))
                || top.start != below.start + (1 << l)
            {
                break;
            }
            let top = self.stack.pop().expect("two nodes");
            let below = self.stack.last_mut().expect("two nodes");
            add(&mut below.grads, &top.grads);
            below.loss += top.loss;
            below.level += 1;
            self.spare.push(top.grads);
        }
    }

    /// The whole batch's gradient into `out` and its loss: this process's nodes
    /// exchanged with every other process's (when `peers`), the tree completed.
    pub(super) fn finish(
        &mut self,
        m: usize,
        peers: Option<&mut (dyn Peers + '_)>,
        out: &mut [f32],
    ) -> Result<f64> {
        debug_assert_eq!(out.len(), self.len);
        let len = self.len;
        self.index.clear();
        match peers {
            None => {
                self.gathered.clear();
                self.gathered_loss.clear();
                for n in &self.stack {
                    self.index.push((n.start, n.level));
                    self.gathered.extend_from_slice(&n.grads);
                    self.gathered_loss.push(n.loss);
                }
            }
            Some(p) => {
                let size = p.size();
                self.counts.clear();
                self.counts_loss.clear();
                for r in 0..size {
                    cover(owned(m, r, size), &mut self.cover);
                    self.index.extend_from_slice(&self.cover);
                    self.counts.push(self.cover.len() * len);
                    self.counts_loss.push(self.cover.len());
                }
                self.mine.clear();
                self.mine_loss.clear();
                for n in &self.stack {
                    self.mine.extend_from_slice(&n.grads);
                    self.mine_loss.push(n.loss);
                }
                debug_assert_eq!(self.mine.len(), self.counts[p.rank()], "the nodes summed are the cover");
                self.gathered.resize(self.index.len() * len, 0.0);
                self.gathered_loss.resize(self.index.len(), 0.0);
                p.all_gather_f32(&self.mine, &self.counts, &mut self.gathered)?;
                p.all_gather_f64(&self.mine_loss, &self.counts_loss, &mut self.gathered_loss)?;
            }
        }
        let top = if m <= 1 { 0 } else { usize::BITS - (m - 1).leading_zeros() };
        while self.levels.len() < top as usize + 1 {
            self.levels.push(vec![0.0; len]);
        }
        let (levels, rest) =
            (&mut self.levels, (&self.index[..], &self.gathered[..], &self.gathered_loss[..]));
        let loss = node(0, top, m, rest, levels, out);
        Ok(loss)
    }
}

/// The value of node `(a, l)` into `out` (and its loss): a gathered node when there is
/// one by that name, else its children's sum.
fn node(
    a: usize,
    l: u32,
    m: usize,
    given: (&[(usize, u32)], &[f32], &[f64]),
    levels: &mut [Vec<f32>],
    out: &mut [f32],
) -> f64 {
    let (index, values, losses) = given;
    if l > 0 && a + (1 << (l - 1)) >= m {
        return node(a, l - 1, m, given, levels, out);
    }
    if let Some(i) = index.iter().position(|&x| x == (a, l)) {
        let len = out.len();
        out.copy_from_slice(&values[i * len..(i + 1) * len]);
        return losses[i];
    }
    assert!(l > 0, "leaf {a} was not gathered");
    let left = node(a, l - 1, m, given, levels, out);
    let (scratch, below) = levels.split_at_mut(1);
    let right_buf = &mut scratch[0];
    let right = node(a + (1 << (l - 1)), l - 1, m, given, below, right_buf);
    add(out, right_buf);
    left + right
}

/// `a += b`, element by element.
fn add(a: &mut [f32], b: &[f32]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{self, Stream};

    /// Peers in one process: `size` tree sums run one after another, each "gathering"
    /// from a shared table that the others filled (the test calls them in turn).
    struct Table {
        rank: usize,
        size: usize,
        f32s: Shared<f32>,
        f64s: Shared<f64>,
    }

    type Shared<T> = std::sync::Arc<std::sync::Mutex<Vec<Vec<T>>>>;

    impl Peers for Table {
        fn rank(&self) -> usize {
            self.rank
        }
        fn size(&self) -> usize {
            self.size
        }
        fn all_gather_f32(&mut self, mine: &[f32], counts: &[usize], all: &mut [f32]) -> Result<()> {
            self.f32s.lock().unwrap()[self.rank] = mine.to_vec();
            let t = self.f32s.lock().unwrap();
            let mut at = 0;
            for (r, &c) in counts.iter().enumerate() {
                if t[r].len() == c {
                    all[at..at + c].copy_from_slice(&t[r]);
                }
                at += c;
            }
            Ok(())
        }
        fn all_gather_f64(&mut self, mine: &[f64], counts: &[usize], all: &mut [f64]) -> Result<()> {
            self.f64s.lock().unwrap()[self.rank] = mine.to_vec();
            let t = self.f64s.lock().unwrap();
            let mut at = 0;
            for (r, &c) in counts.iter().enumerate() {
                if t[r].len() == c {
                    all[at..at + c].copy_from_slice(&t[r]);
                }
                at += c;
            }
            Ok(())
        }
    }

    /// Leaves of very different magnitudes, so that any other order of additions would
    /// change the bits.
    fn leaves(m: usize, len: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut r = random::rng(seed, Stream::Noise);
        (0..m)
            .map(|j| {
                (0..len).map(|_| (random::normal(&mut r) * 10f64.powi((j % 7) as i32 - 3)) as f32).collect()
            })
            .collect()
    }

    fn one_process(leaves: &[Vec<f32>]) -> (Vec<f32>, f64) {
        let m = leaves.len();
        let mut t = TreeSum::new(leaves[0].len());
        for (j, l) in leaves.iter().enumerate() {
            t.push(j, l, j as f64 * 0.1 + 1e-9);
        }
        let mut out = vec![0.0; leaves[0].len()];
        let loss = t.finish(m, None, &mut out).unwrap();
        (out, loss)
    }

    /// `size` processes (simulated in turn: each gathers after all have published).
    fn processes(leaves: &[Vec<f32>], size: usize) -> Vec<(Vec<f32>, f64)> {
        let m = leaves.len();
        let len = leaves[0].len();
        let f32s: Shared<f32> = std::sync::Arc::new(std::sync::Mutex::new(vec![Vec::new(); size]));
        let f64s: Shared<f64> = std::sync::Arc::new(std::sync::Mutex::new(vec![Vec::new(); size]));
        let mut trees: Vec<TreeSum> = (0..size).map(|_| TreeSum::new(len)).collect();
        let mut peers: Vec<Table> =
            (0..size).map(|rank| Table { rank, size, f32s: f32s.clone(), f64s: f64s.clone() }).collect();
        for (r, t) in trees.iter_mut().enumerate() {
            let range = owned(m, r, size);
            for j in range.clone() {
                t.push(j, &leaves[j], j as f64 * 0.1 + 1e-9);
            }
        }
        // Two rounds: the first publishes every process's nodes, the second reads all.
        for round in 0..2 {
            let mut results = Vec::new();
            for (t, p) in trees.iter_mut().zip(peers.iter_mut()) {
                let mut out = vec![0.0; len];
                let loss = t.finish(m, Some(p), &mut out).unwrap();
                results.push((out, loss));
            }
            if round == 1 {
                return results;
            }
        }
        unreachable!()
    }

    /// The sum is the same bits for every process count, on every process, for every
    /// batch shape (including micro-batch counts that are not powers of two, and more
    /// processes than micro-batches).
    #[test]
    fn the_sum_does_not_depend_on_the_process_count() {
        for m in 1..=19 {
            let ls = leaves(m, 37, m as u64);
            let (want, want_loss) = one_process(&ls);
            // The tree sum is a sum: close to the sequential one.
            for (i, w) in want.iter().enumerate() {
                let seq: f64 = ls.iter().map(|l| f64::from(l[i])).sum();
                assert!(
                    (f64::from(*w) - seq).abs() <= 1e-3 * (1.0 + seq.abs()),
                    "m {m} value {i}: {w} vs {seq}"
                );
            }
            for size in 1..=m + 2 {
                for (rank, (got, loss)) in processes(&ls, size).into_iter().enumerate() {
                    let same = got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "m {m}, {size} processes, rank {rank}: other bits");
                    assert_eq!(loss.to_bits(), want_loss.to_bits(), "m {m}, {size} processes");
                }
            }
        }
    }

    /// A different tree would give other bits: the test above can fail. Summing the
    /// leaves left to right differs from the tree for these leaves.
    #[test]
    fn another_order_gives_other_bits() {
        let ls = leaves(11, 37, 5);
        let (tree, _) = one_process(&ls);
        let mut seq = vec![0.0f32; 37];
        for l in &ls {
            add(&mut seq, l);
        }
        assert!(tree.iter().zip(&seq).any(|(a, b)| a.to_bits() != b.to_bits()));
    }

    /// The cover of a range is the nodes the binary counter leaves: aligned, in order,
    /// tiling the range, and one node for a power-of-two share of a power-of-two count.
    #[test]
    fn covers_tile_the_range() {
        let mut c = Vec::new();
        for m in 1..=40usize {
            for size in 1..=9 {
                for r in 0..size {
                    let range = owned(m, r, size);
                    cover(range.clone(), &mut c);
                    let mut a = range.start;
                    for &(s, l) in &c {
                        assert_eq!(s, a);
                        assert!(s.is_multiple_of(1 << l));
                        a += 1 << l;
                    }
                    assert_eq!(
                        a.max(range.start),
                        range.end.max(range.start),
                        "m {m} size {size} rank {r}: {c:?}"
                    );
                }
            }
        }
        cover(owned(16, 1, 4), &mut c);
        assert_eq!(c, vec![(4, 2)]);
        cover(0..6, &mut c);
        assert_eq!(c, vec![(0, 2), (4, 1)]);
    }
}
