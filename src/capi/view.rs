//! What getters read: a snapshot of the session (its replies, last error, features,
//! recipients, TLS and authentication state), with every string NUL-terminated, taken when a
//! mutating call ends.
//!
//! This is what makes the borrowed-string rule hold by construction. A mutating call never
//! sees the view (its closure gets the session state only), so a string C passes back in
//! (`smtp_client_rcpt(s, address_from_refused_get)`) stays alive while the call reads it; the view is
//! brought up to date only after the call's work is done. Getters read the view and nothing
//! else (never the protocol engine), so they write nothing and may run on several threads at
//! once. A string whose value did not change keeps its allocation, so its pointer stays the
//! same.

use std::ffi::{c_char, c_int, CString};
use std::time::Instant;

use super::nonblocking::smtp_event;
use super::state::SessionState;
use crate::engine::RecipientStatus;
use crate::nonblocking::{Interest, Wait};
use crate::protocol::EnhancedStatus;

/// A NUL-terminated copy of `value`. Interior NULs cannot come from replies (the parser
/// refuses them) nor from C arguments; should one appear, the string is cut there.
pub(crate) fn c_string(value: &str) -> CString {
    CString::new(value).unwrap_or_else(|e| {
        let end = e.nul_position();
        let mut bytes = e.into_vec();
        bytes.truncate(end);
        CString::new(bytes).unwrap_or_default()
    })
}

/// Replace `slot` only when `value` differs, so an unchanged string keeps its address.
pub(crate) fn update(slot: &mut CString, value: &str) {
    if slot.as_bytes() != value.as_bytes() {
        *slot = c_string(value);
    }
}

fn update_opt(slot: &mut Option<CString>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(s), Some(v)) => update(s, v),
        (_, v) => *slot = v.map(c_string),
    }
}

/// An extension as lent to C.
#[derive(Default)]
pub(crate) struct FeatureView {
    pub(crate) name: CString,
    pub(crate) params: CString,
}

/// A recipient as lent to C.
#[derive(Default)]
pub(crate) struct RecipientView {
    pub(crate) address: CString,
    pub(crate) rcpt_code: i32,
    /// The after-data reply's code (LMTP), 0 when there is none.
    pub(crate) data_code: i32,
    /// The text of the deciding reply: the after-data reply when there is one, else the RCPT
    /// reply (for a refused recipient, its refusal).
    pub(crate) text: CString,
    /// The deciding reply's RFC 3463 enhanced status, when the server sent one.
    pub(crate) enhanced_status: Option<EnhancedStatus>,
}

impl RecipientView {
    /// Bring this view of a recipient up to date with `r`.
    pub(crate) fn fill(&mut self, r: &RecipientStatus) {
        update(&mut self.address, r.address());
        self.rcpt_code = i32::from(r.rcpt_reply().code());
        self.data_code = r.data_reply().map_or(0, |d| i32::from(d.code()));
        update(&mut self.text, &r.data_reply().unwrap_or(r.rcpt_reply()).text());
        self.enhanced_status =
            if r.data_reply().is_some() { r.data_enhanced_status() } else { r.rcpt_enhanced_status() };
    }
}

/// Everything getters read, as of the end of the last mutating call.
#[derive(Default)]
pub(crate) struct View {
    /// A panic was caught in a mutating call: only the last-error getters still answer.
    pub(crate) poisoned: bool,
    pub(crate) connected: bool,
    pub(crate) does_esmtp: bool,
    pub(crate) authenticated: bool,
    pub(crate) tls_active: bool,
    pub(crate) tls_verified: bool,
    pub(crate) last_reply_code: i32,
    pub(crate) last_reply_text: CString,
    pub(crate) last_result: i32,
    pub(crate) error_message: CString,
    pub(crate) error_reply_code: i32,
    pub(crate) error_reply_text: CString,
    pub(crate) error_enhanced_status: Option<EnhancedStatus>,
    pub(crate) error_sender: Option<CString>,
    pub(crate) callback_value: i32,
    pub(crate) os_error: i32,
    pub(crate) helo_resp: Option<CString>,
    pub(crate) ehlo_resp: Option<CString>,
    pub(crate) features: Vec<FeatureView>,
    pub(crate) recipients: Vec<RecipientView>,
    /// Indices into `recipients` of the refused ones, in order.
    pub(crate) refused: Vec<usize>,
    pub(crate) tls_version: CString,
    pub(crate) tls_cipher: CString,
    /// What the non-blocking operation in progress waits for, as its getters give it: in
    /// progress; the descriptor (-1: none); the `smtp_event` mask; the deadline. Plain values:
    /// the getters read them without looking into a nested `Option`.
    pub(crate) in_progress: bool,
    pub(crate) wait_fd: c_int,
    pub(crate) wait_events: u32,
    pub(crate) wait_deadline: Option<Instant>,
}

