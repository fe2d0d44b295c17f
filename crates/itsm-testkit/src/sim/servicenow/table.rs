//! The Table API and the business rules of the tables it writes.

use axum::http::{Method, StatusCode};
use axum::response::Response;

use super::incident;
use super::store::{Row, Tables, View, now_text, render};
use super::{Req, ServiceNowSim, error, page, result};

/// Journal fields: written to `sys_journal_field`, never stored on the record.
const JOURNAL: [&str; 2] = ["work_notes", "comments"];

pub(super) fn handle(sim: &ServiceNowSim, req: &Req, rest: &[&str]) -> Response {
    let view = View::of(
        req.param("sysparm_display_value"),
        req.param("sysparm_fields"),
        req.param("sysparm_exclude_reference_link"),
    );
    let mut state = sim.lock();
    let base = state.base.clone();
    let show = |row: &Row| render(&base, row, &view);
    match (&req.method, rest) {
        (&Method::GET, [table]) => {
            let rows = state
                .tables
                .query(table, req.param("sysparm_query").unwrap_or(""));
            let items = rows.iter().map(show).collect();
            page(req, &base, items)
        }
        (&Method::POST, [table]) => match write(&mut state.tables, table, None, req.fields()) {
            Ok(row) => result(StatusCode::CREATED, show(&row)),
            Err(resp) => *resp,
        },
        (&Method::GET, [table, id]) => match state.tables.get(table, id) {
            Some(row) => result(StatusCode::OK, show(row)),
            None => not_found(),
        },
        (&Method::PATCH | &Method::PUT, [table, id]) => {
            if state.tables.get(table, id).is_none() {
                return not_found();
            }
            match write(&mut state.tables, table, Some(id), req.fields()) {
                Ok(row) => result(StatusCode::OK, show(&row)),
                Err(resp) => *resp,
            }
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not Supported",
            "the simulator's Table API has no such operation",
        ),
    }
}

pub(super) fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "No Record found",
        "Record doesn't exist or ACL restricts the record retrieval",
    )
}

/// Inserts (`id` = `None`) or updates a record through the business rules; returns it.
pub(super) fn write(
    tables: &mut Tables,
    table: &str,
    id: Option<&str>,
    mut changes: Row,
) -> Result<Row, Box<Response>> {
    let journal: Vec<(String, String)> = JOURNAL
        .iter()
        .filter_map(|f| changes.remove(*f).map(|v| ((*f).to_owned(), v)))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let before = id.and_then(|id| tables.get(table, id).cloned());
    let mut row = before.clone().unwrap_or_default();
    row.extend(changes);
    rules(table, before.as_ref(), &mut row)?;
    let sys_id = match id {
        Some(id) => {
            row.insert("sys_updated_on".into(), now_text());
            if let Some(stored) = tables.get_mut(table, id) {
                *stored = row;
            }
            id.to_owned()
        }
        None => tables.insert(table, row),
    };
    for (element, value) in journal {
        let entry: Row = [
            ("element_id", sys_id.clone()),
            ("element", element),
            ("name", table.to_owned()),
            ("value", value),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        tables.insert("sys_journal_field", entry);
    }
    tables
        .get(table, &sys_id)
        .cloned()
        .ok_or_else(|| Box::new(not_found()))
}

fn rules(table: &str, before: Option<&Row>, row: &mut Row) -> Result<(), Box<Response>> {
    if table != "incident" {
        return Ok(());
    }
    row.entry("state".into()).or_insert_with(|| "1".into());
    let impact = number(row, "impact");
    let urgency = number(row, "urgency");
    row.insert("impact".into(), impact.to_string());
    row.insert("urgency".into(), urgency.to_string());
    row.insert("priority".into(), (impact + urgency - 1).to_string());
    if before.is_none() {
        row.insert("opened_at".into(), now_text());
        incident::fill_new(row);
    }
    incident::derive(before, row);
    let was = before.and_then(|b| b.get("state")).map(String::as_str);
    if row.get("state").map(String::as_str) == Some("6") && was != Some("6") {
        let missing = ["close_code", "close_notes"]
            .into_iter()
            .find(|f| row.get(*f).is_none_or(|v| v.trim().is_empty()));
        if let Some(field) = missing {
            return Err(Box::new(error(
                StatusCode::FORBIDDEN,
                "Operation Failed",
                &format!("Data Policy Exception: {field} is mandatory to resolve"),
            )));
        }
        row.insert("resolved_at".into(), now_text());
    }
    Ok(())
}

fn number(row: &Row, field: &str) -> i64 {
    row.get(field)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| (1..=3).contains(n))
        .unwrap_or(3)
}
