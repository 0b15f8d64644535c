//! `Dataset`: the rows every loader produces and every model consumes.

use std::ops::Range;

use super::values::Values;
use crate::error::{Error, Result};

/// The largest [`Dataset::first_row`] a front accepts (`ae score --row-offset`,
/// Python's `row_offset`): 2⁶², so that every row's id `first_row + i` fits a 64-bit
/// integer.
pub const MAX_FIRST_ROW: u64 = 1 << 62;

/// The most values an input row of images may have (1,048,576: 1024×1024 grey), which
/// the image loader refuses beyond; a convolutional layer may output 16 times as many.
/// Hidden and code layers have their own, smaller limit,
/// [`MAX_LAYER_WIDTH`](crate::model::MAX_LAYER_WIDTH).
pub const MAX_WIDTH: usize = 1 << 20;

/// The shape of one image row: channels × height × width, stored channel-major
/// (`C·H·W` values per row, as PyTorch lays out a single image).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageShape {
    /// Channels: 1 for grayscale, 3 for RGB.
    pub channels: usize,
    /// Rows of pixels.
    pub height: usize,
    /// Columns of pixels.
    pub width: usize,
}

impl ImageShape {
    /// Values per image, `C·H·W`.
    pub fn len(&self) -> usize {
        // Saturating: a shape read from a file may be absurd; usize::MAX matches no real width.
        self.channels.saturating_mul(self.height).saturating_mul(self.width)
    }
    /// True when the shape holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a model needs to know of its data before training: the width of a row and,
/// for images, their shape ([`Dataset::shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataShape {
    /// Values per row.
    pub cols: usize,
    /// The image shape of a row, when the rows are images.
    pub image_shape: Option<ImageShape>,
}

impl DataShape {
    /// Rows of `cols` values that are not images.
    pub fn table(cols: usize) -> DataShape {
        DataShape { cols, image_shape: None }
    }
}

/// Each row's id, from a table's id column: what every per-row output carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowIds {
    /// Whole numbers (a Parquet or Arrow integer column).
    Int(Vec<i64>),
    /// Text, as written (a CSV column, a Parquet or Arrow string column).
    Text(Vec<String>),
}

impl RowIds {
    /// The ids of rows `range`.
    pub fn slice(&self, range: Range<usize>) -> RowIds {
        match self {
            RowIds::Int(v) => RowIds::Int(v[range].to_vec()),
            RowIds::Text(v) => RowIds::Text(v[range].to_vec()),
        }
    }

    /// How many ids.
    pub fn len(&self) -> usize {
        match self {
            RowIds::Int(v) => v.len(),
            RowIds::Text(v) => v.len(),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add `more`'s ids after these, when they are of the same kind (integers or text);
    /// false, and nothing added, when they are not.
    pub fn append(&mut self, more: &RowIds) -> bool {
        match (self, more) {
            (RowIds::Int(all), RowIds::Int(v)) => all.extend_from_slice(v),
            (RowIds::Text(all), RowIds::Text(v)) => all.extend_from_slice(v),
            _ => return false,
        }
        true
    }

    /// Row `i`'s id as text.
    pub fn text(&self, i: usize) -> std::borrow::Cow<'_, str> {
        match self {
            RowIds::Int(v) => v[i].to_string().into(),
            RowIds::Text(v) => v[i].as_str().into(),
        }
    }

    fn range(&self, r: Range<usize>) -> RowIds {
        match self {
            RowIds::Int(v) => RowIds::Int(v[r].to_vec()),
            RowIds::Text(v) => RowIds::Text(v[r].to_vec()),
        }
    }

    pub(crate) fn select(&self, indices: &[usize]) -> RowIds {
        match self {
            RowIds::Int(v) => RowIds::Int(indices.iter().map(|&i| v[i]).collect()),
            RowIds::Text(v) => RowIds::Text(indices.iter().map(|&i| v[i].clone()).collect()),
        }
    }
}

/// `n` rows of `d` features, f32, row-major, with optional integer labels and an
/// optional image shape (`C·H·W == d`), and a description of where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The values: f32, or the bytes of 8-bit rows ([`Dataset::from_bytes`]), their f32
    /// decoded on first use.
    data: Values,
    rows: usize,
    cols: usize,
    /// One label per row, when the source has them.
    pub labels: Option<Vec<i64>>,
    /// The class names of text labels: label `k` is `label_names[k]` (the texts in
    /// sorted order); `None` when the labels were numbers.
    pub label_names: Option<Vec<String>>,
    /// The image shape of each row, when the rows are images.
    pub image_shape: Option<ImageShape>,
    /// Where the rows came from (a path, `fashion-mnist:train`, `synthetic(seed=0)`).
    pub source: String,
    /// Feature names (CSV headers), when known.
    pub feature_names: Option<Vec<String>>,
    /// The index of row 0 in the whole data these rows were taken from: 0 for a whole
    /// file; a shard's first global row index (`ae score --row-offset`). Whatever is
    /// drawn at random for a row at inference (the `elbo` score's posterior samples) is
    /// drawn at the row's global index `first_row + i`, so a row's outputs are the same
    /// whether it is scored alone, in a shard or in the whole file.
    pub first_row: u64,
    /// Each row's id, when the table has an id column.
    pub ids: Option<RowIds>,
    /// Whether a NaN value stands for a missing one (a table read with
    /// [`Missing::Mean`](super::columns::Missing::Mean)): training then fits each
    /// feature's fill into the model's normaliser, and [`Dataset::check_finite`] lets
    /// NaN through (never ±∞).
    pub nan_is_missing: bool,
    /// How many rows with a missing value were left out as they were read
    /// ([`Missing::Drop`](super::columns::Missing::Drop)).
    pub dropped_rows: usize,
    /// The one-hot encodings of a table's categorical columns, whose features follow
    /// the numeric ones (a model trained on these rows keeps them).
    pub categories: Vec<super::columns::Categorical>,
}

