//! SNMP credentials: v1/v2c communities and v3 users. Secrets go in, never come back out.

use std::rc::Rc;

use yew::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::format::short_time;
use crate::components::paged::{ListFooter, Loader, action_button, row_action, use_paged};
use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::{self, CreateSnmpCredential, DeleteSnmpCredential, SnmpCredentials as CredentialsQuery};

type Credential = queries::snmp_credentials::SnmpCredentialsSnmpCredentialsEdgesNode;
type Version = queries::create_snmp_credential::SnmpVersion;
type Auth = queries::create_snmp_credential::SnmpAuthProtocol;
type Privacy = queries::create_snmp_credential::SnmpPrivProtocol;

/// The schema's word for a value of one of its enums (V2C, SHA256, AES128, …).
fn word(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

#[function_component(Credentials)]
pub fn credentials() -> Html {
    let app = use_app();
    let loader: Loader<Credential> = {
        let api = app.api.clone();
        Rc::new(move |after| {
            let api = api.clone();
            Box::pin(async move {
                let vars = queries::snmp_credentials::Variables { first: Some(50), after };
                let data = api.run::<CredentialsQuery>(vars).await?;
                let info = data.snmp_credentials.page_info;
                let next = info.has_next_page.then_some(info.end_cursor).flatten();
                Ok((data.snmp_credentials.edges.into_iter().map(|e| e.node).collect(), next))
            })
        })
    };
    let list = use_paged(loader);
    let delete = row_action::<DeleteSnmpCredential>(&app.api, Some(app.t(Text::ConfirmDelete)), &list.reload, |id| {
        queries::delete_snmp_credential::Variables { id }
    });
    let state = &*list.state;
    html! {
        <section class="page">
            <h1>{ app.t(Text::Credentials) }</h1>
            <NewCredential on_created={list.reload.clone()} />
            <table class="list">
                <thead><tr>
                    <th scope="col">{ app.t(Text::Name) }</th>
                    <th scope="col">{ app.t(Text::SnmpVersion) }</th>
                    <th scope="col">{ app.t(Text::SnmpUser) }</th>
                    <th scope="col">{ app.t(Text::AuthProtocol) }</th>
                    <th scope="col">{ app.t(Text::PrivProtocol) }</th>
                    <th scope="col">{ app.t(Text::Updated) }</th>
                    <th scope="col">{ app.t(Text::Actions) }</th>
                </tr></thead>
                <tbody>
                    { for state.items.iter().map(|c| {
                        html! {
                            <tr class="credential" data-name={c.name.clone()}>
                                <td>{ &c.name }</td>
                                <td>{ word(&c.version) }</td>
                                <td>{ c.user.clone().unwrap_or_else(|| "—".into()) }</td>
                                <td>{ c.auth_protocol.as_ref().map(word).unwrap_or_else(|| "—".into()) }</td>
                                <td>{ c.priv_protocol.as_ref().map(word).unwrap_or_else(|| "—".into()) }</td>
                                <td>{ short_time(&c.updated_at) }</td>
                                <td>{ action_button(app.t(Text::Delete), &c.name, &c.id, &delete) }</td>
                            </tr>
                        }
                    }) }
                </tbody>
            </table>
            <ListFooter loading={state.loading} has_more={state.next.is_some()} empty={state.items.is_empty()}
                empty_text={Text::NoCredentials} error={state.error.clone()} on_more={list.load_more.clone()} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct NewCredentialProps {
    on_created: Callback<()>,
}

/// The form: a community for v1/v2c, a user with authentication and privacy for v3.
#[function_component(NewCredential)]
fn new_credential(props: &NewCredentialProps) -> Html {
    let app = use_app();
    let name = use_state(String::new);
    let version = use_state(|| "V2C".to_owned());
    let community = use_state(String::new);
    let user = use_state(String::new);
    let auth = use_state(|| "SHA256".to_owned());
    let auth_password = use_state(String::new);
    let privacy = use_state(|| "AES128".to_owned());
    let priv_password = use_state(String::new);
    let context = use_state(String::new);
    let error = use_state(|| None::<ApiError>);
    let busy = use_state(|| false);
    let v3 = *version == "V3";
    let onsubmit = {
        let fields = (
            name.clone(),
            version.clone(),
            community.clone(),
            user.clone(),
            auth.clone(),
            auth_password.clone(),
            privacy.clone(),
            priv_password.clone(),
            context.clone(),
        );
        let (api, error, busy, on_created) = (app.api.clone(), error.clone(), busy.clone(), props.on_created.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (name, version, community, user, auth, auth_password, privacy, priv_password, context) = &fields;
            let some = |s: &UseStateHandle<String>| Some((**s).clone()).filter(|s| !s.is_empty());
            let v3 = **version == "V3";
            let input = queries::create_snmp_credential::SnmpCredentialInput {
                tenant_id: None,
                name: (**name).clone(),
                version: match version.as_str() {
                    "V1" => Version::V1,
                    "V3" => Version::V3,
                    _ => Version::V2C,
                },
                community: if v3 { None } else { some(community) },
                user: if v3 { some(user) } else { None },
                auth_protocol: v3.then(|| match auth.as_str() {
                    "MD5" => Auth::MD5,
                    "SHA1" => Auth::SHA1,
                    "SHA224" => Auth::SHA224,
                    "SHA384" => Auth::SHA384,
                    "SHA512" => Auth::SHA512,
                    _ => Auth::SHA256,
                }),
                auth_password: if v3 { some(auth_password) } else { None },
                priv_protocol: if v3 {
                    match privacy.as_str() {
                        "DES" => Some(Privacy::DES),
                        "AES192" => Some(Privacy::AES192),
                        "AES256" => Some(Privacy::AES256),
                        "AES128" => Some(Privacy::AES128),
                        _ => None,
                    }
                } else {
                    None
                },
                priv_password: if v3 { some(priv_password) } else { None },
                context: if v3 { some(context) } else { None },
            };
            let (api, error, busy, on_created) = (api.clone(), error.clone(), busy.clone(), on_created.clone());
            let secrets = [community.clone(), auth_password.clone(), priv_password.clone()];
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<CreateSnmpCredential>(queries::create_snmp_credential::Variables { input }).await {
                    Ok(_) => {
                        // Secrets leave the page once stored.
                        for secret in &secrets {
                            secret.set(String::new());
                        }
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
    let select = |id: &'static str, label: Text, state: &UseStateHandle<String>, options: &[(&'static str, String)]| {
        let onchange = {
            let state = state.clone();
            Callback::from(move |e: Event| state.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
        };
        html! {
            <div class="field">
                <label for={id}>{ app.t(label) }</label>
                <select id={id} name={id} {onchange}>
                    { for options.iter().map(|(value, shown)| html! {
                        <option value={*value} selected={**state == *value}>{ shown.clone() }</option>
                    }) }
                </select>
            </div>
        }
    };
    let named = |values: &[&'static str]| values.iter().map(|v| (*v, (*v).to_owned())).collect::<Vec<_>>();
    let mut privacy_options = vec![("", app.t(Text::NoPrivacy).to_owned())];
    privacy_options.extend(named(&["AES128", "AES192", "AES256", "DES"]));
    let fields = vec![
        "name",
        "version",
        "community",
        "user",
        "authProtocol",
        "authPassword",
        "privProtocol",
        "privPassword",
        "context",
    ];
    html! {
        <form class="create credential-form" {onsubmit} aria-label={app.t(Text::NewCredential)}>
            <h2>{ app.t(Text::NewCredential) }</h2>
            <p class="hint">{ app.t(Text::SecretsWriteOnly) }</p>
            <FormError error={(*error).clone()} {fields} />
            <div class="row">
                <Field name="name" label={app.t(Text::Name)} value={(*name).clone()} required=true
                    error={(*error).clone()} oninput={set(&name)} />
                { select("version", Text::SnmpVersion, &version, &[("V1", "v1".into()), ("V2C", "v2c".into()), ("V3", "v3".into())]) }
                if v3 {
                    <Field name="user" label={app.t(Text::SnmpUser)} value={(*user).clone()} required=true
                        error={(*error).clone()} oninput={set(&user)} />
                    { select("authProtocol", Text::AuthProtocol, &auth, &named(&["SHA256", "SHA512", "SHA384", "SHA224", "SHA1", "MD5"])) }
                    <Field name="authPassword" label={app.t(Text::AuthPassword)} value={(*auth_password).clone()} kind="password"
                        autocomplete="new-password" error={(*error).clone()} oninput={set(&auth_password)} />
                    { select("privProtocol", Text::PrivProtocol, &privacy, &privacy_options) }
                    <Field name="privPassword" label={app.t(Text::PrivPassword)} value={(*priv_password).clone()} kind="password"
                        autocomplete="new-password" error={(*error).clone()} oninput={set(&priv_password)} />
                    <Field name="context" label={app.t(Text::Context)} value={(*context).clone()}
                        error={(*error).clone()} oninput={set(&context)} />
                } else {
                    <Field name="community" label={app.t(Text::Community)} value={(*community).clone()} kind="password"
                        autocomplete="new-password" required=true error={(*error).clone()} oninput={set(&community)} />
                }
                <button type="submit" class="primary" disabled={*busy}>{ app.t(Text::Create) }</button>
            </div>
        </form>
    }
}
