//! `ae demo`: train on the built-in synthetic shapes in seconds on one core and write
//! a model, its loss curve and a reconstruction grid into `./ae-demo/`.

use std::path::PathBuf;

use autoencoder::data::builtin::{Named, Sources, Split};
use autoencoder::data::open::load_named;
use autoencoder::{file, Loss, ModelConfig, Params, Result, Threads, TrainConfig};
use clap::Args;

use crate::pictures::{write_comparison, write_loss_curve};
use crate::training::train;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// The folder to write into.
    #[arg(long, default_value = "ae-demo", value_name = "DIR")]
    pub dir: PathBuf,
    /// Threads (the demo is sized for one).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,
}

pub fn run(a: DemoArgs) -> Result<()> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&a.dir).map_err(|e| autoencoder::Error::io(&a.dir, e))?;
    let model_path = a.dir.join("model.safetensors");
    let loss_path = a.dir.join("loss.png");
    let grid_path = a.dir.join("reconstructions.png");
    let _held = autoencoder::run_files::RunFiles::new()
        .output("the model", &model_path)
        .output("the loss curve", &loss_path)
        .output("the reconstructions", &grid_path)
        .check()?;
    let sources = Sources::new(std::env::temp_dir());
    let train_rows = load_named(Named::Synthetic, Split::Train, &sources, 0)?;
    let test_rows = load_named(Named::Synthetic, Split::Test, &sources, 0)?;
    eprintln!(
        "ae demo: a 784-256-32-256-784 autoencoder on {} synthetic 28×28 shapes (squares, ellipses, triangles, hearts)",
        train_rows.rows()
    );
    let params = Params {
        model: ModelConfig { layers: vec![256, 32], ..ModelConfig::default() },
        training: TrainConfig {
            loss: Loss::Bce,
            epochs: 20,
            validation_split: 0.1,
            ..TrainConfig::default()
        },
    };
    let threads = Threads::new(a.threads);
    let valid = params.check(&train_rows.shape())?.threads(threads.clone());
    // Trained and finished as `ae train` does: the model compresses (`ae compress`).
    let outcome = train(&train_rows, None, &valid, false, None)?.fitted;
    file::save(&outcome.model, &model_path)?;
    write_loss_curve(&loss_path, &outcome.model, &outcome.history, None)?;
    let shape = train_rows.image_shape.expect("synthetic rows are images");
    write_comparison(&grid_path, &outcome.model, &test_rows, shape, 16, None, &threads)?;
    let ae = outcome.model.evaluate(&test_rows, &threads)?;
    let pca = autoencoder::baseline::pca_fitted(&outcome.model, &train_rows, &test_rows, &threads)?;
    println!();
    println!("Test set ({} new shapes), squared error per image (lower is better):", test_rows.rows());
    println!("  autoencoder (code of 32)  {:.3}   PSNR {:.1} dB", ae.sse_per_row, ae.psnr);
    println!("  PCA-32 (linear baseline)  {:.3}   PSNR {:.1} dB", pca.metrics.sse_per_row, pca.metrics.psnr);
    println!();
    println!("Made in {:.0}s, in {}/:", started.elapsed().as_secs_f64(), a.dir.display());
    println!(
        "  {:<40} the trained model (safetensors; try `ae inspect {}`)",
        model_path.display(),
        model_path.display()
    );
    println!("  {:<40} training and validation loss per epoch", loss_path.display());
    println!("  {:<40} test images (top) above their reconstructions (bottom)", grid_path.display());
    println!();
    println!("Open the two PNGs to see it. Next: `ae train --dataset fashion-mnist --layers 64 --loss bce --validation-split 0.1 -o m.safetensors`");
    Ok(())
}
