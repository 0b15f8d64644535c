#![no_main]
//! The CSV loader, with the default options, with a header and a label column, and with no
//! header, a named label, `;` as the delimiter and missing values filled with the mean.

use autoencoder::data::columns::{ColumnRef, Columns, Missing};
use autoencoder::data::csv::{self, CsvOptions, HeaderMode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = autoencoder_fuzz::input_file("input.csv", data);
    if let Ok(ds) = csv::load(&path, &CsvOptions::default(), &Columns::default()) {
        let _ = ds.check_finite();
    }
    let opts = CsvOptions { header: HeaderMode::Yes, delimiter: b',' };
    let columns = Columns { label: Some(ColumnRef::Index(0)), ..Columns::default() };
    if let Ok(ds) = csv::load(&path, &opts, &columns) {
        let _ = ds.check_finite();
    }
    let opts = CsvOptions { header: HeaderMode::No, delimiter: b';' };
    let columns =
        Columns { label: Some(ColumnRef::Name("y".into())), missing: Missing::Mean, ..Columns::default() };
    if let Ok(ds) = csv::load(&path, &opts, &columns) {
        let _ = ds.check_finite();
    }
});
