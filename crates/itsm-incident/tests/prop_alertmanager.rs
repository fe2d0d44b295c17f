//! Property tests of the Alertmanager webhook parser: arbitrary bytes and mutated captured
//! payloads never panic; whatever is refused is an `InvalidInput` error whose message says
//! what is wrong; unknown fields added to a valid payload change nothing.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-incident --test prop_alertmanager`.

use itsm_core::{Error, ErrorKind};
use itsm_incident::Alert;
use itsm_incident::inbound::{ParseOptions, alertmanager};
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

const SAMPLES: [&str; 3] = [
    include_str!("fixtures/alertmanager/webhook-sample.json"),
    include_str!("fixtures/alertmanager/webhook-sample-resolved.json"),
    include_str!("fixtures/alertmanager/webhook-sample-grouped-2-alerts.json"),
];

fn sample(i: usize) -> Value {
    serde_json::from_str(SAMPLES[i]).expect("fixture is JSON")
}

/// A sample and a mutation of it.
fn mutated_sample() -> impl Strategy<Value = Value> {
    (0..SAMPLES.len()).prop_flat_map(|i| fuzz::mutated_json(sample(i)))
}

fn parse(body: &[u8]) -> Result<Vec<Alert>, Error> {
    alertmanager::parse(body, &ParseOptions::default())
}

/// A refusal says what is wrong: the body, the version, or which alert and field.
fn check_refusal(e: &Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
    let message = e.message();
    prop_assert!(!message.trim().is_empty());
    prop_assert!(
        message.starts_with("not an Alertmanager webhook body")
            || message.contains("version")
            || message.starts_with("alerts["),
        "the message names nothing: {}",
        message
    );
    Ok(())
}

/// What is accepted is usable: a service, a key of the Alertmanager form, a name.
fn check_alerts(alerts: &[Alert]) -> Result<(), TestCaseError> {
    for alert in alerts {
        prop_assert!(!alert.service.as_str().trim().is_empty());
        prop_assert!(alert.dedup_key.as_str().starts_with("alertmanager:"));
        prop_assert!(!alert.name.trim().is_empty());
    }
    Ok(())
}

fn check(body: &[u8]) -> Result<(), TestCaseError> {
    match parse(body) {
        Ok(alerts) => check_alerts(&alerts),
        Err(e) => check_refusal(&e),
    }
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn arbitrary_bytes_are_refused_with_a_reason(body in fuzz::arbitrary_bytes(1024)) {
        check(&body)?;
    }

    #[test]
    fn json_looking_text_never_panics(text in fuzz::json_like_text(64)) {
        check(text.as_bytes())?;
    }

    #[test]
    fn arbitrary_json_never_panics(value in fuzz::arbitrary_json()) {
        check(value.to_string().as_bytes())?;
    }

    #[test]
    fn mutated_payloads_are_read_or_refused_with_a_reason(value in mutated_sample()) {
        let body = serde_json::to_vec(&value).unwrap();
        let parsed = parse(&body);
        if let Ok(alerts) = &parsed {
            // Everything accepted came from the payload's alerts, one alert each.
            let sent = value.get("alerts").and_then(Value::as_array).map_or(0, Vec::len);
            prop_assert_eq!(alerts.len(), sent);
        }
        check(&body)?;
    }

    #[test]
    fn byte_mutations_of_payloads_never_panic(
        body in (0..SAMPLES.len())
            .prop_flat_map(|i| fuzz::mutated_bytes(SAMPLES[i].as_bytes().to_vec())),
    ) {
        check(&body)?;
    }

    #[test]
    fn unknown_fields_change_nothing(
        (i, value) in (0..SAMPLES.len()).prop_flat_map(|i| {
            let base = sample(i);
            let mut at = vec![String::new()];
            let alerts = base["alerts"].as_array().map_or(0, Vec::len);
            at.extend((0..alerts).map(|a| format!("/alerts/{a}")));
            let at: Vec<&str> = at.iter().map(String::as_str).collect();
            (Just(i), fuzz::with_unknown_fields(base.clone(), &at))
        }),
    ) {
        let expected = parse(SAMPLES[i].as_bytes()).unwrap();
        let got = parse(&serde_json::to_vec(&value).unwrap());
        prop_assert_eq!(got.as_ref().ok(), Some(&expected), "{:?}", got);
    }

    #[test]
    fn a_bad_field_is_named(
        i in 0..SAMPLES.len(),
        field in select(vec!["status", "startsAt", "endsAt"]),
        bad in prop_oneof![Just(Value::Null), Just(Value::from(7)), "[a-z]{1,8}".prop_map(Value::from)],
    ) {
        let mut value = sample(i);
        value["alerts"][0][field] = bad.clone();
        match parse(&serde_json::to_vec(&value).unwrap()) {
            // A null end or a word that happens to be a valid value is fine.
            Ok(alerts) => check_alerts(&alerts)?,
            Err(e) => {
                check_refusal(&e)?;
                prop_assert!(
                    e.message().contains(field) || e.message().contains("not an Alertmanager"),
                    "{} does not name {}", e, field
                );
            }
        }
    }
}
