//! Serves one vendor simulator of `itsm-testkit` on a loopback address, in a process of its
//! own, so that a benchmark measures the client's CPU time alone (`benches/README.md`).
//!
//! ```text
//! cargo run --release -p itsm-cli --example sim_server -- pagerduty|servicenow|jira 127.0.0.1:18080
//! ```
//!
//! It prints `listening on ADDR` once bound. Besides the vendor's API it answers
//! `GET /_sim/stats` with counts of what it holds (for PagerDuty: incidents and alert
//! events; for ServiceNow: incident rows; for Jira: issues), which the benchmark scripts
//! read to check that nothing was dropped.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use itsm_testkit::sim::jira::JiraSim;
use itsm_testkit::sim::pagerduty::PagerDutySim;
use itsm_testkit::sim::servicenow::ServiceNowSim;
use serde_json::json;

const USAGE: &str = "usage: sim_server pagerduty|servicenow|jira 127.0.0.1:PORT";

fn router(vendor: &str) -> Result<Router, String> {
    Ok(match vendor {
        "pagerduty" => {
            let sim = PagerDutySim::new();
            let stats = sim.clone();
            sim.router().route(
                "/_sim/stats",
                get(move || {
                    let s = stats.clone();
                    async move {
                        axum::Json(json!({
                            "incidents": s.incident_count(),
                            "alert_events": s.alert_events().len(),
                        }))
                    }
                }),
            )
        }
        "servicenow" => {
            let sim = ServiceNowSim::new();
            let stats = sim.clone();
            sim.router().route(
                "/_sim/stats",
                get(move || {
                    let s = stats.clone();
                    async move { axum::Json(json!({ "incidents": s.rows("incident").len() })) }
                }),
            )
        }
        "jira" => {
            let sim = JiraSim::new();
            let stats = sim.clone();
            sim.router().route(
                "/_sim/stats",
                get(move || {
                    let s = stats.clone();
                    async move { axum::Json(json!({ "issues": s.issues().len() })) }
                }),
            )
        }
        other => return Err(format!("unknown simulator {other:?}; {USAGE}")),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let vendor = args.next().ok_or(USAGE)?;
    let addr: SocketAddr = args.next().ok_or(USAGE)?.parse()?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{addr} is not a loopback address; the simulator serves only 127.0.0.1 or ::1"
        )
        .into());
    }
    let router = router(&vendor)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
