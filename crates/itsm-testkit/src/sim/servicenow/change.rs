//! The Change Management API (`/api/sn_chg_rest/change/...`) and its state model.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::store::{Row, Tables, View, now_text, render};
use super::table::{not_found, write};
use super::{Req, ServiceNowSim, error, page, result};

const TABLE: &str = "change_request";
const TEMPLATES: &str = "std_change_record_producer";
const APPROVALS: &str = "sysapproval_approver";
const KINDS: [&str; 3] = ["normal", "standard", "emergency"];

pub(super) fn handle(sim: &ServiceNowSim, req: &Req, rest: &[&str]) -> Response {
    let mut guard = sim.lock();
    let state = &mut *guard;
    let base = state.base.clone();
    let view = View::all();
    let show = |row: &Row| render(&base, row, &view);
    let tables = &mut state.tables;
    match (&req.method, rest) {
        (&Method::GET, []) => {
            let rows = tables.query(TABLE, req.param("sysparm_query").unwrap_or(""));
            page(req, &base, rows.iter().map(show).collect())
        }
        (&Method::GET, ["standard", "template"]) => {
            let rows = tables.query(TEMPLATES, req.param("sysparm_query").unwrap_or(""));
            page(req, &base, rows.iter().map(show).collect())
        }
        (&Method::GET, ["standard", "template", id]) => match tables.get(TEMPLATES, id) {
            Some(row) => result(StatusCode::OK, show(row)),
            None => not_found(),
        },
        (&Method::POST, ["standard", template]) => {
            let Some(tpl) = tables.get(TEMPLATES, template).cloned() else {
                return not_found();
            };
            if tpl.get("active").map(String::as_str) != Some("true") {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Template is not active",
                    "Only published, active standard change templates can be used",
                );
            }
            let mut row = req.fields();
            row.entry("cmdb_ci".into())
                .or_insert_with(|| tpl.get("u_itsm_service").cloned().unwrap_or_default());
            let name = tpl.get("name").cloned().unwrap_or_default();
            row.insert("std_change_producer_version".into(), format!("{name} - 1"));
            create(tables, &show, row, "standard", "-2", "approved")
        }
        (&Method::POST, [kind]) if *kind == "normal" || *kind == "emergency" => {
            let (state, approval) = if *kind == "normal" {
                ("-5", "not requested")
            } else {
                ("-3", "requested")
            };
            create(tables, &show, req.fields(), kind, state, approval)
        }
        (&Method::GET, [id]) => match tables.get(TABLE, id) {
            Some(row) => result(StatusCode::OK, show(row)),
            None => not_found(),
        },
        (&Method::PATCH, [id]) => update(tables, &show, id, None, req.fields()),
        (&Method::GET, [kind, id]) if KINDS.contains(kind) => {
            match tables
                .get(TABLE, id)
                .filter(|r| r.get("type").map(String::as_str) == Some(kind))
            {
                Some(row) => result(StatusCode::OK, show(row)),
                None => not_found(),
            }
        }
        (&Method::PATCH, [kind, id]) if KINDS.contains(kind) => {
            update(tables, &show, id, Some(kind), req.fields())
        }
        (&Method::GET, [id, "nextstates"]) => match tables.get(TABLE, id) {
            Some(row) => {
                let states = next_states(row);
                result(StatusCode::OK, json!({ "available_states": states }))
            }
            None => not_found(),
        },
        (&Method::PATCH, [id, "approvals"]) => decide(tables, &show, id, req),
        (&Method::POST, [id, "conflict"]) => {
            if tables.get(TABLE, id).is_none() {
                return not_found();
            }
            state.conflict_polls.insert((*id).to_owned(), 1);
            result(
                StatusCode::OK,
                json!({ "status": { "value": "executing", "display_value": "Executing" } }),
            )
        }
        (&Method::GET, [id, "conflict"]) => {
            let Some(row) = state.tables.get(TABLE, id) else {
                return not_found();
            };
            let polls = state.conflict_polls.entry((*id).to_owned()).or_insert(0);
            if *polls > 0 {
                *polls -= 1;
                return result(
                    StatusCode::OK,
                    json!({ "status": { "value": "executing", "display_value": "Executing" }, "conflicts": [] }),
                );
            }
            let service = row.get("cmdb_ci").cloned().unwrap_or_default();
            let conflicts: Vec<Value> = state
                .blackouts
                .iter()
                .filter(|(s, _)| *s == service)
                .map(|(_, d)| {
                    json!({
                        "type": { "value": "blackout", "display_value": "Blackout" },
                        "description": { "value": d, "display_value": d },
                        "change": { "value": id, "display_value": row.get("number") },
                    })
                })
                .collect();
            result(
                StatusCode::OK,
                json!({ "status": { "value": "completed", "display_value": "Completed" }, "conflicts": conflicts }),
            )
        }
        _ => error(
            StatusCode::BAD_REQUEST,
            "Requested URI does not represent any resource",
            "no such Change Management API operation in the simulator",
        ),
    }
}

