//! The thread policy: one explicit setting passed down, a private pool per model, and
//! denormals flushed to zero on every thread that computes.

use std::marker::PhantomData;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many threads the engine may use. `Threads::new(1)` runs everything on the
/// calling thread; more threads run the matrix products on a private rayon pool
/// (never the global one), whose workers flush denormals to zero.
#[derive(Clone)]
pub struct Threads {
    n: usize,
    pool: Option<Arc<rayon::ThreadPool>>,
    /// How many [`Threads::keep_awake`] guards are alive: while one is, a training step's
    /// passes wait for their other blocks by spinning ([`Threads::for_each_block`]). With
    /// the pool (one thread has none, and making one allocates nothing).
    awake: Option<Arc<AtomicUsize>>,
}

impl std::fmt::Debug for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Threads({})", self.n)
    }
}

/// The most threads a [`Threads`] may have. Far above any machine this engine targets
/// (each thread computes on a core of its own); a guard against settings such as
/// `--threads 18446744073709551615`, which would otherwise start threads until the
/// machine stops answering.
pub const MAX_THREADS: usize = 1024;

impl Threads {
    /// `n` threads; `0` means every core this process may use. A count above
    /// [`MAX_THREADS`] is lowered to it (use [`Threads::try_new`] to refuse it instead).
    pub fn new(n: usize) -> Self {
        let n = if n == 0 { std::thread::available_parallelism().map(|v| v.get()).unwrap_or(1) } else { n };
        let n = n.min(MAX_THREADS);
        let pool = if n > 1 {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|i| format!("ae-worker-{i}"))
                .start_handler(|_| {
                    // Workers live as long as the pool: the flag stays set for them.
                    std::mem::forget(FlushDenormals::enable());
                })
                .build()
                .ok()
                .map(Arc::new)
        } else {
            None
        };
        let n = if pool.is_some() { n } else { 1 };
        let awake = pool.as_ref().map(|_| Arc::new(AtomicUsize::new(0)));
        Threads { n, pool, awake }
    }

    /// `n` threads as [`Threads::new`] makes them, or an error naming the `threads`
    /// setting when `n` is above [`MAX_THREADS`] (checked before any thread starts).
    pub fn try_new(n: usize) -> crate::error::Result<Self> {
        if n > MAX_THREADS {
            return Err(crate::error::Error::config(
                "threads",
                format!("{n} threads: expected 0 (every core) to {MAX_THREADS}"),
            ));
        }
        Ok(Threads::new(n))
    }

    /// The number of threads.
    pub fn count(&self) -> usize {
        self.n
    }

    /// Run `f` with this setting in force: inside the private pool when there is one,
    /// with denormals flushed on the calling thread for the duration.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let _ftz = FlushDenormals::enable();
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

impl Threads {
    /// `f(i, a_chunk, b_chunk)` for each pair of `a`'s chunks of `a_len` (mutable) and
    /// `b`'s chunks of `b_len`, the pairs spread over the pool's threads when there is
    /// one (in order on the calling thread otherwise). Each chunk is independent, so the
    /// result does not depend on the thread count.
    pub fn for_each_chunk_pair<A: Send, B: Sync>(
        &self,
        a: &mut [A],
        a_len: usize,
        b: &[B],
        b_len: usize,
        f: impl Fn(&mut [A], &[B]) + Send + Sync,
    ) {
        match &self.pool {
            Some(pool) if a.len() > a_len => {
                use rayon::prelude::*;
                pool.install(|| a.par_chunks_mut(a_len).zip(b.par_chunks(b_len)).for_each(|(x, y)| f(x, y)));
            }
            _ => a.chunks_mut(a_len).zip(b.chunks(b_len)).for_each(|(x, y)| f(x, y)),
        }
    }
}

