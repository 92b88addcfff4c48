//! API tokens for integrations (ERPs, dashboards).

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use cartouche_schema::db::Keyset;
use cartouche_schema::db::api_tokens::{ApiToken, NewApiToken};
use cartouche_schema::domain::{DisplayName, Role};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use super::connection::{connection, page_request};
use super::tenants::{TenantNode, load_tenant};
use super::users::RoleValue;
use super::{actor, conn, parse_id, visible_tenant};
use crate::auth::tokens;
use crate::error::ApiError;

pub const DEFAULT_TOKEN_DAYS: i32 = 90;
pub const MAX_TOKEN_DAYS: i32 = 730;

pub struct ApiTokenNode(pub ApiToken);

#[Object(name = "ApiToken")]
impl ApiTokenNode {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn role(&self) -> RoleValue {
        self.0.role.into()
    }

    async fn tenant(&self, ctx: &Context<'_>) -> async_graphql::Result<TenantNode> {
        load_tenant(ctx, self.0.tenant_id).await?.ok_or_else(|| ApiError::NotFound("tenant").into())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    /// Neither revoked nor expired.
    async fn active(&self) -> bool {
        self.0.is_active(Utc::now())
    }
}

fn token_keyset(token: &ApiToken) -> Keyset {
    Keyset { key: token.name.to_lowercase(), id: token.id }
}

#[derive(Default)]
pub struct ApiTokenQuery;

#[Object]
impl ApiTokenQuery {
    /// API tokens you may see, by name. Admins only.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        tenant_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ApiTokenNode>> {
        let actor = actor(ctx)?;
        actor.require(Role::Admin, "listing API tokens")?;
        let tenant = visible_tenant(actor, "tenantId", tenant_id.as_ref())?;
        let request = page_request(first, after)?;
        let mut conn = conn(ctx).await?;
        let (rows, more) = ApiToken::page(&mut conn, &actor.scope, tenant, &request)
            .await
            .map_err(|e| ApiError::from_db("API token", e))?;
        Ok(connection(rows, more, request.after.is_some(), token_keyset, ApiTokenNode))
    }
}

#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// Defaults to your own tenant.
    pub tenant_id: Option<ID>,
    pub name: String,
    /// The token acts with this role; it cannot exceed yours.
    pub role: RoleValue,
    /// Days until it expires: 1 to 730, default 90.
    pub expires_in_days: Option<i32>,
}

/// The new token; `secret` is shown this once and never again.
#[derive(SimpleObject)]
pub struct CreateApiTokenPayload {
    pub token: ApiTokenNode,
    /// Send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

#[derive(Default)]
pub struct ApiTokenMutation;

#[Object]
impl ApiTokenMutation {
    /// Creates an API token. Admins only.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> async_graphql::Result<CreateApiTokenPayload> {
        let actor = actor(ctx)?;
        actor.require(Role::Admin, "creating an API token")?;
        let tenant_id = visible_tenant(actor, "tenantId", input.tenant_id.as_ref())?.unwrap_or(actor.tenant_id);
        let name = DisplayName::parse(&input.name).map_err(|e| ApiError::validation("name", e))?;
        let role: Role = input.role.into();
        if !actor.role.includes(role) {
            return Err(ApiError::validation(
                "role",
                format!("a token cannot have more rights than you ({})", actor.role),
            )
            .into());
        }
        let days = input.expires_in_days.unwrap_or(DEFAULT_TOKEN_DAYS);
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(ApiError::validation(
                "expiresInDays",
                format!("between 1 and {MAX_TOKEN_DAYS} days, not {days}"),
            )
            .into());
        }
        let (secret, hash) = tokens::new_secret(tokens::API_TOKEN_PREFIX);
        let mut conn = conn(ctx).await?;
        let token = ApiToken::create(
            &mut conn,
            &actor.scope,
            NewApiToken {
                tenant_id,
                name: name.as_str(),
                role,
                secret_hash: &hash,
                created_by: actor.user_id(),
                expires_at: Utc::now() + chrono::Duration::days(i64::from(days)),
            },
        )
        .await
        .map_err(|e| ApiError::from_db("API token", e))?;
        tracing::info!(token.id = %token.id, tenant.id = %tenant_id, "API token created");
        Ok(CreateApiTokenPayload { token: ApiTokenNode(token), secret: secret.expose_secret().to_owned() })
    }

    /// Revokes an API token: it stops working at once. Admins only.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ApiTokenNode> {
        let actor = actor(ctx)?;
        actor.require(Role::Admin, "revoking an API token")?;
        let id = parse_id("id", &id)?;
        let mut conn = conn(ctx).await?;
        let token =
            ApiToken::revoke(&mut conn, &actor.scope, id).await.map_err(|e| ApiError::from_db("API token", e))?;
        tracing::info!(token.id = %token.id, "API token revoked");
        Ok(ApiTokenNode(token))
    }
}
