//! One module per subcommand.

pub mod completions;
pub mod compress;
pub mod decode;
pub mod demo;
pub mod denoise;
pub mod encode;
pub mod evaluate;
pub mod export;
pub mod generate;
pub mod inspect;
pub mod plot_latent;
pub mod reconstruct;
pub mod report;
pub mod score;
#[cfg(feature = "serve")]
pub mod serve;
pub mod train;
