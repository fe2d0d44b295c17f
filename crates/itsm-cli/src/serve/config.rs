//! `[serve]`: where the alert bridge listens, what it accepts, where it queues and how it
//! retries.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

/// The default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9095";
/// The default largest accepted body (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The alert bridge's settings (`[serve]` in `itsm.toml`).
///
/// ```toml
/// [serve]
/// listen = "127.0.0.1:9095"
/// max_body_bytes = 1048576
/// queue_db = "/var/lib/itsm/alert-queue.db"
/// synchronous = "full"
/// concurrency = 8
/// [serve.retry]
/// initial_backoff_ms = 1000
/// max_backoff_ms = 300000
/// max_attempts = 20
/// ```
///
/// The shared token is best given through `ITSM_SERVE_TOKEN`, not the file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The address to listen on (default [`DEFAULT_LISTEN`]); port 0 picks a free port.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The largest request body accepted; larger ones are answered 413.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// When set, requests must carry `Authorization: Bearer <token>` (401 otherwise).
    #[serde(default, deserialize_with = "secret")]
    pub token: Option<SecretString>,
    /// The queue's SQLite file (the command defaults it to `alert-queue.db` next to the
    /// local store's database).
    #[serde(default)]
    pub queue_db: Option<PathBuf>,
    /// When the queue's log is synced to disk.
    #[serde(default)]
    pub synchronous: Synchronous,
    /// How many dedup keys are processed at once (at least 1).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// How failed processing is retried.
    #[serde(default)]
    pub retry: RetryConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: default_listen(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            token: None,
            queue_db: None,
            synchronous: Synchronous::Full,
            concurrency: default_concurrency(),
            retry: RetryConfig::default(),
        }
    }
}

impl fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("queue_db", &self.queue_db)
            .field("synchronous", &self.synchronous)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .finish()
    }
}

/// When SQLite syncs the queue's write-ahead log to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// At every commit: an acknowledged alert survives a power loss. The default.
    #[default]
    Full,
    /// At checkpoints only: an acknowledged alert survives a crash of the process, but a
    /// power loss may lose the last acknowledged alerts. Opt-in, faster.
    Normal,
}

impl Synchronous {
    /// The value of `PRAGMA synchronous`.
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Retries of retryable processing failures: exponential backoff with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// The wait before the first retry, in milliseconds (default 1,000).
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// The longest wait between attempts, in milliseconds (default 300,000).
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Attempts after which a still-failing alert becomes a dead letter (default 20).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            max_attempts: default_max_attempts(),
        }
    }
}

impl RetryConfig {
    /// The wait before attempt `failed + 1`, after `failed` failed attempts (at least 1):
    /// the backend's `retry_after` when it gave one (capped at the maximum), otherwise
    /// `initial * 2^(failed-1)` capped at the maximum, with "equal jitter" (a random point
    /// in the upper half) so that many keys failing together do not retry together.
    pub fn delay(&self, failed: u32, retry_after: Option<Duration>) -> Duration {
        let max = Duration::from_millis(self.max_backoff_ms.max(1));
        if let Some(after) = retry_after {
            return after.min(max);
        }
        let shift = failed.saturating_sub(1).min(32);
        let base = self
            .initial_backoff_ms
            .max(1)
            .saturating_mul(1u64 << shift)
            .min(self.max_backoff_ms.max(1));
        let half = base / 2;
        Duration::from_millis(half + fastrand::u64(0..=base - half))
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9095))
}
fn default_max_body_bytes() -> usize {
    DEFAULT_MAX_BODY_BYTES
}
fn default_concurrency() -> usize {
    8
}
fn default_initial_backoff_ms() -> u64 {
    1_000
}
fn default_max_backoff_ms() -> u64 {
    300_000
}
fn default_max_attempts() -> u32 {
    20
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.filter(|t| !t.is_empty()).map(SecretString::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_cap() {
        let retry = RetryConfig {
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
            max_attempts: 5,
        };
        for _ in 0..50 {
            let first = retry.delay(1, None).as_millis();
            assert!((50..=100).contains(&first), "{first}");
            let third = retry.delay(3, None).as_millis();
            assert!((200..=400).contains(&third), "{third}");
            let capped = retry.delay(30, None).as_millis();
            assert!((500..=1_000).contains(&capped), "{capped}");
        }
        assert_eq!(
            retry.delay(1, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            retry.delay(1, Some(Duration::from_secs(60))),
            Duration::from_millis(1_000),
            "retry_after is capped at the maximum"
        );
    }

    #[test]
    fn token_is_redacted_in_debug() {
        let config: ServeConfig = toml::from_str("token = \"s3cr3t-token\"\n").unwrap();
        assert!(config.token.is_some());
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cr3t-token"), "{debug}");
        assert!(debug.contains("REDACTED"), "{debug}");
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }
}
