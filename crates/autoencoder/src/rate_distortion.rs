//! Rate–distortion of the autoencoder codec beside PCA (the same quantiser and entropy
//! coder on PCA's codes) and JPEG (the `image` crate's encoder): bytes per image, each
//! image in a file of its own with all its framing counted, against PSNR.
//!
//! For `n` images of `d` values in the data range `[a, b]`, every method's
//! reconstructions are clipped to `[a, b]` and
//! `PSNR = 10·log10((b − a)² / MSE)` with `MSE = Σ (x − x̂)² / (n·d)` over the whole set.
//! JPEG encodes `round(255·(x − a)/(b − a))` as 8-bit grayscale or RGB and decodes back to
//! the same scale.
//!
//! The module needs the `compress` feature (the range coder); the JPEG curve
//! ([`jpeg`], [`jpeg_encode`], [`jpeg_decode`]) also needs the `image` feature.

use rayon::prelude::*;

use crate::codec::Codec;
use crate::compressed;
use crate::data::Dataset;
#[cfg(feature = "image")]
use crate::data::ImageShape;
use crate::error::{Error, Result};
use crate::model::Autoencoder;
use crate::pca::Pca;
use crate::Threads;

/// One point of a rate–distortion curve.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RdPoint {
    /// `autoencoder`, `pca` or `jpeg`.
    pub method: &'static str,
    /// Bits per code dimension (autoencoder, PCA).
    pub bits: Option<u32>,
    /// JPEG quality, 1–100.
    pub quality: Option<u8>,
    /// Mean size of one image's whole file, in bytes.
    pub bytes_per_image: f64,
    /// Mean squared error per value, in the data's units.
    pub mse: f64,
    /// `10·log10(range² / mse)`, dB.
    pub psnr: f64,
}

/// The data's value range `[a, b]` (`b > a`), which PSNR and JPEG's 8-bit scale use.
pub fn data_range(data: &Dataset) -> Result<(f32, f32)> {
    let (a, b) = data.min_max();
    if !(a.is_finite() && b.is_finite() && b > a) {
        return Err(Error::Data(format!("{}: the values span no range ([{a}, {b}])", data.source)));
    }
    Ok((a, b))
}

fn point(
    method: &'static str,
    bits: Option<u32>,
    quality: Option<u8>,
    bytes: f64,
    x: &[f32],
    y: &[f32],
    range: (f32, f32),
) -> RdPoint {
    let (a, b) = range;
    let sse: f64 = x
        .iter()
        .zip(y)
        .map(|(&u, &v)| {
            let e = f64::from(u) - f64::from(v.clamp(a, b));
            e * e
        })
        .sum();
    let mse = sse / x.len().max(1) as f64;
    let r = f64::from(b - a);
    RdPoint { method, bits, quality, bytes_per_image: bytes, mse, psnr: 10.0 * (r * r / mse).log10() }
}

/// Mean bytes of a one-row compressed file per row of `symbols` (`rows × dims`).
fn bytes_per_row(codec: &Codec, symbols: &[u32], bits: u32, threads: &Threads) -> Result<f64> {
    let d = codec.dims();
    let rows = symbols.len() / d.max(1);
    let sizes: Result<Vec<usize>> = threads.install(|| {
        symbols
            .par_chunks(d)
            .map(|row| Ok(compressed::overhead(1) + codec.encode(row, bits)?.len()))
            .collect()
    });
    Ok(sizes?.iter().sum::<usize>() as f64 / rows.max(1) as f64)
}

