//! End-to-end tests of convolutional models (`--arch conv`): training on images from
//! flags and from TOML, the reconstruction grid, inspect, determinism, RGB folders, and
//! the shape and usage errors.

use std::path::{Path, PathBuf};

use crate::common::{ae, fails, ok, refused};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

fn is_png(p: &Path) -> bool {
    std::fs::read(p).is_ok_and(|b| b.starts_with(b"\x89PNG"))
}

fn train(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, Value) {
    let m = dir.join(name);
    let out = ok(ae()
        .args(["train", "--dataset", "synthetic", "--threads", "1", "--quiet", "--json", "--epochs", "2"])
        .args(args)
        .arg("-o")
        .arg(&m));
    (m, json(&out))
}

#[test]
fn a_conv_model_trains_beats_its_start_and_writes_grids_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = ["--arch", "conv", "--channels", "4,8", "--layers", "16", "--seed", "3"];
    let (m, j) = train(d, "conv.safetensors", &args);
    assert_eq!(j["architecture"], "1×28×28-c4-c8-16-c8-c4-1×28×28", "{j}");
    let losses: Vec<f64> =
        j["history"].as_array().unwrap().iter().map(|h| h["train_loss"].as_f64().unwrap()).collect();
    assert!(losses[1] < losses[0], "the loss fell: {losses:?}");
    // Image data: a grid of validation reconstructions beside the model.
    assert!(is_png(Path::new(j["reconstructions"].as_str().unwrap())), "{j}");

    let info = json(&ok(ae().arg("inspect").arg(&m).arg("--json")));
    let text = info.to_string();
    assert!(text.contains("conv2d") && text.contains("conv_transpose2d"), "{text}");
    assert_eq!(info["config"]["arch"], "conv");
    assert_eq!(info["config"]["channels"], serde_json::json!([4, 8]));
    // Weights as PyTorch's, permuted: conv out × k × k × in, transposed conv in × k × k × out.
    let t = info["tensors"].as_array().unwrap();
    let shape = |name: &str| t.iter().find(|x| x["name"] == name).map(|x| x["shape"].clone()).unwrap();
    assert_eq!(shape("encoder.0.weight"), serde_json::json!([4, 3, 3, 1]));
    assert_eq!(shape("decoder.2.weight"), serde_json::json!([4, 3, 3, 1]));

    let grid = d.join("grid.png");
    ok(ae().arg("reconstruct").arg(&m).args(["--dataset", "synthetic", "--grid", "16", "-o"]).arg(&grid));
    assert!(is_png(&grid));
    let ev = json(&ok(ae().arg("evaluate").arg(&m).args(["--dataset", "synthetic", "--json"])));
    assert!(ev["sse_per_row"].as_f64().unwrap() > 0.0, "{ev}");

    // Same seed and threads: the same bytes.
    let (m2, _) = train(d, "again.safetensors", &args);
    assert_eq!(std::fs::read(&m).unwrap(), std::fs::read(&m2).unwrap());
}

#[test]
fn pooled_blocks_and_a_toml_configuration_train() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = d.join("conv.toml");
    std::fs::write(
        &cfg,
        "[model]\narch = \"conv\"\nchannels = [4, 4]\ndownsample = \"pool\"\nlayers = [8]\n\n[training]\nepochs = 1\n",
    )
    .unwrap();
    let m = d.join("pool.safetensors");
    let out = ok(ae()
        .args([
            "train",
            "--dataset",
            "synthetic",
            "--threads",
            "1",
            "--quiet",
            "--json",
            "--no-plots",
            "--config",
        ])
        .arg(&cfg)
        .arg("-o")
        .arg(&m));
    let j = json(&out);
    assert_eq!(j["architecture"], "1×28×28-c4-c4-8-c4-c4-1×28×28", "{j}");
    let info = json(&ok(ae().arg("inspect").arg(&m).arg("--json"))).to_string();
    assert!(info.contains("max_pool2d") && info.contains("upsample"), "{info}");
}

#[test]
fn an_rgb_folder_trains_a_conv_model_and_reconstructs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let imgs = d.join("imgs");
    std::fs::create_dir_all(&imgs).unwrap();
    for i in 0..12u32 {
        let img = image::RgbImage::from_fn(10 + i % 3, 12, |x, y| {
            image::Rgb([(x * 20) as u8, (y * 20) as u8, (i * 20) as u8])
        });
        img.save(imgs.join(format!("{i:02}.png"))).unwrap();
    }
    let m = d.join("rgb.safetensors");
    let out = ok(ae()
        .arg("train")
        .arg(&imgs)
        .args(["--arch", "conv", "--channels", "4,4", "--layers", "6", "--image-size", "12x12"])
        .args(["--image-channels", "3", "--epochs", "2", "--batch-size", "4", "--threads", "1", "--quiet"])
        .args(["--json", "-o"])
        .arg(&m));
    assert_eq!(json(&out)["architecture"], "3×12×12-c4-c4-6-c4-c4-3×12×12");
    let grid = d.join("grid.png");
    ok(ae().arg("reconstruct").arg(&m).arg(&imgs).arg("-o").arg(&grid));
    let g = image::open(&grid).unwrap();
    assert!(g.color().has_color(), "an RGB grid");
}

#[test]
fn conv_usage_and_shape_errors_name_the_setting_and_the_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = d.join("t.csv");
    std::fs::write(&csv, "1,2,3,4\n5,6,7,8\n1,1,1,1\n2,2,2,2\n").unwrap();
    let m = d.join("never.safetensors");
    fails(
        ae().arg("train").arg(&csv).args(["--arch", "conv", "--channels", "4", "-o"]).arg(&m),
        &["arch", "needs images"],
    );
    // A 4×4 kernel halves 28 → 14 → 7 → 3 → 1, and then no longer fits.
    fails(
        ae().args(["train", "--dataset", "synthetic", "--arch", "conv", "--channels", "2,2,2,2,2"])
            .args(["--kernel-size", "4", "-o"])
            .arg(&m),
        &["conv block 5", "1×1"],
    );
    fails(
        ae().args(["train", "--dataset", "synthetic", "--arch", "conv", "--channels", "2,2,2"])
            .args(["--downsample", "pool", "-o"])
            .arg(&m),
        &["conv block 3", "7×7"],
    );
    fails(ae().args(["train", "--dataset", "synthetic", "--channels", "8", "-o"]).arg(&m), &["--arch conv"]);
    refused(
        ae().args(["train", "--dataset", "synthetic", "--arch", "convolution", "-o"]).arg(&m),
        &["--arch", "convolution"],
    );
    assert!(!m.exists());
}
