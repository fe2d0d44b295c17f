//! `itsm.toml`: backend selection, policy thresholds, freeze windows, known environments,
//! with environment-variable overrides.

use std::path::{Path, PathBuf};

use itsm_change::{FreezeWindow, Policy};
use itsm_core::{Environment, Error, ErrorKind, Result};
use serde::Deserialize;

/// The configuration file, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    #[serde(default)]
    pub(crate) backend: BackendConfig,
    #[serde(default)]
    pub(crate) policy: Policy,
    #[serde(default)]
    pub(crate) change: ChangeConfig,
    /// Environments pipelines may name; anything else is a usage error.
    #[serde(default = "default_environments")]
    pub(crate) environments: Vec<Environment>,
    #[serde(default, rename = "freeze")]
    pub(crate) freezes: Vec<FreezeWindow>,
    #[serde(default)]
    pub(crate) audit: AuditConfig,
    #[serde(default)]
    pub(crate) trace: TraceConfig,
    /// `[serve]`: the alert bridge (`itsm serve`).
    #[serde(default)]
    pub(crate) serve: itsm_cli::serve::ServeConfig,
    /// `[incident]`: incident manager, escalation, chat webhook, alert labels.
    #[serde(default)]
    pub(crate) incident: itsm_cli::incidents::IncidentConfig,
    /// `[[team]]`: teams, their services and on-call schedules.
    #[serde(default, rename = "team")]
    pub(crate) teams: Vec<itsm_cli::incidents::TeamConfig>,
    #[serde(default)]
    pub(crate) specialist: crate::specialist_config::SpecialistConfig,
    /// `[servicenow]`: the instance, when `[backend] kind = "servicenow"`.
    #[serde(default)]
    pub(crate) servicenow: Option<itsm_servicenow::ServiceNowConfig>,
    /// `[jira]`: the Jira Service Management site, when `[backend] kind = "jira"`.
    #[serde(default)]
    pub(crate) jira: Option<itsm_jira::JiraConfig>,
    /// `[pagerduty]`: PagerDuty as the paging platform (and for change events) when the
    /// table or any `PAGERDUTY_*` variable is present.
    #[serde(default)]
    pub(crate) pagerduty: Option<itsm_pagerduty::PagerDutyConfig>,
}

/// The backends `[backend] kind` can name.
pub(crate) const BACKENDS: [&str; 3] = ["local", "servicenow", "jira"];

/// `[audit]`: where the deployment ledger lives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditConfig {
    /// `sqlite` (default) or `postgres`.
    #[serde(default)]
    pub(crate) store: AuditStoreKind,
    /// The SQLite ledger file; default: the backend's database file.
    #[serde(default)]
    pub(crate) db: Option<PathBuf>,
    /// The PostgreSQL URL (`ITSM_AUDIT_URL` overrides it; keep passwords out of files).
    #[serde(default)]
    pub(crate) url: Option<String>,
}

/// Which ledger store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AuditStoreKind {
    /// The embedded SQLite ledger.
    #[default]
    Sqlite,
    /// A shared PostgreSQL ledger.
    Postgres,
}

/// `[trace]`: the repository and path rules for `itsm trace`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TraceConfig {
    /// The git repository (default: the current directory).
    #[serde(default)]
    pub(crate) repo: Option<PathBuf>,
    /// Path rules, first match wins (default: `PathRules::default()`).
    #[serde(default, rename = "rule")]
    pub(crate) rules: Vec<itsm_audit::trace::PathRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackendConfig {
    /// Which backend: `local` (the embedded SQLite store), `servicenow` (changes and
    /// incidents on the `[servicenow]` instance) or `jira` (on the `[jira]` site).
    #[serde(default = "default_backend")]
    pub(crate) kind: String,
    /// The local store's database file.
    #[serde(default)]
    pub(crate) db: Option<PathBuf>,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            kind: default_backend(),
            db: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeConfig {
    /// How long a raised change's planned window lasts, in hours.
    #[serde(default = "default_window_hours")]
    pub(crate) window_hours: u32,
    /// The role notified when a normal change needs approval.
    #[serde(default = "default_change_manager")]
    pub(crate) change_manager: String,
}

impl Default for ChangeConfig {
    fn default() -> Self {
        ChangeConfig {
            window_hours: default_window_hours(),
            change_manager: default_change_manager(),
        }
    }
}

fn default_backend() -> String {
    "local".to_owned()
}
fn default_window_hours() -> u32 {
    24
}
fn default_change_manager() -> String {
    "change-manager".to_owned()
}
fn default_environments() -> Vec<Environment> {
    ["dev", "test", "staging", "production"]
        .into_iter()
        .map(|e| Environment::new(e).expect("valid default environment"))
        .collect()
}

/// Where the configuration comes from, after flags and environment variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    /// `--config` / `ITSM_CONFIG`; `None` reads `./itsm.toml` when it exists.
    pub(crate) config: Option<PathBuf>,
    /// `--db` / `ITSM_DB`.
    pub(crate) db: Option<PathBuf>,
}

