//! The processor `itsm serve` hands queued alerts to: the incident workflow over the
//! embedded store, with the alerting profile of the alert's tenant.

use std::sync::Arc;

use async_trait::async_trait;
use itsm_core::{Clock, Error, ErrorKind, Result};
use itsm_incident::{
    Alert, AlertOutcome, AlertStatus, AlertingProfile, IncidentSystem, IncidentWorkflow, Pager,
    WorkflowSettings,
};
use itsm_local::LocalStore;

use crate::serve::AlertProcessor;

/// Finds the alerting profile for an alert: its tenant's current profile, or the default
/// for alerts without a tenant and for tenants not onboarded.
#[derive(Debug, Clone)]
pub struct TenantProfiles {
    store: LocalStore,
    default: AlertingProfile,
}

impl TenantProfiles {
    /// Profiles from `store`'s tenants, falling back to `default`.
    pub fn new(store: LocalStore, default: AlertingProfile) -> Self {
        TenantProfiles { store, default }
    }

    /// The profile for `alert`.
    ///
    /// Errors: the store's errors; [`ErrorKind::Internal`] when a stored profile no longer
    /// parses (profiles are checked when stored, so this means the database was edited).
    pub async fn for_alert(&self, alert: &Alert) -> Result<AlertingProfile> {
        let Some(tenant) = &alert.tenant else {
            return Ok(self.default.clone());
        };
        match self.store.tenant(tenant).await? {
            None => Ok(self.default.clone()),
            Some(record) => AlertingProfile::from_toml(&record.toml).map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!(
                        "tenant {tenant}'s stored profile {} v{} does not parse: {}; store a valid one with `itsm tenant set-profile`",
                        record.profile_name,
                        record.version,
                        e.message()
                    ),
                )
            }),
        }
    }
}

/// Opens, pages, and resolves through [`IncidentWorkflow`] for every queued alert.
#[derive(Debug, Clone)]
pub struct WorkflowProcessor {
    workflow: IncidentWorkflow,
    profiles: TenantProfiles,
}

impl WorkflowProcessor {
    /// A processor over any workflow.
    pub fn new(workflow: IncidentWorkflow, profiles: TenantProfiles) -> Self {
        WorkflowProcessor { workflow, profiles }
    }

    /// The workflow over the embedded store as ticketing system, paging platform, team
    /// directory and notifier.
    pub fn local(
        store: LocalStore,
        clock: Arc<dyn Clock>,
        settings: WorkflowSettings,
        default_profile: AlertingProfile,
    ) -> Self {
        let workflow = local_workflow(&store, clock, settings);
        WorkflowProcessor::new(workflow, TenantProfiles::new(store, default_profile))
    }
}

/// The incident workflow over the embedded store as ticketing system, paging platform,
/// team directory and notifier; both systems are named `local` in the links it makes.
pub fn local_workflow(
    store: &LocalStore,
    clock: Arc<dyn Clock>,
    settings: WorkflowSettings,
) -> IncidentWorkflow {
    let shared = Arc::new(store.clone());
    let systems = Systems {
        incidents: shared.clone(),
        ticketing_system: itsm_local::SYSTEM,
        pager: shared,
        paging_system: itsm_local::SYSTEM,
    };
    workflow_over(store, &systems, clock, settings)
}

/// The ticketing system and paging platform incidents run on, with the system names their
/// links carry (`local`, `servicenow`, `pagerduty`, ...).
#[derive(Debug, Clone)]
pub struct Systems {
    /// The ticketing system.
    pub incidents: Arc<dyn IncidentSystem>,
    /// Its name in links.
    pub ticketing_system: &'static str,
    /// The paging platform.
    pub pager: Arc<dyn Pager>,
    /// Its name in links.
    pub paging_system: &'static str,
}

/// The incident workflow over `systems`, with the embedded store as team directory and
/// notifier.
pub fn workflow_over(
    store: &LocalStore,
    systems: &Systems,
    clock: Arc<dyn Clock>,
    mut settings: WorkflowSettings,
) -> IncidentWorkflow {
    settings.ticketing_system = systems.ticketing_system.to_owned();
    settings.paging_system = systems.paging_system.to_owned();
    let shared = Arc::new(store.clone());
    IncidentWorkflow::new(
        systems.incidents.clone(),
        systems.pager.clone(),
        shared.clone(),
        shared,
        clock,
        settings,
    )
}

/// Acts on the alert through the workflow. Out of order deliveries end resolved: a
/// resolution that finds nothing to resolve is remembered in the store, and the firing of
/// that occurrence delivered after it opens and then resolves at once (one incident and one
/// page, both resolved, instead of an incident left open for an alert that has cleared).
/// A firing that starts after the remembered resolution is a new occurrence and stays open.
#[async_trait]
impl AlertProcessor for WorkflowProcessor {
    async fn process(&self, alert: &Alert) -> Result<()> {
        let profile = self.profiles.for_alert(alert).await?;
        let outcome = self.workflow.handle_alert(alert, &profile).await?;
        let store = &self.profiles.store;
        let key = &alert.dedup_key;
        if !alert.is_firing() {
            if matches!(outcome, AlertOutcome::NothingToResolve) {
                store.record_early_resolution(key, alert.ends_at).await?;
            }
            return Ok(());
        }
        // Only a firing that began before the resolution is the late half of that pair; a
        // firing that starts after it is a new occurrence under a reused key.
        if let Some(at) = store.early_resolution(key).await?
            && at >= alert.starts_at
        {
            let mut cleared = alert.clone();
            cleared.status = AlertStatus::Resolved;
            cleared.ends_at = Some(at);
            self.workflow.handle_alert(&cleared, &profile).await?;
        }
        Ok(())
    }
}