impl Threads {
    /// `f(0)`, …, `f(count − 1)`, spread over the pool's threads when there is one (in
    /// order on the calling thread otherwise): one task per block of a split pass. Each
    /// task must touch only its own block, so the result does not depend on the thread
    /// count.
    pub fn for_each_index(&self, count: usize, f: impl Fn(usize) + Send + Sync) {
        match &self.pool {
            Some(pool) if count > 1 => {
                use rayon::prelude::*;
                pool.install(|| (0..count).into_par_iter().with_max_len(1).for_each(f));
            }
            _ => (0..count).for_each(f),
        }
    }

    /// [`for_each_index`](Self::for_each_index) for the passes of a training step, one
    /// block a thread (`count` at most the thread count), called by the worker that drives
    /// the steps while the others are kept awake ([`keep_awake`](Self::keep_awake)): it
    /// then waits for the other blocks by spinning ([`spin_join`]) rather than in rayon's
    /// join, which may sleep. The same tasks run as in `for_each_index`, so the results
    /// are the same. Not for a pass inside another pass's task: the other workers would be
    /// busy with their own tasks rather than waiting for this one's, and the caller would
    /// spin [`START_WAIT`] before running its blocks itself (correct, but slower). The row
    /// split's passes run on the driver alone (a micro-batch lane's passes run on one
    /// thread).
    pub(crate) fn for_each_block(&self, count: usize, f: impl Fn(usize) + Send + Sync) {
        match &self.pool {
            Some(pool)
                if count > 1
                    && count <= self.n
                    && self.awake.as_ref().is_some_and(|a| a.load(Ordering::Relaxed) > 0)
                    && pool.current_thread_index().is_some() =>
            {
                spin_join(count, &f)
            }
            _ => self.for_each_index(count, f),
        }
    }

    /// `f(i, &mut items[i])` for every item, spread over the pool's threads when there is
    /// one (in order on the calling thread otherwise): one task per item, each with its
    /// own state (such as a workspace per thread).
    pub fn for_each_mut<T: Send>(&self, items: &mut [T], f: impl Fn(usize, &mut T) + Send + Sync) {
        match &self.pool {
            Some(pool) if items.len() > 1 => {
                use rayon::prelude::*;
                pool.install(|| items.par_iter_mut().enumerate().with_max_len(1).for_each(|(i, x)| f(i, x)));
            }
            _ => items.iter_mut().enumerate().for_each(|(i, x)| f(i, x)),
        }
    }

    /// `f()` once on every thread of the pool (on the calling thread when there is
    /// none): to set up what each thread keeps for itself, such as faer's per-thread
    /// packing buffers, before the work that must not allocate.
    pub fn on_every_thread(&self, f: impl Fn() + Send + Sync) {
        match &self.pool {
            Some(pool) => {
                pool.broadcast(|_| f());
            }
            None => f(),
        }
    }
}

/// A buffer the blocks of a split pass share, each writing only its own range of it.
#[derive(Clone, Copy)]
pub(crate) struct Shared<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: a `Shared` is only used inside one split pass, whose tasks touch disjoint
// ranges of it (see `Shared::get`); the buffer outlives the pass.
unsafe impl<T: Send> Send for Shared<T> {}
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    pub(crate) fn new(v: &mut [T]) -> Self {
        Shared { ptr: v.as_mut_ptr(), len: v.len() }
    }

    /// The values `r`, or none when the buffer is empty (the state an optimizer keeps
    /// none of: [`get`](Self::get) otherwise).
    ///
    /// # Safety
    /// As [`get`](Self::get).
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn part(&self, r: Range<usize>) -> &mut [T] {
        // SAFETY: the caller's contract; an empty range touches nothing.
        unsafe { self.get(if self.len == 0 { 0..0 } else { r }) }
    }

    /// The values `r`.
    ///
    /// # Safety
    /// No other live reference to this buffer overlaps `r`, and the buffer is alive:
    /// each task of a split pass takes only its own block's range.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn get(&self, r: Range<usize>) -> &mut [T] {
        assert!(r.start <= r.end && r.end <= self.len, "block {r:?} of {}", self.len);
        // SAFETY: in bounds (asserted); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r.start), r.len()) }
    }
}

