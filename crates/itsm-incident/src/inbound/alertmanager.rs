//! The Prometheus Alertmanager webhook (`<webhook_config>`, payload version 4).
//!
//! ```
//! use itsm_incident::inbound::{ParseOptions, alertmanager};
//!
//! let body = br#"{"version":"4","status":"firing","alerts":[{"status":"firing",
//!   "labels":{"alertname":"HighErrorRate","service":"checkout","severity":"critical"},
//!   "annotations":{"summary":"Error rate above 5%"},
//!   "startsAt":"2026-11-22T02:09:05Z","endsAt":"0001-01-01T00:00:00Z",
//!   "fingerprint":"ac36b8d065d4a922"}]}"#;
//! let alerts = alertmanager::parse(body, &ParseOptions::default())?;
//! assert_eq!(alerts[0].service.as_str(), "checkout");
//! assert_eq!(alerts[0].summary, "Error rate above 5%");
//! # Ok::<(), itsm_core::Error>(())
//! ```

use std::collections::BTreeMap;

use itsm_core::{Error, IdempotencyKey, Link, Result, TenantId};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ParseOptions, label_fingerprint};
use crate::alert::{Alert, AlertSource, AlertStatus};
use crate::model::Severity;

/// The webhook body as Alertmanager sends it. Unknown fields are ignored; every field but
/// `alerts` may be missing.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    /// Payload version (`"4"`).
    #[serde(default)]
    pub version: Option<String>,
    /// The group's key.
    #[serde(default)]
    pub group_key: Option<String>,
    /// Status of the group (`firing` when any alert fires).
    #[serde(default)]
    pub status: Option<String>,
    /// The receiver's name.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Labels shared by every alert of the group.
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    /// Annotations shared by every alert of the group.
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    /// Alertmanager's own URL.
    #[serde(default, rename = "externalURL")]
    pub external_url: Option<String>,
    /// The alerts.
    pub alerts: Vec<WebhookAlert>,
    /// How many alerts were left out by `max_alerts`.
    #[serde(default)]
    pub truncated_alerts: u64,
}

/// One alert of a webhook body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Identifying labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations (summary, description, runbook_url, dashboard).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 start time.
    pub starts_at: String,
    /// RFC 3339 end time; the Go zero time for a firing alert with no end.
    #[serde(default)]
    pub ends_at: Option<String>,
    /// Link to the expression in Prometheus.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    /// Alertmanager's fingerprint of the label set.
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// Parses a webhook body into alerts.
///
/// The dedup key of each alert is `alertmanager:<fingerprint>:<startsAt as unix nanoseconds>`:
/// repeated deliveries of one occurrence share it, and the same alert firing again after it
/// resolved (a new `startsAt`) gets a new one.
pub fn parse(body: &[u8], options: &ParseOptions) -> Result<Vec<Alert>> {
    let payload: WebhookPayload = serde_json::from_slice(body)
        .map_err(|e| Error::invalid_input(format!("not an Alertmanager webhook body: {e}")))?;
    if let Some(version) = payload.version.as_deref()
        && version != "4"
    {
        return Err(Error::invalid_input(format!(
            "Alertmanager webhook version {version:?} is not supported; version \"4\" is"
        )));
    }
    payload
        .alerts
        .iter()
        .enumerate()
        .map(|(index, alert)| convert(index, alert, options))
        .collect()
}

fn convert(index: usize, alert: &WebhookAlert, options: &ParseOptions) -> Result<Alert> {
    // A blank `alertname` is treated as a missing one: the name heads pages and tickets.
    let name = alert
        .labels
        .get("alertname")
        .filter(|n| !n.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| "alert".to_string());
    let which = format!("alerts[{index}] (`{name}`)");
    let status = match alert.status.as_str() {
        "firing" => AlertStatus::Firing,
        "resolved" => AlertStatus::Resolved,
        other => {
            return Err(Error::invalid_input(format!(
                "{which}: status {other:?} is neither \"firing\" nor \"resolved\""
            )));
        }
    };
    let starts_at = parse_time(&alert.starts_at).map_err(|e| {
        Error::invalid_input(format!("{which}: startsAt {:?}: {e}", alert.starts_at))
    })?;
    let ends_at = match alert.ends_at.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let at = parse_time(text)
                .map_err(|e| Error::invalid_input(format!("{which}: endsAt {text:?}: {e}")))?;
            (at.year() > 1).then_some(at)
        }
    };
    let service = options.service_of(&alert.labels, &which)?;
    let tenant = match alert
        .labels
        .get(&options.tenant_label)
        .filter(|t| !t.trim().is_empty())
    {
        Some(t) => Some(TenantId::new(t).map_err(|e| {
            Error::invalid_input(format!(
                "{which}: label `{}`: {}",
                options.tenant_label,
                e.message()
            ))
        })?),
        None => None,
    };
    let raw_severity = alert.labels.get(&options.severity_label).cloned();
    let severity = raw_severity
        .as_deref()
        .map_or(Severity::Warning, Severity::from_label);
    let fingerprint = alert
        .fingerprint
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| label_fingerprint(&alert.labels));
    let dedup_key = IdempotencyKey::new(format!(
        "alertmanager:{fingerprint}:{}",
        starts_at.unix_timestamp_nanos()
    ))
    .map_err(|e| Error::invalid_input(format!("{which}: fingerprint: {}", e.message())))?;
    let summary = alert
        .annotations
        .get("summary")
        .or_else(|| alert.annotations.get("title"))
        .cloned()
        .unwrap_or_else(|| format!("{name} on {service}"));
    let description = alert
        .annotations
        .get("description")
        .cloned()
        .unwrap_or_default();
    let mut links = Vec::new();
    for (label, url) in [
        ("source", alert.generator_url.as_deref()),
        (
            "runbook",
            alert.annotations.get("runbook_url").map(String::as_str),
        ),
        (
            "dashboard",
            alert.annotations.get("dashboard").map(String::as_str),
        ),
    ] {
        // A sender's malformed link is dropped rather than failing the alert: the alert
        // matters more than one of its links.
        if let Some(link) = url.and_then(|u| Link::parse(label, u).ok()) {
            links.push(link);
        }
    }
    Ok(Alert {
        source: AlertSource::Alertmanager,
        dedup_key,
        status,
        severity,
        raw_severity,
        service,
        tenant,
        name,
        summary,
        description,
        labels: alert.labels.clone(),
        links,
        starts_at,
        ends_at,
    })
}

