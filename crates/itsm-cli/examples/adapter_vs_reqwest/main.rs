//! CPU time per request of each adapter's main operations versus the same HTTP requests
//! made with bare reqwest, against the vendor simulators served by the `sim_server`
//! example in a separate process (so the CPU measured is the client's alone).
//!
//! ```text
//! cargo build --release --locked -p itsm-cli --example sim_server --example adapter_vs_reqwest
//! target/release/examples/adapter_vs_reqwest [--vendor all|pagerduty|servicenow|jira] \
//!     [--requests 3000] [--rounds 3] [--concurrency 1] [--clients both|adapter|bare] \
//!     [--op both|create|get]
//! ```
//!
//! Operations: PagerDuty `trigger` (Events API v2 enqueue) and `get` (REST incident);
//! ServiceNow and Jira `create` (incident, looked up by key first) and `get`. The bare
//! client replays exactly the requests the adapter sent (recorded once through a proxy
//! before measuring), with a fresh idempotency key per iteration, and decodes every answer
//! as JSON. CPU time is the process's (the sum of its threads' `/proc/self/task/*/schedstat`
//! run time); the client runs on a single-threaded tokio runtime. Each figure is the best
//! of `--rounds` alternating rounds. Lines starting with `RESULT` are machine-readable.
//! `--clients` and `--op` narrow a run to one client or one operation (for instruction
//! counts under `valgrind --tool=callgrind`, where the whole process is counted).

mod ops;
mod record;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ops::{Adapter, VENDORS};
use record::{Recorded, Recorder};

type BoxError = Box<dyn std::error::Error>;

#[derive(Debug, Clone)]
struct Options {
    vendors: Vec<String>,
    requests: usize,
    rounds: usize,
    concurrency: usize,
    adapter: bool,
    bare: bool,
    ops: Vec<Op>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        vendors: VENDORS.iter().map(|v| (*v).to_owned()).collect(),
        requests: 3000,
        rounds: 3,
        concurrency: 1,
        adapter: true,
        bare: true,
        ops: vec![Op::Create, Op::Get],
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value:?}: {e}");
        match flag.as_str() {
            "--vendor" if value == "all" => {}
            "--vendor" if VENDORS.contains(&value.as_str()) => o.vendors = vec![value],
            "--requests" => o.requests = value.parse().map_err(|e| bad(&e))?,
            "--rounds" => o.rounds = value.parse().map_err(|e| bad(&e))?,
            "--concurrency" => o.concurrency = value.parse().map_err(|e| bad(&e))?,
            "--clients" if value == "both" => (o.adapter, o.bare) = (true, true),
            "--clients" if value == "adapter" => (o.adapter, o.bare) = (true, false),
            "--clients" if value == "bare" => (o.adapter, o.bare) = (false, true),
            "--op" if value == "both" => o.ops = vec![Op::Create, Op::Get],
            "--op" if value == "create" => o.ops = vec![Op::Create],
            "--op" if value == "get" => o.ops = vec![Op::Get],
            _ => return Err(format!("unknown flag or value: {flag} {value}")),
        }
    }
    if o.requests == 0 || o.rounds == 0 || o.concurrency == 0 {
        return Err("--requests, --rounds and --concurrency must be at least 1".into());
    }
    Ok(o)
}

/// CPU time used so far by this process's live threads.
fn cpu() -> Duration {
    let mut nanos = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let text = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            nanos += text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(nanos)
}

/// The `sim_server` example next to this binary, serving `vendor` on a free port.
struct Sim {
    child: Child,
    base: String,
}

impl Sim {
    fn start(vendor: &str) -> Result<Sim, BoxError> {
        let exe = std::env::current_exe()?;
        let path = exe.with_file_name("sim_server");
        let mut child = Command::new(&path)
            .args([vendor, "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {}: {e}; build the sim_server example",
                    path.display()
                )
            })?;
        let stdout = child.stdout.take().ok_or("no stdout from sim_server")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("sim_server said {line:?}"))?;
        Ok(Sim {
            base: format!("http://{addr}/"),
            child,
        })
    }

    async fn stats(&self) -> String {
        let url = format!("{}_sim/stats", self.base);
        match reqwest::get(url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(e) => format!("unreachable: {e}"),
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);
const RECORD_KEY: &str = "bk000000000000";

fn next_key() -> String {
    format!("bk{:012}", NEXT_KEY.fetch_add(1, Ordering::Relaxed))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Get,
}

impl Op {
    fn name(self, vendor: &str) -> &'static str {
        match (self, vendor) {
            (Op::Create, "pagerduty") => "trigger",
            (Op::Create, _) => "create",
            (Op::Get, _) => "get",
        }
    }
}

/// What one client does once.
#[derive(Clone)]
enum Client {
    Adapter(Arc<Adapter>),
    Bare {
        http: reqwest::Client,
        base: Arc<str>,
        requests: Arc<[Recorded]>,
    },
}

