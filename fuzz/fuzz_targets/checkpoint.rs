#![no_main]
//! Checkpoints: the bytes written to a file, then `train::load_checkpoint`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = autoencoder_fuzz::input_file("input.ckpt", data);
    let _ = autoencoder::train::load_checkpoint(&path);
});
