//! Transport faults: the session timeout bounds every step of getting connected and every
//! read whatever the peer does (a Unix-socket listener that never accepts, a name server that
//! never answers, a TLS server that drips its handshake or its records one byte at a time),
//! and TLS that breaks after the handshake is reported as TLS.

mod support;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use openssl::ssl::{SslAcceptor, SslMethod, SslStream};
use socket2::{Domain, SockAddr, Socket, Type};

use smtpclient::session::SessionKind;
use smtpclient::tls::TlsConfig;
use smtpclient::transport::{Connection, Endpoint, Interest, Opening, TimeoutPhase};
use smtpclient::{Error, ErrorKind, Session};
use support::certs::leaf;
use support::{ScriptedServer, Step, TempDir};

fn session(kind: SessionKind, timeout: Duration) -> Session {
    let mut s = support::new_session(kind);
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
    let wanted = format!("connect to {} timed out after 600 ms", wedged.path);
    assert!(e.message().contains(&wanted), "{e}");
}

/// "(N bytes received)" in a timeout message (followed by the phase and the limit that
/// applied): N.
fn bytes_received(message: &str) -> u64 {
    let (before, _) = message.split_once(" bytes received)").unwrap_or_else(|| panic!("no byte count: {message}"));
    before.rsplit('(').next().unwrap().parse().unwrap_or_else(|_| panic!("no byte count: {message}"))
}

// ------------------------------------------------------------------------------ TLS servers

/// What the server socket does to the bytes it writes.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// Nothing.
    None,
    /// One byte per `DRIP_PAUSE`.
    Drip,
    /// Flip the last byte of the next write (the end of a TLS record: its MAC or tag).
    CorruptNextWrite,
}

/// The server's end of the connection, faulty on demand; `stop` makes every later dripped
/// write fail, which ends the server.
struct ServerSocket {
    tcp: TcpStream,
    fault: Fault,
    stop: Arc<AtomicBool>,
}

/// Ten bytes a second: each byte comes well within the client's timeout, no reply or record does.
const DRIP_PAUSE: Duration = Duration::from_millis(100);

impl Read for ServerSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.read(buf)
    }
}

impl Write for ServerSocket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.fault {
            _ if buf.is_empty() => Ok(0),
            Fault::None => self.tcp.write(buf),
            Fault::Drip => {
                thread::sleep(DRIP_PAUSE);
                if self.stop.load(Ordering::SeqCst) {
                    return Err(io::Error::other("server stopped"));
                }
                self.tcp.write(&buf[..1])
            }
            Fault::CorruptNextWrite => {
                self.fault = Fault::None;
                let mut bad = buf.to_vec();
                *bad.last_mut().unwrap() ^= 0x01;
                self.tcp.write_all(&bad)?;
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// A one-connection implicit-TLS server with a self-signed certificate; after the handshake
/// it runs `then` on the TLS stream. Dropping it stops a drip still under way.
struct TlsPeer {
    port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl TlsPeer {
    fn start(handshake: Fault, then: impl FnOnce(&mut SslStream<ServerSocket>) + Send + 'static) -> TlsPeer {
        let (cert, key) = leaf("localhost", &["DNS:localhost", "IP:127.0.0.1"], None, -1, 30);
        let mut acc = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
        acc.set_certificate(&cert).unwrap();
        acc.set_private_key(&key).unwrap();
        let acc = acc.build();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let server_stop = stop.clone();
        let handle = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let stream = ServerSocket { tcp, fault: handshake, stop: server_stop };
            if let Ok(mut tls) = acc.accept(stream) {
                then(&mut tls);
            }
        });
        TlsPeer { port, stop, handle: Some(handle) }
    }
}

impl Drop for TlsPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// An SMTPS session (no certificate verification: these tests are about what comes after)
/// with a 1 s timeout connects to `port`, in a thread; the outcome and how long it took, or a
/// panic if it has not returned after `limit`.
fn smtps_connect(port: u16, limit: Duration) -> (Result<(), Error>, Duration) {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut s = session(SessionKind::Smtps, Duration::from_secs(1));
        s.tls_config_mut().insecure_skip_verify = true;
        let start = Instant::now();
        let result = s.connect("127.0.0.1", port).map(|_| ());
        let _ = tx.send((result, start.elapsed()));
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("connect had not returned after {limit:?}"))
}

