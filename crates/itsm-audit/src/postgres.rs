//! The organisation ledger: [`PostgresAuditStore`], an [`AuditStore`] in PostgreSQL.
//!
//! Many processes may append at once: each append transaction locks the single row of
//! `audit_head` (`SELECT ... FOR UPDATE`), so chain extension is serialised across
//! processes, and sequence numbers are taken from the head (not from a PostgreSQL
//! sequence, which would leave gaps on rollback). The schema is created when missing,
//! under a transaction-scoped advisory lock, so that processes starting at once do not
//! race. Connections are plain TCP without TLS: use a local server or a TLS-terminating
//! proxy on the same host. [`connection`] holds what other PostgreSQL stores reuse.

pub mod connection;
mod ops;
mod tables;

use crate::ledger_codec as codec;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use itsm_core::{Capabilities, Clock, IdempotencyKey, ListRequest, Listing, Result};
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::{Client, Config};

pub use connection::redact_url;

use crate::model::{DeploymentFilter, DeploymentRecord, IncidentLink, NewDeployment};
use crate::store::{AuditStore, capability};

/// How [`PostgresAuditStore::connect_with`] connects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The PostgreSQL schema holding the ledger's tables, created when missing; `None`
    /// uses the connection's search path (usually `public`). Lower-case letters, digits
    /// and `_` only.
    pub schema: Option<String>,
}

/// The deployment ledger in PostgreSQL (capabilities: batch append, concurrent writers,
/// incident links).
///
/// Cheap to clone (clones share the connections); `Send + Sync`. Holds two connections,
/// one for appends and one for reads, and reconnects one that was lost at its next use.
/// Must be used inside a tokio runtime.
#[derive(Clone)]
pub struct PostgresAuditStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    /// The URL with any password redacted: safe for messages.
    shown: String,
    schema: Option<String>,
    clock: Arc<dyn Clock>,
    writer: Mutex<Option<Client>>,
    reader: Mutex<Option<Client>>,
}

impl fmt::Debug for PostgresAuditStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresAuditStore")
            .field("url", &self.inner.shown)
            .field("schema", &self.inner.schema)
            .finish()
    }
}

impl PostgresAuditStore {
    /// Connects to the server at `url` (`postgres://user@host:5432/database`) and creates
    /// the ledger's tables when missing, in the connection's default schema.
    ///
    /// Errors (messages show the URL with its password redacted): [`ErrorKind::Config`]
    /// for a malformed URL or a ledger written by a newer itsm; [`ErrorKind::Unavailable`]
    /// when the server cannot be reached; [`ErrorKind::Unauthenticated`] when it refuses the
    /// credentials.
    ///
    /// [`ErrorKind::Config`]: itsm_core::ErrorKind::Config
    /// [`ErrorKind::Unavailable`]: itsm_core::ErrorKind::Unavailable
    /// [`ErrorKind::Unauthenticated`]: itsm_core::ErrorKind::Unauthenticated
    pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> Result<Self> {
        Self::connect_with(url, clock, PostgresOptions::default()).await
    }

    /// [`connect`](PostgresAuditStore::connect) with explicit [`PostgresOptions`].
    pub async fn connect_with(
        url: &str,
        clock: Arc<dyn Clock>,
        options: PostgresOptions,
    ) -> Result<Self> {
        let shown = redact_url(url);
        if let Some(schema) = &options.schema {
            connection::check_schema(schema)?;
        }
        let config = connection::parse(url)?;
        let schema = options.schema;
        let mut writer = connection::connect(&config, &shown, schema.as_deref()).await?;
        connection::migrate(&mut writer, &shown, schema.as_deref(), &tables::LEDGER).await?;
        let reader = connection::connect(&config, &shown, schema.as_deref()).await?;
        Ok(PostgresAuditStore {
            inner: Arc::new(Inner {
                config,
                shown,
                schema,
                clock,
                writer: Mutex::new(Some(writer)),
                reader: Mutex::new(Some(reader)),
            }),
        })
    }

    /// The schema given in [`PostgresOptions`], if any.
    pub fn schema(&self) -> Option<&str> {
        self.inner.schema.as_deref()
    }

    /// The connection in `slot`, reconnecting when it was lost.
    async fn client<'a>(
        &'a self,
        slot: &'a Mutex<Option<Client>>,
    ) -> Result<MutexGuard<'a, Option<Client>>> {
        let mut guard = slot.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = None;
            let inner = &self.inner;
            *guard = Some(
                connection::connect(&inner.config, &inner.shown, inner.schema.as_deref()).await?,
            );
        }
        Ok(guard)
    }

    async fn submit(
        &self,
        records: &[(IdempotencyKey, NewDeployment)],
    ) -> Result<Vec<DeploymentRecord>> {
        let mut guard = self.client(&self.inner.writer).await?;
        let client = guard.as_mut().ok_or_else(|| lost(&self.inner.shown))?;
        let now = self.inner.clock.now();
        ops::append(client, &self.inner.shown, records, now).await
    }
}

fn lost(shown: &str) -> itsm_core::Error {
    itsm_core::Error::new(
        itsm_core::ErrorKind::Unavailable,
        format!("the connection to PostgreSQL at {shown} was lost; retry"),
    )
}

/// Runs `$body` with `$client` bound to the read connection.
macro_rules! with_reader {
    ($self:ident, |$client:ident, $shown:ident| $body:expr) => {{
        let guard = $self.client(&$self.inner.reader).await?;
        let $client = guard.as_ref().ok_or_else(|| lost(&$self.inner.shown))?;
        let $shown = $self.inner.shown.as_str();
        $body.await
    }};
}

#[async_trait]
impl AuditStore for PostgresAuditStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new("postgres").with_all([
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
        let mut records = self.submit(&[(key.clone(), deployment.clone())]).await?;
        records.pop().ok_or_else(|| {
            itsm_core::Error::new(
                itsm_core::ErrorKind::Internal,
                format!("appending {key} to the PostgreSQL ledger returned no record"),
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
        self.submit(records).await
    }

    async fn find_by_key(&self, key: &IdempotencyKey) -> Result<Option<DeploymentRecord>> {
        with_reader!(self, |client, shown| ops::find_by_key(
            client,
            shown,
            key.as_str()
        ))
    }

    async fn list(
        &self,
        filter: &DeploymentFilter,
        page: &ListRequest,
    ) -> Result<Listing<DeploymentRecord>> {
        with_reader!(self, |client, shown| ops::list(client, shown, filter, page))
    }

    async fn scan(&self, from_seq: u64, limit: u32) -> Result<Vec<DeploymentRecord>> {
        with_reader!(self, |client, shown| ops::scan(
            client, shown, from_seq, limit
        ))
    }

    async fn head(&self) -> Result<u64> {
        with_reader!(self, |client, shown| ops::head(client, shown))
    }

    async fn link_incident(&self, link: &IncidentLink) -> Result<()> {
        codec::validate_link(link)?;
        with_reader!(self, |client, shown| ops::upsert_link(client, shown, link))
    }

    async fn incident_links(&self, filter: &DeploymentFilter) -> Result<Vec<IncidentLink>> {
        with_reader!(self, |client, shown| ops::incident_links(
            client, shown, filter
        ))
    }
}
