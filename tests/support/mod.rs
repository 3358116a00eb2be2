//! Test support for the integration tests (`mod support;` in each test file).
//!
//! * [`TestBed`]: the real servers started by `tests/servers/up.sh` (Postfix, Dovecot LMTP,
//!   smtp-sink on loopback), read from `$SMTPENV_DIR/env`, plus Maildir helpers.
//! * [`ScriptedServer`]: a loopback SMTP server driven by a script of [`Step`]s, for the
//!   misbehaviour no real server produces (odd line splits, early closes, stalls, bad replies).
//! * [`unique_marker`]: a string unique across threads and processes, to find one's own mail.
//!
//! std only, on purpose: no dev-dependency is needed to use this module.
#![allow(dead_code)]

pub mod certs;

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// =============================================================================================
// Test bed
// =============================================================================================

/// Default base directory of the test bed (overridden by `$SMTPENV_DIR`).
pub const DEFAULT_TESTBED_DIR: &str = "/tmp/smtpclient-testbed";

/// The running test bed, as described by `$SMTPENV_DIR/env` (written by `tests/servers/up.sh`).
#[derive(Debug, Clone)]
pub struct TestBed {
    /// `SMTPENV_DIR`: base directory of the test bed.
    pub dir: PathBuf,
    /// `SMTP_HOST`: IPv4 loopback address the TCP servers listen on (`127.0.0.1`).
    pub smtp_host: String,
    /// `SMTP_HOST6`: `::1` when Postfix :SMTP_PORT and LMTP :LMTP_PORT also listen on IPv6.
    pub smtp_host6: Option<String>,
    /// `SMTP_PORT`: Postfix, STARTTLS optional, AUTH allowed before TLS (also on `[::1]`).
    pub smtp_port: u16,
    /// `SMTP_SUBMISSION_PORT`: Postfix, STARTTLS required, AUTH required to relay.
    pub smtp_submission_port: u16,
    /// `SMTP_MINIMAL_PORT`: Postfix whose EHLO advertises no extension at all.
    pub smtp_minimal_port: u16,
    /// `SMTP_SMTPS_PORT`: Postfix with implicit TLS.
    pub smtp_smtps_port: u16,
    /// `SMTP_SINK_PORT`: smtp-sink, accepts and discards everything (no CHUNKING, no STARTTLS).
    pub smtp_sink_port: u16,
    /// `LMTP_PORT`: Dovecot LMTP over TCP.
    pub lmtp_port: u16,
    /// `LMTP_SOCKET`: Dovecot LMTP over a Unix socket.
    pub lmtp_socket: PathBuf,
    /// `SMTP_CA_FILE`: the test CA that signed the servers' certificate (localhost, 127.0.0.1, ::1).
    pub smtp_ca_file: PathBuf,
    /// `SMTP_USER` / `SMTP_PASS`: a valid account (alice / alice-pass).
    pub smtp_user: String,
    pub smtp_pass: String,
    /// `MSG_SIZE_LIMIT`: Postfix message_size_limit (advertised in SIZE).
    pub msg_size_limit: u64,
    /// `POSTFIX_MAILDIR`: Maildir root of Postfix deliveries (`<root>/<user>/new/...`).
    pub postfix_maildir: PathBuf,
    /// `LMTP_MAILDIR`: Maildir root of Dovecot LMTP deliveries.
    pub lmtp_maildir: PathBuf,
    /// `POSTFIX_LOG` / `DOVECOT_LOG`: server logs, handy when a test fails.
    pub postfix_log: PathBuf,
    pub dovecot_log: PathBuf,
    /// Every KEY=VALUE of the env file, including keys this struct does not know.
    pub vars: HashMap<String, String>,
}

static TESTBED: OnceLock<TestBed> = OnceLock::new();

fn testbed_not_running(why: &str) -> ! {
    panic!(
        "\n\nThe SMTP test bed is not running: {why}.\n\
         These tests need the loopback servers (Postfix, Dovecot LMTP, smtp-sink).\n\
         Run `make test` (which starts them), or start them by hand with\n\
         `bash tests/servers/up.sh` (as root) and stop them with `bash tests/servers/down.sh`.\n\
         Set SMTPENV_DIR if the test bed lives somewhere else than {DEFAULT_TESTBED_DIR}.\n"
    )
}

