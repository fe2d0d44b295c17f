//! # itsm-audit
//!
//! The change auditing domain of itsm-rs (capabilities A1-A7): [deployment
//! records](DeploymentRecord) in a tamper-evident, hash-chained ledger, [incident
//! links](IncidentLink) for DORA figures, and the [`AuditStore`] port the embedded (SQLite)
//! and organisation (PostgreSQL) stores implement.
//!
//! ```
//! use itsm_audit::{NewDeployment, Outcome};
//! use itsm_core::{Environment, Person, ServiceId, Version, CommitId, PipelineRunId};
//! use time::macros::datetime;
//!
//! let deployment = NewDeployment {
//!     service: ServiceId::new("checkout")?,
//!     version: Version::new("1.4.2")?,
//!     environment: Environment::production(),
//!     started_at: datetime!(2026-05-01 10:05 UTC),
//!     finished_at: datetime!(2026-05-01 10:00 UTC),
//!     deployer: Person::named("pipeline"),
//!     outcome: Outcome::Succeeded,
//!     commit: CommitId::new("9f2c1e0")?,
//!     artifact_digest: "sha256:0b1c".into(),
//!     pipeline_run: PipelineRunId::new("gh-991")?,
//!     pipeline_url: None,
//!     first_commit_at: None,
//!     change: None,
//! };
//! let err = deployment.validate().unwrap_err();
//! assert!(err.to_string().contains("before it starts"));
//! # Ok::<(), itsm_core::Error>(())
//! ```
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `mock` | `MockAuditStore`, a `mockall` mock of [`AuditStore`] |

pub mod chain;
// The compact body form the SQLite store writes (both stores can read it).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
mod compact;
pub mod compliance;
pub mod dora;
pub mod inventory;
// Row encoding shared by the SQLite and PostgreSQL stores.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod ledger_codec;
pub mod model;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod report;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;
pub mod trace;

// Audit computations (A2-A6).
pub use compliance::{ComplianceReport, Violation, ViolationReason};
pub use dora::{DoraFigures, Evidence};
pub use inventory::InventoryEntry;
pub use model::*;
pub use report::{AuditReport, ReportFormat};
#[cfg(feature = "mock")]
pub use store::MockAuditStore;
pub use store::{AuditStore, capability};
pub use trace::{Category, PathRules, TraceReport};

#[cfg(test)]
mod object_safety {
    use super::*;
    static_assertions::assert_obj_safe!(AuditStore);
    static_assertions::assert_impl_all!(std::sync::Arc<dyn AuditStore>: Send, Sync, std::fmt::Debug);
}
