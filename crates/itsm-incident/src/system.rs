//! The [`IncidentSystem`] (ticketing) and [`Pager`] (paging platform) ports.

use std::fmt::Debug;

use async_trait::async_trait;
use itsm_core::{Capabilities, ExternalRef, IdempotencyKey, ListRequest, Listing, Person, Result};

use crate::model::{
    Assignment, ChangeEvent, Incident, IncidentFilter, IncidentId, IncidentState, NewIncident,
    NewPage, Note, OnCall, OnCallQuery, Page, PageAssignment, PageId, Priority, Resolution,
    ResponderRequest,
};

/// Capability names of the incident domain.
pub mod capability {
    use itsm_core::Capability;

    /// Incidents can be listed with a filter.
    pub const INCIDENT_LIST: Capability = Capability::new("incident.list");
    /// Incidents can be reassigned to another service or team.
    pub const INCIDENT_REASSIGN: Capability = Capability::new("incident.reassign");
    /// Incident priority can be changed.
    pub const INCIDENT_PRIORITY: Capability = Capability::new("incident.priority");
    /// Notes can be added to incidents.
    pub const INCIDENT_NOTES: Capability = Capability::new("incident.notes");
    /// Incidents can be flagged as major.
    pub const INCIDENT_MAJOR: Capability = Capability::new("incident.major");
    /// External references can be linked to incidents.
    pub const INCIDENT_LINKS: Capability = Capability::new("incident.links");

    /// Pages can be looked up by id (not only sent as events).
    pub const PAGE_READ: Capability = Capability::new("pager.read");
    /// Pages can be reassigned.
    pub const PAGE_REASSIGN: Capability = Capability::new("pager.reassign");
    /// Page priority can be set.
    pub const PAGE_PRIORITY: Capability = Capability::new("pager.priority");
    /// Notes can be added to pages.
    pub const PAGE_NOTES: Capability = Capability::new("pager.notes");
    /// Extra responders can be requested.
    pub const PAGE_RESPONDERS: Capability = Capability::new("pager.responders");
    /// Who is on call can be looked up.
    pub const ON_CALL: Capability = Capability::new("pager.on_call");
    /// Change events can be sent.
    pub const CHANGE_EVENTS: Capability = Capability::new("pager.change_events");
}

/// A ticketing system's incident records: the port each ticketing backend implements.
///
/// Implemented by ServiceNow (Table API `incident`), Jira (issues of a configured type) and
/// the embedded local backend. Every create takes an [`IdempotencyKey`] (the alert's dedup
/// key); creating twice with the same key returns the first incident.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait IncidentSystem: Send + Sync + Debug {
    /// What this backend supports (see [`capability`]).
    fn capabilities(&self) -> Capabilities;

    /// Opens an incident (I2), or returns the one opened with `key`.
    async fn create_incident(
        &self,
        key: &IdempotencyKey,
        incident: &NewIncident,
    ) -> Result<Incident>;

    /// The incident opened with `key`, if any.
    async fn find_incident_by_key(&self, key: &IdempotencyKey) -> Result<Option<Incident>>;

    /// One incident by id.
    async fn get_incident(&self, id: &IncidentId) -> Result<Incident>;

    /// Incidents matching `filter`, one page at a time.
    async fn list_incidents(
        &self,
        filter: &IncidentFilter,
        page: &ListRequest,
    ) -> Result<Listing<Incident>>;

    /// Moves an incident to `state` (acknowledged I3, in progress, on hold). Resolving goes
    /// through [`resolve`](IncidentSystem::resolve). Setting the current state again is a no-op.
    async fn set_state(
        &self,
        id: &IncidentId,
        state: IncidentState,
        by: Option<Person>,
    ) -> Result<Incident>;

    /// Reassigns to another digital service, COTS application or foundational system (I4).
    async fn reassign(&self, id: &IncidentId, to: &Assignment) -> Result<Incident>;

    /// Changes the priority.
    async fn set_priority(&self, id: &IncidentId, priority: Priority) -> Result<Incident>;

    /// Adds a work note (I6); the same `key` twice adds it once.
    async fn add_note(&self, id: &IncidentId, key: &IdempotencyKey, note: &Note) -> Result<()>;

    /// Flags (or unflags) a major incident (I5).
    async fn set_major(&self, id: &IncidentId, major: bool) -> Result<Incident>;

    /// Links a record in another system (the page) to the incident (I2). Linking the same
    /// reference twice links it once.
    async fn link(&self, id: &IncidentId, to: &ExternalRef) -> Result<Incident>;

    /// Resolves the incident (I7). Resolving a resolved incident returns it unchanged.
    async fn resolve(&self, id: &IncidentId, resolution: &Resolution) -> Result<Incident>;
}

/// A paging platform: the port each paging backend implements.
///
/// Shaped for both event-style platforms (PagerDuty Events API v2, the VictorOps REST
/// endpoint: trigger, acknowledge and resolve by a key the sender chooses) and their REST
/// APIs (incidents by platform id). So [`trigger`](Pager::trigger),
/// [`acknowledge`](Pager::acknowledge) and [`resolve`](Pager::resolve) take the
/// [`IdempotencyKey`] (dedup key / entity id), and the REST-only operations take a [`PageId`].
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Pager: Send + Sync + Debug {
    /// What this backend supports (see [`capability`]).
    fn capabilities(&self) -> Capabilities;

    /// Pages the on-call responder (I1). Triggering again with the same key does not open a
    /// second page.
    async fn trigger(&self, key: &IdempotencyKey, page: &NewPage) -> Result<Page>;

    /// The page triggered with `key`, if the platform has it.
    async fn find_page_by_key(&self, key: &IdempotencyKey) -> Result<Option<Page>>;

    /// One page by platform id.
    async fn get_page(&self, id: &PageId) -> Result<Page>;

    /// Acknowledges the page triggered with `key` (I3, I8).
    async fn acknowledge(&self, key: &IdempotencyKey, by: Option<Person>) -> Result<()>;

    /// Resolves the page triggered with `key` (I7, I8).
    async fn resolve(&self, key: &IdempotencyKey, by: Option<Person>) -> Result<()>;

    /// Reassigns a page (I4).
    async fn reassign(&self, id: &PageId, to: &PageAssignment) -> Result<Page>;

    /// Sets a page's priority.
    async fn set_priority(&self, id: &PageId, priority: Priority) -> Result<Page>;

    /// Adds a note (I6); the same `key` twice adds it once.
    async fn add_note(&self, id: &PageId, key: &IdempotencyKey, note: &Note) -> Result<()>;

    /// Asks more responders to join (I5 incident manager, S5 specialist team); the same
    /// `key` twice asks once.
    async fn request_responders(
        &self,
        id: &PageId,
        key: &IdempotencyKey,
        request: &ResponderRequest,
    ) -> Result<()>;

    /// Who is on call now (I5).
    async fn on_call(&self, query: &OnCallQuery) -> Result<Vec<OnCall>>;

    /// Sends a change event (a deployment finished); the same `key` twice sends it once
    /// where the platform allows.
    async fn send_change_event(&self, key: &IdempotencyKey, event: &ChangeEvent) -> Result<()>;
}
