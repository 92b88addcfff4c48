//! Live changes: one subscription over graphql-transport-ws (`/graphql/ws`), signed in with
//! the access token. Events are coalesced (at most one call a second): a page refetches what
//! it shows rather than patching it, so a burst of readings costs one request. A connection
//! that drops is made again after a pause.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use serde_json::{Value, json};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, WebSocket};
use yew::prelude::*;

use crate::api::Api;

/// How long events are gathered before the page is told, and the pause before reconnecting.
const COALESCE_MS: u32 = 1_000;
const RECONNECT_MS: u32 = 3_000;

struct Connection {
    socket: Option<WebSocket>,
    /// Kept alive as long as the socket.
    handlers: Vec<Closure<dyn FnMut(JsValue)>>,
    pending: Option<Timeout>,
    retry: Option<Timeout>,
    closed: bool,
}

fn endpoint() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/graphql/ws", location.host().ok()?))
}

fn send(socket: &WebSocket, message: &Value) {
    let _ = socket.send_with_str(&message.to_string());
}

fn open(state: Rc<RefCell<Connection>>, api: Api, query: Rc<str>, variables: Value, on_event: Callback<()>) {
    let (Some(url), Some(token)) = (endpoint(), api.access_token()) else { return };
    let Ok(socket) = WebSocket::new_with_str(&url, "graphql-transport-ws") else { return };
    let on_open = {
        let socket = socket.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |_| {
            send(
                &socket,
                &json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }),
            );
        })
    };
    let on_message = {
        let (socket, state) = (socket.clone(), state.clone());
        let (query, variables, on_event) = (query.clone(), variables.clone(), on_event.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let Some(text) = event.dyn_ref::<MessageEvent>().and_then(|e| e.data().as_string()) else { return };
            let Ok(message) = serde_json::from_str::<Value>(&text) else { return };
            match message["type"].as_str() {
                Some("connection_ack") => send(
                    &socket,
                    &json!({ "id": "1", "type": "subscribe", "payload": { "query": &*query, "variables": variables } }),
                ),
                Some("ping") => send(&socket, &json!({ "type": "pong" })),
                Some("next") => {
                    let mut connection = state.borrow_mut();
                    if connection.pending.is_none() {
                        let (state, on_event) = (state.clone(), on_event.clone());
                        connection.pending = Some(Timeout::new(COALESCE_MS, move || {
                            state.borrow_mut().pending = None;
                            on_event.emit(());
                        }));
                    }
                }
                _ => {}
            }
        })
    };
    let on_close = {
        let (state, api, query) = (state.clone(), api.clone(), query.clone());
        Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if state.borrow().closed {
                return;
            }
            let (again, api, query, variables, on_event) =
                (state.clone(), api.clone(), query.clone(), variables.clone(), on_event.clone());
            state.borrow_mut().retry =
                Some(Timeout::new(RECONNECT_MS, move || open(again, api, query, variables, on_event)));
        })
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let mut connection = state.borrow_mut();
    connection.socket = Some(socket);
    connection.handlers = vec![on_open, on_message, on_close];
}

/// Calls `on_event` (coalesced) while the component is mounted, for each event of the
/// subscription `query` with `variables`; a change of `variables` subscribes anew.
#[hook]
pub fn use_live(query: &'static str, variables: Value, on_event: Callback<()>) {
    let api = crate::context::use_app().api;
    use_effect_with(variables, move |variables| {
        let state = Rc::new(RefCell::new(Connection {
            socket: None,
            handlers: Vec::new(),
            pending: None,
            retry: None,
            closed: false,
        }));
        open(state.clone(), api, Rc::from(query), variables.clone(), on_event);
        move || {
            let mut connection = state.borrow_mut();
            connection.closed = true;
            connection.pending = None;
            connection.retry = None;
            if let Some(socket) = connection.socket.take() {
                // Unhooked first: a late event must not call a handler that is gone.
                socket.set_onopen(None);
                socket.set_onmessage(None);
                socket.set_onclose(None);
                let _ = socket.close();
            }
            connection.handlers.clear();
        }
    });
}

/// How many (coalesced) events of the subscription `query` with `variables` came since the
/// component mounted: a dependency for an effect that reads its data again.
#[hook]
pub fn use_live_count(query: &'static str, variables: Value) -> u32 {
    let count = use_state(|| 0u32);
    let counted = use_mut_ref(|| 0u32);
    let on_event = {
        let count = count.clone();
        Callback::from(move |_| {
            *counted.borrow_mut() += 1;
            count.set(*counted.borrow());
        })
    };
    use_live(query, variables, on_event);
    *count
}
