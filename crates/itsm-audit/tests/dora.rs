//! A5: DORA figures checked against hand-computed answers on a small fixed history.
//!
//! Period [2026-05-01, 2026-05-15): 14 days, 2 weeks. Production deployments in it:
//!
//! | seq | service  | ver | outcome | finished    | lead time | incidents naming it          |
//! |-----|----------|-----|---------|-------------|-----------|------------------------------|
//! | 1   | checkout | 1.0 | ok      | 05-02 10:00 | 24h       |                              |
//! | 2   | checkout | 1.1 | FAILED  | 05-03 10:00 | 2h        | INC5 restored in 3h          |
//! | 3   | checkout | 1.2 | ok (fix)| 05-03 12:00 | 3h        |                              |
//! | 4   | billing  | 7   | ok      | 05-04 10:00 | (none)    |                              |
//! | 5   | billing  | 8   | ok      | 05-06 10:00 | 24h       | INC1 restored in 2h          |
//! | 6   | checkout | 1.3 | ok      | 05-08 10:00 | 10h       | INC2 unresolved              |
//! | 7   | billing  | 9   | ok      | 05-10 10:00 | 1h        | INC3 restored in 30m         |
//!
//! Not in the set: seq 8 (staging), seq 9 (production, before the period, named by INC4),
//! seq 10 (production, finished exactly at the exclusive end).

