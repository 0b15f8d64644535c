//! End-to-end tests of the `ae` command: every subcommand on small generated files
//! (CSV, NPY, IDX, gzipped IDX), determinism, configuration files, and the error
//! messages for bad input (one `error:` line, exit code 1, no output file left behind).

use std::path::{Path, PathBuf};

use crate::common::listing;
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// The command, with the environment that could point it at real datasets removed.
fn ae() -> Command {
    let mut c = Command::cargo_bin("ae").expect("the ae binary is built");
    for v in ["AE_DATA_DIR", "AE_CACHE_DIR", "AE_MIRROR", "RUST_BACKTRACE"] {
        c.env_remove(v);
    }
    c
}

/// A small deterministic generator (xorshift64*), values in [0, 1).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (v >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// `rows × cols` values in [0, 1] with low-rank structure (two hidden factors), so an
/// autoencoder has something to learn.
fn table(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        let (a, b) = (r.next_f32(), r.next_f32());
        for j in 0..cols {
            let t = j as f32 / cols.max(1) as f32;
            let v = 0.5 * a * (1.0 - t) + 0.4 * b * t + 0.1 * r.next_f32();
            out.push(v.clamp(0.0, 1.0));
        }
    }
    out
}

/// Write `data` as a CSV file, optionally with a header `f1..fc` and an integer label
/// column `label` appended.
fn write_csv(path: &Path, data: &[f32], cols: usize, header: bool, labels: bool) {
    let mut s = String::new();
    if header {
        let mut names: Vec<String> = (1..=cols).map(|i| format!("f{i}")).collect();
        if labels {
            names.push("label".into());
        }
        s.push_str(&names.join(","));
        s.push('\n');
    }
    for (i, row) in data.chunks(cols).enumerate() {
        let mut fields: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
        if labels {
            fields.push((i % 3).to_string());
        }
        s.push_str(&fields.join(","));
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

/// Write an NPY v1.0 file of f32 `rows × cols`, the header written by hand.
pub(crate) fn write_npy(path: &Path, data: &[f32], rows: usize, cols: usize) {
    assert_eq!(data.len(), rows * cols);
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic (6) + version (2) + header length (2) + dict + '\n' is a multiple of 64.
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = Vec::new();
    out.extend_from_slice(b"\x93NUMPY");
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

/// Read back a little-endian f32 NPY file: (shape, values).
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let b = std::fs::read(path).unwrap();
    assert!(b.starts_with(b"\x93NUMPY"), "{} is not an NPY file", path.display());
    let (hlen, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        _ => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
    };
    let header = std::str::from_utf8(&b[start..start + hlen]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    let shape_text = header.split("'shape': (").nth(1).unwrap().split(')').next().unwrap();
    let shape: Vec<usize> =
        shape_text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    let data: Vec<f32> =
        b[start + hlen..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert_eq!(data.len(), shape.iter().product::<usize>(), "NPY data length vs shape {shape:?}");
    (shape, data)
}

/// Read a CSV written by `ae`: (header, rows of numbers).
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f32>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|f| f.trim().parse::<f32>().unwrap()).collect())
        .collect();
    (header, rows)
}

/// IDX u8 images: magic 0x00000803, the declared `n`, `h`, `w`, then `pixels`.
fn idx_images_bytes(declared_n: u32, h: u32, w: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0x0000_0803u32.to_be_bytes());
    for d in [declared_n, h, w] {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// IDX u8 labels: magic 0x00000801, n, then the labels.
fn idx_labels_bytes(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0x0000_0801u32.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// `n` little `h × w` images: a bright bar whose position depends on the image, plus noise.
fn images(n: usize, h: usize, w: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut r = Rng::new(seed);
    let mut px = Vec::with_capacity(n * h * w);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = (i % 3) as u8;
        let pos = (r.next_f32() * w as f32) as usize;
        for y in 0..h {
            for x in 0..w {
                let on = match class {
                    0 => x == pos,
                    1 => y == pos.min(h - 1),
                    _ => x == y,
                };
                let base = if on { 220.0 } else { 20.0 };
                px.push((base + 30.0 * r.next_f32()) as u8);
            }
        }
        labels.push(class);
    }
    (px, labels)
}

/// CRC-32 (IEEE) for the gzip trailer.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks: no compression
/// library needed, and every gzip reader accepts it.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let chunks: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(65_535).collect() };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn assert_png(path: &Path) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(b.starts_with(PNG_SIGNATURE), "{} is not a PNG", path.display());
    assert!(b.len() > 100, "{} is suspiciously small", path.display());
}

fn json_stdout(out: &std::process::Output) -> Value {
    let s = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{s}"))
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run and require success; returns the output.
fn ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "command failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    out
}

/// Run and require a clean failure: exit code 1, stderr one line starting with
/// `error:`, no panic, containing every string of `needles` (case-insensitive).
fn fails(cmd: &mut Command, needles: &[&str]) -> String {
    fails_with(cmd, 1, needles)
}

/// [`fails`] for a flag value the command line refuses before any work (a usage error:
/// exit code 2); the line names the flag and the value.
fn refused(cmd: &mut Command, needles: &[&str]) -> String {
    fails_with(cmd, 2, needles)
}

fn fails_with(cmd: &mut Command, code: i32, needles: &[&str]) -> String {
    let out = cmd.output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(code), "expected exit code {code}; stderr:\n{err}");
    assert!(!err.contains("panicked"), "panic in stderr:\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected ONE line on stderr, got:\n{err}");
    assert!(lines[0].starts_with("error:"), "stderr does not start with `error:`:\n{err}");
    let lower = err.to_lowercase();
    for n in needles {
        assert!(lower.contains(&n.to_lowercase()), "stderr lacks {n:?}:\n{err}");
    }
    err
}

/// Assert `out_dir` holds nothing (no output, no temporary files).
fn assert_empty(out_dir: &Path) {
    assert_eq!(listing(out_dir), Vec::<String>::new(), "files left in {}", out_dir.display());
}

/// A temp dir with `out/` (empty, for outputs) inside.
fn dirs() -> (TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    std::fs::create_dir(&out).unwrap();
    (t, out)
}

/// The common "small and fast" training flags.
const FAST: &[&str] = &["--threads", "1", "--quiet", "--batch-size", "32"];

/// Train a tiny model on a headered CSV of `rows × cols`; returns (csv, model).
fn csv_model(dir: &Path, rows: usize, cols: usize, code: usize) -> (PathBuf, PathBuf) {
    let csv = dir.join("train.csv");
    write_csv(&csv, &table(rows, cols, 1), cols, true, false);
    let model = dir.join("m.safetensors");
    ok(ae()
        .arg("train")
        .arg(&csv)
        .args(["--layers", &format!("{}", code), "--epochs", "1", "--no-plots"])
        .args(FAST)
        .arg("-o")
        .arg(&model));
    (csv, model)
}

