//! Outgoing command lines: the single choke point every byte of a command passes through.
//!
//! Anything that becomes part of a command line (verb, address, ESMTP option, EHLO name,
//! `docmd` arguments) is checked here before a byte is written: CR, LF and NUL are refused
//! (smtplib's `ValueError`, CVE-2015-9096 class), and a line may not exceed the RFC 5321
//! limit plus the allowances of the extensions it uses ([`LINE_ALLOWANCES`]).

use super::Features;
use crate::error::{Error, Result};

/// Longest command line, CRLF included, before any extension's allowance (RFC 5321
/// §4.5.3.1.4: "SMTP extensions may be used to increase this limit").
pub const MAX_COMMAND_LINE: usize = 512;

/// How many octets an ESMTP parameter (with the space before it) may add to a command line,
/// granted only when the server advertised `extension` and the line carries `parameter`.
/// Each parameter counts once per line (RFC 3461 §4.5 and RFC 5321 allow it only once).
#[derive(Debug, Clone, Copy)]
pub struct LineAllowance {
    /// The command (`MAIL` or `RCPT`).
    pub verb: &'static str,
    /// The parameter keyword on that command.
    pub parameter: &'static str,
    /// The EHLO keyword of the extension that defines it.
    pub extension: &'static str,
    /// The extra octets allowed.
    pub octets: usize,
    /// Where the allowance comes from.
    pub source: &'static str,
}

/// Every allowance, with the RFC section it comes from. RFC 1870, 4954 and 6531 state the
/// increase of the MAIL line; RFC 3461 states none, so its parameters are allowed their own
/// maximum length (plus the separating space). Parameters without an entry (BODY=,
/// REQUIRETLS, a caller's own) lengthen nothing: their line must fit in 512 octets plus what
/// the other parameters on it are allowed.
pub const LINE_ALLOWANCES: [LineAllowance; 7] = [
    LineAllowance { verb: "MAIL", parameter: "SIZE", extension: "SIZE", octets: 26, source: "RFC 1870 §3 (5)" },
    LineAllowance {
        verb: "MAIL",
        parameter: "RET",
        extension: "DSN",
        octets: 1 + "RET=FULL".len(),
        source: "RFC 3461 §4.3 (RET=FULL or RET=HDRS)",
    },
    LineAllowance {
        verb: "MAIL",
        parameter: "ENVID",
        extension: "DSN",
        octets: 1 + "ENVID=".len() + 100,
        source: "RFC 3461 §4.4 (ENVID up to 100 characters)",
    },
    LineAllowance {
        verb: "RCPT",
        parameter: "NOTIFY",
        extension: "DSN",
        octets: 1 + "NOTIFY=SUCCESS,FAILURE,DELAY".len(),
        source: "RFC 3461 §4.1 (the longest NOTIFY value)",
    },
    LineAllowance {
        verb: "RCPT",
        parameter: "ORCPT",
        extension: "DSN",
        octets: 1 + 500,
        source: "RFC 3461 §4.2 (the ORCPT parameter up to 500 characters)",
    },
    LineAllowance { verb: "MAIL", parameter: "AUTH", extension: "AUTH", octets: 500, source: "RFC 4954 §3 (5)" },
    LineAllowance {
        verb: "MAIL",
        parameter: "SMTPUTF8",
        extension: "SMTPUTF8",
        octets: 10,
        source: "RFC 6531 §3.1 (5)",
    },
];

/// The longest `line` (without its CRLF) may be with CRLF: [`MAX_COMMAND_LINE`] plus the
/// allowance of each parameter the line carries whose extension was `advertised`, once per
/// parameter. Parameters are what follows the path's closing `>` (an address never holds
/// one, see [`check_address`]).
fn line_limit(line: &str, advertised: &Features) -> usize {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let params = rest.split_once('>').map_or("", |(_, params)| params);
    let mut granted: Vec<&str> = Vec::new();
    let mut limit = MAX_COMMAND_LINE;
    for keyword in params.split(' ').filter(|p| !p.is_empty()).map(|p| p.split('=').next().unwrap_or(p)) {
        for a in &LINE_ALLOWANCES {
            let applies = a.verb.eq_ignore_ascii_case(verb)
                && a.parameter.eq_ignore_ascii_case(keyword)
                && !granted.contains(&a.parameter)
                && advertised.has(a.extension);
            if applies {
                granted.push(a.parameter);
                limit += a.octets;
            }
        }
    }
    limit
}

