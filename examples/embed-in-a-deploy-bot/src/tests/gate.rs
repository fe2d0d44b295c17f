//! The gate decides: a denial or an unreadable backend stops the bot before it deploys,
//! and nothing is closed, recorded or sent.

use itsm_core::{Error, ErrorKind};
use itsm_pipeline::MemoryStepLog;

use super::*;
use crate::Outcome;

#[tokio::test]
async fn a_denied_gate_stops_the_bot_before_it_deploys() {
    let mut system = MockChangeSystem::new();
    expect_gate(
        &mut system,
        vec![change(ApprovalState::Requested, ChangeState::Authorize)],
    );
    expect_no_writes(&mut system);
    let steps = Arc::new(MemoryStepLog::new());
    let bot = bot(
        system,
        Arc::new(no_ledger_writes()),
        no_change_events(),
        never_deploys(),
        steps.clone(),
    );

    let outcome = bot.run(&deployment(), &artifact()).await.unwrap();

    let Outcome::Denied { reason } = &outcome else {
        panic!("expected a denial, got {outcome:?}");
    };
    assert!(reason.contains("CHG0000007"), "{reason}");
    assert!(reason.contains("not approved yet"), "{reason}");
    assert!(!outcome.succeeded());
    assert!(steps.steps().is_empty(), "nothing remembered as deployed");
}

#[tokio::test]
async fn an_unreachable_backend_at_the_gate_cannot_verify_and_never_deploys() {
    let mut system = MockChangeSystem::new();
    system.expect_list_changes().times(1).returning(|_, _| {
        Err(Error::new(
            ErrorKind::Unavailable,
            "connection refused by the change backend",
        ))
    });
    system.expect_capabilities().never();
    expect_no_writes(&mut system);
    let steps = Arc::new(MemoryStepLog::new());
    let bot = bot(
        system,
        Arc::new(no_ledger_writes()),
        no_change_events(),
        never_deploys(),
        steps.clone(),
    );

    let outcome = bot.run(&deployment(), &artifact()).await.unwrap();

    let Outcome::CannotVerify { reason } = &outcome else {
        panic!("the gate fails closed, got {outcome:?}");
    };
    assert!(reason.starts_with("denied: cannot verify"), "{reason}");
    assert!(reason.contains("connection refused"), "{reason}");
    assert!(!outcome.succeeded());
    assert!(steps.steps().is_empty(), "nothing remembered as deployed");
}

#[tokio::test]
async fn no_change_at_all_is_a_denial_that_says_to_raise_one() {
    let mut system = MockChangeSystem::new();
    expect_gate(&mut system, vec![]);
    expect_no_writes(&mut system);
    let bot = bot(
        system,
        Arc::new(no_ledger_writes()),
        no_change_events(),
        never_deploys(),
        Arc::new(MemoryStepLog::new()),
    );

    let outcome = bot.run(&deployment(), &artifact()).await.unwrap();

    let Outcome::Denied { reason } = outcome else {
        panic!("expected a denial, got {outcome:?}");
    };
    assert!(reason.contains("no change found"), "{reason}");
}
