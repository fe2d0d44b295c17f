//! The subset of JQL the simulator understands: clauses joined by `AND`, then an optional
//! `ORDER BY` (always created, then key, ascending).
//!
//! Clauses: `project = "X"`, `issuetype = "X"`, `labels = "X"`, `labels IN ("a", "b")`,
//! `status IN ("a", "b")`, `status = "X"`, `issue.property[p].key = "v"`, `cf[N] = "v"`.

use serde_json::Value;

use super::state::SimIssue;

/// One parsed clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clause {
    Project(String),
    IssueType(String),
    Label(Vec<String>),
    Status(Vec<String>),
    Property { property: String, value: String },
    Field { id: String, value: String },
}

/// Parses `jql`; the error is Jira-style text for a 400.
pub(crate) fn parse(jql: &str) -> Result<Vec<Clause>, String> {
    let head = match jql.find(" ORDER BY ") {
        Some(i) => &jql[..i],
        None => jql,
    };
    let tokens = tokenize(head)?;
    let mut clauses = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let field = tokens[i].clone();
        let op = tokens.get(i + 1).cloned().ok_or_else(|| {
            format!("Error in the JQL Query: expecting an operator after '{field}'.")
        })?;
        let (values, next) = if op.eq_ignore_ascii_case("IN") {
            if tokens.get(i + 2).map(String::as_str) != Some("(") {
                return Err("Error in the JQL Query: expecting '(' after IN.".into());
            }
            let mut values = Vec::new();
            let mut j = i + 3;
            loop {
                let t = tokens
                    .get(j)
                    .ok_or_else(|| "Error in the JQL Query: unclosed '('.".to_owned())?;
                match t.as_str() {
                    ")" => break,
                    "," => {}
                    v => values.push(unquote(v)),
                }
                j += 1;
            }
            (values, j + 1)
        } else if op == "=" {
            let v = tokens
                .get(i + 2)
                .ok_or_else(|| "Error in the JQL Query: expecting a value after '='.".to_owned())?;
            (vec![unquote(v)], i + 3)
        } else {
            return Err(format!(
                "Error in the JQL Query: the operator '{op}' is not supported by the simulator."
            ));
        };
        let lower = field.to_ascii_lowercase();
        let clause = if lower == "project" {
            Clause::Project(first(&values))
        } else if lower == "issuetype" {
            Clause::IssueType(first(&values))
        } else if lower == "labels" {
            Clause::Label(values)
        } else if lower == "status" {
            Clause::Status(values)
        } else if let Some(rest) = field.strip_prefix("issue.property[") {
            let (property, path) = rest
                .split_once(']')
                .ok_or_else(|| format!("Error in the JQL Query: bad property '{field}'."))?;
            if path != ".key" {
                return Err(format!(
                    "Error in the JQL Query: only .key of issue properties is indexed, not '{path}'."
                ));
            }
            Clause::Property {
                property: property.to_owned(),
                value: first(&values),
            }
        } else if let Some(n) = field.strip_prefix("cf[").and_then(|r| r.strip_suffix(']')) {
            Clause::Field {
                id: format!("customfield_{n}"),
                value: first(&values),
            }
        } else {
            return Err(format!(
                "Field '{field}' does not exist or you do not have permission to view it."
            ));
        };
        clauses.push(clause);
        i = next;
        if let Some(t) = tokens.get(i) {
            if !t.eq_ignore_ascii_case("AND") {
                return Err(format!(
                    "Error in the JQL Query: expecting AND but got '{t}'."
                ));
            }
            i += 1;
        }
    }
    Ok(clauses)
}

fn first(values: &[String]) -> String {
    values.first().cloned().unwrap_or_default()
}

fn unquote(token: &str) -> String {
    match token.strip_prefix('\u{1}') {
        Some(quoted) => quoted.to_owned(),
        None => token.to_owned(),
    }
}

/// Splits into words, `(`, `)`, `,`, `=` and quoted strings (marked with a leading `\u{1}`).
fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' | '\n' => {
                chars.next();
            }
            '(' | ')' | ',' | '=' => {
                out.push(c.to_string());
                chars.next();
            }
            '"' => {
                chars.next();
                let mut s = String::from('\u{1}');
                loop {
                    match chars.next() {
                        None => return Err("Error in the JQL Query: unclosed string.".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some(other) => s.push(other),
                            None => return Err("Error in the JQL Query: bad escape.".into()),
                        },
                        Some(other) => s.push(other),
                    }
                }
                out.push(s);
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if matches!(c, ' ' | '\t' | '\n' | '(' | ')' | ',' | '=' | '"') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(word);
            }
        }
    }
    Ok(out)
}

/// Whether `issue` matches every clause.
pub(crate) fn matches(clauses: &[Clause], issue: &SimIssue) -> bool {
    clauses.iter().all(|c| match c {
        Clause::Project(p) => issue.project.eq_ignore_ascii_case(p),
        Clause::IssueType(t) => issue.issue_type.eq_ignore_ascii_case(t),
        Clause::Label(any) => any.iter().any(|l| issue.labels.iter().any(|x| x == l)),
        Clause::Status(any) => any.iter().any(|s| s.eq_ignore_ascii_case(&issue.status)),
        Clause::Property { property, value } => {
            issue
                .properties
                .get(property)
                .and_then(|p| p.get("key"))
                .and_then(Value::as_str)
                == Some(value.as_str())
        }
        Clause::Field { id, value } => match issue.fields.get(id) {
            Some(Value::String(s)) => s == value,
            Some(other) => other.get("value").and_then(Value::as_str) == Some(value.as_str()),
            None => false,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_adapters_queries() {
        let c = parse(r#"project = "OPS" AND labels IN ("a", "b \"q\"") AND status IN ("Open") AND issue.property[itsm].key = "k" ORDER BY created ASC"#).unwrap();
        assert_eq!(
            c,
            vec![
                Clause::Project("OPS".into()),
                Clause::Label(vec!["a".into(), "b \"q\"".into()]),
                Clause::Status(vec!["Open".into()]),
                Clause::Property {
                    property: "itsm".into(),
                    value: "k".into()
                },
            ]
        );
        assert!(parse("summary ~ x").is_err());
        assert!(parse("nonsense = \"x\"").is_err());
    }
}
