//! Opening the database, running migrations, mapping SQLite errors, and running blocking
//! database work off the async executor.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub(crate) use itsm_audit::sqlite::connection::sql_error;
use itsm_audit::sqlite::connection::{config_error, is_busy, locked_error, open_error, open_wal};
use itsm_change::FreezeWindow;
use itsm_core::{Clock, Error, ErrorKind, Result};
use rusqlite::{Connection, OptionalExtension, Params, Row, TransactionBehavior, ffi};
use time::OffsetDateTime;

use crate::migrations::MIGRATIONS;

/// The busy timeout used by [`LocalStore::open`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest busy timeout accepted; longer ones are shortened to it.
const MAX_BUSY_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// How [`LocalStore::open_with`] opens a database.
///
/// ```
/// use std::time::Duration;
/// let options = itsm_local::OpenOptions::default().busy_timeout(Duration::from_millis(200));
/// assert_eq!(options.busy_timeout_value(), Duration::from_millis(200));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenOptions {
    busy_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }
}

impl OpenOptions {
    /// How long an operation waits for another process's lock on the database before it
    /// fails with a retryable [`ErrorKind::Conflict`] (default 5 s, at most one day).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout.min(MAX_BUSY_TIMEOUT);
        self
    }

    /// The busy timeout that will be used.
    pub fn busy_timeout_value(&self) -> Duration {
        self.busy_timeout
    }
}

/// The embedded SQLite store: implements [`ChangeSystem`](itsm_change::ChangeSystem) and
/// [`Notifier`](itsm_core::Notifier) over one database file.
///
/// Cheap to clone (clones share one connection); `Send + Sync`. Every operation runs on
/// tokio's blocking pool when called inside a tokio runtime, so async callers are not
/// blocked, and inline otherwise. Several processes may use the same file at once: writes
/// are serialised by SQLite's lock and wait up to the busy timeout for it.
#[derive(Clone)]
pub struct LocalStore {
    db: Arc<Db>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) freezes: Arc<[FreezeWindow]>,
}

struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStore")
            .field("path", &self.db.path)
            .field("freezes", &self.freezes.len())
            .finish()
    }
}

impl LocalStore {
    /// Opens (creating if needed, with its parent directories) the database at `path`,
    /// applies the embedded migrations, and sets WAL journaling, a 5 s busy timeout and
    /// foreign keys.
    ///
    /// Errors: [`ErrorKind::Config`] naming the path when it cannot be opened or created,
    /// is a directory, is not a database, or was written by a newer version of itsm;
    /// a retryable [`ErrorKind::Conflict`] when another process holds a lock for longer
    /// than the busy timeout.
    pub fn open(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<LocalStore> {
        Self::open_with(path, clock, OpenOptions::default())
    }

    /// [`open`](LocalStore::open) with explicit [`OpenOptions`].
    pub fn open_with(
        path: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        options: OpenOptions,
    ) -> Result<LocalStore> {
        let path = path.as_ref().to_path_buf();
        let conn = open_connection(&path, &options)?;
        Ok(LocalStore {
            db: Arc::new(Db {
                path,
                conn: Mutex::new(conn),
            }),
            clock,
            freezes: Arc::from(Vec::new()),
        })
    }

    /// Sets the freeze (blackout) windows that [`conflicts`](itsm_change::ChangeSystem::conflicts)
    /// reports, usually from the CLI configuration. Replaces any set before.
    pub fn with_freezes(mut self, freezes: Vec<FreezeWindow>) -> Self {
        self.freezes = Arc::from(freezes);
        self
    }

    /// The database file's path, as given to [`open`](LocalStore::open).
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// The current time from the injected clock, in UTC.
    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now().to_offset(time::UtcOffset::UTC)
    }

    /// Runs read-only work in one (deferred) transaction.
    pub(crate) async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Conn<'_>) -> Result<T> + Send + 'static,
    {
        self.run(TransactionBehavior::Deferred, work).await
    }

    /// Runs work that writes in one `BEGIN IMMEDIATE` transaction: it holds the database's
    /// write lock from the start, so a lookup followed by an insert cannot race another
    /// process. The transaction commits when `work` returns `Ok` and rolls back otherwise.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Conn<'_>) -> Result<T> + Send + 'static,
    {
        self.run(TransactionBehavior::Immediate, work).await
    }

