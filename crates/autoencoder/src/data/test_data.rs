//! Where the tests that read real data find it, and what they do when it is absent.
//!
//! Test code only: the library's unit tests use it as `crate::data::test_data`, and the
//! integration tests include this file with `#[path]`, so it names nothing of the crate.
//!
//! - The shared data folder is `../shared/data` beside the workspace root (found from
//!   this crate's manifest, not the current directory), or `$AE_SHARED_DATA` when set.
//! - Fashion-MNIST is Debian's `/usr/share/datasets/fashion-mnist`
//!   (`apt-get install dataset-fashion-mnist`, which `.ci/run` does).
//! - Present: the test prints `real data: <test> reads <path>` on stderr and runs.
//! - Absent: the test prints `SKIP <test>: <what> not found at <path>` on stderr and
//!   returns — unless `CI` is set (not empty, `0` or `false`), where a missing data set
//!   fails the test: CI must run them.
//!
//! Every such test has `real_data` in its name, so `cargo test real_data -- --nocapture`
//! runs just them with these lines shown.

#![allow(dead_code)] // each user takes its own subset

use std::path::{Path, PathBuf};

/// Debian's copy of Fashion-MNIST (the same folder as `builtin::DEBIAN_FASHION_MNIST`).
pub const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The shared data folder: `$AE_SHARED_DATA`, else `shared/data` beside the workspace
/// root (this crate is `<root>/crates/autoencoder`).
pub fn shared_data_dir() -> PathBuf {
    match std::env::var_os("AE_SHARED_DATA").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            let root = manifest.ancestors().nth(2).expect("the crate is <root>/crates/<name>");
            root.parent().unwrap_or(root).join("shared").join("data")
        }
    }
}

/// Whether this is a CI run: `CI` set, and not empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "False" | "FALSE"))
}

/// `rel` (a file or folder) inside the shared data folder, or `None` when it is absent
/// (after saying so on stderr; a panic under CI).
pub fn shared(test: &str, rel: &str) -> Option<PathBuf> {
    let dir = shared_data_dir();
    require(test, &format!("shared data {rel:?} (AE_SHARED_DATA, else ../shared/data)"), &dir.join(rel))
}

/// Debian's Fashion-MNIST folder, or `None` when its files are absent (after saying so
/// on stderr; a panic under CI).
pub fn fashion_mnist(test: &str) -> Option<PathBuf> {
    let dir = Path::new(FASHION_MNIST);
    // The folder alone is not enough: the package's training images must be there.
    require(
        test,
        "Fashion-MNIST (apt-get install dataset-fashion-mnist)",
        &dir.join("train-images-idx3-ubyte.gz"),
    )
    .map(|_| dir.to_path_buf())
}

/// `path` when it exists, announced on stderr; else a `SKIP` line on stderr and `None`,
/// or, under CI, a panic.
pub fn require(test: &str, what: &str, path: &Path) -> Option<PathBuf> {
    if path.exists() {
        eprintln!("real data: {test} reads {}", path.display());
        return Some(path.to_path_buf());
    }
    if in_ci() {
        panic!(
            "{test}: {what} not found at {}; CI must have the real data (CI is set, so this is an error, not a skip)",
            path.display()
        );
    }
    eprintln!("SKIP {test}: {what} not found at {}", path.display());
    None
}
