//! `itsm incident ...` and `itsm oncall show` as whole processes, on a store with two teams
//! (payments: 24x7; ledger: working hours only) and an incident opened by the same workflow
//! `itsm serve` runs for an alert.

mod common;

use std::sync::Arc;

use common::{Env, code, stderr, stdout};
use itsm_cli::incidents::WorkflowProcessor;
use itsm_cli::serve::AlertProcessor;
use itsm_core::{IdempotencyKey, ServiceId, SystemClock};
use itsm_incident::{
    Alert, AlertSource, AlertStatus, AlertingProfile, IncidentId, IncidentState, IncidentSystem,
    PageStatus, Pager, Severity, WorkflowSettings,
};
use itsm_local::LocalStore;
use serde_json::Value;

const CONFIG: &str = r#"
[incident]
manager = { name = "Ines Iyer" }

[[team]]
id = "payments"
name = "Payments"
services = ["checkout"]
members = [{ name = "Ana" }, { name = "Ben" }]
schedule = { rotation_days = 7, handoff = "2026-05-04T09:00:00Z", coverage = "always_on" }

[[team]]
id = "ledger"
name = "Ledger"
services = ["ledger-api"]
runbook_contact = "+44 20 7946 0000 (ledger runbook, section 3)"
members = [{ name = "Cy" }]
schedule = { handoff = "2026-05-04T09:00:00Z", coverage = "working_hours" }

[[team]]
id = "dba-oncall"
name = "DBA on call"
kind = "specialist"
members = [{ name = "Dee" }]
schedule = { handoff = "2026-05-04T09:00:00Z", coverage = "always_on" }
"#;