    async fn run<T, F>(&self, behavior: TransactionBehavior, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Conn<'_>) -> Result<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        let job = move || db.transaction(behavior, work);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => match handle.spawn_blocking(job).await {
                Ok(result) => result,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => Err(Error::new(
                    ErrorKind::Internal,
                    format!(
                        "a database task on {} was cancelled: {e}",
                        self.db.path.display()
                    ),
                )),
            },
            Err(_) => job(),
        }
    }
}

impl Db {
    fn transaction<T>(
        &self,
        behavior: TransactionBehavior,
        work: impl FnOnce(&Conn<'_>) -> Result<T>,
    ) -> Result<T> {
        // A poisoned lock only means a task panicked; its transaction was rolled back when
        // the `Transaction` was dropped, so the connection is usable.
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(|e| sql_error(&self.path, e))?;
        let out = work(&Conn {
            conn: &tx,
            path: &self.path,
        })?;
        tx.commit().map_err(|e| sql_error(&self.path, e))?;
        Ok(out)
    }
}

/// A connection inside a transaction, whose methods map SQLite errors to [`Error`]s that
/// name the database.
pub(crate) struct Conn<'a> {
    conn: &'a Connection,
    path: &'a Path,
}

impl Conn<'_> {
    /// The database file's path.
    pub(crate) fn path(&self) -> &Path {
        self.path
    }

    /// Executes one statement; returns the number of rows changed.
    pub(crate) fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        self.conn
            .execute(sql, params)
            .map_err(|e| sql_error(self.path, e))
    }

    /// Executes an insert; `Ok(false)` when a UNIQUE constraint refused the row.
    pub(crate) fn insert(&self, sql: &str, params: impl Params) -> Result<bool> {
        match self.conn.execute(sql, params) {
            Ok(_) => Ok(true),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                Ok(false)
            }
            Err(e) => Err(sql_error(self.path, e)),
        }
    }

    /// The next `seq` of `table` and the local id made from it (`CHG0000042`). Call it
    /// inside the write transaction that inserts the row, which holds the write lock.
    pub(crate) fn next_id(&self, table: &'static str, prefix: &str) -> Result<(i64, String)> {
        let seq: i64 = self
            .row(
                &format!("SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}"),
                [],
                |r| r.get(0),
            )?
            .unwrap_or(1);
        Ok((seq, crate::records::local_id(prefix, seq)))
    }

    /// The first row of a query, if any.
    pub(crate) fn row<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        self.conn
            .query_row(sql, params, map)
            .optional()
            .map_err(|e| sql_error(self.path, e))
    }

    /// Every row of a query.
    pub(crate) fn rows<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let run = || -> rusqlite::Result<Vec<T>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map(params, map)?;
            rows.collect()
        };
        run().map_err(|e| sql_error(self.path, e))
    }
}

fn open_connection(path: &Path, options: &OpenOptions) -> Result<Connection> {
    let mut conn = open_wal(path, options.busy_timeout)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(|e| open_error(path, e))?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Applies the missing migrations in one `BEGIN IMMEDIATE` transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let latest = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let version = |conn: &Connection| -> Result<i64> {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| open_error(path, e))
    };
    let check = |current: i64| -> Result<()> {
        if current > latest {
            return Err(config_error(
                path,
                format!(
                    "its schema version is {current}, newer than the {latest} this version of \
                     itsm knows; upgrade itsm"
                ),
            ));
        }
        Ok(())
    };
    let current = version(conn)?;
    check(current)?;
    if current == latest {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| open_error(path, e))?;
    // Another process may have migrated between the first read and the lock.
    let current = version(&tx)?;
    check(current)?;
    let start = usize::try_from(current).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql).map_err(|e| {
            let number = index + 1;
            if is_busy(&e) {
                locked_error(path, e)
            } else {
                Error::new(
                    ErrorKind::Internal,
                    format!(
                        "migration {number} of database {} failed: {e}",
                        path.display()
                    ),
                )
                .with_context("path", path.display())
                .with_source(e)
            }
        })?;
    }
    tx.pragma_update(None, "user_version", latest)
        .map_err(|e| open_error(path, e))?;
    tx.commit().map_err(|e| open_error(path, e))
}
