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

/// The most values a selection collects to sort (8 MiB of keys); above it, it narrows
/// by another 16 bits with another pass.
const COLLECT: usize = 1 << 20;

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

enum State {
    /// Count the next 16 bits of the keys that start with `prefix` (its top `bits`).
    Count {
        hist: Vec<u64>,
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
/// each time it is called (at most five times; two when no 16-bit range of keys holds
/// more than about a million values). Memory: 512 KiB per rank, and at most 8 MiB of
/// values collected per rank. A rank at or past its channel's count of values is an error for the
/// caller to prevent; here it gives the channel's largest value.
pub fn select(
    wanted: &[Rank],
    pass: impl FnMut(&mut dyn FnMut(usize, f64)) -> Result<()>,
) -> Result<Vec<Selected>> {
    select_in_parts(wanted, pass, &mut Whole)
}

/// [`select`] over values held in `parts` by several processes: `pass` visits this
/// process's values, the ranks are among every process's, and every process gets the
/// values one process holding them all gets. Each pass's counts are added across the
/// processes ([`Parts::sum_counts`]: 65,536 a rank a pass), and the few values left to
/// sort gathered ([`Parts::gather`]).
pub fn select_in_parts(
    wanted: &[Rank],
    mut pass: impl FnMut(&mut dyn FnMut(usize, f64)) -> Result<()>,
    parts: &mut dyn Parts,
) -> Result<Vec<Selected>> {
    let mut searches: Vec<Search> = wanted
        .iter()
        .map(|&want| Search {
            prefix: 0,
            bits: 0,
            below: 0,
            rank: want.rank,
            state: State::Count { hist: vec![0; 1 << 16] },
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
                    State::Count { hist } => hist[((k << s.bits) >> 48) as usize] += 1,
                    State::Collect { keys } => keys.push(k),
                    State::Done(_) => {}
                }
            }
        })?;
        for s in &mut searches {
            match &mut s.state {
                State::Count { hist } => parts.sum_counts(hist)?,
                State::Collect { keys } => {
                    let mut values: Vec<f64> = keys.iter().map(|&k| value(k)).collect();
                    parts.gather(&mut values)?;
                    *keys = values.into_iter().map(key).collect();
                }
                State::Done(_) => {}
            }
            let next = match &mut s.state {
                State::Count { hist } => {
                    let mut bucket = hist.len() - 1;
                    let mut before = 0u64;
                    for (b, &c) in hist.iter().enumerate() {
                        if before + c > s.rank {
                            bucket = b;
                            break;
                        }
                        if b + 1 < hist.len() {
                            before += c;
                        }
                    }
                    let inside = hist[bucket];
                    s.below += before;
                    s.rank -= before.min(s.rank);
                    s.prefix = (s.prefix << 16) | bucket as u64;
                    s.bits += 16;
                    if s.bits == 64 {
                        State::Done(Selected { value: value(s.prefix), below: s.below })
                    } else if inside as usize <= COLLECT {
                        State::Collect { keys: Vec::with_capacity(inside as usize) }
                    } else {
                        State::Count { hist: vec![0; 1 << 16] }
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

    /// More equal values than a collection holds narrow down to the last 16 bits.
    #[test]
    fn many_equal_values_narrow_to_the_full_key() {
        let n = COLLECT as u64 + 10;
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
