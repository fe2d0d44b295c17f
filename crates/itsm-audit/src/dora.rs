//! DORA figures (A5) over the production deployments of a period: deployment frequency,
//! lead time for changes, change failure rate and time to restore.
//!
//! Definitions:
//!
//! - **The set**: production deployments (see
//!   [`Environment::is_production`](itsm_core::Environment::is_production)) whose
//!   `finished_at` is in `[since, until)`, optionally of one service.
//! - **Deployment frequency**: the size of the set, also per day and per week of the period
//!   (`None` for an empty or negative period).
//! - **Lead time for changes**: `finished_at - first_commit_at` of each deployment in the
//!   set that has `first_commit_at`; the others, and those whose lead time would be
//!   negative, are counted as excluded.
//! - **Change failure rate**: the deployments in the set that failed, or that an incident
//!   names as its cause ([`IncidentLink::deployment`] equals the record's key), over the
//!   size of the set (`None` when the set is empty).
//! - **Time to restore**: `resolved_at - opened_at` of every incident link naming a
//!   deployment in the set; unresolved incidents are counted separately. Incidents are
//!   linked by explicit reference only, never by time window.
//!
//! Percentiles use the **nearest-rank** method: the p-th percentile of n ascending values is
//! the value at 1-based rank `ceil(p * n / 100)` (rank 1 when that is 0). The median is the
//! 50th percentile, so for an even count it is the lower of the two middle values, and every
//! percentile is a value some record actually contributed.
//!
//! Durations are [`time::Duration`]s, serialised as (fractional) seconds.
//!
//! Every figure can explain itself: `explain` lists the records it came from and what each
//! contributed. The figures keep only indices into the slices they were computed from, so
//! pass the same slices to `explain`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use itsm_core::{ExternalRef, IdempotencyKey, ServiceId, Version};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::model::{DeploymentRecord, IncidentLink, Outcome};

/// Serde helpers: a [`Duration`] as seconds.
pub(crate) mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_seconds_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::checked_seconds_f64(secs)
            .ok_or_else(|| serde::de::Error::custom("duration out of range"))
    }

    /// The same for `Option<Duration>`.
    pub(crate) mod option {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            d: &Option<Duration>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&d.as_seconds_f64()),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Duration>, D::Error> {
            Option::<f64>::deserialize(d)?
                .map(|secs| {
                    Duration::checked_seconds_f64(secs)
                        .ok_or_else(|| serde::de::Error::custom("duration out of range"))
                })
                .transpose()
        }
    }
}

/// What one record contributed to a figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Contribution {
    /// Counted once (deployment frequency).
    Deployment,
    /// A measured lead time.
    LeadTime {
        /// `finished_at - first_commit_at`.
        #[serde(with = "seconds")]
        lead_time: Duration,
    },
    /// Left out of the lead time (no `first_commit_at`, or it is after `finished_at`).
    LeadTimeExcluded {
        /// Why.
        reason: String,
    },
    /// Counted as a failure (change failure rate).
    Failure {
        /// Whether the deployment itself failed.
        failed: bool,
        /// The incidents naming it as their cause.
        incidents: Vec<ExternalRef>,
    },
    /// Counted as a success (change failure rate).
    Success,
    /// A restored incident (time to restore).
    Restored {
        /// The incident.
        incident: ExternalRef,
        /// `resolved_at - opened_at`.
        #[serde(with = "seconds")]
        time_to_restore: Duration,
    },
    /// An incident not resolved yet (or resolved before it was opened), left out of the
    /// time to restore.
    Unresolved {
        /// The incident.
        incident: ExternalRef,
    },
}

