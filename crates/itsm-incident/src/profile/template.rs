//! Link templates of an alerting profile: a label and a URL with placeholders filled from
//! the alert, values percent-encoded.

use std::fmt::Write as _;

use itsm_core::{Error, Link, Result};
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::model::Severity;

/// A dashboard or runbook link every page and ticket of a matching alert carries (I9).
///
/// The URL may hold the placeholders `{service}`, `{tenant}`, `{alertname}`, `{severity}`
/// and `{label.NAME}` (the value of the alert's label `NAME`). Values are percent-encoded.
/// An alert without a value for a placeholder (no tenant, no such label) gets no link from
/// this template rather than a broken one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkTemplate {
    /// What the link is (`Dashboard`, `Runbook`).
    pub label: String,
    /// The URL template.
    pub url: String,
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Service,
    Tenant,
    AlertName,
    Severity,
    Label(String),
}

impl LinkTemplate {
    /// A template from a label and a URL template.
    pub fn new(label: impl Into<String>, url: impl Into<String>) -> Self {
        LinkTemplate {
            label: label.into(),
            url: url.into(),
        }
    }

    /// Checks that the template's placeholders are known and that it renders to a valid URL,
    /// with an error naming the template.
    pub fn validate(&self) -> Result<()> {
        let segments = self.parse()?;
        let sample = |segment: &Segment| -> Option<String> {
            Some(match segment {
                Segment::Text(text) => text.clone(),
                Segment::Label(_) => "label-value".to_owned(),
                _ => "value".to_owned(),
            })
        };
        let rendered: String = segments.iter().filter_map(sample).collect();
        Link::parse(self.label.clone(), &rendered)
            .map(|_| ())
            .map_err(|e| {
                Error::invalid_input(format!(
                    "link template {:?} does not render to a valid URL ({}); write an absolute \
                     URL such as https://grafana.example/d/{{service}}",
                    self.label,
                    e.message()
                ))
            })
    }

    /// The link for `alert`, or `None` when the alert lacks a value the template needs or
    /// the result is not a valid URL.
    pub fn render(&self, alert: &Alert, severity: Severity) -> Option<Link> {
        let mut url = String::with_capacity(self.url.len() + 32);
        for segment in self.parse().ok()? {
            match segment {
                Segment::Text(text) => url.push_str(&text),
                Segment::Service => encode_into(&mut url, alert.service.as_str()),
                Segment::Tenant => encode_into(&mut url, alert.tenant.as_ref()?.as_str()),
                Segment::AlertName => encode_into(&mut url, &alert.name),
                Segment::Severity => encode_into(&mut url, &severity.to_string()),
                Segment::Label(name) => encode_into(&mut url, alert.label(&name)?),
            }
        }
        Link::parse(self.label.clone(), &url).ok()
    }

    fn parse(&self) -> Result<Vec<Segment>> {
        let mut segments = Vec::new();
        let mut rest = self.url.as_str();
        while let Some(open) = rest.find('{') {
            if open > 0 {
                segments.push(Segment::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| self.error("has a `{` without a closing `}`".to_owned()))?;
            segments.push(self.placeholder(&after[..close])?);
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(self.error("has a `}` without an opening `{`".to_owned()));
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_owned()));
        }
        Ok(segments)
    }

    fn placeholder(&self, name: &str) -> Result<Segment> {
        Ok(match name {
            "service" => Segment::Service,
            "tenant" => Segment::Tenant,
            "alertname" => Segment::AlertName,
            "severity" => Segment::Severity,
            _ => match name.strip_prefix("label.") {
                Some(label) if !label.is_empty() => Segment::Label(label.to_owned()),
                _ => {
                    return Err(self.error(format!(
                        "has the unknown placeholder {{{name}}}; use {{service}}, {{tenant}}, \
                         {{alertname}}, {{severity}} or {{label.NAME}}"
                    )));
                }
            },
        })
    }

    fn error(&self, what: String) -> Error {
        Error::invalid_input(format!("link template {:?} {what}", self.label))
    }
}

/// Appends `value` percent-encoded: everything but RFC 3986 unreserved characters.
fn encode_into(out: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_percent_encoded() {
        let mut out = String::new();
        encode_into(&mut out, "a b/ç&x");
        assert_eq!(out, "a%20b%2F%C3%A7%26x");
    }

    #[test]
    fn unknown_placeholder_and_bad_url_name_the_template() {
        let err = LinkTemplate::new("Runbook", "https://wiki/{servce}")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("\"Runbook\""), "{err}");
        assert!(err.to_string().contains("{servce}"), "{err}");
        let err = LinkTemplate::new("Dash", "grafana/{service}")
            .validate()
            .unwrap_err();
        assert!(
            err.to_string().contains("\"Dash\" does not render"),
            "{err}"
        );
        let err = LinkTemplate::new("Open", "https://x/{service")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("without a closing"), "{err}");
        assert!(
            LinkTemplate::new("Ok", "https://g.example/d/{label.team}?s={severity}")
                .validate()
                .is_ok()
        );
    }
}
