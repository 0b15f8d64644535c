//! Request bodies to rows, and results to answers, in the request's media type: JSON
//! (`{"rows": [[…], …]}`), CSV, or NPY (and a Parquet or Arrow IPC body, read as the
//! library reads those files; it is answered in JSON).

use std::fmt;
use std::path::Path;

use autoencoder::data::csv::{parse_delimiter, CsvOptions, HeaderMode};
use autoencoder::data::npy;
use autoencoder::data::open::{self, LoadOptions};
use autoencoder::{Autoencoder, Dataset};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::Failure;

/// The media types a request may carry, and its answer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Json,
    Csv,
    Npy,
}

impl Media {
    /// The media type of a `Content-Type` header (parameters such as `charset` ignored).
    /// A missing header means JSON; a body of Parquet or Arrow IPC (`application/
    /// vnd.apache.parquet`, `application/vnd.apache.arrow.file`/`.stream`) is read by its
    /// magic bytes and answered in JSON.
    pub fn of_request(content_type: Option<&str>) -> Result<(Media, bool), Failure> {
        let Some(ct) = content_type else { return Ok((Media::Json, false)) };
        let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        Ok(match essence.as_str() {
            "application/json" => (Media::Json, false),
            "text/csv" => (Media::Csv, false),
            "application/x-npy" | "application/octet-stream" => (Media::Npy, false),
            "application/vnd.apache.parquet"
            | "application/vnd.apache.arrow.file"
            | "application/vnd.apache.arrow.stream" => (Media::Json, true),
            _ => {
                return Err(Failure::new(
                    415,
                    format!(
                        "Content-Type {ct:?} is not read; send application/json ({{\"rows\": [[...]]}}), text/csv, application/x-npy, or Parquet/Arrow IPC"
                    ),
                ))
            }
        })
    }

    /// The `Content-Type` of an answer.
    pub fn content_type(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::Csv => "text/csv",
            Media::Npy => "application/x-npy",
        }
    }
}

/// How a `text/csv` body is read, from its `Content-Type`'s parameters, as `ae`'s flags
/// of those names say: `header` (`present` or `absent`, RFC 7111's words, or `yes`,
/// `no`, `auto`; told from the rows when not given), `delimiter` (`tab`, `comma`,
/// `semicolon`, `bar`, or one character, quoted; told from the first lines when not
/// given), `decimal` (`point` or `comma`) and `thousands` (`comma`, `point`, `space`,
/// `apostrophe` or `underscore`; none when not given). Other parameters (`charset`) are
/// not read; a bad value is a 400 naming the parameter.
///
/// `Content-Type: text/csv; decimal=comma; delimiter=semicolon` reads a spreadsheet's
/// export of decimal commas.
pub fn csv_options(content_type: Option<&str>) -> Result<CsvOptions, Failure> {
    let mut opts = CsvOptions::default();
    let bad =
        |name: &str, e: autoencoder::Error| Failure::new(400, format!("Content-Type parameter {name}: {e}"));
    for (name, value) in parameters(content_type.unwrap_or("")) {
        match name.as_str() {
            "header" => {
                opts.header = match value.to_ascii_lowercase().as_str() {
                    "present" => HeaderMode::Yes,
                    "absent" => HeaderMode::No,
                    v => v.parse().map_err(|e| bad(&name, e))?,
                }
            }
            "delimiter" => {
                let text = match value.to_ascii_lowercase().as_str() {
                    "comma" => ",".to_string(),
                    "semicolon" => ";".to_string(),
                    "bar" => "|".to_string(),
                    _ => value,
                };
                opts.delimiter = parse_delimiter(&text).map_err(|e| bad(&name, e))?;
            }
            "decimal" => opts.decimal = value.parse().map_err(|e| bad(&name, e))?,
            "thousands" => opts.thousands = Some(value.parse().map_err(|e| bad(&name, e))?),
            _ => {}
        }
    }
    opts.check().map_err(|e| {
        let field = match &e {
            autoencoder::Error::Config { field, .. } => field.clone(),
            _ => "decimal".to_string(),
        };
        bad(&field, e)
    })?;
    Ok(opts)
}

