//! MATLAB `.mat` files: loading a data matrix (`X`) and its labels (`y`) into a [`Dataset`],
//! as the ODDS outlier-detection benchmark distributes them.
//!
//! Two container formats are read:
//! - **MAT v5** (MATLAB's `-v5`/`-v6`/`-v7`, scipy's `savemat`): a 128-byte text header, then
//!   tagged data elements, each variable one `miMATRIX` element, plain or wrapped in a
//!   zlib-compressed `miCOMPRESSED` element. This module parses them itself (the `matfile`
//!   crate decompresses without a bound, widens only some integer storage types and reports
//!   failures without saying where). Both byte orders and the small data element format are
//!   read. A numeric array's values may be stored in any numeric type whatever its class
//!   (MATLAB stores integer-valued doubles as `miUINT8`, `miINT16`, …); all are widened.
//!   Every declared size is checked against the bytes really there before anything is
//!   allocated; a compressed variable is only fully decompressed when it is needed, and its
//!   declared size must stay under [`MAX_DECODED_BYTES`] and within what deflate can produce
//!   from its compressed length.
//! - **MAT v7.3** (MATLAB's `-v7.3`): an HDF5 file behind a 512-byte header block, read with
//!   the pure-Rust `hdf5-reader` crate. Each variable is a dataset at the root.
//!
//! MATLAB stores arrays column-major; rows here are row-major, so `X` (n × d) is transposed
//! on load. Values are converted to `f32`; labels must be whole numbers and become `i64`.
//! Complex, sparse, cell, struct and char arrays are refused with a message that says so.
//!
//! Reading needs the `mat` feature (on by default, it brings `hdf5-reader`); without it,
//! [`load`] answers with an error that names the feature, and [`MatOptions`] and the
//! header check remain.

// Without the `mat` feature the readers below are compiled (so that they keep building)
// but unused.
#![cfg_attr(not(feature = "mat"), allow(dead_code))]

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};

/// Largest decoded variable (or HDF5 read) accepted: 2 GiB.
pub const MAX_DECODED_BYTES: u64 = 2 << 30;

/// Deflate cannot expand data by more than about 1032×; a compressed element declaring more
/// is corrupt.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// How much of a compressed variable is decompressed to learn its name and shape.
const PEEK_BYTES: usize = 64 * 1024;

/// Where MAT v7.3 files keep the HDF5 superblock (after MATLAB's 512-byte header block).
const HDF5_OFFSET: usize = 512;
const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

// MAT v5 data types (the `mi*` constants of the format).
const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;
const MI_UTF8: u32 = 16;

/// Which variables of a `.mat` file to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatOptions {
    /// The variable holding the n × d data matrix. Default: `X`.
    pub data: String,
    /// The variable holding the labels (n × 1 or 1 × n, whole numbers). `None` (the default)
    /// uses `y` when the file has it and loads no labels otherwise; a name given here must
    /// exist.
    pub labels: Option<String>,
}

impl Default for MatOptions {
    fn default() -> Self {
        MatOptions { data: "X".to_string(), labels: None }
    }
}

/// True when `head` (a file's first bytes, at least 19 of them) starts with the text header
/// of a MAT v5 or v7.3 file, e.g. `MATLAB 5.0 MAT-file`.
pub fn is_mat_header(head: &[u8]) -> bool {
    head.len() >= 19 && head.starts_with(b"MATLAB ") && &head[10..19] == b" MAT-file"
}

/// Load `X` (or `opts.data`) as the rows of a [`Dataset`] and `y` (or `opts.labels`) as its
/// labels from the MAT v5 or v7.3 file at `path`.
#[cfg(feature = "mat")]
pub fn load(path: &Path, opts: &MatOptions) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let err = |m: String| Error::format(path, m);
    if bytes.len() >= HDF5_OFFSET + HDF5_MAGIC.len() && bytes[HDF5_OFFSET..].starts_with(HDF5_MAGIC) {
        drop(bytes);
        return load_v73(path, opts);
    }
    if bytes.starts_with(b"MATLAB 7.3 MAT-file") {
        return Err(err(format!(
            "not a MAT v7.3 file: the header says MAT v7.3 but there is no HDF5 signature at byte \
             {HDF5_OFFSET} (file truncated?)"
        )));
    }
    let vars = parse_v5(&bytes).map_err(err)?;
    let data = pick(&vars, &opts.data, true)
        .map_err(err)?
        .ok_or_else(|| err(format!("no variable `{}`", opts.data)))?;
    let labels = match &opts.labels {
        Some(name) => pick(&vars, name, true).map_err(err)?,
        None => pick(&vars, "y", false).map_err(err)?,
    };
    let big = vars.big_endian;
    let data = numeric_v5(&data, big).map_err(err)?;
    let labels = labels.as_ref().map(|l| numeric_v5(l, big)).transpose().map_err(err)?;
    build(path, data, labels)
}

/// Without the `mat` feature: an error naming the feature.
#[cfg(not(feature = "mat"))]
pub fn load(path: &Path, _opts: &MatOptions) -> Result<Dataset> {
    Err(Error::format(
        path,
        "MATLAB .mat files need the `mat` feature of the autoencoder crate (built without it)",
    ))
}

