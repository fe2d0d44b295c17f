//! Traceability (A3): the commits between two deployed versions of a service, read from a
//! local git clone, each classified by what it touches.
//!
//! Classification is by [`PathRules`]: an ordered list of rules, each mapping glob patterns
//! to a [`Category`]. A file gets the category of the **first** rule with a matching
//! pattern; a file no rule matches is [`Category::Code`]. A commit is classified into every
//! category one of its files got (a set).
//!
//! Patterns are matched against the path relative to the repository root, `/`-separated,
//! and are anchored at the root: `*` matches any run of characters within one path segment,
//! `?` one character within a segment, and a `**` segment any number of segments
//! (including none). So `*.csv` matches only `x.csv` at the root; write `**/*.csv` to match
//! it anywhere.
//!
//! The rules come from the configuration in this shape (an absent `rule` list keeps the
//! [defaults](PathRules::default); a present one replaces them):
//!
//! ```toml
//! [[trace.rule]]
//! category = "configuration"
//! paths = ["config/**", "**/*.env"]
//! ```
//!
//! ```
//! use itsm_audit::trace::{Category, PathRules};
//! let rules = PathRules::default();
//! assert_eq!(rules.classify("alerts/checkout.yml"), Category::AlertDefinitions);
//! assert_eq!(rules.classify("dashboards/logging/errors.json"), Category::LoggingDashboards);
//! assert_eq!(rules.classify("src/main.rs"), Category::Code);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::process::Command;

use itsm_core::{CommitId, Error, ErrorKind, Person, Result, ServiceId, Version};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::model::DeploymentRecord;

mod glob;

pub use glob::glob_match;

/// What a file in version control defines (the playbook's list of what to keep there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Alert definitions (alerting rules).
    AlertDefinitions,
    /// Application code (also anything no rule matches).
    Code,
    /// Configuration.
    Configuration,
    /// Infrastructure definitions (Terraform, Kubernetes manifests, Helm charts).
    InfrastructureDefinitions,
    /// Logging dashboards.
    LoggingDashboards,
    /// Monitoring dashboards.
    MonitoringDashboards,
    /// Reference data.
    ReferenceData,
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: [Category; 7] = [
        Category::AlertDefinitions,
        Category::Code,
        Category::Configuration,
        Category::InfrastructureDefinitions,
        Category::LoggingDashboards,
        Category::MonitoringDashboards,
        Category::ReferenceData,
    ];

    /// The `snake_case` name used in configuration and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::AlertDefinitions => "alert_definitions",
            Category::Code => "code",
            Category::Configuration => "configuration",
            Category::InfrastructureDefinitions => "infrastructure_definitions",
            Category::LoggingDashboards => "logging_dashboards",
            Category::MonitoringDashboards => "monitoring_dashboards",
            Category::ReferenceData => "reference_data",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().replace('_', " "))
    }
}

/// One classification rule: files matching any of `paths` are in `category`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathRule {
    /// The category of matching files.
    pub category: Category,
    /// Glob patterns (see the [module docs](self) for the syntax).
    pub paths: Vec<String>,
}

/// The ordered classification rules; the first matching rule wins.
///
/// Deserialises from the `[trace]` configuration table, whose `rule` array holds the rules
/// (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PathRules {
    /// The rules, in the order they are tried.
    #[serde(rename = "rule")]
    pub rules: Vec<PathRule>,
}

