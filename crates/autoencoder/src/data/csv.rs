//! CSV files: loading numeric tables (optional header, optional integer label column) and
//! writing matrices back out atomically.
//!
//! Every column except the label column must hold numbers that parse as `f32` (integers,
//! decimals, scientific notation; surrounding whitespace is ignored). The texts `nan`, `inf`,
//! `-inf`, `infinity` (any case) parse to NaN and ±∞ on purpose: loading keeps them, and the
//! caller rejects them with [`Dataset::check_finite`], which names the row and column. A finite
//! number too large for `f32` (e.g. `1e50`) is an error here, not a silent ∞.
//!
//! Errors name the file, the 1-based line of the file, the 1-based data row, the 1-based column
//! (with its header name when there is one) and the offending text.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::atomic::write_atomic_with;
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};

/// Whether the first record is a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderMode {
    /// A header when some field of the first record is not a number while the same field of
    /// the second record is (with a single record: when any field is not a number).
    #[default]
    Auto,
    /// The first record is a header.
    Yes,
    /// There is no header; the first record is data.
    No,
}

/// Which column holds the integer labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelColumn {
    /// The column with this header name (needs a header).
    Name(String),
    /// The column at this 0-based index.
    Index(usize),
}

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Header detection; [`HeaderMode::Auto`] by default.
    pub header: HeaderMode,
    /// The label column, if any; every other column is a feature.
    pub label: Option<LabelColumn>,
    /// The field delimiter; `b','` by default.
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { header: HeaderMode::Auto, label: None, delimiter: b',' }
    }
}

/// Parse a feature value. `Err(true)` when the text is a finite number outside f32's range.
fn parse_number(text: &str) -> std::result::Result<f32, bool> {
    let v: f32 = text.parse().map_err(|_| false)?;
    if v.is_infinite() && !text.to_ascii_lowercase().contains("inf") {
        return Err(true);
    }
    Ok(v)
}

/// Parse a label: an integer, or a float with no fractional part ("1.0", "2e0").
fn parse_label(text: &str) -> Option<i64> {
    if let Ok(v) = text.parse::<i64>() {
        return Some(v);
    }
    let v: f64 = text.parse().ok()?;
    // `i64::MAX as f64` is exactly 2^63: anything at or beyond it does not fit.
    (v.fract() == 0.0 && v >= i64::MIN as f64 && v < i64::MAX as f64).then_some(v as i64)
}

fn field_str(field: &[u8]) -> String {
    String::from_utf8_lossy(field).trim().to_string()
}

/// The longest field text an error message quotes.
const MAX_SHOWN_CHARS: usize = 60;

/// A field as an error message quotes it: control characters escaped, and cut after
/// [`MAX_SHOWN_CHARS`] characters (a 1 MB field would otherwise become a 1 MB message).
fn shown_text(field: &[u8]) -> String {
    let text = field_str(field);
    let mut out: String = text
        .chars()
        .take(MAX_SHOWN_CHARS)
        .flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] })
        .collect();
    let n = text.chars().count();
    if n > MAX_SHOWN_CHARS {
        out.push_str(&format!("… ({} more characters)", n - MAX_SHOWN_CHARS));
    }
    out
}

/// True when the field (trimmed) parses as a number.
fn is_number(field: &[u8]) -> bool {
    std::str::from_utf8(field).map(|s| s.trim().parse::<f64>().is_ok()).unwrap_or(false)
}

/// Where a record is: "line 8 (data row 7)".
fn place(line: u64, data_row: usize) -> String {
    format!("line {line} (data row {data_row})")
}

