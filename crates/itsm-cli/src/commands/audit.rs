//! `itsm inventory`, `itsm trace`, `itsm dora`, `itsm audit report|verify`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use itsm_audit::chain::Verifier;
use itsm_audit::report::{self, ReportFormat};
use itsm_audit::trace::PathRules;
use itsm_audit::{DeploymentFilter, dora, inventory};
use itsm_core::{Error, ErrorKind, Result, ServiceId, SystemClock, Version, format_instant};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::app::{PAGE, load_ledger, open_ledger};
use crate::args;
use crate::cli::{AuditCommand, Output};
use crate::config::Config;
use crate::exit;
use crate::output::emit;
use crate::progress::Progress;

/// `itsm inventory [--at]`.
pub(crate) async fn inventory(config: Config, output: Output, at: Option<String>) -> Result<u8> {
    let at = at
        .as_deref()
        .map(|a| args::timestamp("at", a))
        .transpose()?;
    let ledger = open_ledger(&config, Arc::new(SystemClock)).await?;
    let records = load_ledger(ledger.as_ref(), "reading").await?;
    let entries = inventory::inventory(&records, at);
    emit(output, &entries, || {
        if entries.is_empty() {
            return "no deployments recorded".to_owned();
        }
        let mut s = format!(
            "{:<24} {:<14} {:<20} since\n",
            "service", "environment", "version"
        );
        for e in &entries {
            let _ = writeln!(
                s,
                "{:<24} {:<14} {:<20} {}",
                e.service.as_str(),
                e.environment.as_str(),
                e.version.as_str(),
                format_instant(e.since)
            );
        }
        s
    });
    Ok(exit::OK)
}

/// `itsm trace --service --from --to [--repo]`.
pub(crate) async fn trace(
    config: Config,
    output: Output,
    service: &str,
    from: &str,
    to: &str,
    repo: Option<PathBuf>,
) -> Result<u8> {
    let service = ServiceId::new(service)?;
    let (from, to) = (Version::new(from)?, Version::new(to)?);
    let repo = repo
        .or_else(|| config.trace.repo.clone())
        .unwrap_or_else(|| PathBuf::from("."));
    let rules = if config.trace.rules.is_empty() {
        PathRules::default()
    } else {
        PathRules {
            rules: config.trace.rules.clone(),
        }
    };
    let ledger = open_ledger(&config, Arc::new(SystemClock)).await?;
    let records = load_ledger(ledger.as_ref(), "reading").await?;
    let report = itsm_audit::trace::trace_versions(&repo, &records, &service, &from, &to, &rules)?;
    emit(output, &report, || {
        let mut s = format!(
            "{} commits in {service} between {from} and {to}\n",
            report.commits.len()
        );
        for c in &report.commits {
            let cats: Vec<&str> = c.categories.iter().map(|c| c.as_str()).collect();
            let short = &c.id.as_str()[..c.id.as_str().len().min(10)];
            let _ = writeln!(s, "{short}  {:<40} [{}]", c.subject, cats.join(", "));
        }
        s.push_str("by category:");
        for (category, n) in &report.counts {
            let _ = write!(s, " {}={n}", category.as_str());
        }
        s
    });
    Ok(exit::OK)
}

/// The period of `--since` / `--until` (defaults: the last 30 days).
fn period(since: Option<&str>, until: Option<&str>) -> Result<(OffsetDateTime, OffsetDateTime)> {
    let until = match until {
        Some(u) => args::timestamp("until", u)?,
        None => OffsetDateTime::now_utc(),
    };
    let since = match since {
        Some(s) => args::timestamp("since", s)?,
        None => until - Duration::days(30),
    };
    if until <= since {
        return Err(Error::invalid_input(format!(
            "--until ({}) must be after --since ({})",
            format_instant(until),
            format_instant(since)
        )));
    }
    Ok((since, until))
}

/// `itsm dora`.
pub(crate) async fn dora(
    config: Config,
    output: Output,
    service: Option<String>,
    since: Option<String>,
    until: Option<String>,
    explain: bool,
) -> Result<u8> {
    let service = service.map(ServiceId::new).transpose()?;
    let (since, until) = period(since.as_deref(), until.as_deref())?;
    let ledger = open_ledger(&config, Arc::new(SystemClock)).await?;
    let records = load_ledger(ledger.as_ref(), "reading").await?;
    let incidents = ledger.incident_links(&DeploymentFilter::default()).await?;
    let figures = dora::dora(&records, &incidents, since, until, service.as_ref());
    let evidence = explain.then(|| {
        json!({
            "deployment_frequency": figures.deployment_frequency.explain(&records),
            "lead_time": figures.lead_time.explain(&records),
            "change_failure_rate": figures.change_failure_rate.explain(&records, &incidents),
            "time_to_restore": figures.time_to_restore.explain(&records, &incidents),
        })
    });
    let value = json!({ "figures": figures, "explain": evidence });
    emit(output, &value, || {
        let mut s = dora_text(&figures);
        if let Some(evidence) = &evidence {
            s.push_str("\nexplain:\n");
            s.push_str(&serde_json::to_string_pretty(evidence).unwrap_or_default());
        }
        s
    });
    Ok(exit::OK)
}

