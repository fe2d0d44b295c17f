//! `triage::open_incident` is written against the `IncidentSystem` port, so its unit tests
//! use `itsm_testkit::MockIncidentSystem` (mockall) instead of a server; one test runs it
//! against the real adapter as well.

mod common;

use custom_adapter::triage::{Alert, open_incident};
use itsm_core::{Capabilities, IdempotencyKey, ServiceId};
use itsm_incident::{
    Assignment, Incident, IncidentId, IncidentState, IncidentSystem, NewIncident, Priority,
    ServiceKind, capability,
};
use itsm_testkit::MockIncidentSystem;

fn alert(priority: Priority) -> Alert {
    Alert {
        dedup_key: "checkout-5xx".into(),
        summary: "Checkout answers 5xx".into(),
        service: ServiceId::new("checkout").unwrap(),
        priority,
    }
}

/// The incident `open_incident` asks for.
fn sample(priority: Priority) -> NewIncident {
    NewIncident {
        summary: "Checkout answers 5xx".into(),
        description: String::new(),
        priority,
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

/// What a backend would answer to `create_incident`.
fn opened(new: &NewIncident) -> Incident {
    Incident {
        id: IncidentId::new("INC-1").unwrap(),
        number: None,
        key: None,
        summary: new.summary.clone(),
        description: new.description.clone(),
        state: IncidentState::New,
        priority: new.priority,
        major: false,
        assignment: new.assignment.clone(),
        tenant: None,
        acknowledged_by: None,
        links_to: vec![],
        links: vec![],
        external: None,
        opened_at: None,
        resolved_at: None,
    }
}

/// A mock that expects one create under the alert's key.
fn mock_with(capabilities: Capabilities) -> MockIncidentSystem {
    let mut mock = MockIncidentSystem::new();
    mock.expect_capabilities()
        .returning(move || capabilities.clone());
    mock.expect_create_incident()
        .withf(|key: &IdempotencyKey, new: &NewIncident| {
            key.as_str() == "alert/checkout-5xx" && new.assignment.service.as_str() == "checkout"
        })
        .times(1)
        .returning(|_, new| Ok(opened(new)));
    mock
}

#[tokio::test]
async fn a_p1_is_flagged_major_where_the_system_supports_it() {
    let mut mock = mock_with(Capabilities::new("mock").with(capability::INCIDENT_MAJOR));
    mock.expect_set_major()
        .withf(|id: &IncidentId, major: &bool| id.as_str() == "INC-1" && *major)
        .times(1)
        .returning(|_, _| {
            let mut incident = opened(&sample(Priority::P1));
            incident.major = true;
            Ok(incident)
        });
    let incident = open_incident(&mock, &alert(Priority::P1)).await.unwrap();
    assert!(incident.major);
}

#[tokio::test]
async fn a_p1_is_not_flagged_where_the_system_cannot() {
    let mut mock = mock_with(Capabilities::new("mock"));
    mock.expect_set_major().times(0);
    let incident = open_incident(&mock, &alert(Priority::P1)).await.unwrap();
    assert!(!incident.major);
}

#[tokio::test]
async fn a_p3_is_never_flagged() {
    let mut mock = mock_with(Capabilities::new("mock").with(capability::INCIDENT_MAJOR));
    mock.expect_set_major().times(0);
    let incident = open_incident(&mock, &alert(Priority::P3)).await.unwrap();
    assert!(!incident.major && incident.priority == Priority::P3);
}

#[tokio::test]
async fn against_tickety_a_repeated_alert_finds_the_major_incident() {
    let (_server, tickety) = common::tickety().await;
    let first = open_incident(&tickety, &alert(Priority::P1)).await.unwrap();
    let again = open_incident(&tickety, &alert(Priority::P1)).await.unwrap();
    assert!(first.major && again.major);
    assert_eq!(first.id, again.id);
    assert_eq!(
        IncidentSystem::capabilities(&tickety).backend(),
        "tickety",
        "the adapter names itself in capabilities"
    );
}
