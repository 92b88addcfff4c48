//! Meter reads of a billing period: every meter of every device with its readings at both
//! ends, billable pages, and pages held for review (linked to the device, whose raw readings
//! show the evidence); downloadable as the CSV ERPs import.

use std::rc::Rc;

use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::format::short_time;
use crate::components::paged::{ListFooter, Loader, use_paged};
use crate::components::sites::{sorted, use_site_names};
use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::{self, MeterReads as MeterReadsQuery};
use crate::route::Route;

type Read = queries::meter_reads::MeterReadsMeterReadsNodes;

/// The first day of a month (`YYYY-MM`) and of the next one, as the API's dates.
fn month_bounds(month: &str) -> Option<(String, String)> {
    let (year, month) = month.split_once('-')?;
    let (year, month): (i32, u32) = (year.parse().ok()?, month.parse().ok()?);
    if !(1..=12).contains(&month) {
        return None;
    }
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    Some((format!("{year:04}-{month:02}-01"), format!("{next_year:04}-{next_month:02}-01")))
}

/// The month asked in the address (`?month=2026-10`, a link to share), else last month.
pub(crate) fn initial_month() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| q.trim_start_matches('?').split('&').find_map(|kv| kv.strip_prefix("month=").map(str::to_owned)))
        .filter(|m| month_bounds(m).is_some())
        .unwrap_or_else(last_month)
}

/// The month before this one (`YYYY-MM`), the usual billing period.
fn last_month() -> String {
    let now = js_sys::Date::new_0();
    let (year, month) = (now.get_full_year() as i32, now.get_month() + 1);
    if month == 1 { format!("{:04}-12", year - 1) } else { format!("{year:04}-{:02}", month - 1) }
}

#[function_component(Billing)]
pub fn billing() -> Html {
    let app = use_app();
    let sites = use_site_names();
    let month = use_state(initial_month);
    let site = use_state(String::new);
    let download_error = use_state(|| None::<String>);
    let loader: Loader<Read> = {
        let (api, month, site) = (app.api.clone(), (*month).clone(), (*site).clone());
        Rc::new(move |after| {
            let (api, bounds, site) = (api.clone(), month_bounds(&month), site.clone());
            Box::pin(async move {
                let Some((from, to)) = bounds else { return Ok((Vec::new(), None)) };
                let site_id = Some(site).filter(|s| !s.is_empty());
                let vars = queries::meter_reads::Variables { from, to, site_id, first: Some(100), after };
                let data = api.run::<MeterReadsQuery>(vars).await?;
                let info = data.meter_reads.page_info;
                Ok((data.meter_reads.nodes, info.has_next_page.then_some(info.end_cursor).flatten()))
            })
        })
    };
    let list = use_paged(loader);
    {
        let reload = list.reload.clone();
        use_effect_with(((*month).clone(), (*site).clone()), move |_| reload.emit(()));
    }
    let on_month = {
        let month = month.clone();
        Callback::from(move |e: Event| month.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
    };
    let on_site = {
        let site = site.clone();
        Callback::from(move |e: Event| site.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
    };
    let on_download = {
        let (api, month, site, download_error) =
            (app.api.clone(), (*month).clone(), (*site).clone(), download_error.clone());
        Callback::from(move |_: MouseEvent| {
            let Some((from, to)) = month_bounds(&month) else { return };
            let mut url = format!("/export/meter-reads.csv?from={from}&to={to}");
            if !site.is_empty() {
                url.push_str(&format!("&siteId={site}"));
            }
            let (token, download_error) = (api.access_token().unwrap_or_default(), download_error.clone());
            let name = format!("meter-reads-{from}-{to}.csv");
            wasm_bindgen_futures::spawn_local(async move {
                download_error.set(crate::components::download::download(&url, &token, &name).await.err());
            });
        })
    };
    let state = &*list.state;
    html! {
        <section class="page billing">
            <h1>{ app.t(Text::MeterReads) }</h1>
            <p class="hint">{ app.t(Text::MeterReadsIntro) }</p>
            <div class="filters row" role="search">
                <div class="field">
                    <label for="billing-month">{ app.t(Text::BillingMonth) }</label>
                    <input id="billing-month" type="month" value={(*month).clone()} onchange={on_month} />
                </div>
                <div class="field">
                    <label for="billing-site">{ app.t(Text::Site) }</label>
                    <select id="billing-site" onchange={on_site}>
                        <option value="" selected={site.is_empty()}>{ app.t(Text::AnySite) }</option>
                        { for sorted(&sites).into_iter().map(|(id, name)| html! {
                            <option value={id.clone()} selected={*site == id}>{ name }</option>
                        }) }
                    </select>
                </div>
                <div class="buttons">
                    <button type="button" class="primary download" onclick={on_download}>{ app.t(Text::DownloadCsv) }</button>
                </div>
            </div>
            if let Some(error) = &*download_error {
                <p class="form-error" role="alert">{ error }</p>
            }
            <table class="list meter-reads">
                <thead><tr>
                    <th scope="col">{ app.t(Text::Model) }</th>
                    <th scope="col">{ app.t(Text::Serial) }</th>
                    <th scope="col">{ app.t(Text::Site) }</th>
                    <th scope="col">{ app.t(Text::Counter) }</th>
                    <th scope="col" class="number">{ app.t(Text::StartReading) }</th>
                    <th scope="col" class="number">{ app.t(Text::EndReading) }</th>
                    <th scope="col" class="number">{ app.t(Text::Pages) }</th>
                    <th scope="col" class="number">{ app.t(Text::HeldForReview) }</th>
                </tr></thead>
                <tbody>
                    { for state.items.iter().map(|r| {
                        let name = [r.vendor.as_deref(), r.model.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
                        html! {
                            <tr class={classes!("meter-read", (r.held_pages > 0).then_some("held"))} data-meter={r.meter.clone()}>
                                <td><Link<Route> to={Route::Device { id: r.device_id.clone() }}>
                                    { if name.is_empty() { r.address.clone() } else { name } }
                                </Link<Route>></td>
                                <td class="mono">{ r.serial.clone().unwrap_or_else(|| "—".into()) }</td>
                                <td>{ r.site.clone().unwrap_or_else(|| "—".into()) }</td>
                                <td>{ &r.meter }</td>
                                <td class="number" title={r.start_read_at.as_deref().map(short_time).unwrap_or_default()}>
                                    { r.start_value.map(|v| v.to_string()).unwrap_or_else(|| "—".into()) }</td>
                                <td class="number" title={r.end_read_at.as_deref().map(short_time).unwrap_or_default()}>
                                    { r.end_value.map(|v| v.to_string()).unwrap_or_else(|| "—".into()) }</td>
                                <td class="number">
                                    { r.pages }
                                    if !r.notes.is_empty() { <span class="secondary">{ format!(" ({})", r.notes.join(", ")) }</span> }
                                </td>
                                <td class="number">
                                    if r.held_pages > 0 {
                                        <span class="badge specialist" title={app.t(Text::HeldHint)}>{ r.held_pages }</span>
                                    } else { { "0" } }
                                </td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <ListFooter loading={state.loading} has_more={state.next.is_some()} empty={state.items.is_empty()}
                empty_text={Text::NoMeterReads} error={state.error.clone()} on_more={list.load_more.clone()} />
        </section>
    }
}