fn dora_text(f: &dora::DoraFigures) -> String {
    let d = |x: Option<Duration>| x.map_or("n/a".to_owned(), dora::format_duration);
    let scope = f
        .service
        .as_ref()
        .map_or("all services".to_owned(), |s| s.to_string());
    let mut s = format!(
        "DORA figures for {scope}, {} to {}\n",
        format_instant(f.since),
        format_instant(f.until)
    );
    let freq = &f.deployment_frequency;
    let _ = writeln!(
        s,
        "deployment frequency:  {} production deployments ({} per week)",
        freq.count,
        freq.per_week
            .map_or("n/a".to_owned(), |w| format!("{w:.2}"))
    );
    let lt = &f.lead_time;
    let _ = writeln!(
        s,
        "lead time for changes: median {}, p90 {} ({} measured, {} without a first commit time)",
        d(lt.median),
        d(lt.p90),
        lt.measured,
        lt.excluded
    );
    let cfr = &f.change_failure_rate;
    let _ = writeln!(
        s,
        "change failure rate:   {} ({} of {}: {} failed, {} caused an incident)",
        cfr.rate
            .map_or("n/a".to_owned(), |r| format!("{:.1}%", r * 100.0)),
        cfr.failures,
        cfr.deployments,
        cfr.failed_outcome,
        cfr.caused_incident
    );
    let ttr = &f.time_to_restore;
    let _ = writeln!(
        s,
        "time to restore:       median {}, p90 {} ({} restored, {} unresolved)",
        d(ttr.median),
        d(ttr.p90),
        ttr.restored,
        ttr.unresolved
    );
    s
}

/// `itsm audit report|verify`.
pub(crate) async fn run(config: Config, output: Output, command: AuditCommand) -> Result<u8> {
    match command {
        AuditCommand::Report {
            since,
            until,
            format,
            out,
        } => {
            let format: ReportFormat = format.parse()?;
            let (since, until) = period(Some(&since), Some(&until))?;
            let ledger = open_ledger(&config, Arc::new(SystemClock)).await?;
            let records = load_ledger(ledger.as_ref(), "reading").await?;
            let incidents = ledger.incident_links(&DeploymentFilter::default()).await?;
            let built = report::build(
                &records,
                &incidents,
                since,
                until,
                OffsetDateTime::now_utc(),
            );
            let text = report::render(&built, format);
            match out {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| {
                        Error::new(
                            ErrorKind::InvalidInput,
                            format!("cannot write the report to {}: {e}", path.display()),
                        )
                    })?;
                    emit(
                        output,
                        &json!({ "written": path, "format": format.to_string() }),
                        || format!("wrote the {format} report to {}", path.display()),
                    );
                }
                None => println!("{}", text.trim_end()),
            }
            Ok(exit::OK)
        }
        AuditCommand::Verify => verify(config, output).await,
    }
}

async fn verify(config: Config, output: Output) -> Result<u8> {
    let ledger = open_ledger(&config, Arc::new(SystemClock)).await?;
    let head = ledger.head().await?;
    let mut progress = Progress::new("verifying", head);
    let mut verifier = Verifier::new();
    let mut next = 1;
    'pages: while next <= head {
        let page = ledger.scan(next, PAGE).await?;
        let Some(last) = page.last() else { break };
        next = last.seq + 1;
        for record in &page {
            if verifier.push(record).is_some() {
                break 'pages;
            }
        }
        progress.add(page.len() as u64);
    }
    progress.finish();
    let report = verifier.finish();
    // Records removed from the end leave no gap to see; the head says how many there were.
    let intact = report.is_intact();
    let value = json!({
        "intact": intact,
        "checked": report.checked,
        "head": report.head.map(|h| h.to_string()),
        "first_problem": report.first_problem.as_ref().map(|p| json!({
            "seq": p.seq,
            "kind": p.kind.to_string(),
            "detail": p.detail,
        })),
    });
    emit(output, &value, || match &report.first_problem {
        None => format!("ledger intact: {} records verified", report.checked),
        Some(p) => format!(
            "ledger NOT intact: record {} was {} ({}); {} records checked before it",
            p.seq, p.kind, p.detail, report.checked
        ),
    });
    Ok(if intact { exit::OK } else { exit::DENIED })
}
