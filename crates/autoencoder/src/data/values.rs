//! A data set's values as they are held: f32, or, for rows read from 8-bit data, their
//! bytes alone, the f32 values decoded from them on first use and kept from then on.
//!
//! Why: training gathers its batches from the bytes ([`bytes`](super::bytes)), so a run
//! that asks for nothing else (no threshold, no codec, no pictures of every row) never
//! needs the values. Fashion-MNIST's 70,000 images are 55 MB as bytes and 220 MB more as
//! f32, and the kernel zeroing those pages took most of what `ae train` spent outside
//! its epochs (`perf`: a fifth of a three-epoch run of model A at two threads).

use std::sync::OnceLock;

use super::bytes::{self, ByteCodes};

/// Values held as f32 ([`Values::of`]) or as the bytes they are decoded from
/// ([`Values::of_bytes`]). Two are equal when their values are (bytes against bytes
/// while neither has decoded its values).
#[derive(Clone)]
pub(crate) struct Values {
    /// The f32 values; unset while only the bytes are held.
    values: OnceLock<Vec<f32>>,
    /// The bytes: given (`of_bytes`), or made from the values on first use.
    bytes: ByteCodes,
}

impl Values {
    /// Values held as they are.
    pub(crate) fn of(values: Vec<f32>) -> Values {
        Values { values: OnceLock::from(values), bytes: ByteCodes::default() }
    }

    /// Values held as their bytes: byte `k` stands for [`bytes::value`]`(k)`.
    pub(crate) fn of_bytes(codes: Box<[u8]>) -> Values {
        Values { values: OnceLock::new(), bytes: ByteCodes::known(codes) }
    }

    /// The f32 values, decoded from the bytes on the first call when only those are held.
    pub(crate) fn get(&self) -> &[f32] {
        self.values.get_or_init(|| decoded(self.codes()))
    }

    /// The bytes of values held as bytes alone (`held` is `None`): always there.
    fn codes(&self) -> &[u8] {
        self.bytes.made().expect("values held as bytes alone have their bytes")
    }

    /// Values `range` (of the whole row-major buffer): borrowed when the f32 values are
    /// held, else decoded from the bytes, those alone.
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> std::borrow::Cow<'_, [f32]> {
        match self.held() {
            Some(v) => v[range].into(),
            None => {
                let mut v = vec![0.0; range.len()];
                bytes::decode(&self.codes()[range], &mut v);
                v.into()
            }
        }
    }

    /// The f32 values when they are held (or decoded already); `None` while only the
    /// bytes are.
    pub(crate) fn held(&self) -> Option<&[f32]> {
        self.values.get().map(Vec::as_slice)
    }

    /// The values to change: decoded when only the bytes were held, and the bytes
    /// forgotten (the changed values may not be bytes).
    pub(crate) fn get_mut(&mut self) -> &mut Vec<f32> {
        self.get();
        self.bytes = ByteCodes::default();
        self.values.get_mut().expect("decoded just above")
    }

    pub(crate) fn into_vec(mut self) -> Vec<f32> {
        self.get();
        self.values.take().expect("decoded just above")
    }

    /// The bytes of the values: those held, else made from the values on the first call
    /// ([`ByteCodes::get`]); `None` when a value is not a byte's.
    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        match self.values.get() {
            Some(v) => self.bytes.get(v),
            None => self.bytes.made(),
        }
    }

    /// The bytes when they are held or made, without making them.
    pub(crate) fn made(&self) -> Option<&[u8]> {
        self.bytes.made()
    }

    /// Values `range` (of the whole row-major buffer), held as these are: the bytes alone
    /// while only those are held; else the f32 values, with their bytes when made.
    pub(crate) fn part(&self, range: std::ops::Range<usize>) -> Values {
        match self.held() {
            None => Values::of_bytes(self.codes()[range].into()),
            Some(v) => Values {
                bytes: self
                    .made()
                    .map_or_else(ByteCodes::default, |b| ByteCodes::known(b[range.clone()].into())),
                values: OnceLock::from(v[range].to_vec()),
            },
        }
    }

    /// The values of rows `indices` (each `cols` wide) in that order, held as
    /// [`Values::part`] holds them.
    pub(crate) fn rows(&self, indices: &[usize], cols: usize) -> Values {
        let gather = |all: &[u8]| -> Box<[u8]> {
            indices.iter().flat_map(|&i| &all[i * cols..(i + 1) * cols]).copied().collect()
        };
        match self.held() {
            None => Values::of_bytes(gather(self.codes())),
            Some(v) => {
                let mut values = Vec::with_capacity(indices.len() * cols);
                for &i in indices {
                    values.extend_from_slice(&v[i * cols..(i + 1) * cols]);
                }
                Values {
                    bytes: self.made().map_or_else(ByteCodes::default, |b| ByteCodes::known(gather(b))),
                    values: OnceLock::from(values),
                }
            }
        }
    }
}

