//! The conformance suite of [`Pager`].
//!
//! Every check triggers its own pages under keys unique to the call, for a service of its
//! own (`conformance-<token>-<check>`) with no routing, so the backend's default routing for
//! an unknown service must accept them. It relies only on the rules stated on [`Pager`] plus
//! these, which every backend keeps:
//!
//! - a triggered page is found by its key with status triggered; triggering again with the
//!   key returns the same page;
//! - acknowledge and resolve by key move the page there; resolving twice is accepted; a key
//!   never triggered is [`ErrorKind::NotFound`];
//! - with `pager.read`, pages have ids, `get_page` returns them and an unknown id is
//!   `NotFound` for every operation taking one;
//! - an operation whose capability is absent answers [`ErrorKind::Unsupported`].
//!
//! [`run_all`] runs every check; each is also a public function.

use std::collections::BTreeMap;
use std::ops::Deref;

use itsm_core::{ErrorKind, IdempotencyKey, Person, Result, time::OffsetDateTime};
use itsm_incident::{
    ChangeEvent, NewPage, Note, OnCallQuery, Page, PageAssignment, PageId, PageStatus, Pager,
    Priority, ResponderRequest, Severity, capability,
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
    fn new(check: &'static str, pager: &dyn Pager) -> Scope {
        Scope(CheckScope::new(check, pager.capabilities().backend()))
    }

    fn missing(&self) -> PageId {
        PageId::new(format!("conformance-missing-{}", self.token)).expect("a valid page id")
    }

    fn page(&self) -> NewPage {
        NewPage {
            summary: format!("Conformance check {} run {}", self.check, self.token),
            severity: Severity::Warning,
            source: "itsm-testkit".into(),
            service: self.service(),
            routing: None,
            links: vec![],
            details: BTreeMap::from([("check".to_owned(), self.check.to_owned())]),
        }
    }

    async fn trigger(&self, pager: &dyn Pager, what: &str) -> Result<(IdempotencyKey, Page)> {
        let key = self.key(what);
        let page = pager.trigger(&key, &self.page()).await?;
        Ok((key, page))
    }

    /// The page's id (the checks that use it require `pager.read`).
    fn id_of(&self, page: &Page) -> PageId {
        self.expect(
            page.id.is_some(),
            format!("a backend with pager.read should give pages ids: {page:?}"),
        );
        page.id.clone().unwrap_or_else(|| self.missing())
    }

    async fn status(&self, pager: &dyn Pager, key: &IdempotencyKey) -> Result<Option<PageStatus>> {
        Ok(pager.find_page_by_key(key).await?.map(|p| p.status))
    }
}

fn note() -> Note {
    Note {
        text: "Looking into it".into(),
        author: Some(Person::named("itsm-testkit")),
    }
}

/// Trigger twice with one key: one page, found by key, triggered; an unknown key is `None`.
pub async fn trigger_idempotent(pager: &dyn Pager) -> Result<Outcome> {
    let s = Scope::new("trigger_idempotent", pager);
    let (key, first) = s.trigger(pager, "page").await?;
    let again = pager.trigger(&key, &s.page()).await?;
    s.expect(
        first.key == key && again.key == key && again.id == first.id,
        format!("triggering {key} twice should give one page: {first:?} then {again:?}"),
    );
    let found = pager.find_page_by_key(&key).await?;
    s.expect(
        found
            .as_ref()
            .is_some_and(|p| p.id == first.id && p.status == PageStatus::Triggered),
        format!("find_page_by_key should find the triggered page, got {found:?}"),
    );
    let unknown = pager.find_page_by_key(&s.key("never-triggered")).await?;
    s.expect(unknown.is_none(), format!("unknown key found {unknown:?}"));
    Ok(Outcome::Passed)
}

/// Acknowledge, resolve, resolve again; unknown keys are `NotFound`.
pub async fn acknowledge_and_resolve(pager: &dyn Pager) -> Result<Outcome> {
    let s = Scope::new("acknowledge_and_resolve", pager);
    let (key, _) = s.trigger(pager, "page").await?;
    let by = Some(Person::named("itsm-testkit on-call"));
    pager.acknowledge(&key, by.clone()).await?;
    let status = s.status(pager, &key).await?;
    s.expect(
        status == Some(PageStatus::Acknowledged),
        format!("acknowledge should acknowledge the page, status {status:?}"),
    );
    pager.resolve(&key, by.clone()).await?;
    pager.resolve(&key, by).await?;
    let status = s.status(pager, &key).await?;
    s.expect(
        status == Some(PageStatus::Resolved),
        format!("resolve (twice) should leave the page resolved, status {status:?}"),
    );
    let unknown = s.key("never-triggered");
    s.expect_err(
        pager.acknowledge(&unknown, None).await,
        ErrorKind::NotFound,
        "acknowledge of a key never triggered",
    );
    s.expect_err(
        pager.resolve(&unknown, None).await,
        ErrorKind::NotFound,
        "resolve of a key never triggered",
    );
    Ok(Outcome::Passed)
}

