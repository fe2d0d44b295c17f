//! Teams, their services and on-call schedules, and the incident manager: the
//! [`TeamDirectory`] of [`LocalStore`] and the lookups the pager builds on.

use async_trait::async_trait;
use itsm_core::{Error, Person, Result, ServiceId, TeamId};
use itsm_incident::{OnCall, Team, TeamDirectory};
use time::OffsetDateTime;

use crate::oncall::Schedule;
use crate::records::{decode, encode, timestamp};
use crate::store::{Conn, LocalStore};

/// The `setting` row holding the incident manager.
const INCIDENT_MANAGER: &str = "incident_manager";

/// Teams as stored with [`LocalStore::upsert_team`]; `list_teams` is ordered by team id.
#[async_trait]
impl TeamDirectory for LocalStore {
    async fn list_teams(&self) -> Result<Vec<Team>> {
        self.read(all_teams).await
    }

    async fn get_team(&self, id: &TeamId) -> Result<Option<Team>> {
        let id = id.clone();
        self.read(move |conn| team(conn, &id)).await
    }

    async fn owner_of(&self, service: &ServiceId) -> Result<Option<Team>> {
        let service = service.clone();
        self.read(move |conn| owner_of(conn, &service)).await
    }
}

impl LocalStore {
    /// Adds or replaces a team (kind, out-of-hours flag, runbook contact, services,
    /// members). A service belongs to one team: listing it here moves it from any other.
    ///
    /// Errors: [`ErrorKind::InvalidInput`](itsm_core::ErrorKind::InvalidInput) for an
    /// empty name.
    pub async fn upsert_team(&self, team: &Team) -> Result<()> {
        if team.name.trim().is_empty() {
            return Err(Error::invalid_input(format!(
                "team {} has an empty name; name it",
                team.id
            ))
            .with_context("field", "name"));
        }
        let (team, now) = (team.clone(), self.now());
        self.write(move |conn| {
            let id = team.id.as_str();
            conn.execute(
                "INSERT INTO team (id, updated_at, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET updated_at = ?2, body = ?3",
                rusqlite::params![id, timestamp(now)?, encode("team", id, &team)?],
            )?;
            conn.execute("DELETE FROM team_service WHERE team_id = ?1", [id])?;
            for service in &team.services {
                conn.execute(
                    "INSERT INTO team_service (service, team_id) VALUES (?1, ?2) \
                     ON CONFLICT (service) DO UPDATE SET team_id = ?2",
                    [service.as_str(), id],
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Sets (replaces) a team's on-call schedule.
    ///
    /// Errors: [`ErrorKind::InvalidInput`](itsm_core::ErrorKind::InvalidInput) for an invalid
    /// schedule (see [`Schedule::validate`]); [`ErrorKind::NotFound`](itsm_core::ErrorKind::NotFound)
    /// for a team not added with [`upsert_team`](LocalStore::upsert_team).
    pub async fn set_schedule(&self, team: &TeamId, schedule: &Schedule) -> Result<()> {
        schedule.validate()?;
        let (team, schedule, now) = (team.clone(), schedule.clone(), self.now());
        self.write(move |conn| {
            require_team(conn, &team)?;
            let id = team.as_str();
            conn.execute(
                "INSERT INTO team_schedule (team_id, updated_at, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (team_id) DO UPDATE SET updated_at = ?2, body = ?3",
                rusqlite::params![id, timestamp(now)?, encode("schedule", id, &schedule)?],
            )?;
            Ok(())
        })
        .await
    }

    /// A team's schedule, if one was set.
    pub async fn schedule(&self, team: &TeamId) -> Result<Option<Schedule>> {
        let team = team.clone();
        self.read(move |conn| schedule(conn, &team)).await
    }

    /// Sets the incident manager: escalation level 2 of every team, the responder added to
    /// pages nobody acknowledged in time.
    pub async fn set_incident_manager(&self, person: Person) -> Result<()> {
        let now = self.now();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO setting (name, updated_at, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO UPDATE SET updated_at = ?2, body = ?3",
                rusqlite::params![
                    INCIDENT_MANAGER,
                    timestamp(now)?,
                    encode("setting", INCIDENT_MANAGER, &person)?
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// The incident manager, if one was set.
    pub async fn incident_manager(&self) -> Result<Option<Person>> {
        self.read(incident_manager).await
    }
}

/// One team by id.
pub(crate) fn team(conn: &Conn<'_>, id: &TeamId) -> Result<Option<Team>> {
    let body = conn.row("SELECT body FROM team WHERE id = ?1", [id.as_str()], |r| {
        r.get::<_, String>(0)
    })?;
    body.map(|b| decode(conn.path(), "team", id.as_str(), &b))
        .transpose()
}

/// One team by id, or [`ErrorKind::NotFound`](itsm_core::ErrorKind::NotFound).
pub(crate) fn require_team(conn: &Conn<'_>, id: &TeamId) -> Result<Team> {
    team(conn, id)?.ok_or_else(|| {
        Error::not_found(format!(
            "team {id} does not exist in {}; add it with upsert_team first",
            conn.path().display()
        ))
        .with_context("team", id)
    })
}

/// The team owning `service`.
pub(crate) fn owner_of(conn: &Conn<'_>, service: &ServiceId) -> Result<Option<Team>> {
    let owner = conn.row(
        "SELECT team_id FROM team_service WHERE service = ?1",
        [service.as_str()],
        |r| r.get::<_, String>(0),
    )?;
    match owner {
        Some(id) => team(conn, &TeamId::new(id)?),
        None => Ok(None),
    }
}

/// A team's schedule.
pub(crate) fn schedule(conn: &Conn<'_>, team: &TeamId) -> Result<Option<Schedule>> {
    let body = conn.row(
        "SELECT body FROM team_schedule WHERE team_id = ?1",
        [team.as_str()],
        |r| r.get::<_, String>(0),
    )?;
    body.map(|b| decode(conn.path(), "schedule", team.as_str(), &b))
        .transpose()
}

/// The incident manager.
pub(crate) fn incident_manager(conn: &Conn<'_>) -> Result<Option<Person>> {
    let body = conn.row(
        "SELECT body FROM setting WHERE name = ?1",
        [INCIDENT_MANAGER],
        |r| r.get::<_, String>(0),
    )?;
    body.map(|b| decode(conn.path(), "setting", INCIDENT_MANAGER, &b))
        .transpose()
}

/// A team's level-1 on-call person at `now`, if anyone is on call.
pub(crate) fn first_responder(
    conn: &Conn<'_>,
    team: &Team,
    now: OffsetDateTime,
) -> Result<Option<OnCall>> {
    let Some(schedule) = schedule(conn, &team.id)? else {
        return Ok(None);
    };
    Ok(schedule.on_call_at(now).map(|shift| OnCall {
        person: shift.person,
        team: Some(team.id.clone()),
        level: 1,
        schedule: Some(team.id.as_str().to_owned()),
        out_of_hours: Some(team.out_of_hours),
        start: Some(shift.start),
        end: Some(shift.end),
    }))
}

/// The on-call entries of a team at `now`: level 1 from its schedule (when anyone is on
/// call), and unless `first_only`, level 2 the incident manager.
pub(crate) fn team_on_call(
    conn: &Conn<'_>,
    team: &Team,
    now: OffsetDateTime,
    first_only: bool,
) -> Result<Vec<OnCall>> {
    let mut out: Vec<OnCall> = first_responder(conn, team, now)?.into_iter().collect();
    if !first_only && let Some(manager) = incident_manager(conn)? {
        out.push(OnCall {
            person: manager,
            team: Some(team.id.clone()),
            level: 2,
            schedule: None,
            out_of_hours: Some(true),
            start: None,
            end: None,
        });
    }
    Ok(out)
}

/// Every team, ordered by id.
pub(crate) fn all_teams(conn: &Conn<'_>) -> Result<Vec<Team>> {
    let rows = conn.rows("SELECT id, body FROM team ORDER BY id", [], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    rows.iter()
        .map(|(id, body)| decode(conn.path(), "team", id, body))
        .collect()
}
