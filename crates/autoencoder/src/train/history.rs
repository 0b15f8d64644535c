//! What training records: a row per epoch (losses, seconds, throughput) and why it
//! stopped ([`StopReason`] and the summary kept in the model file,
//! [`TrainingSummary`], are the model's: `model/summary.rs`).

pub use crate::model::{StopReason, TrainingSummary};

/// One epoch.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by rows), penalties included.
    pub train_loss: f64,
    /// Validation loss after the epoch, when there is a validation set.
    pub val_loss: Option<f64>,
    /// Wall-clock seconds of the epoch's training steps.
    pub seconds: f64,
    /// Training rows per second.
    pub rows_per_second: f64,
    /// The learning rate used.
    pub lr: f64,
}

impl std::fmt::Display for StopReason {
    /// What ended the run, in words: "reached the epoch limit", "stopped early",
    /// "converged", "interrupted".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::EpochLimit => "reached the epoch limit",
            StopReason::EarlyStopping => "stopped early",
            StopReason::Converged => "converged",
            StopReason::Interrupted => "interrupted",
        })
    }
}

/// The per-epoch records of one training run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct History {
    /// One record per epoch run.
    pub epochs: Vec<EpochRecord>,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// The epoch whose weights the model holds at the end (the best one when early
    /// stopping restored it, else the last).
    pub weights_epoch: usize,
}

impl History {
    /// The last record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }
    /// Total training seconds.
    pub fn seconds(&self) -> f64 {
        self.epochs.iter().map(|e| e.seconds).sum()
    }
    /// The median seconds per epoch.
    pub fn median_epoch_seconds(&self) -> f64 {
        let mut s: Vec<f64> = self.epochs.iter().map(|e| e.seconds).collect();
        s.sort_by(f64::total_cmp);
        if s.is_empty() {
            0.0
        } else if s.len() % 2 == 1 {
            s[s.len() / 2]
        } else {
            (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
        }
    }
}
