//! Arbitrary server bytes, split into lines, through `ReplyParser::push_line`.
//!
//! Checked against a small reference model of RFC 5321 §4.2 reply syntax and the parser's caps:
//! the parser must accept exactly the lines the model accepts, return a reply exactly when the
//! model completes one, and the reply must be the model's (code, lossy text of each line).
//! Bounds: at most MAX_LINES lines, code 200..=599, each line's text from at most MAX_LINE bytes.
//!
//! Input: the first byte sets a repeat count for every line: `2 << (b & 7)` (2 to 256) when
//! `b & 0xf8 == 0xf8`, else 1; this lets small inputs reach the line-count and total-size
//! caps. The rest is split on LF, and one CR before each LF is removed (as the transport
//! does). Work per input is bounded: the run stops once MAX_REPLY_BYTES + 2 * MAX_LINE bytes
//! have been pushed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpclient::protocol::{ReplyParser, MAX_LINE, MAX_LINES, MAX_REPLY_BYTES};

/// What the reference model makes of one line on its own (computed once per distinct line, so
/// that repeated lines cost only the parser's work).
struct LineInfo {
    len: usize,
    /// The code and whether it is the last line, or None for a malformed line.
    parsed: Option<(u16, bool)>,
    /// The text after the separator, decoded as the parser must.
    text: String,
}

impl LineInfo {
    fn new(line: &[u8]) -> Self {
        let parsed = (line.len() <= MAX_LINE
            && !line.contains(&0)
            && line.len() >= 3
            && line[..3].iter().all(u8::is_ascii_digit)
            && (b'2'..=b'5').contains(&line[0]))
        .then(|| match line.get(3) {
            None | Some(b' ') => Some(true),
            Some(b'-') => Some(false),
            Some(_) => None,
        })
        .flatten()
        .map(|last| {
            let code = line[..3].iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
            (code, last)
        });
        LineInfo { len: line.len(), parsed, text: String::from_utf8_lossy(line.get(4..).unwrap_or(&[])).into_owned() }
    }
}

/// The reference model: the reply in progress.
#[derive(Default)]
struct Model {
    code: Option<u16>,
    lines: Vec<String>,
    bytes: usize,
}

enum Expect {
    Error,
    More,
    Reply(u16, Vec<String>),
}

impl Model {
    fn push(&mut self, line: &LineInfo) -> Expect {
        let Some((code, last)) = line.parsed else {
            return Expect::Error;
        };
        if self.code.is_some_and(|c| c != code) {
            return Expect::Error;
        }
        if self.lines.len() >= MAX_LINES || self.bytes + line.len > MAX_REPLY_BYTES {
            return Expect::Error;
        }
        self.code = Some(code);
        self.bytes += line.len;
        self.lines.push(line.text.clone());
        if last {
            let lines = std::mem::take(&mut self.lines);
            *self = Model::default();
            Expect::Reply(code, lines)
        } else {
            Expect::More
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let repeat = if first & 0xf8 == 0xf8 { 2usize << (first & 7) } else { 1 };

    let mut parser = ReplyParser::new();
    let mut model = Model::default();
    let mut pushed = 0usize;
    for raw in rest.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let info = LineInfo::new(line);
        for _ in 0..repeat {
            pushed += line.len() + 1;
            if pushed > MAX_REPLY_BYTES + 2 * MAX_LINE {
                return;
            }
            let got = parser.push_line(line);
            let want = model.push(&info);
            match (got, want) {
                (Err(_), Expect::Error) => {
                    // The transport drops the parser after an error; so do we.
                    parser = ReplyParser::new();
                    model = Model::default();
                    break;
                }
                (Ok(None), Expect::More) => assert!(parser.in_progress()),
                (Ok(Some(reply)), Expect::Reply(code, lines)) => {
                    assert!(!parser.in_progress());
                    assert!((200..=599).contains(&reply.code()));
                    assert_eq!(reply.code(), code);
                    assert!(!reply.lines().is_empty() && reply.lines().len() <= MAX_LINES);
                    assert_eq!(reply.lines().len(), lines.len());
                    // Each text is the lossy decoding of at most MAX_LINE raw bytes (the model
                    // only accepts such lines): at most MAX_LINE characters, and at most
                    // 3 * MAX_LINE bytes (an invalid byte becomes U+FFFD, 3 bytes).
                    assert!(reply.lines() == &lines[..], "reply text differs from the model's");
                    assert!(reply.lines().iter().all(|t| t.len() <= 3 * MAX_LINE));
                    assert_eq!(reply.text().len(), reply.lines().iter().map(|l| l.len() + 1).sum::<usize>() - 1);
                    assert_eq!(reply.is_positive(), (200..300).contains(&reply.code()));
                    if let Some(es) = reply.enhanced_status() {
                        assert_eq!(es.class, reply.code() / 100);
                        assert!(es.subject <= 999 && es.detail <= 999);
                    }
                }
                (got, want) => panic!(
                    "parser and model disagree on line {:?}: parser {:?}, model {}",
                    String::from_utf8_lossy(&line[..line.len().min(80)]),
                    got.map(|r| r.map(|r| r.code())),
                    match want {
                        Expect::Error => "error".to_string(),
                        Expect::More => "more".to_string(),
                        Expect::Reply(c, l) => format!("reply {c} ({} lines)", l.len()),
                    }
                ),
            }
        }
    }
});
