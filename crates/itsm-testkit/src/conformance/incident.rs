//! The conformance suite of [`IncidentSystem`].
//!
//! Every check creates its own service (`conformance-<token>-<check>`), keys and incidents,
//! assumes nothing about the backend's id formats, and only relies on the rules stated on
//! [`IncidentSystem`] plus these, which every backend keeps:
//!
//! - a new incident is open (not resolved) with the requested summary, priority and
//!   assignment; an unknown id is [`ErrorKind::NotFound`] for every operation taking one;
//! - `set_state` to acknowledged, then in progress, moves the incident there; setting the
//!   current state again changes nothing;
//! - `resolve` resolves; resolving again returns the incident still resolved;
//! - `list_incidents` filters by service, state and `major_only`, and pages with `next`
//!   without repeating or losing incidents;
//! - an operation whose capability is absent answers [`ErrorKind::Unsupported`].
//!
//! [`run_all`] runs every check; each is also a public function.

use std::collections::BTreeSet;
use std::ops::Deref;

use itsm_core::{ErrorKind, ExternalRef, ListRequest, Person, Result, ServiceId};
use itsm_incident::{
    Assignment, Incident, IncidentFilter, IncidentId, IncidentState, IncidentSystem, NewIncident,
    Note, Priority, Resolution, ServiceKind, capability,
};

use super::scope::CheckScope;
use super::{Outcome, Report, skip_unless};

/// Names, keys and requests unique to one check's call.
struct Scope(CheckScope);

impl Deref for Scope {
    type Target = CheckScope;
    fn deref(&self) -> &CheckScope {
        &self.0
    }
}

impl Scope {
    fn new(check: &'static str, system: &dyn IncidentSystem) -> Scope {
        Scope(CheckScope::new(check, system.capabilities().backend()))
    }

    fn missing(&self) -> IncidentId {
        IncidentId::new(format!("conformance-missing-{}", self.token)).expect("a valid id")
    }

    fn incident(&self, summary: &str) -> NewIncident {
        NewIncident {
            summary: format!("Conformance {} {summary}", self.check),
            description: format!(
                "Opened by itsm-testkit's conformance suite, run {}",
                self.token
            ),
            priority: Priority::P3,
            assignment: Assignment {
                service: self.service(),
                kind: ServiceKind::DigitalService,
                team: None,
            },
            tenant: None,
            links_to: vec![],
            links: vec![],
        }
    }

    async fn open(&self, system: &dyn IncidentSystem, what: &str) -> Result<Incident> {
        system
            .create_incident(&self.key(what), &self.incident(what))
            .await
    }
}

fn resolution() -> Resolution {
    Resolution {
        code: "solved".into(),
        notes: "Fixed by the conformance suite".into(),
        by: Some(Person::named("itsm-testkit")),
    }
}

/// Create, find by key, get; the same key returns the same incident; unknown keys and ids
/// are `None` and `NotFound`.
pub async fn create_and_find(system: &dyn IncidentSystem) -> Result<Outcome> {
    let s = Scope::new("create_and_find", system);
    let new = s.incident("create");
    let created = system.create_incident(&s.key("incident"), &new).await?;
    s.expect(
        created.summary == new.summary
            && created.priority == new.priority
            && created.assignment == new.assignment
            && !created.state.is_resolved(),
        format!("created incident should match the request and be open: {created:?}"),
    );
    let again = system.create_incident(&s.key("incident"), &new).await?;
    s.expect(
        again.id == created.id,
        format!(
            "same key should return incident {}, got {}",
            created.id, again.id
        ),
    );
    let found = system.find_incident_by_key(&s.key("incident")).await?;
    s.expect(
        found.as_ref().map(|i| &i.id) == Some(&created.id),
        format!(
            "find_incident_by_key should find {}, got {found:?}",
            created.id
        ),
    );
    let unknown = system.find_incident_by_key(&s.key("never-created")).await?;
    s.expect(unknown.is_none(), format!("unknown key found {unknown:?}"));
    let got = system.get_incident(&created.id).await?;
    s.expect(
        got.id == created.id && got.summary == created.summary,
        format!("get_incident returned {got:?}, not {created:?}"),
    );
    s.expect_err(
        system.get_incident(&s.missing()).await,
        ErrorKind::NotFound,
        "get_incident of an unknown id",
    );
    Ok(Outcome::Passed)
}

