//! Which systems the commands run against, from the configuration: the embedded store
//! always (team directory, notifications, sync state, tenants), the change and ticketing
//! system of `[backend] kind` (the store, ServiceNow or Jira), and the paging platform (the
//! store, or PagerDuty when `[pagerduty]` / `PAGERDUTY_*` is configured), the specialist
//! catalog (the vendor's when `[backend] kind` names a vendor whose table configures
//! specialist offerings, the store's otherwise), with the webhooks `itsm serve` mounts for
//! them.

use std::sync::Arc;

use itsm_change::ChangeSystem;
use itsm_cli::incidents::Systems;
use itsm_core::{Clock, Error, ErrorKind, Result};
use itsm_incident::inbound::webhook::WebhookSource;
use itsm_incident::{IncidentSystem, Pager};
use itsm_jira::Jira;
use itsm_local::LocalStore;
use itsm_pagerduty::{PagerDuty, PagerDutyWebhooks};
use itsm_servicenow::ServiceNow;
use itsm_servicenow::webhook::ServiceNowWebhook;
use itsm_specialist::SpecialistCatalog;

use crate::config::Config;

/// The opened systems.
#[derive(Debug, Clone)]
pub(crate) struct Backends {
    /// The embedded store.
    pub(crate) store: LocalStore,
    /// Where changes live.
    pub(crate) changes: Arc<dyn ChangeSystem>,
    /// Ticketing and paging, with their names.
    pub(crate) systems: Systems,
    /// Where specialist offerings and requests live, and its system's name.
    pub(crate) specialists: Arc<dyn SpecialistCatalog>,
    pub(crate) specialist_system: &'static str,
    /// PagerDuty, when configured (change events go there).
    pub(crate) pagerduty: Option<Arc<PagerDuty>>,
    /// The webhooks of the configured vendors.
    pub(crate) webhooks: Vec<Arc<dyn WebhookSource>>,
}

impl Backends {
    /// Opens the store and builds the configured adapters (no network call is made).
    pub(crate) fn open(config: &Config, clock: Arc<dyn Clock>) -> Result<Backends> {
        let store = LocalStore::open(config.db_path(), clock)?;
        let local = Arc::new(store.clone());
        let mut webhooks: Vec<Arc<dyn WebhookSource>> = Vec::new();
        let mut specialists: (Arc<dyn SpecialistCatalog>, &'static str) =
            (local.clone(), itsm_local::SYSTEM);
        let (changes, incidents, ticketing_system): (
            Arc<dyn ChangeSystem>,
            Arc<dyn IncidentSystem>,
            &'static str,
        ) = match (config.backend.kind.as_str(), &config.servicenow) {
            ("servicenow", Some(servicenow)) => {
                let adapter = Arc::new(ServiceNow::new(servicenow.clone())?);
                if servicenow.webhook.is_configured() {
                    webhooks.push(Arc::new(ServiceNowWebhook::from_config(servicenow)?));
                }
                let catalog = &servicenow.catalog;
                if !catalog.items.is_empty() || !catalog.categories.is_empty() {
                    specialists = (adapter.clone(), itsm_servicenow::SYSTEM);
                }
                (adapter.clone(), adapter, itsm_servicenow::SYSTEM)
            }
            ("servicenow", None) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    "[backend] kind = \"servicenow\" needs a [servicenow] table",
                ));
            }
            ("jira", _) => {
                let Some(jira) = &config.jira else {
                    return Err(Error::new(
                        ErrorKind::Config,
                        "[backend] kind = \"jira\" needs a [jira] table",
                    ));
                };
                let adapter = Arc::new(Jira::new(jira.clone())?);
                webhooks.push(Arc::new(adapter.webhook_source()));
                if jira.specialist.is_some() {
                    specialists = (adapter.clone(), itsm_jira::SYSTEM);
                }
                (adapter.clone(), adapter, itsm_jira::SYSTEM)
            }
            _ => (local.clone(), local.clone(), itsm_local::SYSTEM),
        };
        let (pager, paging_system, pagerduty): (Arc<dyn Pager>, &'static str, _) =
            match &config.pagerduty {
                Some(pd) => {
                    let adapter = Arc::new(PagerDuty::new(pd.clone())?);
                    if !pd.webhook_secrets.is_empty() {
                        webhooks.push(Arc::new(PagerDutyWebhooks::from_config(pd)));
                    }
                    (adapter.clone(), itsm_pagerduty::SYSTEM, Some(adapter))
                }
                None => (local, itsm_local::SYSTEM, None),
            };
        Ok(Backends {
            store,
            changes,
            systems: Systems {
                incidents,
                ticketing_system,
                pager,
                paging_system,
            },
            specialists: specialists.0,
            specialist_system: specialists.1,
            pagerduty,
            webhooks,
        })
    }

    /// Whether specialist offerings and requests live in the embedded store (which then
    /// serves the `[specialist] catalog` file).
    pub(crate) fn local_specialists(&self) -> bool {
        self.specialist_system == itsm_local::SYSTEM
    }

    /// Whether tickets live in the embedded store (its notes and resolutions can be read).
    pub(crate) fn local_ticketing(&self) -> bool {
        self.systems.ticketing_system == itsm_local::SYSTEM
    }
}
