//! The change domain's records: templates, change requests, approvals, closures, conflicts.

use std::fmt;

use itsm_core::{
    CommitId, Environment, ExternalRef, Link, Person, PipelineRunId, ServiceId, TeamId, Version,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

itsm_core::define_id!(
    /// A change request's id in its system (a ServiceNow `sys_id`, a Jira issue key).
    ChangeId, "change id"
);
itsm_core::define_id!(
    /// A pre-approved (standard) change template's id.
    TemplateId, "template id"
);

/// ITIL change types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Pre-approved, low risk and repeatable: created from a template, approved at once.
    Standard,
    /// Needs a change manager's approval.
    Normal,
    /// Break-glass: raised (possibly retroactively) for an urgent fix, flagged for audit.
    Emergency,
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeKind::Standard => "standard",
            ChangeKind::Normal => "normal",
            ChangeKind::Emergency => "emergency",
        })
    }
}

/// ITIL-style change states, in lifecycle order (ServiceNow's default model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    /// Drafted, not yet submitted.
    New,
    /// Being assessed (risk, impact).
    Assess,
    /// Waiting for approval.
    Authorize,
    /// Approved and scheduled.
    Scheduled,
    /// Being implemented (deploying).
    Implement,
    /// Implemented, being reviewed.
    Review,
    /// Closed with a close code.
    Closed,
    /// Cancelled before implementation.
    Canceled,
}

impl ChangeState {
    /// Whether no further work happens on a change in this state.
    pub fn is_terminal(self) -> bool {
        matches!(self, ChangeState::Closed | ChangeState::Canceled)
    }
}

/// The approval status of a change as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Approval has not been asked for.
    NotRequested,
    /// Waiting for approvers.
    Requested,
    /// Approved (standard changes are approved at creation).
    Approved,
    /// Rejected by an approver.
    Rejected,
}

/// A pre-approved change template for a digital service (C1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeTemplate {
    /// The template's id in its system.
    pub id: TemplateId,
    /// The service the template covers.
    pub service: ServiceId,
    /// Short name.
    pub name: String,
    /// What changes made from it do.
    pub description: String,
    /// Environments changes from it may target.
    pub environments: Vec<Environment>,
    /// How the change is implemented.
    pub implementation_plan: String,
    /// How it is backed out.
    pub backout_plan: String,
    /// How it is tested.
    pub test_plan: String,
    /// The product manager who owns it.
    pub owner: Person,
    /// Who approved the template, when it has been approved.
    #[serde(default)]
    pub approved_by: Option<Person>,
    /// When the template was approved.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub approved_at: Option<OffsetDateTime>,
    /// When the template must be reviewed again; it is not used after this instant.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Whether the template may be used.
    pub active: bool,
    /// The template in its system.
    #[serde(default)]
    pub external: Option<ExternalRef>,
}

impl ChangeTemplate {
    /// Whether changes to `environment` may be made from this template at `now`:
    /// active, not expired, and allowing that environment.
    pub fn usable_for(&self, environment: &Environment, now: OffsetDateTime) -> bool {
        self.active
            && self.expires_at.is_none_or(|e| now < e)
            && self.environments.contains(environment)
    }
}

/// What is needed to create a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTemplate {
    /// The service the template covers.
    pub service: ServiceId,
    /// Short name.
    pub name: String,
    /// What changes made from it do.
    pub description: String,
    /// Environments changes from it may target.
    pub environments: Vec<Environment>,
    /// How the change is implemented.
    pub implementation_plan: String,
    /// How it is backed out.
    pub backout_plan: String,
    /// How it is tested.
    pub test_plan: String,
    /// The product manager who owns it.
    pub owner: Person,
    /// Who approved the template.
    #[serde(default)]
    pub approved_by: Option<Person>,
    /// When it must be reviewed again.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// Which templates to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateFilter {
    /// Only templates for this service.
    pub service: Option<ServiceId>,
    /// Only active templates.
    pub active_only: bool,
}

/// A planned implementation window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Start, inclusive.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// End, exclusive.
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

impl Window {
    /// Whether `at` falls inside the window.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.start <= at && at < self.end
    }
}

