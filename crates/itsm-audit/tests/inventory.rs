//! A2: which version runs where, now and at any past instant.

use itsm_audit::inventory::inventory;
use itsm_audit::{DeploymentRecord, NewDeployment, Outcome, RecordHash};
use itsm_core::{CommitId, Environment, IdempotencyKey, Person, PipelineRunId, ServiceId, Version};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn rec(
    seq: u64,
    service: &str,
    version: &str,
    env: &str,
    finished_at: OffsetDateTime,
    outcome: Outcome,
) -> DeploymentRecord {
    DeploymentRecord {
        seq,
        key: IdempotencyKey::new(format!("{service}/{version}/{env}/{seq}")).unwrap(),
        deployment: NewDeployment {
            service: ServiceId::new(service).unwrap(),
            version: Version::new(version).unwrap(),
            environment: Environment::new(env).unwrap(),
            started_at: finished_at - Duration::minutes(5),
            finished_at,
            deployer: Person::named("ci"),
            outcome,
            commit: CommitId::new(format!("c{seq}")).unwrap(),
            artifact_digest: "sha256:00".into(),
            pipeline_run: PipelineRunId::new(format!("run-{seq}")).unwrap(),
            pipeline_url: None,
            first_commit_at: None,
            change: None,
        },
        recorded_at: finished_at,
        prev_hash: RecordHash::GENESIS,
        hash: RecordHash::GENESIS,
    }
}

fn history() -> Vec<DeploymentRecord> {
    use Outcome::*;
    vec![
        rec(
            1,
            "checkout",
            "1.0",
            "staging",
            datetime!(2026-05-01 09:00 UTC),
            Succeeded,
        ),
        rec(
            2,
            "checkout",
            "1.0",
            "production",
            datetime!(2026-05-01 10:00 UTC),
            Succeeded,
        ),
        rec(
            3,
            "billing",
            "7",
            "production",
            datetime!(2026-05-02 10:00 UTC),
            Succeeded,
        ),
        rec(
            4,
            "checkout",
            "1.1",
            "staging",
            datetime!(2026-05-03 09:00 UTC),
            Succeeded,
        ),
        // A failed production deployment after a good one: 1.0 keeps running.
        rec(
            5,
            "checkout",
            "1.1",
            "production",
            datetime!(2026-05-03 10:00 UTC),
            Failed,
        ),
        rec(
            6,
            "checkout",
            "1.2",
            "production",
            datetime!(2026-05-05 10:00 UTC),
            Succeeded,
        ),
    ]
}

fn versions(entries: &[itsm_audit::inventory::InventoryEntry]) -> Vec<(String, String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e.service.to_string(),
                e.environment.to_string(),
                e.version.to_string(),
            )
        })
        .collect()
}

fn triple(s: &str, e: &str, v: &str) -> (String, String, String) {
    (s.into(), e.into(), v.into())
}

#[test]
fn now_shows_the_latest_succeeded_version_sorted_by_service_then_environment() {
    let entries = inventory(&history(), None);
    assert_eq!(
        versions(&entries),
        vec![
            triple("billing", "production", "7"),
            triple("checkout", "production", "1.2"),
            triple("checkout", "staging", "1.1"),
        ]
    );
    let checkout_prod = &entries[1];
    assert_eq!(checkout_prod.seq, 6);
    assert_eq!(checkout_prod.since, datetime!(2026-05-05 10:00 UTC));
    assert_eq!(checkout_prod.key.as_str(), "checkout/1.2/production/6");
}

#[test]
fn a_failed_deployment_leaves_the_previous_version() {
    // Just after the failed 1.1 deployment to production.
    let entries = inventory(&history(), Some(datetime!(2026-05-04 00:00 UTC)));
    assert_eq!(
        versions(&entries),
        vec![
            triple("billing", "production", "7"),
            triple("checkout", "production", "1.0"),
            triple("checkout", "staging", "1.1"),
        ]
    );
    assert_eq!(entries[1].seq, 2);
    assert_eq!(entries[1].since, datetime!(2026-05-01 10:00 UTC));
}

#[test]
fn an_instant_between_deployments_sees_only_what_had_finished() {
    let entries = inventory(&history(), Some(datetime!(2026-05-01 12:00 UTC)));
    assert_eq!(
        versions(&entries),
        vec![
            triple("checkout", "production", "1.0"),
            triple("checkout", "staging", "1.0"),
        ]
    );
    // A deployment that finishes exactly at `at` counts.
    let entries = inventory(&history(), Some(datetime!(2026-05-02 10:00 UTC)));
    assert!(versions(&entries).contains(&triple("billing", "production", "7")));
    // Before anything finished, nothing runs.
    assert!(inventory(&history(), Some(datetime!(2026-04-01 00:00 UTC))).is_empty());
}

#[test]
fn order_in_the_slice_does_not_matter_and_ties_go_to_the_later_record() {
    let mut records = history();
    records.reverse();
    assert_eq!(
        versions(&inventory(&records, None)),
        versions(&inventory(&history(), None))
    );
    let at = datetime!(2026-06-01 10:00 UTC);
    let tie = vec![
        rec(8, "api", "b", "prod", at, Outcome::Succeeded),
        rec(7, "api", "a", "prod", at, Outcome::Succeeded),
    ];
    assert_eq!(
        versions(&inventory(&tie, None)),
        vec![triple("api", "prod", "b")]
    );
}

#[test]
fn only_failed_deployments_mean_nothing_runs() {
    let records = vec![rec(
        1,
        "api",
        "1",
        "production",
        datetime!(2026-05-01 10:00 UTC),
        Outcome::Failed,
    )];
    assert!(inventory(&records, None).is_empty());
    assert!(inventory(&[], None).is_empty());
}
