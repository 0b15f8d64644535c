//! The model file: one safetensors file with the tensors (`encoder.0.weight`, …,
//! row-major f32) and the configuration, normaliser and training summary as JSON
//! strings in the header's `__metadata__`. Written atomically and byte-for-byte
//! deterministic; read back bit-exactly.

use std::collections::BTreeMap;
use std::path::Path;

use crate::atomic::write_atomic;
use crate::data::normalize::Normalizer;
use crate::error::{Error, Result};
use crate::model::{Autoencoder, ModelConfig, TrainingSummary};

/// The value of the `format` metadata key this version writes and reads.
pub const FORMAT: &str = "autoencoder/1";

pub use crate::model::MAX_MODEL_BYTES;

/// Serialise `model` to the bytes of a safetensors file.
///
/// The header is written by hand rather than by the `safetensors` crate because
/// that crate keeps the metadata in a `HashMap`, whose key order changes from one
/// process to the next: two identical models would give different files. Here the
/// keys are sorted, so the same model always gives the same bytes. The `safetensors`
/// crate reads the result (tested).
pub fn to_bytes(model: &Autoencoder) -> Result<Vec<u8>> {
    let mut meta = model_metadata(model)?;
    meta.insert("format".to_string(), FORMAT.to_string());
    let tensors = model_tensors(model);
    encode_with(&meta, &tensors, &model_u32_tensors(model))
}

/// The metadata every file holding a model carries: `config`, `normalizer` and,
/// when present, `training` (the caller adds `format`).
pub(crate) fn model_metadata(model: &Autoencoder) -> Result<BTreeMap<String, String>> {
    let mut meta = BTreeMap::new();
    meta.insert("config".to_string(), json(model.config())?);
    meta.insert("normalizer".to_string(), json(model.normalizer())?);
    if let Some(t) = &model.training {
        meta.insert("training".to_string(), json(t)?);
    }
    if let Some(d) = &model.detector {
        meta.insert("threshold".to_string(), json(d)?);
    }
    if let Some(c) = &model.codec {
        meta.insert("codec".to_string(), json(c)?);
    }
    if !model.categories.is_empty() {
        meta.insert("categorical".to_string(), json(&model.categories)?);
    }
    Ok(meta)
}

/// The name of the U32 tensor holding the codec's histogram (`code_dim × FINE_BINS`).
pub const CODEC_HISTOGRAM: &str = "codec.histogram";

/// The model's U32 tensors: the codec's histogram, when it has a codec.
pub(crate) fn model_u32_tensors(model: &Autoencoder) -> Vec<(String, Vec<usize>, &[u32])> {
    model
        .codec
        .iter()
        .map(|c| {
            (CODEC_HISTOGRAM.to_string(), vec![c.dims(), crate::codec::FINE_BINS], c.histogram.as_slice())
        })
        .collect()
}

/// The model's tensors as (name, shape, values).
pub(crate) fn model_tensors(model: &Autoencoder) -> Vec<(String, Vec<usize>, &[f32])> {
    model
        .tensors()
        .into_iter()
        .map(|t| {
            let len: usize = t.shape.iter().product();
            (t.name, t.shape, &model.params()[t.offset..t.offset + len])
        })
        .collect()
}

