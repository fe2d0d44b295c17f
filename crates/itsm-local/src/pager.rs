//! [`Pager`] for [`LocalStore`]: a paging platform on one machine, and escalation of pages
//! nobody acknowledged.

use async_trait::async_trait;
use itsm_core::{Capabilities, Error, ErrorKind, IdempotencyKey, Person, Recipient, Result};
use itsm_incident::{
    ChangeEvent, NewPage, Note, OnCall, OnCallQuery, Page, PageAssignment, PageId, PageStatus,
    Pager, Priority, ResponderRequest, capability,
};
use time::{Duration, OffsetDateTime};

use crate::records::timestamp;
use crate::routing::{self, manager_recipient, named_team, notify_about, team_recipient};
use crate::store::{Conn, LocalStore};
use crate::{SYSTEM, incident_table, page_table, teams};

/// The local store as a paging platform, with these rules (checked by
/// `itsm_testkit::conformance::pager`):
///
/// - **Trigger** is idempotent by key: the same key returns the first page, whatever its
///   status. The page goes to the team named by `routing` (a team id; unknown is invalid
///   input), else to the team owning `service` ([`LocalStore::upsert_team`]). It is
///   assigned to that team's on-call person now (level 1 of its [`Schedule`](crate::Schedule))
///   and a notification (topic `IncidentOpened`) to that person is recorded in the outbox;
///   when nobody is on call it goes to the team, and with no team to the incident manager
///   (or the `incident-manager` role), so no page goes unseen. Ids are `PG0000001`, ….
/// - **Acknowledge / resolve** by key: [`ErrorKind::NotFound`] for a key never triggered;
///   acknowledging an acknowledged or resolved page and resolving a resolved one change
///   nothing.
/// - **Reassign**: `Team` and `EscalationPolicy` both name a team id (the local escalation
///   policy of a team is its schedule, then the incident manager) and assign its on-call
///   person; `People` assigns them (at least one). Each reassignment notifies the new
///   assignees. A resolved page cannot be reassigned (conflict).
/// - **Notes and responder requests** are idempotent by key per page. Teams and escalation
///   policies (team ids) in a request reach their on-call person, people are reached
///   directly; people reached become the page's responders ([`LocalStore::page_responders`]).
/// - **On call**: `Everyone` is level 1 of every team plus the incident manager at level 2;
///   `Team` and `EscalationPolicy` (a team id) are levels 1 and 2; `Schedule` (a team id)
///   is level 1 only. A team or schedule that does not exist is [`ErrorKind::NotFound`].
/// - **Change events** are recorded once per key ([`LocalStore::change_events`]).
#[async_trait]
impl Pager for LocalStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(SYSTEM).with_all([
            capability::PAGE_READ,
            capability::PAGE_REASSIGN,
            capability::PAGE_PRIORITY,
            capability::PAGE_NOTES,
            capability::PAGE_RESPONDERS,
            capability::ON_CALL,
            capability::CHANGE_EVENTS,
        ])
    }

    async fn trigger(&self, key: &IdempotencyKey, page: &NewPage) -> Result<Page> {
        if page.summary.trim().is_empty() {
            return Err(Error::invalid_input(
                "page summary must not be empty; say what is wrong in one line",
            )
            .with_context("field", "summary"));
        }
        let (key, new, now) = (key.clone(), page.clone(), self.now());
        self.write(move |conn| trigger(conn, &key, &new, now)).await
    }

    async fn find_page_by_key(&self, key: &IdempotencyKey) -> Result<Option<Page>> {
        let key = key.clone();
        self.read(move |conn| page_table::by_key(conn, &key)).await
    }

    async fn get_page(&self, id: &PageId) -> Result<Page> {
        let id = id.clone();
        self.read(move |conn| page_table::get(conn, &id)).await
    }

    async fn acknowledge(&self, key: &IdempotencyKey, _by: Option<Person>) -> Result<()> {
        self.move_page(key, PageStatus::Acknowledged).await
    }

    async fn resolve(&self, key: &IdempotencyKey, _by: Option<Person>) -> Result<()> {
        self.move_page(key, PageStatus::Resolved).await
    }

    async fn reassign(&self, id: &PageId, to: &PageAssignment) -> Result<Page> {
        if let PageAssignment::People(people) = to
            && people.is_empty()
        {
            return Err(Error::invalid_input(
                "reassigning to people needs at least one person; name who takes the page",
            )
            .with_context("field", "to"));
        }
        let (id, to, now) = (id.clone(), to.clone(), self.now());
        self.write(move |conn| reassign(conn, &id, &to, now)).await
    }

    async fn set_priority(&self, id: &PageId, priority: Priority) -> Result<Page> {
        let (id, now) = (id.clone(), self.now());
        self.write(move |conn| {
            let mut page = page_table::get(conn, &id)?;
            if page.priority != Some(priority) {
                page.priority = Some(priority);
                page_table::save(conn, &page, None, now)?;
            }
            Ok(page)
        })
        .await
    }

    async fn add_note(&self, id: &PageId, key: &IdempotencyKey, note: &Note) -> Result<()> {
        incident_table::validate_note(note)?;
        let (id, key, note, now) = (id.clone(), key.clone(), note.clone(), self.now());
        self.write(move |conn| {
            page_table::get(conn, &id)?;
            page_table::add_note(conn, &id, &key, &note, now)
        })
        .await
    }

    async fn request_responders(
        &self,
        id: &PageId,
        key: &IdempotencyKey,
        request: &ResponderRequest,
    ) -> Result<()> {
        if request.teams.is_empty()
            && request.escalation_policies.is_empty()
            && request.people.is_empty()
        {
            return Err(Error::invalid_input(
                "a responder request names nobody; give teams, escalation policies or people",
            ));
        }
        let (id, key, request, now) = (id.clone(), key.clone(), request.clone(), self.now());
        self.write(move |conn| request_responders(conn, &id, &key, &request, now))
            .await
    }

    async fn on_call(&self, query: &OnCallQuery) -> Result<Vec<OnCall>> {
        let (query, now) = (query.clone(), self.now());
        self.read(move |conn| routing::on_call(conn, &query, now))
            .await
    }

    async fn send_change_event(&self, key: &IdempotencyKey, event: &ChangeEvent) -> Result<()> {
        if event.summary.trim().is_empty() {
            return Err(Error::invalid_input(
                "change event summary must not be empty; say what was deployed where",
            )
            .with_context("field", "summary"));
        }
        let (key, event, now) = (key.clone(), event.clone(), self.now());
        self.write(move |conn| page_table::record_change_event(conn, &key, &event, now))
            .await
    }
}