#[test]
fn dripped_tls_handshake_cannot_extend_the_deadline() {
    let peer = TlsPeer::start(Fault::Drip, |_| {});
    let (result, elapsed) = smtps_connect(peer.port, Duration::from_secs(6));
    let e = result.expect_err("a handshake dripped at ten bytes a second completed within 1 s");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    let wanted = format!("TLS handshake with 127.0.0.1:{} timed out after 1000 ms (", peer.port);
    assert!(e.message().starts_with(&wanted), "{e}");
    // about ten bytes came in that second
    assert!((3..=20).contains(&bytes_received(e.message())), "{e}");
    assert!(e.message().ends_with(" during the TLS handshake (the TLS handshake timeout)"), "{e}");
}

#[test]
fn dripped_tls_greeting_record_cannot_extend_the_deadline() {
    let peer = TlsPeer::start(Fault::None, |tls| {
        // one record of about 130 bytes, ten bytes a second
        tls.get_mut().fault = Fault::Drip;
        let greeting = format!("220 {} ESMTP\r\n", "slow".repeat(25));
        let _ = tls.write_all(greeting.as_bytes());
    });
    let (result, elapsed) = smtps_connect(peer.port, Duration::from_secs(6));
    let e = result.expect_err("a greeting record dripped at ten bytes a second arrived within 1 s");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    let wanted = format!("timed out after 1000 ms waiting for the reply from 127.0.0.1:{} (", peer.port);
    assert!(e.message().starts_with(&wanted), "{e}");
    // the dripped bytes, and the session tickets TLS 1.3 sends after the handshake
    assert!(bytes_received(e.message()) >= 3, "{e}");
    assert!(e.message().ends_with(" during the greeting (the greeting timeout)"), "{e}");
}

/// The greeting the TLS servers below send, or fail to send intact.
const GREETING: &[u8] = b"220 mx.tls.test ESMTP\r\n";

#[test]
fn plain_text_injected_after_the_handshake_is_a_tls_record_error() {
    let peer = TlsPeer::start(Fault::None, |tls| {
        // under the TLS layer, straight into the TCP stream
        let _ = tls.get_mut().tcp.write_all(GREETING);
        thread::sleep(Duration::from_millis(300));
    });
    let (result, _) = smtps_connect(peer.port, Duration::from_secs(6));
    let e = result.expect_err("plain text under TLS was accepted");
    assert_eq!(e.kind(), ErrorKind::TlsRecord, "{e}");
}

#[test]
fn a_record_that_fails_authentication_is_a_tls_record_error() {
    let peer = TlsPeer::start(Fault::None, |tls| {
        tls.get_mut().fault = Fault::CorruptNextWrite;
        let _ = tls.write_all(GREETING);
        thread::sleep(Duration::from_millis(300));
    });
    let (result, _) = smtps_connect(peer.port, Duration::from_secs(6));
    let e = result.expect_err("a record with a broken MAC was accepted");
    assert_eq!(e.kind(), ErrorKind::TlsRecord, "{e}");
}

#[test]
fn a_close_without_close_notify_is_server_disconnected() {
    let peer = TlsPeer::start(Fault::None, |tls| {
        // half a greeting, then a TCP close with no TLS close_notify
        let _ = tls.write_all(&GREETING[..10]);
        let _ = tls.get_ref().tcp.shutdown(std::net::Shutdown::Both);
    });
    let (result, _) = smtps_connect(peer.port, Duration::from_secs(6));
    let e = result.expect_err("half a greeting was accepted");
    assert_eq!(e.kind(), ErrorKind::ServerDisconnected, "{e}");
}

