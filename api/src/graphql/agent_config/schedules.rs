//! When each cycle runs, as GraphQL reads and writes it (`schema::schedule::Schedule`).

use async_graphql::{Enum, InputObject, OneofObject, SimpleObject};
use cartouche_schema::schedule::Schedule;
use cartouche_schema::wire::Cycle;

use crate::error::ApiError;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "cartouche_schema::wire::Cycle")]
pub enum CycleKind {
    Discovery,
    Counters,
    Alerts,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "chrono::Weekday")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ScheduleKind {
    /// Never runs.
    Disabled,
    /// At the start of the listed hours of the listed days.
    Weekly,
    /// Once a week, at one hour of one day.
    Once,
}

/// Hours of one weekday (0 to 23, local time of the site) when a cycle runs.
#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "DayHoursInput")]
pub struct DayHours {
    pub weekday: Weekday,
    pub hours: Vec<i32>,
}

/// One hour of one weekday.
#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "WeeklyHourInput")]
pub struct WeeklyHour {
    pub weekday: Weekday,
    pub hour: i32,
}

/// When a cycle runs, in the site's time zone.
#[derive(SimpleObject)]
pub struct CycleSchedule {
    pub cycle: CycleKind,
    pub kind: ScheduleKind,
    /// Weekly: the days and hours (days without hours are left out).
    pub days: Vec<DayHours>,
    /// Once: the day and hour.
    pub once: Option<WeeklyHour>,
}

/// Exactly one of: disabled, weekly hours, or once a week.
#[derive(OneofObject)]
pub enum ScheduleInput {
    /// Switches the cycle off (the value must be true).
    Disabled(bool),
    Weekly(Vec<DayHours>),
    Once(WeeklyHour),
}

#[derive(InputObject)]
pub struct CycleScheduleInput {
    pub cycle: CycleKind,
    pub schedule: ScheduleInput,
}

pub(super) fn schedule_output(cycle: Cycle, schedule: &Schedule) -> CycleSchedule {
    let cycle = cycle.into();
    match schedule {
        Schedule::Disabled => CycleSchedule { cycle, kind: ScheduleKind::Disabled, days: vec![], once: None },
        Schedule::Weekly { hours } => {
            let days = hours
                .iter()
                .enumerate()
                .filter(|(_, mask)| **mask != 0)
                .map(|(day, mask)| DayHours {
                    weekday: weekday_from_monday(day).into(),
                    hours: (0..24).filter(|h| mask & (1 << h) != 0).collect(),
                })
                .collect();
            CycleSchedule { cycle, kind: ScheduleKind::Weekly, days, once: None }
        }
        Schedule::Once { weekday, hour } => CycleSchedule {
            cycle,
            kind: ScheduleKind::Once,
            days: vec![],
            once: Some(WeeklyHour { weekday: (*weekday).into(), hour: i32::try_from(*hour).unwrap_or(0) }),
        },
    }
}

fn weekday_from_monday(day: usize) -> chrono::Weekday {
    let mut weekday = chrono::Weekday::Mon;
    for _ in 0..day {
        weekday = weekday.succ();
    }
    weekday
}

fn hour_of(field: &str, hour: i32) -> Result<u32, ApiError> {
    u32::try_from(hour)
        .ok()
        .filter(|h| *h < 24)
        .ok_or_else(|| ApiError::validation(field, format!("hour {hour} is not 0 to 23")))
}

fn schedule_input(index: usize, input: ScheduleInput) -> Result<Schedule, ApiError> {
    let field = format!("schedules[{index}].schedule");
    let schedule = match input {
        ScheduleInput::Disabled(true) => Schedule::Disabled,
        ScheduleInput::Disabled(false) => {
            return Err(ApiError::validation(field, "disabled must be true; give weekly or once to switch a cycle on"));
        }
        ScheduleInput::Weekly(days) => {
            let mut hours = [0u32; 7];
            for day in days {
                let slot = &mut hours[chrono::Weekday::from(day.weekday).num_days_from_monday() as usize];
                for hour in day.hours {
                    *slot |= 1 << hour_of(&format!("{field}.weekly"), hour)?;
                }
            }
            Schedule::Weekly { hours }
        }
        ScheduleInput::Once(at) => {
            Schedule::Once { weekday: at.weekday.into(), hour: hour_of(&format!("{field}.once.hour"), at.hour)? }
        }
    };
    schedule.validate().map_err(|e| ApiError::validation(field, e))?;
    Ok(schedule)
}

/// Cycle name → schedule, as stored; a cycle listed twice is an error.
pub(super) fn schedules_input(inputs: Vec<CycleScheduleInput>) -> Result<serde_json::Value, ApiError> {
    let mut map = serde_json::Map::new();
    for (index, input) in inputs.into_iter().enumerate() {
        let cycle: Cycle = input.cycle.into();
        let schedule = schedule_input(index, input.schedule)?;
        if map.contains_key(cycle.name()) {
            return Err(ApiError::validation(
                format!("schedules[{index}].cycle"),
                format!("{} is listed twice", cycle.name()),
            ));
        }
        map.insert(cycle.name().to_owned(), serde_json::to_value(schedule).map_err(ApiError::internal)?);
    }
    Ok(serde_json::Value::Object(map))
}
