//! The local pager: who is on call at several instants, routing pages to a team's on-call
//! person, working-hours-only teams at night, responders, and escalation (once).

mod common;

use itsm_core::{ErrorKind, IdempotencyKey, ManualClock, Person, Recipient, ServiceId, TeamId};
use itsm_incident::{
    NewPage, OnCallQuery, PageAssignment, PageStatus, Pager, ResponderRequest, Severity, Team,
    TeamDirectory, TeamKind,
};
use itsm_local::{Coverage, LocalStore, Schedule};
use time::Duration;
use time::macros::{datetime, offset};

fn team(id: &str, out_of_hours: bool, services: &[&str]) -> Team {
    Team {
        id: TeamId::new(id).unwrap(),
        name: format!("Team {id}"),
        kind: TeamKind::Product,
        out_of_hours,
        runbook_contact: Some("+44 20 7946 0000".into()),
        services: services
            .iter()
            .map(|s| ServiceId::new(s).unwrap())
            .collect(),
        members: vec![Person::named("Ana"), Person::named("Ben")],
    }
}

/// `payments` (24x7, Ana then Ben weekly from Monday 2026-05-04 09:00 UTC) owns `checkout`;
/// `ledger` (working hours at +02:00, Cy alone) owns `ledger-api`; Ian is incident manager.
async fn setup() -> (tempfile::TempDir, LocalStore, ManualClock) {
    let (dir, store, clock) = common::store();
    store
        .upsert_team(&team("payments", true, &["checkout"]))
        .await
        .unwrap();
    store
        .upsert_team(&team("ledger", false, &["ledger-api"]))
        .await
        .unwrap();
    let weekly = Schedule {
        members: vec![Person::named("Ana"), Person::named("Ben")],
        rotation: Duration::days(7),
        handoff: datetime!(2026-05-04 09:00 UTC),
        coverage: Coverage::AlwaysOn,
    };
    store.set_schedule(&tid("payments"), &weekly).await.unwrap();
    let office = Schedule {
        members: vec![Person::named("Cy")],
        rotation: Duration::days(7),
        handoff: datetime!(2026-05-04 09:00 UTC),
        coverage: Coverage::WorkingHours {
            utc_offset: offset!(+2),
        },
    };
    store.set_schedule(&tid("ledger"), &office).await.unwrap();
    store
        .set_incident_manager(Person::named("Ian"))
        .await
        .unwrap();
    (dir, store, clock)
}

fn tid(id: &str) -> TeamId {
    TeamId::new(id).unwrap()
}

fn page(service: &str) -> NewPage {
    NewPage {
        summary: format!("{service} error rate high"),
        severity: Severity::Critical,
        source: "alertmanager".into(),
        service: ServiceId::new(service).unwrap(),
        routing: None,
        links: vec![],
        details: Default::default(),
    }
}

fn names(on_call: &[itsm_incident::OnCall]) -> Vec<(String, u32)> {
    on_call
        .iter()
        .map(|o| (o.person.name.clone(), o.level))
        .collect()
}

#[tokio::test]
async fn who_is_on_call_follows_the_clock() {
    let (_dir, store, clock) = setup().await;
    let query = OnCallQuery::Team(tid("payments"));
    let cases = [
        (datetime!(2026-05-04 09:00 UTC), "Ana"),
        (datetime!(2026-05-11 08:59 UTC), "Ana"),
        (datetime!(2026-05-11 09:00 UTC), "Ben"),
        (datetime!(2026-05-16 03:00 UTC), "Ben"),
        (datetime!(2026-05-18 10:00 UTC), "Ana"),
        (datetime!(2026-05-01 10:00 UTC), "Ben"),
    ];
    for (at, who) in cases {
        clock.set(at);
        let on_call = store.on_call(&query).await.unwrap();
        assert_eq!(
            names(&on_call),
            [(who.to_owned(), 1), ("Ian".to_owned(), 2)],
            "at {at}"
        );
        assert_eq!(on_call[0].out_of_hours, Some(true));
    }
    // A schedule query is level 1 only; an unknown team or schedule is not found.
    clock.set(datetime!(2026-05-04 10:00 UTC));
    let schedule = store
        .on_call(&OnCallQuery::Schedule("payments".into()))
        .await
        .unwrap();
    assert_eq!(names(&schedule), [("Ana".to_owned(), 1)]);
    for query in [
        OnCallQuery::Team(tid("nobody")),
        OnCallQuery::Schedule("nobody".into()),
    ] {
        let err = store.on_call(&query).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{query:?}");
    }
}

