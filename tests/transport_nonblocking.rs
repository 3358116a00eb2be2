//! The I/O layer under the non-blocking driver, driven as an event loop drives it: one thread,
//! `poll(2)` on the descriptor each step names, the clock kept here. Against the test bed's
//! real servers (Postfix by IPv4, IPv6 and name, Postfix's implicit TLS, Dovecot LMTP's Unix
//! socket); scripted and wedged peers only for the faults.

mod support;

use std::net::TcpListener;
use std::os::fd::RawFd;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use smtpclient::tls::{TlsConfig, TlsInfo};
use smtpclient::transport::{Connection, Endpoint, Interest, Opening, TimeoutPhase};
use smtpclient::{Error, ErrorKind};
use support::{ScriptedServer, Step, TempDir, TestBed};

/// Tests that count this process's descriptors take it for writing; every other test for
/// reading, so no descriptor opens or closes behind the count.
static FDS: RwLock<()> = RwLock::new(());

fn shared() -> std::sync::RwLockReadGuard<'static, ()> {
    FDS.read().unwrap_or_else(|e| e.into_inner())
}

const LONG: Duration = Duration::from_secs(20);

/// Wait until `fd` is ready for `interest` or `deadline` passes; whether it became ready.
fn wait(fd: RawFd, interest: Interest, deadline: Instant) -> bool {
    let events = match interest {
        Interest::Read => libc::POLLIN,
        Interest::Write => libc::POLLOUT,
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        // round up: a wait that ends a little before the deadline would only spin
        let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let mut p = libc::pollfd { fd, events, revents: 0 };
        // SAFETY: one valid pollfd for the duration of the call
        let n = unsafe { libc::poll(&mut p, 1, ms) };
        if n > 0 {
            return true;
        }
        assert!(n == 0 || std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted);
    }
}

fn tcp(host: &str, port: u16) -> Endpoint {
    Endpoint::Tcp { host: host.to_owned(), port }
}

/// Open `endpoint` the non-blocking way, bounded by `limit`.
fn open(endpoint: &Endpoint, limit: Duration) -> Result<Connection, Error> {
    let deadline = Instant::now() + limit;
    let mut opening = Opening::start(endpoint, None, Some(deadline), Some(limit))?;
    loop {
        if let Some(conn) = opening.advance(Instant::now())? {
            return Ok(conn);
        }
        let (fd, interest) = opening.wait_for();
        assert!(fd >= 0, "an opening under way names a descriptor");
        wait(fd, interest, deadline);
    }
}

/// Read one whole reply (every line up to the one with a space after the code).
fn read_reply(conn: &mut Connection, limit: Duration) -> Result<String, Error> {
    let deadline = Instant::now() + limit;
    let before = conn.received();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.try_read(&mut buf)? {
            Ok(0) => return Err(Error::new(ErrorKind::ServerDisconnected, "closed before the reply")),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).into_owned();
                let complete = text.ends_with("\r\n")
                    && text.trim_end().rsplit("\r\n").next().is_some_and(|last| last.as_bytes().get(3) == Some(&b' '));
                if complete {
                    return Ok(text);
                }
            }
            Err(interest) => {
                if !wait(conn.raw_fd(), interest, deadline) {
                    return Err(conn.timeout_error(TimeoutPhase::Reply { received_before: before }));
                }
            }
        }
    }
}

fn write_all(conn: &mut Connection, data: &[u8], limit: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + limit;
    let mut written = 0;
    while written < data.len() {
        match conn.try_write(&data[written..])? {
            Ok(0) => return Err(Error::new(ErrorKind::ServerDisconnected, "closed while writing")),
            Ok(n) => written += n,
            Err(interest) => {
                if !wait(conn.raw_fd(), interest, deadline) {
                    return Err(conn.timeout_error(TimeoutPhase::Write { written, total: data.len() }));
                }
            }
        }
    }
    Ok(())
}

/// Run the TLS client handshake the non-blocking way, bounded by the connection's `limit`.
fn handshake(conn: &mut Connection, config: &TlsConfig, host: &str, limit: Duration) -> Result<TlsInfo, Error> {
    let deadline = Instant::now() + limit;
    let mut step = conn.start_tls_nonblocking(config, host)?;
    loop {
        match step {
            Ok(info) => return Ok(info),
            Err(interest) => {
                if !wait(conn.raw_fd(), interest, deadline) {
                    return Err(conn.timeout_error(TimeoutPhase::TlsHandshake));
                }
                step = conn.continue_tls()?;
            }
        }
    }
}

