//! Measures `itsm specialist request` as a whole process (start, read the configuration and
//! the catalog file, open the database, sync the catalog, check the inputs, store the
//! request, print, exit) against a local store that already holds many requests. The issue's
//! target: at most 25 ms median.
//!
//! ```sh
//! cargo build --release -p itsm-cli --bin itsm --example specialist_cli_bench
//! target/release/examples/specialist_cli_bench --requests 100000 --runs 300
//! ```
//!
//! It seeds a fresh store in a temporary directory with the example catalog
//! (`examples/specialists/catalog.toml`) and `--requests` requests, then runs the `itsm`
//! binary next to this example's directory (`target/release/itsm`, or `--itsm PATH`)
//! `--runs` times, each submitting a firewall-rule request (a manual offering), timing each
//! run from spawn to exit, and prints the median, p90 and mean.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use itsm_core::{IdempotencyKey, SystemClock, TeamId};
use itsm_local::LocalStore;
use itsm_specialist::{
    CatalogFile, InputValue, NewRequest, OfferingId, SpecialistCatalog, Urgency,
};

const CATALOG: &str = include_str!("../../../examples/specialists/catalog.toml");

struct Args {
    requests: u64,
    runs: usize,
    itsm: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut args = Args {
        requests: 100_000,
        runs: 200,
        itsm: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--requests" => args.requests = value.parse().expect("--requests takes a number"),
            "--runs" => args.runs = value.parse().expect("--runs takes a number"),
            "--itsm" => args.itsm = Some(value.into()),
            other => panic!("unknown flag {other}; flags: --requests N --runs N --itsm PATH"),
        }
    }
    args
}

fn firewall(requester: &str, port: u32) -> NewRequest {
    let inputs: BTreeMap<String, InputValue> = [
        ("source_zone", InputValue::Text("app".into())),
        ("destination_zone", InputValue::Text("data".into())),
        ("port", InputValue::Number(f64::from(port))),
        ("protocol", InputValue::Text("tcp".into())),
        ("justification", InputValue::Text("bench".into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    NewRequest {
        offering: OfferingId::new("network.firewall-rule").expect("valid"),
        requester: TeamId::new(requester).expect("valid"),
        submitted_by: None,
        inputs,
        urgency: Urgency::Medium,
    }
}

fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("bench.db");
    let catalog = dir.path().join("catalog.toml");
    std::fs::write(&catalog, CATALOG).expect("write catalog");
    let config = dir.path().join("itsm.toml");
    std::fs::write(
        &config,
        format!(
            "[specialist]\ncatalog = {:?}\n",
            catalog.display().to_string()
        ),
    )
    .expect("write config");
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
    runtime.block_on(async {
        let store = LocalStore::open(&db, Arc::new(SystemClock)).expect("open store");
        store
            .load_specialist_catalog(&CatalogFile::parse(CATALOG).expect("catalog"))
            .await
            .expect("load catalog");
        let started = Instant::now();
        for i in 0..args.requests {
            let key = IdempotencyKey::new(format!("seed/{i}")).expect("valid");
            let requester = format!("team-{}", i % 200);
            store
                .submit(&key, &firewall(&requester, 1000 + (i % 1000) as u32))
                .await
                .expect("seed request");
        }
        println!(
            "seeded {} requests in {:.1} s",
            args.requests,
            started.elapsed().as_secs_f64()
        );
    });

    println!("itsm: {}", itsm.display());
    println!(
        "{:<28} {:>6} {:>10} {:>10} {:>10}",
        "command", "runs", "median", "p90", "mean"
    );
    let mut times = Vec::with_capacity(args.runs);
    for i in 0..args.runs {
        let started = Instant::now();
        let status = Command::new(&itsm)
            .args([
                "specialist",
                "request",
                "--offering",
                "network.firewall-rule",
                "--requester",
                "checkout",
                "--input",
                "source_zone=app",
                "--input",
                "destination_zone=partner",
                "--input",
                &format!("port={}", 2000 + i),
                "--input",
                "protocol=tcp",
                "--input",
                "justification=bench",
                "--key",
                &format!("bench/{i}"),
            ])
            .env("ITSM_DB", &db)
            .env("ITSM_CONFIG", &config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run itsm");
        times.push(started.elapsed());
        assert!(status.success(), "run {i} exited with {status}");
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "{:<28} {:>6} {:>10} {:>10} {:>10}",
        "itsm specialist request",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(mean)
    );
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
