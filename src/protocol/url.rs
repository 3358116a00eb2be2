//! Connection strings: `smtp://`, `smtps://`, `smtp+starttls://`, `lmtp://` and
//! `lmtp+unix:///path` URLs, as lettre and curl take them, parsed into what a session needs
//! (the endpoint, the TLS policy, the credentials).
//!
//! ```text
//! smtp://[user:password@]host[:port][/][?tls=none|opportunistic|required]
//! smtp+starttls://[user:password@]host[:port][/]      STARTTLS required, port 587
//! smtps://[user:password@]host[:port][/]              implicit TLS, port 465
//! lmtp://host[:port][/][?tls=...]                     port 2003
//! lmtp+unix:///absolute/path/to/socket
//! ```
//!
//! The host is a name (letters, digits, `-`, `.`, `_`; an internationalised name in its
//! `xn--` form), an IPv4 address or an IPv6 address in brackets. The user and the password are
//! percent-decoded (`%40` for `@`, `%3A` for `:`, `%2F` for `/`); both or neither. Errors name
//! the part of the URL that is wrong and never quote the URL's text, so no part of a password
//! can reach an error message or a log. Written by hand rather than with the `url` crate: the
//! grammar is this small, the crate's WHATWG rules accept what must be refused here (a
//! backslash or a tab in the authority), and its errors do not say which part is wrong.

use std::net::Ipv6Addr;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The URL's scheme: which protocol, over what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlScheme {
    /// `smtp://`: SMTP; the TLS policy from `?tls=`, none by default.
    Smtp,
    /// `smtp+starttls://`: SMTP with STARTTLS required; port 587 by default.
    SmtpStarttls,
    /// `smtps://`: SMTP over implicit TLS; port 465 by default.
    Smtps,
    /// `lmtp://`: LMTP over TCP; the TLS policy from `?tls=`, none by default.
    Lmtp,
    /// `lmtp+unix:///path`: LMTP over a Unix socket.
    LmtpUnix,
}

impl UrlScheme {
    fn parse(s: &str) -> Option<UrlScheme> {
        Some(match s.to_ascii_lowercase().as_str() {
            "smtp" => UrlScheme::Smtp,
            "smtp+starttls" => UrlScheme::SmtpStarttls,
            "smtps" => UrlScheme::Smtps,
            "lmtp" => UrlScheme::Lmtp,
            "lmtp+unix" => UrlScheme::LmtpUnix,
            _ => return None,
        })
    }

    /// The port a URL without one connects to.
    pub fn default_port(self) -> u16 {
        match self {
            UrlScheme::Smtp => 25,
            UrlScheme::SmtpStarttls => 587,
            UrlScheme::Smtps => 465,
            UrlScheme::Lmtp | UrlScheme::LmtpUnix => 2003,
        }
    }
}

/// How the URL asks for TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlTls {
    /// No STARTTLS unless the caller asks for it (`smtp://`, `lmtp://`, `?tls=none`).
    None,
    /// STARTTLS when offered, plain text otherwise (`?tls=opportunistic`).
    Opportunistic,
    /// STARTTLS or fail (`smtp+starttls://`, `?tls=required`).
    Required,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// Where the URL connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlEndpoint {
    /// A host name or an IP address (an IPv6 address without its brackets) and a port.
    Tcp {
        /// The host, as connect takes it.
        host: String,
        /// The port, the scheme's default when the URL has none.
        port: u16,
    },
    /// The absolute path of a Unix socket.
    Unix(String),
}

/// The user and password of a URL, percent-decoded. The password is zeroed when dropped and
/// never shown by `Debug`.
#[derive(Clone)]
pub struct UrlCredentials {
    user: String,
    password: Zeroizing<String>,
}

impl UrlCredentials {
    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password.
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl std::fmt::Debug for UrlCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlCredentials").field("user", &self.user).field("password", &"[redacted]").finish()
    }
}

/// A parsed connection string.
#[derive(Debug, Clone)]
pub struct ServerUrl {
    /// The scheme.
    pub scheme: UrlScheme,
    /// Where to connect.
    pub endpoint: UrlEndpoint,
    /// The TLS the URL asks for.
    pub tls: UrlTls,
    /// The user and password, when the URL has them.
    pub credentials: Option<UrlCredentials>,
}

fn bad(part: &str, why: &str) -> Error {
    Error::invalid(format!("URL {part}: {why}"))
}