#[test]
fn the_intact_greeting_is_read() {
    // the servers above differ from this one only by their fault
    let peer = TlsPeer::start(Fault::None, |tls| {
        let _ = tls.write_all(GREETING);
        thread::sleep(Duration::from_millis(300));
    });
    let (result, _) = smtps_connect(peer.port, Duration::from_secs(6));
    result.unwrap();
}

// ------------------------------------------------------------------------------ TLS without blocking

/// Wait until `fd` is ready for `interest` or `deadline` passes; whether it became ready.
fn poll_until(fd: std::os::fd::RawFd, interest: Interest, deadline: Instant) -> bool {
    let events = if interest == Interest::Read { libc::POLLIN } else { libc::POLLOUT };
    let left = deadline.saturating_duration_since(Instant::now());
    let ms = left.as_micros().div_ceil(1000) as i32;
    let mut p = libc::pollfd { fd, events, revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call
    ms > 0 && unsafe { libc::poll(&mut p, 1, ms) } == 1
}

/// A connection to the scripted TLS peer opened and its handshake run without blocking, the
/// driver keeping a deadline of `limit` for the handshake; the handshake's outcome.
fn nonblocking_smtps(port: u16, limit: Duration) -> (Connection, Result<(), Error>) {
    let endpoint = Endpoint::Tcp { host: "127.0.0.1".into(), port };
    let mut opening = Opening::start(&endpoint, None, Some(Instant::now() + limit), Some(limit)).unwrap();
    let mut conn = loop {
        if let Some(c) = opening.advance(Instant::now()).unwrap() {
            break c;
        }
        let (fd, interest) = opening.wait_for();
        poll_until(fd, interest, Instant::now() + limit);
    };
    let config = TlsConfig { insecure_skip_verify: true, ..TlsConfig::default() };
    let deadline = Instant::now() + limit;
    let mut step = conn.start_tls_nonblocking(&config, "localhost");
    let outcome = loop {
        match step {
            Ok(Ok(_)) => break Ok(()),
            Ok(Err(interest)) => {
                if !poll_until(conn.raw_fd(), interest, deadline) {
                    break Err(conn.timeout_error(TimeoutPhase::TlsHandshake));
                }
                step = conn.continue_tls();
            }
            Err(e) => break Err(e),
        }
    };
    (conn, outcome)
}

#[test]
fn a_dripped_handshake_without_blocking_times_out_at_the_drivers_deadline_counting_bytes() {
    let peer = TlsPeer::start(Fault::Drip, |_| {});
    let start = Instant::now();
    let (_conn, outcome) = nonblocking_smtps(peer.port, Duration::from_secs(1));
    let elapsed = start.elapsed();
    let e = outcome.expect_err("a handshake dripped at ten bytes a second completed within 1 s");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let prefix = format!("TLS handshake with 127.0.0.1:{} timed out after 1000 ms (", peer.port);
    assert!(e.message().starts_with(&prefix), "{e}");
    // the drip did arrive, byte by byte, each read returning to the loop
    let received = bytes_received(e.message());
    assert!((3..=12).contains(&received), "{e}");
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_millis(1800), "{elapsed:?}");
}

