//! The client: resolves paths, sends with retries and rate limiting, maps failures.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use itsm_core::{Error, ErrorKind, Result};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use crate::options::{ClientOptions, HttpClientBuilder};
use crate::rate_limit::RateLimiter;
use crate::redact::{REDACTED, redact_url};
use crate::request::{Request, Response};
use crate::retry::server_wait;
use crate::status::{error_for_status, error_for_transport, never_sent};

/// Most redirects followed for one attempt (only ever to the base URL's origin).
const MAX_REDIRECTS: usize = 5;

/// An HTTP client for one vendor endpoint, shared by an adapter.
///
/// Cheap to clone (clones share connections and rate-limit buckets), `Send + Sync`, and its
/// `Debug` output shows no credentials. See the [crate docs](crate) for an example.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    options: ClientOptions,
    base: Url,
    limiter: Option<RateLimiter>,
}

/// What one attempt produced.
enum Attempt {
    Answer(Response),
    Failed(reqwest::Error),
}

impl HttpClient {
    /// Starts building a client for `base_url`.
    pub fn builder(base_url: Url) -> HttpClientBuilder {
        HttpClientBuilder::new(base_url)
    }

    /// Builds a client from options; fails with [`ErrorKind::Config`] for an unusable base
    /// URL, user agent or credentials.
    pub fn new(options: ClientOptions) -> Result<Self> {
        let base = options.normalized_base()?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some((name, value)) = options.auth.to_header()? {
            headers.insert(name, value);
        }
        let user_agent = HeaderValue::from_str(&options.user_agent).map_err(|_| {
            Error::new(
                ErrorKind::Config,
                "the user agent is not a valid header value",
            )
        })?;
        let origin = base.origin();
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if attempt.url().origin() == origin {
                attempt.follow()
            } else {
                // Never carry credentials to another origin: hand the 3xx back instead.
                attempt.stop()
            }
        });
        let http = reqwest::Client::builder()
            .connect_timeout(options.timeouts.connect)
            .timeout(options.timeouts.request)
            .user_agent(user_agent)
            .default_headers(headers)
            .redirect(redirect)
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Config, "could not build the HTTP client")
                    .with_source(e.without_url())
            })?;
        let limiter = options.rate_limit.map(RateLimiter::new);
        Ok(HttpClient {
            inner: Arc::new(Inner {
                http,
                options,
                base,
                limiter,
            }),
        })
    }

    /// The options the client was built from.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// The base URL, with the trailing `/` that keeps its path when joining.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The URL a request would be sent to (base URL + path + query).
    ///
    /// Fails with [`ErrorKind::InvalidInput`] for a path that is not a valid URL reference or
    /// an absolute URL on another origin.
    pub fn url_for(&self, req: &Request) -> Result<Url> {
        let base = &self.inner.base;
        let mut url = match Url::parse(&req.path) {
            Ok(absolute) => {
                if absolute.origin() != base.origin() {
                    return Err(Error::invalid_input(format!(
                        "{} is not on the origin of the base URL {}",
                        redact_url(&absolute),
                        redact_url(base)
                    )));
                }
                absolute
            }
            Err(_) => base.join(req.path.trim_start_matches('/')).map_err(|e| {
                Error::invalid_input(format!("request path is not a valid URL path: {e}"))
            })?,
        };
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        Ok(url)
    }

    /// Sends `req`, retrying as the [`RetryPolicy`](crate::RetryPolicy) allows, and fails for
    /// any non-2xx answer with the [status mapping](crate::error_for_status).
    ///
    /// Every error carries the context `attempts`. An error is marked not retryable when
    /// repeating the request could act twice (a non-idempotent request that timed out or got
    /// 500/502/504).
    pub async fn send(&self, req: Request) -> Result<Response> {
        self.execute(&req, true).await
    }

    /// Like [`send`](Self::send), but hands back the final answer whatever its status (after
    /// the same retries), for adapters that read vendor error bodies themselves. Transport
    /// failures are still errors.
    pub async fn send_raw(&self, req: Request) -> Result<Response> {
        self.execute(&req, false).await
    }

    /// Sends `req` and decodes the 2xx JSON answer as `T`
    /// ([`ErrorKind::InvalidResponse`] if it does not decode).
    pub async fn send_json<T: DeserializeOwned>(&self, req: Request) -> Result<T> {
        self.send(req).await?.json()
    }

    /// `url` as it may appear in error text: [redacted](redact_url), and without its path
    /// when paths are secret.
    fn shown_url(&self, url: &Url) -> String {
        if self.inner.options.secret_paths {
            let mut origin = url.clone();
            origin.set_path("/");
            origin.set_query(None);
            format!("{}{REDACTED}", redact_url(&origin))
        } else {
            redact_url(url)
        }
    }

    async fn execute(&self, req: &Request, map_status: bool) -> Result<Response> {
        let url = self.url_for(req)?;
        let span = tracing::info_span!(
            "itsm_http.send",
            method = req.method.as_str(),
            host = url.host_str().unwrap_or_default(),
            path = if self.inner.options.secret_paths {
                REDACTED
            } else {
                url.path()
            },
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        self.execute_in_span(req, url, map_status, span.clone())
            .instrument(span)
            .await
    }

    async fn execute_in_span(
        &self,
        req: &Request,
        url: Url,
        map_status: bool,
        span: tracing::Span,
    ) -> Result<Response> {
        let inner = &*self.inner;
        let policy = &inner.options.retry;
        let idempotent = req.is_idempotent();
        let template = self.build_request(req, url.clone())?;
        let mut template = Some(template);
        let start = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let last_allowed = attempt >= policy.max_attempts();
            if let Some(limiter) = &inner.limiter {
                limiter
                    .acquire(req.rate_limit_key.as_deref().unwrap_or_default())
                    .await;
            }
            let request = match (&template, last_allowed) {
                (Some(t), false) => t.try_clone(),
                _ => None,
            }
            .or_else(|| template.take())
            .ok_or_else(|| Error::new(ErrorKind::Internal, "request body cannot be replayed"))?;
            let outcome = self.attempt(request).await;
            span.record("attempts", attempt);
            let outcome = match outcome {
                Attempt::Answer(mut resp) if resp.is_success() => {
                    span.record("status", resp.status);
                    resp.attempts = attempt;
                    return Ok(resp);
                }
                other => other,
            };

            // Decide: done, or retry after how long.
            let (retry, server_asked) = match &outcome {
                Attempt::Answer(resp) => {
                    span.record("status", resp.status);
                    let retry = match resp.status {
                        429 | 503 => true,
                        500 | 502 | 504 => idempotent,
                        _ => false,
                    };
                    let wait = if retry {
                        server_wait(resp.status, &resp.headers, SystemTime::now())
                    } else {
                        None
                    };
                    (retry, wait)
                }
                // A connection that could not be made never carried the request: safe to
                // repeat whatever the method. A request that could not be built never will be.
                Attempt::Failed(e) => (!e.is_builder() && (never_sent(e) || idempotent), None),
            };
            let delay = server_asked.unwrap_or_else(|| policy.backoff(attempt - 1));
            let out_of_budget = start.elapsed() + delay > policy.max_elapsed();
            if !retry || last_allowed || out_of_budget {
                return self.give_up(outcome, req, &url, attempt, server_asked, map_status);
            }
            tracing::debug!(
                attempt,
                delay_ms = delay.as_millis() as u64,
                server_asked = server_asked.is_some(),
                "retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The final result once no further attempt will be made.
    fn give_up(
        &self,
        outcome: Attempt,
        req: &Request,
        url: &Url,
        attempts: u32,
        server_asked: Option<std::time::Duration>,
        map_status: bool,
    ) -> Result<Response> {
        let method = req.method.as_str();
        let idempotent = req.is_idempotent();
        let redacted_url = &self.shown_url(url);
        let err = match outcome {
            Attempt::Answer(mut resp) => {
                resp.attempts = attempts;
                if !map_status {
                    return Ok(resp);
                }
                let err =
                    error_for_status(resp.status, method, redacted_url, &resp.body, server_asked);
                if !idempotent && matches!(resp.status, 500 | 502 | 504) {
                    err.with_retryable(false)
                } else {
                    err
                }
            }
            Attempt::Failed(e) => {
                let may_have_arrived = !never_sent(&e);
                let err = error_for_transport(e, method, redacted_url);
                if !idempotent && may_have_arrived {
                    err.with_retryable(false)
                } else {
                    err
                }
            }
        };
        let err = err.with_context("attempts", attempts);
        tracing::debug!(kind = ?err.kind(), attempts, "request failed");
        Err(err)
    }

    /// Builds the request once; each attempt sends a cheap clone of it.
    fn build_request(&self, req: &Request, url: Url) -> Result<reqwest::Request> {
        if let Some(why) = &req.body_error {
            return Err(Error::invalid_input(format!(
                "the request body cannot be serialised as JSON: {why}"
            )));
        }
        let mut request = reqwest::Request::new(req.method.to_reqwest(), url);
        let headers = request.headers_mut();
        if let Some(content_type) = req.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        for (name, value) in &req.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::invalid_input("request header name is not valid")
                    .with_context("header", name)
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::invalid_input("request header value is not valid")
                    .with_context("header", &name)
            })?;
            headers.insert(name, value);
        }
        if let Some(body) = &req.body {
            *request.body_mut() = Some(body.clone().into());
        }
        if let Some(timeout) = req.timeout {
            *request.timeout_mut() = Some(timeout);
        }
        Ok(request)
    }

    async fn attempt(&self, request: reqwest::Request) -> Attempt {
        let mut resp = match self.inner.http.execute(request).await {
            Ok(resp) => resp,
            Err(e) => return Attempt::Failed(e),
        };
        let status = resp.status().as_u16();
        let headers = std::mem::take(resp.headers_mut());
        match resp.bytes().await {
            Ok(body) => Attempt::Answer(Response {
                status,
                headers,
                body,
                attempts: 0,
            }),
            Err(e) => Attempt::Failed(e),
        }
    }
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.inner.options;
        f.debug_struct("HttpClient")
            .field("base_url", &redact_url(&self.inner.base))
            .field("auth", &o.auth)
            .field("timeouts", &o.timeouts)
            .field("user_agent", &o.user_agent)
            .field("retry", &o.retry)
            .field("rate_limit", &o.rate_limit)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_impl_all!(HttpClient: Send, Sync, Clone, fmt::Debug);
    static_assertions::assert_impl_all!(Request: Send, Sync, Clone);
    static_assertions::assert_impl_all!(Response: Send, Sync, Clone);

    fn client(base: &str) -> HttpClient {
        HttpClient::builder(Url::parse(base).unwrap())
            .build()
            .unwrap()
    }

    #[test]
    fn paths_join_under_the_base_path() {
        let jira = client("https://site.atlassian.net/jira");
        for path in ["rest/api/3/issue", "/rest/api/3/issue"] {
            assert_eq!(
                jira.url_for(&Request::get(path)).unwrap().as_str(),
                "https://site.atlassian.net/jira/rest/api/3/issue"
            );
        }
        let snow = client("https://x.service-now.com/");
        let url = snow
            .url_for(&Request::get("api/now/table/change_request").query(&[
                ("sysparm_query", "number=CHG0001&active=true"),
                ("sysparm_limit", "1"),
            ]))
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://x.service-now.com/api/now/table/change_request\
             ?sysparm_query=number%3DCHG0001%26active%3Dtrue&sysparm_limit=1"
        );
    }

    #[test]
    fn absolute_urls_only_on_the_same_origin() {
        let jira = client("https://site.atlassian.net/jira/");
        let next = "https://site.atlassian.net/jira/rest/api/3/search?startAt=50";
        assert_eq!(jira.url_for(&Request::get(next)).unwrap().as_str(), next);
        let err = jira
            .url_for(&Request::get("https://evil.example/steal?token=abc"))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!err.to_string().contains("abc"), "{err}");
    }

    #[test]
    fn bad_user_agent_is_a_config_error() {
        let err = HttpClient::builder(Url::parse("https://h/").unwrap())
            .user_agent("bad\nagent")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[test]
    fn invalid_request_headers_fail_the_send() {
        let c = client("https://h/");
        let url = c.base_url().clone();
        let err = c
            .build_request(&Request::get("x").header("bad name", "v"), url.clone())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = c
            .build_request(&Request::get("x").header("X-Ok", "bad\nvalue"), url)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }
}