/// The least and the greatest value of some rows (NaN aside), and whether any is NaN:
/// what the defaults chosen for a table look at ([`ModelConfig::for_data_in`]). Ranges of
/// parts merge into the range of the whole ([`ValueRange::merge`]), so that rows read a
/// chunk at a time, or shared out among processes, choose what the whole rows choose.
///
/// [`ModelConfig::for_data_in`]: crate::ModelConfig::for_data_in
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueRange {
    /// The least value (`+∞` for none).
    pub lo: f32,
    /// The greatest value (`−∞` for none).
    pub hi: f32,
    /// Whether any value is NaN.
    pub nan: bool,
}

impl ValueRange {
    /// The range of no values.
    pub const EMPTY: ValueRange = ValueRange { lo: f32::INFINITY, hi: f32::NEG_INFINITY, nan: false };

    /// The range of `values`. A zero bound is `+0.0`, whichever zeros the values hold, so
    /// that the range does not depend on the order the values are met in
    /// ([`merge`](Self::merge) of parts gives the range of the whole, bit for bit).
    pub fn of(values: &[f32]) -> ValueRange {
        let (lo, hi, nan) = crate::kernels::elementwise::bounds(values);
        // (The merge makes a zero bound +0.)
        ValueRange::EMPTY.merge(ValueRange { lo, hi, nan })
    }

    /// The range of the values of both.
    pub fn merge(self, other: ValueRange) -> ValueRange {
        // (`+ 0.0` makes a zero bound `+0.0`: −0 + 0 = +0, and any other value is kept.)
        ValueRange {
            lo: self.lo.min(other.lo) + 0.0,
            hi: self.hi.max(other.hi) + 0.0,
            nan: self.nan || other.nan,
        }
    }

    /// Whether every value lies in `[0, 1]` (true of no values).
    pub fn is_unit(&self) -> bool {
        !self.nan && self.lo >= 0.0 && self.hi <= 1.0
    }
}

