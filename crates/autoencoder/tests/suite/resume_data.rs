//! Resuming checks the data: a checkpoint records a fingerprint of the rows it was
//! trained on (row counts, width, SHA-256 of the rows) and a resumed run refuses other
//! data, naming the checkpoint and what differs; the same data resumes bit for bit.

use std::path::{Path, PathBuf};

use autoencoder::train::{fit_with, load_checkpoint, Checkpoint, DataFingerprint, FitOptions};
use autoencoder::{file, fit, Autoencoder, Dataset, ModelConfig, NoObserver, Threads, TrainConfig};

/// `rows × 6` values in [0, 1], different for each `salt`.
fn table(rows: usize, salt: u32) -> Dataset {
    let v = (0..rows * 6).map(|i| ((i as u32 * 7919 + salt * 104_729) % 1000) as f32 / 1000.0).collect();
    Dataset::new(v, rows, 6, format!("table {salt}")).unwrap()
}

fn config() -> TrainConfig {
    TrainConfig { epochs: 4, batch_size: 16, seed: 3, ..TrainConfig::default() }
}

fn model() -> Autoencoder {
    Autoencoder::new(ModelConfig { input_dim: 6, layers: vec![3], ..ModelConfig::default() }, 3).unwrap()
}

/// Train two of the four epochs on `data` (and `validation`), checkpointing after each.
fn checkpoint_on(dir: &Path, data: &Dataset, validation: Option<&Dataset>) -> PathBuf {
    let ckpt = dir.join("a.ckpt");
    let mut m = model();
    let cfg = TrainConfig { epochs: 2, ..config() };
    let options = FitOptions {
        checkpoint: Some(ckpt.clone()),
        checkpoint_every: 1,
        resume: None,
        ..FitOptions::default()
    };
    fit_with(&mut m, data, validation, &cfg, &Threads::new(1), &mut NoObserver, options).unwrap();
    ckpt
}

fn resume(ck: Checkpoint, data: &Dataset, validation: Option<&Dataset>) -> autoencoder::Result<Autoencoder> {
    let mut m = ck.model;
    let options = FitOptions {
        checkpoint: None,
        checkpoint_every: 0,
        resume: Some(ck.resume),
        ..FitOptions::default()
    };
    fit_with(&mut m, data, validation, &config(), &Threads::new(1), &mut NoObserver, options)?;
    Ok(m)
}

/// Data B of the same shape as A is refused (naming the checkpoint, saying the values
/// differ); so are other row counts and widths; A itself resumes to the uninterrupted
/// run's bytes.
#[test]
fn a_checkpoint_refuses_other_data_of_the_same_shape_and_accepts_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (table(100, 1), table(100, 2));
    let ckpt = checkpoint_on(dir.path(), &a, None);
    let fp = load_checkpoint(&ckpt).unwrap().resume.state.fingerprint.expect("a fingerprint is recorded");
    assert_eq!((fp.train.rows, fp.train.width, fp.validation), (100, 6, None));

    let e = resume(load_checkpoint(&ckpt).unwrap(), &b, None).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: ", ckpt.display())), "{e}");
    assert!(e.contains("other data") && e.contains("other values") && !e.contains('\n'), "{e}");

    let e = resume(load_checkpoint(&ckpt).unwrap(), &table(90, 1), None).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: ", ckpt.display())) && e.contains("100 rows"), "{e}");
    let wide = Dataset::new(vec![0.5; 100 * 7], 100, 7, "wide").unwrap();
    let e = resume(load_checkpoint(&ckpt).unwrap(), &wide, None).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: ", ckpt.display())) && e.contains("values per row"), "{e}");

    let resumed = resume(load_checkpoint(&ckpt).unwrap(), &a, None).unwrap();
    let mut whole = model();
    fit(&mut whole, &a, None, &config(), &Threads::new(1), &mut NoObserver).unwrap();
    assert_eq!(file::to_bytes(&resumed).unwrap(), file::to_bytes(&whole).unwrap());
}

/// A separate validation set is part of the fingerprint: another one (or none) is refused.
#[test]
fn the_validation_set_is_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    let (a, va, vb) = (table(100, 1), table(30, 3), table(30, 4));
    let ckpt = checkpoint_on(dir.path(), &a, Some(&va));
    let e = resume(load_checkpoint(&ckpt).unwrap(), &a, Some(&vb)).unwrap_err().to_string();
    assert!(e.contains("validation data") && e.contains("other values"), "{e}");
    let e = resume(load_checkpoint(&ckpt).unwrap(), &a, None).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: ", ckpt.display())), "{e}");
    resume(load_checkpoint(&ckpt).unwrap(), &a, Some(&va)).unwrap();
}

/// Checkpoints written before fingerprints existed carry none and resume unchecked
/// (beyond the row counts), as documented.
#[test]
fn checkpoints_without_a_fingerprint_resume_unchecked() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = checkpoint_on(dir.path(), &table(100, 1), None);
    let mut ck = load_checkpoint(&ckpt).unwrap();
    ck.resume.state.fingerprint = None;
    resume(ck, &table(100, 2), None).unwrap();
}

/// Large data is fingerprinted from a sample that includes the first and the last row;
/// small data from every row.
#[test]
fn fingerprints_see_the_first_last_and_every_small_row() {
    let (rows, wide) = (1200, 4096); // 16 KiB a row: past the whole-hash limit and the sample
    let base: Vec<f32> = (0..rows * wide).map(|i| (i % 251) as f32).collect();
    let mut data = Dataset::new(base, rows, wide, "x").unwrap();
    let original = DataFingerprint::of(&data, None);
    for row in [0, rows - 1] {
        data.as_mut_slice()[row * wide + 5] += 1.0;
        assert_ne!(DataFingerprint::of(&data, None), original, "row {row}");
        data.as_mut_slice()[row * wide + 5] -= 1.0;
    }
    assert_eq!(DataFingerprint::of(&data, None), original);
    let small = table(50, 1);
    let mut changed = small.as_slice().to_vec();
    changed[27 * 6 + 2] += 0.25;
    let changed = Dataset::new(changed, 50, 6, "x").unwrap();
    assert_ne!(DataFingerprint::of(&small, None), DataFingerprint::of(&changed, None));
    assert_eq!(DataFingerprint::of(&small, None), DataFingerprint::of(&table(50, 1), None));
}
