//! The built-in procedural image set (`synthetic`): dSprites-like 28×28 grayscale
//! shapes, generated deterministically from a seed.
//!
//! Each image holds one white shape on a black background: a square, an ellipse, a
//! triangle or a heart (label 0, 1, 2, 3), at a random position, scale and rotation,
//! with a slightly varying brightness. Edges are anti-aliased by 4×4 supersampling.
//!
//! The output depends only on the seed: the random stream is ChaCha8 read through
//! `next_u32` (converted to floats here, not by `rand`'s distributions, whose
//! algorithms may change between versions), and the drawing uses only IEEE basic
//! arithmetic and square roots (no `sin`/`cos`, whose results vary between platforms).

use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::dataset::{Dataset, ImageShape};

/// Width and height of each image, in pixels.
pub const SIZE: usize = 28;

/// The shape kinds, indexed by label.
pub const KINDS: [&str; 4] = ["square", "ellipse", "triangle", "heart"];

/// Samples per pixel along each axis (4 → 16 samples per pixel).
const SUPERSAMPLE: usize = 4;

/// Every shape lies within this distance of its centre, in units of its scale.
const EXTENT: f32 = 1.1;

/// Smallest and largest scale (the radius of the unit shape), in pixels.
const SCALE_MIN: f32 = 4.5;
const SCALE_MAX: f32 = 8.0;

/// Smallest and largest brightness of a shape.
const INTENSITY_MIN: f32 = 0.8;
const INTENSITY_MAX: f32 = 1.0;

/// The name of shape kind `label` (`square`, `ellipse`, `triangle`, `heart`), or `None`
/// when `label` is not one.
pub fn kind_name(label: i64) -> Option<&'static str> {
    usize::try_from(label).ok().and_then(|i| KINDS.get(i).copied())
}

/// `rows` images of 28×28 values in [0, 1] with labels 0..=3 (see [`KINDS`]), image
/// shape 1×28×28 and source `synthetic(seed=S)`. The same seed always gives the same
/// bytes. Takes well under a second for 60,000 images in a release build.
pub fn generate(rows: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pixels = SIZE * SIZE;
    let mut data = super::buffer::zeroed::<f32>(rows * pixels);
    let mut labels = Vec::with_capacity(rows);
    for image in data.chunks_exact_mut(pixels) {
        let shape = Shape::draw(&mut rng);
        labels.push(shape.kind as i64);
        shape.render(image);
    }
    let source = format!("synthetic(seed={seed})");
    let shape = ImageShape { channels: 1, height: SIZE, width: SIZE };
    // The buffer, labels and shape agree by construction, so these cannot fail.
    Dataset::new(data, rows, pixels, source)
        .and_then(|d| d.with_labels(labels))
        .and_then(|d| d.with_image_shape(shape))
        .expect("synthetic: buffer, labels and image shape have consistent sizes")
}

/// A uniform float in [0, 1) from the top 24 bits of one `u32` draw.
fn unit(rng: &mut ChaCha8Rng) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// A uniform float in [lo, hi).
fn uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * unit(rng)
}

/// One shape's parameters.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Index into [`KINDS`].
    kind: usize,
    /// Centre, in pixel coordinates (x right, y down; pixel `(i, j)` covers `[i, i+1)`).
    cx: f32,
    cy: f32,
    /// Radius of the unit shape, in pixels.
    scale: f32,
    /// Cosine and sine of the rotation angle.
    cos: f32,
    sin: f32,
    /// Brightness inside the shape.
    intensity: f32,
}

impl Shape {
    /// Draw a shape's parameters from `rng`, always in the same order.
    fn draw(rng: &mut ChaCha8Rng) -> Shape {
        let kind = ((u64::from(rng.next_u32()) * KINDS.len() as u64) >> 32) as usize;
        let scale = uniform(rng, SCALE_MIN, SCALE_MAX);
        // Keep the whole shape inside the image, leaving the outermost pixels black.
        let reach = scale * EXTENT + 1.0;
        let cx = uniform(rng, reach, SIZE as f32 - reach);
        let cy = uniform(rng, reach, SIZE as f32 - reach);
        let (cos, sin) = unit_vector(rng);
        let intensity = uniform(rng, INTENSITY_MIN, INTENSITY_MAX);
        Shape { kind, cx, cy, scale, cos, sin, intensity }
    }

    /// Draw the shape into `image` (`SIZE × SIZE`, row-major, all zeros).
    fn render(&self, image: &mut [f32]) {
        match self.kind {
            0 => self.raster(image, inside_square),
            1 => self.raster(image, inside_ellipse),
            2 => self.raster(image, inside_triangle),
            _ => self.raster(image, inside_heart),
        }
    }

