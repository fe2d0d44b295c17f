//! "Nothing stored": property tests of `itsm serve` over real HTTP on loopback. One server
//! (with the PagerDuty, ServiceNow and Jira webhook sources) takes arbitrary bytes and
//! mutated valid payloads on every inbound endpoint. Each answer is the one the parser
//! decides (checked against the parser itself): a refusal is a 4xx with a JSON body whose
//! `message` is the parser's non-empty reason, and the queue holds no row more than before;
//! an acceptance is a 202 whose `queued` count is exactly what the queue gained. At the end
//! the queue-depth metric agrees with the queue.
//!
//! More cases: `PROPTEST_CASES=1000 cargo test -p itsm-cli --test prop_inbound`.

mod serve_support;

use std::cell::Cell;
use std::sync::Arc;

use itsm_cli::serve::{Server, Synchronous, queue};
use itsm_core::TeamId;
use itsm_core::time::OffsetDateTime;
use itsm_http::hmac_sha256_hex;
use itsm_incident::inbound::webhook::{WebhookHeaders, WebhookSource};
use itsm_incident::inbound::{ParseOptions, alertmanager, generic};
use itsm_jira::JiraWebhook;
use itsm_pagerduty::PagerDutyWebhooks;
use itsm_servicenow::{ServiceNowConfig, ServiceNowWebhook};
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{TestCaseResult, TestRunner};
use secrecy::SecretString;
use serde_json::Value;
use serve_support::{config, metric, rows, start_built};
use tokio::runtime::Runtime;

const ALERTMANAGER: [&str; 3] = [
    include_str!("fixtures/alertmanager/webhook-sample.json"),
    include_str!("fixtures/alertmanager/webhook-sample-resolved.json"),
    include_str!("fixtures/alertmanager/webhook-sample-grouped-2-alerts.json"),
];
const GENERIC: &str = r#"{"status":"firing","service":"checkout","name":"HighErrorRate",
  "summary":"Error rate above 5%","severity":"critical","tenant":"acme",
  "labels":{"region":"eu-west-1"},
  "links":[{"label":"dashboard","url":"https://grafana.example/d/checkout"}],
  "starts_at":"2026-11-22T02:09:05Z"}"#;
const PAGERDUTY: &str =
    include_str!("../../itsm-pagerduty/tests/fixtures/payload-incident.priority_updated.json");
const SERVICENOW: &str =
    include_str!("../../itsm-servicenow/tests/fixtures/webhook_incident_update.json");
const JIRA: &str = include_str!("../../itsm-jira/tests/fixtures/webhook-issue-updated.json");

const PD_SECRET: &str = "whsec-prop-inbound";
const JIRA_SECRET: &str = "jira-prop-inbound";
/// `Basic base64("itsm-webhook:hook-s3cret")`.
const SN_AUTHORIZATION: &str = "Basic aXRzbS13ZWJob29rOmhvb2stczNjcmV0";

fn pagerduty() -> PagerDutyWebhooks {
    PagerDutyWebhooks::new(
        vec![SecretString::from(PD_SECRET)],
        vec![("PUS0KTE".to_owned(), TeamId::new("payments").unwrap())],
    )
}

fn servicenow() -> ServiceNowWebhook {
    let mut config = ServiceNowConfig::default();
    config.webhook.username = Some("itsm-webhook".into());
    config.webhook.password = Some("hook-s3cret".to_owned().into());
    ServiceNowWebhook::from_config(&config).unwrap()
}

fn jira() -> JiraWebhook {
    JiraWebhook::with_secret(Some(SecretString::from(JIRA_SECRET)), "itsm-")
}

/// The body of one request: a valid payload as is, hostile bytes, or a valid payload mutated
/// as JSON or as bytes.
fn body_from(bases: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let values: Vec<Value> = bases
        .iter()
        .map(|b| serde_json::from_str(b).expect("base payload is JSON"))
        .collect();
    let bytes: Vec<Vec<u8>> = bases.into_iter().map(String::into_bytes).collect();
    prop_oneof![
        select(bytes.clone()),
        fuzz::arbitrary_bytes(512),
        fuzz::json_like_text(48).prop_map(String::into_bytes),
        select(values)
            .prop_flat_map(|v| fuzz::mutated_json(v).prop_map(|m| m.to_string().into_bytes())),
        select(bytes).prop_flat_map(fuzz::mutated_bytes),
    ]
}

