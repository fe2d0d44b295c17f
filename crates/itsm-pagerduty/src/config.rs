//! `[pagerduty]` in `itsm.toml`, with the `PAGERDUTY_*` environment overlay.

use std::collections::BTreeMap;
use std::fmt;

use itsm_core::{Error, ErrorKind, Result, ServiceId, TeamId};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

/// PagerDuty's REST API.
pub const DEFAULT_REST_URL: &str = "https://api.pagerduty.com/";
/// PagerDuty's Events API v2 (its spec's server URL).
pub const DEFAULT_EVENTS_URL: &str = "https://events.pagerduty.com/v2/";
/// Requests per minute per REST API key: PagerDuty's published per-token REST limit.
pub const DEFAULT_REST_PER_MINUTE: u32 = 960;
/// Events per minute per routing key: PagerDuty's published Events API v2 limit per
/// integration key.
pub const DEFAULT_EVENTS_PER_MINUTE: u32 = 120;

/// The PagerDuty adapter's settings: the `[pagerduty]` table of `itsm.toml`.
///
/// ```toml
/// [pagerduty]
/// # api_token = "..."           # better: PAGERDUTY_API_TOKEN
/// # routing_key = "..."         # better: PAGERDUTY_ROUTING_KEY
/// # webhook_secrets = ["..."]   # better: PAGERDUTY_WEBHOOK_SECRETS (comma-separated)
/// from_email = "itsm-bot@example.com"
/// default_service = "PIJ90N7"
/// default_escalation_policy = "PT20YPA"
/// incident_manager_escalation_policy = "PIM0001"
///
/// [pagerduty.teams]             # our team id -> PagerDuty escalation policy id
/// payments = "PEPPAY1"
///
/// [pagerduty.rate_limits]
/// rest_per_minute = 960
/// events_per_minute = 120
/// ```
///
/// Every field can also come from the environment (see [`apply_env`](Self::apply_env));
/// the environment wins. Secrets are [`SecretString`]s and `Debug` shows none of them.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// REST API key (`Authorization: Token token=...`). Without it the adapter is
    /// Events-only: trigger / acknowledge / resolve and change events.
    #[serde(default, deserialize_with = "secret")]
    pub api_token: Option<SecretString>,
    /// The default Events API v2 routing (integration) key.
    #[serde(default, deserialize_with = "secret")]
    pub routing_key: Option<SecretString>,
    /// Routing keys of particular services (our service id -> routing key).
    #[serde(default, deserialize_with = "secret_map")]
    pub routing_keys: BTreeMap<ServiceId, SecretString>,
    /// Webhooks v3 signing secrets; several while a secret is rotated.
    #[serde(default, deserialize_with = "secret_list")]
    pub webhook_secrets: Vec<SecretString>,
    /// The email of the PagerDuty user the integration acts as (`From` header on writes).
    #[serde(default)]
    pub from_email: Option<String>,
    /// REST base URL (default [`DEFAULT_REST_URL`]; a simulator's in tests).
    #[serde(default)]
    pub rest_url: Option<Url>,
    /// Events API base URL (default [`DEFAULT_EVENTS_URL`]).
    #[serde(default)]
    pub events_url: Option<Url>,
    /// The PagerDuty service incidents created over REST go to when none is given.
    #[serde(default)]
    pub default_service: Option<String>,
    /// The escalation policy incidents created over REST use when none is given.
    #[serde(default)]
    pub default_escalation_policy: Option<String>,
    /// The escalation policy that pages the incident manager (I5).
    #[serde(default)]
    pub incident_manager_escalation_policy: Option<String>,
    /// Our team ids and the escalation policy that pages each team.
    #[serde(default)]
    pub teams: BTreeMap<TeamId, String>,
    /// How often to look the incident up after a trigger event (the Events API creates it
    /// asynchronously); 0 skips the lookup and returns the page without an id.
    #[serde(default = "default_lookup_attempts")]
    pub trigger_lookup_attempts: u32,
    /// Client-side rate limits.
    #[serde(default)]
    pub rate_limits: RateLimits,
    /// How long one HTTP attempt may take, in seconds (default 30; connecting takes at most
    /// 10 of them). A slower answer is a timeout, retried like a 5xx.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
}