impl Config {
    /// Reads the file (if any), applies `ITSM_*` overrides and flags, and validates.
    pub(crate) fn load(sources: &Sources) -> Result<Config> {
        let mut config = match &sources.config {
            Some(path) => Self::read(path)?,
            None => {
                let default = Path::new("itsm.toml");
                if default.is_file() {
                    Self::read(default)?
                } else {
                    Config {
                        environments: default_environments(),
                        ..Config::default()
                    }
                }
            }
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        if let Some(db) = &sources.db {
            config.backend.db = Some(db.clone());
        }
        config.validate()?;
        Ok(config)
    }

    fn read(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot read the configuration file {}: {e}", path.display()),
            )
        })?;
        Self::parse(&text).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "{} is not a valid itsm configuration: {}",
                    path.display(),
                    e.message()
                ),
            )
        })
    }

    /// Parses configuration text.
    pub(crate) fn parse(text: &str) -> Result<Config> {
        toml::from_str(text).map_err(|e| Error::new(ErrorKind::Config, toml_error(text, &e)))
    }

    /// Applies `ITSM_BACKEND`, `ITSM_POLICY_MAX_FAILED_DEPLOYMENTS`,
    /// `ITSM_POLICY_LOOKBACK_DAYS`, `ITSM_CHANGE_WINDOW_HOURS`, `ITSM_SERVE_TOKEN`,
    /// `ITSM_SERVE_LISTEN`, `ITSM_SERVE_QUEUE_URL`, `ITSM_CHAT_WEBHOOK_URL` and
    /// `ITSM_AUDIT_URL`.
    pub(crate) fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(kind) = var("ITSM_BACKEND") {
            self.backend.kind = kind;
        }
        let number = |name: &str| -> Result<Option<u32>> {
            var(name)
                .map(|v| {
                    v.trim().parse::<u32>().map_err(|_| {
                        Error::new(
                            ErrorKind::Config,
                            format!("{name}={v:?} is not a whole number; set it to e.g. 7"),
                        )
                    })
                })
                .transpose()
        };
        if let Some(n) = number("ITSM_POLICY_MAX_FAILED_DEPLOYMENTS")? {
            self.policy.max_failed_deployments = n;
        }
        if let Some(n) = number("ITSM_POLICY_LOOKBACK_DAYS")? {
            self.policy.lookback_days = n;
        }
        if let Some(n) = number("ITSM_CHANGE_WINDOW_HOURS")? {
            self.change.window_hours = n;
        }
        if let Some(token) = var("ITSM_SERVE_TOKEN").filter(|t| !t.is_empty()) {
            self.serve.token = Some(token.into());
        }
        if let Some(listen) = var("ITSM_SERVE_LISTEN") {
            self.serve.listen = listen.trim().parse().map_err(|_| {
                Error::new(
                    ErrorKind::Config,
                    format!("ITSM_SERVE_LISTEN={listen:?} is not an address; set it to e.g. 127.0.0.1:9095"),
                )
            })?;
        }
        if let Some(url) = var("ITSM_SERVE_QUEUE_URL").filter(|u| !u.is_empty()) {
            self.serve.queue_url = Some(url.into());
            self.serve.queue = itsm_cli::serve::QueueKind::Postgres;
        }
        if let Some(url) = var("ITSM_CHAT_WEBHOOK_URL").filter(|u| !u.is_empty()) {
            self.incident.chat_webhook_url = Some(url.into());
        }
        if let Some(url) = var("ITSM_AUDIT_URL") {
            self.audit.url = Some(url);
            self.audit.store = AuditStoreKind::Postgres;
        }
        self.apply_vendor_env(&var)
    }

    /// The `SERVICENOW_*` variables (when the backend is ServiceNow) and the `PAGERDUTY_*`
    /// ones (any of them turns PagerDuty on).
    fn apply_vendor_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> Result<()> {
        if self.backend.kind == "servicenow" || self.servicenow.is_some() {
            self.servicenow
                .get_or_insert_with(Default::default)
                .apply_env_with(var)?;
        }
        if let Some(jira) = &mut self.jira {
            jira.apply_vars(var)?;
        }
        let pagerduty_env = ["PAGERDUTY_API_TOKEN", "PAGERDUTY_ROUTING_KEY"]
            .iter()
            .any(|name| var(name).is_some_and(|v| !v.trim().is_empty()));
        if self.pagerduty.is_some() || pagerduty_env {
            self.pagerduty
                .get_or_insert_with(Default::default)
                .apply_env(var)?;
        }
        Ok(())
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !BACKENDS.contains(&self.backend.kind.as_str()) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "backend {:?} is not available in this version; use kind = one of {}",
                    self.backend.kind,
                    BACKENDS.map(|b| format!("{b:?}")).join(", ")
                ),
            ));
        }
        if self.backend.kind == "servicenow" {
            match &self.servicenow {
                Some(servicenow) => servicenow.validate()?,
                None => {
                    return Err(Error::new(
                        ErrorKind::Config,
                        "[backend] kind = \"servicenow\" needs a [servicenow] table or \
                         SERVICENOW_INSTANCE_URL",
                    ));
                }
            }
        }
        if self.backend.kind == "jira" {
            match &self.jira {
                Some(jira) => jira.validate()?,
                None => {
                    return Err(Error::new(
                        ErrorKind::Config,
                        "[backend] kind = \"jira\" needs a [jira] table with at least site_url",
                    ));
                }
            }
        }
        if let Some(pagerduty) = &self.pagerduty {
            pagerduty.validate()?;
        }
        if self.change.window_hours == 0 {
            return Err(Error::new(
                ErrorKind::Config,
                "[change] window_hours must be at least 1",
            ));
        }
        if self.environments.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "environments must list at least one environment",
            ));
        }
        if self.audit.store == AuditStoreKind::Postgres && self.audit.url.is_none() {
            return Err(Error::new(
                ErrorKind::Config,
                "[audit] store = \"postgres\" needs a url; set ITSM_AUDIT_URL or [audit] url",
            ));
        }
        for team in &self.teams {
            team.to_team()?;
        }
        self.specialist.validate()?;
        for freeze in &self.freezes {
            freeze
                .validate()
                .map_err(|e| Error::new(ErrorKind::Config, e.message().to_owned()))?;
        }
        Ok(())
    }

    /// The database path: configured, or `$XDG_DATA_HOME/itsm/itsm.db`
    /// (`~/.local/share/itsm/itsm.db`).
    pub(crate) fn db_path(&self) -> PathBuf {
        if let Some(db) = &self.backend.db {
            return db.clone();
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("itsm").join("itsm.db")
    }

    /// The alert queue's file: `[serve] queue_db`, or `alert-queue.db` next to the local
    /// store's database.
    pub(crate) fn queue_db_path(&self) -> PathBuf {
        self.serve
            .queue_db
            .clone()
            .unwrap_or_else(|| self.db_path().with_file_name("alert-queue.db"))
    }

    /// Checks that an environment is one the configuration knows.
    pub(crate) fn check_environment(&self, env: &Environment) -> Result<()> {
        if self.environments.contains(env) {
            return Ok(());
        }
        let known: Vec<&str> = self.environments.iter().map(|e| e.as_str()).collect();
        Err(Error::invalid_input(format!(
            "unknown environment \"{env}\"; known environments are {} (add it to `environments` in itsm.toml)",
            known.join(", ")
        )))
    }
}

