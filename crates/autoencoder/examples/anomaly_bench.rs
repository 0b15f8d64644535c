//! PyOD's benchmark protocol on the ODDS files: for each dataset, 10 random 60/40
//! train/test splits (seeds 0–9), z-scores fitted on the training part, the default
//! tabular detector (`anomaly::tabular_defaults`), test ROC-AUC; a table per dataset
//! with the mean and spread beside PyOD's published numbers.
//!
//! `cargo run --release -p autoencoder --example anomaly_bench -- [ODDS_DIR] [--splits N] [--only a,b]`
//! (`bench/anomaly` wraps it).
//! Experiment switches on top of the defaults (the published table uses none of them):
//! - the model and training: --widths F1,F2,… (encoder widths as fractions of d),
//!   --dropout P, --noise SPEC, --tied, --variational, --activation NAME, --loss NAME,
//!   --lr X, --l2 X, --batch N, --epochs N, --patience N, --no-es (no early stopping), --trim F
//!   (0 for one pass), --score mse|mae|standardized|elbo;
//! - around the model: --clip-z C (z-scores clipped to ±C), --ensemble N (N seeds, scores
//!   in units of each member's training scores, summed), --member-widths A/B/… (member k
//!   uses width list k), --extra-passes N (more trimming rounds), --finetune (the second
//!   pass continues from the first's weights), --pnorm P (score Σ|eⱼ|^P), --gauss
//!   code|code-err|input|input-err|mix-… (Mahalanobis distance under one Gaussian),
//!   --knn K [--knn-space code|input|mix|mix-input], --pyod-like (PyOD's AutoEncoder
//!   defaults: 64, 32 relu, dropout 0.2, 10 epochs, batch 32), --with-pyod-like (its ranks
//!   averaged with the default's);
//!   --code sqrt|MIN (the code width ⌈√d⌉, or at least MIN), --min-width N (every
//!   layer at least N wide), --min-steps S (at least S gradient steps per pass: more
//!   epochs and patience for small tables), --seed-offset K (models seeded split + K; the splits stay);
//! - `AE_BENCH_SPLITS=1` prints each split's ROC-AUC and training summary on stderr.

use std::path::PathBuf;

use autoencoder::anomaly::{roc_auc, tabular_defaults};
use autoencoder::data::open::{load_file, LoadOptions};
use autoencoder::random::{self, Stream};
use autoencoder::{fit, Autoencoder, Dataset, NoObserver, Threads};

/// PyOD's published ROC-AUC: AutoEncoder, VAE, IForest (the table).
const PYOD: [(&str, f64, f64, f64); 11] = [
    ("arrhythmia", 0.7739, 0.8176, 0.8013),
    ("glass", 0.6754, 0.6099, 0.7503),
    ("ionosphere", 0.8959, 0.7675, 0.8528),
    ("lympho", 0.9855, 0.9825, 0.9932),
    ("mnist", 0.8645, 0.9002, 0.8080),
    ("musk", 0.8127, 1.0000, 0.9998),
    ("optdigits", 0.5980, 0.5074, 0.7021),
    ("pima", 0.6655, 0.6112, 0.6800),
    ("satellite", 0.6628, 0.7419, 0.6929),
    ("shuttle", 0.9898, 0.9947, 0.9971),
    ("vertebral", 0.4819, 0.4172, 0.3887),
];
const OTHERS: [&str; 7] = ["annthyroid", "breastw", "mammography", "wine", "cover", "http", "smtp"];

fn split(data: &Dataset, seed: u64) -> (Dataset, Dataset) {
    let mut idx: Vec<usize> = (0..data.rows()).collect();
    random::shuffle(&mut random::rng(seed, Stream::Shuffle), &mut idx);
    let n_train = (data.rows() as f64 * 0.6).round() as usize;
    (data.select_rows(&idx[..n_train]), data.select_rows(&idx[n_train..]))
}