// ---------------------------------------------------------------------------
// 1. Training on a CSV, JSON summary, loss curve, inspect
// ---------------------------------------------------------------------------

#[test]
fn train_on_csv_writes_model_json_and_loss_curve_and_inspect_reads_it() {
    let t = tempfile::tempdir().unwrap();
    let csv = t.path().join("data.csv");
    write_csv(&csv, &table(240, 10, 7), 10, true, true);
    let model = t.path().join("tiny.safetensors");
    let out = ok(ae()
        .arg("train")
        .arg(&csv)
        .args(["--label-column", "label", "--layers", "6,3", "--epochs", "3", "--validation-split", "0.2"])
        .args(["--json", "--seed", "5"])
        .args(FAST)
        .arg("-o")
        .arg(&model));
    assert!(model.is_file(), "no model written");
    let j = json_stdout(&out);
    for k in ["epochs_run", "train_loss", "val_loss", "seconds", "rows_per_second"] {
        assert!(j.get(k).is_some(), "JSON lacks {k}: {j}");
    }
    assert_eq!(j["epochs_run"], 3);
    assert!(j["train_loss"].as_f64().unwrap().is_finite());
    assert!(j["val_loss"].as_f64().is_some(), "validation split given but no val_loss: {j}");
    assert!(j["seconds"].as_f64().unwrap() >= 0.0);
    assert!(j["rows_per_second"].as_f64().unwrap() > 0.0);
    assert_eq!(j["architecture"], "10-6-3-6-10", "the label column must not be a feature");
    assert_eq!(j["history"].as_array().unwrap().len(), 3);

    let loss_png = t.path().join("tiny.loss.png");
    assert_png(&loss_png);
    assert_eq!(j["loss_curve"].as_str().map(PathBuf::from), Some(loss_png));
    // Not images: no reconstruction grid.
    assert!(!t.path().join("tiny.recon.png").exists());

    ae().arg("inspect")
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::contains("10-6-3-6-10"))
        .stdout(predicate::str::contains("autoencoder/1"))
        .stdout(predicate::str::contains("3 epochs"));
    let out = ok(ae().arg("inspect").arg("--json").arg(&model));
    let j = json_stdout(&out);
    assert_eq!(j["architecture"], "10-6-3-6-10");
    assert_eq!(j["format"], "autoencoder/1");
    assert_eq!(j["config"]["layers"], serde_json::json!([6, 3]));
    assert!(j["parameters"].as_u64().unwrap() > 0);
    assert_eq!(j["training"]["epochs_run"], 3);
    assert_eq!(j["training"]["seed"], 5);
    assert!(j["tensors"].as_array().unwrap().iter().any(|t| t["name"] == "encoder.0.weight"));
}

#[test]
fn train_reads_headerless_csv_and_npy() {
    let t = tempfile::tempdir().unwrap();
    let data = table(150, 7, 3);
    let csv = t.path().join("plain.csv");
    write_csv(&csv, &data, 7, false, false);
    let npy = t.path().join("plain.npy");
    write_npy(&npy, &data, 150, 7);
    let mut files = Vec::new();
    for (src, name) in [(&csv, "a.safetensors"), (&npy, "b.safetensors")] {
        let m = t.path().join(name);
        let out = ok(ae()
            .arg("train")
            .arg(src)
            .args(["--layers", "3", "--epochs", "2", "--json", "--no-plots", "--no-shuffle"])
            .args(FAST)
            .arg("-o")
            .arg(&m));
        let j = json_stdout(&out);
        assert_eq!(j["architecture"], "7-3-7");
        assert!(j["loss_curve"].is_null());
        assert!(!t.path().join(name.replace("safetensors", "loss.png")).exists(), "--no-plots wrote a PNG");
        files.push(m);
    }
    // The same numbers through CSV or NPY train the same model (apart from the recorded source).
    let a = json_stdout(&ok(ae().args(["inspect", "--json"]).arg(&files[0])));
    let b = json_stdout(&ok(ae().args(["inspect", "--json"]).arg(&files[1])));
    assert_eq!(a["training"]["train_loss"], b["training"]["train_loss"]);
}

// ---------------------------------------------------------------------------
// 2. Determinism
// ---------------------------------------------------------------------------

#[test]
fn same_seed_and_threads_give_byte_identical_models() {
    let t = tempfile::tempdir().unwrap();
    let csv = t.path().join("d.csv");
    write_csv(&csv, &table(300, 12, 11), 12, true, false);
    let train = |name: &str, seed: &str, threads: &str| -> Vec<u8> {
        let m = t.path().join(name);
        ok(ae()
            .arg("train")
            .arg(&csv)
            .args(["--layers", "8,4", "--epochs", "2", "--batch-size", "16", "--quiet", "--no-plots"])
            .args(["--seed", seed, "--threads", threads, "--validation-split", "0.1"])
            .arg("-o")
            .arg(&m));
        std::fs::read(&m).unwrap()
    };
    let a1 = train("a1.safetensors", "3", "1");
    let a2 = train("a2.safetensors", "3", "1");
    assert!(a1 == a2, "same seed, one thread: the model files differ");
    let b1 = train("b1.safetensors", "3", "2");
    let b2 = train("b2.safetensors", "3", "2");
    assert!(b1 == b2, "same seed, two threads: the model files differ");
    let c = train("c.safetensors", "4", "1");
    assert!(c != a1, "a different seed gave the same model file");
}

// ---------------------------------------------------------------------------
// 3. Images: IDX in, PNG grid, encode/decode/reconstruct/evaluate
// ---------------------------------------------------------------------------

