//! Page accounting: the pages a meter (one counter of one device) printed in each period, from
//! its readings, as billing sees them. Pure: the jobs worker stores what this computes per
//! local day; the api computes hours on demand.
//!
//! The rules, in the order they apply between the last accepted reading (the base) and the
//! next one:
//! - higher or equal: the difference is printed pages;
//! - flagged `wrap` (a 32-bit counter went past 4,294,967,295): the difference across the wrap;
//! - lower, but the next reading is back at or above the base: the lower one was a glitch (a
//!   wrong OID, a half-booted device) and is skipped (only the next: a reset device that
//!   later prints past its old count must not turn its reset into a glitch);
//! - lower for good: the counter was reset (a board swap): the new value is what was printed
//!   since, counted from zero;
//! - flagged `implausible_jump` or `color_above_total`: the pages are held for review, not
//!   billed, with the two readings as evidence; the base moves on, so only that step is held.
//!
//! Pages between two readings further apart than one period (missed reads) are spread over
//! the periods in proportion to the time, in whole pages that add up to the difference.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Largest value of a Counter32, plus one.
const WRAP: i64 = 1 << 32;

/// One reading of a meter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterRead {
    pub at: DateTime<Utc>,
    pub value: i64,
    /// The ingestion's flag (`decrease`, `wrap`, `color_above_total`, `implausible_jump`).
    pub flag: Option<String>,
}

/// Pages between two accepted readings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub pages: i64,
    /// Why the pages are held for review instead of billed (`implausible_jump`, …).
    pub held: Option<&'static str>,
    /// How the step was read: `reset`, `wrap`, or none.
    pub note: Option<&'static str>,
    /// The readings at both ends (value), as evidence.
    pub values: (i64, i64),
}

/// The unit of a period, in the site's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Hour,
    Day,
    Month,
}

/// Pages of one period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Billable pages.
    pub pages: i64,
    /// Pages held for review.
    pub held: i64,
    /// Why pages were held, and resets or wraps the period spans (each once).
    pub reasons: Vec<&'static str>,
    /// The readings (time, value) at the ends of held steps.
    pub evidence: Vec<(DateTime<Utc>, i64)>,
}

/// The steps between readings (in time order), by the rules above.
pub fn steps(reads: &[MeterRead]) -> Vec<Step> {
    let mut out = Vec::new();
    let Some(first) = reads.first() else { return out };
    let mut base = first;
    for (i, read) in reads.iter().enumerate().skip(1) {
        let flag = read.flag.as_deref();
        let (pages, note) = if read.value >= base.value {
            (read.value - base.value, None)
        } else if flag == Some("wrap") {
            (read.value + WRAP - base.value, Some("wrap"))
        } else if reads.get(i + 1).is_some_and(|next| next.value >= base.value) {
            // A glitch: the base stays.
            continue;
        } else {
            (read.value, Some("reset"))
        };
        let held = match flag {
            Some("implausible_jump") => Some("implausible_jump"),
            Some("color_above_total") => Some("color_above_total"),
            _ => None,
        };
        out.push(Step { from: base.at, to: read.at, pages, held, note, values: (base.value, read.value) });
        base = read;
    }
    out
}

/// The start of the period holding `at`, in `tz`.
pub fn period_start(at: DateTime<Utc>, tz: Tz, unit: Unit) -> DateTime<Utc> {
    let local = at.with_timezone(&tz);
    let date = local.date_naive();
    match unit {
        Unit::Hour => {
            let naive = date.and_hms_opt(local.hour(), 0, 0).expect("invariant: a valid hour");
            tz.from_local_datetime(&naive).earliest().map_or(at, |t| t.with_timezone(&Utc))
        }
        Unit::Day => local_midnight(date, tz),
        Unit::Month => local_midnight(date.with_day(1).expect("invariant: day 1 exists"), tz),
    }
}

/// The start of the period after the one starting at `start`.
pub fn next_start(start: DateTime<Utc>, tz: Tz, unit: Unit) -> DateTime<Utc> {
    match unit {
        Unit::Hour => start + Duration::hours(1),
        Unit::Day => {
            let date = start.with_timezone(&tz).date_naive();
            local_midnight(date.succ_opt().expect("invariant: dates go on"), tz)
        }
        Unit::Month => {
            let date = start.with_timezone(&tz).date_naive();
            let (year, month) = if date.month() == 12 { (date.year() + 1, 1) } else { (date.year(), date.month() + 1) };
            local_midnight(NaiveDate::from_ymd_opt(year, month, 1).expect("invariant: day 1 exists"), tz)
        }
    }
}

