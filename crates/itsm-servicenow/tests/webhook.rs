//! The `servicenow` webhook source: authentication over the raw delivery and the documented
//! payload (`tests/fixtures/webhook_incident_update.json`).

use itsm_core::time::macros::datetime;
use itsm_incident::inbound::webhook::{WebhookHeaders, WebhookRejection, WebhookSource};
use itsm_incident::{Priority, Side, SyncChange};
use itsm_servicenow::{ServiceNowConfig, ServiceNowWebhook};

fn body() -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/webhook_incident_update.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn basic_source() -> ServiceNowWebhook {
    let mut config = ServiceNowConfig::default();
    config.webhook.username = Some("itsm-webhook".into());
    config.webhook.password = Some("hook-s3cret".to_owned().into());
    ServiceNowWebhook::from_config(&config).unwrap()
}

fn auth(value: &str) -> WebhookHeaders {
    WebhookHeaders::new()
        .with("Authorization", value)
        .with("Content-Type", "application/json")
}

#[test]
fn basic_and_bearer_credentials_are_checked() {
    let source = basic_source();
    assert_eq!(source.name(), "servicenow");
    assert_eq!(source.side(), Side::Ticketing);
    // itsm-webhook:hook-s3cret
    let good = auth("Basic aXRzbS13ZWJob29rOmhvb2stczNjcmV0");
    assert_eq!(source.verify(&good, &body()), Ok(()));
    for bad in [
        "Basic aXRzbS13ZWJob29rOndyb25n",
        "Bearer hook-s3cret",
        "Basic aXRzbS13ZWJob29rOmhvb2stczNjcmV0X",
        "",
    ] {
        let rejected = source.verify(&auth(bad), &body()).unwrap_err();
        assert_eq!(rejected.status(), 401, "{bad}");
        assert!(!rejected.reason().contains("s3cret"), "{rejected}");
    }
    assert!(matches!(
        source.verify(&WebhookHeaders::new(), &body()),
        Err(WebhookRejection::Unauthorized(_))
    ));

    let mut config = ServiceNowConfig::default();
    config.webhook.token = Some("tok-123".to_owned().into());
    let bearer = ServiceNowWebhook::from_config(&config).unwrap();
    assert_eq!(bearer.verify(&auth("Bearer tok-123"), &body()), Ok(()));
    assert!(bearer.verify(&auth("Bearer tok-124"), &body()).is_err());
    assert!(!format!("{bearer:?}").contains("tok-123"));
    assert!(ServiceNowWebhook::from_config(&ServiceNowConfig::default()).is_err());
}

#[test]
fn the_documented_payload_gives_one_event_per_changed_field() {
    let delivery = basic_source()
        .parse(&WebhookHeaders::new(), &body())
        .unwrap();
    assert_eq!(delivery.delivery_id, "3f2a9c1e6f1b4c1d9a0e2b7c5d4e8f10");
    let changes: Vec<&SyncChange> = delivery.events.iter().map(|e| &e.change).collect();
    assert_eq!(
        changes.len(),
        4,
        "short_description maps to nothing: {changes:?}"
    );
    assert_eq!(changes[0], &SyncChange::Acknowledged);
    match changes[1] {
        SyncChange::NoteAdded { note } => {
            assert_eq!(note.text, "Rolled back to 1.4.1");
            assert_eq!(
                note.author.as_ref().map(|p| p.name.as_str()),
                Some("ada.lovelace")
            );
        }
        other => panic!("expected a note, got {other:?}"),
    }
    assert_eq!(
        changes[2],
        &SyncChange::PriorityChanged {
            priority: Priority::P1
        }
    );
    assert!(
        matches!(changes[3], SyncChange::Reassigned { team } if team.as_str() == "team-payments")
    );
    let event = &delivery.events[0];
    assert_eq!(
        event.key.as_ref().map(|k| k.as_str()),
        Some("alertmanager/checkout/HighLatency")
    );
    assert_eq!(event.occurred_at, datetime!(2026-05-01 10:05:00 UTC));
    assert_eq!(event.actor.as_deref(), Some("ada.lovelace"));
    let ids: std::collections::BTreeSet<&str> = delivery
        .events
        .iter()
        .map(|e| e.delivery_id.as_str())
        .collect();
    assert_eq!(ids.len(), 4, "each event of one delivery has its own id");
    assert!(
        ids.iter()
            .all(|id| id.starts_with("3f2a9c1e6f1b4c1d9a0e2b7c5d4e8f10#"))
    );
}

#[test]
fn resolved_states_carry_the_close_notes_and_foreign_incidents_are_ignored() {
    let source = basic_source();
    let resolved =
        br#"{"delivery_id":"d1","correlation_id":"k1","sys_updated_on":"2026-05-01 11:00:00",
        "changed":["state"],"state":"6","close_notes":"Fixed by rollback"}"#;
    let delivery = source.parse(&WebhookHeaders::new(), resolved).unwrap();
    assert_eq!(delivery.events.len(), 1);
    assert_eq!(delivery.events[0].delivery_id, "d1");
    assert_eq!(
        delivery.events[0].change,
        SyncChange::Resolved {
            notes: Some("Fixed by rollback".into())
        }
    );
    let foreign = br#"{"delivery_id":"d2","correlation_id":"","sys_updated_on":"2026-05-01 11:00:00","changed":["state"],"state":"6"}"#;
    assert!(
        source
            .parse(&WebhookHeaders::new(), foreign)
            .unwrap()
            .events
            .is_empty()
    );
}

#[test]
fn malformed_deliveries_are_refused_with_the_reason() {
    let source = basic_source();
    for (body, reason) in [
        (&b"not json"[..], "not JSON"),
        (b"[1,2]", "not a JSON object"),
        (br#"{"correlation_id":"k"}"#, "delivery_id"),
        (
            br#"{"delivery_id":"d","correlation_id":"k","sys_updated_on":"yesterday"}"#,
            "sys_updated_on",
        ),
    ] {
        let err = source.parse(&WebhookHeaders::new(), body).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.reason().contains(reason), "{err}");
    }
    // Arbitrary bytes are refused, not a panic.
    for junk in [&[0xff, 0xfe][..], b"{\"changed\": [1, null, {}]}", b"{}"] {
        assert!(source.parse(&WebhookHeaders::new(), junk).is_err());
    }
}