/// Parse a connection string (see the module documentation). Errors:
/// [`ErrorKind::InvalidArgument`](crate::error::ErrorKind::InvalidArgument), the message
/// naming the part that is wrong (scheme, user, password, host, port, path, query, fragment).
pub fn parse_server_url(url: &str) -> Result<ServerUrl> {
    if url.chars().any(|c| c.is_control() || c == ' ') {
        return Err(bad("text", "contains a space or a control character (percent-encode it)"));
    }
    let (scheme_text, rest) = url.split_once("://").ok_or_else(|| {
        bad("scheme", "missing: the URL starts with smtp://, smtps://, smtp+starttls://, lmtp:// or lmtp+unix://")
    })?;
    let scheme = UrlScheme::parse(scheme_text)
        .ok_or_else(|| bad("scheme", "not one of smtp, smtps, smtp+starttls, lmtp, lmtp+unix"))?;
    let hint = || {
        if rest.contains('@') {
            " (a '/', '?', '#' or '@' in the user or password must be percent-encoded)"
        } else {
            ""
        }
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    if fragment.is_some() {
        return Err(bad("fragment", &format!("'#' has no meaning here{}", hint())));
    }
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let tls = parse_query(scheme, query).map_err(|e| add_hint(e, hint()))?;

    if scheme == UrlScheme::LmtpUnix {
        if !authority.is_empty() {
            return Err(bad(
                "host",
                &format!("lmtp+unix URLs take no host, user or port: lmtp+unix:///path{}", hint()),
            ));
        }
        let path = percent_decode(path, "path")?;
        if path.len() < 2 {
            return Err(bad("path", "missing: lmtp+unix:///absolute/path/to/socket"));
        }
        return Ok(ServerUrl { scheme, endpoint: UrlEndpoint::Unix(path), tls, credentials: None });
    }

    if !(path.is_empty() || path == "/") {
        return Err(bad("path", &format!("only lmtp+unix URLs have a path{}", hint())));
    }
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let credentials = userinfo.map(parse_userinfo).transpose()?;
    let (host, port) = parse_hostport(hostport, scheme.default_port()).map_err(|e| add_hint(e, hint()))?;
    Ok(ServerUrl { scheme, endpoint: UrlEndpoint::Tcp { host, port }, tls, credentials })
}

fn add_hint(e: Error, hint: &str) -> Error {
    if hint.is_empty() {
        e
    } else {
        Error::invalid(format!("{}{hint}", e.message()))
    }
}

/// `?tls=...`, the only parameter; what it may say depends on the scheme.
fn parse_query(scheme: UrlScheme, query: Option<&str>) -> Result<UrlTls> {
    let mut tls = match scheme {
        UrlScheme::SmtpStarttls => UrlTls::Required,
        UrlScheme::Smtps => UrlTls::Implicit,
        _ => UrlTls::None,
    };
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(tls);
    };
    let mut seen = false;
    for param in query.split('&') {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        if !key.eq_ignore_ascii_case("tls") {
            return Err(bad("query", "unknown parameter (the only one is tls=none|opportunistic|required)"));
        }
        if seen {
            return Err(bad("query", "tls given twice"));
        }
        seen = true;
        let asked = match value.to_ascii_lowercase().as_str() {
            "none" => UrlTls::None,
            "opportunistic" => UrlTls::Opportunistic,
            "required" => UrlTls::Required,
            _ => return Err(bad("query", "tls must be none, opportunistic or required")),
        };
        tls = match (scheme, asked) {
            (UrlScheme::Smtp | UrlScheme::Lmtp, asked) => asked,
            (UrlScheme::SmtpStarttls, UrlTls::Required) => UrlTls::Required,
            (UrlScheme::SmtpStarttls, _) => {
                return Err(bad("query", "smtp+starttls:// means tls=required; use smtp://...?tls= for another policy"))
            }
            (UrlScheme::Smtps, _) => return Err(bad("query", "smtps:// is implicit TLS and takes no tls parameter")),
            (UrlScheme::LmtpUnix, _) => return Err(bad("query", "lmtp+unix:// takes no tls parameter")),
        };
    }
    Ok(tls)
}

fn parse_userinfo(userinfo: &str) -> Result<UrlCredentials> {
    let (user, password) =
        userinfo.split_once(':').ok_or_else(|| bad("user", "given without a password: write user:password@host"))?;
    let user = percent_decode(user, "user")?;
    let password = Zeroizing::new(percent_decode(password, "password")?);
    if user.is_empty() {
        return Err(bad("user", "empty"));
    }
    if password.is_empty() {
        return Err(bad("password", "empty"));
    }
    Ok(UrlCredentials { user, password })
}

