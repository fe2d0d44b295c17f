//! The specialist domain's records: offerings and their inputs, requests and their lifecycle.

use std::collections::BTreeMap;
use std::fmt;

use itsm_core::{Error, ExternalRef, IdempotencyKey, Person, TeamId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

itsm_core::define_id!(
    /// An offering's id (`dba.new-database`, a ServiceNow catalog item sys_id, a JSM request type id).
    OfferingId, "offering id"
);
itsm_core::define_id!(
    /// A request's id in its system (a RITM sys_id, a Jira issue key).
    RequestId, "request id"
);

/// The type of one input an offering asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum InputKind {
    /// Free text.
    Text,
    /// One of a fixed list.
    Choice {
        /// The allowed values.
        options: Vec<String>,
    },
    /// A number.
    Number,
    /// Yes or no.
    Boolean,
}

/// One input an offering asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    /// Field name (`database_name`).
    pub name: String,
    /// What a person sees.
    #[serde(default)]
    pub label: Option<String>,
    /// Its type.
    #[serde(flatten)]
    pub kind: InputKind,
    /// Whether a request must carry it.
    #[serde(default)]
    pub required: bool,
}

/// A value given for an input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InputValue {
    /// Yes or no.
    Boolean(bool),
    /// A number.
    Number(f64),
    /// Text, or one of a choice's options.
    Text(String),
}

impl fmt::Display for InputValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputValue::Boolean(b) => write!(f, "{b}"),
            InputValue::Number(n) => write!(f, "{n}"),
            InputValue::Text(t) => f.write_str(t),
        }
    }
}

/// A service a specialist team offers (S1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offering {
    /// Its id.
    pub id: OfferingId,
    /// The specialist team that owns it (its queue receives the requests).
    pub team: TeamId,
    /// Short name.
    pub name: String,
    /// What it provides.
    #[serde(default)]
    pub description: String,
    /// What a request must carry.
    #[serde(default)]
    pub inputs: Vec<InputSpec>,
    /// Target time to first response, in minutes.
    pub response_target_minutes: u32,
    /// Target time to fulfilment, in minutes.
    pub resolution_target_minutes: u32,
    /// Fulfilled by a registered automation instead of a person (S3).
    #[serde(default)]
    pub automated: bool,
}

impl Offering {
    /// Checks request inputs against the offering: every required input present, no unknown
    /// input, every value of the right type. The error names the input.
    pub fn validate_inputs(&self, inputs: &BTreeMap<String, InputValue>) -> itsm_core::Result<()> {
        for spec in &self.inputs {
            match inputs.get(&spec.name) {
                None if spec.required => {
                    return Err(Error::invalid_input(format!(
                        "offering {} needs the input {:?}; add it",
                        self.id, spec.name
                    )));
                }
                None => {}
                Some(value) => check_value(&self.id, spec, value)?,
            }
        }
        if let Some(unknown) = inputs
            .keys()
            .find(|k| !self.inputs.iter().any(|s| &s.name == *k))
        {
            let known: Vec<&str> = self.inputs.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::invalid_input(format!(
                "offering {} has no input {unknown:?}; its inputs are {known:?}",
                self.id
            )));
        }
        Ok(())
    }
}

fn check_value(
    offering: &OfferingId,
    spec: &InputSpec,
    value: &InputValue,
) -> itsm_core::Result<()> {
    let ok = match (&spec.kind, value) {
        (InputKind::Text, InputValue::Text(t)) => !(spec.required && t.trim().is_empty()),
        (InputKind::Choice { options }, InputValue::Text(t)) => options.contains(t),
        (InputKind::Number, InputValue::Number(n)) => n.is_finite(),
        (InputKind::Boolean, InputValue::Boolean(_)) => true,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let expected = match &spec.kind {
        InputKind::Text if spec.required => "non-empty text".to_owned(),
        InputKind::Text => "text".to_owned(),
        InputKind::Choice { options } => format!("one of {options:?}"),
        InputKind::Number => "a finite number".to_owned(),
        InputKind::Boolean => "true or false".to_owned(),
    };
    Err(Error::invalid_input(format!(
        "input {:?} of offering {offering} must be {expected}; got {value}",
        spec.name
    )))
}

/// How urgent a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Blocking production.
    High,
    /// Needed soon.
    Medium,
    /// Whenever.
    Low,
}

/// A request's lifecycle state (S2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Submitted, not looked at yet.
    Submitted,
    /// Looked at by the specialist team (first response).
    Triaged,
    /// Being worked.
    InProgress,
    /// Waiting for the requester.
    WaitingOnRequester,
    /// Done.
    Fulfilled,
    /// Refused.
    Rejected,
    /// Withdrawn by the requester.
    Cancelled,
}

impl RequestState {
    /// Whether the request is over.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RequestState::Fulfilled | RequestState::Rejected | RequestState::Cancelled
        )
    }

    /// Whether moving from `self` to `to` is a legal transition.
    pub fn can_move_to(self, to: RequestState) -> bool {
        use RequestState::*;
        match (self, to) {
            (from, _) if from.is_terminal() => false,
            (_, Cancelled) | (_, Rejected) => true,
            (Submitted, Triaged | InProgress | Fulfilled) => true,
            (Triaged, InProgress | WaitingOnRequester | Fulfilled) => true,
            (InProgress, WaitingOnRequester | Fulfilled) => true,
            (WaitingOnRequester, InProgress | Fulfilled) => true,
            _ => false,
        }
    }
}

