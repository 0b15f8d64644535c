//! Columnar files (feature `parquet`): Parquet and Arrow IPC (Feather v2) tables read
//! into rows, and tables of per-row results written as Parquet.
//!
//! Every column but the label column is a feature and must hold numbers: integers
//! (8 to 64 bits, signed or not), floats (16, 32 or 64 bits) or booleans (0 and 1). Each
//! value becomes the nearest `f32`, as the CSV reader turns the same number's text into
//! one (so a table and its CSV give the same rows, bit for bit, for `f32` columns and for
//! integers). A finite value too large for `f32`, a null, or a column of another type is
//! an error that names the row and the column. The label column holds whole numbers.
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
    Float16Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, UInt8Array};
use arrow_schema::{DataType, Field, Schema};

use super::columns::{one_hot, Categorical, ColumnPlan, Columns, LabelTexts, Missing};
use super::dataset::{Dataset, RowIds, MAX_WIDTH};
use crate::atomic::write_atomic;
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

/// Whether `t` is a type whose values this module turns into `f32` features.
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
    )
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
            if !is_numeric(f.data_type()) {
                return Err(Error::format(
                    path,
                    format!(
                        "column {} ({:?}) holds {}, not numbers; every feature column must be numeric (leave it out with --ignore-columns, or choose the features with --columns)",
                        i + 1,
                        f.name(),
                        f.data_type()
                    ),
                ));
            }
        }
        for &c in &plan.categorical {
            let t = fields[c].data_type();
            if !(is_text(t) || is_integer(t)) {
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
            let t = fields[l].data_type();
            if !(is_numeric(t) && *t != DataType::Boolean || is_text(t)) {
                return Err(Error::format(
                    path,
                    format!("label column {:?} holds {t}, not whole numbers or text", fields[l].name()),
                ));
            }
        }
        let ids = match plan.id.map(|i| fields[i].data_type()) {
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
        let before = self.rows;
        let base = self.data.len();
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
                } else if col.is_null(i) {
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
        _ => return None,
    })
}

/// Reads every batch of `batches` into rows.
fn collect<I>(path: &Path, schema: &Schema, batches: I, columns: &Columns) -> Result<Dataset>
where
    I: Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>,
{
    let mut rows = Rows::new(path, schema, columns)?;
    for batch in batches {
        rows.push(&batch.map_err(|e| format_error(path, e))?)?;
    }
    rows.finish(path.display().to_string())
}

/// The rows of a Parquet file, its columns chosen by `columns`.
pub fn load_parquet(path: &Path, columns: &Columns) -> Result<Dataset> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| format_error(path, e))?;
    let schema = builder.schema().clone();
    let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(|e| format_error(path, e))?;
    collect(path, &schema, reader, columns)
}

/// The rows of an Arrow IPC file (Feather v2, `ARROW1`) or stream.
pub fn load_arrow(path: &Path, columns: &Columns) -> Result<Dataset> {
    use std::io::Seek;
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 6];
    let n = file.read(&mut head).map_err(|e| Error::io(path, e))?;
    file.rewind().map_err(|e| Error::io(path, e))?;
    if head[..n].starts_with(ARROW_FILE_MAGIC) {
        let reader = arrow_ipc::reader::FileReader::try_new(file, None).map_err(|e| format_error(path, e))?;
        let schema = reader.schema();
        collect(path, &schema, reader, columns)
    } else {
        load_reader(std::io::BufReader::new(file), path, columns)
    }
}

/// The rows of a Parquet or Arrow IPC table read once from `r` (standard input, a pipe).
/// Arrow's stream layout is read batch by batch; a Parquet file, and Arrow's file layout
/// (`ARROW1`), keep their schema and row-group index in a footer at the end, so their
/// bytes are held in memory first (as large as the file, beside the rows).
pub fn load_reader<R: Read>(mut r: R, path: &Path, columns: &Columns) -> Result<Dataset> {
    let mut head = [0u8; 4];
    let n = super::open::read_head(&mut r, &mut head, path)?;
    let mut whole = std::io::Cursor::new(head[..n].to_vec()).chain(r);
    if head[..n] == ARROW_STREAM_MAGIC[..] {
        let reader =
            arrow_ipc::reader::StreamReader::try_new(whole, None).map_err(|e| format_error(path, e))?;
        let schema = reader.schema();
        return collect(path, &schema, reader, columns);
    }
    let mut bytes = Vec::new();
    whole.read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.starts_with(PARQUET_MAGIC) {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .map_err(|e| format_error(path, e))?;
        let schema = builder.schema().clone();
        let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(|e| format_error(path, e))?;
        collect(path, &schema, reader, columns)
    } else {
        let reader = arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None)
            .map_err(|e| format_error(path, e))?;
        let schema = reader.schema();
        collect(path, &schema, reader, columns)
    }
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
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;
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
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| format_error(path, e))?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut bytes = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut bytes, schema, Some(props)).map_err(|e| format_error(path, e))?;
    writer.write(&batch).map_err(|e| format_error(path, e))?;
    writer.close().map_err(|e| format_error(path, e))?;
    write_atomic(path, &bytes)
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
        assert!(e.contains("column 2 (\"name\") holds Utf8"), "{e}");
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
}
