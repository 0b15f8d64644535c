//! `ae completions SHELL` (a completion script for bash, zsh, fish, elvish or PowerShell)
//! and `ae man` (the manual page, roff): both generated from the command's own clap
//! definition, so they always match the flags.

use std::io::Write;
use std::path::PathBuf;

use autoencoder::{Error, Result};
use clap::Args;
use clap_complete::Shell;

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell. E.g.
    /// `ae completions bash > ~/.local/share/bash-completion/completions/ae`.
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write the page to this file (e.g. ae.1) instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Print the completion script of `shell` for `cmd` (the whole `ae` command).
pub fn run_completions(a: CompletionsArgs, mut cmd: clap::Command) -> Result<()> {
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, name, &mut out);
    write_stdout(&out)
}

/// The manual page of `cmd` (roff, section 1): to `-o`, or stdout.
pub fn run_man(a: ManArgs, cmd: clap::Command) -> Result<()> {
    let _held = autoencoder::run_files::RunFiles::new()
        .outputs("the manual page (-o)", a.output.as_deref())
        .check()?;
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(|e| Error::Data(format!("cannot render the manual page: {e}")))?;
    match &a.output {
        Some(path) => autoencoder::atomic::write_atomic(path, &page),
        None => write_stdout(&page),
    }
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).and_then(|()| stdout.flush()).map_err(|e| Error::io("stdout", e))
}
