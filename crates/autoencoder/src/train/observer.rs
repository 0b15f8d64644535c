//! The observer trait: how a caller (the command's progress bar) follows training
//! and asks it to stop, without the library printing anything.

use super::history::EpochRecord;

/// What training is about to do.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainStart {
    /// The epoch limit of this pass (raised for [`crate::TrainConfig::min_steps`]).
    pub epochs: usize,
    /// The first epoch to run (1 for a fresh start).
    pub first_epoch: usize,
    /// Gradient steps per epoch.
    pub batches_per_epoch: usize,
    /// Training rows.
    pub train_rows: usize,
    /// Validation rows (0 without validation).
    pub val_rows: usize,
    /// Which pass this is and of how many: `(1, 1)`, or `(1, 2)` then `(2, 2)` when
    /// [`crate::TrainConfig::trim`] trains twice.
    pub pass: (usize, usize),
}

/// Whether training goes on after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this epoch (e.g. the user pressed Ctrl-C).
    Stop,
}

/// Receives progress. Every method has an empty default.
pub trait Observer: Send {
    /// Before the first epoch.
    fn on_train_start(&mut self, _info: &TrainStart) {}
    /// After each gradient step: 1-based epoch and batch, and the mean loss of the
    /// epoch so far.
    fn on_batch_end(&mut self, _epoch: usize, _batch: usize, _running_loss: f64) {}
    /// Checked after each gradient step: `true` abandons the run at once, and
    /// training returns [`crate::Error::Cancelled`] (no model; a checkpoint keeps the
    /// last one it wrote). For a caller that must stop within a batch, such as Python's
    /// Ctrl-C; [`on_epoch_end`](Self::on_epoch_end)'s [`Control::Stop`] ends the run
    /// with a complete model instead.
    fn cancelled(&mut self) -> bool {
        false
    }
    /// After each epoch's validation. With peers, a [`Control::Stop`] from any
    /// process's observer stops every process after this epoch.
    fn on_epoch_end(&mut self, _record: &EpochRecord) -> Control {
        Control::Continue
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}
