//! End-to-end tests of compression and image input: `ae compress` then `ae decompress`
//! equals `ae reconstruct --bits`, broken and foreign compressed files are refused,
//! `ae evaluate --rate-distortion` reports all three curves, and folders of PNG and JPEG
//! images of different sizes train, reconstruct and compress (`--skip-bad` for broken ones).

use std::path::{Path, PathBuf};

use crate::common::{ae, fails, ok};
use serde_json::Value;

fn npy_values(path: &Path) -> Vec<u32> {
    let bytes = std::fs::read(path).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + header_len..].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// A model trained for one epoch on the built-in synthetic images.
fn synthetic_model(dir: &Path) -> PathBuf {
    let m = dir.join("m.safetensors");
    ok(ae()
        .args(["train", "--dataset", "synthetic", "--layers", "64,12", "--epochs", "1", "--threads", "1"])
        .args(["--quiet", "--no-plots", "-o"])
        .arg(&m));
    m
}

#[test]
fn compress_then_decompress_equals_reconstruct_with_the_same_bits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = synthetic_model(d);
    for bits in ["3", "7"] {
        let f = d.join(format!("test-{bits}.aez"));
        ok(ae().args(["compress"]).arg(&m).args(["--dataset", "synthetic", "--bits", bits, "-o"]).arg(&f));
        // 4000 images of 784 bytes in a few bytes each.
        let size = std::fs::metadata(&f).unwrap().len();
        assert!(size < 4000 * 20, "{size} bytes");
        let out = d.join(format!("out-{bits}.npy"));
        ok(ae().arg("decompress").arg(&m).arg(&f).arg("-o").arg(&out));
        let rec = d.join(format!("rec-{bits}.npy"));
        ok(ae().arg("reconstruct").arg(&m).args(["--dataset", "synthetic", "--bits", bits, "-o"]).arg(&rec));
        let (a, b) = (npy_values(&out), npy_values(&rec));
        assert_eq!(a.len(), 4000 * 784);
        assert!(a == b, "decompressed rows differ from `reconstruct --bits {bits}`");
    }
    // Without --bits the reconstruction is the unquantised one, which differs.
    let plain = d.join("plain.npy");
    ok(ae().arg("reconstruct").arg(&m).args(["--dataset", "synthetic", "-o"]).arg(&plain));
    assert_ne!(npy_values(&plain), npy_values(&d.join("rec-3.npy")));
    // PNG out: a grid of the decompressed images.
    let png = d.join("out.png");
    ok(ae().arg("decompress").arg(&m).arg(d.join("test-3.aez")).arg("-o").arg(&png));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn truncated_altered_and_foreign_compressed_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = synthetic_model(d);
    let f = d.join("t.aez");
    ok(ae().arg("compress").arg(&m).args(["--dataset", "synthetic", "--bits", "4", "-o"]).arg(&f));
    let bytes = std::fs::read(&f).unwrap();
    let out = d.join("never.npy");
    let cut = d.join("cut.aez");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    fails(ae().arg("decompress").arg(&m).arg(&cut).arg("-o").arg(&out), &["cut.aez", "truncated or corrupt"]);
    let tiny = d.join("tiny.aez");
    std::fs::write(&tiny, &bytes[..9]).unwrap();
    fails(ae().arg("decompress").arg(&m).arg(&tiny).arg("-o").arg(&out), &["tiny.aez", "truncated"]);
    let flipped = d.join("flipped.aez");
    let mut b = bytes.clone();
    b[40] ^= 0x10;
    std::fs::write(&flipped, &b).unwrap();
    fails(ae().arg("decompress").arg(&m).arg(&flipped).arg("-o").arg(&out), &["flipped.aez", "checksum"]);
    fails(
        ae().arg("decompress").arg(&m).arg(&m).arg("-o").arg(&out),
        &["m.safetensors", "not a file written by `ae compress`"],
    );
    // Another model (another seed) refuses the file.
    let other = d.join("other.safetensors");
    ok(ae()
        .args(["train", "--dataset", "synthetic", "--layers", "64,12", "--epochs", "1", "--threads", "1"])
        .args(["--seed", "9", "--quiet", "--no-plots", "-o"])
        .arg(&other));
    fails(ae().arg("decompress").arg(&other).arg(&f).arg("-o").arg(&out), &["t.aez", "another model"]);
    fails(
        ae().arg("compress").arg(&m).args(["--dataset", "synthetic", "--bits", "0", "-o"]).arg(&out),
        &["bits"],
    );
    assert!(!out.exists());
    let left: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().contains(".tmp")), "{left:?}");
}

