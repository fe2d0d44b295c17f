//! The examples under `examples/` stay in step with the command: every `itsm.toml` there
//! is a valid configuration, and every `itsm` line of the CI pipeline examples parses with
//! the flags the command has today.

use clap::Parser as _;

use crate::cli::Cli;
use crate::config::Config;

/// Each example's configuration with the secrets its README says to export.
const CONFIGS: &[(&str, &str, &[&str])] = &[
    (
        "alertmanager-bridge",
        include_str!("../../../examples/alertmanager-bridge/itsm.toml"),
        &[],
    ),
    (
        "pagerduty-bridge",
        include_str!("../../../examples/pagerduty-bridge/itsm.toml"),
        &[
            "PAGERDUTY_API_TOKEN",
            "PAGERDUTY_ROUTING_KEY",
            "PAGERDUTY_WEBHOOK_SECRETS",
        ],
    ),
    (
        "servicenow-pipeline",
        include_str!("../../../examples/servicenow-pipeline/itsm.toml"),
        &["SERVICENOW_USERNAME", "SERVICENOW_PASSWORD"],
    ),
    (
        "jira-service-management",
        include_str!("../../../examples/jira-service-management/itsm.toml"),
        &["JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_WEBHOOK_SECRET"],
    ),
    (
        "specialists",
        include_str!("../../../examples/specialists/itsm.toml"),
        &[],
    ),
];

const PIPELINES: &[(&str, &str)] = &[
    (
        "github-actions/deploy.yml",
        include_str!("../../../examples/github-actions/deploy.yml"),
    ),
    (
        "gitlab-ci/.gitlab-ci.yml",
        include_str!("../../../examples/gitlab-ci/.gitlab-ci.yml"),
    ),
    (
        "servicenow-pipeline/deploy.yml",
        include_str!("../../../examples/servicenow-pipeline/deploy.yml"),
    ),
];

#[test]
fn every_example_configuration_is_valid() {
    for (name, text, secrets) in CONFIGS {
        let mut config = Config::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let value = |var: &str| {
            let secret = secrets.contains(&var);
            secret.then(|| format!("{}-from-the-environment", var.to_lowercase()))
        };
        config
            .apply_env(value)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        config
            .validate()
            .unwrap_or_else(|e| panic!("{name} does not validate: {e}"));
    }
}

/// Replaces `${{ ... }}`, `$(...)`, `"$VAR"` and `$VAR` with a plain word, so the line
/// splits on whitespace like the shell would split it.
fn substitute(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find(['$', '"']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let skip = if tail.starts_with('"') {
            1
        } else if let Some(expr) = tail.strip_prefix("${{") {
            let end = expr.find("}}").unwrap_or(expr.len());
            // An expression stands for its first quoted literal (`'success'`), if any.
            let literal = expr[..end].split('\'').nth(1).unwrap_or("value");
            out.push_str(literal);
            3 + (end + 2).min(expr.len())
        } else if let Some(cmd) = tail.strip_prefix("$(") {
            out.push_str("value");
            2 + cmd.find(')').map_or(cmd.len(), |e| e + 1)
        } else {
            let len = tail[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '{' || c == '}'))
                .unwrap_or(tail.len() - 1);
            // The pipelines set `OUTCOME` to `success` or `failure`.
            let name = tail[1..=len].trim_matches(['{', '}']);
            out.push_str(if name == "OUTCOME" {
                "success"
            } else {
                "value"
            });
            1 + len
        };
        rest = &tail[skip..];
    }
    out.push_str(rest);
    out
}

/// The `itsm` invocations of a pipeline file, continuation lines joined.
fn invocations(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start().trim_start_matches("- ").trim_start();
        let line = line.strip_prefix("run: ").unwrap_or(line);
        if line.starts_with("itsm ") && !line.starts_with("itsm-") {
            let mut command = line.trim_end_matches('\\').to_owned();
            let mut continued = lines[i].trim_end().ends_with('\\');
            while i + 1 < lines.len() {
                let next = lines[i + 1].trim();
                // Backslash continuations (shell) or folded `>` lines (YAML) that go on
                // with more flags.
                if continued || next.starts_with("--") {
                    command.push(' ');
                    command.push_str(next.trim_end_matches('\\'));
                    continued = next.ends_with('\\');
                    i += 1;
                } else {
                    break;
                }
            }
            found.push(command);
        }
        i += 1;
    }
    found
}

#[test]
fn every_itsm_line_of_the_pipeline_examples_parses() {
    let mut seen = Vec::new();
    for (name, text) in PIPELINES {
        for command in invocations(text) {
            let words: Vec<String> = substitute(&command)
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            if let Err(e) = Cli::try_parse_from(&words) {
                panic!("{name}: `{command}` does not parse:\n{e}");
            }
            seen.push(format!("{name}: {}", words[..3.min(words.len())].join(" ")));
        }
    }
    for (file, step) in [
        ("github-actions/deploy.yml", "itsm change raise"),
        ("github-actions/deploy.yml", "itsm change gate"),
        ("github-actions/deploy.yml", "itsm change close"),
        ("gitlab-ci/.gitlab-ci.yml", "itsm change raise"),
        ("gitlab-ci/.gitlab-ci.yml", "itsm change gate"),
        ("gitlab-ci/.gitlab-ci.yml", "itsm change close"),
    ] {
        assert!(
            seen.contains(&format!("{file}: {step}")),
            "{file} has no `{step}` line: {seen:#?}"
        );
    }
}

#[test]
fn the_close_steps_record_the_deployment() {
    for (name, text) in &PIPELINES[..2] {
        let close = invocations(text)
            .into_iter()
            .find(|c| c.starts_with("itsm change close"))
            .unwrap_or_else(|| panic!("{name} has no close step"));
        for flag in ["--artifact-digest", "--commit", "--outcome", "--run"] {
            assert!(
                close.contains(flag),
                "{name}: close without {flag}: {close}"
            );
        }
    }
}

#[test]
fn substitution_turns_variables_into_words() {
    assert_eq!(
        substitute(r#"--version "$VERSION" --run ${{ github.run_id }} --d "$(cat f)""#),
        "--version value --run value --d value"
    );
    assert_eq!(substitute("--x ${A}/b"), "--x value/b");
    assert_eq!(
        substitute("--outcome ${{ x == 'success' && 'success' || 'failure' }} --o $OUTCOME"),
        "--outcome success --o success"
    );
}
