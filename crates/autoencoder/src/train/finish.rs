//! Completing a trained model: after [`fit`](super::fit), the code statistics that
//! compression and sampling need, and the anomaly detector when a threshold rule is
//! given — what `ae train` writes into every model file, so that a model trained from
//! the library compresses and detects as well.

use std::ops::Range;

use crate::codec::Codec;
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::kernels::Threads;
use crate::model::detector::{Detector, ScoreKind, ThresholdRule};
use crate::model::Autoencoder;
use crate::select::{self, Parts, Rank};

/// Complete `model`, just trained on `data` by [`fit`](super::fit) or
/// [`fit_with`](super::fit_with):
///
/// * the codec ([`Autoencoder::codec`]) from the codes of the training rows: the first
///   `training.rows.0` rows of `data` (those before a validation split; all of them for a
///   model without a training summary). A code wider than [`crate::codec::MAX_DIMS`] gets
///   none ([`Codec::supports`]); `model.codec` then stays `None` and
///   [`Codec::unsupported_reason`] says why.
/// * with `threshold`, the detector ([`Autoencoder::detector`]): the model's score
///   ([`ScoreKind::default_for`]) fitted on every row of `data`, thresholded by the rule.
///
/// Deterministic: the same model, data and threads give the same bits.
pub fn finish(
    model: &mut Autoencoder,
    data: &Dataset,
    threshold: Option<ThresholdRule>,
    threads: &Threads,
) -> Result<()> {
    if Codec::supports(model.code_dim()) {
        let train_rows = model.training.as_ref().map_or(data.rows(), |t| t.rows.0).min(data.rows());
        fit_codec_on(model, data, 0..train_rows, threads)?;
    }
    if let Some(rule) = threshold {
        let kind = ScoreKind::default_for(model);
        model.detector = Some(Detector::fit(model, data, kind, rule, threads)?);
    }
    Ok(())
}

/// Fit `model`'s codec on the codes of `rows` (row-major, the model's input width),
/// replacing any it had. Errors when the code is too wide for a codec
/// ([`Codec::unsupported_reason`]) or there are no rows.
pub fn fit_codec(model: &mut Autoencoder, rows: &[f32], threads: &Threads) -> Result<()> {
    let k = codec_width(model)?;
    let codes = model.encode(rows, threads)?;
    model.codec = Some(Codec::fit(&codes, k)?);
    Ok(())
}

/// [`fit_codec`] on rows `rows` of `data`, encoded a slice of rows at a time (their
/// values decoded a slice at a time when `data` holds bytes): the same codes, with the
/// same bits, as encoding them at once (a row's code does not depend on the other rows
/// of its batch).
fn fit_codec_on(
    model: &mut Autoencoder,
    data: &Dataset,
    rows: Range<usize>,
    threads: &Threads,
) -> Result<()> {
    let k = codec_width(model)?;
    let mut codes = Vec::with_capacity(rows.len() * k);
    for slice in data.slices(rows, CODEC_SLICE_ROWS) {
        codes.extend(model.encode(&slice, threads)?);
    }
    model.codec = Some(Codec::fit(&codes, k)?);
    Ok(())
}

/// The width of `model`'s code, or why it cannot have a codec.
fn codec_width(model: &Autoencoder) -> Result<usize> {
    let k = model.code_dim();
    if !Codec::supports(k) {
        return Err(Error::Data(format!("the model cannot compress: {}", Codec::unsupported_reason(k))));
    }
    Ok(k)
}

/// Rows encoded at once by [`fit_codec_on`].
const CODEC_SLICE_ROWS: usize = 8 * crate::model::INFERENCE_BATCH;

