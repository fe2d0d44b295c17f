//! [`ChangeSystem`] over the Change Management API (`/api/sn_chg_rest/change/...`).

use std::time::Duration;

use async_trait::async_trait;
use itsm_change::{
    Approval, ApprovalDecision, ApprovalState, ChangeFilter, ChangeId, ChangeKind, ChangeRequest,
    ChangeState, ChangeSystem, ChangeTemplate, Closure, Conflict, NewChange, NewTemplate,
    TemplateFilter, TemplateId, capability,
};
use itsm_core::{
    Capabilities, Error, ErrorKind, IdempotencyKey, ListRequest, Listing, Person, Result,
};
use itsm_http::Request;
use serde_json::{Map, Value, json};

use crate::SYSTEM;
use crate::api::page_of;
use crate::change_map::{approval_state, kind_path};
use crate::client::{ServiceNow, conflict, put, segment};
use crate::journal;
use crate::record::{Record, query_value};

/// The Change Management API.
const CHG: &str = "api/sn_chg_rest/change";

/// How often the conflict check is polled before giving up, and how long apart.
const CONFLICT_POLLS: u32 = 10;
const CONFLICT_POLL_DELAY: Duration = Duration::from_millis(300);

fn change_path(id: &str) -> String {
    format!("{CHG}/{}", segment(id))
}

impl ServiceNow {
    async fn change_record(&self, id: &ChangeId) -> Result<Record> {
        self.api
            .one(Request::get(change_path(id.as_str())))
            .await
            .map_err(|e| e.with_context("change", id))
    }

    /// `PATCH /api/sn_chg_rest/change/<type>/<sys_id>` with `body`.
    async fn patch_change(&self, change: &ChangeRequest, body: Value) -> Result<ChangeRequest> {
        let path = format!(
            "{CHG}/{}/{}",
            kind_path(change.kind),
            segment(change.id.as_str())
        );
        let record = self.api.one(Request::patch(path).json(&body)).await?;
        self.change_from(&record)
    }

