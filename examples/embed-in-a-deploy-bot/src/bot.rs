//! [`DeployBot`]: one production deployment through the library: gate, deploy, finish.

use std::sync::Arc;

use itsm_change::{Deployment, DeploymentResult, GateVerdict};
use itsm_core::{Clock, Result};
use itsm_pipeline::{Artifact, Finished, MemoryStepLog, Pipeline, StepLog};

use crate::deployer::Deployer;

/// A deploy bot that runs the production path of one deployment through
/// [`itsm_pipeline::Pipeline`]: the gate, the deployment (through its [`Deployer`]), and the
/// finish step (close the change, record the deployment, send the change event).
///
/// It never deploys unless the gate allows it, and it deploys at most once per deployment:
/// the outcome is remembered in a [`StepLog`] before the finish step, so running the bot
/// again after a failed finish (the paging platform was down, say) completes the finish
/// without deploying again.
#[derive(Debug, Clone)]
pub struct DeployBot {
    pipeline: Pipeline,
    deployer: Arc<dyn Deployer>,
    clock: Arc<dyn Clock>,
    steps: Arc<dyn StepLog>,
}

/// What [`DeployBot::run`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The gate denied the deployment (no approved change, outside its window, a freeze):
    /// nothing was deployed, closed, recorded or sent. Get the change approved.
    Denied {
        /// The gate's one line.
        reason: String,
    },
    /// The gate could not read the change backend, so it failed closed: nothing was
    /// deployed, closed, recorded or sent. Run the bot again later.
    CannotVerify {
        /// The gate's one line.
        reason: String,
    },
    /// The deployment ran (it may have failed: see [`DeployReport::succeeded`]) and the
    /// finish step completed.
    Deployed(Box<DeployReport>),
}

impl Outcome {
    /// Whether the deployment ran and succeeded.
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Deployed(report) if report.succeeded())
    }
}

/// A deployment that ran, and what the finish step did after it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployReport {
    /// The gate's one line; `None` when an earlier run passed the gate and deployed.
    pub gate: Option<String>,
    /// How the deployment ended, as the deployer reported it (on a resumed run, only
    /// whether it succeeded is remembered).
    pub result: DeploymentResult,
    /// The closed change, the ledger record and the change event.
    pub finished: Finished,
    /// `true` when an earlier run deployed and this run only completed the finish step.
    pub resumed: bool,
}

impl DeployReport {
    /// Whether the deployment succeeded.
    pub fn succeeded(&self) -> bool {
        self.result.succeeded
    }
}

impl DeployBot {
    /// A bot over `pipeline` (built with a ledger, a paging platform and a durable step
    /// log for the full production path) deploying through `deployer`. It remembers
    /// deployments in memory until [`with_step_log`](DeployBot::with_step_log) gives it a
    /// durable log.
    pub fn new(pipeline: Pipeline, deployer: Arc<dyn Deployer>, clock: Arc<dyn Clock>) -> Self {
        DeployBot {
            pipeline,
            deployer,
            clock,
            steps: Arc::new(MemoryStepLog::new()),
        }
    }

    /// Remembers which deployments ran, and how they ended, in `steps`. A durable log (the
    /// embedded store, `itsm_local::LocalStore`) makes "deploy at most once" hold across
    /// processes, which a re-run of the bot is.
    pub fn with_step_log(mut self, steps: Arc<dyn StepLog>) -> Self {
        self.steps = steps;
        self
    }

    /// The pipeline the bot runs (for raising the change before it).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Runs the production path of `deployment` with `artifact`: the gate; then, only when
    /// it allows, the deployment; then the finish step (close the change as successful or
    /// unsuccessful, record the deployment in the ledger, send the change event).
    ///
    /// Safe to re-run. When an earlier run deployed, this one skips the gate and the
    /// deployment and runs the finish step again, which completes what is missing and
    /// repeats nothing.
    ///
    /// # Errors
    ///
    /// - the step log cannot be read, or cannot remember a deployment that just ran (the
    ///   error says how it ended; the change is not closed yet);
    /// - the finish step failed (the error names the part); the deployment is remembered,
    ///   so running the bot again finishes it without deploying again.
    pub async fn run(&self, deployment: &Deployment, artifact: &Artifact) -> Result<Outcome> {
        if let Some(succeeded) = self.ran_earlier(deployment).await? {
            let result = DeploymentResult {
                succeeded,
                started_at: None,
                finished_at: None,
                notes: Some(
                    "Finished by a re-run of the deploy bot; the deployment ran in an earlier run."
                        .to_owned(),
                ),
            };
            return self.finish(deployment, artifact, None, result, true).await;
        }

        let gate = match self.pipeline.gate(deployment).await {
            GateVerdict::Allowed { reason, .. } => reason,
            GateVerdict::Denied { reason, .. } => return Ok(Outcome::Denied { reason }),
            GateVerdict::CannotVerify { reason, .. } => {
                return Ok(Outcome::CannotVerify { reason });
            }
        };

        let result = match self.deployer.deploy(deployment, artifact).await {
            Ok(result) => result,
            Err(e) => DeploymentResult {
                succeeded: false,
                started_at: None,
                finished_at: Some(self.clock.now()),
                notes: Some(format!(
                    "The deployer could not say how the deployment ended: {e}"
                )),
            },
        };
        let at = result.finished_at.unwrap_or_else(|| self.clock.now());
        self.steps
            .mark_done(&ran_step(deployment, result.succeeded), at)
            .await
            .map_err(|e| {
                e.with_context(
                    "deployment",
                    format!(
                        "{} {} to {} ran and {}, but the bot could not remember it, so the \
                         change is not closed; fix the step log's store, then close the change \
                         with `itsm change close` (running the bot again would deploy again)",
                        deployment.service,
                        deployment.version,
                        deployment.environment,
                        outcome_word(result.succeeded)
                    ),
                )
            })?;
        self.finish(deployment, artifact, Some(gate), result, false)
            .await
    }

    async fn finish(
        &self,
        deployment: &Deployment,
        artifact: &Artifact,
        gate: Option<String>,
        result: DeploymentResult,
        resumed: bool,
    ) -> Result<Outcome> {
        let finished = self
            .pipeline
            .finish(deployment, &result, Some(artifact))
            .await
            .map_err(|e| {
                e.with_context(
                    "deployment",
                    format!(
                        "ran and {}; run the bot again to finish it (it will not deploy again)",
                        outcome_word(result.succeeded)
                    ),
                )
            })?;
        Ok(Outcome::Deployed(Box::new(DeployReport {
            gate,
            result,
            finished,
            resumed,
        })))
    }

    /// How the deployment ended when an earlier run deployed it.
    async fn ran_earlier(&self, deployment: &Deployment) -> Result<Option<bool>> {
        for succeeded in [true, false] {
            if self.steps.is_done(&ran_step(deployment, succeeded)).await? {
                return Ok(Some(succeeded));
            }
        }
        Ok(None)
    }
}

/// The step-log entry of a deployment that ran, by how it ended.
fn ran_step(deployment: &Deployment, succeeded: bool) -> String {
    format!(
        "deploy-bot/{}/{}",
        deployment.step_key("deploy"),
        outcome_word(succeeded)
    )
}

fn outcome_word(succeeded: bool) -> &'static str {
    if succeeded { "succeeded" } else { "failed" }
}
