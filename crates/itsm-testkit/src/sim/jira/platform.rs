//! Platform REST v3 handlers: search, issues, transitions, comments, remote links.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::jql;
use super::state::{SimComment, Workflow, error_body};
use super::{BASE, Shared, query_pairs};

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(error_body(
            "Issue does not exist or you do not have permission to see it.",
        )),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(error_body(message))).into_response()
}

/// `GET /rest/api/3/search/jql`.
pub(crate) async fn search(AxState(sim): AxState<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let params = query_pairs(q.as_deref());
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(text) = get("jql") else {
        return bad_request("The JQL query is required.");
    };
    let clauses = match jql::parse(&text) {
        Ok(c) => c,
        Err(e) => return bad_request(&e),
    };
    let max = get("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 5000);
    let start = match get("nextPageToken") {
        Some(t) => match t.strip_prefix("sim-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return bad_request("The nextPageToken is invalid."),
        },
        None => 0,
    };
    let properties: Vec<String> = get("properties")
        .map(|p| p.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    let props: Vec<&str> = properties.iter().map(String::as_str).collect();
    let state = sim.lock();
    let mut found: Vec<_> = state
        .issues
        .iter()
        .filter(|i| jql::matches(&clauses, i))
        .collect();
    found.sort_by_key(|i| (i.created, i.id));
    let page: Vec<Value> = found
        .iter()
        .skip(start)
        .take(max)
        .map(|i| i.to_json(BASE, &props))
        .collect();
    let end = start + page.len();
    let mut body = json!({ "issues": page, "isLast": end >= found.len() });
    if end < found.len() {
        body["nextPageToken"] = json!(format!("sim-{end}"));
    }
    Json(body).into_response()
}

/// `POST /rest/api/3/issue`.
pub(crate) async fn create(
    AxState(sim): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let fields = body
        .get("fields")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let project = fields
        .get("project")
        .and_then(|p| p.get("key"))
        .and_then(Value::as_str)
        .map(String::from);
    let issue_type = fields
        .get("issuetype")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .map(String::from);
    let summary = fields
        .get("summary")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (Some(project), Some(issue_type)) = (project, issue_type) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errorMessages": [], "errors": { "project": "Specify a valid project ID or key", "issuetype": "Specify an issue type" } })),
        )
            .into_response();
    };
    if summary.trim().is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errorMessages": [], "errors": { "summary": "You must specify a summary of the issue." } })),
        )
            .into_response();
    }
    let labels: Vec<String> = fields
        .get("labels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = labels.iter().find(|l| l.contains(' ') || l.len() > 255) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errorMessages": [], "errors": { "labels": format!("The label '{bad}' contains spaces or is too long.") } })),
        )
            .into_response();
    }
    let mut properties = Map::new();
    for p in body
        .get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(k) = p.get("key").and_then(Value::as_str) {
            properties.insert(k.to_owned(), p.get("value").cloned().unwrap_or(Value::Null));
        }
    }
    let mut stored: Map<String, Value> = fields
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "project" | "issuetype" | "labels"))
        .collect();
    stored
        .entry("priority")
        .or_insert(json!({ "name": "Medium" }));
    let mut state = sim.lock();
    let key = state.add_issue(
        &project,
        &issue_type,
        Workflow::Incident,
        labels,
        properties,
        stored,
        None,
        Map::new(),
    );
    let id = state.issue(&key).map(|i| i.id).unwrap_or_default();
    if state.lose_create_answers > 0 {
        state.lose_create_answers -= 1;
        return (StatusCode::GATEWAY_TIMEOUT, "upstream timed out").into_response();
    }
    (
        StatusCode::CREATED,
        Json(json!({ "id": id.to_string(), "key": key, "self": format!("{BASE}rest/api/3/issue/{id}") })),
    )
        .into_response()
}

