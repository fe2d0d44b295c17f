//! `itsm serve` in process, over real HTTP on loopback: what is accepted and refused, the
//! queue, the worker (retries, dead letters, per-key order), metrics, shutdown.

mod serve_support;

use std::time::Duration;

use itsm_cli::serve::{RetryConfig, RowState, ServeConfig, queue};
use itsm_core::{Error, ErrorKind};
use serve_support::{TestProcessor, config, fixture, generic, metric, rows, start, wait_for};

const LIMIT: Duration = Duration::from_secs(10);

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn fast_retry(config: &mut ServeConfig) {
    config.retry = RetryConfig {
        initial_backoff_ms: 40,
        max_backoff_ms: 1_000,
        max_attempts: 5,
    };
}

async fn post(url: &str, body: impl Into<reqwest::Body>) -> (u16, serde_json::Value) {
    let response = client().post(url).body(body).send().await.expect("post");
    let status = response.status().as_u16();
    let json = response.json().await.expect("JSON body");
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_the_alertmanager_samples_and_a_generic_alert() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path().join("q.db")), None).await;
    let am = server.url("/v1/alerts/alertmanager");
    for (file, n) in [
        ("webhook-sample.json", 1),
        ("webhook-sample-grouped-2-alerts.json", 2),
        ("webhook-sample-resolved.json", 1),
    ] {
        let (status, body) = post(&am, fixture(file)).await;
        assert_eq!(status, 202, "{file}: {body}");
        assert_eq!(body["queued"], n, "{file}");
    }
    let (status, body) = post(
        &server.url("/v1/alerts"),
        generic("Down", "firing", "gen-1"),
    )
    .await;
    assert_eq!((status, body["queued"].as_u64()), (202, Some(1)));
    let stored = rows(&server.queue);
    assert_eq!(stored.len(), 5);
    assert!(stored.iter().all(|r| r.state == RowState::Pending));
    let services: Vec<&str> = stored
        .iter()
        .filter_map(|r| Some(r.item.alert()?.service.as_str()))
        .collect();
    assert_eq!(
        services,
        ["checkout", "payments", "payments", "db", "checkout"]
    );
    assert_eq!(stored[4].dedup_key, "gen-1");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_400_with_the_parsers_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path().join("q.db")), None).await;
    let (status, body) = post(&server.url("/v1/alerts/alertmanager"), "{\"alerts\": 3}").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_input");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("not an Alertmanager webhook body"),
        "{message}"
    );
    let (status, body) = post(
        &server.url("/v1/alerts"),
        r#"{"status":"firing","service":"checkout","name":"x"}"#,
    )
    .await;
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("summary"),
        "names the missing field: {message}"
    );
    assert!(
        rows(&server.queue).is_empty(),
        "nothing malformed is queued"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path().join("q.db"));
    config.max_body_bytes = 900;
    let server = start(config, None).await;
    let am = server.url("/v1/alerts/alertmanager");
    let (status, body) = post(&am, fixture("webhook-sample-grouped-2-alerts.json")).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["message"].as_str().unwrap().contains("900 bytes"));
    // Without a Content-Length (chunked), the limit holds while reading.
    let raw = raw_chunked(
        server.addr,
        "/v1/alerts/alertmanager",
        &fixture("webhook-sample-grouped-2-alerts.json"),
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    // Under the limit is fine.
    let (status, _) = post(&am, fixture("webhook-sample.json")).await;
    assert_eq!(status, 202);
    assert_eq!(rows(&server.queue).len(), 1);
    server.stop().await.unwrap();
}

