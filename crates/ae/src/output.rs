//! Writing arrays the user asked for: the format follows the file extension.

use std::path::Path;

use autoencoder::data::{csv, npy, RowIds};

/// Write `rows × cols` values to `path` as `.npy`, `.npz` (member `x`), `.parquet` or CSV
/// (anything else), atomically; `header` names the CSV and Parquet columns (Parquet's
/// are `c1..cN` without it). With `ids` (the data's id column) CSV and Parquet get a
/// first column `id`; an NPY or NPZ array has no place for them, which is said.
pub fn write_array(
    path: &Path,
    data: &[f32],
    cols: usize,
    header: Option<&[String]>,
    ids: Option<&RowIds>,
) -> autoencoder::Result<()> {
    let rows = data.len().checked_div(cols).unwrap_or(0);
    let ext = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
    if ids.is_some() && matches!(ext.as_deref(), Some("npy" | "npz")) {
        eprintln!("note: {} holds the values only; write .csv or .parquet to keep the ids", path.display());
    }
    match ext.as_deref() {
        Some("npy") => npy::write(path, data, rows, cols),
        Some("npz") => npy::write_npz(path, &[("x", data, rows, cols)]),
        Some("parquet") => {
            let names =
                header.map_or_else(|| (1..=cols).map(|i| format!("c{i}")).collect(), <[String]>::to_vec);
            autoencoder::data::columnar::write_matrix(path, data, cols, &names, ids)
        }
        _ => {
            autoencoder::data::rows_writer::check_csv_name(path, ".npy, .npz, .parquet or .csv", &[])?;
            csv::write(path, data, rows, cols, header, ids)
        }
    }
}

/// `x1..xd` column names for rows without names of their own.
pub fn row_header(d: usize) -> Vec<String> {
    (1..=d).map(|i| format!("x{i}")).collect()
}

/// `z1..zk` column names for codes.
pub fn code_header(k: usize) -> Vec<String> {
    (1..=k).map(|i| format!("z{i}")).collect()
}

/// Print `rows × cols` values as CSV on stdout, after an `id` column with `ids`.
pub fn print_csv(
    data: &[f32],
    cols: usize,
    header: &[String],
    ids: Option<&RowIds>,
) -> autoencoder::Result<()> {
    csv::write(Path::new("-"), data, data.len().checked_div(cols).unwrap_or(0), cols, Some(header), ids)
}
