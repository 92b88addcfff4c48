//! Reports: ask for a fleet report (a customer or one of its sites, a period, CSV, XLSX or
//! PDF), watch it being made, download it; managers schedule them weekly or monthly.

use gloo_timers::callback::Timeout;
use serde_json::json;
use yew::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::format::short_time;
use crate::components::sites::{sorted, use_site_names};
use crate::components::tenant_select::TenantSelect;
use crate::context::use_app;
use crate::i18n::Text;
use crate::pages::maintenance::word;
use crate::queries::{self, CreateReportSchedule, DeleteReportSchedule, Reports as ReportsQuery, RequestReport};

type Data = queries::reports::ResponseData;

/// While a report is being made, the list is read again this often.
const POLL_MS: u32 = 1_500;

/// The previous month's first day and this month's (YYYY-MM-DD), from the browser's clock.
fn previous_month() -> (String, String) {
    let now = js_sys::Date::new_0();
    let (year, month) = (now.get_full_year(), now.get_month() + 1);
    let (last_year, last_month) = if month == 1 { (year - 1, 12) } else { (year, month - 1) };
    (format!("{last_year:04}-{last_month:02}-01"), format!("{year:04}-{month:02}-01"))
}

#[function_component(Reports)]
pub fn reports() -> Html {
    let app = use_app();
    let sites = use_site_names();
    let version = use_state(|| 0u32);
    let data = use_state(|| None::<Result<Data, ApiError>>);
    let poll = use_mut_ref(|| None::<Timeout>);
    {
        let (api, data, version, poll) = (app.api.clone(), data.clone(), version.clone(), poll.clone());
        use_effect_with(*version, move |current| {
            let current = *current;
            wasm_bindgen_futures::spawn_local(async move {
                let fresh = api.run::<ReportsQuery>(queries::reports::Variables {}).await;
                let busy = fresh
                    .as_ref()
                    .is_ok_and(|d| d.reports.iter().any(|r| matches!(word(&r.status).as_str(), "queued" | "running")));
                data.set(Some(fresh));
                if busy {
                    *poll.borrow_mut() = Some(Timeout::new(POLL_MS, move || version.set(current + 1)));
                }
            });
        });
    }
    let reload = {
        let version = version.clone();
        Callback::from(move |()| version.set(*version + 1))
    };
    let download_error = use_state(|| None::<String>);
    let on_download = {
        let (api, download_error) = (app.api.clone(), download_error.clone());
        Callback::from(move |(path, name): (String, String)| {
            let (token, download_error) = (api.access_token().unwrap_or_default(), download_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                download_error.set(crate::components::download::download(&path, &token, &name).await.err());
            });
        })
    };
    let delete_schedule = {
        let (api, reload) = (app.api.clone(), reload.clone());
        Callback::from(move |id: String| {
            let (api, reload) = (api.clone(), reload.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let _ = api.run::<DeleteReportSchedule>(queries::delete_report_schedule::Variables { id }).await;
                reload.emit(());
            });
        })
    };
    let site_name = |id: &Option<String>| -> String {
        id.as_ref().and_then(|s| sites.get(s).cloned()).unwrap_or_else(|| app.t(Text::AllSites).to_owned())
    };
    let body = match &*data {
        None => html! { <p role="status">{ app.t(Text::Loading) }</p> },
        Some(Err(error)) => html! { <p class="form-error" role="alert">{ &error.message }</p> },
        Some(Ok(data)) if data.reports.is_empty() => html! { <p class="empty">{ app.t(Text::NoReports) }</p> },
        Some(Ok(data)) => html! {
            <table class="list reports">
                <thead><tr>
                    <th scope="col">{ app.t(Text::Period) }</th>
                    <th scope="col">{ app.t(Text::Site) }</th>
                    <th scope="col">{ app.t(Text::Format) }</th>
                    <th scope="col">{ app.t(Text::Status) }</th>
                    <th scope="col">{ app.t(Text::Requested) }</th>
                    <th scope="col">{ app.t(Text::Actions) }</th>
                </tr></thead>
                <tbody>
                    { for data.reports.iter().map(|r| {
                        let status = word(&r.status);
                        let format = word(&r.format).to_uppercase();
                        let state = match status.as_str() {
                            "queued" => html! { <span class="status unknown">{ app.t(Text::Queued) }</span> },
                            "running" => html! {
                                <span class="running">
                                    <progress max="100" value={r.progress.to_string()} aria-label={app.t(Text::Progress)} />
                                    { format!(" {} % {}", r.progress, r.stage.clone().unwrap_or_default()) }
                                </span>
                            },
                            "done" => html! { <span class="status ok">{ app.t(Text::Ready) }{ r.size.map(|s| format!(" · {} KB", (s + 1023) / 1024)).unwrap_or_default() }</span> },
                            _ => html! { <span class="status error" title={r.error.clone().unwrap_or_default()}>{ app.t(Text::Failed) }{ ": " }{ r.error.clone().unwrap_or_default() }</span> },
                        };
                        let download = match (&r.download_path, &r.file_name) {
                            (Some(path), Some(name)) => {
                                let (on_download, args) = (on_download.clone(), (path.clone(), name.clone()));
                                html! { <button type="button" class="download" aria-label={format!("{} {name}", app.t(Text::Download))}
                                    onclick={Callback::from(move |_| on_download.emit(args.clone()))}>{ app.t(Text::Download) }</button> }
                            }
                            _ => html! {},
                        };
                        html! {
                            <tr class="report" data-status={status} data-format={format.clone()}>
                                <td>{ format!("{} → {}", r.from, r.to) }</td>
                                <td>{ site_name(&r.site_id) }</td>
                                <td>{ format }{ if r.schedule_id.is_some() { format!(" ({})", app.t(Text::Scheduled)) } else { String::new() } }</td>
                                <td>{ state }</td>
                                <td>{ short_time(&r.created_at) }</td>
                                <td>{ download }</td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
        },
    };
    let schedules = match &*data {
        Some(Ok(data)) if app.viewer.role.can_manage_setup() => html! {
            <section class="schedules">
                <h2>{ app.t(Text::ReportSchedules) }</h2>
                if data.report_schedules.is_empty() {
                    <p class="empty">{ app.t(Text::NoSchedules) }</p>
                } else {
                    <ul>
                        { for data.report_schedules.iter().map(|s| html! {
                            <li class="schedule">
                                { format!("{} · {} · {} · {} {}", word(&s.cadence), word(&s.format).to_uppercase(), site_name(&s.site_id),
                                    app.t(Text::NextOn), s.next_run_on) }
                                { " " }{ crate::components::paged::action_button(app.t(Text::Delete), &word(&s.cadence), &s.id, &delete_schedule) }
                            </li>
                        }) }
                    </ul>
                }
                <NewSchedule sites={sorted(&sites)} on_created={reload.clone()} />
            </section>
        },
        _ => html! {},
    };
    html! {
        <section class="page reports-page">
            <h1>{ app.t(Text::Reports) }</h1>
            <p class="hint">{ app.t(Text::ReportsIntro) }</p>
            <NewReport sites={sorted(&sites)} on_created={reload} />
            if let Some(error) = &*download_error {
                <p class="form-error" role="alert">{ error }</p>
            }
            { body }
            { schedules }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct NewReportProps {
    sites: Vec<(String, String)>,
    on_created: Callback<()>,
}

fn select_state(state: &UseStateHandle<String>) -> Callback<Event> {
    let state = state.clone();
    Callback::from(move |e: Event| state.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
}

fn site_options(app: &crate::context::AppContext, sites: &[(String, String)], chosen: &str) -> Html {
    html! {
        <>
            <option value="" selected={chosen.is_empty()}>{ app.t(Text::AllSites) }</option>
            { for sites.iter().map(|(id, name)| html! { <option value={id.clone()} selected={chosen == id}>{ name }</option> }) }
        </>
    }
}

#[function_component(NewReport)]
fn new_report(props: &NewReportProps) -> Html {
    let app = use_app();
    let (first, next) = previous_month();
    let tenant = use_state(String::new);
    let site = use_state(String::new);
    let from = use_state(|| first);
    let to = use_state(|| next);
    let format = use_state(|| "PDF".to_owned());
    let error = use_state(|| None::<ApiError>);
    let onsubmit = {
        let (api, error, created) = (app.api.clone(), error.clone(), props.on_created.clone());
        let (tenant, site, from, to, format) = (tenant.clone(), site.clone(), from.clone(), to.clone(), format.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = json!({
                "tenantId": Some(tenant.as_str()).filter(|t| !t.is_empty()),
                "siteId": Some(site.as_str()).filter(|s| !s.is_empty()),
                "from": *from, "to": *to, "format": *format,
            });
            let Ok(input) = serde_json::from_value(input) else {
                return error.set(Some(ApiError {
                    code: "VALIDATION".into(),
                    message: app_dates_message(),
                    field: Some("from".into()),
                }));
            };
            let (api, error, created) = (api.clone(), error.clone(), created.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<RequestReport>(queries::request_report::Variables { input }).await {
                    Ok(_) => {
                        error.set(None);
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
    let on_tenant = {
        let tenant = tenant.clone();
        Callback::from(move |v: String| tenant.set(v))
    };
    let err = (*error).clone();
    html! {
        <form class="create report-form" {onsubmit} aria-label={app.t(Text::NewReport)}>
            <h2>{ app.t(Text::NewReport) }</h2>
            <FormError error={err.clone()} fields={vec!["from", "to"]} />
            <div class="row">
                <TenantSelect value={(*tenant).clone()} onchange={on_tenant} />
                <div class="field">
                    <label for="report-site">{ app.t(Text::Site) }</label>
                    <select id="report-site" onchange={select_state(&site)}>{ site_options(&app, &props.sites, &site) }</select>
                </div>
                <Field name="from" label={app.t(Text::From)} kind="date" value={(*from).clone()} oninput={text(&from)} error={err.clone()} required=true />
                <Field name="to" label={app.t(Text::ToExcluded)} kind="date" value={(*to).clone()} oninput={text(&to)} error={err.clone()} required=true />
                <div class="field">
                    <label for="report-format">{ app.t(Text::Format) }</label>
                    <select id="report-format" onchange={select_state(&format)}>
                        { for ["PDF", "XLSX", "CSV"].iter().map(|f| html! { <option value={*f} selected={*format == *f}>{ f }</option> }) }
                    </select>
                </div>
            </div>
            <button type="submit" class="primary">{ app.t(Text::MakeReport) }</button>
        </form>
    }
}

fn app_dates_message() -> String {
    "give the period's first and last days (YYYY-MM-DD)".into()
}

#[function_component(NewSchedule)]
fn new_schedule(props: &NewReportProps) -> Html {
    let app = use_app();
    let site = use_state(String::new);
    let format = use_state(|| "PDF".to_owned());
    let cadence = use_state(|| "MONTHLY".to_owned());
    let error = use_state(|| None::<ApiError>);
    let onsubmit = {
        let (api, error, created) = (app.api.clone(), error.clone(), props.on_created.clone());
        let (site, format, cadence) = (site.clone(), format.clone(), cadence.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = json!({ "siteId": Some(site.as_str()).filter(|s| !s.is_empty()), "format": *format, "cadence": *cadence });
            let Ok(input) = serde_json::from_value(input) else { return };
            let (api, error, created) = (api.clone(), error.clone(), created.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<CreateReportSchedule>(queries::create_report_schedule::Variables { input }).await {
                    Ok(_) => {
                        error.set(None);
                        created.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    html! {
        <form class="create schedule-form" {onsubmit} aria-label={app.t(Text::NewSchedule)}>
            <div class="row">
                <div class="field">
                    <label for="schedule-cadence">{ app.t(Text::Every) }</label>
                    <select id="schedule-cadence" onchange={select_state(&cadence)}>
                        <option value="MONTHLY" selected={*cadence == "MONTHLY"}>{ app.t(Text::Monthly) }</option>
                        <option value="WEEKLY" selected={*cadence == "WEEKLY"}>{ app.t(Text::Weekly) }</option>
                    </select>
                </div>
                <div class="field">
                    <label for="schedule-site">{ app.t(Text::Site) }</label>
                    <select id="schedule-site" onchange={select_state(&site)}>{ site_options(&app, &props.sites, &site) }</select>
                </div>
                <div class="field">
                    <label for="schedule-format">{ app.t(Text::Format) }</label>
                    <select id="schedule-format" onchange={select_state(&format)}>
                        { for ["PDF", "XLSX", "CSV"].iter().map(|f| html! { <option value={*f} selected={*format == *f}>{ f }</option> }) }
                    </select>
                </div>
            </div>
            <button type="submit">{ app.t(Text::NewSchedule) }</button>
            <FormError error={(*error).clone()} />
        </form>
    }
}
