//! "Processed but response lost": the simulator creates the issue and answers 504; the
//! retry finds the issue by our key instead of creating a second one.

mod common;

use itsm_change::{ChangeKind, ChangeSystem, NewChange};
use itsm_core::{Environment, ErrorKind, IdempotencyKey, ServiceId, Version};
use itsm_incident::{Assignment, IncidentSystem, NewIncident, Priority, ServiceKind};

fn incident() -> NewIncident {
    NewIncident {
        summary: "Checkout down".into(),
        description: String::new(),
        priority: Priority::P1,
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

fn change(kind: ChangeKind) -> NewChange {
    NewChange {
        kind,
        template: None,
        service: ServiceId::new("checkout").unwrap(),
        version: Version::new("1.4.2").unwrap(),
        environment: Environment::production(),
        summary: "Deploy checkout 1.4.2".into(),
        description: String::new(),
        window: None,
        commits: vec![],
        pipeline_run: None,
        requested_by: None,
        assignment_team: None,
        reasons: vec![],
        retroactive: false,
        links: vec![],
    }
}

#[tokio::test]
async fn a_lost_incident_create_answer_never_gives_a_second_issue() {
    let (sim, _server, jira) = common::sim_adapter().await;
    let key = IdempotencyKey::new("alert/checkout down/fingerprint 1").unwrap();
    sim.lose_create_answers(1);
    let err = jira.create_incident(&key, &incident()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        !err.is_retryable(),
        "a create that may have acted must not be retried blindly"
    );
    assert_eq!(sim.issues().len(), 1, "the simulator did create the issue");
    let retried = jira.create_incident(&key, &incident()).await.unwrap();
    assert_eq!(retried.id.as_str(), sim.issues()[0].key());
    assert_eq!(sim.issues().len(), 1, "the retry found the issue by key");
    assert_eq!(retried.key, Some(key));
}

#[tokio::test]
async fn a_lost_change_create_answer_never_gives_a_second_request() {
    let (sim, _server, jira) = common::sim_adapter().await;
    let key = IdempotencyKey::new("deploy/checkout/1.4.2/production/run-991").unwrap();
    sim.lose_create_answers(1);
    jira.create_change(&key, &change(ChangeKind::Normal))
        .await
        .unwrap_err();
    assert_eq!(sim.issues().len(), 1);
    let retried = jira
        .create_change(&key, &change(ChangeKind::Normal))
        .await
        .unwrap();
    assert_eq!(sim.issues().len(), 1);
    assert_eq!(retried.id.as_str(), sim.issues()[0].key());
    let again = jira
        .create_change(&key, &change(ChangeKind::Normal))
        .await
        .unwrap();
    assert_eq!(again.id, retried.id);
    assert_eq!(sim.issues().len(), 1);
}

#[tokio::test]
async fn property_carried_keys_are_idempotent_too() {
    let sim = common::sim();
    let server = itsm_testkit::sim::SimServer::start(sim.router())
        .await
        .unwrap();
    let mut config = common::config(&server.base_url());
    config.key_carrier = itsm_jira::KeyCarrier::Property;
    let jira = itsm_jira::Jira::with_retry_policy(config, common::quick_retry()).unwrap();
    let key = IdempotencyKey::new("alert/checkout/1").unwrap();
    sim.lose_create_answers(1);
    jira.create_incident(&key, &incident()).await.unwrap_err();
    let retried = jira.create_incident(&key, &incident()).await.unwrap();
    assert_eq!(sim.issues().len(), 1);
    let issue = sim.issue(retried.id.as_str()).unwrap();
    assert!(
        !issue.labels().iter().any(|l| l.starts_with("itsm-key:")),
        "{:?}",
        issue.labels()
    );
    let found = jira.find_incident_by_key(&key).await.unwrap().unwrap();
    assert_eq!(found.id, retried.id);
    assert_eq!(found.key, Some(key));
}

#[tokio::test]
async fn a_standard_change_uses_the_templates_request_type_and_fields() {
    let (sim, _server, jira) = common::sim_adapter().await;
    let templates = jira
        .list_templates(&Default::default(), &itsm_core::ListRequest::first())
        .await
        .unwrap();
    assert_eq!(templates.items.len(), 1);
    let template = &templates.items[0];
    assert_eq!(template.name, "Checkout release");
    assert_eq!(template.description, "Routine release of checkout");
    assert_eq!(jira.get_template(&template.id).await.unwrap(), *template);
    let mut new = change(ChangeKind::Standard);
    new.template = Some(template.id.clone());
    let created = jira
        .create_change(&IdempotencyKey::new("std/1").unwrap(), &new)
        .await
        .unwrap();
    assert_eq!(created.kind, ChangeKind::Standard);
    assert_eq!(created.approval, itsm_change::ApprovalState::Approved);
    assert_eq!(created.template.as_ref(), Some(&template.id));
    let issue = sim.issue(created.id.as_str()).unwrap();
    assert_eq!(issue.key(), "CHG-1");
    let closed = jira
        .close(
            &created.id,
            &itsm_change::Closure {
                code: itsm_change::CloseCode::SuccessfulWithIssues,
                notes: "deployed, one pod restarted".into(),
                closed_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(closed.state, itsm_change::ChangeState::Closed);
    assert_eq!(
        closed.closure.map(|c| c.code),
        Some(itsm_change::CloseCode::SuccessfulWithIssues)
    );
    let mut wrong_env = new.clone();
    wrong_env.environment = Environment::new("staging").unwrap();
    let err = jira
        .create_change(&IdempotencyKey::new("std/2").unwrap(), &wrong_env)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_fresh_create_returns_its_key_even_when_the_label_is_hashed() {
    let (sim, _server, jira) = common::sim_adapter().await;
    // The space makes the key unsafe as a label, so the label carries its digest.
    let key = IdempotencyKey::new("alert/checkout down/fingerprint 2").unwrap();
    let created = jira.create_incident(&key, &incident()).await.unwrap();
    assert_eq!(created.key.as_ref(), Some(&key));
    let labels = sim.issue(created.id.as_str()).unwrap().labels().to_vec();
    assert!(
        labels.iter().any(|l| l.contains("sha256-")),
        "the key label is hashed: {labels:?}"
    );
    let found = jira.create_incident(&key, &incident()).await.unwrap();
    assert_eq!(found, created, "the retry answers what the first call did");
}
