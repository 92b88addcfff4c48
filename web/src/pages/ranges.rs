//! Discovery ranges: the addresses agents sweep, when each cycle runs (weekday × hour grid),
//! which SNMP credentials they try; and range files (CSV) checked line by line before anything
//! is created.

use std::collections::HashMap;
use std::rc::Rc;

use cartouche_schema::wire::Cycle;
use serde_json::{Value, json};
use yew::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::paged::{ListFooter, Loader, action_button, row_action, use_paged};
use crate::components::schedule::{Plan, ScheduleEditor, summary};
use crate::components::sites::{sorted, use_site_names};
use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::{
    self, CreateDiscoveryRange, DeleteDiscoveryRange, DiscoveryRanges as RangesQuery, SnmpCredentials,
    UpdateDiscoveryRange,
};

mod import;

type Range = queries::discovery_ranges::DiscoveryRangesDiscoveryRangesEdgesNode;

/// The cycles, in the order the page shows them, with their schema word and label.
const CYCLES: [(Cycle, &str, Text); 3] = [
    (Cycle::Discovery, "DISCOVERY", Text::CycleDiscovery),
    (Cycle::Counters, "COUNTERS", Text::CycleCounters),
    (Cycle::Alerts, "ALERTS", Text::CycleAlerts),
];

/// A range being written: new (`id` none) or an existing one being changed.
#[derive(Clone, Debug, PartialEq)]
struct Draft {
    id: Option<String>,
    site_id: String,
    name: String,
    ranges: String,
    credential_ids: Vec<String>,
    plans: [Plan; 3],
}

impl Draft {
    fn new(site_id: String) -> Draft {
        Draft {
            id: None,
            site_id,
            name: String::new(),
            ranges: String::new(),
            credential_ids: Vec::new(),
            plans: CYCLES.map(|(cycle, ..)| Plan::default_of(cycle)),
        }
    }

    fn of(range: &Range) -> Draft {
        let plans = CYCLES.map(|(cycle, word, _)| {
            range
                .schedules
                .iter()
                .find(|s| serde_json::to_value(&s.cycle).ok().as_ref().and_then(Value::as_str) == Some(word))
                .map_or_else(
                    || Plan::default_of(cycle),
                    |s| {
                        // The generated types as the JSON the API sent (their enums serialise
                        // to the schema's words).
                        let days: Vec<Value> = s
                            .days
                            .iter()
                            .map(|d| json!({ "weekday": serde_json::to_value(&d.weekday).ok(), "hours": d.hours }))
                            .collect();
                        let once = s
                            .once
                            .as_ref()
                            .map(|o| json!({ "weekday": serde_json::to_value(&o.weekday).ok(), "hour": o.hour }));
                        Plan::from_json(
                            &json!({ "kind": serde_json::to_value(&s.kind).ok(), "days": days, "once": once }),
                        )
                    },
                )
        });
        Draft {
            id: Some(range.id.clone()),
            site_id: range.site.id.clone(),
            name: range.name.clone(),
            ranges: range.ranges.clone(),
            credential_ids: range.credential_ids.clone(),
            plans,
        }
    }

    /// The API's `DiscoveryRangeInput`, as JSON (read into each mutation's own generated type).
    fn input(&self) -> Value {
        let schedules: Vec<Value> = CYCLES
            .iter()
            .zip(&self.plans)
            .map(|((_, word, _), plan)| json!({ "cycle": word, "schedule": plan.to_input() }))
            .collect();
        json!({
            "siteId": self.site_id,
            "name": self.name,
            "ranges": self.ranges,
            "credentialIds": self.credential_ids,
            "schedules": schedules,
        })
    }
}

/// Credential id → name, for the pickers and the list.
#[hook]
fn use_credential_names() -> UseStateHandle<Vec<(String, String)>> {
    let app = use_app();
    let names = use_state(Vec::new);
    {
        let (api, names) = (app.api.clone(), names.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let vars = queries::snmp_credentials::Variables { first: Some(100), after: None };
                if let Ok(data) = api.run::<SnmpCredentials>(vars).await {
                    names.set(data.snmp_credentials.edges.into_iter().map(|e| (e.node.id, e.node.name)).collect());
                }
            });
        });
    }
    names
}

