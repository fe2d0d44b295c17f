//! `[incident]` and `[[team]]`: the incident manager, escalation, the chat webhook, alert
//! label names, and the teams with their services and on-call schedules.
//!
//! ```toml
//! [incident]
//! manager = { name = "Ines Iyer", email = "ines@example.com" }
//! escalate_after_minutes = 15
//! service_label = "service"
//! tenant_label = "tenant"
//!
//! [[team]]
//! id = "payments"
//! name = "Payments"
//! services = ["checkout"]
//! runbook_contact = "+44 20 7946 0000 (payments runbook, section 3)"
//! members = [{ name = "Ana" }, { name = "Ben" }]
//! schedule = { rotation_days = 7, handoff = "2026-05-04T09:00:00Z", coverage = "always_on" }
//! ```

use std::fmt;
use std::path::PathBuf;

use itsm_core::{Error, ErrorKind, Person, Result, ServiceId, TeamId};
use itsm_incident::inbound::ParseOptions;
use itsm_incident::{AlertingProfile, Team, TeamKind};
use itsm_local::{Coverage, LocalStore, Schedule};
use secrecy::SecretString;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// `[incident]` of `itsm.toml`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentConfig {
    /// The incident manager: notified of major incidents, level 2 of every escalation.
    #[serde(default)]
    pub manager: Option<Person>,
    /// Pages still unacknowledged after this many minutes escalate to the incident manager
    /// (checked by `itsm serve`); unset: no escalation.
    #[serde(default)]
    pub escalate_after_minutes: Option<u32>,
    /// A Slack-style chat webhook that every notification is also posted to. Its path is a
    /// credential: prefer `ITSM_CHAT_WEBHOOK_URL` to the file.
    #[serde(default, deserialize_with = "secret")]
    pub chat_webhook_url: Option<SecretString>,
    /// A TOML alerting profile used for alerts without an onboarded tenant and given to new
    /// tenants; default: the built-in profile.
    #[serde(default)]
    pub default_profile: Option<PathBuf>,
    /// The alert label naming the service (default `service`).
    #[serde(default)]
    pub service_label: Option<String>,
    /// The alert label naming the tenant (default `tenant`).
    #[serde(default)]
    pub tenant_label: Option<String>,
    /// The alert label carrying the severity (default `severity`).
    #[serde(default)]
    pub severity_label: Option<String>,
    /// The service of alerts that name none; unset: such alerts are refused with 400.
    #[serde(default)]
    pub default_service: Option<ServiceId>,
}

impl fmt::Debug for IncidentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncidentConfig")
            .field("manager", &self.manager)
            .field("escalate_after_minutes", &self.escalate_after_minutes)
            .field(
                "chat_webhook_url",
                &self.chat_webhook_url.as_ref().map(|_| "[REDACTED]"),
            )
            .field("default_profile", &self.default_profile)
            .field("service_label", &self.service_label)
            .field("tenant_label", &self.tenant_label)
            .field("severity_label", &self.severity_label)
            .field("default_service", &self.default_service)
            .finish()
    }
}

fn secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .filter(|s| !s.is_empty())
        .map(SecretString::from))
}

impl IncidentConfig {
    /// How inbound alerts are read: the configured label names and default service.
    pub fn parse_options(&self) -> ParseOptions {
        let mut options = ParseOptions::default();
        if let Some(label) = &self.service_label {
            options.service_label = label.clone();
        }
        if let Some(label) = &self.tenant_label {
            options.tenant_label = label.clone();
        }
        if let Some(label) = &self.severity_label {
            options.severity_label = label.clone();
        }
        options.default_service = self.default_service.clone();
        options
    }

