use yew::prelude::*;
use yew_router::prelude::*;

use crate::context::{role_text, use_app};
use crate::i18n::Text;
use crate::route::Route;

/// Where a signed-in user lands: who and where they are, and what they can set up.
#[function_component(Overview)]
pub fn overview() -> Html {
    let app = use_app();
    let viewer = &app.viewer;
    let card = |to: Route, title: Text| {
        html! {
            <li class="card">
                <Link<Route> to={to}>{ app.t(title) }</Link<Route>>
            </li>
        }
    };
    html! {
        <section class="page">
            <h1>{ app.t(Text::Overview) }</h1>
            <dl class="facts">
                <dt>{ app.t(Text::SignedInAs) }</dt>
                <dd>{ viewer.me.email.clone().unwrap_or_else(|| viewer.me.display_name.clone()) }</dd>
                <dt>{ app.t(Text::YourTenant) }</dt>
                <dd>{ &viewer.me.tenant.name }</dd>
                <dt>{ app.t(Text::YourRole) }</dt>
                <dd>{ app.t(role_text(viewer.role)) }</dd>
            </dl>
            <p>{ app.t(Text::OverviewIntro) }</p>
            <ul class="cards">
                { card(Route::Sites, Text::Sites) }
                { card(Route::Customers, Text::Customers) }
                { card(Route::Users, Text::Users) }
                if viewer.role.can_manage_users() {
                    { card(Route::ApiTokens, Text::ApiTokens) }
                }
            </ul>
        </section>
    }
}
