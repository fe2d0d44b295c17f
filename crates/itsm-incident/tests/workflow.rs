//! The incident workflow against stateful fakes of both ports.

mod common;

use common::{T0, World, alert, resolved};
use itsm_core::{ErrorKind, IdempotencyKey, Person, ServiceId, TeamId};
use itsm_incident::workflow::{Step, StepStatus};
use itsm_incident::{
    AlertOutcome, AlertingProfile, Assignment, IncidentState, Note, PageStatus, Priority,
    Resolution, ServiceKind, Severity,
};
use time::Duration;

fn profile() -> AlertingProfile {
    AlertingProfile::default_profile()
}

fn opened(outcome: AlertOutcome) -> Box<itsm_incident::workflow::AlertReport> {
    match outcome {
        AlertOutcome::Opened(report) => report,
        other => panic!("expected Opened, got {other:?}"),
    }
}

#[tokio::test]
async fn a_firing_alert_opens_one_incident_and_one_page_linked_both_ways() {
    let w = World::new();
    let report = opened(
        w.workflow
            .handle_alert(&alert("am/1", Severity::Critical), &profile())
            .await
            .unwrap(),
    );

    let incident = w.ticketing.only();
    let page = w.pager.only();
    assert_eq!(
        incident.key.as_ref().map(IdempotencyKey::as_str),
        Some("am/1")
    );
    assert_eq!(page.page.key.as_str(), "am/1");
    assert_eq!(incident.priority, Priority::P1);
    assert_eq!(incident.assignment.kind, ServiceKind::DigitalService);
    assert_eq!(
        incident.assignment.team.as_ref().map(TeamId::as_str),
        Some("checkout-team"),
        "owner from the directory"
    );
    assert_eq!(
        page.sent.routing, None,
        "no profile route: the pager routes by service"
    );
    // incident -> page
    assert_eq!(incident.links_to.len(), 1);
    assert_eq!(incident.links_to[0].system, "pd");
    assert_eq!(incident.links_to[0].id, "PG1");
    // page -> incident
    assert_eq!(
        page.sent.details.get("incident").map(String::as_str),
        Some("INC0000001")
    );
    assert_eq!(
        page.sent.details.get("incident_url").map(String::as_str),
        Some("https://ticketing.example.invalid/inc-1")
    );
    assert_eq!(report.incident.as_ref().map(|i| i.links_to.len()), Some(1));
    assert!(
        report.steps.iter().all(|s| s.status == StepStatus::Done),
        "{:?}",
        report.steps
    );
}

#[tokio::test]
async fn the_same_alert_twice_makes_one_of_each() {
    let w = World::new();
    let a = alert("am/2", Severity::Error);
    w.workflow.handle_alert(&a, &profile()).await.unwrap();
    let second = opened(w.workflow.handle_alert(&a, &profile()).await.unwrap());

    assert_eq!(w.ticketing.all().len(), 1);
    assert_eq!(w.pager.all().len(), 1);
    assert_eq!(w.ticketing.calls.count("create_incident"), 1);
    assert_eq!(w.pager.calls.count("trigger"), 1);
    assert_eq!(w.ticketing.calls.count("link"), 1);
    let create = second
        .steps
        .iter()
        .find(|s| s.step == Step::CreateIncident)
        .unwrap();
    assert_eq!(create.status, StepStatus::AlreadyDone);
}

#[tokio::test]
async fn a_paging_failure_after_the_incident_was_created_is_completed_by_a_rerun() {
    let w = World::new();
    let a = alert("am/3", Severity::Critical);
    w.pager.calls.fail_next("trigger");
    let err = w.workflow.handle_alert(&a, &profile()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable());
    assert_eq!(err.context_value("failed_step"), Some("trigger_page"));
    assert!(err.to_string().contains("done: create_incident"), "{err}");
    assert_eq!(
        w.ticketing.all().len(),
        1,
        "the incident side still happened"
    );
    assert!(w.pager.all().is_empty());

    w.workflow.handle_alert(&a, &profile()).await.unwrap();
    assert_eq!(w.ticketing.all().len(), 1);
    assert_eq!(w.pager.all().len(), 1);
    assert_eq!(w.ticketing.calls.count("create_incident"), 1);
    assert_eq!(w.ticketing.only().links_to.len(), 1, "linked on the re-run");
}

#[tokio::test]
async fn a_ticketing_failure_still_pages_and_the_rerun_links_and_notes_both_ways() {
    let w = World::new();
    let a = alert("am/4", Severity::Critical);
    w.ticketing.calls.fail_next("find_incident_by_key");
    let err = w.workflow.handle_alert(&a, &profile()).await.unwrap_err();
    assert_eq!(err.context_value("failed_step"), Some("create_incident"));
    assert!(err.to_string().contains("done: trigger_page"), "{err}");
    assert_eq!(w.pager.all().len(), 1, "paging is not held up by ticketing");
    assert!(w.ticketing.all().is_empty());

    w.workflow.handle_alert(&a, &profile()).await.unwrap();
    assert_eq!(w.pager.calls.count("trigger"), 1);
    assert_eq!(w.ticketing.only().links_to[0].id, "PG1");
    // The page predates the incident, so a note on it names the incident.
    let notes = w.pager.notes();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].2.text.contains("INC0000001"), "{:?}", notes[0].2);
}

