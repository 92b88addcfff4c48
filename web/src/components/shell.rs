//! The application shell: navigation, the signed-in user and tenant, language, sign-out.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::lang_switch::LangSwitch;
use crate::context::{role_text, use_app};
use crate::i18n::Text;
use crate::route::Route;

#[derive(Properties, PartialEq)]
pub struct ShellProps {
    pub children: Html,
}

#[function_component(Shell)]
pub fn shell(props: &ShellProps) -> Html {
    let app = use_app();
    let route = use_route::<Route>().unwrap_or(Route::NotFound);
    let viewer = &app.viewer;
    let link = |to: Route, text: Text| {
        let current = route == to;
        html! {
            <li>
                <Link<Route> to={to} classes={classes!(current.then_some("current"))}>
                    { app.t(text) }
                </Link<Route>>
            </li>
        }
    };
    let on_logout = {
        let sign_out = app.sign_out.clone();
        Callback::from(move |_| sign_out.emit(()))
    };
    html! {
        <div class="shell">
            <a class="skip-link" href="#main">{ app.t(Text::SkipToContent) }</a>
            <nav class="sidebar" aria-label={app.t(Text::MainNavigation)}>
                <div class="brand">
                    <span class="logo" aria-hidden="true">{"▣"}</span>
                    <span>{"Cartouche"}</span>
                </div>
                <ul>
                    { link(Route::Overview, Text::Overview) }
                    { link(Route::Devices, Text::Devices) }
                    { link(Route::Billing, Text::MeterReads) }
                    { link(Route::Contracts, Text::Contracts) }
                    { link(Route::Maintenance, Text::Maintenance) }
                    { link(Route::Supplies, Text::SuppliesToOrder) }
                    { link(Route::Reports, Text::Reports) }
                    { link(Route::Agents, Text::Agents) }
                    { link(Route::Ranges, Text::DiscoveryRanges) }
                    if viewer.role.can_manage_setup() {
                        { link(Route::Credentials, Text::Credentials) }
                    }
                    { link(Route::Sites, Text::Sites) }
                    { link(Route::Notifications, Text::Notifications) }
                    { link(Route::Customers, Text::Customers) }
                    { link(Route::Users, Text::Users) }
                    if viewer.role.can_manage_users() {
                        { link(Route::ApiTokens, Text::ApiTokens) }
                    }
                </ul>
            </nav>
            <header class="topbar">
                <div class="who">
                    <span class="tenant">{ &viewer.me.tenant.name }</span>
                    <span class="user">{ viewer.me.email.clone().unwrap_or_else(|| viewer.me.display_name.clone()) }</span>
                    <span class="role">{ app.t(role_text(viewer.role)) }</span>
                </div>
                <div class="tools">
                    <LangSwitch lang={app.lang} set_lang={app.set_lang.clone()} />
                    <button type="button" class="logout" onclick={on_logout}>{ app.t(Text::SignOut) }</button>
                </div>
            </header>
            <main class="content" id="main" tabindex="-1">{ props.children.clone() }</main>
        </div>
    }
}
