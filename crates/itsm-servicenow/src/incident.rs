//! [`IncidentSystem`] over the Table API (`/api/now/table/incident`).

use async_trait::async_trait;
use itsm_core::{
    Capabilities, Error, ExternalRef, IdempotencyKey, ListRequest, Listing, Person, Result,
    ServiceId, TeamId, TenantId,
};
use itsm_http::Request;
use itsm_incident::{
    Assignment, Incident, IncidentFilter, IncidentId, IncidentState, IncidentSystem, NewIncident,
    Note, Priority, Resolution, ServiceKind, capability,
};
use serde_json::{Map, Value};

use crate::SYSTEM;
use crate::api::page_of;
use crate::client::{ServiceNow, bad_record, put};
use crate::journal;
use crate::record::{Record, query_value};

/// `impact` and `urgency` giving `priority` in ServiceNow's default priority lookup
/// (priority = impact + urgency - 1).
pub(crate) fn impact_urgency(priority: Priority) -> (u8, u8) {
    match priority {
        Priority::P1 => (1, 1),
        Priority::P2 => (1, 2),
        Priority::P3 => (2, 2),
        Priority::P4 => (2, 3),
        Priority::P5 => (3, 3),
    }
}

fn priority_of(number: i64) -> Option<Priority> {
    Some(match number {
        1 => Priority::P1,
        2 => Priority::P2,
        3 => Priority::P3,
        4 => Priority::P4,
        5 => Priority::P5,
        _ => return None,
    })
}

fn kind_name(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::DigitalService => "digital_service",
        ServiceKind::Cots => "cots",
        ServiceKind::Foundational => "foundational",
    }
}

fn kind_of(text: Option<String>) -> ServiceKind {
    match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        Some("cots") => ServiceKind::Cots,
        Some("foundational") => ServiceKind::Foundational,
        _ => ServiceKind::DigitalService,
    }
}

/// `system:id` lines (an optional URL after a space) of the links field.
fn links_of(text: &str) -> Vec<ExternalRef> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let (system, id) = parts.next()?.split_once(':')?;
            let reference = ExternalRef::new(system, id);
            Some(match parts.next().and_then(|u| url::Url::parse(u).ok()) {
                Some(url) => reference.with_url(url),
                None => reference,
            })
        })
        .collect()
}

fn link_line(reference: &ExternalRef) -> String {
    match &reference.url {
        Some(url) => format!("{}:{} {url}", reference.system, reference.id),
        None => format!("{}:{}", reference.system, reference.id),
    }
}

impl ServiceNow {
    fn incident_table(&self) -> &str {
        &self.config.tables.incident
    }

    /// An incident from a Table API record.
    pub(crate) fn incident_from(&self, r: &Record) -> Result<Incident> {
        let f = &self.config.fields;
        let what = "incident";
        let sys_id = r
            .sys_id()
            .ok_or_else(|| bad_record(what, "sys_id", "check the instance URL"))?;
        let service = r
            .display(&f.service)
            .and_then(|s| ServiceId::new(s).ok())
            .ok_or_else(|| bad_record(what, &f.service, "set the incident's configuration item"))?;
        let priority = r
            .number("priority")
            .and_then(priority_of)
            .or_else(|| {
                let sum = r.number("impact")? + r.number("urgency")? - 1;
                priority_of(sum)
            })
            .unwrap_or(Priority::P3);
        let state = self
            .config
            .incident_states
            .state(&r.text("state"), r.flag(&f.acknowledged));
        let major = r.value("major_incident_state").is_some_and(|m| {
            m.eq_ignore_ascii_case(&self.config.incident.major_state)
                || m.eq_ignore_ascii_case("proposed")
        });
        Ok(Incident {
            id: IncidentId::new(&sys_id)?,
            number: r.value("number"),
            key: self.key_of(r),
            summary: r.text("short_description"),
            description: r.text("description"),
            state,
            priority,
            major,
            assignment: Assignment {
                service,
                kind: kind_of(r.value(&f.service_kind)),
                team: r
                    .display("assignment_group")
                    .and_then(|t| TeamId::new(t).ok()),
            },
            tenant: r.value(&f.tenant).and_then(|t| TenantId::new(t).ok()),
            acknowledged_by: None,
            links_to: r.value(&f.links).map(|l| links_of(&l)).unwrap_or_default(),
            links: Vec::new(),
            external: Some(self.external(self.incident_table(), &sys_id)),
            opened_at: r.time("opened_at").or_else(|| r.time("sys_created_on")),
            resolved_at: r.time("resolved_at"),
        })
    }

