//! The README's shell blocks run, and its relative links resolve.
//!
//! `readme_shell_blocks_run` takes every fenced block of `README.md` whose language is
//! `sh`, `bash`, `shell` or `console` (in a `console` block only the lines that start
//! with `$ ` are commands) and runs it with bash (`set -euo pipefail`), block after
//! block, in one temporary folder holding a copy of the repository's `examples/` and
//! `configs/`, so that a block may use what an earlier one wrote, as a reader following
//! the README would. `ae` is the binary under test (`CARGO_BIN_EXE_ae`, first on `PATH`
//! through a symbolic link). A block that fails fails the test with its README line, its
//! text as written, the script as run, and the command's stderr. A block that must not
//! run belongs in a ```` ```text ```` fence.
//!
//! Skipped: set-up lines, whose first word is in [`SETUP`] (`cargo …`, `git clone`, `cd`,
//! `apt-get`): they build or install what the test already has. Comment lines stay
//! (bash ignores them).
//!
//! Rewritten, so that the whole README runs in seconds and without a network (each rule
//! is in [`REWRITES`] or [`rewrite`], with its reason):
//! - `--dataset fashion-mnist` and `--dataset mnist` → `--dataset synthetic` (the built-in
//!   28×28 shapes: no download);
//! - `--epochs N` → `--epochs 1`;
//! - `ae train` on a named dataset without `--epochs` (the epochs then come from a
//!   `--config` file or the default 10) → `ae train --epochs 1 …`.
//!
//! The environment that could reach real data or the network is cut off: `AE_DATA_DIR`
//! and `AE_CACHE_DIR` are empty folders and `AE_MIRROR` a closed local port, so a named
//! dataset the rewrites missed fails the test instead of downloading.
//!
//! `readme_links_resolve` checks that every relative link (`[text](path)`, `![alt](path)`)
//! in `README.md`, `docs/*.md` and `bench/README.md` names an existing file, and that a
//! `#fragment` into a Markdown file names one of its headings (GitHub's anchors).

#![cfg(unix)] // bash, and a symbolic link to the binary

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// First words of the lines that are set-up, not part of the tour: skipped.
const SETUP: &[&str] = &["cargo", "git", "cd", "apt-get", "sudo", "pip"];

/// Literal rewrites, applied in order to every command: (from, to, why).
const REWRITES: &[(&str, &str, &str)] = &[
    ("--dataset fashion-mnist", "--dataset synthetic", "no download; 20,000 generated images"),
    ("--dataset mnist", "--dataset synthetic", "no download; 20,000 generated images"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fenced shell block: the README line of its first command line, and its lines.
#[derive(Debug)]
struct Block {
    line: usize,
    text: String,
    commands: Vec<String>,
}

/// The shell blocks of a Markdown text, with continuation lines (`\` at the end) joined.
fn shell_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<(bool, Block)> = None; // (console, block)
    let mut fence_open = false;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if fence_open {
                fence_open = false;
                if let Some((_, b)) = current.take() {
                    blocks.push(b);
                }
            } else {
                fence_open = true;
                let lang = info.split_whitespace().next().unwrap_or("");
                if matches!(lang, "sh" | "bash" | "shell" | "console") {
                    let block = Block { line: i + 2, text: String::new(), commands: Vec::new() };
                    current = Some((lang == "console", block));
                }
            }
            continue;
        }
        let Some((console, block)) = current.as_mut() else { continue };
        block.text.push_str(line);
        block.text.push('\n');
        let joining = block.commands.last().is_some_and(|c| c.ends_with('\\'));
        if joining {
            let last = block.commands.last_mut().unwrap();
            last.pop();
            let kept = last.trim_end().len();
            last.truncate(kept);
            last.push(' ');
            last.push_str(line.trim());
        } else if *console {
            if let Some(cmd) = line.strip_prefix("$ ") {
                block.commands.push(cmd.trim().to_string());
            }
        } else {
            block.commands.push(line.trim().to_string());
        }
    }
    blocks
}

fn is_setup(command: &str) -> bool {
    command.split_whitespace().next().is_some_and(|w| SETUP.contains(&w))
}

