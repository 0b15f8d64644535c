//! Columnar files (feature `parquet`): Parquet and Arrow IPC (Feather v2) tables read
//! into rows, and tables of per-row results written as Parquet.
//!
//! Every column but the label column is a feature and must hold numbers: integers
//! (8 to 64 bits, signed or not), floats (16, 32 or 64 bits), decimals (32 to 256 bits,
//! as databases and Spark write money and measurements) or booleans (0 and 1). Each
//! value becomes the nearest `f32`, as the CSV reader turns the same number's text into
//! one (so a table and its CSV give the same rows, bit for bit, for `f32` columns, for
//! integers and for decimals). A finite value too large for `f32`, a null, or a column of
//! another type is an error that names the row and the column. The label column holds
//! whole numbers.
//!
//! Reading goes one record batch (a Parquet row group's slice, an IPC batch) at a time:
//! memory is the rows kept plus one batch. From a stream (standard input or a pipe),
//! Arrow's stream layout is read the same way; a Parquet file and Arrow's file layout
//! need their footer, so their bytes are held in memory first.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Decimal256Type, Decimal32Type, Decimal64Type, Float16Type, Float32Type, Float64Type,
    Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, UInt8Array};
use arrow_schema::{DataType, Field, Schema};

use super::columns::{one_hot, Categorical, ColumnPlan, Columns, LabelTexts, Missing};
use super::dataset::{Dataset, RowIds, MAX_WIDTH};
use crate::atomic::write_atomic_try;
use crate::error::{Error, Result};

/// Rows a record batch holds when this module reads Parquet.
const BATCH_ROWS: usize = 8192;

/// The first bytes of a Parquet file.
pub const PARQUET_MAGIC: &[u8] = b"PAR1";
/// The first bytes of an Arrow IPC file (Feather v2).
pub const ARROW_FILE_MAGIC: &[u8] = b"ARROW1";
/// The first bytes of an Arrow IPC stream: a message's continuation marker.
pub const ARROW_STREAM_MAGIC: &[u8] = &[0xff, 0xff, 0xff, 0xff];

fn format_error(path: &Path, e: impl std::fmt::Display) -> Error {
    // Arrow's and Parquet's messages may span lines; ours are one.
    Error::format(path, e.to_string().replace('\n', " "))
}

/// Whether `t` is an integer type (an id column's numbers).
fn is_integer(t: &DataType) -> bool {
    use DataType::*;
    matches!(t, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64)
}

/// The type of the values a column of type `t` holds: a dictionary-encoded column's
/// (pandas' `category` columns, as pyarrow writes them) is its dictionary's.
fn plain(t: &DataType) -> &DataType {
    match t {
        DataType::Dictionary(_, values) => values,
        t => t,
    }
}

/// `batch` with its dictionary-encoded columns decoded into plain ones (each key
/// replaced by its value; a null key stays null), so that a column reads the same
/// whichever way it was stored. A batch without them is returned as it is.
fn without_dictionaries(batch: &RecordBatch, path: &Path) -> Result<RecordBatch> {
    if !batch.columns().iter().any(|c| c.as_any_dictionary_opt().is_some()) {
        return Ok(batch.clone());
    }
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.as_any_dictionary_opt() {
            Some(d) => arrow_select::take::take(d.values().as_ref(), d.keys(), None),
            None => Ok(c.clone()),
        })
        .collect::<std::result::Result<Vec<ArrayRef>, _>>()
        .map_err(|e| format_error(path, e))?;
    let before = batch.schema();
    let fields = before.fields().iter().zip(&columns);
    let fields = fields.map(|(f, c)| Arc::new(f.as_ref().clone().with_data_type(c.data_type().clone())));
    let schema = Arc::new(Schema::new_with_metadata(fields.collect::<Vec<_>>(), before.metadata().clone()));
    RecordBatch::try_new(schema, columns).map_err(|e| format_error(path, e))
}

/// Whether a column of type `t` holds text.
fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// Row `i` of a text column, `None` when null.
fn text_at(col: &ArrayRef, i: usize) -> Option<&str> {
    if col.is_null(i) {
        return None;
    }
    Some(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(i),
        DataType::LargeUtf8 => col.as_string::<i64>().value(i),
        _ => col.as_string_view().value(i),
    })
}

/// Whether `t` is a type whose values this module turns into `f32` features.
fn is_numeric(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Decimal32(..)
            | Decimal64(..)
            | Decimal128(..)
            | Decimal256(..)
    )
}

/// Row `i` of a decimal column as text (`12.34`), `None` for another type. Parsed, it
/// is the nearest float to the exact value, as the same text in a CSV file gives.
fn decimal_text(col: &ArrayRef, i: usize) -> Option<String> {
    Some(match col.data_type() {
        DataType::Decimal32(..) => col.as_primitive::<Decimal32Type>().value_as_string(i),
        DataType::Decimal64(..) => col.as_primitive::<Decimal64Type>().value_as_string(i),
        DataType::Decimal128(..) => col.as_primitive::<Decimal128Type>().value_as_string(i),
        DataType::Decimal256(..) => col.as_primitive::<Decimal256Type>().value_as_string(i),
        _ => return None,
    })
}

/// The rows read so far, and which columns they come from.
struct Rows<'a> {
    path: &'a Path,
    plan: ColumnPlan,
    names: Vec<String>,
    data: Vec<f32>,
    labels: Vec<i64>,
    /// The labels of a text label column.
    text_labels: LabelTexts,
    /// Each categorical column's texts, and the encodings to follow (a model's).
    categories: Vec<LabelTexts>,
    fixed: Vec<Categorical>,
    ids: Option<RowIds>,
    rows: usize,
    /// Rows of the file before the first read (a chunk's), for messages.
    rows_before: usize,
    missing: Missing,
}