    fn incident_body(&self, key: &IdempotencyKey, new: &NewIncident) -> Map<String, Value> {
        let f = &self.config.fields;
        let mut body = Map::new();
        put(&mut body, "short_description", new.summary.clone());
        let mut description = new.description.clone();
        for link in &new.links {
            description.push_str(&format!("\n{}: {}", link.label, link.url));
        }
        put(
            &mut body,
            "description",
            description.trim_start().to_owned(),
        );
        let (impact, urgency) = impact_urgency(new.priority);
        put(&mut body, "impact", impact.to_string());
        put(&mut body, "urgency", urgency.to_string());
        self.put_assignment(&mut body, &new.assignment);
        put(&mut body, &f.correlation, Self::correlation_value(key));
        if let Some(tenant) = &new.tenant {
            put(&mut body, &f.tenant, tenant.as_str());
        }
        if !new.links_to.is_empty() {
            let lines: Vec<String> = new.links_to.iter().map(link_line).collect();
            put(&mut body, &f.links, lines.join("\n"));
        }
        body
    }

    fn put_assignment(&self, body: &mut Map<String, Value>, to: &Assignment) {
        let f = &self.config.fields;
        put(body, &f.service, to.service.as_str());
        put(body, &f.service_kind, kind_name(to.kind));
        // Without a team the group is cleared, so that it is not left with the old service's team.
        put(
            body,
            "assignment_group",
            to.team.as_ref().map_or("", TeamId::as_str),
        );
    }

    async fn incident_record(&self, id: &IncidentId) -> Result<Record> {
        self.table_get(self.incident_table(), id.as_str())
            .await
            .map_err(|e| e.with_context("incident", id))
    }

    async fn patch_incident(&self, id: &IncidentId, body: &Map<String, Value>) -> Result<Incident> {
        let record = self
            .table_patch(self.incident_table(), id.as_str(), body)
            .await
            .map_err(|e| e.with_context("incident", id))?;
        self.incident_from(&record)
    }

    fn incident_query(&self, filter: &IncidentFilter) -> String {
        let f = &self.config.fields;
        let mut terms = Vec::new();
        if let Some(service) = &filter.service {
            terms.push(format!(
                "{}.{}={}",
                f.service,
                f.service_name,
                query_value(service.as_str())
            ));
        }
        if !filter.states.is_empty() {
            let mut codes: Vec<&str> = filter
                .states
                .iter()
                .map(|s| self.config.incident_states.code(*s))
                .collect();
            codes.dedup();
            terms.push(format!("stateIN{}", codes.join(",")));
        }
        if filter.major_only {
            terms.push(format!(
                "major_incident_state={}",
                query_value(&self.config.incident.major_state)
            ));
        }
        terms.push("ORDERBYDESCsys_created_on".to_owned());
        terms.join("^")
    }
}

