//! Data read a chunk at a time: one or several files seen as one sequence of rows, cut
//! into chunks (a Parquet file's row groups, an Arrow IPC file's record batches, an NPY
//! or CSV file's ranges of rows, any other file whole), each read on its own — what passes over data larger than memory
//! (streamed training) read through.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::columns::{Categorical, Missing, MAX_CATEGORIES};
use super::csv::CsvIndex;
use super::dataset::{Dataset, RowIds};
use super::npy;
use super::open::{detect, load_file, Format, LoadOptions};
use super::shards;
use crate::error::{Error, Result};

/// The bytes of values (as f32) in one chunk of an NPY or CSV file (the tests' are
/// small, so that small files make several).
#[cfg(not(test))]
const CHUNK_BYTES: usize = 64 << 20;
#[cfg(test)]
const CHUNK_BYTES: usize = 4096;

/// The bytes of values [`ChunkedRows::read_rows`] reads of an NPY chunk at a time.
#[cfg(not(test))]
const NPY_PIECE_BYTES: usize = 8 << 20;
#[cfg(test)]
const NPY_PIECE_BYTES: usize = 1024;

/// Where one chunk's rows are.
#[derive(Debug, Clone, Copy)]
enum Part {
    /// Row group `g` of a Parquet file.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    RowGroup(usize),
    /// A record batch of an Arrow IPC file or stream.
    #[cfg(feature = "parquet")]
    ArrowBatch(super::columnar::ArrowBatch),
    /// Rows `start..start + rows` of an NPY file laid out as `layout` says.
    NpyRows(super::npy::RowLayout, usize),
    /// Data rows `start..start + rows` of a CSV file (its [`CsvIndex`] tells where).
    CsvRows(usize),
    /// The whole file.
    Whole,
}

#[derive(Debug, Clone)]
struct Chunk {
    file: usize,
    part: Part,
    /// Its rows in the file.
    raw: usize,
    /// The rows it gives: `raw`, less those with a missing value under `--missing drop`.
    rows: usize,
    /// The global index of the chunk's first row.
    first: u64,
    /// Its first row's index among every row of the files, those `--missing drop`
    /// leaves out included (`first` until rows are left out): the id the rows read
    /// whole give it.
    raw_first: u64,
    /// Rows of its file before it.
    in_file: u64,
}

/// The rows of one or several files ([`shards::expand`]: files, a folder, a glob) as
/// one dataset read a chunk at a time: a Parquet file by its row groups, an Arrow IPC
/// file (`ARROW1`, not a stream) by its record batches, a 1-D or 2-D NPY file by ranges
/// of 64 MiB of rows (read at their place in the file), a CSV file by ranges of about
/// 64 MiB of values (read from the byte offset where the range starts, which a scan
/// found at opening), any other file whole. Opening reads the Parquet footers and the
/// first row group of each file, the NPY headers, and every other file once (to count
/// its rows and check its columns; a CSV or Arrow file without keeping its rows);
/// memory then holds one chunk at a time.
///
/// Every chunk has the first's width and column names (the error names the file that
/// differs). Categorical columns are encoded with the values of every chunk, found by
/// a first pass ([`open`](Self::open)). Under `--missing drop` opening reads every chunk
/// once more, to count its rows without a missing value: the rows are numbered as the
/// rows kept of the whole data are.
#[derive(Debug, Clone)]
pub struct ChunkedRows {
    files: Vec<PathBuf>,
    /// Each CSV file's index (`None` for the other files).
    csv: Vec<Option<CsvIndex>>,
    opts: LoadOptions,
    chunks: Vec<Chunk>,
    rows: u64,
    cols: usize,
    feature_names: Option<Vec<String>>,
    nan_is_missing: bool,
    /// Rows left out for a missing value (`--missing drop`).
    dropped: u64,
    /// The range of the rows' values, when a pass at opening saw them all (that of
    /// `--missing drop`).
    range: Option<super::ValueRange>,
    /// Where the rows came from, for messages and the model's training summary.
    pub source: String,
}

