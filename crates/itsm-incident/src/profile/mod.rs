//! Per-tenant alerting profiles (I9): which alerts page and which only open a ticket, how
//! a sender's severity maps to ours, the priority of each severity, which team an alert is
//! routed to, and the dashboard and runbook links every page and ticket carries.
//!
//! A profile is data: it is read from and written to TOML, versioned, and diffable.
//!
//! ```
//! use itsm_incident::profile::AlertingProfile;
//! use itsm_incident::Severity;
//!
//! let default = AlertingProfile::default_profile();
//! let tuned = default.clone().tuned(|p| p.paging.min_page_severity = Severity::Critical)?;
//! assert_eq!(tuned.version, default.version + 1);
//! assert!(default.diff(&tuned).to_string().contains("+min_page_severity = \"critical\""));
//! assert_eq!(AlertingProfile::from_toml(&tuned.to_toml()?)?, tuned);
//! # Ok::<(), itsm_core::Error>(())
//! ```

mod diff;
mod template;

use std::collections::{BTreeMap, BTreeSet};

use itsm_core::{Error, Link, Result, ServiceId, TeamId};
use serde::{Deserialize, Serialize};

pub use diff::{DiffLine, ProfileDiff};
pub use template::LinkTemplate;

use crate::alert::Alert;
use crate::model::{Priority, Severity};

/// The shipped default profile, documented field by field.
const DEFAULT_PROFILE: &str = include_str!("../../profiles/default.toml");

/// A tenant's alerting profile. See `profiles/default.toml` for every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingProfile {
    /// The profile's name.
    pub name: String,
    /// Bumped by every [`tuned`](AlertingProfile::tuned); at least 1.
    pub version: u32,
    /// Which alerts page and which only open a ticket.
    pub paging: PagingRules,
    /// The sender's raw severity label (case ignored) -> severity, overriding
    /// [`Severity::from_label`].
    #[serde(default)]
    pub severity_map: BTreeMap<String, Severity>,
    /// The incident priority of each severity.
    pub priorities: PriorityMap,
    /// Routing rules, first match wins.
    #[serde(default)]
    pub routes: Vec<RouteRule>,
    /// Links every page and ticket carries.
    #[serde(default)]
    pub links: Vec<LinkTemplate>,
}

/// Which alerts page the on-call member and which only open a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagingRules {
    /// Alerts at least this severe page (and open a ticket).
    pub min_page_severity: Severity,
    /// Alerts at least this severe open a ticket; less severe ones are dropped.
    pub min_ticket_severity: Severity,
    /// Alert names that always page and open a ticket.
    #[serde(default)]
    pub always_page: Vec<String>,
    /// Alert names that never page (they still open a ticket when severe enough).
    #[serde(default)]
    pub never_page: Vec<String>,
}

/// The incident priority of each severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityMap {
    /// Priority of critical alerts.
    pub critical: Priority,
    /// Priority of error alerts.
    pub error: Priority,
    /// Priority of warnings.
    pub warning: Priority,
    /// Priority of informational alerts.
    pub info: Priority,
}

impl PriorityMap {
    /// The priority of `severity`.
    pub fn of(&self, severity: Severity) -> Priority {
        match severity {
            Severity::Critical => self.critical,
            Severity::Error => self.error,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }
}

/// A routing rule: when every criterion it gives matches, the alert goes to `team`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Only alerts of this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceId>,
    /// Only alerts with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alertname: Option<String>,
    /// Only alerts with all these label values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The team the alert goes to.
    pub team: TeamId,
}

impl RouteRule {
    /// Whether the rule matches `alert`.
    pub fn matches(&self, alert: &Alert) -> bool {
        self.service.as_ref().is_none_or(|s| *s == alert.service)
            && self.alertname.as_ref().is_none_or(|n| *n == alert.name)
            && self
                .labels
                .iter()
                .all(|(name, value)| alert.label(name) == Some(value.as_str()))
    }
}

/// What a profile says to do with one alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPlan {
    /// Page the on-call member (I1).
    pub page: bool,
    /// Open an incident (I2). With neither `page` nor `ticket` the alert is dropped.
    pub ticket: bool,
    /// The severity after the profile's mapping.
    pub severity: Severity,
    /// The incident priority.
    pub priority: Priority,
    /// The team a routing rule names; `None` means the service's owner.
    pub team: Option<TeamId>,
    /// The profile's links and the alert's own, without duplicates.
    pub links: Vec<Link>,
    /// Why: one line for a person (`pages: error is at least error`).
    pub reason: String,
}

impl AlertingProfile {
    /// The profile onboarding assigns: `profiles/default.toml`.
    pub fn default_profile() -> Self {
        // The shipped file is checked by a unit test; it is not outside input.
        Self::from_toml(DEFAULT_PROFILE).expect("the shipped default profile is valid")
    }

    /// Reads a profile from TOML and validates it. Unknown keys are rejected (naming the
    /// key), as are values that are not allowed (naming the field and what is allowed).
    pub fn from_toml(text: &str) -> Result<Self> {
        let profile: AlertingProfile = toml::from_str(text).map_err(|e| {
            Error::invalid_input(format!(
                "the alerting profile is not valid: {}",
                e.to_string().trim_end()
            ))
        })?;
        profile.validate()?;
        Ok(profile)
    }

