//! The ESMTP capabilities a server advertised in its EHLO / LHLO reply.

use super::Reply;

/// Most extensions remembered from one EHLO reply; the rest are ignored (bounded work).
const MAX_FEATURES: usize = 256;

/// Extension keywords (lower-cased) and their parameters, parsed as smtplib's `ehlo()` does:
/// the first line (the server's name) is skipped, `AUTH=` lines are merged into `auth`, and a
/// repeated keyword keeps its first parameters (`auth` accumulates).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    entries: Vec<(String, String)>,
}

impl Features {
    /// Parse the features of an EHLO reply.
    pub fn parse(reply: &Reply) -> Self {
        let mut f = Features::default();
        for line in reply.lines().iter().skip(1) {
            // smtplib: "AUTH=" lines are an old form of AUTH; merge their mechanisms into auth.
            if let Some(rest) = line.strip_prefix("AUTH=").or_else(|| line.strip_prefix("auth=")) {
                f.merge_auth(rest);
                continue;
            }
            let (keyword, params) = match line.find(' ') {
                Some(i) => (&line[..i], line[i + 1..].trim_start()),
                None => (line.as_str(), ""),
            };
            if keyword.is_empty()
                || !keyword.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                || !keyword.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                continue;
            }
            let keyword = keyword.to_ascii_lowercase();
            if keyword == "auth" {
                f.merge_auth(params);
            } else if f.get(&keyword).is_none() && f.entries.len() < MAX_FEATURES {
                f.entries.push((keyword, params.to_owned()));
            }
        }
        f
    }

    fn merge_auth(&mut self, params: &str) {
        // AUTH is kept even past the cap (a hostile list must not hide it); its total is bounded
        // by the reply size limit
        if let Some((_, existing)) = self.entries.iter_mut().find(|(k, _)| k == "auth") {
            existing.push(' ');
            existing.push_str(params);
        } else {
            self.entries.push(("auth".to_owned(), params.to_owned()));
        }
    }

    /// Whether `name` (any case) was advertised.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The parameters advertised with `name` (any case); `""` for a keyword without any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every advertised keyword (lower-case) with its parameters, in the server's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of advertised keywords.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was advertised.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The advertised SIZE limit, when it is a valid non-zero number (RFC 1870: 0 = no limit);
    /// an unparsable value counts as no limit known.
    pub fn size_limit(&self) -> Option<u64> {
        self.get("size")?.trim().parse::<u64>().ok().filter(|&n| n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(lines: &[&str]) -> Reply {
        Reply::new(250, lines.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn parses_postfix_ehlo() {
        let f = Features::parse(&reply(&[
            "mx.example.test",
            "PIPELINING",
            "SIZE 10485760",
            "VRFY",
            "ETRN",
            "STARTTLS",
            "AUTH PLAIN LOGIN CRAM-MD5",
            "AUTH=PLAIN",
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
            "DSN",
            "SMTPUTF8",
            "CHUNKING",
        ]));
        assert!(f.has("pipelining") && f.has("PIPELINING") && f.has("chunking"));
        assert!(!f.has("mx.example.test"));
        assert_eq!(f.get("size"), Some("10485760"));
        assert_eq!(f.size_limit(), Some(10_485_760));
        assert_eq!(f.get("auth"), Some("PLAIN LOGIN CRAM-MD5 PLAIN"));
        assert_eq!(f.get("vrfy"), Some(""));
        assert_eq!(f.iter().next(), Some(("pipelining", "")));
    }

    #[test]
    fn hostile_content_is_bounded() {
        let mut lines = vec!["x".to_string()];
        lines.extend((0..10_000).map(|i| format!("X-EXT{i}")));
        lines.push("AUTH PLAIN".into());
        let f = Features::parse(&Reply::new(250, lines));
        assert_eq!(f.len(), MAX_FEATURES + 1);
        assert_eq!(f.get("auth"), Some("PLAIN"), "AUTH is never crowded out");
        for bad in ["SIZE 99999999999999999999999", "SIZE -1", "SIZE 1e9", "SIZE 0"] {
            assert_eq!(Features::parse(&reply(&["x", bad])).size_limit(), None, "{bad}");
        }
        let f = Features::parse(&reply(&["x", "SIZE 10", "SIZE 99"]));
        assert_eq!(f.size_limit(), Some(10));
        let f = Features::parse(&reply(&["x", "\u{1b}[31mEVIL", "-X", "OK"]));
        assert_eq!(f.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["ok"]);
    }
}
