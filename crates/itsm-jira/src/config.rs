//! The `[jira]` table of `itsm.toml`, the `JIRA_*` environment overlay, and its checks.

use std::collections::BTreeMap;
use std::fmt;

use itsm_core::{Environment, Error, ErrorKind, Result, ServiceId, TeamId};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use url::Url;

use crate::status::{ChangeStatuses, IncidentStatuses, RequestStatuses};

/// How the adapter marks an issue with the idempotency key it was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyCarrier {
    /// A label `<key_label_prefix><key>` (keys that are not label-safe are hashed). Works for
    /// every create, including JSM requests (the request type must show the Labels field,
    /// it may be hidden from the portal).
    #[default]
    Label,
    /// An issue property (`key_property`) with `{"key": "<key>"}`, set in the create call
    /// itself. Only for incidents (`POST /rest/api/3/issue`): JSM's request endpoint cannot
    /// set properties, so changes and specialist requests always carry a label.
    Property,
}

/// Where an incident's major flag lives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum MajorFlag {
    /// A label on the issue (default `major-incident`).
    Label(String),
    /// A custom field (a select list or text field): set to `value` for major, emptied
    /// otherwise; any non-empty value reads as major.
    Field {
        /// The field id (`customfield_10060`).
        id: String,
        /// The value that means major (`Major`).
        value: String,
    },
}

impl Default for MajorFlag {
    fn default() -> Self {
        MajorFlag::Label("major-incident".to_owned())
    }
}

/// Incidents: issues of a configured type in a configured project.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentConfig {
    /// The project key (`OPS`).
    pub project: String,
    /// The issue type name (default `Incident`).
    #[serde(default = "default_incident_type")]
    pub issue_type: String,
    /// The field that names the assigned service: `components` (default; the component
    /// must exist in the project) or a text custom field id (`customfield_10050`).
    #[serde(default = "default_service_field")]
    pub service_field: String,
    /// Where the major flag lives (default the label `major-incident`).
    #[serde(default)]
    pub major: MajorFlag,
    /// Jira priority names for P1..P5 (default `Highest`, `High`, `Medium`, `Low`, `Lowest`).
    #[serde(default = "default_priorities")]
    pub priorities: [String; 5],
    /// Status names per incident state (see [`IncidentStatuses`] for the defaults).
    #[serde(default)]
    pub statuses: IncidentStatuses,
    /// Jira resolution names per resolution code (`solved = "Done"`); a code not listed is
    /// resolved as `default_resolution`, and the code is kept in the resolving comment.
    #[serde(default)]
    pub resolutions: BTreeMap<String, String>,
    /// The resolution of codes not in `resolutions` (default `Done`).
    #[serde(default = "default_resolution")]
    pub default_resolution: String,
}

impl IncidentConfig {
    /// Incidents in `project` with every other setting at its default.
    pub fn for_project(project: impl Into<String>) -> Self {
        IncidentConfig {
            project: project.into(),
            issue_type: default_incident_type(),
            service_field: default_service_field(),
            major: MajorFlag::default(),
            priorities: default_priorities(),
            statuses: IncidentStatuses::default(),
            resolutions: BTreeMap::new(),
            default_resolution: default_resolution(),
        }
    }
}

