//! Events API v2 operations against wiremock: trigger, acknowledge, resolve, change events,
//! and the retries of 429 / 5xx answers.

mod common;

use std::collections::BTreeMap;

use common::*;
use itsm_core::{ErrorKind, IdempotencyKey, Link, ServiceId};
use itsm_incident::{ChangeEvent, NewPage, PageStatus, Pager, Severity};
use itsm_pagerduty::{PagerDuty, PagerDutyConfig};
use secrecy::SecretString;
use serde_json::json;
use time::macros::datetime;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn key() -> IdempotencyKey {
    IdempotencyKey::new(EXAMPLE_KEY).unwrap()
}

fn new_page() -> NewPage {
    NewPage {
        summary: "DISK at 99% on machine prod-datapipe03.example.com".into(),
        severity: Severity::Critical,
        source: "prod-datapipe03.example.com".into(),
        service: ServiceId::new("datapipe").unwrap(),
        routing: None,
        links: vec![
            Link::parse("Runbook", "https://wiki.example/runbooks/disk").unwrap(),
            Link::parse("Disk panel", "https://grafana.example/render/disk.png").unwrap(),
        ],
        details: BTreeMap::from([("free space".to_owned(), "1%".to_owned())]),
    }
}

fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(202).set_body_json(fixture("event-accepted.json"))
}

async fn mount_enqueue(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .and(header("Content-Type", "application/json"))
        .respond_with(accepted())
        .mount(server)
        .await;
}

async fn mount_lookup(server: &MockServer, status: &str) {
    rest("GET", "/incidents")
        .and(query_param("incident_key", EXAMPLE_KEY))
        .and(query_param("date_range", "all"))
        .and(query_param("limit", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(incidents_with_status(status)))
        .mount(server)
        .await;
}

#[tokio::test]
async fn trigger_sends_the_documented_event_and_returns_the_incident() {
    let server = MockServer::start().await;
    mount_enqueue(&server).await;
    mount_lookup(&server, "triggered").await;

    let page = adapter(&server).trigger(&key(), &new_page()).await.unwrap();

    assert_eq!(page.id.unwrap().as_str(), "PT4KHLK");
    assert_eq!(page.key, key());
    assert_eq!(page.status, PageStatus::Triggered);
    let sent = received(&server, "/v2/enqueue").await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].headers.get("authorization").is_none(),
        "no REST token on events"
    );
    let mut body = body(&sent[0]);
    let timestamp = body["payload"]
        .as_object_mut()
        .unwrap()
        .remove("timestamp")
        .unwrap();
    assert!(
        time::OffsetDateTime::parse(
            timestamp.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    assert_eq!(
        body,
        json!({
            "routing_key": ROUTING,
            "event_action": "trigger",
            "dedup_key": EXAMPLE_KEY,
            "client": "itsm-rs",
            "payload": {
                "summary": "DISK at 99% on machine prod-datapipe03.example.com",
                "severity": "critical",
                "source": "prod-datapipe03.example.com",
                "component": "datapipe",
                "custom_details": { "free space": "1%", "service": "datapipe" }
            },
            "links": [
                { "href": "https://wiki.example/runbooks/disk", "text": "Runbook" },
                { "href": "https://grafana.example/render/disk.png", "text": "Disk panel" }
            ],
            "images": [{
                "src": "https://grafana.example/render/disk.png",
                "href": "https://grafana.example/render/disk.png",
                "alt": "Disk panel"
            }]
        })
    );
}

#[tokio::test]
async fn every_severity_maps_to_pagerduty_s() {
    let server = MockServer::start().await;
    mount_enqueue(&server).await;
    let mut config = config(&server);
    config.api_token = None;
    let pager = PagerDuty::with_retry(config, fast(1), fast(1)).unwrap();
    for (ours, theirs) in [
        (Severity::Critical, "critical"),
        (Severity::Error, "error"),
        (Severity::Warning, "warning"),
        (Severity::Info, "info"),
    ] {
        let page = NewPage {
            severity: ours,
            ..new_page()
        };
        pager.trigger(&key(), &page).await.unwrap();
        let sent = received(&server, "/v2/enqueue").await;
        let last = body(sent.last().unwrap());
        assert_eq!(last["payload"]["severity"], theirs);
    }
}

#[tokio::test]
async fn events_only_trigger_returns_a_page_without_id_and_makes_no_rest_call() {
    let server = MockServer::start().await;
    mount_enqueue(&server).await;
    let mut config = config(&server);
    config.api_token = None;
    config.from_email = None;
    let pager = PagerDuty::with_retry(config, fast(1), fast(1)).unwrap();
    let caps = pager.capabilities();
    assert!(caps.supports(itsm_incident::capability::CHANGE_EVENTS));
    assert!(!caps.supports(itsm_incident::capability::PAGE_READ));

    let page = pager.trigger(&key(), &new_page()).await.unwrap();
    assert_eq!(page.id, None);
    assert_eq!(page.status, PageStatus::Triggered);
    assert_eq!(pager.find_page_by_key(&key()).await.unwrap(), None);
    let err = pager
        .get_page(&itsm_incident::PageId::new("PT4KHLK").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let all = server.received_requests().await.unwrap();
    assert!(all.iter().all(|r| r.url.path() == "/v2/enqueue"), "{all:?}");
}

#[tokio::test]
async fn events_429_and_5xx_are_retried_until_taken() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .respond_with(ResponseTemplate::new(500).set_body_json(fixture("event-invalid.json")))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .respond_with(accepted())
        .with_priority(3)
        .mount(&server)
        .await;
    mount_lookup(&server, "triggered").await;

    let page = adapter(&server).trigger(&key(), &new_page()).await.unwrap();
    assert_eq!(page.id.unwrap().as_str(), "PT4KHLK");
    let sent = received(&server, "/v2/enqueue").await;
    assert_eq!(
        sent.len(),
        3,
        "429, then 500 (idempotent: retried), then 202"
    );
    assert!(sent.iter().all(|r| body(r)["dedup_key"] == EXAMPLE_KEY));
}

#[tokio::test]
async fn events_429_that_outlasts_the_budget_is_a_rate_limited_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    let err = adapter(&server)
        .trigger(&key(), &new_page())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.context_value("attempts"), Some("4"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn events_400_is_invalid_input_with_pagerduty_s_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("event-invalid.json")))
        .mount(&server)
        .await;
    let err = adapter(&server)
        .trigger(&key(), &new_page())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .contains("Event object format is unrecognized"),
        "{err}"
    );
    assert_eq!(received(&server, "/v2/enqueue").await.len(), 1);
    assert!(!err.to_string().contains(ROUTING), "{err}");
}

