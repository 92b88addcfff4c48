//! One agent's controls: run a cycle now, how often it polls local (USB) printers, and how its
//! latest cycles went.

use yew::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::format::short_time;
use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::{self, ConfigureAgent, RunCycle};

type Agent = queries::agents::AgentsAgentsEdgesNode;
type CycleKind = queries::run_cycle::CycleKind;

#[derive(Properties, PartialEq)]
pub struct AgentControlsProps {
    pub agent: Agent,
    pub on_changed: Callback<()>,
}

/// Where a "run now" order stands.
#[derive(Clone, PartialEq)]
enum Order {
    Sent,
    Waiting,
    Failed(String),
}

#[function_component(AgentControls)]
pub fn agent_controls(props: &AgentControlsProps) -> Html {
    let app = use_app();
    let cycle = use_state(|| "COUNTERS".to_owned());
    let order = use_state(|| None::<Order>);
    let agent = &props.agent;
    let on_run = {
        let (api, cycle, order, id) = (app.api.clone(), cycle.clone(), order.clone(), agent.id.clone());
        Callback::from(move |_: MouseEvent| {
            let (api, order) = (api.clone(), order.clone());
            let cycle = match cycle.as_str() {
                "DISCOVERY" => CycleKind::DISCOVERY,
                "ALERTS" => CycleKind::ALERTS,
                _ => CycleKind::COUNTERS,
            };
            let vars = queries::run_cycle::Variables { agent_id: id.clone(), cycle };
            wasm_bindgen_futures::spawn_local(async move {
                order.set(Some(match api.run::<RunCycle>(vars).await {
                    Ok(data) if data.run_cycle.delivered_at.is_some() => Order::Sent,
                    Ok(_) => Order::Waiting,
                    Err(err) => Order::Failed(err.message),
                }));
            });
        })
    };
    let on_cycle = {
        let cycle = cycle.clone();
        Callback::from(move |e: Event| cycle.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
    };
    let can_run = app.viewer.role.includes(cartouche_schema::domain::Role::Technician);
    let select_id = format!("run-cycle-{}", agent.id);
    html! {
        <div class="agent-controls">
            if can_run {
                <div class="row" role="group" aria-label={app.t(Text::RunNow)}>
                    <div class="field">
                        <label for={select_id.clone()}>{ app.t(Text::Cycle) }</label>
                        <select id={select_id} onchange={on_cycle}>
                            { for [("DISCOVERY", Text::CycleDiscovery), ("COUNTERS", Text::CycleCounters), ("ALERTS", Text::CycleAlerts)]
                                .iter().map(|(value, label)| html! {
                                    <option value={*value} selected={*cycle == *value}>{ app.t(*label) }</option>
                                }) }
                        </select>
                    </div>
                    <button type="button" class="run-now" onclick={on_run}>{ app.t(Text::RunNow) }</button>
                    <span role="status" class="hint">
                        { match &*order {
                            Some(Order::Sent) => app.t(Text::OrderSent).to_owned(),
                            Some(Order::Waiting) => app.t(Text::OrderWaiting).to_owned(),
                            Some(Order::Failed(message)) => message.clone(),
                            None => String::new(),
                        } }
                    </span>
                </div>
            }
            if app.viewer.role.can_manage_setup() {
                <LocalPrinters agent_id={agent.id.clone()} minutes={agent.usb_interval_minutes}
                    on_changed={props.on_changed.clone()} />
            }
            <h3>{ app.t(Text::LatestCycles) }</h3>
            if agent.cycle_reports.is_empty() {
                <p class="empty">{ app.t(Text::NoCycleYet) }</p>
            } else {
                <table class="list compact">
                    <thead><tr>
                        <th scope="col">{ app.t(Text::Cycle) }</th>
                        <th scope="col">{ app.t(Text::Started) }</th>
                        <th scope="col" class="number">{ app.t(Text::Duration) }</th>
                        <th scope="col" class="number">{ app.t(Text::DevicesRead) }</th>
                        <th scope="col" class="number">{ app.t(Text::DevicesFailed) }</th>
                        <th scope="col" class="number">{ app.t(Text::DevicesAsleep) }</th>
                        <th scope="col" class="number">{ app.t(Text::BatchesNotKept) }</th>
                    </tr></thead>
                    <tbody>
                        { for agent.cycle_reports.iter().map(|r| html! {
                            <tr class="cycle-report">
                                <td>{ match r.cycle.as_str() {
                                    "discovery" => app.t(Text::CycleDiscovery),
                                    "alerts" => app.t(Text::CycleAlerts),
                                    _ => app.t(Text::CycleCounters),
                                } }</td>
                                <td>{ short_time(&r.started_at) }</td>
                                <td class="number">{ format!("{:.1} s", r.duration_ms as f64 / 1000.0) }</td>
                                <td class="number">{ r.devices_read }</td>
                                <td class="number">{ r.devices_failed }</td>
                                <td class="number">{ r.devices_asleep }</td>
                                <td class={classes!("number", (r.batches_not_kept > 0).then_some("lost"))}>{ r.batches_not_kept }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct LocalPrintersProps {
    agent_id: String,
    minutes: Option<i64>,
    on_changed: Callback<()>,
}

/// Local (USB) printers: with the network counters, or every N minutes.
#[function_component(LocalPrinters)]
fn local_printers(props: &LocalPrintersProps) -> Html {
    let app = use_app();
    let with_counters = use_state(|| props.minutes.is_none());
    let minutes = use_state(|| props.minutes.unwrap_or(30).to_string());
    let error = use_state(|| None::<ApiError>);
    let saved = use_state(|| false);
    let onsubmit = {
        let (api, id, with_counters, minutes, error, saved, on_changed) = (
            app.api.clone(),
            props.agent_id.clone(),
            with_counters.clone(),
            minutes.clone(),
            error.clone(),
            saved.clone(),
            props.on_changed.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let interval = if *with_counters {
                None
            } else {
                match minutes.trim().parse::<i64>() {
                    Ok(m) => Some(m),
                    Err(_) => {
                        error.set(Some(ApiError {
                            code: "VALIDATION".into(),
                            message: format!("{:?} is not a number of minutes", *minutes),
                            field: Some("usbIntervalMinutes".into()),
                        }));
                        return;
                    }
                }
            };
            let input = queries::configure_agent::ConfigureAgentInput { name: None, usb_interval_minutes: interval };
            let vars = queries::configure_agent::Variables { id: id.clone(), input };
            let (api, error, saved, on_changed) = (api.clone(), error.clone(), saved.clone(), on_changed.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<ConfigureAgent>(vars).await {
                    Ok(_) => {
                        error.set(None);
                        saved.set(true);
                        on_changed.emit(());
                    }
                    Err(err) => {
                        saved.set(false);
                        error.set(Some(err));
                    }
                }
            });
        })
    };
    let on_toggle = {
        let (with_counters, saved) = (with_counters.clone(), saved.clone());
        Callback::from(move |_| {
            saved.set(false);
            with_counters.set(!*with_counters);
        })
    };
    let on_minutes = {
        let (minutes, saved) = (minutes.clone(), saved.clone());
        Callback::from(move |v: String| {
            saved.set(false);
            minutes.set(v);
        })
    };
    let check_id = format!("usb-with-counters-{}", props.agent_id);
    html! {
        <form class="local-printers" {onsubmit} aria-label={app.t(Text::LocalPrinters)}>
            <h3>{ app.t(Text::LocalPrinters) }</h3>
            <FormError error={(*error).clone()} fields={vec!["usbIntervalMinutes"]} />
            <div class="row">
                <label class="choice" for={check_id.clone()}>
                    <input type="checkbox" id={check_id} checked={*with_counters} onchange={on_toggle} />
                    { app.t(Text::WithNetworkCounters) }
                </label>
                if !*with_counters {
                    <Field name="usbIntervalMinutes" label={app.t(Text::EveryNMinutes)} value={(*minutes).clone()}
                        kind="number" error={(*error).clone()} oninput={on_minutes} />
                }
                <button type="submit">{ app.t(Text::Save) }</button>
                if *saved { <span class="hint" role="status">{ app.t(Text::Saved) }</span> }
            </div>
        </form>
    }
}
