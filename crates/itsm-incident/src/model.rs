//! The incident domain's records: incidents in the ticketing system, pages on the paging
//! platform, and the values both share (priority, severity, assignment).

use std::collections::BTreeMap;
use std::fmt;

use itsm_core::{ExternalRef, IdempotencyKey, Link, Person, ServiceId, TeamId, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

itsm_core::define_id!(
    /// An incident's id in the ticketing system (a `sys_id`, a Jira issue key).
    IncidentId, "incident id"
);
itsm_core::define_id!(
    /// A page's id on the paging platform (a PagerDuty incident id, a VictorOps incident number).
    PageId, "page id"
);

/// How bad an alert is, as the alert source says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Service down or data at risk.
    Critical,
    /// Service degraded.
    Error,
    /// Something to look at soon.
    Warning,
    /// For information.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// Incident priority, P1 (highest) to P5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    /// Critical.
    P1,
    /// High.
    P2,
    /// Moderate.
    P3,
    /// Low.
    P4,
    /// Planning.
    P5,
}

impl Priority {
    /// The number, 1 to 5.
    pub fn number(self) -> u8 {
        self as u8 + 1
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}", self.number())
    }
}

/// Ticket states of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Opened, nobody has taken it yet.
    New,
    /// An on-call developer has acknowledged it (I3).
    Acknowledged,
    /// Being worked on.
    InProgress,
    /// Waiting on someone else.
    OnHold,
    /// Service restored (I7).
    Resolved,
    /// Closed after resolution.
    Closed,
}

impl IncidentState {
    /// Whether the incident is over (resolved or closed).
    pub fn is_resolved(self) -> bool {
        matches!(self, IncidentState::Resolved | IncidentState::Closed)
    }
}

/// What an incident can be assigned to (I4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// A digital service run by an on-call product team.
    DigitalService,
    /// A commercial off-the-shelf application run by operations.
    Cots,
    /// A foundational system (network, identity, databases) run by operations.
    Foundational,
}

/// Who an incident belongs to: a service of some kind and, optionally, a team.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Assignment {
    /// The service, COTS application or foundational system.
    pub service: ServiceId,
    /// What kind of thing `service` is.
    pub kind: ServiceKind,
    /// The team that should work it, when not the service's default team.
    #[serde(default)]
    pub team: Option<TeamId>,
}

/// An incident in the ticketing system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// The incident's id in its system.
    pub id: IncidentId,
    /// The number a person quotes (`INC0010001`, `OPS-7`), when the system has one.
    #[serde(default)]
    pub number: Option<String>,
    /// The idempotency key it was created with (the alert's dedup key), when known.
    #[serde(default)]
    pub key: Option<IdempotencyKey>,
    /// One line.
    pub summary: String,
    /// Longer description.
    #[serde(default)]
    pub description: String,
    /// Ticket state.
    pub state: IncidentState,
    /// Priority.
    pub priority: Priority,
    /// Declared a major incident (I5).
    #[serde(default)]
    pub major: bool,
    /// Who it is assigned to.
    pub assignment: Assignment,
    /// The tenant whose alert opened it, when known.
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// Who acknowledged it.
    #[serde(default)]
    pub acknowledged_by: Option<Person>,
    /// Linked records: the page on the paging platform, the alert (I2: linked both ways).
    #[serde(default)]
    pub links_to: Vec<ExternalRef>,
    /// Dashboards and runbooks (I9).
    #[serde(default)]
    pub links: Vec<Link>,
    /// The incident in its system.
    #[serde(default)]
    pub external: Option<ExternalRef>,
    /// When it was opened.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub opened_at: Option<OffsetDateTime>,
    /// When it was resolved.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
}

/// What is needed to open an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIncident {
    /// One line.
    pub summary: String,
    /// Longer description.
    #[serde(default)]
    pub description: String,
    /// Priority.
    pub priority: Priority,
    /// Who it is assigned to.
    pub assignment: Assignment,
    /// The tenant whose alert opened it.
    #[serde(default)]
    pub tenant: Option<TenantId>,
    /// Records to link (the page, the alert).
    #[serde(default)]
    pub links_to: Vec<ExternalRef>,
    /// Dashboards and runbooks.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentFilter {
    /// Only incidents assigned to this service.
    pub service: Option<ServiceId>,
    /// Only these states (empty = any).
    #[serde(default)]
    pub states: Vec<IncidentState>,
    /// Only major incidents.
    #[serde(default)]
    pub major_only: bool,
}

