//! Incident management on the embedded store: the `[incident]` and `[[team]]` settings of
//! `itsm.toml`, and the [`WorkflowProcessor`] that `itsm serve` hands queued alerts to.

mod directory;
mod processor;

pub use directory::{IncidentConfig, ScheduleConfig, TeamConfig, apply_directory};
pub use processor::{Systems, TenantProfiles, WorkflowProcessor, local_workflow, workflow_over};
