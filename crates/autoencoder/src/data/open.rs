//! Opening data by file or by name: detects a file's format from its first bytes and
//! calls the right loader; resolves `fashion-mnist`, `mnist` and `synthetic`.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::builtin::{self, Named, Sources, Split};
use super::csv::CsvOptions;
use super::dataset::Dataset;
use super::image::ImageOptions;
use super::mat::MatOptions;
use super::npy::NpyOptions;
use super::{idx, image, mat, npy, synthetic};
use crate::error::{Error, Result};

/// A file format this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma- (or otherwise) separated text.
    Csv,
    /// NumPy `.npy`.
    Npy,
    /// NumPy `.npz` (a zip of `.npy` members).
    Npz,
    /// IDX, plain or gzipped (MNIST's format).
    Idx,
    /// MATLAB `.mat`, v5 or v7.3 (HDF5).
    Mat,
    /// A PNG or JPEG image.
    Image,
}

/// How to read files whose format leaves choices open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// CSV header and label column.
    pub csv: CsvOptions,
    /// NPZ member names.
    pub npy: NpyOptions,
    /// Image size and channels, and whether to skip unreadable images.
    pub image: ImageOptions,
}

/// The format of `path`, from its first bytes: gzip or the IDX magic → IDX,
/// `\x93NUMPY` → NPY, `PK\x03\x04` → NPZ, `MATLAB 5.0 MAT-file` (or 7.3) → MAT, the PNG or
/// JPEG signature → image, anything else → CSV.
pub fn detect(path: &Path) -> Result<Format> {
    let mut head = [0u8; 19];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]).map_err(|e| Error::io(path, e))? {
            0 => break,
            k => n += k,
        }
    }
    let head = &head[..n];
    Ok(
        if head.starts_with(&[0x1f, 0x8b])
            || (n >= 4 && head[0] == 0 && head[1] == 0 && (0x08..=0x0e).contains(&head[2]))
        {
            Format::Idx
        } else if head.starts_with(b"\x93NUMPY") {
            Format::Npy
        } else if head.starts_with(b"PK\x03\x04") {
            Format::Npz
        } else if mat::is_mat_header(head) {
            Format::Mat
        } else if image::is_image_header(head) {
            Format::Image
        } else {
            Format::Csv
        },
    )
}

/// Load one data file (any supported format), with an optional second file of labels
/// (an IDX labels file beside IDX images, or a one-column CSV/NPY).
pub fn load_file(path: &Path, labels: Option<&Path>, opts: &LoadOptions) -> Result<Dataset> {
    let data = match detect(path)? {
        Format::Idx => return idx::load(path, labels),
        Format::Npy | Format::Npz => npy::load(path, &opts.npy)?,
        Format::Mat => mat::load(path, &MatOptions::default())?,
        Format::Image => image::load(&[path.to_path_buf()], &opts.image)?.data,
        Format::Csv => super::csv::load(path, &opts.csv)?,
    };
    match labels {
        None => Ok(data),
        Some(lp) => {
            let l = load_labels(lp)?;
            if l.len() != data.rows() {
                return Err(Error::format(
                    lp,
                    format!("{} labels for {} rows in {}", l.len(), data.rows(), path.display()),
                ));
            }
            data.with_labels(l)
        }
    }
}

/// A labels file: an IDX labels file, or a one-column CSV/NPY of whole numbers.
pub fn load_labels(path: &Path) -> Result<Vec<i64>> {
    match detect(path)? {
        Format::Idx => idx::load_labels(path),
        _ => {
            let d = load_file(path, None, &LoadOptions::default())?;
            if d.cols() != 1 {
                return Err(Error::format(
                    path,
                    format!("a labels file needs one column, found {}", d.cols()),
                ));
            }
            d.as_slice()
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if v.fract() == 0.0 && v.is_finite() {
                        Ok(v as i64)
                    } else {
                        Err(Error::format(path, format!("row {}: label {v} is not a whole number", i + 1)))
                    }
                })
                .collect()
        }
    }
}

/// Rows of the built-in synthetic set for each split (train uses seed `s`, test `s + 1`).
pub const SYNTHETIC_ROWS: (usize, usize) = (20_000, 4_000);

/// Load a dataset by name: `fashion-mnist` or `mnist` from IDX files (found or
/// downloaded per `sources`), or `synthetic` generated from `seed`.
pub fn load_named(name: Named, split: Split, sources: &Sources, seed: u64) -> Result<Dataset> {
    if name == Named::Synthetic {
        let (rows, seed) = match split {
            Split::Train => (SYNTHETIC_ROWS.0, seed),
            Split::Test => (SYNTHETIC_ROWS.1, seed.wrapping_add(1)),
        };
        let mut d = synthetic::generate(rows, seed);
        d.source = format!("synthetic:{}(seed={seed})", split.name());
        return Ok(d);
    }
    let (images, labels) = builtin::locate(name, split, sources)?;
    let mut d = idx::load(&images, Some(&labels))?;
    d.source = format!("{}:{}", name.name(), split.name());
    Ok(d)
}

/// True when `paths` name images: a folder, or files with image extensions or signatures.
pub fn are_images(paths: &[PathBuf]) -> bool {
    !paths.is_empty()
        && paths
            .iter()
            .all(|p| p.is_dir() || image::is_image_path(p) || matches!(detect(p), Ok(Format::Image)))
}

/// A path list as the command receives it: the data file and optionally its labels, or
/// image files and folders of images (see [`image::load`]).
pub fn load_paths(paths: &[PathBuf], opts: &LoadOptions) -> Result<Dataset> {
    if are_images(paths) {
        return Ok(image::load(paths, &opts.image)?.data);
    }
    match paths {
        [data] => load_file(data, None, opts),
        [data, labels] => load_file(data, Some(labels), opts),
        [] => Err(Error::config("data", "no data file given")),
        _ => Err(Error::config(
            "data",
            format!("expected a data file and optionally a labels file, got {} files", paths.len()),
        )),
    }
}
