//! [`IncidentSystem`] for [`LocalStore`].

use async_trait::async_trait;
use itsm_core::{
    Capabilities, Error, ExternalRef, IdempotencyKey, ListRequest, Listing, Person, Result,
};
use itsm_incident::{
    Assignment, Incident, IncidentFilter, IncidentId, IncidentState, IncidentSystem, NewIncident,
    Note, Priority, Resolution, capability,
};
use time::OffsetDateTime;

use crate::incident_table::{self, push_unique};
use crate::records::Page;
use crate::store::LocalStore;
use crate::{SYSTEM, records};

/// The local store's incidents, with these rules (checked by
/// `itsm_testkit::conformance::incident`):
///
/// - **Idempotent creates.** A create with a key already present returns the existing
///   incident unchanged; two processes racing on one key end with one incident. `summary`
///   must not be empty. Ids and numbers are `INC0000001`, …; `external` is `local:<id>`;
///   `opened_at` is the clock's now; a new incident is [`IncidentState::New`].
/// - **Listing** is newest first, 100 per page by default and at most 1000, filtered by
///   service, states and `major_only`.
/// - **States.** [`set_state`](IncidentSystem::set_state) moves between new, acknowledged,
///   in progress and on hold freely; setting the current state again changes nothing;
///   resolved and closed are refused (invalid input: use `resolve`); a resolved incident's
///   state cannot change (conflict). Acknowledging records `by` as `acknowledged_by`.
/// - **Resolve** sets resolved and `resolved_at` and keeps the [`Resolution`] (see
///   [`LocalStore::incident_resolution`]); resolving again returns the incident unchanged.
/// - **Reassign, priority, major, links and notes** are allowed in every state (notes after
///   resolution are the post-incident review). A link already present is not added again;
///   a note key already used on the incident adds nothing.
#[async_trait]
impl IncidentSystem for LocalStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(SYSTEM).with_all([
            capability::INCIDENT_LIST,
            capability::INCIDENT_REASSIGN,
            capability::INCIDENT_PRIORITY,
            capability::INCIDENT_NOTES,
            capability::INCIDENT_MAJOR,
            capability::INCIDENT_LINKS,
        ])
    }

    async fn create_incident(&self, key: &IdempotencyKey, new: &NewIncident) -> Result<Incident> {
        incident_table::validate(new)?;
        let (key, new, now) = (key.clone(), new.clone(), self.now());
        self.write(move |conn| incident_table::create(conn, &key, &new, now))
            .await
    }

    async fn find_incident_by_key(&self, key: &IdempotencyKey) -> Result<Option<Incident>> {
        let key = key.clone();
        self.read(move |conn| incident_table::by_key(conn, &key))
            .await
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Incident> {
        let id = id.clone();
        self.read(move |conn| incident_table::get(conn, &id)).await
    }

    async fn list_incidents(
        &self,
        filter: &IncidentFilter,
        page: &ListRequest,
    ) -> Result<Listing<Incident>> {
        let (filter, page) = (filter.clone(), Page::of(page)?);
        self.read(move |conn| incident_table::list(conn, &filter, page))
            .await
    }

    async fn set_state(
        &self,
        id: &IncidentId,
        state: IncidentState,
        by: Option<Person>,
    ) -> Result<Incident> {
        if state.is_resolved() {
            return Err(Error::invalid_input(format!(
                "set_state cannot move incident {id} to {}; resolve it with resolve, which \
                 records the close code",
                records::variant_text(&state)
            ))
            .with_context("incident", id));
        }
        self.update(id, move |incident| {
            if incident.state == state {
                return Ok(false);
            }
            if incident.state.is_resolved() {
                return Err(Error::new(
                    itsm_core::ErrorKind::Conflict,
                    format!(
                        "incident {} is {} and cannot move to {}; open a new incident",
                        incident.id,
                        records::variant_text(&incident.state),
                        records::variant_text(&state)
                    ),
                )
                .with_context("incident", &incident.id));
            }
            incident.state = state;
            if state == IncidentState::Acknowledged && by.is_some() {
                incident.acknowledged_by = by;
            }
            Ok(true)
        })
        .await
    }

    async fn reassign(&self, id: &IncidentId, to: &Assignment) -> Result<Incident> {
        let to = to.clone();
        self.update(id, move |incident| {
            let changed = incident.assignment != to;
            incident.assignment = to;
            Ok(changed)
        })
        .await
    }

    async fn set_priority(&self, id: &IncidentId, priority: Priority) -> Result<Incident> {
        self.update(id, move |incident| {
            let changed = incident.priority != priority;
            incident.priority = priority;
            Ok(changed)
        })
        .await
    }

    async fn add_note(&self, id: &IncidentId, key: &IdempotencyKey, note: &Note) -> Result<()> {
        incident_table::validate_note(note)?;
        let (id, key, note, now) = (id.clone(), key.clone(), note.clone(), self.now());
        self.write(move |conn| {
            incident_table::get(conn, &id)?;
            incident_table::add_note(conn, &id, &key, &note, now)
        })
        .await
    }

    async fn set_major(&self, id: &IncidentId, major: bool) -> Result<Incident> {
        self.update(id, move |incident| {
            let changed = incident.major != major;
            incident.major = major;
            Ok(changed)
        })
        .await
    }

    async fn link(&self, id: &IncidentId, to: &ExternalRef) -> Result<Incident> {
        let to = to.clone();
        self.update(id, move |incident| {
            Ok(push_unique(&mut incident.links_to, to))
        })
        .await
    }

    async fn resolve(&self, id: &IncidentId, resolution: &Resolution) -> Result<Incident> {
        if resolution.code.trim().is_empty() {
            return Err(Error::invalid_input(
                "a resolution needs a close code (for example `solved`); give one",
            )
            .with_context("field", "code"));
        }
        let (id, resolution, now) = (id.clone(), resolution.clone(), self.now());
        self.write(move |conn| {
            let mut incident = incident_table::get(conn, &id)?;
            if incident.state.is_resolved() {
                return Ok(incident);
            }
            incident.state = IncidentState::Resolved;
            incident.resolved_at = Some(now);
            incident_table::save(conn, &incident, now, Some(&resolution))?;
            Ok(incident)
        })
        .await
    }
}

