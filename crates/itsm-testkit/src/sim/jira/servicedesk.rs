//! Service Management (`servicedeskapi`) handlers: requests, status history, approvals,
//! request types and their fields.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Shared;
use super::state::{SimIssue, SimRequestType, error_body, jsm_date};

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "errorMessage": message, "i18nErrorMessage": { "i18nKey": "sd.sim.error", "parameters": [] } })))
        .into_response()
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "The request could not be found or you do not have permission to see it.",
    )
}

fn page(values: Vec<Value>) -> Value {
    json!({ "size": values.len(), "start": 0, "limit": 50, "isLastPage": true, "values": values })
}

fn request_json(issue: &SimIssue) -> Value {
    let (desk, rt) = issue.request.clone().unwrap_or_default();
    let values: Vec<Value> = issue
        .request_values
        .iter()
        .map(|(k, v)| json!({ "fieldId": k, "label": k, "value": v }))
        .collect();
    let status_date = issue.history.last().map_or(issue.created, |(_, t)| *t);
    json!({
        "issueId": issue.id.to_string(),
        "issueKey": issue.key,
        "requestTypeId": rt,
        "serviceDeskId": desk,
        "createdDate": jsm_date(issue.created),
        "reporter": { "accountId": "sim-integration", "displayName": "itsm integration" },
        "currentStatus": {
            "status": issue.status,
            "statusCategory": issue.workflow.category(&issue.status).to_ascii_uppercase(),
            "statusDate": jsm_date(status_date),
        },
        "requestFieldValues": values,
    })
}

fn value_fits(field: &super::state::SimField, value: &Value) -> bool {
    match field.kind {
        "number" => value.is_number(),
        "option" => {
            let v = value.get("value").or(Some(value)).and_then(Value::as_str);
            v.is_some_and(|v| field.options.iter().any(|o| o == v))
        }
        _ => value.is_string(),
    }
}

/// `POST /rest/servicedeskapi/request`.
pub(crate) async fn create(
    AxState(sim): AxState<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let desk_id = body
        .get("serviceDeskId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let rt_id = body
        .get("requestTypeId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let values = body
        .get("requestFieldValues")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut state = sim.lock();
    let Some(desk) = state.desks.get(&desk_id).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("The service desk {desk_id} does not exist."),
        );
    };
    let Some(rt) = desk.request_types.iter().find(|r| r.id == rt_id).cloned() else {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("The request type {rt_id} does not exist in service desk {desk_id}."),
        );
    };
    for field in &rt.fields {
        match values.get(&field.id) {
            None if field.required => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("Field '{}' is required.", field.name),
                );
            }
            Some(v) if !value_fits(field, v) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("Field '{}' has an invalid value.", field.name),
                );
            }
            _ => {}
        }
    }
    if let Some(unknown) = values
        .keys()
        .find(|k| *k != "labels" && !rt.fields.iter().any(|f| &f.id == *k))
    {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Field '{unknown}' cannot be set. It is not on the request type."),
        );
    }
    let labels: Vec<String> = values
        .get("labels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let mut fields = Map::new();
    let mut stored_values = Map::new();
    for (k, v) in &values {
        if k == "labels" {
            continue;
        }
        let shown = if k == "description" {
            super::adf_of(v.as_str().unwrap_or_default())
        } else {
            v.clone()
        };
        fields.insert(k.clone(), shown);
        stored_values.insert(k.clone(), v.clone());
    }
    let key = state.add_issue(
        &desk.project,
        &rt.name,
        rt.workflow,
        labels,
        Map::new(),
        fields,
        Some((desk_id, rt_id)),
        stored_values,
    );
    let lose = state.lose_create_answers > 0;
    if lose {
        state.lose_create_answers -= 1;
        return (StatusCode::GATEWAY_TIMEOUT, "upstream timed out").into_response();
    }
    match state.issue(&key) {
        Some(issue) => (StatusCode::CREATED, Json(request_json(issue))).into_response(),
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "lost the request"),
    }
}

/// `GET /rest/servicedeskapi/request/{key}`.
pub(crate) async fn get(AxState(sim): AxState<Arc<Shared>>, Path(key): Path<String>) -> Response {
    let state = sim.lock();
    match state.issue(&key).filter(|i| i.request.is_some()) {
        Some(issue) => Json(request_json(issue)).into_response(),
        None => not_found(),
    }
}

/// `GET /rest/servicedeskapi/request/{key}/status`: most recent first, as JSM answers.
pub(crate) async fn statuses(
    AxState(sim): AxState<Arc<Shared>>,
    Path(key): Path<String>,
) -> Response {
    let state = sim.lock();
    let Some(issue) = state.issue(&key).filter(|i| i.request.is_some()) else {
        return not_found();
    };
    let values: Vec<Value> = issue
        .history
        .iter()
        .rev()
        .map(|(s, t)| {
            json!({ "status": s, "statusCategory": issue.workflow.category(s).to_ascii_uppercase(), "statusDate": jsm_date(*t) })
        })
        .collect();
    Json(page(values)).into_response()
}

