//! `itsm incident major` (I5) and `itsm incident engage` (S5): bringing more people to an
//! incident.

use std::fmt::Write as _;
use std::sync::Arc;

use itsm_core::{Error, ExternalRef, Person, Result, TeamId};
use itsm_incident::workflow::MajorIncidentOutcome;
use itsm_incident::{IncidentId, TeamDirectory};
use itsm_specialist::{RequestId, SpecialistCatalog, SpecialistTeam};

use super::text;
use crate::app::Incidents;
use crate::cli::Output;
use crate::commands::specialist::engage::{Engagement, engage as engage_team};
use crate::exit;
use crate::output::emit;

/// Declares the incident major and prints who was engaged and whom to phone.
pub(super) async fn declare(
    app: &Incidents,
    output: Output,
    id: &IncidentId,
    by: Person,
    message: &str,
) -> Result<u8> {
    let outcome = app.workflow.declare_major(id, by, message).await?;
    emit(output, &outcome, || major_text(&outcome));
    Ok(exit::OK)
}

fn major_text(o: &MajorIncidentOutcome) -> String {
    let mut s = String::new();
    let name = text::name(&o.incident);
    if o.already_declared {
        let _ = writeln!(
            s,
            "{name} was already a major incident: nobody was notified again"
        );
    } else {
        let _ = writeln!(s, "{name} declared a major incident");
        let _ = writeln!(
            s,
            "  incident manager: {}, {}",
            if o.manager_notified {
                "notified"
            } else {
                "not notified"
            },
            if o.manager_paged {
                "requested as responder"
            } else {
                "not requested as responder"
            }
        );
    }
    for t in &o.engaged {
        let on_call: Vec<String> = t.on_call.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            s,
            "  engaged {} ({}): on call {}{}{}",
            t.name,
            t.team,
            if on_call.is_empty() {
                "nobody".to_owned()
            } else {
                on_call.join(", ")
            },
            if t.paged { ", paged" } else { "" },
            if t.notified { ", notified" } else { "" }
        );
    }
    if o.uncovered.is_empty() {
        let _ = writeln!(s, "every product team has an out-of-hours rotation");
    } else {
        let _ = writeln!(s, "no out-of-hours cover; phone their runbook contact:");
        for t in &o.uncovered {
            let _ = writeln!(
                s,
                "  {} ({}): {}",
                t.name,
                t.team,
                t.runbook_contact
                    .as_deref()
                    .unwrap_or("no runbook contact recorded")
            );
        }
    }
    s.push_str(&text::steps(&o.steps));
    s
}

/// Engages a specialist team on the incident's page and records it on the incident.
pub(super) async fn engage(
    app: &Incidents,
    output: Output,
    id: &IncidentId,
    team: &TeamId,
    by: Person,
    message: String,
    request: Option<RequestId>,
) -> Result<u8> {
    let team = specialist_team(app, team).await?;
    let request = match request {
        Some(r) => {
            app.store.get_request(&r).await?;
            Some(ExternalRef::new(itsm_local::SYSTEM, r.as_str()))
        }
        None => None,
    };
    let engagement = Engagement {
        team,
        message,
        requester: by,
        request,
    };
    let shared = Arc::new(app.store.clone());
    let engaged = engage_team(shared.clone(), shared, id, &engagement).await?;
    emit(output, &engaged, || {
        format!(
            "{} ({}) engaged on page {} of {}\n{}",
            engagement.team.name,
            engagement.team.id,
            engaged.page,
            text::name(&engaged.incident),
            text::incident_line(&engaged.incident)
        )
    });
    Ok(exit::OK)
}

/// The specialist team `id`: from the loaded catalog, else a configured `[[team]]`.
async fn specialist_team(app: &Incidents, id: &TeamId) -> Result<SpecialistTeam> {
    let catalog = app.store.specialist_teams().await?;
    if let Some(team) = catalog.iter().find(|t| &t.id == id) {
        return Ok(team.clone());
    }
    if let Some(team) = app.store.get_team(id).await? {
        return Ok(SpecialistTeam {
            id: team.id,
            name: team.name,
            description: String::new(),
            pager_team: None,
        });
    }
    let mut known: Vec<String> = catalog.iter().map(|t| t.id.to_string()).collect();
    known.extend(
        app.store
            .list_teams()
            .await?
            .into_iter()
            .map(|t| t.id.to_string()),
    );
    known.dedup();
    Err(Error::invalid_input(format!(
        "team {id} is neither in the specialist catalog nor a [[team]] (known: {}); add it to \
         the catalog or itsm.toml",
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    )))
}
