//! IDX files (the MNIST / Fashion-MNIST format), plain or gzipped: images, data and label loading.
//!
//! An IDX file is a 4-byte big-endian magic `00 00 <dtype> <ndim>`, then `ndim` big-endian
//! `u32` dimensions, then the values, big-endian, row-major. Supported dtypes: `0x08` u8,
//! `0x09` i8, `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E` f64. A file that starts with the gzip
//! magic `1f 8b` is decompressed on the fly.
//!
//! Hostile files are refused before any large buffer is allocated: the declared payload is
//! capped at [`MAX_PAYLOAD_BYTES`], a plain file's size must match its header exactly, and a
//! gzipped file is decompressed with a limit of exactly the declared payload (plus one byte to
//! detect trailing data), growing the output only as real data arrives.

use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::data::dataset::{Dataset, ImageShape};
use crate::error::{Error, Result};

/// The largest payload (values after the header, in bytes) an IDX header may declare: 4 GiB.
pub const MAX_PAYLOAD_BYTES: u64 = 4 << 30;

/// The most dimensions an IDX header may declare.
const MAX_DIMS: usize = 8;

/// Deflate cannot expand data by more than about 1032×; used to bound up-front allocation
/// for compressed input whose header may lie.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Read chunk size, a multiple of every element size.
const CHUNK: usize = 64 * 1024;

/// The element type of an IDX file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    U8,
    I8,
    I16,
    I32,
    F32,
    F64,
}

impl Dtype {
    fn from_code(code: u8) -> Option<Dtype> {
        match code {
            0x08 => Some(Dtype::U8),
            0x09 => Some(Dtype::I8),
            0x0B => Some(Dtype::I16),
            0x0C => Some(Dtype::I32),
            0x0D => Some(Dtype::F32),
            0x0E => Some(Dtype::F64),
            _ => None,
        }
    }

    fn size(self) -> usize {
        match self {
            Dtype::U8 | Dtype::I8 => 1,
            Dtype::I16 => 2,
            Dtype::I32 | Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }

    /// Decode one big-endian element (`b.len() == self.size()`) as f64 (exact for every dtype).
    fn decode(self, b: &[u8]) -> f64 {
        let mut a = [0u8; 8];
        a[..b.len()].copy_from_slice(b);
        match self {
            Dtype::U8 => f64::from(a[0]),
            Dtype::I8 => f64::from(a[0] as i8),
            Dtype::I16 => f64::from(i16::from_be_bytes([a[0], a[1]])),
            Dtype::I32 => f64::from(i32::from_be_bytes([a[0], a[1], a[2], a[3]])),
            Dtype::F32 => f64::from(f32::from_be_bytes([a[0], a[1], a[2], a[3]])),
            Dtype::F64 => f64::from_be_bytes(a),
        }
    }
}

/// The dimensions and sizes an IDX header declares.
struct Header {
    dims: Vec<usize>,
    elems: usize,
    payload: u64,
}

impl Header {
    /// "10000 images of 28×28", "10000 labels", "500 rows of 20 values".
    fn describe(&self, what_1d: &str) -> String {
        let n = self.dims.first().copied().unwrap_or(0);
        let rest: Vec<String> = self.dims.iter().skip(1).map(|d| d.to_string()).collect();
        match self.dims.len() {
            1 => format!("{n} {what_1d}"),
            2 => format!("{n} rows of {} values", rest.join("")),
            3 => format!("{n} images of {}", rest.join("×")),
            _ => format!("{n} items of {}", rest.join("×")),
        }
    }

