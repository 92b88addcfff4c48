//! When a cycle runs: weekday × hour windows in the site's time zone, "every hour" within them,
//! or once at a given hour of a given day; or never (disabled). Pure: the caller gives the clock.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A cycle's schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Never runs (the cycle is switched off).
    Disabled,
    /// At the start of every hour whose bit is set: `hours[weekday]` has bit `h` for hour `h`
    /// (Monday first), in local time.
    Weekly { hours: [u32; 7] },
    /// Once a week, at `hour:00` local time on `weekday`.
    Once { weekday: Weekday, hour: u32 },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("hour {0} is not 0 to 23")]
    BadHour(u32),
    #[error("a weekly schedule needs at least one hour; use Disabled to switch a cycle off")]
    NoHours,
}

impl Schedule {
    /// Every hour of every day.
    pub fn always() -> Schedule {
        Schedule::Weekly { hours: [0x00ff_ffff; 7] }
    }

    /// Every hour from `from` to `to` (exclusive) on the given weekdays: office hours.
    pub fn window(days: &[Weekday], from: u32, to: u32) -> Result<Schedule, ScheduleError> {
        if from > 23 {
            return Err(ScheduleError::BadHour(from));
        }
        if to > 24 {
            return Err(ScheduleError::BadHour(to));
        }
        let mask: u32 = (from..to).fold(0, |m, h| m | (1 << h));
        if mask == 0 || days.is_empty() {
            return Err(ScheduleError::NoHours);
        }
        let mut hours = [0u32; 7];
        for day in days {
            hours[day.num_days_from_monday() as usize] = mask;
        }
        Ok(Schedule::Weekly { hours })
    }

    /// Checks a schedule received from outside (the server, a file).
    pub fn validate(&self) -> Result<(), ScheduleError> {
        match self {
            Schedule::Disabled => Ok(()),
            Schedule::Weekly { hours } => {
                if let Some(bad) = hours.iter().find(|h| **h >> 24 != 0) {
                    return Err(ScheduleError::BadHour(32 - bad.leading_zeros() - 1));
                }
                if hours.iter().all(|h| *h == 0) {
                    return Err(ScheduleError::NoHours);
                }
                Ok(())
            }
            Schedule::Once { hour, .. } if *hour > 23 => Err(ScheduleError::BadHour(*hour)),
            Schedule::Once { .. } => Ok(()),
        }
    }

    fn runs_at(&self, local: &DateTime<Tz>) -> bool {
        match self {
            Schedule::Disabled => false,
            Schedule::Weekly { hours } => {
                hours[local.weekday().num_days_from_monday() as usize] & (1 << local.hour()) != 0
            }
            Schedule::Once { weekday, hour } => local.weekday() == *weekday && local.hour() == *hour,
        }
    }

    /// The first run strictly after `after`, in `tz`'s local hours, within a year; `None` when
    /// disabled. Hours that a daylight-saving change skips are skipped too; an hour it repeats
    /// runs once.
    pub fn next_run(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        if *self == Schedule::Disabled {
            return None;
        }
        // Candidate instants are whole UTC hours: every local hour start in every zone whose
        // offset is a whole number of hours; for others (India, …) the local hour start is used.
        let local_after = after.with_timezone(&tz);
        let mut local = tz
            .with_ymd_and_hms(local_after.year(), local_after.month(), local_after.day(), local_after.hour(), 0, 0)
            .earliest()?;
        for _ in 0..(24 * 366) {
            local = (local.with_timezone(&Utc) + Duration::hours(1)).with_timezone(&tz);
            // Keep to local hour starts even across offsets that are not whole hours.
            if local.minute() != 0 {
                local = tz.with_ymd_and_hms(local.year(), local.month(), local.day(), local.hour(), 0, 0).earliest()?;
            }
            let utc = local.with_timezone(&Utc);
            if utc > after && self.runs_at(&local) {
                return Some(utc);
            }
        }
        None
    }

