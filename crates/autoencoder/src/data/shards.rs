//! Several table files as one dataset: a folder of shards (as Spark, Ray or Dask write
//! them), a glob pattern, or a list of files, read in name order into one [`Dataset`]
//! whose rows are the shards' rows one after another. Every shard must have the same
//! columns; one that does not is an error naming it.

use std::path::{Path, PathBuf};

use super::columns::{recode, Categorical};
use super::dataset::Dataset;
use super::open::{load_file, LoadOptions};
use crate::error::{Error, Result};

/// The extensions of the table files a folder's shards are (case-insensitive).
pub const TABLE_EXTENSIONS: &[&str] =
    &["csv", "tsv", "parquet", "pq", "arrow", "arrows", "feather", "ipc", "npy"];

/// Whether `path`'s extension is one of [`TABLE_EXTENSIONS`].
pub fn is_table_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| TABLE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Whether `path` is a folder holding table files ([`is_table_path`]) directly, which
/// [`expand`] reads as shards (a folder of images is read as images).
pub fn is_table_folder(path: &Path) -> bool {
    path.is_dir() && table_files(path).is_ok_and(|f| !f.is_empty())
}

/// Whether `path` is a glob pattern (holds `*`, `?` or `[`) that names no existing file.
pub fn is_pattern(path: &Path) -> bool {
    let s = path.to_string_lossy();
    s.contains(['*', '?', '[']) && !path.exists()
}

/// The table files directly in `dir`, sorted by name; hidden and bookkeeping files
/// (names starting with `.` or `_`: `_SUCCESS`, `.part-0.crc`) are left out.
fn table_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if p.is_file() && !name.starts_with(['.', '_']) && is_table_path(&p) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// The shard files `paths` name, in order: a folder's table files and a glob pattern's
/// matches sorted by name, other paths as given. A folder or pattern naming no table
/// file is an error.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let found = if p.is_dir() {
            table_files(p)?
        } else if is_pattern(p) {
            let pattern = p.to_string_lossy();
            let matches =
                glob::glob(&pattern).map_err(|e| Error::format(p, format!("not a glob pattern: {e}")))?;
            let mut files: Vec<PathBuf> =
                matches.filter_map(std::result::Result::ok).filter(|f| f.is_file()).collect();
            files.sort();
            files
        } else {
            vec![p.clone()]
        };
        if found.is_empty() {
            return Err(Error::format(
                p,
                format!("no table files here (files ending in .{})", TABLE_EXTENSIONS.join(", .")),
            ));
        }
        out.extend(found);
    }
    Ok(out)
}

/// The rows of every shard `paths` name ([`expand`]), one shard after another. Each
/// shard is read with `opts` and must have the first's width and column names, and
/// labels and ids when the first has them (ids of one kind); the error names the shard
/// and what differs. Memory: the rows kept plus one shard being read.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Result<Dataset> {
    let files = expand(paths)?;
    let mut shards = files.iter();
    let first_path = shards.next().ok_or_else(|| Error::config("data", "no data file given"))?;
    let first = load_file(first_path, None, opts)?;
    if files.len() == 1 {
        return Ok(first);
    }
    // Text labels and categorical columns fitted on the data are numbered by the values
    // each shard holds: every shard is read first, and renumbered by the union's.
    let unify =
        (!first.categories.is_empty() && opts.columns.categories.is_empty()) || first.label_names.is_some();
    let (first, mut loaded) = if unify {
        let mut all = vec![first];
        for p in shards.by_ref() {
            all.push(load_file(p, None, opts)?);
        }
        unify_classes(&mut all, &files)?;
        let first = all.remove(0);
        (first, all.into_iter())
    } else {
        (first, Vec::new().into_iter())
    };
    let (categories, label_names) = (first.categories.clone(), first.label_names.clone());
    let cols = first.cols();
    let names = first.feature_names.clone();
    let mut rows = first.rows();
    let mut labels = first.labels.clone();
    let mut ids = first.ids.clone();
    let mut data = first.into_vec();
    for p in &files[1..] {
        let shard = match loaded.next() {
            Some(shard) => shard,
            None => load_file(p, None, opts)?,
        };
        let differ = |what: &str| {
            Err(Error::format(p, format!("{what}, unlike {} (the first shard)", first_path.display())))
        };
        if shard.cols() != cols || shard.feature_names != names {
            return Err(other_columns(p, &shard, first_path, (cols, &names)));
        }
        match (&mut labels, shard.labels.as_ref()) {
            (Some(all), Some(l)) => all.extend_from_slice(l),
            (None, None) => {}
            (Some(_), None) => return differ("this shard has no labels"),
            (None, Some(_)) => return differ("this shard has labels"),
        }
        let appended = match (&mut ids, shard.ids.as_ref()) {
            (Some(all), Some(v)) => all.append(v),
            (None, None) => true,
            _ => false,
        };
        if !appended {
            return differ("this shard's ids are missing or of another kind (integers or text)");
        }
        rows += shard.rows();
        super::buffer::reserve(&mut data, shard.as_slice().len());
        data.extend_from_slice(shard.as_slice());
    }
    let mut d = Dataset::new(data, rows, cols, source_name(paths, &files))?;
    d.feature_names = names;
    d.categories = categories;
    d.label_names = label_names;
    if let Some(l) = labels {
        d = d.with_labels(l)?;
    }
    if let Some(i) = ids {
        d = d.with_ids(i)?;
    }
    Ok(d)
}

