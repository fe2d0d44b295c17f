//! # itsm-pipeline
//!
//! The three moments a deployment pipeline meets change management, one library call
//! each, so a pipeline (or a deploy bot) needs three lines:
//!
//! | moment | call | what it does |
//! |---|---|---|
//! | after the last pre-production step | [`Pipeline::raise`] | raises a standard or normal change, as the policy decides |
//! | before production | [`Pipeline::gate`] | allowed only with an approved change for exactly this deployment; fails closed |
//! | after production | [`Pipeline::finish`] | closes the change, records the deployment in the audit ledger, sends the change event to the paging platform |
//!
//! This is the one place where the change, audit and incident domains meet: the `itsm`
//! command (`itsm change raise|gate|close`) runs these same calls.
//!
//! ```
//! use std::sync::Arc;
//! use itsm_audit::sqlite::SqliteAuditStore;
//! use itsm_change::{ApprovalDecision, ChangeWorkflow, Deployment, DeploymentResult};
//! use itsm_core::{CommitId, Environment, Person, PipelineRunId, ServiceId, SystemClock, Version};
//! use itsm_local::LocalStore;
//! use itsm_pipeline::{Artifact, ChangeEventSent, Pipeline};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> itsm_core::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let db = dir.path().join("itsm.db");
//! let clock = Arc::new(SystemClock);
//! // The embedded store keeps the changes, pages and the step log; the ledger shares its file.
//! let store = Arc::new(LocalStore::open(&db, clock.clone())?);
//! let ledger = Arc::new(SqliteAuditStore::open(&db, clock.clone())?);
//! let changes = ChangeWorkflow::new(store.clone(), store.clone(), clock.clone());
//! let pipeline = Pipeline::new(changes, clock)
//!     .with_ledger(ledger)
//!     .with_pager(store.clone())
//!     .with_step_log(store.clone());
//!
//! let deployment = Deployment {
//!     service: ServiceId::new("checkout")?,
//!     version: Version::new("1.4.2")?,
//!     environment: Environment::production(),
//!     pipeline_run: PipelineRunId::new("gh-991")?,
//!     commits: vec![CommitId::new("9fceb02")?],
//!     requested_by: Some(Person::named("deploy-bot")),
//!     links: vec![],
//! };
//!
//! // 1. After staging. No template covers checkout, so it is a normal change.
//! let raised = pipeline.raise(&deployment, false).await?;
//! let change = raised.change.expect("not a dry run");
//! assert!(!pipeline.gate(&deployment).await.is_allowed());
//!
//! // The change manager approves it.
//! let approve = ApprovalDecision { approve: true, by: Person::named("Casey"), comment: None };
//! pipeline.changes().system().decide(&change.id, &approve).await?;
//!
//! // 2. Before production.
//! assert!(pipeline.gate(&deployment).await.is_allowed());
//!
//! // 3. After production: close + record + change event, safe to re-run.
//! let result = DeploymentResult { succeeded: true, started_at: None, finished_at: None, notes: None };
//! let artifact = Artifact::new("sha256:4f2a9c");
//! let finished = pipeline.finish(&deployment, &result, Some(&artifact)).await?;
//! assert_eq!(finished.recorded.as_ref().map(|r| r.seq), Some(1));
//! assert_eq!(finished.change_event, Some(ChangeEventSent { already: false }));
//!
//! let again = pipeline.finish(&deployment, &result, Some(&artifact)).await?;
//! assert_eq!(again.recorded.map(|r| r.seq), Some(1));
//! assert_eq!(again.change_event, Some(ChangeEventSent { already: true }));
//! # Ok(()) }
//! ```
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `mock` | `MockStepLog`, a `mockall` mock of [`StepLog`] (re-exported by itsm-testkit) |

mod facts;
mod pipeline;
mod steps;

pub use facts::{Artifact, evidence};
pub use pipeline::{ChangeEventSent, Finished, Pipeline};
#[cfg(feature = "mock")]
pub use steps::MockStepLog;
pub use steps::{MemoryStepLog, StepLog};