impl ChunkedRows {
    /// Open the files `paths` names, read with `opts`. Categorical columns without fixed
    /// values ([`Columns::categories`](super::columns::Columns::categories)) are given the
    /// sorted union of every chunk's values first, by one pass over the chunks that keeps
    /// only those values ([`categories_of`](Self::categories_of)): every chunk is then
    /// one-hot encoded alike, as reading the rows whole would encode them. Under
    /// [`Missing::Drop`] the rows with a missing value are left out of every chunk, and
    /// the rows kept are numbered in order ([`dropped_rows`](Self::dropped_rows)).
    pub fn open(paths: &[PathBuf], opts: &LoadOptions) -> Result<ChunkedRows> {
        if opts.columns.categorical.is_empty() || !opts.columns.categories.is_empty() {
            return Self::open_with(paths, opts, true);
        }
        let categories = Self::categories_of(paths, opts)?;
        let opts = LoadOptions { columns: opts.columns.clone().with_categories(&categories), ..opts.clone() };
        Self::open_with(paths, &opts, true)
    }

    /// The values of the categorical columns `opts` names in every chunk of the files
    /// `paths` names, each column's sorted: the encodings reading the rows whole gives
    /// ([`columns::one_hot`](super::columns::one_hot), and the union of
    /// [`shards::load`]). Memory holds one chunk and the values.
    pub fn categories_of(paths: &[PathBuf], opts: &LoadOptions) -> Result<Vec<Categorical>> {
        // Each chunk has the width its own values give, so widths are not compared.
        let probe = Self::open_with(paths, opts, false)?;
        let mut union: Vec<(String, BTreeSet<String>)> = Vec::new();
        for i in 0..probe.chunks.len() {
            let d = probe.load(i)?;
            if i == 0 {
                union = d.categories.iter().map(|c| (c.column.clone(), BTreeSet::new())).collect();
            }
            if d.categories.iter().map(|c| &c.column).ne(union.iter().map(|(c, _)| c)) {
                return Err(Error::format(
                    &probe.files[probe.chunks[i].file],
                    format!(
                        "a shard with other categorical columns, unlike {} (the first shard)",
                        probe.files[0].display()
                    ),
                ));
            }
            for ((name, all), c) in union.iter_mut().zip(d.categories) {
                all.extend(c.values);
                if all.len() > MAX_CATEGORIES {
                    return Err(Error::Data(format!(
                        "{}: categorical column \"{name}\" has more than {MAX_CATEGORIES} distinct values; at most {MAX_CATEGORIES} can be one-hot encoded (leave it out with ignore_columns)",
                        probe.source
                    )));
                }
            }
        }
        Ok(union
            .into_iter()
            .map(|(column, values)| Categorical { column, values: values.into_iter().collect() })
            .collect())
    }

