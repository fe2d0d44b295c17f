//! REST operations beyond the [`Pager`](itsm_incident::Pager) port: creating incidents
//! over REST, listing them page by page, status updates and services.

use itsm_core::{Error, IdempotencyKey, ListRequest, Listing, Result};
use itsm_incident::{Page, PageId, PageStatus, Priority};
use serde_json::json;

use crate::adapter::PagerDuty;
use crate::events::{MAX_SUMMARY_CHARS, truncate};
use crate::{convert, wire};

/// An incident to open through the REST API (`POST /incidents`), for callers that page a
/// PagerDuty service by id rather than through an Events integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRestIncident {
    /// The title.
    pub title: String,
    /// Longer text (`body.details`).
    pub details: Option<String>,
    /// The PagerDuty service id; `None` uses `[pagerduty] default_service`.
    pub service_id: Option<String>,
    /// The escalation policy id; `None` uses `[pagerduty] default_escalation_policy`, if set.
    pub escalation_policy_id: Option<String>,
    /// `true` for high urgency.
    pub high_urgency: bool,
    /// A priority to set, when the account has priorities.
    pub priority: Option<Priority>,
}

/// Which incidents [`PagerDuty::list_pages`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFilter {
    /// Only these statuses (empty = any).
    pub statuses: Vec<PageStatus>,
    /// Only these PagerDuty service ids (empty = any).
    pub service_ids: Vec<String>,
}

/// The default page size of listings, and PagerDuty's largest.
const DEFAULT_LIMIT: u32 = 25;
const MAX_LIMIT: u32 = 100;

fn offset_of(page: &ListRequest) -> Result<u64> {
    match page.cursor.as_deref() {
        None => Ok(0),
        Some(c) => c.trim().parse().map_err(|_| {
            Error::invalid_input(format!(
                "cursor {c:?} is not a PagerDuty listing cursor; pass back a `next` value"
            ))
        }),
    }
}

fn status_name(status: PageStatus) -> &'static str {
    match status {
        PageStatus::Triggered => "triggered",
        PageStatus::Acknowledged => "acknowledged",
        PageStatus::Resolved => "resolved",
    }
}

impl PagerDuty {
    /// Opens an incident with `POST /incidents` (`From` header, `incident_key` = `key`),
    /// or returns the one already opened with `key` (looked up first).
    pub async fn create_incident(
        &self,
        key: &IdempotencyKey,
        incident: &NewRestIncident,
    ) -> Result<Page> {
        let rest = self.rest("create_incident")?;
        if let Some(existing) = self.incident_by_key(rest, key).await? {
            return convert::page(&existing, Some(key));
        }
        let service = incident
            .service_id
            .clone()
            .or_else(|| self.config.default_service.clone())
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid_input(
                    "no PagerDuty service for the incident: give a service id or set \
                     [pagerduty] default_service",
                )
            })?;
        let mut body = json!({
            "type": "incident",
            "title": truncate(&incident.title, MAX_SUMMARY_CHARS),
            "service": { "id": service.trim(), "type": "service_reference" },
            "incident_key": key.as_str(),
            "urgency": if incident.high_urgency { "high" } else { "low" },
        });
        if let Some(obj) = body.as_object_mut() {
            if let Some(details) = incident.details.as_deref().filter(|d| !d.is_empty()) {
                obj.insert(
                    "body".into(),
                    json!({ "type": "incident_body", "details": details }),
                );
            }
            let policy = incident
                .escalation_policy_id
                .clone()
                .or_else(|| self.config.default_escalation_policy.clone());
            if let Some(policy) = policy.filter(|p| !p.trim().is_empty()) {
                obj.insert(
                    "escalation_policy".into(),
                    json!({ "id": policy.trim(), "type": "escalation_policy_reference" }),
                );
            }
            if let Some(priority) = incident.priority {
                let id = self.priority_id(rest, priority).await?;
                obj.insert(
                    "priority".into(),
                    json!({ "id": id, "type": "priority_reference" }),
                );
            }
        }
        let created: wire::IncidentEnvelope = rest
            .post_json("incidents", &json!({ "incident": body }))
            .await?;
        convert::page(&created.incident, Some(key))
    }

    /// One page of incidents (`GET /incidents`, `offset`/`limit`; the cursor is the next
    /// offset).
    pub async fn list_pages(
        &self,
        filter: &PageFilter,
        page: &ListRequest,
    ) -> Result<Listing<Page>> {
        let rest = self.rest("list_pages")?;
        let offset = offset_of(page)?;
        let limit = page.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let mut query: Vec<(&str, String)> =
            vec![("limit", limit.to_string()), ("offset", offset.to_string())];
        query.extend(
            filter
                .statuses
                .iter()
                .map(|s| ("statuses[]", status_name(*s).to_owned())),
        );
        query.extend(
            filter
                .service_ids
                .iter()
                .map(|s| ("service_ids[]", s.trim().to_owned())),
        );
        let list: wire::IncidentList = rest.get("incidents", &query).await?;
        let count = list.incidents.len() as u64;
        let items = list
            .incidents
            .iter()
            .map(|i| convert::page(i, None))
            .collect::<Result<Vec<_>>>()?;
        let next = (list.more == Some(true) && count > 0)
            .then(|| (list.offset.unwrap_or(offset) + count).to_string());
        Ok(Listing { items, next })
    }

    /// Publishes a status update on an incident (`POST /incidents/{id}/status_updates`,
    /// `From` header). Not deduplicated by PagerDuty: call it once per update.
    pub async fn post_status_update(&self, id: &PageId, message: &str) -> Result<()> {
        let rest = self.rest("post_status_update")?;
        if message.trim().is_empty() {
            return Err(Error::invalid_input("a status update needs a message"));
        }
        let path = format!(
            "incidents/{}/status_updates",
            crate::pager::encode_segment(id.as_str())
        );
        rest.post(&path, &json!({ "message": message }), true).await
    }

    /// One page of the account's services (`GET /services`).
    pub async fn list_services(&self, page: &ListRequest) -> Result<Listing<wire::Service>> {
        let rest = self.rest("list_services")?;
        let offset = offset_of(page)?;
        let limit = page.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
        let query = [("limit", limit.to_string()), ("offset", offset.to_string())];
        let list: wire::ServiceList = rest.get("services", &query).await?;
        let count = list.services.len() as u64;
        let next = (list.more == Some(true) && count > 0).then(|| (offset + count).to_string());
        Ok(Listing {
            items: list.services,
            next,
        })
    }
}
