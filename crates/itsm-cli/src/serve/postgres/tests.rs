//! The PostgreSQL queue against a real server (`ITSM_TEST_POSTGRES_URL`; skipped without
//! one, a failure under `ITSM_CI=1`), each test in a schema of its own: group-committed
//! inserts with delivery-id dedup, and the claim and lease rules several replicas rely on.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use itsm_core::{IdempotencyKey, SystemClock};
use itsm_incident::{Side, SyncChange, SyncEvent};
use tokio::sync::Notify;
use tokio_postgres::Client;

use super::claim::{self, Claimed};
use super::{PgWriter, PostgresQueue};
use crate::serve::attempt::Verdict;
use crate::serve::intake::Intake;
use crate::serve::queue::{QueueItem, RowState};

const LONG: Duration = Duration::from_secs(60);

/// A queue in a fresh schema, its writer and a client on the schema for the checks; `None`
/// (after the skip line) without a server.
struct Fixture {
    queue: PostgresQueue,
    writer: PgWriter,
    schema: String,
}

impl Fixture {
    async fn new() -> Option<Fixture> {
        let url = itsm_testkit::outside_part("ITSM_TEST_POSTGRES_URL", "a PostgreSQL server")?;
        let schema = format!("itsm_q_{}_{:08x}", std::process::id(), fastrand::u32(..));
        let queue = PostgresQueue::connect(&url, Some(&schema))
            .await
            .expect("connect");
        let writer = PgWriter::spawn(queue.conn(), Arc::new(SystemClock), Arc::new(Notify::new()));
        Some(Fixture {
            queue,
            writer,
            schema,
        })
    }

    /// A connection of its own on the schema (one per simulated replica).
    async fn client(&self) -> Client {
        self.queue.open().await.expect("connect")
    }

    async fn enqueue(&self, items: Vec<QueueItem>) -> usize {
        Intake::Postgres(self.writer.tx.clone())
            .enqueue(items)
            .await
            .expect("enqueue")
    }

    async fn finish(self) {
        let client = self.client().await;
        self.writer.stop().await;
        client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .expect("drop the test schema");
    }
}

fn alert(key: &str, name: &str) -> QueueItem {
    let body = serde_json::json!({
        "source": "generic", "dedup_key": key, "status": "firing", "severity": "critical",
        "service": "checkout", "name": name, "summary": name,
        "starts_at": "2026-11-22T02:09:05Z",
    });
    QueueItem::Alert(serde_json::from_value(body).expect("alert"))
}

fn sync(delivery: &str, key: &str) -> QueueItem {
    QueueItem::Sync(SyncEvent {
        delivery_id: delivery.into(),
        side: Side::Paging,
        key: Some(IdempotencyKey::new(key).expect("key")),
        page: None,
        occurred_at: time::OffsetDateTime::now_utc(),
        actor: None,
        change: SyncChange::Acknowledged,
    })
}

async fn claim_as(client: &Client, replica: &str, lease: Duration, n: usize) -> Vec<Claimed> {
    claim::claim(client, "test", replica, lease, n)
        .await
        .expect("claim")
}

async fn record_as(client: &mut Client, replica: &str, verdicts: &[(i64, Verdict)]) {
    claim::record(client, "test", replica, verdicts)
        .await
        .expect("record");
}

fn lane(claimed: &Claimed) -> String {
    claimed.item.as_ref().expect("item").lane()
}

