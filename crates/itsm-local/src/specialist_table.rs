//! Specialist teams, offerings, requests and comment keys in the `specialist_*` tables
//! (blocking functions run inside a [`Conn`] transaction).

use itsm_core::{Error, ErrorKind, ExternalRef, IdempotencyKey, Listing, Person, Result, TeamId};
use itsm_specialist::fulfil::state_name;
use itsm_specialist::{
    CatalogFile, Comment, NewRequest, Offering, OfferingId, RequestFilter, RequestId, RequestState,
    SpecialistRequest, SpecialistTeam, Transition,
};
use rusqlite::types::Value;
use time::OffsetDateTime;

use crate::SYSTEM;
use crate::records::{Page, Table, decode, encode, find_by_key, get_by_id, timestamp};
use crate::store::Conn;

/// The schema migration of the specialist domain (appended to `MIGRATIONS`).
pub(crate) const SPECIALIST_MIGRATION: &str = r#"
CREATE TABLE specialist_team (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE specialist_offering (
    id   TEXT PRIMARY KEY,
    team TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX specialist_offering_team ON specialist_offering (team);

CREATE TABLE specialist_request (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    key          TEXT NOT NULL UNIQUE,
    offering     TEXT NOT NULL,
    team         TEXT NOT NULL,
    requester    TEXT NOT NULL,
    state        TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX specialist_request_queue ON specialist_request (team, state);
CREATE INDEX specialist_request_requester ON specialist_request (requester);
CREATE INDEX specialist_request_offering ON specialist_request (offering);

CREATE TABLE specialist_comment (
    request_id TEXT NOT NULL REFERENCES specialist_request (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (request_id, key)
);
"#;

/// Replaces the catalog with `file`: teams and offerings are upserted (a row is rewritten
/// only when it changed) and those no longer in the file are removed. Requests are kept.
pub(crate) fn load_catalog(conn: &Conn<'_>, file: &CatalogFile) -> Result<()> {
    for team in &file.teams {
        conn.execute(
            "INSERT INTO specialist_team (id, body) VALUES (?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body WHERE body != excluded.body",
            rusqlite::params![team.id.as_str(), encode("team", team.id.as_str(), team)?],
        )?;
    }
    for o in &file.offerings {
        conn.execute(
            "INSERT INTO specialist_offering (id, team, body) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET team = excluded.team, body = excluded.body \
             WHERE body != excluded.body",
            rusqlite::params![
                o.id.as_str(),
                o.team.as_str(),
                encode("offering", o.id.as_str(), o)?
            ],
        )?;
    }
    let keep = |table: &str, ids: Vec<&str>| -> Result<()> {
        let existing = conn.rows(&format!("SELECT id FROM {table}"), [], |r| {
            r.get::<_, String>(0)
        })?;
        for id in existing.iter().filter(|id| !ids.contains(&id.as_str())) {
            conn.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])?;
        }
        Ok(())
    };
    keep(
        "specialist_offering",
        file.offerings.iter().map(|o| o.id.as_str()).collect(),
    )?;
    keep(
        "specialist_team",
        file.teams.iter().map(|t| t.id.as_str()).collect(),
    )
}

/// Every team, by id.
pub(crate) fn teams(conn: &Conn<'_>) -> Result<Vec<SpecialistTeam>> {
    let rows = conn.rows(
        "SELECT id, body FROM specialist_team ORDER BY id",
        [],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    rows.iter()
        .map(|(id, body)| decode(conn.path(), "team", id, body))
        .collect()
}

/// The offerings (of one team), by id.
pub(crate) fn offerings(conn: &Conn<'_>, team: Option<&TeamId>) -> Result<Vec<Offering>> {
    let rows = conn.rows(
        "SELECT id, body FROM specialist_offering WHERE ?1 IS NULL OR team = ?1 ORDER BY id",
        [team.map(TeamId::as_str)],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    rows.iter()
        .map(|(id, body)| decode(conn.path(), "offering", id, body))
        .collect()
}

/// The offering with `id`, if any.
pub(crate) fn offering(conn: &Conn<'_>, id: &OfferingId) -> Result<Option<Offering>> {
    let body = conn.row(
        "SELECT body FROM specialist_offering WHERE id = ?1",
        [id.as_str()],
        |r| r.get::<_, String>(0),
    )?;
    body.map(|b| decode(conn.path(), "offering", id.as_str(), &b))
        .transpose()
}

/// The table and how its records are named in messages.
const REQUESTS: Table = Table {
    name: "specialist_request",
    what: "specialist request",
    context: "request",
};

fn decode_request(conn: &Conn<'_>, id: &str, body: &str) -> Result<SpecialistRequest> {
    decode(conn.path(), "specialist request", id, body)
}

/// The request submitted with `key`.
pub(crate) fn by_key(conn: &Conn<'_>, key: &IdempotencyKey) -> Result<Option<SpecialistRequest>> {
    find_by_key(conn, REQUESTS, key)
}

/// The request with `id`, or [`ErrorKind::NotFound`].
pub(crate) fn get(conn: &Conn<'_>, id: &RequestId) -> Result<SpecialistRequest> {
    get_by_id(conn, REQUESTS, id.as_str())
}

/// Checks a new request against its offering and stores it in the owning team's queue, or
/// returns the one submitted with `key`.
pub(crate) fn submit(
    conn: &Conn<'_>,
    key: &IdempotencyKey,
    new: &NewRequest,
    now: OffsetDateTime,
) -> Result<SpecialistRequest> {
    if let Some(existing) = by_key(conn, key)? {
        return Ok(existing);
    }
    let Some(offering) = offering(conn, &new.offering)? else {
        return Err(Error::invalid_input(format!(
            "offering {} is not in the catalog; list the offerings with `itsm specialist catalog`",
            new.offering
        ))
        .with_context("field", "offering"));
    };
    offering.validate_inputs(&new.inputs)?;
    let (seq, id) = conn.next_id("specialist_request", "REQ")?;
    let request = SpecialistRequest {
        id: RequestId::new(&id)?,
        number: Some(id.clone()),
        key: Some(key.clone()),
        offering: offering.id.clone(),
        team: offering.team.clone(),
        requester: new.requester.clone(),
        submitted_by: new.submitted_by.clone(),
        inputs: new.inputs.clone(),
        urgency: new.urgency,
        state: RequestState::Submitted,
        transitions: vec![Transition {
            to: RequestState::Submitted,
            at: now,
            by: new.submitted_by.clone(),
            note: None,
        }],
        comments: vec![],
        external: Some(ExternalRef::new(SYSTEM, &id)),
        submitted_at: Some(now),
    };
    let at = timestamp(now)?;
    let inserted = conn.insert(
        "INSERT INTO specialist_request (seq, id, key, offering, team, requester, state, \
         submitted_at, updated_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
        rusqlite::params![
            seq,
            id,
            key.as_str(),
            request.offering.as_str(),
            request.team.as_str(),
            request.requester.as_str(),
            state_name(request.state),
            at,
            encode("specialist request", &id, &request)?,
        ],
    )?;
    if inserted {
        return Ok(request);
    }
    by_key(conn, key)?.ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!(
                "specialist request {id} could not be inserted into {} and no request has key \
                 {key}",
                conn.path().display()
            ),
        )
    })
}

/// Writes back a request that moved or got a comment.
pub(crate) fn save(conn: &Conn<'_>, r: &SpecialistRequest, now: OffsetDateTime) -> Result<()> {
    conn.execute(
        "UPDATE specialist_request SET state = ?2, updated_at = ?3, body = ?4 WHERE id = ?1",
        rusqlite::params![
            r.id.as_str(),
            state_name(r.state),
            timestamp(now)?,
            encode("specialist request", r.id.as_str(), r)?,
        ],
    )?;
    Ok(())
}

/// Moves a request; `Ok(false)` when it already is in `to` (nothing to write).
pub(crate) fn apply_transition(
    r: &mut SpecialistRequest,
    to: RequestState,
    by: Person,
    note: Option<String>,
    now: OffsetDateTime,
) -> Result<bool> {
    if r.state == to {
        return Ok(false);
    }
    if !r.state.can_move_to(to) {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "specialist request {} is {} and cannot move to {}",
                r.id,
                state_name(r.state),
                state_name(to)
            ),
        )
        .with_context("request", &r.id));
    }
    r.state = to;
    r.transitions.push(Transition {
        to,
        at: now,
        by: Some(by),
        note,
    });
    Ok(true)
}