    /// The state codes the change may move to now (`GET .../nextstates`).
    async fn next_states(&self, id: &ChangeId) -> Result<Vec<String>> {
        let path = format!("{}/nextstates", change_path(id.as_str()));
        let (result, _) = self.api.result(Request::get(path)).await?;
        let states = result
            .get("available_states")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        Value::Object(o) => {
                            o.get("value").and_then(Value::as_str).map(str::to_owned)
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(states)
    }

    /// Moves the change to `to` after checking the move against `nextstates`.
    async fn move_change(&self, change: &ChangeRequest, to: ChangeState) -> Result<ChangeRequest> {
        let code = self.config.change_states.code(to).to_owned();
        let allowed = self.next_states(&change.id).await?;
        if !allowed.contains(&code) {
            let names: Vec<String> = allowed
                .iter()
                .map(|c| {
                    self.config
                        .change_states
                        .state(c)
                        .map_or_else(|| c.clone(), |s| s.to_string())
                })
                .collect();
            return Err(conflict(format!(
                "ServiceNow does not allow moving change {} from {} to {to} now; it allows {names:?}",
                change.number.as_deref().unwrap_or(change.id.as_str()),
                change.state
            ))
            .with_context("change", &change.id));
        }
        self.patch_change(change, json!({ "state": code })).await
    }

    /// Approves a just-created emergency change when configured to (see
    /// [`ChangeSettings::approve_emergency`](crate::config::ChangeSettings)).
    async fn finish_emergency(&self, change: ChangeRequest) -> Result<ChangeRequest> {
        if change.kind != ChangeKind::Emergency
            || !self.config.change.approve_emergency
            || matches!(
                change.approval,
                ApprovalState::Approved | ApprovalState::Rejected
            )
            || change.state.is_terminal()
        {
            return Ok(change);
        }
        let reasons = if change.reasons.is_empty() {
            "no reasons given".to_owned()
        } else {
            change.reasons.join("; ")
        };
        let comment = format!(
            "Emergency (break-glass) change approved at creation by itsm-rs{}; flagged for audit. Reasons: {reasons}",
            if change.retroactive {
                ", raised retroactively"
            } else {
                ""
            }
        );
        self.approve_or_reject(&change.id, true, &comment).await
    }

    async fn approve_or_reject(
        &self,
        id: &ChangeId,
        approve: bool,
        comment: &str,
    ) -> Result<ChangeRequest> {
        let path = format!("{}/approvals", change_path(id.as_str()));
        let body = json!({
            "state": if approve { "approved" } else { "rejected" },
            "comments": comment,
        });
        self.api.result(Request::patch(path).json(&body)).await?;
        self.get_change(id).await
    }

    fn template_query(&self, filter: &TemplateFilter) -> String {
        let mut terms = Vec::new();
        if let Some(service) = &filter.service {
            terms.push(format!(
                "{}={}",
                self.config.fields.template_service,
                query_value(service.as_str())
            ));
        }
        if filter.active_only {
            terms.push("active=true".to_owned());
        }
        terms.push("ORDERBYname".to_owned());
        terms.join("^")
    }

    fn change_query(&self, filter: &ChangeFilter) -> String {
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
        if let Some(version) = &filter.version {
            terms.push(format!("{}={}", f.version, query_value(version.as_str())));
        }
        if let Some(env) = &filter.environment {
            terms.push(format!("{}={}", f.environment, query_value(env.as_str())));
        }
        if !filter.states.is_empty() {
            let codes: Vec<&str> = filter
                .states
                .iter()
                .map(|s| self.config.change_states.code(*s))
                .collect();
            terms.push(format!("stateIN{}", codes.join(",")));
        }
        terms.push("ORDERBYDESCsys_created_on".to_owned());
        terms.join("^")
    }
}

/// ServiceNow's change management, with these rules (checked by
/// `itsm_testkit::conformance::change` against the simulator):
///
/// - **Templates** are read from `GET /api/sn_chg_rest/change/standard/template` (only
///   those with the template service field set); they are created in ServiceNow (the
///   standard change proposal and its approval are a person's job), so `create_template`
///   is unsupported and `find_template_by_key` finds nothing.
/// - **Creates** first look up our key in `correlation_id` (`GET /api/sn_chg_rest/change`)
///   and return the change found; otherwise `POST .../standard/{template}`, `.../normal`
///   or `.../emergency`. An emergency change is then approved through `.../approvals`
///   unless `[servicenow.change] approve_emergency = false`.
/// - **Approval**: `request_approval` moves a new normal change to the next of assess /
///   authorize that `GET .../nextstates` offers; `decide` answers through `PATCH
///   .../approvals`, after checking that approval is requested (same decision again: no-op,
///   the opposite one: conflict).
/// - **Transitions** are checked against `nextstates` (a refused move is a conflict naming
///   the allowed states); `close` walks scheduled → implement → review → closed, the last
///   step with `close_code` and `close_notes`.
/// - **Notes** are work notes, keyed by a marker line (see the journal rules).
/// - **Conflicts**: `POST .../conflict`, then `GET .../conflict` until it completes.
#[async_trait]
impl ChangeSystem for ServiceNow {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(SYSTEM).with_all([
            capability::TEMPLATES_READ,
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
        _key: &IdempotencyKey,
        _template: &NewTemplate,
    ) -> Result<ChangeTemplate> {
        Err(Error::unsupported("create_template", SYSTEM).with_context(
            "hint",
            "propose the standard change template in ServiceNow's Standard Change Catalog; the adapter reads published templates",
        ))
    }

    async fn find_template_by_key(&self, _key: &IdempotencyKey) -> Result<Option<ChangeTemplate>> {
        Ok(None)
    }

    async fn get_template(&self, id: &TemplateId) -> Result<ChangeTemplate> {
        let path = format!("{CHG}/standard/template/{}", segment(id.as_str()));
        let record = self.api.one(Request::get(path)).await?;
        self.template_from(&record)?.ok_or_else(|| {
            Error::invalid_input(format!(
                "standard change template {id} has no `{}`; set the service it covers on the template",
                self.config.fields.template_service
            ))
        })
    }

    async fn list_templates(
        &self,
        filter: &TemplateFilter,
        page: &ListRequest,
    ) -> Result<Listing<ChangeTemplate>> {
        let (limit, offset) = page_of(page)?;
        let query = self.template_query(filter);
        let req = Request::get(format!("{CHG}/standard/template"))
            .query(&[("sysparm_query", query.as_str())]);
        let records = self.api.list(req, limit, offset).await?;
        let mut items = Vec::new();
        for record in &records.items {
            if let Some(t) = self.template_from(record)? {
                items.push(t);
            }
        }
        Ok(Listing {
            items,
            next: records.next,
        })
    }

    async fn create_change(&self, key: &IdempotencyKey, new: &NewChange) -> Result<ChangeRequest> {
        if new.summary.trim().is_empty() {
            return Err(
                Error::invalid_input("a change needs a summary; say what is deployed")
                    .with_context("field", "summary"),
            );
        }
        let path = match (new.kind, &new.template) {
            (ChangeKind::Standard, Some(template)) => {
                format!("{CHG}/standard/{}", segment(template.as_str()))
            }
            (ChangeKind::Standard, None) => {
                return Err(Error::invalid_input(
                    "a standard change needs the template it is made from; pass its sys_id",
                )
                .with_context("field", "template"));
            }
            (kind, _) => format!("{CHG}/{}", kind_path(kind)),
        };
        if let Some(existing) = self.find_change_by_key(key).await? {
            return self.finish_emergency(existing).await;
        }
        let body = self.change_body(key, new);
        let record = self.api.one(Request::post(path).json(&body)).await?;
        let created = self.change_from(&record)?;
        self.finish_emergency(created).await
    }

    async fn find_change_by_key(&self, key: &IdempotencyKey) -> Result<Option<ChangeRequest>> {
        let query = self.key_query(key);
        let req = Request::get(CHG).query(&[("sysparm_query", query.as_str())]);
        let page = self.api.list(req, 1, 0).await?;
        page.items.first().map(|r| self.change_from(r)).transpose()
    }

    async fn get_change(&self, id: &ChangeId) -> Result<ChangeRequest> {
        self.change_from(&self.change_record(id).await?)
    }

    async fn list_changes(
        &self,
        filter: &ChangeFilter,
        page: &ListRequest,
    ) -> Result<Listing<ChangeRequest>> {
        let (limit, offset) = page_of(page)?;
        let query = self.change_query(filter);
        let req = Request::get(CHG).query(&[("sysparm_query", query.as_str())]);
        let records = self.api.list(req, limit, offset).await?;
        let items = records
            .items
            .iter()
            .map(|r| self.change_from(r))
            .collect::<Result<Vec<_>>>()?;
        Ok(Listing {
            items,
            next: records.next,
        })
    }

    async fn request_approval(&self, id: &ChangeId) -> Result<ChangeRequest> {
        let change = self.get_change(id).await?;
        if !change.needs_approval_request()? {
            return Ok(change);
        }
        let allowed = self.next_states(id).await?;
        let target = [ChangeState::Assess, ChangeState::Authorize]
            .into_iter()
            .find(|s| {
                allowed
                    .iter()
                    .any(|c| c == self.config.change_states.code(*s))
            })
            .ok_or_else(|| {
                conflict(format!(
                    "ServiceNow offers no assess or authorize state for change {id} in state {}",
                    change.state
                ))
            })?;
        let code = self.config.change_states.code(target).to_owned();
        self.patch_change(&change, json!({ "state": code })).await
    }

    async fn approvals(&self, id: &ChangeId) -> Result<Vec<Approval>> {
        self.change_record(id).await?;
        let query = format!(
            "sysapproval={}^ORDERBYsys_created_on",
            query_value(id.as_str())
        );
        let req = Request::get(Self::table(&self.config.tables.approvals)).query(&[
            ("sysparm_query", query.as_str()),
            ("sysparm_display_value", "all"),
        ]);
        let page = self.api.list(req, crate::api::MAX_LIMIT, 0).await?;
        Ok(page
            .items
            .iter()
            .filter_map(|r| {
                let state = approval_state(r.value("state").as_deref());
                Some(Approval {
                    id: r.sys_id()?,
                    approver: r.display("approver").map(Person::named),
                    state,
                    comment: r.display("comments"),
                    decided_at: matches!(state, ApprovalState::Approved | ApprovalState::Rejected)
                        .then(|| r.time("sys_updated_on"))
                        .flatten(),
                })
            })
            .collect())
    }

    async fn decide(&self, id: &ChangeId, decision: &ApprovalDecision) -> Result<ChangeRequest> {
        let change = self.get_change(id).await?;
        match (change.approval, decision.approve) {
            (ApprovalState::NotRequested, _) => Err(conflict(format!(
                "approval of change {id} was not requested; request it first"
            ))),
            (ApprovalState::Approved, true) | (ApprovalState::Rejected, false) => Ok(change),
            (ApprovalState::Approved, false) | (ApprovalState::Rejected, true) => {
                Err(conflict(format!(
                    "change {id} is already {}; the opposite decision cannot be recorded",
                    change.approval
                )))
            }
            (ApprovalState::Requested, approve) => {
                let comment = match &decision.comment {
                    Some(c) => format!("{c} (by {})", decision.by),
                    None => format!("Decided by {}", decision.by),
                };
                self.approve_or_reject(id, approve, &comment).await
            }
        }
    }

    async fn transition(&self, id: &ChangeId, to: ChangeState) -> Result<ChangeRequest> {
        if to == ChangeState::Closed {
            return Err(conflict(format!(
                "close change {id} with a close code and notes (close), not by a transition"
            )));
        }
        let change = self.get_change(id).await?;
        if change.state == to {
            return Ok(change);
        }
        if change.state.is_terminal() {
            return Err(conflict(format!(
                "change {id} is {}; it cannot move to {to}",
                change.state
            )));
        }
        self.move_change(&change, to).await
    }

    async fn close(&self, id: &ChangeId, closure: &Closure) -> Result<ChangeRequest> {
        let mut change = self.get_change(id).await?;
        if change.state == ChangeState::Closed {
            let same = change.closure.as_ref().map(|c| c.code) == Some(closure.code);
            return if same {
                Ok(change)
            } else {
                Err(conflict(format!(
                    "change {id} is already closed with another close code; it cannot be closed as {}",
                    closure.code
                )))
            };
        }
        if change.approval != ApprovalState::Approved
            || !matches!(
                change.state,
                ChangeState::Scheduled | ChangeState::Implement | ChangeState::Review
            )
        {
            return Err(conflict(format!(
                "change {id} is {} with approval {}; only an approved, scheduled or implemented change closes",
                change.state, change.approval
            )));
        }
        for step in [ChangeState::Implement, ChangeState::Review] {
            if change.state < step {
                let code = self.config.change_states.code(step).to_owned();
                change = self.patch_change(&change, json!({ "state": code })).await?;
            }
        }
        let mut body = Map::new();
        put(
            &mut body,
            "state",
            self.config.change_states.code(ChangeState::Closed),
        );
        put(
            &mut body,
            "close_code",
            self.config.change_close_codes.value(closure.code),
        );
        put(&mut body, "close_notes", closure.notes.clone());
        self.patch_change(&change, Value::Object(body)).await
    }

    async fn add_note(&self, id: &ChangeId, key: &IdempotencyKey, note: &str) -> Result<()> {
        if note.trim().is_empty() {
            return Err(
                Error::invalid_input("a note must not be empty; write what happened")
                    .with_context("field", "note"),
            );
        }
        if self.journal_has(id.as_str(), "work_notes", key).await? {
            return Ok(());
        }
        let body = json!({ "work_notes": journal::with_marker(note, key, None) });
        self.api
            .one(Request::patch(change_path(id.as_str())).json(&body))
            .await
            .map(|_| ())
    }

    async fn conflicts(&self, id: &ChangeId) -> Result<Vec<Conflict>> {
        let path = format!("{}/conflict", change_path(id.as_str()));
        self.api.result(Request::post(&path)).await?;
        for poll in 0..CONFLICT_POLLS {
            let (result, _) = self.api.result(Request::get(&path)).await?;
            let status = result
                .get("status")
                .and_then(|s| Record::from_value(json!({ "s": s })))
                .and_then(|r| r.value("s"))
                .unwrap_or_default()
                .to_ascii_lowercase();
            let running = [
                "executing",
                "running",
                "in progress",
                "processing",
                "queued",
            ]
            .iter()
            .any(|s| status.contains(s));
            if !running {
                let list = result
                    .get("conflicts")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                return Ok(list
                    .into_iter()
                    .filter_map(Record::from_value)
                    .map(|r| self.conflict_from(&r))
                    .collect());
            }
            if poll + 1 < CONFLICT_POLLS {
                tokio::time::sleep(CONFLICT_POLL_DELAY).await;
            }
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            format!("ServiceNow's conflict check of change {id} is still running"),
        ))
    }
}