#[tokio::test]
async fn acknowledge_checks_the_key_then_sends_the_event() {
    let server = MockServer::start().await;
    mount_lookup(&server, "triggered").await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .and(body_json(json!({
            "routing_key": ROUTING,
            "event_action": "acknowledge",
            "dedup_key": EXAMPLE_KEY
        })))
        .respond_with(accepted())
        .expect(1)
        .mount(&server)
        .await;
    adapter(&server).acknowledge(&key(), None).await.unwrap();
}

#[tokio::test]
async fn resolve_sends_the_event_and_a_resolved_page_is_left_alone() {
    let server = MockServer::start().await;
    mount_lookup(&server, "acknowledged").await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .and(body_json(json!({
            "routing_key": ROUTING,
            "event_action": "resolve",
            "dedup_key": EXAMPLE_KEY
        })))
        .respond_with(accepted())
        .expect(1)
        .mount(&server)
        .await;
    adapter(&server).resolve(&key(), None).await.unwrap();

    let resolved = MockServer::start().await;
    mount_lookup(&resolved, "resolved").await;
    adapter(&resolved).resolve(&key(), None).await.unwrap();
    assert!(received(&resolved, "/v2/enqueue").await.is_empty());
}

#[tokio::test]
async fn acknowledge_or_resolve_of_an_unknown_key_is_not_found() {
    let server = MockServer::start().await;
    rest("GET", "/incidents")
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"incidents": [], "more": false})),
        )
        .mount(&server)
        .await;
    let pager = adapter(&server);
    let unknown = IdempotencyKey::new("never/triggered").unwrap();
    assert_eq!(
        pager.acknowledge(&unknown, None).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        pager.resolve(&unknown, None).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(received(&server, "/v2/enqueue").await.is_empty());
}

#[tokio::test]
async fn a_service_routing_key_is_used_for_trigger_and_remembered_for_resolve() {
    let server = MockServer::start().await;
    mount_enqueue(&server).await;
    mount_lookup(&server, "triggered").await;
    let mut config: PagerDutyConfig = config(&server);
    config.routing_keys.insert(
        ServiceId::new("datapipe").unwrap(),
        SecretString::from("datapipe-routing-key"),
    );
    let pager = PagerDuty::with_retry(config, fast(1), fast(1)).unwrap();
    pager.trigger(&key(), &new_page()).await.unwrap();
    pager.resolve(&key(), None).await.unwrap();
    let sent = received(&server, "/v2/enqueue").await;
    assert_eq!(body(&sent[0])["routing_key"], "datapipe-routing-key");
    assert_eq!(body(&sent[1])["routing_key"], "datapipe-routing-key");
    assert_eq!(body(&sent[1])["event_action"], "resolve");
}

#[tokio::test]
async fn change_event_carries_the_deployment_facts_once_per_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/change/enqueue"))
        .and(body_json(json!({
            "routing_key": ROUTING,
            "payload": {
                "summary": "checkout 1.4.2 deployed to production",
                "timestamp": "2026-03-02T10:15:00Z",
                "source": "github-actions",
                "custom_details": {
                    "version": "1.4.2",
                    "environment": "production",
                    "service": "checkout",
                    "itsm_key": "checkout/1.4.2/production/gh-991/close"
                }
            },
            "links": [{ "href": "https://ci.example/runs/991", "text": "Pipeline run" }]
        })))
        .respond_with(accepted())
        .expect(1)
        .mount(&server)
        .await;
    let event = ChangeEvent {
        summary: "checkout 1.4.2 deployed to production".into(),
        source: "github-actions".into(),
        service: ServiceId::new("checkout").unwrap(),
        routing: None,
        timestamp: datetime!(2026-03-02 10:15 UTC),
        links: vec![Link::parse("Pipeline run", "https://ci.example/runs/991").unwrap()],
        details: BTreeMap::from([
            ("version".to_owned(), "1.4.2".to_owned()),
            ("environment".to_owned(), "production".to_owned()),
        ]),
    };
    let key = IdempotencyKey::new("checkout/1.4.2/production/gh-991/close").unwrap();
    let pager = adapter(&server);
    pager.send_change_event(&key, &event).await.unwrap();
    pager.send_change_event(&key, &event).await.unwrap();
}

#[tokio::test]
async fn trigger_without_any_routing_key_says_what_to_set() {
    let server = MockServer::start().await;
    let mut config = config(&server);
    config.routing_key = None;
    let pager = PagerDuty::with_retry(config, fast(1), fast(1)).unwrap();
    let err = pager.trigger(&key(), &new_page()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("PAGERDUTY_ROUTING_KEY"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}