/// ServiceNow's incidents (Table API), with these rules (checked by
/// `itsm_testkit::conformance::incident` against the simulator):
///
/// - **Create** looks up our key in `correlation_id` first and returns the incident found
///   (so a retry after a lost answer never opens a second one), then `POST`s `impact` and
///   `urgency` (the priority follows from ServiceNow's lookup), the service as
///   `cmdb_ci`, its kind, the team as `assignment_group` and the linked records.
/// - **States**: ServiceNow has no acknowledged state; acknowledging sets In Progress and
///   the `acknowledged` field, in progress clears it. Resolving sets Resolved with
///   `close_code` (mapped through `[servicenow.incident] close_codes`) and `close_notes`.
/// - **Major incidents** set `major_incident_state` (accepted / canceled).
/// - **Notes** are work notes, keyed by a marker line.
/// - **Lists** page with `sysparm_limit` / `sysparm_offset` and the `Link` header.
#[async_trait]
impl IncidentSystem for ServiceNow {
    fn capabilities(&self) -> Capabilities {
        let caps = Capabilities::new(SYSTEM).with_all([
            capability::INCIDENT_LIST,
            capability::INCIDENT_REASSIGN,
            capability::INCIDENT_PRIORITY,
            capability::INCIDENT_NOTES,
            capability::INCIDENT_MAJOR,
        ]);
        if self.config.fields.links.trim().is_empty() {
            caps
        } else {
            caps.with(capability::INCIDENT_LINKS)
        }
    }

    async fn create_incident(&self, key: &IdempotencyKey, new: &NewIncident) -> Result<Incident> {
        if new.summary.trim().is_empty() {
            return Err(
                Error::invalid_input("an incident needs a summary; say what is wrong")
                    .with_context("field", "summary"),
            );
        }
        if let Some(existing) = self.find_incident_by_key(key).await? {
            return Ok(existing);
        }
        let req = Request::post(Self::table(self.incident_table()))
            .query(&[("sysparm_display_value", "all")])
            .json(&self.incident_body(key, new));
        let record = self.api.one(req).await?;
        self.incident_from(&record)
    }

