//! Webhooks v3 in: [`PagerDutyWebhooks`], the [`WebhookSource`] `itsm serve` mounts at
//! `POST /v1/webhooks/pagerduty`.
//!
//! | `event.event_type` | [`SyncChange`] |
//! |---|---|
//! | `incident.acknowledged` | `Acknowledged` |
//! | `incident.reassigned`, `incident.delegated` | `Reassigned` to our team whose configured escalation policy (`[pagerduty.teams]`) is the incident's; no event when none is |
//! | `incident.annotated` | `NoteAdded` with the note's content |
//! | `incident.priority_updated` | `PriorityChanged` when the priority is named `P1`..`P5` |
//! | `incident.resolved` | `Resolved` |
//! | other `incident.*`, `service.*`, anything else | none (accepted, ignored) |
//!
//! The [`SyncEvent::key`] is the incident's `incident_key`, which is our dedup key. When
//! the payload has none (an `incident.annotated` payload carries an `incident_note` whose
//! `incident` reference names only the incident id), the event names the page instead
//! ([`SyncEvent::page`]: the incident id) and the sync engine reads the key from the page
//! when it applies the event. A payload with neither gives no event.

use std::fmt;

use itsm_core::{IdempotencyKey, Person, TeamId};
use itsm_http::{SecretString, verify_hmac_sha256_hex};
use itsm_incident::inbound::webhook::{
    WebhookDelivery, WebhookHeaders, WebhookRejection, WebhookSource,
};
use itsm_incident::{Note, PageId, Side, SyncChange, SyncEvent};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::PagerDutyConfig;
use crate::convert::parse_priority;

/// The header carrying the signatures.
pub const SIGNATURE_HEADER: &str = "X-PagerDuty-Signature";

/// PagerDuty webhooks v3: verified with any configured signing secret, parsed into
/// [`SyncEvent`]s.
#[derive(Clone)]
pub struct PagerDutyWebhooks {
    secrets: Vec<SecretString>,
    teams: Vec<(String, TeamId)>,
}

impl PagerDutyWebhooks {
    /// A source checking deliveries against `secrets` (any one may match: several during a
    /// rotation), mapping escalation policies to our teams with `teams`
    /// (policy id, team).
    pub fn new(secrets: Vec<SecretString>, teams: Vec<(String, TeamId)>) -> Self {
        PagerDutyWebhooks { secrets, teams }
    }

    /// The source for `[pagerduty]`: its `webhook_secrets` and `teams`.
    pub fn from_config(config: &PagerDutyConfig) -> Self {
        let teams = config
            .teams
            .iter()
            .map(|(team, policy)| (policy.trim().to_owned(), team.clone()))
            .collect();
        PagerDutyWebhooks::new(config.webhook_secrets.clone(), teams)
    }

    fn team_of_policy(&self, policy: &str) -> Option<TeamId> {
        self.teams
            .iter()
            .find(|(p, _)| p == policy)
            .map(|(_, t)| t.clone())
    }
}

impl fmt::Debug for PagerDutyWebhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutyWebhooks")
            .field("secrets", &self.secrets.len())
            .field("teams", &self.teams)
            .finish()
    }
}

#[derive(Deserialize)]
struct Envelope {
    event: Option<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    occurred_at: Option<String>,
    #[serde(default)]
    agent: Option<Value>,
    #[serde(default)]
    data: Option<Value>,
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = value;
    for part in path {
        at = at.get(part)?;
    }
    at.as_str().filter(|s| !s.trim().is_empty())
}

impl WebhookSource for PagerDutyWebhooks {
    fn name(&self) -> &str {
        "pagerduty"
    }

    fn side(&self) -> Side {
        Side::Paging
    }

