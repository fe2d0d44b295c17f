//! The deployment gate fails closed (C3): with a ServiceNow backend that is down, slower
//! than the client timeout, answering garbage or answering 5xx, `itsm change gate` exits 4
//! ("cannot verify"), never 0. Each test first raises a standard change on a healthy
//! simulator and sees the gate allow it, so the fault, not a missing change, is what denies.

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use common::{Env, code, stderr, stdout};
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::faults::{FaultKind, FaultPlan, Vendor};
use itsm_testkit::sim::servicenow::ServiceNowSim;

const GATE: [&str; 8] = [
    "change",
    "gate",
    "--service",
    "checkout",
    "--version",
    "1.4.2",
    "--env",
    "production",
];

/// `[backend]` on ServiceNow at `base`, one-second attempts, `attempts` of them.
fn point_at(env: &Env, base: &str, attempts: u32) {
    env.config(&format!(
        r#"
[backend]
kind = "servicenow"
[servicenow]
instance_url = "{base}"
username = "itsm.integration"
password = "sim-password"
timeout_seconds = 1
max_attempts = {attempts}
"#
    ));
}

/// A simulated instance where checkout 1.4.2 has an approved standard change for
/// production, and a directory configured for it; the gate allows the deployment there.
async fn approved_change() -> (ServiceNowSim, Env) {
    let sim = ServiceNowSim::new();
    sim.add_template("checkout", &["production"], "Checkout release");
    let healthy = SimServer::start(sim.router()).await.unwrap();
    let env = Env::new();
    point_at(&env, &healthy.base_url(), 2);
    let raised = env.run(&[
        "change",
        "raise",
        "--service",
        "checkout",
        "--version",
        "1.4.2",
        "--env",
        "production",
        "--run",
        "run-1",
    ]);
    assert_eq!(code(&raised), 0, "{}{}", stdout(&raised), stderr(&raised));
    assert!(
        stdout(&raised).contains("standard change"),
        "{}",
        stdout(&raised)
    );
    let allowed = env.run(&GATE);
    assert_eq!(
        code(&allowed),
        0,
        "{}{}",
        stdout(&allowed),
        stderr(&allowed)
    );
    (sim, env)
}

/// The gate, run against the faulty backend: exit 4 and "cannot verify" with a reason
/// that names the fault (`because`), never 0.
fn assert_fails_closed(env: &Env, fault: &str, because: &str) {
    let out = env.run(&GATE);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert_ne!(
        code(&out),
        0,
        "{fault}: the gate allowed a deployment: {said}"
    );
    assert_eq!(code(&out), 4, "{fault}: {said}");
    assert!(said.contains("denied: cannot verify"), "{fault}: {said}");
    assert!(said.contains(because), "{fault}: {said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_down_fails_closed() {
    let (_sim, env) = approved_change().await;
    // A loopback port nobody listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    point_at(&env, &format!("http://127.0.0.1:{port}/"), 2);
    assert_fails_closed(&env, "backend down", "could not connect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_slower_than_the_timeout_fails_closed() {
    let (sim, env) = approved_change().await;
    let plan = FaultPlan::new(1)
        .share(1.0)
        .kind(FaultKind::Delay(Duration::from_secs(5)))
        .vendor(Vendor::ServiceNow);
    let slow = SimServer::start_with_faults(sim.router(), plan)
        .await
        .unwrap();
    point_at(&env, &slow.base_url(), 1);
    assert_fails_closed(&env, "slow past the timeout", "timed out");
    assert!(slow.faults().total() >= 1, "{:?}", slow.faults());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_answering_garbage_fails_closed() {
    let (_sim, env) = approved_change().await;
    for (content_type, body) in [
        (
            "text/html",
            "<html><body>Instance hibernating</body></html>",
        ),
        ("application/json", r#"{"result": "not a list of records"}"#),
        ("application/json", r#"{"unexpected": true}"#),
        (
            "application/json",
            r#"{"result": [{"sys_id": 42, "state": []}]}"#,
        ),
    ] {
        let garbage = Router::new().fallback(move || async move {
            (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body)
        });
        let server = SimServer::start(garbage).await.unwrap();
        point_at(&env, &server.base_url(), 2);
        assert_fails_closed(&env, &format!("garbage {body}"), "unusable answer");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_answering_5xx_fails_closed() {
    let (sim, env) = approved_change().await;
    for status in [500, 502, 503] {
        let kind = FaultKind::Status(status);
        let plan = FaultPlan::new(2)
            .share(1.0)
            .kind(kind)
            .vendor(Vendor::ServiceNow);
        let failing = SimServer::start_with_faults(sim.router(), plan)
            .await
            .unwrap();
        point_at(&env, &failing.base_url(), 2);
        assert_fails_closed(&env, &kind.to_string(), &format!("answered HTTP {status}"));
        assert!(failing.faults().count(&kind) >= 1, "{:?}", failing.faults());
    }
}
