//! The root: restores a session, shows the login page or the shell with the routed page.

use std::rc::Rc;

use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::Api;
use crate::components::shell::Shell;
use crate::context::{AppContext, Viewer};
use crate::i18n::{Lang, Text};
use crate::pages;
use crate::queries::{self, Me};
use crate::route::Route;

#[derive(Clone, PartialEq)]
enum Phase {
    /// Trying the stored refresh token.
    Restoring,
    SignedOut {
        notice: Option<Text>,
    },
    SignedIn(Rc<Viewer>),
}

async fn load_viewer(api: &Api) -> Result<Viewer, crate::api::ApiError> {
    let data = api.run::<Me>(queries::me::Variables).await?;
    Ok(Viewer::new(data.me))
}

#[function_component(App)]
pub fn app() -> Html {
    let api = use_memo((), |_| Api::default());
    let lang = use_state(Lang::initial);
    let phase = use_state(|| Phase::Restoring);

    {
        let api = (*api).clone();
        let phase = phase.clone();
        use_effect_with((), move |_| {
            let on_out = phase.clone();
            api.set_on_signed_out(Callback::from(move |_| {
                on_out.set(Phase::SignedOut { notice: Some(Text::SessionExpired) })
            }));
            wasm_bindgen_futures::spawn_local(async move {
                if !api.has_refresh_token() || api.refresh().await.is_err() {
                    phase.set(Phase::SignedOut { notice: None });
                    return;
                }
                match load_viewer(&api).await {
                    Ok(viewer) => phase.set(Phase::SignedIn(Rc::new(viewer))),
                    Err(_) => phase.set(Phase::SignedOut { notice: None }),
                }
            });
        });
    }
    {
        let lang = *lang;
        use_effect_with(lang, move |lang| lang.remember());
    }

    let set_lang = {
        let lang = lang.clone();
        Callback::from(move |l: Lang| lang.set(l))
    };
    let on_signed_in = {
        let api = (*api).clone();
        let phase = phase.clone();
        Callback::from(move |_| {
            let api = api.clone();
            let phase = phase.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match load_viewer(&api).await {
                    Ok(viewer) => phase.set(Phase::SignedIn(Rc::new(viewer))),
                    Err(_) => phase.set(Phase::SignedOut { notice: Some(Text::SessionExpired) }),
                }
            });
        })
    };
    let sign_out = {
        let api = (*api).clone();
        let phase = phase.clone();
        Callback::from(move |_| {
            let api = api.clone();
            let phase = phase.clone();
            wasm_bindgen_futures::spawn_local(async move {
                api.logout().await;
                phase.set(Phase::SignedOut { notice: None });
            });
        })
    };

    let body = match &*phase {
        Phase::Restoring => html! { <div class="splash" role="status">{ lang.t(Text::Loading) }</div> },
        Phase::SignedOut { notice } => html! {
            <pages::login::Login api={(*api).clone()} lang={*lang} set_lang={set_lang.clone()}
                notice={*notice} on_signed_in={on_signed_in} />
        },
        Phase::SignedIn(viewer) => {
            let context = AppContext { api: (*api).clone(), lang: *lang, set_lang, viewer: viewer.clone(), sign_out };
            html! {
                <ContextProvider<AppContext> context={context}>
                    <Shell>
                        <Switch<Route> render={switch} />
                    </Shell>
                </ContextProvider<AppContext>>
            }
        }
    };
    html! { <BrowserRouter>{ body }</BrowserRouter> }
}

fn switch(route: Route) -> Html {
    match route {
        Route::Overview => html! { <pages::overview::Overview /> },
        Route::Devices => html! { <pages::devices::Devices /> },
        Route::Device { id } => html! { <pages::device::DevicePage {id} /> },
        Route::Agents => html! { <pages::agents::Agents /> },
        Route::Maintenance => html! { <pages::maintenance::Maintenance /> },
        Route::WorkOrder { id } => html! { <pages::work_order::WorkOrderPage {id} /> },
        Route::Supplies => html! { <pages::supplies::Supplies /> },
        Route::Reports => html! { <pages::reports::Reports /> },
        Route::Notifications => html! { <pages::notifications::Notifications /> },
        Route::Contracts => html! { <pages::contracts::Contracts /> },
        Route::Billing => html! { <pages::billing::Billing /> },
        Route::Ranges => html! { <pages::ranges::Ranges /> },
        Route::Credentials => html! { <pages::credentials::Credentials /> },
        Route::Sites => html! { <pages::sites::Sites /> },
        Route::Users => html! { <pages::users::Users /> },
        Route::Customers => html! { <pages::customers::Customers /> },
        Route::ApiTokens => html! { <pages::api_tokens::ApiTokens /> },
        Route::NotFound => html! { <pages::not_found::NotFound /> },
    }
}
