//! Injected time, so that windows, SLAs and DORA figures are testable.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// Formats an instant for messages: RFC 3339 in UTC, to the second (`2026-05-01T10:00:00Z`).
///
/// ```
/// use time::macros::datetime;
/// assert_eq!(
///     itsm_core::format_instant(datetime!(2026-05-01 12:00:00.75 +02:00)),
///     "2026-05-01T10:00:00Z"
/// );
/// ```
pub fn format_instant(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    let utc = utc.replace_nanosecond(0).unwrap_or(utc);
    utc.format(&Rfc3339).unwrap_or_else(|_| utc.to_string())
}

/// A source of the current time.
pub trait Clock: Send + Sync + Debug {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use itsm_core::{Clock, ManualClock};
/// use time::{macros::datetime, Duration};
///
/// let clock = ManualClock::new(datetime!(2026-01-05 09:00 UTC));
/// clock.advance(Duration::hours(2));
/// assert_eq!(clock.now(), datetime!(2026-01-05 11:00 UTC));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: OffsetDateTime) {
        *self.lock() = now;
    }

    /// Moves the time forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        // A poisoned lock only means another thread panicked while holding a plain value.
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::new(datetime!(2026-03-01 00:00 UTC));
        let b = a.clone();
        a.advance(Duration::minutes(90));
        assert_eq!(b.now(), datetime!(2026-03-01 01:30 UTC));
        b.set(datetime!(2027-01-01 00:00 UTC));
        assert_eq!(a.now(), datetime!(2027-01-01 00:00 UTC));
    }

    #[test]
    fn system_clock_is_utc_and_moves() {
        let a = SystemClock.now();
        assert_eq!(a.offset(), time::UtcOffset::UTC);
        assert!(SystemClock.now() >= a);
    }
}
