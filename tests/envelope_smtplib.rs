//! `send_message`'s envelope against smtplib's own: for each header shape, Python 3's smtplib
//! (`tests/smtplib/send_message.py`, the message parsed with `email.policy.default`, the policy
//! smtplib needs for UTF-8 addresses and the one that unfolds quoted names correctly) and the
//! library send the same message to the same scripted server, and the MAIL / RCPT lines each wrote are compared, with each other and with
//! the envelope the table expects. Where the library deliberately differs (it refuses what
//! cannot be sent safely, and sends no `RCPT TO:<>` for an empty address) the table says so
//! and why, and the test asserts both sides of the difference.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use smtpclient::session::SessionKind;
use smtpclient::ErrorKind;
use support::{ehlo_reply, ScriptResult, ScriptedServer, Step, TempDir};

/// What one client does with a message.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// MAIL FROM with this sender (and these options), then RCPT TO for each recipient. An
    /// empty recipient is refused by the server (as a real one refuses `RCPT TO:<>`); when no
    /// recipient is accepted the client must RSET.
    Sends { from: &'static str, to: &'static [&'static str] },
    /// Nothing of the transaction is sent; the error message contains this text.
    Refuses(&'static str),
}

use Outcome::{Refuses, Sends};

struct Case {
    name: &'static str,
    msg: &'static str,
    smtplib: Outcome,
    /// `None`: the library does exactly what smtplib does. `Some((outcome, why))`: a
    /// deliberate difference and its reason.
    library: Option<(Outcome, &'static str)>,
}

const EMPTY_RCPT: &str =
    "smtplib sends an empty address as RCPT TO:<>, which servers refuse; the library sends no RCPT for it";
const AMBIGUOUS: &str = "the field does not parse one way only: smtplib's lenient parser guesses (CVE-2023-27043 class; CPython's strict mode refuses it too), the library refuses rather than send to a guessed address";

const CASES: &[Case] = &[
    Case {
        name: "display names, quoted with a comma",
        msg: "From: Alice Example <alice@example.test>\r\nTo: Bob <bob@example.test>, \"Doe, Carol\" <carol@example.test>\r\nSubject: s\r\n\r\nbody\r\n",
        smtplib: Sends { from: "alice@example.test", to: &["bob@example.test", "carol@example.test"] },
        library: None,
    },
    Case {
        name: "obsolete phrase with dots, angle address with spaces",
        msg: "From: Alice Q. Public < alice@example.test >\r\nTo: J. R. Bob <bob@example.test>\r\n\r\nbody\r\n",
        smtplib: Sends { from: "alice@example.test", to: &["bob@example.test"] },
        library: None,
    },
    Case {
        name: "quoted local parts",
        msg: "From: \"john doe\"@example.test\r\nTo: \"a\\\"b\"@example.test, Q <\"a\\\\b\"@example.test>, \"plain\"@example.test, \"a\\b\"@example.test\r\n\r\nbody\r\n",
        smtplib: Sends {
            from: "\"john doe\"@example.test",
            to: &["\"a\\\"b\"@example.test", "\"a\\\\b\"@example.test", "plain@example.test", "ab@example.test"],
        },
        library: None,
    },
    Case {
        name: "comments",
        msg: "From: (the boss) alice@example.test (home)\r\nTo: bob(c)@(d)example.test, Carol (work (nested)) <carol@example.test>, dave @ example.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "alice@example.test", to: &["bob@example.test", "carol@example.test", "dave@example.test"] },
        library: None,
    },
    Case {
        name: "groups",
        msg: "From: f@example.test\r\nTo: Team: a@example.test, Bob <b@example.test>;, c@example.test\r\nCc: \"Empty Team\": ;\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["a@example.test", "b@example.test", "c@example.test", ""] },
        library: Some((Sends { from: "f@example.test", to: &["a@example.test", "b@example.test", "c@example.test"] }, EMPTY_RCPT)),
    },
    Case {
        name: "undisclosed-recipients with Bcc",
        msg: "From: f@example.test\r\nTo: undisclosed-recipients:;\r\nBcc: hidden@example.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["", "hidden@example.test"] },
        library: Some((Sends { from: "f@example.test", to: &["hidden@example.test"] }, EMPTY_RCPT)),
    },
    Case {
        name: "names without a domain",
        msg: "From: MAILER-DAEMON\r\nTo: John, Dinsdale\r\nCc: Martha <my_mom@great.cooker.com>, Jeff\r\n\r\nbody\r\n",
        smtplib: Sends { from: "MAILER-DAEMON", to: &["John", "Dinsdale", "my_mom@great.cooker.com", "Jeff"] },
        library: None,
    },
    Case {
        name: "an unquoted comma in a display name: two addresses",
        msg: "From: f@example.test\r\nTo: Doe, John <j@example.test>\r\nCc: Postmaster <postmaster>\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["Doe", "j@example.test", "postmaster"] },
        library: None,
    },
    Case {
        name: "encoded words",
        msg: "From: =?utf-8?q?J=C3=B6rg?= <jorg@example.test>\r\nTo: =?utf-8?b?SsO2cmc=?= =?utf-8?q?M=C3=BCller?= <j@example.test>, =?iso-8859-1?q?Doe=2C_John?= <d@example.test>\r\n\r\nbody\r\n",
        smtplib: Sends { from: "jorg@example.test", to: &["j@example.test", "d@example.test"] },
        library: None,
    },
    Case {
        name: "folded headers, CRLF",
        msg: "From:\r\n\tAlice\r\n <alice@example.test>\r\nTo: a@example.test,\r\n  \"Doe,\r\n John\" <j@example.test>,\r\n\tc@example.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "alice@example.test", to: &["a@example.test", "j@example.test", "c@example.test"] },
        library: None,
    },
    Case {
        name: "folded headers, LF",
        msg: "From: Alice\n <alice@example.test>\nTo: a@example.test,\n b@example.test\n\nbody\n",
        smtplib: Sends { from: "alice@example.test", to: &["a@example.test", "b@example.test"] },
        library: None,
    },
    Case {
        name: "several headers of a kind: the first counts",
        msg: "From: f1@example.test\r\nTo: t1@example.test\r\nFrom: f2@example.test\r\nCc: c1@example.test\r\nTo: t2@example.test\r\nCc: c2@example.test\r\nBcc: b1@example.test\r\nBcc: b2@example.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f1@example.test", to: &["t1@example.test", "b1@example.test", "c1@example.test"] },
        library: None,
    },
    Case {
        name: "Sender over From",
        msg: "From: Bernard <bernard@example.test>\r\nSender: the_rescuers@rescue-aid-society.example\r\nTo: John <foo@example.test>\r\n\r\nbody\r\n",
        smtplib: Sends { from: "the_rescuers@rescue-aid-society.example", to: &["foo@example.test"] },
        library: None,
    },
    Case {
        name: "one Resent block",
        msg: "From: Bernard <bernard@example.test>\r\nTo: John <foo@example.test>\r\nCc: cc@example.test\r\nResent-Date: Thu, 1 Jan 1970 17:42:00 +0000\r\nResent-From: holy@grail.example\r\nResent-To: Martha <my_mom@great.cooker.com>, jeff@example.test\r\nResent-Bcc: doe@losthope.example\r\n\r\nbody\r\n",
        smtplib: Sends { from: "holy@grail.example", to: &["my_mom@great.cooker.com", "jeff@example.test", "doe@losthope.example"] },
        library: None,
    },
    Case {
        name: "two Resent blocks",
        msg: "From: f@example.test\r\nTo: t@example.test\r\nResent-Date: a\r\nResent-From: a@example.test\r\nResent-To: b@example.test\r\nResent-Date: b\r\nResent-From: c@example.test\r\nResent-To: d@example.test\r\n\r\nbody\r\n",
        smtplib: Refuses("more than one 'Resent-' header block"),
        library: None,
    },
    Case {
        name: "empty To beside a Cc",
        msg: "From: f@example.test\r\nTo:\r\nCc: c@example.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["", "c@example.test"] },
        library: Some((Sends { from: "f@example.test", to: &["c@example.test"] }, EMPTY_RCPT)),
    },
    Case {
        name: "empty list elements and <>",
        msg: "From: f@example.test\r\nTo: a@example.test, , b@example.test\r\nCc: Nobody <>\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["a@example.test", "b@example.test", ""] },
        library: Some((Sends { from: "f@example.test", to: &["a@example.test", "b@example.test"] }, EMPTY_RCPT)),
    },
    Case {
        name: "explicit null sender",
        msg: "From: MAILER-DAEMON <>\r\nTo: t@example.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "", to: &["t@example.test"] },
        library: None,
    },
    Case {
        name: "empty From",
        msg: "From:\r\nTo: t@example.test\r\n\r\nbody\r\n",
        smtplib: Refuses("IndexError"),
        library: Some((Refuses("From header has no address"), "both refuse; write <> for the null sender")),
    },
    Case {
        name: "no From at all",
        msg: "To: t@example.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "None", to: &["t@example.test"] },
        library: Some((Refuses("message has no Sender or From header"), "smtplib sends the text 'None' as the sender")),
    },
    Case {
        name: "no recipient header",
        msg: "From: f@example.test\r\nSubject: s\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &[] },
        library: Some((Refuses("no recipients"), "a transaction without recipients is refused before MAIL")),
    },
    Case {
        name: "odd but legal characters",
        msg: "From: user+tag@sub.example.test\r\nTo: !#$%&'*+-/=?^_`{|}~@example.test, a..b@docomo.example, abc.@docomo.example, a@[192.0.2.1], b@[IPv6:2001:db8::1]\r\n\r\nbody\r\n",
        smtplib: Sends {
            from: "user+tag@sub.example.test",
            to: &["!#$%&'*+-/=?^_`{|}~@example.test", "a..b@docomo.example", "abc.@docomo.example", "a@[192.0.2.1]", "b@[IPv6:2001:db8::1]"],
        },
        library: None,
    },
    Case {
        name: "source route",
        msg: "From: f@example.test\r\nTo: <@relay.example,@hop.example:a@example.test>\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["a@example.test"] },
        library: None,
    },
    Case {
        name: "UTF-8 addresses",
        msg: "From: J\u{f6}rg <j\u{f6}rg@b\u{fc}cher.example>\r\nTo: \u{7528}\u{6237}@\u{4f8b}\u{5b50}.\u{5e7f}\u{544a}\r\n\r\nbody\r\n",
        smtplib: Sends { from: "j\u{f6}rg@b\u{fc}cher.example", to: &["\u{7528}\u{6237}@\u{4f8b}\u{5b50}.\u{5e7f}\u{544a}"] },
        library: None,
    },
    // --- what the library refuses and smtplib sends ---
    Case {
        name: "'<' and '>' inside a quoted local part",
        msg: "From: f@example.test\r\nTo: \"<b@evil.example>\"@example.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["\"<b@evil.example>\"@example.test"] },
        library: Some((Refuses("'<' or '>'"), "a bracket inside the path lets a server or a log read another address")),
    },
    Case {
        name: "NUL in an address",
        msg: "From: f@example.test\r\nTo: a@example.test\0x\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["a@example.test\0x"] },
        library: Some((Refuses("control character"), "a NUL or other control character never goes on the wire")),
    },
    Case {
        name: "leading '-'",
        msg: "From: f@example.test\r\nTo: -oQ/tmp/x@example.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["-oQ/tmp/x@example.test"] },
        library: Some((Refuses("starts with '-'"), "a sendmail program down the line would read it as an option")),
    },
    Case {
        name: "invisible character",
        msg: "From: f@example.test\r\nTo: bob@exa\u{200b}mple.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["bob@exa\u{200b}mple.test"] },
        library: Some((Refuses("invisible or compatibility character"), "it makes an address read as another one")),
    },
    Case {
        name: "comment hiding an address",
        msg: "From: f@example.test\r\nTo: alice@example.test(<bob@example.test>\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["alice@example.test"] },
        library: Some((Refuses("unbalanced '('"), AMBIGUOUS)),
    },
    Case {
        name: "address then address without a comma",
        msg: "From: f@example.test\r\nTo: alice@example.test <bob@example.test>\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["alice@example.test"] },
        library: Some((Refuses("unexpected"), AMBIGUOUS)),
    },
    Case {
        name: "a domain ending in a dot",
        msg: "From: f@example.test\r\nTo: a@example.test, c@example.test.\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["a@example.test", ""] },
        library: Some((Refuses("after '.' in address"), "smtplib drops the address (RCPT TO:<>); the library refuses rather than lose a recipient silently")),
    },
    Case {
        name: "multi-word name without an address",
        msg: "From: f@example.test\r\nTo: John Smith\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["John"] },
        library: Some((Refuses("unexpected \"Smith\""), AMBIGUOUS)),
    },
    Case {
        name: "quoted name without a domain",
        msg: "From: f@example.test\r\nTo: \"john doe\"\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["john"] },
        library: Some((Refuses("quoted name without a domain"), AMBIGUOUS)),
    },
    Case {
        name: "unterminated angle address",
        msg: "From: f@example.test\r\nTo: Alice <alice@example.test\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &["alice@example.test"] },
        library: Some((Refuses("in <address>"), AMBIGUOUS)),
    },
    Case {
        name: "two '@'",
        msg: "From: f@example.test\r\nTo: a@example.test@evil.example\r\n\r\nbody\r\n",
        smtplib: Sends { from: "f@example.test", to: &[""] },
        library: Some((Refuses("unexpected \"@\""), AMBIGUOUS)),
    },
];

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtplib/send_message.py")
}