    /// "header declares 10000 images of 28×28 (7840000 bytes)", for the size errors.
    fn declared(&self, what_1d: &str) -> String {
        format!("header declares {} ({} bytes)", self.describe(what_1d), self.payload)
    }
}

/// Read into `buf` until it is full, the stream ends or fails; returns the bytes read and
/// the error that stopped it, if any (so bytes read before a failure are not lost).
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> (usize, Option<std::io::Error>) {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

/// [`read_full`] for headers: any failure is an error.
fn read_head(path: &Path, gz: bool, r: &mut dyn Read, buf: &mut [u8]) -> Result<usize> {
    match read_full(r, buf) {
        (n, None) => Ok(n),
        (_, Some(e)) => Err(read_error(path, gz, e)),
    }
}

/// Map a read error: a gzip stream that ends early or is corrupt is a format problem.
fn read_error(path: &Path, gz: bool, e: std::io::Error) -> Error {
    if gz && matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::InvalidData | ErrorKind::UnexpectedEof) {
        Error::format(path, format!("corrupt or truncated gzip data: {e}"))
    } else {
        Error::io(path, e)
    }
}

/// Open `path`, detect gzip, parse the header and check the declared size; then decode every
/// value with `convert` (element bytes, big-endian → T).
fn read_idx<T>(path: &Path, what_1d: &str, convert: impl Fn(Dtype, &[u8]) -> T) -> Result<(Header, Vec<T>)> {
    open_idx(path, what_1d)?.read(convert)
}

/// An IDX file opened, its header read and checked, at its first value.
struct Opened<'p> {
    path: &'p Path,
    what_1d: &'p str,
    reader: Box<dyn Read>,
    gz: bool,
    file_len: u64,
    dtype: Dtype,
    header: Header,
}

/// Open `path`, detect gzip, parse the header and check the declared size.
fn open_idx<'p>(path: &'p Path, what_1d: &'p str) -> Result<Opened<'p>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut buffered = BufReader::new(file);
    let gz = {
        let head = buffered.fill_buf().map_err(|e| Error::io(path, e))?;
        head.starts_with(&[0x1f, 0x8b])
    };
    let mut reader: Box<dyn Read> =
        if gz { Box::new(MultiGzDecoder::new(buffered)) } else { Box::new(buffered) };
    let gz_note = if gz { " (decompressed)" } else { "" };

    let mut magic = [0u8; 4];
    let got = read_head(path, gz, &mut *reader, &mut magic)?;
    if got < 4 {
        return Err(Error::format(
            path,
            format!("not an IDX file: {got} bytes{gz_note}, too short for the 4-byte IDX magic"),
        ));
    }
    if magic[0] != 0 || magic[1] != 0 || magic[3] == 0 {
        return Err(Error::format(
            path,
            format!(
                "not an IDX file: magic bytes are {:02x} {:02x} {:02x} {:02x}{gz_note}, expected 00 00 <dtype> <ndim> \
                 (e.g. 00 00 08 03 for MNIST images)",
                magic[0], magic[1], magic[2], magic[3]
            ),
        ));
    }
    let dtype = Dtype::from_code(magic[2]).ok_or_else(|| {
        Error::format(
            path,
            format!(
                "unsupported IDX dtype 0x{:02x}; supported: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64",
                magic[2]
            ),
        )
    })?;
    let ndim = usize::from(magic[3]);
    if ndim > MAX_DIMS {
        return Err(Error::format(
            path,
            format!("IDX header declares {ndim} dimensions, at most {MAX_DIMS} are supported"),
        ));
    }
    let mut dim_bytes = vec![0u8; 4 * ndim];
    let got = read_head(path, gz, &mut *reader, &mut dim_bytes)?;
    if got < dim_bytes.len() {
        return Err(Error::format(
            path,
            format!(
                "truncated: the IDX header declares {ndim} dimensions ({} bytes), the file ends after {got}",
                4 * ndim
            ),
        ));
    }
    let dims: Vec<usize> =
        dim_bytes.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let header_len = 4 + 4 * ndim as u64;
    let dims_text = dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×");
    let payload = dims
        .iter()
        .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&p| p <= MAX_PAYLOAD_BYTES)
        .ok_or_else(|| {
            Error::format(
                path,
                format!(
                    "IDX header declares a {dims_text} array of {}-byte values, more than the {} GiB this loader accepts",
                    dtype.size(),
                    MAX_PAYLOAD_BYTES >> 30
                ),
            )
        })?;
    // With a zero first dimension the total is 0 even if the other dimensions are absurd.
    let row_bytes = dims.iter().skip(1).try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d as u64));
    if !matches!(row_bytes, Some(b) if b <= MAX_PAYLOAD_BYTES) {
        return Err(Error::format(
            path,
            format!("IDX header declares rows of {dims_text} values, too large to load"),
        ));
    }
    let elems = (payload / dtype.size() as u64) as usize;
    let header = Header { dims, elems, payload };
    let expected = || header.declared(what_1d);

    if !gz {
        let available = file_len.saturating_sub(header_len);
        if available < payload {
            return Err(Error::format(
                path,
                format!("truncated: {}, the file holds {available} bytes after the header", expected()),
            ));
        }
        if available > payload {
            return Err(Error::format(
                path,
                format!(
                    "{}, but the file holds {available} bytes after the header ({} bytes of trailing data)",
                    expected(),
                    available - payload
                ),
            ));
        }
    }

    Ok(Opened { path, what_1d, reader, gz, file_len, dtype, header })
}

