//! `ae completions` and `ae man`: generated from the command's definition.

use crate::common::{ae, ok};

#[test]
fn bash_completions_know_the_subcommands_and_their_flags() {
    let out = ok(ae().args(["completions", "bash"]));
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("train"), "{script}");
    assert!(script.contains("--layers"), "{script}");
    assert!(script.contains("complete -F"), "not a bash completion script");
}

#[test]
fn other_shells_and_unknown_ones() {
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = ok(ae().args(["completions", shell]));
        assert!(String::from_utf8_lossy(&out.stdout).contains("train"), "{shell}");
    }
    let out = ae().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_and_lists_the_subcommands() {
    let out = ok(ae().arg("man"));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{}", &page[..page.len().min(200)]);
    assert!(page.contains(".TH ae 1"), "{}", &page[..page.len().min(400)]);
    assert!(page.contains("train"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ae.1");
    let out = ok(ae().args(["man", "-o"]).arg(&path));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), page);
}
