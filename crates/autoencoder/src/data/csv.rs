//! CSV files: loading numeric tables (optional header; label, id and ignored columns as
//! [`Columns`] chooses) and writing matrices back out atomically.
//!
//! Every feature column must hold numbers that parse as `f32` (integers,
//! decimals, scientific notation; surrounding whitespace is ignored), or the booleans
//! `true` and `false` (any case: 1 and 0, as a Parquet boolean column reads). The texts `nan`, `inf`,
//! `-inf`, `infinity` (any case) parse to NaN and ±∞ on purpose: loading keeps them, and the
//! caller rejects them with [`Dataset::check_finite`], which names the row and column. A finite
//! number too large for `f32` (e.g. `1e50`) is an error here, not a silent ∞.
//!
//! Fields are separated by commas unless [`CsvOptions::delimiter`] says otherwise; by
//! default the delimiter is told from the first lines ([`sniff_delimiter`]: a comma, a
//! tab, a semicolon or a bar), so that TSV files and spreadsheets' semicolon exports
//! read as they are. Numbers have a decimal point unless [`CsvOptions::decimal`] says
//! they have a decimal comma (`1,5`, as many European spreadsheets write them); it is not
//! guessed, but a number written with a decimal comma is refused saying so.
//!
//! Errors name the file, the 1-based line of the file, the 1-based data row, the 1-based column
//! (with its header name when there is one) and the offending text.
//!
//! Reading streams the file one field at a time, so memory is the values kept (4 bytes a
//! number) plus a bounded amount: binary data (a NUL byte) is refused where it starts, and a
//! file may have at most [`MAX_COLUMNS`] columns, [`MAX_FIELD_BYTES`] a field and
//! [`MAX_RECORD_BYTES`] a record; each limit is checked as the bytes arrive, never after
//! holding them.

use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;

use crate::atomic::write_atomic_with;
use crate::data::columns::{one_hot, ColumnPlan, Columns, LabelTexts, Missing, Role, MISSING_TEXTS};
use crate::data::dataset::{Dataset, RowIds};
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

impl std::str::FromStr for HeaderMode {
    type Err = Error;
    /// `auto`, `yes` (or `true`), `no` (or `false`).
    fn from_str(s: &str) -> Result<HeaderMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(HeaderMode::Auto),
            "yes" | "true" => Ok(HeaderMode::Yes),
            "no" | "false" => Ok(HeaderMode::No),
            _ => Err(Error::config("header", format!("{s:?}: expected auto, yes or no"))),
        }
    }
}

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Header detection; [`HeaderMode::Auto`] by default.
    pub header: HeaderMode,
    /// The field delimiter; `None` (the default) tells it from the file's first lines
    /// ([`sniff_delimiter`]; with a decimal comma, a tab, a semicolon or a bar).
    pub delimiter: Option<u8>,
    /// The numbers' decimal mark; [`DecimalMark::Point`] by default.
    pub decimal: DecimalMark,
    /// The numbers' thousands separator, read when it groups a number's whole part in
    /// threes (`1,234,567.5`); `None` (the default): a separator is refused, saying so.
    pub thousands: Option<Thousands>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { header: HeaderMode::Auto, delimiter: None, decimal: DecimalMark::Point, thousands: None }
    }
}

impl CsvOptions {
    /// Refuses a comma as both the delimiter and the decimal mark (`1,5,2` would be
    /// split at the decimal commas), and a thousands separator that is the decimal mark.
    /// Every read checks this first.
    pub fn check(&self) -> Result<()> {
        if self.decimal == DecimalMark::Comma && self.delimiter == Some(b',') {
            return Err(Error::config(
                "decimal",
                "a comma cannot be both the field delimiter and the decimal mark (such files separate their fields with ; or a tab)",
            ));
        }
        let mark = match self.decimal {
            DecimalMark::Point => Thousands::Point,
            DecimalMark::Comma => Thousands::Comma,
        };
        if self.thousands == Some(mark) {
            return Err(Error::config(
                "thousands",
                format!("the thousands separator cannot be the decimal mark ({})", mark.name()),
            ));
        }
        Ok(())
    }
}

/// The mark between a number's groups of three digits: `1,234,567.5`, `1.234.567,5`,
/// `1 234 567,5`, `1'234'567.5`. Read only where it groups the whole part in threes
/// (one to three digits, then threes), so that a list or a misread column is refused,
/// not run together into one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thousands {
    /// `,`.
    Comma,
    /// `.`.
    Point,
    /// A space, a no-break space (U+00A0) or a narrow no-break space (U+202F), as French
    /// and other exports write it.
    Space,
    /// `'` or `’` (U+2019), as Swiss exports write it.
    Apostrophe,
    /// `_`.
    Underscore,
}

impl Thousands {
    /// The separator's name, as it is given.
    pub fn name(self) -> &'static str {
        match self {
            Thousands::Comma => "comma",
            Thousands::Point => "point",
            Thousands::Space => "space",
            Thousands::Apostrophe => "apostrophe",
            Thousands::Underscore => "underscore",
        }
    }

    /// Whether `c` is this separator.
    fn is(self, c: char) -> bool {
        match self {
            Thousands::Comma => c == ',',
            Thousands::Point => c == '.',
            Thousands::Space => matches!(c, ' ' | '\u{a0}' | '\u{202f}'),
            Thousands::Apostrophe => matches!(c, '\'' | '\u{2019}'),
            Thousands::Underscore => c == '_',
        }
    }
}

impl std::str::FromStr for Thousands {
    type Err = Error;
    /// `comma` (or `,`), `point` (`.`), `space` (` `), `apostrophe` (`'`), `underscore`
    /// (`_`).
    fn from_str(s: &str) -> Result<Thousands> {
        match s.to_ascii_lowercase().as_str() {
            "comma" | "," => Ok(Thousands::Comma),
            "point" | "." => Ok(Thousands::Point),
            "space" | " " => Ok(Thousands::Space),
            "apostrophe" | "'" => Ok(Thousands::Apostrophe),
            "underscore" | "_" => Ok(Thousands::Underscore),
            _ => Err(Error::config(
                "thousands",
                format!("{s:?}: expected comma (1,234.5), point (1.234,5), space (1 234,5), apostrophe (1'234.5) or underscore"),
            )),
        }
    }
}

/// The mark between a number's whole part and its fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecimalMark {
    /// `1.5`.
    #[default]
    Point,
    /// `1,5`. A `.` in a number is then refused, not read: it may be a thousands
    /// separator (`1.234,5`).
    Comma,
}

impl std::str::FromStr for DecimalMark {
    type Err = Error;
    /// `point` (or `.`), `comma` (or `,`).
    fn from_str(s: &str) -> Result<DecimalMark> {
        match s.trim().to_ascii_lowercase().as_str() {
            "point" | "." => Ok(DecimalMark::Point),
            "comma" | "," => Ok(DecimalMark::Comma),
            _ => Err(Error::config("decimal", format!("{s:?}: expected point (1.5) or comma (1,5)"))),
        }
    }
}

/// The delimiters [`sniff_delimiter`] chooses among, in the order it prefers them.
pub const DELIMITERS: [u8; 4] = [b',', b'\t', b';', b'|'];

/// The lines [`sniff_delimiter`] looks at.
const SNIFF_LINES: usize = 10;

/// The field delimiter of CSV text that starts with `head` (`complete`: `head` is the
/// whole text, so its last line is whole without a line end): the first of [`DELIMITERS`]
/// (a comma, a tab, a semicolon, a bar) that each of the first 10 lines holds the same
/// number of times, at least once, outside double quotes (blank lines aside; a line cut
/// at the end of `head` is left out unless it is the only one). A comma when none does:
/// a file of one column, or one whose rows are then refused as ragged.
///
/// ```
/// use autoencoder::data::csv::sniff_delimiter;
/// assert_eq!(sniff_delimiter(b"a\tb\tc\n1\t2\t3\n", true), b'\t');
/// assert_eq!(sniff_delimiter(b"a;b\n1,5;2\n", true), b';'); // decimal commas: not a comma file
/// assert_eq!(sniff_delimiter(b"\"x;y\",z\n1,2\n", true), b','); // inside quotes, not counted
/// assert_eq!(sniff_delimiter(b"price;usd\n1.5\n", true), b','); // one column
/// ```
pub fn sniff_delimiter(head: &[u8], complete: bool) -> u8 {
    sniff_for(head, complete, DecimalMark::Point)
}

/// [`sniff_delimiter`] for numbers with `decimal` marks: with a decimal comma, the first
/// of a tab, a semicolon and a bar that the lines hold evenly, or a semicolon (a file of
/// one column).
fn sniff_for(head: &[u8], complete: bool, decimal: DecimalMark) -> u8 {
    let mut lines: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let (mut quoted, mut blank) = (false, true);
    for &b in head {
        match b {
            b'"' => {
                quoted = !quoted;
                blank = false;
            }
            b'\n' if !quoted => {
                if !blank {
                    lines.push(counts);
                    if lines.len() == SNIFF_LINES {
                        break;
                    }
                }
                (counts, blank) = ([0; 4], true);
            }
            b'\r' => {}
            _ => {
                blank = false;
                if !quoted {
                    if let Some(k) = DELIMITERS.iter().position(|&d| d == b) {
                        counts[k] += 1;
                    }
                }
            }
        }
    }
    if !blank && lines.len() < SNIFF_LINES && (complete || lines.is_empty()) {
        lines.push(counts);
    }
    let even = |k: usize| lines.first().is_some_and(|f| f[k] > 0 && lines.iter().all(|l| l[k] == f[k]));
    let (first, otherwise) = match decimal {
        DecimalMark::Point => (0, b','),
        DecimalMark::Comma => (1, b';'),
    };
    (first..DELIMITERS.len()).find(|&k| even(k)).map_or(otherwise, |k| DELIMITERS[k])
}

/// `--delimiter`'s text: `auto` (told from the file, `None`), `tab` (or `\t`), or one
/// ASCII character other than a double quote, a line end or a character of a number.
pub fn parse_delimiter(text: &str) -> Result<Option<u8>> {
    match text {
        "auto" => return Ok(None),
        "tab" | "\\t" | "\t" => return Ok(Some(b'\t')),
        _ => {}
    }
    match text.as_bytes() {
        [b] if b.is_ascii() && !b.is_ascii_alphanumeric() && !b"\"\r\n.+-".contains(b) => Ok(Some(*b)),
        _ => Err(Error::config(
            "delimiter",
            format!("{text:?}: expected auto, tab, or one character such as , ; | (not a quote, a line end or a character of a number)"),
        )),
    }
}

/// One value given as text (a string in a Python array, a cell of a frame), read as a
/// feature field of a CSV file is read with `opts`' decimal mark and thousands
/// separator: its spaces trimmed, the number rounded once to the nearest f32 (`true`
/// and `false` are 1 and 0), and a missing value's text (empty, `NA`, `null`, … as
/// [`MISSING_TEXTS`]) NaN. Else what the text is, quoted as a CSV error quotes it: `"1,5"
/// is not a number (a decimal comma: decimal = comma reads it)`.
///
/// ```
/// use autoencoder::data::csv::{parse_text, CsvOptions, Thousands};
/// assert_eq!(parse_text(" 0.1 ", &CsvOptions::default()), Ok(0.1f32));
/// assert!(parse_text("NA", &CsvOptions::default()).unwrap().is_nan());
/// let us = CsvOptions { thousands: Some(Thousands::Comma), ..CsvOptions::default() };
/// assert_eq!(parse_text("1,234.5", &us), Ok(1234.5));
/// assert!(parse_text("1,234.5", &CsvOptions::default()).unwrap_err().contains("thousands = comma"));
/// ```
pub fn parse_text(text: &str, opts: &CsvOptions) -> std::result::Result<f32, String> {
    let text = text.trim();
    match parse_feature(text, opts.decimal, opts.thousands) {
        Ok(v) => Ok(v),
        Err(false) if is_missing_text(text) => Ok(f32::NAN),
        Err(out_of_range) => {
            let what = match out_of_range {
                true => "is too large for a 32-bit float".into(),
                false => not_a_number(text, opts.decimal, opts.thousands),
            };
            Err(format!("\"{}\" {what}", shown_text(text.as_bytes())))
        }
    }
}

