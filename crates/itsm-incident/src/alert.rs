//! Alerts: what an alert source (Prometheus Alertmanager, a generic JSON sender) tells us,
//! normalised into one [`Alert`] the incident workflow acts on.
//!
//! Parsers for the inbound formats live in [`crate::inbound`].

use std::collections::BTreeMap;
use std::fmt;

use itsm_core::{IdempotencyKey, Link, ServiceId, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::Severity;

/// Where an alert came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// Prometheus Alertmanager's webhook (`POST /v1/alerts/alertmanager`).
    Alertmanager,
    /// The generic JSON alert (`POST /v1/alerts`).
    Generic,
}

impl AlertSource {
    /// The stable name (`alertmanager`, `generic`), also the prefix of dedup keys.
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertSource::Alertmanager => "alertmanager",
            AlertSource::Generic => "generic",
        }
    }
}

impl fmt::Display for AlertSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the alert is firing or has resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// The condition holds: page and open an incident (I1, I2).
    Firing,
    /// The condition cleared: resolve the page and the incident (I7).
    Resolved,
}

impl AlertStatus {
    /// `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert, normalised.
///
/// The [`dedup_key`](Alert::dedup_key) names one occurrence of one alert: every delivery of
/// it (firing again, resolved) carries the same key, so a duplicated delivery opens no
/// second incident and the resolution finds the incident it resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Which sender delivered it.
    pub source: AlertSource,
    /// One occurrence of one alert; used as the idempotency key of the page and the incident.
    pub dedup_key: IdempotencyKey,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// How bad it is, after the sender's label was read (`critical`, `warning`, ...).
    pub severity: Severity,
    /// The sender's own severity label, unchanged, for profiles that map it themselves.
    #[serde(default)]
    pub raw_severity: Option<String>,
    /// The service affected.
    pub service: ServiceId,
    /// The tenant whose alerting profile applies, when the alert names one.
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// The alert's name (Alertmanager `alertname`).
    pub name: String,
    /// One line.
    pub summary: String,
    /// Longer text.
    #[serde(default)]
    pub description: String,
    /// All labels as sent.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Links the sender gave (generator URL, dashboard, runbook).
    #[serde(default)]
    pub links: Vec<Link>,
    /// When the condition started.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// When it ended, for a resolved alert.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
}

impl Alert {
    /// Whether the alert is firing.
    pub fn is_firing(&self) -> bool {
        self.status == AlertStatus::Firing
    }

    /// A label's value, if the alert has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

impl Severity {
    /// Reads a sender's severity label leniently: `critical`/`page`/`p1`/`fatal`/`emergency`
    /// are critical, `error`/`major`/`high`/`p2` error, `warning`/`warn`/`minor`/`medium`/`p3`
    /// warning, anything else (including `info`, `low`, `none`) info. Case is ignored.
    pub fn from_label(label: &str) -> Severity {
        match label.trim().to_ascii_lowercase().as_str() {
            "critical" | "crit" | "page" | "p1" | "fatal" | "emergency" | "disaster" => {
                Severity::Critical
            }
            "error" | "err" | "major" | "high" | "p2" => Severity::Error,
            "warning" | "warn" | "minor" | "medium" | "average" | "p3" => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_labels_are_read_leniently() {
        assert_eq!(Severity::from_label("CRITICAL"), Severity::Critical);
        assert_eq!(Severity::from_label(" page "), Severity::Critical);
        assert_eq!(Severity::from_label("major"), Severity::Error);
        assert_eq!(Severity::from_label("warn"), Severity::Warning);
        assert_eq!(Severity::from_label("info"), Severity::Info);
        assert_eq!(Severity::from_label("something-else"), Severity::Info);
    }

    #[test]
    fn status_names_are_stable() {
        assert_eq!(AlertStatus::Firing.to_string(), "firing");
        assert_eq!(AlertStatus::Resolved.to_string(), "resolved");
        assert_eq!(AlertSource::Alertmanager.to_string(), "alertmanager");
    }
}