/// `GET /rest/servicedeskapi/request/{key}/approval`.
pub(crate) async fn approvals(
    AxState(sim): AxState<Arc<Shared>>,
    Path(key): Path<String>,
) -> Response {
    let state = sim.lock();
    let Some(issue) = state.issue(&key).filter(|i| i.request.is_some()) else {
        return not_found();
    };
    let values: Vec<Value> = issue
        .approvals
        .iter()
        .map(|a| {
            let mut v = json!({
                "id": a.id.to_string(),
                "name": "Change manager approval",
                "finalDecision": a.decision,
                "canAnswerApproval": a.decision == "pending",
                "approvers": [{ "approver": { "accountId": "sim-cab", "displayName": "Change Advisory Board" }, "approverDecision": a.decision }],
                "createdDate": jsm_date(a.created),
            });
            if let Some(done) = a.completed {
                v["completedDate"] = jsm_date(done);
            }
            v
        })
        .collect();
    Json(page(values)).into_response()
}

/// `POST /rest/servicedeskapi/request/{key}/approval/{id}`.
pub(crate) async fn answer(
    AxState(sim): AxState<Arc<Shared>>,
    Path((key, approval)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let decision = match body.get("decision").and_then(Value::as_str) {
        Some("approve") => "approved",
        Some("decline") => "declined",
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(error_body("decision must be approve or decline")),
            )
                .into_response();
        }
    };
    let mut state = sim.lock();
    let now = state.now();
    let mut next_id = state.next_id;
    let Some(issue) = state.issue_mut(&key).filter(|i| i.request.is_some()) else {
        return not_found();
    };
    let Some(a) = issue
        .approvals
        .iter_mut()
        .find(|a| a.id.to_string() == approval)
    else {
        return not_found();
    };
    if a.decision != "pending" {
        return error(
            StatusCode::CONFLICT,
            "This approval has already been answered.",
        );
    }
    a.decision = decision;
    a.completed = Some(now);
    let target = if decision == "approved" {
        "Awaiting implementation"
    } else {
        "Declined"
    };
    issue.set_status(target, now, &mut next_id);
    if decision == "declined" {
        issue.resolution = Some("Declined".into());
        issue.resolved = Some(now);
    }
    let answer =
        json!({ "id": approval, "finalDecision": decision, "completedDate": jsm_date(now) });
    state.next_id = next_id;
    Json(answer).into_response()
}

fn request_type_json(desk: &str, rt: &SimRequestType) -> Value {
    json!({
        "id": rt.id,
        "name": rt.name,
        "description": rt.description,
        "helpText": "",
        "serviceDeskId": desk,
        "groupIds": [],
    })
}

/// `GET /rest/servicedeskapi/servicedesk/{desk}/requesttype`.
pub(crate) async fn request_types(
    AxState(sim): AxState<Arc<Shared>>,
    Path(desk): Path<String>,
) -> Response {
    let state = sim.lock();
    match state.desks.get(&desk) {
        Some(d) => Json(page(
            d.request_types
                .iter()
                .map(|r| request_type_json(&desk, r))
                .collect(),
        ))
        .into_response(),
        None => error(StatusCode::NOT_FOUND, "The service desk does not exist."),
    }
}

/// `GET /rest/servicedeskapi/servicedesk/{desk}/requesttype/{id}`.
pub(crate) async fn request_type(
    AxState(sim): AxState<Arc<Shared>>,
    Path((desk, id)): Path<(String, String)>,
) -> Response {
    let state = sim.lock();
    match state
        .desks
        .get(&desk)
        .and_then(|d| d.request_types.iter().find(|r| r.id == id))
    {
        Some(rt) => Json(request_type_json(&desk, rt)).into_response(),
        None => error(StatusCode::NOT_FOUND, "The request type does not exist."),
    }
}

/// `GET /rest/servicedeskapi/servicedesk/{desk}/requesttype/{id}/field`.
pub(crate) async fn request_type_fields(
    AxState(sim): AxState<Arc<Shared>>,
    Path((desk, id)): Path<(String, String)>,
) -> Response {
    let state = sim.lock();
    let Some(rt) = state
        .desks
        .get(&desk)
        .and_then(|d| d.request_types.iter().find(|r| r.id == id))
    else {
        return error(StatusCode::NOT_FOUND, "The request type does not exist.");
    };
    let fields: Vec<Value> = rt
        .fields
        .iter()
        .map(|f| {
            json!({
                "fieldId": f.id,
                "name": f.name,
                "description": "",
                "required": f.required,
                "defaultValues": [],
                "validValues": f.options.iter().map(|o| json!({ "value": o, "label": o, "children": [] })).collect::<Vec<_>>(),
                "jiraSchema": { "type": f.kind, "system": f.id },
                "visible": true,
            })
        })
        .collect();
    Json(json!({ "requestTypeFields": fields, "canRaiseOnBehalfOf": true, "canAddRequestParticipants": true }))
        .into_response()
}
