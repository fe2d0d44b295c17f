//! # custom-adapter
//!
//! An example of an itsm-rs adapter written outside the workspace's own crates, for
//! **Tickety**, a fictional ticketing tool:
//!
//! - [`server`]: Tickety itself, a small JSON HTTP API kept in memory and served on
//!   loopback, standing in for the vendor you are integrating;
//! - [`adapter`]: [`Tickety`](adapter::Tickety), which implements
//!   [`IncidentSystem`](itsm_incident::IncidentSystem) and
//!   [`ChangeSystem`](itsm_change::ChangeSystem) over that API through `itsm-http`;
//! - [`triage`]: a small piece of code written against the ports (not against Tickety),
//!   which the tests drive with the mocks of `itsm-testkit`.
//!
//! `cargo run -p custom-adapter` starts the server and walks an incident and a change
//! through the adapter; `cargo test -p custom-adapter` runs the itsm-testkit conformance
//! suites against it. `docs/writing-an-adapter.md` in the repository explains each part.

pub mod adapter;
pub mod server;
pub mod triage;
