//! Retries, rate limits and idempotency keys, through itsm-http, against a Tickety that
//! throttles or loses answers on demand.

mod common;

use std::time::Duration;

use itsm_change::{ChangeFilter, ChangeKind, ChangeSystem, NewChange};
use itsm_core::{Environment, ErrorKind, IdempotencyKey, ListRequest, ServiceId, Version};
use itsm_incident::{
    Assignment, IncidentFilter, IncidentSystem, NewIncident, Note, Priority, ServiceKind,
};

fn incident(service: &str) -> NewIncident {
    NewIncident {
        summary: "Checkout answers 5xx".into(),
        description: String::new(),
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

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::new(text).unwrap()
}

#[tokio::test]
async fn throttled_requests_are_retried_after_the_wait_the_server_asks_for() {
    let (server, tickety) = common::tickety().await;
    let opened = tickety
        .create_incident(&key("retry/throttled"), &incident("checkout"))
        .await
        .unwrap();
    server.fail_next(2, 429, Some(0));
    let before = server.requests_seen();
    let got = tickety.get_incident(&opened.id).await.unwrap();
    assert_eq!(got.id, opened.id);
    assert_eq!(
        server.requests_seen() - before,
        3,
        "two refusals, then the answer"
    );
}

#[tokio::test]
async fn a_wait_beyond_the_retry_budget_is_returned_instead_of_slept() {
    let (server, tickety) = common::tickety().await;
    server.fail_next(1, 429, Some(120));
    let before = server.requests_seen();
    let err = tickety
        .find_incident_by_key(&key("retry/budget"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert!(err.is_retryable());
    assert_eq!(server.requests_seen() - before, 1, "no second attempt");
}

#[tokio::test]
async fn a_lost_answer_to_a_create_is_retried_and_finds_the_first_ticket() {
    let (server, tickety) = common::tickety().await;
    // The create acts on the server but its answer is lost.
    server.lose_next_write_answers(1);
    let before = server.requests_seen();
    let opened = tickety
        .create_incident(&key("retry/lost-create"), &incident("payments"))
        .await
        .unwrap();
    assert_eq!(
        server.requests_seen() - before,
        3,
        "the key lookup, the create, the create again"
    );
    let filter = IncidentFilter {
        service: Some(ServiceId::new("payments").unwrap()),
        ..IncidentFilter::default()
    };
    let listed = tickety
        .list_incidents(&filter, &ListRequest::first())
        .await
        .unwrap();
    let ids: Vec<_> = listed.items.iter().map(|i| &i.id).collect();
    assert_eq!(ids, [&opened.id], "one ticket, not two");
}

#[tokio::test]
async fn a_lost_answer_to_a_note_adds_the_note_once() {
    let (server, tickety) = common::tickety().await;
    let opened = tickety
        .create_incident(&key("retry/note"), &incident("checkout"))
        .await
        .unwrap();
    let note = Note {
        text: "Rolled back".into(),
        author: None,
    };
    server.lose_next_write_answers(1);
    IncidentSystem::add_note(&tickety, &opened.id, &key("retry/note/1"), &note)
        .await
        .unwrap();
    assert_eq!(server.comment_count(opened.id.as_str()), 1);
}

#[tokio::test]
async fn a_lost_answer_to_a_change_create_makes_one_change() {
    let (server, tickety) = common::tickety().await;
    let new = NewChange {
        kind: ChangeKind::Normal,
        template: None,
        service: ServiceId::new("ledger").unwrap(),
        version: Version::new("2.0.0").unwrap(),
        environment: Environment::production(),
        summary: "Deploy ledger 2.0.0".into(),
        description: String::new(),
        window: None,
        commits: vec![],
        pipeline_run: None,
        requested_by: None,
        assignment_team: None,
        reasons: vec![],
        retroactive: false,
        links: vec![],
    };
    server.lose_next_write_answers(1);
    let change = tickety
        .create_change(&key("retry/change"), &new)
        .await
        .unwrap();
    let filter = ChangeFilter {
        service: Some(new.service.clone()),
        ..ChangeFilter::default()
    };
    let listed = tickety
        .list_changes(&filter, &ListRequest::first())
        .await
        .unwrap();
    let ids: Vec<_> = listed.items.iter().map(|c| &c.id).collect();
    assert_eq!(ids, [&change.id]);
    assert_eq!(change.key, Some(key("retry/change")));
}
