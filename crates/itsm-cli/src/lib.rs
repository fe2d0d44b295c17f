//! The library side of the `itsm` command: the parts an embedder can run on its own.
//!
//! - [`serve`]: the alert bridge server behind `itsm serve`.
//! - [`incidents`]: the `[incident]` / `[[team]]` settings and the processor that runs the
//!   incident workflow for every queued alert.

pub mod incidents;
pub mod serve;
