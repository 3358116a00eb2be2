//! SCRAM client (RFC 5802; SHA-256 per RFC 7677; channel binding per RFC 5802 §6 with the
//! data the TLS layer computes), without I/O: the client-first message, the
//! client-final message computed from the server-first one, and the check of the server-final
//! one. The exchange is driven by the session's `login`.
//!
//! What makes SCRAM worth having, and so what this refuses:
//! - the server proves it knows the password's verifier: `v=` is compared in constant time,
//!   and [`ScramClient::is_verified`] is the only thing that may turn a 235 into success;
//! - the server nonce must extend the client's (a fresh random one from the OS CSPRNG) by at
//!   least one character, otherwise the exchange could be a replay;
//! - an iteration count below [`MIN_ITERATIONS`] is a downgrade (RFC 5802 §5.1, RFC 7677 §4)
//!   and one above [`MAX_ITERATIONS`] would let a server burn the client's CPU;
//! - the salt is strict base64, and an unknown mandatory extension (`m=`) ends the exchange.
//!
//! SaslPrep (RFC 4013) is applied only in part: user names and passwords with control
//! characters are refused (SaslPrep prohibits them). Nothing is normalised: non-ASCII text is
//! sent as its UTF-8 bytes, without NFKC, without mapping non-ASCII spaces to U+0020 and
//! without removing the characters "commonly mapped to nothing"; a password that SaslPrep
//! would change fails against a server that prepares it.
//!
//! The password and every key derived from it live in [`Zeroizing`] buffers (the HMAC keys
//! handed to OpenSSL are cleared by it when freed).

use std::fmt;

use base64::Engine as _;
use openssl::hash::{Hasher, MessageDigest};
use openssl::pkey::PKey;
use openssl::sign::Signer;
use zeroize::Zeroizing;

use super::{encode, STRICT};
use crate::error::{Error, ErrorKind, Result};

/// Lowest iteration count accepted from a server (RFC 7677 §4 asks for at least 4096).
pub const MIN_ITERATIONS: u32 = 4096;

/// Highest iteration count accepted from a server: a hostile server could otherwise make the
/// client compute PBKDF2 for minutes.
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// Random bytes in a client nonce (base64-encoded on the wire, 32 characters).
pub const NONCE_BYTES: usize = 24;

/// Most characters of a server's `e=` error kept in an error message.
const MAX_SERVER_ERROR_SHOWN: usize = 128;

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// `SCRAM-SHA-1` (RFC 5802).
    Sha1,
    /// `SCRAM-SHA-256` (RFC 7677).
    Sha256,
}

impl ScramHash {
    fn digest(self) -> MessageDigest {
        match self {
            ScramHash::Sha1 => MessageDigest::sha1(),
            ScramHash::Sha256 => MessageDigest::sha256(),
        }
    }

    /// The mechanism name without channel binding (`SCRAM-SHA-1`, `SCRAM-SHA-256`).
    pub fn name(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }
}

/// The channel-binding part of the GS2 header (RFC 5802 §7, `gs2-cbind-flag`).
#[derive(Clone, PartialEq, Eq)]
pub enum ChannelBinding {
    /// `n`: the client does not support channel binding.
    NotSupported,
    /// `y`: the client supports channel binding but thinks the server does not (it did not
    /// advertise a `-PLUS` mechanism). A server that does support it must then fail the
    /// exchange: this is what detects a stripped `-PLUS` advertisement.
    ServerLacksIt,
    /// `p=<name>`: bound to the TLS channel with this type (`tls-exporter`,
    /// `tls-server-end-point`) and data.
    Bound {
        /// The channel-binding type name.
        name: &'static str,
        /// The channel-binding data.
        data: Zeroizing<Vec<u8>>,
    },
}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelBinding::NotSupported => f.write_str("NotSupported"),
            ChannelBinding::ServerLacksIt => f.write_str("ServerLacksIt"),
            ChannelBinding::Bound { name, data } => write!(f, "Bound({name}, {} bytes)", data.len()),
        }
    }
}