/// The first instant of a local date (the earliest, where a DST change makes two).
fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    // A zone that skips midnight (a DST change at 00:00) starts the day at the first valid
    // hour.
    (0..3).find_map(|h| tz.from_local_datetime(&date.and_hms_opt(h, 0, 0)?).earliest()).map_or_else(
        || Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default()),
        |t| t.with_timezone(&Utc),
    )
}

/// The pages of every period from the one holding `from` to the one before `to`, from the
/// readings (in time order). Periods without readings around them have no pages.
pub fn periods(reads: &[MeterRead], tz: Tz, unit: Unit, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Period> {
    let mut out: Vec<Period> = Vec::new();
    let mut start = period_start(from, tz, unit);
    while start < to {
        let end = next_start(start, tz, unit);
        out.push(Period { start, end, ..Period::default() });
        start = end;
    }
    for step in steps(reads) {
        for (index, pages) in spread(&step, &out) {
            let period = &mut out[index];
            if step.held.is_some() {
                period.held += pages;
            } else {
                period.pages += pages;
            }
            let reason = step.held.or(step.note);
            if let Some(reason) = reason
                && !period.reasons.contains(&reason)
            {
                period.reasons.push(reason);
            }
            if step.held.is_some() {
                period.evidence.push((step.from, step.values.0));
                period.evidence.push((step.to, step.values.1));
            }
        }
    }
    out
}

/// Pages (billable, held) printed between two instants: the steps' shares of that span, as
/// for a period (what a cartridge printed while it was in).
pub fn pages_between(reads: &[MeterRead], from: DateTime<Utc>, to: DateTime<Utc>) -> (i64, i64) {
    let span = [Period { start: from, end: to, ..Period::default() }];
    steps(reads).iter().fold((0, 0), |(pages, held), step| {
        let share: i64 = spread(step, &span).iter().map(|(_, p)| p).sum();
        if step.held.is_some() { (pages, held + share) } else { (pages + share, held) }
    })
}

/// A step's pages over the periods it overlaps, in proportion to the time, in whole pages
/// that add up (largest remainders get the pages left). A step outside every period gives
/// nothing; an instantaneous one goes to the period holding its end.
fn spread(step: &Step, periods: &[Period]) -> Vec<(usize, i64)> {
    let span = (step.to - step.from).num_milliseconds();
    if span <= 0 {
        return periods
            .iter()
            .position(|p| p.start <= step.to && step.to < p.end)
            .map(|i| vec![(i, step.pages)])
            .unwrap_or_default();
    }
    // (period, whole pages, remainder) for each period the step overlaps.
    let mut shares: Vec<(usize, i64, i64)> = Vec::new();
    let (mut given, mut covered) = (0i64, 0i64);
    for (i, p) in periods.iter().enumerate() {
        let overlap = (step.to.min(p.end) - step.from.max(p.start)).num_milliseconds();
        if overlap <= 0 {
            continue;
        }
        let exact = i128::from(step.pages) * i128::from(overlap);
        let whole = i64::try_from(exact / i128::from(span)).unwrap_or(i64::MAX);
        let rest = i64::try_from(exact % i128::from(span)).unwrap_or(0);
        given += whole;
        covered += overlap;
        shares.push((i, whole, rest));
    }
    // The pages the periods owe between them (the part of the step outside them is not
    // theirs); the whole pages left go to the largest remainders.
    let owed = i64::try_from(i128::from(step.pages) * i128::from(covered) / i128::from(span)).unwrap_or(0);
    let mut left = owed - given;
    let mut by_rest: Vec<usize> = (0..shares.len()).collect();
    by_rest.sort_by(|a, b| shares[*b].2.cmp(&shares[*a].2));
    for k in by_rest {
        if left <= 0 {
            break;
        }
        shares[k].1 += 1;
        left -= 1;
    }
    shares.into_iter().filter(|(_, pages, _)| *pages != 0).map(|(i, pages, _)| (i, pages)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn read(s: &str, value: i64, flag: Option<&str>) -> MeterRead {
        MeterRead { at: at(s), value, flag: flag.map(str::to_owned) }
    }

    fn days(reads: &[MeterRead], tz: Tz, from: &str, to: &str) -> Vec<(i64, i64)> {
        periods(reads, tz, Unit::Day, at(from), at(to)).into_iter().map(|p| (p.pages, p.held)).collect()
    }

    #[test]
    fn pages_are_differences_and_a_gap_is_spread_by_time() {
        let reads = [
            read("2026-03-01T12:00:00Z", 1000, None),
            read("2026-03-02T12:00:00Z", 1100, None),
            // Two days without a reading: 300 pages over 48 hours.
            read("2026-03-04T12:00:00Z", 1400, None),
        ];
        let got = days(&reads, chrono_tz::UTC, "2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z");
        assert_eq!(got, vec![(50, 0), (50 + 75, 0), (150, 0), (75, 0)]);
        let total: i64 = got.iter().map(|(p, _)| p).sum();
        assert_eq!(total, 400, "every page once");
    }

    #[test]
    fn a_wrap_a_reset_and_a_glitch_do_not_inflate_anything() {
        let reads = [
            read("2026-03-01T10:00:00Z", 4_294_967_000, None),
            read("2026-03-01T11:00:00Z", 200, Some("wrap")),
            // A glitch: a bad read, then back above the base.
            read("2026-03-01T12:00:00Z", 3, Some("decrease")),
            read("2026-03-01T13:00:00Z", 260, None),
            // A reset for good (board swap): 40 pages printed since.
            read("2026-03-01T14:00:00Z", 40, Some("decrease")),
            read("2026-03-01T15:00:00Z", 90, None),
        ];
        let s = steps(&reads);
        let pages: Vec<i64> = s.iter().map(|s| s.pages).collect();
        assert_eq!(pages, vec![296 + 200, 60, 40, 50]);
        assert_eq!(s[0].note, Some("wrap"));
        assert_eq!(s[2].note, Some("reset"));
        let day =
            &periods(&reads, chrono_tz::UTC, Unit::Day, at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"))[0];
        assert_eq!((day.pages, day.held), (646, 0));
        assert_eq!(day.reasons, vec!["wrap", "reset"]);
    }

    #[test]
    fn an_implausible_jump_is_held_with_its_evidence_and_only_that_step() {
        let reads = [
            read("2026-03-01T10:00:00Z", 1000, None),
            read("2026-03-01T11:00:00Z", 900_000, Some("implausible_jump")),
            read("2026-03-02T11:00:00Z", 900_100, None),
        ];
        let got = periods(&reads, chrono_tz::UTC, Unit::Day, at("2026-03-01T00:00:00Z"), at("2026-03-03T00:00:00Z"));
        // 100 pages over 24 hours, 13 of them on the first day.
        assert_eq!((got[0].pages, got[0].held), (54, 899_000));
        assert_eq!(got[0].reasons, vec!["implausible_jump"]);
        assert_eq!(got[0].evidence, vec![(at("2026-03-01T10:00:00Z"), 1000), (at("2026-03-01T11:00:00Z"), 900_000)]);
        assert_eq!((got[1].pages, got[1].held), (46, 0));
    }

    #[test]
    fn days_and_months_follow_the_site_time_zone_across_dst() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // 23:30 UTC on 29 March 2026 is already 30 March in Paris (UTC+2 after the change).
        let reads = [read("2026-03-29T21:30:00Z", 0, None), read("2026-03-29T23:30:00Z", 120, None)];
        let got = periods(&reads, paris, Unit::Day, at("2026-03-29T00:00:00Z"), at("2026-03-31T00:00:00Z"));
        assert_eq!(got[0].start, at("2026-03-28T23:00:00Z"), "29 March starts at 00:00 CET");
        assert_eq!(got[0].end - got[0].start, Duration::hours(23), "the day of the change has 23 hours");
        assert_eq!((got[0].pages, got[1].pages), (30, 90), "30 min in 29 March, 90 min in 30 March (local)");
        let months = periods(&reads, paris, Unit::Month, at("2026-03-01T00:00:00Z"), at("2026-04-30T21:00:00Z"));
        assert_eq!(months.len(), 2);
        assert_eq!(months[1].start, at("2026-03-31T22:00:00Z"), "April starts at 00:00 CEST");
        assert_eq!(months[0].pages, 120);
    }

    #[test]
    fn a_cartridge_counts_the_pages_of_its_own_span() {
        let reads = [
            read("2026-10-01T12:00:00Z", 1000, None),
            read("2026-10-11T12:00:00Z", 3000, None),
            read("2026-10-21T12:00:00Z", 4000, None),
        ];
        assert_eq!(pages_between(&reads, at("2026-10-01T12:00:00Z"), at("2026-10-21T12:00:00Z")), (3000, 0));
        assert_eq!(pages_between(&reads, at("2026-10-06T12:00:00Z"), at("2026-10-16T12:00:00Z")), (1500, 0));
    }

    #[test]
    fn pages_outside_the_window_are_not_counted_here() {
        let reads = [read("2026-03-01T00:00:00Z", 0, None), read("2026-03-03T00:00:00Z", 200, None)];
        let got = days(&reads, chrono_tz::UTC, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z");
        assert_eq!(got, vec![(100, 0)]);
        assert!(
            periods(&[], chrono_tz::UTC, Unit::Hour, at("2026-03-02T00:00:00Z"), at("2026-03-02T05:00:00Z"))
                .iter()
                .all(|p| p.pages == 0 && p.held == 0)
        );
    }
}
