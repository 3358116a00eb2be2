//! Arbitrary EHLO / LHLO reply lines through `Features::parse`.
//!
//! Checked: bounded (at most 256 keywords, plus AUTH, which the cap never drops); keywords
//! unique, lower-case, `[a-z0-9][a-z0-9-]*`; `has`/`get` agree with `iter` in any letter case;
//! every valid keyword line of the reply is represented while the cap is not reached (AUTH
//! always); `size_limit` never panics and agrees with `get`.
//!
//! Input: lines split on LF (one CR before each LF removed), decoded lossily as the reply
//! parser does; the first line is the server's name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpclient::protocol::{Features, Reply};

const MAX_FEATURES: usize = 256;

fn valid_keyword(k: &str) -> bool {
    k.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fuzz_target!(|data: &[u8]| {
    let lines: Vec<String> = data
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned())
        .collect();
    let reply = Reply::new(250, lines);
    let f = Features::parse(&reply);

    let entries: Vec<(&str, &str)> = f.iter().collect();
    // At most MAX_FEATURES keywords, plus AUTH, which is never crowded out by the cap.
    assert!(entries.len() <= MAX_FEATURES + 1);
    if entries.len() > MAX_FEATURES {
        assert_eq!(entries.last().map(|e| e.0), Some("auth"));
    }
    assert_eq!(entries.len(), f.len());
    assert_eq!(f.is_empty(), entries.is_empty());
    for (i, (k, v)) in entries.iter().enumerate() {
        assert!(valid_keyword(k), "invalid keyword {k:?}");
        assert_eq!(*k, k.to_ascii_lowercase());
        assert!(!entries[..i].iter().any(|(k2, _)| k2.eq_ignore_ascii_case(k)), "duplicate keyword {k:?}");
        assert!(f.has(k) && f.has(&k.to_ascii_uppercase()));
        assert_eq!(f.get(k), Some(*v));
        assert_eq!(f.get(&k.to_ascii_uppercase()), Some(*v));
    }

    // Every keyword a line names is advertised, unless the cap was reached; nothing is
    // advertised that no line names.
    for line in reply.lines().iter().skip(1) {
        let kw = match line.strip_prefix("AUTH=").or_else(|| line.strip_prefix("auth=")) {
            Some(_) => "auth",
            None => line.split(' ').next().unwrap_or(""),
        };
        if valid_keyword(kw) && (entries.len() < MAX_FEATURES || kw.eq_ignore_ascii_case("auth")) {
            assert!(f.has(kw), "keyword {kw:?} of line {line:?} missing");
        }
        // `get` answers for exactly the advertised keywords, whatever the text asked for.
        assert_eq!(f.get(line).is_some(), entries.iter().any(|(k, _)| k.eq_ignore_ascii_case(line)));
    }
    for (k, _) in &entries {
        let named = reply.lines().iter().skip(1).any(|l| {
            let kw = l.split(' ').next().unwrap_or("");
            kw.eq_ignore_ascii_case(k) || (*k == "auth" && (l.starts_with("AUTH=") || l.starts_with("auth=")))
        });
        assert!(named, "keyword {k:?} advertised by no line");
    }

    match f.size_limit() {
        Some(n) => {
            assert!(n > 0);
            assert_eq!(f.get("size").unwrap().trim().parse::<u64>().ok(), Some(n));
        }
        None => {
            if let Some(v) = f.get("SIZE") {
                assert!(matches!(v.trim().parse::<u64>(), Err(_) | Ok(0)));
            }
        }
    }
    let _ = f.get("");
    let _ = f.has("\u{e9}");
});
