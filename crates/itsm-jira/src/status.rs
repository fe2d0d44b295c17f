//! Workflow status names per itsm state: sites name their statuses differently, so the
//! mapping is configuration, with defaults after Jira Service Management's ITSM templates.
//! Names compare case-insensitively; the first name of a state is the one written.

use itsm_change::ChangeState;
use itsm_incident::IncidentState;
use itsm_specialist::RequestState;
use serde::Deserialize;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn matches(list: &[String], status: &str) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(status.trim()))
}

/// Status names of incident states.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentStatuses {
    /// New (default `Open`, `To Do`, `New`).
    pub new: Vec<String>,
    /// Acknowledged (default `Acknowledged`, `Investigating`).
    pub acknowledged: Vec<String>,
    /// In progress (default `Work in progress`, `In Progress`).
    pub in_progress: Vec<String>,
    /// On hold (default `Pending`, `On Hold`).
    pub on_hold: Vec<String>,
    /// Resolved (default `Resolved`, `Completed`, `Done`).
    pub resolved: Vec<String>,
    /// Closed (default `Closed`, `Canceled`, `Cancelled`).
    pub closed: Vec<String>,
}

impl Default for IncidentStatuses {
    fn default() -> Self {
        IncidentStatuses {
            new: names(&["Open", "To Do", "New"]),
            acknowledged: names(&["Acknowledged", "Investigating"]),
            in_progress: names(&["Work in progress", "In Progress"]),
            on_hold: names(&["Pending", "On Hold"]),
            resolved: names(&["Resolved", "Completed", "Done"]),
            closed: names(&["Closed", "Canceled", "Cancelled"]),
        }
    }
}

impl IncidentStatuses {
    /// The names of `state`.
    pub fn names(&self, state: IncidentState) -> &[String] {
        match state {
            IncidentState::New => &self.new,
            IncidentState::Acknowledged => &self.acknowledged,
            IncidentState::InProgress => &self.in_progress,
            IncidentState::OnHold => &self.on_hold,
            IncidentState::Resolved => &self.resolved,
            IncidentState::Closed => &self.closed,
        }
    }

    /// The state a status name means, if configured.
    pub fn state_of(&self, status: &str) -> Option<IncidentState> {
        use IncidentState::*;
        [New, Acknowledged, InProgress, OnHold, Resolved, Closed]
            .into_iter()
            .find(|s| matches(self.names(*s), status))
    }
}

/// Status names of change states, plus the statuses that mean "approval declined".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeStatuses {
    /// New (default `Open`, `To Do`).
    pub new: Vec<String>,
    /// Assess (default `Planning`, `Under review`).
    pub assess: Vec<String>,
    /// Authorize (default `Awaiting approval`, `Peer review / change manager approval`).
    pub authorize: Vec<String>,
    /// Scheduled (default `Awaiting implementation`, `Scheduled`).
    pub scheduled: Vec<String>,
    /// Implement (default `Implementing`, `In Progress`).
    pub implement: Vec<String>,
    /// Review (default `Review`, `Post-implementation review`).
    pub review: Vec<String>,
    /// Closed (default `Completed`, `Closed`, `Done`).
    pub closed: Vec<String>,
    /// Canceled (default `Canceled`, `Cancelled`).
    pub canceled: Vec<String>,
    /// Statuses reached when an approver declines (default `Declined`, `Rejected`): the
    /// change reads as canceled with approval rejected.
    pub declined: Vec<String>,
}

impl Default for ChangeStatuses {
    fn default() -> Self {
        ChangeStatuses {
            new: names(&["Open", "To Do"]),
            assess: names(&["Planning", "Under review"]),
            authorize: names(&["Awaiting approval", "Peer review / change manager approval"]),
            scheduled: names(&["Awaiting implementation", "Scheduled"]),
            implement: names(&["Implementing", "In Progress"]),
            review: names(&["Review", "Post-implementation review"]),
            closed: names(&["Completed", "Closed", "Done"]),
            canceled: names(&["Canceled", "Cancelled"]),
            declined: names(&["Declined", "Rejected"]),
        }
    }
}