/// Sends `body` chunked (no Content-Length) and returns the raw answer.
async fn raw_chunked(addr: std::net::SocketAddr, path: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(100) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_token_is_required_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path().join("q.db"));
    config.token = Some("s3cr3t-Tok".to_owned().into());
    assert!(!format!("{config:?}").contains("s3cr3t-Tok"));
    let server = start(config, None).await;
    let url = server.url("/v1/alerts");
    let body = generic("Down", "firing", "k1");
    for auth in [None, Some("Bearer wrong"), Some("Basic s3cr3t-Tok")] {
        let mut request = client().post(&url).body(body.clone());
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{auth:?}");
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            "Bearer"
        );
        let text = response.text().await.unwrap();
        assert!(text.contains("unauthenticated"), "{text}");
        assert!(!text.contains("s3cr3t-Tok"), "{text}");
    }
    assert!(rows(&server.queue).is_empty());
    let response = client()
        .post(&url)
        .bearer_auth("s3cr3t-Tok")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("s3cr3t-Tok"));
    assert_eq!(
        metric(&metrics, "itsm_alert_requests_rejected_total{code=\"401\"}"),
        3.0
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics_counters_move() {
    let dir = tempfile::tempdir().unwrap();
    let processor = TestProcessor::new();
    let server = start(config(dir.path().join("q.db")), Some(processor.clone())).await;
    let health = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    let scrape = || async {
        let response = client().get(server.url("/metrics")).send().await.unwrap();
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        response.text().await.unwrap()
    };
    let before = scrape().await;
    assert_eq!(metric(&before, "itsm_alerts_received_total"), 0.0);
    let (status, _) = post(
        &server.url("/v1/alerts/alertmanager"),
        fixture("webhook-sample-grouped-2-alerts.json"),
    )
    .await;
    assert_eq!(status, 202);
    let (status, _) = post(&server.url("/v1/alerts"), "nope").await;
    assert_eq!(status, 400);
    wait_for("two processed", LIMIT, || processor.started() == 2).await;
    let mut after = String::new();
    for _ in 0..200 {
        after = scrape().await;
        if metric(&after, "itsm_alerts_processed_total") == 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metric(&after, "itsm_alerts_received_total"), 2.0);
    assert_eq!(metric(&after, "itsm_alerts_processed_total"), 2.0);
    assert_eq!(metric(&after, "itsm_alert_queue_depth"), 0.0);
    assert_eq!(
        metric(&after, "itsm_alert_requests_rejected_total{code=\"400\"}"),
        1.0
    );
    assert_eq!(
        metric(&after, "itsm_alert_request_duration_seconds_count"),
        2.0
    );
    assert_eq!(
        metric(&after, "itsm_alert_processing_duration_seconds_count"),
        2.0
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_alert_is_in_the_queue_file_before_processing() {
    let dir = tempfile::tempdir().unwrap();
    let processor = TestProcessor::gated();
    let server = start(config(dir.path().join("q.db")), Some(processor.clone())).await;
    let (status, _) = post(&server.url("/v1/alerts"), generic("Down", "firing", "k1")).await;
    assert_eq!(status, 202);
    // Acknowledged: the row is in the file (read through a separate connection), pending,
    // while the processor has not answered.
    let stored = rows(&server.queue);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].state, RowState::Pending);
    assert_eq!(stored[0].dedup_key, "k1");
    wait_for("processing to start", LIMIT, || processor.started() == 1).await;
    assert_eq!(rows(&server.queue)[0].state, RowState::Pending);
    processor.release(1);
    wait_for("the row to be done", LIMIT, || {
        rows(&server.queue)[0].state == RowState::Done
    })
    .await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_are_retried_with_backoff_then_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path().join("q.db"));
    fast_retry(&mut config);
    let unavailable = || Error::new(ErrorKind::Unavailable, "backend down");
    let processor = TestProcessor::failing(vec![
        ("Flaky", vec![unavailable(), unavailable()]),
        (
            "Throttled",
            vec![
                Error::new(ErrorKind::RateLimited, "slow down")
                    .with_retry_after(Duration::from_millis(300)),
            ],
        ),
    ]);
    let server = start(config, Some(processor.clone())).await;
    post(
        &server.url("/v1/alerts"),
        generic("Flaky", "firing", "flaky"),
    )
    .await;
    post(
        &server.url("/v1/alerts"),
        generic("Throttled", "firing", "thr"),
    )
    .await;
    wait_for("both done", LIMIT, || {
        rows(&server.queue)
            .iter()
            .all(|r| r.state == RowState::Done)
    })
    .await;
    let calls = processor.calls();
    let flaky: Vec<_> = calls.iter().filter(|c| c.name == "Flaky").collect();
    assert_eq!(flaky.len(), 3, "{calls:?}");
    assert!(flaky[2].ok && !flaky[0].ok && !flaky[1].ok);
    // Backoff: at least half the doubled delay between attempts (equal jitter).
    assert!(flaky[1].at - flaky[0].at >= Duration::from_millis(20));
    assert!(flaky[2].at - flaky[1].at >= Duration::from_millis(40));
    let throttled: Vec<_> = calls.iter().filter(|c| c.name == "Throttled").collect();
    assert_eq!(throttled.len(), 2);
    assert!(
        throttled[1].at - throttled[0].at >= Duration::from_millis(300),
        "retry_after is honoured"
    );
    let stored = rows(&server.queue);
    assert_eq!(stored[0].attempts, 2);
    assert!(
        stored[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("backend down")
    );
    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(metric(&metrics, "itsm_alerts_retried_total"), 3.0);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_retryable_failure_is_a_dead_letter_kept_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let processor = TestProcessor::failing(vec![(
        "Broken",
        vec![Error::invalid_input("service checkout has no team")],
    )]);
    let server = start(config(dir.path().join("q.db")), Some(processor.clone())).await;
    post(&server.url("/v1/alerts"), generic("Broken", "firing", "b1")).await;
    post(&server.url("/v1/alerts"), generic("Fine", "firing", "f1")).await;
    wait_for("both settled", LIMIT, || {
        rows(&server.queue)
            .iter()
            .all(|r| r.state != RowState::Pending)
    })
    .await;
    assert_eq!(
        processor
            .calls()
            .iter()
            .filter(|c| c.name == "Broken")
            .count(),
        1
    );
    let dead = queue::dead_letters(&server.queue, 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].dedup_key, "b1");
    assert_eq!(dead[0].attempts, 1);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("has no team")
    );
    let stats = queue::stats(&server.queue).unwrap();
    assert_eq!((stats.pending, stats.done, stats.failed), (0, 1, 1));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_never_overtakes_its_firing_waiting_for_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path().join("q.db"));
    fast_retry(&mut config);
    // Long enough that the other key, posted right after, is processed meanwhile.
    let unavailable = || {
        Error::new(ErrorKind::Unavailable, "pager down")
            .with_retry_after(Duration::from_millis(400))
    };
    // The firing fails twice (and its resolved is the same name: the script is per name,
    // so only the first two calls fail, both of them the firing).
    let processor = TestProcessor::failing(vec![("Disk", vec![unavailable(), unavailable()])]);
    let server = start(config, Some(processor.clone())).await;
    post(&server.url("/v1/alerts"), generic("Disk", "firing", "disk")).await;
    post(
        &server.url("/v1/alerts"),
        generic("Disk", "resolved", "disk"),
    )
    .await;
    post(
        &server.url("/v1/alerts"),
        generic("Other", "firing", "other"),
    )
    .await;
    wait_for("all done", LIMIT, || {
        rows(&server.queue)
            .iter()
            .all(|r| r.state == RowState::Done)
    })
    .await;
    let calls = processor.calls();
    let disk: Vec<(bool, bool)> = calls
        .iter()
        .filter(|c| c.key == "disk")
        .map(|c| (c.firing, c.ok))
        .collect();
    assert_eq!(
        disk,
        [(true, false), (true, false), (true, true), (false, true)],
        "firing retried to success, then resolved"
    );
    // Another key is not held up by the retrying one.
    let other = calls.iter().position(|c| c.key == "other").unwrap();
    let firing_success = calls.iter().position(|c| c.key == "disk" && c.ok).unwrap();
    assert!(other < firing_success, "{calls:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_the_alert_in_hand_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path().join("q.db"));
    config.concurrency = 1;
    let processor = TestProcessor::gated();
    let mut server = start(config, Some(processor.clone())).await;
    post(&server.url("/v1/alerts"), generic("A", "firing", "a")).await;
    post(&server.url("/v1/alerts"), generic("B", "firing", "b")).await;
    wait_for("A in hand", LIMIT, || processor.started() == 1).await;
    let addr = server.addr;
    let queue_path = server.queue.clone();
    server.signal_stop();
    // Stops accepting.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the listener is closed after the shutdown signal");
    processor.release(1);
    server.stop().await.unwrap();
    let stored = rows(&queue_path);
    assert_eq!(
        stored[0].state,
        RowState::Done,
        "the alert in hand finished"
    );
    assert_eq!(
        stored[1].state,
        RowState::Pending,
        "the next stays for the next start"
    );
    assert_eq!(processor.started(), 1);
    // The next start processes what was left, once.
    let next = TestProcessor::new();
    let server = start(
        serve_support::config(queue_path.clone()),
        Some(next.clone()),
    )
    .await;
    wait_for("B processed after restart", LIMIT, || {
        rows(&queue_path).iter().all(|r| r.state == RowState::Done)
    })
    .await;
    let keys: Vec<String> = next.calls().into_iter().map(|c| c.key).collect();
    assert_eq!(keys, ["b"]);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_refusing_rows_answers_503_never_429() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let server = start(config(path.clone()), None).await;
    // A trigger makes every insert fail, as a full disk or a broken file would.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON alert_queue BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();
    let response = client()
        .post(server.url("/v1/alerts"))
        .body(generic("A", "firing", "a"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    assert!(body["message"].as_str().unwrap().contains("retry"));
    conn.execute_batch("DROP TRIGGER refuse").unwrap();
    let (status, _) = post(&server.url("/v1/alerts"), generic("A", "firing", "a")).await;
    assert_eq!(status, 202, "accepted again once the store takes rows");
    assert_eq!(rows(&path).len(), 1);
    server.stop().await.unwrap();
}

/// Records the nice value and name of the thread each alert is processed on.
#[cfg(target_os = "linux")]
#[derive(Debug, Default)]
struct PriorityProbe {
    seen: std::sync::Mutex<Vec<(i32, String)>>,
}

#[cfg(target_os = "linux")]
#[async_trait::async_trait]
impl itsm_cli::serve::AlertProcessor for PriorityProbe {
    async fn process(&self, _alert: &itsm_incident::Alert) -> itsm_core::Result<()> {
        let nice = rustix::process::getpriority_process(None).unwrap();
        let name = std::thread::current().name().unwrap_or("").to_owned();
        self.seen.lock().unwrap().push((nice, name));
        Ok(())
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_processed_on_threads_at_the_configured_lower_priority() {
    let ours = rustix::process::getpriority_process(None).unwrap();
    for (nice, own_threads) in [(12u8, true), (0, false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path().join("q.db"));
        config.processing_nice = nice;
        let probe = std::sync::Arc::new(PriorityProbe::default());
        let server = start(config, Some(probe.clone())).await;
        let (status, _) = post(&server.url("/v1/alerts"), generic("Down", "firing", "p1")).await;
        assert_eq!(status, 202);
        wait_for("processing", LIMIT, || {
            !probe.seen.lock().unwrap().is_empty()
        })
        .await;
        let (seen_nice, name) = probe.seen.lock().unwrap()[0].clone();
        assert_eq!(
            name == "itsm-process",
            own_threads,
            "{name}, processing_nice = {nice}"
        );
        // Lowering the priority always works; the test process may already run lower.
        assert_eq!(
            seen_nice,
            ours.max(i32::from(nice)),
            "processing_nice = {nice}"
        );
        server.stop().await.unwrap();
    }
    // Accepting keeps the server's priority.
    assert_eq!(rustix::process::getpriority_process(None).unwrap(), ours);
}

#[tokio::test]
async fn a_processing_nice_value_above_19_is_refused_before_anything_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path().join("q.db"));
    config.processing_nice = 20;
    let err = itsm_cli::serve::Server::builder(config)
        .processor(TestProcessor::new())
        .bind()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("processing_nice is 20"), "{err}");
    assert!(!dir.path().join("q.db").exists());
}
