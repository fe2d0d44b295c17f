//! The links a create returns without reading them back are the ones a read finds.

mod common;

use itsm_core::{ExternalRef, IdempotencyKey, ServiceId};
use itsm_incident::{Assignment, IncidentSystem, NewIncident, Priority, ServiceKind};

#[tokio::test]
async fn a_created_incident_links_to_what_a_read_finds() {
    let (sim, _server, jira) = common::sim_adapter().await;
    let page = ExternalRef::new("pagerduty", "PT4KHLK").with_url(
        "https://acme.pagerduty.com/incidents/PT4KHLK"
            .parse()
            .unwrap(),
    );
    let new = NewIncident {
        summary: "Checkout down".into(),
        description: "p99 above 2 s".into(),
        priority: Priority::P2,
        assignment: Assignment {
            service: ServiceId::new("checkout").unwrap(),
            kind: ServiceKind::DigitalService,
            team: None,
        },
        tenant: None,
        // The same record twice: Jira keeps one remote link per globalId.
        links_to: vec![
            page.clone(),
            ExternalRef::new("servicenow", "INC0010001"),
            page,
        ],
        links: vec![],
    };
    let key = IdempotencyKey::new("alert/checkout-down").unwrap();
    let created = jira.create_incident(&key, &new).await.unwrap();
    assert_eq!(created.links_to.len(), 2, "{:?}", created.links_to);
    let read = jira.get_incident(&created.id).await.unwrap();
    assert_eq!(created.links_to, read.links_to);
    assert_eq!(created, read);
    assert_eq!(sim.issues().len(), 1);
}
