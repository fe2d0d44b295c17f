//! Shared set-up of the wiremock tests: one loopback server answering both the REST API
//! (at `/`) and the Events API (at `/v2/`), and the fixtures written from PagerDuty's
//! documented examples.

#![allow(dead_code)]

use std::time::Duration;

use itsm_http::RetryPolicy;
use itsm_pagerduty::{PagerDuty, PagerDutyConfig};
use secrecy::SecretString;
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request};

pub(crate) const TOKEN: &str = "y_NbAkKc66ryYTWUXYEu";
pub(crate) const ROUTING: &str = "e93facc04764012d7bfb002500d5d1a6";
pub(crate) const FROM: &str = "itsm-bot@example.com";
pub(crate) const ACCEPT: &str = "application/vnd.pagerduty+json;version=2";
/// The `incident_key` of the documented incident examples.
pub(crate) const EXAMPLE_KEY: &str = "baf7cf21b1da41b4b0221008339ff357";

pub(crate) fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Fast retries for tests: `attempts` attempts, 1–5 ms backoff.
pub(crate) fn fast(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(attempts, Duration::from_secs(10))
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

pub(crate) fn config(server: &MockServer) -> PagerDutyConfig {
    let toml = format!(
        r#"
        from_email = "{FROM}"
        rest_url = "{uri}/"
        events_url = "{uri}/v2/"
        trigger_lookup_attempts = 1
        incident_manager_escalation_policy = "PIM0001"
        [teams]
        payments = "PEPPAY1"
        "#,
        uri = server.uri()
    );
    let mut config: PagerDutyConfig = toml::from_str(&toml).unwrap();
    config.api_token = Some(SecretString::from(TOKEN));
    config.routing_key = Some(SecretString::from(ROUTING));
    config
}

pub(crate) fn adapter(server: &MockServer) -> PagerDuty {
    PagerDuty::with_retry(config(server), fast(3), fast(4))
        .unwrap()
        .with_lookup_delay(Duration::from_millis(1))
}

/// A REST call: method, path and the headers every REST call carries.
pub(crate) fn rest(http_method: &str, rest_path: &str) -> MockBuilder {
    Mock::given(method(http_method))
        .and(path(rest_path))
        .and(header("Accept", ACCEPT))
        .and(header(
            "Authorization",
            format!("Token token={TOKEN}").as_str(),
        ))
}

/// A REST write: also `From`.
pub(crate) fn rest_write(http_method: &str, rest_path: &str) -> MockBuilder {
    rest(http_method, rest_path).and(header("From", FROM))
}

/// The incident-list example with its one incident in `status`.
pub(crate) fn incidents_with_status(status: &str) -> Value {
    let mut list = fixture("incidents-list.json");
    list["incidents"][0]["status"] = Value::from(status);
    list["more"] = Value::from(false);
    list
}

/// The JSON body of a received request.
pub(crate) fn body(req: &Request) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

/// The requests received for `path`, in order.
pub(crate) async fn received(server: &MockServer, at: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == at)
        .collect()
}
