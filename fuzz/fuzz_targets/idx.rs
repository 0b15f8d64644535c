#![no_main]
//! IDX images, labels and the combined loader (plain and gzipped) must return `Ok` or
//! `Err` for any bytes: no panic, no hang, no huge allocation.

use autoencoder::data::idx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = autoencoder_fuzz::input_file("input.idx", data);
    let _ = idx::load_images(&path);
    let _ = idx::load_labels(&path);
});
