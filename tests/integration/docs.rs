//! The guides checked against the repository: every `KEYCARD_…` variable the code under `src/`
//! names is documented in `docs/configuration.md`, and that guide names no other; every path
//! `docs/architecture.md` names exists; the Docker recipe builds as the run command does. Plain
//! tests: no database, no server, so not `on_both_databases!`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every `.rs` file under `dir`, at any depth.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// When `c[i]` is the `r` that opens a raw string (`r`, any number of `#`, `"`; not the end of an
/// identifier, except the `b` of `br"…"`), the number of `#`.
fn raw_string_hashes(c: &[char], i: usize) -> Option<usize> {
    let at = |i: usize| c.get(i).copied();
    let before = i.checked_sub(1).and_then(at);
    let byte_prefix = before == Some('b') && !i.checked_sub(2).and_then(at).is_some_and(is_ident);
    let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
    ((byte_prefix || !before.is_some_and(is_ident)) && at(i + 1 + hashes) == Some('"')).then_some(hashes)
}

/// The contents of the string literals of Rust source: `"…"`, `b"…"`, `r"…"`, `r#"…"#`, `br"…"`.
/// Comments are skipped (a doc comment naming a variable is not code reading it), and so are
/// character literals, so that `'"'` does not open a string. Escapes are kept as written: the
/// names looked for contain none.
fn string_literals(source: &str) -> Vec<String> {
    let c: Vec<char> = source.chars().collect();
    let at = |i: usize| c.get(i).copied();
    let mut literals = Vec::new();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '/' if at(i + 1) == Some('/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == Some('*') => {
                let mut depth = 0;
                loop {
                    match (at(i), at(i + 1)) {
                        (Some('/'), Some('*')) => (depth, i) = (depth + 1, i + 2),
                        (Some('*'), Some('/')) => (depth, i) = (depth - 1, i + 2),
                        (Some(_), _) => i += 1,
                        (None, _) => break,
                    }
                    if depth == 0 {
                        break;
                    }
                }
            }
            'r' if raw_string_hashes(&c, i).is_some() => {
                let hashes = raw_string_hashes(&c, i).unwrap_or(0);
                let closes = |at: usize| {
                    c[at] == '"' && c[at + 1..].iter().take(hashes).filter(|&&h| h == '#').count() == hashes
                };
                let start = i + 2 + hashes;
                let mut end = start;
                while end < c.len() && !closes(end) {
                    end += 1;
                }
                literals.push(c[start..end.min(c.len())].iter().collect());
                i = end + 1 + hashes;
            }
            '"' => {
                let mut end = i + 1;
                while end < c.len() && c[end] != '"' {
                    end += if c[end] == '\\' { 2 } else { 1 };
                }
                literals.push(c[i + 1..end.min(c.len())].iter().collect());
                i = end + 1;
            }
            // `'\''`, `'\n'`, `'\u{1F600}'`: skip to the closing quote after the escape.
            '\'' if at(i + 1) == Some('\\') => {
                let mut end = i + 3;
                while end < c.len() && c[end] != '\'' {
                    end += 1;
                }
                i = end + 1;
            }
            // `'x'`; otherwise a lifetime or a label (`'a`), which has no closing quote.
            '\'' if at(i + 2) == Some('\'') => i += 3,
            _ => i += 1,
        }
    }
    literals
}

/// The `KEYCARD_[A-Z0-9_]+` names in `text`, each as written (`KEYCARD_` and all). A name ending
/// in `_` is returned too (see the callers: in code it is a prefix, in the guide a placeholder).
fn keycard_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(found) = rest.find("KEYCARD_") {
        let tail = &rest[found + "KEYCARD_".len()..];
        let len =
            tail.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')).unwrap_or(tail.len());
        names.push(format!("KEYCARD_{}", &tail[..len]));
        rest = &tail[len..];
    }
    names
}