pub(crate) fn parse_time(text: &str) -> std::result::Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| format!("not an RFC 3339 timestamp ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../tests/fixtures/alertmanager/webhook-sample.json");
    const RESOLVED: &str =
        include_str!("../../tests/fixtures/alertmanager/webhook-sample-resolved.json");
    const GROUPED: &str =
        include_str!("../../tests/fixtures/alertmanager/webhook-sample-grouped-2-alerts.json");

    #[test]
    fn captured_firing_alert_is_read() {
        let alerts = parse(SAMPLE.as_bytes(), &ParseOptions::default()).unwrap();
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.service.as_str(), "checkout");
        assert_eq!(a.name, "HighErrorRate");
        assert_eq!(a.summary, "Error rate above 5%");
        assert_eq!(a.description, "checkout 5xx ratio is 7.2% over 5m");
        assert!(a.ends_at.is_none(), "the Go zero time means no end");
        assert!(
            a.dedup_key
                .as_str()
                .starts_with("alertmanager:ac36b8d065d4a922:")
        );
        assert_eq!(a.links[0].label, "source");
    }

    #[test]
    fn resolved_delivery_keeps_the_key_of_its_firing_delivery() {
        let resolved = parse(RESOLVED.as_bytes(), &ParseOptions::default()).unwrap();
        assert_eq!(resolved[0].status, AlertStatus::Resolved);
        assert!(resolved[0].ends_at.is_some());
        let payload: WebhookPayload = serde_json::from_str(RESOLVED).unwrap();
        let mut firing = payload.alerts[0].clone();
        firing.status = "firing".into();
        firing.ends_at = Some("0001-01-01T00:00:00Z".into());
        let firing = convert(0, &firing, &ParseOptions::default()).unwrap();
        assert_eq!(firing.dedup_key, resolved[0].dedup_key);
    }

    #[test]
    fn grouped_alerts_each_get_their_own_key() {
        let alerts = parse(GROUPED.as_bytes(), &ParseOptions::default()).unwrap();
        assert_eq!(alerts.len(), 2);
        assert_ne!(alerts[0].dedup_key, alerts[1].dedup_key);
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        let opts = ParseOptions::default();
        let err = parse(b"{", &opts).unwrap_err();
        assert!(
            err.to_string().contains("not an Alertmanager webhook body"),
            "{err}"
        );
        let err = parse(br#"{"version":"3","alerts":[]}"#, &opts).unwrap_err();
        assert!(err.to_string().contains("version \"3\""), "{err}");
        let body = br#"{"alerts":[{"status":"pending","labels":{"service":"a"},"startsAt":"2026-01-01T00:00:00Z"}]}"#;
        let err = parse(body, &opts).unwrap_err();
        assert!(
            err.to_string().contains("alerts[0]") && err.to_string().contains("pending"),
            "{err}"
        );
        let body =
            br#"{"alerts":[{"status":"firing","labels":{"service":"a"},"startsAt":"yesterday"}]}"#;
        let err = parse(body, &opts).unwrap_err();
        assert!(err.to_string().contains("startsAt"), "{err}");
    }

    #[test]
    fn unknown_fields_are_ignored_and_missing_optional_ones_tolerated() {
        let body = br#"{"notification_reason":"new","routeLabels":{},"alerts":[{"status":"firing",
            "labels":{"service":"a","alertname":"X"},"startsAt":"2026-01-01T00:00:00Z","extra":1}]}"#;
        let alerts = parse(body, &ParseOptions::default()).unwrap();
        assert_eq!(alerts[0].summary, "X on a");
        assert_eq!(
            alerts[0].severity,
            Severity::Warning,
            "no severity label: warning"
        );
        assert!(alerts[0].dedup_key.as_str().starts_with("alertmanager:"));
    }

    #[test]
    fn a_blank_alertname_reads_as_a_missing_one() {
        let body = br#"{"alerts":[{"status":"firing","labels":{"service":"a","alertname":" "},
            "startsAt":"2026-01-01T00:00:00Z"}]}"#;
        let alerts = parse(body, &ParseOptions::default()).unwrap();
        assert_eq!(alerts[0].name, "alert");
        assert_eq!(alerts[0].summary, "alert on a");
    }
}
