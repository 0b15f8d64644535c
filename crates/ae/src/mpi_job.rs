//! Data-parallel training under `mpirun`: whether this process is one rank of an MPI
//! job, and the MPI world as the library's [`Peers`] (`MPI_Alltoallv` and
//! `MPI_Allgatherv` with counts every rank knows, an exchange too large for one call's
//! C-int counts in rounds every rank makes alike; the library adds the partial
//! gradients in its fixed tree, never MPI).

use autoencoder::{Error, Peers, Result};

/// Whether `mpirun` (OpenMPI, or a PMI launcher such as MPICH's or Slurm's) started
/// this process, and how many processes it started.
pub fn launched_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .and_then(|v| v.trim().parse().ok())
}

/// This rank of the MPI job (MPI initialised for the process's life).
pub struct Job {
    #[cfg(feature = "mpi")]
    _universe: mpi::environment::Universe,
    rank: usize,
    size: usize,
    /// The ranks on this machine (this one included).
    local: usize,
}

impl Job {
    /// The job this process is a rank of, or `None` when no launcher started it. An
    /// `ae` built without the `mpi` feature refuses a job of more than one process
    /// (each would train alone and write the same file).
    pub fn detect() -> Result<Option<Job>> {
        let Some(size) = launched_size() else { return Ok(None) };
        Job::start(size)
    }

    #[cfg(feature = "mpi")]
    fn start(_size: usize) -> Result<Option<Job>> {
        use mpi::traits::Communicator;
        // Serialized: the calls come from whichever thread runs the training step
        // (a worker of the private pool with --threads > 1), one at a time.
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Serialized)
            .ok_or_else(|| Error::config("mpi", "MPI could not be initialised (MPI_Init_thread failed)"))?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        // The ranks that share this machine's memory (MPI_Comm_split_type, shared).
        let local = world.split_shared(world.rank()).size() as usize;
        Ok(Some(Job { _universe: universe, rank, size, local }))
    }

    #[cfg(not(feature = "mpi"))]
    fn start(size: usize) -> Result<Option<Job>> {
        if size > 1 {
            return Err(Error::config(
                "mpi",
                format!(
                    "ae runs under mpirun as one of {size} processes, but was built without MPI; build it with `cargo build --release -p autoencoder-cli --features mpi` (needs libopenmpi-dev)"
                ),
            ));
        }
        Ok(Some(Job { rank: 0, size: 1, local: 1 }))
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The ranks on this machine, this one included: what share of its memory a rank
    /// takes by default.
    pub fn local_size(&self) -> usize {
        self.local
    }

    /// The job as the library's peers (none for a job of one process without MPI).
    pub fn peers(&self) -> Option<Box<dyn Peers>> {
        #[cfg(feature = "mpi")]
        return Some(Box::new(World { rank: self.rank, size: self.size, limits: Limits::of_mpi() }));
        #[cfg(not(feature = "mpi"))]
        None
    }
}

/// The MPI world communicator, fetched on each call (a handle to MPI's global world;
/// holding none keeps this `Send`).
#[cfg(feature = "mpi")]
struct World {
    rank: usize,
    size: usize,
    limits: Limits,
}

/// How many values an exchange moves for a process in one MPI call.
#[cfg(feature = "mpi")]
#[derive(Clone, Copy, Debug)]
struct Limits {
    /// What one call may move: MPI's counts and displacements are C ints.
    call: usize,
    /// What one round of an exchange too large for a call moves: the buffers a round
    /// packs its pieces into are this large (2²⁶ values, 256 MiB of `f32`).
    round: usize,
}

#[cfg(feature = "mpi")]
impl Limits {
    /// MPI's limits; the environment variable `AE_MPI_CALL_VALUES` lowers both to its
    /// value, so that the tests split exchanges of a few thousand values into rounds as
    /// those of billions are split.
    fn of_mpi() -> Limits {
        let call = i32::MAX as usize;
        match std::env::var("AE_MPI_CALL_VALUES").ok().and_then(|v| v.trim().parse::<usize>().ok()) {
            Some(n) if n > 0 => Limits { call: n.min(call), round: n.min(call) },
            _ => Limits { call, round: 1 << 26 },
        }
    }

    /// The values of one part (one process's, or what one process sends to another) a
    /// round moves, among `size` processes: a round's parts add up to at most `round`.
    fn piece(&self, size: usize) -> usize {
        (self.round / size.max(1)).max(1)
    }
}

