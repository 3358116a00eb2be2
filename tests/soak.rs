//! Fault soak: thousands of messages over many connections, with every call timed, and the
//! outcome of every message reconciled with what the server actually has.
//!
//! * `fault_server_soak`: a multi-connection SMTP server inside the test whose connections
//!   each draw a fate from a seeded PRNG: closed (FIN or reset) before the greeting, a reply
//!   cut in half, 421, a refusal, a stall, a reset in the middle of the message, a close right
//!   after the final dot, or nothing at all. The server records, per message, whether it got
//!   the whole message and whether it acknowledged it.
//! * `postfix_soak`: the test bed's Postfix, with temporary refusals at MAIL (sender
//!   `tempfail@`), at RCPT (recipient `tempfail@`) and at the end of data (a body line
//!   `X-TEMPFAIL-ME-IN-BODY`); deliveries are counted in the Maildir by a marker per message.
//!
//! Every message ends as exactly one of: delivered, refused (with its code), not delivered
//! (failed before the end of the data; nothing delivered) or delivery unknown. Invariants:
//! a message the server acknowledged is reported delivered, and only such a message; delivery
//! unknown only when the server got the whole message; every call returns within its timeout
//! plus a margin; the resident set grows by less than 8 MB after a warm-up.
//!
//! `SOAK_MESSAGES` sets the number of messages for the fault server (default 5000; Postfix gets
//! a third of it), `SOAK_SEED` the seed. The counts table is printed (run with `--nocapture`)
//! and written to `$CARGO_TARGET_TMPDIR/soak-*.txt`.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use smtpclient::session::{BodyRead, SessionKind};
use smtpclient::{ErrorKind, Session};
use support::TestBed;

/// Timeout of every session (connect, each read, each write).
const TIMEOUT: Duration = Duration::from_secs(2);
/// What a call may take beyond its timeout (scheduling on a loaded machine).
const MARGIN: Duration = Duration::from_millis(1500);
/// Most the resident set may grow between the end of the warm-up and the end of the run.
const RSS_GROWTH_LIMIT_KB: u64 = 8 * 1024;
/// Client threads.
const CLIENTS: usize = 4;

/// The two soaks measure this process's memory: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

fn seed() -> u64 {
    std::env::var("SOAK_SEED").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0x50AC_5EED)
}

fn vm_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// splitmix64.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed);
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `percent`/100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

// =============================================================================================
// Outcomes and the client side
// =============================================================================================

/// What the library reported for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Refused(u16),
    /// Failed before the end of the data (the message cannot have been taken).
    NotDelivered(ErrorKind),
    Unknown,
}

impl Outcome {
    fn of(res: smtpclient::Result<()>) -> Outcome {
        match res {
            Ok(()) => Outcome::Delivered,
            Err(e) => match e.kind() {
                ErrorKind::DeliveryUnknown => Outcome::Unknown,
                ErrorKind::SenderRefused | ErrorKind::RecipientsRefused | ErrorKind::Data => {
                    Outcome::Refused(e.reply().map_or(0, |r| r.code()))
                }
                k => Outcome::NotDelivered(k),
            },
        }
    }

    fn class(&self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Refused(_) => "refused",
            Outcome::NotDelivered(_) => "not delivered",
            Outcome::Unknown => "delivery unknown",
        }
    }
}

/// One message to send.
struct Plan {
    from: String,
    to: Vec<String>,
    /// The header (and, for small messages, the whole message).
    head: Vec<u8>,
    /// Streamed after `head` when set (large messages).
    filler: Option<Arc<Vec<u8>>>,
}

/// The longest each kind of call took, and how many there were.
#[derive(Default)]
struct Timings {
    calls: BTreeMap<&'static str, (usize, Duration)>,
}

impl Timings {
    fn time<T>(&mut self, what: &'static str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let took = start.elapsed();
        assert!(took < TIMEOUT + MARGIN, "{what} took {took:?}: more than its {TIMEOUT:?} timeout + {MARGIN:?}");
        let e = self.calls.entry(what).or_default();
        e.0 += 1;
        e.1 = e.1.max(took);
        out
    }
    fn merge(&mut self, other: Timings) {
        for (k, (n, d)) in other.calls {
            let e = self.calls.entry(k).or_default();
            e.0 += n;
            e.1 = e.1.max(d);
        }
    }
}

