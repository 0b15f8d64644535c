//! `ae` used as a hostile or unlucky user would: special files as outputs, replaced
//! files' permissions, outputs that cannot be created, two runs on one output, stale
//! temporary files, signals, resuming with other data or other settings, control
//! characters in names and contents. Each case ends in a clear one-line error (exit 1)
//! or a correct result, never a lost or partly written file.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

use crate::common::{ae, fails, listing, ok};

/// A folder with `data.csv` (64 rows × 4) and `other.csv` (the same shape, other values).
fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let mut a = String::from("a,b,c,d\n");
    let mut b = String::from("a,b,c,d\n");
    for i in 0..64 {
        let x = i as f32 / 64.0;
        a.push_str(&format!("{x},{},{},{}\n", 1.0 - x, (x * 7.0).fract(), x * x));
        b.push_str(&format!("{},{x},{},{}\n", x * 0.5, (x * 3.0).fract(), 1.0 - x * x));
    }
    std::fs::write(dir.join("data.csv"), a).unwrap();
    std::fs::write(dir.join("other.csv"), b).unwrap();
    (tmp, dir)
}

fn train(dir: &Path) -> assert_cmd::Command {
    let mut c = ae();
    c.args(["train", "--layers", "2", "--epochs", "2", "--threads", "1", "--quiet"])
        .arg(dir.join("data.csv"));
    c
}

#[cfg(unix)]
#[test]
fn special_files_are_written_through_and_dev_full_reports_no_space() {
    use std::os::unix::fs::FileTypeExt;
    let (_t, dir) = setup();
    let m = dir.join("m.safetensors");
    ok(train(&dir).arg("--no-plots").arg("-o").arg(&m));
    ok(ae().args(["encode", "--threads", "1"]).arg(&m).arg(dir.join("data.csv")).args(["-o", "/dev/null"]));
    ok(train(&dir).args(["--no-plots", "-o", "/dev/null"]));
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    // Standard output (a pipe here) is written through as well.
    let out = ok(ae()
        .args(["encode", "--threads", "1"])
        .arg(&m)
        .arg(dir.join("data.csv"))
        .args(["-o", "/dev/stdout"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 65, "a header and 64 rows of codes: {text}");
    if Path::new("/dev/full").exists() {
        fails(
            ae().args(["encode", "--threads", "1"])
                .arg(&m)
                .arg(dir.join("data.csv"))
                .args(["-o", "/dev/full"]),
            &["/dev/full", "No space"],
        );
        assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device());
    }
}

#[cfg(unix)]
#[test]
fn a_replaced_model_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let (_t, dir) = setup();
    let m = dir.join("m.safetensors");
    ok(train(&dir).arg("--no-plots").arg("-o").arg(&m));
    std::fs::set_permissions(&m, std::fs::Permissions::from_mode(0o600)).unwrap();
    ok(train(&dir).arg("--no-plots").arg("-o").arg(&m));
    assert_eq!(std::fs::metadata(&m).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn outputs_that_cannot_be_created_fail_before_training() {
    let (_t, dir) = setup();
    std::fs::create_dir(dir.join("adir")).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["-o".into(), dir.join("adir").display().to_string()], "folder"),
        (vec!["-o".into(), format!("{}/", dir.join("adir").display())], "folder"),
        (vec!["-o".into(), dir.join("nodir").join("m.safetensors").display().to_string()], "does not exist"),
        (
            vec![
                "-o".into(),
                dir.join("m.safetensors").display().to_string(),
                "--checkpoint".into(),
                dir.join("nodir").join("c.ckpt").display().to_string(),
            ],
            "does not exist",
        ),
        (vec!["-o".into(), dir.join("n".repeat(300)).display().to_string()], "300 bytes"),
    ];
    #[cfg(target_os = "linux")]
    let cases = {
        // A file system where nothing can be created (procfs), standing in for a
        // read-only one or a folder without permission.
        let mut c = cases;
        c.push((vec!["-o".into(), "/proc/m.safetensors".into()], "cannot create a file in /proc"));
        c
    };
    for (args, needle) in cases {
        let err = fails(train(&dir).args(&args), &[needle]);
        assert!(!err.contains("training on"), "training started: {err}");
    }
    assert_eq!(listing(&dir), ["adir", "data.csv", "other.csv"]);
    // A name of 250 bytes is fine (the temporary name is shortened, not the output's).
    let long = dir.join("m".repeat(250));
    ok(train(&dir).arg("--no-plots").arg("-o").arg(&long));
    assert!(long.exists());
}

