//! Ctrl-C, SIGTERM and SIGHUP: during training the first one asks for a clean stop
//! after the epoch (the model and a checkpoint are saved, and the run exits with 130);
//! at any other time, or the second time, the run ends at once with 130, after removing
//! the temporary files it was writing.

use std::sync::atomic::{AtomicBool, Ordering};

/// The exit status of an interrupted run (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;

static TRAINING: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);

/// Install the handler (once, at start-up).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if TRAINING.load(Ordering::SeqCst) && !STOP.swap(true, Ordering::SeqCst) {
            eprintln!("\nstopping after this epoch (press Ctrl-C again to quit without saving)");
            return;
        }
        STOP.store(true, Ordering::SeqCst);
        eprintln!("\ninterrupted: exiting without saving");
        autoencoder::atomic::remove_temporaries();
        std::process::exit(INTERRUPTED);
    });
}

/// Whether a stop was asked for (by a signal during training).
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// While alive, a signal asks training to stop after the epoch instead of ending the
/// process.
pub struct Training(());

impl Training {
    pub fn start() -> Self {
        TRAINING.store(true, Ordering::SeqCst);
        Training(())
    }
}

impl Drop for Training {
    fn drop(&mut self) {
        TRAINING.store(false, Ordering::SeqCst);
    }
}
