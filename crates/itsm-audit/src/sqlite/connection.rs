//! What every SQLite store of itsm-rs (the ledger here, the local backend in `itsm-local`)
//! shares: opening a database file in WAL mode, and mapping SQLite failures to [`Error`]s,
//! so that a locked or unusable database reads the same wherever it is met: the path is
//! always named, a lock is a retryable [`ErrorKind::Conflict`], an unusable file an
//! [`ErrorKind::Config`] error.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use itsm_core::{Error, ErrorKind, Result};
use rusqlite::{Connection, ErrorCode, OpenFlags};

/// Opens (creating it and its parent directories if needed) the database at `path` in WAL
/// mode with a busy timeout. The caller sets its own pragmas and runs its migrations.
pub fn open_wal(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    if path.is_dir() {
        return Err(config_error(
            path,
            "it is a directory; give the path of a database file",
        ));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            config_error(
                path,
                format!("its directory {} cannot be created: {e}", parent.display()),
            )
            .with_source(e)
        })?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?;
    conn.busy_timeout(busy_timeout)
        .map_err(|e| open_error(path, e))?;
    // The first statement that reads the file finds out whether it is a database.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| open_error(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(config_error(
            path,
            format!("it cannot use WAL journaling (journal mode stays {mode:?})"),
        ));
    }
    Ok(conn)
}

/// Whether SQLite answered busy or locked (another connection holds the lock).
pub fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// A lock held longer than the busy timeout: a retryable conflict naming the file.
pub fn locked_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!(
            "database {} is locked by another process; retry",
            path.display()
        ),
    )
    .with_context("path", path.display())
    .with_retryable(true)
    .with_source(e)
}

/// The path does not name a usable database: a configuration error naming it.
pub fn config_error(path: &Path, why: impl fmt::Display) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "cannot open database {}: {why}; check --db / ITSM_DB",
            path.display()
        ),
    )
    .with_context("path", path.display())
}

/// Maps a failure while opening: a lock is a retryable conflict, anything else means the
/// path does not name a usable database.
pub fn open_error(path: &Path, e: rusqlite::Error) -> Error {
    if is_busy(&e) {
        locked_error(path, e)
    } else {
        config_error(path, &e).with_source(e)
    }
}

/// Maps a failure of an operation on an open database: a lock held too long is a
/// retryable conflict, anything else an internal error naming the file.
pub fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    if is_busy(&e) {
        locked_error(path, e)
    } else {
        Error::new(
            ErrorKind::Internal,
            format!("database {} failed: {e}", path.display()),
        )
        .with_context("path", path.display())
        .with_source(e)
    }
}
