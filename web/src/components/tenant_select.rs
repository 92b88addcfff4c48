//! Chooses the tenant a new object belongs to: your own, or one of your customers.

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::{self, Tenants};

#[derive(Properties, PartialEq)]
pub struct TenantSelectProps {
    pub value: AttrValue,
    pub onchange: Callback<String>,
}

#[function_component(TenantSelect)]
pub fn tenant_select(props: &TenantSelectProps) -> Html {
    let app = use_app();
    let tenants = use_state(Vec::<(String, String)>::new);
    {
        let api = app.api.clone();
        let tenants = tenants.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let vars = queries::tenants::Variables { first: Some(200), after: None };
                if let Ok(data) = api.run::<Tenants>(vars).await {
                    tenants.set(data.tenants.edges.into_iter().map(|e| (e.node.id, e.node.name)).collect());
                }
            });
        });
    }
    if tenants.len() < 2 {
        // Only your own tenant: nothing to choose.
        return html! {};
    }
    let own = &app.viewer.me.tenant;
    let onchange = {
        let cb = props.onchange.clone();
        Callback::from(move |e: Event| cb.emit(e.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    html! {
        <div class="field">
            <label for="field-tenantId">{ app.t(Text::Tenant) }</label>
            <select id="field-tenantId" name="tenantId" {onchange}>
                // The empty value means your own tenant (the server's default).
                <option value="" selected={props.value.is_empty()}>{ &own.name }</option>
                { for tenants.iter().filter(|(id, _)| *id != own.id).map(|(id, name)| html! {
                    <option value={id.clone()} selected={props.value == id.as_str()}>{ name }</option>
                }) }
            </select>
        </div>
    }
}