impl fmt::Display for Contribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refs = |refs: &[ExternalRef]| {
            refs.iter()
                .map(|r| format!("{}:{}", r.system, r.id))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Contribution::Deployment => f.write_str("1 deployment"),
            Contribution::LeadTime { lead_time } => {
                write!(f, "lead time {}", format_duration(*lead_time))
            }
            Contribution::LeadTimeExcluded { reason } => write!(f, "excluded: {reason}"),
            Contribution::Failure { failed, incidents } => match (failed, incidents.is_empty()) {
                (true, true) => f.write_str("failure: deployment failed"),
                (true, false) => {
                    write!(f, "failure: deployment failed; caused {}", refs(incidents))
                }
                (false, _) => write!(f, "failure: caused {}", refs(incidents)),
            },
            Contribution::Success => f.write_str("success"),
            Contribution::Restored {
                incident,
                time_to_restore,
            } => write!(
                f,
                "incident {}:{} restored in {}",
                incident.system,
                incident.id,
                format_duration(*time_to_restore)
            ),
            Contribution::Unresolved { incident } => {
                write!(f, "incident {}:{} unresolved", incident.system, incident.id)
            }
        }
    }
}

/// One record behind a figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The deployment record's ledger position.
    pub seq: u64,
    /// Its key.
    pub key: IdempotencyKey,
    /// The service.
    pub service: ServiceId,
    /// The version.
    pub version: Version,
    /// When it finished.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// What it contributed.
    pub contribution: Contribution,
}

impl Evidence {
    fn of(record: &DeploymentRecord, contribution: Contribution) -> Self {
        Evidence {
            seq: record.seq,
            key: record.key.clone(),
            service: record.deployment.service.clone(),
            version: record.deployment.version.clone(),
            finished_at: record.deployment.finished_at,
            contribution,
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} {} ({}): {}",
            self.seq,
            self.service,
            self.version,
            itsm_core::format_instant(self.finished_at),
            self.key,
            self.contribution
        )
    }
}

/// Formats a duration for people: `3d 4h 5m 6s`, `45s`, `-2m`.
pub fn format_duration(d: Duration) -> String {
    let total = d.whole_seconds();
    let sign = if total < 0 { "-" } else { "" };
    let mut rest = total.unsigned_abs();
    let mut parts = Vec::new();
    for (unit, secs) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= secs {
            parts.push(format!("{}{unit}", rest / secs));
            rest %= secs;
        }
    }
    if parts.is_empty() {
        return "0s".to_owned();
    }
    format!("{sign}{}", parts.join(" "))
}

/// Deployment frequency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentFrequency {
    /// Production deployments in the period.
    pub count: u64,
    /// Per day of the period (`None` when the period is empty).
    pub per_day: Option<f64>,
    /// Per week (7 days) of the period (`None` when the period is empty).
    pub per_week: Option<f64>,
    #[serde(skip)]
    set: Arc<[usize]>,
}

impl DeploymentFrequency {
    /// The deployments counted.
    pub fn explain(&self, records: &[DeploymentRecord]) -> Vec<Evidence> {
        records_at(records, &self.set)
            .map(|r| Evidence::of(r, Contribution::Deployment))
            .collect()
    }
}

/// Lead time for changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadTime {
    /// Deployments with a lead time.
    pub measured: u64,
    /// Deployments left out (no `first_commit_at`, or a negative lead time).
    pub excluded: u64,
    /// The median (nearest rank).
    #[serde(with = "seconds::option")]
    pub median: Option<Duration>,
    /// The 90th percentile (nearest rank).
    #[serde(with = "seconds::option")]
    pub p90: Option<Duration>,
    #[serde(skip)]
    set: Arc<[usize]>,
}

fn lead_time_of(record: &DeploymentRecord) -> Option<Duration> {
    let d = &record.deployment;
    let first = d.first_commit_at?;
    let lead = d.finished_at - first;
    (!lead.is_negative()).then_some(lead)
}

impl LeadTime {
    /// Every deployment of the set: its lead time, or why it was excluded.
    pub fn explain(&self, records: &[DeploymentRecord]) -> Vec<Evidence> {
        records_at(records, &self.set)
            .map(|r| {
                let c = match (lead_time_of(r), r.deployment.first_commit_at) {
                    (Some(lead_time), _) => Contribution::LeadTime { lead_time },
                    (None, None) => Contribution::LeadTimeExcluded {
                        reason: "no first_commit_at recorded".to_owned(),
                    },
                    (None, Some(_)) => Contribution::LeadTimeExcluded {
                        reason: "first_commit_at is after finished_at".to_owned(),
                    },
                };
                Evidence::of(r, c)
            })
            .collect()
    }
}

