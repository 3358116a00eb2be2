//! The envelope of a message as smtplib's `send_message` derives it from the header section,
//! and removal of the Bcc fields before sending.
//!
//! Header lines are split exactly as the DATA encoder will send them (CRLF, bare CR and bare LF
//! all end a line), so the fields we read and strip are the fields the server will see.
//! Address fields give the addresses smtplib's `send_message` finds in them (with the email
//! package's default policy): display names, comments, groups, encoded words, folding and
//! source routes are read past, names without a domain (`John, Dinsdale`) are addresses, and
//! a quoted local part is written the way smtplib writes it. `tests/envelope_smtplib.rs` runs
//! smtplib beside the library for each shape. Deliberate differences:
//!
//! * an empty address (an empty field or list element, a group without members, `<>`) gives
//!   no recipient, where smtplib sends `RCPT TO:<>` (which servers refuse); an explicit `<>`
//!   as the sender is the null reverse-path, an empty From field is refused;
//! * what cannot be sent safely is refused, never guessed at: a field that parses more than
//!   one way (unbalanced `(`, `"`, `<` or `[`, two addresses without a comma between them, a
//!   multi-word name or a quoted name without a domain, two `@`, a domain with an empty
//!   label), where smtplib's lenient parser picks one reading (CVE-2023-27043 class: a guess
//!   can send a message to the wrong recipient); and every address must pass the envelope
//!   rule, [`check_address`] (no CR, LF, NUL or other control, no `<` or `>`, no leading `-`,
//!   no invisible characters, RFC 5321 lengths), which smtplib does not check.

use std::borrow::Cow;
use std::ops::Range;

use super::data::find_line_end;
use crate::error::{Error, Result};
use crate::protocol::check_address;

/// Envelope sender and recipients taken from a message's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderEnvelope {
    /// The reverse-path: the first address of (Resent-)Sender, else of (Resent-)From.
    pub from: String,
    /// The forward-paths: every address of the first (Resent-)To, (Resent-)Bcc and (Resent-)Cc
    /// fields, in that order, duplicates kept (as smtplib does).
    pub to: Vec<String>,
}

/// One line of the header section: `start..content_end` without its line end, `..end` with it.
struct Line {
    start: usize,
    content_end: usize,
    end: usize,
}

fn line_at(msg: &[u8], start: usize) -> Option<Line> {
    if start >= msg.len() {
        return None;
    }
    Some(match find_line_end(&msg[start..]) {
        None => Line { start, content_end: msg.len(), end: msg.len() },
        Some(i) => {
            let content_end = start + i;
            let end = if msg[content_end] == b'\r' && msg.get(content_end + 1) == Some(&b'\n') {
                content_end + 2
            } else {
                content_end + 1
            };
            Line { start, content_end, end }
        }
    })
}

/// A header field: its name, the byte range of all its lines (line ends included), and where
/// its value starts (just past the colon).
struct RawField {
    name: Range<usize>,
    lines: Range<usize>,
    value_start: usize,
}

/// The header section of a message, split into fields.
struct HeaderSection {
    fields: Vec<RawField>,
    /// Offset of the first line that is neither a field nor a continuation, if any.
    malformed: Option<usize>,
    /// Where the header section ends (the start of the empty line, or the end of the message).
    end: usize,
}

/// If `line` is `name [WSP] ":" …`, the name's range and the offset just past the colon.
fn field_name(msg: &[u8], line: &Line) -> Option<(Range<usize>, usize)> {
    let content = &msg[line.start..line.content_end];
    let name_len = content.iter().position(|&b| !(33..=126).contains(&b) || b == b':')?;
    let colon = name_len + content[name_len..].iter().position(|&b| b != b' ' && b != b'\t')?;
    if content[colon] != b':' {
        return None;
    }
    Some((line.start..line.start + name_len, line.start + colon + 1))
}

fn scan_headers(msg: &[u8]) -> HeaderSection {
    let mut fields: Vec<RawField> = Vec::new();
    let mut malformed = None;
    // A continuation line extends the preceding field only if that line was a field.
    let mut in_field = false;
    let mut pos = 0;
    while let Some(line) = line_at(msg, pos) {
        pos = line.end;
        let content = &msg[line.start..line.content_end];
        match content.first() {
            None => {
                return HeaderSection { fields, malformed, end: line.start };
            }
            Some(b' ' | b'\t') => {
                if in_field {
                    let field = fields.last_mut().expect("in_field implies a field");
                    field.lines.end = line.end;
                } else if line.start == 0 {
                    malformed.get_or_insert(line.start);
                }
            }
            Some(_) => match field_name(msg, &line) {
                Some((name, value_start)) => {
                    fields.push(RawField { name, lines: line.start..line.end, value_start });
                    in_field = true;
                }
                None => {
                    // An mbox "From " line may open a message; smtplib's parser skips it too.
                    if !(line.start == 0 && content.starts_with(b"From ")) {
                        malformed.get_or_insert(line.start);
                    }
                    in_field = false;
                }
            },
        }
    }
    HeaderSection { fields, malformed, end: msg.len() }
}

fn is_named(msg: &[u8], field: &RawField, name: &str) -> bool {
    msg[field.name.clone()].eq_ignore_ascii_case(name.as_bytes())
}