impl TestBed {
    /// The running test bed. Panics with instructions when it is not running.
    pub fn get() -> &'static TestBed {
        TESTBED.get_or_init(TestBed::load)
    }

    /// The test bed's base directory: `$SMTPENV_DIR` or [`DEFAULT_TESTBED_DIR`].
    pub fn base_dir() -> PathBuf {
        match std::env::var_os("SMTPENV_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => PathBuf::from(DEFAULT_TESTBED_DIR),
        }
    }

    fn load() -> TestBed {
        let base = Self::base_dir();
        let env_path = base.join("env");
        let text = match fs::read_to_string(&env_path) {
            Ok(t) => t,
            Err(e) => testbed_not_running(&format!("cannot read {} ({e})", env_path.display())),
        };
        let vars = parse_env(&text);
        let pids_path = base.join("pids");
        match fs::read_to_string(&pids_path) {
            Ok(pids) => {
                for line in pids.lines() {
                    let mut it = line.split_whitespace();
                    let (Some(name), Some(pid)) = (it.next(), it.next()) else {
                        continue;
                    };
                    if !process_running(pid) {
                        testbed_not_running(&format!(
                            "{name} (pid {pid}, recorded in {}) is not running",
                            pids_path.display()
                        ));
                    }
                }
            }
            Err(e) => testbed_not_running(&format!("cannot read {} ({e})", pids_path.display())),
        }

        let get = |key: &str| -> String {
            match vars.get(key) {
                Some(v) => v.clone(),
                None => testbed_not_running(&format!("{} has no {key}= line", env_path.display())),
            }
        };
        let port = |key: &str| -> u16 {
            let v = get(key);
            v.parse()
                .unwrap_or_else(|_| testbed_not_running(&format!("{key}={v} in {} is not a port", env_path.display())))
        };
        let bed = TestBed {
            dir: PathBuf::from(get("SMTPENV_DIR")),
            smtp_host: get("SMTP_HOST"),
            smtp_host6: vars.get("SMTP_HOST6").filter(|v| !v.is_empty()).cloned(),
            smtp_port: port("SMTP_PORT"),
            smtp_submission_port: port("SMTP_SUBMISSION_PORT"),
            smtp_minimal_port: port("SMTP_MINIMAL_PORT"),
            smtp_smtps_port: port("SMTP_SMTPS_PORT"),
            smtp_sink_port: port("SMTP_SINK_PORT"),
            lmtp_port: port("LMTP_PORT"),
            lmtp_socket: PathBuf::from(get("LMTP_SOCKET")),
            smtp_ca_file: PathBuf::from(get("SMTP_CA_FILE")),
            smtp_user: vars.get("SMTP_USER").cloned().unwrap_or_else(|| "alice".into()),
            smtp_pass: vars.get("SMTP_PASS").cloned().unwrap_or_else(|| "alice-pass".into()),
            msg_size_limit: vars.get("MSG_SIZE_LIMIT").and_then(|v| v.parse().ok()).unwrap_or(10_485_760),
            postfix_maildir: PathBuf::from(get("POSTFIX_MAILDIR")),
            lmtp_maildir: PathBuf::from(get("LMTP_MAILDIR")),
            postfix_log: PathBuf::from(get("POSTFIX_LOG")),
            dovecot_log: PathBuf::from(get("DOVECOT_LOG")),
            vars,
        };
        // the env file can outlive the servers (e.g. after a reboot): make sure Postfix answers
        let addr = bed.smtp_addr();
        let sa = addr.parse().expect("SMTP_HOST:SMTP_PORT is a socket address");
        if let Err(e) = TcpStream::connect_timeout(&sa, Duration::from_secs(3)) {
            testbed_not_running(&format!("cannot connect to Postfix at {addr} ({e})"));
        }
        bed
    }

    /// `"HOST:PORT"` for a port of the test bed on IPv4 loopback.
    pub fn addr(&self, port: u16) -> String {
        format!("{}:{}", self.smtp_host, port)
    }
    /// Postfix, STARTTLS optional.
    pub fn smtp_addr(&self) -> String {
        self.addr(self.smtp_port)
    }
    /// Postfix on IPv6 loopback (`"[::1]:PORT"`), when available.
    pub fn smtp_addr6(&self) -> Option<String> {
        self.smtp_host6.as_ref().map(|h| format!("[{h}]:{}", self.smtp_port))
    }
    /// Postfix submission (STARTTLS + AUTH required).
    pub fn submission_addr(&self) -> String {
        self.addr(self.smtp_submission_port)
    }
    /// Postfix without any ESMTP extension.
    pub fn minimal_addr(&self) -> String {
        self.addr(self.smtp_minimal_port)
    }
    /// Postfix with implicit TLS.
    pub fn smtps_addr(&self) -> String {
        self.addr(self.smtp_smtps_port)
    }
    /// smtp-sink.
    pub fn sink_addr(&self) -> String {
        self.addr(self.smtp_sink_port)
    }
    /// Dovecot LMTP over TCP.
    pub fn lmtp_addr(&self) -> String {
        self.addr(self.lmtp_port)
    }

    /// Waits until a message containing `marker` shows up in `<maildir_root>/<user>/new/` (or
    /// `cur/`) and returns its content; `None` after `timeout`.
    pub fn wait_for_mail(&self, maildir_root: &Path, user: &str, marker: &str, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = maildir_messages_with(maildir_root, user, marker).into_iter().next() {
                return Some(m);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(25));
        }
    }

    /// Like [`wait_for_mail`](Self::wait_for_mail) in the Postfix Maildir root.
    pub fn wait_for_postfix_mail(&self, user: &str, marker: &str, timeout: Duration) -> Option<Vec<u8>> {
        self.wait_for_mail(&self.postfix_maildir, user, marker, timeout)
    }

    /// Like [`wait_for_mail`](Self::wait_for_mail) in the LMTP Maildir root.
    pub fn wait_for_lmtp_mail(&self, user: &str, marker: &str, timeout: Duration) -> Option<Vec<u8>> {
        self.wait_for_mail(&self.lmtp_maildir, user, marker, timeout)
    }

    /// Number of messages in `<maildir_root>/<user>/{new,cur}/` that contain `marker` (now).
    pub fn count_mail_with(&self, maildir_root: &Path, user: &str, marker: &str) -> usize {
        maildir_messages_with(maildir_root, user, marker).len()
    }

    /// Waits until at least `n` messages containing `marker` are in the Maildir; returns the
    /// count seen last (which is less than `n` on timeout).
    pub fn wait_for_count(&self, maildir_root: &Path, user: &str, marker: &str, n: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let c = self.count_mail_with(maildir_root, user, marker);
            if c >= n || Instant::now() >= deadline {
                return c;
            }
            thread::sleep(Duration::from_millis(25));
        }
    }

    /// Last `n` lines of the Postfix log (for failure messages).
    pub fn postfix_log_tail(&self, n: usize) -> String {
        tail_lines(&self.postfix_log, n)
    }

    /// Last `n` lines of the Dovecot log (for failure messages).
    pub fn dovecot_log_tail(&self, n: usize) -> String {
        tail_lines(&self.dovecot_log, n)
    }
}

