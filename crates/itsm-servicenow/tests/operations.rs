//! One wiremock test per operation: the exact method, path, query, headers and body the
//! adapter sends, and what it reads from answers shaped like ServiceNow's documented ones
//! (`tests/fixtures/`).

use std::time::Duration;

use itsm_change::{
    ApprovalDecision, ApprovalState, ChangeFilter, ChangeKind, ChangeState, ChangeSystem,
    NewChange, TemplateFilter,
};
use itsm_core::{
    Environment, ErrorKind, ExternalRef, IdempotencyKey, ListRequest, Person, ServiceId, Version,
};
use itsm_http::{Auth, HttpClient, RetryPolicy};
use itsm_incident::{
    Assignment, IncidentFilter, IncidentId, IncidentState, IncidentSystem, NewIncident, Note,
    Priority, Resolution, ServiceKind,
};
use itsm_servicenow::{ServiceNow, ServiceNowConfig};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BASIC: &str = "Basic aXRzbS5pbnRlZ3JhdGlvbjpzM2NyM3Q="; // itsm.integration:s3cr3t
const INC: &str = "9d385017c611228701d22104cc95c371";
const CHG_ID: &str = "1c832706732023002728660c4cf6a7b9";
/// The `sysparm_fields` of incident requests with the default field names.
const INCIDENT_FIELDS: &str = "sys_id,number,short_description,description,state,priority,impact,urgency,major_incident_state,assignment_group,opened_at,sys_created_on,resolved_at,correlation_id,cmdb_ci,u_itsm_service_kind,u_itsm_acknowledged,u_itsm_links,u_itsm_tenant";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn adapter(server: &MockServer) -> ServiceNow {
    let url = url::Url::parse(&server.uri()).unwrap();
    let http = HttpClient::builder(url.clone())
        .auth(Auth::basic("itsm.integration", "s3cr3t"))
        .retry(
            RetryPolicy::new(3, Duration::from_secs(5))
                .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    ServiceNow::with_client(
        ServiceNowConfig::basic(url, "itsm.integration", "s3cr3t"),
        http,
    )
    .unwrap()
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn empty_list() -> ResponseTemplate {
    ok(json!({ "result": [] }))
}

fn key() -> IdempotencyKey {
    IdempotencyKey::new("alertmanager/checkout/HighLatency").unwrap()
}

fn new_incident() -> NewIncident {
    NewIncident {
        summary: "Checkout p99 latency above 2s".into(),
        description: "Alertmanager: HighLatency".into(),
        priority: Priority::P2,
        assignment: Assignment {
            service: ServiceId::new("checkout").unwrap(),
            kind: ServiceKind::DigitalService,
            team: Some(itsm_core::TeamId::new("team-checkout").unwrap()),
        },
        tenant: None,
        links_to: vec![ExternalRef::new("pagerduty", "PT4KHLK")],
        links: vec![],
    }
}

#[tokio::test]
async fn create_incident_looks_up_the_key_then_posts_impact_urgency_and_references() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/now/table/incident"))
        .and(query_param(
            "sysparm_query",
            "correlation_id=alertmanager/checkout/HighLatency",
        ))
        .and(query_param("sysparm_display_value", "all"))
        .and(query_param("sysparm_fields", INCIDENT_FIELDS))
        .and(query_param("sysparm_exclude_reference_link", "true"))
        .and(query_param("sysparm_limit", "1"))
        .and(query_param("sysparm_offset", "0"))
        .and(header("authorization", BASIC))
        .and(header("accept", "application/json"))
        .respond_with(empty_list())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/now/table/incident"))
        .and(query_param("sysparm_display_value", "all"))
        .and(query_param("sysparm_fields", INCIDENT_FIELDS))
        .and(query_param("sysparm_exclude_reference_link", "true"))
        .and(header("authorization", BASIC))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "short_description": "Checkout p99 latency above 2s",
            "description": "Alertmanager: HighLatency",
            "impact": "1",
            "urgency": "2",
            "cmdb_ci": "checkout",
            "u_itsm_service_kind": "digital_service",
            "assignment_group": "team-checkout",
            "correlation_id": "alertmanager/checkout/HighLatency",
            "u_itsm_links": "pagerduty:PT4KHLK"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("incident_created.json")))
        .expect(1)
        .mount(&server)
        .await;
    let incident = adapter(&server)
        .create_incident(&key(), &new_incident())
        .await
        .unwrap();
    assert_eq!(incident.id.as_str(), INC);
    assert_eq!(incident.number.as_deref(), Some("INC0010023"));
    assert_eq!(incident.key, Some(key()));
    assert_eq!(incident.priority, Priority::P2);
    assert_eq!(incident.state, IncidentState::New);
    assert_eq!(
        incident.assignment.service.as_str(),
        "checkout",
        "display value of cmdb_ci"
    );
    assert_eq!(
        incident.assignment.team.as_ref().map(|t| t.as_str()),
        Some("team-checkout")
    );
    assert_eq!(
        incident.opened_at,
        Some(itsm_core::time::macros::datetime!(2026-05-01 10:00:04 UTC)),
        "times are read from the value (UTC), not the display value"
    );
    let url = incident.external.unwrap().url.unwrap();
    assert!(
        url.as_str()
            .ends_with(&format!("/incident.do?sys_id={INC}")),
        "{url}"
    );
}

