//! `itsm deploy record|link-incident`: write to the audit ledger.

use std::io::Read as _;
use std::sync::Arc;

use itsm_audit::{ChangeEvidence, IncidentLink, NewDeployment, Outcome as DeployOutcome};
use itsm_change::{ApprovalState, ChangeFilter, ChangeId, ChangeRequest, ChangeSystem};
use itsm_core::{
    CommitId, Environment, Error, ExternalRef, IdempotencyKey, ListRequest, Person, PipelineRunId,
    Result, ServiceId, SystemClock, Version, format_instant,
};
use serde::Deserialize;

use crate::app::{App, open_ledger};
use crate::args;
use crate::cli::{DeployCommand, Outcome, Output, RecordArgs};
use crate::config::Config;
use crate::exit;
use crate::output::emit;

/// A deployment as JSON on `--json`: the record's fields plus an optional key.
#[derive(Debug, Deserialize)]
struct RecordInput {
    #[serde(flatten)]
    deployment: NewDeployment,
    #[serde(default)]
    key: Option<IdempotencyKey>,
}

/// Runs `itsm deploy ...`.
pub(crate) async fn run(config: Config, output: Output, command: DeployCommand) -> Result<u8> {
    match command {
        DeployCommand::Record(args) => record(config, output, args).await,
        DeployCommand::LinkIncident {
            incident,
            deployment,
            opened,
            resolved,
        } => {
            let (system, id) = incident.split_once(':').ok_or_else(|| {
                Error::invalid_input(format!(
                    "--incident {incident:?} must be SYSTEM:ID, e.g. servicenow:INC0010001"
                ))
            })?;
            if system.trim().is_empty() || id.trim().is_empty() {
                return Err(Error::invalid_input(
                    "--incident needs both a system and an id (SYSTEM:ID)",
                ));
            }
            let link = IncidentLink {
                incident: ExternalRef::new(system.trim(), id.trim()),
                deployment: IdempotencyKey::new(&deployment)?,
                opened_at: args::timestamp("opened", &opened)?,
                resolved_at: resolved
                    .as_deref()
                    .map(|r| args::timestamp("resolved", r))
                    .transpose()?,
            };
            if let Some(resolved) = link.resolved_at.filter(|r| *r < link.opened_at) {
                return Err(Error::invalid_input(format!(
                    "--resolved ({}) is before --opened ({})",
                    format_instant(resolved),
                    format_instant(link.opened_at)
                )));
            }
            let ledger = open_ledger(&config, Arc::new(SystemClock)).await?;
            if ledger.find_by_key(&link.deployment).await?.is_none() {
                return Err(Error::invalid_input(format!(
                    "no deployment recorded with key {}; use the key `itsm deploy record` printed",
                    link.deployment
                )));
            }
            ledger.link_incident(&link).await?;
            emit(output, &link, || {
                format!(
                    "linked incident {} to deployment {}",
                    link.incident, link.deployment
                )
            });
            Ok(exit::OK)
        }
    }
}

async fn record(config: Config, output: Output, a: RecordArgs) -> Result<u8> {
    // Everything is checked before anything is opened or written.
    let (key, mut deployment, change_id) = match a.json.as_deref() {
        Some(source) => {
            let input = read_json(source)?;
            let d = input.deployment;
            let key = match input.key {
                Some(k) => k,
                None => default_key(&d),
            };
            (key, d, None)
        }
        None => from_flags(&config, &a)?,
    };
    config.check_environment(&deployment.environment)?;
    deployment.validate()?;

    if deployment.change.is_none() {
        deployment.change = change_evidence(&config, &deployment, change_id.as_ref()).await?;
    }
    let ledger = open_ledger(&config, Arc::new(SystemClock)).await?;
    let record = ledger.append(&key, &deployment).await?;
    emit(output, &record, || {
        let change = record
            .deployment
            .change
            .as_ref()
            .map_or("no change".to_owned(), |c| {
                format!(
                    "change {} ({})",
                    c.reference.id,
                    if c.approved {
                        "approved"
                    } else {
                        "not approved"
                    }
                )
            });
        format!(
            "recorded #{} {} {} in {} ({change})\nkey: {}\nhash: {}",
            record.seq,
            record.deployment.service,
            record.deployment.version,
            record.deployment.environment,
            record.key,
            record.hash
        )
    });
    Ok(exit::OK)
}