#[test]
fn idx_images_round_trip_through_every_command() {
    let t = tempfile::tempdir().unwrap();
    let (n, h, w) = (200usize, 6usize, 6usize);
    let d = h * w;
    let (px, labels) = images(n, h, w, 21);
    let img = t.path().join("imgs-idx3-ubyte");
    let lab = t.path().join("labels-idx1-ubyte");
    std::fs::write(&img, idx_images_bytes(n as u32, h as u32, w as u32, &px)).unwrap();
    std::fs::write(&lab, idx_labels_bytes(&labels)).unwrap();
    let model = t.path().join("img.safetensors");
    let out = ok(ae()
        .arg("train")
        .arg(&img)
        .arg(&lab)
        .args(["--layers", "16,4", "--epochs", "2", "--loss", "bce", "--validation-split", "0.1", "--json"])
        .args(FAST)
        .arg("-o")
        .arg(&model));
    let j = json_stdout(&out);
    assert_eq!(j["architecture"], "36-16-4-16-36");
    // With images and a validation split, a reconstruction grid is written beside the model.
    assert_png(&t.path().join("img.loss.png"));
    assert_png(&t.path().join("img.recon.png"));

    let info = json_stdout(&ok(ae().args(["inspect", "--json"]).arg(&model)));
    let shape = &info["config"]["image_shape"];
    assert_eq!(shape["height"], 6, "no image shape recorded: {info}");
    assert_eq!(shape["width"], 6);
    assert_eq!(shape["channels"], 1);
    ae().arg("inspect").arg(&model).assert().success().stdout(predicate::str::contains("1×6×6"));

    // PNG grid.
    let grid = t.path().join("grid.png");
    ok(ae()
        .arg("reconstruct")
        .arg(&model)
        .arg(&img)
        .args(["--threads", "1", "--grid", "8", "-o"])
        .arg(&grid));
    assert_png(&grid);

    // Reconstructions as CSV and NPY: n rows of d values, in [0, 1] (sigmoid output).
    let rcsv = t.path().join("rec.csv");
    ok(ae().arg("reconstruct").arg(&model).arg(&img).args(["--threads", "1", "-o"]).arg(&rcsv));
    let (header, rows) = read_csv(&rcsv);
    assert_eq!(header.len(), d);
    assert_eq!(rows.len(), n);
    assert!(rows.iter().all(|r| r.len() == d));
    assert!(rows.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
    let rnpy = t.path().join("rec.npy");
    ok(ae().arg("reconstruct").arg(&model).arg(&img).args(["--threads", "1", "-o"]).arg(&rnpy));
    let (shape, vals) = read_npy(&rnpy);
    assert_eq!(shape, vec![n, d]);
    // CSV and NPY hold the same numbers (CSV text round-trips f32 exactly).
    let flat: Vec<f32> = rows.into_iter().flatten().collect();
    assert_eq!(flat, vals);

    // Encode: CSV with z1..zk and one row per input row; NPY n × k.
    let codes = t.path().join("codes.csv");
    ok(ae().arg("encode").arg(&model).arg(&img).args(["--threads", "1", "-o"]).arg(&codes));
    let (header, crow) = read_csv(&codes);
    assert_eq!(header, vec!["z1", "z2", "z3", "z4"]);
    assert_eq!(crow.len(), n);
    assert!(crow.iter().all(|r| r.len() == 4));
    let codes_npy = t.path().join("codes.npy");
    ok(ae().arg("encode").arg(&model).arg(&img).args(["--threads", "1", "-o"]).arg(&codes_npy));
    let (shape, cvals) = read_npy(&codes_npy);
    assert_eq!(shape, vec![n, 4]);
    assert_eq!(crow.into_iter().flatten().collect::<Vec<_>>(), cvals);
    // NPZ out, and back in through decode.
    let codes_npz = t.path().join("codes.npz");
    ok(ae().arg("encode").arg(&model).arg(&img).args(["--threads", "1", "-o"]).arg(&codes_npz));
    assert!(std::fs::read(&codes_npz).unwrap().starts_with(b"PK\x03\x04"));
    let dnpz = t.path().join("dec-from-npz.npy");
    ok(ae().arg("decode").arg(&model).arg(&codes_npz).args(["--threads", "1", "-o"]).arg(&dnpz));
    assert_eq!(read_npy(&dnpz).0, vec![n, d]);
    // Encode without -o prints CSV on stdout.
    let out = ok(ae().arg("encode").arg(&model).arg(&img).args(["--threads", "1"]));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().next(), Some("z1,z2,z3,z4"));
    assert_eq!(text.lines().count(), n + 1);

    // Decode the codes: rows of the input width, equal to the reconstructions.
    let dec = t.path().join("dec.csv");
    ok(ae().arg("decode").arg(&model).arg(&codes).args(["--threads", "1", "-o"]).arg(&dec));
    let (header, drows) = read_csv(&dec);
    assert_eq!(header.len(), d);
    assert_eq!(drows.len(), n);
    assert!(drows.iter().all(|r| r.len() == d));
    let dnpy = t.path().join("dec.npy");
    ok(ae().arg("decode").arg(&model).arg(&codes_npy).args(["--threads", "1", "-o"]).arg(&dnpy));
    let (shape, dvals) = read_npy(&dnpy);
    assert_eq!(shape, vec![n, d]);
    let max_diff = dvals.iter().zip(&vals).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max_diff < 1e-4, "decode(encode(x)) differs from reconstruct(x) by {max_diff}");

    // Evaluate: metrics and a PCA baseline with the code size.
    let out = ok(ae().arg("evaluate").arg(&model).arg(&img).arg(&lab).args(["--threads", "1", "--json"]));
    let j = json_stdout(&out);
    for k in ["mse", "sse_per_row", "psnr"] {
        assert!(j[k].as_f64().is_some_and(f64::is_finite), "evaluate JSON lacks a finite {k}: {j}");
    }
    assert_eq!(j["rows"], n);
    assert!(j["pca"].is_object(), "no pca object: {j}");
    assert_eq!(j["pca"]["k"], 4);
    for k in ["mse", "sse_per_row", "psnr"] {
        assert!(j["pca"][k].as_f64().is_some(), "pca lacks {k}: {j}");
    }
    let sse = j["sse_per_row"].as_f64().unwrap();
    let mse = j["mse"].as_f64().unwrap();
    assert!((sse - mse * d as f64).abs() <= 1e-6 + 1e-4 * sse, "sse_per_row {sse} != mse {mse} × {d}");
    // --probe: kNN, logistic and k-means of the codes, PCA-4 and the raw rows, in [0, 1];
    // without labelled training rows it is an error naming the setting.
    let j = json_stdout(&ok(ae()
        .arg("evaluate")
        .arg(&model)
        .arg(&img)
        .arg(&lab)
        .args(["--threads", "1", "--json", "--no-pca", "--probe", "--probe-train"])
        .arg(&img)
        .arg(&lab)));
    for rep in ["codes", "raw"] {
        for k in ["knn_euclidean", "knn_cosine", "logistic", "kmeans_ari", "kmeans_nmi"] {
            let v = j["probes"][rep][k].as_f64().unwrap_or(f64::NAN);
            assert!((-1.0..=1.0).contains(&v), "probes.{rep}.{k} = {v}: {j}");
        }
    }
    assert!(j["probes"]["pca"]["Ok"].is_object(), "{j}");
    assert_eq!(j["probes"]["width"], 4);
    fails(
        ae().arg("evaluate").arg(&model).arg(&img).arg(&lab).arg("--probe"),
        &["invalid probe", "--probe-train"],
    );
    // --no-pca leaves the baseline out; the text report names both.
    let j = json_stdout(&ok(ae().arg("evaluate").arg(&model).arg(&img).args([
        "--threads",
        "1",
        "--json",
        "--no-pca",
    ])));
    assert!(j.get("pca").is_none());
    ae().arg("evaluate")
        .arg(&model)
        .arg(&img)
        .args(["--threads", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("autoencoder"))
        .stdout(predicate::str::contains("PCA-4"));
}