fn ids(claimed: &[Claimed]) -> Vec<i64> {
    claimed.iter().map(|c| c.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_is_stored_once_and_rows_keep_arrival_order() {
    let Some(fx) = Fixture::new().await else {
        return;
    };
    let first = fx
        .enqueue(vec![alert("k1", "A"), sync("D1", "k1"), sync("D1", "k1")])
        .await;
    assert_eq!(
        first, 2,
        "a delivery repeated in one request is stored once"
    );
    let (again, more) = tokio::join!(
        fx.enqueue(vec![sync("D1", "k1")]),
        fx.enqueue(vec![alert("k2", "B"), alert("k1", "C")])
    );
    assert_eq!((again, more), (0, 2), "a redelivery is not stored again");
    let rows = fx.queue.rows(None, 0, 100).await.expect("rows");
    let names: Vec<String> = rows
        .iter()
        .map(|r| match &r.item {
            QueueItem::Alert(a) => a.name.clone(),
            QueueItem::Sync(e) => e.delivery_id.clone(),
        })
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert_eq!(names[..2], ["A", "D1"]);
    assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
    assert!(rows.iter().all(|r| r.state == RowState::Pending));
    assert_eq!(fx.queue.stats().await.expect("stats").pending, 4);
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_is_claimed_by_one_replica_at_a_time_in_order() {
    let Some(fx) = Fixture::new().await else {
        return;
    };
    fx.enqueue(vec![
        alert("L", "L1"),
        alert("L", "L2"),
        alert("M", "M1"),
        alert("L", "L3"),
    ])
    .await;
    let mut a = fx.client().await;
    let b = fx.client().await;
    let got_a = claim_as(&a, "A", LONG, 10).await;
    let lanes: Vec<String> = got_a.iter().map(lane).collect();
    assert_eq!(lanes, ["L", "M"], "only the oldest row of each lane");
    assert!(
        claim_as(&b, "B", LONG, 10).await.is_empty(),
        "both lanes are held"
    );

    record_as(&mut a, "A", &[(got_a[0].id, Verdict::Done)]).await;
    let got_b = claim_as(&b, "B", LONG, 10).await;
    assert_eq!(got_b.len(), 1);
    assert_eq!(
        got_b[0]
            .item
            .as_ref()
            .expect("item")
            .alert()
            .expect("alert")
            .name,
        "L2"
    );
    assert!(
        claim_as(&a, "A", LONG, 10).await.is_empty(),
        "L2 is B's, L3 waits"
    );

    // A retry releases the lease but keeps the row first in its lane: it is claimed again
    // (with its attempts), never L3 before it.
    let mut b = b;
    let retry = Verdict::Retry {
        attempts: 1,
        delay: Duration::ZERO,
        error: "backend unavailable".into(),
    };
    record_as(&mut b, "B", &[(got_b[0].id, retry)]).await;
    let again = claim_as(&a, "A", LONG, 10).await;
    assert_eq!(ids(&again), [got_b[0].id]);
    assert_eq!(again[0].attempts, 1);

    // A retry that is not due yet holds its lane back.
    let later = Verdict::Retry {
        attempts: 2,
        delay: LONG,
        error: "still unavailable".into(),
    };
    record_as(&mut a, "A", &[(again[0].id, later)]).await;
    assert!(claim_as(&b, "B", LONG, 10).await.is_empty());
    let pending = fx
        .queue
        .rows(Some(RowState::Pending), 0, 10)
        .await
        .expect("rows");
    let waiting = pending.iter().find(|r| r.id == again[0].id).expect("row");
    assert_eq!(waiting.attempts, 2);
    assert!(waiting.next_attempt_at.is_some());
    assert_eq!(waiting.last_error.as_deref(), Some("still unavailable"));
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_replicas_rows_are_claimed_again_after_its_lease() {
    let Some(fx) = Fixture::new().await else {
        return;
    };
    fx.enqueue(vec![alert("X", "X1"), alert("Y", "Y1")]).await;
    let mut a = fx.client().await;
    let mut b = fx.client().await;
    let held = claim_as(&a, "A", LONG, 1).await;
    assert_eq!(held.len(), 1);
    let x = held[0].id;
    assert_eq!(
        ids(&claim_as(&b, "B", LONG, 10).await).len(),
        1,
        "only Y is free"
    );
    assert_eq!(claim::renew(&a, "test", "A", LONG).await.expect("renew"), 1);

    // A stops renewing (it died): once its lease has passed, B takes X.
    a.batch_execute("UPDATE alert_queue SET lease_until = now() - INTERVAL '1 millisecond' WHERE leased_by = 'A'")
        .await
        .expect("expire");
    let taken = claim_as(&b, "B", LONG, 10).await;
    assert_eq!(ids(&taken), [x]);
    // A late verdict of A's does not undo B's lease: its retry and failure are ignored.
    let fail = Verdict::Fail {
        attempts: 1,
        error: "late".into(),
    };
    record_as(&mut a, "A", &[(x, fail)]).await;
    let row = fx.queue.rows(None, x - 1, 1).await.expect("rows").remove(0);
    assert_eq!((row.state, row.attempts), (RowState::Pending, 0));
    let fail = Verdict::Fail {
        attempts: 1,
        error: "bad input".into(),
    };
    record_as(&mut b, "B", &[(x, fail)]).await;
    let dead = fx.queue.dead_letters(10).await.expect("dead letters");
    assert_eq!(ids_of(&dead), [x]);
    assert_eq!(dead[0].last_error.as_deref(), Some("bad input"));

    // The same with a real, short lease: B polls until A's lease runs out.
    fx.enqueue(vec![alert("Z", "Z1")]).await;
    let z = claim_as(&a, "A", Duration::from_millis(200), 10).await;
    assert_eq!(z.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    let retaken = loop {
        let got = claim_as(&b, "B", LONG, 10).await;
        if !got.is_empty() {
            break got;
        }
        assert!(Instant::now() < deadline, "A's lease never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ids(&retaken), ids(&z));
    fx.finish().await;
}

fn ids_of(rows: &[crate::serve::QueueRow]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

/// A row a claimer processed: its lane, its id and the claimer.
type Processed = (String, i64, &'static str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_never_share_a_row_or_a_lane() {
    let Some(fx) = Fixture::new().await else {
        return;
    };
    let mut items = Vec::new();
    for round in 0..6 {
        for lane in 0..12 {
            items.push(alert(&format!("lane-{lane}"), &format!("{round}")));
        }
    }
    let total = items.len();
    assert_eq!(fx.enqueue(items).await, total);
    let holders: Arc<Mutex<HashMap<String, &'static str>>> = Arc::default();
    let processed: Arc<Mutex<Vec<Processed>>> = Arc::default();
    let mut claimers = Vec::new();
    for replica in ["A", "B", "C"] {
        let mut client = fx.client().await;
        let holders = holders.clone();
        let processed = processed.clone();
        claimers.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let got = claim_as(&client, replica, LONG, 4).await;
                if got.is_empty() {
                    if processed.lock().unwrap().len() >= total {
                        break;
                    }
                    assert!(Instant::now() < deadline, "rows left unclaimed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                for row in &got {
                    let before = holders.lock().unwrap().insert(lane(row), replica);
                    assert_eq!(before, None, "lane {} held twice", lane(row));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
                let mut verdicts = Vec::new();
                for row in &got {
                    holders.lock().unwrap().remove(&lane(row));
                    processed.lock().unwrap().push((lane(row), row.id, replica));
                    verdicts.push((row.id, Verdict::Done));
                }
                record_as(&mut client, replica, &verdicts).await;
            }
        }));
    }
    for claimer in claimers {
        claimer.await.expect("claimer");
    }
    let processed = processed.lock().unwrap().clone();
    let unique: HashSet<i64> = processed.iter().map(|(_, id, _)| *id).collect();
    assert_eq!(processed.len(), total, "every row once");
    assert_eq!(unique.len(), total, "no row twice");
    let mut last: HashMap<&str, i64> = HashMap::new();
    for (lane, id, _) in &processed {
        let previous = last.insert(lane, *id).unwrap_or(0);
        assert!(*id > previous, "lane {lane} out of order");
    }
    assert_eq!(fx.queue.stats().await.expect("stats").done, total as u64);
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_leads_the_housekeeping_until_it_is_gone() {
    let Some(fx) = Fixture::new().await else {
        return;
    };
    let mut first = fx.queue.leadership();
    let mut second = fx.queue.leadership();
    assert!(first.holds().await, "the first to ask leads");
    assert!(!second.holds().await, "while it lives, no one else does");
    assert!(first.holds().await, "and it keeps leading");
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !second.holds().await {
        assert!(Instant::now() < deadline, "no one took over the lead");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_the_server_refuses_fails_only_its_own_request() {
    let Some(fx) = Fixture::new().await else {
        return;
    };
    // PostgreSQL text cannot hold NUL: the group fails, then each request is tried alone.
    let requests: Vec<_> = [sync("bad\0delivery", "k"), alert("good", "G")]
        .into_iter()
        .map(|item| {
            let rows = vec![crate::serve::writer::NewRow::new(item).expect("row")];
            (rows, tokio::sync::oneshot::channel().0)
        })
        .collect();
    let mut conn = fx.queue.conn();
    let mut answers = super::writer::commit(&mut conn, &requests, "2026-11-22T02:09:06Z").await;
    let good = answers.pop().expect("answer");
    let bad = answers.pop().expect("answer");
    assert_eq!(good.expect("the good request is stored"), 1);
    let err = bad.expect_err("the refused row fails its request");
    assert!(err.to_string().contains("storing accepted rows"), "{err}");
    let rows = fx.queue.rows(None, 0, 10).await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].dedup_key, "good");
    fx.finish().await;
}
