//! The REST API v2 client: the headers every call carries and the calls the adapter makes.

use itsm_core::{Error, ErrorKind, Result};
use itsm_http::{Auth, HttpClient, RateLimit, Request, RetryPolicy};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::PagerDutyConfig;

/// The media type PagerDuty's REST API v2 asks clients to accept.
pub const ACCEPT_V2: &str = "application/vnd.pagerduty+json;version=2";

/// The one rate-limit bucket of a REST client: a client holds one API key.
const REST_BUCKET: &str = "pagerduty-rest-api-key";

/// REST API v2 over [`HttpClient`] (retries, rate limit, error mapping live there).
#[derive(Debug, Clone)]
pub(crate) struct Rest {
    http: HttpClient,
    from: String,
}

impl Rest {
    /// The client for `config`'s API token, or `None` without one.
    pub(crate) fn from_config(
        config: &PagerDutyConfig,
        retry: RetryPolicy,
    ) -> Result<Option<Rest>> {
        let Some(token) = &config.api_token else {
            return Ok(None);
        };
        let http = HttpClient::builder(config.rest_base())
            .auth(Auth::header(
                "Authorization",
                format!("Token token={}", token.expose_secret().trim()),
            ))
            .timeouts(config.timeouts())
            .retry(retry)
            .rate_limit(RateLimit::per_minute(config.rate_limits.rest_per_minute))
            .build()?;
        let from = config.from_email.clone().unwrap_or_default();
        Ok(Some(Rest { http, from }))
    }

    fn request(&self, req: Request) -> Request {
        req.header("Accept", ACCEPT_V2).rate_limit_key(REST_BUCKET)
    }

    /// The `From` header PagerDuty requires on writes.
    fn write(&self, req: Request) -> Request {
        self.request(req).header("From", self.from.trim())
    }

    /// `GET path?query` decoded as `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        self.http
            .send_json(self.request(Request::get(path).query(query)))
            .await
            .map_err(|e| annotate(e, path))
    }

    /// `PUT path` with a JSON body and `From`, decoded as `T`.
    pub(crate) async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.http
            .send_json(self.write(Request::put(path).json(body)))
            .await
            .map_err(|e| annotate(e, path))
    }

    /// `POST path` with a JSON body (and `From` when `from`), answer ignored beyond 2xx.
    /// Not retried after it may have acted: PagerDuty has no idempotency key for these.
    pub(crate) async fn post<B: Serialize>(&self, path: &str, body: &B, from: bool) -> Result<()> {
        let req = Request::post(path).json(body);
        let req = if from {
            self.write(req)
        } else {
            self.request(req)
        };
        self.http
            .send(req)
            .await
            .map(|_| ())
            .map_err(|e| annotate(e, path))
    }

    /// `POST path` with a JSON body and `From`, decoded as `T`.
    pub(crate) async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.http
            .send_json(self.write(Request::post(path).json(body)))
            .await
            .map_err(|e| annotate(e, path))
    }
}

/// Adds the PagerDuty error code to the context when the message carries one
/// (`{"error":{"code":2100,...}}`), so it is matchable without parsing text.
fn annotate(err: Error, path: &str) -> Error {
    let code = pagerduty_code(err.message());
    let err = if matches!(err.kind(), ErrorKind::InvalidResponse) {
        err.with_context("endpoint", path)
    } else {
        err
    };
    match code {
        Some(code) => err.with_context("pagerduty_code", code),
        None => err,
    }
}

/// The number after `"code":` in an error message's body excerpt.
fn pagerduty_code(message: &str) -> Option<u32> {
    let at = message.find("\"code\"")?;
    let rest = message.get(at + "\"code\"".len()..)?;
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_from_the_excerpt() {
        assert_eq!(
            pagerduty_code(
                r#"GET x answered HTTP 404: {"error":{"message":"Not Found","code": 2100}}"#
            ),
            Some(2100)
        );
        assert_eq!(pagerduty_code("no body"), None);
        assert_eq!(pagerduty_code(r#"{"code":"x"}"#), None);
        let err = annotate(
            Error::new(ErrorKind::InvalidInput, r#"{"error":{"code":2001}}"#),
            "incidents",
        );
        assert_eq!(err.context_value("pagerduty_code"), Some("2001"));
    }
}
