//! Safe file writes: every file the library or a front writes goes through here, so a
//! reader never sees half a file, an input is never destroyed and a shared folder
//! cannot be used to redirect a write.
//!
//! Internal: public (and `#[doc(hidden)]`) only for the `ae` command and the tests; not
//! part of the library's promised API, and it may change in any release.
//!
//! A regular file (new or existing) is written to an unpredictable temporary name in the
//! target's folder, created with `O_EXCL` (the `tempfile` crate), fsynced and renamed over
//! the target; the replaced file's permission bits (and owner, where the process may set
//! it) are kept, and a new file gets the umask's mode, as `open(2)` would give it. An
//! existing target that is not a regular file (`/dev/null`, `/dev/full`, a FIFO, a
//! terminal) is written through, never replaced. The path `-` is the process's standard
//! output, as for most Unix tools (written through; a failure part-way leaves what was
//! already sent, as a pipe must). Temporary names are
//! `.NAME.PID.RANDOM.tmp` (NAME shortened so that the whole stays within 255 bytes);
//! the next write to the same target removes those whose process is gone, and
//! [`remove_temporaries`] removes this process's own on an exit that skips destructors
//! (a second Ctrl-C).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// The longest file name (in bytes) most file systems accept.
pub const NAME_MAX: usize = 255;

/// Bytes of the target's name kept in a temporary name: room is left for the dot, the
/// process id, the random part and the suffix within [`NAME_MAX`].
const TEMP_NAME_KEEP: usize = NAME_MAX - 40;

/// The random characters in a temporary name.
const TEMP_RANDOM: usize = 10;

/// Temporary files this process has open and lock files it holds, removed by
/// [`remove_temporaries`]. A file is made and put on the list under its lock, so that
/// the removal sees every file this process made.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Set by [`remove_temporaries`], under [`LIVE`]'s lock: the process is ending.
static ENDING: AtomicBool = AtomicBool::new(false);

/// The list of live files, locked.
fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a write does once [`remove_temporaries`] has run (its caller ends the process,
/// from another thread): it waits for the end, rather than make a file nothing would
/// remove, or report the error of a temporary file removed under it, whose exit status
/// would race the caller's.
fn wait_for_the_end() -> ! {
    loop {
        std::thread::park();
    }
}

/// Write `bytes` to `path` safely (see the module documentation).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Stream content into `path` safely: `fill` writes into a buffered temporary file that
/// replaces `path` only when `fill` and the fsync succeed; an existing `path` that is not
/// a regular file (a device, a FIFO) is written through instead.
pub fn write_atomic_with<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut (dyn Write + Send)) -> std::io::Result<()>,
{
    match Target::of(path)? {
        Target::Special => write_through(path, fill).map_err(|e| unwrap_fill(path, e)),
        Target::Stdout => {
            let mut w = std::io::BufWriter::new(std::io::stdout());
            fill(&mut w).and_then(|()| w.flush()).map_err(|e| unwrap_fill(Path::new("<stdout>"), e))
        }
        Target::File { path: target, existing } => replace(&target, existing.as_ref(), fill),
    }
}

/// [`write_atomic_with`] for a `fill` that does more than write, and so may fail with
/// any error: what it returns is returned as it is, and nothing replaces `path`. (Its
/// own write errors it names itself, with [`Error::io`]; a long computation whose
/// results are written as they come, such as scores a part of the data at a time, is
/// one.)
pub fn write_atomic_try<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut (dyn Write + Send)) -> Result<()>,
{
    write_atomic_with(path, |w| fill(w).map_err(std::io::Error::other))
}

/// The error of a write to `path`: a library error that [`write_atomic_try`]'s `fill`
/// returned, as it was, else the I/O error with the path.
fn unwrap_fill(path: &Path, e: std::io::Error) -> Error {
    if !e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Error::io(path, e);
    }
    let kind = e.kind();
    match e.into_inner().map(|b| b.downcast::<Error>()) {
        Some(Ok(inner)) => *inner,
        // (Not reached: the inner error was checked to be the library's.)
        Some(Err(other)) => Error::io(path, std::io::Error::new(kind, other)),
        None => Error::io(path, kind.into()),
    }
}

/// Check, before any work, that `path` can be written: it does not name a folder, its
/// folder exists and a file can be created there, and its name is not too long. Nothing
/// is left behind.
pub fn check_writable(path: &Path) -> Result<()> {
    match Target::of(path)? {
        Target::Special | Target::Stdout => Ok(()),
        Target::File { path: target, .. } => {
            let (dir, _) = split(&target);
            let probe = tempfile::Builder::new().prefix(".ae-probe.").tempfile_in(&dir);
            probe.map(drop).map_err(|e| {
                let why = format!("cannot create a file in {}: {e}", dir.display());
                Error::io(path, std::io::Error::new(e.kind(), why))
            })
        }
    }
}