impl LocalStore {
    async fn move_page(&self, key: &IdempotencyKey, to: PageStatus) -> Result<()> {
        let (key, now) = (key.clone(), self.now());
        self.write(move |conn| {
            let mut page = page_table::require_by_key(conn, &key)?;
            let moves = matches!(
                (page.status, to),
                (PageStatus::Triggered, _) | (PageStatus::Acknowledged, PageStatus::Resolved)
            );
            if moves {
                page.status = to;
                page_table::save(conn, &page, None, now)?;
            }
            Ok(())
        })
        .await
    }

    /// The people added to a page as responders (by responder requests and escalation),
    /// in the order they were added; [`ErrorKind::NotFound`] for an unknown page.
    pub async fn page_responders(&self, id: &PageId) -> Result<Vec<Person>> {
        let id = id.clone();
        self.read(move |conn| {
            page_table::get(conn, &id)?;
            page_table::responders(conn, &id)
        })
        .await
    }

    /// The notes added to a page, oldest first; [`ErrorKind::NotFound`] for an unknown page.
    pub async fn page_notes(&self, id: &PageId) -> Result<Vec<Note>> {
        let id = id.clone();
        self.read(move |conn| {
            page_table::get(conn, &id)?;
            page_table::notes(conn, &id)
        })
        .await
    }

    /// The change events sent with [`send_change_event`](Pager::send_change_event), oldest
    /// first.
    pub async fn change_events(&self) -> Result<Vec<ChangeEvent>> {
        self.read(page_table::change_events).await
    }

    /// Escalates every page triggered more than `after` ago and still unacknowledged: the
    /// incident manager ([`set_incident_manager`](LocalStore::set_incident_manager)) becomes
    /// a responder and is notified (the `incident-manager` role when none is set). Each page
    /// is escalated once; returns the keys of the pages escalated by this call.
    ///
    /// Errors: [`ErrorKind::InvalidInput`] for a negative `after`.
    pub async fn escalate_unacknowledged(&self, after: Duration) -> Result<Vec<IdempotencyKey>> {
        if after.is_negative() {
            return Err(Error::invalid_input(format!(
                "escalation delay {after} is negative; give how long a page may stay unacknowledged"
            )));
        }
        let now = self.now();
        self.write(move |conn| escalate(conn, after, now)).await
    }
}

