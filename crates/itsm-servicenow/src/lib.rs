//! # itsm-servicenow
//!
//! The itsm-rs adapter for ServiceNow-style instances. [`ServiceNow`] implements
//! [`ChangeSystem`](itsm_change::ChangeSystem) over the Change Management API
//! (`/api/sn_chg_rest/change/...`) and [`IncidentSystem`](itsm_incident::IncidentSystem)
//! over the Table API (`/api/now/table/incident`); [`ServiceNowWebhook`] is the
//! [`WebhookSource`](itsm_incident::inbound::webhook::WebhookSource) `itsm serve` mounts at
//! `POST /v1/webhooks/servicenow` for incident updates pushed by a business rule; it also
//! implements [`SpecialistCatalog`](itsm_specialist::SpecialistCatalog) over the Service
//! Catalog API (`/api/sn_sc/servicecatalog/...`) and requested items (`sc_req_item`),
//! configured in [`config::CatalogConfig`]. Every call
//! goes through `itsm-http` (retries on 429/503 after `Retry-After` / `X-RateLimit-Reset`,
//! status mapping, redaction; no cookie jar, so no session is reused).
//!
//! ```no_run
//! use std::sync::Arc;
//! use itsm_change::{ChangeFilter, ChangeSystem};
//! use itsm_core::{ListRequest, ServiceId};
//! use itsm_servicenow::{ServiceNow, ServiceNowConfig};
//!
//! # async fn run() -> itsm_core::Result<()> {
//! // `[servicenow]` of itsm.toml, then SERVICENOW_* variables (the password, say).
//! let mut config: ServiceNowConfig = ServiceNowConfig::default();
//! config.instance_url = Some("https://acme.service-now.com/".parse().expect("a URL"));
//! config.username = Some("itsm.integration".into());
//! config.apply_env()?; // SERVICENOW_PASSWORD
//! config.validate()?;
//! let changes: Arc<dyn ChangeSystem> = Arc::new(ServiceNow::new(config)?);
//!
//! let filter = ChangeFilter {
//!     service: Some(ServiceId::new("checkout")?),
//!     ..ChangeFilter::default()
//! };
//! for change in changes.list_changes(&filter, &ListRequest::with_limit(10)).await?.items {
//!     println!("{} {} {}", change.number.unwrap_or_default(), change.state, change.summary);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## What the instance needs
//!
//! - An integration user with the `itil` and `sn_change_write` roles (and approval rights
//!   when emergency changes are approved at creation, see [`config::ChangeSettings`]),
//!   Basic credentials or an OAuth bearer token.
//! - String fields the adapter reads and writes (names configurable in
//!   `[servicenow.fields]`): on `change_request` `u_itsm_version` and `u_itsm_environment`
//!   (required), `u_itsm_template`, `u_itsm_retroactive`, `u_itsm_pipeline_run`,
//!   `u_itsm_commits`; on `incident` `u_itsm_service_kind`, `u_itsm_acknowledged`,
//!   `u_itsm_links`, `u_itsm_tenant`; on standard change templates `u_itsm_service` and
//!   `u_itsm_environments`. ServiceNow ignores writes to fields it does not have, so
//!   optional ones degrade gracefully.
//! - CIs (`cmdb_ci`) named like the itsm-rs service ids: references are written by name.
//!
//! ## Idempotency
//!
//! ServiceNow has no idempotency key. Every create first looks our key up in
//! `correlation_id` (keys longer than its 100 characters are shortened with a hash) and
//! returns the record found, so a retry after "processed, answer lost" never creates a
//! second record. Work notes carry a marker line `[itsm key=<key>]`, looked up in
//! `sys_journal_field` before writing.
//!
//! ## Tolerant models
//!
//! Fields are read whatever their shape: `"6"` or `6`, `"true"`, references as
//! `{link, value}` or a plain sys_id, `{value, display_value}`; unknown fields are ignored.
//! State and close codes come from configuration with ServiceNow's defaults
//! ([`config::ChangeStates`], [`config::IncidentStates`], [`config::ChangeCloseCodes`]).
//!
//! ## Service Catalog
//!
//! ```no_run
//! use itsm_core::{IdempotencyKey, TeamId};
//! use itsm_servicenow::config::CatalogItem;
//! use itsm_servicenow::{ServiceNow, ServiceNowConfig};
//! use itsm_specialist::{InputValue, NewRequest, OfferingId, SpecialistCatalog, Urgency};
//!
//! # async fn run() -> itsm_core::Result<()> {
//! let url = "https://acme.service-now.com/".parse().expect("a URL");
//! let mut config = ServiceNowConfig::bearer(url, "token from SERVICENOW_TOKEN");
//! config.catalog.items.push(CatalogItem {
//!     sys_id: "0d08837237153000158bbfc8bcbe5d02".into(),
//!     id: Some("dba.new-database".into()),
//!     team: "dba".into(),
//!     response_target_minutes: Some(60),
//!     resolution_target_minutes: None,
//!     automated: false,
//! });
//! let catalog = ServiceNow::new(config)?;
//! let request = NewRequest {
//!     offering: OfferingId::new("dba.new-database")?,
//!     requester: TeamId::new("team-checkout")?,
//!     submitted_by: None,
//!     inputs: [("database_name".to_owned(), InputValue::Text("orders".into()))].into(),
//!     urgency: Urgency::Medium,
//! };
//! // Looks the key up first: a retry never orders twice.
//! let key = IdempotencyKey::new("pipeline/run-7/database")?;
//! let ritm = catalog.submit(&key, &request).await?;
//! println!("{} {:?}", ritm.number.unwrap_or_default(), ritm.state);
//! # Ok(())
//! # }
//! ```
//!
//! Offered items must carry the adapter's variable set (`itsm_key`, `itsm_requester`,
//! `itsm_submitted_by`, `itsm_urgency`): the key variable is what a retry looks up. See
//! `docs/adapters/servicenow.md` for the requests behind each operation.
//!
//! ## Not covered
//!
//! Standard change templates are read, not created (`create_template` is unsupported);
//! catalog order guides and record producers are not offered (only catalog items).
//!
//! The crate has no feature flags.

mod api;
mod catalog;
mod catalog_map;
mod catalog_order;
mod change;
mod change_map;
mod client;
pub mod config;
mod config_catalog;
mod incident;
mod incident_map;
mod journal;
mod record;
pub mod webhook;

pub use client::ServiceNow;
pub use config::ServiceNowConfig;
pub use webhook::ServiceNowWebhook;

/// The system name this adapter puts in `itsm_core::ExternalRef::system`.
pub const SYSTEM: &str = "servicenow";
