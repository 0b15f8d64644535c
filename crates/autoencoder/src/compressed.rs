//! The compressed file (`ae compress`): rows encoded by a model, quantised and range-coded
//! by its [`Codec`], behind a small versioned header that names the
//! model and ends with a checksum.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 3 | magic `AEZ` |
//! | 1 | version, `1` |
//! | 8 | model id: the first 8 bytes of SHA-256 over the model's configuration, normaliser, codec and parameters |
//! | 1 | bits per code dimension |
//! | 1–10 | rows, unsigned LEB128 |
//! | 4·w | the range coder's `w` 32-bit words |
//! | 4 | CRC-32 (IEEE) of every byte before it |
//!
//! One row costs 18 bytes of framing plus its share of the payload. A file made by
//! another model, a truncated or altered file, or one declaring more rows than
//! [`MAX_VALUES`] allows is refused before decoding.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::model::Autoencoder;
use crate::Threads;

/// The file's first three bytes.
pub const MAGIC: &[u8; 3] = b"AEZ";

/// The version this build writes and reads.
pub const VERSION: u8 = 1;

/// The most values (rows × input width) one file may decode to: 2^28, 1 GiB of f32.
pub const MAX_VALUES: u64 = 1 << 28;

/// The most rows a file may declare per byte of payload (plus 8): codes cost at least
/// 1/64 bit per row on average. Entropy coding alone gives no such floor (a code that
/// never varies costs almost nothing), so [`compress`] pads the payload with zero words
/// until it holds; the bound lets a reader refuse a tiny file that declares millions of
/// rows before decoding them.
pub const ROWS_PER_PAYLOAD_BYTE: u64 = 512;

/// The most rows a payload of `bytes` may carry.
pub fn max_rows(bytes: usize) -> u64 {
    ROWS_PER_PAYLOAD_BYTE * (bytes as u64 + 8)
}

/// Bytes of framing around the payload for a file of `rows` rows.
pub fn overhead(rows: u64) -> usize {
    3 + 1 + 8 + 1 + leb128_len(rows) + 4
}

/// The model's codec, or an error that says how to get one.
pub fn codec(model: &Autoencoder) -> Result<&Codec> {
    model.codec.as_ref().ok_or_else(|| {
        Error::Data(
            "the model has no code statistics for compression (it was saved before `ae` fitted them); \
             train it again with this version of `ae`"
                .to_string(),
        )
    })
}

/// The 8-byte id of `model`: SHA-256 over its configuration, normaliser, codec and
/// parameters (what decoding depends on), truncated.
pub fn model_id(model: &Autoencoder) -> Result<[u8; 8]> {
    let mut h = Sha256::new();
    h.update(b"autoencoder-compressed/1\0");
    let json = |v: serde_json::Result<String>| {
        v.map_err(|e| Error::Data(format!("could not serialise the model: {e}")))
    };
    h.update(json(serde_json::to_string(model.config()))?.as_bytes());
    h.update(json(serde_json::to_string(model.normalizer()))?.as_bytes());
    if let Some(c) = &model.codec {
        h.update(json(serde_json::to_string(c))?.as_bytes());
        for v in &c.histogram {
            h.update(v.to_le_bytes());
        }
    }
    for v in model.params() {
        h.update(v.to_le_bytes());
    }
    let d = h.finalize();
    let mut id = [0u8; 8];
    id.copy_from_slice(&d[..8]);
    Ok(id)
}

/// Codes of raw rows `x`, quantised at `bits`: the symbols a compressed file holds.
pub fn symbols(model: &Autoencoder, x: &[f32], bits: u32, threads: &Threads) -> Result<Vec<u32>> {
    let c = codec(model)?;
    // The codes and their symbols are held at once (8 bytes a code value): refused, not
    // a failed allocation, past half the machine's memory (narrow rows, a wide code).
    let (rows, k) = (x.len() / model.input_dim().max(1), model.code_dim());
    let bytes = (rows as u64).saturating_mul(k as u64).saturating_mul(8);
    let budget = crate::budget::MemoryBudget::of_machine(1);
    if bytes > budget.bytes() {
        return Err(Error::Data(format!(
            "the codes of {rows} rows ({k} values each) and their symbols take {}, more than the memory budget of {budget} (half the machine's memory); compress fewer rows at a time",
            crate::budget::human_bytes(bytes)
        )));
    }
    c.quantize(&model.encode(x, threads)?, bits)
}

/// Reconstructions of raw rows `x` through quantised codes: exactly what
/// [`decompress`] returns for the file [`compress`] writes of `x`.
pub fn reconstruct(model: &Autoencoder, x: &[f32], bits: u32, threads: &Threads) -> Result<Vec<f32>> {
    let c = codec(model)?;
    model.decode(&c.dequantize(&symbols(model, x, bits, threads)?, bits)?, threads)
}