    /// The default alerting profile: the configured file, or the built-in one.
    ///
    /// Errors: [`ErrorKind::Config`] naming the file when it cannot be read or is not a
    /// valid profile.
    pub fn default_profile(&self) -> Result<AlertingProfile> {
        let Some(path) = &self.default_profile else {
            return Ok(AlertingProfile::default_profile());
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "[incident] default_profile {}: cannot read it: {e}",
                    path.display()
                ),
            )
        })?;
        AlertingProfile::from_toml(&text).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "[incident] default_profile {}: {}",
                    path.display(),
                    e.message()
                ),
            )
        })
    }
}

/// One `[[team]]` of `itsm.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// The team's id.
    pub id: TeamId,
    /// Display name (default: the id).
    #[serde(default)]
    pub name: Option<String>,
    /// `product` (default), `operations` or `specialist`.
    #[serde(default)]
    pub kind: Option<TeamKind>,
    /// Whether the team keeps an out-of-hours rotation; default: whether its schedule is
    /// `always_on`.
    #[serde(default)]
    pub out_of_hours: Option<bool>,
    /// Whom to call out of hours when there is no rotation.
    #[serde(default)]
    pub runbook_contact: Option<String>,
    /// The services the team owns.
    #[serde(default)]
    pub services: Vec<ServiceId>,
    /// The members.
    #[serde(default)]
    pub members: Vec<Person>,
    /// The on-call rotation, if the team has one.
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
}

/// A team's on-call rotation in `itsm.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Who takes turns, by name, in order; default: every member of the team.
    #[serde(default)]
    pub members: Option<Vec<String>>,
    /// Days per turn (default 7).
    #[serde(default = "seven")]
    pub rotation_days: u32,
    /// When the first turn starts (RFC 3339).
    pub handoff: String,
    /// `always_on` (24x7, an out-of-hours rotation) or `working_hours` (Mon-Fri 09-17).
    pub coverage: CoverageName,
    /// For `working_hours`: the team's UTC offset (`+01:00`, default `+00:00`).
    #[serde(default)]
    pub utc_offset: Option<String>,
}

fn seven() -> u32 {
    7
}

/// The coverage names of [`ScheduleConfig::coverage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageName {
    /// Around the clock.
    AlwaysOn,
    /// Monday to Friday, 09:00 to 17:00.
    WorkingHours,
}

impl TeamConfig {
    fn bad(&self, what: String) -> Error {
        Error::new(ErrorKind::Config, format!("[[team]] {}: {what}", self.id))
    }

    /// The schedule this entry describes, checked.
    pub fn to_schedule(&self) -> Result<Option<Schedule>> {
        let Some(s) = &self.schedule else {
            return Ok(None);
        };
        let members = match &s.members {
            None => self.members.clone(),
            Some(names) => names
                .iter()
                .map(|n| {
                    self.members
                        .iter()
                        .find(|m| &m.name == n)
                        .cloned()
                        .ok_or_else(|| {
                            self.bad(format!("schedule names {n:?}, who is not in members"))
                        })
                })
                .collect::<Result<_>>()?,
        };
        if members.is_empty() {
            return Err(self.bad("schedule has nobody to put on call; add members".into()));
        }
        if s.rotation_days == 0 {
            return Err(self.bad("schedule rotation_days must be at least 1".into()));
        }
        let handoff = OffsetDateTime::parse(&s.handoff, &Rfc3339).map_err(|e| {
            self.bad(format!(
                "schedule handoff {:?} is not an RFC 3339 instant ({e})",
                s.handoff
            ))
        })?;
        let coverage = match s.coverage {
            CoverageName::AlwaysOn => Coverage::AlwaysOn,
            CoverageName::WorkingHours => {
                let text = s.utc_offset.as_deref().unwrap_or("+00:00");
                let format = time::macros::format_description!(
                    "[offset_hour sign:mandatory]:[offset_minute]"
                );
                let utc_offset = UtcOffset::parse(text, &format).map_err(|_| {
                    self.bad(format!(
                        "schedule utc_offset {text:?} is not an offset like +01:00"
                    ))
                })?;
                Coverage::WorkingHours { utc_offset }
            }
        };
        let schedule = Schedule {
            members,
            rotation: Duration::days(i64::from(s.rotation_days)),
            handoff,
            coverage,
        };
        schedule
            .validate()
            .map_err(|e| self.bad(e.message().to_owned()))?;
        Ok(Some(schedule))
    }

