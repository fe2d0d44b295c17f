//! Small stateful in-memory fakes of the incident ports, with call counts and one-shot
//! failure injection, shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use itsm_core::{
    Capabilities, Error, ErrorKind, ExternalRef, IdempotencyKey, ListRequest, Listing, ManualClock,
    Notification, Notifier, Person, Result, ServiceId, TeamId, url::Url,
};
use itsm_incident::workflow::WorkflowSettings;
use itsm_incident::{
    Alert, AlertSource, AlertStatus, Assignment, ChangeEvent, Incident, IncidentFilter, IncidentId,
    IncidentState, IncidentSystem, IncidentWorkflow, NewIncident, NewPage, Note, OnCall,
    OnCallQuery, Page, PageAssignment, PageId, PageStatus, Pager, Priority, Resolution,
    ResponderRequest, Severity, Team, TeamDirectory, TeamKind, capability,
};
use time::OffsetDateTime;
use time::macros::datetime;

pub const T0: OffsetDateTime = datetime!(2026-05-01 10:00 UTC);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Call counts and one-shot failures, per operation name.
#[derive(Debug, Default)]
pub struct Calls {
    counts: Mutex<HashMap<&'static str, usize>>,
    /// The operation and whether its failure is an ambiguous write.
    fail_next: Mutex<Vec<(&'static str, bool)>>,
}

impl Calls {
    fn enter(&self, op: &'static str) -> Result<()> {
        *lock(&self.counts).entry(op).or_default() += 1;
        let mut fail = lock(&self.fail_next);
        if let Some(i) = fail.iter().position(|(o, _)| *o == op) {
            let (_, ambiguous) = fail.remove(i);
            if ambiguous {
                return Err(
                    Error::new(ErrorKind::Timeout, format!("{op} timed out")).with_retryable(false)
                );
            }
            return Err(Error::new(ErrorKind::Unavailable, format!("{op} is down")));
        }
        Ok(())
    }

    /// Makes the next call of `op` fail with `Unavailable`.
    pub fn fail_next(&self, op: &'static str) {
        lock(&self.fail_next).push((op, false));
    }

    /// Makes the next call of `op` time out the way an HTTP client reports a write that
    /// may have acted: `Timeout`, marked not retryable (not to be repeated blindly).
    pub fn fail_next_ambiguous(&self, op: &'static str) {
        lock(&self.fail_next).push((op, true));
    }

    /// How many times `op` was called.
    pub fn count(&self, op: &str) -> usize {
        lock(&self.counts).get(op).copied().unwrap_or(0)
    }
}

/// The ticketing system.
#[derive(Debug)]
pub struct FakeTicketing {
    pub calls: Calls,
    pub caps: Capabilities,
    pub incidents: Mutex<Vec<Incident>>,
    /// (incident, key, note), one per key.
    pub notes: Mutex<Vec<(IncidentId, IdempotencyKey, Note)>>,
}

impl Default for FakeTicketing {
    fn default() -> Self {
        FakeTicketing {
            calls: Calls::default(),
            caps: Capabilities::new("fake-ticketing").with_all([
                capability::INCIDENT_LINKS,
                capability::INCIDENT_NOTES,
                capability::INCIDENT_MAJOR,
                capability::INCIDENT_REASSIGN,
                capability::INCIDENT_PRIORITY,
            ]),
            incidents: Mutex::default(),
            notes: Mutex::default(),
        }
    }
}

impl FakeTicketing {
    pub fn all(&self) -> Vec<Incident> {
        lock(&self.incidents).clone()
    }

    pub fn only(&self) -> Incident {
        let all = self.all();
        assert_eq!(all.len(), 1, "expected exactly one incident: {all:?}");
        all[0].clone()
    }

    pub fn notes(&self) -> Vec<(IncidentId, IdempotencyKey, Note)> {
        lock(&self.notes).clone()
    }