impl Dataset {
    /// Rows from a row-major buffer of `rows × cols` values.
    ///
    /// Training on many megabytes of rows is faster when `data` came from
    /// [`buffer::with_capacity`](super::buffer::with_capacity) (or
    /// [`buffer::copied`](super::buffer::copied)), as every loader's does: its pages may
    /// then be huge ones, and a shuffled batch's rows cost no page walks.
    pub fn new(data: Vec<f32>, rows: usize, cols: usize, source: impl Into<String>) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(Error::Data(format!(
                "dataset buffer holds {} values, expected {rows} rows × {cols} columns = {}",
                data.len(),
                rows * cols
            )));
        }
        Ok(Dataset::of(Values::of(data), rows, cols, source.into()))
    }

    /// Rows of `data` with nothing else known about them (no labels, ids or shape).
    fn of(data: Values, rows: usize, cols: usize, source: String) -> Dataset {
        Dataset {
            data,
            rows,
            cols,
            labels: None,
            label_names: None,
            image_shape: None,
            source,
            feature_names: None,
            first_row: 0,
            ids: None,
            nan_is_missing: false,
            dropped_rows: 0,
            categories: Vec::new(),
        }
    }

    /// Rows of 8-bit values (images read from 8-bit pixels): byte `k` stands for
    /// `k/255` ([`bytes::value`](super::bytes::value)). Only the bytes are held, as
    /// [`Dataset::bytes`]: training gathers from them, the checks of the values' range
    /// and finiteness read them rather than the values, or nothing, and rows taken
    /// from them ([`Dataset::slice_rows`], [`Dataset::select_rows`]) are bytes too. The
    /// f32 values, a float each, are decoded on the first call that asks for them
    /// ([`Dataset::as_slice`] and what reads it) and kept from then on.
    ///
    /// ```
    /// use autoencoder::data::Dataset;
    /// let pixels = Dataset::from_bytes(vec![0, 128, 255, 7], 2, 2, "pixels").unwrap();
    /// assert_eq!(pixels.as_slice(), &[0.0, 128.0 / 255.0, 1.0, 7.0 / 255.0]);
    /// assert_eq!(pixels.bytes(), Some(&[0u8, 128, 255, 7][..]));
    /// ```
    pub fn from_bytes(codes: Vec<u8>, rows: usize, cols: usize, source: impl Into<String>) -> Result<Self> {
        if Some(codes.len()) != rows.checked_mul(cols) {
            return Err(Error::Data(format!(
                "dataset buffer holds {} bytes, expected {rows} rows × {cols} columns",
                codes.len()
            )));
        }
        Ok(Dataset::of(Values::of_bytes(codes.into_boxed_slice()), rows, cols, source.into()))
    }

    /// Attach labels (one per row).
    pub fn with_labels(mut self, labels: Vec<i64>) -> Result<Self> {
        if labels.len() != self.rows {
            return Err(Error::Data(format!(
                "{}: {} labels for {} rows",
                self.source,
                labels.len(),
                self.rows
            )));
        }
        self.labels = Some(labels);
        Ok(self)
    }

    /// Attach row ids (one per row).
    pub fn with_ids(mut self, ids: RowIds) -> Result<Self> {
        if ids.len() != self.rows {
            return Err(Error::Data(format!("{}: {} ids for {} rows", self.source, ids.len(), self.rows)));
        }
        self.ids = Some(ids);
        Ok(self)
    }

    /// Every row's id, as per-row outputs carry it: the id column's values, else each
    /// row's global index `first_row + i`.
    pub fn row_ids(&self) -> RowIds {
        match &self.ids {
            Some(ids) => ids.clone(),
            // Global indices of real data fit i64 (at most 2⁶³ − 1 rows).
            None => RowIds::Int((0..self.rows as u64).map(|i| (self.first_row + i) as i64).collect()),
        }
    }

    /// Attach an image shape (`C·H·W` must equal the row width).
    pub fn with_image_shape(mut self, shape: ImageShape) -> Result<Self> {
        if shape.len() != self.cols {
            return Err(Error::Data(format!(
                "{}: image shape {}×{}×{} has {} values, rows have {}",
                self.source,
                shape.channels,
                shape.height,
                shape.width,
                shape.len(),
                self.cols
            )));
        }
        self.image_shape = Some(shape);
        Ok(self)
    }

    /// The row width and image shape, what [`crate::Params::check`] plans a model for.
    pub fn shape(&self) -> DataShape {
        DataShape { cols: self.cols, image_shape: self.image_shape }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Features per row.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        self.data.get()
    }
    /// All values, row-major, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        self.data.get_mut()
    }

    /// Binarise the values in place, drawn in order from `rng`
    /// ([`random::binarize`](crate::random::binarize): each value `x` becomes 1 with
    /// probability `x`). Refused, naming the first such value's row and column, when a
    /// value is no probability (outside [0, 1], or NaN): it would be clamped in silence.
    pub fn binarize(&mut self, rng: &mut crate::random::ChaCha8Rng) -> Result<()> {
        self.check_probabilities()?;
        crate::random::binarize(self.as_mut_slice(), rng);
        Ok(())
    }

    /// The values binarised as [`binarize`](Self::binarize) would, in a new vector.
    pub fn binarized(&self, rng: &mut crate::random::ChaCha8Rng) -> Result<Vec<f32>> {
        self.check_probabilities()?;
        let mut values = self.as_slice().to_vec();
        crate::random::binarize(&mut values, rng);
        Ok(values)
    }

    fn check_probabilities(&self) -> Result<()> {
        if self.known_bytes() {
            return Ok(());
        }
        let values = self.as_slice();
        match crate::kernels::elementwise::first_outside_unit(values) {
            None => Ok(()),
            Some(i) => Err(Error::Data(format!(
                "{}: row {}, column {} is {}; binarising draws each value as the probability of a 1, so the values must lie in [0, 1] (min-max scale the data first)",
                self.source,
                self.first_row + (i / self.cols.max(1)) as u64 + 1,
                i % self.cols.max(1) + 1,
                values[i]
            ))),
        }
    }
    /// The values at one byte each, when every one is `k/255` for a whole `k` (rows read
    /// from 8-bit pixels, or 0/1 data): `k` stands for [`bytes::value`](super::bytes::value)`(k)`,
    /// the value's very bits. Made on the first call and kept (a quarter of the values'
    /// memory) until the values change; `None`, after one pass, when a value is not one.
    /// Training gathers a shuffled batch's rows from them.
    ///
    /// ```
    /// use autoencoder::data::Dataset;
    /// let pixels = Dataset::new(vec![0.0, 128.0 / 255.0, 1.0, 7.0 / 255.0], 2, 2, "pixels").unwrap();
    /// assert_eq!(pixels.bytes(), Some(&[0u8, 128, 255, 7][..]));
    /// let other = Dataset::new(vec![0.0, 0.5], 1, 2, "other").unwrap();
    /// assert_eq!(other.bytes(), None);
    /// ```
    pub fn bytes(&self) -> Option<&[u8]> {
        self.data.bytes()
    }
    /// Replace the values with `data`, rows of `cols` values (the same number of rows),
    /// keeping everything else: labels, ids, the source.
    pub fn set_values(&mut self, data: Vec<f32>, cols: usize) -> Result<()> {
        if data.len() != self.rows * cols {
            return Err(Error::Data(format!(
                "{}: {} values are not {} rows of {cols}",
                self.source,
                data.len(),
                self.rows
            )));
        }
        self.data = Values::of(data);
        self.cols = cols;
        Ok(())
    }

    /// Consume into the row-major buffer.
    pub fn into_vec(self) -> Vec<f32> {
        self.data.into_vec()
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.as_slice()[i * self.cols..(i + 1) * self.cols]
    }

    /// The values of the rows in `rows`, row-major: borrowed when the values are held,
    /// else decoded from the bytes, those rows alone (so that a pass over the rows a
    /// slice at a time decodes no more than a slice at once).
    pub fn values_of(&self, rows: Range<usize>) -> std::borrow::Cow<'_, [f32]> {
        self.data.slice(rows.start * self.cols..rows.end * self.cols)
    }

    /// The rows in `rows`, `per` rows at a time (the last slice shorter; `per` of 0 is
    /// 1), each as [`values_of`](Self::values_of) gives it: a pass over rows held as
    /// bytes decodes one slice at a time, never the rows whole.
    ///
    /// ```
    /// use autoencoder::data::Dataset;
    /// let d = Dataset::new((0..10).map(|v| v as f32).collect(), 5, 2, "five rows").unwrap();
    /// let slices: Vec<Vec<f32>> = d.slices(1..5, 3).map(|s| s.into_owned()).collect();
    /// assert_eq!(slices, [vec![2.0, 3.0, 4.0, 5.0, 6.0, 7.0], vec![8.0, 9.0]]);
    /// ```
    pub fn slices(
        &self,
        rows: Range<usize>,
        per: usize,
    ) -> impl Iterator<Item = std::borrow::Cow<'_, [f32]>> + '_ {
        let per = per.max(1);
        let end = rows.end;
        rows.step_by(per).map(move |start| self.values_of(start..(start + per).min(end)))
    }

    /// Rows `start..end` as a new dataset (labels and shape kept; its
    /// [`first_row`](Dataset::first_row) is this one's plus `start`).
    pub fn slice_rows(&self, start: usize, end: usize) -> Dataset {
        assert!(start <= end && end <= self.rows, "row range out of bounds");
        Dataset {
            data: self.data.part(start * self.cols..end * self.cols),
            rows: end - start,
            cols: self.cols,
            labels: self.labels.as_ref().map(|l| l[start..end].to_vec()),
            label_names: self.label_names.clone(),
            image_shape: self.image_shape,
            source: format!("{}[{start}..{end}]", self.source),
            feature_names: self.feature_names.clone(),
            first_row: self.first_row + start as u64,
            ids: self.ids.as_ref().map(|v| v.range(start..end)),
            nan_is_missing: self.nan_is_missing,
            dropped_rows: self.dropped_rows,
            categories: self.categories.clone(),
        }
    }

    /// The rows at `indices`, in that order (a new whole: its
    /// [`first_row`](Dataset::first_row) is 0).
    pub fn select_rows(&self, indices: &[usize]) -> Dataset {
        Dataset {
            data: self.data.rows(indices, self.cols),
            rows: indices.len(),
            cols: self.cols,
            labels: self.labels.as_ref().map(|l| indices.iter().map(|&i| l[i]).collect()),
            label_names: self.label_names.clone(),
            image_shape: self.image_shape,
            source: self.source.clone(),
            feature_names: self.feature_names.clone(),
            first_row: 0,
            ids: self.ids.as_ref().map(|v| v.select(indices)),
            nan_is_missing: self.nan_is_missing,
            dropped_rows: self.dropped_rows,
            categories: self.categories.clone(),
        }
    }

    /// Leave out the rows that hold a NaN (a missing value), and return how many there
    /// were. The rows kept keep their ids: the id column's, else their global index
    /// `first_row + i` in the rows as read (a dropped row's index is not reused).
    pub fn drop_missing(&mut self) -> Result<usize> {
        if self.known_bytes() {
            return Ok(0);
        }
        let keep: Vec<usize> = (0..self.rows).filter(|&i| !self.row(i).iter().any(|v| v.is_nan())).collect();
        let dropped = self.rows - keep.len();
        if dropped == 0 {
            return Ok(0);
        }
        if keep.is_empty() {
            return Err(Error::Data(format!(
                "{}: every one of the {} rows has a missing value; nothing is left to use",
                self.source, self.rows
            )));
        }
        let ids = self.row_ids();
        let mut kept = self.select_rows(&keep);
        kept.ids = Some(ids.select(&keep));
        kept.first_row = self.first_row;
        *self = kept;
        Ok(dropped)
    }

    /// What [`Missing`](super::columns::Missing) asks of rows whose missing values are
    /// NaN: `Drop` leaves them out ([`Dataset::drop_missing`], counted in
    /// [`Dataset::dropped_rows`]), `Mean` marks NaN as missing
    /// ([`Dataset::nan_is_missing`]: the model fills it), `Error` leaves NaN to
    /// [`Dataset::check_finite`]. The loaders apply their rule with it, and a front
    /// that holds rows in memory (the Python package's arrays) applies the same.
    pub fn apply_missing(&mut self, missing: super::columns::Missing) -> Result<()> {
        use super::columns::Missing;
        match missing {
            Missing::Error => {}
            Missing::Drop => self.dropped_rows = self.drop_missing()?,
            Missing::Mean => self.nan_is_missing = true,
        }
        Ok(())
    }

    /// Keras's `validation_split`: the last `fraction` of the rows (rounded down, as
    /// Keras does: `n_train = floor(n·(1−fraction))`) are the validation part. Returns
    /// the row ranges of the training and the validation part, without copying (see
    /// [`Dataset::rows_in`]); a fraction of 0 holds out nothing. The one formula and the
    /// one error of every split: training, the loss plot's PCA line and the
    /// reconstruction grid all split here.
    ///
    /// Errors when `fraction` is not in `[0, 1)`, or when a positive fraction leaves
    /// the training or the validation part empty.
    pub fn split_validation(&self, fraction: f64) -> Result<(Range<usize>, Range<usize>)> {
        split_rows(self.rows, fraction)
    }

    /// The values of the rows in `rows`, row-major, without copying.
    pub fn rows_in(&self, rows: Range<usize>) -> &[f32] {
        &self.as_slice()[rows.start * self.cols..rows.end * self.cols]
    }

    /// The first non-finite value, as `(row, column, value)`, if any.
    pub fn find_non_finite(&self) -> Option<(usize, usize, f32)> {
        if self.known_bytes() {
            return None;
        }
        let v = self.as_slice();
        v.iter().position(|v| !v.is_finite()).map(|i| (i / self.cols, i % self.cols, v[i]))
    }

    /// The range of the values ([`ValueRange::of`]); read off the bytes when they are
    /// made ([`Dataset::bytes`]).
    pub fn value_range(&self) -> ValueRange {
        let Some(codes) = self.data.made() else {
            return ValueRange::of(self.as_slice());
        };
        byte_range(codes).map_or(ValueRange::EMPTY, |(lo, hi)| ValueRange {
            lo: super::bytes::value(lo),
            hi: super::bytes::value(hi),
            nan: false,
        })
    }

    /// Whether the f32 values are held (or decoded already): false while only the
    /// bytes of [`Dataset::from_bytes`] are.
    #[cfg(test)]
    pub(crate) fn values_decoded(&self) -> bool {
        self.data.held().is_some()
    }

    /// Tests: the same `rows × cols` bytes, varied by row and column, held as bytes
    /// ([`Dataset::from_bytes`]) and as their f32 values.
    #[cfg(test)]
    pub(crate) fn bytes_and_values(rows: usize, cols: usize) -> (Dataset, Dataset) {
        let codes: Vec<u8> = (0..rows * cols).map(|i| ((i * 7919 + i / cols * 31) % 256) as u8).collect();
        let bytes = Dataset::from_bytes(codes, rows, cols, "bytes").unwrap();
        let values = Dataset::new(bytes.values_of(0..rows).into_owned(), rows, cols, "values").unwrap();
        (bytes, values)
    }

    /// Whether every value is known to be `k/255` for a byte `k` (so finite, and in
    /// `[0, 1]`) without reading the values: the bytes are made ([`Dataset::bytes`]).
    pub(crate) fn known_bytes(&self) -> bool {
        self.data.made().is_some()
    }

    /// Fail with a message naming the row and column when any value is NaN or
    /// infinite (NaN is let through when it stands for a missing value,
    /// [`nan_is_missing`](Self::nan_is_missing)).
    pub fn check_finite(&self) -> Result<()> {
        self.check_values(self.nan_is_missing)
    }

    /// Fail with a message naming the row and column at the first infinite value, or at
    /// the first NaN unless `nan_is_missing`.
    pub fn check_values(&self, nan_is_missing: bool) -> Result<()> {
        self.check_values_after(nan_is_missing, 0)
    }

    /// [`Dataset::check_values`] of rows that come after `before` other rows of their
    /// file (a chunk of it): the message counts rows from the file's start.
    pub fn check_values_after(&self, nan_is_missing: bool, before: u64) -> Result<()> {
        if self.known_bytes() {
            return Ok(());
        }
        let names = self.feature_names.as_deref();
        check_finite_after(self.as_slice(), self.cols, names, &self.source, nan_is_missing, before)
    }

    /// The smallest and largest values.
    pub fn min_max(&self) -> (f32, f32) {
        if self.known_bytes() {
            // Read off the bytes (no NaN among them, and the same bounds).
            let r = self.value_range();
            return (r.lo, r.hi);
        }
        self.as_slice().iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    }
}

