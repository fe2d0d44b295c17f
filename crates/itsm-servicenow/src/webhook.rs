//! Inbound: incident updates pushed by a ServiceNow business rule, as a [`WebhookSource`]
//! served by `itsm serve` at `POST /v1/webhooks/servicenow`.
//!
//! # The delivery
//!
//! An *after update* business rule on `incident` sends, through an outbound REST message
//! with Basic or bearer authentication, this JSON (the shape is ours; ServiceNow has no
//! standard one):
//!
//! ```json
//! {
//!   "delivery_id": "3f2a9c1e6f1b4c1d9a0e2b7c5d4e8f10",
//!   "sys_id": "9d385017c611228701d22104cc95c371",
//!   "number": "INC0010023",
//!   "correlation_id": "alertmanager/checkout/HighLatency",
//!   "sys_updated_on": "2026-05-01 10:05:00",
//!   "updated_by": "ada.lovelace",
//!   "changed": ["state", "work_notes"],
//!   "state": "2",
//!   "acknowledged": "true",
//!   "assignment_group": "team-checkout",
//!   "priority": "2",
//!   "work_notes": "Rolled back to 1.4.1",
//!   "close_notes": ""
//! }
//! ```
//!
//! - `delivery_id` (required): one id per update, the same on every resend; a delivery
//!   seen before has no second effect.
//! - `correlation_id`: our key; an incident without one is not ours (accepted, ignored).
//! - `sys_updated_on` (required): ServiceNow's UTC time of the update.
//! - `changed`: the fields that changed; each gives one event: `state` (acknowledged, or
//!   resolved / closed with `close_notes`), `assignment_group` (reassigned to that team),
//!   `priority` (1-5), `work_notes` (the newest entry). Other values are ignored.
//!
//! # The business rule
//!
//! ```js
//! // Table: incident, When: after, Update: true, Advanced, Condition: correlation_id is not empty
//! (function executeRule(current, previous) {
//!   var changed = [];
//!   ['state', 'assignment_group', 'priority', 'work_notes'].forEach(function (f) {
//!     if (current[f].changes()) changed.push(f);
//!   });
//!   if (changed.length === 0) return;
//!   var body = {
//!     delivery_id: gs.generateGUID(),
//!     sys_id: current.getUniqueValue(),
//!     number: current.getValue('number'),
//!     correlation_id: current.getValue('correlation_id'),
//!     sys_updated_on: current.getValue('sys_updated_on'),
//!     updated_by: current.getValue('sys_updated_by'),
//!     changed: changed,
//!     state: current.getValue('state'),
//!     acknowledged: current.getValue('u_itsm_acknowledged'),
//!     assignment_group: current.assignment_group.getDisplayValue(),
//!     priority: current.getValue('priority'),
//!     work_notes: current.work_notes.getJournalEntry(1),
//!     close_notes: current.getValue('close_notes')
//!   };
//!   // REST message "itsm-rs", method "post": POST https://<itsm serve>/v1/webhooks/servicenow,
//!   // authentication profile: Basic (or an OAuth bearer token).
//!   var request = new sn_ws.RESTMessageV2('itsm-rs', 'post');
//!   request.setRequestHeader('Content-Type', 'application/json');
//!   request.setRequestBody(JSON.stringify(body));
//!   request.executeAsync();
//! })(current, previous);
//! ```

use std::fmt;

use itsm_core::{Error, ErrorKind, IdempotencyKey, Result, TeamId};
use itsm_incident::inbound::webhook::{
    WebhookDelivery, WebhookHeaders, WebhookRejection, WebhookSource,
};
use itsm_incident::{IncidentState, Note, Side, SyncChange, SyncEvent};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::config::{IncidentStates, ServiceNowConfig};
use crate::record::{Record, parse_time};

/// The webhook source of ServiceNow business-rule deliveries (name `servicenow`).
#[derive(Clone)]
pub struct ServiceNowWebhook {
    /// The whole expected `Authorization` header value.
    expected: SecretString,
    states: IncidentStates,
}

impl fmt::Debug for ServiceNowWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceNowWebhook")
            .field("expected", &format_args!("[REDACTED]"))
            .field("states", &self.states)
            .finish()
    }
}

impl ServiceNowWebhook {
    /// The source for `config`'s `[servicenow.webhook]` credentials.
    pub fn from_config(config: &ServiceNowConfig) -> Result<Self> {
        let w = &config.webhook;
        let expected = match (&w.token, &w.username, &w.password) {
            (Some(token), None, _) => format!("Bearer {}", token.expose_secret().trim()),
            (None, Some(user), Some(password)) => format!(
                "Basic {}",
                base64(format!("{user}:{}", password.expose_secret()).as_bytes())
            ),
            _ => {
                return Err(Error::new(
                    ErrorKind::Config,
                    "[servicenow.webhook] needs username and password (SERVICENOW_WEBHOOK_PASSWORD) or a token (SERVICENOW_WEBHOOK_TOKEN)",
                ));
            }
        };
        Ok(ServiceNowWebhook {
            expected: SecretString::from(expected),
            states: config.incident_states.clone(),
        })
    }
}

