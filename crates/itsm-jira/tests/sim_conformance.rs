//! The conformance suites against the Jira simulator.

mod common;

use itsm_change::ChangeSystem;
use itsm_incident::IncidentSystem;
use itsm_testkit::conformance;

#[tokio::test]
async fn incident_system_conformance() {
    let (_sim, _server, jira) = common::sim_adapter().await;
    let report = conformance::incident::run_all(&jira).await;
    assert!(report.skipped().is_empty(), "{report:?}");
    assert_eq!(report.passed().len(), 6, "{report:?}");
}

#[tokio::test]
async fn change_system_conformance() {
    let (_sim, _server, jira) = common::sim_adapter().await;
    let report = conformance::change::run_all(&jira).await;
    let caps = ChangeSystem::capabilities(&jira);
    for (check, missing) in report.skipped() {
        assert!(
            !caps.supports(missing),
            "{check} skipped though {missing} is claimed"
        );
    }
    assert!(report.passed().len() >= 9, "{report:?}");
    let _ = IncidentSystem::capabilities(&jira);
}

#[tokio::test]
async fn specialist_catalog_conformance() {
    use itsm_specialist::SpecialistCatalog;
    let (_sim, _server, jira) = common::sim_adapter().await;
    let report = conformance::specialist::run_all(&jira).await;
    let caps = SpecialistCatalog::capabilities(&jira);
    for (check, missing) in report.skipped() {
        assert!(
            !caps.supports(missing),
            "{check} skipped though {missing} is claimed"
        );
    }
    assert_eq!(report.passed().len(), 5, "{report:?}");
}