impl Opened<'_> {
    /// Decode every value with `convert` (element bytes, big-endian → T), checking that
    /// the file holds exactly the values its header declares.
    fn read<T>(self, convert: impl Fn(Dtype, &[u8]) -> T) -> Result<(Header, Vec<T>)> {
        let Opened { path, what_1d, reader, gz, file_len, dtype, header } = self;
        let payload = header.payload;
        let gz_note = if gz { " (decompressed)" } else { "" };
        let expected = || header.declared(what_1d);
        // Up-front allocation: exact for plain files (size already checked), bounded by what the
        // compressed file could possibly expand to for gzip.
        let cap_elems = if gz {
            let bound = file_len.saturating_mul(MAX_DEFLATE_RATIO).saturating_add(CHUNK as u64);
            (payload.min(bound) / dtype.size() as u64) as usize
        } else {
            header.elems
        };
        let mut out = super::buffer::with_capacity(cap_elems);
        let mut limited = reader.take(payload + 1);
        let mut buf = vec![0u8; CHUNK];
        let mut total: u64 = 0;
        loop {
            let (got, err) = read_full(&mut limited, &mut buf);
            let useful = (got as u64).min(payload.saturating_sub(total)) as usize;
            let whole = useful - useful % dtype.size();
            out.extend(buf[..whole].chunks_exact(dtype.size()).map(|b| convert(dtype, b)));
            total += got as u64;
            match err {
                // A gzip stream that ends early: reported as truncation below.
                Some(e) if gz && e.kind() == ErrorKind::UnexpectedEof => break,
                Some(e) => return Err(read_error(path, gz, e)),
                None if got < buf.len() => break,
                None => {}
            }
        }
        if total < payload {
            return Err(Error::format(
                path,
                format!("truncated: {}, the file holds {total} bytes after the header{gz_note}", expected()),
            ));
        }
        if total > payload {
            return Err(Error::format(
                path,
                format!("{}, but the file holds trailing data after them{gz_note}", expected()),
            ));
        }
        Ok((header, out))
    }
}

/// Load an IDX data file as a [`Dataset`]: 3-D `n×h×w` files become rows of `h·w` values with
/// image shape 1×h×w, 4-D `n×c×h×w` files rows with image shape c×h×w, 2-D `n×d` files plain
/// rows and 1-D files `n` rows of one value. u8 values are scaled to `[0, 1]` (÷255); other
/// dtypes keep their values. `source` is the path.
pub fn load_images(path: &Path) -> Result<Dataset> {
    let opened = open_idx(path, "values")?;
    let source = path.display().to_string();
    let shape = |h: &Header| (h.dims.first().copied().unwrap_or(0), h.dims.iter().skip(1).product::<usize>());
    let (header, ds) = if opened.dtype == Dtype::U8 {
        // Held as the bytes alone (`k/255`, the very bits of `(k as f64 / 255.0) as f32`,
        // decoded on first use): training gathers from them, the checks read nothing.
        let (header, codes) = opened.read(|_, b| b[0])?;
        let (rows, cols) = shape(&header);
        let ds = Dataset::from_bytes(codes, rows, cols, source)?;
        (header, ds)
    } else {
        let (header, data) = opened.read(|dtype, b| dtype.decode(b) as f32)?;
        let (rows, cols) = shape(&header);
        let ds = Dataset::new(data, rows, cols, source)?;
        (header, ds)
    };
    debug_assert_eq!(ds.rows() * ds.cols(), header.elems);
    match header.dims[..] {
        [_, h, w] => ds.with_image_shape(ImageShape { channels: 1, height: h, width: w }),
        [_, c, h, w] => ds.with_image_shape(ImageShape { channels: c, height: h, width: w }),
        [_] | [_, _] => Ok(ds),
        _ => Err(Error::format(
            path,
            format!(
                "IDX file has {} dimensions; data files must have 1 to 4 (n, n×d, n×h×w or n×c×h×w)",
                header.dims.len()
            ),
        )),
    }
}