    /// Anti-aliased rasterisation of the shape whose unit form is `inside`: each pixel
    /// within the shape's bounding box gets `intensity × (fraction of its samples inside)`.
    fn raster(&self, image: &mut [f32], inside: impl Fn(f32, f32) -> bool) {
        let reach = self.scale * EXTENT;
        let lo = |c: f32| ((c - reach).floor().max(0.0)) as usize;
        let hi = |c: f32| ((c + reach).ceil().max(0.0) as usize).min(SIZE);
        let (x0, x1, y0, y1) = (lo(self.cx), hi(self.cx), lo(self.cy), hi(self.cy));
        let inv = 1.0 / self.scale;
        // Unit-shape coordinates: rotate the offset from the centre by −θ, then scale.
        let (a, b) = (self.cos * inv, self.sin * inv);
        let step = 1.0 / SUPERSAMPLE as f32;
        let weight = self.intensity / (SUPERSAMPLE * SUPERSAMPLE) as f32;
        for py in y0..y1 {
            for px in x0..x1 {
                let mut hits = 0u32;
                for sy in 0..SUPERSAMPLE {
                    let dy = py as f32 + (sy as f32 + 0.5) * step - self.cy;
                    for sx in 0..SUPERSAMPLE {
                        let dx = px as f32 + (sx as f32 + 0.5) * step - self.cx;
                        let u = a * dx + b * dy;
                        let v = a * dy - b * dx;
                        hits += u32::from(inside(u, v));
                    }
                }
                image[py * SIZE + px] = hits as f32 * weight;
            }
        }
    }
}

/// A uniformly distributed direction `(cos θ, sin θ)`, by rejection sampling in the
/// unit disc (deterministic: only arithmetic and a correctly rounded square root).
fn unit_vector(rng: &mut ChaCha8Rng) -> (f32, f32) {
    // Each try succeeds with probability π/4; 64 failures in a row do not happen in
    // practice, and the fallback keeps the loop bounded.
    for _ in 0..64 {
        let x = 2.0 * unit(rng) - 1.0;
        let y = 2.0 * unit(rng) - 1.0;
        let q = x * x + y * y;
        if q > 1e-4 && q <= 1.0 {
            let n = q.sqrt();
            return (x / n, y / n);
        }
    }
    (1.0, 0.0)
}

/// A square of half-side 0.75 (corners at distance 1.06).
fn inside_square(u: f32, v: f32) -> bool {
    u.abs() <= 0.75 && v.abs() <= 0.75
}

/// An ellipse with semi-axes 1 and 0.55.
fn inside_ellipse(u: f32, v: f32) -> bool {
    let w = v * (1.0 / 0.55);
    u * u + w * w <= 1.0
}

/// An equilateral triangle with circumradius 1, apex up (`v` points down).
fn inside_triangle(u: f32, v: f32) -> bool {
    // Vertices (0, −1), (±√3/2, 0.5): the base is v ≤ 0.5, the sides are
    // √3·|u| − v ≤ 1 (lines through the apex and each base corner).
    const SQRT3: f32 = 1.732_050_8;
    v <= 0.5 && SQRT3 * u.abs() - v <= 1.0
}

/// A heart: a diamond `|x| + |y| ≤ d` with a disc on each upper edge (diameter = the
/// edge), which leaves a clear notch at the top. Its points lie within `1.262·d` of
/// `(0, 0.26·d)`; centred there with `d = 0.82` (radius 1.035).
fn inside_heart(u: f32, v: f32) -> bool {
    const D: f32 = 0.82;
    let x = u.abs();
    let y = 0.26 * D - v; // y up
    let (ex, ey) = (x - 0.5 * D, y - 0.5 * D);
    x + y.abs() <= D || ex * ex + ey * ey <= 0.5 * D * D
}

#[cfg(test)]
mod tests {
    use super::*;

    fn centroid(img: &[f32]) -> (f32, f32) {
        let (mut m, mut mx, mut my) = (0.0f32, 0.0f32, 0.0f32);
        for (i, &p) in img.iter().enumerate() {
            m += p;
            mx += p * (i % SIZE) as f32;
            my += p * (i / SIZE) as f32;
        }
        (mx / m, my / m)
    }

    #[test]
    fn the_same_seed_gives_identical_bytes_and_another_seed_does_not() {
        let a = generate(200, 7);
        let b = generate(200, 7);
        let bits = |d: &Dataset| d.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(a.labels, b.labels);
        let c = generate(200, 8);
        assert_ne!(bits(&a), bits(&c));
    }

    #[test]
    fn the_dataset_is_described_fully() {
        let d = generate(10, 3);
        assert_eq!((d.rows(), d.cols()), (10, 784));
        assert_eq!(d.image_shape, Some(ImageShape { channels: 1, height: 28, width: 28 }));
        assert_eq!(d.source, "synthetic(seed=3)");
        assert_eq!(d.labels.as_ref().map(Vec::len), Some(10));
        assert!(generate(0, 0).is_empty());
    }