/// A `--pca-fit` or `--probe-train` file is read beside a named dataset (both were
/// refused: "give either --dataset or data files, not both").
#[test]
fn fitting_files_are_read_beside_a_named_dataset() {
    let t = TempDir::new().unwrap();
    let fit = t.path().join("fit.npy");
    let rows = autoencoder::data::synthetic::generate(300, 9);
    autoencoder::data::npy::write(&fit, rows.as_slice(), 300, rows.cols()).unwrap();
    let model = t.path().join("m.safetensors");
    ok(ae()
        .args(["train", "--dataset", "synthetic", "--layers", "8", "--epochs", "1", "--no-plots", "-q", "-o"])
        .arg(&model));
    let j = json_stdout(&ok(ae()
        .arg("evaluate")
        .arg(&model)
        .args(["--dataset", "synthetic", "--threads", "1", "--json", "--iw-samples", "0", "--pca-fit"])
        .arg(&fit)));
    assert_eq!(j["pca"]["fitted_on"].as_str(), fit.to_str(), "{j}");
}

#[test]
fn gzipped_idx_loads_like_plain_idx() {
    let t = tempfile::tempdir().unwrap();
    let (px, labels) = images(120, 5, 5, 8);
    let plain = idx_images_bytes(120, 5, 5, &px);
    let img = t.path().join("imgs.idx");
    let gz = t.path().join("imgs.idx.gz");
    let lab_gz = t.path().join("labels.idx.gz");
    std::fs::write(&img, &plain).unwrap();
    std::fs::write(&gz, gzip_stored(&plain)).unwrap();
    std::fs::write(&lab_gz, gzip_stored(&idx_labels_bytes(&labels))).unwrap();
    let mut models = Vec::new();
    for (i, files) in [vec![img.clone()], vec![gz.clone(), lab_gz.clone()]].into_iter().enumerate() {
        let m = t.path().join(format!("m{i}.safetensors"));
        ok(ae()
            .arg("train")
            .args(&files)
            .args(["--layers", "3", "--epochs", "1", "--no-plots", "--no-shuffle"])
            .args(FAST)
            .arg("-o")
            .arg(&m));
        models.push(m);
    }
    let a = json_stdout(&ok(ae().args(["inspect", "--json"]).arg(&models[0])));
    let b = json_stdout(&ok(ae().args(["inspect", "--json"]).arg(&models[1])));
    assert_eq!(a["architecture"], "25-3-25");
    assert_eq!(a["config"], b["config"]);
    assert_eq!(a["training"]["train_loss"], b["training"]["train_loss"]);
}

// ---------------------------------------------------------------------------
// 4. --config FILE.toml
// ---------------------------------------------------------------------------

#[test]
fn config_file_is_honoured_and_flags_override_it() {
    let t = tempfile::tempdir().unwrap();
    let csv = t.path().join("d.csv");
    write_csv(&csv, &table(160, 9, 2), 9, true, false);
    let toml = t.path().join("cfg.toml");
    std::fs::write(
        &toml,
        "[model]\nlayers = [8, 3]\n\n[training]\nepochs = 2\nloss = \"mse\"\nbatch_size = 32\n",
    )
    .unwrap();
    let m = t.path().join("m.safetensors");
    let out = ok(ae()
        .arg("train")
        .arg(&csv)
        .arg("--config")
        .arg(&toml)
        .args(["--threads", "1", "--quiet", "--json", "--no-plots", "-o"])
        .arg(&m));
    let j = json_stdout(&out);
    assert_eq!(j["epochs_run"], 2);
    assert_eq!(j["architecture"], "9-8-3-8-9");
    let info = json_stdout(&ok(ae().args(["inspect", "--json"]).arg(&m)));
    assert_eq!(info["architecture"], "9-8-3-8-9");
    assert_eq!(info["config"]["layers"].as_array().unwrap().last().unwrap(), 3);
    assert_eq!(info["training"]["config"]["loss"], "mse");
    assert_eq!(info["training"]["config"]["batch_size"], 32);
    ae().arg("inspect").arg(&m).assert().success().stdout(predicate::str::contains("9-8-3-8-9"));

    // A flag beats the file.
    let m2 = t.path().join("m2.safetensors");
    let out = ok(ae()
        .arg("train")
        .arg(&csv)
        .arg("--config")
        .arg(&toml)
        .args(["--epochs", "1", "--threads", "1", "--quiet", "--json", "--no-plots", "-o"])
        .arg(&m2));
    let j = json_stdout(&out);
    assert_eq!(j["epochs_run"], 1);
    assert_eq!(j["architecture"], "9-8-3-8-9", "the file's layers still apply");
}

#[test]
fn unknown_key_in_config_file_is_an_error_naming_the_file() {
    let (t, out) = dirs();
    let csv = t.path().join("d.csv");
    write_csv(&csv, &table(50, 4, 2), 4, true, false);
    let toml = t.path().join("bad.toml");
    std::fs::write(&toml, "[model]\nlayers = [2]\n\n[training]\nepochz = 2\n").unwrap();
    let m = out.join("m.safetensors");
    fails(
        ae().arg("train").arg(&csv).arg("--config").arg(&toml).args(["--threads", "1", "-o"]).arg(&m),
        &["bad.toml", "epochz"],
    );
    assert_empty(&out);
    // An unknown table too.
    std::fs::write(&toml, "[modle]\nlayers = [2]\n").unwrap();
    fails(
        ae().arg("train").arg(&csv).arg("--config").arg(&toml).args(["--threads", "1", "-o"]).arg(&m),
        &["bad.toml", "modle"],
    );
    assert_empty(&out);
}

// ---------------------------------------------------------------------------
// 5. Bad input: one clean error line, exit code 1, nothing written
// ---------------------------------------------------------------------------

#[test]
fn truncated_idx_file_is_refused() {
    let (t, out) = dirs();
    let (px, _) = images(10, 4, 4, 1);
    let img = t.path().join("short-idx3-ubyte");
    // The header declares 50 images, the file holds 10.
    std::fs::write(&img, idx_images_bytes(50, 4, 4, &px)).unwrap();
    let m = out.join("m.safetensors");
    fails(
        ae().arg("train").arg(&img).args(["--epochs", "1", "--threads", "1", "-o"]).arg(&m),
        &["short-idx3-ubyte", "truncated", "50 images"],
    );
    assert_empty(&out);

    // Also through a model command, and for a gzipped file cut short.
    let (_, model) = csv_model(t.path(), 60, 16, 2);
    let rec = out.join("r.csv");
    fails(
        ae().arg("reconstruct").arg(&model).arg(&img).args(["--threads", "1", "-o"]).arg(&rec),
        &["short-idx3-ubyte", "truncated"],
    );
    let gz = t.path().join("short.idx.gz");
    std::fs::write(&gz, gzip_stored(&idx_images_bytes(50, 4, 4, &px))).unwrap();
    fails(
        ae().arg("train").arg(&gz).args(["--epochs", "1", "--threads", "1", "-o"]).arg(&m),
        &["short.idx.gz", "truncated"],
    );
    assert_empty(&out);
}

