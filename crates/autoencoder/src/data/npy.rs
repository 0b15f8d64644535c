//! NumPy files: loading `.npy` arrays and `.npz` archives into a [`Dataset`], and writing
//! f32 matrices as `.npy` / `.npz`.
//!
//! The format is recognised by its magic (`\x93NUMPY` for NPY, `PK` for NPZ), not by the file
//! extension. The NPY header dictionary is parsed with `npyz`, but only after this module has
//! checked the things `npyz` trusts: the header length (at most [`MAX_HEADER_BYTES`]), the
//! bracket nesting and that the shape's product fits in 64 bits (`npyz` panics on overflow).
//! The declared data size is then compared with the real size before any buffer is
//! allocated, and values are decoded in chunks. NPZ archives are read with the `zip` crate;
//! a member's allocation is bounded by what the archive could really expand to.
//!
//! Supported dtypes (either byte order): float32, float64, uint8, int8, uint16, int16,
//! uint32, int32, uint64, int64 and bool. Values are converted to `f32` as they are; uint8 is
//! NOT scaled to `[0, 1]`. Fortran-order arrays are transposed to row-major.

use std::fs::File;
use std::io::{BufReader, Cursor, ErrorKind, Read, Write};
use std::path::Path;

use npyz::{DType, Endianness, Order, TypeChar};

use crate::atomic::{write_atomic, write_atomic_with};
use crate::data::dataset::{Dataset, ImageShape};
use crate::error::{Error, Result};

/// The longest NPY header text accepted (NumPy itself refuses headers over 10 000 bytes by
/// default).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Deepest bracket nesting accepted in a header; a plain array's header has depth 2.
const MAX_NESTING: usize = 16;

/// Deflate cannot expand data by more than about 1032×; bounds allocation for compressed members.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Read chunk size, a multiple of every element size.
const CHUNK: usize = 64 * 1024;

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// The dtypes this module reads, for error messages.
const SUPPORTED: &str = "float32, float64, uint8, int8, uint16, int16, uint32, int32, uint64, int64, bool";

/// Which arrays of an NPZ archive to load. For a plain `.npy` file both must be `None`
/// (naming a member there is an error rather than silently ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NpyOptions {
    /// The NPZ member holding the data (name without `.npy`). Default: `x`, else `X`, else
    /// `data`, else the only array that is not the labels array; with several such arrays
    /// and none of those names, loading is refused (listing them) rather than guessing.
    pub array: Option<String>,
    /// The NPZ member holding integer labels. Default: `y` or `labels` when present.
    pub labels: Option<String>,
}

/// A dtype as NumPy writes it, without quotes: `<f4`, `|u1`.
fn dtype_text(dtype: &DType) -> String {
    dtype.descr().trim_matches('\'').to_string()
}

/// How to turn one element's bytes into a value.
#[derive(Debug, Clone, Copy)]
struct Elem {
    kind: TypeChar,
    size: usize,
    big_endian: bool,
}

impl Elem {
    /// The element type for a dtype, or a message saying why it is unsupported.
    fn from_dtype(dtype: &DType) -> std::result::Result<Elem, String> {
        let unsupported = || format!("unsupported dtype '{}'; supported: {SUPPORTED}", dtype_text(dtype));
        let DType::Plain(ts) = dtype else {
            return Err(format!(
                "structured dtype {} is not supported; supported: {SUPPORTED}",
                dtype.descr()
            ));
        };
        let size = ts.size_field();
        let ok = match ts.type_char() {
            TypeChar::Float => size == 4 || size == 8,
            TypeChar::Int | TypeChar::Uint => matches!(size, 1 | 2 | 4 | 8),
            TypeChar::Bool => size == 1,
            _ => false,
        };
        if !ok || ts.time_units().is_some() {
            return Err(unsupported());
        }
        Ok(Elem { kind: ts.type_char(), size: size as usize, big_endian: ts.endianness() == Endianness::Big })
    }

    /// Decode one element (`b.len() == self.size`) as f64 (exact up to 2^53 for 64-bit ints).
    fn decode(self, b: &[u8]) -> f64 {
        let mut a = [0u8; 8];
        // Normalise to little-endian in the low bytes.
        for (i, &byte) in b.iter().enumerate().take(8) {
            let at = if self.big_endian { self.size - 1 - i } else { i };
            a[at] = byte;
        }
        let u = u64::from_le_bytes(a);
        match (self.kind, self.size) {
            (TypeChar::Float, 4) => f64::from(f32::from_bits(u as u32)),
            (TypeChar::Float, _) => f64::from_bits(u),
            (TypeChar::Int, 1) => f64::from(u as u8 as i8),
            (TypeChar::Int, 2) => f64::from(u as u16 as i16),
            (TypeChar::Int, 4) => f64::from(u as u32 as i32),
            (TypeChar::Int, _) => u as i64 as f64,
            (TypeChar::Bool, _) => f64::from(u8::from(u != 0)),
            _ => u as f64,
        }
    }

    /// Decode the whole elements of `bytes` as f32, appended to `out`: `decode(b) as f32`
    /// of each, with loops of their own for little-endian `f4` and `f8` and for `u1`,
    /// which vectorise. (Decoding one element at a time took a third of the samples of a
    /// streamed `ae train` of Fashion-MNIST as one `<f4` file, re-read every epoch.)
    fn extend_f32(self, bytes: &[u8], out: &mut Vec<f32>) {
        match (self.kind, self.size, self.big_endian) {
            (TypeChar::Float, 4, false) => {
                out.extend(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            }
            (TypeChar::Float, 8, false) => out.extend(
                bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32),
            ),
            (TypeChar::Uint, 1, _) => out.extend(bytes.iter().map(|&b| f32::from(b))),
            _ => out.extend(bytes.chunks_exact(self.size).map(|b| self.decode(b) as f32)),
        }
    }

