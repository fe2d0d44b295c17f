//! On-call schedules: who of a team is on call at a given instant.
//!
//! Pure functions of the schedule and the time; the store injects the time from its clock.

use itsm_core::{Error, Person, Result};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time, UtcOffset, Weekday};

/// When a schedule has someone on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Coverage {
    /// Around the clock, every day (an out-of-hours rotation).
    AlwaysOn,
    /// Working hours only: Monday to Friday, 09:00 to 17:00 at `utc_offset`. Outside them
    /// nobody is on call.
    WorkingHours {
        /// The team's fixed offset from UTC (`+01:00`).
        utc_offset: UtcOffset,
    },
}

/// The start of the working day under [`Coverage::WorkingHours`].
pub const WORKDAY_START: Time = time::macros::time!(09:00);
/// The end (exclusive) of the working day under [`Coverage::WorkingHours`].
pub const WORKDAY_END: Time = time::macros::time!(17:00);

/// A team's on-call rotation: members take turns of `rotation` each, in order, the first
/// starting at `handoff` (the rotation extends backwards before it the same way).
///
/// ```
/// use itsm_core::Person;
/// use itsm_local::{Coverage, Schedule};
/// use time::{Duration, macros::datetime};
///
/// let schedule = Schedule {
///     members: vec![Person::named("Ana"), Person::named("Ben")],
///     rotation: Duration::days(7),
///     handoff: datetime!(2026-05-04 09:00 UTC),
///     coverage: Coverage::AlwaysOn,
/// };
/// let shift = schedule.on_call_at(datetime!(2026-05-12 03:00 UTC)).unwrap();
/// assert_eq!(shift.person.name, "Ben");
/// assert_eq!(shift.start, datetime!(2026-05-11 09:00 UTC));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Who takes turns, in order.
    pub members: Vec<Person>,
    /// How long each turn lasts (for example 7 days).
    pub rotation: Duration,
    /// When the first member's turn starts.
    #[serde(with = "time::serde::rfc3339")]
    pub handoff: OffsetDateTime,
    /// Around the clock or working hours only.
    pub coverage: Coverage,
}

/// One person's current turn on a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    /// Who is on call.
    pub person: Person,
    /// When this stretch of being on call started.
    pub start: OffsetDateTime,
    /// When it ends.
    pub end: OffsetDateTime,
}

impl Schedule {
    /// Checks the schedule: a rotation of at least one minute, and members with names.
    ///
    /// Errors: [`ErrorKind::InvalidInput`](itsm_core::ErrorKind::InvalidInput) saying which.
    pub fn validate(&self) -> Result<()> {
        if self.rotation < Duration::minutes(1) {
            return Err(Error::invalid_input(format!(
                "schedule rotation is {}; give a turn length of at least one minute (7 days is usual)",
                self.rotation
            ))
            .with_context("field", "rotation"));
        }
        if self.members.iter().any(|m| m.name.trim().is_empty()) {
            return Err(Error::invalid_input(
                "a schedule member has an empty name; name every member",
            )
            .with_context("field", "members"));
        }
        Ok(())
    }

    /// Whether the schedule covers out-of-hours (it is [`Coverage::AlwaysOn`]).
    pub fn out_of_hours(&self) -> bool {
        self.coverage == Coverage::AlwaysOn
    }

    /// Who is on call at `at`, or `None` when the schedule has no members, is invalid, or
    /// (working hours only) `at` is outside working hours.
    pub fn on_call_at(&self, at: OffsetDateTime) -> Option<Shift> {
        let count = i128::try_from(self.members.len()).ok().filter(|n| *n > 0)?;
        let rotation = self.rotation.whole_nanoseconds();
        if rotation < Duration::minutes(1).whole_nanoseconds() {
            return None;
        }
        let elapsed = (at - self.handoff).whole_nanoseconds();
        let turn = elapsed.div_euclid(rotation);
        let index = usize::try_from(turn.rem_euclid(count)).ok()?;
        let person = self.members.get(index)?.clone();
        let offset = i64::try_from(turn.checked_mul(rotation)?).ok()?;
        let start = self
            .handoff
            .checked_add(Duration::nanoseconds(offset))?
            .to_offset(UtcOffset::UTC);
        let end = start.checked_add(self.rotation)?;
        match self.coverage {
            Coverage::AlwaysOn => Some(Shift { person, start, end }),
            Coverage::WorkingHours { utc_offset } => {
                let local = at.to_offset(utc_offset);
                let weekend = matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday);
                if weekend || local.time() < WORKDAY_START || local.time() >= WORKDAY_END {
                    return None;
                }
                let day_start = local.replace_time(WORKDAY_START).to_offset(UtcOffset::UTC);
                let day_end = local.replace_time(WORKDAY_END).to_offset(UtcOffset::UTC);
                Some(Shift {
                    person,
                    start: start.max(day_start),
                    end: end.min(day_end),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    fn schedule(coverage: Coverage) -> Schedule {
        Schedule {
            members: vec![Person::named("a"), Person::named("b"), Person::named("c")],
            rotation: Duration::days(1),
            handoff: datetime!(2026-05-04 00:00 UTC),
            coverage,
        }
    }

    #[test]
    fn turns_rotate_forwards_and_backwards_from_the_handoff() {
        let s = schedule(Coverage::AlwaysOn);
        let who = |at| s.on_call_at(at).map(|shift| shift.person.name);
        assert_eq!(who(datetime!(2026-05-04 00:00 UTC)).as_deref(), Some("a"));
        assert_eq!(who(datetime!(2026-05-05 23:59 UTC)).as_deref(), Some("b"));
        assert_eq!(who(datetime!(2026-05-07 12:00 UTC)).as_deref(), Some("a"));
        assert_eq!(who(datetime!(2026-05-03 12:00 UTC)).as_deref(), Some("c"));
    }

    #[test]
    fn working_hours_only_has_nobody_at_night_or_on_weekends() {
        let s = schedule(Coverage::WorkingHours {
            utc_offset: offset!(+2),
        });
        // 09:30 at +02:00 on a Monday.
        let shift = s.on_call_at(datetime!(2026-05-04 07:30 UTC)).unwrap();
        assert_eq!(shift.person.name, "a");
        assert_eq!(shift.start, datetime!(2026-05-04 07:00 UTC));
        assert_eq!(shift.end, datetime!(2026-05-04 15:00 UTC));
        // 06:59 local, 17:00 local, a Saturday noon.
        assert_eq!(s.on_call_at(datetime!(2026-05-04 04:59 UTC)), None);
        assert_eq!(s.on_call_at(datetime!(2026-05-04 15:00 UTC)), None);
        assert_eq!(s.on_call_at(datetime!(2026-05-09 10:00 UTC)), None);
    }

    #[test]
    fn invalid_schedules_are_refused_and_have_nobody_on_call() {
        let mut s = schedule(Coverage::AlwaysOn);
        s.rotation = Duration::ZERO;
        let err = s.validate().unwrap_err();
        assert_eq!(err.kind(), itsm_core::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("rotation"), "{err}");
        assert_eq!(s.on_call_at(datetime!(2026-05-04 00:00 UTC)), None);
        s.rotation = Duration::days(1);
        s.members.clear();
        assert!(s.validate().is_ok());
        assert_eq!(s.on_call_at(datetime!(2026-05-04 00:00 UTC)), None);
    }
}