impl View {
    /// Bring every string up to date with `state`. Called at the end of each mutating call.
    pub(crate) fn refresh(&mut self, state: &SessionState) {
        let core = &state.core;
        let last = &state.last;
        self.in_progress = state.wait.is_some();
        self.wait_fd = state.wait.and_then(|w| w.fd).map_or(-1, |(fd, _)| fd);
        self.wait_events = state.wait.map_or(0, event_mask);
        self.wait_deadline = state.wait.and_then(|w| w.deadline);
        self.last_result = last.code;
        update(&mut self.error_message, &last.message);
        self.error_reply_code = last.reply.as_ref().map_or(0, |r| i32::from(r.code()));
        update(&mut self.error_reply_text, &last.reply.as_ref().map(|r| r.text()).unwrap_or_default());
        self.error_enhanced_status = last.reply.as_ref().and_then(|r| r.enhanced_status());
        update_opt(&mut self.error_sender, last.sender.as_deref());
        self.callback_value = last.callback_value;
        self.os_error = last.os_error;
        if state.running.is_some() {
            // the session as it was when the operation started: `core` holds a stand-in
            return;
        }
        self.connected = core.is_connected();
        self.does_esmtp = core.does_esmtp();
        self.authenticated = core.is_authenticated();
        self.last_reply_code = core.last_reply().map_or(0, |r| i32::from(r.code()));
        update(&mut self.last_reply_text, &core.last_reply().map(|r| r.text()).unwrap_or_default());
        update_opt(&mut self.helo_resp, core.helo_resp().map(|r| r.text()).as_deref());
        update_opt(&mut self.ehlo_resp, core.ehlo_resp().map(|r| r.text()).as_deref());

        let features = core.features();
        self.features.resize_with(features.len(), FeatureView::default);
        for (view, (name, params)) in self.features.iter_mut().zip(features.iter()) {
            update(&mut view.name, name);
            update(&mut view.params, params);
        }

        let recipients = core.recipients();
        self.recipients.resize_with(recipients.len(), RecipientView::default);
        self.refused.clear();
        for (i, (view, r)) in self.recipients.iter_mut().zip(recipients).enumerate() {
            view.fill(r);
            if r.refusal().is_some() {
                self.refused.push(i);
            }
        }

        let tls = core.tls_info();
        self.tls_active = tls.is_some();
        self.tls_verified = tls.is_some_and(|t| t.verified);
        update(&mut self.tls_version, tls.map_or("", |t| t.version.as_str()));
        update(&mut self.tls_cipher, tls.map_or("", |t| t.cipher.as_str()));
    }

    /// The parameters of extension `name` (any case), if advertised.
    pub(crate) fn feature(&self, name: &str) -> Option<&FeatureView> {
        self.features.iter().find(|f| f.name.to_bytes().eq_ignore_ascii_case(name.as_bytes()))
    }
}

/// The pointer C gets for an optional string: NULL for none.
pub(crate) fn opt_ptr(s: Option<&CString>) -> *const c_char {
    s.map_or(std::ptr::null(), |s| s.as_ptr())
}

/// The `smtp_event` mask of what an operation waits for.
fn event_mask(wait: Wait) -> u32 {
    let fd = match wait.fd {
        Some((_, Interest::Read)) => smtp_event::Read as u32,
        Some((_, Interest::Write)) => smtp_event::Write as u32,
        None => 0,
    };
    fd | if wait.body { smtp_event::Body as u32 } else { 0 }
}
