//! Agents: enroll one (an enrollment key and the exact command to run), see each one's link,
//! version and last contact (live), revoke.

use std::rc::Rc;

mod controls;

use yew::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Field, FormError};
use crate::components::format::short_time;
use crate::components::paged::{ListFooter, Loader, action_button, row_action, use_paged};
use crate::components::sites::{sorted, use_site_names};
use crate::context::use_app;
use crate::i18n::Text;
use crate::live::use_live;
use crate::queries::{self, Agents as AgentsQuery, CreateEnrollmentKey, RevokeAgent};

use controls::AgentControls;

type Agent = queries::agents::AgentsAgentsEdgesNode;
type Status = queries::agents::AgentStatus;

fn status_of(status: &Status) -> (&'static str, Text) {
    match status {
        Status::CONNECTED => ("ok", Text::AgentConnected),
        Status::DISCONNECTED => ("error", Text::AgentDisconnected),
        Status::REVOKED => ("offline", Text::AgentRevoked),
        _ => ("unknown", Text::AgentNeverConnected),
    }
}

#[function_component(Agents)]
pub fn agents() -> Html {
    let app = use_app();
    let sites = use_site_names();
    let loader: Loader<Agent> = {
        let api = app.api.clone();
        Rc::new(move |after| {
            let api = api.clone();
            Box::pin(async move {
                let data = api.run::<AgentsQuery>(queries::agents::Variables { first: Some(50), after }).await?;
                let info = data.agents.page_info;
                let next = info.has_next_page.then_some(info.end_cursor).flatten();
                Ok((data.agents.edges.into_iter().map(|e| e.node).collect(), next))
            })
        })
    };
    let list = use_paged(loader);
    use_live("subscription { agentStatusChanged { agentId } }", serde_json::json!({}), list.reload.clone());
    let can_manage = app.viewer.role.can_manage_setup();
    let open = use_state(|| None::<String>);
    let revoke = row_action::<RevokeAgent>(&app.api, Some(app.t(Text::ConfirmRevokeAgent)), &list.reload, |id| {
        queries::revoke_agent::Variables { id }
    });
    let state = &*list.state;
    html! {
        <section class="page">
            <h1>{ app.t(Text::Agents) }</h1>
            if can_manage {
                <Enroll />
            }
            <table class="list">
                <thead><tr>
                    <th scope="col">{ app.t(Text::Name) }</th>
                    <th scope="col">{ app.t(Text::Status) }</th>
                    <th scope="col">{ app.t(Text::Site) }</th>
                    <th scope="col">{ app.t(Text::Version) }</th>
                    <th scope="col">{ app.t(Text::LastSeen) }</th>
                    <th scope="col">{ app.t(Text::Enrolled) }</th>
                    <th scope="col">{ app.t(Text::Actions) }</th>
                </tr></thead>
                <tbody>
                    { for state.items.iter().map(|agent| {
                        let (class, text) = status_of(&agent.status);
                        let site = agent.site_id.as_ref().and_then(|s| sites.get(s)).cloned().unwrap_or_else(|| "—".into());
                        let expanded = open.as_deref() == Some(agent.id.as_str());
                        let toggle = {
                            let (open, id) = (open.clone(), agent.id.clone());
                            Callback::from(move |_| open.set(if expanded { None } else { Some(id.clone()) }))
                        };
                        let detail_id = format!("agent-detail-{}", agent.id);
                        html! { <>
                            <tr class="agent" data-name={agent.name.clone()}>
                                <td>{ &agent.name }</td>
                                <td><span class={classes!("status", class)}>{ app.t(text) }</span></td>
                                <td>{ site }</td>
                                <td class="mono">{ agent.version.clone().unwrap_or_else(|| "—".into()) }</td>
                                <td>{ agent.last_seen_at.as_deref().map(short_time).unwrap_or_else(|| app.t(Text::Never).into()) }</td>
                                <td>{ short_time(&agent.enrolled_at) }</td>
                                <td class="actions">
                                    <button type="button" class="details" aria-expanded={expanded.to_string()}
                                        aria-controls={detail_id.clone()} aria-label={format!("{} {}", app.t(Text::Details), agent.name)}
                                        onclick={toggle}>{ app.t(Text::Details) }</button>
                                    if can_manage && !matches!(agent.status, Status::REVOKED) {
                                        { action_button(app.t(Text::Revoke), &agent.name, &agent.id, &revoke) }
                                    }
                                </td>
                            </tr>
                            if expanded {
                                <tr class="agent-detail" id={detail_id}>
                                    <td colspan="7"><AgentControls agent={agent.clone()} on_changed={list.reload.clone()} /></td>
                                </tr>
                            }
                        </> }
                    }) }
                </tbody>
            </table>
            <ListFooter loading={state.loading} has_more={state.next.is_some()} empty={state.items.is_empty()}
                empty_text={Text::NoAgents} error={state.error.clone()} on_more={list.load_more.clone()} />
        </section>
    }
}