/// Client-side rate limits, under PagerDuty's published limits by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// REST requests per minute for the API key (default [`DEFAULT_REST_PER_MINUTE`]).
    #[serde(default = "default_rest_per_minute")]
    pub rest_per_minute: u32,
    /// Events per minute per routing key (default [`DEFAULT_EVENTS_PER_MINUTE`]).
    #[serde(default = "default_events_per_minute")]
    pub events_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            rest_per_minute: DEFAULT_REST_PER_MINUTE,
            events_per_minute: DEFAULT_EVENTS_PER_MINUTE,
        }
    }
}

impl PagerDutyConfig {
    /// The HTTP timeouts of `timeout_seconds`.
    pub(crate) fn timeouts(&self) -> itsm_http::Timeouts {
        itsm_http::Timeouts::from_seconds(self.timeout_seconds)
    }
}

impl Default for PagerDutyConfig {
    /// What an empty `[pagerduty]` table reads as.
    fn default() -> Self {
        PagerDutyConfig {
            api_token: None,
            routing_key: None,
            routing_keys: BTreeMap::new(),
            webhook_secrets: Vec::new(),
            from_email: None,
            rest_url: None,
            events_url: None,
            default_service: None,
            default_escalation_policy: None,
            incident_manager_escalation_policy: None,
            teams: BTreeMap::new(),
            trigger_lookup_attempts: default_lookup_attempts(),
            rate_limits: RateLimits::default(),
            timeout_seconds: default_timeout_seconds(),
        }
    }
}

fn default_timeout_seconds() -> u64 {
    30
}

fn default_lookup_attempts() -> u32 {
    3
}
fn default_rest_per_minute() -> u32 {
    DEFAULT_REST_PER_MINUTE
}
fn default_events_per_minute() -> u32 {
    DEFAULT_EVENTS_PER_MINUTE
}

impl PagerDutyConfig {
    /// Overlays `PAGERDUTY_*` variables from the process environment
    /// (see [`apply_env`](Self::apply_env)).
    pub fn with_process_env(mut self) -> Result<Self> {
        self.apply_env(|name| std::env::var(name).ok())?;
        Ok(self)
    }