/// Acknowledge (twice: no-op), in progress, resolve (twice: unchanged).
pub async fn state_changes(system: &dyn IncidentSystem) -> Result<Outcome> {
    let s = Scope::new("state_changes", system);
    let incident = s.open(system, "states").await?;
    let by = Some(Person::named("itsm-testkit on-call"));
    let acked = system
        .set_state(&incident.id, IncidentState::Acknowledged, by.clone())
        .await?;
    s.expect(
        acked.state == IncidentState::Acknowledged,
        format!("set_state(acknowledged) should acknowledge: {acked:?}"),
    );
    let again = system
        .set_state(&incident.id, IncidentState::Acknowledged, by)
        .await?;
    s.expect(
        again.state == IncidentState::Acknowledged,
        format!("acknowledging again should change nothing: {again:?}"),
    );
    let working = system
        .set_state(&incident.id, IncidentState::InProgress, None)
        .await?;
    s.expect(
        working.state == IncidentState::InProgress,
        format!("set_state(in progress) should move there: {working:?}"),
    );
    let resolved = system.resolve(&incident.id, &resolution()).await?;
    s.expect(
        resolved.state.is_resolved(),
        format!("resolve should resolve: {resolved:?}"),
    );
    let twice = system.resolve(&incident.id, &resolution()).await?;
    s.expect(
        twice.state == resolved.state && twice.resolved_at == resolved.resolved_at,
        format!("resolving again should return it unchanged: {twice:?} vs {resolved:?}"),
    );
    let missing = s.missing();
    s.expect_err(
        system
            .set_state(&missing, IncidentState::Acknowledged, None)
            .await,
        ErrorKind::NotFound,
        "set_state of an unknown id",
    );
    s.expect_err(
        system.resolve(&missing, &resolution()).await,
        ErrorKind::NotFound,
        "resolve of an unknown id",
    );
    Ok(Outcome::Passed)
}

/// Listing by service pages through every incident once; state and major filters apply.
pub async fn list_incidents(system: &dyn IncidentSystem) -> Result<Outcome> {
    let caps = system.capabilities();
    let required = [capability::INCIDENT_LIST, capability::INCIDENT_MAJOR];
    if let Some(skipped) = skip_unless("list_incidents", &caps, &required) {
        return Ok(skipped);
    }
    let s = Scope::new("list_incidents", system);
    let mut created = BTreeSet::new();
    for n in 0..3 {
        created.insert(s.open(system, &format!("list-{n}")).await?.id);
    }
    let major = s.open(system, "list-major").await?;
    system.set_major(&major.id, true).await?;
    created.insert(major.id.clone());
    let filter = IncidentFilter {
        service: Some(s.service()),
        ..IncidentFilter::default()
    };
    let mut seen = Vec::new();
    let mut request = ListRequest::with_limit(3);
    loop {
        let page = system.list_incidents(&filter, &request).await?;
        s.expect(
            page.items.len() <= 3,
            format!("a page of limit 3 had {} items", page.items.len()),
        );
        seen.extend(page.items.into_iter().map(|i| i.id));
        match page.next {
            Some(cursor) if seen.len() < 10 => {
                request = ListRequest {
                    limit: Some(3),
                    cursor: Some(cursor),
                }
            }
            _ => break,
        }
    }
    let unique: BTreeSet<IncidentId> = seen.iter().cloned().collect();
    s.expect(
        unique == created && seen.len() == created.len(),
        format!("paging by service should list {created:?} once each, got {seen:?}"),
    );
    let majors = IncidentFilter {
        service: Some(s.service()),
        major_only: true,
        ..IncidentFilter::default()
    };
    let listed = system
        .list_incidents(&majors, &ListRequest::first())
        .await?;
    let ids: Vec<&IncidentId> = listed.items.iter().map(|i| &i.id).collect();
    s.expect(
        ids == [&major.id],
        format!("major_only should list [{}], got {ids:?}", major.id),
    );
    let resolved_only = IncidentFilter {
        service: Some(s.service()),
        states: vec![IncidentState::Resolved, IncidentState::Closed],
        major_only: false,
    };
    let listed = system
        .list_incidents(&resolved_only, &ListRequest::first())
        .await?;
    s.expect(
        listed.items.is_empty(),
        format!("no incident is resolved yet, listed {:?}", listed.items),
    );
    Ok(Outcome::Passed)
}

/// Reassign to another service and change priority; unknown ids are `NotFound`.
pub async fn reassign_and_priority(system: &dyn IncidentSystem) -> Result<Outcome> {
    let caps = system.capabilities();
    let required = [capability::INCIDENT_REASSIGN, capability::INCIDENT_PRIORITY];
    if let Some(skipped) = skip_unless("reassign_and_priority", &caps, &required) {
        return Ok(skipped);
    }
    let s = Scope::new("reassign_and_priority", system);
    let incident = s.open(system, "reassign").await?;
    let to = Assignment {
        service: ServiceId::new(format!("conformance-{}-foundational", s.token))?,
        kind: ServiceKind::Foundational,
        team: None,
    };
    let moved = system.reassign(&incident.id, &to).await?;
    s.expect(
        moved.assignment.service == to.service && moved.assignment.kind == to.kind,
        format!("reassign should assign to {to:?}: {moved:?}"),
    );
    let raised = system.set_priority(&incident.id, Priority::P1).await?;
    s.expect(
        raised.priority == Priority::P1,
        format!("set_priority(P1) should set it: {raised:?}"),
    );
    let missing = s.missing();
    s.expect_err(
        system.reassign(&missing, &to).await,
        ErrorKind::NotFound,
        "reassign of an unknown id",
    );
    s.expect_err(
        system.set_priority(&missing, Priority::P2).await,
        ErrorKind::NotFound,
        "set_priority of an unknown id",
    );
    Ok(Outcome::Passed)
}