    fn update(&self, id: &IncidentId, f: impl FnOnce(&mut Incident)) -> Result<Incident> {
        let mut all = lock(&self.incidents);
        let incident = all
            .iter_mut()
            .find(|i| &i.id == id)
            .ok_or_else(|| Error::not_found(format!("no incident {id}")))?;
        f(incident);
        Ok(incident.clone())
    }
}

#[async_trait]
impl IncidentSystem for FakeTicketing {
    fn capabilities(&self) -> Capabilities {
        self.caps.clone()
    }

    async fn create_incident(&self, key: &IdempotencyKey, new: &NewIncident) -> Result<Incident> {
        self.calls.enter("create_incident")?;
        let mut all = lock(&self.incidents);
        if let Some(existing) = all.iter().find(|i| i.key.as_ref() == Some(key)) {
            return Ok(existing.clone());
        }
        let n = all.len() + 1;
        let incident = Incident {
            id: IncidentId::new(format!("inc-{n}"))?,
            number: Some(format!("INC{n:07}")),
            key: Some(key.clone()),
            summary: new.summary.clone(),
            description: new.description.clone(),
            state: IncidentState::New,
            priority: new.priority,
            major: false,
            assignment: new.assignment.clone(),
            tenant: new.tenant.clone(),
            acknowledged_by: None,
            links_to: new.links_to.clone(),
            links: new.links.clone(),
            external: Some(ExternalRef::new("snow", format!("inc-{n}")).with_url(
                Url::parse(&format!("https://ticketing.example.invalid/inc-{n}")).unwrap(),
            )),
            opened_at: Some(T0),
            resolved_at: None,
        };
        all.push(incident.clone());
        Ok(incident)
    }

    async fn find_incident_by_key(&self, key: &IdempotencyKey) -> Result<Option<Incident>> {
        self.calls.enter("find_incident_by_key")?;
        Ok(lock(&self.incidents)
            .iter()
            .find(|i| i.key.as_ref() == Some(key))
            .cloned())
    }

    async fn get_incident(&self, id: &IncidentId) -> Result<Incident> {
        self.calls.enter("get_incident")?;
        self.update(id, |_| {})
    }

    async fn list_incidents(
        &self,
        _filter: &IncidentFilter,
        _page: &ListRequest,
    ) -> Result<Listing<Incident>> {
        Err(Error::unsupported("list_incidents", "fake-ticketing"))
    }

    async fn set_state(
        &self,
        id: &IncidentId,
        state: IncidentState,
        by: Option<Person>,
    ) -> Result<Incident> {
        self.calls.enter("set_state")?;
        self.update(id, |i| {
            i.state = state;
            if state == IncidentState::Acknowledged {
                i.acknowledged_by = by;
            }
        })
    }

    async fn reassign(&self, id: &IncidentId, to: &Assignment) -> Result<Incident> {
        self.calls.enter("reassign")?;
        self.update(id, |i| i.assignment = to.clone())
    }

    async fn set_priority(&self, id: &IncidentId, priority: Priority) -> Result<Incident> {
        self.calls.enter("set_priority")?;
        self.update(id, |i| i.priority = priority)
    }

    async fn add_note(&self, id: &IncidentId, key: &IdempotencyKey, note: &Note) -> Result<()> {
        self.calls.enter("add_note")?;
        self.update(id, |_| {})?;
        let mut notes = lock(&self.notes);
        if !notes.iter().any(|(_, k, _)| k == key) {
            notes.push((id.clone(), key.clone(), note.clone()));
        }
        Ok(())
    }

    async fn set_major(&self, id: &IncidentId, major: bool) -> Result<Incident> {
        self.calls.enter("set_major")?;
        self.update(id, |i| i.major = major)
    }

    async fn link(&self, id: &IncidentId, to: &ExternalRef) -> Result<Incident> {
        self.calls.enter("link")?;
        self.update(id, |i| {
            if !i.links_to.contains(to) {
                i.links_to.push(to.clone());
            }
        })
    }

