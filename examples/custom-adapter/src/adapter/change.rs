//! [`ChangeSystem`] over Tickety's changes.
//!
//! Tickety has no change templates and no conflict detection, so the adapter leaves
//! `change.templates.*`, `change.standard` and `change.conflicts` out of its capabilities
//! and answers those calls with [`ErrorKind::Unsupported`], before sending anything.

use async_trait::async_trait;
use itsm_change::{
    Approval, ApprovalDecision, ChangeFilter, ChangeId, ChangeKind, ChangeRequest, ChangeState,
    ChangeSystem, ChangeTemplate, Closure, Conflict, NewChange, NewTemplate, TemplateFilter,
    TemplateId, Window, capability,
};
use itsm_core::{
    Capabilities, CommitId, Environment, Error, ErrorKind, IdempotencyKey, ListRequest, Listing,
    PipelineRunId, Result, ServiceId, TeamId, Version,
};
use itsm_http::Method;
use serde::Serialize;
use serde_json::{Value, json};

use super::client::record_path;
use super::vocab::{
    approval_state, change_kind, change_kind_word, change_state, change_status, close_code, outcome,
};
use super::wire::{
    Page, WireApproval, WireChange, WireClose, WireLink, WireNewChange, WirePerson, WireWindow,
    read_links, record_ref, unusable,
};
use super::{BACKEND, Tickety, listing, page_query};

/// What the adapter supports for changes: normal and emergency changes, approvals through
/// the API, and notes. Not templates, standard changes or conflict checks: Tickety has none.
pub fn change_capabilities() -> Capabilities {
    Capabilities::new(BACKEND).with_all([
        capability::NORMAL,
        capability::EMERGENCY,
        capability::APPROVALS,
        capability::DECIDE,
        capability::NOTES,
    ])
}

const CHANGES: &str = "api/v1/changes";
const NO_TEMPLATES: &str = "Tickety has no change templates; raise a normal change instead";

fn change_path(id: &ChangeId, tail: &str) -> Result<String> {
    record_path("changes", id.as_str(), tail)
}

/// The answer to an operation the adapter does not declare a capability for.
fn unsupported<T>(operation: &str, why: &str) -> Result<T> {
    Err(Error::new(
        ErrorKind::Unsupported,
        format!("{operation} is not supported by the Tickety adapter: {why}"),
    )
    .with_context("operation", operation))
}

/// A Tickety change as a [`ChangeRequest`].
fn to_change(c: WireChange) -> Result<ChangeRequest> {
    let what = format!("change {}", c.id);
    let key = c.key.as_deref().map(IdempotencyKey::new).transpose();
    let commits = c.commits.iter().map(CommitId::new).collect::<Result<_>>();
    let closure = match c.close {
        Some(close) => Some(Closure {
            code: close_code(&close.outcome)?,
            notes: close.notes,
            closed_at: close.closed_at,
        }),
        None => None,
    };
    Ok(ChangeRequest {
        id: unusable(&what, "id", ChangeId::new(&c.id))?,
        number: Some(c.id.clone()),
        key: unusable(&what, "key", key)?,
        kind: change_kind(&c.kind)?,
        state: change_state(&c.status)?,
        approval: approval_state(&c.approval)?,
        service: unusable(&what, "service", ServiceId::new(&c.service))?,
        version: unusable(&what, "version", Version::new(&c.version))?,
        environment: unusable(&what, "environment", Environment::new(&c.environment))?,
        summary: c.title,
        description: c.body,
        template: None,
        window: c.window.map(|w| Window {
            start: w.start,
            end: w.end,
        }),
        commits: unusable(&what, "commits", commits)?,
        pipeline_run: unusable(
            &what,
            "pipeline_run",
            c.pipeline_run.map(PipelineRunId::new).transpose(),
        )?,
        requested_by: c.requested_by.map(WirePerson::into_person),
        assignment_team: unusable(&what, "team", c.team.map(TeamId::new).transpose())?,
        reasons: c.reasons,
        retroactive: c.retroactive,
        closure,
        links: read_links(c.links),
        external: Some(record_ref(&c.id, c.web_url.as_deref())),
        created_at: c.created_at,
        updated_at: c.updated_at,
    })
}

fn to_approval(a: WireApproval) -> Result<Approval> {
    Ok(Approval {
        state: approval_state(&a.status)?,
        id: a.id,
        approver: a.approver.map(WirePerson::into_person),
        comment: a.comment,
        decided_at: a.decided_at,
    })
}

impl Tickety {
    /// `POST /api/v1/changes/{id}/<action>` with `body`, answered with the change.
    async fn change_action(
        &self,
        id: &ChangeId,
        action: &str,
        body: &impl Serialize,
    ) -> Result<ChangeRequest> {
        let path = change_path(id, &format!("/{action}"))?;
        let change: WireChange = self.client.update(Method::Post, &path, body).await?;
        to_change(change)
    }
}

#[async_trait]
impl ChangeSystem for Tickety {
    fn capabilities(&self) -> Capabilities {
        change_capabilities()
    }

    async fn create_template(
        &self,
        _key: &IdempotencyKey,
        _template: &NewTemplate,
    ) -> Result<ChangeTemplate> {
        unsupported("create_template", NO_TEMPLATES)
    }

    async fn find_template_by_key(&self, _key: &IdempotencyKey) -> Result<Option<ChangeTemplate>> {
        unsupported("find_template_by_key", NO_TEMPLATES)
    }