/// Envelope sender and recipients from the header section of `msg` (raw RFC 5322 bytes; the
/// header section ends at the first empty line, CRLF or LF line endings; folded lines unfolded).
///
/// Mirrors smtplib's `send_message`: with exactly one Resent-Date the Resent- fields are used;
/// the sender is the first address of Sender if present, else of From; the recipients are all
/// addresses of the first To, Bcc and Cc fields, in that order.
///
/// Errors (InvalidArgument): more than one Resent- block; no Sender/From (resp.
/// Resent-Sender/Resent-From) or one without an address; an address field that does not parse
/// strictly, or an address in it that fails [`check_address`] (the message names the field);
/// a header line that is neither a field nor a continuation; header section not UTF-8.
pub fn envelope_from_headers(msg: &[u8]) -> Result<HeaderEnvelope> {
    complete_envelope(msg, None, None)
}

/// The envelope smtplib's `send_message(msg, from_addr, to_addrs)` uses: each half the caller
/// gave is kept as given, each missing half comes from the headers as in
/// [`envelope_from_headers`], and no header is read for a half that was given. More than one
/// Resent- block is an error even when both halves are given (smtplib checks it first).
///
/// Errors (InvalidArgument): those of [`envelope_from_headers`], each only for the half it
/// concerns; the header section itself (malformed lines, not UTF-8) only when a half is read.
pub fn complete_envelope(msg: &[u8], from: Option<&str>, to: Option<&[&str]>) -> Result<HeaderEnvelope> {
    let section = scan_headers(msg);
    let resent = section.fields.iter().filter(|f| is_named(msg, f, "Resent-Date")).count();
    let prefix = match resent {
        0 => "",
        1 => "Resent-",
        _ => return Err(Error::invalid("message has more than one 'Resent-' header block")),
    };
    if let (Some(from), Some(to)) = (from, to) {
        return Ok(HeaderEnvelope { from: from.to_owned(), to: to.iter().map(|r| r.to_string()).collect() });
    }
    if let Some(offset) = section.malformed {
        return Err(Error::invalid(format!(
            "message header line at byte {offset} is neither a field nor a continuation"
        )));
    }
    if std::str::from_utf8(&msg[..section.end]).is_err() {
        return Err(Error::invalid("message header section is not valid UTF-8"));
    }
    let from = match from {
        Some(from) => from.to_owned(),
        None => header_sender(msg, &section, prefix)?,
    };
    let to = match to {
        Some(to) => to.iter().map(|r| r.to_string()).collect(),
        None => header_recipients(msg, &section, prefix)?,
    };
    Ok(HeaderEnvelope { from, to })
}

/// The first address of (Resent-)Sender, else of (Resent-)From, after the address rule
/// ([`check_address`]). An explicit `<>` is the null reverse-path, as smtplib sends it; a field
/// with no address at all (empty, or only an empty group) is refused, where smtplib would send
/// `MAIL FROM:<>` and silently turn off bounces.
fn header_sender(msg: &[u8], section: &HeaderSection, prefix: &str) -> Result<String> {
    let first = |name: &str| section.fields.iter().find(|f| is_named(msg, f, name));
    let sender_name = format!("{prefix}Sender");
    let from_name = format!("{prefix}From");
    let (name, field) = match first(&sender_name) {
        Some(field) => (sender_name, field),
        None => match first(&from_name) {
            Some(field) => (from_name, field),
            None => return Err(Error::invalid(format!("message has no {prefix}Sender or {prefix}From header"))),
        },
    };
    let context = |e: Error| e.context(&format!("{name} header"));
    let from = parse_address_list(&field_value(msg, field))
        .map_err(context)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::invalid(format!("{name} header has no address (write <> for the null sender)")))?;
    check_address(&from, true).map_err(context)?;
    Ok(from)
}

/// Every address of the first (Resent-)To, (Resent-)Bcc and (Resent-)Cc fields, in that order,
/// each after the address rule ([`check_address`]). An empty address (an empty field or list
/// element, a group without members, `<>`) gives no recipient: smtplib sends it as
/// `RCPT TO:<>`, which no server accepts.
fn header_recipients(msg: &[u8], section: &HeaderSection, prefix: &str) -> Result<Vec<String>> {
    let mut to = Vec::new();
    for kind in ["To", "Bcc", "Cc"] {
        let name = format!("{prefix}{kind}");
        if let Some(field) = section.fields.iter().find(|f| is_named(msg, f, &name)) {
            let context = |e: Error| e.context(&format!("{name} header"));
            for addr in parse_address_list(&field_value(msg, field)).map_err(context)? {
                if !addr.is_empty() {
                    check_address(&addr, false).map_err(context)?;
                    to.push(addr);
                }
            }
        }
    }
    Ok(to)
}

/// `msg` without its first line when that line is an mbox `From ` line (exactly "From " at
/// the very start): the email package smtplib serialises through never transmits it.
pub fn strip_mbox_from_line(msg: &[u8]) -> &[u8] {
    if !msg.starts_with(b"From ") {
        return msg;
    }
    match line_at(msg, 0) {
        Some(line) => &msg[line.end..],
        None => msg,
    }
}

/// The unfolded value of a field: the first line after the colon, then each continuation line
/// (leading whitespace kept), line ends dropped. Only called once the header section is known
/// to be UTF-8; every piece boundary is next to an ASCII byte, so each piece is UTF-8 too.
fn field_value(msg: &[u8], field: &RawField) -> String {
    let mut value = String::new();
    let mut start = field.value_start;
    while start < field.lines.end {
        let line = line_at(msg, start).expect("inside the field's lines");
        let piece = &msg[start..line.content_end];
        value.push_str(std::str::from_utf8(piece).expect("header section is UTF-8"));
        start = line.end;
    }
    value
}

