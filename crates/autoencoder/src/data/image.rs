//! Image files (PNG, JPEG) and folders of them as a [`Dataset`]: each image resized to one
//! size, grayscale or RGB, pixels scaled to `[0, 1]`, stored channel-major; a folder's
//! first-level sub-folders name the classes (labels `0, 1, …` in sorted name order).
//!
//! Decoding uses the `image` crate with limits on the declared size, so a header that
//! claims a huge picture is refused before its pixels are allocated.
//!
//! Decoding needs the `image` feature (on by default); without it, [`load`] answers
//! with an error that names the feature, and the options and the header and extension
//! checks remain.

use std::path::{Path, PathBuf};

use crate::data::dataset::{Dataset, ImageShape};
use crate::error::{Error, Result};

/// Largest width or height accepted from a file's header.
pub const MAX_SIDE: u32 = 8192;

/// Largest decoded image accepted (bytes of pixels), 64 MiB: a few hundred bytes of PNG
/// can declare a picture of gigabytes (found by fuzzing: 434 bytes decoding to 180 MB).
pub const MAX_IMAGE_BYTES: u64 = 64 << 20;

/// The extensions taken from a folder (case-insensitive).
pub const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];

/// How to read images.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageOptions {
    /// The size and channels (1 or 3) every image is converted to; `None` takes the first
    /// image's size, and 3 channels when it is in colour, 1 otherwise.
    pub shape: Option<ImageShape>,
    /// Without `shape`: the height and width to resize to (else the first image's).
    pub size: Option<(usize, usize)>,
    /// Without `shape`: 1 (grayscale) or 3 (RGB) channels (else the first image's).
    pub channels: Option<usize>,
    /// Skip files that cannot be read (counted in [`Loaded::skipped`]) instead of failing.
    pub skip_bad: bool,
}

/// Images read, and the files skipped with `skip_bad` (path, why).
#[derive(Debug)]
pub struct Loaded {
    /// The rows, with `image_shape` and, for class folders, labels and class names.
    pub data: Dataset,
    /// The class name of each label, when the images came from class folders.
    pub classes: Option<Vec<String>>,
    /// Files that could not be read.
    pub skipped: Vec<(PathBuf, String)>,
}

/// True when `path` has an image extension.
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// True when `head` (a file's first bytes) starts with the PNG or JPEG signature.
pub fn is_image_header(head: &[u8]) -> bool {
    head.starts_with(b"\x89PNG\r\n\x1a\n") || head.starts_with(&[0xff, 0xd8, 0xff])
}

/// The image files of `paths`: files as given, folders searched recursively (sorted), with
/// the class (first-level sub-folder name) of each file found in a folder.
#[cfg(feature = "image")]
fn collect(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Option<String>)>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            if found.is_empty() {
                return Err(Error::format(p, "the folder holds no .png, .jpg or .jpeg files"));
            }
            for f in found {
                let rel = f.strip_prefix(p).unwrap_or(&f);
                let class = (rel.components().count() > 1)
                    .then(|| rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()))
                    .flatten();
                out.push((f, class));
            }
        } else {
            out.push((p.clone(), None));
        }
    }
    Ok(out)
}

#[cfg(feature = "image")]
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let p = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&p, e))?;
        if kind.is_dir() {
            walk(&p, out)?;
        } else if is_image_path(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Decode one image file with size limits.
#[cfg(feature = "image")]
pub fn decode(path: &Path) -> Result<image::DynamicImage> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    if reader.format().is_none() {
        return Err(Error::format(path, "not a PNG or JPEG image"));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_IMAGE_BYTES);
    let mut reader = reader;
    reader.limits(limits);
    reader.decode().map_err(|e| Error::format(path, format!("cannot decode the image: {e}")))
}

/// `img` resized to `shape` and scaled to `[0, 1]`, channel-major.
#[cfg(feature = "image")]
pub fn to_pixels(img: &image::DynamicImage, shape: ImageShape) -> Vec<f32> {
    let (w, h) = (shape.width as u32, shape.height as u32);
    let resize = |i: &image::DynamicImage| {
        if i.width() == w && i.height() == h {
            i.clone()
        } else {
            i.resize_exact(w, h, image::imageops::FilterType::Triangle)
        }
    };
    let plane = shape.height * shape.width;
    if shape.channels == 1 {
        resize(img).to_luma8().into_raw().into_iter().map(|v| f32::from(v) / 255.0).collect()
    } else {
        let rgb = resize(img).to_rgb8().into_raw();
        let mut out = vec![0.0f32; 3 * plane];
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            for c in 0..3 {
                out[c * plane + i] = f32::from(px[c]) / 255.0;
            }
        }
        out
    }
}

