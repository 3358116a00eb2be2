//! Arbitrary strings through `command_line`, `quote_reverse_path`, `quote_forward_path`,
//! `check_esmtp_param` and
//! `check_line_safe`: whatever they accept must make exactly one line.
//!
//! Input: UTF-8 (lossy); split at the first U+001F into a verb and its arguments. The whole
//! string is also used as an address and as an ESMTP parameter.
//!
//! Checked, whenever a function returns Ok: the command line is `verb[ SP args] CRLF` with
//! exactly one CR and one LF (the final CRLF), no NUL, and at most MAX_COMMAND_LINE bytes;
//! a quoted address is `<…>` with no CR, LF, NUL, '<' or '>' inside, and makes a one-line
//! MAIL / RCPT command; an accepted ESMTP parameter has no SP, CR, LF or NUL and makes a
//! one-line MAIL command. Input with CR, LF or NUL is always refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpclient::protocol::{
    check_esmtp_param, check_line_safe, command_line, quote_forward_path, quote_reverse_path, Features,
    MAX_COMMAND_LINE,
};

/// No extension advertised: no line allowance, so every line is at most MAX_COMMAND_LINE.
fn no_extensions() -> Features {
    Features::default()
}

fn has_unsafe(s: &str) -> bool {
    s.contains(['\r', '\n', '\0'])
}

fn assert_one_line(line: &[u8]) {
    assert!(line.ends_with(b"\r\n"), "no final CRLF");
    assert_eq!(line.iter().filter(|&&b| b == b'\r').count(), 1, "CR inside the line");
    assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "LF inside the line");
    assert!(!line.contains(&0), "NUL in the line");
    assert!(line.len() <= MAX_COMMAND_LINE, "line too long");
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let (verb, args) = s.split_once('\u{1f}').unwrap_or((&s, ""));

    assert_eq!(check_line_safe("x", &s).is_ok(), !has_unsafe(&s));

    match command_line(verb, args, &no_extensions()) {
        Ok(line) => {
            assert_one_line(&line);
            let mut want = verb.as_bytes().to_vec();
            if !args.is_empty() {
                want.push(b' ');
                want.extend_from_slice(args.as_bytes());
            }
            want.extend_from_slice(b"\r\n");
            assert_eq!(line, want);
        }
        Err(_) => {}
    }
    if has_unsafe(verb) || has_unsafe(args) {
        assert!(command_line(verb, args, &no_extensions()).is_err());
    }

    for addr in [&*s, verb, args] {
        for quote in [quote_reverse_path, quote_forward_path] {
            match quote(addr) {
                Ok(q) => {
                    assert!(!has_unsafe(addr));
                    assert!(q.starts_with('<') && q.ends_with('>') && q.len() >= 2);
                    let inner = &q[1..q.len() - 1];
                    assert!(!inner.contains(['<', '>', '\r', '\n', '\0']), "quoted {q:?}");
                    for (verb, arg) in [("MAIL", format!("FROM:{q}")), ("RCPT", format!("TO:{q}"))] {
                        if let Ok(line) = command_line(verb, &arg, &no_extensions()) {
                            assert_one_line(&line);
                        }
                    }
                }
                Err(_) => {}
            }
            if has_unsafe(addr) {
                assert!(quote(addr).is_err());
            }
        }

        match check_esmtp_param(addr) {
            Ok(()) => {
                assert!(!has_unsafe(addr) && !addr.contains(' ') && !addr.is_empty());
                if let Ok(line) = command_line("MAIL", &format!("FROM:<a@example.test> {addr}"), &no_extensions()) {
                    assert_one_line(&line);
                }
            }
            Err(_) => {}
        }
        if has_unsafe(addr) {
            assert!(check_esmtp_param(addr).is_err());
        }
    }
});
