//! The soak test (issue #10): N distinct alerts, each firing and then resolved (1% of them
//! delivered twice, 1% with the resolution delivered before the firing), sent to the real
//! `itsm serve` binary while a killer SIGKILLs it every 2-4 s and starts it again on the same
//! port; the server tickets on the ServiceNow simulator and pages on the PagerDuty simulator,
//! both of which fault 20% of their requests (500/502/503, 429 with and without a wait,
//! connection reset, a 1.5 s delay (past the ServiceNow adapter's 1 s timeout; the PagerDuty
//! adapter's 30 s timeout is not configurable, so there it is only slow), the answer lost
//! after the write). The sender retries every delivery until it is acknowledged (202), as
//! Alertmanager does.
//!
//! At the end, read straight from the simulators: every acknowledged alert has exactly one
//! incident on ServiceNow and exactly one page on PagerDuty, both resolved; nothing is
//! duplicated, lost, or left as a dead letter in the queue. One line reports the counts.
//!
//! `ITSM_SOAK_ALERTS` sets N (default 2,000), `ITSM_SOAK_SEED` the seed of the alert plan, the
//! kill times and the fault plans (default [`DEFAULT_SEED`]). The long run is documented in
//! `docs/operations.md` ("Soak test").

mod serve_support;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use itsm_cli::serve::queue;
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::faults::{FaultKind, FaultLog, FaultPlan, Vendor};
use itsm_testkit::sim::pagerduty::PagerDutySim;
use itsm_testkit::sim::servicenow::ServiceNowSim;
use serve_support::generic;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// N when `ITSM_SOAK_ALERTS` is not set.
const DEFAULT_ALERTS: usize = 2_000;
/// The seed when `ITSM_SOAK_SEED` is not set.
const DEFAULT_SEED: u64 = 20_261_122;
/// Alerts being delivered at once.
const SENDERS: usize = 64;
/// The adapters' per-attempt timeout to ServiceNow (`[servicenow] timeout_seconds`).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(1);
/// The injected slow answer: past [`CLIENT_TIMEOUT`].
const SLOW_ANSWER: Duration = Duration::from_millis(1_500);
/// The wait a 429 asks for.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);
/// ServiceNow's incident states "resolved" and "closed" (the adapter's defaults).
const SN_RESOLVED: [&str; 2] = ["6", "7"];

/// SplitMix64: a small seeded generator, so that one seed gives one run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

/// One alert of the run and how it is delivered.
#[derive(Debug, Clone)]
struct Planned {
    key: String,
    /// Each of its deliveries is sent twice.
    twice: bool,
    /// The resolution is delivered (and acknowledged) before the firing.
    reversed: bool,
    /// The wait between its first and its second status, in milliseconds.
    pause_ms: u64,
}

/// `n` alerts: exactly 1% (at least one) delivered twice, another 1% out of order.
fn plan_alerts(n: usize, seed: u64) -> Vec<Planned> {
    let mut rng = Rng(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.between(0, i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let share = (n / 100).max(1).min(n / 2);
    let mut twice = vec![false; n];
    let mut reversed = vec![false; n];
    for &i in &order[..share] {
        twice[i] = true;
    }
    for &i in &order[share..2 * share] {
        reversed[i] = true;
    }
    (0..n)
        .map(|i| Planned {
            key: format!("soak-{seed}-{i}"),
            twice: twice[i],
            reversed: reversed[i],
            pause_ms: rng.between(0, 2_000),
        })
        .collect()
}

/// 20% of requests faulted, the kinds picked uniformly.
fn fault_plan(seed: u64, vendor: Vendor) -> FaultPlan {
    FaultPlan::new(seed)
        .share(0.2)
        .kinds(FaultKind::server_errors())
        .kinds(FaultKind::rate_limits(RATE_LIMIT_WAIT))
        .kind(FaultKind::ConnectionReset)
        .kind(FaultKind::Delay(SLOW_ANSWER))
        .kind(FaultKind::ResponseLost)
        .vendor(vendor)
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) if !text.trim().is_empty() => {
            text.trim().replace('_', "").parse().unwrap_or_else(|_| {
                panic!(
                    "{name}={text:?} is not a whole number; unset it or write e.g. {name}={default}"
                )
            })
        }
        _ => default,
    }
}

/// A free loopback port (free when asked; the server binds it with SO_REUSEADDR).
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("local addr").to_string()
}

