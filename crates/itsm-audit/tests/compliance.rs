//! A4: every production deployment ran under an approved change, for its version, inside
//! the change's window.

use itsm_audit::compliance::{ViolationReason, check};
use itsm_audit::{ChangeEvidence, DeploymentRecord, NewDeployment, Outcome, RecordHash};
use itsm_core::{
    CommitId, Environment, ExternalRef, IdempotencyKey, Person, PipelineRunId, ServiceId, Version,
};
use time::OffsetDateTime;
use time::macros::datetime;

fn rec(
    seq: u64,
    env: &str,
    version: &str,
    started_at: OffsetDateTime,
    finished_at: OffsetDateTime,
    change: Option<ChangeEvidence>,
) -> DeploymentRecord {
    DeploymentRecord {
        seq,
        key: IdempotencyKey::new(format!("k{seq}")).unwrap(),
        deployment: NewDeployment {
            service: ServiceId::new("checkout").unwrap(),
            version: Version::new(version).unwrap(),
            environment: Environment::new(env).unwrap(),
            started_at,
            finished_at,
            deployer: Person::named("ci"),
            outcome: Outcome::Succeeded,
            commit: CommitId::new("abc").unwrap(),
            artifact_digest: "sha256:00".into(),
            pipeline_run: PipelineRunId::new("run").unwrap(),
            pipeline_url: None,
            first_commit_at: None,
            change,
        },
        recorded_at: finished_at,
        prev_hash: RecordHash::GENESIS,
        hash: RecordHash::GENESIS,
    }
}

fn change(
    approved: bool,
    version: &str,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
) -> Option<ChangeEvidence> {
    Some(ChangeEvidence {
        reference: ExternalRef::new("servicenow", "CHG0001"),
        approved,
        version: Version::new(version).unwrap(),
        window_start: start,
        window_end: end,
    })
}

const SINCE: OffsetDateTime = datetime!(2026-05-01 00:00 UTC);
const UNTIL: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);
const W_START: OffsetDateTime = datetime!(2026-05-10 08:00 UTC);
const W_END: OffsetDateTime = datetime!(2026-05-10 18:00 UTC);

fn at(h: u8) -> OffsetDateTime {
    datetime!(2026-05-10 00:00 UTC) + time::Duration::hours(h.into())
}

#[test]
fn compliant_deployment_has_no_violation() {
    let records = vec![rec(
        1,
        "production",
        "1.0",
        at(9),
        at(10),
        change(true, "1.0", Some(W_START), Some(W_END)),
    )];
    let report = check(&records, SINCE, UNTIL);
    assert_eq!((report.checked, report.compliant), (1, 1));
    assert!(report.violations.is_empty());
    // Exactly on the window bounds is inside.
    let records = vec![rec(
        1,
        "production",
        "1.0",
        W_START,
        W_END,
        change(true, "1.0", Some(W_START), Some(W_END)),
    )];
    assert!(check(&records, SINCE, UNTIL).violations.is_empty());
    // Missing bounds are unbounded.
    let records = vec![rec(
        1,
        "prod-eu",
        "1.0",
        at(1),
        at(23),
        change(true, "1.0", None, None),
    )];
    assert!(check(&records, SINCE, UNTIL).violations.is_empty());
}