#[test]
fn a_broken_record_read_without_blocking_is_a_tls_record_error() {
    let peer = TlsPeer::start(Fault::None, |tls| {
        tls.get_mut().fault = Fault::CorruptNextWrite;
        let _ = tls.write_all(GREETING);
        thread::sleep(Duration::from_millis(300));
    });
    let (mut conn, outcome) = nonblocking_smtps(peer.port, Duration::from_secs(5));
    outcome.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let e = loop {
        match conn.try_read(&mut [0u8; 256]) {
            Ok(Ok(n)) => panic!("{n} bytes of a record with a broken tag were read"),
            Ok(Err(interest)) => assert!(poll_until(conn.raw_fd(), interest, deadline), "no record came"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind(), ErrorKind::TlsRecord, "{e}");
}

/// A TLS write larger than the socket buffers while the peer does not read: `try_write` says
/// to wait for writability, and offering the same bytes again when told continues the record;
/// the peer receives every byte in order.
#[test]
fn a_tls_write_that_would_block_continues_with_the_same_bytes() {
    const TOTAL: usize = 8 << 20;
    let pattern = |i: usize| (i % 251) as u8;
    let (tx, rx) = mpsc::channel();
    let peer = TlsPeer::start(Fault::None, move |tls| {
        thread::sleep(Duration::from_millis(300));
        let mut got = vec![0u8; TOTAL];
        let ok = tls.read_exact(&mut got).is_ok();
        let _ = tx.send(ok && got.iter().enumerate().all(|(i, &b)| b == pattern(i)));
    });
    let (mut conn, outcome) = nonblocking_smtps(peer.port, Duration::from_secs(5));
    outcome.unwrap();
    let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut written, mut waits) = (0, 0);
    while written < data.len() {
        match conn.try_write(&data[written..]).unwrap() {
            Ok(n) => {
                assert!(n > 0, "the peer closed");
                written += n;
            }
            Err(interest) => {
                waits += 1;
                let timeout = TimeoutPhase::Write { written, total: data.len() };
                assert!(poll_until(conn.raw_fd(), interest, deadline), "{}", conn.timeout_error(timeout));
            }
        }
    }
    assert!(waits > 0, "8 MiB went out without the socket ever filling");
    assert!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), "the peer did not receive the bytes in order");
}

// ------------------------------------------------------------------------------ name resolution

/// Set in the copy of this test binary that runs inside the private namespaces.
const INSIDE_NAMESPACES: &str = "SMTPCLIENT_TEST_INSIDE_PRIVATE_NAMESPACES";

/// Run the test `name` of this binary again under `unshare --mount --net` (root required): in
/// a network namespace of its own, with only a loopback interface (so nothing can leave the
/// machine and every other network is unreachable), and with bind-mounted `/etc/resolv.conf`
/// (one name server, 127.0.0.1, where nothing answers unless the test binds port 53),
/// `/etc/hosts` (localhost only) and `/etc/nsswitch.conf` (`hosts: files dns`).
fn run_in_private_namespaces(name: &str) {
    let dir = TempDir::new("smtpclient-namespaces");
    let files = [
        ("resolv.conf", "nameserver 127.0.0.1\noptions timeout:30 attempts:1\n"),
        ("hosts", "127.0.0.1 localhost\n"),
        ("nsswitch.conf", "hosts: files dns\n"),
    ];
    for (file, text) in files {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let script = r#"set -e
ip link set lo up
for f in resolv.conf hosts nsswitch.conf; do mount --bind "$1/$f" "/etc/$f"; done
exec "$2" --exact "$3" --nocapture --test-threads=1"#;
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "--net", "sh", "-c", script, "sh"])
        .arg(dir.path())
        .arg(exe)
        .arg(name)
        .env(INSIDE_NAMESPACES, "1")
        .output()
        .expect("running unshare (util-linux)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "inside the namespaces ({}):\n{text}", out.status);
    assert!(text.contains("1 passed"), "the test did not run inside the namespaces:\n{text}");
}

/// A name server that never answers (hermetic: see [`run_in_private_namespaces`]; the test
/// binds 127.0.0.1:53 and never answers). The resolver would wait 30 s; the connect must give
/// up at the session's 1 s timeout, a second slow resolution must not wait behind the first,
/// and a name from /etc/hosts must still resolve at once.
#[test]
fn name_resolution_that_never_answers_times_out() {
    if std::env::var_os(INSIDE_NAMESPACES).is_none() {
        return run_in_private_namespaces("name_resolution_that_never_answers_times_out");
    }
    slow_resolution_inside_the_namespaces();
}

