//! Criterion benchmarks of the ledger:
//!
//! ```text
//! cargo bench -p itsm-audit --bench ledger
//! ITSM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p itsm-audit --bench ledger
//! ```
//!
//! - `sqlite/append_batch_100k`: one `append_batch` of 100,000 records into a fresh file;
//! - `sqlite/append_single/<sync>`: one durable append (the median is the p50 latency);
//! - `sqlite/append_16_concurrent`: 16 tasks appending one record each at once (group
//!   commit; divide by 16 for the time per append);
//! - `sqlite/verify_100k`: scan and verify 100,000 records (the 1,000,000 figure is
//!   printed by `cargo run --release -p itsm-audit --example ledger_load`);
//! - `postgres/...`: the same appends when `ITSM_TEST_POSTGRES_URL` is set.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use itsm_audit::AuditStore;
use itsm_audit::chain::Verifier;
use itsm_audit::postgres::{PostgresAuditStore, PostgresOptions};
use itsm_audit::sqlite::{SqliteAuditStore, SqliteOptions, Synchronous};
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn next() -> usize {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

fn appends(c: &mut Criterion, name: &str, rt: &Runtime, store: Arc<dyn AuditStore>) {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(5));
    let s = Arc::clone(&store);
    group.bench_function("append_single", |b| {
        b.to_async(rt).iter(|| {
            let (store, i) = (Arc::clone(&s), next());
            async move {
                let (key, deployment) = support::batch("single", i, 1).pop().unwrap();
                store.append(&key, &deployment).await.unwrap()
            }
        });
    });
    group.bench_function("append_16_concurrent", |b| {
        b.to_async(rt).iter(|| {
            let store = Arc::clone(&store);
            async move {
                let tasks: Vec<_> = (0..16)
                    .map(|_| {
                        let store = Arc::clone(&store);
                        let (key, deployment) = support::batch("conc", next(), 1).pop().unwrap();
                        tokio::spawn(async move { store.append(&key, &deployment).await.unwrap() })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            }
        });
    });
    group.finish();
}

fn sqlite(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("sqlite");
    group.sample_size(10);
    group.bench_function("append_batch_100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let path = dir.path().join(format!("batch-{}.db", next()));
                let store = SqliteAuditStore::open(&path, support::clock()).unwrap();
                let records = support::batch("batch", 0, 100_000);
                let started = Instant::now();
                rt.block_on(store.append_batch(&records)).unwrap();
                total += started.elapsed();
            }
            total
        });
    });
    let verify_store =
        SqliteAuditStore::open(dir.path().join("verify.db"), support::clock()).unwrap();
    rt.block_on(verify_store.append_batch(&support::batch("v", 0, 100_000)))
        .unwrap();
    group.bench_function("verify_100k", |b| {
        b.to_async(&rt).iter(|| async {
            let mut verifier = Verifier::new();
            let mut from = 1;
            loop {
                let page = verify_store.scan(from, 10_000).await.unwrap();
                let Some(last) = page.last() else { break };
                from = last.seq + 1;
                page.iter()
                    .for_each(|r| assert!(verifier.push(r).is_none()));
            }
            assert_eq!(verifier.checked(), 100_000);
        });
    });
    group.finish();
    for sync in [Synchronous::Full, Synchronous::Normal] {
        let options = SqliteOptions {
            synchronous: sync,
            ..SqliteOptions::default()
        };
        let path = dir.path().join(format!("{sync:?}.db"));
        let store = SqliteAuditStore::open_with(path, support::clock(), options).unwrap();
        appends(c, &format!("sqlite_{sync:?}"), &rt, Arc::new(store));
    }
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("ITSM_TEST_POSTGRES_URL") else {
        println!("postgres benchmarks skipped: ITSM_TEST_POSTGRES_URL not set");
        return;
    };
    let rt = runtime();
    let schema = format!("bench_{}", std::process::id());
    let options = PostgresOptions {
        schema: Some(schema.clone()),
    };
    let store = rt
        .block_on(PostgresAuditStore::connect_with(
            &url,
            support::clock(),
            options,
        ))
        .unwrap();
    let mut group = c.benchmark_group("postgres");
    group.sample_size(10);
    group.bench_function("append_batch_100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let records = support::batch(&format!("batch{}", next()), 0, 100_000);
                let started = Instant::now();
                rt.block_on(store.append_batch(&records)).unwrap();
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
    appends(c, "postgres", &rt, Arc::new(store));
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    });
}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