#[test]
fn rate_distortion_reports_autoencoder_pca_and_jpeg_and_draws_a_plot() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = synthetic_model(d);
    let plot = d.join("rd.png");
    let out = ok(ae()
        .arg("evaluate")
        .arg(&m)
        .args(["--dataset", "synthetic", "--rate-distortion", "--bits", "2,6", "--jpeg-qualities", "1,50,95"])
        .args(["--json", "--rd-plot"])
        .arg(&plot));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rd = &j["rate_distortion"];
    for (method, n) in [("autoencoder", 2), ("pca", 2), ("jpeg", 3)] {
        let pts = rd[method].as_array().unwrap();
        assert_eq!(pts.len(), n, "{method}");
        for p in pts {
            assert!(p["bytes_per_image"].as_f64().unwrap() > 18.0, "{p}");
            assert!(p["psnr"].as_f64().unwrap() > 5.0, "{p}");
        }
    }
    // More bits: more bytes and no worse PSNR; higher JPEG quality: bigger files.
    let ae_pts = rd["autoencoder"].as_array().unwrap();
    assert!(ae_pts[1]["bytes_per_image"].as_f64() > ae_pts[0]["bytes_per_image"].as_f64());
    assert!(ae_pts[1]["psnr"].as_f64() > ae_pts[0]["psnr"].as_f64());
    let jp = rd["jpeg"].as_array().unwrap();
    assert!(jp[2]["bytes_per_image"].as_f64() > jp[0]["bytes_per_image"].as_f64());
    assert!(std::fs::read(&plot).unwrap().starts_with(b"\x89PNG"));
}

fn write_gray_png(path: &Path, w: u32, h: u32, seed: u32) {
    let img = image::GrayImage::from_fn(w, h, |x, y| {
        let cx = (x as f32 / w as f32 - 0.5) * 2.0;
        let cy = (y as f32 / h as f32 - 0.5) * 2.0;
        let r = (cx * cx + cy * cy).sqrt() * (1.0 + (seed % 5) as f32 * 0.2);
        image::Luma([if r < 0.7 { 220 } else { 20 }])
    });
    img.save(path).unwrap();
}

fn write_rgb_jpeg(path: &Path, w: u32, h: u32, seed: u32) {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let v = ((x + y + seed) % 16) as u8 * 12;
        image::Rgb([v, 255 - v, (seed * 40) as u8])
    });
    img.save(path).unwrap();
}

#[test]
fn a_folder_of_mixed_png_and_jpeg_images_trains_reconstructs_and_compresses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let imgs = d.join("imgs");
    for class in ["circles", "stripes"] {
        std::fs::create_dir_all(imgs.join(class)).unwrap();
    }
    for i in 0..24u32 {
        // Different sizes: resized to the first image's (16×16) on load.
        write_gray_png(&imgs.join(format!("circles/{i:02}.png")), 16 + i % 3, 16 + i % 4, i);
        write_rgb_jpeg(&imgs.join(format!("stripes/{i:02}.jpg")), 20 + i % 5, 14 + i % 2, i);
    }
    let m = d.join("img.safetensors");
    let out = ok(ae()
        .arg("train")
        .arg(&imgs)
        .args([
            "--layers",
            "32,8",
            "--epochs",
            "3",
            "--batch-size",
            "8",
            "--threads",
            "1",
            "--validation-split",
            "0.25",
        ])
        .args(["--json", "--quiet", "-o"])
        .arg(&m));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(j["reconstructions"].is_string(), "{j}");
    let grid = d.join("grid.png");
    ok(ae().arg("reconstruct").arg(&m).arg(&imgs).arg("-o").arg(&grid));
    assert!(std::fs::read(&grid).unwrap().starts_with(b"\x89PNG"));
    // One image file compressed alone and decompressed to a PNG of the model's size.
    let one = d.join("one.aez");
    ok(ae().arg("compress").arg(&m).arg(imgs.join("circles/05.png")).args(["--bits", "5", "-o"]).arg(&one));
    let back = d.join("one.png");
    ok(ae().arg("decompress").arg(&m).arg(&one).arg("-o").arg(&back));
    let img = image::open(&back).unwrap();
    assert_eq!((img.width(), img.height()), (16, 16));

    // A truncated PNG and a garbage JPEG: named, or skipped and counted with --skip-bad.
    let bytes = std::fs::read(imgs.join("circles/00.png")).unwrap();
    std::fs::write(imgs.join("circles/zz-truncated.png"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(imgs.join("stripes/zz-garbage.jpg"), b"\xff\xd8\xff\xe0 not really").unwrap();
    let rec = d.join("rec.npy");
    fails(ae().arg("reconstruct").arg(&m).arg(&imgs).arg("-o").arg(&rec), &["zz-truncated.png"]);
    assert!(!rec.exists());
    let out = ok(ae().arg("reconstruct").arg(&m).arg(&imgs).arg("--skip-bad").arg("-o").arg(&rec));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped 2 unreadable image(s)"), "{err}");
    assert!(err.contains("zz-garbage.jpg") && err.contains("zz-truncated.png"), "{err}");
    assert_eq!(npy_values(&rec).len(), 48 * 16 * 16);
}
