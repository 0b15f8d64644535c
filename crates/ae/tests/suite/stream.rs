//! `ae train --stream` and `--memory-budget`: rows streamed from Parquet shards train
//! the model in-memory training trains when one window holds them, the same bits run
//! after run in smaller windows, and a budget or input that cannot stream is refused.
//! `ae score`, `ae encode` and `ae reconstruct` with `--stream`: the bytes (and the
//! summary) of the rows read whole.

use std::path::Path;

use crate::common::{ae, fails, ok, refused};

/// 6,000 rows of 6 features (rank 2 plus noise, every 50th row shifted) written as
/// three Parquet shards of 2,000 rows in `dir/shards`, with a `label` column.
fn shards(dir: &Path) -> std::path::PathBuf {
    let folder = dir.join("shards");
    std::fs::create_dir(&folder).unwrap();
    let mut s = 0x2545_f491_4f6c_dd1d_u64;
    let mut u = move || {
        s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (s >> 40) as f32 / 16_777_216.0 - 0.5
    };
    let names: Vec<String> = (0..6).map(|j| format!("f{j}")).chain(["label".into()]).collect();
    for shard in 0..3 {
        let mut x = Vec::new();
        for i in 0..2000 {
            let (a, b) = (u() * 4.0, u() * 4.0);
            let out = (shard * 2000 + i) % 50 == 7;
            let shift = if out { 5.0 } else { 0.0 };
            x.extend([a, b, a + b, a - b + shift, 2.0 * a, b + 1.0].map(|v| v + 0.05 * u()));
            x.push(f32::from(u8::from(out)));
        }
        let path = folder.join(format!("part-{shard}.parquet"));
        autoencoder::data::columnar::write_matrix(&path, &x, 7, &names, None).unwrap();
    }
    folder
}

fn train(data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    ok(ae()
        .arg("train")
        .arg(data)
        .args(["--label-column", "label", "--preset", "tabular", "--epochs", "3", "--min-steps", "0"])
        .args(["--threshold", "contamination=0.02", "--threads", "2", "--no-plots"])
        .args(extra)
        .arg("-o")
        .arg(out))
}

/// The shards and the detector trained on them, `m.safetensors`.
fn trained(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = shards(dir);
    let model = dir.join("m.safetensors");
    train(&data, &model, &["-q"]);
    (data, model)
}

/// `ae COMMAND MODEL DATA --label-column label --threads 2`.
fn run_on(command: &str, model: &Path, data: &Path) -> assert_cmd::Command {
    let mut c = ae();
    c.arg(command).arg(model).arg(data).args(["--label-column", "label", "--threads", "2"]);
    c
}

