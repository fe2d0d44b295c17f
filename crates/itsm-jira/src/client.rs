//! The calls the adapter makes, one method per Jira / JSM endpoint, all through
//! `itsm_http::HttpClient` (retries, rate limits, status mapping and redaction live there).

use std::time::Duration;

use itsm_core::{Error, ErrorKind, ExternalRef, Result};
use itsm_http::{HttpClient, Request, RetryPolicy};
use serde_json::{Value, json};
use url::Url;

use crate::adf;
use crate::config::JiraConfig;
use crate::model::{
    CommentPage, CreatedIssue, CustomerRequest, Issue, IssueComment, JsmApproval, JsmPage,
    RemoteLink, RequestStatus, RequestType, RequestTypeFields, SearchPage, Transition, Transitions,
};

/// The comment property that holds a note's idempotency key.
pub(crate) const NOTE_PROPERTY: &str = "itsm.note";

/// Atlassian's documented backoff for Jira Cloud, as an itsm-http policy: up to 4 retries
/// (5 attempts) within 3 minutes, the first backoff up to 5 s doubling to at most 30 s;
/// `Retry-After` and `X-RateLimit-Reset` on a 429 (and `Retry-After` on a 503) are waited
/// out instead. Requests that may have acted (a `POST` that timed out or got 500/502/504)
/// are never repeated: itsm-http's rules.
pub fn atlassian_retry_policy() -> RetryPolicy {
    RetryPolicy::new(5, Duration::from_secs(180))
        .with_backoff(Duration::from_secs(5), Duration::from_secs(30))
}

/// The HTTP side of the adapter.
#[derive(Debug, Clone)]
pub(crate) struct JiraClient {
    http: HttpClient,
    site: Url,
}

impl JiraClient {
    pub(crate) fn new(config: &JiraConfig, retry: RetryPolicy) -> Result<Self> {
        let http = HttpClient::builder(config.site_url.clone())
            .auth(config.auth())
            .timeouts(config.timeouts())
            .retry(retry)
            .build()?;
        let site = http.base_url().clone();
        Ok(JiraClient { http, site })
    }

    /// The reference a person can open: `<site>/browse/<KEY>`.
    pub(crate) fn reference(&self, key: &str) -> ExternalRef {
        let r = ExternalRef::new(crate::SYSTEM, key);
        match self.site.join(&format!("browse/{key}")) {
            Ok(url) => r.with_url(url),
            Err(_) => r,
        }
    }

    fn issue_path(key: &str, tail: &str) -> Result<String> {
        let key = path_segment(key)?;
        Ok(format!("rest/api/3/issue/{key}{tail}"))
    }

    fn request_path(key: &str, tail: &str) -> Result<String> {
        let key = path_segment(key)?;
        Ok(format!("rest/servicedeskapi/request/{key}{tail}"))
    }

    // ---- platform REST v3 ----

    /// `GET /rest/api/3/search/jql`.
    pub(crate) async fn search(
        &self,
        jql: &str,
        fields: &str,
        max_results: u32,
        page_token: Option<&str>,
        properties: Option<&str>,
    ) -> Result<SearchPage> {
        let mut query = vec![
            ("jql", jql.to_owned()),
            ("fields", fields.to_owned()),
            ("maxResults", max_results.to_string()),
        ];
        if let Some(p) = properties {
            query.push(("properties", p.to_owned()));
        }
        if let Some(token) = page_token {
            query.push(("nextPageToken", token.to_owned()));
        }
        self.http
            .send_json(Request::get("rest/api/3/search/jql").query(&query))
            .await
    }

    /// `GET /rest/api/3/issue/{key}`.
    pub(crate) async fn issue(
        &self,
        key: &str,
        fields: &str,
        properties: Option<&str>,
    ) -> Result<Issue> {
        let mut query = vec![("fields", fields.to_owned())];
        if let Some(p) = properties {
            query.push(("properties", p.to_owned()));
        }
        self.http
            .send_json(Request::get(Self::issue_path(key, "")?).query(&query))
            .await
    }

