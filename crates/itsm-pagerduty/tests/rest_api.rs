//! REST API v2 operations against wiremock: one test per operation, asserting method, path,
//! query, headers (`Accept`, `Authorization`, `From`) and body.

mod common;

use common::*;
use itsm_core::{ErrorKind, IdempotencyKey, ListRequest, Person, TeamId};
use itsm_incident::{
    Note, OnCallQuery, PageAssignment, PageId, PageStatus, Pager, Priority, ResponderRequest,
};
use itsm_pagerduty::{NewRestIncident, PageFilter};
use serde_json::json;
use wiremock::matchers::{body_json, query_param};
use wiremock::{MockServer, ResponseTemplate};

fn id() -> PageId {
    PageId::new("PT4KHLK").unwrap()
}

fn ok(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn find_page_by_key_filters_by_incident_key() {
    let server = MockServer::start().await;
    rest("GET", "/incidents")
        .and(query_param("incident_key", EXAMPLE_KEY))
        .and(query_param("date_range", "all"))
        .respond_with(ok(fixture("incidents-list.json")))
        .expect(1)
        .mount(&server)
        .await;
    let key = IdempotencyKey::new(EXAMPLE_KEY).unwrap();
    let page = adapter(&server)
        .find_page_by_key(&key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.id.unwrap().as_str(), "PT4KHLK");
    assert_eq!(page.status, PageStatus::Resolved);
    // An incident whose key differs (a sender that ignores the filter) is not taken.
    let other = IdempotencyKey::new("other-key").unwrap();
    let none = MockServer::start().await;
    rest("GET", "/incidents")
        .respond_with(ok(fixture("incidents-list.json")))
        .mount(&none)
        .await;
    assert_eq!(adapter(&none).find_page_by_key(&other).await.unwrap(), None);
}

#[tokio::test]
async fn get_page_reads_the_incident_and_404_is_not_found_with_the_code() {
    let server = MockServer::start().await;
    rest("GET", "/incidents/PT4KHLK")
        .respond_with(ok(fixture("incident-get.json")))
        .mount(&server)
        .await;
    rest("GET", "/incidents/PMISSING")
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("error-not-found.json")))
        .mount(&server)
        .await;
    let pager = adapter(&server);
    let page = pager.get_page(&id()).await.unwrap();
    assert_eq!(page.summary, "The server is on fire.");
    assert_eq!(page.priority, Some(Priority::P2));
    let err = pager
        .get_page(&PageId::new("PMISSING").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.context_value("pagerduty_code"), Some("2100"));
    assert!(err.to_string().contains("Not Found"), "{err}");
}

