//! Reports for change managers (A6): one [`AuditReport`] of a period, rendered as Markdown,
//! JSON, CSV or a self-contained HTML page with inline SVG charts.
//!
//! ```
//! use itsm_audit::report::{ReportFormat, build, render};
//! use time::macros::datetime;
//! let report = build(
//!     &[],
//!     &[],
//!     datetime!(2026-05-01 0:00 UTC),
//!     datetime!(2026-06-01 0:00 UTC),
//!     datetime!(2026-06-01 8:00 UTC),
//! );
//! let md = render(&report, "md".parse()?);
//! assert!(md.contains("No production deployments"));
//! # Ok::<(), itsm_core::Error>(())
//! ```

mod html;
mod text;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::str::FromStr;

use itsm_core::{Environment, Error, IdempotencyKey, ServiceId, Version};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time};

use crate::compliance::{self, ComplianceReport, ViolationReason};
use crate::dora::{self, DoraFigures};
use crate::model::{DeploymentRecord, IncidentLink, Outcome};

/// More contiguous weeks than this (20 years) and the weekly series keep only the weeks
/// that had deployments.
const MAX_CONTIGUOUS_WEEKS: usize = 1040;

/// The reporting period, `[since, until)` on `finished_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// Start (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// End (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

/// Counts of the deployments in the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentSummary {
    /// Deployments in every environment.
    pub total: u64,
    /// Production deployments.
    pub production: u64,
    /// Production deployments that succeeded.
    pub production_succeeded: u64,
    /// Production deployments that failed.
    pub production_failed: u64,
    /// Distinct services deployed to production.
    pub services: u64,
    /// Deployments per environment (every environment).
    pub by_environment: BTreeMap<Environment, u64>,
}

/// One week (Monday 00:00 UTC onwards) of production deployments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekBucket {
    /// The Monday the week starts on, 00:00 UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub week_start: OffsetDateTime,
    /// Production deployments that finished in the week (and the period).
    pub deployments: u64,
    /// Of those, the failures (failed, or named as the cause of an incident).
    pub failures: u64,
}

/// The median lead time of one week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadTimePoint {
    /// The Monday the week starts on, 00:00 UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub week_start: OffsetDateTime,
    /// The median (nearest rank) lead time of the week's deployments that have one.
    #[serde(with = "crate::dora::seconds::option")]
    pub median: Option<Duration>,
    /// How many deployments had a lead time.
    pub measured: u64,
}

/// One production deployment of the period with its compliance status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRow {
    /// Ledger position.
    pub seq: u64,
    /// Key.
    pub key: IdempotencyKey,
    /// Service.
    pub service: ServiceId,
    /// Version.
    pub version: Version,
    /// Environment.
    pub environment: Environment,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// End.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// Who deployed.
    pub deployer: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The change it ran under (`system:id`).
    pub change: Option<String>,
    /// Whether that change was approved.
    pub change_approved: Option<bool>,
    /// Why it was not compliant (empty: compliant).
    pub violations: Vec<ViolationReason>,
}

/// Everything a change manager reads about a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// The period.
    pub period: Period,
    /// When the report was generated.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Deployment counts.
    pub deployments: DeploymentSummary,
    /// The compliance check of the production deployments.
    pub compliance: ComplianceReport,
    /// The DORA figures over every service.
    pub dora: DoraFigures,
    /// Production deployments and failures per week, oldest first.
    pub weekly: Vec<WeekBucket>,
    /// Median lead time per week, oldest first (same weeks as `weekly`).
    pub lead_time_trend: Vec<LeadTimePoint>,
    /// Every production deployment of the period, in ledger order.
    pub rows: Vec<DeploymentRow>,
}

/// The Monday 00:00 UTC of the week `at` falls in.
pub fn week_start(at: OffsetDateTime) -> OffsetDateTime {
    let date = at.to_offset(time::UtcOffset::UTC).date();
    let back = i64::from(date.weekday().number_days_from_monday());
    let monday = date.checked_sub(Duration::days(back)).unwrap_or(date);
    monday.with_time(Time::MIDNIGHT).assume_utc()
}

