//! [`IncidentSystem`] over Tickety's tickets.

use async_trait::async_trait;
use itsm_core::{
    Capabilities, Error, ExternalRef, IdempotencyKey, ListRequest, Listing, Person, Result,
    ServiceId, TeamId, TenantId,
};
use itsm_http::Method;
use itsm_incident::{
    Assignment, Incident, IncidentFilter, IncidentId, IncidentState, IncidentSystem, NewIncident,
    Note, Priority, Resolution, ServiceKind, capability,
};
use serde_json::{Value, json};

use super::client::record_path;
use super::vocab::{
    incident_state, priority, service_kind, service_kind_word, ticket_status, urgency,
};
use super::wire::{
    Page, WireAssignment, WireLink, WirePerson, WireReference, WireTicket, read_links, record_ref,
    unusable,
};
use super::{BACKEND, Tickety, listing, page_query};

/// What the adapter supports for incidents: everything the port offers, because Tickety
/// has an endpoint for each.
pub fn incident_capabilities() -> Capabilities {
    Capabilities::new(BACKEND).with_all([
        capability::INCIDENT_LIST,
        capability::INCIDENT_REASSIGN,
        capability::INCIDENT_PRIORITY,
        capability::INCIDENT_NOTES,
        capability::INCIDENT_MAJOR,
        capability::INCIDENT_LINKS,
    ])
}

const TICKETS: &str = "api/v1/tickets";

fn ticket_path(id: &IncidentId, tail: &str) -> Result<String> {
    record_path("tickets", id.as_str(), tail)
}

fn assignment_body(a: &Assignment) -> Value {
    json!({
        "service": a.service.as_str(),
        "service_kind": service_kind_word(a.kind),
        "team": a.team.as_ref().map(TeamId::as_str),
    })
}

/// A ticket as an [`Incident`].
fn to_incident(t: WireTicket) -> Result<Incident> {
    let what = format!("ticket {}", t.id);
    let id = unusable(&what, "id", IncidentId::new(&t.id))?;
    let key = t.key.as_deref().map(IdempotencyKey::new).transpose();
    let key = unusable(&what, "key", key)?;
    let WireAssignment {
        service,
        service_kind: kind,
        team,
    } = t.assignment;
    let assignment = Assignment {
        service: unusable(&what, "assignment.service", ServiceId::new(service))?,
        kind: kind
            .as_deref()
            .map_or(Ok(ServiceKind::DigitalService), service_kind)?,
        team: unusable(&what, "assignment.team", team.map(TeamId::new).transpose())?,
    };
    Ok(Incident {
        number: Some(t.id.clone()),
        external: Some(record_ref(&t.id, t.web_url.as_deref())),
        id,
        key,
        summary: t.title,
        description: t.body,
        state: incident_state(&t.status)?,
        priority: priority(&t.urgency)?,
        major: t.major,
        assignment,
        tenant: unusable(&what, "tenant", t.tenant.map(TenantId::new).transpose())?,
        acknowledged_by: t.acked_by.map(WirePerson::into_person),
        links_to: t
            .references
            .into_iter()
            .map(WireReference::into_ref)
            .collect(),
        links: read_links(t.links),
        opened_at: t.created_at,
        resolved_at: t.solved_at,
    })
}

impl Tickety {
    async fn patch_ticket(&self, id: &IncidentId, body: Value) -> Result<Incident> {
        let ticket: WireTicket = self
            .client
            .update(Method::Patch, &ticket_path(id, "")?, &body)
            .await?;
        to_incident(ticket)
    }
}

#[async_trait]
impl IncidentSystem for Tickety {
    fn capabilities(&self) -> Capabilities {
        incident_capabilities()
    }

