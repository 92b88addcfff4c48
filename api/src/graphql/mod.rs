//! The GraphQL API: one module per area, merged into one schema.
//!
//! Resolvers stay thin: take the [`Actor`] from the context, check the role, call one query
//! function with the actor's scope, map the result. The SDL is checked in as
//! `api/schema.graphql`.

pub mod accounting;
mod agent_config;
mod agents;
mod api_tokens;
mod billing;
mod connection;
mod devices;
mod forecasts;
mod jobs;
mod loaders;
mod notifications;
mod reports;
mod session;
mod shipments;
mod sites;
mod tenants;
mod users;
mod work_orders;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, MergedObject, MergedSubscription, Schema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Actor, Authentication};
use crate::error::{ApiError, ApiResult};

pub use session::UserAgent;
pub use users::RoleValue;

#[derive(MergedObject, Default)]
pub struct Query(
    session::SessionQuery,
    tenants::TenantQuery,
    sites::SiteQuery,
    users::UserQuery,
    api_tokens::ApiTokenQuery,
    agents::AgentQuery,
    agent_config::AgentConfigQuery,
    devices::DeviceQuery,
    accounting::AccountingQuery,
    billing::BillingQuery,
    shipments::ShipmentQuery,
    forecasts::ForecastQuery,
    jobs::JobQuery,
    work_orders::WorkOrderQuery,
    reports::ReportQuery,
    notifications::NotificationQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    session::SessionMutation,
    tenants::TenantMutation,
    sites::SiteMutation,
    users::UserMutation,
    api_tokens::ApiTokenMutation,
    agents::AgentMutation,
    agent_config::AgentConfigMutation,
    devices::DeviceMutation,
    billing::BillingMutation,
    shipments::ShipmentMutation,
    work_orders::WorkOrderMutation,
    reports::ReportMutation,
    notifications::NotificationMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(sites::SiteSubscription, devices::DeviceSubscription, work_orders::WorkOrderSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Deepest query accepted: deep enough for the console, too shallow for abuse.
pub const MAX_DEPTH: usize = 12;
/// Most expensive query accepted (each field costs 1; connections cost `first` times their nodes).
pub const MAX_COMPLEXITY: usize = 5_000;

/// The schema without data, to print the SDL.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), Subscription::default()).finish().sdl()
}

pub fn build(state: AppState) -> AppSchema {
    let loader = DataLoader::new(loaders::TenantLoader::new(state.pool.clone()), tokio::spawn);
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .data(state)
        .data(loader)
        .finish()
}

/// The per-request loader of the fleet's edges, bound to the caller's scope.
pub fn fleet_loader(state: &AppState, actor: &Actor) -> DataLoader<devices::FleetLoader> {
    DataLoader::new(devices::FleetLoader::new(state.pool.clone(), actor.scope.clone()), tokio::spawn)
}

pub(crate) fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The authenticated caller, or UNAUTHENTICATED.
pub(crate) fn actor<'a>(ctx: &Context<'a>) -> ApiResult<&'a Actor> {
    match ctx.data_opt::<Authentication>() {
        Some(auth) => auth.actor(),
        None => Err(ApiError::Unauthenticated("sign in first".into())),
    }
}

pub(crate) async fn conn(ctx: &Context<'_>) -> ApiResult<cartouche_schema::db::PooledConn> {
    Ok(state(ctx).pool.get().await?)
}

/// Parses an optional tenant id argument and checks it is visible: a tenant outside the
/// caller's scope is NOT_FOUND, exactly like one that does not exist.
pub(crate) fn visible_tenant(actor: &Actor, field: &str, id: Option<&async_graphql::ID>) -> ApiResult<Option<Uuid>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let id = parse_id(field, id)?;
    actor.scope.require(id).map_err(|_| ApiError::NotFound("tenant"))?;
    Ok(Some(id))
}

/// Parses a GraphQL `ID` argument; a malformed one is a VALIDATION error naming the field.
pub(crate) fn parse_id(field: &str, id: &async_graphql::ID) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str())
        .map_err(|_| ApiError::validation(field, format!("{:?} is not a valid id", id.as_str())))
}

#[cfg(test)]
mod tests {
    /// The checked-in SDL is the API contract: the console's queries are checked against it at
    /// build time. Regenerate with `./dev schema` after a deliberate change.
    #[test]
    fn checked_in_sdl_matches_the_schema() {
        let current = super::sdl();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            current.trim() == checked_in.trim(),
            "api/schema.graphql is out of date: run `./dev schema` and commit the result"
        );
    }
}
