//! `ChangeSystem`: changes as JSM requests of configured request types.
//!
//! A change is raised with `POST /rest/servicedeskapi/request`; its facts ride on labels
//! (`itsm-key:`, `itsm-type:`, `itsm-service:`, `itsm-version:`, `itsm-env:`,
//! `itsm-template:`, `itsm-team:`, `itsm-retroactive`), so the request types used must show
//! the Labels field (it may be hidden from the portal). States come from the workflow
//! status through [`ChangeStatuses`](crate::ChangeStatuses); approvals are JSM approvals.

use async_trait::async_trait;
use itsm_change::{
    Approval, ApprovalDecision, ApprovalState, ChangeFilter, ChangeId, ChangeKind, ChangeRequest,
    ChangeState, ChangeSystem, ChangeTemplate, CloseCode, Closure, Conflict, NewChange,
    NewTemplate, TemplateFilter, TemplateId, capability,
};
use itsm_core::{
    Capabilities, Environment, Error, ErrorKind, IdempotencyKey, ListRequest, Listing, Person,
    Result, ServiceId, TeamId, Version,
};
use serde_json::{Value, json};

use crate::adapter::{Inner, Jira, comment_update, merge, not_configured};
use crate::config::{ChangeConfig, KeyCarrier, TemplateConfig};
use crate::labels::jql_string;
use crate::model::{Issue, time_of};

const FIELDS: &str = "summary,description,status,labels,resolution,resolutiondate,created,updated";

fn kind_label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Standard => "standard",
        ChangeKind::Normal => "normal",
        ChangeKind::Emergency => "emergency",
    }
}

impl Inner {
    fn change_config(&self, operation: &str) -> Result<&ChangeConfig> {
        self.config
            .change
            .as_ref()
            .ok_or_else(|| not_configured(operation, "change"))
    }

    fn change_from(&self, cfg: &ChangeConfig, issue: Issue) -> Result<ChangeRequest> {
        let f = &issue.fields;
        let l = &self.labels;
        let missing = |what: &str| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!(
                    "change {} has no {} label; it was not raised by itsm",
                    issue.key,
                    l.label(what, "<value>")
                ),
            )
        };
        let kind = match l.value(&f.labels, "type") {
            Some("standard") => ChangeKind::Standard,
            Some("emergency") => ChangeKind::Emergency,
            _ => ChangeKind::Normal,
        };
        let status = f.status();
        let declined = cfg.statuses.is_declined(status);
        let state = cfg
            .statuses
            .state_of(status)
            .unwrap_or(if f.resolution.is_some() {
                ChangeState::Closed
            } else {
                ChangeState::New
            });
        let approval = if declined {
            ApprovalState::Rejected
        } else if state == ChangeState::Authorize {
            ApprovalState::Requested
        } else if kind != ChangeKind::Normal
            || matches!(
                state,
                ChangeState::Scheduled
                    | ChangeState::Implement
                    | ChangeState::Review
                    | ChangeState::Closed
            )
        {
            ApprovalState::Approved
        } else {
            ApprovalState::NotRequested
        };
        let closure = (state == ChangeState::Closed)
            .then(|| {
                let name = f.resolution.as_ref().map(|r| r.name()).unwrap_or_default();
                close_code_of(cfg, name).map(|code| Closure {
                    code,
                    notes: String::new(),
                    closed_at: time_of(&f.resolutiondate),
                })
            })
            .flatten();
        Ok(ChangeRequest {
            id: ChangeId::new(&issue.key)?,
            number: Some(issue.key.clone()),
            key: l
                .value(&f.labels, "key")
                .and_then(|k| IdempotencyKey::new(k).ok()),
            kind,
            state,
            approval,
            service: ServiceId::new(
                l.value(&f.labels, "service")
                    .ok_or_else(|| missing("service"))?,
            )?,
            version: Version::new(
                l.value(&f.labels, "version")
                    .ok_or_else(|| missing("version"))?,
            )?,
            environment: Environment::new(
                l.value(&f.labels, "env").ok_or_else(|| missing("env"))?,
            )?,
            summary: f.summary.clone().unwrap_or_default(),
            description: f
                .description
                .as_ref()
                .map(crate::adf::text)
                .unwrap_or_default(),
            template: l
                .value(&f.labels, "template")
                .and_then(|t| TemplateId::new(t).ok()),
            window: None,
            commits: vec![],
            pipeline_run: None,
            requested_by: None,
            assignment_team: l.value(&f.labels, "team").and_then(|t| TeamId::new(t).ok()),
            reasons: vec![],
            retroactive: f.labels.iter().any(|x| *x == l.flag("retroactive")),
            closure,
            links: vec![],
            external: Some(self.client.reference(&issue.key)),
            created_at: time_of(&f.created),
            updated_at: time_of(&f.updated),
        })
    }

    async fn read_change(&self, cfg: &ChangeConfig, key: &str) -> Result<ChangeRequest> {
        let issue = self.client.issue(key, FIELDS, None).await?;
        self.change_from(cfg, issue)
    }

    fn template(&self, cfg: &ChangeConfig, id: &TemplateId) -> Result<TemplateConfig> {
        cfg.templates
            .iter()
            .find(|t| t.id == id.as_str())
            .cloned()
            .ok_or_else(|| {
                Error::not_found(format!(
                    "no change template {id} is configured; add it under [[jira.change.templates]]"
                ))
            })
    }

    fn template_from(
        &self,
        cfg: &ChangeConfig,
        t: &TemplateConfig,
        name: Option<String>,
        description: Option<String>,
    ) -> Result<ChangeTemplate> {
        Ok(ChangeTemplate {
            id: TemplateId::new(&t.id)?,
            service: t.service.clone(),
            name: name.unwrap_or_else(|| t.id.clone()),
            description: description.unwrap_or_default(),
            environments: t.environments.clone(),
            implementation_plan: t.implementation_plan.clone(),
            backout_plan: t.backout_plan.clone(),
            test_plan: t.test_plan.clone(),
            owner: Person::named(t.owner.clone().unwrap_or_else(|| "unknown".into())),
            approved_by: t.approved_by.clone().map(Person::named),
            approved_at: None,
            expires_at: None,
            active: true,
            external: Some(itsm_core::ExternalRef::new(
                crate::SYSTEM,
                format!(
                    "servicedesk/{}/requesttype/{}",
                    cfg.service_desk_id, t.request_type
                ),
            )),
        })
    }
}

