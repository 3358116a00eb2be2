//! What the server said about itself, and what follows from it: the greeting, the HELO / EHLO
//! (LHLO) replies and the extensions advertised, which decide the MAIL and RCPT arguments, how
//! the body travels and the SIZE rules.

use crate::error::{Error, ErrorKind, Result};
use crate::protocol::{check_esmtp_param, DsnPolicy, Features, TransactionParams};
use crate::reply::Reply;

use super::Transfer;

/// The greeting and the HELO / EHLO exchange of one connection.
#[derive(Debug, Default)]
pub struct Greetings {
    greeting: Option<Reply>,
    helo: Option<Reply>,
    ehlo: Option<Reply>,
    does_esmtp: bool,
    features: Features,
}

impl Greetings {
    /// A new connection: nothing said yet.
    pub fn reset(&mut self) {
        *self = Greetings::default();
    }

    /// Forget the HELO / EHLO results and the extensions (after QUIT, and after STARTTLS: what
    /// was advertised in plain text cannot be trusted); the greeting stays.
    pub fn forget_capabilities(&mut self) {
        *self = Greetings { greeting: self.greeting.take(), ..Greetings::default() };
    }

    /// The server's greeting: a 220 opens the session, anything else is
    /// [`ErrorKind::Connect`] (the driver closes the connection).
    pub fn on_greeting(&mut self, reply: Reply) -> Result<Reply> {
        self.greeting = Some(reply.clone());
        if reply.code() != 220 {
            return Err(Error::with_reply(ErrorKind::Connect, reply));
        }
        Ok(reply)
    }