    async fn resolve(&self, id: &IncidentId, resolution: &Resolution) -> Result<Incident> {
        self.calls.enter("resolve")?;
        let _ = resolution;
        self.update(id, |i| {
            if !i.state.is_resolved() {
                i.state = IncidentState::Resolved;
                i.resolved_at = Some(T0);
            }
        })
    }
}

/// A page and what the workflow sent with it.
#[derive(Debug, Clone)]
pub struct FakePage {
    pub page: Page,
    pub sent: NewPage,
}

/// The paging platform.
#[derive(Debug)]
pub struct FakePager {
    pub calls: Calls,
    pub caps: Capabilities,
    pub pages: Mutex<Vec<FakePage>>,
    pub notes: Mutex<Vec<(PageId, IdempotencyKey, Note)>>,
    pub responders: Mutex<Vec<(PageId, IdempotencyKey, ResponderRequest)>>,
    pub on_call: Mutex<BTreeMap<TeamId, Vec<Person>>>,
}

impl Default for FakePager {
    fn default() -> Self {
        FakePager {
            calls: Calls::default(),
            caps: Capabilities::new("fake-pager").with_all([
                capability::PAGE_READ,
                capability::PAGE_REASSIGN,
                capability::PAGE_PRIORITY,
                capability::PAGE_NOTES,
                capability::PAGE_RESPONDERS,
                capability::ON_CALL,
            ]),
            pages: Mutex::default(),
            notes: Mutex::default(),
            responders: Mutex::default(),
            on_call: Mutex::default(),
        }
    }
}

impl FakePager {
    pub fn with_caps(caps: Capabilities) -> Self {
        FakePager {
            caps,
            ..Self::default()
        }
    }

    pub fn all(&self) -> Vec<FakePage> {
        lock(&self.pages).clone()
    }

    pub fn only(&self) -> FakePage {
        let all = self.all();
        assert_eq!(all.len(), 1, "expected exactly one page: {all:?}");
        all[0].clone()
    }

    pub fn notes(&self) -> Vec<(PageId, IdempotencyKey, Note)> {
        lock(&self.notes).clone()
    }

    pub fn responders(&self) -> Vec<(PageId, IdempotencyKey, ResponderRequest)> {
        lock(&self.responders).clone()
    }

    fn by_key(&self, key: &IdempotencyKey, f: impl FnOnce(&mut Page)) -> Result<()> {
        let mut all = lock(&self.pages);
        let page = all
            .iter_mut()
            .find(|p| &p.page.key == key)
            .ok_or_else(|| Error::not_found(format!("no page with key {key}")))?;
        f(&mut page.page);
        Ok(())
    }

    fn by_id(&self, id: &PageId, f: impl FnOnce(&mut Page)) -> Result<Page> {
        let mut all = lock(&self.pages);
        let page = all
            .iter_mut()
            .find(|p| p.page.id.as_ref() == Some(id))
            .ok_or_else(|| Error::not_found(format!("no page {id}")))?;
        f(&mut page.page);
        Ok(page.page.clone())
    }
}

#[async_trait]
impl Pager for FakePager {
    fn capabilities(&self) -> Capabilities {
        self.caps.clone()
    }

    async fn trigger(&self, key: &IdempotencyKey, new: &NewPage) -> Result<Page> {
        self.calls.enter("trigger")?;
        let mut all = lock(&self.pages);
        if let Some(existing) = all.iter().find(|p| &p.page.key == key) {
            return Ok(existing.page.clone());
        }
        let n = all.len() + 1;
        let page = Page {
            id: Some(PageId::new(format!("PG{n}"))?),
            key: key.clone(),
            status: PageStatus::Triggered,
            summary: new.summary.clone(),
            priority: None,
            assignees: Vec::new(),
            external: Some(
                ExternalRef::new("pd", format!("PG{n}"))
                    .with_url(Url::parse(&format!("https://pager.example.invalid/PG{n}")).unwrap()),
            ),
            created_at: Some(T0),
        };
        all.push(FakePage {
            page: page.clone(),
            sent: new.clone(),
        });
        Ok(page)
    }

