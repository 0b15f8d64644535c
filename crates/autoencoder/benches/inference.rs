//! Inference: encode then decode 10,000 rows (the size of Fashion-MNIST's test set)
//! with models A and B, one thread.
//!
//! `cargo bench -p autoencoder --bench inference`

use autoencoder::data::synthetic;
use autoencoder::{Autoencoder, ModelConfig, Threads};
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let data = synthetic::generate(10_000, 1);
    let threads = Threads::new(1);
    let mut g = c.benchmark_group("inference_10k");
    g.sample_size(20);
    for (name, layers) in [("A", vec![64]), ("B", vec![512, 256, 32])] {
        let model =
            Autoencoder::new(ModelConfig { input_dim: 784, layers, ..ModelConfig::default() }, 0).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let z = model.encode(data.as_slice(), &threads).unwrap();
                model.decode(&z, &threads).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
