//! Micro-batch gradients: a batch split into micro-batches of a fixed size whose partial
//! gradients sum in one fixed tree, so that the same seed gives the same bits whether one
//! process computes every micro-batch or several processes ([`Peers`]) share them.
//!
//! The tree over the micro-batches `0..M` of a batch: node `(a, l)` covers the leaves
//! `[a, a + 2ˡ) ∩ [0, M)` (`a` a multiple of `2ˡ`); its value is its left child's plus
//! its right child's, or its left child's alone when the right one is empty. Process
//! `r` of `P` owns the leaves `[⌊rM/P⌋, ⌊(r+1)M/P⌋)` and sums them into the largest
//! aligned nodes that fit in its range (at most `2·log₂M` of them, one when `P` is a
//! power of two dividing `M`). The gradient's values are cut into `P` segments; process
//! `q` receives segment `q` of every process's nodes (an all-to-all), completes the
//! tree for it, and the completed segments are gathered by all (an all-gather): each
//! process sends and receives about twice the gradient per step whatever `P` is, as a
//! ring all-reduce does. Each addition is the same `f32` addition in the same place of
//! the tree whatever `P` is, so the sum's bits do not depend on `P`.

use crate::error::{Error, Result};
use crate::kernels::elementwise::add;

/// The error for processes sharing batches without micro-batches: the settings' one
/// check, wherever peers are given.
pub(super) fn without_micro_batches() -> Error {
    Error::config("micro_batch", "training on several processes needs micro_batch > 0")
}

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
    /// `send` cut in order into `send_counts[q]` values for each process `q`; into
    /// `recv`, the `recv_counts[p]` values each process `p` cut for this one, in rank
    /// order: an all-to-all with known counts.
    ///
    /// `most` is the same on every process and bounds what any one process sends and
    /// what it receives (`Σ send_counts` and `Σ recv_counts` on each process): a
    /// process knows only its own counts, so a transport that moves a limited number of
    /// values a call (MPI's counts are C ints) splits the exchange into the rounds
    /// `most` gives every process alike.
    fn all_to_all_f32(
        &mut self,
        send: &[f32],
        send_counts: &[usize],
        recv: &mut [f32],
        recv_counts: &[usize],
        most: usize,
    ) -> Result<()>;
}