/// Send the messages `ids` to `addr` one after the other, a new connection after every 1 to 8
/// messages or after a failure; returns each message's outcome.
fn client(
    addr: &str,
    ids: Vec<usize>,
    plan: &(dyn Fn(usize) -> Plan + Sync),
    rng: &mut Rng,
    timings: &mut Timings,
) -> Vec<(usize, Outcome)> {
    let mut out = Vec::with_capacity(ids.len());
    let mut session: Option<Session> = None;
    let mut left_on_connection = 0;
    for id in ids {
        if session.as_ref().is_none_or(|s| !s.is_connected()) {
            let mut s = support::new_session(SessionKind::Smtp);
            s.set_local_hostname(Some("soak.client.test")).unwrap();
            s.set_timeout(Some(TIMEOUT));
            s.set_chunking(rng.chance(50));
            s.set_pipelining(rng.chance(80));
            let res = timings.time("connect", || s.connect(addr, 0));
            if let Err(e) = res {
                out.push((id, Outcome::NotDelivered(e.kind())));
                continue;
            }
            session = Some(s);
            left_on_connection = 1 + rng.below(8);
        }
        let s = session.as_mut().expect("connected");
        let p = plan(id);
        let to: Vec<&str> = p.to.iter().map(String::as_str).collect();
        let res = match &p.filler {
            None => timings.time("sendmail", || s.sendmail(&p.from, &to, &p.head, &[], &[])),
            Some(filler) => {
                let parts: [&[u8]; 2] = [&p.head, filler];
                let (mut part, mut pos) = (0, 0);
                let mut read = |buf: &mut [u8]| loop {
                    if part == parts.len() {
                        return BodyRead::End;
                    }
                    let rest = &parts[part][pos..];
                    if rest.is_empty() {
                        part += 1;
                        pos = 0;
                        continue;
                    }
                    let n = rest.len().min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    pos += n;
                    return BodyRead::Data(n);
                };
                timings.time("sendmail_stream", || s.sendmail_stream(&p.from, &to, &mut read, None, &[], &[]))
            }
        };
        out.push((id, Outcome::of(res)));
        left_on_connection -= 1;
        if left_on_connection == 0 && s.is_connected() {
            let _ = timings.time("quit", || s.quit());
        }
    }
    if let Some(mut s) = session {
        if s.is_connected() {
            let _ = timings.time("quit", || s.quit());
        }
    }
    out
}

/// Run `ids` through `CLIENTS` client threads; outcomes indexed by id (each set exactly once).
fn run_clients(
    addr: &str,
    ids: std::ops::Range<usize>,
    plan: &(dyn Fn(usize) -> Plan + Sync),
    seed: u64,
    timings: &mut Timings,
) -> Vec<(usize, Outcome)> {
    let mut all = Vec::new();
    thread::scope(|scope| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|t| {
                let mine: Vec<usize> = ids.clone().filter(|id| id % CLIENTS == t).collect();
                scope.spawn(move || {
                    let mut rng = Rng::new(seed ^ ((t as u64 + 1) << 32) ^ ids.start as u64);
                    let mut timings = Timings::default();
                    let out = client(addr, mine, plan, &mut rng, &mut timings);
                    (out, timings)
                })
            })
            .collect();
        for h in handles {
            let (out, t) = h.join().expect("client thread");
            all.extend(out);
            timings.merge(t);
        }
    });
    all.sort_by_key(|(id, _)| *id);
    let n = ids.len();
    assert_eq!(all.len(), n, "one outcome per message");
    for (i, (id, _)) in all.iter().enumerate() {
        assert_eq!(*id, ids.start + i, "exactly one outcome for message {id}");
    }
    all
}

fn table(title: &str, rows: &[(String, usize)], extra: &str) -> String {
    let mut t = format!("\n{title}\n");
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(10).max(10);
    let _ = writeln!(t, "  {:<w$}  {:>7}", "outcome", "count");
    let _ = writeln!(t, "  {}  {}", "-".repeat(w), "-".repeat(7));
    for (k, v) in rows {
        let _ = writeln!(t, "  {k:<w$}  {v:>7}");
    }
    t.push_str(extra);
    t
}

fn report(name: &str, text: &str) {
    println!("{text}");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let _ = std::fs::write(dir.join(format!("soak-{name}.txt")), text);
}

fn outcome_rows(outcomes: &[(usize, Outcome)]) -> Vec<(String, usize)> {
    let mut rows: BTreeMap<String, usize> = BTreeMap::new();
    for (_, o) in outcomes {
        let key = match o {
            Outcome::Delivered => "delivered".to_owned(),
            Outcome::Refused(c) => format!("refused {c}"),
            Outcome::NotDelivered(k) => format!("not delivered ({k:?})"),
            Outcome::Unknown => "delivery unknown".to_owned(),
        };
        *rows.entry(key).or_default() += 1;
    }
    let mut rows: Vec<(String, usize)> = rows.into_iter().collect();
    rows.push(("total".to_owned(), outcomes.len()));
    rows
}

fn timing_lines(t: &Timings) -> String {
    let mut s = String::from("  calls (count, longest):");
    for (k, (n, d)) in &t.calls {
        let _ = write!(s, " {k} {n} {:.2?};", d);
    }
    s.push('\n');
    s
}

