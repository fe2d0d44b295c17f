//! Measures `itsm change gate` and `itsm change raise` as whole processes (start, open the
//! database, decide, print, exit) against a local store that already holds many changes.
//!
//! ```sh
//! cargo build --release -p itsm-cli --bin itsm --example change_cli_bench
//! target/release/examples/change_cli_bench --changes 100000 --runs 300
//! ```
//!
//! It seeds a fresh store in a temporary directory (or reuses `--db FILE` when it already has
//! enough changes), then runs the `itsm` binary that sits next to this example's directory
//! (`target/release/itsm`, or `--itsm PATH`) `--runs` times per command, timing each run from
//! spawn to exit, and prints the median, p90 and mean.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use itsm_change::{ChangeFilter, ChangeKind, ChangeSystem, NewChange, NewTemplate};
use itsm_core::{
    Environment, IdempotencyKey, ListRequest, Person, PipelineRunId, ServiceId, SystemClock,
    Version,
};
use itsm_local::LocalStore;

struct Args {
    changes: u64,
    runs: usize,
    db: Option<PathBuf>,
    itsm: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut args = Args {
        changes: 100_000,
        runs: 200,
        db: None,
        itsm: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--changes" => args.changes = value.parse().expect("--changes takes a number"),
            "--runs" => args.runs = value.parse().expect("--runs takes a number"),
            "--db" => args.db = Some(value.into()),
            "--itsm" => args.itsm = Some(value.into()),
            other => {
                panic!("unknown flag {other}; flags: --changes N --runs N --db FILE --itsm PATH")
            }
        }
    }
    args
}

const SERVICES: u64 = 1000;

fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| dir.path().join("bench.db"));
    let itsm = args.itsm.clone().unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("current exe");
        exe.parent()
            .and_then(|p| p.parent())
            .expect("target dir")
            .join("itsm")
    });
    assert!(
        itsm.is_file(),
        "no itsm binary at {}; build it or pass --itsm",
        itsm.display()
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(seed(&db, args.changes));

    let gate = |_: usize| {
        vec![
            "change".to_owned(),
            "gate".into(),
            "--service".into(),
            "svc-0".into(),
            "--version".into(),
            "1.0.0".into(),
            "--env".into(),
            "production".into(),
        ]
    };
    let raise = |i: usize| {
        vec![
            "change".to_owned(),
            "raise".into(),
            "--service".into(),
            "svc-with-template".into(),
            "--version".into(),
            format!("2.0.{i}"),
            "--env".into(),
            "production".into(),
            "--run".into(),
            format!("bench-{i}"),
        ]
    };
    println!("itsm: {}", itsm.display());
    println!("store: {} ({} changes seeded)", db.display(), args.changes);
    println!(
        "{:<22} {:>6} {:>10} {:>10} {:>10}",
        "command", "runs", "median", "p90", "mean"
    );
    for (name, make) in [
        ("itsm change gate", &gate as &dyn Fn(usize) -> Vec<String>),
        ("itsm change raise", &raise),
    ] {
        let mut times = Vec::with_capacity(args.runs);
        for i in 0..args.runs {
            let started = Instant::now();
            let status = Command::new(&itsm)
                .args(make(i))
                .env("ITSM_DB", &db)
                .env_remove("ITSM_CONFIG")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run itsm");
            times.push(started.elapsed());
            assert!(status.success(), "{name} run {i} exited with {status}");
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        println!(
            "{name:<22} {:>6} {:>10} {:>10} {:>10}",
            times.len(),
            ms(times[times.len() / 2]),
            ms(times[times.len() * 9 / 10]),
            ms(mean)
        );
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Fills the store with `n` changes over 1000 services (approved standard changes for
/// `svc-0 1.0.0`), plus a template for `svc-with-template`.
async fn seed(db: &std::path::Path, n: u64) {
    let store = LocalStore::open(db, Arc::new(SystemClock)).expect("open store");
    let filter = ChangeFilter::default();
    let existing = store
        .list_changes(&filter, &ListRequest::with_limit(1))
        .await
        .expect("list");
    if !existing.items.is_empty() {
        println!("reusing the changes already in {}", db.display());
        return;
    }
    let started = Instant::now();
    let prod = Environment::production();
    let svc0 = store
        .create_template(
            &IdempotencyKey::new("bench/template/svc-0").unwrap(),
            &template("svc-0"),
        )
        .await
        .expect("template");
    store
        .create_template(
            &IdempotencyKey::new("bench/template").unwrap(),
            &template("svc-with-template"),
        )
        .await
        .expect("template");
    for i in 0..n {
        let service = ServiceId::new(format!("svc-{}", i % SERVICES)).unwrap();
        let version = Version::new(format!("1.0.{}", i / SERVICES)).unwrap();
        let standard = i % SERVICES == 0;
        let change = NewChange {
            kind: if standard {
                ChangeKind::Standard
            } else {
                ChangeKind::Normal
            },
            template: standard.then(|| svc0.id.clone()),
            service,
            version,
            environment: prod.clone(),
            summary: format!("bench change {i}"),
            description: String::new(),
            window: Some(itsm_change::Window {
                start: time::OffsetDateTime::now_utc() - time::Duration::hours(1),
                end: time::OffsetDateTime::now_utc() + time::Duration::days(30),
            }),
            commits: Vec::new(),
            pipeline_run: Some(PipelineRunId::new(format!("seed-{i}")).unwrap()),
            requested_by: None,
            assignment_team: None,
            reasons: vec!["seeded".into()],
            retroactive: false,
            links: Vec::new(),
        };
        store
            .create_change(&IdempotencyKey::new(format!("seed/{i}")).unwrap(), &change)
            .await
            .expect("seed change");
    }
    println!(
        "seeded {n} changes in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn template(service: &str) -> NewTemplate {
    NewTemplate {
        service: ServiceId::new(service).unwrap(),
        name: format!("{service} routine release"),
        description: String::new(),
        environments: vec![Environment::production()],
        implementation_plan: "pipeline".into(),
        backout_plan: "redeploy".into(),
        test_plan: "tests".into(),
        owner: Person::named("bench"),
        approved_by: None,
        expires_at: None,
    }
}
