//! What every page may read: the API client, the language, the signed-in user.

use std::rc::Rc;

use cartouche_schema::domain::Role;
use yew::prelude::*;

use crate::api::Api;
use crate::i18n::{Lang, Text};
use crate::queries::me::MeMe;

/// The signed-in user, as `me` returned it.
#[derive(Clone, Debug, PartialEq)]
pub struct Viewer {
    pub me: MeMe,
    pub role: Role,
}

impl Viewer {
    pub fn new(me: MeMe) -> Viewer {
        let role = role_from(&me.role);
        Viewer { me, role }
    }
}

/// Maps a generated GraphQL `Role` (any operation's) to the domain role; unknown is least power.
pub fn role_from(role: &impl std::fmt::Debug) -> Role {
    format!("{role:?}").to_lowercase().parse().unwrap_or(Role::Viewer)
}

pub fn role_text(role: Role) -> Text {
    match role {
        Role::Admin => Text::RoleAdmin,
        Role::Manager => Text::RoleManager,
        Role::Technician => Text::RoleTechnician,
        Role::Viewer => Text::RoleViewer,
    }
}

#[derive(Clone, PartialEq)]
pub struct AppContext {
    pub api: Api,
    pub lang: Lang,
    pub set_lang: Callback<Lang>,
    pub viewer: Rc<Viewer>,
    pub sign_out: Callback<()>,
}

impl AppContext {
    pub fn t(&self, text: Text) -> &'static str {
        self.lang.t(text)
    }
}

/// The app context; pages are only rendered inside the provider.
#[hook]
pub fn use_app() -> AppContext {
    use_context::<AppContext>().expect("invariant: pages render inside the AppContext provider")
}
