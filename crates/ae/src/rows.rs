//! The rows a model runs on (`ae score`, `ae detect`, `ae encode`, `ae reconstruct`,
//! `ae denoise`, `ae evaluate`): read whole, or
//! table files over the memory budget (or with `--stream`) read a part at a time, so
//! that files larger than memory are scored, encoded and reconstructed.

use std::path::{Path, PathBuf};

use autoencoder::anomaly::{self, ScoreKind};
use autoencoder::data::builtin::Split;
use autoencoder::data::chunks::ChunkedRows;
use autoencoder::data::dataset::RowIds;
use autoencoder::data::open::load_labels;
use autoencoder::data::rows_writer::{RowsFormat, RowsWriter};
use autoencoder::train::{human_bytes, MemoryBudget};
use autoencoder::{atomic, Dataset, Error, Result, Threads};
use clap::Args;

use crate::args::ModelData;
use crate::output::{print_csv, write_array};

/// `--stream` and `--memory-budget` of the commands that run a model on rows.
#[derive(Args, Debug, Clone)]
pub struct StreamArgs {
    /// Read table files (CSV, NPY, Parquet, Arrow, or folders and globs of them) a part at a time — a Parquet row group, an Arrow record batch, a range of CSV or NPY rows — so that memory holds one part of the data; the output is the one of the rows read whole. Chosen without this flag when the data is larger than --memory-budget.
    #[arg(long)]
    pub stream: bool,
    /// The memory the rows may take; larger table files are read a part at a time (--stream), and an output larger than it (the codes of many rows) is written a part at a time: 512M, 4G, 1.5G [default: half the machine's memory].
    #[arg(long, value_name = "SIZE", value_parser = |v: &str| v.parse::<MemoryBudget>())]
    pub memory_budget: Option<MemoryBudget>,
}

impl StreamArgs {
    /// `--memory-budget`, else half the machine's memory.
    pub fn budget(&self) -> MemoryBudget {
        self.memory_budget.unwrap_or_else(|| MemoryBudget::of_machine(1))
    }
}

/// The rows a model runs on: read whole, or table files read a part at a time
/// (`--stream`, or more than `--memory-budget`), so that memory holds one part of them.
// One value per run: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Rows<'a> {
    Whole(Dataset),
    /// Rows at their index in the files plus `offset`.
    Parts {
        rows: ChunkedRows,
        labels_file: Option<&'a Path>,
        offset: u64,
    },
}

