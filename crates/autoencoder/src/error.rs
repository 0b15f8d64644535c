//! The library's one error type: every failure says what, where (file, row, field)
//! and what was expected.

use std::path::PathBuf;

/// Everything that can go wrong in the library. Messages are one line, name the file
/// (and row or field where there is one) and say what was expected. New kinds may be
/// added, so a `match` on it needs a `_` arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed at the operating-system level.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file's content does not match its format.
    #[error("{path}: {message}")]
    Format {
        /// The file involved.
        path: PathBuf,
        /// What is wrong, e.g. "expected 47040016 bytes for 60000 images of 28×28, found 1000".
        message: String,
    },
    /// A setting is invalid; `field` names it as the user wrote it.
    #[error("invalid {field}: {message}")]
    Config {
        /// The setting, e.g. `layers` or `learning_rate`.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// Data does not fit the model or the loss (width, range, non-finite values).
    #[error("{0}")]
    Data(String),
    /// Training stopped because the loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}, batch {batch}: the loss is {loss}. Try a lower learning rate (lr), gradient clipping (clip_norm = 1.0), or normalising the data (normalize = minmax)")]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
        /// The non-finite loss value.
        loss: f64,
    },
    /// The caller cancelled training ([`crate::Observer::cancelled`]).
    #[error("training was cancelled at epoch {epoch}, batch {batch}")]
    Cancelled {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
    },
    /// A dataset could not be found or fetched.
    #[error("{0}")]
    Dataset(String),
}

/// `Result` with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error about `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
    /// A format error about `path`.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format { path: path.into(), message: message.into() }
    }
    /// An invalid setting.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config { field: field.into(), message: message.into() }
    }
}
