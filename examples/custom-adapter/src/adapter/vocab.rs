//! Tickety's words for itsm-rs's enums, in one place.
//!
//! Each mapping is one exhaustive `match` from our value to Tickety's word (the compiler
//! flags a new variant), and reading a word back goes through the same `match`, so the
//! two directions cannot drift apart.

use itsm_change::{ApprovalState, ChangeKind, ChangeState, CloseCode};
use itsm_core::{Error, ErrorKind, Result};
use itsm_incident::{IncidentState, Priority, ServiceKind};

/// The value of `all` whose word is `word`, or an [`ErrorKind::InvalidResponse`] naming it.
fn read<T: Copy>(what: &str, word: &str, all: &[T], word_of: fn(T) -> &'static str) -> Result<T> {
    all.iter()
        .copied()
        .find(|value| word_of(*value) == word)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!(
                    "Tickety sent the {what} {word:?}, which this adapter does not know; \
                     add it to the adapter's vocabulary (src/adapter/vocab.rs)"
                ),
            )
        })
}

/// Tickety's `urgency` for a priority.
pub(crate) fn urgency(priority: Priority) -> &'static str {
    match priority {
        Priority::P1 => "critical",
        Priority::P2 => "high",
        Priority::P3 => "medium",
        Priority::P4 => "low",
        Priority::P5 => "planning",
    }
}

pub(crate) fn priority(word: &str) -> Result<Priority> {
    use Priority::*;
    read("urgency", word, &[P1, P2, P3, P4, P5], urgency)
}

/// A ticket's `status` for an incident state.
pub(crate) fn ticket_status(state: IncidentState) -> &'static str {
    match state {
        IncidentState::New => "open",
        IncidentState::Acknowledged => "acked",
        IncidentState::InProgress => "working",
        IncidentState::OnHold => "paused",
        IncidentState::Resolved => "solved",
        IncidentState::Closed => "closed",
    }
}

pub(crate) fn incident_state(word: &str) -> Result<IncidentState> {
    use IncidentState::*;
    let all = [New, Acknowledged, InProgress, OnHold, Resolved, Closed];
    read("ticket status", word, &all, ticket_status)
}

/// An assignment's `service_kind`.
pub(crate) fn service_kind_word(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::DigitalService => "digital",
        ServiceKind::Cots => "cots",
        ServiceKind::Foundational => "foundational",
    }
}

pub(crate) fn service_kind(word: &str) -> Result<ServiceKind> {
    use ServiceKind::*;
    let all = [DigitalService, Cots, Foundational];
    read("service kind", word, &all, service_kind_word)
}

/// A change's `kind`.
pub(crate) fn change_kind_word(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Standard => "standard",
        ChangeKind::Normal => "normal",
        ChangeKind::Emergency => "emergency",
    }
}

pub(crate) fn change_kind(word: &str) -> Result<ChangeKind> {
    use ChangeKind::*;
    read(
        "change kind",
        word,
        &[Standard, Normal, Emergency],
        change_kind_word,
    )
}

/// A change's `status`.
pub(crate) fn change_status(state: ChangeState) -> &'static str {
    match state {
        ChangeState::New => "draft",
        ChangeState::Assess => "assessing",
        ChangeState::Authorize => "awaiting_approval",
        ChangeState::Scheduled => "scheduled",
        ChangeState::Implement => "implementing",
        ChangeState::Review => "reviewing",
        ChangeState::Closed => "closed",
        ChangeState::Canceled => "cancelled",
    }
}

pub(crate) fn change_state(word: &str) -> Result<ChangeState> {
    use ChangeState::*;
    let all = [
        New, Assess, Authorize, Scheduled, Implement, Review, Closed, Canceled,
    ];
    read("change status", word, &all, change_status)
}

/// A change's `approval`, and an approval row's `status` (which is never `none`).
pub(crate) fn approval_word(state: ApprovalState) -> &'static str {
    match state {
        ApprovalState::NotRequested => "none",
        ApprovalState::Requested => "pending",
        ApprovalState::Approved => "approved",
        ApprovalState::Rejected => "rejected",
    }
}

pub(crate) fn approval_state(word: &str) -> Result<ApprovalState> {
    use ApprovalState::*;
    let all = [NotRequested, Requested, Approved, Rejected];
    read("approval state", word, &all, approval_word)
}

/// A closed change's `outcome`.
pub(crate) fn outcome(code: CloseCode) -> &'static str {
    match code {
        CloseCode::Successful => "success",
        CloseCode::SuccessfulWithIssues => "partial",
        CloseCode::Unsuccessful => "failed",
    }
}

pub(crate) fn close_code(word: &str) -> Result<CloseCode> {
    use CloseCode::*;
    let all = [Successful, SuccessfulWithIssues, Unsuccessful];
    read("close outcome", word, &all, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_its_value() {
        for p in [
            Priority::P1,
            Priority::P2,
            Priority::P3,
            Priority::P4,
            Priority::P5,
        ] {
            assert_eq!(priority(urgency(p)).unwrap(), p);
        }
        for s in [
            IncidentState::New,
            IncidentState::Acknowledged,
            IncidentState::InProgress,
            IncidentState::OnHold,
            IncidentState::Resolved,
            IncidentState::Closed,
        ] {
            assert_eq!(incident_state(ticket_status(s)).unwrap(), s);
        }
        for s in [
            ChangeState::New,
            ChangeState::Assess,
            ChangeState::Authorize,
            ChangeState::Scheduled,
            ChangeState::Implement,
            ChangeState::Review,
            ChangeState::Closed,
            ChangeState::Canceled,
        ] {
            assert_eq!(change_state(change_status(s)).unwrap(), s);
        }
        for a in [
            ApprovalState::NotRequested,
            ApprovalState::Requested,
            ApprovalState::Approved,
            ApprovalState::Rejected,
        ] {
            assert_eq!(approval_state(approval_word(a)).unwrap(), a);
        }
        for c in [
            CloseCode::Successful,
            CloseCode::SuccessfulWithIssues,
            CloseCode::Unsuccessful,
        ] {
            assert_eq!(close_code(outcome(c)).unwrap(), c);
        }
        for k in [
            ServiceKind::DigitalService,
            ServiceKind::Cots,
            ServiceKind::Foundational,
        ] {
            assert_eq!(service_kind(service_kind_word(k)).unwrap(), k);
        }
        for k in [
            ChangeKind::Standard,
            ChangeKind::Normal,
            ChangeKind::Emergency,
        ] {
            assert_eq!(change_kind(change_kind_word(k)).unwrap(), k);
        }
    }

    #[test]
    fn an_unknown_word_is_an_invalid_response_naming_it() {
        let err = incident_state("escalated").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        assert!(err.to_string().contains("\"escalated\""), "{err}");
    }
}