    async fn get_template(&self, _id: &TemplateId) -> Result<ChangeTemplate> {
        unsupported("get_template", NO_TEMPLATES)
    }

    async fn list_templates(
        &self,
        _filter: &TemplateFilter,
        _page: &ListRequest,
    ) -> Result<Listing<ChangeTemplate>> {
        unsupported("list_templates", NO_TEMPLATES)
    }

    /// Looks the key up first and creates only when nothing carries it; the create carries
    /// the key too (`Idempotency-Key`), so a retry after a lost answer finds the first change.
    async fn create_change(
        &self,
        key: &IdempotencyKey,
        change: &NewChange,
    ) -> Result<ChangeRequest> {
        if change.kind == ChangeKind::Standard {
            return unsupported("creating a standard change", NO_TEMPLATES);
        }
        if let Some(found) = self.find_change_by_key(key).await? {
            return Ok(found);
        }
        // A typed body rather than `json!`: a window RFC 3339 cannot write (a negative
        // year, an offset with seconds) then fails the call with `InvalidInput`, where
        // `json!` would panic.
        let body = WireNewChange {
            kind: change_kind_word(change.kind),
            service: change.service.as_str(),
            version: change.version.as_str(),
            environment: change.environment.as_str(),
            title: &change.summary,
            body: &change.description,
            window: change.window.map(|w| WireWindow {
                start: w.start,
                end: w.end,
            }),
            commits: change.commits.iter().map(CommitId::as_str).collect(),
            pipeline_run: change.pipeline_run.as_ref().map(PipelineRunId::as_str),
            requested_by: change.requested_by.as_ref().map(WirePerson::from_person),
            team: change.assignment_team.as_ref().map(TeamId::as_str),
            reasons: &change.reasons,
            retroactive: change.retroactive,
            links: change.links.iter().map(WireLink::from_link).collect(),
        };
        let created: WireChange = self.client.create(CHANGES, key, &body).await?;
        to_change(created)
    }

    async fn find_change_by_key(&self, key: &IdempotencyKey) -> Result<Option<ChangeRequest>> {
        let page: Page<WireChange> = self
            .client
            .get(CHANGES, &[("key", key.as_str().to_owned())])
            .await?;
        page.items
            .into_iter()
            .find(|c| c.key.as_deref() == Some(key.as_str()))
            .map(to_change)
            .transpose()
    }

    async fn get_change(&self, id: &ChangeId) -> Result<ChangeRequest> {
        let change: WireChange = self.client.get(&change_path(id, "")?, &[]).await?;
        to_change(change)
    }

    async fn list_changes(
        &self,
        filter: &ChangeFilter,
        page: &ListRequest,
    ) -> Result<Listing<ChangeRequest>> {
        let mut query = page_query(page);
        if let Some(service) = &filter.service {
            query.push(("service", service.as_str().to_owned()));
        }
        if let Some(version) = &filter.version {
            query.push(("version", version.as_str().to_owned()));
        }
        if let Some(environment) = &filter.environment {
            query.push(("environment", environment.as_str().to_owned()));
        }
        if !filter.states.is_empty() {
            let words: Vec<&str> = filter.states.iter().map(|s| change_status(*s)).collect();
            query.push(("status", words.join(",")));
        }
        let page: Page<WireChange> = self.client.get(CHANGES, &query).await?;
        listing(page, to_change)
    }

    async fn request_approval(&self, id: &ChangeId) -> Result<ChangeRequest> {
        self.change_action(id, "submit", &json!({})).await
    }

    async fn approvals(&self, id: &ChangeId) -> Result<Vec<Approval>> {
        let page: Page<WireApproval> = self
            .client
            .get(&change_path(id, "/approvals")?, &[])
            .await?;
        page.items.into_iter().map(to_approval).collect()
    }

    async fn decide(&self, id: &ChangeId, decision: &ApprovalDecision) -> Result<ChangeRequest> {
        let body = json!({
            "approve": decision.approve,
            "by": WirePerson::from_person(&decision.by),
            "comment": decision.comment,
        });
        self.change_action(id, "decision", &body).await
    }

    async fn transition(&self, id: &ChangeId, to: ChangeState) -> Result<ChangeRequest> {
        match to {
            // Tickety asks for approval through its own endpoint.
            ChangeState::Authorize => self.request_approval(id).await,
            ChangeState::Closed => Err(Error::invalid_input(format!(
                "transition cannot close change {id}; use close, which records the close code"
            ))),
            _ => {
                self.change_action(id, "move", &json!({ "to": change_status(to) }))
                    .await
            }
        }
    }

    async fn close(&self, id: &ChangeId, closure: &Closure) -> Result<ChangeRequest> {
        let body = WireClose {
            outcome: outcome(closure.code).to_owned(),
            notes: closure.notes.clone(),
            closed_at: closure.closed_at,
        };
        self.change_action(id, "close", &body).await
    }

    async fn add_note(&self, id: &ChangeId, key: &IdempotencyKey, note: &str) -> Result<()> {
        let path = change_path(id, "/comments")?;
        let _: Value = self
            .client
            .create(&path, key, &json!({ "text": note }))
            .await?;
        Ok(())
    }

    async fn conflicts(&self, _id: &ChangeId) -> Result<Vec<Conflict>> {
        unsupported(
            "conflicts",
            "Tickety does not detect conflicts; check freeze windows another way",
        )
    }
}
