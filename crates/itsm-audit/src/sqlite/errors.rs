//! How itsm-rs maps SQLite failures to [`Error`]s, shared by every SQLite store (the
//! ledger here and the local backend in `itsm-local`), so that a locked or unusable database
//! reads the same wherever it is met: the path is always named, a lock is a retryable
//! [`ErrorKind::Conflict`], an unusable file an [`ErrorKind::Config`] error.

use std::fmt;
use std::path::Path;

use itsm_core::{Error, ErrorKind};
use rusqlite::ErrorCode;

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