/// The name of the data the shards `files` (expanded from `paths`) make: one file's path,
/// `FOLDER (N shards)`, or `FIRST and N more shards`.
pub(crate) fn source_name(paths: &[PathBuf], files: &[PathBuf]) -> String {
    match (paths, files.len()) {
        (_, 1) => files[0].display().to_string(),
        ([one], n) => format!("{} ({n} shards)", one.display()),
        (_, n) => format!("{} and {} more shards", files[0].display(), n - 1),
    }
}

/// The error for shard `path`, whose rows `shard` have other columns than the first
/// shard's `(cols, names)` at `first_path`.
pub(crate) fn other_columns(
    path: &Path,
    shard: &Dataset,
    first_path: &Path,
    (cols, names): (usize, &Option<Vec<String>>),
) -> Error {
    let show = |n: &Option<Vec<String>>, c: usize| match n {
        Some(n) => format!("columns [{}]", n.join(", ")),
        None => format!("{c} columns"),
    };
    Error::format(
        path,
        format!(
            "a shard with other columns: {}, where {} has {}",
            show(&shard.feature_names, shard.cols()),
            first_path.display(),
            show(names, cols)
        ),
    )
}

/// Renumber the shards' text labels by the sorted union of their names, and re-encode
/// their categorical columns with the sorted union of their values, so that every shard
/// numbers a class and a value alike. A shard whose categorical columns differ from the
/// first's is an error naming it.
fn unify_classes(shards: &mut [Dataset], files: &[PathBuf]) -> Result<()> {
    if shards.iter().any(|s| s.label_names.is_some()) {
        let names_of = |s: &Dataset| -> Vec<String> {
            match &s.label_names {
                Some(n) => n.clone(),
                // Whole-number labels among text ones are text too.
                None => s.labels.iter().flatten().map(i64::to_string).collect(),
            }
        };
        let mut union: Vec<String> = shards.iter().flat_map(names_of).collect();
        union.sort();
        union.dedup();
        for s in shards.iter_mut() {
            let Some(labels) = s.labels.as_mut() else { continue };
            let text = |l: i64| match &s.label_names {
                Some(n) => n[l as usize].clone(),
                None => l.to_string(),
            };
            let renumbered: Vec<i64> =
                labels.iter().map(|&l| union.binary_search(&text(l)).map_or(0, |k| k as i64)).collect();
            *labels = renumbered;
            s.label_names = Some(union.clone());
        }
    }
    if !shards[0].categories.is_empty() {
        let columns: Vec<&str> = shards[0].categories.iter().map(|c| c.column.as_str()).collect();
        for (s, p) in shards.iter().zip(files) {
            if s.categories.iter().map(|c| c.column.as_str()).ne(columns.iter().copied()) {
                return Err(Error::format(
                    p,
                    format!(
                        "a shard with other categorical columns, unlike {} (the first shard)",
                        files[0].display()
                    ),
                ));
            }
        }
        let target: Vec<Categorical> = columns
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let mut values: Vec<String> =
                    shards.iter().flat_map(|s| s.categories[k].values.clone()).collect();
                values.sort();
                values.dedup();
                Categorical { column: name.to_string(), values }
            })
            .collect();
        for s in shards.iter_mut() {
            recode(s, &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::columns::{ColumnRef, Columns};
    use crate::data::open::LoadOptions;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A folder of shards (with Spark's `_SUCCESS` and a hidden file beside them), a
    /// glob and a list give the rows of the concatenated file, labels and ids included.
    #[test]
    fn shards_equal_the_concatenated_file() {
        let dir = tempfile::tempdir().unwrap();
        let parts = dir.path().join("parts");
        std::fs::create_dir(&parts).unwrap();
        let header = "key,a,b,y\n";
        let rows: Vec<String> = (0..7).map(|i| format!("k{i},{},{}.5,{}\n", i * 3, i, i % 2)).collect();
        write(&parts, "part-00000.csv", &format!("{header}{}", rows[..3].concat()));
        write(&parts, "part-00001.csv", &format!("{header}{}", rows[3..4].concat()));
        write(&parts, "part-00002.csv", &format!("{header}{}", rows[4..].concat()));
        write(&parts, "_SUCCESS", "");
        write(&parts, ".part-00000.csv.crc", "junk");
        let whole = write(dir.path(), "whole.csv", &format!("{header}{}", rows.concat()));
        let opts = LoadOptions {
            columns: Columns {
                label: Some(ColumnRef::Name("y".into())),
                id: Some(ColumnRef::Name("key".into())),
                ..Columns::default()
            },
            ..LoadOptions::default()
        };
        let want = load_file(&whole, None, &opts).unwrap();
        let pattern = parts.join("part-*.csv");
        let listed: Vec<PathBuf> = (0..3).map(|i| parts.join(format!("part-0000{i}.csv"))).collect();
        for given in [vec![parts.clone()], vec![pattern], listed] {
            let got = load(&given, &opts).unwrap();
            assert_eq!(got.as_slice(), want.as_slice());
            assert_eq!(
                (&got.labels, &got.ids, &got.feature_names),
                (&want.labels, &want.ids, &want.feature_names)
            );
        }
        assert!(is_table_folder(&parts) && !is_table_folder(dir.path().join("nope").as_path()));
    }

    /// Text labels and categorical values are numbered by the union of every shard's,
    /// so that shards holding different ones give the rows of the concatenated file.
    #[test]
    fn shards_with_other_classes_and_values_equal_the_concatenated_file() {
        let dir = tempfile::tempdir().unwrap();
        let parts = dir.path().join("parts");
        std::fs::create_dir(&parts).unwrap();
        let header = "x,color,species\n";
        let rows = ["1,red,b\n", "2,blue,b\n", "3,green,a\n", "4,red,c\n", "5,,c\n"];
        write(&parts, "p0.csv", &format!("{header}{}", rows[..2].concat()));
        write(&parts, "p1.csv", &format!("{header}{}", rows[2..4].concat()));
        write(&parts, "p2.csv", &format!("{header}{}", rows[4..].concat()));
        let whole = write(dir.path(), "whole.csv", &format!("{header}{}", rows.concat()));
        let opts = LoadOptions {
            columns: Columns {
                label: Some(ColumnRef::Name("species".into())),
                categorical: vec![ColumnRef::Name("color".into())],
                ..Columns::default()
            },
            ..LoadOptions::default()
        };
        let want = load_file(&whole, None, &opts).unwrap();
        assert_eq!(want.labels.as_deref(), Some(&[1, 1, 0, 2, 2][..]));
        assert_eq!(want.categories[0].values, vec!["blue", "green", "red"]);
        let got = load(&[parts], &opts).unwrap();
        assert_eq!(got.as_slice(), want.as_slice());
        assert_eq!((&got.labels, &got.label_names), (&want.labels, &want.label_names));
        assert_eq!((&got.categories, &got.feature_names), (&want.categories, &want.feature_names));
    }

    #[test]
    fn a_shard_with_other_columns_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.csv", "a,b\n1,2\n");
        write(dir.path(), "b.csv", "a,c\n1,2\n");
        let e = load(&[dir.path().to_path_buf()], &LoadOptions::default()).unwrap_err().to_string();
        assert!(e.contains("b.csv") && e.contains("columns [a, c]") && e.contains("columns [a, b]"), "{e}");
        let e = load(&[dir.path().join("*.parquet")], &LoadOptions::default()).unwrap_err().to_string();
        assert!(e.contains("no table files"), "{e}");
    }
}