#[tokio::test]
async fn a_working_hours_team_has_nobody_on_call_at_night() {
    let (_dir, store, clock) = setup().await;
    let query = OnCallQuery::Team(tid("ledger"));
    // Tuesday 10:00 at +02:00.
    clock.set(datetime!(2026-05-05 08:00 UTC));
    let day = store.on_call(&query).await.unwrap();
    assert_eq!(names(&day), [("Cy".to_owned(), 1), ("Ian".to_owned(), 2)]);
    assert_eq!(day[0].out_of_hours, Some(false));
    assert_eq!(day[0].end, Some(datetime!(2026-05-05 15:00 UTC)));
    // Tuesday 23:00 at +02:00: only the incident manager.
    clock.set(datetime!(2026-05-05 21:00 UTC));
    let night = store.on_call(&query).await.unwrap();
    assert_eq!(names(&night), [("Ian".to_owned(), 2)]);
    let everyone = store.on_call(&OnCallQuery::Everyone).await.unwrap();
    assert_eq!(
        names(&everyone),
        [("Ana".to_owned(), 1), ("Ian".to_owned(), 2)]
    );

    // A page for the ledger at night reaches the team, not a person.
    let p = store
        .trigger(&common::key("ledger-1"), &page("ledger-api"))
        .await
        .unwrap();
    assert!(p.assignees.is_empty(), "{p:?}");
    let notes = store.notifications().await.unwrap();
    assert_eq!(
        notes.last().unwrap().recipients,
        [Recipient::Team(tid("ledger"))]
    );
}

