//! The conformance suite of [`ChangeSystem`].
//!
//! Every check creates its own service (`conformance-<token>-<check>`), keys and records,
//! assumes nothing about the backend's id formats, and only relies on the rules stated on
//! [`ChangeSystem`] plus these, which every backend keeps:
//!
//! - a standard change made from a usable template is approved at creation, a normal one
//!   starts with approval not requested, an emergency one is approved;
//! - `request_approval` sets approval requested with at least one requested approval row;
//!   deciding before that, or the opposite of a recorded decision, is a conflict;
//! - an approved change is scheduled; it closes with a close code, closing again with the
//!   same code changes nothing and with another is a conflict;
//! - an unapproved change cannot move to implement, a canceled one cannot move or close;
//! - `list_changes` filters by service, version and environment and pages with `next`;
//! - an operation whose capability is absent answers [`ErrorKind::Unsupported`](itsm_core::ErrorKind::Unsupported).
//!
//! [`run_all`] runs every check; each is also a public function.

mod creation;
mod lifecycle;
mod scope;
mod unsupported;

use itsm_change::ChangeSystem;
use itsm_core::Result;

pub use creation::{
    emergency_change, idempotent_create, list_changes, lookups, standard_change, templates,
};
pub use lifecycle::{conflicts, illegal_transition, normal_lifecycle, notes, reject_path};
pub use unsupported::unsupported_operations;

use super::{Outcome, Report};

/// Runs every check of the suite, in order, and reports which ran and which were skipped.
///
/// # Panics
///
/// When a check fails: the message names the check, the backend and what went wrong.
pub async fn run_all(system: &dyn ChangeSystem) -> Report {
    let mut report = Report::default();
    let mut record = |name: &'static str, result: Result<Outcome>| match result {
        Ok(outcome) => report.checks.push((name, outcome)),
        Err(e) => panic!(
            "conformance check {name} on the {} backend failed with an unexpected error: {e}",
            system.capabilities().backend()
        ),
    };
    record("templates", templates(system).await);
    record("standard_change", standard_change(system).await);
    record("emergency_change", emergency_change(system).await);
    record("normal_lifecycle", normal_lifecycle(system).await);
    record("reject_path", reject_path(system).await);
    record("idempotent_create", idempotent_create(system).await);
    record("lookups", lookups(system).await);
    record("list_changes", list_changes(system).await);
    record("illegal_transition", illegal_transition(system).await);
    record("notes", notes(system).await);
    record("conflicts", conflicts(system).await);
    record(
        "unsupported_operations",
        unsupported_operations(system).await,
    );
    report
}
