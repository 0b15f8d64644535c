//! Opening data by file or by name: detects a file's format from its first bytes and
//! calls the right loader; resolves `fashion-mnist`, `mnist` and `synthetic`.
//!
//! A path that is `-` (standard input) or names something other than a regular file (a
//! pipe such as `/dev/stdin` or `<(cmd)`, a FIFO) is a stream: it is read once, from
//! start to end — the first bytes that tell its format are kept and handed to the
//! loader — and only CSV, NPY, Arrow IPC and Parquet are read from it (the last two
//! held in memory when their footer is needed).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::builtin::{self, Named, Sources, Split};
use super::columns::Columns;
use super::csv::CsvOptions;
use super::dataset::Dataset;
use super::image::ImageOptions;
use super::mat::MatOptions;
use super::npy::NpyOptions;
use super::{idx, image, mat, npy, shards, synthetic};
use crate::error::{Error, Result};

/// A file format this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma- (or otherwise) separated text.
    Csv,
    /// NumPy `.npy`.
    Npy,
    /// NumPy `.npz` (a zip of `.npy` members).
    Npz,
    /// IDX, plain or gzipped (MNIST's format).
    Idx,
    /// MATLAB `.mat`, v5 or v7.3 (HDF5).
    Mat,
    /// A PNG or JPEG image.
    Image,
    /// Apache Parquet (read with the `parquet` feature).
    Parquet,
    /// Arrow IPC, file (Feather v2) or stream (read with the `parquet` feature).
    Arrow,
}

/// How to read files whose format leaves choices open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// CSV header and delimiter.
    pub csv: CsvOptions,
    /// A table's (CSV, Parquet, Arrow) features, label, ids and columns left out.
    pub columns: Columns,
    /// NPZ member names.
    pub npy: NpyOptions,
    /// Image size and channels, and whether to skip unreadable images.
    pub image: ImageOptions,
}

impl Format {
    /// The format's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Npy => "NPY",
            Format::Npz => "NPZ",
            Format::Idx => "IDX",
            Format::Mat => "MATLAB .mat",
            Format::Image => "image",
            Format::Parquet => "Parquet",
            Format::Arrow => "Arrow IPC",
        }
    }
}

/// Bytes [`detect`] reads to tell a format (a zip's first member's name included).
const HEAD: usize = 64;

/// Whether `path` is read as a stream: `-` (standard input), or an existing path that is
/// neither a regular file nor a folder (a pipe, a FIFO, a character device).
pub fn is_stream(path: &Path) -> bool {
    path.as_os_str() == "-" || std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Up to `buf.len()` first bytes of `r`.
pub(crate) fn read_head(r: &mut dyn Read, buf: &mut [u8], path: &Path) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(n)
}

/// The format of `path`, from its first bytes: gzip or the IDX magic → IDX,
/// `\x93NUMPY` → NPY, `PK\x03\x04` → NPZ, `MATLAB 5.0 MAT-file` (or 7.3) → MAT, the PNG or
/// JPEG signature → image, `PAR1` → Parquet, `ARROW1` or an IPC message marker → Arrow
/// (both with the `parquet` feature), anything else → CSV. Formats this crate does not
/// read (Feather v1, plain HDF5, and Parquet and Arrow without the feature) are an error
/// that names them, rather than text that fails as CSV. A stream ([`is_stream`]) is not
/// opened: its bytes could be read only once; [`load_file`] reads it.
pub fn detect(path: &Path) -> Result<Format> {
    if is_stream(path) {
        return Err(Error::format(
            path,
            "a stream (standard input or a pipe): its format is told as it is read",
        ));
    }
    let mut head = [0u8; HEAD];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let n = read_head(&mut f, &mut head, path)?;
    let format = detect_head(&head[..n], path)?;
    if format == Format::Idx && head.starts_with(&[0x1f, 0x8b]) {
        use std::io::Seek;
        f.rewind().map_err(|e| Error::io(path, e))?;
        gzipped_idx(f, path)?;
    }
    Ok(format)
}

