//! When a cycle runs, edited on a weekday × hour grid: off, chosen hours of chosen days, or once
//! a week. The grid is one tab stop; arrow keys move inside it, Space or Enter switches an hour,
//! Home/End jump to the ends of a day; a day's name switches the whole day, an hour's the hour on
//! every day.

use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use cartouche_schema::schedule::Schedule;
use cartouche_schema::wire::Cycle;

use crate::context::use_app;
use crate::i18n::Text;

/// The schema's weekday words, Monday first, as the grid's rows.
pub const WEEKDAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
const DAY_NAMES: [Text; 7] = [Text::Mon, Text::Tue, Text::Wed, Text::Thu, Text::Fri, Text::Sat, Text::Sun];
const ALL_HOURS: u32 = (1 << 24) - 1;

/// A cycle's schedule, independent of any one GraphQL document's generated types.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    Off,
    /// Hour bits (bit h: the hour starting at h:00) of each weekday, Monday first.
    Weekly([u32; 7]),
    Once {
        day: usize,
        hour: u8,
    },
}

impl Plan {
    /// From a schedule as the API reads it out (`kind`, `days`, `once`), given as JSON.
    pub fn from_json(schedule: &Value) -> Plan {
        let day = |v: &Value| WEEKDAYS.iter().position(|d| v.as_str() == Some(d)).unwrap_or(0);
        match schedule["kind"].as_str() {
            Some("DISABLED") => Plan::Off,
            Some("ONCE") => Plan::Once {
                day: day(&schedule["once"]["weekday"]),
                hour: schedule["once"]["hour"].as_u64().and_then(|h| u8::try_from(h).ok()).unwrap_or(0),
            },
            _ => {
                let mut hours = [0u32; 7];
                for entry in schedule["days"].as_array().into_iter().flatten() {
                    for hour in entry["hours"].as_array().into_iter().flatten().filter_map(Value::as_u64) {
                        if hour < 24 {
                            hours[day(&entry["weekday"])] |= 1 << hour;
                        }
                    }
                }
                Plan::Weekly(hours)
            }
        }
    }

    /// A cycle's default (what the API applies to a cycle left out).
    pub fn default_of(cycle: Cycle) -> Plan {
        match cycle.default_schedule() {
            Schedule::Disabled => Plan::Off,
            Schedule::Weekly { hours } => Plan::Weekly(hours),
            Schedule::Once { weekday, hour } => {
                Plan::Once { day: weekday.num_days_from_monday() as usize, hour: u8::try_from(hour).unwrap_or(0) }
            }
        }
    }

    /// The API's `ScheduleInput`, as JSON. A weekly plan without any hour is sent as off
    /// (the API refuses an empty week; the editor says so before saving).
    pub fn to_input(&self) -> Value {
        match self {
            Plan::Off => json!({ "disabled": true }),
            Plan::Once { day, hour } => json!({ "once": { "weekday": WEEKDAYS[*day], "hour": hour } }),
            Plan::Weekly(hours) => {
                let days: Vec<Value> = WEEKDAYS
                    .iter()
                    .zip(hours)
                    .filter(|(_, bits)| **bits != 0)
                    .map(|(day, bits)| json!({ "weekday": day, "hours": (0..24).filter(|h| bits & (1 << h) != 0).collect::<Vec<u32>>() }))
                    .collect();
                if days.is_empty() { json!({ "disabled": true }) } else { json!({ "weekly": days }) }
            }
        }
    }

    /// Runs a week.
    pub fn runs_a_week(&self) -> u32 {
        match self {
            Plan::Off => 0,
            Plan::Once { .. } => 1,
            Plan::Weekly(hours) => hours.iter().map(|h| h.count_ones()).sum(),
        }
    }
}

/// A short description for lists: "off", "Mon 10:00", "55 runs a week".
pub fn summary(app_t: impl Fn(Text) -> &'static str, plan: &Plan) -> String {
    match plan {
        Plan::Off => app_t(Text::ScheduleOff).to_owned(),
        Plan::Once { day, hour } => format!("{} {hour:02}:00", app_t(DAY_NAMES[*day])),
        Plan::Weekly(_) => format!("{} {}", plan.runs_a_week(), app_t(Text::RunsAWeek)),
    }
}