// =============================================================================================
// The fault server
// =============================================================================================

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Greeting,
    Ehlo,
    Mail,
    Rcpt,
    Data,
    Body,
    AfterDot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum How {
    /// FIN (the rest of what the client sends is read and dropped).
    Fin,
    /// Reset.
    Rst,
    /// Half a reply, then FIN.
    Partial,
    /// 421, then FIN.
    Code421,
    /// A refusal with this code; the connection goes on.
    Refuse(u16),
    /// No answer until the client gives up.
    Stall,
    /// 250 to the final dot, then FIN.
    AckThenFin,
}

/// A connection's fate: where (at which message of the connection) and how it fails.
#[derive(Debug, Clone, Copy)]
struct Fate {
    pipelining: bool,
    fault: Option<(Stage, usize, How)>,
    /// For a reset in the middle of the data: after this many bytes of it.
    body_cut: usize,
}

fn draw_fate(rng: &mut Rng) -> Fate {
    let pick = |rng: &mut Rng, hows: &[How]| hows[rng.below(hows.len())];
    let stall_or = |how: How, rng: &mut Rng| if rng.chance(4) { How::Stall } else { how };
    let fault = match rng.below(100) {
        0..=7 => {
            Some((Stage::Greeting, 0, stall_or(pick(rng, &[How::Fin, How::Rst, How::Partial, How::Code421]), rng)))
        }
        8..=11 => Some((Stage::Ehlo, 0, pick(rng, &[How::Fin, How::Rst, How::Partial, How::Code421]))),
        12..=69 => {
            let at = rng.below(6);
            let stage = [Stage::Mail, Stage::Rcpt, Stage::Data, Stage::Body, Stage::AfterDot][rng.below(5)];
            let how = match stage {
                Stage::Mail => stall_or(
                    pick(rng, &[How::Fin, How::Partial, How::Code421, How::Refuse(451), How::Refuse(550)]),
                    rng,
                ),
                Stage::Rcpt => pick(rng, &[How::Fin, How::Partial, How::Code421, How::Refuse(450), How::Refuse(550)]),
                Stage::Data => pick(rng, &[How::Fin, How::Partial, How::Code421, How::Refuse(451), How::Refuse(554)]),
                Stage::Body => How::Rst,
                _ => stall_or(
                    pick(
                        rng,
                        &[
                            How::Fin,
                            How::Rst,
                            How::Partial,
                            How::Code421,
                            How::Refuse(451),
                            How::Refuse(554),
                            How::AckThenFin,
                        ],
                    ),
                    rng,
                ),
            };
            Some((stage, at, how))
        }
        _ => None,
    };
    Fate { pipelining: rng.chance(70), fault, body_cut: 1 + rng.below(2000) }
}

/// What the server knows about one message.
#[derive(Debug, Default, Clone, Copy)]
struct Rec {
    /// The whole message, up to and including the final dot, reached the server.
    got_whole: bool,
    /// The server sent 250 for it.
    acked: bool,
}

#[derive(Default)]
struct ServerState {
    records: Mutex<HashMap<usize, Rec>>,
    /// Faults that actually happened, by stage and kind.
    triggered: Mutex<BTreeMap<String, usize>>,
    connections: AtomicUsize,
}

struct FaultServer {
    addr: String,
    stop: Arc<AtomicBool>,
    acceptor: Option<thread::JoinHandle<Vec<thread::JoinHandle<()>>>>,
    state: Arc<ServerState>,
}

impl FaultServer {
    fn start(seed: u64) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(ServerState::default());
        let acceptor = {
            let (stop, state) = (stop.clone(), state.clone());
            thread::spawn(move || {
                let mut rng = Rng::new(seed);
                let mut handles = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((tcp, _)) => {
                            state.connections.fetch_add(1, Ordering::SeqCst);
                            let fate = draw_fate(&mut rng);
                            let state = state.clone();
                            handles.push(thread::spawn(move || serve(tcp, fate, &state)));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(1)),
                    }
                }
                handles
            })
        };
        FaultServer { addr, stop, acceptor: Some(acceptor), state }
    }

    /// Stop accepting and wait for every connection's thread.
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.acceptor.take() {
            for h in a.join().expect("acceptor") {
                h.join().expect("connection thread");
            }
        }
    }
}

