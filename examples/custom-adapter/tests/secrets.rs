//! The API token never shows in `Debug` output or error text.

mod common;

use custom_adapter::adapter::{Tickety, TicketyConfig};
use itsm_core::{ErrorKind, IdempotencyKey};
use itsm_incident::{IncidentId, IncidentSystem};

#[tokio::test]
async fn debug_output_shows_no_token() {
    let (server, tickety) = common::tickety().await;
    let config = TicketyConfig::new(server.base_url(), common::TOKEN);
    for text in [format!("{config:?}"), format!("{tickety:?}")] {
        assert!(!text.contains(common::TOKEN), "{text}");
        assert!(text.contains("REDACTED"), "{text}");
    }
}

#[tokio::test]
async fn a_wrong_token_is_unauthenticated_and_named_by_neither_token() {
    let (server, _) = common::tickety().await;
    let wrong = "tk_live_0000-wrong-token";
    let config = TicketyConfig::new(server.base_url(), wrong).with_retry(common::quick_retry());
    let tickety = Tickety::new(config).unwrap();
    let err = tickety
        .get_incident(&IncidentId::new("TCK-1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("401"), "{text}");
    assert!(text.contains("check the configured credentials"), "{text}");
    assert!(!text.contains(wrong), "{text}");
    assert!(!text.contains(common::TOKEN), "{text}");
    let err = tickety
        .find_incident_by_key(&IdempotencyKey::new("secrets/k").unwrap())
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains(wrong));
}

#[test]
fn an_empty_token_is_refused_before_anything_is_sent() {
    let config = TicketyConfig::new("http://127.0.0.1:9/".parse().unwrap(), "");
    let err = Tickety::new(config).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("API token is empty"), "{err}");
}
