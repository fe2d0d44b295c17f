//! `itsm specialist request`: inputs from flags or JSON, typed by the offering, then submit.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use itsm_core::{Error, ErrorKind, IdempotencyKey, Person, Result, TeamId};
use itsm_specialist::{
    Automation, CatalogFile, InputKind, InputValue, NewRequest, Offering, OfferingId,
    SpecialistCatalog, Urgency,
};
use serde_json::json;

use super::args::RequestArgs;
use super::text;
use crate::cli::Output;
use crate::exit;
use crate::output::emit;

/// A request's flags, checked for form.
#[derive(Debug)]
pub(super) struct Parsed {
    offering: OfferingId,
    requester: TeamId,
    /// `--input` pairs, typed later by the offering.
    flags: Vec<(String, String)>,
    /// `--inputs-json` values.
    json: BTreeMap<String, InputValue>,
    urgency: Urgency,
    by: Option<Person>,
    key: IdempotencyKey,
}

/// Checks the flags' form (nothing is opened yet); `file` is the configured catalog, when
/// one is, to refuse an unknown offering early.
pub(super) fn parse(a: &RequestArgs, file: Option<&CatalogFile>) -> Result<Parsed> {
    let offering = OfferingId::new(&a.offering)?;
    if let Some(file) = file
        && !file.offerings.iter().any(|o| o.id == offering)
    {
        return Err(unknown_offering(&offering));
    }
    let requester = TeamId::new(&a.requester)?;
    let mut flags = Vec::new();
    for pair in &a.inputs {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(Error::invalid_input(format!(
                "--input {pair:?} must be NAME=VALUE, e.g. --input database_name=orders"
            )));
        };
        flags.push((name.trim().to_owned(), value.to_owned()));
    }
    let json = match &a.inputs_json {
        Some(path) => read_json(path)?,
        None => BTreeMap::new(),
    };
    let key = match &a.key {
        Some(k) => IdempotencyKey::new(k)?,
        None => fresh_key(&format!("{requester}/{offering}"))?,
    };
    Ok(Parsed {
        offering,
        requester,
        flags,
        json,
        urgency: a.urgency.into(),
        by: a.by.as_deref().map(|b| Person::named(b.trim())),
        key,
    })
}

fn unknown_offering(id: &OfferingId) -> Error {
    Error::invalid_input(format!(
        "offering {id} is not in the catalog; list the offerings with `itsm specialist catalog`"
    ))
    .with_context("field", "offering")
}

fn read_json(path: &str) -> Result<BTreeMap<String, InputValue>> {
    let text = if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| {
            Error::invalid_input(format!("cannot read inputs from standard input: {e}"))
        })?;
        s
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Error::invalid_input(format!("cannot read --inputs-json {path}: {e}")))?
    };
    serde_json::from_str(&text).map_err(|e| {
        Error::invalid_input(format!(
            "--inputs-json {path} must be a JSON object of input names to strings, numbers or \
             booleans: {e}"
        ))
    })
}

/// A key unique to this process and instant.
pub(super) fn fresh_key(prefix: &str) -> Result<IdempotencyKey> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    IdempotencyKey::new(format!("cli/{prefix}/{nanos:x}-{}", std::process::id()))
}

/// Types a `--input` value by the offering's spec; unknown names stay text (the catalog then
/// names them).
fn typed(offering: &Offering, name: &str, value: &str) -> Result<InputValue> {
    let Some(spec) = offering.inputs.iter().find(|s| s.name == name) else {
        return Ok(InputValue::Text(value.to_owned()));
    };
    let wrong = |expected: &str| {
        Error::invalid_input(format!(
            "input {name:?} of offering {} must be {expected}; got {value:?}",
            offering.id
        ))
        .with_context("field", name)
    };
    match &spec.kind {
        InputKind::Text | InputKind::Choice { .. } => Ok(InputValue::Text(value.to_owned())),
        InputKind::Number => value
            .trim()
            .parse::<f64>()
            .map(InputValue::Number)
            .map_err(|_| wrong("a number")),
        InputKind::Boolean => match value.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(InputValue::Boolean(true)),
            "false" | "no" => Ok(InputValue::Boolean(false)),
            _ => Err(wrong("true or false")),
        },
    }
}

/// Submits (the catalog checks the inputs before anything is stored), runs the automation
/// when the offering has a fulfiller, and prints the outcome.
pub(super) async fn submit(
    store: &dyn SpecialistCatalog,
    automation: &Automation,
    p: Parsed,
    output: Output,
) -> Result<u8> {
    let offering = match store.get_offering(&p.offering).await {
        Ok(o) => o,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(unknown_offering(&p.offering)),
        Err(e) => return Err(e),
    };
    let mut inputs = p.json;
    for (name, value) in &p.flags {
        inputs.insert(name.clone(), typed(&offering, name, value)?);
    }
    let new = NewRequest {
        offering: p.offering,
        requester: p.requester,
        submitted_by: p.by,
        inputs,
        urgency: p.urgency,
    };
    let handled = automation.submit(&p.key, &new).await?;
    emit(output, &json!(handled), || text::handled(&handled));
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_typed_by_the_offering() {
        let file = CatalogFile::parse(include_str!(
            "../../../../../examples/specialists/catalog.toml"
        ))
        .unwrap();
        let fw = file
            .offerings
            .iter()
            .find(|o| o.id.as_str() == "network.firewall-rule")
            .unwrap();
        assert_eq!(
            typed(fw, "port", " 443").unwrap(),
            InputValue::Number(443.0)
        );
        let err = typed(fw, "port", "https").unwrap_err();
        assert!(
            err.message().contains("\"port\"") && err.message().contains("a number"),
            "{err}"
        );
        assert_eq!(
            typed(fw, "colour", "1").unwrap(),
            InputValue::Text("1".into())
        );
        let db = file
            .offerings
            .iter()
            .find(|o| o.id.as_str() == "dba.new-database")
            .unwrap();
        assert_eq!(
            typed(db, "high_availability", "yes").unwrap(),
            InputValue::Boolean(true)
        );
        assert!(typed(db, "high_availability", "maybe").is_err());
    }
}
