//! PagerDuty's JSON shapes, as far as the adapter reads them. Tolerant: unknown fields are
//! ignored and everything that might be missing is optional.

use serde::{Deserialize, Serialize};

/// A reference to another object (`user_reference`, `service_reference`...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// The object's id.
    #[serde(default)]
    pub id: String,
    /// The reference type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// A short human description (a user's name, a priority's name).
    #[serde(default)]
    pub summary: Option<String>,
    /// Where a person can see it.
    #[serde(default)]
    pub html_url: Option<String>,
}

/// An assignment of an incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Assignment {
    /// The assigned user.
    #[serde(default)]
    pub assignee: Option<Reference>,
}

/// A responder request, as part of an incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IncidentResponderRequest {
    /// The message sent with it.
    #[serde(default)]
    pub message: Option<String>,
}

/// An incident (`GET /incidents/{id}`, `GET /incidents`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Incident {
    /// The incident id.
    pub id: String,
    /// `[#1234] title`.
    #[serde(default)]
    pub summary: Option<String>,
    /// The title.
    #[serde(default)]
    pub title: Option<String>,
    /// `triggered`, `acknowledged` or `resolved`.
    #[serde(default)]
    pub status: Option<String>,
    /// The dedup / incident key.
    #[serde(default)]
    pub incident_key: Option<String>,
    /// The incident number.
    #[serde(default)]
    pub incident_number: Option<u64>,
    /// The priority.
    #[serde(default)]
    pub priority: Option<Reference>,
    /// Assigned users.
    #[serde(default)]
    pub assignments: Vec<Assignment>,
    /// The escalation policy.
    #[serde(default)]
    pub escalation_policy: Option<Reference>,
    /// The service.
    #[serde(default)]
    pub service: Option<Reference>,
    /// Where a person can see it.
    #[serde(default)]
    pub html_url: Option<String>,
    /// When it was created (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Responder requests made on it.
    #[serde(default)]
    pub responder_requests: Vec<IncidentResponderRequest>,
}

/// `{"incident": {...}}`.
#[derive(Debug, Deserialize)]
pub struct IncidentEnvelope {
    /// The incident.
    pub incident: Incident,
}

/// `GET /incidents`.
#[derive(Debug, Deserialize)]
pub struct IncidentList {
    /// This page.
    #[serde(default)]
    pub incidents: Vec<Incident>,
    /// Whether more pages follow.
    #[serde(default)]
    pub more: Option<bool>,
    /// This page's offset.
    #[serde(default)]
    pub offset: Option<u64>,
    /// This page's limit.
    #[serde(default)]
    pub limit: Option<u64>,
}

/// A note (`GET /incidents/{id}/notes`).
#[derive(Debug, Clone, Deserialize)]
pub struct Note {
    /// Its text.
    #[serde(default)]
    pub content: String,
}

/// `GET /incidents/{id}/notes`.
#[derive(Debug, Deserialize)]
pub struct NoteList {
    /// The notes.
    #[serde(default)]
    pub notes: Vec<Note>,
}

/// A priority (`GET /priorities`).
#[derive(Debug, Clone, Deserialize)]
pub struct Priority {
    /// Its id.
    pub id: String,
    /// Its name (`P1`).
    #[serde(default)]
    pub name: Option<String>,
}

/// `GET /priorities`.
#[derive(Debug, Deserialize)]
pub struct PriorityList {
    /// The account's priorities.
    #[serde(default)]
    pub priorities: Vec<Priority>,
    /// Whether more pages follow.
    #[serde(default)]
    pub more: Option<bool>,
}

/// A user (`GET /users`, `include[]=users` of `/oncalls`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct User {
    /// Its id.
    #[serde(default)]
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its summary (the name, on references).
    #[serde(default)]
    pub summary: Option<String>,
    /// Its email.
    #[serde(default)]
    pub email: Option<String>,
}

/// `GET /users`.
#[derive(Debug, Deserialize)]
pub struct UserList {
    /// Matching users.
    #[serde(default)]
    pub users: Vec<User>,
}

/// One on-call entry (`GET /oncalls`).
#[derive(Debug, Clone, Deserialize)]
pub struct OnCall {
    /// Who.
    #[serde(default)]
    pub user: Option<User>,
    /// From which schedule.
    #[serde(default)]
    pub schedule: Option<Reference>,
    /// For which escalation policy.
    #[serde(default)]
    pub escalation_policy: Option<Reference>,
    /// The level (1 = first responder).
    #[serde(default)]
    pub escalation_level: Option<i64>,
    /// Shift start.
    #[serde(default)]
    pub start: Option<String>,
    /// Shift end.
    #[serde(default)]
    pub end: Option<String>,
}

/// `GET /oncalls`.
#[derive(Debug, Deserialize)]
pub struct OnCallList {
    /// This page.
    #[serde(default)]
    pub oncalls: Vec<OnCall>,
    /// Whether more pages follow.
    #[serde(default)]
    pub more: Option<bool>,
}

/// A service (`GET /services`).
#[derive(Debug, Clone, Deserialize)]
pub struct Service {
    /// Its id.
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its status (`active`, `critical`...).
    #[serde(default)]
    pub status: Option<String>,
    /// Where a person can see it.
    #[serde(default)]
    pub html_url: Option<String>,
}

/// `GET /services`.
#[derive(Debug, Deserialize)]
pub struct ServiceList {
    /// This page.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Whether more pages follow.
    #[serde(default)]
    pub more: Option<bool>,
}

/// The Events API's answer to an event (202, 400).
#[derive(Debug, Default, Deserialize)]
pub struct EventAnswer {
    /// `success`, or a short error.
    #[serde(default)]
    pub status: Option<String>,
    /// What happened.
    #[serde(default)]
    pub message: Option<String>,
    /// The dedup key the event went under.
    #[serde(default)]
    pub dedup_key: Option<String>,
}