/// A note on an incident or a page (I6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The text.
    pub text: String,
    /// Who wrote it.
    #[serde(default)]
    pub author: Option<Person>,
}

/// Resolving an incident (I7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The close code (ServiceNow `close_code`, Jira resolution name).
    pub code: String,
    /// What was done.
    pub notes: String,
    /// Who resolved it.
    #[serde(default)]
    pub by: Option<Person>,
}

/// Page states on the paging platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageStatus {
    /// Paging the on-call responder.
    Triggered,
    /// A responder took it.
    Acknowledged,
    /// Over.
    Resolved,
}

/// A page (an incident on the paging platform).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The page's id on the platform; `None` while only the event was accepted
    /// (PagerDuty Events API, VictorOps REST endpoint) and the incident id is not known yet.
    #[serde(default)]
    pub id: Option<PageId>,
    /// The dedup key / entity id it was triggered with.
    pub key: IdempotencyKey,
    /// Status.
    pub status: PageStatus,
    /// One line.
    pub summary: String,
    /// Priority, when the platform has one set.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Who it is assigned to, as the platform names them.
    #[serde(default)]
    pub assignees: Vec<Person>,
    /// The page on the platform.
    #[serde(default)]
    pub external: Option<ExternalRef>,
    /// When it was triggered.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

/// What is needed to page someone (I1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPage {
    /// One line (PagerDuty caps it at 1024 characters).
    pub summary: String,
    /// Severity.
    pub severity: Severity,
    /// Where the problem is (host, cluster, alert source).
    pub source: String,
    /// The service affected.
    pub service: ServiceId,
    /// Platform routing: a PagerDuty routing key or service id, a VictorOps routing key.
    /// `None` uses the adapter's configured default for the service.
    #[serde(default)]
    pub routing: Option<String>,
    /// Dashboards and runbooks (I9).
    #[serde(default)]
    pub links: Vec<Link>,
    /// Extra key/value details (alert labels).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

/// Reassigning a page (I4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to", content = "value")]
pub enum PageAssignment {
    /// To an escalation policy (PagerDuty) or routing key (VictorOps).
    EscalationPolicy(String),
    /// To the on-call rotation of a team.
    Team(TeamId),
    /// To named people.
    People(Vec<Person>),
}

/// Who to add as responders to a page (I5 major incidents, S5 specialists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponderRequest {
    /// Teams to engage (their on-call member is paged).
    #[serde(default)]
    pub teams: Vec<TeamId>,
    /// Escalation policies to engage.
    #[serde(default)]
    pub escalation_policies: Vec<String>,
    /// People to engage.
    #[serde(default)]
    pub people: Vec<Person>,
    /// Why they are needed.
    pub message: String,
    /// Who asks.
    pub requester: Person,
}

/// Whose on-call to look up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "value")]
pub enum OnCallQuery {
    /// Everyone on call right now, on every schedule.
    Everyone,
    /// A team's on-call.
    Team(TeamId),
    /// A schedule by platform id.
    Schedule(String),
    /// An escalation policy by platform id.
    EscalationPolicy(String),
}

/// One on-call shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnCall {
    /// Who is on call.
    pub person: Person,
    /// Their team, when known.
    #[serde(default)]
    pub team: Option<TeamId>,
    /// Escalation level (1 = first responder).
    pub level: u32,
    /// The schedule it comes from, when known.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Whether this rotation covers out-of-hours (I5: teams without it are listed with their
    /// runbook contact); `None` when the platform cannot tell.
    #[serde(default)]
    pub out_of_hours: Option<bool>,
    /// Shift start.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start: Option<OffsetDateTime>,
    /// Shift end.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
}

/// A change event for the paging platform (sent when a deployment finishes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// One line (`checkout 1.4.2 deployed to production`).
    pub summary: String,
    /// The deploying system.
    pub source: String,
    /// The service changed.
    pub service: ServiceId,
    /// Platform routing (PagerDuty routing key), `None` for the configured default.
    #[serde(default)]
    pub routing: Option<String>,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// Pipeline run, change request.
    #[serde(default)]
    pub links: Vec<Link>,
    /// Deployment facts.
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}