#[tokio::test]
async fn an_existing_key_returns_the_incident_without_posting() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/now/table/incident"))
        .respond_with(ok(fixture("incident_plain.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let incident = adapter(&server)
        .create_incident(&key(), &new_incident())
        .await
        .unwrap();
    // Plain values, numbers as JSON numbers, references as {link, value}, unknown fields.
    assert_eq!(
        incident.state,
        IncidentState::Acknowledged,
        "state 2 with the acknowledged flag"
    );
    assert_eq!(
        incident.priority,
        Priority::P1,
        "empty priority: computed from impact 1, urgency 1"
    );
    assert!(incident.major);
    assert_eq!(incident.assignment.kind, ServiceKind::Cots);
    assert_eq!(incident.assignment.service.as_str(), "checkout");
    assert_eq!(incident.assignment.team, None);
    assert_eq!(incident.links_to.len(), 1);
    assert_eq!(incident.links_to[0].id, "PT4KHLK");
    assert!(incident.links_to[0].url.is_some());
}

#[tokio::test]
async fn set_state_acknowledged_patches_state_flag_and_a_work_note() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/now/table/incident/{INC}")))
        .and(query_param("sysparm_display_value", "all"))
        .and(query_param("sysparm_fields", INCIDENT_FIELDS))
        .and(query_param("sysparm_exclude_reference_link", "true"))
        .respond_with(ok(fixture("incident_created.json")))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/now/table/incident/{INC}")))
        .and(query_param("sysparm_display_value", "all"))
        .and(query_param("sysparm_fields", INCIDENT_FIELDS))
        .and(query_param("sysparm_exclude_reference_link", "true"))
        .and(body_json(json!({
            "state": "2",
            "u_itsm_acknowledged": "true",
            "work_notes": "Acknowledged by Ada Lovelace <ada@example.com>."
        })))
        .respond_with(ok(
            json!({ "result": fixture("incident_plain.json")["result"][0] }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let id = IncidentId::new(INC).unwrap();
    let by = Person::named("Ada Lovelace").with_email("ada@example.com");
    let acked = adapter(&server)
        .set_state(&id, IncidentState::Acknowledged, Some(by))
        .await
        .unwrap();
    assert_eq!(acked.state, IncidentState::Acknowledged);
    let err = adapter(&server)
        .set_state(&id, IncidentState::Resolved, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn reassign_priority_major_and_resolve_patch_the_documented_fields() {
    let server = MockServer::start().await;
    let path_ = format!("/api/now/table/incident/{INC}");
    let answer = ok(fixture("incident_created.json"));
    Mock::given(method("GET"))
        .and(path(&path_))
        .respond_with(answer.clone())
        .mount(&server)
        .await;
    for body in [
        json!({"cmdb_ci": "sap-erp", "u_itsm_service_kind": "cots", "assignment_group": "erp-operations"}),
        json!({"impact": "1", "urgency": "1"}),
        json!({"major_incident_state": "accepted"}),
        json!({"state": "6", "close_code": "Solution provided", "close_notes": "Rolled back 1.4.2\nResolved by Ada."}),
        json!({"state": "6", "close_code": "Solution provided", "close_notes": "[flapping alert] Nothing to do"}),
    ] {
        Mock::given(method("PATCH"))
            .and(path(&path_))
            .and(body_json(body))
            .respond_with(answer.clone())
            .expect(1)
            .mount(&server)
            .await;
    }
    let snow = adapter(&server);
    let id = IncidentId::new(INC).unwrap();
    let to = Assignment {
        service: ServiceId::new("sap-erp").unwrap(),
        kind: ServiceKind::Cots,
        team: Some(itsm_core::TeamId::new("erp-operations").unwrap()),
    };
    snow.reassign(&id, &to).await.unwrap();
    snow.set_priority(&id, Priority::P1).await.unwrap();
    snow.set_major(&id, true).await.unwrap();
    let resolution = Resolution {
        code: "solved".into(),
        notes: "Rolled back 1.4.2".into(),
        by: Some(Person::named("Ada")),
    };
    snow.resolve(&id, &resolution).await.unwrap();
    let unmapped = Resolution {
        code: "flapping alert".into(),
        notes: "Nothing to do".into(),
        by: None,
    };
    snow.resolve(&id, &unmapped).await.unwrap();
}

#[tokio::test]
async fn notes_are_keyed_by_a_marker_found_in_the_journal() {
    let server = MockServer::start().await;
    let note_key = IdempotencyKey::new("sync/evt-1").unwrap();
    Mock::given(method("GET"))
        .and(path("/api/now/table/sys_journal_field"))
        .and(query_param(
            "sysparm_query",
            format!("element_id={INC}^element=work_notes^valueLIKE[itsm key=sync/evt-1"),
        ))
        .and(query_param("sysparm_fields", "value"))
        .respond_with(empty_list())
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/now/table/incident/{INC}")))
        .and(body_json(
            json!({"work_notes": "Rolled back.\n\n[itsm key=sync/evt-1 by=Ada]"}),
        ))
        .respond_with(ok(fixture("incident_created.json")))
        .expect(1)
        .mount(&server)
        .await;
    // The second time the journal has the entry (and a longer key sharing the prefix).
    Mock::given(method("GET"))
        .and(path("/api/now/table/sys_journal_field"))
        .respond_with(ok(json!({"result": [
            {"value": "Other.\n\n[itsm key=sync/evt-10]"},
            {"value": "Rolled back.\n\n[itsm key=sync/evt-1 by=Ada]"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let snow = adapter(&server);
    let id = IncidentId::new(INC).unwrap();
    let note = Note {
        text: "Rolled back.".into(),
        author: Some(Person::named("Ada")),
    };
    IncidentSystem::add_note(&snow, &id, &note_key, &note)
        .await
        .unwrap();
    IncidentSystem::add_note(&snow, &id, &note_key, &note)
        .await
        .unwrap();
}

#[tokio::test]
async fn list_incidents_pages_with_offset_and_the_link_header() {
    let server = MockServer::start().await;
    let link = format!(
        "<{0}/api/now/table/incident?sysparm_limit=1&sysparm_offset=0>;rel=\"first\",<{0}/api/now/table/incident?sysparm_limit=1&sysparm_offset=1>;rel=\"next\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/api/now/table/incident"))
        .and(query_param("sysparm_query", "cmdb_ci.name=checkout^stateIN2^major_incident_state=accepted^ORDERBYDESCsys_created_on"))
        .and(query_param("sysparm_display_value", "all"))
        .and(query_param("sysparm_fields", INCIDENT_FIELDS))
        .and(query_param("sysparm_exclude_reference_link", "true"))
        .and(query_param("sysparm_limit", "1"))
        .and(query_param("sysparm_offset", "0"))
        .respond_with(ok(fixture("incident_plain.json")).insert_header("link", link.as_str()))
        .expect(1)
        .mount(&server)
        .await;
    let filter = IncidentFilter {
        service: Some(ServiceId::new("checkout").unwrap()),
        states: vec![IncidentState::Acknowledged, IncidentState::InProgress],
        major_only: true,
    };
    let page = adapter(&server)
        .list_incidents(&filter, &ListRequest::with_limit(1))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next.as_deref(), Some("1"));
}

fn new_change() -> NewChange {
    NewChange {
        kind: ChangeKind::Normal,
        template: None,
        service: ServiceId::new("checkout").unwrap(),
        version: Version::new("1.4.2").unwrap(),
        environment: Environment::production(),
        summary: "Deploy checkout 1.4.2".into(),
        description: String::new(),
        window: Some(itsm_change::Window {
            start: itsm_core::time::macros::datetime!(2026-05-01 10:00 UTC),
            end: itsm_core::time::macros::datetime!(2026-05-01 12:00 UTC),
        }),
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
async fn create_normal_change_looks_up_correlation_id_then_posts_to_the_change_api() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/sn_chg_rest/change"))
        .and(query_param(
            "sysparm_query",
            "correlation_id=checkout/1.4.2/production/run-7/raise",
        ))
        .and(query_param("sysparm_limit", "1"))
        .and(header("authorization", BASIC))
        .respond_with(empty_list())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/sn_chg_rest/change/normal"))
        .and(body_json(json!({
            "short_description": "Deploy checkout 1.4.2",
            "description": "",
            "correlation_id": "checkout/1.4.2/production/run-7/raise",
            "cmdb_ci": "checkout",
            "u_itsm_version": "1.4.2",
            "u_itsm_environment": "production",
            "u_itsm_retroactive": "false",
            "justification": "2 failed deploys in 7 days",
            "start_date": "2026-05-01 10:00:00",
            "end_date": "2026-05-01 12:00:00"
        })))
        .respond_with(ok(fixture("change_normal.json")))
        .expect(1)
        .mount(&server)
        .await;
    let key = IdempotencyKey::new("checkout/1.4.2/production/run-7/raise").unwrap();
    let change = adapter(&server)
        .create_change(&key, &new_change())
        .await
        .unwrap();
    assert_eq!(change.id.as_str(), CHG_ID);
    assert_eq!(change.number.as_deref(), Some("CHG0030052"));
    assert_eq!(
        (change.kind, change.state, change.approval),
        (
            ChangeKind::Normal,
            ChangeState::New,
            ApprovalState::NotRequested
        )
    );
    assert_eq!(change.service.as_str(), "checkout");
    assert!(change.environment.is_production());
    assert_eq!(change.reasons, ["2 failed deploys in 7 days"]);
    assert_eq!(
        change.window.unwrap().start,
        itsm_core::time::macros::datetime!(2026-05-01 10:00 UTC)
    );
}

#[tokio::test]
async fn request_approval_moves_to_the_next_state_nextstates_offers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/sn_chg_rest/change/{CHG_ID}")))
        .respond_with(ok(fixture("change_normal.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/sn_chg_rest/change/{CHG_ID}/nextstates")))
        .respond_with(ok(fixture("change_nextstates.json")))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/sn_chg_rest/change/normal/{CHG_ID}")))
        .and(body_json(json!({"state": "-4"})))
        .respond_with(ok(fixture("change_assess.json")))
        .expect(1)
        .mount(&server)
        .await;
    let snow = adapter(&server);
    let id = itsm_change::ChangeId::new(CHG_ID).unwrap();
    let requested = snow.request_approval(&id).await.unwrap();
    assert_eq!(requested.approval, ApprovalState::Requested);
    // Implement is not among the next states: a conflict naming the allowed ones.
    let err = snow
        .transition(&id, ChangeState::Implement)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("assess"), "{err}");
}

#[tokio::test]
async fn decide_patches_the_approvals_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/sn_chg_rest/change/{CHG_ID}")))
        .respond_with(ok(fixture("change_assess.json")))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/api/sn_chg_rest/change/{CHG_ID}/approvals")))
        .and(body_json(
            json!({"state": "approved", "comments": "Low risk (by Casey Change)"}),
        ))
        .respond_with(ok(fixture("change_assess.json")))
        .expect(1)
        .mount(&server)
        .await;
    let decision = ApprovalDecision {
        approve: true,
        by: Person::named("Casey Change"),
        comment: Some("Low risk".into()),
    };
    let id = itsm_change::ChangeId::new(CHG_ID).unwrap();
    adapter(&server).decide(&id, &decision).await.unwrap();
}

#[tokio::test]
async fn templates_without_the_service_field_are_left_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/sn_chg_rest/change/standard/template"))
        .and(query_param(
            "sysparm_query",
            "u_itsm_service=checkout^active=true^ORDERBYname",
        ))
        .and(query_param("sysparm_limit", "100"))
        .respond_with(ok(fixture("templates.json")))
        .expect(1)
        .mount(&server)
        .await;
    let filter = TemplateFilter {
        service: Some(ServiceId::new("checkout").unwrap()),
        active_only: true,
    };
    let listed = adapter(&server)
        .list_templates(&filter, &ListRequest::first())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].environments.len(), 2);
    assert!(
        listed.next.is_none(),
        "fewer than the limit and no Link header: last page"
    );
}

#[tokio::test]
async fn list_changes_filters_by_ci_version_environment_and_state() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/sn_chg_rest/change"))
        .and(query_param(
            "sysparm_query",
            "cmdb_ci.name=checkout^u_itsm_version=1.4.2^u_itsm_environment=production^stateIN-2,-1^ORDERBYDESCsys_created_on",
        ))
        .respond_with(ok(json!({"result": [fixture("change_normal.json")["result"]]})))
        .expect(1)
        .mount(&server)
        .await;
    let filter = ChangeFilter {
        service: Some(ServiceId::new("checkout").unwrap()),
        version: Some(Version::new("1.4.2").unwrap()),
        environment: Some(Environment::production()),
        states: vec![ChangeState::Scheduled, ChangeState::Implement],
    };
    let listed = adapter(&server)
        .list_changes(&filter, &ListRequest::first())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn vendor_errors_map_to_kinds_and_429_without_headers_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/sn_chg_rest/change/missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"message": "No Record found", "detail": "Record doesn't exist or ACL restricts the record retrieval"},
            "status": "failure"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/sn_chg_rest/change/{CHG_ID}")))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/sn_chg_rest/change/{CHG_ID}")))
        .respond_with(ok(fixture("change_normal.json")))
        .expect(1)
        .mount(&server)
        .await;
    let snow = adapter(&server);
    let err = snow
        .get_change(&itsm_change::ChangeId::new("missing").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("No Record found"), "{err}");
    let change = snow
        .get_change(&itsm_change::ChangeId::new(CHG_ID).unwrap())
        .await
        .unwrap();
    assert_eq!(change.number.as_deref(), Some("CHG0030052"));
}

#[tokio::test]
async fn bearer_tokens_are_sent_as_oauth_bearer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/sn_chg_rest/change"))
        .and(header("authorization", "Bearer oauth-access-token"))
        .respond_with(empty_list())
        .expect(1)
        .mount(&server)
        .await;
    let config = ServiceNowConfig::bearer(
        url::Url::parse(&server.uri()).unwrap(),
        "oauth-access-token",
    );
    let snow = ServiceNow::new(config).unwrap();
    let found = snow.find_change_by_key(&key()).await.unwrap();
    assert!(found.is_none());
}