#[function_component(Ranges)]
pub fn ranges() -> Html {
    let app = use_app();
    let sites = use_site_names();
    let credentials = use_credential_names();
    let editing = use_state(|| None::<Draft>);
    let importing = use_state(|| false);
    let loader: Loader<Range> = {
        let api = app.api.clone();
        Rc::new(move |after| {
            let api = api.clone();
            Box::pin(async move {
                let vars = queries::discovery_ranges::Variables { first: Some(50), after };
                let data = api.run::<RangesQuery>(vars).await?;
                let info = data.discovery_ranges.page_info;
                let next = info.has_next_page.then_some(info.end_cursor).flatten();
                Ok((data.discovery_ranges.edges.into_iter().map(|e| e.node).collect(), next))
            })
        })
    };
    let list = use_paged(loader);
    let delete = row_action::<DeleteDiscoveryRange>(&app.api, Some(app.t(Text::ConfirmDelete)), &list.reload, |id| {
        queries::delete_discovery_range::Variables { id }
    });
    let can_edit = app.viewer.role.can_manage_setup();
    let site_options = sorted(&sites);
    let first_site = site_options.first().map(|(id, _)| id.clone()).unwrap_or_default();
    let on_new = {
        let (editing, importing, first_site) = (editing.clone(), importing.clone(), first_site.clone());
        Callback::from(move |_| {
            importing.set(false);
            editing.set(Some(Draft::new(first_site.clone())));
        })
    };
    let on_import = {
        let (editing, importing) = (editing.clone(), importing.clone());
        Callback::from(move |_| {
            editing.set(None);
            importing.set(!*importing);
        })
    };
    let on_done = {
        let (editing, importing, reload) = (editing.clone(), importing.clone(), list.reload.clone());
        Callback::from(move |saved: bool| {
            editing.set(None);
            importing.set(false);
            if saved {
                reload.emit(());
            }
        })
    };
    let credential_names: HashMap<String, String> = credentials.iter().cloned().collect();
    let state = &*list.state;
    html! {
        <section class="page">
            <h1>{ app.t(Text::DiscoveryRanges) }</h1>
            <p class="hint">{ app.t(Text::RangesIntro) }</p>
            if can_edit {
                <div class="toolbar">
                    <button type="button" class="primary" onclick={on_new} disabled={site_options.is_empty()}>
                        { app.t(Text::NewRange) }</button>
                    <button type="button" onclick={on_import} aria-expanded={importing.to_string()}
                        disabled={site_options.is_empty()}>{ app.t(Text::ImportFile) }</button>
                    if site_options.is_empty() {
                        <span class="hint">{ app.t(Text::CreateASiteFirst) }</span>
                    }
                </div>
            }
            if let Some(draft) = &*editing {
                <RangeForm draft={draft.clone()} sites={site_options.clone()} credentials={(*credentials).clone()}
                    on_done={on_done.clone()} />
            }
            if *importing {
                <import::RangeImport sites={site_options.clone()} credentials={(*credentials).clone()}
                    default_site={first_site.clone()} on_done={on_done.clone()} />
            }
            <table class="list">
                <thead><tr>
                    <th scope="col">{ app.t(Text::Name) }</th>
                    <th scope="col">{ app.t(Text::Site) }</th>
                    <th scope="col">{ app.t(Text::Addresses) }</th>
                    { for CYCLES.iter().map(|(_, _, label)| html! { <th scope="col">{ app.t(*label) }</th> }) }
                    <th scope="col">{ app.t(Text::Credentials) }</th>
                    if can_edit { <th scope="col">{ app.t(Text::Actions) }</th> }
                </tr></thead>
                <tbody>
                    { for state.items.iter().map(|range| {
                        let draft = Draft::of(range);
                        let edit = {
                            let (editing, importing, draft) = (editing.clone(), importing.clone(), draft.clone());
                            Callback::from(move |_| {
                                importing.set(false);
                                editing.set(Some(draft.clone()));
                            })
                        };
                        let tried: Vec<String> = range.credential_ids.iter()
                            .map(|id| credential_names.get(id).cloned().unwrap_or_else(|| id.clone())).collect();
                        html! {
                            <tr class="range" data-name={range.name.clone()}>
                                <td>{ &range.name }</td>
                                <td>{ &range.site.name }</td>
                                <td><code>{ &range.ranges }</code>
                                    <span class="hint">{ format!(" ({})", range.address_count) }</span></td>
                                { for draft.plans.iter().map(|plan| html! { <td>{ summary(|t| app.t(t), plan) }</td> }) }
                                <td>{ if tried.is_empty() { "public (v2c)".to_owned() } else { tried.join(", ") } }</td>
                                if can_edit {
                                    <td class="actions">
                                        <button type="button" aria-label={format!("{} {}", app.t(Text::Edit), range.name)}
                                            onclick={edit}>{ app.t(Text::Edit) }</button>
                                        { action_button(app.t(Text::Delete), &range.name, &range.id, &delete) }
                                    </td>
                                }
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <ListFooter loading={state.loading} has_more={state.next.is_some()} empty={state.items.is_empty()}
                empty_text={Text::NoRanges} error={state.error.clone()} on_more={list.load_more.clone()} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct RangeFormProps {
    draft: Draft,
    sites: Vec<(String, String)>,
    credentials: Vec<(String, String)>,
    /// Called with whether something was saved.
    on_done: Callback<bool>,
}

/// Creates or changes one range: site, name, addresses, credentials in order, three schedules.
#[function_component(RangeForm)]
fn range_form(props: &RangeFormProps) -> Html {
    let app = use_app();
    let draft = use_state(|| props.draft.clone());
    let error = use_state(|| None::<ApiError>);
    let busy = use_state(|| false);
    {
        // Another row's "edit" replaces the draft.
        let draft = draft.clone();
        use_effect_with(props.draft.clone(), move |next| draft.set(next.clone()));
    }
    let update = |change: fn(&mut Draft, String)| {
        let draft = draft.clone();
        Callback::from(move |value: String| {
            let mut next = (*draft).clone();
            change(&mut next, value);
            draft.set(next);
        })
    };
    let onsubmit = {
        let (api, draft, error, busy, on_done) =
            (app.api.clone(), draft.clone(), error.clone(), busy.clone(), props.on_done.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (api, error, busy, on_done) = (api.clone(), error.clone(), busy.clone(), on_done.clone());
            let draft = (*draft).clone();
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let result = match &draft.id {
                    None => match serde_json::from_value(json!({ "input": draft.input() })) {
                        Ok(vars) => api.run::<CreateDiscoveryRange>(vars).await.map(drop),
                        Err(e) => Err(ApiError::local(e)),
                    },
                    Some(id) => match serde_json::from_value(json!({ "id": id, "input": draft.input() })) {
                        Ok(vars) => api.run::<UpdateDiscoveryRange>(vars).await.map(drop),
                        Err(e) => Err(ApiError::local(e)),
                    },
                };
                busy.set(false);
                match result {
                    Ok(()) => on_done.emit(true),
                    Err(err) => error.set(Some(err)),
                }
            });
        })
    };
    let on_site = {
        let draft = draft.clone();
        Callback::from(move |e: Event| {
            let mut next = (*draft).clone();
            next.site_id = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            draft.set(next);
        })
    };
    let on_ranges = {
        let (draft, error) = (draft.clone(), error.clone());
        Callback::from(move |e: InputEvent| {
            let mut next = (*draft).clone();
            next.ranges = e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value();
            draft.set(next);
            // The server's word on the old text no longer applies; the live check takes over.
            if error.as_ref().is_some_and(|e| e.for_field("ranges").is_some()) {
                error.set(None);
            }
        })
    };
    // What the addresses cover, checked as they are typed (the server checks again).
    let preview = match cartouche_schema::ranges::Range::parse_list(&draft.ranges) {
        _ if draft.ranges.trim().is_empty() => None,
        Ok(list) => Some(Ok(list.iter().map(|r| r.len()).sum::<u64>())),
        Err(e) => Some(Err(e.to_string())),
    };
    let ranges_error = error.as_ref().and_then(|e| e.for_field("ranges")).map(str::to_owned);
    let schedule_error = error
        .as_ref()
        .filter(|e| e.field.as_deref().is_some_and(|f| f.starts_with("schedules")))
        .map(|e| e.message.clone());
    let credentials_error = error
        .as_ref()
        .filter(|e| e.field.as_deref().is_some_and(|f| f.starts_with("credentialIds")))
        .map(|e| e.message.clone());
    let title = if draft.id.is_some() { Text::EditRange } else { Text::NewRange };
    let on_cancel = props.on_done.reform(|_: MouseEvent| false);
    html! {
        <form class="create range-form" {onsubmit} aria-label={app.t(title)}>
            <h2>{ app.t(title) }</h2>
            <FormError error={(*error).clone()}
                fields={vec!["siteId", "name", "ranges", "credentialIds", "schedules", "agentId"]} />
            <div class="row">
                <div class={classes!("field", error.as_ref().and_then(|e| e.for_field("siteId")).map(|_| "invalid"))}>
                    <label for="range-site">{ app.t(Text::Site) }</label>
                    <select id="range-site" name="siteId" onchange={on_site}>
                        { for props.sites.iter().map(|(id, name)| html! {
                            <option value={id.clone()} selected={*id == draft.site_id}>{ name }</option>
                        }) }
                    </select>
                    if let Some(message) = error.as_ref().and_then(|e| e.for_field("siteId")) {
                        <p class="field-error" role="alert">{ message }</p>
                    }
                </div>
                <Field name="name" label={app.t(Text::Name)} value={draft.name.clone()} required=true
                    error={(*error).clone()} oninput={update(|d, v| d.name = v)} />
            </div>
            <div class={classes!("field", "wide", ranges_error.is_some().then_some("invalid"))}>
                <label for="field-ranges">{ app.t(Text::Addresses) }</label>
                <textarea id="field-ranges" name="ranges" rows="3" required=true value={draft.ranges.clone()}
                    placeholder="10.1.0.0/22, 10.2.0.10-10.2.0.50, printer-3.example.com"
                    aria-invalid={ranges_error.is_some().to_string()}
                    aria-describedby="field-ranges-help" oninput={on_ranges} />
                <p class="hint" id="field-ranges-help" aria-live="polite">
                    { match (&ranges_error, &preview) {
                        (Some(message), _) => html! { <span class="field-error" role="alert">{ message }</span> },
                        (None, Some(Err(message))) => html! { <span class="field-error">{ message }</span> },
                        (None, Some(Ok(count))) => html! { { format!("{count} {}", app.t(Text::AddressesCovered)) } },
                        (None, None) => html! { app.t(Text::RangesHint) },
                    } }
                </p>
            </div>
            <CredentialPicker credentials={props.credentials.clone()} chosen={draft.credential_ids.clone()}
                error={credentials_error} on_change={{
                    let draft = draft.clone();
                    Callback::from(move |ids: Vec<String>| {
                        let mut next = (*draft).clone();
                        next.credential_ids = ids;
                        draft.set(next);
                    })
                }} />
            if let Some(message) = schedule_error {
                <p class="field-error" role="alert">{ message }</p>
            }
            <div class="schedules">
                { for CYCLES.iter().enumerate().map(|(i, (_, word, label))| {
                    let on_change = {
                        let draft = draft.clone();
                        Callback::from(move |plan: Plan| {
                            let mut next = (*draft).clone();
                            next.plans[i] = plan;
                            draft.set(next);
                        })
                    };
                    html! {
                        <ScheduleEditor id={format!("schedule-{}", word.to_lowercase())} legend={app.t(*label)}
                            plan={draft.plans[i].clone()} {on_change} />
                    }
                }) }
            </div>
            <p class="hint">{ app.t(Text::ScheduleLocalTime) }</p>
            <div class="row">
                <button type="submit" class="primary" disabled={*busy}>{ app.t(Text::Save) }</button>
                <button type="button" onclick={on_cancel}>{ app.t(Text::Cancel) }</button>
            </div>
        </form>
    }
}

#[derive(Properties, PartialEq)]
pub(crate) struct CredentialPickerProps {
    pub credentials: Vec<(String, String)>,
    pub chosen: Vec<String>,
    pub error: Option<String>,
    pub on_change: Callback<Vec<String>>,
}

/// Which credentials to try, in the order ticked (the order agents try them).
#[function_component(CredentialPicker)]
pub(crate) fn credential_picker(props: &CredentialPickerProps) -> Html {
    let app = use_app();
    html! {
        <fieldset class={classes!("credentials-picker", props.error.is_some().then_some("invalid"))}>
            <legend>{ app.t(Text::CredentialsToTry) }</legend>
            if props.credentials.is_empty() {
                <p class="hint">{ app.t(Text::NoCredentials) }</p>
            }
            { for props.credentials.iter().map(|(id, name)| {
                let position = props.chosen.iter().position(|c| c == id);
                let (chosen, on_change, id_owned) = (props.chosen.clone(), props.on_change.clone(), id.clone());
                let onchange = Callback::from(move |_| {
                    let mut next = chosen.clone();
                    match next.iter().position(|c| *c == id_owned) {
                        Some(i) => { next.remove(i); }
                        None => next.push(id_owned.clone()),
                    }
                    on_change.emit(next);
                });
                html! {
                    <label class="choice">
                        <input type="checkbox" checked={position.is_some()} {onchange} />
                        { name }
                        if let Some(i) = position { <span class="order">{ format!(" #{}", i + 1) }</span> }
                    </label>
                }
            }) }
            if let Some(message) = &props.error {
                <p class="field-error" role="alert">{ message }</p>
            }
        </fieldset>
    }
}
