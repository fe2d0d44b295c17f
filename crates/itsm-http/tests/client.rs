//! End-to-end behaviour of `HttpClient` against a wiremock server on loopback.

use std::time::{Duration, Instant, SystemTime};

use itsm_core::ErrorKind;
use itsm_http::{Auth, HttpClient, HttpClientBuilder, RateLimit, Request, RetryPolicy, Timeouts};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{basic_auth, bearer_token, body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "s3cr3t-TOKEN-value";

/// Fast retries: `attempts` attempts within 10 s, 1–5 ms backoff.
fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(attempts, Duration::from_secs(10))
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn builder(server: &MockServer) -> HttpClientBuilder {
    HttpClient::builder(Url::parse(&server.uri()).unwrap()).retry(fast_retry(4))
}

async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// Answers `first` once, then 200 `{"ok": true}`.
async fn once_then_ok(server: &MockServer, http_method: &str, first: ResponseTemplate) {
    Mock::given(method(http_method))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method(http_method))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .with_priority(2)
        .mount(server)
        .await;
}

// ---------------------------------------------------------------- server-asked waits

#[tokio::test]
async fn retry_after_seconds_is_waited_then_the_request_succeeds() {
    let server = MockServer::start().await;
    once_then_ok(
        &server,
        "GET",
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
    )
    .await;
    let client = builder(&server).build().unwrap();

    let start = Instant::now();
    let resp = client
        .send(Request::get("api/now/table/incident"))
        .await
        .unwrap();
    let elapsed = start.elapsed();

    assert_eq!(resp.status(), 200);
    assert_eq!(resp.attempts(), 2);
    assert_eq!(resp.json::<Value>().unwrap(), json!({"ok": true}));
    assert!(elapsed >= Duration::from_secs(1), "waited only {elapsed:?}");
    assert_eq!(received(&server).await, 2);
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let server = MockServer::start().await;
    // Whole seconds only: the wait is between 1 and 2 s from now.
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    once_then_ok(
        &server,
        "GET",
        ResponseTemplate::new(429).insert_header("Retry-After", date.as_str()),
    )
    .await;
    let client = builder(&server).build().unwrap();

    let start = Instant::now();
    client.send(Request::get("x")).await.unwrap();
    let elapsed = start.elapsed();

    assert!(
        elapsed >= Duration::from_millis(950),
        "waited only {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(4), "waited {elapsed:?}");
    assert_eq!(received(&server).await, 2);
}

#[tokio::test]
async fn short_reset_headers_are_waited_for() {
    let in_300ms = || {
        (time::OffsetDateTime::now_utc() + Duration::from_millis(300))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let cases: [(&str, &dyn Fn() -> String); 2] = [
        ("ratelimit-reset", &|| "0.3".to_owned()),
        ("X-RateLimit-Reset", &in_300ms),
    ];
    for (name, value) in cases {
        let value = value();
        let server = MockServer::start().await;
        once_then_ok(
            &server,
            "GET",
            ResponseTemplate::new(429).insert_header(name, value.as_str()),
        )
        .await;
        let client = builder(&server).build().unwrap();
        let start = Instant::now();
        client.send(Request::get("x")).await.unwrap();
        let elapsed = start.elapsed();
        // The backoff alone would be at most 5 ms.
        assert!(
            elapsed >= Duration::from_millis(200),
            "{name}: waited {elapsed:?}"
        );
        assert_eq!(received(&server).await, 2, "{name}");
    }
}

#[tokio::test]
async fn a_wait_beyond_the_budget_returns_rate_limited_at_once() {
    let hour_ahead = SystemTime::now() + Duration::from_secs(3600);
    let rfc3339 = (time::OffsetDateTime::now_utc() + Duration::from_secs(3600))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let cases = [
        ("Retry-After", "120".to_owned(), 120),
        ("Retry-After", httpdate::fmt_http_date(hour_ahead), 3600),
        ("ratelimit-reset", "60".to_owned(), 60),
        ("X-RateLimit-Reset", rfc3339, 3600),
    ];
    for (name, value, expected_secs) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header(name, value.as_str())
                    .set_body_string(r#"{"error":{"message":"Rate Limit Exceeded","code":2020}}"#),
            )
            .mount(&server)
            .await;
        let client = builder(&server).build().unwrap();

        let start = Instant::now();
        let err = client
            .send(Request::post("v2/enqueue").json(&json!({"event_action": "trigger"})))
            .await
            .unwrap_err();

        assert!(start.elapsed() < Duration::from_secs(1), "{name}: slept");
        assert_eq!(err.kind(), ErrorKind::RateLimited, "{name}");
        let after = err.retry_after().expect("retry_after set").as_secs_f64();
        assert!(
            (after - expected_secs as f64).abs() <= 2.0,
            "{name}: retry_after {after}"
        );
        assert_eq!(err.context_value("attempts"), Some("1"), "{name}");
        assert!(err.to_string().contains("2020"), "vendor code kept: {err}");
        assert_eq!(received(&server).await, 1, "{name}");
    }
}

// ---------------------------------------------------------------- bounded retries

#[tokio::test]
async fn repeated_503_stops_at_max_attempts_with_the_count() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Instance is hibernating"))
        .mount(&server)
        .await;
    let client = builder(&server).retry(fast_retry(4)).build().unwrap();

    let err = client
        .send(Request::get("api/now/table/change_request"))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(received(&server).await, 4);
    assert_eq!(err.context_value("attempts"), Some("4"));
    let text = err.to_string();
    assert!(text.contains("attempts: 4"), "{text}");
    assert!(text.contains("Instance is hibernating"), "{text}");
}

