//! What `itsm incident` prints: one line per incident, an incident in full with its page,
//! and the steps an action took.

use std::fmt::Write as _;

use crate::app::Incidents;
use itsm_core::{Person, Result, format_instant};
use itsm_incident::workflow::{StepReport, StepStatus};
use itsm_incident::{Incident, IncidentId, Note, Page, Resolution};
use serde::Serialize;

/// The number a person quotes, else the id.
pub(super) fn name(i: &Incident) -> &str {
    i.number.as_deref().unwrap_or(i.id.as_str())
}

/// One line about an incident.
pub(super) fn incident_line(i: &Incident) -> String {
    format!(
        "{}  {} {:<12} {}{} [{}{}] {}\n",
        name(i),
        i.priority,
        variant(&i.state),
        if i.major { "MAJOR " } else { "" },
        i.assignment.service,
        variant(&i.assignment.kind),
        i.assignment
            .team
            .as_ref()
            .map(|t| format!(", team {t}"))
            .unwrap_or_default(),
        i.summary
    )
}

/// One line per incident.
pub(super) fn incident_lines(items: &[Incident]) -> String {
    if items.is_empty() {
        return "no incidents".to_owned();
    }
    items.iter().map(incident_line).collect()
}

/// The steps an action took, one per line.
pub(super) fn steps(steps: &[StepReport]) -> String {
    let mut s = String::new();
    for r in steps {
        let about = r
            .about
            .as_deref()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        let status = match &r.status {
            StepStatus::Done => "done".to_owned(),
            StepStatus::AlreadyDone => "already done".to_owned(),
            StepStatus::Skipped(why) => format!("skipped: {why}"),
        };
        let _ = writeln!(s, "  {}{about}: {status}", r.step);
    }
    s
}

/// An incident with everything `itsm incident show` prints.
#[derive(Debug, Serialize)]
pub(super) struct Details {
    /// The incident.
    pub(super) incident: Incident,
    /// Its notes, oldest first.
    pub(super) notes: Vec<Note>,
    /// How it was resolved, once it is.
    pub(super) resolution: Option<Resolution>,
    /// Its page, when it has one.
    pub(super) page: Option<Page>,
    /// The page's notes.
    pub(super) page_notes: Vec<Note>,
    /// The people added to the page as responders.
    pub(super) responders: Vec<Person>,
}

impl Details {
    /// Reads the incident, its page and (on the embedded store) both sides' notes.
    pub(super) async fn load(app: &Incidents, id: &IncidentId) -> Result<Details> {
        let systems = &app.backends.systems;
        let store = &app.store;
        let incident = systems.incidents.get_incident(id).await?;
        let (notes, resolution) = if app.backends.local_ticketing() {
            (
                store.incident_notes(id).await?,
                store.incident_resolution(id).await?,
            )
        } else {
            (Vec::new(), None)
        };
        let page = match &incident.key {
            Some(key) => systems.pager.find_page_by_key(key).await?,
            None => None,
        };
        let local_paging = systems.paging_system == itsm_local::SYSTEM;
        let (page_notes, responders) = match page.as_ref().and_then(|p| p.id.as_ref()) {
            Some(page_id) if local_paging => (
                store.page_notes(page_id).await?,
                store.page_responders(page_id).await?,
            ),
            _ => (Vec::new(), Vec::new()),
        };
        Ok(Details {
            incident,
            notes,
            resolution,
            page,
            page_notes,
            responders,
        })
    }

    /// For people.
    pub(super) fn text(&self) -> String {
        let i = &self.incident;
        let mut s = String::new();
        let _ = writeln!(s, "{}: {}", name(i), i.summary);
        let _ = writeln!(s, "  state:        {}", variant(&i.state));
        let _ = writeln!(
            s,
            "  priority:     {}{}",
            i.priority,
            if i.major { " (major incident)" } else { "" }
        );
        let _ = writeln!(
            s,
            "  assigned to:  {} ({}){}",
            i.assignment.service,
            variant(&i.assignment.kind),
            i.assignment
                .team
                .as_ref()
                .map(|t| format!(", team {t}"))
                .unwrap_or_default()
        );
        if let Some(tenant) = &i.tenant {
            let _ = writeln!(s, "  tenant:       {tenant}");
        }
        if let Some(at) = i.opened_at {
            let _ = writeln!(s, "  opened:       {}", format_instant(at));
        }
        if let Some(by) = &i.acknowledged_by {
            let _ = writeln!(s, "  acknowledged: by {by}");
        }
        if let Some(at) = i.resolved_at {
            let _ = writeln!(s, "  resolved:     {}", format_instant(at));
        }
        if let Some(r) = &self.resolution {
            let by =
                r.by.as_ref()
                    .map(|p| format!(" by {p}"))
                    .unwrap_or_default();
            let _ = writeln!(s, "  close code:   {}{by}: {}", r.code, r.notes);
        }
        match &self.page {
            Some(p) => {
                let id = p.id.as_ref().map_or("(no id yet)", |id| id.as_str());
                let assignees: Vec<String> = p.assignees.iter().map(|a| a.to_string()).collect();
                let _ = writeln!(
                    s,
                    "  page:         {id} {} (assigned to {})",
                    variant(&p.status),
                    if assignees.is_empty() {
                        "nobody".to_owned()
                    } else {
                        assignees.join(", ")
                    }
                );
            }
            None => {
                let _ = writeln!(s, "  page:         none");
            }
        }
        if !self.responders.is_empty() {
            let names: Vec<String> = self.responders.iter().map(|p| p.to_string()).collect();
            let _ = writeln!(s, "  responders:   {}", names.join(", "));
        }
        for r in &i.links_to {
            let _ = writeln!(s, "  linked:       {}:{}", r.system, r.id);
        }
        for l in &i.links {
            let _ = writeln!(s, "  link:         {} {}", l.label, l.url);
        }
        notes(&mut s, "incident note", &self.notes);
        notes(&mut s, "page note", &self.page_notes);
        s
    }
}

fn notes(s: &mut String, what: &str, notes: &[Note]) {
    for n in notes {
        let by = n
            .author
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        let _ = writeln!(s, "  {what}{by}:");
        for line in n.text.lines() {
            let _ = writeln!(s, "    {line}");
        }
    }
}

/// A serde enum's snake_case name (`in_progress`, `digital_service`).
pub(super) fn variant<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
