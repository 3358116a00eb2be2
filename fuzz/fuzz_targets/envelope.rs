//! Arbitrary message bytes through `envelope_from_headers` and `strip_bcc`.
//!
//! Checked:
//! - neither panics;
//! - every envelope address is safe on a command line: it has no CR, LF or NUL, and contains
//!   '@' or is a plain name without a domain (smtplib's `To: John`); only the sender may be
//!   empty (an explicit `<>`); `quote_forward_path` accepts a non-empty one (and the MAIL / RCPT lines built from it are single
//!   lines) or refuses it with InvalidArgument;
//! - `strip_bcc` only removes whole header lines: re-split into lines (CRLF, bare CR and bare LF
//!   each end a line, as the DATA encoder sends them), the output's header section is a
//!   subsequence of the input's, its body (from the first empty line) is the input's, and its
//!   header section has no Bcc or Resent-Bcc field; stripping again changes nothing.
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use smtpclient::message::{envelope_from_headers, strip_bcc};
use smtpclient::protocol::{command_line, quote_forward_path, Features};
use smtpclient::ErrorKind;

/// Line contents (line ends removed), as the DATA encoder splits them.
fn lines(msg: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = msg;
    while !rest.is_empty() {
        match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
            None => {
                out.push(rest);
                break;
            }
            Some(i) => {
                out.push(&rest[..i]);
                let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
        }
    }
    out
}

/// Header lines, and the rest from the first empty line on.
fn split_section<'a>(ls: &[&'a [u8]]) -> (Vec<&'a [u8]>, Vec<&'a [u8]>) {
    let end = ls.iter().position(|l| l.is_empty()).unwrap_or(ls.len());
    (ls[..end].to_vec(), ls[end..].to_vec())
}

/// `name [WSP] ":"` where name is printable ASCII without ':'.
fn field_name(line: &[u8]) -> Option<&[u8]> {
    let n = line.iter().position(|&b| !(33..=126).contains(&b) || b == b':')?;
    let rest = &line[n..];
    let colon = rest.iter().position(|&b| b != b' ' && b != b'\t')?;
    (n > 0 && rest[colon] == b':').then_some(&line[..n])
}

fn is_subsequence(small: &[&[u8]], big: &[&[u8]]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.any(|b| b == s))
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(400)]).escape_debug().to_string()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = envelope_from_headers(data) {
        assert!(env.to.iter().all(|a| !a.is_empty()), "an empty recipient: {:?}", env.to);
        for addr in std::iter::once(&env.from).chain(&env.to).filter(|a| !a.is_empty()) {
            assert!(!addr.contains(['\r', '\n', '\0']), "unsafe address {addr:?}");
            // a name without a domain (smtplib's `To: John`) is a dot-string, never quoted
            assert!(
                addr.contains('@')
                    || addr
                        .chars()
                        .all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)),
                "address without '@' that is not a plain name: {addr:?}"
            );
            // quote_forward_path may refuse what the header parser accepts (e.g. RFC 5321 length
            // limits): send_message then fails with InvalidArgument before sending anything.
            let quoted = match quote_forward_path(addr) {
                Ok(q) => q,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{addr:?}: {e}");
                    continue;
                }
            };
            for (verb, arg) in [("MAIL", format!("FROM:{quoted}")), ("RCPT", format!("TO:{quoted}"))] {
                if let Ok(line) = command_line(verb, &arg, &Features::default()) {
                    assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
                    assert_eq!(line.iter().filter(|&&b| b == b'\r').count(), 1);
                    assert!(line.ends_with(b"\r\n"));
                }
            }
        }
    }

    let stripped = strip_bcc(data);
    if let Cow::Borrowed(b) = &stripped {
        assert_eq!(b.as_ptr(), data.as_ptr());
    }
    let (head_in, body_in) = split_section(&lines(data));
    let (head_out, body_out) = split_section(&lines(&stripped));
    assert!(
        body_out == body_in,
        "strip_bcc changed the body or moved the end of the header section\n input: {}\noutput: {}",
        show(data),
        show(&stripped)
    );
    assert!(
        is_subsequence(&head_out, &head_in),
        "strip_bcc output has header lines the input did not have\n input: {}\noutput: {}",
        show(data),
        show(&stripped)
    );
    for line in &head_out {
        if let Some(name) = field_name(line) {
            assert!(
                !name.eq_ignore_ascii_case(b"bcc") && !name.eq_ignore_ascii_case(b"resent-bcc"),
                "Bcc field left in the header section: {}\n input: {}\noutput: {}",
                show(line),
                show(data),
                show(&stripped)
            );
        }
    }
    let again = strip_bcc(&stripped);
    assert!(matches!(again, Cow::Borrowed(_)), "strip_bcc is not idempotent: {}", show(data));
});