use itsm_audit::dora::{Contribution, DoraFigures, dora};
use itsm_audit::{DeploymentRecord, IncidentLink, NewDeployment, Outcome, RecordHash};
use itsm_core::{
    CommitId, Environment, ExternalRef, IdempotencyKey, Person, PipelineRunId, ServiceId, Version,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const SINCE: OffsetDateTime = datetime!(2026-05-01 00:00 UTC);
const UNTIL: OffsetDateTime = datetime!(2026-05-15 00:00 UTC);

fn rec(
    seq: u64,
    service: &str,
    version: &str,
    env: &str,
    outcome: Outcome,
    finished_at: OffsetDateTime,
    lead: Option<Duration>,
) -> DeploymentRecord {
    DeploymentRecord {
        seq,
        key: IdempotencyKey::new(format!("d{seq}")).unwrap(),
        deployment: NewDeployment {
            service: ServiceId::new(service).unwrap(),
            version: Version::new(version).unwrap(),
            environment: Environment::new(env).unwrap(),
            started_at: finished_at - Duration::minutes(10),
            finished_at,
            deployer: Person::named("ci"),
            outcome,
            commit: CommitId::new(format!("c{seq}")).unwrap(),
            artifact_digest: "sha256:00".into(),
            pipeline_run: PipelineRunId::new(format!("run-{seq}")).unwrap(),
            pipeline_url: None,
            first_commit_at: lead.map(|l| finished_at - l),
            change: None,
        },
        recorded_at: finished_at,
        prev_hash: RecordHash::GENESIS,
        hash: RecordHash::GENESIS,
    }
}

fn link(id: &str, seq: u64, opened_at: OffsetDateTime, restore: Option<Duration>) -> IncidentLink {
    IncidentLink {
        incident: ExternalRef::new("pagerduty", id),
        deployment: IdempotencyKey::new(format!("d{seq}")).unwrap(),
        opened_at,
        resolved_at: restore.map(|r| opened_at + r),
    }
}

fn h(n: i64) -> Option<Duration> {
    Some(Duration::hours(n))
}

fn history() -> (Vec<DeploymentRecord>, Vec<IncidentLink>) {
    use Outcome::*;
    let records = vec![
        rec(
            1,
            "checkout",
            "1.0",
            "production",
            Succeeded,
            datetime!(2026-05-02 10:00 UTC),
            h(24),
        ),
        rec(
            2,
            "checkout",
            "1.1",
            "production",
            Failed,
            datetime!(2026-05-03 10:00 UTC),
            h(2),
        ),
        rec(
            3,
            "checkout",
            "1.2",
            "production",
            Succeeded,
            datetime!(2026-05-03 12:00 UTC),
            h(3),
        ),
        rec(
            4,
            "billing",
            "7",
            "prod-eu",
            Succeeded,
            datetime!(2026-05-04 10:00 UTC),
            None,
        ),
        rec(
            5,
            "billing",
            "8",
            "prod-eu",
            Succeeded,
            datetime!(2026-05-06 10:00 UTC),
            h(24),
        ),
        rec(
            6,
            "checkout",
            "1.3",
            "production",
            Succeeded,
            datetime!(2026-05-08 10:00 UTC),
            h(10),
        ),
        rec(
            7,
            "billing",
            "9",
            "prod-eu",
            Succeeded,
            datetime!(2026-05-10 10:00 UTC),
            h(1),
        ),
        rec(
            8,
            "checkout",
            "1.3",
            "staging",
            Failed,
            datetime!(2026-05-07 10:00 UTC),
            h(1),
        ),
        rec(
            9,
            "checkout",
            "0.9",
            "production",
            Succeeded,
            datetime!(2026-04-20 10:00 UTC),
            h(1),
        ),
        rec(10, "checkout", "1.4", "production", Failed, UNTIL, h(1)),
    ];
    let incidents = vec![
        link("INC1", 5, datetime!(2026-05-06 11:00 UTC), h(2)),
        link("INC2", 6, datetime!(2026-05-08 12:00 UTC), None),
        link(
            "INC3",
            7,
            datetime!(2026-05-10 10:30 UTC),
            Some(Duration::minutes(30)),
        ),
        // Names a deployment outside the period, though it is opened inside it.
        link("INC4", 9, datetime!(2026-05-02 10:30 UTC), h(5)),
        link("INC5", 2, datetime!(2026-05-03 10:05 UTC), h(3)),
        // Names a key no record has.
        link("INC6", 99, datetime!(2026-05-03 10:05 UTC), h(7)),
    ];
    (records, incidents)
}

fn all() -> DoraFigures {
    let (records, incidents) = history();
    dora(&records, &incidents, SINCE, UNTIL, None)
}

#[test]
fn deployment_frequency_counts_production_deployments_in_the_period() {
    let f = all().deployment_frequency;
    assert_eq!(f.count, 7);
    assert_eq!(f.per_day, Some(0.5));
    assert_eq!(f.per_week, Some(3.5));
    let (records, _) = history();
    let seqs: Vec<u64> = f.explain(&records).iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn lead_time_median_and_p90_are_nearest_rank() {
    // Sorted: 1h 2h 3h 10h 24h 24h; median rank ceil(3) = 3 -> 3h; p90 rank ceil(5.4) = 6.
    let l = all().lead_time;
    assert_eq!((l.measured, l.excluded), (6, 1));
    assert_eq!(l.median, h(3));
    assert_eq!(l.p90, h(24));
    let (records, _) = history();
    let explain = l.explain(&records);
    assert_eq!(explain.len(), 7);
    let four = explain.iter().find(|e| e.seq == 4).unwrap();
    assert!(matches!(
        four.contribution,
        Contribution::LeadTimeExcluded { .. }
    ));
    let six = explain.iter().find(|e| e.seq == 6).unwrap();
    assert_eq!(
        six.contribution,
        Contribution::LeadTime {
            lead_time: Duration::hours(10)
        }
    );
    assert_eq!(six.service.as_str(), "checkout");
    assert_eq!(six.version.as_str(), "1.3");
    assert_eq!(six.key.as_str(), "d6");
}

#[test]
fn change_failure_rate_counts_failed_and_incident_causing_deployments_once() {
    let c = all().change_failure_rate;
    // Failures: 2 (failed, also named by INC5: counted once), 5, 6, 7 -> 4 of 7.
    assert_eq!(c.deployments, 7);
    assert_eq!(c.failures, 4);
    assert_eq!(c.failed_outcome, 1);
    assert_eq!(c.caused_incident, 3);
    assert_eq!(c.rate, Some(4.0 / 7.0));
    let (records, incidents) = history();
    let explain = c.explain(&records, &incidents);
    let failures: Vec<u64> = explain
        .iter()
        .filter(|e| matches!(e.contribution, Contribution::Failure { .. }))
        .map(|e| e.seq)
        .collect();
    assert_eq!(failures, [2, 5, 6, 7]);
    let two = &explain[1].contribution;
    assert_eq!(
        *two,
        Contribution::Failure {
            failed: true,
            incidents: vec![ExternalRef::new("pagerduty", "INC5")],
        }
    );
    assert_eq!(explain[2].contribution, Contribution::Success);
}

#[test]
fn time_to_restore_uses_linked_incidents_only_and_counts_unresolved_apart() {
    // Restored: INC3 30m, INC1 2h, INC5 3h -> median rank 2 = 2h, p90 rank ceil(2.7) = 3h.
    // INC2 unresolved; INC4 names a deployment outside the period; INC6 an unknown key.
    let t = all().time_to_restore;
    assert_eq!((t.restored, t.unresolved), (3, 1));
    assert_eq!(t.median, h(2));
    assert_eq!(t.p90, h(3));
    let (records, incidents) = history();
    let explain = t.explain(&records, &incidents);
    assert_eq!(explain.len(), 4);
    assert!(explain.iter().all(|e| e.seq != 9));
    let unresolved: Vec<u64> = explain
        .iter()
        .filter(|e| matches!(e.contribution, Contribution::Unresolved { .. }))
        .map(|e| e.seq)
        .collect();
    assert_eq!(unresolved, [6]);
    assert!(explain.iter().any(|e| e.contribution
        == Contribution::Restored {
            incident: ExternalRef::new("pagerduty", "INC1"),
            time_to_restore: Duration::hours(2),
        }
        && e.seq == 5));
}

#[test]
fn one_service_filter() {
    let (records, incidents) = history();
    let checkout = ServiceId::new("checkout").unwrap();
    let f = dora(&records, &incidents, SINCE, UNTIL, Some(&checkout));
    assert_eq!(f.service.as_ref(), Some(&checkout));
    assert_eq!(f.deployment_frequency.count, 4);
    assert_eq!(f.deployment_frequency.per_week, Some(2.0));
    // 2h 3h 10h 24h: median rank 2 = 3h, p90 rank 4 = 24h.
    assert_eq!(f.lead_time.median, h(3));
    assert_eq!(f.lead_time.p90, h(24));
    assert_eq!(
        (
            f.change_failure_rate.failures,
            f.change_failure_rate.deployments
        ),
        (2, 4)
    );
    assert_eq!(f.change_failure_rate.rate, Some(0.5));
    assert_eq!(
        (f.time_to_restore.restored, f.time_to_restore.unresolved),
        (1, 1)
    );
    assert_eq!(f.time_to_restore.median, h(3));

    let billing = ServiceId::new("billing").unwrap();
    let f = dora(&records, &incidents, SINCE, UNTIL, Some(&billing));
    assert_eq!(f.deployment_frequency.count, 3);
    // 1h 24h: median rank 1 = 1h, p90 rank 2 = 24h; seq 4 excluded.
    assert_eq!(
        (f.lead_time.median, f.lead_time.p90, f.lead_time.excluded),
        (h(1), h(24), 1)
    );
    assert_eq!(f.change_failure_rate.rate, Some(2.0 / 3.0));
    // 30m 2h.
    assert_eq!(f.time_to_restore.median, Some(Duration::minutes(30)));
    assert_eq!(f.time_to_restore.p90, h(2));

    let nobody = ServiceId::new("nobody").unwrap();
    assert_eq!(
        dora(&records, &incidents, SINCE, UNTIL, Some(&nobody))
            .deployment_frequency
            .count,
        0
    );
}

#[test]
fn no_deployments_gives_zero_counts_and_no_figures() {
    let (_, incidents) = history();
    let f = dora(&[], &incidents, SINCE, UNTIL, None);
    assert_eq!(f.deployment_frequency.count, 0);
    assert_eq!(f.deployment_frequency.per_week, Some(0.0));
    assert_eq!((f.lead_time.measured, f.lead_time.excluded), (0, 0));
    assert_eq!((f.lead_time.median, f.lead_time.p90), (None, None));
    assert_eq!(f.change_failure_rate.rate, None);
    assert_eq!(f.change_failure_rate.failures, 0);
    assert_eq!(
        (f.time_to_restore.restored, f.time_to_restore.unresolved),
        (0, 0)
    );
    assert_eq!(f.time_to_restore.median, None);
    assert!(f.deployment_frequency.explain(&[]).is_empty());

    // An empty or backwards period: no rate per day, and no division by zero.
    let (records, incidents) = history();
    for (since, until) in [(SINCE, SINCE), (UNTIL, SINCE)] {
        let f = dora(&records, &incidents, since, until, None);
        assert_eq!(f.deployment_frequency.count, 0);
        assert_eq!(f.deployment_frequency.per_day, None);
        assert_eq!(f.deployment_frequency.per_week, None);
        assert_eq!(f.change_failure_rate.rate, None);
    }
}

#[test]
fn explain_against_other_slices_does_not_panic() {
    let f = all();
    assert!(f.lead_time.explain(&[]).is_empty());
    assert!(f.time_to_restore.explain(&[], &[]).is_empty());
    assert_eq!(f.change_failure_rate.explain(&history().0, &[]).len(), 7);
}

#[test]
fn figures_serialise_durations_as_seconds() {
    let json = serde_json::to_value(all()).unwrap();
    assert_eq!(json["lead_time"]["median"], 10800.0);
    assert_eq!(json["lead_time"]["p90"], 86400.0);
    assert_eq!(json["time_to_restore"]["median"], 7200.0);
    assert_eq!(json["deployment_frequency"]["count"], 7);
    let empty = serde_json::to_value(dora(&[], &[], SINCE, UNTIL, None)).unwrap();
    assert!(empty["lead_time"]["median"].is_null());
    assert!(empty["change_failure_rate"]["rate"].is_null());
    let back: DoraFigures = serde_json::from_value(json).unwrap();
    assert_eq!(back.lead_time.median, h(3));
}

#[test]
fn evidence_reads_for_people() {
    let (records, incidents) = history();
    let text: Vec<String> = all()
        .time_to_restore
        .explain(&records, &incidents)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        text.iter()
            .any(|t| t.contains("#5 billing 8") && t.contains("pagerduty:INC1 restored in 2h"))
    );
    assert!(text.iter().any(|t| t.contains("pagerduty:INC2 unresolved")));
}
