//! What each workflow call did, step by step, and how a partial failure is reported.

use std::fmt;

use itsm_core::{Capabilities, Capability, Error, Result};
use serde::{Deserialize, Serialize};

/// One step of a workflow call, on one side (ticketing or paging).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Open the incident in the ticketing system (I2).
    CreateIncident,
    /// Page the on-call member (I1).
    TriggerPage,
    /// Link the page onto the incident (I2, both ways).
    LinkPage,
    /// Note the incident on a page that existed before it (I2, both ways).
    NoteIncidentOnPage,
    /// Find the page of an incident by its alert key.
    FindPage,
    /// Acknowledge the incident (I3).
    AcknowledgeIncident,
    /// Acknowledge the page (I3).
    AcknowledgePage,
    /// Reassign the incident (I4).
    ReassignIncident,
    /// Reassign the page to the team (I4).
    ReassignPage,
    /// Add a note to the incident (I6).
    NoteIncident,
    /// Add a note to the page (I6).
    NotePage,
    /// Resolve the incident (I7).
    ResolveIncident,
    /// Resolve the page (I7).
    ResolvePage,
    /// Notify the incident manager of a major incident (I5).
    NotifyIncidentManager,
    /// Request the incident manager as responder on the page (I5).
    PageIncidentManager,
    /// Look up who is on call for a team (I5).
    LookUpOnCall,
    /// Request a team as responder on the page (I5).
    PageTeam,
    /// Notify a team of a major incident (I5).
    NotifyTeam,
    /// Note on the incident the teams without an out-of-hours rotation (I5).
    NoteUncoveredTeams,
    /// Flag the incident as major (I5); done last, so a retry redoes what failed before it.
    MarkMajor,
}