/// Parse a feature value. `Err(true)` when the text is a finite number outside f32's range.
/// `true` and `false` (any case) are 1 and 0, as a Parquet or pandas boolean column is.
fn parse_number(text: &str) -> std::result::Result<f32, bool> {
    let v: f32 = match text.parse() {
        Ok(v) => v,
        Err(_) if text.eq_ignore_ascii_case("true") => return Ok(1.0),
        Err(_) if text.eq_ignore_ascii_case("false") => return Ok(0.0),
        Err(_) => return Err(false),
    };
    if v.is_infinite() && !text.to_ascii_lowercase().contains("inf") {
        return Err(true);
    }
    Ok(v)
}

/// Parse a feature value written with `decimal` marks and `thousands` separators
/// ([`parse_number`]'s errors): the separators are taken out where they group the whole
/// part in threes ([`ungrouped`]; elsewhere the text is not a number), then with a
/// decimal comma the commas are made points (in a buffer on the stack), and a point is
/// not a number.
fn parse_feature(
    text: &str,
    decimal: DecimalMark,
    thousands: Option<Thousands>,
) -> std::result::Result<f32, bool> {
    if let Some(t) = thousands.filter(|&t| text.contains(|c| t.is(c))) {
        let mut buf = [0u8; 64];
        return match ungrouped(text, t, decimal, &mut buf) {
            Some(Ok(plain)) => parse_feature(plain, decimal, None),
            Some(Err(long)) => parse_feature(&long, decimal, None),
            None => Err(false),
        };
    }
    if decimal == DecimalMark::Point || !text.contains([',', '.']) {
        return parse_number(text);
    }
    if text.contains('.') {
        return Err(false);
    }
    let mut buf = [0u8; 64];
    let Some(b) = buf.get_mut(..text.len()) else {
        return parse_number(&text.replace(',', "."));
    };
    for (d, &c) in b.iter_mut().zip(text.as_bytes()) {
        *d = if c == b',' { b'.' } else { c };
    }
    // Only ASCII commas were replaced, by ASCII points: still UTF-8.
    parse_number(std::str::from_utf8(b).map_err(|_| false)?)
}

/// `text` without its thousands separators `t`, when they group its whole part (the
/// digits before the decimal mark or the exponent) in threes after one to three
/// digits: in `buf` when it fits, else in a `String`; `None` when they do not group it
/// so, or stand elsewhere.
fn ungrouped<'b>(
    text: &str,
    t: Thousands,
    decimal: DecimalMark,
    buf: &'b mut [u8; 64],
) -> Option<std::result::Result<&'b str, String>> {
    let mark = match decimal {
        DecimalMark::Point => '.',
        DecimalMark::Comma => ',',
    };
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let sign = &text[..text.len() - body.len()];
    let end = body.find([mark, 'e', 'E']).unwrap_or(body.len());
    let (whole, rest) = body.split_at(end);
    let mut groups = whole.split(|c| t.is(c));
    let first = groups.next()?;
    let digits = |g: &str| g.bytes().all(|b| b.is_ascii_digit());
    let grouped = (1..=3).contains(&first.len())
        && digits(first)
        && groups.all(|g| g.len() == 3 && digits(g))
        && !rest.contains(|c| t.is(c));
    if !grouped {
        return None;
    }
    let parts = || [sign].into_iter().chain(whole.split(|c| t.is(c))).chain([rest]);
    let len: usize = parts().map(str::len).sum();
    if len > buf.len() {
        return Some(Err(parts().collect()));
    }
    let mut at = 0;
    for p in parts() {
        buf[at..at + p.len()].copy_from_slice(p.as_bytes());
        at += p.len();
    }
    // Whole UTF-8 pieces of `text`, put side by side: always UTF-8.
    std::str::from_utf8(&buf[..at]).ok().map(Ok)
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

/// A field's (trimmed) text that stands for a missing value: empty, or one of
/// [`MISSING_TEXTS`].
fn is_missing_text(text: &str) -> bool {
    text.is_empty() || MISSING_TEXTS.contains(&text)
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

/// True when the field (trimmed) parses as a number with `decimal` marks and
/// `thousands` separators, or with a decimal comma, or with commas between its thousands
/// (deciding whether the first record is a header, so that a file of such numbers read
/// without saying so has its header found, and its numbers refused with the reason).
fn is_number(field: &[u8], decimal: DecimalMark, thousands: Option<Thousands>) -> bool {
    std::str::from_utf8(field)
        .map(|s| {
            let s = s.trim();
            // A number too large for f32 (`Err(true)`) is still a number.
            let number = |r: std::result::Result<f32, bool>| !matches!(r, Err(false));
            number(parse_feature(s, decimal, thousands))
                || number(parse_number(s))
                || with_point(s).is_some_and(|t| number(parse_number(&t)))
                || number(parse_feature(s, DecimalMark::Point, Some(Thousands::Comma)))
        })
        .unwrap_or(false)
}

/// The separators [`not_a_number`] tries, to say which one reads a number.
const SEPARATORS: [Thousands; 5] =
    [Thousands::Comma, Thousands::Point, Thousands::Space, Thousands::Apostrophe, Thousands::Underscore];

/// Why `text`, which is not a missing value, is not a number read with `decimal` marks
/// and `thousands` separators: what its commas, points or separators may be, and the
/// setting that reads them.
fn not_a_number(text: &str, decimal: DecimalMark, thousands: Option<Thousands>) -> String {
    if let Some(t) = thousands.filter(|&t| text.contains(|c| t.is(c))) {
        return format!(
            "is not a number (its {} separators do not group its whole part in threes, as thousands = {} reads them)",
            t.name(),
            t.name()
        );
    }
    let commas = with_point(text).is_some_and(|p| parse_number(&p).is_ok());
    let grouped = SEPARATORS.into_iter().find(|&t| parse_feature(text, decimal, Some(t)).is_ok());
    match (decimal, grouped) {
        (DecimalMark::Point, Some(Thousands::Comma)) if commas => {
            "is not a number (a decimal comma, or a thousands separator? decimal = comma reads a decimal comma, thousands = comma a thousands separator)".into()
        }
        (DecimalMark::Point, _) if commas => "is not a number (a decimal comma: decimal = comma reads it)".into(),
        (_, Some(t)) => format!("is not a number (a thousands separator: thousands = {} reads it)", t.name()),
        (DecimalMark::Comma, None) if text.contains('.') && parse_number(text).is_ok() => {
            "is not a number with a decimal comma (decimal = comma reads 1,5)".into()
        }
        (DecimalMark::Comma, None) if text.contains(',') => {
            "is not a number (its comma is not a decimal comma; with decimal = comma, fields are separated by a tab, a semicolon or a bar)".into()
        }
        _ => "is not a number".into(),
    }
}

/// `text` with its one comma made a point (`1,5` → `1.5`), when it has one comma and no
/// point.
fn with_point(text: &str) -> Option<String> {
    let one_comma = text.bytes().filter(|&b| b == b',').count() == 1;
    (one_comma && !text.contains('.')).then(|| text.replacen(',', ".", 1))
}

/// Where a record is: "line 8 (data row 7)".
fn place(line: u64, data_row: usize) -> String {
    format!("line {line} (data row {data_row})")
}

/// The most columns a CSV file may have: 2²⁰, the widest layer a model may have. A longer
/// record is refused as soon as its 2²⁰ + 1st field is read, before the rest of it is.
pub const MAX_COLUMNS: usize = 1 << 20;

/// The longest field, in bytes (1 MiB): no number or column name needs more. A longer field
/// is refused when its first MiB has been read.
pub const MAX_FIELD_BYTES: usize = 1 << 20;

/// The longest record (line), in bytes (32 MiB): 2²⁰ columns of 31-character numbers. The
/// first two records are held whole (they decide whether there is a header), so this bounds
/// what the reader holds beside the values it keeps.
pub const MAX_RECORD_BYTES: u64 = 32 << 20;

/// Bytes read from the file at a time.
const CHUNK: usize = 64 * 1024;

/// What [`Fields::next_field`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A field, now in [`Fields::field`]; `record_end` when it is its record's last.
    Field { record_end: bool },
    /// The end of the file.
    End,
}

/// What the reader has read and held, for the tests that prove its memory bound.
#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    /// Bytes read from the input.
    bytes_read: u64,
    /// The most bytes held at once apart from the loaded values: the input chunk, the field
    /// buffer and the held first records.
    peak_held: usize,
}

/// A streaming CSV reader that hands out one field at a time (csv-core's parser, the one the
/// csv crate uses: RFC 4180 quoting, `\n`, `\r` or `\r\n` line ends, blank lines skipped). It
/// holds one input chunk and one field, never a whole record or file, and refuses binary data
/// (a NUL byte) and fields or records over [`MAX_FIELD_BYTES`] / [`MAX_RECORD_BYTES`].
struct Fields<'p, R> {
    input: R,
    path: &'p Path,
    core: csv_core::Reader,
    /// The input chunk; `buf[pos..len]` is not yet parsed.
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// The file offset of `buf[pos]`.
    offset: u64,
    eof: bool,
    /// The file offset of the first NUL byte, once read; the chunk stops before it.
    nul: Option<u64>,
    /// `\n` bytes of blank lines this reader skipped itself (csv-core counts the others).
    skipped_lines: u64,
    /// The current field is `field[..field_len]`.
    field: Vec<u8>,
    field_len: usize,
    /// Between records (the next byte starts a record or a blank line).
    at_record_start: bool,
    /// The 1-based line where the current record starts.
    record_line: u64,
    /// The file offset of the current record's first byte.
    record_offset: u64,
    /// The input starts at the file's start (where a byte-order mark may be), not at a
    /// [`RowMark`].
    at_file_start: bool,
    /// Input bytes of the current record so far.
    record_bytes: u64,
    /// The 0-based index of the field being read in the current record.
    column: usize,
    /// Bytes held outside this reader (the first records), for [`Usage::peak_held`].
    held_outside: usize,
    /// The field delimiter: `None` until the first chunk tells it ([`sniff_delimiter`]).
    delimiter: Option<u8>,
    /// The numbers' decimal mark, which the delimiter is told for (not a comma with a
    /// decimal comma).
    decimal: DecimalMark,
    #[cfg_attr(not(test), allow(dead_code))] // read by the tests
    usage: Usage,
}

