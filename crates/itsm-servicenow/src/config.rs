//! `[servicenow]` in `itsm.toml`, the `SERVICENOW_*` environment overlay, and validation.
//!
//! ```toml
//! [servicenow]
//! instance_url = "https://example.service-now.com/"
//! username = "itsm.integration"        # Basic auth; the password comes from SERVICENOW_PASSWORD
//! # token = "..."                       # or an OAuth bearer token (SERVICENOW_TOKEN)
//! timeout_seconds = 30
//! max_attempts = 4
//!
//! [servicenow.fields]                   # field names instances customise
//! correlation = "correlation_id"
//! version = "u_itsm_version"
//!
//! [servicenow.change_states]            # ServiceNow's defaults shown
//! new = "-5"
//! closed = "3"
//!
//! [servicenow.webhook]                  # the business rule's outbound REST message
//! username = "itsm-webhook"             # password from SERVICENOW_WEBHOOK_PASSWORD
//!
//! [[servicenow.catalog.items]]          # Service Catalog offerings (see CatalogConfig)
//! sys_id = "0d08837237153000158bbfc8bcbe5d02"
//! id = "dba.new-database"
//! team = "dba"
//! ```
//!
//! Every table has a default (ServiceNow's own name), so `instance_url` and credentials are
//! all an instance with the adapter's custom fields needs.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use itsm_change::{ChangeState, CloseCode};
use itsm_core::{Error, ErrorKind, Result};
use itsm_http::{Auth, HttpClient, RateLimit, RetryPolicy, SecretString, Timeouts};
use itsm_incident::IncidentState;
use secrecy::ExposeSecret;
use serde::{Deserialize, Deserializer};
use url::Url;

pub use crate::config_catalog::{
    CatalogCategory, CatalogConfig, CatalogItem, CatalogTables, Checkout, ItsmVariables,
    RequestStates,
};

/// Deserialises an optional secret from a plain string.
fn secret<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<SecretString>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text
        .filter(|t| !t.trim().is_empty())
        .map(SecretString::from))
}

fn redacted(secret: &Option<SecretString>) -> &'static str {
    if secret.is_some() {
        "Some([REDACTED])"
    } else {
        "None"
    }
}

/// `[servicenow]`: how to reach the instance and how it is customised.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNowConfig {
    /// The instance, `https://<name>.service-now.com/` (`SERVICENOW_INSTANCE_URL`).
    #[serde(default)]
    pub instance_url: Option<Url>,
    /// The integration user for Basic auth (`SERVICENOW_USERNAME`).
    #[serde(default)]
    pub username: Option<String>,
    /// Its password (`SERVICENOW_PASSWORD`; keep it out of files).
    #[serde(default, deserialize_with = "secret")]
    pub password: Option<SecretString>,
    /// An OAuth bearer token instead of Basic auth (`SERVICENOW_TOKEN`).
    #[serde(default, deserialize_with = "secret")]
    pub token: Option<SecretString>,
    /// Seconds allowed for one attempt of one request (default 30).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Attempts per request, retries included (default 4; 429 and 503 are retried after
    /// `Retry-After` / `X-RateLimit-Reset`).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// A client-side limit in requests per second (default none).
    #[serde(default)]
    pub rate_limit_per_second: Option<f64>,
    /// Table names.
    #[serde(default)]
    pub tables: Tables,
    /// Field names.
    #[serde(default)]
    pub fields: Fields,
    /// Change state codes (ServiceNow defaults).
    #[serde(default)]
    pub change_states: ChangeStates,
    /// Change close codes (ServiceNow defaults).
    #[serde(default)]
    pub change_close_codes: ChangeCloseCodes,
    /// Incident state codes (ServiceNow defaults).
    #[serde(default)]
    pub incident_states: IncidentStates,
    /// Incident resolution and major-incident settings.
    #[serde(default)]
    pub incident: IncidentSettings,
    /// Changes: emergency approval.
    #[serde(default)]
    pub change: ChangeSettings,
    /// Credentials the business rule's outbound REST message sends to `itsm serve`.
    #[serde(default)]
    pub webhook: WebhookConfig,
    /// The Service Catalog: offered items and requested items.
    #[serde(default)]
    pub catalog: CatalogConfig,
}

fn default_timeout() -> u64 {
    30
}

fn default_attempts() -> u32 {
    4
}

