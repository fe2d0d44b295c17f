//! Large batches of the SQLite ledger, which are hashed and encoded on a second thread
//! while the writer inserts: the chain they write is the one the writer alone would write,
//! also when keys already present break the encoding thread's assumptions.

mod common;

use itsm_audit::AuditStore;
use itsm_audit::sqlite::SqliteAuditStore;
use tempfile::TempDir;

/// Large enough to be encoded on the second thread, and several of its chunks long.
const LARGE: usize = 1500;

fn open(dir: &TempDir, name: &str) -> SqliteAuditStore {
    SqliteAuditStore::open(dir.path().join(name), common::clock()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_batch_writes_the_chain_small_appends_write() {
    let dir = tempfile::tempdir().unwrap();
    let records = common::batch("big", 0, LARGE);
    let large = open(&dir, "large.db");
    let at_once = large.append_batch(&records).await.unwrap();
    let small = open(&dir, "small.db");
    let mut one_by_one = Vec::new();
    for part in records.chunks(7) {
        one_by_one.extend(small.append_batch(part).await.unwrap());
    }
    assert_eq!(at_once, one_by_one);
    assert_eq!(at_once.last().map(|r| r.seq), Some(LARGE as u64));
    let (stored, report) = common::verify_store(&large, 400).await;
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(stored, at_once);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_already_present_inside_a_large_batch_return_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "ledger.db");
    let seeded = store
        .append_batch(&common::batch("seed", 0, 3))
        .await
        .unwrap();
    let mut records = common::batch("big", 0, LARGE);
    // A key of the ledger in the first chunk, and a key repeated from earlier in the
    // batch in a later one.
    records[100] = (common::key("seed", 1), common::deployment(500));
    records[900] = records[10].clone();
    let out = store.append_batch(&records).await.unwrap();
    assert_eq!(out.len(), LARGE);
    assert_eq!(out[100], seeded[1]);
    assert_eq!(out[900], out[10]);
    // Every other record is appended, numbered without gaps after the seed.
    let appended: Vec<u64> = out
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 100 && *i != 900)
        .map(|(_, r)| r.seq)
        .collect();
    assert_eq!(appended, (4..=(LARGE as u64 + 1)).collect::<Vec<_>>());
    assert_eq!(store.head().await.unwrap(), LARGE as u64 + 1);
    let (stored, report) = common::verify_store(&store, 500).await;
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(stored.len(), LARGE + 1);
    // Retrying the whole batch appends nothing and returns the same records.
    let again = store.append_batch(&records).await.unwrap();
    assert_eq!(again, out);
    assert_eq!(store.head().await.unwrap(), LARGE as u64 + 1);
}