/// Notes (the same key twice is accepted), major flag, links (the same reference twice is
/// linked once); unknown ids are `NotFound`.
pub async fn notes_major_and_links(system: &dyn IncidentSystem) -> Result<Outcome> {
    let caps = system.capabilities();
    let required = [
        capability::INCIDENT_NOTES,
        capability::INCIDENT_MAJOR,
        capability::INCIDENT_LINKS,
    ];
    if let Some(skipped) = skip_unless("notes_major_and_links", &caps, &required) {
        return Ok(skipped);
    }
    let s = Scope::new("notes_major_and_links", system);
    let incident = s.open(system, "notes").await?;
    let note = Note {
        text: "Investigating, rollback prepared".into(),
        author: Some(Person::named("itsm-testkit")),
    };
    system.add_note(&incident.id, &s.key("note"), &note).await?;
    system.add_note(&incident.id, &s.key("note"), &note).await?;
    let major = system.set_major(&incident.id, true).await?;
    s.expect(
        major.major,
        format!("set_major(true) should flag it: {major:?}"),
    );
    let minor = system.set_major(&incident.id, false).await?;
    s.expect(
        !minor.major,
        format!("set_major(false) should unflag it: {minor:?}"),
    );
    let page = ExternalRef::new("conformance-pager", format!("page-{}", s.token));
    system.link(&incident.id, &page).await?;
    let linked = system.link(&incident.id, &page).await?;
    let count = linked.links_to.iter().filter(|r| **r == page).count();
    s.expect(
        count == 1,
        format!("linking {page} twice should link it once, found {count}: {linked:?}"),
    );
    let missing = s.missing();
    s.expect_err(
        system.add_note(&missing, &s.key("note"), &note).await,
        ErrorKind::NotFound,
        "add_note on an unknown id",
    );
    s.expect_err(
        system.set_major(&missing, true).await,
        ErrorKind::NotFound,
        "set_major of an unknown id",
    );
    s.expect_err(
        system.link(&missing, &page).await,
        ErrorKind::NotFound,
        "link of an unknown id",
    );
    Ok(Outcome::Passed)
}

/// Each operation whose capability the backend does not declare answers `Unsupported`.
pub async fn unsupported_operations(system: &dyn IncidentSystem) -> Result<Outcome> {
    let caps = system.capabilities();
    let s = Scope::new("unsupported_operations", system);
    let id = s.missing();
    let absent = |c| !caps.supports(c);
    let unsupported = |result: Result<Incident>, what: &str| {
        s.expect_err(result, ErrorKind::Unsupported, what);
    };
    if absent(capability::INCIDENT_LIST) {
        let result = system
            .list_incidents(&IncidentFilter::default(), &ListRequest::first())
            .await;
        s.expect_err(result, ErrorKind::Unsupported, "list_incidents");
    }
    if absent(capability::INCIDENT_REASSIGN) {
        let to = s.incident("x").assignment;
        unsupported(system.reassign(&id, &to).await, "reassign");
    }
    if absent(capability::INCIDENT_PRIORITY) {
        unsupported(system.set_priority(&id, Priority::P1).await, "set_priority");
    }
    if absent(capability::INCIDENT_NOTES) {
        let note = Note {
            text: "x".into(),
            author: None,
        };
        let result = system.add_note(&id, &s.key("note"), &note).await;
        s.expect_err(result, ErrorKind::Unsupported, "add_note");
    }
    if absent(capability::INCIDENT_MAJOR) {
        unsupported(system.set_major(&id, true).await, "set_major");
    }
    if absent(capability::INCIDENT_LINKS) {
        let to = ExternalRef::new("x", "y");
        unsupported(system.link(&id, &to).await, "link");
    }
    Ok(Outcome::Passed)
}

/// Runs every check of the suite, in order, and reports which ran and which were skipped.
///
/// # Panics
///
/// When a check fails: the message names the check, the backend and what went wrong.
pub async fn run_all(system: &dyn IncidentSystem) -> Report {
    let mut report = Report::default();
    let mut record = |name: &'static str, result: Result<Outcome>| match result {
        Ok(outcome) => report.checks.push((name, outcome)),
        Err(e) => panic!(
            "conformance check {name} on the {} backend failed with an unexpected error: {e}",
            system.capabilities().backend()
        ),
    };
    record("create_and_find", create_and_find(system).await);
    record("state_changes", state_changes(system).await);
    record("list_incidents", list_incidents(system).await);
    record("reassign_and_priority", reassign_and_priority(system).await);
    record("notes_major_and_links", notes_major_and_links(system).await);
    record(
        "unsupported_operations",
        unsupported_operations(system).await,
    );
    report
}
