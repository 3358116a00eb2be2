//! Typed ESMTP parameters of one transaction beyond smtplib's option strings: delivery status
//! notifications (DSN, RFC 3461: `RET` and `ENVID` on MAIL, `NOTIFY` and `ORCPT` per
//! recipient) and REQUIRETLS (RFC 8689). Values are checked when they are set and again, with
//! the transaction's recipients and raw options, before anything of the transaction is sent;
//! the wire form (xtext, RFC 3461 §4; the `utf-8` address type of RFC 6533) is made here only.

use crate::error::{Error, Result};

/// The longest ENVID value on the wire, after xtext encoding (RFC 3461 §4.4).
pub const MAX_ENVID: usize = 100;

/// The longest ORCPT value on the wire, address type included (RFC 3461 §4.2).
pub const MAX_ORCPT: usize = 500;

/// RFC 3461 §4 xtext: every character outside `!`..`~`, and `+` and `=`, as `+` and two
/// upper-case hex digits of each of its octets.
pub fn xtext(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// The value an xtext stands for; [`crate::error::ErrorKind::InvalidArgument`] for anything
/// that is not xtext (a character outside `!`..`~`, `=`, a `+` not followed by two upper-case
/// hex digits, or octets that are not UTF-8).
pub fn xtext_decode(text: &str) -> Result<String> {
    let bad = || Error::invalid(format!("not xtext: {text:?}"));
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                if !hex.iter().all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h)) {
                    return Err(bad());
                }
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 3;
            }
            b'=' => return Err(bad()),
            b if (b'!'..=b'~').contains(&b) => {
                out.push(b);
                i += 1;
            }
            _ => return Err(bad()),
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// An original recipient address as the ORCPT value: `rfc822;` and its xtext for an ASCII
/// address; `utf-8;` (RFC 6533 §3) otherwise, with the non-ASCII characters as they are when
/// the transaction uses SMTPUTF8 (`utf-8-addr-unitext`) or as `\x{HEX}` when it does not
/// (`utf-8-addr-xtext`), and SP, `+`, `=`, `\` and controls always as `\x{HEX}`.
pub fn orcpt_value(address: &str, smtputf8: bool) -> String {
    if address.is_ascii() {
        return format!("rfc822;{}", xtext(address));
    }
    let mut out = String::from("utf-8;");
    for c in address.chars() {
        let plain = matches!(c, '!'..='~') && !matches!(c, '+' | '=' | '\\');
        if plain || (smtputf8 && !c.is_ascii()) {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{{{:02X}}}", u32::from(c)));
        }
    }
    out
}

/// What a DSN returns of the message on failure (`RET=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnRet {
    /// The whole message (`RET=FULL`).
    Full,
    /// Only the headers (`RET=HDRS`).
    Headers,
}

/// The conditions for a notification about one recipient (`NOTIFY=`): [`Notify::NEVER`]
/// alone, or any union of SUCCESS, FAILURE and DELAY. The bits are the C API's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notify(u32);

impl Notify {
    /// Notify when the message is delivered.
    pub const SUCCESS: Notify = Notify(1);
    /// Notify when delivery fails.
    pub const FAILURE: Notify = Notify(2);
    /// Notify when delivery is delayed.
    pub const DELAY: Notify = Notify(4);
    /// Never notify; combines with nothing.
    pub const NEVER: Notify = Notify(8);

    /// The conditions of `bits`: [`ErrorKind::InvalidArgument`](crate::error::ErrorKind) for
    /// none, an unknown bit, or NEVER with another.
    pub fn from_bits(bits: u32) -> Result<Notify> {
        if bits == 0 {
            return Err(Error::invalid("NOTIFY needs NEVER or at least one of SUCCESS, FAILURE, DELAY"));
        }
        if bits & !0xf != 0 {
            return Err(Error::invalid(format!("NOTIFY flags {bits:#x} hold an unknown bit")));
        }
        if bits & Notify::NEVER.0 != 0 && bits != Notify::NEVER.0 {
            return Err(Error::invalid("NOTIFY=NEVER cannot be combined with SUCCESS, FAILURE or DELAY"));
        }
        Ok(Notify(bits))
    }

    /// The bits (the C API's flags).
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether every condition of `other` is in `self`.
    pub fn contains(self, other: Notify) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two sets of conditions (checked: NEVER combines with nothing).
    pub fn union(self, other: Notify) -> Result<Notify> {
        Notify::from_bits(self.0 | other.0)
    }

