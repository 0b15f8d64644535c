//! The library's one call and the command agree: `Params { .. }.check(..)?.fit(&data)?`
//! and `ae train` with the same settings, seed and threads write byte-identical model
//! files (a dense model with a threshold on a table, a conv model on images), and the
//! model the library trained compresses and detects through the command.

use std::path::{Path, PathBuf};

use crate::common::{ae, ok};
use autoencoder::data::open;
use autoencoder::model::Arch;
use autoencoder::{file, Params, Threads};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0").join(name)
}

fn load(path: &Path) -> autoencoder::Dataset {
    open::load_paths(&[path.to_path_buf()], &Default::default()).expect("the fixture loads")
}

#[test]
fn a_dense_model_with_a_threshold_is_the_same_file_from_the_library_and_ae_train() {
    let dir = tempfile::tempdir().unwrap();
    let table = fixture("table.csv");
    let data = load(&table);
    // What `ae train table.csv` chooses for a table, then the flags below.
    let mut params = Params::for_data(&data);
    params.model.layers = vec![4, 2];
    params.training.epochs = 3;
    params.training.min_steps = 0; // --epochs is the limit
    params.training.seed = 3;
    let fitted = params
        .check(&data.shape())
        .unwrap()
        .threads(Threads::new(1))
        .threshold("contamination=0.05".parse().unwrap())
        .fit(&data)
        .unwrap();
    let from_library = dir.path().join("library.safetensors");
    file::save(&fitted.model, &from_library).unwrap();

    let from_ae = dir.path().join("ae.safetensors");
    ok(ae()
        .arg("train")
        .arg(&table)
        .args(["--layers", "4,2", "--epochs", "3", "--seed", "3", "--threads", "1"])
        .args(["--threshold", "contamination=0.05", "--no-plots", "-q", "-o"])
        .arg(&from_ae));
    assert!(
        std::fs::read(&from_library).unwrap() == std::fs::read(&from_ae).unwrap(),
        "the library and `ae train` wrote different model files"
    );

    // The library's model detects and compresses through the command.
    let flags = dir.path().join("flags.csv");
    ok(ae().arg("detect").arg(&from_library).arg(&table).arg("-o").arg(&flags));
    let flagged = std::fs::read_to_string(&flags).unwrap().lines().filter(|l| l.ends_with(",1")).count();
    assert!(flagged > 0, "no row flagged");
    let packed = dir.path().join("table.aez");
    ok(ae().arg("compress").arg(&from_library).arg(&table).arg("-o").arg(&packed));
    assert!(std::fs::metadata(&packed).unwrap().len() > 0);
}

#[test]
fn a_conv_model_is_the_same_file_from_the_library_and_ae_train() {
    let dir = tempfile::tempdir().unwrap();
    let images = fixture("images.npy");
    let data = load(&images);
    assert!(data.image_shape.is_some(), "a 3-D array is images");
    let mut params = Params::for_data(&data);
    params.model.arch = Arch::Conv;
    params.model.channels = vec![4, 8];
    params.model.layers = vec![6];
    params.training.epochs = 2;
    params.training.batch_size = 16;
    params.training.seed = 1;
    let fitted = params.check(&data.shape()).unwrap().threads(Threads::new(1)).fit(&data).unwrap();
    let from_library = dir.path().join("library.safetensors");
    file::save(&fitted.model, &from_library).unwrap();

    let from_ae = dir.path().join("ae.safetensors");
    ok(ae()
        .arg("train")
        .arg(&images)
        .args(["--arch", "conv", "--channels", "4,8", "--layers", "6", "--epochs", "2"])
        .args(["--batch-size", "16", "--seed", "1", "--threads", "1", "--no-plots", "-q", "-o"])
        .arg(&from_ae));
    assert!(
        std::fs::read(&from_library).unwrap() == std::fs::read(&from_ae).unwrap(),
        "the library and `ae train` wrote different conv model files"
    );
    let packed = dir.path().join("images.aez");
    ok(ae().arg("compress").arg(&from_library).arg(&images).arg("-o").arg(&packed));
    let back = dir.path().join("back.npy");
    ok(ae().arg("decompress").arg(&from_library).arg(&packed).arg("-o").arg(&back));
    assert!(std::fs::metadata(&back).unwrap().len() > 0);
}

/// A warm start: `ae train --from MODEL` with other training settings writes the model
/// the library's `start_from` trains, bit for bit; a flag for another architecture, or
/// the model file as the output, is refused before any work.
#[test]
fn a_warm_start_is_the_same_file_from_the_library_and_ae_train() {
    let dir = tempfile::tempdir().unwrap();
    let table = fixture("table.csv");
    let first = dir.path().join("first.safetensors");
    ok(ae()
        .arg("train")
        .arg(&table)
        .args(["--layers", "4,2", "--epochs", "2", "--threads", "1", "--no-plots", "-q", "-o"])
        .arg(&first));

    let data = load(&table);
    let model = file::load(&first).unwrap();
    let mut params = Params::for_data(&data);
    params.model = model.config().clone();
    params.training.epochs = 2;
    params.training.min_steps = 0;
    params.training.batch_size = 8;
    params.training.seed = 5;
    let valid = params.check(&data.shape()).unwrap().threads(Threads::new(1));
    let fitted = valid.start_from(model.clone()).unwrap().fit(&data).unwrap();
    assert_ne!(fitted.model.params(), model.params(), "the warm start did not train");
    let from_library = dir.path().join("library.safetensors");
    file::save(&fitted.model, &from_library).unwrap();

    let from_ae = dir.path().join("ae.safetensors");
    ok(ae()
        .arg("train")
        .arg(&table)
        .arg("--from")
        .arg(&first)
        .args([
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--seed",
            "5",
            "--threads",
            "1",
            "--no-plots",
            "-q",
            "-o",
        ])
        .arg(&from_ae));
    assert!(
        std::fs::read(&from_library).unwrap() == std::fs::read(&from_ae).unwrap(),
        "the library and `ae train --from` wrote different model files"
    );

    let other = dir.path().join("other.safetensors");
    crate::common::fails(
        ae().arg("train")
            .arg(&table)
            .arg("--from")
            .arg(&first)
            .args(["--layers", "8", "-q", "-o"])
            .arg(&other),
        &["from", "first.safetensors", "layers: the model's [4,2], asked [8]"],
    );
    crate::common::fails(
        ae().arg("train").arg(&table).arg("--from").arg(&first).args(["-q", "--no-plots", "-o"]).arg(&first),
        &["first.safetensors"],
    );
    let toml = dir.path().join("arch.toml");
    std::fs::write(&toml, "[model]\nlayers = [4, 2]\n[training]\nepochs = 1\n").unwrap();
    crate::common::fails(
        ae().arg("train")
            .arg(&table)
            .arg("--from")
            .arg(&first)
            .arg("--config")
            .arg(&toml)
            .arg("-o")
            .arg(&other),
        &["arch.toml", "[model]", "--from"],
    );
    assert!(!other.exists());
    assert_eq!(file::load(&first).unwrap().params(), model.params(), "the model started from changed");
}
