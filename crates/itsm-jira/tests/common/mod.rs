//! Shared set-up of the adapter's tests: a configuration and a simulated site.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use itsm_core::{Environment, ServiceId, TeamId};
use itsm_http::RetryPolicy;
use itsm_jira::{
    ChangeConfig, IncidentConfig, Jira, JiraConfig, OfferingConfig, SpecialistConfig,
    TemplateConfig,
};
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::jira::{JiraSim, SimField, SimRequestType, Workflow};

/// The API token used everywhere (tests assert it never leaks).
pub(crate) const TOKEN: &str = "ATATT3xFfGF0-secret-api-token";

/// A quick retry policy for tests.
pub(crate) fn quick_retry() -> RetryPolicy {
    RetryPolicy::new(3, Duration::from_secs(5))
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

/// A configuration with all three record kinds, against `base`.
pub(crate) fn config(base: &str) -> JiraConfig {
    let mut c = JiraConfig::new(base.parse().unwrap());
    c.email = Some("itsm@example.com".into());
    c.api_token = Some(TOKEN.to_owned().into());
    c.incident = Some(IncidentConfig::for_project("OPS"));
    c.change = Some(ChangeConfig {
        service_desk_id: "1".into(),
        project: "CHG".into(),
        normal_request_type: "10".into(),
        emergency_request_type: Some("11".into()),
        templates: vec![TemplateConfig {
            id: "checkout-release".into(),
            request_type: "12".into(),
            service: ServiceId::new("checkout").unwrap(),
            environments: vec![Environment::production()],
            implementation_plan: "Blue/green deploy".into(),
            backout_plan: "Switch back".into(),
            test_plan: "Smoke tests".into(),
            owner: Some("Pat Product".into()),
            approved_by: Some("Casey Change".into()),
            fields: BTreeMap::from([(
                "customfield_10100".to_owned(),
                serde_json::json!({"value": "Low"}),
            )]),
        }],
        statuses: Default::default(),
        resolutions: Default::default(),
    });
    c.specialist = Some(SpecialistConfig {
        service_desk_id: "2".into(),
        project: "DBA".into(),
        offerings: vec![OfferingConfig {
            request_type: "20".into(),
            team: TeamId::new("dba").unwrap(),
            response_target_minutes: 60,
            resolution_target_minutes: 1440,
        }],
        statuses: Default::default(),
    });
    c
}

fn change_fields() -> Vec<SimField> {
    vec![
        SimField::text("summary", "Summary", true),
        SimField::text("description", "Description", false),
    ]
}

/// The simulated site: change desk 1 (CHG) and specialist desk 2 (DBA).
pub(crate) fn sim() -> JiraSim {
    let mut standard = change_fields();
    standard.push(SimField::option(
        "customfield_10100",
        "Risk",
        true,
        &["Low", "High"],
    ));
    JiraSim::new()
        .service_desk(
            "1",
            "CHG",
            vec![
                SimRequestType {
                    id: "10".into(),
                    name: "Normal change".into(),
                    description: "Needs CAB approval".into(),
                    workflow: Workflow::Change,
                    fields: change_fields(),
                },
                SimRequestType {
                    id: "11".into(),
                    name: "Emergency change".into(),
                    description: "Break glass".into(),
                    workflow: Workflow::Change,
                    fields: change_fields(),
                },
                SimRequestType {
                    id: "12".into(),
                    name: "Checkout release".into(),
                    description: "Routine release of checkout".into(),
                    workflow: Workflow::Change,
                    fields: standard,
                },
            ],
        )
        .service_desk(
            "2",
            "DBA",
            vec![SimRequestType {
                id: "20".into(),
                name: "New database".into(),
                description: "A new managed database".into(),
                workflow: Workflow::Request,
                fields: vec![
                    SimField::text("summary", "Summary", true),
                    SimField::text("customfield_10200", "Database name", true),
                    SimField::number("customfield_10201", "Size (GB)", false),
                    SimField::option("customfield_10202", "Engine", false, &["postgres", "mysql"]),
                ],
            }],
        )
}

/// A simulator served on loopback and an adapter pointed at it.
pub(crate) async fn sim_adapter() -> (JiraSim, SimServer, Jira) {
    let sim = sim();
    let server = SimServer::start(sim.router()).await.unwrap();
    let jira = Jira::with_retry_policy(config(&server.base_url()), quick_retry()).unwrap();
    (sim, server, jira)
}