/// How a webhook request is authenticated.
#[derive(Debug, Clone)]
enum Auth {
    /// The right signature or credentials for the body.
    Good,
    /// None at all.
    Missing,
    /// Arbitrary printable text in the header.
    Text(String),
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        6 => Just(Auth::Good),
        1 => Just(Auth::Missing),
        2 => "[ -~]{0,80}".prop_map(Auth::Text),
    ]
}

/// The header a source reads and its right value for `body`.
fn credentials(source: &str, body: &[u8]) -> (&'static str, String) {
    match source {
        "pagerduty" => (
            "X-PagerDuty-Signature",
            format!(
                "v1={}",
                hmac_sha256_hex(&SecretString::from(PD_SECRET), body)
            ),
        ),
        "jira" => (
            "X-Hub-Signature",
            format!(
                "sha256={}",
                hmac_sha256_hex(&SecretString::from(JIRA_SECRET), body)
            ),
        ),
        _ => ("Authorization", SN_AUTHORIZATION.to_owned()),
    }
}

/// What the server must answer: 202 (with at most this many new rows) or this status and
/// message.
#[derive(Debug, PartialEq)]
enum Expected {
    Accepted(usize),
    Refused(u16, String),
}

struct Harness {
    rt: Runtime,
    client: reqwest::Client,
    base: String,
    queue: std::path::PathBuf,
}

impl Harness {
    /// Posts `body` with `headers`; the status, the JSON answer and the rows it added.
    fn post(&self, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> (u16, Value, usize) {
        let before = self.stored();
        let (status, answer) = self.rt.block_on(async {
            let mut request = self.client.post(format!("{}{path}", self.base)).body(body);
            for (name, value) in headers {
                request = request.header(*name, value);
            }
            let response = request.send().await.expect("post");
            let status = response.status().as_u16();
            let text = response.text().await.expect("answer body");
            let answer: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {text}"));
            (status, answer)
        });
        let after = self.stored();
        (status, answer, after - before)
    }

    /// The queue's row count (every state).
    fn stored(&self) -> usize {
        let stats = queue::stats(&self.queue).expect("queue stats");
        usize::try_from(stats.pending + stats.done + stats.failed).expect("a row count")
    }

    fn metrics(&self) -> String {
        self.rt.block_on(async {
            self.client
                .get(format!("{}/metrics", self.base))
                .send()
                .await
                .expect("metrics")
                .text()
                .await
                .expect("metrics text")
        })
    }
}

/// How many answers of each kind an endpoint gave: the strategies must reach them all.
#[derive(Debug, Default)]
struct Tally {
    accepted: Cell<usize>,
    malformed: Cell<usize>,
    unauthorized: Cell<usize>,
}

impl Tally {
    fn count(&self, expected: &Expected) {
        let cell = match expected {
            Expected::Accepted(_) => &self.accepted,
            Expected::Refused(400, _) => &self.malformed,
            Expected::Refused(..) => &self.unauthorized,
        };
        cell.set(cell.get() + 1);
    }
}

fn check_answer(
    tally: &Tally,
    expected: &Expected,
    (status, answer, added): &(u16, Value, usize),
) -> Result<(), TestCaseError> {
    tally.count(expected);
    match expected {
        Expected::Refused(code, reason) => {
            prop_assert_eq!(*status, *code, "{}", answer);
            let message = answer["message"].as_str().unwrap_or_default();
            prop_assert!(!message.trim().is_empty(), "no reason: {}", answer);
            prop_assert_eq!(message, reason.as_str());
            prop_assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
            prop_assert_eq!(*added, 0, "a refused request stored rows");
        }
        Expected::Accepted(at_most) => {
            prop_assert_eq!(*status, 202, "{}", answer);
            let queued = answer["queued"].as_u64().map(|n| n as usize);
            prop_assert_eq!(queued, Some(*added), "the answer and the queue disagree");
            prop_assert!(*added <= *at_most);
        }
    }
    Ok(())
}

fn run<S: Strategy>(what: &str, strategy: S, test: impl Fn(S::Value) -> TestCaseResult) {
    let mut runner = TestRunner::new(fuzz::config(64));
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{what}: {e}");
    }
}

