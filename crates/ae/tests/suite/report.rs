//! `ae report`: one self-contained HTML page (nothing fetched from a network) with the
//! model's settings, training curves, per-feature errors or image reconstructions, the
//! codes' scatter and the detector's histogram, ROC and precision–recall curves.

use crate::common::{ae, fails, ok};

fn self_contained(html: &str) {
    // SVG's namespace is a name, not a fetch.
    let html = html.replace(r#"xmlns="http://www.w3.org/2000/svg""#, "");
    for needle in ["http://", "https://", "src=\"/", "href=\"/", "<link", "@import"] {
        assert!(!html.contains(needle), "the page refers to something outside it: {needle}");
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
}

#[test]
fn a_detector_report_shows_its_settings_training_errors_and_curves() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.safetensors");
    let table = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/table.csv");
    ok(ae()
        .args(["train", table, "--preset", "tabular", "--label-column", "outlier", "--min-steps", "40"])
        .args(["--threshold", "contamination=0.05", "--threads", "1", "--quiet", "--no-plots", "-o"])
        .arg(&m));
    let page = dir.path().join("r.html");
    ok(ae()
        .arg("report")
        .arg(&m)
        .args([table, "--label-column", "outlier", "--threads", "1", "-o"])
        .arg(&page));
    let html = std::fs::read_to_string(&page).unwrap();
    self_contained(&html);
    // The ROC area the page states is ae score's.
    let out =
        ok(ae().arg("score").arg(&m).args([table, "--label-column", "outlier", "--threads", "1", "--json"]));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let auc = j["roc_auc"].as_f64().unwrap();
    assert!(html.contains(&format!("ROC curve, area {auc:.4}")), "no ROC area {auc:.4}");
    for needle in [
        "<h2>Settings</h2>",
        "<h2>Training</h2>",
        "loss by epoch",
        "reconstruction error per feature",
        "codes, first two principal components",
        "root scores, threshold",
        "precision against recall",
        ">voltage<",
    ] {
        assert!(html.contains(needle), "the page lacks {needle:?}");
    }
    // Without data: the model alone.
    ok(ae().arg("report").arg(&m).arg("-o").arg(&page));
    let html = std::fs::read_to_string(&page).unwrap();
    self_contained(&html);
    assert!(html.contains("<h2>Settings</h2>") && !html.contains("reconstruction error per feature"));
    // The model file is never the output; a missing model is one line.
    fails(ae().arg("report").arg(&m).arg("-o").arg(&m), &["m.safetensors"]);
    fails(
        ae().arg("report").arg(dir.path().join("none.safetensors")).arg("-o").arg(&page),
        &["none.safetensors"],
    );
}

#[test]
fn an_image_model_report_shows_originals_above_reconstructions() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("img.safetensors");
    let shapes = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/shapes");
    ok(ae()
        .args([
            "train",
            shapes,
            "--layers",
            "8",
            "--epochs",
            "2",
            "--threads",
            "1",
            "--quiet",
            "--no-plots",
            "-o",
        ])
        .arg(&m));
    let page = dir.path().join("r.html");
    ok(ae().arg("report").arg(&m).args([shapes, "-o"]).arg(&page));
    let html = std::fs::read_to_string(&page).unwrap();
    self_contained(&html);
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 16, "8 originals and 8 reconstructions");
}
