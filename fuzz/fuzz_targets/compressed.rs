#![no_main]
//! Compressed files (`ae compress`) through `compressed::decompress` with a fixed small
//! model. Each input is tried as it is (magic, version, checksum and model checks) and
//! again with its model id and CRC-32 patched to be right, so that the fuzzer reaches the
//! row count and the range decoder behind them.

use std::path::Path;
use std::sync::OnceLock;

use autoencoder::codec::Codec;
use autoencoder::{compressed, Autoencoder, ModelConfig, Threads};
use libfuzzer_sys::fuzz_target;

fn model() -> &'static (Autoencoder, [u8; 8]) {
    static M: OnceLock<(Autoencoder, [u8; 8])> = OnceLock::new();
    M.get_or_init(|| {
        let cfg = ModelConfig { input_dim: 12, layers: vec![6, 3], ..ModelConfig::default() };
        let mut m = Autoencoder::new(cfg, 0).expect("a valid model");
        let x: Vec<f32> = (0..12 * 200).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let z = m.encode(&x, &Threads::new(1)).expect("encode");
        m.codec = Some(Codec::fit(&z, 3).expect("codec"));
        let id = compressed::model_id(&m).expect("id");
        (m, id)
    })
}

fuzz_target!(|data: &[u8]| {
    let (m, id) = model();
    let t = Threads::new(1);
    let p = Path::new("fuzz.aez");
    let _ = compressed::decompress(m, data, p, &t);
    if data.len() >= 18 {
        let mut fixed = data.to_vec();
        fixed[..3].copy_from_slice(compressed::MAGIC);
        fixed[3] = compressed::VERSION;
        fixed[4..12].copy_from_slice(id);
        let n = fixed.len();
        let crc = crc32fast::hash(&fixed[..n - 4]);
        fixed[n - 4..].copy_from_slice(&crc.to_le_bytes());
        let _ = compressed::decompress(m, &fixed, p, &t);
    }
});