/// Whether process `pid` exists and is not a zombie (Linux /proc; elsewhere assumed running).
fn process_running(pid: &str) -> bool {
    if !Path::new("/proc/self/stat").exists() {
        return true;
    }
    match fs::read_to_string(Path::new("/proc").join(pid).join("stat")) {
        // "<pid> (<comm>) <state> ...": the state follows the last ')'
        Ok(stat) => match stat.rsplit_once(')') {
            Some((_, rest)) => !rest.trim_start().starts_with('Z'),
            None => true,
        },
        Err(_) => false,
    }
}

/// Parses `KEY=VALUE` lines (comments, blank lines and an optional `export ` are allowed; values
/// may be wrapped in single or double quotes).
fn parse_env(text: &str) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim();
            let v = if v.len() >= 2
                && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
            {
                &v[1..v.len() - 1]
            } else {
                v
            };
            vars.insert(k.trim().to_string(), v.to_string());
        }
    }
    vars
}

fn tail_lines(path: &Path, n: usize) -> String {
    match fs::read(path) {
        Ok(b) => {
            let s = String::from_utf8_lossy(&b);
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Contents of every message file in `<root>/<user>/{new,cur}/` that contains `marker`, oldest
/// file name first. Files that vanish while being read (moved new/ -> cur/) are skipped.
pub fn maildir_messages_with(root: &Path, user: &str, marker: &str) -> Vec<Vec<u8>> {
    let needle = marker.as_bytes();
    let mut found = Vec::new();
    for sub in ["new", "cur"] {
        let dir = root.join(user).join(sub);
        let Ok(rd) = fs::read_dir(&dir) else { continue };
        let mut names: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        names.sort();
        for p in names {
            if let Ok(content) = fs::read(&p) {
                if contains(&content, needle) {
                    found.push(content);
                }
            }
        }
    }
    found
}

/// Byte-string search.
/// A new session of `kind` on the driver the test run asks for: the non-blocking driver when
/// `SMTPCLIENT_TEST_DRIVER=nonblocking` (make test runs the protocol suites under both, so
/// both drivers must give the same results and the same bytes), else the blocking one.
#[allow(dead_code)]
pub fn new_session(kind: smtpclient::session::SessionKind) -> smtpclient::Session {
    let mut s = smtpclient::Session::new(kind);
    if std::env::var("SMTPCLIENT_TEST_DRIVER").is_ok_and(|d| d == "nonblocking") {
        s.set_nonblocking_driver(true);
    }
    s
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// A string no other test (thread or process) gets: `<prefix>-<pid>-<counter>-<nanos>`.
/// Only `[A-Za-z0-9-]` besides the prefix, so it fits in headers, bodies and local parts.
pub fn unique_marker(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// A fresh, empty directory under the system temp dir; removed when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let base = std::env::temp_dir();
        for _ in 0..100 {
            let path = base.join(unique_marker(prefix));
            match fs::create_dir(&path) {
                Ok(()) => return TempDir { path },
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create a temp dir under {}: {e}", base.display()),
            }
        }
        panic!("cannot create a unique temp dir under {}", base.display())
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

// =============================================================================================
// Scripted fault-injection server
// =============================================================================================

/// How long a scripted read waits for the client before it records a mismatch and gives up.
pub const SCRIPT_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server waits for the client to connect.
pub const SCRIPT_ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection not yet accepted when `finish()` is called may still take to arrive.
pub const SCRIPT_FINISH_GRACE: Duration = Duration::from_secs(2);
/// Longest line `ExpectLine`/`ReadLine` accept.
const MAX_LINE: usize = 1 << 20;

/// One step of a [`ScriptedServer`] script.
#[derive(Debug, Clone)]
pub enum Step {
    /// Write these bytes, in one `write_all`.
    Send(Vec<u8>),
    /// Write each chunk separately, flushing and pausing ~20 ms between chunks (to split a reply
    /// across TCP segments / client reads).
    SendChunks(Vec<Vec<u8>>),
    /// Read one line (up to LF); record it (without CRLF) in [`ScriptResult::lines`]; a mismatch
    /// if it does not start with this prefix (ASCII case-insensitive) or does not end in CRLF.
    ExpectLine(String),
    /// Read one line and accept anything (it is still recorded and must end in CRLF).
    ReadLine,
    /// Read DATA content up to and including the terminating `CRLF.CRLF` (or a lone `.CRLF` as
    /// the very first line); the raw bytes are recorded in [`ScriptResult::data`].
    ExpectData,
    /// Read exactly this many bytes (e.g. a BDAT chunk); recorded in [`ScriptResult::data`].
    ReadBytes(usize),
    /// Pause.
    Sleep(Duration),
    /// Close the connection now (bytes the client already sent are still captured). Ends this
    /// connection's script: steps after it are reported as a mismatch.
    Close,
    /// Read everything until the client closes its side (mismatch on timeout).
    ReadUntilClose,
    /// Change the read timeout for the following steps (default [`SCRIPT_READ_TIMEOUT`]).
    ReadTimeout(Duration),
    /// Write what the function returns for the lines read so far (for replies that depend on
    /// what the client sent, e.g. a SASL server's answer to a client nonce).
    Compute(Responder),
}

/// What a [`Responder`] calls: the lines read so far in, the bytes to write out.
pub type RespondFn = dyn Fn(&[String]) -> Vec<u8> + Send + Sync;

/// The function of a [`Step::Compute`].
#[derive(Clone)]
pub struct Responder(pub std::sync::Arc<RespondFn>);

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder(..)")
    }
}

impl Step {
    /// `Send` of the bytes exactly as given.
    pub fn send(bytes: impl AsRef<[u8]>) -> Step {
        Step::Send(bytes.as_ref().to_vec())
    }
    /// `Send` of [`lines`]`(text)`: LF becomes CRLF and a final CRLF is added if missing.
    pub fn reply(text: &str) -> Step {
        Step::Send(lines(text))
    }
    /// `SendChunks` of the given pieces, exactly as given.
    pub fn chunks<T: AsRef<[u8]>>(pieces: &[T]) -> Step {
        Step::SendChunks(pieces.iter().map(|p| p.as_ref().to_vec()).collect())
    }
    /// `ExpectLine(prefix)`.
    pub fn expect(prefix: &str) -> Step {
        Step::ExpectLine(prefix.to_string())
    }
    /// `Sleep` for `ms` milliseconds.
    pub fn sleep_ms(ms: u64) -> Step {
        Step::Sleep(Duration::from_millis(ms))
    }
}

/// Normalises line ends for readable scripts: every LF not preceded by CR becomes CRLF, and a
/// final CRLF is appended when the text does not end with one. `lines("250-mx\n250 OK")` ==
/// `b"250-mx\r\n250 OK\r\n"`. Empty text gives empty bytes.
pub fn lines(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 8);
    let mut prev = 0u8;
    for &b in text.as_bytes() {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A multi-line `250` EHLO reply: `ehlo_reply("mx.test", &["PIPELINING", "SIZE 100"])` ==
/// `"250-mx.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n"`.
pub fn ehlo_reply(host: &str, extensions: &[&str]) -> Vec<u8> {
    let mut all = vec![host];
    all.extend_from_slice(extensions);
    let mut out = String::new();
    for (i, l) in all.iter().enumerate() {
        let sep = if i + 1 == all.len() { ' ' } else { '-' };
        out.push_str(&format!("250{sep}{l}\r\n"));
    }
    out.into_bytes()
}

/// The usual opening: greeting, then `EHLO` answered with the given extensions.
pub fn greet_and_ehlo(extensions: &[&str]) -> Vec<Step> {
    vec![
        Step::reply("220 mx.scripted.test ESMTP"),
        Step::expect("EHLO "),
        Step::Send(ehlo_reply("mx.scripted.test", extensions)),
    ]
}

/// What happened on one connection of a [`ScriptedServer`].
#[derive(Debug, Clone, Default)]
pub struct ScriptResult {
    /// Every byte the client wrote that the server received, in order, unmodified.
    pub wire: Vec<u8>,
    /// Lines read by `ExpectLine`/`ReadLine`, without the line end.
    pub lines: Vec<String>,
    /// Raw bytes read by `ExpectData` (including the terminator) and `ReadBytes`.
    pub data: Vec<Vec<u8>>,
    /// Everything that did not go as scripted (empty = the client behaved exactly as expected).
    pub mismatches: Vec<String>,
    /// Whether a client connected at all.
    pub connected: bool,
}

impl ScriptResult {
    /// `wire` as (lossy) UTF-8, for assertions and messages.
    pub fn wire_str(&self) -> String {
        String::from_utf8_lossy(&self.wire).into_owned()
    }
    /// Panics with the mismatches and the wire transcript unless the script went as planned.
    #[track_caller]
    pub fn assert_ok(&self) {
        if !self.mismatches.is_empty() {
            panic!(
                "scripted server: {} mismatch(es):\n  {}\nclient wrote:\n{}",
                self.mismatches.len(),
                self.mismatches.join("\n  "),
                self.wire_str()
            );
        }
    }
}

trait Conn: Read + Write + Send {
    fn set_timeout(&self, d: Option<Duration>) -> io::Result<()>;
    fn shut(&self, how: Shutdown) -> io::Result<()>;
    fn set_nonblock(&self, nb: bool) -> io::Result<()>;
}
impl Conn for TcpStream {
    fn set_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(d)
    }
    fn shut(&self, how: Shutdown) -> io::Result<()> {
        self.shutdown(how)
    }
    fn set_nonblock(&self, nb: bool) -> io::Result<()> {
        self.set_nonblocking(nb)
    }
}
impl Conn for UnixStream {
    fn set_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(d)
    }
    fn shut(&self, how: Shutdown) -> io::Result<()> {
        self.shutdown(how)
    }
    fn set_nonblock(&self, nb: bool) -> io::Result<()> {
        self.set_nonblocking(nb)
    }
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(true),
            Listener::Unix(l) => l.set_nonblocking(true),
        }
    }
    fn accept(&self) -> io::Result<Box<dyn Conn>> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                s.set_nonblocking(false)?;
                let _ = s.set_nodelay(true);
                Ok(Box::new(s))
            }
            Listener::Unix(l) => {
                let (s, _) = l.accept()?;
                s.set_nonblocking(false)?;
                Ok(Box::new(s))
            }
        }
    }
}

