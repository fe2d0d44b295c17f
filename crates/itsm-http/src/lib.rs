//! # itsm-http
//!
//! What every itsm-rs HTTP adapter (ServiceNow, Jira, PagerDuty...) shares, so that each
//! adapter only describes its vendor's API:
//!
//! - [`HttpClient`], built with [`HttpClient::builder`] from a base URL whose path is kept
//!   (`https://site.atlassian.net/jira/`), with timeouts, a user agent (`itsm-rs/<version>`
//!   by default) and [`Auth`] (Basic, Bearer or a custom header, held as `SecretString`s);
//! - our own [`Request`] and [`Response`] types, so no HTTP library appears in adapters'
//!   signatures;
//! - retries ([`RetryPolicy`]) bounded by attempts and elapsed time, with full-jitter
//!   backoff, honouring `Retry-After`, `ratelimit-reset` and `X-RateLimit-Reset`, and never
//!   repeating a request that may already have acted unless it is marked
//!   [idempotent](Request::idempotent);
//! - a client-side [`RateLimiter`] (a token bucket per key);
//! - the one mapping from HTTP status to [`ErrorKind`](itsm_core::ErrorKind):
//!   [`kind_for_status`] / [`error_for_status`];
//! - webhook signatures: [`verify_hmac_sha256_hex`] (constant-time) and [`hmac_sha256_hex`];
//! - redaction ([`redact_url`]): no credential ever appears in an error, `Debug` output or a
//!   trace.
//!
//! ## Example
//!
//! ```no_run
//! use std::time::Duration;
//! use itsm_http::{Auth, HttpClient, RateLimit, Request, RetryPolicy, Timeouts};
//!
//! #[derive(serde::Deserialize)]
//! struct Created { result: Record }
//! #[derive(serde::Deserialize)]
//! struct Record { number: String }
//!
//! # async fn run() -> itsm_core::Result<()> {
//! let client = HttpClient::builder("https://example.service-now.com/".parse().unwrap())
//!     .auth(Auth::basic("integration", "from-a-secret-store"))
//!     .retry(RetryPolicy::new(4, Duration::from_secs(30)))
//!     .timeouts(Timeouts { connect: Duration::from_secs(5), request: Duration::from_secs(20) })
//!     .rate_limit(RateLimit::per_second(5.0))
//!     .build()?;
//!
//! let created: Created = client
//!     .send_json(
//!         Request::post("api/now/table/change_request")
//!             .json(&serde_json::json!({ "short_description": "Deploy checkout 1.4.2" })),
//!     )
//!     .await?;
//! println!("opened {}", created.result.number);
//! # Ok(())
//! # }
//! ```
//!
//! ## Retry rules
//!
//! | outcome | idempotent request | `POST`/`PATCH` not marked idempotent |
//! |---|---|---|
//! | connect error (never sent) | retried | retried |
//! | timeout, connection lost mid-request | retried | **not** retried (it may have acted) |
//! | 429, 503 | retried | retried (the server refused it: not processed) |
//! | 500, 502, 504 | retried | **not** retried (it may have acted) |
//! | any other status | not retried | not retried |
//!
//! 503 is retried for every method because ServiceNow, Jira and PagerDuty all answer 503
//! for "not processed, come back later" (maintenance, overload), like 429.

mod auth;
mod client;
mod options;
mod rate_limit;
mod redact;
mod request;
mod retry;
mod signature;
mod status;

pub use auth::Auth;
pub use client::HttpClient;
pub use options::{ClientOptions, DEFAULT_USER_AGENT, HttpClientBuilder, Timeouts};
pub use rate_limit::{RateLimit, RateLimiter};
pub use redact::{is_secret_param, redact_url};
pub use request::{Method, Request, Response};
pub use retry::{RetryPolicy, parse_rate_limit_reset, parse_retry_after};
pub use secrecy::SecretString;
pub use signature::{hmac_sha256_hex, verify_hmac_sha256_hex};
pub use status::{BODY_EXCERPT_CHARS, error_for_status, kind_for_status};
