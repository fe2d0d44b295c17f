//! A stateful simulator of Jira Cloud with Jira Service Management, for the subset the
//! `itsm-jira` adapter uses: the same paths, field names, status codes and error bodies as
//! the platform REST v3 and `servicedeskapi` specs.
//!
//! - `GET /rest/api/3/search/jql` (the JQL subset of [`jql`](self) with `nextPageToken`
//!   paging), `POST /rest/api/3/issue`, `GET|PUT /rest/api/3/issue/{key}`,
//!   `GET|POST …/transitions`, `GET|POST …/comment` (with comment properties),
//!   `GET|POST …/remotelink` (a `globalId` seen before is updated);
//! - `POST /rest/servicedeskapi/request`, `GET …/request/{key}`, `…/status`,
//!   `…/approval`, `POST …/approval/{id}`, `GET …/servicedesk/{id}/requesttype[/{id}[/field]]`.
//!
//! Every request must carry an `Authorization` header (401 otherwise). Issues follow one
//! of three [`Workflow`]s with global transitions; entering `Awaiting approval` opens a JSM
//! approval, whose decision moves the change on. [`JiraSim::lose_create_answers`] makes the
//! next creates act but answer 504, for "processed but response lost" tests.
//!
//! ```
//! # async fn run() -> std::io::Result<()> {
//! use itsm_testkit::sim::jira::{JiraSim, SimField, SimRequestType, Workflow};
//! use itsm_testkit::sim::SimServer;
//!
//! let sim = JiraSim::new().service_desk("1", "CHG", vec![SimRequestType {
//!     id: "10".into(), name: "Change".into(), description: "A normal change".into(),
//!     workflow: Workflow::Change,
//!     fields: vec![SimField::text("summary", "Summary", true), SimField::text("description", "Description", false)],
//! }]);
//! let server = SimServer::start(sim.router()).await?;
//! # let _ = server.base_url();
//! # Ok(())
//! # }
//! ```

mod jql;
mod platform;
mod servicedesk;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub use state::{SimField, SimIssue, SimRequestType, Workflow};

use state::{SimDesk, State};

/// The `self` links' base.
const BASE: &str = "http://jira-sim.invalid/";

/// The shared state behind the router.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A handler never panics while holding the lock; recover the data if one did.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The simulator: build it, serve [`router`](JiraSim::router), inspect it from the test.
#[derive(Debug, Clone, Default)]
pub struct JiraSim {
    shared: Arc<Shared>,
}

impl JiraSim {
    /// An empty site (any project key can take platform-created issues).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a service desk `id` for `project` with its request types.
    pub fn service_desk(self, id: &str, project: &str, request_types: Vec<SimRequestType>) -> Self {
        self.shared.lock().desks.insert(
            id.to_owned(),
            SimDesk {
                project: project.to_owned(),
                request_types,
            },
        );
        self
    }

    /// The axum router serving the simulator.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/rest/api/3/search/jql", get(platform::search))
            .route("/rest/api/3/issue", post(platform::create))
            .route(
                "/rest/api/3/issue/{key}",
                get(platform::get).put(platform::edit),
            )
            .route(
                "/rest/api/3/issue/{key}/transitions",
                get(platform::transitions).post(platform::transition),
            )
            .route(
                "/rest/api/3/issue/{key}/comment",
                get(platform::comments).post(platform::add_comment),
            )
            .route(
                "/rest/api/3/issue/{key}/remotelink",
                get(platform::remote_links).post(platform::add_remote_link),
            )
            .route("/rest/servicedeskapi/request", post(servicedesk::create))
            .route("/rest/servicedeskapi/request/{key}", get(servicedesk::get))
            .route(
                "/rest/servicedeskapi/request/{key}/status",
                get(servicedesk::statuses),
            )
            .route(
                "/rest/servicedeskapi/request/{key}/approval",
                get(servicedesk::approvals),
            )
            .route(
                "/rest/servicedeskapi/request/{key}/approval/{approval}",
                post(servicedesk::answer),
            )
            .route(
                "/rest/servicedeskapi/servicedesk/{desk}/requesttype",
                get(servicedesk::request_types),
            )
            .route(
                "/rest/servicedeskapi/servicedesk/{desk}/requesttype/{id}",
                get(servicedesk::request_type),
            )
            .route(
                "/rest/servicedeskapi/servicedesk/{desk}/requesttype/{id}/field",
                get(servicedesk::request_type_fields),
            )
            .layer(middleware::from_fn(require_auth))
            .with_state(self.shared.clone())
    }

    /// The next `n` creates (issue or request) act, then answer 504 as if the answer was
    /// lost on the way back.
    pub fn lose_create_answers(&self, n: u32) {
        self.shared.lock().lose_create_answers = n;
    }

    /// Every issue, oldest first.
    pub fn issues(&self) -> Vec<SimIssue> {
        self.shared.lock().issues.clone()
    }

    /// One issue by key.
    pub fn issue(&self, key: &str) -> Option<SimIssue> {
        self.shared.lock().issue(key).cloned()
    }

    /// Moves an issue to `status` as a person in Jira would (no transition check).
    pub fn set_status(&self, key: &str, status: &str) -> bool {
        let mut state = self.shared.lock();
        let now = state.now();
        let mut next_id = state.next_id;
        let moved = match state.issue_mut(key) {
            Some(issue) => {
                issue.set_status(status, now, &mut next_id);
                true
            }
            None => false,
        };
        state.next_id = next_id;
        moved
    }
}

async fn require_auth(request: Request, next: Next) -> Response {
    if request
        .headers()
        .contains_key(axum::http::header::AUTHORIZATION)
    {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {} })),
        )
            .into_response()
    }
}

/// The decoded pairs of a query string.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    itsm_core::url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Plain text as the ADF document Jira stores for a request's description.
pub(crate) fn adf_of(text: &str) -> Value {
    let paragraphs: Vec<Value> = text
        .split('\n')
        .map(|line| {
            if line.is_empty() {
                json!({ "type": "paragraph", "content": [] })
            } else {
                json!({ "type": "paragraph", "content": [{ "type": "text", "text": line }] })
            }
        })
        .collect();
    json!({ "type": "doc", "version": 1, "content": paragraphs })
}
