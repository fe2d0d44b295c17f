//! The shared `IncidentSystem` and `Pager` conformance suites against the local store, the
//! local-only incident rules, and two stores on one file racing on one key.

mod common;

use std::sync::Arc;

use itsm_core::{ErrorKind, Person, ServiceId, SystemClock};
use itsm_incident::{
    Assignment, IncidentState, IncidentSystem, NewIncident, Priority, Resolution, ServiceKind,
};
use itsm_local::LocalStore;
use itsm_testkit::conformance;

fn new_incident(service: &str) -> NewIncident {
    NewIncident {
        summary: format!("{service} is down"),
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

#[tokio::test]
async fn local_store_passes_the_incident_suite_with_nothing_skipped() {
    let (_dir, store, _clock) = common::store();
    let report = conformance::incident::run_all(&store).await;
    assert!(report.skipped().is_empty(), "{report:?}");
    assert_eq!(report.passed().len(), 6, "{report:?}");
}

#[tokio::test]
async fn local_store_passes_the_pager_suite_with_nothing_skipped() {
    let (_dir, store, _clock) = common::store();
    let report = conformance::pager::run_all(&store).await;
    assert!(report.skipped().is_empty(), "{report:?}");
    assert_eq!(report.passed().len(), 8, "{report:?}");
}

#[tokio::test]
async fn the_suites_run_again_against_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    for _ in 0..2 {
        let store = LocalStore::open(&path, Arc::new(SystemClock)).unwrap();
        assert!(
            conformance::incident::run_all(&store)
                .await
                .skipped()
                .is_empty()
        );
        assert!(
            conformance::pager::run_all(&store)
                .await
                .skipped()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn numbers_times_and_the_resolved_rules() {
    let (_dir, store, clock) = common::store();
    let opened_at = clock_now(&clock);
    let first = store
        .create_incident(&common::key("alert-1"), &new_incident("checkout"))
        .await
        .unwrap();
    assert_eq!(first.id.as_str(), "INC0000001");
    assert_eq!(first.number.as_deref(), Some("INC0000001"));
    assert_eq!(first.opened_at, Some(opened_at));
    assert_eq!(first.state, IncidentState::New);

    let err = store
        .set_state(&first.id, IncidentState::Resolved, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("resolve"), "{err}");

    let ack = store
        .set_state(
            &first.id,
            IncidentState::Acknowledged,
            Some(Person::named("Ana")),
        )
        .await
        .unwrap();
    assert_eq!(ack.acknowledged_by, Some(Person::named("Ana")));

    clock.advance(time::Duration::minutes(42));
    let resolution = Resolution {
        code: "solved".into(),
        notes: "rolled back".into(),
        by: None,
    };
    let resolved = store.resolve(&first.id, &resolution).await.unwrap();
    assert_eq!(
        resolved.resolved_at,
        Some(opened_at + time::Duration::minutes(42))
    );
    assert_eq!(
        store.incident_resolution(&first.id).await.unwrap(),
        Some(resolution.clone())
    );
    let err = store
        .set_state(&first.id, IncidentState::InProgress, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    clock.advance(time::Duration::minutes(5));
    let again = store.resolve(&first.id, &resolution).await.unwrap();
    assert_eq!(again, resolved, "resolving again returns it unchanged");

    let second = store
        .create_incident(&common::key("alert-2"), &new_incident("checkout"))
        .await
        .unwrap();
    assert_eq!(second.id.as_str(), "INC0000002");
}

fn clock_now(clock: &itsm_core::ManualClock) -> time::OffsetDateTime {
    use itsm_core::Clock;
    clock.now()
}

#[tokio::test]
async fn notes_are_kept_once_per_key_and_empty_ones_refused() {
    let (_dir, store, _clock) = common::store();
    let incident = store
        .create_incident(&common::key("alert"), &new_incident("checkout"))
        .await
        .unwrap();
    let note = itsm_incident::Note {
        text: "rollback started".into(),
        author: None,
    };
    for _ in 0..2 {
        store
            .add_note(&incident.id, &common::key("n1"), &note)
            .await
            .unwrap();
    }
    assert_eq!(store.incident_notes(&incident.id).await.unwrap(), [note]);
    let empty = itsm_incident::Note {
        text: "  ".into(),
        author: None,
    };
    let err = store
        .add_note(&incident.id, &common::key("n2"), &empty)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn two_stores_on_one_file_racing_on_one_key_make_one_incident() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.db");
    LocalStore::open(&path, Arc::new(SystemClock)).unwrap();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = LocalStore::open(&path, Arc::new(SystemClock)).unwrap();
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let mut ids = Vec::new();
                    for n in 0..20 {
                        let key = common::key(&format!("alert-{n}"));
                        let created = store
                            .create_incident(&key, &new_incident("checkout"))
                            .await
                            .unwrap();
                        ids.push(created.id);
                    }
                    ids
                })
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        results[0], results[1],
        "both processes see the same incidents"
    );
    let store = LocalStore::open(&path, Arc::new(SystemClock)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let listed = runtime
        .block_on(store.list_incidents(
            &itsm_incident::IncidentFilter::default(),
            &itsm_core::ListRequest::first(),
        ))
        .unwrap();
    assert_eq!(listed.items.len(), 20, "one incident per key");
}