#[test]
fn ragged_csv_row_is_refused_with_its_row_number() {
    let (t, out) = dirs();
    let csv = t.path().join("ragged.csv");
    std::fs::write(&csv, "a,b,c\n0.1,0.2,0.3\n0.4,0.5,0.6\n0.7,0.8\n0.1,0.1,0.1\n").unwrap();
    let m = out.join("m.safetensors");
    fails(
        ae().arg("train").arg(&csv).args(["--epochs", "1", "--threads", "1", "-o"]).arg(&m),
        &["ragged.csv", "line 4", "row 3", "ragged"],
    );
    assert_empty(&out);
}

#[test]
fn non_number_in_csv_is_refused() {
    let (t, out) = dirs();
    let csv = t.path().join("text.csv");
    std::fs::write(&csv, "x,y\n0.1,0.2\n0.3,abc\n0.5,0.6\n").unwrap();
    let m = out.join("m.safetensors");
    let err = fails(
        ae().arg("train").arg(&csv).args(["--epochs", "1", "--threads", "1", "-o"]).arg(&m),
        &["text.csv", "abc", "row 2"],
    );
    assert!(err.contains("column 2"), "{err}");
    assert_empty(&out);
}

#[test]
fn model_used_on_data_of_another_width_is_refused() {
    let (t, out) = dirs();
    let (_, model) = csv_model(t.path(), 80, 6, 2);
    let other = t.path().join("wide.csv");
    write_csv(&other, &table(20, 9, 4), 9, true, false);
    for (cmd, target) in
        [("encode", "c.csv"), ("evaluate", ""), ("reconstruct", "r.csv"), ("reconstruct", "r.png")]
    {
        let mut c = ae();
        c.arg(cmd).arg(&model).arg(&other).args(["--threads", "1"]);
        if !target.is_empty() {
            c.arg("-o").arg(out.join(target));
        }
        let err = fails(&mut c, &["wide.csv", "9", "6"]);
        assert!(err.contains("9 values") && err.contains("rows of 6"), "{cmd}: {err}");
    }
    // decode: codes of the wrong width.
    let codes = t.path().join("codes.csv");
    write_csv(&codes, &table(5, 3, 4), 3, true, false);
    fails(
        ae().arg("decode").arg(&model).arg(&codes).args(["--threads", "1", "-o"]).arg(out.join("d.csv")),
        &["codes.csv", "3 values", "code has 2"],
    );
    assert_empty(&out);
}

#[test]
fn bce_on_data_outside_unit_interval_is_refused_with_advice() {
    let (t, out) = dirs();
    let csv = t.path().join("big.csv");
    let data: Vec<f32> = table(100, 5, 9).iter().map(|v| v * 5.0).collect();
    write_csv(&csv, &data, 5, true, false);
    let m = out.join("m.safetensors");
    fails(
        ae().arg("train").arg(&csv).args(["--loss", "bce", "--epochs", "1", "--threads", "1", "-o"]).arg(&m),
        &["big.csv", "[0, 1]", "--loss mse", "--normalize minmax", "row", "column"],
    );
    assert_empty(&out);
}

