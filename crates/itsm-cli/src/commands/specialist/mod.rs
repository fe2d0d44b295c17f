//! `itsm specialist catalog|request|show|queue|comment|triage|start|wait|fulfil|reject|cancel|stats`.
//!
//! The commands run against the vendor's catalog when `[backend] kind` is `servicenow` or
//! `jira` and its table configures specialist offerings (`[[servicenow.catalog.items]]`,
//! `[jira.specialist]`), and against the embedded store otherwise. With the store, every
//! command first loads the configured catalog file (`[specialist] catalog`) into it, so
//! the store always serves the file's offerings. Flags are checked before anything
//! is written: a request with a missing or mistyped input exits 2 naming the input and
//! stores nothing.

pub(crate) mod args;
mod command_fulfiller;
pub(crate) mod demo;
pub(crate) mod engage;
mod request;
mod text;

use std::sync::Arc;

use itsm_core::{Error, IdempotencyKey, ListRequest, Person, Result, SystemClock, TeamId};
use itsm_local::LocalStore;
use itsm_specialist::{
    Automation, CatalogFile, Comment, Offering, OfferingId, RequestFilter, RequestId, RequestState,
    SpecialistCatalog, SpecialistTeam,
};
use serde_json::json;

use crate::args::timestamp;
use crate::backends::Backends;
use crate::cli::Output;
use crate::config::Config;
use crate::exit;
use crate::output::emit;
use args::{Move, SpecialistCommand};
use command_fulfiller::CommandFulfiller;

/// Validates the flags, opens the store with the configured catalog, then runs.
pub(crate) async fn run(config: Config, output: Output, command: SpecialistCommand) -> Result<u8> {
    let file = read_catalog(&config)?;
    match command {
        SpecialistCommand::Request(a) => {
            let catalog = Catalog::choose(&config)?;
            let parsed = request::parse(&a, catalog.file(file.as_ref()))?;
            catalog.load(file.as_ref()).await?;
            let automation = automation(&config, &catalog);
            request::submit(catalog.api.as_ref(), &automation, parsed, output).await
        }
        SpecialistCommand::Catalog { team } => {
            let team = team.map(TeamId::new).transpose()?;
            let catalog = open(&config, file.as_ref()).await?;
            let offerings = catalog.api.list_offerings(team).await?;
            let teams = catalog.teams(&offerings).await?;
            emit(
                output,
                &json!({ "teams": teams, "offerings": offerings }),
                || text::catalog(&teams, &offerings, catalog.system),
            );
            Ok(exit::OK)
        }
        SpecialistCommand::Show { id } => {
            let id = RequestId::new(id)?;
            let store = open(&config, file.as_ref()).await?.api;
            let r = store.get_request(&id).await?;
            emit(output, &r, || text::request(&r));
            Ok(exit::OK)
        }
        SpecialistCommand::Queue {
            team,
            requester,
            states,
            limit,
        } => {
            let mut states: Vec<RequestState> = states.into_iter().map(Into::into).collect();
            if states.is_empty() {
                states = OPEN.to_vec();
            }
            let filter = RequestFilter {
                team: team.map(TeamId::new).transpose()?,
                requester: requester.map(TeamId::new).transpose()?,
                offering: None,
                states,
            };
            let store = open(&config, file.as_ref()).await?.api;
            let page = store
                .list_requests(&filter, &ListRequest::with_limit(limit.max(1)))
                .await?;
            emit(output, &page.items, || {
                page.items
                    .iter()
                    .map(text::request_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(exit::OK)
        }
        SpecialistCommand::Comment { id, by, text, key } => {
            let id = RequestId::new(id)?;
            if text.trim().is_empty() {
                return Err(Error::invalid_input(
                    "--text must not be empty; write the comment",
                ));
            }
            let key = match key {
                Some(k) => IdempotencyKey::new(k)?,
                None => request::fresh_key(&format!("{id}/comment"))?,
            };
            let comment = Comment {
                author: person("by", &by)?,
                text,
                at: None,
            };
            let store = open(&config, file.as_ref()).await?.api;
            let r = store.comment(&id, &key, &comment).await?;
            emit(output, &r, || format!("commented\n{}", text::request(&r)));
            Ok(exit::OK)
        }
        SpecialistCommand::Triage(m) => {
            transition(&config, file, output, m, RequestState::Triaged).await
        }
        SpecialistCommand::Start(m) => {
            transition(&config, file, output, m, RequestState::InProgress).await
        }
        SpecialistCommand::Wait(m) => {
            transition(&config, file, output, m, RequestState::WaitingOnRequester).await
        }
        SpecialistCommand::Reject(m) => {
            if m.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
                return Err(Error::invalid_input(
                    "rejecting needs --note saying why, for the requesting team",
                ));
            }
            transition(&config, file, output, m, RequestState::Rejected).await
        }
        SpecialistCommand::Cancel(m) => {
            transition(&config, file, output, m, RequestState::Cancelled).await
        }
        SpecialistCommand::Fulfil {
            change,
            automate: false,
        } => transition(&config, file, output, change, RequestState::Fulfilled).await,
        SpecialistCommand::Fulfil {
            change,
            automate: true,
        } => {
            let id = RequestId::new(&change.id)?;
            let catalog = open(&config, file.as_ref()).await?;
            let handled = automation(&config, &catalog).run(&id).await?;
            emit(output, &handled, || text::handled(&handled));
            Ok(exit::OK)
        }
        SpecialistCommand::Stats {
            since,
            until,
            explain,
        } => {
            let since = since
                .as_deref()
                .map(|s| timestamp("since", s))
                .transpose()?;
            let until = until
                .as_deref()
                .map(|s| timestamp("until", s))
                .transpose()?;
            let catalog = open(&config, file.as_ref()).await?;
            text::stats(catalog.api.as_ref(), since, until, explain, output).await
        }
    }
}

/// The states a queue shows by default.
const OPEN: [RequestState; 4] = [
    RequestState::Submitted,
    RequestState::Triaged,
    RequestState::InProgress,
    RequestState::WaitingOnRequester,
];

async fn transition(
    config: &Config,
    file: Option<CatalogFile>,
    output: Output,
    m: Move,
    to: RequestState,
) -> Result<u8> {
    let id = RequestId::new(&m.id)?;
    let by = person("by", &m.by)?;
    let store = open(config, file.as_ref()).await?.api;
    let r = store.transition(&id, to, by, m.note).await?;
    emit(output, &r, || text::request(&r));
    Ok(exit::OK)
}

pub(crate) fn person(flag: &str, name: &str) -> Result<Person> {
    if name.trim().is_empty() {
        return Err(Error::invalid_input(format!("--{flag} must name a person")));
    }
    Ok(Person::named(name.trim()))
}

/// Reads and checks the configured catalog file, if any.
pub(crate) fn read_catalog(config: &Config) -> Result<Option<CatalogFile>> {
    let Some(path) = &config.specialist.catalog else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            itsm_core::ErrorKind::Config,
            format!(
                "cannot read the specialist catalog {} ([specialist] catalog): {e}",
                path.display()
            ),
        )
    })?;
    CatalogFile::parse(&text).map(Some).map_err(|e| {
        Error::new(
            itsm_core::ErrorKind::Config,
            format!("{}: {}", path.display(), e.message()),
        )
    })
}

