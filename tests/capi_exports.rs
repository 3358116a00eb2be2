//! A source lint of the exported symbols: every `#[no_mangle]` / `#[unsafe(no_mangle)]` /
//! `export_name` item of src/ is a `pub extern "C" fn smtp_*` in src/capi/ whose body is
//! exactly one call of a guard (`session_call`, `session_get`, `plain_call`), apart from a
//! tiny allow-list; no exported name is one of libESMTP's.
//!
//! The lint works on the source with comments and string contents blanked out (so a
//! commented-out attribute neither counts nor hides anything), and it is itself tested on
//! synthetic sources below, so it cannot pass by parsing nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The guards, as they may be called at the start of an export's body.
const GUARDS: [&str; 9] = [
    "session_call",
    "session_call_driving",
    "session_get",
    "session_get_last_error",
    "plain_call",
    "super::guard::session_call",
    "super::guard::session_call_driving",
    "super::guard::session_get",
    "super::guard::session_get_last_error",
];

/// Exports allowed without a guard. Empty: every export goes through one, even those that
/// cannot panic today. The lint also fails if an allow-listed export gets a guard.
const UNGUARDED_ALLOWED: [&str; 0] = [];

/// Exports taking `*mut <handle>` that use `plain_call` instead of `session_call`:
/// `smtp_client_free` must accept NULL and freed handles silently (it does its own checks in
/// `guard::free_session`, including refusing to free from inside a callback).
const MUT_SESSION_PLAIN: [&str; 1] = ["smtp_client_free"];

/// One exported item found in the source.
#[derive(Debug, Clone)]
struct Export {
    file: String,
    line: usize,
    /// The symbol name (the `export_name` value, else the item's identifier).
    symbol: String,
    is_fn: bool,
    /// The guard the body consists of, if it is exactly one guard call.
    guard: Option<String>,
    first_param: Option<(String, String)>,
}

// ------------------------------------------------------------------------------- lexing