fn test_ca() -> TlsConfig {
    TlsConfig { ca_file: Some(TestBed::get().smtp_ca_file.clone()), ..TlsConfig::default() }
}

/// Greeting, EHLO and QUIT over `conn`: the conversation a driver starts with.
fn greet_and_ehlo(conn: &mut Connection) {
    let greeting = read_reply(conn, LONG).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting:?}");
    write_all(conn, b"EHLO client.example.test\r\n", LONG).unwrap();
    let ehlo = read_reply(conn, LONG).unwrap();
    assert!(ehlo.starts_with("250-") && ehlo.contains("PIPELINING"), "{ehlo:?}");
    write_all(conn, b"QUIT\r\n", LONG).unwrap();
    assert!(read_reply(conn, LONG).unwrap().starts_with("221"));
}

// ------------------------------------------------------------------------------ real servers

#[test]
fn opens_postfix_by_ipv4_ipv6_and_name_and_talks_without_blocking() {
    let _fds = shared();
    let bed = TestBed::get();
    let mut hosts = vec![bed.smtp_host.clone(), "localhost".to_owned()];
    hosts.extend(bed.smtp_host6.clone());
    for host in hosts {
        let endpoint = tcp(&host, bed.smtp_port);
        let deadline = Instant::now() + LONG;
        let opening = Opening::start(&endpoint, None, Some(deadline), Some(LONG)).unwrap();
        // an IP literal never goes to the resolver: the first wait is for the socket to connect
        let (fd, interest) = opening.wait_for();
        assert!(fd >= 0);
        let literal = host.parse::<std::net::IpAddr>().is_ok();
        assert_eq!(interest, if literal { Interest::Write } else { Interest::Read }, "{host}");
        drop(opening);
        let mut conn = open(&endpoint, LONG).unwrap();
        assert!(conn.peer().is_local());
        let fd = conn.raw_fd();
        greet_and_ehlo(&mut conn);
        assert_eq!(conn.raw_fd(), fd);
        // the end of the stream after QUIT
        let mut buf = [0u8; 16];
        let deadline = Instant::now() + LONG;
        loop {
            match conn.try_read(&mut buf).unwrap() {
                Ok(n) => {
                    assert_eq!(n, 0, "nothing after 221");
                    break;
                }
                Err(interest) => assert!(wait(conn.raw_fd(), interest, deadline), "Postfix never closed"),
            }
        }
    }
}

#[test]
fn implicit_tls_to_postfix_completes_and_reads_the_greeting_over_tls() {
    let _fds = shared();
    let bed = TestBed::get();
    for host in ["127.0.0.1", "localhost"] {
        let mut conn = open(&tcp(host, bed.smtp_smtps_port), LONG).unwrap();
        let fd = conn.raw_fd();
        let info = handshake(&mut conn, &test_ca(), host, LONG).unwrap();
        assert!(info.verified, "{info:?}");
        assert!(info.version.starts_with("TLSv1."), "{info:?}");
        assert!(conn.is_tls());
        assert_eq!(conn.raw_fd(), fd, "the descriptor is the same under TLS");
        greet_and_ehlo(&mut conn);
        // a second handshake is refused, the connection kept
        let e = conn.start_tls_nonblocking(&test_ca(), host).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadState, "{e}");
        assert!(conn.is_tls());
    }
}

#[test]
fn a_certificate_for_another_name_is_a_certificate_error() {
    let _fds = shared();
    let bed = TestBed::get();
    let mut conn = open(&tcp(&bed.smtp_host, bed.smtp_smtps_port), LONG).unwrap();
    let e = handshake(&mut conn, &test_ca(), "mx.example.test", LONG).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{e}");
    assert!(e.message().contains("certificate verification failed for mx.example.test"), "{e}");
    // the same as the blocking handshake says
    let mut blocking = Connection::open(&tcp(&bed.smtp_host, bed.smtp_smtps_port), Some(LONG), None).unwrap();
    let b = blocking.start_tls(&test_ca(), "mx.example.test").unwrap_err();
    assert_eq!((b.kind(), b.message()), (e.kind(), e.message()));
    // the system store does not know the test CA either
    let mut conn = open(&tcp(&bed.smtp_host, bed.smtp_smtps_port), LONG).unwrap();
    let e = handshake(&mut conn, &TlsConfig::default(), "localhost", LONG).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TlsCertificate, "{e}");
    // the failed handshake closed the connection
    assert_eq!(conn.raw_fd(), -1);
    assert_eq!(conn.try_read(&mut [0u8; 8]).unwrap_err().kind(), ErrorKind::ServerDisconnected);
}

