//! # itsm-jira
//!
//! The itsm-rs adapter for Jira Cloud with Jira Service Management. It will implement
//! `itsm_change::ChangeSystem` (change requests as JSM requests with approvals and
//! transitions), `itsm_incident::IncidentSystem` (issues of a configured type, found by our
//! key through `/rest/api/3/search/jql`) and `itsm_specialist::SpecialistCatalog`
//! (servicedeskapi request types), all through `itsm-http`.
//!
//! Status: the crate exists so that the workspace layout and dependency rules are fixed;
//! the adapter itself is tracked as its own issue. The endpoint each trait method will
//! call is listed in `docs/architecture.md`.

/// The system name this adapter puts in `itsm_core::ExternalRef::system`.
pub const SYSTEM: &str = "jira";
