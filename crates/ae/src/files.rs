//! Paths of the files a run writes beside its model.

use std::path::{Path, PathBuf};

/// Paths of the files written beside the model: `m.loss.png`, `m.recon.png` (the
/// stem's bytes kept as they are, UTF-8 or not).
pub fn sibling(model: &Path, suffix: &str) -> PathBuf {
    let mut name = model.file_stem().map_or_else(|| std::ffi::OsString::from("model"), |s| s.to_os_string());
    name.push(".");
    name.push(suffix);
    model.with_file_name(name)
}
