//! A session configured from a connection string (`smtp://`, `smtps://`, `smtp+starttls://`,
//! `lmtp://`, `lmtp+unix:///path`; see [`parse_server_url`]).

use super::{Client, SessionKind};
use crate::engine::TlsPolicy;
use crate::error::{Error, Result};
use crate::protocol::{parse_server_url, UrlEndpoint, UrlScheme, UrlTls};
use crate::reply::Reply;

fn scheme_name(scheme: UrlScheme) -> &'static str {
    match scheme {
        UrlScheme::Smtp => "smtp://",
        UrlScheme::SmtpStarttls => "smtp+starttls://",
        UrlScheme::Smtps => "smtps://",
        UrlScheme::Lmtp => "lmtp://",
        UrlScheme::LmtpUnix => "lmtp+unix://",
    }
}

fn kind_name(kind: SessionKind) -> &'static str {
    match kind {
        SessionKind::Smtp => "SMTP",
        SessionKind::Smtps => "SMTPS",
        SessionKind::Lmtp => "LMTP",
    }
}

impl Client {
    /// Configure the session from a connection string: the endpoint [`Client::connect_url`]
    /// connects to, the TLS policy ([`Client::set_tls_policy`]: `none` unless the URL says
    /// `?tls=`, `required` for `smtp+starttls://`), and the user and password
    /// [`Client::login_url`] sends (kept in memory that is zeroed when replaced or dropped,
    /// never logged; an earlier URL's are forgotten, also when this one has none). Nothing logs
    /// in by itself, as nothing connects by itself.
    ///
    /// The session's kind is fixed when it is created, so the scheme must match it:
    /// `smtp://` and `smtp+starttls://` an SMTP session, `smtps://` an SMTPS one, `lmtp://` and
    /// `lmtp+unix://` an LMTP one. A URL that would change the kind is refused: what a session
    /// sends (EHLO or LHLO, one reply or one per recipient, TLS first or not) is chosen with
    /// the kind, and callers and bindings rely on it.
    ///
    /// Errors, each leaving the session unchanged: [`ErrorKind::InvalidArgument`] for a
    /// malformed URL (the message names the part) or a scheme of another kind;
    /// [`ErrorKind::BadState`] while connected.
    ///
    /// [`ErrorKind::InvalidArgument`]: crate::error::ErrorKind::InvalidArgument
    /// [`ErrorKind::BadState`]: crate::error::ErrorKind::BadState
    pub fn set_url(&mut self, url: &str) -> Result<()> {
        let parsed = parse_server_url(url)?;
        let kind = match parsed.scheme {
            UrlScheme::Smtp | UrlScheme::SmtpStarttls => SessionKind::Smtp,
            UrlScheme::Smtps => SessionKind::Smtps,
            UrlScheme::Lmtp | UrlScheme::LmtpUnix => SessionKind::Lmtp,
        };
        if kind != self.kind {
            return Err(Error::invalid(format!(
                "URL scheme: {} needs an {} session and this one is {} (a session's kind is fixed when it is created)",
                scheme_name(parsed.scheme),
                kind_name(kind),
                kind_name(self.kind)
            )));
        }
        if self.connected {
            return Err(Error::bad_state("set the URL before connecting (quit or close first)"));
        }
        self.set_tls_policy(match parsed.tls {
            UrlTls::None | UrlTls::Implicit => TlsPolicy::None,
            UrlTls::Opportunistic => TlsPolicy::Opportunistic,
            UrlTls::Required => TlsPolicy::Required,
        });
        self.url_endpoint = Some(parsed.endpoint);
        self.url_credentials = parsed.credentials;
        Ok(())
    }

    /// Whether [`Client::set_url`] gave the session an endpoint.
    pub fn has_url(&self) -> bool {
        self.url_endpoint.is_some()
    }

    /// Whether the URL set with [`Client::set_url`] had a user and password.
    pub fn has_url_credentials(&self) -> bool {
        self.url_credentials.is_some()
    }

    /// [`Client::connect`] to the URL's host and port (the scheme's default port when it
    /// had none), or its Unix socket. Errors: those of `connect`, and
    /// [`ErrorKind::BadState`](crate::error::ErrorKind::BadState) when no URL was set.
    pub async fn connect_url(&mut self) -> Result<Reply> {
        let (host, port) = match &self.url_endpoint {
            Some(UrlEndpoint::Tcp { host, port }) => (host.clone(), *port),
            Some(UrlEndpoint::Unix(path)) => (path.clone(), 0),
            None => return Err(Error::bad_state("no URL set: nothing to connect to")),
        };
        self.connect(&host, port).await
    }

    /// [`Client::login`] with the URL's user and password. Errors: those of `login`, and
    /// [`ErrorKind::BadState`](crate::error::ErrorKind::BadState) when the URL set had none
    /// (or no URL was set).
    pub async fn login_url(&mut self, initial_response_ok: bool) -> Result<()> {
        let credentials = self
            .url_credentials
            .clone()
            .ok_or_else(|| Error::bad_state("no user and password: the session's URL has none"))?;
        self.login(credentials.user(), credentials.password(), initial_response_ok).await
    }
}
