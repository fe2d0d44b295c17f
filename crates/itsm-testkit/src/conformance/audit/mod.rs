//! The conformance suite of [`AuditStore`].
//!
//! Every check appends under keys and a service unique to its call
//! (`conformance/<token>/<check>/...`), so it can run against a shared ledger that already
//! holds records (from other runs, or from other processes appending at the same time): it
//! asserts relative facts only, and relies on these rules, which every store keeps:
//!
//! - an appended record holds what was appended, carries
//!   [`record_hash`](itsm_audit::chain::record_hash) of its content, and is found by its key;
//! - appending again with a key returns the first record; invalid deployments are refused
//!   with [`ErrorKind::InvalidInput`](itsm_core::ErrorKind::InvalidInput) and not written;
//! - a batch is appended as consecutive, linked records, or not at all;
//! - records link to their predecessors, so that a scan verifies intact;
//! - `list` filters and pages newest first; incident links are upserted per incident and
//!   refused for unknown deployments.
//!
//! [`run_all`] runs every check; each is also a public function.

mod append;
mod query;
mod scope;

use itsm_audit::AuditStore;
use itsm_core::Result;

pub use append::{
    append_and_find, batch_all_or_nothing, batch_append, chain_links, idempotent_append,
    refuses_invalid,
};
pub use query::{incident_links, list_deployments};

use super::{Outcome, Report};

/// Runs every check of the suite, in order, and reports which ran and which were skipped.
///
/// # Panics
///
/// When a check fails: the message names the check, the backend and what went wrong.
pub async fn run_all(store: &dyn AuditStore) -> Report {
    let mut report = Report::default();
    let mut record = |name: &'static str, result: Result<Outcome>| match result {
        Ok(outcome) => report.checks.push((name, outcome)),
        Err(e) => panic!(
            "conformance check {name} on the {} backend failed with an unexpected error: {e}",
            store.capabilities().backend()
        ),
    };
    record("append_and_find", append_and_find(store).await);
    record("idempotent_append", idempotent_append(store).await);
    record("refuses_invalid", refuses_invalid(store).await);
    record("batch_append", batch_append(store).await);
    record("batch_all_or_nothing", batch_all_or_nothing(store).await);
    record("chain_links", chain_links(store).await);
    record("list_deployments", list_deployments(store).await);
    record("incident_links", incident_links(store).await);
    report
}