impl Default for ServiceNowConfig {
    fn default() -> Self {
        ServiceNowConfig {
            instance_url: None,
            username: None,
            password: None,
            token: None,
            timeout_seconds: default_timeout(),
            max_attempts: default_attempts(),
            rate_limit_per_second: None,
            tables: Tables::default(),
            fields: Fields::default(),
            change_states: ChangeStates::default(),
            change_close_codes: ChangeCloseCodes::default(),
            incident_states: IncidentStates::default(),
            incident: IncidentSettings::default(),
            change: ChangeSettings::default(),
            webhook: WebhookConfig::default(),
            catalog: CatalogConfig::default(),
        }
    }
}

impl fmt::Debug for ServiceNowConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceNowConfig")
            .field(
                "instance_url",
                &self.instance_url.as_ref().map(itsm_http::redact_url),
            )
            .field("username", &self.username)
            .field("password", &format_args!("{}", redacted(&self.password)))
            .field("token", &format_args!("{}", redacted(&self.token)))
            .field("timeout_seconds", &self.timeout_seconds)
            .field("max_attempts", &self.max_attempts)
            .field("rate_limit_per_second", &self.rate_limit_per_second)
            .field("tables", &self.tables)
            .field("fields", &self.fields)
            .field("change_states", &self.change_states)
            .field("change_close_codes", &self.change_close_codes)
            .field("incident_states", &self.incident_states)
            .field("incident", &self.incident)
            .field("change", &self.change)
            .field("webhook", &self.webhook)
            .field("catalog", &self.catalog)
            .finish()
    }
}

/// `[servicenow.tables]`: table names (ServiceNow's by default).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tables {
    /// Incidents (`incident`).
    pub incident: String,
    /// Approvals (`sysapproval_approver`).
    pub approvals: String,
    /// Journal entries: work notes and comments (`sys_journal_field`).
    pub journal: String,
}

impl Default for Tables {
    fn default() -> Self {
        Tables {
            incident: "incident".into(),
            approvals: "sysapproval_approver".into(),
            journal: "sys_journal_field".into(),
        }
    }
}

/// `[servicenow.fields]`: the fields the adapter reads and writes. The `u_itsm_*` ones are
/// custom string fields to add to the tables (or point them at fields the instance has);
/// an empty name turns a custom field off (its value is then not kept).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fields {
    /// Our idempotency key on incidents, changes and requested items (`correlation_id`).
    pub correlation: String,
    /// The reference to the service's CI on incidents and changes (`cmdb_ci`); written with
    /// the service name, read as its display value.
    pub service: String,
    /// The CI's name field, for queries (`name`: queries use `cmdb_ci.name=<service>`).
    pub service_name: String,
    /// Change: the version deployed (`u_itsm_version`, required).
    pub version: String,
    /// Change: the environment deployed to (`u_itsm_environment`, required).
    pub environment: String,
    /// Change: the template a standard change came from (`u_itsm_template`).
    pub template: String,
    /// Change: raised after the fact (`u_itsm_retroactive`, `true`/`false`).
    pub retroactive: String,
    /// Change: the pipeline run (`u_itsm_pipeline_run`).
    pub pipeline_run: String,
    /// Change: commits, comma-separated (`u_itsm_commits`).
    pub commits: String,
    /// Incident: digital_service, cots or foundational (`u_itsm_service_kind`).
    pub service_kind: String,
    /// Incident: acknowledged while the state is shared with in progress
    /// (`u_itsm_acknowledged`, `true`/`false`).
    pub acknowledged: String,
    /// Incident: linked records, one `system:id` per line (`u_itsm_links`).
    pub links: String,
    /// Incident: the tenant (`u_itsm_tenant`).
    pub tenant: String,
    /// Standard change template: the service it covers (`u_itsm_service`); templates
    /// without it are not offered.
    pub template_service: String,
    /// Standard change template: the environments it allows, comma-separated
    /// (`u_itsm_environments`).
    pub template_environments: String,
}

impl Default for Fields {
    fn default() -> Self {
        Fields {
            correlation: "correlation_id".into(),
            service: "cmdb_ci".into(),
            service_name: "name".into(),
            version: "u_itsm_version".into(),
            environment: "u_itsm_environment".into(),
            template: "u_itsm_template".into(),
            retroactive: "u_itsm_retroactive".into(),
            pipeline_run: "u_itsm_pipeline_run".into(),
            commits: "u_itsm_commits".into(),
            service_kind: "u_itsm_service_kind".into(),
            acknowledged: "u_itsm_acknowledged".into(),
            links: "u_itsm_links".into(),
            tenant: "u_itsm_tenant".into(),
            template_service: "u_itsm_service".into(),
            template_environments: "u_itsm_environments".into(),
        }
    }
}

