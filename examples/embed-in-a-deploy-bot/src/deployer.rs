//! The bot's own port to the thing that deploys ([`Deployer`]), and a simulated one
//! ([`SimulatedDeployer`]) that succeeds or fails as configured.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use itsm_change::{Deployment, DeploymentResult};
use itsm_core::{Clock, Result};
use itsm_pipeline::Artifact;

/// What actually rolls an artifact out: Argo CD, a Helm release, an SSH script.
///
/// The deploy bot calls it only after the gate allowed the deployment, and at most once per
/// deployment (a re-run of the bot finds the outcome in its step log instead).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Deployer: Send + Sync + Debug {
    /// Deploys `artifact` as `deployment` and reports how it ended.
    ///
    /// A deployment that ran and failed (health checks failed, rolled back) is `Ok` with
    /// `succeeded: false`. An `Err` means the deployer cannot say how it ended; the bot
    /// records that as a failed deployment too, with the error in the close notes.
    async fn deploy(
        &self,
        deployment: &Deployment,
        artifact: &Artifact,
    ) -> Result<DeploymentResult>;
}

/// A [`Deployer`] that deploys nothing: it reports success, or a rolled-back failure, as
/// configured, with the clock's time as start and finish.
#[derive(Debug)]
pub struct SimulatedDeployer {
    clock: Arc<dyn Clock>,
    fail: bool,
    attempts: AtomicUsize,
}

impl SimulatedDeployer {
    /// A deployer whose deployments succeed.
    pub fn succeeding(clock: Arc<dyn Clock>) -> Self {
        SimulatedDeployer {
            clock,
            fail: false,
            attempts: AtomicUsize::new(0),
        }
    }

    /// A deployer whose deployments fail their health checks and are rolled back.
    pub fn failing(clock: Arc<dyn Clock>) -> Self {
        SimulatedDeployer {
            fail: true,
            ..Self::succeeding(clock)
        }
    }

    /// How many deployments were attempted.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Deployer for SimulatedDeployer {
    async fn deploy(
        &self,
        deployment: &Deployment,
        artifact: &Artifact,
    ) -> Result<DeploymentResult> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let started_at = self.clock.now();
        let (succeeded, notes) = if self.fail {
            (
                false,
                format!(
                    "Simulated: {} {} ({}) failed its health checks and was rolled back.",
                    deployment.service, deployment.version, artifact.digest
                ),
            )
        } else {
            (
                true,
                format!(
                    "Simulated: {} {} ({}) rolled out and passed its health checks.",
                    deployment.service, deployment.version, artifact.digest
                ),
            )
        };
        Ok(DeploymentResult {
            succeeded,
            started_at: Some(started_at),
            finished_at: Some(self.clock.now()),
            notes: Some(notes),
        })
    }
}
