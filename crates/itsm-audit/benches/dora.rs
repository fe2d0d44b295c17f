//! DORA figures over 1,000,000 synthetic production deployments (the A5 target: at most
//! one second), with 1,000 incident links. The records are built once, outside the timed
//! part; only `dora(...)` is timed.
//!
//! Run: `cargo bench -p itsm-audit --bench dora`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use itsm_audit::dora::dora;
use itsm_audit::{
    ChangeEvidence, DeploymentRecord, IncidentLink, NewDeployment, Outcome, RecordHash,
};
use itsm_core::{
    CommitId, Environment, ExternalRef, IdempotencyKey, Person, PipelineRunId, ServiceId, Version,
};
use time::Duration;
use time::macros::datetime;

const N: usize = 1_000_000;

fn history() -> (Vec<DeploymentRecord>, Vec<IncidentLink>) {
    let start = datetime!(2020-01-01 0:00 UTC);
    let services: Vec<ServiceId> = (0..50)
        .map(|i| ServiceId::new(format!("svc-{i}")).expect("valid"))
        .collect();
    let production = Environment::production();
    let mut records = Vec::with_capacity(N);
    for i in 0..N {
        let finished = start + Duration::minutes(i as i64);
        let version = Version::new(format!("1.{i}")).expect("valid");
        let key = IdempotencyKey::new(format!("k{i}")).expect("valid");
        records.push(DeploymentRecord {
            seq: i as u64 + 1,
            key,
            deployment: NewDeployment {
                service: services[i % services.len()].clone(),
                version: version.clone(),
                environment: production.clone(),
                started_at: finished - Duration::minutes(5),
                finished_at: finished,
                deployer: Person::named("ci"),
                outcome: if i % 17 == 0 {
                    Outcome::Failed
                } else {
                    Outcome::Succeeded
                },
                commit: CommitId::new(format!("{i:x}")).expect("valid"),
                artifact_digest: "sha256:00".into(),
                pipeline_run: PipelineRunId::new("run").expect("valid"),
                pipeline_url: None,
                first_commit_at: (i % 10 != 0)
                    .then(|| finished - Duration::minutes((i % 5000) as i64)),
                change: Some(ChangeEvidence {
                    reference: ExternalRef::new("local", "CHG1"),
                    approved: true,
                    version,
                    window_start: None,
                    window_end: None,
                }),
            },
            recorded_at: finished,
            prev_hash: RecordHash::GENESIS,
            hash: RecordHash::GENESIS,
        });
    }
    let incidents = (0..1000)
        .map(|j| {
            let i = j * 997;
            let opened = records[i].deployment.finished_at + Duration::minutes(3);
            IncidentLink {
                incident: ExternalRef::new("pagerduty", format!("P{j}")),
                deployment: records[i].key.clone(),
                opened_at: opened,
                resolved_at: (j % 7 != 0).then(|| opened + Duration::minutes(j as i64)),
            }
        })
        .collect();
    (records, incidents)
}

fn bench(c: &mut Criterion) {
    let (records, incidents) = history();
    let since = datetime!(2019-01-01 0:00 UTC);
    let until = datetime!(2030-01-01 0:00 UTC);
    let mut group = c.benchmark_group("dora");
    group.sample_size(10);
    group.bench_function("1M production deployments", |b| {
        b.iter(|| {
            let figures = dora(
                black_box(&records),
                black_box(&incidents),
                since,
                until,
                None,
            );
            assert_eq!(figures.deployment_frequency.count, N as u64);
            figures
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