    /// Accepts the delivery when one `v1=<hex>` signature of `X-PagerDuty-Signature` (of
    /// any header value sent) is the HMAC-SHA256 of the raw body under one configured
    /// secret. Every pair is compared, in constant time each.
    fn verify(&self, headers: &WebhookHeaders, body: &[u8]) -> Result<(), WebhookRejection> {
        if self.secrets.is_empty() {
            return Err(WebhookRejection::Unauthorized(
                "no PagerDuty webhook signing secret is configured".into(),
            ));
        }
        let signatures: Vec<&str> = headers
            .get_all(SIGNATURE_HEADER)
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().strip_prefix("v1="))
            .collect();
        if signatures.is_empty() {
            return Err(WebhookRejection::Unauthorized(format!(
                "missing {SIGNATURE_HEADER} v1 signature"
            )));
        }
        let mut matched = false;
        for secret in &self.secrets {
            for signature in &signatures {
                // No early exit: the time taken does not say which pair matched.
                matched |= verify_hmac_sha256_hex(secret, body, signature);
            }
        }
        if matched {
            Ok(())
        } else {
            Err(WebhookRejection::Unauthorized(format!(
                "no {SIGNATURE_HEADER} signature matches a configured secret"
            )))
        }
    }

    fn parse(
        &self,
        _headers: &WebhookHeaders,
        body: &[u8],
    ) -> Result<WebhookDelivery, WebhookRejection> {
        let malformed = |why: &str| WebhookRejection::Malformed(why.to_owned());
        let envelope: Envelope = serde_json::from_slice(body)
            .map_err(|_| malformed("the body is not a PagerDuty webhooks v3 JSON payload"))?;
        let event = envelope
            .event
            .ok_or_else(|| malformed("the payload has no `event` object"))?;
        let delivery_id = event
            .id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| malformed("`event.id` is missing"))?;
        let mut delivery = WebhookDelivery {
            delivery_id: delivery_id.clone(),
            events: Vec::new(),
        };
        let event_type = event.event_type.unwrap_or_default();
        let Some(data) = event.data else {
            return Ok(delivery);
        };
        let change = match event_type.as_str() {
            "incident.acknowledged" => Some(SyncChange::Acknowledged),
            "incident.resolved" => Some(SyncChange::Resolved { notes: None }),
            "incident.reassigned" | "incident.delegated" => {
                str_at(&data, &["escalation_policy", "id"])
                    .and_then(|p| self.team_of_policy(p))
                    .map(|team| SyncChange::Reassigned { team })
            }
            "incident.priority_updated" => str_at(&data, &["priority", "summary"])
                .or_else(|| str_at(&data, &["priority", "name"]))
                .and_then(parse_priority)
                .map(|priority| SyncChange::PriorityChanged { priority }),
            "incident.annotated" => str_at(&data, &["content"]).map(|text| SyncChange::NoteAdded {
                note: Note {
                    text: text.to_owned(),
                    author: event
                        .agent
                        .as_ref()
                        .and_then(|a| str_at(a, &["summary"]))
                        .map(Person::named),
                },
            }),
            _ => None,
        };
        let Some(change) = change else {
            return Ok(delivery);
        };
        let key = str_at(&data, &["incident_key"])
            .or_else(|| str_at(&data, &["incident", "incident_key"]))
            .and_then(|k| IdempotencyKey::new(k).ok());
        let page = match key {
            Some(_) => None,
            None => incident_id(&data),
        };
        if key.is_none() && page.is_none() {
            tracing::debug!(
                event_type,
                "pagerduty webhook names neither an incident_key nor an incident: no sync event"
            );
            return Ok(delivery);
        }
        let occurred_at = event
            .occurred_at
            .as_deref()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .ok_or_else(|| malformed("`event.occurred_at` is missing or not an RFC 3339 time"))?;
        delivery.events.push(SyncEvent {
            delivery_id,
            side: Side::Paging,
            key,
            page,
            occurred_at,
            actor: event
                .agent
                .as_ref()
                .and_then(|a| str_at(a, &["summary"]))
                .map(str::to_owned),
            change,
        });
        Ok(delivery)
    }
}

/// The PagerDuty incident the event is about: `data.id` when `data` is the incident, else
/// the `data.incident` reference's id (notes, responders, status updates).
fn incident_id(data: &Value) -> Option<PageId> {
    let id = match str_at(data, &["type"]) {
        Some("incident") => str_at(data, &["id"]),
        _ => str_at(data, &["incident", "id"]),
    };
    id.and_then(|id| PageId::new(id).ok())
}
