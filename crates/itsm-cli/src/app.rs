//! What a command runs against: the configuration, the store and the change and incident
//! workflows.

use std::sync::Arc;

use itsm_change::ChangeWorkflow;
use itsm_cli::incidents::{apply_directory, workflow_over};
use itsm_core::{Clock, Recipient, Result, SystemClock};
use itsm_incident::{IncidentWorkflow, WorkflowSettings};
use itsm_local::LocalStore;
use time::Duration;

use crate::backends::Backends;
use crate::cli::Output;
use crate::config::Config;

/// The opened backend and the workflow over it.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) store: LocalStore,
    pub(crate) backends: Backends,
    pub(crate) workflow: ChangeWorkflow,
    pub(crate) output: Output,
}

impl App {
    /// Opens the configured store (creating the database and its directory when needed).
    pub(crate) fn open(config: Config, output: Output) -> Result<App> {
        Self::open_with_clock(config, output, Arc::new(SystemClock))
    }

    /// Opens the configured store with a given clock.
    pub(crate) fn open_with_clock(
        config: Config,
        output: Output,
        clock: Arc<dyn Clock>,
    ) -> Result<App> {
        // The workflow applies the configured freeze windows (policy and gate); the store is
        // not given them too, or the gate would report each freeze twice.
        let backends = Backends::open(&config, clock.clone())?;
        let store = backends.store.clone();
        let workflow =
            ChangeWorkflow::new(backends.changes.clone(), Arc::new(store.clone()), clock)
                .with_policy(config.policy)
                .with_freezes(config.freezes.clone())
                .with_window(Duration::hours(i64::from(config.change.window_hours)))
                .with_change_manager(Recipient::Role(config.change.change_manager.clone()));
        Ok(App {
            store,
            backends,
            workflow,
            output,
        })
    }
}

/// The store with the configured `[[team]]`s and incident manager applied, the configured
/// ticketing system and paging platform, and the incident workflow over them (the same
/// workflow `itsm serve` runs for alerts).
#[derive(Debug)]
pub(crate) struct Incidents {
    pub(crate) store: LocalStore,
    pub(crate) backends: Backends,
    pub(crate) workflow: IncidentWorkflow,
}

impl Incidents {
    /// Opens the configured store on the system clock.
    pub(crate) async fn open(config: &Config) -> Result<Incidents> {
        Self::open_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Opens the configured store with a given clock (who is on call depends on it).
    pub(crate) async fn open_with_clock(
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Incidents> {
        let backends = Backends::open(config, clock.clone())?;
        let store = backends.store.clone();
        apply_directory(&store, &config.incident, &config.teams).await?;
        let settings = WorkflowSettings {
            incident_manager: config.incident.manager.clone(),
            ..WorkflowSettings::default()
        };
        let workflow = workflow_over(&store, &backends.systems, clock, settings);
        Ok(Incidents {
            store,
            backends,
            workflow,
        })
    }
}

/// Opens the configured audit ledger: SQLite (by default in the backend's database file) or
/// PostgreSQL.
pub(crate) async fn open_ledger(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn itsm_audit::AuditStore>> {
    use crate::config::AuditStoreKind;
    match config.audit.store {
        AuditStoreKind::Sqlite => {
            let path = config.audit.db.clone().unwrap_or_else(|| config.db_path());
            Ok(Arc::new(itsm_audit::sqlite::SqliteAuditStore::open(
                path, clock,
            )?))
        }
        AuditStoreKind::Postgres => {
            let url = config.audit.url.as_deref().unwrap_or_default();
            Ok(Arc::new(
                itsm_audit::postgres::PostgresAuditStore::connect(url, clock).await?,
            ))
        }
    }
}

/// Every record of the ledger in chain order, read page by page with a progress bar.
pub(crate) async fn load_ledger(
    ledger: &dyn itsm_audit::AuditStore,
    label: &'static str,
) -> Result<Vec<itsm_audit::DeploymentRecord>> {
    let head = ledger.head().await?;
    let mut progress = crate::progress::Progress::new(label, head);
    let mut all = Vec::with_capacity(usize::try_from(head).unwrap_or(0));
    let mut next = 1;
    while next <= head {
        let page = ledger.scan(next, PAGE).await?;
        let Some(last) = page.last() else { break };
        next = last.seq + 1;
        progress.add(page.len() as u64);
        all.extend(page);
    }
    progress.finish();
    Ok(all)
}

/// Records read per page from the ledger.
pub(crate) const PAGE: u32 = 10_000;