fn config(sn: &SimServer, pd: &SimServer, addr: &str, queue: &Path) -> String {
    format!(
        r#"
[backend]
kind = "servicenow"

[servicenow]
instance_url = "{sn}"
username = "itsm.integration"
password = "sim-password"
timeout_seconds = {timeout}
max_attempts = 3

[pagerduty]
api_token = "sim-TOKEN-value"
routing_key = "sim-routing-key"
from_email = "itsm-bot@example.com"
rest_url = "{pd}"
events_url = "{pd}v2/"
default_service = "PSIMSVC"

[pagerduty.rate_limits]
rest_per_minute = 6000000
events_per_minute = 6000000

[serve]
listen = "{addr}"
queue_db = "{queue}"
concurrency = 32

[serve.retry]
initial_backoff_ms = 100
max_backoff_ms = 2000
max_attempts = 10000
"#,
        sn = sn.base_url(),
        pd = pd.base_url(),
        timeout = CLIENT_TIMEOUT.as_secs(),
        queue = queue.display(),
    )
}

/// Starts `itsm serve` in `dir` (its `itsm.toml`) and waits until it listens; stderr goes
/// to `serve.log` there. Retries while the port is still held by the killed process.
fn start_serve(dir: &Path) -> Child {
    let log = dir.join("serve.log");
    for _ in 0..100 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_itsm"));
        for (k, _) in std::env::vars() {
            if ["ITSM_", "PAGERDUTY_", "SERVICENOW_", "JIRA_"]
                .iter()
                .any(|p| k.starts_with(p))
            {
                cmd.env_remove(k);
            }
        }
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("serve.log");
        let mut child = cmd
            .current_dir(dir)
            .env("HOME", dir)
            .env("ITSM_DB", dir.join("itsm.db"))
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start itsm serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        if line.starts_with("listening on ") {
            return child;
        }
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "itsm serve did not start in 100 tries; its errors:\n{}",
        tail(&log)
    );
}

/// The last lines of a log file.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The sender's side of the run.
#[derive(Debug, Default)]
struct Sent {
    /// POSTs made, retries included.
    posts: AtomicU64,
    /// Deliveries acknowledged with 202.
    acknowledged: AtomicU64,
    /// Alerts whose every delivery was acknowledged.
    alerts_acknowledged: AtomicU64,
    /// POSTs that failed: no connection, reset, or an answer other than 202.
    failed_posts: AtomicU64,
}

