//! `itsm template create|list|show`.

use itsm_change::{NewTemplate, TemplateFilter, TemplateId};
use itsm_core::{IdempotencyKey, ListRequest, Person, Result, ServiceId};

use crate::app::App;
use crate::args;
use crate::cli::{TemplateCommand, TemplateCreate};
use crate::config::Config;
use crate::exit;
use crate::output::{emit, template_text};

/// Validates the flags (nothing is opened or written on bad input), then runs.
pub(crate) async fn run(
    config: Config,
    output: crate::cli::Output,
    command: TemplateCommand,
) -> Result<u8> {
    match command {
        TemplateCommand::Create(create) => {
            let (key, new) = new_template(&config, &create)?;
            let app = App::open(config, output)?;
            let template = app.workflow.system().create_template(&key, &new).await?;
            emit(output, &template, || {
                format!("created template\n{}", template_text(&template))
            });
        }
        TemplateCommand::List { service } => {
            let service = service.map(ServiceId::new).transpose()?;
            let app = App::open(config, output)?;
            let filter = TemplateFilter {
                service,
                active_only: false,
            };
            let listing = app
                .workflow
                .system()
                .list_templates(&filter, &ListRequest::with_limit(1000))
                .await?;
            emit(output, &listing.items, || {
                if listing.items.is_empty() {
                    return "no templates".to_owned();
                }
                listing.items.iter().map(template_text).collect()
            });
        }
        TemplateCommand::Show { id } => {
            let id = TemplateId::new(id)?;
            let app = App::open(config, output)?;
            let template = app.workflow.system().get_template(&id).await?;
            emit(output, &template, || template_text(&template));
        }
    }
    Ok(exit::OK)
}

fn new_template(config: &Config, c: &TemplateCreate) -> Result<(IdempotencyKey, NewTemplate)> {
    let service = ServiceId::new(&c.service)?;
    if c.name.trim().is_empty() {
        return Err(itsm_core::Error::invalid_input(
            "--name must not be empty; name the template",
        ));
    }
    let environments = c
        .environments
        .iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| args::environment(config, e))
        .collect::<Result<Vec<_>>>()?;
    let expires_at = c
        .expires
        .as_deref()
        .map(|e| args::timestamp("expires", e))
        .transpose()?;
    let key = IdempotencyKey::new(format!("template/{service}/{}", c.name.trim()))?;
    Ok((
        key,
        NewTemplate {
            service,
            name: c.name.trim().to_owned(),
            description: c.description.clone(),
            environments,
            implementation_plan: c.implementation_plan.clone(),
            backout_plan: c.backout_plan.clone(),
            test_plan: c.test_plan.clone(),
            owner: Person::named(&c.owner),
            approved_by: c.approved_by.as_deref().map(Person::named),
            expires_at,
        },
    ))
}