    /// [`open`](Self::open) without choosing categorical values; `checked`: each file's
    /// width and column names are compared with the first's.
    fn open_with(paths: &[PathBuf], opts: &LoadOptions, checked: bool) -> Result<ChunkedRows> {
        let files = shards::expand(paths)?;
        let mut chunks = Vec::new();
        let mut csv = Vec::new();
        let mut rows = 0u64;
        // The first file's width and column names, which every file must have.
        let mut shape: Option<(usize, Option<Vec<String>>)> = None;
        for (f, path) in files.iter().enumerate() {
            if super::open::is_stream(path) {
                return Err(Error::format(
                    path,
                    "a stream cannot be read more than once; streamed training reads files",
                ));
            }
            let mut index = None;
            // A file read whole: one chunk, its rows counted and its columns checked.
            let check = |shape: &mut Option<(usize, Option<Vec<String>>)>, d: &Dataset| match checked {
                true => check_shape(shape, d, path, &files[0]),
                false => Ok(()),
            };
            let whole = |shape: &mut Option<(usize, Option<Vec<String>>)>| -> Result<Vec<(Part, usize)>> {
                let d = load_file(path, None, opts)?;
                check(shape, &d)?;
                Ok(vec![(Part::Whole, d.rows())])
            };
            let format = detect(path)?;
            super::open::check_columns_apply(format, path, &opts.columns)?;
            let parts: Vec<(Part, usize)> = match format {
                #[cfg(feature = "parquet")]
                Format::Parquet => {
                    let groups: Vec<(Part, usize)> = super::columnar::parquet_row_groups(path)?
                        .into_iter()
                        .enumerate()
                        .filter(|&(_, n)| n > 0)
                        .map(|(g, n)| (Part::RowGroup(g), n))
                        .collect();
                    // Each file's columns are checked before any pass starts.
                    if let Some(&(Part::RowGroup(g), _)) = groups.first().filter(|_| checked) {
                        let d = super::columnar::load_parquet_row_group(path, &opts.columns, g, 0)?;
                        check(&mut shape, &d)?;
                    }
                    groups
                }
                #[cfg(feature = "parquet")]
                Format::Arrow => match super::columnar::arrow_batches(path, &opts.columns)? {
                    Some((batches, d)) => {
                        check(&mut shape, &d)?;
                        let parts = batches.into_iter().filter(|&(_, n)| n > 0);
                        parts.map(|(b, n)| (Part::ArrowBatch(b), n)).collect()
                    }
                    // A stream whose batches cannot be read alone (a dictionary sent after a record
                    // batch, or no continuation markers).
                    None => whole(&mut shape)?,
                },
                Format::Npy => match npy::row_layout(path)? {
                    Some(l) => {
                        let d = Dataset::new(Vec::new(), 0, l.cols, path.display().to_string())?;
                        check(&mut shape, &d)?;
                        let per = (CHUNK_BYTES / (l.cols * 4).max(1)).max(1);
                        (0..l.rows).step_by(per).map(|a| (Part::NpyRows(l, a), per.min(l.rows - a))).collect()
                    }
                    None => whole(&mut shape)?,
                },
                Format::Csv => {
                    let ix = super::csv::index(path, &opts.csv, &opts.columns, CHUNK_BYTES / 4)?;
                    let mut d = Dataset::new(Vec::new(), 0, ix.cols(), path.display().to_string())?;
                    d.feature_names = ix.feature_names().map(<[String]>::to_vec);
                    check(&mut shape, &d)?;
                    let starts: Vec<usize> = ix.chunk_starts().chain([ix.rows()]).collect();
                    index = Some(ix);
                    starts.windows(2).map(|w| (Part::CsvRows(w[0]), w[1] - w[0])).collect()
                }
                _ => whole(&mut shape)?,
            };
            csv.push(index);
            let mut in_file = 0;
            for (part, n) in parts {
                chunks.push(Chunk { file: f, part, raw: n, rows: n, first: rows, raw_first: rows, in_file });
                rows += n as u64;
                in_file += n as u64;
            }
        }
        let source = shards::source_name(paths, &files);
        // Every file with rows gave its shape (when compared).
        let shape = if checked { shape } else { Some((0, None)) };
        let Some((cols, feature_names)) = shape.filter(|_| !chunks.is_empty()) else {
            return Err(Error::Data(format!("{source}: no rows")));
        };
        let mut read = ChunkedRows {
            source,
            files,
            csv,
            opts: opts.clone(),
            chunks,
            rows,
            cols,
            feature_names,
            nan_is_missing: opts.columns.missing == Missing::Mean,
            dropped: 0,
            range: None,
        };
        if checked && opts.columns.missing == Missing::Drop {
            read.count_kept()?;
        }
        Ok(read)
    }

