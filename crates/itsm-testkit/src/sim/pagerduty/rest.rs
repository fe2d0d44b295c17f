//! The REST API v2 side of the simulator.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use itsm_core::url::form_urlencoded;
use serde_json::{Value, json};

use super::{
    DEFAULT_ESCALATION_POLICY, Incident, PagerDutySim, SERVICE_ID, State as SimState, User, answer,
    now, reference, rest_error,
};

fn not_found() -> Response {
    rest_error(StatusCode::NOT_FOUND, 2100, "Not Found", &[])
}

fn invalid(message: &str) -> Response {
    rest_error(
        StatusCode::BAD_REQUEST,
        2001,
        "Invalid Input Provided",
        &[message],
    )
}

/// Checks `Authorization: Token token=...` (and the configured token, if any).
fn authorize(sim: &PagerDutySim, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Token token="));
    let ok = match (given, &sim.lock().token) {
        (Some(given), Some(expected)) => given == expected,
        (Some(given), None) => !given.is_empty(),
        (None, _) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Box::new(rest_error(
            StatusCode::UNAUTHORIZED,
            2006,
            "Authentication failed",
            &[],
        )))
    }
}

/// Also requires the `From` header of writes.
fn authorize_write(sim: &PagerDutySim, headers: &HeaderMap) -> Result<(), Box<Response>> {
    authorize(sim, headers)?;
    let from = headers.get("from").and_then(|v| v.to_str().ok());
    if from.is_some_and(|f| f.contains('@')) {
        Ok(())
    } else {
        Err(Box::new(invalid(
            "The From header must be the email of a valid user",
        )))
    }
}

fn query(raw: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn all<'a>(q: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    q.iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn one<'a>(q: &'a [(String, String)], name: &'a str) -> Option<&'a str> {
    all(q, name).next()
}

/// An authorized write (token and `From`) with a JSON object body.
fn write_body(
    sim: &PagerDutySim,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, Box<Response>> {
    authorize_write(sim, headers)?;
    body_json(body)
}

fn body_json(body: &[u8]) -> Result<Value, Box<Response>> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| Box::new(invalid("The request body is not a JSON object")))
}

