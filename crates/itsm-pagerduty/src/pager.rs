//! The [`Pager`] port over PagerDuty.

use async_trait::async_trait;
use itsm_core::{Capabilities, Error, IdempotencyKey, Person, Result};
use itsm_incident::{
    ChangeEvent, NewPage, Note, OnCall, OnCallQuery, Page, PageAssignment, PageId, PageStatus,
    Pager, Priority, ResponderRequest,
};
use serde_json::{Value, json};

use crate::adapter::PagerDuty;
use crate::events::{Action, MAX_SUMMARY_CHARS, truncate};
use crate::{convert, wire};

/// The marker that makes a keyed note or responder request findable again.
pub(crate) fn key_marker(key: &IdempotencyKey) -> String {
    format!("[itsm:{key}]")
}

fn incident_path(id: &PageId) -> String {
    format!("incidents/{}", encode_segment(id.as_str()))
}

/// Percent-encodes a path segment (PagerDuty ids are alphanumeric, but ids come from
/// callers).
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl PagerDuty {
    async fn event(&self, key: &IdempotencyKey, action: Action) -> Result<()> {
        let status = self.status_for_event(key).await?;
        if status == Some(PageStatus::Resolved) {
            // Nothing left to do; PagerDuty would drop the event anyway.
            return Ok(());
        }
        self.events
            .act(key, action, self.routing_of(key).as_deref())
            .await
    }

    async fn put_incident(&self, id: &PageId, operation: &str, incident: Value) -> Result<Page> {
        let rest = self.rest(operation)?;
        let mut incident = incident;
        if let Some(obj) = incident.as_object_mut() {
            obj.insert("type".into(), json!("incident_reference"));
        }
        let env: wire::IncidentEnvelope = rest
            .put(&incident_path(id), &json!({ "incident": incident }))
            .await?;
        convert::page(&env.incident, None)
    }

    fn team_policy(&self, team: &itsm_core::TeamId) -> Result<String> {
        self.config
            .team_policy(team)
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "team {team} has no PagerDuty escalation policy; add it under \
                     [pagerduty.teams] as `{team} = \"<escalation policy id>\"`"
                ))
                .with_context("team", team)
            })
    }
}

#[async_trait]
impl Pager for PagerDuty {
    fn capabilities(&self) -> Capabilities {
        PagerDuty::capabilities(self)
    }

    /// `POST /v2/enqueue` (`trigger`, `dedup_key` = `key`), then, with an API token, the
    /// incident is looked up by key (`trigger_lookup_attempts` times) to return its id.
    async fn trigger(&self, key: &IdempotencyKey, page: &NewPage) -> Result<Page> {
        self.events.trigger(key, page).await?;
        let explicit = page.routing.clone().filter(|r| !r.trim().is_empty());
        let routing = explicit.or_else(|| {
            use secrecy::ExposeSecret;
            self.config
                .routing_keys
                .get(&page.service)
                .map(|k| k.expose_secret().trim().to_owned())
        });
        self.remember_routing(key, routing);
        if self.rest.is_some() {
            let attempts = self.config.trigger_lookup_attempts;
            for attempt in 0..attempts {
                if let Some(found) = self.page_by_key(key).await? {
                    return Ok(found);
                }
                if attempt + 1 < attempts {
                    tokio::time::sleep(self.lookup_delay * (attempt + 1)).await;
                }
            }
        }
        Ok(Page {
            id: None,
            key: key.clone(),
            status: PageStatus::Triggered,
            summary: truncate(&page.summary, MAX_SUMMARY_CHARS),
            priority: None,
            assignees: Vec::new(),
            external: None,
            created_at: None,
        })
    }

    /// `GET /incidents?incident_key=<key>`; always `None` without an API token.
    async fn find_page_by_key(&self, key: &IdempotencyKey) -> Result<Option<Page>> {
        self.page_by_key(key).await
    }

    async fn get_page(&self, id: &PageId) -> Result<Page> {
        let rest = self.rest("get_page")?;
        let env: wire::IncidentEnvelope = rest.get(&incident_path(id), &[]).await?;
        convert::page(&env.incident, None)
    }

    /// `POST /v2/enqueue` (`acknowledge`). With an API token the key is checked first
    /// (`NotFound` when never triggered). The Events API records no actor: `by` is unused.
    async fn acknowledge(&self, key: &IdempotencyKey, _by: Option<Person>) -> Result<()> {
        self.event(key, Action::Acknowledge).await
    }

    /// `POST /v2/enqueue` (`resolve`); resolving a resolved page does nothing.
    async fn resolve(&self, key: &IdempotencyKey, _by: Option<Person>) -> Result<()> {
        self.event(key, Action::Resolve).await
    }

    /// `PUT /incidents/{id}` with `escalation_policy` (a policy, or a team's configured
    /// policy) or `assignments` (people by handle = user id, email or exact name).
    async fn reassign(&self, id: &PageId, to: &PageAssignment) -> Result<Page> {
        let rest = self.rest("reassign")?;
        let incident = match to {
            PageAssignment::EscalationPolicy(policy) => json!({
                "escalation_policy": { "id": policy.trim(), "type": "escalation_policy_reference" }
            }),
            PageAssignment::Team(team) => json!({
                "escalation_policy": {
                    "id": self.team_policy(team)?,
                    "type": "escalation_policy_reference"
                }
            }),
            PageAssignment::People(people) => {
                if people.is_empty() {
                    return Err(Error::invalid_input(
                        "reassigning to people needs at least one person",
                    ));
                }
                let mut assignments = Vec::with_capacity(people.len());
                for person in people {
                    let user = self.user_id(rest, person).await?;
                    assignments
                        .push(json!({ "assignee": { "id": user, "type": "user_reference" } }));
                }
                json!({ "assignments": assignments })
            }
        };
        self.put_incident(id, "reassign", incident).await
    }

