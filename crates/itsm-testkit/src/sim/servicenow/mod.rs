//! A stateful simulator of a ServiceNow instance, for the subset the `itsm-servicenow`
//! adapter uses: the Table API (`/api/now/table/<table>[/<sys_id>]`, with
//! `sysparm_query`, `sysparm_limit` / `sysparm_offset` and the `Link` header,
//! `sysparm_display_value`, `sysparm_fields` and `sysparm_exclude_reference_link` on reads,
//! creates and updates), the Change Management API
//! (`/api/sn_chg_rest/change/...`: normal, emergency and standard changes, templates,
//! `nextstates`, `approvals`, `conflict`), and the Service Catalog API
//! (`/api/sn_sc/servicecatalog/...`: items and their variables, `order_now`, the cart and
//! `submit_order`, with one-step or [two-step](ServiceNowSim::set_two_step_checkout)
//! checkout), writing `sc_request`, `sc_req_item` and `sc_item_option_mtom`.
//!
//! Same paths, field names, status codes and `{"error": {...}, "status": "failure"}`
//! bodies as an instance; state in memory. Incident records carry the fields of a base
//! instance's `incident` table (about ninety, most empty on a new record), so that an
//! answer without `sysparm_fields` has the size of a real one. Business rules it keeps:
//! incident priority from impact and urgency, journal fields (`work_notes`, `comments`)
//! written to `sys_journal_field`, resolving needs a close code and notes, the change state
//! model of `nextstates` (approval requested on assess, scheduled once approved).
//!
//! Every request needs an `Authorization` header (401 otherwise); every answer sets a
//! `JSESSIONID` cookie, and [`ServiceNowSim::cookies_received`] counts requests that sent
//! one back. [`ServiceNowSim::inject`] makes the next matching request fail (throttled, or
//! processed with the answer lost).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use itsm_testkit::sim::{SimServer, servicenow::ServiceNowSim};
//!
//! let sim = ServiceNowSim::new();
//! sim.add_template("checkout", &["production"], "Checkout release");
//! let server = SimServer::start(sim.router()).await?;
//! println!("instance at {}", server.base_url());
//! # Ok(())
//! # }
//! ```

mod catalog;
mod change;
mod incident;
mod store;
mod table;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use catalog::SimVariable;
use store::{Row, Tables};

/// A failure the simulator injects into the next matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer 429 without processing, with these headers (`Retry-After`, `X-RateLimit-*`).
    Throttle(Vec<(String, String)>),
    /// Process the request, then answer 502 as a proxy that lost the answer would.
    LoseAnswer,
}

#[derive(Debug, Default)]
struct State {
    tables: Tables,
    base: String,
    faults: Vec<(Method, String, Fault)>,
    requests: Vec<(Method, String)>,
    cookies_received: usize,
    conflict_polls: std::collections::BTreeMap<String, u32>,
    blackouts: Vec<(String, String)>,
    two_step: bool,
    cart: Vec<(String, Vec<(String, String)>)>,
}

/// The simulated instance. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct ServiceNowSim {
    state: Arc<Mutex<State>>,
}

