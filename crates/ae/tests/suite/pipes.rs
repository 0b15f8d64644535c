//! Pipelines: data read once from standard input (`-`) or a pipe (`/dev/stdin`), rows
//! written to standard output (`-o -`, and `ae score` without `-o`), the same bytes as
//! through files; a reader that stops early ends the run quietly; formats this build
//! does not read, or cannot read from a pipe, are refused by name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::{ae, fails, ok};

/// A small table (header, 120 rows of 5 columns) and a model trained on it.
fn table_and_model(dir: &Path) -> (PathBuf, PathBuf) {
    let csv = dir.join("rows.csv");
    let mut text = String::from("a,b,c,d,e\n");
    for r in 0..120 {
        let v: Vec<String> = (0..5).map(|c| format!("{}", ((r * 7 + c * 3) % 11) as f32 / 10.0)).collect();
        text += &v.join(",");
        text.push('\n');
    }
    std::fs::write(&csv, text).unwrap();
    let model = dir.join("m.safetensors");
    ok(ae()
        .args(["train", csv.to_str().unwrap(), "--layers", "4,2", "--epochs", "2", "--threads", "1"])
        .args(["--quiet", "--no-plots", "-o", model.to_str().unwrap()]));
    (csv, model)
}

#[test]
fn standard_input_gives_the_same_rows_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, model) = table_and_model(dir.path());
    let (m, c) = (model.to_str().unwrap(), csv.to_str().unwrap());
    let bytes = std::fs::read(&csv).unwrap();

    // Scores: from the file into a file, from `-` to standard output, from /dev/stdin.
    let file_scores = dir.path().join("scores.csv");
    ok(ae().args(["score", m, c, "-o", file_scores.to_str().unwrap()]));
    let want = std::fs::read(&file_scores).unwrap();
    let piped = ok(ae().args(["score", m, "-", "-o", "-"]).write_stdin(bytes.clone()));
    assert_eq!(piped.stdout, want, "ae score m - -o - equals the file's scores");
    let summary = String::from_utf8_lossy(&piped.stderr);
    assert!(summary.contains("rows") && summary.contains("120"), "the summary goes to stderr: {summary}");
    // Without -o the rows are printed (the summary on stderr).
    let printed = ok(ae().args(["score", m, "/dev/stdin"]).write_stdin(bytes.clone()));
    assert_eq!(printed.stdout, want, "ae score m /dev/stdin prints the same rows");
    // With --json alone, stdout is the summary.
    let json = ok(ae().args(["score", m, c, "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["rows"], 120);

    // Codes: `cat x | ae encode m /dev/stdin` read the input twice before (a false
    // "ragged row"); now once, the same codes as from the file.
    let from_file = ok(ae().args(["encode", m, c]));
    let from_pipe = ok(ae().args(["encode", m, "/dev/stdin"]).write_stdin(bytes.clone()));
    assert_eq!(from_pipe.stdout, from_file.stdout);
    let dash_out = ok(ae().args(["encode", m, "-", "-o", "-"]).write_stdin(bytes));
    assert_eq!(dash_out.stdout, from_file.stdout);

    // NPY through standard input: the same codes as the NPY file gives.
    let npy = dir.path().join("rows.npy");
    ok(ae().args(["reconstruct", m, c, "-o", npy.to_str().unwrap()]));
    let from_npy_file = ok(ae().args(["encode", m, npy.to_str().unwrap()]));
    let from_npy_pipe = ok(ae().args(["encode", m, "-"]).write_stdin(std::fs::read(&npy).unwrap()));
    assert_eq!(from_npy_pipe.stdout, from_npy_file.stdout);
    // A truncated or padded NPY stream is refused by name.
    let mut npy_bytes = std::fs::read(&npy).unwrap();
    npy_bytes.push(0);
    fails(ae().args(["encode", m, "-"]).write_stdin(npy_bytes.clone()), &["<stdin>", "trailing"]);
    npy_bytes.truncate(npy_bytes.len() - 9);
    fails(ae().args(["encode", m, "-"]).write_stdin(npy_bytes), &["<stdin>", "truncated"]);
}

/// `ae score m - | head -1`: the reader closes the pipe after one line; the run ends
/// as Unix tools do (by SIGPIPE, which a shell reports as 141) with no error line.
#[test]
fn a_reader_that_stops_early_ends_the_run_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = table_and_model(dir.path());
    // Enough rows that the scores overflow the pipe's buffer.
    let mut rows = String::new();
    for r in 0..40_000 {
        rows += &format!("{},{},0.5,0.25,{}\n", r % 10, (r % 7) as f32 / 7.0, (r % 3) as f32 / 3.0);
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ae"))
        .args(["score", model.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(rows.as_bytes()));
    let mut first = [0u8; 9];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    assert_eq!(&first, b"id,score\n");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc_sigpipe()), "{:?} {err}", out.status);
    assert!(!err.contains("error") && !err.contains("panicked"), "{err}");
}

#[test]
fn formats_not_read_and_broken_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, model) = table_and_model(dir.path());
    let m = model.to_str().unwrap();
    let cases: [(&str, &[u8], &str); 2] = [
        ("t.feather", b"FEA1\x00\x00\x00\x00", "Feather v1"),
        ("t.h5", b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00\x00\x08\x08\x00", "HDF5"),
    ];
    for (name, bytes, format) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = dir.path().join(format!("{name}.scores.csv"));
        fails(ae().args(["score", m, p.to_str().unwrap(), "-o", out.to_str().unwrap()]), &[name, format]);
        assert!(!out.exists(), "nothing written for {name}");
        // The same from standard input.
        fails(ae().args(["score", m, "-", "-o", "-"]).write_stdin(bytes.to_vec()), &["<stdin>", format]);
    }
    // Parquet and Arrow are read (crates/autoencoder-py/tests/test_columnar.py compares them with CSV); a broken
    // one is an error that names the file, not text that fails as CSV.
    let broken: [(&str, &[u8]); 2] = [
        ("t.parquet", b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00\x12\x00\x00PAR1"),
        ("t.arrow", b"ARROW1\x00\x00\xff\xff\xff\xff"),
    ];
    for (name, bytes) in broken {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = dir.path().join(format!("{name}.scores.csv"));
        let err = fails(ae().args(["score", m, p.to_str().unwrap(), "-o", out.to_str().unwrap()]), &[name]);
        assert!(!err.contains("not a number"), "{err}");
        assert!(!out.exists(), "nothing written for {name}");
    }
    // The same from standard input: named as such.
    for (_, bytes) in broken {
        let err = fails(ae().args(["score", m, "-"]).write_stdin(bytes.to_vec()), &["<stdin>"]);
        assert!(!err.contains("not a number"), "{err}");
    }
    // NPZ (a zip) needs seeking: refused from standard input by name.
    let npz = dir.path().join("rows.npz");
    ok(ae().args(["reconstruct", m, csv.to_str().unwrap(), "-o", npz.to_str().unwrap()]));
    fails(
        ae().args(["encode", m, "-"]).write_stdin(std::fs::read(&npz).unwrap()),
        &["NPZ", "standard input"],
    );
    // Data and labels cannot both come from standard input.
    fails(ae().args(["encode", m, "-", "-"]).write_stdin(std::fs::read(&csv).unwrap()), &["standard input"]);
}

/// SIGPIPE's number on Linux and the BSDs.
fn libc_sigpipe() -> i32 {
    13
}
