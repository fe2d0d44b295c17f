//! The adapter against a ServiceNow simulator that faults a fifth of the requests (5xx, 429
//! with and without wait headers, resets, answers delayed past the client timeout, and
//! answers lost after the write): a caller that retries a keyed create on every error ends
//! with exactly one record per key. `ITSM_SIM_FAULTS` replaces the plan for soak runs.

use std::collections::BTreeMap;
use std::time::Duration;

use itsm_change::{ChangeKind, ChangeSystem, NewChange};
use itsm_core::{Environment, IdempotencyKey, ServiceId, Version};
use itsm_http::{Auth, HttpClient, RetryPolicy, Timeouts};
use itsm_incident::{Assignment, IncidentSystem, NewIncident, Priority, ServiceKind};
use itsm_servicenow::{ServiceNow, ServiceNowConfig};
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::faults::{FaultKind, FaultPlan, Vendor, until_ok};
use itsm_testkit::sim::servicenow::ServiceNowSim;

const KEYS: usize = 6;
const CALLER_ATTEMPTS: usize = 25;

/// The plan: `ITSM_SIM_FAULTS` when set, else seed 4 faulting 20% with every retry-safe kind.
fn plan() -> (FaultPlan, bool) {
    let (plan, is_default) =
        FaultPlan::from_env_or(FaultPlan::survivable(4, 0.2, Some(Duration::from_secs(3))))
            .unwrap();
    (plan.vendor(Vendor::ServiceNow), is_default)
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
        reasons: vec!["2 failed deploys in 7 days".into()],
        retroactive: false,
        links: vec![],
    }
}

fn incident(i: usize) -> NewIncident {
    NewIncident {
        summary: format!("Checkout errors #{i}"),
        description: "Alertmanager: CheckoutErrors".into(),
        priority: Priority::P2,
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

/// How many rows of `table` carry each idempotency key.
fn per_key(sim: &ServiceNowSim, table: &str) -> BTreeMap<String, usize> {
    let mut tally = BTreeMap::new();
    for row in sim.rows(table) {
        let key = row.get("correlation_id").cloned().unwrap_or_default();
        *tally.entry(key).or_insert(0) += 1;
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_creates_retried_through_faults_leave_one_record_per_key() {
    let (plan, is_default) = plan();
    let sim = ServiceNowSim::new();
    let server = SimServer::start_with_faults(sim.router(), plan)
        .await
        .unwrap();
    let url = url::Url::parse(&server.base_url()).unwrap();
    let config = ServiceNowConfig::basic(url.clone(), "itsm.integration", "sim-password");
    // A 1 s attempt timeout, shorter than the plan's 3 s delays.
    let http = HttpClient::builder(url)
        .auth(Auth::basic("itsm.integration", "sim-password"))
        .timeouts(Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_secs(1),
        })
        .retry(
            RetryPolicy::new(3, Duration::from_secs(10))
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        )
        .build()
        .unwrap();
    let adapter = ServiceNow::with_client(config, http).unwrap();

    let mut change_ids = BTreeMap::new();
    for i in 0..KEYS {
        let key = IdempotencyKey::new(format!("checkout/1.4.{i}/production/run-{i}")).unwrap();
        let new = change(i);
        let created = until_ok(CALLER_ATTEMPTS, || adapter.create_change(&key, &new))
            .await
            .unwrap_or_else(|errors| panic!("change {i} never created: {errors:?}"));
        assert_eq!(created.key.as_ref(), Some(&key));
        change_ids.insert(key.as_str().to_owned(), created.id);

        let key = IdempotencyKey::new(format!("alertmanager/checkout/{i}")).unwrap();
        let new = incident(i);
        let created = until_ok(CALLER_ATTEMPTS, || adapter.create_incident(&key, &new))
            .await
            .unwrap_or_else(|errors| panic!("incident {i} never created: {errors:?}"));
        assert_eq!(created.key.as_ref(), Some(&key));
    }

    let log = server.faults();
    eprintln!(
        "{} faults in {} requests: {:?}",
        log.total(),
        log.requests,
        log.by_kind()
    );
    let changes = per_key(&sim, "change_request");
    assert_eq!(changes.len(), KEYS, "{changes:?}");
    assert!(changes.values().all(|&n| n == 1), "{changes:?}");
    let incidents = per_key(&sim, "incident");
    assert_eq!(incidents.len(), KEYS, "{incidents:?}");
    assert!(incidents.values().all(|&n| n == 1), "{incidents:?}");
    // A second run of every create finds the same records.
    for i in 0..KEYS {
        let key = IdempotencyKey::new(format!("checkout/1.4.{i}/production/run-{i}")).unwrap();
        let new = change(i);
        let again = until_ok(CALLER_ATTEMPTS, || adapter.create_change(&key, &new))
            .await
            .unwrap_or_else(|errors| panic!("change {i} not found again: {errors:?}"));
        assert_eq!(Some(&again.id), change_ids.get(key.as_str()));
    }
    assert_eq!(sim.rows("change_request").len(), KEYS);
    if is_default {
        let lost_creates = log
            .injected
            .iter()
            .filter(|f| f.kind == FaultKind::ResponseLost && f.method == "POST")
            .count();
        assert!(lost_creates >= 1, "seed 4 loses a create's answer: {log:?}");
        assert!(
            log.count(&FaultKind::Delay(Duration::from_secs(3))) >= 1,
            "{log:?}"
        );
    }
}
