//! Property tests of the webhooks v3 source: signatures (random secrets and bodies, secret
//! rotation, one-byte changes, arbitrary header text) and parsing (arbitrary bytes, mutated
//! documented payloads, unknown fields). Nothing panics; every refusal is the right
//! rejection with a reason that holds no secret.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-pagerduty --test prop_webhooks`.

mod common;

use common::fixture;
use itsm_core::TeamId;
use itsm_http::hmac_sha256_hex;
use itsm_incident::inbound::webhook::{
    WebhookDelivery, WebhookHeaders, WebhookRejection, WebhookSource,
};
use itsm_pagerduty::{PagerDutyWebhooks, SIGNATURE_HEADER};
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use secrecy::SecretString;
use serde_json::{Value, json};

/// Every generated secret starts with this, so a leak is easy to spot.
const SECRET_PREFIX: &str = "whsec-";

fn secrets() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        "[A-Za-z0-9+/]{1,40}".prop_map(|s| format!("{SECRET_PREFIX}{s}")),
        1..=3,
    )
}

fn source(secrets: &[String]) -> PagerDutyWebhooks {
    PagerDutyWebhooks::new(
        secrets.iter().cloned().map(SecretString::from).collect(),
        vec![("PUS0KTE".to_owned(), TeamId::new("payments").unwrap())],
    )
}

fn sign(secret: &str, body: &[u8]) -> String {
    format!("v1={}", hmac_sha256_hex(&SecretString::from(secret), body))
}

/// The documented payload of each event type the source maps, and one it ignores.
fn payloads() -> Vec<Value> {
    let envelope = |event_type: &str, data: Value| {
        let mut payload = fixture("payload-incident.priority_updated.json");
        payload["event"]["event_type"] = json!(event_type);
        payload["event"]["data"] = data;
        payload
    };
    let incident = fixture("data-incident.json");
    let note = fixture("data-incident_note.json");
    vec![
        fixture("payload-incident.priority_updated.json"),
        fixture("payload-service.updated.json"),
        envelope("incident.acknowledged", incident.clone()),
        envelope("incident.resolved", incident.clone()),
        envelope("incident.reassigned", incident),
        envelope("incident.annotated", note),
    ]
}

fn no_secret_in(rejection: &WebhookRejection) -> Result<(), TestCaseError> {
    prop_assert!(!rejection.reason().trim().is_empty());
    prop_assert!(!rejection.reason().contains(SECRET_PREFIX), "{}", rejection);
    Ok(())
}

/// A parse result is a malformed rejection with a reason, or a usable delivery.
fn check_parsed(parsed: &Result<WebhookDelivery, WebhookRejection>) -> Result<(), TestCaseError> {
    fuzz::check_delivery(parsed, |e| e.key.is_some() || e.page.is_some())
}