#[cfg(feature = "mpi")]
impl World {
    /// `MPI_Allgatherv` with the counts every rank knows: in one call, or, when the
    /// parts add up to more than a call moves, in rounds that each gather a piece of
    /// every part (every rank knows the counts, so every rank makes the same rounds).
    fn gather<T: mpi::datatype::Equivalence + Copy + Default>(
        &self,
        mine: &[T],
        counts: &[usize],
        all: &mut [T],
    ) -> Result<()> {
        use mpi::datatype::PartitionMut;
        use mpi::traits::CommunicatorCollectives;
        let world = mpi::topology::SimpleCommunicator::world();
        let call = |mine: &[T], counts: &[usize], all: &mut [T]| -> Result<()> {
            let (counts, displs) = counts_and_displacements(counts)?;
            let mut partition = PartitionMut::new(all, &counts[..], &displs[..]);
            world.all_gather_varcount_into(mine, &mut partition);
            Ok(())
        };
        if counts.iter().sum::<usize>() <= self.limits.call {
            return call(mine, counts, all);
        }
        rounds::gather(mine, counts, all, self.limits.piece(self.size), call)
    }
}

/// MPI's counts and displacements (C ints) for parts of `counts` values in order.
#[cfg(feature = "mpi")]
fn counts_and_displacements(counts: &[usize]) -> Result<(Vec<mpi::Count>, Vec<mpi::Count>)> {
    // Exchanges are cut into calls that fit (`Limits`): this is a guard.
    let too_big =
        || Error::config("mpi", "a call of more than 2³¹ values; an exchange was not cut into rounds");
    let counts: Vec<mpi::Count> =
        counts.iter().map(|&c| mpi::Count::try_from(c).map_err(|_| too_big())).collect::<Result<_>>()?;
    let mut displs = Vec::with_capacity(counts.len());
    let mut at: mpi::Count = 0;
    for &c in &counts {
        displs.push(at);
        at = at.checked_add(c).ok_or_else(too_big)?;
    }
    Ok((counts, displs))
}

#[cfg(feature = "mpi")]
impl Peers for World {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_gather_f32(&mut self, mine: &[f32], counts: &[usize], all: &mut [f32]) -> Result<()> {
        self.gather(mine, counts, all)
    }
    fn all_gather_f64(&mut self, mine: &[f64], counts: &[usize], all: &mut [f64]) -> Result<()> {
        self.gather(mine, counts, all)
    }
    /// `MPI_Alltoallv`: in one call, or, when `most` (the bound every rank passes
    /// alike) is more than a call moves, in the rounds it gives every rank.
    fn all_to_all_f32(
        &mut self,
        send: &[f32],
        send_counts: &[usize],
        recv: &mut [f32],
        recv_counts: &[usize],
        most: usize,
    ) -> Result<()> {
        use mpi::datatype::{Partition, PartitionMut};
        use mpi::traits::CommunicatorCollectives;
        let world = mpi::topology::SimpleCommunicator::world();
        let call =
            |send: &[f32], send_counts: &[usize], recv: &mut [f32], recv_counts: &[usize]| -> Result<()> {
                let (sc, sd) = counts_and_displacements(send_counts)?;
                let (rc, rd) = counts_and_displacements(recv_counts)?;
                let send = Partition::new(send, &sc[..], &sd[..]);
                let mut recv = PartitionMut::new(recv, &rc[..], &rd[..]);
                world.all_to_all_varcount_into(&send, &mut recv);
                Ok(())
            };
        if most <= self.limits.call {
            return call(send, send_counts, recv, recv_counts);
        }
        rounds::all_to_all(send, send_counts, recv, recv_counts, most, self.limits.piece(self.size), call)
    }
}

/// Exchanges cut into rounds that each move a piece of every part, the same rounds on
/// every process: what MPI's C-int counts need for exchanges of more than 2³¹ values.
#[cfg(feature = "mpi")]
mod rounds {
    use autoencoder::Result;
    use std::ops::Range;

    /// Piece `round` of a part of `count` values cut into pieces of `cap`: where it lies
    /// in the part (empty once the part is spent).
    fn piece(count: usize, round: usize, cap: usize) -> Range<usize> {
        let start = round.saturating_mul(cap).min(count);
        start..start.saturating_add(cap).min(count)
    }

    /// Where each of parts of `counts` values starts, laid end to end.
    fn starts(counts: &[usize]) -> Vec<usize> {
        counts.iter().scan(0, |at, &c| Some(std::mem::replace(at, *at + c))).collect()
    }

    /// The lengths of piece `round` of parts of `counts` values, into `lens`.
    fn piece_lens(counts: &[usize], round: usize, cap: usize, lens: &mut [usize]) {
        for (n, &c) in lens.iter_mut().zip(counts) {
            *n = piece(c, round, cap).len();
        }
    }