#[test]
fn each_reason_is_reported_with_the_deployment() {
    let records = vec![
        rec(1, "production", "1.0", at(9), at(10), None),
        rec(
            2,
            "production",
            "1.0",
            at(9),
            at(10),
            change(false, "1.0", Some(W_START), Some(W_END)),
        ),
        rec(
            3,
            "production",
            "1.1",
            at(9),
            at(10),
            change(true, "1.0", Some(W_START), Some(W_END)),
        ),
        // Starts before the window.
        rec(
            4,
            "production",
            "1.0",
            at(7),
            at(9),
            change(true, "1.0", Some(W_START), None),
        ),
        // Ends after the window.
        rec(
            5,
            "production",
            "1.0",
            at(17),
            at(19),
            change(true, "1.0", None, Some(W_END)),
        ),
        rec(
            6,
            "production",
            "1.0",
            at(9),
            at(10),
            change(true, "1.0", Some(W_START), Some(W_END)),
        ),
    ];
    let report = check(&records, SINCE, UNTIL);
    assert_eq!(report.checked, 6);
    assert_eq!(report.compliant, 1);
    let reasons: Vec<(u64, &ViolationReason)> = report
        .violations
        .iter()
        .map(|v| (v.seq, &v.reason))
        .collect();
    assert_eq!(reasons[0], (1, &ViolationReason::NoChange));
    assert_eq!(reasons[1], (2, &ViolationReason::NotApproved));
    assert_eq!(
        reasons[2],
        (
            3,
            &ViolationReason::WrongVersion {
                change_version: Version::new("1.0").unwrap(),
                deployed_version: Version::new("1.1").unwrap(),
            }
        )
    );
    assert_eq!(
        reasons[3],
        (
            4,
            &ViolationReason::OutsideWindow {
                window_start: Some(W_START),
                window_end: None,
                deployed_at: at(7),
            }
        )
    );
    assert_eq!(reasons[4].0, 5);
    assert_eq!(reasons[4].1.code(), "outside_window");
    assert_eq!(reasons.len(), 5);

    let v = &report.violations[0];
    assert_eq!(v.key.as_str(), "k1");
    assert_eq!(v.service.as_str(), "checkout");
    assert_eq!(v.environment.as_str(), "production");
    assert_eq!(v.finished_at, at(10));
    assert!(report.violation_of(6).is_none());
    assert_eq!(
        report.violation_of(3).unwrap().reason.code(),
        "wrong_version"
    );

    let counts = report.counts_by_reason();
    assert_eq!(counts["no_change"], 1);
    assert_eq!(counts["not_approved"], 1);
    assert_eq!(counts["wrong_version"], 1);
    assert_eq!(counts["outside_window"], 2);
    assert!(
        reasons[3]
            .1
            .to_string()
            .contains("outside the change window")
    );
}

#[test]
fn every_failed_check_is_kept_first_one_as_reason() {
    let records = vec![rec(
        1,
        "production",
        "2.0",
        at(7),
        at(9),
        change(false, "1.0", Some(W_START), Some(W_END)),
    )];
    let report = check(&records, SINCE, UNTIL);
    let v = &report.violations[0];
    assert_eq!(v.reason, ViolationReason::NotApproved);
    let others: Vec<&str> = v.other_reasons.iter().map(|r| r.code()).collect();
    assert_eq!(others, ["wrong_version", "outside_window"]);
}

#[test]
fn only_production_deployments_in_the_period_are_checked() {
    let records = vec![
        rec(1, "staging", "1.0", at(9), at(10), None),
        rec(2, "dev", "1.0", at(9), at(10), None),
        // Before the period, at its exclusive end, after it.
        rec(
            3,
            "production",
            "1.0",
            datetime!(2026-04-30 23:00 UTC),
            datetime!(2026-04-30 23:30 UTC),
            None,
        ),
        rec(
            4,
            "production",
            "1.0",
            datetime!(2026-05-31 23:50 UTC),
            UNTIL,
            None,
        ),
        // Starts before the period, finishes in it: checked.
        rec(
            5,
            "production",
            "1.0",
            datetime!(2026-04-30 23:59 UTC),
            SINCE,
            None,
        ),
    ];
    let report = check(&records, SINCE, UNTIL);
    assert_eq!(report.checked, 1);
    assert_eq!(report.violations.len(), 1);
    assert_eq!(report.violations[0].seq, 5);
    let empty = check(&[], SINCE, UNTIL);
    assert_eq!(
        (empty.checked, empty.compliant, empty.violations.len()),
        (0, 0, 0)
    );
    // A backwards period checks nothing rather than failing.
    assert_eq!(check(&records, UNTIL, SINCE).checked, 0);
}

#[test]
fn report_serialises_reasons_with_a_kind_tag() {
    let records = vec![rec(
        1,
        "production",
        "1.1",
        at(9),
        at(10),
        change(true, "1.0", None, None),
    )];
    let json = serde_json::to_value(check(&records, SINCE, UNTIL)).unwrap();
    let reason = &json["violations"][0]["reason"];
    assert_eq!(reason["kind"], "wrong_version");
    assert_eq!(reason["change_version"], "1.0");
    assert_eq!(reason["deployed_version"], "1.1");
    assert_eq!(json["since"], "2026-05-01T00:00:00Z");
}