impl Client {
    async fn once(&self, op: Op, id: &str) -> bool {
        let key = next_key();
        match self {
            Client::Adapter(a) => match op {
                Op::Create => a.create(&key).await.is_ok(),
                Op::Get => a.get(id).await.is_ok(),
            },
            Client::Bare {
                http,
                base,
                requests,
            } => {
                let swap = (op == Op::Create).then_some((RECORD_KEY, key.as_str()));
                record::replay(http, base, requests, swap).await
            }
        }
    }
}

struct Run {
    cpu: Duration,
    wall: Duration,
    failed: usize,
}

async fn measure(client: &Client, op: Op, id: &Arc<str>, n: usize, concurrency: usize) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (cpu0, wall0) = (cpu(), Instant::now());
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, id, next, failed) =
                (client.clone(), id.clone(), next.clone(), failed.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    if !client.once(op, &id).await {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    Run {
        cpu: cpu() - cpu0,
        wall: wall0.elapsed(),
        failed: failed.load(Ordering::Relaxed),
    }
}

async fn vendor(o: &Options, vendor: &str) -> Result<(), BoxError> {
    let sim = Sim::start(vendor)?;
    // Record what the adapter sends, through the proxy (not measured).
    let recorder = Recorder::start(&sim.base).await?;
    let proxied = Adapter::new(vendor, &format!("http://{}/", recorder.addr))?;
    let created = proxied.create(RECORD_KEY).await?;
    let create_requests = recorder.take();
    let id = proxied.page_id(RECORD_KEY, created).await?;
    let _ = recorder.take();
    proxied.get(&id).await?;
    let get_requests = recorder.take();
    drop(recorder);

    let adapter = Client::Adapter(Arc::new(Adapter::new(vendor, &sim.base)?));
    let base: Arc<str> = sim.base.trim_end_matches('/').into();
    let bare = |requests: Vec<Recorded>| Client::Bare {
        http: reqwest::Client::new(),
        base: base.clone(),
        requests: requests.into(),
    };
    let id: Arc<str> = id.into();
    let mut creates = 1;
    for (op, requests) in [(Op::Create, create_requests), (Op::Get, get_requests)] {
        if !o.ops.contains(&op) {
            continue;
        }
        let per_op = requests.len();
        let mut clients = Vec::new();
        if o.adapter {
            clients.push(("adapter", adapter.clone()));
        }
        if o.bare {
            clients.push(("bare-reqwest", bare(requests)));
        }
        // Warm up connections and caches.
        for (_, client) in &clients {
            measure(client, op, &id, 200, o.concurrency).await;
        }
        let mut best: Vec<Option<Run>> = clients.iter().map(|_| None).collect();
        for _ in 0..o.rounds {
            for ((_, client), best) in clients.iter().zip(best.iter_mut()) {
                let run = measure(client, op, &id, o.requests, o.concurrency).await;
                if best.as_ref().is_none_or(|b| run.cpu < b.cpu) {
                    *best = Some(run);
                }
            }
        }
        if op == Op::Create {
            creates += clients.len() * (200 + o.rounds * o.requests);
        }
        let mut cpu_per_op = Vec::new();
        for ((name, _), run) in clients.iter().zip(best.iter().flatten()) {
            let us = run.cpu.as_secs_f64() * 1e6 / o.requests as f64;
            cpu_per_op.push(us);
            println!(
                "RESULT vendor={vendor} op={} client={name} concurrency={} ops={} http_per_op={per_op} \
                 wall_s={:.3} cpu_s={:.3} cpu_us_per_op={us:.1} cpu_us_per_request={:.1} \
                 ops_per_s={:.0} ops_per_cpu_s={:.0} failed={}",
                op.name(vendor),
                o.concurrency,
                o.requests,
                run.wall.as_secs_f64(),
                run.cpu.as_secs_f64(),
                us / per_op.max(1) as f64,
                o.requests as f64 / run.wall.as_secs_f64(),
                o.requests as f64 / run.cpu.as_secs_f64(),
                run.failed,
            );
        }
        if let [adapter_us, bare_us] = cpu_per_op[..] {
            println!(
                "RATIO vendor={vendor} op={} adapter/bare={:.3} target<=1.15 {}",
                op.name(vendor),
                adapter_us / bare_us,
                if adapter_us / bare_us <= 1.15 {
                    "met"
                } else {
                    "NOT MET"
                }
            );
        }
    }
    println!(
        "CHECK vendor={vendor} creates={creates} simulator={}",
        sim.stats().await
    );
    Ok(())
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("adapter_vs_reqwest: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    for v in &o.vendors {
        if let Err(e) = runtime.block_on(vendor(&o, v)) {
            eprintln!("adapter_vs_reqwest: {v}: {e}");
            std::process::exit(1);
        }
    }
}
