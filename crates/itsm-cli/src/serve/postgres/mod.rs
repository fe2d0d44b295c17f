//! The queue in PostgreSQL (`[serve] queue = "postgres"`), shared by several replicas of
//! `itsm serve` behind a load balancer.
//!
//! The table `alert_queue` holds what the SQLite queue holds (one row per accepted alert or
//! webhook sync event, its state, attempts, next attempt time and last error; a sync
//! event's delivery id is unique, so a webhook delivered twice, to any replica, is stored
//! once), plus a lease: `leased_by` (the replica processing the row) and `lease_until`.
//!
//! - Accepting: each replica's [writer](writer) inserts everything that arrived while its
//!   previous insert committed in one statement (group commit), and answers after the
//!   commit.
//! - Processing: each replica's [worker](worker) claims rows ([`claim`]): a pending, due row
//!   whose lease is free or expired and which is the oldest pending row of its lane (its
//!   dedup key). The claim sets the lease; rows locked by another claim at that moment are
//!   skipped (`FOR UPDATE SKIP LOCKED`), so two replicas never claim the same row. As only
//!   a lane's oldest pending row can be claimed, and it stays pending while it is processed
//!   or waits for a retry, a lane is processed by one replica at a time, in order.
//! - A replica that dies leaves its leases; they expire after `queue_lease_ms` and another
//!   replica claims the rows again (processing is at least once, and idempotent on the
//!   dedup key). A live replica renews its leases while it processes.

pub(crate) mod claim;
mod lead;
mod worker;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use itsm_audit::postgres::connection::{self, Migrations};
use itsm_core::{Error, ErrorKind, Result};
use tokio::sync::Mutex;
use tokio_postgres::{Client, Config};

use super::queue::{QueueRow, QueueStats, RawRow, RowState};

pub use lead::Leadership;
pub(crate) use worker::PgWorker;
pub(crate) use writer::{Op as PgOp, PgWriter};

/// What the queue's tables are called in messages.
const STORE: &str = "the PostgreSQL alert queue";

/// The advisory lock held while the tables are created (`itsmserq` in ASCII).
const SCHEMA_LOCK: i64 = 0x6974_736d_7365_7271;

/// The queue's migrations; `alert_queue_schema.version` is how many were applied.
const MIGRATIONS: &[&str] = &["
CREATE TABLE alert_queue (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedup_key TEXT NOT NULL,
    body TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('alert', 'sync')),
    delivery_id TEXT UNIQUE,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    received_at TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ,
    last_error TEXT,
    updated_at TIMESTAMPTZ,
    leased_by TEXT,
    lease_until TIMESTAMPTZ
);
CREATE INDEX alert_queue_pending ON alert_queue (id) WHERE state = 'pending';
CREATE INDEX alert_queue_pending_lane ON alert_queue (dedup_key, id) WHERE state = 'pending';
CREATE INDEX alert_queue_failed ON alert_queue (id) WHERE state = 'failed';
"];

const TABLES: Migrations<'static> = Migrations {
    store: STORE,
    version_table: "alert_queue_schema",
    lock: SCHEMA_LOCK,
    steps: MIGRATIONS,
};

/// `column` (a `TIMESTAMPTZ`) as RFC 3339 text in UTC, as the SQLite queue stores times.
macro_rules! rfc3339 {
    ($column:literal) => {
        concat!(
            "to_char(",
            $column,
            " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        )
    };
}

/// The columns [`RawRow`] is read from, in its order.
const ROW_COLUMNS: &str = concat!(
    "id, dedup_key, body, state, attempts::BIGINT, ",
    rfc3339!("received_at"),
    ", ",
    rfc3339!("next_attempt_at"),
    ", last_error, kind"
);

/// The queue in PostgreSQL: connects, creates the tables, and reads them (the counts
/// behind `/metrics`, the rows, the dead letters). Cheap to clone; `Send + Sync`; must be
/// used inside a tokio runtime. `Debug` and every message show the URL with its password
/// redacted.
///
/// ```no_run
/// # async fn demo() -> itsm_core::Result<()> {
/// use itsm_cli::serve::PostgresQueue;
///
/// let queue = PostgresQueue::connect("postgres://itsm@127.0.0.1:5432/itsm", Some("itsm_serve")).await?;
/// for row in queue.dead_letters(20).await? {
///     println!("{} {}: {:?}", row.id, row.dedup_key, row.last_error);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresQueue {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// The URL with any password redacted.
    shown: String,
    schema: Option<String>,
    reader: Mutex<Option<Client>>,
}

impl fmt::Debug for PostgresQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresQueue")
            .field("url", &self.inner.shown)
            .field("schema", &self.inner.schema)
            .finish()
    }
}