/// A connection with a read buffer.
struct Io {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl Io {
    fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 64 * 1024];
        match self.tcp.read(&mut tmp) {
            Ok(n) if n > 0 => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
            _ => false,
        }
    }

    fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                return Some(self.buf.drain(..=p).collect());
            }
            if self.buf.len() > 64 * 1024 || !self.fill() {
                return None;
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> bool {
        self.tcp.write_all(bytes).is_ok()
    }

    /// Read the message up to its final dot; with `cut`, stop once that many bytes of it have
    /// arrived and take only what is already there besides. True if the whole message arrived.
    /// Only a small tail of the message is kept in memory.
    fn data(&mut self, cut: Option<usize>) -> bool {
        let mut seen = 0usize;
        let mut tail: Vec<u8> = Vec::with_capacity(8);
        let check = |chunk: &[u8], tail: &mut Vec<u8>| -> Option<usize> {
            // the terminator may straddle the previous chunk
            let mut joined = std::mem::take(tail);
            let offset = joined.len();
            joined.extend_from_slice(chunk);
            let found = joined.windows(5).position(|w| w == b"\r\n.\r\n").map(|p| p + 5 - offset);
            let keep = joined.len().saturating_sub(4);
            tail.extend_from_slice(&joined[keep..]);
            found
        };
        loop {
            if !self.buf.is_empty() {
                let chunk = std::mem::take(&mut self.buf);
                if let Some(end) = check(&chunk, &mut tail) {
                    self.buf = chunk[end..].to_vec();
                    return true;
                }
                seen += chunk.len();
            }
            if cut.is_some_and(|c| seen >= c) {
                // whatever else the client already wrote
                let _ = self.tcp.set_nonblocking(true);
                let mut tmp = [0u8; 64 * 1024];
                let mut whole = false;
                while let Ok(n) = self.tcp.read(&mut tmp) {
                    if n == 0 {
                        break;
                    }
                    if check(&tmp[..n], &mut tail).is_some() {
                        whole = true;
                    }
                }
                let _ = self.tcp.set_nonblocking(false);
                return whole;
            }
            if !self.fill() {
                return false;
            }
        }
    }

    fn fin(mut self) {
        let _ = self.tcp.shutdown(Shutdown::Write);
        let _ = self.tcp.set_read_timeout(Some(Duration::from_secs(5)));
        let mut tmp = [0u8; 64 * 1024];
        while matches!(self.tcp.read(&mut tmp), Ok(n) if n > 0) {}
    }

    fn rst(self) {
        let _ = socket2::SockRef::from(&self.tcp).set_linger(Some(Duration::ZERO));
    }

    /// Say nothing until the client gives up and closes.
    fn stall(mut self) {
        let _ = self.tcp.set_read_timeout(Some(Duration::from_secs(10)));
        let mut tmp = [0u8; 64 * 1024];
        while matches!(self.tcp.read(&mut tmp), Ok(n) if n > 0) {}
    }
}

fn message_id(mail_line: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(mail_line).ok()?;
    let start = text.find("<soak-")? + 6;
    let end = start + text[start..].find('@')?;
    text[start..end].parse().ok()
}

