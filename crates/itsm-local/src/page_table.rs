//! Pages, their notes, responder requests and change events in the `page`, `page_note`,
//! `page_responder_request` and `change_event` tables (blocking functions run inside a
//! [`Conn`] transaction).

use itsm_core::{Error, ErrorKind, ExternalRef, IdempotencyKey, Person, Result, TeamId};
use itsm_incident::{ChangeEvent, NewPage, Note, Page, PageId, PageStatus, ResponderRequest};
use time::OffsetDateTime;

use crate::SYSTEM;
use crate::records::{
    NoteTable, Table, add_keyed_note, decode, encode, find_by_key, get_by_id, keyed_notes,
    timestamp, variant_text,
};
use crate::store::Conn;

/// The table and how its records are named in messages.
const PAGES: Table = Table {
    name: "page",
    what: "page",
    context: "page",
};

fn decode_page(conn: &Conn<'_>, id: &str, body: &str) -> Result<Page> {
    decode(conn.path(), "page", id, body)
}

/// The page triggered with `key`.
pub(crate) fn by_key(conn: &Conn<'_>, key: &IdempotencyKey) -> Result<Option<Page>> {
    find_by_key(conn, PAGES, key)
}

/// The page triggered with `key`, or [`ErrorKind::NotFound`].
pub(crate) fn require_by_key(conn: &Conn<'_>, key: &IdempotencyKey) -> Result<Page> {
    by_key(conn, key)?.ok_or_else(|| {
        Error::not_found(format!(
            "no page was triggered with key {key} in {}; trigger it first",
            conn.path().display()
        ))
        .with_context("key", key)
    })
}

/// The page with `id`, or [`ErrorKind::NotFound`].
pub(crate) fn get(conn: &Conn<'_>, id: &PageId) -> Result<Page> {
    get_by_id(conn, PAGES, id.as_str())
}

/// The page's id (every local page has one).
pub(crate) fn id_of(page: &Page) -> Result<&PageId> {
    page.id.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::Internal,
            format!("page {} was stored without an id", page.key),
        )
    })
}

/// Inserts a new page routed to `team` and assigned to `assignees`.
pub(crate) fn insert(
    conn: &Conn<'_>,
    key: &IdempotencyKey,
    new: &NewPage,
    team: Option<&TeamId>,
    assignees: Vec<Person>,
    now: OffsetDateTime,
) -> Result<Page> {
    let (seq, id) = conn.next_id("page", "PG")?;
    let page = Page {
        id: Some(PageId::new(&id)?),
        key: key.clone(),
        status: PageStatus::Triggered,
        summary: new.summary.trim().to_owned(),
        priority: None,
        assignees,
        external: Some(ExternalRef::new(SYSTEM, &id)),
        created_at: Some(now),
    };
    let at = timestamp(now)?;
    conn.execute(
        "INSERT INTO page (seq, id, key, status, team_id, created_at, updated_at, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
        rusqlite::params![
            seq,
            id,
            key.as_str(),
            variant_text(&page.status),
            team.map(TeamId::as_str),
            at,
            encode("page", &id, &page)?,
        ],
    )?;
    Ok(page)
}

/// Writes back a changed page; `team` replaces the routed team when given.
pub(crate) fn save(
    conn: &Conn<'_>,
    page: &Page,
    team: Option<&TeamId>,
    now: OffsetDateTime,
) -> Result<()> {
    let id = id_of(page)?.as_str();
    let changed = conn.execute(
        "UPDATE page SET status = ?2, team_id = COALESCE(?3, team_id), updated_at = ?4, \
         body = ?5 WHERE id = ?1",
        rusqlite::params![
            id,
            variant_text(&page.status),
            team.map(TeamId::as_str),
            timestamp(now)?,
            encode("page", id, page)?,
        ],
    )?;
    if changed == 1 {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Internal,
            format!(
                "page {id} vanished from {} while being updated",
                conn.path().display()
            ),
        ))
    }
}

/// Where the notes are kept.
const PAGE_NOTES: NoteTable = NoteTable {
    name: "page_note",
    parent: "page_id",
};

/// Adds a note unless one with `key` is already on the page.
pub(crate) fn add_note(
    conn: &Conn<'_>,
    page: &PageId,
    key: &IdempotencyKey,
    note: &Note,
    now: OffsetDateTime,
) -> Result<()> {
    add_keyed_note(conn, PAGE_NOTES, page.as_str(), key, note, now)
}

