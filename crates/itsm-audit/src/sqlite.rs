//! The embedded ledger: [`SqliteAuditStore`], an [`AuditStore`] in a SQLite file.
//!
//! The ledger lives in its own tables (`audit_deployment`, `audit_incident_link`) with its
//! own schema version (`audit_schema`), so it can share a database file with the local
//! change store, which versions its schema with `PRAGMA user_version`.
//!
//! # Durability and group commit
//!
//! The database runs in WAL mode. By default ([`Synchronous::Full`]) SQLite syncs the WAL at
//! every commit, so an append that returned survives a power loss; one sync takes a few
//! hundred microseconds on common disks. To keep the cost per append low when many appends
//! arrive at once, appends are *group committed*: a writer thread drains every append
//! queued while the previous transaction was committing into one transaction, and answers
//! each caller after that transaction's commit. [`Synchronous::Normal`] is faster still but
//! a power loss (not a crash of the process) may lose the last appends.

pub mod connection;
mod encode;
mod read;
mod schema;
mod writer;

use crate::ledger_codec as codec;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use itsm_core::{
    Capabilities, Clock, Error, ErrorKind, IdempotencyKey, ListRequest, Listing, Result,
};
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use crate::model::{DeploymentFilter, DeploymentRecord, IncidentLink, NewDeployment};
use crate::store::{AuditStore, capability};

/// When SQLite syncs the write-ahead log to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// At every commit (`PRAGMA synchronous = FULL`): a returned append survives a power
    /// loss. The default.
    #[default]
    Full,
    /// At checkpoints only (`PRAGMA synchronous = NORMAL`): a returned append survives a
    /// crash of the process, but a power loss may lose the last appends (the ledger stays
    /// consistent and intact).
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// How [`SqliteAuditStore::open_with`] opens a ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long an operation waits for another process's lock on the database before it
    /// fails with a retryable [`ErrorKind::Conflict`] (default 5 s).
    pub busy_timeout: Duration,
    /// When the log is synced to disk (default [`Synchronous::Full`]).
    pub synchronous: Synchronous,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::Full,
        }
    }
}

/// The deployment ledger in a SQLite file (capabilities: batch append, incident links,
/// concurrent writers: several processes may append to one file, serialised by SQLite's
/// write lock).
///
/// Cheap to clone (clones share the connections and the writer thread); `Send + Sync`.
/// Reads run on tokio's blocking pool inside a tokio runtime and inline otherwise; appends
/// go through the writer thread (see the [module documentation](self)).
#[derive(Clone)]
pub struct SqliteAuditStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Sender<writer::Job>,
    /// For reads and incident links (WAL lets reads run beside the writer's transaction).
    conn: Mutex<Connection>,
}

