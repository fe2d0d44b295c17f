//! Records and stores shared by the ledger benchmarks and the load example.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use itsm_audit::{NewDeployment, Outcome};
use itsm_core::{
    Clock, CommitId, Environment, IdempotencyKey, Person, PipelineRunId, ServiceId, SystemClock,
    Version,
};
use time::Duration;
use time::macros::datetime;

/// The wall clock.
pub fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A realistic deployment, varied by `i`.
pub fn deployment(i: usize) -> NewDeployment {
    let finished_at = datetime!(2026-05-01 10:00 UTC) + Duration::seconds(i as i64);
    NewDeployment {
        service: ServiceId::new(format!("service-{}", i % 50)).unwrap(),
        version: Version::new(format!("2.{}.{}", i / 1000, i % 1000)).unwrap(),
        environment: Environment::new(if i.is_multiple_of(4) {
            "staging"
        } else {
            "production"
        })
        .unwrap(),
        started_at: finished_at - Duration::minutes(6),
        finished_at,
        deployer: Person::named("release-pipeline"),
        outcome: Outcome::Succeeded,
        commit: CommitId::new(format!("{i:040x}")).unwrap(),
        artifact_digest: format!("sha256:{i:064x}"),
        pipeline_run: PipelineRunId::new(format!("gh-{i}")).unwrap(),
        pipeline_url: None,
        first_commit_at: Some(finished_at - Duration::hours(5)),
        change: None,
    }
}

/// `n` records keyed `prefix-<start + i>`.
pub fn batch(prefix: &str, start: usize, n: usize) -> Vec<(IdempotencyKey, NewDeployment)> {
    (start..start + n)
        .map(|i| {
            (
                IdempotencyKey::new(format!("{prefix}-{i}")).unwrap(),
                deployment(i),
            )
        })
        .collect()
}
