//! The persisted inbound queue: one SQLite row per accepted alert or webhook sync event
//! (its JSON and its `kind`), with its state (`pending`, `done`, `failed`), attempts, next
//! attempt time and last error. A sync event's delivery id is unique in the queue, so a
//! webhook delivered twice is stored once.
//!
//! Rows are written only by the group-commit writer thread; this module holds
//! the schema and the reads: the pending rows the worker resumes after a restart, and the
//! listing behind dead letters. The items, rows and states are the same for the queue in
//! PostgreSQL ([`PostgresQueue`](super::PostgresQueue)), which has its own reads.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use itsm_audit::sqlite::connection::{open_wal, sql_error};
use itsm_core::{Error, ErrorKind, Result};
use itsm_incident::{Alert, SyncEvent};
use rusqlite::{Connection, OptionalExtension};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How long an operation waits for another connection's lock.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_queue (
    id INTEGER PRIMARY KEY,
    dedup_key TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL,
    next_attempt_at TEXT,
    last_error TEXT,
    updated_at TEXT,
    kind TEXT NOT NULL DEFAULT 'alert' CHECK (kind IN ('alert', 'sync')),
    delivery_id TEXT
);
CREATE INDEX IF NOT EXISTS alert_queue_pending ON alert_queue (id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS alert_queue_failed ON alert_queue (id) WHERE state = 'failed';
";

/// Columns added after the first release of the queue, for files created before them.
const ADDED_COLUMNS: &[(&str, &str)] = &[
    (
        "kind",
        "ALTER TABLE alert_queue ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert' \
         CHECK (kind IN ('alert', 'sync'))",
    ),
    (
        "delivery_id",
        "ALTER TABLE alert_queue ADD COLUMN delivery_id TEXT",
    ),
];

const DELIVERY_INDEX: &str = "CREATE UNIQUE INDEX IF NOT EXISTS alert_queue_delivery \
     ON alert_queue (delivery_id) WHERE delivery_id IS NOT NULL";

/// What a queued row holds.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueItem {
    /// An alert from `/v1/alerts/alertmanager` or `/v1/alerts`.
    Alert(Alert),
    /// A change from a vendor's webhook (`/v1/webhooks/<name>`), for the sync engine.
    Sync(SyncEvent),
}

impl QueueItem {
    /// The lane it is processed in: items of one lane go one at a time, in arrival order
    /// (an alert's dedup key; for sync events `sync:` and the shared key, or
    /// `sync-page:` and the page id when the sender named only the page).
    pub fn lane(&self) -> String {
        match self {
            QueueItem::Alert(alert) => alert.dedup_key.as_str().to_owned(),
            QueueItem::Sync(event) => match (&event.key, &event.page) {
                (Some(key), _) => format!("sync:{}", key.as_str()),
                (None, Some(page)) => format!("sync-page:{page}"),
                (None, None) => format!("sync-delivery:{}", event.delivery_id),
            },
        }
    }

    /// `alert` or `sync`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            QueueItem::Alert(_) => "alert",
            QueueItem::Sync(_) => "sync",
        }
    }

    /// The alert, for an alert row.
    pub fn alert(&self) -> Option<&Alert> {
        match self {
            QueueItem::Alert(alert) => Some(alert),
            QueueItem::Sync(_) => None,
        }
    }

    /// The sync event, for a webhook row.
    pub fn sync_event(&self) -> Option<&SyncEvent> {
        match self {
            QueueItem::Sync(event) => Some(event),
            QueueItem::Alert(_) => None,
        }
    }

    /// The unique delivery id of a sync event.
    pub(crate) fn delivery_id(&self) -> Option<&str> {
        self.sync_event().map(|e| e.delivery_id.as_str())
    }

    /// The item stored as `body` in row `id` of `kind` (`alert` or `sync`).
    pub(crate) fn from_json(id: i64, kind: &str, body: &str) -> Result<QueueItem> {
        let bad = |e: serde_json::Error| {
            Error::new(
                ErrorKind::Internal,
                format!("alert queue row {id} does not hold a {kind}: {e}"),
            )
            .with_retryable(false)
        };
        match kind {
            "sync" => serde_json::from_str(body).map(QueueItem::Sync).map_err(bad),
            _ => serde_json::from_str(body)
                .map(QueueItem::Alert)
                .map_err(bad),
        }
    }

    /// Its JSON, as stored.
    pub(crate) fn to_json(&self) -> Result<String> {
        match self {
            QueueItem::Alert(alert) => serde_json::to_string(alert),
            QueueItem::Sync(event) => serde_json::to_string(event),
        }
        .map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("queued {} cannot be written as JSON: {e}", self.kind()),
            )
        })
    }
}