    /// Overlays variables read through `var` (empty values are ignored):
    ///
    /// | variable | field |
    /// |---|---|
    /// | `PAGERDUTY_API_TOKEN` | `api_token` |
    /// | `PAGERDUTY_ROUTING_KEY` | `routing_key` |
    /// | `PAGERDUTY_WEBHOOK_SECRETS` | `webhook_secrets` (comma-separated) |
    /// | `PAGERDUTY_FROM_EMAIL` | `from_email` |
    /// | `PAGERDUTY_REST_URL` | `rest_url` |
    /// | `PAGERDUTY_EVENTS_URL` | `events_url` |
    /// | `PAGERDUTY_DEFAULT_SERVICE` | `default_service` |
    /// | `PAGERDUTY_DEFAULT_ESCALATION_POLICY` | `default_escalation_policy` |
    /// | `PAGERDUTY_INCIDENT_MANAGER_ESCALATION_POLICY` | `incident_manager_escalation_policy` |
    /// | `PAGERDUTY_REST_PER_MINUTE` | `rate_limits.rest_per_minute` |
    /// | `PAGERDUTY_EVENTS_PER_MINUTE` | `rate_limits.events_per_minute` |
    ///
    /// Fails with [`ErrorKind::Config`] for a URL or number that does not parse (the
    /// error names the variable, never its value when it is a secret).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<()> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("PAGERDUTY_API_TOKEN") {
            self.api_token = Some(SecretString::from(v));
        }
        if let Some(v) = get("PAGERDUTY_ROUTING_KEY") {
            self.routing_key = Some(SecretString::from(v));
        }
        if let Some(v) = get("PAGERDUTY_WEBHOOK_SECRETS") {
            self.webhook_secrets = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_owned()))
                .collect();
        }
        if let Some(v) = get("PAGERDUTY_FROM_EMAIL") {
            self.from_email = Some(v.trim().to_owned());
        }
        for (name, slot) in [
            ("PAGERDUTY_REST_URL", &mut self.rest_url),
            ("PAGERDUTY_EVENTS_URL", &mut self.events_url),
        ] {
            if let Some(v) = get(name) {
                let url = Url::parse(v.trim()).map_err(|e| {
                    Error::new(ErrorKind::Config, format!("{name} is not a URL: {e}"))
                })?;
                *slot = Some(url);
            }
        }
        for (name, slot) in [
            ("PAGERDUTY_DEFAULT_SERVICE", &mut self.default_service),
            (
                "PAGERDUTY_DEFAULT_ESCALATION_POLICY",
                &mut self.default_escalation_policy,
            ),
            (
                "PAGERDUTY_INCIDENT_MANAGER_ESCALATION_POLICY",
                &mut self.incident_manager_escalation_policy,
            ),
        ] {
            if let Some(v) = get(name) {
                *slot = Some(v.trim().to_owned());
            }
        }
        for (name, slot) in [
            (
                "PAGERDUTY_REST_PER_MINUTE",
                &mut self.rate_limits.rest_per_minute,
            ),
            (
                "PAGERDUTY_EVENTS_PER_MINUTE",
                &mut self.rate_limits.events_per_minute,
            ),
        ] {
            if let Some(v) = get(name) {
                *slot = v.trim().parse().map_err(|_| {
                    Error::new(
                        ErrorKind::Config,
                        format!("{name} must be a whole number of requests per minute"),
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Checks the settings hang together; every error says what to set.
    pub fn validate(&self) -> Result<()> {
        let config = |msg: String| Err(Error::new(ErrorKind::Config, msg));
        if self.timeout_seconds == 0 {
            return config("[pagerduty] timeout_seconds must be at least 1".into());
        }
        let blank = |s: &SecretString| s.expose_secret().trim().is_empty();
        if self.api_token.is_none() && self.routing_key.is_none() && self.routing_keys.is_empty() {
            return config(
                "[pagerduty] needs an API token (PAGERDUTY_API_TOKEN) for the REST API, \
                 a routing key (PAGERDUTY_ROUTING_KEY) for the Events API, or both"
                    .into(),
            );
        }
        if self.api_token.as_ref().is_some_and(blank)
            || self.routing_key.as_ref().is_some_and(blank)
        {
            return config("[pagerduty] api_token and routing_key must not be blank".into());
        }
        if let Some((service, _)) = self.routing_keys.iter().find(|(_, k)| blank(k)) {
            return config(format!(
                "[pagerduty.routing_keys] the routing key of service {service} is blank"
            ));
        }
        if self.webhook_secrets.iter().any(blank) {
            return config("[pagerduty] webhook_secrets must not contain a blank secret".into());
        }
        if self.api_token.is_some() {
            match self.from_email.as_deref().map(str::trim) {
                None | Some("") => {
                    return config(
                        "[pagerduty] from_email (PAGERDUTY_FROM_EMAIL) is required with an API \
                         token: PagerDuty REST writes need the `From` header naming a user"
                            .into(),
                    );
                }
                Some(email) if !looks_like_email(email) => {
                    return config(format!(
                        "[pagerduty] from_email {email:?} is not an email address"
                    ));
                }
                Some(_) => {}
            }
        }
        for (name, url) in [
            ("rest_url", &self.rest_url),
            ("events_url", &self.events_url),
        ] {
            if let Some(url) = url
                && !matches!(url.scheme(), "http" | "https")
            {
                return config(format!(
                    "[pagerduty] {name} must be an http or https URL, not {}",
                    itsm_http::redact_url(url)
                ));
            }
        }
        if self.rate_limits.rest_per_minute == 0 || self.rate_limits.events_per_minute == 0 {
            return config(
                "[pagerduty.rate_limits] rest_per_minute and events_per_minute must be at least 1"
                    .into(),
            );
        }
        for (team, policy) in &self.teams {
            if policy.trim().is_empty() {
                return config(format!(
                    "[pagerduty.teams] team {team} has an empty escalation policy id"
                ));
            }
        }
        Ok(())
    }

    /// The REST base URL in use.
    pub fn rest_base(&self) -> Url {
        self.rest_url
            .clone()
            .unwrap_or_else(|| Url::parse(DEFAULT_REST_URL).expect("a valid constant URL"))
    }

    /// The Events API base URL in use.
    pub fn events_base(&self) -> Url {
        self.events_url
            .clone()
            .unwrap_or_else(|| Url::parse(DEFAULT_EVENTS_URL).expect("a valid constant URL"))
    }

    /// The escalation policy configured for `team`.
    pub fn team_policy(&self, team: &TeamId) -> Option<&str> {
        self.teams.get(team).map(String::as_str)
    }

    /// Our team whose configured escalation policy is `policy_id`.
    pub fn team_of_policy(&self, policy_id: &str) -> Option<&TeamId> {
        self.teams
            .iter()
            .find(|(_, p)| p.as_str() == policy_id)
            .map(|(t, _)| t)
    }
}

fn looks_like_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

impl fmt::Debug for PagerDutyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |s: &Option<SecretString>| s.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("PagerDutyConfig")
            .field("api_token", &shown(&self.api_token))
            .field("routing_key", &shown(&self.routing_key))
            .field(
                "routing_keys",
                &self.routing_keys.keys().collect::<Vec<_>>(),
            )
            .field("webhook_secrets", &self.webhook_secrets.len())
            .field("from_email", &self.from_email)
            .field(
                "rest_url",
                &self.rest_url.as_ref().map(itsm_http::redact_url),
            )
            .field(
                "events_url",
                &self.events_url.as_ref().map(itsm_http::redact_url),
            )
            .field("default_service", &self.default_service)
            .field("default_escalation_policy", &self.default_escalation_policy)
            .field(
                "incident_manager_escalation_policy",
                &self.incident_manager_escalation_policy,
            )
            .field("teams", &self.teams)
            .field("trigger_lookup_attempts", &self.trigger_lookup_attempts)
            .field("rate_limits", &self.rate_limits)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.filter(|t| !t.is_empty()).map(SecretString::from))
}

fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    let list: Vec<String> = Vec::deserialize(d)?;
    Ok(list.into_iter().map(SecretString::from).collect())
}

fn secret_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<ServiceId, SecretString>, D::Error> {
    let map: BTreeMap<ServiceId, String> = BTreeMap::deserialize(d)?;
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, SecretString::from(v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "u+TOKENvalue-s3cr3t";
    const ROUTING: &str = "R0UTINGkeyS3CRET0000000000000000";
    const WHSEC: &str = "whsec-SIGNING-s3cr3t";

    #[test]
    fn default_is_what_an_empty_table_reads_as() {
        let empty: PagerDutyConfig = toml::from_str("").unwrap();
        let default = PagerDutyConfig::default();
        assert_eq!(
            default.trigger_lookup_attempts,
            empty.trigger_lookup_attempts
        );
        assert_eq!(default.trigger_lookup_attempts, 3);
        assert_eq!(default.rate_limits, empty.rate_limits);
    }

    fn full() -> PagerDutyConfig {
        toml::from_str(&format!(
            r#"
            api_token = "{TOKEN}"
            routing_key = "{ROUTING}"
            webhook_secrets = ["{WHSEC}", "whsec-second"]
            from_email = "itsm-bot@example.com"
            rest_url = "http://127.0.0.1:9/"
            default_service = "PIJ90N7"
            incident_manager_escalation_policy = "PIM0001"
            [routing_keys]
            checkout = "checkout-ROUTING-s3cr3t"
            [teams]
            payments = "PEPPAY1"
            [rate_limits]
            rest_per_minute = 600
            "#
        ))
        .unwrap()
    }

    #[test]
    fn toml_table_is_read_with_defaults() {
        let c = full();
        assert_eq!(c.api_token.as_ref().unwrap().expose_secret(), TOKEN);
        assert_eq!(c.webhook_secrets.len(), 2);
        assert_eq!(c.rest_base().as_str(), "http://127.0.0.1:9/");
        assert_eq!(c.events_base().as_str(), DEFAULT_EVENTS_URL);
        assert_eq!(c.rate_limits.rest_per_minute, 600);
        assert_eq!(c.rate_limits.events_per_minute, DEFAULT_EVENTS_PER_MINUTE);
        assert_eq!(c.trigger_lookup_attempts, 3);
        let payments = TeamId::new("payments").unwrap();
        assert_eq!(c.team_policy(&payments), Some("PEPPAY1"));
        assert_eq!(c.team_of_policy("PEPPAY1"), Some(&payments));
        c.validate().unwrap();
        let unknown = toml::from_str::<PagerDutyConfig>("api_tokn = \"x\"").err();
        assert!(unknown.is_some_and(|e| e.to_string().contains("api_tokn")));
    }

    #[test]
    fn environment_overlays_the_file() {
        let mut c = full();
        let env = BTreeMap::from([
            ("PAGERDUTY_API_TOKEN", "env-token"),
            ("PAGERDUTY_WEBHOOK_SECRETS", " a , b,,c "),
            ("PAGERDUTY_FROM_EMAIL", "ops@example.com"),
            ("PAGERDUTY_EVENTS_URL", "http://127.0.0.1:8/v2/"),
            ("PAGERDUTY_EVENTS_PER_MINUTE", "60"),
            ("PAGERDUTY_DEFAULT_ESCALATION_POLICY", "PDEF001"),
            ("PAGERDUTY_ROUTING_KEY", ""),
        ]);
        c.apply_env(|n| env.get(n).map(|v| (*v).to_owned()))
            .unwrap();
        assert_eq!(c.api_token.as_ref().unwrap().expose_secret(), "env-token");
        let secrets: Vec<_> = c
            .webhook_secrets
            .iter()
            .map(|s| s.expose_secret())
            .collect();
        assert_eq!(secrets, ["a", "b", "c"]);
        assert_eq!(c.from_email.as_deref(), Some("ops@example.com"));
        assert_eq!(c.events_base().as_str(), "http://127.0.0.1:8/v2/");
        assert_eq!(c.rate_limits.events_per_minute, 60);
        assert_eq!(c.default_escalation_policy.as_deref(), Some("PDEF001"));
        // Empty variables leave the file's value.
        assert_eq!(c.routing_key.as_ref().unwrap().expose_secret(), ROUTING);

        let err = c
            .apply_env(|n| (n == "PAGERDUTY_REST_PER_MINUTE").then(|| "lots".to_owned()))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.to_string().contains("PAGERDUTY_REST_PER_MINUTE"),
            "{err}"
        );
    }

    #[test]
    fn timeout_seconds_defaults_to_30_sets_the_timeouts_and_zero_is_refused() {
        let mut c = full();
        assert_eq!(c.timeout_seconds, 30);
        assert_eq!(
            (
                c.timeouts().connect.as_secs(),
                c.timeouts().request.as_secs()
            ),
            (10, 30)
        );
        c.timeout_seconds = 4;
        assert_eq!(
            (
                c.timeouts().connect.as_secs(),
                c.timeouts().request.as_secs()
            ),
            (4, 4)
        );
        c.timeout_seconds = 0;
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("timeout_seconds"), "{err}");
    }

    #[test]
    fn validate_says_what_to_set() {
        let err = PagerDutyConfig::default().validate().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("PAGERDUTY_ROUTING_KEY"), "{err}");

        let mut c = full();
        c.from_email = None;
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("PAGERDUTY_FROM_EMAIL"), "{err}");
        c.from_email = Some("not-an-email".into());
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("not an email")
        );

        let mut c = full();
        c.rate_limits.events_per_minute = 0;
        assert!(c.validate().unwrap_err().to_string().contains("at least 1"));

        let mut c = full();
        c.rest_url = Some(Url::parse("ftp://h/").unwrap());
        assert!(c.validate().unwrap_err().to_string().contains("rest_url"));

        // Events-only: a routing key and nothing else is enough.
        let events_only = PagerDutyConfig {
            routing_key: Some(SecretString::from("rk")),
            ..Default::default()
        };
        events_only.validate().unwrap();
    }

    #[test]
    fn debug_and_errors_show_no_secret() {
        let c = full();
        let shown = format!("{c:?}");
        for secret in [TOKEN, ROUTING, WHSEC, "checkout-ROUTING-s3cr3t"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("[REDACTED]"), "{shown}");
        assert!(shown.contains("checkout"), "{shown}");
        let mut bad = c.clone();
        bad.from_email = Some("nope".into());
        let err = bad.validate().unwrap_err();
        let text = format!("{err} {err:?}");
        for secret in [TOKEN, ROUTING, WHSEC] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}
