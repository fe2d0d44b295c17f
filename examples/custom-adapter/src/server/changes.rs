//! Tickety's changes and their approval workflow.
//!
//! A normal change starts as a `draft` with approval `none`; `submit` moves it to
//! `awaiting_approval` (approval `pending`) with one approval row for the change managers;
//! approving moves it to `scheduled`, rejecting back to `draft`. Only an approved change
//! moves on to `implementing` and `reviewing` and can be closed. An emergency change starts
//! approved and `implementing`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{
    ApiError, ApiResult, Comment, ListQuery, NewComment, PersonBody, Shared, Store, WebLink,
    add_comment, created, idempotency_key, one_of, required,
};

/// The forward path of a change; `cancelled` and `closed` end it.
const FLOW: [&str; 6] = [
    "draft",
    "assessing",
    "awaiting_approval",
    "scheduled",
    "implementing",
    "reviewing",
];
/// The statuses only an approved change may reach.
const APPROVED_ONLY: [&str; 3] = ["scheduled", "implementing", "reviewing"];
const OUTCOMES: [&str; 3] = ["success", "partial", "failed"];

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/changes", post(create).get(list))
        .route("/api/v1/changes/{id}", get(show))
        .route("/api/v1/changes/{id}/submit", post(submit))
        .route("/api/v1/changes/{id}/approvals", get(approvals))
        .route("/api/v1/changes/{id}/decision", post(decide))
        .route("/api/v1/changes/{id}/move", post(move_to))
        .route("/api/v1/changes/{id}/close", post(close))
        .route("/api/v1/changes/{id}/comments", post(comment))
}

/// A change as Tickety stores and sends it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Change {
    pub(super) id: String,
    key: String,
    kind: String,
    status: String,
    /// `none`, `pending`, `approved` or `rejected`.
    approval: String,
    #[serde(flatten)]
    details: ChangeDetails,
    close: Option<CloseRecord>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
    web_url: String,
    #[serde(skip)]
    approvals: Vec<ApprovalRow>,
    #[serde(skip)]
    pub(super) comments: Vec<Comment>,
}

impl Change {
    fn is_over(&self) -> bool {
        matches!(self.status.as_str(), "closed" | "cancelled")
    }

    fn touch(&mut self) {
        self.updated_at = OffsetDateTime::now_utc();
    }

    fn conflict(&self, why: &str) -> ApiError {
        ApiError::conflict(format!(
            "change {} is {} with approval {}: {why}",
            self.id, self.status, self.approval
        ))
    }
}

/// What the requester says about a change, kept as sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChangeDetails {
    service: String,
    version: String,
    environment: String,
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    window: Option<Value>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    pipeline_run: Option<String>,
    #[serde(default)]
    requested_by: Option<PersonBody>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    retroactive: bool,
    #[serde(default)]
    links: Vec<WebLink>,
}

#[derive(Debug, Deserialize)]
struct NewChange {
    kind: String,
    #[serde(flatten)]
    details: ChangeDetails,
}

#[derive(Debug, Clone, Serialize)]
struct ApprovalRow {
    id: String,
    approver: PersonBody,
    /// `pending`, `approved` or `rejected`.
    status: String,
    comment: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    decided_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CloseRecord {
    outcome: String,
    #[serde(default)]
    notes: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    closed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Deserialize)]
struct Decision {
    approve: bool,
    by: PersonBody,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Move {
    to: String,
}

fn change_mut<'a>(store: &'a mut Store, id: &str) -> ApiResult<&'a mut Change> {
    store
        .changes
        .iter_mut()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found("change", id))
}

async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(new): Json<NewChange>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    if new.kind == "standard" {
        return Err(ApiError::bad_request(
            "Tickety has no change templates, so no standard changes; raise a normal change",
        ));
    }
    one_of("kind", &new.kind, &["normal", "emergency"])?;
    let d = &new.details;
    for (field, value) in [
        ("service", &d.service),
        ("version", &d.version),
        ("environment", &d.environment),
        ("title", &d.title),
    ] {
        required(field, value)?;
    }
    let mut store = shared.store();
    if let Some(existing) = store.changes.iter().find(|c| c.key == key) {
        return Ok(created(false, existing));
    }
    let (status, approval) = if new.kind == "emergency" {
        ("implementing", "approved")
    } else {
        ("draft", "none")
    };
    let id = store.next_id("CHG");
    let now = OffsetDateTime::now_utc();
    let change = Change {
        web_url: format!("{}/changes/{id}", shared.web_base),
        id,
        key,
        kind: new.kind,
        status: status.into(),
        approval: approval.into(),
        details: new.details,
        close: None,
        created_at: now,
        updated_at: now,
        approvals: Vec::new(),
        comments: Vec::new(),
    };
    let answer = created(true, &change);
    store.changes.push(change);
    Ok(answer)
}