    /// Under `--missing drop`: read every chunk once and number only its rows without a
    /// missing value (a NaN feature), which are the rows it gives from then on; a chunk
    /// left with none is passed over. What reading the rows whole and dropping gives.
    /// The same pass keeps the range of the rows' values, for
    /// [`value_range`](Self::value_range).
    fn count_kept(&mut self) -> Result<()> {
        let mut kept = Vec::with_capacity(self.chunks.len());
        let (mut first, mut range) = (0u64, super::ValueRange::EMPTY);
        for i in 0..self.chunks.len() {
            let mut d = self.read_raw(i)?;
            // (`drop_missing` refuses a chunk with no row left; it is passed over.)
            if (0..d.rows()).any(|r| !d.row(r).iter().any(|v| v.is_nan())) {
                d.drop_missing()?;
                range = range.merge(d.value_range());
                kept.push(Chunk { rows: d.rows(), first, ..self.chunks[i].clone() });
                first += d.rows() as u64;
            }
        }
        self.range = Some(range);
        if first == 0 {
            return Err(Error::Data(format!(
                "{}: every one of the {} rows has a missing value; nothing is left to use",
                self.source, self.rows
            )));
        }
        (self.chunks, self.dropped, self.rows) = (kept, self.rows - first, first);
        Ok(())
    }

    /// The rows left out for a missing value (`--missing drop`), as
    /// [`Dataset::dropped_rows`] counts them.
    pub fn dropped_rows(&self) -> u64 {
        self.dropped
    }

    /// Rows in all.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Values per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The features' names, when the files name them.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// The one-hot encodings of the categorical columns, whose features follow the
    /// numeric ones in every chunk ([`Dataset::categories`]).
    pub fn categories(&self) -> &[Categorical] {
        &self.opts.columns.categories
    }

    /// Whether a NaN stands for a missing value ([`Missing::Mean`]).
    pub fn nan_is_missing(&self) -> bool {
        self.nan_is_missing
    }

    /// The number of chunks.
    pub fn chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Chunk `i`'s rows: its global index range.
    pub fn chunk_range(&self, i: usize) -> std::ops::Range<u64> {
        let c = &self.chunks[i];
        c.first..c.first + c.rows as u64
    }

    /// The rows the largest chunk holds in its file (before any are dropped for a
    /// missing value): what reading one whole holds in memory.
    pub fn largest_chunk(&self) -> usize {
        self.chunks.iter().map(|c| c.raw).max().unwrap_or(0)
    }

    /// Whether chunk `i`'s rows are read in place, any part of it alone: an NPY file's
    /// rows, none of them dropped for a missing value. Any other chunk is read whole,
    /// whatever part of it is asked for.
    fn in_place(&self, i: usize) -> bool {
        let c = &self.chunks[i];
        matches!(c.part, Part::NpyRows(..)) && c.rows == c.raw
    }

    /// The rows of the parts of chunk `i` that passes over the data read one at a time
    /// ([`parts`](Self::parts)): 8 MiB of values for a chunk read in place (an NPY
    /// file's rows), the whole chunk for any other.
    pub fn part_rows(&self, i: usize) -> usize {
        if self.in_place(i) {
            (NPY_PIECE_BYTES / (self.cols * 4).max(1)).max(1)
        } else {
            self.chunks[i].raw
        }
    }

    /// Rows `range` (global indices) cut into the parts that passes over the data read one
    /// at a time, in order, as `(chunk, rows)`: each within one chunk, and an NPY file's
    /// rows in parts of 8 MiB of values, which cost no more memory than that to read
    /// ([`read_rows`](Self::read_rows)). Any other chunk's rows are one part.
    pub fn parts(&self, range: std::ops::Range<u64>) -> Vec<(usize, std::ops::Range<u64>)> {
        let mut out = Vec::new();
        for i in 0..self.chunks.len() {
            let r = self.chunk_range(i);
            let (mut at, end) = (r.start.max(range.start), r.end.min(range.end));
            while at < end {
                let next = at.saturating_add(self.part_rows(i).max(1) as u64).min(end);
                out.push((i, at..next));
                at = next;
            }
        }
        out
    }