/// The command as the test runs it: [`REWRITES`], then `--epochs N` → `--epochs 1`, then
/// `--epochs 1` added to an `ae train` on a named dataset that has no `--epochs`.
fn rewrite(command: &str) -> String {
    let mut c = command.to_string();
    for (from, to, _why) in REWRITES {
        c = c.replace(from, to);
    }
    // --epochs N → --epochs 1: a short run is enough to show the command works.
    let mut out = String::new();
    let mut rest = c.as_str();
    while let Some(at) = rest.find("--epochs ") {
        let (head, tail) = rest.split_at(at + "--epochs ".len());
        out.push_str(head);
        let digits = tail.len() - tail.trim_start_matches(|ch: char| ch.is_ascii_digit()).len();
        out.push_str(if digits > 0 { "1" } else { "" });
        rest = &tail[digits..];
    }
    out.push_str(rest);
    // A named dataset's epochs from a --config file or the default: one.
    if out.starts_with("ae train ") && out.contains("--dataset ") && !out.contains("--epochs") {
        out = out.replacen("ae train ", "ae train --epochs 1 ", 1);
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs the shell blocks of `markdown` in order in a fresh folder; the first failing
/// block is the error, with its text, the script run and its output.
fn run_blocks(markdown: &str) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    for sub in ["examples", "configs"] {
        copy_dir(&root().join(sub), &work.join(sub));
    }
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ae"), bin.join("ae")).unwrap();
    for empty in ["data", "cache"] {
        std::fs::create_dir_all(dir.path().join(empty)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());

    let mut ran = 0;
    for block in shell_blocks(markdown) {
        let commands: Vec<String> =
            block.commands.iter().filter(|c| !is_setup(c)).map(|c| rewrite(c)).collect();
        if commands.iter().all(|c| c.is_empty() || c.starts_with('#')) {
            eprintln!("README line {}: set-up only, skipped", block.line);
            continue;
        }
        let script = format!("set -euo pipefail\n{}\n", commands.join("\n"));
        let started = Instant::now();
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(&work)
            .env("PATH", &path)
            .env("AE_DATA_DIR", dir.path().join("data"))
            .env("AE_CACHE_DIR", dir.path().join("cache"))
            .env("AE_MIRROR", "http://127.0.0.1:9/")
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("bash runs");
        eprintln!("README line {}: {:.1} s", block.line, started.elapsed().as_secs_f64());
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let tail = |s: &str| {
                s.chars().rev().take(4000).collect::<Vec<_>>().into_iter().rev().collect::<String>()
            };
            let mut why = String::new();
            let _ = write!(
                why,
                "the README's shell block at line {} failed ({}).\n--- as written:\n{}--- as run:\n{}--- stderr (end):\n{}\n--- stdout (end):\n{}",
                block.line,
                out.status,
                block.text,
                script,
                tail(&stderr),
                tail(&stdout)
            );
            return Err(why);
        }
        ran += 1;
    }
    Ok(ran)
}

#[test]
fn readme_shell_blocks_run() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let started = Instant::now();
    match run_blocks(&readme) {
        Ok(ran) => {
            assert!(ran >= 5, "only {ran} shell blocks ran: is the README's tour still there?");
            eprintln!("{ran} blocks in {:.1} s", started.elapsed().as_secs_f64());
        }
        Err(why) => panic!("{why}"),
    }
}

#[test]
fn a_failing_block_fails_with_its_text_and_stderr() {
    let markdown = "# t\n\n```sh\ncargo build\nae inspect examples/table.csv\n```\n";
    let why = run_blocks(markdown).unwrap_err();
    assert!(why.contains("line 4"), "{why}");
    assert!(why.contains("ae inspect examples/table.csv"), "{why}");
    assert!(why.contains("error:"), "{why}");
    assert!(!why.contains("cargo build\n---"), "the set-up line is not run: {why}");
}

#[test]
fn blocks_are_parsed_skipped_and_rewritten() {
    let markdown = "```sh\ncargo install --path crates/ae\nae train --dataset fashion-mnist \\\n   --epochs 20 -o m.safetensors  # comment\n```\n\n```text\nae not-run\n```\n\n```console\n$ ae inspect m.safetensors\noutput line\n```\n";
    let blocks = shell_blocks(markdown);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].line, 2);
    assert!(is_setup(&blocks[0].commands[0]));
    assert_eq!(
        rewrite(&blocks[0].commands[1]),
        "ae train --dataset synthetic --epochs 1 -o m.safetensors  # comment"
    );
    assert_eq!(blocks[1].commands, ["ae inspect m.safetensors"]);
    assert_eq!(
        rewrite("ae train --dataset mnist --config examples/deep.toml -o d.safetensors"),
        "ae train --epochs 1 --dataset synthetic --config examples/deep.toml -o d.safetensors"
    );
    assert_eq!(
        rewrite("ae train examples/table.csv -o t.safetensors"),
        "ae train examples/table.csv -o t.safetensors"
    );
}

/// GitHub's anchor of a heading: lower case, spaces to `-`, punctuation but `-` and `_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The relative link targets of a Markdown text (outside code blocks).
fn relative_links(markdown: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            let Some(end) = tail.find(')') else { break };
            let target = &tail[..end];
            if !target.contains("://") && !target.starts_with("mailto:") && !target.is_empty() {
                links.push(target.to_string());
            }
            rest = &tail[end..];
        }
    }
    links
}

#[test]
fn readme_links_resolve() {
    let root = root();
    let mut files = vec![root.join("README.md"), root.join("bench/README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            files.push(p);
        }
    }
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for link in relative_links(&text) {
            checked += 1;
            let (path, fragment) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link.as_str(), None),
            };
            let target = if path.is_empty() { file.clone() } else { file.parent().unwrap().join(path) };
            if !target.exists() {
                broken.push(format!("{}: {link} (no such file)", file.display()));
                continue;
            }
            if let Some(fragment) = fragment {
                if target.extension().is_some_and(|e| e == "md") {
                    let md = std::fs::read_to_string(&target).unwrap();
                    let found = md
                        .lines()
                        .filter_map(|l| l.strip_prefix('#'))
                        .map(|h| anchor(h.trim_start_matches('#')))
                        .any(|a| a == fragment);
                    if !found {
                        broken.push(format!("{}: {link} (no such heading)", file.display()));
                    }
                }
            }
        }
    }
    assert!(checked >= 5, "only {checked} links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
