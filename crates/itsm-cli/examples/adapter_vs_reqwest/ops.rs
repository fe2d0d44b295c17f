//! The operations measured, per vendor, through the adapter.

use std::collections::BTreeMap;
use std::time::Duration;

use itsm_core::{IdempotencyKey, ServiceId};
use itsm_http::{Auth, HttpClient, RetryPolicy};
use itsm_incident::{
    Assignment, IncidentId, IncidentSystem, NewIncident, NewPage, PageId, Pager, Priority,
    ServiceKind, Severity,
};
use itsm_jira::{IncidentConfig, Jira, JiraConfig};
use itsm_pagerduty::{PagerDuty, PagerDutyConfig, RateLimits};
use itsm_servicenow::{ServiceNow, ServiceNowConfig};
use reqwest::Url;

/// The vendors benchmarked.
pub(crate) const VENDORS: [&str; 3] = ["pagerduty", "servicenow", "jira"];

/// One adapter pointed at a simulator.
pub(crate) enum Adapter {
    PagerDuty(PagerDuty),
    ServiceNow(ServiceNow),
    Jira(Jira),
}

fn retry() -> RetryPolicy {
    RetryPolicy::new(1, Duration::from_secs(10))
}

impl Adapter {
    /// The adapter of `vendor` against `base` (`http://127.0.0.1:PORT/`), with no
    /// client-side rate limit in the way and no retries.
    pub(crate) fn new(vendor: &str, base: &str) -> Result<Adapter, Box<dyn std::error::Error>> {
        let url: Url = base.parse()?;
        Ok(match vendor {
            "pagerduty" => {
                let c = PagerDutyConfig {
                    api_token: Some("bench-token".to_owned().into()),
                    routing_key: Some("R0UT1NGKEY0000000000000000000000".to_owned().into()),
                    from_email: Some("bench@example.com".into()),
                    rest_url: Some(url.clone()),
                    events_url: Some(url.join("v2/")?),
                    // The trigger is the Events API call alone (the lookup is `get`).
                    trigger_lookup_attempts: 0,
                    rate_limits: RateLimits {
                        rest_per_minute: u32::MAX,
                        events_per_minute: u32::MAX,
                    },
                    ..PagerDutyConfig::default()
                };
                Adapter::PagerDuty(PagerDuty::with_retry(c, retry(), retry())?)
            }
            "servicenow" => {
                let config = ServiceNowConfig::basic(url.clone(), "itsm.bench", "bench-password");
                let http = HttpClient::builder(url)
                    .auth(Auth::basic("itsm.bench", "bench-password"))
                    .retry(retry())
                    .build()?;
                Adapter::ServiceNow(ServiceNow::with_client(config, http)?)
            }
            "jira" => {
                let mut c = JiraConfig::new(url);
                c.email = Some("bench@example.com".into());
                c.api_token = Some("bench-api-token".to_owned().into());
                c.incident = Some(IncidentConfig::for_project("OPS"));
                Adapter::Jira(Jira::with_retry_policy(c, retry())?)
            }
            other => return Err(format!("unknown vendor {other:?}").into()),
        })
    }

    /// The "create" operation with idempotency key `key`: PagerDuty triggers an alert
    /// (Events API v2), ServiceNow and Jira create an incident (looked up by key first).
    /// Returns the id `get` reads.
    pub(crate) async fn create(&self, key: &str) -> Result<String, itsm_core::Error> {
        let key = IdempotencyKey::new(key)?;
        let service = ServiceId::new("checkout")?;
        match self {
            Adapter::PagerDuty(pd) => {
                let page = NewPage {
                    summary: "checkout p99 latency above 2 s".into(),
                    severity: Severity::Critical,
                    source: "prometheus-bench".into(),
                    service,
                    routing: None,
                    links: vec![],
                    details: BTreeMap::from([("alertname".into(), "HighLatency".into())]),
                };
                pd.trigger(&key, &page).await?;
                Ok(String::new())
            }
            Adapter::ServiceNow(sn) => Ok(sn
                .create_incident(&key, &incident(service))
                .await?
                .id
                .to_string()),
            Adapter::Jira(jira) => Ok(jira
                .create_incident(&key, &incident(service))
                .await?
                .id
                .to_string()),
        }
    }

    /// The id of the page triggered with `key` (PagerDuty only; others return `id`).
    pub(crate) async fn page_id(&self, key: &str, id: String) -> Result<String, itsm_core::Error> {
        match self {
            Adapter::PagerDuty(pd) => {
                let key = IdempotencyKey::new(key)?;
                let page = pd.find_page_by_key(&key).await?;
                page.and_then(|p| p.id)
                    .map(|id| id.to_string())
                    .ok_or_else(|| {
                        itsm_core::Error::invalid_input("the simulator has no incident for the key")
                    })
            }
            _ => Ok(id),
        }
    }

    /// The "get" operation: the incident `id`, read and converted.
    pub(crate) async fn get(&self, id: &str) -> Result<(), itsm_core::Error> {
        match self {
            Adapter::PagerDuty(pd) => pd.get_page(&PageId::new(id)?).await.map(drop),
            Adapter::ServiceNow(sn) => sn.get_incident(&IncidentId::new(id)?).await.map(drop),
            Adapter::Jira(jira) => jira.get_incident(&IncidentId::new(id)?).await.map(drop),
        }
    }
}

fn incident(service: ServiceId) -> NewIncident {
    NewIncident {
        summary: "checkout p99 latency above 2 s".into(),
        description: "Alertmanager: HighLatency on checkout".into(),
        priority: Priority::P2,
        assignment: Assignment {
            service,
            kind: ServiceKind::DigitalService,
            team: None,
        },
        tenant: None,
        links_to: vec![],
        links: vec![],
    }
}
