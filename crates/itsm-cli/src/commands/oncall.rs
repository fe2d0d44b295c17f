//! `itsm oncall show`: who is on call per team at an instant (level 1 from the team's
//! schedule, the incident manager at level 2), the teams with nobody on call then, and the
//! product teams without an out-of-hours rotation, each with its runbook contact.

use std::fmt::Write as _;
use std::sync::Arc;

use itsm_core::{Clock, Error, ManualClock, Result, SystemClock, TeamId, format_instant};
use itsm_incident::{OnCall, OnCallQuery, Pager, Team, TeamDirectory, TeamKind};
use itsm_local::Coverage;
use serde::Serialize;

use crate::app::Incidents;
use crate::args::timestamp;
use crate::cli::{OncallCommand, Output};
use crate::config::Config;
use crate::exit;
use crate::output::emit;

/// One team's on-call at the instant.
#[derive(Debug, Serialize)]
struct TeamOnCall {
    team: TeamId,
    name: String,
    kind: TeamKind,
    out_of_hours: bool,
    runbook_contact: Option<String>,
    on_call: Vec<OnCall>,
}

/// A team with nobody on call at the instant, or without an out-of-hours rotation.
#[derive(Debug, Serialize)]
struct Uncovered {
    team: TeamId,
    name: String,
    runbook_contact: Option<String>,
    reason: String,
}

/// What `itsm oncall show` prints.
#[derive(Debug, Serialize)]
struct Report {
    at: String,
    teams: Vec<TeamOnCall>,
    /// Teams with nobody on call at `at`.
    uncovered: Vec<Uncovered>,
    /// Product teams without an out-of-hours rotation (whatever the instant).
    no_out_of_hours_rotation: Vec<Uncovered>,
}

/// Opens the store on a clock at `--at` (or the system clock) and reports.
pub(crate) async fn run(config: Config, output: Output, command: OncallCommand) -> Result<u8> {
    let OncallCommand::Show { team, at } = command;
    let team = team.map(TeamId::new).transpose()?;
    let clock: Arc<dyn Clock> = match at {
        Some(at) => Arc::new(ManualClock::new(timestamp("at", &at)?)),
        None => Arc::new(SystemClock),
    };
    let now = clock.now();
    let app = Incidents::open_with_clock(&config, clock).await?;
    let teams = match &team {
        Some(id) => vec![app.store.get_team(id).await?.ok_or_else(|| {
            Error::not_found(format!(
                "team {id} is not configured; add it as a [[team]] in itsm.toml"
            ))
        })?],
        None => app.store.list_teams().await?,
    };
    let at = format_instant(now);
    let mut report = Report {
        at: at.clone(),
        teams: Vec::with_capacity(teams.len()),
        uncovered: Vec::new(),
        no_out_of_hours_rotation: Vec::new(),
    };
    for t in teams {
        let on_call = app.store.on_call(&OnCallQuery::Team(t.id.clone())).await?;
        if !on_call.iter().any(|o| o.level == 1) {
            let reason = match app.store.schedule(&t.id).await? {
                None => "no on-call schedule".to_owned(),
                Some(s) => match s.coverage {
                    Coverage::WorkingHours { utc_offset } => format!(
                        "outside working hours (Mon-Fri 09:00-17:00 at {utc_offset}) at {at}"
                    ),
                    Coverage::AlwaysOn => format!("nobody on call at {at}"),
                },
            };
            report.uncovered.push(uncovered(&t, reason));
        }
        if t.kind == TeamKind::Product && !t.out_of_hours {
            report
                .no_out_of_hours_rotation
                .push(uncovered(&t, "no out-of-hours on-call rotation".to_owned()));
        }
        report.teams.push(TeamOnCall {
            team: t.id,
            name: t.name,
            kind: t.kind,
            out_of_hours: t.out_of_hours,
            runbook_contact: t.runbook_contact,
            on_call,
        });
    }
    emit(output, &report, || text(&report));
    Ok(exit::OK)
}

fn uncovered(t: &Team, reason: String) -> Uncovered {
    Uncovered {
        team: t.id.clone(),
        name: t.name.clone(),
        runbook_contact: t.runbook_contact.clone(),
        reason,
    }
}

fn text(r: &Report) -> String {
    let mut s = format!("on call at {}\n", r.at);
    if r.teams.is_empty() {
        s.push_str("no teams: add [[team]] entries to itsm.toml\n");
    }
    for t in &r.teams {
        let _ = writeln!(s, "{} ({}):", t.name, t.team);
        if t.on_call.is_empty() {
            let _ = writeln!(s, "  nobody");
        }
        for o in &t.on_call {
            let until = o
                .end
                .map(|e| format!(" until {}", format_instant(e)))
                .unwrap_or_default();
            let _ = writeln!(s, "  level {}: {}{until}", o.level, o.person);
        }
    }
    list(&mut s, "nobody on call", &r.uncovered);
    list(&mut s, "no out-of-hours cover", &r.no_out_of_hours_rotation);
    s
}

fn list(s: &mut String, title: &str, teams: &[Uncovered]) {
    if teams.is_empty() {
        return;
    }
    let _ = writeln!(s, "{title}; phone their runbook contact:");
    for t in teams {
        let _ = writeln!(
            s,
            "  {} ({}): {} ({})",
            t.name,
            t.team,
            t.runbook_contact
                .as_deref()
                .unwrap_or("no runbook contact recorded"),
            t.reason
        );
    }
}