/// Unknown names, unreachable hosts and refused connections each have their own kind, which
/// names the OS error when there is one (hermetic: see [`run_in_private_namespaces`]).
#[test]
fn unknown_name_and_unreachable_network_have_their_own_kinds() {
    if std::env::var_os(INSIDE_NAMESPACES).is_none() {
        return run_in_private_namespaces("unknown_name_and_unreachable_network_have_their_own_kinds");
    }
    // nothing on 127.0.0.1:53: the resolver is refused at once
    let mut s = session(SessionKind::Smtp, Duration::from_secs(5));
    let e = s.connect("mx.unknown.test", 25).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NameResolution, "{e}");
    assert!(e.message().contains("mx.unknown.test"), "{e}");
    // TEST-NET-1, and no route to anywhere but loopback
    let e = s.connect("192.0.2.1", 25).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HostUnreachable, "{e}");
    assert_eq!(e.os_error(), Some(libc::ENETUNREACH), "{e}");
    assert!(!s.is_connected());
}

fn slow_resolution_inside_the_namespaces() {
    let _blackhole = UdpSocket::bind("127.0.0.1:53").expect("binding the silent name server");
    let timeout = Duration::from_secs(1);
    for name in ["mx.never-answered.test", "mx2.never-answered.test"] {
        let mut s = session(SessionKind::Smtp, timeout);
        let start = Instant::now();
        let e = s.connect(name, 25).expect_err("a name nobody answers for resolved");
        let elapsed = start.elapsed();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{name}: {e}");
        assert_eq!(
            e.message(),
            format!("resolving {name} timed out after 1000 ms during connect (the connect timeout)")
        );
        assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(2500), "{name}: {elapsed:?}");
    }
    // both resolutions above are still waiting for the name server; /etc/hosts is not
    let server = ScriptedServer::tcp(vec![Step::reply("220 mx ESMTP"), Step::ReadUntilClose]);
    let mut s = session(SessionKind::Smtp, timeout);
    let start = Instant::now();
    s.connect("localhost", server.port()).unwrap();
    assert!(start.elapsed() < Duration::from_millis(900), "{:?}", start.elapsed());
    s.close();
    server.finish().assert_ok();
}

/// The non-blocking opening under the same silent name server: the caller's loop is never
/// held up (each call returns at once), the resolution gives up at the opening's deadline with
/// the blocking message, and a name from /etc/hosts opens meanwhile (hermetic: see
/// [`run_in_private_namespaces`]).
#[test]
fn nonblocking_name_resolution_that_never_answers_times_out() {
    if std::env::var_os(INSIDE_NAMESPACES).is_none() {
        return run_in_private_namespaces("nonblocking_name_resolution_that_never_answers_times_out");
    }
    let _blackhole = UdpSocket::bind("127.0.0.1:53").expect("binding the silent name server");
    let server = ScriptedServer::tcp(vec![Step::reply("220 mx ESMTP"), Step::ReadUntilClose]);
    let limit = Duration::from_millis(500);
    let start = Instant::now();
    let deadline = start + limit;
    let endpoint = |host: &str, port| Endpoint::Tcp { host: host.to_owned(), port };
    let mut silent =
        Opening::start(&endpoint("mx.never-answered.test", 25), None, Some(deadline), Some(limit)).unwrap();
    let mut local = Opening::start(&endpoint("localhost", server.port()), None, Some(deadline), Some(limit)).unwrap();
    let (mut connected, mut failed) = (None, None);
    let mut slowest_call = Duration::ZERO;
    while connected.is_none() || failed.is_none() {
        let mut fds = Vec::new();
        for (opening, done) in [(&mut local, connected.is_some()), (&mut silent, failed.is_some())] {
            if !done {
                let (fd, interest) = opening.wait_for();
                let events = if interest == Interest::Read { libc::POLLIN } else { libc::POLLOUT };
                fds.push(libc::pollfd { fd, events, revents: 0 });
            }
        }
        let left = deadline.saturating_duration_since(Instant::now()).as_millis() as i32 + 1;
        // SAFETY: `fds` is a valid array of its length for the duration of the call
        assert!(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, left) } >= 0);
        let now = Instant::now();
        if connected.is_none() {
            connected = local.advance(now).unwrap().map(|c| (c, start.elapsed()));
        }
        if failed.is_none() {
            failed = silent.advance(now).err().map(|e| (e, start.elapsed()));
        }
        slowest_call = slowest_call.max(now.elapsed());
        assert!(start.elapsed() < Duration::from_secs(3), "the opening outlived its deadline");
    }
    let (e, failed_after) = failed.unwrap();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.message(), "resolving mx.never-answered.test timed out after 500 ms");
    assert!(failed_after >= limit && failed_after < Duration::from_millis(1500), "{failed_after:?}");
    let (conn, connected_after) = connected.unwrap();
    assert!(connected_after < limit, "localhost waited behind the silent name: {connected_after:?}");
    assert!(slowest_call < Duration::from_millis(100), "a non-blocking call blocked for {slowest_call:?}");
    // the opened connection also serves the blocking calls (they put the socket back in blocking mode)
    let mut conn = conn;
    let mut greeting = [0u8; 64];
    let n = conn.read_some(&mut greeting, Some(Instant::now() + Duration::from_secs(5))).unwrap();
    assert_eq!(&greeting[..n], b"220 mx ESMTP\r\n");
    drop(conn);
    server.finish().assert_ok();
}

