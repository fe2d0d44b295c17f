//! What `itsm specialist` prints for people, and the figures command.

use std::fmt::Write as _;

use itsm_audit::dora::format_duration;
use itsm_core::{ListRequest, Result, format_instant};
use itsm_specialist::fulfil::state_name;
use itsm_specialist::{
    AutomationOutcome, GroupFigures, Handled, InputKind, Offering, RequestFilter,
    SpecialistCatalog, SpecialistRequest, SpecialistTeam, TimeFigure, figures,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::cli::Output;
use crate::exit;
use crate::output::emit;

/// The teams and their offerings; `system` is where the catalog lives.
pub(super) fn catalog(teams: &[SpecialistTeam], offerings: &[Offering], system: &str) -> String {
    let mut s = String::new();
    if offerings.is_empty() {
        s.push_str(match system {
            "servicenow" => "no offerings: the configured [[servicenow.catalog.items]] and categories offer none\n",
            "jira" => "no offerings: [jira.specialist] configures none\n",
            _ => "no offerings: set [specialist] catalog in itsm.toml to a catalog file\n",
        });
    }
    for team in teams {
        let own: Vec<&Offering> = offerings.iter().filter(|o| o.team == team.id).collect();
        if own.is_empty() {
            continue;
        }
        let _ = writeln!(s, "{} ({})", team.name, team.id);
        for o in own {
            let how = if o.automated {
                "automated"
            } else {
                "by a person"
            };
            let _ = writeln!(
                s,
                "  {}  {} [{how}; respond {} / resolve {}]",
                o.id,
                o.name,
                minutes(o.response_target_minutes),
                minutes(o.resolution_target_minutes)
            );
            for i in &o.inputs {
                let kind = match &i.kind {
                    InputKind::Text => "text".to_owned(),
                    InputKind::Choice { options } => options.join("|"),
                    InputKind::Number => "number".to_owned(),
                    InputKind::Boolean => "true|false".to_owned(),
                };
                let req = if i.required { "required" } else { "optional" };
                let _ = writeln!(s, "      --input {}=<{kind}>  ({req})", i.name);
            }
        }
    }
    s
}

fn minutes(m: u32) -> String {
    format_duration(Duration::minutes(i64::from(m)))
}

/// One line about a request.
pub(super) fn request_line(r: &SpecialistRequest) -> String {
    format!(
        "{}  {:<20} {:<24} {} -> {}  {}",
        r.number.as_deref().unwrap_or(r.id.as_str()),
        state_name(r.state),
        r.offering.as_str(),
        r.requester,
        r.team,
        r.submitted_at.map(format_instant).unwrap_or_default()
    )
}

/// A request in full.
pub(super) fn request(r: &SpecialistRequest) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}: {} for {}", r.id, r.offering, r.requester);
    let _ = writeln!(s, "  state:    {}", state_name(r.state));
    let _ = writeln!(s, "  queue:    {}", r.team);
    let _ = writeln!(s, "  urgency:  {:?}", r.urgency);
    for (name, value) in &r.inputs {
        let _ = writeln!(s, "  input:    {name} = {value}");
    }
    for t in &r.transitions {
        let by =
            t.by.as_ref()
                .map(|p| format!(" by {p}"))
                .unwrap_or_default();
        let note = t
            .note
            .as_ref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {}  {}{by}{note}",
            format_instant(t.at),
            state_name(t.to)
        );
    }
    for c in &r.comments {
        let at = c.at.map(format_instant).unwrap_or_default();
        let _ = writeln!(s, "  comment {at} {}: {}", c.author, c.text);
    }
    s
}

/// A request after submission or automation.
pub(super) fn handled(h: &Handled) -> String {
    let r = &h.request;
    let outcome = match &h.automation {
        AutomationOutcome::Manual => format!("in team {}'s queue for a person", r.team),
        AutomationOutcome::Finished => format!("already {}", state_name(r.state)),
        AutomationOutcome::Fulfilled { note } => format!("fulfilled by automation: {note}"),
        AutomationOutcome::Failed { error } => format!(
            "automation FAILED, the request waits in team {}'s queue: {error}",
            r.team
        ),
    };
    format!("{} {}\n{}", r.id, outcome, request(r))
}

/// `itsm specialist stats`.
pub(super) async fn stats(
    store: &dyn SpecialistCatalog,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    explain: bool,
    output: Output,
) -> Result<u8> {
    let mut requests = Vec::new();
    let mut page = ListRequest::with_limit(1000);
    loop {
        let listing = store
            .list_requests(&RequestFilter::default(), &page)
            .await?;
        requests.extend(listing.items.into_iter().filter(|r| {
            r.submitted_at
                .is_some_and(|at| since.is_none_or(|s| at >= s) && until.is_none_or(|u| at < u))
        }));
        match listing.next {
            Some(next) => page.cursor = Some(next),
            None => break,
        }
    }
    let offerings = store.list_offerings(None).await?;
    let now = OffsetDateTime::now_utc();
    let f = figures(&requests, &offerings, now);
    let evidence = explain.then(|| {
        let of = |groups: &[GroupFigures]| -> serde_json::Value {
            groups
                .iter()
                .map(|g| {
                    (
                        g.group.clone(),
                        json!(g.explain(&requests, &offerings, now)),
                    )
                })
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        json!({ "by_offering": of(&f.by_offering), "by_requester": of(&f.by_requester) })
    });
    emit(
        output,
        &json!({ "figures": f, "explain": evidence }),
        || {
            let mut s = format!("{} requests\n\nper offering:\n", f.requests);
            table(&mut s, &f.by_offering);
            s.push_str("\nper requesting team:\n");
            table(&mut s, &f.by_requester);
            if explain {
                s.push_str("\nexplain (per offering):\n");
                for g in &f.by_offering {
                    let _ = writeln!(s, "  {}:", g.group);
                    for e in g.explain(&requests, &offerings, now) {
                        let _ = writeln!(
                            s,
                            "    {} {} {:<20} response {} fulfilment {}{}{}",
                            e.id,
                            e.requester,
                            state_name(e.state),
                            secs(e.first_response_seconds),
                            secs(e.fulfilment_seconds),
                            if e.response_breached {
                                " RESPONSE-BREACH"
                            } else {
                                ""
                            },
                            if e.resolution_breached {
                                " RESOLUTION-BREACH"
                            } else {
                                ""
                            },
                        );
                    }
                }
            }
            s
        },
    );
    Ok(exit::OK)
}

fn secs(s: Option<i64>) -> String {
    s.map_or_else(|| "-".to_owned(), |s| format_duration(Duration::seconds(s)))
}

fn time(t: &TimeFigure) -> String {
    format!("{} / {}", secs(t.median_seconds), secs(t.p90_seconds))
}

fn table(s: &mut String, groups: &[GroupFigures]) {
    let _ = writeln!(
        s,
        "  {:<26} {:>6} {:>5} {:>9} {:>9}  {:<22} {:<22} {:>9} {:>9}",
        "",
        "count",
        "open",
        "fulfilled",
        "automated",
        "response median / p90",
        "fulfilment median / p90",
        "resp.miss",
        "res.miss"
    );
    for g in groups {
        let _ = writeln!(
            s,
            "  {:<26} {:>6} {:>5} {:>9} {:>9}  {:<22} {:<22} {:>9} {:>9}",
            g.group,
            g.count,
            g.open,
            g.fulfilled,
            g.automated,
            time(&g.first_response),
            time(&g.fulfilment),
            g.response_breaches,
            g.resolution_breaches
        );
    }
}
