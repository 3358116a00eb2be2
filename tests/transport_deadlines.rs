//! The session timeout bounds every step of getting connected and every read, whatever the
//! peer does: a Unix-socket listener that never accepts, a name server that never answers, a
//! TLS server that drips its handshake or its records one byte at a time.

mod support;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use smtpclient::session::SessionKind;
use smtpclient::{ErrorKind, Session};
use support::TempDir;

fn session(kind: SessionKind, timeout: Duration) -> Session {
    let mut s = Session::new(kind);
    s.set_local_hostname(Some("client.example.test")).unwrap();
    s.set_timeout(Some(timeout));
    s
}

/// A Unix-socket listener that never accepts and whose backlog is already full, so that a
/// further connect has to wait for room. Holds the queued connections open.
struct WedgedUnixListener {
    _dir: TempDir,
    path: String,
    listener: Option<Socket>,
    _queued: Vec<Socket>,
}

impl WedgedUnixListener {
    fn new() -> WedgedUnixListener {
        let dir = TempDir::new("smtpclient-wedged");
        let path = dir.path().join("lmtp.sock");
        let addr = SockAddr::unix(&path).unwrap();
        let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        listener.bind(&addr).unwrap();
        listener.listen(1).unwrap();
        let mut queued = Vec::new();
        loop {
            let c = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
            c.set_nonblocking(true).unwrap();
            match c.connect(&addr) {
                Ok(()) => queued.push(c),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("filling the backlog: {e}"),
            }
            assert!(queued.len() < 64, "the backlog of listen(1) never filled");
        }
        let path = path.to_str().unwrap().to_owned();
        WedgedUnixListener { _dir: dir, path, listener: Some(listener), _queued: queued }
    }

    /// Close the listener: a connect still waiting on it ends (refused).
    fn close(&mut self) {
        self.listener = None;
    }
}

#[test]
fn unix_connect_to_a_full_backlog_times_out() {
    let mut wedged = WedgedUnixListener::new();
    let path = wedged.path.clone();
    let (tx, rx) = mpsc::channel();
    let client = thread::spawn(move || {
        let mut s = session(SessionKind::Lmtp, Duration::from_millis(600));
        let start = Instant::now();
        let result = s.connect(&path, 0).map(|_| ());
        let _ = tx.send((result, start.elapsed()));
    });
    let outcome = rx.recv_timeout(Duration::from_secs(5));
    // release a client still blocked in connect before failing, so the test ends
    wedged.close();
    let (result, elapsed) = outcome.expect("connect to a wedged Unix socket was still blocked after 5 s");
    client.join().unwrap();
    let e = result.expect_err("connect succeeded on a listener that never accepts");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(elapsed >= Duration::from_millis(500) && elapsed < Duration::from_millis(2500), "{elapsed:?}");
}
