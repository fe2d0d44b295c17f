//! The SQLite ledger: conformance, tampering, refusals, sharing a file, concurrency.

mod common;

use std::sync::Arc;

use itsm_audit::chain::ChainProblemKind;
use itsm_audit::sqlite::SqliteAuditStore;
use itsm_audit::{AuditStore, capability};
use itsm_core::ErrorKind;
use rusqlite::Connection;
use tempfile::TempDir;

fn open(dir: &TempDir) -> SqliteAuditStore {
    SqliteAuditStore::open(dir.path().join("ledger.db"), common::clock()).unwrap()
}

async fn seeded(n: usize) -> (TempDir, SqliteAuditStore) {
    common::seeded_sqlite(n).await
}

fn raw(store: &SqliteAuditStore) -> Connection {
    common::raw(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let report = itsm_testkit::conformance::audit::run_all(&store).await;
    assert!(report.skipped().is_empty(), "{report:?}");
    assert_eq!(report.passed().len(), 8);
    // Run again on the same ledger: the checks only assume relative facts.
    let report = itsm_testkit::conformance::audit::run_all(&store).await;
    assert_eq!(report.passed().len(), 8);
    let (_, verified) = common::verify_store(&store, 7).await;
    assert!(verified.is_intact(), "{verified:?}");
    assert!(
        store
            .capabilities()
            .supports(capability::CONCURRENT_WRITERS)
    );
    assert!(format!("{store:?}").contains("ledger.db"));
}

#[tokio::test]
async fn seqs_start_at_one_and_chain_from_genesis() {
    let (_dir, store) = seeded(3).await;
    let all = store.scan(1, 100).await.unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[0].prev_hash, itsm_audit::RecordHash::GENESIS);
    assert_eq!(store.head().await.unwrap(), 3);
    assert_eq!(store.scan(3, 10).await.unwrap().len(), 1);
    assert!(store.scan(4, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn updated_body_is_named_as_changed() {
    let (_dir, store) = seeded(10).await;
    raw(&store)
        .execute(
            // Same length, so that the body still reads as a deployment.
            "UPDATE audit_deployment SET body = CAST(replace(body, 'gh-6', 'gh-9') AS BLOB) \
             WHERE seq = 6",
            [],
        )
        .unwrap();
    let (_, report) = common::verify_store(&store, 3).await;
    let problem = report.first_problem.expect("tampering found");
    assert_eq!(
        (problem.seq, problem.kind),
        (6, ChainProblemKind::Changed),
        "{problem}"
    );
    assert_eq!(report.checked, 5);
}

#[tokio::test]
async fn deleted_row_is_named_as_removed() {
    let (_dir, store) = seeded(10).await;
    raw(&store)
        .execute("DELETE FROM audit_deployment WHERE seq = 4", [])
        .unwrap();
    let (_, report) = common::verify_store(&store, 3).await;
    let problem = report.first_problem.expect("tampering found");
    assert_eq!(
        (problem.seq, problem.kind),
        (4, ChainProblemKind::Removed),
        "{problem}"
    );
}

#[tokio::test]
async fn swapped_rows_are_named_as_reordered() {
    let (_dir, store) = seeded(10).await;
    raw(&store)
        .execute_batch(
            "UPDATE audit_deployment SET seq = -1 WHERE seq = 7;
             UPDATE audit_deployment SET seq = 7 WHERE seq = 8;
             UPDATE audit_deployment SET seq = 8 WHERE seq = -1;",
        )
        .unwrap();
    let (_, report) = common::verify_store(&store, 4).await;
    let problem = report.first_problem.expect("tampering found");
    assert_eq!(
        (problem.seq, problem.kind),
        (7, ChainProblemKind::Reordered),
        "{problem}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_written() {
    let (_dir, store) = seeded(2).await;
    let mut backwards = common::deployment(50);
    backwards.finished_at = backwards.started_at - time::Duration::seconds(1);
    let err = store
        .append(&common::key("bad", 1), &backwards)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("before it starts"), "{err}");
    let mut empty = common::deployment(51);
    empty.artifact_digest = String::new();
    let err = store
        .append(&common::key("bad", 2), &empty)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("digest"), "{err}");
    let mut batch = common::batch("b", 1, 5);
    batch[3].1 = empty;
    let err = store.append_batch(&batch).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.context_value("key"), Some("b-4"));
    assert_eq!(store.head().await.unwrap(), 2);
    assert!(
        store
            .find_by_key(&common::key("b", 1))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn batch_failing_inside_the_transaction_writes_nothing() {
    let (_dir, store) = seeded(2).await;
    raw(&store)
        .execute_batch(
            "CREATE TRIGGER refuse AFTER INSERT ON audit_deployment WHEN NEW.key = 'fail-3'
             BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END;",
        )
        .unwrap();
    let err = store
        .append_batch(&common::batch("fail", 1, 5))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.to_string().contains("refused by test trigger"), "{err}");
    assert_eq!(store.head().await.unwrap(), 2);
    assert!(
        store
            .find_by_key(&common::key("fail", 1))
            .await
            .unwrap()
            .is_none()
    );
    // The writer goes on working after a failed batch.
    let ok = store
        .append_batch(&common::batch("ok", 1, 3))
        .await
        .unwrap();
    assert_eq!(ok.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4, 5]);
}

#[tokio::test]
async fn idempotent_append_returns_the_first_record() {
    let (_dir, store) = seeded(3).await;
    let first = store
        .append(&common::key("seed", 2), &common::deployment(99))
        .await
        .unwrap();
    assert_eq!(first.seq, 2);
    assert_eq!(first.deployment, common::deployment(2));
    let again = store
        .append_batch(&common::batch("seed", 1, 4))
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(store.head().await.unwrap(), 4);
}

#[tokio::test]
async fn corrupt_body_is_an_internal_error_naming_the_record() {
    let (_dir, store) = seeded(5).await;
    raw(&store)
        .execute(
            "UPDATE audit_deployment SET body = '{not json' WHERE seq = 3",
            [],
        )
        .unwrap();
    let err = store.scan(1, 10).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.to_string().contains("ledger record 3"), "{err}");
    assert_eq!(err.context_value("seq"), Some("3"));
    raw(&store)
        .execute("UPDATE audit_deployment SET hash = x'00' WHERE seq = 4", [])
        .unwrap();
    let err = store.scan(4, 1).await.unwrap_err();
    assert!(err.to_string().contains("not 32"), "{err}");
}

