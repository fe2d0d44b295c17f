//! What the finish step writes, derived from the deployment: the ledger record and the
//! paging platform's change event.

use std::collections::BTreeMap;

use itsm_audit::{ChangeEvidence, NewDeployment, Outcome};
use itsm_change::{ApprovalState, ChangeRequest, Deployment, DeploymentResult};
use itsm_core::{Error, ExternalRef, Person, Result};
use itsm_incident::ChangeEvent;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What the audit ledger needs beyond the deployment's change facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// The deployed artifact's digest (`sha256:...`).
    pub digest: String,
    /// When the first commit shipped by this deployment was made (for lead time); `None`
    /// leaves the deployment out of lead-time figures.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub first_commit_at: Option<OffsetDateTime>,
}

impl Artifact {
    /// An artifact by its digest, without a first-commit time.
    pub fn new(digest: impl Into<String>) -> Self {
        Artifact {
            digest: digest.into(),
            first_commit_at: None,
        }
    }

    /// Sets when the first shipped commit was made.
    pub fn with_first_commit_at(mut self, at: OffsetDateTime) -> Self {
        self.first_commit_at = Some(at);
        self
    }
}

/// The ledger record of a finished deployment, checked before anything is written.
///
/// `finished` stands in for a missing `result.finished_at` (and a missing start).
pub(crate) fn ledger_record(
    d: &Deployment,
    result: &DeploymentResult,
    artifact: &Artifact,
    finished: OffsetDateTime,
) -> Result<NewDeployment> {
    let commit = d.commits.last().cloned().ok_or_else(|| {
        Error::invalid_input(format!(
            "recording {} {} in {} in the audit ledger needs the deployed commit; \
             add it to the deployment's commits (`--commit` on the command line)",
            d.service, d.version, d.environment
        ))
    })?;
    let finished = result.finished_at.unwrap_or(finished);
    let record = NewDeployment {
        service: d.service.clone(),
        version: d.version.clone(),
        environment: d.environment.clone(),
        started_at: result.started_at.unwrap_or(finished),
        finished_at: finished,
        deployer: d
            .requested_by
            .clone()
            .unwrap_or_else(|| Person::named("pipeline")),
        outcome: if result.succeeded {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        },
        commit,
        artifact_digest: artifact.digest.clone(),
        pipeline_run: d.pipeline_run.clone(),
        pipeline_url: d.links.first().map(|l| l.url.clone()),
        first_commit_at: artifact.first_commit_at,
        change: None,
    };
    record.validate()?;
    Ok(record)
}

/// The change a deployment ran under, as the ledger keeps it.
pub fn evidence(change: &ChangeRequest) -> ChangeEvidence {
    ChangeEvidence {
        reference: change
            .external
            .clone()
            .unwrap_or_else(|| ExternalRef::new("local", change.id.as_str())),
        approved: change.approval == ApprovalState::Approved,
        version: change.version.clone(),
        window_start: change.window.map(|w| w.start),
        window_end: change.window.map(|w| w.end),
    }
}

/// The paging platform's change event for a finished deployment.
pub(crate) fn change_event(
    d: &Deployment,
    change: &ChangeRequest,
    result: &DeploymentResult,
    finished: OffsetDateTime,
) -> ChangeEvent {
    let (outcome, word) = if result.succeeded {
        ("success", "deployed")
    } else {
        ("failure", "failed to deploy")
    };
    let mut details = BTreeMap::new();
    details.insert("service".to_owned(), d.service.to_string());
    details.insert("version".to_owned(), d.version.to_string());
    details.insert("environment".to_owned(), d.environment.to_string());
    details.insert("pipeline_run".to_owned(), d.pipeline_run.to_string());
    details.insert(
        "change".to_owned(),
        change
            .number
            .clone()
            .unwrap_or_else(|| change.id.to_string()),
    );
    details.insert("outcome".to_owned(), outcome.to_owned());
    if let Some(commit) = d.commits.last() {
        details.insert("commit".to_owned(), commit.to_string());
    }
    ChangeEvent {
        summary: format!("{} {} {word} to {}", d.service, d.version, d.environment),
        source: "itsm".to_owned(),
        service: d.service.clone(),
        routing: None,
        timestamp: result.finished_at.unwrap_or(finished),
        links: d.links.clone(),
        details,
    }
}