/// A standard-change template: a JSM request type with pre-filled field values.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// The template id used by itsm (`checkout-release`).
    pub id: String,
    /// The request type id standard changes from it are raised with.
    pub request_type: String,
    /// The service it covers.
    pub service: ServiceId,
    /// Environments it may target.
    pub environments: Vec<Environment>,
    /// How changes from it are implemented.
    #[serde(default)]
    pub implementation_plan: String,
    /// How they are backed out.
    #[serde(default)]
    pub backout_plan: String,
    /// How they are tested.
    #[serde(default)]
    pub test_plan: String,
    /// The product manager who owns it.
    #[serde(default)]
    pub owner: Option<String>,
    /// Who approved it.
    #[serde(default)]
    pub approved_by: Option<String>,
    /// Pre-filled `requestFieldValues` (field id to JSON value).
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// Changes: JSM requests of configured request types in one service desk.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeConfig {
    /// The service desk id (`servicedeskapi` paths).
    pub service_desk_id: String,
    /// The project key of that service desk (JQL).
    pub project: String,
    /// The request type of normal changes.
    pub normal_request_type: String,
    /// The request type of emergency changes (default: the normal one).
    #[serde(default)]
    pub emergency_request_type: Option<String>,
    /// Standard-change templates.
    #[serde(default)]
    pub templates: Vec<TemplateConfig>,
    /// Status names per change state and the declined statuses (see [`ChangeStatuses`]).
    #[serde(default)]
    pub statuses: ChangeStatuses,
    /// Resolution names per close code (defaults `Done`, `Done with issues`, `Failed`).
    #[serde(default)]
    pub resolutions: CloseResolutions,
}

/// The Jira resolution each close code is recorded as (and read back from).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseResolutions {
    /// For `successful` (default `Done`).
    pub successful: String,
    /// For `successful_with_issues` (default `Done with issues`).
    pub successful_with_issues: String,
    /// For `unsuccessful` (default `Failed`).
    pub unsuccessful: String,
}

impl Default for CloseResolutions {
    fn default() -> Self {
        CloseResolutions {
            successful: "Done".into(),
            successful_with_issues: "Done with issues".into(),
            unsuccessful: "Failed".into(),
        }
    }
}

/// One specialist offering: a JSM request type owned by a team.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferingConfig {
    /// The request type id (also the offering id).
    pub request_type: String,
    /// The team whose queue receives the requests.
    pub team: TeamId,
    /// Target minutes to first response (default 240).
    #[serde(default = "default_response")]
    pub response_target_minutes: u32,
    /// Target minutes to fulfilment (default 2880).
    #[serde(default = "default_resolution_minutes")]
    pub resolution_target_minutes: u32,
}

/// Specialist requests: JSM request types of one service desk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialistConfig {
    /// The service desk id.
    pub service_desk_id: String,
    /// The project key of that service desk (JQL).
    pub project: String,
    /// The request types offered.
    pub offerings: Vec<OfferingConfig>,
    /// Status names per request state (see [`RequestStatuses`]).
    #[serde(default)]
    pub statuses: RequestStatuses,
}

/// The `[jira]` table: site, credentials, and the three record kinds.
///
/// Secrets (`api_token`, `bearer_token`, `webhook_secret`) are [`SecretString`]s: `Debug`
/// shows `[REDACTED]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// The site URL (`https://example.atlassian.net`).
    pub site_url: Url,
    /// The account email for basic auth with an API token.
    #[serde(default)]
    pub email: Option<String>,
    /// The API token (with `email`).
    #[serde(default, deserialize_with = "secret")]
    pub api_token: Option<SecretString>,
    /// An OAuth 2.0 access token or personal access token, instead of email + API token.
    #[serde(default, deserialize_with = "secret")]
    pub bearer_token: Option<SecretString>,
    /// The secret Jira signs webhooks with (`X-Hub-Signature`); unsigned deliveries are
    /// accepted only when this is unset.
    #[serde(default, deserialize_with = "secret")]
    pub webhook_secret: Option<SecretString>,
    /// How issues carry our idempotency key (default `label`).
    #[serde(default)]
    pub key_carrier: KeyCarrier,
    /// The prefix of key labels and of every label the adapter writes (default `itsm-`).
    #[serde(default = "default_label_prefix")]
    pub label_prefix: String,
    /// The issue property key that holds the key in `property` mode (default `itsm`).
    #[serde(default = "default_property")]
    pub key_property: String,
    /// Incidents (`[jira.incident]`); without it the adapter offers no incidents.
    #[serde(default)]
    pub incident: Option<IncidentConfig>,
    /// Changes (`[jira.change]`).
    #[serde(default)]
    pub change: Option<ChangeConfig>,
    /// Specialist requests (`[jira.specialist]`).
    #[serde(default)]
    pub specialist: Option<SpecialistConfig>,
    /// How long one HTTP attempt may take, in seconds (default 30; connecting takes at most
    /// 10 of them). A slower answer is a timeout, retried where the call is safe to repeat.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
}

