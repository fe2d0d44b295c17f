//! The library side of the `itsm` command: the parts an embedder can run on its own.
//!
//! - [`serve`]: the alert bridge server behind `itsm serve`.

pub mod serve;
