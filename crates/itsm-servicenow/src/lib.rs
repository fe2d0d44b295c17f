//! # itsm-servicenow
//!
//! The itsm-rs adapter for ServiceNow-style instances (WIP docs).

mod api;
mod change;
mod change_map;
mod client;
pub mod config;
mod incident;
mod journal;
mod record;
mod webhook;

pub use client::ServiceNow;
pub use config::ServiceNowConfig;
pub use webhook::ServiceNowWebhook;

/// The system name this adapter puts in `itsm_core::ExternalRef::system`.
pub const SYSTEM: &str = "servicenow";
