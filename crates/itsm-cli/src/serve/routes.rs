//! The HTTP endpoints: the two alert receivers, the vendor webhooks
//! (`/v1/webhooks/<name>`, one per configured [`WebhookSource`]), `/healthz` and `/metrics`.
//!
//! A request is answered 202 only after what it carries is committed to the queue;
//! 400 (malformed), 401 (token or signature), 404 (no such webhook source), 413 (too large)
//! and 503 (the queue cannot take it; the sender retries) carry a JSON body
//! `{"error": ..., "message": ...}`. Webhooks are authenticated by their source (a
//! signature or the vendor's credentials), not by the `[serve] token`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use itsm_core::{Clock, Error};
use itsm_incident::inbound::webhook::{WebhookHeaders, WebhookRejection, WebhookSource};
use itsm_incident::inbound::{ParseOptions, alertmanager, generic};

use super::auth::TokenCheck;
use super::intake::Intake;
use super::metrics::Metrics;
use super::queue::QueueItem;

/// What every handler shares.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) intake: Intake,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) token: TokenCheck,
    pub(crate) max_body_bytes: usize,
    pub(crate) parse: Arc<ParseOptions>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The webhook sources by name.
    pub(crate) webhooks: Arc<HashMap<String, Arc<dyn WebhookSource>>>,
}

/// The router over `state`.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/alerts/alertmanager", post(alertmanager_webhook))
        .route("/v1/alerts", post(generic_alert))
        .route("/v1/webhooks/{source}", post(webhook))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Which inbound format a request carries.
#[derive(Debug, Clone, Copy)]
enum Format {
    Alertmanager,
    Generic,
}

async fn alertmanager_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(&state, Format::Alertmanager, &headers, body).await
}

async fn generic_alert(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    receive(&state, Format::Generic, &headers, body).await
}

async fn receive(state: &AppState, format: Format, headers: &HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let response = accept(state, format, headers, body).await;
    state.metrics.request_latency.observe(started.elapsed());
    response
}

async fn accept(state: &AppState, format: Format, headers: &HeaderMap, body: Body) -> Response {
    let m = &state.metrics;
    if !state.token.allows(headers) {
        return refuse(
            &m.rejected_401,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "missing or wrong bearer token; send `Authorization: Bearer <token>` with the \
             token configured as [serve] token / ITSM_SERVE_TOKEN"
                .into(),
        );
    }
    let body = match read_body(headers, body, state.max_body_bytes).await {
        Ok(body) => body,
        Err(response) => {
            m.rejected_413.fetch_add(1, Ordering::Relaxed);
            return response;
        }
    };
    let parsed = match format {
        Format::Alertmanager => alertmanager::parse(&body, &state.parse),
        Format::Generic => generic::parse(&body, &state.parse, state.clock.now()),
    };
    let alerts = match parsed {
        Ok(alerts) => alerts,
        Err(e) => {
            return refuse(
                &m.rejected_400,
                StatusCode::BAD_REQUEST,
                "invalid_input",
                e.message().to_owned(),
            );
        }
    };
    if alerts.is_empty() {
        return queued(0);
    }
    let items = alerts.into_iter().map(QueueItem::Alert).collect();
    match state.intake.enqueue(items).await {
        Ok(n) => {
            m.received.fetch_add(n as u64, Ordering::Relaxed);
            m.queue_depth.fetch_add(n as i64, Ordering::Relaxed);
            queued(n)
        }
        Err(e) => unavailable(m, "alerts", &e),
    }
}

/// `POST /v1/webhooks/{source}`: verify, parse, store, then answer.
async fn webhook(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let m = &state.metrics;
    let Some(source) = state.webhooks.get(&name) else {
        let mut known: Vec<&str> = state.webhooks.keys().map(String::as_str).collect();
        known.sort_unstable();
        return json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no webhook source {name:?} is configured; configured: {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        );
    };
    let body = match read_body(&headers, body, state.max_body_bytes).await {
        Ok(body) => body,
        Err(response) => {
            m.rejected_413.fetch_add(1, Ordering::Relaxed);
            return response;
        }
    };
    let headers: WebhookHeaders = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?.to_owned())))
        .collect();
    let delivery = match source
        .verify(&headers, &body)
        .and_then(|()| source.parse(&headers, &body))
    {
        Ok(delivery) => delivery,
        Err(rejection) => return refuse_delivery(m, &rejection),
    };
    if delivery.events.is_empty() {
        m.delivery("accepted");
        return queued(0);
    }
    let items = delivery.events.into_iter().map(QueueItem::Sync).collect();
    match state.intake.enqueue(items).await {
        Ok(0) => {
            m.delivery("duplicate");
            queued(0)
        }
        Ok(n) => {
            m.delivery("accepted");
            m.queue_depth.fetch_add(n as i64, Ordering::Relaxed);
            queued(n)
        }
        Err(e) => unavailable(m, "webhook delivery", &e),
    }
}

/// 401 or 400, as the source decided, with its reason.
fn refuse_delivery(m: &Metrics, rejection: &WebhookRejection) -> Response {
    let (status, error, result) = match rejection {
        WebhookRejection::Unauthorized(_) => {
            (StatusCode::UNAUTHORIZED, "unauthenticated", "unauthorized")
        }
        WebhookRejection::Malformed(_) => (StatusCode::BAD_REQUEST, "invalid_input", "malformed"),
    };
    m.delivery(result);
    json_error(status, error, rejection.reason().to_owned())
}

/// 503 with `Retry-After`: the queue cannot store now, the sender retries.
fn unavailable(m: &Metrics, what: &str, e: &Error) -> Response {
    let mut response = refuse(
        &m.rejected_503,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("the queue cannot store the {what} now; retry later ({e})"),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The body, or the 413 answer when it is larger than `limit`.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Response> {
    let too_large = || {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "body larger than {limit} bytes; send fewer alerts per request or raise \
                 [serve] max_body_bytes"
            ),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

fn queued(n: usize) -> Response {
    (
        StatusCode::ACCEPTED,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        format!("{{\"queued\":{n}}}"),
    )
        .into_response()
}

fn refuse(counter: &AtomicU64, status: StatusCode, error: &str, message: String) -> Response {
    counter.fetch_add(1, Ordering::Relaxed);
    let mut response = json_error(status, error, message);
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn json_error(status: StatusCode, error: &str, message: String) -> Response {
    let body = serde_json::json!({ "error": error, "message": message });
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.to_string(),
    )
        .into_response()
}

async fn healthz() -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        "{\"status\":\"ok\"}",
    )
        .into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}
