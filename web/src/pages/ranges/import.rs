//! A range file (CSV): read from disk or pasted, checked line by line as it is typed (syntax,
//! in the browser, with the parser the server uses), then by the server (site names), then
//! created whole. Nothing is created while a line is wrong.

use serde_json::json;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use super::CredentialPicker;
use crate::api::ApiError;
use crate::components::form::FormError;
use crate::context::use_app;
use crate::i18n::Text;
use crate::queries::ImportDiscoveryRanges;

#[derive(Properties, PartialEq)]
pub struct RangeImportProps {
    pub sites: Vec<(String, String)>,
    pub credentials: Vec<(String, String)>,
    pub default_site: String,
    /// Called with whether ranges were created.
    pub on_done: Callback<bool>,
}

/// What the server said about the file.
#[derive(Clone, PartialEq)]
struct Checked {
    lines: i64,
    addresses: u64,
    errors: Vec<(i64, String)>,
    created: usize,
}

#[function_component(RangeImport)]
pub fn range_import(props: &RangeImportProps) -> Html {
    let app = use_app();
    let site = use_state(|| props.default_site.clone());
    let text = use_state(String::new);
    let credentials = use_state(Vec::<String>::new);
    let checked = use_state(|| None::<Checked>);
    let error = use_state(|| None::<ApiError>);
    let busy = use_state(|| false);
    // The syntax, checked in the browser at every keystroke.
    let (good, local_errors) = cartouche_schema::ranges::parse_csv(&text);
    let send = {
        let (api, site, text, credentials, checked, error, busy, on_done) = (
            app.api.clone(),
            site.clone(),
            text.clone(),
            credentials.clone(),
            checked.clone(),
            error.clone(),
            busy.clone(),
            props.on_done.clone(),
        );
        move |dry_run: bool| {
            let (api, checked, error, busy, on_done) =
                (api.clone(), checked.clone(), error.clone(), busy.clone(), on_done.clone());
            let vars = json!({ "input": {
                "siteId": *site, "csv": *text, "credentialIds": *credentials, "schedules": [], "dryRun": dry_run,
            } });
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let answer = match serde_json::from_value(vars) {
                    Ok(vars) => api.run::<ImportDiscoveryRanges>(vars).await,
                    Err(e) => Err(ApiError::local(e)),
                };
                busy.set(false);
                match answer {
                    Ok(data) => {
                        let result = data.import_discovery_ranges;
                        error.set(None);
                        let created = result.created.len();
                        checked.set(Some(Checked {
                            lines: result.lines,
                            addresses: u64::try_from(result.address_count).unwrap_or(0),
                            errors: result.errors.into_iter().map(|e| (e.line, e.message)).collect(),
                            created,
                        }));
                        if created > 0 {
                            on_done.emit(true);
                        }
                    }
                    Err(err) => error.set(Some(err)),
                }
            });
        }
    };
    let on_check = {
        let send = send.clone();
        Callback::from(move |_: MouseEvent| send(true))
    };
    let onsubmit = Callback::from(move |e: SubmitEvent| {
        e.prevent_default();
        send(false)
    });
    let on_file = {
        let (text, checked) = (text.clone(), checked.clone());
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
            let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
            let (text, checked) = (text.clone(), checked.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(content) = JsFuture::from(file.text()).await {
                    text.set(content.as_string().unwrap_or_default());
                    checked.set(None);
                }
            });
        })
    };
    let on_text = {
        let (text, checked) = (text.clone(), checked.clone());
        Callback::from(move |e: InputEvent| {
            text.set(e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value());
            checked.set(None);
        })
    };
    let on_site = {
        let site = site.clone();
        Callback::from(move |e: Event| site.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))
    };
    // The server's line errors when it has checked this text, else the browser's.
    let line_errors: Vec<(i64, String)> = match &*checked {
        Some(checked) => checked.errors.clone(),
        None => local_errors.iter().map(|e| (e.line as i64, e.error.to_string())).collect(),
    };
    let ready = !text.trim().is_empty() && local_errors.is_empty() && !good.is_empty();
    html! {
        <form class="create range-import" {onsubmit} aria-label={app.t(Text::ImportFile)}>
            <h2>{ app.t(Text::ImportFile) }</h2>
            <p class="hint">{ app.t(Text::CsvHint) }</p>
            <FormError error={(*error).clone()} fields={vec!["credentialIds"]} />
            <div class="row">
                <div class="field">
                    <label for="import-site">{ app.t(Text::DefaultSite) }</label>
                    <select id="import-site" onchange={on_site}>
                        { for props.sites.iter().map(|(id, name)| html! {
                            <option value={id.clone()} selected={*id == *site}>{ name }</option>
                        }) }
                    </select>
                </div>
                <div class="field">
                    <label for="import-file">{ app.t(Text::ChooseFile) }</label>
                    <input type="file" id="import-file" accept=".csv,.txt,text/csv,text/plain" onchange={on_file} />
                </div>
            </div>
            <div class={classes!("field", "wide", (!line_errors.is_empty()).then_some("invalid"))}>
                <label for="import-text">{ app.t(Text::FileContent) }</label>
                <textarea id="import-text" rows="8" class="mono" value={(*text).clone()} oninput={on_text}
                    placeholder={"range,site,name\n10.1.0.0/24,Lyon,Floor 1\n\"10.2.0.10-50, copier-2\",Paris,Copiers"}
                    aria-describedby="import-errors" aria-invalid={(!line_errors.is_empty()).to_string()} />
            </div>
            <div id="import-errors" aria-live="polite">
                if !line_errors.is_empty() {
                    <table class="list line-errors" role="alert">
                        <caption>{ format!("{}: {}", app.t(Text::LinesToFix), line_errors.len()) }</caption>
                        <thead><tr>
                            <th scope="col">{ app.t(Text::Line) }</th>
                            <th scope="col">{ app.t(Text::Problem) }</th>
                        </tr></thead>
                        <tbody>
                            { for line_errors.iter().map(|(line, message)| html! {
                                <tr class="line-error" data-line={line.to_string()}>
                                    <td>{ line }</td><td>{ message }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                } else if let Some(checked) = &*checked {
                    <p class="ok" role="status">
                        { if checked.created > 0 {
                            format!("{} {}", checked.created, app.t(Text::RangesCreated))
                        } else {
                            format!("{} {} · {} {}", checked.lines, app.t(Text::RangesReady), checked.addresses, app.t(Text::AddressesCovered))
                        } }
                    </p>
                } else if ready {
                    <p class="hint">{ format!("{} {}", good.len(), app.t(Text::RangesReadSoFar)) }</p>
                }
            </div>
            <CredentialPicker credentials={props.credentials.clone()} chosen={(*credentials).clone()}
                error={error.as_ref().filter(|e| e.field.as_deref().is_some_and(|f| f.starts_with("credentialIds"))).map(|e| e.message.clone())}
                on_change={{
                    let credentials = credentials.clone();
                    Callback::from(move |ids| credentials.set(ids))
                }} />
            <div class="row">
                <button type="button" onclick={on_check} disabled={*busy || !ready}>{ app.t(Text::CheckFile) }</button>
                <button type="submit" class="primary" disabled={*busy || !ready}>{ app.t(Text::CreateRanges) }</button>
                <button type="button" onclick={props.on_done.reform(|_: MouseEvent| false)}>{ app.t(Text::Cancel) }</button>
            </div>
        </form>
    }
}
