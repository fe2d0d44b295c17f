//! What the adapter needs to reach a Tickety site.

use std::fmt;
use std::time::Duration;

use itsm_core::{Error, ErrorKind, Result};
use itsm_http::{RetryPolicy, Timeouts, redact_url};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Where Tickety is and how to sign in.
///
/// The token is a [`SecretString`] and `Debug` prints `[REDACTED]` in its place, so a
/// configuration can be logged.
///
/// ```
/// use custom_adapter::adapter::TicketyConfig;
///
/// let config = TicketyConfig::new("https://tickety.example/".parse().unwrap(), "s3cr3t-token");
/// assert!(!format!("{config:?}").contains("s3cr3t-token"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct TicketyConfig {
    /// The site, such as `https://acme.tickety.example/`; API paths are joined to it.
    pub base_url: Url,
    /// The API token, sent as `Authorization: Bearer <token>`.
    pub token: SecretString,
    /// How failed requests are retried (see [`TicketyConfig::new`] for the default).
    pub retry: RetryPolicy,
    /// Connect and per-attempt timeouts.
    pub timeouts: Timeouts,
}

impl TicketyConfig {
    /// The site at `base_url` with `token`, retrying up to 4 attempts within 30 s, and
    /// itsm-http's default timeouts.
    pub fn new(base_url: Url, token: impl Into<String>) -> Self {
        TicketyConfig {
            base_url,
            token: SecretString::from(token.into()),
            retry: RetryPolicy::new(4, Duration::from_secs(30)),
            timeouts: Timeouts::default(),
        }
    }

    /// The same configuration with another retry policy (tests use a quick one).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Checks what itsm-http does not: a token is set.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.token.expose_secret().trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                "the Tickety API token is empty; create one under Settings > API tokens in \
                 Tickety and pass it to TicketyConfig::new",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for TicketyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketyConfig")
            .field("base_url", &redact_url(&self.base_url))
            .field("token", &"[REDACTED]")
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_token_is_a_config_error() {
        let config = TicketyConfig::new("http://127.0.0.1:1/".parse().unwrap(), "  ");
        let err = config.validate().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("API token is empty"), "{err}");
    }

    #[test]
    fn debug_shows_where_but_not_the_token() {
        let config = TicketyConfig::new("http://127.0.0.1:1/".parse().unwrap(), "tok-123456");
        let text = format!("{config:?}");
        assert!(text.contains("127.0.0.1:1"), "{text}");
        assert!(text.contains("[REDACTED]"), "{text}");
        assert!(!text.contains("tok-123456"), "{text}");
    }
}