// ------------------------------------------------------------------------------ kinds and messages

#[test]
fn refused_connections_are_connection_refused_with_the_os_error() {
    // a port nobody listens on: bind, read the port, close
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut s = session(SessionKind::Smtp, Duration::from_secs(5));
    let e = s.connect("127.0.0.1", port).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    assert_eq!(e.os_error(), Some(libc::ECONNREFUSED), "{e}");
    // a Unix socket file whose listener is gone
    let dir = TempDir::new("smtpclient-refused");
    let path = dir.path().join("gone.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let mut s = session(SessionKind::Lmtp, Duration::from_secs(5));
    let e = s.connect(path.to_str().unwrap(), 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    assert_eq!(e.os_error(), Some(libc::ECONNREFUSED), "{e}");
}

#[test]
fn tcp_connect_to_a_full_backlog_times_out_naming_host_address_and_limit() {
    // backlog 0 holds one connection; once it is queued, Linux drops further SYNs
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    loop {
        let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        if c.connect_timeout(&addr.into(), Duration::from_millis(200)).is_err() {
            break;
        }
        queued.push(c);
        assert!(queued.len() < 16, "the backlog of listen(0) never filled");
    }
    let mut s = session(SessionKind::Smtp, Duration::from_millis(700));
    let start = Instant::now();
    let e = s.connect("localhost", addr.port()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(start.elapsed() < Duration::from_millis(2500), "{:?}", start.elapsed());
    assert!(e.message().contains(&format!("connect to localhost ({addr}) timed out after 700 ms")), "{e}");
}

#[test]
fn a_write_the_server_never_reads_times_out_naming_the_bytes_written() {
    let mut steps = support::greet_and_ehlo(&[]);
    steps.extend([
        Step::expect("MAIL FROM:"),
        Step::reply("250 ok"),
        Step::expect("RCPT TO:"),
        Step::reply("250 ok"),
        Step::expect("DATA"),
        Step::reply("354 go"),
        // never reads the body, and closes after 6 s: a write not bounded by the 1 s timeout
        // would end then, as a disconnection
        Step::sleep_ms(6000),
    ]);
    let server = ScriptedServer::tcp(steps);
    let mut s = session(SessionKind::Smtp, Duration::from_secs(1));
    s.connect(&server.addr(), 0).unwrap();
    // more than the loopback socket buffers hold
    let body = vec![b'x'; 32 << 20];
    let e = s.sendmail("a@example.test", &["b@example.test"], &body, &[], &[]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let wanted = format!("writing to {} timed out after 1000 ms (", server.addr());
    assert!(e.message().contains(&wanted), "{e}");
    assert!(e.message().contains(" bytes written)"), "{e}");
    drop(server.finish());
}
