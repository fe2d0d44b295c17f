//! `itsm tenant onboard|show|set-profile`: tenants' alerting profiles (I9), versioned in the
//! store. A profile file is checked with `AlertingProfile::from_toml` before anything is
//! stored, and stored as its canonical TOML with the record's version in it.

use std::path::Path;

use itsm_core::{Error, ErrorKind, Result, TenantId, format_instant};
use itsm_incident::AlertingProfile;
use itsm_local::TenantRecord;
use serde_json::{Value, json};

use crate::app::Incidents;
use crate::cli::{Output, TenantCommand};
use crate::config::Config;
use crate::exit;
use crate::output::emit;

/// Validates the flags and the profile file, opens the store, then runs.
pub(crate) async fn run(config: Config, output: Output, command: TenantCommand) -> Result<u8> {
    match command {
        TenantCommand::Onboard { tenant, profile } => {
            let tenant = TenantId::new(tenant)?;
            let mut profile = match &profile {
                Some(path) => read_profile(path)?,
                None => config.incident.default_profile()?,
            };
            profile.version = 1;
            let toml = profile.to_toml()?;
            let app = Incidents::open(&config).await?;
            let record = match app
                .store
                .onboard_tenant(&tenant, &profile.name, &toml, 1)
                .await
            {
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    let current = match app.store.tenant(&tenant).await? {
                        Some(r) => format!(" (profile {} v{})", r.profile_name, r.version),
                        None => String::new(),
                    };
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "tenant {tenant} is already onboarded{current}; change its profile with \
                             `itsm tenant set-profile {tenant} --profile FILE`"
                        ),
                    ));
                }
                other => other?,
            };
            emit(output, &record_json(&record), || {
                format!(
                    "tenant {} onboarded with profile {} v{}",
                    record.tenant, record.profile_name, record.version
                )
            });
            Ok(exit::OK)
        }
        TenantCommand::Show { tenant, history } => {
            let tenant = TenantId::new(tenant)?;
            let app = Incidents::open(&config).await?;
            let record = onboarded(&app, &tenant).await?;
            let versions = if history {
                app.store.tenant_profile_history(&tenant).await?
            } else {
                Vec::new()
            };
            let mut json = record_json(&record);
            if history {
                json["history"] = versions.iter().map(record_json).collect();
            }
            emit(output, &json, || {
                let mut text = format!(
                    "tenant {}: profile {} v{} (stored {})\n",
                    record.tenant,
                    record.profile_name,
                    record.version,
                    format_instant(record.updated_at)
                );
                for v in &versions {
                    text.push_str(&format!(
                        "  v{} {} stored {}\n",
                        v.version,
                        v.profile_name,
                        format_instant(v.updated_at)
                    ));
                }
                text.push('\n');
                text.push_str(&record.toml);
                text
            });
            Ok(exit::OK)
        }
        TenantCommand::SetProfile { tenant, profile } => {
            let tenant = TenantId::new(tenant)?;
            let mut next = read_profile(&profile)?;
            let app = Incidents::open(&config).await?;
            let current = onboarded(&app, &tenant).await?;
            let before = AlertingProfile::from_toml(&current.toml).map_err(|e| {
                Error::new(
                    ErrorKind::Internal,
                    format!(
                        "tenant {tenant}'s stored profile v{} does not parse: {}",
                        current.version,
                        e.message()
                    ),
                )
            })?;
            let bumped = current.version.checked_add(1).ok_or_else(|| {
                Error::invalid_input(format!(
                    "tenant {tenant}'s profile version {} is at its maximum",
                    current.version
                ))
            })?;
            next.version = next.version.max(bumped);
            let toml = next.to_toml()?;
            let diff = before.diff(&next);
            let record = app
                .store
                .set_tenant_profile(&tenant, &next.name, &toml, next.version)
                .await?;
            let mut json = record_json(&record);
            json["previous_version"] = json!(current.version);
            json["diff"] = json!(diff);
            emit(output, &json, || {
                let mut text = format!(
                    "tenant {} now has profile {} v{} (was v{})\n--- {}\n+++ {}\n",
                    record.tenant,
                    record.profile_name,
                    record.version,
                    current.version,
                    diff.from,
                    diff.to
                );
                for line in diff.changes() {
                    match line {
                        itsm_incident::profile::DiffLine::Removed(l) => {
                            text.push_str(&format!("-{l}\n"))
                        }
                        itsm_incident::profile::DiffLine::Added(l) => {
                            text.push_str(&format!("+{l}\n"))
                        }
                        itsm_incident::profile::DiffLine::Same(_) => {}
                    }
                }
                text
            });
            Ok(exit::OK)
        }
    }
}

/// Reads and checks a profile file; invalid input naming the file and the problem.
fn read_profile(path: &Path) -> Result<AlertingProfile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid_input(format!(
            "cannot read the profile file {}: {e}",
            path.display()
        ))
    })?;
    AlertingProfile::from_toml(&text).map_err(|e| {
        Error::invalid_input(format!("{}: {}", path.display(), e.message()))
            .with_context("file", path.display().to_string())
    })
}

/// The tenant's current record, or not found saying how to onboard it.
async fn onboarded(app: &Incidents, tenant: &TenantId) -> Result<TenantRecord> {
    app.store.tenant(tenant).await?.ok_or_else(|| {
        Error::not_found(format!(
            "tenant {tenant} is not onboarded; onboard it with `itsm tenant onboard {tenant}`"
        ))
    })
}

fn record_json(r: &TenantRecord) -> Value {
    json!({
        "tenant": r.tenant,
        "profile_name": r.profile_name,
        "version": r.version,
        "toml": r.toml,
        "updated_at": format_instant(r.updated_at),
    })
}
