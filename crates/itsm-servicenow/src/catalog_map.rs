//! Service Catalog shapes read tolerantly: catalog items and their variables (typed
//! inputs), variable values, and the adapter's marked journal entries (transitions,
//! comments) of requested items.

use std::collections::BTreeMap;

use itsm_core::Person;
use itsm_specialist::{InputKind, InputSpec, InputValue, RequestState, Urgency};
use serde_json::Value;

use crate::journal;
use crate::record::{Record, scalar};

/// Variable types that only lay a form out (label, break, macro, UI page, containers).
const LAYOUT_TYPES: [i64; 8] = [11, 12, 14, 15, 17, 19, 20, 24];
/// Yes / No (values `Yes` and `No`).
const YES_NO: i64 = 1;
/// Check box (values `true` and `false`).
const CHECK_BOX: i64 = 7;
/// Numeric scale.
const NUMERIC_SCALE: i64 = 4;
/// Multiple choice, select box, lookup select box, lookup multiple choice.
const CHOICE_TYPES: [i64; 4] = [3, 5, 18, 22];

/// One variable of a catalog item as an input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Variable {
    pub(crate) spec: InputSpec,
    /// A Yes / No variable: booleans are sent as `Yes` / `No`.
    pub(crate) yes_no: bool,
}

/// A catalog item as `GET /api/sn_sc/servicecatalog/items/{sys_id}` answers it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ItemDetail {
    pub(crate) sys_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    /// sys_ids of its categories.
    pub(crate) categories: Vec<String>,
    /// Its variables, in form order (layout variables left out).
    pub(crate) variables: Vec<Variable>,
    /// The names of its variables left out as hidden (the adapter's own).
    pub(crate) hidden: Vec<String>,
}

/// A scalar, or the `value` of `{value, display_value}`.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Object(obj) => obj.get("value").and_then(scalar),
        other => scalar(other),
    }
}

fn flag_of(value: Option<&Value>) -> bool {
    value
        .and_then(text_of)
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

/// The type code of a variable (`6` or `"6"`), else from its `friendly_type`.
fn type_code(v: &serde_json::Map<String, Value>) -> Option<i64> {
    if let Some(code) = v
        .get("type")
        .and_then(text_of)
        .and_then(|t| t.trim().parse().ok())
    {
        return Some(code);
    }
    let friendly = v.get("friendly_type").and_then(text_of)?;
    Some(match friendly.as_str() {
        "yes_no" => YES_NO,
        "boolean" | "checkbox" => CHECK_BOX,
        "numeric_scale" => NUMERIC_SCALE,
        "multiple_choice" => 3,
        "select_box" => 5,
        "label" => 11,
        "break" => 12,
        "container_start" => 19,
        "container_end" => 20,
        "container_split" => 24,
        _ => 6,
    })
}

fn variable_of(value: &Value) -> Option<Variable> {
    let v = value.as_object()?;
    let name = v.get("name").and_then(text_of)?;
    let code = type_code(v).unwrap_or(6);
    if LAYOUT_TYPES.contains(&code) {
        return None;
    }
    let kind = match code {
        YES_NO | CHECK_BOX => InputKind::Boolean,
        NUMERIC_SCALE => InputKind::Number,
        c if CHOICE_TYPES.contains(&c) => {
            let options: Vec<String> = v
                .get("choices")
                .and_then(Value::as_array)
                .map(|choices| {
                    choices
                        .iter()
                        .filter_map(|c| c.get("value").and_then(text_of))
                        .collect()
                })
                .unwrap_or_default();
            if options.is_empty() {
                InputKind::Text
            } else {
                InputKind::Choice { options }
            }
        }
        _ => InputKind::Text,
    };
    Some(Variable {
        spec: InputSpec {
            name,
            label: v.get("label").and_then(text_of),
            kind,
            required: flag_of(v.get("mandatory")),
        },
        yes_no: code == YES_NO,
    })
}

fn ids_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|c| match c {
                Value::Object(o) => o.get("sys_id").or_else(|| o.get("value")).and_then(text_of),
                other => text_of(other),
            })
            .collect(),
        Some(Value::Object(o)) => o
            .get("sys_id")
            .or_else(|| o.get("value"))
            .and_then(text_of)
            .into_iter()
            .collect(),
        Some(other) => text_of(other).into_iter().collect(),
        None => Vec::new(),
    }
}

