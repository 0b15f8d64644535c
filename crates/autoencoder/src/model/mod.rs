//! The model: its configuration (serde), the autoencoder built from it, and what its
//! file keeps beside the weights (the training summary, the anomaly detector).

mod autoencoder;
mod config;
pub(crate) mod detector;
mod latent;
mod plan;
mod summary;
mod vae;

pub use autoencoder::{Autoencoder, TensorInfo, TiedPair, INFERENCE_BATCH};
pub use config::{
    parse_widths, Arch, Downsample, ModelConfig, MAX_CHANNELS, MAX_KERNEL, MAX_LAYERS, MAX_LAYER_WIDTH,
    MAX_MODEL_BYTES, MAX_PARAMS, MAX_WIDTH, METADATA_ALLOWANCE,
};
pub use latent::LatentWalk;
pub use plan::{LayerPlan, Plan};
pub use summary::{StopReason, TrainingSummary};
pub use vae::{ElboParts, ElboSums, Likelihood, NllSums, PriorSampler};
