//! The crate's layers (docs/engine.md): each module may use only the modules below it, by their
//! own paths. A lower layer reaching up, even through a `lib.rs` re-export, fails here.

use std::fs;
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and the modules it may use (`crate::<module>` paths).
const ALLOWED: &[(&str, &[&str])] = &[
    ("reply", &[]),
    ("error", &["reply"]),
    ("protocol", &["error", "reply"]),
    ("message", &["error", "reply", "protocol"]),
    ("auth", &["error", "reply", "protocol"]),
    ("tls", &["error", "engine"]),
    ("transport", &["error", "protocol", "engine", "tls"]),
    ("engine", &["error", "reply", "protocol", "message", "auth"]),
    ("nonblocking", &["error", "reply", "protocol", "message", "auth", "engine", "tls", "transport"]),
    ("blocking", &["error", "reply", "protocol", "message", "auth", "engine", "tls", "transport", "nonblocking"]),
    ("sender", &["error", "reply", "protocol", "message", "auth", "engine", "tls", "transport", "nonblocking"]),
    // `session` is the blocking driver's public name (a re-export in lib.rs)
    (
        "capi",
        &[
            "error",
            "reply",
            "protocol",
            "message",
            "auth",
            "engine",
            "tls",
            "transport",
            "blocking",
            "session",
            "nonblocking",
            "sender",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for `lib.rs`, which wires them).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("under src/");
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(stem) => Some(stem.to_owned()),
        None => Some(first),
    }
}

/// Every `crate::<name>` the text mentions, `<name>` as written (a module, or a re-exported item).
fn crate_paths(text: &str) -> Vec<String> {
    text.match_indices("crate::")
        .filter(|(at, _)| !text[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(at, m)| {
            let rest = &text[at + m.len()..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            rest[..end].to_owned()
        })
        .collect()
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == module) else {
            violations.push(format!("{}: module {module} has no place in the layer table", file.display()));
            continue;
        };
        let text = fs::read_to_string(file).expect("a readable source file");
        for name in crate_paths(&text) {
            if name != module && !allowed.contains(&name.as_str()) {
                violations.push(format!("{}: {module} uses crate::{name}", file.display()));
            }
        }
    }
    assert!(violations.is_empty(), "layering violations:\n{}", violations.join("\n"));
}

#[test]
fn the_checker_sees_reexports_and_grouped_imports() {
    // what the check above relies on: a re-export (`crate::Session`) or a group (`crate::{`)
    // is never a module name in the table, so it is reported
    assert_eq!(crate_paths("use crate::Session; my_crate::no; use crate::{a, b};"), ["Session", ""]);
    assert_eq!(crate_paths("[`auth`](crate::session::Session::auth)"), ["session"]);
}
