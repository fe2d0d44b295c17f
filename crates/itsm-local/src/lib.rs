//! # itsm-local
//!
//! The embedded local backend of itsm-rs: every port trait (`ChangeSystem`,
//! `IncidentSystem`, `Pager`, `AuditStore`, `SpecialistCatalog`) over one SQLite database,
//! so that the whole product runs on one machine with no SaaS account. It is the default
//! backend of the `itsm` command.
//!
//! Status: the crate exists so that the workspace layout and dependency rules are fixed;
//! each domain's SQLite implementation lands with that domain's issue.

/// The system name this backend puts in `itsm_core::ExternalRef::system`.
pub const SYSTEM: &str = "local";
