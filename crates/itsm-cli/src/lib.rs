//! The library side of the `itsm` command: the parts an embedder can run on its own.
//!
//! - [`serve`]: the alert bridge server behind `itsm serve`.
//! - [`incidents`]: the `[incident]` / `[[team]]` settings and the processor that runs the
//!   incident workflow for every queued alert.
//!
//! The pipeline commands' library call is [`itsm_pipeline::Pipeline`], in its own crate.
//!
//! Run the alert bridge over the embedded store, as `itsm serve` does with the default
//! configuration (`no_run`: it listens on a socket until a signal):
//!
//! ```no_run
//! use std::sync::Arc;
//! use itsm_cli::incidents::{IncidentConfig, WorkflowProcessor};
//! use itsm_cli::serve::{ServeConfig, Server};
//! use itsm_core::SystemClock;
//! use itsm_incident::WorkflowSettings;
//! use itsm_local::LocalStore;
//!
//! # #[tokio::main]
//! # async fn main() -> itsm_core::Result<()> {
//! let clock = Arc::new(SystemClock);
//! let store = LocalStore::open("/var/lib/itsm/itsm.db", clock.clone())?;
//! let incident = IncidentConfig::default();
//! let processor = WorkflowProcessor::local(
//!     store,
//!     clock,
//!     WorkflowSettings::default(),
//!     incident.default_profile()?,
//! );
//! let config = ServeConfig {
//!     listen: "127.0.0.1:8080".parse().expect("a socket address"),
//!     queue_db: Some("/var/lib/itsm/alert-queue.db".into()),
//!     ..ServeConfig::default()
//! };
//! let server = Server::builder(config)
//!     .processor(Arc::new(processor))
//!     .parse_options(incident.parse_options())
//!     .bind()
//!     .await?;
//! println!("accepting alerts on http://{}", server.local_addr());
//! server.run(itsm_cli::serve::shutdown::signal()).await
//! # }
//! ```
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `mock` | `serve::MockAlertProcessor`, a `mockall` mock of [`serve::AlertProcessor`] |

pub mod incidents;
pub mod serve;
