//! What a model file keeps about the training that made the model: the
//! `TrainingSummary` (deterministic, no times) and the `StopReason` it records.

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

/// What the model file keeps about training: everything deterministic (no times, no
/// thread count), so two runs with the same seed write identical files at any thread
/// count. (Files written before the thread count stopped mattering carry a `threads`
/// key, which reading ignores.)
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
    /// The training configuration used, as JSON.
    pub config: serde_json::Value,
    /// Where the training rows came from.
    pub data: String,
    /// Training and validation row counts.
    pub rows: (usize, usize),
}
