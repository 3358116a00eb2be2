//! Where a session connects: smtplib's `connect(host, port)` arguments, parsed.

use crate::error::{Error, Result};

/// Where a session connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A host name or IP literal and a port.
    Tcp {
        /// Host name or IP address (no brackets).
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A Unix-domain socket path.
    Unix(String),
}

impl Endpoint {
    /// Parse smtplib's `connect(host, port)` arguments: a host starting with `/` is a Unix
    /// socket; `host:port` (a single colon) or `[v6]:port` carries its own port when `port` is 0;
    /// otherwise `default_port` is used.
    pub fn parse(host: &str, port: u16, default_port: u16) -> Result<Endpoint> {
        if host.is_empty() {
            return Err(Error::invalid("host is empty"));
        }
        if host.starts_with('/') {
            return Ok(Endpoint::Unix(host.to_owned()));
        }
        let (name, parsed_port) = if let Some(rest) = host.strip_prefix('[') {
            let (inside, after) =
                rest.split_once(']').ok_or_else(|| Error::invalid(format!("unbalanced '[' in host {host:?}")))?;
            match after {
                "" => (inside, None),
                p if p.starts_with(':') => (inside, Some(&p[1..])),
                _ => return Err(Error::invalid(format!("unexpected text after ']' in host {host:?}"))),
            }
        } else if host.matches(':').count() == 1 && port == 0 {
            let (h, p) = host.split_once(':').unwrap_or((host, ""));
            (h, Some(p))
        } else {
            (host, None)
        };
        let port = match parsed_port {
            Some(p) if port == 0 => p
                .parse::<u16>()
                .ok()
                .filter(|&n| n != 0)
                .ok_or_else(|| Error::invalid(format!("nonnumeric or invalid port in host {host:?}")))?,
            _ if port != 0 => port,
            _ => default_port,
        };
        if name.is_empty() {
            return Err(Error::invalid(format!("no host name in {host:?}")));
        }
        Ok(Endpoint::Tcp { host: name.to_owned(), port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_parsing() {
        let tcp = |h: &str, p: u16| Endpoint::Tcp { host: h.into(), port: p };
        assert_eq!(Endpoint::parse("mx", 0, 25).unwrap(), tcp("mx", 25));
        assert_eq!(Endpoint::parse("mx:2525", 0, 25).unwrap(), tcp("mx", 2525));
        assert_eq!(Endpoint::parse("mx", 587, 25).unwrap(), tcp("mx", 587));
        assert_eq!(Endpoint::parse("::1", 0, 25).unwrap(), tcp("::1", 25));
        assert_eq!(Endpoint::parse("[::1]:2525", 0, 25).unwrap(), tcp("::1", 2525));
        assert_eq!(Endpoint::parse("[::1]", 0, 25).unwrap(), tcp("::1", 25));
        assert_eq!(Endpoint::parse("/run/lmtp", 0, 2003).unwrap(), Endpoint::Unix("/run/lmtp".into()));
        for bad in ["", "mx:abc", "mx:", "mx:0", "[::1", "[::1]x", ":25"] {
            assert!(Endpoint::parse(bad, 0, 25).is_err(), "{bad}");
        }
    }
}
