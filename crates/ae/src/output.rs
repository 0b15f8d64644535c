//! Writing arrays the user asked for: the format follows the file extension.

use std::path::Path;

use autoencoder::data::{csv, npy};

/// Write `rows × cols` values to `path` as `.npy`, `.npz` (member `x`), `.parquet` or CSV
/// (anything else), atomically; `header` names the CSV and Parquet columns (Parquet's
/// are `c1..cN` without it).
pub fn write_array(
    path: &Path,
    data: &[f32],
    cols: usize,
    header: Option<&[String]>,
) -> autoencoder::Result<()> {
    let rows = data.len().checked_div(cols).unwrap_or(0);
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("npy") => npy::write(path, data, rows, cols),
        Some("npz") => npy::write_npz(path, &[("x", data, rows, cols)]),
        Some("parquet") => {
            let names =
                header.map_or_else(|| (1..=cols).map(|i| format!("c{i}")).collect(), <[String]>::to_vec);
            autoencoder::data::columnar::write_matrix(path, data, cols, &names)
        }
        _ => csv::write(path, data, rows, cols, header, false),
    }
}

/// `z1..zk` column names for codes.
pub fn code_header(k: usize) -> Vec<String> {
    (1..=k).map(|i| format!("z{i}")).collect()
}

/// Print `rows × cols` values as CSV on stdout.
pub fn print_csv(data: &[f32], cols: usize, header: &[String]) {
    use std::io::Write;
    let out = std::io::stdout();
    let mut w = std::io::BufWriter::new(out.lock());
    let _ = writeln!(w, "{}", header.join(","));
    for row in data.chunks(cols.max(1)) {
        let line: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(w, "{}", line.join(","));
    }
}