    /// The parameter value: `NEVER`, or the conditions comma-separated in RFC order.
    pub fn value(self) -> String {
        if self == Notify::NEVER {
            return "NEVER".to_owned();
        }
        let names = [(Notify::SUCCESS, "SUCCESS"), (Notify::FAILURE, "FAILURE"), (Notify::DELAY, "DELAY")];
        names.iter().filter(|(n, _)| self.contains(*n)).map(|(_, s)| *s).collect::<Vec<_>>().join(",")
    }
}

/// What to do when the server does not advertise DSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DsnPolicy {
    /// Fail before MAIL with [`ErrorKind::NotSupported`](crate::error::ErrorKind), nothing of
    /// the transaction sent. The default.
    #[default]
    Require,
    /// Send the message without the DSN parameters.
    Optional,
}

/// The DSN settings of one recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecipientDsn {
    /// `NOTIFY=` (none: the server's default, FAILURE or FAILURE,DELAY).
    pub notify: Option<Notify>,
    /// The original recipient address, sent as `ORCPT=` (encoded at send time).
    pub orcpt: Option<String>,
}

/// Delivery status notification parameters of a transaction (RFC 3461).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dsn {
    ret: Option<DsnRet>,
    envid: Option<String>,
    recipients: Vec<(String, RecipientDsn)>,
    policy: DsnPolicy,
}

/// Whether an ESMTP option string has `keyword` (any case).
fn has_keyword(options: &[&str], keyword: &str) -> bool {
    options.iter().any(|o| o.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case(keyword)))
}

/// Printable ASCII (graphic and space), as ENVID and an ASCII ORCPT must be (RFC 3461 §4).
fn check_printable(what: &str, value: &str, ascii_only: bool) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if value.chars().any(|c| c.is_control() || (ascii_only && !c.is_ascii())) {
        let rule = if ascii_only { "printable ASCII" } else { "printable characters" };
        return Err(Error::invalid(format!("{what} must be {rule}: {value:?}")));
    }
    Ok(())
}

impl Dsn {
    /// `RET=` on MAIL (`None`: not sent).
    pub fn set_ret(&mut self, ret: Option<DsnRet>) {
        self.ret = ret;
    }

    /// The envelope identifier sent as `ENVID=` (`None`: not sent): printable ASCII, at most
    /// [`MAX_ENVID`] characters once xtext-encoded ([`ErrorKind::InvalidArgument`](crate::error::ErrorKind)
    /// otherwise, the setting unchanged).
    pub fn set_envid(&mut self, envid: Option<&str>) -> Result<()> {
        if let Some(e) = envid {
            check_printable("ENVID", e, true)?;
            let encoded = xtext(e).len();
            if encoded > MAX_ENVID {
                return Err(Error::invalid(format!(
                    "ENVID is {encoded} characters as xtext, more than the {MAX_ENVID} RFC 3461 allows"
                )));
            }
        }
        self.envid = envid.map(str::to_owned);
        Ok(())
    }

    /// What happens when the server does not advertise DSN.
    pub fn set_policy(&mut self, policy: DsnPolicy) {
        self.policy = policy;
    }

    /// The policy for a server without DSN.
    pub fn policy(&self) -> DsnPolicy {
        self.policy
    }

    fn recipient_mut(&mut self, recipient: &str) -> Result<&mut RecipientDsn> {
        check_printable("DSN recipient", recipient, false)?;
        let at = match self.recipients.iter().position(|(a, _)| a.eq_ignore_ascii_case(recipient)) {
            Some(i) => i,
            None => {
                self.recipients.push((recipient.to_owned(), RecipientDsn::default()));
                self.recipients.len() - 1
            }
        };
        Ok(&mut self.recipients[at].1)
    }

    fn prune(&mut self) {
        self.recipients.retain(|(_, r)| *r != RecipientDsn::default());
    }

    /// `NOTIFY=` for the recipient `recipient` (the address as given to the send, compared
    /// ignoring ASCII case; `None`: the server's default).
    pub fn set_notify(&mut self, recipient: &str, notify: Option<Notify>) -> Result<()> {
        self.recipient_mut(recipient)?.notify = notify;
        self.prune();
        Ok(())
    }