#[test]
fn the_lmtp_unix_socket_opens_without_blocking() {
    let _fds = shared();
    let bed = TestBed::get();
    let mut conn = open(&Endpoint::Unix(bed.lmtp_socket.to_str().unwrap().to_owned()), LONG).unwrap();
    assert!(conn.peer().is_local());
    let greeting = read_reply(&mut conn, LONG).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting:?}");
    write_all(&mut conn, b"LHLO client.example.test\r\n", LONG).unwrap();
    let lhlo = read_reply(&mut conn, LONG).unwrap();
    assert!(lhlo.starts_with("250-") && lhlo.contains("CHUNKING"), "{lhlo:?}");
    write_all(&mut conn, b"QUIT\r\n", LONG).unwrap();
    assert!(read_reply(&mut conn, LONG).unwrap().starts_with("221"));
}

/// Fifty openings at once from one thread, half of them by name (so the resolver pool has more
/// jobs than threads), each polled in one `poll` call with the others, then each greeted.
#[test]
fn fifty_connections_open_at_once_from_one_thread() {
    let _fds = shared();
    let bed = TestBed::get();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(60);
    let mut openings: Vec<Option<Opening>> = (0..50)
        .map(|i| {
            let host = if i % 2 == 0 { bed.smtp_host.as_str() } else { "localhost" };
            Some(
                Opening::start(&tcp(host, bed.smtp_port), None, Some(deadline), Some(Duration::from_secs(60))).unwrap(),
            )
        })
        .collect();
    let mut conns: Vec<Connection> = Vec::new();
    let mut polls = 0;
    while conns.len() < 50 {
        for slot in openings.iter_mut() {
            if let Some(o) = slot {
                if let Some(c) = o.advance(Instant::now()).unwrap() {
                    conns.push(c);
                    *slot = None;
                }
            }
        }
        let mut fds: Vec<libc::pollfd> = openings
            .iter()
            .flatten()
            .map(|o| {
                let (fd, interest) = o.wait_for();
                let events = if interest == Interest::Read { libc::POLLIN } else { libc::POLLOUT };
                libc::pollfd { fd, events, revents: 0 }
            })
            .collect();
        if fds.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "{} of 50 opened by the deadline", conns.len());
        // SAFETY: `fds` is a valid array of its length for the duration of the call
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
        assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
        polls += 1;
    }
    let opened = start.elapsed();
    assert_eq!(conns.len(), 50);
    let fds: std::collections::HashSet<RawFd> = conns.iter().map(Connection::raw_fd).collect();
    assert_eq!(fds.len(), 50, "fifty distinct sockets");
    // every one reaches Postfix: its greeting (Postfix starts smtpd processes as they come)
    for conn in conns.iter_mut() {
        let greeting = read_reply(conn, Duration::from_secs(60)).unwrap();
        assert!(greeting.starts_with("220 "), "{greeting:?}");
        write_all(conn, b"QUIT\r\n", LONG).unwrap();
    }
    eprintln!("50 openings: connected in {opened:?} over {polls} polls, all greeted after {:?}", start.elapsed());
}

// ------------------------------------------------------------------------------ faults

