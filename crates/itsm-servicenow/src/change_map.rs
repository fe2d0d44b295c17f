//! Change requests and standard change templates to and from ServiceNow records.

use itsm_change::{
    ApprovalState, ChangeId, ChangeKind, ChangeRequest, ChangeTemplate, Closure, Conflict,
    ConflictKind, NewChange, TemplateId, Window,
};
use itsm_core::{
    CommitId, Environment, ExternalRef, Person, PipelineRunId, Result, ServiceId, TeamId, Version,
};
use serde_json::{Map, Value};

use crate::SYSTEM;
use crate::client::{ServiceNow, bad_record, put};
use crate::record::{Record, format_time};

/// The table standard changes, normal and emergency changes live in.
pub(crate) const CHANGE_TABLE: &str = "change_request";
/// The table of standard change templates.
pub(crate) const TEMPLATE_TABLE: &str = "std_change_record_producer";

/// `approval` of a change or of one approver's record.
pub(crate) fn approval_state(value: Option<&str>) -> ApprovalState {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("approved") => ApprovalState::Approved,
        Some("rejected") => ApprovalState::Rejected,
        Some("requested") => ApprovalState::Requested,
        _ => ApprovalState::NotRequested,
    }
}

/// The path segment of a change type in the Change Management API.
pub(crate) fn kind_path(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Standard => "standard",
        ChangeKind::Normal => "normal",
        ChangeKind::Emergency => "emergency",
    }
}

impl ServiceNow {
    /// The fields of a new change, as the Change Management API takes them.
    pub(crate) fn change_body(
        &self,
        key: &itsm_core::IdempotencyKey,
        new: &NewChange,
    ) -> Map<String, Value> {
        let f = &self.config.fields;
        let mut body = Map::new();
        put(&mut body, "short_description", new.summary.clone());
        put(&mut body, "description", change_description(new));
        put(&mut body, &f.correlation, Self::correlation_value(key));
        put(&mut body, &f.service, new.service.as_str());
        put(&mut body, &f.version, new.version.as_str());
        put(&mut body, &f.environment, new.environment.as_str());
        if let Some(template) = &new.template {
            put(&mut body, &f.template, template.as_str());
        }
        put(&mut body, &f.retroactive, new.retroactive.to_string());
        if let Some(run) = &new.pipeline_run {
            put(&mut body, &f.pipeline_run, run.as_str());
        }
        if !new.commits.is_empty() {
            let commits: Vec<&str> = new.commits.iter().map(CommitId::as_str).collect();
            put(&mut body, &f.commits, commits.join(","));
        }
        if !new.reasons.is_empty() {
            put(&mut body, "justification", new.reasons.join("\n"));
        }
        if let Some(window) = &new.window {
            put(&mut body, "start_date", format_time(window.start));
            put(&mut body, "end_date", format_time(window.end));
        }
        if let Some(by) = &new.requested_by {
            put(
                &mut body,
                "requested_by",
                by.handle.clone().unwrap_or_else(|| by.name.clone()),
            );
        }
        if let Some(team) = &new.assignment_team {
            put(&mut body, "assignment_group", team.as_str());
        }
        body
    }

