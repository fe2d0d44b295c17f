//! A3: commits between two deployed versions, read from a real git repository and
//! classified by path rules.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use itsm_audit::trace::{Category, PathRules, commits_for_versions, trace, trace_versions};
use itsm_audit::{DeploymentRecord, NewDeployment, Outcome, RecordHash};
use itsm_core::{
    CommitId, Environment, ErrorKind, IdempotencyKey, Person, PipelineRunId, ServiceId, Version,
};
use time::macros::datetime;

fn git(repo: &Path, args: &[&str], date: &str) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn commit(repo: &Path, files: &[&str], subject: &str, date: &str) -> String {
    for f in files {
        let path = repo.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let before = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, format!("{before}{subject}\n")).unwrap();
    }
    git(repo, &["add", "-A"], date);
    git(repo, &["commit", "-q", "-m", subject], date);
    git(repo, &["rev-parse", "HEAD"], date)
}

struct Repo {
    dir: tempfile::TempDir,
    base: String,
    head: String,
}

fn repo() -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let d = "2026-05-01T10:00:00+00:00";
    git(p, &["init", "-q", "-b", "main"], d);
    git(p, &["config", "user.name", "Ann Dev"], d);
    git(p, &["config", "user.email", "ann@example.com"], d);
    git(p, &["config", "commit.gpgsign", "false"], d);
    let base = commit(p, &["src/main.rs"], "initial", d);
    commit(
        p,
        &["alerts/checkout.yml"],
        "alert on p99 latency",
        "2026-05-02T10:00:00+00:00",
    );
    commit(
        p,
        &["src/lib.rs", "config/prod.toml"],
        "feature flag for wallets",
        "2026-05-03T10:00:00+00:00",
    );
    commit(
        p,
        &["terraform/main.tf", "k8s/deploy.yaml"],
        "bigger pods",
        "2026-05-04T10:00:00+00:00",
    );
    commit(
        p,
        &["dashboards/logging/errors.json"],
        "error log dashboard",
        "2026-05-05T10:00:00+00:00",
    );
    commit(
        p,
        &["dashboards/latency.json"],
        "latency dashboard",
        "2026-05-06T10:00:00+00:00",
    );
    let head = commit(
        p,
        &["data/currencies.csv"],
        "add NZD",
        "2026-05-07T10:00:00+00:00",
    );
    Repo { dir, base, head }
}

fn record(seq: u64, version: &str, commit: &str) -> DeploymentRecord {
    let at = datetime!(2026-05-08 10:00 UTC);
    DeploymentRecord {
        seq,
        key: IdempotencyKey::new(format!("k{seq}")).unwrap(),
        deployment: NewDeployment {
            service: ServiceId::new("checkout").unwrap(),
            version: Version::new(version).unwrap(),
            environment: Environment::production(),
            started_at: at,
            finished_at: at,
            deployer: Person::named("ci"),
            outcome: Outcome::Succeeded,
            commit: CommitId::new(commit).unwrap(),
            artifact_digest: "sha256:00".into(),
            pipeline_run: PipelineRunId::new("run").unwrap(),
            pipeline_url: None,
            first_commit_at: None,
            change: None,
        },
        recorded_at: at,
        prev_hash: RecordHash::GENESIS,
        hash: RecordHash::GENESIS,
    }
}

fn svc() -> ServiceId {
    ServiceId::new("checkout").unwrap()
}

#[test]
fn commits_between_versions_are_classified_by_path() {
    let r = repo();
    let report = trace(
        r.dir.path(),
        &svc(),
        &CommitId::new(&r.base).unwrap(),
        &CommitId::new(&r.head).unwrap(),
        &PathRules::default(),
    )
    .unwrap();
    let subjects: Vec<&str> = report.commits.iter().map(|c| c.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "add NZD",
            "latency dashboard",
            "error log dashboard",
            "bigger pods",
            "feature flag for wallets",
            "alert on p99 latency"
        ],
        "newest first, base excluded"
    );
    let cats = |i: usize| {
        report.commits[i]
            .categories
            .iter()
            .copied()
            .collect::<Vec<_>>()
    };
    assert_eq!(cats(0), [Category::ReferenceData]);
    assert_eq!(cats(1), [Category::MonitoringDashboards]);
    assert_eq!(cats(2), [Category::LoggingDashboards]);
    assert_eq!(cats(3), [Category::InfrastructureDefinitions]);
    assert_eq!(cats(4), [Category::Code, Category::Configuration]);
    assert_eq!(cats(5), [Category::AlertDefinitions]);

    let feature = &report.commits[4];
    let mut files = feature.files.clone();
    files.sort();
    assert_eq!(
        files,
        [
            ("config/prod.toml".to_owned(), Category::Configuration),
            ("src/lib.rs".to_owned(), Category::Code)
        ]
    );
    assert_eq!(feature.author.name, "Ann Dev");
    assert_eq!(feature.author.email.as_deref(), Some("ann@example.com"));
    assert_eq!(feature.at, datetime!(2026-05-03 10:00 UTC));
    assert_eq!(feature.id.as_str().len(), 40);

    assert_eq!(report.counts[&Category::Code], 1);
    assert_eq!(report.counts[&Category::InfrastructureDefinitions], 1);
    assert_eq!(report.counts.len(), 7, "every category present");
    assert_eq!(report.counts.values().sum::<u64>(), 7);

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["counts"]["reference_data"], 1);
    assert_eq!(json["commits"][0]["files"][0][1], "reference_data");
}

