//! Supplies to order: every measured supply's days to empty (P50/P90) and the date to order by
//! (the site's lead time before P90), soonest first; and the shipments, each cartridge with
//! what became of it and the pages it printed against its rated yield.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::ApiError;
use crate::components::format::short_date;
use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::{self, SupplyPlanning};
use crate::route::Route;

type Data = queries::supply_planning::ResponseData;

#[function_component(Supplies)]
pub fn supplies() -> Html {
    let app = use_app();
    let within = use_state(|| 30i64);
    let data = use_state(|| None::<Result<Data, ApiError>>);
    {
        let (api, data) = (app.api.clone(), data.clone());
        use_effect_with(*within, move |within| {
            let within = Some(*within);
            wasm_bindgen_futures::spawn_local(async move {
                data.set(Some(api.run::<SupplyPlanning>(queries::supply_planning::Variables { within }).await));
            });
        });
    }
    let on_within = {
        let within = within.clone();
        Callback::from(move |e: Event| {
            within.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().unwrap_or(30))
        })
    };
    let data = match &*data {
        None => return html! { <section class="page"><p role="status">{ app.t(Text::Loading) }</p></section> },
        Some(Err(error)) => {
            return html! { <section class="page"><p class="form-error" role="alert">{ &error.message }</p></section> };
        }
        Some(Ok(data)) => data,
    };
    let status = |s: &queries::supply_planning::ShippedSupplyStatus| match serde_json::to_value(s)
        .ok()
        .as_ref()
        .and_then(|v| v.as_str())
    {
        Some("INSTALLED") => ("ok", Text::ShippedInstalled),
        Some("INSTALLED_ELSEWHERE") => ("warning", Text::ShippedElsewhere),
        Some("NEVER_INSTALLED") => ("error", Text::ShippedNeverInstalled),
        _ => ("unknown", Text::ShippedWaiting),
    };
    html! {
        <section class="page supplies-page">
            <h1>{ app.t(Text::SuppliesToOrder) }</h1>
            <p class="hint">{ app.t(Text::ForecastIntro) }</p>
            <div class="field">
                <label for="order-within">{ app.t(Text::OrderWithin) }</label>
                <select id="order-within" onchange={on_within}>
                    { for [7i64, 14, 30, 90, 365].iter().map(|d| html! {
                        <option value={d.to_string()} selected={*within == *d}>{ format!("{d} {}", app.t(Text::DaysWord)) }</option>
                    }) }
                </select>
            </div>
            if data.supply_forecasts.is_empty() {
                <p class="empty">{ app.t(Text::NothingToOrder) }</p>
            } else {
                <table class="list forecasts">
                    <thead><tr>
                        <th scope="col">{ app.t(Text::Model) }</th>
                        <th scope="col">{ app.t(Text::Supplies) }</th>
                        <th scope="col" class="number">{ app.t(Text::LevelNow) }</th>
                        <th scope="col">{ app.t(Text::EmptyOn) }</th>
                        <th scope="col">{ app.t(Text::OrderBy) }</th>
                    </tr></thead>
                    <tbody>
                        { for data.supply_forecasts.iter().map(|f| {
                            let name = [f.vendor.as_deref(), f.model.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
                            html! {
                                <tr class="forecast" data-part={f.part_number.clone().unwrap_or_default()}>
                                    <td><Link<Route> to={Route::Device { id: f.device_id.clone() }}>{ name }</Link<Route>>
                                        <span class="secondary mono">{ format!(" {}", f.serial.clone().unwrap_or_default()) }</span></td>
                                    <td>{ f.description.clone().unwrap_or_else(|| f.kind.clone()) }
                                        <span class="secondary">{ f.part_number.as_ref().map(|p| format!(" · {p}")).unwrap_or_default() }</span></td>
                                    <td class="number">{ format!("{:.0}\u{a0}%", f.level) }</td>
                                    <td title={format!("{}: {}", app.t(Text::Basis), f.basis)}>
                                        { format!("{} – {}", f.empty_on_p90, f.empty_on_p50) }</td>
                                    <td><strong>{ &f.order_by }</strong></td>
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            }
            <h2>{ app.t(Text::Shipments) }</h2>
            if data.shipments.is_empty() {
                <p class="empty">{ app.t(Text::NoShipments) }</p>
            }
            { for data.shipments.iter().map(|s| html! {
                <div class="panel shipment">
                    <h3>{ format!("{} × {} ({}) — {}", s.quantity, s.model.name, s.model.part_number, s.shipped_on) }
                        if let Some(r) = &s.reference { <span class="secondary">{ format!(" · {r}") }</span> }</h3>
                    <table class="list compact">
                        <thead><tr>
                            <th scope="col">{ app.t(Text::Serial) }</th>
                            <th scope="col">{ app.t(Text::Status) }</th>
                            <th scope="col">{ app.t(Text::Installed) }</th>
                            <th scope="col" class="number">{ app.t(Text::Pages) }</th>
                            <th scope="col" class="number">{ app.t(Text::YieldAchieved) }</th>
                        </tr></thead>
                        <tbody>
                            { for s.supplies.iter().map(|c| {
                                let (class, text) = status(&c.status);
                                html! {
                                    <tr class="shipped" data-serial={c.serial.clone()}>
                                        <td class="mono">{ &c.serial }</td>
                                        <td><span class={classes!("status", class)}>{ app.t(text) }</span></td>
                                        <td>{ match (&c.device_id, &c.installed_at) {
                                            (Some(device), at) => html! { <Link<Route> to={Route::Device { id: device.clone() }}>
                                                { at.as_deref().map(short_date).unwrap_or_else(|| "—".into()) }</Link<Route>> },
                                            _ => html! { "—" },
                                        } }</td>
                                        <td class="number">{ c.pages_printed.map(|p| p.to_string()).unwrap_or_else(|| "—".into()) }</td>
                                        <td class="number">{ c.yield_ratio.map(|r| format!("{:.0}\u{a0}%", r * 100.0)).unwrap_or_else(|| "—".into()) }</td>
                                    </tr>
                                }
                            }) }
                        </tbody>
                    </table>
                </div>
            }) }
        </section>
    }
}
