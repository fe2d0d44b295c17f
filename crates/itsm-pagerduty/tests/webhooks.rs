//! Webhooks v3: signature verification and parsing of the documented example payloads.

mod common;

use common::fixture;
use itsm_core::{IdempotencyKey, TeamId};
use itsm_http::hmac_sha256_hex;
use itsm_incident::inbound::webhook::{WebhookHeaders, WebhookRejection, WebhookSource};
use itsm_incident::{Priority, Side, SyncChange};
use itsm_pagerduty::PagerDutyWebhooks;
use secrecy::SecretString;
use serde_json::{Value, json};
use time::macros::datetime;

const OLD: &str = "whsec-old-ROTATED-out";
const NEW: &str = "whsec-new-CURRENT";

fn source() -> PagerDutyWebhooks {
    PagerDutyWebhooks::new(
        vec![SecretString::from(OLD), SecretString::from(NEW)],
        vec![("PUS0KTE".to_owned(), TeamId::new("payments").unwrap())],
    )
}

fn sign(secret: &str, body: &[u8]) -> String {
    format!("v1={}", hmac_sha256_hex(&SecretString::from(secret), body))
}

fn signed(signature: &str) -> WebhookHeaders {
    WebhookHeaders::new()
        .with("Content-Type", "application/json")
        .with("X-PagerDuty-Signature", signature)
}

/// A webhook body of `event_type` around `data`, like the documented envelope.
fn envelope(event_type: &str, data: Value) -> Vec<u8> {
    let mut payload = fixture("payload-incident.priority_updated.json");
    payload["event"]["event_type"] = json!(event_type);
    payload["event"]["data"] = data;
    serde_json::to_vec_pretty(&payload).unwrap()
}

#[test]
fn the_documented_priority_updated_payload_becomes_a_priority_change() {
    let body = serde_json::to_vec(&fixture("payload-incident.priority_updated.json")).unwrap();
    let headers = signed(&sign(NEW, &body));
    let source = source();
    source.verify(&headers, &body).unwrap();
    let delivery = source.parse(&headers, &body).unwrap();
    assert_eq!(delivery.delivery_id, "5ac64822-4adc-4fda-ade0-410becf0de4f");
    assert_eq!(delivery.events.len(), 1);
    let event = &delivery.events[0];
    assert_eq!(event.delivery_id, delivery.delivery_id);
    assert_eq!(event.side, Side::Paging);
    assert_eq!(
        event.key,
        Some(IdempotencyKey::new("d3640fbd41094207a1c11e58e46b1662").unwrap())
    );
    assert_eq!(event.page, None, "the key is enough");
    assert_eq!(event.occurred_at, datetime!(2020-10-02 18:45:22.169 UTC));
    assert_eq!(event.actor.as_deref(), Some("Tenex Engineer"));
    assert_eq!(
        event.change,
        SyncChange::PriorityChanged {
            priority: Priority::P1
        }
    );
    assert_eq!(source.name(), "pagerduty");
    assert_eq!(source.side(), Side::Paging);
}

#[test]
fn incident_events_map_to_sync_changes() {
    let incident = fixture("data-incident.json");
    let cases = [
        ("incident.acknowledged", Some(SyncChange::Acknowledged)),
        (
            "incident.resolved",
            Some(SyncChange::Resolved { notes: None }),
        ),
        (
            "incident.reassigned",
            Some(SyncChange::Reassigned {
                team: TeamId::new("payments").unwrap(),
            }),
        ),
        (
            "incident.delegated",
            Some(SyncChange::Reassigned {
                team: TeamId::new("payments").unwrap(),
            }),
        ),
        ("incident.triggered", None),
        ("incident.escalated", None),
        ("incident.unacknowledged", None),
        ("incident.reopened", None),
        ("incident.status_update_published", None),
        ("incident.something_new", None),
    ];
    for (event_type, expected) in cases {
        let body = envelope(event_type, incident.clone());
        let delivery = source().parse(&WebhookHeaders::new(), &body).unwrap();
        let got = delivery.events.first().map(|e| e.change.clone());
        assert_eq!(got, expected, "{event_type}");
    }
}

#[test]
fn reassignment_to_an_unmapped_policy_and_unknown_priorities_give_no_event() {
    let mut incident = fixture("data-incident.json");
    incident["escalation_policy"]["id"] = json!("PUNKNOWN");
    incident["priority"]["summary"] = json!("SEV-1");
    for event_type in ["incident.reassigned", "incident.priority_updated"] {
        let body = envelope(event_type, incident.clone());
        let delivery = source().parse(&WebhookHeaders::new(), &body).unwrap();
        assert!(delivery.events.is_empty(), "{event_type}: {delivery:?}");
    }
}

#[test]
fn notes_name_the_incident_when_the_payload_has_no_key() {
    // The documented incident_note references the incident without its key: the event
    // names the page, whose key the sync engine reads.
    let note = fixture("data-incident_note.json");
    let body = envelope("incident.annotated", note.clone());
    let delivery = source().parse(&WebhookHeaders::new(), &body).unwrap();
    assert_eq!(delivery.delivery_id, "5ac64822-4adc-4fda-ade0-410becf0de4f");
    assert_eq!(delivery.events.len(), 1, "{delivery:?}");
    assert_eq!(delivery.events[0].key, None);
    assert_eq!(
        delivery.events[0].page.as_ref().map(|p| p.as_str()),
        Some("PGR0VU2")
    );

    let mut keyed = note;
    keyed["incident"]["incident_key"] = json!("d3640fbd41094207a1c11e58e46b1662");
    let body = envelope("incident.annotated", keyed);
    let delivery = source().parse(&WebhookHeaders::new(), &body).unwrap();
    let SyncChange::NoteAdded { note } = &delivery.events[0].change else {
        panic!("{delivery:?}");
    };
    assert_eq!(note.text, "I sure am glad we are using PagerDuty!");
    assert_eq!(note.author.as_ref().unwrap().name, "Tenex Engineer");
}