    /// Looks the key up first and creates only when nothing carries it; the create itself
    /// carries the key too, so a retry after a lost answer finds the first ticket.
    async fn create_incident(
        &self,
        key: &IdempotencyKey,
        incident: &NewIncident,
    ) -> Result<Incident> {
        if let Some(found) = self.find_incident_by_key(key).await? {
            return Ok(found);
        }
        let references: Vec<WireReference> = incident
            .links_to
            .iter()
            .map(WireReference::from_ref)
            .collect();
        let body = json!({
            "title": incident.summary,
            "body": incident.description,
            "urgency": urgency(incident.priority),
            "assignment": assignment_body(&incident.assignment),
            "tenant": incident.tenant.as_ref().map(TenantId::as_str),
            "references": references,
            "links": incident.links.iter().map(WireLink::from_link).collect::<Vec<_>>(),
        });
        let ticket: WireTicket = self.client.create(TICKETS, key, &body).await?;
        to_incident(ticket)
    }

    async fn find_incident_by_key(&self, key: &IdempotencyKey) -> Result<Option<Incident>> {
        let page: Page<WireTicket> = self
            .client
            .get(TICKETS, &[("key", key.as_str().to_owned())])
            .await?;
        page.items
            .into_iter()
            .find(|t| t.key.as_deref() == Some(key.as_str()))
            .map(to_incident)
            .transpose()
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Incident> {
        let ticket: WireTicket = self.client.get(&ticket_path(id, "")?, &[]).await?;
        to_incident(ticket)
    }

    async fn list_incidents(
        &self,
        filter: &IncidentFilter,
        page: &ListRequest,
    ) -> Result<Listing<Incident>> {
        let mut query = page_query(page);
        if let Some(service) = &filter.service {
            query.push(("service", service.as_str().to_owned()));
        }
        if !filter.states.is_empty() {
            let words: Vec<&str> = filter.states.iter().map(|s| ticket_status(*s)).collect();
            query.push(("status", words.join(",")));
        }
        if filter.major_only {
            query.push(("major", "true".to_owned()));
        }
        let page: Page<WireTicket> = self.client.get(TICKETS, &query).await?;
        listing(page, to_incident)
    }

    async fn set_state(
        &self,
        id: &IncidentId,
        state: IncidentState,
        by: Option<Person>,
    ) -> Result<Incident> {
        if state.is_resolved() {
            return Err(Error::invalid_input(format!(
                "set_state cannot move incident {id} to {}; use resolve, which records the \
                 close code",
                ticket_status(state)
            )));
        }
        let acked_by = by
            .filter(|_| state == IncidentState::Acknowledged)
            .map(|p| WirePerson::from_person(&p));
        let body = json!({ "status": ticket_status(state), "acked_by": acked_by });
        self.patch_ticket(id, body).await
    }

    async fn reassign(&self, id: &IncidentId, to: &Assignment) -> Result<Incident> {
        self.patch_ticket(id, json!({ "assignment": assignment_body(to) }))
            .await
    }

    async fn set_priority(&self, id: &IncidentId, priority: Priority) -> Result<Incident> {
        self.patch_ticket(id, json!({ "urgency": urgency(priority) }))
            .await
    }

    async fn add_note(&self, id: &IncidentId, key: &IdempotencyKey, note: &Note) -> Result<()> {
        let body = json!({
            "text": note.text,
            "author": note.author.as_ref().map(WirePerson::from_person),
        });
        let _: Value = self
            .client
            .create(&ticket_path(id, "/comments")?, key, &body)
            .await?;
        Ok(())
    }

    async fn set_major(&self, id: &IncidentId, major: bool) -> Result<Incident> {
        self.patch_ticket(id, json!({ "major": major })).await
    }

    async fn link(&self, id: &IncidentId, to: &ExternalRef) -> Result<Incident> {
        let body = WireReference::from_ref(to);
        let ticket: WireTicket = self
            .client
            .update(Method::Post, &ticket_path(id, "/references")?, &body)
            .await?;
        to_incident(ticket)
    }

    async fn resolve(&self, id: &IncidentId, resolution: &Resolution) -> Result<Incident> {
        let body = json!({
            "code": resolution.code,
            "notes": resolution.notes,
            "by": resolution.by.as_ref().map(WirePerson::from_person),
        });
        let ticket: WireTicket = self
            .client
            .update(Method::Post, &ticket_path(id, "/solve")?, &body)
            .await?;
        to_incident(ticket)
    }
}
