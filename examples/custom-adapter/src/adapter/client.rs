//! The HTTP side of the adapter: every request goes through one [`itsm_http::HttpClient`],
//! which owns authentication, timeouts, retries (with backoff, jitter and `Retry-After`),
//! redaction and the one mapping from HTTP status to [`ErrorKind`](itsm_core::ErrorKind).
//! Nothing here maps a status code by hand.

use itsm_core::{Error, IdempotencyKey, Result};
use itsm_http::{Auth, HttpClient, Method, Request};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::config::TicketyConfig;

/// Tickety's API client.
#[derive(Debug, Clone)]
pub(crate) struct TicketyClient {
    http: HttpClient,
}

impl TicketyClient {
    pub(crate) fn new(config: &TicketyConfig) -> Result<Self> {
        config.validate()?;
        let http = HttpClient::builder(config.base_url.clone())
            .auth(Auth::Bearer(config.token.clone()))
            .retry(config.retry.clone())
            .timeouts(config.timeouts)
            .build()?;
        Ok(TicketyClient { http })
    }

    /// `GET path?query`, decoded as `T`. Reads are always safe to repeat.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        self.http.send_json(Request::get(path).query(query)).await
    }

    /// `POST path` carrying `key` in Tickety's `Idempotency-Key` header.
    ///
    /// Tickety answers a repeated key with the record it made the first time, so the
    /// request is marked idempotent: itsm-http may then repeat it after a timeout or a
    /// 500/502/504, when it cannot know whether the first attempt acted.
    pub(crate) async fn create<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &IdempotencyKey,
        body: &impl Serialize,
    ) -> Result<T> {
        let request = Request::post(path)
            .header("Idempotency-Key", key.as_str())
            .json(body)
            .idempotent(true);
        self.http.send_json(request).await
    }

    /// A `PATCH` or `POST` that changes a record.
    ///
    /// Marked idempotent because every Tickety update is safe to repeat: `PATCH` sets
    /// absolute values, and the actions (`solve`, `submit`, `decision`, `move`, `close`,
    /// `references`) answer "already done" with the record unchanged. With an API where a
    /// repeated `POST` acts twice, leave this mark off and itsm-http will not repeat it
    /// once it may have reached the server.
    pub(crate) async fn update<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T> {
        let request = Request::new(method, path).json(body).idempotent(true);
        self.http.send_json(request).await
    }
}

/// The path of record `id` in `collection`, plus `tail`.
///
/// Tickety ids are letters, digits and `-` (`TCK-12`); anything else cannot name a
/// Tickety record, so it is [`NotFound`](itsm_core::ErrorKind::NotFound) without a
/// request, and a caller's id can never reach another endpoint (`../`, `?`, `#`).
pub(crate) fn record_path(collection: &str, id: &str, tail: &str) -> Result<String> {
    let shaped = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !shaped {
        return Err(Error::not_found(format!(
            "{id:?} is not a Tickety id (letters, digits and '-', like TCK-12)"
        )));
    }
    Ok(format!("api/v1/{collection}/{id}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use itsm_core::ErrorKind;

    #[test]
    fn ids_that_could_leave_the_record_path_are_not_found() {
        assert_eq!(
            record_path("tickets", "TCK-12", "/solve").unwrap(),
            "api/v1/tickets/TCK-12/solve"
        );
        for bad in [
            "",
            "..",
            "TCK-1/../../admin",
            "TCK-1?x=1",
            "TCK 1",
            "TCK-1#",
        ] {
            let err = record_path("tickets", bad, "").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{bad:?}");
        }
    }
}