    /// Decode one element as an integer label, when it is one.
    fn decode_label(self, b: &[u8]) -> Option<i64> {
        if self.kind == TypeChar::Int && self.size == 8 {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            return Some(if self.big_endian { i64::from_be_bytes(a) } else { i64::from_le_bytes(a) });
        }
        let v = self.decode(b);
        (v.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(&v)).then_some(v as i64)
    }
}

/// A decoded array: its shape and its values in C (row-major) order.
struct Array<T> {
    shape: Vec<usize>,
    values: Vec<T>,
}

/// Read into `buf` until it is full, the stream ends or fails; returns the bytes read and the
/// error that stopped it, if any.
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

/// Bytes of an NPY stream: its total length when known in advance (plain file, NPZ member's
/// declared size) and an upper bound on what a buffer may be given before data arrives.
struct Source<'a> {
    path: &'a Path,
    /// "" for a plain file, "array 'x': " for an NPZ member.
    prefix: String,
    /// `None` for a stream of unknown length (standard input, a pipe): truncation and
    /// trailing bytes are then found by reading.
    total_len: Option<u64>,
    alloc_bound: u64,
}

impl Source<'_> {
    fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::format(self.path, format!("{}{msg}", self.prefix))
    }

    fn read_err(&self, e: std::io::Error) -> Error {
        if matches!(e.kind(), ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::UnexpectedEof) {
            self.err(format!("corrupt data: {e}"))
        } else {
            Error::io(self.path, e)
        }
    }
}

/// Parse the dimensions from the header text's `'shape': (..)` entry, without trusting it
/// (the first occurrence of the key that is followed by `: (ints)`).
fn scan_shape(text: &str) -> Option<Vec<u64>> {
    let after_key = |at: usize| -> Option<Vec<u64>> {
        let rest = text.get(at + 7..)?.trim_start().strip_prefix(':')?.trim_start();
        let (open, close) = match rest.chars().next()? {
            '(' => ('(', ')'),
            '[' => ('[', ']'),
            _ => return None,
        };
        let inner = rest.strip_prefix(open)?;
        let inner = inner.get(..inner.find(close)?)?;
        inner.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse::<u64>().ok()).collect()
    };
    text.match_indices("'shape'").chain(text.match_indices("\"shape\"")).find_map(|(at, _)| after_key(at))
}

/// An NPY array's header, read and checked against the bytes there are.
struct Header {
    shape: Vec<usize>,
    elem: Elem,
    fortran: bool,
    /// The bytes of the values.
    data_bytes: u64,
    /// Where the values start: the magic, the version, the header's length and text.
    data_offset: u64,
    /// "the header declares a …", for messages.
    declares: String,
}

/// Read one NPY stream: header checks, then the values decoded with `convert` (which
/// appends the values of whole elements' bytes), transposed to C order when the file is
/// Fortran-ordered.
fn read_npy<T: Copy>(
    r: &mut dyn Read,
    src: &Source,
    convert: impl Fn(Elem, &[u8], &mut Vec<T>),
) -> Result<Array<T>> {
    let Header { shape, elem, fortran, data_bytes, declares, .. } = read_header(r, src)?;
    let cap = data_bytes.min(src.alloc_bound) / elem.size as u64;
    let mut values: Vec<T> = super::buffer::with_capacity(cap as usize);
    let mut limited = r.take(data_bytes);
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let (got, err) = read_full(&mut limited, &mut buf);
        let whole = got - got % elem.size;
        convert(elem, &buf[..whole], &mut values);
        total += got as u64;
        if let Some(e) = err {
            if e.kind() == ErrorKind::UnexpectedEof {
                break;
            }
            return Err(src.read_err(e));
        }
        if got < buf.len() {
            break;
        }
    }
    if total < data_bytes {
        return Err(src.err(format!("truncated: {declares}, the file holds {total} bytes of data")));
    }
    if src.total_len.is_none() {
        // A stream's length is known only at its end: nothing may follow the array.
        let mut one = [0u8; 1];
        let (more, err) = read_full(limited.into_inner(), &mut one);
        if let Some(e) = err {
            return Err(src.read_err(e));
        }
        if more > 0 {
            return Err(src.err(format!("{declares}, but more bytes follow it (trailing data)")));
        }
    }
    if fortran && shape.len() > 1 {
        values = fortran_to_c(&values, &shape);
    }
    Ok(Array { shape, values })
}