impl ItemDetail {
    /// Reads an item; `None` without a sys_id. Variables named in `hidden` are left out.
    pub(crate) fn from_record(r: &Record, hidden: impl Fn(&str) -> bool) -> Option<ItemDetail> {
        let sys_id = r.sys_id()?;
        let mut categories = ids_of(r.0.get("categories"));
        for id in ids_of(r.0.get("category")) {
            if !categories.contains(&id) {
                categories.push(id);
            }
        }
        type Ordered = Vec<(i64, Variable)>;
        let (hidden_vars, mut variables): (Ordered, Ordered) =
            r.0.get("variables")
                .and_then(Value::as_array)
                .map(|vars| {
                    vars.iter()
                        .filter_map(|v| {
                            let order = v
                                .get("order")
                                .and_then(text_of)
                                .and_then(|o| o.parse().ok());
                            variable_of(v).map(|var| (order.unwrap_or(0), var))
                        })
                        .partition(|(_, var)| hidden(&var.spec.name))
                })
                .unwrap_or_default();
        variables.sort_by_key(|(order, _)| *order);
        Some(ItemDetail {
            name: r.value("name").unwrap_or_else(|| sys_id.clone()),
            description: r
                .value("short_description")
                .or_else(|| r.value("description"))
                .unwrap_or_default(),
            sys_id,
            categories,
            variables: variables.into_iter().map(|(_, v)| v).collect(),
            hidden: hidden_vars.into_iter().map(|(_, v)| v.spec.name).collect(),
        })
    }

    /// The inputs of the offering.
    pub(crate) fn inputs(&self) -> Vec<InputSpec> {
        self.variables.iter().map(|v| v.spec.clone()).collect()
    }

    /// `inputs` as the variables of an order (every value a string).
    pub(crate) fn variable_values(
        &self,
        inputs: &BTreeMap<String, InputValue>,
    ) -> serde_json::Map<String, Value> {
        inputs
            .iter()
            .map(|(name, value)| {
                let yes_no = self
                    .variables
                    .iter()
                    .any(|v| v.yes_no && &v.spec.name == name);
                let text = match value {
                    InputValue::Boolean(b) if yes_no => if *b { "Yes" } else { "No" }.to_owned(),
                    other => other.to_string(),
                };
                (name.clone(), Value::String(text))
            })
            .collect()
    }

    /// The inputs of a requested item from its stored variable values (unknown and empty
    /// ones left out; a value that does not fit its type is kept as text).
    pub(crate) fn inputs_of(
        &self,
        stored: &BTreeMap<String, String>,
    ) -> BTreeMap<String, InputValue> {
        let mut out = BTreeMap::new();
        for var in &self.variables {
            let Some(text) = stored.get(&var.spec.name).filter(|t| !t.trim().is_empty()) else {
                continue;
            };
            let value = match &var.spec.kind {
                InputKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" => InputValue::Boolean(true),
                    "false" | "no" | "0" => InputValue::Boolean(false),
                    _ => InputValue::Text(text.clone()),
                },
                InputKind::Number => text
                    .trim()
                    .parse::<f64>()
                    .map_or_else(|_| InputValue::Text(text.clone()), InputValue::Number),
                _ => InputValue::Text(text.clone()),
            };
            out.insert(var.spec.name.clone(), value);
        }
        out
    }
}

/// The snake_case name of a state, as written in transition markers.
pub(crate) fn state_name(state: RequestState) -> &'static str {
    match state {
        RequestState::Submitted => "submitted",
        RequestState::Triaged => "triaged",
        RequestState::InProgress => "in_progress",
        RequestState::WaitingOnRequester => "waiting_on_requester",
        RequestState::Fulfilled => "fulfilled",
        RequestState::Rejected => "rejected",
        RequestState::Cancelled => "cancelled",
    }
}

fn state_of(name: &str) -> Option<RequestState> {
    crate::config::RequestStates::ALL
        .into_iter()
        .find(|s| state_name(*s) == name.trim())
}

/// The urgency's name (`high`, `medium`, `low`).
pub(crate) fn urgency_name(urgency: Urgency) -> &'static str {
    match urgency {
        Urgency::High => "high",
        Urgency::Medium => "medium",
        Urgency::Low => "low",
    }
}

/// The urgency of a stored name (medium when unknown).
pub(crate) fn urgency_of(text: Option<&str>) -> Urgency {
    match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        Some("high" | "1") => Urgency::High,
        Some("low" | "3") => Urgency::Low,
        _ => Urgency::Medium,
    }
}

/// A person from the text written for them (`Name <email>` or `Name`).
pub(crate) fn person_of(text: &str) -> Option<Person> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.strip_suffix('>').and_then(|t| t.rsplit_once(" <")) {
        Some((name, email)) => Some(Person::named(name.trim()).with_email(email)),
        None => Some(Person::named(text)),
    }
}

const STATE_MARKER: &str = "[itsm state=";

/// The work note recording a move to `to`: the note, then a marker line.
pub(crate) fn transition_note(to: RequestState, by: &Person, note: Option<&str>) -> String {
    let marker = format!(
        "{STATE_MARKER}{} by={}]",
        state_name(to),
        by.to_string().replace([']', '\n'], " ")
    );
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(note) => format!("{note}\n\n{marker}"),
        None => marker,
    }
}

