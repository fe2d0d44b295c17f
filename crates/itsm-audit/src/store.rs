//! The [`AuditStore`] port.

use std::fmt::Debug;

use async_trait::async_trait;
use itsm_core::{Capabilities, IdempotencyKey, ListRequest, Listing, Result};

use crate::model::{DeploymentFilter, DeploymentRecord, IncidentLink, NewDeployment};

/// Capability names of the audit domain.
pub mod capability {
    use itsm_core::Capability;

    /// Many records can be appended in one call, atomically.
    pub const BATCH_APPEND: Capability = Capability::new("audit.batch_append");
    /// Several processes may append at once and the chain stays intact.
    pub const CONCURRENT_WRITERS: Capability = Capability::new("audit.concurrent_writers");
    /// Incidents can be linked to deployments.
    pub const INCIDENT_LINKS: Capability = Capability::new("audit.incident_links");
}

/// The tamper-evident deployment ledger (A1, A7): the port the SQLite and PostgreSQL stores
/// implement.
///
/// Records are append-only and chained: each carries the hash of its predecessor, so that
/// changing, removing or reordering any record is detected by walking the chain with
/// [`scan`](AuditStore::scan).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AuditStore: Send + Sync + Debug {
    /// What this store supports (see [`capability`]).
    fn capabilities(&self) -> Capabilities;

    /// Appends one deployment record, or returns the one appended with `key`.
    ///
    /// The record is validated first ([`NewDeployment::validate`]); nothing is written when
    /// it is refused.
    async fn append(
        &self,
        key: &IdempotencyKey,
        deployment: &NewDeployment,
    ) -> Result<DeploymentRecord>;

    /// Appends many records in one transaction, in order; keys already present return their
    /// existing record. All or nothing.
    async fn append_batch(
        &self,
        records: &[(IdempotencyKey, NewDeployment)],
    ) -> Result<Vec<DeploymentRecord>>;

    /// The record appended with `key`, if any.
    async fn find_by_key(&self, key: &IdempotencyKey) -> Result<Option<DeploymentRecord>>;

    /// Records matching `filter`, newest first, one page at a time.
    async fn list(
        &self,
        filter: &DeploymentFilter,
        page: &ListRequest,
    ) -> Result<Listing<DeploymentRecord>>;

    /// Up to `limit` records in chain order starting at sequence number `from_seq`
    /// (for verification and export).
    async fn scan(&self, from_seq: u64, limit: u32) -> Result<Vec<DeploymentRecord>>;

    /// The number of the last record (0 when empty).
    async fn head(&self) -> Result<u64>;

    /// Records that an incident names a deployment as its cause, or updates the link (its
    /// resolution time) when one exists for that incident.
    async fn link_incident(&self, link: &IncidentLink) -> Result<()>;

    /// Incident links for deployments matching `filter`.
    async fn incident_links(&self, filter: &DeploymentFilter) -> Result<Vec<IncidentLink>>;
}
