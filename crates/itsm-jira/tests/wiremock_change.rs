//! ChangeSystem operations against wiremock: exact method, path, query, headers and body.

mod common;

use itsm_change::{
    ApprovalDecision, ApprovalState, ChangeFilter, ChangeId, ChangeKind, ChangeState, ChangeSystem,
    CloseCode, Closure, NewChange,
};
use itsm_core::{Environment, ErrorKind, IdempotencyKey, ListRequest, Person, ServiceId, Version};
use itsm_jira::Jira;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BASIC: &str = "Basic aXRzbUBleGFtcGxlLmNvbTpBVEFUVDN4RmZHRjAtc2VjcmV0LWFwaS10b2tlbg==";
const FIELDS: &str = "summary,description,status,labels,resolution,resolutiondate,created,updated";

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn setup() -> (MockServer, Jira) {
    let server = MockServer::start().await;
    let jira =
        Jira::with_retry_policy(common::config(&server.uri()), common::quick_retry()).unwrap();
    (server, jira)
}

fn change_in(status: &str) -> Value {
    let mut c = fixture("change-issue.json");
    c["fields"]["status"]["name"] = json!(status);
    c
}

async fn mount_change(server: &MockServer, issue: Value) {
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/HELPDESK-1"))
        .and(query_param("fields", FIELDS))
        .and(header("authorization", BASIC))
        .respond_with(ok(issue))
        .mount(server)
        .await;
}

fn new_change() -> NewChange {
    NewChange {
        kind: ChangeKind::Normal,
        template: None,
        service: ServiceId::new("checkout").unwrap(),
        version: Version::new("1.4.2").unwrap(),
        environment: Environment::production(),
        summary: "Deploy checkout 1.4.2 to production".into(),
        description: "Routine release".into(),
        window: None,
        commits: vec![],
        pipeline_run: Some(itsm_core::PipelineRunId::new("gh-991").unwrap()),
        requested_by: None,
        assignment_team: None,
        reasons: vec!["touches payments".into()],
        retroactive: false,
        links: vec![],
    }
}