impl<'a> Rows<'a> {
    /// Checks the schema once against `columns`: the chosen columns exist, every
    /// feature is numeric, the label holds numbers, the id numbers or text.
    fn new(path: &'a Path, schema: &Schema, columns: &Columns) -> Result<Self> {
        let fields = schema.fields();
        let header: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
        let plan = columns.plan(Some(&header), fields.len(), path)?;
        for &i in &plan.features {
            let f = &fields[i];
            let t = plain(f.data_type());
            if !is_numeric(t) {
                // The settings as both fronts spell them.
                let (held, encode) = if is_text(t) {
                    (format!("text ({t})"), "one-hot encode it, ")
                } else {
                    (t.to_string(), "")
                };
                return Err(Error::format(
                    path,
                    format!(
                        "column {} ({:?}) holds {held}, not numbers; every feature column must be numeric: {encode}leave it out or choose the features (ae: --categorical, --ignore-columns, --columns; Python: categorical=, ignore_columns=, columns=)",
                        i + 1,
                        f.name(),
                    ),
                ));
            }
        }
        for &c in &plan.categorical {
            let t = plain(fields[c].data_type());
            // A column of nulls alone (a batch whose values are all missing, typed by
            // a writer that saw none) holds no category.
            if !(is_text(t) || is_integer(t) || *t == DataType::Null) {
                return Err(Error::format(
                    path,
                    format!(
                        "categorical column {:?} holds {t}; a categorical column holds text or integers",
                        fields[c].name()
                    ),
                ));
            }
        }
        if let Some(l) = plan.label {
            let t = plain(fields[l].data_type());
            if !(is_numeric(t) && *t != DataType::Boolean || is_text(t)) {
                return Err(Error::format(
                    path,
                    format!("label column {:?} holds {t}, not whole numbers or text", fields[l].name()),
                ));
            }
        }
        let ids = match plan.id.map(|i| plain(fields[i].data_type())) {
            None => None,
            Some(t) if is_integer(t) => Some(RowIds::Int(Vec::new())),
            Some(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => Some(RowIds::Text(Vec::new())),
            Some(t) => {
                return Err(Error::format(
                    path,
                    format!(
                        "id column {:?} holds {t}; an id column holds integers or text",
                        fields[plan.id.unwrap_or_default()].name()
                    ),
                ))
            }
        };
        if plan.features.len() > MAX_WIDTH {
            return Err(Error::format(
                path,
                format!("{} feature columns; a row may have at most {MAX_WIDTH} values", plan.features.len()),
            ));
        }
        let names = plan.feature_names.clone().unwrap_or_default();
        let categories = plan.categorical.iter().map(|_| LabelTexts::default()).collect();
        Ok(Rows {
            path,
            plan,
            names,
            data: Vec::new(),
            labels: Vec::new(),
            text_labels: LabelTexts::default(),
            categories,
            fixed: columns.categories.clone(),
            ids,
            rows: 0,
            rows_before: 0,
            missing: columns.missing,
        })
    }

    /// Appends a batch's rows.
    fn push(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let d = self.plan.features.len();
        let schema = batch.schema();
        if schema.fields().len() != self.plan.roles.len() {
            return Err(Error::format(self.path, "a record batch's columns differ from the table's schema"));
        }
        let before = self.rows_before + self.rows;
        let base = self.data.len();
        super::buffer::reserve(&mut self.data, n * d);
        self.data.resize(base + n * d, 0.0);
        for (j, &c) in self.plan.features.iter().enumerate() {
            let col = batch.column(c);
            let nulls = col.null_count() > 0;
            if nulls && self.missing == Missing::Error {
                let i = (0..n).find(|&i| col.is_null(i)).unwrap_or_default();
                return Err(Error::format(
                    self.path,
                    format!(
                        "{}: a missing value (null); every feature needs a number (missing = drop or missing = mean handles it)",
                        place(before, i, c, &schema)
                    ),
                ));
            }
            let out = &mut self.data[base..];
            let mut put = |i: usize, v: f32| out[i * d + j] = v;
            macro_rules! ints {
                ($t:ty) => {
                    col.as_primitive::<$t>().values().iter().enumerate().for_each(|(i, &v)| put(i, v as f32))
                };
            }
            match col.data_type() {
                DataType::Float32 => col
                    .as_primitive::<Float32Type>()
                    .values()
                    .iter()
                    .enumerate()
                    .for_each(|(i, &v)| put(i, v)),
                DataType::Float64 => {
                    for (i, &v) in col.as_primitive::<Float64Type>().values().iter().enumerate() {
                        let x = v as f32;
                        if x.is_infinite() && v.is_finite() {
                            return Err(Error::format(
                                self.path,
                                format!(
                                    "{}: {v} is too large for a 32-bit float",
                                    place(before, i, c, &schema)
                                ),
                            ));
                        }
                        put(i, x);
                    }
                }
                DataType::Float16 => col
                    .as_primitive::<Float16Type>()
                    .values()
                    .iter()
                    .enumerate()
                    .for_each(|(i, v)| put(i, v.to_f32())),
                DataType::Boolean => {
                    let b = col.as_boolean();
                    (0..n).for_each(|i| put(i, f32::from(u8::from(b.value(i)))))
                }
                // `as` rounds to the nearest f32, ties to even, as parsing the text does.
                DataType::Int8 => ints!(Int8Type),
                DataType::Int16 => ints!(Int16Type),
                DataType::Int32 => ints!(Int32Type),
                DataType::Int64 => ints!(Int64Type),
                DataType::UInt8 => ints!(UInt8Type),
                DataType::UInt16 => ints!(UInt16Type),
                DataType::UInt32 => ints!(UInt32Type),
                DataType::UInt64 => ints!(UInt64Type),
                // Through the value's text, which `parse` rounds once to the nearest f32
                // (a float64 between would round twice). A null's slot is skipped.
                DataType::Decimal32(..)
                | DataType::Decimal64(..)
                | DataType::Decimal128(..)
                | DataType::Decimal256(..) => {
                    for i in (0..n).filter(|&i| !col.is_null(i)) {
                        let text = decimal_text(col, i).unwrap_or_default();
                        match text.parse::<f32>() {
                            Ok(x) if x.is_finite() => put(i, x),
                            _ => {
                                return Err(Error::format(
                                    self.path,
                                    format!(
                                        "{}: {text} is too large for a 32-bit float",
                                        place(before, i, c, &schema)
                                    ),
                                ))
                            }
                        }
                    }
                }
                t => {
                    return Err(Error::format(self.path, format!("column {} holds {t}, not numbers", c + 1)))
                }
            }
            if nulls {
                (0..n).filter(|&i| col.is_null(i)).for_each(|i| out[i * d + j] = f32::NAN);
            }
        }
        if let (Some(c), Some(ids)) = (self.plan.id, self.ids.as_mut()) {
            let col = batch.column(c);
            if let Some(i) = (0..n).find(|&i| col.is_null(i)) {
                return Err(Error::format(
                    self.path,
                    format!("{}: a missing id (null)", place(before, i, c, &schema)),
                ));
            }
            match ids {
                RowIds::Int(v) => {
                    for i in 0..n {
                        v.push(label_value(col, i).ok_or_else(|| {
                            Error::format(
                                self.path,
                                format!(
                                    "{}: the id does not fit a 64-bit integer",
                                    place(before, i, c, &schema)
                                ),
                            )
                        })?);
                    }
                }
                RowIds::Text(v) => match col.data_type() {
                    DataType::Utf8 => {
                        v.extend(col.as_string::<i32>().iter().map(|t| t.unwrap_or_default().to_string()))
                    }
                    DataType::LargeUtf8 => {
                        v.extend(col.as_string::<i64>().iter().map(|t| t.unwrap_or_default().to_string()))
                    }
                    _ => v.extend(col.as_string_view().iter().map(|t| t.unwrap_or_default().to_string())),
                },
            }
        }
        if let Some(c) = self.plan.label.filter(|&c| is_text(batch.column(c).data_type())) {
            let col = batch.column(c);
            for i in 0..n {
                match text_at(col, i).filter(|t| !t.trim().is_empty()) {
                    Some(t) => self.text_labels.push(t.trim()),
                    None => {
                        return Err(Error::format(
                            self.path,
                            format!("{}: a missing label (null or empty)", place(before, i, c, &schema)),
                        ))
                    }
                }
            }
        } else if let Some(c) = self.plan.label {
            let col = batch.column(c);
            for i in 0..n {
                let label = if col.is_null(i) { None } else { label_value(col, i) };
                let label = label.ok_or_else(|| {
                    Error::format(
                        self.path,
                        format!("{}: the label is not a whole number", place(before, i, c, &schema)),
                    )
                })?;
                self.labels.push(label);
            }
        }
        for (k, &c) in self.plan.categorical.iter().enumerate() {
            let col = batch.column(c);
            for i in 0..n {
                let text = if is_text(col.data_type()) {
                    text_at(col, i).map(|t| t.trim().to_string())
                } else if col.is_null(i) || *plain(col.data_type()) == DataType::Null {
                    None
                } else {
                    label_value(col, i).map(|v| v.to_string())
                };
                self.categories[k].push(text.as_deref().unwrap_or(""));
            }
        }
        self.rows += n;
        Ok(())
    }

    fn finish(self, source: String) -> Result<Dataset> {
        if self.rows == 0 {
            return Err(Error::format(self.path, "the table has no rows"));
        }
        let mut d = if self.plan.categorical.is_empty() {
            let mut d = Dataset::new(self.data, self.rows, self.plan.features.len(), source)?;
            d.feature_names = Some(self.names);
            d
        } else {
            one_hot(&self.data, self.rows, &self.plan, self.categories, &self.fixed, self.path, source)?
        };
        if self.plan.label.is_some() {
            if self.text_labels.is_empty() {
                d = d.with_labels(self.labels)?;
            } else {
                let (labels, names) = self.text_labels.finish(|t| t.parse().ok());
                d = d.with_labels(labels)?;
                d.label_names = names;
            }
        }
        if let Some(ids) = self.ids {
            d = d.with_ids(ids)?;
        }
        Ok(d)
    }
}

/// "row 8, column 3 ("x")": 1-based, the row counted over the whole table (`before`
/// rows precede the batch).
fn place(before: usize, row: usize, col: usize, schema: &Schema) -> String {
    format!("row {}, column {} ({:?})", before + row + 1, col + 1, schema.field(col).name())
}

/// The label at row `i`: an integer that fits `i64`, or a float with no fractional part.
fn label_value(col: &ArrayRef, i: usize) -> Option<i64> {
    let whole =
        |v: f64| (v.fract() == 0.0 && v >= i64::MIN as f64 && v < i64::MAX as f64).then_some(v as i64);
    Some(match col.data_type() {
        DataType::Int8 => col.as_primitive::<Int8Type>().value(i).into(),
        DataType::Int16 => col.as_primitive::<Int16Type>().value(i).into(),
        DataType::Int32 => col.as_primitive::<Int32Type>().value(i).into(),
        DataType::Int64 => col.as_primitive::<Int64Type>().value(i),
        DataType::UInt8 => col.as_primitive::<UInt8Type>().value(i).into(),
        DataType::UInt16 => col.as_primitive::<UInt16Type>().value(i).into(),
        DataType::UInt32 => col.as_primitive::<UInt32Type>().value(i).into(),
        DataType::UInt64 => i64::try_from(col.as_primitive::<UInt64Type>().value(i)).ok()?,
        DataType::Float16 => whole(col.as_primitive::<Float16Type>().value(i).to_f64())?,
        DataType::Float32 => whole(col.as_primitive::<Float32Type>().value(i).into())?,
        DataType::Float64 => whole(col.as_primitive::<Float64Type>().value(i))?,
        _ => whole(decimal_text(col, i)?.parse().ok()?)?,
    })
}

/// Reads every batch of `batches` into rows.
fn collect<I>(path: &Path, schema: &Schema, batches: I, columns: &Columns) -> Result<Dataset>
where
    I: Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>,
{
    collect_after(path, schema, batches, columns, 0)
}

/// [`collect`] of a chunk of a file that `before` rows precede (messages count them).
fn collect_after<I>(
    path: &Path,
    schema: &Schema,
    batches: I,
    columns: &Columns,
    before: usize,
) -> Result<Dataset>
where
    I: Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>,
{
    let mut rows = Rows::new(path, schema, columns)?;
    rows.rows_before = before;
    for batch in batches {
        rows.push(&without_dictionaries(&batch.map_err(|e| format_error(path, e))?, path)?)?;
    }
    rows.finish(path.display().to_string())
}

/// `read` of `path`, a panic of the arrow or parquet crates in it turned into an error
/// naming the file. A safety property, not a style: arrow-ipc 60 panics on some
/// malformed files where it should return an error (a buffer sliced past the message
/// body, a negative block length: found by the `parquet` fuzz target), and a reader
/// must never end the program. Nothing a read that panicked made is kept.
fn guarded<T>(path: &Path, read: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(result) => result,
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let why: String = why.lines().next().unwrap_or_default().chars().take(160).collect();
            Err(Error::format(
                path,
                format!("not a readable Parquet or Arrow file: its reader failed ({why})"),
            ))
        }
    }
}

/// The rows of a Parquet file, its columns chosen by `columns`.
pub fn load_parquet(path: &Path, columns: &Columns) -> Result<Dataset> {
    guarded(path, || read_parquet(path, columns))
}

/// A Parquet file as the parquet crate reads it, with two guards its reader of a
/// `File` lacks: a range past the file's end is an error before anything is allocated
/// (a page header may claim 2 GiB), and a read at the end of the file is an error, not
/// zero bytes (the thrift decoder skips a list's claimed elements one read at a time,
/// past the end: 100 s for a 2 KB file). Found by the `parquet` fuzz target.
struct GuardedFile {
    file: File,
    len: u64,
}

/// A reader for which the end of its data is an error (`UnexpectedEof`).
struct EofIsError<R>(R);

impl<R: Read> Read for EofIsError<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf)? {
            0 if !buf.is_empty() => {
                Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "read past the end of the file"))
            }
            n => Ok(n),
        }
    }
}

