//! The training progress shown on stderr: a bar per epoch on a terminal (loss,
//! validation loss, rows/s, ETA), one line per epoch otherwise; Ctrl-C stops cleanly.

use std::io::IsTerminal;
use std::time::Instant;

use autoencoder::train::{Control, EpochRecord, Observer, TrainStart};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Draws training progress and turns Ctrl-C (or SIGTERM, SIGHUP) into a clean stop
/// after the epoch while it lives.
pub struct Progress {
    bar: Option<ProgressBar>,
    tty: bool,
    quiet: bool,
    epochs: usize,
    batches: usize,
    train_rows: usize,
    batch_size: usize,
    loss_name: String,
    started: Instant,
    epoch_started: Instant,
    last_val: Option<f64>,
    pass: (usize, usize),
    _training: crate::signals::Training,
}

impl Progress {
    /// A progress display; `quiet` prints nothing.
    pub fn new(quiet: bool, loss_name: &str, batch_size: usize) -> Self {
        Progress {
            bar: None,
            tty: std::io::stderr().is_terminal(),
            quiet,
            epochs: 0,
            batches: 0,
            train_rows: 0,
            batch_size,
            loss_name: loss_name.to_string(),
            started: Instant::now(),
            epoch_started: Instant::now(),
            last_val: None,
            pass: (1, 1),
            _training: crate::signals::Training::start(),
        }
    }

    /// The pass training was last in, of how many.
    pub fn pass(&self) -> (usize, usize) {
        self.pass
    }

    fn new_bar(&self, epoch: usize) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(self.batches as u64), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("epoch {prefix} [{bar:28.cyan/blue}] {pos}/{len} {msg} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{epoch}/{}", self.epochs));
        bar
    }
}

impl Observer for Progress {
    fn on_train_start(&mut self, info: &TrainStart) {
        self.epochs = info.epochs;
        self.batches = info.batches_per_epoch;
        self.train_rows = info.train_rows;
        self.started = Instant::now();
        self.pass = info.pass;
        if !self.quiet {
            let pass = match info.pass {
                (1, 2) => "pass 1 of 2 (every row): ",
                (2, 2) => "pass 2 of 2 (the rows pass 1 reconstructed best): ",
                _ => "",
            };
            eprintln!(
                "{pass}training on {} rows, validating on {}, {} batches of up to {} per epoch, at most {} epochs",
                info.train_rows, info.val_rows, info.batches_per_epoch, self.batch_size, info.epochs
            );
        }
    }

    fn on_batch_end(&mut self, epoch: usize, batch: usize, running_loss: f64) {
        if self.quiet || !self.tty {
            return;
        }
        if batch == 1 {
            self.epoch_started = Instant::now();
            self.bar = Some(self.new_bar(epoch));
        }
        if let Some(bar) = &self.bar {
            if batch.is_multiple_of(8) || batch == self.batches {
                let secs = self.epoch_started.elapsed().as_secs_f64().max(1e-9);
                let rows = (batch * self.batch_size).min(self.train_rows) as f64;
                let val = self.last_val.map_or(String::new(), |v| format!(" val {v:.4}"));
                bar.set_message(format!(
                    "{} {running_loss:.4}{val} {:.0} rows/s",
                    self.loss_name,
                    rows / secs
                ));
                bar.set_position(batch as u64);
            }
        }
    }

    fn on_epoch_end(&mut self, r: &EpochRecord) -> Control {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.last_val = r.val_loss;
        if !self.quiet {
            let val = r.val_loss.map_or(String::new(), |v| format!("  val_loss {v:.4}"));
            let left = (self.epochs - r.epoch) as f64 * self.started.elapsed().as_secs_f64() / r.epoch as f64;
            eprintln!(
                "epoch {}/{}  loss {:.4}{val}  {:.2}s  {:.0} rows/s  ETA {:.0}s",
                r.epoch, self.epochs, r.train_loss, r.seconds, r.rows_per_second, left
            );
        }
        if crate::signals::stop_requested() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// A bar for long work besides training (an importance-sampled likelihood, a
/// rate–distortion sweep), drawn on stderr when it is a terminal; [`step`](Work::step)
/// is what the library's progress callback calls. Cleared when dropped.
pub struct Work {
    bar: Option<ProgressBar>,
    what: String,
    tty: bool,
}

impl Work {
    /// A bar labelled `what`; none when stderr is not a terminal.
    pub fn new(what: &str) -> Self {
        Work { bar: None, what: what.to_string(), tty: std::io::stderr().is_terminal() }
    }

    /// `done` of `total` steps.
    pub fn step(&mut self, done: usize, total: usize) {
        if !self.tty {
            return;
        }
        let what = &self.what;
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{prefix} [{bar:28.cyan/blue}] {pos}/{len} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(what.clone());
            bar
        });
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