/// A gzip file (`f`, at its start) is read as IDX, as MNIST ships it; one that holds
/// another format this crate reads (a CSV's text, an NPY array, a Parquet file …) is
/// refused by what it holds, with the way to read it. Anything else is left to the IDX
/// reader's errors.
fn gzipped_idx(f: std::fs::File, path: &Path) -> Result<()> {
    let mut inner = [0u8; HEAD];
    let Ok(n) = read_head(&mut flate2::read::MultiGzDecoder::new(f), &mut inner, path) else {
        return Ok(()); // corrupt gzip: the IDX reader says so
    };
    let inner = &inner[..n];
    // Text: UTF-8 (a character cut at the end aside) without control characters.
    let text = match std::str::from_utf8(inner) {
        Ok(t) => Some(t),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&inner[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    let is_text = text.is_some_and(|t| t.chars().all(|c| !c.is_control() || c.is_whitespace()));
    let kind = match detect_head(inner, path) {
        Ok(Format::Idx) | Err(_) => return Ok(()),
        Ok(Format::Csv) if !is_text => return Ok(()),
        Ok(Format::Csv) => "CSV text",
        Ok(f) => f.name(),
    };
    Err(Error::format(
        path,
        format!("gzip-compressed {kind}, which is read uncompressed only: decompress it first (gunzip)"),
    ))
}

/// The format whose first bytes are `head` (see [`detect`]); `path` names it in errors.
fn detect_head(head: &[u8], path: &Path) -> Result<Format> {
    let n = head.len();
    let unread = |name: &str, hint: &str| {
        Err(Error::format(
            path,
            format!(
                "a {name} file, which this build does not read (it reads CSV, NPY/NPZ, IDX, MATLAB .mat, images{}); {hint}", if cfg!(feature = "parquet") { ", Parquet and Arrow IPC" } else { "" }
            ),
        ))
    };
    if head.starts_with(b"FEA1") {
        return unread(
            "Feather v1",
            "write it again as Feather v2 (pyarrow.feather.write_feather) or Parquet",
        );
    }
    if head.starts_with(b"PAR1") {
        return if cfg!(feature = "parquet") {
            Ok(Format::Parquet)
        } else {
            unread("Parquet", "build with the `parquet` feature, or convert it first, e.g. pandas.read_parquet(f).to_numpy(\"float32\") saved with numpy.save")
        };
    }
    if head.starts_with(b"ARROW1") || head.starts_with(&[0xff, 0xff, 0xff, 0xff]) {
        return if cfg!(feature = "parquet") {
            Ok(Format::Arrow)
        } else {
            unread("Arrow IPC/Feather", "build with the `parquet` feature, or convert it first, e.g. pandas.read_feather(f).to_numpy(\"float32\") saved with numpy.save")
        };
    }
    if let Some(kind) = spreadsheet(head) {
        return Err(Error::format(
            path,
            format!(
                "{kind}, not a table this reads: save the sheet as CSV (a semicolon file with decimal commas reads with decimal = comma), or read it with pandas.read_excel and pass the DataFrame to the Python package"
            ),
        ));
    }
    if head.starts_with(b"\x89HDF\r\n\x1a\n") {
        return unread(
            "HDF5",
            "save the array with numpy.save, or as a MATLAB v7.3 file with a data variable",
        );
    }
    Ok(
        if head.starts_with(&[0x1f, 0x8b])
            || (n >= 4 && head[0] == 0 && head[1] == 0 && (0x08..=0x0e).contains(&head[2]))
        {
            Format::Idx
        } else if head.starts_with(b"\x93NUMPY") {
            Format::Npy
        } else if head.starts_with(b"PK\x03\x04") {
            Format::Npz
        } else if mat::is_mat_header(head) {
            Format::Mat
        } else if image::is_image_header(head) {
            Format::Image
        } else {
            Format::Csv
        },
    )
}

/// The kind of spreadsheet workbook whose first bytes are `head`, if it is one: an
/// OLE2 compound file (Excel 97–2003's `.xls`), or a zip archive (which an NPZ also is)
/// whose first member is an Office Open XML (`.xlsx`) or OpenDocument (`.ods`) part.
fn spreadsheet(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]) {
        return Some("an Excel 97–2003 workbook (.xls)");
    }
    // A zip's local file header: the name's length at byte 26, the name from byte 30.
    if !head.starts_with(b"PK\x03\x04") || head.len() < 30 {
        return None;
    }
    let len = usize::from(u16::from_le_bytes([head[26], head[27]]));
    let extra = usize::from(u16::from_le_bytes([head[28], head[29]]));
    let name = head.get(30..30 + len)?;
    let office = [b"[Content_Types].xml".as_slice(), b"_rels/", b"docProps/", b"xl/"];
    if office.iter().any(|p| name.starts_with(p)) {
        Some("an Excel workbook (.xlsx)")
    } else if name == b"mimetype" && head.get(30 + len + extra..)?.starts_with(b"application/vnd.oasis") {
        Some("an OpenDocument spreadsheet (.ods)")
    } else {
        None
    }
}

