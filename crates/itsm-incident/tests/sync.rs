//! The sync engine's rules (I8), one test each.

mod common;

use std::sync::Arc;

use common::{T0, World, alert};
use itsm_core::{Capabilities, IdempotencyKey, TeamId};
use itsm_incident::sync::SyncStateStore;
use itsm_incident::{
    AlertingProfile, IncidentState, MemorySyncStore, Note, PageStatus, Priority, Severity, Side,
    SyncChange, SyncEngine, SyncEvent, SyncOutcome, SyncSettings, capability,
};
use time::{Duration, OffsetDateTime};

const KEY: &str = "am/sync";

struct Rig {
    world: World,
    store: Arc<MemorySyncStore>,
    engine: SyncEngine,
}

async fn rig_with(pager: common::FakePager) -> Rig {
    let world = World::with(pager, common::default_teams());
    world
        .workflow
        .handle_alert(
            &alert(KEY, Severity::Critical),
            &AlertingProfile::default_profile(),
        )
        .await
        .unwrap();
    let store = Arc::new(MemorySyncStore::new());
    let engine = engine_over(&world, store.clone());
    Rig {
        world,
        store,
        engine,
    }
}

async fn rig() -> Rig {
    rig_with(common::FakePager::default()).await
}

fn engine_over(world: &World, store: Arc<MemorySyncStore>) -> SyncEngine {
    SyncEngine::new(
        world.ticketing.clone(),
        world.pager.clone(),
        store,
        Arc::new(world.clock.clone()),
        SyncSettings::default(),
    )
}

fn event(id: &str, side: Side, at: OffsetDateTime, change: SyncChange) -> SyncEvent {
    SyncEvent {
        delivery_id: id.to_owned(),
        side,
        key: Some(IdempotencyKey::new(KEY).unwrap()),
        page: None,
        occurred_at: at,
        actor: Some("alice".to_owned()),
        change,
    }
}

fn note(text: &str) -> SyncChange {
    SyncChange::NoteAdded {
        note: Note {
            text: text.to_owned(),
            author: None,
        },
    }
}

#[tokio::test]
async fn a_normal_event_is_applied_once_to_the_other_side() {
    let r = rig().await;
    let ack = event("d1", Side::Paging, T0, SyncChange::Acknowledged);
    assert_eq!(r.engine.apply(&ack).await.unwrap(), SyncOutcome::Applied);
    assert_eq!(r.world.ticketing.only().state, IncidentState::Acknowledged);
    assert_eq!(r.world.ticketing.calls.count("set_state"), 1);
    assert_eq!(
        r.world.pager.calls.count("acknowledge"),
        0,
        "not written back to its own side"
    );

    let prio = event(
        "d2",
        Side::Ticketing,
        T0,
        SyncChange::PriorityChanged {
            priority: Priority::P2,
        },
    );
    assert_eq!(r.engine.apply(&prio).await.unwrap(), SyncOutcome::Applied);
    assert_eq!(r.world.pager.only().page.priority, Some(Priority::P2));
    assert_eq!(r.world.ticketing.calls.count("set_priority"), 0);
}

#[tokio::test]
async fn a_duplicated_delivery_has_no_second_effect() {
    let r = rig().await;
    let n = event("d1", Side::Paging, T0, note("checked the db"));
    assert_eq!(r.engine.apply(&n).await.unwrap(), SyncOutcome::Applied);
    assert_eq!(r.engine.apply(&n).await.unwrap(), SyncOutcome::Duplicate);
    assert_eq!(r.world.ticketing.calls.count("add_note"), 1);
    assert_eq!(r.world.ticketing.notes().len(), 1);
}

