//! Anomaly detection end to end: a threshold fitted at training round-trips through
//! the model file, `ae detect` flags exactly the rows whose score exceeds it, labels
//! give ROC-AUC, and labels other than 0/1 are refused.

use assert_cmd::Command;

/// 8 correlated features (rank 2 plus noise) for inliers, independent noise for
/// outliers (label 1), shuffled by a fixed LCG.
fn table(dir: &std::path::Path, bad_label: bool) -> std::path::PathBuf {
    let mut state = 7u64;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    let mut rows = Vec::new();
    for i in 0..400 {
        let outlier = i % 10 == 0;
        let (a, b) = (next(), next());
        let x: Vec<f64> = if outlier {
            (0..8).map(|_| 2.0 * next()).collect()
        } else {
            [a, b, a + b, a - b, 2.0 * a, 0.5 * b, 0.3 * a + 0.7 * b, -a]
                .iter()
                .map(|v| v + 0.02 * next())
                .collect()
        };
        let label = if bad_label && i == 5 { 2 } else { i64::from(outlier) };
        rows.push(format!("{},{label}", x.iter().map(|v| format!("{v:.5}")).collect::<Vec<_>>().join(",")));
    }
    let p = dir.join(if bad_label { "bad.csv" } else { "tab.csv" });
    let header = (0..8).map(|j| format!("f{j}")).collect::<Vec<_>>().join(",") + ",y";
    std::fs::write(&p, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    p
}

/// Column `i` of a CSV file written by `ae score` / `ae detect`, below its header.
fn column<T: std::str::FromStr>(path: &std::path::Path, i: usize) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().skip(1).map(|l| l.split(',').nth(i).unwrap().parse().unwrap()).collect()
}

fn ae() -> Command {
    Command::cargo_bin("ae").unwrap()
}

/// `ae inspect MODEL --json`.
fn inspect(model: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(
        &ae().args(["inspect", model.to_str().unwrap(), "--json"]).output().unwrap().stdout,
    )
    .unwrap()
}