/// The parameters of a media type (`text/csv; a=1; b=";"`): each name lowercased and
/// each value with its quotes taken off; a `;` inside quotes is part of the value.
fn parameters(media_type: &str) -> Vec<(String, String)> {
    let mut parts = Vec::new();
    let (mut part, mut quoted) = (String::new(), false);
    for c in media_type.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                part.push(c);
            }
            ';' if !quoted => parts.push(std::mem::take(&mut part)),
            _ => part.push(c),
        }
    }
    parts.push(part);
    parts
        .iter()
        .skip(1)
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            let value = value.trim();
            let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
            Some((name.trim().to_ascii_lowercase(), value.to_string()))
        })
        .collect()
}

/// The rows of a request body for `model`, at most `max_rows` of them: JSON through a
/// streaming reader that checks widths and counts as it goes (4 bytes a value, never
/// a tree of the document), everything else through the library's stream reader (CSV,
/// NPY, Parquet, Arrow IPC), with the model's missing-value fill and categorical
/// encodings.
pub fn rows(
    body: &[u8],
    media: Media,
    columnar: bool,
    csv: CsvOptions,
    model: &Autoencoder,
    max_rows: usize,
) -> Result<Dataset, Failure> {
    let d = model.input_dim();
    let fills = model.normalizer().fills_missing();
    let mut data = if media == Media::Json && !columnar {
        let mut de = serde_json::Deserializer::from_slice(body);
        let values = RowsSeed { width: d, max_rows, fills }
            .deserialize(&mut de)
            .and_then(|v| de.end().map(|()| v))
            .map_err(|e| json_failure(&e))?;
        let rows = values.len() / d.max(1);
        let mut data =
            Dataset::new(values, rows, d, "request body").map_err(|e| Failure::new(400, e.to_string()))?;
        data.nan_is_missing = fills;
        data
    } else {
        let opts = LoadOptions { columns: model.reading_columns(), csv, ..Default::default() };
        if media == Media::Npy && !body.starts_with(b"\x93NUMPY") {
            return Err(Failure::new(
                400,
                "the body is not an NPY array (it does not start with \\x93NUMPY)",
            ));
        }
        // The library names its setting; here it is the Content-Type's parameter. A
        // Parquet or Arrow body is decoded no further than `max_rows` (its compressed
        // pages may hold far more rows than its bytes).
        let data =
            open::load_reader_at_most(body, Path::new("request body"), &opts, max_rows).map_err(|e| {
                Failure::new(
                    400,
                    e.to_string()
                        .replace("decimal = comma", "Content-Type text/csv; decimal=comma")
                        .replace("thousands = ", "Content-Type text/csv; thousands="),
                )
            })?;
        if data.rows() > max_rows {
            return Err(match columnar {
                true => Failure::new(
                    413,
                    format!("the request holds more than {max_rows} rows; this server takes at most {max_rows} per request (--max-rows)"),
                ),
                false => too_many(data.rows(), max_rows),
            });
        }
        data
    };
    if data.rows() == 0 {
        return Err(Failure::new(400, "the request holds no rows"));
    }
    model.check_data(&data).map_err(|e| Failure::new(400, e.to_string()))?;
    data.first_row = 0;
    Ok(data)
}

/// The characters of a request's text an error message repeats: a value or a key of a
/// body may be as long as the body, and an error answer is held unbounded by the
/// requests' limit (a client that never reads it holds it until `--timeout`).
const SHOWN_CHARS: usize = 40;

/// `text` as an error message repeats it: its first [`SHOWN_CHARS`] characters, with
/// how many more there are.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(SHOWN_CHARS) {
        None => text.into(),
        Some((i, _)) => format!("{}… ({} bytes in all)", &text[..i], text.len()).into(),
    }
}

fn too_many(rows: usize, max_rows: usize) -> Failure {
    Failure::new(
        413,
        format!(
            "the request holds {rows} rows; this server takes at most {max_rows} per request (--max-rows)"
        ),
    )
}

fn json_failure(e: &serde_json::Error) -> Failure {
    let msg = e.to_string();
    if msg.starts_with("too many rows") {
        return Failure::new(413, msg.split(" at line").next().unwrap_or(&msg).to_string());
    }
    Failure::new(400, format!("malformed JSON body: {msg}"))
}

/// f32::MAX plus half an ulp (2^128 − 2^103): a number at or past it rounds to infinity.
pub const F32_EDGE: f64 = 340282356779733661637539395458142568448.0;

