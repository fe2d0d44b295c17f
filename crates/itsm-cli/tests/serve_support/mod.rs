//! Shared by the `itsm serve` tests: an in-process server on a free loopback port, test
//! processors, generic alert bodies, bounded polling.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use itsm_cli::serve::{AlertProcessor, ServeConfig, Server, ServerBuilder, queue};
use itsm_core::Result;
use itsm_incident::Alert;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

/// A server running in this process.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    pub(crate) queue: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<()>>>,
}

impl Running {
    /// `http://addr{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Signals shutdown (without waiting).
    pub(crate) fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Signals shutdown and waits for `run` to return.
    pub(crate) async fn stop(mut self) -> Result<()> {
        self.signal_stop();
        match self.handle.take() {
            Some(handle) => handle.await.expect("server task"),
            None => Ok(()),
        }
    }
}

/// A config with a free loopback port and the queue at `queue`.
pub(crate) fn config(queue: PathBuf) -> ServeConfig {
    ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        queue_db: Some(queue),
        ..ServeConfig::default()
    }
}

/// Binds and runs a server with `config` and `processor` (accept-only without one).
pub(crate) async fn start(
    config: ServeConfig,
    processor: Option<Arc<dyn AlertProcessor>>,
) -> Running {
    let queue = config.queue_db.clone().unwrap();
    let mut builder = Server::builder(config);
    if let Some(p) = processor {
        builder = builder.processor(p);
    }
    start_built(builder, queue).await
}

/// Binds and runs the server `builder` configures (its queue at `queue`).
pub(crate) async fn start_built(builder: ServerBuilder, queue: PathBuf) -> Running {
    let server = builder.bind().await.expect("bind");
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        queue,
        stop: Some(stop),
        handle: Some(handle),
    }
}

/// One processing call: the alert's dedup key, status, and when.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) firing: bool,
    pub(crate) at: Instant,
    pub(crate) ok: bool,
}

/// Records every call; answers from a script per alert name (then `Ok`); optionally waits
/// for a permit before answering.
#[derive(Debug, Default)]
pub(crate) struct TestProcessor {
    pub(crate) calls: Mutex<Vec<Call>>,
    script: Mutex<Vec<(String, VecDeque<itsm_core::Error>)>>,
    gate: Option<Semaphore>,
}

impl TestProcessor {
    /// Succeeds at once.
    pub(crate) fn new() -> Arc<TestProcessor> {
        Arc::new(TestProcessor::default())
    }

    /// Waits for [`TestProcessor::release`] before each answer.
    pub(crate) fn gated() -> Arc<TestProcessor> {
        Arc::new(TestProcessor {
            gate: Some(Semaphore::new(0)),
            ..TestProcessor::default()
        })
    }

    /// Alerts named `name` fail with `errors`, in turn, before succeeding.
    pub(crate) fn failing(errors: Vec<(&str, Vec<itsm_core::Error>)>) -> Arc<TestProcessor> {
        Arc::new(TestProcessor {
            script: Mutex::new(
                errors
                    .into_iter()
                    .map(|(n, e)| (n.to_owned(), e.into()))
                    .collect(),
            ),
            ..TestProcessor::default()
        })
    }

    /// Lets `n` gated calls answer.
    pub(crate) fn release(&self, n: usize) {
        if let Some(gate) = &self.gate {
            gate.add_permits(n);
        }
    }

    /// The calls so far.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Calls that started (gated ones included).
    pub(crate) fn started(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

#[async_trait]
impl AlertProcessor for TestProcessor {
    async fn process(&self, alert: &Alert) -> Result<()> {
        let index = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(Call {
                key: alert.dedup_key.as_str().to_owned(),
                name: alert.name.clone(),
                firing: alert.is_firing(),
                at: Instant::now(),
                ok: false,
            });
            calls.len() - 1
        };
        if let Some(gate) = &self.gate {
            gate.acquire().await.expect("gate").forget();
        }
        let failure = {
            let mut script = self.script.lock().unwrap();
            script
                .iter_mut()
                .find(|(name, _)| *name == alert.name)
                .and_then(|(_, errors)| errors.pop_front())
        };
        match failure {
            Some(e) => Err(e),
            None => {
                self.calls.lock().unwrap()[index].ok = true;
                Ok(())
            }
        }
    }
}

/// A generic alert body.
pub(crate) fn generic(name: &str, status: &str, dedup_key: &str) -> String {
    serde_json::json!({
        "status": status,
        "service": "checkout",
        "name": name,
        "summary": format!("{name} is {status}"),
        "severity": "critical",
        "dedup_key": dedup_key,
        "starts_at": "2026-11-22T02:09:05Z",
    })
    .to_string()
}

/// Polls `check` every 10 ms until it holds or `limit` passes; panics naming `what`.
pub(crate) async fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every row of the queue.
pub(crate) fn rows(queue: &std::path::Path) -> Vec<queue::QueueRow> {
    queue::rows(queue, None, 0, u32::MAX).expect("queue rows")
}

/// A fixture of `tests/fixtures/alertmanager/`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/alertmanager")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of a metric line `name value` in exposition text.
pub(crate) fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing in:\n{text}"))
}

/// Starts `itsm serve` on a free port; returns the child and its address.
pub(crate) fn spawn_serve(dir: &Path) -> (Child, String) {
    spawn_serve_with(dir, &[])
}

/// Starts `itsm serve` in `dir` (its `itsm.toml`, its `itsm.db`) on a free port with the
/// `ITSM_*` variables `env` (and no others); returns the child and its address.
pub(crate) fn spawn_serve_with(dir: &Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_itsm"));
    for (k, _) in std::env::vars() {
        if ["ITSM_", "PAGERDUTY_", "SERVICENOW_", "JIRA_"]
            .iter()
            .any(|p| k.starts_with(p))
        {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .current_dir(dir)
        .env("HOME", dir)
        .env("ITSM_DB", dir.join("itsm.db"))
        .envs(env.iter().copied())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start itsm serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    // "listening on 127.0.0.1:PORT (alert queue ...)"
    let addr = line
        .split_whitespace()
        .nth(2)
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    (child, addr)
}
