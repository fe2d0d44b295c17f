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
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `mock` | `MockIncidentSystem`, `MockPager` and `MockTeamDirectory`, `mockall` mocks of the ports |

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
