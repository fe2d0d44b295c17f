//! Scale-out: two real `itsm serve` replicas share one PostgreSQL queue
//! (`ITSM_TEST_POSTGRES_URL`; skipped without it, a failure under `ITSM_CI=1`) and one
//! local store file. Alerts go to both; one replica is SIGKILLed half-way and its senders
//! turn to the other, as a load balancer would; the survivor takes over what the dead one
//! held once its leases expire. Every acknowledged alert ends with exactly one incident and
//! one page: nothing lost, nothing twice.

mod serve_support;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use itsm_cli::serve::{PostgresQueue, QueueKind, ServeConfig, Server};
use itsm_core::ErrorKind;
use serve_support::{generic, metric, spawn_serve_with};

/// Alerts sent in all.
const ALERTS: usize = 400;
/// Concurrent senders.
const SENDERS: usize = 4;
/// The longest wait for anything.
const LIMIT: Duration = Duration::from_secs(90);

/// Posts the alert to `first`, and on any failure to `fallback` until it is acknowledged;
/// returns whether it was.
async fn send(client: &reqwest::Client, first: &str, fallback: &str, key: &str) -> bool {
    let body = generic("Replicas", "firing", key);
    let deadline = Instant::now() + LIMIT;
    let mut addr = first;
    while Instant::now() < deadline {
        let sent = client
            .post(format!("http://{addr}/v1/alerts"))
            .body(body.clone())
            .send()
            .await;
        if sent.is_ok_and(|r| r.status().as_u16() == 202) {
            return true;
        }
        addr = fallback;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn kill(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal}");
}

/// Every `key` of `table` in the local store, with how often it occurs.
fn keys(db: &rusqlite::Connection, table: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    let mut stmt = db.prepare(&format!("SELECT key FROM {table}")).unwrap();
    for key in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        *counts.entry(key.unwrap()).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_lose_nothing_and_duplicate_nothing_when_one_is_killed() {
    let Some(url) = itsm_testkit::outside_part("ITSM_TEST_POSTGRES_URL", "a PostgreSQL server")
    else {
        return;
    };
    let schema = format!(
        "itsm_replicas_{}_{:08x}",
        std::process::id(),
        fastrand::u32(..)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("itsm.toml"),
        format!(
            "[serve]\nqueue = \"postgres\"\nqueue_schema = \"{schema}\"\nqueue_lease_ms = 1500\n\
             queue_poll_ms = 100\nconcurrency = 4\n[serve.retry]\ninitial_backoff_ms = 50\n\
             max_backoff_ms = 500\nmax_attempts = 100\n"
        ),
    )
    .unwrap();
    let env = [("ITSM_SERVE_QUEUE_URL", url.as_str())];
    let (a, addr_a) = spawn_serve_with(dir.path(), &env);
    let (b, addr_b) = spawn_serve_with(dir.path(), &env);
    let queue = PostgresQueue::connect(&url, Some(&schema)).await.unwrap();
    let sql = itsm_audit::postgres::connection::connect(
        &itsm_audit::postgres::connection::parse(&url).unwrap(),
        "test",
        Some(&schema),
    )
    .await
    .unwrap();

    // Senders alternate between the replicas; A is killed once half is acknowledged.
    let acked = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for sender in 0..SENDERS {
        let (addr_a, addr_b, acked) = (addr_a.clone(), addr_b.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut mine = Vec::new();
            for i in (sender..ALERTS).step_by(SENDERS) {
                let key = format!("replica-alert-{i}");
                let first = if i % 2 == 0 { &addr_a } else { &addr_b };
                if send(&client, first, &addr_b, &key).await {
                    acked.fetch_add(1, Ordering::Relaxed);
                    mine.push(key);
                }
            }
            mine
        }));
    }
    let deadline = Instant::now() + LIMIT;
    while acked.load(Ordering::Relaxed) < ALERTS / 2 {
        assert!(
            Instant::now() < deadline,
            "half the alerts never got through"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut a = a;
    a.kill().expect("SIGKILL replica A");
    let _ = a.wait();
    // The rows A held (its replica id holds its pid) wait for their leases to expire.
    let held_by_a: i64 = sql
        .query_one(
            "SELECT COUNT(*)::BIGINT FROM alert_queue WHERE state = 'pending' AND leased_by LIKE $1",
            &[&format!("%:{}:%", a.id())],
        )
        .await
        .unwrap()
        .get(0);
    let mut acked_keys = Vec::new();
    for sender in senders {
        acked_keys.extend(sender.await.expect("sender"));
    }
    assert_eq!(
        acked_keys.len(),
        ALERTS,
        "every alert was acknowledged by a replica"
    );

    // B drains the queue, taking over A's rows once their leases expire.
    let deadline = Instant::now() + LIMIT;
    let stats = loop {
        let stats = queue.stats().await.unwrap();
        if stats.pending == 0 {
            break stats;
        }
        assert!(
            Instant::now() < deadline,
            "B never drained the queue: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(stats.failed, 0, "no dead letters");
    assert!(stats.done >= ALERTS as u64, "{stats:?}");
    // B's queue depth gauge is the shared queue's.
    let http = reqwest::Client::new();
    let deadline = Instant::now() + LIMIT;
    loop {
        let text = http
            .get(format!("http://{addr_b}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metric(&text, "itsm_alert_queue_depth") == 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "B's queue depth never reached 0");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kill(&b, "-TERM");
    let output = b.wait_with_output().expect("wait for B");
    assert_eq!(output.status.code(), Some(0), "B exits 0 on SIGTERM");

    // Exactly one incident and one page per acknowledged alert, nothing else.
    let db = rusqlite::Connection::open(dir.path().join("itsm.db")).unwrap();
    let incidents = keys(&db, "incident");
    let pages = keys(&db, "page");
    let acked: HashSet<String> = acked_keys.into_iter().collect();
    let lost_incidents = acked.iter().filter(|k| !incidents.contains_key(*k)).count();
    let lost_pages = acked.iter().filter(|k| !pages.contains_key(*k)).count();
    let twice = incidents
        .values()
        .chain(pages.values())
        .filter(|n| **n > 1)
        .count();
    println!(
        "replicas: acknowledged {}, queue rows {} ({} held by A when it was killed), incidents {}, \
         pages {}, lost incidents {lost_incidents}, lost pages {lost_pages}, duplicates {twice}",
        acked.len(),
        stats.done + stats.failed,
        held_by_a,
        incidents.len(),
        pages.len(),
    );
    assert_eq!(acked.len(), ALERTS, "every key acknowledged once");
    assert_eq!((lost_incidents, lost_pages), (0, 0), "nothing lost");
    assert_eq!(twice, 0, "nothing twice");
    assert_eq!(incidents.keys().cloned().collect::<HashSet<_>>(), acked);
    assert_eq!(pages.keys().cloned().collect::<HashSet<_>>(), acked);

    sql.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misconfigured_postgres_queue_is_refused_without_showing_the_password() {
    let base = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        queue: QueueKind::Postgres,
        ..ServeConfig::default()
    };
    let refused = |config: ServeConfig| async move {
        Server::builder(config)
            .bind()
            .await
            .expect_err("bind must fail")
    };

    let err = refused(base.clone()).await;
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("ITSM_SERVE_QUEUE_URL"), "{err}");

    // Nothing listens on port 1: the server cannot be reached.
    let unreachable = ServeConfig {
        queue_url: Some("postgres://itsm:pw-s3cret@127.0.0.1:1/q".to_owned().into()),
        ..base.clone()
    };
    let err = refused(unreachable.clone()).await;
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("pw-s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://itsm:REDACTED@127.0.0.1:1/q"),
            "{shown}"
        );
    }

    let err = refused(ServeConfig {
        queue_schema: Some("Bad-Schema".into()),
        ..unreachable.clone()
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("Bad-Schema"), "{err}");

    let err = refused(ServeConfig {
        queue_lease_ms: 300,
        queue_poll_ms: 250,
        ..unreachable
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("queue_lease_ms"), "{err}");
}
