//! The [`SpecialistCatalog`] port.

use std::fmt::Debug;

use async_trait::async_trait;
use itsm_core::{Capabilities, IdempotencyKey, ListRequest, Listing, Person, Result, TeamId};

use crate::model::{
    Comment, NewRequest, Offering, OfferingId, RequestFilter, RequestId, RequestState,
    SpecialistRequest,
};

/// Capability names of the specialist domain.
pub mod capability {
    use itsm_core::Capability;

    /// Requests can be listed (team queues, figures).
    pub const REQUEST_LIST: Capability = Capability::new("specialist.request.list");
    /// Requests can be moved through their lifecycle through this backend.
    pub const TRANSITIONS: Capability = Capability::new("specialist.transitions");
    /// Comments can be added.
    pub const COMMENTS: Capability = Capability::new("specialist.comments");
}

/// A catalog of specialist services and the requests made against it: the port the
/// ServiceNow (Service Catalog), Jira Service Management (request types) and embedded
/// local backends implement.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SpecialistCatalog: Send + Sync + Debug {
    /// What this backend supports (see [`capability`]).
    fn capabilities(&self) -> Capabilities;

    /// The offerings, optionally only one team's (S1).
    async fn list_offerings(&self, team: Option<TeamId>) -> Result<Vec<Offering>>;

    /// One offering by id, with its inputs.
    async fn get_offering(&self, id: &OfferingId) -> Result<Offering>;

    /// Submits a request (S2) after checking its inputs against the offering, or returns the
    /// one submitted with `key`. It lands in the owning team's queue.
    async fn submit(&self, key: &IdempotencyKey, request: &NewRequest)
    -> Result<SpecialistRequest>;

    /// The request submitted with `key`, if any.
    async fn find_request_by_key(&self, key: &IdempotencyKey) -> Result<Option<SpecialistRequest>>;

    /// One request by id.
    async fn get_request(&self, id: &RequestId) -> Result<SpecialistRequest>;

    /// Requests matching `filter`, one page at a time.
    async fn list_requests(
        &self,
        filter: &RequestFilter,
        page: &ListRequest,
    ) -> Result<Listing<SpecialistRequest>>;

    /// Moves a request to `to`; an illegal move is
    /// [`ErrorKind::Conflict`](itsm_core::ErrorKind::Conflict) and changes nothing.
    async fn transition(
        &self,
        id: &RequestId,
        to: RequestState,
        by: Person,
        note: Option<String>,
    ) -> Result<SpecialistRequest>;

    /// Adds a comment; the same `key` twice adds it once.
    async fn comment(
        &self,
        id: &RequestId,
        key: &IdempotencyKey,
        comment: &Comment,
    ) -> Result<SpecialistRequest>;
}
