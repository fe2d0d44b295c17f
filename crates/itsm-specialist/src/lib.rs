//! # itsm-specialist
//!
//! The specialists-as-a-service domain of itsm-rs (capabilities S1-S5): a catalog of
//! [offerings](Offering) that specialist teams (database administration, networking...)
//! provide, with typed inputs and response targets; [requests](SpecialistRequest) with a
//! checked lifecycle; the [`SpecialistCatalog`] port backends implement; the catalog as a
//! TOML [file](CatalogFile); [automation](Automation) through registered [`Fulfiller`]s
//! (S3); and demand and response-time [figures] (S4).
//!
//! ```
//! use itsm_specialist::RequestState;
//!
//! assert!(RequestState::Submitted.can_move_to(RequestState::Triaged));
//! assert!(!RequestState::Fulfilled.can_move_to(RequestState::InProgress));
//! ```
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `mock` | `MockSpecialistCatalog` and `MockFulfiller`, `mockall` mocks of [`SpecialistCatalog`] and [`Fulfiller`] |

pub mod catalog;
pub mod catalog_file;
pub mod fulfil;
pub mod model;
pub mod stats;

#[cfg(feature = "mock")]
pub use catalog::MockSpecialistCatalog;
pub use catalog::{SpecialistCatalog, capability};
pub use catalog_file::{CatalogFile, SpecialistTeam};
#[cfg(feature = "mock")]
pub use fulfil::MockFulfiller;
pub use fulfil::{AUTOMATION, Automation, AutomationOutcome, Fulfiller, Fulfilment, Handled};
pub use model::*;
pub use stats::{Evidence, Figures, GroupFigures, TimeFigure, figures};

#[cfg(test)]
mod object_safety {
    use super::*;
    static_assertions::assert_obj_safe!(SpecialistCatalog);
    static_assertions::assert_obj_safe!(Fulfiller);
    static_assertions::assert_impl_all!(std::sync::Arc<dyn SpecialistCatalog>: Send, Sync, std::fmt::Debug);
}
