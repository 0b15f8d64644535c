//! Model files of earlier `ae`s still load and compute what they computed, and today's
//! `ae train` with the same settings writes them again. Two generations, each made with
//! the commands in its README:
//!
//! - `fixtures/v1`, made by `ae` at the commit where `math::exp` and Adam's division went
//!   to fused multiply-adds: today's `ae` computes their outputs and trains their model
//!   files byte for byte. This is the guard that a refactoring changes no bit.
//! - `fixtures/v0`, made at commit eac4080 (before the library's `Params` API): they
//!   still load, and their codes, anomaly scores and flags (a dense model with a
//!   threshold), reconstructions and compressed file (conv models, one with batch norm)
//!   and a VAE's codes come out within 4 ulps of each value (all the same bytes but one
//!   value of the batch-norm model's reconstruction, 2 ulps off: its sigmoid output now
//!   takes `exp`'s fused multiply-adds). Trained again, the models are v0's up to what
//!   changed since on purpose: a detector keeps its training scores' summary, the thread
//!   count is not recorded, the losses sum in units of 16 rows, and the weights differ
//!   from v0's in their last bits (at most 3e-8; 2e-5 for the biases in front of batch
//!   norm, whose gradient is all but zero, so Adam's step divides noise by noise), and
//!   so do the threshold and the codec fitted on the training rows' scores and codes.

use std::path::{Path, PathBuf};

use crate::common::{ae, ok};

/// The two fixture generations.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Made {
    /// At eac4080; compared within 4 ulps (outputs) or 1e-4 (trained weights).
    V0,
    /// Today's numerics; compared byte for byte.
    V1,
}

fn fixture(made: Made, name: &str) -> PathBuf {
    let folder = if made == Made::V0 { "tests/fixtures/v0" } else { "tests/fixtures/v1" };
    Path::new(env!("CARGO_MANIFEST_DIR")).join(folder).join(name)
}

