//! # itsm-pagerduty
//!
//! The itsm-rs adapter for PagerDuty. It will implement `itsm_incident::Pager` over the
//! Events API v2 (trigger / acknowledge / resolve with our dedup key, change events) and the
//! REST API v2 (incidents, notes, reassignment, priorities, responder requests, on-calls),
//! and verify webhooks v3 signatures for `itsm serve`, all through `itsm-http`.
//!
//! Status: the crate exists so that the workspace layout and dependency rules are fixed;
//! the adapter itself is tracked as its own issue. The endpoint each trait method will
//! call is listed in `docs/architecture.md`.

/// The system name this adapter puts in `itsm_core::ExternalRef::system`.
pub const SYSTEM: &str = "pagerduty";