/// The server's side for a client expected to send `outcome`.
fn steps(outcome: Outcome) -> Vec<Step> {
    let mut steps = vec![
        Step::ReadTimeout(Duration::from_secs(3)),
        Step::reply("220 mx.scripted.test ESMTP"),
        Step::expect("EHLO "),
        Step::Send(ehlo_reply("mx.scripted.test", &["8BITMIME", "SMTPUTF8"])),
    ];
    let Sends { to, .. } = outcome else {
        return steps;
    };
    steps.extend([Step::expect("MAIL FROM:"), Step::reply("250 2.1.0 ok")]);
    for r in to {
        steps.push(Step::expect("RCPT TO:"));
        steps.push(Step::reply(if r.is_empty() { "553 5.1.3 empty address" } else { "250 2.1.5 ok" }));
    }
    if to.iter().all(|r| r.is_empty()) {
        steps.extend([Step::expect("RSET"), Step::reply("250 2.0.0 ok")]);
    } else {
        steps.extend([Step::expect("DATA"), Step::reply("354 go"), Step::ExpectData, Step::reply("250 2.0.0 queued")]);
    }
    steps
}

/// The MAIL and RCPT lines, verb upper-cased (smtplib writes `mail FROM:`), options dropped.
fn envelope(r: &ScriptResult) -> Vec<String> {
    r.lines
        .iter()
        .filter_map(|l| {
            let upper = l.to_ascii_uppercase();
            let rest = if upper.starts_with("MAIL FROM:") || upper.starts_with("RCPT TO:") { l } else { return None };
            let (verb, path) = rest.split_at(rest.find(':').unwrap() + 1);
            let path = match path.rfind('>') {
                Some(end) => &path[..=end],
                None => path,
            };
            Some(format!("{}{path}", verb.to_ascii_uppercase()))
        })
        .collect()
}