/// [`Codec::fit`] on the codes of `rows` rows (`k` values each, finite) that `pass`
/// visits a slice of whole rows at a time, the same each time it is called (three
/// passes, or more when many codes are equal); with `parts`, this process's rows, the
/// parts in rank order making them all. Each dimension's ends are selected
/// ([`select::select_in_parts`]) and the histograms added ([`Parts::sum_counts`]): the
/// bits of `Codec::fit` on every code, while memory holds a slice of them.
pub(crate) fn codec_in_parts(
    k: usize,
    rows: u64,
    mut pass: impl FnMut(&mut dyn FnMut(&[f32]) -> Result<()>) -> Result<()>,
    parts: &mut dyn Parts,
) -> Result<Codec> {
    if rows == 0 {
        return Err(Error::Data("codec: no training rows to fit it on".into()));
    }
    let (lo, hi) = Codec::end_ranks(usize::try_from(rows).unwrap_or(usize::MAX));
    let wanted: Vec<Rank> = (0..k)
        .flat_map(|j| [Rank { channel: j, rank: lo as u64 }, Rank { channel: j, rank: hi as u64 }])
        .collect();
    let visit = |f: &mut dyn FnMut(usize, f64)| {
        pass(&mut |codes| {
            for row in codes.chunks_exact(k) {
                row.iter().enumerate().for_each(|(j, &z)| f(j, f64::from(z)));
            }
            Ok(())
        })
    };
    let ends = select::select_in_parts(&wanted, visit, parts)?;
    let ends: Vec<(f32, f32)> =
        ends.chunks_exact(2).map(|e| (e[0].value as f32, e[1].value as f32)).collect();
    let mut codec = Codec::with_ends(&ends);
    pass(&mut |codes| {
        codec.count(codes);
        Ok(())
    })?;
    // One process's counts saturate at u32::MAX; added, they saturate alike.
    let mut counts: Vec<u64> = codec.histogram.iter().map(|&c| u64::from(c)).collect();
    parts.sum_counts(&mut counts)?;
    codec.histogram = counts.into_iter().map(|c| c.min(u64::from(u32::MAX)) as u32).collect();
    Ok(codec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{fit, NoObserver, TrainConfig};
    use crate::ModelConfig;

    fn trained(rows: usize, layers: Vec<usize>) -> (Autoencoder, Dataset, Threads) {
        let data = crate::data::synthetic::generate(rows, 0);
        let config = ModelConfig { input_dim: data.cols(), layers, ..ModelConfig::default() };
        let mut model = Autoencoder::new(config, 0).unwrap();
        let training = TrainConfig { epochs: 1, validation_split: 0.25, ..TrainConfig::default() };
        let threads = Threads::new(1);
        fit(&mut model, &data, None, &training, &threads, &mut NoObserver).unwrap();
        (model, data, threads)
    }

    #[test]
    fn finish_fits_the_codec_on_the_training_rows_and_the_detector_on_all() {
        let (mut model, data, threads) = trained(64, vec![8]);
        assert_eq!(model.training.as_ref().unwrap().rows, (48, 16));
        finish(&mut model, &data, Some(ThresholdRule::Contamination(0.1)), &threads).unwrap();
        let codes = model.encode(data.rows_in(0..48), &threads).unwrap();
        assert_eq!(model.codec, Some(Codec::fit(&codes, 8).unwrap()));
        let kind = ScoreKind::default_for(&model);
        let d = Detector::fit(&model, &data, kind, ThresholdRule::Contamination(0.1), &threads).unwrap();
        assert_eq!(model.detector, Some(d));
    }

    /// Rows held as bytes ([`Dataset::from_bytes`]) are trained on, and the codec and
    /// the detector fitted on them, without their values being decoded; and the model is
    /// the one the same rows held as f32 give, bit for bit (at two threads, the row
    /// split; the codec's codes encoded in two slices). Their data fingerprint is the
    /// values' too.
    #[test]
    fn rows_held_as_bytes_finish_the_model_of_their_values_without_decoding_them() {
        // 1.28 million values: enough for training to gather from the bytes; 9,000 training
        // rows, the codec's codes encoded in two slices (8,192 and 808 rows).
        let (rows, cols) = (10_000, 128);
        let (bytes, values) = Dataset::bytes_and_values(rows, cols);
        let threads = Threads::new(2);
        let finished = |data: &Dataset| {
            let config = ModelConfig { input_dim: cols, layers: vec![16], ..ModelConfig::default() };
            let mut model = Autoencoder::new(config, 3).unwrap();
            let training = TrainConfig { epochs: 1, validation_split: 0.1, ..TrainConfig::default() };
            fit(&mut model, data, None, &training, &threads, &mut NoObserver).unwrap();
            finish(&mut model, data, Some(ThresholdRule::Contamination(0.05)), &threads).unwrap();
            model
        };
        let (a, b) = (finished(&bytes), finished(&values));
        assert!(!bytes.values_decoded(), "training and finishing decoded the bytes");
        assert!(a.codec.is_some() && a.detector.is_some());
        let bits = |m: &Autoencoder| m.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
        assert_eq!((&a.codec, &a.detector), (&b.codec, &b.detector));
        // The codec of the codes in slices is the codec of the codes encoded at once.
        assert_eq!(a.training.as_ref().unwrap().rows, (9000, 1000));
        let mut whole = b.clone();
        fit_codec(&mut whole, values.rows_in(0..9000), &threads).unwrap();
        assert_eq!(whole.codec, a.codec);
        let print = |d: &Dataset| crate::train::checkpoint::DataFingerprint::of(d, None);
        assert_eq!(print(&bytes), print(&values));
        assert!(!bytes.values_decoded(), "the fingerprint decoded the bytes");
    }

    #[test]
    fn no_threshold_no_detector_and_a_wide_code_no_codec() {
        // Untrained (no training summary): every row would be a training row.
        let data = crate::data::synthetic::generate(8, 0);
        let layers = vec![crate::codec::MAX_DIMS + 1];
        let config = ModelConfig { input_dim: data.cols(), layers, ..ModelConfig::default() };
        let (mut model, threads) = (Autoencoder::new(config, 0).unwrap(), Threads::new(1));
        finish(&mut model, &data, None, &threads).unwrap();
        assert!(model.codec.is_none() && model.detector.is_none());
        let e = fit_codec(&mut model, data.as_slice(), &threads).unwrap_err().to_string();
        assert!(e.contains("cannot compress"), "{e}");
    }
}