fn default_key(d: &NewDeployment) -> IdempotencyKey {
    IdempotencyKey::for_pipeline_step(
        &d.service,
        &d.version,
        &d.environment,
        &d.pipeline_run,
        "deploy",
    )
}

fn read_json(source: &str) -> Result<RecordInput> {
    let text = if source == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::invalid_input(format!("cannot read standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(source)
            .map_err(|e| Error::invalid_input(format!("cannot read {source}: {e}")))?
    };
    serde_json::from_str(&text).map_err(|e| {
        Error::invalid_input(format!(
            "the deployment JSON is not valid: {e}; see `itsm deploy record --help` for the fields"
        ))
    })
}

fn required<'a>(value: &'a Option<String>, flag: &str) -> Result<&'a str> {
    value
        .as_deref()
        .ok_or_else(|| Error::invalid_input(format!("--{flag} is required")))
}

fn from_flags(
    config: &Config,
    a: &RecordArgs,
) -> Result<(IdempotencyKey, NewDeployment, Option<ChangeId>)> {
    let pipeline_url = a
        .run_url
        .as_deref()
        .map(|u| {
            itsm_core::url::Url::parse(u)
                .map_err(|e| Error::invalid_input(format!("--run-url {u:?} is not a URL: {e}")))
        })
        .transpose()?;
    let deployment = NewDeployment {
        service: ServiceId::new(required(&a.service, "service")?)?,
        version: Version::new(required(&a.version, "version")?)?,
        environment: args::environment(config, required(&a.environment, "env")?)?,
        started_at: args::timestamp("started", required(&a.started, "started")?)?,
        finished_at: args::timestamp("finished", required(&a.finished, "finished")?)?,
        deployer: Person::named(required(&a.deployer, "deployer")?),
        outcome: match a.outcome {
            Some(Outcome::Success) => DeployOutcome::Succeeded,
            Some(Outcome::Failure) => DeployOutcome::Failed,
            None => return Err(Error::invalid_input("--outcome is required")),
        },
        commit: CommitId::new(required(&a.commit, "commit")?)?,
        artifact_digest: required(&a.artifact_digest, "artifact-digest")?.to_owned(),
        pipeline_run: PipelineRunId::new(required(&a.run, "run")?)?,
        pipeline_url,
        first_commit_at: a
            .first_commit_at
            .as_deref()
            .map(|t| args::timestamp("first-commit-at", t))
            .transpose()?,
        change: None,
    };
    let change = a.change.as_deref().map(ChangeId::new).transpose()?;
    Ok((default_key(&deployment), deployment, change))
}

/// The change a deployment ran under, from the local change store: the one named, or for
/// production the newest approved change for this service, version and environment.
async fn change_evidence(
    config: &Config,
    d: &NewDeployment,
    named: Option<&ChangeId>,
) -> Result<Option<ChangeEvidence>> {
    if named.is_none() && !d.environment.is_production() {
        return Ok(None);
    }
    let app = App::open(config.clone(), Output::Text)?;
    let system = app.workflow.system();
    let change = match named {
        Some(id) => Some(system.get_change(id).await?),
        None => newest_approved(system.as_ref(), &d.service, &d.version, &d.environment).await?,
    };
    Ok(change.as_ref().map(itsm_pipeline::evidence))
}

async fn newest_approved(
    system: &dyn ChangeSystem,
    service: &ServiceId,
    version: &Version,
    environment: &Environment,
) -> Result<Option<ChangeRequest>> {
    let filter = ChangeFilter {
        service: Some(service.clone()),
        version: Some(version.clone()),
        environment: Some(environment.clone()),
        states: Vec::new(),
    };
    let listing = system
        .list_changes(&filter, &ListRequest::with_limit(100))
        .await?;
    Ok(listing
        .items
        .into_iter()
        .filter(|c| c.approval == ApprovalState::Approved)
        .max_by_key(|c| c.created_at))
}