impl Default for PathRules {
    /// Sensible defaults, tried in this order: alert definitions (`alerts/**`,
    /// `alerting/**`, `**/*.rules.yml`, `**/*.rules.yaml`), logging dashboards
    /// (`dashboards/logging/**`, `logging/dashboards/**`, `kibana/**`), monitoring
    /// dashboards (`dashboards/**`, `grafana/**`, `monitoring/**`), infrastructure
    /// definitions (`terraform/**`, `**/*.tf`, `**/*.tfvars`, `k8s/**`, `kubernetes/**`,
    /// `helm/**`, `infra/**`), configuration (`config/**`, `conf/**`,
    /// `**/config/*.toml`, `**/config/*.yaml`, `**/config/*.yml`, `**/config/*.json`,
    /// `**/*.env`), reference data (`data/**`, `reference/**`, `**/*.csv`).
    fn default() -> Self {
        let rule = |category, paths: &[&str]| PathRule {
            category,
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        };
        PathRules {
            rules: vec![
                rule(
                    Category::AlertDefinitions,
                    &[
                        "alerts/**",
                        "alerting/**",
                        "**/*.rules.yml",
                        "**/*.rules.yaml",
                    ],
                ),
                rule(
                    Category::LoggingDashboards,
                    &[
                        "dashboards/logging/**",
                        "logging/dashboards/**",
                        "kibana/**",
                    ],
                ),
                rule(
                    Category::MonitoringDashboards,
                    &["dashboards/**", "grafana/**", "monitoring/**"],
                ),
                rule(
                    Category::InfrastructureDefinitions,
                    &[
                        "terraform/**",
                        "**/*.tf",
                        "**/*.tfvars",
                        "k8s/**",
                        "kubernetes/**",
                        "helm/**",
                        "infra/**",
                    ],
                ),
                rule(
                    Category::Configuration,
                    &[
                        "config/**",
                        "conf/**",
                        "**/config/*.toml",
                        "**/config/*.yaml",
                        "**/config/*.yml",
                        "**/config/*.json",
                        "**/*.env",
                    ],
                ),
                rule(
                    Category::ReferenceData,
                    &["data/**", "reference/**", "**/*.csv"],
                ),
            ],
        }
    }
}

impl PathRules {
    /// The category of the file at `path` (relative to the repository root): the first
    /// rule with a matching pattern decides; no match means [`Category::Code`].
    pub fn classify(&self, path: &str) -> Category {
        self.rules
            .iter()
            .find(|rule| rule.paths.iter().any(|p| glob_match(p, path)))
            .map_or(Category::Code, |rule| rule.category)
    }
}

/// One commit between the two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracedCommit {
    /// The commit id.
    pub id: CommitId,
    /// Its author.
    pub author: Person,
    /// When it was authored.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The first line of its message.
    pub subject: String,
    /// The files it touches, each with its category (none for a merge commit).
    pub files: Vec<(String, Category)>,
    /// Every category one of its files is in.
    pub categories: BTreeSet<Category>,
}

/// The commits between two deployed versions of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceReport {
    /// The service.
    pub service: ServiceId,
    /// The older version, when the trace was asked for by version.
    pub from_version: Option<Version>,
    /// The newer version, when the trace was asked for by version.
    pub to_version: Option<Version>,
    /// The commit of the older version (excluded).
    pub from: CommitId,
    /// The commit of the newer version (included).
    pub to: CommitId,
    /// The commits reachable from `to` but not from `from`, newest first.
    pub commits: Vec<TracedCommit>,
    /// How many commits touch each category (every category present, zero included).
    pub counts: BTreeMap<Category, u64>,
}

/// Finds the commits two deployed versions of `service` were built from.
///
/// Looks through the records of `service` (any environment; the latest record of a version
/// wins). Errors with [`ErrorKind::InvalidInput`] when the service has no record, or a
/// version is unknown (the message lists the known versions).
pub fn commits_for_versions(
    records: &[DeploymentRecord],
    service: &ServiceId,
    from_version: &Version,
    to_version: &Version,
) -> Result<(CommitId, CommitId)> {
    let of_service: Vec<&DeploymentRecord> = records
        .iter()
        .filter(|r| r.deployment.service == *service)
        .collect();
    if of_service.is_empty() {
        return Err(Error::invalid_input(format!(
            "no deployment of service {service} is recorded; check the service name"
        ))
        .with_context("service", service));
    }
    let find = |version: &Version| -> Result<CommitId> {
        of_service
            .iter()
            .filter(|r| r.deployment.version == *version)
            .max_by_key(|r| r.seq)
            .map(|r| r.deployment.commit.clone())
            .ok_or_else(|| {
                let mut known: Vec<&str> = Vec::new();
                for r in &of_service {
                    let v = r.deployment.version.as_str();
                    if !known.contains(&v) {
                        known.push(v);
                    }
                }
                Error::invalid_input(format!(
                    "service {service} has no recorded deployment of version {version}; \
                     known versions: {}",
                    known.join(", ")
                ))
                .with_context("service", service)
                .with_context("version", version)
            })
    };
    Ok((find(from_version)?, find(to_version)?))
}

