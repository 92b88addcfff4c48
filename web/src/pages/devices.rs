//! The fleet: devices searched, filtered and sorted on the server (site, status, vendor, text;
//! by name, worst status or longest unseen), a page of 50 at a time with their page count and
//! supply levels.

use std::collections::HashMap;
use std::rc::Rc;

use web_sys::HtmlSelectElement;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::format::short_time;
use crate::components::gauge::supply_gauge;
use crate::components::paged::{ListFooter, Loader, use_paged};
use crate::components::sites::{sorted, use_site_names};
use crate::context::use_app;
use crate::i18n::Text;
use crate::live::use_live;
use crate::queries::{self, Devices as DevicesQuery};
use crate::route::Route;

type Device = queries::devices::DevicesDevicesEdgesNode;
type Status = queries::devices::DeviceStatus;
type OrderBy = queries::devices::DeviceOrderBy;

const ORDERS: [(&str, Text); 3] =
    [("NAME", Text::SortByName), ("STATUS", Text::SortByStatus), ("LAST_SEEN", Text::SortByLastSeen)];

/// The filter as the form holds it (empty: not narrowed).
#[derive(Clone, Debug, Default, PartialEq)]
struct Filter {
    search: String,
    status: String,
    site: String,
    vendor: String,
    /// NAME (empty), STATUS or LAST_SEEN.
    order: String,
}

impl Filter {
    fn input(&self) -> queries::devices::DeviceFilterInput {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        queries::devices::DeviceFilterInput {
            site_id: some(&self.site),
            agent_id: None,
            status: match self.status.as_str() {
                "OK" => Some(Status::OK),
                "WARNING" => Some(Status::WARNING),
                "ERROR" => Some(Status::ERROR),
                "OFFLINE" => Some(Status::OFFLINE),
                "ASLEEP" => Some(Status::ASLEEP),
                "UNKNOWN" => Some(Status::UNKNOWN),
                _ => None,
            },
            vendor: some(&self.vendor),
            search: some(&self.search),
        }
    }

    fn order_by(&self) -> OrderBy {
        match self.order.as_str() {
            "STATUS" => OrderBy::STATUS,
            "LAST_SEEN" => OrderBy::LAST_SEEN,
            _ => OrderBy::NAME,
        }
    }
}

const STATUSES: [(&str, Text); 6] = [
    ("OK", Text::StatusOk),
    ("WARNING", Text::StatusWarning),
    ("ERROR", Text::StatusError),
    ("OFFLINE", Text::StatusOffline),
    ("ASLEEP", Text::StatusAsleep),
    ("UNKNOWN", Text::StatusUnknown),
];

/// A status as the page shows it (CSS class, text), from any query's status enum (each
/// query has its own type; all serialise to the schema's word).
pub(crate) fn status_of(status: &impl serde::Serialize) -> (&'static str, Text) {
    match serde_json::to_value(status).ok().as_ref().and_then(|v| v.as_str()) {
        Some("OK") => ("ok", Text::StatusOk),
        Some("WARNING") => ("warning", Text::StatusWarning),
        Some("ERROR") => ("error", Text::StatusError),
        Some("OFFLINE") => ("offline", Text::StatusOffline),
        Some("ASLEEP") => ("asleep", Text::StatusAsleep),
        _ => ("unknown", Text::StatusUnknown),
    }
}