/// A change request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    /// The change's id in its system.
    pub id: ChangeId,
    /// The number a person quotes (`CHG0030001`, `OPS-42`), when the system has one.
    #[serde(default)]
    pub number: Option<String>,
    /// The idempotency key it was created with, when known.
    #[serde(default)]
    pub key: Option<itsm_core::IdempotencyKey>,
    /// Standard, normal or emergency.
    pub kind: ChangeKind,
    /// Lifecycle state.
    pub state: ChangeState,
    /// Approval state.
    pub approval: ApprovalState,
    /// The service changed.
    pub service: ServiceId,
    /// The version deployed.
    pub version: Version,
    /// The environment deployed to.
    pub environment: Environment,
    /// One line.
    pub summary: String,
    /// Longer description.
    #[serde(default)]
    pub description: String,
    /// The template a standard change was made from.
    #[serde(default)]
    pub template: Option<TemplateId>,
    /// When the change may be implemented.
    #[serde(default)]
    pub window: Option<Window>,
    /// Commits the change ships.
    #[serde(default)]
    pub commits: Vec<CommitId>,
    /// The pipeline run that raised it.
    #[serde(default)]
    pub pipeline_run: Option<PipelineRunId>,
    /// Who raised it.
    #[serde(default)]
    pub requested_by: Option<Person>,
    /// The team that owns the change.
    #[serde(default)]
    pub assignment_team: Option<TeamId>,
    /// Why the policy classified it as it did (shown to people, stored on the change).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Raised after the fact (break-glass); flagged for audit.
    #[serde(default)]
    pub retroactive: bool,
    /// How it was closed, once closed.
    #[serde(default)]
    pub closure: Option<Closure>,
    /// Links (pipeline run, dashboards).
    #[serde(default)]
    pub links: Vec<Link>,
    /// The change in its system.
    #[serde(default)]
    pub external: Option<ExternalRef>,
    /// When it was created.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// When it last changed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl ChangeRequest {
    /// What asking for approval (`ChangeSystem::request_approval`) has to do: `Ok(true)`
    /// when approval can be asked now, `Ok(false)` when it is requested or granted already
    /// (asking again changes nothing), and a `Conflict` error when the change was rejected
    /// or is finished. Backends share this rule.
    pub fn needs_approval_request(&self) -> itsm_core::Result<bool> {
        match self.approval {
            ApprovalState::Requested | ApprovalState::Approved => return Ok(false),
            ApprovalState::Rejected => {
                return Err(itsm_core::Error::new(
                    itsm_core::ErrorKind::Conflict,
                    format!(
                        "change {} was rejected; raise a new change instead of asking again",
                        self.id
                    ),
                ));
            }
            ApprovalState::NotRequested => {}
        }
        if self.state.is_terminal() {
            return Err(itsm_core::Error::new(
                itsm_core::ErrorKind::Conflict,
                format!(
                    "change {} is {}; it cannot be submitted for approval",
                    self.id, self.state
                ),
            ));
        }
        Ok(true)
    }
}

/// What is needed to create a change request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewChange {
    /// Standard (needs `template`), normal or emergency.
    pub kind: ChangeKind,
    /// For a standard change: the template it is made from.
    #[serde(default)]
    pub template: Option<TemplateId>,
    /// The service changed.
    pub service: ServiceId,
    /// The version deployed.
    pub version: Version,
    /// The environment deployed to.
    pub environment: Environment,
    /// One line.
    pub summary: String,
    /// Longer description.
    #[serde(default)]
    pub description: String,
    /// When the change may be implemented.
    #[serde(default)]
    pub window: Option<Window>,
    /// Commits the change ships.
    #[serde(default)]
    pub commits: Vec<CommitId>,
    /// The pipeline run that raises it.
    #[serde(default)]
    pub pipeline_run: Option<PipelineRunId>,
    /// Who raises it.
    #[serde(default)]
    pub requested_by: Option<Person>,
    /// The team that owns the change.
    #[serde(default)]
    pub assignment_team: Option<TeamId>,
    /// The policy's reasons for the classification.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Raised after the fact (break-glass).
    #[serde(default)]
    pub retroactive: bool,
    /// Links (pipeline run, dashboards).
    #[serde(default)]
    pub links: Vec<Link>,
}

/// Which changes to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeFilter {
    /// Only this service.
    pub service: Option<ServiceId>,
    /// Only this version.
    pub version: Option<Version>,
    /// Only this environment.
    pub environment: Option<Environment>,
    /// Only these states (empty = any).
    #[serde(default)]
    pub states: Vec<ChangeState>,
}