// ---------------------------------------------------------------------------------------------
// Shared: a numeric matrix, however it was stored, becomes rows and labels.

/// The values of a numeric variable, in MATLAB's column-major order.
enum Values<'a> {
    /// Raw bytes of one MAT v5 storage type.
    Raw { ty: u32, bytes: &'a [u8], big: bool },
    /// Already decoded (MAT v7.3).
    F64(Vec<f64>),
}

impl Values<'_> {
    /// Calls `f(index, value)` for every value in storage order.
    fn for_each(&self, mut f: impl FnMut(usize, f64)) {
        match self {
            Values::F64(v) => v.iter().enumerate().for_each(|(i, &x)| f(i, x)),
            Values::Raw { ty, bytes, big } => {
                macro_rules! each {
                    ($t:ty) => {{
                        const N: usize = std::mem::size_of::<$t>();
                        for (i, c) in bytes.chunks_exact(N).enumerate() {
                            let a: [u8; N] = c.try_into().unwrap_or([0; N]);
                            let v = if *big { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) };
                            f(i, v as f64);
                        }
                    }};
                }
                match *ty {
                    MI_INT8 => each!(i8),
                    MI_UINT8 => each!(u8),
                    MI_INT16 => each!(i16),
                    MI_UINT16 => each!(u16),
                    MI_INT32 => each!(i32),
                    MI_UINT32 => each!(u32),
                    MI_SINGLE => each!(f32),
                    MI_DOUBLE => each!(f64),
                    MI_INT64 => each!(i64),
                    MI_UINT64 => each!(u64),
                    _ => {}
                }
            }
        }
    }
}

/// A numeric variable ready to convert: its name, MATLAB dimensions and values.
struct Matrix<'a> {
    name: String,
    dims: Vec<usize>,
    values: Values<'a>,
}

fn dims_text(dims: &[usize]) -> String {
    dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×")
}

/// Rows from the data matrix (transposed to row-major) and labels from the label vector.
fn build(path: &Path, data: Matrix<'_>, labels: Option<Matrix<'_>>) -> Result<Dataset> {
    let err = |m: String| Error::format(path, m);
    if data.dims.len() != 2 {
        return Err(err(format!(
            "`{}` must be a 2-D n×d matrix, found {} dimensions ({})",
            data.name,
            data.dims.len(),
            dims_text(&data.dims)
        )));
    }
    let (rows, cols) = (data.dims[0], data.dims[1]);
    let n = rows.checked_mul(cols).ok_or_else(|| err(format!("`{}` is too large", data.name)))?;
    let mut out = super::buffer::zeroed::<f32>(n);
    // Column-major index k holds row k % rows, column k / rows (no values when rows == 0).
    data.values.for_each(|k, v| {
        let rows = rows.max(1);
        if let Some(o) = out.get_mut((k % rows) * cols + k / rows) {
            *o = v as f32;
        }
    });
    let mut ds = Dataset::new(out, rows, cols, path.display().to_string())?;
    if let Some(l) = labels {
        let count: usize = l.dims.iter().product();
        let vector = l.dims.iter().filter(|&&d| d != 1).count() <= 1;
        if !vector {
            return Err(err(format!(
                "labels `{}` must be a vector (n×1), found {}",
                l.name,
                dims_text(&l.dims)
            )));
        }
        if count != rows {
            return Err(err(format!(
                "`{}` has {rows} rows but labels `{}` has {count} values ({})",
                data.name,
                l.name,
                dims_text(&l.dims)
            )));
        }
        let mut labels = Vec::with_capacity(count);
        let mut bad = None;
        l.values.for_each(|i, v| {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.2e18 {
                labels.push(v as i64);
            } else if bad.is_none() {
                bad = Some((i, v));
            }
        });
        if let Some((i, v)) = bad {
            return Err(err(format!(
                "labels `{}`: value {v} at row {} is not a whole number",
                l.name,
                i + 1
            )));
        }
        ds = ds.with_labels(labels)?;
    }
    Ok(ds)
}

// ---------------------------------------------------------------------------------------------
// MAT v5.

/// Name, class and shape of one variable, for choosing and for error messages.
#[derive(Debug, Clone)]
struct VarInfo {
    name: String,
    class: u8,
    complex: bool,
    dims: Vec<usize>,
}

impl VarInfo {
    fn describe(&self) -> String {
        format!("`{}` ({} {})", self.name, class_name(self.class), dims_text(&self.dims))
    }
}

fn class_name(class: u8) -> &'static str {
    match class {
        1 => "cell",
        2 => "struct",
        3 => "object",
        4 => "char",
        5 => "sparse",
        6 => "double",
        7 => "single",
        8 => "int8",
        9 => "uint8",
        10 => "int16",
        11 => "uint16",
        12 => "int32",
        13 => "uint32",
        14 => "int64",
        15 => "uint64",
        16 => "function",
        17 => "opaque",
        _ => "unknown-class",
    }
}

/// One top-level variable of a v5 file: its header and where its `miMATRIX` body is.
struct Var<'a> {
    info: VarInfo,
    body: Body<'a>,
}