#[test]
fn a_refused_connection_is_the_kind_and_message_of_the_blocking_open() {
    let _fds = shared();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for host in ["127.0.0.1", "localhost"] {
        let endpoint = tcp(host, port);
        let e = open(&endpoint, Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        assert_eq!(e.os_error(), Some(libc::ECONNREFUSED), "{e}");
        let b = Connection::open(&endpoint, Some(Duration::from_secs(5)), None).unwrap_err();
        assert_eq!((b.kind(), b.message(), b.os_error()), (e.kind(), e.message(), e.os_error()));
    }
    // a Unix socket whose listener is gone
    let dir = TempDir::new("smtpclient-nb-refused");
    let path = dir.path().join("gone.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let endpoint = Endpoint::Unix(path.to_str().unwrap().to_owned());
    let e = open(&endpoint, Duration::from_secs(5)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    let b = Connection::open(&endpoint, Some(Duration::from_secs(5)), None).unwrap_err();
    assert_eq!((b.kind(), b.message()), (e.kind(), e.message()));
}

#[test]
fn the_source_address_is_bound_and_one_of_the_wrong_family_is_refused() {
    let _fds = shared();
    let bed = TestBed::get();
    let deadline = Instant::now() + LONG;
    let source = ("127.0.0.1".to_owned(), 0);
    let mut opening =
        Opening::start(&tcp(&bed.smtp_host, bed.smtp_port), Some(&source), Some(deadline), Some(LONG)).unwrap();
    let mut conn = loop {
        if let Some(c) = opening.advance(Instant::now()).unwrap() {
            break c;
        }
        let (fd, interest) = opening.wait_for();
        wait(fd, interest, deadline);
    };
    greet_and_ehlo(&mut conn);
    let source = ("::1".to_owned(), 0);
    let e = Opening::start(&tcp(&bed.smtp_host, bed.smtp_port), Some(&source), Some(deadline), Some(LONG)).unwrap_err();
    let b = Connection::open(&tcp(&bed.smtp_host, bed.smtp_port), Some(LONG), Some(&source)).unwrap_err();
    assert_eq!((e.kind(), e.message()), (b.kind(), b.message()));
    assert_eq!(
        e.message(),
        "no source address of the family of 127.0.0.1:2525".replace("2525", &bed.smtp_port.to_string())
    );
}

/// A listener with a full backlog on 127.0.0.1 (Linux then drops further SYNs): a connect to it
/// can only time out. Holds the queued connections open.
fn wedged_tcp_listener() -> (Socket, std::net::SocketAddr, Vec<Socket>) {
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
    (listener, addr, queued)
}

#[test]
fn a_connect_past_its_deadline_times_out_naming_host_address_and_limit() {
    let _fds = shared();
    let (_listener, addr, _queued) = wedged_tcp_listener();
    let limit = Duration::from_millis(50);
    let start = Instant::now();
    let e = open(&tcp("127.0.0.1", addr.port()), limit).unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.message(), format!("connect to 127.0.0.1 ({addr}) timed out after 50 ms"));
    assert!(elapsed >= limit && elapsed < Duration::from_millis(1000), "{elapsed:?}");
}

/// A Unix-socket listener that never accepts and whose backlog is full.
fn wedged_unix_listener(dir: &TempDir) -> (String, Socket, Vec<Socket>) {
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
    (path.to_str().unwrap().to_owned(), listener, queued)
}

#[test]
fn a_unix_socket_with_a_full_backlog_is_retried_until_room_or_the_deadline() {
    let _fds = shared();
    let dir = TempDir::new("smtpclient-nb-wedged");
    let (path, listener, _queued) = wedged_unix_listener(&dir);
    let endpoint = Endpoint::Unix(path.clone());
    // nobody makes room: the deadline ends it, the timer having woken the loop
    let limit = Duration::from_millis(300);
    let start = Instant::now();
    let e = open(&endpoint, limit).unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.message(), format!("connect to {path} timed out after 300 ms"));
    assert!(elapsed >= limit && elapsed < Duration::from_millis(1000), "{elapsed:?}");
    // room appears while the opening waits: it connects
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut opening = Opening::start(&endpoint, None, Some(deadline), Some(Duration::from_secs(5))).unwrap();
    let (fd, interest) = opening.wait_for();
    assert_eq!(interest, Interest::Read, "the retry timer is read");
    assert!(!wait(fd, interest, Instant::now() + Duration::from_millis(2)), "the timer fired at once");
    let accepted_at = Instant::now() + Duration::from_millis(100);
    let mut accepted = None;
    let conn = loop {
        if accepted.is_none() && Instant::now() >= accepted_at {
            accepted = Some(listener.accept().unwrap());
        }
        if let Some(c) = opening.advance(Instant::now()).unwrap() {
            break c;
        }
        let (fd, interest) = opening.wait_for();
        assert!(wait(fd, interest, deadline), "the retry timer never fired");
    };
    assert!(accepted.is_some(), "connected before there was room");
    assert!(conn.peer().is_local());
    assert!(Instant::now() < accepted_at + Duration::from_millis(500), "the retries stopped");
}

#[test]
fn a_handshake_the_server_never_answers_times_out_with_the_blocking_message() {
    let _fds = shared();
    let server = ScriptedServer::tcp(vec![Step::ReadUntilClose]);
    let limit = Duration::from_millis(300);
    let mut conn = open(&tcp("127.0.0.1", server.port()), limit).unwrap();
    let start = Instant::now();
    let e = handshake(&mut conn, &test_ca(), "localhost", limit).unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let expected = format!("TLS handshake with 127.0.0.1:{} timed out after 300 ms (0 bytes received)", server.port());
    assert_eq!(e.message(), expected);
    assert!(elapsed >= limit && elapsed < Duration::from_millis(1000), "{elapsed:?}");
    // still mid-handshake: reads and writes are refused until it finishes
    assert_eq!(conn.try_read(&mut [0u8; 8]).unwrap_err().kind(), ErrorKind::BadState);
    drop(conn);
    server.finish();
    // the blocking handshake says the same
    let server = ScriptedServer::tcp(vec![Step::ReadUntilClose]);
    let mut conn = Connection::open(&tcp("127.0.0.1", server.port()), Some(limit), None).unwrap();
    let b = conn.start_tls(&test_ca(), "localhost").unwrap_err();
    let expected = format!("TLS handshake with 127.0.0.1:{} timed out after 300 ms (0 bytes received)", server.port());
    assert_eq!((b.kind(), b.message()), (ErrorKind::Timeout, expected.as_str()));
    drop(conn);
    server.finish();
}

#[test]
fn timeouts_of_reads_and_writes_read_as_the_blocking_ones() {
    let _fds = shared();
    // a server that greets and then reads nothing: the write fills the socket buffers
    let server = ScriptedServer::tcp(vec![Step::reply("220 mx ESMTP"), Step::sleep_ms(3000)]);
    let limit = Duration::from_millis(200);
    let mut conn = open(&tcp("127.0.0.1", server.port()), limit).unwrap();
    read_reply(&mut conn, limit).unwrap();
    let before = conn.received();
    let e = read_reply(&mut conn, limit).unwrap_err();
    let name = format!("127.0.0.1:{}", server.port());
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.message(), format!("timed out after 200 ms waiting for the reply from {name} (0 bytes received)"));
    assert_eq!(conn.received(), before);
    let big = vec![b'x'; 64 << 20];
    let e = write_all(&mut conn, &big, limit).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let prefix = format!("writing to {name} timed out after 200 ms (");
    assert!(
        e.message().starts_with(&prefix) && e.message().ends_with(&format!(" of {} bytes written)", big.len())),
        "{e}"
    );
    let blocking = conn.explain_write_error(Error::new(ErrorKind::Timeout, "timed out"), 7, 9);
    assert_eq!(conn.timeout_error(TimeoutPhase::Write { written: 7, total: 9 }).message(), blocking.message());
    drop(conn);
    server.finish();
}

