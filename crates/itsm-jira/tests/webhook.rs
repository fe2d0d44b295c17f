//! The Jira webhook source: signature checks over the raw body and parsing of Atlassian's
//! documented issue_updated / comment_created payloads.

use itsm_http::{SecretString, hmac_sha256_hex};
use itsm_incident::inbound::webhook::{WebhookHeaders, WebhookRejection, WebhookSource};
use itsm_incident::{Priority, Side, SyncChange};
use itsm_jira::JiraWebhook;

fn body(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn secret() -> SecretString {
    SecretString::from("it's-a-secret-to-everybody")
}

fn signed(body: &[u8]) -> WebhookHeaders {
    WebhookHeaders::new()
        .with(
            "X-Hub-Signature",
            format!("sha256={}", hmac_sha256_hex(&secret(), body)),
        )
        .with("X-Atlassian-Webhook-Identifier", "a1b2c3-delivery")
}

#[test]
fn a_good_signature_passes_and_bad_ones_are_401() {
    let source = JiraWebhook::with_secret(Some(secret()), "itsm-");
    assert_eq!(source.name(), "jira");
    assert_eq!(source.side(), Side::Ticketing);
    let b = body("webhook-issue-updated.json");
    source.verify(&signed(&b), &b).unwrap();
    let mut tampered = b.clone();
    tampered.push(b' ');
    let err = source.verify(&signed(&b), &tampered).unwrap_err();
    assert_eq!(err.status(), 401);
    let err = source.verify(&WebhookHeaders::new(), &b).unwrap_err();
    assert!(matches!(err, WebhookRejection::Unauthorized(_)));
    let wrong_form = WebhookHeaders::new().with("X-Hub-Signature", hmac_sha256_hex(&secret(), &b));
    assert_eq!(source.verify(&wrong_form, &b).unwrap_err().status(), 401);
    let other_secret = WebhookHeaders::new().with(
        "X-Hub-Signature",
        format!(
            "sha256={}",
            hmac_sha256_hex(&SecretString::from("other"), &b)
        ),
    );
    let err = source.verify(&other_secret, &b).unwrap_err();
    assert!(!err.reason().contains("secret-to-everybody"));
    // Without a secret every delivery is accepted.
    JiraWebhook::with_secret(None, "itsm-")
        .verify(&WebhookHeaders::new(), &b)
        .unwrap();
}

#[test]
fn issue_updated_gives_acknowledged_priority_and_team_changes() {
    let source = JiraWebhook::with_secret(Some(secret()), "itsm-");
    let b = body("webhook-issue-updated.json");
    let delivery = source.parse(&signed(&b), &b).unwrap();
    assert_eq!(delivery.delivery_id, "a1b2c3-delivery");
    let changes: Vec<&SyncChange> = delivery.events.iter().map(|e| &e.change).collect();
    assert_eq!(
        changes,
        [
            &SyncChange::Acknowledged,
            &SyncChange::PriorityChanged {
                priority: Priority::P1
            },
            &SyncChange::Reassigned {
                team: itsm_core::TeamId::new("payments").unwrap()
            },
        ]
    );
    let ids: Vec<&str> = delivery
        .events
        .iter()
        .map(|e| e.delivery_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "a1b2c3-delivery#0",
            "a1b2c3-delivery#1",
            "a1b2c3-delivery#2"
        ]
    );
    let first = &delivery.events[0];
    assert_eq!(
        first.key.as_ref().map(|k| k.as_str()),
        Some("alert/checkout-latency")
    );
    assert_eq!(first.actor.as_deref(), Some("Paul Rothrock"));
    assert_eq!(first.occurred_at.unix_timestamp(), 1_536_083_559);
}

#[test]
fn comment_created_gives_a_note() {
    let source = JiraWebhook::with_secret(None, "itsm-");
    let b = body("webhook-comment-created.json");
    let delivery = source.parse(&WebhookHeaders::new(), &b).unwrap();
    assert_eq!(delivery.events.len(), 1);
    match &delivery.events[0].change {
        SyncChange::NoteAdded { note } => {
            assert_eq!(note.text, "Rollback is done, watching the graphs");
            assert_eq!(
                note.author.as_ref().map(|p| p.name.as_str()),
                Some("Paul Rothrock")
            );
        }
        other => panic!("expected a note, got {other:?}"),
    }
    // Without the identifier header the id is a hash of the body plus the timestamp.
    assert!(
        delivery.delivery_id.starts_with("sha256-"),
        "{}",
        delivery.delivery_id
    );
    assert!(
        delivery.delivery_id.ends_with("-1536083600000"),
        "{}",
        delivery.delivery_id
    );
    let again = source.parse(&WebhookHeaders::new(), &b).unwrap();
    assert_eq!(again.delivery_id, delivery.delivery_id);
}

#[test]
fn unmapped_changes_and_foreign_issues_give_no_events_and_junk_is_malformed() {
    let source = JiraWebhook::with_secret(None, "itsm-");
    let b = body("webhook-issue-updated-summary.json");
    assert!(
        source
            .parse(&WebhookHeaders::new(), &b)
            .unwrap()
            .events
            .is_empty()
    );
    let foreign = String::from_utf8(body("webhook-issue-updated.json"))
        .unwrap()
        .replace("itsm-key:alert/checkout-latency", "customer-label");
    let d = source
        .parse(&WebhookHeaders::new(), foreign.as_bytes())
        .unwrap();
    assert!(d.events.is_empty(), "{d:?}");
    for junk in [&b"not json"[..], b"[1,2]", b"", &[0xff, 0xfe][..]] {
        let err = source.parse(&WebhookHeaders::new(), junk).unwrap_err();
        assert_eq!(err.status(), 400);
    }
    let odd = br#"{"webhookEvent":"jira:issue_updated","changelog":{"items":[{"field":7}]},"issue":{"fields":{"labels":["itsm-key:k"]}}}"#;
    assert!(
        source
            .parse(&WebhookHeaders::new(), odd)
            .unwrap()
            .events
            .is_empty()
    );
}

#[test]
fn debug_hides_the_secret() {
    let source = JiraWebhook::with_secret(Some(secret()), "itsm-");
    let shown = format!("{source:?}");
    assert!(!shown.contains("secret-to-everybody"), "{shown}");
}
