//! The self-contained HTML rendering: inline CSS, inline SVG charts, no external resource.

use std::fmt::Write;

use itsm_core::format_instant;

use super::{AuditReport, duration, percent, rate};
use crate::compliance::ViolationReason;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;\
max-width:60rem;padding:0 1rem;color:#1f2328;background:#fff;line-height:1.45}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;\
border-bottom:1px solid #d0d7de;padding-bottom:.3rem}\
.meta{color:#57606a}.cards{display:flex;flex-wrap:wrap;gap:.8rem}\
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem .9rem;min-width:11rem;flex:1}\
.card b{display:block;font-size:1.4rem}.card small{color:#57606a}\
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}\
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}td.n{text-align:right}tr.bad td{background:#fff5f5}\
.ok{color:#1a7f37}.bad{color:#cf222e}svg{width:100%;height:auto;max-width:60rem}\
svg text{font-size:11px;fill:#57606a}.empty{color:#57606a;font-style:italic}";

pub(super) fn html(r: &AuditReport) -> String {
    let mut s = String::new();
    let p = &r.period;
    let period = format!("{} to {}", format_instant(p.since), format_instant(p.until));
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Change audit report {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Change audit report</h1>\n<p class=\"meta\">Period {} (end excluded). \
         Generated {}.</p>\n",
        esc(&period),
        esc(&period),
        esc(&format_instant(r.generated_at))
    );
    summary_cards(&mut s, r);
    charts(&mut s, r);
    violations(&mut s, r);
    deployments(&mut s, r);
    s.push_str("</body>\n</html>\n");
    s
}

fn card(s: &mut String, title: &str, value: &str, detail: &str) {
    let _ = write!(
        s,
        "<div class=\"card\"><small>{}</small><b>{}</b><small>{}</small></div>",
        esc(title),
        esc(value),
        esc(detail)
    );
}

fn summary_cards(s: &mut String, r: &AuditReport) {
    let f = &r.dora;
    let c = &r.compliance;
    s.push_str("<h2>Summary</h2>\n<div class=\"cards\">");
    card(
        s,
        "Production deployments",
        &r.deployments.production.to_string(),
        &format!(
            "{} services, {} failed; {} in all environments",
            r.deployments.services, r.deployments.production_failed, r.deployments.total
        ),
    );
    card(
        s,
        "Compliance",
        &format!("{} / {}", c.compliant, c.checked),
        &format!("{} violations", c.violations.len()),
    );
    card(
        s,
        "Deployment frequency",
        &format!("{} / week", rate(f.deployment_frequency.per_week)),
        &format!("{} per day", rate(f.deployment_frequency.per_day)),
    );
    card(
        s,
        "Lead time (median)",
        &duration(f.lead_time.median),
        &format!(
            "p90 {}; {} measured, {} excluded",
            duration(f.lead_time.p90),
            f.lead_time.measured,
            f.lead_time.excluded
        ),
    );
    card(
        s,
        "Change failure rate",
        &percent(f.change_failure_rate.rate),
        &format!(
            "{} of {} deployments",
            f.change_failure_rate.failures, f.change_failure_rate.deployments
        ),
    );
    card(
        s,
        "Time to restore (median)",
        &duration(f.time_to_restore.median),
        &format!(
            "p90 {}; {} unresolved",
            duration(f.time_to_restore.p90),
            f.time_to_restore.unresolved
        ),
    );
    s.push_str(
        "</div>\n<p class=\"meta\">Percentiles are nearest-rank. Lead time runs from \
                the first commit to the end of the deployment.</p>\n",
    );
}

const W: f64 = 640.0;
const H: f64 = 200.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 10.0;

fn svg_open(s: &mut String, label: &str) {
    let _ = write!(
        s,
        "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">\
         <line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{W}\" y2=\"{y}\" stroke=\"#8c959f\"/>",
        esc(label),
        y = H - BOTTOM
    );
}

fn y_axis(s: &mut String, max: f64, unit: &str) {
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        LEFT - 4.0,
        TOP + 8.0,
        esc(&format!("{}{unit}", trim_number(max))),
        LEFT - 4.0,
        H - BOTTOM
    );
}

fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Every `step`-th label so that at most ~12 fit.
fn label_step(n: usize) -> usize {
    n.div_ceil(12).max(1)
}

/// Vertical bars: `(label, total, highlighted part (red), tooltip)`.
fn bar_chart(s: &mut String, label: &str, bars: &[(String, f64, f64, String)]) {
    svg_open(s, label);
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0);
    y_axis(s, max, "");
    let plot_h = H - BOTTOM - TOP;
    let slot = (W - LEFT) / bars.len().max(1) as f64;
    let step = label_step(bars.len());
    for (i, (name, total, part, tip)) in bars.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.1;
        let w = (slot * 0.8).max(0.5);
        let h = total / max * plot_h;
        let hp = part / max * plot_h;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"#54aeff\">\
             <title>{}</title></rect>",
            H - BOTTOM - h,
            esc(tip)
        );
        if *part > 0.0 {
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{hp:.1}\" \
                 fill=\"#ff8182\"/>",
                H - BOTTOM - hp
            );
        }
        if i % step == 0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + w / 2.0,
                H - 8.0,
                esc(name)
            );
        }
    }
    s.push_str("</svg>\n");
}

