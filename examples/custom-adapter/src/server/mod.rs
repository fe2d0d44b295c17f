//! **Tickety**, a fictional ticketing tool: a small JSON HTTP API kept in memory and served
//! on loopback, so that the adapter in [`crate::adapter`] has a real server to talk to.
//!
//! Tickety stands for the vendor you are writing an adapter for. It has its own words for
//! things (`urgency` instead of priority, `solved` instead of resolved, `awaiting_approval`
//! instead of authorize), so the adapter has something to map.
//!
//! # The API
//!
//! Every request carries `Authorization: Bearer <token>`; a missing or wrong token is
//! `401`. Errors are `{"error": {"code": "...", "message": "..."}}` with `400` (bad input),
//! `401`, `404` (no such record), `409` (not allowed in the record's current state),
//! `429` (throttled, with `Retry-After`) or `5xx`.
//!
//! | request | what it does |
//! |---|---|
//! | `POST /api/v1/tickets` | opens a ticket; needs an `Idempotency-Key` header: the same key again answers `200` with the first ticket instead of `201` with a new one |
//! | `GET /api/v1/tickets?key=&service=&status=a,b&major=true&limit=&cursor=` | lists tickets, oldest first: `{"items": [...], "next_cursor": "..." or null}` |
//! | `GET /api/v1/tickets/{id}` | one ticket |
//! | `PATCH /api/v1/tickets/{id}` | sets `status` (`open`, `acked`, `working`, `paused`), `acked_by`, `urgency`, `major` or `assignment`; absolute values, so repeating it is harmless |
//! | `POST /api/v1/tickets/{id}/solve` | solves with `code`, `notes`, `by`; solving a solved ticket answers it unchanged |
//! | `POST /api/v1/tickets/{id}/comments` | adds a comment; the same `Idempotency-Key` adds it once |
//! | `POST /api/v1/tickets/{id}/references` | references a record elsewhere (`system`, `id`, `url`); the same one twice is kept once |
//! | `POST /api/v1/changes` | raises a `normal` or `emergency` change (Tickety has no templates, so no standard changes); `Idempotency-Key` as for tickets |
//! | `GET /api/v1/changes?key=&service=&version=&environment=&status=&limit=&cursor=` | lists changes |
//! | `GET /api/v1/changes/{id}` | one change |
//! | `POST /api/v1/changes/{id}/submit` | asks for approval (`awaiting_approval`); asking again changes nothing |
//! | `GET /api/v1/changes/{id}/approvals` | the approval rows |
//! | `POST /api/v1/changes/{id}/decision` | `{"approve": true/false, "by", "comment"}`; the same decision again changes nothing, the opposite one is `409` |
//! | `POST /api/v1/changes/{id}/move` | `{"to": "<status>"}` along `draft`, `assessing`, `scheduled`, `implementing`, `reviewing`, or to `cancelled` |
//! | `POST /api/v1/changes/{id}/close` | `{"outcome": "success" / "partial" / "failed", "notes"}`; closing again with the same outcome changes nothing |
//! | `POST /api/v1/changes/{id}/comments` | as for tickets |
//!
//! Every write is safe to repeat (keys, absolute values, "already done" answers), which is
//! what lets the adapter mark its requests idempotent so that itsm-http retries them.
//!
//! # Test hooks
//!
//! [`TicketyServer::fail_next`] refuses the next requests (a `429` with `Retry-After`, a
//! `503`...) and [`TicketyServer::lose_next_write_answers`] acts on the next writes but
//! answers `502`, as a proxy that drops the answer would: the cases retries and idempotency
//! keys exist for.

mod changes;
mod tickets;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::task::JoinHandle;
use url::Url;

/// The largest page a list answers, and the size when `limit` is absent.
const MAX_PAGE: usize = 100;
const DEFAULT_PAGE: usize = 20;

