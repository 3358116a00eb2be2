//! A whole client session against a server whose every byte comes from the fuzz input.
//!
//! The client is a real `Session` on a real Unix socket: connect, optionally `login`,
//! `sendmail` (two recipients, a small message), `send_message` (envelope from the headers),
//! `noop`, `quit`. The server is a thread of this process behind one listener reused by every
//! run.
//!
//! Input: the first byte chooses the setup, the rest is what the server sends.
//! - bit 0 clear, "blast": the bytes are written at once (in up to four writes, split at
//!   positions taken from the input), then the server stops sending and reads until the client
//!   closes;
//! - bit 0 set, "turns": the bytes are split on NUL into segments; the first is the greeting,
//!   and each later one is sent when the client has sent a command line (a pipelined batch is
//!   one turn per command; `BDAT n` includes its n bytes; after a 354 to DATA, the whole
//!   message); at once when the previous segment left the client waiting for the
//!   rest of a reply (empty, a partial line, or a last line `xyz-`); or when the client has
//!   been silent for a moment (e.g. LMTP waiting for more per-recipient replies); after the
//!   last segment the server stops sending;
//! - bit 1: LMTP instead of SMTP; bit 2: debug output at level 1 into a sink; bit 3: the
//!   `send_message` message has a non-ASCII recipient (SMTPUTF8 path); bit 4: `login` first
//!   (AUTH against the server's EHLO, challenges and replies), with bit 5 as its
//!   `initial_response_ok`; bit 6: CHUNKING (BDAT) off; bit 7: PIPELINING off.
//!
//! The client's timeout is 200 ms, so a stalled exchange ends quickly. Any `Err` is fine; a
//! panic, an abort or a hang is a bug.
#![no_main]

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use smtpclient::session::DebugEvent;
use smtpclient::{Session, SessionKind};

const CLIENT_TIMEOUT: Duration = Duration::from_millis(200);
/// How long the server waits for the client before sending its next segment anyway.
const SERVER_PATIENCE: Duration = Duration::from_millis(25);

const MSG: &[u8] = b"From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nBcc: carol@example.test\r\n\
Subject: fuzz\r\n\r\nHello.\r\n.leading dot\r\n";
const MSG_UTF8: &[u8] = "From: alice@example.test\r\nTo: J\u{f6}rg <j\u{f6}rg@b\u{fc}cher.example>\r\n\
Subject: fuzz\r\n\r\nHall\u{f6}\r\n"
    .as_bytes();

struct Job {
    turns: bool,
    payload: Vec<u8>,
    /// Up to three positions splitting a blast into writes.
    splits: Vec<usize>,
}

struct Harness {
    path: String,
    jobs: Sender<Job>,
    done: Receiver<()>,
}

static HARNESS: OnceLock<Mutex<Harness>> = OnceLock::new();
static DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn on_sigpipe(_: libc::c_int) {
    // Async-signal-safe: write(2) and abort(3) only.
    const MSG: &[u8] = b"SIGPIPE raised by the library: a write to a closed socket must not signal\n";
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::abort();
    }
}