    /// The verb that opens an ESMTP session: LHLO for LMTP, else EHLO.
    pub fn ehlo_verb(lmtp: bool) -> &'static str {
        if lmtp {
            "LHLO"
        } else {
            "EHLO"
        }
    }

    /// EHLO is going out: the extensions advertised before are forgotten whatever it gets.
    pub fn begin_ehlo(&mut self) {
        self.features = Features::default();
    }

    /// The reply to EHLO / LHLO: on 250 the session is ESMTP with the extensions it lists.
    pub fn on_ehlo(&mut self, reply: &Reply) {
        self.ehlo = Some(reply.clone());
        if reply.code() == 250 {
            self.does_esmtp = true;
            self.features = Features::parse(reply);
        }
    }

    /// The reply to HELO.
    pub fn on_helo(&mut self, reply: &Reply) {
        self.helo = Some(reply.clone());
    }

    /// Whether HELO or EHLO has been answered on this connection (whatever the answer).
    pub fn greeted(&self) -> bool {
        self.helo.is_some() || self.ehlo.is_some()
    }

    /// The server's greeting.
    pub fn greeting(&self) -> Option<&Reply> {
        self.greeting.as_ref()
    }

    /// The reply to the last HELO.
    pub fn helo(&self) -> Option<&Reply> {
        self.helo.as_ref()
    }

    /// The reply to the last EHLO / LHLO.
    pub fn ehlo(&self) -> Option<&Reply> {
        self.ehlo.as_ref()
    }

    /// Whether the server accepted EHLO / LHLO.
    pub fn does_esmtp(&self) -> bool {
        self.does_esmtp
    }

    /// The advertised extensions.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// Whether the server advertised `name` (any case).
    pub fn has_extn(&self, name: &str) -> bool {
        self.features.has(name)
    }

    /// MAIL (`is_mail`) or RCPT arguments: `args` (`FROM:<...>` / `TO:<...>`) with the checked
    /// `options`; `transaction_utf8`: the transaction's MAIL asked for SMTPUTF8. SMTPUTF8 on MAIL
    /// needs the extension advertised ([`ErrorKind::NotSupported`] otherwise), also after HELO or
    /// before any greeting: options would be dropped there, and a UTF-8 address must never go
    /// out without SMTPUTF8 (RFC 6531).
    pub fn envelope_args(
        &self,
        args: String,
        options: &[&str],
        is_mail: bool,
        transaction_utf8: bool,
    ) -> Result<String> {
        let utf8 = options.iter().any(|o| o.eq_ignore_ascii_case("smtputf8"));
        if is_mail && utf8 && !self.has_extn("smtputf8") {
            return Err(Error::new(ErrorKind::NotSupported, "SMTPUTF8 not supported by server"));
        }
        self.append_options(args, options, utf8 || transaction_utf8)
    }

    /// Append checked options to MAIL / RCPT arguments (only for an ESMTP server, as smtplib
    /// does); `utf8`: the transaction uses SMTPUTF8, without which a non-ASCII address is refused.
    pub fn append_options(&self, mut args: String, options: &[&str], utf8: bool) -> Result<String> {
        for o in options {
            check_esmtp_param(o)?;
        }
        if !args.is_ascii() && !utf8 {
            return Err(Error::invalid(
                "address is not ASCII: it needs the SMTPUTF8 option (send_message adds it when the server offers it)",
            ));
        }
        if self.does_esmtp {
            for o in options {
                args.push(' ');
                args.push_str(o);
            }
        }
        Ok(args)
    }

    /// How a body goes: BDAT when CHUNKING is offered and `chunking` allowed (BINARYMIME bodies
    /// as given), else DATA; BINARYMIME without CHUNKING is [`ErrorKind::NotSupported`].
    pub fn transfer(&self, chunking: bool, binary: bool) -> Result<Transfer> {
        match (chunking && self.has_extn("chunking"), binary) {
            (true, true) => Ok(Transfer::BdatBinary),
            (true, false) => Ok(Transfer::Bdat),
            (false, true) => {
                Err(Error::new(ErrorKind::NotSupported, "BODY=BINARYMIME needs CHUNKING, which is not available"))
            }
            (false, false) => Ok(Transfer::Data),
        }
    }

    /// The MAIL options of a transaction for a message of `size` octets (when known): for an
    /// ESMTP server, `SIZE=` when SIZE is offered, then the caller's, then the typed parameters
    /// of `params` (`RET=`, `ENVID=`, `REQUIRETLS`); a message over the advertised limit is
    /// [`ErrorKind::MessageTooLarge`] before anything is sent (RFC 1870). `tls`: the
    /// connection's TLS (`None` without, else whether the peer was verified). Before anything
    /// is sent, REQUIRETLS without verified TLS or not advertised is [`ErrorKind::TlsRequired`],
    /// and DSN settings for a server without DSN follow their policy (see
    /// [`Greetings::use_dsn`]).
    pub fn mail_options(
        &self,
        size: Option<u64>,
        mail_options: &[&str],
        params: &TransactionParams,
        tls: Option<bool>,
    ) -> Result<Vec<String>> {
        if params.requiretls {
            let refusal = match tls {
                None => Some("REQUIRETLS needs TLS, and the connection is not encrypted"),
                Some(false) => {
                    Some("REQUIRETLS needs TLS with a verified peer, and the server's certificate was not verified")
                }
                Some(true) if !self.has_extn("requiretls") => Some("REQUIRETLS is not advertised by the server"),
                Some(true) => None,
            };
            if let Some(why) = refusal {
                return Err(Error::new(ErrorKind::TlsRequired, format!("{why}: message not sent")));
            }
        }
        let dsn = self.use_dsn(params)?;
        let mut options = Vec::new();
        if !self.does_esmtp {
            return Ok(options);
        }
        if let (Some(size), Some(limit)) = (size, self.features.size_limit()) {
            if size > limit {
                return Err(Error::new(
                    ErrorKind::MessageTooLarge,
                    format!("message of {size} bytes exceeds the server's SIZE limit of {limit} bytes"),
                ));
            }
        }
        if let (Some(size), true) = (size, self.has_extn("size")) {
            options.push(format!("SIZE={size}"));
        }
        options.extend(mail_options.iter().map(|s| s.to_string()));
        if dsn {
            options.extend(params.dsn.mail_params());
        }
        if params.requiretls {
            options.push("REQUIRETLS".to_owned());
        }
        Ok(options)
    }

    /// Whether the DSN parameters of `params` go out: only when there are some and the server
    /// advertises DSN; when it does not, [`DsnPolicy::Require`] is [`ErrorKind::NotSupported`]
    /// (nothing sent) and [`DsnPolicy::Optional`] sends the message without them.
    pub fn use_dsn(&self, params: &TransactionParams) -> Result<bool> {
        if params.dsn.is_empty() {
            return Ok(false);
        }
        if self.has_extn("dsn") {
            return Ok(true);
        }
        match params.dsn.policy() {
            DsnPolicy::Require => Err(Error::new(
                ErrorKind::NotSupported,
                "DSN (delivery status notifications) not supported by server: message not sent",
            )),
            DsnPolicy::Optional => Ok(false),
        }
    }

    /// The RCPT options for `recipient`: the caller's, then its `NOTIFY=` and `ORCPT=` when
    /// DSN is in use ([`Greetings::use_dsn`]); `utf8`: the transaction uses SMTPUTF8.
    pub fn rcpt_options(
        &self,
        rcpt_options: &[&str],
        params: &TransactionParams,
        recipient: &str,
        utf8: bool,
    ) -> Result<Vec<String>> {
        let mut options: Vec<String> = rcpt_options.iter().map(|s| s.to_string()).collect();
        if self.use_dsn(params)? {
            options.extend(params.dsn.rcpt_params(recipient, utf8)?);
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ehlo(lines: &[&str]) -> Reply {
        Reply::new(250, lines.iter().map(|l| (*l).to_owned()).collect())
    }

    fn esmtp(lines: &[&str]) -> Greetings {
        let mut g = Greetings::default();
        g.on_greeting(Reply::new(220, vec!["mx ESMTP".into()])).unwrap();
        g.begin_ehlo();
        g.on_ehlo(&ehlo(lines));
        g
    }

    #[test]
    fn greeting_other_than_220_is_a_connect_error_and_kept() {
        let mut g = Greetings::default();
        let e = g.on_greeting(Reply::new(554, vec!["go away".into()])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect);
        assert_eq!(g.greeting().map(Reply::code), Some(554));
        assert!(!g.greeted());
    }

    #[test]
    fn ehlo_makes_the_session_esmtp_and_capabilities_are_forgotten_after_starttls() {
        let mut g = esmtp(&["mx", "PIPELINING", "SIZE 1000", "STARTTLS"]);
        assert!(g.greeted() && g.does_esmtp() && g.has_extn("pipelining") && g.has_extn("StartTLS"));
        g.forget_capabilities();
        assert!(!g.greeted() && !g.does_esmtp() && !g.has_extn("pipelining"));
        assert_eq!(g.greeting().map(Reply::code), Some(220));
        // a refused EHLO leaves nothing advertised
        g.begin_ehlo();
        g.on_ehlo(&Reply::new(502, vec!["no".into()]));
        assert!(g.greeted() && !g.does_esmtp());
        assert_eq!(Greetings::ehlo_verb(true), "LHLO");
    }

    #[test]
    fn options_go_only_to_an_esmtp_server_and_utf8_needs_smtputf8() {
        let g = esmtp(&["mx", "8BITMIME"]);
        assert_eq!(
            g.envelope_args("FROM:<a@x>".into(), &["BODY=8BITMIME"], true, false).unwrap(),
            "FROM:<a@x> BODY=8BITMIME"
        );
        let e = g.envelope_args("FROM:<a@x>".into(), &["SMTPUTF8"], true, false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSupported);
        let e = g.envelope_args("TO:<ü@x>".into(), &[], false, false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(g.envelope_args("TO:<ü@x>".into(), &[], false, true).is_ok());
        let mut helo = Greetings::default();
        helo.on_helo(&Reply::new(250, vec!["mx".into()]));
        assert_eq!(helo.envelope_args("FROM:<a@x>".into(), &["BODY=8BITMIME"], true, false).unwrap(), "FROM:<a@x>");
        // the one parameter check applies whatever the server
        assert!(helo.append_options("TO:<b@x>".into(), &["NOTIFY=NEVER\r\nRSET"], false).is_err());
    }

    #[test]
    fn transfer_and_size_follow_what_is_advertised() {
        let g = esmtp(&["mx", "CHUNKING", "SIZE 100"]);
        let none = TransactionParams::default();
        assert_eq!(g.transfer(true, false).unwrap(), Transfer::Bdat);
        assert_eq!(g.transfer(true, true).unwrap(), Transfer::BdatBinary);
        assert_eq!(g.transfer(false, false).unwrap(), Transfer::Data);
        assert_eq!(g.transfer(false, true).unwrap_err().kind(), ErrorKind::NotSupported);
        assert_eq!(g.mail_options(Some(40), &["BODY=8BITMIME"], &none, None).unwrap(), ["SIZE=40", "BODY=8BITMIME"]);
        assert_eq!(g.mail_options(Some(101), &[], &none, None).unwrap_err().kind(), ErrorKind::MessageTooLarge);
        assert_eq!(g.mail_options(None, &[], &none, None).unwrap(), Vec::<String>::new());
        let plain = esmtp(&["mx"]);
        assert_eq!(plain.mail_options(Some(40), &[], &none, None).unwrap(), Vec::<String>::new());
        assert_eq!(
            Greetings::default().mail_options(Some(40), &["BODY=8BITMIME"], &none, None).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn dsn_and_requiretls_go_only_where_advertised_and_verified() {
        use crate::protocol::{DsnRet, Notify};
        let mut p = TransactionParams::default();
        p.dsn.set_ret(Some(DsnRet::Full));
        p.dsn.set_envid(Some("id=1")).unwrap();
        p.dsn.set_notify("b@x", Some(Notify::NEVER)).unwrap();
        let g = esmtp(&["mx", "DSN", "SIZE", "REQUIRETLS"]);
        assert_eq!(
            g.mail_options(Some(3), &["BODY=8BITMIME"], &p, None).unwrap(),
            ["SIZE=3", "BODY=8BITMIME", "RET=FULL", "ENVID=id+3D1"]
        );
        assert_eq!(g.rcpt_options(&["X-Y"], &p, "B@x", false).unwrap(), ["X-Y", "NOTIFY=NEVER"]);
        assert_eq!(g.rcpt_options(&[], &p, "c@x", false).unwrap(), Vec::<String>::new());
        let bare = esmtp(&["mx"]);
        assert_eq!(bare.mail_options(None, &[], &p, None).unwrap_err().kind(), ErrorKind::NotSupported);
        assert_eq!(bare.rcpt_options(&[], &p, "b@x", false).unwrap_err().kind(), ErrorKind::NotSupported);
        let mut helo = Greetings::default();
        helo.on_helo(&Reply::new(250, vec!["mx".into()]));
        assert_eq!(helo.mail_options(None, &[], &p, None).unwrap_err().kind(), ErrorKind::NotSupported);
        p.dsn.set_policy(DsnPolicy::Optional);
        assert_eq!(bare.mail_options(None, &[], &p, None).unwrap(), Vec::<String>::new());
        assert_eq!(bare.rcpt_options(&[], &p, "b@x", false).unwrap(), Vec::<String>::new());

        let tls = TransactionParams { requiretls: true, ..TransactionParams::default() };
        assert_eq!(g.mail_options(None, &[], &tls, Some(true)).unwrap(), ["REQUIRETLS"]);
        for (greetings, verified) in [(&g, None), (&g, Some(false)), (&bare, Some(true))] {
            let e = greetings.mail_options(None, &[], &tls, verified).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::TlsRequired, "{verified:?}");
        }
    }
}
