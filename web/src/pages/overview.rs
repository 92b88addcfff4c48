mod attention;

use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::ApiError;
use crate::components::format::short_time;
use crate::context::{role_text, use_app};
use crate::i18n::Text;
use crate::live::use_live_count;
use crate::queries::{self, FleetSummary as SummaryQuery, OpenAlerts as OpenAlertsQuery};
use crate::route::Route;

type Summary = queries::fleet_summary::FleetSummaryFleetSummary;

/// Supplies below this level count as low on the overview.
pub(crate) const LOW_SUPPLY_PERCENT: f64 = 10.0;

/// The fleet at a glance: devices by status, open alerts, low supplies, agents linked.
#[function_component(FleetGlance)]
fn fleet_glance() -> Html {
    let app = use_app();
    let summary = use_state(|| None::<Result<Summary, ApiError>>);
    // Counted again whenever a device changes: the tiles are live.
    let changes = use_live_count("subscription { deviceUpdated { deviceId } }", serde_json::json!({}));
    {
        let (api, summary) = (app.api.clone(), summary.clone());
        use_effect_with(changes, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let vars = queries::fleet_summary::Variables { low: Some(LOW_SUPPLY_PERCENT) };
                summary.set(Some(api.run::<SummaryQuery>(vars).await.map(|data| data.fleet_summary)));
            });
        });
    }
    let tile = |class: &'static str, value: i64, label: Text| {
        html! {
            <li class={classes!("tile", class)}>
                <span class="value">{ value }</span>
                <span class="label">{ app.t(label) }</span>
            </li>
        }
    };
    match &*summary {
        None => html! { <p role="status">{ app.t(Text::Loading) }</p> },
        Some(Err(error)) => html! { <p class="form-error" role="alert">{ &error.message }</p> },
        Some(Ok(s)) => html! {
            <section class="glance" aria-label={app.t(Text::FleetAtAGlance)}>
                <h2>{ app.t(Text::FleetAtAGlance) }</h2>
                <ul class="tiles">
                    { tile("total", s.devices, Text::Devices) }
                    { tile("ok", s.ok, Text::StatusOk) }
                    { tile("warning", s.warning, Text::StatusWarning) }
                    { tile("error", s.error, Text::StatusError) }
                    { tile("offline", s.offline, Text::StatusOffline) }
                    { tile("asleep", s.asleep, Text::StatusAsleep) }
                    { tile("unknown", s.unknown, Text::StatusUnknown) }
                </ul>
                <ul class="tiles">
                    { tile(if s.open_alerts > 0 { "error" } else { "ok" }, s.open_alerts, Text::OpenAlerts) }
                    { tile(if s.low_supplies > 0 { "warning" } else { "ok" }, s.low_supplies, Text::LowSupplies) }
                    <li class={classes!("tile", "agents", if s.agents_connected < s.agents { "warning" } else { "ok" })}>
                        <span class="value">{ format!("{} / {}", s.agents_connected, s.agents) }</span>
                        <span class="label">{ app.t(Text::AgentsLinked) }</span>
                    </li>
                </ul>
                <Link<Route> to={Route::Devices}>{ app.t(Text::SeeDevices) }</Link<Route>>
            </section>
        },
    }
}

type OpenAlert = queries::open_alerts::OpenAlertsAlertsEdgesNode;

/// The open alerts, newest first, live.
#[function_component(AlertFeed)]
fn alert_feed() -> Html {
    let app = use_app();
    let alerts = use_state(|| None::<Result<Vec<OpenAlert>, ApiError>>);
    let changes = use_live_count("subscription { alertChanged { deviceId } }", serde_json::json!({}));
    {
        let (api, alerts) = (app.api.clone(), alerts.clone());
        use_effect_with(changes, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let vars = queries::open_alerts::Variables { first: Some(10) };
                let found = api.run::<OpenAlertsQuery>(vars).await;
                alerts.set(Some(found.map(|data| data.alerts.edges.into_iter().map(|e| e.node).collect())));
            });
        });
    }
    html! {
        <section class="panel feed" aria-labelledby="open-alerts" aria-live="polite">
            <h2 id="open-alerts">{ app.t(Text::OpenAlerts) }</h2>
            { match &*alerts {
                None => html! { <p role="status">{ app.t(Text::Loading) }</p> },
                Some(Err(error)) => html! { <p class="form-error" role="alert">{ &error.message }</p> },
                Some(Ok(list)) if list.is_empty() => html! { <p class="empty">{ app.t(Text::NoAlerts) }</p> },
                Some(Ok(list)) => html! {
                    <ul class="alerts">
                        { for list.iter().map(|alert| {
                            let device = alert.device.as_ref();
                            let name = device
                                .map(|d| [d.vendor.as_deref(), d.model.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" "))
                                .filter(|n| !n.is_empty())
                                .or_else(|| device.map(|d| d.address.clone()))
                                .unwrap_or_default();
                            html! {
                                <li class={classes!("alert", alert.severity.clone())}>
                                    <strong>{ alert.fault_type.replace('_', " ") }</strong>
                                    { " — " }
                                    if let Some(device) = device {
                                        <Link<Route> to={Route::Device { id: device.id.clone() }}>{ name }</Link<Route>>
                                    }
                                    <span class="secondary">
                                        { format!("{} · {}", short_time(&alert.started_at), alert.description.clone().unwrap_or_default()) }
                                    </span>
                                </li>
                            }
                        }) }
                    </ul>
                },
            } }
        </section>
    }
}

/// Where a signed-in user lands: who and where they are, and what they can set up.
#[function_component(Overview)]
pub fn overview() -> Html {
    let app = use_app();
    let viewer = &app.viewer;
    let card = |to: Route, title: Text| {
        html! {
            <li class="card">
                <Link<Route> to={to}>{ app.t(title) }</Link<Route>>
            </li>
        }
    };
    html! {
        <section class="page">
            <h1>{ app.t(Text::Overview) }</h1>
            <dl class="facts">
                <dt>{ app.t(Text::SignedInAs) }</dt>
                <dd>{ viewer.me.email.clone().unwrap_or_else(|| viewer.me.display_name.clone()) }</dd>
                <dt>{ app.t(Text::YourTenant) }</dt>
                <dd>{ &viewer.me.tenant.name }</dd>
                <dt>{ app.t(Text::YourRole) }</dt>
                <dd>{ app.t(role_text(viewer.role)) }</dd>
            </dl>
            <FleetGlance />
            <attention::Attention />
            <AlertFeed />
            <p>{ app.t(Text::OverviewIntro) }</p>
            <ul class="cards">
                { card(Route::Sites, Text::Sites) }
                { card(Route::Customers, Text::Customers) }
                { card(Route::Users, Text::Users) }
                if viewer.role.can_manage_users() {
                    { card(Route::ApiTokens, Text::ApiTokens) }
                }
            </ul>
        </section>
    }
}
