//! A query whose answer a page shows and asks again after its own changes (a deletion, a
//! form saved): the answer, and a callback that runs the query again.

use graphql_client::GraphQLQuery;
use yew::prelude::*;

use crate::api::ApiError;
use crate::context::use_app;

/// What the query answered (`None` until it has), and a callback that asks again.
pub type Reloaded<Q> = (UseStateHandle<Option<Result<<Q as GraphQLQuery>::ResponseData, ApiError>>>, Callback<()>);

#[hook]
pub fn use_reloaded<Q>(variables: Q::Variables) -> Reloaded<Q>
where
    Q: GraphQLQuery + 'static,
    Q::Variables: Clone + 'static,
    Q::ResponseData: 'static,
{
    let app = use_app();
    let version = use_state(|| 0u32);
    let data = use_state(|| None);
    {
        let (api, data) = (app.api.clone(), data.clone());
        use_effect_with(*version, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                data.set(Some(api.run::<Q>(variables).await));
            });
        });
    }
    let reload = Callback::from(move |()| version.set(*version + 1));
    (data, reload)
}