/// Refuse CR, LF and NUL in a piece of caller data that will become part of a command line.
pub fn check_line_safe(what: &str, value: &str) -> Result<()> {
    if let Some(b) = value.bytes().find(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
        let name = match b {
            b'\r' => "CR",
            b'\n' => "LF",
            _ => "NUL",
        };
        return Err(Error::invalid(format!("{what} contains a {name} character")));
    }
    Ok(())
}

/// Build `VERB[ ARGS]\r\n` after checking both parts, and its length against the limit for
/// the extensions the server `advertised` (see [`LINE_ALLOWANCES`]). The only function that makes
/// a command line.
pub fn command_line(verb: &str, args: &str, advertised: &Features) -> Result<Vec<u8>> {
    check_line_safe("command", verb)?;
    check_line_safe("command argument", args)?;
    if verb.trim().is_empty() {
        return Err(Error::invalid("command verb is empty"));
    }
    let mut line = String::with_capacity(verb.len() + args.len() + 3);
    line.push_str(verb);
    if !args.is_empty() {
        line.push(' ');
        line.push_str(args);
    }
    let limit = line_limit(&line, advertised);
    line.push_str("\r\n");
    if line.len() > limit {
        return Err(Error::invalid(format!(
            "command line of {} octets is longer than the {limit} allowed (RFC 5321 §4.5.3.1.4 and the \
             extensions the server advertised)",
            line.len()
        )));
    }
    Ok(line.into_bytes())
}

/// The HELO / EHLO / LHLO name: one non-empty word of visible ASCII (0x21 to 0x7E), so no
/// space, TAB, escape sequence or DEL reaches the line or the server's logs. Non-ASCII is
/// refused too: the name goes out before the server has advertised anything (SMTPUTF8
/// included), and RFC 5321's Domain and address literal are ASCII; an internationalized
/// name is sent as its A-labels (`xn--...`). `what` names the value in the error message.
pub fn check_hello_name(what: &str, name: &str) -> Result<()> {
    check_line_safe(what, name)?;
    if name.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if let Some(c) = name.chars().find(|c| !matches!(c, '\x21'..='\x7e')) {
        return Err(Error::invalid(format!(
            "{what} must be one word of visible ASCII characters: {name:?} holds U+{:04X}",
            u32::from(c)
        )));
    }
    Ok(())
}

/// `<addr>` for MAIL FROM, after [`check_address`]; the empty address is smtplib's empty
/// sender, the null reverse-path `<>` (RFC 5321 §4.5.5).
pub fn quote_reverse_path(addr: &str) -> Result<String> {
    Ok(format!("<{}>", check_address(addr, true)?))
}

/// `<addr>` for RCPT TO, after [`check_address`]; an empty recipient is refused.
pub fn quote_forward_path(addr: &str) -> Result<String> {
    Ok(format!("<{}>", check_address(addr, false)?))
}

/// The one rule for an address the caller gives the library (MAIL, RCPT, `sendmail`,
/// `send_message`'s envelope, VRFY / EXPN after the address is extracted): surrounding
/// whitespace is dropped; empty is refused unless `null_allowed` (the reverse-path); `<` and
/// `>` are refused anywhere, the library adds the brackets itself; then the mailbox syntax
/// checks. Returns the address as it goes between the brackets.
pub fn check_address(addr: &str, null_allowed: bool) -> Result<&str> {
    check_line_safe("address", addr)?;
    let trimmed = addr.trim();
    if trimmed.is_empty() && !null_allowed {
        return Err(Error::invalid("empty address (only the sender may be empty: the null reverse-path)"));
    }
    if trimmed.contains(['<', '>']) {
        return Err(Error::invalid(format!(
            "address contains '<' or '>': {trimmed:?} (give the bare address; the brackets are added)"
        )));
    }
    check_mailbox(trimmed)?;
    Ok(trimmed)
}

/// Longest local part and longest path (RFC 5321 §4.5.3.1.1 and §4.5.3.1.3).
const MAX_LOCAL_PART: usize = 64;
const MAX_PATH: usize = 256;

