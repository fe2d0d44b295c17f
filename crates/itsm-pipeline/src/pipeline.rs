//! [`Pipeline`]: raise, gate and finish, one call per pipeline moment.

use std::sync::Arc;

use itsm_audit::{AuditStore, DeploymentRecord};
use itsm_change::RaiseOutcome;
use itsm_change::{ChangeRequest, ChangeWorkflow, Deployment, DeploymentResult, GateVerdict};
use itsm_core::{Clock, Error, ErrorKind, Result, format_instant};
use itsm_incident::Pager;
use serde::Serialize;

use crate::facts::{self, Artifact};
use crate::steps::{MemoryStepLog, StepLog};

/// The three moments a deployment pipeline meets change management, one call each.
///
/// - after the last pre-production step: [`raise`](Pipeline::raise);
/// - before the production deployment: [`gate`](Pipeline::gate), which fails closed;
/// - after it: [`finish`](Pipeline::finish), which closes the change, records the
///   deployment in the audit ledger and sends the change event to the paging platform.
///
/// Every call is keyed by the deployment's service, version, environment and pipeline
/// run, so re-running a step (a retried job) finds what the first run did instead of
/// doing it twice.
#[derive(Debug, Clone)]
pub struct Pipeline {
    changes: ChangeWorkflow,
    clock: Arc<dyn Clock>,
    ledger: Option<Arc<dyn AuditStore>>,
    pager: Option<Arc<dyn Pager>>,
    steps: Arc<dyn StepLog>,
}

/// What [`Pipeline::finish`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finished {
    /// The closed change.
    pub change: ChangeRequest,
    /// The ledger record, when an artifact was given (the same record on a re-run).
    pub recorded: Option<DeploymentRecord>,
    /// The change event, when a paging platform is configured.
    pub change_event: Option<ChangeEventSent>,
}

/// The change event of a finish step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChangeEventSent {
    /// `true` when an earlier run sent it and this one sent nothing.
    pub already: bool,
}

impl Pipeline {
    /// A pipeline over `changes` with no ledger and no paging platform, remembering
    /// one-shot steps in memory (see [`with_step_log`](Pipeline::with_step_log)).
    pub fn new(changes: ChangeWorkflow, clock: Arc<dyn Clock>) -> Self {
        Pipeline {
            changes,
            clock,
            ledger: None,
            pager: None,
            steps: Arc::new(MemoryStepLog::new()),
        }
    }

    /// Records finished deployments in `ledger` (when [`finish`](Pipeline::finish) is
    /// given an [`Artifact`]).
    pub fn with_ledger(mut self, ledger: Arc<dyn AuditStore>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Sends a change event to `pager` when a deployment finishes.
    pub fn with_pager(mut self, pager: Arc<dyn Pager>) -> Self {
        self.pager = Some(pager);
        self
    }

    /// Remembers sent change events in `steps`; a durable log (the embedded store) makes
    /// "once" hold across processes, which a pipeline's re-run is.
    pub fn with_step_log(mut self, steps: Arc<dyn StepLog>) -> Self {
        self.steps = steps;
        self
    }

    /// The change workflow (templates, approvals, emergencies).
    pub fn changes(&self) -> &ChangeWorkflow {
        &self.changes
    }

    /// After the last pre-production step: raises the change the policy decides
    /// (standard or normal), or returns the one this pipeline run already raised.
    /// `dry_run` decides and writes nothing.
    pub async fn raise(&self, deployment: &Deployment, dry_run: bool) -> Result<RaiseOutcome> {
        self.changes.raise(deployment, dry_run).await
    }

    /// Before the production deployment: allowed only with an approved change for exactly
    /// this deployment, inside its window, outside any freeze. Never allowed when the
    /// backend cannot be read ([`GateVerdict::CannotVerify`]).
    pub async fn gate(&self, deployment: &Deployment) -> GateVerdict {
        self.changes.gate(deployment, false).await
    }

    /// After the production deployment: closes the change with the outcome, records the
    /// deployment in the ledger with the change as evidence (when `artifact` is given),
    /// and sends the change event to the paging platform (when one is configured).
    ///
    /// Safe to re-run: the closed change is returned as it is, the ledger returns the
    /// record appended under the deployment's `deploy` key, and the change event is sent
    /// once per pipeline run as far as the [`StepLog`] remembers. Everything is checked
    /// before the first write: bad input changes nothing. When a later part fails, the
    /// error says which, and running the step again completes it.
    pub async fn finish(
        &self,
        deployment: &Deployment,
        result: &DeploymentResult,
        artifact: Option<&Artifact>,
    ) -> Result<Finished> {
        let now = self.clock.now();
        if let (Some(started), Some(finished)) = (result.started_at, result.finished_at)
            && finished < started
        {
            return Err(Error::invalid_input(format!(
                "the deployment finished ({}) before it started ({}); fix the timestamps",
                format_instant(finished),
                format_instant(started)
            )));
        }
        let record = match (artifact, &self.ledger) {
            (Some(artifact), Some(ledger)) => Some((
                ledger,
                facts::ledger_record(deployment, result, artifact, now)?,
            )),
            (Some(_), None) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    "an artifact was given to record, but the pipeline has no audit ledger; \
                     build it with Pipeline::with_ledger",
                ));
            }
            (None, _) => None,
        };

        let change = self.changes.close(deployment, result).await?;

        let recorded = match record {
            Some((ledger, mut record)) => {
                record.change = Some(facts::evidence(&change));
                let key = deployment.step_key("deploy");
                Some(ledger.append(&key, &record).await.map_err(|e| {
                    e.with_context(
                        "step",
                        "record the deployment (the change is closed; run the step again)",
                    )
                })?)
            }
            None => None,
        };

        let change_event = match &self.pager {
            Some(pager) => Some(
                self.send_change_event(pager.as_ref(), deployment, &change, result, now)
                    .await
                    .map_err(|e| {
                        e.with_context(
                            "step",
                            "send the change event (the change is closed and recorded; \
                             run the step again)",
                        )
                    })?,
            ),
            None => None,
        };

        Ok(Finished {
            change,
            recorded,
            change_event,
        })
    }

    async fn send_change_event(
        &self,
        pager: &dyn Pager,
        deployment: &Deployment,
        change: &ChangeRequest,
        result: &DeploymentResult,
        now: time::OffsetDateTime,
    ) -> Result<ChangeEventSent> {
        let key = deployment.step_key("change-event");
        let step = format!("change-event/{key}");
        if self.steps.is_done(&step).await? {
            return Ok(ChangeEventSent { already: true });
        }
        let event = facts::change_event(deployment, change, result, now);
        pager.send_change_event(&key, &event).await?;
        self.steps.mark_done(&step, now).await?;
        Ok(ChangeEventSent { already: false })
    }
}