enum State {
    /// The client-first message is not built yet.
    Start,
    /// The client-first message was built; waiting for the server-first one.
    SentFirst,
    /// The client-final message was built; the server must prove this signature.
    SentFinal { server_signature: Zeroizing<Vec<u8>> },
    /// The server's signature was verified.
    Verified,
    /// The exchange failed; nothing more is answered.
    Failed,
}

/// One SCRAM exchange, client side.
pub struct ScramClient {
    hash: ScramHash,
    password: Zeroizing<String>,
    binding: ChannelBinding,
    nonce: String,
    /// `n=<saslname>,r=<nonce>`.
    first_bare: String,
    state: State,
}

impl fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Start => "start",
            State::SentFirst => "sent client-first",
            State::SentFinal { .. } => "sent client-final",
            State::Verified => "verified",
            State::Failed => "failed",
        };
        write!(f, "ScramClient({}, {:?}, {state}, password [redacted])", self.hash.name(), self.binding)
    }
}

fn auth_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Authentication, message)
}

fn crypto_error(e: openssl::error::ErrorStack) -> Error {
    auth_error(format!("SCRAM: the cryptographic library failed: {e}"))
}

/// Refuse what SaslPrep prohibits and this client can check without tables: control characters.
fn check_prepared(what: &str, value: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(format!("{what} contains a control character (not allowed by SCRAM's SaslPrep)")));
    }
    Ok(())
}

/// A user name as a SCRAM `saslname` (RFC 5802 §5.1): `,` as `=2C` and `=` as `=3D`.
pub fn saslname(user: &str) -> String {
    let mut out = String::with_capacity(user.len() * 3);
    for c in user.chars() {
        match c {
            ',' => out.push_str("=2C"),
            '=' => out.push_str("=3D"),
            c => out.push(c),
        }
    }
    out
}

fn hmac(md: MessageDigest, key: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let pkey = PKey::hmac(key).map_err(crypto_error)?;
    let mut signer = Signer::new(md, &pkey).map_err(crypto_error)?;
    signer.update(data).map_err(crypto_error)?;
    let mut out = Zeroizing::new(vec![0u8; md.size()]);
    let n = signer.sign(&mut out).map_err(crypto_error)?;
    out.truncate(n);
    Ok(out)
}

fn hash(md: MessageDigest, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let mut h = Hasher::new(md).map_err(crypto_error)?;
    h.update(data).map_err(crypto_error)?;
    let digest = h.finish().map_err(crypto_error)?;
    Ok(Zeroizing::new(digest.to_vec()))
}

/// Server text for an error message: printable ASCII only, at most `max` characters.
fn shown(bytes: &[u8], max: usize) -> String {
    let mut out: String =
        bytes.iter().take(max).map(|&b| if (0x20..0x7f).contains(&b) { char::from(b) } else { '?' }).collect();
    if bytes.len() > max {
        out.push_str("...");
    }
    out
}

/// A SCRAM nonce: printable ASCII except `,` (RFC 5802 §7).
fn valid_nonce(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| (0x21..0x7f).contains(&b) && b != b',')
}

impl ScramClient {
    /// A new exchange for `user` and `password`, with a client nonce of [`NONCE_BYTES`] random
    /// bytes from OpenSSL's CSPRNG.
    ///
    /// Errors: [`ErrorKind::InvalidArgument`] (an empty user or password, or one holding a
    /// control character), [`ErrorKind::Authentication`] (no random bytes could be had).
    pub fn new(hash: ScramHash, user: &str, password: &str, binding: ChannelBinding) -> Result<ScramClient> {
        let mut raw = Zeroizing::new([0u8; NONCE_BYTES]);
        openssl::rand::rand_bytes(raw.as_mut()).map_err(crypto_error)?;
        let nonce = encode(raw.as_ref());
        ScramClient::with_nonce(hash, user, password, binding, &nonce)
    }