/// Read and check an NPY stream's header, leaving `r` at its first value.
fn read_header(r: &mut dyn Read, src: &Source) -> Result<Header> {
    let mut pre = [0u8; 10];
    let (got, err) = read_full(r, &mut pre);
    if let Some(e) = err {
        return Err(src.read_err(e));
    }
    if got < 8 || !pre.starts_with(NPY_MAGIC) {
        return Err(
            src.err(format!("not an NPY array: it does not start with the magic \\x93NUMPY ({got} bytes)"))
        );
    }
    let (major, minor) = (pre[6], pre[7]);
    let (header_len, prefix_len) = match major {
        1 if got == 10 => (usize::from(u16::from_le_bytes([pre[8], pre[9]])), 10usize),
        2 | 3 => {
            let mut more = [0u8; 2];
            let (more_got, err) = read_full(r, &mut more);
            if let Some(e) = err {
                return Err(src.read_err(e));
            }
            if got < 10 || more_got < 2 {
                return Err(src.err("truncated: the file ends inside the NPY header"));
            }
            (u32::from_le_bytes([pre[8], pre[9], more[0], more[1]]) as usize, 12usize)
        }
        1 => return Err(src.err("truncated: the file ends inside the NPY header")),
        _ => {
            return Err(
                src.err(format!("unsupported NPY format version {major}.{minor}; supported: 1.0, 2.0, 3.0"))
            )
        }
    };
    if header_len > MAX_HEADER_BYTES {
        return Err(src.err(format!(
            "the NPY header claims {header_len} bytes, more than the {MAX_HEADER_BYTES} this loader accepts"
        )));
    }
    let mut header = vec![0u8; header_len];
    let (hgot, err) = read_full(r, &mut header);
    if let Some(e) = err {
        return Err(src.read_err(e));
    }
    if hgot < header_len {
        return Err(src.err(format!(
            "truncated: the NPY header declares {header_len} bytes of header text, the file holds {hgot}"
        )));
    }
    let text = std::str::from_utf8(&header).map_err(|_| src.err("the NPY header is not UTF-8 text"))?;
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_NESTING {
            return Err(src.err(format!("the NPY header nests brackets deeper than {MAX_NESTING}")));
        }
    }
    // The header as the messages quote it: one line, its whitespace runs one space each.
    let shown = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let scanned = scan_shape(text)
        .ok_or_else(|| src.err(format!("the NPY header has no readable 'shape' entry: {shown}")))?;
    let shape_text = scanned.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×");
    // npyz multiplies the dimensions unchecked (zeros included in partial products).
    if scanned.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d.max(1))).is_none() {
        return Err(src.err(format!("the NPY header declares an impossible shape {shape_text}")));
    }

    let mut full = Vec::with_capacity(prefix_len + header_len);
    full.extend_from_slice(&pre[..prefix_len.min(10)]);
    if prefix_len == 12 {
        full.extend_from_slice(&[0, 0]);
        full[8..12].copy_from_slice(&(header_len as u32).to_le_bytes());
    }
    full.extend_from_slice(&header);
    let parsed = npyz::NpyHeader::from_reader(&full[..]).map_err(|e| {
        // npyz's parse errors draw the header over several lines; the first says what.
        let e = e.to_string();
        let why = e.lines().next().unwrap_or_default().trim().trim_end_matches(':');
        src.err(format!("invalid NPY header ({why}): {shown}"))
    })?;
    let shape: Vec<u64> = parsed.shape().to_vec();
    if shape != scanned {
        return Err(src.err(format!("the NPY header's shape is ambiguous: {shown}")));
    }
    let elem = Elem::from_dtype(&parsed.dtype()).map_err(|m| src.err(m))?;

    let too_big = || src.err(format!("the NPY header declares a {shape_text} array, too large to load"));
    let count = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).ok_or_else(too_big)?;
    let data_bytes = count.checked_mul(elem.size as u64).ok_or_else(too_big)?;
    if usize::try_from(data_bytes).is_err() {
        return Err(too_big());
    }
    let shape: Vec<usize> =
        shape.iter().map(|&d| usize::try_from(d).map_err(|_| too_big())).collect::<Result<_>>()?;
    let after_header =
        src.total_len.map_or(data_bytes, |t| t.saturating_sub((prefix_len + header_len) as u64));
    let dtype_name = dtype_text(&parsed.dtype());
    let declares = format!("the header declares a {shape_text} {dtype_name} array ({data_bytes} bytes)");
    if after_header < data_bytes {
        return Err(src.err(format!("truncated: {declares}, the file holds {after_header} bytes of data")));
    }
    if after_header > data_bytes {
        return Err(src.err(format!(
            "{declares}, but the file holds {after_header} bytes of data ({} bytes of trailing data)",
            after_header - data_bytes
        )));
    }

    Ok(Header {
        shape,
        elem,
        fortran: parsed.order() == Order::Fortran,
        data_bytes,
        data_offset: (prefix_len + header_len) as u64,
        declares,
    })
}

/// Where the rows of a plain NPY file lie, for reading a range of them at a time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowLayout {
    offset: u64,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    elem: Elem,
}

/// The rows of the NPY file `path` when it is a 1-D or 2-D array in C order (its header
/// read and checked against the file's length), to be read in ranges by [`read_rows`];
/// `None` for an NPZ archive, a Fortran-ordered array or images (3-D or 4-D), which are
/// read whole.
pub(crate) fn row_layout(path: &Path) -> Result<Option<RowLayout>> {
    let (file_len, reader, magic, got) = open_with_magic(path)?;
    if magic[..got] != NPY_MAGIC[..] {
        return Ok(None);
    }
    let mut chained = Cursor::new(magic.to_vec()).chain(reader);
    let src = Source { path, prefix: String::new(), total_len: Some(file_len), alloc_bound: file_len };
    let h = read_header(&mut chained, &src)?;
    let (rows, cols) = match h.shape.as_slice() {
        [n] => (*n, 1),
        [n, d] if !h.fortran || *n <= 1 || *d <= 1 => (*n, *d),
        _ => return Ok(None),
    };
    Ok(Some(RowLayout { offset: h.data_offset, rows, cols, elem: h.elem }))
}

/// Rows `range` of the NPY file `path` laid out as `layout` says, as f32 (read at their
/// place in the file).
pub(crate) fn read_rows(path: &Path, layout: &RowLayout, range: std::ops::Range<usize>) -> Result<Dataset> {
    let mut values = Vec::new();
    let n = read_rows_into(path, layout, range, &mut values)?;
    Dataset::new(values, n, layout.cols, path.display().to_string())
}

