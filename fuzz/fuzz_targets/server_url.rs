//! Connection strings (`smtp_client_set_url`).
//!
//! Input: the URL text, decoded lossily.
//!
//! Checked:
//! - `parse_server_url` never panics; a refusal is an InvalidArgument whose message starts
//!   with "URL " and names a part;
//! - an accepted URL has a non-empty host of name characters or an IPv6 address, a port from
//!   1 to 65535, a Unix path starting with '/', credentials both non-empty and free of control
//!   characters, and a TLS setting its scheme allows;
//! - written back out (user and password percent-encoded byte by byte), it parses to the same
//!   thing: the parser has one reading of each URL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpclient::protocol::{parse_server_url, UrlEndpoint, UrlScheme, UrlTls};
use smtpclient::ErrorKind;

fn encode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let url = match parse_server_url(&text) {
        Ok(url) => url,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.message().starts_with("URL "), "{e}");
            return;
        }
    };
    let scheme = match url.scheme {
        UrlScheme::Smtp => "smtp",
        UrlScheme::SmtpStarttls => "smtp+starttls",
        UrlScheme::Smtps => "smtps",
        UrlScheme::Lmtp => "lmtp",
        UrlScheme::LmtpUnix => "lmtp+unix",
    };
    match (url.scheme, url.tls) {
        (UrlScheme::Smtps, UrlTls::Implicit) | (UrlScheme::SmtpStarttls, UrlTls::Required) => {}
        (UrlScheme::LmtpUnix, UrlTls::None) => {}
        (UrlScheme::Smtp | UrlScheme::Lmtp, UrlTls::None | UrlTls::Opportunistic | UrlTls::Required) => {}
        other => panic!("scheme and TLS {other:?}"),
    }
    let tls = match url.tls {
        UrlTls::None => "none",
        UrlTls::Opportunistic => "opportunistic",
        UrlTls::Required => "required",
        UrlTls::Implicit => "",
    };
    let query =
        if matches!(url.scheme, UrlScheme::Smtp | UrlScheme::Lmtp) { format!("?tls={tls}") } else { String::new() };
    let userinfo = match &url.credentials {
        Some(c) => {
            assert!(!c.user().is_empty() && !c.password().is_empty());
            assert!(!c.user().chars().chain(c.password().chars()).any(char::is_control));
            format!("{}:{}@", encode(c.user()), encode(c.password()))
        }
        None => String::new(),
    };
    let again = match &url.endpoint {
        UrlEndpoint::Tcp { host, port } => {
            assert!(*port != 0 && !host.is_empty());
            let host = if host.contains(':') {
                host.parse::<std::net::Ipv6Addr>().expect("an IPv6 address");
                format!("[{host}]")
            } else {
                assert!(host.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_')));
                host.clone()
            };
            format!("{scheme}://{userinfo}{host}:{port}{query}")
        }
        UrlEndpoint::Unix(path) => {
            assert!(path.starts_with('/') && path.len() > 1);
            format!("{scheme}://{}", path.split('/').map(encode).collect::<Vec<_>>().join("/"))
        }
    };
    let reparsed = parse_server_url(&again).unwrap_or_else(|e| panic!("{again:?}: {e}"));
    assert_eq!(format!("{reparsed:?}"), format!("{url:?}"), "{again:?}");
    assert_eq!(
        reparsed.credentials.as_ref().map(|c| c.password().to_owned()),
        url.credentials.as_ref().map(|c| c.password().to_owned())
    );
});