/// A window that holds every row: the model file of in-memory training, byte for byte
/// (the normaliser, both passes, the threshold, the codec), and the command says it
/// streams. A budget that makes windows of a few hundred rows: the same bytes on a
/// second run, and a detector about as good.
#[test]
fn streamed_training_writes_the_model_of_training_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let data = shards(dir.path());
    let (mem, st) = (dir.path().join("mem.safetensors"), dir.path().join("st.safetensors"));
    train(&data, &mem, &[]);
    let out = train(&data, &st, &["--stream"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("streaming 6000 rows of 6 values from") && err.contains("(3 shards)"), "{err}");
    assert!(
        std::fs::read(&mem).unwrap() == std::fs::read(&st).unwrap(),
        "streamed and in-memory models differ"
    );

    // 128 MiB is the reserve; what is over it, less three chunks, makes the window.
    let (w1, w2) = (dir.path().join("w1.safetensors"), dir.path().join("w2.safetensors"));
    let out = train(&data, &w1, &["--stream", "--memory-budget", "128.2M"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let window: usize = err.split("windows of ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!((100..5400).contains(&window), "{err}");
    train(&data, &w2, &["--stream", "--memory-budget", "128.2M", "-q"]);
    assert!(std::fs::read(&w1).unwrap() == std::fs::read(&w2).unwrap(), "two streamed runs differ");
    assert!(std::fs::read(&w1).unwrap() != std::fs::read(&mem).unwrap());
    let auc = |m: &Path| -> f64 {
        let out = ok(ae().arg("score").arg(m).arg(&data).args([
            "--label-column",
            "label",
            "--json",
            "-o",
            "/dev/null",
        ]));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["roc_auc"].as_f64().unwrap()
    };
    let (a, b) = (auc(&mem), auc(&w1));
    assert!(a > 0.6 && b > a - 0.05, "in memory {a}, streamed {b}");
}

/// A categorical column and `--missing drop` stream: every shard's rows one-hot encoded
/// with the values of all of them (one shard has a value the others lack), found by a
/// first pass, and the rows with an empty number left out; the model file is the one
/// in-memory training writes, and `ae encode` reads the rows with the model's values.
#[test]
fn categorical_columns_and_dropped_rows_stream() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("csv");
    std::fs::create_dir(&folder).unwrap();
    for (k, kinds) in [&["x", "y"][..], &["y", "", "z"], &["x"]].iter().enumerate() {
        let body: String = (0..400)
            .map(|i| {
                let b = if (i + k) % 9 == 4 { String::new() } else { ((i * 3) % 5).to_string() };
                format!("{},{},{b}\n", (i * 7 + k) % 13, kinds[i % kinds.len()])
            })
            .collect();
        std::fs::write(folder.join(format!("part-{k}.csv")), format!("a,kind,b\n{body}")).unwrap();
    }
    let (mem, st) = (dir.path().join("mem.safetensors"), dir.path().join("st.safetensors"));
    let flags =
        ["--categorical", "kind", "--missing", "drop", "--layers", "4,2", "--epochs", "2", "--no-plots"];
    let said = |out: std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let a = said(ok(ae().arg("train").arg(&folder).args(flags).arg("-o").arg(&mem)));
    let b = said(ok(ae().arg("train").arg(&folder).args(flags).arg("--stream").arg("-o").arg(&st)));
    let left_out = "left out 134 row(s) with a missing value; 1066 kept";
    assert!(a.contains(left_out) && b.contains(left_out), "{a}\n{b}");
    assert!(
        std::fs::read(&mem).unwrap() == std::fs::read(&st).unwrap(),
        "streamed and in-memory models differ"
    );
    let model = autoencoder::file::load(&st).unwrap();
    assert_eq!(model.categories[0].values, ["x", "y", "z"]);
    let codes =
        |m: &Path| ok(ae().arg("encode").arg(m).arg(&folder).args(["--missing", "drop", "-o", "-"])).stdout;
    assert_eq!(codes(&st), codes(&mem));
    // Encoded a part at a time, with the model's categories and the same rows left out.
    let streamed =
        ok(ae().arg("encode").arg(&st).arg(&folder).args(["--missing", "drop", "--stream", "-o", "-"]));
    let said = String::from_utf8_lossy(&streamed.stderr);
    assert!(
        said.contains("encoding 1066 rows of 5 values from") && said.contains("a part at a time"),
        "{said}"
    );
    assert_eq!(streamed.stdout, codes(&mem));
    // And scored: the rows kept, numbered by their index among every row, as read whole.
    let scores = |extra: &[&str]| {
        ok(ae().arg("score").arg(&st).arg(&folder).args(["--missing", "drop", "-o", "-"]).args(extra)).stdout
    };
    let whole = scores(&[]);
    assert_eq!(scores(&["--stream"]), whole);
    let text = String::from_utf8(whole).unwrap();
    assert_eq!(
        (text.lines().count(), text.lines().nth(1).map(|l| l.split(',').next())),
        (1067, Some(Some("0")))
    );
    assert!(!text.lines().skip(1).any(|l| l.starts_with("4,")), "row 4 has a missing value");
}

/// NPY files whose first holds values in [0, 1] and the others values beyond: streamed,
/// the defaults are chosen from every chunk's values (z-scores and a linear output, by
/// a pass over them), so the model file is the one in-memory training writes.
#[test]
fn streamed_defaults_are_chosen_from_every_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let folder = crate::common::parts_first_in_unit_interval(dir.path(), 200, 5);
    let (mem, st) = (dir.path().join("mem.safetensors"), dir.path().join("st.safetensors"));
    let flags = ["--layers", "4,2", "--epochs", "2", "--no-plots", "-q"];
    ok(ae().arg("train").arg(&folder).args(flags).arg("-o").arg(&mem));
    ok(ae().arg("train").arg(&folder).args(flags).arg("--stream").arg("-o").arg(&st));
    let model = autoencoder::file::load(&st).unwrap();
    assert_eq!(model.config().normalize, autoencoder::NormalizeKind::ZScore);
    assert!(
        std::fs::read(&mem).unwrap() == std::fs::read(&st).unwrap(),
        "streamed and in-memory models differ"
    );
}

/// What cannot stream is refused in one line naming it: a named dataset, a budget too
/// small for a window (also when streaming is chosen because the data is larger than
/// the budget), a size that is not one, a checkpoint to write.
#[test]
fn what_cannot_stream_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = shards(dir.path());
    let out = dir.path().join("m.safetensors");
    fails(
        ae().args(["train", "--dataset", "synthetic", "--stream", "-o"]).arg(&out),
        &["stream", "named datasets"],
    );
    fails(
        ae().arg("train")
            .arg(&data)
            .args(["--label-column", "label", "--stream", "--memory-budget", "100M", "-o"])
            .arg(&out),
        &["memory_budget", "100.0 MiB cannot hold"],
    );
    // Data larger than the budget streams without --stream (here into a budget too small).
    fails(
        ae().arg("train")
            .arg(&data)
            .args(["--label-column", "label", "--memory-budget", "100K", "-o"])
            .arg(&out),
        &["memory_budget", "100.0 KiB cannot hold"],
    );
    refused(
        ae().arg("train").arg(&data).args(["--memory-budget", "lots", "-o"]).arg(&out),
        &["--memory-budget", "lots"],
    );
    fails(
        ae().arg("train")
            .arg(&data)
            .args(["--label-column", "label", "--stream", "--checkpoint-every", "1", "-o"])
            .arg(&out),
        &["checkpoint_every", "streamed"],
    );
    assert!(!out.exists());
}

