//! Contract tests: every adapter operation against a Prism mock server of PagerDuty's own
//! OpenAPI specs (`../shared/contracts/pagerduty/`, prepared by
//! `scripts/contract-mocks.sh`). Prism runs with `--errors`, so any request that breaks
//! the spec is answered 4xx and the operation fails. One Prism per spec, one test each.

use std::collections::BTreeMap;

use itsm_core::{IdempotencyKey, Link, ListRequest, Person, ServiceId, TeamId};
use itsm_http::RetryPolicy;
use itsm_incident::{
    ChangeEvent, NewPage, Note, OnCallQuery, PageAssignment, PageId, Pager, Priority,
    ResponderRequest, Severity,
};
use itsm_pagerduty::{NewRestIncident, PageFilter, PagerDuty, PagerDutyConfig};
use itsm_testkit::prism::PrismMock;
use secrecy::SecretString;
use time::macros::datetime;

/// The `incident_key` of the spec's incident examples.
const EXAMPLE_KEY: &str = "baf7cf21b1da41b4b0221008339ff357";

fn adapter(rest_url: &str, events_url: &str, token: bool) -> PagerDuty {
    let mut config: PagerDutyConfig = toml::from_str(&format!(
        r#"
        from_email = "itsm-bot@example.com"
        rest_url = "{rest_url}"
        events_url = "{events_url}"
        trigger_lookup_attempts = 1
        [teams]
        payments = "PT20YPA"
        "#
    ))
    .unwrap();
    if token {
        config.api_token = Some(SecretString::from("y_NbAkKc66ryYTWUXYEu"));
    }
    config.routing_key = Some(SecretString::from("e93facc04764012d7bfb002500d5d1a6"));
    PagerDuty::with_retry(config, RetryPolicy::none(), RetryPolicy::none()).unwrap()
}

/// Starts one Prism at a time: two starting together on a busy machine can race for a
/// port.
fn start(spec: &str) -> Option<PrismMock> {
    static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = STARTING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    PrismMock::start(spec)
}

/// Panics with Prism's log (it names every violation) when `result` is an error.
fn ok<T>(prism: &PrismMock, what: &str, result: itsm_core::Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("{what} broke the contract: {e}\n{}", prism.log()))
}

#[tokio::test]
async fn every_rest_operation_follows_the_rest_api_v2_spec() {
    let Some(prism) = start("pagerduty-rest.json") else {
        return;
    };
    let base = prism.base_url();
    // Events go nowhere in this test: only REST operations run.
    let pager = adapter(&base, "http://127.0.0.1:9/v2/", true);
    let id = PageId::new("PT4KHLK").unwrap();
    let key = IdempotencyKey::new(EXAMPLE_KEY).unwrap();

    let found = ok(
        &prism,
        "find_page_by_key",
        pager.find_page_by_key(&key).await,
    );
    assert!(found.is_some(), "the spec's example incident has the key");
    ok(&prism, "get_page", pager.get_page(&id).await);
    let policy = PageAssignment::EscalationPolicy("PT20YPA".into());
    ok(
        &prism,
        "reassign(policy)",
        pager.reassign(&id, &policy).await,
    );
    let team = PageAssignment::Team(TeamId::new("payments").unwrap());
    ok(&prism, "reassign(team)", pager.reassign(&id, &team).await);
    let people = PageAssignment::People(vec![
        Person::named("Earline").with_email("125.greenholt.earline@graham.name"),
        Person::named("Kyler").with_handle("PAM4FGS"),
    ]);
    ok(
        &prism,
        "reassign(people)",
        pager.reassign(&id, &people).await,
    );
    ok(
        &prism,
        "set_priority",
        pager.set_priority(&id, Priority::P2).await,
    );
    let note = Note {
        text: "Firefighters are on the scene.".into(),
        author: None,
    };
    let note_key = IdempotencyKey::new("contract/note").unwrap();
    ok(
        &prism,
        "add_note",
        pager.add_note(&id, &note_key, &note).await,
    );
    let request = ResponderRequest {
        teams: vec![TeamId::new("payments").unwrap()],
        escalation_policies: vec!["PT20YPA".into()],
        people: vec![Person::named("Kyler").with_handle("PAM4FGS")],
        message: "Please help with issue - join bridge".into(),
        requester: Person::named("Earline").with_email("125.greenholt.earline@graham.name"),
    };
    let responders_key = IdempotencyKey::new("contract/responders").unwrap();
    ok(
        &prism,
        "request_responders",
        pager
            .request_responders(&id, &responders_key, &request)
            .await,
    );
    for query in [
        OnCallQuery::Everyone,
        OnCallQuery::Schedule("PI7DH85".into()),
        OnCallQuery::EscalationPolicy("PT20YPA".into()),
        OnCallQuery::Team(TeamId::new("payments").unwrap()),
    ] {
        ok(&prism, "on_call", pager.on_call(&query).await);
    }
    let incident = NewRestIncident {
        title: "The server is on fire.".into(),
        // `body.details` is left out: the spec's schema says object while its own example
        // (and PagerDuty's docs) send a string, which is what the adapter sends.
        details: None,
        service_id: Some("PWIXJZS".into()),
        escalation_policy_id: Some("PT20YPA".into()),
        high_urgency: true,
        priority: Some(Priority::P1),
    };
    let new_key = IdempotencyKey::new("contract/create").unwrap();
    ok(
        &prism,
        "create_incident",
        pager.create_incident(&new_key, &incident).await,
    );
    let filter = PageFilter {
        statuses: vec![itsm_incident::PageStatus::Triggered],
        service_ids: vec!["PWIXJZS".into()],
    };
    ok(
        &prism,
        "list_pages",
        pager
            .list_pages(&filter, &ListRequest::with_limit(10))
            .await,
    );
    ok(
        &prism,
        "post_status_update",
        pager
            .post_status_update(&id, "The server fire is spreading.")
            .await,
    );
    ok(
        &prism,
        "list_services",
        pager.list_services(&ListRequest::first()).await,
    );
}

#[tokio::test]
async fn every_events_operation_follows_the_events_api_v2_spec() {
    let Some(prism) = start("pagerduty-events.json") else {
        return;
    };
    // Events-only: trigger, acknowledge and resolve make no REST call.
    let pager = adapter("http://127.0.0.1:9/", &prism.base_url(), false);
    let key = IdempotencyKey::new("srv01/mysql").unwrap();
    let page = NewPage {
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
    };
    for severity in [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ] {
        let page = NewPage {
            severity,
            ..page.clone()
        };
        ok(&prism, "trigger", pager.trigger(&key, &page).await);
    }
    ok(&prism, "acknowledge", pager.acknowledge(&key, None).await);
    ok(&prism, "resolve", pager.resolve(&key, None).await);
    let event = ChangeEvent {
        summary: "Build Success: Increase snapshot create timeout to 30 seconds".into(),
        source: "prod-build-agent-i-0b148d1040d565540".into(),
        service: ServiceId::new("checkout").unwrap(),
        routing: None,
        timestamp: datetime!(2015-07-17 08:42:58.315 UTC),
        links: vec![
            Link::parse(
                "View in Build Pipeline",
                "https://buildpipeline.com/pagerduty/deployment/builds/220",
            )
            .unwrap(),
        ],
        details: BTreeMap::from([("build_state".to_owned(), "passed".to_owned())]),
    };
    let change_key = IdempotencyKey::new("checkout/220/production/run-1/close").unwrap();
    ok(
        &prism,
        "send_change_event",
        pager.send_change_event(&change_key, &event).await,
    );
}
