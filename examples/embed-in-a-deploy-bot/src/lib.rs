//! # embed-in-a-deploy-bot
//!
//! A deploy bot that uses itsm-rs as a library, not the `itsm` command: for one production
//! deployment it runs the gate, deploys (through its own [`Deployer`]; here a simulated
//! one), closes the change, records the deployment in the audit ledger and sends the change
//! event, all through [`itsm_pipeline::Pipeline`].
//!
//! ```
//! use std::sync::Arc;
//! use itsm_audit::sqlite::SqliteAuditStore;
//! use itsm_change::{ApprovalDecision, ChangeWorkflow, Deployment};
//! use itsm_core::{CommitId, Environment, Person, PipelineRunId, ServiceId, SystemClock, Version};
//! use itsm_local::LocalStore;
//! use itsm_pipeline::{Artifact, Pipeline};
//! use embed_in_a_deploy_bot::{DeployBot, Outcome, SimulatedDeployer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> itsm_core::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let db = dir.path().join("itsm.db");
//! let clock = Arc::new(SystemClock);
//! let store = Arc::new(LocalStore::open(&db, clock.clone())?);
//! let ledger = Arc::new(SqliteAuditStore::open(&db, clock.clone())?);
//! let pipeline = Pipeline::new(ChangeWorkflow::new(store.clone(), store.clone(), clock.clone()), clock.clone())
//!     .with_ledger(ledger)
//!     .with_pager(store.clone())
//!     .with_step_log(store.clone());
//! let bot = DeployBot::new(pipeline, Arc::new(SimulatedDeployer::succeeding(clock.clone())), clock)
//!     .with_step_log(store.clone());
//!
//! let deployment = Deployment {
//!     service: ServiceId::new("checkout")?,
//!     version: Version::new("1.4.2")?,
//!     environment: Environment::production(),
//!     pipeline_run: PipelineRunId::new("bot-run-1")?,
//!     commits: vec![CommitId::new("9fceb02")?],
//!     requested_by: Some(Person::named("deploy-bot")),
//!     links: vec![],
//! };
//! let artifact = Artifact::new("sha256:4f2a9c");
//!
//! // No approved change yet: the bot does not deploy.
//! let change = bot.pipeline().raise(&deployment, false).await?.change.expect("not a dry run");
//! assert!(matches!(bot.run(&deployment, &artifact).await?, Outcome::Denied { .. }));
//!
//! // The change manager approves; now the bot deploys, closes, records and announces.
//! let approve = ApprovalDecision { approve: true, by: Person::named("Casey"), comment: None };
//! bot.pipeline().changes().system().decide(&change.id, &approve).await?;
//! let Outcome::Deployed(report) = bot.run(&deployment, &artifact).await? else {
//!     panic!("the gate allows an approved change");
//! };
//! assert!(report.succeeded());
//! assert_eq!(report.finished.recorded.as_ref().map(|r| r.seq), Some(1));
//! # Ok(()) }
//! ```
//!
//! `src/main.rs` is the same path as a program (`cargo run -p embed-in-a-deploy-bot`); the
//! README shows how to put ServiceNow, Jira or PagerDuty behind the same bot.

mod bot;
mod deployer;

pub use bot::{DeployBot, DeployReport, Outcome};
pub use deployer::{Deployer, SimulatedDeployer};

#[cfg(test)]
mod tests;