    /// The canonical TOML rendering: reading it back gives an equal profile.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| {
            Error::new(
                itsm_core::ErrorKind::Internal,
                format!(
                    "cannot render alerting profile {:?} as TOML: {e}",
                    self.name
                ),
            )
        })
    }

    /// Checks the rules that TOML types alone do not: a name, a version, a page threshold
    /// at least as severe as the ticket threshold, no alert both always and never paging,
    /// distinct severity labels, and link templates that render to valid URLs.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid_input(
                "alerting profile `name` must not be empty",
            ));
        }
        if self.version == 0 {
            return Err(Error::invalid_input(
                "alerting profile `version` must be at least 1",
            ));
        }
        let rules = &self.paging;
        if rules.min_page_severity > rules.min_ticket_severity {
            return Err(Error::invalid_input(format!(
                "`paging.min_page_severity` ({}) is less severe than \
                 `paging.min_ticket_severity` ({}); every paged alert must also open a ticket, \
                 so lower the ticket threshold or raise the page threshold",
                rules.min_page_severity, rules.min_ticket_severity
            )));
        }
        if let Some(name) = rules
            .always_page
            .iter()
            .find(|n| rules.never_page.contains(n))
        {
            return Err(Error::invalid_input(format!(
                "alert {name:?} is in both `paging.always_page` and `paging.never_page`; \
                 keep it in one"
            )));
        }
        let mut labels = BTreeSet::new();
        for label in self.severity_map.keys() {
            let normalised = label.trim().to_ascii_lowercase();
            if normalised.is_empty() || !labels.insert(normalised) {
                return Err(Error::invalid_input(format!(
                    "`severity_map` label {label:?} is empty or listed twice (case is ignored)"
                )));
            }
        }
        for link in &self.links {
            if link.label.trim().is_empty() {
                return Err(Error::invalid_input(format!(
                    "link template {:?} has an empty `label`",
                    link.url
                )));
            }
            link.validate()?;
        }
        Ok(())
    }

    /// This profile changed by `tune`, with `version` bumped; the result is validated.
    pub fn tuned(self, tune: impl FnOnce(&mut AlertingProfile)) -> Result<Self> {
        let version = self.version.checked_add(1).ok_or_else(|| {
            Error::invalid_input(format!(
                "alerting profile {:?} cannot be tuned further: version is at its maximum",
                self.name
            ))
        })?;
        let mut next = self;
        tune(&mut next);
        next.version = version;
        next.validate()?;
        Ok(next)
    }

    /// What changed from `self` to `other`, as a line diff of their canonical TOML.
    pub fn diff(&self, other: &AlertingProfile) -> ProfileDiff {
        let render = |p: &AlertingProfile| p.to_toml().unwrap_or_else(|e| e.to_string());
        ProfileDiff::of(
            format!("{} v{}", self.name, self.version),
            format!("{} v{}", other.name, other.version),
            &render(self),
            &render(other),
        )
    }

    /// The severity of `alert` under this profile: its raw label mapped by `severity_map`,
    /// else the severity the parser read.
    pub fn severity_of(&self, alert: &Alert) -> Severity {
        alert
            .raw_severity
            .as_deref()
            .and_then(|raw| {
                let raw = raw.trim();
                self.severity_map
                    .iter()
                    .find(|(label, _)| label.trim().eq_ignore_ascii_case(raw))
                    .map(|(_, severity)| *severity)
            })
            .unwrap_or(alert.severity)
    }

    /// What to do with `alert`: page, ticket, both or neither (dropped), at which severity
    /// and priority, for which team, with which links.
    pub fn plan(&self, alert: &Alert) -> AlertPlan {
        let severity = self.severity_of(alert);
        let rules = &self.paging;
        let always = rules.always_page.contains(&alert.name);
        let never = rules.never_page.contains(&alert.name);
        let ticket = always || severity <= rules.min_ticket_severity;
        let page = !never && (always || severity <= rules.min_page_severity);
        let reason = if always {
            format!("pages: {:?} is in always_page", alert.name)
        } else if !ticket {
            format!(
                "dropped: {severity} is below the ticket threshold {}",
                rules.min_ticket_severity
            )
        } else if never {
            format!("ticket only: {:?} is in never_page", alert.name)
        } else if page {
            format!("pages: {severity} is at least {}", rules.min_page_severity)
        } else {
            format!(
                "ticket only: {severity} is below the page threshold {}",
                rules.min_page_severity
            )
        };
        let mut links: Vec<Link> = Vec::new();
        if ticket || page {
            let rendered = self.links.iter().filter_map(|t| t.render(alert, severity));
            for link in rendered.chain(alert.links.iter().cloned()) {
                if !links.iter().any(|l| l.url == link.url) {
                    links.push(link);
                }
            }
        }
        AlertPlan {
            page,
            ticket,
            severity,
            priority: self.priorities.of(severity),
            team: self
                .routes
                .iter()
                .find(|r| r.matches(alert))
                .map(|r| r.team.clone()),
            links,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_default_profile_is_valid_and_round_trips() {
        let profile = AlertingProfile::from_toml(DEFAULT_PROFILE).unwrap();
        assert_eq!(profile.name, "default");
        assert_eq!(profile.version, 1);
        assert_eq!(profile.paging.min_page_severity, Severity::Error);
        assert_eq!(profile.priorities.of(Severity::Critical), Priority::P1);
        assert_eq!(profile.links.len(), 2);
        let again = AlertingProfile::from_toml(&profile.to_toml().unwrap()).unwrap();
        assert_eq!(again, profile);
    }

    #[test]
    fn page_threshold_less_severe_than_ticket_threshold_is_refused() {
        let err = AlertingProfile::default_profile()
            .tuned(|p| p.paging.min_page_severity = Severity::Info)
            .unwrap_err();
        assert!(
            err.to_string().contains("paging.min_page_severity"),
            "{err}"
        );
    }

    #[test]
    fn an_alert_both_always_and_never_paging_is_refused() {
        let err = AlertingProfile::default_profile()
            .tuned(|p| p.paging.always_page.push("Watchdog".into()))
            .unwrap_err();
        assert!(err.to_string().contains("\"Watchdog\""), "{err}");
    }
}
