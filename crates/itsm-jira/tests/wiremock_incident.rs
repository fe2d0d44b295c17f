//! Each IncidentSystem operation against wiremock: exact method, path, query, headers and
//! body, answered with fixtures written from Atlassian's documented examples.

mod common;

use itsm_core::{ErrorKind, ExternalRef, IdempotencyKey, ListRequest, Person, ServiceId};
use itsm_incident::{
    Assignment, IncidentFilter, IncidentId, IncidentState, IncidentSystem, NewIncident, Note,
    Priority, Resolution, ServiceKind,
};
use itsm_jira::Jira;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BASIC: &str = "Basic aXRzbUBleGFtcGxlLmNvbTpBVEFUVDN4RmZHRjAtc2VjcmV0LWFwaS10b2tlbg==";

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn setup() -> (MockServer, Jira) {
    let server = MockServer::start().await;
    let jira =
        Jira::with_retry_policy(common::config(&server.uri()), common::quick_retry()).unwrap();
    (server, jira)
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// The read of the issue itself.
async fn mount_issue(server: &MockServer, issue: Value) {
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-24"))
        .and(query_param(
            "fields",
            "summary,description,status,labels,priority,components,resolution,resolutiondate,created,updated",
        ))
        .and(header("authorization", BASIC))
        .respond_with(ok(issue))
        .mount(server)
        .await;
}

/// The reads that follow every write but a create: the issue and its remote links.
async fn mount_read(server: &MockServer, issue: Value) {
    mount_issue(server, issue).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-24/remotelink"))
        .respond_with(ok(json!([])))
        .mount(server)
        .await;
}

/// A create knows the links it wrote: it never reads the remote links back.
async fn refuse_link_reads(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-24/remotelink"))
        .respond_with(ok(json!([])))
        .expect(0)
        .mount(server)
        .await;
}

/// The key lookup of a create, finding nothing.
async fn mount_key_lookup_empty(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param("jql", KEY_JQL))
        .and(query_param("maxResults", "1"))
        .and(header("authorization", BASIC))
        .and(header("accept", "application/json"))
        .respond_with(ok(fixture("search-empty.json")))
        .expect(1)
        .mount(server)
        .await;
}

fn key() -> IdempotencyKey {
    IdempotencyKey::new("alert/checkout-latency").unwrap()
}