fn trigger(
    conn: &Conn<'_>,
    key: &IdempotencyKey,
    new: &NewPage,
    now: OffsetDateTime,
) -> Result<Page> {
    if let Some(existing) = page_table::by_key(conn, key)? {
        return Ok(existing);
    }
    let team = match &new.routing {
        Some(routing) => Some(named_team(conn, routing, "routing")?),
        None => teams::owner_of(conn, &new.service)?,
    };
    let (assignee, recipient) = match &team {
        Some(team) => team_recipient(conn, team, now)?,
        None => manager_recipient(conn)?,
    };
    let assignees: Vec<Person> = assignee.into_iter().collect();
    let page = page_table::insert(conn, key, new, team.as_ref().map(|t| &t.id), assignees, now)?;
    let subject = format!("[{}] {} ({})", new.severity, page.summary, new.service);
    notify_about(
        conn,
        &page,
        "triggered",
        vec![recipient],
        subject,
        new.links.clone(),
        now,
    )?;
    Ok(page)
}

fn reassign(
    conn: &Conn<'_>,
    id: &PageId,
    to: &PageAssignment,
    now: OffsetDateTime,
) -> Result<Page> {
    let mut page = page_table::get(conn, id)?;
    if page.status == PageStatus::Resolved {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!("page {id} is resolved and cannot be reassigned; trigger a new page"),
        )
        .with_context("page", id));
    }
    let (team, assignees, recipients) = match to {
        PageAssignment::Team(team) => {
            let team = teams::require_team(conn, team)?;
            let (person, recipient) = team_recipient(conn, &team, now)?;
            (Some(team), person.into_iter().collect(), vec![recipient])
        }
        PageAssignment::EscalationPolicy(name) => {
            let team = named_team(conn, name, "escalation policy")?;
            let (person, recipient) = team_recipient(conn, &team, now)?;
            (Some(team), person.into_iter().collect(), vec![recipient])
        }
        PageAssignment::People(people) => (
            None,
            people.clone(),
            people.iter().cloned().map(Recipient::Person).collect(),
        ),
    };
    page.assignees = assignees;
    page_table::save(conn, &page, team.as_ref().map(|t| &t.id), now)?;
    let prefix = format!("page/{id}/assigned/");
    let n = page_table::count_notifications(conn, &prefix)? + 1;
    let subject = format!("Reassigned to you: {}", page.summary);
    notify_about(
        conn,
        &page,
        &format!("assigned/{n}"),
        recipients,
        subject,
        vec![],
        now,
    )?;
    Ok(page)
}

fn request_responders(
    conn: &Conn<'_>,
    id: &PageId,
    key: &IdempotencyKey,
    request: &ResponderRequest,
    now: OffsetDateTime,
) -> Result<()> {
    let page = page_table::get(conn, id)?;
    // Resolve every name before recording anything, so an unknown team records nothing.
    let mut team_list = Vec::new();
    for team in &request.teams {
        team_list.push(teams::require_team(conn, team)?);
    }
    for policy in &request.escalation_policies {
        team_list.push(named_team(conn, policy, "escalation policy")?);
    }
    let Some(seq) = page_table::add_responder_request(conn, id, key, request, now)? else {
        return Ok(());
    };
    let mut people = Vec::new();
    let mut recipients = Vec::new();
    for team in &team_list {
        let (person, recipient) = team_recipient(conn, team, now)?;
        people.extend(person);
        incident_table::push_unique(&mut recipients, recipient);
    }
    for person in &request.people {
        people.push(person.clone());
        incident_table::push_unique(&mut recipients, Recipient::Person(person.clone()));
    }
    page_table::add_responders(conn, id, &people)?;
    let subject = format!(
        "{} asks you to respond: {} ({})",
        request.requester.name, page.summary, request.message
    );
    notify_about(
        conn,
        &page,
        &format!("responders/{seq}"),
        recipients,
        subject,
        vec![],
        now,
    )
}

fn escalate(conn: &Conn<'_>, after: Duration, now: OffsetDateTime) -> Result<Vec<IdempotencyKey>> {
    let (manager, recipient) = manager_recipient(conn)?;
    let mut escalated = Vec::new();
    for page in page_table::unescalated_triggered(conn)? {
        let due = page.created_at.is_some_and(|at| at + after <= now);
        if !due {
            continue;
        }
        let id = page_table::id_of(&page)?.clone();
        page_table::mark_escalated(conn, &id, now)?;
        if let Some(manager) = &manager {
            page_table::add_responders(conn, &id, std::slice::from_ref(manager))?;
        }
        let since = page
            .created_at
            .map(timestamp)
            .transpose()?
            .unwrap_or_default();
        let subject = format!(
            "Escalated: {} has not been acknowledged since {since}",
            page.summary
        );
        notify_about(
            conn,
            &page,
            "escalated",
            vec![recipient.clone()],
            subject,
            vec![],
            now,
        )?;
        escalated.push(page.key);
    }
    Ok(escalated)
}