impl<'p, R: std::io::Read> Fields<'p, R> {
    /// A reader of `input` from its start, with `delimiter` (`None`: told from the first
    /// lines).
    fn new(input: R, path: &'p Path, delimiter: Option<u8>) -> Self {
        Fields {
            input,
            path,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter.unwrap_or(b',')).build(),
            buf: vec![0; CHUNK],
            pos: 0,
            len: 0,
            offset: 0,
            eof: false,
            nul: None,
            skipped_lines: 0,
            field: Vec::new(),
            field_len: 0,
            at_record_start: true,
            record_line: 1,
            record_offset: 0,
            at_file_start: true,
            record_bytes: 0,
            column: 0,
            held_outside: 0,
            delimiter,
            decimal: DecimalMark::Point,
            usage: Usage::default(),
        }
    }

    /// A reader of `input` from its start, read as `opts` say: the delimiter given or
    /// told for their decimal mark.
    fn with_options(input: R, path: &'p Path, opts: &CsvOptions) -> Result<Self> {
        opts.check()?;
        Ok(Fields { decimal: opts.decimal, ..Fields::new(input, path, opts.delimiter) })
    }

    /// The field delimiter: as given, or as the first chunk told it (a comma before).
    fn delimiter(&self) -> u8 {
        self.delimiter.unwrap_or(b',')
    }

    /// A reader of `input`, which starts at the record `mark` names: offsets and lines
    /// are counted from there, and no byte-order mark is looked for.
    fn at_mark(input: R, path: &'p Path, delimiter: u8, mark: RowMark) -> Self {
        let mut f = Fields::new(input, path, Some(delimiter));
        f.offset = mark.offset;
        f.skipped_lines = mark.line - 1;
        f.at_file_start = false;
        f
    }

    /// The field [`Fields::next_field`] last returned.
    fn field(&self) -> &[u8] {
        &self.field[..self.field_len]
    }

    /// The 1-based line the parser is on.
    fn line_now(&self) -> u64 {
        self.core.line() + self.skipped_lines
    }

    /// Record that `n` bytes are held outside the reader.
    fn note_held_outside(&mut self, n: usize) {
        self.held_outside = n;
        self.note_usage();
    }

    fn note_usage(&mut self) {
        let held = self.buf.len() + self.field.len() + self.held_outside;
        self.usage.peak_held = self.usage.peak_held.max(held);
    }

    fn advance(&mut self, n: usize) {
        self.pos += n;
        self.offset += n as u64;
    }

    /// "line 3, column 2": the record being read (its first line) and its field; between
    /// records, the first field of the next one.
    fn here(&self) -> String {
        if self.at_record_start {
            format!("line {}, column 1", self.line_now())
        } else {
            format!("line {}, column {}", self.record_line, self.column + 1)
        }
    }

    /// Read the next chunk into the (fully parsed) buffer. `Ok(false)` at the end of the
    /// file; an error when the buffer stopped at a NUL byte.
    fn refill(&mut self) -> Result<bool> {
        debug_assert_eq!(self.pos, self.len);
        if let Some(at) = self.nul {
            return Err(Error::format(
                self.path,
                format!("{}: a NUL byte at byte offset {at}: this is binary data, not CSV text", self.here()),
            ));
        }
        if self.eof {
            return Ok(false);
        }
        let first = self.at_file_start && self.usage.bytes_read == 0;
        // The first chunk tells the delimiter when none is given: it is read until it
        // holds the lines that tell it, the file's end, or a full chunk.
        let sniff = first && self.delimiter.is_none();
        let mut newlines = 0;
        self.pos = 0;
        self.len = 0;
        loop {
            let n = match self.input.read(&mut self.buf[self.len..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(self.path, e)),
            };
            self.usage.bytes_read += n as u64;
            self.len += n;
            // The first chunk holds at least the 3 bytes of a byte-order mark, if any.
            if sniff {
                newlines += self.buf[self.len - n..self.len].iter().filter(|&&b| b == b'\n').count();
            }
            let told = newlines > SNIFF_LINES || self.len == self.buf.len();
            if n == 0 || !first || (self.len >= 3 && (!sniff || told)) {
                self.eof = n == 0;
                break;
            }
        }
        if first && self.buf[..self.len].starts_with(b"\xEF\xBB\xBF") {
            // A UTF-8 byte-order mark (spreadsheet exports).
            self.advance(3);
        }
        if let Some(i) = self.buf[self.pos..self.len].iter().position(|&b| b == 0) {
            self.nul = Some(self.offset + i as u64);
            self.len = self.pos + i;
            self.eof = false;
        }
        if sniff {
            let d = sniff_for(&self.buf[self.pos..self.len], self.eof, self.decimal);
            self.delimiter = Some(d);
            self.core = csv_core::ReaderBuilder::new().delimiter(d).build();
        }
        Ok(true)
    }

    /// Parse the next field into [`Fields::field`].
    fn next_field(&mut self) -> Result<Step> {
        self.field_len = 0;
        loop {
            if self.pos == self.len {
                // At the end of the file the chunk stays empty, which tells csv-core so.
                self.refill()?;
            }
            if self.at_record_start {
                // Skip blank lines here, counting them, so that a record's line is exact.
                let window = &self.buf[self.pos..self.len];
                let n = window.iter().position(|&b| b != b'\n' && b != b'\r').unwrap_or(window.len());
                self.skipped_lines += window[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                self.advance(n);
                if self.pos == self.len && !self.eof {
                    continue;
                }
                self.at_record_start = false;
                self.record_line = self.line_now();
                self.record_offset = self.offset;
                self.record_bytes = 0;
                self.column = 0;
            }
            if self.field_len == self.field.len() {
                if self.field.len() > MAX_FIELD_BYTES {
                    let start = String::from_utf8_lossy(&self.field[..MAX_SHOWN_CHARS.min(self.field.len())]);
                    return Err(Error::format(
                        self.path,
                        format!(
                            "{}: a field longer than {} MiB (starting \"{}…\"); no number needs that many characters",
                            self.here(),
                            MAX_FIELD_BYTES >> 20,
                            shown_text(start.as_bytes())
                        ),
                    ));
                }
                let n = (self.field.len() * 2).clamp(256, MAX_FIELD_BYTES + 1);
                self.field.resize(n, 0);
                self.note_usage();
            }
            let (res, nin, nout) =
                self.core.read_field(&self.buf[self.pos..self.len], &mut self.field[self.field_len..]);
            self.advance(nin);
            self.field_len += nout;
            self.record_bytes += nin as u64;
            if self.record_bytes > MAX_RECORD_BYTES {
                return Err(Error::format(
                    self.path,
                    format!(
                        "line {} is longer than {} MiB, the longest record this reader accepts",
                        self.record_line,
                        MAX_RECORD_BYTES >> 20
                    ),
                ));
            }
            match res {
                csv_core::ReadFieldResult::InputEmpty | csv_core::ReadFieldResult::OutputFull => {}
                csv_core::ReadFieldResult::Field { record_end } => {
                    if record_end {
                        self.at_record_start = true;
                    } else {
                        self.column += 1;
                    }
                    return Ok(Step::Field { record_end });
                }
                csv_core::ReadFieldResult::End => return Ok(Step::End),
            }
        }
    }
}

/// A record held whole (the first two, which decide whether there is a header).
#[derive(Debug, Default)]
struct Held {
    /// The fields' bytes, one after another.
    bytes: Vec<u8>,
    /// Where each kept field ends in `bytes`.
    ends: Vec<u32>,
    /// How many fields the record has (counting stops at [`MAX_COLUMNS`] + 1).
    count: usize,
    /// The 1-based line where it starts.
    line: u64,
}

impl Held {
    fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&e| e as usize));
        starts.zip(self.ends.iter()).map(|(s, &e)| &self.bytes[s..e as usize])
    }

    fn held_bytes(&self) -> usize {
        self.bytes.capacity() + 4 * self.ends.capacity()
    }
}

/// "has 3 fields" / "has more than 1048576 fields".
fn field_count(count: usize) -> String {
    if count > MAX_COLUMNS {
        format!("has more than {MAX_COLUMNS} fields")
    } else {
        format!("has {count} fields")
    }
}

impl<R: std::io::Read> Fields<'_, R> {
    /// Read the next record whole, keeping its first `keep` fields and counting the rest (up to
    /// [`MAX_COLUMNS`] + 1). `None` at the end of the file. `others` is what is already held.
    fn read_held(&mut self, keep: usize, others: usize) -> Result<Option<Held>> {
        let mut held = Held::default();
        loop {
            match self.next_field()? {
                Step::End => return Ok(None),
                Step::Field { record_end } => {
                    held.line = self.record_line;
                    if held.count < keep {
                        held.bytes.extend_from_slice(&self.field[..self.field_len]);
                        // Bounded by MAX_RECORD_BYTES, so it fits.
                        held.ends.push(held.bytes.len() as u32);
                        self.note_held_outside(others + held.held_bytes());
                    }
                    held.count += 1;
                    if record_end || held.count > MAX_COLUMNS {
                        return Ok(Some(held));
                    }
                }
            }
        }
    }
}

/// Turns fields into values, as the plan says: features into `data` (each row's values
/// in feature order), the label into `labels`, the id's text into `ids`.
struct Values<'a> {
    path: &'a Path,
    header: Option<&'a [String]>,
    plan: &'a ColumnPlan,
    missing: Missing,
    decimal: DecimalMark,
    thousands: Option<Thousands>,
    data: Vec<f32>,
    labels: LabelTexts,
    ids: Vec<String>,
    /// Each categorical column's texts.
    categories: Vec<LabelTexts>,
}

impl Values<'_> {
    /// "column 3 (\"c\")" or "column 3".
    fn column(&self, c: usize) -> String {
        match self.header {
            Some(h) => format!("column {} (\"{}\")", c + 1, h.get(c).map(String::as_str).unwrap_or("")),
            None => format!("column {}", c + 1),
        }
    }

    /// Room for the next row's features (filled by [`Values::push`]).
    fn begin_row(&mut self) {
        super::buffer::reserve(&mut self.data, self.plan.features.len());
        self.data.resize(self.data.len() + self.plan.features.len(), 0.0);
    }

    /// The lengths to go back to when a row turns out ragged.
    fn mark(&self) -> (usize, usize, usize, usize) {
        (
            self.data.len(),
            self.labels.len(),
            self.ids.len(),
            self.categories.first().map_or(0, LabelTexts::len),
        )
    }

    fn truncate(&mut self, (d, l, i, c): (usize, usize, usize, usize)) {
        self.data.truncate(d);
        self.labels.truncate(l);
        self.ids.truncate(i);
        self.categories.iter_mut().for_each(|t| t.truncate(c));
    }

    /// Parse field `c` (0-based) of data row `row` at `line`, into the row begun last.
    fn push(&mut self, c: usize, field: &[u8], line: u64, row: usize) -> Result<()> {
        let text = std::str::from_utf8(field).map(str::trim);
        let j = match self.plan.roles.get(c) {
            Some(Role::Feature(j)) => *j,
            Some(Role::Label) => {
                let label = text.ok().filter(|t| !t.is_empty()).ok_or_else(|| {
                    Error::format(
                        self.path,
                        format!(
                            "{}, {}: \"{}\" is not a label (a whole number or text)",
                            place(line, row),
                            self.column(c),
                            shown_text(field)
                        ),
                    )
                })?;
                self.labels.push(label);
                return Ok(());
            }
            Some(Role::Id) => {
                self.ids.push(field_str(field));
                return Ok(());
            }
            Some(Role::Category(k)) => {
                self.categories[*k].push(&field_str(field));
                return Ok(());
            }
            Some(Role::Skip) | None => return Ok(()),
        };
        let base = self.data.len() - self.plan.features.len();
        match text.map_err(|_| false).and_then(|t| parse_feature(t, self.decimal, self.thousands)) {
            Ok(v) => {
                self.data[base + j] = v;
                Ok(())
            }
            Err(false) if self.missing != Missing::Error && text.is_ok_and(is_missing_text) => {
                self.data[base + j] = f32::NAN;
                Ok(())
            }
            Err(out_of_range) => {
                let shown = shown_text(field);
                let what: String = if out_of_range {
                    "is too large for a 32-bit float".into()
                } else if text.is_ok_and(is_missing_text) {
                    if shown.is_empty() {
                        "is empty (a missing value; missing = drop or missing = mean handles it)".into()
                    } else {
                        "is a missing value (missing = drop or missing = mean handles it)".into()
                    }
                } else {
                    text.map_or("is not a number".into(), |t| not_a_number(t, self.decimal, self.thousands))
                };
                Err(Error::format(
                    self.path,
                    format!("{}, {}: \"{shown}\" {what}", place(line, row), self.column(c)),
                ))
            }
        }
    }

    /// The ragged-row error.
    fn ragged(&self, line: u64, row: usize, count: usize, ncols: usize) -> Error {
        Error::format(
            self.path,
            format!("{} {}, expected {ncols} (ragged row)", place(line, row), field_count(count)),
        )
    }
}