/// Lists and classifies the commits in `from..to` of the git clone at `repo`.
///
/// Runs `git` (it must be on `PATH`). Errors: git missing -> [`ErrorKind::Config`]; `repo`
/// not a directory or not a git repository, or a revision not in it ->
/// [`ErrorKind::InvalidInput`], naming the repository and what to do.
pub fn trace(
    repo: &Path,
    service: &ServiceId,
    from: &CommitId,
    to: &CommitId,
    rules: &PathRules,
) -> Result<TraceReport> {
    if !repo.is_dir() {
        return Err(Error::invalid_input(format!(
            "{} is not a directory; pass the path of a local clone of {service}'s repository",
            repo.display()
        ))
        .with_context("repo", repo.display()));
    }
    let inside = git(repo, &["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status_ok {
        return Err(Error::invalid_input(format!(
            "{} is not a git repository ({}); pass the path of a local clone of {service}'s \
             repository",
            repo.display(),
            inside.stderr.trim()
        ))
        .with_context("repo", repo.display()));
    }
    for rev in [from, to] {
        let rev = rev.as_str();
        let probe = format!("{rev}^{{commit}}");
        let ok = !rev.starts_with('-')
            && git(repo, &["rev-parse", "--verify", "--quiet", &probe])?.status_ok;
        if !ok {
            return Err(Error::invalid_input(format!(
                "commit {rev} is not in the repository at {}; fetch it (git fetch, or \
                 git fetch --unshallow for a shallow clone) or check the recorded version",
                repo.display()
            ))
            .with_context("repo", repo.display())
            .with_context("revision", rev));
        }
    }
    let range = format!("{}..{}", from.as_str(), to.as_str());
    let log = git(
        repo,
        &[
            "-c",
            "log.showSignature=false",
            "log",
            "-z",
            "--no-color",
            "--format=%x1e%H%x00%an%x00%ae%x00%at%x00%s%x00",
            "--name-only",
            &range,
            "--",
        ],
    )?;
    if !log.status_ok {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "git log {range} failed in {}: {}",
                repo.display(),
                log.stderr.trim()
            ),
        )
        .with_context("repo", repo.display()));
    }
    let commits = parse_log(&log.stdout, rules)?;
    let mut counts: BTreeMap<Category, u64> = Category::ALL.iter().map(|c| (*c, 0)).collect();
    for commit in &commits {
        for c in &commit.categories {
            *counts.entry(*c).or_default() += 1;
        }
    }
    Ok(TraceReport {
        service: service.clone(),
        from_version: None,
        to_version: None,
        from: from.clone(),
        to: to.clone(),
        commits,
        counts,
    })
}

/// [`commits_for_versions`] then [`trace`]: the commits between two deployed versions.
pub fn trace_versions(
    repo: &Path,
    records: &[DeploymentRecord],
    service: &ServiceId,
    from_version: &Version,
    to_version: &Version,
    rules: &PathRules,
) -> Result<TraceReport> {
    let (from, to) = commits_for_versions(records, service, from_version, to_version)?;
    let mut report = trace(repo, service, &from, &to, rules)?;
    report.from_version = Some(from_version.clone());
    report.to_version = Some(to_version.clone());
    Ok(report)
}

struct GitOutput {
    status_ok: bool,
    stdout: String,
    stderr: String,
}

