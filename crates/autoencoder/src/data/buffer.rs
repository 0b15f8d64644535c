//! Data sets' value buffers: large ones allocated so that the OS may back them with
//! huge pages.
//!
//! Training gathers each batch's rows from wherever the shuffle put them. With 4 KiB
//! pages, every row of a data set larger than the TLB's reach (a few MiB to 16 MiB)
//! needs its own page walk, and the walk's table entries miss the cache too. On Linux,
//! a buffer of at least [`HUGE_FROM`] bytes is advised `MADV_HUGEPAGE` before it is
//! filled, so that its pages fault in as 2 MiB ones where transparent huge pages are
//! `always` or `madvise` (Debian's and Ubuntu's default). Elsewhere, or with huge
//! pages off, the advice does nothing. It never changes a value: the buffers hold the
//! same bytes either way, and so do the models trained on them.
//!
//! Measured on Fashion-MNIST's 54,000 training rows (178 MiB; Zen 5, `bench/compare
//! --models A,B --threads 1,2 --rounds 3 --epochs 4`, medians of interleaved rounds,
//! bench/results-zen5-2026-12-04.md): model A's epoch at two threads 0.110 → 0.091 s
//! (faster in every round), at one thread 0.167 → 0.164 s.
//!
//! The advice is given before the pages are touched: advising a filled buffer leaves
//! its pages small until the kernel's background collapse reaches them, and a
//! synchronous collapse (`MADV_COLLAPSE`) took 46–97 ms for those 178 MiB, more than
//! ten epochs' gain.

/// Bytes from which a buffer is advised: smaller ones fit the TLB's reach anyway, and
/// would round down to few whole huge pages.
pub const HUGE_FROM: usize = 16 << 20;

/// An empty vector with room for `len` values, advised for huge pages when that is at
/// least [`HUGE_FROM`] bytes: for a loader that knows how many values it will push.
pub fn with_capacity<T>(len: usize) -> Vec<T> {
    let v = Vec::with_capacity(len);
    advise(&v);
    v
}

/// `len` zeros, advised as [`with_capacity`] advises.
pub fn zeroed<T: Copy + Default>(len: usize) -> Vec<T> {
    let mut v = with_capacity(len);
    v.resize(len, T::default());
    v
}

/// `values` copied into a buffer from [`with_capacity`].
pub fn copied<T: Copy>(values: &[T]) -> Vec<T> {
    let mut v = with_capacity(values.len());
    v.extend_from_slice(values);
    v
}

/// Room for `additional` more values in `v`, for a loader that does not know its total:
/// when that moves or grows the allocation, the new allocation is advised (the pages
/// already filled stay as they are; the rest fault in as huge pages).
pub fn reserve<T>(v: &mut Vec<T>, additional: usize) {
    let before = v.capacity();
    v.reserve(additional);
    if v.capacity() != before {
        advise(v);
    }
}

/// The 2 MiB pages wholly inside `bytes` bytes from address `at`, when there are at
/// least [`HUGE_FROM`] bytes and at least one such page.
fn huge_pages(at: usize, bytes: usize) -> Option<std::ops::Range<usize>> {
    const HUGE: usize = 2 << 20;
    let (start, end) = (at.checked_next_multiple_of(HUGE)?, at.checked_add(bytes)? / HUGE * HUGE);
    (bytes >= HUGE_FROM && end > start).then_some(start..end)
}

/// Advise `v`'s allocation for huge pages, if it is large enough.
fn advise<T>(v: &Vec<T>) {
    let bytes = v.capacity().saturating_mul(std::mem::size_of::<T>());
    let Some(pages) = huge_pages(v.as_ptr() as usize, bytes) else { return };
    #[cfg(target_os = "linux")]
    // SAFETY: the range lies inside the vector's allocation, and the advice only changes
    // how the kernel backs its pages, never their contents. Its result is ignored: a
    // kernel without transparent huge pages refuses it, and that is fine.
    unsafe {
        libc::madvise(pages.start as *mut libc::c_void, pages.len(), libc::MADV_HUGEPAGE)
    };
    #[cfg(not(target_os = "linux"))]
    let _ = pages;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `VmFlags` line of the mapping of `/proc/self/smaps` that holds `addr`.
    #[cfg(target_os = "linux")]
    fn vm_flags(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let range = line.split_whitespace().next().and_then(|r| r.split_once('-'));
            if let Some((a, b)) = range.filter(|_| !line.starts_with("VmFlags")) {
                if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                    inside = (a..b).contains(&addr);
                    continue;
                }
            }
            if inside && line.starts_with("VmFlags:") {
                return Some(line.to_string());
            }
        }
        None
    }

    #[test]
    fn only_whole_huge_pages_of_large_buffers_are_advised() {
        const MIB: usize = 1 << 20;
        // Below the limit: nothing, wherever the buffer lies.
        assert_eq!(huge_pages(0, HUGE_FROM - 1), None);
        assert_eq!(huge_pages(16, HUGE_FROM - 1), None);
        // At the limit: the aligned pages inside, the partial ones at either end left out.
        assert_eq!(huge_pages(0, HUGE_FROM), Some(0..HUGE_FROM));
        assert_eq!(huge_pages(16, HUGE_FROM), Some(2 * MIB..HUGE_FROM));
        assert_eq!(huge_pages(3 * MIB, HUGE_FROM + MIB), Some(4 * MIB..HUGE_FROM + 4 * MIB));
        // No overflow at the top of the address space.
        assert_eq!(huge_pages(usize::MAX - MIB, HUGE_FROM), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn large_buffers_are_advised_for_huge_pages() {
        // `hg` marks a mapping advised MADV_HUGEPAGE (proc(5)).
        let advised = |v: &Vec<f32>| {
            let mid = v.as_ptr() as usize + v.capacity() * 4 / 2;
            vm_flags(mid).map(|f| f.split_whitespace().any(|w| w == "hg"))
        };
        let big: Vec<f32> = with_capacity(HUGE_FROM / 4 + 1);
        let Some(flag) = advised(&big) else {
            eprintln!("skipped: /proc/self/smaps does not show the buffer's mapping");
            return;
        };
        assert!(flag, "a {} MiB buffer is advised", HUGE_FROM >> 20);
        let mut grown: Vec<f32> = Vec::new();
        for _ in 0..40 {
            reserve(&mut grown, 1 << 20);
            grown.resize(grown.len() + (1 << 20), 1.0);
        }
        assert_eq!(advised(&grown), Some(true), "a buffer grown past the limit is advised");
        assert!(grown.iter().all(|&x| x == 1.0), "the values are kept");
        let z: Vec<f32> = zeroed(HUGE_FROM / 4);
        assert_eq!((z.len(), z.iter().all(|&x| x == 0.0)), (HUGE_FROM / 4, true));
        assert_eq!(advised(&z), Some(true));
        let c = copied(&z[..10]);
        assert_eq!(c, vec![0.0; 10]);
    }
}
