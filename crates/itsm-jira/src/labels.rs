//! The labels the adapter writes (our key, service, version...), and JQL quoting.
//!
//! Jira labels may not contain spaces and are at most 255 characters. A value that is
//! label-safe is written as is (`itsm-key:deploy/checkout/1.4.2`); any other is written as
//! a SHA-256 (`itsm-key:sha256-<hex>`), so it still matches exactly but cannot be read back.

use sha2::{Digest, Sha256};

/// Longest label Jira accepts.
const MAX_LABEL: usize = 255;

/// The labels of one configuration (`prefix` from `[jira] label_prefix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Labels {
    prefix: String,
}

impl Labels {
    pub(crate) fn new(prefix: &str) -> Self {
        Labels {
            prefix: prefix.to_owned(),
        }
    }

    /// `<prefix><name>:<value>`, hashed when not label-safe.
    pub(crate) fn label(&self, name: &str, value: &str) -> String {
        let head = format!("{}{name}:", self.prefix);
        let safe = !value.is_empty()
            && value
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '\\');
        if safe && head.len() + value.len() <= MAX_LABEL {
            format!("{head}{value}")
        } else {
            let digest = Sha256::digest(value.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("{head}sha256-{hex}")
        }
    }

    /// A flag label without value (`itsm-retroactive`).
    pub(crate) fn flag(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The value of the first `name` label among `labels`, unless it was hashed.
    pub(crate) fn value<'a>(&self, labels: &'a [String], name: &str) -> Option<&'a str> {
        labels
            .iter()
            .find_map(|l| self.value_of(l, name))
            .filter(|v| !v.starts_with("sha256-"))
    }

    /// Every label of `name` among `labels` (for removing them).
    pub(crate) fn all<'a>(&self, labels: &'a [String], name: &str) -> Vec<&'a String> {
        labels
            .iter()
            .filter(|l| self.value_of(l, name).is_some())
            .collect()
    }

    /// What follows `<prefix><name>:` in `label`, if it starts so (without building the
    /// head: incidents are read often).
    fn value_of<'a>(&self, label: &'a str, name: &str) -> Option<&'a str> {
        label
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(name)?
            .strip_prefix(':')
    }
}

/// `text` as a JQL string literal.
pub(crate) fn jql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_values_are_readable_others_hashed() {
        let l = Labels::new("itsm-");
        assert_eq!(
            l.label("key", "deploy/checkout/1.4.2"),
            "itsm-key:deploy/checkout/1.4.2"
        );
        let hashed = l.label("key", "with space");
        assert!(
            hashed.starts_with("itsm-key:sha256-") && hashed.len() == 16 + 64,
            "{hashed}"
        );
        assert_eq!(hashed, l.label("key", "with space"));
        assert_ne!(hashed, l.label("key", "with_space"));
        let long = "x".repeat(300);
        assert!(l.label("key", &long).len() <= 255);
        let labels = vec![l.label("service", "checkout"), hashed.clone()];
        assert_eq!(l.value(&labels, "service"), Some("checkout"));
        assert_eq!(l.value(&labels, "key"), None);
        assert_eq!(l.all(&labels, "key"), [&hashed]);
        // A name that is the start of another's is not that other.
        let labels = vec!["itsm-keys:a".to_owned(), "itsm-key:b".to_owned()];
        assert_eq!(l.value(&labels, "key"), Some("b"));
        assert_eq!(l.all(&labels, "key"), [&labels[1]]);
        assert_eq!(l.value(&["other-key:c".to_owned()], "key"), None);
    }

    #[test]
    fn jql_strings_escape_quotes() {
        assert_eq!(jql_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
