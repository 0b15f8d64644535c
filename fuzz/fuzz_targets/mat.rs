#![no_main]
//! MATLAB `.mat` files (v5, plain and compressed; v7.3 / HDF5) through `mat::load`.

use autoencoder::data::mat::{self, MatOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = autoencoder_fuzz::input_file("input.mat", data);
    let _ = mat::load(&path, &MatOptions::default());
    let opts = MatOptions { data: "y".into(), labels: Some("X".into()) };
    let _ = mat::load(&path, &opts);
});