enum Body<'a> {
    /// The `miMATRIX` content, already in memory (plain, or fully decompressed).
    Bytes(Cow<'a, [u8]>),
    /// Compressed and not yet decompressed: the compressed bytes and the declared size.
    Compressed { zbytes: &'a [u8], size: usize },
}

struct V5File<'a> {
    big_endian: bool,
    vars: Vec<Var<'a>>,
}

/// A bounds-checked reader over a byte slice in the file's byte order.
struct Cur<'a> {
    buf: &'a [u8],
    pos: usize,
    big: bool,
}

impl<'a> Cur<'a> {
    fn u32(&mut self) -> Option<u32> {
        let b: [u8; 4] = self.buf.get(self.pos..self.pos.checked_add(4)?)?.try_into().ok()?;
        self.pos += 4;
        Some(if self.big { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    /// One data element: its type and its data (small or long format); skips the padding.
    fn element(&mut self, what: &str) -> std::result::Result<(u32, &'a [u8]), String> {
        let at = self.pos;
        let short = || format!("{what}: data ends inside its tag at byte {at}");
        let first = self.u32().ok_or_else(short)?;
        if first >> 16 != 0 {
            // Small data element format: size in the upper 16 bits, up to 4 bytes of data.
            let (ty, size) = (first & 0xffff, (first >> 16) as usize);
            if size > 4 {
                return Err(format!("{what}: small data element at byte {at} declares {size} bytes (max 4)"));
            }
            let data = self.take(4).ok_or_else(short)?;
            return Ok((ty, &data[..size]));
        }
        let size = self.u32().ok_or_else(short)? as usize;
        let data = self.take(size).ok_or_else(|| {
            format!(
                "{what}: element at byte {at} declares {size} bytes but only {} remain (truncated or corrupt)",
                self.remaining()
            )
        })?;
        let pad = (8 - size % 8) % 8;
        self.pos += pad.min(self.remaining());
        Ok((first, data))
    }
}

/// Size in bytes of one value of a numeric storage type.
fn type_size(ty: u32) -> Option<usize> {
    Some(match ty {
        MI_INT8 | MI_UINT8 => 1,
        MI_INT16 | MI_UINT16 => 2,
        MI_INT32 | MI_UINT32 | MI_SINGLE => 4,
        MI_DOUBLE | MI_INT64 | MI_UINT64 => 8,
        _ => return None,
    })
}

/// The array flags, dimensions and name at the start of a `miMATRIX` body; returns them and
/// the reader positioned after the name.
fn matrix_header<'a>(
    body: &'a [u8],
    big: bool,
    what: &str,
) -> std::result::Result<(VarInfo, Cur<'a>), String> {
    let mut c = Cur { buf: body, pos: 0, big };
    let (ty, flags) = c.element(&format!("{what}: array flags"))?;
    if ty != MI_UINT32 || flags.len() != 8 {
        return Err(format!(
            "{what}: bad array flags (type {ty}, {} bytes; expected miUINT32, 8 bytes)",
            flags.len()
        ));
    }
    let f = Cur { buf: flags, pos: 0, big }.u32().unwrap_or(0);
    let class = (f & 0xff) as u8;
    let complex = f & 0x0800 != 0;
    let (ty, dims_raw) = c.element(&format!("{what}: dimensions"))?;
    if ty != MI_INT32 || !dims_raw.len().is_multiple_of(4) || dims_raw.len() < 8 {
        return Err(format!(
            "{what}: bad dimensions (type {ty}, {} bytes; expected miINT32, at least 2 dimensions)",
            dims_raw.len()
        ));
    }
    let mut dc = Cur { buf: dims_raw, pos: 0, big };
    let mut dims = Vec::with_capacity(dims_raw.len() / 4);
    while let Some(d) = dc.u32() {
        let d = d as i32;
        if d < 0 {
            return Err(format!("{what}: negative dimension {d}"));
        }
        dims.push(d as usize);
    }
    let (ty, name) = c.element(&format!("{what}: name"))?;
    if ty != MI_INT8 && ty != MI_UINT8 && ty != MI_UTF8 {
        return Err(format!("{what}: bad array name (type {ty}, expected miINT8)"));
    }
    let name = String::from_utf8_lossy(name).into_owned();
    Ok((VarInfo { name, class, complex, dims }, c))
}

/// Parse a MAT v5 file's header and list its variables (decompressing only what is needed to
/// learn each variable's name and shape).
fn parse_v5(bytes: &[u8]) -> std::result::Result<V5File<'_>, String> {
    if bytes.len() < 128 || !bytes.starts_with(b"MATLAB") {
        let what = if bytes.len() < 128 { format!("only {} bytes", bytes.len()) } else { "no header".into() };
        return Err(format!(
            "not a MAT file: expected a 128-byte header starting \"MATLAB 5.0 MAT-file\" ({what})"
        ));
    }
    let big = match &bytes[126..128] {
        b"IM" => false,
        b"MI" => true,
        other => {
            return Err(format!(
                "not a MAT v5 file: the endian indicator at byte 126 is {:?}, expected \"IM\" or \"MI\"",
                String::from_utf8_lossy(other)
            ))
        }
    };
    let version = if big {
        u16::from_be_bytes([bytes[124], bytes[125]])
    } else {
        u16::from_le_bytes([bytes[124], bytes[125]])
    };
    if version != 0x0100 {
        return Err(format!("not a MAT v5 file: header version 0x{version:04x}, expected 0x0100"));
    }
    let mut c = Cur { buf: bytes, pos: 128, big };
    let mut vars = Vec::new();
    while c.remaining() >= 8 {
        let at = c.pos;
        let what = format!("variable {} (byte {at})", vars.len() + 1);
        // Top-level tags are always in the long format; compressed elements are not padded.
        let ty = c.u32().unwrap_or(0);
        let size = c.u32().unwrap_or(0) as usize;
        let data = c.take(size).ok_or_else(|| {
            format!(
                "{what}: element declares {size} bytes but only {} remain (truncated or corrupt)",
                c.remaining()
            )
        })?;
        if ty != MI_COMPRESSED {
            c.pos += ((8 - size % 8) % 8).min(c.remaining());
        }
        match ty {
            MI_MATRIX => {
                let (info, _) = matrix_header(data, big, &what)?;
                vars.push(Var { info, body: Body::Bytes(Cow::Borrowed(data)) });
            }
            MI_COMPRESSED => vars.push(peek_compressed(data, big, &what)?),
            // Anything else at the top level is not a variable; skip it.
            _ => {}
        }
    }
    Ok(V5File { big_endian: big, vars })
}

/// Read `n` bytes from a decompressor, explaining a short or broken stream.
fn inflate_exact(
    r: &mut impl Read,
    out: &mut Vec<u8>,
    n: usize,
    what: &str,
) -> std::result::Result<(), String> {
    let start = out.len();
    r.take(n as u64)
        .read_to_end(out)
        .map_err(|e| format!("{what}: compressed data is truncated or corrupt ({e})"))?;
    if out.len() - start < n {
        return Err(format!(
            "{what}: compressed data is truncated: it declares {n} bytes, the stream ends after {}",
            out.len() - start
        ));
    }
    Ok(())
}

/// Decompress the start of a `miCOMPRESSED` element to learn the variable's name and shape.
fn peek_compressed<'a>(zbytes: &'a [u8], big: bool, what: &str) -> std::result::Result<Var<'a>, String> {
    let mut z = flate2::read::ZlibDecoder::new(zbytes);
    let mut head = Vec::with_capacity(8);
    inflate_exact(&mut z, &mut head, 8, what)?;
    let mut c = Cur { buf: &head, pos: 0, big };
    let ty = c.u32().unwrap_or(0);
    let size = c.u32().unwrap_or(0) as u64;
    if ty != MI_MATRIX {
        return Err(format!("{what}: compressed element holds data type {ty}, expected miMATRIX (14)"));
    }
    let cap = MAX_DECODED_BYTES.min((zbytes.len() as u64).saturating_mul(MAX_DEFLATE_RATIO));
    if size > cap {
        return Err(format!(
            "{what}: compressed element declares {size} bytes from {} compressed bytes (limit {cap}); corrupt or too large",
            zbytes.len()
        ));
    }
    let size = size as usize;
    let mut body = Vec::with_capacity(size.min(PEEK_BYTES));
    inflate_exact(&mut z, &mut body, size.min(PEEK_BYTES), what)?;
    let info = match matrix_header(&body, big, what) {
        Ok((info, _)) => info,
        Err(_) if size > body.len() => {
            // A header longer than the peek (very many dimensions): decompress it all.
            let rest = size - body.len();
            inflate_exact(&mut z, &mut body, rest, what)?;
            let (info, _) = matrix_header(&body, big, what)?;
            return Ok(Var { info, body: Body::Bytes(Cow::Owned(body)) });
        }
        Err(e) => return Err(e),
    };
    if size == body.len() {
        // Reading past the end checks the stream's Adler-32 checksum.
        z.read(&mut [0u8; 1])
            .map_err(|e| format!("{what}: compressed data is truncated or corrupt ({e})"))?;
        return Ok(Var { info, body: Body::Bytes(Cow::Owned(body)) });
    }
    Ok(Var { info, body: Body::Compressed { zbytes, size } })
}

