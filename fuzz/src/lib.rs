//! Helpers shared by the fuzz targets.

use std::path::PathBuf;
use std::sync::OnceLock;

/// A file in a per-process temporary folder, rewritten with each input: the readers that
/// take a path read it. One path per process (and per name), reused for every input.
pub fn input_file(name: &str, data: &[u8]) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("autoencoder-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the fuzz temp dir");
        d
    });
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write the fuzz input");
    path
}