/// The autoencoder codec at each of `bits` on `data` (raw rows). `progress(done, total)`
/// is called after each point (a sweep over a large set takes a while).
pub fn autoencoder(
    model: &Autoencoder,
    data: &Dataset,
    bits: &[u32],
    threads: &Threads,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<RdPoint>> {
    let codec = compressed::codec(model)?;
    let range = data_range(data)?;
    let z = model.encode(data.as_slice(), threads)?;
    let mut out = Vec::with_capacity(bits.len());
    for &b in bits {
        let q = codec.quantize(&z, b)?;
        let bytes = bytes_per_row(codec, &q, b, threads)?;
        let y = model.decode(&codec.dequantize(&q, b)?, threads)?;
        out.push(point("autoencoder", Some(b), None, bytes, data.as_slice(), &y, range));
        progress(out.len(), bits.len());
    }
    Ok(out)
}

/// PCA with `k` components fitted on `train`, its codes quantised and coded like the
/// autoencoder's (a codec fitted on the training codes), at each of `bits` on `data`.
///
/// The fit is [`Pca::fit_baseline`]'s: exact up to [`crate::pca::EXACT_MAX_DIM`]
/// columns, randomised above, and an error saying why when even that would pass its
/// bounds on time or memory. `progress(done, total)` is called after each point.
pub fn pca(
    train: &Dataset,
    data: &Dataset,
    k: usize,
    bits: &[u32],
    threads: &Threads,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<RdPoint>> {
    let d = data.cols();
    let range = data_range(data)?;
    let k = k.min(d).min(train.rows());
    let p = match Pca::fit_baseline(train.as_slice(), train.rows(), d, k, threads.count())? {
        crate::pca::Baseline::Fitted { pca, .. } => pca,
        crate::pca::Baseline::Skipped(why) => {
            return Err(Error::Data(format!("PCA-{k} is not fitted: {why}")))
        }
    };
    let mut zt = vec![0.0f32; train.rows() * k];
    p.transform(train.as_slice(), train.rows(), &mut zt)?;
    let codec = Codec::fit(&zt, k)?;
    drop(zt);
    let mut z = vec![0.0f32; data.rows() * k];
    p.transform(data.as_slice(), data.rows(), &mut z)?;
    let mut out = Vec::with_capacity(bits.len());
    for &b in bits {
        let q = codec.quantize(&z, b)?;
        let bytes = bytes_per_row(&codec, &q, b, threads)?;
        let mut y = vec![0.0f32; data.rows() * d];
        p.inverse_transform(&codec.dequantize(&q, b)?, data.rows(), &mut y)?;
        out.push(point("pca", Some(b), None, bytes, data.as_slice(), &y, range));
        progress(out.len(), bits.len());
    }
    Ok(out)
}

/// One image (`shape`, channel-major, values in `range`) as a JPEG file at `quality`.
#[cfg(feature = "image")]
pub fn jpeg_encode(x: &[f32], shape: ImageShape, range: (f32, f32), quality: u8) -> Result<Vec<u8>> {
    let (a, b) = range;
    let plane = shape.height * shape.width;
    let to_u8 = |v: f32| ((v - a) / (b - a) * 255.0).round().clamp(0.0, 255.0) as u8;
    let (pixels, color) = match shape.channels {
        1 => (x.iter().map(|&v| to_u8(v)).collect::<Vec<u8>>(), image::ExtendedColorType::L8),
        3 => (
            (0..plane).flat_map(|i| (0..3).map(move |c| to_u8(x[c * plane + i]))).collect(),
            image::ExtendedColorType::Rgb8,
        ),
        c => return Err(Error::Data(format!("JPEG needs 1 or 3 channels, the images have {c}"))),
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode(&pixels, shape.width as u32, shape.height as u32, color)
        .map_err(|e| Error::Data(format!("JPEG encoding failed: {e}")))?;
    Ok(out)
}

/// A JPEG file decoded back to channel-major values in `range`.
#[cfg(feature = "image")]
pub fn jpeg_decode(bytes: &[u8], shape: ImageShape, range: (f32, f32)) -> Result<Vec<f32>> {
    let (a, b) = range;
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
        .map_err(|e| Error::Data(format!("JPEG decoding failed: {e}")))?;
    let plane = shape.height * shape.width;
    let from_u8 = |v: u8| a + f32::from(v) / 255.0 * (b - a);
    Ok(if shape.channels == 1 {
        img.to_luma8().into_raw().into_iter().map(from_u8).collect()
    } else {
        let rgb = img.to_rgb8().into_raw();
        let mut out = vec![0.0f32; 3 * plane];
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            for c in 0..3 {
                out[c * plane + i] = from_u8(px[c]);
            }
        }
        out
    })
}

/// JPEG at each of `qualities` on `data` (images of `shape`); `progress(done, total)`
/// after each quality.
#[cfg(feature = "image")]
pub fn jpeg(
    data: &Dataset,
    shape: ImageShape,
    qualities: &[u8],
    threads: &Threads,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<RdPoint>> {
    if shape.len() != data.cols() {
        return Err(Error::Data(format!(
            "{}: rows of {} values are not {}×{}×{} images",
            data.source,
            data.cols(),
            shape.channels,
            shape.height,
            shape.width
        )));
    }
    let range = data_range(data)?;
    let mut done = 0;
    qualities
        .iter()
        .map(|&q| {
            let rows: Result<Vec<(usize, Vec<f32>)>> = threads.install(|| {
                data.as_slice()
                    .par_chunks(data.cols())
                    .map(|x| {
                        let file = jpeg_encode(x, shape, range, q)?;
                        Ok((file.len(), jpeg_decode(&file, shape, range)?))
                    })
                    .collect()
            });
            let rows = rows?;
            let bytes = rows.iter().map(|r| r.0).sum::<usize>() as f64 / rows.len().max(1) as f64;
            let y: Vec<f32> = rows.into_iter().flat_map(|r| r.1).collect();
            done += 1;
            progress(done, qualities.len());
            Ok(point("jpeg", None, Some(q), bytes, data.as_slice(), &y, range))
        })
        .collect()
}

/// The JPEG point to compare with a codec point of `bytes` per image: the best PSNR among
/// those no larger, or the smallest JPEG when none is that small.
pub fn matching_jpeg(jpeg: &[RdPoint], bytes: f64) -> Option<&RdPoint> {
    jpeg.iter()
        .filter(|p| p.bytes_per_image <= bytes)
        .max_by(|a, b| a.psnr.total_cmp(&b.psnr))
        .or_else(|| jpeg.iter().min_by(|a, b| a.bytes_per_image.total_cmp(&b.bytes_per_image)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic;

    #[test]
    #[cfg(feature = "image")]
    fn jpeg_round_trips_and_quality_trades_size_for_psnr() {
        let data = synthetic::generate(20, 3);
        let shape = data.image_shape.unwrap();
        let t = Threads::new(1);
        let mut seen = Vec::new();
        let pts = jpeg(&data, shape, &[5, 50, 100], &t, &mut |d, n| seen.push((d, n))).unwrap();
        assert_eq!(seen, [(1, 3), (2, 3), (3, 3)], "one progress call per quality");
        assert!(
            pts[0].bytes_per_image < pts[1].bytes_per_image
                && pts[1].bytes_per_image < pts[2].bytes_per_image
        );
        assert!(pts[0].psnr < pts[1].psnr && pts[1].psnr < pts[2].psnr, "{pts:?}");
        assert!(pts[2].psnr > 35.0);
        assert_eq!(matching_jpeg(&pts, pts[1].bytes_per_image + 1.0).unwrap().quality, Some(50));
        assert_eq!(matching_jpeg(&pts, 1.0).unwrap().quality, Some(5));
    }

    #[test]
    fn pca_psnr_grows_with_bits_and_bytes_count_the_framing() {
        let train = synthetic::generate(300, 1);
        let test = synthetic::generate(50, 2);
        let t = Threads::new(1);
        let mut seen = Vec::new();
        let pts = pca(&train, &test, 8, &[2, 8], &t, &mut |d, n| seen.push((d, n))).unwrap();
        assert_eq!(seen, [(1, 2), (2, 2)], "one progress call per rate");
        assert!(pts[0].psnr < pts[1].psnr);
        assert!(pts[0].bytes_per_image < pts[1].bytes_per_image);
        assert!(pts[0].bytes_per_image >= (compressed::overhead(1) + 4) as f64);
    }
}
