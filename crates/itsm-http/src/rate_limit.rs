//! A client-side token bucket per key (per API key, per PagerDuty routing key...), so that
//! an adapter stays under a vendor's published limits instead of collecting 429s.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// How many requests per key may be sent: a sustained rate and a burst.
///
/// ```
/// use std::time::Duration;
/// use itsm_http::RateLimit;
///
/// // PagerDuty REST API: 960 requests per minute per API key.
/// let limit = RateLimit::per_minute(960);
/// assert_eq!(limit.burst(), 16);
/// let limit = RateLimit::per_second(5.0).with_burst(10);
/// assert_eq!(limit.interval(), Duration::from_millis(200));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    per_second: f64,
    burst: u32,
}

impl RateLimit {
    /// `per_second` requests per second (fractions allowed; clamped to at least one per hour),
    /// with a burst of `ceil(per_second)` (at least 1).
    pub fn per_second(per_second: f64) -> Self {
        let per_second = if per_second.is_finite() {
            per_second.max(1.0 / 3600.0)
        } else {
            1.0
        };
        RateLimit {
            per_second,
            burst: (per_second.ceil() as u32).max(1),
        }
    }

    /// `per_minute` requests per minute, with a burst of one second's worth (at least 1).
    pub fn per_minute(per_minute: u32) -> Self {
        RateLimit::per_second(f64::from(per_minute) / 60.0)
    }

    /// Sets how many requests may go out at once after a quiet period (at least 1).
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// The sustained rate, in requests per second.
    pub fn rate(&self) -> f64 {
        self.per_second
    }

    /// The burst size.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The time one token takes to come back.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second)
    }
}

#[derive(Debug)]
struct Bucket {
    /// Tokens available at `updated`; negative when callers have reserved future tokens.
    tokens: f64,
    updated: Instant,
}

/// Token buckets, one per key, all with the same [`RateLimit`].
///
/// Each caller reserves a token and then sleeps until it is due, so callers are served in
/// the order they asked. A [`HttpClient`](crate::HttpClient) shares one limiter among its
/// clones.
///
/// ```
/// use itsm_http::{RateLimit, RateLimiter};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let limiter = RateLimiter::new(RateLimit::per_second(10.0).with_burst(2));
/// limiter.acquire("routing-key-a").await; // immediate
/// limiter.acquire("routing-key-a").await; // immediate
/// limiter.acquire("routing-key-b").await; // immediate: another key
/// # }
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Above this many keys, full buckets (keys idle long enough to have refilled) are dropped.
const PRUNE_ABOVE: usize = 1024;

impl RateLimiter {
    /// A limiter with no key seen yet.
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limit every key gets.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Waits until `key` may send one request, and takes the token.
    pub async fn acquire(&self, key: &str) {
        let wait = self.reserve(key);
        if !wait.is_zero() {
            tracing::debug!(
                key_len = key.len(),
                wait_ms = wait.as_millis() as u64,
                "client-side rate limit"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes the next token of `key` without waiting, and says how long the caller must wait
    /// before using it (zero when one is free now).
    pub fn reserve(&self, key: &str) -> Duration {
        let now = Instant::now();
        let rate = self.limit.per_second;
        let burst = f64::from(self.limit.burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE && !buckets.contains_key(key) {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = match buckets.get_mut(key) {
            Some(bucket) => bucket,
            None => buckets.entry(key.to_owned()).or_insert(Bucket {
                tokens: burst,
                updated: now,
            }),
        };
        let refill = now.duration_since(bucket.updated).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(burst) - 1.0;
        bucket.updated = now;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn close(actual: Duration, expected: Duration) -> bool {
        actual.abs_diff(expected) < Duration::from_micros(10)
    }

    #[tokio::test(start_paused = true)]
    async fn burst_is_free_then_one_token_per_interval() {
        let limiter = RateLimiter::new(RateLimit::per_second(4.0).with_burst(3));
        for _ in 0..3 {
            assert_eq!(limiter.reserve("a"), Duration::ZERO);
        }
        // Reservations queue up: 250 ms, 500 ms, 750 ms.
        assert!(close(limiter.reserve("a"), ms(250)));
        assert!(close(limiter.reserve("a"), ms(500)));
        assert!(close(limiter.reserve("a"), ms(750)));
        // Another key has its own bucket.
        assert_eq!(limiter.reserve("b"), Duration::ZERO);
        // After the queue drains and one more second passes the bucket is full again.
        tokio::time::advance(ms(750 + 1000)).await;
        for _ in 0..3 {
            assert_eq!(limiter.reserve("a"), Duration::ZERO);
        }
        assert!(close(limiter.reserve("a"), ms(250)));
    }

    #[tokio::test(start_paused = true)]
    async fn partial_refill_is_counted() {
        let limiter = RateLimiter::new(RateLimit::per_second(10.0).with_burst(1));
        assert_eq!(limiter.reserve("k"), Duration::ZERO);
        tokio::time::advance(ms(40)).await;
        assert!(close(limiter.reserve("k"), ms(60)));
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_sleeps_the_reserved_time() {
        let limiter = RateLimiter::new(RateLimit::per_minute(60).with_burst(2));
        let start = Instant::now();
        limiter.acquire("k").await;
        limiter.acquire("k").await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire("k").await;
        assert!(close(start.elapsed(), ms(1000)), "{:?}", start.elapsed());
        limiter.acquire("k").await;
        assert!(close(start.elapsed(), ms(2000)), "{:?}", start.elapsed());
        limiter.acquire("other").await;
        assert!(close(start.elapsed(), ms(2000)));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_keys_are_pruned() {
        let limiter = RateLimiter::new(RateLimit::per_second(100.0).with_burst(1));
        for i in 0..=PRUNE_ABOVE {
            limiter.reserve(&i.to_string());
        }
        tokio::time::advance(ms(100)).await;
        limiter.reserve("new");
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }

    #[test]
    fn limits_clamp() {
        assert_eq!(RateLimit::per_minute(30).burst(), 1);
        assert_eq!(RateLimit::per_second(2.5).burst(), 3);
        assert_eq!(RateLimit::per_second(0.0).rate(), 1.0 / 3600.0);
        assert_eq!(RateLimit::per_second(f64::NAN).rate(), 1.0);
        assert_eq!(RateLimit::per_second(1.0).with_burst(0).burst(), 1);
    }
}