/// The JSON body `{"rows": [[x, …], …]}` read into one flat vector, each row checked
/// against the model's width as it arrives; `null` is a missing value (NaN) when the
/// model fills missing values.
struct RowsSeed {
    width: usize,
    max_rows: usize,
    fills: bool,
}

impl<'de> DeserializeSeed<'de> for RowsSeed {
    type Value = Vec<f32>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<f32>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed {
    type Value = Vec<f32>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object {\"rows\": [[numbers], ...]}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<f32>, A::Error> {
        let mut out = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key != "rows" {
                return Err(de::Error::custom(format!(
                    "unknown field {:?}; the body is {{\"rows\": [[...]]}}",
                    shown(&key)
                )));
            }
            if out.is_some() {
                return Err(de::Error::custom("the field \"rows\" is given twice"));
            }
            out = Some(map.next_value_seed(Table(&self))?);
        }
        out.ok_or_else(|| de::Error::custom("no field \"rows\"; the body is {\"rows\": [[...]]}"))
    }
}

struct Table<'a>(&'a RowsSeed);

impl<'de> DeserializeSeed<'de> for Table<'_> {
    type Value = Vec<f32>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<f32>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Table<'_> {
    type Value = Vec<f32>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<f32>, A::Error> {
        let mut out = Vec::new();
        let mut row = 0usize;
        loop {
            if row == self.0.max_rows {
                // One more row is one too many.
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(format!(
                        "too many rows: this server takes at most {} per request (--max-rows)",
                        self.0.max_rows
                    )));
                }
                break;
            }
            if seq.next_element_seed(Row { spec: self.0, row, out: &mut out })?.is_none() {
                break;
            }
            row += 1;
        }
        Ok(out)
    }
}

struct Row<'a> {
    spec: &'a RowsSeed,
    row: usize,
    out: &'a mut Vec<f32>,
}

impl<'de> DeserializeSeed<'de> for Row<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Row<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {} as an array of {} numbers", self.row, self.spec.width)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let w = self.spec.width;
        let mut n = 0usize;
        // Each value's text is parsed to f32 directly, as the CSV reader parses a field:
        // through f64 first, a few values would round twice and differ in the last bit.
        while let Some(v) = seq.next_element::<Option<&serde_json::value::RawValue>>()? {
            if n == w {
                return Err(de::Error::custom(format!(
                    "row {} has more than {w} values; the model takes {w}",
                    self.row
                )));
            }
            let x = match v {
                Some(raw) => {
                    let text = raw.get();
                    let f: f32 = text.parse().map_err(|_| {
                        de::Error::custom(format!("row {}, column {n}: {} is not a number", self.row, shown(text)))
                    })?;
                    // The edge as the OpenAPI document states it, in f64: a text whose
                    // f64 value reaches f32::MAX + half an ulp is refused even where its
                    // exact decimal would still round to f32::MAX.
                    let wide: f64 = text.parse().unwrap_or(f64::INFINITY);
                    if !f.is_finite() || wide.abs() >= F32_EDGE {
                        return Err(de::Error::custom(format!(
                            "row {}, column {n}: {} is outside the range of a 32-bit float",
                            self.row,
                            shown(text)
                        )));
                    }
                    f
                }
                None if self.spec.fills => f32::NAN,
                None => {
                    return Err(de::Error::custom(format!(
                        "row {}, column {n} is null (missing); this model takes no missing values (train it with --missing mean)",
                        self.row
                    )))
                }
            };
            self.out.push(x);
            n += 1;
        }
        if n != w {
            return Err(de::Error::custom(format!("row {} has {n} values; the model takes {w}", self.row)));
        }
        Ok(())
    }
}

/// What an operation gives back for a request's rows.
#[derive(Debug, Clone)]
pub enum Output {
    Scores { kind: String, scores: Vec<f64>, flags: Option<Vec<u8>>, threshold: Option<f64> },
    Codes { values: Vec<f32>, width: usize },
    Reconstructions { values: Vec<f32>, width: usize },
}

