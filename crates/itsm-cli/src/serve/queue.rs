//! The persisted alert queue: one SQLite row per accepted alert (its JSON), with its state
//! (`pending`, `done`, `failed`), attempts, next attempt time and last error.
//!
//! Rows are written only by the group-commit writer thread; this module holds
//! the schema and the reads: the pending rows the worker resumes after a restart, and the
//! listing behind dead letters.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use itsm_audit::sqlite::connection::{open_wal, sql_error};
use itsm_core::{Error, ErrorKind, Result};
use itsm_incident::Alert;
use rusqlite::Connection;
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
    updated_at TEXT
);
CREATE INDEX IF NOT EXISTS alert_queue_pending ON alert_queue (id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS alert_queue_failed ON alert_queue (id) WHERE state = 'failed';
";

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

    fn parse(text: &str) -> Result<RowState> {
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
    /// The alert's dedup key.
    pub dedup_key: String,
    /// The alert as accepted.
    pub alert: Alert,
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
    Ok(conn)
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
               last_error FROM alert_queue WHERE id > ?1 AND (?2 IS NULL OR state = ?2) \
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
    let id: i64 = row.get(0)?;
    let dedup_key: String = row.get(1)?;
    let body: String = row.get(2)?;
    let state: String = row.get(3)?;
    let attempts: i64 = row.get(4)?;
    let received_at: String = row.get(5)?;
    let next_attempt_at: Option<String> = row.get(6)?;
    let last_error: Option<String> = row.get(7)?;
    Ok((|| {
        let alert = serde_json::from_str(&body).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("alert queue row {id} does not hold an alert: {e}"),
            )
        })?;
        Ok(QueueRow {
            id,
            dedup_key,
            alert,
            state: RowState::parse(&state)?,
            attempts: u32::try_from(attempts).unwrap_or(0),
            received_at: parse_time(id, &received_at)?,
            next_attempt_at: next_attempt_at.map(|t| parse_time(id, &t)).transpose()?,
            last_error,
        })
    })())
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
