//! The sync engine (I8) over the local store as both sides and as its durable state: a
//! page acknowledged on the paging side reaches the ticket once, and a duplicate or an echo
//! is still recognised after the store is reopened (as after a crash).

mod common;

use std::sync::Arc;

use itsm_core::{Clock, ServiceId};
use itsm_incident::sync::{Side, SyncChange, SyncEngine, SyncEvent, SyncOutcome, SyncSettings};
use itsm_incident::{
    Assignment, IncidentState, IncidentSystem, NewIncident, NewPage, Pager, Priority, ServiceKind,
    Severity,
};
use itsm_local::LocalStore;
use time::Duration;

fn engine(store: &LocalStore, clock: &itsm_core::ManualClock) -> SyncEngine {
    let store = Arc::new(store.clone());
    SyncEngine::new(
        store.clone(),
        store.clone(),
        store,
        Arc::new(clock.clone()),
        SyncSettings::default(),
    )
}

fn event(id: &str, side: Side, at: time::OffsetDateTime, change: SyncChange) -> SyncEvent {
    SyncEvent {
        delivery_id: id.to_owned(),
        side,
        key: Some(common::key("alert-1")),
        page: None,
        occurred_at: at,
        actor: Some("ana".to_owned()),
        change,
    }
}

#[tokio::test]
async fn state_survives_a_reopen_so_duplicates_and_echoes_stay_recognised() {
    let (dir, store, clock) = common::store();
    let key = common::key("alert-1");
    let service = ServiceId::new("checkout").unwrap();
    let incident = store
        .create_incident(
            &key,
            &NewIncident {
                summary: "checkout errors".into(),
                description: String::new(),
                priority: Priority::P2,
                assignment: Assignment {
                    service: service.clone(),
                    kind: ServiceKind::DigitalService,
                    team: None,
                },
                tenant: None,
                links_to: vec![],
                links: vec![],
            },
        )
        .await
        .unwrap();
    store
        .trigger(
            &key,
            &NewPage {
                summary: "checkout errors".into(),
                severity: Severity::Critical,
                source: "test".into(),
                service,
                routing: None,
                links: vec![],
                details: Default::default(),
            },
        )
        .await
        .unwrap();
    let t0 = clock.now();

    // The page is acknowledged on the paging side: the ticket follows, once.
    let ack = event("pd-1", Side::Paging, t0, SyncChange::Acknowledged);
    let sync = engine(&store, &clock);
    assert_eq!(sync.apply(&ack).await.unwrap(), SyncOutcome::Applied);
    let ticket = store.get_incident(&incident.id).await.unwrap();
    assert_eq!(ticket.state, IncidentState::Acknowledged);

    // Reopen the database, as a restarted bridge would.
    drop(sync);
    drop(store);
    let store = LocalStore::open(dir.path().join("itsm.db"), Arc::new(clock.clone())).unwrap();
    let sync = engine(&store, &clock);

    // The same delivery again: no second effect.
    assert_eq!(sync.apply(&ack).await.unwrap(), SyncOutcome::Duplicate);
    // Our write to the ticket comes back from the ticketing side, by another actor name
    // and delivery id: recognised from the recorded write, not applied back to the page.
    let echo = event("snow-1", Side::Ticketing, t0, SyncChange::Acknowledged);
    assert_eq!(sync.apply(&echo).await.unwrap(), SyncOutcome::Echo);

    // A priority change on the ticket reaches the page; an older one arriving later
    // does not roll it back.
    let p1 = event(
        "snow-2",
        Side::Ticketing,
        t0 + Duration::minutes(5),
        SyncChange::PriorityChanged {
            priority: Priority::P1,
        },
    );
    let older = event(
        "snow-3",
        Side::Ticketing,
        t0 + Duration::minutes(1),
        SyncChange::PriorityChanged {
            priority: Priority::P3,
        },
    );
    assert_eq!(sync.apply(&p1).await.unwrap(), SyncOutcome::Applied);
    drop(sync);
    let sync = engine(&store, &clock);
    assert_eq!(sync.apply(&older).await.unwrap(), SyncOutcome::Stale);
    let page = store.find_page_by_key(&key).await.unwrap().unwrap();
    assert_eq!(page.priority, Some(Priority::P1));
}