/// `[servicenow.change_states]`: `change_request.state` codes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChangeStates {
    /// New (`-5`).
    pub new: String,
    /// Assess (`-4`).
    pub assess: String,
    /// Authorize (`-3`).
    pub authorize: String,
    /// Scheduled (`-2`).
    pub scheduled: String,
    /// Implement (`-1`).
    pub implement: String,
    /// Review (`0`).
    pub review: String,
    /// Closed (`3`).
    pub closed: String,
    /// Canceled (`4`).
    pub canceled: String,
}

impl Default for ChangeStates {
    fn default() -> Self {
        ChangeStates {
            new: "-5".into(),
            assess: "-4".into(),
            authorize: "-3".into(),
            scheduled: "-2".into(),
            implement: "-1".into(),
            review: "0".into(),
            closed: "3".into(),
            canceled: "4".into(),
        }
    }
}

impl ChangeStates {
    const ALL: [ChangeState; 8] = [
        ChangeState::New,
        ChangeState::Assess,
        ChangeState::Authorize,
        ChangeState::Scheduled,
        ChangeState::Implement,
        ChangeState::Review,
        ChangeState::Closed,
        ChangeState::Canceled,
    ];

    /// The code of `state`.
    pub fn code(&self, state: ChangeState) -> &str {
        match state {
            ChangeState::New => &self.new,
            ChangeState::Assess => &self.assess,
            ChangeState::Authorize => &self.authorize,
            ChangeState::Scheduled => &self.scheduled,
            ChangeState::Implement => &self.implement,
            ChangeState::Review => &self.review,
            ChangeState::Closed => &self.closed,
            ChangeState::Canceled => &self.canceled,
        }
    }

    /// The state of `code`, if it is one of ours.
    pub fn state(&self, code: &str) -> Option<ChangeState> {
        let code = code.trim();
        Self::ALL.into_iter().find(|s| self.code(*s) == code)
    }
}

/// `[servicenow.change_close_codes]`: `change_request.close_code` values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChangeCloseCodes {
    /// Successful (`successful`).
    pub successful: String,
    /// Successful with issues (`successful_issues`).
    pub successful_with_issues: String,
    /// Unsuccessful (`unsuccessful`).
    pub unsuccessful: String,
}

impl Default for ChangeCloseCodes {
    fn default() -> Self {
        ChangeCloseCodes {
            successful: "successful".into(),
            successful_with_issues: "successful_issues".into(),
            unsuccessful: "unsuccessful".into(),
        }
    }
}

impl ChangeCloseCodes {
    /// The value of `code`.
    pub fn value(&self, code: CloseCode) -> &str {
        match code {
            CloseCode::Successful => &self.successful,
            CloseCode::SuccessfulWithIssues => &self.successful_with_issues,
            CloseCode::Unsuccessful => &self.unsuccessful,
        }
    }

    /// The close code of `value`, if it is one of ours.
    pub fn code(&self, value: &str) -> Option<CloseCode> {
        [
            CloseCode::Successful,
            CloseCode::SuccessfulWithIssues,
            CloseCode::Unsuccessful,
        ]
        .into_iter()
        .find(|c| self.value(*c).eq_ignore_ascii_case(value.trim()))
    }
}

/// `[servicenow.incident_states]`: `incident.state` codes. ServiceNow has no acknowledged
/// state: by default it shares In Progress (`2`) and the `acknowledged` field tells them
/// apart.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentStates {
    /// New (`1`).
    pub new: String,
    /// Acknowledged (`2`, In Progress).
    pub acknowledged: String,
    /// In Progress (`2`).
    pub in_progress: String,
    /// On Hold (`3`).
    pub on_hold: String,
    /// Resolved (`6`).
    pub resolved: String,
    /// Closed (`7`).
    pub closed: String,
}

impl Default for IncidentStates {
    fn default() -> Self {
        IncidentStates {
            new: "1".into(),
            acknowledged: "2".into(),
            in_progress: "2".into(),
            on_hold: "3".into(),
            resolved: "6".into(),
            closed: "7".into(),
        }
    }
}

impl IncidentStates {
    /// The code of `state`.
    pub fn code(&self, state: IncidentState) -> &str {
        match state {
            IncidentState::New => &self.new,
            IncidentState::Acknowledged => &self.acknowledged,
            IncidentState::InProgress => &self.in_progress,
            IncidentState::OnHold => &self.on_hold,
            IncidentState::Resolved => &self.resolved,
            IncidentState::Closed => &self.closed,
        }
    }

