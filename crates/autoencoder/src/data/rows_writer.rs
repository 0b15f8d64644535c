//! Rows of `f32` values written a batch of rows at a time — NPY, CSV or Parquet, by the
//! file's extension — as [`npy::write`](super::npy::write), [`csv::write`](super::csv::write)
//! and [`columnar::write_matrix`](super::columnar::write_matrix) write them at once: the
//! output of a pass over data larger than memory (`ae reconstruct --stream`), which
//! holds one batch of it.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::dataset::RowIds;
use crate::error::{Error, Result};

/// The formats a batch at a time can write: an `.npz` archive is built whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsFormat {
    /// `.npy`: the values only (its header holds the row count, known first).
    Npy,
    /// `.parquet`: an `id` column (with ids) and one `f32` column per value.
    Parquet,
    /// Anything else, standard output included: CSV.
    Csv,
}

impl RowsFormat {
    /// The format of `path`, by its extension; an error for `.npz`.
    pub fn of(path: &Path) -> Result<RowsFormat> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("npy") => Ok(RowsFormat::Npy),
            Some("parquet") if cfg!(feature = "parquet") => Ok(RowsFormat::Parquet),
            Some("parquet") => Err(Error::Data(format!(
                "{}: Parquet needs the library's parquet feature",
                path.display()
            ))),
            Some("npz") => Err(Error::Data(format!(
                "{}: an .npz archive is built whole in memory; write .npy, .csv or .parquet to write rows a part at a time",
                path.display()
            ))),
            _ => {
                check_csv_name(path, ".npy, .csv or .parquet", &[])?;
                Ok(RowsFormat::Csv)
            }
        }
    }
}

/// Extensions of formats other than CSV that no rows writer writes.
const NOT_CSV: &[&str] = &[
    "png",
    "jpg",
    "jpeg",
    "gif",
    "bmp",
    "webp",
    "tif",
    "tiff",
    "json",
    "jsonl",
    "xlsx",
    "xls",
    "ods",
    "arrow",
    "feather",
    "ipc",
    "h5",
    "hdf5",
    "mat",
    "pkl",
    "pickle",
    "safetensors",
    "aez",
    "gz",
    "zip",
    "idx",
];

/// Refuse a path whose extension names a format other than CSV (`.png`, `.json`,
/// `.xlsx`, or one of `also`) where a writer writes CSV to any name it does not know:
/// CSV text under such a name would be a wrong file that says nothing. `writes` lists
/// what the writer writes, for the message.
pub fn check_csv_name(path: &Path, writes: &str, also: &[&str]) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext {
        Some(e) if NOT_CSV.contains(&e.as_str()) || also.contains(&e.as_str()) => Err(Error::Data(format!(
            "{}: .{e} is not a format these rows are written in; write {writes} (CSV for any other name)",
            path.display()
        ))),
        _ => Ok(()),
    }
}

