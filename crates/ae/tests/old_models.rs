//! Model files written before the library's `Params` API (`fixtures/v0`, made by `ae` at
//! commit eac4080 with the commands in its README) still load, and today's `ae` computes
//! the same bytes with them: codes, anomaly scores and flags from a dense model with a
//! threshold, reconstructions and a compressed file from a conv model.

mod common;

use std::path::{Path, PathBuf};

use common::{ae, ok};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0").join(name)
}

/// Runs `ae ARGS… MODEL INPUT -o OUT` in a temporary folder and compares OUT with the
/// fixture of the same name, byte for byte.
fn same_output(command: &str, model: &str, input: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(expected);
    ok(ae()
        .arg(command)
        .arg(fixture(model))
        .arg(fixture(input))
        .arg("-o")
        .arg(&out)
        .arg("--threads")
        .arg("1"));
    let (got, want) = (std::fs::read(&out).unwrap(), std::fs::read(fixture(expected)).unwrap());
    assert!(got == want, "`ae {command}` with {model} on {input} no longer writes the bytes of {expected}");
}

#[test]
fn a_dense_model_with_a_threshold_encodes_and_scores_as_before() {
    same_output("encode", "dense.safetensors", "table.csv", "dense.codes.csv");
    same_output("score", "dense.safetensors", "table.csv", "dense.scores.csv");
}

#[test]
fn a_conv_model_reconstructs_and_compresses_as_before() {
    same_output("reconstruct", "conv.safetensors", "images.npy", "conv.recon.npy");
    same_output("compress", "conv.safetensors", "images.npy", "conv.aez");
}