/// Load a CSV file of numbers into a [`Dataset`] (see the module docs for the rules).
/// `columns` chooses the features, the label, the ids and the columns left out
/// ([`Columns::plan`]); `feature_names` is set from the header (the features'), `source` is
/// the path.
///
/// The file is streamed: besides the values it keeps (4 bytes a number), the reader holds one
/// 64 KiB chunk, one field and the first two records, so its memory is bounded by the data
/// kept plus at most 2 × [`MAX_RECORD_BYTES`]. Binary data (a NUL byte), more than
/// [`MAX_COLUMNS`] columns, fields over [`MAX_FIELD_BYTES`] and records over
/// [`MAX_RECORD_BYTES`] are refused with the line (and column) where they are found.
pub fn load(path: &Path, opts: &CsvOptions, columns: &Columns) -> Result<Dataset> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    load_fields(&mut Fields::with_options(file, path, opts)?, opts, columns)
}

/// [`load`] from a reader (standard input, a pipe) read once from start to end; `path`
/// names it in messages and as the dataset's source.
pub fn load_reader(
    input: impl std::io::Read,
    path: &Path,
    opts: &CsvOptions,
    columns: &Columns,
) -> Result<Dataset> {
    load_fields(&mut Fields::with_options(input, path, opts)?, opts, columns)
}

/// Where a data row's record starts in a CSV file, so that the rows from it on can be
/// read without those before. The first two records decide the header, so no mark is
/// one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowMark {
    /// The byte offset of the record's first byte.
    offset: u64,
    /// Its 1-based line.
    line: u64,
    /// Its 0-based data row.
    row: usize,
}

/// A CSV file as one scan of it found it ([`index`]): its header, width and data rows,
/// and a mark (a row's byte offset and line) about every `chunk_values` values, so that
/// [`load_rows`] reads a range of rows from the mark before it and stops after it — a
/// file larger than memory read in chunks, or a process's share of one read without the
/// rest.
#[derive(Debug, Clone)]
pub struct CsvIndex {
    header: Option<Vec<String>>,
    ncols: usize,
    cols: usize,
    feature_names: Option<Vec<String>>,
    rows: usize,
    marks: Vec<RowMark>,
    /// The delimiter the scan read with (told from the file, unless given).
    delimiter: u8,
}

impl CsvIndex {
    /// Data rows in the file.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The features each row has.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The features' names, from the header.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// The data rows where chunks start: 0, and the row of every mark. [`load_rows`] of a
    /// range from one of them reads no record before it.
    pub fn chunk_starts(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(0).chain(self.marks.iter().map(|m| m.row))
    }
}

/// Scan the CSV file `path` (read with `opts` and `columns`, as [`load`] reads it): every
/// row is parsed and checked, with [`load`]'s errors, and none is kept. A mark is noted
/// at a row about every `chunk_values` feature values.
pub fn index(path: &Path, opts: &CsvOptions, columns: &Columns, chunk_values: usize) -> Result<CsvIndex> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut marks = Vec::new();
    let mut window = Window { keep: 0..0, to_end: true, marks: Some((chunk_values, &mut marks)) };
    let mut fields = Fields::with_options(file, path, opts)?;
    let read = read_window(&mut fields, opts, columns, None, &mut window)?;
    Ok(CsvIndex {
        header: read.header,
        ncols: read.ncols,
        cols: read.data.cols(),
        feature_names: read.data.feature_names,
        rows: read.rows,
        marks,
        delimiter: fields.delimiter(),
    })
}

/// Data rows `range` of the CSV file `path` that `index` describes (read with the same
/// `opts` and `columns`), as [`load`] of the whole file would give them: the file is read
/// from the last mark at or before `range.start`, and no further than `range.end`.
pub fn load_rows(
    path: &Path,
    opts: &CsvOptions,
    columns: &Columns,
    index: &CsvIndex,
    range: std::ops::Range<usize>,
) -> Result<Dataset> {
    opts.check()?;
    if range.start > range.end || range.end > index.rows {
        return Err(Error::format(
            path,
            format!("data rows {}..{} asked of {} rows", range.start, range.end, index.rows),
        ));
    }
    if range.is_empty() {
        let mut d = Dataset::new(Vec::new(), 0, index.cols, path.display().to_string())?;
        d.feature_names.clone_from(&index.feature_names);
        return Ok(d);
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut window = Window { keep: range.clone(), to_end: false, marks: None };
    let read = match index.marks.iter().rev().find(|m| m.row <= range.start) {
        Some(&mark) => {
            use std::io::Seek;
            file.seek(std::io::SeekFrom::Start(mark.offset)).map_err(|e| Error::io(path, e))?;
            let mut fields = Fields::at_mark(file, path, index.delimiter, mark);
            read_window(&mut fields, opts, columns, Some((index, mark.row)), &mut window)?
        }
        None => {
            let mut fields = Fields::new(file, path, Some(index.delimiter));
            read_window(&mut fields, opts, columns, None, &mut window)?
        }
    };
    if read.data.rows() != range.len() {
        return Err(Error::format(
            path,
            format!(
                "changed while it was read: data rows {}..{} asked, {} found",
                range.start,
                range.end,
                read.data.rows()
            ),
        ));
    }
    Ok(read.data)
}

/// Which data rows a read keeps (the others are parsed and checked, then dropped), and
/// where it notes [`RowMark`]s.
struct Window<'m> {
    keep: std::ops::Range<usize>,
    /// Read to the file's end, checking every row, after the last row kept.
    to_end: bool,
    /// Note a mark about every `.0` values (at a row past the first two records).
    marks: Option<(usize, &'m mut Vec<RowMark>)>,
}

/// What a read found: the rows it kept, and the file's header, width and data rows.
struct WindowRead {
    data: Dataset,
    header: Option<Vec<String>>,
    ncols: usize,
    /// Data rows read (kept or not), counting from the file's first.
    rows: usize,
}

fn load_fields<R: std::io::Read>(
    fields: &mut Fields<'_, R>,
    opts: &CsvOptions,
    columns: &Columns,
) -> Result<Dataset> {
    let mut whole = Window { keep: 0..usize::MAX, to_end: true, marks: None };
    Ok(read_window(fields, opts, columns, None, &mut whole)?.data)
}

/// Read the rows `window` keeps. From the file's start, the first two records decide the
/// header; from a mark (`at`: the index that holds it and the mark's row), the index
/// gives the header and width.
fn read_window<R: std::io::Read>(
    fields: &mut Fields<'_, R>,
    opts: &CsvOptions,
    columns: &Columns,
    at: Option<(&CsvIndex, usize)>,
    window: &mut Window<'_>,
) -> Result<WindowRead> {
    let path = fields.path;
    let (header, ncols, held) = match at {
        Some((index, _)) => (index.header.clone(), index.ncols, [None, None]),
        None => {
            let Some(first) = fields.read_held(MAX_COLUMNS, 0)? else {
                return Err(Error::format(path, "the file is empty: no rows to load"));
            };
            if first.count > MAX_COLUMNS {
                return Err(Error::format(
                    path,
                    format!(
                        "line {} has more than {MAX_COLUMNS} fields; a CSV file may have at most {MAX_COLUMNS} columns",
                        first.line
                    ),
                ));
            }
            let ncols = first.count;
            let second = fields.read_held(ncols, first.held_bytes())?;
            let number = |f: &[u8]| is_number(f, opts.decimal, opts.thousands);
            let has_header = match opts.header {
                HeaderMode::Yes => true,
                HeaderMode::No => false,
                HeaderMode::Auto => match &second {
                    Some(second) => first.iter().zip(second.iter()).any(|(a, b)| !number(a) && number(b)),
                    None => first.iter().any(|a| !number(a)),
                },
            };
            let header: Option<Vec<String>> = has_header.then(|| first.iter().map(field_str).collect());
            (header, ncols, [(!has_header).then_some(first), second])
        }
    };

    let plan = columns.plan(header.as_deref(), ncols, path)?;
    let cols = plan.features.len();
    let mark_every = window.marks.as_ref().map(|(values, _)| (values / cols.max(1)).max(1));
    let mut values = Values {
        path,
        header: header.as_deref(),
        plan: &plan,
        missing: columns.missing,
        decimal: opts.decimal,
        thousands: opts.thousands,
        data: Vec::new(),
        labels: LabelTexts::default(),
        ids: Vec::new(),
        categories: plan.categorical.iter().map(|_| LabelTexts::default()).collect(),
    };
    let mut rows = at.map_or(0, |(_, row)| row);
    let mut kept = 0usize;

    // The held records: the first unless it is the header, then the second.
    for held in held.iter().flatten() {
        if held.count != ncols {
            return Err(values.ragged(held.line, rows + 1, held.count, ncols));
        }
        let mark = values.mark();
        values.begin_row();
        for (c, field) in held.iter().enumerate() {
            values.push(c, field, held.line, rows + 1)?;
        }
        if window.keep.contains(&rows) {
            kept += 1;
        } else {
            values.truncate(mark);
        }
        rows += 1;
    }
    drop(held);
    fields.note_held_outside(0);

    // The rest, streamed field by field. A ragged row is reported before a bad field in it
    // (the whole record is read first, holding nothing), as a bad field is only an error in a
    // row of the right length.
    while window.to_end || rows < window.keep.end {
        let mark = values.mark();
        values.begin_row();
        let mut count = 0usize;
        let mut line = 0u64;
        let mut bad_field: Option<Error> = None;
        loop {
            match fields.next_field()? {
                Step::End => break,
                Step::Field { record_end } => {
                    line = fields.record_line;
                    if count < ncols && bad_field.is_none() {
                        bad_field = values.push(count, fields.field(), line, rows + 1).err();
                    }
                    count += 1;
                    if record_end || count > MAX_COLUMNS {
                        break;
                    }
                }
            }
        }
        if count == 0 {
            values.truncate(mark);
            break;
        }
        if count != ncols {
            values.truncate(mark);
            return Err(values.ragged(line, rows + 1, count, ncols));
        }
        if let Some(e) = bad_field {
            return Err(e);
        }
        if let (Some(every), Some((_, marks))) = (mark_every, window.marks.as_mut()) {
            if rows.is_multiple_of(every) {
                marks.push(RowMark { offset: fields.record_offset, line, row: rows });
            }
        }
        if window.keep.contains(&rows) {
            kept += 1;
        } else {
            values.truncate(mark);
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(Error::format(path, "the file has a header row but no data rows"));
    }

    let Values { data, labels, ids, categories, .. } = values;
    let mut ds = if plan.categorical.is_empty() {
        let mut ds = Dataset::new(data, kept, cols, path.display().to_string())?;
        ds.feature_names = plan.feature_names.clone();
        ds
    } else {
        one_hot(&data, kept, &plan, categories, &columns.categories, path, path.display().to_string())?
    };
    if plan.label.is_some() {
        let (labels, names) = labels.finish(parse_label);
        ds = ds.with_labels(labels)?;
        ds.label_names = names;
    }
    if plan.id.is_some() {
        ds = ds.with_ids(RowIds::Text(ids))?;
    }
    Ok(WindowRead { data: ds, header, ncols, rows })
}

/// Write `rows × cols` row-major values as CSV, atomically. With `header`, the first line holds
/// the column names (`cols` of them); with `ids`, a first column `id` holds each row's id.
/// Values use Rust's shortest round-trip `f32` formatting (`0.1`, `3`, `NaN`, `inf`), so
/// [`load`] reads back exactly the same numbers.
pub fn write(
    path: &Path,
    data: &[f32],
    rows: usize,
    cols: usize,
    header: Option<&[String]>,
    ids: Option<&RowIds>,
) -> Result<()> {
    if let Some(ids) = ids.filter(|ids| ids.len() != rows) {
        return Err(Error::Data(format!("{}: {} ids for {rows} rows", path.display(), ids.len())));
    }
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
            write_header(&mut out, h, ids.is_some())?;
        }
        write_rows(&mut out, data, rows, cols, ids)?;
        out.flush()?;
        Ok(())
    })
}

