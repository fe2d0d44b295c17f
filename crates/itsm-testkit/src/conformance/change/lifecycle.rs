//! Checks of approval, transitions, closing, notes and conflicts.

use itsm_change::{ApprovalState, ChangeKind, ChangeState, ChangeSystem, CloseCode, capability};
use itsm_core::{ErrorKind, Result};

use super::scope::{Scope, closure, decision};
use crate::conformance::{Outcome, skip_unless};

/// A normal change: request approval, approve, close; deciding before the request, closing
/// again with another code, are conflicts.
pub async fn normal_lifecycle(system: &dyn ChangeSystem) -> Result<Outcome> {
    let required = [
        capability::NORMAL,
        capability::APPROVALS,
        capability::DECIDE,
    ];
    if let Some(skipped) = skip_unless("normal_lifecycle", &system.capabilities(), &required) {
        return Ok(skipped);
    }
    let s = Scope::new("normal_lifecycle", system);
    let change = system.create_change(&s.key("change"), &s.normal()).await?;
    s.expect(
        change.kind == ChangeKind::Normal && change.approval == ApprovalState::NotRequested,
        format!("a new normal change should not be approved yet: {change:?}"),
    );
    let id = change.id.clone();
    s.expect_err(
        system.decide(&id, &decision(true)).await,
        ErrorKind::Conflict,
        "approving before approval was requested",
    );
    let requested = system.request_approval(&id).await?;
    s.expect(
        requested.approval == ApprovalState::Requested,
        format!("request_approval should set approval requested: {requested:?}"),
    );
    let approvals = system.approvals(&id).await?;
    s.expect(
        approvals
            .iter()
            .any(|a| a.state == ApprovalState::Requested),
        format!("approvals should show a requested approval: {approvals:?}"),
    );
    let approved = system.decide(&id, &decision(true)).await?;
    s.expect_state(&approved, ChangeState::Scheduled, ApprovalState::Approved);
    let again = system.request_approval(&id).await?;
    s.expect(
        again.approval == ApprovalState::Approved,
        "request_approval of an approved change should leave it approved",
    );
    let closed = system.close(&id, &closure(CloseCode::Successful)).await?;
    s.expect(
        closed.state == ChangeState::Closed
            && closed.closure.as_ref().map(|c| c.code) == Some(CloseCode::Successful),
        format!("close should close the change as successful: {closed:?}"),
    );
    let reclosed = system.close(&id, &closure(CloseCode::Successful)).await?;
    s.expect(
        reclosed.state == ChangeState::Closed,
        "closing again with the same code should leave the change closed",
    );
    s.expect_err(
        system.close(&id, &closure(CloseCode::Unsuccessful)).await,
        ErrorKind::Conflict,
        "closing a closed change with another code",
    );
    Ok(Outcome::Passed)
}

/// A rejected change: the same rejection again is a no-op, approving it or closing it is a
/// conflict.
pub async fn reject_path(system: &dyn ChangeSystem) -> Result<Outcome> {
    let required = [
        capability::NORMAL,
        capability::APPROVALS,
        capability::DECIDE,
    ];
    if let Some(skipped) = skip_unless("reject_path", &system.capabilities(), &required) {
        return Ok(skipped);
    }
    let s = Scope::new("reject_path", system);
    let id = system
        .create_change(&s.key("change"), &s.normal())
        .await?
        .id;
    system.request_approval(&id).await?;
    let rejected = system.decide(&id, &decision(false)).await?;
    s.expect(
        rejected.approval == ApprovalState::Rejected
            && !matches!(
                rejected.state,
                ChangeState::Scheduled | ChangeState::Implement
            ),
        format!("a rejected change should be rejected and not scheduled: {rejected:?}"),
    );
    let again = system.decide(&id, &decision(false)).await?;
    s.expect(
        again.approval == ApprovalState::Rejected,
        "rejecting again should leave the change rejected",
    );
    s.expect_err(
        system.decide(&id, &decision(true)).await,
        ErrorKind::Conflict,
        "approving a rejected change",
    );
    s.expect_err(
        system.close(&id, &closure(CloseCode::Successful)).await,
        ErrorKind::Conflict,
        "closing a rejected change",
    );
    Ok(Outcome::Passed)
}

/// An unapproved change cannot move to implement; a canceled one cannot move or close.
pub async fn illegal_transition(system: &dyn ChangeSystem) -> Result<Outcome> {
    if let Some(skipped) = skip_unless(
        "illegal_transition",
        &system.capabilities(),
        &[capability::NORMAL],
    ) {
        return Ok(skipped);
    }
    let s = Scope::new("illegal_transition", system);
    let change = system.create_change(&s.key("change"), &s.normal()).await?;
    let id = change.id.clone();
    s.expect_err(
        system.transition(&id, ChangeState::Implement).await,
        ErrorKind::Conflict,
        "moving an unapproved change to implement",
    );
    let unchanged = system.get_change(&id).await?;
    s.expect(
        unchanged.state == change.state,
        format!(
            "a refused move should leave the change {:?}, it is {:?}",
            change.state, unchanged.state
        ),
    );
    let canceled = system.transition(&id, ChangeState::Canceled).await?;
    s.expect(
        canceled.state == ChangeState::Canceled,
        format!("cancel should cancel the change: {canceled:?}"),
    );
    s.expect_err(
        system.transition(&id, ChangeState::Assess).await,
        ErrorKind::Conflict,
        "moving a canceled change",
    );
    s.expect_err(
        system.close(&id, &closure(CloseCode::Successful)).await,
        ErrorKind::Conflict,
        "closing a canceled change",
    );
    Ok(Outcome::Passed)
}

/// Adding a note twice with one key succeeds both times.
pub async fn notes(system: &dyn ChangeSystem) -> Result<Outcome> {
    let required = [capability::NORMAL, capability::NOTES];
    if let Some(skipped) = skip_unless("notes", &system.capabilities(), &required) {
        return Ok(skipped);
    }
    let s = Scope::new("notes", system);
    let id = system
        .create_change(&s.key("change"), &s.normal())
        .await?
        .id;
    for _ in 0..2 {
        system
            .add_note(
                &id,
                &s.key("note"),
                "Deployment started by the conformance suite",
            )
            .await?;
    }
    Ok(Outcome::Passed)
}

/// Conflicts of a change can be read.
pub async fn conflicts(system: &dyn ChangeSystem) -> Result<Outcome> {
    let required = [capability::NORMAL, capability::CONFLICTS];
    if let Some(skipped) = skip_unless("conflicts", &system.capabilities(), &required) {
        return Ok(skipped);
    }
    let s = Scope::new("conflicts", system);
    let id = system
        .create_change(&s.key("change"), &s.normal())
        .await?
        .id;
    system.conflicts(&id).await?;
    Ok(Outcome::Passed)
}
