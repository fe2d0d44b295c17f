//! Input the adapter cannot send fails the call with an error, without a panic and without
//! reaching another endpoint.

mod common;

use itsm_change::{ChangeId, ChangeKind, ChangeSystem, NewChange, Window};
use itsm_core::{Environment, ErrorKind, IdempotencyKey, ServiceId, Version};
use itsm_incident::{IncidentId, IncidentSystem};
use time::macros::datetime;

#[tokio::test]
async fn ids_that_could_leave_the_record_path_are_not_found_without_a_request() {
    let (server, tickety) = common::tickety().await;
    let before = server.requests_seen();
    for id in ["TCK-1/../../changes", "TCK-1?status=open", "x y"] {
        let err = tickety
            .get_incident(&IncidentId::new(id).unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{id}: {err}");
        let err = tickety
            .get_change(&ChangeId::new(id).unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{id}: {err}");
    }
    assert_eq!(server.requests_seen(), before);
}

#[tokio::test]
async fn a_window_rfc_3339_cannot_write_is_invalid_input_not_a_panic() {
    let (_server, tickety) = common::tickety().await;
    let new = NewChange {
        kind: ChangeKind::Normal,
        template: None,
        service: ServiceId::new("checkout").unwrap(),
        version: Version::new("1.0.0").unwrap(),
        environment: Environment::production(),
        summary: "Deploy checkout 1.0.0".into(),
        description: String::new(),
        window: Some(Window {
            start: datetime!(-0001-01-01 00:00 UTC),
            end: datetime!(2026-01-01 00:00 UTC),
        }),
        commits: vec![],
        pipeline_run: None,
        requested_by: None,
        assignment_team: None,
        reasons: vec![],
        retroactive: false,
        links: vec![],
    };
    let err = tickety
        .create_change(&IdempotencyKey::new("bad-input/window").unwrap(), &new)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("cannot be serialised"), "{err}");
}
