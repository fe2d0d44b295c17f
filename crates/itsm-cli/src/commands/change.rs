//! `itsm change raise|gate|close|emergency|approve|reject|show|list`.

use itsm_change::{
    ApprovalDecision, ChangeFilter, ChangeId, Deployment, DeploymentResult, GateVerdict, TemplateId,
};
use std::sync::Arc;

use itsm_core::{
    Error, ErrorKind, ListRequest, Person, PipelineRunId, Result, ServiceId, SystemClock, Version,
};
use itsm_pipeline::{Artifact, Finished, Pipeline};
use serde_json::json;

use crate::app::{App, open_ledger};
use crate::args;
use crate::cli::{ChangeCommand, Decide, Outcome, Output};
use crate::config::Config;
use crate::exit;
use crate::output::{change_line, change_text, emit};

/// Validates the flags (nothing is opened or written on bad input), then runs.
pub(crate) async fn run(config: Config, output: Output, command: ChangeCommand) -> Result<u8> {
    match command {
        ChangeCommand::Raise {
            deployment,
            template,
            dry_run,
        } => {
            let d = args::deployment(&config, &deployment)?;
            let template = template.map(TemplateId::new).transpose()?;
            let app = App::open(config, output)?;
            raise(&app, &d, template, dry_run).await
        }
        ChangeCommand::Gate {
            service,
            version,
            environment,
            run,
            dry_run,
        } => {
            gate(
                config,
                output,
                &service,
                &version,
                &environment,
                &run,
                dry_run,
            )
            .await
        }
        ChangeCommand::Close {
            deployment,
            outcome,
            started,
            finished,
            notes,
            artifact_digest,
            first_commit_at,
        } => {
            let d = args::deployment(&config, &deployment)?;
            let result = DeploymentResult {
                succeeded: outcome == Outcome::Success,
                started_at: started
                    .as_deref()
                    .map(|s| args::timestamp("started", s))
                    .transpose()?,
                finished_at: finished
                    .as_deref()
                    .map(|s| args::timestamp("finished", s))
                    .transpose()?,
                notes,
            };
            if let (Some(s), Some(f)) = (result.started_at, result.finished_at)
                && f < s
            {
                return Err(Error::invalid_input(format!(
                    "--finished ({}) is before --started ({}); fix the timestamps",
                    itsm_core::format_instant(f),
                    itsm_core::format_instant(s)
                )));
            }
            let artifact = artifact_digest
                .map(|digest| -> Result<Artifact> {
                    Ok(Artifact {
                        digest,
                        first_commit_at: first_commit_at
                            .as_deref()
                            .map(|t| args::timestamp("first-commit-at", t))
                            .transpose()?,
                    })
                })
                .transpose()?;
            let app = App::open(config.clone(), output)?;
            let clock: Arc<dyn itsm_core::Clock> = Arc::new(SystemClock);
            let mut pipeline = Pipeline::new(app.workflow.clone(), clock.clone())
                .with_step_log(Arc::new(app.store.clone()));
            if artifact.is_some() {
                pipeline = pipeline.with_ledger(open_ledger(&config, clock).await?);
            }
            if let Some(pagerduty) = &app.backends.pagerduty {
                pipeline = pipeline.with_pager(pagerduty.clone());
            }
            let Finished {
                change,
                recorded,
                change_event,
            } = pipeline.finish(&d, &result, artifact.as_ref()).await?;
            emit(
                output,
                &json!({ "change": change, "recorded": recorded, "change_event": change_event }),
                || {
                    let mut text = format!("closed\n{}", change_text(&change));
                    match &recorded {
                        Some(r) => text.push_str(&format!(
                            "recorded in the audit ledger as #{} (key {})",
                            r.seq, r.key
                        )),
                        None => text.push_str(
                            "not recorded in the audit ledger: pass --artifact-digest to record it",
                        ),
                    }
                    match change_event {
                        Some(sent) if sent.already => {
                            text.push_str("\nchange event sent to PagerDuty by an earlier run");
                        }
                        Some(_) => text.push_str("\nchange event sent to PagerDuty"),
                        None => {}
                    }
                    text
                },
            );
            Ok(exit::OK)
        }
        ChangeCommand::Emergency {
            deployment,
            justification,
            retroactive,
        } => {
            let d = args::deployment(&config, &deployment)?;
            if justification.trim().is_empty() {
                return Err(Error::invalid_input(
                    "--justification must say why the change cannot wait",
                ));
            }
            let app = App::open(config, output)?;
            let change = app
                .workflow
                .emergency(&d, &justification, retroactive)
                .await?;
            emit(output, &change, || {
                format!("emergency change raised\n{}", change_text(&change))
            });
            Ok(exit::OK)
        }
        ChangeCommand::Approve(decide) => decision(config, output, decide, true).await,
        ChangeCommand::Reject(decide) => decision(config, output, decide, false).await,
        ChangeCommand::Show { id } => {
            let id = ChangeId::new(id)?;
            let app = App::open(config, output)?;
            let change = app.workflow.system().get_change(&id).await?;
            emit(output, &change, || change_text(&change));
            Ok(exit::OK)
        }
        ChangeCommand::List {
            service,
            version,
            environment,
            limit,
        } => {
            let filter = ChangeFilter {
                service: service.map(ServiceId::new).transpose()?,
                version: version.map(Version::new).transpose()?,
                environment: environment
                    .map(|e| args::environment(&config, &e))
                    .transpose()?,
                states: Vec::new(),
            };
            let app = App::open(config, output)?;
            let listing = app
                .workflow
                .system()
                .list_changes(&filter, &ListRequest::with_limit(limit))
                .await?;
            emit(output, &listing.items, || {
                if listing.items.is_empty() {
                    return "no changes".to_owned();
                }
                listing
                    .items
                    .iter()
                    .map(|c| change_line(c) + "\n")
                    .collect()
            });
            Ok(exit::OK)
        }
    }
}

