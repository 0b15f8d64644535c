//! `ae train FILE` with no settings chooses defaults that fit the data, and says so:
//! a table with values outside [0, 1] gets z-scores, a linear output and a code narrower
//! than its rows; a table in [0, 1] keeps the sigmoid output; images keep today's model.

use crate::common::{ae, ok};

/// 400 rows of 5 columns that are linear mixtures of 2 hidden values, with negative
/// values: PCA with 2 components reconstructs them exactly.
fn rank_two_table(path: &std::path::Path, scale: f32, offset: f32) {
    let mut s = String::from("a,b,c,d,e\n");
    let mut state = 12345u64;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    };
    for _ in 0..400 {
        let (u, v) = (next(), next());
        let row = [u + v, u - v, 2.0 * u, 0.5 * v - u, 3.0 * v];
        let cells: Vec<String> = row.iter().map(|x| (x * scale + offset).to_string()).collect();
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

fn inspect(model: &std::path::Path) -> serde_json::Value {
    let out = ok(ae().args(["inspect", "--json"]).arg(model));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_table_with_negative_values_gets_zscores_a_linear_output_and_a_narrower_code() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("table.csv");
    rank_two_table(&csv, 2.0, 0.0);
    let m = dir.path().join("m.safetensors");
    let out = ok(ae().args(["train", "--threads", "1", "--no-plots", "--json"]).arg(&csv).arg("-o").arg(&m));
    let err = String::from_utf8_lossy(&out.stderr);
    let note = err.lines().find(|l| l.starts_with("note: ")).unwrap_or_else(|| panic!("no note: {err}"));
    for needle in [
        "table.csv is a table of 5 columns",
        "normalize zscore",
        "output_activation linear",
        "layers [5,3,3,3]",
    ] {
        assert!(note.contains(needle), "{needle:?} not in {note}");
    }
    assert!(!err.contains("warning:"), "{err}");
    let j = inspect(&m);
    let cfg = &j["config"];
    assert_eq!(cfg["normalize"], "zscore", "{j}");
    assert_eq!(cfg["output_activation"], "linear", "{j}");
    assert_eq!(cfg["layers"], serde_json::json!([5, 3, 3, 3]), "{j}");
    // It learns the table: in z-scored units (variance 1 a column) the loss ends far
    // below the 1.48 the old 5→64→5 sigmoid default was stuck at.
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let loss = summary["train_loss"].as_f64().unwrap();
    assert!(loss < 0.05, "final training loss {loss}");
}

#[test]
fn a_table_in_the_unit_interval_keeps_its_values_and_a_sigmoid_output() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("unit.csv");
    rank_two_table(&csv, 0.1, 0.5);
    let m = dir.path().join("m.safetensors");
    let out =
        ok(ae().args(["train", "--epochs", "1", "--threads", "1", "--no-plots"]).arg(&csv).arg("-o").arg(&m));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("layers [5,3,3,3]") && !err.contains("zscore"), "{err}");
    let j = inspect(&m);
    assert_eq!(j["config"]["normalize"], "none", "{j}");
    assert_eq!(j["config"]["output_activation"], "sigmoid", "{j}");
}

#[test]
fn flags_override_the_data_defaults_and_a_code_as_wide_as_the_rows_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("table.csv");
    rank_two_table(&csv, 2.0, 0.0);
    let m = dir.path().join("m.safetensors");
    let out = ok(ae()
        .args([
            "train",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--no-plots",
            "--layers",
            "8",
            "--normalize",
            "minmax",
        ])
        .arg(&csv)
        .arg("-o")
        .arg(&m));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: the code (8 values) is not narrower than a row (5 values)"), "{err}");
    let j = inspect(&m);
    assert_eq!(j["config"]["layers"], serde_json::json!([8]), "{j}");
    assert_eq!(j["config"]["normalize"], "minmax", "{j}");
    // --normalize takes charge of the values: the output stays the plain default.
    assert_eq!(j["config"]["output_activation"], "sigmoid", "{j}");
}
