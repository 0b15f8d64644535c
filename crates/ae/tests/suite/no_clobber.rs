//! No run destroys its own input: for every subcommand that writes, every output flag
//! pointed at every input (data file, labels file, model, codes, compressed file,
//! checkpoint, configuration, validation file) — by its own name, by another spelling,
//! through a symbolic link and through a hard link — is refused before any work, with
//! an error naming both, and the input is byte-identical afterwards.

use std::path::{Path, PathBuf};

use crate::common::{ae, ok};

/// The fixtures every case reads: a data CSV, a labels CSV, a model, codes, a compressed
/// file, a checkpoint and a configuration, in one folder.
struct Fixtures {
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

impl Fixtures {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut data = String::from("a,b,c,d\n");
        let mut labels = String::new();
        for i in 0..64 {
            let x = i as f32 / 64.0;
            data.push_str(&format!("{x},{},{},{}\n", 1.0 - x, (x * 7.0).fract(), x * x));
            labels.push_str(if i % 16 == 0 { "1\n" } else { "0\n" });
        }
        std::fs::write(dir.join("data.csv"), data).unwrap();
        std::fs::write(dir.join("labels.csv"), labels).unwrap();
        std::fs::write(dir.join("config.toml"), "[model]\nlayers = [2]\n[training]\nepochs = 2\n").unwrap();
        let f = Fixtures { _dir: tmp, dir };
        ok(ae()
            .args(["train", "--layers", "2", "--epochs", "2", "--threads", "1", "--quiet", "--no-plots"])
            .args(["--threshold", "contamination=0.1", "--checkpoint-every", "1"])
            .arg(f.p("data.csv"))
            .arg("-o")
            .arg(f.p("model.safetensors"))
            .arg("--checkpoint")
            .arg(f.p("run.ckpt")));
        ok(ae()
            .args(["encode", "--threads", "1"])
            .arg(f.p("model.safetensors"))
            .arg(f.p("data.csv"))
            .arg("-o")
            .arg(f.p("codes.csv")));
        ok(ae()
            .args(["compress", "--threads", "1"])
            .arg(f.p("model.safetensors"))
            .arg(f.p("data.csv"))
            .arg("-o")
            .arg(f.p("rows.aez")));
        f
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Every input file name the fixtures hold.
const INPUTS: [&str; 7] =
    ["data.csv", "labels.csv", "config.toml", "model.safetensors", "codes.csv", "rows.aez", "run.ckpt"];

/// One subcommand writing through `flag` to `target`, and the inputs it reads.
struct Case {
    name: &'static str,
    args: Vec<String>,
    reads: &'static [&'static str],
}

fn cases(f: &Fixtures, flag: &str, target: &Path) -> Vec<Case> {
    let s = |n: &str| f.p(n).display().to_string();
    let (model, data, labels) = (s("model.safetensors"), s("data.csv"), s("labels.csv"));
    let mut v = vec![];
    let mut add = |name: &'static str, reads: &'static [&'static str], args: &[&str]| {
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(flag.to_string());
        args.push(target.display().to_string());
        v.push(Case { name, args, reads });
    };
    const MD: &[&str] = &["model.safetensors", "data.csv"];
    match flag {
        "-o" => {
            let train =
                ["train", &data, &labels, "--validation", &data, "--config", &s("config.toml"), "--no-plots"];
            add("train", &["data.csv", "labels.csv", "config.toml"], &train);
            add(
                "train --resume",
                &["data.csv", "run.ckpt"],
                &["train", &data, "--resume", &s("run.ckpt"), "--no-plots"],
            );
            add(
                "encode",
                &["model.safetensors", "data.csv", "labels.csv"],
                &["encode", &model, &data, &labels],
            );
            add("decode", &["model.safetensors", "codes.csv"], &["decode", &model, &s("codes.csv")]);
            add("reconstruct", MD, &["reconstruct", &model, &data]);
            add("denoise", MD, &["denoise", &model, &data]);
            let with_labels = &["model.safetensors", "data.csv", "labels.csv"];
            add("score", with_labels, &["score", &model, &data, "--labels", &labels]);
            add("detect", with_labels, &["detect", &model, &data, "--labels", &labels]);
            add("compress", MD, &["compress", &model, &data]);
            add("decompress", &["model.safetensors", "rows.aez"], &["decompress", &model, &s("rows.aez")]);
            add("generate", &["model.safetensors"], &["generate", &model, "-n", "4"]);
            add("traverse", &["model.safetensors"], &["traverse", &model]);
            add("interpolate", MD, &["interpolate", &model, &data]);
            add("plot-latent", MD, &["plot-latent", &model, &data]);
        }
        "--checkpoint" => {
            let args = [
                "train",
                &data,
                &labels,
                "--config",
                &s("config.toml"),
                "--no-plots",
                "-o",
                &s("new.safetensors"),
            ];
            add("train --checkpoint", &["data.csv", "labels.csv", "config.toml"], &args);
        }
        _ => {
            let args = ["evaluate", &model, &data, "--rate-distortion", "--pca-fit", &labels];
            add("evaluate --rd-plot", &["model.safetensors", "data.csv", "labels.csv"], &args);
        }
    }
    v
}

/// The spellings of one input: its path, a longer path to it, a symbolic link, a hard link.
fn spellings(f: &Fixtures, input: &str) -> Vec<PathBuf> {
    let sub = f.p("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let link = f.p(&format!("link-to-{input}"));
    let hard = f.p(&format!("hard-{input}"));
    if !link.exists() {
        #[cfg(unix)]
        std::os::unix::fs::symlink(f.p(input), &link).unwrap();
        std::fs::hard_link(f.p(input), &hard).unwrap();
    }
    let mut v = vec![f.p(input), sub.join("..").join(input), hard];
    if cfg!(unix) {
        v.push(link);
    }
    v
}

#[test]
fn every_output_pointed_at_every_input_is_refused_before_work() {
    let f = Fixtures::new();
    let before: Vec<(String, Vec<u8>)> =
        INPUTS.iter().map(|n| (n.to_string(), std::fs::read(f.p(n)).unwrap())).collect();
    let mut checked = 0;
    for input in INPUTS {
        for target in spellings(&f, input) {
            for flag in ["-o", "--checkpoint", "--rd-plot"] {
                for case in cases(&f, flag, &target) {
                    if !case.reads.contains(&input) {
                        continue;
                    }
                    let out = ae().args(&case.args).args(["--threads", "1"]).output().unwrap();
                    let err = String::from_utf8_lossy(&out.stderr);
                    let ctx = format!("{} {flag} → {} ({}): {err}", case.name, target.display(), input);
                    assert_eq!(out.status.code(), Some(1), "{ctx}");
                    assert!(err.contains("refusing to write"), "{ctx}");
                    assert!(!err.contains("training on"), "work started before the refusal: {ctx}");
                    for (n, bytes) in &before {
                        assert_eq!(&std::fs::read(f.p(n)).unwrap(), bytes, "{n} changed: {ctx}");
                    }
                    checked += 1;
                }
            }
        }
    }
    // Every (subcommand, input) pair above, each in its spellings.
    let pairs: usize = ["-o", "--checkpoint", "--rd-plot"]
        .iter()
        .flat_map(|flag| cases(&f, flag, &f.p("x")))
        .map(|c| c.reads.len())
        .sum();
    assert_eq!(pairs, 36);
    assert_eq!(checked, pairs * spellings(&f, "data.csv").len(), "a case was skipped");
}

#[test]
fn a_resumed_run_may_write_the_checkpoint_it_resumes_and_nothing_else_of_its_inputs() {
    let f = Fixtures::new();
    let ckpt = f.p("run.ckpt");
    // The default checkpoint of `-o model2.safetensors` is model2.ckpt; pointing it at the
    // checkpoint being resumed is the normal way to go on.
    let out = ae()
        .args(["train", "--threads", "1", "--quiet", "--no-plots"])
        .arg(f.p("data.csv"))
        .arg("--resume")
        .arg(&ckpt)
        .arg("--checkpoint")
        .arg(&ckpt)
        .arg("-o")
        .arg(f.p("resumed.safetensors"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The data file as the checkpoint is refused.
    let data_before = std::fs::read(f.p("data.csv")).unwrap();
    let out = ae()
        .args(["train", "--threads", "1", "--quiet", "--no-plots"])
        .arg(f.p("data.csv"))
        .arg("--checkpoint")
        .arg(f.p("data.csv"))
        .arg("-o")
        .arg(f.p("other.safetensors"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to write"));
    assert_eq!(std::fs::read(f.p("data.csv")).unwrap(), data_before);
    assert!(!f.p("other.safetensors").exists());
}
