//! Exact order statistics of more values than memory holds: radix selection over
//! repeated passes (streamed training's row trim, threshold and codec ranges), of values
//! in one process or held in parts by several ([`Parts`]).

use crate::error::Result;

/// Values held in parts by several processes (each its own, the parts in rank order
/// making the whole sequence), and what a computation over all of them needs from the
/// processes between its passes. Every process calls each method at the same point, so
/// that every one ends with the same results: the bits of one process holding every
/// value. [`Whole`] is one process holding them all.
pub trait Parts {
    /// Every process's `counts`, added element by element into each one's.
    fn sum_counts(&mut self, counts: &mut [u64]) -> Result<()>;
    /// Every process's `values`, in rank order, in place of each one's.
    fn gather(&mut self, values: &mut Vec<f64>) -> Result<()>;
    /// `f` applied to `state` by each process in turn, in rank order, each starting from
    /// the state the one before left: every process ends with what one process applying
    /// `f` over every part in order leaves (a sum in sequence, and its bits).
    fn fold(&mut self, state: &mut [f64], f: &mut dyn FnMut(&mut [f64]) -> Result<()>) -> Result<()>;
}

/// One process holding every value: each of [`Parts`]' steps is its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Whole;

impl Parts for Whole {
    fn sum_counts(&mut self, _counts: &mut [u64]) -> Result<()> {
        Ok(())
    }
    fn gather(&mut self, _values: &mut Vec<f64>) -> Result<()> {
        Ok(())
    }
    fn fold(&mut self, state: &mut [f64], f: &mut dyn FnMut(&mut [f64]) -> Result<()>) -> Result<()> {
        f(state)
    }
}

/// The most keys a selection's searches collect to sort, all together (32 MiB): each
/// search collects its range of keys when the range holds at most its share of them
/// (between [`COLLECT_LEAST`] and [`COLLECT_MOST`]); above, it narrows the range by
/// another 8 bits with another pass.
const COLLECT_ALL: usize = 1 << 22;
/// The most keys one search collects (8 MiB), whatever the number of searches.
const COLLECT_MOST: usize = 1 << 20;
/// The fewest keys one search may collect (32 KiB), however many searches there are.
const COLLECT_LEAST: usize = 1 << 12;
/// Counts are held in blocks of this many.
const BLOCK: usize = 256;

/// A wanted order statistic: the value of rank `rank` (from 0, in
/// [`f64::total_cmp`]'s order) among the values of channel `channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    pub channel: usize,
    pub rank: u64,
}

/// A found order statistic: its value, and how many values of its channel order before
/// it (`below ≤ rank`; the values equal to it fill ranks `below..`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Selected {
    pub value: f64,
    pub below: u64,
}

/// `v`'s key in [`f64::total_cmp`]'s order, as an unsigned integer.
#[inline]
pub fn key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | 1 << 63
    }
}

fn value(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Counts of the values of one digit of the keys (the first 16 bits, then 8 at a time),
/// held in blocks of [`BLOCK`] made when a value first falls in one. A channel's values
/// usually span a few powers of two, and the first digit is the sign, the exponent and
/// 4 bits of the mantissa: a few blocks of 2 KiB, where all 65,536 counts took 512 KiB.
struct Counts {
    blocks: Vec<Option<Box<[u64; BLOCK]>>>,
}

impl Counts {
    fn new(digit: u32) -> Self {
        Counts { blocks: vec![None; (1usize << digit) / BLOCK] }
    }

    #[inline]
    fn add(&mut self, b: usize) {
        self.blocks[b / BLOCK].get_or_insert_with(|| Box::new([0; BLOCK]))[b % BLOCK] += 1;
    }

    /// Every count in order (0 in a block not made).
    fn each(&self) -> impl Iterator<Item = u64> + '_ {
        self.blocks.iter().flat_map(|b| (0..BLOCK).map(move |i| b.as_ref().map_or(0, |b| b[i])))
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.blocks.iter().flatten().count() * BLOCK * 8
    }
}

enum State {
    /// Count the next `digit` bits of the keys that start with `prefix` (its top `bits`).
    Count {
        hist: Counts,
    },
    /// Collect the keys that start with `prefix`.
    Collect {
        keys: Vec<u64>,
    },
    Done(Selected),
}

struct Search {
    prefix: u64,
    bits: u32,
    /// The width of the digit counted next.
    digit: u32,
    /// Values of the channel below the prefix's range.
    below: u64,
    /// The rank within the prefix's range.
    rank: u64,
    state: State,
}

impl Search {
    fn matches(&self, k: u64) -> bool {
        self.bits == 0 || k >> (64 - self.bits) == self.prefix
    }
}

