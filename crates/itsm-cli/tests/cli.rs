//! The `itsm` binary as a pipeline sees it: help, exit codes, the change path, bad input.

mod common;

use std::path::{Path, PathBuf};

use common::{Env, code, stderr, stdout};

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

#[test]
fn help_documents_exit_codes() {
    let out = Env::new().run(&["--help"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.contains("Usage: itsm"), "{text}");
    for line in [
        "0  success",
        "2  usage error",
        "3  denied by policy",
        "4  the backend",
    ] {
        assert!(text.contains(line), "missing {line:?} in {text}");
    }
    let gate_help = stdout(&Env::new().run(&["change", "gate", "--help"]));
    assert!(gate_help.contains("3  denied by policy"), "{gate_help}");
}

#[test]
fn version_is_the_crate_version() {
    let out = Env::new().run(&["--version"]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        stdout(&out).trim(),
        format!("itsm {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = Env::new().run(&["--no-such-flag"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--no-such-flag"));
}

#[test]
fn standard_change_path_raise_gate_close() {
    let env = Env::new();
    let out = env.run(&[
        "template",
        "create",
        "--service",
        "checkout",
        "--name",
        "Routine release",
        "--env",
        "staging,production",
        "--owner",
        "Pat",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let mut raise = vec!["change", "raise"];
    raise.extend(DEPLOY);
    let out = env.run(&raise);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("standard change for checkout 1.4.2 in production"),
        "{text}"
    );
    assert!(text.contains("standard because: template TPL"), "{text}");

    // Re-running the same pipeline step returns the same change.
    let again = stdout(&env.run(&raise));
    assert!(
        again.contains("already raised by pipeline run run-1"),
        "{again}"
    );

    let gate = [
        "change",
        "gate",
        "--service",
        "checkout",
        "--version",
        "1.4.2",
        "--env",
        "production",
    ];
    let out = env.run(&gate);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("allowed: change CHG"),
        "{}",
        stdout(&out)
    );

    // Another version is not covered.
    let out = env.run(&[
        "change",
        "gate",
        "--service",
        "checkout",
        "--version",
        "9.9.9",
        "--env",
        "production",
    ]);
    assert_eq!(code(&out), 3);
    assert!(
        stdout(&out).contains("denied: no change found for checkout 9.9.9"),
        "{}",
        stdout(&out)
    );

    let mut close = vec!["change", "close"];
    close.extend(DEPLOY);
    close.extend(["--outcome", "success", "--output", "json"]);
    let out = env.run(&close);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let closed: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let change = &closed["change"];
    assert_eq!(change["state"], "closed");
    assert!(
        closed["recorded"].is_null(),
        "no --artifact-digest, nothing recorded"
    );
    assert_eq!(change["closure"]["code"], "successful");
    assert!(
        change["closure"]["notes"]
            .as_str()
            .unwrap()
            .contains("Pipeline run: run-1")
    );

    // A closed change no longer allows a deployment.
    let out = env.run(&gate);
    assert_eq!(code(&out), 3);
    assert!(stdout(&out).contains("already closed"), "{}", stdout(&out));

    let list = stdout(&env.run(&["change", "list", "--output", "json"]));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "one change despite the re-run"
    );
}

#[test]
fn normal_change_needs_approval_then_gate_allows() {
    let env = Env::new();
    let mut raise = vec!["change", "raise", "--output", "json"];
    raise.extend(DEPLOY);
    let out = env.run(&raise);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let raised: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(raised["decision"]["kind"], "normal");
    let reasons = raised["decision"]["reasons"].to_string();
    assert!(
        reasons.contains("no active template for checkout allows production"),
        "{reasons}"
    );
    let id = raised["change"]["id"].as_str().unwrap().to_owned();
    assert_eq!(raised["change"]["approval"], "requested");

    let gate = [
        "change",
        "gate",
        "--service",
        "checkout",
        "--version",
        "1.4.2",
        "--env",
        "production",
        "--output",
        "json",
    ];
    let out = env.run(&gate);
    assert_eq!(code(&out), 3);
    let verdict: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(verdict["allowed"], false);
    assert_eq!(verdict["gate"]["verdict"], "denied");

    let out = env.run(&["change", "reject", &id, "--by", "Casey"]);
    assert_eq!(code(&out), 2, "a rejection needs a comment");
    let out = env.run(&["change", "approve", &id, "--by", "Casey", "--comment", "ok"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("approved {id}")));

    let out = env.run(&gate);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn dry_run_writes_nothing() {
    let env = Env::new();
    let mut raise = vec!["change", "raise", "--dry-run"];
    raise.extend(DEPLOY);
    let out = env.run(&raise);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("dry run: would raise a normal change"),
        "{}",
        stdout(&out)
    );
    let list = stdout(&env.run(&["change", "list"]));
    assert_eq!(list.trim(), "no changes");
}