    /// Rows `rows` of chunk `i` (a part [`parts`](Self::parts) gives): the chunk as
    /// [`read`](Self::read) gives it when they are all its rows, else
    /// [`read_rows`](Self::read_rows).
    pub fn read_part(&self, i: usize, rows: std::ops::Range<u64>) -> Result<Dataset> {
        if rows == self.chunk_range(i) {
            return self.read(i);
        }
        let mut d = self.read_rows(rows.clone())?;
        // Rows left out under `--missing drop`: the part's rows carry their index among
        // every row of the files, as [`read`](Self::read) gives them.
        if self.opts.columns.missing == Missing::Drop && self.dropped > 0 && d.ids.is_none() {
            let c = &self.chunks[i];
            let (a, b) = (rows.start - c.first, rows.end - c.first);
            d.ids = match self.in_place(i) {
                true => Some(RowIds::Int((c.raw_first + a..c.raw_first + b).map(|r| r as i64).collect())),
                false => {
                    self.read(i)?.ids.map(|ids| ids.select(&(a as usize..b as usize).collect::<Vec<_>>()))
                }
            };
        }
        Ok(d)
    }

    /// Read rows `range` a part at a time ([`parts`](Self::parts)) and hand each part to
    /// `each` in order, its [`Dataset::first_row`] its first row's index plus `offset`
    /// (the files' first row's index in a larger table): a pass over files larger than
    /// memory that holds one part of them. The first error, of a read or of `each`,
    /// ends it.
    pub fn for_each_part<F>(&self, range: std::ops::Range<u64>, offset: u64, mut each: F) -> Result<()>
    where
        F: FnMut(Dataset) -> Result<()>,
    {
        for (i, rows) in self.parts(range) {
            let mut part = self.read_part(i, rows)?;
            part.first_row = part.first_row.checked_add(offset).ok_or_else(|| {
                Error::config("row_offset", format!("{offset} places the rows of {} past 2⁶⁴", self.source))
            })?;
            each(part)?;
        }
        Ok(())
    }

    /// The most rows one read of a part ([`parts`](Self::parts)) holds in memory: what a
    /// pass over the data holds of it at a time.
    pub fn largest_part(&self) -> usize {
        (0..self.chunks.len()).map(|i| self.part_rows(i).min(self.chunks[i].raw)).max().unwrap_or(0)
    }

    /// The range of every row's values, by a pass over the chunks (none when a pass at
    /// opening kept it): what the defaults chosen for the rows look at
    /// ([`Settings::for_data_in`](crate::Settings::for_data_in)).
    pub fn value_range(&self) -> Result<super::ValueRange> {
        if let Some(range) = self.range {
            return Ok(range);
        }
        let mut range = super::ValueRange::EMPTY;
        for i in 0..self.chunks.len() {
            range = range.merge(self.read(i)?.value_range());
        }
        Ok(range)
    }

    /// The bytes the rows take in memory as f32.
    pub fn bytes(&self) -> u64 {
        self.rows.saturating_mul(self.cols as u64 * 4)
    }

    /// Read chunk `i` ([`Dataset::first_row`] is its global index). Its width and column
    /// names must be the first chunk's, it must hold as many rows as when opened, and
    /// its values must be finite (NaN allowed when it stands for a missing value): the
    /// error names the file and the row in it. Under `--missing drop`, the rows with a
    /// missing value are left out, and as many must be left as at opening.
    pub fn read(&self, i: usize) -> Result<Dataset> {
        let c = &self.chunks[i];
        let mut d = self.read_raw(i)?;
        if self.opts.columns.missing == Missing::Drop {
            // The rows kept are numbered as the rows read whole number them: by an id
            // column, else (when any row of the files was left out) by their index among
            // every row of the files, the ones left out included.
            let had_ids = d.ids.is_some();
            d.first_row = c.raw_first;
            let dropped = d.drop_missing()?;
            if !had_ids {
                d.ids = match (self.dropped_rows(), dropped) {
                    (0, _) => None,
                    (_, 0) => Some(d.row_ids()),
                    _ => d.ids.take(),
                };
            }
            if d.rows() != c.rows {
                return Err(Error::format(
                    &self.files[c.file],
                    format!(
                        "changed while it was read: {} rows without a missing value where there were {}",
                        d.rows(),
                        c.rows
                    ),
                ));
            }
        }
        d.nan_is_missing = self.nan_is_missing;
        d.first_row = c.first;
        Ok(d)
    }

