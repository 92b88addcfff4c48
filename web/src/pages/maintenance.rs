//! Maintenance: the repair faults open now (by severity, skill needed, age and site), the work
//! orders (open ones first, or all; specialists' only), live as rules, telemetry and people
//! move them; and for managers the labour rates and the rules that open work orders by
//! themselves.

use serde_json::{Value, json};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::format::short_time;
use crate::components::reload::use_reloaded;
use crate::components::sites::use_site_names;
use crate::context::{AppContext, use_app};
use crate::i18n::Text;
use crate::live::use_live_count;
use crate::pages::device::who;
use crate::queries::{
    self, CreateWorkOrderRule, DeleteWorkOrderRule, Maintenance as MaintenanceQuery, SetLabourRate, WorkOrderRules,
};
use crate::route::Route;

type Data = queries::maintenance::ResponseData;

/// A GraphQL enum value as its wire word (`FIELD_TECHNICIAN` → `field_technician`).
pub(crate) fn word(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_lowercase)).unwrap_or_default()
}

pub(crate) fn status_text(status: &str) -> Text {
    match status {
        "open" => Text::WoOpen,
        "assigned" => Text::WoAssigned,
        "in_progress" => Text::WoInProgress,
        "waiting_parts" => Text::WoWaitingParts,
        "closed" => Text::WoClosed,
        _ => Text::WoCancelled,
    }
}

fn age_text(key: &str) -> Text {
    match key {
        "under_1h" => Text::AgeUnderHour,
        "under_1d" => Text::AgeUnderDay,
        "under_1w" => Text::AgeUnderWeek,
        _ => Text::AgeOlder,
    }
}

#[function_component(Maintenance)]
pub fn maintenance() -> Html {
    let app = use_app();
    let sites = use_site_names();
    let open_only = use_state(|| true);
    let specialist_only = use_state(|| false);
    let data = use_state(|| None::<Result<Data, ApiError>>);
    // Read again when a work order or an alert changes.
    let orders_changed = use_live_count("subscription { workOrderChanged { workOrderId } }", json!({}));
    let alerts_changed = use_live_count("subscription { alertChanged { deviceId } }", json!({}));
    {
        let (api, data) = (app.api.clone(), data.clone());
        use_effect_with(
            (*open_only, *specialist_only, orders_changed, alerts_changed),
            move |(open_only, specialist_only, _, _)| {
                let vars = queries::maintenance::Variables {
                    open: open_only.then_some(true),
                    specialist: specialist_only.then_some(true),
                };
                wasm_bindgen_futures::spawn_local(async move {
                    let fresh = api.run::<MaintenanceQuery>(vars).await;
                    data.set(Some(fresh));
                });
            },
        );
    }
    let toggle = |state: &UseStateHandle<bool>| {
        let state = state.clone();
        Callback::from(move |_: Event| state.set(!*state))
    };
    let body = match &*data {
        None => html! { <p role="status">{ app.t(Text::Loading) }</p> },
        Some(Err(error)) => html! { <p class="form-error" role="alert">{ &error.message }</p> },
        Some(Ok(data)) => {
            let d = &data.maintenance_dashboard;
            let tally = |items: Vec<(String, i64)>| {
                html! {
                    <ul class="tallies">
                        { for items.into_iter().map(|(label, count)| html! {
                            <li><span class="label">{ label }</span>{ " " }<span class="value">{ count }</span></li>
                        }) }
                    </ul>
                }
            };
            let severity: Vec<(String, i64)> = d
                .by_severity
                .iter()
                .map(|t| {
                    (
                        if t.key == "critical" { app.t(Text::SeverityCritical) } else { app.t(Text::StatusWarning) }
                            .to_owned(),
                        t.count,
                    )
                })
                .collect();
            let skill: Vec<(String, i64)> =
                d.by_skill.iter().map(|t| (who(&app, &t.key).to_owned(), t.count)).collect();
            let age: Vec<(String, i64)> =
                d.by_age.iter().map(|t| (app.t(age_text(&t.key)).to_owned(), t.count)).collect();
            let site: Vec<(String, i64)> = d
                .by_site
                .iter()
                .map(|t| {
                    let name = t
                        .site_id
                        .as_ref()
                        .and_then(|s| sites.get(s).cloned())
                        .unwrap_or_else(|| app.t(Text::NoSite).to_owned());
                    (name, t.count)
                })
                .collect();
            html! {
                <>
                    <ul class="tiles">
                        <li class="tile warning"><span class="value">{ d.open_faults }</span><span class="label">{ app.t(Text::OpenFaults) }</span></li>
                        <li class="tile"><span class="value">{ d.with_work_order }</span><span class="label">{ app.t(Text::WithWorkOrder) }</span></li>
                        <li class="tile error"><span class="value">{ d.specialist_needed }</span><span class="label">{ app.t(Text::NeedSpecialist) }</span></li>
                    </ul>
                    if d.open_faults > 0 {
                        <div class="breakdown">
                            <section><h2>{ app.t(Text::Severity) }</h2>{ tally(severity) }</section>
                            <section><h2>{ app.t(Text::WhoFixes) }</h2>{ tally(skill) }</section>
                            <section><h2>{ app.t(Text::OpenFor) }</h2>{ tally(age) }</section>
                            <section><h2>{ app.t(Text::Site) }</h2>{ tally(site) }</section>
                        </div>
                    }
                    <h2>{ app.t(Text::WorkOrders) }</h2>
                    <div class="filters">
                        <label class="choice"><input type="checkbox" checked={*open_only} onchange={toggle(&open_only)} />{ " " }{ app.t(Text::OpenOnly) }</label>
                        <label class="choice"><input type="checkbox" checked={*specialist_only} onchange={toggle(&specialist_only)} />{ " " }{ app.t(Text::SpecialistsOnly) }</label>
                    </div>
                    { work_order_table(&app, &data.work_orders.nodes) }
                </>
            }
        }
    };
    html! {
        <section class="page maintenance">
            <h1>{ app.t(Text::Maintenance) }</h1>
            <p class="hint">{ app.t(Text::MaintenanceIntro) }</p>
            { body }
            if app.viewer.role.can_manage_setup() {
                <RulesAndRates />
            }
        </section>
    }
}

