//! The instance's REST APIs as the adapter uses them: the `{"result": ...}` envelope, one
//! record or a page of records, and pagination with `sysparm_limit` / `sysparm_offset` and
//! the `Link` header.
//!
//! Every call goes through [`HttpClient`] (retries on 429/503 honouring `Retry-After` and
//! `X-RateLimit-Reset`, error mapping, redaction). The client keeps no cookies, so no
//! `JSESSIONID` session is reused: ServiceNow serialises the requests of one session, and
//! the adapter's calls must be able to run in parallel.

use itsm_core::{Error, ErrorKind, ListRequest, Result};
use itsm_http::{HttpClient, Request, Response};
use serde_json::Value;

use crate::record::Record;

/// Default page size of listings.
pub(crate) const DEFAULT_LIMIT: u32 = 100;
/// Largest page size asked for.
pub(crate) const MAX_LIMIT: u32 = 1000;

/// A page of records and the offset of the next one.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordPage {
    pub(crate) items: Vec<Record>,
    pub(crate) next: Option<String>,
}

/// Limit and offset of a [`ListRequest`]; the cursor is the next offset.
pub(crate) fn page_of(page: &ListRequest) -> Result<(u32, u32)> {
    let limit = page.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let offset = match &page.cursor {
        None => 0,
        Some(cursor) => cursor.trim().parse::<u32>().map_err(|_| {
            Error::invalid_input(format!(
                "cursor {cursor:?} is not a ServiceNow offset; pass the `next` of the previous page"
            ))
        })?,
    };
    Ok((limit, offset))
}

/// The ServiceNow APIs over one HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    http: HttpClient,
}

impl Api {
    pub(crate) fn new(http: HttpClient) -> Self {
        Api { http }
    }

    pub(crate) fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Sends `req` and returns the `result` of the envelope.
    pub(crate) async fn result(&self, req: Request) -> Result<(Value, Response)> {
        let resp = self.http.send(req).await?;
        if resp.body().iter().all(u8::is_ascii_whitespace) {
            return Ok((Value::Null, resp));
        }
        let mut envelope: serde_json::Map<String, Value> = resp.json()?;
        let result = envelope.remove("result").ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                "the ServiceNow answer has no `result`",
            )
            .with_context("status", resp.status())
        })?;
        Ok((result, resp))
    }

    /// Sends `req` and reads the `result` object as one record.
    pub(crate) async fn one(&self, req: Request) -> Result<Record> {
        let (result, _) = self.result(req).await?;
        let result = match result {
            // Some endpoints wrap a single record in a one-element list.
            Value::Array(items) => items.into_iter().next().unwrap_or(Value::Null),
            other => other,
        };
        Record::from_value(result).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                "the ServiceNow answer's `result` is not a record",
            )
        })
    }

    /// Sends a listing `req` with `sysparm_limit` / `sysparm_offset` and reads the page.
    pub(crate) async fn list(&self, req: Request, limit: u32, offset: u32) -> Result<RecordPage> {
        let req = req.query(&[
            ("sysparm_limit", limit.to_string()),
            ("sysparm_offset", offset.to_string()),
        ]);
        let (result, resp) = self.result(req).await?;
        let items: Vec<Record> = match result {
            Value::Array(items) => items.into_iter().filter_map(Record::from_value).collect(),
            Value::Null => Vec::new(),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidResponse,
                    "the ServiceNow listing's `result` is not a list",
                ));
            }
        };
        let fetched = u32::try_from(items.len()).unwrap_or(u32::MAX);
        let next = match resp.header("link") {
            Some(link) => next_link(link).map(|url| {
                offset_of(&url).unwrap_or_else(|| offset.saturating_add(fetched).to_string())
            }),
            None => (fetched >= limit).then(|| offset.saturating_add(fetched).to_string()),
        };
        Ok(RecordPage { items, next })
    }
}

/// The URL of the `rel="next"` link of a `Link` header, if any.
pub(crate) fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let url = &after[..end];
        let params_end = after[end..].find('<').map_or(after.len(), |i| end + i);
        let params = &after[end + 1..params_end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_matches(',').trim();
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        if is_next {
            return Some(url.to_owned());
        }
        rest = &after[params_end..];
    }
    None
}

/// `sysparm_offset` of a link URL.
fn offset_of(link: &str) -> Option<String> {
    let query = link.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "sysparm_offset")
        .and_then(|(_, v)| v.trim().parse::<u32>().ok())
        .map(|n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_others() {
        let header = "<https://x.service-now.com/api/now/table/incident?sysparm_limit=3&sysparm_offset=0&sysparm_query=stateIN1,2>;rel=\"first\",\
             <https://x.service-now.com/api/now/table/incident?sysparm_limit=3&sysparm_offset=3&sysparm_query=stateIN1,2>;rel=\"next\",\
             <https://x.service-now.com/api/now/table/incident?sysparm_limit=3&sysparm_offset=6>;rel=\"last\"";
        let next = next_link(header).unwrap();
        assert_eq!(offset_of(&next).as_deref(), Some("3"));
        let last_page = "<https://x/api?sysparm_offset=0>;rel=\"first\",<https://x/api?sysparm_offset=3>;rel=\"prev\"";
        assert_eq!(next_link(last_page), None);
        assert_eq!(next_link("garbage"), None);
        assert_eq!(next_link("<unterminated"), None);
    }

    #[test]
    fn cursors_are_offsets() {
        assert_eq!(page_of(&ListRequest::first()).unwrap(), (DEFAULT_LIMIT, 0));
        let page = ListRequest {
            limit: Some(5000),
            cursor: Some("40".into()),
        };
        assert_eq!(page_of(&page).unwrap(), (MAX_LIMIT, 40));
        let bad = ListRequest {
            limit: None,
            cursor: Some("abc".into()),
        };
        assert_eq!(page_of(&bad).unwrap_err().kind(), ErrorKind::InvalidInput);
    }
}
