//! Turning flag text into validated domain values, before anything is opened or written.

use itsm_change::Deployment;
use itsm_core::{
    CommitId, Environment, Error, Link, Person, PipelineRunId, Result, ServiceId, Version,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::DeploymentArgs;
use crate::config::Config;

/// Parses an RFC 3339 timestamp or a `YYYY-MM-DD` date (midnight UTC).
pub(crate) fn timestamp(flag: &str, value: &str) -> Result<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(t);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &date_format)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| {
            Error::invalid_input(format!(
                "--{flag} {value:?} is not a timestamp; use RFC 3339 (2026-05-01T10:00:00Z) or a date (2026-05-01)"
            ))
        })
}

/// The environment, checked against the configured list.
pub(crate) fn environment(config: &Config, value: &str) -> Result<Environment> {
    let env = Environment::new(value)?;
    config.check_environment(&env)?;
    Ok(env)
}

/// A deployment from the common pipeline flags.
pub(crate) fn deployment(config: &Config, a: &DeploymentArgs) -> Result<Deployment> {
    let links = match &a.run_url {
        Some(url) => vec![Link::parse("Pipeline run", url)?],
        None => Vec::new(),
    };
    Ok(Deployment {
        service: ServiceId::new(&a.service)?,
        version: Version::new(&a.version)?,
        environment: environment(config, &a.environment)?,
        pipeline_run: PipelineRunId::new(&a.run)?,
        commits: a
            .commits
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(CommitId::new)
            .collect::<Result<_>>()?,
        requested_by: a.requested_by.as_deref().map(Person::named),
        links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_dates() {
        assert_eq!(
            timestamp("x", "2026-05-01T10:00:00Z").unwrap(),
            time::macros::datetime!(2026-05-01 10:00 UTC)
        );
        assert_eq!(
            timestamp("x", "2026-05-01").unwrap(),
            time::macros::datetime!(2026-05-01 00:00 UTC)
        );
        let err = timestamp("expires", "tomorrow").unwrap_err();
        assert!(err.message().contains("--expires \"tomorrow\""), "{err}");
    }
}
