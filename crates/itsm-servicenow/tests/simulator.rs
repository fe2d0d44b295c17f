//! The adapter against the ServiceNow simulator of itsm-testkit: the conformance suites,
//! and the behaviours the suites do not cover (standard changes from a template, a retry
//! after a lost answer, throttling, no cookie reuse).

use std::time::Duration;

use itsm_change::{ChangeKind, ChangeState, ChangeSystem, NewChange, TemplateFilter, capability};
use itsm_core::{Environment, IdempotencyKey, ListRequest, ServiceId, Version};
use itsm_http::{Auth, HttpClient, RetryPolicy};
use itsm_incident::{Assignment, IncidentSystem, NewIncident, Priority, ServiceKind};
use itsm_servicenow::{ServiceNow, ServiceNowConfig};
use itsm_testkit::conformance;
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::servicenow::{Fault, ServiceNowSim};

async fn start() -> (ServiceNowSim, SimServer, ServiceNow) {
    let sim = ServiceNowSim::new();
    let server = SimServer::start(sim.router()).await.unwrap();
    let url = url::Url::parse(&server.base_url()).unwrap();
    let config = ServiceNowConfig::basic(url.clone(), "itsm.integration", "sim-password");
    let http = HttpClient::builder(url)
        .auth(Auth::basic("itsm.integration", "sim-password"))
        .retry(
            RetryPolicy::new(3, Duration::from_secs(10))
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        )
        .build()
        .unwrap();
    let adapter = ServiceNow::with_client(config, http).unwrap();
    (sim, server, adapter)
}

#[tokio::test]
async fn change_conformance_passes_on_the_simulator() {
    let (_sim, _server, adapter) = start().await;
    let report = conformance::change::run_all(&adapter).await;
    // Templates are created in ServiceNow by people, so the two checks that create one are
    // skipped; every capability the adapter declares is exercised.
    let skipped = report.skipped();
    assert!(
        skipped
            .iter()
            .all(|(_, cap)| *cap == capability::TEMPLATES_CREATE),
        "{report:?}"
    );
    assert_eq!(skipped.len(), 2, "{report:?}");
}

#[tokio::test]
async fn incident_conformance_passes_on_the_simulator() {
    let (_sim, _server, adapter) = start().await;
    let report = conformance::incident::run_all(&adapter).await;
    assert!(report.skipped().is_empty(), "{report:?}");
}

