//! What the example's tests share: a Tickety server and an adapter pointed at it.
#![allow(dead_code)]

use std::time::Duration;

use custom_adapter::adapter::{Tickety, TicketyConfig};
use custom_adapter::server::TicketyServer;
use itsm_http::RetryPolicy;

/// The token the test server accepts (tests assert it never leaks).
pub(crate) const TOKEN: &str = "tk_live_8f3a91c2d4e5-example-token";

/// Retries as in production, but with millisecond backoff so tests do not wait.
pub(crate) fn quick_retry() -> RetryPolicy {
    RetryPolicy::new(4, Duration::from_secs(5))
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

/// A fresh Tickety on a free loopback port, and the adapter configured for it.
pub(crate) async fn tickety() -> (TicketyServer, Tickety) {
    let server = TicketyServer::start(TOKEN)
        .await
        .expect("bind a loopback port");
    let config = TicketyConfig::new(server.base_url(), TOKEN).with_retry(quick_retry());
    let adapter = Tickety::new(config).expect("a valid configuration");
    (server, adapter)
}