#[tokio::test]
async fn an_older_event_does_not_roll_a_field_back() {
    let r = rig().await;
    let newer = event(
        "d1",
        Side::Ticketing,
        T0 + Duration::minutes(5),
        SyncChange::PriorityChanged {
            priority: Priority::P1,
        },
    );
    let older = event(
        "d2",
        Side::Ticketing,
        T0,
        SyncChange::PriorityChanged {
            priority: Priority::P3,
        },
    );
    assert_eq!(r.engine.apply(&newer).await.unwrap(), SyncOutcome::Applied);
    assert_eq!(r.engine.apply(&older).await.unwrap(), SyncOutcome::Stale);
    assert_eq!(r.world.pager.only().page.priority, Some(Priority::P1));
    assert_eq!(r.world.pager.calls.count("set_priority"), 1);
}

#[tokio::test]
async fn nothing_after_resolved_un_resolves() {
    let r = rig().await;
    let resolved = event("d1", Side::Paging, T0, SyncChange::Resolved { notes: None });
    let late_ack = event(
        "d2",
        Side::Paging,
        T0 + Duration::minutes(1),
        SyncChange::Acknowledged,
    );
    let other_side_ack = event(
        "d3",
        Side::Ticketing,
        T0 + Duration::minutes(2),
        SyncChange::Acknowledged,
    );
    assert_eq!(
        r.engine.apply(&resolved).await.unwrap(),
        SyncOutcome::Applied
    );
    assert_eq!(r.engine.apply(&late_ack).await.unwrap(), SyncOutcome::Stale);
    assert_eq!(
        r.engine.apply(&other_side_ack).await.unwrap(),
        SyncOutcome::Stale
    );
    assert_eq!(r.world.ticketing.only().state, IncidentState::Resolved);
    assert_eq!(r.world.ticketing.calls.count("set_state"), 0);
    assert_eq!(r.world.pager.calls.count("acknowledge"), 0);
}

#[tokio::test]
async fn an_ack_for_a_record_resolved_outside_the_engine_is_stale() {
    let r = rig().await;
    r.world
        .workflow
        .handle_alert(
            &common::resolved(alert(KEY, Severity::Critical), T0),
            &AlertingProfile::default_profile(),
        )
        .await
        .unwrap();
    let ack = event("d1", Side::Ticketing, T0, SyncChange::Acknowledged);
    assert_eq!(r.engine.apply(&ack).await.unwrap(), SyncOutcome::Stale);
    assert_eq!(r.world.pager.only().page.status, PageStatus::Resolved);
}

#[tokio::test]
async fn our_own_write_coming_back_is_an_echo() {
    let r = rig().await;
    let team = TeamId::new("ops").unwrap();
    let from_ticketing = event(
        "d1",
        Side::Ticketing,
        T0,
        SyncChange::Reassigned { team: team.clone() },
    );
    assert_eq!(
        r.engine.apply(&from_ticketing).await.unwrap(),
        SyncOutcome::Applied
    );
    assert_eq!(r.store.pending_writes(), 1);

    // The pager reports the reassignment the engine made, attributed to a person.
    let echo = event(
        "d2",
        Side::Paging,
        T0 + Duration::seconds(1),
        SyncChange::Reassigned { team },
    );
    assert_eq!(r.engine.apply(&echo).await.unwrap(), SyncOutcome::Echo);
    assert_eq!(
        r.store.pending_writes(),
        0,
        "the recorded write is consumed"
    );
    assert_eq!(
        r.world.ticketing.calls.count("reassign"),
        0,
        "not applied back"
    );
}

#[tokio::test]
async fn events_by_the_integration_user_are_echoes() {
    let r = rig().await;
    let mut ack = event("d1", Side::Paging, T0, SyncChange::Acknowledged);
    ack.actor = Some("ITSM-Integration".to_owned());
    assert_eq!(r.engine.apply(&ack).await.unwrap(), SyncOutcome::Echo);
    assert_eq!(r.world.ticketing.calls.count("set_state"), 0);
}

