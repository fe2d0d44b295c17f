//! `itsm incident list|show|ack|reassign|major|note|resolve|engage`.
//!
//! Every command first writes the configured `[[team]]`s and incident manager into the store
//! (so the configured teams exist), then acts on both sides (the incident and its page)
//! through the incident workflow. Flags are checked before anything is opened; an unknown
//! incident id exits 1 naming the id.

pub(crate) mod args;
mod major;
mod text;

use itsm_core::{Error, IdempotencyKey, ListRequest, Person, Result, ServiceId, TeamId};
use itsm_incident::workflow::StepReport;
use itsm_incident::{
    Assignment, Incident, IncidentFilter, IncidentId, Note, Resolution, TeamDirectory,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::Incidents;
use crate::cli::Output;
use crate::config::Config;
use crate::exit;
use crate::output::emit;
use args::IncidentCommand;

/// Validates the flags, opens the store with the configured teams, then runs.
pub(crate) async fn run(config: Config, output: Output, command: IncidentCommand) -> Result<u8> {
    match command {
        IncidentCommand::List {
            service,
            states,
            major,
            limit,
        } => {
            let filter = IncidentFilter {
                service: service.map(ServiceId::new).transpose()?,
                states: states.into_iter().map(Into::into).collect(),
                major_only: major,
            };
            let app = Incidents::open(&config).await?;
            let listing = app
                .backends
                .systems
                .incidents
                .list_incidents(&filter, &ListRequest::with_limit(limit.max(1)))
                .await?;
            emit(output, &listing.items, || {
                text::incident_lines(&listing.items)
            });
            Ok(exit::OK)
        }
        IncidentCommand::Show { id } => {
            let id = IncidentId::new(id)?;
            let app = Incidents::open(&config).await?;
            let details = text::Details::load(&app, &id).await?;
            emit(output, &details, || details.text());
            Ok(exit::OK)
        }
        IncidentCommand::Ack { id, by } => {
            let id = IncidentId::new(id)?;
            let by = optional_person("by", by.as_deref())?;
            let app = open_on(&config, &id).await?;
            let report = app.workflow.acknowledge(&id, by).await?;
            done(&app, output, &id, "acknowledged", &report.steps, None).await
        }
        IncidentCommand::Reassign {
            id,
            service,
            kind,
            team,
        } => {
            let id = IncidentId::new(id)?;
            let to = Assignment {
                service: ServiceId::new(service)?,
                kind: kind.into(),
                team: team.map(TeamId::new).transpose()?,
            };
            let app = open_on(&config, &id).await?;
            if let Some(team) = &to.team {
                known_team(&app, team).await?;
            }
            let report = app.workflow.reassign(&id, &to).await?;
            done(&app, output, &id, "reassigned", &report.steps, None).await
        }
        IncidentCommand::Major { id, by, message } => {
            let id = IncidentId::new(id)?;
            let by = person("by", &by)?;
            let message = required("message", message)?;
            let app = open_on(&config, &id).await?;
            major::declare(&app, output, &id, by, &message).await
        }
        IncidentCommand::Note { id, text, by, key } => {
            let id = IncidentId::new(id)?;
            let text = required("text", text)?;
            let key = match key {
                Some(k) => IdempotencyKey::new(k)?,
                None => note_key(&id, &text)?,
            };
            let note = Note {
                text,
                author: optional_person("by", by.as_deref())?,
            };
            let app = open_on(&config, &id).await?;
            let report = app.workflow.add_note(&id, &key, &note).await?;
            done(&app, output, &id, "noted", &report.steps, Some(&key)).await
        }
        IncidentCommand::Resolve {
            id,
            code,
            notes,
            by,
        } => {
            let id = IncidentId::new(id)?;
            let resolution = Resolution {
                code: required("code", code)?,
                notes: required("notes", notes)?,
                by: optional_person("by", by.as_deref())?,
            };
            let app = open_on(&config, &id).await?;
            let report = app.workflow.resolve(&id, &resolution).await?;
            done(&app, output, &id, "resolved", &report.steps, None).await
        }
        IncidentCommand::Engage {
            id,
            team,
            message,
            by,
            request,
        } => {
            let id = IncidentId::new(id)?;
            let team = TeamId::new(team)?;
            let by = person("by", &by)?;
            let message = required("message", message)?;
            let request = request.map(itsm_specialist::RequestId::new).transpose()?;
            let file = crate::commands::specialist::read_catalog(&config)?;
            let app = open_on(&config, &id).await?;
            if let Some(file) = &file {
                app.store.load_specialist_catalog(file).await?;
            }
            major::engage(&app, output, &id, &team, by, message, request).await
        }
    }
}

/// Opens the store with the configured teams, checking that incident `id` exists.
async fn open_on(config: &Config, id: &IncidentId) -> Result<Incidents> {
    let app = Incidents::open(config).await?;
    app.backends.systems.incidents.get_incident(id).await?;
    Ok(app)
}

/// A team the directory knows; otherwise invalid input listing the known teams.
async fn known_team(app: &Incidents, team: &TeamId) -> Result<()> {
    if app.store.get_team(team).await?.is_some() {
        return Ok(());
    }
    let known: Vec<String> = app
        .store
        .list_teams()
        .await?
        .into_iter()
        .map(|t| t.id.to_string())
        .collect();
    Err(Error::invalid_input(format!(
        "team {team} is not a configured team (known: {}); add it as a [[team]] in itsm.toml",
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    )))
}

/// Prints the incident after an action, with the steps taken on both sides.
async fn done(
    app: &Incidents,
    output: Output,
    id: &IncidentId,
    what: &str,
    steps: &[StepReport],
    key: Option<&IdempotencyKey>,
) -> Result<u8> {
    let incident: Incident = app.backends.systems.incidents.get_incident(id).await?;
    let page = match &incident.key {
        Some(key) => app.backends.systems.pager.find_page_by_key(key).await?,
        None => None,
    };
    emit(
        output,
        &json!({ "incident": incident, "page": page, "steps": steps, "key": key }),
        || {
            format!(
                "{what} {}\n{}{}",
                text::name(&incident),
                text::steps(steps),
                text::incident_line(&incident)
            )
        },
    );
    Ok(exit::OK)
}

/// The default note key: the incident and a digest of the text, so a re-run of the same
/// command adds the note once.
fn note_key(id: &IncidentId, text: &str) -> Result<IdempotencyKey> {
    let digest = Sha256::digest(text.trim().as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    IdempotencyKey::new(format!("cli/incident/{id}/note/{hex}"))
}

/// A flag that must not be blank.
fn required(flag: &str, value: String) -> Result<String> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(format!(
            "--{flag} must not be empty; write it"
        )));
    }
    Ok(value)
}

/// A flag naming a person.
fn person(flag: &str, name: &str) -> Result<Person> {
    crate::commands::specialist::person(flag, name)
}

/// An optional flag naming a person.
fn optional_person(flag: &str, name: Option<&str>) -> Result<Option<Person>> {
    name.map(|n| person(flag, n)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_keys_depend_on_the_incident_and_the_text() {
        let a = IncidentId::new("INC0000001").unwrap();
        let b = IncidentId::new("INC0000002").unwrap();
        let k = note_key(&a, "rolled back").unwrap();
        assert_eq!(k, note_key(&a, " rolled back\n").unwrap());
        assert_ne!(k, note_key(&a, "rolled forward").unwrap());
        assert_ne!(k, note_key(&b, "rolled back").unwrap());
        assert!(
            k.as_str().starts_with("cli/incident/INC0000001/note/"),
            "{k}"
        );
    }
}