/// How long the caller of a split pass spins for another block that no worker has
/// started ([`spin_join`]) before leaving it to rayon's join, which runs it on the caller.
const START_WAIT: Duration = Duration::from_micros(50);
/// How long the caller of a split pass spins for the other blocks to end before leaving
/// the wait to rayon's join (which sleeps).
const END_WAIT: Duration = Duration::from_millis(2);

/// [`Threads::for_each_block`]'s pass: `f(0)` on this worker, `f(1..count)` on the
/// others, then a spin until they have ended, so that rayon's join finds them done.
/// Rayon's own wait gives up its core after a few dozen rounds (tens of microseconds),
/// and waking it again takes a system call and, in a virtual machine, an interrupt
/// between vCPUs. Measured with model A at two threads on a 2-vCPU Xeon (`ae train` on
/// Fashion-MNIST): without the spin the driving worker slept about once a step (2,600
/// times a second) and the epochs ran at 224–279 thousand rows a second; with it, about
/// once a second and 270–313 thousand (the same model bytes). The same tasks run, so the
/// results are the same; the spin is bounded ([`START_WAIT`], [`END_WAIT`]), and a block
/// no other worker has taken is run by the join on this worker, as without it.
fn spin_join(count: usize, f: &(impl Fn(usize) + Send + Sync)) {
    use rayon::prelude::*;
    let (started, done) = (AtomicUsize::new(0), AtomicUsize::new(0));
    rayon::join(
        || {
            f(0);
            let since = Instant::now();
            let mut polls = 0u32;
            while done.load(Ordering::Acquire) < count - 1 {
                std::hint::spin_loop();
                polls = polls.wrapping_add(1);
                if polls.is_multiple_of(64) {
                    let waited = since.elapsed();
                    let limit = if started.load(Ordering::Relaxed) > 0 { END_WAIT } else { START_WAIT };
                    if waited > limit {
                        break;
                    }
                }
            }
        },
        || {
            (1..count).into_par_iter().with_max_len(1).for_each(|i| {
                started.fetch_add(1, Ordering::Relaxed);
                f(i);
                done.fetch_add(1, Ordering::Release);
            })
        },
    );
}

/// How long a worker kept awake spins without work before it polls in naps instead.
const AWAKE_SPIN: Duration = Duration::from_millis(2);
/// A nap between polls of a worker kept awake that has had no work for [`AWAKE_SPIN`].
const AWAKE_NAP: Duration = Duration::from_micros(100);

/// Keeps the pool's other workers polling for work while alive ([`Threads::keep_awake`]).
/// Dropping it lets them go back to rayon's usual sleep.
#[must_use = "the workers stay awake only while the guard is held"]
pub struct Awake<'a> {
    stop: Option<Arc<AtomicBool>>,
    /// The pool's count of live guards (when there is a pool).
    awake: Option<&'a AtomicUsize>,
    _threads: PhantomData<&'a Threads>,
}