/// The state of a queued alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowState {
    /// Waiting to be processed (or for its next attempt).
    Pending,
    /// Processed.
    Done,
    /// Failed for good (a dead letter): kept with its last error.
    Failed,
}

impl RowState {
    /// `pending`, `done` or `failed`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Pending => "pending",
            RowState::Done => "done",
            RowState::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<RowState> {
        match text {
            "pending" => Ok(RowState::Pending),
            "done" => Ok(RowState::Done),
            "failed" => Ok(RowState::Failed),
            other => Err(Error::new(
                ErrorKind::Internal,
                format!("alert queue row has unknown state {other:?}"),
            )),
        }
    }
}

impl fmt::Display for RowState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    /// Arrival order (increasing).
    pub id: i64,
    /// The alert's dedup key, or `sync:` and the key of a sync event.
    pub dedup_key: String,
    /// The alert or sync event as accepted.
    pub item: QueueItem,
    /// Its state.
    pub state: RowState,
    /// Failed processing attempts so far.
    pub attempts: u32,
    /// When it was accepted.
    pub received_at: OffsetDateTime,
    /// When the next attempt is due, after a retryable failure.
    pub next_attempt_at: Option<OffsetDateTime>,
    /// The last processing error.
    pub last_error: Option<String>,
}

/// How many rows are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Waiting.
    pub pending: u64,
    /// Processed.
    pub done: u64,
    /// Dead letters.
    pub failed: u64,
}

/// Opens (creating it) the queue database for writing, with the schema in place.
pub(crate) fn open_writer(path: &Path, synchronous: &str) -> Result<Connection> {
    let conn = open_wal(path, BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(|e| sql_error(path, e))?;
    conn.execute_batch(SCHEMA).map_err(|e| sql_error(path, e))?;
    add_missing_columns(&conn, path)?;
    Ok(conn)
}

/// Brings a queue file from before the `kind` and `delivery_id` columns up to date.
fn add_missing_columns(conn: &Connection, path: &Path) -> Result<()> {
    for (column, alter) in ADDED_COLUMNS {
        let present: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM pragma_table_info('alert_queue') WHERE name = ?1",
                [column],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| sql_error(path, e))?;
        if present.is_none() {
            conn.execute_batch(alter).map_err(|e| sql_error(path, e))?;
        }
    }
    conn.execute_batch(DELIVERY_INDEX)
        .map_err(|e| sql_error(path, e))
}

/// Opens the queue database for reading (it must exist).
fn open_reader(path: &Path) -> Result<Connection> {
    if !path.is_file() {
        return Err(Error::not_found(format!(
            "alert queue {} does not exist; start `itsm serve` once or check [serve] queue_db",
            path.display()
        )));
    }
    let conn = open_wal(path, BUSY_TIMEOUT)?;
    conn.execute_batch(SCHEMA).map_err(|e| sql_error(path, e))?;
    add_missing_columns(&conn, path)?;
    Ok(conn)
}

/// Rows in arrival order, only those in `state` when given, at most `limit`, with an id
/// above `after`.
pub fn rows(path: &Path, state: Option<RowState>, after: i64, limit: u32) -> Result<Vec<QueueRow>> {
    let conn = open_reader(path)?;
    read_rows(&conn, path, state, after, limit)
}

/// The dead letters (rows that failed for good), oldest first, at most `limit`.
pub fn dead_letters(path: &Path, limit: u32) -> Result<Vec<QueueRow>> {
    rows(path, Some(RowState::Failed), 0, limit)
}

/// How many rows are in each state.
pub fn stats(path: &Path) -> Result<QueueStats> {
    let conn = open_reader(path)?;
    read_stats(&conn, path)
}

pub(crate) fn read_stats(conn: &Connection, path: &Path) -> Result<QueueStats> {
    let mut stats = QueueStats::default();
    let mut stmt = conn
        .prepare("SELECT state, COUNT(*) FROM alert_queue GROUP BY state")
        .map_err(|e| sql_error(path, e))?;
    let mut found = stmt.query([]).map_err(|e| sql_error(path, e))?;
    while let Some(row) = found.next().map_err(|e| sql_error(path, e))? {
        let state: String = row.get(0).map_err(|e| sql_error(path, e))?;
        let count: i64 = row.get(1).map_err(|e| sql_error(path, e))?;
        let count = u64::try_from(count).unwrap_or(0);
        match RowState::parse(&state)? {
            RowState::Pending => stats.pending = count,
            RowState::Done => stats.done = count,
            RowState::Failed => stats.failed = count,
        }
    }
    Ok(stats)
}

