//! # itsm-pagerduty
//!
//! The itsm-rs adapter for PagerDuty:
//!
//! - [`PagerDuty`] implements [`itsm_incident::Pager`]: trigger / acknowledge / resolve go
//!   through the Events API v2 with our [`IdempotencyKey`](itsm_core::IdempotencyKey) as the
//!   `dedup_key` (a retry never opens a second incident), change events through
//!   `/v2/change/enqueue`, and the rest (look-ups, reassignment, priority, notes, responder
//!   requests, on-call) through the REST API v2. It also creates and lists incidents over
//!   REST, posts status updates and lists services.
//! - [`PagerDutyWebhooks`] implements
//!   [`WebhookSource`](itsm_incident::inbound::webhook::WebhookSource) for webhooks v3
//!   (`X-PagerDuty-Signature`, several secrets during rotation).
//! - [`PagerDutyConfig`] is the `[pagerduty]` table of `itsm.toml` with its `PAGERDUTY_*`
//!   environment overlay.
//!
//! All HTTP goes through `itsm-http` (retries, client-side rate limits, error mapping,
//! redaction). Events are retried on 429 and 5xx (enqueueing is idempotent on the dedup
//! key); REST calls are limited to 960 requests a minute per API key and events to 120 a
//! minute per routing key by default.
//!
//! ```no_run
//! use std::sync::Arc;
//! use itsm_core::{IdempotencyKey, ServiceId};
//! use itsm_incident::{NewPage, Pager, Severity};
//! use itsm_pagerduty::{PagerDuty, PagerDutyConfig, PagerDutyWebhooks};
//!
//! # async fn run() -> itsm_core::Result<()> {
//! let config: PagerDutyConfig = toml::from_str(r#"
//!     from_email = "itsm-bot@example.com"
//!     [teams]
//!     payments = "PEPPAY1"
//! "#).expect("valid TOML");
//! // Secrets come from PAGERDUTY_API_TOKEN, PAGERDUTY_ROUTING_KEY, PAGERDUTY_WEBHOOK_SECRETS.
//! let config = config.with_process_env()?;
//! let webhooks = PagerDutyWebhooks::from_config(&config); // for `itsm serve`
//! let pager: Arc<dyn Pager> = Arc::new(PagerDuty::new(config)?);
//!
//! let key = IdempotencyKey::new("alertmanager/checkout/HighLatency")?;
//! let page = pager
//!     .trigger(&key, &NewPage {
//!         summary: "checkout p99 latency above 2 s".into(),
//!         severity: Severity::Critical,
//!         source: "prometheus-eu-1".into(),
//!         service: ServiceId::new("checkout")?,
//!         routing: None,
//!         links: vec![],
//!         details: Default::default(),
//!     })
//!     .await?;
//! println!("paged: {:?}", page.id);
//! pager.resolve(&key, None).await?;
//! # let _ = webhooks;
//! # Ok(())
//! # }
//! ```
//!
//! The endpoint behind each port method is listed in `docs/adapters/pagerduty.md`.

mod adapter;
pub mod config;
mod convert;
mod event_body;
mod events;
mod incidents;
mod pager;
mod rest;
pub mod webhook;
pub mod wire;

pub use adapter::PagerDuty;
pub use config::{PagerDutyConfig, RateLimits};
pub use events::MAX_SUMMARY_CHARS;
pub use incidents::{NewRestIncident, PageFilter};
pub use rest::ACCEPT_V2;
pub use webhook::{PagerDutyWebhooks, SIGNATURE_HEADER};

/// The system name this adapter puts in `itsm_core::ExternalRef::system`.
pub const SYSTEM: &str = "pagerduty";

#[cfg(test)]
mod object_safety {
    static_assertions::assert_impl_all!(super::PagerDuty: itsm_incident::Pager, Send, Sync, Clone);
    static_assertions::assert_impl_all!(
        super::PagerDutyWebhooks: itsm_incident::inbound::webhook::WebhookSource
    );
}