/// One connection of the fault server.
fn serve(tcp: TcpStream, fate: Fate, state: &ServerState) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = tcp.set_nodelay(true);
    let mut io = Io { tcp, buf: Vec::new() };
    let count_fault = |stage: Stage, how: How| {
        *state.triggered.lock().unwrap().entry(format!("{stage:?} {how:?}")).or_default() += 1;
    };
    let record = |id: Option<usize>, f: &dyn Fn(&mut Rec)| {
        if let Some(id) = id {
            f(state.records.lock().unwrap().entry(id).or_default());
        }
    };
    // The end of a connection for a fault: true if the connection goes on (a refusal).
    let fail = |mut io: Io, stage: Stage, how: How, partial: &[u8]| -> Option<Io> {
        count_fault(stage, how);
        match how {
            How::Fin => io.fin(),
            How::Rst => io.rst(),
            How::Partial => {
                io.send(partial);
                io.fin();
            }
            How::Code421 => {
                io.send(b"421 4.3.2 soak server closing the connection\r\n");
                io.fin();
            }
            How::Refuse(code) => {
                let text = format!("{code} {}.7.1 refused by the soak server\r\n", code / 100);
                return io.send(text.as_bytes()).then_some(io);
            }
            How::Stall => io.stall(),
            How::AckThenFin => unreachable!("handled at the end of data"),
        }
        None
    };
    let fault_at = |stage: Stage, index: usize| match fate.fault {
        Some((s, i, how)) if s == stage && (i == index || matches!(s, Stage::Greeting | Stage::Ehlo)) => Some(how),
        _ => None,
    };

    if let Some(how) = fault_at(Stage::Greeting, 0) {
        fail(io, Stage::Greeting, how, b"220-soak.test ESMTP\r\n220-wait");
        return;
    }
    if !io.send(b"220 soak.test ESMTP fault server\r\n") {
        return;
    }
    let mut index = 0usize; // messages begun on this connection
    let mut current: Option<usize> = None;
    let (mut in_mail, mut rcpts) = (false, 0usize);
    loop {
        let Some(line) = io.line() else { return };
        let upper = line.to_ascii_uppercase();
        let verb = |v: &[u8]| upper.starts_with(v);
        if verb(b"EHLO") || verb(b"HELO") {
            if let Some(how) = fault_at(Stage::Ehlo, 0) {
                fail(io, Stage::Ehlo, how, b"250-soak.test\r\n250-PIPE");
                return;
            }
            let mut reply = String::from("250-soak.test\r\n250-SIZE 50000000\r\n250-8BITMIME\r\n");
            if fate.pipelining {
                reply.push_str("250-PIPELINING\r\n");
            }
            reply.push_str("250 ENHANCEDSTATUSCODES\r\n");
            if !io.send(reply.as_bytes()) {
                return;
            }
        } else if verb(b"MAIL FROM:") {
            let i = index;
            index += 1;
            current = message_id(&line);
            record(current, &|_| {});
            (in_mail, rcpts) = (true, 0);
            if let Some(how) = fault_at(Stage::Mail, i) {
                match fail(io, Stage::Mail, how, b"25") {
                    Some(next) => {
                        io = next;
                        in_mail = false;
                        continue;
                    }
                    None => return,
                }
            }
            if !io.send(b"250 2.1.0 ok\r\n") {
                return;
            }
        } else if verb(b"RCPT TO:") {
            if !in_mail {
                if !io.send(b"503 5.5.1 need MAIL\r\n") {
                    return;
                }
                continue;
            }
            if let Some(how) = fault_at(Stage::Rcpt, index - 1) {
                match fail(io, Stage::Rcpt, how, b"25") {
                    Some(next) => {
                        io = next;
                        continue;
                    }
                    None => return,
                }
            }
            rcpts += 1;
            if !io.send(b"250 2.1.5 ok\r\n") {
                return;
            }
        } else if verb(b"DATA") {
            if !in_mail || rcpts == 0 {
                if !io.send(b"554 5.5.1 no valid recipients\r\n") {
                    return;
                }
                continue;
            }
            let i = index - 1;
            if let Some(how) = fault_at(Stage::Data, i) {
                match fail(io, Stage::Data, how, b"35") {
                    Some(next) => {
                        io = next;
                        in_mail = false;
                        continue;
                    }
                    None => return,
                }
            }
            if !io.send(b"354 go ahead\r\n") {
                return;
            }
            let cut = fault_at(Stage::Body, i).map(|_| fate.body_cut);
            let whole = io.data(cut);
            if whole {
                record(current, &|r| r.got_whole = true);
            }
            if cut.is_some() {
                count_fault(Stage::Body, How::Rst);
                io.rst();
                return;
            }
            if !whole {
                return;
            }
            in_mail = false;
            match fault_at(Stage::AfterDot, i) {
                Some(How::AckThenFin) => {
                    count_fault(Stage::AfterDot, How::AckThenFin);
                    if io.send(b"250 2.0.0 queued\r\n") {
                        record(current, &|r| r.acked = true);
                    }
                    io.fin();
                    return;
                }
                Some(how) => match fail(io, Stage::AfterDot, how, b"25") {
                    Some(next) => io = next,
                    None => return,
                },
                None => {
                    if !io.send(b"250 2.0.0 queued\r\n") {
                        return;
                    }
                    record(current, &|r| r.acked = true);
                }
            }
        } else if verb(b"RSET") {
            in_mail = false;
            if !io.send(b"250 2.0.0 ok\r\n") {
                return;
            }
        } else if verb(b"NOOP") {
            if !io.send(b"250 2.0.0 ok\r\n") {
                return;
            }
        } else if verb(b"QUIT") {
            io.send(b"221 2.0.0 bye\r\n");
            io.fin();
            return;
        } else if !io.send(b"500 5.5.2 what?\r\n") {
            return;
        }
    }
}

fn filler(len: usize) -> Arc<Vec<u8>> {
    let line = b"The quick brown fox jumps over the lazy dog; soak filler line of text.\r\n";
    let mut v = Vec::with_capacity(len + line.len());
    while v.len() < len {
        v.extend_from_slice(line);
    }
    Arc::new(v)
}

