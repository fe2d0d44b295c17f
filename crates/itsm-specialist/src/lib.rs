//! # itsm-specialist
//!
//! The specialists-as-a-service domain of itsm-rs (capabilities S1-S5): a catalog of
//! [offerings](Offering) that specialist teams (database administration, networking...)
//! provide, with typed inputs and response targets; [requests](SpecialistRequest) with a
//! checked lifecycle; and the [`SpecialistCatalog`] port backends implement.
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
//! | `mock` | `MockSpecialistCatalog`, a `mockall` mock of [`SpecialistCatalog`] |

pub mod catalog;
pub mod model;

#[cfg(feature = "mock")]
pub use catalog::MockSpecialistCatalog;
pub use catalog::{SpecialistCatalog, capability};
pub use model::*;

#[cfg(test)]
mod object_safety {
    use super::*;
    static_assertions::assert_obj_safe!(SpecialistCatalog);
    static_assertions::assert_impl_all!(std::sync::Arc<dyn SpecialistCatalog>: Send, Sync, std::fmt::Debug);
}
