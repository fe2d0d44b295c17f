//! `itsm specialist` against a vendor's catalog: with `[backend] kind = "servicenow"` and
//! catalog items configured, offerings and requests are the instance's (Service Catalog
//! items, `sc_req_item`); with `kind = "jira"` and `[jira.specialist]`, the service desk's
//! (request types, issues). The `[specialist] catalog` file is then not used.

mod common;

use common::{Env, code, stderr, stdout};
use itsm_testkit::sim::SimServer;
use itsm_testkit::sim::jira::{JiraSim, SimField, SimRequestType, Workflow};
use itsm_testkit::sim::servicenow::{ServiceNowSim, SimVariable};
use serde_json::Value;

/// The example catalog file: its offerings must not show up with a vendor catalog.
fn catalog_file() -> String {
    format!(
        "{}/../../examples/specialists/catalog.toml",
        env!("CARGO_MANIFEST_DIR")
    )
    .replace('\\', "/")
}

fn json_of(env: &Env, args: &[&str]) -> Value {
    let out = env.run(args);
    assert_eq!(code(&out), 0, "{args:?}: {}{}", stdout(&out), stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// A value for every required input of `offering`, as `--input` flags.
fn inputs_for(offering: &Value) -> Vec<String> {
    let inputs = offering["inputs"].as_array().cloned().unwrap_or_default();
    inputs
        .iter()
        .filter(|i| i["required"] == true)
        .map(|i| {
            let value = match i["type"].as_str() {
                Some("choice") => i["options"][0].as_str().unwrap_or("x").to_owned(),
                Some("number") => "20".to_owned(),
                Some("boolean") => "true".to_owned(),
                _ => "orders".to_owned(),
            };
            format!("{}={value}", i["name"].as_str().unwrap())
        })
        .collect()
}

/// Lists the catalog, requests `offering` twice with one key, shows the request and
/// triages it (where the catalog lets itsm move requests); returns the request's id.
fn request_path(env: &Env, offering: &str, moves: bool) -> String {
    let catalog = json_of(env, &["specialist", "catalog", "--output", "json"]);
    let offerings = catalog["offerings"].as_array().unwrap();
    let ids: Vec<&str> = offerings.iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids, [offering], "only the vendor's offerings: {catalog}");
    assert_eq!(catalog["teams"][0]["id"], "dba", "{catalog}");

    let mut request = vec![
        "specialist".to_owned(),
        "request".into(),
        "--offering".into(),
        offering.into(),
        "--requester".into(),
        "checkout".into(),
        "--by".into(),
        "Ana Lima".into(),
        "--key".into(),
        "checkout-db-1".into(),
        "--output".into(),
        "json".into(),
    ];
    for input in inputs_for(&offerings[0]) {
        request.extend(["--input".into(), input]);
    }
    let args: Vec<&str> = request.iter().map(String::as_str).collect();
    let first = json_of(env, &args);
    let id = first["request"]["id"]
        .as_str()
        .expect("request id")
        .to_owned();
    assert_eq!(first["request"]["offering"], offering, "{first}");
    let again = json_of(env, &args);
    assert_eq!(
        again["request"]["id"],
        id.as_str(),
        "the key was not honoured"
    );

    let shown = json_of(env, &["specialist", "show", &id, "--output", "json"]);
    assert_eq!(shown["id"], id.as_str(), "{shown}");
    let queue = json_of(
        env,
        &["specialist", "queue", "--team", "dba", "--output", "json"],
    );
    assert!(
        queue
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id.as_str()),
        "{queue}"
    );
    let triage = [
        "specialist",
        "triage",
        &id,
        "--by",
        "Dee Bee",
        "--output",
        "json",
    ];
    if moves {
        let triaged = json_of(env, &triage);
        assert_eq!(triaged["state"], "triaged", "{triaged}");
    } else {
        // Jira: the team moves the request in Jira; itsm says so instead of pretending.
        let out = env.run(&triage);
        assert_ne!(code(&out), 0);
        assert!(
            stderr(&out).contains("specialist teams move JSM requests in Jira"),
            "{}",
            stderr(&out)
        );
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servicenow_catalog_items_are_the_offerings_and_requests_are_ritms() {
    let sim = ServiceNowSim::new();
    let server = SimServer::start(sim.router()).await.unwrap();
    let item = sim.add_catalog_item(
        "New database",
        "cat-databases",
        &[
            SimVariable::text("database_name", true),
            SimVariable::select("engine", true, &["postgres", "mariadb"]),
            SimVariable::text("itsm_key", false),
            SimVariable::text("itsm_requester", false),
            SimVariable::text("itsm_submitted_by", false),
            SimVariable::text("itsm_urgency", false),
        ],
    );
    let env = Env::new();
    env.config(&format!(
        r#"
[backend]
kind = "servicenow"
[servicenow]
instance_url = "{}"
username = "itsm.integration"
password = "sim-password"
[[servicenow.catalog.items]]
sys_id = "{item}"
id = "dba.new-database"
team = "dba"
[specialist]
catalog = "{}"
"#,
        server.base_url(),
        catalog_file()
    ));
    let id = request_path(&env, "dba.new-database", true);
    let ritms = sim.rows("sc_req_item");
    assert_eq!(ritms.len(), 1, "one requested item for one key");
    assert_eq!(
        ritms[0].get("sys_id").map(String::as_str),
        Some(id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_request_types_are_the_offerings_and_requests_are_issues() {
    let sim = JiraSim::new().service_desk(
        "2",
        "DBA",
        vec![SimRequestType {
            id: "20".into(),
            name: "New database".into(),
            description: "A new managed database".into(),
            workflow: Workflow::Request,
            fields: vec![
                SimField::text("summary", "Summary", true),
                SimField::text("customfield_10200", "Database name", true),
                SimField::option("customfield_10202", "Engine", false, &["postgres", "mysql"]),
            ],
        }],
    );
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
[jira.specialist]
service_desk_id = "2"
project = "DBA"
[[jira.specialist.offerings]]
request_type = "20"
team = "dba"
[specialist]
catalog = "{}"
"#,
        server.base_url(),
        catalog_file()
    ));
    let id = request_path(&env, "20", false);
    let issues = sim.issues();
    assert_eq!(issues.len(), 1, "one issue for one key");
    assert!(id.starts_with("DBA-"), "{id}");
}

#[test]
fn without_vendor_offerings_the_embedded_catalog_serves() {
    let env = Env::new();
    env.config(&format!(
        r#"
[backend]
kind = "servicenow"
[servicenow]
instance_url = "http://127.0.0.1:9"
username = "itsm.integration"
password = "sim-password"
[specialist]
catalog = "{}"
"#,
        catalog_file()
    ));
    // No catalog items configured: the catalog file, in the embedded store, serves (and
    // nothing is asked of the unreachable instance).
    let catalog = json_of(&env, &["specialist", "catalog", "--output", "json"]);
    let ids: Vec<&str> = catalog["offerings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    assert!(ids.contains(&"dba.new-database"), "{catalog}");
}