/// The most bytes one value of a response in `media` takes, with its separator: in NPY
/// 4 (8 for a score, an f64); in JSON 25, the longest number an f32 widened to f64 or an
/// f64 is written as (a sign, 17 digits, a point, an exponent such as `e-308`); in CSV 49
/// for an f32, which Rust writes without an exponent (`-0.000…1` for 1e-45). A score
/// (a row's value) takes 27 as text: at most 24 characters (see [`score_text`]) and its
/// outlier flag.
pub fn most_bytes_per_value(media: Media, scores: bool) -> usize {
    match (media, scores) {
        (Media::Npy, false) => 4,
        (Media::Npy, true) => 8,
        (_, true) => 27,
        (Media::Json, false) => 25,
        (Media::Csv, false) => 49,
    }
}

/// A score as CSV text: as Rust writes an f64 (`0.25`), or with an exponent (`1.5e-300`)
/// outside [10⁻⁶, 10¹⁶), where Rust's form would run to hundreds of digits: at most 24
/// characters either way.
pub fn score_text(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 || !a.is_finite() || (1e-6..1e16).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// Rows of f32 values, `width` a row, as JSON arrays of numbers: each written as its f64
/// (NaN and ±∞ as `null`), the bytes `serde_json::json!` gives for them, without its tree
/// of values (some 48 bytes a value, twice what the text takes).
struct JsonRows<'a>(&'a [f32], usize);

impl serde::Serialize for JsonRows<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        struct Row<'a>(&'a [f32]);
        impl serde::Serialize for Row<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.iter().map(|&v| f64::from(v)))
            }
        }
        let mut seq = s.serialize_seq(Some(self.0.len() / self.1.max(1)))?;
        for row in self.0.chunks(self.1.max(1)) {
            seq.serialize_element(&Row(row))?;
        }
        seq.end()
    }
}