    /// Chunk `i` with every row its file holds there, checked: the first chunk's width
    /// and column names, the row count found at opening, finite values (NaN allowed
    /// when it is missing: `--missing mean` or `drop`).
    fn read_raw(&self, i: usize) -> Result<Dataset> {
        let c = &self.chunks[i];
        let path = &self.files[c.file];
        let d = self.load(i)?;
        if d.cols() != self.cols || d.feature_names != self.feature_names {
            return Err(shards::other_columns(path, &d, &self.files[0], (self.cols, &self.feature_names)));
        }
        if d.rows() != c.raw {
            return Err(Error::format(
                path,
                format!("changed while it was read: {} rows where there were {}", d.rows(), c.raw),
            ));
        }
        d.check_values_after(self.opts.columns.missing != Missing::Error, c.in_file)?;
        Ok(d)
    }

    /// Chunk `i` as its file gives it, unchecked.
    fn load(&self, i: usize) -> Result<Dataset> {
        let c = &self.chunks[i];
        let path = &self.files[c.file];
        Ok(match c.part {
            Part::CsvRows(start) => self.csv_rows(i, start..start + c.raw)?,
            #[cfg(feature = "parquet")]
            Part::RowGroup(g) => {
                super::columnar::load_parquet_row_group(path, &self.opts.columns, g, c.in_file as usize)?
            }
            #[cfg(feature = "parquet")]
            Part::ArrowBatch(b) => {
                super::columnar::load_arrow_batch(path, &self.opts.columns, b, c.in_file as usize)?
            }
            #[cfg(not(feature = "parquet"))]
            Part::RowGroup(_) => unreachable!("row groups come from Parquet files"),
            Part::NpyRows(layout, start) => npy::read_rows(path, &layout, start..start + c.raw)?,
            Part::Whole => load_file(path, None, &self.opts)?,
        })
    }
}

impl ChunkedRows {
    /// Rows `range` (global indices, within [`rows`](Self::rows)) as one dataset whose
    /// [`Dataset::first_row`] is `range.start`: only the chunks that hold them are read,
    /// one at a time (an NPY file's rows in pieces of 8 MiB), so that memory holds these
    /// rows and one chunk or piece — a process's share of rows shared out among processes.
    pub fn read_rows(&self, range: std::ops::Range<u64>) -> Result<Dataset> {
        let n = self.check_range(&range)?;
        let mut values = super::buffer::with_capacity(n.saturating_mul(self.cols));
        self.read_rows_into(range.clone(), &mut values)?;
        let mut d = Dataset::new(values, n, self.cols, self.source.clone())?;
        d.feature_names.clone_from(&self.feature_names);
        d.categories.clone_from(&self.opts.columns.categories);
        d.nan_is_missing = self.nan_is_missing;
        d.first_row = range.start;
        Ok(d)
    }

