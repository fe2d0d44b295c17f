//! # itsm-testkit
//!
//! Test support for code built on itsm-rs:
//!
//! - `mockall` mocks of every port trait, re-exported here so a test needs one dependency:
//!   [`MockChangeSystem`], [`MockIncidentSystem`], [`MockPager`], [`MockTeamDirectory`], [`MockAuditStore`],
//!   [`MockSpecialistCatalog`], [`MockStepLog`] and [`MockNotifier`];
//! - [`conformance`] suites every implementation of a port runs ([`conformance::change`]
//!   for `ChangeSystem`, [`conformance::incident`] for `IncidentSystem`,
//!   [`conformance::pager`] for `Pager`; see the module for how to run one from a test);
//! - [`outside_part`]: how a test finds a database, mock server or spec file (skip outside
//!   CI, fail under `ITSM_CI=1`);
//! - [`prism::PrismMock`]: a spec-validating Prism mock server for contract tests;
//! - [`sim::SimServer`]: serving a stateful vendor simulator on loopback, optionally behind a
//!   seeded [fault plan](sim::faults) (5xx, 429, resets, delays, lost answers; `ITSM_SIM_FAULTS`);
//! - `fuzz` (feature `proptest`): the property-test configuration and strategies (hostile
//!   bytes, mutated JSON and TOML) the inbound parsers' property tests share.
//!
//! ```
//! use std::sync::Arc;
//! use itsm_change::{capability, ChangeSystem};
//! use itsm_core::Capabilities;
//! use itsm_testkit::MockChangeSystem;
//!
//! let mut mock = MockChangeSystem::new();
//! mock.expect_capabilities()
//!     .returning(|| Capabilities::new("mock").with(capability::NORMAL));
//! let system: Arc<dyn ChangeSystem> = Arc::new(mock);
//! assert!(system.capabilities().supports(capability::NORMAL));
//! assert!(!system.capabilities().supports(capability::STANDARD));
//! ```
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `proptest` | `fuzz`: the property-test configuration and strategies (hostile bytes, mutated JSON and TOML payloads) |

#[cfg(feature = "proptest")]
mod config_properties;
pub mod conformance;
#[cfg(feature = "proptest")]
pub mod fuzz;
mod outside;
pub mod prism;
pub mod sim;

pub use outside::{in_ci, outside_part};

pub use itsm_audit::MockAuditStore;
pub use itsm_change::MockChangeSystem;
pub use itsm_core::MockNotifier;
pub use itsm_incident::{MockIncidentSystem, MockPager, MockTeamDirectory};
pub use itsm_pipeline::MockStepLog;
pub use itsm_specialist::MockSpecialistCatalog;
