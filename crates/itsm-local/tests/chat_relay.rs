//! The chat relay against a loopback webhook: delivered on 2xx, kept on failure, and the
//! webhook URL (whose path is the token) never shown.

mod common;

use itsm_core::{ErrorKind, IdempotencyKey, Notification, NotificationTopic, Notifier, Recipient};
use itsm_http::{RetryPolicy, SecretString};
use itsm_local::ChatRelay;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN_PATH: &str = "/services/T0001/B0002/s3cr3tT0k3n";

fn notification(key: &str) -> Notification {
    Notification {
        key: IdempotencyKey::new(key).unwrap(),
        topic: NotificationTopic::IncidentOpened,
        recipients: vec![Recipient::Role("incident-manager".into())],
        subject: format!("checkout down ({key})"),
        body: "5xx above 5%".into(),
        links: vec![],
        about: vec![],
    }
}

fn relay(store: &itsm_local::LocalStore, server: &MockServer) -> ChatRelay {
    let url = SecretString::from(format!("{}{TOKEN_PATH}", server.uri()));
    ChatRelay::with_retry(store.clone(), url, RetryPolicy::none()).unwrap()
}

#[tokio::test]
async fn delivered_notifications_are_posted_once_and_marked() {
    let (_dir, store, _clock) = common::store();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(2)
        .mount(&server)
        .await;
    store.notify(&notification("n1")).await.unwrap();
    store.notify(&notification("n2")).await.unwrap();
    let relay = relay(&store, &server);
    let report = relay.relay_pending().await.unwrap();
    assert_eq!((report.delivered, report.failed), (2, 0));
    // Nothing left: a second pass posts nothing (the mock expects exactly two posts).
    let report = relay.relay_pending().await.unwrap();
    assert_eq!((report.delivered, report.failed), (0, 0));
    let requests = server.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["text"], "*checkout down (n1)*\n5xx above 5%");
    let outbox = store.outbox().await.unwrap();
    assert!(
        outbox
            .iter()
            .all(|e| e.delivered_at.is_some() && e.attempts == 1),
        "{outbox:?}"
    );
}

#[tokio::test]
async fn failures_keep_the_notification_with_attempts_and_a_redacted_error() {
    let (_dir, store, _clock) = common::store();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string(TOKEN_PATH))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    store.notify(&notification("n1")).await.unwrap();
    let relay = relay(&store, &server);
    for attempt in 1..=2 {
        let report = relay.relay_pending().await.unwrap();
        assert_eq!((report.delivered, report.failed), (0, 1));
        let entry = &store.outbox().await.unwrap()[0];
        assert_eq!(entry.attempts, attempt);
        assert_eq!(entry.delivered_at, None);
        let why = entry.last_error.as_deref().unwrap();
        assert!(why.contains("HTTP 500"), "{why}");
        assert!(!why.contains("s3cr3t"), "{why}");
    }
    // The webhook recovers: the kept notification goes out.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let report = relay.relay_pending().await.unwrap();
    assert_eq!((report.delivered, report.failed), (1, 0));
    let entry = &store.outbox().await.unwrap()[0];
    assert_eq!((entry.attempts, entry.last_error.as_deref()), (3, None));
}

#[tokio::test]
async fn an_unreachable_webhook_keeps_everything() {
    let (_dir, store, _clock) = common::store();
    // A loopback port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    store.notify(&notification("n1")).await.unwrap();
    let url = SecretString::from(format!("http://127.0.0.1:{port}{TOKEN_PATH}"));
    let relay = ChatRelay::with_retry(store.clone(), url, RetryPolicy::none()).unwrap();
    let report = relay.relay_pending().await.unwrap();
    assert_eq!(report.failed, 1);
    let entry = &store.outbox().await.unwrap()[0];
    let why = entry.last_error.as_deref().unwrap();
    assert!(why.contains("could not be reached"), "{why}");
    assert!(
        !why.contains("s3cr3t") && !why.contains(&port.to_string()),
        "{why}"
    );
}

#[tokio::test]
async fn the_webhook_url_is_absent_from_debug_and_errors() {
    let (_dir, store, _clock) = common::store();
    let server = MockServer::start().await;
    let relay = relay(&store, &server);
    let debug = format!("{relay:?}");
    assert!(
        !debug.contains("s3cr3t") && !debug.contains("T0001"),
        "{debug}"
    );
    assert!(debug.contains("[REDACTED]"), "{debug}");

    for bad in ["ftp://hooks.example/s3cr3t", "not a url s3cr3t", "/s3cr3t"] {
        let err = ChatRelay::new(store.clone(), SecretString::from(bad)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let text = format!("{err} {err:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}
