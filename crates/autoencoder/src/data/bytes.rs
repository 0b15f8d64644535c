//! Rows held a second time at one byte a value, when every value is `k/255` for a whole
//! `k` (images read from 8-bit pixels): a shuffled batch's gather then reads a quarter
//! of the memory, and writes the same bits.
//!
//! Why by hand: a shuffled batch's rows lie far apart, so gathering them waits on
//! memory, not on arithmetic. On a Xeon (2 MiB of L2 a core), `perf` put 94 % of the
//! gather of model A's step at the prefetch of the next rows' cache lines (the line fill
//! buffers full), 7.6 % of the step; a byte a value is 13 lines a 784-pixel row
//! instead of 49.

use std::sync::OnceLock;

use crate::kernels::simd;

pub use crate::kernels::elementwise::bytes_to_values as decode;
pub use crate::kernels::math::byte_value as value;

/// The byte of each value, or `None` when a value is not exactly `value(k)` for some
/// byte `k` (anything outside `[0, 1]`, NaN, −0, or a value between the steps of 1/255).
pub fn encode(values: &[f32]) -> Option<Box<[u8]>> {
    // Huge pages where large, as the values' (`buffer`): a shuffled row costs no page walk.
    let mut codes: Vec<u8> = super::buffer::zeroed(values.len());
    // Blocks of 4,096: the codes of a block are checked while it is in cache, and a
    // table that is not one stops at its first block that fails.
    for (c, v) in codes.chunks_mut(4096).zip(values.chunks(4096)) {
        let exact = simd(
            #[inline(always)]
            || {
                let mut exact = true;
                for (c, &v) in c.iter_mut().zip(v) {
                    // A saturating cast: NaN goes to 0 and fails the check below.
                    *c = v.mul_add(255.0, 0.5) as u8;
                    exact &= value(*c).to_bits() == v.to_bits();
                }
                exact
            },
        );
        if !exact {
            return None;
        }
    }
    Some(codes.into_boxed_slice())
}

/// A data set's bytes, made on first use ([`ByteCodes::get`]) and forgotten when its
/// values change. Two are always equal: a cache, not part of what a data set is.
#[derive(Default, Clone)]
pub(crate) struct ByteCodes(OnceLock<Option<Box<[u8]>>>);

impl ByteCodes {
    /// The bytes of `values` (which must be the values this cache was made for), made
    /// on the first call; `None` when they are not all bytes.
    pub(crate) fn get(&self, values: &[f32]) -> Option<&[u8]> {
        self.0.get_or_init(|| encode(values)).as_deref()
    }

    /// A cache made already, from the bytes the values were decoded from (a loader of
    /// 8-bit data): `codes` must decode to the values, as [`decode`] decodes them.
    pub(crate) fn known(codes: Box<[u8]>) -> ByteCodes {
        ByteCodes(OnceLock::from(Some(codes)))
    }

    /// The bytes when they are made and the values are all bytes; `None` otherwise,
    /// without making them.
    pub(crate) fn made(&self) -> Option<&[u8]> {
        self.0.get().and_then(|b| b.as_deref())
    }
}

impl PartialEq for ByteCodes {
    fn eq(&self, _: &ByteCodes) -> bool {
        true
    }
}

impl std::fmt::Debug for ByteCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.get() {
            None => f.write_str("ByteCodes(not made)"),
            Some(None) => f.write_str("ByteCodes(not bytes)"),
            Some(Some(b)) => write!(f, "ByteCodes({} bytes)", b.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_its_quotient_as_the_loaders_compute_it() {
        for k in 0..=255u8 {
            let want = f32::from(k) / 255.0;
            assert_eq!(value(k).to_bits(), want.to_bits(), "{k}");
            assert_eq!(((f64::from(k) / 255.0) as f32).to_bits(), want.to_bits(), "{k} in f64");
        }
        let codes: Vec<u8> = (0..=255).cycle().take(1000).collect();
        let mut out = vec![0.0; 1000];
        decode(&codes, &mut out);
        assert!(codes.iter().zip(&out).all(|(&k, &v)| v.to_bits() == (f32::from(k) / 255.0).to_bits()));
    }

    #[test]
    fn encode_takes_exact_quotients_only() {
        let values: Vec<f32> = (0..10_000).map(|i| f32::from((i * 37 % 256) as u8) / 255.0).collect();
        let codes = encode(&values).expect("bytes");
        let mut back = vec![0.0; values.len()];
        decode(&codes, &mut back);
        assert_eq!(back, values);
        assert!(encode(&[]).is_some());
        // One value off in the last block, or off by an ulp, or not in [0, 1]: no bytes.
        for bad in [0.5, f32::from_bits((3.0f32 / 255.0).to_bits() + 1), -0.0, 2.0, f32::NAN, -1.0 / 255.0] {
            let mut v = values.clone();
            v[9_999] = bad;
            assert!(encode(&v).is_none(), "{bad}");
        }
        // 1 and 0 (binary data) are bytes 255 and 0.
        assert_eq!(encode(&[0.0, 1.0]).as_deref(), Some(&[0u8, 255][..]));
    }

    #[test]
    fn the_cache_is_made_once_and_never_differs() {
        let cache = ByteCodes::default();
        assert_eq!(format!("{cache:?}"), "ByteCodes(not made)");
        assert_eq!(cache.get(&[1.0]), Some(&[255u8][..]));
        assert_eq!(format!("{cache:?}"), "ByteCodes(1 bytes)");
        assert_eq!(cache, ByteCodes::default());
        let other = ByteCodes::default();
        assert_eq!(other.get(&[0.3]), None);
        assert_eq!(format!("{other:?}"), "ByteCodes(not bytes)");
        assert_eq!(other.made(), None);
        assert_eq!(cache.made(), Some(&[255u8][..]));
        assert_eq!(ByteCodes::default().made(), None, "not made yet");
        let known = ByteCodes::known(vec![7u8, 0].into_boxed_slice());
        assert_eq!(known.made(), Some(&[7u8, 0][..]));
    }
}