/// [`write`]'s first line: `id` (with ids) and the column names.
pub(crate) fn write_header<W: std::io::Write>(
    out: &mut csv::Writer<W>,
    header: &[String],
    ids: bool,
) -> csv::Result<()> {
    if ids {
        out.write_field("id")?;
    }
    out.write_record(header)
}

/// [`write`]'s lines of the `rows` rows of `data` (`cols` values each), after each
/// row's id.
pub(crate) fn write_rows<W: std::io::Write>(
    out: &mut csv::Writer<W>,
    data: &[f32],
    rows: usize,
    cols: usize,
    ids: Option<&RowIds>,
) -> csv::Result<()> {
    let mut text = String::new();
    for r in 0..rows {
        if let Some(ids) = ids {
            out.write_field(ids.text(r).as_bytes())?;
        }
        for v in &data[r * cols..(r + 1) * cols] {
            text.clear();
            let _ = write!(text, "{v}");
            out.write_field(&text)?;
        }
        out.write_record(None::<&[u8]>)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::data::columns::Missing;

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    use crate::data::columns::ColumnRef;

    /// A file's rows with every column a feature, or with the label column `label`.
    fn load(p: &Path, opts: &CsvOptions) -> Result<Dataset> {
        super::load(p, opts, &Columns::default())
    }

    fn labelled(p: &Path, label: ColumnRef) -> Result<Dataset> {
        super::load(p, &CsvOptions::default(), &Columns { label: Some(label), ..Columns::default() })
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
        let ds = load(&p, &CsvOptions { delimiter: Some(b';'), ..Default::default() }).unwrap();
        assert_eq!(ds.as_slice(), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn label_columns_by_name_and_index() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "iris.csv", "sl,sw,species\n5.1,3.5,0\n4.9,3.0,1.0\n6.2,2.9,2\n");
        let ds = labelled(&p, ColumnRef::Name("species".into())).unwrap();
        assert_eq!((ds.rows(), ds.cols()), (3, 2));
        assert_eq!(ds.labels.as_deref(), Some(&[0, 1, 2][..]));
        assert_eq!(ds.row(2), &[6.2, 2.9]);
        assert_eq!(ds.feature_names, Some(vec!["sl".into(), "sw".into()]));

        let p = file(&dir, "noh.csv", "3,0.5,0.25\n4,1,2\n");
        let ds = labelled(&p, ColumnRef::Index(0)).unwrap();
        assert_eq!(ds.labels.as_deref(), Some(&[3, 4][..]));
        assert_eq!(ds.as_slice(), &[0.5, 0.25, 1.0, 2.0]);

        let e = labelled(&p, ColumnRef::Name("species".into())).unwrap_err().to_string();
        assert!(e.contains("noh.csv") && e.contains("no header row"), "{e}");
        let e = labelled(&p, ColumnRef::Index(3)).unwrap_err().to_string();
        assert!(e.contains("index 3") && e.contains("3 columns"), "{e}");
        let p = file(&dir, "iris2.csv", "sl,sw,species\n5.1,3.5,setosa\n");
        let e = labelled(&p, ColumnRef::Name("class".into())).unwrap_err().to_string();
        assert!(e.contains("no column named \"class\"") && e.contains("\"species\""), "{e}");
        // Text labels are classes, numbered in sorted order; an empty label is named.
        let p = file(
            &dir,
            "iris3.csv",
            "sl,sw,species\n5.1,3.5,virginica\n4.9,3,setosa\n6,2.2,versicolor\n5,3,setosa\n",
        );
        let ds = labelled(&p, ColumnRef::Name("species".into())).unwrap();
        assert_eq!(ds.labels.as_deref(), Some(&[2, 0, 1, 0][..]));
        assert_eq!(ds.label_names, Some(vec!["setosa".into(), "versicolor".into(), "virginica".into()]));
        let p = file(&dir, "gap.csv", "sl,sw,species\n5.1,3.5,setosa\n4.9,3, \n");
        let e = labelled(&p, ColumnRef::Name("species".into())).unwrap_err().to_string();
        assert!(e.contains("line 3 (data row 2), column 3 (\"species\"): \"\" is not a label"), "{e}");
        let p = file(&dir, "lab.csv", "y\n1\n");
        assert!(labelled(&p, ColumnRef::Index(0)).unwrap_err().to_string().contains("no feature columns"));
    }

    /// `--columns` in another order, an ignored text column and an id column: the rows
    /// hold the chosen features in the chosen order; the ids are the text as written; a
    /// bad value in an ignored column is not read.
    #[test]
    fn chosen_ignored_and_id_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "t.csv", "key,a,note,b,y\nk1,1,hello,2,0\n007,3,,4,1\n");
        let name = |s: &str| ColumnRef::Name(s.into());
        let columns = Columns {
            label: Some(name("y")),
            id: Some(ColumnRef::Index(0)),
            ignore: vec![name("note")],
            ..Columns::default()
        };
        let ds = super::load(&p, &CsvOptions::default(), &columns).unwrap();
        assert_eq!(ds.as_slice(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(ds.ids, Some(RowIds::Text(vec!["k1".into(), "007".into()])));
        assert_eq!(ds.labels.as_deref(), Some(&[0, 1][..]));
        assert_eq!(ds.feature_names, Some(vec!["a".into(), "b".into()]));
        let columns = Columns { features: Some(vec![name("b"), name("a")]), ..Columns::default() };
        let ds = super::load(&p, &CsvOptions::default(), &columns).unwrap();
        assert_eq!(ds.as_slice(), &[2.0, 1.0, 4.0, 3.0]);
        assert_eq!((ds.ids.clone(), ds.labels.clone()), (None, None));
        assert_eq!(ds.feature_names, Some(vec!["b".into(), "a".into()]));
        // From a stream, the same.
        let text = std::fs::read(&p).unwrap();
        let again = load_reader(&text[..], &p, &CsvOptions::default(), &columns).unwrap();
        assert_eq!(again.as_slice(), ds.as_slice());
        // Without leaving "note" out, its text is named.
        let columns = Columns { label: Some(name("y")), id: Some(name("key")), ..Columns::default() };
        let e = super::load(&p, &CsvOptions::default(), &columns).unwrap_err().to_string();
        assert!(e.contains("column 3 (\"note\"): \"hello\" is not a number"), "{e}");
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
        assert!(
            e.contains("line 1 (data row 1), column 2: \"\" is empty (a missing value; missing = drop"),
            "{e}"
        );

        let p = file(&dir, "big.csv", "1,1e50\n");
        let e = err(&p, &CsvOptions { header: HeaderMode::No, ..Default::default() });
        assert!(e.contains("\"1e50\" is too large"), "{e}");

        let p = file(&dir, "empty.csv", "");
        assert!(err(&p, &CsvOptions::default()).contains("empty.csv: the file is empty"));
        let p = file(&dir, "only.csv", "a,b\n");
        assert!(err(&p, &CsvOptions::default()).contains("header row but no data rows"));
        let p = file(&dir, "bin.csv", "1,\u{0}\u{ff}\n");
        let e = err(&p, &CsvOptions { header: HeaderMode::No, ..Default::default() });
        assert!(e.contains("bin.csv: line 1, column 2: a NUL byte at byte offset 2"), "{e}");
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

    /// `true` and `false`, as pandas writes a boolean column (`True`) or a database
    /// (`TRUE`), are 1 and 0 (a Parquet boolean column's values), and count as numbers
    /// when telling a header: a file of flags alone has its header found. Other words
    /// are still not numbers.
    #[test]
    fn booleans_are_one_and_zero() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "b.csv", "flag,on\nTrue,false\nFALSE,true\n");
        let ds = load(&p, &CsvOptions::default()).unwrap();
        assert_eq!(ds.as_slice(), &[1.0, 0.0, 0.0, 1.0]);
        assert_eq!(ds.feature_names, Some(vec!["flag".to_string(), "on".into()]));
        let p = file(&dir, "yes.csv", "flag,x\nyes,1\n");
        let e = load(&p, &CsvOptions::default()).unwrap_err().to_string();
        assert!(e.contains("\"yes\" is not a number"), "{e}");
    }

    /// Empty fields and pandas' spellings of a missing value are NaN when a rule asks
    /// for them, and an error that names the rule otherwise; other text is still not a
    /// number.
    #[test]
    fn missing_values_are_nan_when_a_rule_handles_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "m.csv", "a,b,c\n1,,3\nNA,2, N/A \n4,5,6\n");
        let mean = Columns { missing: Missing::Mean, ..Columns::default() };
        let ds = super::load(&p, &CsvOptions::default(), &mean).unwrap();
        let v = ds.as_slice();
        assert_eq!([v[0], v[2], v[4], v[6], v[7], v[8]], [1.0, 3.0, 2.0, 4.0, 5.0, 6.0]);
        assert!(v[1].is_nan() && v[3].is_nan() && v[5].is_nan());
        let e = super::load(&p, &CsvOptions::default(), &Columns::default()).unwrap_err().to_string();
        assert!(
            e.contains("m.csv: line 2 (data row 1), column 2 (\"b\"): \"\" is empty (a missing value"),
            "{e}"
        );
        let p = file(&dir, "na.csv", "a,b\n1,2\n3,NA\n");
        let e = super::load(&p, &CsvOptions::default(), &Columns::default()).unwrap_err().to_string();
        assert!(
            e.contains("line 3 (data row 2), column 2 (\"b\"): \"NA\" is a missing value (missing = drop"),
            "{e}"
        );
        let p = file(&dir, "text.csv", "a,b\n1,2\n3,abc\n");
        let e = super::load(&p, &CsvOptions::default(), &mean).unwrap_err().to_string();
        assert!(e.contains("\"abc\" is not a number"), "{e}");
    }

    /// A categorical column becomes one 0/1 feature per value (sorted), after the
    /// numeric features; with a model's encodings, an unseen value or an empty field
    /// sets none.
    #[test]
    fn categorical_columns_are_one_hot_encoded() {
        use crate::data::columns::Categorical;
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "c.csv", "size,color,w\n1,red,2\n3,blue,4\n5,red,6\n");
        let columns = Columns { categorical: vec![ColumnRef::Name("color".into())], ..Columns::default() };
        let ds = super::load(&p, &CsvOptions::default(), &columns).unwrap();
        assert_eq!(ds.cols(), 4);
        assert_eq!(ds.as_slice(), &[1.0, 2.0, 0.0, 1.0, 3.0, 4.0, 1.0, 0.0, 5.0, 6.0, 0.0, 1.0]);
        let names = ["size", "w", "color=blue", "color=red"].map(String::from).to_vec();
        assert_eq!(ds.feature_names, Some(names));
        let fitted = Categorical { column: "color".into(), values: vec!["blue".into(), "red".into()] };
        assert_eq!(ds.categories, vec![fitted.clone()]);
        // Later rows, read with the fitted encodings: green is unseen, the empty field none.
        let p = file(&dir, "d.csv", "size,color,w\n1,green,2\n3,,4\n5,blue,6\n");
        let later = Columns::default().with_categories(std::slice::from_ref(&fitted));
        let ds = super::load(&p, &CsvOptions::default(), &later).unwrap();
        assert_eq!(ds.as_slice(), &[1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0, 5.0, 6.0, 1.0, 0.0]);
        // Without a header, by index; the column is named by its index.
        let p = file(&dir, "n.csv", "1,x\n2,y\n");
        let columns = Columns { categorical: vec![ColumnRef::Index(1)], ..Columns::default() };
        let ds =
            super::load(&p, &CsvOptions { header: HeaderMode::No, ..Default::default() }, &columns).unwrap();
        assert_eq!(
            (ds.as_slice(), ds.categories[0].column.as_str()),
            (&[1.0, 1.0, 0.0, 2.0, 0.0, 1.0][..], "1")
        );
    }

    #[test]
    fn write_round_trips_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        let data = [0.1f32, 1.0, -3.5e-7, 1e30, f32::MIN_POSITIVE, 123456.79];
        let names = vec!["a".to_string(), "b,c".to_string()];
        write(&p, &data, 3, 2, Some(&names), Some(&RowIds::Int(vec![0, 1, 2]))).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("id,a,\"b,c\"\n0,0.1,1\n"), "{text}");
        let ds = labelled(&p, ColumnRef::Name("id".into())).unwrap();
        assert_eq!(ds.as_slice(), &data);
        assert_eq!(ds.labels.as_deref(), Some(&[0, 1, 2][..]));
        assert_eq!(ds.feature_names, Some(names));

        write(&p, &data, 2, 3, None, None).unwrap();
        let ds = load(&p, &CsvOptions::default()).unwrap();
        assert_eq!((ds.rows(), ds.cols(), ds.as_slice()), (2, 3, &data[..]));
        assert!(write(&p, &data, 4, 2, None, None).is_err());
        assert!(write(&p, &data, 3, 2, Some(&["x".to_string()]), None).is_err());
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

    /// The records [`Fields`] reads from `input`, fed `step` bytes at a time.
    fn records(input: &[u8], step: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
        let path = Path::new("t.csv");
        let mut f = Fields::new(Trickle { data: input, step }, path, Some(b','));
        let mut out = Vec::new();
        let mut record = Vec::new();
        while let Step::Field { record_end } = f.next_field().unwrap() {
            record.push(f.field().to_vec());
            if record_end {
                out.push((f.record_line, std::mem::take(&mut record)));
            }
        }
        assert!(record.is_empty());
        out
    }

    use super::tests_support::Trickle;

    /// `pattern` repeated for `len` bytes, generated as it is read (a "file" of any size that
    /// takes no memory).
    struct Cycle {
        pattern: &'static [u8],
        at: usize,
        left: u64,
    }

    impl Cycle {
        fn new(pattern: &'static [u8], len: u64) -> Self {
            Cycle { pattern, at: 0, left: len }
        }
    }

    impl std::io::Read for Cycle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
            for b in &mut buf[..n] {
                *b = self.pattern[self.at];
                self.at = (self.at + 1) % self.pattern.len();
            }
            self.left -= n as u64;
            Ok(n)
        }
    }

    /// Load from a generated input; the error (if any) and what the reader read and held.
    fn load_input(input: impl std::io::Read, opts: &CsvOptions) -> (Result<Dataset>, Usage) {
        let mut f = Fields::new(input, Path::new("hostile.csv"), opts.delimiter);
        let r = load_fields(&mut f, opts, &Columns::default());
        (r, f.usage)
    }

    /// 40 good rows of 5 numbers, as the hostile tests start.
    fn good_rows() -> Vec<u8> {
        (0..40).map(|r| format!("{r},1.5,-2,3e-1,{}\n", r * 2)).collect::<String>().into_bytes()
    }

    /// The streaming reader splits records exactly as the csv crate does (quotes, doubled
    /// quotes, CR / LF / CRLF ends, blank lines, a missing last line end, a byte-order mark),
    /// whatever the chunk boundaries, and numbers lines exactly (blank lines and quoted line
    /// ends included).
    #[test]
    fn fields_match_the_csv_crate() {
        let cases: &[&[u8]] = &[
            b"a,b,c\n1,2,3\n",
            b"1,2\r\n3,4\r\n\r\n\r\n5,6",
            b"1,2\r3,4\r\r5,6\r",
            b"\n\n x , y \n\n1,\"2,3\"\n\"a\"\"b\",\"multi\nline\"\n\"q\"tail,4\n",
            b"\xEF\xBB\xBFh1,h2\n1,2\n",
            b",,\n,\n\"\"\n",
            b"\"unterminated,1\n2,3\n",
            b"1;2,3\n",
            b"",
            b"\n\r\n\n",
        ];
        for &case in cases {
            let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(case);
            let want: Vec<Vec<Vec<u8>>> =
                csv.byte_records().map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect()).collect();
            for step in [1, 2, 3, 7, CHUNK] {
                let got: Vec<Vec<Vec<u8>>> = records(case, step).into_iter().map(|(_, r)| r).collect();
                assert_eq!(got, want, "{:?} read {step} bytes at a time", String::from_utf8_lossy(case));
            }
        }
        let lines: Vec<u64> =
            records(b"\n\n x , y \n\n1,\"2,3\"\n\"a\"\"b\",\"multi\nline\"\n\"q\"tail,4\n", 3)
                .iter()
                .map(|r| r.0)
                .collect();
        assert_eq!(lines, [3, 5, 6, 8]);
        assert_eq!(records(b"1\r\n\r\n2\r\n", 1).iter().map(|r| r.0).collect::<Vec<_>>(), [1, 3]);
        // So errors name the right line after blank lines, CRLF ends and quoted line ends.
        let dir = tempfile::tempdir().unwrap();
        let p = file(&dir, "l.csv", "1,2\r\n\r\n\"3\n\",4\n\n5,x\n");
        let e = err(&p, &CsvOptions::default());
        assert!(e.contains("l.csv: line 6 (data row 3), column 2: \"x\" is not a number"), "{e}");
    }

    /// 1 GiB of NUL bytes (what `truncate -s 1G` makes): refused in the first chunk, naming the
    /// line, column and offset, having read 64 KiB; after good rows (a sparse tail) likewise.
    #[test]
    fn nul_bytes_are_refused_in_the_first_chunk() {
        let (r, usage) = load_input(std::io::repeat(0).take(1 << 30), &CsvOptions::default());
        let e = r.unwrap_err().to_string();
        assert_eq!(
            e,
            "hostile.csv: line 1, column 1: a NUL byte at byte offset 0: this is binary data, not CSV text"
        );
        assert!(usage.bytes_read <= CHUNK as u64, "{usage:?}");

        let good = good_rows();
        let n = good.len() as u64;
        let (r, usage) = load_input(good.chain(std::io::repeat(0).take(1 << 30)), &CsvOptions::default());
        let e = r.unwrap_err().to_string();
        assert!(e.contains(&format!("line 41, column 1: a NUL byte at byte offset {n}")), "{e}");
        assert!(usage.bytes_read <= n + CHUNK as u64, "{usage:?}");
        assert!(usage.peak_held < 1 << 20, "{usage:?}");
    }

    /// A 50-million-column record is refused at field 2²⁰ + 1, holding a few MiB (the old
    /// reader held both 100 MB rows and 8 bytes per field: 3.3 GB).
    #[test]
    fn too_many_columns_are_refused_without_holding_the_row() {
        let (r, usage) = load_input(Cycle::new(b"1,", 100_000_000), &CsvOptions::default());
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("hostile.csv: line 1 has more than 1048576 fields; a CSV file may have at most"),
            "{e}"
        );
        assert!(usage.bytes_read <= 2 * (MAX_COLUMNS as u64 + 1) + CHUNK as u64, "{usage:?}");
        assert!(usage.peak_held <= 16 << 20, "{usage:?}");

        // In a data row: a ragged row, found without reading or holding the rest.
        let good = good_rows();
        let n = good.len() as u64;
        let (r, usage) = load_input(good.chain(Cycle::new(b", ", 1 << 30)), &CsvOptions::default());
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("line 41 (data row 41) has more than 1048576 fields, expected 5 (ragged row)"),
            "{e}"
        );
        assert!(usage.bytes_read <= n + 2 * (MAX_COLUMNS as u64 + 1) + CHUNK as u64, "{usage:?}");
        assert!(usage.peak_held < 1 << 20, "{usage:?}");
    }

    /// A 1 GiB field is refused after its first MiB; a record over 32 MiB after 32 MiB.
    #[test]
    fn huge_fields_and_records_are_refused_at_their_caps() {
        let (r, usage) = load_input(std::io::repeat(b'9').take(1 << 30), &CsvOptions::default());
        let e = r.unwrap_err().to_string();
        assert!(e.contains("line 1, column 1: a field longer than 1 MiB (starting \"9999"), "{e}");
        assert!(e.len() < 300, "{e}");
        assert!(usage.bytes_read <= (MAX_FIELD_BYTES + 2 * CHUNK) as u64, "{usage:?}");
        assert!(usage.peak_held <= 2 * MAX_FIELD_BYTES + 2 * CHUNK, "{usage:?}");

        // An unclosed quote swallowing the rest of the file is one field: the same cap.
        let input =
            std::io::Cursor::new(good_rows()).chain(&b"\""[..]).chain(Cycle::new(b",,\n\n, ", 1 << 30));
        let e = load_input(input, &CsvOptions::default()).0.unwrap_err().to_string();
        assert!(e.contains("line 41, column 1: a field longer than 1 MiB"), "{e}");

        // Fields and columns under their caps, but a record over 32 MiB.
        let (r, usage) = load_input(
            Cycle::new(b"0.000000000000000000000000000000000000001,", 1 << 30),
            &CsvOptions::default(),
        );
        let e = r.unwrap_err().to_string();
        assert!(e.contains("hostile.csv: line 1 is longer than 32 MiB"), "{e}");
        assert!(usage.bytes_read <= MAX_RECORD_BYTES + CHUNK as u64, "{usage:?}");
        assert!(usage.peak_held <= 3 * MAX_RECORD_BYTES as usize, "{usage:?}");
    }

    /// Blank lines cost nothing: 40 rows and 64 MiB of empty lines load as 40 rows, holding
    /// under 1 MiB.
    #[test]
    fn blank_lines_are_streamed_past() {
        let input = std::io::Cursor::new(good_rows()).chain(Cycle::new(b"\n\r\n", 64 << 20));
        let (r, usage) = load_input(input, &CsvOptions::default());
        let ds = r.unwrap();
        assert_eq!((ds.rows(), ds.cols()), (40, 5));
        assert_eq!(ds.row(39), &[39.0, 1.5, -2.0, 0.3, 78.0]);
        assert!(usage.peak_held < 1 << 20, "{usage:?}");
    }

    /// Every range of data rows read from the marks of an index is that range of the whole
    /// file as [`load`] reads it — values, ids and labels — whatever the marks' spacing,
    /// with a header or without, a byte-order mark, CRLF ends, blank lines and quoted line
    /// ends before and inside the rows; the index counts the rows and names the features.
    #[test]
    fn rows_read_from_marks_are_the_whole_files_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("\u{feff}id,a,note,b,y\r\n");
        for r in 0..23 {
            let blank = if r % 5 == 2 { "\r\n\n" } else { "" };
            let note = if r % 3 == 0 { format!("\"two\nlines, {r}\"") } else { format!("n{r}") };
            text += &format!("{blank}r{r},{},{note},{}e-1,{}\r\n", r as f32 * 0.7 - 3.1, r * r, r % 4);
        }
        let p = file(&dir, "marks.csv", &text);
        let columns = Columns {
            id: Some(ColumnRef::Name("id".into())),
            label: Some(ColumnRef::Name("y".into())),
            ignore: vec![ColumnRef::Name("note".into())],
            ..Columns::default()
        };
        let opts = CsvOptions::default();
        let whole = super::load(&p, &opts, &columns).unwrap();
        assert_eq!((whole.rows(), whole.cols()), (23, 2));
        for every in [1, 2, 3, 7, 100] {
            let ix = index(&p, &opts, &columns, 2 * every).unwrap();
            assert_eq!((ix.rows(), ix.cols(), ix.feature_names()), (23, 2, whole.feature_names.as_deref()));
            let starts: Vec<usize> = ix.chunk_starts().collect();
            // (The header and row 0 are the two records held to decide the header.)
            let want: Vec<usize> = std::iter::once(0).chain((1..23).filter(|r| r % every == 0)).collect();
            assert_eq!(starts, want, "a mark every {every} rows");
            for a in 0..=23 {
                for b in a..=23 {
                    let d = load_rows(&p, &opts, &columns, &ix, a..b).unwrap();
                    assert_eq!(d.as_slice(), whole.rows_in(a..b), "rows {a}..{b}, marks every {every}");
                    assert_eq!(d.feature_names, whole.feature_names);
                    if a < b {
                        assert_eq!(d.labels.as_deref(), Some(&whole.labels.as_ref().unwrap()[a..b]));
                        let (Some(RowIds::Text(got)), Some(RowIds::Text(all))) = (&d.ids, &whole.ids) else {
                            panic!("text ids")
                        };
                        assert_eq!(got[..], all[a..b]);
                    }
                }
            }
            let e = load_rows(&p, &opts, &columns, &ix, 20..24).unwrap_err().to_string();
            assert!(e.contains("marks.csv: data rows 20..24 asked of 23 rows"), "{e}");
        }
        // Without a header, the first two records are rows 0 and 1.
        let p = file(&dir, "plain.csv", "1,2\n3,4\n5,6\n7,8\n9,10\n");
        let ix = index(&p, &opts, &Columns::default(), 2).unwrap();
        assert_eq!((ix.rows(), ix.chunk_starts().collect::<Vec<_>>()), (5, vec![0, 2, 3, 4]));
        let d = load_rows(&p, &opts, &Columns::default(), &ix, 1..4).unwrap();
        assert_eq!(d.as_slice(), &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    }

    /// An index finds the errors a whole load finds, with the same words; a read from a
    /// mark names a bad value's line and data row as a whole load does, and stops at the
    /// last row it was asked for (a ragged tail after it is not read).
    #[test]
    fn reads_from_marks_name_lines_and_stop_at_their_last_row() {
        let dir = tempfile::tempdir().unwrap();
        let opts = CsvOptions::default();
        let cols = Columns::default();
        let bad = file(&dir, "bad.csv", "a,b\n1,2\n\n3,4\n5,6\n7,x\n");
        assert_eq!(index(&bad, &opts, &cols, 2).unwrap_err().to_string(), err(&bad, &opts));
        let header_only = file(&dir, "h.csv", "a,b\n");
        assert_eq!(index(&header_only, &opts, &cols, 2).unwrap_err().to_string(), err(&header_only, &opts));

        let rows: String = (0..12).map(|r| format!("{r},{}\n\n", r + 100)).collect();
        let p = file(&dir, "late.csv", &format!("a,b\n{rows}"));
        let ix = index(&p, &opts, &cols, 4).unwrap();
        assert_eq!(ix.chunk_starts().collect::<Vec<_>>(), [0, 2, 4, 6, 8, 10]);
        // Row 9 (line 20) goes bad with the file's length kept: a read from the mark at
        // row 8 names it as a whole load does.
        std::fs::write(&p, format!("a,b\n{rows}").replace("9,109", "9,1x9")).unwrap();
        let e = load_rows(&p, &opts, &cols, &ix, 9..10).unwrap_err().to_string();
        assert!(
            e.contains("late.csv: line 20 (data row 10), column 2 (\"b\"): \"1x9\" is not a number"),
            "{e}"
        );
        assert_eq!(e, err(&p, &opts));
        // Rows before it still read; so do they with a ragged tail after them.
        let d = load_rows(&p, &opts, &cols, &ix, 3..9).unwrap();
        assert_eq!(d.row(5), &[8.0, 108.0]);
        std::fs::write(&p, format!("a,b\n{rows}1,2,3\n")).unwrap();
        assert!(err(&p, &opts).contains("ragged row"));
        let d = load_rows(&p, &opts, &cols, &ix, 10..12).unwrap();
        assert_eq!(d.as_slice(), &[10.0, 110.0, 11.0, 111.0]);
    }

    /// On odd files (quotes, CR, CRLF and blank lines, a byte-order mark, no data, ragged
    /// rows, text), an index with a mark at every row fails with the loader's error or
    /// counts its rows, and the rows from every mark to the end are the loader's, bit for
    /// bit (the fuzz target's property, on these cases).
    #[test]
    fn an_index_agrees_with_the_loader_on_odd_files() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[&[u8]] = &[
            b"a,b,c\n1,2,3\n",
            b"1,2\r\n3,4\r\n\r\n\r\n5,6",
            b"1,2\r3,4\r\r5,6\r7,8",
            b"\n\n x , y \n\n1,\"2\"\n\"3\",\"4\n\"\n\"5\"\"\",6\n7,8\n",
            b"\xEF\xBB\xBFh1,h2\n1,2\n3,nan\n-inf,4",
            b"\"1\",\"2\"\n\"3\r\n\",4\n5,6\n",
            b"1,2\n3\n",
            b"h\n",
            b"",
            b"1;2\n3;4\n",
            b"x,y\n1,2\n3,\n",
        ];
        for (k, &case) in cases.iter().enumerate() {
            let p = dir.path().join(format!("odd{k}.csv"));
            std::fs::write(&p, case).unwrap();
            let (opts, columns) = (CsvOptions::default(), Columns::default());
            let whole = super::load(&p, &opts, &columns);
            match (&whole, index(&p, &opts, &columns, 1)) {
                (Ok(ds), Ok(ix)) => {
                    assert_eq!(ix.rows(), ds.rows());
                    for start in ix.chunk_starts() {
                        let d = load_rows(&p, &opts, &columns, &ix, start..ds.rows()).unwrap();
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(
                            bits(d.as_slice()),
                            bits(ds.rows_in(start..ds.rows())),
                            "case {k} from row {start}"
                        );
                    }
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "case {k}"),
                (a, b) => panic!("case {k}: the loader {:?}, the index {:?}", a.is_ok(), b.is_ok()),
            }
        }
    }
}

