//! Arguments shared by several subcommands: where the data comes from, threads.

use std::path::PathBuf;

use autoencoder::data::builtin::{Named, Sources, Split};
use autoencoder::data::columns::{Categorical, ColumnRef, Columns, Missing};
use autoencoder::data::csv::{CsvOptions, DecimalMark, HeaderMode, Thousands};
use autoencoder::data::image::{self, ImageOptions};
use autoencoder::data::npy::NpyOptions;
use autoencoder::data::open::{self, LoadOptions};
use autoencoder::{Dataset, ImageShape, Threads};
use clap::Args;

/// Where rows come from: files, or a named dataset.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// A named dataset instead of files: fashion-mnist, mnist or synthetic.
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<Named>,
    /// Which part of a named dataset: train or test [default: train for `train`, test otherwise].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// A folder holding the dataset's IDX files (searched before the cache).
    #[arg(long, env = "AE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where downloaded datasets are kept [default: $AE_CACHE_DIR or ~/.cache/autoencoder].
    #[arg(long, env = "AE_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Base URL to download dataset files from (replaces the default mirrors).
    #[arg(long, env = "AE_MIRROR", value_name = "URL")]
    pub mirror: Option<String>,
    /// Never download: fail when the dataset is not on disk.
    #[arg(long)]
    pub offline: bool,
    /// Tables (CSV, Parquet, Arrow): the label column, by header name or 0-based index (excluded from the features).
    #[arg(long, value_name = "COLUMN")]
    pub label_column: Option<ColumnRef>,
    /// Tables: the row-id column, by name or 0-based index (numbers or text; excluded from the features), written as the `id` of every per-row output (scores, codes, reconstructions).
    #[arg(long, value_name = "COLUMN")]
    pub id_column: Option<ColumnRef>,
    /// Tables: the feature columns, by name or 0-based index, in this order (a file with its columns in another order gives the same rows) [default: every column without another role].
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub columns: Option<Vec<ColumnRef>>,
    /// Tables: columns to leave out (text, notes), by name or 0-based index.
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub ignore_columns: Vec<ColumnRef>,
    /// Tables: text columns to one-hot encode, by name or 0-based index: each value becomes a 0/1 feature `column=value` (the values of the training rows, kept in the model; a value the model has not seen sets none).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub categorical: Vec<ColumnRef>,
    /// A model's one-hot encodings, which its data is read with (not a flag).
    #[arg(skip)]
    pub categories: Vec<Categorical>,
    /// Tables: what a missing value (an empty field, NA, NaN, a null) means: error, drop (leave the row out; the rows kept keep their row numbers as ids) or mean (fill with the feature's mean over the training rows, kept in the model) [default: error; for a model trained with mean: mean].
    #[arg(long, value_name = "RULE")]
    pub missing: Option<Missing>,
    /// CSV: whether the first line is a header: auto, yes or no.
    #[arg(long, default_value = "auto", value_name = "MODE")]
    pub header: HeaderMode,
    /// CSV: the field delimiter: auto (told from the first lines: a comma, a tab, a semicolon or a bar), tab, or one character.
    #[arg(long, default_value = "auto", value_name = "CHAR")]
    pub delimiter: Delimiter,
    /// CSV: the numbers' decimal mark: point (1.5) or comma (1,5, as European spreadsheets write them; the fields are then separated by a tab, a semicolon or a bar).
    #[arg(long, default_value = "point", value_name = "MARK")]
    pub decimal: DecimalMark,
    /// CSV: the numbers' thousands separator, read where it groups a number's digits in threes: comma (1,234.5), point (1.234,5 with --decimal comma), space (also the no-break spaces), apostrophe or underscore [default: none, refused].
    #[arg(long, value_name = "SEP")]
    pub thousands: Option<Thousands>,
    /// NPZ: the member holding the data [default: x, X, data, or the only array].
    #[arg(long, value_name = "NAME")]
    pub npz_array: Option<String>,
    /// Images: skip files that cannot be read (and say how many) instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
    /// Images: resize every image to HEIGHTxWIDTH, e.g. 28x28 [default: the first image's size].
    #[arg(long, value_name = "HxW", value_parser = image_size)]
    pub image_size: Option<(usize, usize)>,
    /// Images: 1 (grayscale) or 3 (RGB) channels [default: the first image's].
    #[arg(long, value_name = "N")]
    pub image_channels: Option<usize>,
}

