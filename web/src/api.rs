//! The GraphQL client: typed operations over `fetch`, the tokens, and their refresh.
//!
//! The access token lives in memory only; the refresh token is kept in local storage so that a
//! reload does not sign the user out. An access token is refreshed a minute before it expires,
//! and any UNAUTHENTICATED answer triggers one refresh and one retry before the user is signed out.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_net::http::Request;
use gloo_storage::{LocalStorage, Storage};
use gloo_timers::callback::Timeout;
use graphql_client::{GraphQLQuery, Response};
use serde::de::DeserializeOwned;
use yew::Callback;

use crate::queries::{self, Login, Logout, Refresh};

const REFRESH_KEY: &str = "cartouche.refresh";
const ENDPOINT: &str = "/graphql";

/// An error as the API typed it (`extensions.code`, `extensions.field`), or a transport failure.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    fn network(message: impl ToString) -> ApiError {
        ApiError { code: "NETWORK".into(), message: message.to_string(), field: None }
    }

    /// A mistake of the console itself (a request it could not build).
    pub fn local(message: impl ToString) -> ApiError {
        ApiError { code: "CLIENT".into(), message: message.to_string(), field: None }
    }

    /// The message for `field`, when the error is about it.
    pub fn for_field(&self, field: &str) -> Option<&str> {
        (self.field.as_deref() == Some(field)).then_some(self.message.as_str())
    }
}

struct Inner {
    access: RefCell<Option<String>>,
    refresh_timer: RefCell<Option<Timeout>>,
    on_signed_out: RefCell<Callback<()>>,
}

/// A handle on the client; cheap to clone, shared through the app context.
#[derive(Clone)]
pub struct Api {
    inner: Rc<Inner>,
}

impl PartialEq for Api {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Default for Api {
    fn default() -> Self {
        Api {
            inner: Rc::new(Inner {
                access: RefCell::new(None),
                refresh_timer: RefCell::new(None),
                on_signed_out: RefCell::new(Callback::noop()),
            }),
        }
    }
}

impl Api {
    /// Called when the session ends without the user asking (refresh refused).
    pub fn set_on_signed_out(&self, callback: Callback<()>) {
        *self.inner.on_signed_out.borrow_mut() = callback;
    }

    /// The current access token (for the live connection's sign-in).
    pub fn access_token(&self) -> Option<String> {
        self.inner.access.borrow().clone()
    }

    pub fn has_refresh_token(&self) -> bool {
        LocalStorage::get::<String>(REFRESH_KEY).is_ok()
    }

    /// Runs an operation as the signed-in user, refreshing the tokens once if they were refused.
    pub async fn run<Q: GraphQLQuery>(&self, variables: Q::Variables) -> Result<Q::ResponseData, ApiError>
    where
        Q::Variables: Clone,
    {
        let first = self.post::<Q>(variables.clone()).await;
        match first {
            Err(err) if err.code == "UNAUTHENTICATED" && self.has_refresh_token() => {
                if self.refresh().await.is_err() {
                    self.signed_out();
                    return Err(err);
                }
                self.post::<Q>(variables).await
            }
            other => other,
        }
    }

    /// Signs in and keeps the tokens.
    pub async fn login(&self, email: String, password: String) -> Result<(), ApiError> {
        let data = self.post::<Login>(queries::login::Variables { email, password }).await?;
        self.keep(data.login.access_token, &data.login.access_token_expires_at, data.login.refresh_token);
        Ok(())
    }

    /// Exchanges the stored refresh token for new tokens.
    pub async fn refresh(&self) -> Result<(), ApiError> {
        let refresh_token: String = LocalStorage::get(REFRESH_KEY).map_err(|_| ApiError {
            code: "UNAUTHENTICATED".into(),
            message: "no session".into(),
            field: None,
        })?;
        match self.post::<Refresh>(queries::refresh::Variables { refresh_token }).await {
            Ok(data) => {
                self.keep(data.refresh.access_token, &data.refresh.access_token_expires_at, data.refresh.refresh_token);
                Ok(())
            }
            Err(err) => {
                if err.code == "UNAUTHENTICATED" {
                    self.forget();
                }
                Err(err)
            }
        }
    }

    /// Ends the session on the server (best effort) and forgets the tokens.
    pub async fn logout(&self) {
        let _ = self.post::<Logout>(queries::logout::Variables).await;
        self.forget();
    }

    fn keep(&self, access: String, expires_at: &str, refresh: String) {
        *self.inner.access.borrow_mut() = Some(access);
        let _ = LocalStorage::set(REFRESH_KEY, refresh);
        // Refresh a minute early (or halfway through a very short life).
        let now = js_sys::Date::now();
        let expires = js_sys::Date::parse(expires_at);
        let life = (expires - now).max(0.0);
        let delay = if life > 120_000.0 { life - 60_000.0 } else { life / 2.0 };
        let api = self.clone();
        let timer = Timeout::new(delay as u32, move || {
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(err) = api.refresh().await
                    && err.code == "UNAUTHENTICATED"
                {
                    api.signed_out();
                }
            });
        });
        *self.inner.refresh_timer.borrow_mut() = Some(timer);
    }

    fn forget(&self) {
        *self.inner.access.borrow_mut() = None;
        self.inner.refresh_timer.borrow_mut().take();
        LocalStorage::delete(REFRESH_KEY);
    }

    fn signed_out(&self) {
        self.forget();
        let callback = self.inner.on_signed_out.borrow().clone();
        callback.emit(());
    }

    async fn post<Q: GraphQLQuery>(&self, variables: Q::Variables) -> Result<Q::ResponseData, ApiError> {
        let body = Q::build_query(variables);
        let mut request = Request::post(ENDPOINT).header("Content-Type", "application/json");
        if let Some(token) = self.inner.access.borrow().as_deref() {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let response = request.json(&body).map_err(ApiError::network)?.send().await.map_err(ApiError::network)?;
        if !response.ok() && response.status() != 400 {
            return Err(ApiError::network(format!("the server answered {}", response.status())));
        }
        let parsed: Response<Q::ResponseData> = response.json().await.map_err(ApiError::network)?;
        into_result(parsed)
    }
}

fn into_result<T: DeserializeOwned>(response: Response<T>) -> Result<T, ApiError> {
    if let Some(error) = response.errors.and_then(|errors| errors.into_iter().next()) {
        let extension = |key: &str| {
            error.extensions.as_ref().and_then(|ext| ext.get(key)).and_then(|v| v.as_str()).map(str::to_owned)
        };
        return Err(ApiError {
            code: extension("code").unwrap_or_else(|| "INTERNAL".into()),
            field: extension("field"),
            message: error.message,
        });
    }
    response.data.ok_or_else(|| ApiError::network("the server sent no data"))
}