fn close_code_of(cfg: &ChangeConfig, resolution: &str) -> Option<CloseCode> {
    let r = &cfg.resolutions;
    [
        (CloseCode::Successful, &r.successful),
        (CloseCode::SuccessfulWithIssues, &r.successful_with_issues),
        (CloseCode::Unsuccessful, &r.unsuccessful),
    ]
    .into_iter()
    .find(|(_, name)| name.eq_ignore_ascii_case(resolution))
    .map(|(code, _)| code)
}

fn resolution_of(cfg: &ChangeConfig, code: CloseCode) -> &str {
    match code {
        CloseCode::Successful => &cfg.resolutions.successful,
        CloseCode::SuccessfulWithIssues => &cfg.resolutions.successful_with_issues,
        CloseCode::Unsuccessful => &cfg.resolutions.unsuccessful,
    }
}

fn describe(new: &NewChange) -> String {
    let mut text = new.description.clone();
    let mut line = |s: String| {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&s);
    };
    line(format!(
        "Service: {} {} to {}",
        new.service, new.version, new.environment
    ));
    if let Some(w) = &new.window {
        line(format!(
            "Window: {} to {}",
            itsm_core::format_instant(w.start),
            itsm_core::format_instant(w.end)
        ));
    }
    if !new.commits.is_empty() {
        let commits: Vec<&str> = new.commits.iter().map(|c| c.as_str()).collect();
        line(format!("Commits: {}", commits.join(", ")));
    }
    if let Some(run) = &new.pipeline_run {
        line(format!("Pipeline run: {run}"));
    }
    if let Some(p) = &new.requested_by {
        line(format!("Requested by: {p}"));
    }
    for r in &new.reasons {
        line(format!("Reason: {r}"));
    }
    for l in &new.links {
        line(format!("{}: {}", l.label, l.url));
    }
    text
}

fn conflict(msg: String) -> Error {
    Error::new(ErrorKind::Conflict, msg)
}

#[async_trait]
impl ChangeSystem for Jira {
    fn capabilities(&self) -> Capabilities {
        let caps = Capabilities::new(crate::SYSTEM);
        if self.inner.config.change.is_none() {
            return caps;
        }
        caps.with_all([
            capability::TEMPLATES_READ,
            capability::STANDARD,
            capability::NORMAL,
            capability::EMERGENCY,
            capability::APPROVALS,
            capability::DECIDE,
            capability::NOTES,
        ])
    }