fn expected_envelope(outcome: Outcome) -> Vec<String> {
    match outcome {
        Sends { from, to } => {
            std::iter::once(format!("MAIL FROM:<{from}>")).chain(to.iter().map(|r| format!("RCPT TO:<{r}>"))).collect()
        }
        Refuses(_) => Vec::new(),
    }
}

/// smtplib's run: its output line and what the server saw.
fn run_smtplib(case: &Case, dir: &TempDir, i: usize) -> (String, ScriptResult) {
    let path = dir.path().join(format!("msg{i}.eml"));
    std::fs::write(&path, case.msg.as_bytes()).unwrap();
    let server = ScriptedServer::tcp(steps(case.smtplib));
    let out = Command::new("python3")
        .arg(script())
        .args(["127.0.0.1", &server.port().to_string()])
        .arg(&path)
        .output()
        .expect("run python3 (smtplib)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (text, server.finish())
}

fn run_library(case: &Case, outcome: Outcome) -> (Result<(), smtpclient::Error>, ScriptResult) {
    let server = ScriptedServer::tcp(steps(outcome));
    let mut s = support::new_session(SessionKind::Smtp);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(Duration::from_secs(5)));
    s.connect(&server.addr(), 0).expect("connect to the scripted server");
    let res = s.send_message(case.msg.as_bytes(), None, None, &[], &[]);
    s.close();
    (res, server.finish())
}

