//! Jira's issue webhooks as a [`WebhookSource`] (`POST /v1/webhooks/jira`).
//!
//! - **Verify**: with a secret configured, `X-Hub-Signature: sha256=<hex>` must be the
//!   HMAC-SHA256 of the raw body (compared in constant time); without one, every delivery
//!   is accepted (put the endpoint behind another check).
//! - **Parse**: `jira:issue_updated` changelog items for `status` (to an acknowledged,
//!   resolved or closed status), `priority`, `Component` and our `itsm-team:` label
//!   (reassigned), and `comment_created` (a note). The incident's key comes from its
//!   `itsm-key:` label, so only label-carried keys sync (issue properties are not in
//!   webhook payloads); issues without it, and other events, give no events.
//! - **Delivery id**: the `X-Atlassian-Webhook-Identifier` header; when absent,
//!   `sha256-<first 32 hex digits of the body's SHA-256>-<timestamp>`, so a redelivery of
//!   the same bytes has the same id. One delivery with several changes gives ids
//!   `<id>#0`, `<id>#1`, ...

use std::fmt;

use itsm_core::{IdempotencyKey, TeamId};
use itsm_incident::inbound::webhook::{
    WebhookDelivery, WebhookHeaders, WebhookRejection, WebhookSource,
};
use itsm_incident::{IncidentState, Note, Priority, Side, SyncChange, SyncEvent};
use secrecy::SecretString;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::config::IncidentConfig;
use crate::labels::Labels;
use crate::status::IncidentStatuses;

/// The signature header Jira sends when the webhook has a secret.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature";
/// The delivery id header.
pub const DELIVERY_HEADER: &str = "X-Atlassian-Webhook-Identifier";

/// Jira's webhook, verified and parsed for the sync engine.
#[derive(Clone)]
pub struct JiraWebhook {
    secret: Option<SecretString>,
    labels: Labels,
    statuses: IncidentStatuses,
    priorities: [String; 5],
}

impl fmt::Debug for JiraWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JiraWebhook")
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

impl JiraWebhook {
    /// A source verifying with `secret` (none: unsigned deliveries accepted) and reading
    /// keys from labels with `label_prefix` (`itsm-` by default).
    pub fn with_secret(secret: Option<SecretString>, label_prefix: &str) -> Self {
        JiraWebhook::new(secret, Labels::new(label_prefix))
    }

    pub(crate) fn new(secret: Option<SecretString>, labels: Labels) -> Self {
        JiraWebhook {
            secret,
            labels,
            statuses: IncidentStatuses::default(),
            priorities: ["Highest", "High", "Medium", "Low", "Lowest"].map(String::from),
        }
    }

    /// Uses the incident configuration's status and priority names.
    pub fn with_incident_config(mut self, config: Option<IncidentConfig>) -> Self {
        if let Some(c) = config {
            self.statuses = c.statuses;
            self.priorities = c.priorities;
        }
        self
    }

    fn priority(&self, name: &str) -> Option<Priority> {
        let i = self
            .priorities
            .iter()
            .position(|p| p.eq_ignore_ascii_case(name.trim()))?;
        Some(
            [
                Priority::P1,
                Priority::P2,
                Priority::P3,
                Priority::P4,
                Priority::P5,
            ][i.min(4)],
        )
    }

    fn changes(&self, payload: &Value) -> Vec<SyncChange> {
        let event = payload
            .get("webhookEvent")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match event {
            "comment_created" => {
                let Some(comment) = payload.get("comment") else {
                    return vec![];
                };
                let text = comment
                    .get("body")
                    .map(crate::adf::text)
                    .unwrap_or_default();
                if text.trim().is_empty() {
                    return vec![];
                }
                let author = comment
                    .get("author")
                    .and_then(|a| a.get("displayName"))
                    .and_then(Value::as_str)
                    .map(itsm_core::Person::named);
                vec![SyncChange::NoteAdded {
                    note: Note { text, author },
                }]
            }
            "jira:issue_updated" => {
                let items = payload
                    .get("changelog")
                    .and_then(|c| c.get("items"))
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                items
                    .iter()
                    .filter_map(|item| self.item_change(item))
                    .collect()
            }
            _ => vec![],
        }
    }

