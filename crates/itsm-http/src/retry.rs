//! When to try again: the retry policy, exponential backoff with full jitter, and the
//! servers' "wait this long" headers (`Retry-After`, `ratelimit-reset`, `X-RateLimit-Reset`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How often and how long a request is retried.
///
/// A request is tried at most [`max_attempts`](Self::max_attempts) times, and no new attempt
/// starts once [`max_elapsed`](Self::max_elapsed) has passed since the first one (an attempt in
/// flight runs to its own timeout). Between attempts the client waits what the server asked
/// for (`Retry-After`...) or, when it asked for nothing, a random delay between zero and
/// `min(max_delay, base_delay * 2^retry)` ("full jitter"). When the server asks for a wait that
/// would end after the budget, the client gives up at once and returns the error with
/// [`retry_after`](itsm_core::Error::retry_after) set instead of sleeping.
///
/// ```
/// use std::time::Duration;
/// use itsm_http::RetryPolicy;
///
/// let policy = RetryPolicy::new(5, Duration::from_secs(30))
///     .with_backoff(Duration::from_millis(100), Duration::from_secs(5));
/// assert!(policy.backoff(3) <= Duration::from_millis(800));
/// assert_eq!(RetryPolicy::none().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    max_elapsed: Duration,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts within 60 s, backoff from 200 ms capped at 10 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            max_elapsed: Duration::from_secs(60),
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// At most `max_attempts` attempts (0 counts as 1) within `max_elapsed`, with the default
    /// backoff.
    pub fn new(max_attempts: u32, max_elapsed: Duration) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            max_elapsed,
            ..RetryPolicy::default()
        }
    }

    /// A single attempt, never retried.
    pub fn none() -> Self {
        RetryPolicy::new(1, Duration::ZERO)
    }

    /// Sets the backoff base and cap.
    pub fn with_backoff(mut self, base_delay: Duration, max_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self.max_delay = max_delay.max(base_delay);
        self
    }

    /// The most attempts a request gets, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The time after which no new attempt starts.
    pub fn max_elapsed(&self) -> Duration {
        self.max_elapsed
    }

    /// The backoff base.
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The backoff cap.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The upper bound of the backoff before retry number `retry` (0 for the first retry):
    /// `min(max_delay, base_delay * 2^retry)`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A random delay between zero and [`backoff_ceiling`](Self::backoff_ceiling)`(retry)`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP-date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`). A date in the past means "now" (zero).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use itsm_http::parse_retry_after;
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_470); // 07:27:50 GMT
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(
///     parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
///     Some(Duration::from_secs(10))
/// );
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Some(delta) = parse_seconds(value) {
        return Some(delta);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses a rate-limit reset value, as sent in `ratelimit-reset` (PagerDuty, the IETF draft:
/// seconds until the reset) or `X-RateLimit-Reset` (Jira: an ISO-8601 timestamp; GitHub style:
/// epoch seconds). Accepted, in order:
///
/// - a number: epoch milliseconds if ≥ 10¹², epoch seconds if ≥ 10⁹, else seconds from now;
/// - an RFC 3339 timestamp, seconds optional (`2024-05-07T14:32Z` and `2024-05-07T14:32:10.5+02:00`);
/// - an HTTP-date.
///
/// A reset in the past means "now" (zero).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use itsm_http::parse_rate_limit_reset;
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000); // 2023-11-14T22:13:20Z
/// let secs = |s| Some(Duration::from_secs(s));
/// assert_eq!(parse_rate_limit_reset("30", now), secs(30));
/// assert_eq!(parse_rate_limit_reset("1700000045", now), secs(45));
/// assert_eq!(parse_rate_limit_reset("2023-11-14T22:14:00Z", now), secs(40));
/// assert_eq!(parse_rate_limit_reset("2023-11-14T22:15Z", now), secs(100));
/// ```
pub fn parse_rate_limit_reset(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(number) = value.parse::<f64>() {
        if !number.is_finite() || number < 0.0 {
            return None;
        }
        let at = if number >= 1e12 {
            UNIX_EPOCH + Duration::from_secs_f64(number / 1000.0)
        } else if number >= 1e9 {
            UNIX_EPOCH + Duration::from_secs_f64(number)
        } else {
            return Some(Duration::from_secs_f64(number));
        };
        return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
    }
    let at = parse_rfc3339_lenient(value).or_else(|| httpdate::parse_http_date(value).ok())?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait the server asked for, from a response's headers: `Retry-After` first, then (only
/// for 429 answers, since some vendors send them on every answer) `ratelimit-reset` and
/// `X-RateLimit-Reset`.
pub(crate) fn server_wait(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    now: SystemTime,
) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(wait) = get("retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(wait);
    }
    if status != 429 {
        return None;
    }
    ["ratelimit-reset", "x-ratelimit-reset"]
        .into_iter()
        .find_map(|name| get(name).and_then(|v| parse_rate_limit_reset(v, now)))
}

fn parse_seconds(value: &str) -> Option<Duration> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u64>().ok().map(Duration::from_secs)
}

fn parse_rfc3339_lenient(value: &str) -> Option<SystemTime> {
    let parsed = OffsetDateTime::parse(value, &Rfc3339).ok().or_else(|| {
        // `2024-05-07T14:32Z`: ISO 8601 without seconds.
        let bytes = value.as_bytes();
        let without_seconds = bytes.len() > 16
            && bytes[10].eq_ignore_ascii_case(&b'T')
            && bytes[13] == b':'
            && !bytes[16].is_ascii_digit()
            && bytes[16] != b':';
        if !without_seconds {
            return None;
        }
        let fixed = format!("{}:00{}", value.get(..16)?, value.get(16..)?);
        OffsetDateTime::parse(&fixed, &Rfc3339).ok()
    })?;
    Some(SystemTime::from(parsed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    /// 2023-11-14T22:13:20Z, a Tuesday.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn secs(s: u64) -> Option<Duration> {
        Some(Duration::from_secs(s))
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("0", now()), secs(0));
        assert_eq!(parse_retry_after(" 7 ", now()), secs(7));
        assert_eq!(
            parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now()),
            secs(30)
        );
        // A date in the past: retry now.
        assert_eq!(
            parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now()),
            secs(0)
        );
        for bad in ["", "-1", "1.5", "tomorrow", "Tue, 99 Nov 2023 22:13:50 GMT"] {
            assert_eq!(parse_retry_after(bad, now()), None, "{bad:?}");
        }
    }

    #[test]
    fn rate_limit_reset_in_every_vendor_format() {
        // PagerDuty `ratelimit-reset`: seconds until reset.
        assert_eq!(parse_rate_limit_reset("12", now()), secs(12));
        assert_eq!(
            parse_rate_limit_reset("0.5", now()),
            Some(Duration::from_millis(500))
        );
        // Epoch seconds and milliseconds.
        assert_eq!(parse_rate_limit_reset("1700000060", now()), secs(60));
        assert_eq!(parse_rate_limit_reset("1700000002000", now()), secs(2));
        assert_eq!(parse_rate_limit_reset("1600000000", now()), secs(0));
        // Jira: ISO 8601 / RFC 3339, with or without seconds, any offset.
        assert_eq!(
            parse_rate_limit_reset("2023-11-14T22:14:20Z", now()),
            secs(60)
        );
        assert_eq!(
            parse_rate_limit_reset("2023-11-14T22:14:20.250Z", now()),
            Some(Duration::from_millis(60_250))
        );
        assert_eq!(
            parse_rate_limit_reset("2023-11-14T23:14:20+01:00", now()),
            secs(60)
        );
        assert_eq!(
            parse_rate_limit_reset("2023-11-14T22:15Z", now()),
            secs(100)
        );
        assert_eq!(
            parse_rate_limit_reset("2023-11-14T23:15+01:00", now()),
            secs(100)
        );
        assert_eq!(
            parse_rate_limit_reset("Tue, 14 Nov 2023 22:13:30 GMT", now()),
            secs(10)
        );
        for bad in [
            "",
            "-3",
            "NaN",
            "inf",
            "2023-11-14",
            "2023-11-14T22",
            "later",
        ] {
            assert_eq!(parse_rate_limit_reset(bad, now()), None, "{bad:?}");
        }
    }

    #[test]
    fn server_wait_prefers_retry_after_and_reads_reset_headers_only_on_429() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("2023-11-14T22:14:20Z"),
        );
        assert_eq!(server_wait(429, &headers, now()), secs(60));
        assert_eq!(server_wait(200, &headers, now()), None);
        assert_eq!(server_wait(503, &headers, now()), None);
        headers.insert("ratelimit-reset", HeaderValue::from_static("5"));
        assert_eq!(server_wait(429, &headers, now()), secs(5));
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(server_wait(429, &headers, now()), secs(2));
        assert_eq!(server_wait(503, &headers, now()), secs(2));
        headers.insert("retry-after", HeaderValue::from_static("garbage"));
        assert_eq!(server_wait(429, &headers, now()), secs(5));
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = RetryPolicy::new(10, Duration::from_secs(60))
            .with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(policy.backoff_ceiling(0), Duration::from_millis(100));
        assert_eq!(policy.backoff_ceiling(1), Duration::from_millis(200));
        assert_eq!(policy.backoff_ceiling(3), Duration::from_millis(800));
        assert_eq!(policy.backoff_ceiling(4), Duration::from_secs(1));
        assert_eq!(policy.backoff_ceiling(200), Duration::from_secs(1));
        let samples: Vec<Duration> = (0..200).map(|_| policy.backoff(2)).collect();
        assert!(samples.iter().all(|d| *d <= Duration::from_millis(400)));
        // Full jitter: spread over the whole range, not a fixed value.
        assert!(samples.iter().any(|d| *d < Duration::from_millis(100)));
        assert!(samples.iter().any(|d| *d > Duration::from_millis(300)));
    }

    #[test]
    fn constructors_clamp() {
        assert_eq!(RetryPolicy::new(0, Duration::ZERO).max_attempts(), 1);
        assert_eq!(RetryPolicy::none().max_attempts(), 1);
        let p = RetryPolicy::default().with_backoff(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(p.max_delay(), Duration::from_secs(2));
        assert_eq!(p.base_delay(), Duration::from_secs(2));
        assert_eq!(
            RetryPolicy::default().max_elapsed(),
            Duration::from_secs(60)
        );
    }
}