    /// The values of [`read_rows`](Self::read_rows) appended to `out`, with its checks:
    /// an NPY file's rows are read straight into `out`, a piece of 8 MiB at a time, so that
    /// a caller that keeps `out` (a window of streamed rows) makes no buffer per read.
    pub fn read_rows_into(&self, range: std::ops::Range<u64>, out: &mut Vec<f32>) -> Result<()> {
        self.check_range(&range)?;
        for i in 0..self.chunks.len() {
            let r = self.chunk_range(i);
            if r.end <= range.start || r.start >= range.end {
                continue;
            }
            let (a, b) =
                ((range.start.max(r.start) - r.start) as usize, (range.end.min(r.end) - r.start) as usize);
            // (A chunk with rows dropped is read whole: which of its rows are kept is
            // known once they are read.)
            let all = self.chunks[i].rows == self.chunks[i].raw;
            match self.chunks[i].part {
                // An NPY chunk's rows in pieces of their own: memory holds one piece.
                Part::NpyRows(layout, start) if all => {
                    let per = self.part_rows(i);
                    for s in (a..b).step_by(per) {
                        let piece = s..(s + per).min(b);
                        let at = out.len();
                        let path = &self.files[self.chunks[i].file];
                        let rows =
                            npy::read_rows_into(path, &layout, start + piece.start..start + piece.end, out)?;
                        self.check_piece(i, &out[at..], rows, piece)?;
                    }
                }
                // A CSV chunk's rows, read from the mark before them to the last.
                Part::CsvRows(start) if all => {
                    let d = self.csv_rows(i, start + a..start + b)?;
                    self.check_piece(i, d.as_slice(), d.rows(), a..b)?;
                    out.extend_from_slice(d.as_slice());
                }
                _ => out.extend_from_slice(self.read(i)?.rows_in(a..b)),
            }
        }
        Ok(())
    }

    /// The rows of `range`, an error unless it lies within the rows.
    fn check_range(&self, range: &std::ops::Range<u64>) -> Result<usize> {
        if range.start > range.end || range.end > self.rows {
            return Err(Error::Data(format!(
                "{}: rows {}..{} asked of {} rows",
                self.source, range.start, range.end, self.rows
            )));
        }
        usize::try_from(range.end - range.start)
            .map_err(|_| Error::Data(format!("{}: more rows than this machine can hold", self.source)))
    }
}

impl ChunkedRows {
    /// Data rows `rows` of the CSV file of chunk `i`.
    fn csv_rows(&self, i: usize, rows: std::ops::Range<usize>) -> Result<Dataset> {
        let f = self.chunks[i].file;
        let index = self.csv[f].as_ref().expect("a CSV chunk's file has an index");
        super::csv::load_rows(&self.files[f], &self.opts.csv, &self.opts.columns, index, rows)
    }

    /// [`read`](Self::read)'s checks of rows `piece` of chunk `i`, read as `rows` rows
    /// of `values`.
    fn check_piece(
        &self,
        i: usize,
        values: &[f32],
        rows: usize,
        piece: std::ops::Range<usize>,
    ) -> Result<()> {
        let c = &self.chunks[i];
        let path = &self.files[c.file];
        if rows != piece.len() {
            return Err(Error::format(
                path,
                format!("changed while it was read: {} rows where there were {}", rows, piece.len()),
            ));
        }
        let (names, source) = (self.feature_names.as_deref(), path.display().to_string());
        let before = c.in_file + piece.start as u64;
        super::dataset::check_finite_after(values, self.cols, names, &source, self.nan_is_missing, before)
    }
}

/// About how many bytes the rows of the files `paths` names take in memory as f32,
/// without reading them: a Parquet file's rows × columns × 4 from its footer, any
/// other file's size on disk (CSV text is mostly larger than its values; NPY float32
/// the same). For choosing between training in memory and streaming.
pub fn estimate_bytes(paths: &[PathBuf]) -> Result<u64> {
    let mut total = 0u64;
    for path in shards::expand(paths)? {
        if super::open::is_stream(&path) {
            continue;
        }
        total = total.saturating_add(match detect(&path)? {
            #[cfg(feature = "parquet")]
            Format::Parquet => super::columnar::parquet_values(&path)?.saturating_mul(4),
            _ => std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?.len(),
        });
    }
    Ok(total)
}

/// Check `d` (from `path`) has the shape of the first file read, or make it the first.
fn check_shape(
    first: &mut Option<(usize, Option<Vec<String>>)>,
    d: &Dataset,
    path: &Path,
    first_path: &Path,
) -> Result<()> {
    match first {
        None => {
            *first = Some((d.cols(), d.feature_names.clone()));
            Ok(())
        }
        Some((cols, names)) if d.cols() == *cols && d.feature_names == *names => Ok(()),
        Some((cols, names)) => Err(shards::other_columns(path, d, first_path, (*cols, names))),
    }
}