impl parquet::file::reader::Length for GuardedFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl parquet::file::reader::ChunkReader for GuardedFile {
    type T = EofIsError<std::io::BufReader<File>>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use std::io::Seek;
        let mut file = self.file.try_clone()?;
        file.seek(std::io::SeekFrom::Start(start))?;
        Ok(EofIsError(std::io::BufReader::new(file)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        use std::io::Seek;
        if start.saturating_add(length as u64) > self.len {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "{length} bytes at byte {start} lie past the end of the file ({} bytes)",
                self.len
            )));
        }
        let mut buffer = vec![0u8; length];
        let mut file = self.file.try_clone()?;
        file.seek(std::io::SeekFrom::Start(start))?;
        file.read_exact(&mut buffer)?;
        Ok(buffer.into())
    }
}

fn read_parquet(path: &Path, columns: &Columns) -> Result<Dataset> {
    let builder = parquet_builder(path)?;
    let schema = builder.schema().clone();
    let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(|e| format_error(path, e))?;
    collect(path, &schema, reader, columns)
}

/// The number of rows in each row group of the Parquet file `path`, from its footer.
pub fn parquet_row_groups(path: &Path) -> Result<Vec<usize>> {
    guarded(path, || {
        let builder = parquet_builder(path)?;
        Ok(builder.metadata().row_groups().iter().map(|g| g.num_rows().max(0) as usize).collect())
    })
}

/// The number of values (rows × leaf columns) of the Parquet file `path`, from its
/// footer.
pub fn parquet_values(path: &Path) -> Result<u64> {
    guarded(path, || {
        let builder = parquet_builder(path)?;
        let m = builder.metadata().file_metadata();
        Ok((m.num_rows().max(0) as u64).saturating_mul(m.schema_descr().num_columns() as u64))
    })
}

/// The rows of row group `group` of the Parquet file `path`, its columns chosen by
/// `columns`: [`load_parquet`] of one row group, for a pass over a file larger than
/// memory. `before`: the rows of the groups before it, which messages count.
pub fn load_parquet_row_group(
    path: &Path,
    columns: &Columns,
    group: usize,
    before: usize,
) -> Result<Dataset> {
    guarded(path, || {
        let builder = parquet_builder(path)?;
        let groups = builder.metadata().num_row_groups();
        if group >= groups {
            return Err(Error::format(path, format!("has {groups} row groups, not a group {}", group + 1)));
        }
        let schema = builder.schema().clone();
        let reader = builder
            .with_row_groups(vec![group])
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| format_error(path, e))?;
        collect_after(path, &schema, reader, columns, before)
    })
}

fn parquet_builder(
    path: &Path,
) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder<GuardedFile>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(GuardedFile { file, len })
        .map_err(|e| format_error(path, e))
}

/// Check an Arrow IPC file's footer against the file's size before arrow-ipc reads it:
/// the footer's length (arrow-ipc allocates it before comparing it with the file: a
/// 16-byte file could ask for 2 GB) and every block's offset and lengths (read as they
/// are, a negative one panics and a huge one is allocated) must lie within the file.
/// Leaves `r` at its start.
fn check_ipc_footer<R: Read + std::io::Seek>(r: &mut R, path: &Path) -> Result<()> {
    use std::io::SeekFrom;
    let bad = |what: String| Error::format(path, format!("not a valid Arrow IPC file: {what}"));
    let size = r.seek(SeekFrom::End(0)).map_err(|e| Error::io(path, e))?;
    // ARROW1, 2 bytes of padding, …, the footer, its length (4 bytes), ARROW1.
    if size < 6 + 2 + 4 + 6 {
        return Err(bad(format!("{size} bytes, too short for its header and footer")));
    }
    let mut tail = [0u8; 10];
    r.seek(SeekFrom::End(-10)).map_err(|e| Error::io(path, e))?;
    r.read_exact(&mut tail).map_err(|e| Error::io(path, e))?;
    if &tail[4..] != ARROW_FILE_MAGIC {
        return Err(bad("it does not end with ARROW1 (cut short?)".into()));
    }
    let footer_len = i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    let room = size - 10 - 8;
    if footer_len <= 0 || footer_len as u64 > room {
        return Err(bad(format!("its footer claims {footer_len} bytes; the file has room for {room}")));
    }
    let mut footer = vec![0u8; footer_len as usize];
    r.seek(SeekFrom::End(-10 - i64::from(footer_len))).map_err(|e| Error::io(path, e))?;
    r.read_exact(&mut footer).map_err(|e| Error::io(path, e))?;
    let footer =
        arrow_ipc::root_as_footer(&footer).map_err(|e| bad(format!("its footer does not parse ({e})")))?;
    let end = size - 10 - footer_len as u64;
    let blocks =
        footer.recordBatches().into_iter().flatten().chain(footer.dictionaries().into_iter().flatten());
    for b in blocks {
        let (offset, meta, body) = (b.offset(), i64::from(b.metaDataLength()), b.bodyLength());
        let fits = offset >= 0
            && meta >= 0
            && body >= 0
            && (offset as u64)
                .checked_add(meta as u64)
                .and_then(|v| v.checked_add(body as u64))
                .is_some_and(|v| v <= end);
        if !fits {
            return Err(bad(format!(
                "a block at offset {offset} of {meta} + {body} bytes lies outside its {end} bytes of data"
            )));
        }
        // The block's message: [0xFFFFFFFF] length, flatbuffer (padded), then its body.
        let mut prefix = vec![0u8; meta as usize];
        r.seek(SeekFrom::Start(offset as u64)).map_err(|e| Error::io(path, e))?;
        r.read_exact(&mut prefix).map_err(|e| Error::io(path, e))?;
        let skip = if prefix.starts_with(ARROW_STREAM_MAGIC) { 8 } else { 4 };
        if prefix.len() > skip {
            let body_start = offset as u64 + meta as u64;
            check_ipc_buffers(r, &prefix[skip..], body_start, body as u64, path)?;
        }
    }
    r.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, e))?;
    Ok(())
}

/// The most bytes a compressed Arrow IPC buffer may say it holds uncompressed, for a
/// record batch of `rows` rows: 1 KiB a row (a numeric value takes at most 8 bytes; a
/// text id or note fits), and 16 MiB at least.
fn max_uncompressed(rows: i64) -> i64 {
    rows.max(0).saturating_mul(1024).max(1 << 24)
}

/// Check the buffers of the message `meta` (its flatbuffer), whose body of `body_len`
/// bytes starts at `body_start` in `r`: each lies within the body, and a compressed
/// one's declared uncompressed length (its first 8 bytes), which arrow-ipc allocates
/// before decoding (a 1 TiB claim aborted the program), is at most
/// [`max_uncompressed`] of its batch's rows.
fn check_ipc_buffers<R: Read + std::io::Seek>(
    r: &mut R,
    meta: &[u8],
    body_start: u64,
    body_len: u64,
    path: &Path,
) -> Result<()> {
    use std::io::SeekFrom;
    let bad = |what: String| Error::format(path, format!("not a valid Arrow IPC file: {what}"));
    let message =
        arrow_ipc::root_as_message(meta).map_err(|e| bad(format!("a message does not parse ({e})")))?;
    let batch = message
        .header_as_record_batch()
        .or_else(|| message.header_as_dictionary_batch().and_then(|d| d.data()));
    let Some(batch) = batch else { return Ok(()) };
    let compressed = batch.compression().is_some();
    for b in batch.buffers().into_iter().flatten() {
        let (offset, len) = (b.offset(), b.length());
        if offset < 0 || len < 0 || (offset as u64).saturating_add(len as u64) > body_len {
            return Err(bad(format!(
                "a buffer at offset {offset} of {len} bytes lies outside its message's {body_len}-byte body"
            )));
        }
        if compressed && len >= 8 {
            let mut word = [0u8; 8];
            r.seek(SeekFrom::Start(body_start + offset as u64)).map_err(|e| Error::io(path, e))?;
            r.read_exact(&mut word).map_err(|e| Error::io(path, e))?;
            let declared = i64::from_le_bytes(word);
            let most = max_uncompressed(batch.length());
            if declared != -1 && !(0..=most).contains(&declared) {
                return Err(bad(format!(
                    "a compressed buffer says it holds {declared} bytes uncompressed, for a batch of {} rows (at most {most})",
                    batch.length()
                )));
            }
        }
    }
    Ok(())
}

/// One message of an Arrow IPC stream, as [`ipc_stream_messages`] found it.
#[derive(Debug, Clone, Copy)]
struct IpcMessage {
    /// Its bytes in the stream: `at..at + len`, from its length prefix to its body's end.
    at: u64,
    len: u64,
    /// What it holds: a schema, a record batch, a dictionary batch.
    header: arrow_ipc::MessageHeader,
    /// A record batch's rows (0 for other messages).
    rows: usize,
}

/// Walk an Arrow IPC stream's messages before arrow-ipc reads it: every message's
/// metadata and body (whose claimed lengths arrow-ipc allocates as it reads) must lie
/// within the `r`'s bytes, and the metadata must parse. Leaves `r` at its start.
fn check_ipc_stream<R: Read + std::io::Seek>(r: &mut R, path: &Path) -> Result<()> {
    ipc_stream_messages(r, path).map(drop)
}