    /// Whether a cycle last run at `last` (or never) is due at `now`.
    pub fn is_due(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>, tz: Tz) -> bool {
        let since = last.unwrap_or(now - Duration::days(8));
        self.next_run(since, tz).is_some_and(|next| next <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn office_hours_in_the_sites_time_zone() {
        let weekdays = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
        let schedule = Schedule::window(&weekdays, 8, 18).unwrap();
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // Friday 2026-11-27 17:30 in Paris (16:30 UTC): the last run of the week was 17:00,
        // so the next is Monday 08:00.
        let next = schedule.next_run(utc("2026-11-27T16:30:00Z"), paris).unwrap();
        assert_eq!(next, utc("2026-11-30T07:00:00Z"), "Monday 08:00 in Paris (UTC+1)");
        // Monday 09:10 Paris: the next run is 10:00 the same day.
        let next = schedule.next_run(utc("2026-11-30T08:10:00Z"), paris).unwrap();
        assert_eq!(next, utc("2026-11-30T09:00:00Z"));
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let next = schedule.next_run(utc("2026-11-30T08:10:00Z"), tokyo).unwrap();
        assert_eq!(next, utc("2026-11-30T23:00:00Z"), "Tuesday 08:00 in Tokyo");
    }

    #[test]
    fn once_a_week_and_disabled() {
        let schedule = Schedule::Once { weekday: Weekday::Sun, hour: 3 };
        let paris: Tz = "Europe/Paris".parse().unwrap();
        assert_eq!(schedule.next_run(utc("2026-11-28T12:00:00Z"), paris), Some(utc("2026-11-29T02:00:00Z")));
        assert_eq!(Schedule::Disabled.next_run(utc("2026-11-28T12:00:00Z"), paris), None);
        assert!(!Schedule::Disabled.is_due(None, utc("2026-11-28T12:00:00Z"), paris));
    }

    #[test]
    fn due_runs_follow_the_clock() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let hourly = Schedule::always();
        let last = utc("2026-11-28T10:00:00Z");
        assert!(!hourly.is_due(Some(last), utc("2026-11-28T10:59:59Z"), paris));
        assert!(hourly.is_due(Some(last), utc("2026-11-28T11:00:00Z"), paris));
        assert!(hourly.is_due(None, utc("2026-11-28T11:20:00Z"), paris), "never run: due");
    }

    #[test]
    fn daylight_saving_changes_neither_skip_nor_double_a_day() {
        // Paris goes from UTC+1 to UTC+2 on 2026-03-29 at 02:00 local.
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let at_nine = Schedule::window(&[Weekday::Mon], 9, 10).unwrap();
        assert_eq!(at_nine.next_run(utc("2026-03-28T00:00:00Z"), paris), Some(utc("2026-03-30T07:00:00Z")));
        // 02:00 does not exist that night: a run planned then is skipped, not moved.
        let at_two = Schedule::window(&[Weekday::Sun], 2, 3).unwrap();
        let next = at_two.next_run(utc("2026-03-28T00:00:00Z"), paris).unwrap();
        assert_eq!(next, utc("2026-04-05T00:00:00Z"), "the next Sunday's 02:00 (UTC+2)");
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert_eq!(Schedule::window(&[Weekday::Mon], 25, 26), Err(ScheduleError::BadHour(25)));
        assert_eq!(Schedule::window(&[Weekday::Mon], 9, 9), Err(ScheduleError::NoHours));
        assert_eq!(Schedule::Weekly { hours: [0; 7] }.validate(), Err(ScheduleError::NoHours));
        assert!(Schedule::Weekly { hours: [1 << 24, 0, 0, 0, 0, 0, 0] }.validate().is_err());
        assert_eq!(Schedule::Once { weekday: Weekday::Mon, hour: 24 }.validate(), Err(ScheduleError::BadHour(24)));
    }
}
