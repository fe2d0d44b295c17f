//! # itsm-local
//!
//! The embedded local backend of itsm-rs: the port traits over one SQLite database, so that
//! the whole product runs on one machine with no SaaS account. It is the default backend of
//! the `itsm` command.
//!
//! ```
//! use std::sync::Arc;
//! use itsm_change::{ChangeKind, ChangeState, ChangeSystem, NewChange};
//! use itsm_core::{Environment, IdempotencyKey, ServiceId, SystemClock, Version};
//! use itsm_local::LocalStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> itsm_core::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let store = LocalStore::open(dir.path().join("itsm.db"), Arc::new(SystemClock))?;
//!
//! let change = NewChange {
//!     kind: ChangeKind::Normal,
//!     template: None,
//!     service: ServiceId::new("checkout")?,
//!     version: Version::new("1.4.2")?,
//!     environment: Environment::production(),
//!     summary: "Deploy checkout 1.4.2".into(),
//!     description: String::new(),
//!     window: None,
//!     commits: vec![],
//!     pipeline_run: None,
//!     requested_by: None,
//!     assignment_team: None,
//!     reasons: vec![],
//!     retroactive: false,
//!     links: vec![],
//! };
//! let key = IdempotencyKey::new("checkout/1.4.2/production/run-1/raise")?;
//! let created = store.create_change(&key, &change).await?;
//! assert_eq!(created.id.as_str(), "CHG0000001");
//! assert_eq!(created.state, ChangeState::New);
//!
//! // The same key again finds the same change.
//! assert_eq!(store.create_change(&key, &change).await?.id, created.id);
//! # Ok(())
//! # }
//! ```
//!
//! Implemented so far (each trait's rules are on its `impl` in [`LocalStore`]'s docs):
//!
//! - [`ChangeSystem`](itsm_change::ChangeSystem);
//! - [`IncidentSystem`](itsm_incident::IncidentSystem) (incidents `INC0000001`, …);
//! - [`Pager`](itsm_incident::Pager): a local paging platform that routes pages to teams,
//!   pages their on-call person from a [`Schedule`], and escalates unacknowledged pages to
//!   the incident manager ([`LocalStore::escalate_unacknowledged`]);
//! - [`TeamDirectory`](itsm_incident::TeamDirectory), fed by [`LocalStore::upsert_team`],
//!   [`LocalStore::set_schedule`] and [`LocalStore::set_incident_manager`];
//! - tenants' alerting profiles, versioned ([`LocalStore::onboard_tenant`], [`TenantRecord`]);
//! - [`Notifier`](itsm_core::Notifier): an outbox read with [`LocalStore::notifications`]
//!   and [`LocalStore::outbox`], drained to a chat webhook by [`ChatRelay`].
//!
//! The audit and specialist ports land with their domains' issues, as further schema
//! migrations.
//!
//! ## The database
//!
//! One file, opened in WAL mode with foreign keys on and a busy timeout (5 s by default,
//! see [`OpenOptions`]), so several `itsm` processes can share it. The schema is versioned
//! with `PRAGMA user_version` and migrated when a store is opened. Each record is stored
//! as JSON in a `body` column next to the columns queries use. Local ids are zero-padded
//! sequences: `CHG0000001`, `TPL0000001`, `APR0000001`.
//!
//! ## Errors
//!
//! - a path that cannot be opened or created, is not a database, or belongs to a newer
//!   itsm: [`ErrorKind::Config`](itsm_core::ErrorKind::Config) naming the path;
//! - another process holding the database's lock past the busy timeout: a retryable
//!   [`ErrorKind::Conflict`](itsm_core::ErrorKind::Conflict) naming the path;
//! - any other SQLite failure, or a record whose stored JSON cannot be read:
//!   [`ErrorKind::Internal`](itsm_core::ErrorKind::Internal) naming the path (and record).

mod change;
mod change_table;
mod chat;
mod early_resolution;
mod incident;
mod incident_table;
mod lifecycle;
mod migrations;
mod notify;
mod oncall;
mod outbox;
mod page_table;
mod pager;
mod records;
mod routing;
mod specialist;
mod specialist_table;
mod steps;
mod store;
mod sync_state;
mod teams;
mod template;
mod tenant;

pub use chat::{ChatRelay, RelayReport};
pub use oncall::{Coverage, Schedule, Shift, WORKDAY_END, WORKDAY_START};
pub use outbox::OutboxEntry;
pub use store::{DEFAULT_BUSY_TIMEOUT, LocalStore, OpenOptions};
pub use tenant::TenantRecord;

/// The system name this backend puts in `itsm_core::ExternalRef::system`.
pub const SYSTEM: &str = "local";

#[cfg(test)]
mod assertions {
    static_assertions::assert_impl_all!(super::LocalStore: Send, Sync, Clone, std::fmt::Debug);
}