/// The messages of the Arrow IPC stream `r`, each checked as [`check_ipc_stream`] says,
/// in order up to the end-of-stream marker: what reading one record batch alone needs
/// (a stream has no index of its batches). Reads each message's metadata and skips its
/// body. Leaves `r` at its start.
fn ipc_stream_messages<R: Read + std::io::Seek>(r: &mut R, path: &Path) -> Result<Vec<IpcMessage>> {
    use std::io::SeekFrom;
    let bad = |what: String| Error::format(path, format!("not a valid Arrow IPC stream: {what}"));
    let size = r.seek(SeekFrom::End(0)).map_err(|e| Error::io(path, e))?;
    r.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, e))?;
    let mut at = 0u64;
    let mut word = [0u8; 4];
    let mut meta = Vec::new();
    let mut messages = Vec::new();
    while at + 4 <= size {
        let start = at;
        r.read_exact(&mut word).map_err(|e| Error::io(path, e))?;
        at += 4;
        let mut len = i32::from_le_bytes(word);
        if word == ARROW_STREAM_MAGIC[..4] {
            // The continuation marker, then the metadata's length.
            if at + 4 > size {
                return Err(bad(format!("cut short at byte {at}")));
            }
            r.read_exact(&mut word).map_err(|e| Error::io(path, e))?;
            at += 4;
            len = i32::from_le_bytes(word);
        }
        if len == 0 {
            break; // the end-of-stream marker
        }
        if len < 0 || len as u64 > size - at {
            return Err(bad(format!(
                "a message at byte {at} claims {len} bytes of metadata; {} are left",
                size - at
            )));
        }
        meta.resize(len as usize, 0);
        r.read_exact(&mut meta).map_err(|e| Error::io(path, e))?;
        at += len as u64;
        let message = arrow_ipc::root_as_message(&meta)
            .map_err(|e| bad(format!("a message at byte {at} does not parse ({e})")))?;
        let body = message.bodyLength();
        if body < 0 || body as u64 > size - at {
            return Err(bad(format!(
                "a message before byte {at} claims a body of {body} bytes; {} are left",
                size - at
            )));
        }
        let rows = match message.header_as_record_batch().map(|b| b.length()) {
            Some(n) if n < 0 => return Err(bad(format!("a record batch before byte {at} claims {n} rows"))),
            Some(n) => usize::try_from(n).map_err(|_| bad(format!("a record batch claims {n} rows")))?,
            None => 0,
        };
        check_ipc_buffers(r, &meta, at, body as u64, path)?;
        at += body as u64;
        messages.push(IpcMessage { at: start, len: at - start, header: message.header_type(), rows });
        r.seek(SeekFrom::Start(at)).map_err(|e| Error::io(path, e))?;
    }
    r.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, e))?;
    Ok(messages)
}

/// The rows of an Arrow IPC file (Feather v2, `ARROW1`) or stream.
pub fn load_arrow(path: &Path, columns: &Columns) -> Result<Dataset> {
    guarded(path, || read_arrow(path, columns))
}

fn read_arrow(path: &Path, columns: &Columns) -> Result<Dataset> {
    use std::io::Seek;
    if let Some(reader) = arrow_file_reader(path)? {
        let schema = reader.schema();
        return collect(path, &schema, reader, columns);
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 6];
    let n = super::open::read_head(&mut file, &mut head, path)?;
    file.rewind().map_err(|e| Error::io(path, e))?;
    if head[..n.min(4)] == ARROW_STREAM_MAGIC[..n.min(4)] && n >= 4 {
        check_ipc_stream(&mut file, path)?;
        let reader = arrow_ipc::reader::StreamReader::try_new(std::io::BufReader::new(file), None)
            .map_err(|e| format_error(path, e))?;
        let schema = reader.schema();
        collect(path, &schema, reader, columns)
    } else {
        read_stream(std::io::BufReader::new(file), path, columns, None)
    }
}

/// Where one record batch of an Arrow IPC file or stream lies, to read it alone
/// ([`load_arrow_batch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrowBatch {
    /// Record batch `i` of the file layout (`ARROW1`), which its footer indexes.
    File(usize),
    /// A record batch message of a stream: bytes `at..at + len` of the file, decoded
    /// after the schema message and the dictionaries that follow it, bytes `0..schema`.
    Stream {
        /// The length of the schema message (it opens the stream) and of the dictionary
        /// batch messages right after it, which every record batch may refer to.
        schema: u64,
        /// Where the batch's message starts.
        at: u64,
        /// Its length, prefix, metadata and body.
        len: u64,
    },
}

/// An Arrow table's record batches, each with its rows, and its shape: a dataset of no
/// rows with the features' names.
pub type ArrowBatches = (Vec<(ArrowBatch, usize)>, Dataset);

/// The record batches of the Arrow IPC file or stream `path`, each with its rows, for a
/// pass that reads one batch at a time, and the columns `columns` chooses of it (a
/// dataset of no rows with the features' names). A file's footer is checked first; a
/// stream's messages are walked once, their metadata read (and every length they claim
/// checked against the file) and their bodies skipped. A stream's dictionary batches
/// that come before its first record batch (as a writer sends a categorical column's
/// categories) are read again with each record batch. `None` where the batches cannot
/// be read alone: a stream with a dictionary batch after a record batch (a replaced or
/// extended dictionary, which builds up message by message), or one without the
/// continuation markers of Arrow 0.15 and later; such a file is read whole.
pub fn arrow_batches(path: &Path, columns: &Columns) -> Result<Option<ArrowBatches>> {
    guarded(path, || {
        let shape = |schema: &Schema| -> Result<Dataset> {
            let rows = Rows::new(path, schema, columns)?;
            let source = path.display().to_string();
            if !rows.plan.categorical.is_empty() {
                // The width of the one-hot blocks of fixed values (of none, for others).
                return one_hot(&[], 0, &rows.plan, rows.categories, &rows.fixed, path, source);
            }
            let mut shape = Dataset::new(Vec::new(), 0, rows.plan.features.len(), source)?;
            shape.feature_names = Some(rows.names);
            Ok(shape)
        };
        if let Some(reader) = arrow_file_reader(path)? {
            let shape = shape(&reader.schema())?;
            let batches = reader.enumerate().map(|(i, b)| {
                b.map(|b| (ArrowBatch::File(i), b.num_rows())).map_err(|e| format_error(path, e))
            });
            return Ok(Some((batches.collect::<Result<Vec<_>>>()?, shape)));
        }
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut head = [0u8; 4];
        let n = super::open::read_head(&mut file, &mut head, path)?;
        if head[..n] != ARROW_STREAM_MAGIC[..] {
            return Ok(None);
        }
        let messages = ipc_stream_messages(&mut file, path)?;
        let Some(first) = messages.first().filter(|m| m.header == arrow_ipc::MessageHeader::Schema) else {
            return Ok(None);
        };
        let is_dictionary = |m: &IpcMessage| m.header == arrow_ipc::MessageHeader::DictionaryBatch;
        let leading = messages[1..].iter().take_while(|m| is_dictionary(m)).count();
        if messages[1 + leading..].iter().any(is_dictionary) {
            return Ok(None);
        }
        // The schema and the dictionaries after it: one run of bytes from the start.
        let head = messages[..=leading].iter().map(|m| m.len).sum::<u64>();
        let first = &IpcMessage { len: head, ..*first };
        let (schema, _) = stream_messages(&mut file, path, first, None)?;
        let batches = messages.iter().filter(|m| m.header == arrow_ipc::MessageHeader::RecordBatch);
        let batches = batches.map(|m| (ArrowBatch::Stream { schema: head, at: m.at, len: m.len }, m.rows));
        Ok(Some((batches.collect(), shape(&schema)?)))
    })
}

/// The schema of an Arrow stream from its `schema` message (with the dictionary
/// batches that follow it, when its length covers them), and the record batch that
/// the message `batch` holds, when given: the two runs of bytes read from `file`,
/// checked again ([`ipc_stream_messages`]: the file may have changed since it was
/// walked) and decoded as a stream of their own.
fn stream_messages(
    file: &mut File,
    path: &Path,
    schema: &IpcMessage,
    batch: Option<(u64, u64)>,
) -> Result<(arrow_schema::SchemaRef, Vec<RecordBatch>)> {
    use std::io::{Seek, SeekFrom};
    let mut bytes = Vec::new();
    for (at, len) in [(schema.at, schema.len)].into_iter().chain(batch) {
        file.seek(SeekFrom::Start(at)).map_err(|e| Error::io(path, e))?;
        let before = bytes.len();
        file.by_ref().take(len).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
        if (bytes.len() - before) as u64 != len {
            return Err(Error::format(path, "changed while it was read: a message was cut short"));
        }
    }
    let mut cursor = std::io::Cursor::new(bytes);
    ipc_stream_messages(&mut cursor, path)?;
    let mut bytes = cursor.into_inner();
    // The end-of-stream marker: the decoder takes a message without a body (the
    // schema's) only when more bytes follow it.
    bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    let mut buffer = arrow_buffer::Buffer::from_vec(bytes);
    let mut decoder = arrow_ipc::reader::StreamDecoder::new();
    let mut batches = Vec::new();
    // Each call decodes up to one record batch; a message after the end marker is an error.
    while !buffer.is_empty() {
        batches.extend(decoder.decode(&mut buffer).map_err(|e| format_error(path, e))?);
    }
    let schema = decoder
        .schema()
        .ok_or_else(|| Error::format(path, "an Arrow stream does not open with its schema"))?;
    Ok((schema, batches))
}

/// The rows of record batch `batch` of the Arrow IPC file or stream `path`, its columns
/// chosen by `columns`: [`load_arrow`] of one batch, for a pass over a file larger than
/// memory. `before`: the rows of the batches before it, which messages count.
pub fn load_arrow_batch(path: &Path, columns: &Columns, batch: ArrowBatch, before: usize) -> Result<Dataset> {
    guarded(path, || match batch {
        ArrowBatch::File(batch) => {
            let Some(mut reader) = arrow_file_reader(path)? else {
                return Err(Error::format(path, "changed while it was read: not an Arrow IPC file now"));
            };
            let batches = reader.num_batches();
            if batch >= batches {
                return Err(Error::format(
                    path,
                    format!("has {batches} record batches, not a batch {}", batch + 1),
                ));
            }
            reader.set_index(batch).map_err(|e| format_error(path, e))?;
            let schema = reader.schema();
            collect_after(path, &schema, reader.take(1), columns, before)
        }
        ArrowBatch::Stream { schema, at, len } => {
            let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
            let first = IpcMessage { at: 0, len: schema, header: arrow_ipc::MessageHeader::Schema, rows: 0 };
            let (schema, batches) = stream_messages(&mut file, path, &first, Some((at, len)))?;
            if batches.len() != 1 {
                return Err(Error::format(
                    path,
                    "changed while it was read: no record batch where there was one",
                ));
            }
            collect_after(path, &schema, batches.into_iter().map(Ok), columns, before)
        }
    })
}

