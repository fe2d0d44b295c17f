//! A stateful PagerDuty simulator: the subset of the Events API v2 and REST API v2 the
//! `itsm-pagerduty` adapter uses, with PagerDuty's paths, field names, status codes and
//! error bodies.
//!
//! - Events (under `/v2/`): `POST /v2/enqueue` (trigger / acknowledge / resolve by
//!   `dedup_key`; a trigger with the key of an open incident adds nothing), and
//!   `POST /v2/change/enqueue`. Both answer 202, or 400 with PagerDuty's event error body.
//!   Unlike PagerDuty, incidents are created synchronously, so a REST lookup right after a
//!   trigger finds them.
//! - REST (at `/`, `Authorization: Token token=...` required, `From` on writes):
//!   `GET/POST /incidents`, `GET/PUT /incidents/{id}`, `GET/POST /incidents/{id}/notes`,
//!   `POST /incidents/{id}/responder_requests`, `POST /incidents/{id}/status_updates`,
//!   `GET /priorities` (P1..P5), `GET /users?query=`, `GET /oncalls`, `GET /services`.
//!   Errors use `{"error": {"message", "code"}}` with PagerDuty's codes (2006 authentication
//!   failed, 2100 not found, 2001 invalid input, 1007 user not found, 1020 invalid priority).
//!
//! By default the user directory is open: a `GET /users?query=` that matches nobody creates
//! a user with that name (or email), so tests can assign pages to people they name.
//! [`PagerDutySim::closed_directory`] turns that off.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use itsm_testkit::sim::{SimServer, pagerduty::PagerDutySim};
//!
//! let sim = PagerDutySim::new();
//! let server = SimServer::start(sim.router()).await?;
//! // REST base: server.base_url(); Events base: format!("{}v2/", server.base_url())
//! # let _ = server;
//! # Ok(())
//! # }
//! ```

mod events;
mod rest;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// The simulator: shared state and the router serving it.
#[derive(Debug, Clone, Default)]
pub struct PagerDutySim {
    state: Arc<Mutex<State>>,
}

/// One simulated incident.
#[derive(Debug, Clone)]
pub(crate) struct Incident {
    pub(crate) id: String,
    pub(crate) number: u64,
    pub(crate) key: String,
    pub(crate) title: String,
    pub(crate) status: &'static str,
    pub(crate) service: String,
    pub(crate) priority: Option<String>,
    pub(crate) assignees: Vec<String>,
    pub(crate) escalation_policy: String,
    pub(crate) created_at: String,
    pub(crate) notes: Vec<Value>,
    pub(crate) responder_requests: Vec<Value>,
    pub(crate) status_updates: Vec<Value>,
}

/// One incident as [`PagerDutySim::incidents`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimIncident {
    /// Its id (`PINC...`).
    pub id: String,
    /// The dedup key (`incident_key`) it was triggered with.
    pub key: String,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: String,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) token: Option<String>,
    pub(crate) open_directory: bool,
    pub(crate) next: u64,
    /// Every incident, oldest first (never removed, so positions stay valid).
    pub(crate) incidents: Vec<Incident>,
    /// Positions in `incidents` by id, and by dedup key (so that a soak run of 100,000
    /// alerts does not scan every incident per event).
    by_id: HashMap<String, usize>,
    by_key: HashMap<String, Vec<usize>>,
    pub(crate) users: Vec<User>,
    pub(crate) change_events: Vec<Value>,
    pub(crate) alert_events: Vec<Value>,
    pub(crate) priorities: HashMap<String, String>,
}

impl Default for State {
    fn default() -> Self {
        let priorities = (1..=5)
            .map(|n| (format!("PPRIO0{n}"), format!("P{n}")))
            .collect();
        State {
            token: None,
            open_directory: true,
            next: 0,
            incidents: Vec::new(),
            by_id: HashMap::new(),
            by_key: HashMap::new(),
            users: vec![User {
                id: "PUSER01".into(),
                name: "Olive Oncall".into(),
                email: "olive@example.com".into(),
            }],
            change_events: Vec::new(),
            alert_events: Vec::new(),
            priorities,
        }
    }
}

impl State {
    /// A new PagerDuty-style id with `prefix` (`P...`).
    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{:05}", self.next)
    }

    pub(crate) fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Stores a new incident.
    pub(crate) fn add_incident(&mut self, incident: Incident) {
        let at = self.incidents.len();
        self.by_id.insert(incident.id.clone(), at);
        self.by_key
            .entry(incident.key.clone())
            .or_default()
            .push(at);
        self.incidents.push(incident);
    }

    /// The position of incident `id`.
    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Incident `id`.
    pub(crate) fn incident(&self, id: &str) -> Option<&Incident> {
        self.position(id).and_then(|at| self.incidents.get(at))
    }

    /// Incident `id`, to change it.
    pub(crate) fn incident_mut(&mut self, id: &str) -> Option<&mut Incident> {
        let at = self.position(id)?;
        self.incidents.get_mut(at)
    }

    /// The positions of the incidents with dedup key `key`, oldest first.
    pub(crate) fn with_key(&self, key: &str) -> &[usize] {
        self.by_key.get(key).map_or(&[], Vec::as_slice)
    }

    /// The position of the open (not resolved) incident with dedup key `key`.
    pub(crate) fn open_with_key(&self, key: &str) -> Option<usize> {
        self.with_key(key)
            .iter()
            .copied()
            .find(|at| self.incidents[*at].status != "resolved")
    }
}

