//! The generic JSON alert accepted on `POST /v1/alerts`, for senders other than Alertmanager.
//!
//! The body is one alert object or a JSON array of them:
//!
//! ```json
//! {
//!   "status": "firing",
//!   "service": "checkout",
//!   "name": "HighErrorRate",
//!   "summary": "Error rate above 5%",
//!   "severity": "critical",
//!   "tenant": "acme",
//!   "dedup_key": "checkout-errors-2026-11-22T02:09Z",
//!   "description": "checkout 5xx ratio is 7.2% over 5m",
//!   "labels": {"region": "eu-west-1"},
//!   "links": [{"label": "dashboard", "url": "https://grafana.example/d/checkout"}],
//!   "starts_at": "2026-11-22T02:09:05Z",
//!   "ends_at": null
//! }
//! ```
//!
//! `status`, `service`, `name` and `summary` are required. Without `dedup_key` the key is
//! derived from the service, the name, the labels and `starts_at` (when given), so repeated
//! deliveries of one alert share it; a sender that fires the same alert again after it
//! resolved should send a new `starts_at` or `dedup_key`. Without `starts_at` the time of
//! receipt is used.
//!
//! ```
//! use itsm_incident::inbound::{ParseOptions, generic};
//! use itsm_core::time::OffsetDateTime;
//!
//! let body = br#"{"status":"firing","service":"checkout","name":"Down","summary":"checkout is down"}"#;
//! let alerts = generic::parse(body, &ParseOptions::default(), OffsetDateTime::UNIX_EPOCH)?;
//! assert_eq!(alerts[0].name, "Down");
//! # Ok::<(), itsm_core::Error>(())
//! ```

use std::collections::BTreeMap;

use itsm_core::{Error, IdempotencyKey, Link, Result, ServiceId, TenantId};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{ParseOptions, label_fingerprint};
use crate::alert::{Alert, AlertSource, AlertStatus};
use crate::inbound::alertmanager::parse_time;
use crate::model::Severity;

/// One generic alert as sent. Unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct GenericAlert {
    /// `firing` or `resolved`.
    pub status: String,
    /// The affected service.
    pub service: String,
    /// The alert's name.
    pub name: String,
    /// One line.
    pub summary: String,
    /// The sender's severity (`critical`, `error`, `warning`, `info`, ...).
    #[serde(default)]
    pub severity: Option<String>,
    /// The tenant whose alerting profile applies.
    #[serde(default)]
    pub tenant: Option<String>,
    /// The sender's key for this occurrence.
    #[serde(default)]
    pub dedup_key: Option<String>,
    /// Longer text.
    #[serde(default)]
    pub description: Option<String>,
    /// Extra labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Dashboards, runbooks.
    #[serde(default)]
    pub links: Vec<GenericLink>,
    /// RFC 3339 start time.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// RFC 3339 end time.
    #[serde(default)]
    pub ends_at: Option<String>,
}

/// A link of a generic alert.
#[derive(Debug, Clone, Deserialize)]
pub struct GenericLink {
    /// What it is.
    pub label: String,
    /// Where it points.
    pub url: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<GenericAlert>),
    One(Box<GenericAlert>),
}

/// Parses a body holding one generic alert or an array of them; `received_at` stands in for
/// a missing `starts_at`.
pub fn parse(
    body: &[u8],
    options: &ParseOptions,
    received_at: OffsetDateTime,
) -> Result<Vec<Alert>> {
    // Parse as a value first so that a wrong field is reported by serde with its name.
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::invalid_input(format!("body is not JSON: {e}")))?;
    let alerts = match serde_json::from_value::<OneOrMany>(value.clone()) {
        Ok(OneOrMany::Many(list)) => list,
        Ok(OneOrMany::One(one)) => vec![*one],
        Err(_) => {
            // Re-parse as the expected shape to get serde's message naming the field.
            let err = if value.is_array() {
                serde_json::from_value::<Vec<GenericAlert>>(value).err()
            } else {
                serde_json::from_value::<GenericAlert>(value).err()
            };
            let reason = err.map_or_else(|| "unexpected shape".to_string(), |e| e.to_string());
            return Err(Error::invalid_input(format!(
                "not a generic alert (see docs/alerts.md): {reason}"
            )));
        }
    };
    alerts
        .iter()
        .enumerate()
        .map(|(i, a)| convert(i, a, options, received_at))
        .collect()
}

