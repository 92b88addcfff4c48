//! One work order: the fault, who can fix it and what it should take, where it stands, its
//! history; technicians take it, move it, comment, and close it with what it took.

use serde_json::{Value, json};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::format::short_time;
use crate::context::use_app;
use crate::i18n::Text;
use crate::live::use_live_count;
use crate::pages::device::who;
use crate::pages::maintenance::{status_text, word};
use crate::queries::{self, UnassignWorkOrder, UpdateWorkOrder, WorkOrder as WorkOrderQuery};
use crate::route::Route;

type Order = queries::work_order::WorkOrderWorkOrder;

#[derive(Properties, PartialEq)]
pub struct WorkOrderPageProps {
    pub id: String,
}

const MOVES: [&str; 6] = ["OPEN", "ASSIGNED", "IN_PROGRESS", "WAITING_PARTS", "CLOSED", "CANCELLED"];

#[function_component(WorkOrderPage)]
pub fn work_order_page(props: &WorkOrderPageProps) -> Html {
    let app = use_app();
    let order = use_state(|| None::<Result<Order, ApiError>>);
    let changes = use_live_count("subscription { workOrderChanged { workOrderId } }", json!({}));
    let version = use_state(|| 0u32);
    {
        let (api, order, id) = (app.api.clone(), order.clone(), props.id.clone());
        use_effect_with((id, changes, *version), move |(id, _, _)| {
            let id = id.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let found = api.run::<WorkOrderQuery>(queries::work_order::Variables { id }).await;
                order.set(Some(found.map(|d| d.work_order)));
            });
        });
    }
    let order = match &*order {
        None => return html! { <section class="page"><p role="status">{ app.t(Text::Loading) }</p></section> },
        Some(Err(error)) => {
            return html! { <section class="page"><p class="form-error" role="alert">{ &error.message }</p></section> };
        }
        Some(Ok(order)) => order,
    };
    let reload = {
        let version = version.clone();
        Callback::from(move |()| version.set(*version + 1))
    };
    let status = word(&order.status);
    let device = order.device.as_ref().map(|d| {
        let name = [d.vendor.as_deref(), d.model.as_deref(), d.serial.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        html! { <Link<Route> to={Route::Device { id: d.id.clone() }}>{ name }</Link<Route>> }
    });
    let row = |label: Text, value: Html| html! { <><dt>{ app.t(label) }</dt><dd>{ value }</dd></> };
    let text = |value: String| html! { { value } };
    html! {
        <section class="page work-order">
            <p><Link<Route> to={Route::Maintenance}>{ "← " }{ app.t(Text::Maintenance) }</Link<Route>></p>
            <h1>{ &order.title }</h1>
            <p>
                <span class={classes!("status", status.clone())} id="work-order-status">{ app.t(status_text(&status)) }</span>
                if order.close_proposed { { " " }<span class="badge proposed">{ app.t(Text::CloseProposed) }</span> }
                if order.specialist_needed { { " " }<span class="badge specialist">{ app.t(Text::SpecialistNeeded) }</span> }
            </p>
            <dl class="facts">
                { row(Text::Devices, device.unwrap_or_default()) }
                { row(Text::Fault, text(order.fault.title.clone())) }
                { row(Text::WhoFixes, text(who(&app, &word(&order.skill)).to_owned())) }
                { row(Text::Estimate, text(format!(
                    "~{} min · {} {} · {} {}{}",
                    order.estimated_minutes,
                    app.t(Text::Labour), order.estimated_labour.clone().unwrap_or_else(|| app.t(Text::NoRate).to_owned()),
                    app.t(Text::Parts), order.estimated_parts,
                    order.estimated_cost.as_ref().map(|c| format!(" = {c}")).unwrap_or_default(),
                ))) }
                { row(Text::Assignee, text(order.assignee_name.clone().unwrap_or_else(|| "—".into()))) }
                { row(Text::Opened, text(format!("{}{}", short_time(&order.opened_at),
                    order.opened_by.as_ref().map(|b| format!(" · {b}")).unwrap_or_default()))) }
                { row(Text::FaultSince, text(short_time(&order.fault_started_at))) }
                if let Some(cleared) = &order.fault_cleared_at { { row(Text::FaultCleared, text(short_time(cleared))) } }
                if let Some(minutes) = order.time_to_repair_minutes { { row(Text::TimeToRepair, text(format!("{minutes:.0} min"))) } }
                if let Some(closed) = &order.closed_at { { row(Text::WoClosed, text(short_time(closed))) } }
                if order.labour_minutes.is_some() || order.parts_cost.is_some() {
                    { row(Text::ActualWork, text(format!("{} min · {} {}", order.labour_minutes.unwrap_or(0),
                        app.t(Text::Parts), order.parts_cost.clone().unwrap_or_else(|| "0.00".into())))) }
                }
            </dl>
            if app.viewer.role.can_write() {
                <Actions id={order.id.clone()} status={status.to_uppercase()} assignee={order.assignee_id.clone()} on_done={reload} />
            }
            <h2>{ app.t(Text::History) }</h2>
            <ol class="history">
                { for order.events.iter().map(|e| {
                    let kind = word(&e.kind);
                    let what = match kind.as_str() {
                        "opened" => app.t(Text::EvOpened).to_owned(),
                        "assigned" => format!("{} {}", app.t(Text::EvAssigned), e.assignee_name.clone().unwrap_or_else(|| "—".into())),
                        "status" => format!("{} → {}", e.from_status.as_ref().map(|s| app.t(status_text(&word(s)))).unwrap_or(""),
                            e.to_status.as_ref().map(|s| app.t(status_text(&word(s)))).unwrap_or("")),
                        "cleared" => app.t(Text::EvCleared).to_owned(),
                        "close_proposed" => app.t(Text::CloseProposed).to_owned(),
                        _ => app.t(Text::EvComment).to_owned(),
                    };
                    html! {
                        <li class="event" data-kind={kind}>
                            <span class="when">{ short_time(&e.at) }</span>{ " " }
                            <span class="who">{ e.actor_name.clone().unwrap_or_else(|| app.t(Text::ThePlatform).to_owned()) }</span>{ " · " }
                            <span class="what">{ what }</span>
                            if let Some(body) = &e.body { <p class="body">{ body }</p> }
                        </li>
                    }
                }) }
            </ol>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ActionsProps {
    id: String,
    status: String,
    assignee: Option<String>,
    on_done: Callback<()>,
}

#[function_component(Actions)]
fn actions(props: &ActionsProps) -> Html {
    let app = use_app();
    let target = use_state(|| props.status.clone());
    let comment = use_state(String::new);
    let minutes = use_state(String::new);
    let parts = use_state(String::new);
    let error = use_state(|| None::<ApiError>);
    let send = {
        let (api, id, error, done) = (app.api.clone(), props.id.clone(), error.clone(), props.on_done.clone());
        let comment = comment.clone();
        Callback::from(move |input: Value| {
            let Ok(input) = serde_json::from_value(input) else { return };
            let (api, id, error, done, comment) =
                (api.clone(), id.clone(), error.clone(), done.clone(), comment.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<UpdateWorkOrder>(queries::update_work_order::Variables { id, input }).await {
                    Ok(_) => {
                        error.set(None);
                        comment.set(String::new());
                        done.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let me = app.viewer.me.id.clone();
    let take = {
        let (send, me) = (send.clone(), me.clone());
        Callback::from(move |_| send.emit(json!({ "assigneeId": me })))
    };
    let release = {
        let (api, id, error, done) = (app.api.clone(), props.id.clone(), error.clone(), props.on_done.clone());
        Callback::from(move |_| {
            let (api, id, error, done) = (api.clone(), id.clone(), error.clone(), done.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<UnassignWorkOrder>(queries::unassign_work_order::Variables { id }).await {
                    Ok(_) => done.emit(()),
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let on_target = {
        let target = target.clone();
        Callback::from(move |e: Event| target.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
    };
    let onsubmit = {
        let (send, target, comment, minutes, parts, current) =
            (send.clone(), target.clone(), comment.clone(), minutes.clone(), parts.clone(), props.status.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut input = serde_json::Map::new();
            if *target != current {
                input.insert("status".into(), json!(*target));
            }
            if !comment.trim().is_empty() {
                input.insert("comment".into(), json!(comment.trim()));
            }
            if *target == "CLOSED" {
                if let Ok(m) = minutes.trim().parse::<i64>() {
                    input.insert("labourMinutes".into(), json!(m));
                }
                if !parts.trim().is_empty() {
                    input.insert("partsCost".into(), json!(parts.trim()));
                }
            }
            send.emit(Value::Object(input));
        })
    };
    let text = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |v: String| state.set(v))
    };
    let mine = props.assignee.as_deref() == Some(me.as_str());
    html! {
        <section class="actions">
            <h2>{ app.t(Text::Actions) }</h2>
            <p>
                if !mine { <button type="button" onclick={take}>{ app.t(Text::TakeIt) }</button> }
                if props.assignee.is_some() { { " " }<button type="button" onclick={release}>{ app.t(Text::Unassign) }</button> }
            </p>
            <form class="move" {onsubmit}>
                <div class="field">
                    <label for="work-order-move">{ app.t(Text::Status) }</label>
                    <select id="work-order-move" onchange={on_target}>
                        { for MOVES.iter().map(|m| html! {
                            <option value={*m} selected={*target == *m}>{ app.t(status_text(&m.to_lowercase())) }</option>
                        }) }
                    </select>
                </div>
                if *target == "CLOSED" {
                    <Field name="labourMinutes" label={app.t(Text::LabourMinutes)} kind="number" value={(*minutes).clone()} oninput={text(&minutes)} error={(*error).clone()} />
                    <Field name="partsCost" label={app.t(Text::PartsUsed)} value={(*parts).clone()} oninput={text(&parts)} error={(*error).clone()} />
                }
                <div class="field">
                    <label for="work-order-comment">{ app.t(Text::EvComment) }</label>
                    <textarea id="work-order-comment" value={(*comment).clone()}
                        oninput={let c = comment.clone(); Callback::from(move |e: InputEvent| c.set(e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value()))} />
                </div>
                <button type="submit">{ app.t(Text::Save) }</button>
                <FormError error={(*error).clone()} fields={vec!["labourMinutes", "partsCost"]} />
            </form>
        </section>
    }
}
