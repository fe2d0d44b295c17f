//! The request and response types adapters use (so that no HTTP library leaks into their
//! signatures).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use itsm_core::{Error, ErrorKind, Result};
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
}

impl Method {
    /// The method as sent on the wire (`"GET"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    /// Whether repeating the request has the same effect as sending it once (RFC 9110):
    /// everything but `POST` and `PATCH`.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post | Method::Patch)
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
            Method::Options => reqwest::Method::OPTIONS,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to send with [`HttpClient::send`](crate::HttpClient::send).
///
/// The path is relative to the client's base URL: `"rest/api/3/issue"` and
/// `"/rest/api/3/issue"` both land under `https://site.atlassian.net/jira/`. An absolute URL is
/// accepted only on the base URL's origin (for vendors' "next page" links), so credentials
/// never go to another host.
///
/// ```
/// use itsm_http::Request;
///
/// let req = Request::post("api/now/table/change_request")
///     .query(&[("sysparm_display_value", "true")])
///     .header("X-Request-Id", "deploy-42")
///     .json(&serde_json::json!({ "short_description": "Deploy checkout 1.4.2" }))
///     .idempotent(false)
///     .rate_limit_key("servicenow-prod");
/// assert!(!req.is_idempotent());
/// ```
#[derive(Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Bytes>,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) body_error: Option<String>,
    pub(crate) idempotent: Option<bool>,
    pub(crate) rate_limit_key: Option<String>,
    pub(crate) timeout: Option<Duration>,
}

impl Request {
    /// A request with `method` to `path` (relative to the base URL).
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            content_type: None,
            body_error: None,
            idempotent: None,
            rate_limit_key: None,
            timeout: None,
        }
    }

    /// A `GET` request.
    pub fn get(path: impl Into<String>) -> Self {
        Request::new(Method::Get, path)
    }

    /// A `POST` request (not idempotent unless marked so).
    pub fn post(path: impl Into<String>) -> Self {
        Request::new(Method::Post, path)
    }

    /// A `PUT` request.
    pub fn put(path: impl Into<String>) -> Self {
        Request::new(Method::Put, path)
    }

    /// A `PATCH` request (not idempotent unless marked so).
    pub fn patch(path: impl Into<String>) -> Self {
        Request::new(Method::Patch, path)
    }

    /// A `DELETE` request.
    pub fn delete(path: impl Into<String>) -> Self {
        Request::new(Method::Delete, path)
    }

    /// Appends query parameters (encoded when sent).
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.query.extend(
            pairs
                .iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned())),
        );
        self
    }

    /// Adds a header. Invalid names or values fail the send with
    /// [`ErrorKind::InvalidInput`]. Do not put credentials here: use [`crate::Auth`].
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets a JSON body (serialised now) and `Content-Type: application/json`.
    ///
    /// A value that cannot be serialised fails the send with [`ErrorKind::InvalidInput`].
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = Some(Bytes::from(bytes));
                self.content_type = Some("application/json");
                self.body_error = None;
            }
            Err(e) => self.body_error = Some(e.to_string()),
        }
        self
    }

    /// Sets a raw body with its content type.
    pub fn body(mut self, body: impl Into<Vec<u8>>, content_type: &'static str) -> Self {
        self.body = Some(Bytes::from(body.into()));
        self.content_type = Some(content_type);
        self.body_error = None;
        self
    }

    /// Marks the request safe (or unsafe) to repeat, whatever its method. Mark a `POST` as
    /// idempotent when the vendor deduplicates it (PagerDuty `dedup_key`, an idempotency-key
    /// header...), so that it is retried after timeouts and 5xx answers.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// The client-side rate-limit bucket of this request (an API key, a routing key...).
    /// Requests without a key share one bucket.
    pub fn rate_limit_key(mut self, key: impl Into<String>) -> Self {
        self.rate_limit_key = Some(key.into());
        self
    }

    /// Overrides the client's per-attempt timeout for this request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The path (or same-origin URL) as given.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the request may be repeated: the mark set by [`idempotent`](Self::idempotent),
    /// else [`Method::is_idempotent`].
    pub fn is_idempotent(&self) -> bool {
        self.idempotent.unwrap_or(self.method.is_idempotent())
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values and bodies are left out: they are the caller's data.
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query_params", &self.query.len())
            .field("headers", &header_names)
            .field("body_bytes", &self.body.as_ref().map(Bytes::len))
            .field("idempotent", &self.is_idempotent())
            .finish_non_exhaustive()
    }
}

/// An answer from the server.
#[derive(Clone)]
pub struct Response {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) attempts: u32,
}

