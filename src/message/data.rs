//! The DATA / BDAT body encoder: line-end normalisation and dot-stuffing.
//!
//! Every line ending the caller writes, CRLF, bare CR or bare LF, leaves as exactly one CRLF, so
//! no byte sequence in a body can end the DATA phase early on a server that accepts bare line
//! ends (SMTP smuggling): the only `CRLF . CRLF` on the wire is the terminator `finish` writes.

/// Position of the first CR or LF in `bytes`: the only bytes that can end a line.
///
/// One place for the definition of a line end, shared with the header scanner so that a
/// message's header section is split into lines exactly as the encoder will send it.
#[inline]
pub(crate) fn find_line_end(bytes: &[u8]) -> Option<usize> {
    // Eight bytes at a time (SWAR): a word has a CR or LF iff XOR with that byte repeated
    // leaves a zero byte. Lines are typically under 100 bytes, so this beats a byte loop
    // without the setup cost of wider SIMD.
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const CR: u64 = LO * b'\r' as u64;
    const LF: u64 = LO * b'\n' as u64;
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let (a, b) = (w ^ CR, w ^ LF);
        let zero = ((a.wrapping_sub(LO) & !a) | (b.wrapping_sub(LO) & !b)) & HI;
        if zero != 0 {
            return Some(offset + (zero.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    words.remainder().iter().position(|&b| b == b'\r' || b == b'\n').map(|i| offset + i)
}

/// Streaming encoder for a message body; feed it chunks of any size, then call `finish`.
///
/// It keeps the little state a chunk boundary can split (a CR whose LF may come next, whether
/// the next byte starts a line), so the output does not depend on how the body was chunked.
#[derive(Debug, Clone)]
pub struct DataEncoder {
    /// Dot-stuff lines and write the `.` terminator (DATA); off for BDAT.
    stuff: bool,
    /// The next input byte starts a line.
    at_line_start: bool,
    /// The last input byte was a CR, already written as CRLF: an LF next belongs to it.
    skip_lf: bool,
    /// The output so far is non-empty and ends with CRLF.
    ends_with_eol: bool,
}

impl Default for DataEncoder {
    fn default() -> Self {
        DataEncoder::new()
    }
}

impl DataEncoder {
    /// An encoder for a DATA body: line ends normalised, lines dot-stuffed, `.` terminator.
    pub fn new() -> Self {
        DataEncoder::with_stuffing(true)
    }

    /// An encoder for a BDAT body: chunks are counted, not terminated, so only line ends are
    /// normalised (no dot-stuffing) and `finish` writes no terminator.
    pub fn new_unstuffed() -> Self {
        DataEncoder::with_stuffing(false)
    }

    fn with_stuffing(stuff: bool) -> Self {
        DataEncoder { stuff, at_line_start: true, skip_lf: false, ends_with_eol: false }
    }

    /// Appends the wire form of `chunk` to `out`: every bare CR, bare LF and CRLF becomes CRLF;
    /// in DATA mode every line starting with '.' gets one more '.' (dot-stuffing, RFC 5321
    /// §4.5.2).
    ///
    /// State is kept across calls: output is identical for any chunking of the same input (a CR
    /// at the end of one chunk and LF at the start of the next are one line end). NUL and every
    /// other byte pass through unchanged; policy on them belongs to the caller.
    pub fn encode(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let mut rest = chunk;
        if self.skip_lf {
            match rest.split_first() {
                None => return,
                Some((b'\n', tail)) => rest = tail,
                Some(_) => {}
            }
            self.skip_lf = false;
        }
        if rest.is_empty() {
            return;
        }
        // Line ends grow by at most one byte, stuffed dots by one: a little slack covers
        // ordinary text without reserving the worst case (twice the chunk) up front.
        out.reserve(rest.len() + rest.len() / 32 + 8);
        // Bytes that need no change (text, CRLF line ends, lines not starting with '.') are
        // copied in runs as long as possible: the common CRLF message is one copy per chunk.
        let mut run = 0;
        let mut pos = 0;
        loop {
            if self.at_line_start && self.stuff && rest.get(pos) == Some(&b'.') {
                out.extend_from_slice(&rest[run..pos]);
                out.push(b'.');
                run = pos;
            }
            let Some(i) = find_line_end(&rest[pos..]).map(|i| pos + i) else {
                out.extend_from_slice(&rest[run..]);
                if pos < rest.len() {
                    self.at_line_start = false;
                    self.ends_with_eol = false;
                }
                return;
            };
            self.at_line_start = true;
            self.ends_with_eol = true;
            if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                pos = i + 2; // a proper CRLF: stays in the run
            } else {
                out.extend_from_slice(&rest[run..i]);
                out.extend_from_slice(b"\r\n");
                if rest[i] == b'\r' && i + 1 == rest.len() {
                    // the LF completing this CR may start the next chunk
                    self.skip_lf = true;
                    return;
                }
                pos = i + 1;
                run = pos;
            }
            if pos == rest.len() {
                out.extend_from_slice(&rest[run..]);
                return;
            }
        }
    }

    /// Ends the body: appends CRLF unless the output so far ends with CRLF (an empty body gives
    /// CRLF too, as smtplib does), then, in DATA mode, the `.` CRLF terminator.
    ///
    /// In BDAT mode (`new_unstuffed`) only the CRLF is appended, so a message gets the same
    /// content whichever way it is sent. The encoder is then reset, ready for another body.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.ends_with_eol {
            out.extend_from_slice(b"\r\n");
        }
        if self.stuff {
            out.extend_from_slice(b".\r\n");
        }
        *self = DataEncoder::with_stuffing(self.stuff);
    }
}

