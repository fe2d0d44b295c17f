//! [`ChangeSystem`] for [`LocalStore`].

use async_trait::async_trait;
use itsm_change::{
    Approval, ApprovalDecision, ChangeFilter, ChangeId, ChangeRequest, ChangeState, ChangeSystem,
    ChangeTemplate, Closure, Conflict, ConflictKind, NewChange, NewTemplate, TemplateFilter,
    TemplateId, capability,
};
use itsm_core::{Capabilities, Error, IdempotencyKey, ListRequest, Listing, Result};

use crate::records::{Page, timestamp};
use crate::store::LocalStore;
use crate::{SYSTEM, change_table, lifecycle, template};

/// The local store's change management, with these rules (checked by
/// `itsm_testkit::conformance::change`):
///
/// - **Idempotent creates.** A create with a key already present returns the existing
///   record unchanged; two processes racing on one key end with one record.
/// - **Templates.** `name` and `environments` must not be empty; a new template is active,
///   and `approved_at` is now when `approved_by` is set. Ids are `TPL0000001`, …;
///   [`list_templates`](ChangeSystem::list_templates) returns the oldest first.
/// - **Changes.** `summary` must not be empty. A standard change needs an existing, active,
///   unexpired template of the same service that allows its environment, and starts
///   scheduled and approved. A normal change starts new, approval not requested. An
///   emergency change (break-glass) starts in implement, approved, with `retroactive` and
///   `reasons` kept as given. Ids and numbers are `CHG0000001`, …; `external` is
///   `local:<id>`. [`list_changes`](ChangeSystem::list_changes) returns the newest first,
///   100 per page by default and at most 1000.
/// - **Approval.** [`request_approval`](ChangeSystem::request_approval) moves a normal change
///   from new, assess or authorize to authorize, approval requested, and adds one approval
///   row for `change-manager`; when already requested or approved it returns the change
///   unchanged; a rejected or finished change is a conflict.
///   [`decide`](ChangeSystem::decide) on a requested change approves (scheduled) or rejects
///   (back to new) and records the decider, comment and time on the approval row; the same
///   decision again changes nothing; the opposite one, or a decision before approval was
///   requested, is a conflict.
/// - **Transitions.** One step along new → assess → authorize → scheduled → implement →
///   review (scheduled and implement need approval), or to canceled from any state that is
///   not finished; the same state again changes nothing; anything else, and closing, is a
///   conflict naming both states.
/// - **Close.** From scheduled, implement or review with approval; `closed_at` defaults to
///   now. Closing again with the same code changes nothing; with another code, or closing a
///   canceled or unapproved change, is a conflict.
/// - **Notes.** Keyed per change: the same key twice adds one note.
/// - **Conflicts.** The freeze windows given to [`LocalStore::with_freezes`] that apply to
///   the change's service and environment and overlap its window (or, without a window,
///   contain now), as [`ConflictKind::Blackout`].
#[async_trait]
impl ChangeSystem for LocalStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(SYSTEM).with_all([
            capability::TEMPLATES_READ,
            capability::TEMPLATES_CREATE,
            capability::STANDARD,
            capability::NORMAL,
            capability::EMERGENCY,
            capability::APPROVALS,
            capability::DECIDE,
            capability::NOTES,
            capability::CONFLICTS,
        ])
    }

    async fn create_template(
        &self,
        key: &IdempotencyKey,
        new: &NewTemplate,
    ) -> Result<ChangeTemplate> {
        template::validate(new)?;
        let (key, new, now) = (key.clone(), new.clone(), self.now());
        self.write(move |conn| template::create(conn, &key, &new, now))
            .await
    }

    async fn find_template_by_key(&self, key: &IdempotencyKey) -> Result<Option<ChangeTemplate>> {
        let key = key.clone();
        self.read(move |conn| template::by_key(conn, &key)).await
    }

    async fn get_template(&self, id: &TemplateId) -> Result<ChangeTemplate> {
        let id = id.clone();
        self.read(move |conn| template::get(conn, &id)).await
    }

    async fn list_templates(
        &self,
        filter: &TemplateFilter,
        page: &ListRequest,
    ) -> Result<Listing<ChangeTemplate>> {
        let (filter, page) = (filter.clone(), Page::of(page)?);
        self.read(move |conn| template::list(conn, &filter, page))
            .await
    }

    async fn create_change(&self, key: &IdempotencyKey, new: &NewChange) -> Result<ChangeRequest> {
        change_table::validate(new)?;
        let (key, new, now) = (key.clone(), new.clone(), self.now());
        self.write(move |conn| change_table::create(conn, &key, &new, now))
            .await
    }

    async fn find_change_by_key(&self, key: &IdempotencyKey) -> Result<Option<ChangeRequest>> {
        let key = key.clone();
        self.read(move |conn| change_table::by_key(conn, &key))
            .await
    }

    async fn get_change(&self, id: &ChangeId) -> Result<ChangeRequest> {
        let id = id.clone();
        self.read(move |conn| change_table::get(conn, &id)).await
    }

    async fn list_changes(
        &self,
        filter: &ChangeFilter,
        page: &ListRequest,
    ) -> Result<Listing<ChangeRequest>> {
        let (filter, page) = (filter.clone(), Page::of(page)?);
        self.read(move |conn| change_table::list(conn, &filter, page))
            .await
    }

    async fn request_approval(&self, id: &ChangeId) -> Result<ChangeRequest> {
        let (id, now) = (id.clone(), self.now());
        self.write(move |conn| {
            let mut change = change_table::get(conn, &id)?;
            if lifecycle::request_approval(&mut change, now)? {
                change_table::add_approval(conn, &id, now)?;
                change_table::save(conn, &change)?;
            }
            Ok(change)
        })
        .await
    }

    async fn approvals(&self, id: &ChangeId) -> Result<Vec<Approval>> {
        let id = id.clone();
        self.read(move |conn| {
            change_table::get(conn, &id)?;
            change_table::approvals(conn, &id)
        })
        .await
    }

    async fn decide(&self, id: &ChangeId, decision: &ApprovalDecision) -> Result<ChangeRequest> {
        let (id, decision, now) = (id.clone(), decision.clone(), self.now());
        self.write(move |conn| {
            let mut change = change_table::get(conn, &id)?;
            if lifecycle::decide(&mut change, &decision, now)? {
                change_table::record_decision(conn, &id, &decision, now)?;
                change_table::save(conn, &change)?;
            }
            Ok(change)
        })
        .await
    }

    async fn transition(&self, id: &ChangeId, to: ChangeState) -> Result<ChangeRequest> {
        let (id, now) = (id.clone(), self.now());
        self.write(move |conn| {
            let mut change = change_table::get(conn, &id)?;
            if lifecycle::transition(&mut change, to, now)? {
                change_table::save(conn, &change)?;
            }
            Ok(change)
        })
        .await
    }

    async fn close(&self, id: &ChangeId, closure: &Closure) -> Result<ChangeRequest> {
        let (id, closure, now) = (id.clone(), closure.clone(), self.now());
        self.write(move |conn| {
            let mut change = change_table::get(conn, &id)?;
            if lifecycle::close(&mut change, &closure, now)? {
                change_table::save(conn, &change)?;
            }
            Ok(change)
        })
        .await
    }

    async fn add_note(&self, id: &ChangeId, key: &IdempotencyKey, note: &str) -> Result<()> {
        if note.trim().is_empty() {
            return Err(
                Error::invalid_input("a note must not be empty; write what happened")
                    .with_context("field", "note"),
            );
        }
        let (id, key, note, now) = (id.clone(), key.clone(), note.to_owned(), self.now());
        self.write(move |conn| {
            change_table::get(conn, &id)?;
            change_table::add_note(conn, &id, &key, &note, now)
        })
        .await
    }

    async fn conflicts(&self, id: &ChangeId) -> Result<Vec<Conflict>> {
        let change = self.get_change(id).await?;
        let now = self.now();
        let mut conflicts = Vec::new();
        for freeze in self.freezes.iter() {
            if !freeze.applies_to(&change.service, &change.environment) {
                continue;
            }
            let clashes = match &change.window {
                Some(window) => freeze.overlaps(window),
                None => freeze.window().contains(now),
            };
            if clashes {
                conflicts.push(Conflict {
                    kind: ConflictKind::Blackout,
                    description: format!(
                        "freeze window {} ({} to {})",
                        freeze.name,
                        timestamp(freeze.start)?,
                        timestamp(freeze.end)?
                    ),
                    window: Some(freeze.window()),
                    with: None,
                });
            }
        }
        Ok(conflicts)
    }
}

impl LocalStore {
    /// The notes added to a change with [`add_note`](ChangeSystem::add_note), oldest first;
    /// [`ErrorKind::NotFound`](itsm_core::ErrorKind::NotFound) for an unknown change.
    pub async fn notes(&self, id: &ChangeId) -> Result<Vec<String>> {
        let id = id.clone();
        self.read(move |conn| {
            change_table::get(conn, &id)?;
            change_table::notes(conn, &id)
        })
        .await
    }
}