    /// `ORCPT=` for the recipient `recipient`: the original address (printable, no control
    /// character; non-ASCII goes as RFC 6533's `utf-8` type), at most [`MAX_ORCPT`] characters
    /// on the wire. `None`: not sent.
    pub fn set_orcpt(&mut self, recipient: &str, original: Option<&str>) -> Result<()> {
        if let Some(o) = original {
            check_printable("ORCPT address", o, false)?;
            let len = orcpt_value(o, false).len();
            if len > MAX_ORCPT {
                return Err(Error::invalid(format!(
                    "ORCPT is {len} characters encoded, more than the {MAX_ORCPT} RFC 3461 allows"
                )));
            }
        }
        self.recipient_mut(recipient)?.orcpt = original.map(str::to_owned);
        self.prune();
        Ok(())
    }

    /// Whether anything is set (a transaction without DSN parameters ignores the policy).
    pub fn is_empty(&self) -> bool {
        self.ret.is_none() && self.envid.is_none() && self.recipients.is_empty()
    }

    /// The settings of `recipient` (compared ignoring ASCII case).
    pub fn recipient(&self, recipient: &str) -> Option<&RecipientDsn> {
        self.recipients.iter().find(|(a, _)| a.eq_ignore_ascii_case(recipient)).map(|(_, r)| r)
    }

    /// The parameters for MAIL: `RET=`, then `ENVID=`.
    pub fn mail_params(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.ret {
            Some(DsnRet::Full) => out.push("RET=FULL".to_owned()),
            Some(DsnRet::Headers) => out.push("RET=HDRS".to_owned()),
            None => {}
        }
        if let Some(e) = &self.envid {
            out.push(format!("ENVID={}", xtext(e)));
        }
        out
    }

    /// The parameters for the RCPT of `recipient`: `NOTIFY=`, then `ORCPT=` (its `utf-8` form
    /// depends on whether the transaction uses SMTPUTF8).
    pub fn rcpt_params(&self, recipient: &str, smtputf8: bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let Some(r) = self.recipient(recipient) else { return Ok(out) };
        if let Some(n) = r.notify {
            out.push(format!("NOTIFY={}", n.value()));
        }
        if let Some(o) = &r.orcpt {
            let value = orcpt_value(o, smtputf8);
            if value.len() > MAX_ORCPT {
                return Err(Error::invalid(format!(
                    "ORCPT is {} characters encoded, more than the {MAX_ORCPT} RFC 3461 allows",
                    value.len()
                )));
            }
            out.push(format!("ORCPT={value}"));
        }
        Ok(out)
    }
}

/// The typed parameters of one transaction: DSN and REQUIRETLS. The default sends neither.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionParams {
    /// Delivery status notifications (RFC 3461).
    pub dsn: Dsn,
    /// Send `REQUIRETLS` on MAIL (RFC 8689): only over TLS whose peer was verified and to a
    /// server that advertises it, else the transaction fails before MAIL.
    pub requiretls: bool,
}

impl TransactionParams {
    /// Check the parameters against raw option strings: a parameter given both typed and as a
    /// raw option (`RET`, `ENVID`, `REQUIRETLS` on MAIL; `NOTIFY`, `ORCPT` on RCPT) is
    /// [`ErrorKind::InvalidArgument`](crate::error::ErrorKind), never sent twice.
    pub fn check_options(&self, mail_options: &[&str], rcpt_options: &[&str]) -> Result<()> {
        let conflicts = [
            (self.dsn.ret.is_some(), "RET", mail_options),
            (self.dsn.envid.is_some(), "ENVID", mail_options),
            (self.requiretls, "REQUIRETLS", mail_options),
            (self.dsn.recipients.iter().any(|(_, r)| r.notify.is_some()), "NOTIFY", rcpt_options),
            (self.dsn.recipients.iter().any(|(_, r)| r.orcpt.is_some()), "ORCPT", rcpt_options),
        ];
        for (typed, keyword, options) in conflicts {
            if typed && has_keyword(options, keyword) {
                return Err(Error::invalid(format!(
                    "{keyword} is set both as a DSN/REQUIRETLS setting and as a raw ESMTP option"
                )));
            }
        }
        Ok(())
    }