#[test]
fn fault_server_soak() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let total = env_usize("SOAK_MESSAGES", 5000).max(20);
    let warmup = (total / 10).max(10);
    let seed = seed();
    let started = Instant::now();
    let big = filler(1 << 20);
    let plan = |id: usize| {
        let mut rng = Rng::new(seed ^ 0xB0D1 ^ id as u64);
        let head = format!("From: soak-{id}@soak.test\r\nSubject: soak message {id}\r\nX-Soak-Id: {id}\r\n\r\n");
        let large = rng.chance(5);
        let mut head = head.into_bytes();
        if !large {
            for i in 0..rng.below(40) {
                head.extend_from_slice(format!("line {i} of message {id}\r\n.dot line\r\n").as_bytes());
            }
        }
        Plan {
            from: format!("soak-{id}@soak.test"),
            to: vec!["rcpt@soak.test".to_owned()],
            head,
            filler: large.then(|| big.clone()),
        }
    };

    let mut server = FaultServer::start(seed);
    let mut timings = Timings::default();
    let mut outcomes = run_clients(&server.addr, 0..warmup, &plan, seed, &mut timings);
    let rss_after_warmup = vm_rss_kb();
    outcomes.extend(run_clients(&server.addr, warmup..total, &plan, seed, &mut timings));
    server.stop();
    let rss_end = vm_rss_kb();

    // reconcile with the server's records
    let records = server.state.records.lock().unwrap().clone();
    let mut problems = Vec::new();
    for (id, o) in &outcomes {
        let rec = records.get(id).copied().unwrap_or_default();
        let bad = match o {
            Outcome::Delivered => !rec.acked,
            Outcome::Unknown => rec.acked || !rec.got_whole,
            Outcome::Refused(_) => rec.acked,
            Outcome::NotDelivered(_) => rec.acked || rec.got_whole,
        };
        if bad {
            problems.push(format!("message {id}: reported {o:?}, server record {rec:?}"));
        }
    }
    let acked = records.values().filter(|r| r.acked).count();
    let delivered = outcomes.iter().filter(|(_, o)| *o == Outcome::Delivered).count();

    let mut rows = outcome_rows(&outcomes);
    rows.push(("server: whole message received".to_owned(), records.values().filter(|r| r.got_whole).count()));
    rows.push(("server: acknowledged (250)".to_owned(), acked));
    let triggered = server.state.triggered.lock().unwrap().clone();
    let mut extra = format!(
        "  connections: {}; faults that happened: {}; seed {seed:#x}; {:.1?}\n",
        server.state.connections.load(Ordering::SeqCst),
        triggered.values().sum::<usize>(),
        started.elapsed()
    );
    let _ = writeln!(
        extra,
        "  faults: {}",
        triggered.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    );
    extra.push_str(&timing_lines(&timings));
    let _ = writeln!(
        extra,
        "  VmRSS after warm-up ({warmup} messages) {rss_after_warmup} kB, at the end {rss_end} kB ({:+} kB)",
        rss_end as i64 - rss_after_warmup as i64
    );
    report("fault-server", &table(&format!("fault-server soak: {total} messages"), &rows, &extra));

    assert!(problems.is_empty(), "{} outcome(s) contradict the server:\n{}", problems.len(), problems.join("\n"));
    assert_eq!(delivered, acked, "delivered == acknowledged");
    for class in ["delivered", "refused", "not delivered", "delivery unknown"] {
        assert!(outcomes.iter().any(|(_, o)| o.class() == class), "no message ended as {class}: the soak is too small");
    }
    assert!(
        rss_end.saturating_sub(rss_after_warmup) < RSS_GROWTH_LIMIT_KB,
        "VmRSS grew by {} kB after the warm-up",
        rss_end - rss_after_warmup
    );
}

// =============================================================================================
// Postfix
// =============================================================================================

/// How a Postfix message is set up to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Design {
    Normal,
    /// Sender `tempfail@`: 451 at MAIL.
    SenderTempfail,
    /// Only recipient `tempfail@`: 450 at RCPT.
    RcptTempfail,
    /// `carol` and `tempfail@`: delivered to carol, 450 for the other.
    Mixed,
    /// A body line Postfix defers at the end of data: 451.
    BodyTempfail,
}

impl Design {
    fn of(id: usize, seed: u64) -> Design {
        match Rng::new(seed ^ 0x9057 ^ id as u64).below(100) {
            0..=67 => Design::Normal,
            68..=75 => Design::SenderTempfail,
            76..=83 => Design::RcptTempfail,
            84..=91 => Design::Mixed,
            _ => Design::BodyTempfail,
        }
    }
    fn expected(self) -> Outcome {
        match self {
            Design::Normal | Design::Mixed => Outcome::Delivered,
            Design::SenderTempfail => Outcome::Refused(451),
            Design::RcptTempfail => Outcome::Refused(450),
            Design::BodyTempfail => Outcome::Refused(451),
        }
    }
}

/// Count, per marker, the messages in `<root>/<user>/{new,cur}` carrying `X-Soak-Id: <run>-<n>`.
fn maildir_counts(root: &Path, user: &str, run: &str) -> HashMap<usize, usize> {
    let needle = format!("X-Soak-Id: {run}-");
    let mut counts = HashMap::new();
    for sub in ["new", "cur"] {
        let Ok(rd) = std::fs::read_dir(root.join(user).join(sub)) else { continue };
        for entry in rd.flatten() {
            let Ok(mut f) = std::fs::File::open(entry.path()) else { continue };
            let mut head = vec![0u8; 8192];
            let n = f.read(&mut head).unwrap_or(0);
            let text = String::from_utf8_lossy(&head[..n]);
            if let Some(at) = text.find(&needle) {
                let digits: String = text[at + needle.len()..].chars().take_while(char::is_ascii_digit).collect();
                if let Ok(id) = digits.parse() {
                    *counts.entry(id).or_default() += 1;
                }
            }
        }
    }
    counts
}

