//! LMTP against a real Dovecot on a Unix socket and on TCP: LHLO, one final reply per accepted
//! recipient after the data, kept per recipient, and the session staying in step afterwards.

mod support;

use std::time::Duration;

use smtpclient::session::SessionKind;
use smtpclient::{ErrorKind, Session};
use support::{unique_marker, TestBed};

const WAIT: Duration = Duration::from_secs(15);

fn lmtp(target: &str) -> Session {
    let mut s = support::new_session(SessionKind::Lmtp);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(Duration::from_secs(20)));
    assert_eq!(s.connect(target, 0).unwrap().code(), 220);
    s
}

fn message(marker: &str) -> Vec<u8> {
    // bigger than the 1-byte quota of "full"
    format!("From: alice@example.test\r\nSubject: {marker}\r\n\r\n{}\r\n", "z".repeat(4000)).into_bytes()
}

fn per_recipient(s: &Session) -> Vec<(String, u16, Option<u16>)> {
    s.recipients()
        .iter()
        .map(|r| (r.address().to_owned(), r.rcpt_reply().code(), r.data_reply().map(|d| d.code())))
        .collect()
}

fn three_recipients_one_over_quota(target: &str) {
    let bed = TestBed::get();
    let marker = unique_marker("lmtp3");
    let mut s = lmtp(target);
    s.sendmail(
        "alice@example.test",
        &["alice@example.test", "bob@example.test", "full@example.test"],
        &message(&marker),
        &[],
        &[],
    )
    .expect("two of three delivered is success");
    assert_eq!(
        per_recipient(&s),
        [
            ("alice@example.test".to_owned(), 250, Some(250)),
            ("bob@example.test".to_owned(), 250, Some(250)),
            ("full@example.test".to_owned(), 250, Some(552)),
        ]
    );
    let refused: Vec<(&str, u16)> = s.refused().map(|(a, r)| (a, r.code())).collect();
    assert_eq!(refused, [("full@example.test", 552)]);
    let quota = s.refused().next().unwrap().1;
    assert!(quota.text().contains("Quota exceeded"), "{}", quota.text());
    let es = quota.enhanced_status().unwrap();
    assert_eq!((es.class, es.subject, es.detail), (5, 2, 2));
    for user in ["alice", "bob"] {
        assert!(bed.wait_for_lmtp_mail(user, &marker, WAIT).is_some(), "{user}: {}", bed.dovecot_log_tail(20));
    }
    assert_eq!(bed.count_mail_with(&bed.lmtp_maildir, "full", &marker), 0);
    // in step: the next command gets its own reply, not a stale per-recipient one
    let noop = s.noop().unwrap();
    assert_eq!(noop.code(), 250);
    assert!(!noop.text().contains("Saved"), "stale LMTP reply read as NOOP's: {}", noop.text());
    let marker2 = unique_marker("lmtp-next");
    s.sendmail("alice@example.test", &["bob@example.test"], &message(&marker2), &[], &[]).unwrap();
    assert_eq!(per_recipient(&s), [("bob@example.test".to_owned(), 250, Some(250))]);
    assert!(bed.wait_for_lmtp_mail("bob", &marker2, WAIT).is_some());
    assert_eq!(s.quit().unwrap().code(), 221);
}

#[test]
fn unix_socket_three_recipients_one_reply_each() {
    let bed = TestBed::get();
    three_recipients_one_over_quota(bed.lmtp_socket.to_str().unwrap());
}

#[test]
fn tcp_three_recipients_one_reply_each() {
    three_recipients_one_over_quota(&TestBed::get().lmtp_addr());
}

#[test]
fn lhlo_and_unknown_recipient_refused_at_rcpt() {
    let bed = TestBed::get();
    let marker = unique_marker("lmtp-unknown");
    let mut s = lmtp(bed.lmtp_socket.to_str().unwrap());
    assert_eq!(s.ehlo(None).unwrap().code(), 250);
    assert!(s.does_esmtp());
    assert!(s.has_extn("pipelining") && s.has_extn("chunking") && s.has_extn("enhancedstatuscodes"));
    s.sendmail("alice@example.test", &["nosuchuser@example.test", "alice@example.test"], &message(&marker), &[], &[])
        .unwrap();
    assert_eq!(
        per_recipient(&s),
        [("nosuchuser@example.test".to_owned(), 550, None), ("alice@example.test".to_owned(), 250, Some(250))]
    );
    assert!(bed.wait_for_lmtp_mail("alice", &marker, WAIT).is_some());
    s.quit().unwrap();
}

#[test]
fn every_recipient_refused_after_data_is_a_data_error() {
    let mut s = lmtp(TestBed::get().lmtp_socket.to_str().unwrap());
    let e = s
        .sendmail("alice@example.test", &["full@example.test"], &message(&unique_marker("lmtp-full")), &[], &[])
        .unwrap_err();
    assert_eq!((e.kind(), e.reply().unwrap().code()), (ErrorKind::Data, 552));
    assert_eq!(per_recipient(&s), [("full@example.test".to_owned(), 250, Some(552))]);
    assert_eq!(s.noop().unwrap().code(), 250);
    s.quit().unwrap();
}

#[test]
fn step_by_step_lmtp_data_reads_one_reply_per_recipient() {
    let bed = TestBed::get();
    let marker = unique_marker("lmtp-steps");
    let mut s = lmtp(&bed.lmtp_addr());
    s.ehlo(None).unwrap();
    assert_eq!(s.mail("alice@example.test", &[]).unwrap().code(), 250);
    assert_eq!(s.rcpt("alice@example.test", &[]).unwrap().code(), 250);
    assert_eq!(s.rcpt("full@example.test", &[]).unwrap().code(), 250);
    let first = s.data(&message(&marker)).unwrap();
    assert_eq!(first.code(), 250, "data returns the first recipient's reply");
    assert_eq!(s.recipients()[1].data_reply().unwrap().code(), 552);
    assert_eq!(s.noop().unwrap().code(), 250);
    assert!(bed.wait_for_lmtp_mail("alice", &marker, WAIT).is_some());
    s.quit().unwrap();
}

/// `send_message` with names without a domain (`To: alice, Bob <bob>`): `RCPT TO:<alice>` and
/// `RCPT TO:<bob>`, which Dovecot delivers to its local users, as it does for smtplib.
#[test]
fn send_message_delivers_to_names_without_a_domain() {
    let bed = TestBed::get();
    let marker = unique_marker("domainless");
    let mut s = lmtp(&bed.lmtp_socket.display().to_string());
    let msg = format!("From: alice@example.test\r\nTo: alice, Bob <bob>\r\nSubject: {marker}\r\n\r\nhello\r\n");
    s.send_message(msg.as_bytes(), None, None, &[], &[]).expect("delivered");
    let addresses: Vec<(String, u16, Option<u16>)> = per_recipient(&s);
    assert_eq!(addresses, [("alice".to_owned(), 250, Some(250)), ("bob".to_owned(), 250, Some(250))]);
    for user in ["alice", "bob"] {
        assert!(
            bed.wait_for_lmtp_mail(user, &marker, WAIT).is_some(),
            "no mail for {user}: {}",
            bed.dovecot_log_tail(20)
        );
    }
}
