//! SASL for SMTP AUTH (RFC 4954): the mechanisms' responses, strict base64 for challenges,
//! the mechanism names a server advertises, and the redaction of secrets in server text.
//!
//! Everything here is pure (no I/O); the exchange itself is `Session::login`, `login_oauth`
//! and `auth`. Buffers that hold a secret (passwords, tokens, responses and their base64) are
//! [`Zeroizing`]: they are overwritten with zeros when dropped.
//!
//! Mechanisms built in:
//! - `SCRAM-SHA-256` (RFC 7677) and `SCRAM-SHA-1` (RFC 5802), and their `-PLUS` forms with
//!   TLS channel binding (`tls-exporter`, RFC 9266; `tls-server-end-point`, RFC 5929): see
//!   [`scram`];
//! - `PLAIN` (RFC 4616): `\0user\0password`;
//! - `LOGIN` (draft-murchison-sasl-login): the user name, then the password;
//! - `CRAM-MD5` (RFC 2195): `user SP hex(HMAC-MD5(password, challenge))`;
//! - `XOAUTH2`: `user=U\x01auth=Bearer T\x01\x01`;
//! - `OAUTHBEARER` (RFC 7628): `n,a=U,\x01auth=Bearer T\x01\x01`.

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::Md5;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

pub mod scram;

/// Most server challenges answered in one exchange; the next one cancels it (smtplib's limit).
pub const MAX_CHALLENGES: usize = 5;

/// Longest response (before base64) sent in one line. Its base64, with `AUTH <mechanism> `
/// and CRLF, stays within the 12288 octets RFC 4954 §4 asks servers to accept.
pub const MAX_RESPONSE_LEN: usize = 8192;

/// Longest decoded challenge handed to a mechanism or callback; a longer one is refused.
pub const MAX_CHALLENGE_LEN: usize = 16 * 1024;

/// Longest SASL mechanism name (RFC 4422 §3.1).
pub const MAX_MECHANISM_NAME: usize = 20;

/// Secrets shorter than this are not searched for in server text (a 1- or 2-character
/// password would otherwise mangle every message); they are still never logged.
pub const MIN_REDACTED_LEN: usize = 3;

/// What replaces a secret found in server text.
pub const REDACTED: &str = "[redacted]";

/// Strict base64: the standard alphabet, canonical padding, no trailing bits.
const STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

// ---------------------------------------------------------------------------------- names

/// The mechanisms the library implements itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `SCRAM-SHA-256-PLUS` (RFC 7677 with channel binding, RFC 5802 §6).
    ScramSha256Plus,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-1-PLUS` (RFC 5802 with channel binding).
    ScramSha1Plus,
    /// `SCRAM-SHA-1` (RFC 5802).
    ScramSha1,
    /// `CRAM-MD5` (RFC 2195).
    CramMd5,
    /// `PLAIN` (RFC 4616).
    Plain,
    /// `LOGIN`.
    Login,
    /// `XOAUTH2` (bearer token).
    XOAuth2,
    /// `OAUTHBEARER` (RFC 7628).
    OAuthBearer,
}

/// The order `login()` tries mechanisms in, among those the server advertises: strongest
/// first.
///
/// 1. `SCRAM-SHA-256-PLUS`, 2. `SCRAM-SHA-256`, 3. `SCRAM-SHA-1-PLUS`, 4. `SCRAM-SHA-1`: the
///    password never crosses the wire, the server must prove it knows the password's verifier
///    before the login counts, and the server need only store a salted, iterated verifier.
///    The `-PLUS` forms also bind the exchange to the TLS channel (RFC 5802 §6, channel
///    binding `tls-exporter` on TLS 1.3, `tls-server-end-point` on TLS 1.2), so that a
///    man in the middle holding a certificate the client trusts still cannot relay it; they
///    are tried only over TLS with a verified peer and binding data. SHA-1 is used there only
///    inside HMAC and PBKDF2, where its collision weakness does not apply, so SCRAM-SHA-1 is
///    still stronger than CRAM-MD5.
/// 5. `CRAM-MD5`: the password does not cross the wire either, but the server does not prove
///    anything and must store a plaintext-equivalent secret.
/// 6. `PLAIN`, then 7. `LOGIN`: the password itself, protected only by TLS.
///
/// smtplib's own order starts at CRAM-MD5 (it has no SCRAM).
pub fn login_order() -> [Mechanism; 7] {
    // a function, not a `pub const`: the C header generator would pick up the type
    [
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha1,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
    ]
}

impl Mechanism {
    /// The name as sent after `AUTH`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism called `name` (any case), if it is one of ours.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        [
            Mechanism::ScramSha256Plus,
            Mechanism::ScramSha256,
            Mechanism::ScramSha1Plus,
            Mechanism::ScramSha1,
            Mechanism::CramMd5,
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
        ]
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The SCRAM hash of a SCRAM mechanism (with or without channel binding).
    pub fn scram_hash(self) -> Option<scram::ScramHash> {
        match self {
            Mechanism::ScramSha256 | Mechanism::ScramSha256Plus => Some(scram::ScramHash::Sha256),
            Mechanism::ScramSha1 | Mechanism::ScramSha1Plus => Some(scram::ScramHash::Sha1),
            _ => None,
        }
    }

    /// Whether this is a SCRAM `-PLUS` mechanism (channel binding required).
    pub fn is_plus(self) -> bool {
        matches!(self, Mechanism::ScramSha256Plus | Mechanism::ScramSha1Plus)
    }

    /// The `-PLUS` form of a SCRAM mechanism without channel binding.
    pub fn plus_form(self) -> Option<Mechanism> {
        match self {
            Mechanism::ScramSha256 => Some(Mechanism::ScramSha256Plus),
            Mechanism::ScramSha1 => Some(Mechanism::ScramSha1Plus),
            _ => None,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The bearer-token mechanisms of `login_oauth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OAuthMechanism {
    /// `XOAUTH2`.
    XOAuth2,
    /// `OAUTHBEARER` (RFC 7628).
    OAuthBearer,
}