/// Read image files and folders of images (see the module docs).
#[cfg(feature = "image")]
pub fn load(paths: &[PathBuf], opts: &ImageOptions) -> Result<Loaded> {
    let files = collect(paths)?;
    let mut shape = opts.shape;
    if let (None, Some((h, w)), Some(c)) = (shape, opts.size, opts.channels) {
        shape = Some(ImageShape { channels: c, height: h, width: w });
    }
    if opts.channels.is_some_and(|c| c != 1 && c != 3) || opts.size.is_some_and(|(h, w)| h == 0 || w == 0) {
        return Err(Error::config("image size", "images have 1 or 3 channels and a non-zero size"));
    }
    if let Some(s) = shape {
        if !(s.channels == 1 || s.channels == 3) || s.height == 0 || s.width == 0 {
            return Err(Error::config(
                "image shape",
                format!(
                    "{}×{}×{}: images have 1 or 3 channels and a non-zero size",
                    s.channels, s.height, s.width
                ),
            ));
        }
    }
    let mut values = Vec::new();
    let mut classes_of = Vec::new();
    let mut skipped = Vec::new();
    for (path, class) in &files {
        let img = match decode(path) {
            Ok(i) => i,
            Err(e) if opts.skip_bad => {
                skipped.push((path.clone(), e.to_string()));
                continue;
            }
            Err(e) => return Err(e),
        };
        let s = *shape.get_or_insert_with(|| ImageShape {
            channels: opts.channels.unwrap_or(if img.color().has_color() { 3 } else { 1 }),
            height: opts.size.map_or(img.height() as usize, |z| z.0),
            width: opts.size.map_or(img.width() as usize, |z| z.1),
        });
        if s.len() > crate::data::dataset::MAX_WIDTH {
            return Err(Error::format(
                path,
                format!(
                    "a {}×{} image with {} channel(s) is {} values per row, more than a model takes ({}); give a smaller size",
                    s.width,
                    s.height,
                    s.channels,
                    s.len(),
                    crate::data::dataset::MAX_WIDTH
                ),
            ));
        }
        values.extend(to_pixels(&img, s));
        classes_of.push(class.clone());
    }
    let rows = classes_of.len();
    let Some(shape) = shape.filter(|_| rows > 0) else {
        let what = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        return Err(Error::Data(format!("{what}: no image could be read ({} skipped)", skipped.len())));
    };
    let source = match paths {
        [one] => one.display().to_string(),
        _ => format!("{} image files", paths.len()),
    };
    let mut data = Dataset::new(values, rows, shape.len(), source)?.with_image_shape(shape)?;
    let mut classes = None;
    if classes_of.iter().all(Option::is_some) {
        let mut names: Vec<String> = classes_of.iter().flatten().cloned().collect();
        names.sort();
        names.dedup();
        let labels =
            classes_of.iter().flatten().map(|c| names.binary_search(c).map_or(0, |i| i as i64)).collect();
        data = data.with_labels(labels)?;
        classes = Some(names);
    }
    Ok(Loaded { data, classes, skipped })
}

/// Without the `image` feature: an error naming the feature.
#[cfg(not(feature = "image"))]
pub fn load(paths: &[PathBuf], _opts: &ImageOptions) -> Result<Loaded> {
    let what = paths.first().map_or_else(|| Path::new("images").to_path_buf(), Clone::clone);
    Err(Error::format(
        what,
        "PNG and JPEG images need the `image` feature of the autoencoder crate (built without it)",
    ))
}

#[cfg(all(test, not(feature = "image")))]
mod without_the_feature {
    #[test]
    fn loading_names_the_feature() {
        let e = super::load(&["a.png".into()], &super::ImageOptions::default()).unwrap_err();
        assert!(e.to_string().contains("a.png: PNG and JPEG images need the `image` feature"), "{e}");
    }
}

#[cfg(all(test, feature = "image"))]
mod tests {
    use super::*;