/// The compressed file of raw rows `x` (`rows × input_dim`) at `bits` bits per code
/// dimension.
pub fn compress(model: &Autoencoder, x: &[f32], bits: u32, threads: &Threads) -> Result<Vec<u8>> {
    let q = symbols(model, x, bits, threads)?;
    let rows = (q.len() / model.code_dim().max(1)) as u64;
    check_rows(model, rows)?;
    let mut payload = codec(model)?.encode(&q, bits)?;
    // Zero words after the coder's output do not change what it decodes (tested).
    while max_rows(payload.len()) < rows {
        payload.extend_from_slice(&[0; 4]);
    }
    Ok(frame(&model_id(model)?, bits, rows, &payload))
}

/// Header, payload and checksum.
pub fn frame(id: &[u8; 8], bits: u32, rows: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(overhead(rows) + payload.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(id);
    out.push(bits as u8);
    let mut r = rows;
    loop {
        let byte = (r & 0x7f) as u8;
        r >>= 7;
        if r == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn leb128_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn check_rows(model: &Autoencoder, rows: u64) -> Result<()> {
    let values = rows.checked_mul(model.input_dim() as u64);
    if values.is_none_or(|v| v > MAX_VALUES) {
        return Err(Error::Data(format!(
            "{rows} rows of {} values is more than one compressed file holds ({MAX_VALUES} values); \
             split the input",
            model.input_dim()
        )));
    }
    Ok(())
}

/// What a compressed file's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The id of the model that wrote it.
    pub model_id: [u8; 8],
    /// Bits per code dimension.
    pub bits: u32,
    /// Rows.
    pub rows: u64,
}

/// Check the framing of a compressed file (magic, version, checksum, fields) and return
/// its header and payload; `path` is only used in messages.
pub fn parse<'a>(bytes: &'a [u8], path: &Path) -> Result<(Header, &'a [u8])> {
    let err = |m: String| Error::format(path, m);
    if bytes.len() < 4 || &bytes[..3] != MAGIC {
        return Err(err("not a file written by `ae compress` (it does not start with `AEZ`)".into()));
    }
    if bytes[3] != VERSION {
        return Err(err(format!(
            "compressed-file version {} is not one this version reads ({VERSION})",
            bytes[3]
        )));
    }
    if bytes.len() < overhead(0) {
        return Err(err(format!("truncated: {} bytes is shorter than the header", bytes.len())));
    }
    let (body, tail) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let actual = crc32fast::hash(body);
    if stored != actual {
        return Err(err(format!(
            "checksum mismatch (stored {stored:08x}, computed {actual:08x}): the file is truncated or corrupt"
        )));
    }
    let mut model_id = [0u8; 8];
    model_id.copy_from_slice(&body[4..12]);
    let bits = u32::from(body[12]);
    let mut rows = 0u64;
    let mut at = 13;
    for shift in (0..64).step_by(7) {
        let b = *body.get(at).ok_or_else(|| err("truncated inside the row count".into()))?;
        at += 1;
        rows |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
        if b & 0x80 == 0 {
            break;
        }
        if shift >= 63 {
            return Err(err("the row count is longer than 64 bits".into()));
        }
    }
    if !(1..=crate::codec::MAX_BITS).contains(&bits) {
        return Err(err(format!("{bits} bits per dimension: expected 1 to {}", crate::codec::MAX_BITS)));
    }
    Ok((Header { model_id, bits, rows }, &body[at..]))
}

/// Decode a compressed file with `model`: the reconstructed rows (`rows × input_dim`,
/// raw units) and the header. Refuses a file written with another model.
pub fn decompress(
    model: &Autoencoder,
    bytes: &[u8],
    path: &Path,
    threads: &Threads,
) -> Result<(Vec<f32>, Header)> {
    let (header, payload) = parse(bytes, path)?;
    let ours = model_id(model)?;
    if header.model_id != ours {
        return Err(Error::format(
            path,
            format!(
                "it was compressed with another model (id {}; this model's id is {}): decompress it with the model that wrote it",
                hex(&header.model_id),
                hex(&ours)
            ),
        ));
    }
    check_rows(model, header.rows).map_err(|e| Error::format(path, e.to_string()))?;
    if header.rows > max_rows(payload.len()) {
        return Err(Error::format(
            path,
            format!(
                "it declares {} rows but holds {} bytes of codes, enough for at most {} (corrupt or not made by `ae compress`)",
                header.rows,
                payload.len(),
                max_rows(payload.len())
            ),
        ));
    }
    let c = codec(model)?;
    let q = c
        .decode(payload, header.rows as usize, header.bits)
        .map_err(|e| Error::format(path, e.to_string()))?;
    let z = c.dequantize(&q, header.bits)?;
    Ok((model.decode(&z, threads)?, header))
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{data::synthetic, ModelConfig};

    fn model(seed: u64) -> (Autoencoder, Vec<f32>) {
        let data = synthetic::generate(64, 1);
        let cfg = ModelConfig { input_dim: data.cols(), layers: vec![8], ..ModelConfig::default() };
        let mut m = Autoencoder::new(cfg, seed).unwrap();
        let t = Threads::new(1);
        let z = m.encode(data.as_slice(), &t).unwrap();
        m.codec = Some(Codec::fit(&z, 8).unwrap());
        (m, data.as_slice().to_vec())
    }

    /// Narrow rows through a wide code: the codes and their symbols of 4 M rows (134 GB)
    /// are refused before any is computed, not a failed allocation.
    #[test]
    fn codes_past_the_memory_budget_are_refused() {
        let cfg = ModelConfig { input_dim: 2, layers: vec![4096], ..ModelConfig::default() };
        let mut m = Autoencoder::new(cfg, 0).unwrap();
        let t = Threads::new(1);
        m.codec = Some(Codec::fit(&m.encode(&[0.1, 0.2, 0.3, 0.4], &t).unwrap(), 4096).unwrap());
        let x = vec![0.5f32; 2 * (4 << 20)];
        let e = compress(&m, &x, 4, &t).unwrap_err().to_string();
        assert!(
            e.contains("the codes of 4194304 rows (4096 values each)") && e.contains("memory budget"),
            "{e}"
        );
        assert_eq!(compress(&m, &x[..20], 4, &t).map(|f| !f.is_empty()).ok(), Some(true));
    }

    #[test]
    fn compress_then_decompress_equals_the_quantised_reconstruction() {
        let (m, x) = model(0);
        let t = Threads::new(1);
        for bits in [2, 6] {
            let file = compress(&m, &x, bits, &t).unwrap();
            let (y, h) = decompress(&m, &file, Path::new("f.aez"), &t).unwrap();
            assert_eq!(h.rows, 64);
            assert_eq!(h.bits, bits);
            let want = reconstruct(&m, &x, bits, &t).unwrap();
            assert_eq!(
                y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
        // One row: the framing is 18 bytes.
        let one = compress(&m, &x[..784], 4, &t).unwrap();
        assert_eq!(overhead(1), 18);
        assert!(one.len() >= 18 + 4);
    }

    /// Zero words appended to the range coder's output decode to the same symbols, so
    /// padding a payload up to the rows bound is safe.
    #[test]
    fn trailing_zero_words_do_not_change_the_decoded_symbols() {
        let (m, x) = model(0);
        let t = Threads::new(1);
        let c = m.codec.as_ref().unwrap();
        for bits in [1, 3, 8] {
            for rows in [1usize, 2, 5, 64] {
                let q = symbols(&m, &x[..rows * 784], bits, &t).unwrap();
                let mut bytes = c.encode(&q, bits).unwrap();
                for _ in 0..6 {
                    assert_eq!(
                        c.decode(&bytes, rows, bits).unwrap(),
                        q,
                        "bits {bits} rows {rows} len {}",
                        bytes.len()
                    );
                    bytes.extend_from_slice(&[0; 4]);
                }
            }
        }
        // A constant code compresses to almost nothing: the file is padded to the bound.
        let constant = vec![x[..784].to_vec(); 3000].concat();
        let file = compress(&m, &constant, 1, &t).unwrap();
        let (y, h) = decompress(&m, &file, Path::new("c.aez"), &t).unwrap();
        assert_eq!((h.rows, y.len()), (3000, 3000 * 784));
    }

    #[test]
    fn foreign_truncated_and_altered_files_are_refused() {
        let (m, x) = model(0);
        let (other, _) = model(1);
        let t = Threads::new(1);
        let file = compress(&m, &x, 4, &t).unwrap();
        let p = Path::new("c.aez");
        let e = decompress(&other, &file, p, &t).unwrap_err().to_string();
        assert!(e.contains("another model"), "{e}");
        for cut in [0, 3, 10, 17, file.len() - 1] {
            let e = decompress(&m, &file[..cut], p, &t).unwrap_err().to_string();
            assert!(e.starts_with("c.aez: "), "{e}");
        }
        let mut flipped = file.clone();
        flipped[20] ^= 1;
        let e = decompress(&m, &flipped, p, &t).unwrap_err().to_string();
        assert!(e.contains("checksum mismatch"), "{e}");
        let e = decompress(&m, b"PK\x03\x04 a zip file", p, &t).unwrap_err().to_string();
        assert!(e.contains("not a file written by `ae compress`"), "{e}");
        // A well-framed file that declares far more rows than its payload can hold is
        // refused before decoding (found by fuzzing: 915,245 rows in 20 bytes).
        let many = frame(&model_id(&m).unwrap(), 6, 100_000, &[0; 4]);
        let e = decompress(&m, &many, p, &t).unwrap_err().to_string();
        assert!(e.contains("enough for at most"), "{e}");
        // A well-framed file that declares 2^40 rows is refused before decoding.
        let huge = frame(&model_id(&m).unwrap(), 4, 1 << 40, &[0; 8]);
        let e = decompress(&m, &huge, p, &t).unwrap_err().to_string();
        assert!(e.contains("more than one compressed file holds"), "{e}");
        let mut v2 = file;
        v2[3] = 2;
        let e = decompress(&m, &v2, p, &t).unwrap_err().to_string();
        assert!(e.contains("version 2"), "{e}");
    }
}