/// Mean distance from each row of `b` to its `k` nearest rows of `a` (`w` values each).
fn knn_scores(a: &[f32], b: &[f32], w: usize, k: usize) -> Vec<f64> {
    b.chunks_exact(w)
        .map(|q| {
            let mut best = vec![f64::INFINITY; k];
            for r in a.chunks_exact(w) {
                let d: f64 = q.iter().zip(r).map(|(&x, &y)| f64::from(x - y).powi(2)).sum();
                if d < best[k - 1] {
                    let pos = best.partition_point(|&v| v < d);
                    best.insert(pos, d);
                    best.pop();
                }
            }
            best.iter().map(|v| v.sqrt()).sum::<f64>() / k as f64
        })
        .collect()
}

/// Squared Mahalanobis distance of each row of `b` under one Gaussian fitted to `a`
/// (`w` values per row; covariance ridged by 1e-6 of its mean variance).
fn gauss_scores(a: &[f64], b: &[f64], w: usize) -> Vec<f64> {
    let n = (a.len() / w) as f64;
    let mut mean = vec![0.0; w];
    for r in a.chunks_exact(w) {
        r.iter().zip(&mut mean).for_each(|(v, m)| *m += v / n);
    }
    let mut c = vec![0.0; w * w];
    for r in a.chunks_exact(w) {
        for i in 0..w {
            for j in 0..=i {
                c[i * w + j] += (r[i] - mean[i]) * (r[j] - mean[j]) / n;
            }
        }
    }
    let tr = (0..w).map(|i| c[i * w + i]).sum::<f64>() / w as f64;
    for i in 0..w {
        c[i * w + i] += 1e-6 * tr.max(1e-12) + 1e-12;
    }
    // Cholesky, lower triangle in place.
    for j in 0..w {
        let mut d = c[j * w + j];
        for k in 0..j {
            d -= c[j * w + k] * c[j * w + k];
        }
        let d = d.max(1e-300).sqrt();
        c[j * w + j] = d;
        for i in j + 1..w {
            let mut v = c[i * w + j];
            for k in 0..j {
                v -= c[i * w + k] * c[j * w + k];
            }
            c[i * w + j] = v / d;
        }
    }
    b.chunks_exact(w)
        .map(|r| {
            let mut y = vec![0.0; w];
            for i in 0..w {
                let mut v = r[i] - mean[i];
                for k in 0..i {
                    v -= c[i * w + k] * y[k];
                }
                y[i] = v / c[i * w + i];
            }
            y.iter().map(|v| v * v).sum()
        })
        .collect()
}

/// The mean of the two scores' ranks (ties broken by order).
fn rank_mean(a: &[f64], b: &[f64]) -> Vec<f64> {
    let ranks = |s: &[f64]| {
        let mut idx: Vec<usize> = (0..s.len()).collect();
        idx.sort_by(|&i, &j| s[i].total_cmp(&s[j]));
        let mut r = vec![0.0; s.len()];
        for (rank, &i) in idx.iter().enumerate() {
            r[i] = rank as f64;
        }
        r
    };
    let (ra, rb) = (ranks(a), ranks(b));
    ra.iter().zip(&rb).map(|(x, y)| x + y).collect()
}

