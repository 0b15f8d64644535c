//! Train and use autoencoders on the CPU.
//!
//! An autoencoder is an encoder `E` (input → a short code `z`) and a decoder `D`
//! (`z` → `x̂`) trained together to make `x̂ = D(E(x))` close to `x`. This crate holds
//! everything but the command line: data loaders, the models, a training engine
//! written for speed over faer's matrix kernels, the losses and optimizers, and the model
//! file (safetensors, readable from Python).
//!
//! ```
//! use autoencoder::{data::synthetic, Params, Threads};
//!
//! let data = synthetic::generate(512, 0); // 28×28 shapes, pixels in [0, 1]
//! let mut params = Params::for_data(&data); // the defaults `ae train` would choose
//! params.model.layers = vec![32];
//! params.training.epochs = 2;
//! let fitted = params
//!     .check(&data.shape())? // every setting checked once, the layers planned
//!     .threads(Threads::new(1))
//!     .threshold("contamination=0.05".parse()?)
//!     .fit(&data)?; // trained and finished: codec and detector, as `ae train` writes
//! assert_eq!(fitted.history.epochs.len(), 2);
//! let codes = fitted.model.encode(data.row(0), &Threads::new(1))?; // 32 values
//! assert_eq!(codes.len(), 32);
//! assert!(fitted.model.codec.is_some() && fitted.model.detector.is_some());
//! # Ok::<(), autoencoder::Error>(())
//! ```
//!
//! [`Params`] is the TOML file's shape; [`Params::check`] checks it once against the
//! data's shape into [`ValidParams`], whose [`fit`](ValidParams::fit) returns a
//! [`Fitted`] model and its history. The lower-level steps it takes ([`train::fit`],
//! [`train::finish`]) stay available.
//!
//! # Features
//!
//! All on by default; without them the crate keeps the models, training, the model file
//! and the CSV, NPY/NPZ and IDX loaders, and a loader for a format left out says which
//! feature it needs.
//!
//! - `download`: fetch MNIST and Fashion-MNIST when absent (`ureq`).
//! - `image`: PNG and JPEG files and class folders (`data::image`), JPEG in
//!   `rate_distortion` (`image`).
//! - `mat`: MATLAB `.mat` files, v5 and v7.3 (`data::mat`; `hdf5-reader`).
//! - `compress`: range coding of quantised codes (`codec::Codec::encode` and `decode`),
//!   the compressed file (`compressed`) and rate–distortion curves (`rate_distortion`)
//!   (`constriction`, `crc32fast`).

mod activation;
pub mod anomaly;
#[doc(hidden)]
pub mod atomic;
pub mod baseline;
pub mod budget;
pub mod codec;
#[cfg(feature = "compress")]
pub mod compressed;
pub mod data;
pub mod error;
pub mod evaluation;
pub mod file;
#[doc(hidden)]
pub mod kernels;
#[doc(hidden)]
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod onnx;
pub mod optim;
mod params;
pub mod pca;
pub mod probe;
#[doc(hidden)]
pub mod random;
#[cfg(feature = "compress")]
pub mod rate_distortion;
pub mod run_files;
pub mod select;
mod settings;
pub mod train;

pub use activation::Activation;
pub use data::{DataShape, Dataset, ImageShape, NormalizeKind, Normalizer};
pub use error::{Error, Result};
#[doc(inline)]
pub use kernels::{Threads, MAX_THREADS};
#[doc(inline)]
pub use layers::Init;
pub use loss::Loss;
pub use model::{Arch, Autoencoder, Downsample, ModelConfig};
pub use optim::{OptimizerConfig, OptimizerKind};
pub use params::{Fitted, Params, ValidParams};
pub use settings::{Chosen, Preset, Settings};
pub use train::{finish, fit, EarlyStopping, History, NoObserver, Observer, Peers, TrainConfig};

/// The README's Rust examples, compiled and run as doctests (`cargo test --doc`), so
/// that the library snippet a newcomer copies keeps working.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
