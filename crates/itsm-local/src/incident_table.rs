//! Incidents and their notes in the `incident` and `incident_note` tables (blocking
//! functions run inside a [`Conn`] transaction).

use itsm_core::{Error, ErrorKind, ExternalRef, IdempotencyKey, Listing, Result};
use itsm_incident::{
    Incident, IncidentFilter, IncidentId, IncidentState, NewIncident, Note, Resolution,
};
use rusqlite::types::Value;
use time::OffsetDateTime;

use crate::SYSTEM;
use crate::records::{
    NoteTable, Page, Table, add_keyed_note, decode, encode, find_by_key, get_by_id, keyed_notes,
    timestamp, variant_text,
};
use crate::store::Conn;

/// Checks what can be checked without the database.
pub(crate) fn validate(incident: &NewIncident) -> Result<()> {
    if incident.summary.trim().is_empty() {
        return Err(Error::invalid_input(
            "incident summary must not be empty; describe what is wrong in one line",
        )
        .with_context("field", "summary"));
    }
    Ok(())
}

/// Checks a note's text.
pub(crate) fn validate_note(note: &Note) -> Result<()> {
    if note.text.trim().is_empty() {
        return Err(
            Error::invalid_input("a note must not be empty; write what happened")
                .with_context("field", "note"),
        );
    }
    Ok(())
}

/// The table and how its records are named in messages.
const INCIDENTS: Table = Table {
    name: "incident",
    what: "incident",
    context: "incident",
};

fn decode_incident(conn: &Conn<'_>, id: &str, body: &str) -> Result<Incident> {
    decode(conn.path(), "incident", id, body)
}

/// The incident created with `key`.
pub(crate) fn by_key(conn: &Conn<'_>, key: &IdempotencyKey) -> Result<Option<Incident>> {
    find_by_key(conn, INCIDENTS, key)
}

/// The incident with `id`, or [`ErrorKind::NotFound`].
pub(crate) fn get(conn: &Conn<'_>, id: &IncidentId) -> Result<Incident> {
    get_by_id(conn, INCIDENTS, id.as_str())
}

/// Creates an incident, or returns the one created with `key`.
pub(crate) fn create(
    conn: &Conn<'_>,
    key: &IdempotencyKey,
    new: &NewIncident,
    now: OffsetDateTime,
) -> Result<Incident> {
    if let Some(existing) = by_key(conn, key)? {
        return Ok(existing);
    }
    let (seq, id) = conn.next_id("incident", "INC")?;
    let incident = Incident {
        id: IncidentId::new(&id)?,
        number: Some(id.clone()),
        key: Some(key.clone()),
        summary: new.summary.trim().to_owned(),
        description: new.description.clone(),
        state: IncidentState::New,
        priority: new.priority,
        major: false,
        assignment: new.assignment.clone(),
        tenant: new.tenant.clone(),
        acknowledged_by: None,
        links_to: dedup(new.links_to.clone()),
        links: new.links.clone(),
        external: Some(ExternalRef::new(SYSTEM, &id)),
        opened_at: Some(now),
        resolved_at: None,
    };
    let created = timestamp(now)?;
    let inserted = conn.insert(
        "INSERT INTO incident (seq, id, key, service, state, major, created_at, updated_at, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6, ?7)",
        rusqlite::params![
            seq,
            id,
            key.as_str(),
            incident.assignment.service.as_str(),
            variant_text(&incident.state),
            created,
            encode("incident", &id, &incident)?,
        ],
    )?;
    if inserted {
        return Ok(incident);
    }
    by_key(conn, key)?.ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!(
                "incident {id} could not be inserted into {} and no incident has key {key}",
                conn.path().display()
            ),
        )
    })
}

fn dedup(refs: Vec<ExternalRef>) -> Vec<ExternalRef> {
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        push_unique(&mut out, r);
    }
    out
}

