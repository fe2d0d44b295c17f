//! Markdown and CSV renderings.

use std::fmt::Write;

use itsm_core::format_instant;

use super::{AuditReport, duration, percent, rate};
use crate::compliance::ViolationReason;
use crate::model::Outcome;

/// Escapes text for a Markdown table cell: pipes, backslashes, line breaks and the
/// characters a renderer would take as HTML.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            '`' => out.push_str("\\`"),
            '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn reasons_text(reasons: &[ViolationReason]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn markdown(r: &AuditReport) -> String {
    let mut s = String::new();
    let p = &r.period;
    let _ = writeln!(s, "# Change audit report\n");
    let _ = writeln!(
        s,
        "Period: {} to {} (end excluded). Generated {}.\n",
        format_instant(p.since),
        format_instant(p.until),
        format_instant(r.generated_at)
    );

    let d = &r.deployments;
    let _ = writeln!(s, "## Deployments\n");
    if d.production == 0 {
        let _ = writeln!(s, "No production deployments in this period.\n");
    }
    let _ = writeln!(s, "| Environment | Deployments |\n|---|---:|");
    for (env, n) in &d.by_environment {
        let _ = writeln!(s, "| {} | {n} |", md(env.as_str()));
    }
    let _ = writeln!(
        s,
        "| **all** | {} |\n\nProduction: {} deployments of {} services, {} succeeded, {} failed.\n",
        d.total, d.production, d.services, d.production_succeeded, d.production_failed
    );

    let c = &r.compliance;
    let _ = writeln!(s, "## Compliance\n");
    let _ = writeln!(
        s,
        "{} production deployments checked: {} compliant, {} violations.\n",
        c.checked,
        c.compliant,
        c.violations.len()
    );
    if !c.violations.is_empty() {
        let _ = writeln!(
            s,
            "| Seq | Service | Version | Environment | Finished | Reason |\n|---:|---|---|---|---|---|"
        );
        for v in &c.violations {
            let mut reasons = vec![v.reason.clone()];
            reasons.extend(v.other_reasons.iter().cloned());
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                v.seq,
                md(v.service.as_str()),
                md(v.version.as_str()),
                md(v.environment.as_str()),
                format_instant(v.finished_at),
                md(&reasons_text(&reasons))
            );
        }
        let _ = writeln!(s);
    }

    let f = &r.dora;
    let (df, lt, cfr, ttr) = (
        &f.deployment_frequency,
        &f.lead_time,
        &f.change_failure_rate,
        &f.time_to_restore,
    );
    let _ = writeln!(s, "## DORA figures\n");
    let _ = writeln!(s, "| Figure | Value | Detail |\n|---|---|---|");
    let _ = writeln!(
        s,
        "| Deployment frequency | {} per week | {} deployments, {} per day |",
        rate(df.per_week),
        df.count,
        rate(df.per_day)
    );
    let _ = writeln!(
        s,
        "| Lead time for changes | median {} | p90 {}; {} measured, {} excluded |",
        duration(lt.median),
        duration(lt.p90),
        lt.measured,
        lt.excluded
    );
    let _ = writeln!(
        s,
        "| Change failure rate | {} | {} of {} deployments ({} failed, {} caused an incident) |",
        percent(cfr.rate),
        cfr.failures,
        cfr.deployments,
        cfr.failed_outcome,
        cfr.caused_incident
    );
    let _ = writeln!(
        s,
        "| Time to restore | median {} | p90 {}; {} restored, {} unresolved |\n",
        duration(ttr.median),
        duration(ttr.p90),
        ttr.restored,
        ttr.unresolved
    );
    let _ = writeln!(
        s,
        "Percentiles are nearest-rank; lead time is first commit to deployment finished.\n"
    );

    let _ = writeln!(s, "## Weekly\n");
    if r.weekly.is_empty() {
        let _ = writeln!(s, "No weeks in this period.");
    } else {
        let _ = writeln!(
            s,
            "| Week of | Deployments | Failures | Median lead time |\n|---|---:|---:|---|"
        );
        for (w, l) in r.weekly.iter().zip(&r.lead_time_trend) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                w.week_start.date(),
                w.deployments,
                w.failures,
                duration(l.median)
            );
        }
    }
    s
}

/// Quotes one CSV field per RFC 4180: fields with a comma, quote, CR or LF are enclosed
/// in double quotes, and quotes inside are doubled.
pub(crate) fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

const CSV_HEADER: [&str; 14] = [
    "seq",
    "key",
    "service",
    "version",
    "environment",
    "started_at",
    "finished_at",
    "deployer",
    "outcome",
    "change",
    "change_approved",
    "status",
    "reasons",
    "detail",
];

pub(super) fn csv(r: &AuditReport) -> String {
    let mut s = CSV_HEADER.join(",");
    s.push_str("\r\n");
    for row in &r.rows {
        let fields = [
            row.seq.to_string(),
            row.key.to_string(),
            row.service.to_string(),
            row.version.to_string(),
            row.environment.to_string(),
            format_instant(row.started_at),
            format_instant(row.finished_at),
            row.deployer.clone(),
            match row.outcome {
                Outcome::Succeeded => "succeeded",
                Outcome::Failed => "failed",
            }
            .to_owned(),
            row.change.clone().unwrap_or_default(),
            row.change_approved.map_or(String::new(), |a| a.to_string()),
            if row.violations.is_empty() {
                "compliant"
            } else {
                "violation"
            }
            .to_owned(),
            row.violations
                .iter()
                .map(|v| v.code())
                .collect::<Vec<_>>()
                .join(";"),
            reasons_text(&row.violations),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        s.push_str(&line.join(","));
        s.push_str("\r\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_per_rfc_4180() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\r"), "\"cr\r\"");
    }

    #[test]
    fn markdown_cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(md("a|b"), "a\\|b");
        assert_eq!(md("x\ny"), "x y");
        assert_eq!(md("<b>"), "&lt;b&gt;");
    }
}