/// The answer's body in `media`.
pub fn render(out: &Output, media: Media) -> Vec<u8> {
    match (out, media) {
        (Output::Scores { kind, scores, flags, threshold }, Media::Json) => {
            let mut v = serde_json::json!({ "score": kind, "scores": scores });
            if let (Some(t), Some(f)) = (threshold, flags) {
                v["threshold"] = serde_json::json!(t);
                v["outliers"] = serde_json::json!(f);
            }
            serde_json::to_vec(&v).expect("JSON of numbers")
        }
        (Output::Scores { scores, flags, .. }, Media::Csv) => {
            let mut s = String::from(if flags.is_some() { "score,outlier\n" } else { "score\n" });
            for (i, x) in scores.iter().enumerate() {
                let x = score_text(*x);
                match flags {
                    Some(f) => s.push_str(&format!("{x},{}\n", f[i])),
                    None => s.push_str(&format!("{x}\n")),
                }
            }
            s.into_bytes()
        }
        (Output::Scores { scores, .. }, Media::Npy) => npy::f64_vector_bytes(scores),
        (Output::Codes { values, width } | Output::Reconstructions { values, width }, media) => {
            let key = if matches!(out, Output::Codes { .. }) { "codes" } else { "reconstructions" };
            let rows = values.len() / (*width).max(1);
            match media {
                Media::Json => {
                    let mut bytes = Vec::with_capacity(values.len() * 20 + 16);
                    let mut ser = serde_json::Serializer::new(&mut bytes);
                    use serde::ser::{SerializeMap, Serializer};
                    let mut m = (&mut ser).serialize_map(Some(1)).expect("writing to memory");
                    m.serialize_entry(key, &JsonRows(values, *width)).expect("JSON of numbers");
                    m.end().expect("writing to memory");
                    bytes
                }
                Media::Csv => {
                    let prefix = if key == "codes" { "z" } else { "x" };
                    let mut s = (1..=*width).map(|i| format!("{prefix}{i}")).collect::<Vec<_>>().join(",");
                    s.push('\n');
                    for r in values.chunks(*width) {
                        let line: Vec<String> = r.iter().map(|v| v.to_string()).collect();
                        s.push_str(&line.join(","));
                        s.push('\n');
                    }
                    s.into_bytes()
                }
                Media::Npy => npy::to_bytes(values, rows, *width),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long value or key is repeated cut to its first characters, so that an error
    /// answer stays small whatever the body.
    #[test]
    fn a_long_text_is_repeated_cut() {
        let long = "x".repeat(10_000);
        let e = read(&format!("{{\"rows\": [[1, \"{long}\"]]}}"), 2, 10, false).unwrap_err();
        assert!(e.len() < 200 && e.contains("(10002 bytes in all) is not a number"), "{e}");
        let e = read(&format!("{{\"{}\": 1}}", "k".repeat(5000)), 2, 10, false).unwrap_err();
        assert!(e.len() < 200 && e.contains("(5000 bytes in all)"), "{e}");
        assert_eq!(shown("short"), "short");
        let cut = Failure::new(400, "é".repeat(2000)).message;
        assert!(cut.len() <= super::super::MAX_MESSAGE + 12 && cut.ends_with("… (cut)"), "{}", cut.len());
    }

    fn read(text: &str, width: usize, max_rows: usize, fills: bool) -> Result<Vec<f32>, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        RowsSeed { width, max_rows, fills }.deserialize(&mut de).map_err(|e| e.to_string())
    }

    /// Codes and reconstructions in JSON are the bytes `serde_json::json!` made of them
    /// (every f32 widened to f64, NaN and ±∞ as null), and no longer than
    /// `most_bytes_per_value` allows.
    #[test]
    fn json_rows_are_written_as_the_value_tree_wrote_them() {
        let odd = [0.1f32, -0.0, 1e-45, -1.175_494_4e-38, f32::MAX, f32::NAN, f32::INFINITY, 1.0, -3.25e7];
        let mut values: Vec<f32> = odd.to_vec();
        let mut state = 7u32;
        values.extend((0..291).map(|_| {
            state = state.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
            f32::from_bits(state >> 1 | (state & 1) << 31)
        }));
        for width in [1, 3, 300] {
            for codes in [true, false] {
                let (out, key) = if codes {
                    (Output::Codes { values: values.clone(), width }, "codes")
                } else {
                    (Output::Reconstructions { values: values.clone(), width }, "reconstructions")
                };
                let nested: Vec<&[f32]> = values.chunks(width).collect();
                let want = serde_json::to_vec(&serde_json::json!({ key: nested })).unwrap();
                let got = render(&out, Media::Json);
                assert_eq!(
                    String::from_utf8(got).unwrap(),
                    String::from_utf8(want).unwrap(),
                    "width {width}"
                );
            }
        }
        let longest =
            values.iter().map(|&v| serde_json::to_string(&f64::from(v)).unwrap().len() + 1).max().unwrap();
        assert!(longest <= most_bytes_per_value(Media::Json, false), "{longest}");
        let longest = values.iter().map(|v| v.to_string().len() + 1).max().unwrap();
        assert!(longest <= most_bytes_per_value(Media::Csv, false), "{longest}");
        let scores = [
            f64::MIN_POSITIVE,
            -f64::MAX,
            -1.234_567_890_123_456_7e-300,
            -f64::from_bits(1e16f64.to_bits() - 1),
            1.234_567_890_123_456_7e-6,
        ];
        for x in scores {
            let text = score_text(x);
            assert_eq!(text.parse::<f64>().unwrap(), x);
            assert!(text.len() + ",1\n".len() <= most_bytes_per_value(Media::Csv, true), "{text}");
            let json = serde_json::to_string(&x).unwrap();
            assert!(json.len() + ",1,".len() <= most_bytes_per_value(Media::Json, true), "{json}");
        }
        assert_eq!(score_text(0.25), "0.25");
    }

    #[test]
    fn json_rows_are_read_flat_and_checked_as_they_arrive() {
        assert_eq!(read(r#"{"rows": [[1, 2], [3.5, -4]]}"#, 2, 10, false).unwrap(), [1.0, 2.0, 3.5, -4.0]);
        let e = read(r#"{"rows": [[1, 2], [3]]}"#, 2, 10, false).unwrap_err();
        assert!(e.contains("row 1 has 1 values; the model takes 2"), "{e}");
        let e = read(r#"{"rows": [[1, 2, 3]]}"#, 2, 10, false).unwrap_err();
        assert!(e.contains("row 0 has more than 2 values"), "{e}");
        let e = read(r#"{"rows": [[1, null]]}"#, 2, 10, false).unwrap_err();
        assert!(e.contains("row 0, column 1 is null") && e.contains("--missing mean"), "{e}");
        assert!(read(r#"{"rows": [[1, null]]}"#, 2, 10, true).unwrap()[1].is_nan());
        let e = read(r#"{"rows": [[1], [2], [3]]}"#, 1, 2, false).unwrap_err();
        assert!(e.starts_with("too many rows"), "{e}");
        assert_eq!(read(r#"{"rows": [[1], [2]]}"#, 1, 2, false).unwrap(), [1.0, 2.0]);
        let e = read(r#"{"rows": [[1e39]]}"#, 1, 2, false).unwrap_err();
        assert!(e.contains("outside the range"), "{e}");
        let e = read(r#"{"rows": [["1"]]}"#, 1, 2, false).unwrap_err();
        assert!(e.contains("row 0, column 0: \"1\" is not a number"), "{e}");
        let e = read(r#"{"data": []}"#, 1, 2, false).unwrap_err();
        assert!(e.contains("unknown field \"data\""), "{e}");
        let e = read(r#"{}"#, 1, 2, false).unwrap_err();
        assert!(e.contains("no field \"rows\""), "{e}");
    }

    #[test]
    fn media_types_are_parsed_and_an_unknown_one_is_refused() {
        assert_eq!(Media::of_request(Some("application/json; charset=utf-8")).unwrap(), (Media::Json, false));
        assert_eq!(Media::of_request(Some("text/CSV")).unwrap(), (Media::Csv, false));
        assert_eq!(Media::of_request(None).unwrap(), (Media::Json, false));
        assert_eq!(Media::of_request(Some("application/vnd.apache.parquet")).unwrap(), (Media::Json, true));
        assert_eq!(Media::of_request(Some("image/png")).unwrap_err().status, 415);
    }

    /// A CSV body's Content-Type parameters say how it is read: a semicolon file of
    /// decimal commas, a headerless TSV, a quoted delimiter holding a `;`, thousands
    /// separators; a bad value is a 400 naming the parameter, and a decimal comma or a
    /// thousands separator sent without saying so is refused with the parameter that
    /// reads it.
    #[test]
    fn csv_bodies_are_read_as_their_content_type_says() {
        let model = Autoencoder::new(
            autoencoder::ModelConfig { input_dim: 2, layers: vec![1], ..Default::default() },
            0,
        )
        .unwrap();
        let read = |body: &str, ct: &str| {
            let opts = csv_options(Some(ct))?;
            rows(body.as_bytes(), Media::Csv, false, opts, &model, 10).map(|d| d.as_slice().to_vec())
        };
        let want = vec![1.5f32, 2.0, -3.25, 4.0];
        assert_eq!(read("a;b\n1,5;2\n-3,25;4\n", "text/csv; decimal=comma").unwrap(), want);
        assert_eq!(
            read("a;b\n1,5;2\n-3,25;4\n", "text/csv; charset=utf-8; decimal=\"comma\"; delimiter=semicolon")
                .unwrap(),
            want
        );
        assert_eq!(read("1.5\t2\n-3.25\t4\n", "text/csv; header=absent; delimiter=tab").unwrap(), want);
        assert_eq!(read("a;b\n1.5;2\n-3.25;4\n", "text/csv; delimiter=\";\"").unwrap(), want);
        let want = vec![1234.5f32, 2.0, -3.25, 4000.0];
        assert_eq!(read("a,b\n\"1,234.5\",2\n-3.25,\"4,000\"\n", "text/csv; thousands=comma").unwrap(), want);
        assert_eq!(
            read("a;b\n1.234,5;2\n-3,25;4.000\n", "text/csv; decimal=comma; thousands=point").unwrap(),
            want
        );
        let e = read("a,b\n\"1,234.5\",2\n", "text/csv").unwrap_err();
        assert!(
            e.message.contains("(a thousands separator: Content-Type text/csv; thousands=comma reads it)"),
            "{}",
            e.message
        );
        let e = read("a;b\n1,5;2\n", "text/csv").unwrap_err();
        assert!(
            e.message.contains("(a decimal comma: Content-Type text/csv; decimal=comma reads it)"),
            "{}",
            e.message
        );
        for (ct, name) in [
            ("text/csv; decimal=dot-dot", "decimal"),
            ("text/csv; header=sometimes", "header"),
            ("text/csv; delimiter=\"::\"", "delimiter"),
            ("text/csv; delimiter=comma; decimal=comma", "decimal"),
            ("text/csv; thousands=dash", "thousands"),
            ("text/csv; thousands=point", "thousands"),
        ] {
            let e = csv_options(Some(ct)).unwrap_err();
            assert!(
                e.status == 400 && e.message.starts_with(&format!("Content-Type parameter {name}:")),
                "{ct}: {}",
                e.message
            );
        }
    }
}