/// A TOML error as its message and position, without the source line `toml` would quote:
/// that line may hold a token or password.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let Some(before) = e.span().and_then(|span| text.get(..span.start)) else {
        return message.to_owned();
    };
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_names_the_place_but_never_quotes_the_line() {
        let text = "[backend]\nkind = \"local\"\n[pagerduty]\napi_token = \"tok-S3CR3T\" x\n";
        let e = Config::parse(text).unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("S3CR3T"), "{shown}");
        assert!(
            e.message().starts_with("line 4, column "),
            "{}",
            e.message()
        );
        let unknown = Config::parse("[serve]\nlisten = \"127.0.0.1:1\"\nlistn = 1\n").unwrap_err();
        assert!(
            unknown.message().contains("line 3"),
            "{}",
            unknown.message()
        );
        assert!(unknown.message().contains("listn"), "{}", unknown.message());
    }

    #[test]
    fn full_file_parses() {
        let config = Config::parse(
            r#"
            environments = ["dev", "staging", "production"]
            [backend]
            kind = "local"
            db = "/tmp/x.db"
            [policy]
            max_failed_deployments = 2
            lookback_days = 14
            [change]
            window_hours = 4
            [[freeze]]
            name = "year-end"
            start = "2026-12-20T00:00:00Z"
            end = "2027-01-04T00:00:00Z"
            environments = ["production"]
            "#,
        )
        .unwrap();
        assert_eq!(config.policy.max_failed_deployments, 2);
        assert_eq!(config.policy.lookback_days, 14);
        assert_eq!(config.change.window_hours, 4);
        assert_eq!(config.freezes.len(), 1);
        assert_eq!(config.db_path(), PathBuf::from("/tmp/x.db"));
        config.validate().unwrap();
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        let err = Config::parse("[policy]\nlookback_dayz = 3\n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("lookback_dayz"), "{err}");
        let err = Config::parse("[policy\n").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let err = Config::parse("environments = [\"prod uction\"]\n").unwrap_err();
        assert!(err.message().contains("prod uction"), "{err}");
    }

    #[test]
    fn env_overrides_and_their_errors() {
        let mut config = Config::parse("").unwrap();
        config
            .apply_env(|n| match n {
                "ITSM_POLICY_LOOKBACK_DAYS" => Some("30".into()),
                "ITSM_CHANGE_WINDOW_HOURS" => Some("2".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.policy.lookback_days, 30);
        assert_eq!(config.change.window_hours, 2);
        let err = config
            .apply_env(|n| (n == "ITSM_POLICY_MAX_FAILED_DEPLOYMENTS").then(|| "many".into()))
            .unwrap_err();
        assert!(
            err.message().contains("ITSM_POLICY_MAX_FAILED_DEPLOYMENTS"),
            "{err}"
        );
        let mut remote = Config::parse("").unwrap();
        remote
            .apply_env(|n| (n == "ITSM_BACKEND").then(|| "servicenow".into()))
            .unwrap();
        assert!(
            remote
                .validate()
                .unwrap_err()
                .message()
                .contains("servicenow")
        );
    }

    #[test]
    fn serve_section_and_its_overrides() {
        let mut config = Config::parse(
            "[backend]\ndb = \"/data/itsm.db\"\n[serve]\nlisten = \"127.0.0.1:9200\"\nmax_body_bytes = 2048\n",
        )
        .unwrap();
        assert_eq!(config.serve.listen.port(), 9200);
        assert_eq!(config.serve.max_body_bytes, 2048);
        assert_eq!(
            config.queue_db_path(),
            PathBuf::from("/data/alert-queue.db")
        );
        config
            .apply_env(|n| (n == "ITSM_SERVE_TOKEN").then(|| "tok-from-env".into()))
            .unwrap();
        assert!(config.serve.token.is_some());
        assert!(!format!("{config:?}").contains("tok-from-env"));
        let err = config
            .apply_env(|n| (n == "ITSM_SERVE_LISTEN").then(|| "nowhere".into()))
            .unwrap_err();
        assert!(err.message().contains("ITSM_SERVE_LISTEN"), "{err}");
        let err = Config::parse("[serve]\nlisten_on = \"x\"\n").unwrap_err();
        assert!(err.message().contains("listen_on"), "{err}");
    }

    #[test]
    fn the_serve_queue_switch_and_its_url_override() {
        let config =
            Config::parse("[serve]\nqueue = \"postgres\"\nqueue_schema = \"q1\"\n").unwrap();
        assert_eq!(config.serve.queue, itsm_cli::serve::QueueKind::Postgres);
        assert_eq!(config.serve.queue_schema.as_deref(), Some("q1"));
        let err = Config::parse("[serve]\nqueue = \"mysql\"\n").unwrap_err();
        assert!(err.message().contains("mysql"), "{err}");
        assert!(err.message().contains("postgres"), "{err}");
        let mut config = Config::parse("").unwrap();
        assert_eq!(config.serve.queue, itsm_cli::serve::QueueKind::Sqlite);
        config
            .apply_env(|n| {
                (n == "ITSM_SERVE_QUEUE_URL")
                    .then(|| "postgres://itsm:pw-from-env@127.0.0.1/q".into())
            })
            .unwrap();
        assert_eq!(config.serve.queue, itsm_cli::serve::QueueKind::Postgres);
        assert!(config.serve.queue_url.is_some());
        let debug = format!("{config:?}");
        assert!(!debug.contains("pw-from-env"), "{debug}");
    }

    #[test]
    fn environments_are_checked() {
        let config = Config::parse("").unwrap();
        config
            .check_environment(&Environment::production())
            .unwrap();
        let err = config
            .check_environment(&Environment::new("prdo").unwrap())
            .unwrap_err();
        assert!(
            err.message().contains("unknown environment \"prdo\""),
            "{err}"
        );
    }
}
