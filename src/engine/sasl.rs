//! One SASL exchange of SMTP AUTH (RFC 4954) without the wire: the AUTH line, each reply read
//! as a challenge, success or failure, the bounds on challenges and responses, and what the
//! debug output may show. The mechanism (built in, or the caller's callback) is asked for each
//! step by the driver; secrets it gives are remembered for redaction.

use zeroize::Zeroizing;

use crate::auth::{self, Redactor, MAX_CHALLENGES, MAX_RESPONSE_LEN, NO_INITIAL_RESPONSE_VALUE, REDACTED};
use crate::error::{Error, ErrorKind, Result};
use crate::reply::Reply;

/// One step of an exchange, as a built-in mechanism or the caller's callback gives it.
pub enum SaslStep {
    /// Send `data`. `secret`: remember it for redaction; `extra`: one more secret to redact
    /// (e.g. the CRAM-MD5 digest on its own).
    Respond {
        /// The response, sent base64-encoded.
        data: Zeroizing<Vec<u8>>,
        /// Whether the response is a secret.
        secret: bool,
        /// One more secret to redact.
        extra: Option<Zeroizing<String>>,
    },
    /// `AUTH <mechanism>` without an initial response (valid only as the first step).
    NoInitialResponse,
    /// The caller aborted with this value.
    Abort(i32),
    /// The mechanism failed.
    Fail(Error),
}

/// A line of the exchange: the bytes to send (zeroed on drop) and what debug output shows.
pub struct SaslLine {
    /// The line, CRLF included.
    pub line: Zeroizing<Vec<u8>>,
    /// Its redacted form for debug output.
    pub shown: String,
}

/// What the server's reply to the exchange's last line asks for.
#[derive(Debug)]
pub enum SaslNext {
    /// A challenge, decoded: ask the mechanism for the response.
    Challenge(Vec<u8>),
    /// 235: authenticated (the reply, scrubbed of known secrets).
    Authenticated(Reply),
    /// Any other final reply: the exchange failed with this error.
    Failed(Error),
    /// A challenge that cannot be answered (one too many, or not strict base64): cancel the
    /// exchange with `*`, then fail with this error.
    Cancel(Error),
}

/// One exchange for a mechanism (already checked and upper-cased).
#[derive(Debug)]
pub struct SaslExchange {
    mechanism: String,
    rounds: usize,
}

impl SaslExchange {
    /// An exchange for `mechanism`.
    pub fn new(mechanism: &str) -> Self {
        SaslExchange { mechanism: mechanism.to_owned(), rounds: 0 }
    }

    /// The AUTH line from the mechanism's first step (pass `NoInitialResponse` when no initial
    /// response is wanted). An abort or a failure here is returned and nothing is sent.
    pub fn first_line(&self, first: SaslStep, red: &mut Redactor) -> Result<SaslLine> {
        let mechanism = &self.mechanism;
        match first {
            SaslStep::Respond { data, secret, extra } => {
                check_response_len(&data)?;
                remember(red, &data, secret, extra);
                let b64 = auth::encode(&data);
                let arg: &str = if b64.is_empty() { "=" } else { &b64 };
                let line = line_of(&[b"AUTH ", mechanism.as_bytes(), b" ", arg.as_bytes()]);
                let shown = format!("AUTH {mechanism} {}", if data.is_empty() { "=" } else { REDACTED });
                Ok(SaslLine { line, shown })
            }
            SaslStep::NoInitialResponse => {
                Ok(SaslLine { line: line_of(&[b"AUTH ", mechanism.as_bytes()]), shown: format!("AUTH {mechanism}") })
            }
            SaslStep::Abort(v) => Err(Error::callback_aborted(v, "auth")),
            SaslStep::Fail(e) => Err(e),
        }
    }

    /// Read the reply to the last line sent. Only 235 ends an exchange successfully: smtplib
    /// reads 503 as "already authenticated", but a session never sends a second AUTH, so a 503
    /// means the exchange failed.
    pub fn on_reply(&mut self, reply: &Reply, red: &Redactor) -> SaslNext {
        let mechanism = &self.mechanism;
        match reply.code() {
            334 if self.rounds == MAX_CHALLENGES => SaslNext::Cancel(Error::with_reply_message(
                ErrorKind::Authentication,
                red.scrub_reply(reply),
                format!(
                    "AUTH {mechanism}: server AUTH mechanism infinite loop (more than {MAX_CHALLENGES} challenges); cancelled"
                ),
            )),
            334 => {
                self.rounds += 1;
                match auth::decode_challenge(reply.lines()) {
                    Ok(challenge) => SaslNext::Challenge(challenge),
                    Err(e) => SaslNext::Cancel(Error::with_reply_message(
                        e.kind(),
                        red.scrub_reply(reply),
                        format!("AUTH {mechanism}: {}; cancelled", e.message()),
                    )),
                }
            }
            235 => SaslNext::Authenticated(red.scrub_reply(reply)),
            _ => {
                let clean = red.scrub_reply(reply);
                let message = format!("AUTH {mechanism} failed: {} {}", clean.code(), clean.text());
                SaslNext::Failed(Error::with_reply_message(ErrorKind::Authentication, clean, message))
            }
        }
    }