/// Load a CSV file of numbers into a [`Dataset`] (see the module docs for the rules).
/// `feature_names` is set from the header, without the label column; `source` is the path.
pub fn load(path: &Path, opts: &CsvOptions) -> Result<Dataset> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut input = BufReader::new(file);
    // Skip a UTF-8 byte-order mark (spreadsheet exports); the csv crate keeps it.
    let bom = input.fill_buf().map_err(|e| Error::io(path, e))?.starts_with(b"\xEF\xBB\xBF");
    if bom {
        input.consume(3);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(opts.delimiter)
        .from_reader(input);
    let mut records = reader.byte_records();
    let csv_error = |e: csv::Error| match e.position() {
        Some(p) => Error::format(path, format!("line {}: {e}", p.line())),
        None => Error::format(path, e.to_string()),
    };
    let mut next = || records.next().transpose().map_err(csv_error);

    let Some(first) = next()? else {
        return Err(Error::format(path, "the file is empty: no rows to load"));
    };
    let second = next()?;
    let has_header = match opts.header {
        HeaderMode::Yes => true,
        HeaderMode::No => false,
        HeaderMode::Auto => match &second {
            Some(second) => first.iter().zip(second.iter()).any(|(a, b)| !is_number(a) && is_number(b)),
            None => first.iter().any(|a| !is_number(a)),
        },
    };
    let ncols = first.len();
    let header: Option<Vec<String>> = has_header.then(|| first.iter().map(field_str).collect());

    let label_col = match &opts.label {
        None => None,
        Some(LabelColumn::Index(i)) => {
            if *i >= ncols {
                return Err(Error::config(
                    "label",
                    format!(
                        "{}: label column index {i} (0-based) is out of range; the file has {ncols} columns",
                        path.display()
                    ),
                ));
            }
            Some(*i)
        }
        Some(LabelColumn::Name(name)) => {
            let Some(h) = &header else {
                return Err(Error::config(
                    "label",
                    format!(
                        "{}: label column \"{name}\" is named, but the file has no header row \
                         (give the label column as a 0-based index instead)",
                        path.display()
                    ),
                ));
            };
            let found = h.iter().position(|c| c == name.trim());
            Some(found.ok_or_else(|| {
                Error::config(
                    "label",
                    format!(
                        "{}: no column named \"{name}\"; the header has {}",
                        path.display(),
                        quoted_list(h)
                    ),
                )
            })?)
        }
    };
    if ncols - usize::from(label_col.is_some()) == 0 {
        return Err(Error::format(path, "no feature columns: the only column is the label column"));
    }

    let feature_names: Option<Vec<String>> = header.as_ref().map(|h| {
        h.iter().enumerate().filter(|(i, _)| Some(*i) != label_col).map(|(_, n)| n.clone()).collect()
    });
    let cols = ncols - usize::from(label_col.is_some());
    let mut data: Vec<f32> = Vec::new();
    let mut labels: Vec<i64> = Vec::new();
    let mut rows = 0usize;

    let column = |c: usize| match &header {
        Some(h) => format!("column {} (\"{}\")", c + 1, h.get(c).map(String::as_str).unwrap_or("")),
        None => format!("column {}", c + 1),
    };
    let mut parse_record = |record: &csv::ByteRecord| -> Result<()> {
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let row = rows + 1;
        if record.len() != ncols {
            return Err(Error::format(
                path,
                format!("{} has {} fields, expected {ncols} (ragged row)", place(line, row), record.len()),
            ));
        }
        for (c, field) in record.iter().enumerate() {
            let text = std::str::from_utf8(field).map(str::trim);
            let shown = || shown_text(field);
            if Some(c) == label_col {
                let label = text.ok().and_then(parse_label).ok_or_else(|| {
                    Error::format(
                        path,
                        format!(
                            "{}, {}: \"{}\" is not an integer label",
                            place(line, row),
                            column(c),
                            shown()
                        ),
                    )
                })?;
                labels.push(label);
                continue;
            }
            match text.map_err(|_| false).and_then(parse_number) {
                Ok(v) => data.push(v),
                Err(out_of_range) => {
                    let what = if out_of_range {
                        "is too large for a 32-bit float".to_string()
                    } else if shown().is_empty() {
                        "is empty (missing value)".to_string()
                    } else {
                        "is not a number".to_string()
                    };
                    return Err(Error::format(
                        path,
                        format!("{}, {}: \"{}\" {what}", place(line, row), column(c), shown()),
                    ));
                }
            }
        }
        rows += 1;
        Ok(())
    };

    if !has_header {
        parse_record(&first)?;
    }
    if let Some(second) = &second {
        parse_record(second)?;
    }
    while let Some(record) = next()? {
        parse_record(&record)?;
    }
    if rows == 0 {
        return Err(Error::format(path, "the file has a header row but no data rows"));
    }

    let mut ds = Dataset::new(data, rows, cols, path.display().to_string())?;
    ds.feature_names = feature_names;
    if label_col.is_some() {
        ds = ds.with_labels(labels)?;
    }
    Ok(ds)
}

