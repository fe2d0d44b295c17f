//! Keys, services and deployments unique to one check's call, and assertions that name the
//! check and the backend.

use itsm_audit::{AuditStore, DeploymentRecord, NewDeployment, Outcome};
use itsm_core::{CommitId, Environment, IdempotencyKey, Person, PipelineRunId, Version};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::conformance::scope::CheckScope;

/// The instant the deployments of a check are placed around.
pub(super) const BASE: OffsetDateTime = datetime!(2026-05-01 10:00 UTC);

/// Names, keys and records unique to one check's call.
pub(super) struct Scope(CheckScope);

impl std::ops::Deref for Scope {
    type Target = CheckScope;
    fn deref(&self) -> &CheckScope {
        &self.0
    }
}

impl Scope {
    pub(super) fn new(check: &'static str, store: &dyn AuditStore) -> Scope {
        Scope(CheckScope::new(check, store.capabilities().backend()))
    }

    /// A valid deployment of this scope's service to `environment`, finishing `hours`
    /// after [`BASE`].
    pub(super) fn deployment(&self, environment: &str, hours: i64) -> NewDeployment {
        let finished_at = BASE + Duration::hours(hours);
        NewDeployment {
            service: self.service(),
            version: Version::new(format!("1.0.{hours}")).expect("a valid version"),
            environment: Environment::new(environment).expect("a valid environment"),
            started_at: finished_at - Duration::minutes(5),
            finished_at,
            deployer: Person::named("itsm-testkit"),
            outcome: Outcome::Succeeded,
            commit: CommitId::new(format!("c0ffee{hours}")).expect("a valid commit id"),
            artifact_digest: format!("sha256:{}", self.token),
            pipeline_run: PipelineRunId::new(format!("conformance-{}", self.token))
                .expect("a valid pipeline run id"),
            pipeline_url: None,
            first_commit_at: Some(finished_at - Duration::hours(20)),
            change: None,
        }
    }

    /// Panics unless `record` holds `deployment` under `key`.
    #[track_caller]
    pub(super) fn expect_record(
        &self,
        record: &DeploymentRecord,
        key: &IdempotencyKey,
        deployment: &NewDeployment,
    ) {
        self.expect(
            &record.key == key && &record.deployment == deployment && record.seq > 0,
            format!("the record of {key} should hold what was appended: {record:?}"),
        );
        let hash = itsm_audit::chain::record_hash(
            record.seq,
            &record.key,
            &record.deployment,
            record.recorded_at,
            &record.prev_hash,
        );
        self.expect(
            hash == record.hash,
            format!(
                "record {} should carry the hash of its content ({hash}), carries {}",
                record.seq, record.hash
            ),
        );
    }
}
