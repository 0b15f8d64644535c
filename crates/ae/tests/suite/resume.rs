//! A training run killed with SIGKILL at random moments and resumed from its
//! checkpoint each time ends with a model byte-identical to an uninterrupted run,
//! and the checkpoint on disk is always a whole, loadable file.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

fn ae() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("ae"))
}

fn train_args(out: &Path, ckpt: &Path) -> Vec<String> {
    [
        "train",
        "--dataset",
        "synthetic",
        "--layers",
        "256,32",
        "--loss",
        "bce",
        "--epochs",
        "8",
        "--validation-split",
        "0.1",
        "--seed",
        "3",
        "--threads",
        "1",
        "--checkpoint-every",
        "1",
        "--no-plots",
        "--quiet",
        "-o",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([out.display().to_string(), "--checkpoint".into(), ckpt.display().to_string()])
    .collect()
}

#[test]
fn killed_and_resumed_runs_end_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.safetensors");
    let t = Instant::now();
    let status = ae().args(train_args(&reference, &dir.path().join("reference.ckpt"))).status().unwrap();
    assert!(status.success());
    let full = t.elapsed();

    let out = dir.path().join("run.safetensors");
    let ckpt = dir.path().join("run.ckpt");
    // A small LCG picks the kill times: reproducible, spread over the run. The kills are
    // timed by the reference run, which other tests running beside this one may have
    // slowed: a round whose run ends before three kills land is run again with the
    // times halved (each round's model must equal the reference all the same).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..4 {
        let scale = 0.5f64.powi(round);
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(&ckpt);
        let mut kills = 0;
        let mut resumed_epochs = Vec::new();
        loop {
            let mut cmd = ae();
            cmd.args(train_args(&out, &ckpt)).stdout(Stdio::null()).stderr(Stdio::null());
            if ckpt.exists() {
                cmd.args(["--resume", &ckpt.display().to_string()]);
            }
            let mut child = cmd.spawn().unwrap();
            if kills < 6 {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                // Somewhere in what is left of the run (8 epochs in all).
                let left = (8 - resumed_epochs.last().copied().unwrap_or(0)) as f64 / 8.0;
                let frac = 0.2 + 0.7 * ((state >> 33) as f64 / (1u64 << 31) as f64);
                std::thread::sleep(full.mul_f64(frac * left * scale));
                if child.try_wait().unwrap().is_none() {
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    kills += 1;
                    if ckpt.exists() {
                        // Whatever moment the kill hit, the checkpoint is whole.
                        let ck = autoencoder::train::load_checkpoint(&ckpt)
                            .expect("checkpoint readable after SIGKILL");
                        resumed_epochs.push(ck.resume.state.epochs_done);
                    }
                    assert!(!out.exists(), "no model is written before training ends");
                    continue;
                }
            }
            assert!(child.wait().unwrap().success());
            break;
        }
        eprintln!("round {round}: {kills} kills; checkpoints found at epochs {resumed_epochs:?}");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(&reference).unwrap(),
            "resumed after {kills} kills (checkpoints at epochs {resumed_epochs:?})"
        );
        if kills >= 3 {
            return;
        }
    }
    panic!("in four rounds, never three kills landed: the run was too quick to interrupt");
}

/// A run that diverges (SGD with lr 1e4 on linear layers) stops in its first epoch
/// with advice, writes no model, and leaves the previous checkpoint untouched.
#[test]
fn a_diverging_run_stops_with_advice_and_keeps_the_previous_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let common =
        ["train", "--dataset", "synthetic", "--layers", "32", "--threads", "1", "--quiet", "--no-plots"];
    let ok = ae()
        .args(common)
        .args(["--epochs", "3", "--checkpoint-every", "1", "-o"])
        .arg(dir.path().join("good.safetensors"))
        .arg("--checkpoint")
        .arg(&ckpt)
        .status()
        .unwrap();
    assert!(ok.success());
    let before = std::fs::read(&ckpt).expect("a checkpoint after epoch 2");
    let bad = dir.path().join("bad.safetensors");
    let out = ae()
        .args(common)
        .args([
            "--activation",
            "linear",
            "--output-activation",
            "linear",
            "--optimizer",
            "sgd",
            "--lr",
            "1e4",
        ])
        .args(["--epochs", "5", "--checkpoint-every", "1", "-o"])
        .arg(&bad)
        .arg("--checkpoint")
        .arg(&ckpt)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: training diverged at epoch 1"), "{err}");
    assert!(last.contains("lower learning rate") && last.contains("--clip-norm"), "{last}");
    assert!(!bad.exists());
    assert_eq!(std::fs::read(&ckpt).unwrap(), before, "the previous checkpoint is intact");
}
