//! PagerDuty records to itsm-rs ones.

use itsm_core::{Error, ErrorKind, ExternalRef, IdempotencyKey, Person, Result};
use itsm_incident::{OnCall, Page, PageId, PageStatus, Priority};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::SYSTEM;
use crate::config::PagerDutyConfig;
use crate::wire;

/// A page from a PagerDuty incident. `fallback_key` is used when the incident carries no
/// `incident_key` (incidents created in the UI).
pub(crate) fn page(
    incident: &wire::Incident,
    fallback_key: Option<&IdempotencyKey>,
) -> Result<Page> {
    let id = PageId::new(&incident.id).map_err(|e| invalid("incident id", &e))?;
    let key = match incident.incident_key.as_deref().map(IdempotencyKey::new) {
        Some(Ok(key)) => key,
        _ => match fallback_key {
            Some(key) => key.clone(),
            // A UI-made incident has no key of ours: its id stands in.
            None => IdempotencyKey::new(format!("pagerduty/{}", incident.id))
                .map_err(|e| invalid("incident id", &e))?,
        },
    };
    let status = match incident.status.as_deref() {
        Some("acknowledged") => PageStatus::Acknowledged,
        Some("resolved") => PageStatus::Resolved,
        // Triggered, and anything new PagerDuty may add, is still paging.
        _ => PageStatus::Triggered,
    };
    let summary = incident
        .title
        .clone()
        .or_else(|| incident.summary.clone())
        .unwrap_or_default();
    let priority = incident
        .priority
        .as_ref()
        .and_then(|p| p.summary.as_deref())
        .and_then(parse_priority);
    let assignees = incident
        .assignments
        .iter()
        .filter_map(|a| a.assignee.as_ref())
        .map(person)
        .collect();
    let mut external = ExternalRef::new(SYSTEM, &incident.id);
    if let Some(url) = incident.html_url.as_deref().and_then(|u| u.parse().ok()) {
        external = external.with_url(url);
    }
    Ok(Page {
        id: Some(id),
        key,
        status,
        summary,
        priority,
        assignees,
        external: Some(external),
        created_at: incident.created_at.as_deref().and_then(parse_time),
    })
}

/// A person from a user reference: its summary as the name, its id as the handle.
pub(crate) fn person(user: &wire::Reference) -> Person {
    let name = user.summary.clone().unwrap_or_else(|| user.id.clone());
    let person = Person::named(name);
    if user.id.is_empty() {
        person
    } else {
        person.with_handle(&user.id)
    }
}

/// `P1`..`P5` (any case) to our priority; other names give `None`.
pub(crate) fn parse_priority(name: &str) -> Option<Priority> {
    match name.trim().to_ascii_uppercase().as_str() {
        "P1" => Some(Priority::P1),
        "P2" => Some(Priority::P2),
        "P3" => Some(Priority::P3),
        "P4" => Some(Priority::P4),
        "P5" => Some(Priority::P5),
        _ => None,
    }
}

/// An on-call shift from `/oncalls`.
pub(crate) fn on_call(entry: &wire::OnCall, config: &PagerDutyConfig) -> Option<OnCall> {
    let user = entry.user.as_ref()?;
    let name = user
        .name
        .clone()
        .or_else(|| user.summary.clone())
        .unwrap_or_else(|| user.id.clone());
    let mut person = Person::named(name);
    if let Some(email) = user.email.as_deref().filter(|e| !e.is_empty()) {
        person = person.with_email(email);
    }
    if !user.id.is_empty() {
        person = person.with_handle(&user.id);
    }
    let team = entry
        .escalation_policy
        .as_ref()
        .and_then(|p| config.team_of_policy(&p.id))
        .cloned();
    let level = entry
        .escalation_level
        .and_then(|l| u32::try_from(l).ok())
        .unwrap_or(1)
        .max(1);
    Some(OnCall {
        person,
        team,
        level,
        schedule: entry
            .schedule
            .as_ref()
            .map(|s| s.summary.clone().unwrap_or_else(|| s.id.clone())),
        out_of_hours: None,
        start: entry.start.as_deref().and_then(parse_time),
        end: entry.end.as_deref().and_then(parse_time),
    })
}

pub(crate) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

fn invalid(what: &str, e: &Error) -> Error {
    Error::new(
        ErrorKind::InvalidResponse,
        format!("PagerDuty sent an unusable {what}: {}", e.message()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_example_becomes_a_page() {
        let body = include_str!("../tests/fixtures/incident.json");
        let env: wire::IncidentEnvelope = serde_json::from_str(body).unwrap();
        let page = page(&env.incident, None).unwrap();
        assert_eq!(page.id.unwrap().as_str(), "PT4KHLK");
        assert_eq!(page.key.as_str(), "baf7cf21b1da41b4b0221008339ff357");
        assert_eq!(page.status, PageStatus::Resolved);
        assert_eq!(page.summary, "The server is on fire.");
        assert_eq!(page.priority, Some(Priority::P2));
        assert_eq!(page.assignees[0].name, "Earline Greenholt");
        assert_eq!(page.assignees[0].handle.as_deref(), Some("PXPGF42"));
        assert_eq!(
            page.external.unwrap().url.unwrap().as_str(),
            "https://subdomain.pagerduty.com/incidents/PT4KHLK"
        );
        assert!(page.created_at.is_some());
    }

    #[test]
    fn missing_fields_are_tolerated() {
        let incident: wire::Incident =
            serde_json::from_str(r#"{"id":"PX","status":"new-thing"}"#).unwrap();
        let page = page(&incident, None).unwrap();
        assert_eq!(page.key.as_str(), "pagerduty/PX");
        assert_eq!(page.status, PageStatus::Triggered);
        assert_eq!(page.priority, None);
        let empty: wire::Incident = serde_json::from_str(r#"{"id":""}"#).unwrap();
        assert_eq!(
            super::page(&empty, None).unwrap_err().kind(),
            ErrorKind::InvalidResponse
        );
    }
}