/// [`read_rows`] appended to `out`: returns the rows read (fewer than asked past the
/// file's last row).
pub(crate) fn read_rows_into(
    path: &Path,
    layout: &RowLayout,
    range: std::ops::Range<usize>,
    out: &mut Vec<f32>,
) -> Result<usize> {
    let (size, cols) = (layout.elem.size, layout.cols);
    let n = range.end.saturating_sub(range.start).min(layout.rows.saturating_sub(range.start));
    let at = layout.offset + (range.start * cols * size) as u64;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let e = layout.elem;
    let start = out.len();
    if cfg!(target_endian = "little") && (e.kind, e.size, e.big_endian) == (TypeChar::Float, 4, false) {
        // Little-endian f32 on a little-endian machine: read straight into the values,
        // with no buffer of bytes to fill (its fresh pages) and decode.
        if start == 0 && out.capacity() < n * cols {
            // Fresh zeroed pages (not written twice).
            *out = vec![0.0; n * cols];
        } else {
            out.resize(start + n * cols, 0.0);
        }
        read_at(&file, bytemuck::cast_slice_mut(&mut out[start..]), at).map_err(|e| Error::io(path, e))?;
    } else {
        let mut bytes = vec![0u8; n * cols * size];
        read_at(&file, &mut bytes, at).map_err(|e| Error::io(path, e))?;
        out.reserve(n * cols);
        e.extend_f32(&bytes, out);
    }
    Ok(n)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(at))?;
    file.read_exact(buf)
}

/// Reorder a Fortran-order (first index fastest) buffer into C order (last index fastest).
fn fortran_to_c<T: Copy>(values: &[T], shape: &[usize]) -> Vec<T> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    // Fortran strides: first axis 1.
    let mut fstride = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        fstride[k] = fstride[k - 1] * shape[k - 1];
    }
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    let mut off = 0usize;
    for _ in 0..n {
        out.push(values[off]);
        // Odometer over C order: increment the last axis first.
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            off += fstride[k];
            if idx[k] < shape[k] {
                break;
            }
            off -= fstride[k] * shape[k];
            idx[k] = 0;
        }
    }
    out
}

/// Build the dataset from a decoded data array.
fn to_dataset(path: &Path, prefix: &str, arr: Array<f32>) -> Result<Dataset> {
    let source = path.display().to_string();
    let shape = arr.shape;
    let ds = |rows: usize, cols: usize| Dataset::new(arr.values, rows, cols, source);
    match shape[..] {
        [n] => ds(n, 1),
        [n, d] => ds(n, d),
        [n, h, w] => ds(n, h * w)?.with_image_shape(ImageShape { channels: 1, height: h, width: w }),
        [n, c, h, w] => ds(n, c * h * w)?.with_image_shape(ImageShape { channels: c, height: h, width: w }),
        _ => Err(Error::format(
            path,
            format!(
                "{prefix}a {}-dimensional array cannot be loaded as rows; expected 1 to 4 dimensions \
                 (n, n×d, n×h×w or n×c×h×w)",
                shape.len()
            ),
        )),
    }
}

fn load_labels(r: &mut dyn Read, src: &Source, rows: usize) -> Result<Vec<i64>> {
    let arr = read_npy(r, src, |e, b, out| out.extend(b.chunks_exact(e.size).map(|b| e.decode_label(b))))?;
    let ok_shape = matches!(arr.shape[..], [_] | [_, 1]);
    if !ok_shape || arr.shape.first() != Some(&rows) {
        return Err(src.err(format!(
            "labels must be a 1-D array of {rows} values (one per data row), found shape {}",
            arr.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×")
        )));
    }
    arr.values
        .iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| src.err(format!("label {} is not an integer", i + 1))))
        .collect()
}

/// `path` opened: its length, a reader past its first six bytes, those bytes, and how
/// many there were (fewer in a shorter file).
fn open_with_magic(path: &Path) -> Result<(u64, BufReader<File>, [u8; 6], usize)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 6];
    let (got, err) = read_full(&mut reader, &mut magic);
    if let Some(e) = err {
        return Err(Error::io(path, e));
    }
    Ok((file_len, reader, magic, got))
}

/// Load a `.npy` array or an `.npz` archive (told apart by their magic bytes) as a [`Dataset`]:
/// 1-D `n` → n rows of 1; 2-D `n×d`; 3-D `n×h×w` → image shape 1×h×w; 4-D `n×c×h×w` → image
/// shape c×h×w. For NPZ, `opts` picks the data and label members (see [`NpyOptions`]).
pub fn load(path: &Path, opts: &NpyOptions) -> Result<Dataset> {
    let (file_len, reader, magic, got) = open_with_magic(path)?;
    let magic = &magic[..got];
    if magic.starts_with(b"PK\x03\x04") || magic.starts_with(b"PK\x05\x06") {
        return load_npz(path, file_len, opts);
    }
    if magic != NPY_MAGIC {
        let hex = magic.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
        return Err(Error::format(
            path,
            format!(
                "not an NPY or NPZ file: it starts with [{hex}], expected \\x93NUMPY (NPY) or PK\\x03\\x04 (NPZ)"
            ),
        ));
    }
    for (field, name) in [("array", &opts.array), ("labels", &opts.labels)] {
        if let Some(name) = name {
            return Err(Error::config(
                field,
                format!(
                    "{}: is an NPY file holding one array; member names such as \"{name}\" apply to NPZ archives",
                    path.display()
                ),
            ));
        }
    }
    let mut chained = Cursor::new(magic.to_vec()).chain(reader);
    let src = Source { path, prefix: String::new(), total_len: Some(file_len), alloc_bound: file_len };
    let arr = read_npy(&mut chained, &src, |e, b, out| e.extend_f32(b, out))?;
    to_dataset(path, "", arr)
}

