//! The local store's change lifecycle rules, as pure functions over a [`ChangeRequest`].
//!
//! Each function checks a move against the change's current state and either applies it
//! (returning `Ok(true)`), finds it already done (`Ok(false)`: repeating a call is
//! harmless), or refuses it with [`ErrorKind::Conflict`] saying why.

use itsm_change::{
    ApprovalDecision, ApprovalState, ChangeKind, ChangeRequest, ChangeState, CloseCode, Closure,
};
use itsm_core::{Error, ErrorKind, Result};
use time::OffsetDateTime;

use crate::records::{approval_text, state_text};

fn conflict(change: &ChangeRequest, message: String) -> Error {
    Error::new(ErrorKind::Conflict, message)
        .with_context("change", &change.id)
        .with_context("state", state_text(change.state))
        .with_context("approval", approval_text(change.approval))
}

/// The state and approval a new change of `kind` starts in.
pub(crate) fn initial(kind: ChangeKind) -> (ChangeState, ApprovalState) {
    match kind {
        ChangeKind::Standard => (ChangeState::Scheduled, ApprovalState::Approved),
        ChangeKind::Normal => (ChangeState::New, ApprovalState::NotRequested),
        ChangeKind::Emergency => (ChangeState::Implement, ApprovalState::Approved),
    }
}

/// Submits a change for approval: `new`/`assess` (or already `authorize`) with approval not
/// requested moves to `authorize`, approval requested.
pub(crate) fn request_approval(change: &mut ChangeRequest, now: OffsetDateTime) -> Result<bool> {
    match change.approval {
        ApprovalState::Requested | ApprovalState::Approved => return Ok(false),
        ApprovalState::Rejected => {
            return Err(conflict(
                change,
                format!(
                    "change {} was rejected; raise a new change instead of requesting approval \
                     again",
                    change.id
                ),
            ));
        }
        ApprovalState::NotRequested => {}
    }
    if !matches!(
        change.state,
        ChangeState::New | ChangeState::Assess | ChangeState::Authorize
    ) {
        return Err(conflict(
            change,
            format!(
                "change {} is {}; approval can only be requested for a change that is new, \
                 assess or authorize",
                change.id,
                state_text(change.state)
            ),
        ));
    }
    change.state = ChangeState::Authorize;
    change.approval = ApprovalState::Requested;
    change.updated_at = Some(now);
    Ok(true)
}

/// Records a decision: approve moves a requested change to approved and `scheduled`, reject
/// to rejected and back to `new`. The same decision again is a no-op; the opposite one is a
/// conflict.
pub(crate) fn decide(
    change: &mut ChangeRequest,
    decision: &ApprovalDecision,
    now: OffsetDateTime,
) -> Result<bool> {
    let wanted = if decision.approve {
        ApprovalState::Approved
    } else {
        ApprovalState::Rejected
    };
    if change.approval == wanted {
        return Ok(false);
    }
    let verb = if decision.approve {
        "approved"
    } else {
        "rejected"
    };
    match change.approval {
        ApprovalState::NotRequested => Err(conflict(
            change,
            format!(
                "approval of change {} has not been requested, so it cannot be {verb}; request \
                 approval first",
                change.id
            ),
        )),
        ApprovalState::Approved | ApprovalState::Rejected => Err(conflict(
            change,
            format!(
                "change {} is already {}; it cannot be {verb} as well",
                change.id,
                approval_text(change.approval)
            ),
        )),
        ApprovalState::Requested if change.state.is_terminal() => Err(conflict(
            change,
            format!(
                "change {} is {}; it can no longer be {verb}",
                change.id,
                state_text(change.state)
            ),
        )),
        ApprovalState::Requested => {
            change.approval = wanted;
            change.state = if decision.approve {
                ChangeState::Scheduled
            } else {
                ChangeState::New
            };
            change.updated_at = Some(now);
            Ok(true)
        }
    }
}

/// The next state of the forward path, if any.
fn next(state: ChangeState) -> Option<ChangeState> {
    match state {
        ChangeState::New => Some(ChangeState::Assess),
        ChangeState::Assess => Some(ChangeState::Authorize),
        ChangeState::Authorize => Some(ChangeState::Scheduled),
        ChangeState::Scheduled => Some(ChangeState::Implement),
        ChangeState::Implement => Some(ChangeState::Review),
        ChangeState::Review | ChangeState::Closed | ChangeState::Canceled => None,
    }
}