#[tokio::test]
async fn a_note_echo_is_recognised_by_its_marker_even_when_state_was_lost() {
    let r = rig().await;
    assert_eq!(
        r.engine
            .apply(&event(
                "d1",
                Side::Ticketing,
                T0,
                note("db failover started")
            ))
            .await
            .unwrap(),
        SyncOutcome::Applied
    );
    let written = r.world.pager.notes();
    assert_eq!(written.len(), 1);
    assert!(written[0].2.text.starts_with("db failover started"));
    assert!(
        written[0]
            .2
            .text
            .contains("[synced by itsm] from ticketing by alice")
    );

    // A restart lost the state; the pager delivers the copied note back.
    let fresh = engine_over(&r.world, Arc::new(MemorySyncStore::new()));
    let echo = event("d2", Side::Paging, T0, note(&written[0].2.text));
    assert_eq!(fresh.apply(&echo).await.unwrap(), SyncOutcome::Echo);
    assert!(r.world.ticketing.notes().is_empty());
}

#[tokio::test]
async fn a_change_the_other_side_cannot_make_is_reported_unsupported() {
    let caps = Capabilities::new("events-only").with(capability::PAGE_READ);
    let r = rig_with(common::FakePager::with_caps(caps)).await;
    let prio = event(
        "d1",
        Side::Ticketing,
        T0,
        SyncChange::PriorityChanged {
            priority: Priority::P2,
        },
    );
    assert_eq!(
        r.engine.apply(&prio).await.unwrap(),
        SyncOutcome::Unsupported(capability::PAGE_PRIORITY)
    );
    assert_eq!(r.world.pager.calls.count("set_priority"), 0);
    assert!(r.store.is_seen("d1").await.unwrap(), "not retried forever");
}

#[tokio::test]
async fn a_failed_apply_is_not_marked_seen_so_redelivery_retries_it() {
    let r = rig().await;
    let ack = event("d1", Side::Paging, T0, SyncChange::Acknowledged);
    r.world.ticketing.calls.fail_next("set_state");
    assert!(r.engine.apply(&ack).await.is_err());
    assert_eq!(
        r.store.pending_writes(),
        0,
        "no write awaits an echo that will not come"
    );
    assert_eq!(r.engine.apply(&ack).await.unwrap(), SyncOutcome::Applied);
    assert_eq!(r.world.ticketing.only().state, IncidentState::Acknowledged);
}

#[tokio::test]
async fn an_event_without_a_counterpart_record_says_so() {
    let r = rig().await;
    let mut n = event("d1", Side::Ticketing, T0, note("x"));
    n.key = Some(IdempotencyKey::new("ticket-only").unwrap());
    assert_eq!(
        r.engine.apply(&n).await.unwrap(),
        SyncOutcome::NoCounterpart
    );
    let mut empty = event(" ", Side::Ticketing, T0, note("x"));
    empty.key = Some(IdempotencyKey::new(KEY).unwrap());
    let err = r.engine.apply(&empty).await.unwrap_err();
    assert!(err.to_string().contains("delivery_id"), "{err}");
}

#[tokio::test]
async fn an_event_naming_only_the_page_is_applied_under_the_page_key() {
    let r = rig().await;
    let page_id = r
        .world
        .pager
        .only()
        .page
        .id
        .expect("the fake pager gives ids");
    let mut by_page = event("d1", Side::Paging, T0, note("restarted the pod"));
    by_page.key = None;
    by_page.page = Some(page_id);
    assert_eq!(
        r.engine.apply(&by_page).await.unwrap(),
        SyncOutcome::Applied
    );
    assert_eq!(r.world.pager.calls.count("get_page"), 1);
    let notes = r.world.ticketing.notes();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].2.text.starts_with("restarted the pod"),
        "{notes:?}"
    );

    let mut unknown = event("d2", Side::Paging, T0, SyncChange::Acknowledged);
    unknown.key = None;
    unknown.page = Some(itsm_incident::PageId::new("PNOSUCH").unwrap());
    assert_eq!(
        r.engine.apply(&unknown).await.unwrap(),
        SyncOutcome::NoCounterpart
    );
    assert_eq!(r.world.ticketing.only().state, IncidentState::New);

    let mut neither = event("d3", Side::Paging, T0, SyncChange::Acknowledged);
    neither.key = None;
    let err = r.engine.apply(&neither).await.unwrap_err();
    assert!(
        err.to_string().contains("names neither a key nor a page"),
        "{err}"
    );
}