/// `ae score` of table files a part at a time (with --stream, or by itself when they
/// are more than --memory-budget) writes the bytes it writes for the rows read whole —
/// CSV and Parquet, with each row's flag, probability and explanation, ids running on
/// across the shards — and the same summary, judged by the label column.
#[test]
fn streamed_scores_are_the_bytes_of_the_rows_scored_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());
    let score = |out: &Path, extra: &[&str]| {
        let run = ok(run_on("score", &model, &data)
            .args(["--explain", "2", "--proba", "unify", "--json"])
            .args(extra)
            .arg("-o")
            .arg(out));
        let said = String::from_utf8_lossy(&run.stderr).into_owned();
        (std::fs::read(out).unwrap(), String::from_utf8(run.stdout).unwrap(), said)
    };
    for name in ["scores.csv", "scores.parquet"] {
        let out = dir.path().join(name);
        let (whole, summary, said) = score(&out, &[]);
        assert!(!said.contains("a part at a time"), "{said}");
        assert!(summary.contains("\"roc_auc\"") && summary.contains("\"rows\": 6000"), "{summary}");
        let (streamed, streamed_summary, said) = score(&out, &["--stream"]);
        assert!(
            said.contains("scoring 6000 rows of 6 values from")
                && said.contains("(3 shards)")
                && said.contains("a part at a time, of at most 2000 rows"),
            "{said}"
        );
        assert!(whole == streamed, "{name}: the streamed scores differ from the rows scored whole");
        assert_eq!(summary, streamed_summary);
        let (over, over_summary, said) = score(&out, &["--memory-budget", "100K"]);
        assert!(said.contains("more than the memory budget of 100.0 KiB (--memory-budget)"), "{said}");
        assert!(whole == over && summary == over_summary, "{name}");
    }
    let csv = std::fs::read_to_string(dir.path().join("scores.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,score,outlier,probability,feature_1,contribution_1,feature_2,contribution_2");
    assert_eq!((lines.len(), lines[2000].split(',').next()), (6001, Some("1999")));
}