impl fmt::Debug for SqliteAuditStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteAuditStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl SqliteAuditStore {
    /// Opens (creating if needed, with its parent directories) the ledger in the database
    /// at `path` with the default [`SqliteOptions`]: WAL journaling, `synchronous = FULL`,
    /// a 5 s busy timeout. Creates or upgrades the ledger's tables; other tables in the
    /// file are left alone.
    ///
    /// Errors: [`ErrorKind::Config`] naming the path when it cannot be opened or created,
    /// is not a database, or holds a ledger written by a newer version of itsm; a retryable
    /// [`ErrorKind::Conflict`] when another process holds the lock longer than the busy
    /// timeout.
    pub fn open(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Self> {
        Self::open_with(path, clock, SqliteOptions::default())
    }

    /// [`open`](SqliteAuditStore::open) with explicit [`SqliteOptions`].
    pub fn open_with(
        path: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        options: SqliteOptions,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let write_conn = schema::open_connection(&path, &options)?;
        let read_conn = schema::open_connection(&path, &options)?;
        let writer = writer::spawn(write_conn, path.clone(), clock)?;
        Ok(SqliteAuditStore {
            inner: Arc::new(Inner {
                path,
                writer,
                conn: Mutex::new(read_conn),
            }),
        })
    }

    /// The database file's path, as given to [`open`](SqliteAuditStore::open).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Sends validated records to the writer thread and waits for the commit.
    async fn submit(
        &self,
        records: Vec<(IdempotencyKey, NewDeployment)>,
    ) -> Result<Vec<DeploymentRecord>> {
        let (reply, answer) = oneshot::channel();
        let stopped = || {
            Error::new(
                ErrorKind::Internal,
                format!(
                    "the audit ledger writer of {} stopped; reopen the store",
                    self.inner.path.display()
                ),
            )
        };
        self.inner
            .writer
            .send(writer::Job { records, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `work` on the read connection, in a transaction of `behavior`, off the async
    /// executor when inside a tokio runtime.
    async fn with_conn<T, F>(&self, behavior: TransactionBehavior, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Path) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let job = move || {
            // A poisoned lock only means a task panicked; its transaction was rolled back.
            let mut conn = inner.conn.lock().unwrap_or_else(PoisonError::into_inner);
            let path = inner.path.as_path();
            let tx = conn
                .transaction_with_behavior(behavior)
                .map_err(|e| schema::sql_error(path, e))?;
            let out = work(&tx, path)?;
            tx.commit().map_err(|e| schema::sql_error(path, e))?;
            Ok(out)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => match handle.spawn_blocking(job).await {
                Ok(result) => result,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => Err(Error::new(
                    ErrorKind::Internal,
                    format!(
                        "a database task on {} was cancelled: {e}",
                        self.inner.path.display()
                    ),
                )),
            },
            Err(_) => job(),
        }
    }

    async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Path) -> Result<T> + Send + 'static,
    {
        self.with_conn(TransactionBehavior::Deferred, work).await
    }
}

#[async_trait]
impl AuditStore for SqliteAuditStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new("sqlite").with_all([
            capability::BATCH_APPEND,
            capability::CONCURRENT_WRITERS,
            capability::INCIDENT_LINKS,
        ])
    }

    async fn append(
        &self,
        key: &IdempotencyKey,
        deployment: &NewDeployment,
    ) -> Result<DeploymentRecord> {
        deployment.validate()?;
        let mut records = self.submit(vec![(key.clone(), deployment.clone())]).await?;
        records.pop().ok_or_else(|| {
            Error::new(
                ErrorKind::Internal,
                format!("the audit ledger writer returned no record for {key}"),
            )
        })
    }

    async fn append_batch(
        &self,
        records: &[(IdempotencyKey, NewDeployment)],
    ) -> Result<Vec<DeploymentRecord>> {
        for (key, deployment) in records {
            deployment
                .validate()
                .map_err(|e| e.with_context("key", key))?;
        }
        if records.is_empty() {
            return Ok(Vec::new());
        }
        self.submit(records.to_vec()).await
    }

    async fn find_by_key(&self, key: &IdempotencyKey) -> Result<Option<DeploymentRecord>> {
        let key = key.as_str().to_owned();
        self.read(move |conn, path| read::find_by_key(conn, path, &key))
            .await
    }

    async fn list(
        &self,
        filter: &DeploymentFilter,
        page: &ListRequest,
    ) -> Result<Listing<DeploymentRecord>> {
        let (filter, page) = (filter.clone(), page.clone());
        self.read(move |conn, path| read::list(conn, path, &filter, &page))
            .await
    }

    async fn scan(&self, from_seq: u64, limit: u32) -> Result<Vec<DeploymentRecord>> {
        self.read(move |conn, path| read::scan(conn, path, from_seq, limit))
            .await
    }

    async fn head(&self) -> Result<u64> {
        self.read(read::head)
            .await
            .map(|(seq, _)| u64::try_from(seq).unwrap_or(0))
    }

    async fn link_incident(&self, link: &IncidentLink) -> Result<()> {
        codec::validate_link(link)?;
        let link = link.clone();
        self.with_conn(TransactionBehavior::Immediate, move |conn, path| {
            read::upsert_link(conn, path, &link)
        })
        .await
    }

    async fn incident_links(&self, filter: &DeploymentFilter) -> Result<Vec<IncidentLink>> {
        let filter = filter.clone();
        self.read(move |conn, path| read::incident_links(conn, path, &filter))
            .await
    }
}