/// A chosen variable: its header and its whole `miMATRIX` body.
type Picked<'a> = (VarInfo, Cow<'a, [u8]>);

/// The variable called `name`, decompressed; `Ok(None)` when absent and not `required`.
fn pick<'a>(
    file: &V5File<'a>,
    name: &str,
    required: bool,
) -> std::result::Result<Option<Picked<'a>>, String> {
    let Some(v) = file.vars.iter().find(|v| v.info.name == name) else {
        if !required {
            return Ok(None);
        }
        let list: Vec<String> = file.vars.iter().map(|v| v.info.describe()).collect();
        return Err(if list.is_empty() {
            format!("no variable `{name}`: the file holds no variables")
        } else {
            format!("no variable `{name}`; the file holds {}", list.join(", "))
        });
    };
    let body = match &v.body {
        Body::Bytes(b) => b.clone(),
        Body::Compressed { zbytes, size } => {
            let what = format!("variable `{name}`");
            let mut z = flate2::read::ZlibDecoder::new(*zbytes);
            let mut skip = Vec::with_capacity(8);
            inflate_exact(&mut z, &mut skip, 8, &what)?;
            let mut body = Vec::new();
            body.try_reserve_exact(*size).map_err(|_| format!("{what}: cannot allocate {size} bytes"))?;
            inflate_exact(&mut z, &mut body, *size, &what)?;
            // Reading past the end checks the stream's Adler-32 checksum.
            z.read(&mut [0u8; 1])
                .map_err(|e| format!("{what}: compressed data is truncated or corrupt ({e})"))?;
            Cow::Owned(body)
        }
    };
    Ok(Some((v.info.clone(), body)))
}