    fn write_png(path: &Path, w: u32, h: u32, rgb: bool, seed: u8) {
        if rgb {
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([(x as u8).wrapping_mul(seed), (y as u8).wrapping_mul(3), seed])
            });
            img.save(path).unwrap();
        } else {
            let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([(x + y) as u8 * seed]));
            img.save(path).unwrap();
        }
    }

    #[test]
    fn a_folder_of_mixed_sizes_and_formats_loads_with_class_labels() {
        let dir = tempfile::tempdir().unwrap();
        for (class, n) in [("cats", 2), ("dogs", 3)] {
            std::fs::create_dir(dir.path().join(class)).unwrap();
            for i in 0..n {
                write_png(&dir.path().join(format!("{class}/{i}.png")), 10 + i, 12, i == 1, 7);
            }
        }
        let jpg = image::RgbImage::from_fn(20, 16, |x, _| image::Rgb([x as u8 * 10, 50, 200]));
        jpg.save(dir.path().join("dogs/x.JPG")).unwrap();
        std::fs::write(dir.path().join("dogs/notes.txt"), "not an image").unwrap();
        let opts = ImageOptions {
            shape: Some(ImageShape { channels: 3, height: 8, width: 8 }),
            ..ImageOptions::default()
        };
        let l = load(&[dir.path().to_path_buf()], &opts).unwrap();
        assert_eq!(l.data.rows(), 6);
        assert_eq!(l.data.cols(), 3 * 64);
        assert_eq!(l.classes.as_deref(), Some(&["cats".to_string(), "dogs".to_string()][..]));
        assert_eq!(l.data.labels.as_deref(), Some(&[0, 0, 1, 1, 1, 1][..]));
        assert!(l.data.as_slice().iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn the_first_image_sets_the_shape_and_pixels_are_exact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        let img = image::GrayImage::from_fn(3, 2, |x, y| image::Luma([(x * 100 + y * 10) as u8]));
        img.save(&p).unwrap();
        let l = load(std::slice::from_ref(&p), &ImageOptions::default()).unwrap();
        assert_eq!(l.data.image_shape, Some(ImageShape { channels: 1, height: 2, width: 3 }));
        let want: Vec<f32> = [0u8, 100, 200, 10, 110, 210].iter().map(|&v| f32::from(v) / 255.0).collect();
        assert_eq!(l.data.as_slice(), &want[..]);
        assert!(l.data.labels.is_none());
    }

    /// Found by fuzzing: 434 bytes of JPEG declaring 14344 × 12552 pixels (180 MB decoded,
    /// 720 MB as f32 rows) are refused before decoding.
    #[test]
    fn a_decompression_bomb_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bomb.jpg");
        std::fs::write(&p, include_bytes!("../../tests/fixtures/image-bomb.jpg")).unwrap();
        for shape in [None, Some(ImageShape { channels: 1, height: 8, width: 8 })] {
            let e = load(std::slice::from_ref(&p), &ImageOptions { shape, ..ImageOptions::default() })
                .unwrap_err()
                .to_string();
            assert!(e.contains("bomb.jpg"), "{e}");
        }
    }

    #[test]
    fn broken_images_are_named_or_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        write_png(&dir.path().join("good.png"), 5, 5, false, 3);
        let mut bytes = Vec::new();
        image::GrayImage::new(40, 40)
            .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
            .unwrap();
        std::fs::write(dir.path().join("truncated.png"), &bytes[..bytes.len() / 2]).unwrap();
        std::fs::write(dir.path().join("garbage.jpg"), b"\xff\xd8\xff nonsense").unwrap();
        let e = load(&[dir.path().to_path_buf()], &ImageOptions::default()).unwrap_err().to_string();
        assert!(e.contains("garbage.jpg"), "{e}");
        let l =
            load(&[dir.path().to_path_buf()], &ImageOptions { skip_bad: true, ..ImageOptions::default() })
                .unwrap();
        let small =
            ImageOptions { size: Some((3, 4)), channels: Some(3), skip_bad: true, ..ImageOptions::default() };
        let resized = load(&[dir.path().to_path_buf()], &small).unwrap();
        assert_eq!(resized.data.image_shape, Some(ImageShape { channels: 3, height: 3, width: 4 }));
        assert_eq!(l.data.rows(), 1);
        assert_eq!(l.skipped.len(), 2);
        // A PNG header declaring a 100000 × 100000 image is refused before decoding.
        let mut huge = bytes.clone();
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let p = dir.path().join("huge.png");
        std::fs::write(&p, &huge).unwrap();
        let e = load(&[p], &ImageOptions::default()).unwrap_err().to_string();
        assert!(e.contains("huge.png"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = load(&[empty.path().to_path_buf()], &ImageOptions::default()).unwrap_err().to_string();
        assert!(e.contains("no .png"), "{e}");
    }
}