fn create(
    tables: &mut Tables,
    show: &dyn Fn(&Row) -> Value,
    mut row: Row,
    kind: &str,
    state: &str,
    approval: &str,
) -> Response {
    row.insert("type".into(), kind.into());
    row.insert("state".into(), state.into());
    row.insert("approval".into(), approval.into());
    match write(tables, TABLE, None, row) {
        Ok(created) => {
            if approval == "requested" {
                add_approver(tables, &created);
            }
            result(StatusCode::OK, show(&created))
        }
        Err(resp) => *resp,
    }
}

fn add_approver(tables: &mut Tables, change: &Row) {
    let approver: Row = [
        (
            "sysapproval",
            change.get("sys_id").cloned().unwrap_or_default(),
        ),
        ("approver", "CAB Manager".to_owned()),
        ("state", "requested".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    tables.insert(APPROVALS, approver);
}

/// The states a change may move to now, its own included.
fn next_states(row: &Row) -> Vec<&'static str> {
    let state = row.get("state").map(String::as_str).unwrap_or("-5");
    let emergency = row.get("type").map(String::as_str) == Some("emergency");
    match state {
        "-5" if emergency => vec!["-5", "-3", "4"],
        "-5" => vec!["-5", "-4", "4"],
        "-4" => vec!["-4", "4"],
        "-3" => vec!["-3", "4"],
        "-2" => vec!["-2", "-1", "4"],
        "-1" => vec!["-1", "0", "4"],
        "0" => vec!["0", "3"],
        "3" => vec!["3"],
        _ => vec!["4"],
    }
}

fn update(
    tables: &mut Tables,
    show: &dyn Fn(&Row) -> Value,
    id: &str,
    kind: Option<&str>,
    changes: Row,
) -> Response {
    let Some(current) = tables.get(TABLE, id).cloned() else {
        return not_found();
    };
    if kind.is_some_and(|k| current.get("type").map(String::as_str) != Some(k)) {
        return not_found();
    }
    let mut changes = changes;
    let from = current.get("state").cloned().unwrap_or_default();
    let mut requested = false;
    if let Some(to) = changes.get("state").cloned()
        && to != from
    {
        if !next_states(&current).contains(&to.as_str()) {
            return error(
                StatusCode::BAD_REQUEST,
                "Invalid state transition",
                &format!("change cannot move from state {from} to {to}"),
            );
        }
        match to.as_str() {
            "-4" | "-3" if current.get("approval").map(String::as_str) == Some("not requested") => {
                changes.insert("approval".into(), "requested".into());
                requested = true;
            }
            "3" => {
                let merged = |f: &str| {
                    changes
                        .get(f)
                        .or_else(|| current.get(f))
                        .is_some_and(|v| !v.trim().is_empty())
                };
                if !merged("close_code") || !merged("close_notes") {
                    return error(
                        StatusCode::FORBIDDEN,
                        "Operation Failed",
                        "Data Policy Exception: close_code and close_notes are mandatory to close",
                    );
                }
                changes.insert("closed_at".into(), now_text());
            }
            _ => {}
        }
    }
    match write(tables, TABLE, Some(id), changes) {
        Ok(row) => {
            if requested {
                add_approver(tables, &row);
            }
            result(StatusCode::OK, show(&row))
        }
        Err(resp) => *resp,
    }
}

fn decide(tables: &mut Tables, show: &dyn Fn(&Row) -> Value, id: &str, req: &Req) -> Response {
    let Some(current) = tables.get(TABLE, id).cloned() else {
        return not_found();
    };
    let fields = req.fields();
    let decision = fields.get("state").map(String::as_str).unwrap_or("");
    if !matches!(decision, "approved" | "rejected") {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid approval state",
            "state must be approved or rejected",
        );
    }
    if current.get("approval").map(String::as_str) != Some("requested") {
        return error(
            StatusCode::CONFLICT,
            "No approval requested",
            "the change has no pending approval",
        );
    }
    let pending: Vec<String> = tables
        .query(APPROVALS, &format!("sysapproval={id}^state=requested"))
        .into_iter()
        .filter_map(|r| r.get("sys_id").cloned())
        .collect();
    for approval in pending {
        if let Some(row) = tables.get_mut(APPROVALS, &approval) {
            row.insert("state".into(), decision.into());
            row.insert(
                "comments".into(),
                fields.get("comments").cloned().unwrap_or_default(),
            );
            row.insert("sys_updated_on".into(), now_text());
        }
    }
    let mut changes = Row::new();
    changes.insert("approval".into(), decision.into());
    changes.insert(
        "state".into(),
        if decision == "approved" { "-2" } else { "-5" }.into(),
    );
    match write(tables, TABLE, Some(id), changes) {
        Ok(row) => result(StatusCode::OK, show(&row)),
        Err(resp) => *resp,
    }
}
