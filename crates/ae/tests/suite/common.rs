//! Helpers shared by the end-to-end test files: the command with a clean environment,
//! running it expecting success or a clean failure, and data more than one file uses.

#![allow(dead_code)] // each test file uses its own subset

use assert_cmd::Command;

/// The command, with the environment that could point it at real datasets removed.
pub fn ae() -> Command {
    let mut c = Command::cargo_bin("ae").expect("the ae binary is built");
    for v in ["AE_DATA_DIR", "AE_CACHE_DIR", "AE_MIRROR", "RUST_BACKTRACE"] {
        c.env_remove(v);
    }
    c
}

/// Runs and expects success; returns the output.
pub fn ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("ae runs");
    assert!(
        out.status.success(),
        "ae failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Runs, expects exit code 1 and one `error:` line containing every needle; returns stderr.
pub fn fails(cmd: &mut Command, needles: &[&str]) -> String {
    fails_with(cmd, 1, needles)
}

/// [`fails`] for a flag value the command line refuses before any work (a usage error,
/// exit code 2): the `error:` line names the flag and the value.
pub fn refused(cmd: &mut Command, needles: &[&str]) -> String {
    fails_with(cmd, 2, needles)
}

fn fails_with(cmd: &mut Command, code: i32, needles: &[&str]) -> String {
    let out = cmd.output().expect("ae runs");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "expected exit {code}, stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let line =
        err.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("no error line: {err}"));
    for n in needles {
        assert!(line.contains(n), "{n:?} not in {line:?}");
    }
    err
}

/// The names in `dir`, sorted.
pub fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Three NPY files of `rows × cols` in a new folder `dir/parts`: the first's values in
/// [0, 1], the others' from −1.5 to 2.5, so that defaults chosen from the first file
/// alone differ from those chosen from every row.
pub fn parts_first_in_unit_interval(dir: &std::path::Path, rows: usize, cols: usize) -> std::path::PathBuf {
    let folder = dir.join("parts");
    std::fs::create_dir(&folder).unwrap();
    for k in 0..3 {
        let values: Vec<f32> = (0..rows * cols)
            .map(|i| {
                let u = ((i * 37 + k * 11) % 101) as f32 / 100.0;
                if k == 0 {
                    u
                } else {
                    4.0 * u - 1.5
                }
            })
            .collect();
        crate::cli::write_npy(&folder.join(format!("part{k}.npy")), &values, rows, cols);
    }
    folder
}
