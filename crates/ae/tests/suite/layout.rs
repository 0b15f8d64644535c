//! The command's layout (ARCHITECTURE.md): library work stays in the library — the
//! command never fits a codec, a detector or a PCA, nor splits off validation rows —
//! and no subcommand's file imports another's (shared helpers live in the crate's
//! other modules: `pictures`, `training`, `files`, `output`).

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the source folder is readable") {
        let p = entry.expect("a readable entry").path();
        if p.is_dir() {
            out.extend(sources(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `(file, line number, line)` for each line of the files under `dir` containing a needle.
fn find(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for p in sources(dir) {
        let text = std::fs::read_to_string(&p).expect("a readable source file");
        for (i, line) in text.lines().enumerate() {
            if needles.iter().any(|n| line.contains(n)) {
                hits.push(format!("{}:{}: {}", p.display(), i + 1, line.trim()));
            }
        }
    }
    hits
}

#[test]
fn the_command_leaves_fitting_and_splitting_to_the_library() {
    let hits = find(&src(), &["Codec::fit", "Detector::fit", "split_validation", "Pca::fit"]);
    assert!(hits.is_empty(), "library work in the command (call `autoencoder::finish`, `baseline`, `pca::project`, `TrainConfig::held_out` instead):\n{}", hits.join("\n"));
}

#[test]
fn no_subcommand_imports_another() {
    let commands = src().join("commands");
    // `mod.rs` declares the subcommands; every other file is one of them.
    let hits: Vec<String> = find(&commands, &["crate::commands::", "super::"])
        .into_iter()
        .filter(|h| !h.contains("mod.rs:"))
        // A unit test module's `use super::*` is its own file's.
        .filter(|h| !h.ends_with("use super::*;"))
        .collect();
    assert!(
        hits.is_empty(),
        "a subcommand uses another's code (move it to a shared module):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_check_sees_the_sources() {
    // Guard against a vacuous pass: the folder holds the subcommands.
    assert!(sources(&src().join("commands")).len() >= 10);
    assert!(
        !find(&src(), &[".fit_shared("]).is_empty(),
        "the command trains through ValidParams::fit_shared"
    );
}
