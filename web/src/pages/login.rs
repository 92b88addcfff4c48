use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::components::form::{Field, FormError};
use crate::components::lang_switch::LangSwitch;
use crate::i18n::{Lang, Text};

#[derive(Properties, PartialEq)]
pub struct LoginProps {
    pub api: Api,
    pub lang: Lang,
    pub set_lang: Callback<Lang>,
    pub notice: Option<Text>,
    pub on_signed_in: Callback<()>,
}

#[function_component(Login)]
pub fn login(props: &LoginProps) -> Html {
    let email = use_state(String::new);
    let password = use_state(String::new);
    let busy = use_state(|| false);
    let error = use_state(|| None::<ApiError>);
    let t = |text| props.lang.t(text);

    let onsubmit = {
        let (email, password, busy, error) = (email.clone(), password.clone(), busy.clone(), error.clone());
        let api = props.api.clone();
        let on_signed_in = props.on_signed_in.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if *busy {
                return;
            }
            busy.set(true);
            error.set(None);
            let (api, on_signed_in, busy, error) = (api.clone(), on_signed_in.clone(), busy.clone(), error.clone());
            let (email, password) = ((*email).clone(), (*password).clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.login(email, password).await {
                    Ok(()) => on_signed_in.emit(()),
                    Err(err) => {
                        error.set(Some(err));
                        busy.set(false);
                    }
                }
            });
        })
    };
    html! {
        <main class="login-page">
            <form class="login" {onsubmit} novalidate=true>
                <div class="brand">
                    <span class="logo" aria-hidden="true">{"▣"}</span>
                    <span>{"Cartouche"}</span>
                </div>
                <p class="tagline">{ t(Text::AppTagline) }</p>
                <h1>{ t(Text::SignInTitle) }</h1>
                if let Some(notice) = props.notice {
                    <p class="notice" role="status">{ t(notice) }</p>
                }
                <FormError error={(*error).clone()} fields={vec!["email"]} />
                <Field name="email" label={t(Text::Email)} kind="email" value={(*email).clone()} required=true
                    autocomplete="username" error={(*error).clone()}
                    oninput={let email = email.clone(); Callback::from(move |v| email.set(v))} />
                <Field name="password" label={t(Text::Password)} kind="password" value={(*password).clone()}
                    required=true autocomplete="current-password" error={(*error).clone()}
                    oninput={let password = password.clone(); Callback::from(move |v| password.set(v))} />
                <button type="submit" class="primary" disabled={*busy}>
                    { if *busy { t(Text::SigningIn) } else { t(Text::SignIn) } }
                </button>
                <LangSwitch lang={props.lang} set_lang={props.set_lang.clone()} />
            </form>
        </main>
    }
}
