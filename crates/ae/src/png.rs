//! PNG encoding and atomic writing of the command's images (loss curves, grids).

use std::path::Path;

/// Write `bytes` to `path` atomically; failures become one line naming the path and
/// what was being written (`what`, e.g. "PNG").
pub(crate) fn write_file(path: &Path, bytes: &[u8], what: &str) -> Result<(), String> {
    autoencoder::atomic::write_atomic(path, bytes).map_err(|e| format!("cannot write {what}: {e}"))
}

/// Encode a raw 8-bit buffer (`Rgb8` or `L8`, row-major, no padding) as PNG bytes.
pub(crate) fn encode_png(
    raw: &[u8],
    width: u32,
    height: u32,
    color: image::ExtendedColorType,
) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(raw, width, height, color)
        .map_err(|e| format!("cannot encode {width}x{height} PNG: {e}"))?;
    Ok(out)
}
