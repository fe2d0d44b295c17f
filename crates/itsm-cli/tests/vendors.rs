//! The `itsm` binary against the vendor simulators of itsm-testkit on loopback: PagerDuty
//! as the paging platform of `itsm serve` (alerts page there, signed webhooks sync back),
//! change events on `itsm change close`, and ServiceNow as the change backend.

mod common;
mod serve_support;

use std::time::Duration;

use common::{Env, code, stderr, stdout};
use itsm_http::{SecretString, hmac_sha256_hex};
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::pagerduty::PagerDutySim;
use itsm_testkit::sim::servicenow::ServiceNowSim;
use serde_json::{Value, json};
use serve_support::{generic, spawn_serve, wait_for};

const LIMIT: Duration = Duration::from_secs(20);
const SIGNING_SECRET: &str = "whsec-test-S3CRET";
const DEPLOY: [&str; 8] = [
    "--service",
    "checkout",
    "--version",
    "1.4.2",
    "--env",
    "production",
    "--run",
    "run-1",
];

fn pagerduty_table(base: &str) -> String {
    format!(
        r#"
[pagerduty]
api_token = "sim-TOKEN-value"
routing_key = "sim-routing-key"
webhook_secrets = ["{SIGNING_SECRET}"]
from_email = "itsm-bot@example.com"
rest_url = "{base}"
events_url = "{base}v2/"
default_service = "PSIMSVC"
[pagerduty.teams]
payments = "PDEFEP1"
"#
    )
}

const TEAMS: &str = r#"
[[team]]
id = "payments"
name = "Payments"
services = ["checkout"]
members = [{ name = "Ana" }]
schedule = { handoff = "2026-05-04T09:00:00Z", coverage = "always_on" }
"#;