impl<'a> Rows<'a> {
    /// `input`'s rows for `model` (a named dataset's test split), at `offset` (the
    /// global index of their first row), to be read for `doing` ("scoring"), said on
    /// standard error when they are read a part at a time.
    pub fn open(
        input: &'a ModelData,
        stream: &StreamArgs,
        model: &autoencoder::Autoencoder,
        offset: u64,
        doing: &str,
    ) -> Result<Rows<'a>> {
        let data = &input.data;
        let budget = stream.budget();
        let streamed = match data.table_files(&input.files) {
            None if stream.stream => return Err(data.cannot_stream(&input.files)),
            None => None,
            Some(paths) => (stream.stream || budget.exceeded_by(paths, 1)?).then_some(paths),
        };
        match streamed {
            Some(paths) => {
                let rows = ChunkedRows::open(paths, &input.reading(model).load_options())?;
                if rows.dropped_rows() > 0 {
                    eprintln!(
                        "left out {} row(s) with a missing value; {} kept",
                        rows.dropped_rows(),
                        rows.rows()
                    );
                }
                let why = match stream.stream {
                    true => String::new(),
                    false => format!(", more than the memory budget of {budget} (--memory-budget)"),
                };
                eprintln!(
                    "{doing} {} rows of {} values from {} ({} as f32{why}) a part at a time, of at most {} rows",
                    rows.rows(),
                    rows.cols(),
                    rows.source,
                    human_bytes(rows.bytes()),
                    rows.largest_part()
                );
                // Of a data file and a labels file, only the first is the rows'.
                let labels_file = input.files.get(paths.len()).map(PathBuf::as_path);
                Ok(Rows::Parts { rows, labels_file, offset })
            }
            None => {
                let mut data = input.load_for(model, Split::Test)?;
                data.first_row = offset;
                Ok(Rows::Whole(data))
            }
        }
    }

    /// The data's name.
    pub fn source(&self) -> &str {
        match self {
            Rows::Whole(d) => &d.source,
            Rows::Parts { rows, .. } => &rows.source,
        }
    }

    /// The data's column names, when it has them.
    pub fn feature_names(&self) -> Option<&[String]> {
        match self {
            Rows::Whole(d) => d.feature_names.as_deref(),
            Rows::Parts { rows, .. } => rows.feature_names(),
        }
    }

    /// The rows' image shape, when they are images (table files read a part at a time
    /// are not).
    pub fn image_shape(&self) -> Option<autoencoder::ImageShape> {
        match self {
            Rows::Whole(d) => d.image_shape,
            Rows::Parts { .. } => None,
        }
    }

    /// The range of every value (for parts, a pass over them).
    pub fn value_range(&self) -> Result<autoencoder::data::ValueRange> {
        match self {
            Rows::Whole(d) => Ok(d.value_range()),
            Rows::Parts { rows, .. } => rows.value_range(),
        }
    }

    /// How many rows there are.
    pub fn count(&self) -> u64 {
        match self {
            Rows::Whole(d) => d.rows() as u64,
            Rows::Parts { rows, .. } => rows.rows(),
        }
    }

    /// A labels file given beside streamed data (its second file). (Data read whole
    /// holds its labels.)
    pub fn labels_file(&self) -> Option<&'a Path> {
        match self {
            Rows::Parts { labels_file, .. } => *labels_file,
            Rows::Whole(_) => None,
        }
    }

    /// The labels in file `p`, one per row (and with `binary`, each 0 or 1).
    pub fn labels_from(&self, p: &Path, binary: bool) -> Result<Vec<i64>> {
        let labels = load_labels(p)?;
        if labels.len() as u64 != self.count() {
            return Err(Error::format(
                p,
                format!("{} labels for {} rows in {}", labels.len(), self.count(), self.source()),
            ));
        }
        if binary {
            anomaly::check_binary_labels(&labels, &p.display().to_string())?;
        }
        Ok(labels)
    }

    /// Each part in order (the rows whole are one), checked against `model`.
    pub fn for_each(
        &self,
        model: &autoencoder::Autoencoder,
        mut each: impl FnMut(&Dataset) -> Result<()>,
    ) -> Result<()> {
        match self {
            Rows::Whole(data) => each(data),
            Rows::Parts { rows, offset, .. } => {
                model.check_width(rows.cols(), &rows.source)?;
                rows.for_each_part(0..rows.rows(), *offset, |part| {
                    model.check_data(&part)?;
                    each(&part)
                })
            }
        }
    }

    /// Write `map` of the rows (`cols` values a row, named `header`) to `path` (`-`:
    /// standard output, as CSV), and return the rows written. Rows read whole are
    /// mapped at once and written by [`write_array`], unless their output would pass
    /// `budget` (a wide code of many rows); those, and rows read a part
    /// at a time, are mapped and written a part at a time (chunks of 8,192 rows of rows
    /// read whole), into the one output ([`RowsWriter`]: `.npy`, `.csv` or `.parquet`,
    /// the same bytes).
    pub fn write_mapped<F>(
        &self,
        model: &autoencoder::Autoencoder,
        path: &Path,
        cols: usize,
        header: &[String],
        budget: MemoryBudget,
        mut map: F,
    ) -> Result<u64>
    where
        F: FnMut(&[f32]) -> Result<Vec<f32>>,
    {
        if path.as_os_str() != "-" {
            // A name for another format, refused before the rows are computed.
            autoencoder::data::rows_writer::check_csv_name(path, ".npy, .npz, .parquet or .csv", &[])?;
        }
        let out_bytes = self.count().saturating_mul(cols as u64).saturating_mul(4);
        let whole = match self {
            Rows::Whole(data) if out_bytes <= budget.bytes() => data,
            _ => {
                if let Rows::Whole(_) = self {
                    eprintln!(
                        "writing {} rows of {cols} values ({} as f32, more than the memory budget of {budget}) a part at a time",
                        self.count(),
                        human_bytes(out_bytes)
                    );
                }
                let mut ids = false;
                atomic::write_atomic_try(path, |out| {
                    let mut w = RowsWriter::new(path, out, self.count(), cols, Some(header))?;
                    self.for_each_chunk(model, |x, part_ids| {
                        ids |= part_ids.is_some();
                        w.write(&map(x)?, part_ids)
                    })?;
                    w.finish()
                })?;
                if ids && RowsFormat::of(path)? == RowsFormat::Npy {
                    eprintln!(
                        "note: {} holds the values only; write .csv or .parquet to keep the ids",
                        path.display()
                    );
                }
                return Ok(self.count());
            }
        };
        let y = map(whole.as_slice())?;
        match path.as_os_str() == "-" {
            true => print_csv(&y, cols, header, whole.ids.as_ref())?,
            false => write_array(path, &y, cols, Some(header), whole.ids.as_ref())?,
        }
        Ok(whole.rows() as u64)
    }

    /// Each part's rows and ids in order, rows read whole in chunks of 8,192 rows.
    fn for_each_chunk(
        &self,
        model: &autoencoder::Autoencoder,
        mut each: impl FnMut(&[f32], Option<&RowIds>) -> Result<()>,
    ) -> Result<()> {
        let Rows::Whole(data) = self else {
            return self.for_each(model, |part| each(part.as_slice(), part.ids.as_ref()));
        };
        let chunk = 8 * autoencoder::model::INFERENCE_BATCH;
        for start in (0..data.rows()).step_by(chunk) {
            let end = (start + chunk).min(data.rows());
            let ids = data.ids.as_ref().map(|i| i.slice(start..end));
            each(data.rows_in(start..end), ids.as_ref())?;
        }
        Ok(())
    }

    /// Score every row with `kind`, handing each part (the rows whole are one) and its
    /// scores to `each` in order ([`anomaly::score_parts`]).
    pub fn score<F>(
        &self,
        model: &autoencoder::Autoencoder,
        kind: ScoreKind,
        threads: &Threads,
        mut each: F,
    ) -> Result<()>
    where
        F: FnMut(&Dataset, anomaly::Scored) -> Result<()>,
    {
        match self {
            Rows::Whole(data) => each(data, anomaly::score_rows(model, data, Some(kind), threads)?),
            Rows::Parts { rows, offset, .. } => {
                anomaly::score_parts(model, rows, 0..rows.rows(), *offset, Some(kind), threads, each)
                    .map(|_| ())
            }
        }
    }
}
