//! The DATA / BDAT body encoder on arbitrary bodies and arbitrary chunkings.
//!
//! Input: the whole input is the body; its first 16 bytes also give the chunk sizes (each
//! `byte % 19`, cycled; 0 is an empty chunk, which must be harmless).
//!
//! Checked, for `DataEncoder::new` (DATA) and `DataEncoder::new_unstuffed` (BDAT):
//! - the chunked output equals the one-shot output, and the encoder is reusable after `finish`;
//! - DATA: what a server recovers (terminator removed, one leading '.' per line removed) equals
//!   the CRLF-normalised body plus the CRLF `finish` adds to a body not ending in a line end;
//!   the only `CRLF . CRLF` is the terminator, at the very end; no bare CR or LF;
//! - BDAT: the output is exactly that normalised body; no bare CR or LF;
//! - `normalized_len` is the length of the normalised body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpclient::message::{normalized_len, DataEncoder};

/// Reference normalisation, byte by byte: CRLF, bare CR and bare LF each become CRLF.
fn normalize(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 2);
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn encode(stuff: bool, input: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut enc = if stuff { DataEncoder::new() } else { DataEncoder::new_unstuffed() };
    let mut out = Vec::new();
    if sizes.is_empty() {
        enc.encode(input, &mut out);
    } else {
        let mut rest = input;
        for &n in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let n = n.min(rest.len());
            enc.encode(&rest[..n], &mut out);
            rest = &rest[n..];
        }
    }
    enc.finish(&mut out);
    // After finish the encoder starts afresh: the same body encodes the same way again.
    let mut again = Vec::new();
    enc.encode(input, &mut again);
    enc.finish(&mut again);
    assert_eq!(again, out, "encoder not reset by finish");
    out
}

fn one_shot(stuff: bool, input: &[u8]) -> Vec<u8> {
    encode(stuff, input, &[])
}

fn assert_no_bare_line_ends(wire: &[u8]) {
    for (i, &b) in wire.iter().enumerate() {
        if b == b'\r' {
            assert_eq!(wire.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
        if b == b'\n' {
            assert!(i > 0 && wire[i - 1] == b'\r', "bare LF at {i}");
        }
    }
}

/// What a server recovers from a DATA body: terminator stripped, one leading '.' per line removed.
fn unstuff(wire: &[u8]) -> Vec<u8> {
    let body = wire.strip_suffix(b".\r\n").expect("terminator");
    assert!(body.ends_with(b"\r\n"), "no CRLF before the terminator");
    let mut out = Vec::with_capacity(body.len());
    for line in body[..body.len() - 2].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let sizes: Vec<usize> = data.iter().take(16).map(|&b| usize::from(b % 19)).collect();
    // A chunking made only of empty chunks would never progress: give it one real size.
    let sizes = if sizes.iter().all(|&n| n == 0) { vec![1] } else { sizes };

    let mut expected = normalize(data);
    assert_eq!(normalized_len(data), expected.len() as u64, "normalized_len");
    if !matches!(data.last(), Some(b'\r' | b'\n')) {
        expected.extend_from_slice(b"\r\n");
    }

    // DATA
    let wire = one_shot(true, data);
    assert_eq!(encode(true, data, &sizes), wire, "chunked DATA output differs");
    assert_eq!(encode(true, data, &[1]), wire, "byte-by-byte DATA output differs");
    assert_no_bare_line_ends(&wire);
    assert!(!wire.starts_with(b".\r\n"), "body starts with the terminator");
    assert_eq!(find(&wire, b"\r\n.\r\n"), Some(wire.len() - 5), "end of data before the end");
    assert_eq!(unstuff(&wire), expected, "unstuffed DATA body differs from the normalised input");
    assert!(wire.len() <= 2 * data.len() + 5);

    // BDAT
    let bdat = one_shot(false, data);
    assert_eq!(encode(false, data, &sizes), bdat, "chunked BDAT output differs");
    assert_no_bare_line_ends(&bdat);
    assert_eq!(bdat, expected, "BDAT body differs from the normalised input");
});
