//! Load tool for `itsm serve`: drives `POST /v1/alerts/alertmanager` with distinct alerts
//! over keep-alive HTTP/1.1 connections on loopback, and reports acknowledged alerts per
//! second and request latency percentiles.
//!
//! ```text
//! cargo run --release -p itsm-cli --example alert_load -- \
//!     --addr 127.0.0.1:9095 --connections 64 --seconds 10 \
//!     [--alerts-per-request 1] [--token T] [--queue-db FILE] [--pid PID]
//! ```
//!
//! With `--queue-db` it counts the queue's rows afterwards and compares them with the
//! acknowledged alerts; with `--pid` it prints the server's VmRSS / VmHWM. A minimal
//! hand-written client keeps the tool's own CPU use low (it shares the machine with the
//! server).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, Clone)]
struct Options {
    addr: SocketAddr,
    connections: usize,
    seconds: u64,
    per_request: usize,
    token: Option<String>,
    queue_db: Option<String>,
    pid: Option<u32>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        addr: "127.0.0.1:9095".parse().map_err(|e| format!("{e}"))?,
        connections: 64,
        seconds: 10,
        per_request: 1,
        token: None,
        queue_db: None,
        pid: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value:?}: {e}");
        match flag.as_str() {
            "--addr" => o.addr = value.parse().map_err(|e| bad(&e))?,
            "--connections" => o.connections = value.parse().map_err(|e| bad(&e))?,
            "--seconds" => o.seconds = value.parse().map_err(|e| bad(&e))?,
            "--alerts-per-request" => o.per_request = value.parse().map_err(|e| bad(&e))?,
            "--token" => o.token = Some(value),
            "--queue-db" => o.queue_db = Some(value),
            "--pid" => o.pid = Some(value.parse().map_err(|e| bad(&e))?),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(o)
}

/// One webhook body with `n` alerts never sent before (distinct fingerprints).
fn body(run: u64, conn: usize, seq: u64, n: usize) -> String {
    let mut alerts = String::with_capacity(n * 400);
    for i in 0..n {
        if i > 0 {
            alerts.push(',');
        }
        alerts.push_str(&format!(
            r#"{{"status":"firing","labels":{{"alertname":"LoadTest","service":"checkout","severity":"warning","instance":"c{conn}-{seq}-{i}"}},"annotations":{{"summary":"load test alert"}},"startsAt":"2026-11-22T02:09:05Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://127.0.0.1:9090/graph","fingerprint":"{run:08x}{conn:04x}{seq:08x}{i:02x}"}}"#
        ));
    }
    format!(
        r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"LoadTest\"}}","status":"firing","receiver":"itsm","groupLabels":{{"alertname":"LoadTest"}},"commonLabels":{{}},"commonAnnotations":{{}},"externalURL":"http://127.0.0.1:9093","alerts":[{alerts}]}}"#
    )
}

#[derive(Debug, Default)]
struct Tally {
    latencies: Vec<u32>,
    acked_alerts: u64,
    non_2xx: u64,
    errors: u64,
}

async fn connection(o: Arc<Options>, conn: usize, run: u64, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    let mut seq = 0u64;
    let mut buf = vec![0u8; 16 * 1024];
    'reconnect: while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(o.addr).await else {
            tally.errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        while !stop.load(Ordering::Relaxed) {
            seq += 1;
            let payload = body(run, conn, seq, o.per_request);
            let auth = o
                .token
                .as_ref()
                .map(|t| format!("Authorization: Bearer {t}\r\n"))
                .unwrap_or_default();
            let request = format!(
                "POST /v1/alerts/alertmanager HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{payload}",
                o.addr,
                payload.len()
            );
            let started = Instant::now();
            if stream.write_all(request.as_bytes()).await.is_err() {
                tally.errors += 1;
                continue 'reconnect;
            }
            match read_response(&mut stream, &mut buf).await {
                Some(status) => {
                    let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
                    tally.latencies.push(micros);
                    if (200..300).contains(&status) {
                        tally.acked_alerts += o.per_request as u64;
                    } else {
                        tally.non_2xx += 1;
                    }
                }
                None => {
                    tally.errors += 1;
                    continue 'reconnect;
                }
            }
        }
    }
    tally
}

/// Reads one response; returns its status code.
async fn read_response(stream: &mut TcpStream, buf: &mut [u8]) -> Option<u16> {
    let mut filled = 0;
    loop {
        let n = stream.read(buf.get_mut(filled..)?).await.ok()?;
        if n == 0 {
            return None;
        }
        filled += n;
        let head = buf.get(..filled)?;
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = std::str::from_utf8(head.get(..end)?).ok()?;
            let status: u16 = text.get(9..12)?.parse().ok()?;
            let length: usize = text
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            let mut have = filled - end - 4;
            while have < length {
                let n = stream.read(buf).await.ok()?;
                if n == 0 {
                    return None;
                }
                have += n;
            }
            return Some(status);
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(rank).copied().unwrap_or(0)
}

fn memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    let o = match options() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("alert_load: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() & 0xffff_ffff)
        .unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tallies = runtime.block_on(async {
        let tasks: Vec<_> = (0..o.connections)
            .map(|c| tokio::spawn(connection(o.clone(), c, run, stop.clone())))
            .collect();
        tokio::time::sleep(Duration::from_secs(o.seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut out = Vec::new();
        for t in tasks {
            if let Ok(tally) = t.await {
                out.push(tally);
            }
        }
        out
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies: Vec<u32> = tallies.iter().flat_map(|t| t.latencies.clone()).collect();
    latencies.sort_unstable();
    let acked: u64 = tallies.iter().map(|t| t.acked_alerts).sum();
    let non_2xx: u64 = tallies.iter().map(|t| t.non_2xx).sum();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    println!(
        "connections={} seconds={:.1} alerts/request={} requests={} acked_alerts={} \
         alerts/s={:.0} p50={}us p99={}us max={}us non_2xx={} errors={}",
        o.connections,
        elapsed,
        o.per_request,
        latencies.len(),
        acked,
        acked as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
        non_2xx,
        errors
    );
    if let Some(pid) = o.pid {
        println!("server memory: {}", memory(pid));
    }
    if let Some(db) = &o.queue_db {
        match rusqlite::Connection::open(db).and_then(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM alert_queue WHERE dedup_key LIKE ?1",
                [format!("alertmanager:{run:08x}%")],
                |r| r.get::<_, i64>(0),
            )
        }) {
            Ok(rows) => println!(
                "queue rows of this run: {rows} (acknowledged {acked}): {}",
                if rows as u64 >= acked {
                    "all stored"
                } else {
                    "MISSING ROWS"
                }
            ),
            Err(e) => println!("cannot count queue rows: {e}"),
        }
    }
}