fn json(o: &std::process::Output) -> Value {
    assert_eq!(code(o), 0, "{}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn store(env: &Env) -> LocalStore {
    LocalStore::open(env.db(), Arc::new(SystemClock)).unwrap()
}

/// A critical firing alert on checkout with `key`.
fn checkout_alert(key: &str) -> Alert {
    Alert {
        source: AlertSource::Generic,
        dedup_key: IdempotencyKey::new(key).unwrap(),
        status: AlertStatus::Firing,
        severity: Severity::Critical,
        raw_severity: Some("critical".into()),
        service: ServiceId::new("checkout").unwrap(),
        tenant: None,
        name: "CheckoutErrors".into(),
        summary: "checkout 5xx above 5%".into(),
        description: String::new(),
        labels: Default::default(),
        links: vec![],
        starts_at: time::OffsetDateTime::now_utc(),
        ends_at: None,
    }
}

/// The configured environment, with one critical checkout alert turned into an incident
/// and a page by the workflow; returns the incident id.
async fn env_with_incident() -> (Env, String) {
    let env = Env::new();
    env.config(CONFIG);
    // Any command writes the configured teams into the store.
    let o = env.run(&["oncall", "show"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let store = store(&env);
    let processor = WorkflowProcessor::local(
        store.clone(),
        Arc::new(SystemClock),
        WorkflowSettings::default(),
        AlertingProfile::default_profile(),
    );
    let alert = checkout_alert("generic/checkout-errors");
    processor.process(&alert).await.unwrap();
    let listing = env.run(&["incident", "list", "--output", "json"]);
    let items = json(&listing);
    assert_eq!(items.as_array().map(Vec::len), Some(1), "{items}");
    let id = items[0]["id"].as_str().unwrap().to_owned();
    (env, id)
}

#[tokio::test]
async fn a_resolution_delivered_before_its_firing_ends_resolved_on_both_sides() {
    let env = Env::new();
    env.config(CONFIG);
    let o = env.run(&["oncall", "show"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let store = store(&env);
    let processor = WorkflowProcessor::local(
        store.clone(),
        Arc::new(SystemClock),
        WorkflowSettings::default(),
        AlertingProfile::default_profile(),
    );
    let firing = checkout_alert("generic/out-of-order");
    let mut cleared = firing.clone();
    cleared.status = AlertStatus::Resolved;
    cleared.ends_at = Some(firing.starts_at + time::Duration::minutes(4));

    // The resolution arrives first: nothing is open yet.
    processor.process(&cleared).await.unwrap();
    assert_eq!(
        json(&env.run(&["incident", "list", "--output", "json"])),
        Value::Array(vec![])
    );
    // Then the firing, twice: one incident and one page, both resolved.
    processor.process(&firing).await.unwrap();
    processor.process(&firing).await.unwrap();
    let key = &firing.dedup_key;
    let incident = store
        .find_incident_by_key(key)
        .await
        .unwrap()
        .expect("an incident");
    assert!(incident.state.is_resolved(), "{:?}", incident.state);
    let page = store.find_page_by_key(key).await.unwrap().expect("a page");
    assert_eq!(page.status, PageStatus::Resolved);
    let all = json(&env.run(&[
        "incident", "list", "--state", "resolved", "--output", "json",
    ]));
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");

    // A resolution for a key that never fired here, then a firing under the same key that
    // starts after it: a new occurrence, which stays open.
    let late = checkout_alert("generic/reused-key");
    let mut stale = late.clone();
    stale.status = AlertStatus::Resolved;
    stale.starts_at = late.starts_at - time::Duration::hours(2);
    stale.ends_at = Some(late.starts_at - time::Duration::hours(1));
    processor.process(&stale).await.unwrap();
    processor.process(&late).await.unwrap();
    let open = store
        .find_incident_by_key(&late.dedup_key)
        .await
        .unwrap()
        .expect("an incident");
    assert!(!open.state.is_resolved(), "{:?}", open.state);
    let page = store
        .find_page_by_key(&late.dedup_key)
        .await
        .unwrap()
        .expect("a page");
    assert_eq!(page.status, PageStatus::Triggered);

    // An alert resolved in order leaves nothing behind for its key.
    let in_order = checkout_alert("generic/in-order");
    processor.process(&in_order).await.unwrap();
    let mut done = in_order.clone();
    done.status = AlertStatus::Resolved;
    processor.process(&done).await.unwrap();
    assert_eq!(
        store.early_resolution(&in_order.dedup_key).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn list_show_ack_note_reassign_resolve_act_on_both_sides() {
    let (env, id) = env_with_incident().await;
    let store = store(&env);
    let inc = IncidentId::new(&id).unwrap();

    let open = json(&env.run(&[
        "incident",
        "list",
        "--service",
        "checkout",
        "--state",
        "new",
        "--output",
        "json",
    ]));
    assert_eq!(open[0]["id"], id.as_str());
    assert_eq!(open[0]["assignment"]["team"], "payments");
    let none = json(&env.run(&[
        "incident", "list", "--state", "resolved", "--major", "--output", "json",
    ]));
    assert_eq!(none, Value::Array(vec![]));

    let shown = json(&env.run(&["incident", "show", &id, "--output", "json"]));
    assert_eq!(shown["incident"]["state"], "new");
    assert_eq!(shown["page"]["status"], "triggered");
    let page_id = shown["page"]["id"].as_str().unwrap().to_owned();
    assert!(
        shown["incident"]["links_to"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["system"] == "local" && r["id"] == page_id.as_str()),
        "{shown}"
    );

    let acked = json(&env.run(&["incident", "ack", &id, "--by", "Ana", "--output", "json"]));
    assert_eq!(acked["incident"]["state"], "acknowledged");
    assert_eq!(acked["incident"]["acknowledged_by"]["name"], "Ana");
    assert_eq!(acked["page"]["status"], "acknowledged");
    let key = store.get_incident(&inc).await.unwrap().key.unwrap();
    assert_eq!(
        store.find_page_by_key(&key).await.unwrap().unwrap().status,
        PageStatus::Acknowledged
    );

    // The default key is derived from the incident and the text: a re-run notes once.
    let note = [
        "incident",
        "note",
        &id,
        "--text",
        "rolled back 1.4.2",
        "--by",
        "Ana",
        "--output",
        "json",
    ];
    let first = json(&env.run(&note));
    let again = json(&env.run(&note));
    assert_eq!(first["key"], again["key"]);
    let notes = store.incident_notes(&inc).await.unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].text, "rolled back 1.4.2");
    let page = itsm_incident::PageId::new(&page_id).unwrap();
    let page_notes: Vec<String> = store
        .page_notes(&page)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.text)
        .collect();
    assert_eq!(
        page_notes
            .iter()
            .filter(|t| t.as_str() == "rolled back 1.4.2")
            .count(),
        1,
        "{page_notes:?}"
    );

    let moved = json(&env.run(&[
        "incident",
        "reassign",
        &id,
        "--service",
        "ledger-api",
        "--kind",
        "foundational",
        "--team",
        "ledger",
        "--output",
        "json",
    ]));
    assert_eq!(moved["incident"]["assignment"]["service"], "ledger-api");
    assert_eq!(moved["incident"]["assignment"]["kind"], "foundational");
    let stored = store.get_incident(&inc).await.unwrap();
    assert_eq!(
        stored.assignment.team.as_ref().map(|t| t.as_str()),
        Some("ledger")
    );

    let resolved = json(&env.run(&[
        "incident",
        "resolve",
        &id,
        "--code",
        "Rolled back",
        "--notes",
        "1.4.1 restored",
        "--by",
        "Ana",
        "--output",
        "json",
    ]));
    assert_eq!(resolved["incident"]["state"], "resolved");
    assert_eq!(resolved["page"]["status"], "resolved");
    let stored = store.get_incident(&inc).await.unwrap();
    assert_eq!(stored.state, IncidentState::Resolved);
    let shown = json(&env.run(&["incident", "show", &id, "--output", "json"]));
    assert_eq!(shown["resolution"]["code"], "Rolled back");
    assert_eq!(shown["notes"][0]["text"], "rolled back 1.4.2");
    let text = stdout(&env.run(&["incident", "show", &id]));
    assert!(
        text.contains("close code:   Rolled back by Ana: 1.4.1 restored"),
        "{text}"
    );
}

#[tokio::test]
async fn major_twice_notifies_once_and_names_the_uncovered_team() {
    let (env, id) = env_with_incident().await;
    let store = store(&env);
    let before = store.outbox().await.unwrap().len();
    let major = [
        "incident",
        "major",
        &id,
        "--by",
        "Ines Iyer",
        "--message",
        "checkout down",
        "--output",
        "json",
    ];
    let first = json(&env.run(&major));
    assert_eq!(first["already_declared"], false);
    assert_eq!(first["incident"]["major"], true);
    assert_eq!(first["manager_notified"], true);
    let engaged: Vec<&str> = first["engaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team"].as_str().unwrap())
        .collect();
    assert_eq!(engaged, ["payments"]);
    assert_eq!(first["uncovered"][0]["team"], "ledger");
    assert_eq!(
        first["uncovered"][0]["runbook_contact"],
        "+44 20 7946 0000 (ledger runbook, section 3)"
    );
    let after_first = store.outbox().await.unwrap().len();
    assert!(
        after_first > before,
        "declaring notifies: {before} -> {after_first}"
    );

    let second = json(&env.run(&major));
    assert_eq!(second["already_declared"], true);
    assert_eq!(
        store.outbox().await.unwrap().len(),
        after_first,
        "nobody notified twice"
    );
    let text = stdout(&env.run(&[
        "incident",
        "major",
        &id,
        "--by",
        "Ines Iyer",
        "--message",
        "checkout down",
    ]));
    assert!(text.contains("already a major incident"), "{text}");
    assert!(text.contains("Ledger (ledger): +44 20 7946 0000"), "{text}");
    let listed = json(&env.run(&["incident", "list", "--major", "--output", "json"]));
    assert_eq!(listed[0]["id"], id.as_str());
}

#[tokio::test]
async fn engage_pages_a_specialist_team_once_and_notes_it() {
    let (env, id) = env_with_incident().await;
    std::fs::write(
        env.dir.path().join("catalog.toml"),
        include_str!("../../../examples/specialists/catalog.toml"),
    )
    .unwrap();
    env.config(&format!(
        "{CONFIG}\n[specialist]\ncatalog = \"catalog.toml\"\n"
    ));
    let engage = [
        "incident",
        "engage",
        &id,
        "--team",
        "dba",
        "--message",
        "lock contention on orders",
        "--by",
        "Ines Iyer",
        "--output",
        "json",
    ];
    let first = json(&env.run(&engage));
    json(&env.run(&engage));
    let page = itsm_incident::PageId::new(first["page"].as_str().unwrap()).unwrap();
    let store = store(&env);
    let responders = store.page_responders(&page).await.unwrap();
    assert_eq!(
        responders.iter().filter(|p| p.name == "Dee").count(),
        1,
        "{responders:?}"
    );
    let notes = store
        .incident_notes(&IncidentId::new(&id).unwrap())
        .await
        .unwrap();
    let engaged: Vec<_> = notes
        .iter()
        .filter(|n| n.text.contains("Database administration (dba) engaged"))
        .collect();
    assert_eq!(engaged.len(), 1, "{notes:?}");

    let o = env.run(&[
        "incident",
        "engage",
        &id,
        "--team",
        "nobody",
        "--message",
        "x",
        "--by",
        "Ines",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("team nobody"), "{}", stderr(&o));
}

#[tokio::test]
async fn bad_input_is_refused_with_its_exit_code() {
    let (env, id) = env_with_incident().await;
    for args in [
        vec!["incident", "show", "INC0000999"],
        vec!["incident", "ack", "INC0000999"],
        vec![
            "incident",
            "resolve",
            "INC0000999",
            "--code",
            "x",
            "--notes",
            "y",
        ],
    ] {
        let o = env.run(&args);
        assert_eq!(code(&o), 1, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("INC0000999"), "{}", stderr(&o));
    }
    let o = env.run(&["incident", "list", "--state", "paused"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("paused"), "{}", stderr(&o));
    let o = env.run(&[
        "incident",
        "reassign",
        &id,
        "--service",
        "x",
        "--kind",
        "saas",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("saas"), "{}", stderr(&o));
    // An unknown team is refused before anything changes.
    let o = env.run(&[
        "incident",
        "reassign",
        &id,
        "--service",
        "ledger-api",
        "--team",
        "ledgr",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("team ledgr"), "{}", stderr(&o));
    let stored = store(&env)
        .get_incident(&IncidentId::new(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.assignment.service.as_str(), "checkout");
    let o = env.run(&["incident", "note", &id, "--text", "  "]);
    assert_eq!(code(&o), 2);
    let o = env.run(&["incident", "ack", &id, "--output", "json", "--by", "Ana"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let help = stdout(&env.run(&["--help"]));
    for command in ["incident", "tenant", "oncall"] {
        assert!(help.contains(&format!("  {command} ")), "{help}");
    }
    let help = stdout(&env.run(&["incident", "--help"]));
    assert!(help.contains("major") && help.contains("engage"), "{help}");
    let o = env.run(&["incident", "show", "INC0000999", "--output", "json"]);
    let err: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(err["error"]["kind"], "NotFound");
}

#[test]
fn oncall_at_night_lists_the_working_hours_team_as_uncovered() {
    let env = Env::new();
    env.config(CONFIG);
    // Tuesday 23:00 UTC.
    let night = json(&env.run(&[
        "oncall",
        "show",
        "--at",
        "2026-05-05T23:00:00Z",
        "--output",
        "json",
    ]));
    assert_eq!(night["at"], "2026-05-05T23:00:00Z");
    let uncovered: Vec<&str> = night["uncovered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team"].as_str().unwrap())
        .collect();
    assert_eq!(uncovered, ["ledger"]);
    assert_eq!(
        night["uncovered"][0]["runbook_contact"],
        "+44 20 7946 0000 (ledger runbook, section 3)"
    );
    let payments = night["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team"] == "payments")
        .unwrap();
    assert_eq!(payments["on_call"][0]["level"], 1);
    assert_eq!(payments["on_call"][0]["person"]["name"], "Ana");
    assert_eq!(payments["on_call"][1]["level"], 2);
    assert_eq!(payments["on_call"][1]["person"]["name"], "Ines Iyer");

    // Tuesday 10:00 UTC: Cy is on call for ledger; it still has no out-of-hours rotation.
    let day = json(&env.run(&[
        "oncall",
        "show",
        "--team",
        "ledger",
        "--at",
        "2026-05-05T10:00:00Z",
        "--output",
        "json",
    ]));
    assert_eq!(day["uncovered"], Value::Array(vec![]));
    assert_eq!(day["teams"][0]["on_call"][0]["person"]["name"], "Cy");
    assert_eq!(day["no_out_of_hours_rotation"][0]["team"], "ledger");
    // The next week Ben takes over payments.
    let next = json(&env.run(&[
        "oncall",
        "show",
        "--team",
        "payments",
        "--at",
        "2026-05-12T03:00:00Z",
        "--output",
        "json",
    ]));
    assert_eq!(next["teams"][0]["on_call"][0]["person"]["name"], "Ben");

    let text = stdout(&env.run(&["oncall", "show", "--at", "2026-05-05T23:00:00Z"]));
    assert!(
        text.contains(
            "nobody on call; phone their runbook contact:\n  Ledger (ledger): +44 20 7946 0000"
        ),
        "{text}"
    );
    let o = env.run(&["oncall", "show", "--team", "nope"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("team nope"), "{}", stderr(&o));
    let o = env.run(&["oncall", "show", "--at", "tonight"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--at \"tonight\""), "{}", stderr(&o));
}