    /// `POST /rest/api/3/issue` (not retried once sent: it may have created the issue).
    pub(crate) async fn create_issue<B: serde::Serialize + ?Sized>(
        &self,
        body: &B,
    ) -> Result<CreatedIssue> {
        self.http
            .send_json(Request::post("rest/api/3/issue").json(body))
            .await
    }

    /// `PUT /rest/api/3/issue/{key}`.
    pub(crate) async fn edit_issue(&self, key: &str, body: &Value) -> Result<()> {
        self.http
            .send(Request::put(Self::issue_path(key, "")?).json(body))
            .await
            .map(|_| ())
    }

    /// `GET /rest/api/3/issue/{key}/transitions`.
    pub(crate) async fn transitions(&self, key: &str) -> Result<Vec<Transition>> {
        let t: Transitions = self
            .http
            .send_json(Request::get(Self::issue_path(key, "/transitions")?))
            .await?;
        Ok(t.transitions)
    }

    /// `POST /rest/api/3/issue/{key}/transitions`.
    pub(crate) async fn transition(&self, key: &str, body: &Value) -> Result<()> {
        self.http
            .send(Request::post(Self::issue_path(key, "/transitions")?).json(body))
            .await
            .map(|_| ())
    }

    /// Every comment of an issue, with properties (`GET …/comment?expand=properties`).
    pub(crate) async fn comments(&self, key: &str) -> Result<Vec<IssueComment>> {
        let mut all = Vec::new();
        let mut start: u64 = 0;
        loop {
            let page: CommentPage = self
                .http
                .send_json(Request::get(Self::issue_path(key, "/comment")?).query(&[
                    ("expand", "properties".to_owned()),
                    ("startAt", start.to_string()),
                    ("maxResults", "100".to_owned()),
                ]))
                .await?;
            let got = page.comments.len() as u64;
            all.extend(page.comments);
            start += got;
            if got == 0 || start >= page.total {
                return Ok(all);
            }
        }
    }

    /// Adds an ADF comment carrying `note_key` as a comment property, unless a comment with
    /// that key exists (`GET` then `POST …/comment`).
    pub(crate) async fn add_keyed_comment(
        &self,
        key: &str,
        note_key: &str,
        text: &str,
    ) -> Result<()> {
        let existing = self.comments(key).await?;
        let seen = existing.iter().any(|c| {
            c.properties.iter().any(|p| {
                p.key == NOTE_PROPERTY
                    && p.value.get("key").and_then(Value::as_str) == Some(note_key)
            })
        });
        if seen {
            return Ok(());
        }
        let body = json!({
            "body": adf::doc(text),
            "properties": [{ "key": NOTE_PROPERTY, "value": { "key": note_key } }],
        });
        self.http
            .send(Request::post(Self::issue_path(key, "/comment")?).json(&body))
            .await
            .map(|_| ())
    }

    /// `GET /rest/api/3/issue/{key}/remotelink`.
    pub(crate) async fn remote_links(&self, key: &str) -> Result<Vec<RemoteLink>> {
        self.http
            .send_json(Request::get(Self::issue_path(key, "/remotelink")?))
            .await
    }

    /// `POST /rest/api/3/issue/{key}/remotelink`: Jira updates the link with the same
    /// `globalId` instead of adding one, so this is marked idempotent.
    pub(crate) async fn add_remote_link(&self, key: &str, body: &Value) -> Result<()> {
        self.http
            .send(
                Request::post(Self::issue_path(key, "/remotelink")?)
                    .json(body)
                    .idempotent(true),
            )
            .await
            .map(|_| ())
    }

    // ---- servicedeskapi ----

    /// `POST /rest/servicedeskapi/request`.
    pub(crate) async fn create_request(&self, body: &Value) -> Result<CustomerRequest> {
        self.http
            .send_json(Request::post("rest/servicedeskapi/request").json(body))
            .await
    }