    /// The state of `code`; `acknowledged` decides between acknowledged and in progress
    /// when they share a code. Unknown codes (Canceled `8`) read as closed.
    pub fn state(&self, code: &str, acknowledged: bool) -> IncidentState {
        let code = code.trim();
        if code == self.acknowledged && (acknowledged || code != self.in_progress) {
            return IncidentState::Acknowledged;
        }
        [
            IncidentState::New,
            IncidentState::InProgress,
            IncidentState::OnHold,
            IncidentState::Resolved,
            IncidentState::Closed,
        ]
        .into_iter()
        .find(|s| self.code(*s) == code)
        .unwrap_or(IncidentState::Closed)
    }
}

/// `[servicenow.incident]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentSettings {
    /// Our resolution codes mapped to `incident.close_code` choices.
    pub close_codes: BTreeMap<String, String>,
    /// The close code for a resolution code with no mapping (`Solution provided`); the
    /// original code then opens the close notes.
    pub default_close_code: String,
    /// `major_incident_state` of a major incident (`accepted`).
    pub major_state: String,
    /// `major_incident_state` written when a major incident is unflagged (`canceled`).
    pub unflagged_major_state: String,
}

impl Default for IncidentSettings {
    fn default() -> Self {
        let close_codes = [
            ("solved", "Solution provided"),
            ("workaround", "Workaround provided"),
            ("duplicate", "Duplicate"),
            ("resolved_by_change", "Resolved by change"),
            ("resolved_by_caller", "Resolved by caller"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        IncidentSettings {
            close_codes,
            default_close_code: "Solution provided".into(),
            major_state: "accepted".into(),
            unflagged_major_state: "canceled".into(),
        }
    }
}

/// `[servicenow.change]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChangeSettings {
    /// Approve an emergency (break-glass) change right after creating it, through the
    /// Change Management API's approvals endpoint, with the reasons as comment (default
    /// `true`; the integration user needs the right to approve). With `false` the change
    /// waits for the emergency CAB like any other.
    pub approve_emergency: bool,
}

impl Default for ChangeSettings {
    fn default() -> Self {
        ChangeSettings {
            approve_emergency: true,
        }
    }
}

/// `[servicenow.webhook]`: what the outbound REST message must send. Basic
/// (`username` + `password`) or a bearer `token`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The Basic user name (`SERVICENOW_WEBHOOK_USERNAME`).
    #[serde(default)]
    pub username: Option<String>,
    /// The Basic password (`SERVICENOW_WEBHOOK_PASSWORD`).
    #[serde(default, deserialize_with = "secret")]
    pub password: Option<SecretString>,
    /// A bearer token instead (`SERVICENOW_WEBHOOK_TOKEN`).
    #[serde(default, deserialize_with = "secret")]
    pub token: Option<SecretString>,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("username", &self.username)
            .field("password", &format_args!("{}", redacted(&self.password)))
            .field("token", &format_args!("{}", redacted(&self.token)))
            .finish()
    }
}

impl WebhookConfig {
    /// Whether any credential is configured (the webhook is only served with one).
    pub fn is_configured(&self) -> bool {
        self.token.is_some() || (self.username.is_some() && self.password.is_some())
    }
}

fn config_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, message)
}

impl ServiceNowConfig {
    /// A configuration for `instance_url` with Basic credentials and every default.
    pub fn basic(instance_url: Url, username: &str, password: &str) -> Self {
        ServiceNowConfig {
            instance_url: Some(instance_url),
            username: Some(username.to_owned()),
            password: Some(SecretString::from(password.to_owned())),
            ..ServiceNowConfig::default()
        }
    }

    /// A configuration for `instance_url` with an OAuth bearer token and every default.
    pub fn bearer(instance_url: Url, token: &str) -> Self {
        ServiceNowConfig {
            instance_url: Some(instance_url),
            token: Some(SecretString::from(token.to_owned())),
            ..ServiceNowConfig::default()
        }
    }

    /// Applies the process environment's `SERVICENOW_*` variables (see
    /// [`apply_env_with`](Self::apply_env_with)).
    pub fn apply_env(&mut self) -> Result<()> {
        self.apply_env_with(|name| std::env::var(name).ok())
    }

