//! The adapter against the PagerDuty simulator of itsm-testkit: the Pager conformance suite,
//! and end-to-end checks of what reached the simulated account.

use std::collections::BTreeMap;
use std::time::Duration;

use itsm_core::{IdempotencyKey, ListRequest, Person, ServiceId};
use itsm_http::RetryPolicy;
use itsm_incident::{NewPage, Note, PageAssignment, PageStatus, Pager, Priority, Severity};
use itsm_pagerduty::{NewRestIncident, PageFilter, PagerDuty, PagerDutyConfig};
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::pagerduty::PagerDutySim;
use secrecy::SecretString;

const TOKEN: &str = "sim-TOKEN-value";

async fn start() -> (PagerDutySim, SimServer, PagerDuty) {
    let sim = PagerDutySim::new().with_token(TOKEN);
    let server = SimServer::start(sim.router()).await.unwrap();
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
    let fast = RetryPolicy::new(3, Duration::from_secs(5))
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5));
    let pager = PagerDuty::with_retry(config, fast.clone(), fast)
        .unwrap()
        .with_lookup_delay(Duration::from_millis(5));
    (sim, server, pager)
}

#[tokio::test]
async fn pager_conformance_suite_passes_with_nothing_skipped() {
    let (_sim, _server, pager) = start().await;
    let report = itsm_testkit::conformance::pager::run_all(&pager).await;
    assert!(report.skipped().is_empty(), "{report:?}");
    assert_eq!(report.passed().len(), report.checks.len());
    assert!(report.passed().contains(&"reassign_and_priority"));
}

#[tokio::test]
async fn a_retried_trigger_never_opens_a_second_incident() {
    let (sim, _server, pager) = start().await;
    let key = IdempotencyKey::new("alertmanager/checkout/HighLatency").unwrap();
    let page = NewPage {
        summary: "checkout p99 latency above 2 s".into(),
        severity: Severity::Critical,
        source: "prometheus".into(),
        service: ServiceId::new("checkout").unwrap(),
        routing: None,
        links: vec![],
        details: BTreeMap::new(),
    };
    let first = pager.trigger(&key, &page).await.unwrap();
    let again = pager.trigger(&key, &page).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(sim.incident_count(), 1);
    assert_eq!(sim.alert_events().len(), 2);

    let id = first.id.unwrap();
    let moved = pager
        .reassign(
            &id,
            &PageAssignment::People(vec![Person::named("Olive Oncall")]),
        )
        .await
        .unwrap();
    assert_eq!(moved.assignees[0].handle.as_deref(), Some("PUSER01"));
    let raised = pager.set_priority(&id, Priority::P1).await.unwrap();
    assert_eq!(raised.priority, Some(Priority::P1));
    let note = Note {
        text: "Rolled back to 1.4.1".into(),
        author: None,
    };
    let note_key = IdempotencyKey::new("note/1").unwrap();
    pager.add_note(&id, &note_key, &note).await.unwrap();
    pager.add_note(&id, &note_key, &note).await.unwrap();
    assert_eq!(
        sim.notes(id.as_str()),
        ["Rolled back to 1.4.1\n\n[itsm:note/1]"]
    );
    pager.resolve(&key, None).await.unwrap();
    let resolved = pager.find_page_by_key(&key).await.unwrap().unwrap();
    assert_eq!(resolved.status, PageStatus::Resolved);
}

#[tokio::test]
async fn rest_created_incidents_are_listed_page_by_page() {
    let (_sim, _server, pager) = start().await;
    for n in 0..3 {
        let key = IdempotencyKey::new(format!("rest/{n}")).unwrap();
        let incident = NewRestIncident {
            title: format!("Incident {n}"),
            details: None,
            service_id: None,
            escalation_policy_id: None,
            high_urgency: false,
            priority: Some(Priority::P3),
        };
        let page = pager.create_incident(&key, &incident).await.unwrap();
        assert_eq!(page.priority, Some(Priority::P3));
        // Creating again with the key returns the same incident.
        let again = pager.create_incident(&key, &incident).await.unwrap();
        assert_eq!(page.id, again.id);
    }
    let filter = PageFilter::default();
    let first = pager
        .list_pages(&filter, &ListRequest::with_limit(2))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let next = ListRequest {
        limit: Some(2),
        cursor: first.next.clone(),
    };
    let second = pager.list_pages(&filter, &next).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next, None);
    let id = second.items[0].id.clone().unwrap();
    pager.post_status_update(&id, "Mitigated").await.unwrap();
}

#[tokio::test]
async fn simulator_errors_have_pagerduty_s_status_codes_and_bodies() {
    let (_sim, server, pager) = start().await;
    let missing = itsm_incident::PageId::new("PNOPE").unwrap();
    let err = pager.get_page(&missing).await.unwrap_err();
    assert_eq!(err.kind(), itsm_core::ErrorKind::NotFound);
    assert_eq!(err.context_value("pagerduty_code"), Some("2100"));

    let mut config = pager.config().clone();
    config.api_token = Some(SecretString::from("wrong-token"));
    let stranger = PagerDuty::with_retry(config, RetryPolicy::none(), RetryPolicy::none()).unwrap();
    let err = stranger.get_page(&missing).await.unwrap_err();
    assert_eq!(err.kind(), itsm_core::ErrorKind::Unauthenticated);
    assert_eq!(err.context_value("pagerduty_code"), Some("2006"));
    assert!(!err.to_string().contains("wrong-token"));
    drop(server);
}
