//! Freeze (blackout) windows: periods in which deployments are refused unless an emergency
//! change overrides them.

use itsm_core::{Environment, ServiceId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::Window;

/// A period during which changes to some services and environments are frozen.
///
/// In `itsm.toml`:
///
/// ```toml
/// [[freeze]]
/// name = "Year-end freeze"
/// start = "2026-12-20T00:00:00Z"
/// end = "2027-01-04T00:00:00Z"
/// environments = ["production"]   # empty or absent: every environment
/// services = []                   # empty or absent: every service
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeWindow {
    /// What the freeze is called (shown in refusals).
    pub name: String,
    /// Start, inclusive.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// End, exclusive.
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// Environments frozen; empty means every environment.
    #[serde(default)]
    pub environments: Vec<Environment>,
    /// Services frozen; empty means every service.
    #[serde(default)]
    pub services: Vec<ServiceId>,
}

impl FreezeWindow {
    /// Whether the freeze covers this service in this environment (at some time).
    pub fn applies_to(&self, service: &ServiceId, environment: &Environment) -> bool {
        (self.environments.is_empty() || self.environments.contains(environment))
            && (self.services.is_empty() || self.services.contains(service))
    }

    /// The freeze's period as a [`Window`].
    pub fn window(&self) -> Window {
        Window {
            start: self.start,
            end: self.end,
        }
    }

    /// Whether the freeze's period overlaps `window`.
    pub fn overlaps(&self, window: &Window) -> bool {
        self.start < window.end && window.start < self.end
    }

    /// Whether the freeze is in force at `at` for this service and environment.
    pub fn blocks(
        &self,
        service: &ServiceId,
        environment: &Environment,
        at: OffsetDateTime,
    ) -> bool {
        self.applies_to(service, environment) && self.window().contains(at)
    }

    /// Checks that the window is not empty or reversed; the error names the freeze.
    pub fn validate(&self) -> itsm_core::Result<()> {
        if self.name.trim().is_empty() {
            return Err(itsm_core::Error::invalid_input(
                "a freeze window needs a name; add name = \"...\"",
            ));
        }
        if self.end <= self.start {
            return Err(itsm_core::Error::invalid_input(format!(
                "freeze window {:?} ends ({}) at or before it starts ({}); fix start/end",
                self.name,
                itsm_core::format_instant(self.end),
                itsm_core::format_instant(self.start)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn freeze(envs: &[&str], services: &[&str]) -> FreezeWindow {
        FreezeWindow {
            name: "year-end".into(),
            start: datetime!(2026-12-20 00:00 UTC),
            end: datetime!(2027-01-04 00:00 UTC),
            environments: envs.iter().map(|e| Environment::new(e).unwrap()).collect(),
            services: services
                .iter()
                .map(|s| ServiceId::new(s).unwrap())
                .collect(),
        }
    }

    #[test]
    fn scope_and_time() {
        let f = freeze(&["production"], &[]);
        let svc = ServiceId::new("checkout").unwrap();
        let prod = Environment::production();
        let staging = Environment::new("staging").unwrap();
        assert!(f.blocks(&svc, &prod, datetime!(2026-12-24 12:00 UTC)));
        assert!(!f.blocks(&svc, &staging, datetime!(2026-12-24 12:00 UTC)));
        assert!(!f.blocks(&svc, &prod, datetime!(2027-01-04 00:00 UTC)));
        let only_billing = freeze(&[], &["billing"]);
        assert!(!only_billing.applies_to(&svc, &prod));
        assert!(only_billing.applies_to(&ServiceId::new("billing").unwrap(), &staging));
    }

    #[test]
    fn overlap_and_validation() {
        let f = freeze(&[], &[]);
        let before = Window {
            start: datetime!(2026-12-19 00:00 UTC),
            end: datetime!(2026-12-20 00:00 UTC),
        };
        let across = Window {
            start: datetime!(2027-01-03 00:00 UTC),
            end: datetime!(2027-01-05 00:00 UTC),
        };
        assert!(!f.overlaps(&before));
        assert!(f.overlaps(&across));
        f.validate().unwrap();
        let mut reversed = f.clone();
        reversed.end = reversed.start;
        assert!(
            reversed
                .validate()
                .unwrap_err()
                .to_string()
                .contains("at or before it starts")
        );
    }
}
