//! Keys, services and deployments unique to one check's call, and assertions that name the
//! check and the backend.

use std::fmt::Debug;

use itsm_audit::{AuditStore, DeploymentRecord, NewDeployment, Outcome};
use itsm_core::{
    CommitId, Environment, ErrorKind, IdempotencyKey, Person, PipelineRunId, Result, ServiceId,
    Version,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::conformance::unique_token;

/// The instant the deployments of a check are placed around.
pub(super) const BASE: OffsetDateTime = datetime!(2026-05-01 10:00 UTC);

/// Names, keys and records unique to one check's call.
pub(super) struct Scope {
    pub(super) check: &'static str,
    pub(super) backend: &'static str,
    pub(super) token: String,
}

impl Scope {
    pub(super) fn new(check: &'static str, store: &dyn AuditStore) -> Scope {
        Scope {
            check,
            backend: store.capabilities().backend(),
            token: unique_token(),
        }
    }

    pub(super) fn key(&self, what: &str) -> IdempotencyKey {
        IdempotencyKey::new(format!("conformance/{}/{}/{what}", self.token, self.check))
            .expect("a valid idempotency key")
    }

    pub(super) fn service(&self) -> ServiceId {
        ServiceId::new(format!("conformance-{}-{}", self.token, self.check))
            .expect("a valid service id")
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

    /// Panics unless `result` is an error of `kind`.
    #[track_caller]
    pub(super) fn expect_err<T: Debug>(&self, result: Result<T>, kind: ErrorKind, what: &str) {
        match result {
            Err(e) if e.kind() == kind => {}
            Err(e) => panic!(
                "conformance check {} on the {} backend: {what} should fail with {kind:?}, \
                 but failed with {:?}: {e}",
                self.check,
                self.backend,
                e.kind()
            ),
            Ok(v) => panic!(
                "conformance check {} on the {} backend: {what} should fail with {kind:?}, \
                 but succeeded with {v:?}",
                self.check, self.backend
            ),
        }
    }

    /// Panics with the check and backend unless `condition` holds.
    #[track_caller]
    pub(super) fn expect(&self, condition: bool, what: impl std::fmt::Display) {
        assert!(
            condition,
            "conformance check {} on the {} backend: {what}",
            self.check, self.backend
        );
    }
}
