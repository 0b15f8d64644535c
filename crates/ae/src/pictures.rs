//! The pictures several subcommands write: rows as an image or a grid (or an array for
//! other models), originals above their reconstructions, and a run's loss curve.

use std::path::Path;

use autoencoder::data::rows_writer::RowsWriter;
use autoencoder::train::{History, MemoryBudget};
use autoencoder::{compressed, Autoencoder, Dataset, Error, ImageShape, Result, Threads};

use crate::output::write_array;

/// Rows of the model's input width to `path`: a PNG image or grid for image models,
/// else an array file.
pub fn write_rows(path: &Path, model: &Autoencoder, rows: &[f32], per_row: usize) -> Result<()> {
    let is_png = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let d = model.input_dim();
    if !is_png {
        let header = crate::output::row_header(d);
        return write_array(path, rows, d, Some(&header), None);
    }
    let shape = image_shape(path, model)?;
    let n = rows.len() / d.max(1);
    let g = crate::grid::GridImage { channels: shape.channels, height: shape.height, width: shape.width };
    let png = if n == 1 {
        // One image: the image itself, at its own size.
        crate::grid::render_grid(&[rows], g, 1, 0)
    } else {
        // A grid, the last row filled out with mid-grey cells.
        let per_row = per_row.clamp(1, n);
        let mut padded = rows.to_vec();
        padded.resize(n.div_ceil(per_row) * per_row * d, f32::from(crate::grid::PAD_GREY) / 255.0);
        let lines: Vec<&[f32]> = padded.chunks(per_row * d).collect();
        let scale = if shape.height <= 32 { 3 } else { 1 };
        crate::grid::render_grid(&lines, g, scale, 2)
    }
    .map_err(Error::Data)?;
    crate::grid::write_png(path, &png).map_err(Error::Data)
}

/// The image shape of the model whose rows are written to the PNG `path`.
fn image_shape(path: &Path, model: &Autoencoder) -> Result<ImageShape> {
    model.config().image_shape.ok_or_else(|| {
        Error::Data(format!(
            "{}: the model's rows are not images; write .csv or .npy instead",
            path.display()
        ))
    })
}

/// The decodings of `count` codes, `next_codes(n)` giving the next `n` (`n × k` values),
/// to `path`, as [`write_rows`] writes them: a PNG grid or an `.npz` archive, which are
/// made whole, is refused beyond what a grid holds ([`crate::grid::MAX_PIXELS`]) or the
/// machine's memory budget before any code is drawn; `.npy`, `.csv` and `.parquet` are
/// written a part at a time (about 4 MiB of values each), the bytes of the rows written
/// at once, so that memory holds one part however many rows are asked for.
pub fn write_decodings(
    path: &Path,
    model: &Autoencoder,
    count: usize,
    per_row: usize,
    threads: &Threads,
    mut next_codes: impl FnMut(usize) -> Vec<f32>,
) -> Result<()> {
    let d = model.input_dim().max(1);
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => {
            let shape = image_shape(path, model)?;
            let most = crate::grid::MAX_PIXELS / (shape.height * shape.width).max(1);
            if count > most {
                return Err(Error::Data(format!(
                    "{}: a grid of {count} images of {}x{} is more than a PNG holds here ({} pixels in all): ask for at most {most}, or write .npy, .csv or .parquet",
                    path.display(),
                    shape.height,
                    shape.width,
                    crate::grid::MAX_PIXELS
                )));
            }
        }
        Some("npz") => check_whole(path, count, d)?,
        _ => {
            let part = ((1usize << 20) / d).max(1);
            let header = crate::output::row_header(d);
            return autoencoder::atomic::write_atomic_try(path, |out| {
                let mut w = RowsWriter::new(path, out, count as u64, d, Some(&header))?;
                for start in (0..count).step_by(part) {
                    let z = next_codes(part.min(count - start));
                    w.write(&model.decode(&z, threads)?, None)?;
                }
                w.finish()
            });
        }
    }
    let y = model.decode(&next_codes(count), threads)?;
    write_rows(path, model, &y, per_row)
}

/// `rows` rows of `d` values, made whole for `path`, fit in the machine's memory budget
/// (half its memory).
pub fn check_whole(path: &Path, rows: usize, d: usize) -> Result<()> {
    let npz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz"));
    MemoryBudget::of_machine(1).check_held(&path.display().to_string(), rows, d).map_err(|e| {
        let hint =
            if npz { ", or write .npy, .csv or .parquet, which are written a part at a time" } else { "" };
        Error::Data(format!("{e} (half the machine's memory); ask for fewer{hint}"))
    })
}

/// Originals above reconstructions for the first `n` rows of `data`, as a PNG.
pub fn write_comparison(
    path: &Path,
    model: &Autoencoder,
    data: &Dataset,
    shape: ImageShape,
    n: usize,
    bits: Option<u32>,
    threads: &Threads,
) -> Result<()> {
    let n = n.min(data.rows());
    if n == 0 {
        return Err(Error::Data(format!("{}: no rows to draw", data.source)));
    }
    let x = &data.values_of(0..n);
    let y = reconstruct(model, x, bits, threads)?;
    let per_row = if n <= 16 { n.div_ceil(n.div_ceil(16)) } else { 16 };
    let g = crate::grid::GridImage { channels: shape.channels, height: shape.height, width: shape.width };
    let scale = if shape.height <= 32 { 3 } else { 1 };
    let png = crate::grid::render_comparison(x, &y, n, per_row, g, scale).map_err(Error::Data)?;
    crate::grid::write_png(path, &png).map_err(Error::Data)
}

/// Reconstructions, through codes quantised to `bits` when given.
pub fn reconstruct(model: &Autoencoder, x: &[f32], bits: Option<u32>, threads: &Threads) -> Result<Vec<f32>> {
    match bits {
        Some(b) => compressed::reconstruct(model, x, b, threads),
        None => model.reconstruct(x, threads),
    }
}

/// The loss curve PNG, with the training and validation losses per epoch.
pub fn write_loss_curve(
    path: &Path,
    model: &Autoencoder,
    history: &History,
    baseline: Option<(String, f64)>,
) -> Result<()> {
    let train: Vec<f64> = history.epochs.iter().map(|r| r.train_loss).collect();
    let val: Vec<f64> = history.epochs.iter().filter_map(|r| r.val_loss).collect();
    let loss = model
        .training
        .as_ref()
        .and_then(|t| t.config.get("loss").and_then(|l| l.as_str()).map(|s| s.to_uppercase()))
        .unwrap_or_else(|| "loss".into());
    let title = format!("{} autoencoder", model.config().describe());
    let curve = crate::plot::LossCurve {
        title: &title,
        loss_name: &loss,
        train: &train,
        val: (val.len() == train.len()).then_some(&val[..]),
        baseline: baseline.as_ref().map(|(n, v)| (n.as_str(), *v)),
    };
    crate::plot::write_loss_curve(path, &curve).map_err(Error::Data)
}
