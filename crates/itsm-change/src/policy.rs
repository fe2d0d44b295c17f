//! Policy as code: is a candidate deployment a standard (pre-approved) change or a normal one?
//!
//! The rules are a pure function of their inputs ([`Candidate`]), so they can be tested
//! offline, and every decision carries the reasons it was made for, which are shown to the
//! person running the pipeline and stored on the change.

use std::fmt;

use itsm_core::{Environment, ServiceId, Version, format_instant};
use serde::{Deserialize, Serialize};

use crate::freeze::FreezeWindow;
use crate::model::{ChangeKind, ChangeTemplate, TemplateId, Window};

/// The thresholds of the policy (`[policy]` in `itsm.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// A service with more failed production deployments than this in the lookback period
    /// is not healthy enough for standard changes.
    pub max_failed_deployments: u32,
    /// The lookback period, in days.
    pub lookback_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_failed_deployments: 1,
            lookback_days: 7,
        }
    }
}

/// What the policy looks at for one deployment.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The service deployed.
    pub service: &'a ServiceId,
    /// The version deployed.
    pub version: &'a Version,
    /// The target environment.
    pub environment: &'a Environment,
    /// When the deployment is planned.
    pub window: Window,
    /// The service's templates (any state; the policy picks a usable one).
    pub templates: &'a [ChangeTemplate],
    /// Failed production deployments of the service in the lookback period.
    pub recent_failures: u32,
    /// The freeze windows in force.
    pub freezes: &'a [FreezeWindow],
}

/// The policy's answer: the change kind, the template a standard change is made from, and
/// every reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Standard or normal.
    pub kind: ChangeKind,
    /// For a standard change, the template to use.
    pub template: Option<TemplateId>,
    /// Why: for a standard change, each condition met; for a normal change, each one missed.
    pub reasons: Vec<String>,
}

impl fmt::Display for Decision {
    /// `normal because: no active template for checkout in production; 2 failed ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} because: {}", self.kind, self.reasons.join("; "))
    }
}

impl Policy {
    /// Classifies a candidate.
    ///
    /// Standard only when an active, unexpired template for the service allows the
    /// environment, the planned window is outside every freeze window that applies, and the
    /// service has at most [`max_failed_deployments`](Policy::max_failed_deployments) failed
    /// production deployments in the last [`lookback_days`](Policy::lookback_days).
    ///
    /// ```
    /// use itsm_change::{Candidate, ChangeKind, Policy, Window};
    /// use itsm_core::{Environment, ServiceId, Version, format_instant};
    /// use time::macros::datetime;
    ///
    /// let service = ServiceId::new("checkout")?;
    /// let decision = Policy::default().classify(&Candidate {
    ///     service: &service,
    ///     version: &Version::new("1.4.2")?,
    ///     environment: &Environment::production(),
    ///     window: Window { start: datetime!(2026-05-01 10:00 UTC), end: datetime!(2026-05-01 12:00 UTC) },
    ///     templates: &[],
    ///     recent_failures: 2,
    ///     freezes: &[],
    /// });
    /// assert_eq!(decision.kind, ChangeKind::Normal);
    /// assert_eq!(
    ///     decision.to_string(),
    ///     "normal because: no active template for checkout allows production; \
    ///      2 failed production deployments in the last 7 days (at most 1 allowed)"
    /// );
    /// # Ok::<(), itsm_core::Error>(())
    /// ```
    pub fn classify(&self, candidate: &Candidate<'_>) -> Decision {
        let mut met = Vec::new();
        let mut missed = Vec::new();

        let template = candidate
            .templates
            .iter()
            .filter(|t| &t.service == candidate.service)
            .find(|t| t.usable_for(candidate.environment, candidate.window.start));
        match template {
            Some(t) => met.push(format!(
                "template {} ({}) allows {}",
                t.id, t.name, candidate.environment
            )),
            None => missed.push(self.why_no_template(candidate)),
        }

        let freezes: Vec<&FreezeWindow> = candidate
            .freezes
            .iter()
            .filter(|f| f.applies_to(candidate.service, candidate.environment))
            .filter(|f| f.overlaps(&candidate.window))
            .collect();
        if freezes.is_empty() {
            met.push("outside every freeze window".to_owned());
        } else {
            for f in freezes {
                missed.push(format!(
                    "freeze window {:?} ({} to {}) overlaps the planned window",
                    f.name,
                    format_instant(f.start),
                    format_instant(f.end)
                ));
            }
        }

        let failures = format!(
            "{} failed production deployment{} in the last {} days (at most {} allowed)",
            candidate.recent_failures,
            if candidate.recent_failures == 1 {
                ""
            } else {
                "s"
            },
            self.lookback_days,
            self.max_failed_deployments
        );
        if candidate.recent_failures > self.max_failed_deployments {
            missed.push(failures);
        } else {
            met.push(failures);
        }

        if missed.is_empty() {
            Decision {
                kind: ChangeKind::Standard,
                template: template.map(|t| t.id.clone()),
                reasons: met,
            }
        } else {
            Decision {
                kind: ChangeKind::Normal,
                template: None,
                reasons: missed,
            }
        }
    }

