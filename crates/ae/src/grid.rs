//! Image grids: batches of small images (e.g. originals and reconstructions) tiled into one PNG.

use std::path::Path;

/// Grey level of the background between cells (mid-grey, so black and white digits both show).
pub const PAD_GREY: u8 = 128;
/// Padding, in pixels, between the cells of [`render_comparison`].
pub const COMPARISON_PAD: usize = 2;
/// Extra gap, in pixels, between the (originals, reconstructions) row pairs of
/// [`render_comparison`].
pub const COMPARISON_PAIR_GAP: usize = 6;
/// Largest width or height of a rendered grid, in pixels.
pub const MAX_SIDE: usize = 1 << 15;
/// Largest number of pixels of a rendered grid.
pub const MAX_PIXELS: usize = 1 << 26;

/// The shape of every image in a grid. An image is `channels * height * width` f32 values in
/// channel-major (C·H·W) order, nominally in [0, 1]: values are clamped, scaled by 255 and
/// rounded (NaN becomes 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridImage {
    /// 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
}

impl GridImage {
    /// Number of values in one image (C·H·W), after checking the shape is usable.
    fn len(&self) -> Result<usize, String> {
        if self.channels != 1 && self.channels != 3 {
            return Err(format!("image grid: images must have 1 or 3 channels, not {}", self.channels));
        }
        if self.height == 0 || self.width == 0 {
            return Err(format!("image grid: empty image shape {}x{}", self.height, self.width));
        }
        self.channels
            .checked_mul(self.height)
            .and_then(|v| v.checked_mul(self.width))
            .ok_or_else(|| format!("image grid: image shape {}x{} is too large", self.height, self.width))
    }
}

/// Renders a grid PNG: grid row `r` holds the images of `rows_of_images[r]` left to right.
///
/// Each slice holds `k` images concatenated (C·H·W each), with the same `k` for every row.
/// Images are upscaled `scale` times (nearest neighbour) and separated (and surrounded) by `pad`
/// pixels of mid-grey ([`PAD_GREY`]). Grayscale input gives an 8-bit gray PNG, RGB input an RGB
/// PNG. The result is `pad + k·(W·scale + pad)` wide and `pad + rows·(H·scale + pad)` high.
///
/// Errors (one line) on a bad shape, `scale == 0`, no rows, a row whose length is not a
/// non-zero multiple of C·H·W, rows of different image counts, or an oversized result.
pub fn render_grid(
    rows_of_images: &[&[f32]],
    shape: GridImage,
    scale: usize,
    pad: usize,
) -> Result<Vec<u8>, String> {
    let img_len = shape.len()?;
    if rows_of_images.is_empty() {
        return Err("image grid: no rows of images".to_string());
    }
    let mut cols = None;
    for (r, row) in rows_of_images.iter().enumerate() {
        let k = image_count(row.len(), img_len, &format!("row {r}"))?;
        if k == 0 {
            return Err(format!("image grid: row {r} has no images"));
        }
        match cols {
            None => cols = Some(k),
            Some(c) if c != k => {
                return Err(format!("image grid: row {r} has {k} images but row 0 has {c}"));
            }
            Some(_) => {}
        }
    }
    let cols = cols.unwrap_or(0);
    compose(rows_of_images, cols, shape, scale, pad, None)
}

