use std::rc::Rc;

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::format::{short_date, short_time};
use crate::components::paged::{ListFooter, Loader, action_button, row_action, use_paged};
use crate::context::{role_from, role_text, use_app};
use crate::i18n::Text;
use crate::queries::{self, ApiTokens as ApiTokensQuery, CreateApiToken, RevokeApiToken};

type Token = queries::api_tokens::ApiTokensApiTokensEdgesNode;

#[function_component(ApiTokens)]
pub fn api_tokens() -> Html {
    let app = use_app();
    let loader: Loader<Token> = {
        let api = app.api.clone();
        Rc::new(move |after| {
            let api = api.clone();
            Box::pin(async move {
                let vars = queries::api_tokens::Variables { first: Some(50), after };
                let data = api.run::<ApiTokensQuery>(vars).await?;
                let page = data.api_tokens;
                let next = page.page_info.has_next_page.then_some(page.page_info.end_cursor).flatten();
                Ok((page.edges.into_iter().map(|e| e.node).collect(), next))
            })
        })
    };
    let list = use_paged(loader);
    let revoke =
        row_action::<RevokeApiToken>(&app.api, None, &list.reload, |id| queries::revoke_api_token::Variables { id });
    let state = &*list.state;
    html! {
        <section class="page">
            <h1>{ app.t(Text::ApiTokens) }</h1>
            <NewToken on_created={list.reload.clone()} />
            <table class="list">
                <thead><tr>
                    <th scope="col">{ app.t(Text::Name) }</th>
                    <th scope="col">{ app.t(Text::Role) }</th>
                    <th scope="col">{ app.t(Text::Tenant) }</th>
                    <th scope="col">{ app.t(Text::Expires) }</th>
                    <th scope="col">{ app.t(Text::LastUsed) }</th>
                    <th scope="col">{ app.t(Text::Status) }</th>
                    <th scope="col">{ app.t(Text::Actions) }</th>
                </tr></thead>
                <tbody>
                    { for state.items.iter().map(|token| {
                        html! {
                            <tr class={classes!((!token.active).then_some("muted"))}>
                                <td>{ &token.name }</td>
                                <td>{ app.t(role_text(role_from(&token.role))) }</td>
                                <td>{ &token.tenant.name }</td>
                                <td>{ short_date(&token.expires_at) }</td>
                                <td>{ token.last_used_at.as_deref().map_or_else(|| app.t(Text::Never).to_owned(), short_time) }</td>
                                <td>{ app.t(if token.active { Text::Active } else { Text::Inactive }) }</td>
                                <td>
                                    if token.active {
                                        { action_button(app.t(Text::Revoke), &token.name, &token.id, &revoke) }
                                    }
                                </td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <ListFooter loading={state.loading} has_more={state.next.is_some()} empty={state.items.is_empty()}
                empty_text={Text::NoApiTokens} error={state.error.clone()} on_more={list.load_more.clone()} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct NewTokenProps {
    on_created: Callback<()>,
}

#[function_component(NewToken)]
fn new_token(props: &NewTokenProps) -> Html {
    use queries::create_api_token::Role;
    let app = use_app();
    let name = use_state(String::new);
    let days = use_state(|| "90".to_owned());
    let role = use_state(|| "VIEWER".to_owned());
    let error = use_state(|| None::<ApiError>);
    let secret = use_state(|| None::<String>);
    let onsubmit = {
        let (name, days, role, error, secret) =
            (name.clone(), days.clone(), role.clone(), error.clone(), secret.clone());
        let api = app.api.clone();
        let on_created = props.on_created.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Ok(expires_in_days) = days.trim().parse::<i64>() else {
                error.set(Some(ApiError {
                    code: "VALIDATION".into(),
                    message: "1 – 730".into(),
                    field: Some("expiresInDays".into()),
                }));
                return;
            };
            let input = queries::create_api_token::CreateApiTokenInput {
                tenant_id: None,
                name: (*name).clone(),
                role: match role.as_str() {
                    "ADMIN" => Role::ADMIN,
                    "MANAGER" => Role::MANAGER,
                    "TECHNICIAN" => Role::TECHNICIAN,
                    _ => Role::VIEWER,
                },
                expires_in_days: Some(expires_in_days),
            };
            let (api, on_created, name, error, secret) =
                (api.clone(), on_created.clone(), name.clone(), error.clone(), secret.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<CreateApiToken>(queries::create_api_token::Variables { input }).await {
                    Ok(data) => {
                        name.set(String::new());
                        error.set(None);
                        secret.set(Some(data.create_api_token.secret));
                        on_created.emit(());
                    }
                    Err(err) => error.set(Some(err)),
                }
            });
        })
    };
    let on_role = {
        let role = role.clone();
        Callback::from(move |e: Event| role.set(e.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    let roles = [
        ("VIEWER", Text::RoleViewer),
        ("TECHNICIAN", Text::RoleTechnician),
        ("MANAGER", Text::RoleManager),
        ("ADMIN", Text::RoleAdmin),
    ];
    html! {
        <form class="create" {onsubmit} aria-label={app.t(Text::NewApiToken)}>
            <h2>{ app.t(Text::NewApiToken) }</h2>
            if let Some(secret) = &*secret {
                <div class="secret" role="status">
                    <p>{ app.t(Text::SecretOnce) }</p>
                    <code>{ secret }</code>
                </div>
            }
            <FormError error={(*error).clone()} fields={vec!["name", "expiresInDays"]} />
            <div class="row">
                <Field name="name" label={app.t(Text::Name)} value={(*name).clone()} required=true
                    error={(*error).clone()} oninput={let name = name.clone(); Callback::from(move |v| name.set(v))} />
                <div class="field">
                    <label for="field-token-role">{ app.t(Text::Role) }</label>
                    <select id="field-token-role" name="role" onchange={on_role}>
                        { for roles.iter().map(|(value, text)| html! {
                            <option value={*value} selected={*role == *value}>{ app.t(*text) }</option>
                        }) }
                    </select>
                </div>
                <Field name="expiresInDays" label={app.t(Text::ExpiresInDays)} kind="number" value={(*days).clone()}
                    error={(*error).clone()} oninput={let days = days.clone(); Callback::from(move |v| days.set(v))} />
                <button type="submit" class="primary">{ app.t(Text::Create) }</button>
            </div>
        </form>
    }
}
