//! End-to-end tests of the autoencoder family: variational (`--variational`, ELBO and
//! importance-sampled NLL in `ae evaluate`, `generate`, `interpolate`, `traverse`,
//! training on the importance-weighted bound with `--iw-train`),
//! denoising (`--noise`, `ae denoise --add-noise`), sparse (`--sparsity`, `--code-l1`) and
//! contractive (`--contractive`) models, on the built-in synthetic images.

use std::path::{Path, PathBuf};

use crate::common::{ae, fails, ok, refused};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

fn train(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let m = dir.join(name);
    ok(ae()
        .args(["train", "--dataset", "synthetic", "--threads", "1", "--quiet", "--no-plots"])
        .args(args)
        .arg("-o")
        .arg(&m));
    m
}

fn is_png(p: &Path) -> bool {
    std::fs::read(p).is_ok_and(|b| b.starts_with(b"\x89PNG"))
}

#[test]
fn a_variational_model_reports_its_elbo_and_nll_and_generates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = train(
        d,
        "vae.safetensors",
        &[
            "--variational",
            "--layers",
            "64,4",
            "--loss",
            "bce",
            "--epochs",
            "2",
            "--binarize",
            "--kl-warmup",
            "1",
        ],
    );
    let out = ok(ae().arg("evaluate").arg(&m).args([
        "--dataset",
        "synthetic",
        "--binarize",
        "0",
        "--iw-samples",
        "20",
        "--no-pca",
        "--json",
    ]));
    let j = json(&out);
    let v = &j["vae"];
    let (elbo, rec, kl, nll) = (
        v["negative_elbo"].as_f64().unwrap(),
        v["reconstruction"].as_f64().unwrap(),
        v["kl"].as_f64().unwrap(),
        v["nll"].as_f64().unwrap(),
    );
    assert!((elbo - rec - kl).abs() < 1e-6 * elbo, "{v}");
    assert!(kl > 0.0 && rec > 0.0, "{v}");
    // The importance-weighted bound is tighter than the ELBO (up to sampling noise).
    assert!(nll < elbo * 1.01, "{v}");

    let png = d.join("samples.png");
    ok(ae().arg("generate").arg(&m).args(["-n", "16", "-o"]).arg(&png));
    assert!(is_png(&png));
    let npy = d.join("samples.npy");
    ok(ae().arg("generate").arg(&m).args(["-n", "5", "--seed", "3", "-o"]).arg(&npy));
    assert_eq!(std::fs::metadata(&npy).unwrap().len() as usize, 128 + 5 * 784 * 4);
    // Many samples are written a part at a time (1,337 rows of 784 values each): the
    // values of the samples drawn at once (.npz is made whole), and the first rows of
    // fewer draws.
    let (many, whole) = (d.join("many.npy"), d.join("many.npz"));
    for out in [&many, &whole] {
        ok(ae().arg("generate").arg(&m).args(["-n", "3000", "--seed", "3", "-o"]).arg(out));
    }
    let opts = autoencoder::data::npy::NpyOptions::default();
    let load = |p: &std::path::Path| autoencoder::data::npy::load(p, &opts).unwrap();
    let (many, whole, five) = (load(&many), load(&whole), load(&npy));
    assert_eq!((many.rows(), many.cols()), (3000, 784));
    assert_eq!(many.as_slice(), whole.as_slice());
    assert_eq!(&many.as_slice()[..5 * 784], five.as_slice());
    // Beyond what a grid or memory holds: refused before any code is drawn.
    for (name, n, says) in [("g.png", "100000", "ask for at most"), ("g.npz", "99999999999", "memory budget")]
    {
        let out = ae().arg("generate").arg(&m).args(["-n", n, "-o"]).arg(d.join(name)).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{out:?}");
        assert!(!d.join(name).exists());
    }
    let interpolate = |steps: &str, out: &std::path::Path| {
        let mut c = ae();
        c.arg("interpolate").arg(&m).args([
            "--dataset",
            "synthetic",
            "--rows",
            "2,9",
            "--steps",
            steps,
            "-o",
        ]);
        c.arg(out).output().unwrap()
    };
    let out = interpolate("4000000000", &d.join("i.npz"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("more than the memory budget"), "{out:?}");
    assert!(!d.join("i.npz").exists());
    // A long walk is decoded and written a part at a time: the decodings of the walk made
    // whole (.npz), bit for bit, as are a traversal's.
    let (walk, whole) = (d.join("walk.npy"), d.join("walk.npz"));
    for out in [&walk, &whole] {
        assert!(interpolate("3000", out).status.success());
    }
    let (walk, whole) = (load(&walk), load(&whole));
    assert_eq!((walk.rows(), walk.cols()), (3000, 784));
    assert_eq!(walk.as_slice(), whole.as_slice());
    let (sweep, whole) = (d.join("sweep.npy"), d.join("sweep.npz"));
    for out in [&sweep, &whole] {
        ok(ae().arg("traverse").arg(&m).args(["--dims", "2", "--steps", "1500", "-o"]).arg(out));
    }
    assert_eq!(load(&sweep).as_slice(), load(&whole).as_slice());
    let path = d.join("path.png");
    ok(ae()
        .arg("interpolate")
        .arg(&m)
        .args(["--dataset", "synthetic", "--rows", "0,5", "--steps", "7", "-o"])
        .arg(&path));
    assert!(is_png(&path));
    let trav = d.join("traverse.png");
    ok(ae().arg("traverse").arg(&m).args(["--steps", "5", "-o"]).arg(&trav));
    assert!(is_png(&trav));
    // A plain model samples from its training codes; it has no ELBO.
    let plain = train(d, "plain.safetensors", &["--layers", "64,4", "--epochs", "1"]);
    ok(ae().arg("generate").arg(&plain).args(["-n", "4", "-o"]).arg(d.join("p.png")));
    let out =
        ae().arg("traverse").arg(&plain).args(["--dims", "9", "-o"]).arg(d.join("t.png")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dims"));
}

/// `--iw-train K` trains a variational model on the importance-weighted bound: the same
/// seed gives the same bytes, the model differs from the ELBO's, the setting is recorded
/// in the model, and models it cannot train are refused with one line naming it.
#[test]
fn iw_train_trains_on_the_importance_weighted_bound() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = ["--variational", "--layers", "32,4", "--loss", "bce", "--epochs", "2", "--binarize"];
    let iw: Vec<&str> = args.iter().copied().chain(["--iw-train", "4"]).collect();
    let a = std::fs::read(train(d, "a.safetensors", &iw)).unwrap();
    let b = std::fs::read(train(d, "b.safetensors", &iw)).unwrap();
    let elbo = std::fs::read(train(d, "elbo.safetensors", &args)).unwrap();
    assert!(a == b, "the same seed must give the same bytes");
    assert!(a != elbo, "the bound must train another model than the ELBO");
    let recorded = String::from_utf8_lossy(&a);
    assert!(recorded.contains(r#"\"iw_train\":4"#), "the model records iw_train");
    assert!(
        !String::from_utf8_lossy(&elbo).contains("iw_train"),
        "the ELBO's model records the default as before"
    );
    let out = ok(ae().arg("evaluate").arg(d.join("a.safetensors")).args([
        "--dataset",
        "synthetic",
        "--binarize",
        "0",
        "--iw-samples",
        "10",
        "--no-pca",
        "--json",
    ]));
    assert!(json(&out)["vae"]["nll"].as_f64().unwrap() > 0.0);
    let base = || {
        let mut c = ae();
        c.args(["train", "--dataset", "synthetic", "--quiet", "--no-plots", "--epochs", "1", "-o"])
            .arg(d.join("never.safetensors"));
        c
    };
    fails(base().args(["--layers", "8", "--iw-train", "3"]), &["iw_train", "variational"]);
    fails(
        base().args(["--variational", "--layers", "8,2", "--loss", "mse", "--iw-train", "3"]),
        &["iw_train", "bce"],
    );
    fails(
        base().args(["--variational", "--layers", "8,2", "--loss", "bce", "--iw-train", "0"]),
        &["iw_train"],
    );
    assert!(!d.join("never.safetensors").exists());
}

#[test]
fn a_denoising_model_raises_the_psnr_of_noisy_images() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = train(
        d,
        "dae.safetensors",
        &["--layers", "128,32", "--loss", "bce", "--epochs", "2", "--noise", "gaussian:0.4:clip"],
    );
    let png = d.join("denoised.png");
    let out = ok(ae()
        .arg("denoise")
        .arg(&m)
        .args(["--dataset", "synthetic", "--add-noise", "gaussian:0.4:clip", "--json", "-o"])
        .arg(&png));
    let j = json(&out);
    let (before, after) = (j["psnr_noisy"].as_f64().unwrap(), j["psnr_denoised"].as_f64().unwrap());
    assert!(after > before + 3.0, "noisy {before} dB, denoised {after} dB");
    assert!(is_png(&png));
    // Bad noise specifications name the flag.
    refused(
        ae().arg("train").args(["--dataset", "synthetic", "--noise", "blur:3", "-o"]).arg(d.join("x")),
        &["--noise", "blur:3"],
    );
}

#[test]
fn sparse_and_contractive_penalties_change_the_code_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let common = ["--layers", "48", "--code-activation", "sigmoid", "--loss", "bce", "--epochs", "3"];
    let plain = train(d, "plain.safetensors", &common);
    let sparse = train(d, "sparse.safetensors", &[&common[..], &["--sparsity", "0.05:3"]].concat());
    let contractive = train(d, "cae.safetensors", &[&common[..], &["--contractive", "2"]].concat());
    let stats = |m: &Path| {
        let j = json(&ok(ae().arg("evaluate").arg(m).args(["--dataset", "synthetic", "--no-pca", "--json"])));
        (j["code_mean_activation"].as_f64().unwrap(), j["jacobian_norm"].as_f64().unwrap())
    };
    let (plain_mean, plain_jac) = stats(&plain);
    let (sparse_mean, _) = stats(&sparse);
    let (_, cae_jac) = stats(&contractive);
    assert!(sparse_mean < 0.5 * plain_mean, "sparse {sparse_mean} vs plain {plain_mean}");
    assert!(cae_jac < 0.7 * plain_jac, "contractive {cae_jac} vs plain {plain_jac}");
    // What cannot be computed exactly is refused, naming the setting.
    fails(
        ae().args([
            "train",
            "--dataset",
            "synthetic",
            "--layers",
            "48,8",
            "--code-activation",
            "sigmoid",
            "--contractive",
            "0.1",
            "-o",
        ])
        .arg(d.join("x.safetensors")),
        &["contractive", "one-layer"],
    );
    refused(
        ae().args(["train", "--dataset", "synthetic", "--layers", "8", "--sparsity", "0.05", "-o"])
            .arg(d.join("y.safetensors")),
        &["--sparsity", "RHO:BETA"],
    );
}

