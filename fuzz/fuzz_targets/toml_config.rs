#![no_main]
//! The `ae train --config FILE.toml` parse: a `[model]` and a `[training]` table into the
//! library's configurations (as crates/ae/src/commands/train.rs does), then `.check()`.

use autoencoder::{ModelConfig, TrainConfig};
use libfuzzer_sys::fuzz_target;

/// The same shape as `ae`'s `FileConfig`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    model: ModelConfig,
    training: TrainConfig,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(mut c) = toml::from_str::<FileConfig>(text) {
        let _ = c.training.check();
        let _ = c.model.check();
        // `ae train` sets the input width from the data before checking the model.
        if c.model.input_dim == 0 {
            c.model.input_dim = 784;
        }
        let _ = c.model.check();
        let _ = c.model.describe();
    }
});