// One value per pass over the data: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Out<'w> {
    Npy(&'w mut (dyn Write + Send)),
    Csv(csv::Writer<&'w mut (dyn Write + Send)>),
    #[cfg(feature = "parquet")]
    Parquet(super::columnar::ParquetRows<&'w mut (dyn Write + Send)>),
}

/// `rows × cols` values written into `out` a batch of rows at a time: the bytes
/// [`npy::write`](super::npy::write) and [`csv::write`](super::csv::write) write for the
/// rows at once, and the table [`columnar::write_matrix`](super::columnar::write_matrix)
/// writes. Every batch has ids, or none does.
pub struct RowsWriter<'w> {
    path: PathBuf,
    out: Out<'w>,
    cols: usize,
    /// The column names (CSV's header line, Parquet's columns).
    names: Option<Vec<String>>,
    /// The rows an NPY header announced, and the rows written.
    rows: u64,
    written: u64,
    /// Whether the batches have ids: known at the first.
    ids: Option<bool>,
}

impl<'w> RowsWriter<'w> {
    /// A writer of `rows` rows of `cols` values into `out` (the file `path`, named in
    /// errors, whose extension gives the format: [`RowsFormat::of`]), with the column
    /// `names` (CSV writes no header line without them; Parquet names them `c1..cN`).
    pub fn new(
        path: &Path,
        out: &'w mut (dyn Write + Send),
        rows: u64,
        cols: usize,
        names: Option<&[String]>,
    ) -> Result<RowsWriter<'w>> {
        if let Some(n) = names.filter(|n| n.len() != cols) {
            return Err(Error::Data(format!(
                "{}: {} column names for {cols} columns",
                path.display(),
                n.len()
            )));
        }
        let out = match RowsFormat::of(path)? {
            RowsFormat::Npy => {
                let rows = usize::try_from(rows)
                    .map_err(|_| Error::Data(format!("{}: {rows} rows", path.display())))?;
                out.write_all(&super::npy::npy_header(rows, cols)).map_err(|e| Error::io(path, e))?;
                Out::Npy(out)
            }
            #[cfg(feature = "parquet")]
            RowsFormat::Parquet => Out::Parquet(super::columnar::ParquetRows::new(path, out)),
            _ => Out::Csv(csv::WriterBuilder::new().from_writer(out)),
        };
        Ok(RowsWriter {
            path: path.to_path_buf(),
            out,
            cols,
            names: names.map(<[String]>::to_vec),
            rows,
            written: 0,
            ids: None,
        })
    }

    /// Write the rows of `data` (`cols` values each), with their `ids` (the data's id
    /// column: CSV and Parquet write them first, NPY has no place for them).
    pub fn write(&mut self, data: &[f32], ids: Option<&RowIds>) -> Result<()> {
        let path = self.path.as_path();
        let rows = data.len().checked_div(self.cols).unwrap_or(0);
        if rows * self.cols != data.len() || ids.is_some_and(|i| i.len() != rows) {
            return Err(Error::Data(format!(
                "{}: cannot write {} values as rows of {} with {} ids",
                path.display(),
                data.len(),
                self.cols,
                ids.map_or(0, RowIds::len)
            )));
        }
        if *self.ids.get_or_insert(ids.is_some()) != ids.is_some() {
            return Err(Error::Data(format!("{}: a batch of rows with ids and one without", path.display())));
        }
        let first = self.written == 0;
        self.written += rows as u64;
        match &mut self.out {
            Out::Npy(out) => {
                if self.written > self.rows {
                    return Err(Error::Data(format!(
                        "{}: more than the {} rows announced",
                        path.display(),
                        self.rows
                    )));
                }
                super::npy::write_values(&mut **out, data).map_err(|e| Error::io(path, e))
            }
            Out::Csv(out) => {
                let mut lines = || -> csv::Result<()> {
                    if let (true, Some(h)) = (first, &self.names) {
                        super::csv::write_header(out, h, ids.is_some())?;
                    }
                    super::csv::write_rows(out, data, rows, self.cols, ids)
                };
                lines().map_err(|e| Error::io(path, e.into()))
            }
            #[cfg(feature = "parquet")]
            Out::Parquet(out) => {
                use super::columnar::Column;
                let names = match &self.names {
                    Some(n) => n.clone(),
                    None => (1..=self.cols).map(|i| format!("c{i}")).collect(),
                };
                let columns: Vec<(&str, Column)> = ids
                    .map(|v| ("id", Column::Ids(v)))
                    .into_iter()
                    .chain(
                        names
                            .iter()
                            .enumerate()
                            .map(|(col, n)| (n.as_str(), Column::Strided { data, cols: self.cols, col })),
                    )
                    .collect();
                out.write(&columns)
            }
        }
    }

    /// The end of the rows: every row an NPY header announced written, a Parquet
    /// file's footer, the CSV writer's buffer.
    pub fn finish(self) -> Result<()> {
        let path = self.path.as_path();
        match self.out {
            Out::Npy(out) if self.written == self.rows => out.flush().map_err(|e| Error::io(path, e)),
            Out::Npy(_) => Err(Error::Data(format!(
                "{}: {} rows written of the {} announced",
                path.display(),
                self.written,
                self.rows
            ))),
            Out::Csv(mut out) => {
                if let (0, Some(h)) = (self.written, &self.names) {
                    super::csv::write_header(&mut out, h, false).map_err(|e| Error::io(path, e.into()))?;
                }
                out.flush().map_err(|e| Error::io(path, e))
            }
            #[cfg(feature = "parquet")]
            Out::Parquet(out) => out.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written in batches of 3, 1 and 6 rows: the bytes of the rows written at once
    /// as NPY and CSV (with and without ids and names), and the table of Parquet; each
    /// refusal names the file.
    #[test]
    fn rows_written_in_batches_are_the_rows_written_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<f32> = (0..30).map(|i| i as f32 * 0.25 - 2.0).collect();
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let ids = RowIds::Text((0..10).map(|i| format!("k{i}")).collect());
        let batches = |ids: Option<&RowIds>| -> Vec<(std::ops::Range<usize>, Option<RowIds>)> {
            [0..3, 3..4, 4..10]
                .into_iter()
                .map(|r| {
                    let part = ids.map(|i| match i {
                        RowIds::Text(v) => RowIds::Text(v[r.clone()].to_vec()),
                        RowIds::Int(v) => RowIds::Int(v[r.clone()].to_vec()),
                    });
                    (r, part)
                })
                .collect()
        };
        let in_batches = |name: &str, names: Option<&[String]>, ids: Option<&RowIds>| -> Vec<u8> {
            let path = dir.path().join(name);
            let mut bytes = Vec::new();
            let mut w = RowsWriter::new(&path, &mut bytes, 10, 3, names).unwrap();
            for (r, part) in batches(ids) {
                w.write(&values[3 * r.start..3 * r.end], part.as_ref()).unwrap();
            }
            w.finish().unwrap();
            bytes
        };
        let at_once = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
        super::super::npy::write(&dir.path().join("whole.npy"), &values, 10, 3).unwrap();
        assert!(in_batches("x.npy", None, None) == at_once("whole.npy"));
        for (file, names, ids) in [
            ("plain.csv", None, None),
            ("named.csv", Some(&names[..]), None),
            ("ids.csv", Some(&names[..]), Some(&ids)),
        ] {
            super::super::csv::write(&dir.path().join(file), &values, 10, 3, names, ids).unwrap();
            assert!(in_batches("x.csv", names, ids) == at_once(file), "{file}");
        }
        #[cfg(feature = "parquet")]
        {
            let p = dir.path().join("whole.parquet");
            super::super::columnar::write_matrix(&p, &values, 3, &names, Some(&ids)).unwrap();
            assert!(in_batches("x.parquet", Some(&names), Some(&ids)) == at_once("whole.parquet"));
        }

        let path = dir.path().join("x.npy");
        let mut sink = Vec::new();
        let mut w = RowsWriter::new(&path, &mut sink, 2, 3, None).unwrap();
        w.write(&values[..6], None).unwrap();
        let e = w.write(&values[..3], None).unwrap_err().to_string();
        assert!(e.contains("x.npy: more than the 2 rows announced"), "{e}");
        let mut sink = Vec::new();
        let mut w = RowsWriter::new(&path, &mut sink, 4, 3, None).unwrap();
        w.write(&values[..6], None).unwrap();
        let e = w.finish().unwrap_err().to_string();
        assert!(e.contains("x.npy: 2 rows written of the 4 announced"), "{e}");
        let csv = dir.path().join("x.csv");
        let mut sink = Vec::new();
        let mut w = RowsWriter::new(&csv, &mut sink, 10, 3, None).unwrap();
        w.write(&values[..3], Some(&RowIds::Int(vec![1]))).unwrap();
        let e = w.write(&values[..3], None).unwrap_err().to_string();
        assert!(e.contains("x.csv: a batch of rows with ids and one without"), "{e}");
        let e = w.write(&values[..4], None).unwrap_err().to_string();
        assert!(e.contains("cannot write 4 values as rows of 3"), "{e}");
        let mut sink = Vec::new();
        let e = RowsWriter::new(&dir.path().join("x.npz"), &mut sink, 1, 3, None).err().unwrap().to_string();
        assert!(e.contains("x.npz: an .npz archive is built whole"), "{e}");
        let e = RowsWriter::new(&csv, &mut sink, 1, 3, Some(&names[..2])).err().unwrap().to_string();
        assert!(e.contains("2 column names for 3 columns"), "{e}");
    }
}
