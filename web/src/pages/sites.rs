use std::rc::Rc;

use yew::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::paged::{ListFooter, Loader, action_button, row_action, use_paged};
use crate::components::tenant_select::TenantSelect;
use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::{self, CreateSite, DeleteSite, Sites as SitesQuery};

type Site = queries::sites::SitesSitesEdgesNode;

/// Common zones offered while typing; any IANA name is accepted.
const ZONES: [&str; 10] = [
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Zurich",
    "Europe/Luxembourg",
    "Europe/London",
    "Europe/Berlin",
    "America/Montreal",
    "Africa/Casablanca",
    "Indian/Reunion",
    "UTC",
];

#[function_component(Sites)]
pub fn sites() -> Html {
    let app = use_app();
    let loader: Loader<Site> = {
        let api = app.api.clone();
        Rc::new(move |after| {
            let api = api.clone();
            Box::pin(async move {
                let vars = queries::sites::Variables { first: Some(50), after };
                let data = api.run::<SitesQuery>(vars).await?;
                let next = data.sites.page_info.has_next_page.then_some(data.sites.page_info.end_cursor).flatten();
                Ok((data.sites.edges.into_iter().map(|e| e.node).collect(), next))
            })
        })
    };
    let list = use_paged(loader);
    let can_edit = app.viewer.role.can_manage_setup();
    let delete = row_action::<DeleteSite>(&app.api, Some(app.t(Text::ConfirmDelete)), &list.reload, |id| {
        queries::delete_site::Variables { id }
    });
    let state = &*list.state;
    html! {
        <section class="page">
            <h1>{ app.t(Text::Sites) }</h1>
            if can_edit {
                <NewSite on_created={list.reload.clone()} />
            }
            <table class="list">
                <thead><tr>
                    <th scope="col">{ app.t(Text::Name) }</th>
                    <th scope="col">{ app.t(Text::TimeZone) }</th>
                    <th scope="col">{ app.t(Text::Address) }</th>
                    <th scope="col">{ app.t(Text::Tenant) }</th>
                    if can_edit { <th scope="col">{ app.t(Text::Actions) }</th> }
                </tr></thead>
                <tbody>
                    { for state.items.iter().map(|site| {
                        html! {
                            <tr>
                                <td>{ &site.name }</td>
                                <td>{ &site.time_zone }</td>
                                <td>{ site.address.clone().unwrap_or_default() }</td>
                                <td>{ &site.tenant.name }</td>
                                if can_edit {
                                    <td>{ action_button(app.t(Text::Delete), &site.name, &site.id, &delete) }</td>
                                }
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <ListFooter loading={state.loading} has_more={state.next.is_some()} empty={state.items.is_empty()}
                empty_text={Text::NoSites} error={state.error.clone()} on_more={list.load_more.clone()} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct NewSiteProps {
    on_created: Callback<()>,
}

#[function_component(NewSite)]
fn new_site(props: &NewSiteProps) -> Html {
    let app = use_app();
    let name = use_state(String::new);
    let zone = use_state(|| "Europe/Paris".to_owned());
    let address = use_state(String::new);
    let tenant = use_state(String::new);
    let error = use_state(|| None::<ApiError>);
    let busy = use_state(|| false);
    let onsubmit = {
        let (name, zone, address, tenant, error, busy) =
            (name.clone(), zone.clone(), address.clone(), tenant.clone(), error.clone(), busy.clone());
        let api = app.api.clone();
        let on_created = props.on_created.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            busy.set(true);
            let input = queries::create_site::CreateSiteInput {
                tenant_id: Some((*tenant).clone()).filter(|t| !t.is_empty()),
                name: (*name).clone(),
                time_zone: (*zone).clone(),
                address: Some((*address).clone()).filter(|a| !a.trim().is_empty()),
            };
            let (api, on_created, name, address, error, busy) =
                (api.clone(), on_created.clone(), name.clone(), address.clone(), error.clone(), busy.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<CreateSite>(queries::create_site::Variables { input }).await {
                    Ok(_) => {
                        name.set(String::new());
                        address.set(String::new());
                        error.set(None);
                        on_created.emit(());
                    }
                    Err(err) => error.set(Some(err)),
                }
                busy.set(false);
            });
        })
    };
    let set = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |v: String| state.set(v))
    };
    html! {
        <form class="create" {onsubmit} aria-label={app.t(Text::NewSite)}>
            <h2>{ app.t(Text::NewSite) }</h2>
            <FormError error={(*error).clone()} fields={vec!["name", "timeZone", "address", "tenantId"]} />
            <div class="row">
                <TenantSelect value={(*tenant).clone()} onchange={set(&tenant)} />
                <Field name="name" label={app.t(Text::Name)} value={(*name).clone()} required=true
                    error={(*error).clone()} oninput={set(&name)} />
                <Field name="timeZone" label={app.t(Text::TimeZone)} value={(*zone).clone()} required=true
                    list="zones" error={(*error).clone()} oninput={set(&zone)} />
                <Field name="address" label={app.t(Text::Address)} value={(*address).clone()}
                    error={(*error).clone()} oninput={set(&address)} />
                <button type="submit" class="primary" disabled={*busy}>{ app.t(Text::Create) }</button>
            </div>
            <datalist id="zones">{ for ZONES.iter().map(|z| html! { <option value={*z} /> }) }</datalist>
        </form>
    }
}
