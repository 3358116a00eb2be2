//! Deadlines that apply: one limit per phase of the conversation (RFC 5321 §4.5.3.2 names the
//! server's phases and the time a client should give each), and one total per operation.
//!
//! The client knows the phase of every wait (it knows which command it awaits the reply to),
//! so each write and each reply owed carries its [`Phase`]; the [`Timeouts`] table gives the
//! phase its limit. An operation's total ([`Link`](super::Link)) bounds every wait of the
//! operation as well: whichever deadline comes first ends the wait, and the timeout message
//! says which limit applied ([`Deadline::describe`]).

use std::time::{Duration, Instant};

/// A phase of the conversation, each with its own limit in [`Timeouts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Opening the connection (name resolution included).
    Connect,
    /// A TLS handshake (implicit TLS, or after STARTTLS).
    TlsHandshake,
    /// Waiting for the server's greeting (RFC 5321: "Initial 220 Message", 5 minutes).
    Greeting,
    /// EHLO, LHLO or HELO and its reply.
    Ehlo,
    /// MAIL and its reply (RFC 5321: "MAIL Command", 5 minutes).
    Mail,
    /// RCPT and its reply (RFC 5321: "RCPT Command", 5 minutes).
    Rcpt,
    /// DATA and its 354 reply (RFC 5321: "DATA Initiation", 2 minutes).
    Data,
    /// Each write of the message, and the reply to each BDAT chunk but the last (RFC 5321:
    /// "Data Block", 3 minutes).
    DataBlock,
    /// The reply (LMTP: the replies) to the end of the message (RFC 5321: "DATA
    /// Termination", 10 minutes).
    DataEnd,
    /// Every other command and its reply (STARTTLS, AUTH, RSET, NOOP, QUIT, VRFY...).
    Other,
}

/// How many phases there are.
const PHASES: usize = 10;

/// Every phase, in the order of the C API's `smtp_phase` values.
#[cfg(test)]
pub(crate) const ALL_PHASES: [Phase; PHASES] = [
    Phase::Connect,
    Phase::TlsHandshake,
    Phase::Greeting,
    Phase::Ehlo,
    Phase::Mail,
    Phase::Rcpt,
    Phase::Data,
    Phase::DataBlock,
    Phase::DataEnd,
    Phase::Other,
];

impl Phase {
    fn index(self) -> usize {
        self as usize
    }

    /// The phase of a command by its verb (any case): MAIL, RCPT, DATA, BDAT (a data block),
    /// EHLO / LHLO / HELO, or [`Phase::Other`].
    pub fn of_command(verb: &str) -> Phase {
        const NAMED: [(&str, Phase); 7] = [
            ("MAIL", Phase::Mail),
            ("RCPT", Phase::Rcpt),
            ("DATA", Phase::Data),
            ("BDAT", Phase::DataBlock),
            ("EHLO", Phase::Ehlo),
            ("LHLO", Phase::Ehlo),
            ("HELO", Phase::Ehlo),
        ];
        NAMED.iter().find(|(v, _)| v.eq_ignore_ascii_case(verb)).map_or(Phase::Other, |(_, p)| *p)
    }

    /// The phase as timeout messages name it: "connect", "TLS handshake", "greeting",
    /// "EHLO", "MAIL", "RCPT", "DATA", "data block", "final reply", "command".
    pub fn name(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::TlsHandshake => "TLS handshake",
            Phase::Greeting => "greeting",
            Phase::Ehlo => "EHLO",
            Phase::Mail => "MAIL",
            Phase::Rcpt => "RCPT",
            Phase::Data => "DATA",
            Phase::DataBlock => "data block",
            Phase::DataEnd => "final reply",
            Phase::Other => "command",
        }
    }
}

/// RFC 5321 §4.5.3.2's values for the phases it names.
const RFC5321_TIMEOUTS: [(Phase, Duration); 6] = [
    (Phase::Greeting, Duration::from_secs(5 * 60)),
    (Phase::Mail, Duration::from_secs(5 * 60)),
    (Phase::Rcpt, Duration::from_secs(5 * 60)),
    (Phase::Data, Duration::from_secs(2 * 60)),
    (Phase::DataBlock, Duration::from_secs(3 * 60)),
    (Phase::DataEnd, Duration::from_secs(10 * 60)),
];

/// The limit of each [`Phase`] (`None`: no limit). A write has its phase's limit from its last
/// progress, a reply from the moment the client began waiting for it, an opening and a TLS
/// handshake from their start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    limits: [Option<Duration>; PHASES],
}

