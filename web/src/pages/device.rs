//! One device: identity, status with the decoded error bits and who can fix each, counters
//! (latest values, and any counter over a chosen period as a chart), supplies with their
//! serials and history, alerts with their fault and who can fix it, where it has been, and the
//! raw readings behind the values.

mod chart;
mod sources;

use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::ApiError;
use crate::components::format::{short_date, short_time};
use crate::components::gauge::supply_gauge;
use crate::context::use_app;
use crate::i18n::Text;
use crate::live::use_live_count;
use crate::pages::devices::status_of;
use crate::queries::{self, Device as DeviceQuery};
use crate::route::Route;

use chart::CounterChart;
use sources::RawReadings;

type Device = queries::device::DeviceDevice;

#[derive(Properties, PartialEq)]
pub struct DevicePageProps {
    pub id: String,
}

/// Who can fix a fault, in words (the API's `fixedBy`).
pub(crate) fn who(app: &crate::context::AppContext, fixed_by: &str) -> &'static str {
    match fixed_by {
        "user" => app.t(Text::FixedByUser),
        "trained_user" => app.t(Text::FixedByTrainedUser),
        _ => app.t(Text::FixedByTechnician),
    }
}

/// Who can fix it, a specialist badge when one must come, and the usual time.
fn fixer(app: &crate::context::AppContext, fixed_by: &str, specialist: bool, minutes: i64) -> Html {
    html! {
        <span class="fixer">
            { who(app, fixed_by) }
            if specialist { { " " }<span class="badge specialist">{ app.t(Text::SpecialistNeeded) }</span> }
            <span class="secondary">{ format!(" ~{minutes}\u{a0}min") }</span>
        </span>
    }
}

