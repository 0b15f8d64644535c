//! Convolution's data movement: `im2col` gathers each kernel position's receptive field
//! into one row so that a convolution is one matrix product, `col2im` is its adjoint
//! (scatter-add), and the per-channel bias and its gradient for either image layout;
//! also max pooling and nearest upsampling, forward and backward.
//!
//! Images are `rows` blocks of `C·H·W` values, stored channels-last (`H×W×C`, the
//! layout every convolutional layer works in, so that a patch's channels are contiguous
//! and the product's output is the next image) or channels-first (`C×H×W`, the layout of
//! [`Dataset`](crate::Dataset) rows, read by the first layer and written by the last).

use super::{elementwise, Threads};
use crate::activation::Activation;

/// How the values of one image are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Layout {
    /// `H×W×C`: a pixel's channels are adjacent.
    ChannelsLast,
    /// `C×H×W`: one plane per channel.
    ChannelsFirst,
}

/// A square kernel sliding over an image: the image (`channels × height × width`, in
/// `layout`), the kernel size, stride and zero padding, and the grid of kernel
/// positions they give, `out = ⌊(in + 2·padding − kernel)/stride⌋ + 1` on each side.
///
/// Kernel position `(oy, ox)` covers the pixels `(oy·stride − padding + ky,
/// ox·stride − padding + kx)` for `ky, kx < kernel`; pixels outside the image read as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Image channels.
    pub channels: usize,
    /// Image rows.
    pub height: usize,
    /// Image columns.
    pub width: usize,
    /// The image's layout.
    pub layout: Layout,
    /// Kernel side.
    pub kernel: usize,
    /// Step between kernel positions.
    pub stride: usize,
    /// Zeros added on every side.
    pub padding: usize,
    /// Kernel positions down.
    pub out_height: usize,
    /// Kernel positions across.
    pub out_width: usize,
}