impl Threads {
    /// Keep the pool's other workers awake, polling for blocks, until the guard drops:
    /// for a loop of many short parallel passes, such as training steps.
    ///
    /// A rayon worker with nothing to do sleeps after a few dozen rounds of looking, and
    /// waking it takes a system call and, in a virtual machine, an interrupt between
    /// vCPUs. Measured on a 2-vCPU VM (Xeon with AVX-512, `examples/join_latency.rs`):
    /// a pass of two 20 µs blocks took 23–27 µs back to back but 58–81 µs after 50 µs or
    /// more of idleness, the sleeper taking its block 4–23 % of the time; two 100 µs
    /// blocks 100 µs apart took 188–203 µs. Kept awake: 22–26 µs and 103–110 µs, the
    /// other worker taking its block 98–100 % of the time. On that machine `fit` at two
    /// threads took 0.82× the time per epoch for model A, 0.88× for B and 0.90× for the
    /// conv model C (medians of 5 interleaved rounds, the same model bytes). While
    /// the guard is held each other worker runs a loop that takes any job the pool has
    /// (`rayon::yield_now`), and otherwise spins, yielding its core to the system every
    /// 64 polls so that an oversubscribed machine still runs the thread that has work;
    /// after 2 ms without work it polls every 100 µs instead (a serial stretch, such as
    /// a wait on other processes, does not hold a core busy). The worker that calls this
    /// (when it is one of the pool's) is left alone. The cost is a busy core per worker
    /// while work comes often; results do not change (only which thread runs a block
    /// does). With one thread it does nothing.
    pub fn keep_awake(&self) -> Awake<'_> {
        if let Some(awake) = &self.awake {
            awake.fetch_add(1, Ordering::Relaxed);
        }
        let stop = self.pool.as_ref().map(|pool| {
            let stop = Arc::new(AtomicBool::new(false));
            let caller = pool.current_thread_index();
            let flag = Arc::clone(&stop);
            pool.spawn_broadcast(move |ctx| {
                if Some(ctx.index()) != caller {
                    poll_for_jobs_until(&flag);
                }
            });
            stop
        });
        Awake { stop, awake: self.awake.as_deref(), _threads: PhantomData }
    }
}

/// A kept-awake worker's loop: any job the pool has, until `stop` is set; between jobs
/// a spin, the core given to the system every 64 polls, naps after [`AWAKE_SPIN`] idle.
fn poll_for_jobs_until(stop: &AtomicBool) {
    let mut polls = 0u32;
    let mut idle_since = Instant::now();
    while !stop.load(Ordering::Acquire) {
        if let Some(rayon::Yield::Executed) = rayon::yield_now() {
            polls = 0;
            idle_since = Instant::now();
            continue;
        }
        polls = polls.wrapping_add(1);
        if !polls.is_multiple_of(64) {
            std::hint::spin_loop();
        } else if idle_since.elapsed() < AWAKE_SPIN {
            std::thread::yield_now();
        } else {
            std::thread::sleep(AWAKE_NAP);
        }
    }
}

impl Drop for Awake<'_> {
    fn drop(&mut self) {
        if let Some(awake) = self.awake {
            awake.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(stop) = &self.stop {
            stop.store(true, Ordering::Release);
        }
    }
}

/// Values a block of a split element-wise pass holds at least: below it a join costs
/// more than the second thread saves (a join is a few microseconds; a pass streams about
/// a value per nanosecond).
const MIN_BLOCK_VALUES: usize = 16 * 1024;

impl Threads {
    /// How many blocks of whole `unit`s (`unit_len` values each) a pass over `units` of
    /// them takes: one per thread, fewer when a block would hold under
    /// `MIN_BLOCK_VALUES` values, and at least one.
    pub fn blocks_for(&self, units: usize, unit_len: usize) -> usize {
        let by_size = (units * unit_len.max(1)) / MIN_BLOCK_VALUES;
        self.n.min(by_size).min(units).max(1)
    }

    /// `f(rows, a_rows, b_rows)` over contiguous blocks of whole rows (`width` values
    /// each) of `a` and, when given, `b` (laid out as `a`): `rows` is the block's row
    /// range. One block per thread, spread over the pool ([`blocks_for`](Self::blocks_for));
    /// a small pass, or one thread, is one call on the calling thread. For a pass whose
    /// every row is computed on its own (an element-wise pass) the result does not depend
    /// on the thread count.
    pub fn for_each_rows(
        &self,
        width: usize,
        a: &mut [f32],
        b: Option<&mut [f32]>,
        f: impl Fn(std::ops::Range<usize>, &mut [f32], Option<&mut [f32]>) + Send + Sync,
    ) {
        let width = width.max(1);
        let rows = a.len() / width;
        self.for_each_rows_by(rows.div_ceil(self.blocks_for(rows, width)), width, a, b, f)
    }