#[test]
fn freeze_window_denies_and_emergency_overrides() {
    let env = Env::new();
    let config = env.config(
        "[[freeze]]\nname = \"Launch freeze\"\nstart = \"2020-01-01T00:00:00Z\"\nend = \"2999-01-01T00:00:00Z\"\nenvironments = [\"production\"]\n",
    );
    let config = config.to_str().unwrap();
    let mut raise = vec!["--config", config, "change", "raise", "--output", "json"];
    raise.extend(DEPLOY);
    let raised: serde_json::Value = serde_json::from_str(&stdout(&env.run(&raise))).unwrap();
    let id = raised["change"]["id"].as_str().unwrap().to_owned();
    assert!(
        raised["decision"]["reasons"]
            .to_string()
            .contains("Launch freeze")
    );
    env.run(&[
        "--config", config, "change", "approve", &id, "--by", "Casey",
    ]);

    let gate = [
        "--config",
        config,
        "change",
        "gate",
        "--service",
        "checkout",
        "--version",
        "1.4.2",
        "--env",
        "production",
    ];
    let out = env.run(&gate);
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("freeze window \"Launch freeze\""),
        "{}",
        stdout(&out)
    );

    let mut emergency = vec![
        "--config",
        config,
        "change",
        "emergency",
        "--justification",
        "payment outage fix",
    ];
    emergency.extend([
        "--service",
        "checkout",
        "--version",
        "1.4.2",
        "--env",
        "production",
        "--run",
        "run-2",
    ]);
    let out = env.run(&emergency);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = env.run(&gate);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("by emergency change"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_input_is_refused_with_code_2_and_nothing_written() {
    let env = Env::new();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "change",
                "raise",
                "--service",
                "checkout",
                "--version",
                "",
                "--env",
                "production",
                "--run",
                "r",
            ],
            "version must not be empty",
        ),
        (
            vec![
                "change",
                "raise",
                "--service",
                "checkout",
                "--version",
                "1",
                "--env",
                "prdo",
                "--run",
                "r",
            ],
            "unknown environment \"prdo\"",
        ),
        (
            vec![
                "change",
                "raise",
                "--service",
                "nope",
                "--version",
                "1",
                "--env",
                "production",
                "--run",
                "r",
                "--template",
                "TPL0000001",
            ],
            "template TPL0000001 does not exist",
        ),
        (
            vec![
                "change",
                "close",
                "--service",
                "checkout",
                "--version",
                "1",
                "--env",
                "production",
                "--run",
                "r",
                "--outcome",
                "success",
                "--started",
                "yesterday",
            ],
            "--started \"yesterday\" is not a timestamp",
        ),
    ];
    for (args, message) in cases {
        let out = env.run(&args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let list = stdout(&env.run(&["change", "list"]));
    assert_eq!(list.trim(), "no changes");
}

#[test]
fn template_of_another_service_is_refused() {
    let env = Env::new();
    let out = env.run(&[
        "template",
        "create",
        "--service",
        "billing",
        "--name",
        "Billing release",
        "--env",
        "production",
        "--owner",
        "Pat",
        "--output",
        "json",
    ]);
    let template: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let id = template["id"].as_str().unwrap();
    let mut raise = vec!["change", "raise", "--template", id];
    raise.extend(DEPLOY);
    let out = env.run(&raise);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("is for service billing, not checkout"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn malformed_config_is_a_usage_error_naming_the_file() {
    let env = Env::new();
    let config = env.config("[policy]\nlookback_dayz = 3\n");
    let out = env.run(&["--config", config.to_str().unwrap(), "change", "list"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("itsm.toml is not a valid itsm configuration"),
        "{err}"
    );
    assert!(err.contains("lookback_dayz"), "{err}");
}

fn not_a_database(dir: &Path) -> PathBuf {
    let path = dir.join("garbage.db");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    path
}

#[test]
fn unreadable_database_names_the_path_and_gate_fails_closed() {
    let env = Env::new();
    let bad = not_a_database(env.dir.path());
    let bad_str = bad.to_str().unwrap();
    let out = env.run(&["--db", bad_str, "change", "list"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains(bad_str), "{}", stderr(&out));

    let out = env.run(&[
        "--db",
        bad_str,
        "change",
        "gate",
        "--service",
        "checkout",
        "--version",
        "1",
        "--env",
        "production",
    ]);
    assert_eq!(code(&out), 4, "the gate fails closed: {}", stdout(&out));
    assert!(
        stdout(&out).starts_with("denied: cannot verify"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn locked_database_is_refused_with_its_path_and_nothing_written() {
    let env = Env::new();
    assert_eq!(
        code(&env.run(&["change", "list"])),
        0,
        "creates the database"
    );
    let holder = rusqlite::Connection::open(env.db()).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let mut raise = vec!["change", "raise"];
    raise.extend(DEPLOY);
    let out = env.run(&raise);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(env.db().to_str().unwrap()) && err.contains("locked"),
        "{err}"
    );
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(stdout(&env.run(&["change", "list"])).trim(), "no changes");
}

#[test]
fn demo_walks_the_whole_change_path() {
    let env = Env::new();
    let out = env.run(&["demo"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    for expected in [
        "standard because",
        "normal because: no active template for billing",
        "gate: allowed: change",
        "gate: denied: change",
        "freeze window \"Demo freeze\"",
        "demo finished: every step gave the expected answer",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}