impl Geometry {
    /// The geometry of `kernel`/`stride`/`padding` over a `channels × height × width`
    /// image, or `None` when the kernel does not fit once (the image plus padding is
    /// smaller than the kernel) or the stride is 0.
    pub fn new(
        channels: usize,
        height: usize,
        width: usize,
        layout: Layout,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Option<Geometry> {
        let side = |n: usize| (n + 2 * padding).checked_sub(kernel).map(|v| v / stride + 1);
        if stride == 0 || kernel == 0 || channels == 0 {
            return None;
        }
        Some(Geometry {
            channels,
            height,
            width,
            layout,
            kernel,
            stride,
            padding,
            out_height: side(height)?,
            out_width: side(width)?,
        })
    }

    /// Values per image, `C·H·W`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }
    /// Kernel positions per image.
    pub fn positions(&self) -> usize {
        self.out_height * self.out_width
    }
    /// Values per patch, `kernel²·C`, ordered `(ky, kx, c)`.
    pub fn patch_len(&self) -> usize {
        self.kernel * self.kernel * self.channels
    }
    /// For one image: each kernel position's kernel rows, in order, as
    /// `f(at, inside)`, where `at` is the row's offset in the patch matrix (its `kernel·C`
    /// values) and `inside` is `Some((pixel, lo, hi))` when its cells `lo .. hi` read
    /// pixels `pixel .. pixel + (hi − lo)` of the image's row (the others, and every cell
    /// of a row in the padding, read 0), `None` when it lies wholly in the padding.
    #[inline(always)]
    fn kernel_rows(&self, mut f: impl FnMut(usize, Option<(usize, usize, usize)>)) {
        let (k, c, patch) = (self.kernel, self.channels, self.patch_len());
        let mut col = 0;
        for oy in 0..self.out_height {
            for ox in 0..self.out_width {
                // The kernel's columns x0 .. x0 + k, clipped to the image: cells lo .. hi.
                let x0 = (ox * self.stride) as isize - self.padding as isize;
                let lo = (-x0).clamp(0, k as isize) as usize;
                let hi = ((self.width as isize - x0).clamp(0, k as isize) as usize).max(lo);
                for ky in 0..k {
                    let iy = (oy * self.stride + ky).wrapping_sub(self.padding);
                    let inside = (iy < self.height && hi > lo)
                        .then(|| (iy * self.width + (x0 + lo as isize) as usize, lo, hi));
                    f(col + ky * k * c, inside);
                }
                col += patch;
            }
        }
    }

    /// For one image, a cell of the kernel at a time: for each channel, row of kernel
    /// positions, kernel row inside the image and kernel column (in falling order when
    /// `falling`), `f(pixel, at, n)` for the `n` kernel positions along the row whose
    /// cell reads a pixel: the `i`-th of them reads image value `pixel + i·stride` (the
    /// image channels-first, or of one channel) into patch-matrix value `at +
    /// i·patch_len`. `columns` is [`ColumnsInside::new`]`(self)`.
    #[inline(always)]
    fn cells_along_rows(
        &self,
        columns: &ColumnsInside,
        falling: bool,
        mut f: impl FnMut(usize, usize, usize),
    ) {
        let (k, c, s, p, w, patch) =
            (self.kernel, self.channels, self.stride, self.padding, self.width, self.patch_len());
        for ch in 0..c {
            for oy in 0..self.out_height {
                for ky in 0..k {
                    let iy = (oy * s + ky).wrapping_sub(p);
                    if iy >= self.height {
                        continue;
                    }
                    for j in 0..k {
                        let kx = if falling { k - 1 - j } else { j };
                        let (ox, n) = columns.of(self, kx);
                        let pixel = (ch * self.height + iy) * w + ox * s + kx - p;
                        f(pixel, (oy * self.out_width + ox) * patch + (ky * k + kx) * c + ch, n);
                    }
                }
            }
        }
    }
}

/// `dst = src` for a kernel row's run of `kernel·C` values: copies of 16 values that the
/// compiler keeps in vector registers, where `copy_from_slice` calls `memmove`.
#[inline(always)]
fn copy_run(dst: &mut [f32], src: &[f32]) {
    let ((d, dt), (s, st)) = (dst.as_chunks_mut::<16>(), src.as_chunks::<16>());
    d.iter_mut().zip(s).for_each(|(d, s)| *d = *s);
    dt.iter_mut().zip(st).for_each(|(d, s)| *d = *s);
}

/// `dst = 0` for a kernel row's cells in the padding, as [`copy_run`].
#[inline(always)]
fn zero_run(dst: &mut [f32]) {
    let (d, dt) = dst.as_chunks_mut::<16>();
    d.iter_mut().for_each(|d| *d = [0.0; 16]);
    dt.iter_mut().for_each(|d| *d = 0.0);
}

/// For each kernel cell `kx` (up to 16 of them), the kernel positions `ox` of a row
/// whose cell `kx` reads a pixel of the image (`ox·s − p + kx` in `0 .. width`), as
/// `(first, count)`: computed once per pass rather than, with two divisions, per row.
struct ColumnsInside([(usize, usize); 16]);

impl ColumnsInside {
    fn new(g: &Geometry) -> Self {
        let mut at = [(0, 0); 16];
        for (kx, at) in at.iter_mut().enumerate().take(g.kernel) {
            *at = Self::compute(g, kx);
        }
        ColumnsInside(at)
    }

    fn compute(g: &Geometry, kx: usize) -> (usize, usize) {
        let (s, p) = (g.stride, g.padding);
        let lo = p.saturating_sub(kx).div_ceil(s);
        let hi = if g.width + p > kx { ((g.width + p - kx - 1) / s + 1).min(g.out_width) } else { 0 };
        (lo, hi.saturating_sub(lo))
    }