impl Response {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (any case), if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every header as `(lower-case name, value)`; values that are not visible ASCII are
    /// skipped.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// How many attempts it took to get this answer.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Decodes the JSON body as `T`.
    ///
    /// Fails with [`ErrorKind::InvalidResponse`] naming `T` and where decoding stopped
    /// (line/column), never quoting the body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        if let Some(err) = self.not_json() {
            return Err(err);
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!(
                    "the answer is not a valid `{}`: {} at line {} column {}",
                    std::any::type_name::<T>(),
                    describe(&e),
                    e.line(),
                    e.column()
                ),
            )
            .with_context("status", self.status)
            .with_context("body_bytes", self.body.len())
        })
    }
}

impl Response {
    /// The error for a body that is not JSON at all (an HTML login or proxy page, plain
    /// text, nothing): it names what came instead, never quoting it, and what to check.
    fn not_json(&self) -> Option<Error> {
        let first = self.body.iter().find(|b| !b.is_ascii_whitespace());
        if matches!(
            first,
            Some(b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
        ) {
            return None;
        }
        let what = match (first, self.header("content-type")) {
            (None, _) => "an empty body".to_owned(),
            (Some(_), Some(kind)) => {
                let kind = kind.split(';').next().unwrap_or(kind).trim();
                format!("{} bytes of {kind}", self.body.len())
            }
            (Some(_), None) => format!("{} bytes that are not JSON", self.body.len()),
        };
        Some(
            Error::new(
                ErrorKind::InvalidResponse,
                format!(
                    "the answer (HTTP {}) is {what}, not JSON; check that the base URL points \
                     at the API and that no proxy or login page answers in its place",
                    self.status
                ),
            )
            .with_context("status", self.status)
            .with_context("body_bytes", self.body.len()),
        )
    }
}

/// What went wrong in a JSON decode, without serde_json's quoting of unexpected values
/// (which could be vendor data).
fn describe(e: &serde_json::Error) -> Cow<'static, str> {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "read failure".into(),
        Category::Syntax => "malformed JSON".into(),
        Category::Eof => "truncated JSON".into(),
        Category::Data => {
            // "missing field `x`" names our type's field; other messages may quote data.
            let text = e.to_string();
            match text.split(" at line ").next() {
                Some(head) if head.starts_with("missing field") => head.to_owned().into(),
                _ => "JSON of the wrong shape".into(),
            }
        }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &str) -> Response {
        Response {
            status: 200,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
            attempts: 1,
        }
    }

    #[test]
    fn idempotency_follows_method_unless_marked() {
        for (method, expected) in [
            (Method::Get, true),
            (Method::Head, true),
            (Method::Put, true),
            (Method::Delete, true),
            (Method::Options, true),
            (Method::Post, false),
            (Method::Patch, false),
        ] {
            assert_eq!(
                Request::new(method, "x").is_idempotent(),
                expected,
                "{method}"
            );
        }
        assert!(Request::post("x").idempotent(true).is_idempotent());
        assert!(!Request::get("x").idempotent(false).is_idempotent());
    }

    #[test]
    fn json_body_is_serialised_eagerly() {
        let req = Request::post("x").json(&serde_json::json!({"a": 1}));
        assert_eq!(req.body.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(req.content_type, Some("application/json"));
        assert!(req.body_error.is_none());
        let mut bad = std::collections::HashMap::new();
        bad.insert(vec![1u8], 1);
        assert!(Request::post("x").json(&bad).body_error.is_some());
    }

    #[test]
    fn decode_errors_name_the_type_not_the_body() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Change {
            number: String,
        }
        let err = response("{\"number\": 987654, \"secretish\": \"VENDOR-DATA\"}")
            .json::<Change>()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        let text = format!("{err} {err:?}");
        assert!(text.contains("Change"), "{text}");
        assert!(text.contains("line 1 column"), "{text}");
        assert!(!text.contains("VENDOR-DATA"), "{text}");
        assert!(!text.contains("987654"), "{text}");
    }

    #[test]
    fn a_body_that_is_not_json_is_named_with_what_to_check() {
        let mut html = response("<html><body>Sign in to SECRET-CORP</body></html>");
        html.headers.insert(
            "content-type",
            reqwest::header::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        let err = html.json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse);
        let text = err.to_string();
        assert!(text.contains("bytes of text/html, not JSON"), "{text}");
        assert!(text.contains("base URL"), "{text}");
        assert!(!text.contains("SECRET-CORP"), "{text}");

        let empty = response("  ").json::<serde_json::Value>().unwrap_err();
        assert!(empty.to_string().contains("an empty body"), "{empty}");

        // JSON that merely fails to decode keeps the decoding error.
        let err = response("[1, 2").json::<serde_json::Value>().unwrap_err();
        assert!(err.to_string().contains("truncated JSON"), "{err}");
    }

    #[test]
    fn debug_hides_header_values_and_body() {
        let req = Request::post("x")
            .header("X-Thing", "hidden-value")
            .json(&"hidden-body");
        let text = format!("{req:?}");
        assert!(text.contains("X-Thing"));
        assert!(!text.contains("hidden-value"));
        assert!(!text.contains("hidden-body"));
    }
}