/// `msg` with every Bcc and Resent-Bcc field (including its continuation lines) removed from the
/// header section; the body and every other byte unchanged. Borrowed when there is nothing to
/// remove.
///
/// Every such field before the first empty line goes, even after a malformed line, so that no
/// blind-copy recipient can leak to the other recipients.
pub fn strip_bcc(msg: &[u8]) -> Cow<'_, [u8]> {
    let section = scan_headers(msg);
    let mut bcc =
        section.fields.iter().filter(|f| is_named(msg, f, "Bcc") || is_named(msg, f, "Resent-Bcc")).peekable();
    if bcc.peek().is_none() {
        return Cow::Borrowed(msg);
    }
    let mut out = Vec::with_capacity(msg.len() + 1);
    let mut copied = 0;
    for field in bcc {
        join(&mut out, &msg[copied..field.lines.start]);
        copied = field.lines.end;
    }
    join(&mut out, &msg[copied..]);
    Cow::Owned(out)
}

/// Append `next` to `out` keeping every line end where it was: a line that ended with a bare
/// CR, now followed by an LF that began the next line, would otherwise read as one CRLF, and
/// the empty line ending the header section could vanish (the body would become headers).
fn join(out: &mut Vec<u8>, next: &[u8]) {
    if out.last() == Some(&b'\r') && next.first() == Some(&b'\n') {
        out.push(b'\n');
    }
    out.extend_from_slice(next);
}

/// Whether any address needs SMTPUTF8 (non-ASCII).
pub fn needs_smtputf8<'a>(addrs: impl IntoIterator<Item = &'a str>) -> bool {
    addrs.into_iter().any(|a| !a.is_ascii())
}

// ---------------------------------------------------------------------------------------------
// Strict RFC 5322 address-list parsing (with RFC 6532 UTF-8).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A run of atext (and non-ASCII) characters.
    Atom,
    /// A quoted string, quotes included.
    Quoted,
    /// A domain literal, brackets included.
    Literal,
    /// One of `< > @ , : ; .`.
    Special(u8),
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// Whitespace or a comment came right before this token.
    spaced: bool,
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

/// Domain labels as SMTP allows them (letters, digits, hyphen; underscore as seen in the wild),
/// plus non-ASCII for internationalised domains.
fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80
}

fn tokenize(s: &str) -> Result<Vec<Token>> {
    if let Some(c) = s.chars().find(|&c| c.is_control() && c != '\t') {
        return Err(Error::invalid(format!("address field contains control character {c:?}")));
    }
    let b = s.as_bytes();
    let mut tokens = Vec::new();
    let mut spaced = false;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let kind = match b[i] {
            b' ' | b'\t' => {
                spaced = true;
                i += 1;
                continue;
            }
            b'(' => {
                i = skip_comment(b, i)?;
                spaced = true;
                continue;
            }
            b'"' => {
                i = end_of_quoted(b, i)?;
                Kind::Quoted
            }
            b'[' => {
                i = end_of_literal(b, i)?;
                Kind::Literal
            }
            c @ (b'<' | b'>' | b'@' | b',' | b':' | b';' | b'.') => {
                i += 1;
                Kind::Special(c)
            }
            b')' => return Err(Error::invalid("unbalanced ')' in address field")),
            b']' => return Err(Error::invalid("unbalanced ']' in address field")),
            c if is_atext(c) => {
                i += b[i..].iter().position(|&c| !is_atext(c)).unwrap_or(b.len() - i);
                Kind::Atom
            }
            c => return Err(Error::invalid(format!("unexpected {:?} in address field", c as char))),
        };
        tokens.push(Token { kind, start, end: i, spaced });
        spaced = false;
    }
    Ok(tokens)
}

/// `b[open]` is '('; the offset just past the matching ')'. Comments nest; '\' escapes.
fn skip_comment(b: &[u8], open: usize) -> Result<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(Error::invalid("unbalanced '(' in address field"))
}

/// `b[open]` is '"'; the offset just past the closing quote. '\' escapes.
fn end_of_quoted(b: &[u8], open: usize) -> Result<usize> {
    let mut i = open + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'"' => return Ok(i + 1),
            _ => {}
        }
        i += 1;
    }
    Err(Error::invalid("unbalanced '\"' in address field"))
}

