//! The classic Keras autoencoder (784→64 relu→784 sigmoid, Adam, binary
//! cross-entropy, batch 128, shuffled, `validation_split=0.1`) on Fashion-MNIST,
//! with the PCA-64 baseline beside it.
//!
//! ```sh
//! cargo run --release -p autoencoder --example keras_classic
//! ```
//! Keras reaches val_loss 0.2749 and PyTorch 0.2747 on this set in 10 epochs
//! (`../shared/bench/peers/RESULTS.md`).

use autoencoder::data::builtin::{Named, Sources, Split};
use autoencoder::data::open::load_named;
use autoencoder::metrics::MetricsAccumulator;
use autoencoder::pca::Pca;
use autoencoder::train::{Control, EpochRecord, Observer};
use autoencoder::{
    fit, Activation, Autoencoder, Loss, ModelConfig, OptimizerConfig, OptimizerKind, Threads, TrainConfig,
};

struct Print;
impl Observer for Print {
    fn on_epoch_end(&mut self, r: &EpochRecord) -> Control {
        println!(
            "Epoch {:>2} - {:.2}s - loss: {:.4} - val_loss: {:.4}",
            r.epoch,
            r.seconds,
            r.train_loss,
            r.val_loss.unwrap_or(f64::NAN)
        );
        Control::Continue
    }
}

fn main() -> autoencoder::Result<()> {
    let sources = Sources::from_env();
    let train = load_named(Named::FashionMnist, Split::Train, &sources, 0)?;
    let test = load_named(Named::FashionMnist, Split::Test, &sources, 0)?;

    // encoding_dim = 32 in the Keras blog; 64 in the benchmark the peers ran.
    let config = ModelConfig {
        input_dim: 784,
        layers: vec![64],
        activation: Activation::Relu,
        output_activation: Activation::Sigmoid,
        ..ModelConfig::default()
    };
    let mut model = Autoencoder::new(config, 0)?;
    let training = TrainConfig {
        loss: Loss::Bce,
        optimizer: OptimizerConfig::new(OptimizerKind::Adam),
        batch_size: 128,
        epochs: 10,
        validation_split: 0.1,
        shuffle: true,
        seed: 0,
        ..TrainConfig::default()
    };
    let threads = Threads::new(1);
    fit(&mut model, &train, None, &training, &threads, &mut Print)?;

    let ae = model.evaluate(&test, &threads)?;
    let pca = Pca::fit_with_threads(train.as_slice(), train.rows(), 784, 64, 1)?;
    let mut rec = vec![0.0; test.as_slice().len()];
    pca.reconstruct(test.as_slice(), test.rows(), &mut rec)?;
    let mut acc = MetricsAccumulator::new(784);
    acc.add(test.as_slice(), &rec)?;
    let pca_m = acc.finish();
    println!("test SSE per image: autoencoder {:.3}, PCA-64 {:.3}", ae.sse_per_row, pca_m.sse_per_row);
    println!("test BCE: autoencoder {:.4}", ae.bce.unwrap_or(f64::NAN));
    Ok(())
}
