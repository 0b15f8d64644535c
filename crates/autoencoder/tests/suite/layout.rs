//! The library's module map holds: which top-level module may use which
//! (ARCHITECTURE.md's "must not" column) and no cycle among them.
//!
//! Every `.rs` file under `src/` is read; comments, string and character literals and
//! every `#[cfg(test)]` item (a `mod tests { … }` block, a `mod x;` and the file it
//! names) are left out. An edge "A uses B" is a `crate::B` path (`crate::{B, …}` and a
//! name the crate root re-exports count too: `crate::Threads` is `kernels`) or a
//! `super::` path that climbs out of A, in a file of top-level module A. `lib.rs` (the
//! root, which re-exports everything) is no module of the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What a top-level module may use.
enum Rule {
    /// Only these modules.
    Only(&'static [&'static str]),
    /// Anything but these modules.
    Not(&'static [&'static str]),
}
use Rule::{Not, Only};

/// The rules, as ARCHITECTURE.md's module table states them ("must not"): every
/// top-level module has one.
const RULES: &[(&str, Rule)] = &[
    ("error", Only(&[])),
    ("activation", Only(&["error"])),
    ("random", Only(&["error"])),
    ("atomic", Only(&["error"])),
    ("select", Only(&["error"])),
    ("metrics", Only(&["error"])),
    ("kernels", Only(&["error", "activation"])),
    ("layers", Only(&["error", "activation", "kernels", "random"])),
    ("loss", Only(&["error", "activation", "kernels"])),
    ("optim", Only(&["error", "kernels"])),
    ("codec", Only(&["error", "random"])),
    ("pca", Only(&["error", "kernels", "metrics", "random"])),
    ("data", Only(&["error", "atomic", "kernels", "random"])),
    ("budget", Only(&["error", "data"])),
    ("run_files", Only(&["error", "atomic", "data"])),
    ("probe", Only(&["error", "kernels", "random"])),
    (
        "model",
        Not(&[
            "train",
            "anomaly",
            "file",
            "baseline",
            "compressed",
            "rate_distortion",
            "onnx",
            "params",
            "settings",
            "evaluation",
        ]),
    ),
    (
        "file",
        Not(&[
            "train",
            "anomaly",
            "baseline",
            "compressed",
            "rate_distortion",
            "onnx",
            "params",
            "settings",
            "evaluation",
        ]),
    ),
    (
        "train",
        Not(&[
            "anomaly",
            "baseline",
            "compressed",
            "rate_distortion",
            "onnx",
            "params",
            "settings",
            "evaluation",
        ]),
    ),
    (
        "anomaly",
        Not(&[
            "file",
            "baseline",
            "compressed",
            "rate_distortion",
            "onnx",
            "params",
            "settings",
            "evaluation",
        ]),
    ),
    (
        "baseline",
        Not(&[
            "train",
            "anomaly",
            "file",
            "compressed",
            "rate_distortion",
            "onnx",
            "params",
            "settings",
            "evaluation",
        ]),
    ),
    (
        "compressed",
        Not(&[
            "train",
            "anomaly",
            "file",
            "baseline",
            "rate_distortion",
            "onnx",
            "params",
            "settings",
            "evaluation",
        ]),
    ),
    // What `ae evaluate` measures, over rows given whole or a part at a time.
    (
        "evaluation",
        Not(&["train", "anomaly", "file", "compressed", "rate_distortion", "onnx", "params", "settings"]),
    ),
    ("rate_distortion", Not(&["train", "anomaly", "file", "onnx", "params", "settings", "evaluation"])),
    // A trained model as an ONNX graph: reads the model and its detector, nothing that
    // trains or writes files.
    (
        "onnx",
        Not(&[
            "train",
            "file",
            "baseline",
            "compressed",
            "rate_distortion",
            "params",
            "settings",
            "evaluation",
        ]),
    ),
    ("params", Not(&["settings"])),
    // The top: nothing may use it (every rule above leaves it out).
    ("settings", Not(&[])),
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `text` without comments, and with every string and character literal emptied
/// (`""`, `' '`), so that neither a doc link nor a message makes an edge.
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(k).copied().unwrap_or('\0');
        if c[i] == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r'
            && (at(i + 1) == '"' || (at(i + 1) == '#' && matches!(at(i + 2), '"' | '#')))
            && !(i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') && c[i - 1] != 'b')
        {
            // A raw string r"…", r#"…"#: ends at a quote followed by as many hashes.
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            while j < c.len() && !(c[j] == '"' && (1..=hashes).all(|h| at(j + h) == '#')) {
                j += 1;
            }
            i = j + 1 + hashes;
            out.push_str("\"\"");
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c[i] == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            // A character literal ('x', '\n', '\u{..}'); a lifetime 'a stays.
            i += 1;
            while i < c.len() && c[i] != '\'' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Names of the modules `#[cfg(test)] mod x;` declares in `code` (already stripped).
fn test_only_mods(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        rest = &rest[at + "#[cfg(test)]".len()..];
        let words: Vec<&str> = rest
            .split(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == ';'))
            .filter(|w| !w.is_empty())
            .take(4)
            .collect();
        // `mod x;`, `pub mod x;`, `pub(crate) mod x;` (the split drops the parentheses).
        let words: Vec<&str> = words.into_iter().skip_while(|w| *w == "pub" || *w == "crate").collect();
        if words.first() == Some(&"mod") {
            if let Some(name) = words.get(1).and_then(|w| w.strip_suffix(';')) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// `code` (stripped) without its `#[cfg(test)]` items: from the attribute to the end of
/// the item it marks (a `;` before any brace, or the brace block's end).
fn without_test_items(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, ch) in after.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Path, // ::
    Punct(char),
}

fn tokens(code: &str) -> Vec<Tok> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i].is_alphabetic() || c[i] == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            out.push(Tok::Path);
            i += 2;
        } else {
            if !c[i].is_whitespace() {
                out.push(Tok::Punct(c[i]));
            }
            i += 1;
        }
    }
    out
}