/// A recorded move read from a work note: state, who, note.
pub(crate) fn parse_transition(
    value: &str,
) -> Option<(RequestState, Option<Person>, Option<String>)> {
    let at = value.rfind(STATE_MARKER)?;
    let inner = value[at + STATE_MARKER.len()..]
        .trim_end()
        .strip_suffix(']')?;
    let (state, by) = match inner.split_once(" by=") {
        Some((s, by)) => (s, person_of(by)),
        None => (inner, None),
    };
    let note = value[..at].trim();
    Some((
        state_of(state)?,
        by,
        (!note.is_empty()).then(|| note.to_owned()),
    ))
}

/// A comment's text and author read from a `comments` entry (the marker removed).
pub(crate) fn parse_comment(value: &str) -> (String, Option<Person>) {
    let (text, _, by) = journal::split(value);
    (text, by.as_deref().and_then(person_of))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item() -> ItemDetail {
        let r = Record::from_value(json!({
            "sys_id": "abc",
            "name": "New database",
            "short_description": "A managed database",
            "categories": [{"sys_id": "cat1", "title": "Databases"}],
            "category": {"sys_id": "cat2"},
            "variables": [
                {"name": "engine", "label": "Engine", "type": 5, "mandatory": true, "order": 200,
                 "choices": [{"index": 0, "label": "PostgreSQL", "value": "postgres"}, {"label": "MariaDB", "value": "mariadb"}]},
                {"name": "name", "label": "Name", "type": "6", "mandatory": "true", "order": "100"},
                {"name": "backups", "type": 1, "order": 300},
                {"name": "size", "friendly_type": "numeric_scale", "order": 400},
                {"name": "heading", "type": 11, "order": 50},
                {"name": "itsm_key", "type": 6, "order": 900},
                {"label": "no name", "type": 6}
            ]
        }))
        .unwrap();
        ItemDetail::from_record(&r, |n| n == "itsm_key").unwrap()
    }

    #[test]
    fn variables_become_typed_inputs_in_form_order() {
        let item = item();
        assert_eq!(item.categories, ["cat1", "cat2"]);
        assert_eq!(item.hidden, ["itsm_key"]);
        let names: Vec<&str> = item
            .variables
            .iter()
            .map(|v| v.spec.name.as_str())
            .collect();
        assert_eq!(names, ["name", "engine", "backups", "size"]);
        assert_eq!(item.variables[0].spec.kind, InputKind::Text);
        assert!(item.variables[0].spec.required);
        assert_eq!(
            item.variables[1].spec.kind,
            InputKind::Choice {
                options: vec!["postgres".into(), "mariadb".into()]
            }
        );
        assert_eq!(item.variables[2].spec.kind, InputKind::Boolean);
        assert!(item.variables[2].yes_no && !item.variables[2].spec.required);
        assert_eq!(item.variables[3].spec.kind, InputKind::Number);
    }

    #[test]
    fn values_round_trip_through_variable_text() {
        let item = item();
        let inputs: BTreeMap<String, InputValue> = [
            ("name", InputValue::Text("orders".into())),
            ("backups", InputValue::Boolean(true)),
            ("size", InputValue::Number(20.0)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let sent = item.variable_values(&inputs);
        assert_eq!(sent.get("backups"), Some(&json!("Yes")));
        assert_eq!(sent.get("size"), Some(&json!("20")));
        let stored: BTreeMap<String, String> = sent
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .chain([
                ("engine".to_owned(), String::new()),
                ("other".to_owned(), "x".to_owned()),
            ])
            .collect();
        assert_eq!(item.inputs_of(&stored), inputs);
    }

    #[test]
    fn transitions_and_comments_round_trip() {
        let by = Person::named("Ada").with_email("ada@example.com");
        let note = transition_note(RequestState::WaitingOnRequester, &by, Some("need the size"));
        assert_eq!(
            parse_transition(&note),
            Some((
                RequestState::WaitingOnRequester,
                Some(by.clone()),
                Some("need the size".into())
            ))
        );
        let bare = transition_note(RequestState::Fulfilled, &Person::named("x"), None);
        assert_eq!(
            parse_transition(&bare),
            Some((RequestState::Fulfilled, Some(Person::named("x")), None))
        );
        assert_eq!(parse_transition("a plain work note"), None);
        assert_eq!(parse_transition("[itsm state=unknown by=x]"), None);
        let key = itsm_core::IdempotencyKey::new("c-1").unwrap();
        let comment = journal::with_marker("Done?", &key, Some("Ada"));
        assert_eq!(
            parse_comment(&comment),
            ("Done?".into(), Some(Person::named("Ada")))
        );
        assert_eq!(urgency_of(Some("HIGH")), Urgency::High);
        assert_eq!(urgency_of(None), Urgency::Medium);
        assert_eq!(person_of("  "), None);
    }
}