fn charts(s: &mut String, r: &AuditReport) {
    s.push_str("<h2>Deployment frequency per week</h2>\n");
    if r.weekly.is_empty() {
        s.push_str("<p class=\"empty\">No weeks in this period.</p>\n");
    } else {
        let bars: Vec<(String, f64, f64, String)> = r
            .weekly
            .iter()
            .map(|w| {
                let d = w.week_start.date();
                (
                    format!("{:02}-{:02}", u8::from(d.month()), d.day()),
                    w.deployments as f64,
                    w.failures as f64,
                    format!(
                        "week of {d}: {} deployments, {} failures",
                        w.deployments, w.failures
                    ),
                )
            })
            .collect();
        bar_chart(s, "Production deployments per week; failures in red", &bars);
        s.push_str(
            "<p class=\"meta\">Blue: production deployments of the week starting that \
                    Monday; red: failures among them.</p>\n",
        );
    }

    s.push_str("<h2>Lead time trend</h2>\n");
    let points: Vec<(usize, f64)> = r
        .lead_time_trend
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, p.median?.as_seconds_f64() / 3600.0)))
        .collect();
    if points.is_empty() {
        s.push_str("<p class=\"empty\">No lead times in this period.</p>\n");
    } else {
        svg_open(s, "Median lead time per week, in hours");
        let max = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0);
        y_axis(s, max, "h");
        let n = r.lead_time_trend.len().max(1) as f64;
        let slot = (W - LEFT) / n;
        let xy = |(i, v): (usize, f64)| {
            (
                LEFT + slot * (i as f64 + 0.5),
                H - BOTTOM - v / max * (H - BOTTOM - TOP),
            )
        };
        let line: Vec<String> = points
            .iter()
            .map(|p| {
                let (x, y) = xy(*p);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#8250df\" stroke-width=\"2\"/>",
            line.join(" ")
        );
        let step = label_step(r.lead_time_trend.len());
        for p in &points {
            let (x, y) = xy(*p);
            let week = r.lead_time_trend[p.0].week_start.date();
            let _ = write!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#8250df\"><title>{}</title>\
                 </circle>",
                esc(&format!("week of {week}: {:.1} h", p.1))
            );
        }
        for (i, point) in r.lead_time_trend.iter().enumerate().step_by(step) {
            let d = point.week_start.date();
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{:02}-{:02}</text>",
                LEFT + slot * (i as f64 + 0.5),
                H - 8.0,
                u8::from(d.month()),
                d.day()
            );
        }
        s.push_str("</svg>\n");
    }

    s.push_str("<h2>Compliance violations by reason</h2>\n");
    if r.compliance.violations.is_empty() {
        s.push_str("<p class=\"empty ok\">No violations in this period.</p>\n");
    } else {
        let bars: Vec<(String, f64, f64, String)> = r
            .compliance
            .counts_by_reason()
            .into_iter()
            .map(|(code, n)| {
                let name = code.replace('_', " ");
                let tip = format!("{name}: {n} violations");
                (name, n as f64, n as f64, tip)
            })
            .collect();
        bar_chart(s, "Compliance violations by reason", &bars);
    }
}

fn reasons_html(first: &ViolationReason, others: &[ViolationReason]) -> String {
    std::iter::once(first)
        .chain(others)
        .map(|r| esc(&r.to_string()))
        .collect::<Vec<_>>()
        .join("<br>")
}

fn violations(s: &mut String, r: &AuditReport) {
    let c = &r.compliance;
    let _ = write!(
        s,
        "<h2>Compliance</h2>\n<p>{} production deployments checked: <span class=\"ok\">{} \
         compliant</span>, <span class=\"bad\">{} violations</span>.</p>\n",
        c.checked,
        c.compliant,
        c.violations.len()
    );
    if c.violations.is_empty() {
        return;
    }
    s.push_str(
        "<table><thead><tr><th>Seq</th><th>Service</th><th>Version</th><th>Environment</th>\
         <th>Finished</th><th>Reason</th></tr></thead><tbody>\n",
    );
    for v in &c.violations {
        let _ = writeln!(
            s,
            "<tr class=\"bad\"><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            v.seq,
            esc(v.service.as_str()),
            esc(v.version.as_str()),
            esc(v.environment.as_str()),
            esc(&format_instant(v.finished_at)),
            reasons_html(&v.reason, &v.other_reasons)
        );
    }
    s.push_str("</tbody></table>\n");
}

fn deployments(s: &mut String, r: &AuditReport) {
    s.push_str("<h2>Production deployments</h2>\n");
    if r.rows.is_empty() {
        s.push_str("<p class=\"empty\">No production deployments in this period.</p>\n");
        return;
    }
    s.push_str(
        "<table><thead><tr><th>Seq</th><th>Service</th><th>Version</th><th>Environment</th>\
         <th>Finished</th><th>Deployer</th><th>Outcome</th><th>Change</th><th>Status</th>\
         </tr></thead><tbody>\n",
    );
    for row in &r.rows {
        let status = if row.violations.is_empty() {
            "<span class=\"ok\">compliant</span>".to_owned()
        } else {
            let codes: Vec<&str> = row.violations.iter().map(|v| v.code()).collect();
            format!("<span class=\"bad\">{}</span>", esc(&codes.join(", ")))
        };
        let _ = writeln!(
            s,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{:?}</td><td>{}</td><td>{status}</td></tr>",
            row.seq,
            esc(row.service.as_str()),
            esc(row.version.as_str()),
            esc(row.environment.as_str()),
            esc(&format_instant(row.finished_at)),
            esc(&row.deployer),
            row.outcome,
            esc(row.change.as_deref().unwrap_or("none")),
        );
    }
    s.push_str("</tbody></table>\n");
}
