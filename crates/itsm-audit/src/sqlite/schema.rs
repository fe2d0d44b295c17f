//! Opening a SQLite ledger: connection settings, the ledger's own schema version, and
//! mapping SQLite errors.

use std::path::Path;

use itsm_core::{Error, ErrorKind, Result};

pub(super) use super::connection::sql_error;
use super::connection::{config_error, is_busy, locked_error, open_error, open_wal};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::SqliteOptions;

/// The ledger's migrations; `audit_schema.version` is how many were applied. The ledger
/// keeps its own version table (not `PRAGMA user_version`) so that it can share a database
/// file with other stores.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE audit_deployment (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    environment TEXT NOT NULL,
    production INTEGER NOT NULL,
    finished_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX audit_deployment_service ON audit_deployment (service, seq);
CREATE INDEX audit_deployment_environment ON audit_deployment (environment, seq);
CREATE TABLE audit_incident_link (
    system TEXT NOT NULL,
    id TEXT NOT NULL,
    url TEXT,
    deployment_key TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    resolved_at TEXT,
    PRIMARY KEY (system, id)
);
CREATE INDEX audit_incident_link_deployment ON audit_incident_link (deployment_key);
",
    // Version 2: new records keep their body in the compact binary form (a BLOB in `body`;
    // records written before stay JSON text and are read as such). No table changes: the
    // version tells an older itsm, which cannot read compact bodies, to stop with a clear
    // error instead of reporting the records as corrupt.
    "SELECT 1;",
];

/// Opens a connection with the ledger's settings (WAL, busy timeout, synchronous level)
/// and brings the schema up to date.
pub(super) fn open_connection(path: &Path, options: &SqliteOptions) -> Result<Connection> {
    let mut conn = open_wal(path, options.busy_timeout)?;
    conn.pragma_update(None, "synchronous", options.synchronous.pragma())
        .map_err(|e| open_error(path, e))?;
    // A large batch touches tens of megabytes of pages; a bigger cache keeps SQLite from
    // spilling them to the log before the commit.
    conn.pragma_update(None, "cache_size", -65_536)
        .map_err(|e| open_error(path, e))?;
    conn.set_prepared_statement_cache_capacity(32);
    migrate(&mut conn, path)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let latest = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| open_error(path, e))?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS audit_schema (version INTEGER NOT NULL)")
        .map_err(|e| open_error(path, e))?;
    let current: i64 = tx
        .query_row("SELECT MAX(version) FROM audit_schema", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()
        .map_err(|e| open_error(path, e))?
        .flatten()
        .unwrap_or(0);
    if current > latest {
        return Err(config_error(
            path,
            format!(
                "its audit ledger schema version is {current}, newer than the {latest} this \
                 version of itsm knows; upgrade itsm"
            ),
        ));
    }
    if current == latest {
        return Ok(());
    }
    let start = usize::try_from(current).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql).map_err(|e| {
            if is_busy(&e) {
                locked_error(path, e)
            } else {
                Error::new(
                    ErrorKind::Internal,
                    format!(
                        "audit ledger migration {} of database {} failed: {e}",
                        index + 1,
                        path.display()
                    ),
                )
                .with_context("path", path.display())
                .with_source(e)
            }
        })?;
    }
    tx.execute("DELETE FROM audit_schema", [])
        .map_err(|e| open_error(path, e))?;
    tx.execute("INSERT INTO audit_schema (version) VALUES (?1)", [latest])
        .map_err(|e| open_error(path, e))?;
    tx.commit().map_err(|e| open_error(path, e))
}