impl ChangeStatuses {
    /// The names of `state`.
    pub fn names(&self, state: ChangeState) -> &[String] {
        match state {
            ChangeState::New => &self.new,
            ChangeState::Assess => &self.assess,
            ChangeState::Authorize => &self.authorize,
            ChangeState::Scheduled => &self.scheduled,
            ChangeState::Implement => &self.implement,
            ChangeState::Review => &self.review,
            ChangeState::Closed => &self.closed,
            ChangeState::Canceled => &self.canceled,
        }
    }

    /// Whether `status` is a declined status.
    pub fn is_declined(&self, status: &str) -> bool {
        matches(&self.declined, status)
    }

    /// The state a status name means, if configured (declined statuses are canceled).
    pub fn state_of(&self, status: &str) -> Option<ChangeState> {
        use ChangeState::*;
        if self.is_declined(status) {
            return Some(Canceled);
        }
        [
            New, Assess, Authorize, Scheduled, Implement, Review, Closed, Canceled,
        ]
        .into_iter()
        .find(|s| matches(self.names(*s), status))
    }
}

/// Status names of specialist request states.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestStatuses {
    /// Submitted (default `Waiting for support`, `Open`).
    pub submitted: Vec<String>,
    /// Triaged (default `Triaged`).
    pub triaged: Vec<String>,
    /// In progress (default `In Progress`, `Work in progress`).
    pub in_progress: Vec<String>,
    /// Waiting on the requester (default `Waiting for customer`).
    pub waiting_on_requester: Vec<String>,
    /// Fulfilled (default `Resolved`, `Done`, `Completed`).
    pub fulfilled: Vec<String>,
    /// Rejected (default `Declined`, `Rejected`).
    pub rejected: Vec<String>,
    /// Cancelled (default `Canceled`, `Cancelled`).
    pub cancelled: Vec<String>,
}

impl Default for RequestStatuses {
    fn default() -> Self {
        RequestStatuses {
            submitted: names(&["Waiting for support", "Open"]),
            triaged: names(&["Triaged"]),
            in_progress: names(&["In Progress", "Work in progress"]),
            waiting_on_requester: names(&["Waiting for customer"]),
            fulfilled: names(&["Resolved", "Done", "Completed"]),
            rejected: names(&["Declined", "Rejected"]),
            cancelled: names(&["Canceled", "Cancelled"]),
        }
    }
}

impl RequestStatuses {
    /// The names of `state`.
    pub fn names(&self, state: RequestState) -> &[String] {
        match state {
            RequestState::Submitted => &self.submitted,
            RequestState::Triaged => &self.triaged,
            RequestState::InProgress => &self.in_progress,
            RequestState::WaitingOnRequester => &self.waiting_on_requester,
            RequestState::Fulfilled => &self.fulfilled,
            RequestState::Rejected => &self.rejected,
            RequestState::Cancelled => &self.cancelled,
        }
    }

    /// The state a status name means, if configured.
    pub fn state_of(&self, status: &str) -> Option<RequestState> {
        use RequestState::*;
        [
            Submitted,
            Triaged,
            InProgress,
            WaitingOnRequester,
            Fulfilled,
            Rejected,
            Cancelled,
        ]
        .into_iter()
        .find(|s| matches(self.names(*s), status))
    }
}

/// Whether `status` is one of `names` (case-insensitive).
pub(crate) fn is_one_of(names: &[String], status: &str) -> bool {
    matches(names, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_map_jsm_template_statuses() {
        let c = ChangeStatuses::default();
        assert_eq!(
            c.state_of("awaiting implementation"),
            Some(ChangeState::Scheduled)
        );
        assert_eq!(c.state_of("Declined"), Some(ChangeState::Canceled));
        assert!(c.is_declined("DECLINED"));
        assert_eq!(c.state_of("Somewhere else"), None);
        let i = IncidentStatuses::default();
        assert_eq!(
            i.state_of("Work in progress"),
            Some(IncidentState::InProgress)
        );
        let r = RequestStatuses::default();
        assert_eq!(
            r.state_of("Waiting for customer"),
            Some(RequestState::WaitingOnRequester)
        );
    }
}