/// The Markdown a guide puts in code: the text of every code span (`` `…` ``), every table row
/// whole, and every line of a fenced code block.
fn code_in_markdown(markdown: &str) -> Vec<String> {
    let mut code = Vec::new();
    let mut prose = String::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced || line.starts_with('|') {
            code.push(line.to_string());
        } else {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    // Code spans may wrap across lines: split the whole prose, the odd pieces are spans.
    code.extend(prose.split('`').skip(1).step_by(2).map(|span| span.replace('\n', " ")));
    code
}

/// Compares the settings the code reads with those `docs/configuration.md` documents.
///
/// Only `src/` is scanned: the test suite (`tests/`) and the scripts (`scripts/`) read variables
/// of their own (`KEYCARD_TEST_POSTGRES_URL`, `KEYCARD_REQUIRE_POSTGRES`, `KEYCARD_BIN`, …) that
/// are no settings of Keycard, and are described where they are used. What `src/` reads besides
/// the server's settings (the example client's variables, and `KEYCARD_TEST_LOG`, which
/// `src/core/telemetry.rs` reads for the integration tests) is in the guide too, in a table of
/// its own, so the two sets must be equal.
///
/// Every variable is read by its full name in a string literal (`var("KEYCARD_ADDR")`, the
/// `name` of a `ConfigError`, `env_nonempty("KEYCARD_URL")`); messages that mention a variable
/// name it in full as well. No name is built from a prefix with `format!` or `concat!`: a literal
/// ending in `KEYCARD_` or `KEYCARD_…_` would be such a prefix, and this test refuses it, since the
/// names built from it could not be checked; list them in full instead.
#[test]
fn every_setting_the_code_reads_is_documented() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    assert!(files.len() > 50, "expected Keycard's sources under src/, found {} files", files.len());

    let mut in_code = BTreeSet::new();
    let mut prefixes = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for literal in string_literals(&source) {
            for name in keycard_names(&literal) {
                if name.ends_with('_') {
                    prefixes.push(format!("{}: {literal:?}", file.strip_prefix(root()).unwrap().display()));
                } else {
                    in_code.insert(name);
                }
            }
        }
    }
    assert_eq!(prefixes, Vec::<String>::new(), "string literals that look like a variable-name prefix");
    assert!(in_code.contains("KEYCARD_DATABASE_URL"), "the scan found no settings: {in_code:?}");

    let guide = read("docs/configuration.md");
    // `KEYCARD_…` (a placeholder, with an ellipsis) yields `KEYCARD_`: not a name.
    let mut documented = BTreeSet::new();
    for code in code_in_markdown(&guide) {
        documented.extend(keycard_names(&code).into_iter().filter(|name| !name.ends_with('_')));
    }

    let undocumented: Vec<_> = in_code.difference(&documented).collect();
    let not_read: Vec<_> = documented.difference(&in_code).collect();
    assert_eq!(
        in_code, documented,
        "read under src/ but not in docs/configuration.md: {undocumented:?}; \
         in docs/configuration.md but read nowhere under src/: {not_read:?}"
    );
}

/// Where a path a guide names may start: the repository's folders. `browser/` is the browser
/// crate's folder, as much a part of the layout as the others.
const ROOT_FOLDERS: &[&str] = &[
    "src/",
    "tests/",
    "migrations/",
    "scripts/",
    "end2end/",
    "deploy/",
    "docs/",
    "xtask/",
    "public/",
    "style/",
    "browser/",
];

/// Paths the guide names that a clean clone lacks on purpose: written by a test run and ignored
/// by git (`end2end/.gitignore`).
const GENERATED: &[&str] = &["end2end/screenshots/"];

/// File extensions that make a bare word in the layout tree's descriptions a file name.
const FILE_EXTENSIONS: &[&str] = &["rs", "json", "js", "ts", "py", "toml", "md", "sql", "css", "sh"];

fn is_root_relative(path: &str) -> bool {
    ROOT_FOLDERS.iter().any(|folder| path.starts_with(folder))
}

/// A word that names a folder (`verification/`) or a file with one of [`FILE_EXTENSIONS`]
/// (`grants.rs`); not an address (`/connect`) nor a placeholder (`<time>`).
fn looks_like_path(word: &str) -> bool {
    if word.is_empty() || word.starts_with('/') || word.starts_with('.') || word.contains('<') {
        return false;
    }
    if !word.chars().all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c)) {
        return false;
    }
    word.ends_with('/')
        || word.rsplit_once('.').is_some_and(|(stem, ext)| !stem.is_empty() && FILE_EXTENSIONS.contains(&ext))
}

/// The paths the layout tree names, relative to the repository's root. The tree is the fenced
/// block that starts with `src/`. Each entry is a line whose first word is a folder (`admin/`) or
/// a file (`main.rs`), nested by indentation; `<domain>/` stands for each domain and adds nothing
/// to the path. A description (the rest of an entry's line and the more deeply indented lines
/// after it) may name more: a word starting with a root folder (`tests/integration/`) is relative
/// to the root, any other file or folder name (`grants.rs`, `verification/`) to the entry's
/// folder (for a file entry, its parent). A placeholder's descriptions are not checked.
fn paths_in_tree(markdown: &str) -> Vec<String> {
    let lines: Vec<&str> = markdown.lines().collect();
    let start = lines.windows(2).position(|pair| pair[0].starts_with("```") && pair[1] == "src/");
    let Some(start) = start else { panic!("no layout tree (a fenced block starting with `src/`) in the guide") };
    let tree: Vec<&str> = lines[start + 1..].iter().copied().take_while(|l| !l.starts_with("```")).collect();

    let mut paths = Vec::new();
    // (indentation, path component) of the entries enclosing the current line.
    let mut stack: Vec<(usize, String)> = Vec::new();
    // The folder the current entry's description is relative to; None under a placeholder.
    let mut here: Option<String> = None;
    for line in tree {
        let indent = line.len() - line.trim_start().len();
        let first = line.split_whitespace().next().unwrap_or("");
        let is_placeholder = first.starts_with('<') && first.ends_with(">/");
        let description = if looks_like_path(first) || is_placeholder {
            while stack.last().is_some_and(|(level, _)| *level >= indent) {
                stack.pop();
            }
            let parent: String = stack.iter().map(|(_, part)| part.as_str()).collect();
            if is_placeholder {
                stack.push((indent, String::new()));
                here = None;
            } else {
                let path = format!("{parent}{first}");
                paths.push(path.clone());
                here = Some(if first.ends_with('/') { path } else { parent });
                if first.ends_with('/') {
                    stack.push((indent, first.to_string()));
                }
            }
            line.trim_start()[first.len()..].to_string()
        } else {
            line.to_string()
        };
        let Some(folder) = &here else { continue };
        for word in description.split(|c: char| !(c.is_ascii_alphanumeric() || "_-./<>".contains(c))) {
            let word = word.trim_end_matches('.');
            if looks_like_path(word) {
                paths.push(if is_root_relative(word) { word.to_string() } else { format!("{folder}{word}") });
            }
        }
    }
    paths
}