/// Streamed scoring refuses, before it writes anything, what it cannot do: data that is
/// not table files, a labels file of another length (as --labels or beside the data),
/// and an explanation of a score that is not a sum over features (after one part is
/// scored: the output is not left behind).
#[test]
fn what_streamed_scoring_cannot_do_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (x, short) = (dir.path().join("x.npy"), dir.path().join("short.csv"));
    let values: Vec<f32> = (0..400 * 5).map(|i| ((i * 37) % 101) as f32 / 101.0).collect();
    autoencoder::data::npy::write(&x, &values, 400, 5).unwrap();
    std::fs::write(&short, "0\n1\n0\n").unwrap();
    let model = dir.path().join("v.safetensors");
    ok(ae()
        .arg("train")
        .arg(&x)
        .args(["--variational", "--layers", "4,2", "--epochs", "1", "--no-plots", "-q", "-o"])
        .arg(&model));
    let out = dir.path().join("scores.csv");
    let score = || {
        let mut c = ae();
        c.arg("score").arg(&model);
        c
    };
    fails(
        score().args(["--dataset", "synthetic", "--stream", "-o"]).arg(&out),
        &["stream", "named datasets"],
    );
    fails(
        score().arg(&x).arg(&short).args(["--stream", "-o"]).arg(&out),
        &["short.csv: 3 labels for 400 rows in"],
    );
    fails(
        score().arg(&x).arg("--labels").arg(&short).args(["--stream", "-o"]).arg(&out),
        &["short.csv: 3 labels for 400 rows in"],
    );
    fails(score().arg(&x).args(["--stream", "--explain", "2", "-o"]).arg(&out), &["elbo score is not a sum"]);
    assert!(!out.exists());
    assert_eq!(crate::common::listing(dir.path()), ["short.csv", "v.safetensors", "x.npy"]);
    // With the rows read whole too, a VAE's elbo scores at --row-offset (drawn at each
    // row's global index) are the same bytes.
    let at_offset =
        |extra: &[&str]| ok(score().arg(&x).args(["--row-offset", "5000", "-o", "-"]).args(extra)).stdout;
    let streamed = at_offset(&["--stream"]);
    assert!(streamed == at_offset(&[]));
    assert!(String::from_utf8_lossy(&streamed).lines().nth(1).unwrap().starts_with("5000,"));
}

/// `ae encode` of table files a part at a time (with --stream, or over --memory-budget)
/// writes the codes it writes for the rows read whole, as NPY, Parquet and CSV.
#[test]
fn streamed_codes_are_the_bytes_of_the_rows_encoded_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());
    for name in ["codes.npy", "codes.parquet", "codes.csv"] {
        let out = dir.path().join(name);
        let encode = |extra: &[&str]| {
            let run = ok(run_on("encode", &model, &data).arg("-o").arg(&out).args(extra));
            (std::fs::read(&out).unwrap(), String::from_utf8_lossy(&run.stderr).into_owned())
        };
        let (whole, said) = encode(&[]);
        assert!(!said.contains("a part at a time"), "{said}");
        let (streamed, said) = encode(&["--stream"]);
        assert!(
            said.contains("encoding 6000 rows of 6 values from") && said.contains("of at most 2000 rows"),
            "{said}"
        );
        assert!(whole == streamed, "{name}: the streamed codes differ from the rows encoded whole");
        let (over, said) = encode(&["--memory-budget", "100K"]);
        assert!(said.contains("more than the memory budget of 100.0 KiB"), "{said}");
        assert!(whole == over, "{name}");
    }
}