    /// Everything checked before a transaction to `to` sends a byte: the raw options (see
    /// [`TransactionParams::check_options`]) and that every recipient with DSN settings is
    /// one of `to` (compared ignoring ASCII case), so that a misspelt address is not silently
    /// left without its settings.
    pub fn check(&self, to: &[&str], mail_options: &[&str], rcpt_options: &[&str]) -> Result<()> {
        self.check_options(mail_options, rcpt_options)?;
        for (address, _) in &self.dsn.recipients {
            if !to.iter().any(|r| r.eq_ignore_ascii_case(address)) {
                return Err(Error::invalid(format!(
                    "DSN settings for {address:?}, which is not a recipient of this message"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn xtext_round_trips_and_encodes_exactly_what_rfc_3461_says() {
        assert_eq!(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(xtext("<x@y>!~"), "<x@y>!~");
        assert_eq!(xtext("é"), "+C3+A9");
        for s in ["", "plain", "a+b=c d", "tab\there", "ünï ☃", "+2B", "\u{7f}\u{1}"] {
            assert_eq!(xtext_decode(&xtext(s)).unwrap(), s);
        }
        for bad in ["a b", "a=b", "+2", "+2b", "+GG", "+C3", "é"] {
            assert_eq!(xtext_decode(bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn orcpt_uses_rfc822_for_ascii_and_utf8_with_its_escapes() {
        assert_eq!(orcpt_value("bob+tag@example.test", false), "rfc822;bob+2Btag@example.test");
        assert_eq!(orcpt_value("jörg+x@example.test", true), "utf-8;jörg\\x{2B}x@example.test");
        assert_eq!(orcpt_value("jörg@example.test", false), "utf-8;j\\x{F6}rg@example.test");
        assert_eq!(orcpt_value("☃ \\@x", false), "utf-8;\\x{2603}\\x{20}\\x{5C}@x");
    }

    #[test]
    fn notify_flags_are_checked() {
        assert_eq!(Notify::from_bits(1 | 2 | 4).unwrap().value(), "SUCCESS,FAILURE,DELAY");
        assert_eq!(Notify::from_bits(4 | 2).unwrap().value(), "FAILURE,DELAY");
        assert_eq!(Notify::from_bits(8).unwrap().value(), "NEVER");
        for bad in [0, 8 | 1, 8 | 4, 16, 1 | 32] {
            assert_eq!(Notify::from_bits(bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad}");
        }
        assert!(Notify::NEVER.union(Notify::SUCCESS).is_err());
        assert_eq!(Notify::SUCCESS.union(Notify::DELAY).unwrap().bits(), 5);
    }

    #[test]
    fn dsn_settings_are_checked_when_set_and_against_the_transaction() {
        let mut d = Dsn::default();
        d.set_envid(Some(&"e".repeat(100))).unwrap();
        assert!(d.set_envid(Some(&"e".repeat(101))).is_err());
        // the limit is on the encoded form: 34 spaces are 102 characters of xtext
        assert!(d.set_envid(Some(&" ".repeat(34))).is_err());
        assert!(d.set_envid(Some("é")).is_err());
        assert!(d.set_envid(Some("a\r\nRSET")).is_err());
        assert_eq!(d.mail_params(), [format!("ENVID={}", "e".repeat(100))]);
        d.set_ret(Some(DsnRet::Headers));
        d.set_envid(Some("id 1+2")).unwrap();
        assert_eq!(d.mail_params(), ["RET=HDRS", "ENVID=id+201+2B2"]);
        d.set_notify("Bob@Example.test", Some(Notify::SUCCESS)).unwrap();
        d.set_orcpt("bob@example.test", Some("orig@example.test")).unwrap();
        assert_eq!(
            d.rcpt_params("BOB@example.test", false).unwrap(),
            ["NOTIFY=SUCCESS", "ORCPT=rfc822;orig@example.test"]
        );
        assert!(d.rcpt_params("carol@example.test", false).unwrap().is_empty());
        assert!(d.set_orcpt("bob@example.test", Some(&"o".repeat(500))).is_err());
        assert!(d.set_orcpt("bob@example.test", Some("a\nb")).is_err());
        let p = TransactionParams { dsn: d.clone(), requiretls: true };
        p.check(&["bob@example.test"], &["BODY=8BITMIME"], &[]).unwrap();
        assert!(p.check(&["carol@example.test"], &[], &[]).is_err());
        for (mail, rcpt) in [
            (&["ret=FULL"][..], &[][..]),
            (&["ENVID=x"], &[]),
            (&["REQUIRETLS"], &[]),
            (&[], &["notify=NEVER"]),
            (&[], &["ORCPT=rfc822;x"]),
        ] {
            assert_eq!(
                p.check_options(mail, rcpt).unwrap_err().kind(),
                ErrorKind::InvalidArgument,
                "{mail:?} {rcpt:?}"
            );
        }
        // clearing a recipient's last setting forgets the recipient
        d.set_notify("bob@example.test", None).unwrap();
        d.set_orcpt("bob@example.test", None).unwrap();
        d.set_ret(None);
        d.set_envid(None).unwrap();
        assert!(d.is_empty());
    }
}
