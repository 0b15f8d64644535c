//! Size limits that keep hostile settings from hanging or exhausting the machine: the
//! thread count (`--threads`), the widths and number of layers, and the codec, which a
//! code wider than `codec::MAX_DIMS` does not get (and `ae compress` says why).

use std::path::Path;

use crate::common::{ae, fails, ok};

/// A 5-column CSV of 20 rows.
fn small_csv(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("small.csv");
    let rows: Vec<String> = (0..20)
        .map(|i| {
            (0..5)
                .map(|j| format!("{:.3}", ((i * 7 + j * 3) % 11) as f64 / 11.0))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    std::fs::write(&p, rows.join("\n") + "\n").unwrap();
    p
}

/// Peak RSS in KiB of `ae args…` under GNU time, when it exists.
fn peak_rss_kib(args: &[&str]) -> Option<u64> {
    if !Path::new("/usr/bin/time").exists() {
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("ae");
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "AE-MAXRSS %M"])
        .arg(bin)
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines().find_map(|l| l.strip_prefix("AE-MAXRSS ")).and_then(|v| v.trim().parse().ok())
}

/// `--threads 18446744073709551615` used to start threads until the machine stopped
/// answering; clap now refuses any count above 1,024 (exit 2, naming the flag and the
/// range) before anything is read.
#[test]
fn thread_counts_above_the_maximum_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.safetensors");
    for n in ["18446744073709551615", "1025"] {
        let out = ae()
            .args(["train", "--dataset", "synthetic", "--offline", "--threads", n, "-o"])
            .arg(&m)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("--threads") && err.contains("0..=1024"), "{err}");
        assert!(!err.contains("training on"), "{err}");
        assert!(!m.exists());
    }
}

/// 1,000 threads still work.
#[test]
fn a_thousand_threads_still_train() {
    let dir = tempfile::tempdir().unwrap();
    let csv = small_csv(dir.path());
    let m = dir.path().join("m.safetensors");
    ok(ae()
        .arg("train")
        .arg(&csv)
        .args(["--layers", "3", "--epochs", "1", "--threads", "1000", "--quiet", "--no-plots", "-o"])
        .arg(&m));
    assert!(m.exists());
}

/// `--layers 300000` on five columns used to write a 1.25 GB model that `ae inspect`
/// refused, and `--layers 1000000` to peak at 8 GB: both now fail before training, with a
/// one-line error naming `layers` and the limit, in little memory, writing nothing.
#[test]
fn layers_too_wide_fail_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let csv = small_csv(dir.path());
    let m = dir.path().join("m.safetensors");
    for w in ["300000", "1000000", "4,300000"] {
        let err = fails(
            ae().arg("train").arg(&csv).args(["--layers", w, "--epochs", "1", "-o"]).arg(&m),
            &["layers", "65536"],
        );
        let line = err.lines().find(|l| l.starts_with("error: ")).unwrap();
        assert!(line.len() < 200, "{line}");
        // Refused while the settings are checked: nothing read past them, no epoch run.
        assert!(!err.contains("training on") && !err.contains("epoch"), "{err}");
        assert!(!m.exists());
        let args =
            ["train", csv.to_str().unwrap(), "--layers", w, "--epochs", "1", "-o", m.to_str().unwrap()];
        if let Some(kib) = peak_rss_kib(&args) {
            assert!(kib < 100 * 1024, "{w}: peak RSS {kib} KiB");
        }
    }
}

/// A code wider than 4,096 trains without a codec (a small file, no 16 MiB+ histogram);
/// `ae compress` then says why it cannot compress, naming the limit.
#[test]
fn a_code_too_wide_for_a_codec_trains_but_does_not_compress() {
    let dir = tempfile::tempdir().unwrap();
    let csv = small_csv(dir.path());
    let m = dir.path().join("m.safetensors");
    let out = ok(ae()
        .arg("train")
        .arg(&csv)
        .args(["--layers", "4097", "--epochs", "1", "--threads", "1", "--no-plots", "-o"])
        .arg(&m));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("note: the model cannot compress"), "{err}");
    let size = std::fs::metadata(&m).unwrap().len();
    assert!(size < 1 << 20, "{size} bytes");
    ok(ae().arg("inspect").arg(&m));
    let z = dir.path().join("x.aez");
    fails(ae().arg("compress").arg(&m).arg(&csv).arg("-o").arg(&z), &["cannot compress", "4097", "4096"]);
    assert!(!z.exists());
    // 4,096 still gets one.
    let m2 = dir.path().join("m2.safetensors");
    ok(ae()
        .arg("train")
        .arg(&csv)
        .args(["--layers", "4096", "--epochs", "1", "--threads", "1", "--quiet", "--no-plots", "-o"])
        .arg(&m2));
    ok(ae().arg("compress").arg(&m2).arg(&csv).arg("-o").arg(&z));
}
