//! Helpers shared by the ledger's integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use itsm_audit::{AuditStore, DeploymentRecord, NewDeployment, Outcome, chain};
use itsm_core::{
    Clock, CommitId, Environment, IdempotencyKey, ManualClock, Person, PipelineRunId, ServiceId,
    Version,
};
use time::Duration;
use time::macros::datetime;

/// A clock stopped at a fixed instant.
pub(crate) fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(datetime!(2026-06-01 12:00 UTC)))
}

/// A key made of `prefix` and `i`.
pub(crate) fn key(prefix: &str, i: usize) -> IdempotencyKey {
    IdempotencyKey::new(format!("{prefix}-{i}")).unwrap()
}

/// A valid deployment, varied by `i`.
pub(crate) fn deployment(i: usize) -> NewDeployment {
    let finished_at = datetime!(2026-05-01 10:00 UTC) + Duration::minutes(i as i64);
    NewDeployment {
        service: ServiceId::new(format!("svc-{}", i % 7)).unwrap(),
        version: Version::new(format!("1.{}.{}", i / 100, i % 100)).unwrap(),
        environment: Environment::new(if i.is_multiple_of(3) {
            "staging"
        } else {
            "production"
        })
        .unwrap(),
        started_at: finished_at - Duration::minutes(4),
        finished_at,
        deployer: Person::named("pipeline"),
        outcome: if i.is_multiple_of(10) {
            Outcome::Failed
        } else {
            Outcome::Succeeded
        },
        commit: CommitId::new(format!("9f2c1e{i:06x}")).unwrap(),
        artifact_digest: format!("sha256:{i:064x}"),
        pipeline_run: PipelineRunId::new(format!("gh-{i}")).unwrap(),
        pipeline_url: None,
        first_commit_at: Some(finished_at - Duration::hours(3)),
        change: None,
    }
}

/// `n` records for one batch, keys `prefix-<start+i>`.
pub(crate) fn batch(prefix: &str, start: usize, n: usize) -> Vec<(IdempotencyKey, NewDeployment)> {
    (start..start + n)
        .map(|i| (key(prefix, i), deployment(i)))
        .collect()
}

/// Scans the whole ledger in pages of `page` and verifies it.
pub(crate) async fn verify_store(
    store: &dyn AuditStore,
    page: u32,
) -> (Vec<DeploymentRecord>, chain::VerifyReport) {
    let mut all = Vec::new();
    let mut from = 1;
    loop {
        let records = store.scan(from, page).await.unwrap();
        let Some(last) = records.last() else { break };
        from = last.seq + 1;
        all.extend(records);
    }
    let report = chain::verify(all.clone());
    (all, report)
}

/// A SQLite ledger in a fresh directory with `n` records keyed `seed-1`...
pub(crate) async fn seeded_sqlite(
    n: usize,
) -> (tempfile::TempDir, itsm_audit::sqlite::SqliteAuditStore) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        itsm_audit::sqlite::SqliteAuditStore::open(dir.path().join("ledger.db"), clock()).unwrap();
    store.append_batch(&batch("seed", 1, n)).await.unwrap();
    (dir, store)
}

/// A connection of its own to `store`'s database, to read or damage it behind its back.
pub(crate) fn raw(store: &itsm_audit::sqlite::SqliteAuditStore) -> rusqlite::Connection {
    rusqlite::Connection::open(store.path()).unwrap()
}