fn git(repo: &Path, args: &[&str]) -> Result<GitOutput> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| {
            let what = if e.kind() == std::io::ErrorKind::NotFound {
                "git is not installed or not on PATH; install git to trace commits".to_owned()
            } else {
                format!("could not run git: {e}; check that git is installed and runnable")
            };
            Error::new(ErrorKind::Config, what)
                .with_context("repo", repo.display())
                .with_source(e)
        })?;
    Ok(GitOutput {
        status_ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Parses `git log -z --format=%x1e%H%x00%an%x00%ae%x00%at%x00%s%x00 --name-only`.
fn parse_log(out: &str, rules: &PathRules) -> Result<Vec<TracedCommit>> {
    let bad = |what: &str| {
        Error::new(
            ErrorKind::InvalidResponse,
            format!("unexpected git log output ({what}); check the git version"),
        )
    };
    let mut commits = Vec::new();
    for chunk in out.split('\u{1e}').filter(|c| !c.trim().is_empty()) {
        let mut fields = chunk.splitn(6, '\0');
        let mut next = |name: &str| fields.next().ok_or_else(|| bad(name));
        let id = CommitId::new(next("commit id")?).map_err(|_| bad("commit id"))?;
        let name = next("author name")?.to_owned();
        let email = next("author email")?.to_owned();
        let secs: i64 = next("author time")?
            .parse()
            .map_err(|_| bad("author time"))?;
        let at = OffsetDateTime::from_unix_timestamp(secs).map_err(|_| bad("author time"))?;
        let subject = next("subject")?.to_owned();
        let rest = fields.next().unwrap_or("");
        let rest = rest.strip_prefix('\0').unwrap_or(rest);
        let rest = rest.strip_prefix('\n').unwrap_or(rest);
        let files: Vec<(String, Category)> = rest
            .split('\0')
            .filter(|f| !f.is_empty())
            .map(|f| (f.to_owned(), rules.classify(f)))
            .collect();
        let categories = files.iter().map(|(_, c)| *c).collect();
        let mut author = Person::named(name);
        if !email.is_empty() {
            author = author.with_email(email);
        }
        commits.push(TracedCommit {
            id,
            author,
            at,
            subject,
            files,
            categories,
        });
    }
    Ok(commits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_cover_every_category() {
        let rules = PathRules::default();
        let cases = [
            ("alerts/checkout.yml", Category::AlertDefinitions),
            (
                "deploy/prometheus/api.rules.yml",
                Category::AlertDefinitions,
            ),
            ("src/lib.rs", Category::Code),
            ("config/prod.toml", Category::Configuration),
            ("services/api/config/app.yaml", Category::Configuration),
            ("terraform/main.tf", Category::InfrastructureDefinitions),
            (
                "modules/db/variables.tf",
                Category::InfrastructureDefinitions,
            ),
            (
                "helm/chart/values.yaml",
                Category::InfrastructureDefinitions,
            ),
            (
                "dashboards/logging/errors.json",
                Category::LoggingDashboards,
            ),
            ("dashboards/latency.json", Category::MonitoringDashboards),
            ("grafana/api.json", Category::MonitoringDashboards),
            ("data/currencies.json", Category::ReferenceData),
            ("src/fixtures/countries.csv", Category::ReferenceData),
            ("src/config/mod.rs", Category::Code),
        ];
        for (path, want) in cases {
            assert_eq!(rules.classify(path), want, "{path}");
        }
    }

    #[test]
    fn parses_log_output_with_and_without_files() {
        let out = "\u{1e}abc123\0Ann\0ann@x\x001700000000\0fix\0\0\nsrc/a.rs\0alerts/b.yml\0\
                   \u{1e}def456\0Bob\0\x001700000001\0merge\0\0";
        let commits = parse_log(out, &PathRules::default()).unwrap();
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[0].files.len(), 2);
        assert_eq!(commits[0].author.email.as_deref(), Some("ann@x"));
        assert_eq!(
            commits[0].categories,
            BTreeSet::from([Category::Code, Category::AlertDefinitions])
        );
        assert!(commits[1].files.is_empty());
        assert_eq!(commits[1].author.email, None);
        assert!(parse_log("\u{1e}abc\0A\0a\0notanumber\0s\0", &PathRules::default()).is_err());
    }
}