    /// A change request from a Change Management API record.
    pub(crate) fn change_from(&self, r: &Record) -> Result<ChangeRequest> {
        let f = &self.config.fields;
        let what = "change request";
        let sys_id = r
            .sys_id()
            .ok_or_else(|| bad_record(what, "sys_id", "check the instance URL"))?;
        let id = ChangeId::new(&sys_id)?;
        let kind = match r.value("type").map(|t| t.to_ascii_lowercase()).as_deref() {
            Some("standard") => ChangeKind::Standard,
            Some("emergency") => ChangeKind::Emergency,
            _ => ChangeKind::Normal,
        };
        let code = r.text("state");
        let state = self.config.change_states.state(&code).ok_or_else(|| {
            bad_record(
                what,
                "state",
                &format!("its code {code:?} is not in [servicenow.change_states]; map it there"),
            )
        })?;
        let service = r
            .display(&f.service)
            .and_then(|s| ServiceId::new(s).ok())
            .ok_or_else(|| {
                bad_record(what, &f.service, "set the configuration item of the change")
            })?;
        let version = r
            .value(&f.version)
            .and_then(|v| Version::new(v).ok())
            .ok_or_else(|| {
                bad_record(
                    what,
                    &f.version,
                    "add the field to change_request or set [servicenow.fields] version",
                )
            })?;
        let environment = r
            .value(&f.environment)
            .and_then(|v| Environment::new(v).ok())
            .ok_or_else(|| {
                bad_record(
                    what,
                    &f.environment,
                    "add the field to change_request or set [servicenow.fields] environment",
                )
            })?;
        let window = match (r.time("start_date"), r.time("end_date")) {
            (Some(start), Some(end)) if start < end => Some(Window { start, end }),
            _ => None,
        };
        let closure = r
            .value("close_code")
            .and_then(|c| self.config.change_close_codes.code(&c))
            .map(|code| Closure {
                code,
                notes: r.text("close_notes"),
                closed_at: r.time("closed_at"),
            });
        Ok(ChangeRequest {
            id,
            number: r.value("number"),
            key: self.key_of(r),
            kind,
            state,
            approval: approval_state(r.value("approval").as_deref()),
            service,
            version,
            environment,
            summary: r.text("short_description"),
            description: r.text("description"),
            template: r.value(&f.template).and_then(|t| TemplateId::new(t).ok()),
            window,
            commits: r
                .value(&f.commits)
                .map(|c| c.split(',').filter_map(|c| CommitId::new(c).ok()).collect())
                .unwrap_or_default(),
            pipeline_run: r
                .value(&f.pipeline_run)
                .and_then(|p| PipelineRunId::new(p).ok()),
            requested_by: r.display("requested_by").map(Person::named),
            assignment_team: r
                .display("assignment_group")
                .and_then(|t| TeamId::new(t).ok()),
            reasons: r
                .text("justification")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            retroactive: r.flag(&f.retroactive),
            closure,
            links: Vec::new(),
            external: Some(self.external(CHANGE_TABLE, &sys_id)),
            created_at: r.time("sys_created_on"),
            updated_at: r.time("sys_updated_on"),
        })
    }

    /// A template from a standard change template record; `None` for a template without
    /// the service field (not one of ours).
    pub(crate) fn template_from(&self, r: &Record) -> Result<Option<ChangeTemplate>> {
        let f = &self.config.fields;
        let sys_id = r.sys_id().ok_or_else(|| {
            bad_record(
                "standard change template",
                "sys_id",
                "check the instance URL",
            )
        })?;
        let Some(service) = r
            .display(&f.template_service)
            .and_then(|s| ServiceId::new(s).ok())
        else {
            return Ok(None);
        };
        let environments = r
            .value(&f.template_environments)
            .map(|e| {
                e.split(',')
                    .filter_map(|e| Environment::new(e).ok())
                    .collect()
            })
            .unwrap_or_default();
        let owner = r
            .display("owner")
            .or_else(|| r.value("sys_created_by"))
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(Some(ChangeTemplate {
            id: TemplateId::new(&sys_id)?,
            service,
            name: r.display("name").unwrap_or_default(),
            description: r
                .display("short_description")
                .or_else(|| r.display("description"))
                .unwrap_or_default(),
            environments,
            implementation_plan: r.display("implementation_plan").unwrap_or_default(),
            backout_plan: r.display("backout_plan").unwrap_or_default(),
            test_plan: r.display("test_plan").unwrap_or_default(),
            owner: Person::named(owner),
            approved_by: None,
            approved_at: None,
            expires_at: None,
            active: r.flag("active"),
            external: Some(self.external(TEMPLATE_TABLE, &sys_id)),
        }))
    }

    /// One conflict of a conflict-check answer.
    pub(crate) fn conflict_from(&self, r: &Record) -> Conflict {
        let kind_text = r.value("type").unwrap_or_default().to_ascii_lowercase();
        let kind = if kind_text.contains("blackout") {
            ConflictKind::Blackout
        } else if kind_text.contains("maint") {
            ConflictKind::MaintenanceWindow
        } else if kind_text.contains("schedul") || kind_text.contains("change") {
            ConflictKind::ConcurrentChange
        } else {
            ConflictKind::Other
        };
        let description = r
            .display("description")
            .or_else(|| r.display("type"))
            .unwrap_or_else(|| "conflict reported by ServiceNow".to_owned());
        let window = match (r.time("start"), r.time("end")) {
            (Some(start), Some(end)) if start < end => Some(Window { start, end }),
            _ => None,
        };
        let with = r
            .value("conflicting_change")
            .map(|id| ExternalRef::new(SYSTEM, id));
        Conflict {
            kind,
            description,
            window,
            with,
        }
    }
}

/// The description of a new change: its own, then its links.
fn change_description(new: &NewChange) -> String {
    let mut text = new.description.clone();
    if !new.links.is_empty() {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        for link in &new.links {
            text.push_str(&format!("{}: {}\n", link.label, link.url));
        }
    }
    text
}
