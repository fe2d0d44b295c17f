//! Prints the ledger's performance figures (batch append, single and concurrent append
//! latency, verification of 1,000,000 records; PostgreSQL too when
//! `ITSM_TEST_POSTGRES_URL` is set):
//!
//! ```text
//! cargo run --release -p itsm-audit --example ledger_load
//! ```
//!
//! `LEDGER_LOAD_VERIFY=<n>` changes the number of records verified (default 1,000,000).

#[path = "../benches/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use itsm_audit::AuditStore;
use itsm_audit::chain::Verifier;
use itsm_audit::postgres::{PostgresAuditStore, PostgresOptions};
use itsm_audit::sqlite::{SqliteAuditStore, SqliteOptions, Synchronous};

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn single_latency(store: &dyn AuditStore, prefix: &str, n: usize) -> Duration {
    let records = support::batch(prefix, 0, n);
    let mut samples = Vec::with_capacity(n);
    for (key, deployment) in &records {
        let t = Instant::now();
        store.append(key, deployment).await.unwrap();
        samples.push(t.elapsed());
    }
    p50(samples)
}

/// 16 tasks appending `per_task` records each: (p50 latency of one call, wall time per
/// append).
async fn concurrent(
    store: Arc<dyn AuditStore>,
    prefix: &str,
    per_task: usize,
) -> (Duration, Duration) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let store = Arc::clone(&store);
            let records = support::batch(&format!("{prefix}-{t}"), 0, per_task);
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(per_task);
                for (key, deployment) in &records {
                    let s = Instant::now();
                    store.append(key, deployment).await.unwrap();
                    samples.push(s.elapsed());
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap());
    }
    let per_append = started.elapsed() / (16 * per_task) as u32;
    (p50(samples), per_append)
}

async fn verify_all(store: &dyn AuditStore) -> (u64, Duration) {
    let started = Instant::now();
    let mut verifier = Verifier::new();
    let mut from = 1;
    loop {
        let page = store.scan(from, 10_000).await.unwrap();
        let Some(last) = page.last() else { break };
        from = last.seq + 1;
        for record in &page {
            assert!(verifier.push(record).is_none(), "{:?}", verifier.problem());
        }
    }
    (verifier.finish().checked, started.elapsed())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    for sync in [Synchronous::Full, Synchronous::Normal] {
        let options = SqliteOptions {
            synchronous: sync,
            ..SqliteOptions::default()
        };
        let path = dir.path().join(format!("{sync:?}.db"));
        let store = SqliteAuditStore::open_with(&path, support::clock(), options).unwrap();
        let records = support::batch("batch", 0, 100_000);
        let t = Instant::now();
        store.append_batch(&records).await.unwrap();
        println!(
            "sqlite {sync:?}: append_batch of 100,000: {:?}",
            t.elapsed()
        );
        let latency = single_latency(&store, "single", 2_000).await;
        println!("sqlite {sync:?}: single append p50 (one appender): {latency:?}");
        let (call, per) = concurrent(Arc::new(store.clone()), "conc", 200).await;
        println!(
            "sqlite {sync:?}: 16 concurrent appenders: p50 per call {call:?}, wall time per append {per:?}"
        );
    }
    let n: usize = std::env::var("LEDGER_LOAD_VERIFY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let store = SqliteAuditStore::open(dir.path().join("verify.db"), support::clock()).unwrap();
    let t = Instant::now();
    for start in (0..n).step_by(100_000) {
        store
            .append_batch(&support::batch("v", start, 100_000.min(n - start)))
            .await
            .unwrap();
    }
    println!("sqlite: seeded {n} records in {:?}", t.elapsed());
    let (checked, took) = verify_all(&store).await;
    println!(
        "sqlite: scan + verify of {checked} records: {:.2} s",
        took.as_secs_f64()
    );

    let Ok(url) = std::env::var("ITSM_TEST_POSTGRES_URL") else {
        println!("postgres: skipped: ITSM_TEST_POSTGRES_URL not set");
        return;
    };
    let schema = format!("bench_{}", std::process::id());
    let options = PostgresOptions {
        schema: Some(schema.clone()),
    };
    let store = PostgresAuditStore::connect_with(&url, support::clock(), options)
        .await
        .unwrap();
    let t = Instant::now();
    store
        .append_batch(&support::batch("batch", 0, 100_000))
        .await
        .unwrap();
    println!("postgres: append_batch of 100,000: {:?}", t.elapsed());
    println!(
        "postgres: single append p50 (one appender): {:?}",
        single_latency(&store, "single", 1_000).await
    );
    let (call, per) = concurrent(Arc::new(store.clone()), "conc", 100).await;
    println!(
        "postgres: 16 concurrent appenders (one store): p50 per call {call:?}, wall time per append {per:?}"
    );
    let (checked, took) = verify_all(&store).await;
    println!(
        "postgres: scan + verify of {checked} records: {:.2} s",
        took.as_secs_f64()
    );
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}