#[test]
fn foreign_files_are_not_models() {
    let (t, out) = dirs();
    let data = t.path().join("d.csv");
    write_csv(&data, &table(10, 4, 1), 4, true, false);
    let random = t.path().join("random.safetensors");
    let mut r = Rng::new(99);
    let bytes: Vec<u8> = (0..4096).map(|_| (r.next_f32() * 256.0) as u8).collect();
    std::fs::write(&random, bytes).unwrap();
    let json = t.path().join("model.json");
    std::fs::write(&json, r#"{"layers": [8, 3], "format": "autoencoder/1"}"#).unwrap();
    let empty = t.path().join("empty.safetensors");
    std::fs::write(&empty, b"").unwrap();
    for file in [&random, &json, &empty] {
        let name = file.file_name().unwrap().to_str().unwrap();
        fails(ae().arg("inspect").arg(file), &[name, "not an autoencoder model file"]);
        fails(ae().arg("inspect").arg("--json").arg(file), &[name, "not an autoencoder model file"]);
        fails(
            ae().arg("evaluate").arg(file).arg(&data).args(["--threads", "1"]),
            &[name, "not an autoencoder model file"],
        );
        fails(
            ae().arg("encode").arg(file).arg(&data).args(["--threads", "1", "-o"]).arg(out.join("c.csv")),
            &[name, "not an autoencoder model file"],
        );
    }
    // A model file that does not exist: the path and the OS reason.
    fails(ae().arg("inspect").arg(t.path().join("missing.safetensors")), &["missing.safetensors"]);
    assert_empty(&out);
}

#[test]
fn nan_and_infinity_in_csv_are_refused_with_row_and_column() {
    let (t, out) = dirs();
    let (_, model) = csv_model(t.path(), 60, 3, 2);
    for (name, bad, needle) in
        [("nan.csv", "nan", "NaN"), ("inf.csv", "inf", "inf"), ("ninf.csv", "-Infinity", "inf")]
    {
        let csv = t.path().join(name);
        std::fs::write(&csv, format!("a,b,c\n0.1,0.2,0.3\n0.4,0.5,0.6\n0.7,{bad},0.9\n")).unwrap();
        let m = out.join("m.safetensors");
        fails(
            ae().arg("train").arg(&csv).args(["--epochs", "1", "--threads", "1", "-o"]).arg(&m),
            &[name, "row 3", "column 2", needle, "finite"],
        );
        fails(
            ae().arg("evaluate").arg(&model).arg(&csv).args(["--threads", "1"]),
            &[name, "row 3", "column 2"],
        );
        fails(
            ae().arg("encode").arg(&model).arg(&csv).args(["--threads", "1", "-o"]).arg(out.join("c.npy")),
            &[name, "row 3", "column 2"],
        );
        assert_empty(&out);
    }
    // Non-finite codes given to decode.
    let codes = t.path().join("codes.csv");
    std::fs::write(&codes, "z1,z2\n0.1,0.2\nnan,0.3\n").unwrap();
    fails(
        ae().arg("decode").arg(&model).arg(&codes).args(["--threads", "1", "-o"]).arg(out.join("d.csv")),
        &["codes.csv", "row 2", "column 1"],
    );
    assert_empty(&out);
}

#[test]
fn invalid_flag_values_name_the_field() {
    let (t, out) = dirs();
    let csv = t.path().join("d.csv");
    write_csv(&csv, &table(40, 4, 1), 4, true, false);
    let m = out.join("m.safetensors");
    // Values that do not parse are refused by the command line (exit 2, naming the flag);
    // values that parse but are out of range by the library's checks (exit 1, naming the
    // setting and the flag).
    let cases: &[(&[&str], i32, &[&str])] = &[
        (&["--layers", "64,abc"], 2, &["--layers", "abc"]),
        (&["--layers", "4,0"], 1, &["layers", "0", "--layers"]),
        (&["--activation", "foo"], 2, &["--activation", "foo"]),
        (&["--loss", "hinge"], 2, &["--loss", "hinge"]),
        (&["--optimizer", "lbfgs"], 2, &["--optimizer", "lbfgs"]),
        (&["--normalize", "log"], 2, &["--normalize", "log"]),
        (&["--lr=-1"], 1, &["lr", "-1", "--lr"]),
        (&["--lr", "0"], 1, &["lr"]),
        (&["--epochs", "0"], 1, &["epochs", "--epochs"]),
        (&["--batch-size", "0"], 1, &["batch_size", "--batch-size"]),
        (&["--validation-split", "1.5"], 1, &["validation_split", "1.5", "--validation-split"]),
        (&["--patience", "0"], 1, &["patience", "--patience"]),
        (&["--header", "maybe"], 2, &["--header", "maybe"]),
        (&["--preset", "deep"], 2, &["--preset", "deep", "tabular"]),
        (&["--threshold", "median=3"], 2, &["--threshold", "median"]),
    ];
    for (flags, code, needles) in cases {
        fails_with(
            ae().arg("train").arg(&csv).args(*flags).args(["--threads", "1", "-o"]).arg(&m),
            *code,
            needles,
        );
        assert_empty(&out);
    }
}

#[test]
fn negative_lr_as_a_separate_argument_is_understood() {
    // `--lr -1` (space-separated) should reach the learning-rate check and be refused
    // with a message naming the learning rate, like `--lr=-1` is.
    let (t, out) = dirs();
    let csv = t.path().join("d.csv");
    write_csv(&csv, &table(40, 4, 1), 4, true, false);
    fails(
        ae().arg("train")
            .arg(&csv)
            .args(["--lr", "-1", "--threads", "1", "-o"])
            .arg(out.join("m.safetensors")),
        &["lr"],
    );
    assert_empty(&out);
}

#[test]
fn bad_decoder_layers_value_names_decoder_layers() {
    let (t, out) = dirs();
    let csv = t.path().join("d.csv");
    write_csv(&csv, &table(40, 4, 1), 4, true, false);
    let err = refused(
        ae().arg("train")
            .arg(&csv)
            .args(["--layers", "3,2", "--decoder-layers", "3,x", "--threads", "1", "-o"])
            .arg(out.join("m.safetensors")),
        &["decoder", "\"x\""],
    );
    assert!(!err.contains("invalid layers"), "{err}");
    assert_empty(&out);
}

#[test]
fn named_dataset_is_read_from_the_data_dir() {
    // `--dataset mnist --data-dir D` finds the four IDX .gz files in D (offline: no download);
    // `ae evaluate --dataset mnist` uses the test split and fits PCA on the training split.
    let t = tempfile::tempdir().unwrap();
    let data_dir = t.path().join("data");
    let mnist = data_dir.join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    for (split, n, seed) in [("train", 150usize, 1u64), ("t10k", 40, 2)] {
        let (px, labels) = images(n, 5, 5, seed);
        std::fs::write(
            mnist.join(format!("{split}-images-idx3-ubyte.gz")),
            gzip_stored(&idx_images_bytes(n as u32, 5, 5, &px)),
        )
        .unwrap();
        std::fs::write(
            mnist.join(format!("{split}-labels-idx1-ubyte.gz")),
            gzip_stored(&idx_labels_bytes(&labels)),
        )
        .unwrap();
    }
    let cache = t.path().join("cache");
    let m = t.path().join("m.safetensors");
    let j = json_stdout(&ok(ae()
        .args(["train", "--dataset", "mnist", "--offline", "--data-dir"])
        .arg(&data_dir)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["--layers", "3", "--epochs", "1", "--json", "--no-plots"])
        .args(FAST)
        .arg("-o")
        .arg(&m)));
    assert_eq!(j["architecture"], "25-3-25");
    let info = json_stdout(&ok(ae().args(["inspect", "--json"]).arg(&m)));
    assert_eq!(info["training"]["rows"], serde_json::json!([150, 0]), "{info}");
    let j = json_stdout(&ok(ae()
        .args(["evaluate", "--dataset", "mnist", "--offline", "--data-dir"])
        .arg(&data_dir)
        .arg("--cache-dir")
        .arg(&cache)
        .arg(&m)
        .args(["--threads", "1", "--json"])));
    assert_eq!(j["rows"], 40);
    assert_eq!(j["data"], "mnist:test");
    assert_eq!(j["pca"]["fitted_on"], "mnist:train");
    assert!(!cache.exists(), "offline use created the cache folder");
}

#[test]
fn offline_named_dataset_missing_says_where_it_looked_and_how_to_get_it() {
    let (t, out) = dirs();
    let data_dir = t.path().join("empty-data");
    let cache_dir = t.path().join("empty-cache");
    std::fs::create_dir(&data_dir).unwrap();
    std::fs::create_dir(&cache_dir).unwrap();
    let m = out.join("m.safetensors");
    let err = fails(
        ae().args(["train", "--dataset", "mnist", "--offline", "--data-dir"])
            .arg(&data_dir)
            .arg("--cache-dir")
            .arg(&cache_dir)
            .args(["--epochs", "1", "--threads", "1", "-o"])
            .arg(&m),
        &["mnist", "offline", "empty-data", "empty-cache", "train-images-idx3-ubyte"],
    );
    assert!(!err.contains("http://127") && !err.contains("downloading"), "{err}");
    assert_empty(&out);
    assert_empty(&cache_dir);
    assert_empty(&data_dir);
}

#[test]
fn usage_errors_are_reported_without_a_panic() {
    let (t, out) = dirs();
    // No data at all.
    fails(ae().args(["train", "--threads", "1", "-o"]).arg(out.join("m.safetensors")), &["data"]);
    // Both a named dataset and a file.
    let csv = t.path().join("d.csv");
    write_csv(&csv, &table(20, 3, 1), 3, true, false);
    fails(
        ae().arg("train").arg(&csv).args(["--dataset", "synthetic", "-o"]).arg(out.join("m.safetensors")),
        &["dataset"],
    );
    refused(
        ae().args(["train", "--dataset", "cifar", "-o"]).arg(out.join("m.safetensors")),
        &["--dataset", "cifar"],
    );
    // A data file that does not exist.
    fails(
        ae().arg("train").arg(t.path().join("nope.csv")).arg("-o").arg(out.join("m.safetensors")),
        &["nope.csv"],
    );
    // An empty CSV.
    let empty = t.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    fails(ae().arg("train").arg(&empty).arg("-o").arg(out.join("m.safetensors")), &["empty.csv", "empty"]);
    assert_empty(&out);
    // clap's own usage errors: non-zero, no panic.
    let o = ae().args(["train", "--no-such-flag"]).output().unwrap();
    assert!(!o.status.success());
    assert!(!stderr_of(&o).contains("panicked"));
}

#[test]
fn png_grid_without_images_is_refused() {
    let (t, out) = dirs();
    let (csv, model) = csv_model(t.path(), 40, 5, 2);
    fails(
        ae().arg("reconstruct").arg(&model).arg(&csv).args(["--threads", "1", "-o"]).arg(out.join("g.png")),
        &["png", "image"],
    );
    assert_empty(&out);
}