#[test]
fn postfix_soak() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let bed = TestBed::get();
    let total = (env_usize("SOAK_MESSAGES", 5000) / 3).max(20);
    let warmup = (total / 10).max(10);
    let seed = seed();
    let run = format!(
        "{}x{:x}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros()
    );
    let started = Instant::now();
    let plan = |id: usize| {
        let design = Design::of(id, seed);
        let from = if design == Design::SenderTempfail { "tempfail@example.test" } else { "alice@example.test" };
        let to: Vec<String> = match design {
            Design::RcptTempfail => vec!["tempfail@example.test".into()],
            Design::Mixed => vec!["carol@example.test".into(), "tempfail@example.test".into()],
            _ => vec!["carol@example.test".into()],
        };
        let mut head = format!(
            "From: alice@example.test\r\nTo: carol@example.test\r\nSubject: soak {run}-{id}\r\nX-Soak-Id: {run}-{id}\r\n\r\nmessage {id}\r\n.a line with a dot\r\n"
        );
        if design == Design::BodyTempfail {
            head.push_str("X-TEMPFAIL-ME-IN-BODY\r\n");
        }
        head.push_str("end\r\n");
        Plan { from: from.to_owned(), to, head: head.into_bytes(), filler: None }
    };

    let mut timings = Timings::default();
    let mut outcomes = run_clients(&bed.smtp_addr(), 0..warmup, &plan, seed, &mut timings);
    let rss_after_warmup = vm_rss_kb();
    outcomes.extend(run_clients(&bed.smtp_addr(), warmup..total, &plan, seed, &mut timings));
    let rss_end = vm_rss_kb();
    let sent_for = started.elapsed();

    // wait for Postfix to deliver what it accepted, then count once more after a pause
    let delivered = outcomes.iter().filter(|(_, o)| *o == Outcome::Delivered).count();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut counts = maildir_counts(&bed.postfix_maildir, "carol", &run);
    while counts.len() < delivered && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(250));
        counts = maildir_counts(&bed.postfix_maildir, "carol", &run);
    }
    thread::sleep(Duration::from_millis(1000));
    let counts = maildir_counts(&bed.postfix_maildir, "carol", &run);

    let mut problems = Vec::new();
    let mut unexpected = 0;
    for (id, o) in &outcomes {
        let design = Design::of(*id, seed);
        let copies = counts.get(id).copied().unwrap_or(0);
        let ok_copies = match o {
            Outcome::Delivered => copies == 1,
            Outcome::Unknown => copies <= 1,
            Outcome::Refused(_) | Outcome::NotDelivered(_) => copies == 0,
        };
        if !ok_copies {
            problems.push(format!("message {id} ({design:?}): reported {o:?}, {copies} cop(ies) in the Maildir"));
        }
        if *o != design.expected() {
            // without injected faults only a timeout on a loaded machine may change an outcome
            unexpected += 1;
            if !matches!(o, Outcome::NotDelivered(ErrorKind::Timeout) | Outcome::Unknown) {
                problems.push(format!("message {id} ({design:?}): expected {:?}, reported {o:?}", design.expected()));
            }
        }
    }
    let in_maildir: usize = counts.values().sum();
    let mut rows = outcome_rows(&outcomes);
    rows.push(("Maildir: messages of this run".to_owned(), in_maildir));
    let mut extra = String::from("  designs: ");
    let mut by_design: BTreeMap<String, usize> = BTreeMap::new();
    for (id, _) in &outcomes {
        *by_design.entry(format!("{:?}", Design::of(*id, seed))).or_default() += 1;
    }
    extra.push_str(&by_design.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "));
    let _ = writeln!(
        extra,
        "\n  outcomes other than designed (timeouts): {unexpected}; seed {seed:#x}; sent in {sent_for:.1?}"
    );
    extra.push_str(&timing_lines(&timings));
    let _ = writeln!(
        extra,
        "  VmRSS after warm-up ({warmup} messages) {rss_after_warmup} kB, at the end {rss_end} kB ({:+} kB)",
        rss_end as i64 - rss_after_warmup as i64
    );
    report("postfix", &table(&format!("Postfix soak: {total} messages (run {run})"), &rows, &extra));

    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
    assert_eq!(in_maildir, counts.len(), "no message delivered twice");
    assert!(unexpected * 20 <= total, "{unexpected} of {total} messages timed out");
    assert!(
        rss_end.saturating_sub(rss_after_warmup) < RSS_GROWTH_LIMIT_KB,
        "VmRSS grew by {} kB after the warm-up",
        rss_end - rss_after_warmup
    );
}