/// Builds the report of `[since, until)`; `now` is the generation time.
pub fn build(
    records: &[DeploymentRecord],
    incidents: &[IncidentLink],
    since: OffsetDateTime,
    until: OffsetDateTime,
    now: OffsetDateTime,
) -> AuditReport {
    let caused: HashSet<&str> = incidents.iter().map(|l| l.deployment.as_str()).collect();
    let mut summary = DeploymentSummary::default();
    let mut services = BTreeSet::new();
    let mut weeks: BTreeMap<OffsetDateTime, (u64, u64, Vec<Duration>)> = BTreeMap::new();
    let mut rows = Vec::new();
    for r in records {
        let d = &r.deployment;
        if d.finished_at < since || d.finished_at >= until {
            continue;
        }
        summary.total += 1;
        *summary
            .by_environment
            .entry(d.environment.clone())
            .or_default() += 1;
        if !d.environment.is_production() {
            continue;
        }
        summary.production += 1;
        let failed = d.outcome == Outcome::Failed;
        if failed {
            summary.production_failed += 1;
        } else {
            summary.production_succeeded += 1;
        }
        services.insert(&d.service);
        let week = weeks.entry(week_start(d.finished_at)).or_default();
        week.0 += 1;
        week.1 += u64::from(failed || caused.contains(r.key.as_str()));
        if let Some(lead) = d.first_commit_at.map(|f| d.finished_at - f)
            && !lead.is_negative()
        {
            week.2.push(lead);
        }
        rows.push(DeploymentRow {
            seq: r.seq,
            key: r.key.clone(),
            service: d.service.clone(),
            version: d.version.clone(),
            environment: d.environment.clone(),
            started_at: d.started_at,
            finished_at: d.finished_at,
            deployer: d.deployer.to_string(),
            outcome: d.outcome,
            change: d.change.as_ref().map(|c| c.reference.to_string()),
            change_approved: d.change.as_ref().map(|c| c.approved),
            violations: compliance::reasons(r),
        });
    }
    summary.services = services.len() as u64;
    rows.sort_by_key(|r| r.seq);
    fill_weeks(&mut weeks, since, until);
    let mut weekly = Vec::with_capacity(weeks.len());
    let mut lead_time_trend = Vec::with_capacity(weeks.len());
    for (week_start, (deployments, failures, mut leads)) in weeks {
        weekly.push(WeekBucket {
            week_start,
            deployments,
            failures,
        });
        lead_time_trend.push(LeadTimePoint {
            week_start,
            median: dora::percentile(&mut leads, 50),
            measured: leads.len() as u64,
        });
    }
    AuditReport {
        period: Period { since, until },
        generated_at: now,
        deployments: summary,
        compliance: compliance::check(records, since, until),
        dora: dora::dora(records, incidents, since, until, None),
        weekly,
        lead_time_trend,
        rows,
    }
}

/// Adds the weeks of the period without deployments, unless there are too many.
fn fill_weeks(
    weeks: &mut BTreeMap<OffsetDateTime, (u64, u64, Vec<Duration>)>,
    since: OffsetDateTime,
    until: OffsetDateTime,
) {
    if until <= since {
        return;
    }
    let last = week_start(until - Duration::NANOSECOND);
    let mut week = week_start(since);
    let span = (last - week).whole_weeks();
    if span < 0 || span as usize >= MAX_CONTIGUOUS_WEEKS {
        return;
    }
    while week <= last {
        weeks.entry(week).or_default();
        match week.checked_add(Duration::WEEK) {
            Some(next) => week = next,
            None => break,
        }
    }
}

/// The formats a report renders to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    /// Markdown: headings and tables (`md`).
    Markdown,
    /// The report as JSON (`json`).
    Json,
    /// One RFC 4180 row per production deployment with its compliance status (`csv`).
    Csv,
    /// One self-contained HTML page with inline SVG charts (`html`).
    Html,
}

impl FromStr for ReportFormat {
    type Err = Error;

    /// Parses `md` (or `markdown`), `json`, `csv` or `html`, in any case.
    fn from_str(s: &str) -> itsm_core::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(ReportFormat::Markdown),
            "json" => Ok(ReportFormat::Json),
            "csv" => Ok(ReportFormat::Csv),
            "html" => Ok(ReportFormat::Html),
            other => Err(Error::invalid_input(format!(
                "unknown report format {other:?}; use one of md, json, csv, html"
            ))),
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReportFormat::Markdown => "md",
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Html => "html",
        })
    }
}

/// Renders the report in `format`.
pub fn render(report: &AuditReport, format: ReportFormat) -> String {
    match format {
        ReportFormat::Markdown => text::markdown(report),
        ReportFormat::Json => serde_json::to_string_pretty(report).unwrap_or_else(|e| {
            format!(
                "{{\"error\": {:?}}}",
                format!("the report could not be serialised: {e}")
            )
        }),
        ReportFormat::Csv => text::csv(report),
        ReportFormat::Html => html::html(report),
    }
}

/// A percentage with one decimal (`12.5%`), or `n/a`.
fn percent(rate: Option<f64>) -> String {
    rate.map_or("n/a".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// A duration for people, or `n/a`.
fn duration(d: Option<Duration>) -> String {
    d.map_or("n/a".to_owned(), dora::format_duration)
}

/// A per-unit rate with two decimals, or `n/a`.
fn rate(r: Option<f64>) -> String {
    r.map_or("n/a".to_owned(), |r| format!("{r:.2}"))
}
