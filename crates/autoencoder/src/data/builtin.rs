//! Named datasets (`fashion-mnist`, `mnist`): where their IDX files are looked for,
//! and fetching them into the cache, verified by SHA-256, when they are not found.
//!
//! [`locate`] returns the paths of the two gzip-compressed IDX files (images, labels)
//! of one split; loading them is the IDX reader's job. It looks, in order, in the
//! folder given by `--data-dir`/`AE_DATA_DIR` (and its `<name>/` subfolder), in
//! Debian's `/usr/share/datasets/fashion-mnist/` (package `dataset-fashion-mnist`,
//! Fashion-MNIST only), and in the cache (`<cache>/<name>/`). When none holds both
//! files and downloads are allowed, the missing files are fetched into the cache the
//! way Keras does, from a mirror; a file is kept only when the SHA-256 of its
//! *decompressed* content matches the published checksum, and it is written atomically.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};

/// A dataset known by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Named {
    /// Zalando's Fashion-MNIST: 28×28 grayscale clothing images in 10 classes.
    FashionMnist,
    /// LeCun et al.'s MNIST handwritten digits.
    Mnist,
    /// The built-in procedural shapes (see `data::synthetic`); generated, never located.
    Synthetic,
}

impl Named {
    /// Every named dataset, in the order they are listed to users.
    pub const ALL: [Named; 3] = [Named::FashionMnist, Named::Mnist, Named::Synthetic];

    /// The name as users write it: `fashion-mnist`, `mnist`, `synthetic`.
    pub fn name(self) -> &'static str {
        match self {
            Named::FashionMnist => "fashion-mnist",
            Named::Mnist => "mnist",
            Named::Synthetic => "synthetic",
        }
    }

    /// The mirrors tried, in order, when no mirror is configured. Each is a base URL
    /// that the four IDX file names are appended to.
    ///
    /// Fashion-MNIST: Keras' own mirror (`keras.datasets.fashion_mnist`), then
    /// Zalando's. MNIST: torchvision's mirror, then Google's CVDF mirror (Keras itself
    /// ships MNIST as a single `mnist.npz`, not as IDX files).
    pub fn default_mirrors(self) -> &'static [&'static str] {
        match self {
            Named::FashionMnist => &[
                "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            ],
            Named::Mnist => &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
            ],
            Named::Synthetic => &[],
        }
    }

    /// The names accepted by [`FromStr`], comma-separated, for messages.
    pub fn valid_names() -> String {
        Named::ALL.iter().map(|n| n.name()).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Named {
    type Err = Error;

    /// Parse `fashion-mnist`, `mnist` or `synthetic` (case and `_`/`-` insensitive).
    fn from_str(s: &str) -> Result<Self> {
        let key = s.trim().to_ascii_lowercase().replace('_', "-");
        match key.as_str() {
            "fashion-mnist" | "fashionmnist" => Ok(Named::FashionMnist),
            "mnist" => Ok(Named::Mnist),
            "synthetic" => Ok(Named::Synthetic),
            _ => Err(Error::config(
                "dataset",
                format!("unknown dataset name {s:?}; the named datasets are {}", Named::valid_names()),
            )),
        }
    }
}

/// Which part of a named dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training rows (60,000 for MNIST and Fashion-MNIST).
    Train,
    /// The test rows (10,000 for MNIST and Fashion-MNIST).
    Test,
}

impl Split {
    /// `train` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// The (images, labels) file names of this split, as published.
    pub fn file_names(self) -> (&'static str, &'static str) {
        match self {
            Split::Train => ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
            Split::Test => ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Split {
    type Err = Error;

    /// Parse `train` or `test` (case-insensitive).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" => Ok(Split::Train),
            "test" => Ok(Split::Test),
            _ => Err(Error::config("split", format!("unknown split {s:?}; expected train or test"))),
        }
    }
}

/// Where named datasets are looked for and fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// A folder holding the IDX files (`--data-dir`, `AE_DATA_DIR`), searched first,
    /// itself and then its `<name>/` subfolder.
    pub data_dir: Option<PathBuf>,
    /// The download cache; files live in `<cache_dir>/<name>/`.
    pub cache_dir: PathBuf,
    /// A base URL replacing the default mirrors (the file names are appended to it).
    pub mirror: Option<String>,
    /// Never download; fail when the files are not found locally.
    pub offline: bool,
}

