//! `[serve]`: where the alert bridge listens, what it accepts, where it queues (a SQLite
//! file, or PostgreSQL shared by several replicas) and how it retries.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use itsm_audit::postgres::redact_url;
use itsm_core::{Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

/// The default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9095";
/// The default largest accepted body (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long a replica holds a row it claimed from the PostgreSQL queue, by default.
pub const DEFAULT_QUEUE_LEASE_MS: u64 = 30_000;
/// The nice value of the alert processing threads, by default (see
/// [`ServeConfig::processing_nice`]).
pub const DEFAULT_PROCESSING_NICE: u8 = 10;

/// How often a replica looks for rows in the PostgreSQL queue, by default.
pub const DEFAULT_QUEUE_POLL_MS: u64 = 250;

/// The alert bridge's settings (`[serve]` in `itsm.toml`).
///
/// ```toml
/// [serve]
/// listen = "127.0.0.1:9095"
/// max_body_bytes = 1048576
/// queue_db = "/var/lib/itsm/alert-queue.db"
/// synchronous = "full"
/// concurrency = 8
/// processing_nice = 10        # 0 to 19; 0 processes at the same priority as accepting
/// queue = "sqlite"            # or "postgres", shared by several replicas
/// # queue_url = "postgres://itsm@127.0.0.1:5432/itsm"   # better: ITSM_SERVE_QUEUE_URL
/// # queue_schema = "itsm_serve"
/// # queue_lease_ms = 30000
/// # queue_poll_ms = 250
/// [serve.retry]
/// initial_backoff_ms = 1000
/// max_backoff_ms = 300000
/// max_attempts = 20
/// ```
///
/// The shared token is best given through `ITSM_SERVE_TOKEN`, and a queue URL holding a
/// password through `ITSM_SERVE_QUEUE_URL`, not the file; neither is ever printed.
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
    /// The nice value (0 to 19) of the threads that process queued alerts (Linux; default
    /// [`DEFAULT_PROCESSING_NICE`]): when accepting and processing compete for the CPU,
    /// accepting goes first, so that senders get their answer quickly while the backlog
    /// waits safely in the queue. `0` processes on the server's own threads at the same
    /// priority.
    #[serde(default = "default_processing_nice")]
    pub processing_nice: u8,
    /// Where the queue lives: a SQLite file (the default; one process) or PostgreSQL
    /// (several replicas share it).
    #[serde(default)]
    pub queue: QueueKind,
    /// The PostgreSQL connection URL when `queue = "postgres"`
    /// (`postgres://user@host:5432/database`); it may hold a password, so it is never
    /// printed (messages show it redacted).
    #[serde(default, deserialize_with = "secret")]
    pub queue_url: Option<SecretString>,
    /// The PostgreSQL schema holding the queue's tables, created when missing (lower-case
    /// letters, digits and `_`); default: the connection's search path (usually `public`).
    #[serde(default)]
    pub queue_schema: Option<String>,
    /// How long a replica holds a row it claimed from the PostgreSQL queue before another
    /// replica may take it, in milliseconds (default [`DEFAULT_QUEUE_LEASE_MS`]); renewed
    /// while the row is processed, so it bounds how long the rows of a killed replica wait.
    #[serde(default = "default_queue_lease_ms")]
    pub queue_lease_ms: u64,
    /// How often a replica looks in the PostgreSQL queue for rows other replicas accepted,
    /// rows whose retry is due and leases that expired, in milliseconds (default
    /// [`DEFAULT_QUEUE_POLL_MS`]).
    #[serde(default = "default_queue_poll_ms")]
    pub queue_poll_ms: u64,
}

/// Where `itsm serve` keeps its queue (`[serve] queue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueKind {
    /// A SQLite file (`queue_db`) owned by one process. The default.
    #[default]
    Sqlite,
    /// PostgreSQL (`queue_url`), shared by several replicas of `itsm serve`.
    Postgres,
}

impl QueueKind {
    /// `sqlite` or `postgres`, as configured.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueKind::Sqlite => "sqlite",
            QueueKind::Postgres => "postgres",
        }
    }
}

impl fmt::Display for QueueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
            processing_nice: DEFAULT_PROCESSING_NICE,
            queue: QueueKind::Sqlite,
            queue_url: None,
            queue_schema: None,
            queue_lease_ms: DEFAULT_QUEUE_LEASE_MS,
            queue_poll_ms: DEFAULT_QUEUE_POLL_MS,
        }
    }
}

impl ServeConfig {
    /// The PostgreSQL queue's URL with any password redacted, for messages.
    pub fn queue_url_redacted(&self) -> Option<String> {
        self.queue_url
            .as_ref()
            .map(|url| redact_url(url.expose_secret()))
    }

    /// The PostgreSQL queue's URL; a configuration error when `queue = "postgres"` has none.
    pub(crate) fn require_queue_url(&self) -> Result<&SecretString> {
        self.queue_url.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "[serve] queue = \"postgres\" needs the database: set ITSM_SERVE_QUEUE_URL \
                 (or [serve] queue_url) to e.g. postgres://itsm@127.0.0.1:5432/itsm",
            )
        })
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
            .field("processing_nice", &self.processing_nice)
            .field("queue", &self.queue)
            .field("queue_url", &self.queue_url_redacted())
            .field("queue_schema", &self.queue_schema)
            .field("queue_lease_ms", &self.queue_lease_ms)
            .field("queue_poll_ms", &self.queue_poll_ms)
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
fn default_processing_nice() -> u8 {
    DEFAULT_PROCESSING_NICE
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
fn default_queue_lease_ms() -> u64 {
    DEFAULT_QUEUE_LEASE_MS
}
fn default_queue_poll_ms() -> u64 {
    DEFAULT_QUEUE_POLL_MS
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

    #[test]
    fn the_queue_url_password_is_never_shown() {
        let config: ServeConfig = toml::from_str(
            "queue = \"postgres\"\nqueue_url = \"postgres://itsm:hunter2-pw@127.0.0.1:5432/q\"\n",
        )
        .unwrap();
        assert_eq!(config.queue, QueueKind::Postgres);
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2-pw"), "{debug}");
        assert!(
            debug.contains("postgres://itsm:REDACTED@127.0.0.1:5432/q"),
            "{debug}"
        );
        let shown = config.queue_url_redacted().unwrap();
        assert!(!shown.contains("hunter2-pw"), "{shown}");
        assert_eq!(config.queue_lease_ms, DEFAULT_QUEUE_LEASE_MS);
        assert_eq!(config.queue_poll_ms, DEFAULT_QUEUE_POLL_MS);
    }

    #[test]
    fn an_unknown_queue_kind_is_refused_naming_the_choices() {
        let err = toml::from_str::<ServeConfig>("queue = \"redis\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("redis"), "{text}");
        assert!(
            text.contains("sqlite") && text.contains("postgres"),
            "{text}"
        );
        let config: ServeConfig = toml::from_str("").unwrap();
        assert_eq!(config.queue, QueueKind::Sqlite);
        let err = ServeConfig {
            queue: QueueKind::Postgres,
            ..ServeConfig::default()
        }
        .require_queue_url()
        .unwrap_err();
        assert!(err.to_string().contains("ITSM_SERVE_QUEUE_URL"), "{err}");
    }
}