#[function_component(Devices)]
pub fn devices() -> Html {
    let app = use_app();
    // What the form shows, and what the list was asked with (applied on submit).
    let editing = use_state(Filter::default);
    let applied = use_state(Filter::default);
    let sites = use_site_names();
    let loader: Loader<Device> = {
        let api = app.api.clone();
        let filter = (*applied).clone();
        Rc::new(move |after| {
            let (api, order_by, filter) = (api.clone(), filter.order_by(), filter.input());
            Box::pin(async move {
                let vars = queries::devices::Variables { first: Some(50), after, filter: Some(filter), order_by };
                let data = api.run::<DevicesQuery>(vars).await?;
                let info = data.devices.page_info;
                let next = info.has_next_page.then_some(info.end_cursor).flatten();
                Ok((data.devices.edges.into_iter().map(|e| e.node).collect(), next))
            })
        })
    };
    let list = use_paged(loader);
    // New and changed devices show up by themselves while the first page is all that is
    // loaded (someone reading further pages is not sent back to the top).
    let loaded = use_mut_ref(|| 0usize);
    *loaded.borrow_mut() = list.state.items.len();
    {
        let reload = list.reload.clone();
        use_live(
            "subscription { deviceUpdated { deviceId } }",
            serde_json::json!({}),
            Callback::from(move |_| {
                if *loaded.borrow() <= 50 {
                    reload.emit(());
                }
            }),
        );
    }
    let onsubmit = {
        let (editing, applied, reload) = (editing.clone(), applied.clone(), list.reload.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            applied.set((*editing).clone());
            reload.emit(());
        })
    };
    let clear = {
        let (editing, applied, reload) = (editing.clone(), applied.clone(), list.reload.clone());
        Callback::from(move |_: MouseEvent| {
            editing.set(Filter::default());
            applied.set(Filter::default());
            reload.emit(());
        })
    };
    let set = |update: fn(&mut Filter, String)| {
        let editing = editing.clone();
        move |value: String| {
            let mut next = (*editing).clone();
            update(&mut next, value);
            editing.set(next);
        }
    };
    let on_search = {
        let set = set(|f, v| f.search = v);
        Callback::from(move |e: InputEvent| set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
    };
    let on_vendor = {
        let set = set(|f, v| f.vendor = v);
        Callback::from(move |e: InputEvent| set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
    };
    let on_status = {
        let set = set(|f, v| f.status = v);
        Callback::from(move |e: Event| set(e.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    let on_site = {
        let set = set(|f, v| f.site = v);
        Callback::from(move |e: Event| set(e.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    // A new order applies at once (it narrows nothing).
    let on_order = {
        let (editing, applied, reload) = (editing.clone(), applied.clone(), list.reload.clone());
        Callback::from(move |e: Event| {
            let order = e.target_unchecked_into::<HtmlSelectElement>().value();
            let (mut shown, mut asked) = ((*editing).clone(), (*applied).clone());
            shown.order.clone_from(&order);
            asked.order = order;
            editing.set(shown);
            applied.set(asked);
            reload.emit(());
        })
    };
    let site_options = sorted(&sites);
    let state = &*list.state;
    html! {
        <section class="page devices">
            <h1>{ app.t(Text::Devices) }</h1>
            <form class="filters" role="search" aria-label={app.t(Text::Filter)} {onsubmit}>
                <div class="field grow">
                    <label for="device-search">{ app.t(Text::Search) }</label>
                    <input id="device-search" name="search" type="search" value={editing.search.clone()}
                        placeholder={app.t(Text::SearchHint)} oninput={on_search} />
                </div>
                <div class="field">
                    <label for="device-status">{ app.t(Text::Status) }</label>
                    <select id="device-status" name="status" onchange={on_status}>
                        <option value="" selected={editing.status.is_empty()}>{ app.t(Text::AnyStatus) }</option>
                        { for STATUSES.iter().map(|(value, text)| html! {
                            <option value={*value} selected={editing.status == *value}>{ app.t(*text) }</option>
                        }) }
                    </select>
                </div>
                <div class="field">
                    <label for="device-site">{ app.t(Text::Site) }</label>
                    <select id="device-site" name="site" onchange={on_site}>
                        <option value="" selected={editing.site.is_empty()}>{ app.t(Text::AnySite) }</option>
                        { for site_options.iter().map(|(id, name)| html! {
                            <option value={id.clone()} selected={editing.site == *id}>{ name }</option>
                        }) }
                    </select>
                </div>
                <div class="field">
                    <label for="device-vendor">{ app.t(Text::Vendor) }</label>
                    <input id="device-vendor" name="vendor" type="text" value={editing.vendor.clone()} oninput={on_vendor} />
                </div>
                <div class="field">
                    <label for="device-order">{ app.t(Text::SortBy) }</label>
                    <select id="device-order" name="orderBy" onchange={on_order}>
                        { for ORDERS.iter().map(|(value, text)| html! {
                            <option value={*value} selected={editing.order == *value || (editing.order.is_empty() && *value == "NAME")}>
                                { app.t(*text) }
                            </option>
                        }) }
                    </select>
                </div>
                <div class="buttons">
                    <button type="submit" class="primary">{ app.t(Text::Filter) }</button>
                    <button type="button" onclick={clear}>{ app.t(Text::Clear) }</button>
                </div>
            </form>
            <table class="list">
                <thead><tr>
                    <th scope="col">{ app.t(Text::Status) }</th>
                    <th scope="col">{ app.t(Text::Model) }</th>
                    <th scope="col">{ app.t(Text::Serial) }</th>
                    <th scope="col">{ app.t(Text::Address) }</th>
                    <th scope="col">{ app.t(Text::Site) }</th>
                    <th scope="col" class="number">{ app.t(Text::Pages) }</th>
                    <th scope="col">{ app.t(Text::Supplies) }</th>
                    <th scope="col">{ app.t(Text::LastSeen) }</th>
                </tr></thead>
                <tbody>
                    { for state.items.iter().map(|device| device_row(&app, &sites, device)) }
                </tbody>
            </table>
            <ListFooter loading={state.loading} has_more={state.next.is_some()} empty={state.items.is_empty()}
                empty_text={Text::NoDevices} error={state.error.clone()} on_more={list.load_more.clone()} />
        </section>
    }
}

fn device_row(app: &crate::context::AppContext, sites: &HashMap<String, String>, device: &Device) -> Html {
    let (class, text) = status_of(&device.status);
    let model = [device.vendor.as_deref(), device.model.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let total = device.latest_counters.iter().find(|c| c.kind == "total");
    let site = device.site_id.as_ref().and_then(|id| sites.get(id)).cloned().unwrap_or_else(|| "—".to_owned());
    html! {
        <tr class="device" data-serial={device.serial.clone()}>
            <td><span class={classes!("status", class)}>{ app.t(text) }</span></td>
            <td>
                <Link<Route> to={Route::Device { id: device.id.clone() }}>
                    { if model.is_empty() { device.address.clone() } else { model } }
                </Link<Route>>
            </td>
            <td class="mono">{ device.serial.clone().unwrap_or_else(|| "—".to_owned()) }</td>
            <td>
                <span class="mono">{ &device.address }</span>
                if let Some(host) = &device.host_name { <span class="secondary">{ host }</span> }
            </td>
            <td>{ site }</td>
            <td class="number">
                if let Some(total) = total {
                    { total.value }
                    if total.flag.is_some() {
                        <span class="flag" title={app.t(Text::FlaggedCounter)} aria-label={app.t(Text::FlaggedCounter)}>{ " ⚑" }</span>
                    }
                } else { { "—" } }
            </td>
            <td class="gauges">
                { for device.supplies.iter().map(|s| supply_gauge(s.color.as_deref(), &s.kind, s.percent, &s.state)) }
            </td>
            <td>{ short_time(&device.last_seen_at) }</td>
        </tr>
    }
}