/// Whether `a` and `b` name the same existing file (same device and inode, symbolic
/// links followed), whatever their spelling.
pub fn same_file(a: &Path, b: &Path) -> bool {
    if a.as_os_str() == "-" || b.as_os_str() == "-" {
        // Standard input and output are not files a run could overwrite.
        return false;
    }
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => file_id(&x) == file_id(&y),
        _ => false,
    }
}

/// Remove the temporary files this process is writing and the lock files it holds: for
/// exit paths that skip destructors (a signal handler that ends the process). Safe to
/// call from any thread; the caller must then end the process, since this process's
/// writes wait for its end from then on (none makes a file after the removal, which
/// could be left behind: a second Ctrl-C during a checkpoint's write did that).
pub fn remove_temporaries() {
    let live = live();
    ENDING.store(true, Ordering::SeqCst);
    for p in live.iter() {
        let _ = std::fs::remove_file(p);
    }
}

/// What a path to write names.
enum Target {
    /// An existing file that is not a regular file: written through.
    Special,
    /// `-`: standard output, written through.
    Stdout,
    /// A regular file (`existing` when it is there now), its symbolic links resolved.
    File { path: PathBuf, existing: Option<std::fs::Metadata> },
}

impl Target {
    fn of(path: &Path) -> Result<Target> {
        if path.as_os_str() == "-" {
            return Ok(Target::Stdout);
        }
        let bytes = path.as_os_str().as_encoded_bytes();
        if bytes.is_empty() {
            return Err(Error::io(path, std::io::Error::other("an empty file name")));
        }
        if bytes.ends_with(b"/") || path.file_name().is_none() {
            return Err(Error::io(path, std::io::Error::other("names a folder; give a file name")));
        }
        let (dir, name) = split(path);
        if name.len() > NAME_MAX {
            return Err(Error::io(
                path,
                std::io::Error::other(format!(
                    "the file name is {} bytes, longer than the {NAME_MAX} a file system allows",
                    name.len()
                )),
            ));
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                Err(Error::io(path, std::io::Error::other("is a folder; give a file name inside it")))
            }
            Ok(m) if !m.is_file() => Ok(Target::Special),
            Ok(m) => {
                // Follow symbolic links to the file they name, so a link stays a link.
                let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
                Ok(Target::File { path: resolved, existing: Some(m) })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::metadata(&dir) {
                Ok(d) if d.is_dir() => Ok(Target::File { path: path.to_path_buf(), existing: None }),
                Ok(_) => {
                    Err(Error::io(path, std::io::Error::other(format!("{} is not a folder", dir.display()))))
                }
                Err(_) => Err(Error::io(
                    path,
                    std::io::Error::other(format!("the folder {} does not exist", dir.display())),
                )),
            },
            Err(e) => Err(Error::io(path, e)),
        }
    }
}

/// The folder (`.` for a bare name) and the name's bytes.
fn split(path: &Path) -> (PathBuf, Vec<u8>) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.as_encoded_bytes().to_vec()).unwrap_or_default();
    (dir, name)
}

/// The first part of this target's temporary names, `.NAME.` with NAME shortened to
/// [`TEMP_NAME_KEEP`] bytes (at a character boundary where the name is UTF-8).
fn temp_stem(name: &[u8]) -> Vec<u8> {
    let mut keep = name.len().min(TEMP_NAME_KEEP);
    if let Ok(s) = std::str::from_utf8(name) {
        while !s.is_char_boundary(keep) {
            keep -= 1;
        }
    }
    let mut stem = Vec::with_capacity(keep + 2);
    stem.push(b'.');
    stem.extend_from_slice(&name[..keep]);
    stem.push(b'.');
    stem
}

fn os(bytes: Vec<u8>) -> std::ffi::OsString {
    // SAFETY: the bytes are a file name's bytes (from `as_encoded_bytes`), cut only at
    // an ASCII dot or a UTF-8 character boundary, with ASCII added: valid encoded bytes.
    unsafe { std::ffi::OsString::from_encoded_bytes_unchecked(bytes) }
}

