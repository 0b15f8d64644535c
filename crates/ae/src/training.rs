//! Training with a progress display, shared by `ae train` and `ae demo`: the library's
//! one call ([`ValidParams::fit_with`]) driven with the progress bars as its observer,
//! and the rows the reconstruction grid shows.

use autoencoder::{Dataset, Fitted, Result, ValidParams};

use crate::progress::Progress;

/// What training produced.
pub struct Outcome {
    /// The complete model and its history, as the library returns them.
    pub fitted: Fitted,
    /// The rows of the reconstruction grid: the first validation rows, or the first
    /// training rows when nothing was held out.
    pub val_rows: Option<Dataset>,
    /// The pass the model comes from, of how many (`(1, 2)`: a trimmed run stopped in
    /// its first pass).
    pub pass: (usize, usize),
}

/// Train and finish a model on `data` per `params` (threads, threshold, checkpoints and
/// resuming included), drawing progress on stderr unless `quiet`; with `peers`, as one
/// rank of a data-parallel job.
pub fn train(
    data: &Dataset,
    validation: Option<&Dataset>,
    params: &ValidParams,
    quiet: bool,
    peers: Option<Box<dyn autoencoder::Peers>>,
) -> Result<Outcome> {
    let training = params.training();
    let mut progress = Progress::new(quiet, training.loss.name(), training.batch_size);
    let fitted = params.fit_shared(data, validation, &mut progress, peers)?;
    let val_rows = match validation {
        Some(v) => Some(v.slice_rows(0, v.rows().min(16))),
        None if training.validation_split > 0.0 => {
            let held_out = training.held_out(data)?;
            Some(data.slice_rows(held_out.start, held_out.end.min(held_out.start + 16)))
        }
        // No held-out rows: the grid shows the first training rows.
        None => Some(data.slice_rows(0, data.rows().min(16))),
    };
    Ok(Outcome { fitted, val_rows, pass: progress.pass() })
}

/// [`train`] on rows streamed from their files ([`ValidParams::fit_streamed_shared`]) in
/// windows of `window_rows` rows: with `peers`, every rank streaming every row, or with
/// `shard` each its share of every window ([`ValidParams::fit_streamed_sharded`]); there
/// are no rows at hand for a reconstruction grid.
pub fn train_streamed(
    data: &autoencoder::data::chunks::ChunkedRows,
    validation: Option<autoencoder::train::ValidationRows<'_>>,
    params: &ValidParams,
    window_rows: usize,
    quiet: bool,
    peers: Option<Box<dyn autoencoder::Peers>>,
    shard: bool,
) -> Result<Outcome> {
    let training = params.training();
    let mut progress = Progress::new(quiet, training.loss.name(), training.batch_size);
    let fitted = match peers {
        Some(p) if shard => params.fit_streamed_sharded(data, validation, window_rows, &mut progress, p)?,
        p => params.fit_streamed_shared(data, validation.map(|v| v.rows()), window_rows, &mut progress, p)?,
    };
    Ok(Outcome { fitted, val_rows: None, pass: progress.pass() })
}

/// [`train`] as one rank of a job whose ranks share the rows out
/// ([`ValidParams::fit_sharded`]): `data` holds rows `data.first_row..` of `total`; no
/// rank holds the rows of a reconstruction grid.
pub fn train_sharded(
    data: &Dataset,
    total: usize,
    validation: Option<autoencoder::train::ValidationRows<'_>>,
    params: &ValidParams,
    quiet: bool,
    peers: Box<dyn autoencoder::Peers>,
) -> Result<Outcome> {
    let training = params.training();
    let mut progress = Progress::new(quiet, training.loss.name(), training.batch_size);
    let fitted = params.fit_sharded(data, total, validation, &mut progress, peers)?;
    Ok(Outcome { fitted, val_rows: None, pass: progress.pass() })
}
