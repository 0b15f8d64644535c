//! What a run reads and writes, checked before any work: no output is one of the
//! inputs (compared by device and inode, links followed), every output can be created,
//! and one run at a time writes an output (an advisory lock on the first one). Every
//! front that writes files (`ae`, the Python package's checkpoints) checks them here.

use std::path::{Path, PathBuf};

use crate::atomic::{self, OutputLock};
use crate::error::{Error, Result};

/// The files of one run, each with the words that name it to the user (a flag, or "the
/// data file").
#[derive(Default)]
pub struct RunFiles {
    inputs: Vec<(String, PathBuf)>,
    outputs: Vec<(String, PathBuf)>,
    /// (output, input) pairs, by the words that name them, that may be the same file (a
    /// resumed checkpoint).
    allowed: Vec<(String, String)>,
}

/// Held while the run writes: the lock on its main output.
#[must_use = "the lock is released when this is dropped"]
pub struct Held {
    _lock: Option<OutputLock>,
}

impl RunFiles {
    /// No files yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A file the run reads.
    pub fn input(mut self, what: impl Into<String>, path: &Path) -> Self {
        self.inputs.push((what.into(), path.to_path_buf()));
        self
    }

    /// Files the run reads (data and labels files; each shard of a folder or a glob
    /// pattern of shards, so that no output replaces one).
    pub fn inputs(mut self, what: &str, paths: &[PathBuf]) -> Self {
        let shards = paths
            .iter()
            .any(|p| crate::data::shards::is_table_folder(p) || crate::data::shards::is_pattern(p));
        let expanded = if shards { crate::data::shards::expand(paths).ok() } else { None };
        for p in expanded.as_deref().unwrap_or(paths) {
            self.inputs.push((format!("{what} {}", p.display()), p.clone()));
        }
        self
    }

    /// A file the run may write (the first one is locked).
    pub fn output(mut self, what: impl Into<String>, path: &Path) -> Self {
        self.outputs.push((what.into(), path.to_path_buf()));
        self
    }

    /// An optional output (stdout when absent).
    pub fn outputs(self, what: impl Into<String>, path: Option<&Path>) -> Self {
        match path {
            Some(p) => self.output(what, p),
            None => self,
        }
    }

    /// The output named `output` may be the input named `input` (the checkpoint a resumed
    /// run continues).
    pub fn allow_same(mut self, output: &str, input: &str) -> Self {
        self.allowed.push((output.to_string(), input.to_string()));
        self
    }

    /// Refuse an output that is an input, or that cannot be created; then lock the first
    /// output for the rest of the run.
    pub fn check(self) -> Result<Held> {
        self.distinct()?;
        for (_, out) in &self.outputs {
            atomic::check_writable(out)?;
        }
        let lock = match self.outputs.first() {
            Some((_, p)) => OutputLock::acquire(p)?,
            None => None,
        };
        Ok(Held { _lock: lock })
    }

    /// Refuse an output that is one of the inputs (unless [`allow_same`](Self::allow_same)
    /// allows it) or another output: the refusals of [`check`](Self::check) that are
    /// about the paths given, not the file system's state.
    pub fn distinct(&self) -> Result<()> {
        for (n, (out_what, out)) in self.outputs.iter().enumerate() {
            for (in_what, input) in &self.inputs {
                let allowed = self.allowed.iter().any(|(o, i)| o == out_what && i == in_what);
                if !allowed && atomic::same_file(out, input) {
                    return Err(Error::io(
                        out,
                        std::io::Error::other(format!(
                            "refusing to write {out_what} over {in_what}, which this run reads ({}); choose another output",
                            input.display()
                        )),
                    ));
                }
            }
            // Two outputs of one run must be two files too.
            if let Some((other_what, _)) =
                self.outputs[..n].iter().find(|(_, o)| o == out || atomic::same_file(o, out))
            {
                return Err(Error::io(
                    out,
                    std::io::Error::other(format!("{out_what} and {other_what} are the same file")),
                ));
            }
        }
        Ok(())
    }
}
