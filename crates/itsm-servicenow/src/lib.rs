//! # itsm-servicenow
//!
//! The itsm-rs adapter for ServiceNow-style instances. It will implement
//! `itsm_change::ChangeSystem` over the Change Management API (`/api/sn_chg_rest/change/*`:
//! standard changes from templates, normal and emergency changes, approvals, next states,
//! conflicts), `itsm_incident::IncidentSystem` over the Table API (`/api/now/table/incident`,
//! keyed by `correlation_id`), and `itsm_specialist::SpecialistCatalog` over the Service
//! Catalog API (`/api/sn_sc/servicecatalog/items/*`), all through `itsm-http`.
//!
//! Status: the crate exists so that the workspace layout and dependency rules are fixed;
//! the adapter itself is tracked as its own issue. The endpoint each trait method will
//! call is listed in `docs/architecture.md`.

/// The system name this adapter puts in `itsm_core::ExternalRef::system`.
pub const SYSTEM: &str = "servicenow";