#[tokio::test]
async fn repeated_503_stops_when_the_time_budget_runs_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let policy = RetryPolicy::new(1000, Duration::from_millis(300))
        .with_backoff(Duration::from_millis(40), Duration::from_millis(40));
    let client = builder(&server).retry(policy).build().unwrap();

    let start = Instant::now();
    let err = client.send(Request::get("x")).await.unwrap_err();
    let elapsed = start.elapsed();

    let count = received(&server).await;
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!((2..1000).contains(&count), "{count} attempts");
    assert_eq!(
        err.context_value("attempts"),
        Some(count.to_string().as_str())
    );
}

#[tokio::test]
async fn post_is_not_retried_after_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = builder(&server)
        .timeouts(Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_millis(200),
        })
        .build()
        .unwrap();

    let err = client
        .send(Request::post("rest/api/3/issue").json(&json!({"fields": {}})))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(received(&server).await, 1);
    assert_eq!(err.context_value("attempts"), Some("1"));
    // Repeating it could open a second issue.
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn post_marked_idempotent_is_retried_after_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry(fast_retry(3))
        .timeouts(Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_millis(150),
        })
        .build()
        .unwrap();

    let err = client
        .send(
            Request::post("v2/enqueue")
                .json(&json!({"dedup_key": "deploy-42"}))
                .idempotent(true),
        )
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(received(&server).await, 3);
    assert_eq!(err.context_value("attempts"), Some("3"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn post_answered_503_is_retried() {
    let server = MockServer::start().await;
    once_then_ok(&server, "POST", ResponseTemplate::new(503)).await;
    let client = builder(&server).build().unwrap();

    let resp = client
        .send(Request::post("api/now/table/change_request").json(&json!({"a": 1})))
        .await
        .unwrap();

    assert_eq!(resp.status(), 200);
    assert_eq!(resp.attempts(), 2);
    assert_eq!(received(&server).await, 2);
}

#[tokio::test]
async fn post_answered_500_or_502_is_not_retried_but_get_is() {
    for status in [500, 502, 504] {
        let server = MockServer::start().await;
        once_then_ok(&server, "POST", ResponseTemplate::new(status)).await;
        let client = builder(&server).build().unwrap();
        let err = client.send(Request::post("x")).await.unwrap_err();
        assert_eq!(received(&server).await, 1, "POST {status}");
        assert!(!err.is_retryable(), "POST {status}");
        assert_eq!(
            err.context_value("status"),
            Some(status.to_string().as_str())
        );
    }
    let server = MockServer::start().await;
    once_then_ok(&server, "GET", ResponseTemplate::new(500)).await;
    let client = builder(&server).build().unwrap();
    let resp = client.send(Request::get("x")).await.unwrap();
    assert_eq!(resp.attempts(), 2);
    assert_eq!(received(&server).await, 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad field"))
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let err = client.send(Request::put("x")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(received(&server).await, 1);
}

#[tokio::test]
async fn connection_refused_is_retried_even_for_post_and_leaks_nothing() {
    // A port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let client = HttpClient::builder(base)
        .auth(Auth::bearer(SECRET))
        .retry(fast_retry(3))
        .build()
        .unwrap();

    let err = client
        .send(Request::post("incidents").query(&[("token", SECRET)]))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.context_value("attempts"), Some("3"));
    let text = format!("{err} {err:?}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("token=REDACTED"), "{text}");
}

// ---------------------------------------------------------------- status mapping

#[tokio::test]
async fn vendor_statuses_map_to_kinds_with_the_vendor_text() {
    let server = MockServer::start().await;
    let cases = [
        (401, ErrorKind::Unauthenticated, "User Not Authenticated"),
        (
            403,
            ErrorKind::PermissionDenied,
            "Insufficient rights to create change_request",
        ),
        (404, ErrorKind::NotFound, "No Record found"),
        (409, ErrorKind::Conflict, "INCIDENT_ALREADY_RESOLVED"),
    ];
    for (status, _, text) in cases {
        Mock::given(path(format!("/s/{status}")))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({"error": {"message": text, "detail": "see docs"}})),
            )
            .mount(&server)
            .await;
    }
    let client = builder(&server).build().unwrap();
    for (status, kind, text) in cases {
        let err = client
            .send(Request::get(format!("s/{status}")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{status}");
        assert!(err.message().contains(text), "{status}: {err}");
        assert!(err.message().contains(&format!("HTTP {status}")), "{err}");
        assert_eq!(
            err.context_value("status"),
            Some(status.to_string().as_str())
        );
        assert_eq!(err.context_value("attempts"), Some("1"));
    }
    // Not retried.
    assert_eq!(received(&server).await, 4);

    // `send_raw` hands the answer back for adapters that parse vendor errors themselves.
    let resp = client.send_raw(Request::get("s/409")).await.unwrap();
    assert_eq!(resp.status(), 409);
    assert!(!resp.is_success());
    assert!(resp.text().contains("INCIDENT_ALREADY_RESOLVED"));
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(r#"{"result": [{"number": "CHG-PRIVATE-DATA", "#),
        )
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();

    let err = client
        .send_json::<Value>(Request::get("api/now/table/change_request"))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    let text = format!("{err} {err:?}");
    assert!(text.contains("serde_json::value::Value"), "{text}");
    assert!(!text.contains("CHG-PRIVATE-DATA"), "{text}");
    // A decode failure is not a reason to resend.
    assert_eq!(received(&server).await, 1);
}

// ---------------------------------------------------------------- secrets and headers

#[tokio::test]
async fn secrets_are_sent_but_never_shown() {
    let server = MockServer::start().await;
    let forbidden = || ResponseTemplate::new(403).set_body_string("role itil required");
    Mock::given(path("/basic"))
        .and(basic_auth("admin", SECRET))
        .and(query_param("api_key", SECRET))
        .respond_with(forbidden())
        .mount(&server)
        .await;
    Mock::given(path("/bearer"))
        .and(bearer_token(SECRET))
        .and(query_param("api_key", SECRET))
        .respond_with(forbidden())
        .mount(&server)
        .await;
    let pagerduty = format!("Token token={SECRET}");
    Mock::given(path("/header"))
        .and(header("authorization", pagerduty.as_str()))
        .and(query_param("api_key", SECRET))
        .respond_with(forbidden())
        .mount(&server)
        .await;

    let cases = [
        ("basic", Auth::basic("admin", SECRET)),
        ("bearer", Auth::bearer(SECRET)),
        ("header", Auth::header("Authorization", pagerduty.clone())),
    ];
    for (route, auth) in cases {
        let builder = builder(&server).auth(auth.clone());
        let options = builder.options().clone();
        let client = builder.build().unwrap();
        let err = client
            .send(Request::get(route).query(&[("api_key", SECRET), ("limit", "1")]))
            .await
            .unwrap_err();

        // 403 proves the credentials and the query reached the server (else: 404).
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{route}: {err}");
        for text in [
            format!("{err}"),
            format!("{err:?}"),
            format!("{client:?}"),
            format!("{options:?}"),
            format!("{auth:?}"),
        ] {
            assert!(!text.contains(SECRET), "{route} leaked: {text}");
        }
        assert!(format!("{client:?}").contains("[REDACTED]"));
        assert!(
            err.to_string().contains("api_key=REDACTED&limit=1"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn default_headers_json_body_and_base_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/jira/rest/api/3/issue"))
        .and(header("user-agent", itsm_http::DEFAULT_USER_AGENT))
        .and(header("accept", "application/json"))
        .and(header("content-type", "application/json"))
        .and(header("x-request-id", "deploy-42"))
        .and(body_json(json!({"fields": {"summary": "Deploy"}})))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("X-Vendor-Id", "10001")
                .set_body_json(json!({"key": "OPS-1"})),
        )
        .mount(&server)
        .await;
    let base = Url::parse(&format!("{}/jira", server.uri())).unwrap();
    let client = HttpClient::builder(base).build().unwrap();

    let resp = client
        .send(
            Request::post("/rest/api/3/issue")
                .header("X-Request-Id", "deploy-42")
                .json(&json!({"fields": {"summary": "Deploy"}})),
        )
        .await
        .unwrap();

    assert_eq!(resp.status(), 201);
    assert_eq!(resp.header("x-vendor-id"), Some("10001"));
    assert!(
        resp.headers()
            .any(|(k, v)| k == "x-vendor-id" && v == "10001")
    );
    assert_eq!(resp.json::<Value>().unwrap()["key"], "OPS-1");
}

// ---------------------------------------------------------------- rate limiting

#[tokio::test]
async fn rate_limiter_delays_the_request_after_the_burst_per_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    // 4 per second, burst 2: the third request of a key waits ~250 ms.
    let client = builder(&server)
        .rate_limit(RateLimit::per_second(4.0).with_burst(2))
        .build()
        .unwrap();
    let clone = client.clone();
    let timed = |client: &HttpClient, key: &'static str| {
        let client = client.clone();
        async move {
            let start = Instant::now();
            client
                .send(Request::get("x").rate_limit_key(key))
                .await
                .unwrap();
            start.elapsed()
        }
    };

    let first = timed(&client, "routing-a").await;
    let second = timed(&client, "routing-a").await;
    let third = timed(&clone, "routing-a").await; // clones share the buckets
    let other_key = timed(&client, "routing-b").await;

    assert!(first < Duration::from_millis(150), "{first:?}");
    assert!(second < Duration::from_millis(150), "{second:?}");
    assert!(
        third >= Duration::from_millis(150),
        "not delayed: {third:?}"
    );
    assert!(other_key < Duration::from_millis(150), "{other_key:?}");
    assert_eq!(received(&server).await, 4);
}

// ---------------------------------------------------------------- redirects

#[tokio::test]
async fn redirects_are_followed_only_on_the_same_origin() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/old"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", "/new"))
        .mount(&server)
        .await;
    Mock::given(path("/new"))
        .and(bearer_token(SECRET))
        .respond_with(ResponseTemplate::new(200).set_body_string("moved here"))
        .mount(&server)
        .await;
    let away = format!("{}/steal", elsewhere.uri());
    Mock::given(path("/away"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", away.as_str()))
        .mount(&server)
        .await;
    Mock::given(path("/steal"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&elsewhere)
        .await;
    let client = builder(&server).auth(Auth::bearer(SECRET)).build().unwrap();

    let resp = client.send(Request::get("old")).await.unwrap();
    assert_eq!(resp.text(), "moved here");

    let err = client.send(Request::get("away")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert_eq!(err.context_value("status"), Some("302"));
    assert_eq!(received(&elsewhere).await, 0, "credentials left the origin");
}

// ---------------------------------------------------------------- tracing

/// A subscriber that writes every span and event field into one string.
struct Capture(std::sync::Arc<std::sync::Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut out = self.0.lock().unwrap();
        out.push_str("\nspan ");
        out.push_str(span.metadata().name());
        span.record(&mut Fields(&mut out));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = self.0.lock().unwrap();
        out.push_str("\nevent");
        event.record(&mut Fields(&mut out));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn traces_name_method_path_attempts_and_status_but_no_secret() {
    let server = MockServer::start().await;
    once_then_ok(&server, "POST", ResponseTemplate::new(503)).await;
    let client = builder(&server).auth(Auth::bearer(SECRET)).build().unwrap();
    let captured = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let _guard = tracing::subscriber::set_default(Capture(captured.clone()));

    client
        .send(Request::post("v2/enqueue").query(&[("api_key", SECRET)]))
        .await
        .unwrap();

    let text = captured.lock().unwrap().clone();
    assert!(text.contains("span itsm_http.send"), "{text}");
    assert!(text.contains("method=\"POST\""), "{text}");
    assert!(text.contains("path=\"/v2/enqueue\""), "{text}");
    assert!(text.contains("attempts=2"), "{text}");
    assert!(text.contains("status=503"), "{text}");
    assert!(text.contains("status=200"), "{text}");
    assert!(text.contains("retrying"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(!text.to_ascii_lowercase().contains("bearer"), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn secret_paths_stay_out_of_traces_and_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let client = builder(&server)
        .secret_paths()
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let captured = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let _guard = tracing::subscriber::set_default(Capture(captured.clone()));

    let hook = format!("services/T000/B000/{SECRET}");
    let err = client.send(Request::post(&hook)).await.unwrap_err();

    assert_eq!(err.kind(), ErrorKind::NotFound);
    let shown = format!("{err} {err:?} {}", captured.lock().unwrap());
    assert!(shown.contains("span itsm_http.send"), "{shown}");
    assert!(shown.contains("[REDACTED]"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains("T000"), "{shown}");
}