fn work_order_table(app: &AppContext, orders: &[queries::maintenance::MaintenanceWorkOrdersNodes]) -> Html {
    if orders.is_empty() {
        return html! { <p class="empty">{ app.t(Text::NoWorkOrders) }</p> };
    }
    html! {
        <table class="list work-orders">
            <thead><tr>
                <th scope="col">{ app.t(Text::Fault) }</th>
                <th scope="col">{ app.t(Text::Model) }</th>
                <th scope="col">{ app.t(Text::WhoFixes) }</th>
                <th scope="col" class="number">{ app.t(Text::Estimate) }</th>
                <th scope="col">{ app.t(Text::Status) }</th>
                <th scope="col">{ app.t(Text::Assignee) }</th>
                <th scope="col">{ app.t(Text::Opened) }</th>
            </tr></thead>
            <tbody>
                { for orders.iter().map(|o| {
                    let device = o.device.as_ref().map(|d| {
                        [d.vendor.as_deref(), d.model.as_deref(), d.serial.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ")
                    }).unwrap_or_default();
                    let status = word(&o.status);
                    html! {
                        <tr class="work-order" data-status={status.clone()}>
                            <td><Link<Route> to={Route::WorkOrder { id: o.id.clone() }}>{ &o.title }</Link<Route>></td>
                            <td>{ device }</td>
                            <td>
                                { who(app, &word(&o.skill)) }
                                if o.specialist_needed { { " " }<span class="badge specialist">{ app.t(Text::SpecialistNeeded) }</span> }
                            </td>
                            <td class="number">{ format!("~{} min", o.estimated_minutes) }{ o.estimated_cost.as_ref().map(|c| format!(" · {c}")).unwrap_or_default() }</td>
                            <td>
                                <span class={classes!("status", status.clone())}>{ app.t(status_text(&status)) }</span>
                                if o.close_proposed { { " " }<span class="badge proposed">{ app.t(Text::CloseProposed) }</span> }
                            </td>
                            <td>{ o.assignee_name.clone().unwrap_or_default() }</td>
                            <td>{ short_time(&o.opened_at) }</td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
    }
}

const SKILLS: [(&str, &str); 3] =
    [("USER", "user"), ("TRAINED_USER", "trained_user"), ("FIELD_TECHNICIAN", "field_technician")];

/// Labour rates per skill and the rules that open work orders by themselves.
#[function_component(RulesAndRates)]
fn rules_and_rates() -> Html {
    let app = use_app();
    let (data, reload) = use_reloaded::<WorkOrderRules>(queries::work_order_rules::Variables {});
    let delete = {
        let (api, reload) = (app.api.clone(), reload.clone());
        Callback::from(move |id: String| {
            let (api, reload) = (api.clone(), reload.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let _ = api.run::<DeleteWorkOrderRule>(queries::delete_work_order_rule::Variables { id }).await;
                reload.emit(());
            });
        })
    };
    let Some(Ok(data)) = &*data else {
        return html! {};
    };
    html! {
        <section class="rules">
            <h2>{ app.t(Text::LabourRates) }</h2>
            <div class="rates">
                { for SKILLS.iter().map(|(skill, word)| {
                    let current = data.labour_rates.iter().find(|r| self::word(&r.skill) == *word).map(|r| r.hourly_rate.clone());
                    html! { <RateField skill={*skill} label={who(&app, word)} current={current} on_saved={reload.clone()} /> }
                }) }
            </div>
            <h2>{ app.t(Text::WorkOrderRules) }</h2>
            if data.work_order_rules.is_empty() {
                <p class="empty">{ app.t(Text::NoRules) }</p>
            } else {
                <ul class="rule-list">
                    { for data.work_order_rules.iter().map(|r| html! {
                        <li class="rule">
                            <strong>{ &r.name }</strong>{ " — " }
                            { r.fault_type.clone().unwrap_or_else(|| app.t(Text::AnyRepair).to_owned()) }
                            { format!(", ≥ {}", r.min_severity) }
                            { r.min_skill.as_ref().map(|s| format!(", ≥ {}", who(&app, &word(s)))).unwrap_or_default() }
                            if r.close_when_cleared { { ", " }{ app.t(Text::ClosesItself) } }
                            { " " }{ crate::components::paged::action_button(app.t(Text::Delete), &r.name, &r.id, &delete) }
                        </li>
                    }) }
                </ul>
            }
            <NewRule on_created={reload} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct RateProps {
    skill: &'static str,
    label: &'static str,
    current: Option<String>,
    on_saved: Callback<()>,
}

#[function_component(RateField)]
fn rate_field(props: &RateProps) -> Html {
    let app = use_app();
    let value = use_state(|| props.current.clone().unwrap_or_default());
    let error = use_state(|| None::<ApiError>);
    let onsubmit = {
        let (api, value, error, skill, saved) =
            (app.api.clone(), value.clone(), error.clone(), props.skill, props.on_saved.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (api, error, saved) = (api.clone(), error.clone(), saved.clone());
            let rate = Some(value.trim().to_owned()).filter(|r| !r.is_empty());
            let skill: queries::set_labour_rate::Skill =
                serde_json::from_value(Value::String(skill.into())).expect("invariant: a known skill");
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<SetLabourRate>(queries::set_labour_rate::Variables { skill, rate }).await {
                    Ok(_) => {
                        error.set(None);
                        saved.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let oninput = {
        let value = value.clone();
        Callback::from(move |v: String| value.set(v))
    };
    html! {
        <form class="rate" {onsubmit}>
            <Field name="hourlyRate" label={format!("{} ({})", props.label, app.t(Text::PerHour))} value={(*value).clone()} {oninput} error={(*error).clone()} />
            <button type="submit">{ app.t(Text::Save) }</button>
            <FormError error={(*error).clone()} fields={vec!["hourlyRate"]} />
        </form>
    }
}

#[derive(Properties, PartialEq)]
struct NewRuleProps {
    on_created: Callback<()>,
}

#[function_component(NewRule)]
fn new_rule(props: &NewRuleProps) -> Html {
    let app = use_app();
    let name = use_state(String::new);
    let fault = use_state(String::new);
    let severity = use_state(|| "critical".to_owned());
    let skill = use_state(String::new);
    let closes = use_state(|| false);
    let error = use_state(|| None::<ApiError>);
    let onsubmit = {
        let (api, error, created) = (app.api.clone(), error.clone(), props.on_created.clone());
        let (name, fault, severity, skill, closes) =
            (name.clone(), fault.clone(), severity.clone(), skill.clone(), closes.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = json!({
                "name": *name,
                "faultType": Some(fault.trim()).filter(|f| !f.is_empty()),
                "minSeverity": *severity,
                "minSkill": Some(skill.as_str()).filter(|s| !s.is_empty()),
                "closeWhenCleared": *closes,
            });
            let Ok(input) = serde_json::from_value(input) else { return };
            let (api, error, created, name) = (api.clone(), error.clone(), created.clone(), name.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<CreateWorkOrderRule>(queries::create_work_order_rule::Variables { input }).await {
                    Ok(_) => {
                        error.set(None);
                        name.set(String::new());
                        created.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let text = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |v: String| state.set(v))
    };
    let select = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |e: Event| state.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
    };
    let on_closes = {
        let closes = closes.clone();
        Callback::from(move |_: Event| closes.set(!*closes))
    };
    html! {
        <form class="new-rule" {onsubmit}>
            <h3>{ app.t(Text::NewRule) }</h3>
            <Field name="name" label={app.t(Text::Name)} value={(*name).clone()} oninput={text(&name)} error={(*error).clone()} required=true />
            <Field name="faultType" label={app.t(Text::FaultTypeOptional)} value={(*fault).clone()} oninput={text(&fault)} error={(*error).clone()} />
            <div class="field">
                <label for="rule-severity">{ app.t(Text::Severity) }</label>
                <select id="rule-severity" onchange={select(&severity)}>
                    <option value="critical" selected={*severity == "critical"}>{ app.t(Text::SeverityCritical) }</option>
                    <option value="warning" selected={*severity == "warning"}>{ app.t(Text::WarningOrWorse) }</option>
                </select>
            </div>
            <div class="field">
                <label for="rule-skill">{ app.t(Text::WhoFixes) }</label>
                <select id="rule-skill" onchange={select(&skill)}>
                    <option value="" selected={skill.is_empty()}>{ app.t(Text::Anyone) }</option>
                    { for SKILLS.iter().map(|(value, word)| html! {
                        <option value={*value} selected={*skill == *value}>{ who(&app, word) }</option>
                    }) }
                </select>
            </div>
            <label class="choice"><input type="checkbox" checked={*closes} onchange={on_closes} />{ " " }{ app.t(Text::ClosesItself) }</label>
            <button type="submit">{ app.t(Text::Create) }</button>
            <FormError error={(*error).clone()} fields={vec!["name", "faultType"]} />
        </form>
    }
}
