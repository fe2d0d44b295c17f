//! The one place where HTTP status codes and transport failures become [`ErrorKind`]s.

use std::time::Duration;

use itsm_core::{Error, ErrorKind};

use crate::redact::body_excerpt;

/// How many characters of a vendor's error body are kept in an error message.
pub const BODY_EXCERPT_CHARS: usize = 512;

/// The [`ErrorKind`] of a non-success HTTP status.
///
/// | status | kind |
/// |---|---|
/// | 400, 413, 422, any other 4xx | [`ErrorKind::InvalidInput`] |
/// | 401 | [`ErrorKind::Unauthenticated`] |
/// | 403 | [`ErrorKind::PermissionDenied`] |
/// | 404, 410 | [`ErrorKind::NotFound`] |
/// | 409, 412 | [`ErrorKind::Conflict`] |
/// | 429 | [`ErrorKind::RateLimited`] |
/// | 408, 504 | [`ErrorKind::Timeout`] |
/// | 500, 502, 503, any other 5xx | [`ErrorKind::Unavailable`] |
/// | 1xx, 2xx, 3xx and out-of-range codes | [`ErrorKind::InvalidResponse`] (not an answer an adapter can use; redirects to another origin are not followed) |
///
/// ```
/// use itsm_core::ErrorKind;
/// use itsm_http::kind_for_status;
///
/// assert_eq!(kind_for_status(409), ErrorKind::Conflict);
/// assert_eq!(kind_for_status(503), ErrorKind::Unavailable);
/// ```
pub fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 | 410 => ErrorKind::NotFound,
        409 | 412 => ErrorKind::Conflict,
        429 => ErrorKind::RateLimited,
        408 | 504 => ErrorKind::Timeout,
        400..=499 => ErrorKind::InvalidInput,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::InvalidResponse,
    }
}

/// The error for a non-success answer.
///
/// The message names the method, the already [redacted](crate::redact_url) URL, the status
/// and up to [`BODY_EXCERPT_CHARS`] characters of the vendor's error body (so that vendor
/// error codes survive); the context has `status`. `retry_after` is what the server asked
/// for (see [`RetryPolicy`](crate::RetryPolicy)).
///
/// ```
/// use itsm_core::ErrorKind;
/// use itsm_http::error_for_status;
///
/// let err = error_for_status(404, "GET", "https://x.service-now.com/api/now/table/change_request/1",
///     br#"{"error":{"message":"No Record found"}}"#, None);
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert!(err.to_string().contains("No Record found"));
/// assert_eq!(err.context_value("status"), Some("404"));
/// ```
pub fn error_for_status(
    status: u16,
    method: &str,
    url_redacted: &str,
    body: &[u8],
    retry_after: Option<Duration>,
) -> Error {
    let excerpt = body_excerpt(body, BODY_EXCERPT_CHARS);
    let message = if excerpt.is_empty() {
        format!("{method} {url_redacted} answered HTTP {status}")
    } else {
        format!("{method} {url_redacted} answered HTTP {status}: {excerpt}")
    };
    let mut err = Error::new(kind_for_status(status), message).with_context("status", status);
    if let Some(after) = retry_after {
        err = err.with_retry_after(after);
    }
    err
}

/// The error for a request that got no usable answer (connect failure, timeout, broken body).
///
/// The URL is removed from the `reqwest` error before it becomes the source, so that query
/// secrets cannot leak through it.
pub(crate) fn error_for_transport(err: reqwest::Error, method: &str, url_redacted: &str) -> Error {
    let (kind, what) = if err.is_timeout() {
        (ErrorKind::Timeout, "timed out")
    } else if err.is_connect() {
        (ErrorKind::Unavailable, "could not connect")
    } else if err.is_decode() {
        (ErrorKind::InvalidResponse, "could not decode the answer")
    } else if err.is_body() {
        (ErrorKind::Unavailable, "failed while reading the answer")
    } else if err.is_builder() {
        (ErrorKind::InvalidInput, "could not build the request")
    } else {
        (ErrorKind::Unavailable, "failed")
    };
    Error::new(kind, format!("{method} {url_redacted} {what}")).with_source(err.without_url())
}

/// Whether the transport failure happened before the request could reach the server
/// (no connection could be made, connect timeouts included, or the request was never built).
pub(crate) fn never_sent(err: &reqwest::Error) -> bool {
    err.is_connect() || err.is_builder()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_maps_as_documented() {
        let table = [
            (400, ErrorKind::InvalidInput),
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (405, ErrorKind::InvalidInput),
            (408, ErrorKind::Timeout),
            (409, ErrorKind::Conflict),
            (410, ErrorKind::NotFound),
            (412, ErrorKind::Conflict),
            (413, ErrorKind::InvalidInput),
            (418, ErrorKind::InvalidInput),
            (422, ErrorKind::InvalidInput),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Unavailable),
            (501, ErrorKind::Unavailable),
            (502, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
            (504, ErrorKind::Timeout),
            (599, ErrorKind::Unavailable),
            (302, ErrorKind::InvalidResponse),
            (200, ErrorKind::InvalidResponse),
            (999, ErrorKind::InvalidResponse),
        ];
        for (status, kind) in table {
            assert_eq!(kind_for_status(status), kind, "{status}");
        }
    }

    #[test]
    fn error_carries_status_excerpt_and_retry_after() {
        let body = format!(
            "{{\"errorMessages\":[\"Issue does not exist\"],\"pad\":\"{}\"}}",
            "z".repeat(2000)
        );
        let err = error_for_status(
            429,
            "POST",
            "https://site.atlassian.net/jira/rest/api/3/issue",
            body.as_bytes(),
            Some(Duration::from_secs(7)),
        );
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(err.context_value("status"), Some("429"));
        let text = err.to_string();
        assert!(text.contains("Issue does not exist"), "{text}");
        assert!(
            text.contains(
                "POST https://site.atlassian.net/jira/rest/api/3/issue answered HTTP 429"
            )
        );
        assert!(err.message().chars().count() < 700, "excerpt not truncated");
    }

    #[test]
    fn empty_body_gives_short_message() {
        let err = error_for_status(503, "GET", "https://h/", b"", None);
        assert_eq!(err.message(), "GET https://h/ answered HTTP 503");
    }
}