pub(crate) fn read_rows(
    conn: &Connection,
    path: &Path,
    state: Option<RowState>,
    after: i64,
    limit: u32,
) -> Result<Vec<QueueRow>> {
    let sql = "SELECT id, dedup_key, body, state, attempts, received_at, next_attempt_at, \
               last_error, kind FROM alert_queue WHERE id > ?1 AND (?2 IS NULL OR state = ?2) \
               ORDER BY id LIMIT ?3";
    let mut stmt = conn.prepare_cached(sql).map_err(|e| sql_error(path, e))?;
    let mut found = stmt
        .query(rusqlite::params![after, state.map(RowState::as_str), limit])
        .map_err(|e| sql_error(path, e))?;
    let mut out = Vec::new();
    while let Some(row) = found.next().map_err(|e| sql_error(path, e))? {
        out.push(decode(row).map_err(|e| sql_error(path, e))??);
    }
    Ok(out)
}

/// One row; the outer error is SQLite's, the inner one a row that does not decode.
fn decode(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<QueueRow>> {
    let raw = RawRow {
        id: row.get(0)?,
        dedup_key: row.get(1)?,
        body: row.get(2)?,
        state: row.get(3)?,
        attempts: row.get(4)?,
        received_at: row.get(5)?,
        next_attempt_at: row.get(6)?,
        last_error: row.get(7)?,
        kind: row.get(8)?,
    };
    Ok(raw.decode())
}

/// A row's columns as stored (times as RFC 3339 text), by either queue store.
#[derive(Debug)]
pub(crate) struct RawRow {
    pub(crate) id: i64,
    pub(crate) dedup_key: String,
    pub(crate) body: String,
    pub(crate) state: String,
    pub(crate) attempts: i64,
    pub(crate) received_at: String,
    pub(crate) next_attempt_at: Option<String>,
    pub(crate) last_error: Option<String>,
    pub(crate) kind: String,
}

impl RawRow {
    /// The row, or an error naming it when it does not decode.
    pub(crate) fn decode(self) -> Result<QueueRow> {
        let id = self.id;
        Ok(QueueRow {
            id,
            item: QueueItem::from_json(id, &self.kind, &self.body)?,
            dedup_key: self.dedup_key,
            state: RowState::parse(&self.state)?,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            received_at: parse_time(id, &self.received_at)?,
            next_attempt_at: self
                .next_attempt_at
                .map(|t| parse_time(id, &t))
                .transpose()?,
            last_error: self.last_error,
        })
    }
}

fn parse_time(id: i64, text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("alert queue row {id} has a bad time {text:?}: {e}"),
        )
    })
}

/// Formats a time as stored.
pub(crate) fn format_time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_file_from_before_webhooks_is_brought_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.db");
        let alert = r#"{"source":"generic","dedup_key":"generic/x","status":"firing",
            "severity":"critical","service":"checkout","name":"X","summary":"x",
            "starts_at":"2026-11-22T02:09:05Z"}"#;
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE alert_queue (id INTEGER PRIMARY KEY, dedup_key TEXT NOT NULL, \
                 body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER \
                 NOT NULL DEFAULT 0, received_at TEXT NOT NULL, next_attempt_at TEXT, \
                 last_error TEXT, updated_at TEXT);",
            )
            .unwrap();
            conn.execute(
                "INSERT INTO alert_queue (dedup_key, body, received_at) VALUES (?1, ?2, ?3)",
                rusqlite::params!["generic/x", alert, "2026-11-22T02:09:06Z"],
            )
            .unwrap();
        }
        let conn = open_writer(&path, "FULL").unwrap();
        let old = read_rows(&conn, &path, None, 0, 10).unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].item.alert().map(|a| a.name.as_str()), Some("X"));
        // The delivery index is in place: a second row with one delivery id is refused.
        let insert = "INSERT INTO alert_queue (dedup_key, body, received_at, kind, delivery_id) \
                      VALUES ('sync:k', '{}', 'now', 'sync', 'D1')";
        conn.execute_batch(insert).unwrap();
        assert!(conn.execute_batch(insert).is_err());
        // Opening again changes nothing.
        drop(conn);
        let conn = open_writer(&path, "FULL").unwrap();
        assert_eq!(read_stats(&conn, &path).unwrap().pending, 2);
    }
}