impl Sources {
    /// No data folder, the given cache, default mirrors, downloads allowed.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Sources { data_dir: None, cache_dir: cache_dir.into(), mirror: None, offline: false }
    }

    /// The data folder from `AE_DATA_DIR` (when set and not empty), the cache from
    /// [`default_cache_dir`], default mirrors, downloads allowed.
    pub fn from_env() -> Self {
        let data_dir = std::env::var_os("AE_DATA_DIR").filter(|v| !v.is_empty()).map(PathBuf::from);
        Sources { data_dir, ..Sources::new(default_cache_dir()) }
    }
}

/// The download cache: `$AE_CACHE_DIR`, else `$XDG_CACHE_HOME/autoencoder`, else
/// `~/.cache/autoencoder` (else a folder in the system's temporary directory when no
/// home is known).
pub fn default_cache_dir() -> PathBuf {
    cache_dir_from(|key| std::env::var_os(key))
}

/// [`default_cache_dir`] with the environment supplied by `var` (testable).
fn cache_dir_from(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let set = |key: &str| var(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("AE_CACHE_DIR") {
        return dir;
    }
    // The XDG spec says to ignore relative paths.
    if let Some(dir) = set("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return dir.join("autoencoder");
    }
    match set("HOME").or_else(|| set("USERPROFILE")) {
        Some(home) => home.join(".cache").join("autoencoder"),
        None => std::env::temp_dir().join("autoencoder-cache"),
    }
}

/// Debian's copy of Fashion-MNIST (`apt-get install dataset-fashion-mnist`).
pub const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// Largest download accepted (the largest file, Fashion-MNIST's training images, is
/// 26 MB compressed).
pub const MAX_DOWNLOAD_BYTES: u64 = 100 * 1024 * 1024;

/// Largest decompressed content accepted (the largest file is 47 MB).
#[cfg(feature = "download")]
const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Decode 64 hex digits at compile time.
const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("checksum table: not a lowercase hex digit"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 64, "checksum table: a SHA-256 has 64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// SHA-256 of the decompressed content of each published file (the canonical
/// uncompressed IDX files; the `.gz` wrappers differ between mirrors).
const CHECKSUMS: [(Named, &str, [u8; 32]); 8] = [
    (
        Named::Mnist,
        "train-images-idx3-ubyte.gz",
        hex32("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ),
    (
        Named::Mnist,
        "train-labels-idx1-ubyte.gz",
        hex32("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ),
    (
        Named::Mnist,
        "t10k-images-idx3-ubyte.gz",
        hex32("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ),
    (
        Named::Mnist,
        "t10k-labels-idx1-ubyte.gz",
        hex32("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ),
    (
        Named::FashionMnist,
        "train-images-idx3-ubyte.gz",
        hex32("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    ),
    (
        Named::FashionMnist,
        "train-labels-idx1-ubyte.gz",
        hex32("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    ),
    (
        Named::FashionMnist,
        "t10k-images-idx3-ubyte.gz",
        hex32("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    ),
    (
        Named::FashionMnist,
        "t10k-labels-idx1-ubyte.gz",
        hex32("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    ),
];

/// The published SHA-256 of the decompressed content of `file` of dataset `name`.
pub fn known_sha256(name: Named, file: &str) -> Option<[u8; 32]> {
    CHECKSUMS.iter().find(|(n, f, _)| *n == name && *f == file).map(|(_, _, h)| *h)
}

/// The folders searched for `name`, in order (the cache folder last).
pub fn search_dirs(name: Named, sources: &Sources) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = &sources.data_dir {
        dirs.push(d.clone());
        dirs.push(d.join(name.name()));
    }
    if name == Named::FashionMnist {
        dirs.push(PathBuf::from(DEBIAN_FASHION_MNIST));
    }
    dirs.push(sources.cache_dir.join(name.name()));
    dirs
}

/// The (images, labels) IDX `.gz` files of `split` of `name`: found locally (see the
/// module documentation for the order), else downloaded into the cache unless
/// `sources.offline`. Errors name every folder searched, every URL tried and why it
/// failed, and how to get the files by hand.
pub fn locate(name: Named, split: Split, sources: &Sources) -> Result<(PathBuf, PathBuf)> {
    locate_with(name, split, sources, &known_sha256)
}

/// [`locate`] with the checksums supplied by `checksums(name, file_name)`, which gives
/// the SHA-256 of the decompressed content a download must have (`None` refuses to
/// download that file). For tests and private mirrors of other IDX data.
pub fn locate_with(
    name: Named,
    split: Split,
    sources: &Sources,
    checksums: &dyn Fn(Named, &str) -> Option<[u8; 32]>,
) -> Result<(PathBuf, PathBuf)> {
    if name == Named::Synthetic {
        return Err(Error::Dataset(
            "synthetic is generated, not stored in files: use data::synthetic::generate".to_string(),
        ));
    }
    let (images, labels) = split.file_names();
    let dirs = search_dirs(name, sources);
    let mut looked = Vec::new();
    for dir in &dirs {
        let (i, l) = (dir.join(images), dir.join(labels));
        match (i.is_file(), l.is_file()) {
            (true, true) => return Ok((i, l)),
            (false, false) => looked.push(format!("{} (neither file)", dir.display())),
            (true, false) => looked.push(format!("{} (no {labels})", dir.display())),
            (false, true) => looked.push(format!("{} (no {images})", dir.display())),
        }
    }
    let cache = sources.cache_dir.join(name.name());
    let context = format!("{name} {split}: {images} and {labels} not found; looked in {}", looked.join(", "));
    let advice = how_to_get(name, split, &cache);
    if sources.offline {
        return Err(Error::Dataset(format!("{context}; offline, so nothing was downloaded. {advice}")));
    }
    download_missing(name, sources, &cache, &[images, labels], checksums)
        .map_err(|why| Error::Dataset(format!("{context}; {why}. {advice}")))?;
    Ok((cache.join(images), cache.join(labels)))
}

/// How to get the files of `split` of `name` by hand, as one sentence.
fn how_to_get(name: Named, split: Split, cache: &Path) -> String {
    let (images, labels) = split.file_names();
    let mirror = name.default_mirrors().first().copied().unwrap_or("");
    let apt =
        if name == Named::FashionMnist { "run `apt-get install dataset-fashion-mnist`, or " } else { "" };
    format!(
        "To get them by hand: {apt}download {mirror}{images} and {mirror}{labels} into {} \
         (or into a folder given as data_dir = DIR or AE_DATA_DIR), or set mirror = URL",
        cache.display()
    )
}

/// Fetch each of `files` that is not in `cache` yet. On failure, says which URLs were
/// tried and why each failed.
#[cfg(feature = "download")]
fn download_missing(
    name: Named,
    sources: &Sources,
    cache: &Path,
    files: &[&str],
    checksums: &dyn Fn(Named, &str) -> Option<[u8; 32]>,
) -> std::result::Result<(), String> {
    let mirrors: Vec<String> = match &sources.mirror {
        Some(m) => vec![m.clone()],
        None => name.default_mirrors().iter().map(|m| m.to_string()).collect(),
    };
    for file in files {
        let dest = cache.join(file);
        if dest.is_file() {
            continue;
        }
        let Some(expected) = checksums(name, file) else {
            return Err(format!("no SHA-256 is known for {file}, so it was not downloaded"));
        };
        if let Err(e) = std::fs::create_dir_all(cache) {
            return Err(format!("cannot create the download folder {}: {e}", cache.display()));
        }
        let mut failures = Vec::new();
        for base in &mirrors {
            let url = join_url(base, file);
            match fetch_verified(&url, &dest, &expected, MAX_DOWNLOAD_BYTES) {
                Ok(()) => break,
                Err(e) => failures.push(e.to_string()),
            }
        }
        if !dest.is_file() {
            return Err(format!("download failed: {}", failures.join("; ")));
        }
    }
    Ok(())
}

/// Without the `download` feature nothing is fetched.
#[cfg(not(feature = "download"))]
fn download_missing(
    _name: Named,
    _sources: &Sources,
    _cache: &Path,
    _files: &[&str],
    _checksums: &dyn Fn(Named, &str) -> Option<[u8; 32]>,
) -> std::result::Result<(), String> {
    Err("this build cannot download (it was built without the `download` feature)".to_string())
}

/// `base` and `file` joined by exactly one `/`.
#[cfg(feature = "download")]
fn join_url(base: &str, file: &str) -> String {
    format!("{}/{file}", base.trim_end_matches('/'))
}

/// Lowercase hex of a digest.
#[cfg(feature = "download")]
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Download `url` (at most `limit` bytes) and write it to `dest` atomically, but only
/// when the SHA-256 of its decompressed content is `expected`. The file written is
/// always gzip-compressed: content that arrives already decompressed (a server's
/// `Content-Encoding: gzip`, undone by the HTTP client) is compressed again. Nothing is
/// written on any failure. Errors start with the URL.
#[cfg(feature = "download")]
fn fetch_verified(url: &str, dest: &Path, expected: &[u8; 32], limit: u64) -> Result<()> {
    use std::time::Duration;

    let fail = |what: String| Error::Dataset(format!("{url}: {what}"));
    let loopback = url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:");
    let mut config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_recv_body(Some(Duration::from_secs(600)))
        .user_agent(concat!("autoencoder/", env!("CARGO_PKG_VERSION")));
    if loopback {
        // A local server is never reached through a proxy.
        config = config.proxy(None);
    }
    let agent: ureq::Agent = config.build().into();
    let describe = |e: ureq::Error| match e {
        ureq::Error::StatusCode(code) => format!("HTTP status {code}"),
        ureq::Error::BodyExceedsLimit(n) => format!("larger than the {n}-byte limit"),
        other => other.to_string(),
    };
    let mut response = agent.get(url).call().map_err(|e| fail(describe(e)))?;
    let body = response.body_mut().with_config().limit(limit).read_to_vec().map_err(|e| fail(describe(e)))?;

    let gzipped = body.starts_with(&[0x1f, 0x8b]);
    let digest = if gzipped {
        let decoder = flate2::read::MultiGzDecoder::new(body.as_slice());
        sha256_limited(decoder, MAX_DECOMPRESSED_BYTES)
            .map_err(|e| fail(format!("not valid gzip data ({e}); nothing was saved")))?
    } else {
        sha256_limited(body.as_slice(), MAX_DECOMPRESSED_BYTES)
            .map_err(|e| fail(format!("cannot read the content ({e}); nothing was saved")))?
    };
    if &digest != expected {
        return Err(fail(format!(
            "SHA-256 of the decompressed content is {}, expected {}; the file is corrupt or not the \
             published one, and was not saved",
            hex(&digest),
            hex(expected)
        )));
    }
    if gzipped {
        crate::atomic::write_atomic(dest, &body)
    } else {
        crate::atomic::write_atomic_with(dest, |w| {
            let mut enc = flate2::write::GzEncoder::new(w, flate2::Compression::default());
            std::io::Write::write_all(&mut enc, &body)?;
            enc.finish().map(|_| ())
        })
    }
}

/// SHA-256 of everything `reader` yields, failing beyond `limit` bytes.
#[cfg(feature = "download")]
fn sha256_limited(reader: impl std::io::Read, limit: u64) -> std::io::Result<[u8; 32]> {
    use sha2::Digest;

    let mut hasher = sha2::Sha256::new();
    let n = std::io::copy(&mut reader.take(limit + 1), &mut hasher)?;
    if n > limit {
        return Err(std::io::Error::other(format!("decompresses to more than {limit} bytes")));
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_data;
    use std::io::Read;

    fn gunzip(path: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut out).unwrap();
        out
    }

    fn sha256(bytes: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(bytes).into()
    }

    fn touch(dir: &Path, names: &[&str]) {
        std::fs::create_dir_all(dir).unwrap();
        for n in names {
            std::fs::write(dir.join(n), b"x").unwrap();
        }
    }

    #[test]
    fn names_parse_and_unknown_names_list_the_valid_ones() {
        assert_eq!("fashion-mnist".parse::<Named>().unwrap(), Named::FashionMnist);
        assert_eq!(" Fashion_MNIST ".parse::<Named>().unwrap(), Named::FashionMnist);
        assert_eq!("mnist".parse::<Named>().unwrap(), Named::Mnist);
        assert_eq!("synthetic".parse::<Named>().unwrap(), Named::Synthetic);
        let e = "cifar10".parse::<Named>().unwrap_err().to_string();
        assert!(e.contains("cifar10") && e.contains("fashion-mnist, mnist, synthetic"), "{e}");
        for n in Named::ALL {
            assert_eq!(n.to_string().parse::<Named>().unwrap(), n);
        }
        assert_eq!("TEST".parse::<Split>().unwrap(), Split::Test);
        assert!("valid".parse::<Split>().unwrap_err().to_string().contains("train or test"));
    }

    #[test]
    fn the_cache_dir_follows_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| OsString::from(v))
        };
        assert_eq!(cache_dir_from(env(&[("AE_CACHE_DIR", "/c"), ("HOME", "/h")])), PathBuf::from("/c"));
        assert_eq!(
            cache_dir_from(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            PathBuf::from("/x/autoencoder")
        );
        assert_eq!(
            cache_dir_from(env(&[("AE_CACHE_DIR", ""), ("XDG_CACHE_HOME", "rel"), ("HOME", "/h")])),
            PathBuf::from("/h/.cache/autoencoder")
        );
        assert!(cache_dir_from(env(&[])).ends_with("autoencoder-cache"));
    }

    #[test]
    fn every_published_file_has_a_checksum() {
        for name in [Named::FashionMnist, Named::Mnist] {
            for split in [Split::Train, Split::Test] {
                let (i, l) = split.file_names();
                assert!(known_sha256(name, i).is_some() && known_sha256(name, l).is_some());
            }
        }
        assert_eq!(known_sha256(Named::Synthetic, "train-images-idx3-ubyte.gz"), None);
        assert_eq!(known_sha256(Named::Mnist, "mnist.npz"), None);
    }

    /// The table agrees with the real files: MNIST in the shared data folder, Fashion-MNIST
    /// in Debian's (each skipped, with a message, where absent; an error under CI).
    #[test]
    fn real_data_checksum_table_matches_local_copies() {
        let test = "real_data_checksum_table_matches_local_copies";
        assert_eq!(test_data::FASHION_MNIST, DEBIAN_FASHION_MNIST);
        for (name, dir) in [
            (Named::Mnist, test_data::shared(test, "mnist")),
            (Named::FashionMnist, test_data::fashion_mnist(test)),
        ] {
            let Some(dir) = dir else { continue };
            for split in [Split::Train, Split::Test] {
                let (i, l) = split.file_names();
                for f in [i, l] {
                    let p = dir.join(f);
                    assert!(p.is_file(), "{} is missing", p.display());
                    assert_eq!(Some(sha256(&gunzip(&p))), known_sha256(name, f), "{}", p.display());
                }
            }
        }
    }

    #[test]
    fn the_data_dir_is_searched_first_then_its_subfolder_then_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let cache = tmp.path().join("cache");
        let sources = Sources { data_dir: Some(data.clone()), offline: true, ..Sources::new(&cache) };
        let (i, l) = Split::Test.file_names();

        touch(&cache.join("mnist"), &[i, l]);
        assert_eq!(locate(Named::Mnist, Split::Test, &sources).unwrap().0, cache.join("mnist").join(i));
        touch(&data.join("mnist"), &[i, l]);
        assert_eq!(locate(Named::Mnist, Split::Test, &sources).unwrap().0, data.join("mnist").join(i));
        touch(&data, &[i]); // half a pair does not count
        assert_eq!(locate(Named::Mnist, Split::Test, &sources).unwrap().1, data.join("mnist").join(l));
        touch(&data, &[l]);
        assert_eq!(locate(Named::Mnist, Split::Test, &sources).unwrap(), (data.join(i), data.join(l)));
    }

    #[test]
    fn real_data_fashion_mnist_is_found_in_debians_folder() {
        let (i, l) = Split::Train.file_names();
        let Some(debian) = test_data::fashion_mnist("real_data_fashion_mnist_is_found_in_debians_folder")
        else {
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let sources = Sources { offline: true, ..Sources::new(tmp.path()) };
        assert_eq!(
            locate(Named::FashionMnist, Split::Train, &sources).unwrap(),
            (debian.join(i), debian.join(l))
        );
    }

    #[test]
    fn offline_fails_without_network_and_names_every_folder_searched() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("mine");
        // The mirror is a closed port: offline mode must not even try it.
        let sources = Sources {
            data_dir: Some(data.clone()),
            cache_dir: tmp.path().join("cache"),
            mirror: Some("http://127.0.0.1:9/".to_string()),
            offline: true,
        };
        let e = locate(Named::Mnist, Split::Train, &sources).unwrap_err().to_string();
        for needle in [
            "mnist train",
            "offline",
            "train-images-idx3-ubyte.gz",
            &data.display().to_string(),
            &data.join("mnist").display().to_string(),
            &tmp.path().join("cache").join("mnist").display().to_string(),
            "data_dir = DIR",
        ] {
            assert!(e.contains(needle), "missing {needle:?} in: {e}");
        }
        assert!(!e.contains("127.0.0.1"), "offline mode mentions a download: {e}");
        assert!(!e.contains('\n'), "not one line: {e}");
        assert!(!tmp.path().join("cache").exists(), "offline mode created the cache");

        if !Path::new(DEBIAN_FASHION_MNIST).join("t10k-images-idx3-ubyte.gz").is_file() {
            let e = locate(Named::FashionMnist, Split::Test, &sources).unwrap_err().to_string();
            assert!(
                e.contains(DEBIAN_FASHION_MNIST) && e.contains("apt-get install dataset-fashion-mnist"),
                "{e}"
            );
        }
    }

    #[test]
    fn the_advice_names_the_files_the_folder_and_the_package() {
        let a = how_to_get(Named::FashionMnist, Split::Test, Path::new("/c/fashion-mnist"));
        for needle in [
            "apt-get install dataset-fashion-mnist",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "/c/fashion-mnist",
            "AE_DATA_DIR",
        ] {
            assert!(a.contains(needle), "missing {needle:?} in: {a}");
        }
        assert!(!how_to_get(Named::Mnist, Split::Train, Path::new("/c")).contains("apt-get"));
    }

    #[test]
    fn synthetic_is_not_located() {
        let tmp = tempfile::tempdir().unwrap();
        let e = locate(Named::Synthetic, Split::Train, &Sources::new(tmp.path())).unwrap_err();
        assert!(e.to_string().contains("synthetic"));
    }

    #[cfg(feature = "download")]
    mod download {
        use super::*;
        use std::io::Write;
        use std::net::TcpListener;
        use std::thread::JoinHandle;
        use std::time::{Duration, Instant};

        /// A tiny IDX file: `n` 28×28 images, or `n` labels.
        fn idx(images: bool, n: u8) -> Vec<u8> {
            let mut v = Vec::new();
            if images {
                v.extend_from_slice(&[0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, 28, 0, 0, 0, 28]);
                v.extend((0..usize::from(n) * 784).map(|i| (i % 251) as u8));
            } else {
                v.extend_from_slice(&[0, 0, 8, 1, 0, 0, 0, n]);
                v.extend((0..n).map(|i| i % 10));
            }
            v
        }

        fn gzip(bytes: &[u8]) -> Vec<u8> {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }

        /// Serve `routes` (path → status, body) on 127.0.0.1 for at most `max` requests
        /// or 20 seconds, whichever comes first; returns the base URL and the server
        /// thread, which yields the paths requested.
        fn serve(routes: Vec<(String, u16, Vec<u8>)>, max: usize) -> (String, JoinHandle<Vec<String>>) {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let base = format!("http://{}/", listener.local_addr().unwrap());
            let handle = std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(20);
                let mut seen = Vec::new();
                while seen.len() < max && Instant::now() < deadline {
                    let mut stream = match listener.accept() {
                        Ok((s, _)) => s,
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                    };
                    stream.set_nonblocking(false).unwrap();
                    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let mut req = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(k) => req.extend_from_slice(&buf[..k]),
                        }
                    }
                    let line = String::from_utf8_lossy(&req).lines().next().unwrap_or("").to_string();
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let (status, body) = routes
                        .iter()
                        .find(|(p, _, _)| *p == path)
                        .map(|(_, s, b)| (*s, b.clone()))
                        .unwrap_or((404, b"not found".to_vec()));
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body));
                    seen.push(path);
                }
                seen
            });
            (base, handle)
        }

        fn fixture_checksums(images: Vec<u8>, labels: Vec<u8>) -> impl Fn(Named, &str) -> Option<[u8; 32]> {
            move |_, f| {
                if f.contains("images") {
                    Some(sha256(&images))
                } else if f.contains("labels") {
                    Some(sha256(&labels))
                } else {
                    None
                }
            }
        }

        #[test]
        fn a_verified_download_lands_in_the_cache_and_is_found_next_time_offline() {
            let (imgs, lbls) = (idx(true, 3), idx(false, 3));
            let (i, l) = Split::Train.file_names();
            let (base, server) = serve(
                vec![(format!("/mirror/{i}"), 200, gzip(&imgs)), (format!("/mirror/{l}"), 200, gzip(&lbls))],
                2,
            );
            let tmp = tempfile::tempdir().unwrap();
            let sources = Sources { mirror: Some(format!("{base}mirror")), ..Sources::new(tmp.path()) };
            let sums = fixture_checksums(imgs.clone(), lbls.clone());
            let (pi, pl) = locate_with(Named::Mnist, Split::Train, &sources, &sums).unwrap();
            let cache = tmp.path().join("mnist");
            assert_eq!((pi.clone(), pl.clone()), (cache.join(i), cache.join(l)));
            assert_eq!(gunzip(&pi), imgs);
            assert_eq!(gunzip(&pl), lbls);
            assert_eq!(server.join().unwrap(), vec![format!("/mirror/{i}"), format!("/mirror/{l}")]);
            // Only the two files: no temporary file is left behind.
            assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);

            // The server is gone; offline, the cached copy is found.
            let offline = Sources { offline: true, ..sources };
            assert_eq!(locate_with(Named::Mnist, Split::Train, &offline, &sums).unwrap(), (pi, pl));
        }

        #[test]
        fn content_that_arrives_decompressed_is_verified_and_stored_gzipped() {
            let (imgs, lbls) = (idx(true, 1), idx(false, 1));
            let (i, l) = Split::Test.file_names();
            let (base, server) =
                serve(vec![(format!("/{i}"), 200, imgs.clone()), (format!("/{l}"), 200, gzip(&lbls))], 2);
            let tmp = tempfile::tempdir().unwrap();
            let sources = Sources { mirror: Some(base), ..Sources::new(tmp.path()) };
            let sums = fixture_checksums(imgs.clone(), lbls);
            let (pi, _) = locate_with(Named::Mnist, Split::Test, &sources, &sums).unwrap();
            assert_eq!(std::fs::read(&pi).unwrap()[..2], [0x1f, 0x8b]);
            assert_eq!(gunzip(&pi), imgs);
            server.join().unwrap();
        }

        #[test]
        fn a_checksum_mismatch_is_refused_and_leaves_nothing_in_the_cache() {
            let (imgs, lbls) = (idx(true, 2), idx(false, 2));
            let (i, l) = Split::Train.file_names();
            let mut tampered = imgs.clone();
            tampered[100] ^= 1;
            let (base, server) =
                serve(vec![(format!("/{i}"), 200, gzip(&tampered)), (format!("/{l}"), 200, gzip(&lbls))], 1);
            let tmp = tempfile::tempdir().unwrap();
            let sources = Sources { mirror: Some(base.clone()), ..Sources::new(tmp.path()) };
            let e = locate_with(Named::Mnist, Split::Train, &sources, &fixture_checksums(imgs.clone(), lbls))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("{base}{i}")) && e.contains("SHA-256"), "{e}");
            assert!(e.contains(&hex(&sha256(&tampered))) && e.contains(&hex(&sha256(&imgs))), "{e}");
            assert!(!e.contains('\n'), "{e}");
            server.join().unwrap();
            let cache = tmp.path().join("mnist");
            let left: Vec<_> = std::fs::read_dir(&cache).map(|d| d.flatten().collect()).unwrap_or_default();
            assert!(left.is_empty(), "left in the cache: {left:?}");
        }

        #[test]
        fn a_missing_file_on_the_mirror_names_the_url_and_the_status() {
            let (base, server) = serve(Vec::new(), 1);
            let tmp = tempfile::tempdir().unwrap();
            let sources = Sources { mirror: Some(base.clone()), ..Sources::new(tmp.path()) };
            let sums = |_: Named, _: &str| Some([0u8; 32]);
            let e = locate_with(Named::Mnist, Split::Test, &sources, &sums).unwrap_err().to_string();
            let url = format!("{base}t10k-images-idx3-ubyte.gz");
            assert!(e.contains(&url) && e.contains("404"), "{e}");
            assert!(e.contains(&tmp.path().join("mnist").display().to_string()), "{e}");
            assert!(e.contains("To get them by hand"), "{e}");
            assert_eq!(server.join().unwrap(), vec!["/t10k-images-idx3-ubyte.gz".to_string()]);
        }

        #[test]
        fn downloads_over_the_limit_are_refused() {
            let (base, server) = serve(vec![("/big".to_string(), 200, vec![7u8; 5000])], 1);
            let tmp = tempfile::tempdir().unwrap();
            let dest = tmp.path().join("big");
            let e = fetch_verified(&format!("{base}big"), &dest, &[0; 32], 1000).unwrap_err().to_string();
            assert!(e.contains("big") && e.contains("limit"), "{e}");
            assert!(!dest.exists());
            server.join().unwrap();
        }

        #[test]
        fn a_refused_connection_is_reported_with_the_url() {
            // Bind then drop a listener: the port is (almost certainly) closed.
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let tmp = tempfile::tempdir().unwrap();
            let url = format!("http://127.0.0.1:{port}/x.gz");
            let e = fetch_verified(&url, &tmp.path().join("x.gz"), &[0; 32], 1000).unwrap_err().to_string();
            assert!(e.starts_with(&url), "{e}");
        }

        #[test]
        fn urls_are_joined_with_one_slash() {
            assert_eq!(join_url("http://h/a/", "f.gz"), "http://h/a/f.gz");
            assert_eq!(join_url("http://h/a", "f.gz"), "http://h/a/f.gz");
        }
    }
}