/// The first path segment of each element of the use group that opens at `t[i]`
/// (`{a, b::c, d as e}` gives `a`, `b`, `d`), and the index after the group.
fn group_heads(t: &[Tok], mut i: usize) -> (Vec<String>, usize) {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    while i < t.len() {
        match &t[i] {
            Tok::Punct('{') => {
                depth += 1;
                expect_head = depth == 1;
            }
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return (heads, i + 1);
                }
            }
            Tok::Punct(',') if depth == 1 => expect_head = true,
            Tok::Ident(name) if expect_head => {
                heads.push(name.clone());
                expect_head = false;
            }
            _ => expect_head = false,
        }
        i += 1;
    }
    (heads, i)
}

/// The names the crate root re-exports (`pub use a::{B, c::D as E};` in `lib.rs`),
/// each with the top-level module it comes from.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let t = tokens(&without_test_items(&strip(lib)));
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i + 2 < t.len() {
        if t[i] == Tok::Ident("pub".into()) && t[i + 1] == Tok::Ident("use".into()) {
            let Tok::Ident(module) = &t[i + 2] else { panic!("lib.rs: unexpected pub use") };
            // Every name the statement brings in: the last identifier before `,`, `}`
            // or `;` (an `as` alias is that last identifier).
            let mut j = i + 3;
            let mut last: Option<String> = None;
            while j < t.len() && t[j] != Tok::Punct(';') {
                match &t[j] {
                    Tok::Ident(n) => last = Some(n.clone()),
                    Tok::Punct(',') | Tok::Punct('}') => {
                        if let Some(n) = last.take() {
                            out.insert(n, module.clone());
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            if let Some(n) = last {
                out.insert(n, module.clone());
            }
            i = j;
        }
        i += 1;
    }
    out
}

/// The first segment after each path that reaches the crate root in `t` (`crate::x`,
/// `crate::{x, y::z}`, or `super::` climbing `depth` modules or more, `depth` being the
/// file's module's depth below the root: 1 for `a.rs` and `a/mod.rs`, 2 for `a/b.rs`).
fn targets(t: &[Tok], depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let after_path = i > 0 && t[i - 1] == Tok::Path;
        match &t[i] {
            Tok::Ident(w) if (w == "crate" || w == "super") && !after_path => {
                let is_crate = w == "crate";
                let mut j = i;
                let mut climbs = 0;
                if is_crate {
                    if t.get(i + 1) != Some(&Tok::Path) {
                        i += 1;
                        continue; // `pub(crate)`
                    }
                    j += 2;
                } else {
                    while t.get(j) == Some(&Tok::Ident("super".into())) && t.get(j + 1) == Some(&Tok::Path) {
                        climbs += 1;
                        j += 2;
                    }
                }
                if is_crate || climbs >= depth {
                    match t.get(j) {
                        Some(Tok::Ident(m)) => out.push(m.clone()),
                        Some(Tok::Punct('{')) => {
                            out.extend(group_heads(t, j).0.into_iter().filter(|h| h != "self"))
                        }
                        _ => {}
                    }
                }
                i = j.max(i + 1);
            }
            _ => i += 1,
        }
    }
    out
}

struct Graph {
    modules: BTreeSet<String>,
    /// (from, to) → where: the files that make the edge.
    edges: BTreeMap<(String, String), BTreeSet<String>>,
}

fn graph() -> Graph {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let root = root_reexports(&lib);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|p| p.strip_prefix(&src).unwrap())
        .filter(|r| *r != Path::new("lib.rs"))
        .map(|r| {
            let first = r.components().next().unwrap().as_os_str().to_str().unwrap();
            first.trim_end_matches(".rs").to_string()
        })
        .collect();

    // Files declared by `#[cfg(test)] mod x;`: tests only.
    let mut test_files = BTreeSet::new();
    for p in &files {
        let code = strip(&fs::read_to_string(p).unwrap());
        let dir = if p.file_name().unwrap() == "mod.rs" || p.file_name().unwrap() == "lib.rs" {
            p.parent().unwrap().to_path_buf()
        } else {
            p.with_extension("")
        };
        for name in test_only_mods(&code) {
            test_files.insert(dir.join(format!("{name}.rs")));
            test_files.insert(dir.join(name).join("mod.rs"));
        }
    }

    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for p in &files {
        let rel = p.strip_prefix(&src).unwrap();
        if rel == Path::new("lib.rs") || test_files.contains(p) {
            continue;
        }
        let from = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        // The module's depth below the root: `a.rs`, `a/mod.rs` → 1; `a/b.rs` → 2.
        let parts = rel.components().count();
        let depth = if rel.file_name().unwrap() == "mod.rs" { parts - 1 } else { parts };
        let code = without_test_items(&strip(&fs::read_to_string(p).unwrap()));
        let t = tokens(&code);
        let name = rel.display().to_string();
        let add = |to: &str, edges: &mut BTreeMap<(String, String), BTreeSet<String>>| {
            let to = if modules.contains(to) {
                to.to_string()
            } else if let Some(m) = root.get(to) {
                m.clone()
            } else {
                panic!("{name}: crate::{to} is neither a top-level module nor a name lib.rs re-exports")
            };
            if to != from {
                edges.entry((from.clone(), to)).or_default().insert(name.clone());
            }
        };
        for to in targets(&t, depth) {
            add(&to, &mut edges);
        }
    }
    Graph { modules, edges }
}

/// A cycle of `g` (its modules in order, the first repeated at the end), if any.
fn find_cycle(
    modules: &BTreeSet<String>,
    edges: &BTreeMap<(String, String), BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit<'a>(
        m: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        state.insert(m, 1);
        stack.push(m);
        for &n in next.get(m).into_iter().flatten() {
            match state.get(n).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|&s| s == n).unwrap();
                    let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                    cycle.push(n.to_string());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(n, next, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m, 2);
        None
    }
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        next.entry(a.as_str()).or_default().push(b.as_str());
    }
    let mut state = BTreeMap::new();
    for m in modules {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(m, &next, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

fn describe(edges: &BTreeMap<(String, String), BTreeSet<String>>) -> String {
    edges
        .iter()
        .map(|((a, b), files)| {
            format!("  {a} → {b} ({})", files.iter().cloned().collect::<Vec<_>>().join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn modules_use_only_what_the_map_allows() {
    let g = graph();
    eprintln!("module edges:\n{}", describe(&g.edges));
    for m in &g.modules {
        assert!(
            RULES.iter().any(|(r, _)| r == m),
            "{m} has no rule: give it one here and a row in ARCHITECTURE.md's module table"
        );
    }
    let mut broken = Vec::new();
    for (m, rule) in RULES {
        assert!(g.modules.contains(*m), "a rule names {m}, which is no top-level module");
        let names = match rule {
            Only(ok) | Not(ok) => ok,
        };
        for n in names.iter() {
            assert!(g.modules.contains(*n), "the rule of {m} names {n}, which is no top-level module");
        }
        for ((a, b), files) in &g.edges {
            let bad = a == m
                && match rule {
                    Only(ok) => !ok.contains(&b.as_str()),
                    Not(no) => no.contains(&b.as_str()),
                };
            if bad {
                broken.push(format!(
                    "{a} must not use {b} (in {})",
                    files.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "the module map is broken (ARCHITECTURE.md, \"must not\"):\n  {}",
        broken.join("\n  ")
    );
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph();
    if let Some(cycle) = find_cycle(&g.modules, &g.edges) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|w| {
                let files = &g.edges[&(w[0].clone(), w[1].clone())];
                format!("{} → {} ({})", w[0], w[1], files.iter().cloned().collect::<Vec<_>>().join(", "))
            })
            .collect();
        panic!("the top-level modules form a cycle: {}\n  {}", cycle.join(" → "), steps.join("\n  "));
    }
}

/// The parser itself: comments, strings and test items make no edge; groups, root
/// re-exports and `super::` out of a module do.
#[test]
fn the_parser_sees_what_it_should() {
    let code = strip("use crate::a; // crate::b\n/* crate::c */ let s = \"crate::d\"; let c = '{';\n#[cfg(test)]\nmod tests { use crate::e; }\nuse crate::{f::g, h};");
    let code = without_test_items(&code);
    assert!(code.contains("crate::a") && code.contains("crate::{f::g, h}"), "{code}");
    assert!(
        !code.contains("crate::b")
            && !code.contains("crate::c")
            && !code.contains("crate::d")
            && !code.contains("crate::e"),
        "{code}"
    );
    assert_eq!(group_heads(&tokens("{f::g, h as i, self, j::{k, l}}"), 0).0, ["f", "h", "self", "j"]);
    let t = tokens("use super::super::model::X; use super::y; use crate::{a, b::c, self}; pub(crate) fn f(); use super::{z};");
    assert_eq!(targets(&t, 2), ["model", "a", "b"]);
    assert_eq!(targets(&t, 1), ["model", "y", "a", "b", "z"]);
    assert_eq!(test_only_mods("#[cfg(test)]\npub(crate) mod test_data;"), ["test_data"]);
    let root =
        root_reexports("pub use kernels::Threads;\npub use data::{Dataset, normalize::Normalizer as N};");
    assert_eq!(root.get("Threads").map(String::as_str), Some("kernels"));
    assert_eq!(root.get("N").map(String::as_str), Some("data"));
    assert_eq!(root.get("Dataset").map(String::as_str), Some("data"));
}
