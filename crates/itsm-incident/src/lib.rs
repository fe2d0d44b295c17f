//! # itsm-incident
//!
//! The incident management domain of itsm-rs (capabilities I1-I9): [incidents](Incident)
//! in the ticketing system, [pages](Page) on the paging platform, and the two ports backends
//! implement: [`IncidentSystem`] (ServiceNow, Jira, the embedded local store) and [`Pager`]
//! (PagerDuty, the planned VictorOps / Splunk On-Call adapter, the local store).
//!
//! ```
//! use itsm_incident::{IncidentState, Priority, Severity};
//!
//! assert_eq!(Priority::P2.to_string(), "P2");
//! assert!(IncidentState::Closed.is_resolved());
//! assert!(Severity::Critical < Severity::Warning, "more severe sorts first");
//! ```
//!
//! ## Alerting profiles, the workflow and sync
//!
//! - [`AlertingProfile`] (I9) is a tenant's data, read from TOML
//!   ([`AlertingProfile::default_profile`] is what onboarding assigns): it turns an
//!   [`Alert`] into an [`AlertPlan`] (page or ticket only, severity, priority, team, links).
//! - [`IncidentWorkflow`] (I1-I7) acts on alerts and incidents through the ports:
//!   [`handle_alert`](IncidentWorkflow::handle_alert) opens the incident and the page and
//!   links them both ways (or resolves both), and `acknowledge`, `reassign`, `add_note`,
//!   `resolve` and `declare_major` act on both sides. Every port call is keyed, so a call
//!   that failed half way is simply repeated; the error names the failed and the completed
//!   steps, and calls a backend does not support are skipped and reported.
//! - [`SyncEngine`] (I8) applies each change from one side to the other exactly once,
//!   ignoring duplicates, stale events and echoes of its own writes.
//!
//! ```
//! use itsm_incident::{AlertingProfile, AlertSource, AlertStatus, Alert, Priority, Severity};
//! use itsm_core::{IdempotencyKey, ServiceId};
//!
//! let alert = Alert {
//!     source: AlertSource::Generic,
//!     dedup_key: IdempotencyKey::new("generic/checkout-latency")?,
//!     status: AlertStatus::Firing,
//!     severity: Severity::Warning,
//!     raw_severity: Some("warning".into()),
//!     service: ServiceId::new("checkout")?,
//!     tenant: None,
//!     name: "HighLatency".into(),
//!     summary: "p99 above 2s".into(),
//!     description: String::new(),
//!     labels: Default::default(),
//!     links: vec![],
//!     starts_at: itsm_core::time::macros::datetime!(2026-05-01 10:00 UTC),
//!     ends_at: None,
//! };
//! let plan = AlertingProfile::default_profile().plan(&alert);
//! assert!(plan.ticket && !plan.page, "{}", plan.reason);
//! assert_eq!(plan.priority, Priority::P3);
//! assert!(plan.links.iter().any(|l| l.url.as_str()
//!     == "https://runbooks.example.invalid/checkout/HighLatency"));
//! # Ok::<(), itsm_core::Error>(())
//! ```
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `mock` | `MockIncidentSystem`, `MockPager`, `MockTeamDirectory` and `sync::MockSyncStateStore`, `mockall` mocks of the ports |

pub mod alert;
pub mod inbound;
pub mod model;
pub mod profile;
pub mod sync;
pub mod system;
pub mod team;
pub mod workflow;

pub use alert::{Alert, AlertSource, AlertStatus};

pub use model::*;
pub use profile::{AlertPlan, AlertingProfile};
pub use sync::{
    MemorySyncStore, Side, SyncChange, SyncEngine, SyncEvent, SyncOutcome, SyncSettings,
    SyncStateStore,
};
pub use system::{IncidentSystem, Pager, capability};
#[cfg(feature = "mock")]
pub use system::{MockIncidentSystem, MockPager};
#[cfg(feature = "mock")]
pub use team::MockTeamDirectory;
pub use team::{Team, TeamDirectory, TeamKind};
pub use workflow::{AlertOutcome, IncidentWorkflow, WorkflowSettings};

#[cfg(test)]
mod object_safety {
    use super::*;
    static_assertions::assert_obj_safe!(IncidentSystem, Pager, TeamDirectory, SyncStateStore);
    static_assertions::assert_impl_all!(std::sync::Arc<dyn IncidentSystem>: Send, Sync, std::fmt::Debug);
    static_assertions::assert_impl_all!(std::sync::Arc<dyn Pager>: Send, Sync, std::fmt::Debug);
    static_assertions::assert_impl_all!(std::sync::Arc<dyn SyncStateStore>: Send, Sync, std::fmt::Debug);
}