/// `ae reconstruct` of table files a part at a time writes each part's rows as they
/// come, the bytes it writes for the rows read whole (NPY, Parquet, CSV, standard
/// output); what a part at a time cannot write (an .npz archive, a PNG grid) is refused,
/// and nothing is written.
#[test]
fn streamed_reconstructions_are_the_bytes_of_the_rows_reconstructed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());
    let reconstruct = |out: &str, extra: &[&str]| {
        let run = ok(run_on("reconstruct", &model, &data).args(["-o", out]).args(extra));
        let said = String::from_utf8_lossy(&run.stderr).into_owned();
        let bytes = if out == "-" { run.stdout } else { std::fs::read(out).unwrap() };
        (bytes, said)
    };
    for name in ["rows.npy", "rows.parquet", "rows.csv", "-"] {
        let out = if name == "-" { name.to_string() } else { dir.path().join(name).display().to_string() };
        let (whole, said) = reconstruct(&out, &[]);
        assert!(!said.contains("a part at a time"), "{said}");
        let (streamed, said) = reconstruct(&out, &["--stream"]);
        assert!(said.contains("reconstructing 6000 rows of 6 values from"), "{said}");
        assert!(whole == streamed, "{name}: the streamed rows differ from the rows reconstructed whole");
    }
    let csv = String::from_utf8(reconstruct("-", &["--memory-budget", "100K"]).0).unwrap();
    assert_eq!((csv.lines().count(), csv.lines().next()), (6001, Some("f0,f1,f2,f3,f4,f5")));
    let npz = dir.path().join("rows.npz");
    fails(
        run_on("reconstruct", &model, &data).args(["--stream", "-o"]).arg(&npz),
        &["rows.npz: an .npz archive is built whole"],
    );
    fails(
        ae().arg("reconstruct").arg(&model).arg(&data).args(["--stream", "-o"]).arg(dir.path().join("g.png")),
        &["stream", "a PNG grid"],
    );
    assert!(!npz.exists() && !dir.path().join("g.png").exists());
}

/// `ae denoise` of table files a part at a time: with `--add-noise` and `--clip` (the
/// noise drawn from one stream through the parts, the clip range the whole data's),
/// the denoised rows (NPY, Parquet, CSV, standard output) and the PSNR report are the
/// bytes of the rows read whole. A PNG grid of the first images, from rows of 28×28
/// images in an NPY file of two parts, is the grid of the images read whole.
#[test]
fn streamed_denoising_is_the_bytes_of_the_rows_denoised_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());
    let denoise = |out: &str, extra: &[&str]| {
        let run = ok(run_on("denoise", &model, &data)
            .args(["--add-noise", "gaussian:0.3", "--clip", "--seed", "4", "--json", "-o", out])
            .args(extra));
        let said = String::from_utf8_lossy(&run.stderr).into_owned();
        let (bytes, report) = match out {
            "-" => (run.stdout, said.clone()),
            _ => (std::fs::read(out).unwrap(), String::from_utf8_lossy(&run.stdout).into_owned()),
        };
        (bytes, report, said)
    };
    for name in ["rows.npy", "rows.parquet", "rows.csv", "-"] {
        let out = if name == "-" { name.to_string() } else { dir.path().join(name).display().to_string() };
        let (whole, report, said) = denoise(&out, &[]);
        assert!(!said.contains("a part at a time"), "{said}");
        assert!(report.contains("\"psnr_denoised\""), "{report}");
        let (streamed, streamed_report, said) = denoise(&out, &["--stream"]);
        assert!(said.contains("denoising 6000 rows of 6 values from"), "{said}");
        assert!(whole == streamed, "{name}: the streamed rows differ from the rows denoised whole");
        let json = |r: &str| r[r.find('{').unwrap()..].to_string();
        assert_eq!(json(&streamed_report), json(&report), "{name}: the PSNR report differs");
    }
    // Images: a model of the built-in images, and 3,000 of them as flat rows in an NPY
    // file (9.4 MB: two parts of at most 8 MiB).
    let images = autoencoder::data::synthetic::generate(3000, 5);
    let npy = dir.path().join("images.npy");
    autoencoder::data::npy::write(&npy, images.as_slice(), 3000, 784).unwrap();
    let dae = dir.path().join("dae.safetensors");
    ok(ae()
        .args(["train", "--dataset", "synthetic", "--layers", "32", "--epochs", "1", "--no-plots", "-q"])
        .args(["--noise", "gaussian:0.3:clip", "-o"])
        .arg(&dae));
    let grid = |name: &str, extra: &[&str]| {
        let png = dir.path().join(name);
        let run = ok(ae()
            .arg("denoise")
            .arg(&dae)
            .arg(&npy)
            .args(["--add-noise", "mask:0.3", "--grid", "8", "-o"])
            .arg(&png)
            .args(extra));
        (std::fs::read(&png).unwrap(), String::from_utf8_lossy(&run.stderr).into_owned(), run.stdout)
    };
    let (whole, _, report) = grid("whole.png", &[]);
    let (streamed, said, streamed_report) = grid("streamed.png", &["--stream"]);
    assert!(said.contains("a part at a time, of at most 2674 rows"), "{said}");
    assert!(whole == streamed, "the streamed grid differs from the grid of the images read whole");
    assert_eq!(report, streamed_report);
}

