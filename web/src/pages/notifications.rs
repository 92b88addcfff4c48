//! Notifications: what you receive by e-mail (critical alerts, supplies to re-order, work
//! orders); for managers, the tenant's webhooks (the signing secret shown once) and every
//! delivery with its status, attempts and last error.

use serde_json::json;
use yew::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::format::short_time;
use crate::components::reload::use_reloaded;
use crate::context::use_app;
use crate::i18n::Text;
use crate::pages::maintenance::word;
use crate::queries::{
    self, CreateWebhook, DeleteWebhook, NotificationAdmin, NotificationSettings, SetNotificationPreferences,
    SetTenantNotificationSettings, TenantNotificationSettings,
};

const KINDS: [(&str, Text); 3] = [
    ("CRITICAL_ALERT", Text::NotifyCriticalAlerts),
    ("SUPPLY_REORDER", Text::NotifyReorders),
    ("WORK_ORDER", Text::NotifyWorkOrders),
];

#[function_component(Notifications)]
pub fn notifications() -> Html {
    let app = use_app();
    html! {
        <section class="page notifications">
            <h1>{ app.t(Text::Notifications) }</h1>
            <Preferences tenant=false />
            if app.viewer.role.can_manage_users() {
                <Preferences tenant=true />
            }
            if app.viewer.role.can_manage_setup() {
                <Admin />
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct PreferencesProps {
    /// The tenant's settings (what it e-mails about at all), else your own choice.
    tenant: bool,
}

#[function_component(Preferences)]
fn preferences(props: &PreferencesProps) -> Html {
    let app = use_app();
    let tenant = props.tenant;
    let chosen = use_state(|| None::<[bool; 3]>);
    let saved = use_state(|| false);
    let error = use_state(|| None::<ApiError>);
    {
        let (api, chosen) = (app.api.clone(), chosen.clone());
        use_effect_with(tenant, move |tenant| {
            let tenant = *tenant;
            wasm_bindgen_futures::spawn_local(async move {
                let values = if tenant {
                    api.run::<TenantNotificationSettings>(queries::tenant_notification_settings::Variables {})
                        .await
                        .map(|d| d.tenant_notification_settings)
                        .map(|p| [p.critical_alert, p.supply_reorder, p.work_order])
                } else {
                    api.run::<NotificationSettings>(queries::notification_settings::Variables {})
                        .await
                        .map(|d| d.notification_preferences)
                        .map(|p| [p.critical_alert, p.supply_reorder, p.work_order])
                };
                if let Ok(values) = values {
                    chosen.set(Some(values));
                }
            });
        });
    }
    let Some(values) = *chosen else { return html! { <p role="status">{ app.t(Text::Loading) }</p> } };
    let toggle = |i: usize| {
        let (chosen, saved) = (chosen.clone(), saved.clone());
        Callback::from(move |_: Event| {
            let mut next = values;
            next[i] = !next[i];
            chosen.set(Some(next));
            saved.set(false);
        })
    };
    let onsubmit = {
        let (api, saved, error) = (app.api.clone(), saved.clone(), error.clone());
        let tenant = props.tenant;
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let input = json!({ "criticalAlert": values[0], "supplyReorder": values[1], "workOrder": values[2] });
            let (api, saved, error) = (api.clone(), saved.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let answer = match (tenant, serde_json::from_value(input.clone()), serde_json::from_value(input)) {
                    (true, Ok(input), _) => api
                        .run::<SetTenantNotificationSettings>(queries::set_tenant_notification_settings::Variables {
                            input,
                        })
                        .await
                        .map(drop),
                    (false, _, Ok(input)) => api
                        .run::<SetNotificationPreferences>(queries::set_notification_preferences::Variables { input })
                        .await
                        .map(drop),
                    _ => return,
                };
                match answer {
                    Ok(()) => {
                        error.set(None);
                        saved.set(true);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    html! {
        <form class={if tenant { "preferences tenant-settings" } else { "preferences my-preferences" }} {onsubmit}>
            <h2>{ app.t(if tenant { Text::TenantEmails } else { Text::MyEmails }) }</h2>
            { for KINDS.iter().enumerate().map(|(i, (kind, label))| html! {
                <label class="choice"><input type="checkbox" name={*kind} checked={values[i]} onchange={toggle(i)} />{ app.t(*label) }</label>
            }) }
            <button type="submit">{ app.t(Text::Save) }</button>
            if *saved { <span role="status" class="saved">{ " " }{ app.t(Text::Saved) }</span> }
            <FormError error={(*error).clone()} />
        </form>
    }
}

#[function_component(Admin)]
fn admin() -> Html {
    let app = use_app();
    let (data, reload) = use_reloaded::<NotificationAdmin>(queries::notification_admin::Variables {});
    let delete = {
        let (api, reload) = (app.api.clone(), reload.clone());
        Callback::from(move |id: String| {
            let (api, reload) = (api.clone(), reload.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let _ = api.run::<DeleteWebhook>(queries::delete_webhook::Variables { id }).await;
                reload.emit(());
            });
        })
    };
    let data = match &*data {
        None => return html! { <p role="status">{ app.t(Text::Loading) }</p> },
        Some(Err(error)) => return html! { <p class="form-error" role="alert">{ &error.message }</p> },
        Some(Ok(data)) => data,
    };
    html! {
        <>
            <section class="webhooks">
                <h2>{ app.t(Text::Webhooks) }</h2>
                <p class="hint">{ app.t(Text::WebhooksIntro) }</p>
                <ul>
                    { for data.webhooks.iter().map(|w| html! {
                        <li class="webhook">
                            <code>{ &w.url }</code>{ " — " }
                            { w.events.iter().map(|e| word(e).replace('_', " ")).collect::<Vec<_>>().join(", ") }
                            { " " }{ crate::components::paged::action_button(app.t(Text::Delete), &w.url, &w.id, &delete) }
                        </li>
                    }) }
                </ul>
                <NewWebhook on_created={reload.clone()} />
            </section>
            <section class="deliveries">
                <h2>{ app.t(Text::Deliveries) }</h2>
                if data.notification_deliveries.is_empty() {
                    <p class="empty">{ app.t(Text::NoDeliveries) }</p>
                } else {
                    <table class="list deliveries">
                        <thead><tr>
                            <th scope="col">{ app.t(Text::Requested) }</th>
                            <th scope="col">{ app.t(Text::Subject) }</th>
                            <th scope="col">{ app.t(Text::SentTo) }</th>
                            <th scope="col">{ app.t(Text::Status) }</th>
                        </tr></thead>
                        <tbody>
                            { for data.notification_deliveries.iter().map(|d| {
                                let status = word(&d.status);
                                let state = match status.as_str() {
                                    "sent" => html! { <span class="status ok">{ app.t(Text::Sent) }</span> },
                                    "failed" => html! { <span class="status error">{ app.t(Text::Failed) }{ format!(" ({} ×): ", d.attempts) }{ d.last_error.clone().unwrap_or_default() }</span> },
                                    _ => html! { <span class="status warning">{ app.t(Text::Retrying) }{ format!(" ({} ×, {} {}){}", d.attempts, app.t(Text::NextOn), short_time(&d.next_attempt_at),
                                        d.last_error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()) }</span> },
                                };
                                html! {
                                    <tr class="delivery" data-status={status}>
                                        <td>{ short_time(&d.created_at) }</td>
                                        <td>{ &d.subject }</td>
                                        <td>{ format!("{} · {}", d.channel, d.target) }</td>
                                        <td>{ state }</td>
                                    </tr>
                                }
                            }) }
                        </tbody>
                    </table>
                }
            </section>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct NewWebhookProps {
    on_created: Callback<()>,
}

#[function_component(NewWebhook)]
fn new_webhook(props: &NewWebhookProps) -> Html {
    let app = use_app();
    let url = use_state(String::new);
    let events = use_state(|| [true, false, true]);
    let secret = use_state(|| None::<String>);
    let error = use_state(|| None::<ApiError>);
    let onsubmit = {
        let (api, error, created, url, events, secret) =
            (app.api.clone(), error.clone(), props.on_created.clone(), url.clone(), events.clone(), secret.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let chosen: Vec<&str> =
                KINDS.iter().zip(events.iter()).filter(|(_, on)| **on).map(|((k, _), _)| *k).collect();
            let Ok(input) = serde_json::from_value(json!({ "url": *url, "events": chosen })) else { return };
            let (api, error, created, secret) = (api.clone(), error.clone(), created.clone(), secret.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api.run::<CreateWebhook>(queries::create_webhook::Variables { input }).await {
                    Ok(d) => {
                        error.set(None);
                        secret.set(Some(d.create_webhook.secret));
                        created.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let on_url = {
        let url = url.clone();
        Callback::from(move |v: String| url.set(v))
    };
    let toggle = |i: usize| {
        let events = events.clone();
        Callback::from(move |_: Event| {
            let mut next = *events;
            next[i] = !next[i];
            events.set(next);
        })
    };
    html! {
        <form class="create webhook-form" {onsubmit} aria-label={app.t(Text::NewWebhook)}>
            <Field name="url" label={app.t(Text::WebhookUrl)} value={(*url).clone()} oninput={on_url} error={(*error).clone()} required=true />
            <fieldset>
                <legend>{ app.t(Text::Events) }</legend>
                { for KINDS.iter().enumerate().map(|(i, (kind, label))| html! {
                    <label class="choice"><input type="checkbox" name={*kind} checked={events[i]} onchange={toggle(i)} />{ app.t(*label) }</label>
                }) }
            </fieldset>
            <button type="submit">{ app.t(Text::NewWebhook) }</button>
            <FormError error={(*error).clone()} fields={vec!["url"]} />
            if let Some(secret) = &*secret {
                <p class="secret" role="status">{ app.t(Text::WebhookSecretOnce) }{ " " }<code>{ secret }</code></p>
            }
        </form>
    }
}