/// `GET /rest/api/3/issue/{key}`.
pub(crate) async fn get(
    AxState(sim): AxState<Arc<Shared>>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let params = query_pairs(q.as_deref());
    let properties: Vec<String> = params
        .iter()
        .find(|(n, _)| n == "properties")
        .map(|(_, v)| v.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    let props: Vec<&str> = properties.iter().map(String::as_str).collect();
    let state = sim.lock();
    match state.issue(&key) {
        Some(issue) => Json(issue.to_json(BASE, &props)).into_response(),
        None => not_found(),
    }
}

/// `PUT /rest/api/3/issue/{key}`: `fields` replace, `update.labels` add / remove.
pub(crate) async fn edit(
    AxState(sim): AxState<Arc<Shared>>,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut state = sim.lock();
    let now = state.now();
    let Some(issue) = state.issue_mut(&key) else {
        return not_found();
    };
    if let Some(fields) = body.get("fields").and_then(Value::as_object) {
        for (k, v) in fields {
            match k.as_str() {
                "labels" => {
                    issue.labels = v
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default();
                }
                "project" | "issuetype" | "status" => {
                    return bad_request(&format!(
                        "Field '{k}' cannot be set. It is not on the appropriate screen, or unknown."
                    ));
                }
                _ => {
                    issue.fields.insert(k.clone(), v.clone());
                }
            }
        }
    }
    if let Some(ops) = body.pointer("/update/labels").and_then(Value::as_array) {
        for op in ops {
            if let Some(add) = op.get("add").and_then(Value::as_str)
                && !issue.labels.iter().any(|l| l == add)
            {
                issue.labels.push(add.to_owned());
            }
            if let Some(remove) = op.get("remove").and_then(Value::as_str) {
                issue.labels.retain(|l| l != remove);
            }
        }
    }
    issue.updated = now;
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /rest/api/3/issue/{key}/transitions`.
pub(crate) async fn transitions(
    AxState(sim): AxState<Arc<Shared>>,
    Path(key): Path<String>,
) -> Response {
    let state = sim.lock();
    let Some(issue) = state.issue(&key) else {
        return not_found();
    };
    let list: Vec<Value> = issue
        .workflow
        .targets(&issue.status)
        .into_iter()
        .map(|to| {
            let id = transition_id(issue.workflow, to);
            json!({
                "id": id,
                "name": format!("Move to {to}"),
                "to": { "name": to, "statusCategory": { "key": issue.workflow.category(to) } },
                "hasScreen": false, "isGlobal": true, "isInitial": false, "isAvailable": true,
            })
        })
        .collect();
    Json(json!({ "expand": "transitions", "transitions": list })).into_response()
}

fn transition_id(workflow: Workflow, to: &str) -> String {
    let i = workflow
        .statuses()
        .iter()
        .position(|s| *s == to)
        .unwrap_or_default();
    format!("{}", (i + 1) * 10 + 1)
}

/// `POST /rest/api/3/issue/{key}/transitions`.
pub(crate) async fn transition(
    AxState(sim): AxState<Arc<Shared>>,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(id) = body
        .pointer("/transition/id")
        .and_then(Value::as_str)
        .map(String::from)
    else {
        return bad_request("A transition id is required.");
    };
    let mut state = sim.lock();
    let now = state.now();
    let mut next_id = state.next_id;
    let Some(issue) = state.issue_mut(&key) else {
        return not_found();
    };
    let target = issue
        .workflow
        .targets(&issue.status)
        .into_iter()
        .find(|to| transition_id(issue.workflow, to) == id);
    let Some(target) = target else {
        return bad_request(&format!(
            "Transition id '{id}' is not valid for this issue."
        ));
    };
    issue.set_status(target, now, &mut next_id);
    if let Some(name) = body
        .pointer("/fields/resolution/name")
        .and_then(Value::as_str)
    {
        issue.resolution = Some(name.to_owned());
        issue.resolved = Some(now);
    } else if issue.workflow.category(target) == "done" && issue.resolution.is_none() {
        issue.resolution = Some("Done".into());
        issue.resolved = Some(now);
    }
    for c in body
        .pointer("/update/comment")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(b) = c.pointer("/add/body") {
            next_id += 1;
            issue.comments.push(SimComment {
                id: next_id,
                body: b.clone(),
                properties: vec![],
                created: now,
            });
        }
    }
    state.next_id = next_id;
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /rest/api/3/issue/{key}/comment`.
pub(crate) async fn comments(
    AxState(sim): AxState<Arc<Shared>>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let params = query_pairs(q.as_deref());
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let start = get("startAt")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let max = get("maxResults")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(5000)
        .clamp(1, 5000);
    let expand = get("expand").is_some_and(|e| e.split(',').any(|x| x == "properties"));
    let state = sim.lock();
    let Some(issue) = state.issue(&key) else {
        return not_found();
    };
    let page: Vec<Value> = issue
        .comments
        .iter()
        .skip(start)
        .take(max)
        .map(|c| {
            let mut v = json!({
                "id": c.id.to_string(),
                "body": c.body,
                "created": super::state::jira_time(c.created),
                "author": { "accountId": "sim-integration", "displayName": "itsm integration" },
            });
            if expand {
                v["properties"] = json!(c.properties);
            }
            v
        })
        .collect();
    Json(json!({ "startAt": start, "maxResults": max, "total": issue.comments.len(), "comments": page }))
        .into_response()
}

/// `POST /rest/api/3/issue/{key}/comment`.
pub(crate) async fn add_comment(
    AxState(sim): AxState<Arc<Shared>>,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(text) = body.get("body").filter(|b| b.is_object()) else {
        return bad_request("Comment body can not be empty!");
    };
    let properties = body
        .get("properties")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut state = sim.lock();
    let now = state.now();
    state.next_id += 1;
    let id = state.next_id;
    let Some(issue) = state.issue_mut(&key) else {
        return not_found();
    };
    issue.comments.push(SimComment {
        id,
        body: text.clone(),
        properties,
        created: now,
    });
    (
        StatusCode::CREATED,
        Json(json!({ "id": id.to_string(), "body": text })),
    )
        .into_response()
}

/// `GET /rest/api/3/issue/{key}/remotelink`.
pub(crate) async fn remote_links(
    AxState(sim): AxState<Arc<Shared>>,
    Path(key): Path<String>,
) -> Response {
    let state = sim.lock();
    match state.issue(&key) {
        Some(issue) => Json(Value::Array(issue.remote_links.clone())).into_response(),
        None => not_found(),
    }
}

/// `POST /rest/api/3/issue/{key}/remotelink`: same `globalId` updates.
pub(crate) async fn add_remote_link(
    AxState(sim): AxState<Arc<Shared>>,
    Path(key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if body
        .pointer("/object/url")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return bad_request("The remote link object needs a url.");
    }
    let mut state = sim.lock();
    state.next_id += 1;
    let id = state.next_id;
    let Some(issue) = state.issue_mut(&key) else {
        return not_found();
    };
    let global = body
        .get("globalId")
        .and_then(Value::as_str)
        .map(String::from);
    let existing = global.as_ref().and_then(|g| {
        issue
            .remote_links
            .iter()
            .position(|l| l.get("globalId").and_then(Value::as_str) == Some(g.as_str()))
    });
    let mut link = body.clone();
    match existing {
        Some(i) => {
            let old_id = issue.remote_links[i]
                .get("id")
                .cloned()
                .unwrap_or(json!(id));
            link["id"] = old_id.clone();
            issue.remote_links[i] = link;
            (StatusCode::OK, Json(json!({ "id": old_id }))).into_response()
        }
        None => {
            link["id"] = json!(id);
            issue.remote_links.push(link);
            (StatusCode::CREATED, Json(json!({ "id": id, "self": format!("{BASE}rest/api/3/issue/{key}/remotelink/{id}") })))
                .into_response()
        }
    }
}
