//! Conformance suites: the behaviour every implementation of a port must show, written
//! once and run against each backend (the local store, the vendor simulators, a real
//! instance).
//!
//! Each check is a plain `async fn` taking the port as a trait object. It creates the
//! records it needs under keys and service names unique to the call, so a suite can run
//! again and again against a shared or remote system. A check whose capability the backend
//! does not declare is skipped (and says so on standard output); a check that finds wrong
//! behaviour panics with a message naming the check, the backend and what was expected,
//! and one that meets an unexpected error returns it.
//!
//! Run a whole suite from an async test of the backend's crate:
//!
//! ```no_run
//! # async fn open_backend() -> std::sync::Arc<dyn itsm_change::ChangeSystem> {
//! #     panic!("open your backend here")
//! # }
//! #[tokio::test]
//! async fn change_system_conformance() {
//!     let system = open_backend().await;
//!     let report = itsm_testkit::conformance::change::run_all(system.as_ref()).await;
//!     // A backend that should support everything can insist on it:
//!     assert!(report.skipped().is_empty(), "{report:?}");
//! }
//! ```
//!
//! or one check at a time (`conformance::change::normal_lifecycle(system).await?`).
//!
//! Suites: [`change`] for [`ChangeSystem`](itsm_change::ChangeSystem), [`incident`] for
//! [`IncidentSystem`](itsm_incident::IncidentSystem), [`pager`] for
//! [`Pager`](itsm_incident::Pager) and [`specialist`] for
//! [`SpecialistCatalog`](itsm_specialist::SpecialistCatalog).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use itsm_core::{Capabilities, Capability};

pub mod audit;
pub mod change;
pub mod incident;
pub mod pager;
mod scope;
pub mod specialist;

/// How one check ended (a failing check panics or returns an error instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The check ran and the backend behaved as required.
    Passed,
    /// The check did not run: the backend does not declare `missing`.
    Skipped {
        /// The first required capability the backend lacks.
        missing: Capability,
    },
}

/// The outcome of every check of a suite run, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Each check's name and outcome.
    pub checks: Vec<(&'static str, Outcome)>,
}

impl Report {
    /// The checks that ran and passed.
    pub fn passed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|(_, o)| *o == Outcome::Passed)
            .map(|(name, _)| *name)
            .collect()
    }

    /// The checks that were skipped, with the capability each lacked.
    pub fn skipped(&self) -> Vec<(&'static str, Capability)> {
        self.checks
            .iter()
            .filter_map(|(name, o)| match o {
                Outcome::Skipped { missing } => Some((*name, *missing)),
                Outcome::Passed => None,
            })
            .collect()
    }
}

/// `Some(Skipped)` (and a line on standard output) when `capabilities` lacks one of
/// `required`.
pub(crate) fn skip_unless(
    check: &str,
    capabilities: &Capabilities,
    required: &[Capability],
) -> Option<Outcome> {
    let missing = required
        .iter()
        .copied()
        .find(|c| !capabilities.supports(*c))?;
    println!(
        "conformance: skipped {check}: the {} backend does not declare {missing}",
        capabilities.backend()
    );
    Some(Outcome::Skipped { missing })
}

/// A lower-case token unique to this call across processes and runs (time, process id,
/// a counter and randomness), usable in ids, keys, service and environment names.
pub(crate) fn unique_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{secs:x}{:x}{:x}{:04x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        fastrand::u16(..)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ_and_are_valid_names() {
        let a = unique_token();
        let b = unique_token();
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{a}"
        );
        itsm_core::Environment::new(&a).unwrap();
    }

    #[test]
    fn report_splits_passed_and_skipped() {
        const CAP: Capability = Capability::new("x.y");
        let report = Report {
            checks: vec![
                ("a", Outcome::Passed),
                ("b", Outcome::Skipped { missing: CAP }),
            ],
        };
        assert_eq!(report.passed(), ["a"]);
        assert_eq!(report.skipped(), [("b", CAP)]);
        let caps = Capabilities::new("t").with(CAP);
        assert_eq!(skip_unless("c", &caps, &[CAP]), None);
        assert_eq!(
            skip_unless("c", &Capabilities::new("t"), &[CAP]),
            Some(Outcome::Skipped { missing: CAP })
        );
    }
}