    #[inline(always)]
    fn of(&self, g: &Geometry, kx: usize) -> (usize, usize) {
        match self.0.get(kx) {
            Some(&at) => at,
            None => Self::compute(g, kx),
        }
    }
}

/// `cols[(r, oy, ox), (ky, kx, c)] = image[r][c, oy·s − p + ky, ox·s − p + kx]` (0 in
/// the padding): a `(rows·positions) × patch_len` matrix. Blocks of images are spread
/// over `threads`.
///
/// Channels-last images with more than one channel are copied a kernel row at a time
/// (its `kernel·C` values are adjacent in both); the others (one channel, or
/// channels-first) a cell at a time, each plane and kernel cell along a row of kernel
/// positions, where a kernel row would be a run of a few values (measured on 128
/// one-channel 28×28 images, kernel 3 and stride 2, `benches/conv_step.rs`: 189 µs
/// against 413 µs a kernel row at a time, and col2im 194 µs against 483 µs).
pub fn im2col(g: &Geometry, images: &[f32], rows: usize, cols: &mut [f32], threads: &Threads) {
    let (img, per) = (g.image_len(), g.positions() * g.patch_len());
    assert!(images.len() >= rows * img && cols.len() >= rows * per);
    let columns = ColumnsInside::new(g);
    threads.for_each_rows(per, &mut cols[..rows * per], None, |block, cols, _| {
        super::simd(
            #[inline(always)]
            || {
                for (r, cols) in block.zip(cols.chunks_exact_mut(per)) {
                    im2col_image(g, &columns, &images[r * img..(r + 1) * img], cols);
                }
            },
        )
    });
}

/// [`im2col`] of one image.
#[inline(always)]
fn im2col_image(g: &Geometry, columns: &ColumnsInside, image: &[f32], cols: &mut [f32]) {
    let (c, s, patch) = (g.channels, g.stride, g.patch_len());
    if g.layout == Layout::ChannelsLast && c > 1 {
        let run = g.kernel * c;
        g.kernel_rows(
            #[inline(always)]
            |at, inside| {
                let row = &mut cols[at..at + run];
                let Some((pixel, lo, hi)) = inside else { return zero_run(row) };
                let (before, rest) = row.split_at_mut(lo * c);
                let (cells, after) = rest.split_at_mut((hi - lo) * c);
                zero_run(before);
                copy_run(cells, &image[pixel * c..pixel * c + cells.len()]);
                zero_run(after);
            },
        );
    } else {
        zero_run(cols);
        g.cells_along_rows(
            columns,
            false,
            #[inline(always)]
            |pixel, at, n| {
                for i in 0..n {
                    cols[at + i * patch] = image[pixel + i * s];
                }
            },
        );
    }
}

/// The adjoint of [`im2col`]: `image[r][c, y, x] = Σ cols[(r, oy, ox), (ky, kx, c)]` over
/// every patch cell that reads pixel `(y, x)`, summed in the order of the kernel
/// positions. Overwrites `images`. Blocks of images are spread over `threads` (each
/// image's sums stay in one order, so the bits do not change), and the images are read
/// as [`im2col`] writes them.
pub fn col2im(g: &Geometry, cols: &[f32], rows: usize, images: &mut [f32], threads: &Threads) {
    let (img, per) = (g.image_len(), g.positions() * g.patch_len());
    assert!(images.len() >= rows * img && cols.len() >= rows * per);
    let columns = ColumnsInside::new(g);
    threads.for_each_rows(img, &mut images[..rows * img], None, |block, images, _| {
        super::simd(
            #[inline(always)]
            || {
                for (r, image) in block.zip(images.chunks_exact_mut(img)) {
                    col2im_image(g, &columns, &cols[r * per..(r + 1) * per], image);
                }
            },
        )
    });
}

/// [`col2im`] of one image.
#[inline(always)]
fn col2im_image(g: &Geometry, columns: &ColumnsInside, cols: &[f32], image: &mut [f32]) {
    let (c, s, patch) = (g.channels, g.stride, g.patch_len());
    zero_run(image);
    if g.layout == Layout::ChannelsLast && c > 1 {
        g.kernel_rows(
            #[inline(always)]
            |at, inside| {
                let Some((pixel, lo, hi)) = inside else { return };
                let cells = &cols[at + lo * c..at + hi * c];
                let to = &mut image[pixel * c..pixel * c + cells.len()];
                to.iter_mut().zip(cells).for_each(|(d, &v)| *d += v);
            },
        );
    } else {
        // A pixel's terms come in the order of the kernel positions (oy, ox): oy by the
        // outer loop, and, for one oy and one pixel, ox rises as kx falls.
        g.cells_along_rows(
            columns,
            true,
            #[inline(always)]
            |pixel, at, n| {
                for i in 0..n {
                    image[pixel + i * s] += cols[at + i * patch];
                }
            },
        );
    }
}

/// `y = f(y + bias[c])` for images of `channels = bias.len()` in `layout` (`plane` pixels
/// each), writing `z = y + bias` to `pre` when given.
pub fn channel_bias_activation(
    y: &mut [f32],
    bias: &[f32],
    layout: Layout,
    plane: usize,
    act: Activation,
    pre: Option<&mut [f32]>,
    threads: &Threads,
) {
    match layout {
        Layout::ChannelsLast => elementwise::bias_activation(y, bias, act, pre, threads),
        Layout::ChannelsFirst => {
            let mut pre = pre;
            for (i, chunk) in y.chunks_exact_mut(plane).enumerate() {
                let b = &bias[i % bias.len()..i % bias.len() + 1];
                let p = pre.as_deref_mut().map(|p| &mut p[i * plane..(i + 1) * plane]);
                elementwise::bias_activation(chunk, b, act, p, threads);
            }
        }
    }
}

/// The bias gradient `g[c] = Σ dz` over every pixel of channel `c`, for images in `layout`.
pub fn channel_sums(dz: &[f32], g: &mut [f32], layout: Layout, plane: usize, threads: &Threads) {
    match layout {
        Layout::ChannelsLast => elementwise::column_sums(dz, g, threads),
        Layout::ChannelsFirst => {
            g.fill(0.0);
            let c = g.len();
            for (i, chunk) in dz.chunks_exact(plane).enumerate() {
                g[i % c] += elementwise::sum(chunk) as f32;
            }
        }
    }
}

/// 2×2-style max pooling with window = stride = `size` over channels-last images
/// (`height`, `width` multiples of `size` are not required: the last partial window is
/// dropped, as PyTorch does). Writes the maxima to `y` and, for the backward pass, the
/// index of each maximum within its image to `argmax` (as f32, exact below 2²⁴).
pub fn max_pool(g: &Geometry, x: &[f32], rows: usize, y: &mut [f32], argmax: &mut [f32]) {
    let (c, ys) = (g.channels, g.width * g.channels);
    let (img, out) = (g.image_len(), g.positions() * c);
    for r in 0..rows {
        let image = &x[r * img..(r + 1) * img];
        for oy in 0..g.out_height {
            for ox in 0..g.out_width {
                let o = r * out + (oy * g.out_width + ox) * c;
                for ch in 0..c {
                    let mut best = f32::NEG_INFINITY;
                    let mut at = 0;
                    for ky in 0..g.kernel {
                        for kx in 0..g.kernel {
                            let i = (oy * g.stride + ky) * ys + (ox * g.stride + kx) * c + ch;
                            // Greater, or NaN (so that NaNs propagate, as in PyTorch).
                            if image[i] > best || image[i].is_nan() {
                                best = image[i];
                                at = i;
                            }
                        }
                    }
                    y[o + ch] = best;
                    argmax[o + ch] = at as f32;
                }
            }
        }
    }
}

/// The gradient of [`max_pool`]: each output's gradient goes to its maximum. Overwrites `dx`.
pub fn max_pool_backward(g: &Geometry, dy: &[f32], argmax: &[f32], rows: usize, dx: &mut [f32]) {
    let (img, out) = (g.image_len(), g.positions() * g.channels);
    dx[..rows * img].fill(0.0);
    for r in 0..rows {
        for (d, &a) in dy[r * out..(r + 1) * out].iter().zip(&argmax[r * out..(r + 1) * out]) {
            dx[r * img + a as usize] += d;
        }
    }
}

/// Nearest-neighbour upsampling by `factor` of channels-last `channels × height × width`
/// images: `y[Y, X, c] = x[Y / factor, X / factor, c]`.
pub fn upsample(
    x: &[f32],
    rows: usize,
    channels: usize,
    height: usize,
    width: usize,
    factor: usize,
    y: &mut [f32],
) {
    let (img, ow) = (channels * height * width, width * factor);
    let out = img * factor * factor;
    for r in 0..rows {
        for oy in 0..height * factor {
            for ox in 0..ow {
                let s = r * img + ((oy / factor) * width + ox / factor) * channels;
                let d = r * out + (oy * ow + ox) * channels;
                y[d..d + channels].copy_from_slice(&x[s..s + channels]);
            }
        }
    }
}

/// The gradient of [`upsample`]: each input pixel collects its `factor²` copies. Overwrites `dx`.
#[allow(clippy::too_many_arguments)]
pub fn upsample_backward(
    dy: &[f32],
    rows: usize,
    channels: usize,
    height: usize,
    width: usize,
    factor: usize,
    dx: &mut [f32],
) {
    let (img, ow) = (channels * height * width, width * factor);
    let out = img * factor * factor;
    dx[..rows * img].fill(0.0);
    for r in 0..rows {
        for oy in 0..height * factor {
            for ox in 0..ow {
                let d = r * img + ((oy / factor) * width + ox / factor) * channels;
                let s = r * out + (oy * ow + ox) * channels;
                dx[d..d + channels].iter_mut().zip(&dy[s..s + channels]).for_each(|(a, &b)| *a += b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n).map(|i| (((i * 7 + seed * 13) % 17) as f32 - 8.0) / 4.0).collect()
    }

    /// The reference: a direct convolution sum, read through explicit indices.
    fn pixel(g: &Geometry, img: &[f32], c: usize, y: isize, x: isize) -> f32 {
        if y < 0 || x < 0 || y >= g.height as isize || x >= g.width as isize {
            return 0.0;
        }
        let (y, x) = (y as usize, x as usize);
        match g.layout {
            Layout::ChannelsLast => img[(y * g.width + x) * g.channels + c],
            Layout::ChannelsFirst => img[(c * g.height + y) * g.width + x],
        }
    }

    #[test]
    fn im2col_matches_direct_indexing_for_both_layouts_and_odd_sizes() {
        for (layout, channels) in
            [(Layout::ChannelsLast, 2), (Layout::ChannelsFirst, 2), (Layout::ChannelsLast, 1)]
        {
            for (h, w, k, s, p) in [(7, 5, 3, 2, 1), (6, 6, 4, 2, 1), (5, 4, 3, 1, 0), (3, 3, 5, 1, 2)] {
                let g = Geometry::new(channels, h, w, layout, k, s, p).unwrap();
                let rows = 2;
                let x = values(rows * g.image_len(), 1);
                let mut cols = vec![f32::NAN; rows * g.positions() * g.patch_len()];
                im2col(&g, &x, rows, &mut cols, &Threads::new(1));
                let mut i = 0;
                for r in 0..rows {
                    let img = &x[r * g.image_len()..];
                    for oy in 0..g.out_height {
                        for ox in 0..g.out_width {
                            for ky in 0..k {
                                for kx in 0..k {
                                    for c in 0..channels {
                                        let y = (oy * s + ky) as isize - p as isize;
                                        let xx = (ox * s + kx) as isize - p as isize;
                                        assert_eq!(
                                            cols[i],
                                            pixel(&g, img, c, y, xx),
                                            "{layout:?} {h}x{w} k{k}"
                                        );
                                        i += 1;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x and c: col2im is the adjoint.
    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        for (layout, channels) in
            [(Layout::ChannelsLast, 3), (Layout::ChannelsFirst, 3), (Layout::ChannelsFirst, 1)]
        {
            for (h, w, k, s, p) in [(7, 7, 3, 2, 1), (8, 5, 4, 2, 1), (4, 6, 3, 1, 1)] {
                let g = Geometry::new(channels, h, w, layout, k, s, p).unwrap();
                let rows = 2;
                let x = values(rows * g.image_len(), 2);
                let c = values(rows * g.positions() * g.patch_len(), 5);
                let mut cx = vec![0.0; c.len()];
                im2col(&g, &x, rows, &mut cx, &Threads::new(1));
                let mut xc = vec![9.0; x.len()];
                col2im(&g, &c, rows, &mut xc, &Threads::new(1));
                let a: f64 = cx.iter().zip(&c).map(|(&a, &b)| a as f64 * b as f64).sum();
                let b: f64 = x.iter().zip(&xc).map(|(&a, &b)| a as f64 * b as f64).sum();
                assert!((a - b).abs() < 1e-3, "{layout:?}: {a} vs {b}");
            }
        }
    }

    /// col2im adds each pixel's terms in the order of the kernel positions, then the
    /// kernel's cells: the same bits as this direct loop, whichever way it runs.
    #[test]
    fn col2im_sums_in_the_order_of_the_kernel_positions() {
        for (layout, channels) in
            [(Layout::ChannelsLast, 3), (Layout::ChannelsFirst, 3), (Layout::ChannelsLast, 1)]
        {
            for (h, w, k, s, p) in [(7, 7, 3, 2, 1), (8, 5, 4, 2, 1), (4, 6, 3, 1, 1), (5, 5, 5, 1, 2)] {
                let g = Geometry::new(channels, h, w, layout, k, s, p).unwrap();
                let rows = 3;
                // Values of many magnitudes, so that another order of the sums rounds otherwise.
                let c: Vec<f32> = (0..rows * g.positions() * g.patch_len())
                    .map(|i| ((i * 7919) % 1013) as f32 * 10f32.powi((i % 7) as i32 - 3) - 40.0)
                    .collect();
                let mut want = vec![0.0f32; rows * g.image_len()];
                let mut i = 0;
                for r in 0..rows {
                    for oy in 0..g.out_height {
                        for ox in 0..g.out_width {
                            for ky in 0..k {
                                for kx in 0..k {
                                    for ch in 0..channels {
                                        let y = (oy * s + ky) as isize - p as isize;
                                        let x = (ox * s + kx) as isize - p as isize;
                                        if y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w {
                                            let (y, x) = (y as usize, x as usize);
                                            let at = match layout {
                                                Layout::ChannelsLast => (y * w + x) * channels + ch,
                                                Layout::ChannelsFirst => (ch * h + y) * w + x,
                                            };
                                            want[r * g.image_len() + at] += c[i];
                                        }
                                        i += 1;
                                    }
                                }
                            }
                        }
                    }
                }
                let mut got = vec![f32::NAN; want.len()];
                col2im(&g, &c, rows, &mut got, &Threads::new(1));
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{layout:?} {channels} {h}x{w} k{k} s{s} p{p}");
            }
        }
    }

    #[test]
    fn two_threads_give_the_same_bits_as_one() {
        for (layout, channels) in
            [(Layout::ChannelsLast, 3), (Layout::ChannelsFirst, 3), (Layout::ChannelsFirst, 1)]
        {
            let g = Geometry::new(channels, 9, 7, layout, 3, 2, 1).unwrap();
            // Enough images for a block of them on each thread.
            let rows = 600;
            let x = values(rows * g.image_len(), 3);
            let c = values(rows * g.positions() * g.patch_len(), 4);
            let run = |t: &Threads| {
                let mut cols = vec![0.0; c.len()];
                let mut img = vec![0.0; x.len()];
                im2col(&g, &x, rows, &mut cols, t);
                col2im(&g, &c, rows, &mut img, t);
                (cols, img)
            };
            assert_eq!(run(&Threads::new(1)), run(&Threads::new(2)), "{layout:?} {channels}");
        }
    }

    #[test]
    fn geometry_gives_pytorch_sizes_and_refuses_kernels_that_do_not_fit() {
        let g = Geometry::new(1, 28, 28, Layout::ChannelsLast, 3, 2, 1).unwrap();
        assert_eq!((g.out_height, g.out_width), (14, 14));
        let g = Geometry::new(1, 7, 7, Layout::ChannelsLast, 3, 2, 1).unwrap();
        assert_eq!(g.out_height, 4);
        assert!(Geometry::new(1, 1, 1, Layout::ChannelsLast, 5, 2, 1).is_none());
        assert!(Geometry::new(1, 4, 4, Layout::ChannelsLast, 3, 0, 1).is_none());
    }

    #[test]
    fn channels_first_bias_and_sums_follow_the_planes() {
        let mut y = vec![0.0; 2 * 3 * 4]; // 2 rows, 3 channels, 4 pixels
        channel_bias_activation(
            &mut y,
            &[1.0, 2.0, 3.0],
            Layout::ChannelsFirst,
            4,
            Activation::Linear,
            None,
            &Threads::new(1),
        );
        assert_eq!(&y[..12], &[1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0]);
        let mut g = [0.0; 3];
        channel_sums(&y, &mut g, Layout::ChannelsFirst, 4, &Threads::new(1));
        assert_eq!(g, [8.0, 16.0, 24.0]);
    }

    #[test]
    fn max_pool_takes_each_window_maximum_and_routes_the_gradient_there() {
        // One 4×4 single-channel image.
        let x: Vec<f32> = vec![1., 5., 2., 0., 3., 4., 8., 1., 0., 0., 1., 1., 9., 0., 1., 2.];
        let g = Geometry::new(1, 4, 4, Layout::ChannelsLast, 2, 2, 0).unwrap();
        let (mut y, mut am) = (vec![0.0; 4], vec![0.0; 4]);
        max_pool(&g, &x, 1, &mut y, &mut am);
        assert_eq!(y, [5., 8., 9., 2.]);
        let mut dx = vec![7.0; 16];
        max_pool_backward(&g, &[1., 2., 3., 4.], &am, 1, &mut dx);
        let mut want = vec![0.0; 16];
        (want[1], want[6], want[12], want[15]) = (1., 2., 3., 4.);
        assert_eq!(dx, want);
    }

    #[test]
    fn upsample_repeats_pixels_and_its_gradient_sums_them() {
        let x = [1.0, 10.0, 2.0, 20.0]; // 1×2 image, 2 channels
        let mut y = vec![0.0; 16];
        upsample(&x, 1, 2, 1, 2, 2, &mut y);
        assert_eq!(&y[..8], &[1.0, 10.0, 1.0, 10.0, 2.0, 20.0, 2.0, 20.0]);
        assert_eq!(&y[8..], &y[..8].to_vec()[..]);
        let mut dx = vec![0.0; 4];
        upsample_backward(&[1.0; 16], 1, 2, 1, 2, 2, &mut dx);
        assert_eq!(dx, [4.0; 4]);
    }
}