/// Adds a comment once per `key`; `Ok(false)` when the key was used before.
pub(crate) fn add_comment(
    conn: &Conn<'_>,
    r: &mut SpecialistRequest,
    key: &IdempotencyKey,
    comment: &Comment,
    now: OffsetDateTime,
) -> Result<bool> {
    let fresh = conn.insert(
        "INSERT INTO specialist_comment (request_id, key, created_at) VALUES (?1, ?2, ?3)",
        rusqlite::params![r.id.as_str(), key.as_str(), timestamp(now)?],
    )?;
    if fresh {
        let mut comment = comment.clone();
        comment.at = Some(comment.at.unwrap_or(now));
        r.comments.push(comment);
    }
    Ok(fresh)
}

/// One page of requests matching `filter`, oldest first (queue order).
pub(crate) fn list(
    conn: &Conn<'_>,
    filter: &RequestFilter,
    page: Page,
) -> Result<Listing<SpecialistRequest>> {
    let mut sql = String::from("SELECT id, body FROM specialist_request WHERE 1 = 1");
    let mut params: Vec<Value> = Vec::new();
    let mut eq = |column: &str, value: Option<&str>, sql: &mut String| {
        if let Some(v) = value {
            params.push(Value::Text(v.to_owned()));
            sql.push_str(&format!(" AND {column} = ?{}", params.len()));
        }
    };
    eq("team", filter.team.as_ref().map(TeamId::as_str), &mut sql);
    eq(
        "requester",
        filter.requester.as_ref().map(TeamId::as_str),
        &mut sql,
    );
    eq(
        "offering",
        filter.offering.as_ref().map(OfferingId::as_str),
        &mut sql,
    );
    if !filter.states.is_empty() {
        let mut marks = Vec::new();
        for s in &filter.states {
            params.push(Value::Text(state_name(*s).to_owned()));
            marks.push(format!("?{}", params.len()));
        }
        sql.push_str(&format!(" AND state IN ({})", marks.join(", ")));
    }
    params.push(Value::Integer(page.sql_limit()));
    params.push(Value::Integer(page.sql_offset()));
    sql.push_str(&format!(
        " ORDER BY seq LIMIT ?{} OFFSET ?{}",
        params.len() - 1,
        params.len()
    ));
    let rows = conn.rows(&sql, rusqlite::params_from_iter(params), |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let items = rows
        .iter()
        .map(|(id, body)| decode_request(conn, id, body))
        .collect::<Result<Vec<_>>>()?;
    Ok(page.finish(items))
}
