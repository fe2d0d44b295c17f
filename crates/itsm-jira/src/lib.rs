//! # itsm-jira
//!
//! The itsm-rs adapter for Jira Cloud with Jira Service Management.
//!
//! [`Jira`] implements [`ChangeSystem`](itsm_change::ChangeSystem) (changes as JSM requests
//! of configured request types, JSM approvals, transitions by a configurable status-name
//! mapping, ADF comments, close with a resolution),
//! [`IncidentSystem`](itsm_incident::IncidentSystem) (issues of a configured type) and
//! [`SpecialistCatalog`](itsm_specialist::SpecialistCatalog) (JSM request types), for the
//! record kinds its [`JiraConfig`] configures. [`JiraWebhook`] verifies and reads Jira's
//! issue webhooks for `itsm serve`.
//!
//! Every create first looks for an issue carrying our key through
//! `GET /rest/api/3/search/jql`, and carries the key itself (a label, or for incidents an
//! issue property): a retry after a lost answer finds the first issue instead of creating
//! a second. All HTTP goes through `itsm-http` with [`atlassian_retry_policy`].
//!
//! ```no_run
//! use itsm_core::{IdempotencyKey, ServiceId};
//! use itsm_incident::{Assignment, IncidentSystem, NewIncident, Priority, ServiceKind};
//! use itsm_jira::{IncidentConfig, Jira, JiraConfig};
//!
//! # async fn run() -> itsm_core::Result<()> {
//! let mut config = JiraConfig::new("https://example.atlassian.net".parse().unwrap());
//! config.email = Some("itsm@example.com".into());
//! config.api_token = Some("from-a-secret-store".to_owned().into());
//! config.incident = Some(IncidentConfig::for_project("OPS"));
//! config.apply_env()?; // JIRA_* variables win over the file
//! let jira = Jira::new(config)?;
//!
//! let incident = jira
//!     .create_incident(
//!         &IdempotencyKey::new("alertmanager/checkout-latency")?,
//!         &NewIncident {
//!             summary: "Checkout latency above SLO".into(),
//!             description: "p99 > 2 s for 10 minutes".into(),
//!             priority: Priority::P2,
//!             assignment: Assignment {
//!                 service: ServiceId::new("checkout")?,
//!                 kind: ServiceKind::DigitalService,
//!                 team: None,
//!             },
//!             tenant: None,
//!             links_to: vec![],
//!             links: vec![],
//!         },
//!     )
//!     .await?;
//! println!("opened {}", incident.id);
//! # Ok(())
//! # }
//! ```
//!
//! The `[jira]` table of `itsm.toml` deserialises into [`JiraConfig`]; see
//! `docs/adapters/jira.md` for every setting.

mod adapter;
mod adf;
mod body;
mod change;
mod client;
mod config;
mod incident;
mod labels;
mod model;
mod specialist;
mod status;
mod webhook;

pub use adapter::Jira;
pub use client::atlassian_retry_policy;
pub use config::{
    ChangeConfig, CloseResolutions, IncidentConfig, JiraConfig, KeyCarrier, MajorFlag,
    OfferingConfig, SpecialistConfig, TemplateConfig,
};
pub use status::{ChangeStatuses, IncidentStatuses, RequestStatuses};
pub use webhook::{DELIVERY_HEADER, JiraWebhook, SIGNATURE_HEADER};

/// The system name this adapter puts in `itsm_core::ExternalRef::system`.
pub const SYSTEM: &str = "jira";