/// Refuse column roles that a `format` file cannot give: only CSV, Parquet and Arrow
/// tables have columns to choose. An NPY, NPZ, MATLAB, IDX or image file is all
/// features; its labels, when it has them, come from the file (an NPZ's `y` or `labels`
/// member, a MATLAB file's `y`) or from a labels file beside it. Without this, a label,
/// id or categorical column asked of such a file would be silently read as features.
pub(crate) fn check_columns_apply(format: Format, path: &Path, c: &Columns) -> Result<()> {
    if matches!(format, Format::Csv | Format::Parquet | Format::Arrow) {
        return Ok(());
    }
    let asked = [
        (c.label.is_some(), "a label column"),
        (c.id.is_some(), "an id column"),
        (c.features.is_some(), "feature columns"),
        (!c.ignore.is_empty(), "ignored columns"),
        (!c.categorical.is_empty(), "categorical columns"),
    ];
    match asked.iter().find(|(given, _)| *given) {
        None => Ok(()),
        Some((_, what)) => Err(Error::format(
            path,
            format!(
                "{what} cannot be chosen: {} files have no named columns, and every value is a feature \
                 (labels come from the file itself, or from a labels file given after it); columns are \
                 chosen in CSV, Parquet and Arrow tables",
                format.name()
            ),
        )),
    }
}

/// Rows read once from a stream ([`is_stream`]): its first bytes tell CSV from NPY and
/// are handed on with the rest; other formats need seeking and are refused by name.
fn load_stream(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    let input: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?)
    };
    let shown = if path.as_os_str() == "-" { Path::new("<stdin>") } else { path };
    read_rows(input, shown, opts, None)
}

/// Rows read once from `input` (a stream, a request body), named `name` in messages:
/// its first bytes tell CSV, NPY, Parquet and Arrow IPC apart; other formats need
/// seeking and are refused by name. The options' missing-value rule is applied, as
/// [`load_paths`] applies it.
pub fn load_reader(input: impl Read, name: &Path, opts: &LoadOptions) -> Result<Dataset> {
    load_reader_at_most(input, name, opts, usize::MAX)
}

/// [`load_reader`] that decodes a Parquet or Arrow IPC table no further than the record
/// batch that passes `most` rows (a server's rows per request): their compressed pages
/// may hold far more rows than their bytes, where a CSV or NPY body's rows are bounded
/// by its length. More than `most` rows back means the table holds more.
pub fn load_reader_at_most(
    input: impl Read,
    name: &Path,
    opts: &LoadOptions,
    most: usize,
) -> Result<Dataset> {
    let mut data = read_rows(input, name, opts, Some(most))?;
    data.apply_missing(opts.columns.missing)?;
    Ok(data)
}

/// [`load_reader`] without the missing-value rule (which [`load_paths`] applies); a
/// columnar table decoded no further than the batch that passes `most` rows.
fn read_rows(mut input: impl Read, name: &Path, opts: &LoadOptions, most: Option<usize>) -> Result<Dataset> {
    #[cfg(not(feature = "parquet"))]
    let _ = most; // only a columnar table is decoded a batch at a time
    let mut head = [0u8; HEAD];
    let n = read_head(&mut input, &mut head, name)?;
    let whole = std::io::Cursor::new(head[..n].to_vec()).chain(input);
    let shown = name;
    let format = detect_head(&head[..n], shown)?;
    check_columns_apply(format, shown, &opts.columns)?;
    match format {
        Format::Csv => super::csv::load_reader(whole, shown, &opts.csv, &opts.columns),
        Format::Npy => npy::load_reader(whole, shown, &opts.npy),
        #[cfg(feature = "parquet")]
        Format::Arrow | Format::Parquet => super::columnar::load_reader_at_most(whole, shown, &opts.columns, most),
        f => Err(Error::format(
            shown,
            format!(
                "{} data cannot be read from standard input or a pipe (it needs seeking); save it to a file, or send CSV, NPY, Parquet or Arrow IPC",
                f.name()
            ),
        )),
    }
}