    async fn create_template(
        &self,
        _key: &IdempotencyKey,
        _t: &NewTemplate,
    ) -> Result<ChangeTemplate> {
        Err(
            Error::unsupported("create_template", crate::SYSTEM).with_context(
                "hint",
                "templates are JSM request types; configure them under [[jira.change.templates]]",
            ),
        )
    }

    async fn find_template_by_key(&self, _key: &IdempotencyKey) -> Result<Option<ChangeTemplate>> {
        Err(Error::unsupported("find_template_by_key", crate::SYSTEM))
    }

    async fn get_template(&self, id: &TemplateId) -> Result<ChangeTemplate> {
        let inner = &*self.inner;
        let cfg = inner.change_config("get_template")?;
        let t = inner.template(cfg, id)?;
        let rt = inner
            .client
            .request_type(&cfg.service_desk_id, &t.request_type)
            .await?;
        inner.template_from(cfg, &t, rt.name, rt.description)
    }

    async fn list_templates(
        &self,
        filter: &TemplateFilter,
        _page: &ListRequest,
    ) -> Result<Listing<ChangeTemplate>> {
        let inner = &*self.inner;
        let cfg = inner.change_config("list_templates")?;
        let types = inner.client.request_types(&cfg.service_desk_id).await?;
        let mut items = Vec::new();
        for t in &cfg.templates {
            if filter.service.as_ref().is_some_and(|s| *s != t.service) {
                continue;
            }
            if let Some(rt) = types.iter().find(|rt| rt.id == t.request_type) {
                items.push(inner.template_from(cfg, t, rt.name.clone(), rt.description.clone())?);
            }
        }
        Ok(Listing::complete(items))
    }