/// A reader of the Arrow IPC file `path`, its footer checked; `None` when it is not
/// the file layout (`ARROW1`).
fn arrow_file_reader(path: &Path) -> Result<Option<arrow_ipc::reader::FileReader<File>>> {
    use std::io::Seek;
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 6];
    let n = super::open::read_head(&mut file, &mut head, path)?;
    file.rewind().map_err(|e| Error::io(path, e))?;
    if !head[..n].starts_with(ARROW_FILE_MAGIC) {
        return Ok(None);
    }
    check_ipc_footer(&mut file, path)?;
    arrow_ipc::reader::FileReader::try_new(file, None).map(Some).map_err(|e| format_error(path, e))
}

/// The rows of a Parquet or Arrow IPC table read once from `r` (standard input, a pipe).
/// Its bytes are held in memory first (as large as the input, beside the rows): a
/// Parquet file and Arrow's file layout (`ARROW1`) keep their schema and row-group index
/// in a footer at the end, and an Arrow stream's messages are checked against the bytes
/// there are before arrow-ipc allocates what they claim.
pub fn load_reader<R: Read>(r: R, path: &Path, columns: &Columns) -> Result<Dataset> {
    load_reader_at_most(r, path, columns, None)
}

/// [`load_reader`] that stops decoding once more than `most` rows are read (the record
/// batch that passes it read whole: Parquet's of 8,192 rows).
pub fn load_reader_at_most<R: Read>(
    r: R,
    path: &Path,
    columns: &Columns,
    most: Option<usize>,
) -> Result<Dataset> {
    guarded(path, || read_stream(r, path, columns, most))
}

fn read_stream<R: Read>(mut r: R, path: &Path, columns: &Columns, most: Option<usize>) -> Result<Dataset> {
    let mut head = [0u8; 4];
    let n = super::open::read_head(&mut r, &mut head, path)?;
    let mut whole = std::io::Cursor::new(head[..n].to_vec()).chain(r);
    let mut bytes = Vec::new();
    whole.read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if head[..n] == ARROW_STREAM_MAGIC[..] {
        let mut bytes = std::io::Cursor::new(bytes);
        check_ipc_stream(&mut bytes, path)?;
        let reader =
            arrow_ipc::reader::StreamReader::try_new(bytes, None).map_err(|e| format_error(path, e))?;
        let schema = reader.schema();
        return collect(path, &schema, at_most(reader, most), columns);
    }
    if bytes.starts_with(PARQUET_MAGIC) {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .map_err(|e| format_error(path, e))?;
        let schema = builder.schema().clone();
        let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(|e| format_error(path, e))?;
        collect(path, &schema, at_most(reader, most), columns)
    } else {
        let mut bytes = std::io::Cursor::new(bytes);
        check_ipc_footer(&mut bytes, path)?;
        let reader =
            arrow_ipc::reader::FileReader::try_new(bytes, None).map_err(|e| format_error(path, e))?;
        let schema = reader.schema();
        collect(path, &schema, at_most(reader, most), columns)
    }
}

/// The record batches of `batches` up to the one that passes `most` rows, if any.
fn at_most<I>(batches: I, most: Option<usize>) -> impl Iterator<Item = I::Item>
where
    I: Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>,
{
    let mut rows = 0usize;
    batches.take_while(move |b| {
        let under = most.is_none_or(|m| rows <= m);
        rows = rows.saturating_add(b.as_ref().map_or(0, |b| b.num_rows()));
        under
    })
}