fn quoted_list(names: &[String]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

/// Write `rows × cols` row-major values as CSV, atomically. With `header`, the first line holds
/// the column names (`cols` of them); with `row_ids`, a first column `id` holds the 0-based row
/// index. Values use Rust's shortest round-trip `f32` formatting (`0.1`, `3`, `NaN`, `inf`), so
/// [`load`] reads back exactly the same numbers.
pub fn write(
    path: &Path,
    data: &[f32],
    rows: usize,
    cols: usize,
    header: Option<&[String]>,
    row_ids: bool,
) -> Result<()> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(Error::Data(format!(
            "{}: cannot write {} values as {rows} rows × {cols} columns",
            path.display(),
            data.len()
        )));
    }
    if let Some(h) = header {
        if h.len() != cols {
            return Err(Error::Data(format!(
                "{}: {} column names for {cols} columns",
                path.display(),
                h.len()
            )));
        }
    }
    write_atomic_with(path, |w| {
        let mut out = csv::WriterBuilder::new().from_writer(w);
        if let Some(h) = header {
            if row_ids {
                out.write_field("id")?;
            }
            out.write_record(h)?;
        }
        let mut text = String::new();
        for r in 0..rows {
            if row_ids {
                out.write_field(r.to_string())?;
            }
            for v in &data[r * cols..(r + 1) * cols] {
                text.clear();
                let _ = write!(text, "{v}");
                out.write_field(&text)?;
            }
            out.write_record(None::<&[u8]>)?;
        }
        out.flush()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn err(p: &Path, opts: &CsvOptions) -> String {
        load(p, opts).unwrap_err().to_string()
    }

    #[test]
    fn header_is_detected_and_names_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "h.csv", "a, b ,c\n1,2.5,-3e2\n 4 ,5,6\n");
        let ds = load(&p, &CsvOptions::default()).unwrap();
        assert_eq!((ds.rows(), ds.cols()), (2, 3));
        assert_eq!(ds.as_slice(), &[1.0, 2.5, -300.0, 4.0, 5.0, 6.0]);
        assert_eq!(ds.feature_names, Some(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(ds.labels, None);

        let p = file(&dir, "n.csv", "1,2\n3,4\n");
        let ds = load(&p, &CsvOptions::default()).unwrap();
        assert_eq!((ds.rows(), ds.cols(), ds.feature_names.clone()), (2, 2, None));
        // Forced header: the first numeric row becomes names.
        let ds = load(&p, &CsvOptions { header: HeaderMode::Yes, ..Default::default() }).unwrap();
        assert_eq!((ds.rows(), ds.feature_names), (1, Some(vec!["1".into(), "2".into()])));

        // pandas' index column: empty first header field.
        let p = file(&dir, "pd.csv", "\u{feff},x\n0,1.5\n1,2.5\n");
        let ds = load(&p, &CsvOptions::default()).unwrap();
        assert_eq!(ds.as_slice(), &[0.0, 1.5, 1.0, 2.5]);
        assert_eq!(ds.feature_names, Some(vec!["".into(), "x".into()]));

        // Single data row without header; semicolons.
        let p = file(&dir, "one.csv", "1;2;3\n");
        let ds = load(&p, &CsvOptions { delimiter: b';', ..Default::default() }).unwrap();
        assert_eq!(ds.as_slice(), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn label_columns_by_name_and_index() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "iris.csv", "sl,sw,species\n5.1,3.5,0\n4.9,3.0,1.0\n6.2,2.9,2\n");
        let opts = CsvOptions { label: Some(LabelColumn::Name("species".into())), ..Default::default() };
        let ds = load(&p, &opts).unwrap();
        assert_eq!((ds.rows(), ds.cols()), (3, 2));
        assert_eq!(ds.labels.as_deref(), Some(&[0, 1, 2][..]));
        assert_eq!(ds.row(2), &[6.2, 2.9]);
        assert_eq!(ds.feature_names, Some(vec!["sl".into(), "sw".into()]));

        let p = file(&dir, "noh.csv", "3,0.5,0.25\n4,1,2\n");
        let opts = CsvOptions { label: Some(LabelColumn::Index(0)), ..Default::default() };
        let ds = load(&p, &opts).unwrap();
        assert_eq!(ds.labels.as_deref(), Some(&[3, 4][..]));
        assert_eq!(ds.as_slice(), &[0.5, 0.25, 1.0, 2.0]);

        let opts = CsvOptions { label: Some(LabelColumn::Name("species".into())), ..Default::default() };
        let e = err(&p, &opts);
        assert!(e.contains("noh.csv") && e.contains("no header row"), "{e}");
        let opts = CsvOptions { label: Some(LabelColumn::Index(3)), ..Default::default() };
        let e = err(&p, &opts);
        assert!(e.contains("index 3") && e.contains("3 columns"), "{e}");
        let p = file(&dir, "iris2.csv", "sl,sw,species\n5.1,3.5,setosa\n");
        let opts = CsvOptions { label: Some(LabelColumn::Name("class".into())), ..Default::default() };
        let e = err(&p, &opts);
        assert!(e.contains("no column named \"class\"") && e.contains("\"species\""), "{e}");
        let opts = CsvOptions { label: Some(LabelColumn::Name("species".into())), ..Default::default() };
        let e = err(&p, &opts);
        assert!(
            e.contains("line 2 (data row 1), column 3 (\"species\"): \"setosa\" is not an integer label"),
            "{e}"
        );
        let p = file(&dir, "lab.csv", "y\n1\n");
        let opts = CsvOptions { label: Some(LabelColumn::Index(0)), ..Default::default() };
        assert!(err(&p, &opts).contains("no feature columns"));
    }

    #[test]
    fn bad_fields_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let text = "a,b,c,petal_width\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,abc,4\n";
        let p = file(&dir, "data.csv", text);
        let e = err(&p, &CsvOptions::default());
        assert!(
            e.contains("data.csv: line 7 (data row 6), column 3 (\"c\"): \"abc\" is not a number"),
            "{e}"
        );

        let p = file(&dir, "rag.csv", "1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3\n");
        let e = err(&p, &CsvOptions::default());
        assert!(e.contains("rag.csv: line 5 (data row 5) has 3 fields, expected 4 (ragged row)"), "{e}");

        let p = file(&dir, "gap.csv", "1,,3\n");
        let e = err(&p, &CsvOptions { header: HeaderMode::No, ..Default::default() });
        assert!(e.contains("line 1 (data row 1), column 2: \"\" is empty (missing value)"), "{e}");

        let p = file(&dir, "big.csv", "1,1e50\n");
        let e = err(&p, &CsvOptions { header: HeaderMode::No, ..Default::default() });
        assert!(e.contains("\"1e50\" is too large"), "{e}");

        let p = file(&dir, "empty.csv", "");
        assert!(err(&p, &CsvOptions::default()).contains("empty.csv: the file is empty"));
        let p = file(&dir, "only.csv", "a,b\n");
        assert!(err(&p, &CsvOptions::default()).contains("header row but no data rows"));
        let p = file(&dir, "bin.csv", "1,\u{0}\u{ff}\n");
        let e = err(&p, &CsvOptions { header: HeaderMode::No, ..Default::default() });
        assert!(e.contains("bin.csv") && e.contains("column 2"), "{e}");
        let e = err(&dir.path().join("missing.csv"), &CsvOptions::default());
        assert!(e.contains("missing.csv"), "{e}");
    }

    #[test]
    fn nan_and_inf_load_and_are_caught_by_check_finite() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "nan.csv", "x,y\n1,nan\ninf,-Infinity\nNaN,2\n");
        let ds = load(&p, &CsvOptions::default()).unwrap();
        let v = ds.as_slice();
        assert!(v[1].is_nan() && v[2] == f32::INFINITY && v[3] == f32::NEG_INFINITY && v[4].is_nan());
        let e = ds.check_finite().unwrap_err().to_string();
        assert!(e.contains("nan.csv") && e.contains("row 1, column 2"), "{e}");
    }

    #[test]
    fn write_round_trips_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        let data = [0.1f32, 1.0, -3.5e-7, 1e30, f32::MIN_POSITIVE, 123456.79];
        let names = vec!["a".to_string(), "b,c".to_string()];
        write(&p, &data, 3, 2, Some(&names), true).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("id,a,\"b,c\"\n0,0.1,1\n"), "{text}");
        let ds = load(&p, &CsvOptions { label: Some(LabelColumn::Name("id".into())), ..Default::default() })
            .unwrap();
        assert_eq!(ds.as_slice(), &data);
        assert_eq!(ds.labels.as_deref(), Some(&[0, 1, 2][..]));
        assert_eq!(ds.feature_names, Some(names));

        write(&p, &data, 2, 3, None, false).unwrap();
        let ds = load(&p, &CsvOptions::default()).unwrap();
        assert_eq!((ds.rows(), ds.cols(), ds.as_slice()), (2, 3, &data[..]));
        assert!(write(&p, &data, 4, 2, None, false).is_err());
        assert!(write(&p, &data, 3, 2, Some(&["x".to_string()]), false).is_err());
    }

    /// A huge or binary field is quoted short and escaped (found by the malformed-file
    /// corpus: a 60 000-digit field made a 60 000-character error message).
    #[test]
    fn long_or_binary_fields_are_quoted_short() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "long.csv", &format!("1,2\n{}x,3\n", "9".repeat(60_000)));
        let e = err(&p, &CsvOptions::default());
        assert!(e.contains("… (59941 more characters)"), "{e}");
        assert!(e.len() < 300, "{} bytes: {e}", e.len());
        let p = file(&dir, "bin.csv", "1,2\n\u{1b}[31mred,3\n");
        let e = err(&p, &CsvOptions::default());
        assert!(e.contains("\\u{1b}[31mred") && !e.contains('\u{1b}'), "{e}");
    }
}