/// `ae score MODEL DATA --label-column y --json -o OUT` plus `extra`: its JSON summary.
fn score(
    model: &std::path::Path,
    data: &std::path::Path,
    extra: &[&str],
    out: &std::path::Path,
) -> serde_json::Value {
    let o = ae()
        .args(["score", model.to_str().unwrap(), data.to_str().unwrap(), "--label-column", "y", "--json"])
        .args(extra)
        .args(["-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn threshold_round_trips_and_detect_matches_scores() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), false);
    let model = dir.path().join("m.safetensors");
    ae().args([
        "train",
        data.to_str().unwrap(),
        "--label-column",
        "y",
        "--normalize",
        "zscore",
        "--layers",
        "6,2",
    ])
    .args([
        "--epochs",
        "40",
        "--batch-size",
        "32",
        "--lr",
        "0.005",
        "--threads",
        "1",
        "--quiet",
        "--no-plots",
    ])
    .args(["--threshold", "contamination=0.1", "-o", model.to_str().unwrap()])
    .assert()
    .success();
    let inspect = inspect(&model);
    let threshold = inspect["threshold"]["threshold"].as_f64().expect("threshold saved in the model");

    let scores = dir.path().join("scores.csv");
    let summary = score(&model, &data, &[], &scores);
    assert!(summary["roc_auc"].as_f64().unwrap() > 0.9, "{summary}");

    let flags = dir.path().join("flags.csv");
    ae().args(["detect", model.to_str().unwrap(), data.to_str().unwrap(), "--label-column", "y"])
        .args(["-o", flags.to_str().unwrap()])
        .assert()
        .success();
    let by_hand: Vec<u8> = column::<f64>(&scores, 1).iter().map(|&v| u8::from(v > threshold)).collect();
    let detected: Vec<u8> = column(&flags, 2);
    assert_eq!(detected.len(), 400);
    assert_eq!(detected, by_hand);
    // Contamination 0.1 on the training rows flags about a tenth of them.
    let flagged = detected.iter().filter(|&&f| f == 1).count();
    assert!((30..=50).contains(&flagged), "{flagged}");
}

/// Labels other than 0/1 in a `--labels` file, given to judge the scores, are an error;
/// in a label column they are left out, the scores the same and not judged.
#[test]
fn labels_other_than_zero_or_one_are_refused_or_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let good = table(dir.path(), false);
    let bad = table(dir.path(), true);
    let model = dir.path().join("m.safetensors");
    ae().args(["train", good.to_str().unwrap(), "--label-column", "y", "--layers", "4", "--epochs", "1"])
        .args(["--quiet", "--no-plots", "-o", model.to_str().unwrap()])
        .assert()
        .success();
    let m = model.to_str().unwrap();
    let text = std::fs::read_to_string(&bad).unwrap();
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        text.lines().skip(1).map(|l| l.rsplit_once(',').unwrap().1.to_string() + "\n").collect::<String>(),
    )
    .unwrap();
    let features = dir.path().join("features.csv");
    std::fs::write(
        &features,
        text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n").collect::<String>(),
    )
    .unwrap();
    let out = ae()
        .args(["score", m, features.to_str().unwrap(), "--labels", labels.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("labels.csv") && err.contains("row 6") && err.contains("0 (normal) or 1"), "{err}");
    let scores = |data: &std::path::Path, json: bool| {
        let mut cmd = ae();
        cmd.args(["score", m, data.to_str().unwrap(), "--label-column", "y", "--threads", "1"]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (rows_bad, summary) = scores(&bad, false);
    assert!(
        summary.contains("labels") && summary.contains("row 6 has label 2") && summary.contains("not judged"),
        "{summary}"
    );
    assert!(!summary.contains("roc_auc"), "{summary}");
    assert_eq!(rows_bad, scores(&good, false).0);
    let report: serde_json::Value = serde_json::from_str(&scores(&bad, true).0).unwrap();
    assert!(
        report["labels_unused"].as_str().unwrap().contains("label 2") && report["roc_auc"].is_null(),
        "{report}"
    );
    // `detect` needs a threshold.
    let out = ae()
        .args(["detect", model.to_str().unwrap(), good.to_str().unwrap(), "--label-column", "y"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no threshold"));
}

/// A variational model scores rows by their negative ELBO (its default score), fits its
/// threshold on that, and `detect` agrees with the scores; the outliers score higher.
#[test]
fn a_variational_model_scores_by_its_negative_elbo() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), false);
    let model = dir.path().join("vae.safetensors");
    ae().args(["train", data.to_str().unwrap(), "--label-column", "y", "--normalize", "zscore"])
        .args(["--variational", "--layers", "6,2", "--output-activation", "linear", "--loss", "mse"])
        .args(["--epochs", "40", "--batch-size", "32", "--lr", "0.005", "--threads", "1", "--quiet"])
        .args(["--no-plots", "--threshold", "contamination=0.1", "-o", model.to_str().unwrap()])
        .assert()
        .success();
    let inspect = inspect(&model);
    assert_eq!(inspect["threshold"]["score"], "elbo", "{inspect}");
    let threshold = inspect["threshold"]["threshold"].as_f64().unwrap();
    let scores = dir.path().join("scores.csv");
    let summary = score(&model, &data, &[], &scores);
    assert!(summary["roc_auc"].as_f64().unwrap() > 0.9, "{summary}");
    let s: Vec<f64> = column(&scores, 1);
    // Nats per row: a Gaussian decoder's −log p(x|z) includes (d/2)·ln 2π = 7.35 for d = 8.
    assert!(s.iter().all(|&v| v.is_finite() && v > 7.0), "{:?}", &s[..5]);
    // The same scores again (the posterior draws come from a fixed seed).
    let again = dir.path().join("again.csv");
    ae().args(["score", model.to_str().unwrap(), data.to_str().unwrap(), "--label-column", "y"])
        .args(["-o", again.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(std::fs::read(&scores).unwrap(), std::fs::read(&again).unwrap());
    let flags = dir.path().join("flags.csv");
    ae().args(["detect", model.to_str().unwrap(), data.to_str().unwrap(), "--label-column", "y"])
        .args(["-o", flags.to_str().unwrap()])
        .assert()
        .success();
    let detected: Vec<u8> = column(&flags, 2);
    let by_hand: Vec<u8> = s.iter().map(|&v| u8::from(v > threshold)).collect();
    assert_eq!(detected, by_hand);
}

/// A file split into shards, each scored by its own `ae score --row-offset` (its first
/// row's index in the file), gives the whole file's rows bit for bit: the ids, and the
/// elbo scores, whose posterior samples are drawn at each row's global index (the last
/// shard is a single row). The shards given as one dataset (a folder, a glob) are the
/// whole file. Without the offset a shard's samples are other draws.
#[test]
fn shards_scored_with_their_row_offsets_equal_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), false);
    let model = dir.path().join("vae.safetensors");
    ae().args(["train", data.to_str().unwrap(), "--label-column", "y", "--normalize", "zscore"])
        .args(["--variational", "--layers", "6,2", "--output-activation", "linear", "--loss", "mse"])
        .args(["--epochs", "3", "--threads", "1", "--quiet", "--no-plots", "-o", model.to_str().unwrap()])
        .assert()
        .success();
    let text = std::fs::read_to_string(&data).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let rows: Vec<&str> = rows.lines().collect();
    let scored = |file: &std::path::Path, offset: usize| -> Vec<String> {
        let out = ae()
            .args(["score", model.to_str().unwrap(), file.to_str().unwrap(), "--label-column", "y"])
            .args(["--row-offset", &offset.to_string(), "--threads", "2"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().skip(1).map(str::to_string).collect()
    };
    let whole = scored(&data, 0);
    assert_eq!(whole.len(), rows.len());
    let mut joined = Vec::new();
    for (i, w) in [0, 1, 150, 399, 400].windows(2).enumerate() {
        let shard = dir.path().join(format!("shard{i}.csv"));
        std::fs::write(&shard, format!("{header}\n{}\n", rows[w[0]..w[1]].join("\n"))).unwrap();
        joined.extend(scored(&shard, w[0]));
    }
    assert_eq!(joined, whole);
    // The shards as one dataset: a folder of them (beside Spark's _SUCCESS), or a glob.
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    for i in 0..4 {
        std::fs::copy(dir.path().join(format!("shard{i}.csv")), parts.join(format!("part-{i:05}.csv")))
            .unwrap();
    }
    std::fs::write(parts.join("_SUCCESS"), "").unwrap();
    assert_eq!(scored(&parts, 0), whole);
    assert_eq!(scored(&parts.join("part-*.csv"), 0), whole);
    // A shard with other columns is named; nothing is written.
    std::fs::write(parts.join("part-00004.csv"), "f0,f1,y\n1,2,0\n").unwrap();
    let out = dir.path().join("s.csv");
    let e = ae()
        .args(["score", model.to_str().unwrap(), parts.to_str().unwrap(), "--label-column", "y", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&e.stderr);
    assert!(
        e.status.code() == Some(1) && err.contains("part-00004.csv") && err.contains("other columns"),
        "{err}"
    );
    assert!(!out.exists());
    // The shard of rows 150..399 as if it began the file: ids from 0, other samples.
    let unplaced = scored(&dir.path().join("shard2.csv"), 0);
    assert_eq!(unplaced[0].split(',').next(), Some("0"));
    let score = |row: &str| row.split(',').nth(1).unwrap().to_string();
    assert!(unplaced.iter().zip(&whole[150..]).all(|(a, b)| score(a) != score(b)));
}

/// A table as people have it: a text key, a notes column and the features in another
/// order. `--id-column`, `--ignore-columns` and `--columns` read the same rows as the
/// plain numeric file: the model trained on it scores and encodes bit for bit as the
/// plain file's, and the keys are the ids of the scores (CSV and Parquet) and the codes.
#[test]
fn id_ignored_and_chosen_columns_give_the_plain_tables_rows_with_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let plain = table(dir.path(), false);
    let text = std::fs::read_to_string(&plain).unwrap();
    // key,note,y,f7,f6,…,f0 with a quoted key holding a comma in row 3.
    let mut messy = String::from("key,note,y,f7,f6,f5,f4,f3,f2,f1,f0\n");
    for (i, line) in text.lines().skip(1).enumerate() {
        let v: Vec<&str> = line.split(',').collect();
        let key = if i == 3 { "\"r,3\"".to_string() } else { format!("r{i}") };
        let rev: Vec<&str> = v[..8].iter().rev().copied().collect();
        messy += &format!("{key},note {i},{},{}\n", v[8], rev.join(","));
    }
    let messy_path = dir.path().join("messy.csv");
    std::fs::write(&messy_path, messy).unwrap();
    let features = "f0,f1,f2,f3,f4,f5,f6,f7";
    let messy_args =
        ["--id-column", "key", "--ignore-columns", "note", "--label-column", "y", "--columns", features];
    let train = |data: &std::path::Path, extra: &[&str], out: &str| {
        let model = dir.path().join(out);
        ae().args(["train", data.to_str().unwrap()])
            .args(extra)
            .args(["--layers", "6,3", "--epochs", "3", "--threads", "1", "--quiet", "--no-plots"])
            .args(["-o", model.to_str().unwrap()])
            .assert()
            .success();
        model
    };
    let a = train(&plain, &["--label-column", "y"], "plain.safetensors");
    let b = train(&messy_path, &messy_args, "messy.safetensors");
    // (The model files differ in the data path they record; their scores are compared.)
    let run = |args: &[&str]| -> String {
        let out = ae().args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let (m, p, x) = (a.to_str().unwrap(), plain.to_str().unwrap(), messy_path.to_str().unwrap());
    let plain_scores = run(&["score", m, p, "--label-column", "y"]);
    // Scored by the model trained on the messy file: the same model, the same rows.
    let messy_scores = run(&[&["score", b.to_str().unwrap(), x][..], &messy_args].concat());
    let (plain_rows, messy_rows): (Vec<&str>, Vec<&str>) =
        (plain_scores.lines().collect(), messy_scores.lines().collect());
    assert_eq!(plain_rows.len(), 401);
    for (i, (a, b)) in plain_rows.iter().zip(&messy_rows).enumerate().skip(1) {
        let key = if i == 4 { "\"r,3\"".to_string() } else { format!("r{}", i - 1) };
        let (id, score) = b.rsplit_once(',').unwrap();
        assert_eq!((id, score), (key.as_str(), a.split_once(',').unwrap().1), "row {i}");
    }
    let codes = run(&[&["encode", m, x][..], &messy_args].concat());
    let plain_codes = run(&["encode", m, p, "--label-column", "y"]);
    assert!(codes.starts_with("id,z1,z2,z3\nr0,"), "{codes}");
    for (a, b) in plain_codes.lines().zip(codes.lines()).skip(1) {
        assert!(b.ends_with(&format!(",{a}")), "{a} / {b}");
    }
    // Parquet scores carry the text ids as a string column (read back as the ids).
    let pq = dir.path().join("scores.parquet");
    run(&[&["score", m, x, "-o", pq.to_str().unwrap()][..], &messy_args].concat());
    use autoencoder::data::columns::{ColumnRef, Columns};
    use autoencoder::data::RowIds;
    let columns = Columns { id: Some(ColumnRef::Name("id".into())), ..Columns::default() };
    let read = autoencoder::data::columnar::load_parquet(&pq, &columns).unwrap();
    let RowIds::Text(ids) = read.ids.clone().unwrap() else { panic!("text ids: {:?}", read.ids) };
    assert_eq!(ids.len(), 400);
    assert_eq!((ids[0].as_str(), ids[3].as_str(), ids[399].as_str()), ("r0", "r,3", "r399"));
    let csv_scores: Vec<f64> =
        messy_rows[1..].iter().map(|r| r.rsplit_once(',').unwrap().1.parse().unwrap()).collect();
    let pq_scores: Vec<f32> = read.as_slice().to_vec();
    assert!(csv_scores.iter().zip(&pq_scores).all(|(a, b)| *a as f32 == *b));
}

/// `--preset tabular` trains twice (the second pass on the half of the rows the first
/// reconstructs best, saying so), each pass for at least 2,000 steps, keeps its `root`
/// score in the model file, and `ae score` uses that score when none is asked for.
#[test]
fn the_tabular_preset_trims_and_scores_by_root() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), false);
    let model = dir.path().join("m.safetensors");
    let out = ae()
        .args(["train", data.to_str().unwrap(), "--label-column", "y", "--preset", "tabular"])
        .args([
            "--threads",
            "1",
            "--no-plots",
            "--threshold",
            "contamination=0.1",
            "-o",
            model.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // 400 rows: pass 1 trains on 360 (40 validate), pass 2 on 180 of the 200 kept;
    // 2,000 steps in batches of 64 are ⌈2000/6⌉ = 334 and ⌈2000/3⌉ = 667 epochs.
    assert!(
        err.contains("pass 1 of 2 (every row): training on 360 rows, validating on 40, 6 batches of up to 64 per epoch, at most 334 epochs"),
        "{err}"
    );
    assert!(
        err.contains("pass 2 of 2 (the rows pass 1 reconstructed best): training on 180 rows, validating on 20, 3 batches of up to 64 per epoch, at most 667 epochs"),
        "{err}"
    );
    let inspect = inspect(&model);
    assert_eq!(inspect["config"]["score"], "root", "{inspect}");
    assert_eq!(inspect["threshold"]["score"], "root", "{inspect}");
    assert_eq!(inspect["training"]["config"]["trim"], 0.5, "{inspect}");
    assert_eq!(inspect["training"]["config"]["min_steps"], 2000, "{inspect}");

    let scored = |extra: &[&str], name: &str| {
        let p = dir.path().join(name);
        let summary = score(&model, &data, extra, &p);
        (column::<f64>(&p, 1), summary["roc_auc"].as_f64().unwrap())
    };
    let (default, auc) = scored(&[], "default.csv");
    assert!(auc > 0.9, "{auc}");
    assert_eq!(default, scored(&["--score", "root"], "root.csv").0);
    assert_ne!(default, scored(&["--score", "mae"], "mae.csv").0);
}

/// Missing values: an error naming the field and the flags that handle it; with
/// `--missing mean` the model keeps each feature's mean over the training rows and puts
/// it in place of a missing value in every row it scores (the same scores as the file
/// with the means written in); with `--missing drop` the rows with a hole are left out
/// and the rest keep their row numbers as ids.
#[test]
fn missing_values_are_filled_with_the_training_mean_or_their_rows_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let plain = table(dir.path(), false);
    let text = std::fs::read_to_string(&plain).unwrap();
    let header = text.lines().next().unwrap();
    let rows: Vec<Vec<String>> =
        text.lines().skip(1).map(|l| l.split(',').map(String::from).collect()).collect();
    let hole = |i: usize| (i % 7 == 3).then_some(i % 8);
    let spelled = [" ", "NA", "nan", ""];
    let with_holes = |fill: Option<&[f32]>| -> String {
        let mut out = format!("{header}\n");
        for (i, r) in rows.iter().enumerate() {
            let mut r = r.clone();
            if let Some(j) = hole(i) {
                r[j] = match fill {
                    Some(f) => f[j].to_string(),
                    None => spelled[i % 4].to_string(),
                };
            }
            out += &(r.join(",") + "\n");
        }
        out
    };
    let holes = dir.path().join("holes.csv");
    std::fs::write(&holes, with_holes(None)).unwrap();
    let h = holes.to_str().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    let train = ["train", h, "--label-column", "y", "--layers", "6,3", "--epochs", "3", "--threads", "1"];
    let out = ae().args(train).args(["--quiet", "--no-plots", "-o", m]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("holes.csv: line 5 (data row 4), column 4 (\"f3\"): \"\" is empty (a missing value; --missing drop or --missing mean handles it)"),
        "{err}"
    );
    assert!(!model.exists());
    ae().args(train)
        .args(["--missing", "mean", "--validation-split", "0.25", "--quiet", "--no-plots", "-o", m])
        .assert()
        .success();
    // The fill: each feature's mean (in f64, of the values as read: f32) over the values
    // present in the training rows (the first 300; the last 100 are the validation part).
    let fill: Vec<f32> = (0..8)
        .map(|j| {
            let vals: Vec<f64> = (0..300)
                .filter(|&i| hole(i) != Some(j))
                .map(|i| f64::from(rows[i][j].parse::<f32>().unwrap()))
                .collect();
            (vals.iter().sum::<f64>() / vals.len() as f64) as f32
        })
        .collect();
    assert_eq!(autoencoder::file::load(&model).unwrap().normalizer().fill, fill);
    assert_eq!(inspect(&model)["missing_fill"].as_array().map(Vec::len), Some(8));
    let filled = dir.path().join("filled.csv");
    std::fs::write(&filled, with_holes(Some(&fill))).unwrap();
    let run = |args: &[&str]| -> (String, String) {
        let out = ae().args(args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{err}");
        (String::from_utf8(out.stdout).unwrap(), err)
    };
    let (scored, _) = run(&["score", m, h, "--label-column", "y", "--threads", "1"]);
    let (want, _) = run(&["score", m, filled.to_str().unwrap(), "--label-column", "y", "--threads", "1"]);
    assert_eq!(scored, want);
    let (dropped, err) = run(&["score", m, h, "--label-column", "y", "--threads", "1", "--missing", "drop"]);
    assert!(err.contains("left out 57 row(s) with a missing value; 343 kept"), "{err}");
    let all: Vec<&str> = want.lines().skip(1).collect();
    let kept: Vec<&str> = dropped.lines().skip(1).collect();
    let expected: Vec<&str> = (0..400).filter(|&i| hole(i).is_none()).map(|i| all[i]).collect();
    assert_eq!(kept, expected);
    // A model trained without missing values refuses them, naming the fix.
    let plain_model = dir.path().join("plain.safetensors");
    ae().args(["train", plain.to_str().unwrap(), "--label-column", "y", "--layers", "6,3", "--epochs", "1"])
        .args(["--quiet", "--no-plots", "-o", plain_model.to_str().unwrap()])
        .assert()
        .success();
    let out = ae()
        .args(["score", plain_model.to_str().unwrap(), h, "--label-column", "y", "--missing", "mean"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("row 4, column 4 (\"f3\") is NaN")
            && err.contains("train the model with --missing mean"),
        "{err}"
    );
}

/// `--categorical`: a text column becomes one 0/1 feature per value, kept in the model,
/// so that a later file is encoded alike (an unseen value sets none): a model trained on
/// the table scores rows exactly as one trained on the one-hot numbers written out.
#[test]
fn categorical_columns_train_and_score_as_their_one_hot_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let plain = table(dir.path(), false);
    let text = std::fs::read_to_string(&plain).unwrap();
    let colors = ["red", "green", "blue", "pink"];
    // With `k` colours in use, row i has colour i % k; the one-hot columns are blue, green, red.
    let write = |name: &str, k: usize, one_hot: bool| {
        let mut out = String::from(if one_hot {
            "f0,f1,f2,f3,f4,f5,f6,f7,color=blue,color=green,color=red,y\n"
        } else {
            "f0,f1,f2,f3,f4,f5,f6,f7,color,y\n"
        });
        for (i, line) in text.lines().skip(1).enumerate() {
            let (x, y) = line.rsplit_once(',').unwrap();
            let c = colors[i % k];
            let cell = if one_hot {
                ["blue", "green", "red"].map(|v| if v == c { "1" } else { "0" }).join(",")
            } else {
                c.to_string()
            };
            out += &format!("{x},{cell},{y}\n");
        }
        let p = dir.path().join(name);
        std::fs::write(&p, out).unwrap();
        p
    };
    let (cat, hot) = (write("cat.csv", 3, false), write("hot.csv", 3, true));
    let (later, later_hot) = (write("later.csv", 4, false), write("later_hot.csv", 4, true));
    let train = |data: &std::path::Path, extra: &[&str], out: &str| {
        let model = dir.path().join(out);
        ae().args(["train", data.to_str().unwrap(), "--label-column", "y"])
            .args(extra)
            .args(["--layers", "6,3", "--epochs", "3", "--threads", "1", "--quiet", "--no-plots"])
            .args(["-o", model.to_str().unwrap()])
            .assert()
            .success();
        model
    };
    let a = train(&cat, &["--categorical", "color"], "cat.safetensors");
    let b = train(&hot, &[], "hot.safetensors");
    let shown = ae().args(["inspect", a.to_str().unwrap()]).output().unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("categorical  color → 3 one-hot features (blue, green, red)"), "{shown}");
    let kept = autoencoder::file::load(&a).unwrap().categories;
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].column.as_str(), kept[0].values.clone()),
        ("color", vec!["blue".to_string(), "green".into(), "red".into()])
    );
    let score = |model: &std::path::Path, data: &std::path::Path| {
        let out = ae()
            .args([
                "score",
                model.to_str().unwrap(),
                data.to_str().unwrap(),
                "--label-column",
                "y",
                "--threads",
                "1",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // The later file holds pink, which the model has not seen: no colour feature set.
    assert_eq!(score(&a, &later), score(&b, &later_hot));
    assert_eq!(score(&a, &cat), score(&b, &hot));
    let codes = ae()
        .args(["encode", a.to_str().unwrap(), later.to_str().unwrap(), "--label-column", "y"])
        .output()
        .unwrap();
    assert!(codes.status.success(), "{}", String::from_utf8_lossy(&codes.stderr));
    // A categorical column named twice, or a number column of too many values, is named.
    let out = ae()
        .args(["train", cat.to_str().unwrap(), "--categorical", "color", "--columns", "f0,color"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(1) && err.contains("is given twice"), "{err}");
}

/// `--explain K`: a value planted in one known column of inlier rows is those rows'
/// first reason, named by the header; the scores are the same as without it.
#[test]
fn explain_names_the_column_planted_with_an_anomaly() {
    let dir = tempfile::tempdir().unwrap();
    let plain = table(dir.path(), false);
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    ae().args(["train", plain.to_str().unwrap(), "--label-column", "y", "--layers", "6,2", "--epochs", "60"])
        .args(["--threads", "1", "--quiet", "--no-plots", "-o", m])
        .assert()
        .success();
    // Rows 1..=5 are inliers (every tenth row is an outlier): shift their f5 by 2.5.
    let text = std::fs::read_to_string(&plain).unwrap();
    let mut planted = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut v: Vec<String> = line.split(',').map(String::from).collect();
        if (2..=6).contains(&i) {
            v[5] = format!("{:.5}", v[5].parse::<f64>().unwrap() + 2.5);
        }
        planted += &(v.join(",") + "\n");
    }
    let p = dir.path().join("planted.csv");
    std::fs::write(&p, planted).unwrap();
    let run = |extra: &[&str]| {
        let out = ae()
            .args(["score", m, p.to_str().unwrap(), "--label-column", "y", "--threads", "1"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let explained = run(&["--explain", "2"]);
    let plain_scores = run(&[]);
    let rows: Vec<Vec<&str>> = explained.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], ["id", "score", "feature_1", "contribution_1", "feature_2", "contribution_2"]);
    for (r, row) in rows.iter().enumerate().skip(1) {
        // The scores, unchanged; the contributions in order and within the score.
        assert_eq!(row[..2].join(","), plain_scores.lines().nth(r).unwrap());
        let (score, c1, c2): (f64, f64, f64) =
            (row[1].parse().unwrap(), row[3].parse().unwrap(), row[5].parse().unwrap());
        assert!(c1 >= c2 && c1 + c2 <= score * (1.0 + 1e-12), "row {r}: {row:?}");
    }
    for (r, row) in rows.iter().enumerate().take(7).skip(2) {
        assert_eq!(row[2], "f5", "planted row {}: {row:?}", r - 1);
    }
    // A score that is not a sum over features is refused.
    let out = ae()
        .args(["score", m, p.to_str().unwrap(), "--label-column", "y", "--explain", "2", "--score", "elbo"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(1) && err.contains("not a sum over features"), "{err}");
}

/// `--plots DIR`: with labels, the ROC and precision-recall curves and the histogram;
/// without, the histogram alone. Each is a PNG of the plots' size.
#[test]
fn plots_picture_the_detector() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), false);
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    ae().args(["train", data.to_str().unwrap(), "--label-column", "y", "--layers", "6,3", "--epochs", "5"])
        .args(["--threshold", "contamination=0.1", "--quiet", "--no-plots", "-o", m])
        .assert()
        .success();
    let png_size = |p: &std::path::Path| {
        let b = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{}", p.display());
        (u32::from_be_bytes(b[16..20].try_into().unwrap()), u32::from_be_bytes(b[20..24].try_into().unwrap()))
    };
    let with = dir.path().join("with labels");
    ae().args(["score", m, data.to_str().unwrap(), "--label-column", "y", "--plots", with.to_str().unwrap()])
        .assert()
        .success();
    for name in ["roc.png", "pr.png", "histogram.png"] {
        assert_eq!(png_size(&with.join(name)), (700, 560), "{name}");
    }
    // Without labels (the label column left out), only the histogram.
    let without = dir.path().join("without");
    ae().args([
        "score",
        m,
        data.to_str().unwrap(),
        "--ignore-columns",
        "y",
        "--plots",
        without.to_str().unwrap(),
    ])
    .assert()
    .success();
    assert_eq!(png_size(&without.join("histogram.png")), (700, 560));
    assert!(!without.join("roc.png").exists() && !without.join("pr.png").exists());
}

/// `--proba`: each row's outlier probability, scaled by the training scores' summary
/// the model keeps (min–max, or the erf of the z-score); the training report says the
/// share of training rows the threshold flags. Without a detector, a one-line error.
#[test]
fn probabilities_scale_by_the_training_scores() {
    let dir = tempfile::tempdir().unwrap();
    let data = table(dir.path(), false);
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    let out = ae()
        .args(["train", data.to_str().unwrap(), "--label-column", "y", "--layers", "6,3", "--epochs", "5"])
        .args(["--threshold", "contamination=0.1", "--no-plots", "--threads", "1", "-o", m])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("(contamination=0.1) flags 10.00% of the training rows"), "{text}");
    let d = autoencoder::file::load(&model).unwrap().detector.unwrap();
    let t = d.training_scores.unwrap();
    let rows = |method: &str| -> Vec<(f64, f64)> {
        let out = ae()
            .args([
                "score",
                m,
                data.to_str().unwrap(),
                "--label-column",
                "y",
                "--threads",
                "1",
                "--proba",
                method,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("id,score,outlier,probability\n"), "{text}");
        text.lines()
            .skip(1)
            .map(|l| {
                let v: Vec<&str> = l.split(',').collect();
                (v[1].parse().unwrap(), v[3].parse().unwrap())
            })
            .collect()
    };
    for (s, p) in rows("linear") {
        assert_eq!(p, ((s - t.min) / (t.max - t.min)).clamp(0.0, 1.0));
    }
    for (s, p) in rows("unify") {
        let z = (s - t.mean) / (t.std * std::f64::consts::SQRT_2);
        assert!(if z <= 0.0 { p == 0.0 } else { p > 0.0 && p <= 1.0 && (p > 0.5) == (z > 0.477) }, "{s} {p}");
    }
    let plain = dir.path().join("plain.safetensors");
    ae().args(["train", data.to_str().unwrap(), "--label-column", "y", "--layers", "4", "--epochs", "1"])
        .args(["--quiet", "--no-plots", "-o", plain.to_str().unwrap()])
        .assert()
        .success();
    let out = ae()
        .args([
            "score",
            plain.to_str().unwrap(),
            data.to_str().unwrap(),
            "--label-column",
            "y",
            "--proba",
            "linear",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(1) && err.contains("need a model with a detector"), "{err}");
}