/// `b[open]` is '['; the offset just past the closing ']'. Only printable ASCII inside.
fn end_of_literal(b: &[u8], open: usize) -> Result<usize> {
    for (i, &c) in b.iter().enumerate().skip(open + 1) {
        match c {
            b']' => return Ok(i + 1),
            b'[' | b'\\' => break,
            33..=126 => {}
            _ => return Err(Error::invalid("invalid character in domain literal")),
        }
    }
    Err(Error::invalid("unbalanced '[' in address field"))
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn eat(&mut self, special: u8) -> bool {
        if self.peek().map(|t| t.kind) == Some(Kind::Special(special)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn text(&self, t: Token) -> &'a str {
        &self.text[t.start..t.end]
    }

    fn unexpected(&self, what: &str) -> Error {
        match self.peek() {
            Some(t) => Error::invalid(format!("unexpected {:?} {what} in address field", self.text(t))),
            None => Error::invalid(format!("address field ends {what}")),
        }
    }

    /// `address *("," address)`, empty elements skipped.
    fn address_list(&mut self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        loop {
            while self.eat(b',') {}
            if self.at_end() {
                return Ok(out);
            }
            self.address(&mut out, true)?;
            if !self.at_end() && !self.eat(b',') {
                return Err(self.unexpected("after an address"));
            }
        }
    }

    /// A mailbox (`[phrase] <addr-spec>` or a bare `addr-spec`) or, when allowed, a group.
    fn address(&mut self, out: &mut Vec<String>, group_allowed: bool) -> Result<()> {
        let start = self.pos;
        let words = self.phrase();
        if self.eat(b'<') {
            out.push(self.angle_addr()?);
            return Ok(());
        }
        if words > 0 && self.eat(b':') {
            if !group_allowed {
                return Err(Error::invalid("nested group in address field"));
            }
            return self.group_members(out);
        }
        self.pos = start;
        out.push(self.addr_spec()?);
        Ok(())
    }

    /// After `<`: `[obs-route] addr-spec ">"`, or `">"` alone (the empty address `<>`, given
    /// back as ""). A source route (`<@relay.test,@hop.test:a@x.test>`, RFC 5322 obs-route) is
    /// dropped, as smtplib drops it and RFC 5321 §C lets a server ignore it.
    fn angle_addr(&mut self) -> Result<String> {
        if self.eat(b'>') {
            return Ok(String::new());
        }
        if self.eat(b'@') {
            loop {
                self.domain()?;
                while self.eat(b',') {}
                if self.eat(b':') {
                    break;
                }
                if !self.eat(b'@') {
                    return Err(self.unexpected("in the source route of an <address>"));
                }
            }
        }
        let spec = self.addr_spec()?;
        if !self.eat(b'>') {
            return Err(self.unexpected("in <address>"));
        }
        Ok(spec)
    }

    /// After `name:`: `[mailbox *("," mailbox)] ";"`, empty elements skipped.
    fn group_members(&mut self, out: &mut Vec<String>) -> Result<()> {
        loop {
            while self.eat(b',') {}
            if self.eat(b';') {
                return Ok(());
            }
            if self.at_end() {
                return Err(Error::invalid("group in address field not terminated by ';'"));
            }
            self.address(out, false)?;
            if self.eat(b';') {
                return Ok(());
            }
            if !self.eat(b',') {
                return Err(self.unexpected("in group"));
            }
        }
    }

    /// Skip a display name (words, and dots after the first word as obs-phrase allows); how
    /// many words it had.
    fn phrase(&mut self) -> usize {
        let mut words = 0;
        while let Some(t) = self.peek() {
            match t.kind {
                Kind::Atom | Kind::Quoted => words += 1,
                Kind::Special(b'.') if words > 0 => {}
                _ => break,
            }
            self.pos += 1;
        }
        words
    }

    /// `local-part ["@" domain]`: a dot-string or one quoted string, then a dotted domain or a
    /// domain literal; whitespace and comments only around the '@'. Without '@' the address is
    /// a name without a domain (`John`), which smtplib sends as `RCPT TO:<John>` and a server
    /// completes with its own domain; a quoted string without a domain is refused (smtplib
    /// sends `"john doe"` as `<john>`, another mailbox). Returned as it goes between the
    /// brackets: a quoted local part in smtplib's form (see [`requote`]).
    fn addr_spec(&mut self) -> Result<String> {
        let (local, quoted) = match self.peek().map(|t| t.kind) {
            Some(Kind::Quoted) => {
                self.pos += 1;
                (requote(self.text(self.tokens[self.pos - 1])), true)
            }
            Some(Kind::Atom | Kind::Special(b'.')) => (self.local_dot_string()?.to_owned(), false),
            _ => return Err(self.unexpected("where an address was expected")),
        };
        if !self.eat(b'@') {
            if quoted {
                return Err(Error::invalid(format!("quoted name without a domain in address field: {local}")));
            }
            return Ok(local);
        }
        let domain = match self.peek().map(|t| t.kind) {
            Some(Kind::Literal) => {
                self.pos += 1;
                self.text(self.tokens[self.pos - 1])
            }
            Some(Kind::Atom) => self.domain()?,
            _ => return Err(self.unexpected("where a domain was expected")),
        };
        Ok(format!("{local}@{domain}"))
    }

    /// A dot-string local part: atoms and dots with nothing between them. Dots may lead, trail
    /// or repeat (`a..b`, `abc.`: addresses some carriers handed out, which smtplib sends as
    /// written); at least one atom.
    fn local_dot_string(&mut self) -> Result<&'a str> {
        let first = self.tokens[self.pos];
        let mut last = first;
        let mut atoms = 0;
        while let Some(t) = self.peek() {
            let joined = t.start == first.start || !t.spaced;
            match t.kind {
                Kind::Atom if joined => atoms += 1,
                Kind::Special(b'.') if joined => {}
                _ => break,
            }
            last = t;
            self.pos += 1;
        }
        if atoms == 0 {
            return Err(Error::invalid(format!(
                "address field has {:?} where an address was expected",
                self.text(first)
            )));
        }
        Ok(&self.text[first.start..last.end])
    }

    /// A domain: labels of letters, digits, '-' and '_' (and non-ASCII) joined by single dots
    /// with nothing between them.
    fn domain(&mut self) -> Result<&'a str> {
        match self.peek() {
            Some(t) if t.kind == Kind::Atom => self.dot_atom(is_domain_char),
            _ => Err(self.unexpected("where a domain was expected")),
        }
    }

    /// `atom *("." atom)` with nothing between the pieces; each atom's bytes must pass `ok`.
    fn dot_atom(&mut self, ok: fn(u8) -> bool) -> Result<&'a str> {
        let first = self.tokens[self.pos];
        let mut last = first;
        loop {
            if !self.text(last).bytes().all(ok) {
                return Err(Error::invalid(format!("invalid character in {:?}", self.text(last))));
            }
            self.pos += 1;
            match self.peek() {
                Some(dot) if dot.kind == Kind::Special(b'.') && !dot.spaced => {
                    self.pos += 1;
                    match self.peek() {
                        Some(t) if t.kind == Kind::Atom && !t.spaced => last = t,
                        _ => return Err(self.unexpected("after '.' in address")),
                    }
                }
                _ => return Ok(&self.text[first.start..last.end]),
            }
        }
    }
}

