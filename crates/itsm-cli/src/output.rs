//! Printing records for people (`--output text`) or programs (`--output json`).

use std::fmt::Write as _;

use itsm_change::{ChangeRequest, ChangeTemplate};
use itsm_core::format_instant;
use serde::Serialize;

use crate::cli::Output;

/// Prints `value` as JSON, or `text` for people.
pub(crate) fn emit<T: Serialize>(output: Output, value: &T, text: impl FnOnce() -> String) {
    match output {
        Output::Json => match serde_json::to_string_pretty(value) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("itsm: error: cannot write JSON output: {e}"),
        },
        Output::Text => {
            let text = text();
            println!("{}", text.trim_end());
        }
    }
}

/// One line about a change.
pub(crate) fn change_line(c: &ChangeRequest) -> String {
    format!(
        "{}  {:<9} {:<9} {:<13} {} {} in {}",
        c.number.as_deref().unwrap_or(c.id.as_str()),
        c.kind.to_string(),
        c.state.as_str(),
        c.approval.as_str(),
        c.service,
        c.version,
        c.environment
    )
}

/// A change in full.
pub(crate) fn change_text(c: &ChangeRequest) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {}",
        c.number.as_deref().unwrap_or(c.id.as_str()),
        c.summary
    );
    let _ = writeln!(s, "  kind:        {}", c.kind);
    let _ = writeln!(s, "  state:       {}", c.state);
    let _ = writeln!(s, "  approval:    {}", c.approval);
    let _ = writeln!(
        s,
        "  service:     {} {} in {}",
        c.service, c.version, c.environment
    );
    if let Some(t) = &c.template {
        let _ = writeln!(s, "  template:    {t}");
    }
    if let Some(w) = &c.window {
        let _ = writeln!(
            s,
            "  window:      {} to {}",
            format_instant(w.start),
            format_instant(w.end)
        );
    }
    if let Some(run) = &c.pipeline_run {
        let _ = writeln!(s, "  pipeline:    {run}");
    }
    if c.retroactive {
        let _ = writeln!(s, "  audit flag:  raised retroactively");
    }
    for reason in &c.reasons {
        let _ = writeln!(s, "  reason:      {reason}");
    }
    if let Some(closure) = &c.closure {
        let _ = writeln!(s, "  closed:      {}", closure.code);
        for line in closure.notes.lines() {
            let _ = writeln!(s, "    {line}");
        }
    }
    s
}

/// A template in full.
pub(crate) fn template_text(t: &ChangeTemplate) -> String {
    let envs: Vec<&str> = t.environments.iter().map(|e| e.as_str()).collect();
    let mut s = String::new();
    let _ = writeln!(s, "{}: {} ({})", t.id, t.name, t.service);
    let _ = writeln!(s, "  environments: {}", envs.join(", "));
    let _ = writeln!(s, "  active:       {}", t.active);
    let _ = writeln!(s, "  owner:        {}", t.owner);
    if let Some(by) = &t.approved_by {
        let _ = writeln!(s, "  approved by:  {by}");
    }
    if let Some(exp) = t.expires_at {
        let _ = writeln!(s, "  expires:      {}", format_instant(exp));
    }
    s
}