#[test]
fn send_message_envelope_matches_smtplib_for_every_header_shape() {
    let dir = TempDir::new("envelope-smtplib");
    let mut failures = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        // smtplib does what the table says
        let (said, r) = run_smtplib(case, &dir, i);
        let seen = envelope(&r);
        let theirs = seen.clone();
        let want = expected_envelope(case.smtplib);
        match case.smtplib {
            Sends { .. } if seen != want || !r.mismatches.is_empty() => failures.push(format!(
                "[{}] smtplib sent {seen:?}, the table says {want:?}; it said {said:?}; mismatches {:?}",
                case.name, r.mismatches
            )),
            Refuses(text) if !seen.is_empty() || !said.contains(text) => failures.push(format!(
                "[{}] smtplib was to refuse with {text:?}; it sent {seen:?} and said {said:?}",
                case.name
            )),
            _ => {}
        }
        // the library does the same, or differs as the table says and why
        let (outcome, why) = case.library.unwrap_or((case.smtplib, ""));
        let (res, r) = run_library(case, outcome);
        let seen = envelope(&r);
        match (outcome, &res) {
            (Sends { .. }, Ok(())) if seen == expected_envelope(outcome) && r.mismatches.is_empty() => {}
            (Refuses(text), Err(e))
                if e.kind() == ErrorKind::InvalidArgument
                    && e.message().contains(text)
                    && !r.wire_str().contains("MAIL") => {}
            _ => failures.push(format!(
                "[{}] library: {res:?}, sent {seen:?}; expected {outcome:?} ({why}); mismatches {:?}",
                case.name, r.mismatches
            )),
        }
        if case.library.is_none() {
            // the comparison itself: the same envelope, line for line
            if seen != theirs {
                failures.push(format!("[{}] library sent {seen:?}, smtplib {theirs:?}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{} case(s) differ:\n{}", failures.len(), failures.join("\n"));
}