#[test]
fn incidents_without_a_key_name_the_page_and_service_events_give_no_event() {
    let mut incident = fixture("data-incident.json");
    incident.as_object_mut().unwrap().remove("incident_key");
    let id = incident["id"].as_str().unwrap().to_owned();
    let body = envelope("incident.acknowledged", incident.clone());
    let events = source()
        .parse(&WebhookHeaders::new(), &body)
        .unwrap()
        .events;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].key, None);
    assert_eq!(
        events[0].page.as_ref().map(|p| p.as_str()),
        Some(id.as_str())
    );

    // Neither a key nor an incident id: nothing to sync.
    incident.as_object_mut().unwrap().remove("id");
    let body = envelope("incident.acknowledged", incident);
    assert!(
        source()
            .parse(&WebhookHeaders::new(), &body)
            .unwrap()
            .events
            .is_empty()
    );

    let body = serde_json::to_vec(&fixture("payload-service.updated.json")).unwrap();
    let delivery = source().parse(&WebhookHeaders::new(), &body).unwrap();
    assert!(!delivery.delivery_id.is_empty());
    assert!(delivery.events.is_empty());

    let body = envelope(
        "incident.responder.added",
        fixture("data-incident_responder.json"),
    );
    assert!(
        source()
            .parse(&WebhookHeaders::new(), &body)
            .unwrap()
            .events
            .is_empty()
    );
}

#[test]
fn rotated_secrets_and_several_signatures_are_accepted() {
    let body = envelope("incident.acknowledged", fixture("data-incident.json"));
    // PagerDuty signs with each of its secrets; we know only the new one.
    let header = format!("{},{}", sign("some-other-secret", &body), sign(NEW, &body));
    source().verify(&signed(&header), &body).unwrap();
    // We still know the old one, PagerDuty signs with the old only.
    source().verify(&signed(&sign(OLD, &body)), &body).unwrap();
    // Spaces after commas and upper-case hex are tolerated.
    let upper = sign(NEW, &body).to_uppercase().replace("V1=", "v1=");
    let header = format!("v1=00, {upper}");
    source().verify(&signed(&header), &body).unwrap();
}

#[test]
fn unsigned_badly_signed_or_altered_deliveries_are_unauthorized() {
    let body = envelope("incident.acknowledged", fixture("data-incident.json"));
    let source = source();
    let cases = [
        WebhookHeaders::new(),
        signed(""),
        signed(&sign("wrong-secret", &body)),
        signed(&sign(NEW, &body).replace("v1=", "v0=")),
        signed("v1=not-hex"),
        signed(&sign(NEW, b"{}")),
    ];
    for headers in cases {
        let err = source.verify(&headers, &body).unwrap_err();
        assert_eq!(err.status(), 401, "{headers:?}");
        let reason = err.reason();
        assert!(!reason.contains(NEW) && !reason.contains(OLD), "{reason}");
    }
    // One byte changed after signing.
    let mut altered = body.clone();
    altered.push(b' ');
    let err = source
        .verify(&signed(&sign(NEW, &body)), &altered)
        .unwrap_err();
    assert!(matches!(err, WebhookRejection::Unauthorized(_)));
    // No secret configured: nothing is accepted.
    let open = PagerDutyWebhooks::new(vec![], vec![]);
    assert_eq!(
        open.verify(&signed(&sign(NEW, &body)), &body)
            .unwrap_err()
            .status(),
        401
    );
}

#[test]
fn malformed_bodies_are_rejected_without_panicking() {
    let source = source();
    for body in [
        &b"not json"[..],
        b"",
        b"[]",
        b"{}",
        b"{\"event\": {}}",
        b"{\"event\": {\"id\": \"  \"}}",
        &[0xff, 0xfe, 0x00],
    ] {
        let err = source.parse(&WebhookHeaders::new(), body).unwrap_err();
        assert_eq!(err.status(), 400, "{body:?}");
    }
    // A mapped event without a usable time is malformed too.
    let mut payload = fixture("payload-incident.priority_updated.json");
    payload["event"]["occurred_at"] = json!("yesterday");
    let body = serde_json::to_vec(&payload).unwrap();
    let err = source.parse(&WebhookHeaders::new(), &body).unwrap_err();
    assert!(err.reason().contains("occurred_at"), "{err}");
    // Wrong types where strings are expected are tolerated (no event), not a panic.
    let body = envelope(
        "incident.acknowledged",
        json!({ "incident_key": 7, "priority": [] }),
    );
    assert!(
        source
            .parse(&WebhookHeaders::new(), &body)
            .unwrap()
            .events
            .is_empty()
    );
}

#[test]
fn debug_shows_no_secret() {
    let shown = format!("{:?}", source());
    assert!(!shown.contains(OLD) && !shown.contains(NEW), "{shown}");
    assert!(shown.contains("secrets: 2"), "{shown}");
}
