//! Declaring a major incident (I5).

mod common;

use common::{FakePager, World, alert, default_teams};
use itsm_core::{Capabilities, NotificationTopic, Person, Recipient, TeamId};
use itsm_incident::workflow::{Step, StepStatus};
use itsm_incident::{AlertingProfile, Severity, capability};

async fn world_with_incident(pager: FakePager) -> (World, itsm_incident::IncidentId) {
    let w = World::with(pager, default_teams());
    w.pager.on_call.lock().unwrap().insert(
        TeamId::new("checkout-team").unwrap(),
        vec![Person::named("Olga On-Call")],
    );
    w.workflow
        .handle_alert(
            &alert("am/major", Severity::Critical),
            &AlertingProfile::default_profile(),
        )
        .await
        .unwrap();
    let id = w.ticketing.only().id;
    (w, id)
}

#[tokio::test]
async fn a_major_incident_engages_on_call_teams_and_lists_the_others_with_their_contact() {
    let (w, id) = world_with_incident(FakePager::default()).await;
    let out = w
        .workflow
        .declare_major(
            &id,
            Person::named("Duty Lead"),
            "checkout is down for everyone",
        )
        .await
        .unwrap();

    assert!(w.ticketing.only().major);
    assert!(!out.already_declared);
    assert!(out.manager_notified && out.manager_paged);

    // Product teams with an out-of-hours rotation are engaged; operations teams are not.
    let engaged: Vec<&str> = out.engaged.iter().map(|t| t.team.as_str()).collect();
    assert_eq!(engaged, ["checkout-team"]);
    assert_eq!(out.engaged[0].on_call, vec![Person::named("Olga On-Call")]);
    assert!(out.engaged[0].paged && out.engaged[0].notified);

    // Product teams without one are listed with their runbook contact ...
    let uncovered: Vec<(&str, Option<&str>)> = out
        .uncovered
        .iter()
        .map(|t| (t.team.as_str(), t.runbook_contact.as_deref()))
        .collect();
    assert_eq!(
        uncovered,
        [
            ("reports-team", None),
            ("search-team", Some("+44 20 7946 0001 (Sam)"))
        ]
    );
    // ... and in a note on the incident.
    let notes = w.ticketing.notes();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]
            .2
            .text
            .contains("search-team): +44 20 7946 0001 (Sam)"),
        "{}",
        notes[0].2.text
    );
    assert!(
        notes[0]
            .2
            .text
            .contains("reports-team): no runbook contact recorded")
    );

    // The incident manager is notified and requested as responder; the team is paged.
    let sent = w.notifier.sent();
    let manager: Vec<_> = sent
        .iter()
        .filter(|n| {
            n.recipients
                == [Recipient::Person(
                    Person::named("Ines Manager").with_email("im@example.invalid"),
                )]
        })
        .collect();
    assert_eq!(manager.len(), 1);
    assert_eq!(manager[0].topic, NotificationTopic::MajorIncident);
    assert!(
        manager[0].body.contains("search-team"),
        "the manager sees whom to phone"
    );
    assert!(
        sent.iter()
            .any(|n| n.recipients == [Recipient::Team(TeamId::new("checkout-team").unwrap())])
    );
    let responders = w.pager.responders();
    assert_eq!(responders.len(), 2);
    assert!(
        responders
            .iter()
            .any(|(_, _, r)| r.teams == [TeamId::new("checkout-team").unwrap()])
    );
}

#[tokio::test]
async fn re_running_a_declaration_notifies_nobody_twice() {
    let (w, id) = world_with_incident(FakePager::default()).await;
    w.workflow
        .declare_major(&id, Person::named("Lead"), "down")
        .await
        .unwrap();
    let again = w
        .workflow
        .declare_major(&id, Person::named("Lead"), "down")
        .await
        .unwrap();

    assert!(again.already_declared);
    assert_eq!(again.uncovered.len(), 2, "still tells whom to phone");
    assert_eq!(
        w.notifier.sent().len(),
        2,
        "manager and checkout-team, once each"
    );
    assert_eq!(w.pager.calls.count("request_responders"), 2);
    assert_eq!(w.ticketing.calls.count("add_note"), 1);
}

#[tokio::test]
async fn a_failed_step_leaves_the_flag_unset_and_the_retry_completes_it() {
    let (w, id) = world_with_incident(FakePager::default()).await;
    w.pager.calls.fail_next("request_responders");
    let err = w
        .workflow
        .declare_major(&id, Person::named("Lead"), "down")
        .await
        .unwrap_err();
    assert_eq!(
        err.context_value("failed_step"),
        Some("page_incident_manager")
    );
    assert!(
        !w.ticketing.only().major,
        "not marked done while a step failed"
    );

    let out = w
        .workflow
        .declare_major(&id, Person::named("Lead"), "down")
        .await
        .unwrap();
    assert!(out.manager_paged);
    assert!(w.ticketing.only().major);
    assert_eq!(
        w.pager.responders().len(),
        2,
        "each responder request recorded once"
    );
}

#[tokio::test]
async fn responder_requests_the_platform_cannot_make_are_skipped_and_reported() {
    let caps = Capabilities::new("events-only").with(capability::PAGE_READ);
    let (w, id) = world_with_incident(FakePager::with_caps(caps)).await;
    let out = w
        .workflow
        .declare_major(&id, Person::named("Lead"), "down")
        .await
        .unwrap();

    assert!(out.manager_notified && !out.manager_paged);
    assert!(!out.engaged[0].paged && out.engaged[0].notified);
    assert_eq!(w.pager.calls.count("request_responders"), 0);
    let skipped = out
        .steps
        .iter()
        .find(|s| s.step == Step::PageIncidentManager)
        .unwrap();
    assert!(matches!(&skipped.status, StepStatus::Skipped(r) if r.contains("pager.responders")));
    assert!(w.ticketing.only().major);
}