impl fmt::Debug for JiraConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |s: &Option<SecretString>| s.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("JiraConfig")
            .field("site_url", &itsm_http::redact_url(&self.site_url))
            .field("email", &self.email)
            .field("api_token", &shown(&self.api_token))
            .field("bearer_token", &shown(&self.bearer_token))
            .field("webhook_secret", &shown(&self.webhook_secret))
            .field("key_carrier", &self.key_carrier)
            .field("label_prefix", &self.label_prefix)
            .field("key_property", &self.key_property)
            .field("incident", &self.incident)
            .field("change", &self.change)
            .field("specialist", &self.specialist)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

impl JiraConfig {
    /// A configuration for `site_url` with no credentials and no record kinds.
    pub fn new(site_url: Url) -> Self {
        JiraConfig {
            site_url,
            email: None,
            api_token: None,
            bearer_token: None,
            webhook_secret: None,
            key_carrier: KeyCarrier::Label,
            label_prefix: default_label_prefix(),
            key_property: default_property(),
            incident: None,
            change: None,
            specialist: None,
            timeout_seconds: default_timeout_seconds(),
        }
    }

    /// The HTTP timeouts of `timeout_seconds`.
    pub(crate) fn timeouts(&self) -> itsm_http::Timeouts {
        itsm_http::Timeouts::from_seconds(self.timeout_seconds)
    }

    /// Applies the `JIRA_*` environment variables over the file's values:
    /// `JIRA_SITE_URL`, `JIRA_EMAIL`, `JIRA_API_TOKEN`, `JIRA_BEARER_TOKEN`,
    /// `JIRA_WEBHOOK_SECRET`, `JIRA_INCIDENT_PROJECT`, `JIRA_CHANGE_PROJECT`,
    /// `JIRA_CHANGE_SERVICE_DESK_ID`, `JIRA_SPECIALIST_PROJECT`,
    /// `JIRA_SPECIALIST_SERVICE_DESK_ID`. Empty values are ignored.
    pub fn apply_env(&mut self) -> Result<()> {
        self.apply_vars(|name| std::env::var(name).ok())
    }