    /// `PUT /incidents/{id}` with the priority id named `P1`..`P5` (`GET /priorities`).
    async fn set_priority(&self, id: &PageId, priority: Priority) -> Result<Page> {
        let rest = self.rest("set_priority")?;
        let priority_id = self.priority_id(rest, priority).await?;
        let incident = json!({ "priority": { "id": priority_id, "type": "priority_reference" } });
        self.put_incident(id, "set_priority", incident).await
    }

    /// `GET /incidents/{id}/notes`, then `POST /incidents/{id}/notes` unless a note carries
    /// `[itsm:<key>]` already. The note is written as the `From` user.
    async fn add_note(&self, id: &PageId, key: &IdempotencyKey, note: &Note) -> Result<()> {
        let rest = self.rest("add_note")?;
        let path = format!("{}/notes", incident_path(id));
        let marker = key_marker(key);
        let existing: wire::NoteList = rest.get(&path, &[]).await?;
        if existing.notes.iter().any(|n| n.content.contains(&marker)) {
            return Ok(());
        }
        let content = format!("{}\n\n{marker}", note.text.trim_end());
        rest.post(&path, &json!({ "note": { "content": content } }), true)
            .await
    }

    /// `GET /incidents/{id}`, then `POST /incidents/{id}/responder_requests` unless a
    /// request's message carries `[itsm:<key>]` already. Teams are engaged through their
    /// configured escalation policy.
    async fn request_responders(
        &self,
        id: &PageId,
        key: &IdempotencyKey,
        request: &ResponderRequest,
    ) -> Result<()> {
        let rest = self.rest("request_responders")?;
        let marker = key_marker(key);
        let env: wire::IncidentEnvelope = rest.get(&incident_path(id), &[]).await?;
        let asked = env
            .incident
            .responder_requests
            .iter()
            .any(|r| r.message.as_deref().is_some_and(|m| m.contains(&marker)));
        if asked {
            return Ok(());
        }
        let mut targets = Vec::new();
        let policy = |id: &str| json!({ "responder_request_target": { "id": id.trim(), "type": "escalation_policy_reference" } });
        for team in &request.teams {
            targets.push(policy(&self.team_policy(team)?));
        }
        for ep in &request.escalation_policies {
            targets.push(policy(ep));
        }
        for person in &request.people {
            let user = self.user_id(rest, person).await?;
            targets.push(
                json!({ "responder_request_target": { "id": user, "type": "user_reference" } }),
            );
        }
        if targets.is_empty() {
            return Err(Error::invalid_input(
                "a responder request needs at least one team, escalation policy or person",
            ));
        }
        let requester = self.requester_id(rest, &request.requester).await?;
        let body = json!({
            "requester_id": requester,
            "message": format!("{}\n\n{marker}", request.message.trim_end()),
            "responder_request_targets": targets,
        });
        rest.post(
            &format!("{}/responder_requests", incident_path(id)),
            &body,
            true,
        )
        .await
    }

    /// `GET /oncalls` (`schedule_ids[]`, `escalation_policy_ids[]`, a team's configured
    /// policy), every page of it, with users included for their emails.
    async fn on_call(&self, query: &OnCallQuery) -> Result<Vec<OnCall>> {
        let rest = self.rest("on_call")?;
        let mut filter: Vec<(&str, String)> = vec![("include[]", "users".into())];
        match query {
            OnCallQuery::Everyone => {}
            OnCallQuery::Schedule(s) => filter.push(("schedule_ids[]", s.trim().to_owned())),
            OnCallQuery::EscalationPolicy(p) => {
                filter.push(("escalation_policy_ids[]", p.trim().to_owned()));
            }
            OnCallQuery::Team(team) => {
                filter.push(("escalation_policy_ids[]", self.team_policy(team)?));
            }
        }
        const LIMIT: usize = 100;
        const MAX_PAGES: usize = 50;
        let mut out = Vec::new();
        for page in 0..MAX_PAGES {
            let mut q = filter.clone();
            q.push(("limit", LIMIT.to_string()));
            q.push(("offset", (page * LIMIT).to_string()));
            let list: wire::OnCallList = rest.get("oncalls", &q).await?;
            let count = list.oncalls.len();
            out.extend(
                list.oncalls
                    .iter()
                    .filter_map(|o| convert::on_call(o, &self.config)),
            );
            if list.more != Some(true) || count == 0 {
                break;
            }
        }
        Ok(out)
    }

    /// `POST /v2/change/enqueue`. PagerDuty does not deduplicate change events: the same
    /// key is sent once per process (remembered in memory), and carried in
    /// `custom_details.itsm_key`.
    async fn send_change_event(&self, key: &IdempotencyKey, event: &ChangeEvent) -> Result<()> {
        if self.change_event_sent(key) {
            return Ok(());
        }
        self.events.change(key, event).await?;
        self.mark_change_event_sent(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_segment("PT4KHLK"), "PT4KHLK");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(
            incident_path(&PageId::new("..").unwrap()),
            "incidents/%2E%2E"
        );
    }
}