// ---------------------------------------------------------------------------
// 6. Normalisation
// ---------------------------------------------------------------------------

#[test]
fn minmax_normalisation_lets_bce_train_on_any_range_and_reconstructs_in_original_units() {
    let t = tempfile::tempdir().unwrap();
    let csv = t.path().join("wide-range.csv");
    // Values from 10 to 60.
    let data: Vec<f32> = table(200, 6, 13).iter().map(|v| 10.0 + 50.0 * v).collect();
    write_csv(&csv, &data, 6, true, false);
    let m = t.path().join("m.safetensors");
    let out = ok(ae()
        .arg("train")
        .arg(&csv)
        .args(["--normalize", "minmax", "--loss", "bce", "--layers", "4", "--epochs", "3", "--lr", "0.01"])
        .args(["--json", "--no-plots"])
        .args(FAST)
        .arg("-o")
        .arg(&m));
    let j = json_stdout(&out);
    assert!(j["train_loss"].as_f64().unwrap().is_finite());
    let info = json_stdout(&ok(ae().args(["inspect", "--json"]).arg(&m)));
    assert_eq!(info["normalizer"], "minmax", "{}", info["normalizer"]);

    let rec = t.path().join("rec.csv");
    ok(ae().arg("reconstruct").arg(&m).arg(&csv).args(["--threads", "1", "-o"]).arg(&rec));
    let (header, rows) = read_csv(&rec);
    assert_eq!(header, vec!["f1", "f2", "f3", "f4", "f5", "f6"], "the data's column names are kept");
    assert_eq!(rows.len(), 200);
    let vals: Vec<f32> = rows.into_iter().flatten().collect();
    let (lo, hi) = data.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let mean = vals.iter().sum::<f32>() / vals.len() as f32;
    let data_mean = data.iter().sum::<f32>() / data.len() as f32;
    assert!(vals.iter().all(|v| *v >= lo - 1e-3 && *v <= hi + 1e-3), "reconstruction outside [{lo}, {hi}]");
    assert!(mean > lo && mean < hi, "mean {mean} not within the data range [{lo}, {hi}]");
    assert!((mean - data_mean).abs() < 0.25 * (hi - lo), "mean {mean} far from the data mean {data_mean}");
    // The codes do not depend on the units: encode works too, and evaluate says metrics are normalised.
    ae().arg("evaluate")
        .arg(&m)
        .arg(&csv)
        .args(["--threads", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("normalised"));
}

// ---------------------------------------------------------------------------
// 7. Stopping early
// ---------------------------------------------------------------------------

#[test]
fn patience_stops_training_early() {
    let t = tempfile::tempdir().unwrap();
    let csv = t.path().join("d.csv");
    write_csv(&csv, &table(60, 4, 5), 4, true, false);
    let m = t.path().join("m.safetensors");
    // A huge learning rate makes the validation loss bounce around, so patience 1 runs
    // out long before 50 epochs (it does for every seed tried, 0 to 7).
    let out = ok(ae()
        .arg("train")
        .arg(&csv)
        .args(["--layers", "2", "--epochs", "50", "--patience", "1", "--validation-split", "0.25"])
        .args(["--optimizer", "adam", "--lr", "0.5", "--json", "--no-plots"])
        .args(FAST)
        .arg("-o")
        .arg(&m));
    let j = json_stdout(&out);
    let run = j["epochs_run"].as_u64().unwrap();
    assert!(run < 50, "ran all {run} epochs: {j}");
    assert_eq!(j["stop_reason"], "early_stopping", "{j}");
    // The weights are restored from the best epoch.
    let best = j["weights_epoch"].as_u64().unwrap();
    assert!(best >= 1 && best < run, "weights from epoch {best} of {run}");
}

#[test]
fn tolerance_stops_training_when_converged() {
    let t = tempfile::tempdir().unwrap();
    let csv = t.path().join("d.csv");
    write_csv(&csv, &table(60, 4, 5), 4, true, false);
    let m = t.path().join("m.safetensors");
    let out = ok(ae()
        .arg("train")
        .arg(&csv)
        .args(["--layers", "2", "--epochs", "50", "--tolerance", "0.5", "--json", "--no-plots"])
        .args(FAST)
        .arg("-o")
        .arg(&m));
    let j = json_stdout(&out);
    assert!(j["epochs_run"].as_u64().unwrap() < 50, "{j}");
    assert_eq!(j["stop_reason"], "converged", "{j}");
}

// ---------------------------------------------------------------------------
// 8. The demo
// ---------------------------------------------------------------------------

#[test]
fn demo_writes_a_model_a_loss_curve_and_a_grid() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("ae-demo");
    let out = ok(ae().arg("demo").arg("--dir").arg(&dir));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for f in ["model.safetensors", "loss.png", "reconstructions.png"] {
        assert!(dir.join(f).is_file(), "demo did not write {f}");
        assert!(stdout.contains(f), "demo did not mention {f}:\n{stdout}");
    }
    assert_png(&dir.join("loss.png"));
    assert_png(&dir.join("reconstructions.png"));
    assert!(stdout.contains("PCA-32"), "{stdout}");
    let info = json_stdout(&ok(ae().args(["inspect", "--json"]).arg(dir.join("model.safetensors"))));
    assert_eq!(info["architecture"], "784-256-32-256-784");
}

#[test]
fn plot_latent_writes_a_png_for_2d_and_wider_codes() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    let mut text = String::from("a,b,c,d,label\n");
    for i in 0..60 {
        let v = i as f32 / 60.0;
        text.push_str(&format!("{v},{},{},{},{}\n", 1.0 - v, v * v, 0.5, i % 3));
    }
    std::fs::write(&csv, text).unwrap();
    for layers in ["2", "3"] {
        let model = dir.path().join(format!("m{layers}.safetensors"));
        let png = dir.path().join(format!("latent{layers}.png"));
        Command::cargo_bin("ae")
            .unwrap()
            .args([
                "train",
                csv.to_str().unwrap(),
                "--label-column",
                "label",
                "--layers",
                layers,
                "--epochs",
                "2",
            ])
            .args(["--quiet", "--no-plots", "-o", model.to_str().unwrap()])
            .assert()
            .success();
        Command::cargo_bin("ae")
            .unwrap()
            .args(["plot-latent", model.to_str().unwrap(), csv.to_str().unwrap(), "--label-column", "label"])
            .args(["-o", png.to_str().unwrap()])
            .assert()
            .success();
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}

/// The shipped configuration files parse and train (one epoch on the synthetic images).
#[test]
fn shipped_configs_are_valid() {
    let (_tmp, dir) = dirs();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut n = 0;
    for entry in std::fs::read_dir(&configs).expect("configs/ exists") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let m = dir.join("c.safetensors");
        ok(ae()
            .args([
                "train",
                "--dataset",
                "synthetic",
                "--epochs",
                "1",
                "--threads",
                "1",
                "--quiet",
                "--no-plots",
            ])
            .arg("--config")
            .arg(&path)
            .arg("-o")
            .arg(&m));
        n += 1;
    }
    assert!(n >= 1, "no configuration files in {}", configs.display());
}

