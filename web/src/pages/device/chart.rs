//! A counter of one device over a chosen period, as a line; flagged readings marked. The kind
//! and period are the reader's choice; the points are the API's (last reading of each hour,
//! day or month, in the site's time zone).

use yew::prelude::*;

use crate::components::format::short_date;
use crate::context::{AppContext, use_app};
use crate::i18n::Text;
use crate::queries::{self, DeviceCounters};

type Point = queries::device_counters::DeviceCountersDeviceCounters;
type Granularity = queries::device_counters::CounterGranularity;

/// The periods offered: label, days back, and the granularity that keeps the points readable.
const PERIODS: [(Text, u32); 4] =
    [(Text::Last7Days, 7), (Text::Last30Days, 30), (Text::Last90Days, 90), (Text::LastYear, 365)];

fn granularity(days: u32) -> Granularity {
    match days {
        0..=7 => Granularity::HOUR,
        8..=400 => Granularity::DAY,
        _ => Granularity::MONTH,
    }
}

#[derive(Properties, PartialEq)]
pub struct CounterChartProps {
    pub device_id: String,
    /// The counters the device has (its latest values' kinds).
    pub kinds: Vec<String>,
    /// Moves on when the device changed: the chart is read again.
    pub changes: u32,
}

#[function_component(CounterChart)]
pub fn counter_chart(props: &CounterChartProps) -> Html {
    let app = use_app();
    let kind = use_state(|| {
        if props.kinds.iter().any(|k| k == "total") {
            "total".to_owned()
        } else {
            props.kinds.first().cloned().unwrap_or_default()
        }
    });
    let days = use_state(|| 90u32);
    let points = use_state(|| None::<Result<Vec<Point>, String>>);
    {
        let (api, points) = (app.api.clone(), points.clone());
        use_effect_with(
            (props.device_id.clone(), (*kind).clone(), *days, props.changes),
            move |(id, kind, days, _)| {
                let (id, kind, days) = (id.clone(), kind.clone(), *days);
                wasm_bindgen_futures::spawn_local(async move {
                    let now = js_sys::Date::new_0();
                    let from = js_sys::Date::new(&(now.get_time() - f64::from(days) * 86_400_000.0).into());
                    let vars = queries::device_counters::Variables {
                        id,
                        kind,
                        from: String::from(from.to_iso_string()),
                        to: String::from(now.to_iso_string()),
                        granularity: granularity(days),
                    };
                    let answer = api.run::<DeviceCounters>(vars).await;
                    points.set(Some(answer.map(|d| d.device.counters).map_err(|e| e.message)));
                });
            },
        );
    }
    let on_kind = {
        let kind = kind.clone();
        Callback::from(move |e: Event| kind.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
    };
    let on_days = {
        let days = days.clone();
        Callback::from(move |e: Event| {
            days.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(90))
        })
    };
    html! {
        <div class="counter-chart">
            <div class="row chart-controls">
                <div class="field">
                    <label for="chart-kind">{ app.t(Text::Counter) }</label>
                    <select id="chart-kind" onchange={on_kind}>
                        { for props.kinds.iter().map(|k| html! {
                            <option value={k.clone()} selected={*k == *kind}>{ k }</option>
                        }) }
                    </select>
                </div>
                <div class="field">
                    <label for="chart-period">{ app.t(Text::Period) }</label>
                    <select id="chart-period" onchange={on_days}>
                        { for PERIODS.iter().map(|(label, d)| html! {
                            <option value={d.to_string()} selected={*d == *days}>{ app.t(*label) }</option>
                        }) }
                    </select>
                </div>
            </div>
            { match &*points {
                None => html! { <p role="status">{ app.t(Text::Loading) }</p> },
                Some(Err(message)) => html! { <p class="form-error" role="alert">{ message }</p> },
                Some(Ok(points)) => line(&app, points),
            } }
        </div>
    }
}

/// The line, with the first and last values named for screen readers.
fn line(app: &AppContext, points: &[Point]) -> Html {
    if points.len() < 2 {
        return html! { <p class="empty">{ app.t(Text::NoCounterHistory) }</p> };
    }
    let (width, height, pad) = (600.0_f64, 160.0_f64, 8.0_f64);
    let min = points.iter().map(|p| p.value).min().unwrap_or(0) as f64;
    let max = points.iter().map(|p| p.value).max().unwrap_or(0) as f64;
    let span = (max - min).max(1.0);
    let at = |i: usize, value: i64| {
        let x = pad + (width - 2.0 * pad) * i as f64 / (points.len() - 1) as f64;
        let y = height - pad - (height - 2.0 * pad) * (value as f64 - min) / span;
        (x, y)
    };
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = at(i, p.value);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let first = points.first().map(|p| (short_date(&p.period), p.value)).unwrap_or_default();
    let last = points.last().map(|p| (short_date(&p.period), p.value)).unwrap_or_default();
    let summary = format!(
        "{}: {} — {}: {} ({} {})",
        first.0,
        first.1,
        last.0,
        last.1,
        last.1 - first.1,
        app.t(Text::InThePeriod)
    );
    html! {
        <figure class="chart">
            <svg viewBox={format!("0 0 {width} {height}")} role="img" aria-label={summary.clone()}>
                <polyline points={line.join(" ")} fill="none" stroke="currentColor" stroke-width="2" />
                { for points.iter().enumerate().filter(|(_, p)| p.flag.is_some()).map(|(i, p)| {
                    let (x, y) = at(i, p.value);
                    html! { <circle cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="4" class="flagged" /> }
                }) }
            </svg>
            <figcaption>{ summary }</figcaption>
        </figure>
    }
}
