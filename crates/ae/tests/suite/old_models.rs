//! Model files written before the library's `Params` API (`fixtures/v0`, made by `ae` at
//! commit eac4080 with the commands in its README) still load, and today's `ae` computes
//! the same bytes with them: codes, anomaly scores and flags from a dense model with a
//! threshold, reconstructions and a compressed file from conv models (one with batch
//! norm), codes from a VAE. And today's `ae train` with the same settings writes those
//! model files again, byte for byte (a detector now also keeps its training scores'
//! summary, the thread count is no longer recorded, and the recorded losses sum in
//! units of 16 rows; those are set aside for the comparison): the refactored training
//! loop, batch norm's pass mode, the library's `Params` call and the row-split step
//! change no weight.

use std::path::{Path, PathBuf};

use crate::common::{ae, ok};

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

#[test]
fn a_conv_model_with_batch_norm_and_a_vae_compute_as_before() {
    same_output("reconstruct", "convbn.safetensors", "images.npy", "convbn.recon.npy");
    same_output("encode", "vae.safetensors", "images.npy", "vae.codes.csv");
}

/// `ae train ARGS…` run in a folder holding copies of the fixtures' data (the model
/// file records the data's path as given, so the run uses the same relative names)
/// writes the bytes of `fixtures/v0/MODEL`.
fn trains_the_same_file(model: &str, args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    for data in ["table.csv", "images.npy"] {
        std::fs::copy(fixture(data), dir.path().join(data)).unwrap();
    }
    ok(ae().current_dir(dir.path()).arg("train").args(args).args([
        "--threads",
        "1",
        "--no-plots",
        "-q",
        "-o",
        "out.safetensors",
    ]));
    let (got, want) =
        (std::fs::read(dir.path().join("out.safetensors")).unwrap(), std::fs::read(fixture(model)).unwrap());
    if got == want {
        return;
    }
    // Since v0: a detector keeps its training scores' summary (for `--proba`); the
    // training summary no longer records the thread count (the bits do not depend on
    // it), which reading ignores; and the losses it records sum over fixed units of 16
    // rows (the row-split step's order), so they equal the old ones up to rounding.
    // With those set aside, the new model must be the old one, byte for byte.
    let path = Path::new(model);
    let mut new = autoencoder::file::from_bytes(&got, path).unwrap();
    let mut old = autoencoder::file::from_bytes(&want, path).unwrap();
    if let Some(d) = new.detector.as_mut() {
        assert!(d.training_scores.take().is_some(), "{model}: a new detector keeps its training scores");
    }
    let (n, o) = (new.training.as_mut().unwrap(), old.training.as_mut().unwrap());
    let pairs = n.train_loss.iter().zip(&o.train_loss).chain(n.val_loss.iter().zip(&o.val_loss));
    for (a, b) in pairs {
        assert!((a - b).abs() <= 1e-6 * b.abs(), "{model}: loss {a} against {b} before");
    }
    assert_eq!((n.train_loss.len(), n.val_loss.len()), (o.train_loss.len(), o.val_loss.len()));
    n.train_loss.clone_from(&o.train_loss);
    n.val_loss.clone_from(&o.val_loss);
    assert!(
        autoencoder::file::to_bytes(&new).unwrap() == autoencoder::file::to_bytes(&old).unwrap(),
        "`ae train {}` no longer writes the bytes of {model}",
        args.join(" ")
    );
}

#[test]
fn training_writes_the_same_model_files_as_before() {
    let table =
        ["table.csv", "--layers", "4,2", "--epochs", "3", "--threshold", "contamination=0.05", "--seed", "3"];
    trains_the_same_file("dense.safetensors", &table);
    let conv = [
        "images.npy",
        "--arch",
        "conv",
        "--channels",
        "4,8",
        "--layers",
        "6",
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--seed",
        "1",
    ];
    trains_the_same_file("conv.safetensors", &conv);
    let bn = [&conv[..], &["--batch-norm"]].concat();
    trains_the_same_file("convbn.safetensors", &bn);
    let vae = [
        "images.npy",
        "--variational",
        "--layers",
        "16,4",
        "--dropout",
        "0.1",
        "--noise",
        "gaussian:0.1",
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--seed",
        "2",
    ];
    trains_the_same_file("vae.safetensors", &vae);
}
