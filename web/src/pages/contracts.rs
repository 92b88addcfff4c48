//! Contracts: the price plans of your tenant (per page by mono and colour, included volumes,
//! a minimum charge, for every device, one site's or one device's) and a month's bill from
//! them, device by device.

use serde_json::json;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::reload::use_reloaded;
use crate::components::sites::{sorted, use_site_names};
use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::{self, Bill as BillQuery, CreatePricePlan, DeletePricePlan, PricePlans};
use crate::route::Route;

type MonthBill = queries::bill::BillBill;

#[function_component(Contracts)]
pub fn contracts() -> Html {
    let app = use_app();
    let sites = use_site_names();
    let (plans, reload) = use_reloaded::<PricePlans>(queries::price_plans::Variables {});
    let delete = {
        let (api, reload, question) = (app.api.clone(), reload.clone(), app.t(Text::ConfirmDelete));
        Callback::from(move |id: String| {
            if !web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(false) {
                return;
            }
            let (api, reload) = (api.clone(), reload.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let _ = api.run::<DeletePricePlan>(queries::delete_price_plan::Variables { id }).await;
                reload.emit(());
            });
        })
    };
    let can_edit = app.viewer.role.can_manage_setup();
    html! {
        <section class="page contracts">
            <h1>{ app.t(Text::Contracts) }</h1>
            <p class="hint">{ app.t(Text::ContractsIntro) }</p>
            if can_edit {
                <NewPlan sites={sorted(&sites)} on_created={reload.clone()} />
            }
            { match plans.as_ref().map(|answer| answer.as_ref().map(|d| &d.price_plans)) {
                None => html! { <p role="status">{ app.t(Text::Loading) }</p> },
                Some(Err(error)) => html! { <p class="form-error" role="alert">{ &error.message }</p> },
                Some(Ok(list)) if list.is_empty() => html! { <p class="empty">{ app.t(Text::NoPlans) }</p> },
                Some(Ok(list)) => html! {
                    <table class="list plans">
                        <thead><tr>
                            <th scope="col">{ app.t(Text::Name) }</th>
                            <th scope="col">{ app.t(Text::AppliesTo) }</th>
                            <th scope="col" class="number">{ app.t(Text::MonoPrice) }</th>
                            <th scope="col" class="number">{ app.t(Text::ColorPrice) }</th>
                            <th scope="col" class="number">{ app.t(Text::Included) }</th>
                            <th scope="col" class="number">{ app.t(Text::MinimumCharge) }</th>
                            <th scope="col">{ app.t(Text::Validity) }</th>
                            if can_edit { <th scope="col">{ app.t(Text::Actions) }</th> }
                        </tr></thead>
                        <tbody>
                            { for list.iter().map(|p| {
                                let scope = match (&p.site_id, &p.device_id) {
                                    (Some(site), _) => sites.get(site).cloned().unwrap_or_else(|| site.clone()),
                                    (None, Some(device)) => html_device(device),
                                    (None, None) => app.t(Text::AllDevices).to_owned(),
                                };
                                html! {
                                    <tr class="plan" data-name={p.name.clone()}>
                                        <td>{ &p.name }</td>
                                        <td>{ scope }</td>
                                        <td class="number">{ format!("{} {}", p.mono_price, p.currency) }</td>
                                        <td class="number">{ format!("{} {}", p.color_price, p.currency) }</td>
                                        <td class="number">{ format!("{} / {}{}", p.included_mono, p.included_color,
                                            if p.pooled { format!(" ({})", app.t(Text::Pooled)) } else { String::new() }) }</td>
                                        <td class="number">{ format!("{} {}", p.minimum_charge, p.currency) }</td>
                                        <td>{ format!("{} → {}", p.valid_from, p.valid_to.clone().unwrap_or_else(|| "…".into())) }</td>
                                        if can_edit {
                                            <td>{ crate::components::paged::action_button(app.t(Text::Delete), &p.name, &p.id, &delete) }</td>
                                        }
                                    </tr>
                                }
                            }) }
                        </tbody>
                    </table>
                },
            } }
            <MonthBillView />
        </section>
    }
}

