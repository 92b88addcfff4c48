//! Sites: where a tenant's printers are, each with its time zone.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use cartouche_schema::db::Keyset;
use cartouche_schema::db::sites::{NewSite, Site, SiteChanges};
use cartouche_schema::domain::{DisplayName, Role, TimeZoneName};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use futures_util::{Stream, StreamExt};

use super::connection::{connection, page_request};
use super::tenants::{TenantNode, load_tenant};
use super::{actor, conn, parse_id, state, visible_tenant};
use crate::error::ApiError;
use crate::events::{ChangeKind, Entity, Event};

pub struct SiteNode(pub Site);

#[Object(name = "Site")]
impl SiteNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// IANA time zone (Europe/Paris): schedules and billing periods follow it.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    /// Days from ordering a supply to its delivery: supply forecasts order this much earlier.
    async fn lead_time_days(&self) -> i32 {
        self.0.lead_time_days
    }

    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }

    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantNode> {
        load_tenant(ctx, self.0.tenant_id).await?.ok_or_else(|| ApiError::NotFound("tenant").into())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub fn site_keyset(site: &Site) -> Keyset {
    Keyset { key: site.name.to_lowercase(), id: site.id }
}

#[derive(Default)]
pub struct SiteQuery;

#[Object]
impl SiteQuery {
    async fn site(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<SiteNode> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let site = Site::find(&mut conn, &actor.scope, id).await.map_err(|e| ApiError::from_db("site", e))?;
        Ok(SiteNode(site))
    }

    /// Sites you may see, by name; `tenantId` narrows to one tenant.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn sites(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SiteNode>> {
        let actor = actor(ctx)?;
        let tenant = visible_tenant(actor, "tenantId", tenant_id.as_ref())?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let (rows, more) =
            Site::page(&mut conn, &actor.scope, tenant, &request).await.map_err(|e| ApiError::from_db("site", e))?;
        Ok(connection(rows, more, request.after.is_some(), site_keyset, SiteNode))
    }
}

#[derive(InputObject)]
pub struct CreateSiteInput {
    /// Defaults to your own tenant.
    pub tenant_id: Option<ID>,
    pub name: String,
    /// IANA name such as Europe/Paris.
    pub time_zone: String,
    pub address: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateSiteInput {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    /// Days from ordering a supply to its delivery, 0 to 120.
    pub lead_time_days: Option<i32>,
    /// An empty string clears the address.
    pub address: Option<String>,
}

#[derive(Default)]
pub struct SiteMutation;

#[Object]
impl SiteMutation {
    /// Creates a site. Managers and admins.
    async fn create_site(&self, ctx: &Context<'_>, input: CreateSiteInput) -> async_graphql::Result<SiteNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "creating a site")?;
        let tenant_id = visible_tenant(actor, "tenantId", input.tenant_id.as_ref())?.unwrap_or(actor.tenant_id);
        let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
        let zone = TimeZoneName::parse(&input.time_zone).map_err(|e| ApiError::validation("timeZone", e))?;
        let address = input.address.as_deref().map(str::trim).filter(|a| !a.is_empty());
        let mut conn = conn(ctx).await?;
        let site = conn
            .transaction(async |conn| {
                let site = Site::create(
                    conn,
                    &actor.scope,
                    NewSite { tenant_id, name: name.as_str(), time_zone: zone.as_str(), address },
                )
                .await?;
                crate::events::publish(conn, &Event::new(Entity::Site, ChangeKind::Created, site.tenant_id, site.id))
                    .await?;
                Ok::<_, diesel::result::Error>(site)
            })
            .await
            .map_err(map_site_write)?;
        Ok(SiteNode(site))
    }

    /// Changes a site. Managers and admins.
    async fn update_site(&self, ctx: &Context<'_>, id: ID, input: UpdateSiteInput) -> async_graphql::Result<SiteNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "changing a site")?;
        let id = parse_id("id", &id)?;
        let name =
            input.name.as_deref().map(DisplayName::parse).transpose().map_err(|e| ApiError::validation("name", e))?;
        let zone = input
            .time_zone
            .as_deref()
            .map(TimeZoneName::parse)
            .transpose()
            .map_err(|e| ApiError::validation("timeZone", e))?;
        let address = input.address.as_deref().map(|a| Some(a.trim()).filter(|a| !a.is_empty()));
        if input.lead_time_days.is_some_and(|d| !(0..=120).contains(&d)) {
            return Err(ApiError::validation("leadTimeDays", "0 to 120 days").into());
        }
        let mut conn = conn(ctx).await?;
        let site = conn
            .transaction(async |conn| {
                let changes = SiteChanges {
                    name: name.as_ref().map(DisplayName::as_str),
                    time_zone: zone.as_ref().map(TimeZoneName::as_str),
                    address,
                    lead_time_days: input.lead_time_days,
                };
                let site = Site::update(conn, &actor.scope, id, changes).await?;
                crate::events::publish(conn, &Event::new(Entity::Site, ChangeKind::Updated, site.tenant_id, site.id))
                    .await?;
                Ok::<_, diesel::result::Error>(site)
            })
            .await
            .map_err(map_site_write)?;
        Ok(SiteNode(site))
    }

    /// Deletes a site. Managers and admins.
    async fn delete_site(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let actor = actor(ctx)?;
        actor.require(Role::Manager, "deleting a site")?;
        let site_id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        conn.transaction(async |conn| {
            let site = Site::delete(conn, &actor.scope, site_id).await?;
            crate::events::publish(conn, &Event::new(Entity::Site, ChangeKind::Deleted, site.tenant_id, site.id))
                .await?;
            Ok::<_, diesel::result::Error>(site)
        })
        .await
        .map_err(map_site_write)?;
        Ok(id)
    }
}

fn map_site_write(err: diesel::result::Error) -> ApiError {
    if cartouche_schema::db::is_unique_violation(&err) {
        return ApiError::Conflict("a site with this name already exists in this tenant".into());
    }
    ApiError::from_db("site", err)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::events::ChangeKind")]
pub enum Change {
    Created,
    Updated,
    Deleted,
}

/// A site was created, changed or deleted.
#[derive(SimpleObject)]
pub struct SiteChange {
    pub kind: Change,
    pub site_id: ID,
    pub tenant_id: ID,
    /// The site as it is now; null when it was deleted.
    pub site: Option<SiteNode>,
}

#[derive(Default)]
pub struct SiteSubscription;

#[Subscription]
impl SiteSubscription {
    /// Site changes in the tenants you may see (or one of them), from any api replica.
    async fn site_changed(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = SiteChange> + use<>> {
        let actor = actor(ctx)?.clone();
        let only = visible_tenant(&actor, "tenantId", tenant_id.as_ref())?;
        let state = state(ctx).clone();
        let events = state.events.subscribe();
        let scope = actor.scope.clone();
        Ok(events
            .filter(move |event| {
                let wanted = event.entity == Entity::Site
                    && scope.contains(event.tenant_id)
                    && only.is_none_or(|t| t == event.tenant_id);
                std::future::ready(wanted)
            })
            .then(move |event| {
                let state = state.clone();
                let scope = actor.scope.clone();
                async move {
                    let site = if event.kind == ChangeKind::Deleted {
                        None
                    } else {
                        match state.pool.get().await {
                            Ok(mut conn) => Site::find(&mut conn, &scope, event.id).await.ok(),
                            Err(_) => None,
                        }
                    };
                    SiteChange {
                        kind: event.kind.into(),
                        site_id: ID(event.id.to_string()),
                        tenant_id: ID(event.tenant_id.to_string()),
                        site: site.map(SiteNode),
                    }
                }
            }))
    }
}
