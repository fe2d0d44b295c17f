//! Property tests of the `servicenow` webhook source: credentials (random Basic and bearer
//! credentials, one-byte changes, arbitrary `Authorization` text) and parsing (arbitrary
//! bytes, mutations of the documented delivery, unknown fields). Nothing panics; every
//! refusal is the right rejection with a reason that holds no credential.
//!
//! More cases: `PROPTEST_CASES=10000 cargo test -p itsm-servicenow --test prop_webhook`.

use itsm_incident::inbound::webhook::{
    WebhookDelivery, WebhookHeaders, WebhookRejection, WebhookSource,
};
use itsm_servicenow::{ServiceNowConfig, ServiceNowWebhook};
use itsm_testkit::fuzz;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

const DELIVERY: &str = include_str!("fixtures/webhook_incident_update.json");

/// Every generated password or token starts with this, so a leak is easy to spot.
const SECRET_PREFIX: &str = "pw-";

fn base() -> Value {
    serde_json::from_str(DELIVERY).expect("fixture is JSON")
}

fn basic(user: &str, password: &str) -> ServiceNowWebhook {
    let mut config = ServiceNowConfig::default();
    config.webhook.username = Some(user.to_owned());
    config.webhook.password = Some(password.to_owned().into());
    ServiceNowWebhook::from_config(&config).unwrap()
}

fn bearer(token: &str) -> ServiceNowWebhook {
    let mut config = ServiceNowConfig::default();
    config.webhook.token = Some(token.to_owned().into());
    ServiceNowWebhook::from_config(&config).unwrap()
}

/// Standard base64, written out here so that the test does not trust the code under test.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn auth(value: &str) -> WebhookHeaders {
    WebhookHeaders::new().with("Authorization", value)
}

fn unauthorized(rejection: &WebhookRejection) -> Result<(), TestCaseError> {
    fuzz::check_unauthorized(rejection, SECRET_PREFIX)
}

fn check_parsed(parsed: &Result<WebhookDelivery, WebhookRejection>) -> Result<(), TestCaseError> {
    fuzz::check_delivery(parsed, |e| e.key.is_some())
}

fn parse(body: &[u8]) -> Result<WebhookDelivery, WebhookRejection> {
    bearer("pw-x").parse(&WebhookHeaders::new(), body)
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn the_configured_credentials_verify_and_a_one_byte_change_does_not(
        user in "[a-z.]{1,16}",
        password in "[ -~]{0,24}".prop_map(|p| format!("{SECRET_PREFIX}{p}")),
        at in any::<Index>(),
        flip in 1u8..=127,
    ) {
        let source = basic(&user, &password);
        let good = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
        prop_assert_eq!(source.verify(&auth(&good), b"{}"), Ok(()));
        let padded = format!("  {good} ");
        prop_assert_eq!(source.verify(&auth(&padded), b"{}"), Ok(()));
        let mut bytes = good.clone().into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assume!(changed.trim() != good);
        unauthorized(&source.verify(&auth(&changed), b"{}").unwrap_err())?;

        let token = password;
        let source = bearer(&token);
        prop_assert_eq!(source.verify(&auth(&format!("Bearer {}", token.trim())), b"{}"), Ok(()));
        unauthorized(&source.verify(&auth(&format!("Basic {}", token.trim())), b"{}").unwrap_err())?;
    }

    #[test]
    fn arbitrary_authorization_text_is_unauthorized(
        token in "[A-Za-z0-9]{1,24}".prop_map(|t| format!("{SECRET_PREFIX}{t}")),
        values in proptest::collection::vec(".{0,60}|Bearer .{0,40}|Basic [A-Za-z0-9+/=]{0,40}", 0..3),
        body in fuzz::arbitrary_bytes(128),
    ) {
        let headers = values.iter().fold(WebhookHeaders::new(), |h, v| h.with("Authorization", v.clone()));
        let expected = format!("Bearer {token}");
        let verified = bearer(&token).verify(&headers, &body);
        if headers.get("authorization").is_some_and(|v| v.trim() == expected) {
            prop_assert_eq!(verified, Ok(()));
        } else {
            unauthorized(&verified.unwrap_err())?;
        }
    }

    #[test]
    fn arbitrary_bytes_are_malformed_with_a_reason(body in fuzz::arbitrary_bytes(1024)) {
        let parsed = parse(&body);
        prop_assert!(parsed.is_err(), "{:?}", parsed);
        check_parsed(&parsed)?;
    }

    #[test]
    fn arbitrary_json_never_panics(value in fuzz::arbitrary_json()) {
        check_parsed(&parse(value.to_string().as_bytes()))?;
    }

    #[test]
    fn mutated_deliveries_are_read_or_refused_with_a_reason(value in fuzz::mutated_json(base())) {
        check_parsed(&parse(&serde_json::to_vec(&value).unwrap()))?;
    }

    #[test]
    fn byte_mutations_never_panic(body in fuzz::mutated_bytes(DELIVERY.as_bytes().to_vec())) {
        check_parsed(&parse(&body))?;
    }

    #[test]
    fn unknown_fields_change_nothing(value in fuzz::with_unknown_fields(base(), &["", "/vendor_extra"])) {
        let expected = parse(DELIVERY.as_bytes()).unwrap();
        prop_assert_eq!(expected.events.len(), 4);
        let got = parse(&serde_json::to_vec(&value).unwrap());
        prop_assert_eq!(got.as_ref().ok(), Some(&expected), "{:?}", got);
    }
}
