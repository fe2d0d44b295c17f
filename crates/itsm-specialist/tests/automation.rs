//! Automation (S3) against mocked ports: success fulfils by automation, failure records the
//! failure and leaves the request in the team's queue, manual offerings are left alone.
#![cfg(feature = "mock")]

use std::collections::BTreeMap;
use std::sync::Arc;

use itsm_core::{Error, IdempotencyKey, TeamId};
use itsm_specialist::{
    AUTOMATION, Automation, AutomationOutcome, Fulfilment, MockFulfiller, MockSpecialistCatalog,
    NewRequest, Offering, OfferingId, RequestId, RequestState, SpecialistRequest, Transition,
    Urgency,
};
use time::macros::datetime;

fn offering(automated: bool) -> Offering {
    Offering {
        id: OfferingId::new("dba.new-database").unwrap(),
        team: TeamId::new("dba").unwrap(),
        name: "New database".into(),
        description: String::new(),
        inputs: vec![],
        response_target_minutes: 60,
        resolution_target_minutes: 480,
        automated,
    }
}

fn submitted() -> SpecialistRequest {
    let at = datetime!(2026-05-01 10:00 UTC);
    SpecialistRequest {
        id: RequestId::new("REQ0000001").unwrap(),
        number: None,
        key: None,
        offering: OfferingId::new("dba.new-database").unwrap(),
        team: TeamId::new("dba").unwrap(),
        requester: TeamId::new("checkout").unwrap(),
        submitted_by: None,
        inputs: BTreeMap::new(),
        urgency: Urgency::Low,
        state: RequestState::Submitted,
        transitions: vec![Transition {
            to: RequestState::Submitted,
            at,
            by: None,
            note: None,
        }],
        comments: vec![],
        external: None,
        submitted_at: Some(at),
    }
}

fn new_request() -> NewRequest {
    NewRequest {
        offering: OfferingId::new("dba.new-database").unwrap(),
        requester: TeamId::new("checkout").unwrap(),
        submitted_by: None,
        inputs: BTreeMap::new(),
        urgency: Urgency::Low,
    }
}

fn catalog(automated: bool) -> MockSpecialistCatalog {
    let mut c = MockSpecialistCatalog::new();
    c.expect_submit().times(1).returning(|_, _| Ok(submitted()));
    c.expect_get_offering()
        .returning(move |_| Ok(offering(automated)));
    c
}

#[tokio::test]
async fn a_successful_automation_fulfils_the_request_as_automation() {
    let mut c = catalog(true);
    c.expect_transition()
        .withf(|id, to, by, note| {
            id.as_str() == "REQ0000001"
                && *to == RequestState::Fulfilled
                && by.name == AUTOMATION
                && note.as_deref() == Some("created orders on db-3")
        })
        .times(1)
        .returning(|_, _, _, _| {
            let mut r = submitted();
            r.state = RequestState::Fulfilled;
            Ok(r)
        });
    let mut f = MockFulfiller::new();
    f.expect_fulfil().times(1).returning(|_, _| {
        Ok(Fulfilment {
            note: "created orders on db-3".into(),
        })
    });
    let automation = Automation::new(Arc::new(c)).register(offering(true).id, Arc::new(f));
    let handled = automation
        .submit(&IdempotencyKey::new("k").unwrap(), &new_request())
        .await
        .unwrap();
    assert_eq!(handled.request.state, RequestState::Fulfilled);
    assert_eq!(
        handled.automation,
        AutomationOutcome::Fulfilled {
            note: "created orders on db-3".into()
        }
    );
}

#[tokio::test]
async fn a_failed_automation_is_recorded_and_the_request_stays_queued() {
    let mut c = catalog(true);
    c.expect_transition().never();
    c.expect_comment()
        .withf(|id, key, comment| {
            id.as_str() == "REQ0000001"
                && key.as_str() == "REQ0000001/automation-failed/1"
                && comment.author.name == AUTOMATION
                && comment.text.contains("disk full")
                && comment.text.contains("team dba's queue")
        })
        .times(1)
        .returning(|_, _, _| Ok(submitted()));
    let mut f = MockFulfiller::new();
    f.expect_fulfil()
        .returning(|_, _| Err(Error::new(itsm_core::ErrorKind::Internal, "disk full")));
    let automation = Automation::new(Arc::new(c)).register(offering(true).id, Arc::new(f));
    let handled = automation
        .submit(&IdempotencyKey::new("k").unwrap(), &new_request())
        .await
        .unwrap();
    assert_eq!(handled.request.state, RequestState::Submitted);
    match handled.automation {
        AutomationOutcome::Failed { error } => assert!(error.contains("disk full"), "{error}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn manual_offerings_and_unregistered_ones_are_left_to_a_person() {
    for (automated, register) in [(false, true), (true, false)] {
        let mut c = catalog(automated);
        c.expect_transition().never();
        c.expect_comment().never();
        let mut f = MockFulfiller::new();
        f.expect_fulfil().never();
        let mut automation = Automation::new(Arc::new(c));
        if register {
            automation = automation.register(offering(true).id, Arc::new(f));
        }
        let handled = automation
            .submit(&IdempotencyKey::new("k").unwrap(), &new_request())
            .await
            .unwrap();
        assert_eq!(handled.automation, AutomationOutcome::Manual);
    }
}

#[tokio::test]
async fn a_finished_request_submitted_again_runs_nothing() {
    let mut c = MockSpecialistCatalog::new();
    c.expect_submit().times(1).returning(|_, _| {
        let mut r = submitted();
        r.state = RequestState::Fulfilled;
        Ok(r)
    });
    c.expect_get_offering().never();
    let mut f = MockFulfiller::new();
    f.expect_fulfil().never();
    let automation = Automation::new(Arc::new(c)).register(offering(true).id, Arc::new(f));
    let handled = automation
        .submit(&IdempotencyKey::new("k").unwrap(), &new_request())
        .await
        .unwrap();
    assert_eq!(handled.automation, AutomationOutcome::Finished);
}