/// What enrolling gave: the command to run, and until when the key is valid.
#[derive(Clone, PartialEq)]
struct Created {
    command: String,
    expires_at: String,
}

/// An enrollment key for a site, and the command that enrolls the agent with it.
#[function_component(Enroll)]
fn enroll() -> Html {
    let app = use_app();
    let sites = use_site_names();
    let name = use_state(String::new);
    let site = use_state(String::new);
    let uses = use_state(|| "1".to_owned());
    let hours = use_state(|| "72".to_owned());
    let error = use_state(|| None::<ApiError>);
    let created = use_state(|| None::<Created>);
    let busy = use_state(|| false);
    let onsubmit = {
        let (name, site, uses, hours, error, created, busy) =
            (name.clone(), site.clone(), uses.clone(), hours.clone(), error.clone(), created.clone(), busy.clone());
        let api = app.api.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // A number the field cannot hold is sent as typed: the API names the field.
            let number = |text: &str| text.trim().parse::<i64>().ok();
            let input = queries::create_enrollment_key::CreateEnrollmentKeyInput {
                tenant_id: None,
                site_id: Some((*site).clone()).filter(|s| !s.is_empty()),
                name: (*name).clone(),
                expires_in_hours: number(&hours).or(Some(-1)),
                uses: if uses.trim().is_empty() { None } else { number(&uses).or(Some(-1)) },
            };
            let (api, error, created, busy) = (api.clone(), error.clone(), created.clone(), busy.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let vars = queries::create_enrollment_key::Variables { input };
                match api.run::<CreateEnrollmentKey>(vars).await {
                    Ok(data) => {
                        let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
                        let secret = data.create_enrollment_key.secret;
                        created.set(Some(Created {
                            command: format!(
                                "CARTOUCHE_ENROLLMENT_KEY='{secret}' cartouche-agent enroll --server {origin}"
                            ),
                            expires_at: data.create_enrollment_key.key.expires_at,
                        }));
                        error.set(None);
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
    let on_site = {
        let site = site.clone();
        Callback::from(move |e: Event| site.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
    };
    html! {
        <form class="create enroll" {onsubmit} aria-label={app.t(Text::NewEnrollmentKey)}>
            <h2>{ app.t(Text::NewEnrollmentKey) }</h2>
            if let Some(created) = &*created {
                <div class="secret" role="status">
                    <p>{ app.t(Text::RunOnTheAgentHost) }</p>
                    <code class="command">{ &created.command }</code>
                    <p>{ format!("{} {}", app.t(Text::KeyValidUntil), short_time(&created.expires_at)) }</p>
                </div>
            }
            <FormError error={(*error).clone()} fields={vec!["name", "siteId", "uses", "expiresInHours"]} />
            <div class="row">
                <Field name="name" label={app.t(Text::Name)} value={(*name).clone()} required=true
                    error={(*error).clone()} oninput={set(&name)} />
                <div class="field">
                    <label for="enroll-site">{ app.t(Text::Site) }</label>
                    <select id="enroll-site" name="siteId" onchange={on_site}>
                        <option value="" selected={site.is_empty()}>{ "—" }</option>
                        { for sorted(&sites).into_iter().map(|(id, name)| html! {
                            <option value={id.clone()} selected={*site == id}>{ name }</option>
                        }) }
                    </select>
                </div>
                <Field name="uses" label={app.t(Text::Uses)} value={(*uses).clone()} kind="number"
                    error={(*error).clone()} oninput={set(&uses)} />
                <Field name="expiresInHours" label={app.t(Text::ExpiresInHours)} value={(*hours).clone()} kind="number"
                    error={(*error).clone()} oninput={set(&hours)} />
                <button type="submit" class="primary" disabled={*busy}>{ app.t(Text::Create) }</button>
            </div>
        </form>
    }
}
