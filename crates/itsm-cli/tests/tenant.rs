//! `itsm tenant onboard|show|set-profile` as whole processes: versions, diffs, conflicts,
//! and invalid profile files refused with nothing stored.

mod common;

use std::sync::Arc;

use common::{Env, code, stderr, stdout};
use itsm_core::{SystemClock, TenantId};
use itsm_incident::{AlertingProfile, Severity};
use itsm_local::LocalStore;
use serde_json::Value;

fn json(o: &std::process::Output) -> Value {
    assert_eq!(code(o), 0, "{}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// Writes `profile` as TOML to `name` in the environment's directory.
fn write(env: &Env, name: &str, profile: &AlertingProfile) -> String {
    let path = env.dir.path().join(name);
    std::fs::write(&path, profile.to_toml().unwrap()).unwrap();
    path.display().to_string()
}

async fn versions(env: &Env) -> Vec<u32> {
    let store = LocalStore::open(env.db(), Arc::new(SystemClock)).unwrap();
    store
        .tenant_profile_history(&TenantId::new("acme").unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.version)
        .collect()
}

#[tokio::test]
async fn onboard_then_tune_twice_bumps_the_version_and_shows_the_diff() {
    let env = Env::new();
    let onboarded = json(&env.run(&["tenant", "onboard", "acme", "--output", "json"]));
    assert_eq!(onboarded["version"], 1);
    assert_eq!(onboarded["profile_name"], "default");
    let stored = AlertingProfile::from_toml(onboarded["toml"].as_str().unwrap()).unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.paging, AlertingProfile::default_profile().paging);

    let o = env.run(&["tenant", "onboard", "acme"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("itsm tenant set-profile acme"),
        "{}",
        stderr(&o)
    );

    let strict = stored
        .clone()
        .tuned(|p| p.paging.min_page_severity = Severity::Critical)
        .unwrap();
    let file = write(&env, "strict.toml", &strict);
    let tuned = json(&env.run(&[
        "tenant",
        "set-profile",
        "acme",
        "--profile",
        &file,
        "--output",
        "json",
    ]));
    assert_eq!(tuned["version"], 2);
    assert_eq!(tuned["previous_version"], 1);
    let changes: Vec<&Value> = tuned["diff"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["op"] != "same")
        .collect();
    assert!(
        changes
            .iter()
            .any(|l| l["op"] == "added" && l["line"] == "min_page_severity = \"critical\""),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|l| l["op"] == "removed" && l["line"] == "min_page_severity = \"error\"")
    );

    // The same file again: its version (2) is not above the current one, so it becomes 3.
    let text = stdout(&env.run(&["tenant", "set-profile", "acme", "--profile", &file]));
    assert!(
        text.contains("now has profile default v3 (was v2)"),
        "{text}"
    );
    assert!(text.contains("-version = 2\n+version = 3"), "{text}");
    // A file ahead of the store keeps its own version.
    let mut ahead = strict.clone();
    ahead.version = 10;
    let file = write(&env, "ahead.toml", &ahead);
    let jumped = json(&env.run(&[
        "tenant",
        "set-profile",
        "acme",
        "--profile",
        &file,
        "--output",
        "json",
    ]));
    assert_eq!(jumped["version"], 10);
    assert_eq!(versions(&env).await, [1, 2, 3, 10]);

    let shown = json(&env.run(&["tenant", "show", "acme", "--history", "--output", "json"]));
    assert_eq!(shown["version"], 10);
    let history: Vec<u64> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_u64().unwrap())
        .collect();
    assert_eq!(history, [1, 2, 3, 10]);
    let stored = AlertingProfile::from_toml(shown["toml"].as_str().unwrap()).unwrap();
    assert_eq!(stored.paging.min_page_severity, Severity::Critical);
}

#[tokio::test]
async fn an_invalid_profile_file_is_refused_and_nothing_is_stored() {
    let env = Env::new();
    let bad = env.dir.path().join("bad.toml");
    let text = AlertingProfile::default_profile().to_toml().unwrap();
    std::fs::write(&bad, format!("pagng = 1\n{text}")).unwrap();
    let bad = bad.display().to_string();

    let o = env.run(&["tenant", "onboard", "acme", "--profile", &bad]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("pagng"), "{}", stderr(&o));
    assert!(versions(&env).await.is_empty());

    json(&env.run(&["tenant", "onboard", "acme", "--output", "json"]));
    let o = env.run(&["tenant", "set-profile", "acme", "--profile", &bad]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(
        err.contains("bad.toml") && err.contains("unknown field `pagng`"),
        "{err}"
    );
    // A profile whose rules contradict each other names the rule.
    let contradictory = env.dir.path().join("contradictory.toml");
    std::fs::write(
        &contradictory,
        text.replace(
            "min_ticket_severity = \"warning\"",
            "min_ticket_severity = \"critical\"",
        ),
    )
    .unwrap();
    let o = env.run(&[
        "tenant",
        "set-profile",
        "acme",
        "--profile",
        &contradictory.display().to_string(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("min_page_severity"), "{}", stderr(&o));
    let o = env.run(&["tenant", "set-profile", "acme", "--profile", "missing.toml"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
    assert_eq!(versions(&env).await, [1]);

    let o = env.run(&["tenant", "show", "globex"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("itsm tenant onboard globex"),
        "{}",
        stderr(&o)
    );
    let o = env.run(&["tenant", "set-profile", "globex", "--profile", &bad]);
    assert_eq!(code(&o), 2, "the file is checked before the tenant");
}

#[test]
fn onboard_uses_the_configured_default_profile() {
    let env = Env::new();
    let custom = AlertingProfile::default_profile()
        .tuned(|p| {
            p.name = "payments-strict".into();
            p.paging.min_page_severity = Severity::Critical;
        })
        .unwrap();
    write(&env, "strict.toml", &custom);
    env.config("[incident]\ndefault_profile = \"strict.toml\"\n");
    let onboarded = json(&env.run(&["tenant", "onboard", "acme", "--output", "json"]));
    assert_eq!(onboarded["profile_name"], "payments-strict");
    assert_eq!(onboarded["version"], 1);
    let text = stdout(&env.run(&["tenant", "show", "acme"]));
    assert!(
        text.starts_with("tenant acme: profile payments-strict v1"),
        "{text}"
    );
    assert!(text.contains("min_page_severity = \"critical\""), "{text}");
}