/// The notes of a page, oldest first.
pub(crate) fn notes(conn: &Conn<'_>, page: &PageId) -> Result<Vec<Note>> {
    keyed_notes(conn, PAGE_NOTES, page.as_str())
}

/// Records a responder request; `Some(seq)` when it is new, `None` when `key` was already
/// used on the page.
pub(crate) fn add_responder_request(
    conn: &Conn<'_>,
    page: &PageId,
    key: &IdempotencyKey,
    request: &ResponderRequest,
    now: OffsetDateTime,
) -> Result<Option<i64>> {
    let inserted = conn.insert(
        "INSERT INTO page_responder_request (page_id, key, created_at, body) \
         VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![
            page.as_str(),
            key.as_str(),
            timestamp(now)?,
            encode("responder request", key.as_str(), request)?
        ],
    )?;
    if !inserted {
        return Ok(None);
    }
    conn.row(
        "SELECT seq FROM page_responder_request WHERE page_id = ?1 AND key = ?2",
        [page.as_str(), key.as_str()],
        |r| r.get::<_, i64>(0),
    )
}

/// The people added to a page as responders, in the order they were added.
pub(crate) fn responders(conn: &Conn<'_>, page: &PageId) -> Result<Vec<Person>> {
    let body = conn.row(
        "SELECT responders FROM page WHERE id = ?1",
        [page.as_str()],
        |r| r.get::<_, String>(0),
    )?;
    match body {
        Some(body) => decode(conn.path(), "page responders", page.as_str(), &body),
        None => Ok(Vec::new()),
    }
}

/// Adds people to a page's responders (each once).
pub(crate) fn add_responders(conn: &Conn<'_>, page: &PageId, people: &[Person]) -> Result<()> {
    let mut current = responders(conn, page)?;
    for person in people {
        crate::incident_table::push_unique(&mut current, person.clone());
    }
    conn.execute(
        "UPDATE page SET responders = ?2 WHERE id = ?1",
        rusqlite::params![
            page.as_str(),
            encode("page responders", page.as_str(), &current)?
        ],
    )?;
    Ok(())
}

/// Triggered pages not escalated yet, oldest first.
pub(crate) fn unescalated_triggered(conn: &Conn<'_>) -> Result<Vec<Page>> {
    let rows = conn.rows(
        "SELECT id, body FROM page WHERE status = ?1 AND escalated_at IS NULL ORDER BY seq",
        [variant_text(&PageStatus::Triggered)],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    rows.iter()
        .map(|(id, body)| decode_page(conn, id, body))
        .collect()
}

/// Marks a page escalated.
pub(crate) fn mark_escalated(conn: &Conn<'_>, page: &PageId, now: OffsetDateTime) -> Result<()> {
    conn.execute(
        "UPDATE page SET escalated_at = ?2 WHERE id = ?1",
        rusqlite::params![page.as_str(), timestamp(now)?],
    )?;
    Ok(())
}

/// Records a change event unless `key` was already recorded.
pub(crate) fn record_change_event(
    conn: &Conn<'_>,
    key: &IdempotencyKey,
    event: &ChangeEvent,
    now: OffsetDateTime,
) -> Result<()> {
    conn.execute(
        "INSERT INTO change_event (key, service, created_at, body) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (key) DO NOTHING",
        rusqlite::params![
            key.as_str(),
            event.service.as_str(),
            timestamp(now)?,
            encode("change event", key.as_str(), event)?
        ],
    )?;
    Ok(())
}

/// Every change event, oldest first.
pub(crate) fn change_events(conn: &Conn<'_>) -> Result<Vec<ChangeEvent>> {
    let rows = conn.rows("SELECT key, body FROM change_event ORDER BY seq", [], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    rows.iter()
        .map(|(key, body)| decode(conn.path(), "change event", key, body))
        .collect()
}

/// How many notifications about `page` have keys starting with `prefix` (to number the
/// next one).
pub(crate) fn count_notifications(conn: &Conn<'_>, prefix: &str) -> Result<i64> {
    let pattern = format!(
        "{}%",
        prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    Ok(conn
        .row(
            "SELECT COUNT(*) FROM notification WHERE key LIKE ?1 ESCAPE '\\'",
            [pattern],
            |r| r.get::<_, i64>(0),
        )?
        .unwrap_or(0))
}