#[tokio::test]
async fn create_searches_by_key_then_raises_a_jsm_request() {
    let (server, jira) = setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param(
            "jql",
            r#"project = "CHG" AND labels = "itsm-key:deploy/checkout/1.4.2" ORDER BY created ASC"#,
        ))
        .and(query_param("fields", FIELDS))
        .and(header("authorization", BASIC))
        .respond_with(ok(fixture("search-empty.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/servicedeskapi/request"))
        .and(header("authorization", BASIC))
        .and(body_json(json!({
            "serviceDeskId": "1",
            "requestTypeId": "10",
            "requestFieldValues": {
                "summary": "Deploy checkout 1.4.2 to production",
                "description": "Routine release\nService: checkout 1.4.2 to production\nPipeline run: gh-991\nReason: touches payments",
                "labels": ["itsm-key:deploy/checkout/1.4.2", "itsm-type:normal", "itsm-service:checkout", "itsm-version:1.4.2", "itsm-env:production"],
            },
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("request-created.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_change(&server, change_in("Open")).await;
    let change = jira
        .create_change(
            &IdempotencyKey::new("deploy/checkout/1.4.2").unwrap(),
            &new_change(),
        )
        .await
        .unwrap();
    assert_eq!(change.id.as_str(), "HELPDESK-1");
    assert_eq!(change.state, ChangeState::New);
    assert_eq!(change.approval, ApprovalState::NotRequested);
    assert_eq!(change.version.as_str(), "1.4.2");
}

#[tokio::test]
async fn list_filters_on_labels_and_statuses() {
    let (server, jira) = setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/search/jql"))
        .and(query_param(
            "jql",
            r#"project = "CHG" AND labels IN ("itsm-type:standard", "itsm-type:normal", "itsm-type:emergency") AND labels = "itsm-service:checkout" AND labels = "itsm-version:1.4.2" AND labels = "itsm-env:production" AND status IN ("Awaiting approval", "Peer review / change manager approval") ORDER BY created ASC, key ASC"#,
        ))
        .and(query_param("maxResults", "50"))
        .respond_with(ok(json!({ "isLast": true, "issues": [change_in("Awaiting approval")] })))
        .expect(1)
        .mount(&server)
        .await;
    let filter = ChangeFilter {
        service: Some(ServiceId::new("checkout").unwrap()),
        version: Some(Version::new("1.4.2").unwrap()),
        environment: Some(Environment::production()),
        states: vec![ChangeState::Authorize],
    };
    let listing = jira
        .list_changes(&filter, &ListRequest::first())
        .await
        .unwrap();
    assert_eq!(listing.items.len(), 1);
    assert_eq!(listing.items[0].approval, ApprovalState::Requested);
    assert_eq!(listing.next, None);
}

#[tokio::test]
async fn request_approval_moves_to_the_approval_status() {
    let (server, jira) = setup().await;
    mount_change(&server, change_in("Open")).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/HELPDESK-1/transitions"))
        .respond_with(ok(json!({ "transitions": [
            { "id": "41", "name": "Submit for approval", "to": { "name": "Awaiting approval" } },
            { "id": "51", "name": "Cancel", "to": { "name": "Canceled" } },
        ] })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/HELPDESK-1/transitions"))
        .and(body_json(json!({ "transition": { "id": "41" } })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    jira.request_approval(&ChangeId::new("HELPDESK-1").unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn approvals_and_decisions_use_the_servicedeskapi() {
    let (server, jira) = setup().await;
    mount_change(&server, change_in("Awaiting approval")).await;
    Mock::given(method("GET"))
        .and(path("/rest/servicedeskapi/request/HELPDESK-1/approval"))
        .and(query_param("start", "0"))
        .and(header("authorization", BASIC))
        .respond_with(ok(fixture("approvals-pending.json")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/servicedeskapi/request/HELPDESK-1/approval/1"))
        .and(body_json(json!({ "decision": "decline" })))
        .respond_with(ok(json!({ "id": "1", "finalDecision": "declined" })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/HELPDESK-1/comment"))
        .respond_with(ok(
            json!({ "comments": [], "startAt": 0, "maxResults": 100, "total": 0 }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/HELPDESK-1/comment"))
        .and(body_json(json!({
            "body": { "type": "doc", "version": 1, "content": [
                { "type": "paragraph", "content": [{ "type": "text", "text": "Declined by Casey Change: not during the sale" }] }
            ] },
            "properties": [{ "key": "itsm.note", "value": { "key": "approval/1" } }],
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "id": "1" })))
        .expect(1)
        .mount(&server)
        .await;
    let id = ChangeId::new("HELPDESK-1").unwrap();
    let approvals = jira.approvals(&id).await.unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].state, ApprovalState::Requested);
    assert_eq!(
        approvals[0].approver.as_ref().map(|p| p.name.as_str()),
        Some("Fred F. User")
    );
    let decision = ApprovalDecision {
        approve: false,
        by: Person::named("Casey Change"),
        comment: Some("not during the sale".into()),
    };
    jira.decide(&id, &decision).await.unwrap();
}

#[tokio::test]
async fn close_sets_the_mapped_resolution_and_implement_needs_approval() {
    let (server, jira) = setup().await;
    let mut normal_open = change_in("Open");
    normal_open["key"] = json!("HELPDESK-2");
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/HELPDESK-2"))
        .respond_with(ok(normal_open))
        .mount(&server)
        .await;
    mount_change(&server, change_in("Implementing")).await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/HELPDESK-1/transitions"))
        .respond_with(ok(json!({ "transitions": [{ "id": "61", "name": "Complete", "to": { "name": "Completed" } }] })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/HELPDESK-1/transitions"))
        .and(body_json(json!({
            "transition": { "id": "61" },
            "fields": { "resolution": { "name": "Failed" } },
            "update": { "comment": [{ "add": { "body": { "type": "doc", "version": 1, "content": [
                { "type": "paragraph", "content": [{ "type": "text", "text": "Closed (unsuccessful): rolled back" }] }
            ] } } }] },
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let closure = Closure {
        code: CloseCode::Unsuccessful,
        notes: "rolled back".into(),
        closed_at: None,
    };
    jira.close(&ChangeId::new("HELPDESK-1").unwrap(), &closure)
        .await
        .unwrap();
    let err = jira
        .transition(
            &ChangeId::new("HELPDESK-2").unwrap(),
            ChangeState::Implement,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let err = jira
        .conflicts(&ChangeId::new("HELPDESK-2").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}
