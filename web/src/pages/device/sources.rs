//! For technicians: the raw readings behind the device's current values, exactly as its agent
//! sent them (varbinds in `.snmprec` form, web pages, notes), loaded on demand, with a filter
//! on OIDs.

use std::collections::BTreeMap;

use cartouche_schema::wire::RawReading;
use yew::prelude::*;

use crate::components::format::short_time;
use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::{self, DeviceSources};

/// One raw reading and the current values that come from it.
#[derive(Clone, PartialEq)]
struct Behind {
    sequence: i64,
    values: Vec<String>,
    reading: Option<RawReading>,
}

#[derive(Properties, PartialEq)]
pub struct RawReadingsProps {
    pub device_id: String,
}

#[function_component(RawReadings)]
pub fn raw_readings(props: &RawReadingsProps) -> Html {
    let app = use_app();
    let loaded = use_state(|| None::<Result<Vec<Behind>, String>>);
    let filter = use_state(String::new);
    let on_load = {
        let (api, loaded, id) = (app.api.clone(), loaded.clone(), props.device_id.clone());
        Callback::from(move |_: MouseEvent| {
            let (api, loaded, id) = (api.clone(), loaded.clone(), id.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let answer = api.run::<DeviceSources>(queries::device_sources::Variables { id }).await;
                loaded.set(Some(answer.map(|data| group(data.device)).map_err(|e| e.message)));
            });
        })
    };
    let on_filter = {
        let filter = filter.clone();
        Callback::from(move |e: InputEvent| filter.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
    };
    html! {
        <section class="panel raw-readings" aria-labelledby="raw-readings">
            <h2 id="raw-readings">{ app.t(Text::RawReadings) }</h2>
            <p class="hint">{ app.t(Text::RawReadingsHint) }</p>
            { match &*loaded {
                None => html! { <button type="button" class="show-raw" onclick={on_load}>{ app.t(Text::ShowRawReadings) }</button> },
                Some(Err(message)) => html! { <p class="form-error" role="alert">{ message }</p> },
                Some(Ok(behind)) => html! {
                    <>
                        <div class="field">
                            <label for="raw-filter">{ app.t(Text::FilterOids) }</label>
                            <input id="raw-filter" type="search" value={(*filter).clone()} oninput={on_filter}
                                placeholder="1.3.6.1.2.1.43.10" />
                        </div>
                        { for behind.iter().map(|b| reading(&app, b, &filter)) }
                    </>
                },
            } }
        </section>
    }
}

fn reading(app: &crate::context::AppContext, behind: &Behind, filter: &str) -> Html {
    let Some(reading) = &behind.reading else {
        return html! { <p class="empty">{ format!("#{}: {}", behind.sequence, app.t(Text::RawReadingGone)) }</p> };
    };
    let lines: Vec<&str> = reading.snmprec.lines().filter(|l| filter.is_empty() || l.contains(filter)).collect();
    html! {
        <details class="raw-reading" data-sequence={behind.sequence.to_string()}>
            <summary>
                { format!("#{} · {} · {} · {}", behind.sequence, short_time(&reading.read_at.to_rfc3339()), reading.address,
                    format!("{:?}", reading.cycle).to_lowercase()) }
                <span class="secondary">{ format!(" — {}", behind.values.join(", ")) }</span>
            </summary>
            <p class="hint">{ format!("{} / {} varbinds", lines.len(), reading.snmprec.lines().count()) }</p>
            <pre class="mono snmprec">{ lines.join("\n") }</pre>
            if !reading.notes.is_empty() {
                <ul class="events">{ for reading.notes.iter().map(|n| html! { <li>{ n }</li> }) }</ul>
            }
            { for reading.pages.iter().map(|(path, body)| html! {
                <details><summary class="mono">{ path }</summary><pre class="mono">{ body }</pre></details>
            }) }
        </details>
    }
}

/// The readings behind the values, newest batch first, each with the values it gave.
fn group(device: queries::device_sources::DeviceSourcesDevice) -> Vec<Behind> {
    let mut by_batch: BTreeMap<(String, i64), Behind> = BTreeMap::new();
    let mut add = |agent: String, sequence: i64, value: String, raw: Option<serde_json::Value>| {
        let entry = by_batch.entry((agent, sequence)).or_insert_with(|| Behind {
            sequence,
            values: Vec::new(),
            reading: raw.and_then(|r| serde_json::from_value(r).ok()),
        });
        entry.values.push(value);
    };
    for c in device.latest_counters {
        add(c.source.agent_id, c.source.sequence, c.kind, c.source.reading);
    }
    for s in device.supplies {
        let name = s.description.unwrap_or(s.kind);
        add(s.source.agent_id, s.source.sequence, format!("#{} {name}", s.index), s.source.reading);
    }
    let mut out: Vec<Behind> = by_batch.into_values().collect();
    out.sort_by_key(|b| std::cmp::Reverse(b.sequence));
    out
}
