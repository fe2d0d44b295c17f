//! Property tests of the generic JSON alert parser (`POST /v1/alerts`): arbitrary bytes
//! and mutated valid alerts never panic; whatever is refused is an `InvalidInput` error
//! whose message says what is wrong; unknown fields added to a valid alert change nothing.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-incident --test prop_generic`.

use itsm_core::time::OffsetDateTime;
use itsm_core::{Error, ErrorKind};
use itsm_incident::Alert;
use itsm_incident::inbound::{ParseOptions, generic};
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

/// Every field of the documented example (docs/alerts.md).
fn full() -> Value {
    json!({
        "status": "firing",
        "service": "checkout",
        "name": "HighErrorRate",
        "summary": "Error rate above 5%",
        "severity": "critical",
        "tenant": "acme",
        "dedup_key": "checkout-errors-2026-11-22T02:09Z",
        "description": "checkout 5xx ratio is 7.2% over 5m",
        "labels": {"region": "eu-west-1"},
        "links": [{"label": "dashboard", "url": "https://grafana.example/d/checkout"}],
        "starts_at": "2026-11-22T02:09:05Z",
        "ends_at": null
    })
}

/// The required fields only, and an array of two alerts.
fn samples() -> Vec<Value> {
    let minimal = json!({"status": "resolved", "service": "payments", "name": "Down", "summary": "payments is down"});
    vec![full(), minimal.clone(), json!([full(), minimal])]
}

fn received_at() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
}

fn parse(body: &[u8]) -> Result<Vec<Alert>, Error> {
    generic::parse(body, &ParseOptions::default(), received_at())
}

fn check_refusal(e: &Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
    let message = e.message();
    prop_assert!(!message.trim().is_empty());
    prop_assert!(
        message.starts_with("body is not JSON")
            || message.starts_with("not a generic alert")
            || message.starts_with("alert "),
        "the message names nothing: {}",
        message
    );
    Ok(())
}

fn check_alerts(alerts: &[Alert]) -> Result<(), TestCaseError> {
    for alert in alerts {
        prop_assert!(!alert.service.as_str().trim().is_empty());
        prop_assert!(!alert.name.trim().is_empty());
        prop_assert!(!alert.summary.trim().is_empty());
        prop_assert!(!alert.dedup_key.as_str().is_empty());
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
    fn mutated_alerts_are_read_or_refused_with_a_reason(
        value in select(samples()).prop_flat_map(fuzz::mutated_json),
    ) {
        let body = serde_json::to_vec(&value).unwrap();
        if let Ok(alerts) = parse(&body) {
            let sent = value.as_array().map_or(1, Vec::len);
            prop_assert_eq!(alerts.len(), sent);
        }
        check(&body)?;
    }

    #[test]
    fn byte_mutations_never_panic(
        body in select(samples())
            .prop_flat_map(|v| fuzz::mutated_bytes(serde_json::to_vec_pretty(&v).unwrap())),
    ) {
        check(&body)?;
    }

    #[test]
    fn unknown_fields_change_nothing(
        (base, value) in select(samples()).prop_flat_map(|base| {
            let at: Vec<&str> = match &base {
                Value::Array(_) => vec!["/0", "/1", "/0/links/0"],
                _ if base.get("links").is_some() => vec!["", "/links/0"],
                _ => vec![""],
            };
            let mutated = fuzz::with_unknown_fields(base.clone(), &at);
            (Just(base), mutated)
        }),
    ) {
        let expected = parse(&serde_json::to_vec(&base).unwrap()).unwrap();
        let got = parse(&serde_json::to_vec(&value).unwrap());
        prop_assert_eq!(got.as_ref().ok(), Some(&expected), "{:?}", got);
    }

    #[test]
    fn a_missing_or_empty_required_field_is_named(
        field in select(vec!["status", "service", "name", "summary"]),
        how in select(vec!["missing", "empty", "blank"]),
    ) {
        let mut value = full();
        match how {
            "missing" => { value.as_object_mut().unwrap().remove(field); }
            "empty" => value[field] = json!(""),
            _ => value[field] = json!("  \t"),
        }
        let e = parse(&serde_json::to_vec(&value).unwrap()).unwrap_err();
        check_refusal(&e)?;
        prop_assert!(e.message().contains(field), "{} does not name {}", e, field);
    }
}
