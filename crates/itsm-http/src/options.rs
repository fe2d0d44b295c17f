//! Client options and their builder.

use std::fmt;
use std::time::Duration;

use itsm_core::{Error, ErrorKind, Result};
use url::Url;

use crate::auth::Auth;
use crate::client::HttpClient;
use crate::rate_limit::RateLimit;
use crate::redact::redact_url;
use crate::retry::RetryPolicy;

/// The user agent sent when none is configured: `itsm-rs/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("itsm-rs/", env!("CARGO_PKG_VERSION"));

/// How long to wait for a connection and for a whole attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Time to establish the TCP (and TLS) connection.
    pub connect: Duration,
    /// Time for one whole attempt, from sending the request to the end of the body.
    pub request: Duration,
}

impl Timeouts {
    /// `seconds` per attempt (at least 1), of which connecting may take at most 10: what a
    /// vendor table's `timeout_seconds` means.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = itsm_http::Timeouts::from_seconds(4);
    /// assert_eq!((t.connect, t.request), (Duration::from_secs(4), Duration::from_secs(4)));
    /// let t = itsm_http::Timeouts::from_seconds(30);
    /// assert_eq!(t.connect, Duration::from_secs(10));
    /// ```
    pub fn from_seconds(seconds: u64) -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(seconds.clamp(1, 10)),
            request: Duration::from_secs(seconds.max(1)),
        }
    }
}

impl Default for Timeouts {
    /// 10 s to connect, 30 s per attempt.
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
        }
    }
}

/// Everything a [`HttpClient`] is built from. `Debug` never shows credentials.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Where relative request paths are resolved; the path is kept
    /// (`https://site.atlassian.net/jira/` + `rest/api/3/issue`).
    pub base_url: Url,
    /// The credentials sent with every request.
    pub auth: Auth,
    /// Connect and per-attempt timeouts.
    pub timeouts: Timeouts,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Retries of failed attempts.
    pub retry: RetryPolicy,
    /// A client-side limit per rate-limit key, if any.
    pub rate_limit: Option<RateLimit>,
    /// Whether URL paths carry a credential (chat webhooks such as
    /// `https://hooks.slack.com/services/T000/B000/XXXX`): then no path appears in traces or
    /// error text, only the scheme and host.
    pub secret_paths: bool,
}

impl ClientOptions {
    /// Defaults for `base_url`: no auth, default timeouts, retries and user agent, no rate limit.
    pub fn new(base_url: Url) -> Self {
        ClientOptions {
            base_url,
            auth: Auth::None,
            timeouts: Timeouts::default(),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            retry: RetryPolicy::default(),
            rate_limit: None,
            secret_paths: false,
        }
    }

    /// The base URL made ready for joining: `http`/`https` only, no credentials, query or
    /// fragment, and a trailing `/` so that its last segment is kept.
    pub(crate) fn normalized_base(&self) -> Result<Url> {
        let url = &self.base_url;
        let fail = |why: &str| {
            Error::new(
                ErrorKind::Config,
                format!("base URL {}: {why}", redact_url(url)),
            )
        };
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(fail("must be an http or https URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(fail("has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail("must not contain credentials; use Auth instead"));
        }
        if url.query().is_some() {
            return Err(fail("must not have a query"));
        }
        let mut base = url.clone();
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(base)
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("base_url", &redact_url(&self.base_url))
            .field("auth", &self.auth)
            .field("timeouts", &self.timeouts)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("secret_paths", &self.secret_paths)
            .finish()
    }
}

/// Builds a [`HttpClient`]; start with [`HttpClient::builder`].
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    options: ClientOptions,
}

impl HttpClientBuilder {
    pub(crate) fn new(base_url: Url) -> Self {
        HttpClientBuilder {
            options: ClientOptions::new(base_url),
        }
    }

    /// Sets the credentials.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.options.auth = auth;
        self
    }

    /// Sets the retry policy ([`RetryPolicy::none`] to disable retries).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.options.retry = retry;
        self
    }

    /// Sets the connect and per-attempt timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.options.timeouts = timeouts;
        self
    }

    /// Sets the `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.options.user_agent = user_agent.into();
        self
    }

    /// Limits requests per rate-limit key on the client side.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.options.rate_limit = Some(limit);
        self
    }

    /// Treats every URL path as a secret (a chat webhook whose path is its token): traces
    /// and error text then show only the scheme and host.
    pub fn secret_paths(mut self) -> Self {
        self.options.secret_paths = true;
        self
    }

    /// The options gathered so far.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Builds the client; fails with [`ErrorKind::Config`] for an unusable base URL, user agent
    /// or credentials.
    pub fn build(self) -> Result<HttpClient> {
        HttpClient::new(self.options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> Result<Url> {
        ClientOptions::new(Url::parse(s).unwrap()).normalized_base()
    }

    #[test]
    fn base_path_gets_a_trailing_slash() {
        assert_eq!(
            base("https://x.service-now.com").unwrap().as_str(),
            "https://x.service-now.com/"
        );
        assert_eq!(
            base("https://site.atlassian.net/jira").unwrap().as_str(),
            "https://site.atlassian.net/jira/"
        );
        assert_eq!(
            base("https://site.atlassian.net/jira/#x").unwrap().as_str(),
            "https://site.atlassian.net/jira/"
        );
    }

    #[test]
    fn unusable_base_urls_are_config_errors_without_secrets() {
        for bad in [
            "ftp://h/",
            "mailto:bob@example.com",
            "https://bob:s3cr3t@h/",
            "https://h/?api_key=s3cr3t",
        ] {
            let err = base(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
    }

    #[test]
    fn default_user_agent_names_the_version() {
        assert_eq!(
            DEFAULT_USER_AGENT,
            format!("itsm-rs/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
