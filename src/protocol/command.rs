//! Outgoing command lines: the single choke point every byte of a command passes through.
//!
//! Anything that becomes part of a command line (verb, address, ESMTP option, EHLO name,
//! `docmd` arguments) is checked here before a byte is written: CR, LF and NUL are refused
//! (smtplib's `ValueError`, CVE-2015-9096 class), and a line may not exceed the RFC 5321 limit.

use crate::error::{Error, Result};

/// Longest command line we send, CRLF included (RFC 5321 §4.5.3.1.4 is 512; we allow the
/// extended lengths ESMTP options such as AUTH initial responses need).
pub const MAX_COMMAND_LINE: usize = 12 * 1024;

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

/// Build `VERB[ ARGS]\r\n` after checking both parts. The only function that makes a command line.
pub fn command_line(verb: &str, args: &str) -> Result<Vec<u8>> {
    check_line_safe("command", verb)?;
    check_line_safe("command argument", args)?;
    if verb.trim().is_empty() {
        return Err(Error::invalid("command verb is empty"));
    }
    let mut line = Vec::with_capacity(verb.len() + args.len() + 3);
    line.extend_from_slice(verb.as_bytes());
    if !args.is_empty() {
        line.push(b' ');
        line.extend_from_slice(args.as_bytes());
    }
    line.extend_from_slice(b"\r\n");
    if line.len() > MAX_COMMAND_LINE {
        return Err(Error::invalid(format!("command line longer than {MAX_COMMAND_LINE} bytes")));
    }
    Ok(line)
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

/// Longest MAIL or RCPT command line: 512 octets (RFC 5321 §4.5.3.1.4), plus 512 when ESMTP
/// parameters are present (RFC 1869 §4.1.2).
pub fn check_mail_rcpt_line(line_len: usize, has_params: bool) -> Result<()> {
    let max = if has_params { 1024 } else { 512 };
    if line_len > max {
        return Err(Error::invalid(format!("MAIL/RCPT command line longer than {max} octets")));
    }
    Ok(())
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
            assert!(command_line("MAIL", bad).is_err());
            assert!(command_line(bad, "").is_err());
            assert!(check_esmtp_param(bad).is_err());
        }
    }

    #[test]
    fn builds_lines() {
        assert_eq!(command_line("NOOP", "").unwrap(), b"NOOP\r\n");
        assert_eq!(command_line("MAIL", "FROM:<a@b>").unwrap(), b"MAIL FROM:<a@b>\r\n");
        assert!(command_line("", "x").is_err());
        assert!(command_line(" ", "x").is_err());
        // smtplib users write docmd("MAIL FROM:<a@b>") with the arguments in the verb
        assert_eq!(command_line("MAIL FROM:<a@b>", "").unwrap(), b"MAIL FROM:<a@b>\r\n");
        assert!(command_line("X", &"a".repeat(MAX_COMMAND_LINE)).is_err());
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
        assert!(check_mail_rcpt_line(512, false).is_ok());
        assert!(check_mail_rcpt_line(513, false).is_err());
        assert!(check_mail_rcpt_line(1024, true).is_ok());
        assert!(check_mail_rcpt_line(1025, true).is_err());
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
    fn esmtp_params() {
        for ok in ["SIZE=100", "BODY=8BITMIME", "SMTPUTF8", "NOTIFY=SUCCESS,FAILURE", "X-FOO=bar"] {
            check_esmtp_param(ok).unwrap();
        }
        for bad in ["", "-X", "SIZE=", "A B", "A=b c", "A=b=c", "K\u{e9}Y=1"] {
            assert!(check_esmtp_param(bad).is_err(), "{bad:?}");
        }
    }
}
