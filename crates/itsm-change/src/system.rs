//! The [`ChangeSystem`] port and its capabilities.

use std::fmt::Debug;

use async_trait::async_trait;
use itsm_core::{Capabilities, IdempotencyKey, ListRequest, Listing, Result};

use crate::model::{
    Approval, ApprovalDecision, ChangeFilter, ChangeId, ChangeRequest, ChangeState, ChangeTemplate,
    Closure, Conflict, NewChange, NewTemplate, TemplateFilter, TemplateId,
};

/// Capability names of the change domain, declared by [`ChangeSystem::capabilities`].
pub mod capability {
    use itsm_core::Capability;

    /// Templates can be read ([`list_templates`](super::ChangeSystem::list_templates),
    /// [`get_template`](super::ChangeSystem::get_template)).
    pub const TEMPLATES_READ: Capability = Capability::new("change.templates.read");
    /// Templates can be created ([`create_template`](super::ChangeSystem::create_template)).
    pub const TEMPLATES_CREATE: Capability = Capability::new("change.templates.create");
    /// Standard changes can be created from a template.
    pub const STANDARD: Capability = Capability::new("change.standard");
    /// Normal changes can be created.
    pub const NORMAL: Capability = Capability::new("change.normal");
    /// Emergency changes can be created.
    pub const EMERGENCY: Capability = Capability::new("change.emergency");
    /// Approval can be requested and read.
    pub const APPROVALS: Capability = Capability::new("change.approvals");
    /// Approvals can be decided through the system's API.
    pub const DECIDE: Capability = Capability::new("change.decide");
    /// Work notes can be added.
    pub const NOTES: Capability = Capability::new("change.notes");
    /// Conflicts (blackout windows, clashes) can be checked.
    pub const CONFLICTS: Capability = Capability::new("change.conflicts");
}

/// A change management system: the port each change backend implements.
///
/// Implemented by the ServiceNow (Change Management API), Jira Service Management and
/// embedded local backends; used as `Arc<dyn ChangeSystem>` by the change workflow.
///
/// Rules every implementation keeps:
/// - every create takes an [`IdempotencyKey`]; creating twice with the same key returns the
///   first record, and `find_*_by_key` finds it;
/// - an operation the backend cannot do returns
///   [`ErrorKind::Unsupported`](itsm_core::ErrorKind::Unsupported) and is absent from
///   [`capabilities`](ChangeSystem::capabilities);
/// - a missing record is [`ErrorKind::NotFound`](itsm_core::ErrorKind::NotFound) from `get_*`
///   and `Ok(None)` from `find_*`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ChangeSystem: Send + Sync + Debug {
    /// What this backend supports (see [`capability`]).
    fn capabilities(&self) -> Capabilities;

    /// Creates a pre-approved change template (C1), or returns the one created with `key`.
    async fn create_template(
        &self,
        key: &IdempotencyKey,
        template: &NewTemplate,
    ) -> Result<ChangeTemplate>;

    /// The template created with `key`, if any.
    async fn find_template_by_key(&self, key: &IdempotencyKey) -> Result<Option<ChangeTemplate>>;

    /// One template by id.
    async fn get_template(&self, id: &TemplateId) -> Result<ChangeTemplate>;

    /// Templates matching `filter`, one page at a time.
    async fn list_templates(
        &self,
        filter: &TemplateFilter,
        page: &ListRequest,
    ) -> Result<Listing<ChangeTemplate>>;

    /// Creates a change request (C2, C5), or returns the one created with `key`.
    ///
    /// A standard change is approved at creation; a normal change starts unapproved (call
    /// [`request_approval`](ChangeSystem::request_approval)); an emergency change follows
    /// the backend's emergency process.
    async fn create_change(
        &self,
        key: &IdempotencyKey,
        change: &NewChange,
    ) -> Result<ChangeRequest>;

    /// The change created with `key`, if any.
    async fn find_change_by_key(&self, key: &IdempotencyKey) -> Result<Option<ChangeRequest>>;

    /// One change by id.
    async fn get_change(&self, id: &ChangeId) -> Result<ChangeRequest>;

    /// Changes matching `filter`, one page at a time (used by the deployment gate, C3).
    async fn list_changes(
        &self,
        filter: &ChangeFilter,
        page: &ListRequest,
    ) -> Result<Listing<ChangeRequest>>;

    /// Submits a normal change for approval (moves it to the authorize state).
    async fn request_approval(&self, id: &ChangeId) -> Result<ChangeRequest>;

    /// The approvers' records on a change.
    async fn approvals(&self, id: &ChangeId) -> Result<Vec<Approval>>;

    /// Records a change manager's decision.
    async fn decide(&self, id: &ChangeId, decision: &ApprovalDecision) -> Result<ChangeRequest>;

    /// Moves a change to another state (scheduled, implement, review, canceled).
    ///
    /// An illegal move is [`ErrorKind::Conflict`](itsm_core::ErrorKind::Conflict).
    async fn transition(&self, id: &ChangeId, to: ChangeState) -> Result<ChangeRequest>;

    /// Closes a change with a close code and notes (C4). Closing a closed change with the
    /// same code returns it unchanged.
    async fn close(&self, id: &ChangeId, closure: &Closure) -> Result<ChangeRequest>;

    /// Adds a work note; the same `key` twice adds it once.
    async fn add_note(&self, id: &ChangeId, key: &IdempotencyKey, note: &str) -> Result<()>;

    /// Conflicts for a change's window (blackouts, clashing changes).
    async fn conflicts(&self, id: &ChangeId) -> Result<Vec<Conflict>>;
}