/// Output piped into a reader that stops early (`ae encode … | head -1`) ends the command
/// quietly, as Unix tools do, not with a panic about the broken pipe.
#[cfg(unix)]
#[test]
fn a_closed_stdout_pipe_is_not_a_panic() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let (_tmp, dir) = dirs();
    let (csv, model) = csv_model(&dir, 8000, 6, 4); // ~300 KB of codes: more than a pipe holds
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ae"))
        .args(["encode"])
        .arg(&model)
        .arg(&csv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("z1"), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

/// Money as spreadsheets export it: `"1,234.50"` quoted in a comma file, or
/// `1.234,50` with decimal commas, reads with `--thousands` as the plain numbers do (the
/// same codes), and without it is refused with the flag that reads it.
#[test]
fn thousands_separators_read_when_told() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let (mut plain, mut us, mut eu) =
        (String::from("a,b,c\n"), String::from("a,b,c\n"), String::from("a;b;c\n"));
    for i in 0..60u32 {
        let (a, b, c) = (1000 + i * 997 % 9000, i % 7, 1_000_000 + i * 12_345);
        plain.push_str(&format!("{a}.{b}5,{b},{c}\n"));
        us.push_str(&format!(
            "\"{},{:03}.{b}5\",{b},\"{},{:03},{:03}\"\n",
            a / 1000,
            a % 1000,
            c / 1_000_000,
            c / 1000 % 1000,
            c % 1000
        ));
        eu.push_str(&format!(
            "{}.{:03},{b}5;{b};{}.{:03}.{:03}\n",
            a / 1000,
            a % 1000,
            c / 1_000_000,
            c / 1000 % 1000,
            c % 1000
        ));
    }
    for (name, text) in [("plain.csv", &plain), ("us.csv", &us), ("eu.csv", &eu)] {
        std::fs::write(d.join(name), text).unwrap();
    }
    let model = d.join("m.safetensors");
    ok(ae()
        .arg("train")
        .arg(d.join("plain.csv"))
        .args(["--layers", "2", "--epochs", "1", "--no-plots", "-q", "-o"])
        .arg(&model));
    let codes = |data: &str, extra: &[&str]| {
        let run = ok(ae().arg("encode").arg(&model).arg(d.join(data)).args(["-o", "-"]).args(extra));
        run.stdout
    };
    let want = codes("plain.csv", &[]);
    assert!(codes("us.csv", &["--thousands", "comma"]) == want, "us.csv");
    assert!(codes("eu.csv", &["--decimal", "comma", "--thousands", "point"]) == want, "eu.csv");
    let refused = |data: &str, extra: &[&str], says: &str| {
        ae().arg("encode")
            .arg(&model)
            .arg(d.join(data))
            .args(["-o", "-"])
            .args(extra)
            .assert()
            .failure()
            .stdout("")
            .stderr(predicate::str::contains(says));
    };
    refused("us.csv", &[], "line 2 (data row 1), column 1 (\"a\"): \"1,000.05\" is not a number (a thousands separator: --thousands comma reads it)");
    refused(
        "eu.csv",
        &["--decimal", "comma"],
        "\"1.000,05\" is not a number (a thousands separator: --thousands point reads it)",
    );
    refused(
        "eu.csv",
        &["--decimal", "comma", "--thousands", "comma"],
        "the thousands separator cannot be the decimal mark (comma)",
    );
    ae().arg("encode")
        .arg(&model)
        .arg(d.join("us.csv"))
        .args(["--thousands", "dash"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--thousands"));
}

/// TSV files, a folder of TSV shards, and semicolon files from standard input are read
/// without being told their delimiter: a model's codes of them are the bytes of its
/// codes of the comma file; `--delimiter` says it outright, and a bad one is refused;
/// `--decimal comma` reads a semicolon file of decimal commas, refused without it.
#[test]
fn tab_and_semicolon_files_read_as_the_comma_file() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let data = table(120, 5, 3);
    write_csv(&d.join("t.csv"), &data, 5, true, true);
    let comma = std::fs::read_to_string(d.join("t.csv")).unwrap();
    std::fs::write(d.join("t.tsv"), comma.replace(',', "\t")).unwrap();
    let shards = d.join("shards");
    std::fs::create_dir(&shards).unwrap();
    let lines: Vec<&str> = comma.lines().collect();
    for (k, part) in lines[1..].chunks(40).enumerate() {
        let text =
            std::iter::once(lines[0]).chain(part.iter().copied()).collect::<Vec<_>>().join("\n") + "\n";
        std::fs::write(shards.join(format!("part-{k}.tsv")), text.replace(',', "\t")).unwrap();
    }
    let model = d.join("m.safetensors");
    ok(ae()
        .arg("train")
        .arg(d.join("t.csv"))
        .args(["--label-column", "label", "--layers", "4,2", "--epochs", "2", "--no-plots", "-q", "-o"])
        .arg(&model));
    let codes = |data: &Path, extra: &[&str], stdin: Option<String>| {
        let out = d.join("z.csv");
        let mut c = ae();
        c.arg("encode").arg(&model).arg(data).args(["--label-column", "label", "-o"]).arg(&out).args(extra);
        if let Some(text) = stdin {
            c.write_stdin(text);
        }
        ok(&mut c);
        std::fs::read(&out).unwrap()
    };
    let want = codes(&d.join("t.csv"), &[], None);
    assert!(codes(&d.join("t.tsv"), &[], None) == want, "t.tsv");
    assert!(codes(&shards, &[], None) == want, "a folder of TSV shards");
    assert!(
        codes(Path::new("-"), &[], Some(comma.replace(',', ";"))) == want,
        "semicolons on standard input"
    );
    assert!(codes(&d.join("t.tsv"), &["--delimiter", "tab"], None) == want, "--delimiter tab");
    // A spreadsheet's export with decimal commas, told so.
    std::fs::write(d.join("eu.csv"), comma.replace(',', ";").replace('.', ",")).unwrap();
    assert!(codes(&d.join("eu.csv"), &["--decimal", "comma"], None) == want, "--decimal comma");
    let refused = |data: &str, extra: &[&str], says: &str| {
        ae().arg("encode")
            .arg(&model)
            .arg(d.join(data))
            .args(["--label-column", "label", "-o"])
            .arg(d.join("no.csv"))
            .args(extra)
            .assert()
            .failure()
            .stderr(predicate::str::contains(says));
    };
    refused("eu.csv", &[], "is not a number (a decimal comma: --decimal comma reads it)");
    refused(
        "t.tsv",
        &["--delimiter", ","],
        "label column \"label\" is named, but the file has no header row",
    );
    ae().arg("encode")
        .arg(&model)
        .arg(d.join("t.tsv"))
        .args(["--delimiter", "::"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid --delimiter \"::\""));
}
