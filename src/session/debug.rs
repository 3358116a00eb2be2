//! Debug output: smtplib's `set_debuglevel`, as structured events.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a debug event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugKind {
    /// A connection attempt; the data is the endpoint.
    Connect,
    /// Bytes written to the server.
    Sent,
    /// One reply line received from the server (line end included).
    Received,
    /// A remark from the library (state changes, closing).
    Info,
}

/// One debug event. `data` is borrowed for the duration of the sink call only.
#[derive(Debug, Clone, Copy)]
pub struct DebugEvent<'a> {
    /// What happened.
    pub kind: DebugKind,
    /// The bytes concerned.
    pub data: &'a [u8],
}

/// Where debug events go when a level above 0 is set.
pub type DebugSink = Box<dyn FnMut(&DebugEvent<'_>) + Send>;

/// The default sink: smtplib's stderr format, with control bytes escaped so a hostile server
/// cannot drive the terminal; level 2 prefixes a wall-clock time.
pub(crate) fn write_stderr(level: u8, event: &DebugEvent<'_>) {
    let label = match event.kind {
        DebugKind::Connect => "connect:",
        DebugKind::Sent => "send:",
        DebugKind::Received => "reply:",
        DebugKind::Info => "info:",
    };
    let mut line = String::new();
    if level >= 2 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = now.as_secs() % 86_400;
        line.push_str(&format!(
            "{:02}:{:02}:{:02}.{:06} ",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            now.subsec_micros()
        ));
    }
    line.push_str(label);
    line.push_str(" '");
    line.push_str(&event.data.escape_ascii().to_string());
    line.push_str("'\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Data larger than this is summarised in debug events (message bodies).
pub(crate) const MAX_LOGGED_DATA: usize = 4096;