    /// [`ScramClient::new`] with a given nonce: only for the RFC test vectors.
    fn with_nonce(
        hash: ScramHash,
        user: &str,
        password: &str,
        binding: ChannelBinding,
        nonce: &str,
    ) -> Result<ScramClient> {
        for (what, value) in [("user", user), ("password", password)] {
            if value.is_empty() {
                return Err(Error::invalid(format!("{what} is empty")));
            }
            check_prepared(what, value)?;
        }
        debug_assert!(valid_nonce(nonce));
        let first_bare = format!("n={},r={nonce}", saslname(user));
        let mut pw = Zeroizing::new(String::with_capacity(password.len()));
        pw.push_str(password);
        Ok(ScramClient { hash, password: pw, binding, nonce: nonce.to_owned(), first_bare, state: State::Start })
    }

    /// The GS2 header: the channel-binding flag, and no authorization identity.
    fn gs2_header(&self) -> String {
        match &self.binding {
            ChannelBinding::NotSupported => "n,,".to_owned(),
            ChannelBinding::ServerLacksIt => "y,,".to_owned(),
            ChannelBinding::Bound { name, .. } => format!("p={name},,"),
        }
    }

    /// The client-first message (`gs2-header n=<user>,r=<nonce>`), sent as the initial response.
    pub fn client_first(&mut self) -> Vec<u8> {
        self.state = State::SentFirst;
        format!("{}{}", self.gs2_header(), self.first_bare).into_bytes()
    }

