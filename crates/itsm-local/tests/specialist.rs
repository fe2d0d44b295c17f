//! The local store's specialist catalog: loading the catalog, submitting with checked
//! inputs, timestamps of every transition, comments, and durability across reopening.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use itsm_core::{ErrorKind, ListRequest, Person, SystemClock, TeamId};
use itsm_local::LocalStore;
use itsm_specialist::{
    CatalogFile, Comment, InputValue, NewRequest, OfferingId, RequestFilter, RequestState,
    SpecialistCatalog, Urgency,
};
use time::Duration;

const CATALOG: &str = include_str!("../../../examples/specialists/catalog.toml");

fn firewall(port: InputValue) -> NewRequest {
    let inputs: BTreeMap<String, InputValue> = [
        ("source_zone", InputValue::Text("app".into())),
        ("destination_zone", InputValue::Text("data".into())),
        ("port", port),
        ("protocol", InputValue::Text("tcp".into())),
        (
            "justification",
            InputValue::Text("orders reads the ledger".into()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    NewRequest {
        offering: OfferingId::new("network.firewall-rule").unwrap(),
        requester: TeamId::new("checkout").unwrap(),
        submitted_by: Some(Person::named("Sam")),
        inputs,
        urgency: Urgency::High,
    }
}

#[tokio::test]
async fn loading_the_catalog_replaces_it_and_keeps_requests() {
    let (_dir, store, _clock) = common::store();
    let file = CatalogFile::parse(CATALOG).unwrap();
    store.load_specialist_catalog(&file).await.unwrap();
    store.load_specialist_catalog(&file).await.unwrap();
    assert_eq!(store.list_offerings(None).await.unwrap().len(), 5);
    let dba = store
        .list_offerings(Some(TeamId::new("dba").unwrap()))
        .await
        .unwrap();
    assert_eq!(dba.len(), 3);
    assert_eq!(store.specialist_teams().await.unwrap().len(), 2);

    let r = store
        .submit(&common::key("fw-1"), &firewall(InputValue::Number(5432.0)))
        .await
        .unwrap();
    let mut smaller = file.clone();
    smaller.offerings.retain(|o| o.team.as_str() == "dba");
    smaller.teams.retain(|t| t.id.as_str() == "dba");
    store.load_specialist_catalog(&smaller).await.unwrap();
    assert_eq!(store.list_offerings(None).await.unwrap().len(), 3);
    let err = store
        .get_offering(&OfferingId::new("network.firewall-rule").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(store.get_request(&r.id).await.unwrap().id, r.id);

    let mut broken = file.clone();
    broken.offerings[0].team = TeamId::new("storage").unwrap();
    let err = store.load_specialist_catalog(&broken).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(store.list_offerings(None).await.unwrap().len(), 3);
}

#[tokio::test]
async fn bad_inputs_name_the_input_and_store_nothing() {
    let (_dir, store, _clock) = common::store();
    store
        .load_specialist_catalog(&CatalogFile::parse(CATALOG).unwrap())
        .await
        .unwrap();
    let err = store
        .submit(
            &common::key("bad"),
            &firewall(InputValue::Text("ssh".into())),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("\"port\""), "{err}");
    let mut missing = firewall(InputValue::Number(22.0));
    missing.inputs.remove("justification");
    let err = store
        .submit(&common::key("bad"), &missing)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("\"justification\""), "{err}");
    assert!(
        store
            .find_request_by_key(&common::key("bad"))
            .await
            .unwrap()
            .is_none()
    );
    let all = store
        .list_requests(&RequestFilter::default(), &ListRequest::first())
        .await
        .unwrap();
    assert!(all.items.is_empty());
}

#[tokio::test]
async fn transitions_carry_the_clock_time_and_requests_survive_reopening() {
    let (dir, store, clock) = common::store();
    store
        .load_specialist_catalog(&CatalogFile::parse(CATALOG).unwrap())
        .await
        .unwrap();
    let submitted_at = itsm_core::Clock::now(&clock);
    let r = store
        .submit(&common::key("fw"), &firewall(InputValue::Number(443.0)))
        .await
        .unwrap();
    assert_eq!(r.id.as_str(), "REQ0000001");
    assert_eq!(r.team.as_str(), "network");
    assert_eq!(r.submitted_at, Some(submitted_at));
    clock.advance(Duration::minutes(20));
    let by = Person::named("Nia (network)");
    store
        .transition(&r.id, RequestState::Triaged, by.clone(), None)
        .await
        .unwrap();
    clock.advance(Duration::hours(3));
    store
        .comment(
            &r.id,
            &common::key("c1"),
            &Comment {
                author: by.clone(),
                text: "rule applied in the app->data policy".into(),
                at: None,
            },
        )
        .await
        .unwrap();
    let done = store
        .transition(&r.id, RequestState::Fulfilled, by, Some("done".into()))
        .await
        .unwrap();
    let times: Vec<_> = done
        .transitions
        .iter()
        .map(|t| t.at - submitted_at)
        .collect();
    assert_eq!(
        times,
        [
            Duration::ZERO,
            Duration::minutes(20),
            Duration::minutes(200)
        ]
    );
    assert_eq!(
        done.comments[0].at,
        Some(submitted_at + Duration::minutes(200))
    );
    let empty = Comment {
        author: Person::named("x"),
        text: "  ".into(),
        at: None,
    };
    let err = store
        .comment(&r.id, &common::key("c2"), &empty)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    drop(store);
    let reopened = LocalStore::open(dir.path().join("itsm.db"), Arc::new(SystemClock)).unwrap();
    let again = reopened.get_request(&done.id).await.unwrap();
    assert_eq!(again, done);
    let queue = reopened
        .list_requests(
            &RequestFilter {
                team: Some(TeamId::new("network").unwrap()),
                states: vec![RequestState::Fulfilled],
                ..RequestFilter::default()
            },
            &ListRequest::first(),
        )
        .await
        .unwrap();
    assert_eq!(queue.items.len(), 1);
}