/// The syntax checks an envelope address must pass before it is sent: no unquoted space, no
/// leading `-` (an option to a sendmail program down the line), the RFC 5321 length limits,
/// and no invisible or compatibility characters that make an address read as another one.
fn check_mailbox(addr: &str) -> Result<()> {
    if addr.is_empty() {
        return Ok(()); // the null reverse-path <>
    }
    if addr.starts_with('-') {
        return Err(Error::invalid(format!("address starts with '-': {addr:?}")));
    }
    if addr.len() + 2 > MAX_PATH {
        return Err(Error::invalid(format!("address longer than {} octets", MAX_PATH - 2)));
    }
    let local = match addr.rfind('@') {
        Some(at) => &addr[..at],
        None => addr,
    };
    if local.len() > MAX_LOCAL_PART {
        return Err(Error::invalid(format!("local part longer than {MAX_LOCAL_PART} octets: {addr:?}")));
    }
    let quoted_end = quoted_local_part_end(addr, local)?;
    let mut escaped = false;
    for (i, c) in addr.char_indices() {
        let in_quotes = quoted_end.is_some_and(|end| i > 0 && i < end);
        // controls and deceptive characters are refused even quoted or escaped
        match c {
            c if c.is_control() => return Err(Error::invalid(format!("control character in address {addr:?}"))),
            c if is_deceptive(c) => {
                return Err(Error::invalid(format!(
                    "address holds an invisible or compatibility character (U+{:04X})",
                    u32::from(c)
                )))
            }
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            ' ' if !in_quotes => return Err(Error::invalid(format!("unquoted space in address {addr:?}"))),
            _ => {}
        }
    }
    Ok(())
}

/// Where the closing quote of a quoted local part is, after checking that `"` appears in
/// `addr` only as a quoted local part (RFC 5321 Quoted-string): opened by the first character
/// and closed, unescaped, as the last character of the local part (right before the `@`).
/// Anything else would let a space or a parameter through as if it were quoted:
/// `"a@victim.test NOTIFY=NEVER` must not become `<"a@victim.test NOTIFY=NEVER>`.
fn quoted_local_part_end(addr: &str, local: &str) -> Result<Option<usize>> {
    let unbalanced = || Error::invalid(format!("quote in address outside a quoted local part: {addr:?}"));
    if !local.starts_with('"') {
        return if addr.contains('"') { Err(unbalanced()) } else { Ok(None) };
    }
    let mut escaped = false;
    for (i, c) in local.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' if i + 1 == local.len() && !addr[local.len()..].contains('"') => return Ok(Some(i)),
            '"' => return Err(unbalanced()),
            _ => {}
        }
    }
    Err(unbalanced())
}

