use std::rc::Rc;

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::format::short_time;
use crate::components::paged::{ListFooter, Loader, use_paged};
use crate::components::tenant_select::TenantSelect;
use crate::context::{role_from, role_text, use_app};
use crate::i18n::Text;
use crate::queries::{self, CreateUser, SetUserDisabled, SetUserRole, Users as UsersQuery};

/// The roles, most powerful first, with their schema word.
const ROLES: [(&str, Text); 4] = [
    ("ADMIN", Text::RoleAdmin),
    ("MANAGER", Text::RoleManager),
    ("TECHNICIAN", Text::RoleTechnician),
    ("VIEWER", Text::RoleViewer),
];

/// The schema's word for a role value.
fn role_word(role: &impl std::fmt::Debug) -> String {
    format!("{role:?}")
}

type User = queries::users::UsersUsersEdgesNode;

#[function_component(Users)]
pub fn users() -> Html {
    let app = use_app();
    let loader: Loader<User> = {
        let api = app.api.clone();
        Rc::new(move |after| {
            let api = api.clone();
            Box::pin(async move {
                let vars = queries::users::Variables { first: Some(50), after };
                let data = api.run::<UsersQuery>(vars).await?;
                let next = data.users.page_info.has_next_page.then_some(data.users.page_info.end_cursor).flatten();
                Ok((data.users.edges.into_iter().map(|e| e.node).collect(), next))
            })
        })
    };
    let list = use_paged(loader);
    let is_admin = app.viewer.role.can_manage_users();
    let toggle = {
        let api = app.api.clone();
        let reload = list.reload.clone();
        Callback::from(move |(id, disabled): (String, bool)| {
            let (api, reload) = (api.clone(), reload.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = api.run::<SetUserDisabled>(queries::set_user_disabled::Variables { id, disabled }).await;
                if let Err(err) = result {
                    let _ = web_sys::window().map(|w| w.alert_with_message(&err.message));
                }
                reload.emit(());
            });
        })
    };
    // A new role, refused with the server's reason (the last admin cannot step down).
    let set_role = {
        let (api, reload) = (app.api.clone(), list.reload.clone());
        Callback::from(move |(id, role): (String, String)| {
            let (api, reload) = (api.clone(), reload.clone());
            let role =
                serde_json::from_value(serde_json::Value::String(role)).unwrap_or(queries::set_user_role::Role::VIEWER);
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(err) = api.run::<SetUserRole>(queries::set_user_role::Variables { id, role }).await {
                    let _ = web_sys::window().map(|w| w.alert_with_message(&err.message));
                }
                reload.emit(());
            });
        })
    };
    let me = app.viewer.me.id.clone();
    let state = &*list.state;
    html! {
        <section class="page">
            <h1>{ app.t(Text::Users) }</h1>
            if is_admin {
                <NewUser on_created={list.reload.clone()} />
            }
            <table class="list">
                <thead><tr>
                    <th scope="col">{ app.t(Text::Email) }</th>
                    <th scope="col">{ app.t(Text::DisplayName) }</th>
                    <th scope="col">{ app.t(Text::Role) }</th>
                    <th scope="col">{ app.t(Text::Tenant) }</th>
                    <th scope="col">{ app.t(Text::LastLogin) }</th>
                    <th scope="col">{ app.t(Text::Status) }</th>
                    if is_admin { <th scope="col">{ app.t(Text::Actions) }</th> }
                </tr></thead>
                <tbody>
                    { for state.items.iter().map(|user| {
                        let toggle = toggle.clone();
                        let id = user.id.clone();
                        let disable = !user.disabled;
                        html! {
                            <tr class={classes!(user.disabled.then_some("muted"))}>
                                <td>{ &user.email }</td>
                                <td>{ &user.display_name }</td>
                                <td>
                                    if is_admin && user.id != me {
                                        <select aria-label={format!("{} {}", app.t(Text::Role), user.email)} class="role"
                                            onchange={{
                                                let (set_role, id) = (set_role.clone(), user.id.clone());
                                                Callback::from(move |e: Event| set_role.emit((id.clone(),
                                                    e.target_unchecked_into::<HtmlSelectElement>().value())))
                                            }}>
                                            { for ROLES.iter().map(|(value, text)| html! {
                                                <option value={*value} selected={role_word(&user.role) == *value}>{ app.t(*text) }</option>
                                            }) }
                                        </select>
                                    } else {
                                        { app.t(role_text(role_from(&user.role))) }
                                    }
                                </td>
                                <td>{ &user.tenant.name }</td>
                                <td>{ user.last_login_at.as_deref().map_or_else(|| app.t(Text::Never).to_owned(), short_time) }</td>
                                <td>{ app.t(if user.disabled { Text::Disabled } else { Text::Enabled }) }</td>
                                if is_admin {
                                    <td><button type="button" onclick={Callback::from(move |_| toggle.emit((id.clone(), disable)))}>
                                        { app.t(if disable { Text::Disable } else { Text::Enable }) }
                                    </button></td>
                                }
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <ListFooter loading={state.loading} has_more={state.next.is_some()} empty={state.items.is_empty()}
                empty_text={Text::NoUsers} error={state.error.clone()} on_more={list.load_more.clone()} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct NewUserProps {
    on_created: Callback<()>,
}

fn role_value(raw: &str) -> queries::create_user::Role {
    use queries::create_user::Role;
    match raw {
        "ADMIN" => Role::ADMIN,
        "MANAGER" => Role::MANAGER,
        "TECHNICIAN" => Role::TECHNICIAN,
        _ => Role::VIEWER,
    }
}

#[function_component(NewUser)]
fn new_user(props: &NewUserProps) -> Html {
    let app = use_app();
    let email = use_state(String::new);
    let name = use_state(String::new);
    let password = use_state(String::new);
    let role = use_state(|| "VIEWER".to_owned());
    let tenant = use_state(String::new);
    let error = use_state(|| None::<ApiError>);
    let onsubmit = {
        let (email, name, password, role, tenant, error) =
            (email.clone(), name.clone(), password.clone(), role.clone(), tenant.clone(), error.clone());
        let api = app.api.clone();
        let on_created = props.on_created.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = queries::create_user::CreateUserInput {
                tenant_id: Some((*tenant).clone()).filter(|t| !t.is_empty()),
                email: (*email).clone(),
                display_name: Some((*name).clone()).filter(|n| !n.trim().is_empty()),
                role: role_value(&role),
                password: (*password).clone(),
            };
            let (api, on_created, email, name, password, error) =
                (api.clone(), on_created.clone(), email.clone(), name.clone(), password.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<CreateUser>(queries::create_user::Variables { input }).await {
                    Ok(_) => {
                        email.set(String::new());
                        name.set(String::new());
                        password.set(String::new());
                        error.set(None);
                        on_created.emit(());
                    }
                    Err(err) => error.set(Some(err)),
                }
            });
        })
    };
    let set = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |v: String| state.set(v))
    };
    let on_role = {
        let role = role.clone();
        Callback::from(move |e: Event| role.set(e.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    let roles = ROLES;
    html! {
        <form class="create" {onsubmit} aria-label={app.t(Text::NewUser)}>
            <h2>{ app.t(Text::NewUser) }</h2>
            <FormError error={(*error).clone()} fields={vec!["email", "displayName", "password", "tenantId"]} />
            <div class="row">
                <TenantSelect value={(*tenant).clone()} onchange={set(&tenant)} />
                <Field name="email" label={app.t(Text::Email)} kind="email" value={(*email).clone()} required=true
                    autocomplete="off" error={(*error).clone()} oninput={set(&email)} />
                <Field name="displayName" label={app.t(Text::DisplayName)} value={(*name).clone()}
                    error={(*error).clone()} oninput={set(&name)} />
                <div class="field">
                    <label for="field-role">{ app.t(Text::Role) }</label>
                    <select id="field-role" name="role" onchange={on_role}>
                        { for roles.iter().map(|(value, text)| html! {
                            <option value={*value} selected={*role == *value}>{ app.t(*text) }</option>
                        }) }
                    </select>
                </div>
                <Field name="password" label={app.t(Text::Password)} kind="password" value={(*password).clone()}
                    required=true autocomplete="new-password" error={(*error).clone()} oninput={set(&password)} />
                <button type="submit" class="primary">{ app.t(Text::Create) }</button>
            </div>
        </form>
    }
}