#[test]
fn dropout_trains_and_bad_probabilities_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = train(d, "drop.safetensors", &["--layers", "64,8", "--dropout", "0.3", "--epochs", "1"]);
    let out = ok(ae().arg("inspect").arg(&m));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("dropout"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    fails(
        ae().args(["train", "--dataset", "synthetic", "--layers", "8", "--dropout", "1.5", "-o"])
            .arg(d.join("x.safetensors")),
        &["dropout"],
    );
}

#[test]
fn tied_weights_train_and_need_a_mirrored_decoder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = train(d, "tied.safetensors", &["--layers", "64,8", "--tied", "--epochs", "1"]);
    // The file is an ordinary model whose decoder weights are the encoder's, transposed.
    let bytes = std::fs::read(&m).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let tensor = |name: &str| -> (Vec<usize>, Vec<f32>) {
        let t = &header[name];
        let shape: Vec<usize> =
            t["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let o: Vec<usize> =
            t["data_offsets"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let data = bytes[8 + n + o[0]..8 + n + o[1]]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        (shape, data)
    };
    let (es, e) = tensor("encoder.0.weight");
    let (ds, dd) = tensor("decoder.1.weight");
    assert_eq!((es.clone(), ds), (vec![64, 784], vec![784, 64]));
    for r in 0..64 {
        for c in 0..784 {
            assert_eq!(e[r * 784 + c], dd[c * 64 + r]);
        }
    }
    fails(
        ae().args([
            "train",
            "--dataset",
            "synthetic",
            "--layers",
            "64,8",
            "--decoder-layers",
            "32",
            "--tied",
            "-o",
        ])
        .arg(d.join("x.safetensors")),
        &["tied"],
    );
}