/// A device id, shortened for a table cell.
fn html_device(id: &str) -> String {
    format!("device {}", id.get(..8).unwrap_or(id))
}

#[derive(Properties, PartialEq)]
struct NewPlanProps {
    sites: Vec<(String, String)>,
    on_created: Callback<()>,
}

#[function_component(NewPlan)]
fn new_plan(props: &NewPlanProps) -> Html {
    let app = use_app();
    let fields = [
        use_state(String::new),          // name
        use_state(String::new),          // site
        use_state(|| "0.01".to_owned()), // monoPrice
        use_state(|| "0.08".to_owned()), // colorPrice
        use_state(|| "0".to_owned()),    // includedMono
        use_state(|| "0".to_owned()),    // includedColor
        use_state(|| "0".to_owned()),    // minimumCharge
        use_state(String::new),          // validFrom
        use_state(String::new),          // validTo
        use_state(|| "2".to_owned()),    // largeFormatFactor
    ];
    let pooled = use_state(|| true);
    let error = use_state(|| None::<ApiError>);
    let set = |i: usize| {
        let state = fields[i].clone();
        Callback::from(move |v: String| state.set(v))
    };
    let onsubmit = {
        let (fields, pooled, error, api, on_created) =
            (fields.clone(), pooled.clone(), error.clone(), app.api.clone(), props.on_created.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value = |i: usize| (*fields[i]).clone();
            let count = |i: usize, field: &str| {
                value(i).trim().parse::<i64>().map_err(|_| ApiError {
                    code: "VALIDATION".into(),
                    message: format!("{:?} is not a number of pages", value(i)),
                    field: Some(field.into()),
                })
            };
            let (mono, color, large) =
                match (count(4, "includedMono"), count(5, "includedColor"), count(9, "largeFormatFactor")) {
                    (Ok(m), Ok(c), Ok(l)) => (m, c, l),
                    (Err(err), _, _) | (_, Err(err), _) | (_, _, Err(err)) => return error.set(Some(err)),
                };
            let input = json!({
                "name": value(0),
                "siteId": Some(value(1)).filter(|s| !s.is_empty()),
                "monoPrice": value(2), "colorPrice": value(3),
                "includedMono": mono, "includedColor": color, "pooled": *pooled,
                "minimumCharge": value(6),
                "validFrom": value(7),
                "validTo": Some(value(8)).filter(|s| !s.is_empty()),
                "currency": "EUR",
                "largeFormatFactor": large,
            });
            let (api, error, on_created, fields) = (api.clone(), error.clone(), on_created.clone(), fields.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let answer = match serde_json::from_value(json!({ "input": input })) {
                    Ok(vars) => api.run::<CreatePricePlan>(vars).await.map(drop),
                    Err(_) => Err(ApiError {
                        code: "VALIDATION".into(),
                        message: "a start date is needed".into(),
                        field: Some("validFrom".into()),
                    }),
                };
                match answer {
                    Ok(()) => {
                        error.set(None);
                        fields[0].set(String::new());
                        on_created.emit(());
                    }
                    Err(err) => error.set(Some(err)),
                }
            });
        })
    };
    let on_site = {
        let site = fields[1].clone();
        Callback::from(move |e: Event| site.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
    };
    let on_pooled = {
        let pooled = pooled.clone();
        Callback::from(move |_| pooled.set(!*pooled))
    };
    let err = (*error).clone();
    html! {
        <form class="create plan-form" {onsubmit} aria-label={app.t(Text::NewPlan)}>
            <h2>{ app.t(Text::NewPlan) }</h2>
            <FormError error={err.clone()} fields={vec!["name", "monoPrice", "colorPrice", "includedMono", "includedColor", "minimumCharge", "validFrom", "validTo", "largeFormatFactor"]} />
            <div class="row">
                <Field name="name" label={app.t(Text::Name)} value={(*fields[0]).clone()} required=true error={err.clone()} oninput={set(0)} />
                <div class="field">
                    <label for="plan-site">{ app.t(Text::AppliesTo) }</label>
                    <select id="plan-site" onchange={on_site}>
                        <option value="" selected={fields[1].is_empty()}>{ app.t(Text::AllDevices) }</option>
                        { for props.sites.iter().map(|(id, name)| html! {
                            <option value={id.clone()} selected={*fields[1] == *id}>{ name }</option>
                        }) }
                    </select>
                </div>
                <Field name="monoPrice" label={app.t(Text::MonoPrice)} value={(*fields[2]).clone()} error={err.clone()} oninput={set(2)} />
                <Field name="colorPrice" label={app.t(Text::ColorPrice)} value={(*fields[3]).clone()} error={err.clone()} oninput={set(3)} />
            </div>
            <div class="row">
                <Field name="includedMono" label={app.t(Text::IncludedMono)} value={(*fields[4]).clone()} kind="number" error={err.clone()} oninput={set(4)} />
                <Field name="includedColor" label={app.t(Text::IncludedColor)} value={(*fields[5]).clone()} kind="number" error={err.clone()} oninput={set(5)} />
                <label class="choice"><input type="checkbox" checked={*pooled} onchange={on_pooled} />{ app.t(Text::PooledHint) }</label>
                <Field name="minimumCharge" label={app.t(Text::MinimumCharge)} value={(*fields[6]).clone()} error={err.clone()} oninput={set(6)} />
                <Field name="validFrom" label={app.t(Text::ValidFrom)} value={(*fields[7]).clone()} kind="date" required=true error={err.clone()} oninput={set(7)} />
                <Field name="validTo" label={app.t(Text::ValidTo)} value={(*fields[8]).clone()} kind="date" error={err.clone()} oninput={set(8)} />
                <Field name="largeFormatFactor" label={app.t(Text::LargeFormatCounts)} value={(*fields[9]).clone()} kind="number" error={err.clone()} oninput={set(9)} />
            </div>
            <button type="submit" class="primary">{ app.t(Text::Create) }</button>
        </form>
    }
}