// ------------------------------------------------------------------------------ descriptors

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Dropping an opening at any step closes everything it opened: the resolver's socket pair
/// (once its thread is done with the job), the connecting socket, the retry timer.
#[test]
fn an_abandoned_opening_leaks_no_descriptor() {
    let _alone = FDS.write().unwrap_or_else(|e| e.into_inner());
    let bed = TestBed::get();
    let (_listener, wedged, _queued) = wedged_tcp_listener();
    let dir = TempDir::new("smtpclient-nb-leak");
    let (unix_path, _unix_listener, _unix_queued) = wedged_unix_listener(&dir);
    let before = open_fds();
    let deadline = Some(Instant::now() + LONG);
    for _ in 0..5 {
        // resolving (dropped before its answer, most likely), connecting, waiting for room
        let by_name = Opening::start(&tcp("localhost", bed.smtp_port), None, deadline, Some(LONG)).unwrap();
        let connecting = Opening::start(&tcp("127.0.0.1", wedged.port()), None, deadline, Some(LONG)).unwrap();
        let unix = Opening::start(&Endpoint::Unix(unix_path.clone()), None, deadline, Some(LONG)).unwrap();
        assert!(open_fds() > before);
        drop((by_name, connecting, unix));
    }
    // a resolver thread holds its end of a pair until it has answered the job
    let settle = Instant::now() + Duration::from_secs(10);
    while open_fds() != before && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(open_fds(), before, "descriptors left open by abandoned openings");
    // and a completed opening holds only its socket
    let conn = open(&tcp("localhost", bed.smtp_port), LONG).unwrap();
    let settle = Instant::now() + Duration::from_secs(10);
    while open_fds() != before + 1 && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(open_fds(), before + 1);
    drop(conn);
    assert_eq!(open_fds(), before);
}