/// `get_page` by id returns the page; an unknown id is `NotFound`.
pub async fn get_page(pager: &dyn Pager) -> Result<Outcome> {
    let caps = pager.capabilities();
    if let Some(skipped) = skip_unless("get_page", &caps, &[capability::PAGE_READ]) {
        return Ok(skipped);
    }
    let s = Scope::new("get_page", pager);
    let (key, page) = s.trigger(pager, "page").await?;
    let id = s.id_of(&page);
    let got = pager.get_page(&id).await?;
    s.expect(
        got.id.as_ref() == Some(&id) && got.key == key,
        format!("get_page({id}) returned {got:?}"),
    );
    s.expect_err(
        pager.get_page(&s.missing()).await,
        ErrorKind::NotFound,
        "get_page of an unknown id",
    );
    Ok(Outcome::Passed)
}

/// Reassign to people and set the priority; unknown ids are `NotFound`.
pub async fn reassign_and_priority(pager: &dyn Pager) -> Result<Outcome> {
    let caps = pager.capabilities();
    let required = [
        capability::PAGE_READ,
        capability::PAGE_REASSIGN,
        capability::PAGE_PRIORITY,
    ];
    if let Some(skipped) = skip_unless("reassign_and_priority", &caps, &required) {
        return Ok(skipped);
    }
    let s = Scope::new("reassign_and_priority", pager);
    let (_, page) = s.trigger(pager, "page").await?;
    let id = s.id_of(&page);
    let who = Person::named(format!("conformance responder {}", s.token));
    let to = PageAssignment::People(vec![who.clone()]);
    let moved = pager.reassign(&id, &to).await?;
    s.expect(
        moved.assignees.iter().any(|p| p.name == who.name),
        format!("reassign should assign {}: {moved:?}", who.name),
    );
    let raised = pager.set_priority(&id, Priority::P2).await?;
    s.expect(
        raised.priority == Some(Priority::P2),
        format!("set_priority(P2) should set it: {raised:?}"),
    );
    let missing = s.missing();
    s.expect_err(
        pager.reassign(&missing, &to).await,
        ErrorKind::NotFound,
        "reassign of an unknown id",
    );
    s.expect_err(
        pager.set_priority(&missing, Priority::P2).await,
        ErrorKind::NotFound,
        "set_priority of an unknown id",
    );
    Ok(Outcome::Passed)
}

/// Notes and responder requests, each twice with one key; unknown ids are `NotFound`.
pub async fn notes_and_responders(pager: &dyn Pager) -> Result<Outcome> {
    let caps = pager.capabilities();
    let required = [
        capability::PAGE_READ,
        capability::PAGE_NOTES,
        capability::PAGE_RESPONDERS,
    ];
    if let Some(skipped) = skip_unless("notes_and_responders", &caps, &required) {
        return Ok(skipped);
    }
    let s = Scope::new("notes_and_responders", pager);
    let (_, page) = s.trigger(pager, "page").await?;
    let id = s.id_of(&page);
    pager.add_note(&id, &s.key("note"), &note()).await?;
    pager.add_note(&id, &s.key("note"), &note()).await?;
    let request = ResponderRequest {
        teams: vec![],
        escalation_policies: vec![],
        people: vec![Person::named(format!("conformance specialist {}", s.token))],
        message: "Database expertise needed".into(),
        requester: Person::named("itsm-testkit"),
    };
    pager
        .request_responders(&id, &s.key("responders"), &request)
        .await?;
    pager
        .request_responders(&id, &s.key("responders"), &request)
        .await?;
    let missing = s.missing();
    s.expect_err(
        pager.add_note(&missing, &s.key("note"), &note()).await,
        ErrorKind::NotFound,
        "add_note on an unknown id",
    );
    s.expect_err(
        pager
            .request_responders(&missing, &s.key("responders"), &request)
            .await,
        ErrorKind::NotFound,
        "request_responders on an unknown id",
    );
    Ok(Outcome::Passed)
}

