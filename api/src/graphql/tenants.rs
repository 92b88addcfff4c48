//! Tenants: a dealer and its customers.

use async_graphql::connection::Connection;
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, InputObject, Object};
use cartouche_schema::db::Keyset;
use cartouche_schema::db::sites::Site;
use cartouche_schema::db::tenants::Tenant;
use cartouche_schema::domain::{DisplayName, Role};
use chrono::{DateTime, Utc};

use super::connection::{connection, page_request};
use super::loaders::{ScopedTenantId, TenantLoader};
use super::sites::SiteNode;
use super::{actor, conn, parse_id, visible_tenant};
use crate::error::ApiError;

/// A tenant as the API shows it.
pub struct TenantNode(pub Tenant);

#[Object(name = "Tenant")]
impl TenantNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The dealer this tenant is a customer of; null for a top-level tenant, or when the
    /// dealer is outside what you may see.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TenantNode>> {
        match self.0.parent_id {
            Some(id) => load_tenant(ctx, id).await,
            None => Ok(None),
        }
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// This tenant's customers, by name.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, TenantNode>> {
        let actor = actor(ctx)?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let (rows, more) = Tenant::page(&mut conn, &actor.scope, Some(self.0.id), &request)
            .await
            .map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(connection(rows, more, request.after.is_some(), tenant_keyset, TenantNode))
    }

    /// This tenant's sites, by name.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn sites(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, SiteNode>> {
        let actor = actor(ctx)?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let (rows, more) = Site::page(&mut conn, &actor.scope, Some(self.0.id), &request)
            .await
            .map_err(|e| ApiError::from_db("site", e))?;
        Ok(connection(rows, more, request.after.is_some(), super::sites::site_keyset, SiteNode))
    }
}

pub fn tenant_keyset(tenant: &Tenant) -> Keyset {
    Keyset { key: tenant.name.to_lowercase(), id: tenant.id }
}

/// Loads a visible tenant through the request's DataLoader; `None` when not visible.
pub async fn load_tenant(ctx: &Context<'_>, id: uuid::Uuid) -> async_graphql::Result<Option<TenantNode>> {
    let actor = actor(ctx)?;
    let loader = ctx.data_unchecked::<DataLoader<TenantLoader>>();
    let tenant =
        loader.load_one(ScopedTenantId { scope: actor.scope.clone(), id }).await.map_err(|err| (*err).clone())?;
    Ok(tenant.map(TenantNode))
}

#[derive(Default)]
pub struct TenantQuery;

#[Object]
impl TenantQuery {
    /// A tenant you may see: your own or one of your customers.
    async fn tenant(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<TenantNode> {
        let actor = actor(ctx)?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let tenant = Tenant::find(&mut conn, &actor.scope, id).await.map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(TenantNode(tenant))
    }

    /// Every tenant you may see (yours first in scope, ordered by name).
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn tenants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, TenantNode>> {
        let actor = actor(ctx)?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let (rows, more) =
            Tenant::page(&mut conn, &actor.scope, None, &request).await.map_err(|e| ApiError::from_db("tenant", e))?;
        Ok(connection(rows, more, request.after.is_some(), tenant_keyset, TenantNode))
    }
}

#[derive(InputObject)]
pub struct CreateTenantInput {
    /// The dealer the new tenant is a customer of: yours or one of your customers.
    /// Defaults to your own tenant.
    pub parent_id: Option<ID>,
    pub name: String,
}

#[derive(InputObject)]
pub struct UpdateTenantInput {
    pub name: Option<String>,
}

#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Creates a customer tenant. Admins only.
    async fn create_tenant(&self, ctx: &Context<'_>, input: CreateTenantInput) -> async_graphql::Result<TenantNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Admin, "creating a tenant")?;
        let parent = visible_tenant(actor, "parentId", input.parent_id.as_ref())?.unwrap_or(actor.tenant_id);
        let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
        let mut conn = conn(ctx).await?;
        let tenant =
            Tenant::create_customer(&mut conn, &actor.scope, parent, name.as_str()).await.map_err(map_tenant_write)?;
        tracing::info!(tenant.id = %tenant.id, tenant.parent = %parent, "tenant created");
        Ok(TenantNode(tenant))
    }

    /// Renames a tenant. Admins only.
    async fn update_tenant(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateTenantInput,
    ) -> async_graphql::Result<TenantNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Admin, "changing a tenant")?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let tenant = match input.name {
            Some(name) => {
                let name = DisplayName::parse(&name).map_err(|e| ApiError::validation("name", e))?;
                Tenant::rename(&mut conn, &actor.scope, id, name.as_str()).await.map_err(map_tenant_write)?
            }
            None => Tenant::find(&mut conn, &actor.scope, id).await.map_err(|e| ApiError::from_db("tenant", e))?,
        };
        Ok(TenantNode(tenant))
    }
}

fn map_tenant_write(err: diesel::result::Error) -> ApiError {
    if cartouche_schema::db::is_unique_violation(&err) {
        return ApiError::Conflict("a tenant with this name already exists under the same dealer".into());
    }
    ApiError::from_db("tenant", err)
}