/// A Parquet or Arrow IPC file's rows, its columns chosen by the options' `columns`.
#[cfg(feature = "parquet")]
fn load_columnar(f: Format, path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    match f {
        Format::Parquet => super::columnar::load_parquet(path, &opts.columns),
        _ => super::columnar::load_arrow(path, &opts.columns),
    }
}

/// Without the `parquet` feature [`detect`] never names a columnar format.
#[cfg(not(feature = "parquet"))]
fn load_columnar(f: Format, path: &Path, _: &LoadOptions) -> Result<Dataset> {
    Err(Error::format(path, format!("{} files are read only with the `parquet` feature", f.name())))
}

/// Load one data file (any supported format), with an optional second file of labels
/// (an IDX labels file beside IDX images, or a one-column CSV/NPY). Either may be a
/// stream ([`is_stream`]; not both standard input), read once.
pub fn load_file(path: &Path, labels: Option<&Path>, opts: &LoadOptions) -> Result<Dataset> {
    if labels.is_some_and(|l| l.as_os_str() == "-") && path.as_os_str() == "-" {
        return Err(Error::config("data", "the data and the labels cannot both be read from standard input"));
    }
    let format = if is_stream(path) { None } else { Some(detect(path)?) };
    if let Some(f) = format {
        check_columns_apply(f, path, &opts.columns)?;
    }
    let data = match format {
        None => load_stream(path, opts)?,
        Some(Format::Idx) if labels.is_some_and(is_stream) => idx::load(path, None)?,
        Some(f) => match f {
            Format::Idx => return idx::load(path, labels),
            Format::Npy | Format::Npz => npy::load(path, &opts.npy)?,
            Format::Mat => mat::load(path, &MatOptions::default())?,
            Format::Image => image::load(&[path.to_path_buf()], &opts.image)?.data,
            Format::Csv => super::csv::load(path, &opts.csv, &opts.columns)?,
            Format::Parquet | Format::Arrow => load_columnar(f, path, opts)?,
        },
    };
    match labels {
        None => Ok(data),
        Some(lp) => {
            let l = load_labels(lp)?;
            if l.len() != data.rows() {
                return Err(Error::format(
                    lp,
                    format!("{} labels for {} rows in {}", l.len(), data.rows(), path.display()),
                ));
            }
            data.with_labels(l)
        }
    }
}

/// A labels file: an IDX labels file, or a one-column CSV/NPY of whole numbers.
pub fn load_labels(path: &Path) -> Result<Vec<i64>> {
    match if is_stream(path) { None } else { Some(detect(path)?) } {
        Some(Format::Idx) => idx::load_labels(path),
        _ => {
            let d = load_file(path, None, &LoadOptions::default())?;
            if d.cols() != 1 {
                return Err(Error::format(
                    path,
                    format!("a labels file needs one column, found {}", d.cols()),
                ));
            }
            d.as_slice()
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if v.fract() == 0.0 && v.is_finite() {
                        Ok(v as i64)
                    } else {
                        Err(Error::format(path, format!("row {}: label {v} is not a whole number", i + 1)))
                    }
                })
                .collect()
        }
    }
}

/// Rows of the built-in synthetic set for each split (train uses seed `s`, test `s + 1`).
pub const SYNTHETIC_ROWS: (usize, usize) = (20_000, 4_000);

/// Load a dataset by name: `fashion-mnist` or `mnist` from IDX files (found or
/// downloaded per `sources`), or `synthetic` generated from `seed`.
pub fn load_named(name: Named, split: Split, sources: &Sources, seed: u64) -> Result<Dataset> {
    if name == Named::Synthetic {
        let (rows, seed) = match split {
            Split::Train => (SYNTHETIC_ROWS.0, seed),
            Split::Test => (SYNTHETIC_ROWS.1, seed.wrapping_add(1)),
        };
        let mut d = synthetic::generate(rows, seed);
        d.source = format!("synthetic:{}(seed={seed})", split.name());
        return Ok(d);
    }
    let (images, labels) = builtin::locate(name, split, sources)?;
    let mut d = idx::load(&images, Some(&labels))?;
    d.source = format!("{}:{}", name.name(), split.name());
    Ok(d)
}