    async fn find_incident_by_key(&self, key: &IdempotencyKey) -> Result<Option<Incident>> {
        self.table_find(self.incident_table(), &self.key_query(key))
            .await?
            .map(|r| self.incident_from(&r))
            .transpose()
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Incident> {
        self.incident_from(&self.incident_record(id).await?)
    }

    async fn list_incidents(
        &self,
        filter: &IncidentFilter,
        page: &ListRequest,
    ) -> Result<Listing<Incident>> {
        let (limit, offset) = page_of(page)?;
        let query = self.incident_query(filter);
        let req = Request::get(Self::table(self.incident_table())).query(&[
            ("sysparm_query", query.as_str()),
            ("sysparm_display_value", "all"),
        ]);
        let records = self.api.list(req, limit, offset).await?;
        let mut items = Vec::new();
        for record in &records.items {
            let incident = self.incident_from(record)?;
            // Acknowledged and in progress may share a code: keep exactly the states asked for.
            if filter.states.is_empty() || filter.states.contains(&incident.state) {
                items.push(incident);
            }
        }
        Ok(Listing {
            items,
            next: records.next,
        })
    }

    async fn set_state(
        &self,
        id: &IncidentId,
        state: IncidentState,
        by: Option<Person>,
    ) -> Result<Incident> {
        if state.is_resolved() {
            return Err(Error::invalid_input(format!(
                "incident {id} is resolved with a close code and notes (resolve), not by setting {state:?}"
            )));
        }
        let current = self.get_incident(id).await?;
        if current.state == state {
            return Ok(current);
        }
        let mut body = Map::new();
        put(&mut body, "state", self.config.incident_states.code(state));
        put(
            &mut body,
            &self.config.fields.acknowledged,
            (state == IncidentState::Acknowledged).to_string(),
        );
        if let Some(by) = &by {
            let what = match state {
                IncidentState::Acknowledged => "Acknowledged",
                IncidentState::InProgress => "Work started",
                IncidentState::OnHold => "Put on hold",
                _ => "State changed",
            };
            put(&mut body, "work_notes", format!("{what} by {by}."));
        }
        self.patch_incident(id, &body).await
    }

    async fn reassign(&self, id: &IncidentId, to: &Assignment) -> Result<Incident> {
        let mut body = Map::new();
        self.put_assignment(&mut body, to);
        self.patch_incident(id, &body).await
    }

    async fn set_priority(&self, id: &IncidentId, priority: Priority) -> Result<Incident> {
        let (impact, urgency) = impact_urgency(priority);
        let mut body = Map::new();
        put(&mut body, "impact", impact.to_string());
        put(&mut body, "urgency", urgency.to_string());
        self.patch_incident(id, &body).await
    }

    async fn add_note(&self, id: &IncidentId, key: &IdempotencyKey, note: &Note) -> Result<()> {
        if note.text.trim().is_empty() {
            return Err(
                Error::invalid_input("a note must not be empty; write what happened")
                    .with_context("field", "note"),
            );
        }
        if self.journal_has(id.as_str(), "work_notes", key).await? {
            return Ok(());
        }
        let author = note.author.as_ref().map(ToString::to_string);
        let mut body = Map::new();
        put(
            &mut body,
            "work_notes",
            journal::with_marker(&note.text, key, author.as_deref()),
        );
        self.patch_incident(id, &body).await.map(|_| ())
    }

    async fn set_major(&self, id: &IncidentId, major: bool) -> Result<Incident> {
        let settings = &self.config.incident;
        let state = if major {
            &settings.major_state
        } else {
            &settings.unflagged_major_state
        };
        let mut body = Map::new();
        put(&mut body, "major_incident_state", state.clone());
        self.patch_incident(id, &body).await
    }

    async fn link(&self, id: &IncidentId, to: &ExternalRef) -> Result<Incident> {
        let field = &self.config.fields.links;
        if field.trim().is_empty() {
            return Err(Error::unsupported("link", SYSTEM).with_context(
                "hint",
                "set [servicenow.fields] links to a text field of incident",
            ));
        }
        let current = self.get_incident(id).await?;
        if current
            .links_to
            .iter()
            .any(|r| r.system == to.system && r.id == to.id)
        {
            return Ok(current);
        }
        let mut lines: Vec<String> = current.links_to.iter().map(link_line).collect();
        lines.push(link_line(to));
        let mut body = Map::new();
        put(&mut body, field, lines.join("\n"));
        self.patch_incident(id, &body).await
    }

    async fn resolve(&self, id: &IncidentId, resolution: &Resolution) -> Result<Incident> {
        let current = self.get_incident(id).await?;
        if current.state.is_resolved() {
            return Ok(current);
        }
        let settings = &self.config.incident;
        let code = resolution.code.trim();
        let (close_code, mut notes) = match settings.close_codes.iter().find(|(ours, theirs)| {
            ours.eq_ignore_ascii_case(code) || theirs.eq_ignore_ascii_case(code)
        }) {
            Some((_, theirs)) => (theirs.clone(), resolution.notes.clone()),
            None => (
                settings.default_close_code.clone(),
                format!("[{code}] {}", resolution.notes),
            ),
        };
        if let Some(by) = &resolution.by {
            notes.push_str(&format!("\nResolved by {by}."));
        }
        let mut body = Map::new();
        put(
            &mut body,
            "state",
            self.config.incident_states.code(IncidentState::Resolved),
        );
        put(&mut body, "close_code", close_code);
        put(&mut body, "close_notes", notes);
        self.patch_incident(id, &body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_servicenows_lookup() {
        for p in [
            Priority::P1,
            Priority::P2,
            Priority::P3,
            Priority::P4,
            Priority::P5,
        ] {
            let (i, u) = impact_urgency(p);
            assert_eq!(priority_of(i64::from(i) + i64::from(u) - 1), Some(p), "{p}");
        }
        assert_eq!(priority_of(0), None);
    }

    #[test]
    fn links_round_trip() {
        let a = ExternalRef::new("pagerduty", "PT4KHLK")
            .with_url(url::Url::parse("https://acme.pagerduty.com/incidents/PT4KHLK").unwrap());
        let b = ExternalRef::new("alertmanager", "abc");
        let text = [link_line(&a), link_line(&b), "junk".into()].join("\n");
        assert_eq!(links_of(&text), vec![a, b]);
    }
}