impl WebhookSource for ServiceNowWebhook {
    fn name(&self) -> &str {
        "servicenow"
    }

    fn side(&self) -> Side {
        Side::Ticketing
    }

    fn verify(&self, headers: &WebhookHeaders, _body: &[u8]) -> Result<(), WebhookRejection> {
        let Some(sent) = headers.get("authorization") else {
            return Err(WebhookRejection::Unauthorized(
                "no Authorization header; configure the REST message's authentication".into(),
            ));
        };
        if constant_time_eq(
            sent.trim().as_bytes(),
            self.expected.expose_secret().as_bytes(),
        ) {
            Ok(())
        } else {
            Err(WebhookRejection::Unauthorized(
                "the credentials do not match [servicenow.webhook]".into(),
            ))
        }
    }

    fn parse(
        &self,
        _headers: &WebhookHeaders,
        body: &[u8],
    ) -> Result<WebhookDelivery, WebhookRejection> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| WebhookRejection::Malformed("the body is not JSON".into()))?;
        let record = Record::from_value(value)
            .ok_or_else(|| WebhookRejection::Malformed("the body is not a JSON object".into()))?;
        let delivery_id = record.value("delivery_id").ok_or_else(|| {
            WebhookRejection::Malformed("`delivery_id` is missing; send gs.generateGUID()".into())
        })?;
        let Some(key) = record
            .value("correlation_id")
            .and_then(|k| IdempotencyKey::new(k).ok())
        else {
            // Not an incident itsm-rs opened.
            return Ok(WebhookDelivery {
                delivery_id,
                events: Vec::new(),
            });
        };
        let occurred_at = record
            .value("sys_updated_on")
            .and_then(|t| parse_time(&t))
            .ok_or_else(|| {
                WebhookRejection::Malformed(
                    "`sys_updated_on` is missing or not `YYYY-MM-DD HH:MM:SS`".into(),
                )
            })?;
        let actor = record.value("updated_by");
        let changed: Vec<String> = record
            .0
            .get("changed")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let changes: Vec<SyncChange> = changed
            .iter()
            .filter_map(|field| self.change_of(&record, field, actor.as_deref()))
            .collect();
        let several = changes.len() > 1;
        let events = changes
            .into_iter()
            .map(|change| SyncEvent {
                delivery_id: if several {
                    format!(
                        "{delivery_id}#{}",
                        change.field().map_or("note", |f| f.as_str())
                    )
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
            .collect();
        Ok(WebhookDelivery {
            delivery_id,
            events,
        })
    }
}

impl ServiceNowWebhook {
    fn change_of(&self, r: &Record, field: &str, actor: Option<&str>) -> Option<SyncChange> {
        match field {
            "state" => match self
                .states
                .state(&r.value("state")?, r.flag("acknowledged"))
            {
                IncidentState::Acknowledged => Some(SyncChange::Acknowledged),
                IncidentState::Resolved | IncidentState::Closed => Some(SyncChange::Resolved {
                    notes: r.value("close_notes"),
                }),
                _ => None,
            },
            "assignment_group" => r
                .display("assignment_group")
                .and_then(|t| TeamId::new(t).ok())
                .map(|team| SyncChange::Reassigned { team }),
            "priority" => {
                let priority = crate::incident_map::priority_of(r.number("priority")?)?;
                Some(SyncChange::PriorityChanged { priority })
            }
            "work_notes" => {
                let text = journal_text(&r.value("work_notes")?);
                (!text.is_empty()).then(|| SyncChange::NoteAdded {
                    note: Note {
                        text,
                        author: actor.map(itsm_core::Person::named),
                    },
                })
            }
            _ => None,
        }
    }
}

/// The text of a `getJournalEntry(1)` value, without its `<time> - <user> (Work notes)`
/// header line.
fn journal_text(entry: &str) -> String {
    let entry = entry.trim();
    match entry.split_once('\n') {
        Some((first, rest)) if first.trim_end().ends_with(')') && first.contains(" - ") => {
            rest.trim().to_owned()
        }
        _ => entry.to_owned(),
    }
}

/// Compares in time independent of where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Standard base64 with padding.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_constant_time_compare() {
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(b"fo"), "Zm8=");
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn journal_headers_are_removed() {
        assert_eq!(
            journal_text("2026-05-01 10:05:00 - Ada Lovelace (Work notes)\nRolled back\n"),
            "Rolled back"
        );
        assert_eq!(journal_text("Just text"), "Just text");
    }
}