/// Checks every path `docs/architecture.md` names, relative to the repository's root:
/// - each code span whose first word starts with one of [`ROOT_FOLDERS`] (`src/core/assets.rs`;
///   `scripts/bench 5 sign-in` names `scripts/bench`);
/// - each code span that is a bare file name ending in `.md`, `.toml` or `.lock`: those are the
///   files at the root (`Cargo.toml`, `BENCHMARKS.md`). Other bare names (`store.rs`,
///   `hash.txt`, `secret.key`) are relative to something the sentence names, or made at run
///   time, and are not checked;
/// - each relative link target (`[…](scaling.md)`, `(../SECURITY.md)`), relative to `docs/`;
/// - the layout tree ([`paths_in_tree`]).
///
/// Paths are written out in full: a glob or placeholder (`operator*.spec.ts`) is not expanded and
/// fails, so the guide names real files.
#[test]
fn every_path_the_architecture_guide_names_exists() {
    let guide = read("docs/architecture.md");
    let mut named = BTreeSet::new();

    let mut prose = String::new();
    let mut fenced = false;
    for line in guide.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    for span in prose.split('`').skip(1).step_by(2) {
        let first = span.split_whitespace().next().unwrap_or("");
        let root_file = !first.contains('/') && [".md", ".toml", ".lock"].iter().any(|ext| first.ends_with(ext));
        if is_root_relative(first) || root_file {
            named.insert(first.to_string());
        }
    }

    let mut rest = prose.as_str();
    while let Some(start) = rest.find("](") {
        let tail = &rest[start + 2..];
        let end = tail.find(')').unwrap_or(tail.len());
        let target = tail[..end].split('#').next().unwrap_or("");
        if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
            let path = Path::new("docs").join(target);
            // `docs/../SECURITY.md` → `SECURITY.md`, so that the listing reads plainly.
            let mut parts: Vec<&str> = Vec::new();
            for part in path.to_str().unwrap().split('/') {
                match part {
                    ".." => {
                        parts.pop();
                    }
                    "." => {}
                    other => parts.push(other),
                }
            }
            named.insert(parts.join("/"));
        }
        rest = &tail[end..];
    }

    named.extend(paths_in_tree(&guide));
    assert!(named.len() > 50, "expected the guide to name many paths, found {named:?}");

    let missing: Vec<&String> =
        named.iter().filter(|path| !GENERATED.contains(&path.as_str()) && !root().join(path).exists()).collect();
    assert_eq!(missing, Vec::<&String>::new(), "docs/architecture.md names paths that do not exist");
}

/// The Docker recipe builds as `scripts/run` does (issue 29): with the workspace's own build tool,
/// nothing compiled with `cargo install` (cargo-leptos, wasm-bindgen-cli), and the same wasm-opt
/// as `scripts/setup` (binaryen from npm at the same version: another version builds a bundle that
/// may not hydrate).
#[test]
fn the_docker_recipe_builds_with_the_workspace_build_tool_and_the_same_wasm_opt() {
    let recipe = read("deploy/Dockerfile");
    let steps: String =
        recipe.lines().filter(|line| !line.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n");
    assert!(
        steps.contains("cargo --locked xtask build --locked"),
        "the build step is not `cargo xtask build`:\n{steps}"
    );
    for forbidden in ["cargo install", "cargo-leptos", "cargo leptos", "wasm-bindgen-cli"] {
        assert!(!steps.contains(forbidden), "deploy/Dockerfile's steps name `{forbidden}`");
    }

    let setup = read("scripts/setup");
    let version = setup
        .lines()
        .find_map(|line| line.strip_prefix("BINARYEN_VERSION="))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("scripts/setup sets BINARYEN_VERSION");
    let installs: Vec<&str> = steps.split("binaryen@").skip(1).collect();
    assert_eq!(installs.len(), 1, "deploy/Dockerfile installs binaryen once");
    let installed = installs[0].split_whitespace().next().unwrap_or("");
    assert_eq!(installed, version, "deploy/Dockerfile's wasm-opt differs from scripts/setup's");
}
