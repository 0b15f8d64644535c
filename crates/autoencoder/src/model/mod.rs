//! The model: its configuration (serde) and the autoencoder built from it.

mod autoencoder;
mod config;
mod vae;

pub use autoencoder::{Autoencoder, TensorInfo, TiedPair, INFERENCE_BATCH};
pub use config::{parse_widths, ModelConfig, MAX_PARAMS, MAX_WIDTH};
pub use vae::ElboParts;