#[tokio::test]
async fn trigger_routes_to_the_owning_teams_on_call_person_and_notifies_them() {
    let (_dir, store, clock) = setup().await;
    clock.set(datetime!(2026-05-12 02:00 UTC));
    let key = common::key("alert/checkout/5xx");
    let first = store.trigger(&key, &page("checkout")).await.unwrap();
    assert_eq!(first.id.as_ref().unwrap().as_str(), "PG0000001");
    assert_eq!(first.assignees, [Person::named("Ben")]);
    assert_eq!(first.status, PageStatus::Triggered);
    let again = store.trigger(&key, &page("checkout")).await.unwrap();
    assert_eq!(again, first);
    let sent = store.notifications().await.unwrap();
    assert_eq!(sent.len(), 1, "one notification for one page: {sent:?}");
    assert_eq!(
        sent[0].recipients,
        [Recipient::Person(Person::named("Ben"))]
    );
    assert_eq!(sent[0].topic, itsm_core::NotificationTopic::IncidentOpened);

    // Routing names a team explicitly; an unknown one is refused.
    let mut routed = page("checkout");
    routed.routing = Some("ledger".into());
    clock.set(datetime!(2026-05-12 08:00 UTC));
    let p = store
        .trigger(&common::key("routed"), &routed)
        .await
        .unwrap();
    assert_eq!(p.assignees, [Person::named("Cy")]);
    routed.routing = Some("nobody".into());
    let err = store
        .trigger(&common::key("bad"), &routed)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        store.find_page_by_key(&common::key("bad")).await.unwrap(),
        None
    );

    // Reassigning to a team (or its escalation policy) assigns its on-call person.
    let id = first.id.clone().unwrap();
    let moved = store
        .reassign(&id, &PageAssignment::Team(tid("ledger")))
        .await
        .unwrap();
    assert_eq!(moved.assignees, [Person::named("Cy")]);
    let back = store
        .reassign(&id, &PageAssignment::EscalationPolicy("payments".into()))
        .await
        .unwrap();
    assert_eq!(back.assignees, [Person::named("Ben")]);
    store.resolve(&key, None).await.unwrap();
    let err = store
        .reassign(&id, &PageAssignment::Team(tid("ledger")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn responder_requests_page_each_teams_on_call_person_once() {
    let (_dir, store, clock) = setup().await;
    clock.set(datetime!(2026-05-05 08:00 UTC));
    let p = store
        .trigger(&common::key("a"), &page("checkout"))
        .await
        .unwrap();
    let id = p.id.unwrap();
    let request = ResponderRequest {
        teams: vec![tid("ledger")],
        escalation_policies: vec![],
        people: vec![Person::named("Dba Dee")],
        message: "ledger lag".into(),
        requester: Person::named("Ana"),
    };
    for _ in 0..2 {
        store
            .request_responders(&id, &common::key("r1"), &request)
            .await
            .unwrap();
    }
    assert_eq!(
        store.page_responders(&id).await.unwrap(),
        [Person::named("Cy"), Person::named("Dba Dee")]
    );
    let sent = store.notifications().await.unwrap();
    assert_eq!(sent.len(), 2, "trigger + one responder request: {sent:?}");
    assert_eq!(
        sent[1].recipients,
        [
            Recipient::Person(Person::named("Cy")),
            Recipient::Person(Person::named("Dba Dee"))
        ]
    );
    let unknown = ResponderRequest {
        teams: vec![tid("nobody")],
        ..request
    };
    let err = store
        .request_responders(&id, &common::key("r2"), &unknown)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn unacknowledged_pages_escalate_to_the_incident_manager_once() {
    let (_dir, store, clock) = setup().await;
    clock.set(datetime!(2026-05-12 02:00 UTC));
    let slow = common::key("slow");
    let acked = common::key("acked");
    store.trigger(&slow, &page("checkout")).await.unwrap();
    store.trigger(&acked, &page("checkout")).await.unwrap();
    store
        .acknowledge(&acked, Some(Person::named("Ben")))
        .await
        .unwrap();
    clock.advance(Duration::minutes(10));
    let fresh = common::key("fresh");
    store.trigger(&fresh, &page("checkout")).await.unwrap();

    clock.advance(Duration::minutes(5));
    let escalated = store
        .escalate_unacknowledged(Duration::minutes(15))
        .await
        .unwrap();
    assert_eq!(escalated, std::slice::from_ref(&slow));
    let again = store
        .escalate_unacknowledged(Duration::minutes(15))
        .await
        .unwrap();
    assert_eq!(
        again,
        Vec::<IdempotencyKey>::new(),
        "each page escalates once"
    );

    let id = store
        .find_page_by_key(&slow)
        .await
        .unwrap()
        .unwrap()
        .id
        .unwrap();
    assert_eq!(
        store.page_responders(&id).await.unwrap(),
        [Person::named("Ian")]
    );
    let to_ian: Vec<_> = store
        .notifications()
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.recipients == [Recipient::Person(Person::named("Ian"))])
        .collect();
    assert_eq!(to_ian.len(), 1, "{to_ian:?}");
    assert!(
        to_ian[0].subject.starts_with("Escalated:"),
        "{:?}",
        to_ian[0]
    );

    clock.advance(Duration::minutes(15));
    let later = store
        .escalate_unacknowledged(Duration::minutes(15))
        .await
        .unwrap();
    assert_eq!(later, [fresh]);
}

#[tokio::test]
async fn the_team_directory_answers_from_upserted_teams() {
    let (_dir, store, _clock) = setup().await;
    let ids: Vec<String> = store
        .list_teams()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(ids, ["ledger", "payments"]);
    let owner = store
        .owner_of(&ServiceId::new("checkout").unwrap())
        .await
        .unwrap();
    assert_eq!(owner.map(|t| t.id), Some(tid("payments")));
    // Moving a service to another team.
    store
        .upsert_team(&team("ledger", false, &["ledger-api", "checkout"]))
        .await
        .unwrap();
    let owner = store
        .owner_of(&ServiceId::new("checkout").unwrap())
        .await
        .unwrap();
    assert_eq!(owner.map(|t| t.id), Some(tid("ledger")));
    assert_eq!(store.get_team(&tid("nobody")).await.unwrap(), None);
    let lone = Schedule {
        members: vec![],
        rotation: Duration::ZERO,
        handoff: datetime!(2026-05-04 09:00 UTC),
        coverage: Coverage::AlwaysOn,
    };
    let err = store.set_schedule(&tid("ledger"), &lone).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let ok = Schedule {
        rotation: Duration::days(1),
        ..lone
    };
    let err = store.set_schedule(&tid("nobody"), &ok).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        store.incident_manager().await.unwrap(),
        Some(Person::named("Ian"))
    );
}