/// One approver's record on a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The approval's id in its system (a `sysapproval_approver` sys_id, a JSM approval id).
    pub id: String,
    /// Who is asked to approve, when known.
    #[serde(default)]
    pub approver: Option<Person>,
    /// This approver's state.
    pub state: ApprovalState,
    /// The approver's comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// When the approver decided.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

/// A change manager's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// Approve (`true`) or reject (`false`).
    pub approve: bool,
    /// Who decides.
    pub by: Person,
    /// Why.
    #[serde(default)]
    pub comment: Option<String>,
}

/// How a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseCode {
    /// Implemented as planned.
    Successful,
    /// Implemented with issues that did not require backout.
    SuccessfulWithIssues,
    /// Failed or backed out.
    Unsuccessful,
}

/// Closing a change: the close code and notes carrying the deployment facts (C4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    /// How it ended.
    pub code: CloseCode,
    /// Free text: deployment facts (times, outcome, pipeline run, artifact).
    pub notes: String,
    /// When the deployment finished.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

/// Something that clashes with a change's window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// What kind of clash.
    pub kind: ConflictKind,
    /// A sentence for a person.
    pub description: String,
    /// The window it applies to, when known.
    #[serde(default)]
    pub window: Option<Window>,
    /// The clashing record, when there is one.
    #[serde(default)]
    pub with: Option<ExternalRef>,
}

/// Kinds of conflict, after ServiceNow's conflict detection.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// A freeze / blackout window.
    Blackout,
    /// Outside the service's maintenance window.
    MaintenanceWindow,
    /// Another change scheduled on the same service.
    ConcurrentChange,
    /// Anything else the system reports.
    Other,
}

macro_rules! display_as_str {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The name used in JSON, configuration and messages (`snake_case`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(<$ty>::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

display_as_str!(ChangeState {
    New => "new",
    Assess => "assess",
    Authorize => "authorize",
    Scheduled => "scheduled",
    Implement => "implement",
    Review => "review",
    Closed => "closed",
    Canceled => "canceled",
});

display_as_str!(ApprovalState {
    NotRequested => "not_requested",
    Requested => "requested",
    Approved => "approved",
    Rejected => "rejected",
});

display_as_str!(CloseCode {
    Successful => "successful",
    SuccessfulWithIssues => "successful_with_issues",
    Unsuccessful => "unsuccessful",
});

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn window_is_half_open() {
        let w = Window {
            start: datetime!(2026-05-01 10:00 UTC),
            end: datetime!(2026-05-01 12:00 UTC),
        };
        assert!(w.contains(datetime!(2026-05-01 10:00 UTC)));
        assert!(w.contains(datetime!(2026-05-01 11:59:59 UTC)));
        assert!(!w.contains(datetime!(2026-05-01 12:00 UTC)));
        assert!(!w.contains(datetime!(2026-05-01 09:59:59 UTC)));
    }

    #[test]
    fn change_request_reads_tolerantly() {
        // Unknown fields are ignored, optional ones may be absent.
        let json = r#"{
            "id": "CHG0030001", "kind": "normal", "state": "authorize",
            "approval": "requested", "service": "checkout", "version": "1.4.2",
            "environment": "Production", "summary": "Deploy checkout 1.4.2",
            "vendor_extra": {"anything": [1, 2, 3]}
        }"#;
        let change: ChangeRequest = serde_json::from_str(json).unwrap();
        assert_eq!(change.id.as_str(), "CHG0030001");
        assert_eq!(change.kind, ChangeKind::Normal);
        assert_eq!(change.state, ChangeState::Authorize);
        assert!(change.environment.is_production());
        assert!(change.window.is_none() && change.commits.is_empty());

        let bad = json.replace("\"1.4.2\"", "\"\"");
        let err = serde_json::from_str::<ChangeRequest>(&bad).unwrap_err();
        assert!(
            err.to_string().contains("version must not be empty"),
            "{err}"
        );
    }

    #[test]
    fn names_match_serde() {
        for state in [
            ChangeState::New,
            ChangeState::Authorize,
            ChangeState::Canceled,
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        for approval in [ApprovalState::NotRequested, ApprovalState::Rejected] {
            assert_eq!(
                serde_json::to_value(approval).unwrap(),
                approval.to_string()
            );
        }
        let code = CloseCode::SuccessfulWithIssues;
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
    }

    #[test]
    fn terminal_states() {
        assert!(ChangeState::Closed.is_terminal());
        assert!(ChangeState::Canceled.is_terminal());
        assert!(!ChangeState::Implement.is_terminal());
    }
}