    /// [`for_each_rows`](Self::for_each_rows) in blocks of `per` rows (the last with the
    /// rest), spread over the pool when there is more than one: for a pass whose cost is
    /// not its values' count (a bias gradient's columns, each summing every row) or whose
    /// blocks have other bounds (a product's blocks of rows).
    pub fn for_each_rows_by(
        &self,
        per: usize,
        width: usize,
        a: &mut [f32],
        b: Option<&mut [f32]>,
        f: impl Fn(std::ops::Range<usize>, &mut [f32], Option<&mut [f32]>) + Send + Sync,
    ) {
        let width = width.max(1);
        let rows = a.len() / width;
        let per = per.max(1);
        let pool = match &self.pool {
            Some(pool) if rows > per => pool,
            _ => return f(0..rows, &mut a[..rows * width], b.map(|b| &mut b[..rows * width])),
        };
        use rayon::prelude::*;
        let span = |i: usize, len: usize| i * per..i * per + len / width;
        let a = &mut a[..rows * width];
        pool.install(|| match b {
            Some(b) => a
                .par_chunks_mut(per * width)
                .zip(b[..rows * width].par_chunks_mut(per * width))
                .with_max_len(1)
                .enumerate()
                .for_each(|(i, (x, y))| f(span(i, x.len()), x, Some(y))),
            None => a
                .par_chunks_mut(per * width)
                .with_max_len(1)
                .enumerate()
                .for_each(|(i, x)| f(span(i, x.len()), x, None)),
        });
    }
}

impl Default for Threads {
    fn default() -> Self {
        Threads::new(1)
    }
}

/// Sets the FTZ and DAZ bits of the x86 MXCSR register while alive, restoring the
/// previous value on drop. Without it, a deep model's optimizer step slows ten-fold as
/// weights and moments decay into the subnormal range (measured: 0.5 s → 5.5 s per
/// epoch). Subnormal values are below 1.2e-38: flushing them changes no result that
/// matters to training. A no-op on other architectures.
pub struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    previous: u32,
}

impl FlushDenormals {
    /// Turn flushing on for this thread.
    #[allow(deprecated)]
    pub fn enable() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            // SAFETY: reading and writing MXCSR only changes this thread's float mode.
            let previous = unsafe { _mm_getcsr() };
            unsafe { _mm_setcsr(previous | 0x8040) }; // FTZ (bit 15) | DAZ (bit 6)
            FlushDenormals { previous }
        }
        #[cfg(not(target_arch = "x86_64"))]
        FlushDenormals {}
    }
}