    /// [`apply_env`](Self::apply_env) with the variables read through `var` (for tests).
    pub fn apply_vars(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<()> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if let Some(url) = get("JIRA_SITE_URL") {
            self.site_url = Url::parse(url.trim()).map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("JIRA_SITE_URL is not a URL: {e}"),
                )
            })?;
        }
        if let Some(email) = get("JIRA_EMAIL") {
            self.email = Some(email);
        }
        if let Some(token) = get("JIRA_API_TOKEN") {
            self.api_token = Some(SecretString::from(token));
        }
        if let Some(token) = get("JIRA_BEARER_TOKEN") {
            self.bearer_token = Some(SecretString::from(token));
        }
        if let Some(secret) = get("JIRA_WEBHOOK_SECRET") {
            self.webhook_secret = Some(SecretString::from(secret));
        }
        if let (Some(p), Some(i)) = (get("JIRA_INCIDENT_PROJECT"), self.incident.as_mut()) {
            i.project = p;
        }
        if let Some(c) = self.change.as_mut() {
            if let Some(p) = get("JIRA_CHANGE_PROJECT") {
                c.project = p;
            }
            if let Some(d) = get("JIRA_CHANGE_SERVICE_DESK_ID") {
                c.service_desk_id = d;
            }
        }
        if let Some(s) = self.specialist.as_mut() {
            if let Some(p) = get("JIRA_SPECIALIST_PROJECT") {
                s.project = p;
            }
            if let Some(d) = get("JIRA_SPECIALIST_SERVICE_DESK_ID") {
                s.service_desk_id = d;
            }
        }
        Ok(())
    }

    /// Checks the configuration; the error says which setting is wrong and how to fix it.
    pub fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(Error::new(ErrorKind::Config, msg));
        if !matches!(self.site_url.scheme(), "http" | "https") {
            return fail("[jira] site_url must be an https URL of the site".into());
        }
        if self.timeout_seconds == 0 {
            return fail("[jira] timeout_seconds must be at least 1".into());
        }
        match (&self.email, &self.api_token, &self.bearer_token) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => {}
            (_, _, Some(_)) => {
                return fail(
                    "[jira] set either email + api_token or bearer_token, not both".into(),
                );
            }
            (None, Some(_), None) => {
                return fail("[jira] api_token needs email (JIRA_EMAIL) too".into());
            }
            (_, None, None) => {
                return fail(
                    "[jira] needs credentials: email + api_token (JIRA_EMAIL, JIRA_API_TOKEN) \
                     or bearer_token (JIRA_BEARER_TOKEN)"
                        .into(),
                );
            }
        }
        if self.label_prefix.is_empty() || self.label_prefix.contains(char::is_whitespace) {
            return fail("[jira] label_prefix must be non-empty and without spaces".into());
        }
        if self.incident.is_none() && self.change.is_none() && self.specialist.is_none() {
            return fail(
                "[jira] configures no record kind: add [jira.incident], [jira.change] or \
                 [jira.specialist]"
                    .into(),
            );
        }
        if let Some(i) = &self.incident {
            if i.project.trim().is_empty() {
                return fail("[jira.incident] project must not be empty".into());
            }
            if i.service_field != "components" && !i.service_field.starts_with("customfield_") {
                return fail(format!(
                    "[jira.incident] service_field {:?} must be `components` or a \
                     `customfield_<id>`",
                    i.service_field
                ));
            }
        }
        if let Some(c) = &self.change {
            if c.project.trim().is_empty() || c.service_desk_id.trim().is_empty() {
                return fail("[jira.change] project and service_desk_id must be set".into());
            }
            let mut ids = std::collections::BTreeSet::new();
            for t in &c.templates {
                if !ids.insert(t.id.as_str()) {
                    return fail(format!("[jira.change] template id {:?} is repeated", t.id));
                }
            }
        }
        if let Some(s) = &self.specialist
            && s.offerings.is_empty()
        {
            return fail(
                "[jira.specialist] needs at least one [[jira.specialist.offerings]]".into(),
            );
        }
        Ok(())
    }

    /// The credentials as itsm-http auth.
    pub(crate) fn auth(&self) -> itsm_http::Auth {
        use secrecy::ExposeSecret;
        match (&self.email, &self.api_token, &self.bearer_token) {
            (_, _, Some(token)) => itsm_http::Auth::Bearer(token.clone()),
            (Some(email), Some(token), None) => itsm_http::Auth::Basic {
                username: email.clone(),
                password: SecretString::from(token.expose_secret().to_owned()),
            },
            _ => itsm_http::Auth::None,
        }
    }
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<SecretString>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    Ok(text.filter(|t| !t.is_empty()).map(SecretString::from))
}

fn default_incident_type() -> String {
    "Incident".into()
}
fn default_service_field() -> String {
    "components".into()
}
fn default_priorities() -> [String; 5] {
    ["Highest", "High", "Medium", "Low", "Lowest"].map(String::from)
}
fn default_resolution() -> String {
    "Done".into()
}
fn default_timeout_seconds() -> u64 {
    30
}

fn default_label_prefix() -> String {
    "itsm-".into()
}
fn default_property() -> String {
    "itsm".into()
}
fn default_response() -> u32 {
    240
}
fn default_resolution_minutes() -> u32 {
    2880
}