/// The numeric data of a picked v5 variable.
fn numeric_v5<'a>(var: &'a Picked<'_>, big: bool) -> std::result::Result<Matrix<'a>, String> {
    let (info, body) = var;
    let what = format!("variable `{}`", info.name);
    if !(6..=15).contains(&info.class) {
        return Err(format!("{what} is a {} array, not a numeric matrix", class_name(info.class)));
    }
    if info.complex {
        return Err(format!("{what} is complex; only real matrices are supported"));
    }
    let (_, mut c) = matrix_header(body, big, &what)?;
    let (ty, bytes) = c.element(&format!("{what}: real part"))?;
    let size = type_size(ty)
        .ok_or_else(|| format!("{what}: values stored as data type {ty}, not a numeric type"))?;
    let count = info.dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if !bytes.len().is_multiple_of(size) || Some(bytes.len() / size) != count {
        return Err(format!(
            "{what}: {} bytes of values for a {} array of {size}-byte values",
            bytes.len(),
            dims_text(&info.dims)
        ));
    }
    Ok(Matrix { name: info.name.clone(), dims: info.dims.clone(), values: Values::Raw { ty, bytes, big } })
}

// ---------------------------------------------------------------------------------------------
// MAT v7.3 (HDF5).

#[cfg(feature = "mat")]
fn load_v73(path: &Path, opts: &MatOptions) -> Result<Dataset> {
    use hdf5_reader::{Hdf5File, OpenOptions};
    let err = |m: String| Error::format(path, m);
    let h5 = |e: hdf5_reader::error::Error| err(format!("MAT v7.3 (HDF5): {e}"));
    let options = OpenOptions::default().with_max_read_bytes(MAX_DECODED_BYTES as usize);
    let file = Hdf5File::open_with_options(path, options).map_err(h5)?;
    let (groups, datasets) = file.root_group().and_then(|g| g.member_names()).map_err(h5)?;
    let list = || {
        let names: Vec<String> = datasets
            .iter()
            .chain(groups.iter())
            .filter(|n| !n.starts_with('#'))
            .map(|n| format!("`{n}`"))
            .collect();
        if names.is_empty() {
            "the file holds no variables".to_string()
        } else {
            format!("the file holds {}", names.join(", "))
        }
    };
    let read = |name: &str, required: bool| -> Result<Option<Matrix<'static>>> {
        if groups.iter().any(|g| g == name) {
            return Err(err(format!(
                "variable `{name}` is a struct or cell (HDF5 group), not a numeric matrix"
            )));
        }
        if !datasets.iter().any(|d| d == name) {
            return if required { Err(err(format!("no variable `{name}`; {}", list()))) } else { Ok(None) };
        }
        let ds = file.dataset(&format!("/{name}")).map_err(h5)?;
        let class = ds.attribute("MATLAB_class").and_then(|a| a.read_string()).ok();
        if let Some(c) = class.as_deref() {
            if !matches!(
                c,
                "double"
                    | "single"
                    | "logical"
                    | "int8"
                    | "uint8"
                    | "int16"
                    | "uint16"
                    | "int32"
                    | "uint32"
                    | "int64"
                    | "uint64"
            ) {
                return Err(err(format!("variable `{name}` is a {c} array, not a numeric matrix")));
            }
        }
        // MATLAB writes an empty array as its dimensions, flagged `MATLAB_empty`.
        let empty = ds.attribute("MATLAB_empty").is_ok();
        // HDF5 lists dimensions slowest first: MATLAB's n×d matrix is stored as (d, n), so the
        // reversed shape is MATLAB's and the storage order is column-major.
        let mut dims: Vec<usize> = ds.shape().iter().rev().map(|&d| d as usize).collect();
        while dims.len() < 2 {
            dims.push(1);
        }
        if empty {
            return Ok(Some(Matrix {
                name: name.to_string(),
                dims: vec![0, 0],
                values: Values::F64(Vec::new()),
            }));
        }
        use hdf5_reader::Datatype as D;
        macro_rules! get {
            ($t:ty) => {
                ds.read_array::<$t>().map_err(h5)?.iter().map(|&v| v as f64).collect::<Vec<f64>>()
            };
        }
        let values = match ds.dtype().clone() {
            D::FloatingPoint { size: 8, .. } => get!(f64),
            D::FloatingPoint { size: 4, .. } => get!(f32),
            D::FixedPoint { size: 1, signed: true, .. } => get!(i8),
            D::FixedPoint { size: 1, signed: false, .. } => get!(u8),
            D::FixedPoint { size: 2, signed: true, .. } => get!(i16),
            D::FixedPoint { size: 2, signed: false, .. } => get!(u16),
            D::FixedPoint { size: 4, signed: true, .. } => get!(i32),
            D::FixedPoint { size: 4, signed: false, .. } => get!(u32),
            D::FixedPoint { size: 8, signed: true, .. } => get!(i64),
            D::FixedPoint { size: 8, signed: false, .. } => get!(u64),
            D::Compound { .. } => {
                return Err(err(format!("variable `{name}` is complex; only real matrices are supported")))
            }
            other => return Err(err(format!("variable `{name}` has unsupported HDF5 type {other:?}"))),
        };
        if dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(values.len()) {
            return Err(err(format!(
                "variable `{name}`: {} values for a {} array",
                values.len(),
                dims_text(&dims)
            )));
        }
        Ok(Some(Matrix { name: name.to_string(), dims, values: Values::F64(values) }))
    };
    let data = read(&opts.data, true)?.ok_or_else(|| err(format!("no variable `{}`", opts.data)))?;
    let labels = match &opts.labels {
        Some(n) => read(n, true)?,
        None => read("y", false)?,
    };
    build(path, data, labels)
}