impl Drop for FlushDenormals {
    #[allow(deprecated)]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: restores the value read in `enable` on the same thread.
        unsafe {
            std::arch::x86_64::_mm_setcsr(self.previous)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denormals_flush_while_enabled_and_come_back_after() {
        let tiny = std::hint::black_box(1.0e-38_f32);
        let half = std::hint::black_box(0.5_f32);
        {
            let _g = FlushDenormals::enable();
            #[cfg(target_arch = "x86_64")]
            assert_eq!(std::hint::black_box(tiny * half), 0.0);
        }
        assert!(std::hint::black_box(tiny * half) > 0.0);
    }

    /// Counts above the maximum are refused by `try_new` (naming the setting and the
    /// maximum, without starting a thread) and lowered by `new`; the maximum itself and
    /// 1000 are accepted.
    #[test]
    fn thread_counts_above_the_maximum_are_refused() {
        for n in [MAX_THREADS + 1, usize::MAX] {
            let e = Threads::try_new(n).unwrap_err().to_string();
            assert!(e.contains("threads") && e.contains(&MAX_THREADS.to_string()), "{e}");
        }
        const { assert!(MAX_THREADS >= 1000) };
        assert_eq!(Threads::try_new(1).unwrap().count(), 1);
        assert!(Threads::try_new(0).unwrap().count() >= 1);
        let big = Threads::try_new(1000).unwrap();
        assert!(big.count() == 1000 || big.count() == 1, "{}", big.count());
        assert!(Threads::new(usize::MAX).count() <= MAX_THREADS);
    }

    /// While workers are kept awake every block of every pass still runs exactly once,
    /// from inside the pool (the caller's worker left alone) or from outside it (every
    /// worker polling, one of them taking the installed job), nested passes included;
    /// after the guard drops the pool still runs work, and with one thread the guard is
    /// nothing.
    #[test]
    fn workers_kept_awake_run_every_block_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for count in [2, 3] {
            let t = Threads::new(count);
            let hits: Vec<AtomicUsize> = (0..7).map(|_| AtomicUsize::new(0)).collect();
            let pass = |t: &Threads| {
                for _ in 0..200 {
                    t.for_each_index(7, |i| {
                        hits[i].fetch_add(1, Ordering::Relaxed);
                        t.for_each_index(2, |_| {});
                    });
                }
            };
            t.install(|| {
                let _awake = t.keep_awake();
                pass(&t);
            });
            {
                let _awake = t.keep_awake();
                t.install(|| pass(&t));
                pass(&t);
            }
            pass(&t);
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 800), "{count} threads");
        }
        let one = Threads::new(1);
        let _awake = one.keep_awake();
        assert_eq!(one.install(|| 2 + 2), 4);
    }

    #[test]
    fn step_passes_run_every_block_once_and_wait_for_them() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for n in [2, 3] {
            let t = Threads::new(n);
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            // Blocks of unequal length: the caller's ends first and must wait for the
            // others, whose writes it then sees; passes nested in a block or in a task of
            // another pass (which run every block, if later), and with more blocks than
            // threads (the usual join), too.
            let ended: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            let more: Vec<AtomicUsize> = (0..=n).map(|_| AtomicUsize::new(0)).collect();
            // (`round` is `None` for passes that run side by side, which share `ended`.)
            let pass = |t: &Threads, round: Option<usize>| {
                t.for_each_block(n, |b| {
                    std::thread::sleep(std::time::Duration::from_micros(20 * b as u64));
                    t.for_each_block(2, |_| {});
                    hits[b].fetch_add(1, Ordering::Relaxed);
                    if let Some(r) = round {
                        ended[b].store(r + 1, Ordering::Relaxed);
                    }
                });
                if let Some(r) = round {
                    assert!(ended.iter().all(|e| e.load(Ordering::Relaxed) == r + 1), "{n} threads");
                }
            };
            t.install(|| {
                let _awake = t.keep_awake();
                (0..100).for_each(|r| pass(&t, Some(r)));
                t.for_each_index(n, |_| (0..10).for_each(|_| pass(&t, None)));
                t.for_each_block(n + 1, |i| {
                    more[i].fetch_add(1, Ordering::Relaxed);
                });
            });
            assert!(more.iter().all(|h| h.load(Ordering::Relaxed) == 1), "{n} threads, {} blocks", n + 1);
            (200..210).for_each(|r| pass(&t, Some(r)));
            let calls = 100 + 10 * n + 10;
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == calls), "{n} threads");
            // A block that panics ends the pass with its panic, after the others.
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                t.install(|| {
                    let _awake = t.keep_awake();
                    t.for_each_block(n, |b| assert!(b != n - 1, "block {b}"));
                })
            }));
            assert!(caught.is_err());
        }
    }

    #[test]
    fn one_thread_has_no_pool() {
        let t = Threads::new(1);
        assert_eq!(t.count(), 1);
        assert_eq!(t.install(|| 2 + 2), 4);
    }
}