/// `on_call(Everyone)` answers, with escalation levels of at least 1.
pub async fn on_call(pager: &dyn Pager) -> Result<Outcome> {
    let caps = pager.capabilities();
    if let Some(skipped) = skip_unless("on_call", &caps, &[capability::ON_CALL]) {
        return Ok(skipped);
    }
    let s = Scope::new("on_call", pager);
    let everyone = pager.on_call(&OnCallQuery::Everyone).await?;
    s.expect(
        everyone.iter().all(|o| o.level >= 1),
        format!("escalation levels start at 1: {everyone:?}"),
    );
    Ok(Outcome::Passed)
}

/// A change event, sent twice with one key, is accepted both times.
pub async fn change_events(pager: &dyn Pager) -> Result<Outcome> {
    let caps = pager.capabilities();
    if let Some(skipped) = skip_unless("change_events", &caps, &[capability::CHANGE_EVENTS]) {
        return Ok(skipped);
    }
    let s = Scope::new("change_events", pager);
    let event = ChangeEvent {
        summary: format!("{} 1.0.0 deployed to production", s.service()),
        source: "itsm-testkit".into(),
        service: s.service(),
        routing: None,
        timestamp: OffsetDateTime::now_utc(),
        links: vec![],
        details: BTreeMap::new(),
    };
    pager.send_change_event(&s.key("event"), &event).await?;
    pager.send_change_event(&s.key("event"), &event).await?;
    Ok(Outcome::Passed)
}

/// Each operation whose capability the backend does not declare answers `Unsupported`.
pub async fn unsupported_operations(pager: &dyn Pager) -> Result<Outcome> {
    let caps = pager.capabilities();
    let s = Scope::new("unsupported_operations", pager);
    let id = s.missing();
    let absent = |c| !caps.supports(c);
    if absent(capability::PAGE_READ) {
        s.expect_err(
            pager.get_page(&id).await,
            ErrorKind::Unsupported,
            "get_page",
        );
    }
    if absent(capability::PAGE_REASSIGN) {
        let to = PageAssignment::People(vec![Person::named("x")]);
        s.expect_err(
            pager.reassign(&id, &to).await,
            ErrorKind::Unsupported,
            "reassign",
        );
    }
    if absent(capability::PAGE_PRIORITY) {
        let result = pager.set_priority(&id, Priority::P1).await;
        s.expect_err(result, ErrorKind::Unsupported, "set_priority");
    }
    if absent(capability::PAGE_NOTES) {
        let result = pager.add_note(&id, &s.key("note"), &note()).await;
        s.expect_err(result, ErrorKind::Unsupported, "add_note");
    }
    if absent(capability::PAGE_RESPONDERS) {
        let request = ResponderRequest {
            teams: vec![],
            escalation_policies: vec![],
            people: vec![Person::named("x")],
            message: "x".into(),
            requester: Person::named("x"),
        };
        let result = pager.request_responders(&id, &s.key("r"), &request).await;
        s.expect_err(result, ErrorKind::Unsupported, "request_responders");
    }
    if absent(capability::ON_CALL) {
        let result = pager.on_call(&OnCallQuery::Everyone).await;
        s.expect_err(result, ErrorKind::Unsupported, "on_call");
    }
    if absent(capability::CHANGE_EVENTS) {
        let event = ChangeEvent {
            summary: "x".into(),
            source: "x".into(),
            service: s.service(),
            routing: None,
            timestamp: OffsetDateTime::now_utc(),
            links: vec![],
            details: BTreeMap::new(),
        };
        let result = pager.send_change_event(&s.key("event"), &event).await;
        s.expect_err(result, ErrorKind::Unsupported, "send_change_event");
    }
    Ok(Outcome::Passed)
}

/// Runs every check of the suite, in order, and reports which ran and which were skipped.
///
/// # Panics
///
/// When a check fails: the message names the check, the backend and what went wrong.
pub async fn run_all(pager: &dyn Pager) -> Report {
    let mut report = Report::default();
    let mut record = |name: &'static str, result: Result<Outcome>| match result {
        Ok(outcome) => report.checks.push((name, outcome)),
        Err(e) => panic!(
            "conformance check {name} on the {} backend failed with an unexpected error: {e}",
            pager.capabilities().backend()
        ),
    };
    record("trigger_idempotent", trigger_idempotent(pager).await);
    record(
        "acknowledge_and_resolve",
        acknowledge_and_resolve(pager).await,
    );
    record("get_page", get_page(pager).await);
    record("reassign_and_priority", reassign_and_priority(pager).await);
    record("notes_and_responders", notes_and_responders(pager).await);
    record("on_call", on_call(pager).await);
    record("change_events", change_events(pager).await);
    record(
        "unsupported_operations",
        unsupported_operations(pager).await,
    );
    report
}