/// Length in octets of `msg` after line-end normalisation, without dot-stuffing (what RFC 1870
/// SIZE counts).
///
/// Like smtplib's `size=` it counts the message as given: the CRLF that `finish` appends to a
/// message that is empty or does not end with a line end is not included.
pub fn normalized_len(msg: &[u8]) -> u64 {
    // Every bare CR or bare LF gains one byte; a CRLF stays two: len + CRs + LFs - 2 * CRLFs.
    // Counted in blocks whose u8 counters cannot overflow, which the compiler vectorises
    // (about 8 times faster than walking the lines: this runs over every in-memory message).
    const BLOCK: usize = 255;
    let mut line_end_bytes = 0u64;
    for block in msg.chunks(BLOCK) {
        let mut c = 0u8;
        for &b in block {
            c += u8::from(b == b'\r') + u8::from(b == b'\n');
        }
        line_end_bytes += u64::from(c);
    }
    let mut crlf = 0u64;
    if msg.len() > 1 {
        for (xa, xb) in msg[..msg.len() - 1].chunks(BLOCK).zip(msg[1..].chunks(BLOCK)) {
            let mut c = 0u8;
            for (&a, &b) in xa.iter().zip(xb) {
                c += u8::from((a == b'\r') & (b == b'\n'));
            }
            crlf += u64::from(c);
        }
    }
    msg.len() as u64 + line_end_bytes - 2 * crlf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_all(input: &[u8]) -> Vec<u8> {
        let mut enc = DataEncoder::new();
        let mut out = Vec::new();
        enc.encode(input, &mut out);
        enc.finish(&mut out);
        out
    }

    fn encode_chunked(input: &[u8], sizes: &mut dyn FnMut() -> usize, stuff: bool) -> Vec<u8> {
        let mut enc = if stuff { DataEncoder::new() } else { DataEncoder::new_unstuffed() };
        let mut out = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let n = sizes().min(rest.len());
            enc.encode(&rest[..n], &mut out);
            // Empty chunks must be harmless anywhere.
            enc.encode(b"", &mut out);
            rest = &rest[n..];
        }
        enc.finish(&mut out);
        out
    }

    /// Reference line-end normalisation, byte by byte.
    fn normalize(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
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

    /// The CRLF `finish` adds: when the input is empty or does not end with a line end.
    fn finish_adds_crlf(input: &[u8]) -> bool {
        !matches!(input.last(), Some(b'\r' | b'\n'))
    }

    /// What a server recovers from the wire: terminator stripped, one leading '.' removed per line.
    fn unstuff(wire: &[u8]) -> Vec<u8> {
        let body = wire.strip_suffix(b".\r\n").expect("terminator");
        assert!(body.ends_with(b"\r\n"), "body before terminator ends with CRLF: {wire:?}");
        let mut out = Vec::new();
        for line in body[..body.len() - 2].split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = line.strip_prefix(b".").unwrap_or(line);
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    fn assert_no_bare_line_ends(wire: &[u8]) {
        for (i, &b) in wire.iter().enumerate() {
            if b == b'\r' {
                assert_eq!(wire.get(i + 1), Some(&b'\n'), "bare CR at {i} in {wire:?}");
            }
            if b == b'\n' {
                assert!(i > 0 && wire[i - 1] == b'\r', "bare LF at {i} in {wire:?}");
            }
        }
    }

    fn count(hay: &[u8], needle: &[u8]) -> usize {
        hay.windows(needle.len()).filter(|w| *w == needle).count()
    }

    /// The terminator is the only end-of-data sequence, and it is at the very end.
    fn assert_single_terminator(wire: &[u8]) {
        assert!(!wire.starts_with(b".\r\n"), "{wire:?}");
        assert_eq!(count(wire, b"\r\n.\r\n"), 1, "{wire:?}");
        assert!(wire.ends_with(b"\r\n.\r\n"), "{wire:?}");
    }

    #[test]
    fn smuggling_sequences_cannot_end_data() {
        let seqs: [&[u8]; 8] = [b"\n.\n", b"\r.\r", b"\r.\n", b"\n.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r"];
        for seq in seqs {
            let mut input = b"Subject: hi\r\n\r\nhello".to_vec();
            input.extend_from_slice(seq);
            input.extend_from_slice(b"MAIL FROM:<evil@example.com>\r\nRCPT TO:<x@example.com>\r\n");
            for wire in [encode_all(&input), encode_chunked(&input, &mut || 1, true)] {
                assert_single_terminator(&wire);
                assert_no_bare_line_ends(&wire);
                assert!(contains(&wire, b"\r\n..\r\nMAIL FROM"), "{wire:?}");
            }
            // The sequence at the very end of the body, and alone.
            for input in [seq.to_vec(), [b"x".as_slice(), seq].concat()] {
                let wire = encode_all(&input);
                assert_single_terminator(&wire);
                assert_no_bare_line_ends(&wire);
            }
        }
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        count(hay, needle) > 0
    }

    #[test]
    fn dot_on_first_line_is_stuffed() {
        assert_eq!(encode_all(b".hidden\r\n"), b"..hidden\r\n.\r\n");
        assert_eq!(encode_all(b"."), b"..\r\n.\r\n");
    }

    #[test]
    fn dot_after_blank_line() {
        assert_eq!(encode_all(b"\r\n\r\n."), b"\r\n\r\n..\r\n.\r\n");
    }

    #[test]
    fn single_dot_line() {
        assert_eq!(encode_all(b"a\r\n.\r\nb\r\n"), b"a\r\n..\r\nb\r\n.\r\n");
    }

    #[test]
    fn double_dot_lines() {
        assert_eq!(encode_all(b"..\r\n..\n..\r"), b"...\r\n...\r\n...\r\n.\r\n");
    }

    #[test]
    fn dots_inside_a_line_untouched() {
        assert_eq!(encode_all(b"a.b..c.\r\n"), b"a.b..c.\r\n.\r\n");
    }

    #[test]
    fn body_ending_in_crlf_dot() {
        assert_eq!(encode_all(b"a\r\n."), b"a\r\n..\r\n.\r\n");
    }

    #[test]
    fn body_without_final_crlf() {
        assert_eq!(encode_all(b"a\r\nb"), b"a\r\nb\r\n.\r\n");
    }

    #[test]
    fn body_ending_in_bare_cr_or_lf() {
        assert_eq!(encode_all(b"a\r"), b"a\r\n.\r\n");
        assert_eq!(encode_all(b"a\n"), b"a\r\n.\r\n");
    }

    #[test]
    fn empty_body() {
        assert_eq!(encode_all(b""), b"\r\n.\r\n");
        let mut enc = DataEncoder::new_unstuffed();
        let mut out = Vec::new();
        enc.finish(&mut out);
        assert_eq!(out, b"\r\n");
    }

    #[test]
    fn line_ends_normalised() {
        assert_eq!(encode_all(b"a\rb\nc\r\nd\r\re\n\nf\n\rg"), b"a\r\nb\r\nc\r\nd\r\n\r\ne\r\n\r\nf\r\n\r\ng\r\n.\r\n");
    }

    #[test]
    fn cr_lf_split_across_chunks_is_one_line_end() {
        let mut enc = DataEncoder::new();
        let mut out = Vec::new();
        enc.encode(b"a\r", &mut out);
        enc.encode(b"", &mut out);
        enc.encode(b"\n.b", &mut out);
        enc.finish(&mut out);
        assert_eq!(out, b"a\r\n..b\r\n.\r\n");
    }

    #[test]
    fn nul_passes_through() {
        assert_eq!(encode_all(b"a\0b\r\n\0"), b"a\0b\r\n\0\r\n.\r\n");
    }

    #[test]
    fn unstuffed_mode() {
        let mut enc = DataEncoder::new_unstuffed();
        let mut out = Vec::new();
        enc.encode(b".a\n.b\r", &mut out);
        enc.encode(b"\n.", &mut out);
        enc.finish(&mut out);
        assert_eq!(out, b".a\r\n.b\r\n.\r\n");
        out.clear();
        enc.encode(b"x\n", &mut out);
        enc.finish(&mut out);
        assert_eq!(out, b"x\r\n");
    }

    #[test]
    fn encoder_is_reusable_after_finish() {
        let mut enc = DataEncoder::new();
        let mut out = Vec::new();
        enc.encode(b"a\r", &mut out);
        enc.finish(&mut out);
        enc.encode(b"\n.x", &mut out);
        enc.finish(&mut out);
        assert_eq!(out, b"a\r\n.\r\n\r\n..x\r\n.\r\n");
    }

    #[test]
    fn normalized_len_examples() {
        assert_eq!(normalized_len(b""), 0);
        assert_eq!(normalized_len(b"abc"), 3);
        assert_eq!(normalized_len(b"a\r\nb"), 4);
        assert_eq!(normalized_len(b"a\nb\rc"), 7);
        assert_eq!(normalized_len(b"\r\r\n\n"), 6);
        assert_eq!(normalized_len(b".\r\n"), 3);
    }

    /// splitmix64: tiny, deterministic, good enough to drive the property test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn find_line_end_matches_a_byte_loop() {
        // Bytes that differ from CR / LF by one bit or by the high bit stress the word trick.
        const TRICKY: [u8; 10] = [b'\r', b'\n', 0x8D, 0x8A, 0x0C, 0x0E, 0x0B, 0x09, 0x00, 0xFF];
        let mut rng = Rng(42);
        for case in 0..20_000 {
            let len = rng.below(40);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = rng.next();
                    if case & 1 == 0 && r & 3 != 0 {
                        TRICKY[(r >> 8) as usize % TRICKY.len()]
                    } else {
                        (r >> 16) as u8
                    }
                })
                .collect();
            let naive = bytes.iter().position(|&b| b == b'\r' || b == b'\n');
            assert_eq!(find_line_end(&bytes), naive, "{bytes:?}");
        }
    }

    #[test]
    fn property_random_bodies() {
        const ALPHABET: [u8; 4] = [b'\r', b'\n', b'.', b'a'];
        let mut rng = Rng(0x5EED_0F5E_5317);
        for case in 0..5000 {
            let len = if case < 16 { case } else { rng.below(64) };
            let input: Vec<u8> = (0..len).map(|_| ALPHABET[rng.below(4)]).collect();

            let wire = encode_all(&input);

            // (a) identical for every fixed chunk size and for random splits.
            for size in 1..=7 {
                assert_eq!(encode_chunked(&input, &mut || size, true), wire, "size {size}, {input:?}");
            }
            for _ in 0..3 {
                let mut sizes = || rng.below(9);
                assert_eq!(encode_chunked(&input, &mut sizes, true), wire, "random split, {input:?}");
            }

            // (b) the server recovers exactly the normalised input, plus the CRLF finish adds.
            let mut expected = normalize(&input);
            if finish_adds_crlf(&input) {
                expected.extend_from_slice(b"\r\n");
            }
            let unstuffed = unstuff(&wire);
            assert_eq!(unstuffed, expected, "{input:?}");

            // (c) no end of data before the end; (d) no bare CR or LF.
            assert_single_terminator(&wire);
            assert_no_bare_line_ends(&wire);

            // (e) SIZE counts the normalised input: the unstuffed body minus finish's CRLF.
            let extra = if finish_adds_crlf(&input) { 2 } else { 0 };
            assert_eq!(normalized_len(&input), unstuffed.len() as u64 - extra, "{input:?}");
            assert_eq!(normalized_len(&input), normalize(&input).len() as u64, "{input:?}");

            // BDAT mode: the same body, no stuffing, no terminator, for any chunking.
            let mut sizes = || 1 + rng.below(5);
            assert_eq!(encode_chunked(&input, &mut sizes, false), expected, "unstuffed, {input:?}");
        }
    }
}
