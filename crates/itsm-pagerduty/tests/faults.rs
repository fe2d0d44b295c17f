//! The adapter against a PagerDuty simulator that faults a fifth of the requests (5xx, 429
//! with and without `ratelimit-*` headers, resets, answers lost after the write): a caller
//! that retries a keyed trigger or REST create on every error ends with exactly one incident
//! per key. `ITSM_SIM_FAULTS` replaces the plan for soak runs. (No delays here: the adapter
//! has no timeout setting shorter than the default 30 s; the ServiceNow fault test covers
//! them.)

use std::collections::BTreeMap;
use std::time::Duration;

use itsm_core::{IdempotencyKey, ServiceId};
use itsm_http::RetryPolicy;
use itsm_incident::{NewPage, Pager, Severity};
use itsm_pagerduty::{NewRestIncident, PagerDuty, PagerDutyConfig};
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::faults::{FaultKind, FaultPlan, Vendor, until_ok};
use itsm_testkit::sim::pagerduty::PagerDutySim;
use secrecy::SecretString;

const TOKEN: &str = "sim-TOKEN-value";
const KEYS: usize = 6;
const CALLER_ATTEMPTS: usize = 25;

/// The plan: `ITSM_SIM_FAULTS` when set, else seed 1 faulting 20% with the retry-safe kinds.
fn plan() -> (FaultPlan, bool) {
    let (plan, is_default) = FaultPlan::from_env_or(FaultPlan::survivable(1, 0.2, None)).unwrap();
    (plan.vendor(Vendor::PagerDuty), is_default)
}

fn page(i: usize) -> NewPage {
    NewPage {
        summary: format!("checkout p99 latency above 2 s #{i}"),
        severity: Severity::Critical,
        source: "prometheus".into(),
        service: ServiceId::new("checkout").unwrap(),
        routing: None,
        links: vec![],
        details: BTreeMap::new(),
    }
}

fn rest_incident(i: usize) -> NewRestIncident {
    NewRestIncident {
        title: format!("Payments queue stuck #{i}"),
        details: Some("opened over REST".into()),
        service_id: None,
        escalation_policy_id: None,
        high_urgency: true,
        priority: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_pages_retried_through_faults_leave_one_incident_per_key() {
    let (plan, is_default) = plan();
    let sim = PagerDutySim::new().with_token(TOKEN);
    let server = SimServer::start_with_faults(sim.router(), plan)
        .await
        .unwrap();
    let mut config: PagerDutyConfig = toml::from_str(&format!(
        r#"
        from_email = "itsm-bot@example.com"
        rest_url = "{base}"
        events_url = "{base}v2/"
        default_service = "PSIMSVC"
        "#,
        base = server.base_url()
    ))
    .unwrap();
    config.api_token = Some(SecretString::from(TOKEN));
    config.routing_key = Some(SecretString::from("sim-routing-key"));
    let fast = RetryPolicy::new(3, Duration::from_secs(10))
        .with_backoff(Duration::from_millis(5), Duration::from_millis(20));
    let pager = PagerDuty::with_retry(config, fast.clone(), fast)
        .unwrap()
        .with_lookup_delay(Duration::from_millis(5));

    let mut ids = Vec::new();
    for i in 0..KEYS {
        let key = IdempotencyKey::new(format!("alertmanager/checkout/{i}")).unwrap();
        let new = page(i);
        let paged = until_ok(CALLER_ATTEMPTS, || pager.trigger(&key, &new))
            .await
            .unwrap_or_else(|errors| panic!("page {i} never triggered: {errors:?}"));
        assert_eq!(paged.key, key);

        let key = IdempotencyKey::new(format!("rest/payments/{i}")).unwrap();
        let new = rest_incident(i);
        let created = until_ok(CALLER_ATTEMPTS, || pager.create_incident(&key, &new))
            .await
            .unwrap_or_else(|errors| panic!("incident {i} never created: {errors:?}"));
        assert_eq!(created.key, key);
        ids.push((key, created.id));
    }

    let log = server.faults();
    eprintln!(
        "{} faults in {} requests: {:?}",
        log.total(),
        log.requests,
        log.by_kind()
    );
    assert_eq!(sim.incident_count(), 2 * KEYS, "one incident per key");
    // Creating again finds the same incidents.
    for (i, (key, id)) in ids.iter().enumerate() {
        let new = rest_incident(i);
        let again = until_ok(CALLER_ATTEMPTS, || pager.create_incident(key, &new))
            .await
            .unwrap_or_else(|errors| panic!("{key:?} not found again: {errors:?}"));
        assert_eq!(&again.id, id);
    }
    assert_eq!(sim.incident_count(), 2 * KEYS);
    if is_default {
        let lost_writes = log
            .injected
            .iter()
            .filter(|f| f.kind == FaultKind::ResponseLost && f.method == "POST")
            .count();
        assert!(lost_writes >= 1, "seed 1 loses a write's answer: {log:?}");
    }
}