fn new_incident() -> NewIncident {
    NewIncident {
        summary: "Checkout latency above SLO".into(),
        description: "p99 > 2 s for 10 minutes".into(),
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

const KEY_JQL: &str =
    r#"project = "OPS" AND labels = "itsm-key:alert/checkout-latency" ORDER BY created ASC"#;

#[tokio::test]
async fn create_looks_up_the_key_then_posts_the_issue() {
    let (server, jira) = setup().await;
    mount_key_lookup_empty(&server).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .and(header("authorization", BASIC))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "fields": {
                "project": { "key": "OPS" },
                "issuetype": { "name": "Incident" },
                "summary": "Checkout latency above SLO",
                "description": { "type": "doc", "version": 1, "content": [
                    { "type": "paragraph", "content": [{ "type": "text", "text": "p99 > 2 s for 10 minutes" }] }
                ] },
                "priority": { "name": "High" },
                "labels": ["itsm-service:checkout", "itsm-kind:digital_service", "itsm-key:alert/checkout-latency"],
                "components": [{ "name": "checkout" }],
            }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("issue-created.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_issue(&server, fixture("incident-issue.json")).await;
    refuse_link_reads(&server).await;
    let incident = jira.create_incident(&key(), &new_incident()).await.unwrap();
    assert_eq!(incident.id.as_str(), "ED-24");
    assert!(incident.links_to.is_empty());
    assert_eq!(incident.priority, Priority::P2);
    assert_eq!(incident.state, IncidentState::New);
    assert_eq!(incident.assignment.service.as_str(), "checkout");
    assert_eq!(incident.key, Some(key()));
    assert_eq!(
        incident
            .external
            .and_then(|e| e.url)
            .map(|u| u.path().to_owned()),
        Some("/browse/ED-24".to_owned())
    );
}

#[tokio::test]
async fn create_posts_its_links_and_returns_them_without_reading_them_back() {
    let (server, jira) = setup().await;
    mount_key_lookup_empty(&server).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("issue-created.json")))
        .expect(1)
        .mount(&server)
        .await;
    for (global_id, url, title) in [
        (
            "itsm:pagerduty:PT4KHLK",
            "https://acme.pagerduty.com/incidents/PT4KHLK",
            "pagerduty:PT4KHLK",
        ),
        (
            "itsm:servicenow:INC0010001",
            "https://acme.service-now.com/incident.do?sys_id=1",
            "servicenow:INC0010001",
        ),
    ] {
        Mock::given(method("POST"))
            .and(path("/rest/api/3/issue/ED-24/remotelink"))
            .and(body_json(json!({
                "globalId": global_id,
                "application": { "name": "itsm-rs", "type": "itsm" },
                "object": { "url": url, "title": title },
            })))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": 10000 })))
            .expect(1)
            .mount(&server)
            .await;
    }
    mount_issue(&server, fixture("incident-issue.json")).await;
    refuse_link_reads(&server).await;
    let page = ExternalRef::new("pagerduty", "PT4KHLK").with_url(
        "https://acme.pagerduty.com/incidents/PT4KHLK"
            .parse()
            .unwrap(),
    );
    let mut new = new_incident();
    let ticket = ExternalRef::new("servicenow", "INC0010001").with_url(
        "https://acme.service-now.com/incident.do?sys_id=1"
            .parse()
            .unwrap(),
    );
    new.links_to = vec![page, ticket];
    let incident = jira.create_incident(&key(), &new).await.unwrap();
    assert_eq!(
        incident.links_to,
        [
            ExternalRef::new("pagerduty", "PT4KHLK"),
            ExternalRef::new("servicenow", "INC0010001"),
        ]
    );
}

#[tokio::test]
async fn create_with_a_known_key_returns_the_existing_issue_without_posting() {
    let (server, jira) = setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param("jql", KEY_JQL))
        .respond_with(ok(fixture("search-one-incident.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let incident = jira.create_incident(&key(), &new_incident()).await.unwrap();
    assert_eq!(incident.id.as_str(), "ED-24");
}

#[tokio::test]
async fn list_filters_in_jql_and_pages_with_the_token() {
    let (server, jira) = setup().await;
    let mut page = fixture("search-one-incident.json");
    page["isLast"] = json!(false);
    page["nextPageToken"] = json!("CAEaAggD");
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param(
            "jql",
            r#"project = "OPS" AND issuetype = "Incident" AND labels = "itsm-service:checkout" AND status IN ("Resolved", "Completed", "Done") AND labels = "major-incident" ORDER BY created ASC, key ASC"#,
        ))
        .and(query_param("maxResults", "2"))
        .and(query_param("nextPageToken", "prev-token"))
        .respond_with(ok(page))
        .expect(1)
        .mount(&server)
        .await;
    let filter = IncidentFilter {
        service: Some(ServiceId::new("checkout").unwrap()),
        states: vec![IncidentState::Resolved],
        major_only: true,
    };
    let listing = jira
        .list_incidents(
            &filter,
            &ListRequest {
                limit: Some(2),
                cursor: Some("prev-token".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(listing.items.len(), 1);
    assert_eq!(listing.next.as_deref(), Some("CAEaAggD"));
}

#[tokio::test]
async fn set_state_posts_the_transition_to_the_mapped_status() {
    let (server, jira) = setup().await;
    mount_read(&server, fixture("incident-issue.json")).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-24/transitions"))
        .respond_with(ok(fixture("incident-transitions.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/ED-24/transitions"))
        .and(header("authorization", BASIC))
        .and(body_json(json!({
            "transition": { "id": "11" },
            "update": { "comment": [{ "add": { "body": { "type": "doc", "version": 1, "content": [
                { "type": "paragraph", "content": [{ "type": "text", "text": "Acknowledged by Ola On-call" }] }
            ] } } }] },
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    jira.set_state(
        &IncidentId::new("ED-24").unwrap(),
        IncidentState::Acknowledged,
        Some(Person::named("Ola On-call")),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_status_the_workflow_cannot_reach_is_a_conflict() {
    let (server, jira) = setup().await;
    mount_read(&server, fixture("incident-issue.json")).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-24/transitions"))
        .respond_with(ok(json!({ "transitions": [] })))
        .mount(&server)
        .await;
    let err = jira
        .set_state(
            &IncidentId::new("ED-24").unwrap(),
            IncidentState::OnHold,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("Pending"), "{err}");
}

#[tokio::test]
async fn resolve_sends_the_resolution_and_a_comment() {
    let (server, jira) = setup().await;
    mount_read(&server, fixture("incident-issue.json")).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-24/transitions"))
        .respond_with(ok(fixture("incident-transitions.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/ED-24/transitions"))
        .and(body_json(json!({
            "transition": { "id": "31" },
            "fields": { "resolution": { "name": "Done" } },
            "update": { "comment": [{ "add": { "body": { "type": "doc", "version": 1, "content": [
                { "type": "paragraph", "content": [{ "type": "text", "text": "Resolved (fixed) by Ola: rolled back" }] }
            ] } } }] },
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let resolution = Resolution {
        code: "fixed".into(),
        notes: "rolled back".into(),
        by: Some(Person::named("Ola")),
    };
    jira.resolve(&IncidentId::new("ED-24").unwrap(), &resolution)
        .await
        .unwrap();
}

#[tokio::test]
async fn reassign_priority_and_major_edit_the_issue() {
    let (server, jira) = setup().await;
    mount_read(&server, fixture("incident-issue.json")).await;
    Mock::given(method("PUT"))
        .and(path("/rest/api/3/issue/ED-24"))
        .and(body_json(json!({
            "fields": { "components": [{ "name": "network" }] },
            "update": { "labels": [
                { "remove": "itsm-service:checkout" },
                { "remove": "itsm-kind:digital_service" },
                { "add": "itsm-service:network" },
                { "add": "itsm-kind:foundational" },
                { "add": "itsm-team:netops" },
            ] },
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/rest/api/3/issue/ED-24"))
        .and(body_json(
            json!({ "fields": { "priority": { "name": "Highest" } } }),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/rest/api/3/issue/ED-24"))
        .and(body_json(
            json!({ "update": { "labels": [{ "add": "major-incident" }] } }),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let id = IncidentId::new("ED-24").unwrap();
    let to = Assignment {
        service: ServiceId::new("network").unwrap(),
        kind: ServiceKind::Foundational,
        team: Some(itsm_core::TeamId::new("netops").unwrap()),
    };
    jira.reassign(&id, &to).await.unwrap();
    jira.set_priority(&id, Priority::P1).await.unwrap();
    jira.set_major(&id, true).await.unwrap();
}

#[tokio::test]
async fn notes_are_adf_comments_keyed_by_a_comment_property() {
    let (server, jira) = setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-24/comment"))
        .and(query_param("expand", "properties"))
        .and(query_param("startAt", "0"))
        .respond_with(ok(fixture("comments-one.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/ED-24/comment"))
        .and(body_json(json!({
            "body": { "type": "doc", "version": 1, "content": [
                { "type": "paragraph", "content": [{ "type": "text", "text": "Rollback started" }] },
                { "type": "paragraph", "content": [] },
                { "type": "paragraph", "content": [{ "type": "text", "text": "(Ola)" }] },
            ] },
            "properties": [{ "key": "itsm.note", "value": { "key": "note/2" } }],
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "10002" })))
        .expect(1)
        .mount(&server)
        .await;
    let note = Note {
        text: "Rollback started".into(),
        author: Some(Person::named("Ola")),
    };
    jira.add_note(
        &IncidentId::new("ED-24").unwrap(),
        &IdempotencyKey::new("note/2").unwrap(),
        &note,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_note_whose_key_is_on_a_comment_is_not_added_again() {
    let (server, jira) = setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-24/comment"))
        .respond_with(ok(fixture("comments-keyed.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/ED-24/comment"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let note = Note {
        text: "Investigating".into(),
        author: None,
    };
    jira.add_note(
        &IncidentId::new("ED-24").unwrap(),
        &IdempotencyKey::new("note/1").unwrap(),
        &note,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn link_posts_a_remote_link_with_a_global_id() {
    let (server, jira) = setup().await;
    mount_read(&server, fixture("incident-issue.json")).await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/ED-24/remotelink"))
        .and(body_json(json!({
            "globalId": "itsm:pagerduty:PT4KHLK",
            "application": { "name": "itsm-rs", "type": "itsm" },
            "object": { "url": "https://acme.pagerduty.com/incidents/PT4KHLK", "title": "pagerduty:PT4KHLK" },
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": 10000, "self": "https://your-domain.atlassian.net/rest/api/3/issue/MKY-1/remotelink/10000" })))
        .expect(1)
        .mount(&server)
        .await;
    let page = ExternalRef::new("pagerduty", "PT4KHLK").with_url(
        "https://acme.pagerduty.com/incidents/PT4KHLK"
            .parse()
            .unwrap(),
    );
    jira.link(&IncidentId::new("ED-24").unwrap(), &page)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_429_is_retried_after_the_time_jira_asks_for() {
    let (server, jira) = setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-24"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .insert_header("X-RateLimit-Reset", "2030-01-01T00:00Z"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_read(&server, fixture("incident-issue.json")).await;
    let started = std::time::Instant::now();
    let incident = jira
        .get_incident(&IncidentId::new("ED-24").unwrap())
        .await
        .unwrap();
    assert_eq!(incident.id.as_str(), "ED-24");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_create_that_may_have_acted_is_not_repeated() {
    let (server, jira) = setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(ok(fixture("search-empty.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let err = jira
        .create_incident(&key(), &new_incident())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn an_unknown_issue_is_not_found() {
    let (server, jira) = setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-404"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}
        })))
        .mount(&server)
        .await;
    let err = jira
        .get_incident(&IncidentId::new("ED-404").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = jira
        .get_incident(&IncidentId::new("../../x").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}