/// Monday to Friday, 8:00 to 18:00 (the last run at 17:00).
fn working_hours() -> [u32; 7] {
    let day = (8..18).fold(0u32, |bits, h| bits | (1 << h));
    [day, day, day, day, day, 0, 0]
}

#[derive(Properties, PartialEq)]
pub struct ScheduleEditorProps {
    /// Names the editor's elements (`schedule-discovery-…`).
    pub id: AttrValue,
    pub legend: AttrValue,
    pub plan: Plan,
    pub on_change: Callback<Plan>,
}

#[function_component(ScheduleEditor)]
pub fn schedule_editor(props: &ScheduleEditorProps) -> Html {
    let app = use_app();
    let mode = |plan: Plan, value: &'static str, label: Text, checked: bool| {
        let on_change = props.on_change.clone();
        let id = format!("{}-{value}", props.id);
        html! {
            <label for={id.clone()} class="choice">
                <input type="radio" id={id} name={format!("{}-mode", props.id)} value={value} {checked}
                    onchange={Callback::from(move |_| on_change.emit(plan.clone()))} />
                { app.t(label) }
            </label>
        }
    };
    let weekly_default = Plan::Weekly(working_hours());
    let body = match &props.plan {
        Plan::Off => html! { <p class="hint">{ app.t(Text::ScheduleOffHint) }</p> },
        Plan::Weekly(hours) => html! {
            <HourGrid id={props.id.clone()} hours={*hours}
                on_change={props.on_change.reform(Plan::Weekly)} />
        },
        Plan::Once { day, hour } => {
            let (day, hour) = (*day, *hour);
            let on_day = props.on_change.reform(move |e: Event| Plan::Once {
                day: e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(0),
                hour,
            });
            let on_hour = props.on_change.reform(move |e: Event| Plan::Once {
                day,
                hour: e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(0),
            });
            html! {
                <div class="row">
                    <div class="field">
                        <label for={format!("{}-day", props.id)}>{ app.t(Text::Day) }</label>
                        <select id={format!("{}-day", props.id)} onchange={on_day}>
                            { for DAY_NAMES.iter().enumerate().map(|(i, name)| html! {
                                <option value={i.to_string()} selected={i == day}>{ app.t(*name) }</option>
                            }) }
                        </select>
                    </div>
                    <div class="field">
                        <label for={format!("{}-hour", props.id)}>{ app.t(Text::Hour) }</label>
                        <select id={format!("{}-hour", props.id)} onchange={on_hour}>
                            { for (0..24u8).map(|h| html! {
                                <option value={h.to_string()} selected={h == hour}>{ format!("{h:02}:00") }</option>
                            }) }
                        </select>
                    </div>
                </div>
            }
        }
    };
    html! {
        <fieldset class="schedule" id={props.id.clone()}>
            <legend>{ &props.legend }</legend>
            <div class="choices" role="radiogroup" aria-label={props.legend.clone()}>
                { mode(Plan::Off, "off", Text::ScheduleOff, props.plan == Plan::Off) }
                { mode(
                    if matches!(props.plan, Plan::Weekly(_)) { props.plan.clone() } else { weekly_default },
                    "weekly", Text::ScheduleWeekly, matches!(props.plan, Plan::Weekly(_)),
                ) }
                { mode(Plan::Once { day: 0, hour: 10 }, "once", Text::ScheduleOnce, matches!(props.plan, Plan::Once { .. })) }
            </div>
            { body }
        </fieldset>
    }
}

#[derive(Properties, PartialEq)]
struct HourGridProps {
    id: AttrValue,
    hours: [u32; 7],
    on_change: Callback<[u32; 7]>,
}

