use std::rc::Rc;

use yew::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::format::short_date;
use crate::components::paged::{ListFooter, Loader, use_paged};
use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::{self, CreateTenant, Tenants};

type Tenant = queries::tenants::TenantsTenantsEdgesNode;

/// The tenants you may see: your own and your customers (a dealer's view).
#[function_component(Customers)]
pub fn customers() -> Html {
    let app = use_app();
    let loader: Loader<Tenant> = {
        let api = app.api.clone();
        Rc::new(move |after| {
            let api = api.clone();
            Box::pin(async move {
                let vars = queries::tenants::Variables { first: Some(50), after };
                let data = api.run::<Tenants>(vars).await?;
                let next = data.tenants.page_info.has_next_page.then_some(data.tenants.page_info.end_cursor).flatten();
                Ok((data.tenants.edges.into_iter().map(|e| e.node).collect(), next))
            })
        })
    };
    let list = use_paged(loader);
    let own = app.viewer.me.tenant.id.clone();
    let state = &*list.state;
    let customers: Vec<&Tenant> = state.items.iter().filter(|t| t.id != own).collect();
    html! {
        <section class="page">
            <h1>{ app.t(Text::Customers) }</h1>
            if app.viewer.role.can_manage_users() {
                <NewCustomer on_created={list.reload.clone()} />
            }
            <table class="list">
                <thead><tr>
                    <th scope="col">{ app.t(Text::Name) }</th>
                    <th scope="col">{ app.t(Text::Parent) }</th>
                    <th scope="col">{ app.t(Text::Created) }</th>
                </tr></thead>
                <tbody>
                    { for customers.iter().map(|tenant| html! {
                        <tr>
                            <td>{ &tenant.name }</td>
                            <td>{ tenant.parent.as_ref().map(|p| p.name.clone()).unwrap_or_default() }</td>
                            <td>{ short_date(&tenant.created_at) }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            <ListFooter loading={state.loading} has_more={state.next.is_some()} empty={customers.is_empty()}
                empty_text={Text::NoCustomers} error={state.error.clone()} on_more={list.load_more.clone()} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct NewCustomerProps {
    on_created: Callback<()>,
}

#[function_component(NewCustomer)]
fn new_customer(props: &NewCustomerProps) -> Html {
    let app = use_app();
    let name = use_state(String::new);
    let error = use_state(|| None::<ApiError>);
    let onsubmit = {
        let (name, error) = (name.clone(), error.clone());
        let api = app.api.clone();
        let on_created = props.on_created.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = queries::create_tenant::CreateTenantInput { parent_id: None, name: (*name).clone() };
            let (api, on_created, name, error) = (api.clone(), on_created.clone(), name.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<CreateTenant>(queries::create_tenant::Variables { input }).await {
                    Ok(_) => {
                        name.set(String::new());
                        error.set(None);
                        on_created.emit(());
                    }
                    Err(err) => error.set(Some(err)),
                }
            });
        })
    };
    html! {
        <form class="create" {onsubmit} aria-label={app.t(Text::NewCustomer)}>
            <h2>{ app.t(Text::NewCustomer) }</h2>
            <FormError error={(*error).clone()} fields={vec!["name"]} />
            <div class="row">
                <Field name="name" label={app.t(Text::Name)} value={(*name).clone()} required=true
                    error={(*error).clone()} oninput={let name = name.clone(); Callback::from(move |v| name.set(v))} />
                <button type="submit" class="primary">{ app.t(Text::Create) }</button>
            </div>
        </form>
    }
}