/// Write into a fresh temporary file beside `target` and rename it over `target`.
fn replace<F>(target: &Path, existing: Option<&std::fs::Metadata>, fill: F) -> Result<()>
where
    F: FnOnce(&mut (dyn Write + Send)) -> std::io::Result<()>,
{
    let (dir, name) = split(target);
    let stem = temp_stem(&name);
    remove_stale(&dir, &stem);
    let mut prefix = stem.clone();
    prefix.extend_from_slice(format!("{}.", std::process::id()).as_bytes());
    let tmp = {
        let mut live = live();
        if ENDING.load(Ordering::SeqCst) {
            drop(live);
            wait_for_the_end();
        }
        let tmp = tempfile::Builder::new()
            .prefix(&os(prefix))
            .suffix(".tmp")
            .rand_bytes(TEMP_RANDOM)
            .tempfile_in(&dir)
            .map_err(|e| Error::io(target, e))?;
        live.push(tmp.path().to_path_buf());
        tmp
    };
    let tmp_path = tmp.path().to_path_buf();
    let result = (|| -> std::io::Result<()> {
        let mut w = std::io::BufWriter::new(tmp.as_file());
        fill(&mut w)?;
        w.flush()?;
        drop(w);
        set_mode(tmp.as_file(), existing)?;
        tmp.as_file().sync_all()?;
        tmp.persist(target).map_err(|e| e.error)?;
        // Persist the rename itself (best effort: not every platform can sync a folder).
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    // On failure the `NamedTempFile` was dropped inside the closure, which removed it;
    // on success it was renamed: either way the temporary name is gone.
    live().retain(|p| p != &tmp_path);
    if result.is_err() && ENDING.load(Ordering::SeqCst) {
        wait_for_the_end();
    }
    result.map_err(|e| unwrap_fill(target, e))
}

/// Write into an existing file that is not a regular file (a device, a FIFO): opened for
/// writing, never created, truncated or replaced.
fn write_through<F>(path: &Path, fill: F) -> std::io::Result<()>
where
    F: FnOnce(&mut (dyn Write + Send)) -> std::io::Result<()>,
{
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    let mut w = std::io::BufWriter::new(file);
    fill(&mut w)?;
    w.flush()
}

/// Give the temporary file the mode (and, where allowed, the owner) of the file it
/// replaces, or the mode a new file gets under the umask.
#[cfg(unix)]
fn set_mode(file: &std::fs::File, existing: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mode = match existing {
        Some(m) => m.mode() & 0o7777,
        None => 0o666 & !umask(),
    };
    if let Some(m) = existing {
        // Only a privileged process may give a file away; otherwise the file is ours.
        let _ = std::os::unix::fs::fchown(file, Some(m.uid()), Some(m.gid()));
    }
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &std::fs::File, _existing: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    Ok(())
}

/// The process's umask, read without changing it (Linux reports it in
/// `/proc/self/status`; elsewhere the common 022).
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Remove temporary files of `stem` in `dir` left by processes that no longer exist
/// (killed with SIGKILL, or a machine that lost power). A file is removed only when its
/// name is exactly one of ours and its process id is provably dead.
fn remove_stale(dir: &Path, stem: &[u8]) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = stale_pid(name.as_encoded_bytes(), stem) else { continue };
        if pid != me && process_is_gone(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The process id in `name` when it is `STEM PID . RANDOM .tmp`, one of our temporary
/// names for this target.
fn stale_pid(name: &[u8], stem: &[u8]) -> Option<u32> {
    let rest = name.strip_prefix(stem)?.strip_suffix(b".tmp")?;
    let dot = rest.iter().position(|&b| b == b'.')?;
    let (pid, random) = (&rest[..dot], &rest[dot + 1..]);
    let random_ok = random.len() == TEMP_RANDOM && random.iter().all(u8::is_ascii_alphanumeric);
    let pid_ok = !pid.is_empty() && pid.iter().all(u8::is_ascii_digit);
    if !(random_ok && pid_ok) {
        return None;
    }
    std::str::from_utf8(pid).ok()?.parse().ok()
}

#[cfg(unix)]
fn process_is_gone(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn process_is_gone(_pid: u32) -> bool {
    false
}

/// (device, inode) of a file.
#[cfg(unix)]
fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    (
        m.len(),
        m.modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64),
    )
}

/// An advisory lock held while a run writes an output, so that two runs writing the
/// same output at once cannot mix their files: the second is refused with a message.
///
/// The lock is `flock(2)` on `.NAME.lock` beside the output, removed when the lock is
/// released. An output that is not a regular file (a device) is not locked.
#[derive(Debug)]
pub struct OutputLock {
    #[cfg(unix)]
    _file: std::fs::File,
    path: PathBuf,
}

impl OutputLock {
    /// Take the lock on `output`, or say that another process holds it.
    pub fn acquire(output: &Path) -> Result<Option<OutputLock>> {
        let target = match Target::of(output)? {
            Target::Special | Target::Stdout => return Ok(None),
            Target::File { path, .. } => path,
        };
        let (dir, name) = split(&target);
        let mut lock_name = temp_stem(&name);
        lock_name.extend_from_slice(b"lock");
        let path = dir.join(os(lock_name));
        Self::lock(output, path).map(Some)
    }

    #[cfg(unix)]
    fn lock(output: &Path, path: PathBuf) -> Result<OutputLock> {
        use std::os::fd::AsRawFd;
        // A holder removes the lock file as it releases it; whoever opened the removed
        // file then finds it no longer at the path and tries again.
        for _ in 0..64 {
            let mut live = live();
            if ENDING.load(Ordering::SeqCst) {
                drop(live);
                wait_for_the_end();
            }
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            // SAFETY: flock on a descriptor we own.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                    return Err(Error::io(
                        output,
                        std::io::Error::other(format!(
                            "another run is writing this output now (it holds {}); wait for it or choose another output",
                            path.display()
                        )),
                    ));
                }
                return Err(Error::io(&path, e));
            }
            let same = match (file.metadata(), std::fs::metadata(&path)) {
                (Ok(a), Ok(b)) => file_id(&a) == file_id(&b),
                _ => false,
            };
            if same {
                live.push(path.clone());
                return Ok(OutputLock { _file: file, path });
            }
        }
        Err(Error::io(output, std::io::Error::other("could not take the output's lock")))
    }

    #[cfg(not(unix))]
    fn lock(_output: &Path, path: PathBuf) -> Result<OutputLock> {
        Ok(OutputLock { path })
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Remove the name while still holding the lock; closing the file releases it.
        let _ = std::fs::remove_file(&self.path);
        live().retain(|p| p != &self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Once `remove_temporaries` has run, a write makes no file: it waits for the end of
    /// the process (which the caller brings). Run in a child process, since the state
    /// lasts as long as the process does.
    #[test]
    fn no_write_makes_a_file_after_the_temporaries_are_removed() {
        const CHILD: &str = "AE_ATOMIC_ENDING_CHILD";
        let name = "atomic::tests::no_write_makes_a_file_after_the_temporaries_are_removed";
        if let Some(dir) = std::env::var_os(CHILD) {
            let dir = PathBuf::from(dir);
            remove_temporaries();
            let target = dir.join("m.safetensors");
            let writer = std::thread::spawn(move || write_atomic(&target, b"model"));
            let lock_dir = dir.clone();
            let locker = std::thread::spawn(move || OutputLock::acquire(&lock_dir.join("o.csv")).map(drop));
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(!writer.is_finished() && !locker.is_finished(), "a write went on after the removal");
            assert_eq!(names(&dir), Vec::<String>::new());
            println!("waiting, nothing written");
            std::process::exit(0);
        }
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.contains("waiting, nothing written"), "{text}");
        assert_eq!(names(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.bin");
        let r = write_atomic_with(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temporary file left behind");
        write_atomic(&p, b"whole").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
        assert_eq!(names(dir.path()), ["out.bin"]);
    }

    /// A `fill` that computes as it writes fails with its own error, returned as it was
    /// (not as an I/O error of the file), and the file it was replacing is untouched; to
    /// a device its error comes back alike.
    #[test]
    fn a_failed_computation_returns_its_error_and_replaces_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("scores.csv");
        write_atomic(&p, b"old").unwrap();
        for target in [p.as_path(), Path::new("/dev/null")] {
            let r = write_atomic_try(target, |w| {
                w.write_all(b"id,score\n").map_err(|e| Error::io(target, e))?;
                Err(Error::config("explain", "not a sum over features"))
            });
            match r {
                Err(Error::Config { field, message }) => {
                    assert_eq!((field.as_str(), message.as_str()), ("explain", "not a sum over features"))
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["scores.csv"]);
        // And an I/O error of the writing names the file.
        let e = write_atomic_try(&p, |_| Err(Error::io(&p, std::io::Error::other("disk full")))).unwrap_err();
        assert!(e.to_string().contains("scores.csv") && e.to_string().contains("disk full"), "{e}");
        write_atomic_try(&p, |w| w.write_all(b"new").map_err(|e| Error::io(&p, e))).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn planted_symlinks_at_predictable_names_redirect_nothing() {
        use std::os::unix::fs::symlink;
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        let outside = root.path().join("outside");
        std::fs::create_dir_all(&shared).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let victim = outside.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        // The names the old scheme used (`.NAME.tmp.PID.N`) for the next pids, and every
        // name of the new scheme's shape that does not depend on the random part.
        let me = std::process::id();
        for pid in me..me + 50 {
            for n in 0..4 {
                symlink(&victim, shared.join(format!(".model.safetensors.tmp.{pid}.{n}"))).unwrap();
            }
            symlink(&victim, shared.join(format!(".model.safetensors.{pid}.tmp"))).unwrap();
        }
        let before = names(&shared);
        let out = shared.join("model.safetensors");
        write_atomic(&out, b"new model").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious", "a planted link was followed");
        assert_eq!(std::fs::read(&out).unwrap(), b"new model");
        assert!(!std::fs::symlink_metadata(&out).unwrap().file_type().is_symlink());
        let mut after = names(&shared);
        after.retain(|n| n != "model.safetensors");
        assert_eq!(after, before, "the planted links changed");
        assert_eq!(names(&outside), ["victim"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_umask_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret.bin");
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777, 0o600);
        let q = dir.path().join("fresh.bin");
        write_atomic(&q, b"new").unwrap();
        assert_eq!(std::fs::metadata(&q).unwrap().permissions().mode() & 0o7777, 0o666 & !umask());
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_written_through_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        write_atomic(Path::new("/dev/null"), b"into the void").unwrap();
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
        if Path::new("/dev/full").exists() {
            let e = write_atomic(Path::new("/dev/full"), &[0u8; 100_000]).unwrap_err().to_string();
            assert!(e.starts_with("/dev/full: ") && e.contains("No space"), "{e}");
            assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_output_writes_the_file_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.bin");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert!(same_file(&link, &real));
    }

    #[test]
    fn names_near_the_limit_write_and_longer_ones_are_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        for len in [200, 245, 250, 255] {
            let p = dir.path().join("n".repeat(len));
            write_atomic(&p, b"x").unwrap();
            assert_eq!(std::fs::read(&p).unwrap(), b"x", "{len}");
        }
        let p = dir.path().join("n".repeat(256));
        let e = write_atomic(&p, b"x").unwrap_err().to_string();
        assert!(e.contains("256 bytes") && !e.contains('\n'), "{e}");
        assert!(check_writable(&p).is_err());
    }

    #[test]
    fn folders_and_missing_folders_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let e = check_writable(dir.path()).unwrap_err().to_string();
        assert!(e.contains("folder"), "{e}");
        let slash = PathBuf::from(format!("{}/", dir.path().join("x").display()));
        let e = check_writable(&slash).unwrap_err().to_string();
        assert!(e.contains("folder"), "{e}");
        let e = check_writable(&dir.path().join("nodir").join("c.ckpt")).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        check_writable(&dir.path().join("ok.bin")).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the probe was left behind");
    }

    #[cfg(unix)]
    #[test]
    fn stale_temporaries_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m.safetensors");
        // A pid that is certainly gone: a child that has been reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".m.safetensors.{dead}.abcdefghij.tmp"));
        let live = dir.path().join(format!(".m.safetensors.{}.abcdefghij.tmp", std::process::id()));
        let other = dir.path().join(format!(".m.safetensorsX.{dead}.abcdefghij.tmp"));
        let odd = dir.path().join(format!(".m.safetensors.{dead}.short.tmp"));
        for p in [&stale, &live, &other, &odd] {
            std::fs::write(p, b"left over").unwrap();
        }
        write_atomic(&out, b"model").unwrap();
        assert!(!stale.exists(), "the dead process's temporary stays");
        assert!(
            live.exists() && other.exists() && odd.exists(),
            "a file that is not provably stale was removed"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_second_lock_on_an_output_is_refused_and_released_locks_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m.safetensors");
        let first = OutputLock::acquire(&out).unwrap();
        assert!(first.is_some());
        // flock is per open file description: a second open in this process conflicts.
        let e = OutputLock::acquire(&out).unwrap_err().to_string();
        assert!(e.contains("another run is writing"), "{e}");
        drop(first);
        let again = OutputLock::acquire(&out).unwrap();
        drop(again);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(OutputLock::acquire(Path::new("/dev/null")).unwrap().is_none());
    }

    #[test]
    fn the_same_file_is_known_by_its_identity_not_its_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        std::fs::write(&a, b"1,2\n").unwrap();
        let spelled = dir.path().join(".").join("a.csv");
        assert!(same_file(&a, &spelled));
        let b = dir.path().join("b.csv");
        std::fs::hard_link(&a, &b).unwrap();
        assert!(same_file(&a, &b));
        assert!(!same_file(&a, &dir.path().join("missing.csv")));
    }
}