    /// Applies `SERVICENOW_INSTANCE_URL`, `SERVICENOW_USERNAME`, `SERVICENOW_PASSWORD`,
    /// `SERVICENOW_TOKEN`, `SERVICENOW_WEBHOOK_USERNAME`, `SERVICENOW_WEBHOOK_PASSWORD` and
    /// `SERVICENOW_WEBHOOK_TOKEN` read through `var`; empty values are ignored.
    pub fn apply_env_with(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<()> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if let Some(url) = get("SERVICENOW_INSTANCE_URL") {
            let parsed = Url::parse(url.trim()).map_err(|e| {
                config_error(format!(
                    "SERVICENOW_INSTANCE_URL is not a URL ({e}); set it to e.g. https://example.service-now.com/"
                ))
            })?;
            self.instance_url = Some(parsed);
        }
        if let Some(user) = get("SERVICENOW_USERNAME") {
            self.username = Some(user);
        }
        if let Some(password) = get("SERVICENOW_PASSWORD") {
            self.password = Some(SecretString::from(password));
        }
        if let Some(token) = get("SERVICENOW_TOKEN") {
            self.token = Some(SecretString::from(token));
        }
        if let Some(user) = get("SERVICENOW_WEBHOOK_USERNAME") {
            self.webhook.username = Some(user);
        }
        if let Some(password) = get("SERVICENOW_WEBHOOK_PASSWORD") {
            self.webhook.password = Some(SecretString::from(password));
        }
        if let Some(token) = get("SERVICENOW_WEBHOOK_TOKEN") {
            self.webhook.token = Some(SecretString::from(token));
        }
        Ok(())
    }

    /// Checks the configuration; the error names the setting and how to fix it.
    pub fn validate(&self) -> Result<()> {
        let Some(url) = &self.instance_url else {
            return Err(config_error(
                "[servicenow] instance_url is missing; set it or SERVICENOW_INSTANCE_URL to https://<instance>.service-now.com/",
            ));
        };
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(config_error(format!(
                "[servicenow] instance_url {} must be an http(s) URL with a host",
                itsm_http::redact_url(url)
            )));
        }
        match (&self.username, &self.password, &self.token) {
            (_, _, Some(_)) if self.username.is_some() || self.password.is_some() => {
                return Err(config_error(
                    "[servicenow] sets both a token and username/password; keep one way to authenticate",
                ));
            }
            (_, _, Some(token)) if token.expose_secret().trim().is_empty() => {
                return Err(config_error("[servicenow] token is empty"));
            }
            (_, _, Some(_)) => {}
            (Some(user), Some(_), None) if !user.trim().is_empty() => {}
            (Some(_), None, None) => {
                return Err(config_error(
                    "[servicenow] username is set but the password is missing; set SERVICENOW_PASSWORD",
                ));
            }
            _ => {
                return Err(config_error(
                    "[servicenow] has no credentials; set username and SERVICENOW_PASSWORD (Basic) or SERVICENOW_TOKEN (OAuth bearer)",
                ));
            }
        }
        if self.timeout_seconds == 0 || self.max_attempts == 0 {
            return Err(config_error(
                "[servicenow] timeout_seconds and max_attempts must be at least 1",
            ));
        }
        if let Some(rate) = self.rate_limit_per_second
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(config_error(
                "[servicenow] rate_limit_per_second must be a positive number",
            ));
        }
        let required = [
            ("fields.correlation", &self.fields.correlation),
            ("fields.service", &self.fields.service),
            ("fields.version", &self.fields.version),
            ("fields.environment", &self.fields.environment),
        ];
        if let Some((name, _)) = required.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(config_error(format!(
                "[servicenow] {name} must not be empty; the adapter needs that field"
            )));
        }
        let w = &self.webhook;
        if w.username.is_some() != w.password.is_some() {
            return Err(config_error(
                "[servicenow.webhook] needs both username and password (SERVICENOW_WEBHOOK_PASSWORD) for Basic auth",
            ));
        }
        if w.token.is_some() && w.username.is_some() {
            return Err(config_error(
                "[servicenow.webhook] sets both a token and username/password; keep one",
            ));
        }
        self.catalog.validate()
    }

    /// The instance URL (after [`validate`](Self::validate)).
    pub(crate) fn url(&self) -> Result<&Url> {
        self.instance_url
            .as_ref()
            .ok_or_else(|| config_error("[servicenow] instance_url is missing"))
    }

    /// The HTTP client for the instance (validates first).
    pub fn http_client(&self) -> Result<HttpClient> {
        self.validate()?;
        let auth = match (&self.token, &self.username, &self.password) {
            (Some(token), _, _) => Auth::Bearer(token.clone()),
            (None, Some(user), Some(password)) => Auth::Basic {
                username: user.clone(),
                password: password.clone(),
            },
            _ => Auth::None,
        };
        let mut builder = HttpClient::builder(self.url()?.clone())
            .auth(auth)
            .timeouts(Timeouts::from_seconds(self.timeout_seconds))
            .retry(RetryPolicy::new(
                self.max_attempts,
                Duration::from_secs(self.timeout_seconds * u64::from(self.max_attempts)),
            ));
        if let Some(rate) = self.rate_limit_per_second {
            builder = builder.rate_limit(RateLimit::per_second(rate));
        }
        builder.build()
    }
}