#[cfg(all(test, not(feature = "mat")))]
mod without_the_feature {
    #[test]
    fn loading_names_the_feature() {
        let e = super::load(std::path::Path::new("x.mat"), &super::MatOptions::default()).unwrap_err();
        assert!(e.to_string().contains("x.mat: MATLAB .mat files need the `mat` feature"), "{e}");
    }
}

#[cfg(all(test, feature = "mat"))]
mod tests {
    use super::*;
    use std::io::Write;

    /// ODDS files with their (n, d) and outlier count, from shared/data/odds/PROVENANCE.md.
    const ODDS: &[(&str, usize, usize, usize)] = &[
        ("annthyroid", 7200, 6, 534),
        ("arrhythmia", 452, 274, 66),
        ("breastw", 683, 9, 239),
        ("cover", 286048, 10, 2747),
        ("glass", 214, 9, 9),
        ("http", 567498, 3, 2211),
        ("ionosphere", 351, 33, 126),
        ("lympho", 148, 18, 6),
        ("mammography", 11183, 6, 260),
        ("mnist", 7603, 100, 700),
        ("musk", 3062, 166, 97),
        ("optdigits", 5216, 64, 150),
        ("pima", 768, 8, 268),
        ("satellite", 6435, 36, 2036),
        ("shuttle", 49097, 9, 3511),
        ("smtp", 95156, 3, 30),
        ("vertebral", 240, 6, 30),
        ("wine", 129, 13, 10),
    ];

    #[test]
    fn real_data_odds_files_load_with_published_shapes() {
        let test = "real_data_odds_files_load_with_published_shapes";
        let Some(dir) = crate::data::test_data::shared(test, "odds") else { return };
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().and_then(|e| e.to_str()) != Some("mat") {
                continue;
            }
            let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
            let t = std::time::Instant::now();
            let d = load(&p, &MatOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let labels = d.labels.as_ref().expect("labels");
            let outliers = labels.iter().filter(|&&l| l == 1).count();
            assert!(labels.iter().all(|&l| l == 0 || l == 1), "{stem}: labels not 0/1");
            assert!(d.find_non_finite().is_none(), "{stem}: non-finite value");
            println!("{stem}: ({}, {}) {outliers} outliers, {ms:.1} ms", d.rows(), d.cols());
            if let Some(&(_, n, k, o)) = ODDS.iter().find(|e| e.0 == stem) {
                assert_eq!((d.rows(), d.cols(), outliers), (n, k, o), "{stem}");
                seen += 1;
            }
        }
        assert_eq!(seen, ODDS.len(), "every ODDS file listed in PROVENANCE.md is present and loads");
    }

    #[test]
    fn real_data_odds_values_are_transposed_to_row_major() {
        // breastw stores X as miUINT8 inside a double array; values are 1..=10 and the first
        // row of the UCI data is 5,1,1,1,2,1,3,1,1.
        let test = "real_data_odds_values_are_transposed_to_row_major";
        let Some(p) = crate::data::test_data::shared(test, "odds/breastw.mat") else { return };
        let d = load(&p, &MatOptions::default()).unwrap();
        assert_eq!(d.row(0), &[5.0, 1.0, 1.0, 1.0, 2.0, 1.0, 3.0, 1.0, 1.0]);
        assert!(d.as_slice().iter().all(|&v| (1.0..=10.0).contains(&v)));
    }

    // --- hand-built MAT v5 files --------------------------------------------------------------

    fn pad8(v: &mut Vec<u8>) {
        while !v.len().is_multiple_of(8) {
            v.push(0);
        }
    }

    /// One data element (long format unless `small` and ≤ 4 bytes), padded.
    fn element(big: bool, ty: u32, data: &[u8], small: bool) -> Vec<u8> {
        let w = |x: u32| if big { x.to_be_bytes() } else { x.to_le_bytes() };
        let mut v = Vec::new();
        if small && data.len() <= 4 {
            v.extend(w(((data.len() as u32) << 16) | ty));
            v.extend(data);
            while v.len() < 8 {
                v.push(0);
            }
            return v;
        }
        v.extend(w(ty));
        v.extend(w(data.len() as u32));
        v.extend(data);
        pad8(&mut v);
        v
    }