/// The catalog the commands run against.
struct Catalog {
    api: Arc<dyn SpecialistCatalog>,
    /// Its system's name (`local`, `servicenow`, `jira`).
    system: &'static str,
    /// The embedded store, when it is the catalog (it also knows the teams).
    store: Option<LocalStore>,
}

/// Opens the configured catalog; the embedded store gets the catalog file loaded.
async fn open(config: &Config, file: Option<&CatalogFile>) -> Result<Catalog> {
    let catalog = Catalog::choose(config)?;
    catalog.load(file).await?;
    Ok(catalog)
}

impl Catalog {
    /// The configured catalog, before anything is loaded into it.
    fn choose(config: &Config) -> Result<Catalog> {
        let backends = Backends::open(config, Arc::new(SystemClock))?;
        let store = backends.local_specialists().then_some(backends.store);
        Ok(Catalog {
            api: backends.specialists,
            system: backends.specialist_system,
            store,
        })
    }

    /// The catalog file the offerings come from: the configured one for the embedded
    /// store, none for a vendor's catalog (which holds its own offerings).
    fn file<'a>(&self, file: Option<&'a CatalogFile>) -> Option<&'a CatalogFile> {
        file.filter(|_| self.store.is_some())
    }

    /// Loads the catalog file into the embedded store (a vendor's catalog has its own).
    async fn load(&self, file: Option<&CatalogFile>) -> Result<()> {
        match (&self.store, file) {
            (Some(store), Some(file)) => store.load_specialist_catalog(file).await,
            _ => Ok(()),
        }
    }

    /// The specialist teams: the store's, or for a vendor catalog the teams its
    /// offerings name.
    async fn teams(&self, offerings: &[Offering]) -> Result<Vec<SpecialistTeam>> {
        if let Some(store) = &self.store {
            return store.specialist_teams().await;
        }
        let mut teams: Vec<SpecialistTeam> = Vec::new();
        for o in offerings {
            if !teams.iter().any(|t| t.id == o.team) {
                teams.push(SpecialistTeam {
                    id: o.team.clone(),
                    name: o.team.to_string(),
                    description: String::new(),
                    pager_team: None,
                });
            }
        }
        Ok(teams)
    }
}

/// The automation with a [`CommandFulfiller`] for every configured offering.
fn automation(config: &Config, catalog: &Catalog) -> Automation {
    let mut automation = Automation::new(catalog.api.clone());
    for (offering, f) in &config.specialist.fulfillers {
        if let Ok(id) = OfferingId::new(offering) {
            automation = automation.register(
                id,
                Arc::new(CommandFulfiller {
                    command: f.command.clone(),
                    timeout: config.specialist.timeout(f),
                }),
            );
        }
    }
    automation
}
