//! The port through which a vendor's webhook reaches the sync engine (I8).
//!
//! `itsm serve` mounts every configured [`WebhookSource`] at `POST /v1/webhooks/<name>`.
//! For each delivery it:
//!
//! 1. calls [`WebhookSource::verify`] with the headers and the **raw** body: a
//!    [`WebhookRejection::Unauthorized`] is answered 401 and nothing is stored;
//! 2. calls [`WebhookSource::parse`]: a [`WebhookRejection::Malformed`] is answered 400 with
//!    the reason and nothing is stored;
//! 3. stores the [`WebhookDelivery`] durably (a delivery id seen before is not stored twice)
//!    and only then answers 2xx;
//! 4. hands each [`SyncEvent`] to [`SyncEngine::apply`](crate::SyncEngine::apply) from its
//!    persisted queue, with retries.
//!
//! A source is pure: no I/O, so verifying and parsing cannot fail for a reason the sender
//! could fix by retrying. Event types the source does not map to a [`SyncChange`]
//! (`service.updated`, say) give an empty [`WebhookDelivery::events`]: accepted and ignored,
//! so the sender does not retry them.
//!
//! [`SyncChange`]: crate::SyncChange

use std::fmt::{self, Debug};

use crate::sync::{Side, SyncEvent};

/// The headers of one inbound delivery. Names compare case-insensitively; a header sent
/// more than once keeps every value, in order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WebhookHeaders {
    entries: Vec<(String, String)>,
}

impl WebhookHeaders {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one header (the name is stored lower-cased).
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl Into<String>) {
        self.entries
            .push((name.as_ref().to_ascii_lowercase(), value.into()));
    }

    /// Adds one header, builder style.
    pub fn with(mut self, name: impl AsRef<str>, value: impl Into<String>) -> Self {
        self.insert(name, value);
        self
    }

    /// The first value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in the order sent.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Debug for WebhookHeaders {
    /// Lists the header names only: values can carry credentials and signatures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(n, _)| n))
            .finish()
    }
}

impl<K: AsRef<str>, V: Into<String>> FromIterator<(K, V)> for WebhookHeaders {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = WebhookHeaders::new();
        for (name, value) in iter {
            headers.insert(name, value);
        }
        headers
    }
}

/// Why a delivery was refused. The text is sent back to the sender, so it never holds a
/// secret, a signature or the expected value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookRejection {
    /// Unsigned, badly signed, or wrong credentials: answered 401.
    Unauthorized(String),
    /// Not a payload this source understands: answered 400.
    Malformed(String),
}

impl WebhookRejection {
    /// The HTTP status the server answers with.
    pub fn status(&self) -> u16 {
        match self {
            WebhookRejection::Unauthorized(_) => 401,
            WebhookRejection::Malformed(_) => 400,
        }
    }

    /// The reason, as sent back.
    pub fn reason(&self) -> &str {
        match self {
            WebhookRejection::Unauthorized(r) | WebhookRejection::Malformed(r) => r,
        }
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookRejection::Unauthorized(r) => write!(f, "unauthorized: {r}"),
            WebhookRejection::Malformed(r) => write!(f, "malformed: {r}"),
        }
    }
}

impl std::error::Error for WebhookRejection {}

/// One accepted delivery: its id and the changes it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The sender's id for the delivery (PagerDuty `event.id`, Jira's
    /// `X-Atlassian-Webhook-Identifier`, ...): a delivery seen before is not stored twice.
    pub delivery_id: String,
    /// The changes, each with its own [`SyncEvent::delivery_id`] (the delivery id, or the
    /// delivery id with a suffix when one delivery carries several changes). Empty for event
    /// types that need no sync.
    pub events: Vec<SyncEvent>,
}

/// A vendor's webhook: how to authenticate a delivery and what it means.
pub trait WebhookSource: Send + Sync + Debug {
    /// The path segment: the source is served at `POST /v1/webhooks/<name>`.
    fn name(&self) -> &str;

    /// The side its events come from.
    fn side(&self) -> Side;

    /// Checks the delivery is genuine (signature, token), over the raw body bytes.
    /// Comparisons of secrets and signatures are constant-time.
    fn verify(&self, headers: &WebhookHeaders, body: &[u8]) -> Result<(), WebhookRejection>;

    /// Reads a verified delivery. Tolerant: unknown fields are ignored, unknown event types
    /// give no events. Never panics, whatever the bytes.
    fn parse(
        &self,
        headers: &WebhookHeaders,
        body: &[u8],
    ) -> Result<WebhookDelivery, WebhookRejection>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_case_insensitive_and_keep_every_value() {
        let headers: WebhookHeaders = [
            ("X-PagerDuty-Signature", "v1=aa"),
            ("x-pagerduty-signature", "v1=bb"),
            ("Content-Type", "application/json"),
        ]
        .into_iter()
        .collect();
        assert_eq!(headers.get("x-PAGERDUTY-signature"), Some("v1=aa"));
        assert_eq!(
            headers.get_all("X-PagerDuty-Signature").collect::<Vec<_>>(),
            ["v1=aa", "v1=bb"]
        );
        assert_eq!(headers.get("authorization"), None);
    }

    #[test]
    fn debug_shows_names_not_values() {
        let headers = WebhookHeaders::new().with("Authorization", "Bearer s3cret-token");
        let shown = format!("{headers:?}");
        assert!(shown.contains("authorization"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn rejections_map_to_statuses() {
        let bad = WebhookRejection::Unauthorized("no signature matches".into());
        assert_eq!(bad.status(), 401);
        assert_eq!(bad.reason(), "no signature matches");
        let malformed = WebhookRejection::Malformed("`event.id` is missing".into());
        assert_eq!(malformed.status(), 400);
        assert_eq!(malformed.to_string(), "malformed: `event.id` is missing");
    }
}
