//! The names of the sites the user may see, for filters and labels.

use std::collections::HashMap;

use yew::prelude::*;

use crate::context::use_app;
use crate::queries::{self, Sites as SitesQuery};

/// Site id → name (up to 100 sites), loaded once per page.
#[hook]
pub fn use_site_names() -> UseStateHandle<HashMap<String, String>> {
    let app = use_app();
    let sites = use_state(HashMap::<String, String>::new);
    {
        let (api, sites) = (app.api.clone(), sites.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let vars = queries::sites::Variables { first: Some(100), after: None };
                if let Ok(data) = api.run::<SitesQuery>(vars).await {
                    sites.set(data.sites.edges.into_iter().map(|e| (e.node.id, e.node.name)).collect());
                }
            });
        });
    }
    sites
}

/// The sites as options, by name.
pub fn sorted(sites: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = sites.iter().map(|(id, name)| (id.clone(), name.clone())).collect();
    options.sort_by(|a, b| a.1.cmp(&b.1));
    options
}
