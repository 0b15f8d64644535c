#![no_main]
//! PNG and JPEG files through `data::image::load`, at their own size and resized to 8×8
//! grayscale and RGB.

use autoencoder::data::image::{self, ImageOptions};
use autoencoder::ImageShape;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = if data.starts_with(&[0xff, 0xd8]) { "input.jpg" } else { "input.png" };
    let path = autoencoder_fuzz::input_file(name, data);
    let paths = [path];
    let _ = image::load(&paths, &ImageOptions::default());
    for channels in [1, 3] {
        let shape = ImageShape { channels, height: 8, width: 8 };
        let _ = image::load(&paths, &ImageOptions { shape: Some(shape), ..ImageOptions::default() });
    }
});