impl ServiceNowSim {
    /// An empty instance.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler cannot leave the tables half-written in a way tests rely on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The router to serve (with [`SimServer::start`](crate::sim::SimServer::start)).
    pub fn router(&self) -> Router {
        let sim = self.clone();
        Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let sim = sim.clone();
                async move { sim.handle(method, uri, headers, body) }
            },
        )
    }

    /// Adds a published standard change template for `service` allowing `environments`
    /// (fields `u_itsm_service`, `u_itsm_environments`); returns its sys_id.
    pub fn add_template(&self, service: &str, environments: &[&str], name: &str) -> String {
        let row: Row = [
            ("name", name.to_owned()),
            ("short_description", format!("{name} (standard change)")),
            ("active", "true".to_owned()),
            ("u_itsm_service", service.to_owned()),
            ("u_itsm_environments", environments.join(",")),
            ("implementation_plan", "Deploy with the pipeline".to_owned()),
            ("backout_plan", "Redeploy the previous version".to_owned()),
            ("test_plan", "Smoke tests".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        self.lock().tables.insert("std_change_record_producer", row)
    }

    /// Adds a blackout window the conflict check reports for changes of `service`.
    pub fn add_blackout(&self, service: &str, description: &str) {
        self.lock()
            .blackouts
            .push((service.to_owned(), description.to_owned()));
    }

    /// Makes the next `method` request whose path contains `path_part` fail with `fault`.
    pub fn inject(&self, method: Method, path_part: &str, fault: Fault) {
        self.lock()
            .faults
            .push((method, path_part.to_owned(), fault));
    }

    /// The rows of `table` (every field as stored).
    pub fn rows(&self, table: &str) -> Vec<std::collections::BTreeMap<String, String>> {
        self.lock()
            .tables
            .rows
            .get(table)
            .cloned()
            .unwrap_or_default()
    }

    /// Every request received, as method and path.
    pub fn requests(&self) -> Vec<(Method, String)> {
        self.lock().requests.clone()
    }

    /// How many requests sent a `Cookie` header back.
    pub fn cookies_received(&self) -> usize {
        self.lock().cookies_received
    }

    fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let path = uri.path().to_owned();
        let query: Vec<(String, String)> = uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let fault = {
            let mut state = self.lock();
            state.requests.push((method.clone(), path.clone()));
            if headers.contains_key("cookie") {
                state.cookies_received += 1;
            }
            if state.base.is_empty() {
                let host = headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("127.0.0.1");
                state.base = format!("http://{host}/");
            }
            let found = state
                .faults
                .iter()
                .position(|(m, p, _)| *m == method && path.contains(p.as_str()));
            found.map(|i| state.faults.remove(i).2)
        };
        if !headers.contains_key("authorization") {
            return error(
                StatusCode::UNAUTHORIZED,
                "User Not Authenticated",
                "Required to provide Auth information",
            );
        }
        if let Some(Fault::Throttle(extra)) = &fault {
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
                "Too many requests; retry later",
            );
            for (name, value) in extra {
                if let (Ok(n), Ok(v)) = (
                    axum::http::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    resp.headers_mut().insert(n, v);
                }
            }
            return resp;
        }
        let body: Value = if body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "Exception while reading request",
                        "The payload is not valid JSON.",
                    );
                }
            }
        };
        let req = Req {
            method,
            segments: path
                .trim_matches('/')
                .split('/')
                .map(str::to_owned)
                .collect(),
            query,
            body,
        };
        let mut resp = self.dispatch(&req);
        if fault == Some(Fault::LoseAnswer) {
            resp = (StatusCode::BAD_GATEWAY, "upstream connection lost").into_response();
        }
        resp.headers_mut().insert(
            "set-cookie",
            HeaderValue::from_static("JSESSIONID=SIMSESSION; Path=/; HttpOnly"),
        );
        resp
    }

    fn dispatch(&self, req: &Req) -> Response {
        let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
        match segs.as_slice() {
            ["api", "now", "table", rest @ ..] => table::handle(self, req, rest),
            ["api", "sn_chg_rest", "change", rest @ ..] => change::handle(self, req, rest),
            ["api", "sn_sc", "servicecatalog", rest @ ..] => catalog::handle(self, req, rest),
            _ => error(
                StatusCode::BAD_REQUEST,
                "Requested URI does not represent any resource",
                "no such API in the simulator",
            ),
        }
    }
}

/// One parsed request.
struct Req {
    method: Method,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    body: Value,
}

impl Req {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body's fields as stored text (strings, numbers and booleans).
    fn fields(&self) -> Row {
        let mut row = Row::new();
        if let Value::Object(map) = &self.body {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                row.insert(k.clone(), text);
            }
        }
        row
    }
}

/// ServiceNow's error answer.
fn error(status: StatusCode, message: &str, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "error": { "message": message, "detail": detail },
            "status": "failure"
        })),
    )
        .into_response()
}

/// `{"result": ...}` with `status`.
fn result(status: StatusCode, value: Value) -> Response {
    (status, axum::Json(json!({ "result": value }))).into_response()
}

/// A page of `rows` as the Table API answers it: `X-Total-Count` and the `Link` header.
fn page(req: &Req, base: &str, rows: Vec<Value>) -> Response {
    let limit: usize = req
        .param("sysparm_limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
        .max(1);
    let offset: usize = req
        .param("sysparm_offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let total = rows.len();
    let items: Vec<Value> = rows.into_iter().skip(offset).take(limit).collect();
    let path = req.segments.join("/");
    let query_without_offset: String = req
        .query
        .iter()
        .filter(|(k, _)| k != "sysparm_offset")
        .map(|(k, v)| {
            format!(
                "{}={}",
                k,
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    let link = |rel: &str, at: usize| {
        format!("<{base}{path}?{query_without_offset}&sysparm_offset={at}>;rel=\"{rel}\"")
    };
    let mut links = vec![link("first", 0)];
    if offset > 0 {
        links.push(link("prev", offset.saturating_sub(limit)));
    }
    if offset + limit < total {
        links.push(link("next", offset + limit));
    }
    let last = if total == 0 {
        0
    } else {
        (total - 1) / limit * limit
    };
    links.push(link("last", last));
    let mut resp = result(StatusCode::OK, Value::Array(items));
    if let Ok(v) = HeaderValue::from_str(&links.join(",")) {
        resp.headers_mut().insert("link", v);
    }
    resp.headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    resp
}