extern "C" fn remove_socket_dir() {
    if let Some(dir) = DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn harness() -> &'static Mutex<Harness> {
    HARNESS.get_or_init(|| {
        // The client often writes to a server that has closed. A C host may not ignore
        // SIGPIPE, so the library must never raise it (it writes with MSG_NOSIGNAL): a SIGPIPE
        // is turned into an abort, which libFuzzer reports with the input.
        unsafe {
            libc::signal(libc::SIGPIPE, on_sigpipe as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
        let dir = std::env::temp_dir().join(format!("smtpclient-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("socket directory");
        let path = dir.join("server.sock");
        let _ = DIR.set(dir);
        unsafe {
            libc::atexit(remove_socket_dir);
        }
        let listener = UnixListener::bind(&path).expect("bind the server socket");
        let (jobs_tx, jobs_rx) = channel::<Job>();
        let (done_tx, done_rx) = channel::<()>();
        std::thread::spawn(move || {
            for job in jobs_rx {
                if let Some(stream) = accept(&listener, Duration::from_secs(2)) {
                    serve(stream, &job);
                }
                if done_tx.send(()).is_err() {
                    return;
                }
            }
        });
        Mutex::new(Harness { path: path.to_str().expect("UTF-8 path").to_owned(), jobs: jobs_tx, done: done_rx })
    })
}

/// Accept one connection, or give up after `wait` (a client that never connected).
fn accept(listener: &UnixListener, wait: Duration) -> Option<UnixStream> {
    let mut pfd = libc::pollfd { fd: listener.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    let n = unsafe { libc::poll(&mut pfd, 1, wait.as_millis() as libc::c_int) };
    if n != 1 {
        return None;
    }
    listener.accept().ok().map(|(s, _)| s)
}

fn serve(mut s: UnixStream, job: &Job) {
    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
    if job.turns {
        serve_turns(&mut s, &job.payload);
    } else {
        let mut prev = 0;
        for &at in job.splits.iter().chain(std::iter::once(&job.payload.len())) {
            let at = at.clamp(prev, job.payload.len());
            if s.write_all(&job.payload[prev..at]).is_err() {
                break;
            }
            prev = at;
        }
    }
    let _ = s.shutdown(std::net::Shutdown::Write);
    // Read until the client closes (bounded: the client's own timeout ends it).
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut sink = [0u8; 4096];
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
}

/// One segment per client turn (see [`turn_len`]); pipelined commands are separate turns.
fn serve_turns(s: &mut UnixStream, payload: &[u8]) {
    let mut segments = payload.split(|&b| b == 0);
    let Some(greeting) = segments.next() else {
        return;
    };
    if s.write_all(greeting).is_err() {
        return;
    }
    let _ = s.set_read_timeout(Some(SERVER_PATIENCE));
    let mut inbox: Vec<u8> = Vec::new();
    let mut expect_body = false;
    let mut buf = [0u8; 4096];
    let mut client_waits = leaves_client_waiting(greeting);
    for segment in segments {
        // Wait for the end of the client's turn, or for its silence. A client still waiting
        // for the rest of a reply has no turn to take: the next segment goes at once.
        while !client_waits {
            if let Some(end) = turn_len(&inbox, expect_body) {
                let line: Vec<u8> = inbox.drain(..end).collect();
                let was_data = !expect_body && line.eq_ignore_ascii_case(b"DATA\r\n");
                expect_body = was_data && segment.starts_with(b"354");
                break;
            }
            match s.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => inbox.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // Silence: the client waits for more of a reply. Move on.
                    expect_body = false;
                    inbox.clear();
                    break;
                }
            }
        }
        if s.write_all(segment).is_err() {
            return;
        }
        client_waits = leaves_client_waiting(segment);
    }
}

/// The length of the client's next turn at the start of `inbox`, once all of it has arrived:
/// a command line; a `BDAT n` line with its n bytes; after a 354 to DATA, the message up to
/// its `.` line (just `.` CRLF for the empty message sent when no recipient was accepted).
fn turn_len(inbox: &[u8], expect_body: bool) -> Option<usize> {
    if expect_body {
        if inbox.starts_with(b".\r\n") {
            return Some(3);
        }
        return find(inbox, b"\r\n.\r\n").map(|i| i + 5);
    }
    let eol = find(inbox, b"\r\n")? + 2;
    let line = &inbox[..eol];
    if line.len() > 5 && line[..5].eq_ignore_ascii_case(b"BDAT ") {
        let digits = line[5..].iter().take_while(|b| b.is_ascii_digit()).count();
        if let Some(size) = std::str::from_utf8(&line[5..5 + digits]).ok().and_then(|d| d.parse::<usize>().ok()) {
            let end = eol.checked_add(size)?;
            return (inbox.len() >= end).then_some(end);
        }
    }
    Some(eol)
}

/// Whether, after `segment`, the client is still reading a reply: nothing sent, a partial
/// line, or a last line that announces more (`xyz-`).
fn leaves_client_waiting(segment: &[u8]) -> bool {
    let Some(body) = segment.strip_suffix(b"\n") else {
        return true;
    };
    let last = body.rsplit(|&b| b == b'\n').next().unwrap_or(body);
    last.get(3) == Some(&b'-')
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[derive(Clone, Copy)]
struct Setup {
    kind: SessionKind,
    debug: bool,
    utf8: bool,
    login: bool,
    initial_response_ok: bool,
    chunking: bool,
    pipelining: bool,
}

/// `SMTPCLIENT_FUZZ_VERBOSE=1`: print what each step returned (to check what a seed reaches).
fn verbose() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var_os("SMTPCLIENT_FUZZ_VERBOSE").is_some_and(|v| v != "0"))
}

fn step<T: std::fmt::Debug>(what: &str, r: smtpclient::Result<T>) {
    if verbose() {
        match r {
            Ok(v) => eprintln!("{what}: Ok({v:?})"),
            Err(e) => eprintln!("{what}: Err({:?}: {e})", e.kind()),
        }
    }
}

fn run_client(path: &str, setup: &Setup) {
    let Setup { kind, debug, utf8, login, initial_response_ok, chunking, pipelining } = *setup;
    let mut session = Session::new(kind);
    session.set_timeout(Some(CLIENT_TIMEOUT));
    session.set_local_hostname(Some("client.example.test")).unwrap();
    session.set_chunking(chunking);
    session.set_pipelining(pipelining);
    if debug {
        session.set_debug_level(1);
        session.set_debug_sink(Some(Box::new(|e: &DebugEvent<'_>| {
            std::hint::black_box(e.data.len());
        })));
    }
    let connected = session.connect(path, 0);
    let ok = connected.is_ok();
    step("connect", connected.map(|r| r.code()));
    if !ok {
        return;
    }
    if login {
        step("login", session.login("alice", "alice-pass", initial_response_ok));
    }
    step(
        "sendmail",
        session.sendmail("alice@example.test", &["bob@example.test", "carol@example.test"], MSG, &[], &[]),
    );
    for r in session.recipients() {
        std::hint::black_box((r.address(), r.rcpt_reply().code(), r.refusal().is_some()));
    }
    let _ = session.refused().count();
    let msg = if utf8 { MSG_UTF8 } else { MSG };
    step("send_message", session.send_message(msg, None, None, &[], &[]));
    step("noop", session.noop().map(|r| r.code()));
    step("quit", session.quit().map(|r| r.code()));
    std::hint::black_box((session.greeting(), session.ehlo_resp(), session.last_reply(), session.features().len()));
}

fuzz_target!(|data: &[u8]| {
    let Some((&setup, payload)) = data.split_first() else {
        return;
    };
    let turns = setup & 1 != 0;
    let client = Setup {
        kind: if setup & 2 != 0 { SessionKind::Lmtp } else { SessionKind::Smtp },
        debug: setup & 4 != 0,
        utf8: setup & 8 != 0,
        login: setup & 16 != 0,
        initial_response_ok: setup & 32 != 0,
        chunking: setup & 64 == 0,
        pipelining: setup & 128 == 0,
    };
    let splits: Vec<usize> = if turns || payload.is_empty() {
        Vec::new()
    } else {
        let mut v: Vec<usize> = payload.iter().take(3).map(|&b| usize::from(b) * payload.len() / 256).collect();
        v.sort_unstable();
        v
    };

    let harness = harness().lock().unwrap_or_else(|e| e.into_inner());
    harness.jobs.send(Job { turns, payload: payload.to_vec(), splits }).expect("server thread alive");
    run_client(&harness.path, &client);
    // The client has closed: the server finishes reading and is ready for the next run.
    harness.done.recv().expect("server thread alive");
});