/// Tickety served on a loopback port until dropped.
#[derive(Debug)]
pub struct TicketyServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl TicketyServer {
    /// Serves a new, empty Tickety on `127.0.0.1:<a free port>` from the current tokio
    /// runtime, accepting `token` as the only API token.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound.
    pub async fn start(token: impl Into<String>) -> std::io::Result<TicketyServer> {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            token: token.into(),
            web_base: format!("http://{addr}/ui"),
            state: Mutex::new(Store::default()),
            faults: Mutex::new(Faults::default()),
            requests: AtomicU64::new(0),
        });
        let app = router(shared.clone());
        let task = tokio::spawn(async move {
            // Serving ends only when the task is aborted (on drop); should accepting fail,
            // clients see connection errors.
            let _ = axum::serve(listener, app).await;
        });
        Ok(TicketyServer { addr, shared, task })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/`, the base URL to configure the adapter with.
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr))
            .expect("an IPv4 socket address makes a valid http URL")
    }

    /// Refuses the next `count` requests with `status` (for example 429 or 503) before
    /// acting on them, sending `Retry-After: <seconds>` when given.
    pub fn fail_next(&self, count: u32, status: u16, retry_after_secs: Option<u64>) {
        let mut faults = self.shared.faults();
        faults.refuse = count;
        faults.status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        faults.retry_after = retry_after_secs;
    }

    /// Acts on the next `count` writes (any request but `GET`) but answers each with
    /// `502 Bad Gateway`, as if a proxy had lost the answer: the client cannot tell whether
    /// the request acted.
    pub fn lose_next_write_answers(&self, count: u32) {
        self.shared.faults().lose = count;
    }

    /// How many requests reached the server so far (refused and unauthorised ones included).
    pub fn requests_seen(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// How many comments the ticket or change `id` has (0 for an unknown id).
    pub fn comment_count(&self, id: &str) -> usize {
        let store = self.shared.store();
        store
            .tickets
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.comments.len())
            .or_else(|| {
                store
                    .changes
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.comments.len())
            })
            .unwrap_or(0)
    }
}

impl Drop for TicketyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What every handler shares.
#[derive(Debug)]
struct Shared {
    token: String,
    /// Where a person would open a record in Tickety's web UI.
    web_base: String,
    state: Mutex<Store>,
    faults: Mutex<Faults>,
    requests: AtomicU64,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A handler never panics while holding the lock, but if one did the data is still
        // consistent record by record: keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every record, in creation order (which is also the listing order).
#[derive(Debug, Default)]
struct Store {
    tickets: Vec<tickets::Ticket>,
    changes: Vec<changes::Change>,
    /// The last number handed out per id prefix (`TCK-1`, `CHG-1`, `APR-1`, `CMT-1`...).
    last_ids: BTreeMap<&'static str, u64>,
}

impl Store {
    fn next_id(&mut self, prefix: &'static str) -> String {
        let last = self.last_ids.entry(prefix).or_default();
        *last += 1;
        format!("{prefix}-{last}")
    }
}

#[derive(Debug)]
struct Faults {
    refuse: u32,
    status: StatusCode,
    retry_after: Option<u64>,
    lose: u32,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            refuse: 0,
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: None,
            lose: 0,
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(tickets::routes())
        .merge(changes::routes())
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// Counts the request, applies the test faults, and checks the bearer token.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let refused = {
        let mut faults = shared.faults();
        if faults.refuse > 0 {
            faults.refuse -= 1;
            Some((faults.status, faults.retry_after))
        } else {
            None
        }
    };
    if let Some((status, retry_after)) = refused {
        let error = ApiError::new(status, "refused", "Tickety is busy; try again later");
        let mut response = error.into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
        }
        return response;
    }
    if !authorized(request.headers(), &shared.token) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send `Authorization: Bearer <token>` with a valid Tickety API token",
        )
        .into_response();
    }
    let write = request.method() != Method::GET;
    let response = next.run(request).await;
    let lose = write && {
        let mut faults = shared.faults();
        let lose = faults.lose > 0;
        faults.lose = faults.lose.saturating_sub(1);
        lose
    };
    if lose {
        return ApiError::new(StatusCode::BAD_GATEWAY, "lost", "the answer was lost")
            .into_response();
    }
    response
}

/// Whether the request carries `Bearer <token>`, compared in constant time.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(sent) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (sent.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An error answer: `{"error": {"code", "message"}}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn not_found(what: &str, id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} {id}"),
        )
    }

    fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// A person as Tickety stores one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PersonBody {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

/// A web link (dashboard, runbook, pipeline run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct WebLink {
    label: String,
    url: String,
}

/// A comment on a ticket or change, kept once per idempotency key.
#[derive(Debug, Clone, Serialize)]
struct Comment {
    id: String,
    key: String,
    text: String,
    author: Option<PersonBody>,
}

#[derive(Debug, Deserialize)]
struct NewComment {
    text: String,
    #[serde(default)]
    author: Option<PersonBody>,
}

/// Adds `new` to `comments` unless a comment with `key` is there: `201` with the new
/// comment, or `200` with the one found.
fn add_comment(
    comments: &mut Vec<Comment>,
    id: String,
    key: String,
    new: NewComment,
) -> ApiResult<Response> {
    required("text", &new.text)?;
    if let Some(existing) = comments.iter().find(|c| c.key == key) {
        return Ok(created(false, existing));
    }
    let comment = Comment {
        id,
        key,
        text: new.text,
        author: new.author,
    };
    let answer = created(true, &comment);
    comments.push(comment);
    Ok(answer)
}

/// `400` unless `value` is one of `allowed`.
fn one_of(field: &str, value: &str, allowed: &[&str]) -> ApiResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "`{field}` must be one of {}; got {value:?}",
            allowed.join(", ")
        )))
    }
}

/// `400` when `value` is blank.
fn required(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() {
        Err(ApiError::bad_request(format!(
            "`{field}` must not be empty"
        )))
    } else {
        Ok(())
    }
}

/// The `Idempotency-Key` header every create and comment needs.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<String> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if key.is_empty() || key.len() > 256 {
        return Err(ApiError::bad_request(
            "send an `Idempotency-Key` header of 1 to 256 characters with every create",
        ));
    }
    Ok(key.to_owned())
}

/// `201 Created` for a new record, `200 OK` for one found by its key.
fn created<T: Serialize>(new: bool, body: T) -> Response {
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(body)).into_response()
}

/// The query string of a list request.
struct ListQuery(Vec<(String, String)>);

impl ListQuery {
    fn parse(uri: &Uri) -> ListQuery {
        let query = uri.query().unwrap_or_default();
        ListQuery(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// `status=a,b`: the statuses asked for (empty = any).
    fn statuses(&self) -> Vec<&str> {
        self.get("status")
            .map(|s| s.split(',').map(str::trim).collect())
            .unwrap_or_default()
    }

    /// One page of `items`, from the `cursor` (an offset) up to `limit` long.
    fn page<T: Serialize>(&self, items: Vec<T>) -> ApiResult<Response> {
        let number = |name: &str, default: usize| -> ApiResult<usize> {
            self.get(name).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| ApiError::bad_request(format!("`{name}` must be a number")))
            })
        };
        let limit = number("limit", DEFAULT_PAGE)?.clamp(1, MAX_PAGE);
        let start = number("cursor", 0)?.min(items.len());
        let end = start.saturating_add(limit).min(items.len());
        let next = (end < items.len()).then(|| end.to_string());
        let page: Vec<T> = items.into_iter().skip(start).take(end - start).collect();
        Ok(Json(json!({ "items": page, "next_cursor": next })).into_response())
    }
}