/// The f32 values of `codes`, decoded a block at a time into a buffer from
/// [`buffer`](super::buffer) (huge pages where large): each block is zeroed in cache and
/// then written, not the whole buffer twice.
fn decoded(codes: &[u8]) -> Vec<f32> {
    const BLOCK: usize = 1 << 16;
    let mut values = super::buffer::with_capacity(codes.len());
    for block in codes.chunks(BLOCK) {
        let at = values.len();
        values.resize(at + block.len(), 0.0);
        bytes::decode(block, &mut values[at..]);
    }
    values
}

impl PartialEq for Values {
    fn eq(&self, other: &Values) -> bool {
        match (self.held(), other.held()) {
            (None, None) => self.made() == other.made(),
            _ => self.get() == other.get(),
        }
    }
}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.held() {
            Some(v) => f.debug_struct("Values").field("values", &v).field("bytes", &self.bytes).finish(),
            None => f.debug_struct("Values").field("bytes", &self.made()).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_decode_on_first_use_to_the_values_of_every_byte() {
        let codes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let v = Values::of_bytes(codes.clone().into_boxed_slice());
        assert_eq!((v.held(), v.bytes()), (None, Some(&codes[..])));
        let want: Vec<f32> = codes.iter().map(|&k| f32::from(k) / 255.0).collect();
        assert_eq!(
            v.get().iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert!(v.held().is_some() && v.bytes() == Some(&codes[..]), "decoded and kept, bytes kept");
        assert_eq!(v, Values::of(want.clone()));
        assert_eq!(Values::of(want.clone()), Values::of_bytes(codes.clone().into_boxed_slice()));
        assert_ne!(Values::of_bytes(vec![1u8].into()), Values::of_bytes(vec![2u8].into()));
        assert_eq!(Values::of_bytes(codes.clone().into_boxed_slice()).into_vec(), want);
    }

    #[test]
    fn parts_and_rows_stay_bytes_alone_until_their_values_are_asked_for() {
        let codes: Vec<u8> = vec![1, 2, 3, 4, 5, 6];
        let v = Values::of_bytes(codes.clone().into_boxed_slice());
        let part = v.part(2..6);
        assert_eq!((part.held(), part.made()), (None, Some(&[3u8, 4, 5, 6][..])));
        let rows = v.rows(&[2, 0], 2);
        assert_eq!((rows.held(), rows.made()), (None, Some(&[5u8, 6, 1, 2][..])));
        assert_eq!(v.held(), None, "taking parts decodes nothing");
        // Decoded first: parts hold values, and the bytes made.
        v.get();
        let part = v.part(2..6);
        assert_eq!(part.held(), Some(&[3.0 / 255.0, 4.0 / 255.0, 5.0 / 255.0, 6.0 / 255.0][..]));
        assert_eq!(part.made(), Some(&[3u8, 4, 5, 6][..]));
        assert_eq!(v.rows(&[2, 0], 2).made(), Some(&[5u8, 6, 1, 2][..]));
        // Changed values lose their bytes.
        let mut v = Values::of_bytes(codes.into_boxed_slice());
        v.get_mut()[0] = 0.5;
        assert_eq!((v.made(), v.bytes()), (None, None));
        // Values that were never bytes get theirs made on the first call, or none.
        assert_eq!(Values::of(vec![0.0, 1.0]).bytes(), Some(&[0u8, 255][..]));
        assert_eq!(Values::of(vec![0.5]).bytes(), None);
    }
}
