//! The Events API v2 client: alert events (`enqueue`) and change events (`change/enqueue`).

use std::collections::BTreeMap;

use itsm_core::{Error, IdempotencyKey, Result, ServiceId};
use itsm_http::{HttpClient, RateLimit, Request, RetryPolicy, SecretString, hmac_sha256_hex};
use itsm_incident::{ChangeEvent, NewPage, Severity};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::PagerDutyConfig;
use crate::event_body::{Details, Trigger, TriggerPayload, links_and_images};
use crate::wire::EventAnswer;

/// PagerDuty truncates summaries at this many characters.
pub const MAX_SUMMARY_CHARS: usize = 1024;

/// Events API v2 over [`HttpClient`]; no credentials travel in headers (the routing key is
/// in the body).
#[derive(Clone)]
pub(crate) struct Events {
    http: HttpClient,
    default_key: Option<Routing>,
    service_keys: BTreeMap<ServiceId, Routing>,
}

/// A configured routing key and its rate-limit bucket, worked out once.
#[derive(Clone)]
struct Routing {
    key: SecretString,
    bucket: String,
}

impl Routing {
    fn new(key: &SecretString) -> Routing {
        Routing {
            bucket: bucket(key.expose_secret().trim()),
            key: key.clone(),
        }
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("http", &self.http)
            .field(
                "default_key",
                &self.default_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field(
                "service_keys",
                &self.service_keys.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What an alert event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Acknowledge,
    Resolve,
}

impl Events {
    pub(crate) fn from_config(config: &PagerDutyConfig, retry: RetryPolicy) -> Result<Events> {
        let http = HttpClient::builder(config.events_base())
            .timeouts(config.timeouts())
            .retry(retry)
            .rate_limit(RateLimit::per_minute(config.rate_limits.events_per_minute))
            .build()?;
        Ok(Events {
            http,
            default_key: config.routing_key.as_ref().map(Routing::new),
            service_keys: config
                .routing_keys
                .iter()
                .map(|(service, key)| (service.clone(), Routing::new(key)))
                .collect(),
        })
    }

    /// Whether some routing key is configured.
    pub(crate) fn has_routing(&self) -> bool {
        self.default_key.is_some() || !self.service_keys.is_empty()
    }

    /// The routing key (the caller's, else the service's, else the default) and its
    /// rate-limit bucket.
    fn routing_key(
        &self,
        explicit: Option<&str>,
        service: Option<&ServiceId>,
    ) -> Result<(String, String)> {
        if let Some(key) = explicit.map(str::trim).filter(|k| !k.is_empty()) {
            return Ok((key.to_owned(), bucket(key)));
        }
        service
            .and_then(|s| self.service_keys.get(s))
            .or(self.default_key.as_ref())
            .map(|r| (r.key.expose_secret().trim().to_owned(), r.bucket.clone()))
            .ok_or_else(|| {
                Error::invalid_input(
                    "no PagerDuty routing key for this event: set [pagerduty] routing_key \
                     (PAGERDUTY_ROUTING_KEY), a [pagerduty.routing_keys] entry for the service, \
                     or the page's routing",
                )
            })
    }

    /// Triggers (or re-triggers) the alert `key`.
    pub(crate) async fn trigger(&self, key: &IdempotencyKey, page: &NewPage) -> Result<()> {
        let (routing, bucket) = self.routing_key(page.routing.as_deref(), Some(&page.service))?;
        let (links, images) = links_and_images(&page.links);
        let body = Trigger {
            routing_key: &routing,
            event_action: "trigger",
            dedup_key: key.as_str(),
            client: "itsm-rs",
            payload: TriggerPayload {
                summary: truncated(&page.summary, MAX_SUMMARY_CHARS),
                severity: severity(page.severity),
                source: &page.source,
                component: page.service.as_str(),
                timestamp: now_rfc3339(),
                custom_details: Details {
                    details: &page.details,
                    service: page.service.as_str(),
                },
            },
            links,
            images,
        };
        self.send("enqueue", bucket, &body).await
    }

    /// Acknowledges or resolves the alert `key` on `routing` (`None`: the default key).
    pub(crate) async fn act(
        &self,
        key: &IdempotencyKey,
        action: Action,
        routing: Option<&str>,
    ) -> Result<()> {
        let (routing, bucket) = self.routing_key(routing, None)?;
        let body = json!({
            "routing_key": routing,
            "event_action": match action {
                Action::Acknowledge => "acknowledge",
                Action::Resolve => "resolve",
            },
            "dedup_key": key.as_str(),
        });
        self.send("enqueue", bucket, &body).await
    }

    /// Sends a change event.
    pub(crate) async fn change(&self, key: &IdempotencyKey, event: &ChangeEvent) -> Result<()> {
        let (routing, bucket) = self.routing_key(event.routing.as_deref(), Some(&event.service))?;
        let mut details: serde_json::Map<String, Value> = event
            .details
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        details.insert("service".into(), Value::String(event.service.to_string()));
        details.insert("itsm_key".into(), Value::String(key.to_string()));
        let (links, _) = links_and_images(&event.links);
        let timestamp = event
            .timestamp
            .format(&Rfc3339)
            .map_err(|e| Error::invalid_input(format!("change event timestamp: {e}")))?;
        let body = json!({
            "routing_key": routing,
            "payload": {
                "summary": truncate(&event.summary, MAX_SUMMARY_CHARS),
                "timestamp": timestamp,
                "source": event.source,
                "custom_details": details,
            },
            "links": links,
        });
        self.send("change/enqueue", bucket, &body).await
    }

    /// Posts one event. Enqueueing is idempotent on the dedup key, so it is retried after
    /// timeouts and every 5xx as well as 429 (the event was not taken: never dropped while
    /// the retry budget lasts).
    async fn send(&self, path: &str, bucket: String, body: &impl Serialize) -> Result<()> {
        let req = Request::post(path)
            .json(body)
            .idempotent(true)
            .rate_limit_key(bucket);
        let resp = self.http.send(req).await?;
        // A 2xx whose body says otherwise is not expected; keep it tolerant.
        let answer: EventAnswer = resp.json().unwrap_or_default();
        tracing::debug!(
            status = answer.status.as_deref().unwrap_or("?"),
            "pagerduty event accepted"
        );
        Ok(())
    }
}

/// The rate-limit bucket of a routing key: a digest, so the key itself is not kept as a map
/// key or shown anywhere.
fn bucket(routing: &str) -> String {
    let digest = hmac_sha256_hex(
        &SecretString::from("itsm-rs rate-limit bucket"),
        routing.as_bytes(),
    );
    format!("routing:{}", digest.get(..16).unwrap_or(&digest))
}

/// PagerDuty's severity for ours (the same four names).
pub(crate) fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// At most `max` characters, cut on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    truncated(text, max).to_owned()
}

/// `text` cut to at most `max` characters.
pub(crate) fn truncated(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_cut_on_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("hi", 10), "hi");
        assert_eq!(
            truncate(&"é".repeat(2000), MAX_SUMMARY_CHARS)
                .chars()
                .count(),
            1024
        );
    }