#[tokio::test]
async fn reassign_to_an_escalation_policy_or_a_team_s_policy() {
    let server = MockServer::start().await;
    for policy in ["PT20YPA", "PEPPAY1"] {
        rest_write("PUT", "/incidents/PT4KHLK")
            .and(body_json(json!({
                "incident": {
                    "type": "incident_reference",
                    "escalation_policy": { "id": policy, "type": "escalation_policy_reference" }
                }
            })))
            .respond_with(ok(fixture("incident.json")))
            .expect(1)
            .mount(&server)
            .await;
    }
    let pager = adapter(&server);
    let page = pager
        .reassign(&id(), &PageAssignment::EscalationPolicy("PT20YPA".into()))
        .await
        .unwrap();
    assert_eq!(page.assignees[0].name, "Earline Greenholt");
    pager
        .reassign(
            &id(),
            &PageAssignment::Team(TeamId::new("payments").unwrap()),
        )
        .await
        .unwrap();
    let err = pager
        .reassign(&id(), &PageAssignment::Team(TeamId::new("ledger").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("[pagerduty.teams]"), "{err}");
}

#[tokio::test]
async fn reassign_to_people_finds_them_by_email_or_uses_their_handle() {
    let server = MockServer::start().await;
    rest("GET", "/users")
        .and(query_param("query", "125.greenholt.earline@graham.name"))
        .respond_with(ok(fixture("users.json")))
        .expect(1)
        .mount(&server)
        .await;
    rest_write("PUT", "/incidents/PT4KHLK")
        .and(body_json(json!({
            "incident": {
                "type": "incident_reference",
                "assignments": [
                    { "assignee": { "id": "PXPGF42", "type": "user_reference" } },
                    { "assignee": { "id": "PAM4FGS", "type": "user_reference" } }
                ]
            }
        })))
        .respond_with(ok(fixture("incident.json")))
        .expect(2)
        .mount(&server)
        .await;
    let people = PageAssignment::People(vec![
        Person::named("Earline").with_email("125.greenholt.earline@graham.name"),
        Person::named("Kyler Kuhn").with_handle("PAM4FGS"),
    ]);
    let pager = adapter(&server);
    pager.reassign(&id(), &people).await.unwrap();
    // The user id is cached: the second reassignment makes no second lookup.
    pager.reassign(&id(), &people).await.unwrap();
}

#[tokio::test]
async fn set_priority_uses_the_id_of_the_priority_named_so() {
    let server = MockServer::start().await;
    rest("GET", "/priorities")
        .respond_with(ok(fixture("priorities.json")))
        .expect(1)
        .mount(&server)
        .await;
    rest_write("PUT", "/incidents/PT4KHLK")
        .and(body_json(json!({
            "incident": {
                "type": "incident_reference",
                "priority": { "id": "P53ZZH5", "type": "priority_reference" }
            }
        })))
        .respond_with(ok(fixture("incident.json")))
        .expect(1)
        .mount(&server)
        .await;
    let page = adapter(&server)
        .set_priority(&id(), Priority::P2)
        .await
        .unwrap();
    assert_eq!(page.priority, Some(Priority::P2));
}

#[tokio::test]
async fn add_note_posts_once_per_key() {
    let server = MockServer::start().await;
    let key = IdempotencyKey::new("sync/5ac64822").unwrap();
    rest("GET", "/incidents/PT4KHLK/notes")
        .respond_with(ok(fixture("notes-list.json")))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let mut with_marker = fixture("notes-list.json");
    with_marker["notes"][0]["content"] =
        json!("Firefighters are on the scene.\n\n[itsm:sync/5ac64822]");
    rest("GET", "/incidents/PT4KHLK/notes")
        .respond_with(ok(with_marker))
        .with_priority(2)
        .mount(&server)
        .await;
    rest_write("POST", "/incidents/PT4KHLK/notes")
        .and(body_json(json!({
            "note": { "content": "Firefighters are on the scene.\n\n[itsm:sync/5ac64822]" }
        })))
        .respond_with(ok(fixture("note-created.json")))
        .expect(1)
        .mount(&server)
        .await;
    let note = Note {
        text: "Firefighters are on the scene.".into(),
        author: None,
    };
    let pager = adapter(&server);
    pager.add_note(&id(), &key, &note).await.unwrap();
    pager.add_note(&id(), &key, &note).await.unwrap();
}

#[tokio::test]
async fn request_responders_engages_policies_teams_and_people() {
    let server = MockServer::start().await;
    rest("GET", "/incidents/PT4KHLK")
        .respond_with(ok(fixture("incident-get.json")))
        .mount(&server)
        .await;
    rest("GET", "/users")
        .and(query_param("query", "126_dvm_kyler_kuhn@beahan.name"))
        .respond_with(ok(fixture("users.json")))
        .mount(&server)
        .await;
    rest("POST", "/incidents/PT4KHLK/responder_requests")
        .and(body_json(json!({
            "requester_id": "PAM4FGS",
            "message": "Major incident: join the bridge\n\n[itsm:major/PT4KHLK/im]",
            "responder_request_targets": [
                { "responder_request_target": { "id": "PEPPAY1", "type": "escalation_policy_reference" } },
                { "responder_request_target": { "id": "PIM0001", "type": "escalation_policy_reference" } },
                { "responder_request_target": { "id": "PXPGF42", "type": "user_reference" } }
            ]
        })))
        .respond_with(ok(fixture("responder-request.json")))
        .expect(1)
        .mount(&server)
        .await;
    let request = ResponderRequest {
        teams: vec![TeamId::new("payments").unwrap()],
        escalation_policies: vec!["PIM0001".into()],
        people: vec![Person::named("Earline Greenholt").with_handle("PXPGF42")],
        message: "Major incident: join the bridge".into(),
        requester: Person::named("Kyler Kuhn").with_email("126_dvm_kyler_kuhn@beahan.name"),
    };
    let key = IdempotencyKey::new("major/PT4KHLK/im").unwrap();
    adapter(&server)
        .request_responders(&id(), &key, &request)
        .await
        .unwrap();
}

#[tokio::test]
async fn request_responders_already_asked_with_the_key_posts_nothing() {
    let server = MockServer::start().await;
    let mut incident = fixture("incident-get.json");
    incident["incident"]["responder_requests"] =
        json!([{ "message": "Join\n\n[itsm:major/PT4KHLK/im]" }]);
    rest("GET", "/incidents/PT4KHLK")
        .respond_with(ok(incident))
        .mount(&server)
        .await;
    let request = ResponderRequest {
        teams: vec![],
        escalation_policies: vec!["PIM0001".into()],
        people: vec![],
        message: "Join".into(),
        requester: Person::named("x").with_handle("PAM4FGS"),
    };
    let key = IdempotencyKey::new("major/PT4KHLK/im").unwrap();
    adapter(&server)
        .request_responders(&id(), &key, &request)
        .await
        .unwrap();
    assert!(
        received(&server, "/incidents/PT4KHLK/responder_requests")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn on_call_filters_by_policy_and_reads_every_field() {
    let server = MockServer::start().await;
    rest("GET", "/oncalls")
        .and(query_param("include[]", "users"))
        .and(query_param("escalation_policy_ids[]", "PEPPAY1"))
        .and(query_param("limit", "100"))
        .and(query_param("offset", "0"))
        .respond_with(ok(fixture("oncalls.json")))
        .expect(1)
        .mount(&server)
        .await;
    rest("GET", "/oncalls")
        .and(query_param("schedule_ids[]", "PI7DH85"))
        .respond_with(ok(fixture("oncalls.json")))
        .expect(1)
        .mount(&server)
        .await;
    let pager = adapter(&server);
    let team = TeamId::new("payments").unwrap();
    let shifts = pager.on_call(&OnCallQuery::Team(team)).await.unwrap();
    assert_eq!(shifts.len(), 1);
    let shift = &shifts[0];
    assert_eq!(shift.person.name, "Tim Wright");
    assert_eq!(shift.person.handle.as_deref(), Some("PT23IWX"));
    assert_eq!(shift.level, 2);
    assert_eq!(
        shift.schedule.as_deref(),
        Some("Daily Engineering Rotation")
    );
    assert_eq!(shift.team, None, "PT20YPA is no configured team's policy");
    assert!(shift.start.is_some() && shift.end.is_some());
    pager
        .on_call(&OnCallQuery::Schedule("PI7DH85".into()))
        .await
        .unwrap();
}

#[tokio::test]
async fn create_incident_looks_up_the_key_then_posts_with_from() {
    let server = MockServer::start().await;
    let key = IdempotencyKey::new(EXAMPLE_KEY).unwrap();
    rest("GET", "/incidents")
        .and(query_param("incident_key", EXAMPLE_KEY))
        .respond_with(ok(json!({ "incidents": [], "more": false })))
        .mount(&server)
        .await;
    rest_write("POST", "/incidents")
        .and(body_json(json!({
            "incident": {
                "type": "incident",
                "title": "The server is on fire.",
                "service": { "id": "PWIXJZS", "type": "service_reference" },
                "incident_key": EXAMPLE_KEY,
                "urgency": "high",
                "body": { "type": "incident_body", "details": "A disk is getting full on this machine." },
                "escalation_policy": { "id": "PT20YPA", "type": "escalation_policy_reference" }
            }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(fixture("incident-created.json")))
        .expect(1)
        .mount(&server)
        .await;
    let page = adapter(&server)
        .create_incident(
            &key,
            &NewRestIncident {
                title: "The server is on fire.".into(),
                details: Some("A disk is getting full on this machine.".into()),
                service_id: Some("PWIXJZS".into()),
                escalation_policy_id: Some("PT20YPA".into()),
                high_urgency: true,
                priority: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.id.unwrap().as_str(), "PT4KHLK");
}

#[tokio::test]
async fn list_pages_follows_offset_pagination() {
    let server = MockServer::start().await;
    rest("GET", "/incidents")
        .and(query_param("limit", "1"))
        .and(query_param("offset", "0"))
        .and(query_param("statuses[]", "resolved"))
        .respond_with(ok(fixture("incidents-list.json")))
        .mount(&server)
        .await;
    let filter = PageFilter {
        statuses: vec![PageStatus::Resolved],
        service_ids: vec![],
    };
    let pager = adapter(&server);
    let first = pager
        .list_pages(&filter, &ListRequest::with_limit(1))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 1);
    assert_eq!(first.next.as_deref(), Some("1"));
    let bad = ListRequest {
        limit: None,
        cursor: Some("abc".into()),
    };
    let err = pager.list_pages(&filter, &bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn status_updates_and_services() {
    let server = MockServer::start().await;
    rest_write("POST", "/incidents/PT4KHLK/status_updates")
        .and(body_json(
            json!({ "message": "The server fire is spreading." }),
        ))
        .respond_with(ok(fixture("status-update.json")))
        .expect(1)
        .mount(&server)
        .await;
    rest("GET", "/services")
        .and(query_param("limit", "25"))
        .and(query_param("offset", "0"))
        .respond_with(ok(fixture("services.json")))
        .mount(&server)
        .await;
    let pager = adapter(&server);
    pager
        .post_status_update(&id(), "The server fire is spreading.")
        .await
        .unwrap();
    let services = pager.list_services(&ListRequest::first()).await.unwrap();
    assert_eq!(services.items[0].id, "PIJ90N7");
    assert_eq!(services.next, None);
}

#[tokio::test]
async fn rest_429_is_retried_with_or_without_ratelimit_headers() {
    let server = MockServer::start().await;
    rest("GET", "/incidents/PT4KHLK")
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("ratelimit-limit", "960")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", "0"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    rest("GET", "/incidents/PT4KHLK")
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    rest("GET", "/incidents/PT4KHLK")
        .respond_with(ok(fixture("incident-get.json")))
        .with_priority(3)
        .mount(&server)
        .await;
    let page = adapter(&server).get_page(&id()).await.unwrap();
    assert_eq!(page.id.unwrap().as_str(), "PT4KHLK");
    assert_eq!(received(&server, "/incidents/PT4KHLK").await.len(), 3);
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_errors() {
    let server = MockServer::start().await;
    rest("GET", "/incidents/PT4KHLK")
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": { "message": "Authentication failed", "code": 2006 }
        })))
        .mount(&server)
        .await;
    let mut config = config(&server);
    config.webhook_secrets = vec![secrecy::SecretString::from("whsec-SIGNING-value")];
    let pager = itsm_pagerduty::PagerDuty::with_retry(config, fast(1), fast(1)).unwrap();
    let err = pager.get_page(&id()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let shown = format!("{pager:?} {err} {err:?}");
    for secret in [TOKEN, ROUTING, "whsec-SIGNING-value"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("2006"), "{shown}");
}
