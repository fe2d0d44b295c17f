//! Vendor webhooks through `itsm serve`, over real HTTP on loopback: a delivery is verified
//! and parsed before anything is stored (401 / 400 store nothing), stored once however
//! often it is delivered, and applied to the other side by the sync engine over the
//! embedded store.

mod serve_support;

use std::sync::Arc;
use std::time::Duration;

use itsm_cli::serve::Server;
use itsm_core::{Clock, IdempotencyKey, ServiceId, SystemClock};
use itsm_incident::inbound::webhook::{
    WebhookDelivery, WebhookHeaders, WebhookRejection, WebhookSource,
};
use itsm_incident::{
    Assignment, IncidentState, IncidentSystem, NewIncident, Priority, ServiceKind, Side,
    SyncChange, SyncEngine, SyncEvent, SyncSettings,
};
use itsm_local::LocalStore;
use serde::Deserialize;
use serve_support::{TestProcessor, config, metric, rows, start_built};

/// A vendor whose deliveries carry `x-test-token: letmein` and a small JSON body.
#[derive(Debug)]
struct TestVendor;

#[derive(Deserialize)]
struct Body {
    id: String,
    key: String,
    change: String,
}

impl WebhookSource for TestVendor {
    fn name(&self) -> &str {
        "testvendor"
    }

    fn side(&self) -> Side {
        Side::Paging
    }

    fn verify(&self, headers: &WebhookHeaders, _body: &[u8]) -> Result<(), WebhookRejection> {
        match headers.get("x-test-token") {
            Some("letmein") => Ok(()),
            _ => Err(WebhookRejection::Unauthorized(
                "missing or wrong x-test-token".into(),
            )),
        }
    }

    fn parse(
        &self,
        _headers: &WebhookHeaders,
        body: &[u8],
    ) -> Result<WebhookDelivery, WebhookRejection> {
        let body: Body = serde_json::from_slice(body)
            .map_err(|e| WebhookRejection::Malformed(format!("not a test delivery: {e}")))?;
        let change = match body.change.as_str() {
            "acknowledged" => SyncChange::Acknowledged,
            "resolved" => SyncChange::Resolved { notes: None },
            _ => {
                return Ok(WebhookDelivery {
                    delivery_id: body.id,
                    events: vec![],
                });
            }
        };
        let key = IdempotencyKey::new(&body.key)
            .map_err(|e| WebhookRejection::Malformed(e.to_string()))?;
        Ok(WebhookDelivery {
            delivery_id: body.id.clone(),
            events: vec![SyncEvent {
                delivery_id: body.id,
                side: Side::Paging,
                key: Some(key),
                page: None,
                occurred_at: time::OffsetDateTime::now_utc(),
                actor: Some("Ana".into()),
                change,
            }],
        })
    }
}

async fn post(url: &str, token: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().post(url).body(body.to_owned());
    if let Some(token) = token {
        request = request.header("X-Test-Token", token);
    }
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

fn sync_rows(queue: &std::path::Path) -> usize {
    rows(queue)
        .iter()
        .filter(|r| r.item.sync_event().is_some())
        .count()
}

#[tokio::test]
async fn a_delivery_is_verified_parsed_stored_once_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = LocalStore::open(dir.path().join("itsm.db"), clock.clone()).unwrap();
    let key = IdempotencyKey::new("generic/checkout-errors").unwrap();
    let incident = store
        .create_incident(
            &key,
            &NewIncident {
                summary: "checkout 5xx above 5%".into(),
                description: String::new(),
                priority: Priority::P2,
                assignment: Assignment {
                    service: ServiceId::new("checkout").unwrap(),
                    kind: ServiceKind::DigitalService,
                    team: None,
                },
                tenant: None,
                links_to: vec![],
                links: vec![],
            },
        )
        .await
        .unwrap();
    let shared = Arc::new(store.clone());
    let engine = SyncEngine::new(
        shared.clone(),
        shared.clone(),
        shared,
        clock,
        SyncSettings::default(),
    );
    let queue = dir.path().join("queue.db");
    let server = start_built(
        Server::builder(config(queue.clone()))
            .processor(TestProcessor::new())
            .webhook(Arc::new(TestVendor))
            .sync_engine(Arc::new(engine)),
        queue.clone(),
    )
    .await;
    let url = server.url("/v1/webhooks/testvendor");
    let ack = r#"{"id":"D1","key":"generic/checkout-errors","change":"acknowledged"}"#;

    let (status, body) = post(&url, None, ack).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["message"], "missing or wrong x-test-token");
    let (status, _) = post(&url, Some("wrong"), ack).await;
    assert_eq!(status, 401);
    let (status, body) = post(&url, Some("letmein"), "{not json").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("not a test delivery")
    );
    assert_eq!(sync_rows(&queue), 0, "a refused delivery was stored");

    let (status, body) = post(&url, Some("letmein"), ack).await;
    assert_eq!((status, body["queued"].as_u64()), (202, Some(1)));
    let (status, body) = post(&url, Some("letmein"), ack).await;
    assert_eq!(
        (status, body["queued"].as_u64()),
        (202, Some(0)),
        "redelivery"
    );
    assert_eq!(
        sync_rows(&queue),
        1,
        "a redelivered webhook was stored twice"
    );

    let mut state = IncidentState::New;
    for _ in 0..1000 {
        state = store.get_incident(&incident.id).await.unwrap().state;
        if state == IncidentState::Acknowledged {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        state,
        IncidentState::Acknowledged,
        "the page's ack did not reach the ticket"
    );

    let ignored = r#"{"id":"D2","key":"generic/checkout-errors","change":"escalated"}"#;
    let (status, body) = post(&url, Some("letmein"), ignored).await;
    assert_eq!((status, body["queued"].as_u64()), (202, Some(0)));

    let (status, body) = post(&server.url("/v1/webhooks/nobody"), Some("letmein"), ack).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["message"],
        "no webhook source \"nobody\" is configured; configured: testvendor"
    );

    let metrics = || async {
        reqwest::get(server.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let mut text = metrics().await;
    // The outcome is counted just after the engine's write: poll for it.
    for _ in 0..500 {
        if metric(&text, "itsm_sync_events_total{outcome=\"applied\"}") == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        text = metrics().await;
    }
    let count = |labels: &str| metric(&text, &format!("itsm_webhook_deliveries_total{{{labels}}}"));
    assert_eq!(count("result=\"unauthorized\""), 2.0);
    assert_eq!(count("result=\"malformed\""), 1.0);
    assert_eq!(count("result=\"accepted\""), 2.0);
    assert_eq!(count("result=\"duplicate\""), 1.0);
    let applied = metric(&text, "itsm_sync_events_total{outcome=\"applied\"}");
    assert_eq!(applied, 1.0, "{text}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn two_sources_with_one_name_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = Server::builder(config(dir.path().join("queue.db")))
        .webhook(Arc::new(TestVendor))
        .webhook(Arc::new(TestVendor))
        .bind()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("two webhook sources are named \"testvendor\""),
        "{err}"
    );
}
