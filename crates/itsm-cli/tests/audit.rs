//! The audit commands as a pipeline and a change manager use them: record, inventory,
//! dora, report, verify, trace; bad input refused with nothing written.

mod common;

use std::process::Command;

use common::{Env, code, stderr, stdout};

fn record(env: &Env, service: &str, version: &str, finished: &str, outcome: &str) -> String {
    let out = env.run(&[
        "deploy",
        "record",
        "--service",
        service,
        "--version",
        version,
        "--env",
        "production",
        "--started",
        "2026-03-02T10:00:00Z",
        "--finished",
        finished,
        "--deployer",
        "pipeline",
        "--outcome",
        outcome,
        "--commit",
        "abc123",
        "--artifact-digest",
        "sha256:feed",
        "--run",
        &format!("run-{service}-{version}"),
        "--first-commit-at",
        "2026-03-01T10:00:00Z",
        "--output",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["key"].as_str().unwrap().to_owned()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn record_inventory_dora_and_verify() {
    let env = Env::new();
    record(&env, "checkout", "1.0.0", "2026-03-02T10:10:00Z", "success");
    let bad = record(&env, "checkout", "1.1.0", "2026-03-03T10:10:00Z", "failure");
    record(&env, "billing", "7.0.0", "2026-03-04T10:10:00Z", "success");

    let inv = json(&env.run(&["inventory", "--output", "json"]));
    let rows: Vec<(String, String)> = inv
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["service"].as_str().unwrap().into(),
                e["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("billing".into(), "7.0.0".into()),
            ("checkout".into(), "1.0.0".into())
        ],
        "the failed 1.1.0 does not replace 1.0.0"
    );
    let past = json(&env.run(&["inventory", "--at", "2026-03-03", "--output", "json"]));
    assert_eq!(
        past.as_array().unwrap().len(),
        1,
        "billing was not deployed yet"
    );

    // An incident names the failed deployment; restored after 2 hours.
    let out = env.run(&[
        "deploy",
        "link-incident",
        "--incident",
        "servicenow:INC001",
        "--deployment",
        &bad,
        "--opened",
        "2026-03-03T11:00:00Z",
        "--resolved",
        "2026-03-03T13:00:00Z",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = env.run(&[
        "deploy",
        "link-incident",
        "--incident",
        "servicenow:INC002",
        "--deployment",
        "no-such-key",
        "--opened",
        "2026-03-03T11:00:00Z",
    ]);
    assert_eq!(code(&out), 2);

    let dora = json(&env.run(&[
        "dora",
        "--since",
        "2026-03-01",
        "--until",
        "2026-03-08",
        "--explain",
        "--output",
        "json",
    ]));
    let f = &dora["figures"];
    assert_eq!(f["deployment_frequency"]["count"], 3);
    assert_eq!(f["change_failure_rate"]["failures"], 1);
    assert_eq!(f["time_to_restore"]["restored"], 1);
    assert_eq!(f["time_to_restore"]["median"], 7200.0);
    let explained = dora["explain"]["change_failure_rate"].to_string();
    assert!(explained.contains("1.1.0"), "{explained}");

    let text = stdout(&env.run(&[
        "dora",
        "--since",
        "2026-03-01",
        "--until",
        "2026-03-08",
        "--service",
        "billing",
    ]));
    assert!(text.contains("1 production deployments"), "{text}");

    let out = env.run(&["audit", "verify"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "ledger intact: 3 records verified");

    // Tamper with the second record: verify names it and exits 3.
    let db = rusqlite::Connection::open(env.db()).unwrap();
    let changed = db
        .execute(
            "UPDATE audit_deployment SET body = replace(body, '1.1.0', '1.1.1') WHERE seq = 2",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let out = env.run(&["audit", "verify", "--output", "json"]);
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    let v = json(&out);
    assert_eq!(v["intact"], false);
    assert_eq!(v["first_problem"]["seq"], 2);
}

#[test]
fn reports_in_every_format() {
    let env = Env::new();
    record(&env, "checkout", "1.0.0", "2026-03-02T10:10:00Z", "success");
    for (format, needle) in [
        ("md", "# "),
        ("json", "\"compliance\""),
        ("csv", "checkout"),
        ("html", "<svg"),
    ] {
        let out = env.run(&[
            "audit",
            "report",
            "--since",
            "2026-03-01",
            "--until",
            "2026-04-01",
            "--format",
            format,
        ]);
        assert_eq!(code(&out), 0, "{format}: {}", stderr(&out));
        assert!(stdout(&out).contains(needle), "{format}: {}", stdout(&out));
    }
    let file = env.dir.path().join("report.html");
    let out = env.run(&[
        "audit",
        "report",
        "--since",
        "2026-03-01",
        "--until",
        "2026-04-01",
        "--format",
        "html",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"),
        "{}",
        &html[..60]
    );
    assert!(
        !html.contains("<script src") && !html.contains("<link"),
        "self-contained"
    );
    let out = env.run(&[
        "audit",
        "report",
        "--since",
        "2026-03-01",
        "--until",
        "2026-04-01",
        "--format",
        "pdf",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("unknown report format \"pdf\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn production_compliance_uses_the_change_in_force() {
    let env = Env::new();
    // No change at all: recorded, and the report lists the violation.
    record(&env, "checkout", "1.0.0", "2026-11-22T00:10:00Z", "success");
    let report = json(&env.run(&[
        "audit",
        "report",
        "--since",
        "2026-11-01",
        "--until",
        "2026-12-01",
        "--format",
        "json",
    ]));
    assert_eq!(
        report["compliance"]["violations"][0]["reason"]["kind"], "no_change",
        "{report}"
    );

    // The close step records the deployment with its approved change as evidence.
    let run = [
        "--service",
        "billing",
        "--version",
        "2.0.0",
        "--env",
        "production",
        "--run",
        "r-1",
    ];
    let mut raise = vec!["change", "raise", "--output", "json"];
    raise.extend(run);
    let raised = json(&env.run(&raise));
    let id = raised["change"]["id"].as_str().unwrap().to_owned();
    env.run(&["change", "approve", &id, "--by", "Casey"]);
    let mut close = vec![
        "change",
        "close",
        "--outcome",
        "success",
        "--commit",
        "c0ffee",
        "--artifact-digest",
        "sha256:beef",
        "--output",
        "json",
    ];
    close.extend(run);
    let out = env.run(&close);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let closed = json(&out);
    assert_eq!(closed["recorded"]["change"]["approved"], true, "{closed}");
    assert_eq!(closed["recorded"]["change"]["reference"]["id"], id.as_str());
    // Re-running close records nothing new.
    let again = json(&env.run(&close));
    assert_eq!(again["recorded"]["seq"], closed["recorded"]["seq"]);
    let out = env.run(&["audit", "verify"]);
    assert_eq!(stdout(&out).trim(), "ledger intact: 2 records verified");
}

#[test]
fn bad_records_are_refused_and_nothing_is_written() {
    let env = Env::new();
    let base = |finished: &str, started: &str| {
        vec![
            "deploy".to_owned(),
            "record".into(),
            "--service".into(),
            "checkout".into(),
            "--version".into(),
            "1".into(),
            "--env".into(),
            "production".into(),
            "--started".into(),
            started.into(),
            "--finished".into(),
            finished.into(),
            "--deployer".into(),
            "p".into(),
            "--outcome".into(),
            "success".into(),
            "--commit".into(),
            "abc".into(),
            "--artifact-digest".into(),
            "sha256:1".into(),
            "--run".into(),
            "r".into(),
        ]
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        env.run(&args)
    };
    let out = run(base("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"));
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("before it starts"),
        "{}",
        stderr(&out)
    );
    let out = run(base("yesterday", "2026-03-02T10:00:00Z"));
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--finished \"yesterday\" is not a timestamp"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["deploy", "record", "--service", "checkout"]);
    assert_eq!(code(&out), 2, "missing required flags");
    assert!(stderr(&out).contains("--version"), "{}", stderr(&out));

    let mut child = Command::new(env!("CARGO_BIN_EXE_itsm"))
        .args(["deploy", "record", "--json", "-"])
        .env("ITSM_DB", env.db())
        .current_dir(env.dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"service":"checkout","version":"1","environment":"production"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("missing field"), "{}", stderr(&out));

    let out = env.run(&["audit", "verify"]);
    assert_eq!(stdout(&out).trim(), "ledger intact: 0 records verified");
}

#[test]
fn trace_classifies_commits_between_deployed_versions() {
    let env = Env::new();
    let repo = env.dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", env.dir.path())
            .env("GIT_AUTHOR_NAME", "Ann")
            .env("GIT_AUTHOR_EMAIL", "ann@example.com")
            .env("GIT_COMMITTER_NAME", "Ann")
            .env("GIT_COMMITTER_EMAIL", "ann@example.com")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    git(&["init", "-q"]);
    let commit = |path: &str, message: &str| {
        let file = repo.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, message).unwrap();
        git(&["add", "."]);
        git(&["commit", "-q", "-m", message]);
        git(&["rev-parse", "HEAD"])
    };
    let first = commit("src/main.rs", "first");
    commit("alerts/latency.yml", "tune the latency alert");
    commit("terraform/main.tf", "bigger database");
    let last = commit("src/lib.rs", "fix rounding");
    for (version, sha) in [("1.0.0", &first), ("1.1.0", &last)] {
        let out = env.run(&[
            "deploy",
            "record",
            "--service",
            "checkout",
            "--version",
            version,
            "--env",
            "production",
            "--started",
            "2026-03-02T10:00:00Z",
            "--finished",
            "2026-03-02T10:05:00Z",
            "--deployer",
            "p",
            "--outcome",
            "success",
            "--commit",
            sha,
            "--artifact-digest",
            "sha256:1",
            "--run",
            version,
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let out = env.run(&[
        "trace",
        "--service",
        "checkout",
        "--from",
        "1.0.0",
        "--to",
        "1.1.0",
        "--repo",
        repo.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let commits = report["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 3);
    let counts = &report["counts"];
    assert_eq!(counts["alert_definitions"], 1, "{counts}");
    assert_eq!(counts["infrastructure_definitions"], 1, "{counts}");
    assert_eq!(counts["code"], 1, "{counts}");

    let out = env.run(&[
        "trace",
        "--service",
        "checkout",
        "--from",
        "0.9",
        "--to",
        "1.1.0",
        "--repo",
        repo.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("1.0.0"),
        "lists the known versions: {}",
        stderr(&out)
    );
}