#[cfg(test)]
mod delimiters {
    use super::*;

    /// A table of 300 rows of 3 values and a text column, written with `d` between fields
    /// (the text quoted, holding every other delimiter).
    fn table(d: char) -> String {
        table_with(d, '.')
    }

    /// [`table`] with `mark` as the decimal mark.
    fn table_with(d: char, mark: char) -> String {
        let mut s = ["a", "b", "c", "note"].join(&d.to_string()) + "\n";
        for i in 0..300 {
            let row =
                [format!("{i}"), format!("{}{mark}5", i % 7), format!("-{}", i % 3), "\"x,y;z|w\t!\"".into()];
            s += &(row.join(&d.to_string()) + "\n");
        }
        s
    }

    /// TSV, semicolon and bar files read without being told their delimiter give the
    /// rows of the comma file, whether read whole, from a reader that hands out a few
    /// bytes at a time, or a range of rows at a time from the index's marks; a delimiter
    /// given is used as given; a one-column file stays one column.
    #[test]
    fn the_delimiter_is_told_from_the_first_lines() {
        let dir = tempfile::tempdir().unwrap();
        let columns = Columns { ignore: vec!["note".parse().unwrap()], ..Columns::default() };
        let auto = CsvOptions::default();
        let comma = dir.path().join("t.csv");
        std::fs::write(&comma, table(',')).unwrap();
        let want = load(&comma, &auto, &columns).unwrap();
        assert_eq!((want.rows(), want.cols()), (300, 3));
        for d in ['\t', ';', '|'] {
            let p = dir.path().join(format!("t{}.txt", d as u32));
            std::fs::write(&p, table(d)).unwrap();
            let got = load(&p, &auto, &columns).unwrap();
            assert_eq!((got.as_slice(), &got.feature_names), (want.as_slice(), &want.feature_names), "{d:?}");
            for step in [1, 5, 64] {
                let text = table(d);
                let reader = super::tests_support::Trickle { data: text.as_bytes(), step };
                let got = load_reader(reader, &p, &auto, &columns).unwrap();
                assert_eq!(got.as_slice(), want.as_slice(), "{d:?} read {step} bytes at a time");
            }
            let ix = index(&p, &auto, &columns, 90).unwrap();
            assert!(ix.chunk_starts().count() > 3, "{d:?}: marks");
            let starts: Vec<usize> = ix.chunk_starts().chain([ix.rows()]).collect();
            for w in starts.windows(2) {
                let part = load_rows(&p, &auto, &columns, &ix, w[0]..w[1]).unwrap();
                assert_eq!(part.as_slice(), &want.as_slice()[w[0] * 3..w[1] * 3], "{d:?} rows {w:?}");
            }
            // Told a comma, the file is one field a row and its header a text.
            let told = CsvOptions { delimiter: Some(b','), ..CsvOptions::default() };
            assert!(load(&p, &told, &Columns::default()).is_err(), "{d:?}");
        }
        let euro = dir.path().join("euro.csv");
        std::fs::write(&euro, "a;b\n1,5;2\n").unwrap();
        let e = load(&euro, &auto, &Columns::default()).unwrap_err().to_string();
        // The header is found (a decimal comma counts as a number there), and the number
        // refused with the reason.
        assert!(
            e.contains("line 2 (data row 1), column 1 (\"a\"): \"1,5\" is not a number (a decimal comma"),
            "{e}"
        );
        let one = dir.path().join("one.csv");
        std::fs::write(&one, "price;usd\n1.5\n2.5\n").unwrap();
        assert_eq!(load(&one, &auto, &Columns::default()).unwrap().as_slice(), &[1.5, 2.5]);
        assert_eq!(parse_delimiter("tab").unwrap(), Some(b'\t'));
        assert_eq!(parse_delimiter(";").unwrap(), Some(b';'));
        assert_eq!(parse_delimiter("auto").unwrap(), None);
        for bad in ["\"", "ab", "7", ".", "-", ""] {
            assert!(parse_delimiter(bad).unwrap_err().to_string().contains("delimiter"), "{bad:?}");
        }
    }