impl OAuthMechanism {
    /// The SASL mechanism.
    pub fn mechanism(self) -> Mechanism {
        match self {
            OAuthMechanism::XOAuth2 => Mechanism::XOAuth2,
            OAuthMechanism::OAuthBearer => Mechanism::OAuthBearer,
        }
    }

    /// The name as sent after `AUTH`.
    pub fn name(self) -> &'static str {
        self.mechanism().name()
    }

    /// The initial response carrying `token` for `user`.
    pub fn initial_response(self, user: &str, token: &str) -> Zeroizing<Vec<u8>> {
        match self {
            OAuthMechanism::XOAuth2 => xoauth2_response(user, token),
            OAuthMechanism::OAuthBearer => oauthbearer_response(user, token),
        }
    }

    /// What the client answers to the server's error challenge (a JSON status) so that the
    /// server sends its final failure reply: `\x01` for OAUTHBEARER (RFC 7628 §3.2.3), an
    /// empty response for XOAUTH2.
    pub fn error_ack(self) -> &'static [u8] {
        match self {
            OAuthMechanism::XOAuth2 => b"",
            OAuthMechanism::OAuthBearer => b"\x01",
        }
    }
}

/// Check a mechanism name given by the caller (RFC 4422: 1 to 20 of `A-Z 0-9 - _`, any case
/// accepted) and return it upper-cased, as smtplib's `auth()` sends it.
pub fn check_mechanism_name(name: &str) -> Result<String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_MECHANISM_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        let shown: String = name.chars().take(40).map(|c| if c.is_control() { '?' } else { c }).collect();
        return Err(Error::invalid(format!(
            "SASL mechanism name {shown:?} is not valid (1 to {MAX_MECHANISM_NAME} of A-Z, 0-9, '-', '_')"
        )));
    }
    Ok(name.to_ascii_uppercase())
}