/// Change failure rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeFailureRate {
    /// Production deployments in the period (the denominator).
    pub deployments: u64,
    /// Those that failed or caused an incident (the numerator).
    pub failures: u64,
    /// Of the failures: deployments whose outcome was failed.
    pub failed_outcome: u64,
    /// Of the failures: succeeded deployments an incident names as its cause.
    pub caused_incident: u64,
    /// `failures / deployments`, from 0 to 1 (`None` with no deployments).
    pub rate: Option<f64>,
    #[serde(skip)]
    set: Arc<[usize]>,
}

impl ChangeFailureRate {
    /// Every deployment of the set: failure (and why) or success.
    pub fn explain(
        &self,
        records: &[DeploymentRecord],
        incidents: &[IncidentLink],
    ) -> Vec<Evidence> {
        let by_key = incidents_by_key(incidents);
        records_at(records, &self.set)
            .map(|r| {
                let caused: Vec<ExternalRef> = by_key
                    .get(r.key.as_str())
                    .map(|ix| ix.iter().map(|i| incidents[*i].incident.clone()).collect())
                    .unwrap_or_default();
                let failed = r.deployment.outcome == Outcome::Failed;
                let c = if failed || !caused.is_empty() {
                    Contribution::Failure {
                        failed,
                        incidents: caused,
                    }
                } else {
                    Contribution::Success
                };
                Evidence::of(r, c)
            })
            .collect()
    }
}

/// Time to restore service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeToRestore {
    /// Resolved incidents caused by a deployment of the set.
    pub restored: u64,
    /// Unresolved ones (also those resolved before they were opened), not in the figures.
    pub unresolved: u64,
    /// The median (nearest rank).
    #[serde(with = "seconds::option")]
    pub median: Option<Duration>,
    /// The 90th percentile (nearest rank).
    #[serde(with = "seconds::option")]
    pub p90: Option<Duration>,
    /// (incident index, record index) of every counted link.
    #[serde(skip)]
    links: Arc<[(usize, usize)]>,
}

fn restore_time(link: &IncidentLink) -> Option<Duration> {
    let t = link.resolved_at? - link.opened_at;
    (!t.is_negative()).then_some(t)
}

impl TimeToRestore {
    /// Every incident counted: the deployment it names, and its time to restore or that it
    /// is unresolved.
    pub fn explain(
        &self,
        records: &[DeploymentRecord],
        incidents: &[IncidentLink],
    ) -> Vec<Evidence> {
        self.links
            .iter()
            .filter_map(|(i, r)| Some((incidents.get(*i)?, records.get(*r)?)))
            .map(|(link, r)| {
                let incident = link.incident.clone();
                let c = match restore_time(link) {
                    Some(time_to_restore) => Contribution::Restored {
                        incident,
                        time_to_restore,
                    },
                    None => Contribution::Unresolved { incident },
                };
                Evidence::of(r, c)
            })
            .collect()
    }
}

/// The four DORA figures of a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoraFigures {
    /// Start of the period (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// End of the period (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// The one service the figures are for, if filtered.
    pub service: Option<ServiceId>,
    /// Deployment frequency.
    pub deployment_frequency: DeploymentFrequency,
    /// Lead time for changes.
    pub lead_time: LeadTime,
    /// Change failure rate.
    pub change_failure_rate: ChangeFailureRate,
    /// Time to restore.
    pub time_to_restore: TimeToRestore,
}

fn records_at<'a>(
    records: &'a [DeploymentRecord],
    set: &'a [usize],
) -> impl Iterator<Item = &'a DeploymentRecord> + 'a {
    set.iter().filter_map(|i| records.get(*i))
}

fn incidents_by_key(incidents: &[IncidentLink]) -> HashMap<&str, Vec<usize>> {
    let mut map: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, link) in incidents.iter().enumerate() {
        map.entry(link.deployment.as_str()).or_default().push(i);
    }
    map
}

/// The nearest-rank `p`-th percentile (0 < p <= 100) of `values`, reordering them.
pub(crate) fn percentile(values: &mut [Duration], p: u32) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let rank = (n * p.min(100) as usize).div_ceil(100).max(1);
    let (_, v, _) = values.select_nth_unstable(rank - 1);
    Some(*v)
}