/// Load a 1-D IDX label file (any integer dtype; float dtypes only when every value is an
/// integer).
pub fn load_labels(path: &Path) -> Result<Vec<i64>> {
    let (header, values) = read_idx(path, "labels", |dtype, b| dtype.decode(b))?;
    if header.dims.len() != 1 {
        return Err(Error::format(
            path,
            format!(
                "a label file must be 1-D, this IDX file has {} dimensions ({})",
                header.dims.len(),
                header.describe("labels")
            ),
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(Error::format(path, format!("label {} is {v}, not an integer", i + 1)))
            }
        })
        .collect()
}

/// Load an IDX data file and, when given, its label file; the counts must match.
pub fn load(images: &Path, labels: Option<&Path>) -> Result<Dataset> {
    let ds = load_images(images)?;
    let Some(labels_path) = labels else { return Ok(ds) };
    let labels = load_labels(labels_path)?;
    if labels.len() != ds.rows() {
        return Err(Error::format(
            images,
            format!("holds {} rows but {} holds {} labels", ds.rows(), labels_path.display(), labels.len()),
        ));
    }
    ds.with_labels(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx_bytes(dtype: u8, dims: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, dtype, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(payload);
        v
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn u8_images_and_labels_load_plain_and_gzipped() {
        let dir = tempfile::tempdir().unwrap();
        // 3 images of 2×2
        let pixels: Vec<u8> = (0..12).map(|i| (i * 20) as u8).collect();
        let img = idx_bytes(0x08, &[3, 2, 2], &pixels);
        let lab = idx_bytes(0x08, &[3], &[7, 2, 1]);
        for gz in [false, true] {
            let (ib, lb) = if gz { (gzip(&img), gzip(&lab)) } else { (img.clone(), lab.clone()) };
            let ip = write(&dir, &format!("img{gz}"), &ib);
            let lp = write(&dir, &format!("lab{gz}"), &lb);
            let ds = load(&ip, Some(&lp)).unwrap();
            assert_eq!((ds.rows(), ds.cols()), (3, 4));
            assert_eq!(ds.image_shape, Some(ImageShape { channels: 1, height: 2, width: 2 }));
            assert_eq!(ds.labels.as_deref(), Some(&[7, 2, 1][..]));
            assert_eq!(ds.row(1), &[80.0 / 255.0, 100.0 / 255.0, 120.0 / 255.0, 140.0 / 255.0]);
            assert_eq!(ds.source, ip.display().to_string());
        }
    }

    #[test]
    fn u8_values_load_with_their_bytes_made_and_the_bits_of_the_quotient() {
        let dir = tempfile::tempdir().unwrap();
        // Every byte, twice over, as 2 rows of 256.
        let pixels: Vec<u8> = (0..512).map(|i| (i * 7 % 256) as u8).collect();
        for gz in [false, true] {
            let bytes = idx_bytes(0x08, &[2, 256], &pixels);
            let p = write(&dir, &format!("all{gz}"), &if gz { gzip(&bytes) } else { bytes });
            let ds = load_images(&p).unwrap();
            assert!(ds.known_bytes(), "the bytes are made as the file is read");
            assert_eq!(ds.bytes(), Some(&pixels[..]));
            for (&k, v) in pixels.iter().zip(ds.as_slice()) {
                // The loader's quotient as it computed it before keeping the bytes.
                assert_eq!(v.to_bits(), ((f64::from(k) / 255.0) as f32).to_bits(), "{k}");
            }
            // What the checks read off the bytes is what they read off the values.
            let values = Dataset::new(ds.as_slice().to_vec(), 2, 256, "values").unwrap();
            assert!(!values.known_bytes());
            assert_eq!(ds.value_range(), values.value_range());
            assert_eq!(ds.min_max(), values.min_max());
            assert!(ds.check_finite().is_ok());
        }
    }

    #[test]
    fn other_dtypes_are_big_endian_and_unscaled() {
        let dir = tempfile::tempdir().unwrap();
        let mut payload = Vec::new();
        for v in [1.5f32, -2.0, 3.25, 1e-3] {
            payload.extend_from_slice(&v.to_be_bytes());
        }
        let p = write(&dir, "f32", &idx_bytes(0x0D, &[2, 2], &payload));
        let ds = load_images(&p).unwrap();
        assert_eq!((ds.rows(), ds.cols()), (2, 2));
        assert_eq!(ds.image_shape, None);
        assert_eq!(ds.as_slice(), &[1.5, -2.0, 3.25, 1e-3]);

        let mut payload = Vec::new();
        for v in [-1i16, 300, 7] {
            payload.extend_from_slice(&v.to_be_bytes());
        }
        let p = write(&dir, "i16", &idx_bytes(0x0B, &[3], &payload));
        assert_eq!(load_images(&p).unwrap().as_slice(), &[-1.0, 300.0, 7.0]);
        assert_eq!(load_labels(&p).unwrap(), vec![-1, 300, 7]);

        let p = write(&dir, "i8", &idx_bytes(0x09, &[2], &[0xff, 5]));
        assert_eq!(load_labels(&p).unwrap(), vec![-1, 5]);

        let mut payload = Vec::new();
        for v in [100_000i32, -5] {
            payload.extend_from_slice(&v.to_be_bytes());
        }
        let p = write(&dir, "i32", &idx_bytes(0x0C, &[2], &payload));
        assert_eq!(load_labels(&p).unwrap(), vec![100_000, -5]);

        let mut payload = Vec::new();
        for v in [0.1f64, 2.0] {
            payload.extend_from_slice(&v.to_be_bytes());
        }
        let p = write(&dir, "f64", &idx_bytes(0x0E, &[1, 1, 2], &payload));
        let ds = load_images(&p).unwrap();
        assert_eq!(ds.as_slice(), &[0.1f32, 2.0]);
        assert_eq!(ds.image_shape, Some(ImageShape { channels: 1, height: 1, width: 2 }));
        let e = load_labels(&p).unwrap_err().to_string();
        assert!(e.contains("must be 1-D"), "{e}");
        let p = write(&dir, "f64l", &idx_bytes(0x0E, &[2], &payload));
        let e = load_labels(&p).unwrap_err().to_string();
        assert!(e.contains("label 1 is 0.1, not an integer"), "{e}");
    }

    #[test]
    fn four_d_files_carry_channels() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "rgb", &idx_bytes(0x08, &[2, 3, 1, 2], &[255; 12]));
        let ds = load_images(&p).unwrap();
        assert_eq!((ds.rows(), ds.cols()), (2, 6));
        assert_eq!(ds.image_shape, Some(ImageShape { channels: 3, height: 1, width: 2 }));
        assert!(ds.as_slice().iter().all(|&v| v == 1.0));
    }

    #[test]
    fn truncation_is_reported_with_expected_and_found_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let full = idx_bytes(0x08, &[10, 28, 28], &[0u8; 7840]);
        let cut = &full[..16 + 5000];
        for (name, bytes) in [("t.idx", cut.to_vec()), ("t.idx.gz", gzip(cut))] {
            let p = write(&dir, name, &bytes);
            let e = load_images(&p).unwrap_err().to_string();
            assert!(e.contains(name), "{e}");
            assert!(e.contains("truncated: header declares 10 images of 28×28 (7840 bytes)"), "{e}");
            assert!(e.contains("holds 5000 bytes"), "{e}");
        }
        // A gzip stream cut in the middle.
        let gz = gzip(&full);
        let p = write(&dir, "cut.gz", &gz[..gz.len() / 2]);
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("cut.gz") && (e.contains("truncated") || e.contains("gzip")), "{e}");
        // Header itself truncated.
        let p = write(&dir, "hdr", &full[..10]);
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("truncated") && e.contains("3 dimensions"), "{e}");
        // Trailing data.
        let mut long = full.clone();
        long.push(0);
        let p = write(&dir, "long", &long);
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("1 bytes of trailing data"), "{e}");
        let p = write(&dir, "long.gz", &gzip(&long));
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("trailing data"), "{e}");
    }

    #[test]
    fn hostile_headers_fail_fast() {
        let dir = tempfile::tempdir().unwrap();
        // 2^32-1 cubed: overflows u64 → refused by the cap, never allocated.
        let p = write(&dir, "huge", &idx_bytes(0x0E, &[u32::MAX, u32::MAX, u32::MAX], &[1, 2, 3]));
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("more than the 4 GiB"), "{e}");
        // Plausible size (3.9 GB) with a tiny body, plain and gzipped: refused before allocating.
        let hdr = idx_bytes(0x08, &[60_000, 256, 256], &[0; 100]);
        for (name, bytes) in [("big", hdr.clone()), ("big.gz", gzip(&hdr))] {
            let p = write(&dir, name, &bytes);
            let t = std::time::Instant::now();
            let e = load_images(&p).unwrap_err().to_string();
            assert!(e.contains("truncated") && e.contains("holds 100 bytes"), "{e}");
            assert!(t.elapsed().as_secs() < 2);
        }
        let p = write(&dir, "wrongmagic", b"\x89PNG\r\n\x1a\n0000");
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("not an IDX file: magic bytes are 89 50 4e 47"), "{e}");
        let p = write(&dir, "dtype", &idx_bytes(0x0A, &[1], &[0]));
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("unsupported IDX dtype 0x0a"), "{e}");
        let p = write(&dir, "empty", b"");
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("too short"), "{e}");
        let p = write(&dir, "ndim", &[0, 0, 8, 200]);
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("200 dimensions"), "{e}");
        let p = write(&dir, "zero", &idx_bytes(0x08, &[0, u32::MAX, u32::MAX, u32::MAX], &[]));
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("too large"), "{e}");
        let p = write(&dir, "garbage.gz", &[0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let e = load_images(&p).unwrap_err().to_string();
        assert!(e.contains("garbage.gz"), "{e}");
    }

    #[test]
    fn count_mismatch_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let ip = write(&dir, "imgs", &idx_bytes(0x08, &[2, 1, 1], &[1, 2]));
        let lp = write(&dir, "labs", &idx_bytes(0x08, &[3], &[1, 2, 3]));
        let e = load(&ip, Some(&lp)).unwrap_err().to_string();
        assert!(
            e.contains("imgs") && e.contains("labs") && e.contains("2 rows") && e.contains("3 labels"),
            "{e}"
        );
    }

    #[test]
    fn real_data_mnist_test_set() {
        let Some(dir) = crate::data::test_data::shared("real_data_mnist_test_set", "mnist") else { return };
        let ds = load(&dir.join("t10k-images-idx3-ubyte.gz"), Some(&dir.join("t10k-labels-idx1-ubyte.gz")))
            .unwrap();
        assert_eq!((ds.rows(), ds.cols()), (10_000, 784));
        assert_eq!(ds.image_shape, Some(ImageShape { channels: 1, height: 28, width: 28 }));
        assert_eq!(ds.labels.as_ref().map(|l| l[0]), Some(7));
        let (lo, hi) = ds.min_max();
        assert!(lo >= 0.0 && hi <= 1.0 && hi > 0.99, "{lo} {hi}");
    }
}