    /// The line answering a challenge from the mechanism's step. An error means: cancel the
    /// exchange with `*`, then fail with it.
    pub fn response_line(&self, step: SaslStep, red: &mut Redactor) -> Result<SaslLine> {
        match step {
            SaslStep::Respond { data, secret, extra } => {
                check_response_len(&data)?;
                remember(red, &data, secret, extra);
                let b64 = auth::encode(&data);
                let shown = if data.is_empty() { "" } else { REDACTED };
                Ok(SaslLine { line: line_of(&[b64.as_bytes()]), shown: shown.to_owned() })
            }
            SaslStep::NoInitialResponse => Err(Error::callback_aborted(NO_INITIAL_RESPONSE_VALUE, "auth")
                .context("a challenge was answered with NoInitialResponse")),
            SaslStep::Abort(v) => Err(Error::callback_aborted(v, "auth")),
            SaslStep::Fail(e) => Err(red.scrub_error(e.context(&format!("AUTH {}", self.mechanism)))),
        }
    }
}

fn check_response_len(data: &[u8]) -> Result<()> {
    if data.len() > MAX_RESPONSE_LEN {
        return Err(Error::invalid(format!("AUTH response longer than {MAX_RESPONSE_LEN} bytes")));
    }
    Ok(())
}

fn remember(red: &mut Redactor, data: &[u8], secret: bool, extra: Option<Zeroizing<String>>) {
    if secret {
        red.add_response(data);
    }
    if let Some(x) = extra {
        red.add(&x);
    }
}

/// `parts` then CRLF, in a buffer sized up front and zeroed on drop.
fn line_of(parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + 2));
    for p in parts {
        out.extend_from_slice(p);
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, text: &str) -> Reply {
        Reply::new(code, vec![text.to_owned()])
    }

    fn respond(data: &[u8]) -> SaslStep {
        SaslStep::Respond { data: Zeroizing::new(data.to_vec()), secret: true, extra: None }
    }

    #[test]
    fn lines() {
        assert_eq!(line_of(&[b"AUTH ", b"PLAIN", b" ", b"AGEAYg=="]).as_slice(), b"AUTH PLAIN AGEAYg==\r\n");
        assert_eq!(line_of(&[]).as_slice(), b"\r\n");
    }

    #[test]
    fn an_exchange_with_one_challenge() {
        let mut red = Redactor::new();
        let mut x = SaslExchange::new("LOGIN");
        let first = x.first_line(SaslStep::NoInitialResponse, &mut red).unwrap();
        assert_eq!((first.line.as_slice(), first.shown.as_str()), (&b"AUTH LOGIN\r\n"[..], "AUTH LOGIN"));
        let SaslNext::Challenge(c) = x.on_reply(&reply(334, "VXNlcm5hbWU6"), &red) else { panic!() };
        assert_eq!(c, b"Username:");
        let line = x.response_line(respond(b"alice-secret"), &mut red).unwrap();
        assert_eq!((line.line.as_slice(), line.shown.as_str()), (&b"YWxpY2Utc2VjcmV0\r\n"[..], REDACTED));
        // a server echoing the secret gets it scrubbed from what is kept
        let SaslNext::Authenticated(r) = x.on_reply(&reply(235, "welcome alice-secret"), &red) else { panic!() };
        assert!(!r.text().contains("alice-secret"), "{}", r.text());
    }

    #[test]
    fn initial_responses_and_what_debug_shows() {
        let mut red = Redactor::new();
        let x = SaslExchange::new("PLAIN");
        let line = x.first_line(respond(b"\0u\0p4ss"), &mut red).unwrap();
        assert_eq!(line.line.as_slice(), b"AUTH PLAIN AHUAcDRzcw==\r\n");
        assert_eq!(line.shown, format!("AUTH PLAIN {REDACTED}"));
        let line = x.first_line(respond(b""), &mut red).unwrap();
        assert_eq!((line.line.as_slice(), line.shown.as_str()), (&b"AUTH PLAIN =\r\n"[..], "AUTH PLAIN ="));
        let e = x.first_line(SaslStep::Abort(7), &mut red).err().unwrap();
        assert_eq!((e.kind(), e.callback_value()), (ErrorKind::CallbackAborted, 7));
        let long = vec![b'x'; MAX_RESPONSE_LEN + 1];
        assert_eq!(x.first_line(respond(&long), &mut red).err().unwrap().kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn bounded_and_strict() {
        let red = Redactor::new();
        let mut x = SaslExchange::new("X-ENDLESS");
        for _ in 0..MAX_CHALLENGES {
            assert!(matches!(x.on_reply(&reply(334, ""), &red), SaslNext::Challenge(_)));
        }
        let SaslNext::Cancel(e) = x.on_reply(&reply(334, ""), &red) else { panic!() };
        assert_eq!(e.kind(), ErrorKind::Authentication);
        let mut x = SaslExchange::new("PLAIN");
        assert!(matches!(x.on_reply(&reply(334, "not base64!"), &red), SaslNext::Cancel(_)));
        // 503 is a failure, never "already authenticated"
        let SaslNext::Failed(e) = x.on_reply(&reply(503, "5.5.1 already"), &red) else { panic!() };
        assert_eq!(e.kind(), ErrorKind::Authentication);
        let mut red = Redactor::new();
        let e = x.response_line(SaslStep::NoInitialResponse, &mut red).err().unwrap();
        assert_eq!(e.callback_value(), NO_INITIAL_RESPONSE_VALUE);
    }
}