/// `ae evaluate --json` without its timings.
fn evaluated(cmd: &mut assert_cmd::Command) -> (serde_json::Value, String) {
    let run = ok(cmd.arg("--json"));
    let mut v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let o = v.as_object_mut().unwrap();
    for timing in ["inference_seconds", "inference_rows_per_second"] {
        assert!(o.remove(timing).unwrap().as_f64().unwrap() > 0.0);
    }
    for part in ["pca", "vae"] {
        if let Some(p) = o.get_mut(part).and_then(|p| p.as_object_mut()) {
            p.remove("fit_seconds");
            p.remove("nll_seconds");
        }
    }
    (v, String::from_utf8_lossy(&run.stderr).into_owned())
}

/// Rows read whole whose output is larger than the memory budget (a wide code of many
/// rows) are mapped and written a part at a time, chunks of 8,192 rows with their ids:
/// the bytes of the output written at once; an .npz, made whole, is refused.
#[test]
fn an_output_over_the_budget_is_written_a_part_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ids.csv");
    let mut csv = String::from("id,a,b\n");
    for i in 0..10_000u32 {
        csv.push_str(&format!("r{i},{},{}\n", (i * 37 % 101) as f32 / 101.0, (i * 11 % 97) as f32 / 97.0));
    }
    std::fs::write(&data, csv).unwrap();
    let model = dir.path().join("m.safetensors");
    ok(ae()
        .arg("train")
        .arg(&data)
        .args(["--id-column", "id", "--layers", "16", "--epochs", "1", "-q", "--no-plots", "-o"])
        .arg(&model));
    let encode = |out: &str, budget: &[&str]| {
        let mut c = ae();
        c.arg("encode").arg(&model).arg(&data).args(["--id-column", "id", "-o"]).arg(dir.path().join(out));
        ok(c.args(budget))
    };
    let said = |o: std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let whole = said(encode("whole.csv", &[]));
    assert!(!whole.contains("a part at a time"), "{whole}");
    // 10,000 codes of 16 values are 625 KiB; the rows themselves fit in 300 KiB.
    let parts = said(encode("parts.csv", &["--memory-budget", "300K"]));
    assert!(parts.contains("writing 10000 rows of 16 values (625.0 KiB as f32, more than the memory budget of 300.0 KiB) a part at a time"), "{parts}");
    assert!(!parts.contains("encoding 10000 rows"), "{parts}");
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    assert_eq!(read("parts.csv"), read("whole.csv"));
    encode("whole.npy", &[]);
    encode("parts.npy", &["--memory-budget", "300K"]);
    assert_eq!(read("parts.npy"), read("whole.npy"));
    let mut c = ae();
    c.arg("encode").arg(&model).arg(&data).args(["--id-column", "id", "--memory-budget", "300K", "-o"]);
    fails(c.arg(dir.path().join("parts.npz")), &["an .npz archive is built whole in memory"]);
}