/// The weekday × hour grid, one tab stop with arrow-key movement (WAI-ARIA grid pattern).
#[function_component(HourGrid)]
fn hour_grid(props: &HourGridProps) -> Html {
    let app = use_app();
    let focus = use_state(|| (0usize, 8u8));
    let hours = props.hours;
    let cell_id = {
        let id = props.id.clone();
        move |day: usize, hour: u8| format!("{id}-{day}-{hour}")
    };
    let set = {
        let on_change = props.on_change.clone();
        move |next: [u32; 7]| on_change.emit(next)
    };
    let onkeydown = {
        let (focus, cell_id) = (focus.clone(), cell_id.clone());
        Callback::from(move |e: KeyboardEvent| {
            let (day, hour) = *focus;
            let next = match e.key().as_str() {
                "ArrowRight" => (day, (hour + 1).min(23)),
                "ArrowLeft" => (day, hour.saturating_sub(1)),
                "ArrowDown" => ((day + 1).min(6), hour),
                "ArrowUp" => (day.saturating_sub(1), hour),
                "Home" => (day, 0),
                "End" => (day, 23),
                _ => return,
            };
            e.prevent_default();
            focus.set(next);
            let element = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(&cell_id(next.0, next.1)))
                .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(element) = element {
                let _ = element.focus();
            }
        })
    };
    let preset = |label: Text, value: [u32; 7]| {
        let set = set.clone();
        html! { <button type="button" onclick={Callback::from(move |_| set(value))}>{ app.t(label) }</button> }
    };
    html! {
        <div class="hour-grid">
            <div class="presets">
                { preset(Text::WorkingHours, working_hours()) }
                { preset(Text::EveryHour, [ALL_HOURS; 7]) }
                { preset(Text::Clear, [0; 7]) }
                <span class="hint" role="status">{ format!("{} {}", Plan::Weekly(hours).runs_a_week(), app.t(Text::RunsAWeek)) }</span>
            </div>
            if hours.iter().all(|h| *h == 0) {
                <p class="field-error" role="alert">{ app.t(Text::NoHourChosen) }</p>
            }
            <table role="grid" aria-label={app.t(Text::ScheduleWeekly)} {onkeydown}>
                <thead><tr>
                    <td></td>
                    { for (0..24u8).map(|hour| {
                        let set = set.clone();
                        let every_day = hours.iter().all(|bits| bits & (1 << hour) != 0);
                        let onclick = Callback::from(move |_| {
                            let mut next = hours;
                            for bits in &mut next {
                                if every_day { *bits &= !(1 << hour) } else { *bits |= 1 << hour }
                            }
                            set(next)
                        });
                        html! {
                            <th scope="col"><button type="button" class="hour-head" tabindex="-1"
                                aria-label={format!("{hour:02}:00, {}", app.t(Text::EveryDay))} {onclick}>{ hour }</button></th>
                        }
                    }) }
                </tr></thead>
                <tbody>
                    { for (0..7usize).map(|day| {
                        let whole = hours[day] == ALL_HOURS;
                        let on_day = {
                            let set = set.clone();
                            Callback::from(move |_| {
                                let mut next = hours;
                                next[day] = if whole { 0 } else { ALL_HOURS };
                                set(next)
                            })
                        };
                        html! {
                            <tr>
                                <th scope="row"><button type="button" class="day-head" tabindex="-1"
                                    aria-label={format!("{}, {}", app.t(DAY_NAMES[day]), app.t(Text::EveryHour))}
                                    onclick={on_day}>{ app.t(DAY_NAMES[day]) }</button></th>
                                { for (0..24u8).map(|hour| {
                                    let on = hours[day] & (1 << hour) != 0;
                                    let onclick = {
                                        let (set, focus) = (set.clone(), focus.clone());
                                        Callback::from(move |_| {
                                            let mut next = hours;
                                            next[day] ^= 1 << hour;
                                            focus.set((day, hour));
                                            set(next)
                                        })
                                    };
                                    let tabindex = if *focus == (day, hour) { "0" } else { "-1" };
                                    html! {
                                        <td role="gridcell">
                                            <button type="button" id={cell_id(day, hour)} class={classes!("slot", on.then_some("on"))}
                                                aria-pressed={on.to_string()} {tabindex}
                                                aria-label={format!("{} {hour:02}:00", app.t(DAY_NAMES[day]))} {onclick}></button>
                                        </td>
                                    }
                                }) }
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        </div>
    }
}