fn incident(service: &str) -> NewIncident {
    NewIncident {
        summary: "Checkout p99 latency above 2s".into(),
        description: "Alertmanager: HighLatency".into(),
        priority: Priority::P2,
        assignment: Assignment {
            service: ServiceId::new(service).unwrap(),
            kind: ServiceKind::DigitalService,
            team: None,
        },
        tenant: None,
        links_to: vec![],
        links: vec![],
    }
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_repeated_on_retry() {
    let (sim, _server, adapter) = start().await;
    let key = IdempotencyKey::new("alertmanager/checkout/HighLatency").unwrap();
    sim.inject(axum_post(), "/api/now/table/incident", Fault::LoseAnswer);
    let lost = adapter.create_incident(&key, &incident("checkout")).await;
    assert!(lost.is_err(), "the lost answer should surface: {lost:?}");
    let retried = adapter
        .create_incident(&key, &incident("checkout"))
        .await
        .unwrap();
    assert_eq!(retried.key.as_ref(), Some(&key));
    assert_eq!(retried.priority, Priority::P2);
    assert_eq!(
        sim.rows("incident").len(),
        1,
        "the retry must not open a second incident"
    );

    // The same for a change: the POST was processed, its answer lost.
    let change_key = IdempotencyKey::new("checkout/1.4.2/production/run-7/raise").unwrap();
    sim.inject(
        axum_post(),
        "/api/sn_chg_rest/change/normal",
        Fault::LoseAnswer,
    );
    let new = normal_change("checkout", "1.4.2");
    assert!(adapter.create_change(&change_key, &new).await.is_err());
    let change = adapter.create_change(&change_key, &new).await.unwrap();
    assert_eq!(change.key.as_ref(), Some(&change_key));
    assert_eq!(sim.rows("change_request").len(), 1);
}

fn axum_post() -> axum::http::Method {
    axum::http::Method::POST
}

fn normal_change(service: &str, version: &str) -> NewChange {
    NewChange {
        kind: ChangeKind::Normal,
        template: None,
        service: ServiceId::new(service).unwrap(),
        version: Version::new(version).unwrap(),
        environment: Environment::production(),
        summary: format!("Deploy {service} {version}"),
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

#[tokio::test]
async fn standard_changes_come_from_published_templates_and_close_through_review() {
    let (sim, _server, adapter) = start().await;
    let template_id = sim.add_template("checkout", &["production", "staging"], "Checkout release");
    sim.add_template("payments", &["production"], "Payments release");
    let filter = TemplateFilter {
        service: Some(ServiceId::new("checkout").unwrap()),
        active_only: true,
    };
    let templates = adapter
        .list_templates(&filter, &ListRequest::first())
        .await
        .unwrap();
    assert_eq!(templates.items.len(), 1, "{templates:?}");
    let template = &templates.items[0];
    assert_eq!(template.id.as_str(), template_id);
    assert!(template.usable_for(
        &Environment::production(),
        itsm_core::time::OffsetDateTime::now_utc()
    ));
    assert_eq!(template.environments.len(), 2);

    let mut new = normal_change("checkout", "1.4.3");
    new.kind = ChangeKind::Standard;
    new.template = Some(template.id.clone());
    let key = IdempotencyKey::new("checkout/1.4.3/production/run-8/raise").unwrap();
    let change = adapter.create_change(&key, &new).await.unwrap();
    assert_eq!(change.kind, ChangeKind::Standard);
    assert_eq!(change.state, ChangeState::Scheduled);
    assert_eq!(change.approval, itsm_change::ApprovalState::Approved);
    assert_eq!(change.template.as_ref(), Some(&template.id));

    let closure = itsm_change::Closure {
        code: itsm_change::CloseCode::Successful,
        notes: "Deployed 1.4.3 in 4 minutes, run-8".into(),
        closed_at: None,
    };
    let closed = adapter.close(&change.id, &closure).await.unwrap();
    assert_eq!(closed.state, ChangeState::Closed);
    assert_eq!(
        closed.closure.as_ref().map(|c| c.notes.as_str()),
        Some(closure.notes.as_str())
    );
    let row = &sim.rows("change_request")[0];
    assert_eq!(
        row.get("close_code").map(String::as_str),
        Some("successful")
    );
    // scheduled -> implement -> review -> closed, each one PATCH on the standard path.
    let patches = sim
        .requests()
        .into_iter()
        .filter(|(m, p)| {
            *m == axum::http::Method::PATCH && p.starts_with("/api/sn_chg_rest/change/standard/")
        })
        .count();
    assert_eq!(patches, 3);
}

#[tokio::test]
async fn conflicts_report_blackouts_after_the_check_completes() {
    let (sim, _server, adapter) = start().await;
    sim.add_blackout("checkout", "Black Friday freeze");
    let key = IdempotencyKey::new("checkout/2.0.0/production/run-9/raise").unwrap();
    let change = adapter
        .create_change(&key, &normal_change("checkout", "2.0.0"))
        .await
        .unwrap();
    let conflicts = adapter.conflicts(&change.id).await.unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].kind, itsm_change::ConflictKind::Blackout);
    assert_eq!(conflicts[0].description, "Black Friday freeze");
}

#[tokio::test]
async fn throttled_requests_are_retried_and_cookies_are_never_sent_back() {
    let (sim, _server, adapter) = start().await;
    let key = IdempotencyKey::new("alertmanager/payments/Down").unwrap();
    sim.inject(
        axum::http::Method::GET,
        "/api/now/table/incident",
        Fault::Throttle(vec![("Retry-After".into(), "1".into())]),
    );
    sim.inject(
        axum::http::Method::POST,
        "/api/now/table/incident",
        Fault::Throttle(vec![
            ("X-RateLimit-Limit".into(), "100".into()),
            ("X-RateLimit-Reset".into(), "0".into()),
        ]),
    );
    sim.inject(
        axum::http::Method::GET,
        "/api/now/table/incident/",
        Fault::Throttle(vec![]),
    );
    let started = std::time::Instant::now();
    let created = adapter
        .create_incident(&key, &incident("payments"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After: 1 was not honoured"
    );
    let got = adapter.get_incident(&created.id).await.unwrap();
    assert_eq!(got.id, created.id);
    let requests = sim.requests();
    // lookup (429, retried), create (429 without Retry-After, retried), get (429, retried)
    assert_eq!(requests.len(), 6, "{requests:?}");
    assert_eq!(sim.rows("incident").len(), 1);
    assert_eq!(
        sim.cookies_received(),
        0,
        "the JSESSIONID cookie must not be reused"
    );
}