/// Moves a change one step along `new → assess → authorize → scheduled → implement →
/// review`, or to `canceled` from any state that is not terminal. `scheduled` and
/// `implement` need an approved change; `closed` is reached through `close` only.
pub(crate) fn transition(
    change: &mut ChangeRequest,
    to: ChangeState,
    now: OffsetDateTime,
) -> Result<bool> {
    let from = change.state;
    if from == to {
        return Ok(false);
    }
    let refuse = |why: &str| {
        conflict(
            change,
            format!(
                "change {} cannot move from {} to {}: {why}",
                change.id,
                state_text(from),
                state_text(to)
            ),
        )
    };
    if to == ChangeState::Closed {
        return Err(refuse("use close, which records the close code"));
    }
    if from.is_terminal() {
        return Err(refuse("the change is finished"));
    }
    if to != ChangeState::Canceled {
        if next(from) != Some(to) {
            let allowed = match next(from) {
                Some(n) => format!("it can move to {} or canceled", state_text(n)),
                None => String::from("it can only be canceled or closed"),
            };
            return Err(refuse(&format!("not a legal move; {allowed}")));
        }
        if matches!(to, ChangeState::Scheduled | ChangeState::Implement)
            && change.approval != ApprovalState::Approved
        {
            return Err(refuse(&format!(
                "the change is not approved (approval {}); get it approved first",
                approval_text(change.approval)
            )));
        }
    }
    change.state = to;
    change.updated_at = Some(now);
    Ok(true)
}

fn code_text(code: CloseCode) -> &'static str {
    match code {
        CloseCode::Successful => "successful",
        CloseCode::SuccessfulWithIssues => "successful_with_issues",
        CloseCode::Unsuccessful => "unsuccessful",
    }
}

