//! Tickety's tickets: what itsm-rs calls incidents.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::{
    ApiError, ApiResult, Comment, ListQuery, NewComment, PersonBody, Shared, Store, WebLink,
    add_comment, created, idempotency_key, one_of, required,
};

/// The statuses a `PATCH` may set; `solved` and `closed` come from `/solve` only.
const OPEN_STATUSES: [&str; 4] = ["open", "acked", "working", "paused"];
const URGENCIES: [&str; 5] = ["critical", "high", "medium", "low", "planning"];
const SERVICE_KINDS: [&str; 3] = ["digital", "cots", "foundational"];

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/tickets", post(create).get(list))
        .route("/api/v1/tickets/{id}", get(show).patch(update))
        .route("/api/v1/tickets/{id}/solve", post(solve))
        .route("/api/v1/tickets/{id}/comments", post(comment))
        .route("/api/v1/tickets/{id}/references", post(reference))
}

/// A ticket as Tickety stores and sends it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Ticket {
    pub(super) id: String,
    key: String,
    title: String,
    body: String,
    status: String,
    urgency: String,
    major: bool,
    assignment: Assignment,
    tenant: Option<String>,
    acked_by: Option<PersonBody>,
    references: Vec<Reference>,
    links: Vec<WebLink>,
    solution: Option<Solution>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    solved_at: Option<OffsetDateTime>,
    web_url: String,
    /// Tickety's SLA bookkeeping, which the adapter does not model: its models ignore
    /// fields they do not know.
    sla: serde_json::Value,
    #[serde(skip)]
    pub(super) comments: Vec<Comment>,
}

impl Ticket {
    fn is_over(&self) -> bool {
        matches!(self.status.as_str(), "solved" | "closed")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Assignment {
    service: String,
    service_kind: String,
    #[serde(default)]
    team: Option<String>,
}

impl Assignment {
    fn check(&self) -> ApiResult<()> {
        required("assignment.service", &self.service)?;
        one_of(
            "assignment.service_kind",
            &self.service_kind,
            &SERVICE_KINDS,
        )
    }
}

/// A record in another system the ticket points at (the page, the alert).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Reference {
    system: String,
    id: String,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Solution {
    code: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    by: Option<PersonBody>,
}

#[derive(Debug, Deserialize)]
struct NewTicket {
    title: String,
    #[serde(default)]
    body: String,
    urgency: String,
    assignment: Assignment,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    references: Vec<Reference>,
    #[serde(default)]
    links: Vec<WebLink>,
}

#[derive(Debug, Deserialize)]
struct TicketPatch {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    acked_by: Option<PersonBody>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    major: Option<bool>,
    #[serde(default)]
    assignment: Option<Assignment>,
}

impl TicketPatch {
    fn check(&self) -> ApiResult<()> {
        if let Some(status) = &self.status {
            if matches!(status.as_str(), "solved" | "closed") {
                return Err(ApiError::bad_request(
                    "solve a ticket with POST /api/v1/tickets/{id}/solve, which records the \
                     solution",
                ));
            }
            one_of("status", status, &OPEN_STATUSES)?;
        }
        if let Some(urgency) = &self.urgency {
            one_of("urgency", urgency, &URGENCIES)?;
        }
        self.assignment.as_ref().map_or(Ok(()), Assignment::check)
    }
}

fn ticket_mut<'a>(store: &'a mut Store, id: &str) -> ApiResult<&'a mut Ticket> {
    store
        .tickets
        .iter_mut()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found("ticket", id))
}

async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(new): Json<NewTicket>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    required("title", &new.title)?;
    one_of("urgency", &new.urgency, &URGENCIES)?;
    new.assignment.check()?;
    let mut store = shared.store();
    if let Some(existing) = store.tickets.iter().find(|t| t.key == key) {
        return Ok(created(false, existing));
    }
    let id = store.next_id("TCK");
    let ticket = Ticket {
        web_url: format!("{}/tickets/{id}", shared.web_base),
        id,
        key,
        title: new.title,
        body: new.body,
        status: "open".into(),
        urgency: new.urgency,
        major: false,
        assignment: new.assignment,
        tenant: new.tenant,
        acked_by: None,
        references: new.references,
        links: new.links,
        solution: None,
        created_at: OffsetDateTime::now_utc(),
        solved_at: None,
        sla: json!({ "policy": "business-hours", "breached": false }),
        comments: Vec::new(),
    };
    let answer = created(true, &ticket);
    store.tickets.push(ticket);
    Ok(answer)
}

async fn list(State(shared): State<Arc<Shared>>, uri: Uri) -> ApiResult<Response> {
    let query = ListQuery::parse(&uri);
    let statuses = query.statuses();
    let major = match query.get("major") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::bad_request("`major` must be true or false")),
    };
    let store = shared.store();
    let items: Vec<&Ticket> = store
        .tickets
        .iter()
        .filter(|t| {
            query.get("key").is_none_or(|k| t.key == k)
                && query
                    .get("service")
                    .is_none_or(|s| t.assignment.service == s)
                && (statuses.is_empty() || statuses.contains(&t.status.as_str()))
                && major.is_none_or(|m| t.major == m)
        })
        .collect();
    query.page(items)
}

async fn show(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Ticket>> {
    let mut store = shared.store();
    Ok(Json(ticket_mut(&mut store, &id)?.clone()))
}

async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(patch): Json<TicketPatch>,
) -> ApiResult<Json<Ticket>> {
    patch.check()?;
    let mut store = shared.store();
    let ticket = ticket_mut(&mut store, &id)?;
    if let Some(status) = patch.status.filter(|s| *s != ticket.status) {
        if ticket.is_over() {
            return Err(ApiError::conflict(format!(
                "ticket {id} is {}; its status can no longer change, open a new ticket",
                ticket.status
            )));
        }
        if status == "acked" && patch.acked_by.is_some() {
            ticket.acked_by = patch.acked_by;
        }
        ticket.status = status;
    }
    if let Some(urgency) = patch.urgency {
        ticket.urgency = urgency;
    }
    if let Some(major) = patch.major {
        ticket.major = major;
    }
    if let Some(assignment) = patch.assignment {
        ticket.assignment = assignment;
    }
    Ok(Json(ticket.clone()))
}

async fn solve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(solution): Json<Solution>,
) -> ApiResult<Json<Ticket>> {
    required("code", &solution.code)?;
    let mut store = shared.store();
    let ticket = ticket_mut(&mut store, &id)?;
    if !ticket.is_over() {
        ticket.status = "solved".into();
        ticket.solution = Some(solution);
        ticket.solved_at = Some(OffsetDateTime::now_utc());
    }
    Ok(Json(ticket.clone()))
}

async fn comment(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(new): Json<NewComment>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let mut store = shared.store();
    let comment_id = store.next_id("CMT");
    let ticket = ticket_mut(&mut store, &id)?;
    add_comment(&mut ticket.comments, comment_id, key, new)
}

async fn reference(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(reference): Json<Reference>,
) -> ApiResult<Json<Ticket>> {
    required("system", &reference.system)?;
    required("id", &reference.id)?;
    let mut store = shared.store();
    let ticket = ticket_mut(&mut store, &id)?;
    let known = ticket
        .references
        .iter()
        .any(|r| r.system == reference.system && r.id == reference.id);
    if !known {
        ticket.references.push(reference);
    }
    Ok(Json(ticket.clone()))
}