/// The most bytes reserved for a stream's values before they arrive (a stream has no
/// length to bound a header's claim by; past this the buffer grows as data comes).
const STREAM_RESERVE: u64 = 64 << 20;

/// A `.npy` array from a reader (standard input, a pipe) read once from start to end,
/// as [`load`] reads a file; `path` names it in messages and as the dataset's source.
/// An NPZ archive needs seeking and is refused. Memory follows the bytes that arrive,
/// not the header's claim.
pub fn load_reader(input: impl Read, path: &Path, opts: &NpyOptions) -> Result<Dataset> {
    for (field, name) in [("array", &opts.array), ("labels", &opts.labels)] {
        if let Some(name) = name {
            return Err(Error::config(
                field,
                format!(
                    "{}: reads one NPY array; member names such as \"{name}\" apply to NPZ archives",
                    path.display()
                ),
            ));
        }
    }
    let mut reader = BufReader::new(input);
    let src = Source { path, prefix: String::new(), total_len: None, alloc_bound: STREAM_RESERVE };
    let arr = read_npy(&mut reader, &src, |e, b, out| e.extend_f32(b, out))?;
    to_dataset(path, "", arr)
}

fn load_npz(path: &Path, file_len: u64, opts: &NpyOptions) -> Result<Dataset> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| Error::format(path, format!("not a readable NPZ (zip) archive: {e}")))?;
    let names: Vec<String> = (0..zip.len())
        .filter_map(|i| zip.name_for_index(i))
        .filter_map(|n| n.strip_suffix(".npy"))
        .map(str::to_string)
        .collect();
    let listed = || names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
    if names.is_empty() {
        return Err(Error::format(path, "the NPZ archive holds no .npy arrays"));
    }
    let has = |n: &str| names.iter().any(|m| m == n);
    let label_name = match &opts.labels {
        Some(n) if has(n) => Some(n.clone()),
        Some(n) => {
            return Err(Error::config(
                "labels",
                format!("{}: the NPZ archive has no array '{n}'; it holds {}", path.display(), listed()),
            ))
        }
        None => ["y", "labels"]
            .iter()
            .find(|n| has(n) && opts.array.as_deref() != Some(**n))
            .map(|n| n.to_string()),
    };
    let data_name = match &opts.array {
        Some(n) if has(n) => n.clone(),
        Some(n) => {
            return Err(Error::config(
                "array",
                format!("{}: the NPZ archive has no array '{n}'; it holds {}", path.display(), listed()),
            ))
        }
        None => match ["x", "X", "data"].iter().find(|n| has(n)) {
            Some(n) => n.to_string(),
            None => {
                let candidates: Vec<&String> =
                    names.iter().filter(|n| Some(*n) != label_name.as_ref()).collect();
                match candidates[..] {
                    [] => {
                        return Err(Error::format(
                            path,
                            format!("the NPZ archive holds only the labels array {}", listed()),
                        ))
                    }
                    [only] => only.clone(),
                    _ => {
                        return Err(Error::format(
                            path,
                            format!(
                                "the NPZ archive holds {} arrays ({}) and none is named x, X or data; \
                                 choose the data array with array = NAME",
                                names.len(),
                                listed()
                            ),
                        ))
                    }
                }
            }
        },
    };
    if label_name.as_deref() == Some(data_name.as_str()) {
        return Err(Error::config(
            "labels",
            format!("{}: array '{data_name}' cannot be both the data and the labels", path.display()),
        ));
    }

    let alloc_bound = file_len.saturating_mul(MAX_DEFLATE_RATIO).saturating_add(CHUNK as u64);
    let ds = {
        let (mut member, src) = open_member(&mut zip, path, &data_name, alloc_bound)?;
        let arr = read_npy(&mut member, &src, |e, b, out| e.extend_f32(b, out))?;
        to_dataset(path, &src.prefix, arr)?
    };
    match label_name {
        None => Ok(ds),
        Some(name) => {
            let (mut member, src) = open_member(&mut zip, path, &name, alloc_bound)?;
            let labels = load_labels(&mut member, &src, ds.rows())?;
            ds.with_labels(labels)
        }
    }
}

/// Open the NPZ member `name.npy`, with the sizes [`read_npy`] checks against.
fn open_member<'z, 'p>(
    zip: &'z mut zip::ZipArchive<BufReader<File>>,
    path: &'p Path,
    name: &str,
    alloc_bound: u64,
) -> Result<(zip::read::ZipFile<'z, BufReader<File>>, Source<'p>)> {
    let member = zip
        .by_name(&format!("{name}.npy"))
        .map_err(|e| Error::format(path, format!("array '{name}': cannot read it from the archive: {e}")))?;
    let src =
        Source { path, prefix: format!("array '{name}': "), total_len: Some(member.size()), alloc_bound };
    Ok((member, src))
}

/// The NPY v1.0 header of a little-endian f32 C-order `rows × cols` array.
pub(crate) fn npy_header(rows: usize, cols: usize) -> Vec<u8> {
    header_for("<f4", &format!("({rows}, {cols})"))
}

/// A `.npy` file's bytes in memory: `rows × cols` row-major f32 values (what [`write()`]
/// writes), for an answer sent over a connection rather than a file.
pub fn to_bytes(data: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    let mut out = npy_header(rows, cols);
    out.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    out
}

