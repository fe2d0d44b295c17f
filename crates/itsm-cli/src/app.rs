//! What a command runs against: the configuration, the store and the change workflow.

use std::sync::Arc;

use itsm_change::ChangeWorkflow;
use itsm_core::{Clock, Recipient, Result, SystemClock};
use itsm_local::LocalStore;
use time::Duration;

use crate::cli::Output;
use crate::config::Config;

/// The opened backend and the workflow over it.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) store: LocalStore,
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
        let path = config.db_path();
        // The workflow applies the configured freeze windows (policy and gate); the store is
        // not given them too, or the gate would report each freeze twice.
        let store = LocalStore::open(&path, clock.clone())?;
        let workflow = ChangeWorkflow::new(Arc::new(store.clone()), Arc::new(store.clone()), clock)
            .with_policy(config.policy)
            .with_freezes(config.freezes.clone())
            .with_window(Duration::hours(i64::from(config.change.window_hours)))
            .with_change_manager(Recipient::Role(config.change.change_manager.clone()));
        Ok(App {
            store,
            workflow,
            output,
        })
    }
}