/// `src` with comments and the contents of string and char literals replaced by spaces
/// (newlines kept), so byte offsets and line numbers are unchanged.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        let prev_ident = i > 0 && ident(b[i - 1]);
        if b[i..].starts_with(b"//") {
            let end = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p);
            blank(&mut out, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let (mut depth, mut j) = (0usize, i);
            while j < b.len() {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if !prev_ident && raw_string_start(&b[i..]).is_some() {
            let (prefix_len, hashes) = raw_string_start(&b[i..]).unwrap();
            let open = i + prefix_len; // just after the opening quote
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            let end = b[open..].windows(close.len()).position(|w| w == close.as_slice()).map_or(b.len(), |p| open + p);
            blank(&mut out, open, end);
            i = end + close.len();
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, j);
            i = j + 1;
        } else if b[i] == b'\'' && (!prev_ident || (b[i - 1] == b'b' && (i < 2 || !ident(b[i - 2])))) {
            // A char literal ('x', '\n', '\u{..}', multi-byte chars), not a lifetime.
            let close = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..].iter().position(|&c| c == b'\'').map(|p| i + 2 + p)
            } else {
                let len =
                    std::str::from_utf8(&b[i + 1..]).ok().and_then(|s| s.chars().next()).map_or(1, char::len_utf8);
                (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
            };
            match close {
                Some(c) => {
                    blank(&mut out, i + 1, c);
                    i = c + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8")
}

/// `r"`, `r#"`, `br##"`, `cr"`…: (length up to and including the quote, number of hashes).
fn raw_string_start(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    if matches!(b.first(), Some(b'b' | b'c')) {
        i += 1;
    }
    if b.get(i) != Some(&b'r') {
        return None;
    }
    i += 1;
    let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
    i += hashes;
    (b.get(i) == Some(&b'"')).then_some((i + 1, hashes))
}

/// Index just past the bracket matching the one at `open` (`(`, `[` or `{`).
fn matching(code: &str, open: usize) -> Option<usize> {
    let b = code.as_bytes();
    let (o, c) = match b[open] {
        b'(' => (b'(', b')'),
        b'[' => (b'[', b']'),
        b'{' => (b'{', b'}'),
        _ => return None,
    };
    let mut depth = 0usize;
    for (j, &ch) in b.iter().enumerate().skip(open) {
        if ch == o {
            depth += 1;
        } else if ch == c {
            depth -= 1;
            if depth == 0 {
                return Some(j + 1);
            }
        }
    }
    None
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Byte offsets of `word` as a whole identifier in `code`.
fn word_positions<'a>(code: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let b = code.as_bytes();
    code.match_indices(word).map(|(i, _)| i).filter(move |&i| {
        (i == 0 || !is_ident_byte(b[i - 1])) && b.get(i + word.len()).is_none_or(|&c| !is_ident_byte(c))
    })
}

fn ident_at(code: &str, i: usize) -> &str {
    let len = code[i..].bytes().take_while(|&c| is_ident_byte(c)).count();
    &code[i..i + len]
}

fn skip_ws(code: &str, mut i: usize) -> usize {
    while code.as_bytes().get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

fn line_of(code: &str, i: usize) -> usize {
    code[..i].bytes().filter(|&c| c == b'\n').count() + 1
}

// ------------------------------------------------------------------------------- the lint

/// Lint `files` (path relative to the crate root, source); the exports in `unguarded_ok` may
/// have a body that is not a guard call. Returns the exports found and the problems, each
/// naming file and line.
fn lint(files: &[(String, String)], unguarded_ok: &[&str]) -> (Vec<Export>, Vec<String>) {
    let mut exports = Vec::new();
    let mut problems = Vec::new();
    for (path, src) in files {
        let code = code_only(src);
        let in_capi = path.starts_with("src/capi/");
        // Every attribute (outer or inner) and whether it exports.
        let mut attr_spans = Vec::new();
        for (i, _) in code.match_indices('#') {
            let mut j = i + 1;
            if code.as_bytes().get(j) == Some(&b'!') {
                j += 1;
            }
            if code.as_bytes().get(j) != Some(&b'[') {
                continue;
            }
            let Some(end) = matching(&code, j) else { continue };
            attr_spans.push((i, end));
        }
        // Any no_mangle / export_name outside an attribute (a macro building one) is refused.
        for word in ["no_mangle", "export_name"] {
            for p in word_positions(&code, word) {
                if !attr_spans.iter().any(|&(a, e)| a < p && p < e) {
                    problems.push(format!("{path}:{}: `{word}` outside an attribute", line_of(&code, p)));
                }
            }
        }
        for &(start, end) in &attr_spans {
            let attr = &code[start..end];
            let exporting = word_positions(attr, "no_mangle").next().is_some()
                || word_positions(attr, "export_name").next().is_some();
            if !exporting {
                continue;
            }
            let line = line_of(&code, start);
            if attr.starts_with("#!") {
                problems.push(format!("{path}:{line}: inner export attribute {attr}"));
                continue;
            }
            let export_name = word_positions(attr, "export_name").next().map(|p| {
                // the value is a string literal: read it from the original text
                let q = src[start + p..end].find('"').map(|q| start + p + q + 1);
                q.and_then(|q| src[q..end].find('"').map(|e| src[q..q + e].to_owned())).unwrap_or_default()
            });
            match parse_item(src, &code, end) {
                Ok(item) => {
                    let symbol = export_name.unwrap_or_else(|| item.name.clone());
                    if !in_capi {
                        problems.push(format!("{path}:{line}: `{symbol}` is exported outside src/capi/"));
                    }
                    if !symbol.starts_with("smtp_") {
                        problems.push(format!("{path}:{line}: exported name `{symbol}` lacks the smtp_ prefix"));
                    }
                    let mut guard = None;
                    if item.is_fn {
                        if item.abi.as_deref() != Some("C") {
                            problems.push(format!("{path}:{line}: `{symbol}` is not `extern \"C\"`"));
                        }
                        match single_guard_call(&code[item.body.0..item.body.1]) {
                            Ok((g, first_arg)) => {
                                if let (Some((pname, _)), true) = (&item.first_param, g != "plain_call") {
                                    if first_arg != *pname {
                                        problems.push(format!(
                                            "{path}:{line}: `{symbol}` passes `{first_arg}` to {g}, not its parameter `{pname}`"
                                        ));
                                    }
                                }
                                guard = Some(g);
                            }
                            Err(why) if !unguarded_ok.contains(&symbol.as_str()) => {
                                problems.push(format!("{path}:{line}: `{symbol}`: {why}"))
                            }
                            Err(_) => {}
                        }
                    } else {
                        problems.push(format!(
                            "{path}:{line}: exported static `{symbol}`: the C API exports functions only"
                        ));
                    }
                    exports.push(Export {
                        file: path.clone(),
                        line,
                        symbol,
                        is_fn: item.is_fn,
                        guard,
                        first_param: item.first_param,
                    });
                }
                Err(why) => problems.push(format!("{path}:{line}: {attr}: {why}")),
            }
        }
        // The guards are defined once (the session guards in guard.rs, the panic guard of
        // functions without a session in unwind.rs), never shadowed elsewhere.
        for (g, home) in [
            ("session_call", "src/capi/guard.rs"),
            ("session_get", "src/capi/guard.rs"),
            ("plain_call", "src/capi/unwind.rs"),
        ] {
            for p in word_positions(&code, g) {
                let before = code[..p].trim_end();
                let binding = before.ends_with("fn") || before.ends_with("let") || before.ends_with("mut");
                if binding && path != home {
                    problems.push(format!("{path}:{}: `{g}` defined or bound outside {home}", line_of(&code, p)));
                }
            }
        }
    }
    (exports, problems)
}

struct Item {
    name: String,
    is_fn: bool,
    abi: Option<String>,
    /// (name, type) of the first parameter.
    first_param: Option<(String, String)>,
    /// The body's byte range, braces excluded.
    body: (usize, usize),
}

/// Parse the item after an attribute ending at `i`: further attributes, `pub`, `unsafe`,
/// `extern "ABI"`, then `fn name(...) ... { body }` or `static [mut] NAME`.
fn parse_item(src: &str, code: &str, mut i: usize) -> Result<Item, String> {
    let mut abi = None;
    loop {
        i = skip_ws(code, i);
        if code[i..].starts_with("#[") {
            i = matching(code, i + 1).ok_or("unclosed attribute")?;
            continue;
        }
        let word = ident_at(code, i);
        match word {
            "pub" => {
                i += 3;
                let j = skip_ws(code, i);
                if code[j..].starts_with('(') {
                    i = matching(code, j).ok_or("unclosed pub(...)")?;
                }
            }
            "unsafe" | "const" | "async" => i += word.len(),
            "extern" => {
                i = skip_ws(code, i + 6);
                if code[i..].starts_with('"') {
                    let end = i + 1 + src[i + 1..].find('"').ok_or("unclosed ABI string")?;
                    abi = Some(src[i + 1..end].to_owned());
                    i = end + 1;
                } else {
                    abi = Some("C".to_owned()); // bare `extern` is "C"
                }
            }
            "static" => {
                i = skip_ws(code, i + 6);
                if ident_at(code, i) == "mut" {
                    i = skip_ws(code, i + 3);
                }
                let name = ident_at(code, i).to_owned();
                return Ok(Item { name, is_fn: false, abi, first_param: None, body: (i, i) });
            }
            "fn" => {
                i = skip_ws(code, i + 2);
                let name = ident_at(code, i).to_owned();
                let open = i + code[i..].find('(').ok_or("no parameter list")?;
                let close = matching(code, open).ok_or("unclosed parameter list")?;
                let params = &code[open + 1..close - 1];
                let first_param = params.split(',').next().filter(|p| p.contains(':')).map(|p| {
                    let (n, t) = p.split_once(':').unwrap();
                    (n.trim().to_owned(), t.split_whitespace().collect::<Vec<_>>().join(" "))
                });
                let body_open = close + code[close..].find('{').ok_or("no body")?;
                let body_close = matching(code, body_open).ok_or("unclosed body")?;
                return Ok(Item { name, is_fn: true, abi, first_param, body: (body_open + 1, body_close - 1) });
            }
            _ => return Err(format!("not a function or static (found `{}`)", &code[i..(i + 20).min(code.len())])),
        }
    }
}

/// The body is exactly one guard call (optionally followed by `;`): its guard, without path,
/// and the first argument's text.
fn single_guard_call(body: &str) -> Result<(String, String), String> {
    let trimmed = body.trim_start();
    let offset = body.len() - trimmed.len();
    let Some(g) = GUARDS.iter().filter(|g| trimmed.starts_with(&format!("{g}("))).max_by_key(|g| g.len()) else {
        let first: String = trimmed.chars().take(50).collect();
        return Err(format!("the body does not start with a guard call but with `{first}`"));
    };
    let open = offset + g.len();
    let close = matching(body, open).ok_or("unclosed guard call")?;
    let rest = body[close..].trim();
    if !(rest.is_empty() || rest == ";") {
        return Err(format!("code after the guard call: `{rest}`"));
    }
    let args = &body[open + 1..close - 1];
    let mut depth = 0i32;
    let comma = args.char_indices().find(|&(_, c)| {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth -= 1,
            _ => {}
        }
        c == ',' && depth == 0
    });
    let first_arg = args[..comma.map_or(args.len(), |(j, _)| j)].trim().to_owned();
    Ok((g.rsplit("::").next().unwrap().to_owned(), first_arg))
}

/// Constructs that can panic, refused in the bodies of allow-listed unguarded exports.
fn panicky(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    for w in ["unwrap", "expect", "panic", "assert", "assert_eq", "unreachable", "todo", "unimplemented"] {
        if word_positions(body, w).next().is_some() {
            found.push(w.to_owned());
        }
    }
    let b = body.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'[' && indexes(&body[..i]) {
            found.push("indexing".to_owned());
        }
        if (c == b'/' || c == b'%') && !body[i..].starts_with("//") {
            found.push("division".to_owned());
        }
    }
    found
}

/// Whether a `[` after `before` indexes (after an expression) rather than opening an array
/// or slice type (after `&'static`, `=`, `:`, a keyword…).
fn indexes(before: &str) -> bool {
    let before = before.trim_end();
    match before.bytes().last() {
        Some(b')' | b']') => true,
        Some(c) if is_ident_byte(c) => {
            let len = before.bytes().rev().take_while(|&c| is_ident_byte(c)).count();
            let word = &before[before.len() - len..];
            let lifetime = before[..before.len() - len].ends_with('\'');
            !lifetime && !matches!(word, "mut" | "in" | "return" | "let" | "static" | "dyn" | "as" | "const")
        }
        _ => false,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn source_tree() -> Vec<(String, String)> {
    let mut paths = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut paths);
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(ROOT).unwrap().to_string_lossy().replace('\\', "/");
            (rel, std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

fn tree_exports() -> Vec<Export> {
    let (exports, problems) = lint(&source_tree(), &UNGUARDED_ALLOWED);
    assert!(problems.is_empty(), "export lint:\n  {}", problems.join("\n  "));
    exports
}

// ------------------------------------------------------------------------------- tests

/// The C handle type, as `guard::session_call` takes it (`*mut <handle>`): the name of the
/// opaque struct may change, the rule "mutable handle: session_call, const: session_get" not.
fn handle_type(files: &[(String, String)]) -> String {
    let (_, src) = files.iter().find(|(p, _)| p == "src/capi/guard.rs").expect("src/capi/guard.rs");
    let code = code_only(src);
    let at = code.find("fn session_call(").expect("guard.rs defines session_call");
    let item = parse_item(src, &code, at).unwrap();
    let (_, ty) = item.first_param.expect("session_call takes the handle first");
    ty.strip_prefix("*mut ").expect("session_call takes `*mut <handle>`").to_owned()
}

/// The real tree: every export is in src/capi, named smtp_*, `extern "C"`, a function, and
/// its body is exactly one guard call (or it is allow-listed).
#[test]
fn every_export_is_a_guarded_smtp_function_in_capi() {
    let files = source_tree();
    let handle = handle_type(&files);
    let (mut_handle, const_handle) = (format!("*mut {handle}"), format!("*const {handle}"));
    let (exports, mut problems) = lint(&files, &UNGUARDED_ALLOWED);
    // The lint found what it must find (it cannot pass by parsing nothing).
    assert!(exports.len() >= 40, "only {} exports found", exports.len());
    for known in
        ["smtp_client_new", "smtp_client_free", "smtp_client_sendmail", "smtp_client_last_result", "smtp_result_str"]
    {
        assert!(exports.iter().any(|e| e.symbol == known), "{known} not found by the lint");
    }
    for e in &exports {
        let allowed = UNGUARDED_ALLOWED.contains(&e.symbol.as_str());
        match (&e.guard, allowed) {
            (None, _) => {} // not allow-listed: already reported by lint()
            (Some(g), true) => problems.push(format!(
                "{}:{}: `{}` is allow-listed as unguarded but uses {g}: remove it from UNGUARDED_ALLOWED",
                e.file, e.line, e.symbol
            )),
            (Some(g), false) => {
                // session_call for *mut <handle>, session_get for *const <handle>.
                let ty = e.first_param.as_ref().map(|(_, t)| t.as_str()).unwrap_or("");
                let expected = if ty == mut_handle {
                    if MUT_SESSION_PLAIN.contains(&e.symbol.as_str()) {
                        "plain_call"
                    } else {
                        "session_call"
                    }
                } else if ty == const_handle {
                    "session_get"
                } else {
                    "plain_call"
                };
                // A guard family member (e.g. a `session_get_*` variant listed in GUARDS) counts.
                if !g.starts_with(expected) {
                    problems.push(format!(
                        "{}:{}: `{}` (first parameter `{ty}`) uses {g}, expected {expected}",
                        e.file, e.line, e.symbol
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "export lint:\n  {}", problems.join("\n  "));
    let symbols: Vec<&str> = exports.iter().map(|e| e.symbol.as_str()).collect();
    let unique: BTreeSet<&str> = symbols.iter().copied().collect();
    assert_eq!(unique.len(), symbols.len(), "an exported name is defined twice");
    assert!(exports.iter().all(|e| e.is_fn));
}

/// The allow-list is tiny, current, and its entries contain nothing that can panic.
#[test]
fn unguarded_allow_list_is_justified() {
    assert!(UNGUARDED_ALLOWED.len() <= 3, "keep the unguarded allow-list tiny");
    let files = source_tree();
    let (exports, _) = lint(&files, &UNGUARDED_ALLOWED);
    for name in UNGUARDED_ALLOWED {
        let e =
            exports.iter().find(|e| e.symbol == name).unwrap_or_else(|| panic!("allow-listed {name} is not exported"));
        let (_, src) = files.iter().find(|(p, _)| *p == e.file).unwrap();
        let code = code_only(src);
        let item = parse_item(src, &code, code[..].match_indices(&format!("fn {name}(")).next().unwrap().0).unwrap();
        let body = &code[item.body.0..item.body.1];
        assert!(panicky(body).is_empty(), "{name} may panic: {:?}", panicky(body));
    }
}

/// No exported name is one of libESMTP's, so a program can link both libraries.
#[test]
fn no_export_collides_with_libesmtp() {
    let path = Path::new(ROOT).join("tests/abi/libesmtp-names.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} is missing ({e}): it lists libESMTP's names", path.display()));
    let names: BTreeSet<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert!(names.len() >= 50 && names.contains("smtp_create_session"), "{} looks truncated", path.display());
    let clashes: Vec<String> =
        tree_exports().into_iter().map(|e| e.symbol).filter(|s| names.contains(s.as_str())).collect();
    assert!(clashes.is_empty(), "exports that libESMTP also defines: {clashes:?}");
}

/// The lint catches each kind of violation, and is not fooled by comments or strings.
#[test]
fn lint_catches_violations() {
    let file = |p: &str, s: &str| vec![(p.to_owned(), s.to_owned())];
    let problems = |p: &str, s: &str| lint(&file(p, s), &[]).1;
    let capi = "src/capi/x.rs";

    // Good: exactly one guard call, in all spellings.
    let good = r###"
        #[no_mangle]
        pub extern "C" fn smtp_a(session: *mut smtp_client) -> smtp_result {
            session_call(session, |h| { let x = "}"; Ok(()) })
        }
        /// Doc mentioning #[no_mangle] and `fn` bodies { unbalanced.
        #[unsafe(no_mangle)]
        pub extern "C" fn smtp_b(session: *const smtp_client) -> bool {
            session_get(session, false, |h| h.x('{'))
        }
        #[no_mangle]
        pub extern "C" fn smtp_c() -> u32 {
            plain_call(0, || 1)
        }
        // #[no_mangle] pub extern "C" fn commented_out() {}
        const S: &str = "#[no_mangle] pub extern \"C\" fn in_a_string() {}";
        const R: &str = r#"#[no_mangle]"#;
        const B: u8 = b'\'';
        fn helper<'a>(x: &'a str) -> &'a str { x }
    "###;
    let (exports, p) = lint(&file(capi, good), &[]);
    assert!(p.is_empty(), "{p:?}");
    let names: Vec<&str> = exports.iter().map(|e| e.symbol.as_str()).collect();
    assert_eq!(names, ["smtp_a", "smtp_b", "smtp_c"]);
    assert_eq!(exports[0].guard.as_deref(), Some("session_call"));
    assert_eq!(exports[2].guard.as_deref(), Some("plain_call"));

    let bad: [(&str, &str, &str); 12] = [
        (capi, "#[no_mangle] pub extern \"C\" fn smtp_x() -> i32 { 0 }", "does not start with a guard"),
        (
            capi,
            "#[no_mangle] pub extern \"C\" fn smtp_x(s: *mut smtp_client) -> i32 { let a = 1; session_call(s, |h| Ok(())) }",
            "does not start with a guard",
        ),
        (
            capi,
            "#[no_mangle] pub extern \"C\" fn smtp_x(s: *mut smtp_client) -> i32 { session_call(s, |h| Ok(())); panic!() }",
            "code after the guard call",
        ),
        (
            capi,
            "#[no_mangle] pub extern \"C\" fn smtp_x(s: *mut smtp_client, t: *mut smtp_client) -> i32 { session_call(t, |h| Ok(())) }",
            "passes `t`",
        ),
        ("src/session/mod.rs", "#[no_mangle] pub extern \"C\" fn smtp_x() { plain_call((), || ()) }", "outside src/capi"),
        ("src/lib.rs", "#[unsafe(no_mangle)]\npub extern \"C\" fn smtp_x() { plain_call((), || ()) }", "outside src/capi"),
        (capi, "#[no_mangle] pub extern \"C\" fn session_free() { plain_call((), || ()) }", "lacks the smtp_ prefix"),
        (capi, "#[export_name = \"other\"] pub extern \"C\" fn smtp_x() { plain_call((), || ()) }", "`other` lacks"),
        (capi, "#[cfg_attr(unix, no_mangle)] pub extern \"Rust\" fn smtp_x() { plain_call((), || ()) }", "not `extern \"C\"`"),
        (capi, "#[no_mangle] pub static smtp_x: i32 = 0;", "exported static"),
        (capi, "macro_rules! m { () => { #[$a] fn f() {} } } m!(no_mangle);", "outside an attribute"),
        ("src/capi/session.rs", "fn plain_call<R>(d: R, f: impl FnOnce() -> R) -> R { f() }", "defined or bound outside"),
    ];
    for (path, src, expected) in bad {
        let p = problems(path, src);
        assert!(p.iter().any(|m| m.contains(expected)), "lint missed {expected:?} in {src:?}: {p:?}");
    }
    // The allow-list check refuses panicking bodies.
    assert_eq!(panicky("x.unwrap()"), ["unwrap"]);
    assert_eq!(panicky("ALL[i]"), ["indexing"]);
    assert!(panicky("let t: &'static [u8] = b\"\"; t.as_ptr()").is_empty());
}