#[test]
fn a_run_on_an_output_another_run_holds_is_refused() {
    let (_t, dir) = setup();
    let m = dir.join("m.safetensors");
    // Hold the lock as another `ae` run would, with util-linux's flock (`-o`: flock
    // itself holds it, so killing flock releases it).
    let Ok(mut holder) =
        StdCommand::new("flock").arg("-o").arg(dir.join(".m.safetensors.lock")).args(["sleep", "30"]).spawn()
    else {
        eprintln!("SKIP: no flock command");
        return;
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    fails(train(&dir).arg("-o").arg(&m), &["m.safetensors", "another run is writing"]);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(!m.exists());
    ok(train(&dir).arg("--no-plots").arg("-o").arg(&m));
    assert!(!dir.join(".m.safetensors.lock").exists(), "the lock file is left behind");
}

#[cfg(unix)]
#[test]
fn stale_temporaries_of_dead_runs_are_removed_by_the_next_run() {
    let (_t, dir) = setup();
    let mut child = StdCommand::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let stale = dir.join(format!(".m.safetensors.{dead}.Abc123xyz0.tmp"));
    std::fs::write(&stale, vec![0u8; 4096]).unwrap();
    ok(train(&dir).arg("--no-plots").arg("-o").arg(dir.join("m.safetensors")));
    assert!(!stale.exists());
    assert_eq!(listing(&dir), ["data.csv", "m.safetensors", "other.csv"]);
}

#[cfg(unix)]
#[test]
fn a_picture_that_cannot_be_written_is_a_warning_and_the_model_is_kept() {
    let (_t, dir) = setup();
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIP: no /dev/full");
        return;
    }
    std::os::unix::fs::symlink("/dev/full", dir.join("m.loss.png")).unwrap();
    let out = ok(train(&dir).arg("-o").arg(dir.join("m.safetensors")));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: the model was written, but not the loss curve"), "{err}");
    assert!(autoencoder::file::load(&dir.join("m.safetensors")).is_ok());
}

/// Start `ae` with stderr piped, wait until a stderr line contains `marker`, send
/// `signal` (as `kill -SIG`), and return the exit code and all of stderr.
#[cfg(unix)]
fn signal_after(args: &[String], marker: &str, signals: &[&str]) -> (Option<i32>, String) {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("ae"))
        .args(args)
        .env_remove("AE_DATA_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut text = String::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        text.push_str(&line);
        let hit = line.contains(marker);
        line.clear();
        if hit {
            let pid = child.id().to_string();
            for (i, s) in signals.iter().enumerate() {
                if i > 0 {
                    // Two of one signal pending at once are one (a loaded machine may not
                    // run the handler within milliseconds): the next goes once the run
                    // has said it took the last.
                    while err.read_line(&mut line).unwrap() > 0 {
                        text.push_str(&line);
                        let taken = line.contains("stopping after this epoch");
                        line.clear();
                        if taken {
                            break;
                        }
                    }
                }
                StdCommand::new("kill").args([&format!("-{s}"), &pid]).status().unwrap();
            }
            break;
        }
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    text.push_str(&rest);
    (child.wait().unwrap().code(), text)
}