    #[test]
    fn configured_keys_carry_their_bucket_and_explicit_keys_get_theirs() {
        let config = PagerDutyConfig {
            routing_key: Some(SecretString::from(" DEFAULTkey ")),
            routing_keys: BTreeMap::from([(
                ServiceId::new("checkout").unwrap(),
                SecretString::from("CHECKOUTkey"),
            )]),
            ..PagerDutyConfig::default()
        };
        let events = Events::from_config(&config, RetryPolicy::none()).unwrap();
        let checkout = ServiceId::new("checkout").unwrap();
        let other = ServiceId::new("other").unwrap();
        assert_eq!(
            events.routing_key(None, Some(&checkout)).unwrap(),
            ("CHECKOUTkey".to_owned(), bucket("CHECKOUTkey"))
        );
        assert_eq!(
            events.routing_key(None, Some(&other)).unwrap(),
            ("DEFAULTkey".to_owned(), bucket("DEFAULTkey"))
        );
        assert_eq!(
            events
                .routing_key(Some(" PAGEkey "), Some(&checkout))
                .unwrap(),
            ("PAGEkey".to_owned(), bucket("PAGEkey"))
        );
        let debug = format!("{events:?}");
        assert!(
            !debug.contains("DEFAULTkey") && !debug.contains("CHECKOUTkey"),
            "{debug}"
        );
    }

    #[test]
    fn buckets_hide_the_routing_key() {
        let b = bucket("R0UTINGkeyS3CRET");
        assert!(!b.contains("R0UTING"));
        assert_eq!(b, bucket("R0UTINGkeyS3CRET"));
        assert_ne!(b, bucket("other"));
    }
}
