//! Which cycles are due: every range the server configured, each cycle with its schedule in
//! the site's time zone. Pure apart from the last-run times it is given; the clock is passed
//! in. Slots missed while the agent was off (or a cycle overran) are coalesced into one run,
//! not replayed one by one.

use std::collections::BTreeMap;

use cartouche_schema::wire::{AgentConfig, Cycle};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A cycle to run for one range.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Due {
    pub range_id: String,
    pub cycle: Cycle,
}

/// A configuration problem that keeps a range's cycles from running; reported, never fatal
/// for the other ranges.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("range {range_id}: unknown time zone {zone:?}")]
    TimeZone { range_id: String, zone: String },
    #[error("range {range_id}, {cycle:?} cycle: {reason}")]
    Schedule { range_id: String, cycle: Cycle, reason: String },
}

#[derive(Debug, Default)]
pub struct Scheduler {
    last: BTreeMap<(String, Cycle), DateTime<Utc>>,
}

pub fn cycle_name(cycle: Cycle) -> &'static str {
    cycle.name()
}

impl Scheduler {
    /// Starts from the last runs kept on disk (`(range, cycle, unix seconds)`); unknown cycle
    /// names (from a newer agent version) are ignored.
    pub fn from_last_runs(rows: impl IntoIterator<Item = (String, String, i64)>) -> Scheduler {
        let last = rows
            .into_iter()
            .filter_map(|(range, cycle, at)| {
                Some(((range, Cycle::from_name(&cycle)?), DateTime::<Utc>::from_timestamp(at, 0)?))
            })
            .collect();
        Scheduler { last }
    }

    pub fn last_run(&self, range_id: &str, cycle: Cycle) -> Option<DateTime<Utc>> {
        self.last.get(&(range_id.to_owned(), cycle)).copied()
    }

    /// Records that a cycle started at `at` (a run counts from its start, so a long cycle does
    /// not push the next one later and later).
    pub fn ran(&mut self, range_id: &str, cycle: Cycle, at: DateTime<Utc>) {
        self.last.insert((range_id.to_owned(), cycle), at);
    }

    /// The cycles due at `now`, and the configuration problems found on the way. A range that
    /// never ran is due at once if its schedule has any slot in the past week.
    pub fn due(&self, config: &AgentConfig, now: DateTime<Utc>) -> (Vec<Due>, Vec<PlanError>) {
        let mut due = Vec::new();
        let mut problems = Vec::new();
        for range in &config.ranges {
            let Ok(tz) = range.site_time_zone.parse::<Tz>() else {
                problems.push(PlanError::TimeZone { range_id: range.id.clone(), zone: range.site_time_zone.clone() });
                continue;
            };
            for (cycle, schedule) in &range.schedules {
                if let Err(err) = schedule.validate() {
                    problems.push(PlanError::Schedule {
                        range_id: range.id.clone(),
                        cycle: *cycle,
                        reason: err.to_string(),
                    });
                    continue;
                }
                if schedule.is_due(self.last_run(&range.id, *cycle), now, tz) {
                    due.push(Due { range_id: range.id.clone(), cycle: *cycle });
                }
            }
        }
        due.sort();
        (due, problems)
    }