#[cfg(unix)]
#[test]
fn sigterm_and_sighup_stop_training_like_ctrl_c_save_and_exit_130() {
    for sig in ["INT", "TERM", "HUP"] {
        let (_t, dir) = setup();
        let m = dir.join("m.safetensors");
        let ck = dir.join("m.ckpt");
        let args: Vec<String> =
            ["train", "--dataset", "synthetic", "--offline", "--layers", "64", "--epochs", "500"]
                .iter()
                .map(|s| s.to_string())
                .chain([
                    "--threads".into(),
                    "1".into(),
                    "--no-plots".into(),
                    "-o".into(),
                    m.display().to_string(),
                ])
                .collect();
        let (code, err) = signal_after(&args, "epoch 1/500", &[sig]);
        assert_eq!(code, Some(130), "SIG{sig}: {err}");
        assert!(err.contains("stopping after this epoch"), "SIG{sig}: {err}");
        assert!(m.exists() && ck.exists(), "SIG{sig}: the model and checkpoint are saved: {err}");
        autoencoder::train::load_checkpoint(&ck).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn a_second_signal_quits_at_once_and_leaves_no_temporary_file() {
    let (_t, dir) = setup();
    let m = dir.join("m.safetensors");
    let args: Vec<String> =
        ["train", "--dataset", "synthetic", "--offline", "--layers", "256", "--epochs", "500"]
            .iter()
            .map(|s| s.to_string())
            .chain(["--threads".into(), "1".into(), "--checkpoint-every".into(), "1".into()])
            .chain(["--no-plots".into(), "-o".into(), m.display().to_string()])
            .collect();
    let (code, err) = signal_after(&args, "epoch 2/500", &["INT", "INT"]);
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("exiting without saving"), "{err}");
    let left: Vec<String> =
        listing(&dir).into_iter().filter(|n| n.ends_with(".tmp") || n.ends_with(".lock")).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_in_the_first_pass_of_trim_says_it_kept_the_first_pass() {
    let (_t, dir) = setup();
    let m = dir.join("m.safetensors");
    let args: Vec<String> =
        ["train", "--layers", "2", "--trim", "0.2", "--epochs", "100000", "--threads", "1"]
            .iter()
            .map(|s| s.to_string())
            .chain([
                dir.join("data.csv").display().to_string(),
                "--no-plots".into(),
                "-o".into(),
                m.display().to_string(),
            ])
            .collect();
    let (code, err) = signal_after(&args, "epoch 3/", &["INT"]);
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("the first pass") && !err.contains("the second pass"), "{err}");
    assert!(m.exists());
}

#[test]
fn resuming_refuses_other_data_and_settings_it_would_ignore() {
    let (_t, dir) = setup();
    let m = dir.join("m.safetensors");
    let ck = dir.join("m.ckpt");
    ok(train(&dir).args(["--checkpoint-every", "1", "--no-plots"]).arg("-o").arg(&m));
    assert!(ck.exists());
    let resume = |data: &str| {
        let mut c = ae();
        c.args(["train", "--threads", "1", "--quiet", "--no-plots"])
            .arg(dir.join(data))
            .arg("--resume")
            .arg(&ck);
        c.arg("-o").arg(dir.join("r.safetensors"));
        c
    };
    fails(&mut resume("other.csv"), &["m.ckpt", "other data"]);
    for (flags, needle) in [
        (vec!["--layers", "3"], "layers: the checkpoint's [2], asked [3]"),
        (vec!["--epochs", "9"], "epochs: the checkpoint's 2, asked 9"),
        (vec!["--lr", "0.1"], "optimizer"),
        (vec!["--preset", "tabular"], "preset"),
        (vec!["--config", "/nonexistent.toml"], "/nonexistent.toml"),
    ] {
        fails(resume("data.csv").args(&flags), &[needle]);
    }
    assert!(!dir.join("r.safetensors").exists());
    // Flags that repeat the checkpoint's settings are not a conflict.
    ok(resume("data.csv").args(["--layers", "2", "--epochs", "2"]));
}

#[test]
fn control_characters_in_names_and_contents_are_escaped_in_the_one_error_line() {
    let (_t, dir) = setup();
    let bad = dir.join("evil\nname.csv");
    std::fs::write(&bad, "a,b\n1,\u{1b}[31mred\n").unwrap();
    let out = ae()
        .args(["train", "--threads", "1", "--quiet"])
        .arg(&bad)
        .arg("-o")
        .arg(dir.join("m.safetensors"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\u{1b}'), "a raw escape reached the terminal: {err:?}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err:?}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains("evil\\nname.csv"), "{err:?}");
}

#[test]
fn an_empty_cache_dir_variable_means_unset() {
    let (_t, dir) = setup();
    ok(train(&dir).env("AE_CACHE_DIR", "").arg("--no-plots").arg("-o").arg(dir.join("m.safetensors")));
}

#[cfg(unix)]
#[test]
fn plot_names_keep_the_bytes_of_a_non_utf8_model_name() {
    use std::os::unix::ffi::OsStrExt;
    let (_t, dir) = setup();
    let name = std::ffi::OsStr::from_bytes(b"m\xff.safetensors");
    ok(train(&dir).arg("-o").arg(dir.join(name)));
    assert!(dir.join(std::ffi::OsStr::from_bytes(b"m\xff.loss.png")).exists(), "{:?}", listing(&dir));
}

#[cfg(unix)]
#[test]
fn rate_distortion_numbers_are_printed_when_the_plot_cannot_be_written() {
    let (_t, dir) = setup();
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIP: no /dev/full");
        return;
    }
    let m = dir.join("m.safetensors");
    ok(ae()
        .args(["train", "--dataset", "synthetic", "--offline", "--layers", "16", "--epochs", "1"])
        .args(["--threads", "1", "--quiet", "--no-plots", "-o"])
        .arg(&m));
    let plot = dir.join("rd.png");
    std::os::unix::fs::symlink("/dev/full", &plot).unwrap();
    let out = ok(ae()
        .args(["evaluate", "--dataset", "synthetic", "--offline", "--no-pca", "--rate-distortion"])
        .args(["--bits", "2,4", "--jpeg-qualities", "10,50", "--iw-samples", "0", "--threads", "1"])
        .arg(&m)
        .arg("--rd-plot")
        .arg(&plot));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("rate-distortion") && stdout.contains("ae bytes"), "{stdout}");
    assert!(stderr.contains("warning: the rate-distortion plot was not written"), "{stderr}");
}

#[test]
fn zscores_with_a_sigmoid_output_are_warned_about() {
    let (_t, dir) = setup();
    let stderr_of = |extra: &[&str]| {
        let out = ok(ae()
            .args(["train", "--layers", "2", "--epochs", "1", "--threads", "1", "--no-plots"])
            .args(["--normalize", "zscore"])
            .args(extra)
            .arg(dir.join("data.csv"))
            .arg("-o")
            .arg(dir.join("m.safetensors")));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = stderr_of(&[]);
    assert!(err.contains("warning:") && err.contains("--output-activation linear"), "{err}");
    assert!(!stderr_of(&["--output-activation", "linear"]).contains("warning:"));
}

#[test]
fn detect_with_an_impossible_threshold_names_the_model_file() {
    let (_t, dir) = setup();
    let model =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed/model-negative-threshold.safetensors");
    fails(
        ae().args(["detect", "--threads", "1"]).arg(&model).arg(dir.join("data.csv")),
        &["model-negative-threshold.safetensors", "threshold"],
    );
}

/// A standard output that cannot be written (a full disk) is an error naming it, exit
/// 1, not `print!`'s panic; a standard error that cannot be written ends the run with
/// exit 1 too. A configuration is read no further than 1 MiB (`/dev/zero` is not read
/// to the end of memory), and an empty path is said to be empty.
#[cfg(unix)]
#[test]
fn unwritable_standard_streams_and_endless_or_empty_inputs_are_errors() {
    let (_t, dir) = setup();
    ok(train(&dir).arg("--no-plots").arg("-o").arg(dir.join("m.safetensors")));
    if Path::new("/dev/full").exists() {
        let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let bin = || StdCommand::new(assert_cmd::cargo::cargo_bin("ae"));
        let out = bin().arg("inspect").arg(dir.join("m.safetensors")).stdout(full()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.starts_with("error: <stdout>: No space left on device") && !err.contains("panicked"),
            "{err}"
        );
        let out = bin().arg("train").arg(dir.join("nothing.csv")).stderr(full()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    }
    if Path::new("/dev/zero").exists() {
        fails(
            train(&dir).args(["--no-plots", "--config", "/dev/zero", "-o"]).arg(dir.join("z.safetensors")),
            &["/dev/zero", "grew past 1048576 bytes"],
        );
    }
    crate::common::refused(
        train(&dir).args(["-o", ""]),
        &["invalid --output \"\": expected a value, not an empty one"],
    );
    assert_eq!(listing(&dir), ["data.csv", "m.safetensors", "other.csv"]);
}

/// An output whose name says another format than the one written is refused, not given
/// CSV text under that name: scores as `.npy`, codes as `.png`; any other name is CSV.
#[test]
fn an_output_named_for_another_format_is_refused() {
    let (_t, dir) = setup();
    let m = dir.join("m.safetensors");
    ok(train(&dir).arg("--no-plots").arg("-o").arg(&m));
    fails(
        ae().arg("score").arg(&m).arg(dir.join("data.csv")).arg("-o").arg(dir.join("s.npy")),
        &["s.npy: .npy is not a format these rows are written in; write .csv or .parquet"],
    );
    fails(
        ae().arg("encode").arg(&m).arg(dir.join("data.csv")).arg("-o").arg(dir.join("e.png")),
        &["e.png: .png is not a format these rows are written in"],
    );
    ok(ae().arg("encode").arg(&m).arg(dir.join("data.csv")).arg("-o").arg(dir.join("e.txt")));
    assert_eq!(listing(&dir), ["data.csv", "e.txt", "m.safetensors", "other.csv"]);
}