    /// A `miMATRIX` element of class `class` with real part stored as `ty`.
    fn matrix(big: bool, class: u8, name: &str, dims: &[i32], ty: u32, raw: &[u8]) -> Vec<u8> {
        let w = |x: u32| if big { x.to_be_bytes() } else { x.to_le_bytes() };
        let mut body = Vec::new();
        let mut flags = Vec::new();
        flags.extend(w(class as u32));
        flags.extend(w(0));
        body.extend(element(big, MI_UINT32, &flags, false));
        let d: Vec<u8> = dims.iter().flat_map(|&x| w(x as u32)).collect();
        body.extend(element(big, MI_INT32, &d, false));
        body.extend(element(big, MI_INT8, name.as_bytes(), true));
        body.extend(element(big, ty, raw, true));
        element(big, MI_MATRIX, &body, false)
    }

    fn compress(el: &[u8], big: bool) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(el).unwrap();
        let zb = z.finish().unwrap();
        let w = |x: u32| if big { x.to_be_bytes() } else { x.to_le_bytes() };
        let mut v = Vec::new();
        v.extend(w(MI_COMPRESSED));
        v.extend(w(zb.len() as u32));
        v.extend(zb);
        v
    }

    fn header(big: bool) -> Vec<u8> {
        let mut h = b"MATLAB 5.0 MAT-file, Platform: test, Created on: today".to_vec();
        h.resize(116, b' ');
        h.extend([0u8; 8]);
        h.extend(if big { [0x01, 0x00] } else { [0x00, 0x01] });
        h.extend(if big { b"MI" } else { b"IM" });
        h
    }

    fn f64s(big: bool, v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| if big { x.to_be_bytes() } else { x.to_le_bytes() }).collect()
    }

    fn write_tmp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    /// X (3×2, column-major 1..6) as doubles, y (3×1) as uint8 in a small element.
    fn plain_file(big: bool) -> Vec<u8> {
        let mut f = header(big);
        f.extend(matrix(big, 6, "X", &[3, 2], MI_DOUBLE, &f64s(big, &[1.0, 2.0, 3.0, 4.0, 5.5, -6.0])));
        f.extend(matrix(big, 6, "y", &[3, 1], MI_UINT8, &[0, 1, 0]));
        f
    }

    /// A char variable, then X (2×3, column-major 10..60 as uint8) and y as doubles, compressed.
    fn compressed_file(big: bool) -> Vec<u8> {
        let mut f = header(big);
        let chars: Vec<u8> =
            "hi".encode_utf16().flat_map(|c| if big { c.to_be_bytes() } else { c.to_le_bytes() }).collect();
        f.extend(compress(&matrix(big, 4, "note", &[1, 2], MI_UINT16, &chars), big));
        f.extend(compress(&matrix(big, 6, "X", &[2, 3], MI_UINT8, &[10, 20, 30, 40, 50, 60]), big));
        f.extend(compress(&matrix(big, 6, "y", &[2, 1], MI_DOUBLE, &f64s(big, &[1.0, 0.0])), big));
        f
    }

    #[test]
    fn plain_v5_double_and_uint8_column_major_to_row_major() {
        for big in [false, true] {
            let f = write_tmp(&plain_file(big));
            let d = load(f.path(), &MatOptions::default()).unwrap();
            assert_eq!((d.rows(), d.cols()), (3, 2));
            assert_eq!(d.row(0), &[1.0, 4.0]);
            assert_eq!(d.row(1), &[2.0, 5.5]);
            assert_eq!(d.row(2), &[3.0, -6.0]);
            assert_eq!(d.labels.as_deref(), Some(&[0i64, 1, 0][..]));
            assert_eq!(d.source, f.path().display().to_string());
        }
    }

    #[test]
    fn compressed_v5_uint8_in_double_array_and_other_variables() {
        for big in [false, true] {
            let f = write_tmp(&compressed_file(big));
            let d = load(f.path(), &MatOptions::default()).unwrap();
            assert_eq!((d.rows(), d.cols()), (2, 3));
            assert_eq!(d.row(0), &[10.0, 30.0, 50.0]);
            assert_eq!(d.row(1), &[20.0, 40.0, 60.0]);
            assert_eq!(d.labels.as_deref(), Some(&[1i64, 0][..]));
        }
    }

    #[test]
    fn named_variables_and_no_labels() {
        let mut f = header(false);
        f.extend(compress(
            &matrix(false, 7, "data", &[1, 2], MI_SINGLE, &[0, 0, 128, 63, 0, 0, 0, 64]),
            false,
        ));
        let f = write_tmp(&f);
        let opts = MatOptions { data: "data".into(), labels: None };
        let d = load(f.path(), &opts).unwrap();
        assert_eq!(d.as_slice(), &[1.0, 2.0]);
        assert!(d.labels.is_none());
        let opts = MatOptions { data: "data".into(), labels: Some("y".into()) };
        let e = load(f.path(), &opts).unwrap_err().to_string();
        assert!(e.contains("no variable `y`"), "{e}");
    }

    #[test]
    fn detected_and_loaded_through_open() {
        use crate::data::open::{detect, load_file, Format, LoadOptions};
        let f = write_tmp(&compressed_file(false));
        assert_eq!(detect(f.path()).unwrap(), Format::Mat);
        let d = load_file(f.path(), None, &LoadOptions::default()).unwrap();
        assert_eq!((d.rows(), d.cols()), (2, 3));
    }

    #[test]
    fn missing_x_lists_variables() {
        let mut f = header(false);
        f.extend(matrix(false, 6, "data", &[2, 2], MI_DOUBLE, &f64s(false, &[1.0, 2.0, 3.0, 4.0])));
        f.extend(compress(&matrix(false, 6, "labels", &[2, 1], MI_UINT8, &[0, 1]), false));
        let f = write_tmp(&f);
        let e = load(f.path(), &MatOptions::default()).unwrap_err().to_string();
        assert!(e.starts_with(&f.path().display().to_string()), "{e}");
        assert!(
            e.contains("no variable `X`")
                && e.contains("`data` (double 2×2)")
                && e.contains("`labels` (double 2×1)"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1);
    }

    #[test]
    fn truncated_compressed_stream_is_reported() {
        let mut f = header(false);
        let big_x: Vec<f64> = (0..4000).map(|i| (i as f64).sin()).collect();
        let el = compress(&matrix(false, 6, "X", &[1000, 4], MI_DOUBLE, &f64s(false, &big_x)), false);
        // Keep the first half of the compressed stream and fix the element's size to match.
        let keep = (el.len() - 8) / 2;
        f.extend((MI_COMPRESSED).to_le_bytes());
        f.extend((keep as u32).to_le_bytes());
        f.extend(&el[8..8 + keep]);
        let f = write_tmp(&f);
        let e = load(f.path(), &MatOptions::default()).unwrap_err().to_string();
        assert!(e.contains("variable 1 (byte 128): compressed data is truncated or corrupt"), "{e}");
        // The file itself cut short: the element declares more bytes than remain.
        let mut g = compressed_file(false);
        g.truncate(g.len() - 5);
        let g = write_tmp(&g);
        let e = load(g.path(), &MatOptions::default()).unwrap_err().to_string();
        assert!(e.contains("truncated or corrupt"), "{e}");
        // A flipped byte inside the deflate data.
        let mut h = compressed_file(false);
        let n = h.len();
        h[n - 12] ^= 0x5a;
        let h = write_tmp(&h);
        let e = load(h.path(), &MatOptions::default()).unwrap_err().to_string();
        assert!(e.contains("corrupt") || e.contains("truncated"), "{e}");
    }

    #[test]
    fn shape_and_label_errors() {
        let mut f = header(false);
        f.extend(matrix(false, 6, "X", &[3, 1], MI_DOUBLE, &f64s(false, &[1.0, 2.0, 3.0])));
        f.extend(matrix(false, 6, "y", &[2, 1], MI_UINT8, &[0, 1]));
        let e = load(write_tmp(&f).path(), &MatOptions::default()).unwrap_err().to_string();
        assert!(e.contains("`X` has 3 rows but labels `y` has 2 values"), "{e}");

        let mut f = header(false);
        f.extend(matrix(false, 6, "X", &[3, 1], MI_DOUBLE, &f64s(false, &[1.0, 2.0, 3.0])));
        f.extend(matrix(false, 6, "y", &[3, 1], MI_DOUBLE, &f64s(false, &[0.0, 0.5, 1.0])));
        let e = load(write_tmp(&f).path(), &MatOptions::default()).unwrap_err().to_string();
        assert!(e.contains("value 0.5 at row 2 is not a whole number"), "{e}");

        let mut f = header(false);
        f.extend(matrix(false, 6, "X", &[3, 2], MI_DOUBLE, &f64s(false, &[1.0, 2.0, 3.0])));
        let e = load(write_tmp(&f).path(), &MatOptions::default()).unwrap_err().to_string();
        assert!(e.contains("24 bytes of values for a 3×2 array"), "{e}");

        let mut f = header(false);
        f.extend(matrix(false, 4, "X", &[1, 2], MI_UINT16, &[104, 0, 105, 0]));
        let e = load(write_tmp(&f).path(), &MatOptions::default()).unwrap_err().to_string();
        assert!(e.contains("`X` is a char array"), "{e}");
    }

    #[test]
    fn not_a_mat_file_and_v73_without_hdf5() {
        let e = load(write_tmp(b"a,b\n1,2\n").path(), &MatOptions::default()).unwrap_err().to_string();
        assert!(e.contains("not a MAT file"), "{e}");
        let mut v = b"MATLAB 7.3 MAT-file, Platform: x".to_vec();
        v.resize(600, 0);
        let e = load(write_tmp(&v).path(), &MatOptions::default()).unwrap_err().to_string();
        assert!(e.contains("no HDF5 signature"), "{e}");
    }

    #[test]
    fn cut_or_damaged_files_never_panic() {
        for file in [plain_file(false), compressed_file(true)] {
            for len in 0..file.len() {
                let _ = load(write_tmp(&file[..len]).path(), &MatOptions::default());
            }
            for i in 128..file.len() {
                for x in [0x01u8, 0x80, 0xff] {
                    let mut g = file.clone();
                    g[i] ^= x;
                    let _ = load(write_tmp(&g).path(), &MatOptions::default());
                }
            }
        }
    }
}
