#![no_main]
//! NPY arrays and NPZ archives through `npy::load` (the magic picks the format).

use autoencoder::data::npy::{self, NpyOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = autoencoder_fuzz::input_file("input.npy", data);
    let _ = npy::load(&path, &NpyOptions::default());
    if data.starts_with(b"PK") {
        let opts = NpyOptions { array: Some("x".into()), labels: Some("y".into()) };
        let _ = npy::load(&path, &opts);
    }
});
