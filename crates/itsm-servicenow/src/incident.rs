//! [`IncidentSystem`] over the Table API (`/api/now/table/incident`).

use async_trait::async_trait;
use itsm_core::{
    Capabilities, Error, ExternalRef, IdempotencyKey, ListRequest, Listing, Person, Result,
};
use itsm_http::Request;
use itsm_incident::{
    Assignment, Incident, IncidentFilter, IncidentId, IncidentState, IncidentSystem, NewIncident,
    Note, Priority, Resolution, capability,
};
use serde_json::{Map, Value};

use crate::SYSTEM;
use crate::api::page_of;
use crate::client::{ServiceNow, answer, put};
use crate::incident_map::{impact_urgency, link_line};
use crate::journal;
use crate::record::{Record, query_value};

impl ServiceNow {
    fn incident_table(&self) -> &str {
        &self.config.tables.incident
    }

    async fn incident_record(&self, id: &IncidentId) -> Result<Record> {
        self.table_get(
            self.incident_table(),
            id.as_str(),
            Some(&self.incident_fields),
        )
        .await
        .map_err(|e| e.with_context("incident", id))
    }

    async fn patch_incident(&self, id: &IncidentId, body: &Map<String, Value>) -> Result<Incident> {
        let record = self
            .table_patch(
                self.incident_table(),
                id.as_str(),
                body,
                Some(&self.incident_fields),
            )
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
        let req = answer(
            Request::post(Self::table(self.incident_table())),
            Some(&self.incident_fields),
        )
        .json(&self.incident_body(key, new));
        let record = self.api.one(req).await?;
        self.incident_from(&record)
    }

    async fn find_incident_by_key(&self, key: &IdempotencyKey) -> Result<Option<Incident>> {
        let fields = Some(&*self.incident_fields);
        self.table_find(self.incident_table(), &self.key_query(key), fields)
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
        let req = answer(
            Request::get(Self::table(self.incident_table()))
                .query(&[("sysparm_query", query.as_str())]),
            Some(&self.incident_fields),
        );
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
