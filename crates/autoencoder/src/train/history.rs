//! What training records: a row per epoch (losses, seconds, throughput), why it
//! stopped, and the summary kept in the model file.

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

/// Why training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The epoch limit was reached.
    EpochLimit,
    /// The monitored loss stopped improving (patience ran out).
    EarlyStopping,
    /// The training loss changed less than the tolerance.
    Converged,
    /// The observer asked to stop.
    Interrupted,
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

/// What the model file keeps about training: everything deterministic (no times),
/// so two runs with the same seed and threads write identical files.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainingSummary {
    /// Epochs run.
    pub epochs_run: usize,
    /// The epoch whose weights were saved.
    pub weights_epoch: usize,
    /// Training loss per epoch.
    pub train_loss: Vec<f64>,
    /// Validation loss per epoch (empty without validation).
    pub val_loss: Vec<f64>,
    /// Why training stopped.
    pub stop_reason: StopReason,
    /// The seed.
    pub seed: u64,
    /// The thread count (results are bit-identical for the same seed and threads).
    pub threads: usize,
    /// The training configuration used, as JSON.
    pub config: serde_json::Value,
    /// Where the training rows came from.
    pub data: String,
    /// Training and validation row counts.
    pub rows: (usize, usize),
}
