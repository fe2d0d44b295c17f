//! The simulators' fault mode seen by a real HTTP client: a seed fixes the sequence, the
//! share is honoured at its ends, and each kind reaches the client the way it is documented
//! (status and body, wait headers, a connection error, a timeout, a lost answer whose write
//! happened).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::faults::{FaultKind, FaultLog, FaultPlan, Vendor};
use itsm_testkit::sim::servicenow::ServiceNowSim;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

/// A router answering `GET /n` with "ok", counting the requests that reached it.
fn counting_router() -> (Router, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let router = Router::new().route(
        "/n",
        get(move || {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    (router, hits)
}

/// Whether the connection was reset by the server (an `io::Error` of that kind in the chain).
fn was_reset(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset)
        {
            return true;
        }
        source = e.source();
    }
    false
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// What the client saw: the status, or that the connection failed.
async fn outcome(client: &reqwest::Client, url: &str) -> String {
    match client.get(url).send().await {
        Ok(resp) => resp.status().as_u16().to_string(),
        Err(e) => {
            assert!(e.status().is_none(), "{e}");
            "connection error".into()
        }
    }
}

/// `n` GETs in a row against a fresh server with `plan`: what the client saw, and the log.
async fn run(plan: FaultPlan, n: usize) -> (Vec<String>, FaultLog, usize) {
    let (router, hits) = counting_router();
    let server = SimServer::start_with_faults(router, plan).await.unwrap();
    let url = format!("{}n", server.base_url());
    let client = client();
    let mut seen = Vec::new();
    for _ in 0..n {
        seen.push(outcome(&client, &url).await);
    }
    (seen, server.faults(), hits.load(Ordering::SeqCst))
}

fn quick_kinds(seed: u64, share: f64) -> FaultPlan {
    FaultPlan::new(seed)
        .share(share)
        .kinds(FaultKind::server_errors())
        .kind(FaultKind::TooManyRequests { retry_after: None })
        .kind(FaultKind::ConnectionReset)
        .kind(FaultKind::ResponseLost)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_faults_in_the_same_order() {
    let (first_seen, first_log, _) = run(quick_kinds(42, 0.4), 40).await;
    let (again_seen, again_log, _) = run(quick_kinds(42, 0.4), 40).await;
    assert_eq!(first_seen, again_seen);
    assert_eq!(first_log, again_log);
    assert_eq!(first_log.requests, 40);
    assert!(
        (4..=30).contains(&first_log.total()),
        "{} faults at share 0.4: {:?}",
        first_log.total(),
        first_log.by_kind()
    );
    // Every faulted request shows its fault to the client; the rest are answered.
    for (i, seen) in first_seen.iter().enumerate() {
        let expected = match first_log.injected.iter().find(|f| f.request == i) {
            Some(f) => match f.kind {
                FaultKind::Status(code) => code.to_string(),
                FaultKind::TooManyRequests { .. } => "429".into(),
                _ => "connection error".into(),
            },
            None => "200".into(),
        };
        assert_eq!(*seen, expected, "request {i}");
    }
    let (_, other_log, _) = run(quick_kinds(43, 0.4), 40).await;
    assert_ne!(other_log, first_log, "another seed, another sequence");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_zero_faults_nothing_and_share_one_faults_everything() {
    let (seen, log, hits) = run(quick_kinds(7, 0.0), 25).await;
    assert!(seen.iter().all(|s| s == "200"), "{seen:?}");
    assert_eq!((log.requests, log.total(), hits), (25, 0, 25));

    let (seen, log, hits) = run(quick_kinds(7, 1.0), 25).await;
    assert!(seen.iter().all(|s| s != "200"), "{seen:?}");
    assert_eq!((log.requests, log.total()), (25, 25));
    // Only the lost answers were processed.
    assert_eq!(hits, log.count(&FaultKind::ResponseLost));
}

/// A server with every request getting `kind`.
async fn always(kind: FaultKind, vendor: Vendor) -> (SimServer, Arc<AtomicUsize>) {
    let (router, hits) = counting_router();
    let plan = FaultPlan::new(1).share(1.0).kind(kind).vendor(vendor);
    (
        SimServer::start_with_faults(router, plan).await.unwrap(),
        hits,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_answer_their_status_unprocessed() {
    for code in [500, 502, 503] {
        let (server, hits) = always(FaultKind::Status(code), Vendor::ServiceNow).await;
        let resp = client()
            .get(format!("{}n", server.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), code);
        let body = resp.text().await.unwrap();
        if code == 500 {
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["status"], "failure", "ServiceNow's error body: {body}");
        } else {
            assert!(
                body.contains(&format!("<h1>{code} ")),
                "a proxy's page: {body}"
            );
        }
        assert_eq!(hits.load(Ordering::SeqCst), 0);
        assert_eq!(server.faults().count(&FaultKind::Status(code)), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_with_and_without_wait_headers() {
    let wait = FaultKind::TooManyRequests {
        retry_after: Some(Duration::from_secs(2)),
    };
    let (server, hits) = always(wait, Vendor::Jira).await;
    let resp = client()
        .get(format!("{}n", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("retry-after").as_deref(), Some("2"));
    assert_eq!(header("x-ratelimit-remaining").as_deref(), Some("0"));
    let reset = header("x-ratelimit-reset").unwrap();
    let reset_at = time::OffsetDateTime::parse(&reset, &Rfc3339).unwrap();
    assert!(reset_at > time::OffsetDateTime::now_utc(), "{reset}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    let (server, _) = always(
        FaultKind::TooManyRequests { retry_after: None },
        Vendor::PagerDuty,
    )
    .await;
    let resp = client()
        .get(format!("{}n", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    for name in ["retry-after", "ratelimit-reset", "x-ratelimit-reset"] {
        assert!(resp.headers().get(name).is_none(), "{name}");
    }
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], 2020, "{body}");

    let (server, _) = always(
        FaultKind::TooManyRequests {
            retry_after: Some(Duration::from_secs(3)),
        },
        Vendor::PagerDuty,
    )
    .await;
    let resp = client()
        .get(format!("{}n", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()
            .get("ratelimit-reset")
            .and_then(|v| v.to_str().ok()),
        Some("3")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_is_a_connection_error_and_nothing_was_processed() {
    let (server, hits) = always(FaultKind::ConnectionReset, Vendor::Generic).await;
    let err = client()
        .get(format!("{}n", server.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "no HTTP status: {err}");
    assert!(was_reset(&err), "a TCP reset: {err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(server.faults().count(&FaultKind::ConnectionReset), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_past_the_client_timeout_is_a_timeout() {
    let (server, _) = always(FaultKind::Delay(Duration::from_secs(5)), Vendor::Generic).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = impatient
        .get(format!("{}n", server.base_url()))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");

    // A delay the client waits out is answered normally.
    let (server, hits) = always(FaultKind::Delay(Duration::from_millis(50)), Vendor::Generic).await;
    let resp = client()
        .get(format!("{}n", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "ok");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_a_connection_error_but_the_write_happened() {
    let sim = ServiceNowSim::new();
    let plan = FaultPlan::new(5)
        .share(1.0)
        .kind(FaultKind::ResponseLost)
        .vendor(Vendor::ServiceNow);
    let faulty = SimServer::start_with_faults(sim.router(), plan)
        .await
        .unwrap();
    let err = client()
        .post(format!("{}api/now/table/incident", faulty.base_url()))
        .basic_auth("itsm.integration", Some("sim-password"))
        .json(&json!({ "short_description": "Checkout down", "correlation_id": "k-1" }))
        .send()
        .await
        .unwrap_err();
    assert!(was_reset(&err), "a TCP reset: {err:?}");
    assert_eq!(faulty.faults().count(&FaultKind::ResponseLost), 1);

    // The same instance, served without faults, shows the record.
    let healthy = SimServer::start(sim.router()).await.unwrap();
    let listed: Value = client()
        .get(format!(
            "{}api/now/table/incident?sysparm_query=correlation_id=k-1",
            healthy.base_url()
        ))
        .basic_auth("itsm.integration", Some("sim-password"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = listed["result"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!(rows[0]["short_description"], "Checkout down");
}

#[test]
fn the_env_variable_is_parsed_with_a_clear_error() {
    let plan: FaultPlan = "seed=42,share=0.2,kinds=5xx|429|reset|delay|lost"
        .parse()
        .unwrap();
    assert_eq!((plan.seed, plan.share, plan.kinds.len()), (42, 0.2, 8));
    let err = "seed=42,share=0.2,kinds=5xx|teapot"
        .parse::<FaultPlan>()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("ITSM_SIM_FAULTS: unknown fault kind `teapot`"),
        "{err}"
    );
}