/// A loopback SMTP server that plays a script on each accepted connection, in a thread.
///
/// ```ignore
/// let server = ScriptedServer::tcp(vec![
///     Step::send("220 mx ESMTP\r\n"),
///     Step::expect("EHLO "),
///     Step::send("250-mx\r\n250 PIPELINING\r\n"),
///     Step::expect("QUIT"),
///     Step::send("221 bye\r\n"),
/// ]);
/// // ... point the client at server.addr() ...
/// let result = server.finish();
/// result.assert_ok();
/// ```
///
/// The server never hangs: accepting waits at most [`SCRIPT_ACCEPT_TIMEOUT`], each read at most
/// the read timeout, and a timeout is recorded as a mismatch that ends the script. After the
/// last step the server shuts down its sending side, collects what the client still sends for a
/// short while (until EOF, ≤2 s) and closes the connection.
pub struct ScriptedServer {
    port: Option<u16>,
    local_addr: String,
    socket_path: Option<PathBuf>,
    _dir: Option<TempDir>,
    stop: Arc<AtomicBool>,
    done: mpsc::Receiver<()>,
    results: Arc<Mutex<Vec<ScriptResult>>>,
    sessions: usize,
    handle: Option<thread::JoinHandle<()>>,
}

impl ScriptedServer {
    /// Serves exactly one connection on `127.0.0.1:<random port>`.
    pub fn tcp(steps: Vec<Step>) -> ScriptedServer {
        Self::tcp_sessions(vec![steps])
    }