#[tokio::test]
async fn shares_a_file_with_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("itsm.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 3;
             CREATE TABLE change_request (seq INTEGER PRIMARY KEY, id TEXT NOT NULL);
             INSERT INTO change_request (id) VALUES ('CHG0000001');",
        )
        .unwrap();
    }
    let store = SqliteAuditStore::open(&path, common::clock()).unwrap();
    store.append_batch(&common::batch("k", 1, 3)).await.unwrap();
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3, "the ledger must not touch user_version");
    conn.execute("INSERT INTO change_request (id) VALUES ('CHG0000002')", [])
        .unwrap();
    let changes: i64 = conn
        .query_row("SELECT COUNT(*) FROM change_request", [], |r| r.get(0))
        .unwrap();
    assert_eq!(changes, 2);
    drop(store);
    let reopened = SqliteAuditStore::open(&path, common::clock()).unwrap();
    assert_eq!(reopened.head().await.unwrap(), 3);
    let record = reopened
        .append(&common::key("k", 4), &common::deployment(4))
        .await
        .unwrap();
    assert_eq!(record.seq, 4);
    let (_, report) = common::verify_store(&reopened, 100).await;
    assert!(report.is_intact(), "{report:?}");
}

#[tokio::test]
async fn newer_ledger_schema_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    raw(&store)
        .execute("UPDATE audit_schema SET version = 99", [])
        .unwrap();
    let err = SqliteAuditStore::open(store.path(), common::clock()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("upgrade itsm"), "{err}");
    let err = SqliteAuditStore::open(dir.path(), common::clock()).unwrap_err();
    assert!(err.to_string().contains("check --db / ITSM_DB"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appenders_and_two_stores_keep_the_chain_intact() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir);
    let b = open(&dir);
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let store: Arc<dyn AuditStore> = Arc::new(if worker % 2 == 0 {
            a.clone()
        } else {
            b.clone()
        });
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                store
                    .append(
                        &common::key(&format!("w{worker}"), i),
                        &common::deployment(i),
                    )
                    .await
                    .unwrap();
            }
            store
                .append_batch(&common::batch(&format!("wb{worker}"), 0, 10))
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (all, report) = common::verify_store(&a, 97).await;
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(all.len(), 16 * 35);
    assert_eq!(b.head().await.unwrap(), 16 * 35);
    assert!(all.iter().enumerate().all(|(i, r)| r.seq == i as u64 + 1));
}
