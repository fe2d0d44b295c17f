//! Property tests of the Jira webhook source: `X-Hub-Signature` checks (random secrets and
//! bodies, one-byte changes, arbitrary header text) and parsing (arbitrary bytes, mutations
//! of Atlassian's documented payloads, unknown fields). Nothing panics; every refusal is the
//! right rejection with a reason that holds no secret.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-jira --test prop_webhook`.

use itsm_http::{SecretString, hmac_sha256_hex};
use itsm_incident::inbound::webhook::{
    WebhookDelivery, WebhookHeaders, WebhookRejection, WebhookSource,
};
use itsm_jira::{DELIVERY_HEADER, JiraWebhook, SIGNATURE_HEADER};
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value;

const PAYLOADS: [&str; 3] = [
    include_str!("fixtures/webhook-issue-updated.json"),
    include_str!("fixtures/webhook-issue-updated-summary.json"),
    include_str!("fixtures/webhook-comment-created.json"),
];

/// Every generated secret starts with this, so a leak is easy to spot.
const SECRET_PREFIX: &str = "jira-secret-";

fn payload(i: usize) -> Value {
    serde_json::from_str(PAYLOADS[i]).expect("fixture is JSON")
}

fn secret() -> impl Strategy<Value = String> {
    "[ -~]{1,40}".prop_map(|s| format!("{SECRET_PREFIX}{s}"))
}

fn source(secret: &str) -> JiraWebhook {
    JiraWebhook::with_secret(Some(SecretString::from(secret.to_owned())), "itsm-")
}

fn signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hmac_sha256_hex(&SecretString::from(secret.to_owned()), body)
    )
}

fn unauthorized(rejection: &WebhookRejection) -> Result<(), TestCaseError> {
    fuzz::check_unauthorized(rejection, SECRET_PREFIX)
}

fn check_parsed(parsed: &Result<WebhookDelivery, WebhookRejection>) -> Result<(), TestCaseError> {
    fuzz::check_delivery(parsed, |e| e.key.is_some())
}

/// Parses with a delivery id header when `id` is set, else the id is derived from the body.
fn parse(body: &[u8], id: Option<&str>) -> Result<WebhookDelivery, WebhookRejection> {
    let headers = match id {
        Some(id) => WebhookHeaders::new().with(DELIVERY_HEADER, id),
        None => WebhookHeaders::new(),
    };
    JiraWebhook::with_secret(None, "itsm-").parse(&headers, body)
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn a_signature_verifies_and_a_one_byte_change_to_the_body_does_not(
        secret in secret(),
        body in fuzz::arbitrary_bytes(512).prop_filter("a byte to change", |b| !b.is_empty()),
        at in any::<Index>(),
        flip in 1u8..=255,
    ) {
        let source = source(&secret);
        let headers = WebhookHeaders::new().with(SIGNATURE_HEADER, signature(&secret, &body));
        prop_assert_eq!(source.verify(&headers, &body), Ok(()));
        let mut changed = body.clone();
        changed[at.index(body.len())] ^= flip;
        unauthorized(&source.verify(&headers, &changed).unwrap_err())?;
    }

    #[test]
    fn a_one_character_change_to_the_signature_fails(
        secret in secret(),
        body in fuzz::arbitrary_bytes(256),
        at in 0usize..71,
        with in select(vec!['+', '-', ' ', 'g', 'x', '0', 'f', '=', '\u{e9}']),
    ) {
        let good = signature(&secret, &body);
        let bad: String = good
            .chars()
            .enumerate()
            .map(|(i, c)| if i == at { with } else { c })
            .collect();
        prop_assume!(!bad.eq_ignore_ascii_case(&good));
        let headers = WebhookHeaders::new().with(SIGNATURE_HEADER, bad);
        unauthorized(&source(&secret).verify(&headers, &body).unwrap_err())?;
    }

    #[test]
    fn arbitrary_signature_headers_are_unauthorized(
        secret in secret(),
        body in fuzz::arbitrary_bytes(256),
        value in prop::option::of(".{0,80}|sha256=.{0,70}|sha256=[0-9a-f]{64}"),
    ) {
        let headers = match &value {
            Some(v) => WebhookHeaders::new().with(SIGNATURE_HEADER, v.clone()),
            None => WebhookHeaders::new(),
        };
        unauthorized(&source(&secret).verify(&headers, &body).unwrap_err())?;
    }

    #[test]
    fn arbitrary_bytes_are_malformed_with_a_reason(body in fuzz::arbitrary_bytes(1024)) {
        let parsed = parse(&body, None);
        prop_assert!(parsed.is_err(), "{:?}", parsed);
        check_parsed(&parsed)?;
    }

    #[test]
    fn arbitrary_json_never_panics(value in fuzz::arbitrary_json(), id in prop::option::of(".{0,20}")) {
        let parsed = parse(value.to_string().as_bytes(), id.as_deref());
        prop_assert_eq!(parsed.is_ok(), value.is_object(), "{:?}", parsed);
        check_parsed(&parsed)?;
    }

    #[test]
    fn mutated_payloads_are_read_or_refused_with_a_reason(
        value in (0..PAYLOADS.len()).prop_flat_map(|i| fuzz::mutated_json(payload(i))),
    ) {
        check_parsed(&parse(&serde_json::to_vec(&value).unwrap(), None))?;
    }

    #[test]
    fn byte_mutations_never_panic(
        body in (0..PAYLOADS.len())
            .prop_flat_map(|i| fuzz::mutated_bytes(PAYLOADS[i].as_bytes().to_vec())),
    ) {
        check_parsed(&parse(&body, Some("delivery-1")))?;
    }

    #[test]
    fn unknown_fields_change_nothing(
        (i, value) in (0..PAYLOADS.len()).prop_flat_map(|i| {
            let base = payload(i);
            let at: Vec<&str> = ["", "/user", "/issue", "/issue/fields", "/changelog", "/changelog/items/0", "/comment"]
                .into_iter()
                .filter(|p| base.pointer(p).is_some_and(Value::is_object))
                .collect();
            (Just(i), fuzz::with_unknown_fields(base.clone(), &at))
        }),
    ) {
        let expected = parse(PAYLOADS[i].as_bytes(), Some("delivery-1")).unwrap();
        let got = parse(&serde_json::to_vec(&value).unwrap(), Some("delivery-1"));
        prop_assert_eq!(got.as_ref().ok(), Some(&expected), "{:?}", got);
    }
}