/// `--image-size`: `HEIGHTxWIDTH`, e.g. `28x28`.
fn image_size(v: &str) -> autoencoder::Result<(usize, usize)> {
    let bad = || autoencoder::Error::config("image_size", format!("{v:?} is not HEIGHTxWIDTH, e.g. 28x28"));
    let lower = v.to_ascii_lowercase();
    let (h, w) = lower.split_once('x').ok_or_else(bad)?;
    Ok((h.trim().parse().map_err(|_| bad())?, w.trim().parse().map_err(|_| bad())?))
}

impl DataArgs {
    /// `--image-size` and `--image-channels`.
    fn image_options(&self) -> ImageOptions {
        ImageOptions {
            size: self.image_size,
            channels: self.image_channels,
            skip_bad: self.skip_bad,
            shape: None,
        }
    }

    /// The sources for named datasets.
    pub fn sources(&self) -> Sources {
        let mut s = Sources::from_env();
        if let Some(d) = &self.data_dir {
            s.data_dir = Some(d.clone());
        }
        if let Some(c) = &self.cache_dir {
            s.cache_dir = c.clone();
        }
        s.mirror = self.mirror.clone();
        s.offline = self.offline;
        s
    }

    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            csv: CsvOptions {
                header: self.header,
                delimiter: self.delimiter.0,
                decimal: self.decimal,
                thousands: self.thousands,
            },
            columns: Columns {
                label: self.label_column.clone(),
                id: self.id_column.clone(),
                features: self.columns.clone(),
                ignore: self.ignore_columns.clone(),
                missing: self.missing.unwrap_or_default(),
                categorical: self.categorical.clone(),
                categories: Vec::new(),
            }
            .with_categories(&self.categories),
            npy: NpyOptions { array: self.npz_array.clone(), labels: None },
            image: self.image_options(),
        }
    }

    /// The split asked for, or `default`.
    pub fn split_or(&self, default: Split) -> Split {
        self.split.unwrap_or(default)
    }

    /// Load `files` (data and optionally labels, or images) or the named dataset's split
    /// (`--split`, else `default_split`).
    pub fn load(&self, files: &[PathBuf], seed: u64, default_split: Split) -> autoencoder::Result<Dataset> {
        self.load_shaped(files, seed, default_split, None)
    }

    /// [`load`](Self::load), converting image files to `shape` (a model's image shape).
    pub fn load_shaped(
        &self,
        files: &[PathBuf],
        seed: u64,
        default_split: Split,
        shape: Option<ImageShape>,
    ) -> autoencoder::Result<Dataset> {
        if self.dataset.is_none() && open::are_images(files) {
            let opts = ImageOptions { shape, skip_bad: self.skip_bad, ..self.image_options() };
            let loaded = image::load(files, &opts)?;
            if !loaded.skipped.is_empty() {
                eprintln!("skipped {} unreadable image(s):", loaded.skipped.len());
                for (_, why) in loaded.skipped.iter().take(10) {
                    eprintln!("  {why}");
                }
            }
            return Ok(loaded.data);
        }
        match (&self.dataset, files.is_empty()) {
            (Some(_), false) => {
                Err(autoencoder::Error::config("dataset", "give either --dataset or data files, not both"))
            }
            (Some(name), true) => open::load_named(*name, self.split_or(default_split), &self.sources(), seed),
            (None, false) => {
                let data = open::load_paths(files, &self.load_options())?;
                if data.dropped_rows > 0 {
                    eprintln!(
                        "left out {} row(s) with a missing value; {} kept",
                        data.dropped_rows,
                        data.rows()
                    );
                }
                Ok(data)
            }
            (None, true) => Err(autoencoder::Error::config(
                "data",
                "no data given: pass a file (CSV, NPY/NPZ, IDX, MATLAB .mat) or --dataset fashion-mnist|mnist|synthetic",
            )),
        }
    }

    /// The named dataset, when one was chosen.
    pub fn named(&self) -> Option<Named> {
        self.dataset
    }

    /// The table files `files` are read from a chunk at a time (streamed, or shared out
    /// by `--shard`): the shards, or the one file (of two plain files, the second is a
    /// labels file); `None` for a named dataset, images or standard input, which are
    /// read whole.
    pub fn table_files<'a>(&self, files: &'a [PathBuf]) -> Option<&'a [PathBuf]> {
        if self.dataset.is_some()
            || files.is_empty()
            || open::are_images(files)
            || files.iter().any(|p| open::is_stream(p))
        {
            return None;
        }
        Some(if open::are_shards(files) { files } else { &files[..1] })
    }

    /// The error of `--stream` for data that is not table files ([`table_files`](Self::table_files)).
    pub fn cannot_stream(&self, files: &[PathBuf]) -> autoencoder::Error {
        let what = match files.first() {
            Some(p) => format!("{}: images and standard input are read into memory", p.display()),
            None => "named datasets are read into memory".to_string(),
        };
        autoencoder::Error::config(
            "stream",
            format!(
                "{what}; it streams table files (CSV, NPY, Parquet, Arrow, or folders and globs of them)"
            ),
        )
    }
}

