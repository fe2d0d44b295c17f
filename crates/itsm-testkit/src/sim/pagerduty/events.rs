//! The Events API v2 side of the simulator.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{DEFAULT_ESCALATION_POLICY, Incident, PagerDutySim, SERVICE_ID, answer, now};

/// The Events API's 400 body.
fn invalid(errors: &[&str]) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        json!({ "status": "invalid event", "message": "Event object is invalid", "errors": errors }),
    )
}

fn text<'a>(body: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = body;
    for part in path {
        at = at.get(part)?;
    }
    at.as_str().filter(|s| !s.trim().is_empty())
}

fn parse(body: &[u8]) -> Result<Value, Box<Response>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(Box::new(answer(
            StatusCode::BAD_REQUEST,
            json!({
                "status": "Unrecognized object",
                "message": "Event object format is unrecognized",
                "errors": ["JSON parse error"]
            }),
        ))),
    }
}

/// `POST /v2/enqueue`.
pub(crate) async fn enqueue(State(sim): State<PagerDutySim>, body: Bytes) -> Response {
    let event = match parse(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if text(&event, &["routing_key"]).is_none() {
        return invalid(&["'routing_key' is missing or blank"]);
    }
    let action = text(&event, &["event_action"]).unwrap_or_default();
    let mut state = sim.lock();
    let key = match (action, text(&event, &["dedup_key"])) {
        (_, Some(key)) => key.to_owned(),
        ("trigger", None) => state.new_id("dedup"),
        ("acknowledge" | "resolve", None) => {
            return invalid(&["'dedup_key' is required for acknowledge and resolve"]);
        }
        _ => return invalid(&["'event_action' must be trigger, acknowledge or resolve"]),
    };
    state.alert_events.push(event.clone());
    let open = state.open_with_key(&key);
    match (action, open) {
        ("trigger", Some(_)) => {}
        ("trigger", None) => {
            let summary = text(&event, &["payload", "summary"]);
            let source = text(&event, &["payload", "source"]);
            let severity = text(&event, &["payload", "severity"]);
            let (Some(summary), Some(_)) = (summary, source) else {
                return invalid(&["'payload.summary' and 'payload.source' are required"]);
            };
            if !matches!(severity, Some("critical" | "error" | "warning" | "info")) {
                return invalid(&["'payload.severity' must be critical, error, warning or info"]);
            }
            let id = state.new_id("PINC");
            let number = state.next;
            let incident = Incident {
                id,
                number,
                key: key.clone(),
                title: summary.to_owned(),
                status: "triggered",
                service: SERVICE_ID.into(),
                priority: None,
                assignees: vec!["PUSER01".into()],
                escalation_policy: DEFAULT_ESCALATION_POLICY.into(),
                created_at: now(),
                notes: Vec::new(),
                responder_requests: Vec::new(),
                status_updates: Vec::new(),
            };
            state.add_incident(incident);
        }
        ("acknowledge", Some(at)) => state.incidents[at].status = "acknowledged",
        ("resolve", Some(at)) => state.incidents[at].status = "resolved",
        // PagerDuty accepts and drops events for keys it has no open incident for.
        _ => {}
    }
    answer(
        StatusCode::ACCEPTED,
        json!({ "status": "success", "message": "Event processed", "dedup_key": key }),
    )
}

/// `POST /v2/change/enqueue`.
pub(crate) async fn change(State(sim): State<PagerDutySim>, body: Bytes) -> Response {
    let event = match parse(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if text(&event, &["routing_key"]).is_none() {
        return invalid(&["'routing_key' is missing or blank"]);
    }
    if text(&event, &["payload", "summary"]).is_none() {
        return invalid(&["'payload.summary' is required"]);
    }
    sim.lock().change_events.push(event);
    answer(
        StatusCode::ACCEPTED,
        json!({ "status": "success", "message": "Change event processed" }),
    )
}
