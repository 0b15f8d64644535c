#![no_main]
//! The CSV loader, with the default options and with a header and a label column.

use autoencoder::data::csv::{self, CsvOptions, HeaderMode, LabelColumn};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = autoencoder_fuzz::input_file("input.csv", data);
    if let Ok(ds) = csv::load(&path, &CsvOptions::default()) {
        let _ = ds.check_finite();
    }
    let opts = CsvOptions { header: HeaderMode::Yes, label: Some(LabelColumn::Index(0)), delimiter: b',' };
    let _ = csv::load(&path, &opts);
    let opts =
        CsvOptions { header: HeaderMode::No, label: Some(LabelColumn::Name("y".into())), delimiter: b';' };
    let _ = csv::load(&path, &opts);
});