    async fn find_page_by_key(&self, key: &IdempotencyKey) -> Result<Option<Page>> {
        self.calls.enter("find_page_by_key")?;
        Ok(lock(&self.pages)
            .iter()
            .find(|p| &p.page.key == key)
            .map(|p| p.page.clone()))
    }

    async fn get_page(&self, id: &PageId) -> Result<Page> {
        self.calls.enter("get_page")?;
        self.by_id(id, |_| {})
    }

    async fn acknowledge(&self, key: &IdempotencyKey, _by: Option<Person>) -> Result<()> {
        self.calls.enter("acknowledge")?;
        self.by_key(key, |p| {
            if p.status == PageStatus::Triggered {
                p.status = PageStatus::Acknowledged;
            }
        })
    }

    async fn resolve(&self, key: &IdempotencyKey, _by: Option<Person>) -> Result<()> {
        self.calls.enter("resolve")?;
        self.by_key(key, |p| p.status = PageStatus::Resolved)
    }

    async fn reassign(&self, id: &PageId, to: &PageAssignment) -> Result<Page> {
        self.calls.enter("reassign")?;
        let to = to.clone();
        self.by_id(id, |p| {
            if let PageAssignment::Team(team) = to {
                p.assignees = vec![Person::named(format!("team:{team}"))];
            }
        })
    }

    async fn set_priority(&self, id: &PageId, priority: Priority) -> Result<Page> {
        self.calls.enter("set_priority")?;
        self.by_id(id, |p| p.priority = Some(priority))
    }

    async fn add_note(&self, id: &PageId, key: &IdempotencyKey, note: &Note) -> Result<()> {
        self.calls.enter("add_note")?;
        self.by_id(id, |_| {})?;
        let mut notes = lock(&self.notes);
        if !notes.iter().any(|(_, k, _)| k == key) {
            notes.push((id.clone(), key.clone(), note.clone()));
        }
        Ok(())
    }

    async fn request_responders(
        &self,
        id: &PageId,
        key: &IdempotencyKey,
        request: &ResponderRequest,
    ) -> Result<()> {
        self.calls.enter("request_responders")?;
        self.by_id(id, |_| {})?;
        let mut all = lock(&self.responders);
        if !all.iter().any(|(_, k, _)| k == key) {
            all.push((id.clone(), key.clone(), request.clone()));
        }
        Ok(())
    }

    async fn on_call(&self, query: &OnCallQuery) -> Result<Vec<OnCall>> {
        self.calls.enter("on_call")?;
        let OnCallQuery::Team(team) = query else {
            return Ok(Vec::new());
        };
        Ok(lock(&self.on_call)
            .get(team)
            .into_iter()
            .flatten()
            .map(|person| OnCall {
                person: person.clone(),
                team: Some(team.clone()),
                level: 1,
                schedule: None,
                out_of_hours: Some(true),
                start: None,
                end: None,
            })
            .collect())
    }

    async fn send_change_event(&self, _key: &IdempotencyKey, _event: &ChangeEvent) -> Result<()> {
        Err(Error::unsupported("send_change_event", "fake-pager"))
    }
}

/// The team directory.
#[derive(Debug, Default)]
pub struct FakeTeams {
    pub teams: Vec<Team>,
}

#[async_trait]
impl TeamDirectory for FakeTeams {
    async fn list_teams(&self) -> Result<Vec<Team>> {
        Ok(self.teams.clone())
    }

    async fn get_team(&self, id: &TeamId) -> Result<Option<Team>> {
        Ok(self.teams.iter().find(|t| &t.id == id).cloned())
    }