impl Step {
    /// The step's stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::CreateIncident => "create_incident",
            Step::TriggerPage => "trigger_page",
            Step::LinkPage => "link_page",
            Step::NoteIncidentOnPage => "note_incident_on_page",
            Step::FindPage => "find_page",
            Step::AcknowledgeIncident => "acknowledge_incident",
            Step::AcknowledgePage => "acknowledge_page",
            Step::ReassignIncident => "reassign_incident",
            Step::ReassignPage => "reassign_page",
            Step::NoteIncident => "note_incident",
            Step::NotePage => "note_page",
            Step::ResolveIncident => "resolve_incident",
            Step::ResolvePage => "resolve_page",
            Step::NotifyIncidentManager => "notify_incident_manager",
            Step::PageIncidentManager => "page_incident_manager",
            Step::LookUpOnCall => "look_up_on_call",
            Step::PageTeam => "page_team",
            Step::NotifyTeam => "notify_team",
            Step::NoteUncoveredTeams => "note_uncovered_teams",
            Step::MarkMajor => "mark_major",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a step ended (a failed step makes the whole call an error, see [`Step`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum StepStatus {
    /// Done by this call.
    Done,
    /// Found already done (a re-run).
    AlreadyDone,
    /// Not done, and not needed or not possible: the reason says which (an unsupported
    /// capability, a profile that does not page).
    Skipped(String),
}

/// One step and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    /// The step.
    pub step: Step,
    /// What it concerned when a call repeats a step (a team id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// How it ended.
    pub status: StepStatus,
}

/// Collects step results; any failure turns the call into one error that names every
/// failed step and every step that succeeded, so a retry of the whole call is safe.
#[derive(Debug, Default)]
pub(crate) struct Steps {
    reports: Vec<StepReport>,
    failures: Vec<(Step, Option<String>, Error)>,
}

impl Steps {
    pub(crate) fn push(&mut self, step: Step, about: Option<&str>, status: StepStatus) {
        self.reports.push(StepReport {
            step,
            about: about.map(str::to_owned),
            status,
        });
    }

    pub(crate) fn already(&mut self, step: Step) {
        self.push(step, None, StepStatus::AlreadyDone);
    }

    pub(crate) fn skip(&mut self, step: Step, reason: impl Into<String>) {
        self.push(step, None, StepStatus::Skipped(reason.into()));
    }

    /// Skips `step` when `caps` lacks `capability`; returns whether it was skipped.
    pub(crate) fn skip_unsupported(
        &mut self,
        step: Step,
        about: Option<&str>,
        caps: &Capabilities,
        capability: Capability,
    ) -> bool {
        match caps.require(capability) {
            Ok(()) => false,
            Err(e) => {
                self.push(step, about, StepStatus::Skipped(e.message().to_owned()));
                true
            }
        }
    }

    pub(crate) fn fail(&mut self, step: Step, about: Option<&str>, error: Error) {
        self.failures.push((step, about.map(str::to_owned), error));
    }

    /// Records `result` as done or failed; the value when done.
    pub(crate) fn record<T>(&mut self, step: Step, result: Result<T>) -> Option<T> {
        self.record_about(step, None, result)
    }

    /// Like [`record`](Self::record), for a step about one thing (a team).
    pub(crate) fn record_about<T>(
        &mut self,
        step: Step,
        about: Option<&str>,
        result: Result<T>,
    ) -> Option<T> {
        match result {
            Ok(value) => {
                self.push(step, about, StepStatus::Done);
                Some(value)
            }
            Err(e) => {
                self.fail(step, about, e);
                None
            }
        }
    }

    pub(crate) fn has_failures(&self) -> bool {
        !self.failures.is_empty()
    }

    /// The reports when every step succeeded or was skipped; otherwise one error of the
    /// first failure's kind that names every failed step (context `failed_step`) and every
    /// step done, for the call described by `what`.
    pub(crate) fn finish(self, what: &str) -> Result<Vec<StepReport>> {
        let mut failures = self.failures.into_iter();
        let Some((step, about, first)) = failures.next() else {
            return Ok(self.reports);
        };
        let name = |step: Step, about: &Option<String>| match about {
            Some(about) => format!("{step} ({about})"),
            None => step.to_string(),
        };
        let mut message = format!("{what}: {} failed: {}", name(step, &about), first.message());
        let mut error_context = vec![name(step, &about)];
        let mut retryable = first.is_retryable();
        for (step, about, error) in failures {
            message.push_str(&format!(
                "; {} failed: {}",
                name(step, &about),
                error.message()
            ));
            error_context.push(name(step, &about));
            retryable &= error.is_retryable();
        }
        let done: Vec<String> = self
            .reports
            .iter()
            .filter(|r| !matches!(r.status, StepStatus::Skipped(_)))
            .map(|r| name(r.step, &r.about))
            .collect();
        if done.is_empty() {
            message.push_str("; nothing else was done");
        } else {
            message.push_str(&format!("; done: {}", done.join(", ")));
        }
        message.push_str("; retrying the whole call completes the missing steps");
        let mut error = Error::new(first.kind(), message).with_retryable(retryable);
        for failed in error_context {
            error = error.with_context("failed_step", failed);
        }
        if let Some(after) = first.retry_after() {
            error = error.with_retry_after(after);
        }
        Err(error.with_source(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use itsm_core::ErrorKind;

    #[test]
    fn a_failure_names_the_failed_and_the_done_steps() {
        let mut steps = Steps::default();
        steps.push(Step::CreateIncident, None, StepStatus::Done);
        steps.skip(Step::LinkPage, "no page");
        steps.fail(
            Step::TriggerPage,
            None,
            Error::new(ErrorKind::Unavailable, "pager down"),
        );
        let err = steps.finish("alert a/1").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.is_retryable());
        assert_eq!(err.context_value("failed_step"), Some("trigger_page"));
        let text = err.to_string();
        assert!(
            text.contains("alert a/1: trigger_page failed: pager down"),
            "{text}"
        );
        assert!(text.contains("done: create_incident;"), "{text}");
        assert!(!text.contains("link_page"), "{text}");
    }

    #[test]
    fn without_failures_the_reports_are_returned() {
        let mut steps = Steps::default();
        steps.already(Step::CreateIncident);
        assert!(!steps.has_failures());
        let reports = steps.finish("x").unwrap();
        assert_eq!(reports[0].status, StepStatus::AlreadyDone);
    }
}