#[tokio::test]
async fn a_link_failure_is_retried_without_duplicates() {
    let w = World::new();
    let a = alert("am/5", Severity::Critical);
    w.ticketing.calls.fail_next("link");
    let err = w.workflow.handle_alert(&a, &profile()).await.unwrap_err();
    assert_eq!(err.context_value("failed_step"), Some("link_page"));
    assert!(w.ticketing.only().links_to.is_empty());

    w.workflow.handle_alert(&a, &profile()).await.unwrap();
    assert_eq!(w.ticketing.only().links_to.len(), 1);
    assert_eq!(w.pager.calls.count("trigger"), 1);
    assert_eq!(w.ticketing.calls.count("create_incident"), 1);
}

#[tokio::test]
async fn a_write_that_may_have_acted_leaves_the_alert_retryable() {
    let w = World::new();
    let a = alert("am/ambiguous", Severity::Critical);
    w.ticketing.calls.fail_next_ambiguous("create_incident");
    let err = w.workflow.handle_alert(&a, &profile()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(
        err.is_retryable(),
        "the keyed workflow is safe to call again: {err}"
    );
    w.workflow.handle_alert(&a, &profile()).await.unwrap();

    let cleared = resolved(a.clone(), T0 + Duration::minutes(3));
    w.pager.calls.fail_next_ambiguous("resolve");
    let err = w
        .workflow
        .handle_alert(&cleared, &profile())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    w.workflow.handle_alert(&cleared, &profile()).await.unwrap();
    assert_eq!(w.ticketing.all().len(), 1);
    assert_eq!(w.pager.all().len(), 1);
    assert!(w.ticketing.only().state.is_resolved());
    assert_eq!(w.pager.only().page.status, PageStatus::Resolved);
}

#[tokio::test]
async fn a_resolved_alert_resolves_both_sides() {
    let w = World::new();
    let a = alert("am/6", Severity::Critical);
    w.workflow.handle_alert(&a, &profile()).await.unwrap();
    let outcome = w
        .workflow
        .handle_alert(&resolved(a.clone(), T0 + Duration::minutes(7)), &profile())
        .await
        .unwrap();
    let AlertOutcome::Resolved(report) = outcome else {
        panic!("expected Resolved, got {outcome:?}");
    };
    assert_eq!(w.ticketing.only().state, IncidentState::Resolved);
    assert_eq!(w.pager.only().page.status, PageStatus::Resolved);
    assert_eq!(report.page.map(|p| p.status), Some(PageStatus::Resolved));

    // Resolving again changes nothing and calls no resolve.
    w.workflow
        .handle_alert(&resolved(a, T0 + Duration::minutes(7)), &profile())
        .await
        .unwrap();
    assert_eq!(w.ticketing.calls.count("resolve"), 1);
    assert_eq!(w.pager.calls.count("resolve"), 1);
}

#[tokio::test]
async fn a_resolved_alert_without_an_incident_has_nothing_to_resolve() {
    let w = World::new();
    let outcome = w
        .workflow
        .handle_alert(&resolved(alert("am/7", Severity::Critical), T0), &profile())
        .await
        .unwrap();
    assert_eq!(outcome, AlertOutcome::NothingToResolve);
    assert_eq!(w.ticketing.calls.count("resolve"), 0);
}

#[tokio::test]
async fn a_firing_alert_for_a_resolved_incident_is_left_alone() {
    let w = World::new();
    let a = alert("am/8", Severity::Critical);
    w.workflow.handle_alert(&a, &profile()).await.unwrap();
    w.workflow
        .handle_alert(&resolved(a.clone(), T0), &profile())
        .await
        .unwrap();
    let outcome = w.workflow.handle_alert(&a, &profile()).await.unwrap();
    assert!(
        matches!(outcome, AlertOutcome::AlreadyResolved { .. }),
        "{outcome:?}"
    );
    assert_eq!(w.ticketing.only().state, IncidentState::Resolved);
    assert_eq!(w.pager.only().page.status, PageStatus::Resolved);
    assert_eq!(w.pager.calls.count("trigger"), 1);
}

#[tokio::test]
async fn below_the_page_threshold_only_a_ticket_is_opened() {
    let w = World::new();
    let outcome = w
        .workflow
        .handle_alert(&alert("am/9", Severity::Warning), &profile())
        .await
        .unwrap();
    let report = opened(outcome);
    assert_eq!(w.ticketing.all().len(), 1);
    assert!(w.pager.all().is_empty());
    assert_eq!(w.pager.calls.count("trigger"), 0);
    let page_step = report
        .steps
        .iter()
        .find(|s| s.step == Step::TriggerPage)
        .unwrap();
    assert!(
        matches!(&page_step.status, StepStatus::Skipped(r) if r.contains("below the page threshold"))
    );
}

#[tokio::test]
async fn below_the_ticket_threshold_the_alert_is_dropped() {
    let w = World::new();
    let outcome = w
        .workflow
        .handle_alert(&alert("am/10", Severity::Info), &profile())
        .await
        .unwrap();
    let AlertOutcome::Dropped { plan } = outcome else {
        panic!("expected Dropped, got {outcome:?}");
    };
    assert!(plan.reason.starts_with("dropped"), "{}", plan.reason);
    assert!(w.ticketing.all().is_empty() && w.pager.all().is_empty());
}

#[tokio::test]
async fn profile_links_are_on_both_the_incident_and_the_page() {
    let w = World::new();
    let mut a = alert("am/11", Severity::Critical);
    a.links.push(
        itsm_core::Link::parse("Source", "https://prometheus.example.invalid/graph").unwrap(),
    );
    w.workflow.handle_alert(&a, &profile()).await.unwrap();
    let runbook = "https://runbooks.example.invalid/checkout/HighLatency";
    let on_incident: Vec<String> = w
        .ticketing
        .only()
        .links
        .iter()
        .map(|l| l.url.to_string())
        .collect();
    let on_page: Vec<String> = w
        .pager
        .only()
        .sent
        .links
        .iter()
        .map(|l| l.url.to_string())
        .collect();
    assert!(on_incident.contains(&runbook.to_owned()), "{on_incident:?}");
    assert_eq!(on_incident, on_page);
    assert_eq!(
        on_page.len(),
        3,
        "dashboard, runbook and the alert's own link: {on_page:?}"
    );
}

#[tokio::test]
async fn acknowledge_reassign_note_and_resolve_reach_both_sides() {
    let w = World::new();
    w.workflow
        .handle_alert(&alert("am/12", Severity::Critical), &profile())
        .await
        .unwrap();
    let id = w.ticketing.only().id;

    w.workflow
        .acknowledge(&id, Some(Person::named("Dev")))
        .await
        .unwrap();
    assert_eq!(w.ticketing.only().state, IncidentState::Acknowledged);
    assert_eq!(w.pager.only().page.status, PageStatus::Acknowledged);

    let to = Assignment {
        service: ServiceId::new("sap-erp").unwrap(),
        kind: ServiceKind::Cots,
        team: Some(TeamId::new("ops").unwrap()),
    };
    w.workflow.reassign(&id, &to).await.unwrap();
    assert_eq!(w.ticketing.only().assignment, to);
    assert_eq!(
        w.pager.only().page.assignees,
        vec![Person::named("team:ops")]
    );

    let key = IdempotencyKey::new("note-1").unwrap();
    let note = Note {
        text: "rolled back 1.4.2".into(),
        author: None,
    };
    w.workflow.add_note(&id, &key, &note).await.unwrap();
    w.workflow.add_note(&id, &key, &note).await.unwrap();
    assert_eq!(w.ticketing.notes().len(), 1);
    assert_eq!(w.pager.notes().len(), 1);

    let resolution = Resolution {
        code: "Fixed".into(),
        notes: "rollback".into(),
        by: None,
    };
    w.workflow.resolve(&id, &resolution).await.unwrap();
    assert_eq!(w.ticketing.only().state, IncidentState::Resolved);
    assert_eq!(w.pager.only().page.status, PageStatus::Resolved);
}

#[tokio::test]
async fn a_page_reassignment_the_platform_cannot_do_is_skipped_not_an_error() {
    let pager = common::FakePager::with_caps(itsm_core::Capabilities::new("events-only"));
    let w = World::with(pager, common::default_teams());
    w.workflow
        .handle_alert(&alert("am/13", Severity::Critical), &profile())
        .await
        .unwrap();
    let id = w.ticketing.only().id;
    let to = Assignment {
        service: ServiceId::new("network").unwrap(),
        kind: ServiceKind::Foundational,
        team: Some(TeamId::new("ops").unwrap()),
    };
    let report = w.workflow.reassign(&id, &to).await.unwrap();
    assert_eq!(w.pager.calls.count("reassign"), 0);
    let step = report
        .steps
        .iter()
        .find(|s| s.step == Step::ReassignPage)
        .unwrap();
    assert!(
        matches!(&step.status, StepStatus::Skipped(r) if r.contains("pager.reassign")),
        "{step:?}"
    );
    assert_eq!(
        w.ticketing.only().assignment.kind,
        ServiceKind::Foundational
    );
}

#[tokio::test]
async fn a_profile_route_sends_the_ticket_and_the_page_to_that_team() {
    let w = World::new();
    let routed = profile()
        .tuned(|p| {
            p.routes.push(itsm_incident::profile::RouteRule {
                service: Some(ServiceId::new("checkout").unwrap()),
                alertname: None,
                labels: Default::default(),
                team: TeamId::new("payments-sre").unwrap(),
            })
        })
        .unwrap();
    w.workflow
        .handle_alert(&alert("am/route", Severity::Critical), &routed)
        .await
        .unwrap();
    assert_eq!(
        w.ticketing
            .only()
            .assignment
            .team
            .as_ref()
            .map(TeamId::as_str),
        Some("payments-sre")
    );
    assert_eq!(w.pager.only().sent.routing.as_deref(), Some("payments-sre"));
}