    /// The pieces `round` of parts of `counts` values (starting at `at` in `dest`), laid
    /// end to end in `got` as a call receives them, each put in its place in `dest`.
    fn place<T: Copy>(got: &[T], counts: &[usize], at: &[usize], round: usize, cap: usize, dest: &mut [T]) {
        let mut from = 0;
        for (&a, &c) in at.iter().zip(counts) {
            let p = piece(c, round, cap);
            dest[a + p.start..a + p.end].copy_from_slice(&got[from..from + p.len()]);
            from += p.len();
        }
    }

    /// An all-gather (`mine` into `all`, parts of `counts` values in process order)
    /// made of one `call` a round, each gathering piece `r` of every part (of at most
    /// `cap` values): as many rounds as the largest part has pieces.
    pub(super) fn gather<T: Copy + Default>(
        mine: &[T],
        counts: &[usize],
        all: &mut [T],
        cap: usize,
        mut call: impl FnMut(&[T], &[usize], &mut [T]) -> Result<()>,
    ) -> Result<()> {
        let rounds = counts.iter().map(|c| c.div_ceil(cap)).max().unwrap_or(0);
        let at = starts(counts);
        let (mut piece_counts, mut got) = (vec![0; counts.len()], Vec::new());
        for r in 0..rounds {
            piece_lens(counts, r, cap, &mut piece_counts);
            got.clear();
            got.resize(piece_counts.iter().sum(), T::default());
            call(&mine[piece(mine.len(), r, cap)], &piece_counts, &mut got)?;
            place(&got, counts, &at, r, cap, all);
        }
        Ok(())
    }

    /// An all-to-all (`send` cut into `send_counts`, `recv` into `recv_counts`) made of
    /// one `call` a round, each moving piece `r` (of at most `cap` values) of what each
    /// process sends each other. No part is larger than `most`, the bound every process
    /// passes alike, so `⌈most / cap⌉` rounds move them all, on every process.
    pub(super) fn all_to_all(
        send: &[f32],
        send_counts: &[usize],
        recv: &mut [f32],
        recv_counts: &[usize],
        most: usize,
        cap: usize,
        mut call: impl FnMut(&[f32], &[usize], &mut [f32], &[usize]) -> Result<()>,
    ) -> Result<()> {
        let (send_at, recv_at) = (starts(send_counts), starts(recv_counts));
        let (mut out, mut out_counts) = (Vec::new(), vec![0; send_counts.len()]);
        let (mut got, mut got_counts) = (Vec::new(), vec![0; recv_counts.len()]);
        for r in 0..most.div_ceil(cap) {
            out.clear();
            for ((n, &c), &a) in out_counts.iter_mut().zip(send_counts).zip(&send_at) {
                let p = piece(c, r, cap);
                out.extend_from_slice(&send[a + p.start..a + p.end]);
                *n = p.len();
            }
            piece_lens(recv_counts, r, cap, &mut got_counts);
            got.clear();
            got.resize(got_counts.iter().sum(), 0.0);
            call(&out, &out_counts, &mut got, &got_counts)?;
            place(&got, recv_counts, &recv_at, r, cap, recv);
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::sync::{Arc, Condvar, Mutex};
        use std::time::Duration;

        /// `size` processes as threads, meeting at each call: each posts its values,
        /// and once all have, reads what it receives. A process that makes a call the
        /// others do not fails (within seconds) where MPI would hang.
        struct Group {
            posted: Mutex<(Vec<Vec<f32>>, usize, usize)>,
            met: Condvar,
            size: usize,
        }

        impl Group {
            fn new(size: usize) -> Arc<Group> {
                Arc::new(Group {
                    posted: Mutex::new((vec![Vec::new(); size], 0, 0)),
                    met: Condvar::new(),
                    size,
                })
            }

            /// Wait until every process has arrived (the gate's generation moves on).
            fn meet(&self, mut g: std::sync::MutexGuard<'_, (Vec<Vec<f32>>, usize, usize)>) {
                let generation = g.2;
                g.1 += 1;
                if g.1 == self.size {
                    (g.1, g.2) = (0, generation + 1);
                    self.met.notify_all();
                    return;
                }
                let (_g, waited) =
                    self.met.wait_timeout_while(g, Duration::from_secs(10), |g| g.2 == generation).unwrap();
                assert!(!waited.timed_out(), "the processes made different calls");
            }

            /// Post `mine` as process `rank`, then `read` everyone's posts.
            fn call<T>(&self, rank: usize, mine: Vec<f32>, read: impl FnOnce(&[Vec<f32>]) -> T) -> T {
                let mut g = self.posted.lock().unwrap();
                g.0[rank] = mine;
                self.meet(g);
                let out = read(&self.posted.lock().unwrap().0);
                self.meet(self.posted.lock().unwrap());
                out
            }
        }

        /// A small generator for counts (xorshift).
        fn draws(mut x: u64) -> impl FnMut(usize) -> usize {
            move |n| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % n as u64) as usize
            }
        }