impl Timeouts {
    /// The same limit for every phase.
    pub fn uniform(limit: Option<Duration>) -> Self {
        Timeouts { limits: [limit; PHASES] }
    }

    /// The limit of `phase`.
    pub fn get(&self, phase: Phase) -> Option<Duration> {
        self.limits[phase.index()]
    }

    /// Set the limit of `phase` (`None`: no limit).
    pub fn set(&mut self, phase: Phase, limit: Option<Duration>) {
        self.limits[phase.index()] = limit;
    }

    /// Set the phases RFC 5321 §4.5.3.2 names to its values (greeting, MAIL and RCPT 5
    /// minutes, DATA initiation 2, each data block 3, DATA termination 10); the others
    /// (connect, TLS handshake, EHLO, other commands) keep theirs.
    pub fn apply_rfc5321(&mut self) {
        for (phase, limit) in RFC5321_TIMEOUTS {
            self.set(phase, Some(limit));
        }
    }
}

/// The deadline of the wait under way and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When the wait times out.
    pub at: Instant,
    /// The phase of the wait.
    pub phase: Phase,
    /// The limit that sets `at`: the phase's, or the operation's total.
    pub limit: Duration,
    /// Whether `at` is the operation's total deadline (nearer than the phase's).
    pub total: bool,
}

impl Deadline {
    /// The nearer of the phase's deadline (`phase_limit` from `since`) and the operation's
    /// (`total`: its deadline and limit); `None` when neither applies.
    pub fn nearest(
        phase: Phase,
        since: Instant,
        phase_limit: Option<Duration>,
        total: Option<(Instant, Duration)>,
    ) -> Option<Deadline> {
        let own = phase_limit.map(|limit| Deadline { at: since + limit, phase, limit, total: false });
        let whole = total.map(|(at, limit)| Deadline { at, phase, limit, total: true });
        match (own, whole) {
            (Some(o), Some(w)) => Some(if w.at < o.at { w } else { o }),
            (o, w) => o.or(w),
        }
    }

    /// What a timeout message adds: the phase and the limit that applied, e.g. "during RCPT
    /// (the RCPT timeout)", "during a data block (the operation timeout)".
    pub fn describe(&self) -> String {
        let during = match self.phase {
            Phase::Connect | Phase::Ehlo | Phase::Mail | Phase::Rcpt | Phase::Data => self.phase.name().to_owned(),
            Phase::DataBlock | Phase::Other => format!("a {}", self.phase.name()),
            Phase::TlsHandshake | Phase::Greeting | Phase::DataEnd => format!("the {}", self.phase.name()),
        };
        let which = if self.total { "operation" } else { self.phase.name() };
        format!("during {during} (the {which} timeout)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearer_deadline_applies_and_says_so() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let d = Deadline::nearest(Phase::Rcpt, t0, Some(s(5)), Some((t0 + s(3), s(9)))).unwrap();
        assert_eq!((d.at, d.limit, d.total), (t0 + s(3), s(9), true));
        assert_eq!(d.describe(), "during RCPT (the operation timeout)");
        let d = Deadline::nearest(Phase::DataBlock, t0, Some(s(2)), Some((t0 + s(3), s(9)))).unwrap();
        assert_eq!((d.at, d.limit, d.total), (t0 + s(2), s(2), false));
        assert_eq!(d.describe(), "during a data block (the data block timeout)");
        let d = Deadline::nearest(Phase::DataEnd, t0, None, Some((t0 + s(3), s(9)))).unwrap();
        assert!(d.total && d.describe() == "during the final reply (the operation timeout)");
        assert_eq!(Deadline::nearest(Phase::Mail, t0, None, None), None);
    }

    #[test]
    fn the_rfc5321_preset_sets_the_phases_it_names() {
        let mut t = Timeouts::uniform(Some(Duration::from_secs(60)));
        t.apply_rfc5321();
        let minutes = |p| t.get(p).map(|d: Duration| d.as_secs() / 60);
        assert_eq!(
            ALL_PHASES.map(minutes),
            [Some(1), Some(1), Some(5), Some(1), Some(5), Some(5), Some(2), Some(3), Some(10), Some(1)]
        );
    }

    #[test]
    fn commands_have_their_phase() {
        assert_eq!(Phase::of_command("mail"), Phase::Mail);
        assert_eq!(Phase::of_command("LHLO"), Phase::Ehlo);
        assert_eq!(Phase::of_command("BDAT"), Phase::DataBlock);
        assert_eq!(Phase::of_command("STARTTLS"), Phase::Other);
        assert!(ALL_PHASES.iter().enumerate().all(|(i, p)| p.index() == i));
    }
}
