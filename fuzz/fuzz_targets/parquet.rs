#![no_main]
//! Parquet and Arrow IPC (file and stream layouts) through `columnar::load_parquet`,
//! `load_arrow` (the input as a file) and `load_reader` (the input as a stream, the format
//! told from its first bytes), with the default columns and with a label, an id column and
//! missing values filled with the mean; and an Arrow file's or stream's record batches one
//! at a time (`arrow_batches`, then `load_arrow_batch` of the first few, and of one past a
//! file's last batch).
//!
//! The readers catch a panic of the arrow and parquet crates and return it as an error
//! naming the file (`columnar::guarded`): that is their contract, so a panic they catch is
//! an `Err` here too. libfuzzer-sys's panic hook would abort at the panic, before the
//! readers could catch it; this target's hook only records the panic's message and place
//! (a backtrace captured at each caught panic made the process hold 500 MB under
//! AddressSanitizer), and a panic that escapes a reader is printed and aborts, as a crash:
//! reproduce it with `RUST_BACKTRACE=1 ae train FILE` for its backtrace.

use std::cell::RefCell;
use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};

use autoencoder::data::columnar;
use autoencoder::data::columns::{ColumnRef, Columns, Missing};
use libfuzzer_sys::fuzz_target;

thread_local! {
    /// The last panic on this thread: its message and place.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn record_panics() {
    panic::set_hook(Box::new(|info| {
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("panicked at {info}")));
    }));
}

fn read_all(data: &[u8]) {
    let variants = [
        Columns::default(),
        Columns {
            label: Some(ColumnRef::Index(0)),
            id: Some(ColumnRef::Name("id".into())),
            missing: Missing::Mean,
            ..Columns::default()
        },
    ];
    let path = autoencoder_fuzz::input_file("input.parquet", data);
    for columns in &variants {
        for ds in [
            columnar::load_parquet(&path, columns),
            columnar::load_arrow(&path, columns),
            columnar::load_reader(Cursor::new(data), &path, columns),
        ]
        .into_iter()
        .flatten()
        {
            let _ = ds.check_finite();
        }
        if let Ok(Some((batches, _))) = columnar::arrow_batches(&path, columns) {
            let past = columnar::ArrowBatch::File(batches.len());
            for b in batches.iter().take(4).map(|b| b.0).chain([past]) {
                if let Ok(ds) = columnar::load_arrow_batch(&path, columns, b, 0) {
                    let _ = ds.check_finite();
                }
            }
        }
    }
}

fuzz_target!(init: record_panics(), |data: &[u8]| {
    if panic::catch_unwind(AssertUnwindSafe(|| read_all(data))).is_err() {
        let text = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
        eprintln!("a panic escaped the readers: {text}");
        std::process::abort();
    }
});