/// True when `paths` name images: a folder, or files with image extensions or signatures.
pub fn are_images(paths: &[PathBuf]) -> bool {
    // A stream is never opened here: its first bytes belong to its loader.
    !paths.is_empty()
        && paths.iter().all(|p| {
            (p.is_dir() && !shards::is_table_folder(p))
                || image::is_image_path(p)
                || (!is_stream(p) && matches!(detect(p), Ok(Format::Image)))
        })
}

/// Whether `paths` name shards of one table ([`load_paths`]' rule): three or more
/// files, a folder of table files or a glob pattern; else one data file and optionally
/// its labels.
pub fn are_shards(paths: &[PathBuf]) -> bool {
    paths.len() > 2 || paths.iter().any(|p| shards::is_table_folder(p) || shards::is_pattern(p))
}

/// A path list as the command receives it: the data file and optionally its labels;
/// image files and folders of images (see [`image::load`]); or shards of one table
/// (see [`shards::load`]): a folder of table files, a glob pattern, or three or more
/// files.
pub fn load_paths(paths: &[PathBuf], opts: &LoadOptions) -> Result<Dataset> {
    if are_images(paths) {
        return Ok(image::load(paths, &opts.image)?.data);
    }
    let mut data = if are_shards(paths) {
        shards::load(paths, opts)?
    } else {
        match paths {
            [data] => load_file(data, None, opts)?,
            [data, labels] => load_file(data, Some(labels), opts)?,
            [] => return Err(Error::config("data", "no data file given")),
            _ => {
                return Err(Error::config(
                    "data",
                    format!("expected a data file and optionally a labels file, got {} files", paths.len()),
                ))
            }
        }
    };
    data.apply_missing(opts.columns.missing)?;
    Ok(data)
}