    /// The team this entry describes.
    pub fn to_team(&self) -> Result<Team> {
        let schedule = self.to_schedule()?;
        Ok(Team {
            id: self.id.clone(),
            name: self.name.clone().unwrap_or_else(|| self.id.to_string()),
            kind: self.kind.unwrap_or(TeamKind::Product),
            out_of_hours: self
                .out_of_hours
                .unwrap_or_else(|| schedule.as_ref().is_some_and(Schedule::out_of_hours)),
            runbook_contact: self.runbook_contact.clone(),
            services: self.services.clone(),
            members: self.members.clone(),
        })
    }
}

/// Writes the configured teams, their schedules and the incident manager into the store
/// (teams not in the configuration are left as they are). Checks every entry before
/// writing any.
pub async fn apply_directory(
    store: &LocalStore,
    incident: &IncidentConfig,
    teams: &[TeamConfig],
) -> Result<()> {
    let mut checked = Vec::with_capacity(teams.len());
    for team in teams {
        checked.push((team.to_team()?, team.to_schedule()?));
    }
    for (team, schedule) in checked {
        store.upsert_team(&team).await?;
        if let Some(schedule) = schedule {
            store.set_schedule(&team.id, &schedule).await?;
        }
    }
    if let Some(manager) = &incident.manager {
        store.set_incident_manager(manager.clone()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        incident: IncidentConfig,
        #[serde(default)]
        team: Vec<TeamConfig>,
    }

    fn parse(text: &str) -> File {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_team_with_a_schedule_becomes_a_team_and_a_rotation() {
        let file = parse(
            r#"
            [incident]
            manager = { name = "Ines" }
            chat_webhook_url = "https://hooks.example.invalid/services/T0/B0/s3cr3t"
            [[team]]
            id = "ledger"
            services = ["ledger-api"]
            members = [{ name = "Cy" }, { name = "Di" }]
            schedule = { members = ["Di"], handoff = "2026-05-04T09:00:00Z", coverage = "working_hours", utc_offset = "+02:00" }
            "#,
        );
        let team = file.team[0].to_team().unwrap();
        assert_eq!(team.kind, TeamKind::Product);
        assert!(!team.out_of_hours, "working hours only");
        let schedule = file.team[0].to_schedule().unwrap().unwrap();
        assert_eq!(schedule.members, vec![Person::named("Di")]);
        assert_eq!(schedule.rotation, Duration::days(7));
        assert!(!format!("{:?}", file.incident).contains("s3cr3t"));
    }

    #[test]
    fn bad_entries_name_the_team_and_the_field() {
        let file = parse(
            r#"
            [[team]]
            id = "a"
            members = [{ name = "Cy" }]
            schedule = { members = ["Zed"], handoff = "2026-05-04T09:00:00Z", coverage = "always_on" }
            [[team]]
            id = "b"
            members = [{ name = "Cy" }]
            schedule = { handoff = "monday", coverage = "always_on" }
            [[team]]
            id = "c"
            schedule = { handoff = "2026-05-04T09:00:00Z", coverage = "always_on" }
            "#,
        );
        let errors: Vec<String> = file
            .team
            .iter()
            .map(|t| t.to_team().unwrap_err().to_string())
            .collect();
        assert!(
            errors[0].contains("[[team]] a") && errors[0].contains("Zed"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].contains("[[team]] b") && errors[1].contains("handoff"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].contains("[[team]] c") && errors[2].contains("nobody"),
            "{}",
            errors[2]
        );
        let unknown = toml::from_str::<File>("[[team]]\nid = \"a\"\nmembrs = []\n");
        assert!(unknown.is_err_and(|e| e.to_string().contains("membrs")));
    }
}
