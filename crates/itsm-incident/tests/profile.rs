//! Alerting profiles (I9): TOML, validation, tuning, diff, plans.

mod common;

use common::alert;
use itsm_core::{ErrorKind, TeamId};
use itsm_incident::profile::{DiffLine, RouteRule};
use itsm_incident::{AlertingProfile, Priority, Severity};

#[test]
fn the_canonical_toml_round_trips() {
    let profile = AlertingProfile::default_profile()
        .tuned(|p| {
            p.routes.push(RouteRule {
                service: None,
                alertname: Some("DiskFull".into()),
                labels: [("component".to_owned(), "db".to_owned())].into(),
                team: TeamId::new("dba").unwrap(),
            });
            p.paging.always_page.push("CheckoutDown".into());
        })
        .unwrap();
    let text = profile.to_toml().unwrap();
    let back = AlertingProfile::from_toml(&text).unwrap();
    assert_eq!(back, profile);
    assert_eq!(back.to_toml().unwrap(), text, "rendering is canonical");
}

#[test]
fn an_unknown_key_is_rejected_and_named() {
    let text = AlertingProfile::default_profile()
        .to_toml()
        .unwrap()
        .replace("min_page_severity", "min_page_severty");
    let err = AlertingProfile::from_toml(&text).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("min_page_severty"), "{err}");
}

#[test]
fn a_wrong_value_names_the_field_and_what_is_allowed() {
    let text = AlertingProfile::default_profile()
        .to_toml()
        .unwrap()
        .replace("critical = \"P1\"", "critical = \"P9\"");
    let err = AlertingProfile::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("critical = \"P9\""), "shows the line: {err}");
    assert!(
        err.contains("P1") && err.contains("P5"),
        "lists what is allowed: {err}"
    );
}

#[test]
fn a_link_template_that_is_not_a_url_is_refused_naming_it() {
    let err = AlertingProfile::default_profile()
        .tuned(|p| p.links[0].url = "grafana/{service}".into())
        .unwrap_err();
    assert!(err.to_string().contains("\"Dashboard\""), "{err}");
}

#[test]
fn tuning_bumps_the_version_and_the_diff_shows_what_changed() {
    let v1 = AlertingProfile::default_profile();
    let v2 = v1
        .clone()
        .tuned(|p| p.priorities.warning = Priority::P4)
        .unwrap();
    assert_eq!(v2.version, 2);
    let diff = v1.diff(&v2);
    let changes: Vec<&DiffLine> = diff.changes().collect();
    assert_eq!(
        changes,
        [
            &DiffLine::Removed("version = 1".into()),
            &DiffLine::Added("version = 2".into()),
            &DiffLine::Removed("warning = \"P3\"".into()),
            &DiffLine::Added("warning = \"P4\"".into()),
        ]
    );
    let shown = diff.to_string();
    assert!(
        shown.starts_with("--- default v1\n+++ default v2\n"),
        "{shown}"
    );
    assert!(
        shown.contains("\n-warning = \"P3\"\n+warning = \"P4\"\n"),
        "{shown}"
    );
    assert!(v1.diff(&v1).is_empty());
}

#[test]
fn the_severity_map_overrides_the_lenient_reading() {
    let profile = AlertingProfile::default_profile();
    let mut a = alert("k", Severity::Info);
    a.raw_severity = Some("SEV1".into());
    let plan = profile.plan(&a);
    assert_eq!(plan.severity, Severity::Critical);
    assert_eq!(plan.priority, Priority::P1);
    assert!(plan.page && plan.ticket);
}

#[test]
fn never_page_and_always_page_override_thresholds() {
    let profile = AlertingProfile::default_profile()
        .tuned(|p| p.paging.always_page.push("HighLatency".into()))
        .unwrap();
    let plan = profile.plan(&alert("k", Severity::Info));
    assert!(plan.page && plan.ticket, "{}", plan.reason);

    let profile = AlertingProfile::default_profile()
        .tuned(|p| p.paging.never_page.push("HighLatency".into()))
        .unwrap();
    let plan = profile.plan(&alert("k", Severity::Critical));
    assert!(!plan.page && plan.ticket, "{}", plan.reason);
}

#[test]
fn the_first_matching_route_names_the_team() {
    let route = |alertname: Option<&str>, label: Option<(&str, &str)>, team: &str| RouteRule {
        service: None,
        alertname: alertname.map(str::to_owned),
        labels: label
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        team: TeamId::new(team).unwrap(),
    };
    let profile = AlertingProfile::default_profile()
        .tuned(|p| {
            p.routes = vec![
                route(Some("DiskFull"), None, "dba"),
                route(None, Some(("region", "eu west")), "eu-sre"),
                route(None, None, "catch-all"),
            ]
        })
        .unwrap();
    let plan = profile.plan(&alert("k", Severity::Critical));
    assert_eq!(plan.team.as_ref().map(TeamId::as_str), Some("eu-sre"));
}

#[test]
fn links_are_rendered_with_encoded_values_and_deduplicated() {
    let profile = AlertingProfile::default_profile()
        .tuned(|p| {
            p.links[0].url =
                "https://grafana.example.invalid/d/x?region={label.region}&t={tenant}".into();
        })
        .unwrap();
    let mut a = alert("k", Severity::Critical);
    let runbook = itsm_core::Link::parse(
        "Runbook (sender)",
        "https://runbooks.example.invalid/checkout/HighLatency",
    )
    .unwrap();
    a.links.push(runbook);
    let plan = profile.plan(&a);
    let urls: Vec<String> = plan.links.iter().map(|l| l.url.to_string()).collect();
    assert_eq!(
        urls,
        [
            "https://grafana.example.invalid/d/x?region=eu%20west&t=acme",
            "https://runbooks.example.invalid/checkout/HighLatency",
        ]
    );
    assert_eq!(plan.links[1].label, "Runbook", "the profile's link is kept");

    // An alert without the label gets no dashboard link rather than a broken one.
    a.labels.remove("region");
    assert_eq!(profile.plan(&a).links.len(), 1);
}