/// Characters that display as nothing or as another character: format characters
/// (zero-width space and joiners, bidirectional controls, the BOM, soft hyphen) and the
/// full-width / half-width forms that mimic ASCII letters.
fn is_deceptive(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFF00..=0xFFEF | 0xFFF0..=0xFFFB | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// The checks a send makes of its envelope before anything goes on the wire, with the
/// quoted paths: at least one recipient; every address by [`check_address`] (the sender may be
/// empty: the null reverse-path); every option by [`check_esmtp_param`]; no SIZE option (the
/// library computes it); an address that is not ASCII only with the SMTPUTF8 option.
pub fn check_envelope(
    from: &str,
    to: &[&str],
    mail_options: &[&str],
    rcpt_options: &[&str],
) -> Result<(String, Vec<String>)> {
    if to.is_empty() {
        return Err(Error::invalid("no recipients"));
    }
    let quoted_from = quote_reverse_path(from)?;
    let quoted_to = to.iter().map(|r| quote_forward_path(r)).collect::<Result<Vec<_>>>()?;
    for o in mail_options.iter().chain(rcpt_options) {
        check_esmtp_param(o)?;
    }
    if mail_options.iter().any(|o| o.len() >= 5 && o[..5].eq_ignore_ascii_case("size=")) {
        return Err(Error::invalid("SIZE is computed by the library: do not pass it as a mail option"));
    }
    let utf8 = mail_options.iter().any(|o| o.eq_ignore_ascii_case("smtputf8"));
    if !utf8 && (!from.is_ascii() || to.iter().any(|r| !r.is_ascii())) {
        return Err(Error::invalid("an address is not ASCII: it needs the SMTPUTF8 mail option"));
    }
    Ok((quoted_from, quoted_to))
}

/// Check one ESMTP parameter (`KEYWORD` or `KEYWORD=VALUE`) given for MAIL or RCPT (RFC 5321
/// §4.1.2 esmtp-param): the keyword is `[A-Za-z0-9][A-Za-z0-9-]*`, the value printable ASCII
/// (or UTF-8, for SMTPUTF8 parameters) without SP, `=` or controls.
pub fn check_esmtp_param(param: &str) -> Result<()> {
    check_line_safe("ESMTP option", param)?;
    let (keyword, value) = match param.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (param, None),
    };
    let mut kb = keyword.bytes();
    let keyword_ok =
        kb.next().is_some_and(|b| b.is_ascii_alphanumeric()) && kb.all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !keyword_ok {
        return Err(Error::invalid(format!("ESMTP option keyword is not valid: {param:?}")));
    }
    if let Some(v) = value {
        if v.is_empty() || v.chars().any(|c| c == ' ' || c == '=' || c.is_control()) {
            return Err(Error::invalid(format!("ESMTP option value is not valid: {param:?}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn refuses_cr_lf_nul_everywhere() {
        for bad in ["a@b\r\nRCPT TO:<x@y>", "a@b\nDATA", "a@b\rX", "a@b\0"] {
            assert_eq!(check_line_safe("address", bad).unwrap_err().kind(), ErrorKind::InvalidArgument);
            assert_eq!(quote_reverse_path(bad).unwrap_err().kind(), ErrorKind::InvalidArgument);
            assert_eq!(quote_forward_path(bad).unwrap_err().kind(), ErrorKind::InvalidArgument);
            assert!(command_line("MAIL", bad, &none()).is_err());
            assert!(command_line(bad, "", &none()).is_err());
            assert!(check_esmtp_param(bad).is_err());
        }
    }

    #[test]
    fn builds_lines() {
        assert_eq!(command_line("NOOP", "", &none()).unwrap(), b"NOOP\r\n");
        assert_eq!(command_line("MAIL", "FROM:<a@b>", &none()).unwrap(), b"MAIL FROM:<a@b>\r\n");
        assert!(command_line("", "x", &none()).is_err());
        assert!(command_line(" ", "x", &none()).is_err());
        // smtplib users write docmd("MAIL FROM:<a@b>") with the arguments in the verb
        assert_eq!(command_line("MAIL FROM:<a@b>", "", &none()).unwrap(), b"MAIL FROM:<a@b>\r\n");
    }

    /// Features from an EHLO reply advertising `extensions`.
    fn advertised(extensions: &[&str]) -> Features {
        let mut lines = vec!["mx.test".to_owned()];
        lines.extend(extensions.iter().map(|e| e.to_string()));
        Features::parse(&crate::protocol::Reply::new(250, lines))
    }

    fn none() -> Features {
        Features::default()
    }

    /// A MAIL line of exactly `len` octets (CRLF included) carrying `params`, padded by an
    /// X-PAD parameter (which has no allowance).
    fn mail_line_of(len: usize, params: &str) -> (String, String) {
        let fixed = "MAIL FROM:<a@b.test>".len() + params.len() + " X-PAD=".len() + 2;
        let args = format!("FROM:<a@b.test>{params} X-PAD={}", "p".repeat(len - fixed));
        assert_eq!(5 + args.len() + 2, len);
        ("MAIL".to_owned(), args)
    }

    #[test]
    fn lines_are_limited_to_512_octets_plus_the_allowances_in_use() {
        let ok = |len, params: &str, f: &Features| {
            let (verb, args) = mail_line_of(len, params);
            command_line(&verb, &args, f).map(|l| l.len())
        };
        // no extension: 512 including CRLF, whatever the verb
        assert_eq!(ok(512, "", &none()).unwrap(), 512);
        assert!(ok(513, "", &none()).is_err());
        assert!(command_line("NOOP", &"n".repeat(505), &none()).is_ok());
        assert!(command_line("NOOP", &"n".repeat(506), &none()).is_err());
        // SIZE adds 26 when advertised and used; not when only one of the two
        let size = advertised(&["SIZE 1000000"]);
        assert_eq!(ok(538, " SIZE=100", &size).unwrap(), 538);
        assert!(ok(539, " SIZE=100", &size).is_err());
        assert!(ok(538, " SIZE=100", &none()).is_err(), "SIZE not advertised");
        assert!(ok(538, "", &size).is_err(), "SIZE advertised but not used");
        // DSN: RET 9 and ENVID 107 on MAIL; NOTIFY 29 and ORCPT 501 on RCPT; each once
        let dsn = advertised(&["DSN"]);
        assert!(ok(512 + 9 + 107, " RET=HDRS ENVID=x", &dsn).is_ok());
        assert!(ok(512 + 9 + 107 + 1, " RET=HDRS ENVID=x", &dsn).is_err());
        assert!(ok(512 + 9 + 1, " RET=HDRS RET=FULL", &dsn).is_err(), "a repeated parameter counts once");
        let len = 512 + 29 + 501;
        let rcpt = format!("TO:<a@b.test> NOTIFY=NEVER ORCPT=rfc822;{}", "o".repeat(len - 47));
        assert_eq!(command_line("RCPT", &rcpt, &dsn).unwrap().len(), len);
        assert!(command_line("RCPT", &format!("{rcpt}o"), &dsn).is_err());
        assert!(command_line("MAIL", &rcpt.replacen("TO:", "FROM:", 1), &dsn).is_err(), "NOTIFY is RCPT's");
        // several extensions add up; AUTH= is MAIL's (RFC 4954), SMTPUTF8 too (RFC 6531)
        let all = advertised(&["SIZE", "DSN", "AUTH PLAIN", "SMTPUTF8"]);
        assert!(ok(512 + 26 + 9 + 500 + 10, " SIZE=1 RET=FULL AUTH=<> SMTPUTF8", &all).is_ok());
        assert!(ok(512 + 26 + 9 + 500 + 11, " SIZE=1 RET=FULL AUTH=<> SMTPUTF8", &all).is_err());
        // a parameter inside the path does not count
        assert!(command_line("MAIL", &format!("FROM:<SIZE=1@b.test> X={}", "x".repeat(490)), &advertised(&["SIZE"]))
            .is_err());
    }

    #[test]
    fn quotes_addresses() {
        assert_eq!(quote_forward_path("a@b").unwrap(), "<a@b>");
        assert_eq!(quote_reverse_path(" a@b ").unwrap(), "<a@b>");
        // the null reverse-path is for the sender only
        assert_eq!(quote_reverse_path("").unwrap(), "<>");
        assert_eq!(quote_forward_path("").unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(quote_forward_path("  ").unwrap_err().kind(), ErrorKind::InvalidArgument);
        // brackets are the library's to add: refused anywhere in what the caller gives
        for bad in ["<a@b>", "<>", "a<b>@c", "<a@b", "a@b>"] {
            assert_eq!(quote_reverse_path(bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad:?}");
            assert_eq!(quote_forward_path(bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn mailbox_syntax() {
        for ok in ["a@b.test", "\"a b\"@c.test", "jörg@example.test", "", "x@[127.0.0.1]", "\"a\\\" b\"@c.test"] {
            quote_reverse_path(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
        let long_local = format!("{}@c.test", "l".repeat(65));
        let long_path = format!("a@{}.test", "d".repeat(250));
        for bad in [
            "a b@c.test",
            "a@c .test",
            "a@c.test SIZE=1",
            "-f@c.test",
            &long_local,
            &long_path,
            "a\u{200b}b@c.test",
            "\u{ff41}lice@c.test",
            "a@c.test\u{feff}",
            "a\u{7f}@c.test",
        ] {
            assert_eq!(quote_reverse_path(bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn quotes_only_around_the_whole_local_part() {
        for ok in ["\"a b\"@c.test", "\"a@b\"@c.test", "\"a\\\"b\"@c.test", "\"\"@c.test", "\"postmaster\""] {
            quote_reverse_path(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
        for bad in [
            "\"a@victim.test NOTIFY=NEVER",
            "\"a b@c.test",
            "x\"@y z@w.test",
            "a\"b\"@c.test",
            "\"a\"b@c.test",
            "\"a\"@c.test\"",
            "\"a b\"@c\".test",
            "\"a\\\"@c.test",
            "\"",
            "\"a\t\"@c.test",
        ] {
            assert_eq!(quote_reverse_path(bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn hello_names_are_one_word_of_visible_ascii() {
        for ok in ["client.example.test", "[192.0.2.1]", "[IPv6:2001:db8::1]", "xn--jrg-goa.example", "!~"] {
            check_hello_name("HELO name", ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
        for bad in ["", "a b", "a\tb", "a\x1b[2Jb", "a\x7f", "jörg.example", "a\u{a0}b", "a\r\nQUIT", "\0"] {
            assert_eq!(check_hello_name("HELO name", bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn esmtp_params() {
        for ok in ["SIZE=100", "BODY=8BITMIME", "SMTPUTF8", "NOTIFY=SUCCESS,FAILURE", "X-FOO=bar"] {
            check_esmtp_param(ok).unwrap();
        }
        for bad in ["", "-X", "SIZE=", "A B", "A=b c", "A=b=c", "K\u{e9}Y=1"] {
            assert!(check_esmtp_param(bad).is_err(), "{bad:?}");
        }
    }
}