/// Closes an approved change that is `scheduled`, `implement` or `review`. Closing a
/// closed change with the same code is a no-op; with another code, a conflict.
pub(crate) fn close(
    change: &mut ChangeRequest,
    closure: &Closure,
    now: OffsetDateTime,
) -> Result<bool> {
    match change.state {
        ChangeState::Closed => {
            let existing = change.closure.as_ref().map(|c| c.code);
            if existing == Some(closure.code) {
                return Ok(false);
            }
            let was = existing.map_or("without a close code", code_text);
            return Err(conflict(
                change,
                format!(
                    "change {} is already closed as {was}; it cannot be closed again as {}",
                    change.id,
                    code_text(closure.code)
                ),
            ));
        }
        ChangeState::Canceled => {
            return Err(conflict(
                change,
                format!(
                    "change {} was canceled; a canceled change cannot be closed",
                    change.id
                ),
            ));
        }
        _ => {}
    }
    if change.approval != ApprovalState::Approved {
        return Err(conflict(
            change,
            format!(
                "change {} was never approved (approval {}); get it approved, or cancel it",
                change.id,
                approval_text(change.approval)
            ),
        ));
    }
    if !matches!(
        change.state,
        ChangeState::Scheduled | ChangeState::Implement | ChangeState::Review
    ) {
        return Err(conflict(
            change,
            format!(
                "change {} is {}; only scheduled, implement or review changes can be closed",
                change.id,
                state_text(change.state)
            ),
        ));
    }
    let mut closure = closure.clone();
    closure.closed_at.get_or_insert(now);
    change.closure = Some(closure);
    change.state = ChangeState::Closed;
    change.updated_at = Some(now);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use itsm_change::ChangeId;
    use itsm_core::{Environment, Person, ServiceId, Version};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-05-01 10:00 UTC);

    fn change(state: ChangeState, approval: ApprovalState) -> ChangeRequest {
        ChangeRequest {
            id: ChangeId::new("CHG0000001").unwrap(),
            number: None,
            key: None,
            kind: ChangeKind::Normal,
            state,
            approval,
            service: ServiceId::new("checkout").unwrap(),
            version: Version::new("1.0").unwrap(),
            environment: Environment::production(),
            summary: "s".into(),
            description: String::new(),
            template: None,
            window: None,
            commits: vec![],
            pipeline_run: None,
            requested_by: None,
            assignment_team: None,
            reasons: vec![],
            retroactive: false,
            closure: None,
            links: vec![],
            external: None,
            created_at: None,
            updated_at: None,
        }
    }

    fn decision(approve: bool) -> ApprovalDecision {
        ApprovalDecision {
            approve,
            by: Person::named("cm"),
            comment: None,
        }
    }

    #[test]
    fn every_forward_and_cancel_move() {
        use ChangeState::*;
        let all = [
            New, Assess, Authorize, Scheduled, Implement, Review, Closed, Canceled,
        ];
        for from in all {
            for to in all {
                let mut c = change(from, ApprovalState::Approved);
                let result = transition(&mut c, to, NOW);
                let legal = from == to
                    || (!from.is_terminal() && to == Canceled)
                    || (!from.is_terminal() && to != Closed && next(from) == Some(to));
                assert_eq!(result.is_ok(), legal, "{from:?} -> {to:?}: {result:?}");
                if let Err(e) = result {
                    assert_eq!(e.kind(), ErrorKind::Conflict);
                    assert!(
                        e.message().contains(&format!(
                            "from {} to {}",
                            state_text(from),
                            state_text(to)
                        )),
                        "{e}"
                    );
                } else {
                    assert_eq!(c.state, to);
                }
            }
        }
    }

    #[test]
    fn scheduling_needs_approval_and_closing_needs_close() {
        let mut c = change(ChangeState::Authorize, ApprovalState::Requested);
        let err = transition(&mut c, ChangeState::Scheduled, NOW).unwrap_err();
        assert!(err.message().contains("not approved"), "{err}");
        let mut c = change(ChangeState::Review, ApprovalState::Approved);
        let err = transition(&mut c, ChangeState::Closed, NOW).unwrap_err();
        assert!(err.message().contains("use close"), "{err}");
    }

    #[test]
    fn approval_flow() {
        let mut c = change(ChangeState::New, ApprovalState::NotRequested);
        let err = decide(&mut c, &decision(true), NOW).unwrap_err();
        assert!(err.message().contains("request approval first"), "{err}");
        assert!(request_approval(&mut c, NOW).unwrap());
        assert_eq!(
            (c.state, c.approval),
            (ChangeState::Authorize, ApprovalState::Requested)
        );
        assert!(!request_approval(&mut c, NOW).unwrap());
        assert!(decide(&mut c, &decision(false), NOW).unwrap());
        assert_eq!(
            (c.state, c.approval),
            (ChangeState::New, ApprovalState::Rejected)
        );
        assert!(!decide(&mut c, &decision(false), NOW).unwrap());
        assert_eq!(
            decide(&mut c, &decision(true), NOW).unwrap_err().kind(),
            ErrorKind::Conflict
        );
        assert_eq!(
            request_approval(&mut c, NOW).unwrap_err().kind(),
            ErrorKind::Conflict
        );
        let mut canceled = change(ChangeState::Canceled, ApprovalState::NotRequested);
        assert!(
            request_approval(&mut canceled, NOW)
                .unwrap_err()
                .message()
                .contains("canceled")
        );
    }

    #[test]
    fn close_rules() {
        let closure = |code| Closure {
            code,
            notes: "done".into(),
            closed_at: None,
        };
        let mut c = change(ChangeState::New, ApprovalState::NotRequested);
        let err = close(&mut c, &closure(CloseCode::Successful), NOW).unwrap_err();
        assert!(err.message().contains("never approved"), "{err}");
        let mut c = change(ChangeState::Canceled, ApprovalState::Approved);
        let err = close(&mut c, &closure(CloseCode::Successful), NOW).unwrap_err();
        assert!(err.message().contains("canceled"), "{err}");
        let mut c = change(ChangeState::Implement, ApprovalState::Approved);
        assert!(close(&mut c, &closure(CloseCode::Successful), NOW).unwrap());
        assert_eq!(c.state, ChangeState::Closed);
        assert_eq!(c.closure.as_ref().unwrap().closed_at, Some(NOW));
        assert!(!close(&mut c, &closure(CloseCode::Successful), NOW).unwrap());
        let err = close(&mut c, &closure(CloseCode::Unsuccessful), NOW).unwrap_err();
        assert!(
            err.message().contains(
                "already closed as successful; it cannot be closed again as unsuccessful"
            ),
            "{err}"
        );
    }
}
