//! What needs someone now: devices in error then in warning (with what they report), supplies
//! running out, and agents whose link is down. Read again whenever the fleet changes.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::ApiError;
use crate::components::format::short_time;
use crate::components::gauge::supply_gauge;
use crate::context::use_app;
use crate::i18n::Text;
use crate::live::use_live_count;
use crate::pages::devices::status_of;
use crate::queries::{self, Attention as AttentionQuery};
use crate::route::Route;

type Data = queries::attention::ResponseData;
type Device = queries::attention::AttentionDevice;

fn name(vendor: Option<&str>, model: Option<&str>, address: &str) -> String {
    let name = [vendor, model].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if name.is_empty() { address.to_owned() } else { name }
}

#[function_component(Attention)]
pub fn attention() -> Html {
    let app = use_app();
    let data = use_state(|| None::<Result<Data, ApiError>>);
    let devices = use_live_count("subscription { deviceUpdated { deviceId } }", serde_json::json!({}));
    let agents = use_live_count("subscription { agentStatusChanged { agentId } }", serde_json::json!({}));
    {
        let (api, data) = (app.api.clone(), data.clone());
        use_effect_with((devices, agents), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let vars = queries::attention::Variables { low: super::LOW_SUPPLY_PERCENT };
                data.set(Some(api.run::<AttentionQuery>(vars).await));
            });
        });
    }
    let data = match &*data {
        None => return html! { <p role="status">{ app.t(Text::Loading) }</p> },
        Some(Err(error)) => return html! { <p class="form-error" role="alert">{ &error.message }</p> },
        Some(Ok(data)) => data,
    };
    let device_row = |d: &Device| {
        let (class, text) = status_of(&d.status);
        let what: Vec<String> = d.status_errors.iter().map(|e| e.fault.title.clone()).collect();
        let specialist = d.status_errors.iter().any(|e| e.fault.specialist_needed);
        html! {
            <li class="attention-device">
                <span class={classes!("status", class)}>{ app.t(text) }</span>{ " " }
                <Link<Route> to={Route::Device { id: d.id.clone() }}>
                    { name(d.vendor.as_deref(), d.model.as_deref(), &d.address) }
                </Link<Route>>
                if !what.is_empty() { <span>{ format!(" — {}", what.join(", ")) }</span> }
                if specialist { { " " }<span class="badge specialist">{ app.t(Text::SpecialistNeeded) }</span> }
                <span class="secondary">{ format!(" · {}", short_time(&d.last_seen_at)) }</span>
            </li>
        }
    };
    let needing: Vec<&Device> = data.errors.nodes.iter().chain(&data.warnings.nodes).collect();
    html! {
        <div class="panels attention">
            <section class="panel" aria-labelledby="needs-attention">
                <h2 id="needs-attention">{ app.t(Text::NeedsAttention) }</h2>
                if needing.is_empty() {
                    <p class="empty">{ app.t(Text::NothingNeedsAttention) }</p>
                } else {
                    <ul class="events">{ for needing.into_iter().map(device_row) }</ul>
                }
            </section>
            <section class="panel" aria-labelledby="running-out">
                <h2 id="running-out">{ app.t(Text::LowSupplies) }</h2>
                if data.low_supplies.nodes.is_empty() {
                    <p class="empty">{ app.t(Text::NoLowSupplies) }</p>
                } else {
                    <ul class="events">
                        { for data.low_supplies.nodes.iter().map(|s| html! {
                            <li class="low-supply">
                                { supply_gauge(s.color.as_deref(), &s.kind, s.percent, &s.state) }
                                { s.description.clone().unwrap_or_else(|| s.kind.clone()) }
                                { format!(" {}\u{a0}% — ", s.percent.map(|p| format!("{p:.0}")).unwrap_or_else(|| "?".into())) }
                                if let Some(d) = &s.device {
                                    <Link<Route> to={Route::Device { id: d.id.clone() }}>
                                        { name(d.vendor.as_deref(), d.model.as_deref(), &d.address) }
                                    </Link<Route>>
                                }
                            </li>
                        }) }
                    </ul>
                }
            </section>
            <section class="panel" aria-labelledby="agents-offline">
                <h2 id="agents-offline">{ app.t(Text::AgentsOffline) }</h2>
                if data.agents_offline.nodes.is_empty() {
                    <p class="empty">{ app.t(Text::NoAgentOffline) }</p>
                } else {
                    <ul class="events">
                        { for data.agents_offline.nodes.iter().map(|a| html! {
                            <li class="agent-offline">
                                <Link<Route> to={Route::Agents}>{ &a.name }</Link<Route>>
                                <span class="secondary">{ format!(" · {} {}", app.t(Text::LastSeen),
                                    a.last_seen_at.as_deref().map(short_time).unwrap_or_else(|| app.t(Text::Never).into())) }</span>
                            </li>
                        }) }
                    </ul>
                }
            </section>
        </div>
    }
}
