//! Server replies: the one parser every reply goes through (RFC 5321 §4.2).
//!
//! A reply line is exactly three ASCII digits (first digit 2–5), then SP, `-` or the end of the
//! line, then text. Every line of a multi-line reply must carry the same code. Lines, lines per
//! reply and total reply size are capped so a hostile server cannot make us allocate without end.

use crate::error::{Error, ErrorKind, Result};
pub use crate::reply::{EnhancedStatus, Reply};

/// Longest reply line accepted, CRLF excluded (CPython's `_MAXLINE`).
pub const MAX_LINE: usize = 8192;
/// Most lines in one multi-line reply.
pub const MAX_LINES: usize = 512;
/// Largest total reply, text of all lines together.
pub const MAX_REPLY_BYTES: usize = 128 * 1024;

/// Accumulates reply lines until a reply is complete, enforcing the grammar and the caps.
#[derive(Debug, Default)]
pub struct ReplyParser {
    code: Option<u16>,
    lines: Vec<String>,
    bytes: usize,
}

impl ReplyParser {
    /// A parser waiting for the first line of a reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one line (CRLF already removed). Returns the reply once its last line arrives.
    pub fn push_line(&mut self, line: &[u8]) -> Result<Option<Reply>> {
        if line.len() > MAX_LINE {
            return Err(Error::protocol(format!("reply line longer than {MAX_LINE} bytes")));
        }
        if line.contains(&0) {
            return Err(Error::protocol("NUL byte in server reply"));
        }
        let (code, last) = parse_code(line)?;
        match self.code {
            Some(c) if c != code => {
                return Err(Error::protocol(format!("reply code changed within a multi-line reply ({c} then {code})")))
            }
            _ => self.code = Some(code),
        }
        self.bytes += line.len();
        if self.lines.len() >= MAX_LINES || self.bytes > MAX_REPLY_BYTES {
            return Err(Error::protocol(format!("reply exceeds {MAX_LINES} lines or {MAX_REPLY_BYTES} bytes")));
        }
        let text = if line.len() > 4 { &line[4..] } else { &[][..] };
        self.lines.push(String::from_utf8_lossy(text).into_owned());
        if last {
            self.code = None;
            self.bytes = 0;
            Ok(Some(Reply::new(code, std::mem::take(&mut self.lines))))
        } else {
            Ok(None)
        }
    }

    /// True when part of a multi-line reply has been received.
    pub fn in_progress(&self) -> bool {
        self.code.is_some()
    }
}

/// The code of a reply line and whether it is the reply's last line.
fn parse_code(line: &[u8]) -> Result<(u16, bool)> {
    let malformed = || {
        let shown: String = String::from_utf8_lossy(&line[..line.len().min(40)])
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        Error::new(ErrorKind::Protocol, format!("malformed reply line: {shown:?}"))
    };
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&line[0]) {
        return Err(malformed());
    }
    let code = u16::from(line[0] - b'0') * 100 + u16::from(line[1] - b'0') * 10 + u16::from(line[2] - b'0');
    match line.get(3) {
        None | Some(b' ') => Ok((code, true)),
        Some(b'-') => Ok((code, false)),
        Some(_) => Err(malformed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(lines: &[&[u8]]) -> Result<Option<Reply>> {
        let mut p = ReplyParser::new();
        let mut out = None;
        for l in lines {
            out = p.push_line(l)?;
        }
        Ok(out)
    }

    #[test]
    fn single_and_multi_line() {
        let r = parse_all(&[b"250 ok"]).unwrap().unwrap();
        assert_eq!((r.code(), r.text()), (250, "ok".to_owned()));
        let r = parse_all(&[b"250-mx.example", b"250-PIPELINING", b"250 SIZE 10"]).unwrap().unwrap();
        assert_eq!(r.lines(), ["mx.example", "PIPELINING", "SIZE 10"]);
        assert_eq!(r.text(), "mx.example\nPIPELINING\nSIZE 10");
    }

    #[test]
    fn bare_code_is_valid() {
        let r = parse_all(&[b"250"]).unwrap().unwrap();
        assert_eq!((r.code(), r.text()), (250, String::new()));
        // smtp-sink ends its EHLO reply with an empty "250 " line
        let r = parse_all(&[b"250-x", b"250 "]).unwrap().unwrap();
        assert_eq!(r.lines(), ["x", ""]);
    }

    #[test]
    fn malformed_codes_are_protocol_errors() {
        for bad in [
            &b"2_5 ok"[..],
            b" 25 ok",
            b"+25 ok",
            b"-25 x",
            b"25",
            b"2",
            b"",
            b"2500 ok",
            b"250ok",
            b"250\t",
            b"0xx",
            b"1xx ok",
            b"600 x",
            b"999 x",
            b"150 x",
        ] {
            let e = parse_all(&[bad]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{bad:?}");
        }
    }

    #[test]
    fn mixed_codes_refused() {
        assert_eq!(parse_all(&[b"250-a", b"550 b"]).unwrap_err().kind(), ErrorKind::Protocol);
    }

    #[test]
    fn nul_refused() {
        assert_eq!(parse_all(&[b"250 ok\0evil"]).unwrap_err().kind(), ErrorKind::Protocol);
    }

    #[test]
    fn caps() {
        let long = vec![b'a'; MAX_LINE + 1];
        assert_eq!(parse_all(&[&long]).unwrap_err().kind(), ErrorKind::Protocol);
        let mut p = ReplyParser::new();
        let mut err = None;
        for _ in 0..10_000 {
            match p.push_line(b"250-x") {
                Ok(None) => {}
                Ok(Some(_)) => unreachable!(),
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert_eq!(err.unwrap().kind(), ErrorKind::Protocol);
        let mut p = ReplyParser::new();
        let line = [b"250-".as_slice(), &[b'x'; 8000]].concat();
        let mut n = 0;
        let e = loop {
            n += 1;
            if let Err(e) = p.push_line(&line) {
                break e;
            }
        };
        assert!(n <= MAX_REPLY_BYTES / 8000 + 1);
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }
}