    /// Serves one connection per script, in order (for reconnect/retry tests).
    pub fn tcp_sessions(scripts: Vec<Vec<Step>>) -> ScriptedServer {
        Self::bind("127.0.0.1:0", scripts)
    }

    /// Serves one connection per script on the given address (e.g. `"[::1]:0"`).
    pub fn bind(addr: &str, scripts: Vec<Vec<Step>>) -> ScriptedServer {
        let sa = addr
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("scripted server: bad address {addr}"));
        let l = TcpListener::bind(sa).unwrap_or_else(|e| panic!("scripted server: bind {addr}: {e}"));
        let local = l.local_addr().expect("local_addr");
        Self::start(Listener::Tcp(l), Some(local.port()), local.to_string(), None, None, scripts)
    }

    /// Serves exactly one connection on a Unix socket in a fresh temp dir ([`Self::path`]).
    pub fn unix(steps: Vec<Step>) -> ScriptedServer {
        Self::unix_sessions(vec![steps])
    }

    /// Serves one connection per script on a Unix socket in a fresh temp dir.
    pub fn unix_sessions(scripts: Vec<Vec<Step>>) -> ScriptedServer {
        let dir = TempDir::new("smtpclient-scripted");
        let path = dir.path().join("smtp.sock");
        let l = UnixListener::bind(&path).unwrap_or_else(|e| panic!("scripted server: bind {}: {e}", path.display()));
        let shown = path.display().to_string();
        Self::start(Listener::Unix(l), None, shown, Some(path), Some(dir), scripts)
    }

    fn start(
        listener: Listener,
        port: Option<u16>,
        local_addr: String,
        socket_path: Option<PathBuf>,
        dir: Option<TempDir>,
        scripts: Vec<Vec<Step>>,
    ) -> ScriptedServer {
        listener.set_nonblocking().expect("set_nonblocking on listener");
        let stop = Arc::new(AtomicBool::new(false));
        let results = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sessions = scripts.len();
        let handle = {
            let stop = stop.clone();
            let results = results.clone();
            thread::Builder::new()
                .name("scripted-smtp-server".into())
                .spawn(move || {
                    serve(listener, scripts, &stop, &results);
                    let _ = tx.send(());
                })
                .expect("spawn scripted server thread")
        };
        ScriptedServer {
            port,
            local_addr,
            socket_path,
            _dir: dir,
            stop,
            done: rx,
            results,
            sessions,
            handle: Some(handle),
        }
    }

    /// The TCP port (panics for a Unix-socket server).
    pub fn port(&self) -> u16 {
        self.port.expect("scripted server: port() on a Unix-socket server")
    }

    /// `"127.0.0.1:PORT"` (or `"[::1]:PORT"`); the socket path for a Unix-socket server.
    pub fn addr(&self) -> String {
        self.local_addr.clone()
    }

    /// The socket path (panics for a TCP server).
    pub fn path(&self) -> &Path {
        self.socket_path.as_deref().expect("scripted server: path() on a TCP server")
    }

    /// Waits (bounded) for all scripts to end and returns what happened, all connections merged:
    /// wire bytes, lines and data concatenated; mismatches prefixed with `[conn N]` when the
    /// server had more than one script.
    pub fn finish(self) -> ScriptResult {
        let multi = self.sessions > 1;
        let all = self.finish_sessions();
        let mut merged = ScriptResult { connected: all.iter().any(|r| r.connected), ..Default::default() };
        for (i, r) in all.into_iter().enumerate() {
            merged.wire.extend_from_slice(&r.wire);
            merged.lines.extend(r.lines);
            merged.data.extend(r.data);
            for m in r.mismatches {
                merged.mismatches.push(if multi { format!("[conn {}] {m}", i + 1) } else { m });
            }
        }
        merged
    }

    /// Like [`finish`](Self::finish), one result per script (connection), in order.
    pub fn finish_sessions(mut self) -> Vec<ScriptResult> {
        // An accept still pending now is given a short grace period (the client may be running
        // in another thread); every read is bounded by the read timeout. So this limit is only
        // reached by scripts that sleep for very long.
        self.stop.store(true, Ordering::SeqCst);
        let limit = Duration::from_secs(25);
        let finished = self.done.recv_timeout(limit).is_ok();
        if finished {
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
        }
        let mut results = std::mem::take(&mut *self.results.lock().unwrap_or_else(|p| p.into_inner()));
        while results.len() < self.sessions {
            results.push(ScriptResult::default());
        }
        if !finished {
            let i = results.iter().rposition(|r| r.connected).unwrap_or(0);
            if let Some(r) = results.get_mut(i) {
                r.mismatches.push(format!("script thread did not finish within {limit:?} (partial results)"));
            }
        }
        for r in results.iter_mut() {
            if !r.connected && r.mismatches.is_empty() {
                r.mismatches.push("no client connected".into());
            }
        }
        results
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        // shorten a pending accept; a running script ends on its own (reads are bounded)
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(listener: Listener, scripts: Vec<Vec<Step>>, stop: &AtomicBool, results: &Mutex<Vec<ScriptResult>>) {
    for (idx, steps) in scripts.into_iter().enumerate() {
        results.lock().unwrap_or_else(|p| p.into_inner()).push(ScriptResult::default());
        let mut deadline = Instant::now() + SCRIPT_ACCEPT_TIMEOUT;
        let mut grace_applied = false;
        let conn = loop {
            match listener.accept() {
                Ok(c) => break Some(c),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {
                    if !grace_applied && stop.load(Ordering::SeqCst) {
                        // finish() (or drop) was called while still waiting for a client
                        grace_applied = true;
                        deadline = deadline.min(Instant::now() + SCRIPT_FINISH_GRACE);
                    }
                    if Instant::now() >= deadline {
                        break None;
                    }
                    thread::sleep(Duration::from_millis(2));
                }
                Err(e) => {
                    record(results, idx, |r| r.mismatches.push(format!("accept failed: {e}")));
                    break None;
                }
            }
        };
        let Some(conn) = conn else {
            record(results, idx, |r| {
                if r.mismatches.is_empty() {
                    r.mismatches.push("no client connected".to_string())
                }
            });
            return;
        };
        record(results, idx, |r| r.connected = true);
        let mut s = Session { conn, buf: Vec::new(), results, idx, timeout: SCRIPT_READ_TIMEOUT };
        s.run(steps);
    }
}

fn record(results: &Mutex<Vec<ScriptResult>>, idx: usize, f: impl FnOnce(&mut ScriptResult)) {
    let mut g = results.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut g[idx]);
}