fn parse(body: &[u8]) -> Result<WebhookDelivery, WebhookRejection> {
    source(&["whsec-x".to_owned()]).parse(&WebhookHeaders::new(), body)
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn any_configured_secret_among_several_signatures_verifies(
        secrets in secrets(),
        which in any::<Index>(),
        body in fuzz::arbitrary_bytes(512),
        junk in proptest::collection::vec("[0-9a-f]{64}|[ -~]{0,20}", 0..3),
        split in any::<bool>(),
    ) {
        let signer = which.get(&secrets);
        let good = sign(signer, &body);
        let mut values: Vec<String> = junk.iter().map(|j| format!("v1={j}")).collect();
        values.push(good);
        let headers = if split {
            values.iter().fold(WebhookHeaders::new(), |h, v| h.with(SIGNATURE_HEADER, v.clone()))
        } else {
            WebhookHeaders::new().with(SIGNATURE_HEADER, values.join(", "))
        };
        prop_assert_eq!(source(&secrets).verify(&headers, &body), Ok(()));
    }

    #[test]
    fn a_one_byte_change_to_the_body_is_unauthorized(
        secrets in secrets(),
        body in fuzz::arbitrary_bytes(512).prop_filter("a byte to change", |b| !b.is_empty()),
        at in any::<Index>(),
        flip in 1u8..=255,
    ) {
        let headers = WebhookHeaders::new().with(SIGNATURE_HEADER, sign(&secrets[0], &body));
        let mut changed = body.clone();
        changed[at.index(body.len())] ^= flip;
        let rejection = source(&secrets).verify(&headers, &changed).unwrap_err();
        prop_assert!(matches!(rejection, WebhookRejection::Unauthorized(_)));
        prop_assert_eq!(rejection.status(), 401);
        no_secret_in(&rejection)?;
    }

    #[test]
    fn a_one_character_change_to_the_signature_is_unauthorized(
        secrets in secrets(),
        body in fuzz::arbitrary_bytes(256),
        at in 3usize..67,
        with in select(vec!['+', '-', ' ', 'g', 'x', '0', 'f', '\u{e9}']),
    ) {
        let good = sign(&secrets[0], &body);
        let bad: String = good
            .chars()
            .enumerate()
            .map(|(i, c)| if i == at { with } else { c })
            .collect();
        prop_assume!(!bad.eq_ignore_ascii_case(&good));
        let headers = WebhookHeaders::new().with(SIGNATURE_HEADER, bad);
        let rejection = source(&secrets).verify(&headers, &body).unwrap_err();
        prop_assert!(matches!(rejection, WebhookRejection::Unauthorized(_)));
        no_secret_in(&rejection)?;
    }

    #[test]
    fn arbitrary_signature_headers_are_unauthorized(
        secrets in secrets(),
        body in fuzz::arbitrary_bytes(256),
        values in proptest::collection::vec(".{0,80}|v1=.{0,70}|v1=[0-9a-f]{64}", 0..4),
        name in select(vec![SIGNATURE_HEADER, "x-pagerduty-signature", "X-Signature"]),
    ) {
        let headers = values.iter().fold(WebhookHeaders::new(), |h, v| h.with(name, v.clone()));
        let rejection = source(&secrets).verify(&headers, &body).unwrap_err();
        prop_assert!(matches!(rejection, WebhookRejection::Unauthorized(_)));
        no_secret_in(&rejection)?;
        // Without a configured secret nothing is accepted, even a signature of the empty key.
        let signed = WebhookHeaders::new().with(SIGNATURE_HEADER, sign("", &body));
        let none = source(&[]).verify(&signed, &body).unwrap_err();
        prop_assert!(matches!(none, WebhookRejection::Unauthorized(_)));
    }

    #[test]
    fn arbitrary_bytes_are_malformed_with_a_reason(body in fuzz::arbitrary_bytes(1024)) {
        let parsed = parse(&body);
        prop_assert!(parsed.is_err(), "{:?}", parsed);
        check_parsed(&parsed)?;
    }

    #[test]
    fn arbitrary_json_never_panics(
        value in prop_oneof![
            fuzz::arbitrary_json(),
            fuzz::arbitrary_json().prop_map(|event| json!({"event": event})),
            fuzz::arbitrary_json().prop_map(|data| json!({"event": {"id": "E1", "event_type": "incident.acknowledged", "data": data}})),
        ],
    ) {
        check_parsed(&parse(value.to_string().as_bytes()))?;
    }

    #[test]
    fn mutated_payloads_are_read_or_refused_with_a_reason(
        value in select(payloads()).prop_flat_map(fuzz::mutated_json),
    ) {
        check_parsed(&parse(&serde_json::to_vec(&value).unwrap()))?;
    }

    #[test]
    fn byte_mutations_of_payloads_never_panic(
        body in select(payloads())
            .prop_flat_map(|v| fuzz::mutated_bytes(serde_json::to_vec_pretty(&v).unwrap())),
    ) {
        check_parsed(&parse(&body))?;
    }

    #[test]
    fn unknown_fields_change_nothing(
        (base, value) in select(payloads()).prop_flat_map(|base| {
            let at: Vec<&str> = ["", "/event", "/event/data", "/event/agent"]
                .into_iter()
                .filter(|p| base.pointer(p).is_some_and(Value::is_object))
                .collect();
            let mutated = fuzz::with_unknown_fields(base.clone(), &at);
            (Just(base), mutated)
        }),
    ) {
        let expected = parse(&serde_json::to_vec(&base).unwrap()).unwrap();
        let got = parse(&serde_json::to_vec(&value).unwrap());
        prop_assert_eq!(got.as_ref().ok(), Some(&expected), "{:?}", got);
    }
}