    /// `GET /rest/servicedeskapi/request/{key}?expand=requestFieldValues`.
    pub(crate) async fn request(&self, key: &str) -> Result<CustomerRequest> {
        self.http
            .send_json(
                Request::get(Self::request_path(key, "")?)
                    .query(&[("expand", "requestFieldValues")]),
            )
            .await
    }

    /// `GET /rest/servicedeskapi/request/{key}/status` (every page, oldest first as sent).
    pub(crate) async fn request_statuses(&self, key: &str) -> Result<Vec<RequestStatus>> {
        self.paged(Self::request_path(key, "/status")?, &[]).await
    }

    /// `GET /rest/servicedeskapi/request/{key}/approval`.
    pub(crate) async fn approvals(&self, key: &str) -> Result<Vec<JsmApproval>> {
        self.paged(Self::request_path(key, "/approval")?, &[]).await
    }

    /// `POST /rest/servicedeskapi/request/{key}/approval/{id}` with `approve` or `decline`.
    pub(crate) async fn answer_approval(
        &self,
        key: &str,
        approval: &str,
        approve: bool,
    ) -> Result<()> {
        let tail = format!("/approval/{}", path_segment(approval)?);
        let body = json!({ "decision": if approve { "approve" } else { "decline" } });
        self.http
            .send(Request::post(Self::request_path(key, &tail)?).json(&body))
            .await
            .map(|_| ())
    }

    /// `GET /rest/servicedeskapi/servicedesk/{desk}/requesttype` (every page).
    pub(crate) async fn request_types(&self, desk: &str) -> Result<Vec<RequestType>> {
        let path = format!(
            "rest/servicedeskapi/servicedesk/{}/requesttype",
            path_segment(desk)?
        );
        self.paged(path, &[]).await
    }

    /// `GET /rest/servicedeskapi/servicedesk/{desk}/requesttype/{id}`.
    pub(crate) async fn request_type(&self, desk: &str, id: &str) -> Result<RequestType> {
        let path = format!(
            "rest/servicedeskapi/servicedesk/{}/requesttype/{}",
            path_segment(desk)?,
            path_segment(id)?
        );
        self.http.send_json(Request::get(path)).await
    }

    /// `GET /rest/servicedeskapi/servicedesk/{desk}/requesttype/{id}/field`.
    pub(crate) async fn request_type_fields(
        &self,
        desk: &str,
        id: &str,
    ) -> Result<RequestTypeFields> {
        let path = format!(
            "rest/servicedeskapi/servicedesk/{}/requesttype/{}/field",
            path_segment(desk)?,
            path_segment(id)?
        );
        self.http.send_json(Request::get(path)).await
    }

    async fn paged<T: serde::de::DeserializeOwned>(
        &self,
        path: String,
        query: &[(&str, String)],
    ) -> Result<Vec<T>> {
        let mut all = Vec::new();
        let mut start: u64 = 0;
        for _ in 0..1000 {
            let mut q: Vec<(&str, String)> = query.to_vec();
            q.push(("start", start.to_string()));
            q.push(("limit", "50".to_owned()));
            let page: JsmPage<T> = self
                .http
                .send_json(Request::get(path.clone()).query(&q))
                .await?;
            let got = page.values.len() as u64;
            all.extend(page.values);
            if page.is_last_page != Some(false) || got == 0 {
                return Ok(all);
            }
            start += got;
        }
        Err(Error::new(
            ErrorKind::InvalidResponse,
            format!("{path} did not end after 1000 pages"),
        ))
    }
}

/// Checks an id or key used in a URL path: no `/`, `?`, `#`, `%` or spaces (Jira keys and
/// numeric ids never have them), so a caller's id cannot reach another endpoint.
pub(crate) fn path_segment(id: &str) -> Result<&str> {
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(id)
    } else {
        Err(Error::not_found(format!(
            "{id:?} is not a Jira issue key or id (like OPS-42 or 10001)"
        )))
    }
}
