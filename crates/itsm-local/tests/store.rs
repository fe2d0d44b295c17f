//! Opening, persistence, locking and concurrent use of the database file.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{key, new_change};
use itsm_change::{ChangeFilter, ChangeKind, ChangeSystem};
use itsm_core::{Clock, ErrorKind, ListRequest, SystemClock};
use itsm_local::{LocalStore, OpenOptions};

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/itsm.db");
    let id = {
        let store = LocalStore::open(&path, clock()).unwrap();
        assert_eq!(store.path(), path);
        store
            .create_change(&key("k1"), &new_change(ChangeKind::Normal, "checkout"))
            .await
            .unwrap()
            .id
    };
    let store = LocalStore::open(&path, clock()).unwrap();
    let change = store.get_change(&id).await.unwrap();
    assert_eq!(change.summary, "Deploy checkout 1.0.0");
    assert_eq!(
        store
            .find_change_by_key(&key("k1"))
            .await
            .unwrap()
            .unwrap()
            .id,
        id
    );
    // The sequence goes on after reopening.
    let next = store
        .create_change(&key("k2"), &new_change(ChangeKind::Normal, "checkout"))
        .await
        .unwrap();
    assert_eq!(next.id.as_str(), "CHG0000002");
    let debug = format!("{store:?}");
    assert!(debug.contains("itsm.db"), "{debug}");
}

#[tokio::test]
async fn schema_is_versioned_and_wal_is_on() {
    let (dir, store, _clock) = common::store();
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("itsm.db")).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5); // change, incidents, sync state, specialists, early resolutions
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let indexes: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'change_request'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        indexes.iter().any(|i| i == "change_request_gate"),
        "{indexes:?}"
    );
}

#[test]
fn a_directory_is_a_config_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = LocalStore::open(dir.path(), clock()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let text = err.to_string();
    assert!(text.contains(&dir.path().display().to_string()), "{text}");
    assert!(text.contains("check --db / ITSM_DB"), "{text}");
}

#[test]
fn a_file_that_is_not_a_database_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "this is not a database, just some text that is long enough ".repeat(20),
    )
    .unwrap();
    let err = LocalStore::open(&path, clock()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("not a database"), "{err}");
}

#[test]
fn a_database_from_a_newer_itsm_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = LocalStore::open(&path, clock()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("schema version is 99"), "{err}");
}

#[tokio::test]
async fn a_held_write_lock_is_a_retryable_conflict_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let options = OpenOptions::default().busy_timeout(Duration::from_millis(200));
    let store = LocalStore::open_with(&path, clock(), options.clone()).unwrap();

    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let started = Instant::now();
    let err = store
        .create_change(&key("k"), &new_change(ChangeKind::Normal, "checkout"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "did not wait for the lock"
    );
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "database {} is locked by another process; retry",
            path.display()
        )),
        "{text}"
    );
    // Reading still works under WAL, and a second store can open the file meanwhile.
    assert!(store.find_change_by_key(&key("k")).await.unwrap().is_none());
    LocalStore::open_with(&path, clock(), options).unwrap();

    holder.execute_batch("ROLLBACK").unwrap();
    store
        .create_change(&key("k"), &new_change(ChangeKind::Normal, "checkout"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_with_one_key_across_two_stores_make_one_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.db");
    let a = LocalStore::open(&path, clock()).unwrap();
    let b = LocalStore::open(&path, clock()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store
                .create_change(&key("same-key"), &new_change(ChangeKind::Normal, "race"))
                .await
                .unwrap()
                .id
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let listed = a
        .list_changes(&ChangeFilter::default(), &ListRequest::first())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "{:?}", listed.items);
}

#[tokio::test]
async fn corrupt_json_is_an_internal_error_naming_the_record() {
    let (dir, store, _clock) = common::store();
    let id = store
        .create_change(&key("k"), &new_change(ChangeKind::Normal, "checkout"))
        .await
        .unwrap()
        .id;
    let conn = rusqlite::Connection::open(dir.path().join("itsm.db")).unwrap();
    conn.execute(
        "UPDATE change_request SET body = '{not json' WHERE id = ?1",
        [id.as_str()],
    )
    .unwrap();
    let err = store.get_change(&id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.to_string().contains(&format!("change {id}")), "{err}");
    let err = store
        .list_changes(&ChangeFilter::default(), &ListRequest::first())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
}

#[test]
fn works_outside_a_tokio_runtime() {
    let (_dir, store, _clock) = common::store();
    let change = futures_lite_block_on(
        store.create_change(&key("k"), &new_change(ChangeKind::Emergency, "checkout")),
    )
    .unwrap();
    assert_eq!(change.id.as_str(), "CHG0000001");
}

/// A minimal executor: polls a future that never waits (the store runs inline without a
/// runtime) to completion.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