/// Renders the classic "originals above reconstructions" figure for the first `n` images.
///
/// `originals` and `reconstructions` hold the same number of images (C·H·W each, at least `n`).
/// The figure is a sequence of row pairs: `per_row` originals, then their reconstructions just
/// below, the pairs separated by an extra [`COMPARISON_PAIR_GAP`] pixels; cells are separated by
/// [`COMPARISON_PAD`] pixels of mid-grey and upscaled `scale` times. A last, partial pair of rows
/// is left-aligned with grey where images are missing. So there are `2·ceil(n / per_row)` image
/// rows and `min(n, per_row)` columns.
///
/// Errors (one line) on a bad shape, `n == 0`, `per_row == 0`, `scale == 0`, lengths that are
/// not multiples of C·H·W, different image counts, or fewer than `n` images.
pub fn render_comparison(
    originals: &[f32],
    reconstructions: &[f32],
    n: usize,
    per_row: usize,
    shape: GridImage,
    scale: usize,
) -> Result<Vec<u8>, String> {
    let img_len = shape.len()?;
    let n_orig = image_count(originals.len(), img_len, "originals")?;
    let n_rec = image_count(reconstructions.len(), img_len, "reconstructions")?;
    if n_orig != n_rec {
        return Err(format!(
            "comparison grid: {n_orig} originals but {n_rec} reconstructions (they must match)"
        ));
    }
    if n == 0 {
        return Err("comparison grid: no images requested (n = 0)".to_string());
    }
    if n > n_orig {
        return Err(format!("comparison grid: {n} images requested but only {n_orig} available"));
    }
    if per_row == 0 {
        return Err("comparison grid: per_row must be at least 1".to_string());
    }
    let cols = per_row.min(n);
    let mut rows: Vec<&[f32]> = Vec::with_capacity(2 * n.div_ceil(cols));
    let mut start = 0;
    while start < n {
        let end = (start + cols).min(n);
        let range = start * img_len..end * img_len;
        rows.push(&originals[range.clone()]);
        rows.push(&reconstructions[range]);
        start = end;
    }
    compose(&rows, cols, shape, scale, COMPARISON_PAD, Some((2, COMPARISON_PAIR_GAP)))
}

/// Writes PNG `bytes` (from [`render_grid`] or [`render_comparison`]) atomically to `path`.
///
/// Errors are one line and name `path`.
pub fn write_png(path: &Path, bytes: &[u8]) -> Result<(), String> {
    crate::png::write_file(path, bytes, "PNG")
}

/// Number of images in a buffer of `len` values, or an error naming `what`.
fn image_count(len: usize, img_len: usize, what: &str) -> Result<usize, String> {
    if !len.is_multiple_of(img_len) {
        return Err(format!(
            "image grid: {what} has {len} values, not a multiple of the image size {img_len} (C*H*W)"
        ));
    }
    Ok(len / img_len)
}