/// `%XX` decoded; the result must be UTF-8 without control characters. `part` names the
/// part in errors.
fn percent_decode(text: &str, part: &str) -> Result<String> {
    let b = text.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(b.len()));
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(part, "'%' not followed by two hexadecimal digits"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let s = std::str::from_utf8(&out).map_err(|_| bad(part, "not UTF-8 once percent-decoded"))?;
    if s.chars().any(char::is_control) {
        return Err(bad(part, "holds a control character (NUL, CR, LF...) once percent-decoded"));
    }
    Ok(s.to_owned())
}

fn parse_hostport(hostport: &str, default_port: u16) -> Result<(String, u16)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(|| bad("host", "'[' without ']'"))?;
        inside.parse::<Ipv6Addr>().map_err(|_| bad("host", "not an IPv6 address inside [ ]"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("host", "text after ']' that is not :port"))?),
        };
        (inside.to_owned(), port)
    } else {
        let (host, port) = match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        };
        if host.is_empty() {
            return Err(bad("host", "missing"));
        }
        if !host.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_')) {
            return Err(bad(
                "host",
                "not a host name or address (letters, digits, '-', '.', '_'; an IPv6 address goes in [ ]; \
                 an internationalised name in its xn-- form)",
            ));
        }
        (host.to_owned(), port)
    };
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&n| n != 0 && p.bytes().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| bad("port", "not a number from 1 to 65535"))?,
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn tcp(host: &str, port: u16) -> UrlEndpoint {
        UrlEndpoint::Tcp { host: host.to_owned(), port }
    }

    #[test]
    fn good_urls() {
        type Row = (&'static str, UrlScheme, UrlEndpoint, UrlTls, Option<(&'static str, &'static str)>);
        let table: Vec<Row> = vec![
            ("smtp://mx.example.test", UrlScheme::Smtp, tcp("mx.example.test", 25), UrlTls::None, None),
            ("SMTP://mx.example.test:2525/", UrlScheme::Smtp, tcp("mx.example.test", 2525), UrlTls::None, None),
            ("smtp://127.0.0.1:2525?tls=required", UrlScheme::Smtp, tcp("127.0.0.1", 2525), UrlTls::Required, None),
            ("smtp://h/?TLS=Opportunistic", UrlScheme::Smtp, tcp("h", 25), UrlTls::Opportunistic, None),
            ("smtp://h?tls=none", UrlScheme::Smtp, tcp("h", 25), UrlTls::None, None),
            ("smtp://h?", UrlScheme::Smtp, tcp("h", 25), UrlTls::None, None),
            ("smtp+starttls://u:p@h", UrlScheme::SmtpStarttls, tcp("h", 587), UrlTls::Required, Some(("u", "p"))),
            ("smtp+starttls://h:2587?tls=required", UrlScheme::SmtpStarttls, tcp("h", 2587), UrlTls::Required, None),
            (
                "smtps://alice:alice-pass@localhost:4650",
                UrlScheme::Smtps,
                tcp("localhost", 4650),
                UrlTls::Implicit,
                Some(("alice", "alice-pass")),
            ),
            ("smtps://h", UrlScheme::Smtps, tcp("h", 465), UrlTls::Implicit, None),
            ("smtp://[::1]:2525", UrlScheme::Smtp, tcp("::1", 2525), UrlTls::None, None),
            ("smtp://[2001:db8::1]", UrlScheme::Smtp, tcp("2001:db8::1", 25), UrlTls::None, None),
            (
                "smtp://u%40x.test:p%3A%2F%3F%23%40%25w@h",
                UrlScheme::Smtp,
                tcp("h", 25),
                UrlTls::None,
                Some(("u@x.test", "p:/?#@%w")),
            ),
            (
                "smtp://utf8:p%C3%A4ssw%C3%B6rd%20%E2%9C%93@h",
                UrlScheme::Smtp,
                tcp("h", 25),
                UrlTls::None,
                Some(("utf8", "pässwörd ✓")),
            ),
            ("smtp://u:pa:ss@h", UrlScheme::Smtp, tcp("h", 25), UrlTls::None, Some(("u", "pa:ss"))),
            ("lmtp://127.0.0.1:2424", UrlScheme::Lmtp, tcp("127.0.0.1", 2424), UrlTls::None, None),
            ("lmtp://h?tls=required", UrlScheme::Lmtp, tcp("h", 2003), UrlTls::Required, None),
            (
                "lmtp+unix:///run/dovecot/lmtp",
                UrlScheme::LmtpUnix,
                UrlEndpoint::Unix("/run/dovecot/lmtp".into()),
                UrlTls::None,
                None,
            ),
            (
                "lmtp+unix:///tmp/a%20b.sock",
                UrlScheme::LmtpUnix,
                UrlEndpoint::Unix("/tmp/a b.sock".into()),
                UrlTls::None,
                None,
            ),
        ];
        for (url, scheme, endpoint, tls, creds) in table {
            let u = parse_server_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!((u.scheme, &u.endpoint, u.tls), (scheme, &endpoint, tls), "{url}");
            let got = u.credentials.as_ref().map(|c| (c.user(), c.password()));
            assert_eq!(got, creds, "{url}");
        }
    }

    #[test]
    fn bad_urls_name_the_part() {
        let table = [
            ("", "scheme"),
            ("mx.example.test", "scheme"),
            ("smtp:/mx", "scheme"),
            ("http://mx", "scheme"),
            ("smtp+tls://mx", "scheme"),
            ("smtp://", "host"),
            ("smtp://:25", "host"),
            ("smtp://u:p@", "host"),
            ("smtp://mx:", "port"),
            ("smtp://mx:0", "port"),
            ("smtp://mx:65536", "port"),
            ("smtp://mx:+25", "port"),
            ("smtp://mx:2x", "port"),
            ("smtp://mx:25:26", "port"),
            ("smtp://::1", "host"),
            ("smtp://[::1", "host"),
            ("smtp://[::1]x", "host"),
            ("smtp://[mx]", "host"),
            ("smtp://[fe80::1%25eth0]", "host"),
            ("smtp://m%78", "host"),
            ("smtp://bücher.example", "host"),
            ("smtp://m\\x", "host"),
            ("smtp://mx path", "text"),
            ("smtp://mx\t", "text"),
            ("smtp://mx\r\nQUIT", "text"),
            ("smtp://user@mx", "user"),
            ("smtp://:p@mx", "user"),
            ("smtp://u:@mx", "password"),
            ("smtp://u%zz:p@mx", "user"),
            ("smtp://u:p%4@mx", "password"),
            ("smtp://u:p%00@mx", "password"),
            ("smtp://u:p%0D%0AQUIT@mx", "password"),
            ("smtp://u:%FF@mx", "password"),
            ("smtp://mx/client.example", "path"),
            ("smtp://mx#frag", "fragment"),
            ("smtp://mx?tls=maybe", "query"),
            ("smtp://mx?tls", "query"),
            ("smtp://mx?tls=none&tls=required", "query"),
            ("smtp://mx?port=25", "query"),
            ("smtp://mx?tls=none&", "query"),
            ("smtps://mx?tls=required", "query"),
            ("smtp+starttls://mx?tls=opportunistic", "query"),
            ("lmtp+unix://mx/run/lmtp", "host"),
            ("lmtp+unix://u:p@/run/lmtp", "host"),
            ("lmtp+unix://", "path"),
            ("lmtp+unix:///", "path"),
            ("lmtp+unix:///run/lmtp?tls=required", "query"),
            ("lmtp+unix:///run/%00lmtp", "path"),
        ];
        for (url, part) in table {
            match parse_server_url(url) {
                Ok(u) => panic!("{url:?} parsed as {u:?}"),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{url:?}");
                    assert!(e.message().starts_with(&format!("URL {part}")), "{url:?}: {e}");
                }
            }
        }
    }

    #[test]
    fn errors_never_quote_the_password() {
        for url in [
            "smtp://u:se/cret@mx",
            "smtp://u:se?cret@mx",
            "smtp://u:se#cret@mx",
            "smtp://u:secret%zz@mx",
            "smtp://u:s:ecret@m x",
            "smtp://u:secret@mx:99999",
        ] {
            let e = parse_server_url(url).unwrap_err();
            for piece in ["cret", "ecret", "secret"] {
                assert!(!e.message().contains(piece), "{url:?}: {e}");
            }
        }
        let e = parse_server_url("smtp://u:se/cret@mx").unwrap_err();
        assert!(e.message().contains("percent-encoded"), "{e}");
    }

    #[test]
    fn debug_redacts_the_password() {
        let u = parse_server_url("smtps://alice:hunter2@mx").unwrap();
        let shown = format!("{u:?}");
        assert!(shown.contains("alice") && !shown.contains("hunter2"), "{shown}");
    }
}
