//! The model: its configuration (serde) and the autoencoder built from it.

mod autoencoder;
mod config;
mod latent;
mod plan;
mod vae;

pub use autoencoder::{Autoencoder, TensorInfo, TiedPair, INFERENCE_BATCH};
pub use config::{
    parse_widths, Arch, Downsample, ModelConfig, MAX_CHANNELS, MAX_KERNEL, MAX_LAYERS, MAX_LAYER_WIDTH,
    MAX_PARAMS, MAX_WIDTH, METADATA_ALLOWANCE,
};
pub use plan::{LayerPlan, Plan};
pub use vae::ElboParts;