    /// Told that numbers have a decimal comma, TSV, semicolon and bar files of them give
    /// the rows of the comma file of decimal points: whole, a few bytes at a time, from
    /// the index's marks, with the delimiter told (a comma is never told then) or given.
    /// A point, two commas, or a comma as both delimiter and decimal mark is refused.
    #[test]
    fn decimal_commas_read_as_points_when_told() {
        let dir = tempfile::tempdir().unwrap();
        let columns = Columns { ignore: vec!["note".parse().unwrap()], ..Columns::default() };
        let points = dir.path().join("t.csv");
        std::fs::write(&points, table(',')).unwrap();
        let want = load(&points, &CsvOptions::default(), &columns).unwrap();
        let euro = CsvOptions { decimal: DecimalMark::Comma, ..CsvOptions::default() };
        for d in ['\t', ';', '|'] {
            let text = table_with(d, ',');
            let p = dir.path().join(format!("t{}.txt", d as u32));
            std::fs::write(&p, &text).unwrap();
            for opts in [euro.clone(), CsvOptions { delimiter: Some(d as u8), ..euro.clone() }] {
                let got = load(&p, &opts, &columns).unwrap();
                assert_eq!(
                    (got.as_slice(), &got.feature_names),
                    (want.as_slice(), &want.feature_names),
                    "{d:?}"
                );
            }
            for step in [1, 5, 64] {
                let reader = super::tests_support::Trickle { data: text.as_bytes(), step };
                let got = load_reader(reader, &p, &euro, &columns).unwrap();
                assert_eq!(got.as_slice(), want.as_slice(), "{d:?} read {step} bytes at a time");
            }
            let ix = index(&p, &euro, &columns, 90).unwrap();
            let starts: Vec<usize> = ix.chunk_starts().chain([ix.rows()]).collect();
            assert!(starts.len() > 4, "{d:?}: marks");
            for w in starts.windows(2) {
                let part = load_rows(&p, &euro, &columns, &ix, w[0]..w[1]).unwrap();
                assert_eq!(part.as_slice(), &want.as_slice()[w[0] * 3..w[1] * 3], "{d:?} rows {w:?}");
            }
            // Read with decimal points, the same file is refused, saying why.
            let e = load(&p, &CsvOptions::default(), &columns).unwrap_err().to_string();
            assert!(e.contains("\"0,5\" is not a number (a decimal comma"), "{d:?}: {e}");
        }
        // One column: no delimiter in the file, and the comma is not one.
        let one = dir.path().join("one.csv");
        std::fs::write(&one, "price\n1,5\n-2,25e1\n").unwrap();
        assert_eq!(load(&one, &euro, &Columns::default()).unwrap().as_slice(), &[1.5, -22.5]);
        // Every line holds as many commas as semicolons: the semicolon is the delimiter.
        std::fs::write(&one, "1,5;2,5\n3,5;4,5\n").unwrap();
        assert_eq!(load(&one, &euro, &Columns::default()).unwrap().as_slice(), &[1.5, 2.5, 3.5, 4.5]);
        let refused = |text: &str, opts: &CsvOptions| {
            let p = dir.path().join("bad.csv");
            std::fs::write(&p, text).unwrap();
            load(&p, opts, &Columns::default()).unwrap_err().to_string()
        };
        // A thousands separator is not read; the hint says what it may be.
        let e = refused("a,b\n\"1,234\",2\n", &CsvOptions::default());
        assert!(e.contains("\"1,234\" is not a number (a decimal comma, or a thousands separator?"), "{e}");
        let e = refused("a,b\n\"-12,345,678.5\",2\n", &CsvOptions::default());
        assert!(
            e.contains(
                "\"-12,345,678.5\" is not a number (a thousands separator: thousands = comma reads it)"
            ),
            "{e}"
        );
        let e = refused("a,b\n\"12,34,5\",2\n", &CsvOptions::default());
        assert!(e.ends_with("\"12,34,5\" is not a number"), "{e}");
        // A character of several bytes where the digits would be: no cut inside it.
        let e = refused("a,b\n\"1,ab\u{20ac}\",2\n", &CsvOptions::default());
        assert!(e.ends_with("\"1,ab\u{20ac}\" is not a number"), "{e}");
        let e = refused("a,b\n\"1,2\u{20ac}\",2\n", &CsvOptions::default());
        assert!(e.ends_with("is not a number"), "{e}");
        let e = refused("a;b\n1.5;2\n", &euro);
        assert!(e.contains("column 1 (\"a\"): \"1.5\" is not a number with a decimal comma"), "{e}");
        let e = refused("a;b\n1.234,5;2\n", &euro);
        assert!(
            e.contains("\"1.234,5\" is not a number (a thousands separator: thousands = point reads it)"),
            "{e}"
        );
        let e = refused("a, b\n1,5, 2,5\n", &euro);
        assert!(e.contains("\"a, b\" is not a number (its comma is not a decimal comma"), "{e}");
        let both = CsvOptions { delimiter: Some(b','), ..euro.clone() };
        let e = refused("a;b\n1,5;2\n", &both);
        assert!(e.contains("a comma cannot be both the field delimiter and the decimal mark"), "{e}");
        assert_eq!("comma".parse::<DecimalMark>().unwrap(), DecimalMark::Comma);
        assert_eq!(",".parse::<DecimalMark>().unwrap(), DecimalMark::Comma);
        assert_eq!("Point".parse::<DecimalMark>().unwrap(), DecimalMark::Point);
        assert!("dot-dot".parse::<DecimalMark>().unwrap_err().to_string().contains("decimal"));
    }