fn paged(q: &[(String, String)], field: &str, items: Vec<Value>) -> Response {
    let offset: usize = one(q, "offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = one(q, "limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    answer(
        StatusCode::OK,
        json!({
            field: page,
            "limit": limit,
            "offset": offset,
            "more": offset + limit < total,
            "total": null
        }),
    )
}

fn render(state: &SimState, i: &Incident) -> Value {
    let assignments: Vec<Value> = i
        .assignees
        .iter()
        .map(|id| {
            let name = state.user(id).map_or(id.as_str(), |u| u.name.as_str());
            json!({ "at": i.created_at, "assignee": reference("user", "users", id, name) })
        })
        .collect();
    let priority = i.priority.as_ref().map(|id| {
        let name = state.priorities.get(id).map_or("", String::as_str);
        reference("priority", "priorities", id, name)
    });
    json!({
        "id": i.id,
        "type": "incident",
        "summary": format!("[#{}] {}", i.number, i.title),
        "self": format!("https://api.pagerduty.com/incidents/{}", i.id),
        "html_url": format!("https://sim.pagerduty.com/incidents/{}", i.id),
        "incident_number": i.number,
        "title": i.title,
        "created_at": i.created_at,
        "status": i.status,
        "incident_key": i.key,
        "service": reference("service", "services", &i.service, "Simulated service"),
        "assignments": assignments,
        "escalation_policy": reference("escalation_policy", "escalation_policies", &i.escalation_policy, "Policy"),
        "priority": priority,
        "urgency": "high",
        "responder_requests": i.responder_requests,
    })
}

/// `GET /incidents`.
pub(crate) async fn list_incidents(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = authorize(&sim, &headers) {
        return *r;
    }
    let q = query(raw);
    let key = one(&q, "incident_key");
    let statuses: Vec<&str> = all(&q, "statuses[]").collect();
    let services: Vec<&str> = all(&q, "service_ids[]").collect();
    let state = sim.lock();
    let chosen: Box<dyn Iterator<Item = &Incident>> = match key {
        Some(k) => Box::new(state.with_key(k).iter().map(|at| &state.incidents[*at])),
        None => Box::new(state.incidents.iter()),
    };
    let items = chosen
        .filter(|i| statuses.is_empty() || statuses.contains(&i.status))
        .filter(|i| services.is_empty() || services.contains(&i.service.as_str()))
        .map(|i| render(&state, i))
        .collect();
    paged(&q, "incidents", items)
}

/// `POST /incidents`.
pub(crate) async fn create_incident(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match write_body(&sim, &headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let inc = &body["incident"];
    let (Some(title), Some(service)) = (inc["title"].as_str(), inc["service"]["id"].as_str())
    else {
        return invalid("incident.title and incident.service are required");
    };
    let mut state = sim.lock();
    let key = match inc["incident_key"].as_str() {
        Some(k) => k.to_owned(),
        None => state.new_id("key"),
    };
    if state.open_with_key(&key).is_some() {
        return rest_error(
            StatusCode::BAD_REQUEST,
            2001,
            "Incident could not be created",
            &["Open incident with matching dedup key already exists on this service"],
        );
    }
    let id = state.new_id("PINC");
    let number = state.next;
    let incident = Incident {
        id,
        number,
        key,
        title: title.to_owned(),
        status: "triggered",
        service: service.to_owned(),
        priority: inc["priority"]["id"].as_str().map(str::to_owned),
        assignees: vec!["PUSER01".into()],
        escalation_policy: inc["escalation_policy"]["id"]
            .as_str()
            .unwrap_or(DEFAULT_ESCALATION_POLICY)
            .to_owned(),
        created_at: now(),
        notes: Vec::new(),
        responder_requests: Vec::new(),
        status_updates: Vec::new(),
    };
    let rendered = render(&state, &incident);
    state.add_incident(incident);
    answer(StatusCode::CREATED, json!({ "incident": rendered }))
}

/// `GET /incidents/{id}`.
pub(crate) async fn get_incident(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&sim, &headers) {
        return *r;
    }
    let state = sim.lock();
    match state.incident(&id) {
        Some(i) => answer(StatusCode::OK, json!({ "incident": render(&state, i) })),
        None => not_found(),
    }
}

/// `PUT /incidents/{id}`: status, priority, escalation policy or assignments.
pub(crate) async fn update_incident(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body = match write_body(&sim, &headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let change = &body["incident"];
    let mut state = sim.lock();
    let Some(at) = state.position(&id) else {
        return not_found();
    };
    if let Some(priority) = change["priority"]["id"].as_str() {
        if !state.priorities.contains_key(priority) {
            return rest_error(StatusCode::BAD_REQUEST, 1020, "Invalid Priority", &[]);
        }
        state.incidents[at].priority = Some(priority.to_owned());
    }
    if let Some(assignments) = change["assignments"].as_array() {
        let ids: Vec<String> = assignments
            .iter()
            .filter_map(|a| a["assignee"]["id"].as_str().map(str::to_owned))
            .collect();
        if ids.is_empty() || ids.iter().any(|id| state.user(id).is_none()) {
            return rest_error(
                StatusCode::BAD_REQUEST,
                1007,
                "Assigned To User Not Found",
                &[],
            );
        }
        state.incidents[at].assignees = ids;
    }
    if let Some(policy) = change["escalation_policy"]["id"].as_str() {
        state.incidents[at].escalation_policy = policy.to_owned();
    }
    match change["status"].as_str() {
        Some("acknowledged") => state.incidents[at].status = "acknowledged",
        Some("resolved") => state.incidents[at].status = "resolved",
        Some("triggered") => state.incidents[at].status = "triggered",
        Some(_) => {
            return rest_error(
                StatusCode::BAD_REQUEST,
                1003,
                "Invalid Status Provided",
                &[],
            );
        }
        None => {}
    }
    let rendered = render(&state, &state.incidents[at]);
    answer(StatusCode::OK, json!({ "incident": rendered }))
}

/// `GET /incidents/{id}/notes`.
pub(crate) async fn list_notes(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&sim, &headers) {
        return *r;
    }
    match sim.lock().incident(&id) {
        Some(i) => answer(StatusCode::OK, json!({ "notes": i.notes })),
        None => not_found(),
    }
}

/// `POST /incidents/{id}/notes`.
pub(crate) async fn create_note(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body = match write_body(&sim, &headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(content) = body["note"]["content"].as_str() else {
        return invalid("note.content is required");
    };
    let mut state = sim.lock();
    let note_id = state.new_id("PNOTE");
    let Some(incident) = state.incident_mut(&id) else {
        return not_found();
    };
    let note = json!({
        "id": note_id,
        "user": reference("user", "users", "PUSER01", "Olive Oncall"),
        "channel": { "summary": "The PagerDuty website or APIs" },
        "content": content,
        "created_at": now(),
    });
    incident.notes.push(note.clone());
    answer(StatusCode::OK, json!({ "note": note }))
}

/// `POST /incidents/{id}/responder_requests`.
pub(crate) async fn responder_request(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&sim, &headers) {
        return *r;
    }
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let (Some(requester), Some(message), Some(targets)) = (
        body["requester_id"].as_str(),
        body["message"].as_str(),
        body["responder_request_targets"].as_array(),
    ) else {
        return invalid("requester_id, message and responder_request_targets are required");
    };
    let mut state = sim.lock();
    if state.user(requester).is_none() {
        return rest_error(
            StatusCode::BAD_REQUEST,
            1008,
            "Requester User Not Found",
            &[],
        );
    }
    let Some(incident) = state.incident_mut(&id) else {
        return not_found();
    };
    let request = json!({
        "requester": { "id": requester, "type": "user_reference" },
        "requested_at": now(),
        "message": message,
        "responder_request_targets": targets,
    });
    incident.responder_requests.push(request.clone());
    answer(StatusCode::OK, json!({ "responder_request": request }))
}

/// `POST /incidents/{id}/status_updates`.
pub(crate) async fn status_update(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body = match write_body(&sim, &headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(message) = body["message"].as_str() else {
        return invalid("message is required");
    };
    let mut state = sim.lock();
    let update_id = state.new_id("PSTAT");
    let Some(incident) = state.incident_mut(&id) else {
        return not_found();
    };
    let update = json!({ "id": update_id, "message": message, "created_at": now() });
    incident.status_updates.push(update.clone());
    answer(StatusCode::OK, json!({ "status_update": update }))
}

/// `GET /priorities`.
pub(crate) async fn priorities(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = authorize(&sim, &headers) {
        return *r;
    }
    let mut list: Vec<(String, String)> = sim.lock().priorities.clone().into_iter().collect();
    list.sort_by(|a, b| a.1.cmp(&b.1));
    let items = list
        .into_iter()
        .map(|(id, name)| json!({ "id": id, "type": "priority", "summary": name, "name": name }))
        .collect();
    paged(&query(raw), "priorities", items)
}

fn render_user(u: &User) -> Value {
    json!({ "id": u.id, "type": "user", "summary": u.name, "name": u.name, "email": u.email })
}

/// `GET /users?query=`: name or email containing the query (case-insensitive). With an
/// open directory a query matching nobody creates that user.
pub(crate) async fn users(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = authorize(&sim, &headers) {
        return *r;
    }
    let q = query(raw);
    let needle = one(&q, "query").unwrap_or_default().trim().to_lowercase();
    let mut state = sim.lock();
    let matches = |u: &User| {
        u.name.to_lowercase().contains(&needle) || u.email.to_lowercase().contains(&needle)
    };
    if !needle.is_empty() && state.open_directory && !state.users.iter().any(matches) {
        let id = state.new_id("PUSR");
        let (name, email) = if needle.contains('@') {
            (needle.clone(), needle.clone())
        } else {
            let original = one(&q, "query").unwrap_or_default().trim().to_owned();
            (original, format!("{}@sim.example", id.to_lowercase()))
        };
        state.users.push(User { id, name, email });
    }
    let items = state
        .users
        .iter()
        .filter(|u| matches(u))
        .map(render_user)
        .collect();
    paged(&q, "users", items)
}

/// `GET /oncalls`: the first user is on call, level 1, on the default policy.
pub(crate) async fn oncalls(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = authorize(&sim, &headers) {
        return *r;
    }
    let q = query(raw);
    let policies: Vec<&str> = all(&q, "escalation_policy_ids[]").collect();
    let schedules: Vec<&str> = all(&q, "schedule_ids[]").collect();
    let include_users = all(&q, "include[]").any(|v| v == "users");
    let state = sim.lock();
    let items: Vec<Value> = state
        .users
        .first()
        .filter(|_| policies.is_empty() || policies.contains(&DEFAULT_ESCALATION_POLICY))
        .filter(|_| schedules.is_empty() || schedules.contains(&"PSCHED1"))
        .map(|u| {
            let user = if include_users {
                render_user(u)
            } else {
                reference("user", "users", &u.id, &u.name)
            };
            json!({
                "user": user,
                "schedule": reference("schedule", "schedules", "PSCHED1", "Simulated rotation"),
                "escalation_policy": reference("escalation_policy", "escalation_policies", DEFAULT_ESCALATION_POLICY, "Policy"),
                "escalation_level": 1,
                "start": "2026-01-05T09:00:00Z",
                "end": "2026-01-12T09:00:00Z",
            })
        })
        .into_iter()
        .collect();
    paged(&q, "oncalls", items)
}

/// `GET /services`: the one simulated service.
pub(crate) async fn services(
    State(sim): State<PagerDutySim>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = authorize(&sim, &headers) {
        return *r;
    }
    let items = vec![json!({
        "id": SERVICE_ID,
        "type": "service",
        "summary": "Simulated service",
        "name": "Simulated service",
        "status": "active",
        "html_url": format!("https://sim.pagerduty.com/service-directory/{SERVICE_ID}"),
    })];
    paged(&query(raw), "services", items)
}