/// A comment on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// Who wrote it.
    pub author: Person,
    /// The text.
    pub text: String,
    /// When it was written.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
}

/// One recorded lifecycle move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The state entered.
    pub to: RequestState,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who moved it (a person, or the automation).
    #[serde(default)]
    pub by: Option<Person>,
    /// Why (a rejection reason, an automation failure).
    #[serde(default)]
    pub note: Option<String>,
}

/// A request to a specialist team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecialistRequest {
    /// Its id.
    pub id: RequestId,
    /// The number a person quotes (`RITM0010001`, `DBA-12`), when the system has one.
    #[serde(default)]
    pub number: Option<String>,
    /// The key it was submitted with, when known.
    #[serde(default)]
    pub key: Option<IdempotencyKey>,
    /// What is requested.
    pub offering: OfferingId,
    /// The team whose queue holds it.
    pub team: TeamId,
    /// The requesting team.
    pub requester: TeamId,
    /// Who submitted it.
    #[serde(default)]
    pub submitted_by: Option<Person>,
    /// The inputs given.
    #[serde(default)]
    pub inputs: BTreeMap<String, InputValue>,
    /// Urgency.
    pub urgency: Urgency,
    /// Current state.
    pub state: RequestState,
    /// Every state move, oldest first.
    #[serde(default)]
    pub transitions: Vec<Transition>,
    /// Comments, oldest first.
    #[serde(default)]
    pub comments: Vec<Comment>,
    /// The request in its system.
    #[serde(default)]
    pub external: Option<ExternalRef>,
    /// When it was submitted.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
}

/// What is needed to submit a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRequest {
    /// What is requested.
    pub offering: OfferingId,
    /// The requesting team.
    pub requester: TeamId,
    /// Who submits it.
    #[serde(default)]
    pub submitted_by: Option<Person>,
    /// The inputs (checked with [`Offering::validate_inputs`]).
    #[serde(default)]
    pub inputs: BTreeMap<String, InputValue>,
    /// Urgency.
    pub urgency: Urgency,
}

/// Which requests to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFilter {
    /// Only this specialist team's queue.
    pub team: Option<TeamId>,
    /// Only requests from this team.
    pub requester: Option<TeamId>,
    /// Only this offering.
    pub offering: Option<OfferingId>,
    /// Only these states (empty = any).
    #[serde(default)]
    pub states: Vec<RequestState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offering() -> Offering {
        Offering {
            id: OfferingId::new("dba.new-database").unwrap(),
            team: TeamId::new("dba").unwrap(),
            name: "New database".into(),
            description: String::new(),
            inputs: vec![
                InputSpec {
                    name: "name".into(),
                    label: None,
                    kind: InputKind::Text,
                    required: true,
                },
                InputSpec {
                    name: "engine".into(),
                    label: None,
                    kind: InputKind::Choice {
                        options: vec!["postgres".into(), "mariadb".into()],
                    },
                    required: true,
                },
                InputSpec {
                    name: "size_gb".into(),
                    label: None,
                    kind: InputKind::Number,
                    required: false,
                },
            ],
            response_target_minutes: 60,
            resolution_target_minutes: 480,
            automated: true,
        }
    }

    fn inputs(pairs: &[(&str, InputValue)]) -> BTreeMap<String, InputValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn inputs_are_checked_and_errors_name_the_input() {
        let o = offering();
        let good = inputs(&[
            ("name", InputValue::Text("orders".into())),
            ("engine", InputValue::Text("postgres".into())),
        ]);
        o.validate_inputs(&good).unwrap();

        let missing = inputs(&[("name", InputValue::Text("orders".into()))]);
        let e = o.validate_inputs(&missing).unwrap_err().to_string();
        assert!(e.contains("needs the input \"engine\""), "{e}");

        let wrong = inputs(&[
            ("name", InputValue::Text("orders".into())),
            ("engine", InputValue::Text("oracle".into())),
        ]);
        let e = o.validate_inputs(&wrong).unwrap_err().to_string();
        assert!(e.contains("\"engine\"") && e.contains("one of"), "{e}");

        let mistyped = inputs(&[
            ("name", InputValue::Text("orders".into())),
            ("engine", InputValue::Text("mariadb".into())),
            ("size_gb", InputValue::Text("ten".into())),
        ]);
        let e = o.validate_inputs(&mistyped).unwrap_err().to_string();
        assert!(
            e.contains("\"size_gb\"") && e.contains("a finite number"),
            "{e}"
        );

        let unknown = inputs(&[
            ("name", InputValue::Text("orders".into())),
            ("engine", InputValue::Text("mariadb".into())),
            ("colour", InputValue::Text("blue".into())),
        ]);
        let e = o.validate_inputs(&unknown).unwrap_err().to_string();
        assert!(e.contains("no input \"colour\""), "{e}");
    }

    #[test]
    fn lifecycle_allows_only_legal_moves() {
        use RequestState::*;
        assert!(Submitted.can_move_to(Triaged));
        assert!(Triaged.can_move_to(WaitingOnRequester));
        assert!(WaitingOnRequester.can_move_to(InProgress));
        assert!(InProgress.can_move_to(Fulfilled));
        assert!(Submitted.can_move_to(Cancelled));
        assert!(!Submitted.can_move_to(WaitingOnRequester));
        assert!(!Fulfilled.can_move_to(InProgress));
        assert!(!Rejected.can_move_to(Cancelled));
        assert!(!InProgress.can_move_to(Submitted));
    }
}