    /// When the next cycle falls due after `now` (for sleeping until then); `None` when
    /// nothing is scheduled.
    pub fn next_wake(&self, config: &AgentConfig, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        config
            .ranges
            .iter()
            .filter_map(|range| Some((range, range.site_time_zone.parse::<Tz>().ok()?)))
            .flat_map(|(range, tz)| {
                range.schedules.iter().filter(|(_, s)| s.validate().is_ok()).filter_map(move |(cycle, schedule)| {
                    let since = self.last_run(&range.id, *cycle).unwrap_or(now).max(now);
                    schedule.next_run(since, tz)
                })
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use cartouche_schema::schedule::Schedule;
    use cartouche_schema::wire::RangeConfig;
    use chrono::Weekday;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn config(zone: &str) -> AgentConfig {
        let weekdays = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
        AgentConfig {
            ranges: vec![RangeConfig {
                id: "hq".into(),
                ranges: "10.1.0.0/24".into(),
                site_time_zone: zone.into(),
                credentials: vec![],
                schedules: [
                    (Cycle::Counters, Schedule::window(&weekdays, 8, 18).unwrap()),
                    (Cycle::Discovery, Schedule::Once { weekday: Weekday::Sun, hour: 2 }),
                    (Cycle::Alerts, Schedule::Disabled),
                ]
                .into_iter()
                .collect(),
            }],
            ..AgentConfig::default()
        }
    }

    #[test]
    fn a_new_agent_runs_at_once_then_follows_the_site_hours() {
        let config = config("Europe/Paris");
        let mut scheduler = Scheduler::default();
        // Monday 2026-11-30 09:10 in Paris (08:10 UTC).
        let now = utc("2026-11-30T08:10:00Z");
        let (due, problems) = scheduler.due(&config, now);
        assert!(problems.is_empty());
        let due_cycles: Vec<Cycle> = due.iter().map(|d| d.cycle).collect();
        assert_eq!(due_cycles, vec![Cycle::Discovery, Cycle::Counters], "never ran: due now; alerts disabled");
        scheduler.ran("hq", Cycle::Discovery, now);
        scheduler.ran("hq", Cycle::Counters, now);
        assert!(scheduler.due(&config, utc("2026-11-30T08:59:00Z")).0.is_empty());
        // 10:00 Paris: counters again; discovery waits for Sunday 02:00.
        let (due, _) = scheduler.due(&config, utc("2026-11-30T09:00:30Z"));
        assert_eq!(due, vec![Due { range_id: "hq".into(), cycle: Cycle::Counters }]);
        assert_eq!(scheduler.next_wake(&config, utc("2026-11-30T08:30:00Z")), Some(utc("2026-11-30T09:00:00Z")));
    }

    #[test]
    fn missed_slots_are_coalesced_and_last_runs_survive_a_restart() {
        let config = config("Europe/Paris");
        // Last counters run Friday 17:00 Paris; the agent was off all weekend.
        let rows = vec![
            ("hq".to_owned(), "counters".to_owned(), utc("2026-11-27T16:00:00Z").timestamp()),
            ("hq".to_owned(), "discovery".to_owned(), utc("2026-11-29T01:00:00Z").timestamp()),
            ("hq".to_owned(), "from-the-future".to_owned(), 0),
        ];
        let scheduler = Scheduler::from_last_runs(rows);
        // Monday 11:30 Paris: three slots (8, 9, 10, 11) were missed; one run is due.
        let (due, _) = scheduler.due(&config, utc("2026-11-30T10:30:00Z"));
        assert_eq!(due, vec![Due { range_id: "hq".into(), cycle: Cycle::Counters }]);
        // Saturday: nothing, in Paris hours.
        assert!(
            Scheduler::from_last_runs(vec![
                ("hq".to_owned(), "counters".to_owned(), utc("2026-11-27T16:00:00Z").timestamp()),
                ("hq".to_owned(), "discovery".to_owned(), utc("2026-11-22T01:00:00Z").timestamp()),
            ])
            .due(&config, utc("2026-11-28T12:00:00Z"))
            .0
            .is_empty()
        );
    }

    #[test]
    fn a_bad_time_zone_is_named_and_skips_only_its_range() {
        let mut config = config("Europe/Pariss");
        let mut good = config.ranges[0].clone();
        good.id = "branch".into();
        good.site_time_zone = "America/Montreal".into();
        config.ranges.push(good);
        let (due, problems) = Scheduler::default().due(&config, utc("2026-11-30T15:00:00Z"));
        assert_eq!(problems, vec![PlanError::TimeZone { range_id: "hq".into(), zone: "Europe/Pariss".into() }]);
        assert!(problems[0].to_string().contains("Europe/Pariss"));
        assert!(due.iter().all(|d| d.range_id == "branch") && !due.is_empty());
    }
}