/// A month's bill: per plan, its devices' pages and amounts, the pooled volume, the minimum.
#[function_component(MonthBillView)]
fn month_bill_view() -> Html {
    let app = use_app();
    let site_names = use_site_names();
    let month = use_state(crate::pages::billing::initial_month);
    let bill = use_state(|| None::<Result<MonthBill, ApiError>>);
    {
        let (api, bill) = (app.api.clone(), bill.clone());
        use_effect_with((*month).clone(), move |month| {
            let month = month.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let found = api.run::<BillQuery>(queries::bill::Variables { month }).await;
                bill.set(Some(found.map(|d| d.bill)));
            });
        });
    }
    let on_month = {
        let month = month.clone();
        Callback::from(move |e: Event| month.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
    };
    html! {
        <section class="panel bill" aria-labelledby="bill-title">
            <h2 id="bill-title">{ app.t(Text::MonthBill) }</h2>
            <div class="field">
                <label for="bill-month">{ app.t(Text::BillingMonth) }</label>
                <input id="bill-month" type="month" value={(*month).clone()} onchange={on_month} />
            </div>
            { match &*bill {
                None => html! { <p role="status">{ app.t(Text::Loading) }</p> },
                Some(Err(error)) => html! { <p class="form-error" role="alert">{ &error.message }</p> },
                Some(Ok(bill)) => html! {
                    <>
                        if bill.plans.is_empty() { <p class="empty">{ app.t(Text::NoPlans) }</p> }
                        { for bill.plans.iter().map(|p| html! {
                            <div class="plan-bill" data-plan={p.plan.name.clone()}>
                                <h3>{ &p.plan.name }</h3>
                                if p.prorated {
                                    <p class="hint prorated">{ format!("{} {} → {} ({})", app.t(Text::InForceFrom), p.from, p.to, app.t(Text::Prorated)) }</p>
                                }
                                <table class="list compact">
                                    <thead><tr>
                                        <th scope="col">{ app.t(Text::Serial) }</th>
                                        <th scope="col">{ app.t(Text::Model) }</th>
                                        <th scope="col" class="number">{ app.t(Text::MonoPages) }</th>
                                        <th scope="col" class="number">{ app.t(Text::ColorPages) }</th>
                                        <th scope="col" class="number">{ app.t(Text::HeldForReview) }</th>
                                        <th scope="col" class="number">{ app.t(Text::Amount) }</th>
                                    </tr></thead>
                                    <tbody>
                                        { for p.lines.iter().map(|l| html! {
                                            <tr>
                                                <td class="mono"><Link<Route> to={Route::Device { id: l.device_id.clone() }}>
                                                    { l.serial.clone().unwrap_or_else(|| "—".into()) }</Link<Route>></td>
                                                <td>{ l.model.clone().unwrap_or_default() }</td>
                                                <td class="number">{ l.mono_pages }</td>
                                                <td class="number">{ l.color_pages }</td>
                                                <td class="number">{ l.held_pages }</td>
                                                <td class="number">{ format!("{} {}", l.amount, p.plan.currency) }</td>
                                            </tr>
                                        }) }
                                    </tbody>
                                </table>
                                <dl class="facts totals">
                                    <dt>{ app.t(Text::IncludedUsed) }</dt><dd>{ format!("{} / {}", p.pooled_mono, p.pooled_color) }</dd>
                                    <dt>{ app.t(Text::Subtotal) }</dt><dd>{ format!("{} {}", p.subtotal, p.plan.currency) }</dd>
                                    <dt>{ app.t(Text::MinimumTopUp) }</dt><dd>{ format!("{} {}", p.minimum_top_up, p.plan.currency) }</dd>
                                    <dt>{ app.t(Text::Total) }</dt><dd class="total"><strong>{ format!("{} {}", p.total, p.plan.currency) }</strong></dd>
                                    <dt>{ app.t(Text::SupplyCost) }</dt><dd>{ format!("{} {}", p.supply_cost, p.plan.currency) }</dd>
                                    <dt>{ app.t(Text::ServiceCost) }</dt><dd class="service-cost">{ format!("{} {}{}", p.service_cost, p.plan.currency,
                                        if p.service_cost_estimated { format!(" ({})", app.t(Text::PartlyEstimated)) } else { String::new() }) }</dd>
                                    if let Some(c) = &p.cost_per_page {
                                        <dt>{ app.t(Text::CostPerPage) }</dt><dd>{ format!("{c} {}", p.plan.currency) }</dd>
                                    }
                                    <dt>{ app.t(Text::Margin) }</dt><dd>{ format!("{} {}", p.margin, p.plan.currency) }</dd>
                                </dl>
                            </div>
                        }) }
                        if !bill.sites.is_empty() {
                            <h3>{ app.t(Text::PerSite) }</h3>
                            <table class="list compact site-totals">
                                <thead><tr>
                                    <th scope="col">{ app.t(Text::Site) }</th>
                                    <th scope="col" class="number">{ app.t(Text::MonoPages) }</th>
                                    <th scope="col" class="number">{ app.t(Text::ColorPages) }</th>
                                    <th scope="col" class="number">{ app.t(Text::HeldForReview) }</th>
                                    <th scope="col" class="number">{ app.t(Text::Amount) }</th>
                                </tr></thead>
                                <tbody>
                                    { for bill.sites.iter().map(|s| html! {
                                        <tr class="site-total">
                                            <td>{ s.site_id.as_ref().and_then(|id| site_names.get(id).cloned()).unwrap_or_else(|| "—".into()) }</td>
                                            <td class="number">{ s.mono_pages }</td>
                                            <td class="number">{ s.color_pages }</td>
                                            <td class="number">{ s.held_pages }</td>
                                            <td class="number">{ &s.amount }</td>
                                        </tr>
                                    }) }
                                </tbody>
                            </table>
                        }
                        if !bill.unpriced_device_ids.is_empty() {
                            <p class="hint">{ format!("{} {}", bill.unpriced_device_ids.len(), app.t(Text::UnpricedDevices)) }</p>
                        }
                    </>
                },
            } }
        </section>
    }
}