/// The mechanism names in the parameters of an EHLO `AUTH` line, upper-cased, without
/// duplicates, in the server's order; tokens that are not mechanism names are skipped.
pub fn advertised_mechanisms(auth_params: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in auth_params.split_ascii_whitespace() {
        if let Ok(name) = check_mechanism_name(token) {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The mechanisms `login()` may use with a server advertising `auth_params`, in the order it
/// tries them ([`login_order`]).
pub fn login_candidates(auth_params: &str, order: &[Mechanism]) -> Vec<Mechanism> {
    let offered = advertised_mechanisms(auth_params);
    order.iter().copied().filter(|m| offered.iter().any(|o| o == m.name())).collect()
}

/// The mechanisms a caller chose for `login`, in the order to try them: names of
/// [`login_order`]'s mechanisms (any case), separated by spaces or commas, each once. smtplib's
/// own order is `"CRAM-MD5 PLAIN LOGIN"`. Anything else (an unknown or OAuth mechanism, a
/// repeat, an empty list) is an [`ErrorKind::InvalidArgument`] naming it.
pub fn parse_login_mechanisms(list: &str) -> Result<Vec<Mechanism>> {
    let mut chosen: Vec<Mechanism> = Vec::new();
    for name in list.split([' ', ',']).filter(|n| !n.is_empty()) {
        let mechanism = Mechanism::from_name(name).filter(|m| login_order().contains(m)).ok_or_else(|| {
            Error::invalid(format!(
                "{name:?} is not a login mechanism (one of SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, \
                 SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN)"
            ))
        })?;
        if chosen.contains(&mechanism) {
            return Err(Error::invalid(format!("{} is listed twice", mechanism.name())));
        }
        chosen.push(mechanism);
    }
    if chosen.is_empty() {
        return Err(Error::invalid("the list of login mechanisms is empty"));
    }
    Ok(chosen)
}

/// The channel binding `login` uses with `mechanism`, or `None` when it cannot use it: a
/// `-PLUS` mechanism without a `channel` (the connection's binding type and data, given only
/// over TLS with a verified peer).
///
/// - `-PLUS`: `p=<type>` with the channel's data.
/// - SCRAM without `-PLUS`, with a channel, the server not advertising the `-PLUS` form
///   (`advertised`, upper-cased names) and the caller's `order` including it: `y` (RFC 5802
///   §6: the client could bind but thinks the server cannot; a server that can must then
///   fail the exchange, which defeats a stripped advertisement).
/// - Otherwise `n`: no channel, or the caller left the `-PLUS` form out of `order`, or the
///   server does advertise it (SCRAM without it is then tried only after the `-PLUS` form
///   failed as a mechanism on a verified connection, where no one can have stripped it).
///   Mechanisms other than SCRAM get `n` too (it is not used).
pub fn login_channel_binding(
    mechanism: Mechanism,
    advertised: &[String],
    order: &[Mechanism],
    channel: Option<(&'static str, &[u8])>,
) -> Option<scram::ChannelBinding> {
    use scram::ChannelBinding;
    if mechanism.is_plus() {
        let (name, data) = channel?;
        return Some(ChannelBinding::Bound { name, data: Zeroizing::new(data.to_vec()) });
    }
    let Some(plus) = mechanism.plus_form() else {
        return Some(ChannelBinding::NotSupported);
    };
    if channel.is_some() && order.contains(&plus) && !advertised.iter().any(|a| a == plus.name()) {
        Some(ChannelBinding::ServerLacksIt)
    } else {
        Some(ChannelBinding::NotSupported)
    }
}

// ---------------------------------------------------------------------------------- input checks

/// Check a user name or password before anything is sent: not empty, at most
/// [`MAX_RESPONSE_LEN`] bytes, and no NUL (the PLAIN separator), CR or LF. The message names
/// `what`, never the value.
pub fn check_credential(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if value.len() > MAX_RESPONSE_LEN {
        return Err(Error::invalid(format!("{what} is longer than {MAX_RESPONSE_LEN} bytes")));
    }
    if let Some(b) = value.bytes().find(|b| matches!(b, b'\0' | b'\r' | b'\n')) {
        let name = match b {
            b'\0' => "NUL",
            b'\r' => "CR",
            _ => "LF",
        };
        return Err(Error::invalid(format!("{what} contains a {name} character")));
    }
    Ok(())
}

/// Check a user name for the OAuth mechanisms: [`check_credential`] and no `\x01` (their
/// field separator). `allow_empty` for OAUTHBEARER, whose authorization identity is optional.
pub fn check_oauth_user(user: &str, allow_empty: bool) -> Result<()> {
    if user.is_empty() && allow_empty {
        return Ok(());
    }
    check_credential("user", user)?;
    if user.contains('\x01') {
        return Err(Error::invalid("user contains a \\x01 character"));
    }
    Ok(())
}

/// Check a bearer token (RFC 6750 §2.1 `b64token`: `A-Z a-z 0-9 - . _ ~ + /` then any `=`),
/// at most [`MAX_RESPONSE_LEN`] bytes. The message never shows the token.
pub fn check_bearer_token(token: &str) -> Result<()> {
    if token.is_empty() {
        return Err(Error::invalid("token is empty"));
    }
    if token.len() > MAX_RESPONSE_LEN {
        return Err(Error::invalid(format!("token is longer than {MAX_RESPONSE_LEN} bytes")));
    }
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'));
    if !ok {
        return Err(Error::invalid(
            "token is not a bearer token (RFC 6750 b64token: A-Z a-z 0-9 - . _ ~ + / then '=')",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------- responses

fn joined(parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
    // sized up front: no reallocation leaves a copy of the secret behind
    let mut out = Zeroizing::new(Vec::with_capacity(parts.iter().map(|p| p.len()).sum()));
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// PLAIN (RFC 4616) without an authorization identity: `\0user\0password`.
pub fn plain_response(user: &str, password: &str) -> Zeroizing<Vec<u8>> {
    joined(&[b"\0", user.as_bytes(), b"\0", password.as_bytes()])
}

/// LOGIN: the user name for the first step, the password for every later one.
pub fn login_response(step: usize, user: &str, password: &str) -> Zeroizing<Vec<u8>> {
    if step == 0 {
        joined(&[user.as_bytes()])
    } else {
        joined(&[password.as_bytes()])
    }
}

/// The lower-case hex HMAC-MD5 of `challenge` keyed with `password` (RFC 2104).
pub fn cram_md5_digest(password: &str, challenge: &[u8]) -> Zeroizing<String> {
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(password.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(challenge);
    let tag = Zeroizing::new(mac.finalize().into_bytes().to_vec());
    let mut hex = Zeroizing::new(String::with_capacity(tag.len() * 2));
    for b in tag.iter() {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    hex
}

/// CRAM-MD5 (RFC 2195): `user SP hex(HMAC-MD5(password, challenge))`. An empty challenge is
/// refused (it would make the digest a constant a listener can replay).
pub fn cram_md5_response(user: &str, password: &str, challenge: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if challenge.is_empty() {
        return Err(Error::new(ErrorKind::Authentication, "the server sent an empty CRAM-MD5 challenge"));
    }
    // RFC 2195's challenge is a printable msg-id; anything else is not a challenge to sign
    if challenge.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(Error::new(ErrorKind::Authentication, "the server's CRAM-MD5 challenge holds control bytes"));
    }
    let digest = cram_md5_digest(password, challenge);
    Ok(joined(&[user.as_bytes(), b" ", digest.as_bytes()]))
}

/// XOAUTH2: `user=U\x01auth=Bearer T\x01\x01`.
pub fn xoauth2_response(user: &str, token: &str) -> Zeroizing<Vec<u8>> {
    joined(&[b"user=", user.as_bytes(), b"\x01auth=Bearer ", token.as_bytes(), b"\x01\x01"])
}

/// OAUTHBEARER (RFC 7628 §3.1): the GS2 header `n,a=U,` (`,` and `=` in the user escaped as
/// `=2C` and `=3D`, RFC 5801; `n,,` without a user), then `\x01auth=Bearer T\x01\x01`.
pub fn oauthbearer_response(user: &str, token: &str) -> Zeroizing<Vec<u8>> {
    let mut saslname = Zeroizing::new(String::with_capacity(user.len() * 3));
    for c in user.chars() {
        match c {
            ',' => saslname.push_str("=2C"),
            '=' => saslname.push_str("=3D"),
            c => saslname.push(c),
        }
    }
    let authzid: &[u8] = if user.is_empty() { b"" } else { b"a=" };
    joined(&[b"n,", authzid, saslname.as_bytes(), b",\x01auth=Bearer ", token.as_bytes(), b"\x01\x01"])
}

// ---------------------------------------------------------------------------------- base64

/// Base64 (standard alphabet, padded) of `data`, in a buffer zeroed on drop.
pub fn encode(data: &[u8]) -> Zeroizing<String> {
    let len = base64::encoded_len(data.len(), true).expect("response lengths are bounded");
    let mut out = Zeroizing::new(String::with_capacity(len));
    STRICT.encode_string(data, &mut out);
    out
}

/// Decode the text of a 334 reply (the lines joined, surrounding blanks removed). Strict:
/// standard alphabet, canonical padding; an empty text (or `=`) is an empty challenge.
/// Anything else, or a challenge over [`MAX_CHALLENGE_LEN`] bytes, is an
/// [`ErrorKind::Authentication`] error (the exchange must then be cancelled).
pub fn decode_challenge(lines: &[String]) -> Result<Vec<u8>> {
    let text: String = lines.iter().map(|l| l.trim_matches([' ', '\t'])).collect();
    if text.is_empty() || text == "=" {
        return Ok(Vec::new());
    }
    let max_text = base64::encoded_len(MAX_CHALLENGE_LEN, true).unwrap_or(usize::MAX);
    if text.len() > max_text {
        return Err(Error::new(
            ErrorKind::Authentication,
            format!("the server's AUTH challenge is larger than {MAX_CHALLENGE_LEN} bytes"),
        ));
    }
    STRICT
        .decode(text.as_bytes())
        .map_err(|_| Error::new(ErrorKind::Authentication, "the server's AUTH challenge is not valid base64"))
}

// ---------------------------------------------------------------------------------- callbacks

/// What an `auth` callback (the session's `auth`) answers for one step of the exchange.
pub enum AuthStep {
    /// Send these bytes (base64-encoded by the library; may be empty). They are zeroed once sent.
    Respond(Vec<u8>),
    /// Only for the initial call (challenge `None`): send `AUTH <mechanism>` without an
    /// initial response and wait for the server's first challenge. Answering a challenge with
    /// it cancels the exchange like `Abort(1)`.
    NoInitialResponse,
    /// Cancel the exchange (`*` is sent if AUTH was already sent); the call fails with
    /// [`ErrorKind::CallbackAborted`] and this value.
    Abort(i32),
}

/// The value an exchange is aborted with when a callback answers a challenge with
/// [`AuthStep::NoInitialResponse`] (the C constant `SMTP_AUTH_STEP_NO_INITIAL_RESPONSE`).
pub const NO_INITIAL_RESPONSE_VALUE: i32 = 1;

impl fmt::Debug for AuthStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthStep::Respond(r) => write!(f, "Respond([{} bytes redacted])", r.len()),
            AuthStep::NoInitialResponse => f.write_str("NoInitialResponse"),
            AuthStep::Abort(v) => write!(f, "Abort({v})"),
        }
    }
}

// ---------------------------------------------------------------------------------- redaction

/// The secrets of one exchange, to remove from anything built from server text (replies that
/// echo the client's blob, error messages). Zeroed on drop.
#[derive(Default)]
pub struct Redactor {
    secrets: Vec<Zeroizing<String>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor([{} secrets])", self.secrets.len())
    }
}

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember `secret` (ignored when shorter than [`MIN_REDACTED_LEN`] or already known).
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_REDACTED_LEN || self.secrets.iter().any(|s| s.as_str() == secret) {
            return;
        }
        let mut copy = Zeroizing::new(String::with_capacity(secret.len()));
        copy.push_str(secret);
        self.secrets.push(copy);
        // longest first, so a secret containing another is replaced whole
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Remember a response: its base64 (without padding, so a server that drops the padding
    /// is caught too) and, when it is UTF-8, the response itself.
    pub fn add_response(&mut self, response: &[u8]) {
        let b64 = encode(response);
        self.add(b64.trim_end_matches('='));
        if let Ok(text) = std::str::from_utf8(response) {
            self.add(text);
        }
    }

    /// `text` with every known secret replaced by [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    /// Whether `text` contains a known secret.
    pub fn finds(&self, text: &str) -> bool {
        self.secrets.iter().any(|s| text.contains(s.as_str()))
    }

    /// `reply` with its lines scrubbed.
    pub fn scrub_reply(&self, reply: &crate::protocol::Reply) -> crate::protocol::Reply {
        if !reply.lines().iter().any(|l| self.finds(l)) {
            return reply.clone();
        }
        crate::protocol::Reply::new(reply.code(), reply.lines().iter().map(|l| self.scrub(l)).collect())
    }

    /// `err` with its message and reply scrubbed (other fields kept when nothing is found).
    pub fn scrub_error(&self, err: Error) -> Error {
        let dirty_reply = err.reply().is_some_and(|r| r.lines().iter().any(|l| self.finds(l)));
        if !self.finds(err.message()) && !dirty_reply {
            return err;
        }
        let message = self.scrub(err.message());
        match err.reply() {
            Some(r) => Error::with_reply_message(err.kind(), self.scrub_reply(r), message),
            None => Error::new(err.kind(), message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Reply;

    fn lines(s: &str) -> Vec<String> {
        vec![s.to_owned()]
    }

    #[test]
    fn cram_md5_rfc2195_example() {
        // RFC 2195 §2: the challenge is the base64 of the angle-bracketed string
        let challenge = decode_challenge(&lines("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")).unwrap();
        assert_eq!(challenge, b"<1896.697170952@postoffice.reston.mci.net>");
        let r = cram_md5_response("tim", "tanstaaftanstaaf", &challenge).unwrap();
        assert_eq!(r.as_slice(), b"tim b913a602c7eda7a495b4e6e7334d3890");
        assert_eq!(encode(&r).as_str(), "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
        assert_eq!(cram_md5_response("tim", "x", b"").unwrap_err().kind(), ErrorKind::Authentication);
    }

    #[test]
    fn hmac_md5_rfc2104_vectors() {
        // RFC 2202 (HMAC-MD5) test cases 2, 1, and one with a key longer than a block
        assert_eq!(
            cram_md5_digest("Jefe", b"what do ya want for nothing?").as_str(),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        let long_key = "k".repeat(100); // hashed first (RFC 2104 §2)
        assert_eq!(cram_md5_digest(&long_key, b"x").len(), 32);
        let key = String::from_utf8(vec![0x0b; 16]).unwrap();
        assert_eq!(cram_md5_digest(&key, b"Hi There").as_str(), "9294727a3638bb1c13f48ef8158bfc9d");
    }

    #[test]
    fn plain_and_login() {
        // RFC 4616 §4 example without authzid
        assert_eq!(plain_response("tim", "tanstaaftanstaaf").as_slice(), b"\0tim\0tanstaaftanstaaf");
        assert_eq!(encode(&plain_response("alice", "alice-pass")).as_str(), "AGFsaWNlAGFsaWNlLXBhc3M=");
        assert_eq!(login_response(0, "u", "p").as_slice(), b"u");
        assert_eq!(login_response(1, "u", "p").as_slice(), b"p");
        assert_eq!(login_response(4, "u", "p").as_slice(), b"p");
        // UTF-8 travels as its bytes
        assert_eq!(plain_response("utf8", "pässwörd ✓").as_slice(), "\0utf8\0pässwörd ✓".as_bytes());
    }

    #[test]
    fn oauth_responses() {
        assert_eq!(
            xoauth2_response("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg").as_slice(),
            b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
        );
        // RFC 7628 §4.1 (without host and port)
        assert_eq!(
            oauthbearer_response("user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==").as_slice(),
            b"n,a=user@example.com,\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        assert_eq!(oauthbearer_response("a,b=c", "t").as_slice(), b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01");
        assert_eq!(oauthbearer_response("", "t").as_slice(), b"n,,\x01auth=Bearer t\x01\x01");
        assert_eq!(OAuthMechanism::OAuthBearer.error_ack(), b"\x01");
        assert_eq!(OAuthMechanism::XOAuth2.error_ack(), b"");
        assert_eq!(encode(b"\x01").as_str(), "AQ==");
    }

    #[test]
    fn strict_challenge_decoding() {
        assert_eq!(decode_challenge(&lines("VXNlcm5hbWU6")).unwrap(), b"Username:");
        assert_eq!(decode_challenge(&lines("  UGFzc3dvcmQ6 ")).unwrap(), b"Password:");
        assert_eq!(decode_challenge(&lines("")).unwrap(), b"");
        assert_eq!(decode_challenge(&lines("=")).unwrap(), b"");
        assert_eq!(decode_challenge(&["VXNl".to_owned(), "cm5hbWU6".to_owned()]).unwrap(), b"Username:");
        for bad in ["!!!notbase64", "Rubbish", "YQ", "YQ=", "YR==", "YQ==YQ==", "Y Q==", "YQ==\u{0}", "-_-_"] {
            let e = decode_challenge(&lines(bad)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Authentication, "{bad:?}");
        }
        let huge = "A".repeat(base64::encoded_len(MAX_CHALLENGE_LEN, true).unwrap() + 4);
        assert!(decode_challenge(&lines(&huge)).is_err());
        let max = encode(&vec![7u8; MAX_CHALLENGE_LEN]);
        assert_eq!(decode_challenge(&lines(&max)).unwrap().len(), MAX_CHALLENGE_LEN);
        // decoded bytes are handed over as they are, control bytes included
        assert_eq!(decode_challenge(&lines("AAEC")).unwrap(), b"\0\x01\x02");
    }

    #[test]
    fn mechanism_names() {
        assert_eq!(Mechanism::from_name("cram-md5"), Some(Mechanism::CramMd5));
        assert_eq!(Mechanism::from_name("Plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::from_name("XOAUTH2"), Some(Mechanism::XOAuth2));
        assert_eq!(Mechanism::from_name("oauthbearer"), Some(Mechanism::OAuthBearer));
        assert_eq!(Mechanism::from_name("scram-sha-256"), Some(Mechanism::ScramSha256));
        assert_eq!(Mechanism::from_name("scram-sha-256-plus"), Some(Mechanism::ScramSha256Plus));
        assert_eq!(Mechanism::from_name("SCRAM-SHA-1-PLUS"), Some(Mechanism::ScramSha1Plus));
        assert_eq!(Mechanism::ScramSha1Plus.scram_hash(), Some(scram::ScramHash::Sha1));
        assert!(Mechanism::ScramSha256Plus.is_plus() && !Mechanism::ScramSha256.is_plus());
        assert_eq!(Mechanism::ScramSha256.plus_form(), Some(Mechanism::ScramSha256Plus));
        assert_eq!(Mechanism::Plain.plus_form(), None);
        assert_eq!(Mechanism::ScramSha1.scram_hash(), Some(scram::ScramHash::Sha1));
        assert_eq!(Mechanism::Plain.scram_hash(), None);
        assert_eq!(check_mechanism_name("scram-sha-1").unwrap(), "SCRAM-SHA-1");
        assert_eq!(check_mechanism_name("X_Y").unwrap(), "X_Y");
        for bad in ["", "PLAIN LOGIN", "PLAIN\r\nMAIL", "A".repeat(21).as_str(), "PLÄIN", "X=Y", "*"] {
            assert_eq!(check_mechanism_name(bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
        assert_eq!(
            advertised_mechanisms("PLAIN login  CRAM-MD5 plain SCRAM-SHA-1 bogus=x"),
            ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1"]
        );
    }

    #[test]
    fn login_order_among_advertised() {
        assert_eq!(
            login_candidates("PLAIN LOGIN CRAM-MD5", &login_order()),
            [Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login]
        );
        assert_eq!(login_candidates("login plain", &login_order()), [Mechanism::Plain, Mechanism::Login]);
        assert_eq!(login_candidates("LOGIN XOAUTH2", &login_order()), [Mechanism::Login]);
        assert_eq!(
            login_candidates("PLAIN SCRAM-SHA-1 LOGIN CRAM-MD5 SCRAM-SHA-256", &login_order()),
            [Mechanism::ScramSha256, Mechanism::ScramSha1, Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login]
        );
        assert_eq!(
            login_candidates("SCRAM-SHA-256-PLUS SCRAM-SHA-1", &login_order()),
            [Mechanism::ScramSha256Plus, Mechanism::ScramSha1]
        );
        assert_eq!(
            parse_login_mechanisms("scram-sha-1-plus SCRAM-SHA-256-PLUS").unwrap(),
            [Mechanism::ScramSha1Plus, Mechanism::ScramSha256Plus]
        );
        assert!(login_candidates("GSSAPI XOAUTH2 OAUTHBEARER", &login_order()).is_empty());
        assert!(login_candidates("", &login_order()).is_empty());
        // a chosen order restricts and orders the candidates: smtplib's own order
        let smtplib = parse_login_mechanisms("cram-md5, PLAIN  LOGIN").unwrap();
        assert_eq!(
            login_candidates("PLAIN SCRAM-SHA-256 LOGIN CRAM-MD5", &smtplib),
            [Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login]
        );
        assert_eq!(
            login_candidates("SCRAM-SHA-256 PLAIN", &parse_login_mechanisms("PLAIN").unwrap()),
            [Mechanism::Plain]
        );
        assert!(login_candidates("SCRAM-SHA-256", &parse_login_mechanisms("LOGIN").unwrap()).is_empty());
        for bad in ["", " , ", "PLAIN PLAIN", "XOAUTH2", "GSSAPI", "PLAIN;LOGIN"] {
            assert_eq!(parse_login_mechanisms(bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn channel_binding_per_mechanism() {
        use scram::ChannelBinding;
        let adv = |s: &str| advertised_mechanisms(s);
        let order = login_order();
        let ch: Option<(&'static str, &[u8])> = Some(("tls-exporter", &[7u8; 32]));
        // -PLUS: bound, or skipped without a verified channel
        match login_channel_binding(Mechanism::ScramSha256Plus, &adv("SCRAM-SHA-256-PLUS"), &order, ch) {
            Some(ChannelBinding::Bound { name, data }) => {
                assert_eq!(name, "tls-exporter");
                assert_eq!(data.as_slice(), &[7u8; 32]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(login_channel_binding(Mechanism::ScramSha1Plus, &adv("SCRAM-SHA-1-PLUS"), &order, None), None);
        // no -PLUS advertised while the client could bind: y
        assert_eq!(
            login_channel_binding(Mechanism::ScramSha256, &adv("SCRAM-SHA-256 SCRAM-SHA-1-PLUS"), &order, ch),
            Some(ChannelBinding::ServerLacksIt)
        );
        assert_eq!(
            login_channel_binding(Mechanism::ScramSha1, &adv("SCRAM-SHA-1 SCRAM-SHA-256-PLUS"), &order, ch),
            Some(ChannelBinding::ServerLacksIt)
        );
        // -PLUS advertised (a fallback after it failed), no channel, or -PLUS not chosen: n
        for (m, offer, order, ch) in [
            (Mechanism::ScramSha256, "SCRAM-SHA-256-PLUS SCRAM-SHA-256", order.to_vec(), ch),
            (Mechanism::ScramSha256, "SCRAM-SHA-256", order.to_vec(), None),
            (Mechanism::ScramSha256, "SCRAM-SHA-256", parse_login_mechanisms("SCRAM-SHA-256").unwrap(), ch),
            (Mechanism::Plain, "PLAIN", order.to_vec(), ch),
        ] {
            assert_eq!(
                login_channel_binding(m, &adv(offer), &order, ch),
                Some(ChannelBinding::NotSupported),
                "{m} {offer}"
            );
        }
    }

    #[test]
    fn credential_checks() {
        check_credential("password", "pässwörd ✓").unwrap();
        for bad in ["", "a\0b", "a\rb", "a\nb"] {
            let e = check_credential("password", bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.message().starts_with("password "), "{}", e.message());
        }
        assert!(check_credential("user", &"u".repeat(MAX_RESPONSE_LEN + 1)).is_err());
        check_oauth_user("", true).unwrap();
        assert!(check_oauth_user("", false).is_err());
        assert!(check_oauth_user("a\x01b", false).is_err());
        check_bearer_token("ya29.a0AfH6SMB-x_y~z+/w==").unwrap();
        for bad in ["", "tok en", "a\x01b", "==", "a=b", "tok\r\n", "ä"] {
            let e = check_bearer_token(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
            if bad.len() > 2 {
                assert!(!e.message().contains(bad), "the message shows the token");
            }
        }
    }

    #[test]
    fn redaction() {
        let mut r = Redactor::new();
        r.add("alice-pass");
        r.add_response(&plain_response("alice", "alice-pass"));
        r.add("ab"); // too short to search for
        let echo = "5.7.8 bad credentials AGFsaWNlAGFsaWNlLXBhc3M= for alice-pass (ab)";
        assert_eq!(r.scrub(echo), "5.7.8 bad credentials [redacted]= for [redacted] (ab)");
        let reply = Reply::new(535, vec![echo.to_owned(), "AGFsaWNlAGFsaWNlLXBhc3M".to_owned()]);
        let clean = r.scrub_reply(&reply);
        assert_eq!(clean.code(), 535);
        assert!(!clean.text().contains("alice-pass") && !clean.text().contains("AGFsaWNlAGFsaWNlLXBhc3M"));
        let e = r.scrub_error(Error::with_reply(ErrorKind::Authentication, reply));
        assert!(!e.message().contains("alice-pass"), "{}", e.message());
        assert!(!e.reply().unwrap().text().contains("alice-pass"));
        assert_eq!(e.kind(), ErrorKind::Authentication);
        let plain = Error::new(ErrorKind::Protocol, "nothing secret");
        assert_eq!(r.scrub_error(plain).message(), "nothing secret");
        assert_eq!(format!("{:?}", AuthStep::Respond(b"secret".to_vec())), "Respond([6 bytes redacted])");
        assert!(!format!("{r:?}").contains("alice"));
    }
}