/// POSTs `body` until the server acknowledges it (202), as Alertmanager retries.
async fn deliver(client: &reqwest::Client, url: &str, body: &str, sent: &Sent, until: Instant) {
    loop {
        sent.posts.fetch_add(1, Ordering::Relaxed);
        let answer = client.post(url).body(body.to_owned()).send().await;
        if answer.is_ok_and(|a| a.status().as_u16() == 202) {
            sent.acknowledged.fetch_add(1, Ordering::Relaxed);
            return;
        }
        sent.failed_posts.fetch_add(1, Ordering::Relaxed);
        assert!(
            Instant::now() < until,
            "a delivery was not acknowledged before the sending deadline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Delivers one alert: its first status (twice when planned), a pause, its second.
async fn send_alert(
    client: reqwest::Client,
    url: Arc<str>,
    alert: Planned,
    sent: Arc<Sent>,
    until: Instant,
) {
    let firing = generic("SoakAlert", "firing", &alert.key);
    let resolved = generic("SoakAlert", "resolved", &alert.key);
    let (first, second) = if alert.reversed {
        (resolved, firing)
    } else {
        (firing, resolved)
    };
    let times = if alert.twice { 2 } else { 1 };
    for _ in 0..times {
        deliver(&client, &url, &first, &sent, until).await;
    }
    tokio::time::sleep(Duration::from_millis(alert.pause_ms)).await;
    for _ in 0..times {
        deliver(&client, &url, &second, &sent, until).await;
    }
    sent.alerts_acknowledged.fetch_add(1, Ordering::Relaxed);
}

/// SIGKILLs the server every 2-4 s (seeded) and starts it again, until `stop`; returns the
/// number of kills. A server is running when it returns.
async fn killer(server: Arc<Mutex<Child>>, dir: PathBuf, seed: u64, stop: Arc<AtomicBool>) -> u64 {
    let mut rng = Rng(seed ^ 0x5EED_0FC0_FFEE);
    let mut kills = 0;
    loop {
        let at = Instant::now() + Duration::from_millis(rng.between(2_000, 4_000));
        while Instant::now() < at && !stop.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if stop.load(Ordering::SeqCst) {
            return kills;
        }
        {
            let mut child = server.lock().unwrap();
            child.kill().expect("SIGKILL itsm serve");
            let _ = child.wait();
        }
        kills += 1;
        let dir = dir.clone();
        let next = tokio::task::spawn_blocking(move || start_serve(&dir))
            .await
            .expect("restart itsm serve");
        *server.lock().unwrap() = next;
    }
}

/// `label=count` pairs of a fault log, by kind.
fn by_kind(log: &FaultLog) -> String {
    log.by_kind()
        .iter()
        .map(|(kind, n)| format!("{}={n}", kind))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the simulators hold for the planned alerts.
#[derive(Debug, Default)]
struct Verdict {
    incidents: usize,
    pages: usize,
    duplicates: usize,
    lost: usize,
    unresolved: usize,
    /// A few keys per problem, for the failure message.
    examples: BTreeMap<&'static str, Vec<String>>,
}

impl Verdict {
    fn note(&mut self, problem: &'static str, key: &str) {
        let list = self.examples.entry(problem).or_default();
        if list.len() < 5 {
            list.push(key.to_owned());
        }
    }
}

fn judge(alerts: &[Planned], sn: &ServiceNowSim, pd: &PagerDutySim) -> Verdict {
    let mut tickets: HashMap<String, Vec<String>> = HashMap::new();
    for row in sn.rows("incident") {
        let key = row.get("correlation_id").cloned().unwrap_or_default();
        let state = row.get("state").cloned().unwrap_or_default();
        tickets.entry(key).or_default().push(state);
    }
    let mut pages: HashMap<String, Vec<String>> = HashMap::new();
    for page in pd.incidents() {
        pages.entry(page.key).or_default().push(page.status);
    }
    let mut verdict = Verdict {
        incidents: tickets.values().map(Vec::len).sum(),
        pages: pages.values().map(Vec::len).sum(),
        ..Verdict::default()
    };
    for alert in alerts {
        let key = alert.key.as_str();
        let on_sn = tickets.remove(key).unwrap_or_default();
        let on_pd = pages.remove(key).unwrap_or_default();
        for (found, what) in [(on_sn.len(), "ticket"), (on_pd.len(), "page")] {
            match found {
                0 => {
                    verdict.lost += 1;
                    verdict.note(
                        if what == "ticket" {
                            "lost ticket"
                        } else {
                            "lost page"
                        },
                        key,
                    );
                }
                1 => {}
                more => {
                    verdict.duplicates += more - 1;
                    verdict.note(
                        if what == "ticket" {
                            "duplicate ticket"
                        } else {
                            "duplicate page"
                        },
                        key,
                    );
                }
            }
        }
        let sn_open = on_sn.iter().any(|s| !SN_RESOLVED.contains(&s.as_str()));
        let pd_open = on_pd.iter().any(|s| s != "resolved");
        if sn_open || pd_open {
            verdict.unresolved += 1;
            verdict.note(
                match (sn_open, alert.reversed) {
                    (true, true) => "open ticket (out of order)",
                    (true, false) => "open ticket",
                    (false, true) => "open page (out of order)",
                    (false, false) => "open page",
                },
                key,
            );
        }
    }
    // Anything left was opened for a key nobody sent.
    for key in tickets.keys().chain(pages.keys()) {
        verdict.duplicates += 1;
        verdict.note("record for an unknown key", key);
    }
    verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_through_a_sigkilled_serve_to_faulty_simulators_end_exactly_once() {
    let n = env_number("ITSM_SOAK_ALERTS", DEFAULT_ALERTS as u64) as usize;
    let seed = env_number("ITSM_SOAK_SEED", DEFAULT_SEED);
    println!("soak: alerts={n} seed={seed} (ITSM_SOAK_ALERTS, ITSM_SOAK_SEED)");
    let started = Instant::now();
    // Generous deadlines that grow with N; the CI budget is measured, not asserted.
    let send_deadline = started + Duration::from_secs(300) + Duration::from_millis(n as u64 * 40);

    let sn = ServiceNowSim::new();
    let sn_server = SimServer::start_with_faults(sn.router(), fault_plan(seed, Vendor::ServiceNow))
        .await
        .unwrap();
    let pd = PagerDutySim::new().with_token("sim-TOKEN-value");
    let pd_server = SimServer::start_with_faults(
        pd.router(),
        fault_plan(seed.wrapping_add(1), Vendor::PagerDuty),
    )
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let queue_path = dir.path().join("alert-queue.db");
    let addr = free_addr();
    std::fs::write(
        dir.path().join("itsm.toml"),
        config(&sn_server, &pd_server, &addr, &queue_path),
    )
    .unwrap();
    let first = {
        let dir = dir.path().to_owned();
        tokio::task::spawn_blocking(move || start_serve(&dir))
            .await
            .unwrap()
    };
    let server = Arc::new(Mutex::new(first));
    let stop = Arc::new(AtomicBool::new(false));
    let kills = tokio::spawn(killer(
        server.clone(),
        dir.path().to_owned(),
        seed,
        stop.clone(),
    ));

    // Send everything, each delivery until acknowledged.
    let alerts = plan_alerts(n, seed);
    let sent = Arc::new(Sent::default());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url: Arc<str> = format!("http://{addr}/v1/alerts").into();
    let permits = Arc::new(Semaphore::new(SENDERS));
    let mut senders = JoinSet::new();
    for alert in alerts.iter().cloned() {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let (client, url, sent) = (client.clone(), url.clone(), sent.clone());
        senders.spawn(async move {
            send_alert(client, url, alert, sent, send_deadline).await;
            drop(permit);
        });
    }
    while let Some(done) = senders.join_next().await {
        done.expect("a sender panicked");
    }
    let sending_took = started.elapsed();
    println!(
        "soak: every delivery acknowledged after {:.1}s",
        sending_took.as_secs_f64()
    );

    // Keep killing while the queue drains; once it is empty, stop killing and check that
    // the last server left it empty.
    let drain_deadline =
        Instant::now() + Duration::from_secs(240) + Duration::from_millis(n as u64 * 20);
    let drained = || {
        let log = dir.path().join("serve.log");
        let queue_path = queue_path.clone();
        async move {
            loop {
                let stats = queue::stats(&queue_path).expect("queue stats");
                if stats.pending == 0 {
                    return stats;
                }
                assert!(
                    Instant::now() < drain_deadline,
                    "the queue did not drain: {stats:?}; server log:\n{}",
                    tail(&log)
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    drained().await;
    stop.store(true, Ordering::SeqCst);
    let kills = kills.await.expect("killer");
    let stats = drained().await;
    {
        let mut child = server.lock().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
    let dead_letters = queue::dead_letters(&queue_path, 5).expect("dead letters");

    let verdict = judge(&alerts, &sn, &pd);
    let (sn_faults, pd_faults) = (sn_server.faults(), pd_server.faults());
    println!(
        "soak: sent={n} acknowledged={} incidents={} pages={} duplicates={} lost={} unresolved={} dead_letters={} kills={kills} faults={} deliveries={} posts={} failed_posts={} twice={} out_of_order={} sending={:.1}s total={:.1}s",
        sent.alerts_acknowledged.load(Ordering::Relaxed),
        verdict.incidents,
        verdict.pages,
        verdict.duplicates,
        verdict.lost,
        verdict.unresolved,
        stats.failed,
        sn_faults.total() + pd_faults.total(),
        sent.acknowledged.load(Ordering::Relaxed),
        sent.posts.load(Ordering::Relaxed),
        sent.failed_posts.load(Ordering::Relaxed),
        alerts.iter().filter(|a| a.twice).count(),
        alerts.iter().filter(|a| a.reversed).count(),
        sending_took.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    println!(
        "soak: faults servicenow {} of {} requests: {}",
        sn_faults.total(),
        sn_faults.requests,
        by_kind(&sn_faults)
    );
    println!(
        "soak: faults pagerduty {} of {} requests: {}",
        pd_faults.total(),
        pd_faults.requests,
        by_kind(&pd_faults)
    );

    let acknowledged = sent.alerts_acknowledged.load(Ordering::Relaxed) as usize;
    assert_eq!(acknowledged, n, "every alert acknowledged");
    assert!(
        sn_faults.total() > 0 && pd_faults.total() > 0,
        "no faults were injected"
    );
    let problems = format!(
        "{:?}; dead letters: {:?}",
        verdict.examples,
        dead_letters
            .iter()
            .map(|r| (r.dedup_key.as_str(), r.last_error.as_deref()))
            .collect::<Vec<_>>()
    );
    assert_eq!(stats.failed, 0, "dead letters: {problems}");
    assert_eq!(verdict.lost, 0, "lost: {problems}");
    assert_eq!(verdict.duplicates, 0, "duplicates: {problems}");
    assert_eq!(verdict.unresolved, 0, "not resolved on both: {problems}");
    assert_eq!(verdict.incidents, n, "one incident per alert: {problems}");
    assert_eq!(verdict.pages, n, "one page per alert: {problems}");
    assert!(
        kills >= 1,
        "the server was never killed: the run was too short"
    );
}
