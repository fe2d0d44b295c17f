//! The adapter against a Jira simulator that faults a fifth of the requests (5xx, 429 with
//! and without `Retry-After` / `X-RateLimit-Reset`, resets, answers lost after the write,
//! answers delayed past the adapter's 1 s `timeout_seconds`): a caller that retries a keyed
//! create on every error ends with exactly one issue per key. `ITSM_SIM_FAULTS` replaces
//! the plan for soak runs.

mod common;

use std::time::Duration;

use itsm_change::{ChangeKind, ChangeSystem, NewChange};
use itsm_core::{Environment, IdempotencyKey, ServiceId, Version};
use itsm_incident::{Assignment, IncidentSystem, NewIncident, Priority, ServiceKind};
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::faults::{FaultKind, FaultPlan, Vendor, until_ok};

const KEYS: usize = 6;
const CALLER_ATTEMPTS: usize = 25;

/// The plan: `ITSM_SIM_FAULTS` when set, else seed 11 faulting 20% with the retry-safe kinds.
fn plan() -> (FaultPlan, bool) {
    let (plan, is_default) =
        FaultPlan::from_env_or(FaultPlan::survivable(11, 0.2, Some(Duration::from_secs(3))))
            .unwrap();
    (plan.vendor(Vendor::Jira), is_default)
}

fn change(i: usize) -> NewChange {
    NewChange {
        kind: ChangeKind::Normal,
        template: None,
        service: ServiceId::new("checkout").unwrap(),
        version: Version::new(format!("1.4.{i}")).unwrap(),
        environment: Environment::production(),
        summary: format!("Deploy checkout 1.4.{i}"),
        description: String::new(),
        window: None,
        commits: vec![],
        pipeline_run: None,
        requested_by: None,
        assignment_team: None,
        reasons: vec![],
        retroactive: false,
        links: vec![],
    }
}

fn incident(i: usize) -> NewIncident {
    NewIncident {
        summary: format!("Checkout down #{i}"),
        description: String::new(),
        priority: Priority::P1,
        assignment: Assignment {
            service: ServiceId::new("checkout").unwrap(),
            kind: ServiceKind::DigitalService,
            team: None,
        },
        tenant: None,
        links_to: vec![],
        links: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_creates_retried_through_faults_leave_one_issue_per_key() {
    let (plan, is_default) = plan();
    let sim = common::sim();
    let server = SimServer::start_with_faults(sim.router(), plan)
        .await
        .unwrap();
    let mut config = common::config(&server.base_url());
    // Shorter than the plan's 3 s delays.
    config.timeout_seconds = 1;
    let jira = itsm_jira::Jira::with_retry_policy(config, common::quick_retry()).unwrap();

    let mut created = Vec::new();
    for i in 0..KEYS {
        let key =
            IdempotencyKey::new(format!("deploy/checkout/1.4.{i}/production/run-{i}")).unwrap();
        let new = change(i);
        let change = until_ok(CALLER_ATTEMPTS, || jira.create_change(&key, &new))
            .await
            .unwrap_or_else(|errors| panic!("change {i} never created: {errors:?}"));
        assert_eq!(change.key.as_ref(), Some(&key));
        created.push(change.id.as_str().to_owned());

        let key = IdempotencyKey::new(format!("alert/checkout down/{i}")).unwrap();
        let new = incident(i);
        let incident = until_ok(CALLER_ATTEMPTS, || jira.create_incident(&key, &new))
            .await
            .unwrap_or_else(|errors| panic!("incident {i} never created: {errors:?}"));
        assert_eq!(incident.key.as_ref(), Some(&key));
        created.push(incident.id.as_str().to_owned());
    }

    let log = server.faults();
    eprintln!(
        "{} faults in {} requests: {:?}",
        log.total(),
        log.requests,
        log.by_kind()
    );
    let mut issues: Vec<String> = sim.issues().iter().map(|i| i.key().to_owned()).collect();
    issues.sort();
    created.sort();
    assert_eq!(issues, created, "exactly the issues the caller got back");
    assert_eq!(issues.len(), 2 * KEYS);
    if is_default {
        let lost_creates = log
            .injected
            .iter()
            .filter(|f| f.kind == FaultKind::ResponseLost && f.method == "POST")
            .count();
        assert!(
            lost_creates >= 1,
            "seed 11 loses a create's answer: {log:?}"
        );
        assert!(
            log.count(&FaultKind::Delay(Duration::from_secs(3))) >= 1,
            "seed 11 delays an answer past the timeout: {log:?}"
        );
    }
}