        /// Every process receives by rounds what one call would give it, each call moves
        /// at most `size · cap` values for a process, and the rounds end together.
        #[test]
        fn an_all_to_all_in_rounds_moves_what_one_call_moves() {
            let mut draw = draws(0x9e37_79b9_7f4a_7c15);
            for case in 0..60 {
                let size = 1 + case % 4;
                let cap = 1 + draw(7);
                // counts[p][q]: what p sends q; some parts empty, some many pieces long.
                let counts: Vec<Vec<usize>> = (0..size)
                    .map(|_| (0..size).map(|_| if draw(4) == 0 { 0 } else { draw(30) }).collect())
                    .collect();
                let value = |p: usize, q: usize, i: usize| (p * 1_000_000 + q * 10_000 + i) as f32;
                let tight = (0..size)
                    .map(|p| counts[p].iter().sum::<usize>().max((0..size).map(|q| counts[q][p]).sum()))
                    .max()
                    .unwrap();
                // The bound as given, and a looser one (rounds that move nothing).
                let most = tight + if case % 3 == 0 { draw(10) } else { 0 };
                let group = Group::new(size);
                std::thread::scope(|s| {
                    for me in 0..size {
                        let (group, counts) = (group.clone(), &counts);
                        s.spawn(move || {
                            let send_counts = counts[me].clone();
                            let recv_counts: Vec<usize> = (0..size).map(|p| counts[p][me]).collect();
                            let send: Vec<f32> = (0..size)
                                .flat_map(|q| (0..counts[me][q]).map(move |i| value(me, q, i)))
                                .collect();
                            let mut recv = vec![f32::NAN; recv_counts.iter().sum()];
                            all_to_all(
                                &send,
                                &send_counts,
                                &mut recv,
                                &recv_counts,
                                most,
                                cap,
                                |out, oc, got, gc| {
                                    assert!(
                                        out.len() <= size * cap && got.len() <= size * cap,
                                        "a call over the round"
                                    );
                                    let mut post = oc.to_vec().iter().map(|&c| c as f32).collect::<Vec<_>>();
                                    post.extend_from_slice(out);
                                    group.call(me, post, |all| {
                                        let mut at = 0;
                                        for (p, &c) in gc.iter().enumerate() {
                                            let theirs: Vec<usize> =
                                                all[p][..size].iter().map(|&c| c as usize).collect();
                                            assert_eq!(
                                                theirs[me], c,
                                                "process {p} cut another piece for {me}"
                                            );
                                            let from = size + theirs[..me].iter().sum::<usize>();
                                            got[at..at + c].copy_from_slice(&all[p][from..from + c]);
                                            at += c;
                                        }
                                    });
                                    Ok(())
                                },
                            )
                            .unwrap();
                            let want: Vec<f32> = (0..size)
                                .flat_map(|p| (0..counts[p][me]).map(move |i| value(p, me, i)))
                                .collect();
                            assert_eq!(recv, want, "case {case}: process {me} of {size}, pieces of {cap}");
                        });
                    }
                });
            }
        }

        /// The same for an all-gather: every process gets every part whole, in order.
        #[test]
        fn an_all_gather_in_rounds_gathers_what_one_call_gathers() {
            let mut draw = draws(0x2545_f491_4f6c_dd1d);
            for case in 0..60 {
                let size = 1 + case % 4;
                let cap = 1 + draw(7);
                let counts: Vec<usize> = (0..size).map(|_| if draw(4) == 0 { 0 } else { draw(30) }).collect();
                let value = |p: usize, i: usize| (p * 10_000 + i) as f32;
                let want: Vec<f32> =
                    (0..size).flat_map(|p| (0..counts[p]).map(move |i| value(p, i))).collect();
                let group = Group::new(size);
                std::thread::scope(|s| {
                    for me in 0..size {
                        let (group, counts, want) = (group.clone(), &counts, &want);
                        s.spawn(move || {
                            let mine: Vec<f32> = (0..counts[me]).map(|i| value(me, i)).collect();
                            let mut all = vec![f32::NAN; want.len()];
                            gather(&mine, counts, &mut all, cap, |mine, pc, got| {
                                assert!(got.len() <= size * cap, "a call over the round");
                                assert_eq!(mine.len(), pc[me]);
                                group.call(me, mine.to_vec(), |posted| {
                                    let mut at = 0;
                                    for (p, &c) in pc.iter().enumerate() {
                                        assert_eq!(posted[p].len(), c);
                                        got[at..at + c].copy_from_slice(&posted[p]);
                                        at += c;
                                    }
                                });
                                Ok(())
                            })
                            .unwrap();
                            assert_eq!(&all, want, "case {case}: process {me} of {size}, pieces of {cap}");
                        });
                    }
                });
            }
        }
    }
}