    /// Told the thousands separator, numbers grouped by it read as without it: `1,234.5`
    /// (quoted in a comma file), `1.234,5` with decimal commas, spaces (the no-break ones
    /// too) and apostrophes, whole, a few bytes at a time and from the index's marks; a
    /// header is found above them even when not told. Grouped otherwise (`1,23`), or
    /// placed after the decimal mark, they are refused, as is a separator that is the
    /// decimal mark; without the setting, the error names the one that reads them.
    #[test]
    fn thousands_separators_read_where_they_group_in_threes() {
        let dir = tempfile::tempdir().unwrap();
        let plain = "a,b\n1234.5,-12345678\n7,1000\n-0.5,1234567.25e1\n";
        let want = {
            let p = dir.path().join("plain.csv");
            std::fs::write(&p, plain).unwrap();
            load(&p, &CsvOptions::default(), &Columns::default()).unwrap()
        };
        let comma = CsvOptions { thousands: Some(Thousands::Comma), ..CsvOptions::default() };
        let euro = CsvOptions { decimal: DecimalMark::Comma, ..CsvOptions::default() };
        let cases = [
            ("a,b\n\"1,234.5\",\"-12,345,678\"\n7,\"1,000\"\n-0.5,\"1,234,567.25e1\"\n", comma.clone()),
            (
                "a;b\n1.234,5;-12.345.678\n7;1.000\n-0,5;1.234.567,25e1\n",
                CsvOptions { thousands: Some(Thousands::Point), ..euro.clone() },
            ),
            (
                "a;b\n1 234,5;-12\u{a0}345\u{202f}678\n7;1 000\n-0,5;1 234 567,25e1\n",
                CsvOptions { thousands: Some(Thousands::Space), ..euro.clone() },
            ),
            (
                "a;b\n1'234.5;-12\u{2019}345'678\n7;1'000\n-0.5;1'234'567.25e1\n",
                CsvOptions { thousands: Some(Thousands::Apostrophe), ..CsvOptions::default() },
            ),
        ];
        for (i, (text, opts)) in cases.iter().enumerate() {
            let p = dir.path().join(format!("t{i}.csv"));
            std::fs::write(&p, text).unwrap();
            let got = load(&p, opts, &Columns::default()).unwrap();
            assert_eq!(
                (got.as_slice(), &got.feature_names),
                (want.as_slice(), &want.feature_names),
                "{text}"
            );
            for step in [1, 3] {
                let reader = super::tests_support::Trickle { data: text.as_bytes(), step };
                assert_eq!(
                    load_reader(reader, &p, opts, &Columns::default()).unwrap().as_slice(),
                    want.as_slice()
                );
            }
            let ix = index(&p, opts, &Columns::default(), 16).unwrap();
            let starts: Vec<usize> = ix.chunk_starts().chain([ix.rows()]).collect();
            for w in starts.windows(2) {
                let part = load_rows(&p, opts, &Columns::default(), &ix, w[0]..w[1]).unwrap();
                assert_eq!(part.as_slice(), &want.as_slice()[w[0] * 2..w[1] * 2], "{text} rows {w:?}");
            }
        }
        let refused = |text: &str, opts: &CsvOptions| {
            let p = dir.path().join("bad.csv");
            std::fs::write(&p, text).unwrap();
            load(&p, opts, &Columns::default()).unwrap_err().to_string()
        };
        for bad in ["1,23", "12,3456", ",123", "1234,567", "1,234.5,6", "1,,234", "+,123"] {
            let e = refused(&format!("a,b\n\"{bad}\",2\n"), &comma);
            assert!(
                e.contains(&format!("line 2 (data row 1), column 1 (\"a\"): \"{bad}\" is not a number (its comma separators do not group its whole part in threes")),
                "{bad}: {e}"
            );
        }
        // Not told: the header is still found, and the error names the setting.
        let e = refused("a,b\n\"12,345,678\",2\n", &CsvOptions::default());
        assert!(e.contains("line 2 (data row 1), column 1 (\"a\"): \"12,345,678\" is not a number (a thousands separator: thousands = comma"), "{e}");
        let e = refused("a;b\n1 234,5;2\n", &euro);
        assert!(
            e.contains("\"1 234,5\" is not a number (a thousands separator: thousands = space reads it)"),
            "{e}"
        );
        let e = refused("a,b\n1'234,2\n", &CsvOptions::default());
        assert!(
            e.contains("\"1'234\" is not a number (a thousands separator: thousands = apostrophe"),
            "{e}"
        );
        for (decimal, t) in [(DecimalMark::Point, Thousands::Point), (DecimalMark::Comma, Thousands::Comma)] {
            let opts = CsvOptions { decimal, thousands: Some(t), ..CsvOptions::default() };
            let e = refused("a;b\n1;2\n", &opts);
            assert!(e.contains("the thousands separator cannot be the decimal mark"), "{e}");
        }
        for (text, t) in [
            ("comma", Thousands::Comma),
            ("'", Thousands::Apostrophe),
            ("SPACE", Thousands::Space),
            (" ", Thousands::Space),
        ] {
            assert_eq!(text.parse::<Thousands>().unwrap(), t);
        }
        assert!("-".parse::<Thousands>().unwrap_err().to_string().contains("thousands"));
    }
}

#[cfg(test)]
mod tests_support {
    /// A reader that hands out at most `step` bytes per call (chunk boundaries everywhere).
    pub struct Trickle<'a> {
        pub data: &'a [u8],
        pub step: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }
}