/// Whether a record belongs to the set of [`dora`].
fn in_set(
    r: &DeploymentRecord,
    since: OffsetDateTime,
    until: OffsetDateTime,
    service: Option<&ServiceId>,
) -> bool {
    let d = &r.deployment;
    d.finished_at >= since
        && d.finished_at < until
        && service.is_none_or(|s| *s == d.service)
        && d.environment.is_production()
}

/// Computes the DORA figures over the production deployments that finished in
/// `[since, until)`, of `service` only when given (definitions in the [module docs](self)).
///
/// Never panics: an empty set gives zero counts and `None` rates and percentiles.
pub fn dora(
    records: &[DeploymentRecord],
    incidents: &[IncidentLink],
    since: OffsetDateTime,
    until: OffsetDateTime,
    service: Option<&ServiceId>,
) -> DoraFigures {
    let by_key = incidents_by_key(incidents);
    let mut set = Vec::new();
    let mut leads = Vec::new();
    let mut restores = Vec::new();
    let mut links = Vec::new();
    let (mut failures, mut failed_outcome, mut caused_incident, mut unresolved) = (0, 0, 0, 0);
    for (i, r) in records.iter().enumerate() {
        if !in_set(r, since, until, service) {
            continue;
        }
        set.push(i);
        if let Some(lead) = lead_time_of(r) {
            leads.push(lead);
        }
        let caused = if by_key.is_empty() {
            None
        } else {
            by_key.get(r.key.as_str())
        };
        if r.deployment.outcome == Outcome::Failed {
            failures += 1;
            failed_outcome += 1;
        } else if caused.is_some() {
            failures += 1;
            caused_incident += 1;
        }
        for &link in caused.into_iter().flatten() {
            links.push((link, i));
            match restore_time(&incidents[link]) {
                Some(t) => restores.push(t),
                None => unresolved += 1,
            }
        }
    }
    let count = set.len() as u64;
    let days = (until - since).as_seconds_f64() / 86_400.0;
    let per = |unit_days: f64| (days > 0.0).then(|| count as f64 / days * unit_days);
    let set: Arc<[usize]> = set.into();
    let measured = leads.len() as u64;
    DoraFigures {
        since,
        until,
        service: service.cloned(),
        deployment_frequency: DeploymentFrequency {
            count,
            per_day: per(1.0),
            per_week: per(7.0),
            set: Arc::clone(&set),
        },
        lead_time: LeadTime {
            measured,
            excluded: count - measured,
            median: percentile(&mut leads, 50),
            p90: percentile(&mut leads, 90),
            set: Arc::clone(&set),
        },
        change_failure_rate: ChangeFailureRate {
            deployments: count,
            failures,
            failed_outcome,
            caused_incident,
            rate: (count > 0).then(|| failures as f64 / count as f64),
            set,
        },
        time_to_restore: TimeToRestore {
            restored: restores.len() as u64,
            unresolved,
            median: percentile(&mut restores, 50),
            p90: percentile(&mut restores, 90),
            links: links.into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<Duration> = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]
            .iter()
            .map(|s| Duration::seconds(*s))
            .collect();
        assert_eq!(percentile(&mut v, 50), Some(Duration::seconds(5)));
        assert_eq!(percentile(&mut v, 90), Some(Duration::seconds(9)));
        assert_eq!(percentile(&mut v, 100), Some(Duration::seconds(10)));
        assert_eq!(
            percentile(&mut [Duration::seconds(7)], 90),
            Some(Duration::seconds(7))
        );
        assert_eq!(percentile(&mut [], 50), None);
        let mut two = [Duration::seconds(1), Duration::seconds(3)];
        assert_eq!(percentile(&mut two, 50), Some(Duration::seconds(1)));
    }

    #[test]
    fn durations_format_for_people() {
        assert_eq!(format_duration(Duration::seconds(0)), "0s");
        assert_eq!(format_duration(Duration::seconds(45)), "45s");
        assert_eq!(format_duration(Duration::seconds(90_061)), "1d 1h 1m 1s");
        assert_eq!(format_duration(Duration::minutes(-2)), "-2m");
    }
}