/// `ae evaluate` of table files a part at a time (`--stream`, or over
/// `--memory-budget`) reports the numbers of the rows read whole, bit for bit: the
/// metrics, the PCA baseline fitted on `--pca-fit` (read with the same data flags), the
/// code's mean; and a VAE's ELBO and likelihood, its rows binarised, whose draws run on
/// across the parts. Without `--pca-fit` the baseline is fitted on the evaluated rows
/// in more passes over their parts (randomised for wide rows), and what needs the rows
/// whole is refused.
#[test]
fn streamed_evaluation_reports_the_numbers_of_the_rows_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = trained(dir.path());
    let fit = data.join("part-0.parquet");
    let run = || {
        let mut c = run_on("evaluate", &model, &data);
        c.arg("--pca-fit").arg(&fit);
        c
    };
    let (whole, said) = evaluated(&mut run());
    assert!(!said.contains("a part at a time"), "{said}");
    assert_eq!((whole["rows"].as_u64(), whole["pca"]["k"].as_u64()), (Some(6000), Some(3)), "{whole}");
    let (streamed, said) = evaluated(run().arg("--stream"));
    assert!(
        said.contains("evaluating 6000 rows of 6 values from") && said.contains("of at most 2000 rows"),
        "{said}"
    );
    assert_eq!(streamed, whole);
    assert_eq!(evaluated(run().args(["--memory-budget", "100K"])).0, whole);
    let with_fit = whole;
    // No --pca-fit: the evaluated rows fit the baseline, read whole or in two more
    // passes over their parts, to the same bits.
    let (whole, said) = evaluated(&mut run_on("evaluate", &model, &data));
    assert!(!said.contains("fitting PCA"), "{said}");
    assert_eq!(whole["pca"]["k"].as_u64(), Some(3), "{whole}");
    let (streamed, said) = evaluated(run_on("evaluate", &model, &data).arg("--stream"));
    assert!(said.contains("fitting PCA on the evaluated rows: 2 more passes over"), "{said}");
    assert_eq!(streamed, whole);
    assert_eq!(evaluated(run_on("evaluate", &model, &data).args(["--memory-budget", "100K"])).0, whole);
    // Rows wider than 1,024 values: the randomised fit, in nine passes over the parts,
    // to the bits of the fit in memory.
    let wide = dir.path().join("wide");
    std::fs::create_dir(&wide).unwrap();
    for shard in 0..3u64 {
        let mut csv = String::new();
        for r in shard * 100..(shard + 1) * 100 {
            let row: Vec<String> =
                (0..1030u64).map(|c| format!("{}", ((r * 31 + c * c * 7) % 97) as f32 / 97.0)).collect();
            csv.push_str(&row.join(","));
            csv.push('\n');
        }
        std::fs::write(wide.join(format!("{shard}.csv")), csv).unwrap();
    }
    let wide_model = dir.path().join("wide.safetensors");
    ok(ae()
        .arg("train")
        .arg(&wide)
        .arg("-o")
        .arg(&wide_model)
        .args(["--layers", "3", "--epochs", "1", "-q"]));
    let at = |extra: &[&str]| {
        let mut c = ae();
        c.arg("evaluate").arg(&wide_model).arg(&wide).args(["--threads", "2"]).args(extra);
        evaluated(&mut c)
    };
    let (whole_wide, _) = at(&[]);
    assert_eq!(whole_wide["pca"]["k"].as_u64(), Some(3), "{whole_wide}");
    let (streamed, said) = at(&["--stream"]);
    assert!(said.contains("fitting PCA on the evaluated rows: 9 more passes over"), "{said}");
    assert!(said.contains("a part at a time, of at most 100 rows"), "{said}");
    assert_eq!(streamed, whole_wide);
    // A --pca-fit file over the budget is fitted in two passes over its parts too.
    let (streamed, said) = evaluated(run().args(["--memory-budget", "10K"]));
    assert!(!said.contains("fitting PCA on the evaluated rows"), "{said}");
    assert_eq!(streamed, with_fit);
    // Beside rows read whole (2,000 of them, within 100 KiB), the 6,000 --pca-fit rows
    // are over it: --rate-distortion, which needs them whole, refuses them.
    let mut c = ae();
    c.arg("evaluate").arg(&model).arg(data.join("part-1.parquet")).arg("--pca-fit").arg(&data);
    c.args(["--label-column", "label"]);
    fails(
        c.args(["--memory-budget", "100K", "--rate-distortion"]),
        &["shards", "reads the --pca-fit rows whole", "--memory-budget"],
    );
    for flag in ["--rate-distortion", "--probe"] {
        fails(
            run_on("evaluate", &model, &data).args(["--stream", flag]),
            &[flag, "reads the evaluated rows whole"],
        );
    }

    // A VAE on values in [0, 1], in three shards, binarised.
    let folder = dir.path().join("unit");
    std::fs::create_dir(&folder).unwrap();
    let names: Vec<String> = (0..5).map(|j| format!("p{j}")).collect();
    for shard in 0..3 {
        let x: Vec<f32> = (0..700 * 5).map(|i| (((shard * 3500 + i) * 37) % 101) as f32 / 100.0).collect();
        autoencoder::data::columnar::write_matrix(
            &folder.join(format!("{shard}.parquet")),
            &x,
            5,
            &names,
            None,
        )
        .unwrap();
    }
    let vae = dir.path().join("v.safetensors");
    ok(ae()
        .arg("train")
        .arg(&folder)
        .args(["--variational", "--layers", "4,2", "--epochs", "1", "--no-plots", "-q", "-o"])
        .arg(&vae));
    let run = |binarize: &str| {
        let mut c = ae();
        c.arg("evaluate").arg(&vae).arg(&folder).args(["--binarize", binarize, "--iw-samples", "5"]);
        c
    };
    let (whole, _) = evaluated(&mut run("7"));
    assert!(whole["vae"]["nll"].as_f64().unwrap() > 0.0 && whole["bce"].as_f64().is_some(), "{whole}");
    // PCA is fitted on the binarised rows, in both passes over the parts alike.
    assert_eq!(whole["pca"]["k"].as_u64(), Some(2), "{whole}");
    assert_eq!(evaluated(run("7").arg("--stream")).0, whole);
    // Another binarisation seed draws other values.
    assert_ne!(evaluated(run("8").arg("--stream")).0["mse"], whole["mse"]);

    // A VAE of the table (values outside [0, 1]: a linear output, a Gaussian decoder),
    // which `ae evaluate` refused.
    let gaussian = dir.path().join("g.safetensors");
    train(&data, &gaussian, &["--variational", "--layers", "4,2", "-q"]);
    let run = || {
        let mut c = run_on("evaluate", &gaussian, &data);
        c.args(["--iw-samples", "3", "--no-pca"]);
        c
    };
    let (whole, _) = evaluated(&mut run());
    assert_eq!(whole["vae"]["decoder"], "gaussian", "{whole}");
    assert!(whole["vae"]["nll"].as_f64().unwrap() <= whole["vae"]["negative_elbo"].as_f64().unwrap() + 1.0);
    assert_eq!(evaluated(run().arg("--stream")).0, whole);
    let text = String::from_utf8(ok(&mut run()).stdout).unwrap();
    assert!(
        text.contains("VAE (Gaussian decoder of unit variance, in normalised units): negative ELBO"),
        "{text}"
    );
}