    #[test]
    fn values_lie_in_the_unit_interval_and_images_are_not_empty() {
        let d = generate(500, 1);
        let (lo, hi) = d.min_max();
        assert!(lo >= 0.0 && hi <= 1.0, "range {lo}..{hi}");
        for r in 0..d.rows() {
            let row = d.row(r);
            let mass: f32 = row.iter().sum();
            let lit = row.iter().filter(|&&p| p > 0.5).count();
            assert!(mass > 20.0 && lit >= 20, "row {r}: mass {mass}, {lit} bright pixels");
            // The background is black, and the shape never touches the outermost pixels.
            let border: f32 = (0..SIZE)
                .map(|i| row[i] + row[(SIZE - 1) * SIZE + i] + row[i * SIZE] + row[i * SIZE + SIZE - 1])
                .sum();
            assert!(border == 0.0, "row {r}: shape touches the border");
            // Anti-aliasing: some pixels are neither background nor fully covered.
            assert!(row.iter().any(|&p| p > 0.0 && p < 0.75), "row {r} has no soft edge");
        }
    }

    #[test]
    fn every_kind_appears_in_roughly_equal_numbers() {
        let d = generate(4000, 2);
        let mut counts = [0usize; 4];
        for &l in d.labels.as_ref().into_iter().flatten() {
            counts[usize::try_from(l).unwrap()] += 1;
        }
        for (k, &c) in counts.iter().enumerate() {
            assert!((850..1150).contains(&c), "{}: {c} of 4000", KINDS[k]);
        }
        assert_eq!(kind_name(3), Some("heart"));
        assert_eq!(kind_name(4), None);
        assert_eq!(kind_name(-1), None);
    }

    #[test]
    fn shapes_move_and_change_size() {
        let d = generate(300, 5);
        let cs: Vec<(f32, f32)> = (0..d.rows()).map(|r| centroid(d.row(r))).collect();
        let spread = |f: &dyn Fn(&(f32, f32)) -> f32| {
            let v: Vec<f32> = cs.iter().map(f).collect();
            v.iter().cloned().fold(f32::MIN, f32::max) - v.iter().cloned().fold(f32::MAX, f32::min)
        };
        assert!(spread(&|c| c.0) > 10.0, "x centroids barely move");
        assert!(spread(&|c| c.1) > 10.0, "y centroids barely move");
        let masses: Vec<f32> = (0..d.rows()).map(|r| d.row(r).iter().sum()).collect();
        let (lo, hi) = masses.iter().fold((f32::MAX, f32::MIN), |(l, h), &m| (l.min(m), h.max(m)));
        assert!(hi > 2.0 * lo, "sizes barely vary: {lo}..{hi}");
    }

    #[test]
    fn kinds_look_different() {
        // Same position, scale and rotation: the four kinds cover different pixels.
        let mut imgs = Vec::new();
        for kind in 0..4 {
            let s = Shape { kind, cx: 14.0, cy: 14.0, scale: 7.0, cos: 1.0, sin: 0.0, intensity: 1.0 };
            let mut img = vec![0.0f32; SIZE * SIZE];
            s.render(&mut img);
            imgs.push(img);
        }
        for i in 0..4 {
            for j in i + 1..4 {
                let diff: f32 = imgs[i].iter().zip(&imgs[j]).map(|(a, b)| (a - b).abs()).sum();
                assert!(diff > 10.0, "{} and {} look alike ({diff})", KINDS[i], KINDS[j]);
            }
        }
        // The triangle's apex points up: more mass in the lower half.
        let tri = &imgs[2];
        let top: f32 = tri[..SIZE * 14].iter().sum();
        let bottom: f32 = tri[SIZE * 14..].iter().sum();
        assert!(bottom > top, "triangle top {top}, bottom {bottom}");
    }

    #[test]
    fn every_unit_shape_fits_within_its_extent() {
        let n = 400;
        for (k, inside) in [inside_square, inside_ellipse, inside_triangle, inside_heart].iter().enumerate() {
            let mut any = false;
            for i in 0..=n {
                for j in 0..=n {
                    let u = -2.0 + 4.0 * i as f32 / n as f32;
                    let v = -2.0 + 4.0 * j as f32 / n as f32;
                    if inside(u, v) {
                        any = true;
                        assert!((u * u + v * v).sqrt() <= EXTENT, "{} reaches ({u}, {v})", KINDS[k]);
                    }
                }
            }
            assert!(any, "{} is empty", KINDS[k]);
        }
    }

    #[test]
    fn sixty_thousand_images_generate_quickly() {
        let t = std::time::Instant::now();
        let d = generate(60_000, 0);
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(d.rows(), 60_000);
        // Generous: debug-ish test builds on a shared machine.
        assert!(secs < 20.0, "took {secs:.2}s");
    }
}