/// Maps a nominal [0, 1] value to a byte: clamped, ×255, rounded; NaN gives 0.
fn to_byte(v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

/// Lays out `rows` (each at most `cols` images) on a grey canvas and encodes it as PNG.
/// `group_gap = Some((g, extra))` adds `extra` pixels after every `g` rows (between groups).
fn compose(
    rows: &[&[f32]],
    cols: usize,
    shape: GridImage,
    scale: usize,
    pad: usize,
    group_gap: Option<(usize, usize)>,
) -> Result<Vec<u8>, String> {
    let img_len = shape.len()?;
    if scale == 0 {
        return Err("image grid: scale must be at least 1".to_string());
    }
    let too_big = || "image grid: the result would be too large".to_string();
    let cell_w = shape.width.checked_mul(scale).ok_or_else(too_big)?;
    let cell_h = shape.height.checked_mul(scale).ok_or_else(too_big)?;
    let n_rows = rows.len();
    let (group, extra) = match group_gap {
        Some((g, e)) if g > 0 => (g, e),
        _ => (usize::MAX, 0),
    };
    let n_gaps = n_rows.saturating_sub(1) / group;
    let span = |count: usize, cell: usize| -> Option<usize> {
        cell.checked_add(pad)?.checked_mul(count)?.checked_add(pad)
    };
    let width = span(cols, cell_w).ok_or_else(too_big)?;
    let height =
        span(n_rows, cell_h).and_then(|h| h.checked_add(n_gaps.checked_mul(extra)?)).ok_or_else(too_big)?;
    if width > MAX_SIDE || height > MAX_SIDE || width.saturating_mul(height) > MAX_PIXELS {
        return Err(format!(
            "image grid: the result would be {width}x{height} pixels, over the limit \
             ({MAX_SIDE} per side, {MAX_PIXELS} in all)"
        ));
    }

    let ch = shape.channels;
    let plane = shape.height * shape.width;
    let stride = width * ch;
    let mut canvas = vec![PAD_GREY; height * stride];
    for (r, row) in rows.iter().enumerate() {
        let y0 = pad + r * (cell_h + pad) + (r / group) * extra;
        for (j, img) in row.chunks_exact(img_len).take(cols).enumerate() {
            let x0 = pad + j * (cell_w + pad);
            for y in 0..shape.height {
                for x in 0..shape.width {
                    let mut px = [0u8; 3];
                    for (c, p) in px.iter_mut().enumerate().take(ch) {
                        *p = to_byte(img[c * plane + y * shape.width + x]);
                    }
                    for dy in 0..scale {
                        let line = (y0 + y * scale + dy) * stride;
                        for dx in 0..scale {
                            let at = line + (x0 + x * scale + dx) * ch;
                            canvas[at..at + ch].copy_from_slice(&px[..ch]);
                        }
                    }
                }
            }
        }
    }
    let color = if ch == 1 { image::ExtendedColorType::L8 } else { image::ExtendedColorType::Rgb8 };
    // Both sides are at most MAX_SIDE, so they fit in u32.
    crate::png::encode_png(&canvas, width as u32, height as u32, color)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAY2: GridImage = GridImage { channels: 1, height: 2, width: 2 };

    fn decode(bytes: &[u8]) -> image::DynamicImage {
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        image::load_from_memory(bytes).unwrap()
    }

    #[test]
    fn two_gray_images_known_pixels() {
        // Image A: 0, 1 / 0.5, 0.2 ; image B: clamped and NaN values.
        let row = [0.0, 1.0, 0.5, 0.2, -3.0, 7.0, f32::NAN, 0.999];
        let png = render_grid(&[&row], GRAY2, 1, 1).unwrap();
        let img = decode(&png);
        assert_eq!(img.color(), image::ColorType::L8);
        let img = img.to_luma8();
        // pad + 2 * (2 + pad) = 7 wide, pad + 1 * (2 + pad) = 4 high.
        assert_eq!(img.dimensions(), (7, 4));
        let px = |x, y| img.get_pixel(x, y).0[0];
        assert_eq!([px(1, 1), px(2, 1), px(1, 2), px(2, 2)], [0, 255, 128, 51]);
        assert_eq!([px(4, 1), px(5, 1), px(4, 2), px(5, 2)], [0, 255, 0, 255]);
        // Padding: border and the column between the cells.
        for (x, y) in [(0, 0), (3, 1), (3, 2), (6, 3), (0, 3), (4, 0), (4, 3)] {
            assert_eq!(px(x, y), PAD_GREY, "({x},{y})");
        }
    }

    #[test]
    fn upscale_is_nearest_neighbour() {
        let a = [0.0, 1.0, 1.0, 0.0];
        let png = render_grid(&[&a, &a], GRAY2, 3, 2).unwrap();
        let img = decode(&png).to_luma8();
        // width 2 + 1 * (6 + 2) = 10, height 2 + 2 * (6 + 2) = 18.
        assert_eq!(img.dimensions(), (10, 18));
        for dy in 0..3 {
            for dx in 0..3 {
                assert_eq!(img.get_pixel(2 + dx, 2 + dy).0[0], 0);
                assert_eq!(img.get_pixel(5 + dx, 2 + dy).0[0], 255);
                assert_eq!(img.get_pixel(2 + dx, 5 + dy).0[0], 255);
                assert_eq!(img.get_pixel(5 + dx, 5 + dy).0[0], 0);
                // Second grid row starts at y = 2 + 6 + 2 = 10.
                assert_eq!(img.get_pixel(5 + dx, 10 + dy).0[0], 255);
            }
        }
        assert_eq!(img.get_pixel(4, 8).0[0], PAD_GREY);
        assert_eq!(img.get_pixel(4, 9).0[0], PAD_GREY);
    }

    #[test]
    fn rgb_is_channel_major() {
        let shape = GridImage { channels: 3, height: 1, width: 2 };
        // R plane, G plane, B plane for 2 pixels.
        let img = [1.0, 0.0, 0.0, 1.0, 0.2, 0.0];
        let png = render_grid(&[&img], shape, 1, 0).unwrap();
        let d = decode(&png);
        assert_eq!(d.color(), image::ColorType::Rgb8);
        let d = d.to_rgb8();
        assert_eq!(d.dimensions(), (2, 1));
        assert_eq!(d.get_pixel(0, 0).0, [255, 0, 51]);
        assert_eq!(d.get_pixel(1, 0).0, [0, 255, 0]);
    }

    #[test]
    fn comparison_layout() {
        let shape = GridImage { channels: 1, height: 3, width: 2 };
        let n_avail = 7;
        let originals = vec![1.0f32; n_avail * 6];
        let recons = vec![0.0f32; n_avail * 6];
        // 5 images, 3 per row: 2 pairs = 4 image rows, 3 columns, last pair partial.
        let png = render_comparison(&originals, &recons, 5, 3, shape, 2).unwrap();
        let img = decode(&png).to_luma8();
        let (p, g) = (COMPARISON_PAD as u32, COMPARISON_PAIR_GAP as u32);
        let (cw, chh) = (4, 6);
        assert_eq!(img.dimensions(), (p + 3 * (cw + p), p + 4 * (chh + p) + g));
        let row_y = |r: u32| p + r * (chh + p) + (r / 2) * g;
        let col_x = |c: u32| p + c * (cw + p);
        assert_eq!(img.get_pixel(col_x(0), row_y(0)).0[0], 255); // original
        assert_eq!(img.get_pixel(col_x(2), row_y(1)).0[0], 0); // reconstruction
        assert_eq!(img.get_pixel(col_x(1), row_y(2)).0[0], 255); // 5th original
        assert_eq!(img.get_pixel(col_x(1), row_y(3)).0[0], 0); // 5th reconstruction
        assert_eq!(img.get_pixel(col_x(2), row_y(2)).0[0], PAD_GREY); // missing 6th
        assert_eq!(img.get_pixel(col_x(0), row_y(2) - 1).0[0], PAD_GREY); // pair gap

        // per_row larger than n: one pair of rows, n columns.
        let png = render_comparison(&originals, &recons, 2, 10, shape, 1).unwrap();
        let img = decode(&png).to_luma8();
        assert_eq!(img.dimensions(), (p + 2 * (2 + p), p + 2 * (3 + p)));
    }

    #[test]
    fn validation_errors() {
        let img4 = [0.0f32; 4];
        let cases: Vec<(Result<Vec<u8>, String>, &str)> = vec![
            (render_grid(&[], GRAY2, 1, 1), "no rows"),
            (render_grid(&[&[0.0; 3]], GRAY2, 1, 1), "not a multiple"),
            (render_grid(&[&[]], GRAY2, 1, 1), "no images"),
            (render_grid(&[&img4, &[0.0; 8]], GRAY2, 1, 1), "row 1 has 2 images but row 0 has 1"),
            (render_grid(&[&img4], GridImage { channels: 2, ..GRAY2 }, 1, 1), "1 or 3 channels"),
            (render_grid(&[&img4], GridImage { height: 0, ..GRAY2 }, 1, 1), "empty image shape"),
            (render_grid(&[&img4], GRAY2, 0, 1), "scale"),
            (render_grid(&[&img4], GRAY2, usize::MAX, 1), "too large"),
            (render_grid(&[&img4], GRAY2, 1, usize::MAX / 2), "too large"),
            (render_grid(&[&img4], GRAY2, 20_000, 0), "over the limit"),
            (render_comparison(&img4, &[0.0; 8], 1, 1, GRAY2, 1), "1 originals but 2 reconstructions"),
            (render_comparison(&img4, &[0.0; 5], 1, 1, GRAY2, 1), "reconstructions has 5 values"),
            (render_comparison(&img4, &img4, 2, 1, GRAY2, 1), "only 1 available"),
            (render_comparison(&img4, &img4, 0, 1, GRAY2, 1), "n = 0"),
            (render_comparison(&img4, &img4, 1, 0, GRAY2, 1), "per_row"),
            (render_comparison(&img4, &img4, 1, 1, GRAY2, 0), "scale"),
        ];
        for (i, (r, want)) in cases.into_iter().enumerate() {
            let e = r.expect_err(want);
            assert!(e.contains(want), "case {i}: {e:?} should mention {want:?}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn write_png_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("grid.png");
        let png = render_grid(&[&[0.5; 4]], GRAY2, 2, 1).unwrap();
        write_png(&p, &png).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), png);
        let bad = dir.path().join("no-such-dir").join("grid.png");
        let e = write_png(&bad, &png).unwrap_err();
        assert!(e.contains("no-such-dir") && e.contains("grid.png"), "{e}");
    }
}
