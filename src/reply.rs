//! Server reply values: what every layer passes around (errors carry them). The one parser that
//! builds them from the wire is `protocol::ReplyParser`; this module depends on nothing.

/// One complete server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    lines: Vec<String>,
}

/// An RFC 3463 enhanced status code `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnhancedStatus {
    /// 2, 4 or 5.
    pub class: u16,
    /// The subject (0–999).
    pub subject: u16,
    /// The detail (0–999).
    pub detail: u16,
}

impl Reply {
    /// A reply built from its parts (used by the parser and by tests).
    pub fn new(code: u16, lines: Vec<String>) -> Self {
        Reply { code, lines }
    }

    /// The three-digit reply code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The text of each line, code and separator removed.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The text of all lines joined with `\n`, as smtplib's `getreply` returns it.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// 2yz.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// The enhanced status code at the start of the first line, when the server sent one whose
    /// class matches the reply code's first digit.
    pub fn enhanced_status(&self) -> Option<EnhancedStatus> {
        let first = self.lines.first()?;
        let token = first.split(' ').next()?;
        let mut parts = token.split('.');
        let num = |s: Option<&str>, max_len: usize| -> Option<u16> {
            let s = s?;
            if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let class = num(parts.next(), 1)?;
        let subject = num(parts.next(), 3)?;
        let detail = num(parts.next(), 3)?;
        if parts.next().is_some() || class != self.code / 100 {
            return None;
        }
        Some(EnhancedStatus { class, subject, detail })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_status() {
        let r = Reply::new(550, vec!["5.1.1 <x@y> User unknown".into()]);
        assert_eq!(r.enhanced_status(), Some(EnhancedStatus { class: 5, subject: 1, detail: 1 }));
        let r = Reply::new(250, vec!["2.0.0 Ok: queued".into()]);
        assert_eq!(r.enhanced_status().unwrap().class, 2);
        // class must match the code
        assert_eq!(Reply::new(550, vec!["2.1.1 x".into()]).enhanced_status(), None);
        assert_eq!(Reply::new(250, vec!["Ok".into()]).enhanced_status(), None);
        assert_eq!(Reply::new(250, vec!["2.0 Ok".into()]).enhanced_status(), None);
        assert_eq!(Reply::new(250, vec!["2.1000.0 Ok".into()]).enhanced_status(), None);
    }
}
