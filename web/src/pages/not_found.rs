use yew::prelude::*;
use yew_router::prelude::*;

use crate::context::use_app;
use crate::i18n::Text;
use crate::route::Route;

#[function_component(NotFound)]
pub fn not_found() -> Html {
    let app = use_app();
    html! {
        <section class="page">
            <h1>{ app.t(Text::NotFound) }</h1>
            <Link<Route> to={Route::Overview}>{ app.t(Text::BackHome) }</Link<Route>>
        </section>
    }
}