#[function_component(DevicePage)]
pub fn device_page(props: &DevicePageProps) -> Html {
    let app = use_app();
    let device = use_state(|| None::<Result<Device, ApiError>>);
    // Read again when the device changes (a new reading, a supply, an alert): live.
    let changes = use_live_count(
        "subscription($id: ID) { deviceUpdated(deviceId: $id) { deviceId } }",
        serde_json::json!({ "id": props.id }),
    );
    let shown = use_mut_ref(String::new);
    {
        let (api, device) = (app.api.clone(), device.clone());
        use_effect_with((props.id.clone(), changes), move |(id, _)| {
            let id = id.clone();
            // Another device: its own loading state; the same one read again: no flicker.
            if *shown.borrow() != id {
                device.set(None);
                *shown.borrow_mut() = id.clone();
            }
            wasm_bindgen_futures::spawn_local(async move {
                let vars = queries::device::Variables { id };
                device.set(Some(api.run::<DeviceQuery>(vars).await.map(|data| data.device)));
            });
        });
    }
    let back = html! { <Link<Route> to={Route::Devices}>{ app.t(Text::BackToDevices) }</Link<Route>> };
    let device = match &*device {
        None => return html! { <section class="page"><p role="status">{ app.t(Text::Loading) }</p></section> },
        Some(Err(error)) => {
            return html! {
                <section class="page">
                    <p class="form-error" role="alert">{ &error.message }</p>
                    { back }
                </section>
            };
        }
        Some(Ok(device)) => device,
    };
    let (class, status) = status_of(&device.status);
    let title = [device.vendor.as_deref(), device.model.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let fact = |label: Text, value: Option<String>| match value.filter(|v| !v.is_empty()) {
        Some(value) => html! { <><dt>{ app.t(label) }</dt><dd>{ value }</dd></> },
        None => html! {},
    };
    let alerts: Vec<_> = device.alerts.edges.iter().map(|e| &e.node).collect();
    html! {
        <section class="page device-page">
            { back }
            <h1>
                { if title.is_empty() { device.address.clone() } else { title } }
                { " " }<span class={classes!("status", class)}>{ app.t(status) }</span>
            </h1>
            <div class="panels">
                <section class="panel" aria-labelledby="identity">
                    <h2 id="identity">{ app.t(Text::Identity) }</h2>
                    <dl class="facts">
                        { fact(Text::Serial, device.serial.clone()) }
                        { fact(Text::Address, Some(device.address.clone())) }
                        { fact(Text::HostName, device.host_name.clone()) }
                        { fact(Text::Mac, device.mac.clone()) }
                        { fact(Text::Firmware, device.firmware.clone()) }
                        { fact(Text::Location, device.location.clone()) }
                        { fact(Text::Profiles, Some(device.profiles.join(" › "))) }
                        { fact(Text::FirstSeen, Some(short_time(&device.first_seen_at))) }
                        { fact(Text::LastSeen, Some(short_time(&device.last_seen_at))) }
                    </dl>
                </section>
                <section class="panel" aria-labelledby="counters">
                    <h2 id="counters">{ app.t(Text::Counters) }</h2>
                    <dl class="facts">
                        { for device.latest_counters.iter().map(|c| html! {
                            <>
                                <dt>{ &c.kind }</dt>
                                <dd class="number">
                                    { c.value }
                                    if c.flag.is_some() {
                                        <span class="flag" title={app.t(Text::FlaggedCounter)} aria-label={app.t(Text::FlaggedCounter)}>{ " ⚑" }</span>
                                    }
                                </dd>
                            </>
                        }) }
                    </dl>
                    <h3>{ app.t(Text::CountersOverTime) }</h3>
                    <CounterChart device_id={device.id.clone()} {changes}
                        kinds={device.latest_counters.iter().map(|c| c.kind.clone()).collect::<Vec<_>>()} />
                </section>
            </div>
            <section class="panel" aria-labelledby="condition">
                <h2 id="condition">{ app.t(Text::WhatItReports) }</h2>
                if device.status_errors.is_empty() {
                    <p class="empty">{ app.t(Text::NoErrorBits) }</p>
                } else {
                    <ul class="status-errors">
                        { for device.status_errors.iter().map(|e| html! {
                            <li class="status-error" data-bit={e.bit.clone()}>
                                <strong>{ &e.fault.title }</strong>
                                <span class="mono secondary">{ format!(" ({})", e.bit) }</span>
                                { " — " }{ fixer(&app, &e.fault.fixed_by, e.fault.specialist_needed, e.fault.estimated_minutes) }
                            </li>
                        }) }
                    </ul>
                }
                if !device.status_history.is_empty() {
                    <h3>{ app.t(Text::StatusHistory) }</h3>
                    <ul class="events">
                        { for device.status_history.iter().map(|h| {
                            let (_, text) = status_of(&h.status);
                            html! {
                                <li>{ format!("{} — {}{}", short_time(&h.at), app.t(text),
                                    if h.errors.is_empty() { String::new() } else { format!(" ({})", h.errors.join(", ")) }) }</li>
                            }
                        }) }
                    </ul>
                }
            </section>
            <section class="panel" aria-labelledby="supplies">
                <h2 id="supplies">{ app.t(Text::Supplies) }</h2>
                <table class="list">
                    <thead><tr>
                        <th scope="col">{ app.t(Text::Supplies) }</th>
                        <th scope="col">{ app.t(Text::Status) }</th>
                        <th scope="col">{ app.t(Text::Serial) }</th>
                        <th scope="col">{ app.t(Text::PartNumber) }</th>
                        <th scope="col">{ app.t(Text::Installed) }</th>
                    </tr></thead>
                    <tbody>
                        { for device.supplies.iter().map(|s| html! {
                            <tr class="supply">
                                <td>
                                    { supply_gauge(s.color.as_deref(), &s.kind, s.percent, &s.state) }
                                    { s.description.clone().unwrap_or_else(|| s.kind.clone()) }
                                </td>
                                <td>{ match s.percent { Some(p) => format!("{p:.0}\u{a0}%"), None => s.state.clone() } }</td>
                                <td class="mono">{ s.serial.clone().unwrap_or_else(|| "—".into()) }</td>
                                <td class="mono">{ s.part_number.clone().unwrap_or_else(|| "—".into()) }</td>
                                <td>{ s.installed_at.as_deref().map(short_date).unwrap_or_else(|| "—".into()) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
                if !device.supply_events.is_empty() {
                    <h3>{ app.t(Text::SupplyHistory) }</h3>
                    <ul class="events">
                        { for device.supply_events.iter().map(|e| html! {
                            <li>{ format!("{} — #{} {}", short_time(&e.at), e.supply_index, e.kind.replace('_', " ")) }</li>
                        }) }
                    </ul>
                }
            </section>
            <section class="panel" aria-labelledby="alerts">
                <h2 id="alerts">{ app.t(Text::Alerts) }</h2>
                if alerts.is_empty() {
                    <p class="empty">{ app.t(Text::NoAlerts) }</p>
                } else {
                    <table class="list">
                        <thead><tr>
                            <th scope="col">{ app.t(Text::Alerts) }</th>
                            <th scope="col">{ app.t(Text::Severity) }</th>
                            <th scope="col">{ app.t(Text::WhoCanFix) }</th>
                            <th scope="col">{ app.t(Text::Started) }</th>
                            <th scope="col">{ app.t(Text::Ended) }</th>
                        </tr></thead>
                        <tbody>
                            { for alerts.iter().map(|a| html! {
                                <tr class={classes!("alert", a.ended_at.is_none().then_some("open"))}>
                                    <td>
                                        <strong>{ &a.fault.title }</strong>
                                        if let Some(description) = &a.description { <span class="secondary">{ description }</span> }
                                    </td>
                                    <td>{ &a.severity }</td>
                                    <td>
                                        { fixer(&app, &a.fault.fixed_by, a.fault.specialist_needed, a.fault.estimated_minutes) }
                                        if a.fault.parts_cost > 0.0 {
                                            <span class="secondary">{ format!(" · {} {:.0}\u{a0}€", app.t(Text::Parts), a.fault.parts_cost) }</span>
                                        }
                                    </td>
                                    <td>{ short_time(&a.started_at) }</td>
                                    <td>{ a.ended_at.as_deref().map(short_time).unwrap_or_else(|| app.t(Text::StillOpen).to_owned()) }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                }
            </section>
            <section class="panel" aria-labelledby="addresses">
                <h2 id="addresses">{ app.t(Text::Addresses) }</h2>
                <ul class="events">
                    { for device.addresses.iter().map(|a| html! {
                        <li>
                            <span class="mono">{ &a.address }</span>
                            { a.host_name.as_ref().map(|h| format!(" ({h})")).unwrap_or_default() }
                            { format!(" — {} {} → {}", app.t(Text::Since), short_time(&a.first_seen_at), short_time(&a.last_seen_at)) }
                        </li>
                    }) }
                </ul>
            </section>
            <RawReadings device_id={device.id.clone()} />
        </section>
    }
}
