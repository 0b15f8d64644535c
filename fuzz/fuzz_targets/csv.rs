#![no_main]
//! The CSV loader, with the default options (the delimiter told from the first lines), with
//! a header and a label column, and with no header, a named label, `;` as the delimiter and
//! missing values filled with the mean; and
//! the index of marks that reads ranges of rows: it finds what the loader finds, and every
//! row read from a mark is the loader's row.

use autoencoder::data::columns::{ColumnRef, Columns, Missing};
use autoencoder::data::csv::{self, CsvOptions, DecimalMark, HeaderMode, Thousands};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = autoencoder_fuzz::input_file("input.csv", data);
    let whole = csv::load(&path, &CsvOptions::default(), &Columns::default());
    if let Ok(ds) = &whole {
        let _ = ds.check_finite();
    }
    // A mark at every row after the first two records.
    let index = csv::index(&path, &CsvOptions::default(), &Columns::default(), 1);
    match (&whole, &index) {
        (Ok(ds), Ok(ix)) => {
            assert_eq!(ix.rows(), ds.rows());
            for start in ix.chunk_starts() {
                let rows = csv::load_rows(&path, &CsvOptions::default(), &Columns::default(), ix, start..ds.rows())
                    .expect("rows from a mark");
                let (got, want) = (rows.as_slice(), ds.rows_in(start..ds.rows()));
                assert!(got.iter().zip(want).all(|(a, b)| a.to_bits() == b.to_bits()) && got.len() == want.len());
            }
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("the index and the loader disagree: {:?} / {:?}", whole.is_ok(), index.is_ok()),
    }
    let opts = CsvOptions {
        header: HeaderMode::Yes,
        delimiter: Some(b','),
        thousands: Some(Thousands::Space),
        ..CsvOptions::default()
    };
    let columns = Columns { label: Some(ColumnRef::Index(0)), ..Columns::default() };
    if let Ok(ds) = csv::load(&path, &opts, &columns) {
        let _ = ds.check_finite();
    }
    let opts = CsvOptions {
        header: HeaderMode::No,
        delimiter: Some(b';'),
        decimal: DecimalMark::Comma,
        thousands: Some(Thousands::Point),
    };
    let columns =
        Columns { label: Some(ColumnRef::Name("y".into())), missing: Missing::Mean, ..Columns::default() };
    if let Ok(ds) = csv::load(&path, &opts, &columns) {
        let _ = ds.check_finite();
    }
});
