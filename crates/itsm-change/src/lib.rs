//! # itsm-change
//!
//! The change management domain of itsm-rs (capabilities C1-C5): pre-approved change
//! [templates](ChangeTemplate), [change requests](ChangeRequest) of the three ITIL kinds,
//! approvals, closures and conflicts, and the [`ChangeSystem`] port that backends implement
//! (ServiceNow, Jira Service Management, the embedded local store).
//!
//! ```
//! use itsm_change::{ChangeKind, ChangeTemplate, TemplateId};
//! use itsm_core::{Environment, Person, ServiceId};
//! use time::macros::datetime;
//!
//! let template = ChangeTemplate {
//!     id: TemplateId::new("tpl-1")?,
//!     service: ServiceId::new("checkout")?,
//!     name: "Checkout release".into(),
//!     description: "Routine release of the checkout service".into(),
//!     environments: vec![Environment::production()],
//!     implementation_plan: "Blue/green deploy by the pipeline".into(),
//!     backout_plan: "Switch traffic back".into(),
//!     test_plan: "Smoke tests".into(),
//!     owner: Person::named("Pat Product"),
//!     approved_by: Some(Person::named("Casey Change")),
//!     approved_at: None,
//!     expires_at: Some(datetime!(2027-01-01 00:00 UTC)),
//!     active: true,
//!     external: None,
//! };
//! assert!(template.usable_for(&Environment::production(), datetime!(2026-06-01 00:00 UTC)));
//! assert!(!template.usable_for(&Environment::production(), datetime!(2027-06-01 00:00 UTC)));
//! # let _ = ChangeKind::Standard;
//! # Ok::<(), itsm_core::Error>(())
//! ```
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `mock` | `MockChangeSystem`, a `mockall` mock of [`ChangeSystem`] |

pub mod freeze;
pub mod model;
pub mod policy;
pub mod system;
pub mod workflow;

pub use freeze::FreezeWindow;
pub use model::*;
pub use policy::{Candidate, Decision, Policy};
#[cfg(feature = "mock")]
pub use system::MockChangeSystem;
pub use system::{ChangeSystem, capability};
pub use workflow::{ChangeWorkflow, Deployment, DeploymentResult, GateVerdict, RaiseOutcome};

#[cfg(test)]
mod object_safety {
    use super::*;
    static_assertions::assert_obj_safe!(ChangeSystem);
    static_assertions::assert_impl_all!(std::sync::Arc<dyn ChangeSystem>: Send, Sync, std::fmt::Debug);
}