async fn list(State(shared): State<Arc<Shared>>, uri: Uri) -> ApiResult<Response> {
    let query = ListQuery::parse(&uri);
    let statuses = query.statuses();
    let store = shared.store();
    let items: Vec<&Change> = store
        .changes
        .iter()
        .filter(|c| {
            let d = &c.details;
            query.get("key").is_none_or(|k| c.key == k)
                && query.get("service").is_none_or(|s| d.service == s)
                && query.get("version").is_none_or(|v| d.version == v)
                && query.get("environment").is_none_or(|e| d.environment == e)
                && (statuses.is_empty() || statuses.contains(&c.status.as_str()))
        })
        .collect();
    query.page(items)
}

async fn show(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Change>> {
    let mut store = shared.store();
    Ok(Json(change_mut(&mut store, &id)?.clone()))
}

async fn submit(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Change>> {
    let mut store = shared.store();
    let approval_id = store.next_id("APR");
    let change = change_mut(&mut store, &id)?;
    match change.approval.as_str() {
        "pending" | "approved" => return Ok(Json(change.clone())),
        "rejected" => return Err(change.conflict("it was rejected; raise a new change")),
        _ => {}
    }
    if !matches!(change.status.as_str(), "draft" | "assessing") {
        return Err(change.conflict("only a draft or assessing change can be submitted"));
    }
    change.status = "awaiting_approval".into();
    change.approval = "pending".into();
    change.approvals.push(ApprovalRow {
        id: approval_id,
        approver: PersonBody {
            name: "Change managers".into(),
            email: None,
        },
        status: "pending".into(),
        comment: None,
        decided_at: None,
    });
    change.touch();
    Ok(Json(change.clone()))
}

async fn approvals(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut store = shared.store();
    let change = change_mut(&mut store, &id)?;
    Ok(Json(json!({ "items": change.approvals })))
}

async fn decide(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(decision): Json<Decision>,
) -> ApiResult<Json<Change>> {
    required("by.name", &decision.by.name)?;
    let wanted = if decision.approve {
        "approved"
    } else {
        "rejected"
    };
    let mut store = shared.store();
    let change = change_mut(&mut store, &id)?;
    if change.approval == wanted {
        return Ok(Json(change.clone()));
    }
    if change.approval != "pending" {
        return Err(change.conflict("only a change awaiting approval can be decided"));
    }
    if change.is_over() {
        return Err(change.conflict("a finished change can no longer be decided"));
    }
    let now = OffsetDateTime::now_utc();
    for row in change
        .approvals
        .iter_mut()
        .filter(|r| r.status == "pending")
    {
        row.status = wanted.into();
        row.approver = decision.by.clone();
        row.comment.clone_from(&decision.comment);
        row.decided_at = Some(now);
    }
    change.approval = wanted.into();
    change.status = if decision.approve {
        "scheduled"
    } else {
        "draft"
    }
    .into();
    change.touch();
    Ok(Json(change.clone()))
}

async fn move_to(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(step): Json<Move>,
) -> ApiResult<Json<Change>> {
    match step.to.as_str() {
        "closed" => {
            return Err(ApiError::bad_request(
                "close a change with POST /api/v1/changes/{id}/close, which records the outcome",
            ));
        }
        "awaiting_approval" => {
            return Err(ApiError::bad_request(
                "ask for approval with POST /api/v1/changes/{id}/submit",
            ));
        }
        "cancelled" => {}
        to => one_of("to", to, &FLOW)?,
    }
    let mut store = shared.store();
    let change = change_mut(&mut store, &id)?;
    if change.status == step.to {
        return Ok(Json(change.clone()));
    }
    if change.is_over() {
        return Err(change.conflict("a finished change cannot move"));
    }
    if step.to != "cancelled" {
        let position = |s: &str| FLOW.iter().position(|f| *f == s);
        if position(&step.to) <= position(&change.status) {
            return Err(change.conflict(&format!("it cannot move back to {}", step.to)));
        }
        if APPROVED_ONLY.contains(&step.to.as_str()) && change.approval != "approved" {
            return Err(
                change.conflict(&format!("only an approved change can move to {}", step.to))
            );
        }
    }
    change.status = step.to;
    change.touch();
    Ok(Json(change.clone()))
}

async fn close(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Json(mut record): Json<CloseRecord>,
) -> ApiResult<Json<Change>> {
    one_of("outcome", &record.outcome, &OUTCOMES)?;
    let mut store = shared.store();
    let change = change_mut(&mut store, &id)?;
    if let Some(done) = change.close.as_ref().filter(|_| change.status == "closed") {
        if done.outcome == record.outcome {
            return Ok(Json(change.clone()));
        }
        return Err(change.conflict("it is closed with another outcome"));
    }
    let closable = change.approval == "approved" && APPROVED_ONLY.contains(&change.status.as_str());
    if !closable {
        return Err(change.conflict(
            "only an approved change that is scheduled, implementing or reviewing can be closed",
        ));
    }
    record.closed_at = record.closed_at.or(Some(OffsetDateTime::now_utc()));
    change.close = Some(record);
    change.status = "closed".into();
    change.touch();
    Ok(Json(change.clone()))
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
    let change = change_mut(&mut store, &id)?;
    add_comment(&mut change.comments, comment_id, key, new)
}