/// The rows of table files, every path a shard of one table (see [`shards::load`]),
/// whatever their number; one path that is a file is the table alone, read as
/// [`load_paths`] reads it (the same rows and source). Unlike [`load_paths`], two
/// paths are two shards, not a data file and its labels: for callers that take a
/// list of tables (the Python package).
pub fn load_tables(paths: &[PathBuf], opts: &LoadOptions) -> Result<Dataset> {
    let mut data = match paths {
        [] => return Err(Error::config("data", "no data file given")),
        [one] if !are_shards(paths) => load_file(one, None, opts)?,
        _ => shards::load(paths, opts)?,
    };
    data.apply_missing(opts.columns.missing)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::columns::ColumnRef;

    /// A gzip file is IDX unless it holds another format: gzipped CSV text (a BOM, a
    /// character cut at the 64th byte) or NPY is refused by what it holds, while gzipped
    /// IDX still reads and gzipped junk gets the IDX reader's error.
    #[test]
    fn gzip_files_holding_another_format_are_named() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let gz = |name: &str, bytes: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(bytes).unwrap();
            let p = dir.path().join(name);
            std::fs::write(&p, e.finish().unwrap()).unwrap();
            p
        };
        // 3 bytes of BOM and 60 of names: the é's two bytes are the 64th and the 65th.
        let csv = format!("\u{feff}{}\u{e9}\n{}2\n", "x,".repeat(30), "1,".repeat(30));
        assert!(!csv.is_char_boundary(64));
        let p = gz("t.csv.gz", csv.as_bytes());
        let e = detect(&p).unwrap_err().to_string();
        assert!(
            e.contains("gzip-compressed CSV text, which is read uncompressed only: decompress it first"),
            "{e}"
        );
        let e = detect(&gz("x.npy.gz", &npy::to_bytes(&[1.0, 2.0], 1, 2))).unwrap_err().to_string();
        assert!(e.contains("gzip-compressed NPY"), "{e}");
        let idx = [&[0u8, 0, 0x08, 1][..], &2u32.to_be_bytes(), &[7, 9]].concat();
        let p = gz("l.idx.gz", &idx);
        assert_eq!(detect(&p).unwrap(), Format::Idx);
        let e = load_file(&gz("junk.gz", &[0xff, 0x01, 0x02, 0x03, 0x04]), None, &LoadOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("not an IDX file"), "{e}");
    }

    /// Spreadsheet workbooks (.xlsx and .ods are zip archives, as an NPZ is; .xls an
    /// OLE2 file) are refused by name with the way to read them, from a file and from a
    /// stream, while an NPZ still reads.
    #[test]
    fn spreadsheets_are_named_not_read_as_npz_or_csv() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let zip_of = |first: &str, body: &[u8]| {
            let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let stored =
                zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            z.start_file(first, stored).unwrap();
            z.write_all(body).unwrap();
            z.finish().unwrap().into_inner()
        };
        let mut ole = vec![0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
        ole.resize(512, 0);
        let cases = [
            ("book.xlsx", zip_of("[Content_Types].xml", b"<Types/>"), "an Excel workbook (.xlsx)"),
            (
                "book.ods",
                zip_of("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
                "an OpenDocument spreadsheet (.ods)",
            ),
            ("book.xls", ole, "an Excel 97\u{2013}2003 workbook (.xls)"),
        ];
        for (name, bytes, kind) in cases {
            let p = dir.path().join(name);
            std::fs::write(&p, &bytes).unwrap();
            for e in
                [detect(&p).unwrap_err(), load_reader(&bytes[..], &p, &LoadOptions::default()).unwrap_err()]
            {
                let e = e.to_string();
                assert!(
                    e.contains(&format!("{kind}, not a table this reads: save the sheet as CSV")),
                    "{name}: {e}"
                );
                assert!(e.contains("pandas.read_excel"), "{e}");
            }
        }
        let npz = dir.path().join("x.npz");
        npy::write_npz(&npz, &[("x", &[1.0f32, 2.0], 1, 2)]).unwrap();
        assert_eq!(detect(&npz).unwrap(), Format::Npz);
        assert_eq!(load_file(&npz, None, &LoadOptions::default()).unwrap().as_slice(), &[1.0, 2.0]);
    }

    /// A label, id, feature, ignored or categorical column asked of a file without
    /// columns is refused, naming the file and the role, whichever way the file is read
    /// (whole, a stream, a part at a time); a CSV table takes the same roles.
    #[test]
    fn columns_asked_of_a_file_without_columns_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let npy = dir.path().join("x.npy");
        npy::write(&npy, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2).unwrap();
        let csv = dir.path().join("x.csv");
        std::fs::write(&csv, "1,2\n3,4\n5,6\n").unwrap();
        let one = || Some(ColumnRef::Index(0));
        let roles = [
            ("a label column", Columns { label: one(), ..Columns::default() }),
            ("an id column", Columns { id: one(), ..Columns::default() }),
            ("feature columns", Columns { features: Some(vec![ColumnRef::Index(1)]), ..Columns::default() }),
            ("ignored columns", Columns { ignore: vec![ColumnRef::Index(1)], ..Columns::default() }),
            ("categorical columns", Columns { categorical: vec![ColumnRef::Index(1)], ..Columns::default() }),
        ];
        for (what, columns) in roles {
            let opts = LoadOptions { columns, ..LoadOptions::default() };
            let reads: [(&str, Result<Dataset>); 3] = [
                ("whole", load_paths(std::slice::from_ref(&npy), &opts)),
                ("a stream", load_reader(std::fs::File::open(&npy).unwrap(), Path::new("<stdin>"), &opts)),
                (
                    "in parts",
                    super::super::chunks::ChunkedRows::open(std::slice::from_ref(&npy), &opts)
                        .map(|_| Dataset::new(Vec::new(), 0, 1, "unused").unwrap()),
                ),
            ];
            for (how, read) in reads {
                let e = read
                    .err()
                    .unwrap_or_else(|| panic!("{what} of an NPY file read {how} was taken"))
                    .to_string();
                assert!(
                    e.contains(&format!("{what} cannot be chosen: NPY files have no named columns")),
                    "{how}: {e}"
                );
            }
            // A CSV table has columns to choose (the categorical one holds integers).
            let d = load_paths(std::slice::from_ref(&csv), &opts).unwrap();
            assert!(d.cols() >= 1, "{what}");
        }
    }
}
