//! A6: the audit report, built from a small history and rendered in every format.

use itsm_audit::report::{AuditReport, ReportFormat, build, render, week_start};
use itsm_audit::{
    ChangeEvidence, DeploymentRecord, IncidentLink, NewDeployment, Outcome, RecordHash,
};
use itsm_core::{
    CommitId, Environment, ErrorKind, ExternalRef, IdempotencyKey, Person, PipelineRunId,
    ServiceId, Version,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

// Monday 2026-05-04 to Monday 2026-05-25: three whole weeks.
const SINCE: OffsetDateTime = datetime!(2026-05-04 00:00 UTC);
const UNTIL: OffsetDateTime = datetime!(2026-05-25 00:00 UTC);
const NOW: OffsetDateTime = datetime!(2026-05-25 08:00 UTC);
const EVIL: &str = "<script>alert(1)</script>";

struct R {
    seq: u64,
    service: &'static str,
    env: &'static str,
    outcome: Outcome,
    finished: OffsetDateTime,
    lead_h: Option<i64>,
    approved: Option<bool>,
}

fn rec(r: R) -> DeploymentRecord {
    let version = Version::new(format!("1.{}", r.seq)).unwrap();
    DeploymentRecord {
        seq: r.seq,
        key: IdempotencyKey::new(format!("d{}", r.seq)).unwrap(),
        deployment: NewDeployment {
            service: ServiceId::new(r.service).unwrap(),
            version: version.clone(),
            environment: Environment::new(r.env).unwrap(),
            started_at: r.finished - Duration::minutes(10),
            finished_at: r.finished,
            deployer: Person::named(if r.seq == 2 {
                "Smith, \"JJ\"\nJr"
            } else {
                "ci"
            }),
            outcome: r.outcome,
            commit: CommitId::new(format!("c{}", r.seq)).unwrap(),
            artifact_digest: "sha256:00".into(),
            pipeline_run: PipelineRunId::new("run").unwrap(),
            pipeline_url: None,
            first_commit_at: r.lead_h.map(|h| r.finished - Duration::hours(h)),
            change: r.approved.map(|approved| ChangeEvidence {
                reference: ExternalRef::new("servicenow", format!("CHG{}", r.seq)),
                approved,
                version,
                window_start: None,
                window_end: None,
            }),
        },
        recorded_at: r.finished,
        prev_hash: RecordHash::GENESIS,
        hash: RecordHash::GENESIS,
    }
}

fn history() -> (Vec<DeploymentRecord>, Vec<IncidentLink>) {
    use Outcome::*;
    let records = vec![
        // Week 1: two production deployments, lead times 2h and 6h (median 2h).
        rec(R {
            seq: 1,
            service: "checkout",
            env: "production",
            outcome: Succeeded,
            finished: datetime!(2026-05-04 10:00 UTC),
            lead_h: Some(2),
            approved: Some(true),
        }),
        rec(R {
            seq: 2,
            service: "checkout",
            env: "production",
            outcome: Failed,
            finished: datetime!(2026-05-05 10:00 UTC),
            lead_h: Some(6),
            approved: Some(true),
        }),
        rec(R {
            seq: 3,
            service: "checkout",
            env: "staging",
            outcome: Succeeded,
            finished: datetime!(2026-05-05 09:00 UTC),
            lead_h: None,
            approved: None,
        }),
        // Week 2: none. Week 3: the evil service, no change; one named by an incident.
        rec(R {
            seq: 4,
            service: EVIL,
            env: "production",
            outcome: Succeeded,
            finished: datetime!(2026-05-20 10:00 UTC),
            lead_h: Some(30),
            approved: None,
        }),
        rec(R {
            seq: 5,
            service: "billing",
            env: "prod-eu",
            outcome: Succeeded,
            finished: datetime!(2026-05-21 10:00 UTC),
            lead_h: None,
            approved: Some(false),
        }),
        // Outside the period.
        rec(R {
            seq: 6,
            service: "billing",
            env: "prod-eu",
            outcome: Succeeded,
            finished: UNTIL,
            lead_h: Some(1),
            approved: None,
        }),
    ];
    let incidents = vec![IncidentLink {
        incident: ExternalRef::new("pagerduty", "P1"),
        deployment: IdempotencyKey::new("d5").unwrap(),
        opened_at: datetime!(2026-05-21 11:00 UTC),
        resolved_at: Some(datetime!(2026-05-21 12:30 UTC)),
    }];
    (records, incidents)
}

fn report() -> AuditReport {
    let (records, incidents) = history();
    build(&records, &incidents, SINCE, UNTIL, NOW)
}

fn empty() -> AuditReport {
    build(&[], &[], SINCE, UNTIL, NOW)
}

#[test]
fn build_summarises_the_period() {
    let r = report();
    assert_eq!(r.deployments.total, 5);
    assert_eq!(r.deployments.production, 4);
    assert_eq!(
        (
            r.deployments.production_succeeded,
            r.deployments.production_failed
        ),
        (3, 1)
    );
    assert_eq!(r.deployments.services, 3);
    assert_eq!(
        r.deployments.by_environment[&Environment::new("staging").unwrap()],
        1
    );
    assert_eq!((r.compliance.checked, r.compliance.compliant), (4, 2));
    assert_eq!(r.dora.deployment_frequency.count, 4);
    assert_eq!(r.dora.change_failure_rate.failures, 2);
    assert_eq!(r.generated_at, NOW);
    let seqs: Vec<u64> = r.rows.iter().map(|row| row.seq).collect();
    assert_eq!(seqs, [1, 2, 4, 5]);
    assert_eq!(r.rows[2].violations[0].code(), "no_change");
    assert_eq!(r.rows[3].violations[0].code(), "not_approved");
}

#[test]
fn weekly_buckets_and_lead_time_trend_cover_every_week() {
    let r = report();
    let weeks: Vec<(OffsetDateTime, u64, u64)> = r
        .weekly
        .iter()
        .map(|w| (w.week_start, w.deployments, w.failures))
        .collect();
    assert_eq!(
        weeks,
        [
            (datetime!(2026-05-04 00:00 UTC), 2, 1),
            (datetime!(2026-05-11 00:00 UTC), 0, 0),
            (datetime!(2026-05-18 00:00 UTC), 2, 1),
        ]
    );
    let trend: Vec<(Option<Duration>, u64)> = r
        .lead_time_trend
        .iter()
        .map(|p| (p.median, p.measured))
        .collect();
    assert_eq!(
        trend,
        [
            (Some(Duration::hours(2)), 2),
            (None, 0),
            (Some(Duration::hours(30)), 1)
        ]
    );
    assert_eq!(
        week_start(datetime!(2026-05-10 23:59 UTC)),
        datetime!(2026-05-04 00:00 UTC)
    );
    assert_eq!(
        week_start(datetime!(2026-05-11 00:30 +02:00)),
        datetime!(2026-05-04 00:00 UTC)
    );
}

#[test]
fn format_parses_from_its_short_names() {
    assert_eq!(
        "md".parse::<ReportFormat>().unwrap(),
        ReportFormat::Markdown
    );
    assert_eq!("JSON".parse::<ReportFormat>().unwrap(), ReportFormat::Json);
    assert_eq!("csv".parse::<ReportFormat>().unwrap(), ReportFormat::Csv);
    assert_eq!(
        " html ".parse::<ReportFormat>().unwrap(),
        ReportFormat::Html
    );
    let err = "pdf".parse::<ReportFormat>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("\"pdf\"") && err.to_string().contains("md, json, csv, html"));
    assert_eq!(ReportFormat::Markdown.to_string(), "md");
}