// =============================================================================================
// The sender over the fault server
// =============================================================================================

/// The sender (`smtpclient::sender`) against the fault server: one thread, 8 pooled
/// connections, 10 messages per connection, 2 retries for a message whose connection failed
/// before its data. Every message gets exactly one outcome, and each agrees with the server's
/// record: delivered only if the server acknowledged it, delivery unknown only if the server
/// got the whole message and did not acknowledge it, refused or failed-before-data only if it
/// never acknowledged it, and failed-before-data only if the whole message never reached it.
#[test]
fn sender_fault_soak() {
    use smtpclient::sender::{Message, OutcomeKind, Sender, SenderConfig};

    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let total = (env_usize("SOAK_MESSAGES", 5000) / 5).max(50);
    let seed = seed() ^ 0x5E_17DE;
    let started = Instant::now();
    let mut server = FaultServer::start(seed);
    let mut config = SenderConfig::new(SessionKind::Smtp, &format!("smtp://{}", server.addr));
    config.timeout = Some(TIMEOUT);
    config.max_connections = 8;
    config.max_messages_per_connection = 10;
    config.retries = 2;
    config.local_hostname = Some("client.soak.test".to_owned());
    let mut sender = Sender::new(config).unwrap();
    let mut ids = HashMap::new();
    for id in 0..total {
        let from = format!("soak-{id}@soak.test");
        let body = format!("From: {from}\r\nSubject: sender soak {id}\r\nX-Soak-Id: {id}\r\n\r\nline\r\n.dot\r\n");
        let message = Message {
            from,
            to: vec!["rcpt@soak.test".to_owned()],
            body: body.into_bytes(),
            mail_options: Vec::new(),
            rcpt_options: Vec::new(),
        };
        ids.insert(sender.add(message), id);
    }
    sender.run();
    assert!(sender.is_done());
    server.stop();

    let mut outcomes = Vec::new();
    while let Some(o) = sender.next_outcome() {
        let id = ids.remove(&o.id).unwrap_or_else(|| panic!("outcome for unknown or repeated id {}", o.id));
        let reported = match o.kind {
            OutcomeKind::Delivered => Outcome::Delivered,
            OutcomeKind::DeliveryUnknown => Outcome::Unknown,
            OutcomeKind::Refused => Outcome::Refused(o.error.as_ref().and_then(|e| e.reply()).map_or(0, |r| r.code())),
            OutcomeKind::FailedBeforeData => {
                Outcome::NotDelivered(o.error.as_ref().map_or(ErrorKind::Io, smtpclient::Error::kind))
            }
        };
        outcomes.push((id, reported));
    }
    assert!(ids.is_empty(), "{} message(s) got no outcome", ids.len());

    let records = server.state.records.lock().unwrap().clone();
    let mut problems = Vec::new();
    for (id, o) in &outcomes {
        let rec = records.get(id).copied().unwrap_or_default();
        let bad = match o {
            Outcome::Delivered => !rec.acked,
            Outcome::Unknown => rec.acked || !rec.got_whole,
            Outcome::Refused(_) => rec.acked,
            Outcome::NotDelivered(_) => rec.acked || rec.got_whole,
        };
        if bad {
            problems.push(format!("message {id}: reported {o:?}, server record {rec:?}"));
        }
    }
    let acked = records.values().filter(|r| r.acked).count();
    let delivered = outcomes.iter().filter(|(_, o)| *o == Outcome::Delivered).count();
    let extra = format!(
        "  connections: {}; one thread, 8 pooled connections, 10 messages each at most, 2 retries; seed {seed:#x}; {:.1?}\n",
        server.state.connections.load(Ordering::SeqCst),
        started.elapsed()
    );
    report("sender", &table(&format!("sender soak: {total} messages"), &outcome_rows(&outcomes), &extra));
    assert!(problems.is_empty(), "{} outcome(s) contradict the server:\n{}", problems.len(), problems.join("\n"));
    assert_eq!(delivered, acked, "delivered == acknowledged");
    // a message whose connection failed before its data is sent again on a new one: with two
    // retries nearly all of them end delivered, so "not delivered" may not occur at all
    for class in ["delivered", "refused", "delivery unknown"] {
        assert!(outcomes.iter().any(|(_, o)| o.class() == class), "no message ended as {class}: the soak is too small");
    }
    let connections = server.state.connections.load(Ordering::SeqCst);
    assert!(connections > total / 10, "{connections} connections for {total} messages: the faults forced no reconnect");
}