    fn item_change(&self, item: &Value) -> Option<SyncChange> {
        let field = item.get("field").and_then(Value::as_str)?;
        let to = item
            .get("toString")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match field.to_ascii_lowercase().as_str() {
            "status" => match self.statuses.state_of(to)? {
                IncidentState::Acknowledged => Some(SyncChange::Acknowledged),
                IncidentState::Resolved | IncidentState::Closed => {
                    Some(SyncChange::Resolved { notes: None })
                }
                _ => None,
            },
            "priority" => Some(SyncChange::PriorityChanged {
                priority: self.priority(to)?,
            }),
            "component" => {
                let name = to.split(',').next()?.trim();
                Some(SyncChange::Reassigned {
                    team: TeamId::new(name).ok()?,
                })
            }
            "labels" => {
                let from = item
                    .get("fromString")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let before: Vec<String> = from.split_whitespace().map(String::from).collect();
                let after: Vec<String> = to.split_whitespace().map(String::from).collect();
                let team = self.labels.value(&after, "team")?;
                if self.labels.value(&before, "team") == Some(team) {
                    return None;
                }
                Some(SyncChange::Reassigned {
                    team: TeamId::new(team).ok()?,
                })
            }
            _ => None,
        }
    }
}

impl WebhookSource for JiraWebhook {
    fn name(&self) -> &str {
        "jira"
    }

    fn side(&self) -> Side {
        Side::Ticketing
    }

    fn verify(&self, headers: &WebhookHeaders, body: &[u8]) -> Result<(), WebhookRejection> {
        let Some(secret) = &self.secret else {
            return Ok(());
        };
        let Some(value) = headers.get(SIGNATURE_HEADER) else {
            return Err(WebhookRejection::Unauthorized(format!(
                "{SIGNATURE_HEADER} is missing; configure the webhook's secret in Jira"
            )));
        };
        let Some(hex) = value.trim().strip_prefix("sha256=") else {
            return Err(WebhookRejection::Unauthorized(format!(
                "{SIGNATURE_HEADER} is not of the form sha256=<hex>"
            )));
        };
        if itsm_http::verify_hmac_sha256_hex(secret, body, hex) {
            Ok(())
        } else {
            Err(WebhookRejection::Unauthorized(
                "the signature does not match the body".into(),
            ))
        }
    }

    fn parse(
        &self,
        headers: &WebhookHeaders,
        body: &[u8],
    ) -> Result<WebhookDelivery, WebhookRejection> {
        let payload: Value = serde_json::from_slice(body)
            .map_err(|e| WebhookRejection::Malformed(format!("the body is not JSON: {e}")))?;
        if !payload.is_object() {
            return Err(WebhookRejection::Malformed(
                "the body is not a JSON object".into(),
            ));
        }
        let millis = payload.get("timestamp").and_then(Value::as_i64);
        let delivery_id = match headers.get(DELIVERY_HEADER).map(str::trim) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => {
                let digest = Sha256::digest(body);
                let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
                format!("sha256-{hex}-{}", millis.unwrap_or_default())
            }
        };
        let occurred_at = millis
            .and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
            .unwrap_or_else(OffsetDateTime::now_utc);
        let labels: Vec<String> = payload
            .pointer("/issue/fields/labels")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let key = self
            .labels
            .value(&labels, "key")
            .and_then(|k| IdempotencyKey::new(k).ok());
        let actor = payload
            .pointer("/user/displayName")
            .or_else(|| payload.pointer("/comment/author/displayName"))
            .and_then(Value::as_str)
            .map(String::from);
        let events = match key {
            None => vec![],
            Some(key) => {
                let changes = self.changes(&payload);
                let many = changes.len() > 1;
                changes
                    .into_iter()
                    .enumerate()
                    .map(|(i, change)| SyncEvent {
                        delivery_id: if many {
                            format!("{delivery_id}#{i}")
                        } else {
                            delivery_id.clone()
                        },
                        side: Side::Ticketing,
                        key: Some(key.clone()),
                        page: None,
                        occurred_at,
                        actor: actor.clone(),
                        change,
                    })
                    .collect()
            }
        };
        Ok(WebhookDelivery {
            delivery_id,
            events,
        })
    }
}