#[test]
fn markdown_has_headings_and_tables() {
    let md = render(&report(), ReportFormat::Markdown);
    for heading in [
        "# Change audit report",
        "## Deployments",
        "## Compliance",
        "## DORA figures",
        "## Weekly",
    ] {
        assert!(md.contains(heading), "{heading}");
    }
    assert!(
        md.contains("| Change failure rate | 50.0% | 2 of 4 deployments"),
        "{md}"
    );
    assert!(md.contains("| 2026-05-11 | 0 | 0 | n/a |"), "{md}");
    assert!(md.contains("4 production deployments checked: 2 compliant, 2 violations."));
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!md.contains(EVIL));
    assert!(md.contains("Period: 2026-05-04T00:00:00Z to 2026-05-25T00:00:00Z"));
}

#[test]
fn json_is_the_report() {
    let json: serde_json::Value =
        serde_json::from_str(&render(&report(), ReportFormat::Json)).unwrap();
    assert_eq!(json["deployments"]["production"], 4);
    assert_eq!(
        json["compliance"]["violations"][0]["reason"]["kind"],
        "no_change"
    );
    assert_eq!(json["compliance"]["violations"][0]["service"], EVIL);
    assert_eq!(json["weekly"].as_array().unwrap().len(), 3);
    assert_eq!(json["lead_time_trend"][0]["median"], 7200.0);
    assert_eq!(json["period"]["since"], "2026-05-04T00:00:00Z");
    let back: AuditReport = serde_json::from_value(json).unwrap();
    assert_eq!(back.rows, report().rows);
}