impl PostgresQueue {
    /// Connects to the server at `url` (`postgres://user@host:5432/database`) and creates
    /// the queue's tables when missing, in `schema` (created too; lower-case letters,
    /// digits and `_`) or, without one, in the connection's search path.
    ///
    /// Errors (messages show the URL with its password redacted): [`ErrorKind::Config`]
    /// for a malformed URL or schema name; [`ErrorKind::Unavailable`] when the server
    /// cannot be reached; [`ErrorKind::Unauthenticated`] when it refuses the credentials.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<PostgresQueue> {
        let shown = connection::redact_url(url);
        if let Some(schema) = schema {
            connection::check_schema(schema)?;
        }
        let config = connection::parse(url)?;
        let mut client = connection::connect(&config, &shown, schema).await?;
        connection::migrate(&mut client, &shown, schema, &TABLES).await?;
        Ok(PostgresQueue {
            inner: Arc::new(Inner {
                config,
                shown,
                schema: schema.map(str::to_owned),
                reader: Mutex::new(Some(client)),
            }),
        })
    }

    /// The URL with any password redacted.
    pub fn url(&self) -> &str {
        &self.inner.shown
    }

    /// The schema holding the tables, when one was given.
    pub fn schema(&self) -> Option<&str> {
        self.inner.schema.as_deref()
    }

    /// How many rows are in each state.
    pub async fn stats(&self) -> Result<QueueStats> {
        let mut guard = self.reader().await?;
        let client = guard.as_mut().ok_or_else(|| self.lost())?;
        read_stats(client, &self.inner.shown).await
    }

    /// Rows in arrival order, only those in `state` when given, at most `limit`, with an id
    /// above `after`.
    pub async fn rows(
        &self,
        state: Option<RowState>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<QueueRow>> {
        let mut guard = self.reader().await?;
        let client = guard.as_mut().ok_or_else(|| self.lost())?;
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM alert_queue WHERE id > $1 AND ($2::TEXT IS NULL OR \
             state = $2) ORDER BY id LIMIT $3"
        );
        let state = state.map(RowState::as_str);
        let found = client
            .query(&sql, &[&after, &state, &i64::from(limit)])
            .await
            .map_err(|e| pg_error(&self.inner.shown, "reading rows", &e))?;
        found
            .iter()
            .map(|row| {
                let bad = |e| pg_error(&self.inner.shown, "reading rows", &e);
                RawRow {
                    id: row.try_get(0).map_err(bad)?,
                    dedup_key: row.try_get(1).map_err(bad)?,
                    body: row.try_get(2).map_err(bad)?,
                    state: row.try_get(3).map_err(bad)?,
                    attempts: row.try_get(4).map_err(bad)?,
                    received_at: row.try_get(5).map_err(bad)?,
                    next_attempt_at: row.try_get(6).map_err(bad)?,
                    last_error: row.try_get(7).map_err(bad)?,
                    kind: row.try_get(8).map_err(bad)?,
                }
                .decode()
            })
            .collect()
    }

    /// The dead letters (rows that failed for good), oldest first, at most `limit`.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<QueueRow>> {
        self.rows(Some(RowState::Failed), 0, limit).await
    }

    /// This replica's claim to lead the periodic housekeeping (one replica at a time; see
    /// [`Leadership::holds`]). Holds a connection of its own.
    pub fn leadership(&self) -> Leadership {
        Leadership::new(self)
    }

    /// A connection of its own (for a writer or a worker), reconnecting when lost.
    pub(crate) fn conn(&self) -> Conn {
        Conn {
            queue: self.clone(),
            client: None,
        }
    }

    async fn reader(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Client>>> {
        let mut guard = self.inner.reader.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = None;
            *guard = Some(self.open().await?);
        }
        Ok(guard)
    }

    async fn open(&self) -> Result<Client> {
        let inner = &self.inner;
        connection::connect(&inner.config, &inner.shown, inner.schema.as_deref()).await
    }

    fn lost(&self) -> Error {
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "the connection to PostgreSQL at {} was lost; retry",
                self.inner.shown
            ),
        )
    }
}

/// One connection, opened at first use and again after it was lost.
#[derive(Debug)]
pub(crate) struct Conn {
    queue: PostgresQueue,
    client: Option<Client>,
}

impl Conn {
    /// Whether the connection is open (it was opened and not lost since).
    pub(crate) fn is_open(&self) -> bool {
        self.client.as_ref().is_some_and(|c| !c.is_closed())
    }

    /// The connection, (re)connecting when needed, and the redacted URL for messages.
    pub(crate) async fn get(&mut self) -> Result<(&mut Client, &str)> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            self.client = Some(self.queue.open().await?);
        }
        let shown = self.queue.inner.shown.as_str();
        match self.client.as_mut() {
            Some(client) => Ok((client, shown)),
            None => Err(self.queue.lost()),
        }
    }
}

/// How many rows are in each state.
pub(crate) async fn read_stats(client: &Client, shown: &str) -> Result<QueueStats> {
    let found = client
        .query(
            "SELECT state, COUNT(*)::BIGINT FROM alert_queue GROUP BY state",
            &[],
        )
        .await
        .map_err(|e| pg_error(shown, "counting rows", &e))?;
    let mut stats = QueueStats::default();
    for row in found {
        let bad = |e| pg_error(shown, "counting rows", &e);
        let state: String = row.try_get(0).map_err(bad)?;
        let count: i64 = row.try_get(1).map_err(bad)?;
        let count = u64::try_from(count).unwrap_or(0);
        match RowState::parse(&state)? {
            RowState::Pending => stats.pending = count,
            RowState::Done => stats.done = count,
            RowState::Failed => stats.failed = count,
        }
    }
    Ok(stats)
}

/// Maps a failure of `doing` in the queue (see [`connection::error`]).
pub(crate) fn pg_error(shown: &str, doing: &str, e: &tokio_postgres::Error) -> Error {
    connection::error(STORE, shown, doing, e)
}
