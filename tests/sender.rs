//! The sender (`smtpclient::sender`): many messages over pooled connections from one thread,
//! against the test bed's Postfix. (Its fault soak, against a server that fails at random
//! points, is `sender_fault_soak` in tests/soak.rs.)

mod support;

use std::time::Duration;

use smtpclient::sender::{Message, OutcomeKind, Sender, SenderConfig};
use smtpclient::session::SessionKind;
use support::{unique_marker, TestBed};

fn message(from: &str, to: &[&str], marker: &str, i: usize) -> Message {
    Message {
        from: from.to_owned(),
        to: to.iter().map(|s| (*s).to_owned()).collect(),
        body: format!("From: <{from}>\r\nSubject: {marker} #{i}\r\nX-Marker: {marker}-{i}\r\n\r\nmessage {i}\r\n")
            .into_bytes(),
        mail_options: Vec::new(),
        rcpt_options: Vec::new(),
    }
}

/// Run the sender and return every outcome, checking each id comes exactly once.
fn run(sender: &mut Sender, ids: &[u64]) -> Vec<smtpclient::sender::Outcome> {
    sender.run();
    assert!(sender.is_done() && sender.pending() == 0 && sender.connections() == 0);
    let mut outcomes = Vec::new();
    while let Some(o) = sender.next_outcome() {
        outcomes.push(o);
    }
    let mut seen: Vec<u64> = outcomes.iter().map(|o| o.id).collect();
    seen.sort_unstable();
    assert_eq!(seen, ids, "every message has exactly one outcome");
    outcomes
}

#[test]
fn many_messages_over_a_few_pooled_connections_to_postfix() {
    let bed = TestBed::get();
    let marker = unique_marker("sender-pool");
    let mut config = SenderConfig::new(SessionKind::Smtp, &format!("smtp://{}:{}", bed.smtp_host, bed.smtp_port));
    config.max_connections = 4;
    config.max_messages_per_connection = 15;
    config.timeout = Some(Duration::from_secs(30));
    let mut sender = Sender::new(config).unwrap();
    let ids: Vec<u64> = (0..120)
        .map(|i| {
            // every tenth message has a refused recipient beside bob; every 20th only that one
            let to: &[&str] = match i % 20 {
                0 => &["nobody-here@example.test"],
                10 => &["bob@example.test", "nobody-here@example.test"],
                _ => &["bob@example.test"],
            };
            sender.add(message("sender@example.test", to, &marker, i))
        })
        .collect();
    let outcomes = run(&mut sender, &ids);
    for o in &outcomes {
        let i = (o.id - ids[0]) as usize;
        match i % 20 {
            0 => {
                assert_eq!(o.kind, OutcomeKind::Refused, "#{i}: {:?}", o.error);
                assert_eq!(o.recipients.len(), 1);
                assert_eq!(o.recipients[0].rcpt_reply().code(), 550);
            }
            10 => {
                assert_eq!(o.kind, OutcomeKind::Delivered, "#{i}: {:?}", o.error);
                let refused: Vec<&str> =
                    o.recipients.iter().filter(|r| r.refusal().is_some()).map(|r| r.address()).collect();
                assert_eq!(refused, ["nobody-here@example.test"]);
            }
            _ => assert_eq!(o.kind, OutcomeKind::Delivered, "#{i}: {:?}", o.error),
        }
    }
    let delivered = outcomes.iter().filter(|o| o.kind == OutcomeKind::Delivered).count();
    assert_eq!(delivered, 114);
    let found = bed.wait_for_count(&bed.postfix_maildir, "bob", &marker, delivered, Duration::from_secs(60));
    assert_eq!(found, delivered, "each delivered message is in the Maildir exactly once");
}

#[test]
fn starttls_and_login_from_the_url_on_every_pooled_connection() {
    let bed = TestBed::get();
    let marker = unique_marker("sender-tls");
    let url =
        format!("smtp+starttls://{}:{}@{}:{}", bed.smtp_user, bed.smtp_pass, bed.smtp_host, bed.smtp_submission_port);
    let mut config = SenderConfig::new(SessionKind::Smtp, &url);
    config.tls.ca_file = Some(bed.smtp_ca_file.clone());
    config.tls.server_name = Some("localhost".to_owned());
    config.max_connections = 3;
    config.max_messages_per_connection = 4;
    let mut sender = Sender::new(config).unwrap();
    // relayed through the submission port (authenticated): bob is local
    let ids: Vec<u64> =
        (0..20).map(|i| sender.add(message("alice@example.test", &["bob@example.test"], &marker, i))).collect();
    let outcomes = run(&mut sender, &ids);
    for o in &outcomes {
        assert_eq!(o.kind, OutcomeKind::Delivered, "{:?}", o.error);
    }
    let found = bed.wait_for_count(&bed.postfix_maildir, "bob", &marker, 20, Duration::from_secs(60));
    assert_eq!(found, 20);
}

#[test]
fn a_server_that_refuses_connections_fails_every_message_before_its_data() {
    // a port nobody listens on
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = SenderConfig::new(SessionKind::Smtp, &format!("smtp://127.0.0.1:{port}"));
    config.retries = 2;
    let mut sender = Sender::new(config).unwrap();
    let ids: Vec<u64> = (0..5).map(|i| sender.add(message("a@example.test", &["b@example.test"], "x", i))).collect();
    let outcomes = run(&mut sender, &ids);
    for o in outcomes {
        assert_eq!(o.kind, OutcomeKind::FailedBeforeData);
        let e = o.error.expect("the connect error");
        assert_eq!(e.kind(), smtpclient::ErrorKind::ConnectionRefused, "{e}");
    }
}

#[test]
fn a_bad_url_is_refused_when_the_sender_is_made() {
    let e = Sender::new(SenderConfig::new(SessionKind::Smtp, "smtp://host:99999")).err().expect("refused");
    assert_eq!(e.kind(), smtpclient::ErrorKind::InvalidArgument);
    let e = Sender::new(SenderConfig::new(SessionKind::Lmtp, "smtp://host")).err().expect("refused");
    assert_eq!(e.kind(), smtpclient::ErrorKind::InvalidArgument, "{e}");
}
