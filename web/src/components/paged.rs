//! Cursor-paginated lists: the first page on mount (and after each change), "load more" after.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use yew::prelude::*;

use crate::api::{Api, ApiError};
use crate::context::use_app;
use crate::i18n::Text;

pub type PageFuture<T> = Pin<Box<dyn Future<Output = Result<(Vec<T>, Option<String>), ApiError>>>>;
pub type Loader<T> = Rc<dyn Fn(Option<String>) -> PageFuture<T>>;

#[derive(Clone, PartialEq)]
pub struct Paged<T: Clone + PartialEq> {
    pub items: Vec<T>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
    pub loading: bool,
    pub error: Option<ApiError>,
}

pub struct PagedHandle<T: Clone + PartialEq> {
    pub state: UseStateHandle<Paged<T>>,
    pub load_more: Callback<()>,
    /// Reloads from the first page (after a change).
    pub reload: Callback<()>,
}

/// Keeps a list loaded through `load`, which receives the `after` cursor.
#[hook]
pub fn use_paged<T: Clone + PartialEq + 'static>(load: Loader<T>) -> PagedHandle<T> {
    let state = use_state(|| Paged { items: Vec::new(), next: None, loading: true, error: None });
    let generation = use_state(|| 0u32);
    let fetch = {
        let state = state.clone();
        let load = load.clone();
        // `shown` stays on screen while the page loads (a reload keeps the rows, and the
        // state of what they hold, until the fresh ones arrive); `items` is what it extends.
        Rc::new(move |after: Option<String>, shown: Vec<T>, mut items: Vec<T>| {
            let state = state.clone();
            let future = load(after);
            state.set(Paged { items: shown.clone(), next: None, loading: true, error: None });
            wasm_bindgen_futures::spawn_local(async move {
                match future.await {
                    Ok((page, next)) => {
                        items.extend(page);
                        state.set(Paged { items, next, loading: false, error: None });
                    }
                    Err(error) => state.set(Paged { items: shown, next: None, loading: false, error: Some(error) }),
                }
            });
        })
    };
    {
        let fetch = fetch.clone();
        let state = state.clone();
        use_effect_with(*generation, move |_| fetch(None, state.items.clone(), Vec::new()));
    }
    let load_more = {
        let state = state.clone();
        let fetch = fetch.clone();
        Callback::from(move |_| {
            if let Some(next) = state.next.clone() {
                fetch(Some(next), state.items.clone(), state.items.clone());
            }
        })
    };
    // Counted outside the state: a callback kept from an earlier render (a live
    // subscription's) still moves the generation on.
    let reloads = use_mut_ref(|| 0u32);
    let reload = {
        let generation = generation.clone();
        Callback::from(move |_| {
            *reloads.borrow_mut() += 1;
            generation.set(*reloads.borrow());
        })
    };
    PagedHandle { state, load_more, reload }
}

#[derive(Properties, PartialEq)]
pub struct ListFooterProps {
    pub loading: bool,
    pub has_more: bool,
    pub empty: bool,
    pub empty_text: Text,
    pub error: Option<ApiError>,
    pub on_more: Callback<()>,
}

/// Loading, empty, error and "load more" states under a list.
#[function_component(ListFooter)]
pub fn list_footer(props: &ListFooterProps) -> Html {
    let app = use_app();
    let more = props.on_more.reform(|_: MouseEvent| ());
    html! {
        <div class="list-footer">
            if let Some(error) = &props.error {
                <p class="form-error" role="alert">{ &error.message }</p>
                <button type="button" onclick={more.clone()}>{ app.t(Text::Retry) }</button>
            } else if props.loading {
                <p role="status">{ app.t(Text::Loading) }</p>
            } else if props.empty {
                <p class="empty">{ app.t(props.empty_text) }</p>
            } else if props.has_more {
                <button type="button" onclick={more}>{ app.t(Text::LoadMore) }</button>
            }
        </div>
    }
}

/// A row's action (delete, revoke): asks `question` first when there is one, runs the
/// mutation `vars` makes of the row's id, then reloads the list.
pub fn row_action<Q>(
    api: &Api,
    question: Option<&'static str>,
    reload: &Callback<()>,
    vars: fn(String) -> Q::Variables,
) -> Callback<String>
where
    Q: graphql_client::GraphQLQuery + 'static,
    Q::Variables: Clone,
{
    let (api, reload) = (api.clone(), reload.clone());
    Callback::from(move |id: String| {
        if let Some(question) = question
            && !web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(false)
        {
            return;
        }
        let (api, reload) = (api.clone(), reload.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let _ = api.run::<Q>(vars(id)).await;
            reload.emit(());
        });
    })
}

/// The button of a row's action, named for screen readers with what it acts on
/// ("Delete Lyon"), calling `action` with the row's id.
pub fn action_button(label: &'static str, what: &str, id: &str, action: &Callback<String>) -> Html {
    let (id, action) = (id.to_owned(), action.clone());
    html! {
        <button type="button" class="danger" aria-label={format!("{label} {what}")}
            onclick={Callback::from(move |_| action.emit(id.clone()))}>{ label }</button>
    }
}