/// One column of a table to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Column<'a> {
    /// 64-bit integers (row ids).
    Int64(Vec<i64>),
    /// 64-bit floats (scores).
    Float64(&'a [f64]),
    /// 0/1 flags.
    Flags(&'a [u8]),
    /// Row ids: 64-bit integers or text.
    Ids(&'a RowIds),
    /// Column `col` of a row-major `rows × cols` matrix of `f32`.
    Strided {
        /// The matrix, row-major.
        data: &'a [f32],
        /// Its columns.
        cols: usize,
        /// The column taken.
        col: usize,
    },
}

impl Column<'_> {
    fn array(&self) -> (DataType, ArrayRef) {
        match self {
            Column::Int64(v) => (DataType::Int64, Arc::new(Int64Array::from(v.clone()))),
            Column::Float64(v) => (DataType::Float64, Arc::new(Float64Array::from(v.to_vec()))),
            Column::Flags(v) => (DataType::UInt8, Arc::new(UInt8Array::from(v.to_vec()))),
            Column::Ids(RowIds::Int(v)) => (DataType::Int64, Arc::new(Int64Array::from(v.clone()))),
            Column::Ids(RowIds::Text(v)) => {
                (DataType::Utf8, Arc::new(arrow_array::StringArray::from_iter_values(v.iter())))
            }
            Column::Strided { data, cols, col } => (
                DataType::Float32,
                Arc::new(Float32Array::from_iter_values(data.chunks(*cols).map(|r| r[*col]))),
            ),
        }
    }

    fn len(&self) -> usize {
        match self {
            Column::Int64(v) => v.len(),
            Column::Float64(v) => v.len(),
            Column::Flags(v) => v.len(),
            Column::Ids(v) => v.len(),
            Column::Strided { data, cols, .. } => data.len().checked_div(*cols).unwrap_or(0),
        }
    }
}

/// Writes named columns of equal length as one Parquet file (Snappy-compressed),
/// atomically: the file appears whole or not at all.
pub fn write_parquet(path: &Path, columns: &[(&str, Column<'_>)]) -> Result<()> {
    write_atomic_try(path, |out| {
        let mut rows = ParquetRows::new(path, out);
        rows.write(columns)?;
        rows.finish()
    })
}

/// Named columns written as Parquet (Snappy-compressed) into `out` a batch of rows at a
/// time, as they are computed: a pass over data larger than memory holds one batch of
/// its results, not all of them. Every batch has the first's columns, named and typed
/// alike, in the same order; batches are gathered into row groups of up to the
/// `parquet` crate's default of 1 Mi rows. The file is Parquet once
/// [`finish`](Self::finish) has written its footer.
pub struct ParquetRows<W: std::io::Write + Send> {
    /// The file written, named in errors.
    path: std::path::PathBuf,
    /// `out`, until the first batch gives the schema.
    out: Option<W>,
    writer: Option<(Arc<Schema>, parquet::arrow::ArrowWriter<W>)>,
}

impl<W: std::io::Write + Send> ParquetRows<W> {
    /// A writer of Parquet into `out`, whose errors name `path`.
    pub fn new(path: &Path, out: W) -> Self {
        ParquetRows { path: path.to_path_buf(), out: Some(out), writer: None }
    }

    /// Write one batch: columns of equal length, those of the first batch.
    pub fn write(&mut self, columns: &[(&str, Column<'_>)]) -> Result<()> {
        use parquet::arrow::ArrowWriter;
        use parquet::basic::Compression;
        use parquet::file::properties::WriterProperties;
        let path = self.path.as_path();
        let rows = columns.first().map_or(0, |(_, c)| c.len());
        if let Some((name, c)) = columns.iter().find(|(_, c)| c.len() != rows) {
            return Err(Error::Data(format!(
                "{}: column {name:?} has {} rows, the first has {rows}",
                path.display(),
                c.len()
            )));
        }
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns
            .iter()
            .map(|(name, c)| {
                let (t, a) = c.array();
                (Field::new(*name, t, false), a)
            })
            .unzip();
        let (schema, writer) = match &mut self.writer {
            Some(made) => made,
            None => {
                let out = self.out.take().ok_or_else(|| {
                    Error::Data(format!("{}: the writer failed before its first batch", path.display()))
                })?;
                let schema = Arc::new(Schema::new(fields.clone()));
                let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
                let writer = ArrowWriter::try_new(out, schema.clone(), Some(props))
                    .map_err(|e| format_error(path, e))?;
                self.writer.insert((schema, writer))
            }
        };
        if schema.fields().iter().map(|f| f.as_ref()).ne(fields.iter()) {
            return Err(Error::Data(format!(
                "{}: a batch of columns {:?}, where the first batch had {:?}",
                path.display(),
                fields.iter().map(|f| format!("{} ({})", f.name(), f.data_type())).collect::<Vec<_>>(),
                schema
                    .fields()
                    .iter()
                    .map(|f| format!("{} ({})", f.name(), f.data_type()))
                    .collect::<Vec<_>>(),
            )));
        }
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| format_error(path, e))?;
        writer.write(&batch).map_err(|e| format_error(path, e))
    }

    /// Write the footer: the file is whole. An error when no batch was written (its
    /// columns are not known).
    pub fn finish(self) -> Result<()> {
        match self.writer {
            Some((_, writer)) => writer.close().map(|_| ()).map_err(|e| format_error(&self.path, e)),
            None => Err(Error::Data(format!("{}: no rows to write", self.path.display()))),
        }
    }
}

/// Writes `rows × cols` row-major values as Parquet, one `f32` column per name in
/// `names` (after an `id` column, with `ids`), atomically.
pub fn write_matrix(
    path: &Path,
    data: &[f32],
    cols: usize,
    names: &[String],
    ids: Option<&RowIds>,
) -> Result<()> {
    if names.len() != cols || (cols > 0 && !data.len().is_multiple_of(cols)) {
        return Err(Error::Data(format!(
            "{}: cannot write {} values as columns named {names:?}",
            path.display(),
            data.len()
        )));
    }
    let id = ids.map(|v| ("id", Column::Ids(v)));
    let columns: Vec<(&str, Column)> = id
        .into_iter()
        .chain(names.iter().enumerate().map(|(col, n)| (n.as_str(), Column::Strided { data, cols, col })))
        .collect();
    write_parquet(path, &columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::columns::ColumnRef;

    fn label(c: ColumnRef) -> Columns {
        Columns { label: Some(c), ..Columns::default() }
    }

    /// A Parquet file whose row groups hold different values of a categorical column
    /// (one group nulls and `a`, each other one value): opened to be read a row group
    /// at a time, every group is encoded with the sorted values of all of them, as the
    /// file read whole is.
    #[test]
    fn row_groups_are_encoded_with_every_groups_categorical_values() {
        use crate::data::chunks::ChunkedRows;
        use crate::data::open::LoadOptions;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float32, false),
            Field::new("kind", DataType::Utf8, true),
        ]));
        let kinds: Vec<Option<&str>> = (0..12)
            .map(|i| match i / 4 {
                0 => Some("b"),
                1 => Some("a").filter(|_| i % 2 == 1),
                _ => Some("c"),
            })
            .collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Float32Array::from_iter_values((0..12).map(|i| i as f32))),
                Arc::new(arrow_array::StringArray::from(kinds)),
            ],
        )
        .unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(4))
            .build();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(File::create(&p).unwrap(), schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        assert_eq!(parquet_row_groups(&p).unwrap(), [4, 4, 4]);
        let columns = Columns { categorical: vec![ColumnRef::Name("kind".into())], ..Columns::default() };
        let whole = load_parquet(&p, &columns).unwrap();
        assert_eq!(whole.categories[0].values, ["a", "b", "c"]);
        let chunked = ChunkedRows::open(&[p], &LoadOptions { columns, ..LoadOptions::default() }).unwrap();
        assert_eq!((chunked.chunks(), chunked.categories()), (3, &whole.categories[..]));
        for i in 0..3 {
            assert_eq!(chunked.read(i).unwrap().as_slice(), whole.rows_in(4 * i..4 * i + 4));
        }
    }

    /// A categorical column typed Null (its values all missing: a writer that saw no
    /// value could not type it) reads as the same column of text nulls does: with a
    /// model's values, each row's category missing.
    #[test]
    fn a_categorical_column_of_nulls_alone_reads_as_missing_values() {
        let dir = tempfile::tempdir().unwrap();
        let table = |name: &str, kind: DataType, col: ArrayRef| {
            let p = dir.path().join(name);
            let schema = Arc::new(Schema::new(vec![
                Field::new("x", DataType::Float32, false),
                Field::new("kind", kind, true),
            ]));
            let x: ArrayRef = Arc::new(Float32Array::from(vec![1.0, 2.0]));
            let batch = RecordBatch::try_new(schema.clone(), vec![x, col]).unwrap();
            let mut w = arrow_ipc::writer::FileWriter::try_new(File::create(&p).unwrap(), &schema).unwrap();
            w.write(&batch).unwrap();
            w.finish().unwrap();
            p
        };
        let nulls = table("n.arrow", DataType::Null, Arc::new(arrow_array::NullArray::new(2)));
        let texts =
            table("t.arrow", DataType::Utf8, Arc::new(arrow_array::StringArray::from(vec![None::<&str>; 2])));
        let fitted = vec![Categorical { column: "kind".into(), values: vec!["a".into(), "b".into()] }];
        let columns = Columns { categorical: vec![ColumnRef::Name("kind".into())], ..Columns::default() }
            .with_categories(&fitted);
        let from_nulls = load_arrow(&nulls, &columns).unwrap();
        let from_texts = load_arrow(&texts, &columns).unwrap();
        assert_eq!((from_nulls.rows(), from_nulls.cols()), (2, 3));
        assert_eq!(from_nulls.as_slice(), from_texts.as_slice());
    }

    /// A Parquet table read from a stream with a row limit is decoded no further than
    /// the batch that passes it: 40,000 rows that compress to a few hundred bytes give
    /// back one batch of 8,192, not 40,000 (a request body's decompression bomb).
    #[test]
    fn a_streamed_table_is_decoded_no_further_than_the_rows_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("many.parquet");
        write_parquet(&p, &[("x", Column::Float64(&[0.5; 40_000]))]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert!(bytes.len() < 40_000, "{} bytes: compressed", bytes.len());
        let at_most = |most| load_reader_at_most(&bytes[..], &p, &Columns::default(), most).unwrap().rows();
        assert_eq!(at_most(Some(100)), BATCH_ROWS);
        assert_eq!(at_most(Some(BATCH_ROWS)), 2 * BATCH_ROWS);
        assert_eq!(at_most(None), 40_000);
        assert_eq!(load_reader(&bytes[..], &p, &Columns::default()).unwrap().rows(), 40_000);
    }

    #[test]
    fn a_written_table_reads_back_with_its_names_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        let data = [1.5f32, -2.0, 3.25, 4.0, f32::MAX, 0.1];
        write_matrix(&p, &data, 2, &["a".into(), "b".into()], None).unwrap();
        let d = load_parquet(&p, &Columns::default()).unwrap();
        assert_eq!((d.rows(), d.cols()), (3, 2));
        assert_eq!(d.as_slice(), &data);
        assert_eq!(d.feature_names.as_deref(), Some(&["a".to_string(), "b".to_string()][..]));

        let scores = [0.5f64, 1e300, -3.0];
        let flags = [0u8, 1, 0];
        write_parquet(
            &p,
            &[
                ("id", Column::Int64(vec![7, 8, 9])),
                ("score", Column::Float64(&scores)),
                ("outlier", Column::Flags(&flags)),
            ],
        )
        .unwrap();
        // 1e300 does not fit f32: named by row and column.
        let e = load_parquet(&p, &label(ColumnRef::Name("id".into()))).unwrap_err().to_string();
        assert!(e.contains("row 2, column 2 (\"score\")") && e.contains("too large"), "{e}");
        let e = load_parquet(&p, &label(ColumnRef::Name("nope".into()))).unwrap_err().to_string();
        assert!(e.contains("no column named \"nope\""), "{e}");
    }

    /// Batches written one after another make one table, the bytes of the rows written
    /// at once, and read back in order; a batch of other columns (names, types or
    /// order), columns of unequal length, and a writer given no batch are refused, each
    /// naming the file.
    #[test]
    fn batches_written_one_at_a_time_are_the_table_written_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (whole, parts) = (dir.path().join("whole.parquet"), dir.path().join("parts.parquet"));
        let ids = RowIds::Text((0..10).map(|i| format!("r{i}")).collect());
        let values: Vec<f32> = (0..20).map(|i| i as f32 * 0.5).collect();
        fn columns<'a>(ids: &'a RowIds, values: &'a [f32]) -> Vec<(&'static str, Column<'a>)> {
            vec![("id", Column::Ids(ids)), ("a", Column::Strided { data: values, cols: 2, col: 0 })]
        }
        write_parquet(&whole, &columns(&ids, &values)).unwrap();
        let mut bytes = Vec::new();
        let mut out = ParquetRows::new(&parts, &mut bytes);
        for (a, b) in [(0, 3), (3, 4), (4, 10)] {
            let RowIds::Text(all) = &ids else { unreachable!() };
            out.write(&columns(&RowIds::Text(all[a..b].to_vec()), &values[2 * a..2 * b])).unwrap();
        }
        out.finish().unwrap();
        assert!(
            bytes == std::fs::read(&whole).unwrap(),
            "batches written apart differ from the rows at once"
        );
        std::fs::write(&parts, &bytes).unwrap();
        let d =
            load_parquet(&parts, &Columns { id: Some(ColumnRef::Name("id".into())), ..Columns::default() })
                .unwrap();
        assert_eq!(d.as_slice(), values.iter().step_by(2).copied().collect::<Vec<_>>());
        assert_eq!(d.ids, Some(ids.clone()));

        let mut out = ParquetRows::new(&parts, Vec::new());
        out.write(&columns(&ids, &values)).unwrap();
        let renamed = [("key", Column::Ids(&ids)), ("a", Column::Strided { data: &values, cols: 2, col: 0 })];
        let e = out.write(&renamed).unwrap_err().to_string();
        assert!(e.contains("parts.parquet") && e.contains("the first batch had"), "{e}");
        let numbers = RowIds::Int((0..10).collect());
        let e = out.write(&columns(&numbers, &values)).unwrap_err().to_string();
        assert!(e.contains("id (Int64)") && e.contains("id (Utf8)"), "{e}");
        let e =
            out.write(&[("id", Column::Ids(&ids)), ("s", Column::Float64(&[1.0]))]).unwrap_err().to_string();
        assert!(e.contains("column \"s\" has 1 rows, the first has 10"), "{e}");
        let e = ParquetRows::new(&parts, Vec::new()).finish().unwrap_err().to_string();
        assert!(e.contains("parts.parquet: no rows to write"), "{e}");
    }

    /// Arrow IPC files and streams whose lengths claim more than there is are refused
    /// before arrow-ipc allocates the claim (or slices past a body, where it panics),
    /// from a path and from a stream; a Parquet file on which the parquet crate panics
    /// (one the fuzz target found) is an error naming it.
    #[test]
    fn lying_or_panicking_ipc_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float32, false)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Float32Array::from(vec![1.0f32; 64]))])
                .unwrap();
        let mut file_bytes = Vec::new();
        let mut w = arrow_ipc::writer::FileWriter::try_new(&mut file_bytes, &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        drop(w);
        let mut stream_bytes = Vec::new();
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut stream_bytes, &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        drop(w);
        let read = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let from_path = load_arrow(&p, &Columns::default()).map(|d| d.rows());
            let from_stream = load_reader(bytes, &p, &Columns::default()).map(|d| d.rows());
            (from_path.map_err(|e| e.to_string()), from_stream.map_err(|e| e.to_string()))
        };
        assert_eq!(read("ok.arrow", &file_bytes), (Ok(64), Ok(64)));
        assert_eq!(read("ok.arrows", &stream_bytes), (Ok(64), Ok(64)));
        // The footer's length, patched to 2 GB.
        let mut big_footer = file_bytes.clone();
        let at = big_footer.len() - 10;
        big_footer[at..at + 4].copy_from_slice(&0x7fff_0000i32.to_le_bytes());
        let (a, b) = read("footer.arrow", &big_footer);
        for e in [a.unwrap_err(), b.unwrap_err()] {
            assert!(
                e.contains("footer.arrow: not a valid Arrow IPC file: its footer claims 2147418112 bytes"),
                "{e}"
            );
        }
        // A stream cut in its record batch's body.
        let cut = &stream_bytes[..stream_bytes.len() - 100];
        let (a, b) = read("cut.arrows", cut);
        for e in [a.unwrap_err(), b.unwrap_err()] {
            assert!(e.contains("cut.arrows: not a valid Arrow IPC stream: a message before byte"), "{e}");
        }
        // A buffer past its message's body (arrow-ipc 60 slices it, and panics).
        let past = include_bytes!("../../tests/fixtures/arrow-stream-slice-panic.arrows");
        let (a, b) = read("past.arrows", past);
        for e in [a.unwrap_err(), b.unwrap_err()] {
            assert!(
                e.contains("past.arrows: not a valid Arrow IPC") && e.contains("lies outside its message's"),
                "{e}"
            );
        }
        // parquet 60 panics on this file (a dictionary page missing): an error naming it.
        let p = dir.path().join("dict.parquet");
        std::fs::write(&p, include_bytes!("../../tests/fixtures/parquet-dictionary-page-missing.parquet"))
            .unwrap();
        let e = load_parquet(&p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("dict.parquet: not a readable Parquet or Arrow file: its reader failed"), "{e}");
    }

    #[test]
    fn nulls_and_text_columns_are_named() {
        use arrow_array::StringArray;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.arrow");
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("name", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Float64Array::from(vec![Some(1.0), None])),
                Arc::new(StringArray::from(vec!["a", "b"])),
            ],
        )
        .unwrap();
        let mut w = arrow_ipc::writer::FileWriter::try_new(File::create(&p).unwrap(), &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        let e = load_arrow(&p, &Columns::default()).unwrap_err().to_string();
        assert!(
            e.contains("column 2 (\"name\") holds text (Utf8), not numbers; every feature column must be numeric: one-hot encode it, leave it out or choose the features (ae: --categorical, --ignore-columns, --columns; Python: categorical=, ignore_columns=, columns=)"),
            "{e}"
        );
        // The text column as the label: classes in sorted order (after the null is named).
        let e = load_arrow(&p, &label(ColumnRef::Index(1))).unwrap_err().to_string();
        assert!(e.contains("row 2, column 1 (\"x\"): a missing value"), "{e}");
        let d = load_arrow(&p, &Columns { missing: Missing::Mean, ..label(ColumnRef::Index(1)) }).unwrap();
        assert_eq!((d.labels, d.label_names), (Some(vec![0, 1]), Some(vec!["a".into(), "b".into()])));
        // The text column as the ids, or left out: then the null is named.
        let name = || ColumnRef::Name("name".into());
        let e = load_arrow(&p, &Columns { id: Some(name()), ..Columns::default() }).unwrap_err().to_string();
        assert!(e.contains("row 2, column 1 (\"x\"): a missing value"), "{e}");
        let e =
            load_arrow(&p, &Columns { ignore: vec![name()], ..Columns::default() }).unwrap_err().to_string();
        assert!(e.contains("row 2, column 1 (\"x\"): a missing value"), "{e}");
        // Without the text column: the null is named.
        let batch = batch.project(&[0]).unwrap();
        let mut w =
            arrow_ipc::writer::FileWriter::try_new(File::create(&p).unwrap(), &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        let e = load_arrow(&p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("row 2, column 1 (\"x\"): a missing value (null)"), "{e}");
        // With a rule for missing values, the null is NaN.
        let d = load_arrow(&p, &Columns { missing: Missing::Mean, ..Columns::default() }).unwrap();
        assert!(d.as_slice()[0] == 1.0 && d.as_slice()[1].is_nan());
        // The same file read as a stream: same error, so the same reading.
        let e = load_reader(File::open(&p).unwrap(), &p, &Columns::default()).unwrap_err().to_string();
        assert!(e.contains("row 2, column 1 (\"x\"): a missing value"), "{e}");
    }

    #[test]
    fn integer_and_boolean_columns_round_as_text_would() {
        use arrow_array::{BooleanArray, UInt64Array};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.arrows");
        let big = [16_777_217u64, 123_456_789_012, 3];
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::UInt64, false),
            Field::new("b", DataType::Boolean, false),
            Field::new("y", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(UInt64Array::from(big.to_vec())),
                Arc::new(BooleanArray::from(vec![true, false, true])),
                Arc::new(Int64Array::from(vec![0, 1, 0])),
            ],
        )
        .unwrap();
        let mut w = arrow_ipc::writer::StreamWriter::try_new(File::create(&p).unwrap(), &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        let d = load_arrow(&p, &label(ColumnRef::Name("y".into()))).unwrap();
        let want: Vec<f32> = big
            .iter()
            .zip([1.0, 0.0, 1.0])
            .flat_map(|(n, b)| [n.to_string().parse::<f32>().unwrap(), b])
            .collect();
        assert_eq!(d.as_slice(), &want[..]);
        assert_eq!(d.labels.as_deref(), Some(&[0i64, 1, 0][..]));
        // The integers as ids (exact, not rounded to f32), the flags as the one feature.
        let columns = Columns { id: Some(ColumnRef::Index(0)), ..label(ColumnRef::Name("y".into())) };
        let d = load_arrow(&p, &columns).unwrap();
        assert_eq!(d.ids, Some(RowIds::Int(vec![16_777_217, 123_456_789_012, 3])));
        assert_eq!(d.as_slice(), &[1.0, 0.0, 1.0]);
        assert_eq!(d.feature_names, Some(vec!["b".to_string()]));
    }

    /// Decimal columns (Parquet's, as databases and Spark write them) read as the text of
    /// their values would in a CSV file, bit for bit, a null as a missing value; a decimal
    /// label is a whole number; a value past `f32`'s range is refused, naming it.
    #[test]
    fn decimal_columns_read_as_their_text_would() {
        use arrow_array::{Decimal128Array, Decimal256Array, Decimal32Array};
        use arrow_buffer::i256;
        let dir = tempfile::tempdir().unwrap();
        let texts = ["12.34", "-0.01", "99999.99", "0.10", "16777217.00", "3.14"];
        let cents: Vec<Option<i128>> =
            texts.iter().map(|t| Some(t.replace('.', "").parse::<i128>().unwrap())).collect();
        let mut with_null = cents.clone();
        with_null[3] = None;
        let schema = Arc::new(Schema::new(vec![
            Field::new("money", DataType::Decimal128(12, 2), false),
            Field::new("gappy", DataType::Decimal128(12, 2), true),
            Field::new("small", DataType::Decimal32(7, 3), false),
            Field::new("y", DataType::Decimal128(5, 2), false),
        ]));
        let small: Vec<i32> = (0..6).map(|i| i * 1001 - 2500).collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Decimal128Array::from(cents.clone()).with_precision_and_scale(12, 2).unwrap()),
                Arc::new(Decimal128Array::from(with_null).with_precision_and_scale(12, 2).unwrap()),
                Arc::new(Decimal32Array::from(small.clone()).with_precision_and_scale(7, 3).unwrap()),
                Arc::new(
                    Decimal128Array::from(vec![0i128, 100, 0, 100, 0, 100])
                        .with_precision_and_scale(5, 2)
                        .unwrap(),
                ),
            ],
        )
        .unwrap();
        let p = dir.path().join("d.parquet");
        let mut w = parquet::arrow::ArrowWriter::try_new(File::create(&p).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let columns = Columns { missing: Missing::Mean, ..label(ColumnRef::Name("y".into())) };
        let d = load_parquet(&p, &columns).unwrap();
        assert_eq!(d.cols(), 3);
        for (i, t) in texts.iter().enumerate() {
            let want: f32 = t.parse().unwrap();
            let small: f32 = format!("{:.3}", f64::from(small[i]) / 1000.0).parse().unwrap();
            let row = &d.as_slice()[i * 3..i * 3 + 3];
            assert_eq!(row[0].to_bits(), want.to_bits(), "{t}");
            assert!(if i == 3 { row[1].is_nan() } else { row[1].to_bits() == want.to_bits() }, "{t}");
            assert_eq!(row[2].to_bits(), small.to_bits(), "row {i}");
        }
        assert_eq!(d.labels.as_deref(), Some(&[0i64, 1, 0, 1, 0, 1][..]));
        let e = load_parquet(&p, &label(ColumnRef::Name("y".into()))).unwrap_err().to_string();
        assert!(e.contains("row 4, column 2 (\"gappy\"): a missing value (null)"), "{e}");
        // 10^45 is past f32's largest, about 3.4 × 10^38.
        let schema = Arc::new(Schema::new(vec![Field::new("huge", DataType::Decimal256(50, 0), false)]));
        let huge = i256::from_string(&format!("1{}", "0".repeat(45))).unwrap();
        let column = Decimal256Array::from(vec![i256::ONE, huge]).with_precision_and_scale(50, 0).unwrap();
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(column)]).unwrap();
        let p = dir.path().join("huge.parquet");
        let mut w = parquet::arrow::ArrowWriter::try_new(File::create(&p).unwrap(), schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let e = load_parquet(&p, &Columns::default()).unwrap_err().to_string();
        assert!(
            e.contains(
                "row 2, column 1 (\"huge\"): 1000000000000000000000000000000000000000000000 is too large"
            ),
            "{e}"
        );
    }

    /// An Arrow IPC file is read a record batch at a time (an empty batch is no chunk):
    /// each chunk is its batch of the whole file, a range of rows across batches is that
    /// range of the whole, and a bad value in a later batch is named by its row in the
    /// file. A stream has no index of its batches, and is read whole.
    #[test]
    fn arrow_files_are_read_a_record_batch_at_a_time() {
        use crate::data::chunks::ChunkedRows;
        use crate::data::open::LoadOptions;
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Float32, true),
            Field::new("b", DataType::Int64, false),
        ]));
        let batch = |from: i64, n: i64, null_at: Option<i64>| {
            let a: Vec<Option<f32>> =
                (from..from + n).map(|i| (Some(i) != null_at).then_some(i as f32 * 0.5)).collect();
            let b: Vec<i64> = (from..from + n).map(|i| -i).collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Float32Array::from(a)), Arc::new(Int64Array::from(b))],
            )
            .unwrap()
        };
        let write = |name: &str, null_at: Option<i64>, stream: bool| {
            let p = dir.path().join(name);
            let batches =
                [batch(0, 5, null_at), batch(5, 0, None), batch(5, 7, null_at), batch(12, 3, null_at)];
            if stream {
                let mut w =
                    arrow_ipc::writer::StreamWriter::try_new(File::create(&p).unwrap(), &schema).unwrap();
                batches.iter().for_each(|b| w.write(b).unwrap());
                w.finish().unwrap();
            } else {
                let mut w =
                    arrow_ipc::writer::FileWriter::try_new(File::create(&p).unwrap(), &schema).unwrap();
                batches.iter().for_each(|b| w.write(b).unwrap());
                w.finish().unwrap();
            }
            p
        };
        let p = write("t.arrow", None, false);
        let whole = load_arrow(&p, &Columns::default()).unwrap();
        assert_eq!((whole.rows(), whole.row(13)), (15, &[6.5, -13.0][..]));
        let (batches, shape) = arrow_batches(&p, &Columns::default()).unwrap().unwrap();
        assert_eq!(
            (
                batches.iter().map(|b| b.1).collect::<Vec<_>>(),
                shape.rows(),
                shape.cols(),
                shape.feature_names
            ),
            (vec![5, 0, 7, 3], 0, 2, whole.feature_names.clone())
        );
        assert_eq!(batches[2].0, ArrowBatch::File(2));
        assert_eq!(
            load_arrow_batch(&p, &Columns::default(), batches[2].0, 5).unwrap().as_slice(),
            whole.rows_in(5..12)
        );
        let e = load_arrow_batch(&p, &Columns::default(), ArrowBatch::File(4), 0).unwrap_err().to_string();
        assert!(e.contains("has 4 record batches, not a batch 5"), "{e}");

        let chunked = ChunkedRows::open(std::slice::from_ref(&p), &LoadOptions::default()).unwrap();
        assert_eq!((chunked.rows(), chunked.chunks()), (15, 3));
        assert_eq!(chunked.read(1).unwrap().as_slice(), whole.rows_in(5..12));
        for r in [0..15, 3..9, 11..13, 12..15] {
            assert_eq!(chunked.read_rows(r.start as u64..r.end as u64).unwrap().as_slice(), whole.rows_in(r));
        }
        // Row 9 of the file (the fourth of record batch 3) holds a null: named by its row in the file.
        let p = write("null.arrow", Some(8), false);
        let whole = load_arrow(&p, &Columns::default()).unwrap_err().to_string();
        let e = load_arrow_batch(&p, &Columns::default(), ArrowBatch::File(2), 5).unwrap_err().to_string();
        assert!(e.contains("row 9, column 1 (\"a\"): a missing value"), "{e}");
        assert_eq!(e, whole);

        // A stream: its batches found by walking its messages, each read alone.
        let p = write("t.arrows", None, true);
        let whole = load_arrow(&p, &Columns::default()).unwrap();
        let (batches, shape) = arrow_batches(&p, &Columns::default()).unwrap().unwrap();
        assert_eq!(
            (batches.iter().map(|b| b.1).collect::<Vec<_>>(), shape.cols(), shape.feature_names),
            (vec![5, 0, 7, 3], 2, whole.feature_names.clone())
        );
        let mut before = 0;
        for &(b, n) in batches.iter().filter(|b| b.1 > 0) {
            assert!(matches!(b, ArrowBatch::Stream { .. }), "{b:?}");
            let d = load_arrow_batch(&p, &Columns::default(), b, before).unwrap();
            assert_eq!(d.as_slice(), whole.rows_in(before..before + n));
            before += n;
        }
        let chunked = ChunkedRows::open(std::slice::from_ref(&p), &LoadOptions::default()).unwrap();
        assert_eq!((chunked.rows(), chunked.chunks()), (15, 3));
        for r in [0..15, 3..9, 11..13, 12..15] {
            assert_eq!(chunked.read_rows(r.start as u64..r.end as u64).unwrap().as_slice(), whole.rows_in(r));
        }
        // A null named by its row in the file, as when the stream is read whole.
        let p = write("null.arrows", Some(8), true);
        let whole = load_arrow(&p, &Columns::default()).unwrap_err().to_string();
        let (batches, _) = arrow_batches(&p, &Columns::default()).unwrap().unwrap();
        let e = load_arrow_batch(&p, &Columns::default(), batches[2].0, 5).unwrap_err().to_string();
        assert!(e.contains("row 9, column 1 (\"a\"): a missing value"), "{e}");
        assert_eq!(e, whole);
        // A categorical column: its dictionary is sent once, before the first record
        // batch, and read again with each batch, which then reads alone. Batches with
        // another dictionary make the writer send it after a record batch: that stream
        // is read whole, its dictionaries building up message by message.
        let kind = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let with_dict = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Float32, false),
            Field::new("k", kind, false),
        ]));
        // A batch of values `a` and categories `k`, its dictionary `values`.
        let batch = |a: Vec<f32>, values: &[&str], k: &[&str]| {
            let keys = k.iter().map(|k| values.iter().position(|v| v == k).unwrap() as i32);
            let k = arrow_array::DictionaryArray::try_new(
                arrow_array::Int32Array::from_iter_values(keys),
                Arc::new(arrow_array::StringArray::from(values.to_vec())),
            )
            .unwrap();
            RecordBatch::try_new(with_dict.clone(), vec![Arc::new(Float32Array::from(a)), Arc::new(k)])
                .unwrap()
        };
        let xyz = ["x", "y", "z"];
        // A pass that reads batch by batch encodes with fixed categories (a model's, or
        // those of the first chunk); read whole, the values found are sorted.
        let fixed = Categorical { column: "k".into(), values: xyz.map(String::from).to_vec() };
        let one_hot = Columns::default().with_categories(std::slice::from_ref(&fixed));
        let p = dir.path().join("dict.arrows");
        let mut w = arrow_ipc::writer::StreamWriter::try_new(File::create(&p).unwrap(), &with_dict).unwrap();
        w.write(&batch(vec![1.0, 2.0, 3.0], &xyz, &["x", "y", "x"])).unwrap();
        w.write(&batch(vec![4.0, 5.0], &xyz, &["z", "z"])).unwrap();
        w.write(&batch(vec![6.0], &xyz, &["y"])).unwrap();
        w.finish().unwrap();
        let whole = load_arrow(&p, &one_hot).unwrap();
        assert_eq!(whole.rows_in(3..5), [4.0, 0.0, 0.0, 1.0, 5.0, 0.0, 0.0, 1.0]);
        let (batches, _) = arrow_batches(&p, &one_hot).unwrap().unwrap();
        assert_eq!(batches.iter().map(|b| b.1).collect::<Vec<_>>(), [3, 2, 1]);
        let mut before = 0;
        for &(b, n) in &batches {
            let d = load_arrow_batch(&p, &one_hot, b, before).unwrap();
            assert_eq!(d.as_slice(), whole.rows_in(before..before + n));
            before += n;
        }
        // Opened to be read a chunk at a time with the column categorical and no values
        // fixed, every batch is encoded with the values of all of them (batch 2 holds z
        // alone), as the stream read whole is.
        let columns = Columns { categorical: vec![ColumnRef::Name("k".into())], ..Columns::default() };
        let whole = load_arrow(&p, &columns).unwrap();
        let chunked =
            ChunkedRows::open(std::slice::from_ref(&p), &LoadOptions { columns, ..LoadOptions::default() })
                .unwrap();
        assert_eq!((chunked.chunks(), chunked.categories()), (3, &whole.categories[..]));
        assert_eq!(whole.categories[0].values, xyz);
        assert_eq!(chunked.read(1).unwrap().as_slice(), whole.rows_in(3..5));
        assert_eq!(chunked.read_rows(0..6).unwrap().as_slice(), whole.as_slice());
        let p = dir.path().join("dicts.arrows");
        let mut w = arrow_ipc::writer::StreamWriter::try_new(File::create(&p).unwrap(), &with_dict).unwrap();
        w.write(&batch(vec![1.0, 2.0, 3.0], &xyz, &["x", "y", "x"])).unwrap();
        w.write(&batch(vec![4.0, 5.0], &["y", "x"], &["y", "x"])).unwrap();
        w.finish().unwrap();
        assert!(arrow_batches(&p, &one_hot).unwrap().is_none());
        let whole = load_arrow(&p, &one_hot).unwrap();
        assert_eq!(whole.rows_in(3..5), [4.0, 0.0, 1.0, 0.0, 5.0, 1.0, 0.0, 0.0]);
        // The file changed after it was walked: a clear error, not another batch's rows.
        let p = write("t.arrows", None, true);
        let (batches, _) = arrow_batches(&p, &Columns::default()).unwrap().unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        let e = load_arrow_batch(&p, &Columns::default(), batches[3].0, 12).unwrap_err().to_string();
        assert!(e.contains("changed while it was read"), "{e}");
    }
}