/// The values of the ranks `wanted`, exactly, from passes over the values: `pass`
/// calls its argument with `(channel, value)` for every value, in the same sequence
/// each time it is called (two times when no range of keys a search narrows to holds
/// more than its share of the keys collected; at most seven). Memory: the counts' blocks
/// a pass makes (a few of 2 KiB a rank, for values that span a few powers of two; at
/// most 512 KiB) and at most 32 MiB of keys collected, or 32 KiB a rank past 1,024
/// ranks (twice that for a moment, while they are gathered). A rank at or past its
/// channel's count of values is an error for the caller to prevent; here it gives the
/// channel's largest value.
pub fn select(
    wanted: &[Rank],
    pass: impl FnMut(&mut dyn FnMut(usize, f64)) -> Result<()>,
) -> Result<Vec<Selected>> {
    select_in_parts(wanted, pass, &mut Whole)
}

#[cfg(test)]
thread_local! {
    /// The most bytes of counts and keys a selection on this thread held after a pass.
    static HELD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// [`select`] over values held in `parts` by several processes: `pass` visits this
/// process's values, the ranks are among every process's, and every process gets the
/// values one process holding them all gets. After each pass the counts of every
/// search are added across the processes ([`Parts::sum_counts`]: first which blocks
/// any process made, then those blocks), and the keys collected gathered
/// ([`Parts::gather`]: their numbers, then the keys): four exchanges a pass, whatever
/// the number of ranks wanted.
pub fn select_in_parts(
    wanted: &[Rank],
    mut pass: impl FnMut(&mut dyn FnMut(usize, f64)) -> Result<()>,
    parts: &mut dyn Parts,
) -> Result<Vec<Selected>> {
    let collect_at = (COLLECT_ALL / wanted.len().max(1)).clamp(COLLECT_LEAST, COLLECT_MOST) as u64;
    let mut searches: Vec<Search> = wanted
        .iter()
        .map(|&want| Search {
            prefix: 0,
            bits: 0,
            digit: 16,
            below: 0,
            rank: want.rank,
            state: State::Count { hist: Counts::new(16) },
        })
        .collect();
    // Each channel's searches, so that a value visits only its own (a scan of every
    // search for each value made the streamed codec's selection over 64 code channels
    // about a tenth of a short streamed run).
    let mut by_channel: Vec<Vec<usize>> = Vec::new();
    for (i, w) in wanted.iter().enumerate() {
        if by_channel.len() <= w.channel {
            by_channel.resize(w.channel + 1, Vec::new());
        }
        by_channel[w.channel].push(i);
    }
    while searches.iter().any(|s| !matches!(s.state, State::Done(_))) {
        pass(&mut |channel, v| {
            let Some(mine) = by_channel.get(channel) else { return };
            let k = key(v);
            for &i in mine {
                let s = &mut searches[i];
                if !s.matches(k) {
                    continue;
                }
                match &mut s.state {
                    State::Count { hist } => hist.add(((k << s.bits) >> (64 - s.digit)) as usize),
                    State::Collect { keys } => keys.push(k),
                    State::Done(_) => {}
                }
            }
        })?;
        #[cfg(test)]
        HELD.with(|h| h.set(h.get().max(held(&searches))));
        sum_counts(&mut searches, parts)?;
        gather_keys(&mut searches, parts)?;
        #[cfg(test)]
        HELD.with(|h| h.set(h.get().max(held(&searches))));
        for s in &mut searches {
            let next = match &mut s.state {
                State::Count { hist } => {
                    let last = hist.blocks.len() * BLOCK - 1;
                    let (mut bucket, mut before, mut inside) = (last, 0u64, 0u64);
                    for (b, c) in hist.each().enumerate() {
                        if before + c > s.rank || b == last {
                            (bucket, inside) = (b, c);
                            break;
                        }
                        before += c;
                    }
                    s.below += before;
                    s.rank -= before.min(s.rank);
                    s.prefix = (s.prefix << s.digit) | bucket as u64;
                    s.bits += s.digit;
                    s.digit = 8;
                    if s.bits == 64 {
                        State::Done(Selected { value: value(s.prefix), below: s.below })
                    } else if inside <= collect_at {
                        State::Collect { keys: Vec::with_capacity(inside as usize) }
                    } else {
                        State::Count { hist: Counts::new(s.digit) }
                    }
                }
                State::Collect { keys } => {
                    keys.sort_unstable();
                    let at = (s.rank as usize).min(keys.len().saturating_sub(1));
                    match keys.get(at) {
                        Some(&k) => {
                            let first = keys.partition_point(|&x| x < k) as u64;
                            State::Done(Selected { value: value(k), below: s.below + first })
                        }
                        // No value at all: the channel is empty.
                        None => State::Done(Selected { value: f64::NAN, below: s.below }),
                    }
                }
                State::Done(d) => State::Done(*d),
            };
            s.state = next;
        }
    }
    Ok(searches
        .into_iter()
        .map(|s| match s.state {
            State::Done(d) => d,
            _ => unreachable!("every search ends done"),
        })
        .collect())
}

/// The bytes of counts and keys `searches` hold.
#[cfg(test)]
fn held(searches: &[Search]) -> usize {
    searches
        .iter()
        .map(|s| match &s.state {
            State::Count { hist } => hist.bytes(),
            State::Collect { keys } => keys.len() * 8,
            State::Done(_) => 0,
        })
        .sum()
}

/// Every counting search's counts added across `parts`: first which blocks any process
/// made, then the counts of those blocks (a block no process made stays unmade).
fn sum_counts(searches: &mut [Search], parts: &mut dyn Parts) -> Result<()> {
    let mut counting: Vec<&mut Counts> = searches
        .iter_mut()
        .filter_map(|s| match &mut s.state {
            State::Count { hist } => Some(hist),
            _ => None,
        })
        .collect();
    if counting.is_empty() {
        return Ok(());
    }
    let mut made: Vec<u64> =
        counting.iter().flat_map(|h| h.blocks.iter().map(|b| u64::from(b.is_some()))).collect();
    parts.sum_counts(&mut made)?;
    let made_blocks = counting.iter().flat_map(|h| h.blocks.iter()).zip(&made);
    let mut counts: Vec<u64> = Vec::with_capacity(made.iter().filter(|&&m| m > 0).count() * BLOCK);
    for (b, _) in made_blocks.filter(|(_, &m)| m > 0) {
        counts.extend_from_slice(b.as_deref().unwrap_or(&[0; BLOCK]));
    }
    parts.sum_counts(&mut counts)?;
    let (mut made, mut summed) = (made.iter(), counts.chunks_exact(BLOCK));
    for h in &mut counting {
        for (b, &m) in h.blocks.iter_mut().zip(made.by_ref()) {
            if m > 0 {
                let c: &[u64; BLOCK] =
                    summed.next().expect("a block for each made").try_into().expect("a block");
                *b = Some(Box::new(*c));
            }
        }
    }
    Ok(())
}

/// Every collecting search's keys gathered from `parts`: each process's numbers of keys,
/// then the keys.
fn gather_keys(searches: &mut [Search], parts: &mut dyn Parts) -> Result<()> {
    let mut collecting: Vec<&mut Vec<u64>> = searches
        .iter_mut()
        .filter_map(|s| match &mut s.state {
            State::Collect { keys } => Some(keys),
            _ => None,
        })
        .collect();
    if collecting.is_empty() {
        return Ok(());
    }
    let mut lens: Vec<f64> = collecting.iter().map(|k| k.len() as f64).collect();
    parts.gather(&mut lens)?;
    let mut values: Vec<f64> = collecting.iter().flat_map(|k| k.iter().map(|&k| value(k))).collect();
    parts.gather(&mut values)?;
    collecting.iter_mut().for_each(|k| k.clear());
    let mut at = 0;
    for of_process in lens.chunks_exact(collecting.len()) {
        for (keys, &n) in collecting.iter_mut().zip(of_process) {
            keys.extend(values[at..at + n as usize].iter().map(|&v| key(v)));
            at += n as usize;
        }
    }
    Ok(())
}

/// Which of this process's values are among the `keep` lowest of every process's (in
/// [`f64::total_cmp`]'s order, ties to the earlier value; the parts in rank order make
/// the whole sequence): `kept` is called with the index of each kept value of this
/// process, in order, and the count of kept values the earlier processes hold is
/// returned. `pass` visits this process's values in the same order each time it is
/// called (the selection's passes, then two more). Every process gets what one
/// process holding every value would mark: no values are gathered, only counts
/// ([`select_in_parts`]) and, in rank order, two numbers ([`Parts::fold`]).
pub fn lowest_in_parts(
    keep: u64,
    mut pass: impl FnMut(&mut dyn FnMut(f64)) -> Result<()>,
    parts: &mut dyn Parts,
    mut kept: impl FnMut(u64),
) -> Result<u64> {
    if keep == 0 {
        return Ok(0);
    }
    let cut = select_in_parts(&[Rank { channel: 0, rank: keep - 1 }], |f| pass(&mut |v| f(0, v)), parts)?[0];
    // Every value below the cut is kept, and the first `keep − below` equal to it.
    let at = key(cut.value);
    let (mut below_here, mut equal_here) = (0u64, 0u64);
    pass(&mut |v| match key(v).cmp(&at) {
        std::cmp::Ordering::Less => below_here += 1,
        std::cmp::Ordering::Equal => equal_here += 1,
        std::cmp::Ordering::Greater => {}
    })?;
    // The equal values and the kept values of the processes before this one.
    let (equal_wanted, mut before) = (keep - cut.below, [0u64; 2]);
    let mut seen = [0.0f64; 2];
    parts.fold(&mut seen, &mut |s| {
        before = [s[0] as u64, s[1] as u64];
        let take = equal_here.min(equal_wanted.saturating_sub(before[0]));
        s[0] += equal_here as f64;
        s[1] += (below_here + take) as f64;
        Ok(())
    })?;
    let mut equal_left = equal_wanted.saturating_sub(before[0]);
    let mut i = 0u64;
    pass(&mut |v| {
        let k = key(v);
        if k < at || (k == at && equal_left > 0) {
            if k == at {
                equal_left -= 1;
            }
            kept(i);
        }
        i += 1;
    })?;
    Ok(before[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(v: &[f64]) -> Vec<f64> {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s
    }

    /// Every rank of values with ties, signed zeros, infinities and NaN equals the
    /// sorted values' (bit for bit), with the count below it; two channels at once.
    #[test]
    fn ranks_equal_the_sorted_values() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut a: Vec<f64> = (0..3000)
            .map(|i| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                match i % 7 {
                    0 => 1.5,
                    1 => ((x >> 11) as f64 / (1u64 << 53) as f64) * 1e-3,
                    _ => (x >> 20) as f64 - 1e12,
                }
            })
            .collect();
        a.extend([0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1.5, 1.5]);
        let b: Vec<f64> = a.iter().map(|v| -v * 3.0).collect();
        let wanted: Vec<Rank> = (0..a.len() as u64)
            .step_by(97)
            .flat_map(|r| [Rank { channel: 0, rank: r }, Rank { channel: 1, rank: r }])
            .collect();
        let mut passes = 0;
        let got = select(&wanted, |f| {
            passes += 1;
            for (&u, &v) in a.iter().zip(&b) {
                f(0, u);
                f(1, v);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(passes, 2);
        for (w, g) in wanted.iter().zip(&got) {
            let s = sorted(if w.channel == 0 { &a } else { &b });
            let want = s[w.rank as usize];
            assert_eq!(g.value.to_bits(), want.to_bits(), "{w:?}");
            let below = s.iter().filter(|v| v.total_cmp(&want).is_lt()).count() as u64;
            assert_eq!(g.below, below, "{w:?}");
        }
    }

    /// Many searches at once (1,024 ranks of 512 channels) hold a few blocks of counts
    /// each and share the keys collected: each channel's values fill one 16-bit range of
    /// keys with more than a search's share, so the ranges narrow 8 bits at a time. The
    /// ranks equal the sorted values', in three passes, holding at most the keys'
    /// 32 MiB and a block of counts a search (all the counts of the first digit would
    /// take 512 MiB).
    #[test]
    fn many_searches_hold_a_few_blocks_and_narrow_by_bytes() {
        let (channels, per) = (512usize, 6000usize);
        let v = |c: usize, i: usize| 1.0 + (c as f64) * 1e-9 + ((i * 7919 + c * 31) % per) as f64 * 1e-7;
        let wanted: Vec<Rank> = (0..channels)
            .flat_map(|c| {
                [Rank { channel: c, rank: c as u64 % 97 }, Rank { channel: c, rank: 5000 + c as u64 }]
            })
            .collect();
        HELD.with(|h| h.set(0));
        let mut passes = 0;
        let got = select(&wanted, |f| {
            passes += 1;
            for i in 0..per {
                (0..channels).for_each(|c| f(c, v(c, i)));
            }
            Ok(())
        })
        .unwrap();
        for (w, g) in wanted.iter().zip(&got) {
            let s = sorted(&(0..per).map(|i| v(w.channel, i)).collect::<Vec<_>>());
            assert_eq!(g.value.to_bits(), s[w.rank as usize].to_bits(), "{w:?}");
        }
        assert_eq!(passes, 3);
        let held = HELD.with(|h| h.get());
        // The keys (1.8 M of them, 14 MiB) and one block of counts a search.
        assert!(held <= COLLECT_ALL * 8 + wanted.len() * BLOCK * 8, "{held} bytes held");
    }

    /// More equal values than a collection holds narrow, 8 bits at a time, down to the
    /// whole key.
    #[test]
    fn many_equal_values_narrow_to_the_full_key() {
        let n = COLLECT_MOST as u64 + 10;
        let got = select(&[Rank { channel: 0, rank: 5 }, Rank { channel: 0, rank: n + 1 }], |f| {
            f(0, -1.0);
            for _ in 0..n {
                f(0, 2.0);
            }
            f(0, 3.0);
            Ok(())
        })
        .unwrap();
        assert_eq!(got[0], Selected { value: 2.0, below: 1 });
        assert_eq!(got[1], Selected { value: 3.0, below: n + 1 });
    }
}
