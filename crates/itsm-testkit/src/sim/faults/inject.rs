//! The middleware every simulator is served behind when a plan is set: the seeded draw per
//! request, the fault's answer in the vendor's style, and the log tests read.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{FaultKind, FaultLog, FaultPlan, Injected, Switch, Vendor};

/// The plan being applied and what it did.
#[derive(Debug)]
pub(crate) struct Injector {
    plan: FaultPlan,
    state: Mutex<Draws>,
}

#[derive(Debug)]
struct Draws {
    rng: fastrand::Rng,
    log: FaultLog,
}

impl Injector {
    pub(crate) fn new(plan: FaultPlan) -> Self {
        let rng = fastrand::Rng::with_seed(plan.seed);
        Injector {
            plan,
            state: Mutex::new(Draws {
                rng,
                log: FaultLog::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Draws> {
        // Nothing panics while holding the lock; keep the log if something did.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fault for the next request, if any: two draws per request whatever the outcome,
    /// so the sequence depends only on the seed and the request order.
    fn draw(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut draws = self.lock();
        let request = draws.log.requests;
        draws.log.requests += 1;
        let roll = draws.rng.f64();
        let pick = draws.rng.usize(..self.plan.kinds.len().max(1));
        let share = super::clamp_share(self.plan.share);
        let kind = self
            .plan
            .kinds
            .get(pick)
            .copied()
            .filter(|_| roll < share)?;
        draws.log.injected.push(Injected {
            request,
            method: method.to_owned(),
            path: path.to_owned(),
            kind,
        });
        Some(kind)
    }

    pub(crate) fn log(&self) -> FaultLog {
        self.lock().log.clone()
    }
}

/// The middleware: draws, then answers, cuts, delays or passes the request on.
pub(crate) async fn inject(
    State(injector): State<Arc<Injector>>,
    ConnectInfo(switch): ConnectInfo<Switch>,
    request: Request,
    next: Next,
) -> Response {
    let fault = injector.draw(request.method().as_str(), request.uri().path());
    let vendor = injector.plan.vendor;
    match fault {
        None => next.run(request).await,
        Some(FaultKind::Status(code)) => server_error(vendor, code),
        Some(FaultKind::TooManyRequests { retry_after }) => too_many(vendor, retry_after),
        Some(FaultKind::Delay(wait)) => {
            tokio::time::sleep(wait).await;
            next.run(request).await
        }
        Some(FaultKind::ConnectionReset) => {
            switch.cut();
            never_sent()
        }
        Some(FaultKind::ResponseLost) => {
            let _processed = next.run(request).await;
            switch.cut();
            never_sent()
        }
    }
}

/// What the handler returns for a cut connection; the cut connection never writes it.
fn never_sent() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "connection cut").into_response()
}

/// 500 in the vendor's error body; 502 and other codes as a proxy's text page.
fn server_error(vendor: Vendor, code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("Server Error");
    if status != StatusCode::INTERNAL_SERVER_ERROR {
        let page = format!(
            "<html><head><title>{code} {reason}</title></head>\
             <body><h1>{code} {reason}</h1></body></html>"
        );
        return (status, [(header::CONTENT_TYPE, "text/html")], page).into_response();
    }
    let message = "An internal error occurred; the simulator's fault plan chose it";
    (status, axum::Json(error_body(vendor, message, 2000))).into_response()
}

fn error_body(vendor: Vendor, message: &str, pagerduty_code: u32) -> serde_json::Value {
    match vendor {
        Vendor::Generic => json!({ "error": message }),
        Vendor::PagerDuty => json!({ "error": { "message": message, "code": pagerduty_code } }),
        Vendor::ServiceNow => json!({
            "error": { "message": message, "detail": "Fault injected by the simulator" },
            "status": "failure"
        }),
        Vendor::Jira => json!({ "errorMessages": [message], "errors": {} }),
    }
}

/// 429 with the vendor's wait headers for `retry_after`, or none.
fn too_many(vendor: Vendor, retry_after: Option<Duration>) -> Response {
    let body = error_body(vendor, "Rate limit exceeded; retry later", 2020);
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    let Some(wait) = retry_after else {
        return resp;
    };
    // Whole seconds, rounded up, as the headers carry them.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let now = SystemTime::now();
    let reset_at = now + Duration::from_secs(secs);
    let epoch = reset_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let headers: Vec<(&str, String)> = match vendor {
        Vendor::Generic => vec![("retry-after", secs.to_string())],
        Vendor::PagerDuty => vec![
            ("ratelimit-limit", "960".into()),
            ("ratelimit-remaining", "0".into()),
            ("ratelimit-reset", secs.to_string()),
        ],
        Vendor::ServiceNow => vec![
            ("retry-after", secs.to_string()),
            ("x-ratelimit-limit", "100".into()),
            ("x-ratelimit-reset", epoch.to_string()),
        ],
        Vendor::Jira => vec![
            ("retry-after", secs.to_string()),
            ("x-ratelimit-limit", "100".into()),
            ("x-ratelimit-remaining", "0".into()),
            ("x-ratelimit-reset", iso_time(reset_at)),
            ("ratelimit-reason", "jira-quota-tenant-based".into()),
        ],
    };
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            resp.headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    resp
}

fn iso_time(at: SystemTime) -> String {
    OffsetDateTime::from(at)
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::from(at))
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
        resp.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn the_same_seed_draws_the_same_faults_and_share_zero_none() {
        let plan = FaultPlan::new(9)
            .share(0.5)
            .kinds(FaultKind::server_errors())
            .kind(FaultKind::ResponseLost);
        let sequence = |plan: &FaultPlan| {
            let injector = Injector::new(plan.clone());
            (0..200)
                .map(|i| injector.draw("GET", &format!("/{i}")))
                .collect::<Vec<_>>()
        };
        let first = sequence(&plan);
        assert_eq!(first, sequence(&plan));
        let faulted = first.iter().flatten().count();
        assert!((60..=140).contains(&faulted), "{faulted} of 200 at 0.5");
        assert_ne!(
            first,
            sequence(&FaultPlan {
                seed: 10,
                ..plan.clone()
            })
        );
        assert!(
            sequence(&plan.clone().share(0.0))
                .iter()
                .all(Option::is_none)
        );
        let none_to_pick = FaultPlan::new(9).share(1.0);
        assert!(sequence(&none_to_pick).iter().all(Option::is_none));
    }

    #[test]
    fn rate_limit_headers_follow_the_vendor() {
        let wait = Some(Duration::from_millis(1500));
        let pd = too_many(Vendor::PagerDuty, wait);
        assert_eq!(header(&pd, "ratelimit-reset"), Some("2"));
        assert_eq!(header(&pd, "retry-after"), None);
        let snow = too_many(Vendor::ServiceNow, wait);
        assert_eq!(header(&snow, "retry-after"), Some("2"));
        let reset: u64 = header(&snow, "x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(reset > 1_700_000_000, "{reset}");
        let jira = too_many(Vendor::Jira, wait);
        let iso = header(&jira, "x-ratelimit-reset").unwrap();
        assert!(OffsetDateTime::parse(iso, &Rfc3339).is_ok(), "{iso}");
        for vendor in [
            Vendor::Generic,
            Vendor::PagerDuty,
            Vendor::ServiceNow,
            Vendor::Jira,
        ] {
            let bare = too_many(vendor, None);
            assert_eq!(bare.status(), StatusCode::TOO_MANY_REQUESTS);
            for name in ["retry-after", "ratelimit-reset", "x-ratelimit-reset"] {
                assert_eq!(header(&bare, name), None, "{vendor:?} {name}");
            }
        }
    }

    #[test]
    fn server_errors_answer_the_status_asked_for() {
        assert_eq!(
            server_error(Vendor::Jira, 503).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            server_error(Vendor::Jira, 500).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            server_error(Vendor::Generic, 42).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
