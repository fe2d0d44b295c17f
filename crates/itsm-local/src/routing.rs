//! Who a page goes to: routing to a team, the team's on-call person, and the
//! notifications that page people (recorded in the outbox inside the caller's transaction).

use itsm_core::{
    Error, ExternalRef, IdempotencyKey, Link, Notification, NotificationTopic, Person, Recipient,
    Result, TeamId,
};
use itsm_incident::{OnCallQuery, Page, Team};
use time::OffsetDateTime;

use crate::store::Conn;
use crate::{SYSTEM, outbox, page_table, teams};

/// The role notified when a page reaches no person (no team, nobody on call, no incident
/// manager set).
pub(crate) const INCIDENT_MANAGER_ROLE: &str = "incident-manager";

/// A team named by a routing string or escalation policy name: the team id.
pub(crate) fn named_team(conn: &Conn<'_>, name: &str, what: &str) -> Result<Team> {
    let id = TeamId::new(name).map_err(|e| {
        Error::invalid_input(format!(
            "{what} {name:?} is not a team id ({}); the local pager routes by team id",
            e.message()
        ))
    })?;
    teams::require_team(conn, &id)
}

/// Where a team's page goes: its on-call person, or the team itself when nobody is on call.
pub(crate) fn team_recipient(
    conn: &Conn<'_>,
    team: &Team,
    now: OffsetDateTime,
) -> Result<(Option<Person>, Recipient)> {
    Ok(match teams::first_responder(conn, team, now)? {
        Some(on_call) => (
            Some(on_call.person.clone()),
            Recipient::Person(on_call.person),
        ),
        None => (None, Recipient::Team(team.id.clone())),
    })
}

/// The incident manager as a recipient (the role when none is set), and the person.
pub(crate) fn manager_recipient(conn: &Conn<'_>) -> Result<(Option<Person>, Recipient)> {
    Ok(match teams::incident_manager(conn)? {
        Some(person) => (Some(person.clone()), Recipient::Person(person)),
        None => (None, Recipient::Role(INCIDENT_MANAGER_ROLE.to_owned())),
    })
}

/// Records a notification about `page` in the outbox under `key_suffix`.
pub(crate) fn notify_about(
    conn: &Conn<'_>,
    page: &Page,
    key_suffix: &str,
    recipients: Vec<Recipient>,
    subject: String,
    links: Vec<Link>,
    now: OffsetDateTime,
) -> Result<()> {
    let id = page_table::id_of(page)?;
    let notification = Notification {
        key: IdempotencyKey::new(format!("page/{id}/{key_suffix}"))?,
        topic: NotificationTopic::IncidentOpened,
        recipients,
        body: format!(
            "{subject}\nPage {id} ({}), triggered with key {}.",
            crate::records::variant_text(&page.status),
            page.key
        ),
        subject,
        links,
        about: vec![ExternalRef::new(SYSTEM, id.as_str())],
    };
    outbox::record(conn, &notification, now)
}

/// The on-call entries answering `query` at `now`.
pub(crate) fn on_call(
    conn: &Conn<'_>,
    query: &OnCallQuery,
    now: OffsetDateTime,
) -> Result<Vec<itsm_incident::OnCall>> {
    match query {
        OnCallQuery::Everyone => {
            let mut out = Vec::new();
            for team in teams::all_teams(conn)? {
                out.extend(teams::team_on_call(conn, &team, now, true)?);
            }
            if let Some(manager) = teams::incident_manager(conn)? {
                out.push(itsm_incident::OnCall {
                    person: manager,
                    team: None,
                    level: 2,
                    schedule: None,
                    out_of_hours: Some(true),
                    start: None,
                    end: None,
                });
            }
            Ok(out)
        }
        OnCallQuery::Team(id) => {
            let team = teams::require_team(conn, id)?;
            teams::team_on_call(conn, &team, now, false)
        }
        OnCallQuery::Schedule(name) | OnCallQuery::EscalationPolicy(name) => {
            let team = named_team(conn, name, "schedule")?;
            if teams::schedule(conn, &team.id)?.is_none() {
                return Err(Error::not_found(format!(
                    "team {} has no on-call schedule; set one with set_schedule",
                    team.id
                ))
                .with_context("schedule", name));
            }
            let first_only = matches!(query, OnCallQuery::Schedule(_));
            teams::team_on_call(conn, &team, now, first_only)
        }
    }
}