#[test]
fn csv_has_one_quoted_row_per_production_deployment() {
    let csv = render(&report(), ReportFormat::Csv);
    assert!(csv.starts_with(
        "seq,key,service,version,environment,started_at,finished_at,deployer,outcome,change,\
         change_approved,status,reasons,detail\r\n"
    ));
    assert!(csv.ends_with("\r\n"));
    // Row 2's deployer has a comma, quotes and a newline.
    assert!(
        csv.contains(",\"Smith, \"\"JJ\"\"\nJr\",failed,servicenow:CHG2,true,compliant,,\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\r\n4,d4,<script>alert(1)</script>,1.4,production,"),
        "{csv}"
    );
    assert!(
        csv.contains(",violation,no_change,no change recorded\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(",violation,not_approved,change not approved\r\n"),
        "{csv}"
    );
    // 1 header + 4 rows; the embedded newline is inside quotes.
    assert_eq!(csv.matches("\r\n").count(), 5);
}

#[test]
fn html_is_self_contained_escaped_and_has_svg_charts() {
    let html = render(&report(), ReportFormat::Html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "frequency, lead time and violations charts"
    );
    assert!(html.contains("<rect"));
    assert!(html.contains("<polyline points=\""));
    // Nothing external: no scripts, stylesheets, fonts, images or links out.
    for forbidden in [
        "<script", "<link", "src=", "href=", "http://", "https://", "@import", "url(",
    ] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("Smith, &quot;JJ&quot;\nJr"));
    assert!(html.contains("50.0%"));
}

#[test]
fn an_empty_period_renders_in_every_format() {
    let e = empty();
    assert_eq!(e.weekly.len(), 3);
    assert!(e.weekly.iter().all(|w| w.deployments == 0));
    let md = render(&e, ReportFormat::Markdown);
    assert!(md.contains("No production deployments in this period."));
    assert!(md.contains("| Change failure rate | n/a |"));
    let csv = render(&e, ReportFormat::Csv);
    assert_eq!(csv.matches("\r\n").count(), 1);
    let json: serde_json::Value = serde_json::from_str(&render(&e, ReportFormat::Json)).unwrap();
    assert!(json["dora"]["change_failure_rate"]["rate"].is_null());
    let html = render(&e, ReportFormat::Html);
    assert!(html.contains("No production deployments in this period."));
    assert!(html.contains("No lead times in this period."));
    assert!(html.contains("No violations in this period."));
    assert!(!html.contains("NaN") && !html.contains("inf"));

    // A zero-length or backwards period: no weeks at all.
    let none = build(&history().0, &[], SINCE, SINCE, NOW);
    assert!(none.weekly.is_empty() && none.rows.is_empty());
    assert!(render(&none, ReportFormat::Html).contains("No weeks in this period."));
    assert!(render(&none, ReportFormat::Markdown).contains("No weeks in this period."));
    let backwards = build(&history().0, &[], UNTIL, SINCE, NOW);
    assert!(backwards.weekly.is_empty());
}

#[test]
fn a_very_long_period_keeps_only_weeks_with_deployments() {
    let (records, _) = history();
    let r = build(
        &records,
        &[],
        datetime!(1970-01-01 00:00 UTC),
        datetime!(9999-12-31 00:00 UTC),
        NOW,
    );
    assert_eq!(
        r.weekly.len(),
        3,
        "weeks of 05-04, 05-18 and of the record at UNTIL"
    );
    let html = render(&r, ReportFormat::Html);
    assert!(html.contains("<svg"));
}