/// A safetensors file from metadata, f32 tensors and then U32 tensors (a codec's
/// histogram, a checkpoint's row order), laid out in the given order, with the header's
/// keys sorted so the same content always gives the same bytes.
pub(crate) fn encode_with(
    meta: &BTreeMap<String, String>,
    tensors: &[(String, Vec<usize>, &[f32])],
    u32_tensors: &[(String, Vec<usize>, &[u32])],
) -> Result<Vec<u8>> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".to_string(), serde_json::to_value(meta).map_err(ser_err)?);
    let mut offset = 0usize;
    for (name, shape, values) in tensors {
        let len = values.len() * 4;
        debug_assert_eq!(values.len(), shape.iter().product::<usize>());
        header.insert(
            name.clone(),
            serde_json::json!({ "dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len] }),
        );
        offset += len;
    }
    for (name, shape, values) in u32_tensors {
        let len = values.len() * 4;
        header.insert(
            name.clone(),
            serde_json::json!({ "dtype": "U32", "shape": shape, "data_offsets": [offset, offset + len] }),
        );
        offset += len;
    }
    // serde_json's Map is a BTreeMap (no `preserve_order` feature): sorted keys.
    let mut head = serde_json::to_vec(&serde_json::Value::Object(header)).map_err(ser_err)?;
    while (8 + head.len()) % 8 != 0 {
        head.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + head.len() + offset);
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&head);
    for (_, _, values) in tensors {
        for v in values.iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for (_, _, values) in u32_tensors {
        for v in values.iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}

/// The bytes of the file at `path`, at most `limit` of them: a larger file (`what` names
/// it in the message) is refused from its length before any is read, and one that grows
/// past `limit` while it is read (replaced or appended to) is refused once `limit + 1`
/// bytes arrived, so no more than that is ever held.
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if size > limit {
        return Err(Error::format(
            path,
            format!("{size} bytes is larger than any {what} this version writes ({limit})"),
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::format(
            path,
            format!(
                "it grew past {limit} bytes while it was read, larger than any {what} this version writes"
            ),
        ));
    }
    Ok(bytes)
}

/// The bytes of the model file at `path`, refused past [`MAX_MODEL_BYTES`]
/// ([`read_limited`]); [`from_bytes`] parses them.
pub fn read_model_bytes(path: &Path) -> Result<Vec<u8>> {
    read_limited(path, MAX_MODEL_BYTES, "model")
}

/// The one-dimensional U32 tensor `name` as a vector, or say what is wrong.
pub(crate) fn read_u32(st: &safetensors::SafeTensors<'_>, name: &str, path: &Path) -> Result<Vec<u32>> {
    read_u32_shaped(st, name, None, path)
}

/// The U32 tensor `name` of shape `shape` (any length when `None`: one dimension) as a
/// vector, or say what is wrong.
pub(crate) fn read_u32_shaped(
    st: &safetensors::SafeTensors<'_>,
    name: &str,
    shape: Option<&[usize]>,
    path: &Path,
) -> Result<Vec<u32>> {
    let view = st.tensor(name).map_err(|_| Error::format(path, format!("tensor `{name}` is missing")))?;
    let shape_ok = match shape {
        Some(s) => view.shape() == s,
        None => view.shape().len() == 1,
    };
    if view.dtype() != safetensors::Dtype::U32 || !shape_ok {
        let want = shape.map_or("[n]".to_string(), |s| format!("{s:?}"));
        return Err(Error::format(
            path,
            format!("tensor `{name}` is {:?} {:?}, expected U32 {want}", view.dtype(), view.shape()),
        ));
    }
    Ok(view.data().chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Copy the f32 tensor `name` of shape `shape` into `dst`, or say what is wrong: a NaN
/// or infinite value included (no tensor we write holds one), and with
/// `non_negative = Some(what)` a negative one (`what` says why in the message, e.g. "a
/// running variance"). The values are checked while they are copied, in the same pass.
pub(crate) fn read_tensor_checked(
    st: &safetensors::SafeTensors<'_>,
    name: &str,
    shape: &[usize],
    dst: &mut [f32],
    path: &Path,
    non_negative: Option<&str>,
) -> Result<()> {
    let view = st.tensor(name).map_err(|_| Error::format(path, format!("tensor `{name}` is missing")))?;
    if view.dtype() != safetensors::Dtype::F32 || view.shape() != shape {
        return Err(Error::format(
            path,
            format!("tensor `{name}` is {:?} {:?}, expected F32 {:?}", view.dtype(), view.shape(), shape),
        ));
    }
    // `v >= -inf` holds for every number, so without the sign rule only NaN and ±inf fail.
    let min = if non_negative.is_some() { 0.0 } else { f32::NEG_INFINITY };
    let mut ok = true;
    for (d, chunk) in dst.iter_mut().zip(view.data().chunks_exact(4)) {
        let v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        ok &= v.is_finite() & (v >= min);
        *d = v;
    }
    if ok {
        return Ok(());
    }
    check_values(dst, name, non_negative, path)
}

/// Refuse the first NaN or infinite value of the tensor `name` (and, with
/// `non_negative = Some(what)`, the first negative one), naming its index.
fn check_values(values: &[f32], name: &str, non_negative: Option<&str>, path: &Path) -> Result<()> {
    let min = if non_negative.is_some() { 0.0 } else { f32::NEG_INFINITY };
    match values.iter().position(|&v| !(v.is_finite() && v >= min)) {
        None => Ok(()),
        Some(i) if !values[i].is_finite() => {
            Err(Error::format(path, format!("tensor `{name}` holds {} at index {i}", values[i])))
        }
        Some(i) => Err(Error::format(
            path,
            format!(
                "tensor `{name}` holds {} at index {i}; {} is never negative",
                values[i],
                non_negative.unwrap_or("this value")
            ),
        )),
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(ser_err)
}

fn ser_err(e: serde_json::Error) -> Error {
    Error::Data(format!("could not serialise the model: {e}"))
}

/// Write `model` to `path` atomically (temporary file, fsync, rename).
pub fn save(model: &Autoencoder, path: &Path) -> Result<()> {
    write_atomic(path, &to_bytes(model)?)
}

/// Read a model written by [`save`].
pub fn load(path: &Path) -> Result<Autoencoder> {
    from_bytes(&read_model_bytes(path)?, path)
}

/// Parse the bytes of a model file; `path` is only used in messages.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Autoencoder> {
    Ok(decode_model(bytes, path, FORMAT)?.0)
}

/// The metadata of a safetensors file as a map.
pub(crate) type Metadata = std::collections::HashMap<String, String>;

/// Parse a file holding a model (a model file, or a checkpoint when `format` says
/// so): check `format`, build the model from `config`, `normalizer`, `training`, and
/// read its tensors. Returns the rest of the metadata and the tensors for the caller.
pub(crate) fn decode_model<'a>(
    bytes: &'a [u8],
    path: &Path,
    format: &str,
) -> Result<(Autoencoder, Metadata, safetensors::SafeTensors<'a>)> {
    let what = if format == FORMAT { "an autoencoder model file" } else { "an autoencoder checkpoint" };
    let writer = if format == FORMAT {
        "a .safetensors file written by `ae train`"
    } else {
        "a checkpoint written during training (checkpoint_every = N)"
    };
    let not_ours = |why: String| Error::format(path, format!("not {what}: {why} (expected {writer})"));
    let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| not_ours(format!("not a valid safetensors file ({e})")))?;
    let meta = metadata.metadata().clone().unwrap_or_default();
    let found = meta.get("format").ok_or_else(|| not_ours("its metadata has no `format` key".into()))?;
    if found != format {
        return Err(Error::format(
            path,
            format!("format {found:?} is not {what} this version reads ({format:?})"),
        ));
    }
    let field =
        |k: &str| meta.get(k).ok_or_else(|| Error::format(path, format!("the metadata has no `{k}` entry")));
    let config: ModelConfig = serde_json::from_str(field("config")?).map_err(|e| {
        Error::format(path, format!("the `config` metadata is not a valid model configuration: {e}"))
    })?;
    let normalizer: Normalizer = serde_json::from_str(field("normalizer")?)
        .map_err(|e| Error::format(path, format!("the `normalizer` metadata is invalid: {e}")))?;
    normalizer
        .check()
        .map_err(|e| Error::format(path, format!("the `normalizer` metadata is invalid: {e}")))?;
    let training: Option<TrainingSummary> = match meta.get("training") {
        Some(t) => Some(
            serde_json::from_str(t)
                .map_err(|e| Error::format(path, format!("the `training` metadata is invalid: {e}")))?,
        ),
        None => None,
    };
    let invalid = |e: Error| Error::format(path, format!("its configuration is invalid: {e}"));
    config.check().map_err(invalid)?;
    // Refuse before building: the model allocates every parameter the configuration
    // implies, and a hostile header can claim far more than the file holds.
    let params = config.param_count();
    if !matches!(params.and_then(|p| p.checked_mul(4)), Some(b) if b <= bytes.len()) {
        return Err(Error::format(
            path,
            format!(
                "its configuration ({}) implies more parameters than the file's {} bytes hold",
                config.describe(),
                bytes.len()
            ),
        ));
    }
    let mut model = Autoencoder::build(config).map_err(invalid)?;
    model.set_normalizer(normalizer).map_err(|e| Error::format(path, e.to_string()))?;
    model.training = training;
    if let Some(t) = meta.get("threshold") {
        let bad = |e: String| Error::format(path, format!("the `threshold` metadata is invalid: {e}"));
        let detector: crate::model::detector::Detector =
            serde_json::from_str(t).map_err(|e| bad(e.to_string()))?;
        detector.check(&model).map_err(|e| bad(e.to_string()))?;
        model.detector = Some(detector);
    }
    if let Some(c) = meta.get("categorical") {
        let bad = |e: String| Error::format(path, format!("the `categorical` metadata is invalid: {e}"));
        let categories: Vec<crate::data::columns::Categorical> =
            serde_json::from_str(c).map_err(|e| bad(e.to_string()))?;
        let features: usize = categories.iter().map(|c| c.values.len()).sum();
        if features > model.input_dim() {
            return Err(bad(format!(
                "its columns make {features} features, more than the model's {}",
                model.input_dim()
            )));
        }
        model.categories = categories;
    }

    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| not_ours(format!("{e}")))?;
    for t in model.tensors() {
        let len = t.shape.iter().product::<usize>();
        let dst = &mut model.params_mut()[t.offset..t.offset + len];
        read_tensor_checked(&st, &t.name, &t.shape, dst, path, variance_rule(&t.name))?;
    }
    if let Some(c) = meta.get("codec") {
        let mut codec: crate::codec::Codec = serde_json::from_str(c)
            .map_err(|e| Error::format(path, format!("the `codec` metadata is invalid: {e}")))?;
        let shape = [model.code_dim(), crate::codec::FINE_BINS];
        codec.histogram = read_u32_shaped(&st, CODEC_HISTOGRAM, Some(&shape), path)?;
        codec.check(model.code_dim()).map_err(|e| Error::format(path, e.to_string()))?;
        model.codec = Some(codec);
    }
    Ok((model, meta, st))
}

/// The sign rule of a model tensor: batch norm's running variances are never negative.
pub(crate) fn variance_rule(name: &str) -> Option<&'static str> {
    name.ends_with(".running_var").then_some("a running variance")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ImageShape;

    fn model() -> Autoencoder {
        let cfg = ModelConfig { input_dim: 12, layers: vec![5, 3], ..ModelConfig::default() };
        Autoencoder::new(cfg, 3).unwrap()
    }

    /// A file past the limit is refused from its length; one whose length says nothing
    /// (a device, a pipe, a file growing) is read no further than the limit.
    #[test]
    fn a_file_is_read_no_further_than_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        std::fs::write(&p, [7u8; 100]).unwrap();
        assert_eq!(read_limited(&p, 100, "model").unwrap(), [7u8; 100]);
        let e = read_limited(&p, 99, "model").unwrap_err().to_string();
        assert!(e.contains("100 bytes is larger than any model this version writes (99)"), "{e}");
        let zero = Path::new("/dev/zero");
        if zero.exists() {
            let e = read_limited(zero, 1000, "model").unwrap_err().to_string();
            assert!(e.contains("/dev/zero") && e.contains("grew past 1000 bytes while it was read"), "{e}");
        }
    }

    #[test]
    fn round_trips_bit_exactly_and_deterministically() {
        let m = model();
        let a = to_bytes(&m).unwrap();
        let b = to_bytes(&m).unwrap();
        assert_eq!(a, b);
        let back = from_bytes(&a, Path::new("m.safetensors")).unwrap();
        assert_eq!(back.params(), m.params());
        assert_eq!(back.config(), m.config());
        assert_eq!(to_bytes(&back).unwrap(), a);
    }

    #[test]
    fn the_safetensors_crate_reads_our_files() {
        let m = model();
        let bytes = to_bytes(&m).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let names: Vec<String> = st.names().into_iter().map(|s| s.to_string()).collect();
        for want in ["encoder.0.weight", "encoder.1.bias", "decoder.0.weight", "decoder.1.bias"] {
            assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
        }
        assert_eq!(st.tensor("encoder.0.weight").unwrap().shape(), &[5, 12]);
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(meta.metadata().as_ref().unwrap()["format"], FORMAT);
    }

    #[test]
    fn foreign_files_are_refused_clearly() {
        let e = from_bytes(b"hello world, not a model", Path::new("x.bin")).unwrap_err().to_string();
        assert!(e.starts_with("x.bin: not an autoencoder model file"), "{e}");
        // A valid safetensors file without our metadata.
        let data = [0u8; 8];
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &data).unwrap();
        let bytes = safetensors::serialize([("w", view)], None).unwrap();
        let e = from_bytes(&bytes, Path::new("other.safetensors")).unwrap_err().to_string();
        assert!(e.contains("no `format` key"), "{e}");
    }

    /// A NaN or infinite weight is refused naming the file, the tensor and the index
    /// (an edited file used to load and give NaN reconstructions).
    #[test]
    fn non_finite_values_are_refused_naming_tensor_and_index() {
        for (bad, shown) in [(f32::NAN, "NaN"), (f32::INFINITY, "inf"), (f32::NEG_INFINITY, "-inf")] {
            let mut m = model();
            let t = m.tensors().into_iter().find(|t| t.name == "encoder.0.weight").unwrap();
            m.params_mut()[t.offset + 17] = bad;
            let e = from_bytes(&to_bytes(&m).unwrap(), Path::new("w.safetensors")).unwrap_err().to_string();
            assert_eq!(e, format!("w.safetensors: tensor `encoder.0.weight` holds {shown} at index 17"));
        }
    }

    /// Batch norm's running variances may not be negative.
    #[test]
    fn negative_running_variances_are_refused() {
        let cfg = ModelConfig {
            input_dim: 64,
            layers: vec![4],
            image_shape: Some(ImageShape { channels: 1, height: 8, width: 8 }),
            arch: crate::model::Arch::Conv,
            channels: vec![2, 2],
            batch_norm: true,
            ..ModelConfig::default()
        };
        let mut m = Autoencoder::new(cfg, 1).unwrap();
        assert!(from_bytes(&to_bytes(&m).unwrap(), Path::new("bn.safetensors")).is_ok());
        let t = m.tensors().into_iter().find(|t| t.name.ends_with(".running_var")).unwrap();
        m.params_mut()[t.offset + 1] = -0.5;
        let e = from_bytes(&to_bytes(&m).unwrap(), Path::new("bn.safetensors")).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "bn.safetensors: tensor `{}` holds -0.5 at index 1; a running variance is never negative",
                t.name
            )
        );
    }

    /// A stored normaliser with a scale of 0 (min-max) or below 0 (z-score), and a stored
    /// threshold below 0, are refused naming the file and what is wrong.
    #[test]
    fn impossible_normalisers_and_thresholds_are_refused() {
        use crate::anomaly::{Detector, ScoreKind, ThresholdRule};
        use crate::data::normalize::NormalizeKind;
        for (kind, scale) in [(NormalizeKind::MinMax, 0.0), (NormalizeKind::ZScore, -1.0)] {
            let mut m = model();
            let mut s = vec![1.0; 12];
            s[3] = scale;
            m.set_normalizer(Normalizer { kind, offset: vec![0.0; 12], scale: s, fill: vec![] }).unwrap();
            let e = from_bytes(&to_bytes(&m).unwrap(), Path::new("n.safetensors")).unwrap_err().to_string();
            assert!(
                e.starts_with("n.safetensors: the `normalizer` metadata is invalid")
                    && e.contains("feature index 3"),
                "{e}"
            );
        }
        let mut m = model();
        let detector = |threshold| Detector {
            score: ScoreKind::Mse,
            feature_scale: Vec::new(),
            rule: ThresholdRule::Contamination(0.05),
            threshold,
            training_scores: None,
        };
        m.detector = Some(detector(0.25));
        assert!(from_bytes(&to_bytes(&m).unwrap(), Path::new("t.safetensors")).is_ok());
        m.detector = Some(detector(-1.0));
        let e = from_bytes(&to_bytes(&m).unwrap(), Path::new("t.safetensors")).unwrap_err().to_string();
        assert!(
            e.starts_with("t.safetensors: the `threshold` metadata is invalid") && e.contains("-1"),
            "{e}"
        );
    }

    /// A header whose configuration implies terabytes of parameters (or overflows) is
    /// refused before the model is built (found by the malformed-file corpus: it aborted
    /// on allocation failure, or panicked on overflow).
    #[test]
    fn configurations_larger_than_the_file_are_refused_before_allocating() {
        for (input_dim, width, image) in [
            (1usize << 20, 1usize << 20, None),
            (1 << 62, 1, None),
            (usize::MAX, 1, None),
            (12, 3, Some(ImageShape { channels: 1 << 40, height: 1 << 40, width: 1 })),
        ] {
            let cfg =
                ModelConfig { input_dim, layers: vec![width], image_shape: image, ..ModelConfig::default() };
            let mut meta = BTreeMap::new();
            meta.insert("format".to_string(), FORMAT.to_string());
            meta.insert("config".to_string(), serde_json::to_string(&cfg).unwrap());
            meta.insert("normalizer".to_string(), json(&Normalizer::none()).unwrap());
            let bytes = encode_with(&meta, &[], &[]).unwrap();
            let e = from_bytes(&bytes, Path::new("big.safetensors")).unwrap_err().to_string();
            assert!(e.starts_with("big.safetensors: "), "{e}");
        }
    }
}
