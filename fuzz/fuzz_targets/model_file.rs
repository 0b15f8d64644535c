#![no_main]
//! Model files: `file::from_bytes`, and on success the model must serialise again.

use std::path::Path;

use autoencoder::file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = file::from_bytes(data, Path::new("fuzz.safetensors")) {
        let _ = file::to_bytes(&model);
    }
});