/// Whether `got` is `want` but for values a few ulps apart: the same bytes, or the
/// same NPY header and float32 values within `ulps`, or the same CSV text but for
/// numbers within `ulps` of each other (as float32).
fn within_ulps(got: &[u8], want: &[u8], ulps: u32) -> bool {
    let close =
        |a: f32, b: f32| a == b || (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() <= ulps as u64;
    if got == want {
        return true;
    }
    if got.starts_with(b"\x93NUMPY") && got.len() == want.len() && got.len() >= 10 {
        let data = 10 + u16::from_le_bytes([got[8], got[9]]) as usize;
        let floats = |b: &[u8]| {
            b[data..].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect::<Vec<_>>()
        };
        return got[..data] == want[..data]
            && floats(got).iter().zip(floats(want)).all(|(&a, b)| close(a, b));
    }
    let (Ok(g), Ok(w)) = (std::str::from_utf8(got), std::str::from_utf8(want)) else { return false };
    let cells = |t: &str| t.split([',', '\n']).map(str::to_owned).collect::<Vec<_>>();
    let (g, w) = (cells(g), cells(w));
    g.len() == w.len()
        && g.iter().zip(&w).all(|(a, b)| {
            a == b || matches!((a.parse::<f32>(), b.parse::<f32>()), (Ok(x), Ok(y)) if close(x, y))
        })
}

/// Runs `ae ARGS… MODEL INPUT -o OUT` in a temporary folder and compares OUT with the
/// fixture of the same name: byte for byte for v1, within 4 ulps for v0.
fn same_output(made: Made, command: &str, model: &str, input: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(expected);
    ok(ae()
        .arg(command)
        .arg(fixture(made, model))
        .arg(fixture(Made::V0, input))
        .arg("-o")
        .arg(&out)
        .arg("--threads")
        .arg("1"));
    let (got, want) = (std::fs::read(&out).unwrap(), std::fs::read(fixture(made, expected)).unwrap());
    let same = if made == Made::V1 { got == want } else { within_ulps(&got, &want, 4) };
    assert!(
        same,
        "`ae {command}` with {made:?}'s {model} on {input} no longer writes the values of {expected}"
    );
}

#[test]
fn a_dense_model_with_a_threshold_encodes_and_scores_as_before() {
    for made in [Made::V0, Made::V1] {
        same_output(made, "encode", "dense.safetensors", "table.csv", "dense.codes.csv");
        same_output(made, "score", "dense.safetensors", "table.csv", "dense.scores.csv");
    }
}

#[test]
fn a_conv_model_reconstructs_and_compresses_as_before() {
    for made in [Made::V0, Made::V1] {
        same_output(made, "reconstruct", "conv.safetensors", "images.npy", "conv.recon.npy");
        same_output(made, "compress", "conv.safetensors", "images.npy", "conv.aez");
    }
}

#[test]
fn a_conv_model_with_batch_norm_and_a_vae_compute_as_before() {
    for made in [Made::V0, Made::V1] {
        same_output(made, "reconstruct", "convbn.safetensors", "images.npy", "convbn.recon.npy");
        same_output(made, "encode", "vae.safetensors", "images.npy", "vae.codes.csv");
    }
}

/// `ae train ARGS…` run in a folder holding copies of the fixtures' data (the model
/// file records the data's path as given, so the run uses the same relative names)
/// writes the bytes of `fixtures/v1/MODEL`, and those of `fixtures/v0/MODEL` up to what
/// changed since (see the module's documentation).
fn trains_the_same_file(model: &str, args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    for data in ["table.csv", "images.npy"] {
        std::fs::copy(fixture(Made::V0, data), dir.path().join(data)).unwrap();
    }
    ok(ae().current_dir(dir.path()).arg("train").args(args).args([
        "--threads",
        "1",
        "--no-plots",
        "-q",
        "-o",
        "out.safetensors",
    ]));
    let got = std::fs::read(dir.path().join("out.safetensors")).unwrap();
    assert!(
        got == std::fs::read(fixture(Made::V1, model)).unwrap(),
        "`ae train {}` no longer writes the bytes of v1's {model}",
        args.join(" ")
    );
    let path = Path::new(model);
    let mut new = autoencoder::file::from_bytes(&got, path).unwrap();
    let mut old =
        autoencoder::file::from_bytes(&std::fs::read(fixture(Made::V0, model)).unwrap(), path).unwrap();
    if let Some(d) = new.detector.as_mut() {
        assert!(d.training_scores.take().is_some(), "{model}: a new detector keeps its training scores");
        // Fitted on the training rows' scores, which the weights' last bits move.
        let t = old.detector.as_ref().unwrap().threshold;
        assert!((d.threshold - t).abs() <= 1e-5 * t, "{model}: threshold {} against {t} in v0", d.threshold);
        d.threshold = t;
    }
    // So is the codec, from their codes: its ranges within 1e-5 (2.6e-6 apart at most,
    // the model with batch norm), its histogram refitted.
    if let (Some(c), Some(d)) = (&new.codec, &old.codec) {
        let ends = c.lo.iter().zip(&d.lo).chain(c.hi.iter().zip(&d.hi));
        for (a, b) in ends {
            assert!((a - b).abs() <= 1e-5, "{model}: a code range ends at {a}, at {b} in v0");
        }
        new.codec.clone_from(&old.codec);
    }
    let (n, o) = (new.training.as_mut().unwrap(), old.training.as_mut().unwrap());
    let pairs = n.train_loss.iter().zip(&o.train_loss).chain(n.val_loss.iter().zip(&o.val_loss));
    for (a, b) in pairs {
        assert!((a - b).abs() <= 1e-6 * b.abs(), "{model}: loss {a} against {b} in v0");
    }
    assert_eq!((n.train_loss.len(), n.val_loss.len()), (o.train_loss.len(), o.val_loss.len()));
    n.train_loss.clone_from(&o.train_loss);
    n.val_loss.clone_from(&o.val_loss);
    for (i, (a, b)) in new.params().iter().zip(old.params()).enumerate() {
        assert!((a - b).abs() <= 1e-4, "{model}: parameter {i} is {a}, {b} in v0");
    }
    new.params_mut().copy_from_slice(old.params());
    assert!(
        autoencoder::file::to_bytes(&new).unwrap() == autoencoder::file::to_bytes(&old).unwrap(),
        "`ae train {}` no longer writes v0's {model} but for its weights' last bits",
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