    async fn owner_of(&self, service: &ServiceId) -> Result<Option<Team>> {
        Ok(self
            .teams
            .iter()
            .find(|t| t.services.contains(service))
            .cloned())
    }
}

/// Records every notification sent (no deduplication, so the tests see every send).
#[derive(Debug, Default)]
pub struct FakeNotifier {
    pub sent: Mutex<Vec<Notification>>,
}

impl FakeNotifier {
    pub fn sent(&self) -> Vec<Notification> {
        lock(&self.sent).clone()
    }
}

#[async_trait]
impl Notifier for FakeNotifier {
    async fn notify(&self, notification: &Notification) -> Result<()> {
        lock(&self.sent).push(notification.clone());
        Ok(())
    }
}

pub fn team(id: &str, kind: TeamKind, out_of_hours: bool, contact: Option<&str>) -> Team {
    Team {
        id: TeamId::new(id).unwrap(),
        name: format!("Team {id}"),
        kind,
        out_of_hours,
        runbook_contact: contact.map(str::to_owned),
        services: Vec::new(),
        members: Vec::new(),
    }
}

/// The ports, the workflow over them, and the clock.
pub struct World {
    pub ticketing: Arc<FakeTicketing>,
    pub pager: Arc<FakePager>,
    pub notifier: Arc<FakeNotifier>,
    pub clock: ManualClock,
    pub workflow: IncidentWorkflow,
}

impl World {
    pub fn new() -> Self {
        Self::with(FakePager::default(), default_teams())
    }

    pub fn with(pager: FakePager, teams: Vec<Team>) -> Self {
        let ticketing = Arc::new(FakeTicketing::default());
        let pager = Arc::new(pager);
        let notifier = Arc::new(FakeNotifier::default());
        let clock = ManualClock::new(T0);
        let settings = WorkflowSettings {
            ticketing_system: "snow".into(),
            paging_system: "pd".into(),
            incident_manager: Some(Person::named("Ines Manager").with_email("im@example.invalid")),
            incident_manager_policy: None,
            ..WorkflowSettings::default()
        };
        let workflow = IncidentWorkflow::new(
            ticketing.clone(),
            pager.clone(),
            Arc::new(FakeTeams { teams }),
            notifier.clone(),
            Arc::new(clock.clone()),
            settings,
        );
        World {
            ticketing,
            pager,
            notifier,
            clock,
            workflow,
        }
    }
}

pub fn default_teams() -> Vec<Team> {
    let mut checkout = team("checkout-team", TeamKind::Product, true, None);
    checkout.services = vec![ServiceId::new("checkout").unwrap()];
    vec![
        checkout,
        team(
            "search-team",
            TeamKind::Product,
            false,
            Some("+44 20 7946 0001 (Sam)"),
        ),
        team("reports-team", TeamKind::Product, false, None),
        team("ops", TeamKind::Operations, true, None),
    ]
}

/// A firing alert for `checkout` with the given key and severity label.
pub fn alert(key: &str, severity: Severity) -> Alert {
    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_owned(), "HighLatency".to_owned());
    labels.insert("service".to_owned(), "checkout".to_owned());
    labels.insert("region".to_owned(), "eu west".to_owned());
    Alert {
        source: AlertSource::Alertmanager,
        dedup_key: IdempotencyKey::new(key).unwrap(),
        status: AlertStatus::Firing,
        severity,
        raw_severity: Some(severity.to_string()),
        service: ServiceId::new("checkout").unwrap(),
        tenant: Some(itsm_core::TenantId::new("acme").unwrap()),
        name: "HighLatency".to_owned(),
        summary: "p99 latency above 2s".to_owned(),
        description: String::new(),
        labels,
        links: Vec::new(),
        starts_at: T0,
        ends_at: None,
    }
}

/// The same alert, resolved at `ends_at`.
pub fn resolved(mut alert: Alert, ends_at: OffsetDateTime) -> Alert {
    alert.status = AlertStatus::Resolved;
    alert.ends_at = Some(ends_at);
    alert
}
