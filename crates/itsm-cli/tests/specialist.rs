//! `itsm specialist ...` as a whole process: exit codes, bad input naming the input with
//! nothing stored, automation success, failure and timeout, lifecycle, figures.

mod common;

use common::{Env, code, stderr, stdout};
use serde_json::Value;

const CATALOG: &str = include_str!("../../../examples/specialists/catalog.toml");

/// An environment with the example catalog and fulfillers for `dba.new-database` (the
/// given shell script) and `dba.read-access` (one that sleeps past its 1 s timeout).
fn env_with(script: &str) -> Env {
    let env = Env::new();
    std::fs::write(env.dir.path().join("catalog.toml"), CATALOG).unwrap();
    let fulfil = env.dir.path().join("fulfil.sh");
    std::fs::write(&fulfil, script).unwrap();
    let config = format!(
        r#"
        [specialist]
        catalog = "catalog.toml"
        [specialist.fulfiller."dba.new-database"]
        command = ["sh", "{}"]
        [specialist.fulfiller."dba.read-access"]
        command = ["sleep", "30"]
        timeout_seconds = 1
        "#,
        fulfil.display()
    );
    env.config(&config);
    env
}

fn json(o: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

const NEW_DB: &[&str] = &[
    "specialist",
    "request",
    "--offering",
    "dba.new-database",
    "--requester",
    "checkout",
    "--input",
    "service=checkout",
    "--input",
    "database_name=orders",
    "--input",
    "engine=postgres",
    "--input",
    "size_gb=20",
    "--output",
    "json",
];

fn queue_len(env: &Env) -> usize {
    let o = env.run(&[
        "specialist",
        "queue",
        "--state",
        "submitted,fulfilled,triaged",
        "--output",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    json(&o).as_array().map_or(0, Vec::len)
}

#[test]
fn an_automated_offering_is_fulfilled_with_the_inputs_on_stdin() {
    // The script echoes what it read: the note must carry the inputs as JSON.
    let env = env_with("read -r input; echo \"created from $input\"\n");
    let o = env.run(NEW_DB);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["request"]["state"], "fulfilled");
    assert_eq!(v["automation"]["outcome"], "fulfilled");
    let note = v["automation"]["note"].as_str().unwrap();
    assert!(note.contains("\"database_name\":\"orders\""), "{note}");
    assert!(note.contains("\"size_gb\":20"), "{note}");
    let last = v["request"]["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["by"]["name"], "automation");
}

#[test]
fn a_failed_automation_leaves_the_request_queued_with_the_failure() {
    // Fails until the file `quota-raised` exists (in the working directory).
    let env = env_with(
        "[ -f quota-raised ] || { echo 'quota exceeded in eu-west-1' >&2; exit 3; }\necho created\n",
    );
    let o = env.run(NEW_DB);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["request"]["state"], "submitted");
    assert_eq!(v["request"]["team"], "dba");
    assert_eq!(v["automation"]["outcome"], "failed");
    let comment = v["request"]["comments"][0]["text"].as_str().unwrap();
    assert!(comment.contains("quota exceeded in eu-west-1"), "{comment}");
    let id = v["request"]["id"].as_str().unwrap().to_owned();
    // It is in the DBA queue, and a person can pick it up.
    let q = env.run(&["specialist", "queue", "--team", "dba", "--output", "json"]);
    assert_eq!(json(&q)[0]["id"], id.as_str());
    let o = env.run(&["specialist", "triage", &id, "--by", "Dee (DBA)"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Once the cause is fixed, the automation runs again on the same request.
    std::fs::write(env.dir.path().join("quota-raised"), "").unwrap();
    let o = env.run(&[
        "specialist",
        "fulfil",
        &id,
        "--by",
        "Dee (DBA)",
        "--automate",
        "--output",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["request"]["id"], id.as_str());
    assert_eq!(v["request"]["state"], "fulfilled");
    assert_eq!(v["automation"]["note"], "created");
    let o = env.run(&[
        "specialist",
        "fulfil",
        &id,
        "--by",
        "Dee (DBA)",
        "--automate",
    ]);
    assert_eq!(code(&o), 1, "nothing left to automate");
}

#[test]
fn a_fulfiller_past_its_timeout_is_stopped_and_recorded() {
    let env = env_with("exit 0\n");
    let started = std::time::Instant::now();
    let o = env.run(&[
        "specialist",
        "request",
        "--offering",
        "dba.read-access",
        "--requester",
        "search",
        "--input",
        "database_name=orders",
        "--input",
        "account=search-ro",
        "--output",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        started.elapsed().as_secs() < 20,
        "the 30 s command was not stopped"
    );
    let v = json(&o);
    assert_eq!(v["automation"]["outcome"], "failed");
    let error = v["automation"]["error"].as_str().unwrap();
    assert!(error.contains("still running after 1s"), "{error}");
    assert_eq!(v["request"]["state"], "submitted");
}

#[test]
fn bad_inputs_exit_2_naming_the_input_and_store_nothing() {
    let env = env_with("exit 0\n");
    let firewall = |port: &str| {
        env.run(&[
            "specialist",
            "request",
            "--offering",
            "network.firewall-rule",
            "--requester",
            "checkout",
            "--input",
            "source_zone=app",
            "--input",
            "destination_zone=data",
            "--input",
            port,
            "--input",
            "protocol=tcp",
        ])
    };
    let o = firewall("port=https");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("\"port\""), "{}", stderr(&o));
    // justification is required and missing from every call above
    let o = firewall("port=443");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("\"justification\""), "{}", stderr(&o));
    let o = firewall("port");
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("NAME=VALUE"), "{}", stderr(&o));
    let o = env.run(&[
        "specialist",
        "request",
        "--offering",
        "dba.nope",
        "--requester",
        "checkout",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("dba.nope"), "{}", stderr(&o));
    assert_eq!(queue_len(&env), 0);
}

#[test]
fn the_manual_lifecycle_with_comments_illegal_moves_and_figures() {
    let env = env_with("exit 0\n");
    let o = env.run(&[
        "specialist",
        "request",
        "--offering",
        "dba.performance-review",
        "--requester",
        "search",
        "--input",
        "database_name=catalog",
        "--input",
        "symptom=p99 up since 09:00",
        "--input",
        "live_incident=yes",
        "--urgency",
        "high",
        "--key",
        "search/perf-1",
        "--output",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["automation"]["outcome"], "manual");
    assert_eq!(v["request"]["inputs"]["live_incident"], true);
    let id = v["request"]["id"].as_str().unwrap().to_owned();
    // The same key again is the same request.
    let again = env.run(&[
        "specialist",
        "request",
        "--offering",
        "dba.performance-review",
        "--requester",
        "search",
        "--input",
        "database_name=catalog",
        "--input",
        "symptom=p99 up since 09:00",
        "--key",
        "search/perf-1",
        "--output",
        "json",
    ]);
    assert_eq!(json(&again)["request"]["id"], id.as_str());

    // waiting on the requester straight from submitted is illegal: exit 1, nothing changes
    let o = env.run(&["specialist", "wait", &id, "--by", "Dee"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("cannot move to waiting_on_requester"),
        "{}",
        stderr(&o)
    );
    for step in ["triage", "start"] {
        let o = env.run(&["specialist", step, &id, "--by", "Dee (DBA)"]);
        assert_eq!(code(&o), 0, "{step}: {}", stderr(&o));
    }
    let o = env.run(&[
        "specialist",
        "comment",
        &id,
        "--by",
        "Dee (DBA)",
        "--text",
        "missing index on sku",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = env.run(&["specialist", "reject", &id, "--by", "Dee"]);
    assert_eq!(code(&o), 2, "a rejection needs a reason");
    let o = env.run(&[
        "specialist",
        "fulfil",
        &id,
        "--by",
        "Dee (DBA)",
        "--note",
        "index added",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = env.run(&["specialist", "cancel", &id, "--by", "Sam"]);
    assert_eq!(code(&o), 1, "a fulfilled request cannot be cancelled");

    let shown = json(&env.run(&["specialist", "show", &id, "--output", "json"]));
    let states: Vec<&str> = shown["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["submitted", "triaged", "in_progress", "fulfilled"]);
    assert_eq!(shown["comments"][0]["text"], "missing index on sku");
    let o = env.run(&["specialist", "show", "REQ9999999"]);
    assert_eq!(code(&o), 1);

    let stats = env.run(&["specialist", "stats", "--explain", "--output", "json"]);
    assert_eq!(code(&stats), 0, "{}", stderr(&stats));
    let s = json(&stats);
    assert_eq!(s["figures"]["requests"], 1);
    let group = &s["figures"]["by_offering"][0];
    assert_eq!(group["group"], "dba.performance-review");
    assert_eq!(group["fulfilled"], 1);
    assert_eq!(group["first_response"]["measured"], 1);
    assert_eq!(
        s["explain"]["by_offering"]["dba.performance-review"][0]["id"],
        id.as_str()
    );
    assert_eq!(s["figures"]["by_requester"][0]["group"], "search");
    let text = env.run(&["specialist", "stats"]);
    assert!(
        stdout(&text).contains("dba.performance-review"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn the_catalog_lists_offerings_and_a_broken_catalog_is_a_config_error() {
    let env = env_with("exit 0\n");
    let o = env.run(&["specialist", "catalog", "--team", "network"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("network.firewall-rule"), "{text}");
    assert!(text.contains("--input port=<number>"), "{text}");
    assert!(!text.contains("dba.new-database"), "{text}");
    std::fs::write(
        env.dir.path().join("catalog.toml"),
        "[[offering]]\nid = 3\n",
    )
    .unwrap();
    let o = env.run(&["specialist", "catalog"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("catalog.toml"), "{}", stderr(&o));
}