    async fn create_change(&self, key: &IdempotencyKey, new: &NewChange) -> Result<ChangeRequest> {
        let inner = &*self.inner;
        let cfg = inner.change_config("create_change")?;
        if new.summary.trim().is_empty() {
            return Err(Error::invalid_input("a change needs a summary"));
        }
        let template = match (new.kind, &new.template) {
            (ChangeKind::Standard, Some(id)) => {
                let t = inner.template(cfg, id)?;
                if t.service != new.service || !t.environments.contains(&new.environment) {
                    return Err(Error::invalid_input(format!(
                        "template {id} covers {} in {:?}, not {} in {}",
                        t.service, t.environments, new.service, new.environment
                    )));
                }
                Some(t)
            }
            (ChangeKind::Standard, None) => {
                return Err(Error::invalid_input(
                    "a standard change needs the template it is made from",
                ));
            }
            _ => None,
        };
        if let Some(found) = self.find_change_by_key(key).await? {
            return Ok(found);
        }
        let l = &inner.labels;
        let mut labels = vec![
            inner.key_label(key),
            l.label("type", kind_label(new.kind)),
            l.label("service", new.service.as_str()),
            l.label("version", new.version.as_str()),
            l.label("env", new.environment.as_str()),
        ];
        if let Some(t) = &template {
            labels.push(l.label("template", &t.id));
        }
        if let Some(team) = &new.assignment_team {
            labels.push(l.label("team", team.as_str()));
        }
        if new.retroactive {
            labels.push(l.flag("retroactive"));
        }
        let request_type = match (&template, new.kind) {
            (Some(t), _) => t.request_type.clone(),
            (None, ChangeKind::Emergency) => cfg
                .emergency_request_type
                .clone()
                .unwrap_or_else(|| cfg.normal_request_type.clone()),
            (None, _) => cfg.normal_request_type.clone(),
        };
        let mut values = serde_json::Map::new();
        if let Some(t) = &template {
            values.extend(t.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        values.insert("summary".into(), json!(new.summary));
        values.insert("description".into(), json!(describe(new)));
        values.insert("labels".into(), json!(labels));
        let body = json!({
            "serviceDeskId": cfg.service_desk_id,
            "requestTypeId": request_type,
            "requestFieldValues": Value::Object(values),
        });
        let created = inner.client.create_request(&body).await?;
        let mut change = inner.read_change(cfg, &created.issue_key).await?;
        change.key = Some(key.clone());
        Ok(change)
    }

    async fn find_change_by_key(&self, key: &IdempotencyKey) -> Result<Option<ChangeRequest>> {
        let inner = &*self.inner;
        let cfg = inner.change_config("find_change_by_key")?;
        let jql = format!(
            "project = {} AND {}",
            jql_string(&cfg.project),
            inner.key_clause(key, KeyCarrier::Label)
        );
        match inner.find_one(&jql, FIELDS, None).await? {
            Some(issue) => {
                let mut change = inner.change_from(cfg, issue)?;
                change.key = Some(key.clone());
                Ok(Some(change))
            }
            None => Ok(None),
        }
    }

    async fn get_change(&self, id: &ChangeId) -> Result<ChangeRequest> {
        let cfg = self.inner.change_config("get_change")?;
        self.inner.read_change(cfg, id.as_str()).await
    }

    async fn list_changes(
        &self,
        filter: &ChangeFilter,
        page: &ListRequest,
    ) -> Result<Listing<ChangeRequest>> {
        let inner = &*self.inner;
        let cfg = inner.change_config("list_changes")?;
        let l = &inner.labels;
        // Every change carries a type label: this keeps other issues of the project out.
        let mut jql = format!(
            "project = {} AND labels IN ({}, {}, {})",
            jql_string(&cfg.project),
            jql_string(&l.label("type", "standard")),
            jql_string(&l.label("type", "normal")),
            jql_string(&l.label("type", "emergency"))
        );
        if let Some(s) = &filter.service {
            jql.push_str(&format!(
                " AND labels = {}",
                jql_string(&l.label("service", s.as_str()))
            ));
        }
        if let Some(v) = &filter.version {
            jql.push_str(&format!(
                " AND labels = {}",
                jql_string(&l.label("version", v.as_str()))
            ));
        }
        if let Some(e) = &filter.environment {
            jql.push_str(&format!(
                " AND labels = {}",
                jql_string(&l.label("env", e.as_str()))
            ));
        }
        if !filter.states.is_empty() {
            let mut names: Vec<String> = Vec::new();
            for s in &filter.states {
                names.extend(cfg.statuses.names(*s).iter().map(|n| jql_string(n)));
                if *s == ChangeState::Canceled {
                    names.extend(cfg.statuses.declined.iter().map(|n| jql_string(n)));
                }
            }
            jql.push_str(&format!(" AND status IN ({})", names.join(", ")));
        }
        jql.push_str(" ORDER BY created ASC, key ASC");
        let limit = page.limit.unwrap_or(50).clamp(1, 100);
        let found = inner
            .client
            .search(&jql, FIELDS, limit, page.cursor.as_deref(), None)
            .await?;
        let items = found
            .issues
            .into_iter()
            .map(|i| inner.change_from(cfg, i))
            .collect::<Result<Vec<_>>>()?;
        let next = found
            .next_page_token
            .filter(|_| found.is_last != Some(true));
        Ok(Listing { items, next })
    }

    async fn request_approval(&self, id: &ChangeId) -> Result<ChangeRequest> {
        let inner = &*self.inner;
        let cfg = inner.change_config("request_approval")?;
        let change = inner.read_change(cfg, id.as_str()).await?;
        if !change.needs_approval_request()? {
            return Ok(change);
        }
        let current = cfg
            .statuses
            .names(change.state)
            .first()
            .cloned()
            .unwrap_or_default();
        inner
            .move_to(
                id.as_str(),
                &current,
                &cfg.statuses.authorize,
                "authorize",
                json!({}),
            )
            .await?;
        inner.read_change(cfg, id.as_str()).await
    }

    async fn approvals(&self, id: &ChangeId) -> Result<Vec<Approval>> {
        let inner = &*self.inner;
        inner.change_config("approvals")?;
        let found = inner.client.approvals(id.as_str()).await?;
        Ok(found
            .into_iter()
            .map(|a| {
                let state = match a.final_decision.as_deref() {
                    Some("approved") => ApprovalState::Approved,
                    Some("declined") => ApprovalState::Rejected,
                    _ => ApprovalState::Requested,
                };
                let approver = a
                    .approvers
                    .first()
                    .and_then(|x| x.approver.as_ref())
                    .map(|u| {
                        let mut p = Person::named(u.display_name.clone().unwrap_or_default());
                        p.email = u.email_address.clone();
                        p.handle = u.account_id.clone();
                        p
                    });
                Approval {
                    id: a.id,
                    approver,
                    state,
                    comment: None,
                    decided_at: a.completed_date.as_ref().and_then(|d| d.instant()),
                }
            })
            .collect())
    }

    async fn decide(&self, id: &ChangeId, decision: &ApprovalDecision) -> Result<ChangeRequest> {
        let inner = &*self.inner;
        let cfg = inner.change_config("decide")?;
        let change = inner.read_change(cfg, id.as_str()).await?;
        match (change.approval, decision.approve) {
            (ApprovalState::Approved, true) | (ApprovalState::Rejected, false) => {
                return Ok(change);
            }
            (ApprovalState::Requested, _) => {}
            (state, _) => {
                return Err(conflict(format!(
                    "change {id} has approval {state}; only a change waiting for approval can be {}",
                    if decision.approve {
                        "approved"
                    } else {
                        "rejected"
                    }
                )));
            }
        }
        let pending = inner
            .client
            .approvals(id.as_str())
            .await?
            .into_iter()
            .find(|a| a.final_decision.as_deref().is_none_or(|d| d == "pending"))
            .ok_or_else(|| {
                conflict(format!(
                    "change {id} has no pending JSM approval; the workflow status must have an \
                     approval step"
                ))
            })?;
        inner
            .client
            .answer_approval(id.as_str(), &pending.id, decision.approve)
            .await?;
        let verb = if decision.approve {
            "Approved"
        } else {
            "Declined"
        };
        let comment = decision
            .comment
            .as_deref()
            .map(|c| format!(": {c}"))
            .unwrap_or_default();
        inner
            .client
            .add_keyed_comment(
                id.as_str(),
                &format!("approval/{}", pending.id),
                &format!("{verb} by {}{comment}", decision.by),
            )
            .await?;
        inner.read_change(cfg, id.as_str()).await
    }

    async fn transition(&self, id: &ChangeId, to: ChangeState) -> Result<ChangeRequest> {
        let inner = &*self.inner;
        let cfg = inner.change_config("transition")?;
        let change = inner.read_change(cfg, id.as_str()).await?;
        if change.state == to {
            return Ok(change);
        }
        if change.state.is_terminal() {
            return Err(conflict(format!(
                "change {id} is {}; it cannot move",
                change.state
            )));
        }
        if to == ChangeState::Closed {
            return Err(conflict(format!(
                "close change {id} with a close code (close), not a transition"
            )));
        }
        if matches!(
            to,
            ChangeState::Scheduled | ChangeState::Implement | ChangeState::Review
        ) && change.approval != ApprovalState::Approved
        {
            return Err(conflict(format!(
                "change {id} is not approved (approval {}); it cannot move to {to}",
                change.approval
            )));
        }
        let current = cfg
            .statuses
            .names(change.state)
            .first()
            .cloned()
            .unwrap_or_default();
        inner
            .move_to(
                id.as_str(),
                &current,
                cfg.statuses.names(to),
                to.as_str(),
                json!({}),
            )
            .await?;
        inner.read_change(cfg, id.as_str()).await
    }

    async fn close(&self, id: &ChangeId, closure: &Closure) -> Result<ChangeRequest> {
        let inner = &*self.inner;
        let cfg = inner.change_config("close")?;
        let change = inner.read_change(cfg, id.as_str()).await?;
        if change.state == ChangeState::Closed {
            return match &change.closure {
                Some(c) if c.code == closure.code => Ok(change),
                other => Err(conflict(format!(
                    "change {id} is already closed as {}; it cannot be closed as {}",
                    other.as_ref().map_or("(unknown)", |c| c.code.as_str()),
                    closure.code
                ))),
            };
        }
        if change.state == ChangeState::Canceled || change.approval != ApprovalState::Approved {
            return Err(conflict(format!(
                "change {id} is {} with approval {}; only an approved change can be closed",
                change.state, change.approval
            )));
        }
        let extra = merge(
            json!({ "fields": { "resolution": { "name": resolution_of(cfg, closure.code) } } }),
            comment_update(&format!("Closed ({}): {}", closure.code, closure.notes)),
        );
        let current = cfg
            .statuses
            .names(change.state)
            .first()
            .cloned()
            .unwrap_or_default();
        inner
            .move_to(id.as_str(), &current, &cfg.statuses.closed, "closed", extra)
            .await?;
        inner.read_change(cfg, id.as_str()).await
    }

    async fn add_note(&self, id: &ChangeId, key: &IdempotencyKey, note: &str) -> Result<()> {
        let inner = &*self.inner;
        inner.change_config("add_note")?;
        inner
            .client
            .add_keyed_comment(id.as_str(), key.as_str(), note)
            .await
    }

    async fn conflicts(&self, _id: &ChangeId) -> Result<Vec<Conflict>> {
        Err(Error::unsupported("conflicts", crate::SYSTEM))
    }
}