/// The least and the greatest of `codes`; `None` when there are none.
fn byte_range(codes: &[u8]) -> Option<(u8, u8)> {
    Some((codes.iter().copied().min()?, codes.iter().copied().max()?))
}

/// [`Dataset::check_values_after`] of rows of `cols` `values` (named `names`) from
/// `source`, wherever they are held: the first value that is not a finite number (NaN
/// allowed when `nan_is_missing`), named by its row counted after `before` rows, its
/// column and the column's name.
pub fn check_finite_after(
    values: &[f32],
    cols: usize,
    names: Option<&[String]>,
    source: &str,
    nan_is_missing: bool,
    before: u64,
) -> Result<()> {
    let bad = |v: &f32| if nan_is_missing { v.is_infinite() } else { !v.is_finite() };
    // Blocks checked whole, which vectorises (a search that stops at the first bad
    // value does not), and the first bad one then looked for in its block.
    const BLOCK: usize = 4096;
    let first = values.chunks(BLOCK).enumerate().find_map(|(k, block)| {
        let any = block.iter().fold(false, |any, v| any | bad(v));
        any.then(|| k * BLOCK + block.iter().position(bad).expect("a bad value in the block"))
    });
    match first {
        None => Ok(()),
        Some(i) => {
            let (r, c, v) = (i / cols, i % cols, values[i]);
            let name = match names.and_then(|n| n.get(c)) {
                Some(n) => format!(" (\"{n}\")"),
                None => String::new(),
            };
            let advice = if v.is_nan() {
                "; a NaN is a missing value: leave those rows out (missing = drop) or train the model with missing = mean"
            } else {
                ""
            };
            Err(Error::Data(format!(
                "{source}: row {}, column {}{name} is {v}; the data must be finite numbers{advice}",
                r as u64 + before + 1,
                c + 1
            )))
        }
    }
}

