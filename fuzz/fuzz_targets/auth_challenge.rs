//! Server text of the AUTH exchange: 334 challenges, EHLO AUTH parameters, and the redaction
//! of secrets in server text.
//!
//! Input: lines split on LF (one CR before each LF removed), decoded lossily as the reply
//! parser does; they are the text lines of one 334 reply.
//!
//! Checked:
//! - `decode_challenge` never panics; an accepted challenge is at most MAX_CHALLENGE_LEN bytes
//!   and is the strict base64 of the text (re-encoding it gives back the joined, trimmed text:
//!   no second spelling of the same bytes is accepted); an empty text or `=` is empty; a
//!   refusal is an Authentication error;
//! - CRAM-MD5 answers exactly the non-empty challenges without control bytes, with
//!   `user SP 32 lower-case hex`; others are Authentication errors;
//! - the mechanisms taken from the text as EHLO AUTH parameters are valid names, upper-case,
//!   unique; the login candidates are among them;
//! - a secret given to the redactor (the first line, when it shares no character with the
//!   redaction mark) is gone from the scrubbed text; text without it is left unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpclient::auth::{
    advertised_mechanisms, check_mechanism_name, cram_md5_response, decode_challenge, encode, login_candidates,
    login_order, Redactor, MAX_CHALLENGE_LEN, REDACTED,
};
use smtpclient::ErrorKind;

fuzz_target!(|data: &[u8]| {
    let lines: Vec<String> = data
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned())
        .collect();
    let text: String = lines.iter().map(|l| l.trim_matches([' ', '\t'])).collect();

    match decode_challenge(&lines) {
        Ok(challenge) => {
            assert!(challenge.len() <= MAX_CHALLENGE_LEN);
            if text.is_empty() || text == "=" {
                assert!(challenge.is_empty());
            } else {
                assert_eq!(*encode(&challenge), text, "accepted a non-canonical spelling");
                assert!(!challenge.is_empty() || text.is_empty());
            }
            // CRAM-MD5 signs only a non-empty challenge without control bytes.
            let signable = !challenge.is_empty() && !challenge.iter().any(|&b| b < 0x20 || b == 0x7f);
            match cram_md5_response("alice", "alice-pass", &challenge) {
                Ok(r) => {
                    assert!(signable, "CRAM-MD5 signed {challenge:?}");
                    let r = std::str::from_utf8(&r).expect("ASCII response");
                    let digest = r.strip_prefix("alice ").expect("user first");
                    assert_eq!(digest.len(), 32);
                    assert!(digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
                }
                Err(e) => {
                    assert!(!signable, "CRAM-MD5 refused {challenge:?}: {e}");
                    assert_eq!(e.kind(), ErrorKind::Authentication);
                }
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Authentication),
    }

    let all = lines.join(" ");
    let mechs = advertised_mechanisms(&all);
    for (i, m) in mechs.iter().enumerate() {
        assert_eq!(check_mechanism_name(m).as_deref().ok(), Some(m.as_str()));
        assert!(!mechs[..i].contains(m), "duplicate mechanism {m:?}");
    }
    for c in login_candidates(&all, &login_order()) {
        assert!(mechs.iter().any(|m| m == c.name()));
    }

    let mut redactor = Redactor::new();
    let secret = lines[0].as_str();
    redactor.add(secret);
    let rest = lines[1..].join("\n");
    let scrubbed = redactor.scrub(&rest);
    if !redactor.finds(&rest) {
        assert_eq!(scrubbed, rest);
    }
    if secret.chars().count() >= 3 && !secret.chars().any(|c| REDACTED.contains(c)) {
        assert!(!scrubbed.contains(secret), "secret left in scrubbed text");
        assert!(!redactor.finds(&scrubbed));
    }
});
