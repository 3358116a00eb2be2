//! The default EHLO name: the host's fully qualified domain name, as smtplib chooses it.

use std::ffi::{CStr, CString};

/// smtplib's choice: `socket.getfqdn()` when it contains a dot, else `[a.b.c.d]` for the
/// host's address (or `[127.0.0.1]`).
pub(crate) fn default_local_hostname() -> String {
    let name = host_name();
    if let Some(n) = &name {
        if let Some(fqdn) = canonical_name(n) {
            if fqdn.contains('.') && is_plain(&fqdn) {
                return fqdn;
            }
        }
        if n.contains('.') && is_plain(n) {
            return n.clone();
        }
    }
    let addr = name
        .and_then(|n| std::net::ToSocketAddrs::to_socket_addrs(&(n.as_str(), 0)).ok())
        .and_then(|mut it| it.find(|a| a.is_ipv4()))
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    format!("[{addr}]")
}

/// A name from the system is used only if it is a plain DNS-ish token: a hostile or broken
/// configuration must not inject into the EHLO line.
fn is_plain(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
}

fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; gethostname NUL-terminates within it on success
    // (the last byte stays 0 because we pass len - 1).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return None;
    }
    let cstr = CStr::from_bytes_until_nul(&buf).ok()?;
    cstr.to_str().ok().map(str::to_owned)
}

fn canonical_name(host: &str) -> Option<String> {
    let c_host = CString::new(host).ok()?;
    // SAFETY: hints is zeroed then filled; getaddrinfo writes a list we free with freeaddrinfo,
    // and ai_canonname is a NUL-terminated string owned by that list, copied before the free.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        hints.ai_socktype = libc::SOCK_STREAM;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) != 0 || res.is_null() {
            return None;
        }
        let canon = (*res).ai_canonname;
        let out = if canon.is_null() { None } else { CStr::from_ptr(canon).to_str().ok().map(str::to_owned) };
        libc::freeaddrinfo(res);
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_name_is_safe() {
        let n = super::default_local_hostname();
        assert!(!n.is_empty());
        crate::protocol::check_line_safe("hostname", &n).unwrap();
        assert!(n.contains('.') || n.starts_with('['), "{n}");
    }
}