#[test]
fn configured_rules_replace_the_defaults_and_first_match_wins() {
    let toml_text = r#"
        [[trace.rule]]
        category = "configuration"
        paths = ["config/**", "k8s/**"]

        [[trace.rule]]
        category = "infrastructure_definitions"
        paths = ["k8s/**", "terraform/**"]
    "#;
    #[derive(serde::Deserialize)]
    struct Config {
        trace: PathRules,
    }
    let rules = toml::from_str::<Config>(toml_text).unwrap().trace;
    assert_eq!(rules.rules.len(), 2);
    assert_eq!(rules.classify("k8s/deploy.yaml"), Category::Configuration);
    assert_eq!(
        rules.classify("terraform/main.tf"),
        Category::InfrastructureDefinitions
    );
    assert_eq!(rules.classify("alerts/x.yml"), Category::Code);

    // A `[trace]` table without rules keeps the defaults.
    let defaults = toml::from_str::<Config>("[trace]\n").unwrap().trace;
    assert_eq!(defaults, PathRules::default());
    assert!(
        toml::from_str::<Config>("[[trace.rule]]\ncategory = \"bogus\"\npaths = []\n").is_err()
    );

    let r = repo();
    let report = trace(
        r.dir.path(),
        &svc(),
        &CommitId::new(&r.base).unwrap(),
        &CommitId::new(&r.head).unwrap(),
        &rules,
    )
    .unwrap();
    let pods = report
        .commits
        .iter()
        .find(|c| c.subject == "bigger pods")
        .unwrap();
    assert_eq!(
        pods.categories,
        BTreeSet::from([Category::Configuration, Category::InfrastructureDefinitions])
    );
}

#[test]
fn versions_resolve_to_commits_through_the_records() {
    let r = repo();
    let records = vec![record(1, "1.0", &r.base), record(2, "1.1", &r.head)];
    let (from, to) = commits_for_versions(
        &records,
        &svc(),
        &Version::new("1.0").unwrap(),
        &Version::new("1.1").unwrap(),
    )
    .unwrap();
    assert_eq!(
        (from.as_str(), to.as_str()),
        (r.base.as_str(), r.head.as_str())
    );

    let report = trace_versions(
        r.dir.path(),
        &records,
        &svc(),
        &Version::new("1.0").unwrap(),
        &Version::new("1.1").unwrap(),
        &PathRules::default(),
    )
    .unwrap();
    assert_eq!(report.commits.len(), 6);
    assert_eq!(report.to_version.as_ref().map(Version::as_str), Some("1.1"));

    let err = commits_for_versions(
        &records,
        &svc(),
        &Version::new("0.9").unwrap(),
        &Version::new("1.1").unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let text = err.to_string();
    assert!(text.contains("checkout") && text.contains("0.9"), "{text}");
    assert!(text.contains("known versions: 1.0, 1.1"), "{text}");

    let err = commits_for_versions(
        &records,
        &ServiceId::new("billing").unwrap(),
        &Version::new("1.0").unwrap(),
        &Version::new("1.1").unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("no deployment of service billing"));
}

#[test]
fn unknown_revision_and_non_repositories_give_clear_errors() {
    let r = repo();
    let base = CommitId::new(&r.base).unwrap();
    let missing = CommitId::new("0123456789abcdef0123456789abcdef01234567").unwrap();
    let err = trace(r.dir.path(), &svc(), &base, &missing, &PathRules::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let text = err.to_string();
    assert!(
        text.contains("0123456789abcdef") && text.contains("not in the repository"),
        "{text}"
    );
    assert!(text.contains(&r.dir.path().display().to_string()), "{text}");
    assert!(text.contains("fetch"), "{text}");

    let dash = CommitId::new("--output=/tmp/x").unwrap();
    let err = trace(r.dir.path(), &svc(), &dash, &base, &PathRules::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    let plain = tempfile::tempdir().unwrap();
    let err = trace(plain.path(), &svc(), &base, &base, &PathRules::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not a git repository"), "{err}");
    assert!(
        err.to_string()
            .contains(&plain.path().display().to_string())
    );

    let gone = plain.path().join("nope");
    let err = trace(&gone, &svc(), &base, &base, &PathRules::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not a directory"), "{err}");

    // The same commit on both sides: nothing between them.
    let same = trace(r.dir.path(), &svc(), &base, &base, &PathRules::default()).unwrap();
    assert!(same.commits.is_empty());
    assert!(same.counts.values().all(|n| *n == 0));
}