    /// The client-final message answering `server_first`, with the client proof.
    ///
    /// Errors ([`ErrorKind::Authentication`], after which the exchange is over): called out of
    /// turn, a message that is not `r=<nonce>,s=<salt>,i=<count>[,ext]`, a mandatory
    /// extension, a nonce that does not extend the client's, a salt that is not strict base64
    /// or is empty, an iteration count below [`MIN_ITERATIONS`] or above [`MAX_ITERATIONS`],
    /// and an `e=` error in its place.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if !matches!(self.state, State::SentFirst) {
            self.state = State::Failed;
            return Err(auth_error("SCRAM: a server-first message out of turn"));
        }
        self.state = State::Failed; // until proven otherwise
        let text = std::str::from_utf8(server_first)
            .map_err(|_| auth_error("SCRAM: the server-first message is not UTF-8"))?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(auth_error(format!(
                "SCRAM: the server reports an error: {}",
                shown(e.as_bytes(), MAX_SERVER_ERROR_SHOWN)
            )));
        }
        let mut attrs = text.split(',');
        let mut next = |key: &str| -> Result<&str> {
            match attrs.next() {
                Some(a) if a.starts_with("m=") => {
                    Err(auth_error("SCRAM: the server requires an unknown extension (m=)"))
                }
                Some(a) => a.strip_prefix(key).ok_or_else(|| {
                    auth_error(format!(
                        "SCRAM: the server-first message lacks {key} where expected: {}",
                        shown(server_first, MAX_SERVER_ERROR_SHOWN)
                    ))
                }),
                None => Err(auth_error(format!("SCRAM: the server-first message lacks {key}"))),
            }
        };
        let nonce = next("r=")?;
        let salt_b64 = next("s=")?;
        let count = next("i=")?;
        // checked in the order that says most about a hostile server
        if !valid_nonce(nonce) || !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(auth_error("SCRAM: the server nonce does not extend the client nonce"));
        }
        let iterations: u32 = match count.parse() {
            Ok(n) if count.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(auth_error(format!(
                    "SCRAM: the iteration count {:?} is not a number",
                    shown(count.as_bytes(), 20)
                )))
            }
        };
        if iterations < MIN_ITERATIONS {
            return Err(auth_error(format!(
                "SCRAM: the server asks for {iterations} iterations, fewer than {MIN_ITERATIONS} (a downgrade); refused"
            )));
        }
        if iterations > MAX_ITERATIONS {
            return Err(auth_error(format!(
                "SCRAM: the server asks for {iterations} iterations, more than {MAX_ITERATIONS}; refused"
            )));
        }
        let salt = STRICT.decode(salt_b64.as_bytes()).map_err(|_| auth_error("SCRAM: the salt is not valid base64"))?;
        if salt.is_empty() {
            return Err(auth_error("SCRAM: the salt is empty"));
        }

        let md = self.hash.digest();
        let mut salted = Zeroizing::new(vec![0u8; md.size()]);
        openssl::pkcs5::pbkdf2_hmac(self.password.as_bytes(), &salt, iterations as usize, md, &mut salted)
            .map_err(crypto_error)?;
        let client_key = hmac(md, &salted, b"Client Key")?;
        let stored_key = hash(md, &client_key)?;
        let server_key = hmac(md, &salted, b"Server Key")?;

        let mut cbind_input = Zeroizing::new(self.gs2_header().into_bytes());
        if let ChannelBinding::Bound { data, .. } = &self.binding {
            cbind_input.extend_from_slice(data);
        }
        let without_proof = format!("c={},r={nonce}", encode(&cbind_input).as_str());
        let auth_message = format!("{},{text},{without_proof}", self.first_bare);
        let client_signature = hmac(md, &stored_key, auth_message.as_bytes())?;
        let proof: Zeroizing<Vec<u8>> =
            Zeroizing::new(client_key.iter().zip(client_signature.iter()).map(|(k, s)| k ^ s).collect());
        let server_signature = hmac(md, &server_key, auth_message.as_bytes())?;

        let proof_b64 = encode(&proof);
        let mut out = Zeroizing::new(Vec::with_capacity(without_proof.len() + 3 + proof_b64.len()));
        out.extend_from_slice(without_proof.as_bytes());
        out.extend_from_slice(b",p=");
        out.extend_from_slice(proof_b64.as_bytes());
        self.state = State::SentFinal { server_signature };
        Ok(out)
    }

    /// Check the server-final message: `v=<signature>` must equal the expected server
    /// signature (compared in constant time). Only then is the exchange verified.
    ///
    /// Errors ([`ErrorKind::Authentication`]): called out of turn, an `e=` error (its value is
    /// shown), a wrong or malformed signature.
    pub fn verify_server_final(&mut self, server_final: &[u8]) -> Result<()> {
        let expected = match std::mem::replace(&mut self.state, State::Failed) {
            State::SentFinal { server_signature } => server_signature,
            _ => return Err(auth_error("SCRAM: a server-final message out of turn")),
        };
        let first = server_final.split(|&b| b == b',').next().unwrap_or_default();
        if let Some(e) = first.strip_prefix(b"e=") {
            return Err(auth_error(format!(
                "SCRAM: the server reports an error: {}",
                shown(e, MAX_SERVER_ERROR_SHOWN)
            )));
        }
        let Some(v) = first.strip_prefix(b"v=") else {
            return Err(auth_error("SCRAM: the server-final message holds no server signature"));
        };
        let got = STRICT.decode(v).map_err(|_| auth_error("SCRAM: the server signature is not valid base64"))?;
        // the length is public (it is the hash's); only the content is compared in constant time
        if got.len() != expected.len() || !openssl::memcmp::eq(&got, &expected) {
            return Err(auth_error("SCRAM: the server signature is wrong: the server does not know the password"));
        }
        self.state = State::Verified;
        Ok(())
    }

    /// The response to one server challenge, whichever step of the exchange it is: the
    /// client-first message (to an empty challenge, when no initial response was sent), the
    /// client-final message (to the server-first one), or an empty response once the
    /// server-final message is verified (the server then sends its final reply).
    ///
    /// Errors: those of [`Self::client_final`] and [`Self::verify_server_final`], and a
    /// challenge after the exchange ended.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        match self.state {
            State::Start if challenge.is_empty() => Ok(Zeroizing::new(self.client_first())),
            State::SentFirst => self.client_final(challenge),
            State::SentFinal { .. } => self.verify_server_final(challenge).map(|()| Zeroizing::new(Vec::new())),
            _ => {
                self.state = State::Failed;
                Err(auth_error("SCRAM: a challenge after the exchange ended"))
            }
        }
    }

    /// Whether the server proved its knowledge of the password ([`Self::verify_server_final`]
    /// succeeded). A 235 reply without this is not a successful login.
    pub fn is_verified(&self) -> bool {
        matches!(self.state, State::Verified)
    }

    /// The mechanism this exchange uses.
    pub fn hash(&self) -> ScramHash {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5802_sha1_vector() {
        // RFC 5802 §5
        let mut c = ScramClient::with_nonce(
            ScramHash::Sha1,
            "user",
            "pencil",
            ChannelBinding::NotSupported,
            "fyko+d2lbbFgONRv9qkxdawL",
        )
        .unwrap();
        assert_eq!(c.client_first(), b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        let fin = c.client_final(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096").unwrap();
        assert_eq!(
            fin.as_slice(),
            b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        assert!(!c.is_verified());
        c.verify_server_final(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=").unwrap();
        assert!(c.is_verified());
    }

    fn rfc7677() -> ScramClient {
        let mut c = ScramClient::with_nonce(
            ScramHash::Sha256,
            "user",
            "pencil",
            ChannelBinding::NotSupported,
            "rOprNGfwEbeRWgbNEkqO",
        )
        .unwrap();
        assert_eq!(c.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        c
    }

    const RFC7677_SERVER_FIRST: &[u8] =
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    #[test]
    fn rfc7677_sha256_vector() {
        // RFC 7677 §3
        let mut c = rfc7677();
        let fin = c.client_final(RFC7677_SERVER_FIRST).unwrap();
        assert_eq!(
            fin.as_slice(),
            &b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="[..]
        );
        c.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap();
        assert!(c.is_verified());
        // nothing more is accepted once verified
        assert!(c.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").is_err());
        assert!(!c.is_verified());
    }

    #[test]
    fn respond_drives_the_exchange() {
        // without an initial response: the server's empty challenge asks for client-first
        let mut c = ScramClient::with_nonce(
            ScramHash::Sha256,
            "user",
            "pencil",
            ChannelBinding::NotSupported,
            "rOprNGfwEbeRWgbNEkqO",
        )
        .unwrap();
        assert_eq!(c.respond(b"").unwrap().as_slice(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        assert!(c.respond(RFC7677_SERVER_FIRST).unwrap().ends_with(b",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
        assert!(c.respond(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap().is_empty());
        assert!(c.is_verified());
        assert!(c.respond(b"").is_err(), "a fourth challenge");
        // a non-empty first challenge is not a SCRAM step
        let mut c = rfc7677();
        let mut fresh =
            ScramClient::with_nonce(ScramHash::Sha256, "u", "p", ChannelBinding::NotSupported, "abc").unwrap();
        assert!(fresh.respond(b"hello").is_err());
        c.respond(RFC7677_SERVER_FIRST).unwrap();
        assert!(c.respond(b"v=AAAA").is_err());
        assert!(!c.is_verified());
    }

    #[test]
    fn server_final_refusals() {
        for bad in [
            &b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="[..], // other data bits, or trailing bits set
            b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
            b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
            b"v=",
            b"e=invalid-proof",
            b"",
            b"x=1,v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        ] {
            let mut c = rfc7677();
            c.client_final(RFC7677_SERVER_FIRST).unwrap();
            let e = c.verify_server_final(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Authentication, "{:?}", String::from_utf8_lossy(bad));
            assert!(!c.is_verified());
        }
        let mut c = rfc7677();
        c.client_final(RFC7677_SERVER_FIRST).unwrap();
        let e = c.verify_server_final(b"e=other-error\x1b[2J").unwrap_err();
        assert!(e.message().contains("other-error?[2J"), "{}", e.message());
        // out of turn: no server-first handled yet
        let mut c = rfc7677();
        assert!(c.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").is_err());
    }

    #[test]
    fn server_first_refusals() {
        let cases: [(&[u8], &str); 12] = [
            (b"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095", "fewer than 4096"),
            (b"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1", "a downgrade"),
            (b"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001", "more than"),
            (b"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+4096", "not a number"),
            (b"r=XOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "does not extend"),
            (b"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "does not extend"),
            (b"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096", "salt is not valid"),
            (b"r=rOprNGfwEbeRWgbNEkqO%hvY,s=,i=4096", "salt is empty"),
            (b"m=ext,r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "unknown extension"),
            (b"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%hvY,i=4096", "lacks r="),
            (b"r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==", "lacks i="),
            (b"e=unknown-user", "reports an error: unknown-user"),
        ];
        for (msg, why) in cases {
            let mut c = rfc7677();
            let e = c.client_final(msg).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Authentication);
            assert!(e.message().contains(why), "{:?}: {}", String::from_utf8_lossy(msg), e.message());
            // the exchange is over after a refusal
            assert!(c.client_final(RFC7677_SERVER_FIRST).is_err());
        }
        // extensions after the iteration count are ignored (RFC 5802 §7)
        let mut c = rfc7677();
        let with_ext = [RFC7677_SERVER_FIRST, b",x=future"].concat();
        assert!(c.client_final(&with_ext).is_ok());
    }

    #[test]
    fn names_binding_and_secrets() {
        assert_eq!(saslname("a,b=c"), "a=2Cb=3Dc");
        let mut c =
            ScramClient::with_nonce(ScramHash::Sha256, "us=er,x", "pw", ChannelBinding::ServerLacksIt, "abc").unwrap();
        assert_eq!(c.client_first(), b"y,,n=us=3Der=2Cx,r=abc");
        // c= is base64 of the GS2 header alone: "eSws" for y,, ("biws" for n,,)
        assert!(c.client_final(b"r=abcd,s=QSXCR+Q6sek8bf92,i=4096").unwrap().starts_with(b"c=eSws,r=abcd,p="));
        let data = Zeroizing::new((0u8..32).collect::<Vec<u8>>());
        let mut c = ScramClient::with_nonce(
            ScramHash::Sha256,
            "u",
            "pw",
            ChannelBinding::Bound { name: "tls-server-end-point", data },
            "abc",
        )
        .unwrap();
        assert_eq!(c.client_first(), b"p=tls-server-end-point,,n=u,r=abc");
        let fin = c.client_final(b"r=abcd,s=QSXCR+Q6sek8bf92,i=4096").unwrap();
        let mut cbind = b"p=tls-server-end-point,,".to_vec();
        cbind.extend(0u8..32);
        assert!(fin.starts_with(format!("c={},r=abcd,p=", encode(&cbind).as_str()).as_bytes()));
        let data = Zeroizing::new(vec![1u8, 2, 3]);
        let mut c = ScramClient::with_nonce(
            ScramHash::Sha1,
            "u",
            "pw",
            ChannelBinding::Bound { name: "tls-exporter", data },
            "abc",
        )
        .unwrap();
        assert_eq!(c.client_first(), b"p=tls-exporter,,n=u,r=abc");
        let fin = c.client_final(b"r=abcd,s=QSXCR+Q6sek8bf92,i=4096").unwrap();
        // c= carries the GS2 header then the binding data
        let expected_c = format!("c={},", encode(b"p=tls-exporter,,\x01\x02\x03").as_str());
        assert!(fin.starts_with(expected_c.as_bytes()), "{}", String::from_utf8_lossy(&fin));
        for (u, p) in [("", "pw"), ("u", ""), ("u\tv", "pw"), ("u", "p\u{7f}w"), ("u", "p\u{85}w")] {
            let e = ScramClient::new(ScramHash::Sha256, u, p, ChannelBinding::NotSupported).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{u:?} {p:?}");
        }
        // fresh random nonces, and no password in debug output
        let mut a = ScramClient::new(ScramHash::Sha256, "user", "s3cret-pw", ChannelBinding::NotSupported).unwrap();
        let mut b = ScramClient::new(ScramHash::Sha256, "user", "s3cret-pw", ChannelBinding::NotSupported).unwrap();
        let (fa, fb) = (a.client_first(), b.client_first());
        assert_ne!(fa, fb);
        assert_eq!(fa.len(), "n,,n=user,r=".len() + 32);
        assert!(!format!("{a:?}").contains("s3cret"));
    }
}