    fn why_no_template(&self, c: &Candidate<'_>) -> String {
        let own: Vec<&ChangeTemplate> = c
            .templates
            .iter()
            .filter(|t| &t.service == c.service)
            .collect();
        let at = c.window.start;
        if own
            .iter()
            .any(|t| t.active && t.expires_at.is_some_and(|e| at >= e))
        {
            format!("the template for {} has expired; renew it", c.service)
        } else if own
            .iter()
            .any(|t| t.active && !t.environments.contains(c.environment))
        {
            format!("no template for {} allows {}", c.service, c.environment)
        } else {
            format!(
                "no active template for {} allows {}",
                c.service, c.environment
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use itsm_core::Person;
    use time::macros::datetime;

    fn template(service: &str, envs: &[&str]) -> ChangeTemplate {
        ChangeTemplate {
            id: TemplateId::new("TPL1").unwrap(),
            service: ServiceId::new(service).unwrap(),
            name: "Routine release".into(),
            description: String::new(),
            environments: envs.iter().map(|e| Environment::new(e).unwrap()).collect(),
            implementation_plan: String::new(),
            backout_plan: String::new(),
            test_plan: String::new(),
            owner: Person::named("pm"),
            approved_by: None,
            approved_at: None,
            expires_at: Some(datetime!(2027-01-01 00:00 UTC)),
            active: true,
            external: None,
        }
    }

    struct Fixture {
        service: ServiceId,
        version: Version,
        env: Environment,
    }

    fn fixture() -> Fixture {
        Fixture {
            service: ServiceId::new("checkout").unwrap(),
            version: Version::new("1.0.0").unwrap(),
            env: Environment::production(),
        }
    }

    fn window() -> Window {
        Window {
            start: datetime!(2026-06-01 10:00 UTC),
            end: datetime!(2026-06-01 12:00 UTC),
        }
    }

    fn candidate<'a>(
        f: &'a Fixture,
        templates: &'a [ChangeTemplate],
        failures: u32,
        freezes: &'a [FreezeWindow],
    ) -> Candidate<'a> {
        Candidate {
            service: &f.service,
            version: &f.version,
            environment: &f.env,
            window: window(),
            templates,
            recent_failures: failures,
            freezes,
        }
    }

    #[test]
    fn standard_when_every_condition_holds() {
        let f = fixture();
        let t = [template("checkout", &["production"])];
        let d = Policy::default().classify(&candidate(&f, &t, 1, &[]));
        assert_eq!(d.kind, ChangeKind::Standard);
        assert_eq!(d.template.as_ref().map(|t| t.as_str()), Some("TPL1"));
        assert_eq!(
            d.to_string(),
            "standard because: template TPL1 (Routine release) allows production; \
             outside every freeze window; \
             1 failed production deployment in the last 7 days (at most 1 allowed)"
        );
    }

    #[test]
    fn normal_lists_every_missed_condition() {
        let f = fixture();
        let freeze = [FreezeWindow {
            name: "launch".into(),
            start: datetime!(2026-06-01 11:00 UTC),
            end: datetime!(2026-06-02 00:00 UTC),
            environments: vec![],
            services: vec![],
        }];
        let d = Policy::default().classify(&candidate(&f, &[], 3, &freeze));
        assert_eq!(d.kind, ChangeKind::Normal);
        assert_eq!(d.template, None);
        assert_eq!(d.reasons.len(), 3, "{:?}", d.reasons);
        assert!(d.reasons[0].contains("no active template"));
        assert!(d.reasons[1].contains("freeze window \"launch\""));
        assert!(d.reasons[2].starts_with("3 failed production deployments"));
    }

    #[test]
    fn template_must_be_active_unexpired_for_the_service_and_environment() {
        let f = fixture();
        let policy = Policy::default();

        let mut expired = template("checkout", &["production"]);
        expired.expires_at = Some(datetime!(2026-06-01 10:00 UTC));
        let d = policy.classify(&candidate(&f, std::slice::from_ref(&expired), 0, &[]));
        assert_eq!(d.kind, ChangeKind::Normal);
        assert!(d.reasons[0].contains("expired"), "{d}");

        let mut inactive = template("checkout", &["production"]);
        inactive.active = false;
        let d = policy.classify(&candidate(&f, std::slice::from_ref(&inactive), 0, &[]));
        assert_eq!(d.kind, ChangeKind::Normal);

        let staging_only = [template("checkout", &["staging"])];
        let d = policy.classify(&candidate(&f, &staging_only, 0, &[]));
        assert!(
            d.reasons[0].contains("no template for checkout allows production"),
            "{d}"
        );

        let other_service = [template("billing", &["production"])];
        let d = policy.classify(&candidate(&f, &other_service, 0, &[]));
        assert_eq!(d.kind, ChangeKind::Normal);
    }

    #[test]
    fn freeze_for_another_environment_does_not_count() {
        let f = fixture();
        let t = [template("checkout", &["production"])];
        let freeze = [FreezeWindow {
            name: "staging rebuild".into(),
            start: datetime!(2026-06-01 00:00 UTC),
            end: datetime!(2026-06-02 00:00 UTC),
            environments: vec![Environment::new("staging").unwrap()],
            services: vec![],
        }];
        let d = Policy::default().classify(&candidate(&f, &t, 0, &freeze));
        assert_eq!(d.kind, ChangeKind::Standard, "{d}");
    }

    #[test]
    fn thresholds_are_configurable() {
        let f = fixture();
        let t = [template("checkout", &["production"])];
        let strict = Policy {
            max_failed_deployments: 0,
            lookback_days: 30,
        };
        let d = strict.classify(&candidate(&f, &t, 1, &[]));
        assert_eq!(d.kind, ChangeKind::Normal);
        assert_eq!(
            d.reasons,
            ["1 failed production deployment in the last 30 days (at most 0 allowed)"]
        );
    }
}