/// Appends `item` unless `list` has it; whether it was appended.
pub(crate) fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) -> bool {
    if list.contains(&item) {
        return false;
    }
    list.push(item);
    true
}

/// Writes back a changed incident (and, when given, its resolution).
pub(crate) fn save(
    conn: &Conn<'_>,
    incident: &Incident,
    now: OffsetDateTime,
    resolution: Option<&Resolution>,
) -> Result<()> {
    let id = incident.id.as_str();
    let resolution = resolution
        .map(|r| encode("resolution", id, r))
        .transpose()?;
    let changed = conn.execute(
        "UPDATE incident SET service = ?2, state = ?3, major = ?4, updated_at = ?5, \
         resolution = COALESCE(?6, resolution), body = ?7 WHERE id = ?1",
        rusqlite::params![
            id,
            incident.assignment.service.as_str(),
            variant_text(&incident.state),
            incident.major,
            timestamp(now)?,
            resolution,
            encode("incident", id, incident)?,
        ],
    )?;
    if changed == 1 {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Internal,
            format!(
                "incident {id} vanished from {} while being updated",
                conn.path().display()
            ),
        ))
    }
}

/// A page of incidents matching `filter`, newest (most recently opened) first.
pub(crate) fn list(
    conn: &Conn<'_>,
    filter: &IncidentFilter,
    page: Page,
) -> Result<Listing<Incident>> {
    let mut sql = String::from("SELECT id, body FROM incident WHERE 1 = 1");
    let mut params: Vec<Value> = Vec::new();
    if let Some(service) = &filter.service {
        params.push(Value::Text(service.as_str().to_owned()));
        sql.push_str(&format!(" AND service = ?{}", params.len()));
    }
    if filter.major_only {
        sql.push_str(" AND major = 1");
    }
    if !filter.states.is_empty() {
        let mut placeholders = Vec::with_capacity(filter.states.len());
        for state in &filter.states {
            params.push(Value::Text(variant_text(state)));
            placeholders.push(format!("?{}", params.len()));
        }
        sql.push_str(&format!(" AND state IN ({})", placeholders.join(", ")));
    }
    params.push(Value::Integer(page.sql_limit()));
    params.push(Value::Integer(page.sql_offset()));
    sql.push_str(&format!(
        " ORDER BY seq DESC LIMIT ?{} OFFSET ?{}",
        params.len() - 1,
        params.len()
    ));
    let rows = conn.rows(&sql, rusqlite::params_from_iter(params), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let items = rows
        .iter()
        .map(|(id, body)| decode_incident(conn, id, body))
        .collect::<Result<Vec<_>>>()?;
    Ok(page.finish(items))
}

/// Where the notes are kept.
const INCIDENT_NOTES: NoteTable = NoteTable {
    name: "incident_note",
    parent: "incident_id",
};

/// Adds a note unless one with `key` is already on the incident.
pub(crate) fn add_note(
    conn: &Conn<'_>,
    incident: &IncidentId,
    key: &IdempotencyKey,
    note: &Note,
    now: OffsetDateTime,
) -> Result<()> {
    add_keyed_note(conn, INCIDENT_NOTES, incident.as_str(), key, note, now)
}

/// The notes of an incident, oldest first.
pub(crate) fn notes(conn: &Conn<'_>, incident: &IncidentId) -> Result<Vec<Note>> {
    keyed_notes(conn, INCIDENT_NOTES, incident.as_str())
}

/// The resolution recorded by `resolve`, if any.
pub(crate) fn resolution(conn: &Conn<'_>, incident: &IncidentId) -> Result<Option<Resolution>> {
    let body = conn.row(
        "SELECT resolution FROM incident WHERE id = ?1",
        [incident.as_str()],
        |r| r.get::<_, Option<String>>(0),
    )?;
    body.flatten()
        .map(|b| decode(conn.path(), "resolution", incident.as_str(), &b))
        .transpose()
}