fn json_of(o: &std::process::Output) -> Value {
    assert_eq!(code(o), 0, "{}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// A webhooks v3 body for `event_type` on the incident with `incident_key`.
fn pagerduty_webhook(id: &str, event_type: &str, incident_key: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "event": {
            "id": id,
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2030-01-01T00:00:00Z",
            "agent": { "type": "user_reference", "summary": "Olive Oncall" },
            "data": {
                "id": "PSIM0001",
                "type": "incident",
                "incident_key": incident_key,
                "status": "acknowledged"
            }
        }
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_page_on_pagerduty_and_its_webhooks_sync_the_ticket() {
    let sim = PagerDutySim::new().with_token("sim-TOKEN-value");
    let server = SimServer::start(sim.router()).await.unwrap();
    let env = Env::new();
    env.config(&format!("{TEAMS}{}", pagerduty_table(&server.base_url())));
    let (mut child, addr) = spawn_serve(env.dir.path());
    let client = reqwest::Client::new();

    let key = "generic/checkout-errors";
    let answer = client
        .post(format!("http://{addr}/v1/alerts"))
        .body(generic("CheckoutErrors", "firing", key))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 202);
    let s = sim.clone();
    wait_for("the page on PagerDuty", LIMIT, move || {
        s.incident_count() == 1
    })
    .await;
    let incident_id = {
        let mut id = None;
        for _ in 0..2000 {
            let listed = json_of(&env.run(&["incident", "list", "--output", "json"]));
            if let Some(first) = listed.as_array().and_then(|a| a.first()) {
                id = first["id"].as_str().map(str::to_owned);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        id.expect("a local ticket for the alert")
    };
    let alert_events = sim.alert_events();
    assert_eq!(alert_events[0]["event_action"], "trigger");
    assert_eq!(alert_events[0]["dedup_key"], key);

    // Unsigned and badly signed deliveries are refused and change nothing.
    let url = format!("http://{addr}/v1/webhooks/pagerduty");
    let body = pagerduty_webhook("EV1", "incident.acknowledged", key);
    let unsigned = client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let forged = client
        .post(&url)
        .header("X-PagerDuty-Signature", "v1=00ff")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    let shown = json_of(&env.run(&["incident", "show", &incident_id, "--output", "json"]));
    assert_eq!(shown["incident"]["state"], "new");

    // A signed acknowledgement reaches the ticket, once however often it is delivered.
    let signature = format!(
        "v1={}",
        hmac_sha256_hex(&SecretString::from(SIGNING_SECRET), &body)
    );
    for _ in 0..2 {
        let signed = client
            .post(&url)
            .header("X-PagerDuty-Signature", &signature)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status().as_u16(), 202);
    }
    let mut state = Value::Null;
    for _ in 0..2000 {
        let shown = json_of(&env.run(&["incident", "show", &incident_id, "--output", "json"]));
        state = shown["incident"]["state"].clone();
        if state == "acknowledged" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(state, "acknowledged");
    let metrics = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("itsm_webhook_deliveries_total{result=\"duplicate\"} 1\n"),
        "{metrics}"
    );

    // The alert resolves: the page resolves on PagerDuty.
    client
        .post(format!("http://{addr}/v1/alerts"))
        .body(generic("CheckoutErrors", "resolved", key))
        .send()
        .await
        .unwrap();
    let s = sim.clone();
    wait_for("the resolve event", LIMIT, move || {
        s.alert_events()
            .iter()
            .any(|e| e["event_action"] == "resolve" && e["dedup_key"] == key)
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_close_sends_one_change_event_however_often_it_runs() {
    let sim = PagerDutySim::new().with_token("sim-TOKEN-value");
    let server = SimServer::start(sim.router()).await.unwrap();
    let env = Env::new();
    env.config(&pagerduty_table(&server.base_url()));
    let out = env.run(&[
        "template",
        "create",
        "--service",
        "checkout",
        "--name",
        "Release",
        "--env",
        "production",
        "--owner",
        "Pat",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut raise = vec!["change", "raise"];
    raise.extend(DEPLOY);
    assert_eq!(code(&env.run(&raise)), 0);
    let mut close = vec!["change", "close"];
    close.extend(DEPLOY);
    close.extend(["--outcome", "success", "--output", "json"]);

    let first = json_of(&env.run(&close));
    assert_eq!(first["change_event"]["already"], false, "{first}");
    let events = sim.change_events();
    assert_eq!(events.len(), 1, "{events:?}");
    let payload = &events[0]["payload"];
    assert_eq!(payload["summary"], "checkout 1.4.2 deployed to production");
    assert_eq!(payload["custom_details"]["version"], "1.4.2");

    let again = json_of(&env.run(&close));
    assert_eq!(again["change_event"]["already"], true, "{again}");
    assert_eq!(sim.change_events().len(), 1, "a re-run sent a second event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servicenow_backend_runs_the_standard_change_path() {
    let sim = ServiceNowSim::new();
    let server = SimServer::start(sim.router()).await.unwrap();
    sim.add_template("checkout", &["production"], "Checkout release");
    let env = Env::new();
    env.config(&format!(
        r#"
[backend]
kind = "servicenow"
[servicenow]
instance_url = "{}"
username = "itsm.integration"
password = "sim-password"
"#,
        server.base_url()
    ));
    standard_change_path(&env);
    assert_eq!(
        sim.rows("change_request").len(),
        1,
        "a re-run raised a second change"
    );
}

/// Raises, gates and closes the standard change of checkout 1.4.2 in production, then
/// re-runs the raise, which must find the same change.
fn standard_change_path(env: &Env) {
    let mut raise = vec!["change", "raise"];
    raise.extend(DEPLOY);
    raise.extend(["--output", "json"]);
    let raised = json_of(&env.run(&raise));
    assert_eq!(raised["change"]["kind"], "standard", "{raised}");
    let gate = env.run(&[
        "change",
        "gate",
        "--service",
        "checkout",
        "--version",
        "1.4.2",
        "--env",
        "production",
    ]);
    assert_eq!(code(&gate), 0, "{}{}", stdout(&gate), stderr(&gate));
    let mut close = vec!["change", "close"];
    close.extend(DEPLOY);
    close.extend(["--outcome", "success", "--output", "json"]);
    let closed = json_of(&env.run(&close));
    assert_eq!(closed["change"]["state"], "closed", "{closed}");
    assert!(closed["change_event"].is_null(), "no PagerDuty configured");
    let again = json_of(&env.run(&raise));
    assert_eq!(again["change"]["id"], raised["change"]["id"]);
}

#[test]
fn a_vendor_backend_without_its_table_is_a_config_error() {
    let env = Env::new();
    env.config("[backend]\nkind = \"servicenow\"\n");
    let out = env.run(&["change", "list"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("SERVICENOW_INSTANCE_URL"),
        "{}",
        stderr(&out)
    );
    env.config("[backend]\nkind = \"remedy\"\n");
    let out = env.run(&["change", "list"]);
    assert!(
        stderr(&out).contains("use kind = one of \"local\", \"servicenow\", \"jira\""),
        "{}",
        stderr(&out)
    );
}

/// A Jira site with a change service desk (project CHG) whose request type 12 is the
/// standard change template of checkout.
fn jira_site() -> itsm_testkit::sim::jira::JiraSim {
    use itsm_testkit::sim::jira::{JiraSim, SimField, SimRequestType, Workflow};
    let fields = || {
        vec![
            SimField::text("summary", "Summary", true),
            SimField::text("description", "Description", false),
        ]
    };
    let mut standard = fields();
    standard.push(SimField::option(
        "customfield_10100",
        "Risk",
        true,
        &["Low", "High"],
    ));
    let request_type = |id: &str, name: &str, fields| SimRequestType {
        id: id.into(),
        name: name.into(),
        description: name.into(),
        workflow: Workflow::Change,
        fields,
    };
    JiraSim::new().service_desk(
        "1",
        "CHG",
        vec![
            request_type("10", "Normal change", fields()),
            request_type("12", "Checkout release", standard),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_backend_runs_the_standard_change_path() {
    let sim = jira_site();
    let server = SimServer::start(sim.router()).await.unwrap();
    let env = Env::new();
    env.config(&format!(
        r#"
[backend]
kind = "jira"
[jira]
site_url = "{}"
email = "itsm@example.com"
api_token = "ATATT3xFfGF0-secret-api-token"
[jira.change]
service_desk_id = "1"
project = "CHG"
normal_request_type = "10"
[[jira.change.templates]]
id = "checkout-release"
request_type = "12"
service = "checkout"
environments = ["production"]
implementation_plan = "Blue/green deploy by the pipeline"
backout_plan = "Switch traffic back"
test_plan = "Smoke tests"
fields = {{ customfield_10100 = {{ value = "Low" }} }}
"#,
        server.base_url()
    ));
    standard_change_path(&env);
    assert_eq!(sim.issues().len(), 1, "a re-run opened a second issue");
}