fn alert_endpoint(harness: &Harness, generic_format: bool) -> Tally {
    let tally = Tally::default();
    let (path, bases) = if generic_format {
        ("/v1/alerts", vec![GENERIC.to_owned()])
    } else {
        (
            "/v1/alerts/alertmanager",
            ALERTMANAGER.iter().map(|s| (*s).to_owned()).collect(),
        )
    };
    run(path, body_from(bases), |body| {
        let options = ParseOptions::default();
        let parsed = if generic_format {
            generic::parse(&body, &options, OffsetDateTime::now_utc())
        } else {
            alertmanager::parse(&body, &options)
        };
        let expected = match parsed {
            Ok(alerts) => Expected::Accepted(alerts.len()),
            Err(e) => Expected::Refused(400, e.message().to_owned()),
        };
        check_answer(&tally, &expected, &harness.post(path, &[], body))
    });
    tally
}

fn webhook_endpoint(harness: &Harness, source: &dyn WebhookSource, base: &str) -> Tally {
    let tally = Tally::default();
    let name = source.name().to_owned();
    let path = format!("/v1/webhooks/{name}");
    let strategy = (body_from(vec![base.to_owned()]), auth());
    run(&path, strategy, |(body, auth)| {
        let (header, good) = credentials(&name, &body);
        let mut headers = vec![("Content-Type", "application/json".to_owned())];
        match auth {
            Auth::Good => headers.push((header, good)),
            Auth::Missing => {}
            Auth::Text(text) => headers.push((header, text)),
        }
        let seen: WebhookHeaders = headers.iter().map(|(n, v)| (*n, v.clone())).collect();
        let expected = match source
            .verify(&seen, &body)
            .and_then(|()| source.parse(&seen, &body))
        {
            Ok(delivery) => Expected::Accepted(delivery.events.len()),
            Err(rejection) => Expected::Refused(rejection.status(), rejection.reason().to_owned()),
        };
        check_answer(&tally, &expected, &harness.post(&path, &headers, body))
    });
    tally
}

#[test]
fn every_inbound_endpoint_refuses_malformed_input_and_stores_nothing_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let queue_db = dir.path().join("queue.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Durability is not what this test is about: no fsync per accepted request.
    let mut settings = config(queue_db.clone());
    settings.synchronous = Synchronous::Normal;
    let server = rt.block_on(start_built(
        Server::builder(settings)
            .webhook(Arc::new(pagerduty()))
            .webhook(Arc::new(servicenow()))
            .webhook(Arc::new(jira())),
        queue_db.clone(),
    ));
    let harness = Harness {
        base: server.url(""),
        client: reqwest::Client::new(),
        queue: queue_db.clone(),
        rt,
    };

    let alerts = [
        ("alertmanager", alert_endpoint(&harness, false)),
        ("generic", alert_endpoint(&harness, true)),
    ];
    let webhooks = [
        (
            "pagerduty",
            webhook_endpoint(&harness, &pagerduty(), PAGERDUTY),
        ),
        (
            "servicenow",
            webhook_endpoint(&harness, &servicenow(), SERVICENOW),
        ),
        ("jira", webhook_endpoint(&harness, &jira(), JIRA)),
    ];
    // The strategies reach every kind of answer, so the properties above were exercised
    // (unless PROPTEST_CASES asks for too few cases to tell).
    let enough = fuzz::config(64).cases >= 64;
    for (name, tally) in alerts.iter().chain(&webhooks).filter(|_| enough) {
        eprintln!("{name}: {tally:?}");
        assert!(tally.accepted.get() > 0, "{name}: nothing was accepted");
        assert!(tally.malformed.get() > 0, "{name}: nothing was malformed");
    }
    for (name, tally) in webhooks.iter().filter(|_| enough) {
        assert!(
            tally.unauthorized.get() > 0,
            "{name}: nothing was unauthorized"
        );
    }

    let stored = harness.stored();
    assert_eq!(stored, rows(&queue_db).len());
    let text = harness.metrics();
    let depth = metric(&text, "itsm_alert_queue_depth");
    assert_eq!(
        depth, stored as f64,
        "the queue-depth metric and the queue disagree"
    );
    let refused = metric(&text, "itsm_alert_requests_rejected_total{code=\"400\"}");
    let malformed: usize = alerts.iter().map(|(_, t)| t.malformed.get()).sum();
    assert_eq!(
        refused, malformed as f64,
        "every refused alert request is counted"
    );
    harness.rt.block_on(server.stop()).unwrap();
}
