//! Compliance check (A4): every production deployment in a period ran under an approved
//! change, for the version deployed, inside the change's window.
//!
//! The check reads only the ledger: each production record carries the
//! [`ChangeEvidence`] as it stood at deployment time, so it runs
//! offline. Non-production deployments are not checked. Failed production deployments are
//! checked like succeeded ones (they changed production too).
//!
//! ```
//! use itsm_audit::compliance::check;
//! use time::macros::datetime;
//! let report = check(&[], datetime!(2026-05-01 0:00 UTC), datetime!(2026-06-01 0:00 UTC));
//! assert_eq!((report.checked, report.compliant), (0, 0));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use itsm_core::{Environment, IdempotencyKey, ServiceId, Version, format_instant};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::{ChangeEvidence, DeploymentRecord};

/// Why a production deployment is not compliant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ViolationReason {
    /// No change was recorded with the deployment.
    NoChange,
    /// The change was not approved when the deployment ran.
    NotApproved,
    /// The change was raised for another version.
    WrongVersion {
        /// The version the change was raised for.
        change_version: Version,
        /// The version deployed.
        deployed_version: Version,
    },
    /// The deployment ran (at least partly) outside the change's window.
    OutsideWindow {
        /// The window's start (`None`: unbounded).
        #[serde(default, with = "time::serde::rfc3339::option")]
        window_start: Option<OffsetDateTime>,
        /// The window's end (`None`: unbounded).
        #[serde(default, with = "time::serde::rfc3339::option")]
        window_end: Option<OffsetDateTime>,
        /// When the deployment started.
        #[serde(with = "time::serde::rfc3339")]
        deployed_at: OffsetDateTime,
    },
}

impl ViolationReason {
    /// Every reason code, in the order the checks run.
    pub const CODES: [&'static str; 4] = [
        "no_change",
        "not_approved",
        "wrong_version",
        "outside_window",
    ];

    /// A stable `snake_case` code (`no_change`, `not_approved`, `wrong_version`,
    /// `outside_window`), as in JSON and CSV.
    pub fn code(&self) -> &'static str {
        match self {
            ViolationReason::NoChange => Self::CODES[0],
            ViolationReason::NotApproved => Self::CODES[1],
            ViolationReason::WrongVersion { .. } => Self::CODES[2],
            ViolationReason::OutsideWindow { .. } => Self::CODES[3],
        }
    }
}

impl fmt::Display for ViolationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = |b: &Option<OffsetDateTime>| b.map_or("unbounded".to_owned(), format_instant);
        match self {
            ViolationReason::NoChange => f.write_str("no change recorded"),
            ViolationReason::NotApproved => f.write_str("change not approved"),
            ViolationReason::WrongVersion {
                change_version,
                deployed_version,
            } => write!(
                f,
                "change is for version {change_version}, deployed {deployed_version}"
            ),
            ViolationReason::OutsideWindow {
                window_start,
                window_end,
                deployed_at,
            } => write!(
                f,
                "deployed at {} outside the change window {} .. {}",
                format_instant(*deployed_at),
                bound(window_start),
                bound(window_end)
            ),
        }
    }
}

/// A production deployment that was not compliant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Its ledger position.
    pub seq: u64,
    /// Its key.
    pub key: IdempotencyKey,
    /// The service deployed.
    pub service: ServiceId,
    /// The version deployed.
    pub version: Version,
    /// Where.
    pub environment: Environment,
    /// When it finished.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// The first failed check, in the order no change, not approved, wrong version,
    /// outside window.
    pub reason: ViolationReason,
    /// The further checks it failed, in the same order (often empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_reasons: Vec<ViolationReason>,
}

/// The result of [`check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplianceReport {
    /// Start of the period (inclusive), on `finished_at`.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// End of the period (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// Production deployments checked.
    pub checked: u64,
    /// Those that were compliant (`checked - violations.len()`).
    pub compliant: u64,
    /// The others, in ledger order.
    pub violations: Vec<Violation>,
}

impl ComplianceReport {
    /// How many violations have each (first) reason, every code present, zero included.
    pub fn counts_by_reason(&self) -> BTreeMap<&'static str, u64> {
        let mut counts: BTreeMap<&'static str, u64> =
            ViolationReason::CODES.iter().map(|c| (*c, 0)).collect();
        for v in &self.violations {
            *counts.entry(v.reason.code()).or_default() += 1;
        }
        counts
    }

    /// The violation of the record at `seq`, if it had one (violations are sorted by `seq`).
    pub fn violation_of(&self, seq: u64) -> Option<&Violation> {
        self.violations
            .binary_search_by_key(&seq, |v| v.seq)
            .ok()
            .and_then(|i| self.violations.get(i))
    }
}

/// Every reason a production deployment is not compliant, in check order (empty: compliant).
///
/// The window check requires `change.window_start <= started_at` and
/// `finished_at <= change.window_end`; a missing bound is unbounded.
pub fn reasons(record: &DeploymentRecord) -> Vec<ViolationReason> {
    let d = &record.deployment;
    let Some(change) = &d.change else {
        return vec![ViolationReason::NoChange];
    };
    let mut out = Vec::new();
    if !change.approved {
        out.push(ViolationReason::NotApproved);
    }
    if change.version != d.version {
        out.push(ViolationReason::WrongVersion {
            change_version: change.version.clone(),
            deployed_version: d.version.clone(),
        });
    }
    if !inside_window(change, d.started_at, d.finished_at) {
        out.push(ViolationReason::OutsideWindow {
            window_start: change.window_start,
            window_end: change.window_end,
            deployed_at: d.started_at,
        });
    }
    out
}

fn inside_window(
    change: &ChangeEvidence,
    started: OffsetDateTime,
    finished: OffsetDateTime,
) -> bool {
    change.window_start.is_none_or(|s| s <= started)
        && change.window_end.is_none_or(|e| finished <= e)
}

/// Checks the production deployments that finished in `[since, until)`.
pub fn check(
    records: &[DeploymentRecord],
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> ComplianceReport {
    let mut checked = 0;
    let mut violations = Vec::new();
    for record in records {
        let d = &record.deployment;
        if !d.environment.is_production() || d.finished_at < since || d.finished_at >= until {
            continue;
        }
        checked += 1;
        let mut found = reasons(record);
        if found.is_empty() {
            continue;
        }
        let reason = found.remove(0);
        violations.push(Violation {
            seq: record.seq,
            key: record.key.clone(),
            service: d.service.clone(),
            version: d.version.clone(),
            environment: d.environment.clone(),
            finished_at: d.finished_at,
            reason,
            other_reasons: found,
        });
    }
    violations.sort_by_key(|v| v.seq);
    ComplianceReport {
        since,
        until,
        checked,
        compliant: checked - violations.len() as u64,
        violations,
    }
}
