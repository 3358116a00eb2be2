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
    /// One reply line received from the server (line end included), escaped by the same
    /// function as on stderr before any sink sees it: printable ASCII as is with `\` doubled,
    /// CR, LF and TAB as `\r`, `\n`, `\t`, every other byte as `\xNN`. A hostile server cannot
    /// drive a terminal or a log viewer through the debug output.
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

/// The one escaping of bytes for debug output: printable ASCII as is (`\` doubled), CR, LF
/// and TAB as `\r`, `\n`, `\t`, every other byte (controls, DEL, non-ASCII) as `\xNN`.
pub(crate) fn escape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    for &b in data {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out
}

/// The default sink: smtplib's stderr format, every byte escaped; level 2 prefixes a
/// wall-clock time.
pub(crate) fn write_stderr(level: u8, event: &DebugEvent<'_>) {
    let _ = std::io::stderr().lock().write_all(stderr_line(level, event).as_bytes());
}

/// The line [`write_stderr`] writes. Received data comes escaped already (`Client::debug`
/// escapes it for every sink); the library's own events are escaped here.
fn stderr_line(level: u8, event: &DebugEvent<'_>) -> String {
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
    let shown = if event.kind == DebugKind::Received { event.data.to_vec() } else { escape(event.data) };
    line.push_str(&String::from_utf8_lossy(&shown));
    line.push_str("'\n");
    line
}

/// Data larger than this is summarised in debug events (message bodies).
pub(crate) const MAX_LOGGED_DATA: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_nothing_a_terminal_would_act_on() {
        assert_eq!(escape(b"250 ok\r\n"), b"250 ok\\r\\n");
        assert_eq!(escape(b"\x1b[2J\x07\x7f\t\\ \xc3\xa9\0"), b"\\x1b[2J\\x07\\x7f\\t\\\\ \\xc3\\xa9\\x00");
        assert!(escape(&(0..=255).collect::<Vec<u8>>()).iter().all(|b| (0x20..=0x7e).contains(b)));
    }

    #[test]
    fn stderr_shows_received_data_as_the_callback_gets_it_and_escapes_the_rest() {
        let escaped = escape(b"250 \x1b]0;x\x07\r\n");
        let received = DebugEvent { kind: DebugKind::Received, data: &escaped };
        assert_eq!(stderr_line(1, &received), "reply: '250 \\x1b]0;x\\x07\\r\\n'\n");
        let sent = DebugEvent { kind: DebugKind::Sent, data: b"NOOP \x1b\r\n" };
        assert_eq!(stderr_line(1, &sent), "send: 'NOOP \\x1b\\r\\n'\n");
    }
}