impl LocalStore {
    /// Loads an incident, lets `change` edit it (returning whether it changed), and saves it
    /// when it did, in one write transaction.
    async fn update<F>(&self, id: &IncidentId, change: F) -> Result<Incident>
    where
        F: FnOnce(&mut Incident) -> Result<bool> + Send + 'static,
    {
        let (id, now): (IncidentId, OffsetDateTime) = (id.clone(), self.now());
        self.write(move |conn| {
            let mut incident = incident_table::get(conn, &id)?;
            if change(&mut incident)? {
                incident_table::save(conn, &incident, now, None)?;
            }
            Ok(incident)
        })
        .await
    }

    /// The notes added to an incident with [`add_note`](IncidentSystem::add_note), oldest
    /// first; [`ErrorKind::NotFound`](itsm_core::ErrorKind::NotFound) for an unknown incident.
    pub async fn incident_notes(&self, id: &IncidentId) -> Result<Vec<Note>> {
        let id = id.clone();
        self.read(move |conn| {
            incident_table::get(conn, &id)?;
            incident_table::notes(conn, &id)
        })
        .await
    }

    /// The resolution an incident was resolved with, `None` while it is open;
    /// [`ErrorKind::NotFound`](itsm_core::ErrorKind::NotFound) for an unknown incident.
    pub async fn incident_resolution(&self, id: &IncidentId) -> Result<Option<Resolution>> {
        let id = id.clone();
        self.read(move |conn| {
            incident_table::get(conn, &id)?;
            incident_table::resolution(conn, &id)
        })
        .await
    }
}