fn convert(
    index: usize,
    alert: &GenericAlert,
    options: &ParseOptions,
    received_at: OffsetDateTime,
) -> Result<Alert> {
    let which = format!("alert {index} (`{}`)", alert.name);
    let bad = |field: &str, why: String| Error::invalid_input(format!("{which}: {field}: {why}"));
    let status = match alert.status.as_str() {
        "firing" => AlertStatus::Firing,
        "resolved" => AlertStatus::Resolved,
        other => {
            return Err(bad(
                "status",
                format!("{other:?} is neither \"firing\" nor \"resolved\""),
            ));
        }
    };
    if alert.name.trim().is_empty() {
        return Err(bad("name", "must not be empty".into()));
    }
    if alert.summary.trim().is_empty() {
        return Err(bad("summary", "must not be empty".into()));
    }
    let service = if alert.service.trim().is_empty() {
        options
            .default_service
            .clone()
            .ok_or_else(|| bad("service", "must not be empty".into()))?
    } else {
        ServiceId::new(&alert.service).map_err(|e| bad("service", e.message().to_string()))?
    };
    let tenant = match alert.tenant.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => Some(TenantId::new(t).map_err(|e| bad("tenant", e.message().to_string()))?),
        None => None,
    };
    let starts_at = match alert.starts_at.as_deref() {
        Some(text) => Some(parse_time(text).map_err(|e| bad("starts_at", e))?),
        None => None,
    };
    let ends_at = match alert.ends_at.as_deref() {
        Some(text) => Some(parse_time(text).map_err(|e| bad("ends_at", e))?),
        None => None,
    };
    let links = alert
        .links
        .iter()
        .map(|l| Link::parse(&l.label, &l.url).map_err(|e| bad("links", e.message().to_string())))
        .collect::<Result<Vec<_>>>()?;
    let dedup_key = match alert.dedup_key.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(key) => {
            IdempotencyKey::new(key).map_err(|e| bad("dedup_key", e.message().to_string()))?
        }
        None => {
            let mut identity = alert.labels.clone();
            identity.insert("\u{0}service".into(), service.as_str().to_string());
            identity.insert("\u{0}name".into(), alert.name.clone());
            let at = starts_at.map_or(String::new(), |t| format!(":{}", t.unix_timestamp_nanos()));
            IdempotencyKey::new(format!("generic:{}{at}", label_fingerprint(&identity)))?
        }
    };
    let raw_severity = alert.severity.clone();
    Ok(Alert {
        source: AlertSource::Generic,
        dedup_key,
        status,
        severity: raw_severity
            .as_deref()
            .map_or(Severity::Warning, Severity::from_label),
        raw_severity,
        service,
        tenant,
        name: alert.name.clone(),
        summary: alert.summary.clone(),
        description: alert.description.clone().unwrap_or_default(),
        labels: alert.labels.clone(),
        links,
        starts_at: starts_at.unwrap_or(received_at),
        ends_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    #[test]
    fn one_alert_or_an_array() {
        let one =
            br#"{"status":"firing","service":"a","name":"N","summary":"s","severity":"error"}"#;
        let alerts = parse(one, &ParseOptions::default(), now()).unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].severity, Severity::Error);
        let many = br#"[{"status":"firing","service":"a","name":"N","summary":"s"},
                        {"status":"resolved","service":"b","name":"M","summary":"t","dedup_key":"k1"}]"#;
        let alerts = parse(many, &ParseOptions::default(), now()).unwrap();
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[1].dedup_key.as_str(), "k1");
        assert_eq!(alerts[1].status, AlertStatus::Resolved);
    }

    #[test]
    fn derived_keys_are_stable_per_alert_and_differ_between_alerts() {
        let a = br#"{"status":"firing","service":"a","name":"N","summary":"s"}"#;
        let a_resolved =
            br#"{"status":"resolved","service":"a","name":"N","summary":"other text"}"#;
        let b = br#"{"status":"firing","service":"a","name":"M","summary":"s"}"#;
        let key = |body: &[u8]| {
            parse(body, &ParseOptions::default(), now()).unwrap()[0]
                .dedup_key
                .clone()
        };
        assert_eq!(key(a), key(a_resolved));
        assert_ne!(key(a), key(b));
    }

    #[test]
    fn missing_or_wrong_fields_are_named() {
        let opts = ParseOptions::default();
        let err = parse(
            br#"{"status":"firing","service":"a","name":"N"}"#,
            &opts,
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("summary"), "{err}");
        let err = parse(
            br#"{"status":"open","service":"a","name":"N","summary":"s"}"#,
            &opts,
            now(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("status") && err.to_string().contains("open"),
            "{err}"
        );
        let err = parse(
            br#"{"status":"firing","service":"a","name":"N","summary":"s","starts_at":"soon"}"#,
            &opts,
            now(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("starts_at"), "{err}");
        let err = parse(br#"{"status":"firing","service":"a","name":"N","summary":"s","links":[{"label":"d","url":"not a url"}]}"#, &opts, now())
            .unwrap_err();
        assert!(err.to_string().contains("links"), "{err}");
        let err = parse(b"[1,2]", &opts, now()).unwrap_err();
        assert!(err.to_string().contains("not a generic alert"), "{err}");
    }
}