fn main() -> autoencoder::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = PathBuf::from("../shared/data/odds");
    let mut splits = 10u64;
    let mut only: Option<Vec<String>> = None;
    // Experiments on top of the defaults (the published table uses none of them).
    let mut dropout: Option<f64> = None;
    let mut noise: Option<autoencoder::train::Corruption> = None;
    let mut knn = 0usize;
    let mut variational = false;
    let mut tied = false;
    let mut knn_space = String::from("code");
    let mut score_kind: Option<autoencoder::anomaly::ScoreKind> = None;
    let mut clip_z: Option<f32> = None;
    let mut pyod_like = 0u8; // 1: PyOD's AE alone; 2: its ranks averaged with the default's
    let mut ensemble = 1usize;
    let mut trim: Option<f64> = None;
    let mut epochs: Option<usize> = None;
    let mut layers_scale: Option<Vec<f64>> = None;
    let mut no_es = false;
    let mut gauss = String::new();
    let mut loss: Option<autoencoder::Loss> = None;
    let mut activation: Option<autoencoder::Activation> = None;
    let mut lr: Option<f64> = None;
    let mut patience: Option<usize> = None;
    let mut batch: Option<usize> = None;
    let mut extra_passes = 0usize;
    let mut finetune = false;
    let mut pnorm: Option<f64> = None;
    let mut member_widths: Option<Vec<Vec<f64>>> = None;
    let mut code_rule: Option<String> = None;
    let mut min_width: Option<usize> = None;
    let mut seed_offset = 0u64;
    let mut min_steps: Option<usize> = None;
    let mut l2: Option<f64> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--splits" => {
                splits = args[i + 1].parse().expect("--splits N");
                i += 1;
            }
            "--dropout" => {
                dropout = Some(args[i + 1].parse().expect("--dropout P"));
                i += 1;
            }
            "--noise" => {
                noise = Some(autoencoder::train::Corruption::parse(&args[i + 1])?);
                i += 1;
            }
            "--variational" => variational = true,
            "--pyod-like" => pyod_like = 1,
            "--with-pyod-like" => pyod_like = 2,
            "--clip-z" => {
                clip_z = Some(args[i + 1].parse().expect("--clip-z C"));
                i += 1;
            }
            "--score" => {
                score_kind = Some(args[i + 1].parse()?);
                i += 1;
            }
            "--tied" => tied = true,
            "--ensemble" => {
                ensemble = args[i + 1].parse().expect("--ensemble N");
                i += 1;
            }
            "--trim" => {
                trim = Some(args[i + 1].parse().expect("--trim F"));
                i += 1;
            }
            "--epochs" => {
                epochs = Some(args[i + 1].parse().expect("--epochs N"));
                i += 1;
            }
            "--no-es" => no_es = true,
            "--activation" => {
                activation = Some(args[i + 1].parse()?);
                i += 1;
            }
            "--lr" => {
                lr = Some(args[i + 1].parse().expect("--lr X"));
                i += 1;
            }
            "--patience" => {
                patience = Some(args[i + 1].parse().expect("--patience N"));
                i += 1;
            }
            "--extra-passes" => {
                extra_passes = args[i + 1].parse().expect("--extra-passes N");
                i += 1;
            }
            "--min-width" => {
                min_width = Some(args[i + 1].parse().expect("--min-width N"));
                i += 1;
            }
            "--l2" => {
                l2 = Some(args[i + 1].parse().expect("--l2 X"));
                i += 1;
            }
            "--min-steps" => {
                min_steps = Some(args[i + 1].parse().expect("--min-steps S"));
                i += 1;
            }
            "--seed-offset" => {
                seed_offset = args[i + 1].parse().expect("--seed-offset K");
                i += 1;
            }
            "--code" => {
                code_rule = Some(args[i + 1].clone());
                i += 1;
            }
            "--member-widths" => {
                member_widths = Some(
                    args[i + 1]
                        .split('/')
                        .map(|m| m.split(',').map(|v| v.parse().unwrap()).collect())
                        .collect(),
                );
                i += 1;
            }
            "--pnorm" => {
                pnorm = Some(args[i + 1].parse().expect("--pnorm P"));
                i += 1;
            }
            "--finetune" => {
                finetune = true;
                trim = Some(0.0);
            }
            "--batch" => {
                batch = Some(args[i + 1].parse().expect("--batch N"));
                i += 1;
            }
            "--loss" => {
                loss = Some(args[i + 1].parse()?);
                i += 1;
            }
            "--gauss" => {
                gauss = args[i + 1].clone();
                i += 1;
            }
            "--widths" => {
                layers_scale = Some(args[i + 1].split(',').map(|v| v.parse().unwrap()).collect());
                i += 1;
            }
            "--knn" => {
                knn = args[i + 1].parse().expect("--knn K");
                i += 1;
            }
            "--knn-space" => {
                knn_space = args[i + 1].clone();
                i += 1;
            }
            "--only" => {
                only = Some(args[i + 1].split(',').map(String::from).collect());
                i += 1;
            }
            other => dir = PathBuf::from(other),
        }
        i += 1;
    }
    let threads = Threads::new(1);
    let names: Vec<&str> = PYOD.iter().map(|p| p.0).chain(OTHERS).collect();
    println!("| dataset | rows × d | outliers | ae ROC-AUC mean ± sd | PyOD AE | PyOD VAE | PyOD IForest | seconds |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut means = Vec::new();
    for name in names {
        if only.as_ref().is_some_and(|o| !o.iter().any(|n| n == name)) {
            continue;
        }
        let path = dir.join(format!("{name}.mat"));
        let t = std::time::Instant::now();
        let data = match load_file(&path, None, &LoadOptions::default()) {
            Ok(d) => d,
            Err(e) => {
                println!("| {name} | — | — | error: {e} | | | | |");
                continue;
            }
        };
        let labels = data.labels.clone().unwrap_or_default();
        let mut aucs = Vec::new();
        for seed in 0..splits {
            let (mut train, mut test) = split(&data, seed);
            if let Some(c) = clip_z {
                // z-scores fitted on the training part, then clipped to ±c, before the model.
                let d = data.cols();
                let n = train.rows() as f64;
                let mut mean = vec![0.0f64; d];
                let mut sd = vec![0.0f64; d];
                for r in train.as_slice().chunks_exact(d) {
                    r.iter().zip(&mut mean).for_each(|(&v, m)| *m += v as f64 / n);
                }
                for r in train.as_slice().chunks_exact(d) {
                    r.iter()
                        .zip(&mean)
                        .zip(&mut sd)
                        .for_each(|((&v, m), s)| *s += (v as f64 - m).powi(2) / n);
                }
                let z = |ds: &Dataset| {
                    let v: Vec<f32> = ds
                        .as_slice()
                        .chunks_exact(d)
                        .flat_map(|r| {
                            r.iter().zip(&mean).zip(&sd).map(|((&v, m), s)| {
                                let s = if *s > 0.0 { s.sqrt() } else { 1.0 };
                                (((v as f64 - m) / s) as f32).clamp(-c, c)
                            })
                        })
                        .collect();
                    let mut out = Dataset::new(v, ds.rows(), d, "clipped").unwrap();
                    out.labels = ds.labels.clone();
                    out
                };
                (train, test) = (z(&train), z(&test));
            }
            let train_one = |k: usize, rows: &Dataset| -> autoencoder::Result<Autoencoder> {
                let (mut model_cfg, mut train_cfg) = tabular_defaults(data.cols());
                let s = seed + 1000 * k as u64 + seed_offset;
                train_cfg.seed = s;
                if let Some(p) = dropout {
                    model_cfg.dropout = p;
                }
                if let Some(e) = epochs {
                    train_cfg.epochs = e;
                }
                if let Some(a) = activation {
                    model_cfg.activation = a;
                }
                if let Some(v) = lr {
                    train_cfg.optimizer.lr = v;
                }
                if let (Some(p), Some(es)) = (patience, train_cfg.early_stopping.as_mut()) {
                    es.patience = p;
                }
                if let Some(b) = batch {
                    train_cfg.batch_size = b;
                }
                if let Some(t) = trim {
                    train_cfg.trim = t;
                }
                if let Some(k) = score_kind {
                    model_cfg.score = Some(k);
                }
                if let Some(l) = loss {
                    train_cfg.loss = l;
                }
                if no_es {
                    train_cfg.early_stopping = None;
                    train_cfg.validation_split = 0.0;
                }
                if let Some(ms) = &member_widths {
                    let ls = &ms[k % ms.len()];
                    model_cfg.layers =
                        ls.iter().map(|f| ((data.cols() as f64 * f).ceil() as usize).max(1)).collect();
                } else if let Some(ls) = &layers_scale {
                    model_cfg.layers =
                        ls.iter().map(|f| ((data.cols() as f64 * f).ceil() as usize).max(1)).collect();
                }
                if let Some(rule) = &code_rule {
                    let d = data.cols() as f64;
                    let last = model_cfg.layers.len() - 1;
                    model_cfg.layers[last] = match rule.as_str() {
                        "sqrt" => d.sqrt().ceil() as usize,
                        other => model_cfg.layers[last].max(other.parse().expect("--code sqrt|MIN")),
                    };
                }
                if let Some(steps) = min_steps {
                    // At least `steps` gradient steps per pass: more epochs (and patience
                    // in proportion) for small tables.
                    let n = (rows.rows() as f64 * (1.0 - train_cfg.validation_split)).floor().max(1.0);
                    let batches = (n / train_cfg.batch_size as f64).ceil().max(1.0) as usize;
                    let epochs = train_cfg.epochs.max(steps.div_ceil(batches));
                    if let Some(es) = train_cfg.early_stopping.as_mut() {
                        es.patience = es.patience.max(epochs / 10);
                    }
                    train_cfg.epochs = epochs;
                }
                if let Some(v) = l2 {
                    train_cfg.l2 = v;
                }
                if let Some(w) = min_width {
                    model_cfg.layers.iter_mut().for_each(|l| *l = (*l).max(w));
                }
                if clip_z.is_some() {
                    model_cfg.normalize = autoencoder::NormalizeKind::None;
                }
                model_cfg.variational = variational;
                model_cfg.tied = tied;
                if variational {
                    model_cfg.code_activation = None;
                }
                train_cfg.noise = noise;
                let mut model = Autoencoder::new(model_cfg, s)?;
                fit(&mut model, rows, None, &train_cfg, &threads, &mut NoObserver)?;
                Ok(model)
            };
            let score_of = |model: &Autoencoder, rows: &Dataset| -> autoencoder::Result<Vec<f64>> {
                let score_kind = autoencoder::anomaly::ScoreKind::default_for(model);
                let fs = if score_kind == autoencoder::anomaly::ScoreKind::Standardized {
                    autoencoder::anomaly::feature_scales(model, &train, &threads)?
                } else {
                    Vec::new()
                };
                autoencoder::anomaly::scores(model, rows, score_kind, &fs, &threads)
            };
            let mut scores = vec![0.0f64; test.rows()];
            let mut model = None;
            for k in 0..ensemble {
                let mut m = train_one(k, &train)?;
                if finetune {
                    // Pass 2 continues from pass 1's weights (and normaliser) instead.
                    let tc = serde_json::from_value::<autoencoder::TrainConfig>(
                        m.training.as_ref().unwrap().config.clone(),
                    )
                    .unwrap();
                    let kept = autoencoder::anomaly::lowest_scoring(&m, &train, 0.4, &threads)?;
                    let rows = train.select_rows(&kept);
                    fit(&mut m, &rows, None, &tc, &threads, &mut NoObserver)?;
                }
                if std::env::var_os("AE_BENCH_SPLITS").is_some() {
                    let t = m.training.as_ref().unwrap();
                    eprintln!(
                        "{name} split {seed}: {} epochs, weights {}, loss {:?} val {:?} rows {:?}",
                        t.epochs_run,
                        t.weights_epoch,
                        t.train_loss.last(),
                        t.val_loss.last(),
                        t.rows
                    );
                }
                for _ in 0..extra_passes {
                    // A concentration step: the rows this model reconstructs best, a fresh fit.
                    let t =
                        m.training.as_ref().map(|t| t.config["trim"].as_f64().unwrap_or(0.4)).unwrap_or(0.4);
                    let kept = autoencoder::anomaly::lowest_scoring(&m, &train, t, &threads)?;
                    let rows = train.select_rows(&kept);
                    let (mc, mut tc) = (
                        m.config().clone(),
                        serde_json::from_value::<autoencoder::TrainConfig>(
                            m.training.as_ref().unwrap().config.clone(),
                        )
                        .unwrap(),
                    );
                    tc.trim = 0.0;
                    m = Autoencoder::new(mc, tc.seed)?;
                    fit(&mut m, &rows, None, &tc, &threads, &mut NoObserver)?;
                }
                // Each member's scores in units of its own training scores' spread.
                let ts = score_of(&m, &train)?;
                let n = ts.len() as f64;
                let mu = ts.iter().sum::<f64>() / n;
                let sd = (ts.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n).sqrt().max(1e-12);
                for (o, v) in scores.iter_mut().zip(score_of(&m, &test)?) {
                    *o += (v - mu) / sd;
                }
                model = Some(m);
            }
            let model = model.unwrap();
            if pyod_like > 0 {
                // PyOD's AutoEncoder defaults: hidden 64, 32 (relu, dropout 0.2), 10 epochs,
                // batch 32, Adam 1e-3, MSE, z-scores, no early stopping.
                let (mut m, mut t) = tabular_defaults(data.cols());
                m.layers = vec![64, 32];
                m.activation = autoencoder::Activation::Relu;
                m.code_activation = None;
                t.epochs = 10;
                t.batch_size = 32;
                t.validation_split = 0.0;
                t.early_stopping = None;
                t.trim = 0.0;
                m.score = Some(score_kind.unwrap_or_default());
                t.seed = seed;
                let mut p = Autoencoder::new(m, seed)?;
                fit(&mut p, &train, None, &t, &threads, &mut NoObserver)?;
                let ps =
                    autoencoder::anomaly::scores(&p, &test, score_kind.unwrap_or_default(), &[], &threads)?;
                scores = if pyod_like == 1 { ps } else { rank_mean(&scores, &ps) };
            }
            if let Some(p) = pnorm {
                let y = model.reconstruct_normalized(test.as_slice(), &threads)?;
                let mut x = test.as_slice().to_vec();
                model.normalizer().apply_in_place(&mut x);
                let d = data.cols();
                scores = x
                    .chunks_exact(d)
                    .zip(y.chunks_exact(d))
                    .map(|(a, b)| a.iter().zip(b).map(|(u, v)| f64::from((u - v).abs()).powf(p)).sum::<f64>())
                    .collect();
            }
            if !gauss.is_empty() {
                let feats = |rows: &Dataset| -> autoencoder::Result<(Vec<f64>, usize)> {
                    let err = score_of(&model, rows)?;
                    let (mut v, w): (Vec<f32>, usize) = if gauss.starts_with("input") {
                        let mut a = rows.as_slice().to_vec();
                        model.normalizer().apply_in_place(&mut a);
                        (a, data.cols())
                    } else {
                        (model.encode(rows.as_slice(), &threads)?, model.code_dim())
                    };
                    if gauss.ends_with("err") {
                        let mut out = Vec::with_capacity(v.len() + rows.rows());
                        for (r, e) in v.chunks_exact(w).zip(&err) {
                            out.extend_from_slice(r);
                            out.push((e.max(1e-12)).ln() as f32);
                        }
                        v = out;
                        return Ok((v.iter().map(|&x| x as f64).collect(), w + 1));
                    }
                    Ok((v.iter().map(|&x| x as f64).collect(), w))
                };
                let (a, w) = feats(&train)?;
                let (b, _) = feats(&test)?;
                let g = gauss_scores(&a, &b, w);
                scores = if gauss.contains("mix") { rank_mean(&scores, &g) } else { g };
            }
            if knn > 0 {
                let (a, b, w) = match knn_space.as_str() {
                    "input" | "mix-input" => {
                        let mut a = train.as_slice().to_vec();
                        let mut b = test.as_slice().to_vec();
                        model.normalizer().apply_in_place(&mut a);
                        model.normalizer().apply_in_place(&mut b);
                        (a, b, data.cols())
                    }
                    _ => (
                        model.encode(train.as_slice(), &threads)?,
                        model.encode(test.as_slice(), &threads)?,
                        model.code_dim(),
                    ),
                };
                let k_scores = knn_scores(&a, &b, w, knn);
                scores = if knn_space.starts_with("mix") { rank_mean(&scores, &k_scores) } else { k_scores };
            }
            if let Some(a) = roc_auc(&scores, test.labels.as_deref().unwrap_or_default()) {
                if std::env::var_os("AE_BENCH_SPLITS").is_some() {
                    eprintln!("{name} split {seed}: {a:.4}");
                }
                aucs.push(a);
            }
        }
        let mean = aucs.iter().sum::<f64>() / aucs.len().max(1) as f64;
        let sd = (aucs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / aucs.len().max(1) as f64).sqrt();
        let outliers = labels.iter().filter(|&&l| l == 1).count();
        let peer = PYOD.iter().find(|p| p.0 == name);
        let fmt = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.4}"));
        println!(
            "| {name} | {} × {} | {outliers} | {mean:.4} ± {sd:.4} | {} | {} | {} | {:.1} |",
            data.rows(),
            data.cols(),
            fmt(peer.map(|p| p.1)),
            fmt(peer.map(|p| p.2)),
            fmt(peer.map(|p| p.3)),
            t.elapsed().as_secs_f64()
        );
        if peer.is_some() {
            means.push(mean);
        }
    }
    if !means.is_empty() {
        println!(
            "\nmean over the {} PyOD datasets: ae {:.4} (PyOD: AE 0.7642, VAE 0.7591, IForest 0.7878)",
            means.len(),
            means.iter().sum::<f64>() / means.len() as f64
        );
    }
    Ok(())
}