/// A quoted local part as smtplib sends it (the email package's `Address.addr_spec`): the
/// escapes undone (`\\x` is `x`, RFC 5322 quoted-pair), then quoted again only when the text
/// needs it (a space, a special such as `,` `@` `"` `\\`), with `\\` and `"` escaped.
/// `"plain"` is `plain`, `"a\\b"` is `ab`, `"john doe"` stays quoted: the same mailbox,
/// written the one way both send it.
fn requote(quoted: &str) -> String {
    let inner = &quoted[1..quoted.len() - 1];
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        text.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
    }
    if !text.is_empty() && !text.contains(|c: char| "()<>@,:;\\\"[] \t".contains(c)) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Every address of an RFC 5322 address list, strictly parsed; an error rather than a guess
/// whenever the text is not unambiguously a list of mailboxes and groups. Names without a
/// domain (`John, Dinsdale`) are addresses, as smtplib reads them; an explicit `<>` gives "".
/// Only the syntax is checked here: the envelope address rule is [`check_address`].
pub fn parse_address_list(value: &str) -> Result<Vec<String>> {
    let tokens = tokenize(value)?;
    Parser { text: value, tokens, pos: 0 }.address_list()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn removing_a_field_after_a_bare_cr_keeps_the_header_body_boundary() {
        // found by fuzzing: "F\rBcc:\n\n" became "F\r\n", losing the empty line
        let out = strip_bcc(b"F\rBcc:\n\n");
        assert_eq!(&out[..], b"F\r\n\n");
        let msg = b"From: a@b.test\r\nTo: c@d.test\rBcc: e@f.test\n\nBcc: body line\r\nX: y\r\n";
        let out = strip_bcc(msg);
        assert!(out.ends_with(b"\n\nBcc: body line\r\nX: y\r\n"), "{:?}", String::from_utf8_lossy(&out));
        assert_eq!(strip_bcc(&out).as_ref(), out.as_ref(), "idempotent");
    }

    fn parse(s: &str) -> Vec<String> {
        parse_address_list(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn refused(s: &str) {
        match parse_address_list(s) {
            Ok(v) => panic!("{s:?} parsed as {v:?}"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument),
        }
    }

    fn env(msg: &str) -> HeaderEnvelope {
        envelope_from_headers(msg.as_bytes()).unwrap_or_else(|e| panic!("{msg:?}: {e}"))
    }

    fn env_err(msg: &str) -> String {
        match envelope_from_headers(msg.as_bytes()) {
            Ok(v) => panic!("{msg:?} gave {v:?}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidArgument);
                e.message().to_owned()
            }
        }
    }

    // --- smtplib's send_message cases ---

    #[test]
    fn from_and_to_cc_bcc() {
        let e = env("From: Páolo <főo@bar.com>\r\nTo: Dinsdale\r\n <x@y.org>\r\nCc: c@z.org\r\nBcc: Three <three@example.com>\r\nSubject: s\r\n\r\nbody: <a@b>\r\n");
        assert_eq!(e.from, "főo@bar.com");
        assert_eq!(e.to, ["x@y.org", "three@example.com", "c@z.org"]);
    }

    #[test]
    fn sender_wins_over_from() {
        let e = env("From: Bernard <bernard@example.com>\nSender: the_rescuers@Rescue-Aid-Society.com\nTo: John <foo@bar.com>\n\n");
        assert_eq!(e.from, "the_rescuers@Rescue-Aid-Society.com");
        assert_eq!(e.to, ["foo@bar.com"]);
    }

    #[test]
    fn recipients_in_to_bcc_cc_order_and_first_field_only() {
        let e = env("Cc: c1@x, c2@x\nTo: t@x\nBcc: b@x\nFrom: f@x\nTo: second-to@x\n\n");
        assert_eq!(e.to, ["t@x", "b@x", "c1@x", "c2@x"]);
    }

    #[test]
    fn first_address_of_from() {
        assert_eq!(env("From: a@x, b@x\n\n").from, "a@x");
    }

    #[test]
    fn one_resent_block_wins() {
        let msg = "From: Bernard <bernard@example.com>\r\n\
                   To: John <foo@bar.com>\r\n\
                   Cc: cc@bar.com\r\n\
                   Resent-Date: Thu, 1 Jan 1970 17:42:00 +0000\r\n\
                   Resent-From: holy@grail.net\r\n\
                   Resent-To: Martha <my_mom@great.cooker.com>, jeff@x\r\n\
                   Resent-Bcc: doe@losthope.net\r\n\
                   \r\nbody\r\n";
        let e = env(msg);
        assert_eq!(e.from, "holy@grail.net");
        assert_eq!(e.to, ["my_mom@great.cooker.com", "jeff@x", "doe@losthope.net"]);
    }

    #[test]
    fn resent_sender_wins_and_resent_cc() {
        let e = env("From: f@x\nSender: s@x\nTo: t@x\nResent-Date: now\nResent-From: rf@x\nResent-Sender: rs@x\nResent-Cc: rc@x\n\n");
        assert_eq!(e.from, "rs@x");
        assert_eq!(e.to, ["rc@x"]);
    }

    #[test]
    fn two_resent_blocks_refused() {
        let msg = "From: f@x\nTo: t@x\nResent-Date: a\nResent-From: a@x\nResent-To: b@x\nResent-Date: b\nResent-From: c@x\nResent-To: d@x\n\n";
        assert!(env_err(msg).contains("more than one 'Resent-' header block"));
    }

    #[test]
    fn missing_sender_refused() {
        env_err("To: t@x\n\nFrom: f@x\n");
        // With a Resent block, only Resent-Sender / Resent-From count.
        env_err("From: f@x\nResent-Date: now\nResent-To: t@x\n\n");
        env_err("From:\n\n");
        env_err("From: undisclosed:;\n\n");
    }

    #[test]
    fn no_recipients_is_fine() {
        assert_eq!(env("From: f@x\nTo:\n\n").to, Vec::<String>::new());
        assert_eq!(env("From: f@x\n\n").to, Vec::<String>::new());
        assert_eq!(env("From: f@x\nTo: undisclosed-recipients:;\n\n").to, Vec::<String>::new());
    }

    #[test]
    fn folded_headers() {
        let e =
            env("From:\r\n\tAlice\r\n <alice@example.org>\r\nTo: a@x,\r\n  \"Doe,\r\n John\" <j@x>,\r\n\tc@x\r\n\r\n");
        assert_eq!(e.from, "alice@example.org");
        assert_eq!(e.to, ["a@x", "j@x", "c@x"]);
    }

    #[test]
    fn lf_only_and_bare_cr_line_ends() {
        let e = env("From: f@x\nTo: t@x\nCc: c@x\n\nTo: body@x\n");
        assert_eq!(e.to, ["t@x", "c@x"]);
        // A bare CR ends a line, as the DATA encoder will send it.
        let e = env("From: f@x\rTo: t@x\r\rBcc: body@x\r");
        assert_eq!(e.to, ["t@x"]);
    }

    #[test]
    fn header_section_without_body() {
        assert_eq!(env("From: f@x\r\nTo: t@x").to, ["t@x"]);
    }

    #[test]
    fn field_names_case_insensitive_and_obs_space_before_colon() {
        let e = env("fROM: f@x\nto : t@x\nBCC:b@x\n\n");
        assert_eq!(e.from, "f@x");
        assert_eq!(e.to, ["t@x", "b@x"]);
    }

    #[test]
    fn mbox_from_line_skipped() {
        assert_eq!(env("From f@x Thu Jan  1 00:00:00 1970\nFrom: f@x\n\n").from, "f@x");
    }

    #[test]
    fn malformed_header_lines_refused() {
        env_err("From: f@x\nthis is not a header\nTo: t@x\n\n");
        env_err(" continuation first\nFrom: f@x\n\n");
    }

    #[test]
    fn non_utf8_header_refused() {
        let msg = b"From: f@x\nSubject: \xff\n\nbody";
        assert!(envelope_from_headers(msg).unwrap_err().message().contains("UTF-8"));
        // Non-UTF-8 in the body is not our business.
        assert!(envelope_from_headers(b"From: f@x\n\n\xff").is_ok());
    }

    #[test]
    fn address_errors_name_the_field() {
        let msg = env_err("From: f@x\nCc: a@x(\n\n");
        assert!(msg.starts_with("Cc header: "), "{msg}");
    }

    // --- address-list parsing ---

    #[test]
    fn plain_and_named_mailboxes() {
        assert_eq!(parse("a@example.org"), ["a@example.org"]);
        assert_eq!(parse("  a@example.org  "), ["a@example.org"]);
        assert_eq!(parse("Alice <a@example.org>"), ["a@example.org"]);
        assert_eq!(parse("<a@example.org>"), ["a@example.org"]);
        assert_eq!(parse("Alice Q. Public <a@example.org>"), ["a@example.org"]);
        assert_eq!(parse("\"Doe, John\" <j@x>, \"a@b\" <c@d>"), ["j@x", "c@d"]);
        assert_eq!(parse("\"Doe, John\"<j@x>"), ["j@x"]);
        assert_eq!(parse("a@x, , b@x,"), ["a@x", "b@x"]);
        assert_eq!(parse("< a@x >"), ["a@x"]);
        assert_eq!(parse("a@[192.0.2.1], b@[IPv6:2001:db8::1]"), ["a@[192.0.2.1]", "b@[IPv6:2001:db8::1]"]);
        assert_eq!(parse("first.last+tag@sub.example.org"), ["first.last+tag@sub.example.org"]);
    }

    #[test]
    fn comments_ignored() {
        assert_eq!(parse("(Alice) a@x (home)"), ["a@x"]);
        assert_eq!(parse("Alice (nested (comment) \\) here) <a@x> (c)"), ["a@x"]);
        assert_eq!(parse("a(c)@(d)x"), ["a@x"]);
        assert_eq!(parse("a @ x"), ["a@x"]);
        assert_eq!(parse("a@x(<b@y>)"), ["a@x"]);
    }

    #[test]
    fn quoted_local_parts_kept_when_needed() {
        assert_eq!(parse("\"john doe\"@example.org"), ["\"john doe\"@example.org"]);
        assert_eq!(parse("Name <\"a\\\"b\"@example.org>"), ["\"a\\\"b\"@example.org"]);
        assert_eq!(parse("\"xclow3n@gmail.com x\"@internal.domain"), ["\"xclow3n@gmail.com x\"@internal.domain"]);
    }

    #[test]
    fn groups() {
        assert_eq!(parse("Team: a@x, Bob <b@x>;, c@x"), ["a@x", "b@x", "c@x"]);
        assert_eq!(parse("undisclosed-recipients:;"), Vec::<String>::new());
        assert_eq!(parse("Empty: ;, a@x"), ["a@x"]);
        assert_eq!(parse("\"My Team\" : a@x ; (end)"), ["a@x"]);
        refused("Team: a@x, b@x");
        refused("Outer: Inner: a@x;;");
        refused(": a@x;");
        refused("a@x;");
    }

    #[test]
    fn encoded_words_and_utf8() {
        assert_eq!(parse("=?utf-8?q?J=C3=B6rg?= <j@x>"), ["j@x"]);
        assert_eq!(parse("=?utf-8?b?SsO2cmc=?= =?utf-8?q?M=C3=BCller?= <j@x>"), ["j@x"]);
        assert_eq!(parse("Jörg <jörg@bücher.example>"), ["jörg@bücher.example"]);
        assert_eq!(parse("用户@例子.广告"), ["用户@例子.广告"]);
    }

    #[test]
    fn hostile_inputs_never_yield_another_recipient() {
        for s in [
            "alice@example.org(<bob@example.com>",
            "alice@example.org)<bob@example.com>",
            "\"user\"@example.com(x)evil.com",
            "alice@example.org <bob@example.com>",
            "bob@evil.com <alice@example.org>",
            "a@x@y",
            "<a@x",
            "a@x>",
            "<<a@x>>",
            "<a@x> b@y",
            "\"unterminated <a@x>",
            "Alice <a@x",
            "a@[1.2.3.4",
            "a@1.2.3.4]",
            "<@relay>",
            "<@relay a@x>",
            "a@x..y",
            "a@.x",
            "a. b@x",
            "a .b@x",
            "a@x .evil.com",
            "a@ex!ample.com",
            "@x",
            "a@",
            ".",
            "a\\b@x",
            "a@x\0",
            "a@x\u{85}b@y",
            // a multi-word name is not an address: smtplib sends "John Smith" as <John>
            "John Smith",
            // a quoted name without a domain: smtplib sends "john doe" as <john>
            "\"john doe\"",
            "Martha <m@x>, \"Jeff Q\"",
        ] {
            refused(s);
        }
        // The quoted local part is what it looks like, never the address inside it.
        let v = parse("\"xclow3n@gmail.com x\"@internal.domain");
        assert_ne!(v, ["xclow3n@gmail.com"]);
    }

    #[test]
    fn names_without_a_domain_are_addresses() {
        assert_eq!(parse("John, Dinsdale"), ["John", "Dinsdale"]);
        assert_eq!(parse("root"), ["root"]);
        assert_eq!(parse("John (the boss)"), ["John"]);
        assert_eq!(parse("Martha <my_mom@great.cooker.com>, Jeff"), ["my_mom@great.cooker.com", "Jeff"]);
        // smtplib reads an unquoted "Doe, John <j@x>" as two addresses too
        assert_eq!(parse("Doe, John <j@x>"), ["Doe", "j@x"]);
        assert_eq!(parse("Postmaster <postmaster>"), ["postmaster"]);
        assert_eq!(parse("first.last"), ["first.last"]);
    }

    #[test]
    fn odd_but_legal_local_parts_and_domains() {
        assert_eq!(parse("a..b@x, .a@x, a.@x"), ["a..b@x", ".a@x", "a.@x"]);
        refused("a@example.org.");
        assert_eq!(parse("!#$%&'*+-/=?^_`{|}~@x"), ["!#$%&'*+-/=?^_`{|}~@x"]);
        assert_eq!(parse("a@under_score.x"), ["a@under_score.x"]);
    }

    #[test]
    fn quoted_local_parts_in_smtplib_form() {
        assert_eq!(parse("\"a\\b\"@x"), ["ab@x"]);
        assert_eq!(parse("\"a\\\"b\"@x"), ["\"a\\\"b\"@x"]);
        assert_eq!(parse("\"a\\\\b\"@x"), ["\"a\\\\b\"@x"]);
        assert_eq!(parse("\"john\"@x, \"a..b\"@x"), ["john@x", "a..b@x"]);
        assert_eq!(parse("\"john doe\"@x, \"a,b\"@x, \"\"@x"), ["\"john doe\"@x", "\"a,b\"@x", "\"\"@x"]);
    }

    #[test]
    fn source_routes_dropped_and_empty_address() {
        assert_eq!(parse("<@relay.test:a@x>"), ["a@x"]);
        assert_eq!(parse("Bob <@r1.test,@r2.test:b@x>"), ["b@x"]);
        assert_eq!(parse("<>"), [""]);
        assert_eq!(parse("MAILER-DAEMON <>"), [""]);
    }

    #[test]
    fn empty_addresses_give_no_recipient_and_the_null_sender_only_when_explicit() {
        let e = env("From: <>\nTo: a@x, <>, , Team: ;\nCc: Nobody <>\n\n");
        assert_eq!(e.from, "");
        assert_eq!(e.to, ["a@x"]);
        assert!(env_err("From:\n\n").contains("no address"));
    }

    #[test]
    fn header_addresses_pass_the_address_rule() {
        assert!(env_err("From: f@x\nTo: -oQ@x\n\n").contains("starts with '-'"));
        assert!(env_err("From: f@x\nTo: \"<b@y>\"@x\n\n").contains("'<' or '>'"));
        assert!(env_err("From: -f@x\nTo: t@x\n\n").starts_with("From header: "));
        let long = format!("From: f@x\nTo: {}@x\n\n", "l".repeat(65));
        assert!(env_err(&long).starts_with("To header: local part longer"));
    }

    // --- complete_envelope: only the missing half is read ---

    #[test]
    fn given_sender_reads_no_sender_header() {
        let e = complete_envelope(b"To: t@x\n\n", Some("s@x"), None).unwrap();
        assert_eq!((e.from.as_str(), e.to.as_slice()), ("s@x", ["t@x".to_owned()].as_slice()));
        // the refused Cc concerns the recipients, which are read here
        assert!(complete_envelope(b"To: t@x\nCc: Team: a@x, b@x\n\n", Some("s@x"), None).is_err());
    }

    #[test]
    fn given_recipients_read_no_recipient_header() {
        let e = complete_envelope(b"From: f@x\nCc: Team: a@x, b@x\n\n", None, Some(&["r@x"])).unwrap();
        assert_eq!((e.from.as_str(), e.to.as_slice()), ("f@x", ["r@x".to_owned()].as_slice()));
        assert!(complete_envelope(b"To: t@x\n\n", None, Some(&["r@x"])).is_err(), "no From to read");
    }

    #[test]
    fn both_given_read_nothing_but_the_resent_count() {
        let e = complete_envelope(b"garbage\nCc: Team:\n\n", Some("s@x"), Some(&["r@x"])).unwrap();
        assert_eq!((e.from.as_str(), e.to.as_slice()), ("s@x", ["r@x".to_owned()].as_slice()));
        let two = b"Resent-Date: a\nResent-To: b@x\nResent-Date: b\nResent-To: d@x\n\n";
        let err = complete_envelope(two, Some("s@x"), Some(&["r@x"])).unwrap_err();
        assert!(err.message().contains("more than one 'Resent-' header block"), "{err}");
    }

    #[test]
    fn mbox_from_line_stripped_only_when_first_and_exact() {
        assert_eq!(
            strip_mbox_from_line(b"From f@x Thu Jan  1 00:00:00 1970\r\nFrom: f@x\r\n\r\nb"),
            b"From: f@x\r\n\r\nb"
        );
        assert_eq!(strip_mbox_from_line(b"From f@x\nTo: t@x\n"), b"To: t@x\n");
        for kept in [&b"From: f@x\nFrom f@x\n"[..], b"from f@x\nTo: t@x\n", b">From f@x\n", b" From f@x\n"] {
            assert_eq!(strip_mbox_from_line(kept), kept);
        }
    }

    // --- strip_bcc ---

    #[test]
    fn strip_bcc_removes_folded_bcc_and_resent_bcc_only_in_headers() {
        let msg = b"From: f@x\r\nBcc: a@x,\r\n b@x\r\nX-Bcc-Info: keep\r\nTo: t@x\r\nresent-bcc: c@x\r\n\td@x\r\nBCC : e@x\r\nSubject: s\r\n\r\nBcc: x\r\nbody\r\n";
        let out = strip_bcc(msg);
        assert!(matches!(out, Cow::Owned(_)));
        assert_eq!(
            &*out,
            b"From: f@x\r\nX-Bcc-Info: keep\r\nTo: t@x\r\nSubject: s\r\n\r\nBcc: x\r\nbody\r\n".as_slice()
        );
    }

    #[test]
    fn strip_bcc_lf_only_and_last_line() {
        assert_eq!(&*strip_bcc(b"From: f@x\nBcc: b@x\n\nbody\n"), b"From: f@x\n\nbody\n".as_slice());
        assert_eq!(&*strip_bcc(b"From: f@x\nBcc: b@x"), b"From: f@x\n".as_slice());
        assert_eq!(&*strip_bcc(b"Bcc: b@x\r\n more\r\nFrom: f@x\r\n"), b"From: f@x\r\n".as_slice());
    }

    #[test]
    fn strip_bcc_borrows_when_nothing_to_remove() {
        let msg = b"From: f@x\nX-Bcc-Info: y\nBccx: z\n\nBcc: in body\n";
        assert!(matches!(strip_bcc(msg), Cow::Borrowed(m) if m == msg.as_slice()));
    }

    #[test]
    fn strip_bcc_agrees_with_the_encoder_line_ends() {
        // Bare CR ends a header line on the wire, so a Bcc after it is a field and goes.
        assert_eq!(&*strip_bcc(b"To: t@x\rBcc: b@x\rSubject: s\r\r"), b"To: t@x\rSubject: s\r\r".as_slice());
        // After a malformed line it still goes: never leak a blind copy.
        assert_eq!(&*strip_bcc(b"To: t@x\ngarbage\nBcc: b@x\n\n"), b"To: t@x\ngarbage\n\n".as_slice());
    }

    #[test]
    fn strip_bcc_non_utf8() {
        assert_eq!(&*strip_bcc(b"Subject: \xff\nBcc: b@x\n\n\xfe"), b"Subject: \xff\n\n\xfe".as_slice());
    }

    #[test]
    fn smtputf8_detection() {
        assert!(!needs_smtputf8(["a@x", "\"b c\"@y"]));
        assert!(needs_smtputf8(["a@x", "jörg@x"]));
        assert!(needs_smtputf8(["a@bücher.example"]));
        assert!(!needs_smtputf8(Vec::<&str>::new()));
        let e = env("From: f@x\nTo: Jörg <j@x>\n\n");
        assert!(!needs_smtputf8(e.to.iter().map(String::as_str)));
    }
}