async fn raise(
    app: &App,
    d: &Deployment,
    template: Option<TemplateId>,
    dry_run: bool,
) -> Result<u8> {
    if let Some(id) = &template {
        check_template(app, d, id).await?;
    }
    let outcome = app
        .workflow
        .raise_with(d, template.as_ref(), dry_run)
        .await?;
    emit(app.output, &outcome, || {
        let mut text = match (&outcome.change, dry_run, outcome.existed) {
            (Some(c), _, true) => format!(
                "{} already raised by pipeline run {} ({} change, approval {})\n",
                c.number.as_deref().unwrap_or(c.id.as_str()),
                d.pipeline_run,
                c.kind,
                c.approval
            ),
            (Some(c), _, false) => format!(
                "{} raised: {} change for {} {} in {} (approval {})\n",
                c.number.as_deref().unwrap_or(c.id.as_str()),
                c.kind,
                d.service,
                d.version,
                d.environment,
                c.approval
            ),
            (None, _, _) => format!(
                "dry run: would raise a {} change for {} {} in {}\n",
                outcome.decision.kind, d.service, d.version, d.environment
            ),
        };
        text.push_str(&outcome.decision.to_string());
        text
    });
    Ok(exit::OK)
}

/// `--template`: it must exist, belong to the service and allow the environment.
async fn check_template(app: &App, d: &Deployment, id: &TemplateId) -> Result<()> {
    let template = match app.workflow.system().get_template(id).await {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Error::invalid_input(format!(
                "template {id} does not exist; see `itsm template list`"
            )));
        }
        Err(e) => return Err(e),
    };
    if template.service != d.service {
        return Err(Error::invalid_input(format!(
            "template {id} is for service {}, not {}; pass the template of {} or none",
            template.service, d.service, d.service
        )));
    }
    if !template.environments.contains(&d.environment) {
        return Err(Error::invalid_input(format!(
            "template {id} does not allow environment {}",
            d.environment
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn gate(
    config: Config,
    output: Output,
    service: &str,
    version: &str,
    environment: &str,
    run: &str,
    dry_run: bool,
) -> Result<u8> {
    let d = Deployment {
        service: ServiceId::new(service)?,
        version: Version::new(version)?,
        environment: args::environment(&config, environment)?,
        pipeline_run: PipelineRunId::new(run)?,
        commits: Vec::new(),
        requested_by: None,
        links: Vec::new(),
    };
    // Fail closed: a store that cannot be opened is an unverifiable gate, not an error.
    let verdict = match App::open(config, output) {
        Ok(app) => app.workflow.gate(&d, dry_run).await,
        Err(e) => GateVerdict::CannotVerify {
            reason: format!(
                "denied: cannot verify a change for {} {} in {}: {e}",
                d.service, d.version, d.environment
            ),
            kind: Some(e.kind()),
        },
    };
    let code = match &verdict {
        GateVerdict::Allowed { .. } => exit::OK,
        GateVerdict::Denied { .. } => exit::DENIED,
        GateVerdict::CannotVerify { .. } => exit::UNAVAILABLE,
    };
    let json = json!({ "allowed": verdict.is_allowed(), "dry_run": dry_run, "gate": verdict });
    emit(output, &json, || verdict.reason().to_owned());
    Ok(code)
}

async fn decision(config: Config, output: Output, d: Decide, approve: bool) -> Result<u8> {
    let id = ChangeId::new(&d.id)?;
    if d.by.trim().is_empty() {
        return Err(Error::invalid_input("--by must name who decides"));
    }
    if !approve && d.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(Error::invalid_input(
            "a rejection needs --comment saying why, so the team can act on it",
        ));
    }
    let app = App::open(config, output)?;
    let decision = ApprovalDecision {
        approve,
        by: Person::named(d.by.trim()),
        comment: d.comment,
    };
    let change = app.workflow.system().decide(&id, &decision).await?;
    emit(output, &change, || {
        format!(
            "{} {}\n{}",
            if approve { "approved" } else { "rejected" },
            change.number.as_deref().unwrap_or(change.id.as_str()),
            change_text(&change)
        )
    });
    Ok(exit::OK)
}