/// Segment `q` of `len` values cut into `size` segments.
fn segment(len: usize, q: usize, size: usize) -> std::ops::Range<usize> {
    (q * len / size)..((q + 1) * len / size)
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
    counts_recv: Vec<usize>,
    counts_loss: Vec<usize>,
    /// This process's segment of the sum.
    segment: Vec<f32>,
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
            counts_recv: Vec::new(),
            counts_loss: Vec::new(),
            segment: Vec::new(),
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
        // Room for the nodes of any batch of up to `m` micro-batches, which the first
        // step has the most of: a batch with fewer (an epoch's last) leaves other nodes,
        // sometimes more of them, and would otherwise grow these buffers in a later step.
        // A process's cover of its range has at most two nodes per level.
        let levels = (usize::BITS - m.leading_zeros()) as usize;
        let size = peers.as_ref().map_or(1, |p| p.size());
        self.gathered.clear();
        self.gathered_loss.clear();
        self.index.reserve(2 * levels * size);
        self.gathered_loss.reserve(2 * levels * size);
        self.gathered.reserve(2 * levels * len);
        match peers {
            None => {
                for n in &self.stack {
                    self.index.push((n.start, n.level));
                    self.gathered.extend_from_slice(&n.grads);
                    self.gathered_loss.push(n.loss);
                }
            }
            Some(p) => {
                let (rank, size) = (p.rank(), p.size());
                let mine = segment(len, rank, size);
                self.counts_loss.clear();
                for r in 0..size {
                    cover(owned(m, r, size), &mut self.cover);
                    self.index.extend_from_slice(&self.cover);
                    self.counts_loss.push(self.cover.len());
                }
                debug_assert_eq!(self.stack.len(), self.counts_loss[rank], "the nodes summed are the cover");
                // Segment q of each of this process's nodes goes to process q; this
                // one receives segment `rank` of every process's nodes, in rank order.
                self.mine.clear();
                self.counts.clear();
                for q in 0..size {
                    let seg = segment(len, q, size);
                    for n in &self.stack {
                        self.mine.extend_from_slice(&n.grads[seg.clone()]);
                    }
                    self.counts.push(self.stack.len() * seg.len());
                }
                self.counts_recv.clear();
                self.counts_recv.extend(self.counts_loss.iter().map(|&nodes| nodes * mine.len()));
                self.gathered.resize(self.index.len() * mine.len(), 0.0);
                // Any process sends its nodes whole and receives a segment of every node.
                let nodes = self.counts_loss.iter().max().copied().unwrap_or(0);
                let most = (nodes * len).max(self.index.len() * len.div_ceil(size));
                p.all_to_all_f32(&self.mine, &self.counts, &mut self.gathered, &self.counts_recv, most)?;
                self.mine_loss.clear();
                self.mine_loss.extend(self.stack.iter().map(|n| n.loss));
                self.gathered_loss.resize(self.index.len(), 0.0);
                p.all_gather_f64(&self.mine_loss, &self.counts_loss, &mut self.gathered_loss)?;
                // Complete the tree on this segment, then gather every segment.
                self.segment.resize(mine.len(), 0.0);
                let loss = self.complete(m, mine.len());
                self.counts.clear();
                self.counts.extend((0..size).map(|q| segment(len, q, size).len()));
                p.all_gather_f32(&self.segment, &self.counts, out)?;
                return Ok(loss);
            }
        }
        self.segment.resize(len, 0.0);
        let loss = self.complete(m, len);
        out.copy_from_slice(&self.segment);
        Ok(loss)
    }

    /// The tree completed from the gathered nodes (each `len` values) into `segment`;
    /// the batch's loss.
    fn complete(&mut self, m: usize, len: usize) -> f64 {
        let top = if m <= 1 { 0 } else { usize::BITS - (m - 1).leading_zeros() };
        while self.levels.len() < top as usize + 1 {
            self.levels.push(Vec::new());
        }
        for l in &mut self.levels {
            l.resize(len, 0.0);
        }
        let given = (&self.index[..], &self.gathered[..], &self.gathered_loss[..]);
        node(0, top, m, given, &mut self.levels, &mut self.segment[..len])
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
    let right_buf = &mut scratch[0][..out.len()];
    let right = node(a + (1 << (l - 1)), l - 1, m, given, below, right_buf);
    add(out, right_buf);
    left + right
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::random::{self, Stream};

    /// Processes as threads: each exchange publishes this process's values, waits for
    /// every other, reads what it needs, and waits again before the slots are reused.
    pub(in crate::train) struct Table {
        rank: usize,
        size: usize,
        shared: std::sync::Arc<(std::sync::Mutex<Vec<Vec<f64>>>, std::sync::Barrier)>,
    }

    impl Table {
        pub(in crate::train) fn group(size: usize) -> Vec<Table> {
            let shared = std::sync::Arc::new((
                std::sync::Mutex::new(vec![Vec::new(); size]),
                std::sync::Barrier::new(size),
            ));
            (0..size).map(|rank| Table { rank, size, shared: shared.clone() }).collect()
        }

        /// Publish `mine`; `read(slots)` once every process has published.
        fn exchange(&self, mine: Vec<f64>, read: impl FnOnce(&[Vec<f64>])) {
            let (slots, barrier) = &*self.shared;
            slots.lock().unwrap()[self.rank] = mine;
            barrier.wait();
            read(&slots.lock().unwrap());
            barrier.wait();
        }
    }

    impl Peers for Table {
        fn rank(&self) -> usize {
            self.rank
        }
        fn size(&self) -> usize {
            self.size
        }
        fn all_gather_f32(&mut self, mine: &[f32], counts: &[usize], all: &mut [f32]) -> Result<()> {
            self.exchange(mine.iter().map(|&v| f64::from(v)).collect(), |t| {
                let mut at = 0;
                for (r, &c) in counts.iter().enumerate() {
                    assert_eq!(t[r].len(), c);
                    all[at..at + c].iter_mut().zip(&t[r]).for_each(|(a, &v)| *a = v as f32);
                    at += c;
                }
            });
            Ok(())
        }
        fn all_gather_f64(&mut self, mine: &[f64], counts: &[usize], all: &mut [f64]) -> Result<()> {
            self.exchange(mine.to_vec(), |t| {
                let mut at = 0;
                for (r, &c) in counts.iter().enumerate() {
                    assert_eq!(t[r].len(), c);
                    all[at..at + c].copy_from_slice(&t[r]);
                    at += c;
                }
            });
            Ok(())
        }
        fn all_to_all_f32(
            &mut self,
            send: &[f32],
            send_counts: &[usize],
            recv: &mut [f32],
            recv_counts: &[usize],
            most: usize,
        ) -> Result<()> {
            // The bound holds here and every process passes the same.
            assert!(send.len() <= most && recv.len() <= most, "{} or {} over {most}", send.len(), recv.len());
            // Each publishes its bound and counts, then its values.
            let mut v: Vec<f64> = vec![most as f64];
            v.extend(send_counts.iter().map(|&c| c as f64));
            v.extend(send.iter().map(|&x| f64::from(x)));
            let (rank, size) = (self.rank, self.size);
            self.exchange(v, |t| {
                let mut at = 0;
                for (p, &c) in recv_counts.iter().enumerate() {
                    assert_eq!(t[p][0], most as f64, "process {p} passed another bound");
                    let counts: Vec<usize> = t[p][1..=size].iter().map(|&x| x as usize).collect();
                    assert_eq!(counts[rank], c);
                    let from = 1 + size + counts[..rank].iter().sum::<usize>();
                    recv[at..at + c].iter_mut().zip(&t[p][from..from + c]).for_each(|(a, &v)| *a = v as f32);
                    at += c;
                }
            });
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

    /// `size` processes, each in a thread: every process's sum and loss.
    fn processes(leaves: &[Vec<f32>], size: usize) -> Vec<(Vec<f32>, f64)> {
        let m = leaves.len();
        let len = leaves[0].len();
        std::thread::scope(|s| {
            let handles: Vec<_> = Table::group(size)
                .into_iter()
                .map(|mut p| {
                    s.spawn(move || {
                        let mut t = TreeSum::new(len);
                        for j in owned(m, p.rank, size) {
                            t.push(j, &leaves[j], j as f64 * 0.1 + 1e-9);
                        }
                        let mut out = vec![0.0; len];
                        let loss = t.finish(m, Some(&mut p), &mut out).unwrap();
                        (out, loss)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    /// The sum is the same bits for every process count, on every process, for every
    /// batch shape (including micro-batch counts that are not powers of two, and more
    /// processes than micro-batches).
    #[test]
    fn the_sum_does_not_depend_on_the_process_count() {
        for (m, len) in (1..=19).map(|m| (m, 37)).chain([(5, 3), (9, 2)]) {
            let ls = leaves(m, len, m as u64);
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