/// [`Dataset::split_validation`] of `rows` rows, wherever they are held (streamed, or
/// shared out among processes).
pub(crate) fn split_rows(rows: usize, fraction: f64) -> Result<(Range<usize>, Range<usize>)> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::config("validation_split", format!("{fraction} is not in [0, 1)")));
    }
    if fraction == 0.0 {
        return Ok((0..rows, rows..rows));
    }
    let n_train = ((rows as f64) * (1.0 - fraction)).floor() as usize;
    if n_train == 0 || n_train == rows {
        let held = match rows {
            1 => "one sample (a single row)".to_string(),
            _ => format!("{rows} rows"),
        };
        return Err(Error::config(
            "validation_split",
            format!("{fraction} of {held} leaves an empty training or validation part (validation_split = 0 holds none out)"),
        ));
    }
    Ok((0..n_train, n_train..rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binarising draws as `random::binarize` does on values in [0, 1], whole or a part
    /// at a time; a value outside is refused, named by its row in the file.
    #[test]
    fn binarising_takes_probabilities_alone() {
        use crate::random::{binarize, binarizing};
        let values = vec![0.0, 0.25, 1.0, 0.5, 0.75, 0.125];
        let mut want = values.clone();
        binarize(&mut want, &mut binarizing(4));
        let mut data = Dataset::new(values.clone(), 3, 2, "t").unwrap();
        assert_eq!(data.binarized(&mut binarizing(4)).unwrap(), want);
        data.binarize(&mut binarizing(4)).unwrap();
        assert_eq!(data.as_slice(), &want[..]);
        let mut past = values;
        past[3] = 1.5;
        let mut part = Dataset::new(past, 3, 2, "t.csv").unwrap();
        part.first_row = 10;
        let e = part.binarized(&mut binarizing(4)).unwrap_err().to_string();
        assert!(
            e.starts_with("t.csv: row 12, column 2 is 1.5; binarising draws each value as the probability"),
            "{e}"
        );
        assert!(part.binarize(&mut binarizing(4)).is_err());
        assert_eq!(part.as_slice()[3], 1.5, "nothing drawn");
    }

    /// A data set made from bytes reads its range off them: the same bounds, bit for bit,
    /// as the scan of its values (zeros alone, a range inside the bytes, no rows at all),
    /// and after its values change the values are scanned again.
    #[test]
    fn ranges_read_off_the_bytes_are_the_values_ranges() {
        for (codes, cols) in [(vec![0u8; 6], 3), (vec![3, 200, 17, 3], 2), (vec![], 4)] {
            let rows = codes.len() / cols;
            let ds = Dataset::from_bytes(codes.clone(), rows, cols, "bytes").unwrap();
            let values = Dataset::new(ds.as_slice().to_vec(), rows, cols, "values").unwrap();
            assert!(ds.known_bytes() && !values.known_bytes());
            let (a, b) = (ds.value_range(), values.value_range());
            assert_eq!(
                (a.lo.to_bits(), a.hi.to_bits(), a.nan),
                (b.lo.to_bits(), b.hi.to_bits(), b.nan),
                "{codes:?}"
            );
            let ((lo, hi), (vlo, vhi)) = (ds.min_max(), values.min_max());
            assert_eq!((lo.to_bits(), hi.to_bits()), (vlo.to_bits(), vhi.to_bits()), "{codes:?}");
            assert_eq!(ds.as_slice(), values.as_slice());
        }
        // Rows taken from a data set of bytes keep theirs, the bytes of those rows.
        let ds = Dataset::from_bytes(vec![1, 2, 3, 4, 5, 6], 3, 2, "bytes").unwrap();
        let part = ds.slice_rows(1, 3);
        assert!(part.known_bytes());
        assert_eq!(part.bytes(), Some(&[3u8, 4, 5, 6][..]));
        let picked = ds.select_rows(&[2, 0]);
        assert!(picked.known_bytes());
        assert_eq!(picked.bytes(), Some(&[5u8, 6, 1, 2][..]));
        assert_eq!(picked.as_slice(), Dataset::from_bytes(vec![5, 6, 1, 2], 2, 2, "b").unwrap().as_slice());
        let mut ds = Dataset::from_bytes(vec![0, 255], 1, 2, "bytes").unwrap();
        ds.as_mut_slice()[0] = f32::NAN;
        assert!(!ds.known_bytes(), "changed values are not bytes any more");
        assert!(ds.value_range().nan);
        assert!(ds.check_finite().is_err());
    }

    /// A data set of bytes answers for its values without decoding them all: a range of
    /// rows decoded alone (the bits of the whole decode), rows taken from it, its checks,
    /// its range and its missing rows (none); `as_slice` then decodes them and keeps them.
    #[test]
    fn bytes_are_decoded_only_when_every_value_is_asked_for() {
        let codes: Vec<u8> = (0..=255u8).rev().cycle().take(300 * 7).collect();
        let mut ds = Dataset::from_bytes(codes.clone(), 300, 7, "bytes").unwrap();
        let whole: Vec<f32> = codes.iter().map(|&k| f32::from(k) / 255.0).collect();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&ds.values_of(10..13)), bits(&whole[70..91]));
        let part = ds.slice_rows(5, 9);
        let picked = ds.select_rows(&[3, 1]);
        ds.check_finite().unwrap();
        assert_eq!((ds.find_non_finite(), ds.drop_missing().unwrap()), (None, 0));
        let _ = (ds.value_range(), ds.min_max(), ds.bytes());
        assert!(!ds.values_decoded() && !part.values_decoded() && !picked.values_decoded());
        assert_eq!(bits(part.as_slice()), bits(&whole[35..63]));
        assert_eq!(bits(ds.as_slice()), bits(&whole));
        assert!(ds.values_decoded() && ds.bytes() == Some(&codes[..]));
        assert_eq!(bits(&ds.values_of(10..13)), bits(&whole[70..91]));
        assert_eq!(ds, Dataset::new(whole, 300, 7, "bytes").unwrap());
        let err = Dataset::from_bytes(vec![0; 5], 2, 3, "five").unwrap_err().to_string();
        assert!(err.contains("holds 5 bytes, expected 2 rows × 3 columns"), "{err}");
    }

    /// The first value that is not a finite number is named by its row (counted from the
    /// file's start) and column, wherever it lies in the blocks the check reads whole:
    /// in the first block, at a block's last value, in a later block after a NaN that
    /// `nan_is_missing` allows.
    #[test]
    fn the_first_bad_value_is_named_by_row_and_column() {
        let (rows, cols) = (3000, 7); // 21,000 values: five blocks of 4,096 and a part
        for (at, v, nan_is_missing, row, col) in [
            (10, f32::INFINITY, false, 2, 4),
            (4095, f32::NAN, false, 586, 1),
            (20_999, f32::NEG_INFINITY, true, 3000, 7),
        ] {
            let mut values = vec![0.5f32; rows * cols];
            values[at] = v;
            if nan_is_missing {
                values[5] = f32::NAN;
            }
            let d = Dataset::new(values, rows, cols, "rows").unwrap();
            let err = d.check_values_after(nan_is_missing, 100).unwrap_err().to_string();
            assert!(err.contains(&format!("row {}, column {col} is", row + 100)), "{err}");
        }
        let mut values = vec![0.5f32; rows * cols];
        values[9000] = f32::NAN;
        let d = Dataset::new(values, rows, cols, "rows").unwrap();
        assert!(d.check_values(true).is_ok() && d.check_values(false).is_err());
    }

    /// A range says "every value in [0, 1]" exactly when every value is, and the range of
    /// parts merged is the range of the whole, in any cut.
    #[test]
    fn value_ranges_merge_and_say_whether_every_value_is_in_the_unit_interval() {
        let sets: [&[f32]; 7] = [
            &[],
            &[0.0, 1.0, 0.5],
            &[-0.0, 0.25],
            &[0.5, 1.0000001],
            &[0.5, f32::NAN],
            &[f32::INFINITY],
            &[-3.0, 2.0, f32::NAN, 0.5],
        ];
        for v in sets {
            let whole = ValueRange::of(v);
            assert_eq!(whole.is_unit(), v.iter().all(|x| (0.0..=1.0).contains(x)), "{v:?}");
            for cut in 0..=v.len() {
                let merged = ValueRange::of(&v[..cut]).merge(ValueRange::of(&v[cut..]));
                assert_eq!(format!("{merged:?}"), format!("{whole:?}"), "{v:?} cut at {cut}");
            }
        }
        assert_eq!((ValueRange::of(&[-3.0, f32::NAN, 2.0]).lo, ValueRange::of(&[-3.0, 2.0]).hi), (-3.0, 2.0));
        // Longer runs (sixteen lanes and a tail) of values drawn among zeros of both
        // signs, NaN, infinities and others: the bounds of the values that are not NaN,
        // a zero bound +0, and the same range from any cut into two parts.
        let pick = [0.0, -0.0, f32::NAN, 1.5, -2.5, f32::INFINITY, f32::NEG_INFINITY, 7e-45, -1e30];
        let mut state = 11u64;
        for n in [1, 15, 16, 17, 40, 64, 100] {
            for round in 0..40 {
                let v: Vec<f32> = (0..n)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        // Some rounds hold only zeros and NaN.
                        pick[(state >> 33) as usize % if round % 4 == 0 { 3 } else { pick.len() }]
                    })
                    .collect();
                let finite = v.iter().filter(|x| !x.is_nan());
                let lo =
                    finite
                        .clone()
                        .fold(f32::INFINITY, |a, &b| if b < a || (b == 0.0 && a == 0.0) { b } else { a });
                let hi = finite.fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
                let want = ValueRange { lo: lo + 0.0, hi: hi + 0.0, nan: v.iter().any(|x| x.is_nan()) };
                let got = ValueRange::of(&v);
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "{v:?}");
                assert!(got.lo.is_sign_positive() || got.lo != 0.0, "{v:?}");
                for cut in [0, n / 3, n / 2, n - 1] {
                    let merged = ValueRange::of(&v[..cut]).merge(ValueRange::of(&v[cut..]));
                    assert_eq!(format!("{merged:?}"), format!("{got:?}"), "{v:?} cut at {cut}");
                }
            }
        }
    }

    #[test]
    fn validation_split_takes_the_last_rows_like_keras() {
        let d = Dataset::new((0..20).map(|v| v as f32).collect(), 10, 2, "t").unwrap();
        let (tr, va) = d.split_validation(0.25).unwrap();
        // floor(10 * 0.75) = 7 training rows
        assert_eq!((tr.clone(), va.clone()), (0..7, 7..10));
        assert_eq!(d.rows_in(va)[..2], [14.0, 15.0]);
        assert_eq!(d.rows_in(tr).len(), 14);
        assert_eq!(d.split_validation(0.0).unwrap(), (0..10, 10..10));
        for bad in [-0.1, 1.0, f64::NAN, 0.95, 1e-20] {
            let e = d.split_validation(bad).unwrap_err().to_string();
            assert!(e.contains("validation_split"), "{bad}: {e}");
        }
    }

    /// Rows with a NaN are left out; the rest keep their global row index as their id,
    /// or the id column's value.
    #[test]
    fn dropping_missing_rows_keeps_each_rows_id() {
        let nan = f32::NAN;
        let mut d = Dataset::new(vec![0.0, 1.0, nan, 2.0, 3.0, 4.0, 5.0, nan], 4, 2, "t").unwrap();
        d.first_row = 10;
        let mut with_ids =
            d.clone().with_ids(RowIds::Text(["a", "b", "c", "d"].map(String::from).to_vec())).unwrap();
        assert_eq!(d.drop_missing().unwrap(), 2);
        assert_eq!(
            (d.as_slice(), d.row_ids(), d.first_row),
            (&[0.0, 1.0, 3.0, 4.0][..], RowIds::Int(vec![10, 12]), 10)
        );
        assert_eq!(with_ids.drop_missing().unwrap(), 2);
        assert_eq!(with_ids.row_ids(), RowIds::Text(vec!["a".into(), "c".into()]));
        let mut all = Dataset::new(vec![nan, 1.0], 1, 2, "all.csv").unwrap();
        assert!(all
            .drop_missing()
            .unwrap_err()
            .to_string()
            .contains("all.csv: every one of the 1 rows has a missing value"));
    }

    /// NaN passes where it stands for a missing value; infinity never does.
    #[test]
    fn nan_passes_only_as_a_missing_value() {
        let mut d = Dataset::new(vec![0.0, f32::NAN], 1, 2, "t.csv").unwrap();
        d.feature_names = Some(vec!["a".into(), "b".into()]);
        let e = d.check_finite().unwrap_err().to_string();
        assert!(e.contains("row 1, column 2 (\"b\") is NaN") && e.contains("missing = drop"), "{e}");
        d.nan_is_missing = true;
        assert!(d.check_finite().is_ok());
        d.as_mut_slice()[0] = f32::INFINITY;
        assert!(d.check_finite().unwrap_err().to_string().contains("row 1, column 1 (\"a\") is inf"));
    }

    #[test]
    fn non_finite_values_are_located() {
        let d = Dataset::new(vec![0.0, 1.0, f32::NAN, 2.0], 2, 2, "x.csv").unwrap();
        let e = d.check_finite().unwrap_err().to_string();
        assert!(e.contains("x.csv") && e.contains("row 2, column 1"), "{e}");
    }
}