/// A model and the rows to run it on: what evaluate, encode, reconstruct, score,
/// detect and plot-latent take first.
#[derive(Args, Debug, Clone)]
pub struct ModelData {
    /// The model file.
    pub model: PathBuf,
    /// Data file(s): data and optionally labels.
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
}

impl ModelData {
    /// The files this reads (the model, the data files), for the run's output checks.
    pub fn run_files(&self) -> autoencoder::run_files::RunFiles {
        autoencoder::run_files::RunFiles::new()
            .input("the model", &self.model)
            .inputs("the data file", &self.files)
    }

    /// The rows (`default_split` of a named dataset), images converted to the model's
    /// image shape, checked against the model's width.
    pub fn load_for(
        &self,
        model: &autoencoder::Autoencoder,
        default_split: Split,
    ) -> autoencoder::Result<Dataset> {
        let seed = model.training.as_ref().map_or(0, |t| t.seed);
        let data =
            self.reading(model).load_shaped(&self.files, seed, default_split, model.config().image_shape)?;
        model.check_data(&data)?;
        Ok(data)
    }

    /// The data flags as `model` reads a later table: its missing-value fill and its
    /// categorical encodings (a --missing flag given here still decides).
    pub fn reading(&self, model: &autoencoder::Autoencoder) -> DataArgs {
        let mut args = self.data.clone();
        let reading = model.reading_columns();
        args.missing = args.missing.or(Some(reading.missing));
        args.categories = reading.categories;
        args
    }
}

/// The thread count: 0 means every core.
#[derive(Args, Debug, Clone, Copy)]
pub struct ThreadArgs {
    /// Threads for the computation (0 = every core; at most 1024). Results are bit-identical for the same seed and threads.
    #[arg(
        long,
        default_value_t = 0,
        value_name = "N",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new()
            .range(0..=autoencoder::kernels::MAX_THREADS as u64)
    )]
    pub threads: usize,
}

impl ThreadArgs {
    /// The thread pool for `--threads` (clap has already refused counts above
    /// [`autoencoder::kernels::MAX_THREADS`]).
    pub fn threads(&self) -> Threads {
        Threads::new(self.threads)
    }
}

/// A list of widths, e.g. `--layers 512,256,32`, read by the library's
/// [`autoencoder::model::parse_widths`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widths(pub Vec<usize>);

/// The value parser of a width-list flag that sets the library's `setting` (named in
/// its errors).
pub fn widths(
    setting: &'static str,
) -> impl Fn(&str) -> autoencoder::Result<Widths> + Clone + Send + Sync + 'static {
    move |s| autoencoder::model::parse_widths(s, setting).map(Widths)
}

/// `--delimiter`: a CSV file's field delimiter, or `None` to tell it from the file
/// ([`autoencoder::data::csv::parse_delimiter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiter(pub Option<u8>);

impl std::str::FromStr for Delimiter {
    type Err = autoencoder::Error;
    fn from_str(s: &str) -> autoencoder::Result<Delimiter> {
        autoencoder::data::csv::parse_delimiter(s).map(Delimiter)
    }
}