/// Why a read stopped short.
enum ReadEnd {
    Eof,
    Timeout,
    Error(io::Error),
}

impl std::fmt::Display for ReadEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadEnd::Eof => write!(f, "client closed the connection"),
            ReadEnd::Timeout => write!(f, "timed out waiting for the client"),
            ReadEnd::Error(e) => write!(f, "read error: {e}"),
        }
    }
}

struct Session<'a> {
    conn: Box<dyn Conn>,
    /// received but not yet consumed by a step
    buf: Vec<u8>,
    results: &'a Mutex<Vec<ScriptResult>>,
    idx: usize,
    timeout: Duration,
}

impl<'a> Session<'a> {
    fn record(&self, f: impl FnOnce(&mut ScriptResult)) {
        record(self.results, self.idx, f)
    }
    fn mismatch(&self, msg: String) {
        self.record(|r| r.mismatches.push(msg));
    }

    /// Reads more bytes from the client into `buf` (and the wire record), waiting at most until
    /// `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<usize, ReadEnd> {
        let mut tmp = [0u8; 16 * 1024];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(ReadEnd::Timeout);
            }
            let _ = self.conn.set_timeout(Some((deadline - now).max(Duration::from_millis(1))));
            match self.conn.read(&mut tmp) {
                Ok(0) => return Err(ReadEnd::Eof),
                Ok(n) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    self.record(|r| r.wire.extend_from_slice(&tmp[..n]));
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut => {
                    if Instant::now() >= deadline {
                        return Err(ReadEnd::Timeout);
                    }
                }
                Err(e) => return Err(ReadEnd::Error(e)),
            }
        }
    }

    /// One line including its LF.
    fn read_line(&mut self) -> Result<Vec<u8>, (ReadEnd, Vec<u8>)> {
        let deadline = Instant::now() + self.timeout;
        let mut scanned = 0;
        loop {
            if let Some(pos) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + pos + 1;
                return Ok(self.buf.drain(..end).collect());
            }
            scanned = self.buf.len();
            if scanned > MAX_LINE {
                let partial = std::mem::take(&mut self.buf);
                return Err((ReadEnd::Error(io::Error::new(io::ErrorKind::InvalidData, "line too long")), partial));
            }
            if let Err(e) = self.fill(deadline) {
                return Err((e, std::mem::take(&mut self.buf)));
            }
        }
    }

    /// Everything the client has already sent, without waiting (for closes).
    fn drain_available(&mut self) {
        if self.conn.set_nonblock(true).is_err() {
            return;
        }
        let mut tmp = [0u8; 16 * 1024];
        loop {
            match self.conn.read(&mut tmp) {
                Ok(0) => break,
                Ok(n) => self.record(|r| r.wire.extend_from_slice(&tmp[..n])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = self.conn.set_nonblock(false);
    }

    /// Returns false when the script has to stop (connection unusable or closed).
    fn step(&mut self, n: usize, step: &Step) -> bool {
        let what = |s: &Step| -> String {
            let d = format!("{s:?}");
            if d.chars().count() > 80 {
                format!("{}...", d.chars().take(77).collect::<String>())
            } else {
                d
            }
        };
        match step {
            Step::Send(bytes) => {
                if let Err(e) = self.conn.write_all(bytes).and_then(|_| self.conn.flush()) {
                    self.mismatch(format!("step {n} {}: write failed: {e}", what(step)));
                    return false;
                }
            }
            Step::SendChunks(chunks) => {
                for (i, c) in chunks.iter().enumerate() {
                    if i > 0 {
                        thread::sleep(Duration::from_millis(20));
                    }
                    if let Err(e) = self.conn.write_all(c).and_then(|_| self.conn.flush()) {
                        self.mismatch(format!("step {n} {}: write of chunk {i} failed: {e}", what(step)));
                        return false;
                    }
                }
            }
            Step::ExpectLine(_) | Step::ReadLine => match self.read_line() {
                Ok(raw) => {
                    let crlf = raw.ends_with(b"\r\n");
                    let body = &raw[..raw.len() - if crlf { 2 } else { 1 }];
                    let text = String::from_utf8_lossy(body).into_owned();
                    if !crlf {
                        self.mismatch(format!("step {n} {}: line {text:?} ends in a bare LF, not CRLF", what(step)));
                    }
                    if let Step::ExpectLine(prefix) = step {
                        let p = prefix.as_bytes();
                        if body.len() < p.len() || !body[..p.len()].eq_ignore_ascii_case(p) {
                            self.mismatch(format!("step {n}: expected a line starting with {prefix:?}, got {text:?}"));
                        }
                    }
                    self.record(|r| r.lines.push(text));
                }
                Err((end, partial)) => {
                    self.mismatch(format!(
                        "step {n} {}: {end} before a full line (partial: {:?})",
                        what(step),
                        String::from_utf8_lossy(&partial)
                    ));
                    return false;
                }
            },
            Step::ExpectData => {
                let deadline = Instant::now() + self.timeout;
                let mut scanned: usize = 0;
                loop {
                    let end = if self.buf.starts_with(b".\r\n") {
                        Some(3)
                    } else {
                        let from = scanned.saturating_sub(4);
                        scanned = self.buf.len();
                        find(&self.buf[from..], b"\r\n.\r\n").map(|p| from + p + 5)
                    };
                    if let Some(end) = end {
                        let data: Vec<u8> = self.buf.drain(..end).collect();
                        self.record(|r| r.data.push(data));
                        break;
                    }
                    if let Err(e) = self.fill(deadline) {
                        let got = std::mem::take(&mut self.buf);
                        self.mismatch(format!(
                            "step {n} ExpectData: {e} before CRLF.CRLF ({} bytes of data received)",
                            got.len()
                        ));
                        self.record(|r| r.data.push(got));
                        return false;
                    }
                }
            }
            Step::ReadBytes(want) => {
                let deadline = Instant::now() + self.timeout;
                while self.buf.len() < *want {
                    if let Err(e) = self.fill(deadline) {
                        let got = std::mem::take(&mut self.buf);
                        self.mismatch(format!("step {n} ReadBytes({want}): {e} after {} bytes", got.len()));
                        self.record(|r| r.data.push(got));
                        return false;
                    }
                }
                let data: Vec<u8> = self.buf.drain(..*want).collect();
                self.record(|r| r.data.push(data));
            }
            Step::Sleep(d) => thread::sleep(*d),
            Step::Close => {
                self.drain_available();
                let _ = self.conn.shut(Shutdown::Both);
                return false;
            }
            Step::ReadUntilClose => {
                let deadline = Instant::now() + self.timeout;
                self.buf.clear();
                loop {
                    match self.fill(deadline) {
                        Ok(_) => self.buf.clear(),
                        Err(ReadEnd::Eof) => break,
                        Err(e) => {
                            self.mismatch(format!("step {n} ReadUntilClose: {e}"));
                            return false;
                        }
                    }
                }
            }
            Step::ReadTimeout(d) => self.timeout = *d,
            Step::Compute(Responder(f)) => {
                let lines = {
                    let g = self.results.lock().unwrap_or_else(|p| p.into_inner());
                    g[self.idx].lines.clone()
                };
                let bytes = f(&lines);
                if let Err(e) = self.conn.write_all(&bytes).and_then(|_| self.conn.flush()) {
                    self.mismatch(format!("step {n} Compute: write failed: {e}"));
                    return false;
                }
            }
        }
        true
    }

    fn run(&mut self, steps: Vec<Step>) {
        let total = steps.len();
        let mut closed = false;
        for (i, step) in steps.iter().enumerate() {
            if !self.step(i + 1, step) {
                closed = matches!(step, Step::Close);
                if i + 1 < total {
                    let why = if closed { "after Close" } else { "after the failure above" };
                    self.mismatch(format!("steps {}..={total} not run ({why})", i + 2));
                }
                break;
            }
        }
        if !closed {
            // Graceful end: FIN to the client, then collect what it still sends (QUIT, etc.)
            // until it closes too, for at most 2 s, so that `wire` is complete and the final close
            // is not turned into a reset by unread data.
            let _ = self.conn.shut(Shutdown::Write);
            let deadline = Instant::now() + Duration::from_secs(2);
            while self.fill(deadline).is_ok() {}
        }
        let _ = self.conn.shut(Shutdown::Both);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A streaming body for `sendmail_stream` that hands out `data` at most `chunk` bytes at a time.
pub fn stream(data: &[u8], chunk: usize) -> impl FnMut(&mut [u8]) -> smtpclient::session::BodyRead + '_ {
    use smtpclient::session::BodyRead;
    let mut pos = 0;
    move |buf: &mut [u8]| {
        if pos >= data.len() {
            return BodyRead::End;
        }
        let n = chunk.min(buf.len()).min(data.len() - pos);
        buf[..n].copy_from_slice(&data[pos..pos + n]);
        pos += n;
        BodyRead::Data(n)
    }
}