/// A `.npy` file's bytes of a 1-D little-endian f64 array (per-row scores).
pub fn f64_vector_bytes(values: &[f64]) -> Vec<u8> {
    let mut out = header_for("<f8", &format!("({},)", values.len()));
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    out
}

fn header_for(descr: &str, shape: &str) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad with spaces so magic + version + length + text + '\n' is a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let mut out = Vec::with_capacity(unpadded + pad);
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&((dict.len() + pad + 1) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    out
}

fn check_len(path: &Path, data: &[f32], rows: usize, cols: usize) -> Result<()> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(Error::Data(format!(
            "{}: cannot write {} values as {rows} rows × {cols} columns",
            path.display(),
            data.len()
        )));
    }
    Ok(())
}

fn write_npy_body(w: &mut dyn Write, data: &[f32], rows: usize, cols: usize) -> std::io::Result<()> {
    w.write_all(&npy_header(rows, cols))?;
    write_values(w, data)
}

/// The values of an NPY body (little-endian f32), after its header ([`npy_header`]).
pub(crate) fn write_values(w: &mut dyn Write, data: &[f32]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(CHUNK);
    for chunk in data.chunks(CHUNK / 4) {
        buf.clear();
        buf.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Write `rows × cols` row-major values as a little-endian f32 C-order 2-D `.npy` (format
/// 1.0, header padded to 64 bytes as NumPy does), atomically.
pub fn write(path: &Path, data: &[f32], rows: usize, cols: usize) -> Result<()> {
    check_len(path, data, rows, cols)?;
    write_atomic_with(path, |w| write_npy_body(w, data, rows, cols))
}

/// Write several `(name, values, rows, cols)` f32 arrays as an uncompressed `.npz` (what
/// `numpy.savez` writes: members `name.npy`), atomically. The archive is built in memory.
pub fn write_npz(path: &Path, arrays: &[(&str, &[f32], usize, usize)]) -> Result<()> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let zerr = |e: zip::result::ZipError| Error::io(path, std::io::Error::other(e));
    for &(name, data, rows, cols) in arrays {
        check_len(path, data, rows, cols)?;
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(data.len() as u64 * 4 + 128 >= u64::from(u32::MAX));
        zip.start_file(format!("{name}.npy"), opts).map_err(zerr)?;
        write_npy_body(&mut zip, data, rows, cols).map_err(|e| Error::io(path, e))?;
    }
    let bytes = zip.finish().map_err(zerr)?.into_inner();
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NPY v1.0 bytes with the given header dict text and raw data.
    fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut v = NPY_MAGIC.to_vec();
        v.extend_from_slice(&[1, 0]);
        let text = format!("{dict}\n");
        v.extend_from_slice(&(text.len() as u16).to_le_bytes());
        v.extend_from_slice(text.as_bytes());
        v.extend_from_slice(data);
        v
    }

    fn le_f32(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    fn put(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn load_err(p: &Path) -> String {
        load(p, &NpyOptions::default()).unwrap_err().to_string()
    }

    #[test]
    fn f32_f64_u8_and_ints_load() {
        let dir = tempfile::tempdir().unwrap();
        let p = put(
            &dir,
            "a.npy",
            &npy(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                &le_f32(&[1., 2., 3., 4., 5., 6.5]),
            ),
        );
        let ds = load(&p, &NpyOptions::default()).unwrap();
        assert_eq!((ds.rows(), ds.cols(), ds.image_shape), (2, 3, None));
        assert_eq!(ds.as_slice(), &[1., 2., 3., 4., 5., 6.5]);

        let be: Vec<u8> = [0.1f64, -2.0].iter().flat_map(|x| x.to_be_bytes()).collect();
        let p = put(&dir, "b.npy", &npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", &be));
        let ds = load(&p, &NpyOptions::default()).unwrap();
        assert_eq!((ds.rows(), ds.cols(), ds.as_slice()), (2, 1, &[0.1f32, -2.0][..]));

        let p = put(
            &dir,
            "c.npy",
            &npy(
                "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }",
                &[0, 1, 2, 3, 4, 5, 6, 255],
            ),
        );
        let ds = load(&p, &NpyOptions::default()).unwrap();
        assert_eq!(ds.image_shape, Some(ImageShape { channels: 1, height: 2, width: 2 }));
        assert_eq!(ds.row(1), &[4., 5., 6., 255.]);

        let ints: Vec<u8> = [-3i64, 1 << 40].iter().flat_map(|x| x.to_le_bytes()).collect();
        let p = put(
            &dir,
            "d.npy",
            &npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1, 1, 2), }", &ints),
        );
        let ds = load(&p, &NpyOptions::default()).unwrap();
        assert_eq!(ds.image_shape, Some(ImageShape { channels: 1, height: 1, width: 2 }));
        assert_eq!(ds.as_slice(), &[-3.0, (1u64 << 40) as f32]);

        let i32s: Vec<u8> = [-7i32, 9].iter().flat_map(|x| x.to_be_bytes()).collect();
        let p =
            put(&dir, "e.npy", &npy("{'descr': '>i4', 'fortran_order': False, 'shape': (1, 2), }", &i32s));
        assert_eq!(load(&p, &NpyOptions::default()).unwrap().as_slice(), &[-7.0, 9.0]);
    }

    /// The loops of their own (`<f4`, `<f8`, `|u1`) decode every element as `decode`
    /// does, as do the others, on bytes of every pattern (NaNs are NaNs either way).
    #[test]
    fn elements_decode_alike_by_slice_and_one_by_one() {
        let mut state = 3u64;
        let bytes: Vec<u8> = (0..8 * 512)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        for kind in [TypeChar::Float, TypeChar::Int, TypeChar::Uint] {
            for size in [1, 2, 4, 8] {
                for big_endian in [false, true] {
                    let e = Elem { kind, size, big_endian };
                    let mut fast = Vec::new();
                    e.extend_f32(&bytes, &mut fast);
                    let slow: Vec<f32> = bytes.chunks_exact(size).map(|b| e.decode(b) as f32).collect();
                    assert_eq!(fast.len(), slow.len());
                    for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
                        assert!(
                            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                            "{e:?}, element {i}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn fortran_order_is_transposed() {
        let dir = tempfile::tempdir().unwrap();
        // C-order [[1,2,3],[4,5,6]] stored column-major: 1 4 2 5 3 6.
        let p = put(
            &dir,
            "f.npy",
            &npy(
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                &le_f32(&[1., 4., 2., 5., 3., 6.]),
            ),
        );
        let ds = load(&p, &NpyOptions::default()).unwrap();
        assert_eq!(ds.as_slice(), &[1., 2., 3., 4., 5., 6.]);
        // 3-D (2, 2, 3): value = 100·i + 10·j + k, stored with i fastest.
        let mut fdata = Vec::new();
        for k in 0..3 {
            for j in 0..2 {
                for i in 0..2 {
                    fdata.push((100 * i + 10 * j + k) as f32);
                }
            }
        }
        let p = put(
            &dir,
            "f3.npy",
            &npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2, 3), }", &le_f32(&fdata)),
        );
        let ds = load(&p, &NpyOptions::default()).unwrap();
        let expect: Vec<f32> = (0..2)
            .flat_map(|i| (0..2).flat_map(move |j| (0..3).map(move |k| (100 * i + 10 * j + k) as f32)))
            .collect();
        assert_eq!(ds.as_slice(), &expect[..]);
        assert_eq!(ds.image_shape, Some(ImageShape { channels: 1, height: 2, width: 3 }));
    }

    #[test]
    fn npz_with_x_and_y_and_member_choice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.npz");
        // Built with the zip crate directly, deflated like numpy.savez_compressed.
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let members: [(&str, Vec<u8>); 3] = [
            (
                "y.npy",
                npy(
                    "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                    &[3, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0],
                ),
            ),
            (
                "x.npy",
                npy(
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                    &le_f32(&[1., 2., 3., 4.]),
                ),
            ),
            ("other.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }", &[0; 16])),
        ];
        for (name, bytes) in &members {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(bytes).unwrap();
        }
        std::fs::write(&p, zip.finish().unwrap().into_inner()).unwrap();

        let ds = load(&p, &NpyOptions::default()).unwrap();
        assert_eq!((ds.rows(), ds.cols(), ds.as_slice()), (2, 2, &[1., 2., 3., 4.][..]));
        assert_eq!(ds.labels.as_deref(), Some(&[3, 9][..]));
        let ds = load(&p, &NpyOptions { array: Some("other".into()), labels: None }).unwrap();
        assert_eq!((ds.cols(), ds.labels.as_deref()), (1, Some(&[3, 9][..])));
        let e = load(&p, &NpyOptions { array: Some("z".into()), labels: None }).unwrap_err().to_string();
        assert!(e.contains("no array 'z'") && e.contains("'y', 'x', 'other'"), "{e}");
        let e = load(&p, &NpyOptions { array: Some("other".into()), labels: Some("x".into()) })
            .unwrap_err()
            .to_string();
        assert!(e.contains("d.npz: array 'x': labels must be a 1-D array of 2 values"), "{e}");

        // Written by write_npz; an .npy file name doesn't matter, the magic does.
        let q = dir.path().join("w.npy");
        write_npz(&q, &[("data", &[1.5, 2.5], 2, 1), ("labels", &[0.0, 1.0], 2, 1)]).unwrap();
        let ds = load(&q, &NpyOptions::default()).unwrap();
        assert_eq!((ds.as_slice(), ds.labels.as_deref()), (&[1.5, 2.5][..], Some(&[0, 1][..])));
        let e = load(&q, &NpyOptions { array: None, labels: Some("data".into()) }).unwrap_err().to_string();
        assert!(e.contains("both the data and the labels"), "{e}");
    }

    /// Several arrays and none named x, X or data: refused, listing them and naming the
    /// setting, instead of silently taking the first; one array (beside the labels) loads.
    #[test]
    fn ambiguous_npz_is_refused_and_a_single_array_loads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ab.npz");
        write_npz(&p, &[("a", &[1.0, 2.0], 2, 1), ("b", &[3.0, 4.0, 5.0, 6.0], 2, 2)]).unwrap();
        let e = load_err(&p);
        assert!(
            e.contains("ab.npz: the NPZ archive holds 2 arrays ('a', 'b') and none is named x, X or data")
                && e.contains("array = NAME"),
            "{e}"
        );
        let ds = load(&p, &NpyOptions { array: Some("b".into()), labels: None }).unwrap();
        assert_eq!((ds.rows(), ds.cols()), (2, 2));

        let p = dir.path().join("one.npz");
        write_npz(&p, &[("a", &[1.0, 2.0], 2, 1)]).unwrap();
        assert_eq!(load(&p, &NpyOptions::default()).unwrap().as_slice(), &[1.0, 2.0]);
        // The labels array does not count: `a` is the only data array.
        let p = dir.path().join("ay.npz");
        write_npz(&p, &[("y", &[0.0, 1.0], 2, 1), ("a", &[1.0, 2.0], 2, 1)]).unwrap();
        let ds = load(&p, &NpyOptions::default()).unwrap();
        assert_eq!((ds.as_slice(), ds.labels.as_deref()), (&[1.0, 2.0][..], Some(&[0, 1][..])));
    }

    #[test]
    fn write_round_trips_and_header_is_aligned() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.npy");
        let data = [0.1f32, -1e-30, 3.0, f32::MAX, 5.0, 6.0];
        write(&p, &data, 3, 2).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        assert_eq!(bytes.len(), 10 + hlen + 24);
        assert!(std::str::from_utf8(&bytes[10..10 + hlen])
            .unwrap()
            .starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"));
        let ds = load(&p, &NpyOptions::default()).unwrap();
        assert_eq!((ds.rows(), ds.cols(), ds.as_slice()), (3, 2, &data[..]));
        assert!(write(&p, &data, 4, 2).is_err());
        let e = load(&p, &NpyOptions { array: Some("x".into()), labels: None }).unwrap_err().to_string();
        assert!(e.contains("NPY file holding one array"), "{e}");
    }

    #[test]
    fn malformed_files_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 10), }", &le_f32(&[0.0; 100]));
        let p = put(&dir, "t.npy", &good[..good.len() - 8]);
        let e = load_err(&p);
        assert!(
            e.contains(
                "t.npy: truncated: the header declares a 10×10 <f4 array (400 bytes), the file holds 392"
            ),
            "{e}"
        );
        let mut long = good.clone();
        long.push(1);
        let p = put(&dir, "l.npy", &long);
        assert!(load_err(&p).contains("1 bytes of trailing data"));
        let p = put(&dir, "h.npy", &good[..30]);
        assert!(load_err(&p).contains("truncated: the NPY header declares"));

        let p = put(&dir, "m.npy", b"GIF89a....");
        let e = load_err(&p);
        assert!(e.contains("m.npy: not an NPY or NPZ file: it starts with [47 49 46 38 39 61]"), "{e}");
        let p = put(&dir, "z.npy", b"");
        assert!(load_err(&p).contains("not an NPY or NPZ file"));
        let p = put(&dir, "v.npy", b"\x93NUMPY\x09\x00\x10\x00");
        assert!(load_err(&p).contains("unsupported NPY format version 9.0"));

        let p =
            put(&dir, "c.npy", &npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", &[0; 8]));
        let e = load_err(&p);
        assert!(e.contains("unsupported dtype '<c8'") && e.contains("supported: float32"), "{e}");
        let p =
            put(&dir, "u.npy", &npy("{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }", &[0; 12]));
        assert!(load_err(&p).contains("unsupported dtype '<U3'"));
        let p = put(
            &dir,
            "r.npy",
            &npy("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }", &[0; 8]),
        );
        assert!(load_err(&p).contains("structured dtype"), "{}", load_err(&p));
        let p = put(
            &dir,
            "k.npy",
            &npy("{'descr': [('shape', '<f4')], 'fortran_order': False, 'shape': (1,), }", &[0; 4]),
        );
        assert!(
            load_err(&p).contains("structured dtype [('shape', '<f4'), ] is not supported"),
            "{}",
            load_err(&p)
        );
        let p = put(&dir, "s.npy", &npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &[0; 4]));
        assert!(load_err(&p).contains("0-dimensional"), "{}", load_err(&p));
        let p = put(&dir, "g.npy", &npy("{'descr': '<f4' 'fortran_order': False, 'shape': (1,), }", &[0; 4]));
        assert!(load_err(&p).contains("invalid NPY header"), "{}", load_err(&p));
        // One line, the header quoted after the reason (npyz's own message is several).
        let p = put(&dir, "u.npy", &npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), ", &[0; 4]));
        let e = load_err(&p);
        assert!(
            !e.contains('\n')
                && e.contains("syntax error")
                && e.contains("): {'descr': '<f4', 'fortran_order': False,"),
            "{e}"
        );
        let p = put(&dir, "n.npy", &npy(&format!("{}{}", "[".repeat(5000), "]".repeat(5000)), &[]));
        assert!(load_err(&p).contains("nests brackets"));
        let p = put(&dir, "bad.npz", b"PK\x03\x04garbage");
        assert!(load_err(&p).contains("bad.npz: not a readable NPZ (zip) archive"));
    }

    #[test]
    fn hostile_sizes_fail_fast_without_allocating() {
        let dir = tempfile::tempdir().unwrap();
        for shape in [
            "(1000000000000, 1000000000000)",
            "(18446744073709551615, 18446744073709551615)",
            "(0, 4294967296, 4294967296, 4294967296)",
            "(4611686018427387904,)",
        ] {
            let p = put(
                &dir,
                "big.npy",
                &npy(&format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"), &[0; 64]),
            );
            let t = std::time::Instant::now();
            let e = load_err(&p);
            assert!(
                e.contains("big.npy")
                    && (e.contains("impossible") || e.contains("too large") || e.contains("truncated")),
                "{shape}: {e}"
            );
            assert!(t.elapsed().as_secs() < 2);
        }
        // v2 header claiming 4 GB of header text.
        let p = put(&dir, "hdr.npy", b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}");
        assert!(load_err(&p).contains("more than the 65536"));

        // NPZ member whose header declares far more than the member holds.
        let p = dir.path().join("big.npz");
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("x.npy", opts).unwrap();
        zip.write_all(&npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }",
            &[0; 40],
        ))
        .unwrap();
        std::fs::write(&p, zip.finish().unwrap().into_inner()).unwrap();
        let e = load_err(&p);
        assert!(e.contains("big.npz: array 'x': truncated") && e.contains("holds 40 bytes"), "{e}");
    }
}