/// The escalation policy every simulated incident starts on.
pub const DEFAULT_ESCALATION_POLICY: &str = "PDEFEP1";
/// The service every simulated incident belongs to.
pub const SERVICE_ID: &str = "PSIMSVC";

impl PagerDutySim {
    /// An empty account with priorities P1..P5, one on-call user and an open directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires `Authorization: Token token=<token>` exactly (any token is accepted
    /// otherwise, as long as the header has that form).
    pub fn with_token(self, token: impl Into<String>) -> Self {
        self.lock().token = Some(token.into());
        self
    }

    /// Makes `GET /users?query=` find only existing users.
    pub fn closed_directory(self) -> Self {
        self.lock().open_directory = false;
        self
    }

    /// Adds a user to the directory.
    pub fn with_user(self, id: &str, name: &str, email: &str) -> Self {
        self.lock().users.push(User {
            id: id.into(),
            name: name.into(),
            email: email.into(),
        });
        self
    }

    /// The change events received, oldest first (the request bodies).
    pub fn change_events(&self) -> Vec<Value> {
        self.lock().change_events.clone()
    }

    /// The alert events received, oldest first (the request bodies).
    pub fn alert_events(&self) -> Vec<Value> {
        self.lock().alert_events.clone()
    }

    /// The number of incidents, of every status.
    pub fn incident_count(&self) -> usize {
        self.lock().incidents.len()
    }

    /// Every incident, oldest first: its id, dedup key and status, as a test reads the
    /// account's state back without going through an adapter.
    pub fn incidents(&self) -> Vec<SimIncident> {
        self.lock()
            .incidents
            .iter()
            .map(|i| SimIncident {
                id: i.id.clone(),
                key: i.key.clone(),
                status: i.status.to_owned(),
            })
            .collect()
    }

    /// The notes' contents of incident `id`.
    pub fn notes(&self, id: &str) -> Vec<String> {
        let state = self.lock();
        state
            .incident(id)
            .map(|i| {
                i.notes
                    .iter()
                    .filter_map(|n| n["content"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The responder requests made on incident `id` (their bodies as stored).
    pub fn responder_requests(&self, id: &str) -> Vec<Value> {
        self.lock()
            .incident(id)
            .map(|i| i.responder_requests.clone())
            .unwrap_or_default()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The router: Events under `/v2/`, REST at `/`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v2/enqueue", post(events::enqueue))
            .route("/v2/change/enqueue", post(events::change))
            .route(
                "/incidents",
                get(rest::list_incidents).post(rest::create_incident),
            )
            .route(
                "/incidents/{id}",
                get(rest::get_incident).put(rest::update_incident),
            )
            .route(
                "/incidents/{id}/notes",
                get(rest::list_notes).post(rest::create_note),
            )
            .route(
                "/incidents/{id}/responder_requests",
                post(rest::responder_request),
            )
            .route("/incidents/{id}/status_updates", post(rest::status_update))
            .route("/priorities", get(rest::priorities))
            .route("/users", get(rest::users))
            .route("/oncalls", get(rest::oncalls))
            .route("/services", get(rest::services))
            .with_state(self.clone())
    }
}

/// A JSON answer.
pub(crate) fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// PagerDuty's REST error body.
pub(crate) fn rest_error(
    status: StatusCode,
    code: u32,
    message: &str,
    errors: &[&str],
) -> Response {
    answer(
        status,
        json!({ "error": { "message": message, "code": code, "errors": errors } }),
    )
}

/// A reference object (`{"id", "type", "summary", "self", "html_url"}`).
pub(crate) fn reference(kind: &str, path: &str, id: &str, summary: &str) -> Value {
    json!({
        "id": id,
        "type": format!("{kind}_reference"),
        "summary": summary,
        "self": format!("https://api.pagerduty.com/{path}/{id}"),
        "html_url": format!("https://sim.pagerduty.com/{path}/{id}"),
    })
}

pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(state: &mut State, key: &str) -> String {
        let id = state.new_id("PINC");
        state.add_incident(Incident {
            id: id.clone(),
            number: state.next,
            key: key.into(),
            title: "t".into(),
            status: "triggered",
            service: SERVICE_ID.into(),
            priority: None,
            assignees: vec![],
            escalation_policy: DEFAULT_ESCALATION_POLICY.into(),
            created_at: now(),
            notes: vec![],
            responder_requests: vec![],
            status_updates: vec![],
        });
        id
    }

    #[test]
    fn the_indexes_find_incidents_by_id_and_the_open_one_by_key() {
        let mut state = State::default();
        let first = incident(&mut state, "k");
        let other = incident(&mut state, "other");
        assert_eq!(state.open_with_key("k"), Some(0));
        state.incident_mut(&first).unwrap().status = "resolved";
        assert_eq!(state.open_with_key("k"), None);
        // The key fires again after it resolved: a second incident, the open one.
        let second = incident(&mut state, "k");
        assert_eq!(state.with_key("k"), [0, 2]);
        assert_eq!(state.open_with_key("k"), Some(2));
        assert_eq!(state.incident(&second).map(|i| i.key.as_str()), Some("k"));
        assert_eq!(state.position(&other), Some(1));
        assert!(state.incident("PINC-none").is_none());
        assert!(state.with_key("none").is_empty());
    }
}
